#!/usr/bin/env python3
"""Runs a command under a time limit and measures it.

usage: limits.py SECONDS REPORT COMMAND [ARG...]

Once the command has ended, writes to the file REPORT, as shell
assignments to source:

  m_exit=N m_signal=S m_timeout=0|1 m_seconds=T m_rss=K

m_exit is the command's status (-1 when a signal ended it), m_signal
the signal that ended it (0 if none), m_seconds the wall-clock time, and
m_rss the peak resident set of the command or of any process it
waited for, whichever is largest (getrusage(RUSAGE_CHILDREN)); it counts
what the command inherited from this script when it was forked, so it is
never below this script's own size, about 10 to 15 MiB. Past
SECONDS the command's process group gets SIGKILL and m_timeout=1. The
command's own standard streams are left as they are.
"""
import os
import resource
import signal
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip().splitlines()[2])
    limit = float(sys.argv[1])
    start = time.monotonic()
    proc = subprocess.Popen(sys.argv[3:], start_new_session=True)
    timed_out = 0
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        timed_out = 1
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    seconds = time.monotonic() - start
    status = proc.returncode
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(sys.argv[2], "w") as f:
        f.write("m_exit=%d m_signal=%d m_timeout=%d m_seconds=%.2f "
                "m_rss=%d\n" % (status if status >= 0 else -1,
                                 -status if status < 0 else 0, timed_out,
                                 seconds, rss))


if __name__ == "__main__":
    main()
