/* Process privileges (jail side): for the command right before seccomp and
 * execve, and for init itself once the command runs.  Supplementary
 * groups, gid, uid and the five capability sets reduced to caps_keep (or,
 * with plan->caps5, bounding = caps_keep and the other four as the plan
 * gives them), then PR_SET_NO_NEW_PRIVS.  Raw capget/capset and prctl (the
 * static sbx-init has no libcap): no allocation, so it is safe in any
 * child.
 *
 * Order (as runc does it):
 *   1. clear the ambient set (nothing may leak through execve by accident)
 *   2. drop every capability not kept from the bounding set; this needs
 *      CAP_SETPCAP, so it must happen while we are still root
 *   3. setgroups, setresgid (need CAP_SETGID)
 *   4. PR_SET_KEEPCAPS, setresuid, PR_SET_KEEPCAPS off: the permitted set
 *      survives the switch to a non-zero uid (the effective set does not)
 *   5. effective = permitted = inheritable = caps_keep (capset); with
 *      caps5 each its own set (the recipe layer checked what the kernel
 *      requires: effective within permitted, inheritable within bounding)
 *   6. raise each kept capability into the ambient set, so that a non-root
 *      uid keeps it across execve of a file without file capabilities
 *      (caps5: the ambient set, within permitted and inheritable)
 *   7. PR_SET_NO_NEW_PRIVS when asked
 *
 * With caps_keep == 0 every set (CapInh/CapPrm/CapEff/CapBnd/CapAmb) is
 * empty after execve, even for uid 0: execve of root gives P' = bounding
 * (empty), I' = I (empty).  Bits of caps_keep above sbx_cap_last() name
 * capabilities this kernel does not have and are ignored (so ~0 means "all
 * there are"); a kept capability the process does not hold now is an
 * error, since it cannot be granted.  sbx_seccomp_load() loads the filter
 * the host compiled. */
#include "sbx.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#define SBX_CAP_MAX 63 /* caps_keep is a uint64_t */

static int cap_last = -1; /* the kernel's constant, probed once */

void sbx_cap_last_set(int n)
{
	if (n >= 0 && n <= SBX_CAP_MAX)
		cap_last = n;
}

int sbx_cap_last(void)
{
	if (cap_last >= 0)
		return cap_last;
	/* PR_CAPBSET_READ fails with EINVAL past the last capability; works
	 * without /proc (the jail may have none) */
	int n = 0;
	while (n < SBX_CAP_MAX &&
	       prctl(PR_CAPBSET_READ, (unsigned long)(n + 1), 0UL, 0UL, 0UL) >= 0)
		n++;
	cap_last = n;
	return cap_last;
}

/* index = capability number (linux/capability.h) */
static const char *const cap_names[] = {
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid",
	"kill", "setgid", "setuid", "setpcap", "linux_immutable",
	"net_bind_service", "net_broadcast", "net_admin", "net_raw",
	"ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot",
	"sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
	"sys_resource", "sys_time", "sys_tty_config", "mknod", "lease",
	"audit_write", "audit_control", "setfcap", "mac_override",
	"mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read",
	"perfmon", "bpf", "checkpoint_restore",
};
#define NCAPNAMES ((int)(sizeof cap_names / sizeof cap_names[0]))

/* a capability newer than the table above: named by its number */
static const char numeric[SBX_CAP_MAX + 1][3] = {
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
	"13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24",
	"25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35", "36",
	"37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47", "48",
	"49", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "60",
	"61", "62", "63",
};

const char *sbx_cap_name(int cap)
{
	if (cap < 0 || cap > sbx_cap_last())
		return NULL;
	return cap < NCAPNAMES ? cap_names[cap] : numeric[cap];
}

static const char *capname(int cap)
{
	const char *s = sbx_cap_name(cap);
	return s ? s : "?";
}

static int cap_sets(uint64_t *eff, uint64_t *prm, uint64_t *inh, bool set)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (set) {
		d[0].effective = (uint32_t)*eff;
		d[1].effective = (uint32_t)(*eff >> 32);
		d[0].permitted = (uint32_t)*prm;
		d[1].permitted = (uint32_t)(*prm >> 32);
		d[0].inheritable = (uint32_t)*inh;
		d[1].inheritable = (uint32_t)(*inh >> 32);
		return (int)syscall(SYS_capset, &h, d);
	}
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static uint64_t known_caps(void)
{
	int last = sbx_cap_last();
	return last >= SBX_CAP_MAX ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
}

int sbx_priv_bound(uint64_t drop, struct sbx_err *e)
{
	drop &= known_caps();
	for (int i = 0; i <= sbx_cap_last(); i++) {
		if (!(drop & (UINT64_C(1) << i)))
			continue;
		/* dropping a capability already out of it succeeds */
		if (prctl(PR_CAPBSET_DROP, (unsigned long)i, 0UL, 0UL, 0UL) < 0 &&
		    !(errno == EPERM &&
		      prctl(PR_CAPBSET_READ, (unsigned long)i, 0UL, 0UL, 0UL) == 0)) {
			sbx_err_set(e, errno, "capabilities",
				    "drop capabilities: drop %d (%s) from "
				    "the bounding set", i, capname(i));
			return -1;
		}
	}
	return 0;
}

int sbx_priv_drop(const struct sbx_plan *p, uint64_t bset,
		  struct sbx_err *e)
{
	int last = sbx_cap_last();
	uint64_t keep = p->caps_keep & known_caps(), eff, prm, inh;
	/* the five sets: bounding = keep; the others as given (or keep) */
	uint64_t s_eff = keep, s_prm = keep, s_inh = keep, s_amb = keep;
	if (p->caps5) {
		s_eff = p->cap_eff & known_caps();
		s_prm = p->cap_prm & known_caps();
		s_inh = p->cap_inh & known_caps();
		s_amb = p->cap_amb & known_caps();
	}
	uint64_t held = s_eff | s_prm | s_inh | s_amb;

