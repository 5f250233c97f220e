/* The plan on the wire: what the host sends the jail's init.
 *
 *   "SBXP" u32 version  u32 body length  body       (a plan)
 *   "SBXJ" u32 version  u32 body length  body       (a parked jail's job)
 *
 * Native byte order (host and init are built together; the version says
 * which layout).  The body is a fixed sequence of fields: u8/u32/u64
 * scalars, strings as u32 length + bytes + NUL (no NUL inside; length
 * 0xffffffff = none), byte strings as u32 length + bytes, lists as u32
 * count + items.  The decoder checks every length, count and string
 * against what is left before it allocates or points into the buffer, and
 * the whole body must be used: a bad plan is an error naming the field,
 * never a crash. */
#include "jail.h"
#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define PLAN_VERSION 1u
#define NO_STR 0xffffffffu
#define MAX_LIST 65536u   /* argv, env, groups, masked paths ... */
#define MAX_BPF 4096u     /* BPF_MAXINSNS */

enum { F_ROOT_RO = 1, F_CHROOT = 2, F_LOOPBACK = 4, F_NNP = 8, F_TTY = 16,
       F_PARK = 32, F_TRACE = 64, F_ROOT_NODEV = 128, F_DETACHED = 256,
       F_EXT = 512, F_PAUSE = 1024,
       F_ROOT_MOUNTPOINTS = 2048, F_JOIN = 4096 };
/* (8192 was a list of namespaces for init to join: the host joins them
 * now, around the clone) */
/* the extension block (F_EXT): after everything else, u32 count, then
 * items { u32 tag, u32 length, payload }; only when a plan uses one, so
 * other plans' bytes stay as they were.  A new field is a new tag. */
enum { X_SECCOMP_FLAGS = 1, X_CAPS5, X_SYSCTL, X_OOM_SCORE_ADJ,
       X_DOMAINNAME, X_PERSONALITY, X_PASS_FDS };
enum { M_RO = 1, M_REC = 2, M_NOSUID = 4, M_NODEV = 8, M_NOEXEC = 16,
       M_OPTIONAL = 32, M_COPYUP = 64 };

/* ---- encoding ----------------------------------------------------------- */
void sbx_wbuf_free(struct sbx_wbuf *w)
{
	free(w->p);
	memset(w, 0, sizeof *w);
}

