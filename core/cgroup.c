/* cgroup v2: find the hierarchy, own a place in it, create leaves, write
 * limits through the leaf's directory fd, read stats, kill and remove.
 * The tiny API isolate has: create, set, spawn-into (spawn.c), stats, remove. */
#include "sbx.h"
#include "cgparse.h"
#include "jail.h"
#include "util.h"
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

int sbx_cgroup_mountpoint(char *out, size_t len, struct sbx_err *e)
{
	size_t n;
	char *buf = sbx_read_whole(AT_FDCWD, "/proc/self/mountinfo", &n);
	if (!buf) {
		sbx_err_set(e, errno, "cgroup", "read /proc/self/mountinfo");
		return -1;
	}
	int rc = sbx_parse_mountinfo_cgroup2(buf, out, len);
	free(buf);
	if (rc < 0) {
		sbx_err_set(e, ENOENT, "cgroup",
			    "no cgroup2 hierarchy is mounted (see "
			    "/proc/self/mountinfo; mount -t cgroup2 none "
			    "/sys/fs/cgroup or boot with "
			    "systemd.unified_cgroup_hierarchy=1)");
		return -1;
	}
	return 0;
}

/* the mount point, found once per spawning context (mountinfo can be long
 * on a busy host); without a context, each time */
static int mountpoint(struct sbx_ctx *c, char *out, size_t len,
		      struct sbx_err *e)
{
	if (c && c->cgmount[0]) {
		snprintf(out, len, "%s", c->cgmount);
		return 0;
	}
	if (sbx_cgroup_mountpoint(out, len, e) < 0)
		return -1;
	if (c)
		snprintf(c->cgmount, sizeof c->cgmount, "%s", out);
	return 0;
}

/* our own cgroup path relative to the cgroup2 root ("/" or "/user.slice/...") */
static int own_cgroup(char *out, size_t len)
{
	size_t n;
	char *buf = sbx_read_whole(AT_FDCWD, "/proc/self/cgroup", &n);
	if (!buf)
		return -1;
	int rc = sbx_parse_own_cgroup(buf, out, len);
	free(buf);
	if (rc < 0)
		errno = ENOENT;
	return rc;
}

static bool delegated(const char *path)
{
	struct stat st;
	char v[8];
	ssize_t n;

	if (stat(path, &st) < 0)
		return false;
	/* systemd marks Delegate=yes cgroups with an xattr (v251+) */
	n = getxattr(path, "trusted.delegate", v, sizeof v);
	if (n <= 0)
		n = getxattr(path, "user.delegate", v, sizeof v);
	if (n > 0 && v[0] == '1')
		return true;
	/* an unprivileged owner who can write procs and subtree_control */
	if (geteuid() != 0 && st.st_uid == geteuid()) {
		char f[4200];
		snprintf(f, sizeof f, "%s/cgroup.subtree_control", path);
		if (access(f, W_OK) == 0)
			return true;
	}
	return false;
}

/* The root default parent is ours alone: a spawning context that used it
 * removes it when it is freed (sbx_ctx_free, as a host ends), if no other
 * host's jail lives there (rmdir fails EBUSY then).  A host that raced with
 * that removal recreates it (setup_cgroup retries on ENOENT). */
void sbx_cgroup_release_default(struct sbx_ctx *c)
{
	if (c && c->default_parent[0])
		rmdir(c->default_parent);
	/* levels prepare_chain made, deepest first; EBUSY: still in use */
	while (c && c->ncreated > 0) {
		char *d = c->created[--c->ncreated];
		rmdir(d);
		free(d);
	}
}

int sbx_cgroup_pick_parent(struct sbx_ctx *ctx, const char *explicit_parent,
			   char *out, size_t len, char *why, size_t whylen,
			   struct sbx_err *e)
{
	char mnt[4096], own[4096], p[8300];
	const char *env = getenv("SANDBOXLUA_CGROUP");

