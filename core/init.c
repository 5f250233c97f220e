/* sbx-init: pid 1 of a jail, a program of its own.
 *
 * The host clone3()s straight into the jail's namespaces and cgroup and
 * execs this program from a sealed memfd: it starts fresh and
 * single-threaded, with no host memory, argv, environment, handlers or
 * file descriptors beyond fd 0-2 (the host's stdio, for "inherit") and
 * fd 3, a SOCK_SEQPACKET socket to the host.  (fd 4, the image itself, is
 * there only when the host will send GO first: after writing the id maps
 * of a user namespace, init execs itself once more to gain its
 * capabilities there.)
 *
 * Then: read the plan (bytes, checked field by field), set up what the
 * namespaces own (hostname, loopback, the mount table, pivot_root), open
 * the console, and — for a pool's jail — report PARKED and wait for the
 * job.  Fork the command, and while it sets itself up, drop everything
 * init does not need to reap and report: the command's ids, every
 * capability set (bounding too), no_new_privs, not dumpable, its own
 * seccomp filter, no stdio.  Report READY (with the command's pidfd),
 * pass on signals, reap orphans, report the command's wait status, exit
 * with it. */
#include "jail.h"
#include "util.h"
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FDS SBX_REC_MAX_FDS

/* --trace: the end of each setup step, sent to the host before READY */
static struct { bool on; int64_t last; char text[512]; size_t len; } trace;

void sbx_trace_mark(const char *step)
{
	if (!trace.on)
		return;
	int64_t now = sbx_now_ns();
	int n = snprintf(trace.text + trace.len, sizeof trace.text - trace.len,
			 "%s=%lld;", step, (long long)(now - trace.last) / 1000);
	if (n > 0 && (size_t)n < sizeof trace.text - trace.len)
		trace.len += (size_t)n;
	trace.last = now;
}

static void trace_send(int sock)
{
	if (!trace.on)
		return;
	struct sbx_msg m = { .type = SBX_MSG_TRACE };
	snprintf(m.msg, sizeof m.msg, "%s", trace.text);
	send(sock, &m, sizeof m, MSG_NOSIGNAL);
}

struct rec {
	unsigned char *buf;   /* type (u32) + payload */
	size_t len;
	int fds[MAX_FDS];
	int nfds;
};

static __attribute__((noreturn)) void fail(int sock, struct sbx_err *e)
{
	sbx_msg_send_err(sock, e, 125);
	_exit(125);
}

static __attribute__((noreturn)) void fail_msg(int sock, int err,
					       const char *step,
					       const char *msg)
{
	struct sbx_err e;
	sbx_err_set(&e, err, step, "%s", msg);
	fail(sock, &e);
}

/* the host went away (its end closed): nothing to build a jail for.
 * A plan it queued before it died is still readable (POLLIN comes with
 * the POLLHUP), so the hang-up alone decides: the host never half-closes. */
static void exit_if_orphaned(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)))
		_exit(125);
}

/* the parent-death signal, again after every credential change (which
 * clears it); a host that died just before is seen on the socket */
static void arm_pdeath(int sock)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	exit_if_orphaned(sock);
}