static void put(struct sbx_wbuf *w, const void *s, size_t n)
{
	if (w->oom)
		return;
	if (w->cap - w->len < n) {
		size_t nc = w->cap ? w->cap : 4096;
		while (nc - w->len < n)
			nc *= 2;
		unsigned char *np = realloc(w->p, nc);
		if (!np) {
			w->oom = true;
			return;
		}
		w->p = np;
		w->cap = nc;
	}
	if (n)
		memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void put_u8(struct sbx_wbuf *w, unsigned v)
{
	unsigned char c = (unsigned char)v;
	put(w, &c, 1);
}
static void put_u32(struct sbx_wbuf *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(struct sbx_wbuf *w, uint64_t v) { put(w, &v, 8); }

static void put_str(struct sbx_wbuf *w, const char *s)
{
	if (!s) {
		put_u32(w, NO_STR);
		return;
	}
	size_t n = strlen(s);
	put_u32(w, (uint32_t)n);
	put(w, s, n + 1);
}

static void put_bytes(struct sbx_wbuf *w, const void *s, size_t n)
{
	put_u32(w, (uint32_t)n);
	put(w, s, n);
}

static size_t strv_len(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

static void put_strv(struct sbx_wbuf *w, const char *const *v)
{
	size_t n = strv_len(v);
	put_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		put_str(w, v[i]);
}

static void put_bpf(struct sbx_wbuf *w, const struct sbx_bpf *b)
{
	put_bytes(w, b ? b->insns : NULL,
		  b ? b->len * sizeof(struct sock_filter) : 0);
}

/* argv, env, cwd and which stdio streams come as fds */
static void put_job(struct sbx_wbuf *w, const struct sbx_plan *p)
{
	unsigned fds = 0;
	put_strv(w, p->argv);
	put_strv(w, p->envp);
	put_str(w, p->cwd);
	for (int i = 0; i < 3; i++)
		if (p->stdio[i].kind != SBX_IO_INHERIT)
			fds |= 1u << i;
	put_u8(w, fds);
}

static void begin(struct sbx_wbuf *w, const char *magic)
{
	memset(w, 0, sizeof *w);
	put(w, magic, 4);
	put_u32(w, PLAN_VERSION);
	put_u32(w, 0); /* the body's length, set by finish() */
}

static int finish(struct sbx_wbuf *w, struct sbx_err *e)
{
	if (w->oom || w->len - 12 > SBX_PLAN_MAX) {
		int oom = w->oom;
		sbx_wbuf_free(w);
		sbx_err_set(e, oom ? ENOMEM : E2BIG, "plan",
			    oom ? "encode the plan" : "the plan is over 64 MiB");
		return -1;
	}
	uint32_t body = (uint32_t)(w->len - 12);
	memcpy(w->p + 8, &body, 4);
	return 0;
}

static bool argv_ok(const struct sbx_plan *p, struct sbx_err *e)
{
	if (!p->argv || !p->argv[0]) {
		sbx_err_set(e, EINVAL, "plan", "plan: no command");
		return false;
	}
	return true;
}

static uint32_t seccomp_flags(const struct sbx_plan *p)
{
	return p->seccomp.enabled ? p->seccomp.flags : 0;
}

static bool has_ext(const struct sbx_plan *p)
{
	return seccomp_flags(p) || p->caps5 || (p->sysctl && p->sysctl[0]) ||
	       p->set_oom_score_adj || p->domainname || p->set_personality ||
	       p->npass_fds;
}

/* one item: its tag, then its payload's length patched in afterwards */
static size_t ext_begin(struct sbx_wbuf *w, uint32_t tag)
{
	put_u32(w, tag);
	put_u32(w, 0);
	return w->len;
}

static void ext_end(struct sbx_wbuf *w, size_t at)
{
	if (w->oom)
		return;
	uint32_t n = (uint32_t)(w->len - at);
	memcpy(w->p + at - 4, &n, 4);
}

static void put_ext(struct sbx_wbuf *w, const struct sbx_plan *p)
{
	size_t at;
	uint32_t n = (seccomp_flags(p) != 0) + p->caps5 +
		     (p->sysctl && p->sysctl[0]) + p->set_oom_score_adj +
		     (p->domainname != NULL) + p->set_personality +
		     (p->npass_fds != 0);
	put_u32(w, n);
	if (seccomp_flags(p)) {
		at = ext_begin(w, X_SECCOMP_FLAGS);
		put_u32(w, seccomp_flags(p));
		ext_end(w, at);
	}
	if (p->caps5) {
		at = ext_begin(w, X_CAPS5);
		put_u64(w, p->cap_eff);
		put_u64(w, p->cap_prm);
		put_u64(w, p->cap_inh);
		put_u64(w, p->cap_amb);
		ext_end(w, at);
	}
	if (p->sysctl && p->sysctl[0]) {
		at = ext_begin(w, X_SYSCTL);
		put_strv(w, p->sysctl);
		ext_end(w, at);
	}
	if (p->set_oom_score_adj) {
		at = ext_begin(w, X_OOM_SCORE_ADJ);
		put_u32(w, (uint32_t)p->oom_score_adj);
		ext_end(w, at);
	}
	if (p->domainname) {
		at = ext_begin(w, X_DOMAINNAME);
		put_str(w, p->domainname);
		ext_end(w, at);
	}
	if (p->set_personality) {
		at = ext_begin(w, X_PERSONALITY);
		put_u32(w, p->personality);
		ext_end(w, at);
	}
	if (p->npass_fds) { /* the count: the fds come with the plan */
		at = ext_begin(w, X_PASS_FDS);
		put_u32(w, (uint32_t)p->npass_fds);
		ext_end(w, at);
	}
}

int sbx_plan_encode(const struct sbx_plan *p, const struct sbx_bpf *cmd,
		    struct sbx_wbuf *w, struct sbx_err *e)
{
	if (!p->park && !argv_ok(p, e))
		return -1;
	begin(w, "SBXP");
	put_u32(w, (p->root_readonly ? F_ROOT_RO : 0) |
		   (p->root_switch == SBX_ROOT_CHROOT ? F_CHROOT : 0) |
		   (p->net_loopback ? F_LOOPBACK : 0) |
		   (p->no_new_privs ? F_NNP : 0) | (p->tty ? F_TTY : 0) |
		   (p->park ? F_PARK : 0) | (p->trace ? F_TRACE : 0) |
		   (p->root_nodev ? F_ROOT_NODEV : 0) |
		   (p->detached ? F_DETACHED : 0) |
		   (p->pause_before_root ? F_PAUSE : 0) |
		   (p->root_mountpoints ? F_ROOT_MOUNTPOINTS : 0) |
		   (has_ext(p) ? F_EXT : 0) | (p->join ? F_JOIN : 0));
	put_u64(w, (uint64_t)(unsigned)p->ns_flags);
	put_str(w, p->rootfs);
	put_str(w, p->hostname);
	if (p->detached) /* only then: other plans' bytes stay as they were */
		put_str(w, p->detached);
	put_u32(w, p->uid);
	put_u32(w, p->gid);
	put_u32(w, (uint32_t)p->ngroups);
	for (size_t i = 0; i < p->ngroups; i++)
		put_u32(w, p->groups[i]);
	put_u32(w, (uint32_t)p->nmounts);
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct sbx_mount *m = &p->mounts[i];
		put_u8(w, m->kind);
		put_u8(w, (m->ro ? M_RO : 0) | (m->rec ? M_REC : 0) |
			      (m->nosuid ? M_NOSUID : 0) |
			      (m->nodev ? M_NODEV : 0) |
			      (m->noexec ? M_NOEXEC : 0) |
			      (m->optional ? M_OPTIONAL : 0) |
			      (m->copyup ? M_COPYUP : 0));
		put_u32(w, m->mode);
		put_str(w, m->src);
		put_str(w, m->dst);
		if (m->data) {
			put_u8(w, 1);
			put_bytes(w, m->data, m->datalen);
		} else {
			put_u8(w, 0);
		}
	}
	/* the device nodes init makes in /dev (the allow-list is the host's) */
	size_t nodes = 0;
	for (size_t i = 0; i < p->ndevices; i++)
		nodes += p->devices[i].path != NULL;
	put_u32(w, (uint32_t)nodes);
	for (size_t i = 0; i < p->ndevices; i++) {
		const struct sbx_device *d = &p->devices[i];
		if (!d->path)
			continue;
		put_u8(w, (unsigned char)d->type);
		put_u32(w, (uint32_t)d->major);
		put_u32(w, (uint32_t)d->minor);
		put_u32(w, d->mode);
		put_str(w, d->path);
	}
	put_strv(w, p->masked);
	put_strv(w, p->readonly);
	put_u64(w, p->caps_keep);
	put_u8(w, (unsigned)sbx_cap_last());
	put_u32(w, (uint32_t)p->nrlimits);
	for (size_t i = 0; i < p->nrlimits; i++) {
		put_u32(w, (uint32_t)p->rlimits[i].resource);
		put_u64(w, p->rlimits[i].soft);
		put_u64(w, p->rlimits[i].hard);
	}
	put_u32(w, (uint32_t)p->umask);
	put_bpf(w, cmd);
	put_u8(w, !p->park);
	if (!p->park)
		put_job(w, p);
	if (has_ext(p))
		put_ext(w, p);
	return finish(w, e);
}

int sbx_job_encode(const struct sbx_plan *p, struct sbx_wbuf *w,
		   struct sbx_err *e)
{
	if (!argv_ok(p, e))
		return -1;
	begin(w, "SBXJ");
	put_job(w, p);
	return finish(w, e);
}

/* ---- decoding ----------------------------------------------------------- */
void sbx_arena_free(struct sbx_arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof *a);
}

static void *arena_alloc(struct sbx_arena *a, size_t n)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 16;
		void **nv = realloc(a->v, nc * sizeof *nv);
		if (!nv)
			return NULL;
		a->v = nv;
		a->cap = nc;
	}
	void *p = calloc(1, n ? n : 1);
	if (p)
		a->v[a->n++] = p;
	return p;
}

