/* prim_harness.h - shared rig of the typed put/get primitive tests: one external unit
 * with function bodies, saved at a compression level and loaded back (static inline). */
#ifndef TESTS_UNIT_PRIM_HARNESS_H
#define TESTS_UNIT_PRIM_HARNESS_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"

#define MIB (1024u * 1024u)

/* ---- Harness: one external unit whose save/load bodies are functions ---- */

struct prim;
typedef int (*prim_fn)(ssm_handle *h, struct prim *p);

struct prim {
	prim_fn save, load;
	void *arg;            /* test data shared by save and load */
	size_t n;
	int save_calls, load_calls;
	int bad;              /* mismatches seen by the load body */
	void *file;           /* the saved bytes */
	size_t file_len;
	char save_err[512], load_err[512];
};

static inline int px_save_exec(void *ctx, ssm_handle *h)
{
	struct prim *p = ctx;

	p->save_calls++;
	return p->save(h, p);
}

static inline int px_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct prim *p = ctx;

	cr_expect_eq(version, 7);
	cr_expect_eq(pass, SSM_PASS_FINAL);
	p->load_calls++;
	return p->load(h, p);
}

static const ssm_callbacks px_cb = {
	.save_exec = px_save_exec,
	.load_exec = px_load_exec,
};

/* Save p's unit with compression `level` (p->file keeps the bytes), then load
 * it back.  Returns the load status; the save must succeed. */
static inline int run_level(struct prim *p, int level)
{
	ssm_save_opts so = { SSM_SAVE_OPTS_INIT, .compression = level };
	ssm *s = ssm_create(NULL);
	int rc;

	cr_assert_not_null(s);
	cr_assert_eq(ssm_register_external(s, "prim", 0, 7, 4096, NULL, 0, &px_cb, p), SSM_OK);
	free(p->file);
	p->file = NULL;
	p->save_calls = p->load_calls = 0;
	rc = tu_save(s, &so, true, &p->file, &p->file_len);
	snprintf(p->save_err, sizeof(p->save_err), "%s", ssm_last_error(s));
	cr_assert_eq(rc, SSM_OK, "save (level %d): %d %s", level, rc, p->save_err);
	cr_assert_eq(p->save_calls, 1);
	rc = tu_load(s, p->file, p->file_len, NULL);
	snprintf(p->load_err, sizeof(p->load_err), "%s", ssm_last_error(s));
	cr_assert_eq(p->load_calls, 1);
	ssm_destroy(s);
	return rc;
}

static inline void prim_done(struct prim *p)
{
	free(p->file);
	p->file = NULL;
}

/* Round trip at levels 0, 1 and 9; every one must load cleanly. */
static inline void round_trip_all_levels(struct prim *p)
{
	static const int levels[] = { 0, 1, 9 };

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		int rc = run_level(p, levels[i]);

		cr_assert_eq(rc, SSM_OK, "load (level %d): %d %s", levels[i], rc, p->load_err);
		cr_assert_eq(p->bad, 0, "level %d: %d mismatches", levels[i], p->bad);
	}
	prim_done(p);
}

/* Get a value with fn and compare; a failed get ends the load body. */
#define GET_EQ(p, h, fn, type, want)                                             \
	do {                                                                     \
		type v_, w_ = (type)(want);                                      \
		int rc_ = fn((h), &v_);                                          \
		cr_expect_eq(rc_, SSM_OK, "%s: rc %d", #fn, rc_);                \
		if (rc_)                                                         \
			return rc_;                                              \
		if (v_ != w_) {                                                  \
			(p)->bad++;                                              \
			cr_expect_fail("%s: got %llx want %llx", #fn,            \
				       (unsigned long long)v_,                   \
				       (unsigned long long)w_);                  \
		}                                                                \
	} while (0)

/* Let the test see a failing comparison in a load body without aborting the
 * load (which would skip the library's cleanup). */
#define CHECK(p, cond, ...)                                                      \
	do {                                                                     \
		if (!(cond)) {                                                   \
			(p)->bad++;                                              \
			cr_expect_fail(__VA_ARGS__);                             \
		}                                                                \
	} while (0)

#define N(a) (sizeof(a) / sizeof((a)[0]))

#endif /* TESTS_UNIT_PRIM_HARNESS_H */
