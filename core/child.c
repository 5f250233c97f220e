/* Child side: everything that runs inside the jail.
 *
 * The clone3 child is pid 1 of the jail.  It waits for the host's GO (cgroup
 * and id maps are in place), sets up the namespaces it owns (hostname,
 * loopback, the mount table, pivot_root), then forks the command and stays
 * as a minimal init: it reaps orphans, forwards signals, and reports the
 * command's wait status to the host before it exits.  Every failure goes to
 * the host as one {step, errno, message} record. */
#include "jail.h"
#include "util.h"
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;

void sbx_msg_send_err(int sock, const struct sbx_err *e, int code)
{
	struct sbx_msg m = { .type = SBX_MSG_ERROR, .errnum = e->errnum,
			     .code = code };
	snprintf(m.step, sizeof m.step, "%s", e->step);
	snprintf(m.msg, sizeof m.msg, "%s", e->msg);
	send(sock, &m, sizeof m, MSG_NOSIGNAL);
}

static void send_msg(int sock, int type, int status);

static __attribute__((noreturn)) void fail(int sock, struct sbx_err *e,
					   int code)
{
	sbx_msg_send_err(sock, e, code);
	_exit(code);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* close every fd but those in keep[]: the host program's fds (other jails'
 * pipes among them) must not live on in this jail */
static void close_except(int *keep, size_t n)
{
	unsigned lo = 0;
	qsort(keep, n, sizeof *keep, cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < lo)
			continue;
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
}

static int exec_code(int err)
{
	if (err == ENOENT || err == ENOTDIR)
		return 127;
	if (err == EACCES || err == ENOEXEC || err == EPERM || err == EISDIR)
		return 126;
	return 125;
}

/* the command: per-process setup, then execve */
static __attribute__((noreturn)) void command_main(const struct sbx_plan *p,
						   struct sbx_jailctx *cx)
{
	struct sbx_err e = { 0 };
	sigset_t none;

	sigemptyset(&none);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* own session: no controlling terminal, so no TIOCSTI into the host's */
	if (setsid() < 0) {
		sbx_err_set(&e, errno, "setsid", "setsid");
		fail(cx->sock, &e, 125);
	}
	for (int i = 0; i < 3; i++) {
		int fd = cx->tty >= 0 ? cx->tty : cx->stdio[i];
		if (fd >= 0 && dup2(fd, i) < 0) {
			sbx_err_set(&e, errno, "stdio", "stdio fd %d", i);
			fail(cx->sock, &e, 125);
		}
	}
	/* the console becomes the controlling terminal of the new session */
	if (cx->tty >= 0 && ioctl(0, TIOCSCTTY, 0) < 0) {
		sbx_err_set(&e, errno, "tty", "make the console the controlling terminal");
		fail(cx->sock, &e, 125);
	}
	/* fds above 2: closed at exec (the error socket must live till then) */
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	if (p->umask >= 0)
		umask((mode_t)p->umask);
	for (size_t i = 0; i < p->nrlimits; i++) {
		struct rlimit rl = { p->rlimits[i].soft, p->rlimits[i].hard };
		if (setrlimit(p->rlimits[i].resource, &rl) < 0) {
			sbx_err_set(&e, errno, "rlimits", "setrlimit %d",
				    p->rlimits[i].resource);
			fail(cx->sock, &e, 125);
		}
	}
	if (sbx_priv_drop(p, &e) < 0)
		fail(cx->sock, &e, 125);
	if (p->cwd && chdir(p->cwd) < 0) {
		sbx_err_set(&e, errno, "cwd", "chdir %s", p->cwd);
		fail(cx->sock, &e, 125);
	}
	environ = (char **)p->envp;
	/* before seccomp, which may forbid sending: tell the host our pid */
	send_msg(cx->sock, SBX_MSG_CMD, 0);
	if (sbx_seccomp_load(cx->bpf, &e) < 0)
		fail(cx->sock, &e, 125);
	/* execvp searches the PATH of the recipe's env (environ, set above) */
	execvp(p->argv[0], (char *const *)p->argv);
	int err = errno;
	sbx_err_set(&e, err, "exec", "exec %s", p->argv[0]);
	if (err == ENOENT && !strchr(p->argv[0], '/'))
		sbx_err_set(&e, err, "exec", "exec %s: command not found in "
			    "PATH=%s", p->argv[0], getenv("PATH") ? getenv("PATH") : "");
	fail(cx->sock, &e, exec_code(err));
}

