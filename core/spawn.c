/* Host side: create the cgroup leaf, write the limits, encode the plan,
 * clone3 the jail's init straight into the leaf (clone.c), hand it the
 * plan, and collect what the kernel says at the end.  Any failure undoes
 * everything done so far: no cgroup, process or fd is left behind. */
#include "jail.h"
#include "util.h"
#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

const char *sbx_status_name(enum sbx_status s)
{
	static const char *const n[] = { "running", "exited", "signaled",
					 "timeout", "oom", "setup_error" };
	return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

/* controllers named by the plan's cgroup writes ("memory.max" -> memory;
 * cgroup.* files need none) */
static uint32_t controllers_of(const struct sbx_plan *p, bool optional)
{
	uint32_t set = 0;
	for (size_t i = 0; i < p->ncgwrites; i++) {
		int c = sbx_ctl_of_file(p->cgwrites[i].file);
		if (c >= 0 && p->cgwrites[i].optional == optional)
			set |= SBX_CTL_BIT(c);
	}
	return set;
}

/* statistics: memory, io, pids and cpu where the parent has them, best
 * effort (a limit's controller is not optional); enabled before the jail
 * exists, so what it uses from its first page is charged and counted */
#define STATS_CTLS (SBX_CTL_BIT(SBX_CTL_MEMORY) | SBX_CTL_BIT(SBX_CTL_IO) | \
		    SBX_CTL_BIT(SBX_CTL_PIDS) | SBX_CTL_BIT(SBX_CTL_CPU))

/* join (or make) exactly p->cgroup_path: a cgroup of the jail's alone, so
 * one with processes already, or with controllers enabled for children,
 * is refused */
static int join_cgroup(struct sbx_ctx *c, const struct sbx_plan *p,
		       struct sbx_jail *j, uint32_t need, uint32_t opt,
		       uint32_t *missing, struct sbx_err *e)
{
	char path[4096], parent[4096], sub[1024];
	if (sbx_cgroup_resolve(c, p->cgroup_path, path, sizeof path, e) < 0)
		return -1;
	snprintf(parent, sizeof parent, "%s", path);
	char *sl = strrchr(parent, '/');
	if (!sl || sl == parent) {
		sbx_err_set(e, EINVAL, "cgroup", "cgroup path %s: the root "
			    "cgroup cannot be a jail's", path);
		return -1;
	}
	*sl = '\0';
	if ((p->cgroup_create
		     ? sbx_cgroup_prepare_chain(c, parent, need, opt, STATS_CTLS,
						missing, e)
		     : sbx_cgroup_prepare_parent(c, parent, need, opt,
						 STATS_CTLS, missing, e)) < 0)
		return -1;
	bool made = mkdir(path, 0755) == 0;
	if (!made && errno != EEXIST) {
		sbx_err_set(e, errno, "cgroup", "create cgroup %s", path);
		return -1;
	}
	if (sbx_cgroup_open(path, &j->cg, e) < 0) {
		if (made)
			rmdir(path);
		return -1;
	}
	j->cg.owned = made;
	if (made)
		return 0;
	if (sbx_cgroup_populated(&j->cg)) {
		sbx_err_set(e, EBUSY, "cgroup", "cgroup %s already has "
			    "processes (in it or in a child cgroup): a jail "
			    "joins only an empty cgroup, whose kill and "
			    "statistics are the jail's alone", path);
		sbx_cgroup_close(&j->cg);
		return -1;
	}
	if (sbx_cgroup_get(&j->cg, "cgroup.subtree_control", sub, sizeof sub,
			   e) < 0 || sub[0]) {
		if (sub[0])
			sbx_err_set(e, EBUSY, "cgroup", "cgroup %s enables "
				    "controllers for children (\"%s\" in its "
				    "cgroup.subtree_control): no process may "
				    "join it (no-internal-processes rule); give "
				    "it a child of its own as the path", path,
				    sub);
		sbx_cgroup_close(&j->cg);
		return -1;
	}
	return 0;
}

/* the host uid (or gid) that a user namespace map gives the jail's 0;
 * -1 without one */
static int64_t host_id_of_root(const char *map)
{
	for (const char *l = map; l && *l;) {
		long long in, out, n;
		if (sscanf(l, "%lld %lld %lld", &in, &out, &n) == 3 && in <= 0 &&
		    in + n > 0)
			return out - in;
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	return -1;
}

/* Delegation: the leaf becomes the jail's to manage.  The kernel keeps
 * the leaf's own limits out of the jail's reach with nsdelegate (the
 * namespace root's files are not writable from inside) or, in a user
 * namespace, by ownership: only the delegation files are the jail's.  The
 * processes start in <leaf>/init (spawn moves init there before anything
 * runs), so the leaf itself can enable controllers for its children. */
static int setup_delegation(struct sbx_ctx *c, const struct sbx_plan *p,
			    struct sbx_jail *j, struct sbx_err *e)
{
	static const char *const files[] = { ".", "cgroup.procs",
					     "cgroup.threads",
					     "cgroup.subtree_control" };
	bool userns = p->ns_flags & CLONE_NEWUSER;
	int64_t uid = userns ? host_id_of_root(p->idmap.uid_map) : -1;
	int64_t gid = userns ? host_id_of_root(p->idmap.gid_map) : -1;
	char v[32];

	if (!(p->ns_flags & CLONE_NEWCGROUP)) {
		sbx_err_set(e, EINVAL, "cgroup", "delegation needs the jail's "
			    "own cgroup namespace (namespaces: \"cgroup\")");
		return -1;
	}
	if (!sbx_cgroup_nsdelegate(c) && geteuid() == 0 && uid <= 0) {
		sbx_err_set(e, EPERM, "cgroup", "delegation needs the cgroup2 "
			    "mount's nsdelegate option, or a user namespace "
			    "whose root is not the host's: without either the "
			    "jail could raise its own limits (mount -o "
			    "remount,nsdelegate %s)", c->cgmount);
		return -1;
	}
	snprintf(v, sizeof v, "%lld",
		 (long long)(p->delegate_max > 0 ? p->delegate_max : 64) + 1);
	if (sbx_cgroup_set(&j->cg, "cgroup.max.descendants", v, e) < 0)
		return -1;
	if (mkdirat(j->cg.dirfd, "init", 0755) < 0) {
		sbx_err_set(e, errno, "cgroup", "create %s/init", j->cg.path);
		return -1;
	}
	for (int d = 0; d < 2 && uid > 0; d++)
		for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
			char f[64];
			snprintf(f, sizeof f, "%s%s", d ? "init/" : "", files[i]);
			if (fchownat(j->cg.dirfd, f, (uid_t)uid,
				     (gid_t)(gid >= 0 ? gid : 0), 0) < 0) {
				sbx_err_set(e, errno, "cgroup", "chown %s/%s to "
					    "the jail's root", j->cg.path, f);
				return -1;
			}
		}
	return 0;
}

