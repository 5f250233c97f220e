/* Internal helpers shared by the core: cleanup attributes, fd I/O. */
#ifndef SBX_UTIL_H
#define SBX_UTIL_H
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>

static inline void sbx_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
	*fd = -1;
}
static inline void sbx_freep(void *p) { free(*(void **)p); }
#define cleanup_fd __attribute__((cleanup(sbx_closep)))
#define cleanup_free __attribute__((cleanup(sbx_freep)))

/* take ownership out of a cleanup_fd variable */
static inline int sbx_steal_fd(int *fd) { int r = *fd; *fd = -1; return r; }

/* whole-buffer write/read, retrying EINTR; -1 with errno on failure */
ssize_t sbx_write_all(int fd, const void *buf, size_t len);
/* read a small file at dirfd/name into buf (NUL-terminated, trailing
 * newline stripped); returns length or -1 */
ssize_t sbx_read_at(int dirfd, const char *name, char *buf, size_t len);
int sbx_write_at(int dirfd, const char *name, const char *s);
/* all of dirfd/name, NUL-terminated (malloc'ed; *len without the NUL) */
char *sbx_read_whole(int dirfd, const char *name, size_t *len);
/* close every fd from lo up: close_range, or a walk of /proc/self/fd
 * where close_range is refused; -1 when neither worked */
int sbx_close_from(unsigned lo);
#endif
