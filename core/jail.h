/* Internal: what the host side (spawn.c) and the jail's init (init.c,
 * command.c, mount.c, net.c, priv.c) share: the records on the socket
 * between them and the plan as init decodes it.  Not installed. */
#ifndef SBX_JAIL_H
#define SBX_JAIL_H
#include "sbx.h"

#define SBX_MAX_MOUNTS 256
/* fds the host hands init across exec (everything else is closed) */
#define SBX_INIT_SOCK 3   /* the SOCK_SEQPACKET end */
#define SBX_INIT_IMAGE 4  /* the sealed init image: only when GO is awaited */
#define SBX_INIT_NAME "sbx-init"

/* host -> init records: a u32 type, then the payload */
enum sbx_rec_type {
	SBX_REC_GO = 1,      /* placed in the cgroup, id maps written;
			      * u32 flags follow (SBX_GO_REEXEC) */
	SBX_REC_PLAN,        /* a chunk of the encoded plan, more follow */
	SBX_REC_PLAN_END,    /* the last chunk */
	SBX_REC_JOB,         /* a chunk of a parked jail's job, more follow */
	SBX_REC_JOB_END,     /* the last chunk of the job */
	SBX_REC_RESUME,      /* after PAUSED: go on to pivot_root */
};
#define SBX_GO_REEXEC 1u     /* exec the image again: the first exec ran
			      * before the id maps, without capabilities */
#define SBX_REC_CHUNK 32768  /* payload bytes per record */
#define SBX_PLAN_MAX (64u << 20)

/* init -> host records (fixed size) */
enum sbx_msg_type {
	SBX_MSG_ERROR = 1,   /* setup failed {step, errno, msg} */
	SBX_MSG_READY,       /* the command exec'd; SCM_RIGHTS: its pidfd */
	SBX_MSG_EXIT,        /* the command's wait status */
	SBX_MSG_TTY,         /* the console's master (SCM_RIGHTS) */
	SBX_MSG_PARKED,      /* set up, waiting for a JOB (pools) */
	SBX_MSG_TRACE,       /* msg: init's steps, "step=us;..." */
	SBX_MSG_CREATED,     /* plan->detached: built, waiting on the fifo */
	SBX_MSG_PAUSED,      /* plan->pause_before_root: mounts made, waiting
			      * for RESUME before pivot_root */
	SBX_MSG_PID,         /* SCM_CREDENTIALS: the command's pid */
};
struct sbx_msg {
	int type;
	int errnum;
	int code;         /* exit code the failure maps to (125/126/127) */
	int status;       /* EXIT: wait status */
	char step[64];
	char msg[512];
};

/* ---- the plan on the wire (plan.c) ------------------------------------- */
struct sbx_wbuf { unsigned char *p; size_t len, cap; bool oom; };
void sbx_wbuf_free(struct sbx_wbuf *w);
/* the whole plan (with the process part unless p->park) and the command's
 * compiled filter */
int sbx_plan_encode(const struct sbx_plan *p, const struct sbx_bpf *cmd,
		    struct sbx_wbuf *w, struct sbx_err *e);
/* the process part alone: a parked jail's job */
int sbx_job_encode(const struct sbx_plan *p, struct sbx_wbuf *w,
		   struct sbx_err *e);

struct sbx_arena { void **v; size_t n, cap; };
void sbx_arena_free(struct sbx_arena *a);

/* what init gets: pointers into the (kept) record buffer, arrays in an
 * arena; every length, count and string checked before use */
struct sbx_initplan {
	struct sbx_plan p;             /* the fields init uses */
	struct sbx_bpf cmd_bpf;
	uint32_t cmd_bpf_flags;        /* SECCOMP_FILTER_FLAG_* to load it with */
	bool have_job;                 /* argv/envp/cwd/stdio are set */
	unsigned stdio_fds;            /* bit i: stdio i came as an fd */
	struct sbx_arena arena;
};
int sbx_plan_decode(const void *buf, size_t len, struct sbx_initplan *ip,
		    struct sbx_err *e);
int sbx_job_decode(const void *buf, size_t len, struct sbx_initplan *ip,
		   struct sbx_err *e);
void sbx_initplan_free(struct sbx_initplan *ip);

/* ---- host side: the context, the clone (clone.c), the image (image.c) --- */
#define SBX_CTX_CACHE 8
struct sbx_cached_bpf { char *key; size_t klen; struct sbx_bpf bpf; };
struct sbx_cached_prog { int fd; void *insns; size_t len; };
struct sbx_ctx {
	int image;         /* the sealed init image; -1 until the first spawn */
	struct sbx_cached_bpf cache[SBX_CTX_CACHE]; /* compiled policies */
	unsigned cache_next;
	struct sbx_cached_prog devprog[SBX_CTX_CACHE]; /* device programs */
	unsigned devprog_next;
	uint64_t nofile_soft;  /* the host raised its own: jails get this back */
	char cgmount[4096];    /* the cgroup2 mount point, once found */
	char default_parent[4096]; /* the root default parent, once used */
	char reaped[4096];     /* the parent whose stale leaves were reaped */
	char *created[16];     /* parent levels we made (prepare_chain),
				* removed deepest first with the context */
	size_t ncreated;
	int nsdelegate;        /* the mount's nsdelegate: -1 unknown */
};

