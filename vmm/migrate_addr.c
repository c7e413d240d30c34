/* migrate_addr.c - the tcp:HOST:PORT and tls:HOST:PORT syntax of --migrate and --incoming,
 * apart from migrate.c so the command line can be checked (and tested)
 * without the rest of the VMM. */
#include <stdlib.h>
#include <string.h>

#include "vmm/migrate.h"

int migrate_parse_addr(const char *spec, char **buf, const char **host, const char **port)
{
	char *colon;

	*buf = NULL;
	if (strncmp(spec, "tcp:", 4) && strncmp(spec, "tls:", 4))
		return -1;
	*buf = strdup(spec + 4);
	if (!*buf)
		return -1;
	colon = strrchr(*buf, ':');
	if (!colon || colon == *buf || !colon[1]) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	*colon = 0;
	*host = *buf;
	*port = colon + 1;
	return 0;
}

bool migrate_addr_is_tls(const char *spec)
{
	return spec && !strncmp(spec, "tls:", 4);
}
