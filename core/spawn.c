/* Parent side: create the cgroup leaf, write the limits, clone3 the jail
 * straight into it, release it, and collect what the kernel says at the end.
 * Any failure undoes everything done so far: no cgroup, process or fd is
 * left behind. */
#include "jail.h"
#include "util.h"
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

const char *sbx_status_name(enum sbx_status s)
{
	static const char *const n[] = { "running", "exited", "signaled",
					 "timeout", "oom", "setup_error" };
	return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "?";
}

/* controllers named by the plan's cgroup writes ("memory.max" -> memory) */
static void controllers_of(const struct sbx_plan *p, bool optional,
			   char *out, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; i < p->ncgwrites; i++) {
		char c[32];
		const char *dot = strchr(p->cgwrites[i].file, '.');
		size_t n = dot ? (size_t)(dot - p->cgwrites[i].file) : 0;
		if (!n || n >= sizeof c || p->cgwrites[i].optional != optional)
			continue;
		memcpy(c, p->cgwrites[i].file, n);
		c[n] = '\0';
		if (!strcmp(c, "cgroup"))
			continue; /* core files need no controller */
		/* cpu.weight/cpu.max need "cpu"; cpuset.* need "cpuset" */
		char pad[40];
		snprintf(pad, sizeof pad, " %s ", c);
		char cur[1100];
		snprintf(cur, sizeof cur, " %s ", out);
		if (strstr(cur, pad))
			continue;
		size_t l = strlen(out);
		snprintf(out + l, len - l, "%s%s", l ? " " : "", c);
	}
}

static bool in_list(const char *list, const char *file)
{
	const char *dot = strchr(file, '.');
	size_t n = dot ? (size_t)(dot - file) : strlen(file);
	for (const char *p = list; *p;) {
		const char *sp = strchr(p, ' ');
		size_t l = sp ? (size_t)(sp - p) : strlen(p);
		if (l == n && !strncmp(p, file, n))
			return true;
		if (!sp)
			break;
		p = sp + 1;
	}
	return false;
}

static int setup_cgroup(const struct sbx_plan *p, struct sbx_jail *j,
			struct sbx_err *e)
{
	char parent[4096], why[128], need[1024], opt[1024];
	static char reaped[4096];

	if (sbx_cgroup_pick_parent(p->cgroup_parent, parent, sizeof parent,
				   why, sizeof why, e) < 0)
		return -1;
	controllers_of(p, false, need, sizeof need);
	controllers_of(p, true, opt, sizeof opt);
	char all[2100];
	snprintf(all, sizeof all, "%s%s%s", need, *need && *opt ? " " : "",
		 opt);
	for (int tries = 0;; tries++) {
		if (sbx_cgroup_prepare_parent(parent, all, opt, j->res.skipped,
					      sizeof j->res.skipped, e) < 0)
			return -1;
		/* once per parent per process: leaves of hosts that died */
		if (strcmp(reaped, parent) != 0) {
			sbx_cgroup_reap_stale(parent);
			snprintf(reaped, sizeof reaped, "%s", parent);
		}
		if (sbx_cgroup_create(parent, &j->cg, e) == 0)
			break;
		/* ENOENT: another host removed the (empty) default parent
		 * as it ended, between our prepare and our mkdir */
		if (e->errnum != ENOENT || tries == 3)
			return -1;
	}
	j->has_cg = true;
	/* every limit is in place before the jail exists */
	for (size_t i = 0; i < p->ncgwrites; i++) {
		const struct sbx_cgwrite *w = &p->cgwrites[i];
		if (w->optional && in_list(j->res.skipped, w->file))
			continue;
		if (sbx_cgroup_set(&j->cg, w->file, w->value, e) < 0)
			return -1;
	}
	return 0;
}

