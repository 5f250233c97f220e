/* The supervisor: one io_uring drives any number of jails from one thread.
 *
 * Per jail: POLL_ADD on its pidfd (init's end) and on its socket (READY,
 * then init's EXIT record: the command's wait status), READ on each
 * captured pipe.  One inotify fd, read through the ring, watches every
 * jail's memory.events so an OOM kill is seen as it happens.  Wall-clock
 * deadlines and CPU-time limits bound the wait; expiry kills the whole
 * cgroup (cgroup.kill).  Exit status comes from init's EXIT record, or
 * from waitid(P_PIDFD) of our own children only.
 *
 * A jail's result is complete once its command's end is known and its
 * output has ended; what is left — init's exit, which tears the
 * namespaces down, and the cgroup leaf — goes on in the background as the
 * jail's "remains": a pidfd poll, then a POLLPRI on cgroup.events until
 * populated is 0, then rmdir.  Nothing here blocks the ring;
 * sbx_sup_settle waits for the remains, sbx_sup_free removes them. */
#include "sbx.h"
#include "util.h"
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <fcntl.h>

/* user_data = jail pointer | tag (jails are 8-byte aligned); with a NULL
 * jail the tag names one of the supervisor's own operations */
enum { TAG_PID = 1, TAG_OUT1 = 2, TAG_OUT2 = 3, TAG_TTY = 4, TAG_STDIN = 5,
       TAG_SOCK = 6, TAG_REMAINS = 7 };
enum { TAG_CANCEL = 1, TAG_INO = 2, TAG_WAKE = 3 };
#define TAG_MASK 7ULL
#define CPU_POLL_MS 50

struct ev { struct sbx_jail *j; enum sbx_event ev; };

/* what a finished jail leaves to clean up (see above) */
struct remains {
	int pidfd;              /* -1 once reaped */
	struct sbx_cgroup cg;   /* dirfd -1: none */
	int evfd;               /* cgroup.events, for POLLPRI */
	struct remains *next;
};

struct sbx_sup {
	struct io_uring ring;
	struct sbx_jail **jails;
	size_t n, cap;
	struct ev *q;
	size_t qn, qcap, qhead;
	int ino;
	bool ino_armed;
	int wake;              /* eventfd: a signal handler ends the wait */
	struct remains *remains;
	uint64_t wakebuf;
	char inobuf[4096] __attribute__((aligned(8)));
	char scratch[65536];   /* reads past the output limit land here */
};

static uint64_t ud(struct sbx_jail *j, int tag)
{
	return (uint64_t)(uintptr_t)j | (uint64_t)tag;
}

static void arm_wake(struct sbx_sup *s);

struct sbx_sup *sbx_sup_new(struct sbx_err *e)
{
	struct sbx_sup *s = calloc(1, sizeof *s);
	int r;

	if (!s) {
		sbx_err_set(e, ENOMEM, "supervisor", "allocate");
		return NULL;
	}
	r = io_uring_queue_init(256, &s->ring, 0);
	if (r < 0) {
		sbx_err_set(e, -r, "supervisor", "io_uring_queue_init");
		free(s);
		return NULL;
	}
	s->ino = inotify_init1(IN_CLOEXEC);
	s->wake = eventfd(0, EFD_CLOEXEC);
	arm_wake(s);
	io_uring_submit(&s->ring);
	return s;
}

int sbx_sup_wake_fd(struct sbx_sup *s)
{
	return s->wake;
}

static struct io_uring_sqe *sqe_get(struct sbx_sup *s);
static void arm_wake(struct sbx_sup *s)
{
	struct io_uring_sqe *q;
	if (s->wake < 0 || !(q = sqe_get(s)))
		return;
	io_uring_prep_read(q, s->wake, &s->wakebuf, sizeof s->wakebuf, 0);
	io_uring_sqe_set_data64(q, TAG_WAKE);
}

static struct io_uring_sqe *sqe_get(struct sbx_sup *s)
{
	struct io_uring_sqe *q = io_uring_get_sqe(&s->ring);
	if (!q) {
		io_uring_submit(&s->ring);
		q = io_uring_get_sqe(&s->ring);
	}
	return q;
}