struct rd {
	const unsigned char *p;
	size_t len, off;
	struct sbx_arena *a;
	struct sbx_err *e;
	bool bad;
};

static bool bad(struct rd *r, const char *field, const char *what)
{
	if (!r->bad)
		sbx_err_set(r->e, EINVAL, "plan", "plan: %s: %s (at byte %zu)",
			    field, what, r->off);
	r->bad = true;
	return false;
}

static bool get(struct rd *r, void *out, size_t n, const char *field)
{
	if (r->bad)
		return false;
	if (r->len - r->off < n)
		return bad(r, field, "truncated");
	memcpy(out, r->p + r->off, n);
	r->off += n;
	return true;
}

static bool get_u8(struct rd *r, unsigned *v, unsigned max, const char *f)
{
	unsigned char c = 0;
	if (!get(r, &c, 1, f))
		return false;
	if (c > max)
		return bad(r, f, "out of range");
	*v = c;
	return true;
}

static bool get_u32(struct rd *r, uint32_t *v, const char *f)
{
	return get(r, v, 4, f);
}

static bool get_u64(struct rd *r, uint64_t *v, const char *f)
{
	return get(r, v, 8, f);
}

/* a count whose items take at least min bytes each */
static bool get_count(struct rd *r, size_t *n, size_t max, size_t min,
		      const char *f)
{
	uint32_t c;
	if (!get_u32(r, &c, f))
		return false;
	if (c > max)
		return bad(r, f, "too many items");
	if ((size_t)c * min > r->len - r->off)
		return bad(r, f, "count exceeds the plan");
	*n = c;
	return true;
}

