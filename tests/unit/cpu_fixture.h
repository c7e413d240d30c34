/* cpu_fixture.h - a legal vCPU state for the cpu unit's tests: the long-mode
 * entry state vmm/boot.c gives the guest, on a CPUID table taken from a
 * real KVM host (AMD, KVM_GET_SUPPORTED_CPUID).  Tests change one value
 * and expect a refusal naming it (static inline). */
#ifndef TESTS_UNIT_CPU_FIXTURE_H
#define TESTS_UNIT_CPU_FIXTURE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cpu_check.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

static const struct kvm_cpuid_entry2 fx_cpuid[] = {
	{ .function = 0, .eax = 0x10, .ebx = 0x68747541, .ecx = 0x444d4163, .edx = 0x69746e65 },
	{ .function = 1, .eax = 0x00a00f11, .ebx = 0x01020800, .ecx = 0x81202000,
	  .edx = 0x078bfbff },
	{ .function = 7, .index = 0, .flags = SIG, .ebx = 0x01800002, .ecx = 0x4,
	  .edx = 0xa8000000 },
	{ .function = 7, .index = 1, .flags = SIG },
	{ .function = 0xd, .index = 0, .flags = SIG, .eax = 0x207, .ebx = 0x988, .ecx = 0x988 },
	{ .function = 0xd, .index = 1, .flags = SIG },
	{ .function = 0xd, .index = 2, .flags = SIG, .eax = 0x100, .ebx = 0x240 },
	{ .function = 0xd, .index = 9, .flags = SIG, .eax = 0x8, .ebx = 0x980 },
	{ .function = 0x80000000, .eax = 0x80000022, .ebx = 0x68747541, .ecx = 0x444d4163,
	  .edx = 0x69746e65 },
	{ .function = 0x80000001, .eax = 0x00a00f11, .ebx = 0x40000000, .ecx = 0x00400393,
	  .edx = 0x23d3fbff },
	{ .function = 0x80000008, .eax = 0x3030, .ebx = 0x110ad205, .ecx = 0x7001 },
	{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b, .ecx = 0x564b4d56,
	  .edx = 0x4d },
	{ .function = 0x40000001, .eax = 0x01007efb },
};
#define FX_NCPUID (sizeof(fx_cpuid) / sizeof(fx_cpuid[0]))

static const uint32_t fx_msrs[] = {
	0x174, 0x175, 0x176, 0xc0000081, 0xc0000083, 0xc0000102, 0xc0000084, 0xc0000082,
	0x10, 0x277, 0xc0000080, 0x1b, 0xc0000100, 0xc0000103, 0x4b564d01,
};
#define FX_NMSRS (sizeof(fx_msrs) / sizeof(fx_msrs[0]))

struct fx {
	struct cpu_snapshot s;
	struct kvm_cpuid_entry2 host[FX_NCPUID + 4];    /* the host's CPUID */
	uint32_t nhost;
	struct cpu_host h;
	struct cpu_caps caps;
	char why[256];
	enum cpu_section sec;
};

static inline void fx_set_xsave64(struct fx *f, unsigned off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		f->s.xsave[off + i] = (uint8_t)(v >> (8 * i));
}

/* The guest's CPUID entry fn.idx (must exist). */
static inline struct kvm_cpuid_entry2 *fx_leaf(struct fx *f, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < f->s.ncpuid; i++)
		if (f->s.cpuid[i].function == fn && f->s.cpuid[i].index == idx)
			return &f->s.cpuid[i];
	cr_assert_fail("fixture lacks leaf 0x%x.%u", fn, idx);
	return NULL;
}

