/* Seccomp filters (libseccomp) for the jailed command.
 *
 * Two forms.  The rules form (rules_mode: an OCI profile, a recipe's
 * seccomp.rules) is exactly its rules: see build_rules below.  The list
 * form, for an enabled struct sbx_seccomp without rules_mode:
 *
 *   def  ALLOW (or OFF): default ALLOW; `deny` names -> ERRNO(EPERM);
 *                        `allow` names are validated but change nothing.
 *   def  ERRNO:          default ERRNO(EPERM); `allow` names -> ALLOW.
 *   def  KILL:           default KILL_PROCESS (SIGSYS); `allow` -> ALLOW;
 *                        `deny` names -> ERRNO(EPERM) instead of a kill.
 *
 *   In the ERRNO and KILL (whitelist) modes execve, execveat, exit and
 *   exit_group are always allowed: the filter is loaded right before
 *   execve.  Everything else the program (and its dynamic loader) needs
 *   must be listed by the user; between sbx_seccomp_load() and execve the
 *   caller must itself only make allowed syscalls.
 *
 *   use_default_denylist adds, on top of the above (it wins over `allow`),
 *   a Docker-like deny list:
 *     - ERRNO(EPERM): kernel modules, kexec, reboot, swap, handles, keyrings,
 *       bpf, perf, userfaultfd, acct, quotas, iopl/ioperm, obsolete calls,
 *       clock setting, syslog, io_uring (its ops would bypass the filter);
 *     - unless keep_sys_admin: mount, umount(2), pivot_root, chroot,
 *       unshare, setns and the new mount API (fsopen, fsconfig, fsmount,
 *       fspick, open_tree, move_mount, mount_setattr -- the same power as
 *       mount(2), and what util-linux >= 2.39 uses), clone with any
 *       CLONE_NEW* flag -> EPERM, clone3 denied (its flags are in memory
 *       where the filter cannot look);
 *     - personality: only PER_LINUX (0), UNAME26 (0x20000), PER_LINUX32
 *       (0x8), their union (0x20008) and the query 0xffffffff; any other
 *       persona -> EPERM;
 *     - socket(AF_VSOCK, ...) -> EPERM (see socket_rules).
 *   ptrace stays allowed (capabilities and namespaces already confine it).
 *   A name of the built-in list that this architecture does not have
 *   (stime, vm86, ...) is skipped; a name the user gives must exist here.
 *
 *   Only the native architecture is in the filter: a syscall through
 *   another ABI (int $0x80 on x86_64) kills the process with SIGSYS.
 *   Conflicts: a name in both `allow` and `deny` is denied.
 *   clone3, whenever it is denied (by any of the above, or by a whitelist
 *   that does not name it), fails with ENOSYS rather than EPERM or a kill,
 *   as Docker does: glibc then falls back to clone(2). */
#include "jail.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/prctl.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define NS_FLAGS                                                          \
	((uint64_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |           \
		    CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |         \
		    CLONE_NEWCGROUP | CLONE_NEWTIME))

/* clone(2)'s flags argument; s390 swaps the first two arguments */
#if defined(__s390__) || defined(__s390x__) || defined(__CRIS__)
#define CLONE_FLAGS_ARG 1
#else
#define CLONE_FLAGS_ARG 0
#endif

