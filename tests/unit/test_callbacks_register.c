/* test_callbacks_register.c - registration errors and duplicates, the
 * deregistration of each flavour, kind/flavour/error names, cancel when idle
 * or armed before an operation begins. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "testutil.h"
#include "cb_harness.h"

/* ---- Registration errors and deregistration ------------------------------------- */

Test(callbacks, duplicate_and_invalid_registration)
{
	struct env e = { 0 };
	struct tunit a;
	int dev, drv;
	char name64[65];
	ssm *s = ssm_create(NULL);

	unit_init(&e, &a, "dup", SSM_FLAVOUR_EXTERNAL, 0);
	cr_assert_eq(ssm_register_external(s, "dup", 0, 1, 0, NULL, 0, &all_cb, &a), SSM_OK);
	cr_assert_eq(ssm_register_external(s, "dup", 0, 1, 0, NULL, 0, &all_cb, &a),
		     SSM_ERR_DUPLICATE_UNIT);
	cr_assert_not_null(strstr(ssm_last_error(s), "dup"));
	/* (name, instance) is the key, whatever the flavour. */
	cr_assert_eq(ssm_register_device(s, &dev, "dup", 0, 1, 0, NULL, 0, &all_cb),
		     SSM_ERR_DUPLICATE_UNIT);
	cr_assert_eq(ssm_register_driver(s, &drv, "dup", 0, 1, 0, NULL, 0, &all_cb),
		     SSM_ERR_DUPLICATE_UNIT);
	cr_assert_eq(ssm_register_internal(s, "dup", 0, 1, 0, NULL, 0, &all_cb),
		     SSM_ERR_DUPLICATE_UNIT);
	cr_assert_eq(ssm_register_device(s, &dev, "dup", 1, 1, 0, NULL, 0, &all_cb), SSM_OK);
	cr_assert_eq(ssm_register_internal(s, "dup", 2, 1, 0, NULL, 0, &all_cb), SSM_OK);

	memset(name64, 'n', 64);
	name64[64] = 0;
	cr_assert_eq(ssm_register_internal(s, name64, 0, 1, 0, NULL, 0, NULL),
		     SSM_ERR_INVALID_ARG);
	name64[63] = 0;
	cr_assert_eq(ssm_register_internal(s, name64, 0, 1, 0, NULL, 0, NULL), SSM_OK);
	cr_assert_eq(ssm_register_internal(s, "", 0, 1, 0, NULL, 0, NULL), SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_register_internal(s, NULL, 0, 1, 0, NULL, 0, NULL),
		     SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_register_internal(s, "flags", 0, 1, 0, NULL, 0x80, NULL),
		     SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_register_device(s, NULL, "nodev", 0, 1, 0, NULL, 0, NULL),
		     SSM_ERR_INVALID_ARG);
	cr_assert_eq(ssm_register_driver(s, NULL, "nodrv", 0, 1, 0, NULL, 0, NULL),
		     SSM_ERR_INVALID_ARG);
	ssm_destroy(s);
}

/* Save with the trace on and return the list of save_exec units. */
static void exec_list(ssm *s, struct env *e, char *out, size_t len)
{
	void *buf;
	size_t blen;
	const char *p;

	tu_log_reset(&e->tr);
	ssm_set_trace(s, trace_fn, e);
	cr_assert_eq(tu_save(s, NULL, true, &buf, &blen), SSM_OK, "%s", ssm_last_error(s));
	free(buf);
	out[0] = 0;
	for (p = strstr(e->tr.s, "save_exec:"); p; p = strstr(p + 1, "save_exec:")) {
		size_t n = strcspn(p + 10, " ");

		snprintf(out + strlen(out), len - strlen(out), "%s%.*s", out[0] ? " " : "",
			 (int)n, p + 10);
	}
}