	if (mountpoint(ctx, mnt, sizeof mnt, e) < 0)
		return -1;
	const char *cand = explicit_parent && *explicit_parent ? explicit_parent
			   : env && *env			? env
								: NULL;
	if (cand) {
		if (sbx_cgroup_resolve(ctx, cand, out, len, e) < 0)
			return -1;
		snprintf(why, whylen, "%s",
			 cand == env ? "from $SANDBOXLUA_CGROUP"
				     : "from the recipe / --cgroup-parent");
		return 0;
	}
	if (own_cgroup(own, sizeof own) == 0 && strcmp(own, "/") != 0) {
		snprintf(p, sizeof p, "%s%s", mnt, own);
		if (delegated(p)) {
			snprintf(out, len, "%s", p);
			snprintf(why, whylen, "our own delegated cgroup");
			return 0;
		}
	}
	if (geteuid() == 0) {
		snprintf(out, len, "%s/sandboxlua", mnt);
		snprintf(why, whylen, "root default");
		if (ctx && !ctx->default_parent[0])
			snprintf(ctx->default_parent, sizeof ctx->default_parent,
				 "%s", out);
		return 0;
	}
	sbx_err_set(e, EACCES, "cgroup",
		    "no delegated cgroup to create jails in (limits need "
		    "one): run under `systemd-run --user --scope -p "
		    "Delegate=yes sandboxlua ...`, set SANDBOXLUA_CGROUP to "
		    "a cgroup you own, or drop the limits (cgroup = false)");
	return -1;
}

/* which v1 hierarchy holds a controller, for the hybrid-host message */
static bool bound_to_v1(const char *ctl)
{
	size_t n;
	char *buf = sbx_read_whole(AT_FDCWD, "/proc/self/cgroup", &n);
	if (!buf)
		return false;
	bool held = sbx_parse_v1_holds(buf, ctl);
	free(buf);
	return held;
}

/* each pid of dirfd/cgroup.procs, read whole: only whole lines that are
 * pids count (a pid cut short could name another process) */
static int each_pid(int dirfd, int (*fn)(pid_t pid, void *arg), void *arg)
{
	size_t len;
	char *buf = sbx_read_whole(dirfd, "cgroup.procs", &len);
	if (!buf)
		return -1;
	int n = sbx_parse_pids(buf, fn, arg);
	free(buf);
	return n;
}

struct collect { pid_t *v; size_t n, cap; };
static int collect_pid(pid_t pid, void *arg)
{
	struct collect *c = arg;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 64;
		pid_t *nv = realloc(c->v, nc * sizeof *nv);
		if (!nv)
			return -1;
		c->v = nv;
		c->cap = nc;
	}
	c->v[c->n++] = pid;
	return 0;
}

