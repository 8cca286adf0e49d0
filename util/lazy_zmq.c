#define MD_ZMQ_LOADER
#include "lazy_zmq.h"

#include <pthread.h>

#include "err.h"
#include "lazy.h"

struct md_zmq md_zmq;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256];

static void
load(void)
{
	void *h = md_lazy_open(MD_ZMQ_SONAME, MD_ZMQ_PATH, why,
				sizeof(why));

#define MD_LAZY_SYM(f) \
	if (h && !md_lazy_sym(h, #f, &md_zmq.f, why, sizeof(why))) \
		h = NULL;
	MD_ZMQ_FNS(MD_LAZY_SYM)
#undef MD_LAZY_SYM
}

int
md_zmq_load(void)
{
	pthread_once(&once, load);
	if (why[0])
		return md_err_set("cannot load libzmq (%s): %s", MD_ZMQ_SONAME, why);
	return 0;
}