/* after the clone, before init runs: init into <leaf>/init, then the
 * leaf's controllers enabled for the jail's own children */
static int delegate_to(const struct sbx_plan *p, struct sbx_jail *j,
		       pid_t pid, struct sbx_err *e)
{
	char s[32], avail[1024], w[64];
	snprintf(s, sizeof s, "%d", (int)pid);
	if (sbx_write_at(j->cg.dirfd, "init/cgroup.procs", s) < 0) {
		sbx_err_set(e, errno, "cgroup", "move the jail's init into "
			    "%s/init", j->cg.path);
		return -1;
	}
	if (sbx_cgroup_get(&j->cg, "cgroup.controllers", avail, sizeof avail,
			   e) < 0)
		return -1;
	uint32_t set = sbx_ctl_parse(avail) &
		       (p->delegate_ctls ? p->delegate_ctls : ~0u);
	for (int c = 0; c < SBX_CTL_N; c++) {
		if (!(set & SBX_CTL_BIT(c)))
			continue;
		snprintf(w, sizeof w, "+%s", sbx_ctl_name(c));
		if (sbx_cgroup_set(&j->cg, "cgroup.subtree_control", w, e) < 0)
			return -1;
	}
	return 0;
}

static int setup_cgroup(struct sbx_ctx *c, const struct sbx_plan *p,
			struct sbx_jail *j, struct sbx_err *e)
{
	char parent[4096], why[128];
	uint32_t need = controllers_of(p, false);
	uint32_t lopt = controllers_of(p, true) & ~need; /* optional limits' */
	uint32_t opt = lopt, missing = 0;

	if (p->cgroup_delegate) /* what the jail may use, where there */
		opt |= (p->delegate_ctls ? p->delegate_ctls
					 : (1u << SBX_CTL_N) - 1) & ~need;
	if (p->cgroup_path) {
		if (join_cgroup(c, p, j, need, opt, &missing, e) < 0)
			return -1;
		goto limits;
	}
	if (sbx_cgroup_pick_parent(c, p->cgroup_parent, parent, sizeof parent,
				   why, sizeof why, e) < 0) {
		/* rootless and nothing delegated: a jail that asks for no
		 * limit runs without a leaf (as with cgroup = false), and its
		 * result says so; one that asks for limits gets the error */
		if (e->errnum == EACCES && geteuid() != 0 && p->ncgwrites == 0 &&
		    !p->cpu_time_us && !p->cgroup_delegate) {
			j->res.no_cgroup = "no delegated cgroup (rootless): ran "
					   "without one, so no limits and no "
					   "cgroup statistics";
			return 0;
		}
		return -1;
	}
	for (int tries = 0;; tries++) {
		if ((p->cgroup_create
			     ? sbx_cgroup_prepare_chain(c, parent, need, opt,
							STATS_CTLS, &missing, e)
			     : sbx_cgroup_prepare_parent(c, parent, need, opt,
							 STATS_CTLS, &missing,
							 e)) < 0)
			return -1;
		/* once per parent per context: leaves of hosts that died */
		if (strcmp(c->reaped, parent) != 0) {
			sbx_cgroup_reap_stale(parent);
			snprintf(c->reaped, sizeof c->reaped, "%s", parent);
		}
		if (sbx_cgroup_create(parent, &j->cg, e) == 0)
			break;
		/* ENOENT: another host removed the (empty) default parent
		 * as it ended, between our prepare and our mkdir */
		if (e->errnum != ENOENT || tries == 3)
			return -1;
	}
limits:
	j->has_cg = true;
	/* optional limits whose controller is not there: skipped, and the
	 * result lists them (a delegation's extras are not limits) */
	uint32_t skipped = missing & lopt;
	sbx_ctl_format(skipped, j->res.skipped, sizeof j->res.skipped);
	/* every limit is in place before the jail exists */
	for (size_t i = 0; i < p->ncgwrites; i++) {
		const struct sbx_cgwrite *w = &p->cgwrites[i];
		int ctl = sbx_ctl_of_file(w->file);
		if (w->optional && ctl >= 0 && (skipped & SBX_CTL_BIT(ctl)))
			continue;
		if (sbx_cgroup_set(&j->cg, w->file, w->value, e) < 0)
			return -1;
	}
	if (p->cgroup_delegate && setup_delegation(c, p, j, e) < 0)
		return -1;
	/* the device allow-list too, before the jail exists (a program of
	 * this kind needs the host's CAP_SYS_ADMIN: a rootless jail has its
	 * user namespace and nodev mounts instead) */
	if (p->use_devices && geteuid() == 0 &&
	    sbx_devices_attach(c, &j->cg, p->devices, p->ndevices, e) < 0)
		return -1;
	return 0;
}

int sbx_stdio_open(const struct sbx_stdio *s, int i, struct sbx_err *e)
{
	int fl = i == 0 ? O_RDONLY
			: O_WRONLY | O_CREAT | (s->append ? O_APPEND : O_TRUNC);
	int fd = -1;
	switch (s->kind) {
	case SBX_IO_NULL:
		fd = open("/dev/null", (i ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
		break;
	case SBX_IO_FILE:
		fd = open(s->path, fl | O_CLOEXEC, 0644);
		if (fd < 0)
			sbx_err_set(e, errno, "stdio", "%s %s",
				    i == 0 ? "stdin" : i == 1 ? "stdout" : "stderr",
				    s->path);
		return fd;
	case SBX_IO_DATA:
		if (i != 0) {
			errno = EINVAL;
			break;
		}
		/* a sealed memfd: no pipe to feed, no SIGPIPE, and the jail
		 * cannot change what it reads */
		fd = memfd_create("sbx-stdin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd >= 0 && (sbx_write_all(fd, s->data, s->datalen) < 0 ||
				fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
							F_SEAL_WRITE |
							F_SEAL_SEAL) < 0 ||
				lseek(fd, 0, SEEK_SET) < 0)) {
			int err = errno;
			close(fd);
			fd = -1;
			errno = err;
		}
		break;
	default: /* INHERIT and PIPE are the caller's */
		errno = EINVAL;
		break;
	}
	if (fd < 0)
		sbx_err_set(e, errno, "stdio", "prepare stdio");
	return fd;
}

