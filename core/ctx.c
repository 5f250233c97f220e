/* The spawning context: what one thread (one Lua state) reuses from jail
 * to jail.  Nothing of it is global, so two threads never share it. */
#include "jail.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

struct sbx_ctx *sbx_ctx_new(struct sbx_err *e)
{
	struct sbx_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		sbx_err_set(e, ENOMEM, "spawn", "allocate the spawning context");
		return NULL;
	}
	c->image = -1;
	c->nsdelegate = -1;
	for (size_t i = 0; i < SBX_CTX_CACHE; i++)
		c->devprog[i].fd = -1;
	return c;
}

int sbx_ctx_raise_nofile(struct sbx_ctx *c, struct sbx_err *e)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		sbx_err_set(e, errno, "rlimits", "getrlimit RLIMIT_NOFILE");
		return -1;
	}
	if (rl.rlim_cur >= rl.rlim_max)
		return 0;
	rlim_t old = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		sbx_err_set(e, errno, "rlimits", "raise RLIMIT_NOFILE");
		return -1;
	}
	if (!c->nofile_soft)
		c->nofile_soft = old;
	return 0;
}

void sbx_ctx_free(struct sbx_ctx *c)
{
	if (!c)
		return;
	sbx_cgroup_release_default(c);
	if (c->image >= 0)
		close(c->image);
	for (size_t i = 0; i < SBX_CTX_CACHE; i++) {
		free(c->cache[i].key);
		free(c->cache[i].bpf.insns);
		if (c->devprog[i].fd >= 0)
			close(c->devprog[i].fd);
		free(c->devprog[i].insns);
	}
	free(c);
}