static const char *const deny_always[] = {
	/* modules, kexec, power */
	"init_module", "finit_module", "delete_module", "create_module",
	"get_kernel_syms", "query_module", "kexec_load", "kexec_file_load",
	"reboot", "swapon", "swapoff",
	/* file handles: open_by_handle_at escapes bind mounts */
	"open_by_handle_at", "name_to_handle_at",
	/* keyrings are not namespaced */
	"keyctl", "add_key", "request_key",
	/* big kernel attack surface */
	"bpf", "perf_event_open", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	/* host-wide state */
	"acct", "lookup_dcookie", "quotactl", "quotactl_fd", "nfsservctl",
	"iopl", "ioperm", "uselib", "vm86", "vm86old",
	"settimeofday", "stime", "clock_settime", "clock_settime64",
	"clock_adjtime", "clock_adjtime64", "adjtimex", "syslog",
	NULL,
};
static const char *const deny_sys_admin[] = {
	"mount", "umount", "umount2", "pivot_root", "chroot", "unshare",
	"setns", "mount_setattr", "move_mount", "open_tree", "fsopen",
	"fsconfig", "fsmount", "fspick",
	NULL,
};
/* the jail's init once its command runs: it waits for signals, forwards
 * them, reaps, reports over its socket and exits (init_filter) */
static const char *const allow_init[] = {
	"rt_sigtimedwait", "rt_sigreturn", "rt_sigprocmask", "restart_syscall",
	"wait4", "waitid", "kill", "pidfd_send_signal", "sendto", "sendmsg",
	"read", "write", "close", "exit", "exit_group", NULL,
};
const struct sbx_seccomp sbx_seccomp_init_policy = {
	.enabled = true, .init_filter = true, .def = SBX_SECCOMP_ERRNO,
};
/* always allowed in the whitelist modes */
static const char *const allow_always[] = {
	"execve", "execveat", "exit", "exit_group", NULL,
};

/* personalities allowed by the default list (like Docker) */
static const uint32_t persona_ok[] = { 0x0, 0x8, 0x20000, 0x20008,
				       0xffffffffu };

struct nrset {
	int *v;
	size_t n, cap;
};

static bool nrset_has(const struct nrset *s, int nr)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == nr)
			return true;
	return false;
}

static int nrset_add(struct nrset *s, int nr)
{
	if (nrset_has(s, nr))
		return 0;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		int *nv = realloc(s->v, nc * sizeof *nv);
		if (!nv)
			return -1;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n++] = nr;
	return 0;
}

static const char *native_arch_name(void)
{
	switch (seccomp_arch_native()) {
	case SCMP_ARCH_X86_64: return "x86_64";
	case SCMP_ARCH_X86: return "x86";
	case SCMP_ARCH_X32: return "x32";
	case SCMP_ARCH_ARM: return "arm";
	case SCMP_ARCH_AARCH64: return "aarch64";
	case SCMP_ARCH_PPC64LE: return "ppc64le";
	case SCMP_ARCH_S390X: return "s390x";
	case SCMP_ARCH_RISCV64: return "riscv64";
	default: return "this architecture";
	}
}

/* user-given names: must exist on the native arch */
static int add_user_names(struct nrset *set, const char *const *names,
			  const char *what, struct sbx_err *e)
{
	if (!names)
		return 0;
	for (size_t i = 0; names[i]; i++) {
		const char *n = names[i];
		int nr = *n ? seccomp_syscall_resolve_name_arch(
				      SCMP_ARCH_NATIVE, n)
			    : __NR_SCMP_ERROR;
		if (nr == __NR_SCMP_ERROR) {
			sbx_err_set(e, EINVAL, "seccomp",
				    "unknown syscall \"%s\" (in %s)", n, what);
			return -1;
		}
		if (nr < 0) {
			sbx_err_set(e, EINVAL, "seccomp",
				    "unknown syscall \"%s\" (in %s): it does "
				    "not exist on %s",
				    n, what, native_arch_name());
			return -1;
		}
		if (nrset_add(set, nr) < 0) {
			sbx_err_set(e, ENOMEM, "seccomp", "syscall list");
			return -1;
		}
	}
	return 0;
}

/* built-in names: skipped when this arch does not have them */
static int add_builtin_names(struct nrset *set, const char *const *names,
			     struct sbx_err *e)
{
	for (size_t i = 0; names[i]; i++) {
		int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE,
							   names[i]);
		if (nr < 0)
			continue;
		if (nrset_add(set, nr) < 0) {
			sbx_err_set(e, ENOMEM, "seccomp", "syscall list");
			return -1;
		}
	}
	return 0;
}