int sbx_cgroup_pids(struct sbx_cgroup *cg, pid_t **out, size_t *n,
		    struct sbx_err *e)
{
	struct collect c = { 0 };
	if (each_pid(cg->dirfd, collect_pid, &c) < 0) {
		sbx_err_set(e, errno, "cgroup", "read %s/cgroup.procs", cg->path);
		free(c.v);
		return -1;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

struct mover { int to; const char *leaf; struct sbx_err *e; bool failed; };
static int move_pid(pid_t pid, void *arg)
{
	struct mover *m = arg;
	char s[16];
	int n = snprintf(s, sizeof s, "%d", (int)pid);
	if (write(m->to, s, (size_t)n) < 0 && errno != ESRCH) {
		sbx_err_set(m->e, errno, "cgroup", "move pid %d into %s",
			    (int)pid, m->leaf);
		m->failed = true;
		return -1;
	}
	return 0;
}

/* Move every process of dirfd into dirfd/leaf (no-internal-processes rule:
 * a cgroup with processes cannot hand controllers to its children). */
static int evacuate(int dirfd, const char *leaf, struct sbx_err *e)
{
	cleanup_fd int to = -1;

	if (mkdirat(dirfd, leaf, 0755) < 0 && errno != EEXIST) {
		sbx_err_set(e, errno, "cgroup", "mkdir %s", leaf);
		return -1;
	}
	char f[256];
	snprintf(f, sizeof f, "%s/cgroup.procs", leaf);
	to = openat(dirfd, f, O_WRONLY | O_CLOEXEC);
	if (to < 0) {
		sbx_err_set(e, errno, "cgroup", "open %s", f);
		return -1;
	}
	struct mover m = { to, leaf, e, false };
	for (int round = 0; round < 8; round++) {
		int n = each_pid(dirfd, move_pid, &m);
		if (m.failed)
			return -1;
		if (n <= 0)
			return 0; /* none left (or cgroup.procs unreadable) */
	}
	return 0;
}

/* The root default parent sits right below the root.  Without systemd
 * (a container, a VM, a minimal init) nobody enables controllers at the
 * root: do it, as systemd does at boot, for the ones this jail needs and
 * the root has.  With systemd the root's subtree_control is its own.
 * True when something was enabled. */
static bool enable_from_root(const char *mnt, uint32_t want, uint32_t avail)
{
	char rootavail[1024], w[64];
	cleanup_fd int rfd = -1;
	bool did = false;

	if (access("/run/systemd/system", F_OK) == 0 || !want)
		return false;
	rfd = open(mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0 || sbx_read_at(rfd, "cgroup.controllers", rootavail,
				   sizeof rootavail) < 0)
		return false;
	uint32_t root = sbx_ctl_parse(rootavail);
	for (int c = 0; c < SBX_CTL_N; c++) {
		if (!(want & ~avail & root & SBX_CTL_BIT(c)))
			continue;
		snprintf(w, sizeof w, "+%s", sbx_ctl_name(c));
		if (sbx_write_at(rfd, "cgroup.subtree_control", w) == 0)
			did = true;
	}
	return did;
}

static int unavailable(const char *parent, int c, const char *avail,
		       struct sbx_err *e)
{
	const char *n = sbx_ctl_name(c);
	if (bound_to_v1(n))
		sbx_err_set(e, ENOTSUP, "cgroup",
			    "controller %s is bound to cgroup v1 on this host "
			    "(hybrid hierarchy); boot with cgroup_no_v1=all or "
			    "systemd.unified_cgroup_hierarchy=1, or mark the "
			    "limit optional", n);
	else
		sbx_err_set(e, ENOTSUP, "cgroup",
			    "controller %s is not available in %s "
			    "(cgroup.controllers: \"%s\"); delegate it from the "
			    "parent, e.g. systemd-run -p Delegate=%s, or mark "
			    "the limit optional", n, parent, avail, n);
	return -1;
}

/* enable want (all of it there: checked) in dir's subtree_control; EBUSY
 * (processes in dir) is solved only when dir is our own cgroup, by
 * moving ourselves into a leaf.  best: tried too, refusals ignored. */
static int enable_in(const char *mnt, int dfd, const char *dir, uint32_t want,
		     uint32_t best, struct sbx_err *e)
{
	char enabled[1024], own[4096], ownp[8300], w[64];
	if (sbx_read_at(dfd, "cgroup.subtree_control", enabled,
			sizeof enabled) < 0) {
		sbx_err_set(e, errno, "cgroup", "read %s/cgroup.subtree_control",
			    dir);
		return -1;
	}
	want &= ~sbx_ctl_parse(enabled);
	best &= ~sbx_ctl_parse(enabled) & ~want;
	for (int c = 0; c < SBX_CTL_N; c++) {
		if (!(want & SBX_CTL_BIT(c)))
			continue;
		snprintf(w, sizeof w, "+%s", sbx_ctl_name(c));
		if (sbx_write_at(dfd, "cgroup.subtree_control", w) == 0)
			continue;
		if (errno != EBUSY) {
			sbx_err_set(e, errno, "cgroup",
				    "enable %s in %s/cgroup.subtree_control",
				    sbx_ctl_name(c), dir);
			return -1;
		}
		/* EBUSY: processes live in dir.  Only when it is our own
		 * cgroup may we move them (ourselves) into a leaf. */
		ownp[0] = '\0';
		if (own_cgroup(own, sizeof own) == 0)
			snprintf(ownp, sizeof ownp, "%s%s", mnt,
				 strcmp(own, "/") ? own : "");
		if (strcmp(ownp, dir) != 0) {
			sbx_err_set(e, EBUSY, "cgroup",
				    "cannot enable %s in %s: it has processes "
				    "of its own (no-internal-processes rule); "
				    "pick a parent without processes",
				    sbx_ctl_name(c), dir);
			return -1;
		}
		if (evacuate(dfd, "supervisor", e) < 0)
			return -1;
		if (sbx_write_at(dfd, "cgroup.subtree_control", w) < 0) {
			sbx_err_set(e, errno, "cgroup",
				    "enable %s in %s/cgroup.subtree_control",
				    sbx_ctl_name(c), dir);
			return -1;
		}
	}
	/* after the evacuation, if one was needed */
	for (int c = 0; c < SBX_CTL_N; c++) {
		if (!(best & SBX_CTL_BIT(c)))
			continue;
		snprintf(w, sizeof w, "+%s", sbx_ctl_name(c));
		(void)sbx_write_at(dfd, "cgroup.subtree_control", w);
	}
	return 0;
}

/* what dir offers its children: the controllers of need|optional it has
 * (after enabling them from the root for our default parent); an absent
 * needed one is the error, an absent optional one goes to *missing; of
 * best, what it has is enabled where the kernel lets us */
static int offer(const char *mnt, int dfd, const char *dir, bool ours,
		 uint32_t need, uint32_t optional, uint32_t best,
		 uint32_t *missing, uint32_t *out, struct sbx_err *e)
{
	char avail[1024];
	if (sbx_read_at(dfd, "cgroup.controllers", avail, sizeof avail) < 0) {
		sbx_err_set(e, errno, "cgroup",
			    "%s is not a cgroup v2 directory", dir);
		return -1;
	}
	uint32_t have = sbx_ctl_parse(avail);
	if (ours && enable_from_root(mnt, need | optional, have)) {
		if (sbx_read_at(dfd, "cgroup.controllers", avail,
				sizeof avail) < 0) {
			sbx_err_set(e, errno, "cgroup",
				    "read %s/cgroup.controllers", dir);
			return -1;
		}
		have = sbx_ctl_parse(avail);
	}
	uint32_t lack = need & ~optional & ~have;
	for (int c = 0; c < SBX_CTL_N; c++)
		if (lack & SBX_CTL_BIT(c))
			return unavailable(dir, c, avail, e);
	if (missing)
		*missing |= optional & ~have;
	*out = (need | optional) & have;
	return enable_in(mnt, dfd, dir, *out, best & have, e);
}

int sbx_cgroup_prepare_parent(struct sbx_ctx *ctx, const char *parent,
			      uint32_t need, uint32_t optional, uint32_t best,
			      uint32_t *missing, struct sbx_err *e)
{
	char mnt[4096];
	cleanup_fd int pfd = -1;
	uint32_t got;

	if (missing)
		*missing = 0;
	if (mountpoint(ctx, mnt, sizeof mnt, e) < 0)
		return -1;
	/* only the root default parent is ours to create: a parent from
	 * the recipe, --cgroup-parent or $SANDBOXLUA_CGROUP must exist (a
	 * typo is an error, not a new directory left behind) */
	bool ours = ctx && !strcmp(parent, ctx->default_parent);
	if (ours && mkdir(parent, 0755) < 0 && errno != EEXIST) {
		sbx_err_set(e, errno, "cgroup", "create parent cgroup %s",
			    parent);
		return -1;
	}
	if (!ours && access(parent, F_OK) < 0) {
		sbx_err_set(e, errno, "cgroup", "parent cgroup %s%s", parent,
			    errno == ENOENT ? " does not exist (it came from "
					      "the recipe, --cgroup-parent or "
					      "$SANDBOXLUA_CGROUP: create it "
					      "first, fix the path, or say "
					      "cgroup.create = true)"
					    : "");
		return -1;
	}
	pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0) {
		sbx_err_set(e, errno, "cgroup", "open %s", parent);
		return -1;
	}
	return offer(mnt, pfd, parent, ours, need, optional, best, missing,
		     &got, e);
}

int sbx_cgroup_prepare_chain(struct sbx_ctx *ctx, const char *parent,
			     uint32_t need, uint32_t optional, uint32_t best,
			     uint32_t *missing, struct sbx_err *e)
{
	char mnt[4096], dir[4096];
	if (mountpoint(ctx, mnt, sizeof mnt, e) < 0)
		return -1;
	size_t ml = strlen(mnt);
	if (strncmp(parent, mnt, ml) || (parent[ml] && parent[ml] != '/') ||
	    strlen(parent) >= sizeof dir) {
		sbx_err_set(e, EINVAL, "cgroup", "parent %s is not below %s",
			    parent, mnt);
		return -1;
	}
	/* the deepest level that exists */
	snprintf(dir, sizeof dir, "%s", parent);
	while (strlen(dir) > ml && access(dir, F_OK) < 0) {
		if (errno != ENOENT) {
			sbx_err_set(e, errno, "cgroup", "parent %s", dir);
			return -1;
		}
		*strrchr(dir, '/') = '\0';
	}
	if (missing)
		*missing = 0;
	/* down the chain: each level offers the controllers to the next */
	while (strcmp(dir, parent) != 0) {
		uint32_t got, miss = 0;
		cleanup_fd int dfd = open(dir[0] ? dir : "/",
					  O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			sbx_err_set(e, errno, "cgroup", "open %s", dir);
			return -1;
		}
		if (offer(mnt, dfd, dir, false, need, optional, 0, &miss,
			  &got, e) < 0)
			return -1;
		optional &= ~miss;
		if (missing)
			*missing |= miss;
		size_t l = strlen(dir);
		const char *next = strchr(parent + l + 1, '/');
		size_t nl = next ? (size_t)(next - parent) : strlen(parent);
		memcpy(dir, parent, nl);
		dir[nl] = '\0';
		bool made = mkdir(dir, 0755) == 0;
		if (!made && errno != EEXIST) {
			sbx_err_set(e, errno, "cgroup", "create cgroup %s", dir);
			return -1;
		}
		if (made && ctx && ctx->ncreated < 16)
			ctx->created[ctx->ncreated++] = strdup(dir);
	}
	uint32_t miss = 0;
	int rc = sbx_cgroup_prepare_parent(ctx, parent, need, optional, best,
					   &miss, e);
	if (missing)
		*missing |= miss;
	return rc;
}

int sbx_cgroup_resolve(struct sbx_ctx *ctx, const char *cand, char *out,
		       size_t len, struct sbx_err *e)
{
	char mnt[4096];
	if (mountpoint(ctx, mnt, sizeof mnt, e) < 0)
		return -1;
	/* absolute filesystem path, or a path relative to the mount;
	 * confined to the mount: no ".." anywhere, checked before any
	 * system call touches it */
	for (const char *c = cand; *c;) {
		const char *sl = strchr(c, '/');
		size_t n = sl ? (size_t)(sl - c) : strlen(c);
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			sbx_err_set(e, EINVAL, "cgroup", "cgroup \"%s\": \"..\" "
				    "is not allowed (it stays below %s)", cand,
				    mnt);
			return -1;
		}
		c += n + (sl != NULL);
	}
	size_t ml = strlen(mnt);
	int w = strncmp(cand, mnt, ml) == 0 && (cand[ml] == '/' || !cand[ml])
			? snprintf(out, len, "%s", cand)
			: snprintf(out, len, "%s/%s", mnt, cand + (cand[0] == '/'));
	if (w < 0 || (size_t)w >= len) {
		sbx_err_set(e, ENAMETOOLONG, "cgroup", "cgroup \"%.64s...\"",
			    cand);
		return -1;
	}
	/* no trailing slash: the path is compared and cut by level */
	while (w > 1 && out[w - 1] == '/')
		out[--w] = '\0';
	return 0;
}