static inline void fx_init(struct fx *f)
{
	struct kvm_sregs *sr = &f->s.sregs;
	struct kvm_segment code = { .limit = 0xffffffff, .selector = 8, .type = 11,
				    .present = 1, .s = 1, .l = 1, .g = 1 };
	struct kvm_segment data = { .limit = 0xffffffff, .selector = 16, .type = 3,
				    .present = 1, .db = 1, .s = 1, .g = 1 };
	static const uint64_t msr_vals[][2] = {
		{ 0xc0000080, 0x500 }, { 0x277, 0x0007040600070406ull },
		{ 0xc0000082, 0xffffffff81000000ull }, { 0x10, 12345 },
		{ 0xc0000084, 0x47700 }, { 0x1b, 0xfee00900 },
	};

	memset(f, 0, sizeof(*f));
	memcpy(f->host, fx_cpuid, sizeof(fx_cpuid));
	f->nhost = FX_NCPUID;
	f->s.ncpuid = FX_NCPUID;
	f->s.cpuid = calloc(FX_NCPUID, sizeof(fx_cpuid[0]));
	cr_assert(f->s.cpuid);
	memcpy(f->s.cpuid, fx_cpuid, sizeof(fx_cpuid));

	f->s.regs.rip = 0x100000;
	f->s.regs.rsp = 0x80000;
	f->s.regs.rflags = 0x2;
	sr->cs = code;
	sr->ds = sr->es = sr->fs = sr->gs = sr->ss = data;
	sr->tr = (struct kvm_segment){ .base = 0x3000, .limit = 103, .selector = 24,
				       .type = 11, .present = 1 };
	sr->ldt = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	sr->gdt.base = 0x500;
	sr->gdt.limit = 39;
	sr->cr0 = 0x80050033;   /* PE MP ET NE WP AM PG */
	sr->cr3 = 0x10000;
	sr->cr4 = 0x620;        /* PAE OSFXSR OSXMMEXCPT */
	sr->efer = 0x500;       /* LME LMA */
	sr->apic_base = 0xfee00900;
	f->s.xcrs.nr_xcrs = 1;
	f->s.xcrs.xcrs[0].value = 1;
	f->s.xsave_len = 4096;
	f->s.xsave = calloc(1, 4096);
	cr_assert(f->s.xsave);
	f->s.xsave[24] = 0x80;  /* MXCSR 0x1f80 */
	f->s.xsave[25] = 0x1f;
	fx_set_xsave64(f, 512, 0x203);
	f->s.nmsrs = sizeof(msr_vals) / sizeof(msr_vals[0]);
	f->s.msrs = calloc(f->s.nmsrs + 2, sizeof(*f->s.msrs));
	cr_assert(f->s.msrs);
	for (uint32_t i = 0; i < f->s.nmsrs; i++) {
		f->s.msrs[i].index = (uint32_t)msr_vals[i][0];
		f->s.msrs[i].data = msr_vals[i][1];
	}
	f->s.dbg.dr6 = 0xffff0ff0;
	f->s.dbg.dr7 = 0x400;
	f->s.ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
			KVM_VCPUEVENT_VALID_SMM;
	f->s.clk.clock = 1000000000;
	f->s.tsc_khz = 2445404;
	f->h = (struct cpu_host){ .cpuid = f->host, .ncpuid = f->nhost, .msrs = fx_msrs,
				  .nmsrs = FX_NMSRS, .xsave_len = 4096 };
	cpu_caps_get(f->s.cpuid, f->s.ncpuid, &f->caps);
}

/* Run the whole check. */
static inline int fx_check(struct fx *f)
{
	f->why[0] = 0;
	f->h.cpuid = f->host;
	f->h.ncpuid = f->nhost;
	return cpu_check_snapshot(&f->s, &f->h, &f->sec, f->why, sizeof(f->why));
}

/* The whole check refuses, in section sec, with a message containing want. */
#define fx_refused(f, want_sec, want)                                                     \
	do {                                                                              \
		cr_assert_eq(fx_check(f), -1, "accepted; expected a refusal with \"%s\"", \
			     want);                                                       \
		cr_assert_eq((f)->sec, want_sec, "refused in section %s, not %s: %s",     \
			     cpu_section_name((f)->sec), cpu_section_name(want_sec),      \
			     (f)->why);                                                   \
		cr_assert(strstr((f)->why, want), "message \"%s\" lacks \"%s\"", (f)->why, \
			  want);                                                          \
	} while (0)

#define fx_accepted(f)                                                                    \
	cr_assert_eq(fx_check(f), 0, "refused in %s: %s", cpu_section_name((f)->sec), (f)->why)

/* A Criterion suite whose every test starts from a fresh fixture F. */
#define FX_SUITE(suite)                                 \
	static struct fx F;                             \
	static void fx_setup(void) { fx_init(&F); }     \
	static void fx_teardown(void) { cpu_snapshot_free(&F.s); } \
	TestSuite(suite, .init = fx_setup, .fini = fx_teardown)

#endif
