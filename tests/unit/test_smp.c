/* test_smp.c - the pure SMP rules (vmm/smp.c): APIC IDs written into and
 * checked in a CPUID table, and which cpu unit instances a load must meet
 * (beyond the count, twice, missing).  --cpus bounds: test_vmm_cli.c. */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/smp.h"

/* A table with the leaves that carry APIC IDs and some that do not. */
static uint32_t table(struct kvm_cpuid_entry2 *e)
{
	memset(e, 0, 6 * sizeof(*e));
	e[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0x1f, .ebx = 0x756e6547 };
	e[1] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x806c1, .ebx = 0x07100800,
					  .edx = 0xbfebfbff };
	e[2] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0, .ebx = 1, .ecx = 0x100,
					  .edx = 7 };
	e[3] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1, .ebx = 4, .ecx = 0x201,
					  .edx = 7 };
	e[4] = (struct kvm_cpuid_entry2){ .function = 0x1f, .index = 0, .edx = 7 };
	e[5] = (struct kvm_cpuid_entry2){ .function = 4, .eax = 0x1c004121, .edx = 0x55 };
	return 6;
}

Test(smp, apic_id_written_where_cpuid_reports_it)
{
	struct kvm_cpuid_entry2 e[6], before[6];
	uint32_t n = table(e);

	memcpy(before, e, sizeof(e));
	smp_cpuid_set_apic_id(e, n, 3);
	cr_assert_eq(e[1].ebx, 0x03100800, "leaf 1 EBX[31:24] only: 0x%x", e[1].ebx);
	cr_assert_eq(e[1].eax, before[1].eax);
	cr_assert_eq(e[1].edx, before[1].edx);
	cr_assert_eq(e[2].edx, 3);
	cr_assert_eq(e[3].edx, 3);
	cr_assert_eq(e[4].edx, 3);
	cr_assert_eq(e[2].ebx, 1, "the topology levels stay");
	cr_assert_eq(e[3].ecx, 0x201);
	cr_assert_eq(e[5].edx, 0x55, "leaf 4 EDX is not an APIC ID");
	cr_assert_eq(e[0].ebx, before[0].ebx);
	/* 8 bits in leaf 1, the whole ID in the x2APIC leaves. */
	smp_cpuid_set_apic_id(e, n, 300);
	cr_assert_eq(e[1].ebx >> 24, 300 & 0xff);
	cr_assert_eq(e[2].edx, 300);
}

Test(smp, apic_id_check_names_the_leaf)
{
	struct kvm_cpuid_entry2 e[6];
	uint32_t n = table(e);
	char why[200] = "";

	smp_cpuid_set_apic_id(e, n, 2);
	cr_assert(smp_cpuid_apic_id_is(e, n, 2, why, sizeof(why)));
	cr_assert_not(smp_cpuid_apic_id_is(e, n, 1, why, sizeof(why)));
	cr_assert(strstr(why, "leaf 0x1 EBX[31:24]") && strstr(why, "is 2") &&
		  strstr(why, "index 1"), "%s", why);
	/* Leaf 1 right, one x2APIC subleaf wrong. */
	e[3].edx = 9;
	cr_assert_not(smp_cpuid_apic_id_is(e, n, 2, why, sizeof(why)));
	cr_assert(strstr(why, "leaf 0xb subleaf 1 EDX") && strstr(why, "is 9"), "%s", why);
	/* A table without those leaves has nothing to contradict. */
	cr_assert(smp_cpuid_apic_id_is(&e[5], 1, 17, why, sizeof(why)));
}

Test(smp, instances_beyond_twice_missing)
{
	struct smp_seen s;
	char why[200] = "";

	smp_seen_reset(&s);
	cr_assert_eq(smp_seen_complete(&s, 1, why, sizeof(why)), -1);
	cr_assert(strstr(why, "no 'cpu' unit instance 0") && strstr(why, "1 vCPU"), "%s", why);

	cr_assert_eq(smp_seen_note(&s, 3, 0, why, sizeof(why)), 0);
	cr_assert_eq(smp_seen_note(&s, 3, 2, why, sizeof(why)), 0);
	cr_assert_eq(smp_seen_complete(&s, 3, why, sizeof(why)), -1);
	cr_assert(strstr(why, "instance 1") && strstr(why, "3 vCPUs"), "%s", why);

	cr_assert_eq(smp_seen_note(&s, 3, 3, why, sizeof(why)), -1, "beyond the count");
	cr_assert(strstr(why, "instance 3") && strstr(why, "instances 0..2"), "%s", why);
	cr_assert_eq(smp_seen_note(&s, 3, 0xffffffffu, why, sizeof(why)), -1);
	cr_assert_eq(smp_seen_note(&s, 3, 2, why, sizeof(why)), -1, "twice");
	cr_assert(strstr(why, "instance 2 appears twice"), "%s", why);

	cr_assert_eq(smp_seen_note(&s, 3, 1, why, sizeof(why)), 0);
	cr_assert_eq(smp_seen_complete(&s, 3, why, sizeof(why)), 0);
	/* A file of 3 does not satisfy a machine of 4. */
	cr_assert_eq(smp_seen_complete(&s, 4, why, sizeof(why)), -1);
	smp_seen_reset(&s);
	cr_assert_eq(smp_seen_note(&s, 3, 2, why, sizeof(why)), 0, "reset forgets");
}