/* room for every event the tracked jails can still queue: EXIT, TIMEOUT
 * and one OOM at a time each; made when a jail is added, so that push,
 * in the middle of the ring's work, never fails (a lost EXIT would be a
 * wait() that never returns) */
#define EVENTS_PER_JAIL 3
static int reserve(struct sbx_sup *s, size_t jails)
{
	size_t need = s->qn + EVENTS_PER_JAIL * jails;
	if (need <= s->qcap)
		return 0;
	size_t nc = s->qcap ? s->qcap : 16;
	while (nc < need)
		nc *= 2;
	struct ev *nq = realloc(s->q, nc * sizeof *nq);
	if (!nq)
		return -1;
	s->q = nq;
	s->qcap = nc;
	return 0;
}

static void push(struct sbx_sup *s, struct sbx_jail *j, enum sbx_event ev)
{
	if (ev == SBX_EV_OOM) {
		if (j->oom_queued)
			return; /* the queued one says it: on_oom looks again */
		j->oom_queued = true;
	}
	if (s->qn == s->qcap && s->qhead > 0) {
		/* reclaim the slots already popped */
		memmove(s->q, s->q + s->qhead, (s->qn - s->qhead) * sizeof *s->q);
		s->qn -= s->qhead;
		s->qhead = 0;
	}
	/* reserved as the jail was added; this grows the queue only for a
	 * jail whose OOM was popped and came again */
	if (s->qn == s->qcap && reserve(s, 1) < 0)
		return;
	s->q[s->qn++] = (struct ev){ j, ev };
}

static int arm_read(struct sbx_sup *s, struct sbx_jail *j, int i)
{
	struct sbx_buf *b = &j->out[i];
	struct io_uring_sqe *q;
	void *dst;
	size_t want = 65536;

	if (b->len < b->limit) {
		if (b->cap - b->len < want) {
			size_t nc = b->cap ? b->cap : 65536;
			while (nc - b->len < want)
				nc *= 2;
			char *nd = realloc(b->data, nc);
			if (nd) {
				b->data = nd;
				b->cap = nc;
			} else {
				/* no memory for more: what came is kept, the
				 * rest is read and dropped (never left in the
				 * pipe, where it would stall the jail) */
				b->limit = b->len;
				b->truncated = true;
			}
		}
	}
	if (b->len < b->limit) {
		dst = b->data + b->len;
	} else {
		dst = s->scratch; /* counted, then dropped */
		want = sizeof s->scratch;
	}
	q = sqe_get(s);
	if (!q)
		return -1;
	/* offset -1: read at the current position (pipes) */
	io_uring_prep_read(q, j->outfd[i], dst, (unsigned)want, (uint64_t)-1);
	io_uring_sqe_set_data64(q, ud(j, i == 1 ? TAG_OUT1 : TAG_OUT2));
	j->pending++;
	return 0;
}

static void arm_ino(struct sbx_sup *s)
{
	struct io_uring_sqe *q;
	if (s->ino < 0 || s->ino_armed)
		return;
	q = sqe_get(s);
	if (!q)
		return;
	io_uring_prep_read(q, s->ino, s->inobuf, sizeof s->inobuf, 0);
	io_uring_sqe_set_data64(q, TAG_INO);
	s->ino_armed = true;
}

static void arm_tty(struct sbx_sup *s, struct sbx_jail *j, bool in);

/* a jail still setting up (async start): wait for READY or ERROR */
/* init's records: READY, PARKED or ERROR while it sets up, then EXIT (a
 * parked jail says nothing until its job starts) */
static void arm_sock(struct sbx_sup *s, struct sbx_jail *j)
{
	struct io_uring_sqe *q;
	if (j->sock_armed || j->got_exit_record || j->parked || j->sock_eof ||
	    j->done || j->sockfd < 0 || !(q = sqe_get(s)))
		return;
	io_uring_prep_poll_add(q, j->sockfd, POLLIN);
	io_uring_sqe_set_data64(q, ud(j, TAG_SOCK));
	j->sock_armed = true;
	j->pending++;
}