static int open_stdio(const struct sbx_plan *p, struct sbx_jail *j,
		      int child[3], struct sbx_err *e)
{
	for (int i = 0; i < 3; i++) {
		const struct sbx_stdio *s = &p->stdio[i];
		int pp[2];
		if (s->kind == SBX_IO_INHERIT)
			continue;
		if (s->kind == SBX_IO_PIPE) {
			if (i == 0 || pipe2(pp, O_CLOEXEC) < 0) {
				sbx_err_set(e, i ? errno : EINVAL, "stdio",
					    "prepare stdio");
				return -1;
			}
			j->outfd[i] = pp[0];
			j->out[i].captured = true;
			child[i] = pp[1];
		} else if ((child[i] = sbx_stdio_open(s, i, e)) < 0) {
			return -1;
		}
	}
	return 0;
}

/* with plan->trace: the end of a host-side step */
static void hmark(struct sbx_jail *j, const char *where, const char *step)
{
	if (!j->trace)
		return;
	int64_t now = sbx_now_ns();
	size_t l = strlen(j->res.trace);
	snprintf(j->res.trace + l, sizeof j->res.trace - l, "%s:%s=%lld;",
		 where, step, (long long)(now - j->trace_ns) / 1000);
	j->trace_ns = now;
}

/* init's steps ("step=us;..."), in place of the host's wait for them */
static void add_init_trace(struct sbx_jail *j, const char *text)
{
	char copy[sizeof ((struct sbx_msg *)0)->msg];
	snprintf(copy, sizeof copy, "%s", text);
	for (char *sv, *t = strtok_r(copy, ";", &sv); t; t = strtok_r(NULL, ";", &sv)) {
		size_t l = strlen(j->res.trace);
		snprintf(j->res.trace + l, sizeof j->res.trace - l, "init:%s;", t);
	}
}

/* the command's pid as we see it, from its pidfd (for the audit record
 * of a seccomp kill) */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], buf[2048];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
	if (sbx_read_at(AT_FDCWD, path, buf, sizeof buf) < 0)
		return 0;
	const char *p = strstr(buf, "\nPid:");
	return p ? (pid_t)atoi(p + 6) : 0;
}

static void take_fd(struct sbx_jail *j, const struct sbx_msg *m, int fd)
{
	if (m->type == SBX_MSG_TTY && j->ttyfd < 0) {
		j->ttyfd = fd; /* the console's master */
	} else if (m->type == SBX_MSG_READY && j->cmd_pidfd < 0) {
		j->cmd_pidfd = fd;
		if (j->cmd_pid <= 0) /* no PID record: init could not name it */
			j->cmd_pid = pidfd_pid(fd);
	} else {
		close(fd);
	}
}

/* records from init; with block, until READY or PARKED (or EOF) */
static void drain_msgs(struct sbx_jail *j, bool block)
{
	struct sbx_msg m;
	/* SO_PASSCRED: every record comes with credentials, room for both */
	union {
		char b[CMSG_SPACE(sizeof(struct ucred)) +
		       CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	for (;;) {
		struct iovec iov = { &m, sizeof m };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.b,
				     .msg_controllen = sizeof ctl.b };
		ssize_t n = recvmsg(j->sockfd, &mh, MSG_CMSG_CLOEXEC |
						    (block ? 0 : MSG_DONTWAIT));
		if (n < 0 && errno == EINTR)
			continue; /* a signal to the host is not the jail's end */
		if (n == 0 || (n < 0 && errno != EAGAIN))
			j->sock_eof = true;
		if (n != (ssize_t)sizeof m)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c)) {
			int fd;
			struct ucred uc;
			if (c->cmsg_level != SOL_SOCKET)
				continue;
			if (c->cmsg_type == SCM_RIGHTS) {
				memcpy(&fd, CMSG_DATA(c), sizeof fd);
				take_fd(j, &m, fd);
			} else if (c->cmsg_type == SCM_CREDENTIALS &&
				   m.type == SBX_MSG_PID) {
				memcpy(&uc, CMSG_DATA(c), sizeof uc);
				if (uc.pid > 0)
					j->cmd_pid = uc.pid;
			}
		}
		m.step[sizeof m.step - 1] = m.msg[sizeof m.msg - 1] = '\0';
		if (m.type == SBX_MSG_ERROR &&
		    j->res.status != SBX_ST_SETUP_ERROR) {
			j->res.status = SBX_ST_SETUP_ERROR;
			j->res.err.errnum = m.errnum;
			snprintf(j->res.err.step, sizeof j->res.err.step, "%s",
				 m.step);
			snprintf(j->res.err.msg, sizeof j->res.err.msg, "%s",
				 m.msg);
			j->res.exit_hint = m.code;
		} else if (m.type == SBX_MSG_TRACE) {
			add_init_trace(j, m.msg);
		} else if (m.type == SBX_MSG_EXIT) {
			j->wait_status = m.status;
			j->got_exit_record = true;
		} else if (m.type == SBX_MSG_CREATED) {
			j->created = true;
			if (block)
				return;
		} else if (m.type == SBX_MSG_PAUSED) {
			j->paused = true;
			if (block)
				return;
		} else if (m.type == SBX_MSG_READY ||
			   m.type == SBX_MSG_PARKED) {
			j->ready = m.type == SBX_MSG_READY;
			j->parked = m.type == SBX_MSG_PARKED;
			if (block)
				return;
		}
	}
}

void sbx_jail_poll_msgs(struct sbx_jail *j)
{
	if (j->sockfd >= 0)
		drain_msgs(j, false);
}

