/* Jail side: the command.  init forks it; the child sets itself up (its
 * own session, stdio, umask, rlimits, ids and capabilities, no_new_privs,
 * cwd), waits until init has dropped its own privileges, loads its seccomp
 * filter and execs.  Any failure goes to the host as one {step, errno,
 * message} record.  Also here: the console and the records init sends. */
#include "jail.h"
#include "util.h"
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* one record with one control message (SCM_RIGHTS, SCM_CREDENTIALS) */
static void send_with(int sock, const struct sbx_msg *m, int type,
		      const void *data, size_t len)
{
	union {
		char b[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)m, sizeof *m };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b,
			     .msg_controllen = (socklen_t)CMSG_SPACE(len) };

	memset(&ctl, 0, sizeof ctl);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = type;
	c->cmsg_len = (socklen_t)CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	sendmsg(sock, &mh, MSG_NOSIGNAL);
}

void sbx_msg_send(int sock, int type, int status, int fd)
{
	struct sbx_msg m = { .type = type, .status = status };

	if (fd >= 0)
		send_with(sock, &m, SCM_RIGHTS, &fd, sizeof fd);
	else
		send(sock, &m, sizeof m, MSG_NOSIGNAL);
}

/* The kernel gives the receiver an SCM_CREDENTIALS pid in its own pid
 * namespace, and keeps the number after the command is reaped (its pidfd's
 * fdinfo then says -1): the host needs it to find a seccomp kill's audit
 * record of a command that died at once.  Naming another process takes
 * CAP_SYS_ADMIN over init's pid namespace, so init sends it before it
 * drops; where it cannot (a pid namespace joined from outside), the host
 * reads the pidfd instead. */
void sbx_msg_send_pid(int sock, pid_t pid)
{
	struct sbx_msg m = { .type = SBX_MSG_PID };
	struct ucred uc = { .pid = pid, .uid = getuid(), .gid = getgid() };

	send_with(sock, &m, SCM_CREDENTIALS, &uc, sizeof uc);
}

/* every mount made, the old root still there: the runtime's hooks run
 * now (they see the container's namespaces as they are before
 * pivot_root); RESUME goes on, anything else ends the jail */
int sbx_init_pause(int sock, struct sbx_err *e)
{
	uint32_t rec[16];
	ssize_t n;

	sbx_msg_send(sock, SBX_MSG_PAUSED, 0, -1);
	while ((n = recv(sock, rec, sizeof rec, 0)) < 0 && errno == EINTR)
		;
	if (n >= 4 && rec[0] == SBX_REC_RESUME)
		return 0;
	sbx_err_set(e, n < 0 ? errno : n == 0 ? EPIPE : EPROTO, "hooks",
		    "the runtime did not let the container go on before "
		    "pivot_root");
	return -1;
}

void sbx_msg_send_err(int sock, const struct sbx_err *e, int code)
{
	struct sbx_msg m = { .type = SBX_MSG_ERROR, .errnum = e->errnum,
			     .code = code };
	snprintf(m.step, sizeof m.step, "%s", e->step);
	snprintf(m.msg, sizeof m.msg, "%s", e->msg);
	send(sock, &m, sizeof m, MSG_NOSIGNAL);
}

static __attribute__((noreturn)) void fail(int sock, struct sbx_err *e,
					   int code)
{
	sbx_msg_send_err(sock, e, code);
	_exit(code);
}

static int exec_code(int err)
{
	if (err == ENOENT || err == ENOTDIR)
		return 127;
	if (err == EACCES || err == ENOEXEC || err == EPERM || err == EISDIR)
		return 126;
	return 125;
}

static const char *env_get(const char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* execvp over the recipe's PATH (not init's environment), as execvp does:
 * a directory where the file is not executable is remembered (EACCES),
 * a missing one skipped */