/* the jail's own I/O: capture pipes, the console, READY/ERROR of an async
 * start (again for a pool's job once it starts) */
int sbx_sup_arm(struct sbx_sup *s, struct sbx_jail *j, struct sbx_err *e)
{
	for (int i = 1; i < 3; i++) {
		j->out[i].eof = j->outfd[i] < 0;
		if (j->outfd[i] >= 0 && arm_read(s, j, i) < 0) {
			sbx_err_set(e, ENOMEM, "supervisor", "output buffer");
			return -1;
		}
	}
	if (j->ttyfd >= 0) {
		arm_tty(s, j, false);
		arm_tty(s, j, true);
	}
	arm_sock(s, j);
	io_uring_submit(&s->ring);
	return 0;
}

int sbx_sup_add(struct sbx_sup *s, struct sbx_jail *j, struct sbx_err *e)
{
	struct io_uring_sqe *q;

	/* everything that can fail first: nothing is changed when it does */
	if (reserve(s, s->n + 1) < 0) {
		sbx_err_set(e, ENOMEM, "supervisor", "allocate");
		return -1;
	}
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		struct sbx_jail **nj = realloc(s->jails, nc * sizeof *nj);
		if (!nj) {
			sbx_err_set(e, ENOMEM, "supervisor", "allocate");
			return -1;
		}
		s->jails = nj;
		s->cap = nc;
	}
	q = sqe_get(s);
	if (!q) {
		sbx_err_set(e, EBUSY, "supervisor", "submission queue full");
		return -1;
	}
	io_uring_prep_poll_add(q, j->pidfd, POLLIN);
	io_uring_sqe_set_data64(q, ud(j, TAG_PID));
	j->pid_armed = true;
	j->pending++;
	s->jails[s->n++] = j;
	j->supervised = true;
	if (j->has_cg && s->ino >= 0) {
		char p[4200];
		snprintf(p, sizeof p, "%s/memory.events", j->cg.path);
		j->inotify_wd = inotify_add_watch(s->ino, p, IN_MODIFY);
		arm_ino(s);
	}
	return sbx_sup_arm(s, j, e);
}

static void drop(struct sbx_sup *s, struct sbx_jail *j)
{
	if (!j->supervised)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->jails[i] == j) {
			s->jails[i] = s->jails[--s->n];
			break;
		}
	if (j->inotify_wd >= 0 && s->ino >= 0)
		inotify_rm_watch(s->ino, j->inotify_wd);
	j->inotify_wd = -1;
	j->supervised = false;
}

/* ---- remains ------------------------------------------------------------ */
static void remains_free(struct sbx_sup *s, struct remains *r)
{
	for (struct remains **p = &s->remains; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	sbx_closep(&r->pidfd);
	sbx_closep(&r->evfd);
	sbx_cgroup_close(&r->cg);
	free(r);
}

static void remains_poll(struct sbx_sup *s, struct remains *r, int fd,
			 unsigned events)
{
	struct io_uring_sqe *q = sqe_get(s);
	if (!q)
		return; /* a full ring: sbx_sup_free still removes them */
	io_uring_prep_poll_add(q, fd, events);
	io_uring_sqe_set_data64(q, (uint64_t)(uintptr_t)r | TAG_REMAINS);
}

/* as far as it goes without waiting: reap init, empty and remove the leaf */
static void remains_step(struct sbx_sup *s, struct remains *r)
{
	if (r->pidfd >= 0) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid((idtype_t)P_PIDFD, (id_t)r->pidfd, &si,
			   WEXITED | __WALL | WNOHANG) == 0 && si.si_pid == 0) {
			remains_poll(s, r, r->pidfd, POLLIN);
			return;
		}
		sbx_closep(&r->pidfd);
	}
	if (r->cg.dirfd >= 0) {
		char b[256];
		/* read through evfd: its POLLPRI then means a later change */
		if (r->evfd < 0)
			r->evfd = openat(r->cg.dirfd, "cgroup.events",
					 O_RDONLY | O_CLOEXEC);
		else if (pread(r->evfd, b, sizeof b, 0) < 0)
			sbx_closep(&r->evfd);
		sbx_cgroup_kill(&r->cg, NULL);
		if (r->evfd >= 0 && sbx_cgroup_populated(&r->cg)) {
			remains_poll(s, r, r->evfd, POLLPRI);
			return;
		}
		if (sbx_cgroup_remove(&r->cg, NULL) < 0)
			fprintf(stderr, "sandboxlua: could not remove %s\n",
				r->cg.path);
	}
	remains_free(s, r);
}

