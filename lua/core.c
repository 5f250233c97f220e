/* cgsandbox.core: the Lua binding of libsbx.
 *
 * Conventions (liolib/luaposix): misuse raises (wrong type, unknown field,
 * closed handle); OS failure returns nil, "context: strerror", "EPERM".
 * Handles are created closed, then acquired; __gc and __close share one
 * release.  The pure-Lua layer (lua/cgsandbox) validates recipes and
 * compiles them into the flat plan tables read here. */
#include "../core/sbx.h"
#include "../core/jail.h"
#include "../core/util.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#define JAIL_MT "cgsandbox.jail"
#define CG_MT "cgsandbox.cgroup"
#define SUP_KEY "cgsandbox.sup"
#define ANCHOR_KEY "cgsandbox.anchor"

int luaopen_cgsandbox_core(lua_State *L);

static int push_err(lua_State *L, const struct sbx_err *e)
{
	lua_pushnil(L);
	lua_pushstring(L, e->msg);
	lua_pushstring(L, e->errnum ? sbx_errno_name(e->errnum) : "EINVAL");
	return 3;
}

/* ---- plan conversion ---------------------------------------------------- */
/* Temporary arrays of a plan are userdata anchored in one registry table
 * (never loose on the stack, where a pop could hand them to the GC while C
 * still reads them); release_scratch() drops them after the spawn. */
#define SCRATCH_KEY "cgsandbox.scratch"
static void *scratch(lua_State *L, size_t n)
{
	if (lua_getfield(L, LUA_REGISTRYINDEX, SCRATCH_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, SCRATCH_KEY);
	}
	void *p = lua_newuserdatauv(L, n ? n : 1, 0);
	memset(p, 0, n ? n : 1);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	lua_pop(L, 1);
	return p;
}

static void release_scratch(lua_State *L)
{
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, SCRATCH_KEY);
}

/* Every plan field is read raw (no metamethod runs), and every string
 * must be a string: C keeps pointers into the plan's own strings until
 * the spawn is done, so a value converted on the stack (a number) or made
 * up by __index would be gone once popped. */
static int getf(lua_State *L, int t, const char *k)
{
	t = lua_absindex(L, t);
	if (lua_type(L, t) != LUA_TTABLE) /* raw access is for tables only */
		luaL_error(L, "plan: expected a table (with %s), got a %s", k,
			   luaL_typename(L, t));
	lua_pushstring(L, k);
	return lua_rawget(L, t);
}

static const char *opt_str(lua_State *L, int t, const char *k)
{
	const char *s = NULL;
	int ty = getf(L, t, k);
	if (ty == LUA_TSTRING) {
		size_t n;
		s = lua_tolstring(L, -1, &n);
		if (strlen(s) != n)
			luaL_error(L, "plan.%s: a NUL byte in the string", k);
	} else if (ty != LUA_TNIL) {
		luaL_error(L, "plan.%s: expected a string", k);
	}
	lua_pop(L, 1); /* the string stays alive: it is in the plan table */
	return s;
}

/* bytes (may hold NUL): the string stays in the plan table */
static const char *opt_bytes(lua_State *L, int t, const char *k, size_t *len)
{
	const char *s = NULL;
	int ty = getf(L, t, k);
	*len = 0;
	if (ty == LUA_TSTRING)
		s = lua_tolstring(L, -1, len);
	else if (ty != LUA_TNIL)
		luaL_error(L, "plan.%s: expected a string", k);
	lua_pop(L, 1);
	return s;
}

static bool opt_bool(lua_State *L, int t, const char *k, bool def)
{
	bool b = def;
	if (getf(L, t, k) != LUA_TNIL)
		b = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return b;
}

static lua_Integer opt_int(lua_State *L, int t, const char *k, lua_Integer d)
{
	lua_Integer v = d;
	int isnum;
	if (getf(L, t, k) != LUA_TNIL) {
		v = lua_tointegerx(L, -1, &isnum);
		if (!isnum)
			luaL_error(L, "plan.%s: expected an integer", k);
	}
	lua_pop(L, 1);
	return v;
}

/* an integer in [lo, hi] */
static lua_Integer opt_range(lua_State *L, int t, const char *k, lua_Integer d,
			     lua_Integer lo, lua_Integer hi)
{
	lua_Integer v = opt_int(L, t, k, d);
	if (v < lo || v > hi)
		luaL_error(L, "plan.%s: out of range", k);
	return v;
}

/* NULL-terminated string vector from t[k] (a list of strings) */
static const char *const *str_list(lua_State *L, int t, const char *k,
				   size_t *count)
{
	const char **v;
	size_t n;
	if (getf(L, t, k) != LUA_TTABLE) {
		lua_pop(L, 1);
		if (count)
			*count = 0;
		return NULL;
	}
	n = lua_rawlen(L, -1);
	if (n > 65536)
		luaL_error(L, "plan.%s: more than 65536 items", k);
	v = scratch(L, (n + 1) * sizeof *v);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		if (lua_rawgeti(L, -1, (lua_Integer)i + 1) != LUA_TSTRING)
			luaL_error(L, "plan.%s[%d]: expected a string", k,
				   (int)i + 1);
		v[i] = lua_tolstring(L, -1, &len);
		if (strlen(v[i]) != len)
			luaL_error(L, "plan.%s[%d]: a NUL byte in the string",
				   k, (int)i + 1);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	if (count)
		*count = n;
	return v;
}

struct named { const char *n; int v; };

/* the value named n in a table, or def */
static int lookup(const struct named *t, size_t len, const char *n, int def)
{
	for (size_t i = 0; i < len; i++)
		if (!strcmp(t[i].n, n))
			return t[i].v;
	return def;
}
#define LOOKUP(t, n, def) lookup(t, sizeof t / sizeof t[0], n, def)