/* the console takes the host terminal's size (call again on SIGWINCH) */
void sbx_jail_tty_resize(struct sbx_jail *j)
{
	struct winsize ws;
	if (j->ttyfd >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(j->ttyfd, TIOCSWINSZ, &ws);
}

/* A seccomp kill is logged by the kernel (audit type 1326) with the
 * syscall and its arch; the kernel log is the only place that says which.
 * Readable as root (or with CAP_SYSLOG); otherwise the name stays unknown. */
static int seccomp_culprit(struct sbx_jail *j)
{
	char rec[2048], pat[32];
	cleanup_fd int fd = -1;

	if (j->cmd_pid <= 0)
		return -1;
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(pat, sizeof pat, " pid=%d ", (int)j->cmd_pid);
	for (;;) {
		ssize_t n = read(fd, rec, sizeof rec - 1);
		if (n < 0) {
			if (errno == EPIPE) /* overwritten records: go on */
				continue;
			break; /* EAGAIN: the end */
		}
		rec[n] = '\0';
		char *a, *sc;
		if (!strstr(rec, "type=1326") || !strstr(rec, pat) ||
		    !(a = strstr(rec, " arch=")) || !(sc = strstr(rec, " syscall=")))
			continue;
		j->res.syscall_arch = (uint32_t)strtoul(a + 6, NULL, 16);
		j->res.syscall = atoi(sc + 9); /* the last one wins */
	}
	return 0;
}

bool sbx_jail_culprit_pending(struct sbx_jail *j, int64_t now)
{
	if (j->done || j->res.syscall >= 0)
		return false;
	if (!j->got_exit_record && j->sockfd >= 0)
		drain_msgs(j, false); /* the EXIT record, if it came */
	if (!j->got_exit_record || !WIFSIGNALED(j->wait_status) ||
	    WTERMSIG(j->wait_status) != SIGSYS || j->cmd_pid <= 0)
		return false;
	if (now < j->culprit_next_ns)
		return true;
	if (seccomp_culprit(j) < 0 || j->res.syscall >= 0)
		return false; /* no log to read, or found */
	if (!j->culprit_end_ns)
		j->culprit_end_ns = now + SBX_CULPRIT_WAIT_MS * 1000000LL;
	j->culprit_next_ns = now + 2000000; /* 2 ms */
	return now < j->culprit_end_ns;
}

/* init's end (into j->si); without wait only if it has ended */
static void reap(struct sbx_jail *j, bool wait)
{
	if (j->reaped)
		return;
	if (j->pidfd < 0) {
		j->reaped = true;
		return;
	}
	memset(&j->si, 0, sizeof j->si);
	int r;
	while ((r = waitid((idtype_t)P_PIDFD, (id_t)j->pidfd, &j->si,
			   WEXITED | __WALL | (wait ? 0 : WNOHANG))) < 0 &&
	       errno == EINTR)
		;
	/* WNOHANG and still running: si_pid stays 0 */
	if (r == 0 && !wait && j->si.si_pid == 0)
		return;
	j->reaped = true;
}

ssize_t sbx_rec_send(int sock, uint32_t type, const void *p, size_t n,
		     const int *fds, int nfds, int flags)
{
	char ctl[CMSG_SPACE(SBX_REC_MAX_FDS * sizeof(int))];
	struct iovec iov[2] = { { &type, 4 }, { (void *)p, n } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n ? 2 : 1 };
	ssize_t r;

	if (nfds < 0 || nfds > SBX_REC_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	if (nfds) {
		memset(ctl, 0, sizeof ctl);
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	while ((r = sendmsg(sock, &mh, flags | MSG_NOSIGNAL)) < 0 &&
	       errno == EINTR)
		;
	return r;
}

/* the encoded plan (or job) in chunks, the stdio fds with the first;
 * resumable: *off says how far it got (a send before the clone must not
 * block: nobody reads yet) */
struct sending { size_t off; bool started; };
static int send_plan(int sock, const struct sbx_wbuf *w, uint32_t more,
		     uint32_t last, const int child[3], const int *extra,
		     size_t nextra, struct sending *st, bool nonblock)
{
	int fds[SBX_REC_MAX_FDS], nfds = 0;
	for (int i = 0; i < 3; i++)
		if (child[i] >= 0)
			fds[nfds++] = child[i];
	for (size_t i = 0; i < nextra && nfds < SBX_REC_MAX_FDS; i++)
		fds[nfds++] = extra[i]; /* after stdio: init takes them last */
	while (st->off < w->len || !st->started) {
		size_t n = w->len - st->off;
		if (n > SBX_REC_CHUNK)
			n = SBX_REC_CHUNK;
		uint32_t type = st->off + n < w->len ? more : last;
		if (sbx_rec_send(sock, type, w->p + st->off, n,
			     st->started ? NULL : fds, st->started ? 0 : nfds,
			     nonblock ? MSG_DONTWAIT : 0) < 0)
			return errno == EAGAIN && nonblock ? 0 : -1;
		st->off += n;
		st->started = true;
	}
	return 0;
}

int sbx_plan_send(int sock, const struct sbx_wbuf *w, const int *fds,
		  size_t nfds)
{
	static const int none[3] = { -1, -1, -1 };
	struct sending st = { 0 };
	return send_plan(sock, w, SBX_REC_PLAN, SBX_REC_PLAN_END, none, fds,
			 nfds, &st, false);
}

/* does the plan write a sysctl of this namespace type? (keys as the
 * recipe gives them: dotted, or a path below /proc/sys) */
static bool sysctl_in(const struct sbx_plan *p, int type)
{
	static const struct { int type; const char *pre; } t[] = {
		{ CLONE_NEWNET, "net" },	   { CLONE_NEWIPC, "kernel?shm" },
		{ CLONE_NEWIPC, "kernel?msg" },   { CLONE_NEWIPC, "kernel?sem" },
		{ CLONE_NEWIPC, "fs?mqueue" },    { CLONE_NEWUTS, "kernel?hostname" },
		{ CLONE_NEWUTS, "kernel?domainname" },
	};
	for (const char *const *kv = p->sysctl; kv && kv[0]; kv += 2)
		for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
			const char *k = kv[0], *s = t[i].pre;
			if (t[i].type != type)
				continue;
			while (*s && (*s == '?' ? (*k == '.' || *k == '/')
						: *k == *s))
				s++, k++;
			if (!*s)
				return true;
		}
	return false;
}

/* is the namespace file fd the host's own namespace of that name? */
static bool is_hosts_own(int fd, const char *name)
{
	char path[64];
	struct stat a, b;
	snprintf(path, sizeof path, "/proc/self/ns/%s", name);
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* the namespaces to join, opened now and checked to be of their type */
static int open_nsjoin(const struct sbx_plan *p, int fds[SBX_MAX_NSJOIN],
		       struct sbx_err *e)
{
	if (p->nns_join > SBX_MAX_NSJOIN) {
		sbx_err_set(e, E2BIG, "namespaces", "more than %d namespaces "
			    "to join", SBX_MAX_NSJOIN);
		return -1;
	}
	for (size_t i = 0; i < p->nns_join; i++) {
		const struct sbx_nsjoin *n = &p->ns_join[i];
		const char *name = sbx_ns_name(n->type);
		if (!name)
			name = "?";
		if (!sbx_ns_joinable(n->type) || (p->ns_flags & n->type)) {
			sbx_err_set(e, EINVAL, "namespaces", "join.%s: %s", name,
				    !sbx_ns_joinable(n->type) ? "only net, ipc, uts and pid "
				    "namespaces are joined by path"
				    : "the jail makes that namespace itself");
			return -1;
		}
		if (n->type == CLONE_NEWPID && !p->use_cgroup) {
			sbx_err_set(e, EINVAL, "namespaces", "join.pid %s: needs "
				    "the jail's cgroup (in a pid namespace not "
				    "its own, init's exit ends nothing: the "
				    "cgroup is killed instead)", n->path);
			return -1;
		}
		fds[i] = open(n->path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			sbx_err_set(e, errno, "namespaces", "join.%s %s", name,
				    n->path);
			return -1;
		}
		int t = ioctl(fds[i], NS_GET_NSTYPE);
		if (t != n->type) {
			sbx_err_set(e, t < 0 ? errno : EINVAL, "namespaces",
				    "join.%s %s: not a %s namespace file%s", name,
				    n->path, name, t < 0 ? " (NS_GET_NSTYPE)" : "");
			return -1;
		}
		if (sysctl_in(p, n->type) && is_hosts_own(fds[i], name)) {
			sbx_err_set(e, EPERM, "namespaces", "join.%s %s: the "
				    "host's own %s namespace, where the jail's "
				    "sysctls would change the host", name,
				    n->path, name);
			return -1;
		}
	}
	return 0;
}

/* the fds that go with the plan after its stdio: the ones passed to the
 * command (the host's own numbers, checked open) */
int sbx_plan_fds(const struct sbx_plan *p, int *out, size_t *n,
		 struct sbx_err *e)
{
	*n = 0;
	if (p->npass_fds > SBX_MAX_PASS_FDS || (p->npass_fds && p->park)) {
		sbx_err_set(e, p->park ? EINVAL : E2BIG, "pass_fds", p->park ?
			    "pass_fds: not for a pool's jail" :
			    "pass_fds: more than %d fds", SBX_MAX_PASS_FDS);
		return -1;
	}
	for (size_t i = 0; i < p->npass_fds; i++) {
		if (p->pass_fds[i] < 0 || fcntl(p->pass_fds[i], F_GETFD) < 0) {
			sbx_err_set(e, p->pass_fds[i] < 0 ? EBADF : errno,
				    "pass_fds", "pass_fds[%zu]: fd %d is not "
				    "open", i + 1, p->pass_fds[i]);
			return -1;
		}
		out[(*n)++] = p->pass_fds[i];
	}
	return 0;
}

/* The namespaces joined by path are entered by this thread around the
 * clone, so that init is born in them: with a user namespace of its own,
 * init could not enter one of the host's (it has no capability over it
 * there), and none is entered after the clone.  setns of a net, ipc or uts
 * namespace changes the calling thread alone, and only until ns_leave; of
 * a pid namespace, the thread's pid namespace for its children. */
struct ns_saved { int fd[SBX_MAX_NSJOIN]; int type[SBX_MAX_NSJOIN]; size_t n; };

static void ns_leave(struct ns_saved *s)
{
	int err = errno;
	while (s->n > 0) {
		s->n--;
		if (setns(s->fd[s->n], s->type[s->n]) < 0) {
			/* this thread would go on in the jail's namespace */
			fprintf(stderr, "sandboxlua: cannot return to the "
				"host's %s namespace: %s\n",
				sbx_ns_name(s->type[s->n]), strerror(errno));
			abort();
		}
		close(s->fd[s->n]);
	}
	errno = err;
}

static int ns_enter(const struct sbx_plan *p, const int nsfd[SBX_MAX_NSJOIN],
		    struct ns_saved *s, struct sbx_err *e)
{
	s->n = 0;
	for (size_t i = 0; i < p->nns_join; i++) {
		const struct sbx_nsjoin *n = &p->ns_join[i];
		const char *name = sbx_ns_name(n->type); /* joinable */
		char self[64];
		snprintf(self, sizeof self, "/proc/thread-self/ns/%s%s", name,
			 n->type == CLONE_NEWPID ? "_for_children" : "");
		int fd = open(self, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(nsfd[i], n->type) < 0) {
			sbx_err_set(e, errno, "namespaces", fd < 0 ? "join.%s: "
				    "open %s" : "join.%s %s: setns", name,
				    fd < 0 ? self : n->path);
			if (fd >= 0)
				close(fd);
			ns_leave(s);
			return -1;
		}
		s->fd[s->n] = fd;
		s->type[s->n++] = n->type;
	}
	return 0;
}

static void close_n(int *fd, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sbx_closep(&fd[i]);
}

static void close3(int fd[3])
{
	for (int i = 0; i < 3; i++)
		sbx_closep(&fd[i]);
}

/* >= lo, CLOEXEC (the child's fds 3 and 4 are spoken for) */
static int fd_above(int fd, int lo)
{
	if (fd < 0 || fd >= lo)
		return fd;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, lo);
	close(fd);
	return hi;
}

static int64_t real_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void jail_init(struct sbx_jail *j, const struct sbx_plan *p)
{
	memset(j, 0, sizeof *j);
	j->pidfd = j->sockfd = j->infd = j->ttyfd = j->cmd_pidfd = -1;
	j->outfd[0] = j->outfd[1] = j->outfd[2] = -1;
	j->cg.dirfd = -1;
	j->inotify_wd = -1;
	j->res.status = SBX_ST_RUNNING;
	j->res.syscall = -1;
	j->t0_ns = sbx_now_ns();
	j->res.started_real_ns = real_now_ns();
	if (p->sample_ns > 0 && !p->park)
		j->res.timeline = sbx_timeline_new(p->sample_ns, p->sample_max);
	j->trace = p->trace;
	j->trace_ns = j->t0_ns;
	if (!p->park) {
		j->cpu_time_us = p->cpu_time_us;
		j->deadline_ns = p->wall_ns ? j->t0_ns + p->wall_ns : 0;
	}
	for (int i = 1; i < 3; i++)
		j->out[i].limit = p->output_limit ? p->output_limit
						  : (size_t)16 << 20;
}

static void set_failed(struct sbx_jail *j, const struct sbx_err *e)
{
	j->res.status = SBX_ST_SETUP_ERROR;
	j->res.err = *e;
	j->res.exit_hint = 125;
}

/* PAUSED (before pivot_root): the caller's hooks, then RESUME and the
 * rest of the build (until CREATED) */
static int resume_after_hooks(const struct sbx_plan *p, struct sbx_jail *j,
			      struct sbx_err *e)
{
	uint32_t rec = SBX_REC_RESUME;

	j->paused = false;
	if (!p->pause_before_root || !p->on_pause) {
		sbx_err_set(e, EPROTO, "spawn", "init paused unasked");
		return -1;
	}
	if (p->on_pause(p->pause_arg, j->pid, e) < 0)
		return -1;
	if (send(j->sockfd, &rec, sizeof rec, MSG_NOSIGNAL) < 0) {
		sbx_err_set(e, errno, "spawn", "resume the jail after its hooks");
		return -1;
	}
	drain_msgs(j, true);
	return 0;
}

int sbx_jail_spawn(struct sbx_ctx *c, const struct sbx_plan *p,
		   struct sbx_jail *j, struct sbx_err *e)
{
	int sv[2] = { -1, -1 }, child[3] = { -1, -1, -1 };
	int nsfd[SBX_MAX_NSJOIN] = { [0 ... SBX_MAX_NSJOIN - 1] = -1 };
	int extra[SBX_MAX_PASS_FDS];
	size_t nextra = 0;
	struct ns_saved saved = { .n = 0 };
	struct sbx_wbuf w = { 0 };
	struct sending st = { 0 };
	const struct sbx_bpf *bpf = NULL;
	bool userns = p->ns_flags & CLONE_NEWUSER;
	pid_t pid = -1;

	jail_init(j, p);
	if (open_nsjoin(p, nsfd, e) < 0 ||
	    sbx_plan_fds(p, extra, &nextra, e) < 0)
		goto fail;
	if (p->pause_before_root && !p->detached) {
		sbx_err_set(e, EINVAL, "spawn", "a pause before pivot_root "
			    "is for a detached (OCI) jail");
		goto fail;
	}
	if (p->detached && (p->park || p->async_start)) {
		sbx_err_set(e, EINVAL, "spawn", "a detached (OCI) jail has no "
			    "pool or asynchronous start");
		goto fail;
	}
	if (p->nmounts > SBX_MAX_MOUNTS) {
		sbx_err_set(e, E2BIG, "mount", "more than %d mounts",
			    SBX_MAX_MOUNTS);
		goto fail;
	}
	if (p->use_cgroup && setup_cgroup(c, p, j, e) < 0)
		goto fail;
	hmark(j, "host", "cgroup");
	if (!p->park && open_stdio(p, j, child, e) < 0)
		goto fail;
	if (sbx_seccomp_compile(c, &p->seccomp, &bpf, e) < 0 ||
	    sbx_plan_encode(p, bpf, &w, e) < 0)
		goto fail;
	if (p->raw_plan) { /* a hostile plan, for the specs */
		w.len = 0;
		if (w.cap < p->raw_len) {
			unsigned char *np = realloc(w.p, p->raw_len);
			if (!np) {
				sbx_err_set(e, ENOMEM, "plan", "copy the raw plan");
				goto fail;
			}
			w.p = np;
			w.cap = p->raw_len;
		}
		memcpy(w.p, p->raw_plan, p->raw_len);
		w.len = p->raw_len;
	}
	if (c->image < 0 && (c->image = sbx_image_open(e)) < 0)
		goto fail;
	hmark(j, "host", "stdio+seccomp+encode");

	bool into = j->has_cg && !p->no_into_cgroup;
	const int one = 1; /* SO_PASSCRED: init's PID record */
	for (;;) {
		/* GO first when init must wait: for its cgroup (kernel < 5.7)
		 * or for its id maps */
		bool go = userns || (j->has_cg && !into) ||
			  (j->has_cg && p->cgroup_delegate);
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
		    setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one,
			       sizeof one) < 0 ||
		    (sv[1] = fd_above(sv[1], SBX_INIT_IMAGE + 1)) < 0) {
			sbx_err_set(e, errno, "spawn", "socketpair");
			goto fail;
		}
		/* into the socket before the clone: init finds it waiting */
		if (!go && send_plan(sv[0], &w, SBX_REC_PLAN, SBX_REC_PLAN_END,
				     child, extra, nextra, &st, true) < 0) {
			sbx_err_set(e, errno, "spawn", "send the plan");
			goto fail;
		}
		struct sbx_clone_req req = {
			.flags = (uint64_t)(unsigned)p->ns_flags |
				 (into ? CLONE_INTO_CGROUP : 0),
			.cgroup_fd = j->cg.dirfd, .sock = sv[1], .image = c->image,
			.await_go = go, .pidfd = &j->pidfd,
			.exit_signal = p->detached ? SIGCHLD : 0,
			.nofile_soft = c->nofile_soft,
		};
		if (ns_enter(p, nsfd, &saved, e) < 0)
			goto fail;
		pid = sbx_clone_init(&req);
		ns_leave(&saved); /* errno kept */
		if (pid < 0 && into && (errno == EINVAL || errno == E2BIG) &&
		    p->cgroup_delegate) {
			sbx_err_set(e, errno, "spawn", "delegation needs clone3 "
				    "with CLONE_INTO_CGROUP (Linux 5.7), so "
				    "that the jail's cgroup namespace is its "
				    "leaf");
			goto fail;
		}
		if (pid < 0 && into && (errno == EINVAL || errno == E2BIG)) {
			/* kernel < 5.7: init waits for GO, which comes only
			 * once it is in the leaf: it never runs outside */
			into = false;
			sbx_closep(&sv[0]);
			sbx_closep(&sv[1]);
			st = (struct sending){ 0 };
			continue;
		}
		if (pid < 0) {
			int err = errno;
			if (err == EPERM || err == ENOSPC || err == EUSERS)
				sbx_userns_why(p, err, e);
			else
				sbx_err_set(e, err, "spawn", "clone3");
			goto fail;
		}
		hmark(j, "host", "clone+exec init");
		j->pid = pid;
		j->sockfd = sbx_steal_fd(&sv[0]);
		sbx_closep(&sv[1]);
		if (req.exec_errno) {
			sbx_err_set(e, req.exec_errno, "spawn",
				    "exec sbx-init from its sealed memfd");
			goto fail_child;
		}
		if (go) {
			char s[32];
			uint32_t go_rec[2] = { SBX_REC_GO,
					       userns ? SBX_GO_REEXEC : 0 };
			snprintf(s, sizeof s, "%d", (int)pid);
			if (j->has_cg && !into &&
			    sbx_cgroup_set(&j->cg, "cgroup.procs", s, e) < 0)
				goto fail_child;
			if (j->has_cg && p->cgroup_delegate &&
			    delegate_to(p, j, pid, e) < 0)
				goto fail_child;
			if (userns && sbx_userns_write_maps(p, pid, e) < 0)
				goto fail_child;
			if (sbx_rec_send(j->sockfd, go_rec[0], &go_rec[1], 4, NULL, 0,
				     0) < 0) {
				sbx_err_set(e, errno, "spawn", "release the jail");
				goto fail_child;
			}
		}
		break;
	}
	if (send_plan(j->sockfd, &w, SBX_REC_PLAN, SBX_REC_PLAN_END, child,
		      extra, nextra, &st, false) < 0) {
		sbx_err_set(e, errno, "spawn", "send the plan");
		goto fail_child;
	}
	sbx_wbuf_free(&w);
	close3(child);
	close_n(nsfd, SBX_MAX_NSJOIN);
	hmark(j, "host", "send plan");
	if (p->async_start && !p->tty)
		return 0; /* the supervisor reads READY, PARKED or ERROR */
	drain_msgs(j, true); /* until READY/PARKED/CREATED, or EOF when init
			      * died */
	if (j->paused && resume_after_hooks(p, j, e) < 0)
		goto fail_child;
	hmark(j, "host", "wait for READY");
	if (j->ttyfd >= 0)
		sbx_jail_tty_resize(j);
	if (j->res.status == SBX_ST_SETUP_ERROR) {
		*e = j->res.err;
		sbx_jail_finish(j);
		return -1;
	}
	if (p->detached && !j->created) {
		sbx_err_set(e, EPIPE, "spawn", "the jail's init ended before "
			    "it was created");
		set_failed(j, e);
		sbx_jail_finish(j);
		return -1;
	}
	return 0;

fail_child:
	set_failed(j, e);
	sbx_wbuf_free(&w);
	close3(child);
	close_n(nsfd, SBX_MAX_NSJOIN);
	sbx_jail_finish(j); /* kills, reaps, removes */
	return -1;
fail:
	sbx_wbuf_free(&w);
	sbx_closep(&sv[0]);
	sbx_closep(&sv[1]);
	close3(child);
	close_n(nsfd, SBX_MAX_NSJOIN);
	set_failed(j, e);
	sbx_jail_finish(j);
	return -1;
}