/* the jail's pidfd and cgroup become the supervisor's to clean up; the
 * jail itself is then free to go (its result is complete or unwanted) */
static void adopt(struct sbx_sup *s, struct sbx_jail *j)
{
	if (j->cleaned)
		return;
	struct remains *r = calloc(1, sizeof *r);
	if (!r) {
		sbx_jail_finish(j); /* no memory: the slow way */
		return;
	}
	r->evfd = -1;
	r->pidfd = j->reaped ? -1 : sbx_steal_fd(&j->pidfd);
	r->cg = j->cg;
	r->cg.dirfd = j->has_cg ? sbx_steal_fd(&j->cg.dirfd) : -1;
	j->has_cg = false; /* j->cg.path stays, for the result */
	sbx_closep(&j->pidfd);
	sbx_closep(&j->sockfd);
	sbx_closep(&j->cmd_pidfd);
	j->cleaned = true;
	r->next = s->remains;
	s->remains = r;
	/* on the next turn of the ring, not on the way to the result */
	struct io_uring_sqe *q = sqe_get(s);
	if (!q) {
		remains_step(s, r);
		return;
	}
	io_uring_prep_nop(q);
	io_uring_sqe_set_data64(q, (uint64_t)(uintptr_t)r | TAG_REMAINS);
}

/* ---- a jail's end ------------------------------------------------------- */
static void check_oom(struct sbx_sup *s, struct sbx_jail *j);
/* the ops of j in flight other than the pidfd and socket polls */
static unsigned io_pending(const struct sbx_jail *j)
{
	return j->pending - j->pid_armed - j->sock_armed;
}

/* a jail is over when its command's end is known (init's EXIT record, or
 * init itself ended) and its pipes hit EOF */
static void maybe_finish(struct sbx_sup *s, struct sbx_jail *j)
{
	if (!j->done) {
		if (!(j->exited || j->got_exit_record) || !j->out[1].eof ||
		    !j->out[2].eof || io_pending(j) ||
		    (j->ttyfd >= 0 && !j->tty_eof))
			return;
		if (!j->got_exit_record && !sbx_jail_reap(j, false))
			return;
		if (sbx_jail_culprit_pending(j, sbx_now_ns()))
			return; /* next_wake and retry_culprits come back */
		/* an OOM kill whose notice came after (or with) the exit is
		 * still an OOM event, before the EXIT */
		check_oom(s, j);
		sbx_jail_complete(j);
		for (int i = 1; i < 3; i++)
			sbx_closep(&j->outfd[i]);
		push(s, j, SBX_EV_EXIT);
	}
	/* init gone: reaping it and the cgroup are the remains' */
	if (j->exited && !j->cleaned)
		adopt(s, j);
	if (j->cleaned && !j->pending)
		drop(s, j);
}

static void check_oom(struct sbx_sup *s, struct sbx_jail *j)
{
	int64_t n;
	if (!j->has_cg || j->done ||
	    sbx_cgroup_key(&j->cg, "memory.events", "oom_kill", &n) < 0)
		return;
	if (n > j->oom_seen) {
		j->oom_seen = n;
		push(s, j, SBX_EV_OOM);
	}
}

static void on_ino(struct sbx_sup *s, int len)
{
	for (int off = 0; off < len;) {
		struct inotify_event *ie = (void *)(s->inobuf + off);
		for (size_t i = 0; i < s->n; i++)
			if (s->jails[i]->inotify_wd == ie->wd)
				check_oom(s, s->jails[i]);
		off += (int)(sizeof *ie + ie->len);
	}
}