static int rlimit_res(const char *n)
{
	static const struct named t[] = {
		{ "as", RLIMIT_AS }, { "core", RLIMIT_CORE },
		{ "cpu", RLIMIT_CPU }, { "data", RLIMIT_DATA },
		{ "fsize", RLIMIT_FSIZE }, { "locks", RLIMIT_LOCKS },
		{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE },
		{ "nice", RLIMIT_NICE }, { "nofile", RLIMIT_NOFILE },
		{ "nproc", RLIMIT_NPROC }, { "rss", RLIMIT_RSS },
		{ "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
		{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
	};
	return LOOKUP(t, n, -1);
}

static void read_stdio(lua_State *L, int t, struct sbx_stdio *s, int i)
{
	lua_rawgeti(L, t, i + 1);
	int st = lua_gettop(L);
	if (!lua_istable(L, st)) {
		lua_pop(L, 1);
		s->kind = SBX_IO_INHERIT;
		return;
	}
	const char *k = opt_str(L, st, "kind");
	if (!k || !strcmp(k, "inherit"))
		s->kind = SBX_IO_INHERIT;
	else if (!strcmp(k, "null"))
		s->kind = SBX_IO_NULL;
	else if (!strcmp(k, "capture"))
		s->kind = SBX_IO_PIPE;
	else if (!strcmp(k, "file")) {
		s->kind = SBX_IO_FILE;
		s->path = opt_str(L, st, "path");
		s->append = opt_bool(L, st, "append", false);
	} else if (!strcmp(k, "data")) {
		s->kind = SBX_IO_DATA;
		s->data = opt_bytes(L, st, "data", &s->datalen);
	} else
		luaL_error(L, "plan.stdio[%d]: unknown kind %s", i + 1, k);
	lua_pop(L, 1);
}

/* ---- the seccomp rules form and the plan's extension fields ------------ */
static enum sbx_seccomp_act seccomp_act(lua_State *L, const char *a,
					const char *where)
{
	static const struct named t[] = {
		{ "allow", SBX_SCA_ALLOW }, { "errno", SBX_SCA_ERRNO },
		{ "kill", SBX_SCA_KILL_PROCESS },
		{ "kill_process", SBX_SCA_KILL_PROCESS },
		{ "kill_thread", SBX_SCA_KILL_THREAD }, { "trap", SBX_SCA_TRAP },
		{ "log", SBX_SCA_LOG }, { "trace", SBX_SCA_TRACE },
	};
	int v = a ? LOOKUP(t, a, -1) : -1;
	if (v < 0)
		luaL_error(L, "plan.seccomp.%s: unknown action %s", where,
			   a ? a : "(none)");
	return (enum sbx_seccomp_act)v;
}

static enum sbx_seccomp_op seccomp_op(lua_State *L, const char *o, int i)
{
	static const struct named t[] = {
		{ "!=", SBX_CMP_NE }, { "<", SBX_CMP_LT }, { "<=", SBX_CMP_LE },
		{ "==", SBX_CMP_EQ }, { ">=", SBX_CMP_GE }, { ">", SBX_CMP_GT },
		{ "&=", SBX_CMP_MASKED_EQ },
	};
	int v = o ? LOOKUP(t, o, -1) : -1;
	if (v < 0)
		luaL_error(L, "plan.seccomp.rules[%d]: unknown comparison %s", i,
			   o ? o : "(none)");
	return (enum sbx_seccomp_op)v;
}

static uint64_t raw_u64(lua_State *L, int t, lua_Integer k, int i)
{
	int isnum;
	lua_rawgeti(L, t, k);
	lua_Integer v = lua_tointegerx(L, -1, &isnum);
	if (!isnum && !lua_isnil(L, -1))
		luaL_error(L, "plan.seccomp.rules[%d]: a condition's value is "
			   "not an integer", i);
	lua_pop(L, 1);
	return (uint64_t)v;
}

/* rules[i].args: { { arg, op, a [, b] }, ... } */
static void read_conds(lua_State *L, int r, int i, struct sbx_seccomp_rule *ru)
{
	if (getf(L, r, "args") != LUA_TTABLE) {
		lua_pop(L, 1);
		return;
	}
	int a = lua_gettop(L);
	size_t n = lua_rawlen(L, a);
	if (n > 6)
		luaL_error(L, "plan.seccomp.rules[%d]: more than 6 conditions", i);
	struct sbx_seccomp_cond *c = scratch(L, n * sizeof *c);
	for (size_t j = 0; j < n; j++) {
		if (lua_rawgeti(L, a, (lua_Integer)j + 1) != LUA_TTABLE)
			luaL_error(L, "plan.seccomp.rules[%d].args[%d]: expected "
				   "{ arg, op, value }", i, (int)j + 1);
		int k = lua_gettop(L);
		uint64_t arg = raw_u64(L, k, 1, i);
		if (arg > 5)
			luaL_error(L, "plan.seccomp.rules[%d].args[%d]: argument "
				   "out of range", i, (int)j + 1);
		lua_rawgeti(L, k, 2);
		const char *op = lua_type(L, -1) == LUA_TSTRING
					 ? lua_tostring(L, -1) : NULL;
		c[j].op = seccomp_op(L, op, i);
		lua_pop(L, 1);
		c[j].arg = (unsigned)arg;
		c[j].a = raw_u64(L, k, 3, i);
		c[j].b = raw_u64(L, k, 4, i);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	ru->conds = c;
	ru->nconds = n;
}

static void read_seccomp_rules(lua_State *L, int s, struct sbx_seccomp *sc)
{
	sc->flags = (uint32_t)opt_range(L, s, "flags", 0, 0,
					SBX_SECCOMP_FLAGS_OK);
	if (getf(L, s, "rules") != LUA_TTABLE) {
		lua_pop(L, 1);
		return;
	}
	int rs = lua_gettop(L);
	size_t n = lua_rawlen(L, rs);
	if (n > 65536)
		luaL_error(L, "plan.seccomp.rules: more than 65536 rules");
	struct sbx_seccomp_rule *ru = scratch(L, n * sizeof *ru);
	sc->rules_mode = true;
	sc->def_act = seccomp_act(L, opt_str(L, s, "default"), "default");
	sc->def_value = (int)opt_range(L, s, "default_value", 1, 0, 65535);
	sc->arches = str_list(L, s, "arches", NULL);
	sc->skip_unknown = opt_bool(L, s, "skip_unknown", false);
	for (size_t i = 0; i < n; i++) {
		if (lua_rawgeti(L, rs, (lua_Integer)i + 1) != LUA_TTABLE)
			luaL_error(L, "plan.seccomp.rules[%d]: expected a table",
				   (int)i + 1);
		int r = lua_gettop(L);
		ru[i].names = str_list(L, r, "names", NULL);
		if (!ru[i].names)
			luaL_error(L, "plan.seccomp.rules[%d]: no names", (int)i + 1);
		ru[i].act = seccomp_act(L, opt_str(L, r, "action"), "rules");
		ru[i].value = (int)opt_range(L, r, "value", 1, 0, 65535);
		read_conds(L, r, (int)i + 1, &ru[i]);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	sc->rules = ru;
	sc->nrules = n;
}

static uint64_t cap_bits(lua_State *L, int t, const char *k)
{
	size_t n;
	uint64_t bits = 0;
	const char *const *v = str_list(L, t, k, &n);
	for (size_t i = 0; i < n; i++) {
		int c = sbx_cap_from_name(v[i]);
		if (c < 0 || c > 63)
			luaL_error(L, "plan.caps5.%s: unknown capability %s", k,
				   v[i]);
		bits |= 1ULL << c;
	}
	return bits;
}

/* plan.pass_fds: fd numbers or open Lua files, for the command's 3, 4,
 * ... (the files stay referenced by the plan while it spawns) */
static void read_pass_fds(lua_State *L, int t, struct sbx_plan *p)
{
	if (getf(L, t, "pass_fds") == LUA_TTABLE) {
		int ft = lua_gettop(L);
		size_t m = lua_rawlen(L, ft);
		if (m > SBX_MAX_PASS_FDS)
			luaL_error(L, "plan.pass_fds: more than %d fds",
				   SBX_MAX_PASS_FDS);
		int *fds = m ? scratch(L, m * sizeof *fds) : NULL;
		for (size_t i = 0; i < m; i++) {
			lua_rawgeti(L, ft, (lua_Integer)i + 1);
			int isnum;
			lua_Integer v = lua_tointegerx(L, -1, &isnum);
			luaL_Stream *s = isnum ? NULL :
				luaL_testudata(L, -1, LUA_FILEHANDLE);
			if (isnum && v >= 0 && v <= INT_MAX)
				fds[i] = (int)v;
			else if (s && s->closef && s->f)
				fds[i] = fileno(s->f);
			else
				luaL_error(L, "plan.pass_fds[%d]: an fd number "
					   "or an open file", (int)i + 1);
			lua_pop(L, 1);
		}
		p->pass_fds = fds;
		p->npass_fds = m;
	}
	lua_pop(L, 1);
}

/* caps5, sysctl, oom_score_adj, domainname, personality, pass_fds */
static void read_plan_ext(lua_State *L, int t, struct sbx_plan *p)
{
	size_t n;
	if (getf(L, t, "caps5") == LUA_TTABLE) {
		int c = lua_gettop(L);
		p->caps5 = true;
		p->cap_eff = cap_bits(L, c, "effective");
		p->cap_prm = cap_bits(L, c, "permitted");
		p->cap_inh = cap_bits(L, c, "inheritable");
		p->cap_amb = cap_bits(L, c, "ambient");
	}
	lua_pop(L, 1);
	p->sysctl = str_list(L, t, "sysctl", &n);
	if (n % 2)
		luaL_error(L, "plan.sysctl: key/value pairs");
	if (getf(L, t, "oom_score_adj") != LUA_TNIL) {
		p->set_oom_score_adj = true;
		p->oom_score_adj = (int)opt_range(L, t, "oom_score_adj", 0,
						  -1000, 1000);
	}
	lua_pop(L, 1);
	p->domainname = opt_str(L, t, "domainname");
	if (getf(L, t, "personality") != LUA_TNIL) {
		p->set_personality = true;
		p->personality = (uint32_t)opt_range(L, t, "personality", 0, 0,
						     0xffffffff);
	}
	lua_pop(L, 1);
	read_pass_fds(L, t, p);
}

/* fill *p from the plan table at index t; arrays are pushed on the stack */
static void read_plan(lua_State *L, int t, struct sbx_plan *p)
{
	size_t n;
	memset(p, 0, sizeof *p);
	luaL_checktype(L, t, LUA_TTABLE);
	p->argv = str_list(L, t, "argv", &n);
	p->envp = str_list(L, t, "env", NULL);
	if (!p->envp) {
		const char **e = scratch(L, sizeof *e);
		e[0] = NULL;
		p->envp = e;
	}
	p->cwd = opt_str(L, t, "cwd");
	p->hostname = opt_str(L, t, "hostname");
	p->rootfs = opt_str(L, t, "rootfs");
	p->root_readonly = opt_bool(L, t, "root_readonly", true);
	p->root_nodev = opt_bool(L, t, "root_nodev", true);
	p->root_mountpoints = opt_bool(L, t, "root_mountpoints", false);
	const char *rs = opt_str(L, t, "root_switch");
	p->root_switch = rs && !strcmp(rs, "chroot") ? SBX_ROOT_CHROOT
						     : SBX_ROOT_PIVOT;
	const char *const *ns = str_list(L, t, "namespaces", &n);
	for (size_t i = 0; i < n; i++) {
		int f = sbx_ns_flag(ns[i]);
		if (!f)
			luaL_error(L, "plan.namespaces: unknown %s", ns[i]);
		p->ns_flags |= f;
	}
	/* { { type = "net", path = "/run/netns/x" }, ... } */
	if (getf(L, t, "join") == LUA_TTABLE) {
		int jt = lua_gettop(L);
		size_t m = lua_rawlen(L, jt);
		if (m > SBX_MAX_NSJOIN)
			luaL_error(L, "plan.join: more than %d", SBX_MAX_NSJOIN);
		struct sbx_nsjoin *js = scratch(L, m * sizeof *js);
		for (size_t i = 0; i < m; i++) {
			lua_rawgeti(L, jt, (lua_Integer)i + 1);
			int e = lua_gettop(L);
			if (!lua_istable(L, e))
				luaL_error(L, "plan.join[%d]: expected a table",
					   (int)i + 1);
			const char *ty = opt_str(L, e, "type");
			js[i].type = ty ? sbx_ns_flag(ty) : 0;
			js[i].path = opt_str(L, e, "path");
			if (!sbx_ns_joinable(js[i].type) || !js[i].path)
				luaL_error(L, "plan.join[%d]: net, ipc, uts or "
					   "pid, and a path", (int)i + 1);
			lua_pop(L, 1);
		}
		p->ns_join = js;
		p->nns_join = m;
	}
	lua_pop(L, 1);
	p->net_loopback = opt_bool(L, t, "net_loopback", true);
	/* (uid_t)-1 means "no change" to setresuid: never an id */
	p->uid = (uid_t)opt_range(L, t, "uid", 0, 0, 4294967294LL);
	p->gid = (gid_t)opt_range(L, t, "gid", 0, 0, 4294967294LL);
	if (getf(L, t, "groups") == LUA_TTABLE) {
		size_t g = lua_rawlen(L, -1);
		gid_t *gs = scratch(L, g * sizeof *gs);
		if (g > 65536)
			luaL_error(L, "plan.groups: more than 65536");
		for (size_t i = 0; i < g; i++) {
			int isnum;
			lua_rawgeti(L, -1, (lua_Integer)i + 1);
			lua_Integer v = lua_tointegerx(L, -1, &isnum);
			if (!isnum || v < 0 || v > 4294967294LL)
				luaL_error(L, "plan.groups[%d]: not a gid", (int)i + 1);
			gs[i] = (gid_t)v;
			lua_pop(L, 1);
		}
		p->groups = gs;
		p->ngroups = g;
	}
	lua_pop(L, 1);
	p->idmap.uid_map = opt_str(L, t, "uid_map");
	p->idmap.gid_map = opt_str(L, t, "gid_map");
	p->idmap.use_helpers = opt_bool(L, t, "idmap_helpers", false);

	if (getf(L, t, "mounts") == LUA_TTABLE) {
		int mt = lua_gettop(L);
		size_t m = lua_rawlen(L, mt);
		struct sbx_mount *ms = scratch(L, m * sizeof *ms);
		for (size_t i = 0; i < m; i++) {
			static const char *const kinds[] = {
				"bind", "tmpfs", "proc", "dev", "sysfs",
				"mqueue", "dir", "symlink", "file",
				"overlay", "cgroup", NULL
			};
			lua_rawgeti(L, mt, (lua_Integer)i + 1);
			int e = lua_gettop(L);
			const char *k = opt_str(L, e, "kind");
			int ki = -1;
			for (int x = 0; k && kinds[x]; x++)
				if (!strcmp(kinds[x], k))
					ki = x;
			if (ki < 0)
				luaL_error(L, "plan.mounts[%d]: bad kind",
					   (int)i + 1);
			ms[i].kind = (enum sbx_mount_kind)ki;
			ms[i].src = opt_str(L, e, "src");
			ms[i].dst = opt_str(L, e, "dst");
			if (!ms[i].dst || ms[i].dst[0] != '/')
				luaL_error(L, "plan.mounts[%d].dst: expected "
					   "an absolute path", (int)i + 1);
			ms[i].data = opt_bytes(L, e, "data", &ms[i].datalen);
			ms[i].ro = opt_bool(L, e, "ro", false);
			ms[i].rec = opt_bool(L, e, "rec", true);
			ms[i].nosuid = opt_bool(L, e, "nosuid", true);
			ms[i].nodev = opt_bool(L, e, "nodev", true);
			ms[i].noexec = opt_bool(L, e, "noexec", false);
			ms[i].optional = opt_bool(L, e, "optional", false);
			ms[i].copyup = opt_bool(L, e, "copyup", false);
			ms[i].mode = (unsigned)opt_range(L, e, "mode", 0, 0, 07777);
			lua_pop(L, 1);
		}
		p->mounts = ms;
		p->nmounts = m;
	}
	lua_pop(L, 1);
	/* { { type = "c", major = 1, minor = 3 (-1: any), access = 7,
	 *     path = "/dev/null" | nil, mode = 0666 }, ... } */
	if (getf(L, t, "devices") == LUA_TTABLE) {
		int dt = lua_gettop(L);
		size_t m = lua_rawlen(L, dt);
		if (m > SBX_MAX_DEVICES)
			luaL_error(L, "plan.devices: more than %d rules",
				   SBX_MAX_DEVICES);
		struct sbx_device *ds = scratch(L, m * sizeof *ds);
		for (size_t i = 0; i < m; i++) {
			lua_rawgeti(L, dt, (lua_Integer)i + 1);
			int e = lua_gettop(L);
			if (!lua_istable(L, e))
				luaL_error(L, "plan.devices[%d]: expected a table",
					   (int)i + 1);
			const char *ty = opt_str(L, e, "type");
			if (!ty || (strcmp(ty, "c") && strcmp(ty, "b") &&
				    strcmp(ty, "a")))
				luaL_error(L, "plan.devices[%d].type: c, b or a",
					   (int)i + 1);
			ds[i].type = ty[0];
			ds[i].major = opt_int(L, e, "major", -1);
			ds[i].minor = opt_int(L, e, "minor", -1);
			ds[i].access = (unsigned)opt_int(L, e, "access", 0) & 7;
			ds[i].path = opt_str(L, e, "path");
			ds[i].mode = (unsigned)opt_range(L, e, "mode", 0, 0, 07777);
			if (ds[i].major < -1 || ds[i].major > 0xfff ||
			    ds[i].minor < -1 || ds[i].minor > 0xfffff ||
			    (ds[i].path && (ds[i].type == 'a' || ds[i].major < 0 ||
					    ds[i].minor < 0)))
				luaL_error(L, "plan.devices[%d]: bad numbers",
					   (int)i + 1);
			lua_pop(L, 1);
		}
		p->devices = ds;
		p->ndevices = m;
		p->use_devices = true;
	}
	lua_pop(L, 1);
	p->masked = str_list(L, t, "masked", NULL);
	p->readonly = str_list(L, t, "readonly", NULL);

	if (getf(L, t, "cgroup") == LUA_TTABLE) {
		int c = lua_gettop(L);
		p->use_cgroup = true;
		p->cgroup_parent = opt_str(L, c, "parent");
		p->cgroup_path = opt_str(L, c, "path");
		p->cgroup_create = opt_bool(L, c, "create", false);
		p->cgroup_delegate = opt_bool(L, c, "delegate", false);
		p->delegate_max = opt_range(L, c, "delegate_max", 0, 0, 100000);
		const char *const *dc = str_list(L, c, "delegate_controllers", &n);
		for (size_t i = 0; dc && i < n; i++) {
			uint32_t b = sbx_ctl_parse(dc[i]);
			if (!b)
				luaL_error(L, "plan.cgroup.delegate_controllers: "
					   "unknown controller %s", dc[i]);
			p->delegate_ctls |= b;
		}
		if (getf(L, c, "writes") == LUA_TTABLE) {
			size_t w = lua_rawlen(L, -1);
			struct sbx_cgwrite *ws = scratch(L, w * sizeof *ws);
			for (size_t i = 0; i < w; i++) {
				lua_rawgeti(L, -1, (lua_Integer)i + 1);
				int e = lua_gettop(L);
				if (!lua_istable(L, e))
					luaL_error(L, "plan.cgroup.writes[%d]: "
						   "expected {file, value}",
						   (int)i + 1);
				ws[i].file = lua_rawgeti(L, e, 1) == LUA_TSTRING
						     ? lua_tostring(L, -1) : NULL;
				ws[i].value = lua_rawgeti(L, e, 2) == LUA_TSTRING
						      ? lua_tostring(L, -1) : NULL;
				lua_pop(L, 2);
				ws[i].optional = opt_bool(L, e, "optional", false);
				if (!ws[i].file || !ws[i].value)
					luaL_error(L, "plan.cgroup.writes[%d]: "
						   "expected {file, value}",
						   (int)i + 1);
				lua_pop(L, 1);
			}
			p->cgwrites = ws;
			p->ncgwrites = w;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);

	const char *const *caps = str_list(L, t, "caps", &n);
	for (size_t i = 0; i < n; i++) {
		int c = sbx_cap_from_name(caps[i]);
		if (c < 0 || c > 63)
			luaL_error(L, "plan.caps: unknown capability %s",
				   caps[i]);
		p->caps_keep |= 1ULL << c;
	}
	p->no_new_privs = opt_bool(L, t, "no_new_privs", true);
	if (getf(L, t, "seccomp") == LUA_TTABLE) {
		int s = lua_gettop(L);
		const char *d = opt_str(L, s, "default");
		p->seccomp.enabled = true;
		p->seccomp.use_default_denylist = opt_bool(L, s, "denylist", true);
		p->seccomp.keep_sys_admin = opt_bool(L, s, "keep_sys_admin", false);
		p->seccomp.def = !d || !strcmp(d, "allow") ? SBX_SECCOMP_ALLOW
				 : !strcmp(d, "kill")	   ? SBX_SECCOMP_KILL
							   : SBX_SECCOMP_ERRNO;
		p->seccomp.allow = str_list(L, s, "allow", NULL);
		p->seccomp.deny = str_list(L, s, "deny", NULL);
		read_seccomp_rules(L, s, &p->seccomp);
	}
	lua_pop(L, 1);
	read_plan_ext(L, t, p);
	if (getf(L, t, "rlimits") == LUA_TTABLE) {
		size_t r = lua_rawlen(L, -1);
		struct sbx_rlim *rl = scratch(L, r * sizeof *rl);
		for (size_t i = 0; i < r; i++) {
			lua_rawgeti(L, -1, (lua_Integer)i + 1);
			int e = lua_gettop(L);
			const char *nm = opt_str(L, e, "name");
			rl[i].resource = nm ? rlimit_res(nm) : -1;
			if (rl[i].resource < 0)
				luaL_error(L, "plan.rlimits[%d]: unknown %s",
					   (int)i + 1, nm ? nm : "?");
			lua_Integer so = opt_int(L, e, "soft", -1);
			lua_Integer ha = opt_int(L, e, "hard", -1);
			rl[i].soft = so < 0 ? RLIM_INFINITY : (rlim_t)so;
			rl[i].hard = ha < 0 ? RLIM_INFINITY : (rlim_t)ha;
			lua_pop(L, 1);
		}
		p->rlimits = rl;
		p->nrlimits = r;
	}
	lua_pop(L, 1);
	p->umask = (int)opt_range(L, t, "umask", -1, -1, 0777);
	if (getf(L, t, "stdio") == LUA_TTABLE) {
		int s = lua_gettop(L);
		for (int i = 0; i < 3; i++)
			read_stdio(L, s, &p->stdio[i], i);
	}
	lua_pop(L, 1);
	/* at most a year: recipe.lua's limit, here against raw plans */
	p->wall_ns = (int64_t)opt_range(L, t, "wall_ms", 0, 0, 31536000000LL) * 1000000;
	p->cpu_time_us = (int64_t)opt_range(L, t, "cpu_time_us", 0, 0, 31536000000000LL);
	p->output_limit = (size_t)opt_range(L, t, "output_limit", 0, 0, (lua_Integer)1 << 40);
	p->no_into_cgroup = opt_bool(L, t, "no_into_cgroup", false);
	p->raw_plan = opt_bytes(L, t, "raw_plan", &p->raw_len);
	p->tty = opt_bool(L, t, "tty", false);
	p->async_start = opt_bool(L, t, "async_start", false);
	p->park = opt_bool(L, t, "park", false);
	p->detached = opt_str(L, t, "detached");
	p->trace = opt_bool(L, t, "trace", false);
	p->sample_ns = (int64_t)opt_range(L, t, "sample_ms", 0, 0, 3600000LL) * 1000000;
	p->sample_max = (size_t)opt_range(L, t, "sample_max", 0, 0, 1000000);
	if (!p->park && (!p->argv || !p->argv[0]))
		luaL_error(L, "plan.argv: expected a non-empty list");
}

/* ---- supervisor (one per Lua state) ------------------------------------- */
static volatile sig_atomic_t got_winch; /* set by the SIGWINCH handler */
/* per Lua state: the supervisor and the spawning context */
struct lhost {
	struct sbx_sup *sup;
	struct sbx_ctx *ctx;
};

static int host_gc(lua_State *L)
{
	struct lhost *h = lua_touserdata(L, 1);
	sbx_sup_free(h->sup); /* kills jails still running */
	sbx_ctx_free(h->ctx);
	h->sup = NULL;
	h->ctx = NULL;
	return 0;
}

static struct lhost *get_host(lua_State *L)
{
	struct lhost *h;
	if (lua_getfield(L, LUA_REGISTRYINDEX, SUP_KEY) == LUA_TUSERDATA) {
		h = lua_touserdata(L, -1);
		lua_pop(L, 1);
		return h;
	}
	lua_pop(L, 1);
	h = lua_newuserdatauv(L, sizeof *h, 0);
	h->sup = NULL;
	h->ctx = NULL;
	if (luaL_newmetatable(L, "cgsandbox.host")) {
		lua_pushcfunction(L, host_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	struct sbx_err e;
	if (!(h->sup = sbx_sup_new(&e)) || !(h->ctx = sbx_ctx_new(&e)))
		luaL_error(L, "%s", e.msg); /* collected: __gc frees the half */
	lua_setfield(L, LUA_REGISTRYINDEX, SUP_KEY);
	return h;
}

/* ---- jail handles -------------------------------------------------------- */
struct ljail {
	struct sbx_jail j;
	struct lhost *host; /* NULL until acquired */
	bool open;
};

static struct ljail *check_jail(lua_State *L, int i, bool must_open)
{
	struct ljail *lj = luaL_checkudata(L, i, JAIL_MT);
	if (must_open && !lj->open)
		luaL_error(L, "attempt to use a closed jail handle");
	return lj;
}

/* registry[ANCHOR_KEY][key] = the value at idx, or nothing with idx 0
 * (lua_absindex would turn 0 into the top of the stack) */
static void anchor(lua_State *L, void *key, int idx)
{
	if (idx)
		idx = lua_absindex(L, idx);
	if (lua_getfield(L, LUA_REGISTRYINDEX, ANCHOR_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, ANCHOR_KEY);
	}
	lua_pushlightuserdata(L, key);
	if (idx)
		lua_pushvalue(L, idx);
	else
		lua_pushnil(L);
	lua_rawset(L, -3);
	lua_pop(L, 1);
}

/* the one release, shared by close, __close and __gc */
static void jail_release(struct ljail *lj)
{
	if (!lj->open)
		return;
	lj->open = false;
	if (lj->host && lj->host->sup)
		sbx_sup_remove(lj->host->sup, &lj->j);
	sbx_jail_free(&lj->j);
}

static int l_jail_gc(lua_State *L)
{
	jail_release(check_jail(L, 1, false));
	return 0;
}

static void push_result(lua_State *L, const struct sbx_jail *j);

/* core.spawn(plan) -> jail | nil, msg, errno_name, result */
static int l_spawn(lua_State *L)
{
	struct sbx_plan p;
	struct sbx_err e = { 0 };

	read_plan(L, 1, &p);
	struct lhost *h = get_host(L);
	struct ljail *lj = lua_newuserdatauv(L, sizeof *lj, 0);
	memset(lj, 0, sizeof *lj);
	luaL_setmetatable(L, JAIL_MT);
	int rc = sbx_jail_spawn(h->ctx, &p, &lj->j, &e);
	release_scratch(L); /* the child has its copy; the plan is done with */
	if (rc < 0) {
		/* nothing is left: the jail was finished and its cgroup gone */
		push_result(L, &lj->j);
		int r = lua_gettop(L);
		lua_pushnil(L);
		lua_pushstring(L, e.msg);
		lua_pushstring(L, e.errnum ? sbx_errno_name(e.errnum) : "EINVAL");
		lua_pushvalue(L, r);
		sbx_jail_free(&lj->j);
		return 4;
	}
	lj->open = true;
	lj->host = h;
	if (sbx_sup_add(h->sup, &lj->j, &e) < 0) {
		jail_release(lj);
		return push_err(L, &e);
	}
	anchor(L, &lj->j, -1); /* alive while the supervisor knows it */
	return 1;
}

static int signum_pcall(lua_State *L);
/* ---- the OCI runtime's pieces ------------------------------------------ */
static int push_errno(lua_State *L, int err, const char *what)
{
	lua_pushnil(L);
	lua_pushfstring(L, "%s: %s", what, strerror(err));
	lua_pushstring(L, sbx_errno_name(err));
	return 3;
}

/* create's on_pause: the Lua function at stack index 2, called with
 * init's pid; true goes on, nil/false + message (or an error) fails */
static int call_on_pause(void *arg, pid_t pid, struct sbx_err *e)
{
	lua_State *L = arg;
	lua_pushvalue(L, 2);
	lua_pushinteger(L, pid);
	int rc = lua_pcall(L, 1, 2, 0);
	if (rc == LUA_OK && lua_toboolean(L, -2)) {
		lua_pop(L, 2);
		return 0;
	}
	const char *msg = lua_tostring(L, -1);
	sbx_err_set(e, 0, "hooks", "%s",
		    msg ? msg : "the hooks before pivot_root failed");
	lua_pop(L, rc == LUA_OK ? 2 : 1);
	return -1;
}

/* core.create(plan [, on_pause]) -> pid, cgroup_path, ttyfd|nil | nil, msg,
 * errno_name: a detached jail (plan.detached = the fifo's path) is built
 * and let go; its init waits on the fifo, and this process may exit.
 * With on_pause, init stops before pivot_root and on_pause(pid) runs
 * (the OCI hooks of the runtime's namespaces) */
static int l_create(lua_State *L)
{
	struct sbx_plan p;
	struct sbx_err e = { 0 };
	struct sbx_jail j;

	read_plan(L, 1, &p);
	if (!p.detached)
		luaL_error(L, "core.create: plan.detached (the fifo) is missing");
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TFUNCTION);
		p.pause_before_root = true;
		p.on_pause = call_on_pause;
		p.pause_arg = L;
	}
	struct lhost *h = get_host(L);
	int rc = sbx_jail_spawn(h->ctx, &p, &j, &e);
	release_scratch(L);
	if (rc < 0) {
		sbx_jail_free(&j);
		return push_err(L, &e);
	}
	lua_pushinteger(L, j.pid);
	if (j.has_cg)
		lua_pushstring(L, j.cg.path);
	else
		lua_pushnil(L);
	/* plan.tty: the console's master, for the caller to pass on */
	if (j.ttyfd >= 0)
		lua_pushinteger(L, sbx_steal_fd(&j.ttyfd));
	else
		lua_pushnil(L);
	sbx_jail_detach(&j);
	sbx_jail_free(&j);
	return 3;
}

/* core.mkfifo(path, mode) -> true | nil, msg, errno_name */
static int l_mkfifo(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	if (mkfifo(path, (mode_t)luaL_optinteger(L, 2, 0600)) < 0)
		return push_errno(L, errno, path);
	lua_pushboolean(L, 1);
	return 1;
}

/* core.chown(path, uid, gid) -> true | nil, msg, errno_name; the link
 * itself, never what it points at */
static int l_chown(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lua_Integer uid = luaL_checkinteger(L, 2), gid = luaL_checkinteger(L, 3);
	luaL_argcheck(L, uid >= 0 && uid <= 0xfffffffeLL, 2, "a uid");
	luaL_argcheck(L, gid >= 0 && gid <= 0xfffffffeLL, 3, "a gid");
	if (lchown(path, (uid_t)uid, (gid_t)gid) < 0)
		return push_errno(L, errno, path);
	lua_pushboolean(L, 1);
	return 1;
}

/* core.mkdir(path, mode) -> true | nil, msg, errno_name (EEXIST: one
 * caller wins) */
static int l_mkdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	if (mkdir(path, (mode_t)luaL_optinteger(L, 2, 0700)) < 0)
		return push_errno(L, errno, path);
	lua_pushboolean(L, 1);
	return 1;
}

/* core.flock(path) -> fd | nil, msg, errno_name: an exclusive lock held
 * until core.close_fd(fd) or the process's end */
static int l_flock(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return push_errno(L, errno, path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int err = errno;
			close(fd);
			return push_errno(L, err, path);
		}
	}
	lua_pushinteger(L, fd);
	return 1;
}

static int l_close_fd(lua_State *L)
{
	close((int)luaL_checkinteger(L, 1));
	return 0;
}

/* core.fd_open(fd) -> is fd open in this process? */
static int l_fd_open(lua_State *L)
{
	lua_Integer fd = luaL_checkinteger(L, 1);
	lua_pushboolean(L, fd >= 0 && fd <= INT_MAX &&
			       fcntl((int)fd, F_GETFD) >= 0);
	return 1;
}

/* core.signum(name or number) -> number | nil, msg */
static int l_signum(lua_State *L)
{
	if (lua_type(L, 1) == LUA_TSTRING) {
		const char *s = lua_tostring(L, 1);
		char *end;
		long v = strtol(s, &end, 10);
		if (*s && !*end) {
			if (v < 1 || v >= NSIG)
				goto bad;
			lua_pushinteger(L, v);
			return 1;
		}
	}
	lua_pushcfunction(L, signum_pcall);
	lua_pushvalue(L, 1);
	if (lua_pcall(L, 1, 1, 0) == LUA_OK)
		return 1;
bad:
	lua_pushfstring(L, "unknown signal %s", luaL_tolstring(L, 1, NULL));
	lua_pushnil(L);
	lua_insert(L, -2);
	return 2;
}

/* the 22nd field of /proc/PID/stat: the start time, which tells a pid's
 * process from a later one with the same number; -1 when gone */
static long long proc_starttime(pid_t pid, char *state)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (sbx_read_at(AT_FDCWD, path, buf, sizeof buf) < 0)
		return -1;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	if (state)
		*state = p[2];
	unsigned long long v;
	/* after ")": state is field 3, start time field 22 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			  "%*d %*d %*d %*d %*d %*d %llu", &v) != 1)
		return -1;
	return (long long)v;
}

/* core.proc_start(pid) -> starttime, state ("R", "S", "Z"...) | nil */
static int l_proc_start(lua_State *L)
{
	char st = '?';
	long long v = proc_starttime((pid_t)luaL_checkinteger(L, 1), &st);
	if (v < 0)
		return 0;
	lua_pushinteger(L, v);
	lua_pushlstring(L, &st, 1);
	return 2;
}

/* core.pidfd_kill(pid, sig, starttime|nil) -> true | nil, msg, errno:
 * through a pidfd, so the signal reaches the process the pid was when
 * checked (and the start time says it still is the container's) */
static int l_pidfd_kill(lua_State *L)
{
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	int sig = (int)luaL_checkinteger(L, 2);
	lua_Integer want = luaL_optinteger(L, 3, -1);
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return push_errno(L, errno, "pidfd_open");
	if (want >= 0 && proc_starttime(pid, NULL) != (long long)want) {
		close(fd);
		return push_errno(L, ESRCH, "the container's process");
	}
	int r = (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
	int err = errno;
	close(fd);
	if (r < 0)
		return push_errno(L, err, "pidfd_send_signal");
	lua_pushboolean(L, 1);
	return 1;
}

/* core.waitpid(pid) -> exit code (128+N for a signal) | nil, msg, errno */
static int l_waitpid(lua_State *L)
{
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	int st;
	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR)
			return push_errno(L, errno, "waitpid");
	lua_pushinteger(L, WIFEXITED(st) ? WEXITSTATUS(st)
					 : 128 + WTERMSIG(st));
	return 1;
}

/* core.fifo_start(path) -> true | nil, msg, errno: the byte a waiting
 * detached jail's init reads (ENXIO: nobody waits on it any more) */
static int l_fifo_start(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return push_errno(L, errno, path);
	ssize_t n = write(fd, "0", 1);
	int err = errno;
	close(fd);
	if (n != 1)
		return push_errno(L, n < 0 ? err : EIO, path);
	lua_pushboolean(L, 1);
	return 1;
}

/* core.listdir(path) -> { names } (without . and ..) | nil, msg, errno */
static int l_listdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	DIR *d = opendir(path);
	if (!d)
		return push_errno(L, errno, path);
	lua_newtable(L);
	int i = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		lua_pushstring(L, de->d_name);
		lua_rawseti(L, -2, ++i);
	}
	closedir(d);
	return 1;
}

static int l_sleep(lua_State *L)
{
	lua_Number s = luaL_checknumber(L, 1);
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

/* core.run_hook{ path, args, env, timeout, stdin } -> status, output |
 * nil, msg, errno_name: an OCI hook, run and waited for (its output is
 * the tail of its stdout and stderr) */
static int l_run_hook(lua_State *L)
{
	struct sbx_err e = { 0 };
	char out[2048];
	size_t len;
	int status;

	static const char *const none[] = { NULL };
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "path");
	struct sbx_hook h = { .path = luaL_checkstring(L, -1) };
	/* the plan's string lists, kept by the table while the hook runs */
	const char *const *argv = str_list(L, 1, "args", NULL);
	const char *const *envp = str_list(L, 1, "env", NULL);
	h.argv = (char *const *)(argv ? argv : none);
	h.envp = (char *const *)(envp ? envp : none);
	lua_getfield(L, 1, "timeout");
	h.timeout_s = (int)luaL_optinteger(L, -1, 0);
	lua_getfield(L, 1, "stdin");
	const char *in = luaL_optlstring(L, -1, "", &len);
	int rc = sbx_hook_run(&h, in, len, &status, out, sizeof out, &e);
	release_scratch(L);
	if (rc < 0)
		return push_err(L, &e);
	lua_pushinteger(L, status);
	lua_pushstring(L, out);
	return 2;
}

/* core.realtime() -> seconds, nanoseconds (CLOCK_REALTIME) */
static int l_realtime(lua_State *L)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	lua_pushinteger(L, ts.tv_sec);
	lua_pushinteger(L, ts.tv_nsec);
	return 2;
}