/* one record, with the fds that came along; 0 on EOF (the host is gone) */
static ssize_t recv_rec(int sock, struct rec *r, unsigned char *buf,
			size_t cap)
{
	char ctl[CMSG_SPACE(MAX_FDS * sizeof(int))];
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = sizeof ctl };
	ssize_t n;

	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (r->nfds < MAX_FDS)
				r->fds[r->nfds++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

/* a plan or a job: chunks of type more until one of type last, each
 * received in place (its size peeked first) after the previous ones; the
 * 4-byte type of each lands where the next chunk goes */
static void read_msg(int sock, struct rec *r, uint32_t more, uint32_t last)
{
	size_t cap = 0;

	memset(r, 0, sizeof *r);
	for (;;) {
		uint32_t type;
		ssize_t n;
		while ((n = recv(sock, NULL, 0, MSG_PEEK | MSG_TRUNC)) < 0 &&
		       errno == EINTR)
			;
		if (n == 0)
			_exit(125); /* the host went away */
		if (n < 0 || n > 4 + SBX_REC_CHUNK)
			fail_msg(sock, n < 0 ? errno : EMSGSIZE, "plan",
				 "plan: read the plan");
		if (r->len + (size_t)n > 16 + (size_t)SBX_PLAN_MAX)
			fail_msg(sock, E2BIG, "plan", "plan: over 64 MiB");
		if (r->len + (size_t)n > cap) {
			size_t nc = cap ? cap : 8192;
			while (nc < r->len + (size_t)n)
				nc *= 2;
			unsigned char *nb = realloc(r->buf, nc);
			if (!nb)
				fail_msg(sock, ENOMEM, "plan", "plan: read the plan");
			r->buf = nb;
			cap = nc;
		}
		n = recv_rec(sock, r, r->buf + r->len, cap - r->len);
		if (n == 0)
			_exit(125);
		if (n < 0)
			fail_msg(sock, errno, "plan", "plan: read the plan");
		if (n < 4)
			fail_msg(sock, EPROTO, "plan", "plan: short record");
		memcpy(&type, r->buf + r->len, 4);
		if (type != more && type != last)
			fail_msg(sock, EPROTO, "plan", "plan: unexpected record");
		memmove(r->buf + r->len, r->buf + r->len + 4, (size_t)n - 4);
		r->len += (size_t)n - 4;
		if (type == last)
			return;
	}
}

/* stdio i gets the next fd that came with the plan or job */
static void take_stdio(int sock, const struct sbx_initplan *ip, struct rec *r,
		       struct sbx_jailctx *cx)
{
	int k = 0;
	for (int i = 0; i < 3; i++) {
		cx->stdio[i] = -1;
		if (ip->stdio_fds & (1u << i)) {
			if (k >= r->nfds)
				fail_msg(sock, EPROTO, "plan",
					 "plan: stdio: an fd is missing");
			cx->stdio[i] = r->fds[k++];
		}
	}
	if (k != r->nfds)
		fail_msg(sock, EPROTO, "plan", "plan: stdio: unexpected fds");
}

/* the fds passed to the command: the last npass_fds that are left */
static void take_pass(int sock, const struct sbx_initplan *ip, struct rec *r,
		      struct sbx_jailctx *cx)
{
	size_t n = ip->p.npass_fds;
	if ((size_t)r->nfds < n)
		fail_msg(sock, EPROTO, "plan", "plan: pass_fds: an fd is missing");
	r->nfds -= (int)n;
	memcpy(cx->pass, r->fds + r->nfds, n * sizeof(int));
	cx->npass = n;
}

/* The maps are written: take the namespace's root ids where it has a root
 * (the capabilities clone.c carried over the first exec allow it), then
 * drop the inheritable set, and with it the ambient one, to what a plain
 * exec leaves; the re-exec gives root its full set in the namespace. */
static void take_userns_root(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (setresgid(0, 0, 0) == 0 && setresuid(0, 0, 0) == 0) {
		/* the namespace's root now */
	}
	if (syscall(SYS_capget, &h, d) == 0) {
		for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
			d[i].inheritable = 0;
		if (syscall(SYS_capset, &h, d) < 0) {
			/* the re-exec as a non-root uid clears them anyway */
		}
	}
}

/* GO: the host has placed us in the cgroup and written the id maps.  In a
 * user namespace the first exec ran unmapped, which cost every capability
 * but those carried as ambient ones: exec again, now as the namespace's
 * root. */
static void await_go(int sock)
{
	unsigned char buf[64];
	struct rec r = { .nfds = 0 };
	uint32_t type, flags = 0;
	ssize_t n = recv_rec(sock, &r, buf, sizeof buf);

	if (n == 0)
		_exit(125);
	if (n < 8 || r.nfds)
		fail_msg(sock, EPROTO, "init", "init: expected GO");
	memcpy(&type, buf, 4);
	memcpy(&flags, buf + 4, 4);
	if (type != SBX_REC_GO)
		fail_msg(sock, EPROTO, "init", "init: expected GO");
	if (flags & SBX_GO_REEXEC) {
		static char *const argv[] = { SBX_INIT_NAME, NULL };
		take_userns_root();
		static char *const envp[] = { NULL };
		fcntl(SBX_INIT_IMAGE, F_SETFD, FD_CLOEXEC);
		syscall(SYS_execveat, SBX_INIT_IMAGE, "", argv, envp,
			AT_EMPTY_PATH);
		fail_msg(sock, errno, "init", "init: exec sbx-init in the "
			 "user namespace");
	}
	close(SBX_INIT_IMAGE);
}

static void setup(const struct sbx_plan *p, struct sbx_jailctx *cx)
{
	struct sbx_err e = { 0 };

	if ((p->ns_flags & CLONE_NEWUTS) && p->hostname &&
	    sethostname(p->hostname, strlen(p->hostname)) < 0) {
		sbx_err_set(&e, errno, "hostname", "sethostname %s", p->hostname);
		fail(cx->sock, &e);
	}
	sbx_trace_mark("hostname");
	if (sbx_init_apply_ext(p, &e) < 0)
		fail(cx->sock, &e);
	if ((p->ns_flags & CLONE_NEWNET) && p->net_loopback &&
	    sbx_net_loopback_up(&e) < 0)
		fail(cx->sock, &e);
	sbx_trace_mark("loopback");
	if (p->ns_flags & CLONE_NEWNS) {
		if (sbx_mount_prepare(p, cx, &e) < 0 ||
		    sbx_mount_build(p, cx, &e) < 0)
			fail(cx->sock, &e);
		/* the clones are attached now: no handle on the host's tree
		 * stays open in the jail's init */
		for (size_t i = 0; i < p->nmounts && i < SBX_MAX_MOUNTS; i++)
			sbx_closep(&cx->srcfd[i]);
		sbx_closep(&cx->rootfd);
	}
	if (p->tty && sbx_console_open(cx, &e) < 0)
		fail(cx->sock, &e);
	if (p->tty)
		sbx_trace_mark("console");
}

/* init keeps what it needs to reap and report, and nothing else */
static int drop_self(int sock, const struct sbx_initplan *ip,
		     struct sbx_err *e)
{
	/* the command's ids (so that passing a signal on needs no
	 * capability), no groups, no capabilities, no_new_privs */
	struct sbx_plan d = { .uid = ip->p.uid, .gid = ip->p.gid,
			      .no_new_privs = true };
	uint64_t bset = ip->p.caps_keep; /* the rest went before the fork */
	if (sbx_priv_drop(&d, bset, e) < 0) {
		/* ids the namespace cannot map: the command fails on them
		 * and says so; init drops the rest under its own */
		if (strcmp(e->step, "setuid") && strcmp(e->step, "setgid"))
			return -1;
		d.uid = getuid();
		d.gid = getgid();
		if (sbx_priv_drop(&d, bset, e) < 0)
			return -1;
	}
	/* no ptrace, no /proc/1/{mem,fd,root,exe} for the jail */
	prctl(PR_SET_DUMPABLE, 0);
	if (!ip->p.detached) /* a detached jail outlives its host */
		arm_pdeath(sock);
	return 0;
}

static __attribute__((noreturn)) void reap_loop(int sock, pid_t cmd,
						const sigset_t *set)
{
	siginfo_t si;
	for (;;) {
		if (sigwaitinfo(set, &si) < 0) {
			if (errno == EINTR)
				continue;
			/* no way to wait left: end the jail rather than spin */
			_exit(125);
		}
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
				sbx_msg_send(sock, SBX_MSG_EXIT, st, -1);
				/* leaving tears the pid namespace down (one
				 * joined by path: the host kills the cgroup) */
				_exit(WIFEXITED(st) ? WEXITSTATUS(st)
						    : 128 + WTERMSIG(st));
			}
		}
	}
}

