/* Process privileges for the jailed command (child side, right before
 * seccomp and execve): supplementary groups, gid, uid and the five
 * capability sets reduced to plan->caps_keep, then PR_SET_NO_NEW_PRIVS.
 *
 * Order (as runc does it):
 *   1. clear the ambient set (nothing may leak through execve by accident)
 *   2. drop every capability not kept from the bounding set; this needs
 *      CAP_SETPCAP, so it must happen while we are still root
 *   3. setgroups, setresgid (need CAP_SETGID)
 *   4. PR_SET_KEEPCAPS, setresuid, PR_SET_KEEPCAPS off: the permitted set
 *      survives the switch to a non-zero uid (the effective set does not)
 *   5. effective = permitted = inheritable = caps_keep (capset)
 *   6. raise each kept capability into the ambient set, so that a non-root
 *      uid keeps it across execve of a file without file capabilities
 *   7. PR_SET_NO_NEW_PRIVS when asked
 *
 * With caps_keep == 0 every set (CapInh/CapPrm/CapEff/CapBnd/CapAmb) is
 * empty after execve, even for uid 0: execve of root gives P' = bounding
 * (empty), I' = I (empty).  Bits of caps_keep above sbx_cap_last() name
 * capabilities this kernel does not have and are ignored (so ~0 means "all
 * there are"); a kept capability the process does not hold now is an
 * error, since it cannot be granted. */
#include "sbx.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

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
#define SBX_CAP_MAX 63 /* caps_keep is a uint64_t */

int sbx_cap_last(void)
{
	static int last = -1;
	char buf[32];

	if (last >= 0)
		return last;
	/* Probe the bounding set: PR_CAPBSET_READ fails with EINVAL past the
	 * last capability.  Works without /proc (the jail may have none). */
	if (prctl(PR_CAPBSET_READ, 0UL, 0UL, 0UL, 0UL) >= 0) {
		int n = 0;
		while (n < SBX_CAP_MAX &&
		       prctl(PR_CAPBSET_READ, (unsigned long)(n + 1), 0UL,
			     0UL, 0UL) >= 0)
			n++;
		last = n;
		return last;
	}
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f) {
		char *end;
		long v = -1;
		if (fgets(buf, sizeof buf, f))
			v = strtol(buf, &end, 10);
		fclose(f);
		if (v >= 0 && v <= SBX_CAP_MAX) {
			last = (int)v;
			return last;
		}
	}
	last = CAP_LAST_CAP;
	return last;
}

const char *sbx_cap_name(int cap)
{
	static char numeric[SBX_CAP_MAX + 1][12];

	if (cap < 0 || cap > sbx_cap_last())
		return NULL;
	if (cap < NCAPNAMES)
		return cap_names[cap];
	/* a capability newer than this table: name it by number */
	if (!numeric[cap][0])
		snprintf(numeric[cap], sizeof numeric[cap], "%d", cap);
	return numeric[cap];
}

int sbx_cap_from_name(const char *name)
{
	const char *n = name;
	cap_value_t v;

	if (!name || !*name)
		return -1;
	if (strncasecmp(n, "cap_", 4) == 0)
		n += 4;
	for (int i = 0; i < NCAPNAMES; i++)
		if (strcasecmp(n, cap_names[i]) == 0)
			return i;
	/* a name libcap knows but this table does not (newer libcap) */
	char low[64] = "cap_";
	size_t len = strlen(n);
	if (len == 0 || len >= sizeof low - 4)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_'))
			return -1; /* no numbers: cap_from_name takes them */
		low[4 + i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	low[4 + len] = '\0';
	if (cap_from_name(low, &v) == 0 && v >= 0 && v <= SBX_CAP_MAX)
		return (int)v;
	return -1;
}

static const char *capname(int cap)
{
	const char *s = sbx_cap_name(cap);
	return s ? s : "?";
}

static int set_caps(uint64_t keep, struct sbx_err *e)
{
	cap_t c = cap_init(); /* all clear */
	int last = sbx_cap_last();

	if (!c) {
		sbx_err_set(e, errno, "capabilities",
			    "drop capabilities: cap_init");
		return -1;
	}
	for (int i = 0; i <= last; i++) {
		if (!(keep & (UINT64_C(1) << i)))
			continue;
		cap_value_t v = i;
		if (cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0 ||
		    cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET) < 0 ||
		    cap_set_flag(c, CAP_INHERITABLE, 1, &v, CAP_SET) < 0) {
			int err = errno;
			cap_free(c);
			sbx_err_set(e, err, "capabilities",
				    "drop capabilities: cannot represent "
				    "capability %s (%d) with libcap",
				    capname(i), i);
			return -1;
		}
	}
	if (cap_set_proc(c) < 0) {
		int err = errno;
		cap_free(c);
		sbx_err_set(e, err, "capabilities",
			    "drop capabilities: set effective/permitted/"
			    "inheritable sets to 0x%llx",
			    (unsigned long long)keep);
		return -1;
	}
	cap_free(c);
	return 0;
}

