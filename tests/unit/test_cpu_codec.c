/* test_cpu_codec.c - the cpu unit's payload through a real SSM file: every
 * field comes back, older versions load, bad versions, lengths and counts
 * are refused naming the field, and refusals carry data offsets. */
#include "cpu_fixture.h"
#include "testutil.h"

static struct fx F;
static struct cpu_snapshot got;
static uint32_t put_version;
static int load_rc;

static void setup(void)
{
	fx_init(&F);
	memset(&got, 0, sizeof(got));
}

static void teardown(void)
{
	cpu_snapshot_free(&F.s);
	cpu_snapshot_free(&got);
}

TestSuite(cpu_codec, .init = setup, .fini = teardown);

static int save_exec(void *ctx, ssm_handle *h)
{
	(void)ctx;
	return cpu_codec_put(h, &F.s, put_version);
}

static int load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	(void)ctx;
	(void)pass;
	cpu_snapshot_free(&got);
	load_rc = cpu_codec_get(h, version, &got);
	return load_rc;
}

/* Save F.s as unit version `version` (written with layout `layout`), load
 * it back into got; returns the load's status, *msg its message. */
static int round_trip(uint32_t version, uint32_t layout, char *msg, size_t len)
{
	static const ssm_callbacks cb = { .save_exec = save_exec, .load_exec = load_exec };
	ssm *s = ssm_create(NULL);
	void *buf;
	size_t n;
	int rc;

	cr_assert(s);
	put_version = layout;
	cr_assert_eq(ssm_register_external(s, "cpu", 0, version, 16384, NULL, 0, &cb, NULL),
		     SSM_OK);
	cr_assert_eq(tu_save(s, NULL, true, &buf, &n), SSM_OK, "%s", ssm_last_error(s));
	rc = tu_load(s, buf, n, NULL);
	snprintf(msg, len, "%s", ssm_last_error(s));
	free(buf);
	ssm_destroy(s);
	return rc;
}

Test(cpu_codec, version_2_round_trip_keeps_every_field)
{
	char msg[400];

	F.s.regs.r15 = 0x1122334455667788ull;
	F.s.sregs.ldt.selector = 0x28;
	F.s.ev.sipi_vector = 7;
	F.s.xsave[4095] = 0x5a;
	cr_assert_eq(round_trip(2, 2, msg, sizeof(msg)), SSM_OK, "%s", msg);
	cr_assert_eq(memcmp(&got.regs, &F.s.regs, sizeof(got.regs)), 0);
	cr_assert_eq(memcmp(&got.sregs.cs, &F.s.sregs.cs, sizeof(got.sregs.cs)), 0);
	cr_assert_eq(got.sregs.ldt.selector, 0x28);
	cr_assert_eq(got.sregs.efer, F.s.sregs.efer);
	cr_assert_eq(got.sregs.apic_base, F.s.sregs.apic_base);
	cr_assert_eq(got.xcrs.nr_xcrs, 1);
	cr_assert_eq(got.xsave_len, 4096);
	cr_assert_eq(memcmp(got.xsave, F.s.xsave, 4096), 0);
	cr_assert_eq(got.nmsrs, F.s.nmsrs);
	cr_assert_eq(memcmp(got.msrs, F.s.msrs, got.nmsrs * sizeof(*got.msrs)), 0);
	cr_assert_eq(got.ev.sipi_vector, 7);
	cr_assert_eq(got.dbg.dr7, 0x400);
	cr_assert_eq(got.clk.clock, F.s.clk.clock);
	cr_assert_eq(got.ncpuid, FX_NCPUID);
	for (uint32_t i = 0; i < got.ncpuid; i++)
		cr_assert(got.cpuid[i].function == fx_cpuid[i].function &&
			  got.cpuid[i].index == fx_cpuid[i].index &&
			  got.cpuid[i].flags == fx_cpuid[i].flags &&
			  got.cpuid[i].ebx == fx_cpuid[i].ebx && got.cpuid[i].edx == fx_cpuid[i].edx,
			  "cpuid entry %u differs", i);
	cr_assert_eq(got.tsc_khz, 2445404);
	/* The offsets count data bytes from the start of the unit, in order. */
	cr_assert_eq(got.off[CPU_SEC_REGS], 0);
	for (int i = 1; i < CPU_SEC__COUNT; i++)
		cr_assert_gt(got.off[i], got.off[i - 1], "section %s", cpu_section_name(i));
}

