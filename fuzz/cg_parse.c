/* libFuzzer target: the parsers of cgroup and mount files (core/cgparse.c).
 * The first byte picks the parser (and an output size); the rest is the
 * file, in a buffer of exactly its size, so ASan sees any overread.
 * Oracles: a pid taken is a whole line of the input and in range; a count
 * is the input's own digits; a path fits its buffer and is absolute. */
#include "../core/cgparse.h"
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

struct seen { const char *orig; size_t n; int count; };

/* the pid must be a line of the original input, newline-terminated */
static int check_pid(pid_t pid, void *arg)
{
	struct seen *s = arg;
	char line[16];
	int l = snprintf(line, sizeof line, "%d\n", (int)pid);
	assert(pid >= 1 && pid <= SBX_PID_MAX);
	bool found = false;
	for (size_t i = 0; i + (size_t)l <= s->n && !found; i++)
		found = (i == 0 || s->orig[i - 1] == '\n') &&
			!memcmp(s->orig + i, line, (size_t)l);
	assert(found);
	s->count++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 1)
		return 0;
	unsigned sel = d[0];
	size_t len = n - 1;
	char *buf = malloc(len + 1), *orig = malloc(len + 1);
	memcpy(buf, d + 1, len);
	buf[len] = '\0';
	memcpy(orig, buf, len + 1);
	size_t olen = 1 + (sel >> 3) * 8; /* 1..249: also too small */
	char *out = malloc(olen);

	switch (sel % 9) {
	case 0: {
		struct seen s = { orig, strlen(orig), 0 };
		int got = sbx_parse_pids(buf, check_pid, &s);
		assert(got == s.count);
		break;
	}
	case 1: {
		int64_t v = sbx_parse_count(buf);
		if (v >= 0) {
			char t[24];
			snprintf(t, sizeof t, "%" PRId64, v);
			size_t tl = strlen(t);
			assert(!strncmp(orig, t, tl) &&
			       (orig[tl] == '\0' || !strcmp(orig + tl, "\n")));
		}
		break;
	}
	case 2: {
		int64_t a, b, c;
		struct sbx_kv kv[] = { { "max", &a }, { "oom_kill", &b },
				       { "usage_usec", &c } };
		sbx_parse_keys(buf, kv, 3);
		assert(a >= -1 && b >= -1 && c >= -1);
		break;
	}
	case 3:
		if (sbx_parse_mountinfo_cgroup2(buf, out, olen) == 0) {
			assert(strlen(out) < olen && out[0] == '/');
		}
		break;
	case 4:
		if (sbx_parse_own_cgroup(buf, out, olen) == 0)
			assert(strlen(out) < olen && out[0] == '/');
		break;
	case 6: {
		struct sbx_psi p[2];
		sbx_parse_psi(buf, &p[0], &p[1]);
		for (int k = 0; k < 2; k++) {
			assert(p[k].avg10 >= -1 && p[k].avg60 >= -1 &&
			       p[k].avg300 >= -1 && p[k].total >= -1);
			/* an average was read from "N.NN" in the input */
			if (p[k].avg10 >= 0) {
				char t[32];
				snprintf(t, sizeof t, "avg10=%" PRId64 ".%02" PRId64,
					 p[k].avg10 / 100, p[k].avg10 % 100);
				assert(strstr(orig, t));
			}
		}
		break;
	}
	case 7: {
		struct sbx_iostat io[4];
		size_t k = sbx_parse_iostat(buf, io, 4);
		assert(k <= 4);
		for (size_t i = 0; i < k; i++) {
			/* a device taken is a whole line's start */
			char t[32];
			int tl = snprintf(t, sizeof t, "%u:%u", io[i].major,
					  io[i].minor);
			assert(io[i].major < 4096 && io[i].minor < (1u << 20));
			assert(!strncmp(orig, t, (size_t)tl) ||
			       strstr(orig, t));
			assert(io[i].rbytes >= -1 && io[i].wbytes >= -1 &&
			       io[i].dios >= -1);
		}
		break;
	}
	case 8: {
		/* a set formats to words that parse back to the same set */
		uint32_t set = sbx_ctl_parse(buf);
		char words[128];
		sbx_ctl_format(set, words, sizeof words);
		assert(sbx_ctl_parse(words) == set);
		int c = sbx_ctl_of_file(buf);
		assert(c >= -1 && c < SBX_CTL_N);
		if (c >= 0)
			assert(!strncmp(buf, sbx_ctl_name(c),
					strlen(sbx_ctl_name(c))));
		break;
	}
	default: {
		/* the word: the input's first line; the list: the rest */
		char *nl = strchr(buf, '\n');
		if (nl) {
			*nl = '\0';
			(void)sbx_parse_has_word(nl + 1, buf);
			(void)sbx_parse_v1_holds(nl + 1, buf);
		}
		break;
	}
	}
	free(out);
	free(orig);
	free(buf);
	return 0;
}
