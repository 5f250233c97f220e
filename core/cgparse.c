/* Parsers of cgroup and mount files (cgparse.h): pure, over buffers. */
#include "cgparse.h"
#include <string.h>

/* a decimal count without sign, spaces or leading zeros; -1 if not one
 * or above INT64_MAX */
static int64_t count_of(const char *s, size_t n)
{
	int64_t v = 0;
	if (n == 0 || n > 19 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		int d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	return v;
}

int sbx_parse_pids(char *buf, int (*fn)(pid_t pid, void *arg), void *arg)
{
	int n = 0;
	for (char *l = buf; *l;) {
		char *nl = strchr(l, '\n');
		if (!nl)
			break; /* no newline: not a whole line */
		int64_t v = count_of(l, (size_t)(nl - l));
		if (v >= 1 && v <= SBX_PID_MAX) {
			if (fn((pid_t)v, arg) < 0)
				return -1;
			n++;
		}
		l = nl + 1;
	}
	return n;
}

int64_t sbx_parse_count(const char *buf)
{
	size_t n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	return count_of(buf, n);
}

void sbx_parse_keys(char *buf, const struct sbx_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*kv[i].val = -1;
	for (char *l = buf; *l;) {
		char *nl = strchr(l, '\n');
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);
		char *sp = memchr(l, ' ', ll);
		if (sp) {
			size_t kl = (size_t)(sp - l);
			for (size_t i = 0; i < n; i++)
				if (strlen(kv[i].key) == kl &&
				    !memcmp(l, kv[i].key, kl))
					*kv[i].val = count_of(sp + 1, ll - kl - 1);
		}
		if (!nl)
			break;
		l = nl + 1;
	}
}

/* "12.34": 1234; exactly two decimals, as the kernel prints them */
static int64_t hundredths_of(const char *s, size_t n)
{
	if (n < 4 || s[n - 3] != '.')
		return -1;
	const char *f = s + n - 2;
	int64_t whole = count_of(s, n - 3);
	if (whole < 0 || whole > INT64_MAX / 100 - 1 || f[0] < '0' ||
	    f[0] > '9' || f[1] < '0' || f[1] > '9')
		return -1;
	return whole * 100 + (f[0] - '0') * 10 + (f[1] - '0');
}

static void psi_line(const char *l, size_t ll, struct sbx_psi *p)
{
	static const char *const keys[] = { "avg10=", "avg60=", "avg300=",
					    "total=" };
	int64_t *vals[] = { &p->avg10, &p->avg60, &p->avg300, &p->total };
	for (size_t i = 0; i < ll;) {
		size_t s = i;
		while (i < ll && l[i] != ' ')
			i++;
		for (int k = 0; k < 4; k++) {
			size_t kl = strlen(keys[k]);
			if (i - s > kl && !memcmp(l + s, keys[k], kl))
				*vals[k] = k == 3 ? count_of(l + s + kl, i - s - kl)
						  : hundredths_of(l + s + kl,
								  i - s - kl);
		}
		i++;
	}
}

void sbx_parse_psi(char *buf, struct sbx_psi *some, struct sbx_psi *full)
{
	struct sbx_psi none = { -1, -1, -1, -1 };
	*some = none;
	*full = none;
	for (char *l = buf; *l;) {
		char *nl = strchr(l, '\n');
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);
		if (ll > 5 && !memcmp(l, "some ", 5))
			psi_line(l + 5, ll - 5, some);
		else if (ll > 5 && !memcmp(l, "full ", 5))
			psi_line(l + 5, ll - 5, full);
		if (!nl)
			break;
		l = nl + 1;
	}
}

/* the n-th space-separated field of a line (0-based), its length in *fl */
static const char *field(const char *l, size_t ll, int n, size_t *fl)
{
	size_t i = 0;
	for (int f = 0;; f++) {
		size_t s = i;
		while (i < ll && l[i] != ' ')
			i++;
		if (f == n) {
			*fl = i - s;
			return l + s;
		}
		if (i >= ll)
			return NULL;
		i++;
	}
}