/* exec kept what the host ignored (SIGPIPE, often; a libc's internal
 * signals too): back to default.  /proc/self/status (the host's /proc,
 * still) says which, in one read.  The raw call, since a libc refuses its
 * own signals; an all-zero kernel sigaction is SIG_DFL on every layout. */
static void reset_ignored(void)
{
	char buf[2048];
	unsigned long long ign = ~0ULL;
	if (sbx_read_at(AT_FDCWD, "/proc/self/status", buf, sizeof buf) > 0) {
		const char *p = strstr(buf, "\nSigIgn:");
		if (p)
			ign = strtoull(p + 9, NULL, 16);
	}
	for (int s = 1; s <= 64; s++) {
		unsigned long dfl[8] = { 0 };
		if ((ign & (1ULL << (s - 1))) && s != SIGKILL && s != SIGSTOP)
			syscall(SYS_rt_sigaction, s, dfl, NULL, 8);
	}
}

/* a detached jail's fifo, opened on the host's tree (before pivot_root):
 * read-write, so the open never blocks and no hang-up comes while init
 * waits; `start` opens it for writing (which finds init there, or ENXIO
 * once it is gone) and writes a byte */
static int open_fifo(int sock, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		struct sbx_err e;
		sbx_err_set(&e, fd < 0 ? errno : ENOTSUP, "fifo", "%s: %s", path,
			    fd < 0 ? "open the start fifo" : "not a fifo");
		fail(sock, &e);
	}
	return fd;
}

