/* libFuzzer target: the plan decoder of sbx-init (core/plan.c).  Every
 * input is decoded as a plan and as a job; whatever decodes is walked
 * completely (so ASan sees every pointer the decoder handed out) and
 * freed.  The decoder must never read out of bounds, leak, or hand init a
 * string without its NUL, a relative mount target or a count it cannot
 * back.  make fuzz runs it; fuzz/corpus/plan_decode holds real plans. */
#include "../core/jail.h"
#include <assert.h>
#include <linux/filter.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static size_t walk_strv(const char *const *v)
{
	size_t sum = 0;
	for (; v && *v; v++)
		sum += strlen(*v);
	return sum;
}

static void walk(const struct sbx_initplan *ip)
{
	const struct sbx_plan *p = &ip->p;
	size_t sum = walk_strv(p->argv) + walk_strv(p->envp) +
		     walk_strv(p->masked) + walk_strv(p->readonly);
	if (p->rootfs)
		sum += strlen(p->rootfs);
	if (p->hostname)
		sum += strlen(p->hostname);
	if (p->cwd)
		assert(p->cwd[0] == '/');
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct sbx_mount *m = &p->mounts[i];
		assert(m->dst && m->dst[0] == '/');
		assert(m->kind <= SBX_MNT_CGROUP);
		sum += strlen(m->dst) + (m->src ? strlen(m->src) : 0);
		if (m->data)
			assert(m->data[m->datalen] == '\0');
	}
	for (size_t i = 0; i < p->ngroups; i++)
		sum += p->groups[i];
	for (size_t i = 0; i < p->nrlimits; i++)
		assert(p->rlimits[i].resource >= 0);
	const struct sock_filter *f = ip->cmd_bpf.insns;
	for (size_t i = 0; i < ip->cmd_bpf.len; i++)
		sum += f[i].code;
	if (ip->have_job)
		assert(p->argv && p->argv[0]);
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct sbx_initplan ip;
	struct sbx_err e;

	if (sbx_plan_decode(d, n, &ip, &e) == 0) {
		walk(&ip);
		/* a parked plan then takes a job */
		if (!ip.have_job && sbx_job_decode(d, n, &ip, &e) == 0)
			walk(&ip);
		sbx_initplan_free(&ip);
	} else {
		assert(e.msg[0] && !strchr(e.msg, '\n'));
	}
	memset(&ip, 0, sizeof ip);
	if (sbx_job_decode(d, n, &ip, &e) == 0)
		walk(&ip);
	sbx_initplan_free(&ip);
	return 0;
}
