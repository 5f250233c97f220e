/* Host side: start the jail's init as its own program.
 *
 * clone3(CLONE_VM | CLONE_VFORK | CLONE_NEW* | CLONE_INTO_CGROUP |
 * CLONE_PIDFD) on a small private stack, as posix_spawn does: no page
 * table of the host is copied, so a host holding gigabytes spawns as fast
 * as a small one, and the calling thread sleeps only until the child has
 * exec'd the sealed sbx-init image.  The child runs in the host's memory
 * next to the host's other threads, so it makes raw system calls only
 * (no malloc, no locks, no libc state): move two fds into place, close the
 * rest, set the parent-death signal, exec.  All signals are blocked
 * around the clone and CLONE_CLEAR_SIGHAND resets the handlers, so no host
 * handler ever runs in the child.
 *
 * x86-64 and aarch64 get the vfork-style clone through a few lines of
 * assembly (the child must start on its own stack and call a function;
 * the kernel preserves the registers used here).  Elsewhere the clone
 * copies the host (fork-style) before the same exec. */
#include "jail.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#define STACK_SIZE (64 * 1024)
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#endif

struct child_arg {
	struct sbx_clone_req *r;
	char *const *argv;
};

static long raw(long nr, long a, long b, long c, long d, long e)
{
	return syscall(nr, a, b, c, d, e);
}

/* In a new user namespace the child holds every capability there until
 * its exec, which, unmapped (the maps come after it), would cost them
 * all: raised into the ambient set they survive it, so that init can take
 * the namespace's root ids once the maps are written, also where the
 * map's root is not the caller (podman --uidmap 0:100000:65536 as root).
 * init drops the inheritable and ambient sets again before its re-exec. */
static void caps_across_exec(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (raw(SYS_capget, (long)&h, (long)d, 0, 0, 0) < 0)
		return;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		d[i].inheritable = d[i].permitted;
	if (raw(SYS_capset, (long)&h, (long)d, 0, 0, 0) < 0)
		return;
	for (long c = 0; c < 64; c++) /* past the last one: EINVAL */
		raw(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
}

/* the child: raw system calls only (see above); returns only on failure */
static int child(void *p)
{
	struct child_arg *a = p;
	struct sbx_clone_req *r = a->r;
	static char *const envp[] = { NULL };

	for (long i = 0; r->set_stdio && i < 3; i++)
		if (raw(SYS_dup3, r->stdio[i], i, 0, 0, 0) < 0)
			goto fail;
	if (raw(SYS_dup3, r->sock, SBX_INIT_SOCK, 0, 0, 0) < 0 ||
	    raw(SYS_dup3, r->image, SBX_INIT_IMAGE,
		r->await_go ? 0 : O_CLOEXEC, 0, 0) < 0 ||
	    sbx_close_from(SBX_INIT_IMAGE + 1) < 0 ||
	    raw(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		goto fail;
	if (r->nofile_soft) { /* the host's own limit before it raised it */
		struct rlimit rl;
		if (raw(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)&rl, 0) == 0) {
			rl.rlim_cur = r->nofile_soft < rl.rlim_max ? r->nofile_soft
								   : rl.rlim_max;
			raw(SYS_prlimit64, 0, RLIMIT_NOFILE, (long)&rl, 0, 0);
		}
	}
	if (r->flags & CLONE_NEWUSER)
		caps_across_exec();
	raw(SYS_execveat, SBX_INIT_IMAGE, (long)"", (long)a->argv, (long)envp,
	    AT_EMPTY_PATH);
fail:
	r->exec_errno = errno ? errno : EIO;
	return 127;
}

#if defined(__x86_64__)
static long clone3_on_stack(struct clone_args *ca, int (*fn)(void *),
			    void *arg)
{
	register long rax __asm__("rax") = SYS_clone3;
	register long rdi __asm__("rdi") = (long)ca;
	register long rsi __asm__("rsi") = (long)sizeof *ca;
	register long r12 __asm__("r12") = (long)fn;
	register long r13 __asm__("r13") = (long)arg;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 /* the child, on its own stack: fn(arg), then exit */
			 "xor %%ebp, %%ebp\n\t"
			 "mov %%r13, %%rdi\n\t"
			 "call *%%r12\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov %[exit], %%eax\n\t"
			 "syscall\n\t"
			 "hlt\n"
			 "1:\n"
			 : "+r"(rax)
			 : "r"(rdi), "r"(rsi), "r"(r12), "r"(r13),
			   [exit] "i"(SYS_exit)
			 : "rcx", "r11", "memory", "cc");
	return rax;
}
#define HAVE_STACK_CLONE 1
#elif defined(__aarch64__)
static long clone3_on_stack(struct clone_args *ca, int (*fn)(void *),
			    void *arg)
{
	register long x8 __asm__("x8") = SYS_clone3;
	register long x0 __asm__("x0") = (long)ca;
	register long x1 __asm__("x1") = (long)sizeof *ca;
	register long x19 __asm__("x19") = (long)fn;
	register long x20 __asm__("x20") = (long)arg;
	__asm__ volatile("svc #0\n\t"
			 "cbnz x0, 1f\n\t"
			 "mov x29, xzr\n\t"
			 "mov x0, x20\n\t"
			 "blr x19\n\t"
			 "mov x8, %[exit]\n\t"
			 "svc #0\n\t"
			 "brk #0\n"
			 "1:\n"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x19), "r"(x20),
			   [exit] "i"(SYS_exit)
			 : "x30", "memory", "cc");
	return x0;
}
#define HAVE_STACK_CLONE 1
#endif

pid_t sbx_clone_init(struct sbx_clone_req *r)
{
	static char *const argv[] = { SBX_INIT_NAME, NULL };
	struct child_arg a = { r, argv };
	struct clone_args ca;
	sigset_t all, old;
	long pid;
	int err;

	memset(&ca, 0, sizeof ca);
	ca.flags = r->flags | CLONE_PIDFD | CLONE_CLEAR_SIGHAND;
	ca.pidfd = (uint64_t)(uintptr_t)r->pidfd;
	/* no exit signal: a host program's waitpid(-1) never sees our
	 * children; they are waited for by pidfd with __WALL.  A detached
	 * (OCI) jail's is SIGCHLD: its reaper is whoever inherits it */
	ca.exit_signal = (uint64_t)r->exit_signal; /* 0 but when detached */
	ca.cgroup = r->flags & CLONE_INTO_CGROUP ? (uint64_t)r->cgroup_fd : 0;
	r->exec_errno = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
#ifdef HAVE_STACK_CLONE
	void *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		err = errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		errno = err;
		return -1;
	}
	ca.flags |= CLONE_VM | CLONE_VFORK;
	ca.stack = (uint64_t)(uintptr_t)stack;
	ca.stack_size = STACK_SIZE;
	pid = clone3_on_stack(&ca, child, &a);
	if (pid < 0 && -pid == EINVAL) { /* no CLONE_CLEAR_SIGHAND (< 5.5) */
		ca.flags &= ~CLONE_CLEAR_SIGHAND;
		pid = clone3_on_stack(&ca, child, &a);
	}
	err = pid < 0 ? (int)-pid : 0;
	munmap(stack, STACK_SIZE);
#else
	pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid < 0 && errno == EINVAL) {
		ca.flags &= ~CLONE_CLEAR_SIGHAND;
		pid = syscall(SYS_clone3, &ca, sizeof ca);
	}
	if (pid == 0)
		_exit(child(&a));
	err = pid < 0 ? errno : 0;
#endif
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		return -1;
	}
	return (pid_t)pid;
}
