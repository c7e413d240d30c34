/* test_cpu_model.c - the --cpu specification over a real host's supported
 * CPUID (cpu_fixture.h's AMD table): models, +/-features, options, and
 * the one-line refusals and warnings. */
#include "cpu_fixture.h"
#include "vmm/cpu_model.h"

struct built {
	struct kvm_cpuid_entry2 *t;
	uint32_t n;
	char warn[256], why[256];
	int rc;
};

static struct built build(const char *spec)
{
	struct built b;

	memset(&b, 0, sizeof(b));
	b.rc = cpu_model_build(spec, fx_cpuid, FX_NCPUID, &b.t, &b.n, b.warn, sizeof(b.warn),
			       b.why, sizeof(b.why));
	return b;
}

static const struct kvm_cpuid_entry2 *leaf(const struct built *b, uint32_t fn, uint32_t idx)
{
	const struct kvm_cpuid_entry2 *e = cpu_cpuid_find(b->t, b->n, fn, idx);

	cr_assert(e, "leaf 0x%x.%u missing", fn, idx);
	return e;
}

Test(cpu_model, host_and_max_are_the_supported_table)
{
	const char *specs[] = { "host", "max", "host,migratable=no,host-phys-bits" };

	for (unsigned i = 0; i < 3; i++) {
		struct built b = build(specs[i]);

		cr_assert_eq(b.rc, 0, "%s: %s", specs[i], b.why);
		cr_assert_eq(b.n, FX_NCPUID);
		cr_assert_eq(memcmp(b.t, fx_cpuid, sizeof(fx_cpuid)), 0, "%s changed the table",
			     specs[i]);
		cr_assert_str_empty(b.warn);
		free(b.t);
	}
}

Test(cpu_model, minus_clears_plus_restores_and_amd_alias_follows)
{
	struct built b = build("host,-x2apic,-cx16,-pat");

	cr_assert_eq(b.rc, 0, "%s", b.why);
	cr_assert_eq(leaf(&b, 1, 0)->ecx, fx_cpuid[1].ecx & ~(1u << 21 | 1u << 13));
	cr_assert_eq(leaf(&b, 1, 0)->edx, fx_cpuid[1].edx & ~(1u << 16));
	/* PAT is repeated in 0x80000001 EDX on AMD: cleared there too. */
	cr_assert_eq(leaf(&b, 0x80000001, 0)->edx, fx_cpuid[9].edx & ~(1u << 16));
	free(b.t);
	b = build("host,-x2apic,x2apic=on,tsc-deadline=off");
	cr_assert_eq(b.rc, 0, "%s", b.why);
	cr_assert_eq(leaf(&b, 1, 0)->ecx, fx_cpuid[1].ecx & ~(1u << 24));
	free(b.t);
}

Test(cpu_model, a_model_keeps_only_its_features_the_host_has)
{
	struct built b = build("qemu64");

	cr_assert_eq(b.rc, 0, "%s", b.why);
	/* Host leaf 1 ECX: cx16 x2apic tsc_deadline hypervisor; qemu64 has
	 * no tsc-deadline, and does not get sse3, which the host lacks. */
	cr_assert_eq(leaf(&b, 1, 0)->ecx, 1u << 13 | 1u << 21 | 1u << 31);
	cr_assert_eq(leaf(&b, 7, 0)->ebx, 0);
	cr_assert_eq(leaf(&b, 7, 0)->edx, 0);
	/* Not feature registers: kept. */
	cr_assert_eq(leaf(&b, 0, 0)->ebx, fx_cpuid[0].ebx);
	cr_assert_eq(leaf(&b, 0xd, 0)->eax, fx_cpuid[4].eax);
	cr_assert_eq(leaf(&b, 0x40000001, 0)->eax, fx_cpuid[12].eax);
	cr_assert_str_empty(b.warn);
	free(b.t);
	b = build("qemu64,+x2apic,+tsc-deadline");
	cr_assert_eq(b.rc, 0, "%s", b.why);
	cr_assert(leaf(&b, 1, 0)->ecx & 1u << 24);
	free(b.t);
}

