#!/usr/bin/env bash
# The action's pull step: `mdrun pull` from the remote, so that blocks whose
# results CI already has do not run again.
#
#   INPUT_REMOTE   the remote (a remote's name, a path or a URL); empty:
#                  the "remote" of mdrun.json, and when there is none, no
#                  pull (a notice says so)
#
# A pull that fails (the remote cannot be reached, holds no results yet,
# or some were rejected) is a warning, never a failure: the check after it
# still runs, with what the store has.
# shellcheck source=SCRIPTDIR/common.sh
. "$(dirname "$0")/common.sh"

share pull
case $? in
0) ;;
3) say "no remote to pull from: set the action's remote input, or \"remote\" in mdrun.json" ;;
*) annotate warning "mdrun pull ${remote_args[*]} failed; checking without the results it would have brought" ;;
esac
exit 0
