/* Child side: build the jail's mount table and switch root.
 *
 * Every host path is cloned into a detached mount (open_tree) before the
 * new root is attached, and every target is resolved with openat2
 * RESOLVE_IN_ROOT against the new root, so a hostile rootfs cannot point a
 * mount (via symlinks or "..") at anything outside itself. */
#include "sbx.h"
#include "util.h"
#include "jail.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
/* the kernel's header, not <sys/mount.h>: musl's lacks the new mount API
 * and the two clash; mount(2) and umount2(2) go through syscall() */
#include <linux/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif

static int umount_detach(const char *path)
{
	return (int)syscall(SYS_umount2, path, MNT_DETACH);
}

static int openat2_in(int root, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, root, path, &how, sizeof how);
}

/* the mount id of fd's mount (statx STATX_MNT_ID, 5.8+), 0 if unknown.
 * The kernel's struct statx is fixed ABI: mask at 0, stx_mnt_id at 144
 * of 256 bytes (libc headers clash with the kernel's here, musl's most) */
static uint64_t mnt_id_of(int fd)
{
	unsigned char sx[256] __attribute__((aligned(8))) = { 0 };
	uint32_t mask;
	uint64_t id;
	if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, 0x1000U /* MNT_ID */, sx) < 0)
		return 0;
	memcpy(&mask, sx, sizeof mask);
	memcpy(&id, sx + 144, sizeof id);
	return (mask & 0x1000U) ? id : 0;
}

static void own_add(struct sbx_own_mounts *own, int fd)
{
	uint64_t id = mnt_id_of(fd);
	if (id && own->n < (int)(sizeof own->id / sizeof own->id[0]))
		own->id[own->n++] = id;
}

/* may setup create or write something in the directory (or file) fd?
 * Only on a mount of ours; else EROFS, with the path kept for the error */
static int own_check(struct sbx_own_mounts *own, int fd, const char *path)
{
	uint64_t id = mnt_id_of(fd);
	for (int i = 0; id && i < own->n; i++)
		if (own->id[i] == id)
			return 0;
	snprintf(own->refused, sizeof own->refused, "%s", path);
	errno = EROFS;
	return -1;
}

/* mkdir -p inside root (every lookup resolved in root), from the deepest
 * existing directory down; returns an O_PATH fd of path */
static int mkdirs_in(struct sbx_own_mounts *own, int root, const char *path,
		     unsigned mode)
{
	int fd = openat2_in(root, path, O_PATH | O_DIRECTORY);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, path);
	char *slash = strrchr(buf, '/');
	if (!slash || !slash[1]) {
		errno = ENOENT;
		return -1;
	}
	*slash = '\0';
	cleanup_fd int pfd = mkdirs_in(own, root, buf[0] ? buf : "/", 0755);
	if (pfd < 0 || own_check(own, pfd, buf[0] ? buf : "/") < 0)
		return -1;
	if (mkdirat(pfd, slash + 1, mode ? mode : 0755) < 0 && errno != EEXIST)
		return -1;
	*slash = '/';
	return openat2_in(root, buf, O_PATH | O_DIRECTORY);
}

/* the parent directory of dst inside root (created as needed), O_PATH;
 * *name points at dst's last component in buf */
