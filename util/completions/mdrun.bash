# bash completion for mdrun(1)                            -*- shell-script -*-
#
# Installed as share/bash-completion/completions/mdrun, where
# bash-completion loads it on first use; or source it from ~/.bashrc.
# It needs nothing from bash-completion: plain compgen.
#
# Completes the commands, each command's options and their fixed values
# (--to, --color, store's subcommands), documents (folders and .md, .Rmd,
# .qmd files), files for -o/--output, --config and --junit, folders for
# --store, git revisions for --changed-since and git remotes for
# push/pull. Both --opt VALUE and --opt=VALUE are completed, as mdrun
# takes both. watch takes render's options, and documents.
# tests/e2e/completions.sh checks it.

# _mdrun_add WORDS...: adds each of WORDS to the replies, whole (a file
# name with spaces stays one reply).
_mdrun_add()
{
	local w
	for w in "$@"; do
		COMPREPLY+=("$w")
	done
}

# _mdrun_words CUR WORDLIST: adds the words of WORDLIST that start with CUR.
_mdrun_words()
{
	local IFS=$' \t\n'
	local -a found
	mapfile -t found < <(compgen -W "$2" -- "$1")
	_mdrun_add "${found[@]}"
}

# _mdrun_files CUR [SUFFIX...]: adds the folders that start with CUR, and
# the files ending in one of SUFFIX (every file when none is given).
_mdrun_files()
{
	local cur=$1 sfx f
	local -a found
	shift
	_mdrun_dirs "$cur"
	[ $# -gt 0 ] || set -- ""
	for sfx in "$@"; do
		mapfile -t found < <(compgen -f -X "!*$sfx" -- "$cur")
		for f in "${found[@]}"; do
			[ -d "$f" ] || COMPREPLY+=("$f")
		done
	done
	_mdrun_unhide "$cur"
}

# The documents a command reads: folders (searched for documents) and
# Markdown, R Markdown and Quarto files.
_mdrun_documents()
{
	_mdrun_files "$1" .md .Rmd .qmd
}

_mdrun_dirs()
{
	local -a found
	compopt -o filenames 2>/dev/null
	mapfile -t found < <(compgen -d -- "$1")
	_mdrun_add "${found[@]}"
	_mdrun_unhide "$1"
}

# Hidden files and folders (.git, .mdrun) are offered only once the name
# typed starts with a dot.
_mdrun_unhide()
{
	local cur=$1 i
	[[ ${cur##*/} == .* ]] && return
	for i in "${!COMPREPLY[@]}"; do
		[[ ${COMPREPLY[i]##*/} == .* ]] && unset 'COMPREPLY[i]'
	done
	COMPREPLY=("${COMPREPLY[@]}")
}

_mdrun_remotes()
{
	_mdrun_words "$1" "$(git remote 2>/dev/null)"
	_mdrun_dirs "$1"
}

_mdrun_revisions()
{
	_mdrun_words "$1" "HEAD $(git for-each-ref --format='%(refname:short)' \
		refs/heads refs/remotes refs/tags 2>/dev/null)"
}

# _mdrun_value CMD OPTION CUR: completes the value of OPTION. Returns 1
# when OPTION takes no value (so the caller goes on), 0 otherwise.
_mdrun_value()
{
	local cmd=$1 opt=$2 cur=$3
	# watch takes render's options.
	[ "$cmd" = watch ] && cmd=render
	case $opt in
	--to)
		[ "$cmd" = render ] || return 1
		_mdrun_words "$cur" "markdown html json ipynb"
		;;
	--color)
		case $cmd in render | check) ;; *) return 1 ;; esac
		_mdrun_words "$cur" "auto always never"
		;;
	-o | --output)
		case $cmd in render | check | strip) ;; *) return 1 ;; esac
		_mdrun_files "$cur"
		;;
	--store)
		case $cmd in kernels) return 1 ;; esac
		_mdrun_dirs "$cur"
		;;
	--config)
		case $cmd in render | check | plan | kernels) ;; *) return 1 ;; esac
		_mdrun_files "$cur"
		;;
	--junit)
		[ "$cmd" = check ] || return 1
		_mdrun_files "$cur"
		;;
	--changed-since)
		[ "$cmd" = check ] || return 1
		_mdrun_revisions "$cur"
		;;
	# Values with nothing to offer: a number, a size, a block's name.
	--timeout | --max-write | -j | --jobs | --shard)
		case $cmd in render | check) ;; *) return 1 ;; esac
		;;
	--max-output)
		case $cmd in render | check | plan) ;; *) return 1 ;; esac
		;;
	--rebuild)
		# Only as --rebuild=NAME: a bare --rebuild takes no value.
		[ "$_mdrun_eq" ] || return 1
		;;
	--keep-last | --older-than)
		[ "$cmd" = gc ] || return 1
		;;
	*)
		return 1
		;;
	esac
	return 0
}