	/* a kept capability must be held now: we can only lose, not gain */
	if (cap_sets(&eff, &prm, &inh, false) < 0) {
		sbx_err_set(e, errno, "capabilities",
			    "drop capabilities: read current capabilities");
		return -1;
	}
	for (int i = 0; i <= last; i++) {
		uint64_t bit = UINT64_C(1) << i;
		if (!((keep | held) & bit))
			continue;
		if (!(prm & bit) ||
		    ((keep & bit) &&
		     prctl(PR_CAPBSET_READ, (unsigned long)i, 0UL, 0UL, 0UL) != 1)) {
			sbx_err_set(e, EPERM, "capabilities",
				    "drop capabilities: cannot keep "
				    "capability %d (%s): the sandbox host "
				    "does not hold it", i, capname(i));
			return -1;
		}
	}

	/* 1. ambient: cleared first, raised again at the end */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) < 0 &&
	    errno != EINVAL /* kernel < 4.3: no ambient set */) {
		sbx_err_set(e, errno, "capabilities",
			    "drop capabilities: clear the ambient set");
		return -1;
	}

	/* 2. bounding set (needs CAP_SETPCAP: still root here): what of
	 * bset may still be in it */
	if (sbx_priv_bound(bset & ~keep, e) < 0)
		return -1;

	/* 3. groups, gid */
	if (setgroups(p->ngroups, p->ngroups ? p->groups : NULL) < 0) {
		/* a user namespace with /proc/PID/setgroups "deny": fine as
		 * long as no supplementary groups were asked for */
		if (!(errno == EPERM && p->ngroups == 0)) {
			sbx_err_set(e, errno, "setgroups",
				    "drop privileges: setgroups(%zu groups)",
				    p->ngroups);
			return -1;
		}
	}
	if (setresgid(p->gid, p->gid, p->gid) < 0) {
		sbx_err_set(e, errno, "setgid",
			    "drop privileges: setresgid(%u)", (unsigned)p->gid);
		return -1;
	}

	/* 4. uid, keeping the permitted set across the switch */
	if (prctl(PR_SET_KEEPCAPS, 1UL, 0UL, 0UL, 0UL) < 0) {
		sbx_err_set(e, errno, "capabilities",
			    "drop privileges: PR_SET_KEEPCAPS");
		return -1;
	}
	if (setresuid(p->uid, p->uid, p->uid) < 0) {
		sbx_err_set(e, errno, "setuid",
			    "drop privileges: setresuid(%u)", (unsigned)p->uid);
		return -1;
	}
	if (prctl(PR_SET_KEEPCAPS, 0UL, 0UL, 0UL, 0UL) < 0) {
		sbx_err_set(e, errno, "capabilities",
			    "drop privileges: clear PR_SET_KEEPCAPS");
		return -1;
	}

	/* 5. effective, permitted, inheritable (each keep, or as given) */
	eff = s_eff;
	prm = s_prm;
	inh = s_inh;
	if (cap_sets(&eff, &prm, &inh, true) < 0) {
		sbx_err_set(e, errno, "capabilities",
			    "drop capabilities: set the effective (0x%llx), "
			    "permitted (0x%llx) and inheritable (0x%llx) sets",
			    (unsigned long long)s_eff, (unsigned long long)s_prm,
			    (unsigned long long)s_inh);
		return -1;
	}

	/* 6. ambient (needs each cap in permitted and inheritable) */
	for (int i = 0; i <= last; i++) {
		if (!(s_amb & (UINT64_C(1) << i)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
			  (unsigned long)i, 0UL, 0UL) < 0) {
			sbx_err_set(e, errno, "capabilities",
				    "drop capabilities: raise %d (%s) in "
				    "the ambient set", i, capname(i));
			return -1;
		}
	}

	/* 7. */
	if (p->no_new_privs &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) < 0) {
		sbx_err_set(e, errno, "no_new_privs",
			    "drop privileges: PR_SET_NO_NEW_PRIVS");
		return -1;
	}
	return 0;
}

/* CAP_SYS_ADMIN in the effective set */
static bool have_sys_admin(void)
{
	uint64_t eff, prm, inh;
	return cap_sets(&eff, &prm, &inh, false) == 0 &&
	       (eff & (UINT64_C(1) << CAP_SYS_ADMIN));
}

/* load a compiled program (the host made it); no allocation */
int sbx_seccomp_load(const struct sbx_bpf *b, struct sbx_err *e)
{
	return sbx_seccomp_load_flags(b, 0, e);
}

int sbx_seccomp_load_flags(const struct sbx_bpf *b, uint32_t flags,
			   struct sbx_err *e)
{
	if (!b || !b->len)
		return 0;
	struct sock_fprog prog = { .len = (unsigned short)b->len,
				   .filter = b->insns };
	/* the kernel takes a filter only with no_new_privs or CAP_SYS_ADMIN */
	if (prctl(PR_GET_NO_NEW_PRIVS, 0UL, 0UL, 0UL, 0UL) != 1 &&
	    !have_sys_admin() &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) < 0) {
		sbx_err_set(e, errno, "seccomp", "set no_new_privs");
		return -1;
	}
	if (flags ? syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog)
		  : prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0UL, 0UL)) {
		sbx_err_set(e, errno, "seccomp", flags ? "load the seccomp "
			    "filter with flags 0x%x" : "load the seccomp filter",
			    flags);
		return -1;
	}
	return 0;
}