static int rule_err(struct sbx_err *e, int rc, int nr, const char *what)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	sbx_err_set(e, -rc, "seccomp", "add %s rule for %s", what,
		    name ? name : "?");
	free(name);
	return -1;
}

/* add unless the rule would just repeat the default action */
static int add_rule(scmp_filter_ctx ctx, uint32_t def, uint32_t act, int nr,
		    unsigned cnt, const struct scmp_arg_cmp *cmp,
		    struct sbx_err *e)
{
	if (act == def)
		return 0;
	int rc = seccomp_rule_add_array(ctx, act, nr, cnt, cmp);
	if (rc < 0)
		return rule_err(e, rc, nr, "a");
	return 0;
}

static int masked(scmp_filter_ctx ctx, uint32_t def, uint32_t act, int nr,
		  unsigned arg, uint64_t mask, uint64_t val, struct sbx_err *e)
{
	struct scmp_arg_cmp c = { .arg = arg, .op = SCMP_CMP_MASKED_EQ,
				  .datum_a = mask, .datum_b = val };
	return add_rule(ctx, def, act, nr, 1, &c, e);
}

/* personality(2): EPERM unless the persona (an unsigned int: the upper
 * half of the register is ignored, as the kernel does) is one of
 * persona_ok.  libseccomp takes one comparison per argument and rule, so
 * the complement is covered by single masked comparisons:
 *   bit 0 clear and some other bit outside 0x20008 set   (29 rules)
 *   bit 0 set and some bit 1..31 clear (not 0xffffffff)  (31 rules)
 * which together are exactly "low 32 bits not in persona_ok".  When the
 * default is not ALLOW and the user allowed personality, the good values
 * get ALLOW rules. */
static int personality_rules(scmp_filter_ctx ctx, uint32_t def, int nr,
			     bool user_allowed, struct sbx_err *e)
{
	const uint64_t keep_bits = 0x20008;
	uint32_t eperm = SCMP_ACT_ERRNO(EPERM);

	for (unsigned b = 1; b < 32; b++) {
		uint64_t bit = UINT64_C(1) << b;
		if (bit & keep_bits)
			continue;
		if (masked(ctx, def, eperm, nr, 0, bit | 1, bit, e) < 0)
			return -1;
	}
	for (unsigned b = 1; b < 32; b++) {
		uint64_t bit = UINT64_C(1) << b;
		if (masked(ctx, def, eperm, nr, 0, bit | 1, 1, e) < 0)
			return -1;
	}
	if (user_allowed)
		for (size_t i = 0; i < sizeof persona_ok / sizeof *persona_ok;
		     i++)
			if (masked(ctx, def, SCMP_ACT_ALLOW, nr, 0,
				   0xffffffffu, persona_ok[i], e) < 0)
				return -1;
	return 0;
}

/* clone(2): EPERM when any CLONE_NEW* flag is set (one masked rule per
 * flag: rules are OR-ed); ALLOW when none is and the user allowed it. */
static int clone_rules(scmp_filter_ctx ctx, uint32_t def, int nr,
		       bool user_allowed, struct sbx_err *e)
{
	for (unsigned b = 0; b < 64; b++) {
		uint64_t bit = UINT64_C(1) << b;
		if (!(NS_FLAGS & bit))
			continue;
		if (masked(ctx, def, SCMP_ACT_ERRNO(EPERM), nr,
			   CLONE_FLAGS_ARG, bit, bit, e) < 0)
			return -1;
	}
	if (user_allowed &&
	    masked(ctx, def, SCMP_ACT_ALLOW, nr, CLONE_FLAGS_ARG, NS_FLAGS, 0,
		   e) < 0)
		return -1;
	return 0;
}