int sbx_jail_start(struct sbx_jail *j, const struct sbx_plan *job,
		   struct sbx_err *e)
{
	int child[3] = { -1, -1, -1 };
	struct sbx_wbuf w = { 0 };
	struct sending st = { 0 };

	if (!j->parked || j->done) {
		sbx_err_set(e, EINVAL, "start", "the jail is not parked");
		return -1;
	}
	if (open_stdio(job, j, child, e) < 0 || sbx_job_encode(job, &w, e) < 0)
		goto fail;
	if (send_plan(j->sockfd, &w, SBX_REC_JOB, SBX_REC_JOB_END, child, NULL,
		      0, &st, false) < 0) {
		sbx_err_set(e, errno, "start", "send the job");
		goto fail;
	}
	sbx_wbuf_free(&w);
	close3(child);
	j->parked = false;
	j->t0_ns = j->trace_ns = sbx_now_ns();
	j->res.started_real_ns = real_now_ns();
	if (job->sample_ns > 0 && !j->res.timeline)
		j->res.timeline = sbx_timeline_new(job->sample_ns,
						   job->sample_max);
	j->cpu_time_us = job->cpu_time_us;
	j->deadline_ns = job->wall_ns ? j->t0_ns + job->wall_ns : 0;
	for (int i = 1; i < 3; i++)
		j->out[i].limit = job->output_limit ? job->output_limit
						    : (size_t)16 << 20;
	/* the counters start with the job, not with the pool's setup */
	if (j->has_cg) {
		sbx_cgroup_key(&j->cg, "cpu.stat", "usage_usec", &j->cpu_base[0]);
		sbx_cgroup_key(&j->cg, "cpu.stat", "user_usec", &j->cpu_base[1]);
		sbx_cgroup_key(&j->cg, "cpu.stat", "system_usec", &j->cpu_base[2]);
	}
	if (job->async_start)
		return 0;
	drain_msgs(j, true);
	if (j->res.status == SBX_ST_SETUP_ERROR)
		*e = j->res.err;
	return j->res.status == SBX_ST_SETUP_ERROR ? -1 : 0;
fail:
	sbx_wbuf_free(&w);
	close3(child);
	for (int i = 1; i < 3; i++)
		sbx_closep(&j->outfd[i]);
	return -1;
}

