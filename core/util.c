#include "util.h"
#include "sbx.h"
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <string.h>
#include <time.h>

ssize_t sbx_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t sbx_read_at(int dirfd, const char *name, char *buf, size_t len)
{
	cleanup_fd int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0 || len == 0)
		return -1;
	while (got < len - 1) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	while (got > 0 && buf[got - 1] == '\n')
		got--;
	buf[got] = '\0';
	return (ssize_t)got;
}

int sbx_write_at(int dirfd, const char *name, const char *s)
{
	cleanup_fd int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	/* cgroup files take one value per write(): never split it */
	ssize_t n = write(fd, s, strlen(s));
	if (n < 0)
		return -1;
	return 0;
}

int64_t sbx_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* getdents64 walk of /proc/self/fd, for where close_range is refused (a
 * host seccomp policy, a kernel before 5.9).  Raw system calls and no
 * allocation: it also runs in clone.c's child, in the host's memory. */
static int close_walk(unsigned lo)
{
	char buf[1024];
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/fd",
			  O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (n <= 0) {
			syscall(SYS_close, fd);
			return n < 0 ? -1 : 0;
		}
		for (long off = 0; off < n;) {
			const unsigned char *d = (const unsigned char *)buf + off;
			unsigned short reclen;
			memcpy(&reclen, d + 16, sizeof reclen);
			const char *name = (const char *)d + 19;
			long v = 0;
			bool num = *name != '\0';
			for (const char *c = name; *c; c++) {
				if (*c < '0' || *c > '9') {
					num = false;
					break;
				}
				v = v * 10 + (*c - '0');
			}
			if (num && v >= (long)lo && v != fd)
				syscall(SYS_close, v);
			off += reclen;
		}
	}
}

int sbx_close_from(unsigned lo)
{
	if (syscall(SYS_close_range, lo, ~0U, 0) == 0)
		return 0;
	return close_walk(lo);
}

char *sbx_read_whole(int dirfd, const char *name, size_t *len)
{
	cleanup_fd int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, got = 0;
	char *buf = NULL;

	if (fd < 0)
		return NULL;
	for (;;) {
		if (cap - got < 2) {
			if (cap >= (64u << 20)) { /* no cgroup file is this big */
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
		}
		char *nb = realloc(buf, cap);
		if (!nb) {
			free(buf);
			return NULL;
		}
		buf = nb;
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

static const struct { int flag; const char *name; } ns_types[] = {
	{ CLONE_NEWUSER, "user" },   { CLONE_NEWNS, "mount" },
	{ CLONE_NEWPID, "pid" },     { CLONE_NEWNET, "net" },
	{ CLONE_NEWUTS, "uts" },     { CLONE_NEWIPC, "ipc" },
	{ CLONE_NEWCGROUP, "cgroup" }, { CLONE_NEWTIME, "time" },
};

int sbx_ns_at(size_t i, const char **name)
{
	if (i >= sizeof ns_types / sizeof ns_types[0])
		return 0;
	*name = ns_types[i].name;
	return ns_types[i].flag;
}

const char *sbx_ns_name(int flag)
{
	const char *n;
	for (size_t i = 0; sbx_ns_at(i, &n); i++)
		if (ns_types[i].flag == flag)
			return n;
	return NULL;
}

int sbx_ns_flag(const char *name)
{
	const char *n;
	int f;
	for (size_t i = 0; (f = sbx_ns_at(i, &n)); i++)
		if (!strcmp(n, name))
			return f;
	return 0;
}

bool sbx_ns_joinable(int flag)
{
	return flag == CLONE_NEWNET || flag == CLONE_NEWIPC ||
	       flag == CLONE_NEWUTS || flag == CLONE_NEWPID;
}
