#!/usr/bin/env bash
# Keys that never serve a stale output: what a block can observe (its
# env= values, its deps= bound by name, its name, its document) is in its
# key, and inputs= never reads outside the document's folder or without
# end.
. "$(dirname "$0")/lib.sh"
cd "$work"

# --- env= values cannot spell another variable --------------------------
cat >env.md <<'DOC'
```{bash env=A,B}
printf 'A has %s lines; B is <%s>\n' "$(printf '%s\n' "$A" | wc -l)" "$B"
```
DOC
A=$'x\nB=y' timeout 60 "$mdrun" env.md -o env1.out 2>err
shows env1.out bash-1 "A has 2 lines; B is <>"
expect "env: a value holding a newline is one value" env1.out err
A=$'x\nB=y' "$mdrun" store show 'env.md#bash-1' >show.out 2>&1
{ grep -qxF '    A = x\nB=y' show.out && grep -qxF '    B (unset)' show.out; }
expect "store show: the env field one variable a line, the newline escaped" show.out
A=other "$mdrun" store show 'env.md#bash-1' >show.out 2>&1
{ [ $? = 2 ] && has show.out "env.md#bash-1 is not in the store as it is now"; }
expect "store show of a block whose key is not in the store says so" show.out
A=x B=y timeout 60 "$mdrun" env.md -o env2.out 2>err
{ shows env2.out bash-1 "A has 1 lines; B is <y>" && has err "1 ran"; }
expect "env: A=x B=y is another environment, not the one the newline spelled" env2.out err

# --- deps= results are bound to the names they are read by ---------------
cat >deps.md <<'DOC'
```{bash name=p session=none}
echo first > "$MDRUN_OUT/v"
```

```{bash name=q session=none}
echo second > "$MDRUN_OUT/v"
```

```{bash name=r deps=p,q session=none}
echo "p gives $(cat "$MDRUN_DEP_p/v"), q gives $(cat "$MDRUN_DEP_q/v")"
```
DOC
timeout 60 "$mdrun" deps.md -o deps1.out 2>err
shows deps1.out r "p gives first, q gives second"
expect "deps: each producer read through its own name" deps1.out err
sed -i 's/deps=p,q/deps=q,p/' deps.md
timeout 60 "$mdrun" deps.md -o deps2.out 2>err
has err "0 ran, 3 cached"
expect "deps: writing deps= in another order runs nothing" err
sed -i 's/name=p /name=tmp /; s/name=q /name=p /; s/name=tmp /name=q /' deps.md
timeout 60 "$mdrun" deps.md -o deps3.out 2>err
shows deps3.out r "p gives second, q gives first"
expect "deps: swapping two producers' names rebinds the reader" deps3.out err

# --- the name and the document a block sees are in its key ---------------
cat >named.md <<'DOC'
```{bash name=alpha session=none}
echo "I am $MDRUN_BLOCK in $MDRUN_DOC"
```
DOC
timeout 60 "$mdrun" named.md -o named1.out 2>err
shows named1.out alpha "I am alpha in named.md"
expect "MDRUN_BLOCK and MDRUN_DOC: the block's name and document" named1.out err
sed -i 's/name=alpha/name=beta/' named.md
timeout 60 "$mdrun" named.md -o named2.out 2>err
shows named2.out beta "I am beta in named.md"
expect "a renamed block shows its new name" named2.out err
timeout 60 "$mdrun" --rebuild ./named.md -o named3.out 2>err
{ same named2.out named3.out && has err "1 ran"; }
expect "MDRUN_DOC does not depend on how the path was typed" named3.out err
mkdir -p sub && cp named.md sub/renamed.md
(cd sub && timeout 60 "$mdrun" renamed.md -o ../named4.out 2>../err)
shows named4.out beta "I am beta in renamed.md"
expect "a document under another name shows its own name" named4.out err
if command -v git >/dev/null; then
	git init -q repo && mkdir -p repo/docs && cp named.md repo/docs/n.md
	(cd repo/docs && timeout 60 "$mdrun" n.md -o ../../named5.out 2>../../err)
	shows named5.out beta "I am beta in docs/n.md"
	expect "in a repository, MDRUN_DOC is the path from its root" named5.out err
else
	skip "in a repository, MDRUN_DOC is the path from its root" \
		"git is not installed"
fi