static void arm_tty(struct sbx_sup *s, struct sbx_jail *j, bool in)
{
	struct io_uring_sqe *q = sqe_get(s);
	if (!q)
		return;
	if (in)
		io_uring_prep_read(q, STDIN_FILENO, j->inbuf, sizeof j->inbuf,
				   (uint64_t)-1);
	else
		io_uring_prep_read(q, j->ttyfd, j->ttybuf, sizeof j->ttybuf,
				   (uint64_t)-1);
	io_uring_sqe_set_data64(q, ud(j, in ? TAG_STDIN : TAG_TTY));
	j->stdin_armed |= in;
	j->pending++;
}

/* the next write of a console direction, from where the last one ended
 * (out: the command's output to our stdout; in: our stdin to the command) */
static void arm_tty_write(struct sbx_sup *s, struct sbx_jail *j, bool in)
{
	struct io_uring_sqe *q = sqe_get(s);
	if (!q)
		return;
	if (in)
		io_uring_prep_write(q, j->ttyfd, j->inbuf + j->tty_in_off,
				    (unsigned)(j->tty_in_len - j->tty_in_off),
				    (uint64_t)-1);
	else
		io_uring_prep_write(q, STDOUT_FILENO, j->ttybuf + j->tty_out_off,
				    (unsigned)(j->tty_out_len - j->tty_out_off),
				    (uint64_t)-1);
	io_uring_sqe_set_data64(q, ud(j, in ? TAG_STDIN : TAG_TTY));
	if (in) {
		j->tty_in_writing = true;
		j->stdin_armed = true;
	} else {
		j->tty_out_writing = true;
	}
	j->pending++;
}

/* a console relays through the ring, a read then its writes, each way: a
 * terminal that stops reading holds up this console and nothing else */
static void on_tty(struct sbx_sup *s, struct sbx_jail *j, int tag, int res)
{
	bool in = tag == TAG_STDIN;
	bool *writing = in ? &j->tty_in_writing : &j->tty_out_writing;
	size_t *off = in ? &j->tty_in_off : &j->tty_out_off;
	size_t *len = in ? &j->tty_in_len : &j->tty_out_len;

	if (in)
		j->stdin_armed = false;
	if (res == -ECANCELED || (in && j->exited))
		return;
	if (*writing) {
		*writing = false;
		if (res > 0)
			*off += (size_t)res;
		else if (res != -EINTR && res != -EAGAIN)
			*off = *len; /* a closed stdout: the rest is dropped */
		if (*off < *len) {
			arm_tty_write(s, j, in);
			return;
		}
		if (in && j->tty_in_len == 1 && j->inbuf[0] == '\x04' &&
		    j->tty_eof_sent)
			return; /* the EOF key went: stdin is done */
		arm_tty(s, j, in);
		return;
	}
	if (res > 0) {
		*off = 0;
		*len = (size_t)res;
		arm_tty_write(s, j, in);
	} else if (res == -EINTR || res == -EAGAIN) {
		arm_tty(s, j, in);
	} else if (!in) {
		j->tty_eof = true; /* EIO: every slave fd is closed */
	} else if (res == 0) {
		/* our stdin ended (a pipe, a file): the terminal's EOF key */
		j->inbuf[0] = '\x04';
		j->tty_in_off = 0;
		j->tty_in_len = 1;
		j->tty_eof_sent = true;
		arm_tty_write(s, j, true);
	}
}

static void cancel_stdin(struct sbx_sup *s, struct sbx_jail *j)
{
	struct io_uring_sqe *q;
	if (!j->stdin_armed || !(q = sqe_get(s)))
		return;
	io_uring_prep_cancel64(q, ud(j, TAG_STDIN), 0);
	io_uring_sqe_set_data64(q, TAG_CANCEL);
}

