/*
 * A fresh temporary folder per test: Criterion runs each test in its own
 * process, so `dir` is made by tmpdir_setup and removed by tmpdir_teardown
 * for that test only.
 */
#ifndef TESTS_TMPDIR_H
#define TESTS_TMPDIR_H

#include <criterion/criterion.h>
#include <stdlib.h>

#include "../util/fs.h"

static char dir[] = "/tmp/mdrun-test-XXXXXX";

static void
tmpdir_setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void
tmpdir_teardown(void)
{
	md_fs_rmtree(dir);
}

#endif