/* socket(2): AF_VSOCK is refused (EPERM): no network namespace isolates
 * it, so a jail could reach the hypervisor's and other guests' services.
 * The families a network namespace does isolate stay (unix, inet, inet6,
 * netlink, packet: the last needs CAP_NET_RAW); bluetooth and the like
 * refuse any namespace but the host's by themselves.  When the user allowed
 * socket in a whitelist, "family != AF_VSOCK" is 32 single-bit masked rules
 * (one comparison per rule; the upper half of the register, which the
 * kernel ignores, is masked off as well). */
#define FAMILY_VSOCK 40
static int socket_rules(scmp_filter_ctx ctx, uint32_t def, int nr,
			bool user_allowed, struct sbx_err *e)
{
	if (masked(ctx, def, SCMP_ACT_ERRNO(EPERM), nr, 0, 0xffffffffu,
		   FAMILY_VSOCK, e) < 0)
		return -1;
	if (user_allowed)
		for (unsigned b = 0; b < 32; b++) {
			uint64_t bit = UINT64_C(1) << b;
			if (masked(ctx, def, SCMP_ACT_ALLOW, nr, 0, bit,
				   (FAMILY_VSOCK & bit) ? 0 : bit, e) < 0)
				return -1;
		}
	return 0;
}

static uint32_t default_action(enum sbx_seccomp_default d)
{
	switch (d) {
	case SBX_SECCOMP_ERRNO: return SCMP_ACT_ERRNO(EPERM);
	case SBX_SECCOMP_KILL: return SCMP_ACT_KILL_PROCESS;
	case SBX_SECCOMP_OFF:
	case SBX_SECCOMP_ALLOW:
	default: return SCMP_ACT_ALLOW;
	}
}

/* build the whole filter; NULL with *e set on failure */
/* a filter with its default action and the attributes every one of ours
 * has; NULL (e set) on failure */
