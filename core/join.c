/* Jail side: init's join mode, for an exec into a running jail (an OCI
 * container's `exec`).
 *
 * The host cloned this program straight into the jail's cgroup, from the
 * same sealed image as every init, and sent a plan whose process part is
 * the command's, with a pidfd of the jail's init as the last fd.  Here:
 * join every namespace the plan names through that pidfd in one setns
 * (the kernel takes the user namespace first), open a console in the
 * jail's devpts when asked, cut the bounding set, and fork the command as
 * the host's child (CLONE_PARENT), which sets itself up exactly as a
 * jail's command does (command.c).  setns(CLONE_NEWPID) moves only the
 * children: the command is in the jail's pid namespace, this process is
 * not, and nothing of it is visible in the jail.  Once the command has
 * exec'd (or failed, and said so on the socket itself), report READY with
 * its pid and pidfd and exit: the command's reaper is the host, or the
 * host's subreaper once the host is gone. */
#include "jail.h"
#include "util.h"
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static __attribute__((noreturn)) void join_fail(int sock, struct sbx_err *e)
{
	sbx_msg_send_err(sock, e, 125);
	_exit(125);
}

static void ns_names(int flags, char *buf, size_t len)
{
	const char *n;
	int f;
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; (f = sbx_ns_at(i, &n)); i++) {
		if (!(flags & f))
			continue;
		int k = snprintf(buf + o, len - o, "%s%s", o ? "," : "", n);
		if (k < 0 || (size_t)k >= len - o)
			return;
		o += (size_t)k;
	}
}

void sbx_join_main(struct sbx_initplan *ip, struct sbx_jailctx *cx, int nsfd)
{
	const struct sbx_plan *p = &ip->p;
	struct sbx_err e = { 0 };
	int release, done;
	char names[128];

	/* no ptrace and no /proc/PID/{mem,fd} of ours or of the command
	 * before its exec, for anything in the jail */
	prctl(PR_SET_DUMPABLE, 0);
	/* the process's oom_score_adj and personality (the command inherits
	 * both), through the host's /proc still; the jail-wide settings
	 * (sysctls, domainname) the host left out */
	if (sbx_init_apply_ext(p, &e) < 0)
		join_fail(cx->sock, &e);
	if (p->ns_flags && setns(nsfd, p->ns_flags) < 0) {
		ns_names(p->ns_flags, names, sizeof names);
		sbx_err_set(&e, errno, "setns", "exec: join the container's "
			    "namespaces (%s)", names);
		join_fail(cx->sock, &e);
	}
	sbx_closep(&nsfd);
	/* the jail's /dev/ptmx now: its own devpts */
	if (p->tty && sbx_console_open(cx, &e) < 0)
		join_fail(cx->sock, &e);
	if (sbx_priv_bound(~p->caps_keep, &e) < 0)
		join_fail(cx->sock, &e);
	cx->sibling = true;
	pid_t cmd = sbx_command_fork(ip, cx, &release, &done, &e);
	if (cmd < 0)
		join_fail(cx->sock, &e);
	int pidfd = (int)syscall(SYS_pidfd_open, cmd, 0);
	for (int i = 0; i < 3; i++)
		sbx_closep(&cx->stdio[i]);
	for (size_t i = 0; i < cx->npass; i++)
		sbx_closep(&cx->pass[i]);
	sbx_closep(&cx->tty);
	/* nothing to drop first: this process ends before the command runs */
	if (write(release, "g", 1) != 1) {
		kill(cmd, SIGKILL);
		sbx_err_set(&e, errno, "exec", "exec: release the command");
		join_fail(cx->sock, &e);
	}
	close(release);
	char b;
	while (read(done, &b, 1) < 0 && errno == EINTR)
		;
	close(done);
	sbx_msg_send(cx->sock, SBX_MSG_READY, (int)cmd, pidfd);
	_exit(0);
}
