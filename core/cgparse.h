/* Parsers of the kernel's cgroup and mount files, over a buffer already
 * read whole (no I/O: fuzz/cg_parse.c drives each one). Every input is
 * hostile until parsed: a line cut short, a number out of range or an
 * unknown form is skipped, never half taken. */
#ifndef SBX_CGPARSE_H
#define SBX_CGPARSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* the kernel's own bound on pid_max (PID_MAX_LIMIT, 64-bit) */
#define SBX_PID_MAX 4194304

/* cgroup.procs: fn(pid) for each whole line that is a pid in
 * 1..SBX_PID_MAX; a last line without its newline is not whole. Returns
 * the number of pids, or -1 when fn did. Writes into buf. */
int sbx_parse_pids(char *buf, int (*fn)(pid_t pid, void *arg), void *arg);

/* one number: "123" or "123\n" (memory.current, pids.current); -1 else */
int64_t sbx_parse_count(const char *buf);

/* flat-keyed files ("key value" lines: memory.events, cpu.stat): each
 * key asked for gets its value, or -1 where absent or not a count */
struct sbx_kv { const char *key; int64_t *val; };
void sbx_parse_keys(char *buf, const struct sbx_kv *kv, size_t n);

/* a pressure file (cpu/memory/io.pressure): "some avg10=1.23 avg60=...
 * avg300=... total=N" and the same for "full".  Averages come in
 * hundredths of a percent (the kernel prints two decimals), total in
 * microseconds; -1 for what is absent or malformed. */
struct sbx_psi { int64_t avg10, avg60, avg300, total; };
void sbx_parse_psi(char *buf, struct sbx_psi *some, struct sbx_psi *full);

/* /proc/self/mountinfo: the mount point of the last cgroup2 mount (a
 * later one shadows earlier ones), octal escapes (\040) decoded; -1
 * when there is none or it does not fit in out */
int sbx_parse_mountinfo_cgroup2(char *buf, char *out, size_t len);

/* /proc/self/mountinfo: whether the last cgroup2 mount at mnt has this
 * super option (e.g. "nsdelegate") */
bool sbx_parse_mountinfo_has_opt(char *buf, const char *mnt, const char *opt);

/* /proc/self/cgroup: the v2 path ("0::/a/b"); -1 when absent or too long */
int sbx_parse_own_cgroup(char *buf, char *out, size_t len);
/* /proc/self/cgroup: whether a v1 hierarchy holds the controller */
bool sbx_parse_v1_holds(char *buf, const char *controller);
/* a space-separated word list (cgroup.controllers) has this word */
bool sbx_parse_has_word(const char *list, const char *word);

/* io.stat: a line per device, "MAJ:MIN rbytes=N wbytes=N rios=N wios=N
 * dbytes=N dios=N" (keys in any order, unknown ones ignored, an absent
 * or malformed one -1); a line whose device is malformed is skipped (the
 * last line may lack its newline: sbx_read_at strips it).  Returns how
 * many devices (up to max) were stored. */
struct sbx_iostat {
	uint32_t major, minor;
	int64_t rbytes, wbytes, rios, wios, dbytes, dios;
};
size_t sbx_parse_iostat(char *buf, struct sbx_iostat *out, size_t max);

/* cgroup v2 controllers as a bit set (bit n = enum sbx_ctl n) */
enum sbx_ctl { SBX_CTL_CPUSET, SBX_CTL_CPU, SBX_CTL_IO, SBX_CTL_MEMORY,
	       SBX_CTL_HUGETLB, SBX_CTL_PIDS, SBX_CTL_RDMA, SBX_CTL_MISC,
	       SBX_CTL_N };
#define SBX_CTL_BIT(c) (1u << (c))
const char *sbx_ctl_name(int c);            /* NULL when out of range */
/* the words of a list ("memory pids\n") that name a controller */
uint32_t sbx_ctl_parse(const char *words);
/* the controller a cgroup file belongs to ("cpuset.cpus" -> CPUSET);
 * -1 for the core's own files (cgroup.*) and unknown prefixes */
int sbx_ctl_of_file(const char *file);
/* "cpu memory pids" (the kernel's order); "" for the empty set */
void sbx_ctl_format(uint32_t set, char *out, size_t len);
#endif
