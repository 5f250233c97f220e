/* Host side: exec, a new process in a running jail (an OCI container's
 * `exec`; see sbx_jail_exec in sbx.h and init's join mode in join.c).
 *
 * Nothing of the host's own image enters the jail: the process cloned
 * here is the sealed sbx-init, born in the jail's cgroup (clone3 with
 * CLONE_INTO_CGROUP, no fallback), and it is that program which joins the
 * namespaces and forks the command. */
#include "jail.h"
#include "util.h"
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* what the joiner and the command say, until both are done with the
 * socket (the command's end closes at its exec) */
static void read_msgs(int sock, struct sbx_exec *x, struct sbx_err *e,
		      bool *failed)
{
	for (;;) {
		struct sbx_msg m;
		char ctl[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &m, sizeof m };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl,
				     .msg_controllen = sizeof ctl };
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		int fd = -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(c), sizeof fd);
		if (n != (ssize_t)sizeof m) {
			sbx_closep(&fd);
			continue;
		}
		m.step[sizeof m.step - 1] = m.msg[sizeof m.msg - 1] = '\0';
		if (m.type == SBX_MSG_ERROR && !*failed) {
			*failed = true;
			e->errnum = m.errnum;
			snprintf(e->step, sizeof e->step, "%s", m.step);
			snprintf(e->msg, sizeof e->msg, "%s", m.msg);
			x->exit_hint = m.code;
		} else if (m.type == SBX_MSG_TTY && x->ttyfd < 0) {
			x->ttyfd = sbx_steal_fd(&fd);
		} else if (m.type == SBX_MSG_READY && x->pidfd < 0) {
			x->pidfd = sbx_steal_fd(&fd);
			x->pid = (pid_t)m.status;
		}
		sbx_closep(&fd);
	}
}

/* the plan the joiner gets: the process part, the namespaces to join */
static struct sbx_plan join_plan(const struct sbx_plan *p)
{
	struct sbx_plan q = *p;
	q.join = true;
	q.rootfs = q.hostname = q.detached = NULL;
	q.mounts = NULL;
	q.nmounts = 0;
	q.devices = NULL;
	q.ndevices = 0;
	q.masked = q.readonly = NULL;
	q.park = q.async_start = q.trace = q.pause_before_root = false;
	q.on_pause = NULL;
	q.raw_plan = NULL;
	/* the jail's own (its namespaces have them already); the process's
	 * oom_score_adj and personality stay */
	q.sysctl = NULL;
	q.domainname = NULL;
	q.ns_join = NULL; /* joined by the jail's init already: in ns_flags */
	q.nns_join = 0;
	for (int i = 0; i < 3; i++)
		q.stdio[i] = (struct sbx_stdio){ .kind = SBX_IO_INHERIT };
	return q;
}

/* the exec's own stdio where the plan names one (an OCI hook's: its
 * state JSON in, its output to a file), opened as a jail's are; else the
 * caller's: fds > 2, or -1 for inherit */
static int open_stdio(const struct sbx_plan *p, int fd[3], bool *any,
		      struct sbx_err *e)
{
	*any = false;
	for (int i = 0; i < 3; i++) {
		fd[i] = -1;
		if (p->stdio[i].kind == SBX_IO_INHERIT)
			continue;
		if ((fd[i] = sbx_stdio_open(&p->stdio[i], i, e)) < 0) {
			sbx_err_wrap(e, "exec");
			return -1;
		}
		if (fd[i] <= 2) { /* the child dup3's them onto 0..2 */
			int hi = fcntl(fd[i], F_DUPFD_CLOEXEC, 3);
			close(fd[i]);
			fd[i] = hi;
			if (hi < 0) {
				sbx_err_set(e, errno, "exec", "exec: stdio %d", i);
				return -1;
			}
		}
		*any = true;
	}
	return 0;
}

int sbx_jail_exec(struct sbx_ctx *c, const struct sbx_plan *p,
		  int init_pidfd, int cgroup_fd, struct sbx_exec *x,
		  struct sbx_err *e)
{
	struct sbx_plan q = join_plan(p);
	struct sbx_wbuf w = { 0 };
	const struct sbx_bpf *bpf = NULL;
	int sv[2] = { -1, -1 }, joinfd = -1;
	int fds[SBX_MAX_PASS_FDS + 1];
	size_t nfds = 0;
	bool failed = false;

