/* hog: a static test payload for the specs, runnable in any rootfs.
 *   hog mem MIB          allocate and touch MIB MiB; print "allocated N"
 *   hog memwait MIB      allocate MIB MiB, then on SIGUSR1 one MiB more, exit
 *   hog steps SECS MIB.. hold MIB MiB in all for SECS, then the next total
 *   hog read PATH MIB    read MIB MiB of PATH through the page cache
 *   hog spin SECONDS     busy-loop for SECONDS of wall time
 *   hog fork N           try N forks (children pause); print "ok N eagain M"
 *   hog bytes N SEED     write N deterministic pseudo-random bytes
 *   hog cgroup           print /proc/self/cgroup (first thing it does)
 *   hog try NAME [ARG]   one escape attempt; prints "NAME ok" or
 *                        "NAME errno=ENAME" (see attempt())
 *   hog serve PATH SECS  a unix socket server at PATH (mode 0777, the worst
 *                        case) for SECS seconds; prints "listening" */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *ename(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EROFS: return "EROFS";
	case ESRCH: return "ESRCH";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENOTTY: return "ENOTTY";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EBUSY: return "EBUSY";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ENXIO: return "ENXIO";
	default: return "EOTHER";
	}
}

/* each attempt returns 0 on success (the escape worked!) or -1 w/ errno */
static long attempt(const char *n, const char *arg)
{
	if (!strcmp(n, "chroot")) {
		/* mkdir x; chroot x; cd ../../..; chroot . */
		mkdir("/tmp/x", 0755);
		if (chroot("/tmp/x") < 0)
			return -1;
		for (int i = 0; i < 16; i++)
			if (chdir("..") < 0)
				return -1;
		return chroot(".");
	}
	if (!strcmp(n, "mount-proc"))
		return mount("proc", "/tmp", "proc", 0, NULL);
	if (!strcmp(n, "remount-root"))
		return mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL);
	if (!strcmp(n, "pivot_root"))
		return syscall(SYS_pivot_root, "/tmp", "/tmp");
	if (!strcmp(n, "write")) { /* write ARG */
		int fd = open(arg, O_WRONLY);
		if (fd < 0)
			return -1;
		ssize_t r = write(fd, "1", 1);
		close(fd);
		return r < 0 ? -1 : 0;
	}
	if (!strcmp(n, "read")) { /* read ARG: ok only if it yields bytes */
		char b[64];
		int fd = open(arg, O_RDONLY);
		if (fd < 0)
			return -1;
		ssize_t r = read(fd, b, sizeof b);
		close(fd);
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = ENOENT; /* nothing there: masked */
			return -1;
		}
		return 0;
	}
	if (!strcmp(n, "mknod"))
		return mknod("/tmp/sda", S_IFBLK | 0600, makedev(8, 0));
	if (!strcmp(n, "open_by_handle_at")) {
		struct { unsigned int bytes; int type; unsigned char h[8]; } fh =
			{ 8, 1, { 2, 0, 0, 0, 0, 0, 0, 0 } }; /* shocker: inode 2 */
		long fd = syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY);
		return fd < 0 ? -1 : 0;
	}
	if (!strcmp(n, "setns")) { /* ARG = /proc/<pid>/ns/mnt */
		int fd = open(arg, O_RDONLY);
		if (fd < 0)
			return -1;
		return setns(fd, 0);
	}
	if (!strcmp(n, "kill"))
		return kill(atoi(arg), SIGKILL);
	if (!strcmp(n, "ptrace"))
		return ptrace(PTRACE_ATTACH, atoi(arg), NULL, NULL);
	if (!strcmp(n, "unshare-user"))
		return unshare(CLONE_NEWUSER);
	if (!strcmp(n, "init_module"))
		return syscall(SYS_finit_module, 0, "", 0);
	if (!strcmp(n, "keyctl"))
		return syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "x");
	if (!strcmp(n, "bpf"))
		return syscall(SYS_bpf, 0, NULL, 0);
	if (!strcmp(n, "perf_event_open"))
		return syscall(SYS_perf_event_open, NULL, 0, -1, 0, 0);
	if (!strcmp(n, "userfaultfd"))
		return syscall(SYS_userfaultfd, 0);
	if (!strcmp(n, "personality")) {
		int r = personality(0x0040000 /* ADDR_NO_RANDOMIZE */);
		return r < 0 ? -1 : (personality(0xffffffff) & 0x0040000) ? 0 : (errno = EPERM, -1);
	}
	if (!strcmp(n, "mkcgroup"))
		return mkdir("/sys/fs/cgroup/escape", 0755);
	if (!strcmp(n, "mount-cgroup"))
		return mount("cgroup2", "/tmp", "cgroup2", 0, NULL);
	if (!strcmp(n, "connect")) { /* ARG = IPv4 address, port 80 */
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
		inet_pton(AF_INET, arg, &a.sin_addr);
		return connect(s, (struct sockaddr *)&a, sizeof a);
	}
	if (!strcmp(n, "vsock")) /* not isolated by a network namespace */
		return socket(40 /* AF_VSOCK */, SOCK_STREAM, 0) < 0 ? -1 : 0;
	if (!strcmp(n, "unix")) { /* connect to the unix socket ARG */
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(a.sun_path, sizeof a.sun_path, "%s", arg);
		return s < 0 ? -1 : connect(s, (struct sockaddr *)&a, sizeof a);
	}
	if (!strcmp(n, "opendev")) { /* open the device node ARG */
		int fd = open(arg, O_RDWR);
		if (fd < 0)
			fd = open(arg, O_RDONLY);
		return fd < 0 ? -1 : 0;
	}
	if (!strcmp(n, "tiocsti")) {
		char c = 'x';
		return ioctl(0, TIOCSTI, &c);
	}
	if (!strcmp(n, "int80")) { /* the 32-bit ABI: getpid */
		long r;
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
		return r > 0 ? 0 : -1;
	}
	errno = EINVAL;
	return -1;
}