static scmp_filter_ctx new_filter(uint32_t def, struct sbx_err *e)
{
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx) {
		sbx_err_set(e, ENOMEM, "seccomp", "seccomp_init");
		return NULL;
	}
	/* report the kernel's errno from seccomp_load, not -ECANCELED */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	/* a binary tree of syscall numbers: every syscall of the jailed
	 * command walks the filter, so keep the walk short */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	/* ABIs not added to the filter (x86 / x32 on x86_64) die */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
				  SCMP_ACT_KILL_PROCESS);
	if (rc < 0) {
		sbx_err_set(e, -rc, "seccomp", "set the bad-arch action");
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

static scmp_filter_ctx build_lists(const struct sbx_seccomp *s,
				   struct sbx_err *e);
static scmp_filter_ctx build_rules(const struct sbx_seccomp *s,
				   struct sbx_err *e);
static scmp_filter_ctx build(const struct sbx_seccomp *s, struct sbx_err *e)
{
	return s->rules_mode ? build_rules(s, e) : build_lists(s, e);
}

static scmp_filter_ctx build_lists(const struct sbx_seccomp *s,
				   struct sbx_err *e)
{
	uint32_t def = s->init_filter ? SCMP_ACT_ERRNO(EPERM)
				      : default_action(s->def);
	struct nrset allow = { 0 }, deny = { 0 }, udeny = { 0 };
	scmp_filter_ctx ctx = NULL;
	bool builtin = s->use_default_denylist;
	bool ns_rules = builtin && !s->keep_sys_admin;
	int nr_clone = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE,
							 "clone");
	int nr_clone3 = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE,
							  "clone3");
	int nr_pers = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE,
							"personality");
	int nr_sock = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE,
							"socket");

	/* names first: a bad one is the most likely error */
	if (add_user_names(&allow, s->allow, "allow", e) < 0 ||
	    add_user_names(&udeny, s->deny, "deny", e) < 0)
		goto fail;
	if (def != SCMP_ACT_ALLOW &&
	    add_builtin_names(&allow, s->init_filter ? allow_init : allow_always,
			      e) < 0)
		goto fail;
	for (size_t i = 0; i < udeny.n; i++)
		if (nrset_add(&deny, udeny.v[i]) < 0) {
			sbx_err_set(e, ENOMEM, "seccomp", "syscall list");
			goto fail;
		}
	if (builtin && add_builtin_names(&deny, deny_always, e) < 0)
		goto fail;
	if (ns_rules && add_builtin_names(&deny, deny_sys_admin, e) < 0)
		goto fail;

	ctx = new_filter(def, e);
	if (!ctx)
		goto fail;

	/* clone3: when it is not allowed it fails with ENOSYS, whatever
	 * denied it, so that glibc falls back to clone (EPERM or a kill would
	 * break pthread_create and posix_spawn) */
	if (nr_clone3 >= 0) {
		bool ok = (def == SCMP_ACT_ALLOW ||
			   nrset_has(&allow, nr_clone3)) &&
			  !nrset_has(&deny, nr_clone3) && !ns_rules;
		if (add_rule(ctx, def,
			     ok ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(ENOSYS),
			     nr_clone3, 0, NULL, e) < 0)
			goto fail;
	}
	/* unconditional denials (user deny list wins over everything) */
	for (size_t i = 0; i < deny.n; i++) {
		if (deny.v[i] == nr_clone3)
			continue;
		if (add_rule(ctx, def, SCMP_ACT_ERRNO(EPERM), deny.v[i], 0,
			     NULL, e) < 0)
			goto fail;
	}
	/* argument-filtered built-ins, unless denied outright */
	if (ns_rules && nr_clone >= 0 && !nrset_has(&deny, nr_clone) &&
	    clone_rules(ctx, def, nr_clone, nrset_has(&allow, nr_clone), e) <
		    0)
		goto fail;
	if (builtin && nr_pers >= 0 && !nrset_has(&deny, nr_pers) &&
	    personality_rules(ctx, def, nr_pers, nrset_has(&allow, nr_pers),
			      e) < 0)
		goto fail;
	if (builtin && nr_sock >= 0 && !nrset_has(&deny, nr_sock) &&
	    socket_rules(ctx, def, nr_sock, nrset_has(&allow, nr_sock), e) < 0)
		goto fail;
	/* the whitelist */
	for (size_t i = 0; i < allow.n; i++) {
		int nr = allow.v[i];
		if (nrset_has(&deny, nr))
			continue;
		if (nr == nr_clone3 || (ns_rules && nr == nr_clone))
			continue;
		if (builtin && (nr == nr_pers || nr == nr_sock))
			continue;
		if (add_rule(ctx, def, SCMP_ACT_ALLOW, nr, 0, NULL, e) < 0)
			goto fail;
	}
	free(allow.v);
	free(deny.v);
	free(udeny.v);
	return ctx;
fail:
	if (ctx)
		seccomp_release(ctx);
	free(allow.v);
	free(deny.v);
	free(udeny.v);
	return NULL;
}

/* ---- the rules form ------------------------------------------------------
 * Exactly the rules given, as runc builds an OCI profile: the default
 * action for anything no rule matches, then each rule's names with its
 * action and conditions; a rule whose action is the default adds nothing.
 * Conditions on distinct arguments are AND-ed in one rule; when one
 * argument is compared twice, each condition is a rule of its own (OR-ed),
 * as runc does.  The architectures listed join the native one (others are
 * killed).  No implicit allows: execve must be allowed by the rules. */
static uint32_t rule_action(enum sbx_seccomp_act a, int value)
{
	switch (a) {
	case SBX_SCA_ALLOW: return SCMP_ACT_ALLOW;
	case SBX_SCA_ERRNO: return SCMP_ACT_ERRNO((uint16_t)value);
	case SBX_SCA_KILL_THREAD: return SCMP_ACT_KILL;
	case SBX_SCA_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
	case SBX_SCA_TRAP: return SCMP_ACT_TRAP;
	case SBX_SCA_LOG: return SCMP_ACT_LOG;
	case SBX_SCA_TRACE: return SCMP_ACT_TRACE((uint16_t)value);
	}
	return SCMP_ACT_KILL_PROCESS;
}