static void exec_path(const char *file, char *const argv[],
		      char *const envp[])
{
	char buf[4096];
	bool eacces = false;
	size_t fl = strlen(file);

	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return;
	}
	const char *path = env_get((const char *const *)envp, "PATH");
	if (!path)
		path = "/bin:/usr/bin";
	for (const char *d = path;; d++) {
		const char *end = strchr(d, ':');
		size_t dl = end ? (size_t)(end - d) : strlen(d);
		if (dl + fl + 2 <= sizeof buf) {
			memcpy(buf, dl ? d : ".", dl ? dl : 1);
			size_t o = dl ? dl : 1;
			buf[o] = '/';
			memcpy(buf + o + 1, file, fl + 1);
			execve(buf, argv, envp);
			if (errno == EACCES)
				eacces = true;
			else if (errno != ENOENT && errno != ENOTDIR &&
				 errno != ELOOP && errno != ENAMETOOLONG)
				return;
		}
		if (!end)
			break;
		d = end;
	}
	errno = eacces ? EACCES : ENOENT;
}

/* the child: per-process setup, the wait for init, then execve */
/* where close_range is refused (a host seccomp policy, a kernel before
 * 5.9): each fd init could hold, one by one; a failure other than "not
 * open" would leave an fd to the command, so it fails the jail */
static int cloexec_each(int lo, struct sbx_err *e)
{
	struct rlimit rl;
	int top = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur > (rlim_t)top)
		top = rl.rlim_cur > (rlim_t)INT_MAX ? INT_MAX : (int)rl.rlim_cur;
	for (int fd = lo; fd < top; fd++)
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF) {
			sbx_err_set(e, errno, "fds", "mark fd %d close-on-exec", fd);
			return -1;
		}
	return 0;
}

/* *fd moved to lo or above (close-on-exec) if it is below: the passed
 * fds go to 3 .. lo-1, over whatever was there */
static int lift(int *fd, int lo, int from, struct sbx_err *e)
{
	if (*fd < from || *fd >= lo)
		return 0;
	int hi = fcntl(*fd, F_DUPFD_CLOEXEC, lo);
	if (hi < 0) {
		sbx_err_set(e, errno, "pass_fds", "move fd %d above the passed "
			    "fds", *fd);
		return -1;
	}
	*fd = hi;
	return 0;
}

/* every fd the setup still needs (the error socket, the release and done
 * pipes, the console, stdio, the passed fds themselves) out of the way of
 * 3 .. 2+npass; the passed fds are put there after stdio */
