/* test_opts_size.c - the size member of ssm_save_opts / ssm_load_opts: only
 * members wholly within size are read, a larger size is accepted only with a
 * zero tail, and a size of 0..3 or above 4096 is refused. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"

#define END(type, m) (uint32_t)(offsetof(type, m) + sizeof(((type *)0)->m))
#define BLOB 65536

/* Very compressible data, so whether compression was read shows in the size. */
static int put_blob(void *ctx, ssm_handle *h)
{
	static char blob[BLOB];

	(void)ctx;
	for (size_t i = 0; i < BLOB; i++)
		blob[i] = "abcd"[i % 4];
	return ssm_put_mem(h, blob, BLOB);
}

static int skip_blob(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	(void)ctx, (void)version, (void)pass;
	return ssm_skip_to_end(h);
}

static const ssm_callbacks cb = { .save_exec = put_blob, .load_exec = skip_blob };

static ssm *registry(bool with_beta)
{
	ssm *s = ssm_create(NULL);

	cr_assert_not_null(s);
	cr_assert_eq(ssm_register_internal(s, "alpha", 0, 1, BLOB, NULL, 0, &cb), SSM_OK);
	if (with_beta)
		cr_assert_eq(ssm_register_internal(s, "beta", 0, 1, BLOB, NULL, 0, &cb), SSM_OK);
	return s;
}

/* Length of a save with opts (-1 if it failed; *rc gets the code). */
static long save_len(const ssm_save_opts *o, int *rc, char *msg, size_t msglen)
{
	ssm *s = registry(false);
	void *buf;
	size_t len;

	*rc = tu_save(s, o, true, &buf, &len);
	snprintf(msg, msglen, "%s", ssm_last_error(s));
	free(buf);
	ssm_destroy(s);
	return *rc ? -1 : (long)len;
}

Test(opts_size, save_reads_only_members_within_size)
{
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .compression = 9 };
	char msg[256];
	int rc;
	long plain = save_len(NULL, &rc, msg, sizeof msg);
	long packed = save_len(&o, &rc, msg, sizeof msg);

	cr_assert_gt(plain, BLOB);
	cr_assert(packed > 0 && packed < plain / 4, "compression not applied: %ld vs %ld",
		  packed, plain);
	/* A caller whose struct ends before compression: it is not read. */
	o.size = END(ssm_save_opts, after);
	cr_assert_eq(save_len(&o, &rc, msg, sizeof msg), plain, "rc %d: %s", rc, msg);
	/* A size cutting compression in two leaves it at its default too. */
	o.size = (uint32_t)offsetof(ssm_save_opts, compression) + 2;
	cr_assert_eq(save_len(&o, &rc, msg, sizeof msg), plain, "rc %d: %s", rc, msg);
	o.size = END(ssm_save_opts, compression);
	cr_assert_eq(save_len(&o, &rc, msg, sizeof msg), packed, "rc %d: %s", rc, msg);
}

Test(opts_size, save_size_below_4_or_above_4096_is_refused)
{
	static const uint32_t bad[] = { 0, 1, 2, 3, 4097, UINT32_MAX };
	ssm_save_opts o = { .compression = 9 };
	char msg[256];
	int rc;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint32_t size = bad[i];

		o.size = size;
		cr_assert_eq(save_len(&o, &rc, msg, sizeof msg), -1);
		cr_assert_eq(rc, SSM_ERR_INVALID_ARG, "size %u: rc %d", size, rc);
		cr_assert(strstr(msg, "ssm_save_opts.size is"), "message: %s", msg);
	}
}

/* A caller built against a newer ssm.h with one more member. */
struct newer_save_opts { ssm_save_opts o; uint64_t future; };

Test(opts_size, larger_size_needs_a_zero_tail)
{
	struct newer_save_opts n;
	char msg[256];
	int rc;
	long packed;

	memset(&n, 0, sizeof n);
	n.o.size = sizeof n;
	n.o.compression = 9;
	packed = save_len(&n.o, &rc, msg, sizeof msg);
	cr_assert(packed > 0 && packed < BLOB / 4, "rc %d: %s", rc, msg);
	n.future = 1;
	cr_assert_eq(save_len(&n.o, &rc, msg, sizeof msg), -1);
	cr_assert_eq(rc, SSM_ERR_NOT_SUPPORTED);
	cr_assert(strstr(msg, "does not know"), "message: %s", msg);
}

Test(opts_size, load_reads_only_members_within_size)
{
	ssm *writer = registry(true), *reader = registry(false);
	ssm_load_opts lo = { SSM_LOAD_OPTS_INIT, .skip_unknown = true };
	void *buf;
	size_t len;

	cr_assert_eq(tu_save(writer, NULL, true, &buf, &len), SSM_OK);
	cr_assert_eq(tu_load(reader, buf, len, NULL), SSM_ERR_UNKNOWN_UNIT);
	cr_assert_eq(tu_load(reader, buf, len, &lo), SSM_OK, "%s", ssm_last_error(reader));
	lo.size = END(ssm_load_opts, after);
	cr_assert_eq(tu_load(reader, buf, len, &lo), SSM_ERR_UNKNOWN_UNIT);
	lo.size = 0;
	cr_assert_eq(tu_load(reader, buf, len, &lo), SSM_ERR_INVALID_ARG);
	cr_assert(strstr(ssm_last_error(reader), "ssm_load_opts.size is 0"), "message: %s",
		  ssm_last_error(reader));
	free(buf);
	ssm_destroy(writer);
	ssm_destroy(reader);
}