/* core.exec(plan, init_pid, init_start, cgroup_path) -> pid, ttyfd|nil |
 * nil, msg, errno_name, exit_hint: a new process in a running container
 * (sbx_jail_exec): the process part of plan, joined to the namespaces of
 * plan.namespaces, born in the cgroup; it is our child */
static int l_exec(lua_State *L)
{
	struct sbx_plan p;
	struct sbx_err e = { 0 };
	struct sbx_exec x;
	pid_t ipid = (pid_t)luaL_checkinteger(L, 2);
	lua_Integer start = luaL_checkinteger(L, 3);
	const char *cg = luaL_checkstring(L, 4);

	read_plan(L, 1, &p); /* raises on a bad plan: no fd is open yet */
	int pidfd = (int)syscall(SYS_pidfd_open, ipid, 0);
	if (pidfd >= 0 && proc_starttime(ipid, NULL) != (long long)start) {
		close(pidfd);
		pidfd = -1;
		errno = ESRCH;
	}
	if (pidfd < 0) {
		release_scratch(L);
		return push_errno(L, errno, "exec: the container's init");
	}
	int cgfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		int err = errno;
		close(pidfd);
		release_scratch(L);
		return push_errno(L, err, cg);
	}
	struct lhost *h = get_host(L);
	int rc = sbx_jail_exec(h->ctx, &p, pidfd, cgfd, &x, &e);
	close(pidfd);
	close(cgfd);
	release_scratch(L);
	if (rc < 0) {
		push_err(L, &e);
		lua_pushinteger(L, x.exit_hint);
		return 4;
	}
	sbx_closep(&x.pidfd); /* our child: its pid stays its own till reaped */
	lua_pushinteger(L, x.pid);
	if (x.ttyfd >= 0)
		lua_pushinteger(L, x.ttyfd);
	else
		lua_pushnil(L);
	return 2;
}

