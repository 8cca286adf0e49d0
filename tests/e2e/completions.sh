#!/usr/bin/env bash
# The shell completions (util/completions/) and the manual page
# (docs/mdrun.1), against what the binary says of itself: the commands
# `mdrun --help` lists and the options each command's --help names must
# all be completed by bash and described by the manual. The bash
# completion is driven as bash drives it (COMP_WORDS split at blanks and
# '='); zsh's and fish's files are parsed (zsh -n, fish -n), and fish's
# completions are asked for (complete -C) where fish is installed. A
# missing shell or formatter makes its checks skipped, never passed.
# usage: completions.sh MDRUN SOURCE_DIR
set -u
. "$(dirname "$0")/lib.sh"

comp_bash=$src/util/completions/mdrun.bash
comp_zsh=$src/util/completions/_mdrun
comp_fish=$src/util/completions/mdrun.fish
page=$src/docs/mdrun.1
for f in "$comp_bash" "$comp_zsh" "$comp_fish" "$page"; do
	[ -f "$f" ] || bad "${f#"$src"/} exists"
done

# A scratch folder to complete file names in: documents, a folder, and
# files that are not documents.
cd "$work" || exit 1
mkdir -p scratch/chapters scratch/.hidden
cd scratch || exit 1
touch notes.md report.Rmd slides.qmd notes.txt data.csv chapters/one.md
export HOME="$work/home" XDG_CONFIG_HOME="$work/config" \
	XDG_DATA_HOME="$work/data"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

# The commands `mdrun --help` lists: in its "commands:" section, the first
# word of each entry, and the names an entry joins with '|' at its start
# ("push | pull"), not its arguments ("store ls | show REF").
"$mdrun" --help >"$work/help" 2>&1
awk '
	/^commands:/ { on = 1; next }
	on && /^$/ { exit }
	on && /^  [a-z]/ {
		n = split($0, w, " ")
		print w[1]
		for (i = 2; i < n && w[i] == "|"; i += 2)
			print w[i + 1]
	}' "$work/help" >"$work/commands"
mapfile -t commands <"$work/commands"
# At least render and check, or the help's shape changed and the checks
# below would pass on nothing.
{ grep -qx render "$work/commands" && grep -qx check "$work/commands"; }
expect "mdrun --help lists its commands (${commands[*]})" "$work/help"

# options FILE: each option the help text FILE names (-o, --output,
# --rebuild from --rebuild[=NAME]), once: those on its usage lines and on
# the lines that start with an option ("  -o, --output OUT  write ...",
# "--json prints ..."), not those the prose quotes ("what 'mdrun render
# -i' added").
options() {
	grep -E -- '^(usage: +| +)?(mdrun |\[|-)' "$1" |
		grep -oE -- '(^|[][ ,(|])--?[a-z][a-z-]*' |
		sed -E 's/^[][ ,(|]//' | sort -u
}
# The help of each command, and the options it names: the main help's
# are render's (and --help, --version).
options "$work/help" >"$work/options.render"
for c in "${commands[@]}"; do
	[ "$c" = render ] && continue
	"$mdrun" "$c" --help >"$work/help.$c" 2>&1
	options "$work/help.$c" >"$work/options.$c"
done

# ---------------------------------------------------------------- bash