/* a string in place: NUL-terminated on the wire, no NUL inside */
static bool get_str(struct rd *r, const char **s, bool optional,
		    const char *f)
{
	uint32_t n;
	if (!get_u32(r, &n, f))
		return false;
	if (n == NO_STR) {
		if (!optional)
			return bad(r, f, "missing");
		*s = NULL;
		return true;
	}
	if ((size_t)n >= r->len - r->off)
		return bad(r, f, "string exceeds the plan");
	const char *p = (const char *)r->p + r->off;
	if (p[n] != '\0' || memchr(p, '\0', n))
		return bad(r, f, "malformed string");
	*s = p;
	r->off += (size_t)n + 1;
	return true;
}

static bool get_bytes(struct rd *r, const void **s, size_t *n, size_t max,
		      const char *f)
{
	uint32_t len;
	if (!get_u32(r, &len, f))
		return false;
	if (len > max || (size_t)len > r->len - r->off)
		return bad(r, f, "bytes exceed the plan");
	*s = r->p + r->off;
	*n = len;
	r->off += len;
	return true;
}

static void *alloc(struct rd *r, size_t n, const char *f)
{
	void *p = r->bad ? NULL : arena_alloc(r->a, n);
	if (!p && !r->bad) {
		sbx_err_set(r->e, ENOMEM, "plan", "plan: %s: out of memory", f);
		r->bad = true;
	}
	return p;
}

static bool get_strv(struct rd *r, const char *const **out, size_t *count,
		     const char *f)
{
	size_t n;
	if (!get_count(r, &n, MAX_LIST, 5, f))
		return false;
	const char **v = alloc(r, (n + 1) * sizeof *v, f);
	if (!v)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!get_str(r, &v[i], false, f))
			return false;
	v[n] = NULL;
	*out = v;
	if (count)
		*count = n;
	return true;
}

static bool abs_path(struct rd *r, const char *s, const char *f)
{
	return s && s[0] == '/' ? true : bad(r, f, "not an absolute path");
}

static bool get_bpf(struct rd *r, struct sbx_bpf *b, const char *f)
{
	const void *insns;
	size_t n;
	if (!get_bytes(r, &insns, &n, MAX_BPF * sizeof(struct sock_filter), f))
		return false;
	if (n % sizeof(struct sock_filter))
		return bad(r, f, "not a whole number of instructions");
	b->len = n / sizeof(struct sock_filter);
	b->insns = NULL;
	if (!b->len)
		return true;
	/* copied: the kernel wants the program aligned */
	b->insns = alloc(r, n, f);
	if (b->insns)
		memcpy(b->insns, insns, n);
	return b->insns != NULL;
}

static bool get_job(struct rd *r, struct sbx_initplan *ip)
{
	size_t argc;
	unsigned fds;
	struct sbx_plan *p = &ip->p;
	if (!get_strv(r, &p->argv, &argc, "argv") ||
	    !get_strv(r, &p->envp, NULL, "env") ||
	    !get_str(r, &p->cwd, true, "cwd") ||
	    !get_u8(r, &fds, 7, "stdio"))
		return false;
	if (argc == 0)
		return bad(r, "argv", "empty");
	if (p->cwd && !abs_path(r, p->cwd, "cwd"))
		return false;
	ip->stdio_fds = fds;
	ip->have_job = true;
	return true;
}

