/* noclose CMD...: run CMD under a seccomp policy that refuses close_range
 * with EPERM, as some container hosts' policies do (spec/hostile_spec.lua) */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>

#ifndef __NR_close_range
#define __NR_close_range 436
#endif

int main(int argc, char **argv)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	if (argc < 2 || !f ||
	    seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), __NR_close_range, 0) < 0 ||
	    seccomp_load(f) < 0) {
		fprintf(stderr, "noclose: cannot install the policy\n");
		return 125;
	}
	seccomp_release(f);
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