void sbx_jail_detach(struct sbx_jail *j)
{
	sbx_closep(&j->sockfd);
	sbx_closep(&j->pidfd);
	sbx_closep(&j->cmd_pidfd);
	if (j->has_cg)
		sbx_cgroup_close(&j->cg); /* no kill, no rmdir */
	j->has_cg = false;
	j->reaped = j->done = j->cleaned = true;
}

static bool stops(int sig)
{
	return sig == SIGSTOP || sig == SIGCONT || sig == SIGTSTP ||
	       sig == SIGTTIN || sig == SIGTTOU;
}

int sbx_jail_kill(struct sbx_jail *j, int sig, struct sbx_err *e)
{
	if (j->reaped)
		return 0;
	if (sig <= 0 || sig >= NSIG) {
		sbx_err_set(e, EINVAL, "kill", "signal %d", sig);
		return -1;
	}
	if (sig == SIGKILL && j->has_cg)
		return sbx_cgroup_kill(&j->cg, e);
	/* SIGKILL without a cgroup: init (the pid namespace dies with it);
	 * the others to the command itself, by its pidfd */
	int fd = sig != SIGKILL && j->cmd_pidfd >= 0 ? j->cmd_pidfd : j->pidfd;
	if (fd == j->pidfd && stops(sig)) {
		/* it would stop init, not the command */
		sbx_err_set(e, EAGAIN, "kill", "the command has not started yet");
		return -1;
	}
	if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0 &&
	    errno != ESRCH) {
		sbx_err_set(e, errno, "kill", "signal the jail");
		return -1;
	}
	return 0;
}

