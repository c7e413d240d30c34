/* test_fw_cfg.c - fw_cfg model: selector and data port semantics, the item
 * table kvm-unit-tests reads, and its saved state (round trip, refusal of
 * a selector or offset a real device cannot have). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg.h"
#include "ssm/ssm.h"
#include "tests/unit/testutil.h"

static struct fw_cfg fc;

static void setup(void)
{
	fw_cfg_init(&fc, 256ull << 20, 3);
}

TestSuite(fw_cfg, .init = setup);

static void sel(struct fw_cfg *f, uint16_t key)
{
	uint32_t v = key;

	fw_cfg_io(f, FW_CFG_PORT_SELECTOR, true, 2, &v);
}

static uint8_t data(struct fw_cfg *f)
{
	uint32_t v = 0xdeadbeef;

	fw_cfg_io(f, FW_CFG_PORT_DATA, false, 1, &v);
	cr_assert_leq(v, 0xff, "a byte read filled more than a byte: 0x%x", v);
	return (uint8_t)v;
}

static uint64_t read_le(struct fw_cfg *f, uint16_t key, unsigned n)
{
	uint64_t v = 0;

	sel(f, key);
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)data(f) << (8 * i);
	return v;
}

Test(fw_cfg, signature_id_ram_cpus)
{
	char sig[5] = { 0 };

	sel(&fc, FW_CFG_SIGNATURE);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)data(&fc);
	cr_assert_str_eq(sig, "QEMU");
	cr_assert_eq(read_le(&fc, FW_CFG_ID, 4), 1);
	cr_assert_eq(read_le(&fc, FW_CFG_RAM_SIZE, 8), 256ull << 20);
	cr_assert_eq(read_le(&fc, FW_CFG_NB_CPUS, 2), 3);
	cr_assert_eq(read_le(&fc, FW_CFG_MAX_CPUS, 2), 3);
	/* kvm-unit-tests' MAX_RAM (0x11): absent, reads 0 = no limit. */
	cr_assert_eq(read_le(&fc, 0x11, 8), 0);
}

Test(fw_cfg, past_the_end_reads_zero_and_select_rewinds)
{
	sel(&fc, FW_CFG_SIGNATURE);
	for (int i = 0; i < 4; i++)
		data(&fc);
	cr_assert_eq(data(&fc), 0);
	cr_assert_eq(fc.st.offset, 4, "the offset must stop at the item's end");
	sel(&fc, FW_CFG_SIGNATURE);
	cr_assert_eq(data(&fc), 'Q');
}

Test(fw_cfg, only_a_16_bit_selector_write_selects)
{
	uint32_t v = FW_CFG_RAM_SIZE;

	sel(&fc, FW_CFG_SIGNATURE);
	data(&fc);
	/* A byte write at the selector, a data write: ignored. */
	fw_cfg_io(&fc, FW_CFG_PORT_SELECTOR, true, 1, &v);
	fw_cfg_io(&fc, FW_CFG_PORT_DATA, true, 1, &v);
	cr_assert_eq(fc.st.selector, FW_CFG_SIGNATURE);
	cr_assert_eq(data(&fc), 'E');
	/* A byte read at offset 0 reads data too (as QEMU). */
	v = 0;
	fw_cfg_io(&fc, FW_CFG_PORT_SELECTOR, false, 1, &v);
	cr_assert_eq(v, 'M');
}

Test(fw_cfg, wide_read_takes_consecutive_bytes)
{
	uint32_t v = 0;

	sel(&fc, FW_CFG_SIGNATURE);
	fw_cfg_io(&fc, FW_CFG_PORT_DATA, false, 4, &v);
	cr_assert_eq(v, 0x554d4551u);   /* "QEMU" little-endian */
}

/* Save src, load into dst; the load status, dst's registry in *out_reg. */
static int dev_round_trip(struct fw_cfg *src, struct fw_cfg *dst, ssm **out_reg)
{
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
	void *buf;
	size_t len;
	int rc;

	cr_assert(a && b);
	cr_assert_eq(fw_cfg_ssm_register(src, a, 0), SSM_OK);
	cr_assert_eq(fw_cfg_ssm_register(dst, b, 0), SSM_OK);
	cr_assert_eq(tu_save(a, NULL, false, &buf, &len), SSM_OK, "save: %s", ssm_last_error(a));
	rc = tu_load(b, buf, len, NULL);
	free(buf);
	ssm_destroy(a);
	*out_reg = b;
	return rc;
}

Test(fw_cfg, ssm_round_trip_mid_item)
{
	struct fw_cfg dst;
	ssm *reg;

	sel(&fc, FW_CFG_RAM_SIZE);
	data(&fc);
	data(&fc);
	fw_cfg_init(&dst, 256ull << 20, 3);
	cr_assert_eq(dev_round_trip(&fc, &dst, &reg), SSM_OK, "%s",
		     ssm_last_error(reg));
	ssm_destroy(reg);
	cr_assert_eq(dst.st.selector, FW_CFG_RAM_SIZE);
	cr_assert_eq(dst.st.offset, 2);
	/* The restored device reads on from the third byte of 256 MiB. */
	cr_assert_eq(data(&dst), 0x00);
	cr_assert_eq(data(&dst), 0x10);
}

Test(fw_cfg, ssm_refuses_impossible_state)
{
	static const struct fw_cfg_state bad[] = {
		{ .selector = 0x10000, .offset = 0 },           /* wider than 16 bits */
		{ .selector = FW_CFG_SIGNATURE, .offset = 5 },  /* past "QEMU" */
		{ .selector = 0x1234, .offset = 1 },            /* absent item */
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct fw_cfg src, dst;
		ssm *reg;
		int rc;

		fw_cfg_init(&src, 256ull << 20, 1);
		src.st = bad[i];
		fw_cfg_init(&dst, 256ull << 20, 1);
		rc = dev_round_trip(&src, &dst, &reg);
		cr_assert_eq(rc, SSM_ERR_LOAD_VALUE, "case %zu: loaded (%d)", i, rc);
		cr_assert(strstr(ssm_last_error(reg), "fw-cfg"), "case %zu: %s", i,
			  ssm_last_error(reg));
		cr_assert_eq(dst.st.selector, 0, "case %zu: a refused state was applied", i);
		ssm_destroy(reg);
	}
}
