/* wrap_unit.c - turn a per-unit harness input into a whole state file:
 *
 *   wrap_unit TEMPLATE UNIT PAYLOAD OUT
 *
 * OUT is TEMPLATE (a state file) with UNIT's payload replaced by the bytes
 * of PAYLOAD, same unit version: a regression input for the restore
 * harness (tests/fuzz/regress/restore/) from a finding of the UNIT one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_common.h"

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *buf = malloc(64u << 20);

	if (!f || !buf) {
		perror(path);
		exit(1);
	}
	*len = fread(buf, 1, 64u << 20, f);
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	struct fz_unit u[FZ_MAX_UNITS];
	size_t tlen, plen, n, out_len, i;
	void *tmpl, *payload, *out;

	if (argc != 5) {
		fprintf(stderr, "usage: wrap_unit TEMPLATE UNIT PAYLOAD OUT\n");
		return 2;
	}
	tmpl = slurp(argv[1], &tlen);
	payload = slurp(argv[3], &plen);
	n = fz_split(tmpl, tlen, u, FZ_MAX_UNITS);
	for (i = 0; i < n && strcmp(u[i].name, argv[2]); i++)
		;
	if (i == n) {
		fprintf(stderr, "wrap_unit: %s has no unit '%s'\n", argv[1], argv[2]);
		return 1;
	}
	u[i].data = payload;
	u[i].len = plen;
	if (fz_join(u, n, &out, &out_len)) {
		fprintf(stderr, "wrap_unit: cannot write the file\n");
		return 1;
	}
	fz_write_file(argv[4], out, out_len);
	free(out);
	fz_units_free(u, n);
	free(tmpl);
	free(payload);
	return 0;
}