bool sbx_cgroup_nsdelegate(struct sbx_ctx *ctx)
{
	char mnt[4096];
	struct sbx_err e;
	if (ctx && ctx->nsdelegate >= 0)
		return ctx->nsdelegate;
	if (mountpoint(ctx, mnt, sizeof mnt, &e) < 0)
		return false;
	size_t n;
	char *buf = sbx_read_whole(AT_FDCWD, "/proc/self/mountinfo", &n);
	bool yes = buf && sbx_parse_mountinfo_has_opt(buf, mnt, "nsdelegate");
	free(buf);
	if (ctx)
		ctx->nsdelegate = yes;
	return yes;
}

static int open_dir(const char *path, struct sbx_cgroup *cg,
		    struct sbx_err *e)
{
	cg->dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg->dirfd < 0) {
		sbx_err_set(e, errno, "cgroup", "open %s", path);
		return -1;
	}
	snprintf(cg->path, sizeof cg->path, "%s", path);
	return 0;
}

/* start time of a live process (0 when gone or a zombie: a host killed by
 * SIGKILL may linger unreaped, but it is not coming back) */
static unsigned long long self_starttime(pid_t pid)
{
	char f[64], buf[1024], state = 0;
	snprintf(f, sizeof f, "/proc/%d/stat", (int)pid);
	if (sbx_read_at(AT_FDCWD, f, buf, sizeof buf) < 0)
		return 0;
	char *p = strrchr(buf, ')');
	unsigned long long st = 0;
	/* after ')' come state (3) ... starttime (22) */
	if (p && sscanf(p + 2,
			"%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			"%*d %*d %*d %*d %*d %*d %llu",
			&state, &st) == 2 && state != 'Z' && state != 'X')
		return st;
	return 0;
}

