/* recompress.c - write a copy of a non-live state file, saved again.
 *
 * Each unit's decoded bytes are read with the public API and saved again,
 * unchanged, by a stand-in unit of the same name, instance, version and
 * flags, at zlib level LEVEL: a loader sees the same data, carried in
 * compressed records.  make-golden.sh made the compressed golden file with
 * it (vmm has no compression switch).  With UNIT:VERSION that unit is saved
 * under another version, its data unchanged: test-golden.sh checks with it
 * that every unit refuses the versions outside its declared range.
 *
 * Usage: recompress IN OUT LEVEL [UNIT:VERSION]      (LEVEL 0..9)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"

struct blob {
	void *buf;
	size_t len;
};

static int blob_save(void *ctx, ssm_handle *h)
{
	const struct blob *b = ctx;

	return ssm_put_mem(h, b->buf, b->len);
}

int main(int argc, char **argv)
{
	static const ssm_callbacks cb = { .save_exec = blob_save };
	ssm_file_info fi;
	ssm_unit_info ui;
	ssm_handle *h = NULL;
	ssm_stream in, out;
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT };
	struct blob *blobs = NULL;
	ssm *reg = ssm_create(NULL);
	const char *relabel = argc == 5 ? argv[4] : NULL, *colon = NULL;
	uint32_t i, n = 0;
	int rc;

	if (relabel)
		colon = strrchr(relabel, ':');
	if (argc < 4 || argc > 5 || atoi(argv[3]) < 0 || atoi(argv[3]) > 9 ||
	    (relabel && (!colon || colon == relabel || !colon[1]))) {
		fprintf(stderr, "usage: recompress IN OUT LEVEL(0..9) [UNIT:VERSION]\n");
		ssm_destroy(reg);
		return 2;
	}
	o.compression = atoi(argv[3]);
	rc = reg ? ssm_stream_file_open(&in, argv[1]) : SSM_ERR_NOMEM;
	if (!rc)
		rc = ssm_open(in, &h);
	if (!rc)
		rc = ssm_file_info_get(h, &fi);
	if (!rc) {
		n = fi.unit_count;
		blobs = calloc(n ? n : 1, sizeof(*blobs));
		if (!blobs)
			rc = SSM_ERR_NOMEM;
	}
	for (i = 0; !rc && i < n; i++) {
		rc = ssm_unit_info_get(h, i, &ui);
		if (!rc && ui.pass != SSM_PASS_FINAL) {
			fprintf(stderr, "recompress: %s holds live passes: only non-live files\n",
				argv[1]);
			rc = SSM_ERR_NOT_SUPPORTED;
		}
		if (!rc) {
			blobs[i].len = (size_t)ui.data_len;
			blobs[i].buf = malloc(blobs[i].len ? blobs[i].len : 1);
			rc = blobs[i].buf ? ssm_seek(h, ui.name, ui.instance, NULL) : SSM_ERR_NOMEM;
		}
		if (!rc)
			rc = ssm_get_mem(h, blobs[i].buf, blobs[i].len);
		if (!rc && colon && strlen(ui.name) == (size_t)(colon - relabel) &&
		    !memcmp(ui.name, relabel, strlen(ui.name)))
			ui.version = (uint32_t)strtoul(colon + 1, NULL, 10);
		if (!rc)
			rc = ssm_register_external(reg, ui.name, ui.instance, ui.version,
						   blobs[i].len, NULL, ui.flags, &cb, &blobs[i]);
	}
	if (rc)
		fprintf(stderr, "recompress: %s: %s\n", argv[1],
			h && ssm_handle_error(h)[0] ? ssm_handle_error(h) : ssm_strerror(rc));
	ssm_close(h);
	if (!rc) {
		rc = ssm_stream_file_create(&out, argv[2]);
		if (!rc)
			rc = ssm_save(reg, out, &o);
		if (rc)
			fprintf(stderr, "recompress: %s: %s\n", argv[2], ssm_last_error(reg));
	}
	for (i = 0; blobs && i < n; i++)
		free(blobs[i].buf);
	free(blobs);
	ssm_destroy(reg);
	return rc ? 1 : 0;
}
