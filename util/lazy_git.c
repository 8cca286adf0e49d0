#define MD_GIT2_LOADER
#include "lazy_git.h"

#include <pthread.h>

#include "err.h"
#include "lazy.h"

struct md_git2 md_git2;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256];

static void
load(void)
{
	void *h = md_lazy_open(MD_GIT2_SONAME, MD_GIT2_PATH, why,
				sizeof(why));

#define MD_LAZY_SYM(f) \
	if (h && !md_lazy_sym(h, #f, &md_git2.f, why, sizeof(why))) \
		h = NULL;
	MD_GIT2_FNS(MD_LAZY_SYM)
#undef MD_LAZY_SYM
}

int
md_git2_load(void)
{
	pthread_once(&once, load);
	if (why[0])
		return md_err_set("cannot load libgit2 (%s): %s", MD_GIT2_SONAME, why);
	return 0;
}

int
md_git2_init(void)
{
	int rc = md_git2_load();

	if (rc == 0 && md_git2.git_libgit2_init() < 0)
		rc = md_err_set("libgit2 did not start");
	return rc;
}