int sbx_cgroup_create(const char *parent, struct sbx_cgroup *cg,
		      struct sbx_err *e)
{
	/* the one process-wide state here: names unique across threads */
	static _Atomic unsigned seq;
	char path[4096];
	pid_t me = getpid();
	unsigned long long st = self_starttime(me);

	cg->dirfd = -1;
	cg->owned = false;
	/* the name carries our pid and start time, so a later run can tell
	 * a leaf of a dead host (reap_stale) from one of a live one */
	for (int tries = 0; tries < 16; tries++) {
		snprintf(path, sizeof path, "%s/sbx-%d-%llu-%u", parent,
			 (int)me, st, seq++);
		if (mkdir(path, 0755) == 0)
			break;
		if (errno != EEXIST) {
			sbx_err_set(e, errno, "cgroup", "create cgroup %s",
				    path);
			return -1;
		}
	}
	if (open_dir(path, cg, e) < 0) {
		rmdir(path);
		return -1;
	}
	cg->owned = true;
	return 0;
}

int sbx_cgroup_open(const char *path, struct sbx_cgroup *cg,
		    struct sbx_err *e)
{
	cg->owned = false;
	if (open_dir(path, cg, e) < 0)
		return -1;
	if (faccessat(cg->dirfd, "cgroup.procs", F_OK, 0) < 0) {
		sbx_err_set(e, errno, "cgroup", "%s is not a cgroup v2 dir",
			    path);
		sbx_cgroup_close(cg);
		return -1;
	}
	return 0;
}