_mdrun()
{
	local cur=${COMP_WORDS[COMP_CWORD]} cword=$COMP_CWORD
	local -a words=("${COMP_WORDS[@]}")
	local commands="render check plan strip watch store gc push pull kernels"
	local cmd i opt= _mdrun_eq=
	COMPREPLY=()

	# bash splits --opt=VALUE at the '=' (COMP_WORDBREAKS holds it):
	# "--color" "=" "ne". Take the pieces back together: OPT and the
	# VALUE being typed, which is what a reply replaces.
	if [ "$cur" = "=" ] && [ "$cword" -ge 2 ]; then
		opt=${words[cword - 1]} cur= _mdrun_eq=1
	elif [ "$cword" -ge 3 ] && [ "${words[cword - 1]}" = "=" ]; then
		opt=${words[cword - 2]} _mdrun_eq=1
	elif [[ $cur == -*=* ]]; then
		# '=' is not a word break here: the reply is the whole word.
		opt=${cur%%=*} _mdrun_eq=1
	fi

	# The command is the first argument; any other first argument is a
	# document to render (the default command).
	cmd=${words[1]}
	case " $commands " in
	*" $cmd "*) ;;
	*) cmd=render ;;
	esac

	if [ "$_mdrun_eq" ]; then
		if [[ $cur == -*=* ]]; then
			local value=${cur#*=} before=${#COMPREPLY[@]}
			_mdrun_value "$cmd" "$opt" "$value" || return 0
			for ((i = before; i < ${#COMPREPLY[@]}; i++)); do
				COMPREPLY[i]=$opt=${COMPREPLY[i]}
			done
		else
			_mdrun_value "$cmd" "$opt" "$cur"
		fi
		return 0
	fi
	# An option whose value is the word being typed.
	if [ "$cword" -ge 2 ] && [[ ${words[cword - 1]} == -* ]] &&
		_mdrun_value "$cmd" "${words[cword - 1]}" "$cur"; then
		return 0
	fi

	local render_opts="-o --output -i --in-place --to --unsafe-html -k
		--keep-going --rebuild --rebuild= --store --config --all
		--timeout --max-output --max-write --no-track -j --jobs --color
		-q --quiet -v --verbose -h --help"
	local check_opts="--fresh --repeat --junit --changed-since --shard -o
		--output --store --config --all --timeout --max-output
		--max-write --no-track -j --jobs --color -q --quiet -v --verbose
		-h --help"
	local plan_opts="--json --all --store --config --rebuild --rebuild=
		--max-output -h --help"

	if [ "$cword" = 1 ]; then
		if [[ $cur == -* ]]; then
			_mdrun_words "$cur" "--version $render_opts"
		else
			_mdrun_words "$cur" "$commands"
			_mdrun_documents "$cur"
		fi
		return 0
	fi

	case $cmd in
	render | check | plan | strip | watch)
		if [[ $cur == -* ]]; then
			case $cmd in
			render) _mdrun_words "$cur" "$render_opts" ;;
			watch) _mdrun_words "$cur" "$render_opts --snapshots
				--snapshot-memory" ;;
			check) _mdrun_words "$cur" "$check_opts" ;;
			plan) _mdrun_words "$cur" "$plan_opts" ;;
			strip) _mdrun_words "$cur" "--check --all -o --output -q
				--quiet -h --help" ;;
			esac
		else
			_mdrun_documents "$cur"
		fi
		;;
	store)
		local verb=
		for ((i = 2; i < cword; i++)); do
			case ${words[i]} in
			--store)
				# Its value, "--store DIR" or "--store = DIR".
				[ "${words[i + 1]}" = "=" ] && ((i++))
				((i++))
				;;
			-*) ;;
			*) verb=${words[i]} && break ;;
			esac
		done
		if [[ $cur == -* ]]; then
			_mdrun_words "$cur" "--store --all -h --help"
		elif [ -z "$verb" ]; then
			_mdrun_words "$cur" "ls show path verify rm migrate"
		elif [ "$i" = "$((cword - 1))" ]; then
			# REF: a key, or DOC.md#NAME, which starts with a
			# document's name.
			case $verb in
			show | path | rm) _mdrun_documents "$cur" ;;
			esac
		fi
		;;
	gc)
		if [[ $cur == -* ]]; then
			_mdrun_words "$cur" "--store --dry-run --keep-last
				--older-than --all -h --help"
		else
			_mdrun_documents "$cur"
		fi
		;;
	push | pull)
		if [[ $cur == -* ]]; then
			_mdrun_words "$cur" "--store -q --quiet -h --help"
		else
			_mdrun_remotes "$cur"
		fi
		;;
	kernels)
		_mdrun_words "$cur" "--config -h --help"
		;;
	esac
	# "--rebuild=" and the like: nothing after it yet, so no space.
	if [ ${#COMPREPLY[@]} = 1 ] && [[ ${COMPREPLY[0]} == *= ]]; then
		compopt -o nospace 2>/dev/null
	fi
	return 0
}

complete -F _mdrun mdrun