# complete LINE: the replies of the bash completion for LINE, the cursor
# at its end, one per line (none: no output). Words are split as bash
# splits them for a completion function: at blanks, and at '=' (in
# COMP_WORDBREAKS), which is a word of its own: "--color=ne" is
# "--color" "=" "ne". What the completion prints on stderr is kept in
# $work/complete.err.
cat >"$work/complete.bash" <<'EOF'
. "$1" || exit 2
line=$2
words=()
read -ra blanks <<<"$line"
for w in "${blanks[@]}"; do
	while [[ $w == *=* ]]; do
		[ -n "${w%%=*}" ] && words+=("${w%%=*}")
		words+=("=")
		w=${w#*=}
	done
	[ -n "$w" ] && words+=("$w")
done
[[ $line == *" " ]] && words+=("")
COMP_WORDS=("${words[@]}")
COMP_CWORD=$((${#words[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
_mdrun
[ ${#COMPREPLY[@]} = 0 ] || printf '%s\n' "${COMPREPLY[@]}"
EOF
: >"$work/complete.err"
bash_complete() {
	bash --norc --noprofile "$work/complete.bash" "$comp_bash" "$1" \
		2>>"$work/complete.err"
}
# offers LINE WORD...: completing LINE offers each WORD.
offers() {
	local line=$1 got
	shift
	: >"$work/why"
	got=$(bash_complete "$line") || return 1
	while [ $# -gt 0 ]; do
		grep -qxF -- "$1" <<<"$got" || {
			printf 'completing "%s" does not offer %s; it offers:\n%s\n' \
				"$line" "$1" "$got" >"$work/why"
			return 1
		}
		shift
	done
}
# offers_not LINE WORD...: completing LINE offers none of WORD.
offers_not() {
	local line=$1 got
	shift
	: >"$work/why"
	got=$(bash_complete "$line") || return 1
	while [ $# -gt 0 ]; do
		if grep -qxF -- "$1" <<<"$got"; then
			printf 'completing "%s" offers %s\n' "$line" "$1" >"$work/why"
			return 1
		fi
		shift
	done
}
: >"$work/why"

bash --norc --noprofile -c '. "$1" && complete -p mdrun' _ "$comp_bash" \
	>"$work/out" 2>&1
grep -q -- '-F _mdrun mdrun$' "$work/out"
expect "bash: sourcing the completion registers it for mdrun (complete -F)" "$work/out"

offers "mdrun st" strip store && offers_not "mdrun st" render check
expect "bash: 'mdrun st' offers strip and store" "$work/why"
offers "mdrun " "${commands[@]}"
expect "bash: 'mdrun ' offers every command mdrun --help lists" "$work/why"
offers "mdrun render --to " markdown html json ipynb
expect "bash: 'mdrun render --to ' offers html (and markdown, json, ipynb)" "$work/why"
{ offers "mdrun render --to=" html && offers "mdrun --to=h" html &&
	offers_not "mdrun --to=h" json; }
expect "bash: 'mdrun render --to=' and '--to=h' offer html" "$work/why"
{ offers "mdrun --color=" auto always never &&
	offers "mdrun --color=ne" never && offers_not "mdrun --color=ne" auto; }
expect "bash: 'mdrun --color=' offers never (and auto, always)" "$work/why"
{ offers "mdrun check --color " never && offers "mdrun render --color " never; }
expect "bash: 'mdrun check --color ' and 'render --color ' offer never" "$work/why"

# The store's subcommands: those its --help shows as 'mdrun store ... VERB'.
verbs=()
if [ -f "$work/help.store" ]; then
	mapfile -t verbs < <(sed -nE 's/^ *(usage: )?mdrun store (\[[^]]*\] )*([a-z]+).*/\3/p' \
		"$work/help.store" | sort -u)
	{ [ ${#verbs[@]} -gt 0 ] && offers "mdrun store " "${verbs[@]}" &&
		offers "mdrun store --store $work " "${verbs[@]}"; }
	expect "bash: 'mdrun store ' offers each subcommand its --help shows (${verbs[*]})" \
		"$work/why"
fi

{ offers "mdrun render " chapters notes.md report.Rmd slides.qmd &&
	offers_not "mdrun render " notes.txt data.csv .hidden; }
expect "bash: 'mdrun render ' offers folders and .md, .Rmd, .qmd files, not a .txt file" \
	"$work/why"
{ offers "mdrun " chapters notes.md && offers_not "mdrun " notes.txt &&
	offers "mdrun check " notes.md && offers "mdrun plan " slides.qmd &&
	offers "mdrun strip " notes.md && offers "mdrun gc " notes.md &&
	offers_not "mdrun strip " notes.txt && offers "mdrun render chapters/" chapters/one.md; }
expect "bash: documents for mdrun FILE, check, plan, strip and gc, and in a folder" \
	"$work/why"
{ offers "mdrun render -o " notes.txt chapters && offers "mdrun --output=" notes.txt &&
	offers "mdrun strip -o " notes.txt && offers "mdrun check --junit " data.csv; }
expect "bash: any file for -o, --output, --junit" "$work/why"
{ offers "mdrun render --store " chapters && offers_not "mdrun render --store " notes.md &&
	offers "mdrun gc --store=" chapters && offers "mdrun store --store " chapters; }
expect "bash: folders only for --store" "$work/why"
{ offers "mdrun render --config " notes.txt && offers "mdrun kernels --config " data.csv; }
expect "bash: files for --config" "$work/why"
{ bash_complete "mdrun render --timeout " >"$work/out" && [ ! -s "$work/out" ]; }
expect "bash: nothing for a value with nothing to offer (--timeout SEC)" "$work/out"

# Every option a command's --help names is offered after 'mdrun CMD -'.
# The main help names mdrun's own options and render's.
mapfile -t opts <"$work/options.render"
offers "mdrun -" "${opts[@]}"
expect "bash: 'mdrun -' offers each option 'mdrun --help' names" "$work/why"
mapfile -t opts < <(grep -vx -- --version "$work/options.render")
offers "mdrun render -" "${opts[@]}"
expect "bash: 'mdrun render -' offers each render option 'mdrun --help' names" \
	"$work/why"
for c in "${commands[@]}"; do
	[ "$c" = render ] && continue
	mapfile -t opts <"$work/options.$c"
	offers "mdrun $c -" "${opts[@]}"
	expect "bash: 'mdrun $c -' offers each option 'mdrun $c --help' names" \
		"$work/why"
done
[ ! -s "$work/complete.err" ]
expect "bash: the completion printed nothing on stderr" "$work/complete.err"

# ---------------------------------------------------------------- zsh

if command -v zsh >/dev/null; then
	zsh -n "$comp_zsh" 2>"$work/err"
	expect "zsh: _mdrun parses (zsh -n)" "$work/err"
	head -n 1 "$comp_zsh" | grep -qx '#compdef mdrun'
	expect "zsh: _mdrun starts with '#compdef mdrun'"
	missing=
	for c in "${commands[@]}"; do
		grep -qE "(^|[^a-z-])$c:" "$comp_zsh" || missing+=" $c"
	done
	[ -z "$missing" ]
	expect "zsh: _mdrun describes every command mdrun --help lists${missing:+ (not:$missing)}"
else
	skip "zsh: _mdrun parses (zsh -n)" "zsh is not installed"
fi

# ---------------------------------------------------------------- fish

if command -v fish >/dev/null; then
	fish -n "$comp_fish" 2>"$work/err"
	expect "fish: mdrun.fish parses (fish -n)" "$work/err"
	# fish_complete LINE: fish's completions for LINE, without their
	# descriptions; one installed for mdrun is replaced by this file.
	fish_complete() {
		fish -c 'complete -e -c mdrun; source $argv[1]; or exit 2
			complete -C $argv[2] | string replace -r "\t.*" ""
			true' \
			"$comp_fish" "$1" 2>>"$work/fish.err"
	}
	fish_offers() {
		local line=$1 got
		shift
		: >"$work/why"
		got=$(fish_complete "$line") || return 1
		while [ $# -gt 0 ]; do
			grep -qxF -- "$1" <<<"$got" || {
				printf 'completing "%s" does not offer %s; it offers:\n%s\n' \
					"$line" "$1" "$got" >"$work/why"
				return 1
			}
			shift
		done
	}
	fish_offers_not() {
		local line=$1 got
		shift
		: >"$work/why"
		got=$(fish_complete "$line") || return 1
		while [ $# -gt 0 ]; do
			if grep -qxF -- "$1" <<<"$got"; then
				printf 'completing "%s" offers %s\n' "$line" "$1" >"$work/why"
				return 1
			fi
			shift
		done
	}
	: >"$work/fish.err"
	fish_offers "mdrun st" strip store
	expect "fish: 'mdrun st' offers strip and store" "$work/why"
	fish_offers "mdrun " "${commands[@]}"
	expect "fish: 'mdrun ' offers every command mdrun --help lists" "$work/why"
	fish_offers "mdrun render --to " html
	expect "fish: 'mdrun render --to ' offers html" "$work/why"
	{ fish_offers "mdrun --color=" --color=never && fish_offers "mdrun check --color " never; }
	expect "fish: 'mdrun --color=' offers never" "$work/why"
	{ fish_offers "mdrun render " chapters/ notes.md report.Rmd slides.qmd &&
		fish_offers_not "mdrun render " notes.txt data.csv; }
	expect "fish: 'mdrun render ' offers folders and .md, .Rmd, .qmd files, not a .txt file" \
		"$work/why"
	if [ ${#verbs[@]} -gt 0 ]; then
		fish_offers "mdrun store " "${verbs[@]}"
		expect "fish: 'mdrun store ' offers each subcommand its --help shows" "$work/why"
	fi
	[ ! -s "$work/fish.err" ]
	expect "fish: the completions printed nothing on stderr" "$work/fish.err"
else
	skip "fish: mdrun.fish parses (fish -n)" "fish is not installed"
	skip "fish: completions offered" "fish is not installed"
fi

# ---------------------------------------------------------------- man page

# The page as text: wide lines and no hyphenation, so no option or
# command is broken across lines.
rendered=
if command -v groff >/dev/null; then
	groff -mandoc -Tutf8 -ww -z "$page" >"$work/out" 2>&1
	{ [ $? = 0 ] && [ ! -s "$work/out" ]; }
	expect "man page: groff -mandoc -ww renders it with no warning" "$work/out"
	groff -mandoc -Tutf8 -P-cbou -rLL=300n -rHY=0 "$page" >"$work/page.txt" \
		2>/dev/null && rendered=groff
else
	skip "man page: groff -mandoc -ww renders it with no warning" \
		"groff is not installed"
fi
if command -v man >/dev/null; then
	MANWIDTH=80 man -l "$page" >"$work/man.txt" 2>"$work/err"
	{ [ $? = 0 ] && [ ! -s "$work/err" ] && grep -q '^NAME' "$work/man.txt"; }
	expect "man page: man -l shows it, with nothing on stderr" "$work/err"
else
	skip "man page: man -l shows it, with nothing on stderr" "man is not installed"
fi
if command -v mandoc >/dev/null; then
	mandoc -Tlint -W warning "$page" >"$work/out" 2>&1
	{ [ $? = 0 ] && [ ! -s "$work/out" ]; }
	expect "man page: mandoc -Tlint finds no warning" "$work/out"
	if [ -z "$rendered" ]; then
		mandoc -Tutf8 -Owidth=300 "$page" 2>/dev/null | sed 's/.\x08//g' \
			>"$work/page.txt" && rendered=mandoc
	fi
else
	skip "man page: mandoc -Tlint finds no warning" "mandoc is not installed"
fi

if [ -n "$rendered" ]; then
	# section NAME: the lines of the rendered page's section NAME.
	section() {
		awk -v name="$1" '/^[A-Z]/ { on = ($0 == name); next } on' \
			"$work/page.txt"
	}
	section SYNOPSIS >"$work/synopsis"
	section COMMANDS >"$work/commands.txt"
	missing=
	for c in "${commands[@]}"; do
		# In SYNOPSIS, a line 'mdrun [render]', 'mdrun plan' or
		# 'mdrun push | pull'; under COMMANDS, an entry so named.
		grep -qE "^ *mdrun (\[?|[a-z]+ \| )$c([] ]|$)" "$work/synopsis" &&
			grep -qE "^ {5}(\[?|([a-z]+ \| )+)$c([] ]|$)" "$work/commands.txt" ||
			missing+=" $c"
	done
	[ -z "$missing" ]
	expect "man page: each command mdrun --help lists is in SYNOPSIS and COMMANDS${missing:+ (not:$missing)}" \
		"$work/synopsis"
	missing=
	for c in "${commands[@]}"; do
		while read -r o; do
			grep -qE -- "(^|[^a-zA-Z0-9-])$o([^a-zA-Z0-9-]|$)" "$work/page.txt" ||
				missing+=" $o"
		done <"$work/options.$c"
	done
	[ -z "$missing" ]
	expect "man page: names every option the commands' --help name${missing:+ (not:$missing)}"
	missing=
	for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS DOCUMENTS ENVIRONMENT \
		FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -qx "$s" "$work/page.txt" || missing+=" '$s'"
	done
	[ -z "$missing" ]
	expect "man page: has its sections${missing:+ (not:$missing)}"
	missing=
	for v in MDRUN_STORE NO_COLOR TERM GITHUB_ACTIONS; do
		section ENVIRONMENT | grep -qE "^ {5}$v( |$)" || missing+=" $v"
	done
	[ -z "$missing" ]
	expect "man page: ENVIRONMENT has MDRUN_STORE, NO_COLOR, TERM, GITHUB_ACTIONS${missing:+ (not:$missing)}"
else
	skip "man page: each command mdrun --help lists is in SYNOPSIS and COMMANDS" \
		"neither groff nor mandoc is installed"
fi

finish
