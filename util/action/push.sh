#!/usr/bin/env bash
# The action's push step: `mdrun push` to the remote, on the default
# branch only, so that later runs (and people, with mdrun pull) get the
# results this run made. Runs only when the check passed.
#
#   INPUT_REMOTE    the remote (a remote's name, a path or a URL); empty:
#                   the "remote" of mdrun.json, and when there is none, no
#                   push (a notice says so)
#   INPUT_PUSH      true (the default): push when GITHUB_REF is the default
#                   branch; false: never push
#   GITHUB_REF      the ref the run is for (refs/heads/main,
#                   refs/pull/7/merge), as GitHub sets it
#   DEFAULT_BRANCH  the repository's default branch (main); empty: unknown,
#                   and nothing is pushed
#
# A push that fails fails the step: the remote was configured, and the
# results would never be shared. (In GitHub, the job needs `permissions:
# contents: write` to push to its own repository.)
# shellcheck source=SCRIPTDIR/common.sh
. "$(dirname "$0")/common.sh"

truthy push "${INPUT_PUSH:-true}" || {
	say "not pushing: the push input is false"
	exit 0
}
branch=${DEFAULT_BRANCH:-}
if [ -z "$branch" ]; then
	say "not pushing: the default branch is not known for this event"
	exit 0
fi
if [ "${GITHUB_REF:-}" != "refs/heads/$branch" ]; then
	say "not pushing: ${GITHUB_REF:-this ref} is not the default branch (refs/heads/$branch)"
	exit 0
fi

share push
rc=$?
case $rc in
0) ;;
3) say "no remote to push to: set the action's remote input, or \"remote\" in mdrun.json" ;;
*)
	annotate error "mdrun push ${remote_args[*]} failed (exit $rc): see the log. Pushing to the workflow's own repository needs permissions: contents: write"
	exit $rc
	;;
esac
exit 0
