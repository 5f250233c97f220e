/* libsbx: Linux isolation primitives for sandboxlua.
 *
 * Knows nothing of Lua.  A caller fills a struct sbx_plan (a flat list of
 * setup ops, limits and a command), then sbx_jail_spawn() creates the cgroup
 * leaf, writes every limit through its directory fd and clone3()s the jail
 * straight into it: its pid 1 is sbx-init, a small static program of this
 * project exec'd from a sealed memfd, which gets the plan as bytes over a
 * socket and builds the jail.  A struct sbx_sup (io_uring) supervises any
 * number of jails until they exit, and the result is read back from the
 * kernel.  A struct sbx_ctx holds what one thread of spawning reuses (the
 * sealed init image, compiled seccomp filters): one per thread or Lua state.
 *
 * Errors: every fallible call takes a struct sbx_err * out-param that gets
 * the errno, the step that failed and a readable message. */
#ifndef SBX_H
#define SBX_H

#include <stddef.h>
#include <stdint.h>
#include "cgparse.h"
#include <stdbool.h>
#include <sys/types.h>
#include <sys/resource.h>
#include <signal.h>

#define SBX_VERSION "0.1.0"

/* ---- errors (err.c) ---------------------------------------------------- */
struct sbx_err {
	int errnum;     /* errno, 0 when not an OS error */
	char step[64];  /* what we were doing: "mount", "cgroup", "exec", ... */
	char msg[512];  /* one readable line, no trailing newline */
};
void sbx_err_set(struct sbx_err *e, int errnum, const char *step,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* prefix an existing message with more context, as errors rise */
void sbx_err_wrap(struct sbx_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *sbx_errno_name(int errnum); /* "ENOENT"; "EUNKNOWN" if unknown */

/* ---- cleanup helpers (util.h) ------------------------------------------ */
/* see util.h; not part of the public API */

/* ---- cgroup v2 (cgroup.c) ---------------------------------------------- */
struct sbx_cgroup {
	int dirfd;        /* O_PATH|O_DIRECTORY fd of the leaf, -1 when closed */
	bool owned;       /* we created it: kill + rmdir on remove */
	char path[4096];  /* absolute path, for messages and the result */
};
#define SBX_MAX_IODEV 16
struct sbx_cgstats {
	/* -1 (or negative) when the kernel does not provide the value */
	int64_t memory_current, memory_peak, memory_max_events, oom_kills,
		oom_group_kills, memory_high_events;
	int64_t cpu_usage_us, cpu_user_us, cpu_system_us, throttled_us,
		nr_throttled;
	int64_t pids_current, pids_max_hits;
	int64_t memory_oom_events, nr_periods;
	int64_t swap_current, swap_peak, swap_max_events, swap_fail_events;
	/* memory.stat at exit: the main lines */
	int64_t stat_anon, stat_file, stat_kernel, stat_sock, stat_shmem;
	/* cpu, memory, io pressure: some and full */
	struct sbx_psi psi[3][2];
	/* io.stat, a device each */
	struct sbx_iostat io[SBX_MAX_IODEV];
	size_t nio;
	/* the limits as the kernel holds them ("max": -1) */
	int64_t memory_max, memory_high, pids_max, cpu_quota_us, cpu_period_us;
};
/* find the cgroup2 mount point in /proc/self/mountinfo */
int sbx_cgroup_mountpoint(char *out, size_t len, struct sbx_err *e);
/* pick the parent: explicit > $SANDBOXLUA_CGROUP > own delegated > root's
 * <mnt>/sandboxlua.  'why' explains the choice (for --check). */
struct sbx_ctx;
int sbx_cgroup_pick_parent(struct sbx_ctx *c, const char *explicit_parent,
			   char *out, size_t len,
			   char *why, size_t whylen, struct sbx_err *e);
/* enable controllers (SBX_CTL_BIT sets) for children of parent,
 * creating parent (and moving ourselves out of it when it is our own
 * cgroup) as needed.  'missing' gets the optional ones left out; 'best'
 * (for statistics, not limits) are enabled where the parent has them and
 * the kernel lets us, refusals ignored. */
int sbx_cgroup_prepare_parent(struct sbx_ctx *c, const char *parent,
			      uint32_t need, uint32_t optional, uint32_t best,
			      uint32_t *missing, struct sbx_err *e);
/* the same for a parent whose missing levels below the deepest existing
 * one are made (and removed with the context, once empty), with the
 * controllers enabled at each level down the chain */
int sbx_cgroup_prepare_chain(struct sbx_ctx *c, const char *parent,
			     uint32_t need, uint32_t optional, uint32_t best,
			     uint32_t *missing, struct sbx_err *e);
/* an absolute path below the cgroup2 mount for a name from the user
 * (absolute, or relative to the mount); no ".." */
int sbx_cgroup_resolve(struct sbx_ctx *c, const char *name, char *out,
		       size_t len, struct sbx_err *e);
/* whether the cgroup2 mount has nsdelegate */
bool sbx_cgroup_nsdelegate(struct sbx_ctx *c);
int sbx_cgroup_create(const char *parent, struct sbx_cgroup *cg,
		      struct sbx_err *e);
int sbx_cgroup_open(const char *path, struct sbx_cgroup *cg,
		    struct sbx_err *e);
int sbx_cgroup_set(struct sbx_cgroup *cg, const char *file, const char *value,
		   struct sbx_err *e);
/* read a whole file (trailing newline stripped) */
int sbx_cgroup_get(struct sbx_cgroup *cg, const char *file, char *buf,
		   size_t len, struct sbx_err *e);
int sbx_cgroup_key(struct sbx_cgroup *cg, const char *file, const char *key,
		   int64_t *out); /* "file" flat-keyed lookup; -1 on absence */
void sbx_cgroup_stats(struct sbx_cgroup *cg, struct sbx_cgstats *st);
/* the pids of cgroup.procs, read whole (complete lines only); malloc'ed */
int sbx_cgroup_pids(struct sbx_cgroup *cg, pid_t **out, size_t *n,
		    struct sbx_err *e);
int sbx_cgroup_kill(struct sbx_cgroup *cg, struct sbx_err *e);
int sbx_cgroup_freeze(struct sbx_cgroup *cg, bool frozen, struct sbx_err *e);
bool sbx_cgroup_populated(struct sbx_cgroup *cg);
/* until cgroup.events says populated 0; -1 after timeout_ms */
int sbx_cgroup_wait_empty(struct sbx_cgroup *cg, int timeout_ms);
/* kill everything, wait for populated 0, rmdir (when owned), close */
int sbx_cgroup_remove(struct sbx_cgroup *cg, struct sbx_err *e);
void sbx_cgroup_close(struct sbx_cgroup *cg);
/* remove the root default parent c picked, if no jail is left in it */
void sbx_cgroup_release_default(struct sbx_ctx *c);
/* remove leaves left by sandboxlua hosts that no longer run */
int sbx_cgroup_reap_stale(const char *parent);

/* ---- the plan: what the recipe layer compiles to ------------------------ */
enum sbx_mount_kind {
	SBX_MNT_BIND,
	SBX_MNT_TMPFS,
	SBX_MNT_PROC,
	SBX_MNT_DEV,
	SBX_MNT_SYSFS,
	SBX_MNT_MQUEUE,
	SBX_MNT_DIR,     /* mkdir in the jail's tree */
	SBX_MNT_SYMLINK, /* src = link text */
	SBX_MNT_FILE,    /* data = file content */
	SBX_MNT_OVERLAY, /* src = host dir, read-only below; writes go to a
			  * tmpfs (data = its options) that dies with the jail */
	SBX_MNT_CGROUP,  /* cgroup2, as the jail's cgroup namespace sees it */
};
struct sbx_mount {
	enum sbx_mount_kind kind;
	const char *src;   /* host path (bind) or link text */
	const char *dst;   /* absolute path inside the jail */
	const char *data;  /* fs options ("size=64m,mode=1777") or content */
	size_t datalen;
	bool ro, rec, nosuid, nodev, noexec, optional;
	bool copyup;       /* tmpfs: the directory's contents copied in */
	unsigned mode;     /* dir/file mode, 0 = default */
};
/* a device rule: the jail may use these nodes (cgroup device program);
 * with path, the node is made in the jail's /dev */
#define SBX_MAX_DEVICES 128
enum { SBX_DEV_MKNOD = 1, SBX_DEV_READ = 2, SBX_DEV_WRITE = 4 };
struct sbx_device {
	char type;          /* 'c', 'b', or 'a' (any) */
	int64_t major, minor;/* -1: any */
	unsigned access;    /* SBX_DEV_* bits */
	const char *path;   /* NULL, or where in the jail's /dev */
	unsigned mode;      /* of the node made at path */
};
struct sbx_cgwrite {
	const char *file;  /* "memory.max" */
	const char *value; /* "52428800" */
	bool optional;     /* skip (and report) when the controller is absent */
};
struct sbx_rlim {
	int resource;      /* RLIMIT_* */
	rlim_t soft, hard;
};
struct sbx_idmap {
	const char *uid_map, *gid_map; /* "0 1000 1\n" lines; NULL = none */
	bool use_helpers;              /* newuidmap/newgidmap */
};
enum sbx_stdio_kind { SBX_IO_INHERIT, SBX_IO_NULL, SBX_IO_PIPE, SBX_IO_FILE,
		      SBX_IO_DATA };
struct sbx_stdio {
	enum sbx_stdio_kind kind;
	const char *path;  /* FILE */
	const char *data;  /* DATA (stdin only) */
	size_t datalen;
	bool append;
};
enum sbx_seccomp_default { SBX_SECCOMP_OFF, SBX_SECCOMP_ERRNO,
			   SBX_SECCOMP_KILL, SBX_SECCOMP_ALLOW };
/* the rules form (an OCI profile, a recipe's seccomp.rules): each rule
 * is names + an action + argument conditions (AND-ed; a rule comparing
 * one argument twice becomes one rule per condition, as runc does) */
enum sbx_seccomp_act { SBX_SCA_ALLOW, SBX_SCA_ERRNO, SBX_SCA_KILL_THREAD,
		       SBX_SCA_KILL_PROCESS, SBX_SCA_TRAP, SBX_SCA_LOG,
		       SBX_SCA_TRACE };
enum sbx_seccomp_op { SBX_CMP_NE, SBX_CMP_LT, SBX_CMP_LE, SBX_CMP_EQ,
		      SBX_CMP_GE, SBX_CMP_GT, SBX_CMP_MASKED_EQ };
struct sbx_seccomp_cond {
	unsigned arg;                /* 0..5 */
	enum sbx_seccomp_op op;
	uint64_t a, b;               /* MASKED_EQ: a = mask, b = value */
};
struct sbx_seccomp_rule {
	const char *const *names;    /* NULL-terminated */
	enum sbx_seccomp_act act;
	int value;                   /* ERRNO's errno, TRACE's message */
	const struct sbx_seccomp_cond *conds; size_t nconds;
};
/* SECCOMP_FILTER_FLAG_* the command's filter is loaded with */
#define SBX_SECCOMP_FLAGS_OK 0x17u /* TSYNC LOG SPEC_ALLOW TSYNC_ESRCH */
struct sbx_seccomp {
	bool enabled;
	/* the rules form: replaces def/allow/deny/denylist */
	bool rules_mode;
	enum sbx_seccomp_act def_act;/* for calls no rule matches */
	int def_value;
	const struct sbx_seccomp_rule *rules; size_t nrules;
	const char *const *arches;   /* more ABIs ("x86", "x32"), NULL: none */
	bool skip_unknown;           /* names libseccomp or every arch of
				      * the filter lacks are skipped (runc) */
	uint32_t flags;              /* SECCOMP_FILTER_FLAG_* (the plan
				      * carries them; not in the BPF) */
	bool use_default_denylist;   /* Docker-like deny list */
	bool keep_sys_admin;         /* allow mount/umount/pivot_root/... */
	enum sbx_seccomp_default def;/* action for syscalls not listed */
	bool init_filter;            /* the jail init's own allow-list */
	const char *const *allow;    /* NULL-terminated syscall names */
	const char *const *deny;
};
enum sbx_root_switch { SBX_ROOT_PIVOT, SBX_ROOT_CHROOT };
#define SBX_MAX_NSJOIN 4
#define SBX_MAX_PASS_FDS 64
struct sbx_nsjoin {
	int type;          /* CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS,
			    * CLONE_NEWPID */
	const char *path;  /* e.g. /run/netns/NAME */
};

struct sbx_plan {
	const char *const *argv;     /* argv[0] resolved with env PATH */
	const char *const *envp;     /* replaces the environment */
	const char *cwd;
	const char *hostname;
	const char *rootfs;          /* NULL: host / read-only */
	bool root_readonly;
	bool root_nodev;             /* no device node of the root works */
	bool root_mountpoints;       /* setup may create missing mount points
	                                in the root (an OCI bundle's rootfs) */
	enum sbx_root_switch root_switch;
	int ns_flags;                /* CLONE_NEW* */
	bool net_loopback;           /* bring lo up in a new net ns */
	uid_t uid; gid_t gid;
	const gid_t *groups; size_t ngroups;
	struct sbx_idmap idmap;
	const struct sbx_mount *mounts; size_t nmounts;
	const char *const *masked;   /* NULL-terminated */
	const char *const *readonly;
	/* cgroup */
	bool use_cgroup;
	const char *cgroup_parent;   /* NULL: pick */
	bool cgroup_create;          /* make the parent's missing levels */
	const char *cgroup_path;     /* join (or make) exactly this cgroup:
				      * no leaf of ours below it */
	bool cgroup_delegate;        /* the jail gets its cgroup to manage:
				      * its processes start in <leaf>/init,
				      * controllers enabled in the leaf */
	uint32_t delegate_ctls;      /* which (SBX_CTL_BIT); 0: all there */
	int64_t delegate_max;        /* cgroup.max.descendants, 0: 64 */
	const struct sbx_cgwrite *cgwrites; size_t ncgwrites;
	bool use_devices;            /* attach the device allow-list */
	const struct sbx_device *devices; size_t ndevices;
	/* process */
	uint64_t caps_keep;          /* bit n = capability n */
	bool no_new_privs;
	struct sbx_seccomp seccomp;
	const struct sbx_rlim *rlimits; size_t nrlimits;
	int umask;                   /* -1 = leave */
	struct sbx_stdio stdio[3];
	/* supervision */
	int64_t wall_ns;             /* 0 = none */
	int64_t cpu_time_us;         /* 0 = none */
	size_t output_limit;         /* per captured stream; 0 = default 16 MiB */
	bool no_into_cgroup;         /* test hook: force the fallback path */
	const void *raw_plan;        /* test hook: these bytes go to init in */
	size_t raw_len;              /* place of the encoded plan */
	bool async_start;            /* return once released: setup goes on
				      * while the supervisor runs others
				      * (errors then come as the result) */
	bool tty;                    /* a console: a pty in the jail's devpts,
				      * the command's ctty; the host relays */
	bool park;                   /* pools: build the jail, then wait for
				      * sbx_jail_start (argv etc. unused) */
	bool trace;                  /* time each setup step (res.trace) */
	const char *detached;        /* an OCI container's create: the path of
				      * a fifo (made by the caller) that init
				      * opens before pivot_root; the jail is
				      * built, the host told CREATED, and init
				      * waits for one byte on it (start) before
				      * the command is forked.  Init survives
				      * the host (no parent-death signal, the
				      * socket's hang-up ignored) and is cloned
				      * with exit signal SIGCHLD, so whoever
				      * inherits it can waitpid() for it; its
				      * exit status is the command's (128+N
				      * for a signal).  NULL: every other mode */
	/* existing namespaces to join, each a path opened at the spawn and
	 * checked (NS_GET_NSTYPE), entered by the spawning thread around the
	 * clone; CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS or CLONE_NEWPID
	 * (init is born in it, not its pid 1), not in ns_flags */
	const struct sbx_nsjoin *ns_join; size_t nns_join;
	bool join;                   /* exec (sbx_jail_exec): join the
				      * ns_flags namespaces of a running
				      * jail's init; only the process part
				      * is used */
	/* OCI hooks that run in the runtime's namespaces before pivot_root
	 * (prestart, createRuntime, and createContainer through a join):
	 * init stops there, with every mount made, and the host calls
	 * on_pause(pause_arg, init's pid); 0 lets init go on, -1 (e set)
	 * fails the spawn.  Only with detached. */
	bool pause_before_root;
	int (*on_pause)(void *arg, pid_t pid, struct sbx_err *e);
	void *pause_arg;
	int64_t sample_ns;           /* timeline: sample the cgroup this
				      * often (0: no timeline) */
	size_t sample_max;           /* points kept; 0: 1000 (then the
				      * interval doubles and pairs merge) */
	int cap_last;                /* jail side: the host's sbx_cap_last() */
	/* --- the plan's extension block (plan.c: F_EXT), appended --- */
	/* five capability sets: with caps5, caps_keep is the bounding set */
	bool caps5;
	uint64_t cap_eff, cap_prm, cap_inh, cap_amb;
	const char *const *sysctl;   /* "key", "value" pairs (key a path
				      * below /proc/sys), NULL-terminated */
	bool set_oom_score_adj;
	int oom_score_adj;           /* -1000..1000 */
	const char *domainname;      /* setdomainname in the uts namespace */
	bool set_personality;
	uint32_t personality;        /* personality(2)'s persona */
	/* fds handed to the command at 3, 4, ... (OCI --preserve-fds): the
	 * host's fd numbers; init gets only their count and the fds */
	const int *pass_fds; size_t npass_fds;
};

/* ---- the spawning context ---------------------------------------------- */
struct sbx_ctx;
struct sbx_ctx *sbx_ctx_new(struct sbx_err *e);
void sbx_ctx_free(struct sbx_ctx *c);
/* raise this process's soft RLIMIT_NOFILE to the hard limit (a host with
 * many jails needs fds); jails spawned through c get the old soft limit */
int sbx_ctx_raise_nofile(struct sbx_ctx *c, struct sbx_err *e);

/* ---- process privileges (priv.c) & seccomp (seccomp.c) ----------------- */
/* setgroups/setresgid/setresuid, bounding/effective/permitted/inheritable/
 * ambient sets reduced to caps_keep, PR_SET_NO_NEW_PRIVS; bset: the
 * capabilities that may still be in the bounding set (~0: any) */
int sbx_priv_drop(const struct sbx_plan *p, uint64_t bset,
		  struct sbx_err *e);
/* drop these from the bounding set */
int sbx_priv_bound(uint64_t drop, struct sbx_err *e);
void sbx_cap_last_set(int n); /* the host said so: no probing */
int sbx_cap_from_name(const char *name); /* "net_bind_service" -> 10; -1 */
/* namespace types by name ("mount", "net", ...; /proc/PID/ns's own names
 * but "mount"): the i-th in setns's order (user first), its CLONE_NEW*
 * flag or 0 past the end; a flag's name (NULL for none); a name's flag
 * (0 for none) */
int sbx_ns_at(size_t i, const char **name);
const char *sbx_ns_name(int flag);
int sbx_ns_flag(const char *name);
/* the types a jail joins by path: net, ipc, uts and pid (their names are
 * their /proc/PID/ns files') */
bool sbx_ns_joinable(int flag);
const char *sbx_cap_name(int cap);       /* NULL when out of range */
int sbx_cap_last(void);                  /* highest cap the kernel knows */
int sbx_seccomp_check(const struct sbx_seccomp *s, struct sbx_err *e);
/* host side: the policy as classic BPF (cached in c; NULL when off) */
struct sbx_bpf { void *insns; size_t len; };
int sbx_seccomp_compile(struct sbx_ctx *c, const struct sbx_seccomp *s,
			const struct sbx_bpf **out, struct sbx_err *e);
/* the jail init's own policy (init_filter), loaded before its command may run;
 * compiled at build time into sbx-init as sbx_init_filter */
extern const struct sbx_seccomp sbx_seccomp_init_policy;
extern const struct sbx_bpf sbx_init_filter;
/* uncached: libseccomp's export (insns malloc'ed), and the cache's key */
int sbx_seccomp_export(const struct sbx_seccomp *s, struct sbx_bpf *out,
		       struct sbx_err *e);
char *sbx_seccomp_key(const struct sbx_seccomp *s, size_t *len);
/* the default policies, compiled at build time by this same code
 * (scripts/seccomp-prebuild.c writes build/core/seccomp_prebuilt.c) */
struct sbx_seccomp_prebuilt { const char *key; size_t klen; struct sbx_bpf bpf; };
extern const struct sbx_seccomp_prebuilt sbx_seccomp_prebuilt[];
extern const size_t sbx_seccomp_nprebuilt;
/* jail side: load it (no allocation, no libseccomp) */
int sbx_seccomp_load(const struct sbx_bpf *b, struct sbx_err *e);
/* the same with SECCOMP_FILTER_FLAG_* (seccomp(2) rather than prctl) */
int sbx_seccomp_load_flags(const struct sbx_bpf *b, uint32_t flags,
			   struct sbx_err *e);
/* the name of nr in an audit arch (AUDIT_ARCH_I386, ...), written into
 * buf; NULL when unknown */
const char *sbx_syscall_name_arch(uint32_t arch, int nr, char *buf,
				  size_t len);

/* ---- the jail (spawn.c; jail side: init.c, command.c, mount.c) ---------- */
/* ---- timelines (timeline.c): cgroup samples while a jail runs -------- */
struct sbx_sample {
	int64_t t_us;                /* since the jail's start */
	int64_t memory, cpu_us, pids, io_rbytes, io_wbytes;
	int64_t psi_some_us[3];      /* cpu, memory, io: "some" totals */
};
struct sbx_timeline {
	struct sbx_sample *s;
	size_t n, cap, max;
	int64_t interval_ns, next_ns; /* next_ns: monotonic */
};
struct sbx_timeline *sbx_timeline_new(int64_t interval_ns, size_t max);
void sbx_timeline_free(struct sbx_timeline *t);
/* read the cgroup now and keep the point; when full, pairs merge (the
 * later counters, the higher memory and pids) and the interval doubles */
void sbx_timeline_sample(struct sbx_timeline *t, struct sbx_cgroup *cg,
			 int64_t t_us, int64_t now_ns);

enum sbx_status { SBX_ST_RUNNING, SBX_ST_EXITED, SBX_ST_SIGNALED,
		  SBX_ST_TIMEOUT, SBX_ST_OOM, SBX_ST_SETUP_ERROR };
/* captured: a pipe was made for the stream (a result has its key then) */
struct sbx_buf { char *data; size_t len, cap, limit; bool truncated, eof, captured; };

struct sbx_result {
	enum sbx_status status;
	int exit_code;               /* -1 when signaled */
	int signal;                  /* 0 when exited */
	int syscall;                 /* SIGSYS: the syscall nr, else -1 */
	uint32_t syscall_arch;       /* its audit arch (AUDIT_ARCH_*) */
	double wall_s;
	bool timeout_cpu;            /* timeout by cpu_time rather than wall */
	bool core_dumped;
	struct sbx_cgstats cg;       /* negative when unknown */
	struct sbx_err err;          /* SETUP_ERROR */
	int exit_hint;               /* 125/126/127 for setup errors */
	char skipped[256];           /* optional limits left out */
	const char *no_cgroup;       /* why the jail ran without a leaf, or NULL */
	char trace[2048];            /* with plan->trace: "where:step=us;..."
				      * in order, host and init steps */
	int64_t started_real_ns;     /* CLOCK_REALTIME at the spawn */
	struct sbx_timeline *timeline; /* with plan->sample_ns; owned */
};

struct sbx_jail {
	pid_t pid;                   /* init of the jail, in our pid ns */
	pid_t cmd_pid;               /* the command, in our pid ns (0: unknown) */
	int pidfd, sockfd;
	int cmd_pidfd;               /* the command's, from READY; -1 before */
	bool parked;                 /* a pool's jail waiting for its job */
	int outfd[3];                /* [1],[2]: capture pipes, -1 if none */
	int infd;                    /* stdin data pipe write end, -1 */
	int ttyfd;                   /* console master, -1 */
	bool tty_eof, stdin_armed;
	char ttybuf[4096], inbuf[4096];
	const char *indata; size_t inlen, inoff;
	struct sbx_cgroup cg;
	bool has_cg;
	struct sbx_buf out[3];
	int64_t t0_ns, deadline_ns;  /* monotonic */
	int64_t cpu_time_us;
	bool exited, killed_timeout, killed_cpu, reaped;
	bool done;                   /* the result is complete */
	bool supervised;             /* an sbx_sup tracks it */
	bool pid_armed, sock_armed;  /* its polls in the ring */
	bool cleaned;                /* init reaped, the leaf removed */
	siginfo_t si;                /* init's end, once reaped */
	int64_t oom_seen;            /* oom_kill count last seen */
	bool oom_queued;             /* an OOM event waits to be popped */
	int64_t culprit_end_ns;      /* a seccomp kill: wait for its audit
				      * record until then (0: not yet) */
	int64_t culprit_next_ns;     /* ... and look for it again then */
	int64_t force_eof_ns;        /* killed without a cgroup: stop waiting
				      * for the pipes then (stragglers) */
	size_t tty_out_off, tty_out_len, tty_in_off, tty_in_len;
	bool tty_out_writing, tty_in_writing, tty_eof_sent;
	int64_t cpu_base[3];         /* cpu.stat usage/user/system at a pooled
				      * job's start (the setup's share) */
	bool trace;                  /* plan->trace */
	int64_t trace_ns;            /* the last host step's end */
	int wait_status;             /* from the init's EXIT record */
	bool got_exit_record;
	bool ready, sock_eof;        /* READY seen; the sync socket closed */
	bool created;                /* plan->detached: CREATED seen */
	bool paused;                 /* plan->pause_before_root: PAUSED seen */
	int inotify_wd;
	unsigned pending;            /* io_uring ops in flight for this jail */
	struct sbx_result res;
	void *user;                  /* the binding's anchor */
	struct sbx_jail *next_done;
};

/* spawn: on failure returns -1 with *e set and NOTHING left behind; setup
 * errors from inside the jail also return -1 (res->status SETUP_ERROR).
 * With p->park the jail is built and waits (j->parked once init says so;
 * sbx_jail_poll_msgs) for sbx_jail_start.  */
int sbx_jail_spawn(struct sbx_ctx *c, const struct sbx_plan *p,
		   struct sbx_jail *j, struct sbx_err *e);
/* run a parked jail's job: job's argv, envp, cwd, stdio and the wall,
 * cpu_time and output limits (the rest is the pool's plan) */
int sbx_jail_start(struct sbx_jail *j, const struct sbx_plan *job,
		   struct sbx_err *e);
/* plan->detached, after a successful spawn: let the jail go without
 * killing it (fds closed, the cgroup left in place; nothing waited for) */
void sbx_jail_detach(struct sbx_jail *j);
/* SIGKILL: the whole jail (cgroup.kill); any other signal: the command,
 * through its pidfd (STOP and CONT too); before the command exists, init
 * passes it on once it does (STOP/CONT/TSTP/TTIN/TTOU then fail EAGAIN) */
int sbx_jail_kill(struct sbx_jail *j, int sig, struct sbx_err *e);
/* init's end, without waiting unless wait: true once reaped */
bool sbx_jail_reap(struct sbx_jail *j, bool wait);
/* the command was killed by seccomp and the kernel has not logged which
 * call yet (kauditd prints on its own time): true until it has, or for at
 * most SBX_CULPRIT_WAIT_MS; look again at culprit_next_ns.  Waits for
 * nothing. */
#define SBX_CULPRIT_WAIT_MS 100
bool sbx_jail_culprit_pending(struct sbx_jail *j, int64_t now);
/* the result now (from init's EXIT record, or init reaped): no waiting */
void sbx_jail_complete(struct sbx_jail *j);
/* reap init, remove the leaf: with wait, blocks until done; else returns
 * false while init or the cgroup's processes still have to go */
bool sbx_jail_cleanup(struct sbx_jail *j, bool wait);
/* blocking: kill what is left, reap, read the stats, remove the cgroup */
void sbx_jail_finish(struct sbx_jail *j);
void sbx_jail_free(struct sbx_jail *j); /* buffers and fds; kills if alive */
void sbx_jail_tty_resize(struct sbx_jail *j);
/* read what the jail said so far (READY, PARKED, ERROR, EXIT) without
 * blocking */
void sbx_jail_poll_msgs(struct sbx_jail *j);
const char *sbx_status_name(enum sbx_status s);

/* ---- exec: a new process in a running jail (exec.c) --------------------- */
/* The jail's own init program, in its join mode, is cloned straight into
 * the jail's cgroup (cgroup_fd: CLONE_INTO_CGROUP, no fallback: it is
 * never outside it), joins the p->ns_flags namespaces of the jail's init
 * (init_pidfd) in one setns, and forks the command as a child of the
 * caller (CLONE_PARENT, exit signal SIGCHLD), with the process part of p:
 * argv, env, cwd, ids, capabilities, no_new_privs, rlimits, umask, the
 * seccomp filter, a console (p->tty) in the jail's devpts.  It exits once
 * the command has exec'd.  The command's stdio is the caller's. */
struct sbx_exec {
	pid_t pid;                   /* the command, the caller's child; 0
				      * when it was never forked */
	int pidfd;                   /* its pidfd, -1 */
	int ttyfd;                   /* the console's master (p->tty), -1 */
	int exit_hint;               /* on failure: 125, 126 or 127 */
};
int sbx_jail_exec(struct sbx_ctx *c, const struct sbx_plan *p,
		  int init_pidfd, int cgroup_fd, struct sbx_exec *x,
		  struct sbx_err *e);

/* ---- supervisor (supervise.c) ------------------------------------------ */
enum sbx_event { SBX_EV_EXIT, SBX_EV_OOM, SBX_EV_TIMEOUT };
struct sbx_sup;
struct sbx_sup *sbx_sup_new(struct sbx_err *e);
void sbx_sup_free(struct sbx_sup *s);        /* kills what still runs */
int sbx_sup_add(struct sbx_sup *s, struct sbx_jail *j, struct sbx_err *e);
/* after sbx_jail_start of a parked jail: read its new pipes, READY */
int sbx_sup_arm(struct sbx_sup *s, struct sbx_jail *j, struct sbx_err *e);
/* drop a jail (e.g. being freed): cancels its I/O, so no completion refers
 * to it afterwards; kills it if it still runs */
void sbx_sup_remove(struct sbx_sup *s, struct sbx_jail *j);
/* wait up to timeout_ms (-1 = until something happens) and process what
 * the kernel reports; events queue up for sbx_sup_pop.  A jail's EXIT
 * event comes after sbx_jail_finish: its result is complete.  Returns the
 * number of queued events, -1 on error (EINTR when a signal came). */
int sbx_sup_step(struct sbx_sup *s, int timeout_ms, struct sbx_err *e);
bool sbx_sup_pop(struct sbx_sup *s, struct sbx_jail **j, enum sbx_event *ev);
int sbx_sup_count(struct sbx_sup *s);
/* wait up to timeout_ms until finished jails' remains (init's exit, the
 * cgroup leaf) are gone; -1 if some are still there */
int sbx_sup_settle(struct sbx_sup *s, int timeout_ms);
/* an eventfd: writing to it (async-signal-safe) ends a sbx_sup_step wait */
int sbx_sup_wake_fd(struct sbx_sup *s);
/* kill every jail still running (host got SIGINT/SIGTERM) */
void sbx_sup_kill_all(struct sbx_sup *s);
/* give every console the host terminal's size again (after SIGWINCH) */
void sbx_sup_tty_resize(struct sbx_sup *s);

int64_t sbx_now_ns(void);

/* ---- OCI hooks (hook.c) ------------------------------------------------- */
struct sbx_hook {
	const char *path;
	char *const *argv;  /* NULL-terminated, argv[0] as given */
	char *const *envp;  /* exactly these */
	int timeout_s;      /* 0: none */
};
/* run h with state on stdin, wait: *status is its exit code or 128+N;
 * out gets the tail of its stdout+stderr.  -1 (e set): it could not run,
 * or its timeout passed (ETIMEDOUT, then it is killed) */
int sbx_hook_run(const struct sbx_hook *h, const char *state, size_t len,
		 int *status, char *out, size_t outsz, struct sbx_err *e);

#endif