/* hog call NAME [ARG...]: one system call with numeric arguments (0x..
 * too); prints "NAME ret=R errno=N" (N = 0 on success) */
static int call(int argc, char **argv)
{
	unsigned long a[6] = { 0 };
	const char *n = argv[2];
	long r;
	for (int i = 3; i < argc && i < 9; i++)
		a[i - 3] = strtoul(argv[i], NULL, 0);
	errno = 0;
	if (!strcmp(n, "personality"))
		r = syscall(SYS_personality, a[0]);
	else if (!strcmp(n, "socket"))
		r = syscall(SYS_socket, a[0], a[1], a[2]);
	else if (!strcmp(n, "getppid"))
		r = syscall(SYS_getppid);
	else if (!strcmp(n, "vhangup"))
		r = syscall(SYS_vhangup);
	else if (!strcmp(n, "uname")) {
		char buf[512];
		r = syscall(SYS_uname, buf);
		if (r == 0) /* struct utsname: 65-byte fields; machine is the 5th */
			printf("machine=%s\n", buf + 4 * 65);
	} else
		return 2;
	printf("%s ret=%ld errno=%d\n", n, r, r < 0 ? errno : 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "call") && argc > 2)
		return call(argc, argv);
	if (!strcmp(argv[1], "mem") && argc > 2) {
		long mib = atol(argv[2]);
		for (long i = 0; i < mib; i++) {
			char *p = malloc(1 << 20);
			if (!p)
				return 3;
			memset(p, (int)i | 1, 1 << 20);
		}
		printf("allocated %ld\n", mib);
		return 0;
	}
	if (!strcmp(argv[1], "steps") && argc > 3) {
		double hold = atof(argv[2]);
		long have = 0;
		for (int a = 3; a < argc; a++) {
			for (long want = atol(argv[a]); have < want; have++) {
				char *p = malloc(1 << 20);
				if (!p)
					return 3;
				memset(p, (int)have | 1, 1 << 20);
			}
			struct timespec ts = { (time_t)hold,
					       (long)((hold - (double)(time_t)hold) * 1e9) };
			nanosleep(&ts, NULL);
		}
		printf("allocated %ld\n", have);
		return 0;
	}
	if (!strcmp(argv[1], "memwait") && argc > 2) {
		sigset_t set;
		int sig;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		long mib = atol(argv[2]);
		for (long i = 0; i <= mib; i++) {
			if (i == mib && sigwait(&set, &sig) != 0)
				return 3;
			char *p = malloc(1 << 20);
			if (!p)
				return 3;
			memset(p, (int)i | 1, 1 << 20);
		}
		printf("allocated %ld\n", mib + 1);
		return 0;
	}
	if (!strcmp(argv[1], "read") && argc > 3) {
		char buf[65536];
		long want = atol(argv[3]) << 20, got = 0;
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0)
			return 3;
		while (got < want) {
			ssize_t r = read(fd, buf, sizeof buf);
			if (r <= 0)
				break;
			got += r;
		}
		printf("read %ld\n", got >> 20);
		return 0;
	}
	if (!strcmp(argv[1], "spin") && argc > 2) {
		double end = now() + atof(argv[2]);
		volatile unsigned long x = 0;
		while (now() < end)
			for (int i = 0; i < 100000; i++)
				x += (unsigned long)i;
		return 0;
	}
	if (!strcmp(argv[1], "fork") && argc > 2) {
		int n = atoi(argv[2]), ok = 0, eagain = 0, other = 0;
		for (int i = 0; i < n; i++) {
			pid_t p = fork();
			if (p == 0) {
				pause();
				_exit(0);
			}
			if (p > 0)
				ok++;
			else if (errno == EAGAIN)
				eagain++;
			else
				other++;
		}
		printf("ok %d eagain %d other %d\n", ok, eagain, other);
		fflush(stdout);
		kill(0, SIGTERM);
		return 0;
	}
	if (!strcmp(argv[1], "bytes") && argc > 3) {
		long n = atol(argv[2]);
		unsigned s = (unsigned)atol(argv[3]);
		char buf[4096];
		while (n > 0) {
			size_t k = n < (long)sizeof buf ? (size_t)n : sizeof buf;
			for (size_t i = 0; i < k; i++) {
				s = s * 1103515245u + 12345u;
				buf[i] = (char)(s >> 16);
			}
			if (write(1, buf, k) != (ssize_t)k)
				return 4;
			n -= (long)k;
		}
		return 0;
	}
	if (!strcmp(argv[1], "serve") && argc > 3) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[2]);
		unlink(argv[2]);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 ||
		    chmod(argv[2], 0777) < 0 || listen(s, 16) < 0)
			return 3;
		printf("listening\n");
		fflush(stdout);
		alarm((unsigned)atoi(argv[3]));
		for (;;) {
			int c = accept(s, NULL, NULL);
			if (c >= 0)
				close(c);
		}
	}
	if (!strcmp(argv[1], "try") && argc > 2) {
		long r = attempt(argv[2], argc > 3 ? argv[3] : "");
		if (r == 0)
			printf("%s ok\n", argv[2]);
		else
			printf("%s errno=%s\n", argv[2], ename(errno));
		return r == 0 ? 1 : 0;
	}
	if (!strcmp(argv[1], "cgroup")) {
		char buf[4096];
		int fd = open("/proc/self/cgroup", O_RDONLY);
		ssize_t r = fd < 0 ? -1 : read(fd, buf, sizeof buf);
		if (r > 0 && write(1, buf, (size_t)r) != r)
			return 4;
		return r > 0 ? 0 : 5;
	}
	return 2;
}
