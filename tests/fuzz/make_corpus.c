/* make_corpus.c - writes seed state files for the fuzzer into DIR. */
#include <stdio.h>
#include <string.h>

#include "ssm/ssm.h"

static int save_exec(void *ctx, ssm_handle *h)
{
	static uint8_t page[8192];
	int rc;

	(void)ctx;
	memset(page + 4096, 0x5a, 4096);
	/* Text rather than one byte: both codecs produce real matches and
	 * literals for the fuzzer to mutate. */
	for (int i = 0; i < 2048; i++)
		page[4096 + i] = (uint8_t)"record zero page unit state "[(i * 7 + i / 29) % 28];
	rc = ssm_put_u32(h, 100);
	if (!rc)
		rc = ssm_put_mem(h, page, 100);
	if (!rc)
		rc = ssm_put_str(h, "seed");
	if (!rc)
		rc = ssm_put_mem(h, page, sizeof(page));
	return rc;
}

int main(int argc, char **argv)
{
	static const ssm_callbacks cb = { .save_exec = save_exec };

	if (argc != 2) {
		fprintf(stderr, "usage: make_corpus DIR\n");
		return 2;
	}
	/* seed0: RAW and ZERO records, seed1: ZLIB, seed2: ZSTD. */
	for (int level = 0; level <= 2; level++) {
		char path[4096];
		ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .compression = level ? 1 : 0,
				    .codec = level == 2 ? SSM_CODEC_ZSTD : SSM_CODEC_ZLIB };
		ssm_stream st;
		ssm *s = ssm_create(NULL);
		int rc;

		snprintf(path, sizeof(path), "%s/seed%d.sav", argv[1], level);
		ssm_register_external(s, "a", 0, 1, 0, NULL, 0, &cb, NULL);
		ssm_register_external(s, "b", 1, 1, 0, NULL, SSM_UNIT_OPTIONAL, &cb, NULL);
		rc = ssm_stream_file_create(&st, path);
		if (!rc)
			rc = ssm_save(s, st, &o);
		ssm_destroy(s);
		if (rc) {
			fprintf(stderr, "make_corpus: %s: %s\n", path, ssm_strerror(rc));
			return 1;
		}
	}
	return 0;
}