/* core.exec_wait(pid [, timeout_s]) -> exit code (128+N for a signal) |
 * nil, msg, errno: wait for our child pid, passing HUP, INT, QUIT, TERM,
 * USR1, USR2, ALRM, CONT and WINCH on to it meanwhile (as runc's signal
 * proxy); past timeout_s (an OCI hook's) it is killed: ETIMEDOUT */
static int l_exec_wait(lua_State *L)
{
	static const int fwd[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1,
				   SIGUSR2, SIGALRM, SIGCONT, SIGWINCH };
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	lua_Integer timeout = luaL_optinteger(L, 2, 0);
	int64_t deadline = timeout > 0 ? sbx_now_ns() + timeout * 1000000000 : 0;
	sigset_t set, old;
	siginfo_t si;
	int err = 0;
	bool killed = false;

	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return push_errno(L, errno, "exec: pidfd_open");
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
		sigaddset(&set, fwd[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	for (;;) {
		struct pollfd pf[2] = { { .fd = fd, .events = POLLIN },
					{ .fd = sfd, .events = POLLIN } };
		int ms = -1;
		if (deadline && !killed) {
			int64_t left = deadline - sbx_now_ns();
			ms = left > 0 ? (int)(left / 1000000) + 1 : 0;
		}
		int n = poll(pf, sfd >= 0 ? 2 : 1, ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		if (n == 0) { /* its time is up: kill, then reap it */
			syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
			killed = true;
			continue;
		}
		if (sfd >= 0 && (pf[1].revents & POLLIN)) {
			struct signalfd_siginfo ss;
			if (read(sfd, &ss, sizeof ss) == (ssize_t)sizeof ss)
				syscall(SYS_pidfd_send_signal, fd, (int)ss.ssi_signo,
					NULL, 0);
		}
		if (pf[0].revents & POLLIN) {
			memset(&si, 0, sizeof si);
			if (waitid((idtype_t)3 /* P_PIDFD */, (id_t)fd, &si,
				   WEXITED | __WALL) < 0) {
				if (errno == EINTR)
					continue;
				err = errno;
			}
			break;
		}
	}
	if (sfd >= 0)
		close(sfd);
	close(fd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (err)
		return push_errno(L, err, "exec: wait for the command");
	if (killed) {
		lua_pushnil(L);
		lua_pushfstring(L, "killed after its timeout of %d s",
				(int)timeout);
		lua_pushstring(L, "ETIMEDOUT");
		return 3;
	}
	lua_pushinteger(L, si.si_code == CLD_EXITED ? si.si_status
						     : 128 + si.si_status);
	return 1;
}

/* core.send_console(socket_path, fd, name) -> true | nil, msg, errno: the
 * console's master to the engine's --console-socket (one sendmsg: the
 * name as the payload, the fd as SCM_RIGHTS, as runc sends it) */
static int l_send_console(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	int fd = (int)luaL_checkinteger(L, 2);
	size_t nl;
	const char *name = luaL_optlstring(L, 3, "/dev/ptmx", &nl);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return push_errno(L, ENAMETOOLONG, path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return push_errno(L, errno, "console socket");
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int err = errno;
		close(s);
		return push_errno(L, err, path);
	}
	char ctl[CMSG_SPACE(sizeof(int))];
	memset(ctl, 0, sizeof ctl);
	struct iovec iov = { (void *)name, nl };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = sizeof ctl };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	ssize_t n;
	while ((n = sendmsg(s, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	int err = errno;
	close(s);
	if (n < 0)
		return push_errno(L, err, path);
	lua_pushboolean(L, 1);
	return 1;
}

/* core.set_winsize(fd, rows, cols) -> true | nil, msg, errno */
static int l_set_winsize(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1);
	struct winsize ws = { .ws_row = (unsigned short)luaL_checkinteger(L, 2),
			      .ws_col = (unsigned short)luaL_checkinteger(L, 3) };
	if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
		return push_errno(L, errno, "console: TIOCSWINSZ");
	lua_pushboolean(L, 1);
	return 1;
}

static int l_jail_pid(lua_State *L)
{
	lua_pushinteger(L, check_jail(L, 1, true)->j.pid);
	return 1;
}

/* the command's pid in our namespace, once it runs */
static int l_jail_command_pid(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, true);
	if (lj->j.cmd_pid <= 0)
		return 0;
	lua_pushinteger(L, lj->j.cmd_pid);
	return 1;
}

static int l_jail_parked(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, true);
	sbx_jail_poll_msgs(&lj->j);
	lua_pushboolean(L, lj->j.parked && !lj->j.done);
	return 1;
}

/* jail:start(job_plan): a parked jail runs the job's command */
static int l_jail_start(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, true);
	struct sbx_plan p;
	struct sbx_err e = { 0 };
	read_plan(L, 2, &p);
	int rc = sbx_jail_start(&lj->j, &p, &e);
	release_scratch(L);
	if (rc < 0 || sbx_sup_arm(lj->host->sup, &lj->j, &e) < 0)
		return push_err(L, &e);
	lua_pushboolean(L, 1);
	return 1;
}

static int signum(lua_State *L, int i)
{
	if (lua_isnoneornil(L, i))
		return SIGKILL;
	if (lua_type(L, i) == LUA_TNUMBER) {
		lua_Integer v = luaL_checkinteger(L, i);
		if (v < 1 || v >= NSIG)
			luaL_argerror(L, i, "not a signal number");
		return (int)v;
	}
	/* any name the C library knows ("TERM", "SIGWINCH"), and the
	 * real-time ones as "RTMIN", "RTMIN+3", "RTMAX-1" */
	const char *n = luaL_checkstring(L, i);
	if (!strncmp(n, "SIG", 3))
		n += 3;
	for (int s = 1; s < NSIG; s++) {
		const char *a = sigabbrev_np(s);
		if (a && !strcmp(a, n))
			return s;
	}
	int base = !strncmp(n, "RTMIN", 5) ? SIGRTMIN
		   : !strncmp(n, "RTMAX", 5) ? SIGRTMAX : 0;
	if (base) {
		char *end;
		long off = n[5] ? strtol(n + 5, &end, 10) : 0;
		int s = base + (int)off;
		if ((!n[5] || (!*end && (n[5] == '+' || n[5] == '-'))) &&
		    s >= SIGRTMIN && s <= SIGRTMAX)
			return s;
	}
	return luaL_argerror(L, i, "unknown signal");
}

static int signum_pcall(lua_State *L)
{
	lua_pushinteger(L, signum(L, 1));
	return 1;
}

static int l_jail_kill(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, true);
	struct sbx_err e;
	if (sbx_jail_kill(&lj->j, signum(L, 2), &e) < 0)
		return push_err(L, &e);
	lua_pushboolean(L, 1);
	return 1;
}

static void setnum(lua_State *L, const char *k, int64_t v)
{
	if (v < 0)
		return; /* the kernel did not say: leave it out */
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static void setsec(lua_State *L, const char *k, int64_t us)
{
	if (us < 0)
		return;
	lua_pushnumber(L, (double)us / 1e6);
	lua_setfield(L, -2, k);
}

/* memory_stat = { anon = ..., file = ..., ... }: memory.stat at exit */
static void push_memory_stat(lua_State *L, const struct sbx_cgstats *c)
{
	const struct { const char *k; int64_t v; } f[] = {
		{ "anon", c->stat_anon },     { "file", c->stat_file },
		{ "kernel", c->stat_kernel }, { "sock", c->stat_sock },
		{ "shmem", c->stat_shmem },
	};
	bool any = false;
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		any = any || f[i].v >= 0;
	if (!any)
		return;
	lua_createtable(L, 0, 5);
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		setnum(L, f[i].k, f[i].v);
	lua_setfield(L, -2, "memory_stat");
}

/* pressure = { cpu = { some = { avg10, avg60, avg300, total_s }, full =
 * ... }, memory = ..., io = ... }: averages in percent, as the kernel
 * prints them */
/* io = { { device = "254:0", name = "vda", rbytes = ..., ... }, ... } and
 * the totals io_rbytes, io_wbytes (io.stat at exit) */
static void push_io(lua_State *L, const struct sbx_cgstats *c)
{
	static const char *const k[] = { "rbytes", "wbytes", "rios", "wios",
					 "dbytes", "dios" };
	int64_t rt = 0, wt = 0;
	if (c->nio == 0 || c->nio > SBX_MAX_IODEV)
		return;
	lua_createtable(L, (int)c->nio, 0);
	for (size_t i = 0; i < c->nio; i++) {
		const struct sbx_iostat *d = &c->io[i];
		const int64_t v[] = { d->rbytes, d->wbytes, d->rios, d->wios,
				      d->dbytes, d->dios };
		char dev[32], f[96], ue[512];
		lua_createtable(L, 0, 8);
		snprintf(dev, sizeof dev, "%u:%u", d->major, d->minor);
		lua_pushstring(L, dev);
		lua_setfield(L, -2, "device");
		/* the kernel's name of it (DEVNAME= in its uevent) */
		snprintf(f, sizeof f, "/sys/dev/block/%s/uevent", dev);
		if (sbx_read_at(AT_FDCWD, f, ue, sizeof ue) >= 0) {
			char *dn = strstr(ue, "DEVNAME=");
			if (dn) {
				dn += 8;
				lua_pushlstring(L, dn, strcspn(dn, "\n"));
				lua_setfield(L, -2, "name");
			}
		}
		for (int j = 0; j < 6; j++)
			setnum(L, k[j], v[j]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
		rt += d->rbytes > 0 ? d->rbytes : 0;
		wt += d->wbytes > 0 ? d->wbytes : 0;
	}
	lua_setfield(L, -2, "io");
	setnum(L, "io_rbytes", rt);
	setnum(L, "io_wbytes", wt);
}

/* result.timeline: compact arrays, a point each; cpu and pressure as
 * rates over the preceding interval; a series the kernel did not give at
 * every point is left out */
static void push_timeline(lua_State *L, const struct sbx_timeline *t)
{
	enum { MEM, CPU, PIDS, IOR, IOW, PC, PM, PIO, NSER };
	static const char *const names[NSER] = {
		"memory", "cpu", "pids", "io_read", "io_write", "psi_cpu",
		"psi_memory", "psi_io"
	};
	if (!t || t->n == 0)
		return;
	lua_createtable(L, 0, NSER + 2);
	lua_pushnumber(L, (double)t->interval_ns / 1e9);
	lua_setfield(L, -2, "interval");
	lua_createtable(L, (int)t->n, 0);
	for (size_t i = 0; i < t->n; i++) {
		lua_pushnumber(L, (double)t->s[i].t_us / 1e6);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "t");
	for (int k = 0; k < NSER; k++) {
		bool all = true;
		for (size_t i = 0; i < t->n && all; i++) {
			const struct sbx_sample *a = &t->s[i];
			int64_t v = k == MEM ? a->memory : k == CPU ? a->cpu_us
				    : k == PIDS ? a->pids : k == IOR ? a->io_rbytes
				    : k == IOW ? a->io_wbytes : a->psi_some_us[k - PC];
			all = v >= 0;
		}
		if (!all)
			continue;
		lua_createtable(L, (int)t->n, 0);
		for (size_t i = 0; i < t->n; i++) {
			const struct sbx_sample *a = &t->s[i];
			const struct sbx_sample *b = i ? &t->s[i - 1] : NULL;
			double dt = (double)(a->t_us - (b ? b->t_us : 0));
			switch (k) {
			case MEM: lua_pushinteger(L, a->memory); break;
			case PIDS: lua_pushinteger(L, a->pids); break;
			case IOR: lua_pushinteger(L, a->io_rbytes); break;
			case IOW: lua_pushinteger(L, a->io_wbytes); break;
			case CPU: {
				/* CPUs used since the point before (the first:
				 * since the start, from zero) */
				double d = (double)(a->cpu_us - (b ? b->cpu_us : 0));
				lua_pushnumber(L, dt > 0 && d > 0 ? d / dt : 0);
				break;
			}
			default: {
				int r = k - PC;
				double d = (double)(a->psi_some_us[r] -
						    (b ? b->psi_some_us[r] : 0));
				double v = dt > 0 && d > 0 ? d / dt : 0;
				lua_pushnumber(L, v > 1 ? 1 : v);
			}
			}
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		lua_setfield(L, -2, names[k]);
	}
	lua_setfield(L, -2, "timeline");
}

static void push_pressure(lua_State *L, const struct sbx_cgstats *c)
{
	static const char *const res[] = { "cpu", "memory", "io" };
	static const char *const kind[] = { "some", "full" };
	int n = 0;
	lua_createtable(L, 0, 3);
	for (int i = 0; i < 3; i++) {
		bool have = false;
		for (int k = 0; k < 2; k++)
			have = have || c->psi[i][k].total >= 0;
		if (!have)
			continue;
		lua_createtable(L, 0, 2);
		for (int k = 0; k < 2; k++) {
			const struct sbx_psi *p = &c->psi[i][k];
			if (p->total < 0)
				continue;
			lua_createtable(L, 0, 4);
			const struct { const char *k; int64_t v; } a[] = {
				{ "avg10", p->avg10 }, { "avg60", p->avg60 },
				{ "avg300", p->avg300 } };
			for (int j = 0; j < 3; j++)
				if (a[j].v >= 0) {
					lua_pushnumber(L, (double)a[j].v / 100.0);
					lua_setfield(L, -2, a[j].k);
				}
			setsec(L, "total_s", p->total);
			lua_setfield(L, -2, kind[k]);
		}
		lua_setfield(L, -2, res[i]);
		n++;
	}
	if (n)
		lua_setfield(L, -2, "pressure");
	else
		lua_pop(L, 1);
}

static void push_cgstats(lua_State *L, const struct sbx_cgstats *c)
{
	setnum(L, "memory_current", c->memory_current);
	setnum(L, "memory_peak", c->memory_peak);
	setnum(L, "oom_kills", c->oom_kills);
	setnum(L, "oom_group_kills", c->oom_group_kills);
	setnum(L, "memory_max_events", c->memory_max_events);
	setnum(L, "memory_high_events", c->memory_high_events);
	setsec(L, "cpu_s", c->cpu_usage_us);
	setsec(L, "cpu_user_s", c->cpu_user_us);
	setsec(L, "cpu_system_s", c->cpu_system_us);
	setsec(L, "throttled_s", c->throttled_us);
	setnum(L, "nr_throttled", c->nr_throttled);
	setnum(L, "pids_current", c->pids_current);
	setnum(L, "pids_max_hits", c->pids_max_hits);
	setnum(L, "oom_events", c->memory_oom_events);
	setnum(L, "nr_periods", c->nr_periods);
	setnum(L, "memory_swap_current", c->swap_current);
	setnum(L, "memory_swap_peak", c->swap_peak);
	setnum(L, "swap_max_events", c->swap_max_events);
	setnum(L, "swap_fail_events", c->swap_fail_events);
	push_memory_stat(L, c);
	push_pressure(L, c);
	push_io(L, c);
	/* the limits as the kernel held them at the end ("max": absent) */
	setnum(L, "memory_max", c->memory_max);
	setnum(L, "memory_high", c->memory_high);
	setnum(L, "pids_max", c->pids_max);
	if (c->cpu_quota_us >= 0 && c->cpu_period_us > 0) {
		lua_pushnumber(L, (double)c->cpu_quota_us /
					  (double)c->cpu_period_us);
		lua_setfield(L, -2, "cpu_max");
	}
}

/* "SIGKILL", or nil for a number the C library has no name for */
static void push_signame(lua_State *L, int s)
{
	const char *a = sigabbrev_np(s);
	if (a)
		lua_pushfstring(L, "SIG%s", a);
	else
		lua_pushnil(L);
}

static int push_bytes(lua_State *L)
{
	lua_pushlstring(L, lua_touserdata(L, 1), (size_t)lua_tointeger(L, 2));
	return 1;
}

/* Captured output as a Lua string. The copy may not fit in the host's memory
 * where the capture itself did: then the longest half-size prefix that fits
 * is kept, and the result says it was cut, instead of the memory error
 * escaping with the jail's result lost. Returns whether it cut. */
static bool push_output(lua_State *L, const char *data, size_t len)
{
	if (!data)
		len = 0;
	for (size_t n = len;; n /= 2) {
		lua_pushcfunction(L, push_bytes);
		lua_pushlightuserdata(L, (void *)(data ? data : ""));
		lua_pushinteger(L, (lua_Integer)n);
		if (lua_pcall(L, 2, 1, 0) == LUA_OK)
			return n < len;
		lua_pop(L, 1);
		lua_gc(L, LUA_GCCOLLECT);
		if (n == 0) { /* not even "": no output field at all */
			lua_pushnil(L);
			return true;
		}
	}
}

static void push_result(lua_State *L, const struct sbx_jail *j)
{
	const struct sbx_result *r = &j->res;
	lua_newtable(L);
	lua_pushstring(L, sbx_status_name(r->status));
	lua_setfield(L, -2, "status");
	if (r->status == SBX_ST_SETUP_ERROR) {
		lua_pushinteger(L, r->exit_hint ? r->exit_hint : 125);
		lua_setfield(L, -2, "exit_code");
		lua_pushstring(L, r->err.step);
		lua_setfield(L, -2, "step");
		lua_pushstring(L, r->err.msg);
		lua_setfield(L, -2, "message");
		lua_pushstring(L, r->err.errnum ? sbx_errno_name(r->err.errnum)
						: "EINVAL");
		lua_setfield(L, -2, "errno");
	} else {
		lua_pushinteger(L, r->exit_code);
		lua_setfield(L, -2, "exit_code");
		if (r->signal) {
			push_signame(L, r->signal);
			lua_setfield(L, -2, "signal");
			lua_pushinteger(L, r->signal);
			lua_setfield(L, -2, "signal_number");
		}
		if (r->core_dumped) {
			lua_pushboolean(L, 1);
			lua_setfield(L, -2, "core_dumped");
		}
		if (r->status == SBX_ST_TIMEOUT) {
			lua_pushstring(L, r->timeout_cpu ? "cpu" : "wall");
			lua_setfield(L, -2, "timeout");
		}
		char scbuf[64];
		const char *sc = r->signal == SIGSYS && r->syscall >= 0
					 ? sbx_syscall_name_arch(r->syscall_arch,
								 r->syscall, scbuf,
								 sizeof scbuf)
					 : NULL;
		if (sc) {
			lua_pushstring(L, sc);
			lua_setfield(L, -2, "syscall");
		}
	}
	if (j->pid > 0) {
		lua_pushnumber(L, r->wall_s);
		lua_setfield(L, -2, "wall_s");
		/* one clock for every job of a run: a list can be drawn */
		double t0 = (double)r->started_real_ns / 1e9;
		lua_pushnumber(L, t0);
		lua_setfield(L, -2, "started_at");
		lua_pushnumber(L, t0 + r->wall_s);
		lua_setfield(L, -2, "ended_at");
	}
	push_timeline(L, r->timeline);
	if (j->has_cg || j->cg.path[0]) {
		lua_pushstring(L, j->cg.path);
		lua_setfield(L, -2, "cgroup");
		push_cgstats(L, &r->cg);
	}
	if (r->trace[0]) {
		/* { { where = "host"|"init", step = "...", ms = 0.123 }, ... } */
		lua_newtable(L);
		int n = 0;
		for (const char *t = r->trace; *t;) {
			const char *colon = strchr(t, ':'), *eq = strchr(t, '='),
				   *semi = strchr(t, ';');
			if (!colon || !eq || !semi || colon > eq || eq > semi)
				break;
			lua_createtable(L, 0, 3);
			lua_pushlstring(L, t, (size_t)(colon - t));
			lua_setfield(L, -2, "where");
			lua_pushlstring(L, colon + 1, (size_t)(eq - colon - 1));
			lua_setfield(L, -2, "step");
			lua_pushnumber(L, strtod(eq + 1, NULL) / 1000.0);
			lua_setfield(L, -2, "ms");
			lua_rawseti(L, -2, ++n);
			t = semi + 1;
		}
		lua_setfield(L, -2, "trace");
	}
	if (r->no_cgroup) {
		lua_pushstring(L, r->no_cgroup);
		lua_setfield(L, -2, "no_cgroup");
	}
	if (r->skipped[0]) { /* a list: { "memory", "pids" } */
		lua_Integer k = 0;
		lua_newtable(L);
		for (const char *w = r->skipped; *w;) {
			size_t n = strcspn(w, " ");
			if (n) {
				lua_pushlstring(L, w, n);
				lua_rawseti(L, -2, ++k);
			}
			w += n + (w[n] == ' ');
		}
		lua_setfield(L, -2, "skipped_controllers");
	}
	for (int i = 1; i < 3; i++) {
		const struct sbx_buf *b = &j->out[i];
		/* a key only for a stream that was captured (an empty one is
		 * ""), and only once it was read to its end */
		if (!b->captured || (!b->eof && !b->data))
			continue;
		bool cut = push_output(L, b->data, b->len);
		lua_setfield(L, -2, i == 1 ? "stdout" : "stderr");
		if (b->truncated || cut) {
			lua_pushboolean(L, 1);
			lua_setfield(L, -2, "output_truncated");
		}
	}
}

static int l_jail_result(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, true);
	if (!lj->j.done)
		return 0;
	push_result(L, &lj->j);
	return 1;
}

static int l_jail_done(lua_State *L)
{
	lua_pushboolean(L, check_jail(L, 1, true)->j.done);
	return 1;
}

static struct sbx_cgroup *jail_cg(lua_State *L, struct ljail *lj)
{
	if (!lj->j.has_cg || lj->j.cg.dirfd < 0)
		luaL_error(L, "the jail has no live cgroup");
	return &lj->j.cg;
}

static int l_jail_stats(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, true);
	struct sbx_cgstats st;
	if (lj->j.done) {
		lua_pushnil(L);
		lua_pushstring(L, "stats: the jail has exited");
		lua_pushstring(L, "ESRCH");
		return 3;
	}
	sbx_cgroup_stats(jail_cg(L, lj), &st);
	lua_newtable(L);
	push_cgstats(L, &st);
	lua_pushnumber(L, (double)(sbx_now_ns() - lj->j.t0_ns) / 1e9);
	lua_setfield(L, -2, "wall_s");
	return 1;
}

static int l_jail_set(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, true);
	const char *f = luaL_checkstring(L, 2), *v = luaL_checkstring(L, 3);
	struct sbx_err e;
	if (sbx_cgroup_set(jail_cg(L, lj), f, v, &e) < 0)
		return push_err(L, &e);
	lua_pushboolean(L, 1);
	return 1;
}

/* jail:enable("memory") -> true | nil, msg, errno: the controller in the
 * leaf (enabled in its parent's subtree_control), for a limit set live */
/* :enable(controller) of a jail or a cgroup: the controller made
 * available to cg, in its parent's subtree_control (as a spawn prepares
 * a parent: the no-internal-processes rule, a controller the parent
 * lacks, each named) */
static int enable_for(lua_State *L, struct sbx_ctx *ctx,
		      const struct sbx_cgroup *cg, const char *name)
{
	uint32_t bit = sbx_ctl_parse(name);
	char parent[4096];
	struct sbx_err e;
	if (!bit)
		return luaL_error(L, "enable: unknown controller %s", name);
	snprintf(parent, sizeof parent, "%s", cg->path);
	char *sl = strrchr(parent, '/');
	if (sl)
		*sl = '\0';
	if (sbx_cgroup_prepare_parent(ctx, parent, bit, 0, 0, NULL, &e) < 0)
		return push_err(L, &e);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_jail_enable(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, true);
	const char *name = luaL_checkstring(L, 2);
	return enable_for(L, lj->host ? lj->host->ctx : NULL, jail_cg(L, lj),
			  name);
}

static int l_jail_get(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, true);
	char buf[8192];
	struct sbx_err e;
	if (sbx_cgroup_get(jail_cg(L, lj), luaL_checkstring(L, 2), buf,
			   sizeof buf, &e) < 0)
		return push_err(L, &e);
	lua_pushstring(L, buf);
	return 1;
}

