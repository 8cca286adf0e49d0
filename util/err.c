#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Per thread: blocks are realized by several threads at once. */
static _Thread_local char msg[1024];

int
md_err_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return MD_ERROR;
}

int
md_err_sys(const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	errno = saved;
	return MD_ERROR;
}

int
md_err_prefix(int code, const char *fmt, ...)
{
	char was[sizeof(msg)];
	size_t n;
	va_list ap;

	memcpy(was, msg, sizeof(msg));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, ": %s", was);
	return code;
}

const char *
md_err_msg(void)
{
	return msg;
}

void
md_err_clear(void)
{
	msg[0] = '\0';
}
