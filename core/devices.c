/* Host side: the device allow-list, the cgroup v2 way.  A small eBPF
 * program of type BPF_PROG_TYPE_CGROUP_DEVICE, made from the plan's rules
 * and attached to the jail's leaf before the jail exists, answers every
 * open and mknod of a device node by anyone in the jail: allowed only when
 * a rule matches its type, numbers and access.  The kernel asks it even for
 * a root with CAP_MKNOD and a node on a mount without nodev.
 *
 * The program, for rules r1..rn:
 *   r2 = type (ctx->access_type & 0xffff), r3 = access (>> 16),
 *   r4 = ctx->major, r5 = ctx->minor
 *   for each rule: type, access (access & ~allowed must be 0), major,
 *                  minor (unless "any") -> return 1
 *   return 0 */
#include "jail.h"
#include "util.h"
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_INSNS (8 + 10 * SBX_MAX_DEVICES)

struct prog { struct bpf_insn i[MAX_INSNS]; size_t n; };

/* registers are 4-bit fields, which -Wconversion cannot see as safe */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src,
		 int16_t off, int32_t imm)
{
	struct bpf_insn in = { .code = code, .dst_reg = dst, .src_reg = src,
			       .off = off, .imm = imm };
	p->i[p->n++] = in;
}
#pragma GCC diagnostic pop

/* jump to the end of this rule's block (patched once its size is known) */
static size_t jne(struct prog *p, uint8_t reg, int32_t imm)
{
	emit(p, BPF_JMP | BPF_JNE | BPF_K, reg, 0, 0, imm);
	return p->n - 1;
}

static void build(struct prog *p, const struct sbx_device *d, size_t n)
{
	p->n = 0;
	/* r2 = type, r3 = access, r4 = major, r5 = minor */
	emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
	emit(p, BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0);
	emit(p, BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
	emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0);
	emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0);
	for (size_t k = 0; k < n; k++) {
		size_t jumps[4], nj = 0;
		if (d[k].type != 'a')
			jumps[nj++] = jne(p, BPF_REG_2, d[k].type == 'b'
				? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
		/* r6 = access the rule does not grant: must be none */
		emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_3, 0, 0);
		emit(p, BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_6, 0, 0,
		     (int32_t)(~d[k].access & 7));
		jumps[nj++] = jne(p, BPF_REG_6, 0);
		if (d[k].major >= 0)
			jumps[nj++] = jne(p, BPF_REG_4, (int32_t)d[k].major);
		if (d[k].minor >= 0)
			jumps[nj++] = jne(p, BPF_REG_5, (int32_t)d[k].minor);
		emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
		emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		for (size_t x = 0; x < nj; x++)
			p->i[jumps[x]].off = (int16_t)(p->n - jumps[x] - 1);
	}
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* load: retried on EAGAIN (the verifier gives up when a signal is pending,
 * as libbpf knows); the verifier's log only to explain a failure */
static int load(const struct prog *p, struct sbx_err *e)
{
	union bpf_attr a;
	char log[512] = "";
	int fd = -1;

	for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
		for (int tries = 0; tries < 8; tries++) {
			memset(&a, 0, sizeof a);
			a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
			a.insns = (uint64_t)(uintptr_t)p->i;
			a.insn_cnt = (uint32_t)p->n;
			a.license = (uint64_t)(uintptr_t)"GPL";
			if (attempt) {
				a.log_buf = (uint64_t)(uintptr_t)log;
				a.log_size = sizeof log;
				a.log_level = 1;
			}
			snprintf(a.prog_name, sizeof a.prog_name, "sbx_devices");
			fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
			if (fd >= 0 || errno != EAGAIN)
				break;
		}
		if (fd < 0 && (errno == EPERM || errno == EAGAIN))
			break; /* no log will say more */
	}
	if (fd < 0) {
		int err = errno == ENOSPC ? EINVAL : errno;
		char *nl = strchr(log, '\n');
		if (nl)
			*nl = '\0';
		sbx_err_set(e, err, "devices", "load the device allow-list "
			    "(BPF_PROG_TYPE_CGROUP_DEVICE)%s%.200s",
			    log[0] ? ": " : "", log);
	}
	return fd;
}

/* the program of these rules: loaded once per spawning context */
static int program(struct sbx_ctx *c, const struct sbx_device *d, size_t n,
		   struct sbx_err *e)
{
	struct prog p;
	build(&p, d, n);
	size_t bytes = p.n * sizeof *p.i;
	for (size_t i = 0; i < SBX_CTX_CACHE; i++)
		if (c->devprog[i].fd >= 0 && c->devprog[i].len == bytes &&
		    !memcmp(c->devprog[i].insns, p.i, bytes))
			return c->devprog[i].fd;
	int fd = load(&p, e);
	if (fd < 0)
		return -1;
	struct sbx_cached_prog *slot = &c->devprog[c->devprog_next++ % SBX_CTX_CACHE];
	void *copy = malloc(bytes);
	if (!copy) /* uncached: closed by the caller */
		return fd;
	if (slot->fd >= 0)
		close(slot->fd);
	free(slot->insns);
	slot->fd = fd;
	slot->insns = copy;
	memcpy(copy, p.i, bytes);
	slot->len = bytes;
	return fd;
}

int sbx_devices_attach(struct sbx_ctx *c, struct sbx_cgroup *cg,
		       const struct sbx_device *d, size_t n, struct sbx_err *e)
{
	union bpf_attr a;

	if (n > SBX_MAX_DEVICES) {
		sbx_err_set(e, E2BIG, "devices", "more than %d device rules",
			    SBX_MAX_DEVICES);
		return -1;
	}
	int fd = program(c, d, n, e);
	if (fd < 0)
		return -1;
	bool cached = false;
	for (size_t i = 0; i < SBX_CTX_CACHE; i++)
		cached |= c->devprog[i].fd == fd;
	memset(&a, 0, sizeof a);
	a.target_fd = (uint32_t)cg->dirfd;
	a.attach_bpf_fd = (uint32_t)fd;
	a.attach_type = BPF_CGROUP_DEVICE;
	/* programs of the parents (systemd's, a caller's) still run too */
	a.attach_flags = BPF_F_ALLOW_MULTI;
	int r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof a);
	int err = errno;
	if (!cached)
		close(fd);
	if (r < 0) {
		sbx_err_set(e, err, "devices", "attach the device allow-list "
			    "to %s%s", cg->path, err == EPERM ?
			    " (a parent's device program forbids sub-programs)"
			    : "");
		return -1;
	}
	return 0;
}