/* mountinfo's escapes: \ooo for space, tab, newline and backslash */
static int unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\') {
			if (n - i < 4 || s[i + 1] < '0' || s[i + 1] > '3' ||
			    s[i + 2] < '0' || s[i + 2] > '7' ||
			    s[i + 3] < '0' || s[i + 3] > '7')
				return -1;
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
				   (s[i + 3] - '0'));
			if (c == '\0')
				return -1;
			i += 3;
		}
		if (o + 1 >= len)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int sbx_parse_mountinfo_cgroup2(char *buf, char *out, size_t len)
{
	int found = -1;
	for (char *l = buf; *l;) {
		char *nl = strchr(l, '\n');
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);
		/* id parent maj:min root mountpoint opts [tags...] - fstype src sopts */
		const char *sep = NULL;
		for (size_t i = 0; i + 3 <= ll; i++)
			if (!memcmp(l + i, " - ", 3)) {
				sep = l + i;
				break;
			}
		size_t ml = 0;
		const char *mnt = field(l, ll, 4, &ml);
		if (sep && nl && ll - (size_t)(sep + 3 - l) >= 8 &&
		    !memcmp(sep + 3, "cgroup2 ", 8) && mnt && mnt < sep &&
		    ml > 0 && mnt[0] == '/') {
			char tmp[4096];
			if (unescape(mnt, ml, tmp, sizeof tmp) == 0 &&
			    strlen(tmp) < len) {
				memcpy(out, tmp, strlen(tmp) + 1);
				found = 0; /* keep the last: it shadows earlier */
			}
		}
		if (!nl)
			break; /* a line cut short is not taken */
		l = nl + 1;
	}
	return found;
}

bool sbx_parse_mountinfo_has_opt(char *buf, const char *mnt, const char *opt)
{
	bool has = false;
	size_t ol = strlen(opt);
	for (char *l = buf; *l;) {
		char *nl = strchr(l, '\n');
		if (!nl)
			break;
		size_t ll = (size_t)(nl - l), ml = 0;
		const char *sep = NULL;
		for (size_t i = 0; i + 3 <= ll; i++)
			if (!memcmp(l + i, " - ", 3)) {
				sep = l + i;
				break;
			}
		const char *m = field(l, ll, 4, &ml);
		char tmp[4096];
		if (sep && ll - (size_t)(sep + 3 - l) >= 8 &&
		    !memcmp(sep + 3, "cgroup2 ", 8) && m && m < sep &&
		    unescape(m, ml, tmp, sizeof tmp) == 0 && !strcmp(tmp, mnt)) {
			/* "cgroup2 SOURCE OPTS": the options are field 2 */
			size_t rl = ll - (size_t)(sep + 3 - l), fl = 0;
			const char *opts = field(sep + 3, rl, 2, &fl);
			has = false; /* the last mount there counts */
			for (size_t i = 0; opts && i + ol <= fl; i++)
				if ((i == 0 || opts[i - 1] == ',') &&
				    !memcmp(opts + i, opt, ol) &&
				    (i + ol == fl || opts[i + ol] == ','))
					has = true;
		}
		l = nl + 1;
	}
	return has;
}

int sbx_parse_own_cgroup(char *buf, char *out, size_t len)
{
	for (char *l = buf; *l;) {
		char *nl = strchr(l, '\n');
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);
		if (ll >= 4 && !memcmp(l, "0::/", 4)) {
			if (ll - 3 >= len)
				return -1;
			memcpy(out, l + 3, ll - 3);
			out[ll - 3] = '\0';
			return 0;
		}
		if (!nl)
			break;
		l = nl + 1;
	}
	return -1;
}