bool sbx_jail_reap(struct sbx_jail *j, bool wait)
{
	reap(j, wait);
	return j->reaped;
}

/* the result from what is known now: the command's wait status (init's
 * EXIT record) or init's own end (reaped), the cgroup's counters.  Waits
 * for nothing; the remains stay (see sbx_jail_cleanup). */
void sbx_jail_complete(struct sbx_jail *j)
{
	int st;

	if (j->done)
		return;
	j->done = true;
	hmark(j, "host", "run");
	if (j->sockfd >= 0)
		drain_msgs(j, false);
	if (j->pid > 0)
		j->res.wall_s = (double)(sbx_now_ns() - j->t0_ns) / 1e9;
	memset(&j->res.cg, 0xff, sizeof j->res.cg); /* all -1: unknown */
	j->res.cg.nio = 0;
	if (j->has_cg)
		sbx_cgroup_stats(&j->cg, &j->res.cg);
	/* a pooled job: its own share of the cpu, not the pool's setup */
	int64_t *cpu[3] = { &j->res.cg.cpu_usage_us, &j->res.cg.cpu_user_us,
			    &j->res.cg.cpu_system_us };
	for (int i = 0; i < 3; i++)
		if (*cpu[i] >= 0 && j->cpu_base[i] > 0)
			*cpu[i] = *cpu[i] > j->cpu_base[i] ? *cpu[i] - j->cpu_base[i] : 0;
	if (j->res.status == SBX_ST_SETUP_ERROR || j->pid <= 0)
		return;
	if (!j->got_exit_record && !j->ready && j->si.si_code != CLD_EXITED &&
	    j->si.si_status != SIGKILL) {
		/* init died of a signal of its own before the command ran */
		sbx_err_set(&j->res.err, 0, "init", "the jail's init crashed "
			    "during setup (signal %d)", j->si.si_status);
		j->res.status = SBX_ST_SETUP_ERROR;
		j->res.exit_hint = 125;
		return;
	}
	if (j->got_exit_record)
		st = j->wait_status;
	else if (j->si.si_code == CLD_EXITED)
		st = W_EXITCODE(j->si.si_status, 0);
	else
		st = j->si.si_status & 0x7f; /* killed: the init itself */
	if (WIFEXITED(st)) {
		j->res.status = SBX_ST_EXITED;
		j->res.exit_code = WEXITSTATUS(st);
	} else {
		j->res.status = SBX_ST_SIGNALED;
		j->res.signal = WTERMSIG(st);
		j->res.exit_code = 128 + j->res.signal;
		j->res.core_dumped = WCOREDUMP(st);
	}
	if (j->res.signal == SIGSYS && j->res.syscall < 0)
		seccomp_culprit(j); /* unless the wait for it found it */
	if (j->killed_timeout) {
		j->res.status = SBX_ST_TIMEOUT;
		j->res.timeout_cpu = j->killed_cpu;
	} else if (j->res.cg.oom_kills > 0 &&
		   !(j->res.status == SBX_ST_EXITED && j->res.exit_code == 0)) {
		/* the kernel killed something of the job for memory and the
		 * job failed: the command itself, or a child whose death its
		 * shell or runner turned into an exit status (137, 1...) */
		j->res.status = SBX_ST_OOM;
	}
}

