#include "lazy.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

void *
md_lazy_open(const char *soname, const char *path, char *why,
	     size_t why_size)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(why, why_size, "%s", dlerror());
		if (path && strcmp(path, soname))
			h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	}
	if (h)
		why[0] = '\0';
	return h;
}

bool
md_lazy_sym(void *h, const char *name, void *fn, char *why, size_t why_size)
{
	void *p = dlsym(h, name);

	if (!p) {
		snprintf(why, why_size, "it has no %s", name);
		return false;
	}
	/* POSIX: a function's address comes back as a void *. */
	memcpy(fn, &p, sizeof(p));
	return true;
}