static int l_jail_freeze(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, true);
	struct sbx_err e;
	if (sbx_cgroup_freeze(jail_cg(L, lj), lua_toboolean(L, 2), &e) < 0)
		return push_err(L, &e);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_jail_cgroup(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, true);
	if (!lj->j.cg.path[0])
		return 0;
	lua_pushstring(L, lj->j.cg.path);
	return 1;
}

static int l_jail_close(lua_State *L)
{
	struct ljail *lj = check_jail(L, 1, false);
	jail_release(lj);
	anchor(L, &lj->j, 0);
	return 0;
}

/* core.step(timeout_ms) -> { {jail, "exit"|"oom"|"timeout"}, ... } */
static int l_step(lua_State *L)
{
	struct sbx_sup *sup = get_host(L)->sup;
	int ms = (int)luaL_optinteger(L, 1, -1);
	struct sbx_err e;
	struct sbx_jail *j;
	enum sbx_event ev;
	static const char *const names[] = { "exit", "oom", "timeout" };
	int n = 0;

	if (got_winch) {
		got_winch = 0;
		sbx_sup_tty_resize(sup);
	}
	if (sbx_sup_step(sup, ms, &e) < 0) {
		if (e.errnum == EINTR) {
			lua_newtable(L);
			return 1;
		}
		return push_err(L, &e);
	}
	if (lua_getfield(L, LUA_REGISTRYINDEX, ANCHOR_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
	}
	int anchors = lua_gettop(L);
	lua_newtable(L);
	while (sbx_sup_pop(sup, &j, &ev)) {
		if (!j)
			continue;
		lua_createtable(L, 2, 0);
		lua_pushlightuserdata(L, j);
		lua_rawget(L, anchors);
		lua_rawseti(L, -2, 1);
		lua_pushstring(L, names[ev]);
		lua_rawseti(L, -2, 2);
		lua_rawseti(L, -2, ++n);
		if (ev == SBX_EV_EXIT) {
			/* the handle may now be collected once Lua drops it */
			lua_pushlightuserdata(L, j);
			lua_pushnil(L);
			lua_rawset(L, anchors);
		}
	}
	return 1;
}

static int l_running(lua_State *L)
{
	lua_pushinteger(L, sbx_sup_count(get_host(L)->sup));
	return 1;
}

/* core.raise_nofile(): the soft fd limit up to the hard one (jails keep
 * the old) -> true | nil, msg, errno */
static int l_raise_nofile(lua_State *L)
{
	struct sbx_err e;
	if (sbx_ctx_raise_nofile(get_host(L)->ctx, &e) < 0)
		return push_err(L, &e);
	lua_pushboolean(L, 1);
	return 1;
}

/* core.plan_bytes(plan [, "job"]) -> the bytes init would get for the
 * plan, or a parked jail for the plan's job (specs, fuzz seeds) */
static int l_plan_bytes(lua_State *L)
{
	struct sbx_plan p;
	struct sbx_err e = { 0 };
	struct lhost *h = get_host(L);
	const struct sbx_bpf *bpf = NULL;
	struct sbx_wbuf w;
	read_plan(L, 1, &p);
	bool job = lua_isstring(L, 2) && !strcmp(lua_tostring(L, 2), "job");
	int rc = job ? sbx_job_encode(&p, &w, &e) < 0
		     : sbx_seccomp_compile(h->ctx, &p.seccomp, &bpf, &e) < 0 ||
			       sbx_plan_encode(&p, bpf, &w, &e) < 0;
	release_scratch(L);
	if (rc)
		return push_err(L, &e);
	lua_pushlstring(L, (const char *)w.p, w.len);
	sbx_wbuf_free(&w);
	return 1;
}

/* core.settle([timeout_ms]) -> true | false: finished jails' remains
 * (init's exit, the cgroup leaf) gone? */
static int l_settle(lua_State *L)
{
	int ms = (int)luaL_optinteger(L, 1, 5000);
	lua_pushboolean(L, sbx_sup_settle(get_host(L)->sup, ms) == 0);
	return 1;
}

static int l_kill_all(lua_State *L)
{
	sbx_sup_kill_all(get_host(L)->sup);
	return 0;
}

/* ---- cgroups ------------------------------------------------------------ */
static struct sbx_cgroup *check_cg(lua_State *L, int i)
{
	struct sbx_cgroup *cg = luaL_checkudata(L, i, CG_MT);
	if (cg->dirfd < 0)
		luaL_error(L, "attempt to use a closed cgroup");
	return cg;
}

static struct sbx_cgroup *new_cg(lua_State *L)
{
	struct sbx_cgroup *cg = lua_newuserdatauv(L, sizeof *cg, 0);
	memset(cg, 0, sizeof *cg);
	cg->dirfd = -1; /* created closed, then acquired */
	luaL_setmetatable(L, CG_MT);
	return cg;
}

static int l_cg_open(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct sbx_cgroup *cg = new_cg(L);
	struct sbx_err e;
	if (sbx_cgroup_open(path, cg, &e) < 0)
		return push_err(L, &e);
	return 1;
}

/* core.cgroup_create(parent|nil, controllers) -> cg (a fresh owned leaf) */
static int l_cg_create(lua_State *L)
{
	const char *explicit = luaL_optstring(L, 1, NULL);
	const char *ctl = luaL_optstring(L, 2, "");
	char parent[4096], why[128];
	struct sbx_err e;
	struct sbx_ctx *c = get_host(L)->ctx;
	if (sbx_cgroup_pick_parent(c, explicit, parent, sizeof parent, why,
				   sizeof why, &e) < 0 ||
	    sbx_cgroup_prepare_parent(c, parent, sbx_ctl_parse(ctl), 0, 0, NULL,
				      &e) < 0)
		return push_err(L, &e);
	struct sbx_cgroup *cg = new_cg(L);
	if (sbx_cgroup_create(parent, cg, &e) < 0)
		return push_err(L, &e);
	return 1;
}

static int l_cg_set(lua_State *L)
{
	struct sbx_err e;
	if (sbx_cgroup_set(check_cg(L, 1), luaL_checkstring(L, 2),
			   luaL_checkstring(L, 3), &e) < 0)
		return push_err(L, &e);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_cg_enable(lua_State *L)
{
	struct sbx_cgroup *cg = check_cg(L, 1);
	return enable_for(L, get_host(L)->ctx, cg, luaL_checkstring(L, 2));
}

static int l_cg_get(lua_State *L)
{
	char buf[8192];
	struct sbx_err e;
	if (sbx_cgroup_get(check_cg(L, 1), luaL_checkstring(L, 2), buf,
			   sizeof buf, &e) < 0)
		return push_err(L, &e);
	lua_pushstring(L, buf);
	return 1;
}

static int l_cg_stats(lua_State *L)
{
	struct sbx_cgstats st;
	sbx_cgroup_stats(check_cg(L, 1), &st);
	lua_newtable(L);
	push_cgstats(L, &st);
	return 1;
}

static int l_cg_pids(lua_State *L)
{
	struct sbx_err e;
	pid_t *v;
	size_t n;
	if (sbx_cgroup_pids(check_cg(L, 1), &v, &n, &e) < 0)
		return push_err(L, &e);
	lua_createtable(L, (int)(n > INT32_MAX ? 0 : n), 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushinteger(L, v[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	free(v);
	return 1;
}

static int l_cg_kill(lua_State *L)
{
	struct sbx_err e;
	if (sbx_cgroup_kill(check_cg(L, 1), &e) < 0)
		return push_err(L, &e);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_cg_freeze(lua_State *L)
{
	struct sbx_err e;
	if (sbx_cgroup_freeze(check_cg(L, 1),
			      lua_isnone(L, 2) || lua_toboolean(L, 2), &e) < 0)
		return push_err(L, &e);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_cg_path(lua_State *L)
{
	lua_pushstring(L, check_cg(L, 1)->path);
	return 1;
}

/* remove (owned: kill, wait, rmdir) — the one release */
static int l_cg_close(lua_State *L)
{
	struct sbx_cgroup *cg = luaL_checkudata(L, 1, CG_MT);
	struct sbx_err e;
	if (cg->dirfd >= 0 && sbx_cgroup_remove(cg, &e) < 0)
		return push_err(L, &e);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_cg_gc(lua_State *L)
{
	struct sbx_cgroup *cg = luaL_checkudata(L, 1, CG_MT);
	if (cg->dirfd >= 0)
		sbx_cgroup_remove(cg, NULL);
	return 0;
}

static int l_cg_mountpoint(lua_State *L)
{
	char buf[4096];
	struct sbx_err e;
	if (sbx_cgroup_mountpoint(buf, sizeof buf, &e) < 0)
		return push_err(L, &e);
	lua_pushstring(L, buf);
	return 1;
}

static int l_cg_parent(lua_State *L)
{
	char buf[4096], why[128];
	struct sbx_err e;
	if (sbx_cgroup_pick_parent(get_host(L)->ctx, luaL_optstring(L, 1, NULL),
				   buf, sizeof buf, why, sizeof why, &e) < 0)
		return push_err(L, &e);
	lua_pushstring(L, buf);
	lua_pushstring(L, why);
	return 2;
}

/* ---- misc --------------------------------------------------------------- */
static int l_cap_names(lua_State *L)
{
	lua_newtable(L);
	for (int c = 0; c <= sbx_cap_last(); c++) {
		const char *n = sbx_cap_name(c);
		if (!n)
			continue;
		lua_pushinteger(L, c); /* a set, with each one's number */
		lua_setfield(L, -2, n);
	}
	return 1;
}

/* a policy table as the recipe layer compiles it */
static void seccomp_arg(lua_State *L, int idx, struct sbx_seccomp *s)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	memset(s, 0, sizeof *s);
	s->enabled = true;
	s->use_default_denylist = opt_bool(L, idx, "denylist", true);
	s->keep_sys_admin = opt_bool(L, idx, "keep_sys_admin", false);
	s->allow = str_list(L, idx, "allow", NULL);
	s->deny = str_list(L, idx, "deny", NULL);
	const char *d = opt_str(L, idx, "default");
	s->def = !d || !strcmp(d, "allow") ? SBX_SECCOMP_ALLOW
		 : !strcmp(d, "kill")	   ? SBX_SECCOMP_KILL
					   : SBX_SECCOMP_ERRNO;
	read_seccomp_rules(L, idx, s);
}

static int l_seccomp_check(lua_State *L)
{
	struct sbx_seccomp s;
	struct sbx_err e;
	seccomp_arg(L, 1, &s);
	int rc = sbx_seccomp_check(&s, &e);
	release_scratch(L);
	if (rc < 0)
		return push_err(L, &e);
	lua_pushboolean(L, 1);
	return 1;
}

/* seccomp_bpf(policy [, fresh]) -> the BPF program a jail would load, as
 * bytes, and where it came from: "prebuilt" (at build time) or "compiled"
 * (this process, cached); with fresh, a new libseccomp export */
static int l_seccomp_bpf(lua_State *L)
{
	struct sbx_seccomp s;
	struct sbx_err e;
	struct sbx_bpf fresh_bpf = { NULL, 0 };
	const struct sbx_bpf *b = &fresh_bpf;
	seccomp_arg(L, 1, &s);
	int rc = lua_toboolean(L, 2) ? sbx_seccomp_export(&s, &fresh_bpf, &e)
				     : sbx_seccomp_compile(get_host(L)->ctx, &s, &b, &e);
	release_scratch(L);
	if (rc < 0)
		return push_err(L, &e);
	lua_pushlstring(L, b->insns, b->len * sizeof(struct sock_filter));
	free(fresh_bpf.insns);
	const char *from = "compiled";
	for (size_t i = 0; i < sbx_seccomp_nprebuilt; i++)
		if (b == &sbx_seccomp_prebuilt[i].bpf)
			from = "prebuilt";
	lua_pushstring(L, from);
	return 2;
}

/* signals and the terminal are the process's, not a Lua state's: the
 * module's only statics are for them */
static volatile sig_atomic_t got_signal;
static int wake_fd = -1;
/* from a signal handler: end the supervisor's wait, even if the signal
 * came just before it */
static void wake_sup(void)
{
	uint64_t one = 1;
	int saved = errno;
	if (wake_fd >= 0 && write(wake_fd, &one, sizeof one) < 0)
		(void)0;
	errno = saved;
}

static void on_signal(int s)
{
	got_signal = s;
	wake_sup();
}

static void on_winch(int s)
{
	(void)s;
	got_winch = 1;
	wake_sup();
}

/* core.tty_raw(): the host terminal in raw mode while a console runs;
 * core.tty_restore() puts it back.  SIGWINCH resizes the consoles. */
static struct termios saved_tio;
static bool tio_saved;

static int l_tty_raw(lua_State *L)
{
	struct termios t;
	struct sigaction sa;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0) {
		lua_pushboolean(L, 0);
		return 1;
	}
	tio_saved = true;
	t = saved_tio;
	cfmakeraw(&t);
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
	wake_fd = sbx_sup_wake_fd(get_host(L)->sup);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_tty_restore(lua_State *L)
{
	(void)L;
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	tio_saved = false;
	signal(SIGWINCH, SIG_DFL);
	return 0;
}

/* core.trap_signals(): SIGINT/SIGTERM/SIGHUP set a flag (read with
 * core.signalled()) so the host can kill its jails and clean up */
static int l_trap(lua_State *L)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	wake_fd = sbx_sup_wake_fd(get_host(L)->sup);
	sa.sa_handler = on_signal; /* no SA_RESTART: the ring wait returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int l_signalled(lua_State *L)
{
	if (!got_signal)
		return 0;
	lua_pushinteger(L, got_signal);
	return 1;
}

static int l_now(lua_State *L)
{
	lua_pushnumber(L, (double)sbx_now_ns() / 1e9);
	return 1;
}

static int l_getuid(lua_State *L)
{
	lua_pushinteger(L, getuid());
	return 1;
}

static int l_getpid(lua_State *L)
{
	lua_pushinteger(L, getpid());
	return 1;
}

static int l_getgid(lua_State *L)
{
	lua_pushinteger(L, getgid());
	return 1;
}

static int l_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
	return 1;
}

/* core.blockdev(path) -> major, minor, whole ("MAJ:MIN" of the disk a
 * partition is on, or nil) | nil, message, errno */
static int l_blockdev(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat st;
	char f[96], buf[64];
	if (stat(path, &st) < 0) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: %s", path, strerror(errno));
		lua_pushstring(L, sbx_errno_name(errno));
		return 3;
	}
	if (!S_ISBLK(st.st_mode)) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: not a block device", path);
		lua_pushstring(L, "ENOTBLK");
		return 3;
	}
	lua_pushinteger(L, major(st.st_rdev));
	lua_pushinteger(L, minor(st.st_rdev));
	/* a partition: its disk is the parent directory in sysfs */
	snprintf(f, sizeof f, "/sys/dev/block/%u:%u/partition",
		 major(st.st_rdev), minor(st.st_rdev));
	if (access(f, F_OK) == 0) {
		snprintf(f, sizeof f, "/sys/dev/block/%u:%u/../dev",
			 major(st.st_rdev), minor(st.st_rdev));
		if (sbx_read_at(AT_FDCWD, f, buf, sizeof buf) >= 0) {
			buf[strcspn(buf, "\n")] = '\0';
			lua_pushstring(L, buf);
			return 3;
		}
	}
	return 2;
}

int luaopen_cgsandbox_core(lua_State *L)
{
	static const luaL_Reg jail_m[] = {
		{ "pid", l_jail_pid },	     { "kill", l_jail_kill },
		{ "command_pid", l_jail_command_pid },
		{ "parked", l_jail_parked }, { "start", l_jail_start },
		{ "result", l_jail_result }, { "done", l_jail_done },
		{ "stats", l_jail_stats },   { "set", l_jail_set },
		{ "enable", l_jail_enable },
		{ "get", l_jail_get },	     { "freeze", l_jail_freeze },
		{ "cgroup", l_jail_cgroup }, { "close", l_jail_close },
		{ NULL, NULL },
	};
	static const luaL_Reg cg_m[] = {
		{ "set", l_cg_set },	   { "get", l_cg_get },
		{ "enable", l_cg_enable },
		{ "stats", l_cg_stats },   { "kill", l_cg_kill },
		{ "pids", l_cg_pids },
		{ "freeze", l_cg_freeze }, { "path", l_cg_path },
		{ "remove", l_cg_close },  { "close", l_cg_close },
		{ NULL, NULL },
	};
	static const luaL_Reg fns[] = {
		{ "spawn", l_spawn },
		{ "step", l_step },
		{ "running", l_running },
		{ "kill_all", l_kill_all },
		{ "settle", l_settle },
		{ "plan_bytes", l_plan_bytes },
		{ "raise_nofile", l_raise_nofile },
		{ "cgroup_open", l_cg_open },
		{ "cgroup_create", l_cg_create },
		{ "cgroup_mountpoint", l_cg_mountpoint },
		{ "cgroup_parent", l_cg_parent },
		{ "cap_names", l_cap_names },
		{ "seccomp_check", l_seccomp_check },
		{ "seccomp_bpf", l_seccomp_bpf },
		{ "trap_signals", l_trap },
		{ "signalled", l_signalled },
		{ "now", l_now },
		{ "isatty", l_isatty },
		{ "tty_raw", l_tty_raw },
		{ "tty_restore", l_tty_restore },
		{ "getuid", l_getuid },
		{ "getgid", l_getgid },
		{ "getpid", l_getpid },
		{ "blockdev", l_blockdev },
		{ "create", l_create },
		{ "mkfifo", l_mkfifo },
		{ "chown", l_chown },
		{ "mkdir", l_mkdir },
		{ "flock", l_flock },
		{ "close_fd", l_close_fd },
		{ "fd_open", l_fd_open },
		{ "signum", l_signum },
		{ "proc_start", l_proc_start },
		{ "pidfd_kill", l_pidfd_kill },
		{ "waitpid", l_waitpid },
		{ "fifo_start", l_fifo_start },
		{ "sleep", l_sleep },
		{ "listdir", l_listdir },
		{ "realtime", l_realtime },
		{ "exec", l_exec },
		{ "exec_wait", l_exec_wait },
		{ "send_console", l_send_console },
		{ "set_winsize", l_set_winsize },
		{ "run_hook", l_run_hook },
		{ NULL, NULL },
	};
	luaL_newmetatable(L, JAIL_MT);
	luaL_newlib(L, jail_m);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_jail_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, l_jail_gc);
	lua_setfield(L, -2, "__close");
	lua_pop(L, 1);
	luaL_newmetatable(L, CG_MT);
	luaL_newlib(L, cg_m);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_cg_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, l_cg_gc);
	lua_setfield(L, -2, "__close");
	lua_pop(L, 1);
	luaL_newlib(L, fns);
	lua_pushstring(L, SBX_VERSION);
	lua_setfield(L, -2, "version");
	return 1;
}