Test(callbacks, deregister_each_flavour)
{
	struct env e = { 0 };
	struct vm vm = { .tag = TAG_VM };
	struct tunit d1a, d1b, d2, r1, r2, i1, i2, x1, x2;
	char got[512];
	ssm *s = ssm_create(&vm);

	unit_init(&e, &d1a, "d1a", SSM_FLAVOUR_DEVICE, 0);
	unit_init(&e, &d1b, "d1b", SSM_FLAVOUR_DEVICE, 0);
	unit_init(&e, &d2, "d2", SSM_FLAVOUR_DEVICE, 0);
	unit_init(&e, &r1, "r1", SSM_FLAVOUR_DRIVER, 0);
	unit_init(&e, &r2, "r2", SSM_FLAVOUR_DRIVER, 0);
	unit_init(&e, &i1, "i1", SSM_FLAVOUR_INTERNAL, 0);
	unit_init(&e, &i2, "i2", SSM_FLAVOUR_INTERNAL, 1);
	unit_init(&e, &x1, "x1", SSM_FLAVOUR_EXTERNAL, 0);
	unit_init(&e, &x2, "x2", SSM_FLAVOUR_EXTERNAL, 0);
	/* Two units of one device instance (ctx &d1a). */
	cr_assert_eq(ssm_register_device(s, &d1a, "d1a", 0, 5, 0, NULL, 0, &all_cb), SSM_OK);
	d1b.want_ctx = &d1a;
	cr_assert_eq(ssm_register_device(s, &d1a, "d1b", 0, 5, 0, NULL, 0, &all_cb), SSM_OK);
	cr_assert_eq(reg(s, &vm, &d2, NULL, 0), SSM_OK);
	cr_assert_eq(reg(s, &vm, &r1, NULL, 0), SSM_OK);
	cr_assert_eq(reg(s, &vm, &r2, NULL, 0), SSM_OK);
	cr_assert_eq(ssm_register_internal(s, "i1", 0, 5, 0, NULL, 0, NULL), SSM_OK);
	cr_assert_eq(ssm_register_internal(s, "i2", 1, 5, 0, NULL, 0, NULL), SSM_OK);
	cr_assert_eq(reg(s, &vm, &x1, NULL, 0), SSM_OK);
	cr_assert_eq(reg(s, &vm, &x2, NULL, 0), SSM_OK);
	/* i1/i2 have no callbacks; d1b's runs with d1a's context. */
	exec_list(s, &e, got, sizeof(got));
	cr_assert_str_eq(got, "d1a d1b d2 r1 r2 x1 x2");

	/* Device: name NULL drops every unit of the instance, only those. */
	cr_assert_eq(ssm_deregister_device(s, &d1a, NULL, 0), SSM_OK);
	exec_list(s, &e, got, sizeof(got));
	cr_assert_str_eq(got, "d2 r1 r2 x1 x2");
	cr_assert_eq(ssm_deregister_device(s, &d1a, NULL, 0), SSM_ERR_NO_SUCH_UNIT);
	/* By name: the device pointer must match too. */
	cr_assert_eq(ssm_deregister_device(s, &d1a, "d2", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_device(s, &d2, "d2", 1), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_device(s, &d2, "d2", 0), SSM_OK);

	/* Driver, both ways. */
	cr_assert_eq(ssm_deregister_driver(s, &r2, "r1", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_driver(s, &r1, "r1", 0), SSM_OK);
	cr_assert_eq(ssm_deregister_driver(s, &r2, NULL, 0), SSM_OK);
	cr_assert_eq(ssm_deregister_driver(s, &r2, NULL, 0), SSM_ERR_NO_SUCH_UNIT);
	exec_list(s, &e, got, sizeof(got));
	cr_assert_str_eq(got, "x1 x2");

	/* Internal and external by name and instance, flavour must match. */
	cr_assert_eq(ssm_deregister_internal(s, "i2", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_internal(s, "x1", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_internal(s, "i2", 1), SSM_OK);
	cr_assert_eq(ssm_deregister_internal(s, "i1", 0), SSM_OK);
	cr_assert_eq(ssm_deregister_internal(s, "i1", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_external(s, "i1", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_external(s, "x2", 0), SSM_OK);
	cr_assert_eq(ssm_deregister_external(s, "x2", 0), SSM_ERR_NO_SUCH_UNIT);
	cr_assert_eq(ssm_deregister_external(s, "nope", 0), SSM_ERR_NO_SUCH_UNIT);
	exec_list(s, &e, got, sizeof(got));
	cr_assert_str_eq(got, "x1");

	/* A dropped name can be registered again. */
	cr_assert_eq(ssm_register_external(s, "x2", 0, 5, 0, NULL, 0, &all_cb, &x2), SSM_OK);
	exec_list(s, &e, got, sizeof(got));
	cr_assert_str_eq(got, "x1 x2");
	ssm_destroy(s);
}

/* ---- Names, and cancel without an operation -------------------------------------- */

Test(callbacks, names_of_flavours_and_kinds)
{
	cr_assert_str_eq(ssm_flavour_name(SSM_FLAVOUR_DEVICE), "device");
	cr_assert_str_eq(ssm_flavour_name(SSM_FLAVOUR_DRIVER), "driver");
	cr_assert_str_eq(ssm_flavour_name(SSM_FLAVOUR_INTERNAL), "internal");
	cr_assert_str_eq(ssm_flavour_name(SSM_FLAVOUR_EXTERNAL), "external");
	for (int k = 0; k < SSM_CB__COUNT; k++)
		cr_assert_str_eq(ssm_cb_kind_name((ssm_cb_kind)k), kname[k]);
	cr_assert_not_null(ssm_cb_kind_name(SSM_CB__COUNT));
	for (int rc = 0; rc > SSM_ERR__LAST; rc--)
		cr_assert_str_neq(ssm_strerror(rc), "unknown error", "code %d", rc);
}

Test(callbacks, cancel_without_operation)
{
	ssm *s = ssm_create(NULL);

	cr_assert_eq(ssm_cancel(s), SSM_ERR_BAD_STATE);
	cr_assert_str_eq(ssm_last_error(s), "");
	ssm_destroy(s);
}

/* A cancel armed before the operation begins is not lost: the save fails
 * at once, writes nothing, and runs again once disarmed. */
Test(callbacks, cancel_armed_before_begin)
{
	static const ssm_callbacks cb = { 0 };
	ssm *s = ssm_create(NULL);
	ssm_stream st;
	void *buf = NULL;
	size_t len = 0;

	cr_assert_eq(ssm_register_internal(s, "u", 0, 1, 0, NULL, 0, &cb), SSM_OK);
	ssm_cancel_arm(s, true);
	cr_assert_eq(ssm_stream_mem_sink(&st, &buf, &len), SSM_OK);
	cr_assert_eq(ssm_save(s, st, NULL), SSM_ERR_CANCELLED);
	cr_assert_null(buf);
	cr_assert_not_null(strstr(ssm_last_error(s), "before it began"), "'%s'",
			   ssm_last_error(s));
	/* Armed, registration is still refused only while busy: not now. */
	cr_assert_eq(ssm_register_internal(s, "v", 0, 1, 0, NULL, 0, &cb), SSM_OK);
	ssm_cancel_arm(s, false);
	cr_assert_eq(ssm_stream_mem_sink(&st, &buf, &len), SSM_OK);
	cr_assert_eq(ssm_save(s, st, NULL), SSM_OK, "%s", ssm_last_error(s));
	cr_assert_not_null(buf);
	cr_assert_gt(len, 0);
	free(buf);
	ssm_destroy(s);
}