static int parent_in(struct sbx_own_mounts *own, int root, const char *dst,
		     char *buf, size_t len, const char **name)
{
	if ((size_t)snprintf(buf, len, "%s", dst) >= len) {
		errno = ENAMETOOLONG; /* never a shorter path than asked */
		return -1;
	}
	char *slash = strrchr(buf, '/');
	*slash = '\0';
	*name = slash + 1;
	int fd = mkdirs_in(own, root, buf[0] ? buf : "/", 0755);
	if (fd >= 0 && own_check(own, fd, buf[0] ? buf : "/") < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* target for a mount: existing path, or created (dir or empty file) */
static int target_in(struct sbx_own_mounts *own, int root, const char *dst,
		     bool file, unsigned mode)
{
	int fd = openat2_in(root, dst, O_PATH);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (!file)
		return mkdirs_in(own, root, dst, mode);
	char dir[4096];
	const char *name;
	cleanup_fd int pfd = parent_in(own, root, dst, dir, sizeof dir, &name);
	if (pfd < 0)
		return -1;
	int nfd = openat(pfd, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
			 mode ? mode : 0644);
	if (nfd < 0)
		return -1;
	close(nfd);
	return openat2_in(root, dst, O_PATH);
}

static int setattr_clr(int fd, uint64_t set, uint64_t clr, bool rec)
{
	struct mount_attr a = { .attr_set = set, .attr_clr = clr };
	return (int)syscall(SYS_mount_setattr, fd, "",
			    AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &a,
			    sizeof a);
}

static int setattr_fd(int fd, uint64_t set, bool rec)
{
	struct mount_attr a = { .attr_set = set };
	return (int)syscall(SYS_mount_setattr, fd, "",
			    AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &a,
			    sizeof a);
}

static int attach(int mfd, int tfd)
{
	return (int)syscall(SYS_move_mount, mfd, "", tfd, "",
			    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* a fresh filesystem instance as a detached mount */
static int new_fs(const char *type, const char *opts, uint64_t attrs)
{
	cleanup_fd int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
	char buf[1024];

	if (fs < 0)
		return -1;
	/* name the source after the type, as mount(8) users expect */
	syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", type, 0);
	snprintf(buf, sizeof buf, "%s", opts ? opts : "");
	for (char *sv, *kv = strtok_r(buf, ",", &sv); kv; kv = strtok_r(NULL, ",", &sv)) {
		char *eq = strchr(kv, '=');
		int r;
		if (eq) {
			*eq = '\0';
			r = (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING,
					 kv, eq + 1, 0);
		} else {
			r = (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG,
					 kv, NULL, 0);
		}
		if (r < 0)
			return -1;
	}
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	return (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs);
}

static uint64_t attrs_of(const struct sbx_mount *m)
{
	return (m->ro ? MOUNT_ATTR_RDONLY : 0) |
	       (m->nosuid ? MOUNT_ATTR_NOSUID : 0) |
	       (m->nodev ? MOUNT_ATTR_NODEV : 0) |
	       (m->noexec ? MOUNT_ATTR_NOEXEC : 0);
}

static int mount_fs_on(int t, const char *type, const char *opts,
		       uint64_t attrs)
{
	cleanup_fd int m = new_fs(type, opts, attrs);
	if (m < 0)
		return -1;
	return attach(m, t);
}

/* a fresh tmpfs or mqueue at dst: one of ours from now on */
static int mount_fs_at(struct sbx_own_mounts *own, int root, const char *dst,
		       const char *type, const char *opts, uint64_t attrs)
{
	cleanup_fd int t = target_in(own, root, dst, false, 0);
	cleanup_fd int m = t < 0 ? -1 : new_fs(type, opts, attrs);
	if (m < 0 || attach(m, t) < 0)
		return -1;
	own_add(own, m);
	return 0;
}

static int symlink_in(struct sbx_own_mounts *own, int root, const char *text,
		      const char *dst)
{
	char dir[4096];
	const char *name;
	cleanup_fd int pfd = parent_in(own, root, dst, dir, sizeof dir, &name);
	if (pfd < 0)
		return -1;
	if (symlinkat(text, pfd, name) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* a fresh filesystem on dir/name (made if missing); dir is a tmpfs of ours */
static int subdir_fs(int dir, const char *name, unsigned mode, const char *type,
		     const char *opts, uint64_t attrs)
{
	if (mkdirat(dir, name, mode) < 0 && errno != EEXIST)
		return -1;
	cleanup_fd int t = (int)syscall(SYS_openat, dir, name, O_PATH |
					O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	return t < 0 ? -1 : mount_fs_on(t, type, opts, attrs);
}

/* /dev: a small tmpfs with the six harmless nodes: made with mknod as real
 * root, bound from the host in a user namespace (where mknod is refused).
 * Everything below it is made through its fd: a fresh tmpfs of ours. */
/* a node at rel below the fresh /dev d: mknod as real root, else (a user
 * namespace refuses mknod) a bind of the host's node at the same path */
static int dev_node(int d, const char *rel, mode_t type, unsigned maj,
		    unsigned min, unsigned mode, const char *host)
{
	if (mknodat(d, rel, type | mode, makedev(maj, min)) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	cleanup_fd int h = (int)syscall(SYS_openat, AT_FDCWD, host,
					O_PATH | O_CLOEXEC, 0);
	cleanup_fd int f = openat(d, rel, O_CREAT | O_WRONLY | O_CLOEXEC |
				  O_NOFOLLOW, 0600);
	cleanup_fd int n = h < 0 ? -1 : (int)syscall(SYS_open_tree, h, "",
		OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	cleanup_fd int ft = f < 0 ? -1 : (int)syscall(SYS_openat, d, rel,
		O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	if (n < 0 || ft < 0 ||
	    setattr_fd(n, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false) < 0)
		return -1;
	return attach(n, ft);
}

/* the recipe's own nodes below dst ("/dev/net/tun": its directories too) */
static int dev_extra(int d, const char *dst, const struct sbx_plan *p,
		     const char **what)
{
	size_t dl = strlen(dst);
	for (size_t i = 0; i < p->ndevices; i++) {
		const struct sbx_device *x = &p->devices[i];
		char rel[PATH_MAX];
		*what = x->path;
		if (strncmp(x->path, dst, dl) || x->path[dl] != '/' ||
		    strlen(x->path + dl + 1) >= sizeof rel) {
			errno = EINVAL;
			return -1;
		}
		strcpy(rel, x->path + dl + 1);
		for (char *sl = strchr(rel, '/'); sl; sl = strchr(sl + 1, '/')) {
			*sl = '\0';
			if (mkdirat(d, rel, 0755) < 0 && errno != EEXIST)
				return -1;
			*sl = '/';
		}
		if (dev_node(d, rel, x->type == 'b' ? S_IFBLK : S_IFCHR,
			     (unsigned)x->major, (unsigned)x->minor,
			     x->mode ? x->mode : 0600, x->path) < 0)
			return -1;
	}
	return 0;
}

/* the dev mount's data: "<tmpfs options>\n<more devpts options>", each
 * part optional (an OCI config's size and mode of /dev, gid=5 of pts) */
static void dev_options(const struct sbx_mount *m, char *fs, size_t fslen,
			char *pts, size_t ptslen)
{
	const char *d = m->data ? m->data : "";
	const char *nl = strchr(d, '\n');
	size_t n = nl ? (size_t)(nl - d) : strlen(d);
	if (n)
		snprintf(fs, fslen, "%.*s", (int)n, d);
	else
		snprintf(fs, fslen, "mode=0755,size=512k");
	snprintf(pts, ptslen, "newinstance,ptmxmode=0666,mode=0620%s%s",
		 nl && nl[1] ? "," : "", nl ? nl + 1 : "");
}

static int build_dev(struct sbx_own_mounts *own, int t, const char *dst,
		     const struct sbx_plan *p, const struct sbx_mount *m,
		     struct sbx_err *e)
{
	static const struct { const char *name; unsigned maj, min; } nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const char *const links[][2] = {
		{ "pts/ptmx", "ptmx" }, { "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" },
	};
	const char *what = "mount dev";
	cleanup_fd int d = -1;
	char fsopts[256], ptsopts[256];

	dev_options(m, fsopts, sizeof fsopts, ptsopts, sizeof ptsopts);
	/* the mount's own fd is its root, below which we work */
	if ((d = new_fs("tmpfs", fsopts,
			MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)) < 0 ||
	    attach(d, t) < 0)
		goto fail;
	own_add(own, d);
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		char host[32];
		what = nodes[i].name;
		snprintf(host, sizeof host, "/dev/%s", nodes[i].name);
		if (dev_node(d, nodes[i].name, S_IFCHR, nodes[i].maj,
			     nodes[i].min, 0666, host) < 0)
			goto fail;
	}
	if (dev_extra(d, dst, p, &what) < 0)
		goto fail;
	what = "mount devpts -> pts";
	if (subdir_fs(d, "pts", 0755, "devpts", ptsopts,
		      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC) < 0)
		goto fail;
	what = "mount tmpfs -> shm";
	if (subdir_fs(d, "shm", 01777, "tmpfs", "mode=1777,size=64m",
		      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		what = links[i][1];
		if (symlinkat(links[i][0], d, links[i][1]) < 0 && errno != EEXIST)
			goto fail;
	}
	return 0;
fail:
	sbx_err_set(e, errno, "mount", "%s: %s", dst, what);
	return -1;
}

static bool in_userns(void)
{
	char buf[128];
	unsigned a, b, c;
	if (sbx_read_at(AT_FDCWD, "/proc/self/uid_map", buf, sizeof buf) < 0 ||
	    sscanf(buf, "%u %u %u", &a, &b, &c) != 3)
		return false;
	return !(a == 0 && b == 0 && c == 4294967295U);
}

/* a writable view of a host directory: a tmpfs at the target holds upper/
 * and work/, and an overlay with the host directory as its lower layer is
 * mounted on top of it.  The host directory is never written. */
static int overlay_at(struct sbx_own_mounts *own, int root,
		      const struct sbx_mount *m, int lowerfd)
{
	char up[64], wk[64], low[64];
	cleanup_fd int t = -1, fs = -1, mfd = -1;

	if (mount_fs_at(own, root, m->dst, "tmpfs", m->data,
			MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) < 0)
		return -1;
	t = openat2_in(root, m->dst, O_PATH | O_DIRECTORY);
	if (t < 0 || mkdirat(t, "upper", 0755) < 0 ||
	    mkdirat(t, "work", 0755) < 0)
		return -1;
	/* the lower dir was opened before the new root hid the host's tree */
	snprintf(low, sizeof low, "/proc/self/fd/%d", lowerfd);
	snprintf(up, sizeof up, "/proc/self/fd/%d/upper", t);
	snprintf(wk, sizeof wk, "/proc/self/fd/%d/work", t);
	fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fs < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", low, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", up, 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", wk, 0) < 0)
		return -1;
	/* in a user namespace trusted.* xattrs are out of reach */
	if (in_userns() &&
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
		return -1;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	mfd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
			   MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				   (m->noexec ? MOUNT_ATTR_NOEXEC : 0));
	if (mfd < 0 || attach(mfd, t) < 0)
		return -1;
	own_add(own, mfd);
	return 0;
}

/* the target of a fresh proc, sysfs or /dev: with a host root, whatever is
 * mounted there (the host's instance) is detached first, so none hides
 * under ours.  Only another filesystem's mount point has something to
 * detach, so a rootfs's own directory is resolved once. */
static int fresh_target(struct sbx_own_mounts *own, int root, const char *dst)
{
	struct stat st, up;
	char p[64];
	int t = openat2_in(root, dst, O_PATH | O_DIRECTORY);
	if (t < 0)
		return errno == ENOENT ? target_in(own, root, dst, false, 0) : -1;
	if (fstat(t, &st) == 0 && fstatat(t, "..", &up, 0) == 0 &&
	    st.st_dev == up.st_dev)
		return t;
	snprintf(p, sizeof p, "/proc/self/fd/%d", t);
	while (umount_detach(p) == 0)
		;
	close(t);
	return openat2_in(root, dst, O_PATH | O_DIRECTORY);
}

/* ---- tmpcopyup: a tmpfs that starts with what the directory held ---- */
#define COPYUP_DEPTH 64

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int copy_file(int from, const char *name, int to,
		     const struct stat *st)
{
	char buf[65536];
	ssize_t n;
	cleanup_fd int s = openat(from, name, O_RDONLY | O_NOFOLLOW |
						O_CLOEXEC);
	cleanup_fd int d = s < 0 ? -1
				 : openat(to, name, O_WRONLY | O_CREAT |
							    O_EXCL | O_NOFOLLOW |
							    O_CLOEXEC,
					  st->st_mode & 0700);
	if (d < 0)
		return -1;
	while ((n = read(s, buf, sizeof buf)) > 0)
		if (sbx_write_all(d, buf, (size_t)n) < 0)
			return -1;
	return n < 0 ? -1 : 0;
}

static int copy_tree(int from, int to, int depth);

/* one entry, by name, from a directory fd into another: directories,
 * files, symlinks and fifos with their owner and mode (sockets and device
 * nodes are left out: the tmpfs is nodev) */
static int copy_entry(int from, const char *name, int to, int depth)
{
	struct stat st;
	if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(to, name, 0700) < 0)
			return -1;
		cleanup_fd int f = openat(from, name, O_RDONLY | O_DIRECTORY |
							 O_NOFOLLOW | O_CLOEXEC);
		cleanup_fd int t = openat(to, name, O_RDONLY | O_DIRECTORY |
						     O_NOFOLLOW | O_CLOEXEC);
		if (f < 0 || t < 0 || copy_tree(f, t, depth + 1) < 0)
			return -1;
	} else if (S_ISREG(st.st_mode)) {
		if (copy_file(from, name, to, &st) < 0)
			return -1;
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(from, name, target, sizeof target - 1);
		if (n < 0)
			return -1;
		target[n] = '\0';
		if (symlinkat(target, to, name) < 0)
			return -1;
	} else if (S_ISFIFO(st.st_mode)) {
		if (mkfifoat(to, name, 0600) < 0)
			return -1;
	} else {
		return 0;
	}
	/* an owner the user namespace does not map stays ours (EINVAL) */
	if (fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno != EINVAL)
		return -1;
	if (!S_ISLNK(st.st_mode) && fchmodat(to, name, st.st_mode & 07777, 0) < 0)
		return -1;
	return 0;
}

static int copy_tree(int from, int to, int depth)
{
	if (depth > COPYUP_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	int fd = fcntl(from, F_DUPFD_CLOEXEC, 0);
	__attribute__((cleanup(closedirp))) DIR *d =
		fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (copy_entry(from, de->d_name, to, depth) < 0)
			return -1;
		errno = 0;
	}
	return errno ? -1 : 0;
}

/* the tmpfs on dst, then what dst held copied in (opened before the mount
 * covers it), then read-only if asked.  -1: the mount failed; -2: the copy */
static int tmpfs_copyup_at(struct sbx_own_mounts *own, int root,
			   const struct sbx_mount *m)
{
	uint64_t attrs = attrs_of(m) | MOUNT_ATTR_NOSUID;
	cleanup_fd int below = openat2_in(root, m->dst, O_RDONLY | O_DIRECTORY);
	if (below < 0 && errno != ENOENT)
		return -1;
	if (mount_fs_at(own, root, m->dst, "tmpfs", m->data,
			attrs & ~(uint64_t)MOUNT_ATTR_RDONLY) < 0)
		return -1;
	cleanup_fd int top = openat2_in(root, m->dst, O_RDONLY | O_DIRECTORY);
	if (top < 0 || (below >= 0 && copy_tree(below, top, 0) < 0))
		return -2;
	if ((attrs & MOUNT_ATTR_RDONLY) &&
	    setattr_fd(top, MOUNT_ATTR_RDONLY, false) < 0)
		return -1;
	return 0;
}

static int do_mount(struct sbx_own_mounts *own, int root,
		    const struct sbx_plan *p, const struct sbx_mount *m,
		    int srcfd, struct sbx_err *e)
{
	const char *d = m->dst;

	own->refused[0] = '\0';

	switch (m->kind) {
	case SBX_MNT_BIND: {
		struct stat st;
		if (fstat(srcfd, &st) < 0)
			goto fail;
		cleanup_fd int t = target_in(own, root, d, !S_ISDIR(st.st_mode), 0);
		if (t < 0)
			goto fail;
		/* read-only must hold for every submount too */
		if (setattr_fd(srcfd, attrs_of(m), true) < 0 && attrs_of(m))
			goto fail;
		if (attach(srcfd, t) < 0)
			goto fail;
		return 0;
	}
	case SBX_MNT_TMPFS: /* nodev unless the recipe says nodev = false */
		if (m->copyup) {
			int r = tmpfs_copyup_at(own, root, m);
			if (r == -2) {
				sbx_err_set(e, errno, "mount", "tmpcopyup %s: "
					    "copy what it held", d);
				return -1;
			}
			if (r < 0)
				goto fail;
			return 0;
		}
		if (mount_fs_at(own, root, d, "tmpfs", m->data,
				attrs_of(m) | MOUNT_ATTR_NOSUID) < 0)
			goto fail;
		return 0;
	case SBX_MNT_PROC:
	case SBX_MNT_SYSFS: {
		cleanup_fd int t = fresh_target(own, root, d);
		if (t < 0 || mount_fs_on(t, m->kind == SBX_MNT_PROC ? "proc"
								    : "sysfs",
					 m->kind == SBX_MNT_PROC ? m->data : NULL,
					 attrs_of(m) | MOUNT_ATTR_NOSUID |
						 MOUNT_ATTR_NODEV |
						 MOUNT_ATTR_NOEXEC) < 0)
			goto fail;
		return 0;
	}
	case SBX_MNT_CGROUP: {
		/* the jail's cgroup namespace is its root: the jail sees its
		 * own cgroup only (rw just with delegation: the kernel's
		 * nsdelegate or ownership guards the leaf's own limits) */
		cleanup_fd int t = fresh_target(own, root, d);
		if (t < 0 || mount_fs_on(t, "cgroup2", NULL,
					 attrs_of(m) | MOUNT_ATTR_NOSUID |
						 MOUNT_ATTR_NODEV |
						 MOUNT_ATTR_NOEXEC) < 0)
			goto fail;
		return 0;
	}
	case SBX_MNT_MQUEUE:
		if (mount_fs_at(own, root, d, "mqueue", NULL,
				MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					MOUNT_ATTR_NOEXEC) < 0)
			goto fail;
		return 0;
	case SBX_MNT_DEV: {
		cleanup_fd int t = fresh_target(own, root, d);
		if (t < 0)
			goto fail;
		return build_dev(own, t, d, p, m, e);
	}
	case SBX_MNT_OVERLAY:
		if (overlay_at(own, root, m, srcfd) < 0)
			goto fail;
		return 0;
	case SBX_MNT_DIR: {
		cleanup_fd int t = mkdirs_in(own, root, d, m->mode);
		if (t < 0)
			goto fail;
		return 0;
	}
	case SBX_MNT_SYMLINK:
		if (symlink_in(own, root, m->src, d) < 0)
			goto fail;
		return 0;
	case SBX_MNT_FILE: {
		cleanup_fd int t = target_in(own, root, d, true,
					     m->mode ? m->mode : 0644);
		char fdp[64];
		/* an existing file is written only on a mount of ours */
		if (t < 0 || own_check(own, t, d) < 0)
			goto fail;
		snprintf(fdp, sizeof fdp, "/proc/self/fd/%d", t);
		cleanup_fd int w = open(fdp, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (w < 0 || sbx_write_all(w, m->data, m->datalen) < 0)
			goto fail;
		return 0;
	}
	}
fail:
	if (errno == EROFS && own->refused[0]) {
		sbx_err_set(e, EROFS, "mount", "mount %s -> %s: %s is a host "
			    "directory (of the rootfs or a bind), which setup "
			    "never writes: create %s in the rootfs, or mount "
			    "a tmpfs or an overlay on %s first",
			    m->kind == SBX_MNT_BIND ? m->src
						    : sbx_mount_kind_name(m->kind),
			    d, own->refused, d, own->refused);
		return -1;
	}
	if (m->kind == SBX_MNT_BIND)
		sbx_err_set(e, errno, "mount", "mount %s -> %s", m->src, d);
	else
		sbx_err_set(e, errno, "mount", "mount %s -> %s",
			    sbx_mount_kind_name(m->kind), d);
	return -1;
}

const char *sbx_mount_kind_name(enum sbx_mount_kind k)
{
	static const char *const n[] = { "bind", "tmpfs", "proc", "dev",
					 "sysfs", "mqueue", "dir", "symlink",
					 "file", "overlay", "cgroup" };
	return (unsigned)k < sizeof n / sizeof n[0] ? n[k] : "?";
}

/* hide a path: an empty read-only tmpfs on a directory, /dev/null on a file.
 * The first of each kind is made; later ones clone it from where it is
 * attached (tmpl[0]: directory, tmpl[1]: file), which is much cheaper than
 * a new superblock or a fresh bind plus attributes each time. */
static int mask_in(int root, const char *path, int tmpl[2],
		   struct sbx_err *e)
{
	struct stat st;
	cleanup_fd int t = openat2_in(root, path, O_PATH | O_NOFOLLOW);
	cleanup_fd int m = -1;

	if (t < 0)
		return 0; /* nothing to hide */
	if (fstat(t, &st) < 0)
		goto fail;
	int k = S_ISDIR(st.st_mode) ? 0 : 1;
	if (tmpl[k] >= 0) {
		m = (int)syscall(SYS_open_tree, tmpl[k], "",
				 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					 AT_EMPTY_PATH);
	} else if (k == 0) {
		m = new_fs("tmpfs", "size=0,mode=0555",
			   MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
				   MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	} else {
		cleanup_fd int n = openat2_in(root, "/dev/null", O_PATH);
		if (n < 0) /* no /dev in the jail: use the host's */
			n = open("/dev/null", O_PATH | O_CLOEXEC);
		m = (int)syscall(SYS_open_tree, n, "",
				 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					 AT_EMPTY_PATH);
		if (m >= 0 && setattr_fd(m, MOUNT_ATTR_RDONLY |
						    MOUNT_ATTR_NOSUID |
						    MOUNT_ATTR_NOEXEC,
					 false) < 0) {
			sbx_closep(&m);
		}
	}
	if (m < 0 || attach(m, t) < 0)
		goto fail;
	if (tmpl[k] < 0) /* the mask itself, now attached at path */
		tmpl[k] = openat2_in(root, path, O_PATH | O_NOFOLLOW);
	return 0;
fail:
	sbx_err_set(e, errno, "mask", "mask %s", path);
	return -1;
}

static int readonly_in(int root, const char *path, struct sbx_err *e)
{
	cleanup_fd int t = openat2_in(root, path, O_PATH | O_NOFOLLOW);
	cleanup_fd int m = -1;
	if (t < 0)
		return 0;
	m = (int)syscall(SYS_open_tree, t, "",
			 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
				 AT_RECURSIVE);
	if (m < 0 || setattr_fd(m, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, true) < 0 ||
	    attach(m, t) < 0) {
		sbx_err_set(e, errno, "readonly", "make %s read-only", path);
		return -1;
	}
	return 0;
}

/* open every host path the plan names, while the host tree is visible */
int sbx_mount_prepare(const struct sbx_plan *p, struct sbx_jailctx *cx,
		      struct sbx_err *e)
{
	const char *root = p->rootfs ? p->rootfs : "/";

	if (syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		sbx_err_set(e, errno, "mount", "make / private");
		return -1;
	}
	sbx_trace_mark("make / private");
	cx->rootfd = (int)syscall(SYS_open_tree, AT_FDCWD, root,
				  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					  AT_RECURSIVE);
	if (cx->rootfd < 0) {
		sbx_err_set(e, errno, "rootfs", "rootfs %s", root);
		return -1;
	}
	if (p->rootfs) {
		struct stat st;
		if (fstat(cx->rootfd, &st) == 0 && !S_ISDIR(st.st_mode)) {
			sbx_err_set(e, ENOTDIR, "rootfs", "rootfs %s", root);
			return -1;
		}
	}
	/* any root, and everything below it: no device node works (the jail's
	 * devices come from its own /dev), no setuid bit */
	uint64_t ra = (p->root_readonly ? MOUNT_ATTR_RDONLY : 0) |
		      MOUNT_ATTR_NOSUID | (p->root_nodev ? MOUNT_ATTR_NODEV : 0);
	/* root_nodev = false: the root's nodes work where the host's mount
	 * had them off too (the allow-list still decides) */
	if (setattr_clr(cx->rootfd, ra, p->root_nodev ? 0 : MOUNT_ATTR_NODEV,
			true) < 0) {
		sbx_err_set(e, errno, "rootfs", "make rootfs %s %s", root,
			    p->root_readonly ? "read-only, nosuid, nodev"
					     : "nosuid, nodev");
		return -1;
	}
	for (size_t i = 0; i < p->nmounts && i < SBX_MAX_MOUNTS; i++) {
		const struct sbx_mount *m = &p->mounts[i];
		cx->srcfd[i] = -1;
		if (m->kind == SBX_MNT_OVERLAY) {
			cx->srcfd[i] = open(m->src, O_PATH | O_DIRECTORY |
							    O_CLOEXEC);
			if (cx->srcfd[i] < 0) {
				sbx_err_set(e, errno, "mount", "mount overlay %s -> %s",
					    m->src, m->dst);
				return -1;
			}
			continue;
		}
		if (m->kind != SBX_MNT_BIND)
			continue;
		cx->srcfd[i] = (int)syscall(SYS_open_tree, AT_FDCWD, m->src,
					    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
						    (m->rec ? AT_RECURSIVE : 0));
		if (cx->srcfd[i] < 0 && !(m->optional && errno == ENOENT)) {
			sbx_err_set(e, errno, "mount", "mount %s -> %s",
				    m->src, m->dst);
			return -1;
		}
	}
	sbx_trace_mark("open host paths");
	return 0;
}

/* root_mountpoints (an OCI bundle's rootfs, as runc treats it): setup may
 * create missing mount points on the root's own mount (every lookup still
 * resolved in root).  A read-only root is writable for that while the
 * table is built, its top mount only; submounts stay as prepare left them */
static int root_mountpoints_open(struct sbx_own_mounts *own, int root,
				 const struct sbx_plan *p, struct sbx_err *e)
{
	if (!p->root_mountpoints)
		return 0;
	own_add(own, root);
	if (p->root_readonly && setattr_clr(root, 0, MOUNT_ATTR_RDONLY,
					    false) < 0) {
		sbx_err_set(e, errno, "rootfs",
			    "make the root writable for its mount points");
		return -1;
	}
	return 0;
}

static int root_mountpoints_close(int root, const struct sbx_plan *p,
				  struct sbx_err *e)
{
	if (!p->root_mountpoints || !p->root_readonly)
		return 0;
	if (setattr_fd(root, MOUNT_ATTR_RDONLY, false) < 0) {
		sbx_err_set(e, errno, "rootfs", "make the root read-only again");
		return -1;
	}
	return 0;
}

/* attach the root somewhere, build the table, pivot_root (or chroot).
 * Where: over the rootfs's own path, which then shows what it showed, so
 * that until pivot_root (the OCI hooks that run before it) the host's
 * tree is whole in the jail's mount namespace; else (no rootfs of its
 * own) on a scratch directory of the host's */
int sbx_mount_build(const struct sbx_plan *p, struct sbx_jailctx *cx,
		    struct sbx_err *e)
{
	const char *stages[] = { p->rootfs, "/tmp", "/mnt", "/run", "/var/tmp" };
	cleanup_fd int stage = -1, root = -1;
	const char *sp = NULL;

	for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
		if (!stages[i] || stages[i][0] != '/' || !stages[i][1])
			continue; /* no rootfs, or "/" itself */
		stage = open(stages[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (stage >= 0) {
			sp = stages[i];
			break;
		}
	}
	if (stage < 0 || attach(cx->rootfd, stage) < 0) {
		sbx_err_set(e, errno, "rootfs", "attach the new root");
		return -1;
	}
	root = open(sp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		sbx_err_set(e, errno, "rootfs", "open the new root");
		return -1;
	}
	sbx_trace_mark("attach root");
	if (root_mountpoints_open(&cx->own, root, p, e) < 0)
		return -1;
	for (size_t i = 0; i < p->nmounts && i < SBX_MAX_MOUNTS; i++) {
		const struct sbx_mount *m = &p->mounts[i];
		if (m->kind == SBX_MNT_BIND && cx->srcfd[i] < 0)
			continue; /* optional and absent */
		if (do_mount(&cx->own, root, p, m, cx->srcfd[i], e) < 0) {
			if (m->optional)
				continue; /* e.g. no /sys in a minimal rootfs */
			return -1;
		}
		sbx_trace_mark(sbx_mount_kind_name(m->kind));
	}
	if (root_mountpoints_close(root, p, e) < 0)
		return -1;
	for (const char *const *r = p->readonly; r && *r; r++)
		if (readonly_in(root, *r, e) < 0)
			return -1;
	sbx_trace_mark("readonly paths");
	int tmpl[2] = { -1, -1 };
	for (const char *const *m = p->masked; m && *m; m++)
		if (mask_in(root, *m, tmpl, e) < 0) {
			sbx_closep(&tmpl[0]);
			sbx_closep(&tmpl[1]);
			return -1;
		}
	sbx_closep(&tmpl[0]);
	sbx_closep(&tmpl[1]);
	sbx_trace_mark("masks");
	if (p->pause_before_root && sbx_init_pause(cx->sock, e) < 0)
		return -1;
	if (fchdir(root) < 0) {
		sbx_err_set(e, errno, "pivot_root", "chdir to the new root");
		return -1;
	}
	if (p->root_switch == SBX_ROOT_CHROOT) {
		if (chroot(".") < 0) {
			sbx_err_set(e, errno, "chroot", "chroot");
			return -1;
		}
	} else {
		/* pivot_root(".", "."): the old root lands on top of the new
		 * one and is detached at once: never reachable */
		if (syscall(SYS_pivot_root, ".", ".") < 0) {
			sbx_err_set(e, errno, "pivot_root", "pivot_root");
			return -1;
		}
		if (umount_detach(".") < 0) {
			sbx_err_set(e, errno, "pivot_root",
				    "detach the old root");
			return -1;
		}
	}
	if (chdir("/") < 0) {
		sbx_err_set(e, errno, "pivot_root", "chdir /");
		return -1;
	}
	sbx_trace_mark("pivot_root");
	return 0;
}
