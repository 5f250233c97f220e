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