static bool header(struct rd *r, const char *magic)
{
	char m[4];
	uint32_t v, body;
	if (!get(r, m, 4, "header") || !get_u32(r, &v, "header") ||
	    !get_u32(r, &body, "header"))
		return false;
	if (memcmp(m, magic, 4))
		return bad(r, "header", "not a sandboxlua plan");
	if (v != PLAN_VERSION) {
		sbx_err_set(r->e, EPROTO, "plan", "plan: version %u, this "
			    "sbx-init understands %u", (unsigned)v, PLAN_VERSION);
		r->bad = true;
		return false;
	}
	if (body != r->len - r->off)
		return bad(r, "header", "length does not match");
	return true;
}

static bool get_mounts(struct rd *r, struct sbx_plan *p)
{
	size_t n;
	if (!get_count(r, &n, SBX_MAX_MOUNTS, 19, "mounts"))
		return false;
	struct sbx_mount *ms = alloc(r, n * sizeof *ms, "mounts");
	if (!ms)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct sbx_mount *m = &ms[i];
		unsigned kind, fl, has_data;
		uint32_t mode;
		if (!get_u8(r, &kind, SBX_MNT_CGROUP, "mounts.kind") ||
		    !get_u8(r, &fl, 127, "mounts.flags") ||
		    !get_u32(r, &mode, "mounts.mode") ||
		    !get_str(r, &m->src, true, "mounts.src") ||
		    !get_str(r, &m->dst, false, "mounts.dst") ||
		    !abs_path(r, m->dst, "mounts.dst") ||
		    !get_u8(r, &has_data, 1, "mounts.data"))
			return false;
		if (mode > 07777)
			return bad(r, "mounts.mode", "out of range");
		m->kind = (enum sbx_mount_kind)kind;
		m->mode = mode;
		m->ro = fl & M_RO;
		m->rec = fl & M_REC;
		m->nosuid = fl & M_NOSUID;
		m->nodev = fl & M_NODEV;
		m->noexec = fl & M_NOEXEC;
		m->optional = fl & M_OPTIONAL;
		m->copyup = fl & M_COPYUP;
		if (has_data) {
			const void *d;
			if (!get_bytes(r, &d, &m->datalen, SBX_PLAN_MAX,
				       "mounts.data"))
				return false;
			/* options and file contents: kept NUL-terminated */
			char *c = alloc(r, m->datalen + 1, "mounts.data");
			if (!c)
				return false;
			memcpy(c, d, m->datalen);
			m->data = c;
		}
		bool need_src = m->kind == SBX_MNT_BIND ||
				m->kind == SBX_MNT_SYMLINK ||
				m->kind == SBX_MNT_OVERLAY;
		if (need_src && !m->src)
			return bad(r, "mounts.src", "missing");
	}
	p->mounts = ms;
	p->nmounts = n;
	return true;
}

static bool get_devices(struct rd *r, struct sbx_plan *p)
{
	size_t n;
	if (!get_count(r, &n, SBX_MAX_DEVICES, 18, "devices"))
		return false;
	struct sbx_device *ds = alloc(r, n * sizeof *ds, "devices");
	for (size_t i = 0; ds && i < n; i++) {
		unsigned type;
		uint32_t maj, min, mode;
		if (!get_u8(r, &type, 255, "devices.type") ||
		    !get_u32(r, &maj, "devices.major") ||
		    !get_u32(r, &min, "devices.minor") ||
		    !get_u32(r, &mode, "devices.mode") ||
		    !get_str(r, &ds[i].path, false, "devices.path") ||
		    !abs_path(r, ds[i].path, "devices.path"))
			return false;
		if ((type != 'c' && type != 'b') || mode > 07777)
			return bad(r, "devices", "not a device node");
		ds[i] = (struct sbx_device){ (char)type, maj, min, 0,
					     ds[i].path, mode };
	}
	p->devices = ds;
	p->ndevices = n;
	return ds != NULL;
}

/* a sysctl's key: a path below /proc/sys, no "." or ".." part */
static bool sysctl_key_ok(const char *k)
{
	if (!*k || *k == '/')
		return false;
	for (const char *c = k; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' ||
		      *c == '.' || *c == '/' || *c == '@' || *c == ':'))
			return false;
	for (const char *seg = k; seg; seg = strchr(seg, '/')) {
		if (*seg == '/')
			seg++;
		size_t n = strcspn(seg, "/");
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
	}
	return true;
}

