/*
 * Crash points, for the tests that kill mdrun at chosen instants: when the
 * environment variable MDRUN_CRASH_AT names this point, the process kills
 * itself with SIGKILL there, as a power cut or kill -9 would.
 */
#ifndef MD_CRASH_H
#define MD_CRASH_H

void md_crashpoint(const char *name);

#endif