int sbx_priv_drop(const struct sbx_plan *p, struct sbx_err *e)
{
	int last = sbx_cap_last();
	uint64_t known = last >= SBX_CAP_MAX ? UINT64_MAX
					     : (UINT64_C(1) << (last + 1)) - 1;
	uint64_t keep = p->caps_keep & known;

	/* a kept capability must be held now: we can only lose, not gain */
	cap_t cur = cap_get_proc();
	if (!cur) {
		sbx_err_set(e, errno, "capabilities",
			    "drop capabilities: read current capabilities");
		return -1;
	}
	for (int i = 0; i <= last; i++) {
		cap_flag_value_t have = CAP_CLEAR;
		if (!(keep & (UINT64_C(1) << i)))
			continue;
		if (cap_get_flag(cur, i, CAP_PERMITTED, &have) < 0 ||
		    have != CAP_SET || cap_get_bound(i) != 1) {
			cap_free(cur);
			sbx_err_set(e, EPERM, "capabilities",
				    "drop capabilities: cannot keep "
				    "capability %s (%d): the sandbox host "
				    "does not hold it", capname(i), i);
			return -1;
		}
	}
	cap_free(cur);

	/* 1. ambient: cleared first, raised again at the end */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) <
		    0 &&
	    errno != EINVAL /* kernel < 4.3: no ambient set */) {
		sbx_err_set(e, errno, "capabilities",
			    "drop capabilities: clear the ambient set");
		return -1;
	}

	/* 2. bounding set (needs CAP_SETPCAP: still root here) */
	for (int i = 0; i <= last; i++) {
		if (keep & (UINT64_C(1) << i))
			continue;
		int in = cap_get_bound(i);
		if (in == 0 || (in < 0 && errno == EINVAL))
			continue; /* not in it / unknown to the kernel */
		if (cap_drop_bound(i) < 0) {
			sbx_err_set(e, errno, "capabilities",
				    "drop capabilities: drop %s (%d) from "
				    "the bounding set", capname(i), i);
			return -1;
		}
	}

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
			    "drop privileges: setresgid(%u)",
			    (unsigned)p->gid);
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
			    "drop privileges: setresuid(%u)",
			    (unsigned)p->uid);
		return -1;
	}
	if (prctl(PR_SET_KEEPCAPS, 0UL, 0UL, 0UL, 0UL) < 0) {
		sbx_err_set(e, errno, "capabilities",
			    "drop privileges: clear PR_SET_KEEPCAPS");
		return -1;
	}

	/* 5. effective = permitted = inheritable = keep */
	if (set_caps(keep, e) < 0)
		return -1;

	/* 6. ambient (needs each cap in permitted and inheritable) */
	for (int i = 0; i <= last; i++) {
		if (!(keep & (UINT64_C(1) << i)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
			  (unsigned long)i, 0UL, 0UL) < 0) {
			sbx_err_set(e, errno, "capabilities",
				    "drop capabilities: raise %s (%d) in "
				    "the ambient set", capname(i), i);
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
