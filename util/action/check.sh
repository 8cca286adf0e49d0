#!/usr/bin/env bash
# The action's check step: `mdrun check` on the documents. Under GitHub
# Actions mdrun prints each stale or failed block as an ::error annotation
# on its line; this script adds a summary to the job's page
# ($GITHUB_STEP_SUMMARY) and exits with mdrun's status (0 current, 1
# stale or failed, 2 error).
#
#   INPUT_DOCUMENTS  documents, folders and quoted globs, separated by
#                    spaces or newlines (default: ., every .md, .Rmd and
#                    .qmd under the working folder that .gitignore does
#                    not exclude)
#   INPUT_JUNIT      write a JUnit XML report there (default: none)
#   INPUT_ARGS       more options for mdrun check (--changed-since REV,
#                    --shard I/N, --fresh, -q), split on spaces
# shellcheck source=SCRIPTDIR/common.sh
. "$(dirname "$0")/common.sh"

mapfile -t docs < <(words "${INPUT_DOCUMENTS:-.}")
[ ${#docs[@]} -gt 0 ] || docs=(.)
mapfile -t args < <(words "${INPUT_ARGS:-}")
if [ -n "${INPUT_JUNIT:-}" ]; then
	mkdir -p "$(dirname "$INPUT_JUNIT")"
	args+=(--junit "$INPUT_JUNIT")
fi

# mdrun's standard error goes to the log as it comes, and to a file for
# the summary.
err=$(mktemp)
trap 'rm -f "$err"' EXIT
{ mdrun check "${args[@]}" "${docs[@]}" 2>&1 >&3 3>&- | tee "$err" >&2 3>&-; } 3>&1
rc=${PIPESTATUS[0]}

if [ $rc = 2 ]; then
	annotate error "mdrun check could not check every document (exit 2): see the log"
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	{
		echo "### mdrun check"
		echo
		case $rc in
		0) echo "Every document is current." ;;
		1) echo "Some documents are stale or failed." ;;
		*) echo "mdrun check stopped on an error (exit $rc)." ;;
		esac
		echo
		echo '```text'
		grep -E '^[^ ]+:[0-9]+: |^mdrun: (checked|to bring)|error' "$err" | head -n 200
		echo '```'
	} >>"$GITHUB_STEP_SUMMARY"
fi
exit $rc