int sbx_cgroup_set(struct sbx_cgroup *cg, const char *file, const char *value,
		   struct sbx_err *e)
{
	/* file names are plain: no walking out of the leaf */
	if (strchr(file, '/') || file[0] == '.' || !file[0]) {
		sbx_err_set(e, EINVAL, "cgroup", "bad cgroup file \"%s\"", file);
		return -1;
	}
	if (sbx_write_at(cg->dirfd, file, value) < 0) {
		int err = errno;
		if (err == ENOENT)
			sbx_err_set(e, err, "cgroup",
				    "write %s=\"%s\" (this kernel or this "
				    "cgroup has no %s)",
				    file, value, file);
		else if (err == EOPNOTSUPP && !strcmp(file, "io.weight"))
			sbx_err_set(e, err, "cgroup",
				    "write %s=\"%s\" (a per-device weight "
				    "needs iocost enabled for the device: "
				    "io.cost.qos \"MAJ:MIN enable=1\" at the "
				    "root)",
				    file, value);
		else
			sbx_err_set(e, err, "cgroup", "write %s=\"%s\"", file,
				    value);
		return -1;
	}
	return 0;
}

int sbx_cgroup_get(struct sbx_cgroup *cg, const char *file, char *buf,
		   size_t len, struct sbx_err *e)
{
	if (strchr(file, '/') || file[0] == '.' || !file[0]) {
		sbx_err_set(e, EINVAL, "cgroup", "bad cgroup file \"%s\"", file);
		return -1;
	}
	if (sbx_read_at(cg->dirfd, file, buf, len) < 0) {
		sbx_err_set(e, errno, "cgroup", "read %s", file);
		return -1;
	}
	return 0;
}

int sbx_cgroup_key(struct sbx_cgroup *cg, const char *file, const char *key,
		   int64_t *out)
{
	char buf[4096];
	struct sbx_kv kv = { key, out };

	*out = -1;
	if (sbx_read_at(cg->dirfd, file, buf, sizeof buf) < 0)
		return -1;
	sbx_parse_keys(buf, &kv, 1);
	return *out < 0 ? -1 : 0;
}

