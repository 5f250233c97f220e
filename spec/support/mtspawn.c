/* mtspawn ROOTFS N: a multithreaded host.  A second thread allocates and
 * frees memory without pause (holding malloc's locks a good share of the
 * time) while this thread spawns N jails running /bin/true in ROOTFS, one
 * after another, through libsbx.  A clone of the host that touched malloc
 * after the clone would deadlock sooner or later; a watchdog turns a hang
 * into exit 3.  Prints "ok N" when every jail exited 0. */
#include "../../core/sbx.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_bool stop;
static atomic_long churned;

static void *churn(void *arg)
{
	(void)arg;
	void *keep[64] = { 0 };
	for (unsigned i = 0; !atomic_load(&stop); i++) {
		size_t k = i % 64;
		free(keep[k]);
		keep[k] = malloc(16 + (i * 7919) % 65536);
		if (keep[k])
			memset(keep[k], (int)i, 16);
		atomic_fetch_add(&churned, 1);
	}
	for (size_t k = 0; k < 64; k++)
		free(keep[k]);
	return NULL;
}

static void hung(int sig)
{
	(void)sig;
	static const char msg[] = "mtspawn: hung\n";
	if (write(2, msg, sizeof msg - 1) < 0)
		_exit(3);
	_exit(3);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mtspawn ROOTFS N\n");
		return 2;
	}
	int n = atoi(argv[2]);
	const char *av[] = { "/bin/true", NULL }, *ev[] = { NULL };
	struct sbx_plan p;
	struct sbx_err e;
	struct sbx_ctx *c = sbx_ctx_new(&e);
	struct sbx_sup *s = sbx_sup_new(&e);
	pthread_t t;

	if (!c || !s)
		return 2;
	memset(&p, 0, sizeof p);
	p.argv = av;
	p.envp = ev;
	p.rootfs = argv[1];
	p.root_readonly = true;
	p.ns_flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
		     CLONE_NEWNET;
	p.net_loopback = true;
	p.no_new_privs = true;
	p.umask = -1;
	p.seccomp.enabled = true;
	p.seccomp.use_default_denylist = true;
	p.seccomp.def = SBX_SECCOMP_ALLOW;
	struct sbx_mount proc = { .kind = SBX_MNT_PROC, .dst = "/proc",
				  .nosuid = true, .nodev = true };
	p.mounts = &proc;
	p.nmounts = 1;

	signal(SIGALRM, hung);
	alarm(300);
	pthread_create(&t, NULL, churn, NULL);
	for (int i = 0; i < n; i++) {
		struct sbx_jail j;
		if (sbx_jail_spawn(c, &p, &j, &e) < 0) {
			fprintf(stderr, "mtspawn: jail %d: %s\n", i, e.msg);
			return 1;
		}
		if (sbx_sup_add(s, &j, &e) < 0) {
			fprintf(stderr, "mtspawn: %s\n", e.msg);
			return 1;
		}
		while (!j.done)
			if (sbx_sup_step(s, -1, &e) < 0 && e.errnum != EINTR) {
				fprintf(stderr, "mtspawn: %s\n", e.msg);
				return 1;
			}
		struct sbx_jail *ej;
		enum sbx_event ev_;
		while (sbx_sup_pop(s, &ej, &ev_))
			;
		if (j.res.status != SBX_ST_EXITED || j.res.exit_code != 0) {
			fprintf(stderr, "mtspawn: jail %d: %s %d %s\n", i,
				sbx_status_name(j.res.status), j.res.exit_code,
				j.res.err.msg);
			return 1;
		}
		sbx_sup_remove(s, &j);
		sbx_jail_free(&j);
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	sbx_sup_settle(s, 5000);
	sbx_sup_free(s);
	sbx_ctx_free(c);
	printf("ok %d (the other thread: %ld allocations)\n", n,
	       (long)atomic_load(&churned));
	return 0;
}