static void handle(struct sbx_sup *s, struct io_uring_cqe *c)
{
	uint64_t d = io_uring_cqe_get_data64(c);
	int tag = (int)(d & TAG_MASK);
	struct sbx_jail *j = (struct sbx_jail *)(uintptr_t)(d & ~TAG_MASK);

	if (!j) {
		if (tag == TAG_WAKE) {
			arm_wake(s); /* woken: the caller looks at why */
		} else if (tag == TAG_INO) {
			s->ino_armed = false;
			if (c->res > 0)
				on_ino(s, c->res);
			if (s->n)
				arm_ino(s);
		}
		return; /* TAG_CANCEL: nothing to do */
	}
	if (tag == TAG_REMAINS) {
		remains_step(s, (struct remains *)j);
		return;
	}
	j->pending--;
	if (tag == TAG_PID) {
		j->pid_armed = false;
		if (c->res == -ECANCELED)
			return;
		j->exited = true;
		/* stragglers outside the pid namespace must not hold the
		 * pipes open: the jail is over once its init is */
		if (j->has_cg)
			sbx_cgroup_kill(&j->cg, NULL);
		cancel_stdin(s, j);
	} else if (tag == TAG_TTY || tag == TAG_STDIN) {
		on_tty(s, j, tag, c->res);
	} else if (tag == TAG_SOCK) {
		j->sock_armed = false;
		if (c->res == -ECANCELED)
			return;
		sbx_jail_poll_msgs(j);
		if (j->got_exit_record && !j->done) {
			/* the command is over: so is the jail (as when init
			 * exits, which it does next) */
			if (j->has_cg)
				sbx_cgroup_kill(&j->cg, NULL);
			cancel_stdin(s, j);
		}
		arm_sock(s, j);
	} else {
		int i = tag == TAG_OUT1 ? 1 : 2;
		struct sbx_buf *b = &j->out[i];
		if (c->res > 0) {
			size_t n = (size_t)c->res;
			if (b->len >= b->limit) {
				b->truncated = true;
			} else if (b->len + n > b->limit) {
				b->len = b->limit;
				b->truncated = true;
			} else {
				b->len += n;
			}
		}
		if (c->res > 0 || c->res == -EAGAIN || c->res == -EINTR) {
			if (!j->done && j->outfd[i] >= 0)
				arm_read(s, j, i);
		} else {
			b->eof = true; /* 0 = EOF, or an error: stop reading */
		}
	}
	maybe_finish(s, j);
}

#define STRAGGLER_GRACE_NS (250 * 1000000LL)

/* killed without a cgroup, the jail's processes outside its pid namespace
 * (if any) may hold its pipes: after a grace, its output is over */
static void force_eof(struct sbx_sup *s, struct sbx_jail *j)
{
	j->force_eof_ns = 0;
	for (int tag = TAG_OUT1; tag <= TAG_OUT2; tag++) {
		struct io_uring_sqe *q = sqe_get(s);
		if (!q)
			return;
		io_uring_prep_cancel64(q, ud(j, tag), 0);
		io_uring_sqe_set_data64(q, TAG_CANCEL);
	}
}

static void check_limits(struct sbx_sup *s, int64_t now)
{
	for (size_t i = 0; i < s->n; i++) {
		struct sbx_jail *j = s->jails[i];
		bool expire = false, cpu = false;
		if (j->force_eof_ns && now >= j->force_eof_ns && !j->done)
			force_eof(s, j);
		if (j->killed_timeout || j->exited || j->done)
			continue;
		struct sbx_timeline *t = j->res.timeline;
		if (t && j->has_cg && !j->parked && now >= t->next_ns)
			sbx_timeline_sample(t, &j->cg, (now - j->t0_ns) / 1000,
					    now);
		if (j->deadline_ns && now >= j->deadline_ns)
			expire = true;
		if (!expire && j->cpu_time_us && j->has_cg) {
			int64_t u;
			/* a pooled job's own share, not the pool's setup */
			if (sbx_cgroup_key(&j->cg, "cpu.stat", "usage_usec",
					   &u) == 0 &&
			    u - (j->cpu_base[0] > 0 ? j->cpu_base[0] : 0) >=
				    j->cpu_time_us)
				expire = cpu = true;
		}
		if (!expire)
			continue;
		j->killed_timeout = true;
		j->killed_cpu = cpu;
		sbx_jail_kill(j, SIGKILL, NULL);
		if (!j->has_cg) {
			/* no cgroup to kill it all: the command's session (its
			 * process group, which it leads) too, then the pipes */
			if (j->cmd_pid > 0)
				kill(-j->cmd_pid, SIGKILL);
			j->force_eof_ns = now + STRAGGLER_GRACE_NS;
		}
		push(s, j, SBX_EV_TIMEOUT);
	}
}