static bool get_ext_item(struct rd *r, struct sbx_initplan *ip,
			 uint32_t tag)
{
	struct sbx_plan *p = &ip->p;
	uint32_t u32;
	size_t n;
	switch (tag) {
	case X_SECCOMP_FLAGS:
		if (!get_u32(r, &u32, "seccomp.flags"))
			return false;
		if (u32 & ~SBX_SECCOMP_FLAGS_OK)
			return bad(r, "seccomp.flags", "unknown flags");
		ip->cmd_bpf_flags = u32;
		return true;
	case X_CAPS5:
		p->caps5 = true;
		return get_u64(r, &p->cap_eff, "caps.effective") &&
		       get_u64(r, &p->cap_prm, "caps.permitted") &&
		       get_u64(r, &p->cap_inh, "caps.inheritable") &&
		       get_u64(r, &p->cap_amb, "caps.ambient");
	case X_SYSCTL:
		if (!get_strv(r, &p->sysctl, &n, "sysctl"))
			return false;
		if (n % 2)
			return bad(r, "sysctl", "a key without a value");
		for (size_t i = 0; i < n; i += 2)
			if (!sysctl_key_ok(p->sysctl[i]))
				return bad(r, "sysctl", "not a sysctl key");
		return true;
	case X_OOM_SCORE_ADJ:
		if (!get_u32(r, &u32, "oom_score_adj"))
			return false;
		if ((int32_t)u32 < -1000 || (int32_t)u32 > 1000)
			return bad(r, "oom_score_adj", "out of range");
		p->set_oom_score_adj = true;
		p->oom_score_adj = (int32_t)u32;
		return true;
	case X_DOMAINNAME:
		if (!get_str(r, &p->domainname, false, "domainname"))
			return false;
		if (strlen(p->domainname) > 64)
			return bad(r, "domainname", "over 64 bytes");
		return true;
	case X_PERSONALITY:
		p->set_personality = true;
		return get_u32(r, &p->personality, "personality");
	case X_PASS_FDS:
		if (!get_u32(r, &u32, "pass_fds"))
			return false;
		if (u32 == 0 || u32 > SBX_MAX_PASS_FDS)
			return bad(r, "pass_fds", "out of range");
		p->npass_fds = u32;
		return true;
	}
	return bad(r, "extension", "unknown item");
}

static bool get_ext(struct rd *r, struct sbx_initplan *ip)
{
	size_t n;
	unsigned seen = 0;
	if (!get_count(r, &n, 64, 8, "extension"))
		return false;
	for (size_t i = 0; i < n; i++) {
		uint32_t tag, len;
		if (!get_u32(r, &tag, "extension") ||
		    !get_u32(r, &len, "extension"))
			return false;
		if (len > r->len - r->off)
			return bad(r, "extension", "item exceeds the plan");
		if (tag < 32 && (seen & (1u << tag)))
			return bad(r, "extension", "an item given twice");
		if (tag < 32)
			seen |= 1u << tag;
		size_t end = r->off + len, full = r->len;
		r->len = end; /* the item's payload, exactly */
		bool ok = get_ext_item(r, ip, tag);
		if (ok && r->off != end)
			ok = bad(r, "extension", "item longer than its fields");
		r->len = full;
		if (!ok)
			return false;
	}
	return true;
}

