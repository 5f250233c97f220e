/* Capability names (host side): "net_bind_service" -> 10, through the
 * table in priv.c and, for names newer than it, libcap's cap_from_name. */
#include "sbx.h"

#include <string.h>
#include <strings.h>
#include <sys/capability.h>

int sbx_cap_from_name(const char *name)
{
	const char *n = name;
	cap_value_t v;

	if (!name || !*name)
		return -1;
	if (strncasecmp(n, "cap_", 4) == 0)
		n += 4;
	for (int i = 0; i <= sbx_cap_last(); i++)
		if (strcasecmp(n, sbx_cap_name(i)) == 0)
			return i;
	/* a name libcap knows but this table does not (newer libcap) */
	char low[64] = "cap_";
	size_t len = strlen(n);
	if (len == 0 || len >= sizeof low - 4)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_'))
			return -1; /* no numbers: cap_from_name takes them */
		low[4 + i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	low[4 + len] = '\0';
	if (cap_from_name(low, &v) == 0 && v >= 0 && v <= 63)
		return (int)v;
	return -1;
}
