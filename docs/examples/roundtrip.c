/* roundtrip.c - save a struct through a field table and load it back.
 * Build against the installed library:
 *   cc roundtrip.c $(pkg-config --cflags --libs ssm) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ssm/ssm.h>

struct counter { uint32_t ticks; uint16_t port; bool armed; uint64_t base; };

static const ssm_field counter_fields[] = {
	SSM_FIELD(struct counter, ticks), SSM_FIELD(struct counter, port),
	SSM_FIELD(struct counter, armed), SSM_FIELD_GCPHYS(struct counter, base),
	SSM_FIELD_TERM()
};

static int save_exec(void *ctx, ssm_handle *h)
{
	return ssm_put_struct(h, ctx, sizeof(struct counter), 0, counter_fields, NULL);
}

static int load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	(void)pass;
	int rc = ssm_check_unit_version(h, "counter", version, 1, 1);
	return rc ? rc : ssm_get_struct(h, ctx, sizeof(struct counter), 0, counter_fields, NULL);
}

int main(void)
{
	struct counter c = { .ticks = 123456, .port = 0x3f8, .armed = true, .base = 1u << 20 };
	struct counter saved = c;
	const ssm_callbacks cb = { .save_exec = save_exec, .load_exec = load_exec };
	ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .compression = 1 };
	ssm *s = ssm_create(NULL);
	ssm_stream st;
	void *buf = NULL;
	size_t len = 0;
	int rc = s ? ssm_register_external(s, "counter", 0, 1, sizeof c, NULL, 0, &cb, &c)
		   : SSM_ERR_NOMEM;

	if (!rc && !(rc = ssm_stream_mem_sink(&st, &buf, &len)) && !(rc = ssm_save(s, st, &so))) {
		memset(&c, 0, sizeof c);   /* the load must bring every field back */
		if (!(rc = ssm_stream_mem_reader(&st, buf, len)))
			rc = ssm_load(s, st, NULL);
	}
	if (!rc && (c.ticks != saved.ticks || c.port != saved.port || c.armed != saved.armed ||
		    c.base != saved.base))
		rc = SSM_ERR_LOAD_VALUE;
	if (rc)
		fprintf(stderr, "roundtrip: %s (%s)\n", ssm_strerror(rc), s ? ssm_last_error(s) : "");
	else
		printf("roundtrip: %zu-byte state file saved and loaded back intact\n", len);
	free(buf);
	ssm_destroy(s);
	return rc ? 1 : 0;
}
