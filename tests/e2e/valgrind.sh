#!/usr/bin/env bash
# mdrun under valgrind's memcheck on the samples and the other subcommands:
# no memory error and no definite leak (the interpreters it starts are not
# traced). usage: valgrind.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || skip_all "valgrind is not installed"
# A build with sanitizers cannot run under valgrind.
if nm -D "$mdrun" 2>/dev/null | grep -q __asan_init ||
	strings "$mdrun" 2>/dev/null | grep -q AddressSanitizer; then
	skip_all "$mdrun is built with sanitizers"
fi

# under NAME ARGS...: runs mdrun under memcheck; its exit status is kept
# unless memcheck finds something (99).
under() {
	local name=$1 log="$work/$1.vg"
	shift
	# A forked child that has not exec'd yet (the keeper that watches a
	# block's descendants) holds a copy of every thread's memory: its
	# leak report would be about threads it does not have.
	valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \
		--child-silent-after-fork=yes \
		--show-leak-kinds=definite --error-exitcode=99 \
		--suppressions="$src/tests/valgrind.supp" --log-file="$log" \
		"$mdrun" "$@" >"$work/$name.out" 2>"$work/$name.err"
	local code=$?
	if [ "$code" = 99 ] || [ -s "$log" ]; then
		bad "$name: memcheck" "$(head -40 "$log")"
	else
		ok "$name: no memory error, no definite leak (exit $code)"
	fi
}

dir="$work/samples"
mkdir -p "$dir"
cp -r "$src/samples/." "$dir/"
cd "$dir" || exit 1
under tour-cold -q tour.md
under tour-warm -q tour.md
under tour-html -q --to html tour.md
under tour-json -q --to json tour.md
under tour-ipynb -q --to ipynb tour.md
under tour-inplace -q -i tour.md
under tour-check check tour.md
if command -v git >/dev/null; then
	git init -q --bare "$work/remote.git"
	under push push "$work/remote.git"
	under pull pull --store "$work/other" "$work/remote.git"
else
	skip "push and pull: no memory error, no definite leak" \
		"git is not installed"
fi
under plan plan tour.md
under store-ls store ls
under store-verify store verify
under gc gc
cp tour.md broken.md
printf '\n```{sh name=x}\n```\n```{sh name=x}\n```\n' >>broken.md
under broken -q broken.md
printf '```{sh}\nexit 3\n```\n' >fails.md
under fails -q fails.md

finish