/* jails that ended by seccomp before the kernel logged the culprit */
static void retry_culprits(struct sbx_sup *s)
{
	for (size_t i = 0; i < s->n;) {
		struct sbx_jail *j = s->jails[i];
		if (j->culprit_end_ns && !j->done)
			maybe_finish(s, j);
		if (i < s->n && s->jails[i] == j)
			i++; /* else dropped: another one took its place */
	}
}

static int64_t next_wake(struct sbx_sup *s, int64_t now)
{
	int64_t w = -1;
	for (size_t i = 0; i < s->n; i++) {
		struct sbx_jail *j = s->jails[i];
		int64_t t = -1;
		if (j->force_eof_ns && !j->done && (w < 0 || j->force_eof_ns < w))
			w = j->force_eof_ns;
		if (j->culprit_end_ns && !j->done &&
		    (w < 0 || j->culprit_next_ns < w))
			w = j->culprit_next_ns;
		if (j->killed_timeout || j->exited || j->done)
			continue;
		if (j->deadline_ns)
			t = j->deadline_ns;
		if (j->cpu_time_us) {
			int64_t c = now + CPU_POLL_MS * 1000000LL;
			t = t < 0 || c < t ? c : t;
		}
		if (j->res.timeline && j->has_cg && !j->parked) {
			int64_t c = j->res.timeline->next_ns;
			t = t < 0 || c < t ? c : t;
		}
		if (t >= 0 && (w < 0 || t < w))
			w = t;
	}
	return w;
}

/* wait for the ring until lim (monotonic ns; -1: until something comes)
 * and handle what it brings */
static int pump(struct sbx_sup *s, int64_t lim, struct sbx_err *e)
{
	struct io_uring_cqe *c;
	int64_t now = sbx_now_ns();
	int r;

	io_uring_submit(&s->ring);
	if (lim < 0) {
		r = io_uring_wait_cqe(&s->ring, &c);
	} else {
		int64_t d = lim - now;
		if (d < 0)
			d = 0;
		struct __kernel_timespec ts = { .tv_sec = d / 1000000000,
						.tv_nsec = d % 1000000000 };
		r = io_uring_wait_cqe_timeout(&s->ring, &c, &ts);
	}
	if (r < 0 && r != -ETIME) {
		sbx_err_set(e, -r, "supervisor", "wait for events");
		return -1;
	}
	unsigned head, n = 0;
	io_uring_for_each_cqe(&s->ring, head, c) {
		handle(s, c);
		n++;
	}
	io_uring_cq_advance(&s->ring, n);
	check_limits(s, sbx_now_ns());
	retry_culprits(s);
	io_uring_submit(&s->ring);
	return 0;
}

int sbx_sup_step(struct sbx_sup *s, int timeout_ms, struct sbx_err *e)
{
	int64_t now = sbx_now_ns(), wake = next_wake(s, now), lim = -1;

	if (s->qhead < s->qn)
		return (int)(s->qn - s->qhead);
	if (timeout_ms >= 0)
		lim = now + (int64_t)timeout_ms * 1000000;
	if (wake >= 0 && (lim < 0 || wake < lim))
		lim = wake;
	if (pump(s, lim, e) < 0)
		return -1;
	return (int)(s->qn - s->qhead);
}

/* jails whose result is out but whose init or cgroup is still going */
static bool unsettled(struct sbx_sup *s)
{
	if (s->remains)
		return true;
	for (size_t i = 0; i < s->n; i++)
		if (s->jails[i]->done && !s->jails[i]->cleaned)
			return true;
	return false;
}