static enum scmp_compare cmp_op(enum sbx_seccomp_op op)
{
	switch (op) {
	case SBX_CMP_NE: return SCMP_CMP_NE;
	case SBX_CMP_LT: return SCMP_CMP_LT;
	case SBX_CMP_LE: return SCMP_CMP_LE;
	case SBX_CMP_EQ: return SCMP_CMP_EQ;
	case SBX_CMP_GE: return SCMP_CMP_GE;
	case SBX_CMP_GT: return SCMP_CMP_GT;
	case SBX_CMP_MASKED_EQ: return SCMP_CMP_MASKED_EQ;
	}
	return _SCMP_CMP_MIN;
}

static int add_arches(scmp_filter_ctx ctx, const char *const *arches,
		      struct sbx_err *e)
{
	for (size_t i = 0; arches && arches[i]; i++) {
		uint32_t a = seccomp_arch_resolve_name(arches[i]);
		if (!a) {
			sbx_err_set(e, EINVAL, "seccomp",
				    "unknown architecture \"%s\"", arches[i]);
			return -1;
		}
		int rc = seccomp_arch_add(ctx, a);
		if (rc < 0 && rc != -EEXIST) {
			sbx_err_set(e, -rc, "seccomp", "add the architecture %s",
				    arches[i]);
			return -1;
		}
	}
	return 0;
}

/* one name of a rule: its conditions together, or one rule each */
static int add_named_rule(scmp_filter_ctx ctx, const struct sbx_seccomp *s,
			  const struct sbx_seccomp_rule *r, const char *name,
			  uint32_t act, bool add, struct sbx_err *e)
{
	struct scmp_arg_cmp c[6];
	unsigned seen = 0;
	bool split = false;
	int nr = *name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;

	if (nr == __NR_SCMP_ERROR) {
		if (s->skip_unknown)
			return 0;
		sbx_err_set(e, EINVAL, "seccomp", "unknown syscall \"%s\" (in "
			    "rules)", name);
		return -1;
	}
	if (r->nconds > 6) {
		sbx_err_set(e, EINVAL, "seccomp", "%s: more than 6 argument "
			    "conditions", name);
		return -1;
	}
	for (size_t i = 0; i < r->nconds; i++) {
		const struct sbx_seccomp_cond *k = &r->conds[i];
		if (k->arg > 5) {
			sbx_err_set(e, EINVAL, "seccomp", "%s: argument %u: "
				    "a call has 6 (0 to 5)", name, k->arg);
			return -1;
		}
		split = split || (seen & (1u << k->arg));
		seen |= 1u << k->arg;
		c[i] = (struct scmp_arg_cmp){ .arg = k->arg, .op = cmp_op(k->op),
					      .datum_a = k->a, .datum_b = k->b };
	}
	if (!add) /* the default action already: runc skips it too */
		return 0;
	for (size_t i = 0; i < (split ? r->nconds : 1); i++) {
		unsigned cnt = split ? 1 : (unsigned)r->nconds;
		int rc = seccomp_rule_add_array(ctx, act, nr, cnt,
						split ? &c[i] : c);
		/* a name none of the filter's ABIs has (a pseudo number) */
		if (rc == -EDOM && nr < 0 && s->skip_unknown)
			return 0;
		if (rc < 0) {
			sbx_err_set(e, -rc, "seccomp", "add the rule for %s",
				    name);
			return -1;
		}
	}
	return 0;
}

static scmp_filter_ctx build_rules(const struct sbx_seccomp *s,
				   struct sbx_err *e)
{
	uint32_t def = rule_action(s->def_act, s->def_value);
	scmp_filter_ctx ctx = new_filter(def, e);