bool sbx_parse_v1_holds(char *buf, const char *controller)
{
	size_t cl = strlen(controller);
	for (char *l = buf; *l;) {
		char *nl = strchr(l, '\n');
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);
		/* id:controller,controller:path */
		char *a = memchr(l, ':', ll);
		char *b = a ? memchr(a + 1, ':', ll - (size_t)(a + 1 - l)) : NULL;
		for (char *c = a ? a + 1 : NULL; c && c < b;) {
			char *comma = memchr(c, ',', (size_t)(b - c));
			char *end = comma ? comma : b;
			if ((size_t)(end - c) == cl && !memcmp(c, controller, cl))
				return true;
			c = comma ? comma + 1 : NULL;
		}
		if (!nl)
			break;
		l = nl + 1;
	}
	return false;
}

bool sbx_parse_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	if (n == 0)
		return false;
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == '\n') &&
		    (p[n] == ' ' || !p[n] || p[n] == '\n'))
			return true;
	return false;
}

static void iostat_line(const char *l, size_t ll, struct sbx_iostat *s)
{
	static const char *const keys[] = { "rbytes=", "wbytes=", "rios=",
					    "wios=", "dbytes=", "dios=" };
	int64_t *vals[] = { &s->rbytes, &s->wbytes, &s->rios, &s->wios,
			    &s->dbytes, &s->dios };
	for (int k = 0; k < 6; k++)
		*vals[k] = -1;
	for (size_t i = 0; i < ll;) {
		size_t st = i;
		while (i < ll && l[i] != ' ')
			i++;
		for (int k = 0; k < 6; k++) {
			size_t kl = strlen(keys[k]);
			if (i - st > kl && !memcmp(l + st, keys[k], kl))
				*vals[k] = count_of(l + st + kl, i - st - kl);
		}
		i++;
	}
}

size_t sbx_parse_iostat(char *buf, struct sbx_iostat *out, size_t max)
{
	size_t n = 0;
	for (char *l = buf; *l && n < max;) {
		char *nl = strchr(l, '\n');
		size_t ll = nl ? (size_t)(nl - l) : strlen(l);
		char *sp = memchr(l, ' ', ll);
		size_t dl = sp ? (size_t)(sp - l) : ll;
		char *colon = memchr(l, ':', dl);
		int64_t ma = colon ? count_of(l, (size_t)(colon - l)) : -1;
		int64_t mi = colon ? count_of(colon + 1, dl - (size_t)(colon + 1 - l))
				   : -1;
		/* the kernel's dev_t: 12-bit major, 20-bit minor */
		if (ma >= 0 && ma < 4096 && mi >= 0 && mi < (1 << 20)) {
			out[n].major = (uint32_t)ma;
			out[n].minor = (uint32_t)mi;
			iostat_line(l + dl, ll - dl, &out[n]);
			n++;
		}
		if (!nl)
			break;
		l = nl + 1;
	}
	return n;
}

static const char *const ctl_names[SBX_CTL_N] = {
	"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"
};

const char *sbx_ctl_name(int c)
{
	return c >= 0 && c < SBX_CTL_N ? ctl_names[c] : NULL;
}

uint32_t sbx_ctl_parse(const char *words)
{
	uint32_t set = 0;
	for (int c = 0; c < SBX_CTL_N; c++)
		if (sbx_parse_has_word(words, ctl_names[c]))
			set |= SBX_CTL_BIT(c);
	return set;
}

int sbx_ctl_of_file(const char *file)
{
	const char *dot = strchr(file, '.');
	size_t n = dot ? (size_t)(dot - file) : 0;
	for (int c = 0; c < SBX_CTL_N && n; c++)
		if (strlen(ctl_names[c]) == n && !memcmp(file, ctl_names[c], n))
			return c;
	return -1;
}

void sbx_ctl_format(uint32_t set, char *out, size_t len)
{
	size_t o = 0;
	if (!len)
		return;
	out[0] = '\0';
	for (int c = 0; c < SBX_CTL_N; c++) {
		size_t l = strlen(ctl_names[c]);
		if (!(set & SBX_CTL_BIT(c)) || o + l + (o > 0) >= len)
			continue;
		if (o)
			out[o++] = ' ';
		memcpy(out + o, ctl_names[c], l + 1);
		o += l;
	}
}
