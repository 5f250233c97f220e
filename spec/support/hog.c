/* hog: a static test payload for the specs, runnable in any rootfs.
 *   hog mem MIB          allocate and touch MIB MiB; print "allocated N"
 *   hog spin SECONDS     busy-loop for SECONDS of wall time
 *   hog fork N           try N forks (children pause); print "ok N eagain M"
 *   hog bytes N SEED     write N deterministic pseudo-random bytes
 *   hog cgroup           print /proc/self/cgroup (first thing it does) */
#include <errno.h>
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

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
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