	if (!ctx)
		return NULL;
	if (add_arches(ctx, s->arches, e) < 0)
		goto fail;
	for (size_t i = 0; i < s->nrules; i++) {
		const struct sbx_seccomp_rule *r = &s->rules[i];
		uint32_t act = rule_action(r->act, r->value);
		for (size_t j = 0; r->names && r->names[j]; j++)
			if (add_named_rule(ctx, s, r, r->names[j], act,
					   act != def, e) < 0) {
				sbx_err_wrap(e, "rules[%zu]", i + 1);
				goto fail;
			}
	}
	return ctx;
fail:
	seccomp_release(ctx);
	return NULL;
}

int sbx_seccomp_check(const struct sbx_seccomp *s, struct sbx_err *e)
{
	if (!s || !s->enabled)
		return 0;
	scmp_filter_ctx ctx = build(s, e);
	if (!ctx)
		return -1;
	seccomp_release(ctx);
	return 0;
}

/* The host compiles a policy to classic BPF once (libseccomp, exported
 * through a memfd) and keeps it; the jail's command only loads the program,
 * which keeps libseccomp's work out of every spawn. */

/* append s and its NUL; false (key freed) when out of memory */
static bool key_add(char **k, size_t *len, const char *s)
{
	size_t n = strlen(s) + 1;
	char *nk = realloc(*k, *len + n + 1);
	if (!nk) {
		free(*k);
		*k = NULL;
		return false;
	}
	memcpy(nk + *len, s, n);
	*len += n;
	nk[*len] = '\0';
	*k = nk;
	return true;
}

/* the rules form's key: "R", the default, the arches, each rule (its
 * action, its conditions, its names) */
static char *rules_key(const struct sbx_seccomp *s, size_t *len)
{
	char buf[160], *k = NULL;
	bool ok;
	snprintf(buf, sizeof buf, "R%d:%d:%d", (int)s->def_act, s->def_value,
		 s->skip_unknown);
	ok = key_add(&k, len, buf);
	for (const char *const *a = s->arches; ok && a && *a; a++)
		ok = key_add(&k, len, "a") && key_add(&k, len, *a);
	for (size_t i = 0; ok && i < s->nrules; i++) {
		const struct sbx_seccomp_rule *r = &s->rules[i];
		snprintf(buf, sizeof buf, "r%d:%d:%zu", (int)r->act, r->value,
			 r->nconds);
		ok = key_add(&k, len, buf);
		for (size_t j = 0; ok && j < r->nconds; j++) {
			const struct sbx_seccomp_cond *c = &r->conds[j];
			snprintf(buf, sizeof buf, "c%u:%d:%llx:%llx", c->arg,
				 (int)c->op, (unsigned long long)c->a,
				 (unsigned long long)c->b);
			ok = key_add(&k, len, buf);
		}
		for (const char *const *n = r->names; ok && n && *n; n++)
			ok = key_add(&k, len, *n);
	}
	return ok ? k : NULL;
}

/* the policy as bytes (names NUL-separated, so *len counts them all);
 * NULL when out of memory */
char *sbx_seccomp_key(const struct sbx_seccomp *s, size_t *len)
{
	char head[64], *k = NULL;
	bool ok;
	*len = 0;
	if (s->rules_mode)
		return rules_key(s, len);
	snprintf(head, sizeof head, "%d%d%d%d", s->use_default_denylist,
		 s->keep_sys_admin, (int)s->def, s->init_filter);
	ok = key_add(&k, len, head) && key_add(&k, len, "A");
	for (const char *const *a = s->allow; ok && a && *a; a++)
		ok = key_add(&k, len, *a);
	ok = ok && key_add(&k, len, "D");
	for (const char *const *d = s->deny; ok && d && *d; d++)
		ok = key_add(&k, len, *d);
	return k;
}

static bool key_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && !memcmp(a, b, alen);
}