	memset(x, 0, sizeof *x);
	x->pidfd = x->ttyfd = -1;
	x->exit_hint = 125;
	if (init_pidfd < 0 || cgroup_fd < 0) {
		sbx_err_set(e, EINVAL, "exec", "exec: no pidfd or cgroup of the "
			    "container");
		return -1;
	}
	/* the passed fds, then the pidfd: init takes that last */
	if (sbx_plan_fds(&q, fds, &nfds, e) < 0)
		return -1;
	fds[nfds++] = init_pidfd;
	if (sbx_seccomp_compile(c, &q.seccomp, &bpf, e) < 0 ||
	    sbx_plan_encode(&q, bpf, &w, e) < 0)
		return -1;
	if (c->image < 0 && (c->image = sbx_image_open(e)) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		sbx_err_set(e, errno, "exec", "socketpair");
		goto fail;
	}
	if (sv[1] < SBX_INIT_IMAGE + 1) {
		int hi = fcntl(sv[1], F_DUPFD_CLOEXEC, SBX_INIT_IMAGE + 1);
		close(sv[1]);
		sv[1] = hi;
		if (hi < 0) {
			sbx_err_set(e, errno, "exec", "socketpair");
			goto fail;
		}
	}
	/* SIGCHLD: the command is cloned with our parent's pointer and the
	 * joiner's exit signal, and a reaper waits for it with waitpid() */
	struct sbx_clone_req req = {
		.flags = CLONE_INTO_CGROUP, .cgroup_fd = cgroup_fd,
		.sock = sv[1], .image = c->image, .pidfd = &joinfd,
		.exit_signal = SIGCHLD, .nofile_soft = c->nofile_soft,
	};
	int io[3] = { -1, -1, -1 };
	if (open_stdio(p, io, &req.set_stdio, e) < 0) {
		for (int i = 0; i < 3; i++)
			sbx_closep(&io[i]);
		goto fail;
	}
	/* the caller's own where the plan has none */
	for (int i = 0; req.set_stdio && i < 3; i++) {
		if (io[i] < 0 && (io[i] = fcntl(i, F_DUPFD_CLOEXEC, 3)) < 0)
			io[i] = open("/dev/null", (i ? O_WRONLY : O_RDONLY) |
							  O_CLOEXEC);
		req.stdio[i] = io[i];
	}
	pid_t pid = sbx_clone_init(&req);
	for (int i = 0; i < 3; i++)
		sbx_closep(&io[i]);
	sbx_closep(&sv[1]);
	if (pid < 0) {
		if (errno == EINVAL || errno == E2BIG)
			sbx_err_set(e, errno, "exec", "exec needs clone3 with "
				    "CLONE_INTO_CGROUP (Linux 5.7): the new "
				    "process is born in the container's cgroup");
		else
			sbx_err_set(e, errno, "exec", "clone3 into the "
				    "container's cgroup");
		goto fail;
	}
	if (req.exec_errno) {
		sbx_err_set(e, req.exec_errno, "exec",
			    "exec sbx-init from its sealed memfd");
		failed = true;
	} else if (sbx_plan_send(sv[0], &w, fds, nfds) < 0) {
		sbx_err_set(e, errno, "exec", "send the plan");
		failed = true;
		kill(pid, SIGKILL);
	} else {
		read_msgs(sv[0], x, e, &failed);
	}
	siginfo_t si;
	while (waitid((idtype_t)P_PIDFD, (id_t)joinfd, &si, WEXITED | __WALL) < 0 &&
	       errno == EINTR)
		;
	sbx_closep(&joinfd);
	sbx_closep(&sv[0]);
	sbx_wbuf_free(&w);
	if (!failed && x->pid <= 0) {
		sbx_err_set(e, EPIPE, "exec", "exec: the joining process ended "
			    "before the command started");
		failed = true;
	}
	if (failed) {
		/* a command that failed told us why, and exited: reap it */
		if (x->pid > 0) {
			int st;
			while (waitpid(x->pid, &st, __WALL) < 0 && errno == EINTR)
				;
		}
		sbx_closep(&x->pidfd);
		sbx_closep(&x->ttyfd);
		x->pid = 0;
		return -1;
	}
	return 0;
fail:
	sbx_closep(&sv[0]);
	sbx_closep(&sv[1]);
	sbx_wbuf_free(&w);
	return -1;
}
