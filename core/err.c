/* Errors as an out-param: errno + step + one readable line (crun style). */
#include "sbx.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sbx_err_set(struct sbx_err *e, int errnum, const char *step,
		 const char *fmt, ...)
{
	va_list ap;
	char what[sizeof e->msg];

	if (!e)
		return;
	e->errnum = errnum;
	snprintf(e->step, sizeof e->step, "%s", step ? step : "");
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (errnum)
		snprintf(e->msg, sizeof e->msg, "%s: %s", what,
			 strerror(errnum));
	else
		snprintf(e->msg, sizeof e->msg, "%s", what);
}

void sbx_err_wrap(struct sbx_err *e, const char *fmt, ...)
{
	va_list ap;
	char pre[256], old[sizeof e->msg];

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	snprintf(e->msg, sizeof e->msg, "%s: %s", pre, old);
}

const char *sbx_errno_name(int n)
{
	static const struct { int n; const char *s; } t[] = {
#define E(x) { x, #x }
		E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO),
		E(E2BIG), E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN),
		E(ENOMEM), E(EACCES), E(EFAULT), E(EBUSY), E(EEXIST),
		E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL),
		E(ENFILE), E(EMFILE), E(ENOTTY), E(ETXTBSY), E(EFBIG),
		E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE),
		E(ERANGE), E(ENAMETOOLONG), E(ENOSYS), E(ENOTEMPTY),
		E(ELOOP), E(EOPNOTSUPP), E(ENOTSUP), E(EUSERS),
		E(ECONNREFUSED), E(ENETUNREACH), E(EHOSTUNREACH),
		E(EADDRNOTAVAIL), E(ETIMEDOUT), E(ECANCELED),
		E(EOVERFLOW), E(EDQUOT), E(ENOTSOCK), E(EAFNOSUPPORT),
#undef E
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].n == n)
			return t[i].s;
	return "EUNKNOWN";
}