/* a pty in the jail's own devpts; the master goes to the host */
static int open_console(int sock, struct sbx_jailctx *cx, struct sbx_err *e)
{
	int unlock = 0;
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || ioctl(m, TIOCSPTLCK, &unlock) < 0) {
		sbx_err_set(e, errno, "tty", "open /dev/ptmx in the jail (tty "
			    "needs the jail's /dev)");
		if (m >= 0)
			close(m);
		return -1;
	}
	cx->tty = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (cx->tty < 0) {
		sbx_err_set(e, errno, "tty", "open the console's slave");
		close(m);
		return -1;
	}
	struct sbx_msg msg = { .type = SBX_MSG_TTY };
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &msg, sizeof msg };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = sizeof ctl };
	memset(ctl, 0, sizeof ctl);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &m, sizeof m);
	ssize_t r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	close(m);
	if (r < 0) {
		sbx_err_set(e, errno, "tty", "hand the console to the host");
		return -1;
	}
	return 0;
}

static void send_msg(int sock, int type, int status)
{
	struct sbx_msg m = { .type = type, .status = status };
	send(sock, &m, sizeof m, MSG_NOSIGNAL);
}

/* pid 1: reap, forward, report */
static __attribute__((noreturn)) void init_loop(int sock, pid_t cmd,
						const sigset_t *set)
{
	int status = 0;
	siginfo_t si;

	for (;;) {
		if (sigwaitinfo(set, &si) < 0)
			continue;
		if (si.si_signo != SIGCHLD) {
			kill(cmd, si.si_signo);
			continue;
		}
		for (;;) {
			int st;
			pid_t w = waitpid(-1, &st, WNOHANG | __WALL);
			if (w <= 0)
				break;
			if (w == cmd) {
				status = st;
				send_msg(sock, SBX_MSG_EXIT, status);
				/* leaving tears the pid namespace down */
				_exit(WIFEXITED(st) ? WEXITSTATUS(st)
						    : 128 + WTERMSIG(st));
			}
		}
	}
}

void sbx_child_main(const struct sbx_plan *p, struct sbx_jailctx *cx)
{
	struct sbx_err e = { 0 };
	struct sbx_msg go;
	/* 0-2 stay: inherited stdio is the host's own */
	int keep[7] = { 0, 1, 2, cx->sock, cx->stdio[0], cx->stdio[1],
			cx->stdio[2] };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close_except(keep, 7);
	/* GO: in the cgroup, id maps written; EOF: the host died */
	if (recv(cx->sock, &go, sizeof go, 0) != (ssize_t)sizeof go ||
	    go.type != SBX_MSG_GO)
		_exit(125);
	if ((p->ns_flags & CLONE_NEWUTS) && p->hostname &&
	    sethostname(p->hostname, strlen(p->hostname)) < 0) {
		sbx_err_set(&e, errno, "hostname", "sethostname %s",
			    p->hostname);
		fail(cx->sock, &e, 125);
	}
	if ((p->ns_flags & CLONE_NEWNET) && p->net_loopback &&
	    sbx_net_loopback_up(&e) < 0)
		fail(cx->sock, &e, 125);
	if (p->ns_flags & CLONE_NEWNS) {
		if (sbx_mount_prepare(p, cx, &e) < 0 ||
		    sbx_mount_build(p, cx, &e) < 0)
			fail(cx->sock, &e, 125);
		/* the clones are attached now: no handle on the host's tree
		 * stays open in the jail's init */
		for (int i = 0; i < 6; i++)
			sbx_closep(&cx->devfd[i]);
		for (size_t i = 0; i < p->nmounts && i < SBX_MAX_MOUNTS; i++)
			sbx_closep(&cx->srcfd[i]);
		sbx_closep(&cx->rootfd);
	}

	if (p->tty && open_console(cx->sock, cx, &e) < 0)
		fail(cx->sock, &e, 125);

	/* exec pipe: EOF once the command exec'd (or died trying) */
	int ep[2];
	sigset_t set, old;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		sbx_err_set(&e, errno, "init", "pipe");
		fail(cx->sock, &e, 125);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	/* named before the command exists: once it runs it may read /proc/1/comm,
	 * and init only resumes after the exec */
	prctl(PR_SET_NAME, "sbx-init");
	/* nobody may ptrace or read the memory of the jail's init; the command's
	 * exec gives it its own dumpable flag back */
	prctl(PR_SET_DUMPABLE, 0);
	/* vfork: the command shares init's memory until it execs, so a big host
	 * process is not copied a second time; init only waits meanwhile */
	pid_t cmd = vfork();
	if (cmd < 0) {
		sbx_err_set(&e, errno, "init", "fork the command");
		fail(cx->sock, &e, 125);
	}
	if (cmd == 0) {
		close(ep[0]);
		command_main(p, cx);
	}
	close(ep[1]);
	for (int i = 0; i < 3; i++)
		sbx_closep(&cx->stdio[i]);
	sbx_closep(&cx->tty);
	/* the command has its stdio; init needs none of the host's */
	for (int i = 0; i < 3; i++)
		close(i);
	char b;
	while (read(ep[0], &b, 1) < 0 && errno == EINTR)
		;
	close(ep[0]);
	send_msg(cx->sock, SBX_MSG_READY, 0);
	init_loop(cx->sock, cmd, &set);
}