static int64_t single(struct sbx_cgroup *cg, const char *file)
{
	char buf[64];
	if (sbx_read_at(cg->dirfd, file, buf, sizeof buf) < 0)
		return -1;
	return sbx_parse_count(buf);
}

/* read a flat-keyed file once, picking several keys */
static void keys(struct sbx_cgroup *cg, const char *file,
		 const struct sbx_kv *kv, size_t n)
{
	char buf[4096];
	if (sbx_read_at(cg->dirfd, file, buf, sizeof buf) < 0) {
		for (size_t i = 0; i < n; i++)
			*kv[i].val = -1;
		return;
	}
	sbx_parse_keys(buf, kv, n);
}

void sbx_cgroup_stats(struct sbx_cgroup *cg, struct sbx_cgstats *st)
{
	struct sbx_kv mem[] = { { "max", &st->memory_max_events },
			    { "oom_kill", &st->oom_kills },
			    { "oom_group_kill", &st->oom_group_kills },
			    { "high", &st->memory_high_events },
			    { "oom", &st->memory_oom_events } };
	struct sbx_kv swap[] = { { "max", &st->swap_max_events },
			     { "fail", &st->swap_fail_events } };
	struct sbx_kv stat[] = { { "anon", &st->stat_anon },
			     { "file", &st->stat_file },
			     { "kernel", &st->stat_kernel },
			     { "sock", &st->stat_sock },
			     { "shmem", &st->stat_shmem } };
	static const char *const psi[] = { "cpu.pressure", "memory.pressure",
					   "io.pressure" };
	struct sbx_kv cpu[] = { { "usage_usec", &st->cpu_usage_us },
			    { "user_usec", &st->cpu_user_us },
			    { "system_usec", &st->cpu_system_us },
			    { "throttled_usec", &st->throttled_us },
			    { "nr_throttled", &st->nr_throttled },
			    { "nr_periods", &st->nr_periods } };
	struct sbx_kv pids[] = { { "max", &st->pids_max_hits } };

	st->memory_current = single(cg, "memory.current");
	st->memory_peak = single(cg, "memory.peak");
	keys(cg, "memory.events", mem, 5);
	keys(cg, "cpu.stat", cpu, 6);
	st->pids_current = single(cg, "pids.current");
	keys(cg, "pids.events", pids, 1);
	st->swap_current = single(cg, "memory.swap.current");
	st->swap_peak = single(cg, "memory.swap.peak");
	keys(cg, "memory.swap.events", swap, 2);
	keys(cg, "memory.stat", stat, 5);
	for (int i = 0; i < 3; i++) {
		char buf[512];
		if (sbx_read_at(cg->dirfd, psi[i], buf, sizeof buf) < 0)
			buf[0] = '\0';
		sbx_parse_psi(buf, &st->psi[i][0], &st->psi[i][1]);
	}
	char buf[4096];
	st->nio = sbx_read_at(cg->dirfd, "io.stat", buf, sizeof buf) < 0
			  ? 0 : sbx_parse_iostat(buf, st->io, SBX_MAX_IODEV);
	st->memory_max = single(cg, "memory.max");
	st->memory_high = single(cg, "memory.high");
	st->pids_max = single(cg, "pids.max");
	st->cpu_quota_us = st->cpu_period_us = -1;
	if (sbx_read_at(cg->dirfd, "cpu.max", buf, sizeof buf) >= 0) {
		char *sp = strchr(buf, ' ');
		if (sp) {
			*sp = '\0';
			st->cpu_quota_us = sbx_parse_count(buf);
			st->cpu_period_us = sbx_parse_count(sp + 1);
		}
	}
}

/* signal every pid listed (pre-5.14 kernels without cgroup.kill) */
static int kill_pid(pid_t pid, void *arg)
{
	(void)arg;
	kill(pid, SIGKILL);
	return 0;
}

static int kill_listed(struct sbx_cgroup *cg)
{
	return each_pid(cg->dirfd, kill_pid, NULL) < 0 ? -1 : 0;
}