/* init reaped, every process of the jail gone, the leaf removed.  With
 * wait, blocks until then; else true once done, false while init or the
 * cgroup still has to go (call again when they have). */
bool sbx_jail_cleanup(struct sbx_jail *j, bool wait)
{
	struct sbx_err e;
	if (j->cleaned)
		return true;
	if (j->pid > 0 && !j->reaped) {
		if (!wait && !j->exited)
			return false;
		reap(j, wait);
		if (!j->reaped)
			return false;
	}
	if (j->has_cg) {
		sbx_cgroup_kill(&j->cg, NULL);
		if (!wait && sbx_cgroup_populated(&j->cg))
			return false;
		if (sbx_cgroup_remove(&j->cg, &e) < 0)
			fprintf(stderr, "sandboxlua: %s\n", e.msg);
		j->has_cg = false; /* cg.path stays, for the result */
	}
	sbx_closep(&j->sockfd);
	sbx_closep(&j->pidfd);
	sbx_closep(&j->cmd_pidfd);
	j->cleaned = true;
	hmark(j, "host", "cleanup");
	return true;
}

/* blocking: kill what is left (a setup error), reap, then the result from
 * an empty cgroup, then remove it */
void sbx_jail_finish(struct sbx_jail *j)
{
	if (j->done) {
		sbx_jail_cleanup(j, true);
		return;
	}
	if (j->pid > 0) {
		if (j->res.status == SBX_ST_SETUP_ERROR)
			kill(j->pid, SIGKILL);
		reap(j, true);
	}
	if (j->has_cg) {
		sbx_cgroup_kill(&j->cg, NULL);
		sbx_cgroup_wait_empty(&j->cg, 1000);
	}
	int64_t now;
	while (sbx_jail_culprit_pending(j, now = sbx_now_ns())) {
		int64_t d = j->culprit_next_ns - now;
		struct timespec ts = { 0, d > 0 ? d : 0 };
		nanosleep(&ts, NULL);
	}
	sbx_jail_complete(j);
	sbx_jail_cleanup(j, true);
}

void sbx_jail_free(struct sbx_jail *j)
{
	if (!j->cleaned) {
		if (j->pid > 0 && !j->reaped) {
			if (j->has_cg)
				sbx_cgroup_kill(&j->cg, NULL);
			else
				kill(j->pid, SIGKILL);
		}
		sbx_jail_finish(j);
	}
	for (int i = 0; i < 3; i++) {
		sbx_closep(&j->outfd[i]);
		free(j->out[i].data);
		j->out[i].data = NULL;
	}
	sbx_closep(&j->infd);
	sbx_closep(&j->ttyfd);
	sbx_timeline_free(j->res.timeline);
	j->res.timeline = NULL;
}