Test(cpu_model, plus_a_feature_the_host_lacks_warns_or_is_refused)
{
	struct built b = build("host,+la57");

	cr_assert_eq(b.rc, 0, "%s", b.why);
	cr_assert(strstr(b.warn, "cannot offer la57 (CPUID.0x7.0:ecx bit 16)"), "%s", b.warn);
	cr_assert_eq(leaf(&b, 7, 0)->ecx, fx_cpuid[2].ecx);
	free(b.t);
	b = build("max,+svm,enforce");
	cr_assert_eq(b.rc, -1);
	cr_assert(strstr(b.why, "feature svm: this host's KVM cannot offer svm"), "%s", b.why);
}

Test(cpu_model, vendor_and_phys_bits)
{
	struct built b = build("max,vendor=GenuineIntel,phys-bits=40");

	cr_assert_eq(b.rc, 0, "%s", b.why);
	cr_assert_eq(leaf(&b, 0, 0)->ebx, 0x756e6547);  /* "Genu" */
	cr_assert_eq(leaf(&b, 0, 0)->edx, 0x49656e69);  /* "ineI" */
	cr_assert_eq(leaf(&b, 0, 0)->ecx, 0x6c65746e);  /* "ntel" */
	cr_assert_eq(leaf(&b, 0x80000008, 0)->eax, 0x3028);
	free(b.t);
	b = build("host,phys-bits=52");
	cr_assert_eq(b.rc, -1);
	cr_assert(strstr(b.why, "phys-bits=52: this host has 48 physical address bits"), "%s",
		  b.why);
}

Test(cpu_model, refusals_name_the_word)
{
	static const char *const bad[][2] = {
		{ "pentium9", "unknown CPU model 'pentium9'" },
		{ "host,+bogus", "unknown CPU feature bogus" },
		{ "host,hv-bogus=maybe", "hv-bogus=maybe: expected on or off" },
		{ "host,nosuch_option", "unknown CPU feature or option nosuch_option" },
		{ "host,,+x2apic", "an empty word" },
		{ "host,vendor=Intel", "vendor=Intel: expected 12 characters" },
		{ "host,x2apic=maybe", "x2apic=maybe: expected on or off" },
		{ "host,phys-bits=8", "phys-bits=8: expected a number from 32 to 52" },
	};
	char why[256];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(cpu_model_check(bad[i][0], why, sizeof(why)), -1, "%s", bad[i][0]);
		cr_assert(strstr(why, bad[i][1]), "%s: %s", bad[i][0], why);
	}
	cr_assert_eq(cpu_model_check("Skylake-Server,+vmx,-pku,sse4.2=on", why, sizeof(why)), 0,
		     "%s", why);
}

Test(cpu_model, every_model_names_known_features)
{
	static const char *const m[] = { "qemu64", "Opteron_G1", "IvyBridge", "Skylake-Server" };

	for (unsigned i = 0; i < 4; i++) {
		struct built b = build(m[i]);

		cr_assert_eq(b.rc, 0, "%s: %s", m[i], b.why);
		free(b.t);
	}
}

Test(cpu_model, hyperv_and_vmx_controls_are_not_offered)
{
	struct built b = build("host,hv_passthrough,-vmx-mbec");

	cr_assert_eq(b.rc, 0, "%s", b.why);
	cr_assert(strstr(b.warn, "vmm offers no Hyper-V enlightenments (hv_passthrough)"), "%s",
		  b.warn);
	cr_assert_eq(memcmp(b.t, fx_cpuid, sizeof(fx_cpuid)), 0);
	free(b.t);
	b = build("max,+vmx-mbec");
	cr_assert(strstr(b.warn, "vmm offers no VMX controls (vmx_mbec)"), "%s", b.warn);
	free(b.t);
	b = build("max,-vmx-mbec");
	cr_assert_str_empty(b.warn, "turning one off: nothing to say");
	free(b.t);
	b = build("host,hv_passthrough,enforce");
	cr_assert_eq(b.rc, -1);
	cr_assert(strstr(b.why, "feature hv_passthrough: vmm offers no Hyper-V"), "%s", b.why);
}