static int lift_all(struct sbx_jailctx *cx, int *release, int *done_w,
		    struct sbx_err *e)
{
	int lo = 3 + (int)cx->npass;
	if (!cx->npass)
		return 0;
	if (lift(&cx->sock, lo, 3, e) < 0 || lift(release, lo, 3, e) < 0 ||
	    lift(done_w, lo, 3, e) < 0 || lift(&cx->tty, lo, 3, e) < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (lift(&cx->stdio[i], lo, 3, e) < 0)
			return -1;
	for (size_t i = 0; i < cx->npass; i++)
		if (lift(&cx->pass[i], lo, 0, e) < 0)
			return -1;
	return 0;
}

static __attribute__((noreturn)) void command_main(
	const struct sbx_initplan *ip, struct sbx_jailctx *cx, int release,
	int done_w)
{
	const struct sbx_plan *p = &ip->p;
	struct sbx_err e = { 0 };
	sigset_t none;
	char b;

	/* a clean slate: init has no handler and nothing ignored (fork keeps
	 * that), so only the mask is left to clear */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* own session: no controlling terminal, so no TIOCSTI into the host's */
	if (setsid() < 0) {
		sbx_err_set(&e, errno, "setsid", "setsid");
		fail(cx->sock, &e, 125);
	}
	if (lift_all(cx, &release, &done_w, &e) < 0)
		fail(cx->sock, &e, 125);
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
	/* the passed fds at 3, 4, ... (dup2 clears close-on-exec) */
	for (size_t i = 0; i < cx->npass; i++)
		if (dup2(cx->pass[i], 3 + (int)i) < 0) {
			sbx_err_set(&e, errno, "pass_fds", "pass_fds[%zu] to fd %d",
				    i + 1, 3 + (int)i);
			fail(cx->sock, &e, 125);
		}
	/* fds above those: closed at exec (the error socket must live till
	 * then) */
	unsigned lo = 3U + (unsigned)cx->npass;
	if (syscall(SYS_close_range, lo, ~0U, CLOSE_RANGE_CLOEXEC) < 0 &&
	    cloexec_each((int)lo, &e) < 0)
		fail(cx->sock, &e, 125);
	(void)done_w; /* closes at exec, telling init */
	umask(p->umask >= 0 ? (mode_t)p->umask : cx->umask);
	for (size_t i = 0; i < p->nrlimits; i++) {
		struct rlimit rl = { p->rlimits[i].soft, p->rlimits[i].hard };
		if (setrlimit(p->rlimits[i].resource, &rl) < 0) {
			sbx_err_set(&e, errno, "rlimits", "setrlimit %d",
				    p->rlimits[i].resource);
			fail(cx->sock, &e, 125);
		}
	}
	/* init reduced the bounding set to caps_keep before the fork */
	if (sbx_priv_drop(p, p->caps_keep, &e) < 0)
		fail(cx->sock, &e, 125);
	/* after the last credential change (which clears it); an exec'd
	 * command outlives the exec that started it (--detach) */
	if (!cx->sibling)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (p->cwd && chdir(p->cwd) < 0) {
		sbx_err_set(&e, errno, "cwd", "chdir %s", p->cwd);
		fail(cx->sock, &e, 125);
	}
	/* init drops its privileges meanwhile: one byte once it has; EOF
	 * alone means init is gone (perhaps before the parent-death signal
	 * above was armed): nobody would reap or report this command */
	ssize_t got;
	while ((got = read(release, &b, 1)) < 0 && errno == EINTR)
		;
	if (got != 1)
		_exit(125);
	if (sbx_seccomp_load_flags(cx->bpf, cx->bpf_flags, &e) < 0)
		fail(cx->sock, &e, 125);
	exec_path(p->argv[0], (char *const *)p->argv, (char *const *)p->envp);
	int err = errno;
	sbx_err_set(&e, err, "exec", "exec %s", p->argv[0]);
	if (err == ENOENT && !strchr(p->argv[0], '/')) {
		const char *path = env_get(p->envp, "PATH");
		sbx_err_set(&e, err, "exec", "exec %s: command not found in "
			    "PATH=%s", p->argv[0], path ? path : "");
	}
	fail(cx->sock, &e, exec_code(err));
}

/* a fork whose child is our parent's (the raw call: no libc wrapper
 * takes CLONE_PARENT; the child uses nothing of libc's per-thread state
 * before its exec) */
static pid_t sibling_fork(void)
{
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_PARENT;
	return (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
}

pid_t sbx_command_fork(const struct sbx_initplan *ip, struct sbx_jailctx *cx,
		       int *release, int *done, struct sbx_err *e)
{
	int rp[2], dp[2];
	if (pipe2(rp, O_CLOEXEC) < 0) {
		sbx_err_set(e, errno, "init", "pipe");
		return -1;
	}
	if (pipe2(dp, O_CLOEXEC) < 0) {
		sbx_err_set(e, errno, "init", "pipe");
		close(rp[0]);
		close(rp[1]);
		return -1;
	}
	/* fork, not vfork: init goes on (dropping its privileges) while the
	 * command sets itself up; init is small, the copy is cheap.  An
	 * exec's command is the host's child (CLONE_PARENT: the exit signal
	 * is ours, SIGCHLD), so that a subreaper above the host reaps it */
	pid_t pid = cx->sibling ? sibling_fork() : fork();
	if (pid < 0) {
		sbx_err_set(e, errno, "init", "fork the command");
		close(rp[0]);
		close(rp[1]);
		close(dp[0]);
		close(dp[1]);
		return -1;
	}
	if (pid == 0) {
		close(rp[1]);
		close(dp[0]);
		command_main(ip, cx, rp[0], dp[1]); /* dp[1] closes at exec */
	}
	close(rp[0]);
	close(dp[1]);
	*release = rp[1];
	*done = dp[0];
	return pid;
}

/* a pty in the jail's own devpts; the master goes to the host */
int sbx_console_open(struct sbx_jailctx *cx, struct sbx_err *e)
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
	sbx_msg_send(cx->sock, SBX_MSG_TTY, 0, m);
	close(m);
	return 0;
}
