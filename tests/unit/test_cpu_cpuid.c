/* test_cpu_cpuid.c - a saved CPUID table against the host's, the caps it
 * gives, and the TSC frequency plan. */
#include "cpu_fixture.h"

FX_SUITE(cpu_cpuid);

Test(cpu_cpuid, host_lacking_a_feature_is_named)
{
	fx_leaf(&F, 7, 0)->ebx |= 1u << 5;
	fx_refused(&F, CPU_SEC_CPUID, "this host lacks avx2 (CPUID.0x7.0:ebx bit 5)");
	F.host[2].ebx |= 1u << 5;       /* a host that has it */
	fx_accepted(&F);
}

Test(cpu_cpuid, named_leaf_1_bits)
{
	fx_leaf(&F, 1, 0)->ecx |= 1u << 28;
	fx_refused(&F, CPU_SEC_CPUID, "lacks avx (CPUID.0x1.0:ecx bit 28)");
	fx_leaf(&F, 1, 0)->ecx &= ~(1u << 28);
	fx_leaf(&F, 0x80000001, 0)->edx |= 1u << 27;
	F.host[9].edx &= ~(1u << 27);
	fx_refused(&F, CPU_SEC_CPUID, "lacks rdtscp (CPUID.0x80000001.0:edx bit 27)");
}

Test(cpu_cpuid, unnamed_bit_named_by_position)
{
	fx_leaf(&F, 7, 1)->edx |= 1u << 3;
	fx_refused(&F, CPU_SEC_CPUID, "this host lacks CPUID.0x7.1:edx bit 3");
}

Test(cpu_cpuid, dynamic_bits_are_not_features)
{
	fx_leaf(&F, 1, 0)->ecx |= 1u << 27;     /* OSXSAVE follows CR4 */
	fx_leaf(&F, 1, 0)->edx |= 1u << 9;      /* APIC follows APIC_BASE */
	F.host[1].edx &= ~(1u << 9);
	fx_accepted(&F);
}

Test(cpu_cpuid, leaf_missing_on_host)
{
	F.nhost = FX_NCPUID - 1;        /* drops the KVM feature leaf 0x40000001 */
	fx_refused(&F, CPU_SEC_CPUID, "lacks kvm_clocksource (CPUID.0x40000001.0:eax bit 0)");
}

Test(cpu_cpuid, vendor_must_match)
{
	F.host[0].ebx = 0x756e6547;     /* "GenuineIntel" */
	F.host[0].edx = 0x49656e69;
	F.host[0].ecx = 0x6c65746e;
	fx_refused(&F, CPU_SEC_CPUID, "cpuid vendor \"AuthenticAMD\": this host's CPU is "
		   "\"GenuineIntel\"");
}

Test(cpu_cpuid, limits_must_not_grow)
{
	fx_leaf(&F, 0, 0)->eax = 0x20;
	fx_refused(&F, CPU_SEC_CPUID, "cpuid leaf 0x0 eax 0x20: this host's highest leaf is 0x10");
	fx_leaf(&F, 0, 0)->eax = 0x10;
	fx_leaf(&F, 0x80000008, 0)->eax = 0x3034;       /* 52 physical bits */
	fx_refused(&F, CPU_SEC_CPUID, "52 physical / 48 linear address bits, this host has 48");
}

/* KVM_SET_CPUID2 refuses any linear-address width but 48, 57 or 0: found by
 * the cpu fuzz harness (tests/fuzz/regress/restore/cpu-v2-vaddr-bits). */
Test(cpu_cpuid, linear_address_bits_48_or_57)
{
	fx_leaf(&F, 0x80000008, 0)->eax = 0x1028;       /* 40 physical, 16 linear */
	fx_refused(&F, CPU_SEC_CPUID, "16 linear address bits, not 48 or 57");
	fx_leaf(&F, 0x80000008, 0)->eax = 0x0028;       /* linear unsaid */
	fx_accepted(&F);
}

Test(cpu_cpuid, xsave_layout_must_match)
{
	fx_leaf(&F, 0xd, 2)->ebx = 0x280;
	fx_refused(&F, CPU_SEC_CPUID, "cpuid leaf 0xd.2: XSAVE component 2 at offset 640");
}

Test(cpu_cpuid, table_form)
{
	fx_leaf(&F, 0x80000008, 0)->flags = 2;
	fx_refused(&F, CPU_SEC_CPUID, "cpuid[10] (leaf 0x80000008.0) flags 0x2");
	fx_leaf(&F, 0x80000008, 0)->flags = 0;
	F.s.cpuid[3] = F.s.cpuid[2];    /* 7.0 twice */
	fx_refused(&F, CPU_SEC_CPUID, "cpuid[3] (leaf 0x7.0): listed twice");
	F.s.cpuid[3] = fx_cpuid[3];
	F.s.cpuid[1].index = 5;
	fx_refused(&F, CPU_SEC_CPUID, "cpuid[1] (leaf 0x1) index 5");
}

Test(cpu_cpuid, caps_from_the_table)
{
	struct cpu_caps c;

	cpu_caps_get(fx_cpuid, FX_NCPUID, &c);
	cr_assert_eq(c.phys_bits, 48);
	cr_assert_eq(c.virt_bits, 48);
	cr_assert_eq(c.xcr0_ok, 0x207);
	cr_assert_eq(c.efer_ok, 0x4d01, "efer_ok 0x%llx", (unsigned long long)c.efer_ok);
	cr_assert(!(c.cr4_ok & (1u << 18)), "OSXSAVE without XSAVE");
	cr_assert(c.cr4_ok & (1u << 11), "UMIP is in CPUID.7.0:ecx");
	cpu_caps_get(fx_cpuid, 3, &c);  /* no 0x80000008: SDM default */
	cr_assert_eq(c.phys_bits, 36);
	cr_assert_eq(c.efer_ok, 1, "only SCE without the extended leaves");
}

Test(cpu_cpuid, tsc_plan)
{
	char why[160] = "";

	cr_assert_eq(cpu_tsc_plan(0, 2445404, false, why, sizeof(why)), CPU_TSC_KEEP);
	cr_assert_eq(cpu_tsc_plan(2445404, 2445404, false, why, sizeof(why)), CPU_TSC_KEEP);
	/* 250 ppm of 2445404 kHz is 611 kHz. */
	cr_assert_eq(cpu_tsc_plan(2445404, 2445404 + 611, false, why, sizeof(why)),
		     CPU_TSC_KEEP);
	cr_assert_eq(cpu_tsc_plan(2445404, 2445404 - 612, true, why, sizeof(why)),
		     CPU_TSC_SCALE);
	cr_assert_eq(cpu_tsc_plan(2445404, 2000000, false, why, sizeof(why)), CPU_TSC_REFUSE);
	cr_assert(strstr(why, "tsc_khz 2445404: this host's TSC runs at 2000000 kHz and KVM "
			 "cannot scale it"), "%s", why);
	cr_assert_eq(cpu_tsc_plan(2445404, 0, true, why, sizeof(why)), CPU_TSC_REFUSE);
	cr_assert(strstr(why, "cannot report"), "%s", why);
}