Test(cpu_codec, bigger_xsave_area_round_trips)
{
	char msg[400];

	free(F.s.xsave);
	F.s.xsave_len = 11008;          /* an AMX host's size */
	F.s.xsave = calloc(1, F.s.xsave_len);
	F.s.xsave[11007] = 1;
	cr_assert_eq(round_trip(2, 2, msg, sizeof(msg)), SSM_OK, "%s", msg);
	cr_assert_eq(got.xsave_len, 11008);
	cr_assert_eq(got.xsave[11007], 1);
}

Test(cpu_codec, version_1_loads_without_cpuid_and_tsc)
{
	char msg[400];

	cr_assert_eq(round_trip(1, 1, msg, sizeof(msg)), SSM_OK, "%s", msg);
	cr_assert_eq(got.ncpuid, 0);
	cr_assert_eq(got.tsc_khz, 0);
	cr_assert_eq(got.nmsrs, F.s.nmsrs);
	cr_assert_eq(got.mp_state, 0);
}

Test(cpu_codec, version_1_xsave_must_be_4096)
{
	char msg[400];

	free(F.s.xsave);
	F.s.xsave_len = 8192;
	F.s.xsave = calloc(1, F.s.xsave_len);
	cr_assert_neq(round_trip(1, 1, msg, sizeof(msg)), SSM_OK);
	cr_assert(strstr(msg, "cpu: xsave.len (version 1) 8192: not from 4096 to 4096 (data offset "), "%s", msg);
}

Test(cpu_codec, xsave_length_bounds)
{
	char msg[400];

	F.s.xsave_len = 4000;
	cr_assert_neq(round_trip(2, 2, msg, sizeof(msg)), SSM_OK);
	cr_assert(strstr(msg, "cpu: xsave.len 4000: not from 4096 to 65536 (data offset "), "%s", msg);
}

Test(cpu_codec, unit_versions_outside_the_range_refused)
{
	char msg[400];

	cr_assert_eq(round_trip(0, 2, msg, sizeof(msg)), SSM_ERR_UNIT_VERSION, "%s", msg);
	cr_assert(strstr(msg, "cpu: unit version 0 not supported (loads 1..2)"), "%s",
		  msg);
	cr_assert_eq(round_trip(3, 2, msg, sizeof(msg)), SSM_ERR_UNIT_VERSION, "%s", msg);
	cr_assert(strstr(msg, "cpu: unit version 3"), "%s", msg);
}

Test(cpu_codec, huge_counts_refused)
{
	char msg[400];
	struct kvm_msr_entry *many = calloc(CPU_MSR_MAX + 1, sizeof(*many));

	free(F.s.msrs);
	F.s.msrs = many;
	F.s.nmsrs = CPU_MSR_MAX + 1;
	cr_assert_neq(round_trip(2, 2, msg, sizeof(msg)), SSM_OK);
	cr_assert(strstr(msg, "cpu: msrs.n 1025: not from 0 to 1024 (data offset "), "%s", msg);
}

Test(cpu_codec, huge_cpuid_refused)
{
	char msg[400];

	free(F.s.cpuid);
	F.s.cpuid = calloc(CPU_CPUID_MAX + 1, sizeof(*F.s.cpuid));
	F.s.ncpuid = CPU_CPUID_MAX + 1;
	cr_assert_neq(round_trip(2, 2, msg, sizeof(msg)), SSM_OK);
	cr_assert(strstr(msg, "cpu: cpuid.n 257: not from 0 to 256 (data offset "), "%s", msg);
}

Test(cpu_codec, where_names_the_data_offset)
{
	char msg[400], where[48];

	cr_assert_eq(round_trip(2, 2, msg, sizeof(msg)), SSM_OK, "%s", msg);
	cpu_codec_where(&got, CPU_SEC_XSAVE, where, sizeof(where));
	snprintf(msg, sizeof(msg), "data offset %llu", (unsigned long long)got.off[CPU_SEC_XSAVE]);
	cr_assert_str_eq(where, msg);
}