# --- inputs= stays inside the document's folder, and reads with an end ---
mkdir -p in/sub && echo secret >outside.txt && echo data >in/sub/data.txt
ln -s ../outside.txt in/link.txt
ln -s /dev/zero in/zero
mkfifo in/fifo
# inputs VALUE NAME: a document in in/ whose block reads VALUE.
inputs() {
	printf '```{bash inputs=%s}\necho read\n```\n' "$1" >"in/$2.md"
	(cd in && timeout 20 "$mdrun" "$2.md" -o "$2.out" 2>"$2.err")
	echo $? >"in/$2.code"
}
inputs '.?/outside.txt' glob
{ [ "$(cat in/glob.code)" = 2 ] && one=$(cat in/glob.err) &&
	[ "$(wc -l <in/glob.err)" = 1 ] && has in/glob.err "glob.md:1:17: inputs: '../outside.txt' is outside the document's folder"; }
expect "inputs: a glob that expands to .. is refused in one line" in/glob.err
inputs link.txt link
{ [ "$(cat in/link.code)" = 2 ] && has in/link.err "'link.txt' leads outside the document's folder"; }
expect "inputs: a link leading outside the folder is refused" in/link.err
inputs zero zero
{ [ "$(cat in/zero.code)" = 2 ] && [ "$(wc -l <in/zero.err)" = 1 ]; }
expect "inputs: a link to /dev/zero is one error, not a read without end" in/zero.err
inputs fifo fifo
{ [ "$(cat in/fifo.code)" = 2 ] && has in/fifo.err "'fifo' is not a regular file"; }
expect "inputs: a fifo is one error, not a wait without end" in/fifo.err
inputs 'sub/*.txt' ok
{ [ "$(cat in/ok.code)" = 0 ] && shows in/ok.out bash-1 read; }
expect "inputs: files inside the folder are read" in/ok.err

# --- a store written with key format 1 still verifies --------------------
# A key of format 1 is fabricated from the block's rows: its drv fields
# say mdrun-key 1, and the key (in tables drv, real and run) becomes what
# format 1 hashed from them.
export MDRUN_STORE="$work/store-v1"
printf '```{sh session=none}\necho old\n```\n' >old.md
"$mdrun" -q old.md -o /dev/null 2>err
if command -v sqlite3 >/dev/null; then
	db=$MDRUN_STORE/store.db
	key=$(sqlite3 "$db" "SELECT key FROM drv")
	sqlite3 "$db" "SELECT fields FROM drv WHERE key = '$key'" >drv.json
	# What format 1 hashed: "NAME LEN:VALUE\n" for each field, in order.
	legacy=$(python3 - drv.json <<'PY'
import hashlib, json, sys
drv = json.load(open(sys.argv[1]))
drv["fields"]["mdrun-key"] = "1"
h = hashlib.sha256()
for k, v in drv["fields"].items():
    b = v.encode()
    h.update(k.encode() + b" " + str(len(b)).encode() + b":" + b + b"\n")
json.dump(drv, open(sys.argv[1] + ".new", "w"), indent="\t")
print(h.hexdigest())
PY
)
	sqlite3 "$db" "BEGIN;
		UPDATE drv SET key = '$legacy',
			fields = CAST(readfile('drv.json.new') AS TEXT)
			WHERE key = '$key';
		UPDATE real SET key = '$legacy' WHERE key = '$key';
		UPDATE run SET key = '$legacy' WHERE key = '$key';
		COMMIT;"
	{ [[ $key =~ ^[0-9a-f]{64}$ ]] && [[ $legacy =~ ^[0-9a-f]{64}$ ]] &&
		[ "$(sqlite3 "$db" "SELECT count(*) FROM real
			WHERE key = '$legacy'")" = 1 ] &&
		"$mdrun" store verify >verify.out 2>&1; }
	expect "store verify: a key of format 1 still matches its drv fields" verify.out
	"$mdrun" old.md -o /dev/null 2>err
	{ has err "1 ran" && [ "$(sqlite3 "$db" "SELECT count(*) FROM drv
		WHERE key IN ('$key', '$legacy')")" = 2 ]; }
	expect "a block stored under a format 1 key runs once again" err
else
	skip "store verify: a key of format 1 still matches its drv fields" \
		"no sqlite3"
	skip "a block stored under a format 1 key runs once again" "no sqlite3"
fi

finish
