/* The spawning context: what one thread (one Lua state) reuses from jail
 * to jail.  Nothing of it is global, so two threads never share it. */
#include "jail.h"
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct sbx_ctx *sbx_ctx_new(struct sbx_err *e)
{
	struct sbx_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		sbx_err_set(e, ENOMEM, "spawn", "allocate the spawning context");
		return NULL;
	}
	c->image = -1;
	for (size_t i = 0; i < SBX_CTX_CACHE; i++)
		c->devprog[i].fd = -1;
	return c;
}

void sbx_ctx_free(struct sbx_ctx *c)
{
	if (!c)
		return;
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
