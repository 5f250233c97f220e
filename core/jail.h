/* Internal: what parent-side (spawn.c) and child-side (child.c, mount.c,
 * net.c) setup share.  Not installed. */
#ifndef SBX_JAIL_H
#define SBX_JAIL_H
#include "sbx.h"

#define SBX_MAX_MOUNTS 256

/* records on the CLOEXEC SOCK_SEQPACKET pair between host and jail */
enum sbx_msg_type {
	SBX_MSG_GO = 1,   /* host -> jail: cgroup/idmaps are in place */
	SBX_MSG_ERROR,    /* jail -> host: setup failed {step, errno, msg} */
	SBX_MSG_READY,    /* init -> host: the command exec'd */
	SBX_MSG_EXIT,     /* init -> host: the command's wait status */
	SBX_MSG_TTY,      /* init -> host: the console's master (SCM_RIGHTS) */
	SBX_MSG_CMD,      /* command -> host, just before exec: the kernel
			   * attaches its pid, as the host sees it
			   * (SCM_CREDENTIALS) */
};
struct sbx_msg {
	int type;
	int errnum;
	int code;         /* exit code the failure maps to (125/126/127) */
	int status;       /* EXIT: wait status */
	char step[64];
	char msg[512];
};

struct sbx_jailctx {
	int sock;                  /* child's end */
	int rootfd;                /* detached clone of the rootfs */
	int devfd[6];              /* host /dev nodes to bind */
	int srcfd[SBX_MAX_MOUNTS]; /* detached clones of bind sources */
	int stdio[3];              /* fds to dup2 onto 0,1,2; -1 = keep */
	const struct sbx_bpf *bpf; /* compiled seccomp filter, or NULL */
	int tty;                   /* console slave in the jail's devpts, -1 */
};

const char *sbx_mount_kind_name(enum sbx_mount_kind k);
int sbx_mount_prepare(const struct sbx_plan *p, struct sbx_jailctx *cx,
		      struct sbx_err *e);
int sbx_mount_build(const struct sbx_plan *p, struct sbx_jailctx *cx,
		    struct sbx_err *e);
int sbx_net_loopback_up(struct sbx_err *e);
/* runs in the clone3 child; never returns */
__attribute__((noreturn)) void sbx_child_main(const struct sbx_plan *p,
					      struct sbx_jailctx *cx);
void sbx_msg_send_err(int sock, const struct sbx_err *e, int code);
#endif
