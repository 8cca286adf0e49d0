# shellcheck shell=bash
# Sourced by the scripts of the GitHub Action (action.yml at the root of
# this repository). Each script reads its inputs from environment
# variables, INPUT_* as action.yml's `env:` sets them, so it runs the same
# outside GitHub:
#
#   INPUT_REMOTE=../cache.git util/action/pull.sh
#
# Under GitHub Actions (GITHUB_ACTIONS=true) messages are workflow
# commands (::notice::, ::warning::, ::error::), which show as annotations;
# elsewhere they are lines on standard error.

set -u

# annotate LEVEL MESSAGE: notice, warning or error.
annotate() {
	local level=$1 msg=$2
	if [ "${GITHUB_ACTIONS:-}" = true ]; then
		# The workflow command format: %, CR and LF escaped.
		msg=${msg//'%'/'%25'}
		msg=${msg//$'\r'/'%0D'}
		msg=${msg//$'\n'/'%0A'}
		echo "::$level title=mdrun::$msg"
	else
		echo "mdrun action: $level: $msg" >&2
	fi
}

# say MESSAGE: a line in the log, no annotation.
say() { echo "mdrun action: $*"; }

# words STRING: the words of STRING (split on spaces, tabs and newlines),
# one per line, with no glob expanded: mdrun expands quoted globs itself.
words() {
	local w
	set -f
	# shellcheck disable=SC2086
	for w in $1; do printf '%s\n' "$w"; done
	set +f
}

# truthy NAME VALUE: 0 for true, 1 for false (as YAML writes them, any
# case); anything else is an error (exit 2).
truthy() {
	case ${2,,} in
	true | yes | on | 1) return 0 ;;
	false | no | off | 0 | '') return 1 ;;
	*)
		annotate error "input $1 must be true or false, not '$2'"
		exit 2
		;;
	esac
}

# remote_args: the REMOTE argument of mdrun push and pull, the input
# `remote` when set, else none (mdrun then takes "remote" from mdrun.json,
# or says no remote is given).
remote_args=()
[ -z "${INPUT_REMOTE:-}" ] || remote_args=("$INPUT_REMOTE")

# share push|pull: runs mdrun push or pull with the remote. Returns 0 when
# it worked, 3 when no remote is configured anywhere (neither the input nor
# mdrun.json), else mdrun's status; its messages go to the log.
share() {
	local err rc
	err=$(mktemp)
	mdrun "$1" "${remote_args[@]}" 2>"$err"
	rc=$?
	if [ $rc = 2 ] && [ ${#remote_args[@]} = 0 ] && grep -q 'no remote given' "$err"; then
		rc=3
	else
		cat "$err" >&2
	fi
	rm -f "$err"
	return $rc
}

command -v mdrun >/dev/null 2>&1 || [ "${0##*/}" = build.sh ] || {
	annotate error "mdrun is not on PATH (the action's build step puts it there)"
	exit 2
}