static int open_stdio(const struct sbx_plan *p, struct sbx_jail *j,
		      int child[3], struct sbx_err *e)
{
	for (int i = 0; i < 3; i++) {
		const struct sbx_stdio *s = &p->stdio[i];
		int fl = i == 0 ? O_RDONLY
				: O_WRONLY | O_CREAT |
					  (s->append ? O_APPEND : O_TRUNC);
		int pp[2];
		switch (s->kind) {
		case SBX_IO_INHERIT:
			break;
		case SBX_IO_NULL:
			child[i] = open("/dev/null", (i ? O_WRONLY : O_RDONLY) |
							     O_CLOEXEC);
			if (child[i] < 0)
				goto fail;
			break;
		case SBX_IO_FILE:
			child[i] = open(s->path, fl | O_CLOEXEC, 0644);
			if (child[i] < 0) {
				sbx_err_set(e, errno, "stdio", "%s %s",
					    i == 0 ? "stdin" : i == 1 ? "stdout"
								   : "stderr",
					    s->path);
				return -1;
			}
			break;
		case SBX_IO_DATA: {
			/* a sealed memfd: no pipe to feed, no SIGPIPE */
			int fd = memfd_create("sbx-stdin", MFD_CLOEXEC);
			if (fd < 0 || sbx_write_all(fd, s->data, s->datalen) < 0 ||
			    lseek(fd, 0, SEEK_SET) < 0) {
				if (fd >= 0)
					close(fd);
				goto fail;
			}
			child[i] = fd;
			break;
		}
		case SBX_IO_PIPE:
			if (i == 0 || pipe2(pp, O_CLOEXEC) < 0)
				goto fail;
			j->outfd[i] = pp[0];
			child[i] = pp[1];
			break;
		}
	}
	return 0;
fail:
	sbx_err_set(e, errno, "stdio", "prepare stdio");
	return -1;
}

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
	pid_t h = fork();
	if (h < 0) {
		sbx_err_set(e, errno, "user namespace", "fork %s", tool);
		return -1;
	}
	if (h == 0) {
		execvp(tool, argv);
		_exit(127);
	}
	while (waitpid(h, &st, 0) < 0 && errno == EINTR)
		;
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

