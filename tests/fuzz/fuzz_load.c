/* fuzz_load.c - libFuzzer harness: any byte string given to ssm_validate,
 * ssm_load and ssm_open+ssm_seek must give SSM_OK or a clean error, never a
 * crash, hang, leak or out-of-bounds access. */
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	uint8_t buf[256];
};

static int load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct sink *s = ctx;
	uint32_t n;
	char str[32];
	int rc;

	(void)version;
	(void)pass;
	rc = ssm_get_u32(h, &n);
	if (!rc)
		rc = ssm_get_mem(h, s->buf, n % sizeof(s->buf));
	if (!rc)
		rc = ssm_get_str(h, str, sizeof(str), NULL);
	if (!rc)
		rc = ssm_skip_to_end(h);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ssm_callbacks cb = { .load_exec = load_exec };
	struct sink sk;
	ssm_stream st;
	ssm_handle *h = NULL;
	ssm *s;
	char msg[256];

	if (ssm_stream_mem_reader(&st, data, size) == SSM_OK)
		ssm_validate(st, msg, sizeof(msg));

	s = ssm_create(NULL);
	if (!s)
		return 0;
	ssm_register_external(s, "a", 0, 1, 0, NULL, 0, &cb, &sk);
	ssm_register_external(s, "b", 1, 1, 0, NULL, 0, &cb, &sk);
	if (ssm_stream_mem_reader(&st, data, size) == SSM_OK) {
		ssm_load_opts lo = { SSM_LOAD_OPTS_INIT, .skip_unknown = size & 1 };

		ssm_load(s, st, &lo);
	}
	ssm_destroy(s);

	if (ssm_stream_mem_reader(&st, data, size) == SSM_OK && ssm_open(st, &h) == SSM_OK) {
		uint8_t b[64];

		if (ssm_seek(h, "a", 0, NULL) == SSM_OK)
			ssm_get_mem(h, b, sizeof(b));
	}
	ssm_close(h);
	return 0;
}
