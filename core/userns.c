/* Host side: user namespaces.  The id maps are written (or newuidmap and
 * newgidmap run) after the clone, before init is told to go on; when the
 * kernel or a policy refuses the namespaces, name the cause and the fix. */
#include "jail.h"
#include "util.h"
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_proc(pid_t pid, const char *file, const char *s)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	cleanup_fd int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		return -1;
	return 0;
}

/* newuidmap/newgidmap PID inside outside count ...: setuid helpers that
 * map the ranges /etc/subuid and /etc/subgid grant an unprivileged user */
static int run_helper(const char *tool, pid_t pid, const char *map,
		      struct sbx_err *e)
{
	char *argv[128], buf[4096], pidbuf[16];
	int n = 0, st;
	snprintf(buf, sizeof buf, "%s", map);
	snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
	argv[n++] = (char *)tool;
	argv[n++] = pidbuf;
	for (char *sv, *t = strtok_r(buf, " \n", &sv); t && n < 126;
	     t = strtok_r(NULL, " \n", &sv))
		argv[n++] = t;
	argv[n] = NULL;
	/* posix_spawn: vfork-style, safe in a big or multithreaded host */
	pid_t h;
	int err = posix_spawnp(&h, tool, NULL, NULL, argv, (char *[]){ NULL });
	if (err) {
		sbx_err_set(e, err, "user namespace",
			    err == ENOENT ? "run %s (install the uidmap package)"
					  : "run %s", tool);
		return -1;
	}
	pid_t w;
	while ((w = waitpid(h, &st, 0)) < 0 && errno == EINTR)
		;
	if (w < 0) {
		sbx_err_set(e, errno, "user namespace", "wait for %s", tool);
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		sbx_err_set(e, code == 127 ? ENOENT : EPERM, "user namespace",
			    code == 127 ? "run %s (install the uidmap package)"
					: "%s refused the map \"%s\" (see "
					  "/etc/subuid and /etc/subgid)",
			    tool, map);
		return -1;
	}
	return 0;
}

int sbx_userns_write_maps(const struct sbx_plan *p, pid_t pid,
			  struct sbx_err *e)
{
	if (p->idmap.use_helpers)
		return run_helper("newuidmap", pid, p->idmap.uid_map, e) < 0 ||
		       run_helper("newgidmap", pid, p->idmap.gid_map, e) < 0
			       ? -1 : 0;
	if (write_proc(pid, "setgroups", "deny") < 0 && errno != ENOENT) {
		sbx_err_set(e, errno, "user namespace", "write setgroups");
		return -1;
	}
	if (p->idmap.uid_map && write_proc(pid, "uid_map", p->idmap.uid_map) < 0) {
		sbx_err_set(e, errno, "user namespace", "write uid_map \"%s\"",
			    p->idmap.uid_map);
		return -1;
	}
	if (p->idmap.gid_map && write_proc(pid, "gid_map", p->idmap.gid_map) < 0) {
		sbx_err_set(e, errno, "user namespace", "write gid_map \"%s\"",
			    p->idmap.gid_map);
		return -1;
	}
	return 0;
}

static long sysctl_num(const char *path)
{
	char buf[32];
	if (sbx_read_at(AT_FDCWD, path, buf, sizeof buf) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* name the policy that refused the namespaces, and the fix */
void sbx_userns_why(const struct sbx_plan *p, int err, struct sbx_err *e)
{
	if (!(p->ns_flags & CLONE_NEWUSER)) {
		sbx_err_set(e, err, "namespaces",
			    "create namespaces (clone3)%s", geteuid() ?
			    ": without root, add \"user\" to namespaces" : "");
		return;
	}
	if (sysctl_num("/proc/sys/user/max_user_namespaces") == 0)
		sbx_err_set(e, err, "namespaces", "create a user namespace: "
			    "user.max_user_namespaces is 0 (sysctl -w "
			    "user.max_user_namespaces=15000)");
	else if (sysctl_num("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
		sbx_err_set(e, err, "namespaces", "create a user namespace: "
			    "AppArmor restricts unprivileged user namespaces "
			    "(sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, "
			    "or an AppArmor profile with \"userns,\" for sandboxlua)");
	else if (sysctl_num("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		sbx_err_set(e, err, "namespaces", "create a user namespace: "
			    "kernel.unprivileged_userns_clone is 0 (sysctl -w "
			    "kernel.unprivileged_userns_clone=1)");
	else
		sbx_err_set(e, err, "namespaces", "create namespaces with a "
			    "user namespace (clone3)");
}