static int write_idmaps(const struct sbx_plan *p, pid_t pid,
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
static void userns_why(const struct sbx_plan *p, int err,
		       struct sbx_err *e)
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

static pid_t do_clone3(const struct sbx_plan *p, struct sbx_jail *j,
		       bool into)
{
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = (uint64_t)p->ns_flags | CLONE_PIDFD |
		   (into ? CLONE_INTO_CGROUP : 0);
	ca.pidfd = (uint64_t)(uintptr_t)&j->pidfd;
	/* no exit signal: a host program's waitpid(-1) never sees our
	 * children; we wait for them by pidfd with __WALL */
	ca.exit_signal = 0;
	ca.cgroup = into ? (uint64_t)j->cg.dirfd : 0;
	return (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
}

static void drain_msgs(struct sbx_jail *j, bool block)
{
	struct sbx_msg m;
	/* SCM_RIGHTS (the console) or SCM_CREDENTIALS (every message) */
	char ctl[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
	for (;;) {
		struct iovec iov = { &m, sizeof m };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl,
				     .msg_controllen = sizeof ctl };
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
			if (c->cmsg_level != SOL_SOCKET)
				continue;
			if (c->cmsg_type == SCM_RIGHTS) {
				int fd;
				memcpy(&fd, CMSG_DATA(c), sizeof fd);
				if (m.type == SBX_MSG_TTY && j->ttyfd < 0)
					j->ttyfd = fd; /* the console's master */
				else
					close(fd);
			} else if (c->cmsg_type == SCM_CREDENTIALS &&
				   m.type == SBX_MSG_CMD) {
				/* the command's pid, translated by the kernel
				 * into our pid namespace */
				struct ucred uc;
				memcpy(&uc, CMSG_DATA(c), sizeof uc);
				j->cmd_pid = uc.pid;
			}
		}
		if (m.type == SBX_MSG_ERROR &&
		    j->res.status != SBX_ST_SETUP_ERROR) {
			j->res.status = SBX_ST_SETUP_ERROR;
			j->res.err.errnum = m.errnum;
			snprintf(j->res.err.step, sizeof j->res.err.step, "%s",
				 m.step);
			snprintf(j->res.err.msg, sizeof j->res.err.msg, "%s",
				 m.msg);
			j->res.exit_hint = m.code;
		} else if (m.type == SBX_MSG_EXIT) {
			j->wait_status = m.status;
			j->got_exit_record = true;
		} else if (m.type == SBX_MSG_READY) {
			j->ready = true;
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
static void seccomp_culprit(struct sbx_jail *j)
{
	char rec[2048], pat[32];
	cleanup_fd int fd = -1;

	if (j->cmd_pid <= 0)
		return;
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
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
}

static void reap(struct sbx_jail *j, siginfo_t *si)
{
	memset(si, 0, sizeof *si);
	if (j->reaped || j->pidfd < 0)
		return;
	while (waitid((idtype_t)P_PIDFD, (id_t)j->pidfd, si,
		      WEXITED | __WALL) < 0 && errno == EINTR)
		;
	j->reaped = true;
}

int sbx_jail_spawn(const struct sbx_plan *p, struct sbx_jail *j,
		   struct sbx_err *e)
{
	int sv[2] = { -1, -1 }, child[3] = { -1, -1, -1 };
	struct sbx_jailctx *cx = NULL;
	pid_t pid;
	bool into;

	memset(j, 0, sizeof *j);
	j->pidfd = j->sockfd = j->infd = j->ttyfd = -1;
	j->outfd[0] = j->outfd[1] = j->outfd[2] = -1;
	j->cg.dirfd = -1;
	j->inotify_wd = -1;
	j->res.status = SBX_ST_RUNNING;
	j->res.syscall = -1;
	j->t0_ns = sbx_now_ns();
	j->cpu_time_us = p->cpu_time_us;
	j->deadline_ns = p->wall_ns ? j->t0_ns + p->wall_ns : 0;
	for (int i = 1; i < 3; i++)
		j->out[i].limit = p->output_limit ? p->output_limit
						  : (size_t)16 << 20;

	if (p->nmounts > SBX_MAX_MOUNTS) {
		sbx_err_set(e, E2BIG, "mount", "more than %d mounts",
			    SBX_MAX_MOUNTS);
		goto fail;
	}
	if (p->use_cgroup && setup_cgroup(p, j, e) < 0)
		goto fail;
	if (open_stdio(p, j, child, e) < 0)
		goto fail;
	const struct sbx_bpf *bpf = NULL;
	if (sbx_seccomp_compile(&p->seccomp, &bpf, e) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		sbx_err_set(e, errno, "spawn", "socketpair");
		goto fail;
	}
	int one = 1; /* every record comes with its sender's pid */
	setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
	/* the child's context lives on the heap: clone3 copies it */
	cx = calloc(1, sizeof *cx);
	if (!cx) {
		sbx_err_set(e, ENOMEM, "spawn", "allocate");
		goto fail;
	}
	cx->sock = sv[1];
	cx->bpf = bpf;
	cx->tty = -1;
	for (int i = 0; i < 3; i++)
		cx->stdio[i] = child[i];
	for (int i = 0; i < 6; i++)
		cx->devfd[i] = -1;

	into = j->has_cg && !p->no_into_cgroup;
	pid = do_clone3(p, j, into);
	if (pid < 0 && into && (errno == EINVAL || errno == E2BIG)) {
		/* kernel < 5.7: the child waits for GO, which we send only
		 * after moving it into the leaf: it never runs outside */
		into = false;
		pid = do_clone3(p, j, false);
	}
	if (pid < 0) {
		int err = errno;
		if (err == EPERM || err == ENOSPC || err == EUSERS)
			userns_why(p, err, e);
		else
			sbx_err_set(e, err, "spawn", "clone3");
		goto fail;
	}
	if (pid == 0)
		sbx_child_main(p, cx); /* never returns */
	j->pid = pid;
	free(cx);
	cx = NULL;
	sbx_closep(&sv[1]);
	for (int i = 0; i < 3; i++)
		sbx_closep(&child[i]);
	j->sockfd = sv[0];
	sv[0] = -1;

	if (j->has_cg && !into) {
		char s[32];
		snprintf(s, sizeof s, "%d", (int)pid);
		if (sbx_cgroup_set(&j->cg, "cgroup.procs", s, e) < 0)
			goto fail_child;
	}
	if ((p->ns_flags & CLONE_NEWUSER) && write_idmaps(p, pid, e) < 0)
		goto fail_child;
	struct sbx_msg go = { .type = SBX_MSG_GO };
	if (send(j->sockfd, &go, sizeof go, MSG_NOSIGNAL) < 0) {
		sbx_err_set(e, errno, "spawn", "release the jail");
		goto fail_child;
	}
	if (p->async_start && !p->tty)
		return 0; /* the supervisor reads READY or ERROR */
	drain_msgs(j, true); /* until READY, or EOF when init died */
	if (j->ttyfd >= 0)
		sbx_jail_tty_resize(j);
	if (j->res.status == SBX_ST_SETUP_ERROR) {
		*e = j->res.err;
		sbx_jail_finish(j);
		return -1;
	}
	return 0;

fail_child:
	kill(pid, SIGKILL);
	j->res.status = SBX_ST_SETUP_ERROR;
	j->res.err = *e;
	j->res.exit_hint = 125;
	sbx_jail_finish(j);
	return -1;
fail:
	free(cx);
	sbx_closep(&sv[0]);
	sbx_closep(&sv[1]);
	for (int i = 0; i < 3; i++)
		sbx_closep(&child[i]);
	j->res.status = SBX_ST_SETUP_ERROR;
	j->res.err = *e;
	j->res.exit_hint = 125;
	sbx_jail_finish(j);
	return -1;
}

int sbx_jail_kill(struct sbx_jail *j, int sig, struct sbx_err *e)
{
	if (j->reaped)
		return 0;
	if (sig == SIGKILL && j->has_cg)
		return sbx_cgroup_kill(&j->cg, e);
	/* signals go to the command: init forwards them */
	if (syscall(SYS_pidfd_send_signal, j->pidfd, sig, NULL, 0) < 0 &&
	    errno != ESRCH) {
		sbx_err_set(e, errno, "kill", "signal the jail");
		return -1;
	}
	return 0;
}

void sbx_jail_finish(struct sbx_jail *j)
{
	siginfo_t si;
	struct sbx_err e;
	int st;

	if (j->done)
		return;
	j->done = true;
	if (j->pid > 0) {
		if (j->res.status == SBX_ST_SETUP_ERROR)
			kill(j->pid, SIGKILL);
		reap(j, &si);
		if (j->sockfd >= 0)
			drain_msgs(j, false);
		j->res.wall_s = (double)(sbx_now_ns() - j->t0_ns) / 1e9;
	}
	memset(&j->res.cg, 0xff, sizeof j->res.cg); /* all -1: unknown */
	if (j->has_cg) {
		/* no process of the jail outlives it; then read, then rmdir */
		sbx_cgroup_kill(&j->cg, NULL);
		sbx_cgroup_wait_empty(&j->cg, 1000);
		sbx_cgroup_stats(&j->cg, &j->res.cg);
		if (sbx_cgroup_remove(&j->cg, &e) < 0)
			fprintf(stderr, "sandboxlua: %s\n", e.msg);
	}
	sbx_closep(&j->sockfd);
	sbx_closep(&j->pidfd);
	if (j->res.status == SBX_ST_SETUP_ERROR || j->pid <= 0)
		return;
	if (j->got_exit_record)
		st = j->wait_status;
	else if (si.si_code == CLD_EXITED)
		st = W_EXITCODE(si.si_status, 0);
	else
		st = si.si_status & 0x7f; /* killed: the init itself */
	if (WIFEXITED(st)) {
		j->res.status = SBX_ST_EXITED;
		j->res.exit_code = WEXITSTATUS(st);
	} else {
		j->res.status = SBX_ST_SIGNALED;
		j->res.signal = WTERMSIG(st);
		j->res.exit_code = 128 + j->res.signal;
		j->res.core_dumped = WCOREDUMP(st);
	}
	if (j->res.signal == SIGSYS)
		seccomp_culprit(j);
	if (j->killed_timeout) {
		j->res.status = SBX_ST_TIMEOUT;
		j->res.timeout_cpu = j->killed_cpu;
	} else if (j->res.cg.oom_kills > 0 &&
		   j->res.status == SBX_ST_SIGNALED &&
		   j->res.signal == SIGKILL) {
		j->res.status = SBX_ST_OOM;
	}
}

void sbx_jail_free(struct sbx_jail *j)
{
	if (!j->done) {
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
}