int sbx_sup_settle(struct sbx_sup *s, int timeout_ms)
{
	int64_t end = sbx_now_ns() + (int64_t)timeout_ms * 1000000;
	while (unsettled(s)) {
		if (sbx_now_ns() >= end)
			return -1;
		if (pump(s, end, NULL) < 0)
			return -1;
	}
	return 0;
}

bool sbx_sup_pop(struct sbx_sup *s, struct sbx_jail **j, enum sbx_event *ev)
{
	if (s->qhead >= s->qn) {
		s->qhead = s->qn = 0;
		return false;
	}
	*j = s->q[s->qhead].j;
	*ev = s->q[s->qhead].ev;
	s->qhead++;
	if (*j && *ev == SBX_EV_OOM)
		(*j)->oom_queued = false;
	return true;
}

int sbx_sup_count(struct sbx_sup *s)
{
	int n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += !s->jails[i]->done;
	return n;
}

static void purge_events(struct sbx_sup *s, struct sbx_jail *j)
{
	for (size_t i = s->qhead; i < s->qn; i++)
		if (s->q[i].j == j)
			s->q[i].j = NULL;
}

void sbx_sup_remove(struct sbx_sup *s, struct sbx_jail *j)
{
	if (j->supervised) {
		/* a handle closed while its jail runs kills it */
		if (!j->exited && !j->done)
			sbx_jail_kill(j, SIGKILL, NULL);
		adopt(s, j); /* init's end and the leaf: in the background */
		/* cancel everything of this jail, then drain until the ring
		 * holds nothing that points at it */
		for (int tag = TAG_PID; tag <= TAG_SOCK; tag++) {
			struct io_uring_sqe *q = sqe_get(s);
			if (!q)
				break;
			io_uring_prep_cancel64(q, ud(j, tag), 0);
			io_uring_sqe_set_data64(q, TAG_CANCEL);
		}
		io_uring_submit(&s->ring);
		while (j->pending) {
			struct io_uring_cqe *c;
			if (io_uring_wait_cqe(&s->ring, &c) < 0)
				break;
			struct io_uring_cqe copy = *c; /* before the slot is reused */
			io_uring_cqe_seen(&s->ring, c);
			uint64_t d = io_uring_cqe_get_data64(&copy);
			if ((d & TAG_MASK) != TAG_REMAINS &&
			    (struct sbx_jail *)(uintptr_t)(d & ~TAG_MASK) == j) {
				j->pending--;
				continue;
			}
			handle(s, &copy); /* someone else's: as usual */
		}
		drop(s, j);
	}
	purge_events(s, j);
}

void sbx_sup_tty_resize(struct sbx_sup *s)
{
	for (size_t i = 0; i < s->n; i++)
		sbx_jail_tty_resize(s->jails[i]);
}

void sbx_sup_kill_all(struct sbx_sup *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (!s->jails[i]->exited && !s->jails[i]->done)
			sbx_jail_kill(s->jails[i], SIGKILL, NULL);
}

void sbx_sup_free(struct sbx_sup *s)
{
	if (!s)
		return;
	while (s->n)
		sbx_sup_remove(s, s->jails[0]);
	/* what is left to clean up, the slow way: nothing may stay behind */
	while (s->remains) {
		struct remains *r = s->remains;
		if (r->pidfd >= 0) {
			siginfo_t si;
			while (waitid((idtype_t)P_PIDFD, (id_t)r->pidfd, &si,
				      WEXITED | __WALL) < 0 && errno == EINTR)
				;
		}
		if (r->cg.dirfd >= 0 && sbx_cgroup_remove(&r->cg, NULL) < 0)
			fprintf(stderr, "sandboxlua: could not remove %s\n",
				r->cg.path);
		remains_free(s, r);
	}
	io_uring_queue_exit(&s->ring);
	if (s->ino >= 0)
		close(s->ino);
	if (s->wake >= 0)
		close(s->wake);
	free(s->jails);
	free(s->q);
	free(s);
}
