/* field_harness.h - shared rig of the ssm_put_struct()/ssm_get_struct() tests: a tiny
 * external unit puts a struct and gets it back or dumps its raw bytes (static inline). */
#ifndef TESTS_UNIT_FIELD_HARNESS_H
#define TESTS_UNIT_FIELD_HARNESS_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"

#define BEGIN_MARKER 0x5e55a1b0u
#define END_MARKER   0x5e55a1edu
#define UNIT_NAME    "field-test"

/* ---- Harness --------------------------------------------------------------- */

typedef int (*raw_put_fn)(ssm_handle *h, void *arg);

struct unit {
	/* Save side: put_struct with these, or sv_raw to hand-craft the data. */
	const void *sv;
	size_t sv_size;
	uint32_t sv_flags;
	const ssm_field *sv_fields;
	void *sv_user;
	raw_put_fn sv_raw;
	void *sv_raw_arg;
	int sv_rc;
	bool sv_called;

	/* Load side: get_struct with these, or ld_raw to dump the unit data. */
	void *ld;
	size_t ld_size;
	uint32_t ld_flags;
	const ssm_field *ld_fields;
	void *ld_user;
	bool ld_raw;
	uint8_t raw[4096];
	int ld_rc;
	bool ld_called;
	uint64_t ld_total;        /* unit data bytes */
	uint64_t ld_left;         /* left after get_struct */
	unsigned ld_host_bits;
};

static inline int save_exec(void *ctx, ssm_handle *h)
{
	struct unit *u = ctx;

	u->sv_called = true;
	if (u->sv_raw)
		u->sv_rc = u->sv_raw(h, u->sv_raw_arg);
	else
		u->sv_rc = ssm_put_struct(h, u->sv, u->sv_size, u->sv_flags,
					  u->sv_fields, u->sv_user);
	return u->sv_rc;
}

static inline int load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct unit *u = ctx;

	(void)version;
	(void)pass;
	u->ld_called = true;
	u->ld_host_bits = ssm_handle_host_bits(h);
	u->ld_total = ssm_handle_remaining(h);
	if (u->ld_raw) {
		cr_assert_leq(u->ld_total, sizeof(u->raw));
		u->ld_rc = ssm_get_mem(h, u->raw, (size_t)u->ld_total);
		return u->ld_rc;
	}
	u->ld_rc = ssm_get_struct(h, u->ld, u->ld_size, u->ld_flags,
				  u->ld_fields, u->ld_user);
	u->ld_left = ssm_handle_remaining(h);
	if (u->ld_rc)
		return u->ld_rc;
	/* Tests that read less on purpose check ld_left themselves. */
	return ssm_skip_to_end(h);
}

static const ssm_callbacks unit_cb = {
	.save_exec = save_exec,
	.load_exec = load_exec,
};

struct run {
	ssm *s;
	struct unit *u;
	void *buf;
	size_t len;
	int save_rc, load_rc;
	char save_err[512], load_err[512];
};

static inline void run_init(struct run *r, struct unit *u)
{
	memset(r, 0, sizeof(*r));
	r->u = u;
	r->s = ssm_create(NULL);
	cr_assert_not_null(r->s);
	cr_assert_eq(ssm_register_external(r->s, UNIT_NAME, 0, 1, 64, NULL, 0,
					   &unit_cb, u), SSM_OK);
}

static inline void run_fini(struct run *r)
{
	free(r->buf);
	ssm_destroy(r->s);
}

/* Save with the unit's save side; host_bits 0 = this host. */
static inline int run_save(struct run *r, uint8_t host_bits)
{
	ssm_save_opts opts = { SSM_SAVE_OPTS_INIT, .host_bits = host_bits };

	free(r->buf);
	r->save_rc = tu_save(r->s, &opts, true, &r->buf, &r->len);
	snprintf(r->save_err, sizeof(r->save_err), "%s", ssm_last_error(r->s));
	return r->save_rc;
}

static inline int run_load(struct run *r)
{
	ssm_stream st;

	cr_assert_not_null(r->buf, "nothing saved");
	cr_assert_eq(ssm_stream_mem_reader(&st, r->buf, r->len), SSM_OK);
	r->load_rc = ssm_load(r->s, st, NULL);
	snprintf(r->load_err, sizeof(r->load_err), "%s", ssm_last_error(r->s));
	return r->load_rc;
}

/* Save u's save side and return the unit's raw data bytes in u->raw. */
static inline uint64_t save_and_dump(struct unit *u, uint8_t host_bits)
{
	struct run r;

	run_init(&r, u);
	cr_assert_eq(run_save(&r, host_bits), SSM_OK, "save: %s", r.save_err);
	cr_assert_eq(u->sv_rc, SSM_OK);
	u->ld_raw = true;
	cr_assert_eq(run_load(&r), SSM_OK, "load: %s", r.load_err);
	cr_assert(u->ld_called);
	u->ld_raw = false;
	run_fini(&r);
	return u->ld_total;
}

/* Save and load back through put/get_struct; returns the load status. */
static inline int round_trip(struct unit *u, uint8_t host_bits)
{
	struct run r;
	int rc;

	run_init(&r, u);
	cr_assert_eq(run_save(&r, host_bits), SSM_OK, "save: %s", r.save_err);
	cr_assert_eq(u->sv_rc, SSM_OK);
	rc = run_load(&r);
	cr_assert(u->ld_called);
	run_fini(&r);
	return rc;
}

static inline void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void assert_bytes(const uint8_t *got, const uint8_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(got[i], want[i], "byte %zu: got 0x%02x want 0x%02x",
			     i, got[i], want[i]);
}

#endif /* TESTS_UNIT_FIELD_HARNESS_H */