struct sbx_clone_req {
	uint64_t flags;     /* CLONE_NEW* | CLONE_INTO_CGROUP ... */
	int cgroup_fd;      /* with CLONE_INTO_CGROUP */
	int sock;           /* becomes fd 3 of init (>= 5 here) */
	int image;          /* the sealed image (>= 5 here) */
	bool await_go;      /* image stays open as fd 4, argv says so */
	uint64_t nofile_soft; /* RLIMIT_NOFILE's soft limit for init, 0: keep */
	int exit_signal;    /* 0, or SIGCHLD for a detached jail */
	int *pidfd;         /* out */
	int exec_errno;     /* out: the exec of init failed */
	bool set_stdio;     /* stdio[] become the child's 0, 1, 2 (> 2 each) */
	int stdio[3];
};
/* clone3 the init with CLONE_VM|CLONE_VFORK on a small stack (the host's
 * size does not matter) and exec the image; returns the pid or -1 */
pid_t sbx_clone_init(struct sbx_clone_req *r);
/* a sealed memfd holding the embedded sbx-init (>= 5, CLOEXEC) */
int sbx_image_open(struct sbx_err *e);
/* the device allow-list on the leaf (devices.c) */
int sbx_devices_attach(struct sbx_ctx *c, struct sbx_cgroup *cg,
		       const struct sbx_device *d, size_t n, struct sbx_err *e);
/* id maps of a user namespace (userns.c) */
int sbx_userns_write_maps(const struct sbx_plan *p, pid_t pid,
			  struct sbx_err *e);
void sbx_userns_why(const struct sbx_plan *p, int err, struct sbx_err *e);

/* ---- jail side ---------------------------------------------------------- */
/* the mounts this jail made (tmpfs, overlay, /dev, mqueue): the only
 * places setup may create a target or write a file in.  Anything else is
 * the rootfs or a bind, i.e. a host directory, and is never written. */
struct sbx_own_mounts {
	uint64_t id[SBX_MAX_MOUNTS + 4];
	int n;
	char refused[256];         /* the host directory a write was refused in */
};

struct sbx_jailctx {
	int sock;                  /* fd 3 */
	struct sbx_own_mounts own;
	int rootfd;                /* detached clone of the rootfs */
	int srcfd[SBX_MAX_MOUNTS]; /* detached clones of bind sources */
	int stdio[3];              /* fds to dup2 onto 0,1,2; -1 = keep */
	int tty;                   /* console slave in the jail's devpts, -1 */
	mode_t umask;              /* the host's: the command's by default */
	const struct sbx_bpf *bpf; /* the command's filter, or NULL */
	bool sibling;              /* exec: the command is forked as the
				    * host's child (CLONE_PARENT), without a
				    * parent-death signal */
	uint32_t bpf_flags;        /* SECCOMP_FILTER_FLAG_* for it */
	int pass[SBX_MAX_PASS_FDS];/* the command's fds 3, 4, ... */
	size_t npass;
};
/* the plan's kernel settings init applies (initext.c): sysctls,
 * oom_score_adj, domainname, personality; before the mount table */
int sbx_init_apply_ext(const struct sbx_plan *p, struct sbx_err *e);

const char *sbx_mount_kind_name(enum sbx_mount_kind k);
int sbx_mount_prepare(const struct sbx_plan *p, struct sbx_jailctx *cx,
		      struct sbx_err *e);
int sbx_mount_build(const struct sbx_plan *p, struct sbx_jailctx *cx,
		    struct sbx_err *e);
int sbx_net_loopback_up(struct sbx_err *e);
int sbx_console_open(struct sbx_jailctx *cx, struct sbx_err *e);
/* fork the command: it sets itself up, then waits until init closes
 * *release (init drops its own privileges meanwhile); *done reads EOF
 * once it exec'd or failed.  Returns its pid, -1 with *e set. */
pid_t sbx_command_fork(const struct sbx_initplan *ip, struct sbx_jailctx *cx,
		       int *release, int *done, struct sbx_err *e);
void sbx_msg_send_err(int sock, const struct sbx_err *e, int code);
/* init's join mode (join.c): setns through nsfd (a pidfd of the jail's
 * init), then the command as the host's child; never returns */
__attribute__((noreturn)) void sbx_join_main(struct sbx_initplan *ip,
					     struct sbx_jailctx *cx, int nsfd);
/* with plan->trace: the end of a setup step (init.c; a no-op otherwise) */
void sbx_trace_mark(const char *step);
/* the fds that go with a plan after its stdio, into out (room for
 * SBX_MAX_PASS_FDS): the plan's pass_fds, checked open; -1 (e set) when
 * one is not open */
int sbx_plan_fds(const struct sbx_plan *p, int *out, size_t *n,
		 struct sbx_err *e);
/* a whole encoded plan, blocking, the fds with its first record */
int sbx_plan_send(int sock, const struct sbx_wbuf *w, const int *fds,
		  size_t nfds);
/* one of a plan's stdio (NULL, FILE, DATA: a sealed memfd) opened for
 * fd i; -1 (e set) on failure or for a kind the caller handles itself
 * (INHERIT, PIPE) */
int sbx_stdio_open(const struct sbx_stdio *s, int i, struct sbx_err *e);
/* host -> init: one record, a u32 type, the payload, at most
 * SBX_REC_MAX_FDS fds (SCM_RIGHTS); sendmsg's result, EINTR retried */
#define SBX_REC_MAX_FDS (3 + SBX_MAX_PASS_FDS)
ssize_t sbx_rec_send(int sock, uint32_t type, const void *p, size_t n,
		     const int *fds, int nfds, int flags);
/* plan->pause_before_root, in init: PAUSED, then RESUME or the end */
int sbx_init_pause(int sock, struct sbx_err *e);
void sbx_msg_send(int sock, int type, int status, int fd);
/* init: PID with the command's pid as credentials (needs init's caps) */
void sbx_msg_send_pid(int sock, pid_t pid);
#endif