int sbx_cgroup_kill(struct sbx_cgroup *cg, struct sbx_err *e)
{
	if (sbx_write_at(cg->dirfd, "cgroup.kill", "1") == 0)
		return 0;
	if (errno != ENOENT) {
		sbx_err_set(e, errno, "cgroup", "write %s/cgroup.kill",
			    cg->path);
		return -1;
	}
	/* no cgroup.kill: freeze so nothing forks while we signal */
	sbx_write_at(cg->dirfd, "cgroup.freeze", "1");
	kill_listed(cg);
	sbx_write_at(cg->dirfd, "cgroup.freeze", "0");
	return 0;
}

int sbx_cgroup_freeze(struct sbx_cgroup *cg, bool frozen, struct sbx_err *e)
{
	return sbx_cgroup_set(cg, "cgroup.freeze", frozen ? "1" : "0", e);
}

bool sbx_cgroup_populated(struct sbx_cgroup *cg)
{
	int64_t v;
	if (sbx_cgroup_key(cg, "cgroup.events", "populated", &v) < 0)
		return false;
	return v != 0;
}

/* wait for populated 0: cgroup.events raises POLLPRI on change */
int sbx_cgroup_wait_empty(struct sbx_cgroup *cg, int timeout_ms)
{
	cleanup_fd int fd = openat(cg->dirfd, "cgroup.events",
				   O_RDONLY | O_CLOEXEC);
	int64_t end = sbx_now_ns() + (int64_t)timeout_ms * 1000000;

	while (sbx_cgroup_populated(cg)) {
		int64_t left = (end - sbx_now_ns()) / 1000000;
		if (left <= 0)
			return -1;
		if (fd >= 0) {
			struct pollfd p = { .fd = fd, .events = POLLPRI };
			poll(&p, 1, left > 50 ? 50 : (int)left);
		} else {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

static int reap(const char *parent, bool all);

int sbx_cgroup_remove(struct sbx_cgroup *cg, struct sbx_err *e)
{
	int rc = 0;

	if (cg->dirfd < 0)
		return 0;
	if (cg->owned) {
		for (int round = 0; round < 50 && sbx_cgroup_populated(cg); round++) {
			sbx_cgroup_kill(cg, NULL);
			if (sbx_cgroup_wait_empty(cg, 100) == 0)
				break;
		}
		/* remove child cgroups a jail may have made (delegation) */
		reap(cg->path, true);
		if (rmdir(cg->path) < 0 && errno != ENOENT) {
			sbx_err_set(e, errno, "cgroup", "rmdir %s", cg->path);
			rc = -1;
		}
	}
	sbx_cgroup_close(cg);
	return rc;
}

void sbx_cgroup_close(struct sbx_cgroup *cg)
{
	sbx_closep(&cg->dirfd);
}

static bool host_alive(const char *name)
{
	int pid;
	unsigned long long st;
	if (sscanf(name, "sbx-%d-%llu-", &pid, &st) != 2)
		return true; /* not ours: never touch */
	return self_starttime((pid_t)pid) == st;
}

/* remove sbx-* leaves under parent whose host is gone, or (all) every
 * child cgroup (those a jail made under its own leaf, with delegation).
 * A leaf whose host looks gone is removed only once it is empty: the
 * host's pid in its name means something in the pid namespace it was made
 * in, which may not be ours, so a populated one may be another host's live
 * jail: never killed, left alone.  (A jail whose host died ends with it:
 * its init has the parent-death signal.) */
static int reap(const char *parent, bool all)
{
	DIR *d = opendir(parent);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct sbx_cgroup cg = { .dirfd = -1 };
		char p[4096];
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (!all && (strncmp(de->d_name, "sbx-", 4) != 0 ||
			     host_alive(de->d_name)))
			continue;
		snprintf(p, sizeof p, "%s/%s", parent, de->d_name);
		if (sbx_cgroup_open(p, &cg, NULL) < 0)
			continue;
		if (!all && sbx_cgroup_populated(&cg)) {
			sbx_cgroup_close(&cg);
			continue;
		}
		cg.owned = true;
		if (sbx_cgroup_remove(&cg, NULL) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int sbx_cgroup_reap_stale(const char *parent)
{
	return reap(parent, false);
}