/* libseccomp's work: the policy as classic BPF, in a malloc'ed buffer */
int sbx_seccomp_export(const struct sbx_seccomp *s, struct sbx_bpf *out,
		       struct sbx_err *e)
{
	scmp_filter_ctx ctx = build(s, e);
	if (!ctx)
		return -1;
	int fd = memfd_create("sbx-bpf", MFD_CLOEXEC), rc = 0, err = 0;
	struct stat st;
	void *buf = NULL;
	ssize_t got = -1;
	/* each step's own error: errno may be a leftover of anything earlier */
	if (fd < 0)
		err = errno;
	else if ((rc = seccomp_export_bpf(ctx, fd)) < 0)
		err = -rc;
	else if (fstat(fd, &st) < 0)
		err = errno;
	else if (st.st_size <= 0)
		err = EIO;
	else if (!(buf = malloc((size_t)st.st_size)))
		err = ENOMEM;
	else if ((got = pread(fd, buf, (size_t)st.st_size, 0)) != st.st_size)
		err = got < 0 ? errno : EIO;
	if (err) {
		sbx_err_set(e, err, "seccomp", "compile the seccomp filter");
		if (fd >= 0)
			close(fd);
		free(buf);
		seccomp_release(ctx);
		return -1;
	}
	close(fd);
	seccomp_release(ctx);
	out->insns = buf;
	out->len = (size_t)st.st_size / sizeof(struct sock_filter);
	if (out->len > BPF_MAXINSNS) { /* the kernel's limit for one filter */
		sbx_err_set(e, E2BIG, "seccomp", "the filter compiles to %zu "
			    "instructions; the kernel takes at most %d",
			    out->len, BPF_MAXINSNS);
		free(buf);
		out->insns = NULL;
		return -1;
	}
	return 0;
}

int sbx_seccomp_compile(struct sbx_ctx *c, const struct sbx_seccomp *s,
			const struct sbx_bpf **out, struct sbx_err *e)
{
	size_t klen;
	char *key;

	*out = NULL;
	if (!s || !s->enabled)
		return 0;
	key = sbx_seccomp_key(s, &klen);
	if (!key) {
		sbx_err_set(e, ENOMEM, "seccomp", "policy key");
		return -1;
	}
#ifndef SBX_SECCOMP_NO_PREBUILT
	/* the default policies come compiled: a fresh host process skips
	 * libseccomp's ~0.5 ms for them */
	for (size_t i = 0; i < sbx_seccomp_nprebuilt; i++)
		if (key_eq(sbx_seccomp_prebuilt[i].key,
			   sbx_seccomp_prebuilt[i].klen, key, klen)) {
			free(key);
			*out = &sbx_seccomp_prebuilt[i].bpf;
			return 0;
		}
#endif
	for (size_t i = 0; i < SBX_CTX_CACHE; i++)
		if (c->cache[i].key && key_eq(c->cache[i].key, c->cache[i].klen,
					      key, klen)) {
			free(key);
			*out = &c->cache[i].bpf;
			return 0;
		}
	struct sbx_bpf bpf;
	if (sbx_seccomp_export(s, &bpf, e) < 0) {
		free(key);
		return -1;
	}
	struct sbx_cached_bpf *slot = &c->cache[c->cache_next++ % SBX_CTX_CACHE];
	free(slot->key);
	free(slot->bpf.insns);
	slot->key = key;
	slot->klen = klen;
	slot->bpf = bpf;
	*out = &slot->bpf;
	return 0;
}

const char *sbx_syscall_name_arch(uint32_t arch, int nr, char *buf,
				  size_t len)
{
	/* libseccomp's arch tokens are the kernel's AUDIT_ARCH_* values */
	char *n = seccomp_syscall_resolve_num_arch(arch, nr);
	if (!n)
		return NULL;
	snprintf(buf, len, "%s", n);
	free(n);
	return buf;
}