/* CREATED told, wait for start's byte; a signal that would end a process
 * by default ends the waiting container (there is no command yet to pass
 * it on to), with 128+N like any other end */
static void await_start(int sock, int fifo)
{
	sigset_t all;
	sigfillset(&all);
	int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0)
		fail_msg(sock, errno, "fifo", "init: signalfd");
	sbx_msg_send(sock, SBX_MSG_CREATED, 0, -1);
	for (;;) {
		struct pollfd p[2] = { { .fd = fifo, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(125);
		}
		if (p[0].revents & POLLIN) {
			char b;
			if (read(fifo, &b, 1) == 1)
				break;
			continue;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
				continue;
			int s = (int)si.ssi_signo;
			if (s == SIGCHLD || s == SIGCONT || s == SIGURG ||
			    s == SIGWINCH || s == SIGTSTP || s == SIGTTIN ||
			    s == SIGTTOU || s == SIGSTOP)
				continue;
			_exit(128 + s);
		}
	}
	close(sfd);
	close(fifo);
}

static bool started_by_host(int argc, char **argv)
{
	int type;
	socklen_t len = sizeof type;
	return argc >= 1 && argv[0] && !strcmp(argv[0], SBX_INIT_NAME) &&
	       getsockopt(SBX_INIT_SOCK, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	       type == SOCK_SEQPACKET;
}

int main(int argc, char **argv)
{
	const int sock = SBX_INIT_SOCK;
	struct sbx_jailctx cx;
	struct sbx_initplan ip;
	struct sbx_err e = { 0 };
	struct rec plan, job;
	sigset_t all;
	int release, done;

	if (!started_by_host(argc, argv)) {
		static const char msg[] = "sbx-init: the pid 1 of a sandboxlua "
					  "jail; only sandboxlua starts it\n";
		if (write(2, msg, sizeof msg - 1) < 0)
			return 125;
		return 125;
	}
	/* every signal waits for sigwaitinfo (the host blocked them all
	 * around the clone already); none has a handler, and none stays
	 * ignored as the host had it (exec keeps SIG_IGN) */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	reset_ignored();
	/* modes of what init creates are the plan's own; the command gets
	 * the recipe's umask, or the host's */
	mode_t host_umask = umask(0);
	if (fcntl(SBX_INIT_IMAGE, F_GETFD) >= 0)
		await_go(sock);
	arm_pdeath(sock);
	if (sbx_close_from(SBX_INIT_SOCK + 1) < 0)
		fail_msg(sock, errno, "init", "init: close inherited fds");

	trace.last = sbx_now_ns();
	read_msg(sock, &plan, SBX_REC_PLAN, SBX_REC_PLAN_END);
	int64_t got = sbx_now_ns();
	if (sbx_plan_decode(plan.buf, plan.len, &ip, &e) < 0)
		fail(sock, &e);
	sbx_cap_last_set(ip.p.cap_last);
	int fifo = -1;
	if (ip.p.detached) {
		/* from here on init does not depend on the host staying */
		prctl(PR_SET_PDEATHSIG, 0);
		if (ip.p.park || !ip.have_job)
			fail_msg(sock, EINVAL, "plan", "plan: a detached jail "
				 "has no pool");
		fifo = open_fifo(sock, ip.p.detached);
	}
	if (ip.p.trace) {
		trace.on = true;
		sbx_trace_mark("read plan");
		trace.last = got;
		sbx_trace_mark("decode");
	}
	memset(&cx, 0, sizeof cx);
	cx.sock = sock;
	cx.tty = -1;
	cx.rootfd = -1;
	cx.bpf = &ip.cmd_bpf;
	cx.bpf_flags = ip.cmd_bpf_flags;
	cx.umask = host_umask;
	int nsfd = -1;
	if (ip.p.join) { /* an exec: the jail's init's pidfd comes last */
		if (plan.nfds < 1 || !ip.have_job || ip.p.park || ip.p.detached)
			fail_msg(sock, EPROTO, "plan", "plan: an exec needs a "
				 "job and the jail's pidfd");
		nsfd = plan.fds[--plan.nfds];
	}
	take_pass(sock, &ip, &plan, &cx); /* the ones before the pidfd */
	if (ip.p.join) {
		take_stdio(sock, &ip, &plan, &cx);
		sbx_join_main(&ip, &cx, nsfd);
	}
	if (ip.have_job)
		take_stdio(sock, &ip, &plan, &cx);
	else if (plan.nfds)
		fail_msg(sock, EPROTO, "plan", "plan: unexpected fds");
	setup(&ip.p, &cx);
	if (fifo >= 0)
		await_start(sock, fifo);

	if (!ip.have_job) { /* a pool's jail: wait for its job */
		sbx_msg_send(sock, SBX_MSG_PARKED, 0, -1);
		read_msg(sock, &job, SBX_REC_JOB, SBX_REC_JOB_END);
		trace.last = sbx_now_ns(); /* the job's own steps from here */
		if (sbx_job_decode(job.buf, job.len, &ip, &e) < 0)
			fail(sock, &e);
		take_stdio(sock, &ip, &job, &cx);
	}

	/* named before the command exists: it may read /proc/1/comm at once */
	prctl(PR_SET_NAME, SBX_INIT_NAME);
	/* in a pid namespace joined by path init is not its pid 1: orphans
	 * of the command's come to it all the same */
	if (getpid() != 1)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	prctl(PR_SET_DUMPABLE, 0);
	/* the bounding set down to what the command keeps, once for both */
	if (sbx_priv_bound(~ip.p.caps_keep, &e) < 0)
		fail(sock, &e);
	pid_t cmd = sbx_command_fork(&ip, &cx, &release, &done, &e);
	if (cmd < 0)
		fail(sock, &e);
	sbx_msg_send_pid(sock, cmd);
	sbx_trace_mark("fork");
	int pidfd = (int)syscall(SYS_pidfd_open, cmd, 0);
	for (int i = 0; i < 3; i++)
		sbx_closep(&cx.stdio[i]);
	for (size_t i = 0; i < cx.npass; i++)
		sbx_closep(&cx.pass[i]);
	sbx_closep(&cx.tty);
	if (drop_self(sock, &ip, &e) < 0) {
		kill(cmd, SIGKILL);
		sbx_err_wrap(&e, "init");
		fail(sock, &e);
	}
	/* init's own filter before the command can run: from its first
	 * instruction the command may read /proc/1/status, and must see init
	 * as it stays (the list covers what follows: the release and done
	 * pipes, the reports, the reap loop) */
	if (sbx_seccomp_load(&sbx_init_filter, &e) < 0) {
		kill(cmd, SIGKILL);
		fail(sock, &e);
	}
	sbx_trace_mark("drop init");
	/* the command may exec now: one byte, since a bare EOF means init
	 * died (and took the parent-death signal with it, if before it was
	 * armed) */
	if (write(release, "g", 1) != 1) {
		kill(cmd, SIGKILL);
		fail_msg(sock, errno, "init", "init: release the command");
	}
	close(release);
	char b;
	while (read(done, &b, 1) < 0 && errno == EINTR)
		;
	close(done);
	sbx_trace_mark("command setup+exec");
	trace_send(sock);
	/* the command has its stdio; init needs none of the host's */
	for (int i = 0; i < 3; i++)
		close(i);
	sbx_msg_send(sock, SBX_MSG_READY, 0, pidfd);
	sbx_closep(&pidfd);
	reap_loop(sock, cmd, &all);
}
