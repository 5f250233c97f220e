/* Jail side: the plan's kernel settings that are neither mounts nor
 * credentials, applied by init before the mount table is built (the
 * command inherits each through fork):
 *
 *   sysctl         each key written under /proc/sys.  Init still sees the
 *                  host's /proc here, which is fine: the kernel resolves a
 *                  namespaced sysctl (net.*, the ipc ones, the uts ones)
 *                  by the writer's namespaces, so the values are the
 *                  jail's own; the jail's /proc/sys may be read-only later
 *                  (readonly_paths), which a write now does not meet.  The
 *                  recipe layer lets only namespaced keys through, and
 *                  only with their namespace.
 *   oom_score_adj  /proc/self/oom_score_adj (lowering it needs
 *                  CAP_SYS_RESOURCE of the host's user namespace)
 *   domainname     setdomainname in the jail's uts namespace
 *   personality    personality(2) (execve keeps it) */
#include "jail.h"
#include "util.h"
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <unistd.h>

static int write_file(const char *path, const char *value, const char *step,
		      const char *what, struct sbx_err *e)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t n = strlen(value);
	ssize_t w = -1;
	if (fd >= 0) {
		w = write(fd, value, n);
		if (w < 0) {
			int err = errno;
			close(fd);
			errno = err;
		} else {
			close(fd);
		}
	}
	if (fd < 0 || w != (ssize_t)n) {
		sbx_err_set(e, fd < 0 || w < 0 ? errno : EIO, step, "%s", what);
		return -1;
	}
	return 0;
}

static int apply_sysctls(const char *const *kv, struct sbx_err *e)
{
	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
		char path[512], what[600];
		int n = snprintf(path, sizeof path, "/proc/sys/%s", kv[i]);
		if (n < 0 || (size_t)n >= sizeof path) {
			sbx_err_set(e, ENAMETOOLONG, "sysctl", "sysctl %s: key "
				    "too long", kv[i]);
			return -1;
		}
		/* a.b.c is a/b/c; a key given with slashes stays as it is */
		if (!strchr(kv[i], '/'))
			for (char *c = path + 10; *c; c++)
				if (*c == '.')
					*c = '/';
		snprintf(what, sizeof what, "sysctl %s = \"%s\" (write %s)",
			 kv[i], kv[i + 1], path);
		if (write_file(path, kv[i + 1], "sysctl", what, e) < 0)
			return -1;
	}
	return 0;
}

int sbx_init_apply_ext(const struct sbx_plan *p, struct sbx_err *e)
{
	if (p->domainname) {
		if (!(p->ns_flags & CLONE_NEWUTS)) {
			sbx_err_set(e, EINVAL, "domainname", "setdomainname %s: "
				    "no uts namespace of the jail's own",
				    p->domainname);
			return -1;
		}
		if (setdomainname(p->domainname, strlen(p->domainname)) < 0) {
			sbx_err_set(e, errno, "domainname", "setdomainname %s",
				    p->domainname);
			return -1;
		}
	}
	if (apply_sysctls(p->sysctl, e) < 0)
		return -1;
	if (p->set_oom_score_adj) {
		char v[16], what[64];
		snprintf(v, sizeof v, "%d", p->oom_score_adj);
		snprintf(what, sizeof what, "oom_score_adj %d (write "
			 "/proc/self/oom_score_adj)", p->oom_score_adj);
		if (write_file("/proc/self/oom_score_adj", v, "oom_score_adj",
			       what, e) < 0)
			return -1;
	}
	if (p->set_personality && personality(p->personality) < 0) {
		sbx_err_set(e, errno, "personality", "personality(0x%x)",
			    (unsigned)p->personality);
		return -1;
	}
	return 0;
}