static bool get_body(struct rd *r, struct sbx_initplan *ip)
{
	struct sbx_plan *p = &ip->p;
	uint32_t fl, u32;
	uint64_t ns;
	size_t n;
	unsigned has_job, u8;

	if (!get_u32(r, &fl, "flags") || !get_u64(r, &ns, "namespaces"))
		return false;
	if (fl > 8191)
		return bad(r, "flags", "unknown flags");
	if (ns & ~(uint64_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
			     CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
			     CLONE_NEWCGROUP | CLONE_NEWTIME))
		return bad(r, "namespaces", "unknown namespace flags");
	p->root_readonly = fl & F_ROOT_RO;
	p->root_switch = fl & F_CHROOT ? SBX_ROOT_CHROOT : SBX_ROOT_PIVOT;
	p->net_loopback = fl & F_LOOPBACK;
	p->no_new_privs = fl & F_NNP;
	p->tty = fl & F_TTY;
	p->park = fl & F_PARK;
	p->trace = fl & F_TRACE;
	p->root_nodev = fl & F_ROOT_NODEV;
	p->join = fl & F_JOIN;
	p->pause_before_root = fl & F_PAUSE;
	p->root_mountpoints = fl & F_ROOT_MOUNTPOINTS;
	p->ns_flags = (int)ns;
	if (!get_str(r, &p->rootfs, true, "rootfs") ||
	    !get_str(r, &p->hostname, true, "hostname") ||
	    ((fl & F_DETACHED) &&
	     !get_str(r, &p->detached, false, "detached")) ||
	    !get_u32(r, &p->uid, "uid") || !get_u32(r, &p->gid, "gid") ||
	    !get_count(r, &n, MAX_LIST, 4, "groups"))
		return false;
	if (p->uid == (uint32_t)-1 || p->gid == (uint32_t)-1)
		return bad(r, "uid", "-1 is not an id");
	gid_t *g = alloc(r, n * sizeof *g, "groups");
	for (size_t i = 0; g && i < n; i++)
		if (!get_u32(r, &g[i], "groups"))
			return false;
	p->groups = g;
	p->ngroups = n;
	if (!get_mounts(r, p) || !get_devices(r, p) ||
	    !get_strv(r, &p->masked, NULL, "masked") ||
	    !get_strv(r, &p->readonly, NULL, "readonly") ||
	    !get_u64(r, &p->caps_keep, "caps") ||
	    !get_u8(r, &u8, 63, "cap_last") ||
	    !get_count(r, &n, RLIM_NLIMITS, 20, "rlimits"))
		return false;
	p->cap_last = (int)u8;
	for (const char *const *m = p->masked; *m; m++)
		if (!abs_path(r, *m, "masked"))
			return false;
	for (const char *const *m = p->readonly; *m; m++)
		if (!abs_path(r, *m, "readonly"))
			return false;
	struct sbx_rlim *rl = alloc(r, n * sizeof *rl, "rlimits");
	for (size_t i = 0; rl && i < n; i++) {
		uint64_t so, ha;
		if (!get_u32(r, &u32, "rlimits.resource") ||
		    !get_u64(r, &so, "rlimits.soft") ||
		    !get_u64(r, &ha, "rlimits.hard"))
			return false;
		if (u32 >= RLIM_NLIMITS)
			return bad(r, "rlimits.resource", "unknown resource");
		rl[i] = (struct sbx_rlim){ (int)u32, so, ha };
	}
	p->rlimits = rl;
	p->nrlimits = n;
	if (!get_u32(r, &u32, "umask"))
		return false;
	if ((int32_t)u32 < -1 || (int32_t)u32 > 0777)
		return bad(r, "umask", "out of range");
	p->umask = (int32_t)u32;
	if (!get_bpf(r, &ip->cmd_bpf, "seccomp") ||
	    !get_u8(r, &has_job, 1, "job"))
		return false;
	if (has_job == p->park)
		return bad(r, "job", p->park ? "a parked plan has a job"
					     : "no job");
	if (has_job && !get_job(r, ip))
		return false;
	return !(fl & F_EXT) || get_ext(r, ip);
}

static int done(struct rd *r, struct sbx_initplan *ip)
{
	if (!r->bad && r->off != r->len)
		bad(r, "plan", "trailing bytes");
	if (r->bad) {
		sbx_initplan_free(ip);
		return -1;
	}
	return 0;
}

int sbx_plan_decode(const void *buf, size_t len, struct sbx_initplan *ip,
		    struct sbx_err *e)
{
	struct rd r = { buf, len, 0, &ip->arena, e, false };
	memset(ip, 0, sizeof *ip);
	r.a = &ip->arena;
	ip->p.umask = -1;
	if (header(&r, "SBXP"))
		get_body(&r, ip);
	return done(&r, ip);
}

int sbx_job_decode(const void *buf, size_t len, struct sbx_initplan *ip,
		   struct sbx_err *e)
{
	struct rd r = { buf, len, 0, &ip->arena, e, false };
	if (ip->have_job) {
		sbx_err_set(e, EINVAL, "plan", "plan: a second job");
		return -1;
	}
	if (header(&r, "SBXJ"))
		get_job(&r, ip);
	if (!r.bad && r.off != r.len)
		bad(&r, "job", "trailing bytes");
	return r.bad ? -1 : 0;
}

void sbx_initplan_free(struct sbx_initplan *ip)
{
	sbx_arena_free(&ip->arena);
	memset(&ip->p, 0, sizeof ip->p);
	ip->have_job = false;
}
