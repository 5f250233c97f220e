/* Timelines: a running jail's cgroup read at an interval (memory, CPU,
 * pids, io bytes, pressure), into a bounded list of points.  When the list
 * is full, neighbours merge pairwise and the interval doubles, so a job of
 * any length keeps at most max points, evenly spread, and the highest
 * memory and pids seen survive the merge (a peak is not averaged away). */
#include "sbx.h"
#include "cgparse.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

struct sbx_timeline *sbx_timeline_new(int64_t interval_ns, size_t max)
{
	struct sbx_timeline *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->interval_ns = interval_ns;
	t->max = max >= 4 ? max : 1000;
	t->max &= ~(size_t)1; /* even: the merge pairs them all */
	return t;
}

void sbx_timeline_free(struct sbx_timeline *t)
{
	if (!t)
		return;
	free(t->s);
	free(t);
}

static int64_t one(int dirfd, const char *file)
{
	char buf[64];
	if (sbx_read_at(dirfd, file, buf, sizeof buf) < 0)
		return -1;
	return sbx_parse_count(buf);
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static void merge(struct sbx_timeline *t)
{
	size_t k = 0;
	for (size_t i = 0; i + 1 < t->n; i += 2, k++) {
		struct sbx_sample m = t->s[i + 1]; /* its counters, its time */
		m.memory = max64(t->s[i].memory, m.memory);
		m.pids = max64(t->s[i].pids, m.pids);
		t->s[k] = m;
	}
	if (t->n % 2)
		t->s[k++] = t->s[t->n - 1];
	t->n = k;
	t->interval_ns *= 2;
}

void sbx_timeline_sample(struct sbx_timeline *t, struct sbx_cgroup *cg,
			 int64_t t_us, int64_t now_ns)
{
	static const char *const psi[] = { "cpu.pressure", "memory.pressure",
					   "io.pressure" };
	struct sbx_sample s = { .t_us = t_us };
	char buf[2048];

	t->next_ns = now_ns + t->interval_ns;
	if (cg->dirfd < 0)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		if (cap > t->max)
			cap = t->max;
		if (t->n == cap) { /* full: thin it out */
			merge(t);
		} else {
			struct sbx_sample *ns = realloc(t->s, cap * sizeof *ns);
			if (!ns)
				return; /* this point is lost, not the jail */
			t->s = ns;
			t->cap = cap;
		}
	}
	s.memory = one(cg->dirfd, "memory.current");
	s.pids = one(cg->dirfd, "pids.current");
	struct sbx_kv cpu = { "usage_usec", &s.cpu_us };
	if (sbx_read_at(cg->dirfd, "cpu.stat", buf, sizeof buf) >= 0)
		sbx_parse_keys(buf, &cpu, 1);
	else
		s.cpu_us = -1;
	s.io_rbytes = s.io_wbytes = -1;
	struct sbx_iostat io[SBX_MAX_IODEV];
	if (sbx_read_at(cg->dirfd, "io.stat", buf, sizeof buf) >= 0) {
		size_t n = sbx_parse_iostat(buf, io, SBX_MAX_IODEV);
		s.io_rbytes = s.io_wbytes = 0;
		for (size_t i = 0; i < n; i++) {
			s.io_rbytes += io[i].rbytes > 0 ? io[i].rbytes : 0;
			s.io_wbytes += io[i].wbytes > 0 ? io[i].wbytes : 0;
		}
	}
	for (int i = 0; i < 3; i++) {
		struct sbx_psi some, full;
		if (sbx_read_at(cg->dirfd, psi[i], buf, sizeof buf) < 0)
			buf[0] = '\0';
		sbx_parse_psi(buf, &some, &full);
		s.psi_some_us[i] = some.total;
	}
	t->s[t->n++] = s;
}
