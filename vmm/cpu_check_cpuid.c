/* cpu_check_cpuid.c - the CPUID side of cpu_check.h: a saved CPUID table
 * against the host's, and what a CPUID table allows a vCPU to hold. */
#include <string.h>

#include "vmm/cpu_check.h"
#include "vmm/cpuid_names.h"

#define BIT(n) (1ull << (n))

const struct kvm_cpuid_entry2 *cpu_cpuid_find(const struct kvm_cpuid_entry2 *e, uint32_t n,
					      uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < n; i++)
		if (e[i].function == fn &&
		    (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == idx))
			return &e[i];
	return NULL;
}

static uint32_t reg_of(const struct kvm_cpuid_entry2 *e, enum cpuid_reg r)
{
	if (!e)
		return 0;
	switch (r) {
	case CPUID_EAX: return e->eax;
	case CPUID_EBX: return e->ebx;
	case CPUID_ECX: return e->ecx;
	default: return e->edx;
	}
}

static bool has(const struct kvm_cpuid_entry2 *e, uint32_t n, uint32_t fn, uint32_t idx,
		enum cpuid_reg r, unsigned bit)
{
	return reg_of(cpu_cpuid_find(e, n, fn, idx), r) >> bit & 1;
}

/* A control-register bit and the CPUID feature that makes it legal. */
struct gate {
	uint8_t bit;
	uint32_t fn, idx;
	enum cpuid_reg reg;
	uint8_t feat;
};

/* CR4 bits KVM knows (CR4_RESERVED_BITS) and their CPUID features; TSD and
 * PCE need none beyond TSC and RDPMC, which every x86-64 has. */
static const struct gate cr4_gates[] = {
	{ 0, 1, 0, CPUID_EDX, 1 }, { 1, 1, 0, CPUID_EDX, 1 },           /* VME, PVI */
	{ 2, 1, 0, CPUID_EDX, 4 }, { 3, 1, 0, CPUID_EDX, 2 },           /* TSD, DE */
	{ 4, 1, 0, CPUID_EDX, 3 }, { 5, 1, 0, CPUID_EDX, 6 },           /* PSE, PAE */
	{ 6, 1, 0, CPUID_EDX, 7 }, { 7, 1, 0, CPUID_EDX, 13 },          /* MCE, PGE */
	{ 8, 1, 0, CPUID_EDX, 0 },                                      /* PCE: fpu */
	{ 9, 1, 0, CPUID_EDX, 24 }, { 10, 1, 0, CPUID_EDX, 25 },        /* OSFXSR, OSXMMEXCPT */
	{ 11, 7, 0, CPUID_ECX, 2 }, { 12, 7, 0, CPUID_ECX, 16 },        /* UMIP, LA57 */
	{ 13, 1, 0, CPUID_ECX, 5 }, { 16, 7, 0, CPUID_EBX, 0 },         /* VMXE, FSGSBASE */
	{ 17, 1, 0, CPUID_ECX, 17 }, { 18, 1, 0, CPUID_ECX, 26 },       /* PCIDE, OSXSAVE */
	{ 20, 7, 0, CPUID_EBX, 7 }, { 21, 7, 0, CPUID_EBX, 20 },        /* SMEP, SMAP */
	{ 22, 7, 0, CPUID_ECX, 3 }, { 23, 7, 0, CPUID_ECX, 7 },         /* PKE, CET (shstk) */
	{ 23, 7, 0, CPUID_EDX, 20 },                                    /* CET (ibt) */
	{ 28, 7, 1, CPUID_EAX, 26 }, { 32, 7, 1, CPUID_EAX, 17 },       /* LAM_SUP, FRED */
};

/* EFER bits (AMD APM vol. 2 3.1.7) and their CPUID.0x80000001 features;
 * SCE is always allowed, as KVM allows it. */
static const struct gate efer_gates[] = {
	{ 8, 0x80000001, 0, CPUID_EDX, 29 }, { 10, 0x80000001, 0, CPUID_EDX, 29 }, /* LME, LMA */
	{ 11, 0x80000001, 0, CPUID_EDX, 20 }, { 12, 0x80000001, 0, CPUID_ECX, 2 }, /* NXE, SVME */
	{ 14, 0x80000001, 0, CPUID_EDX, 25 }, { 15, 0x80000001, 0, CPUID_ECX, 17 }, /* FFXSR, TCE */
	{ 21, 0x80000021, 0, CPUID_EAX, 8 },                                        /* AUTOIBRS */
};

static uint64_t gated(const struct gate *g, size_t ng, const struct kvm_cpuid_entry2 *e,
		      uint32_t n)
{
	uint64_t ok = 0;

	for (size_t i = 0; i < ng; i++)
		if (has(e, n, g[i].fn, g[i].idx, g[i].reg, g[i].feat))
			ok |= BIT(g[i].bit);
	return ok;
}

void cpu_caps_get(const struct kvm_cpuid_entry2 *e, uint32_t n, struct cpu_caps *c)
{
	const struct kvm_cpuid_entry2 *max_ext = cpu_cpuid_find(e, n, 0x80000000, 0);
	const struct kvm_cpuid_entry2 *sizes = cpu_cpuid_find(e, n, 0x80000008, 0);
	const struct kvm_cpuid_entry2 *xs = cpu_cpuid_find(e, n, 0xd, 0);

	memset(c, 0, sizeof(*c));
	/* Without the leaf the SDM's default is 36 bits. */
	c->phys_bits = 36;
	if (max_ext && max_ext->eax >= 0x80000008 && sizes && (sizes->eax & 0xff) >= 32 &&
	    (sizes->eax & 0xff) <= 52)
		c->phys_bits = sizes->eax & 0xff;
	c->virt_bits = has(e, n, 7, 0, CPUID_ECX, 16) ? 57 : 48;
	c->cr4_ok = gated(cr4_gates, sizeof(cr4_gates) / sizeof(cr4_gates[0]), e, n) |
		    BIT(2) | BIT(8);
	c->efer_ok = gated(efer_gates, sizeof(efer_gates) / sizeof(efer_gates[0]), e, n) | BIT(0);
	c->xsave = has(e, n, 1, 0, CPUID_ECX, 26);
	/* KVM takes CPUID.0xD as it is, whether or not the XSAVE bit is set
	 * (guest_supported_xcr0); so does this check. */
	c->xcr0_ok = 1;
	if (xs)
		c->xcr0_ok |= (uint64_t)xs->edx << 32 | xs->eax;
	c->x2apic = has(e, n, 1, 0, CPUID_ECX, 21);
	c->lam = has(e, n, 7, 1, CPUID_EAX, 26);
}

static int check_table(const struct kvm_cpuid_entry2 *e, uint32_t n, char *why, size_t len)
{
	for (uint32_t i = 0; i < n; i++) {
		if (e[i].flags & ~(uint32_t)KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
			return cpu_why(why, len, "cpuid[%u] (leaf 0x%x.%u) flags 0x%x: only "
				      "bit 0 (significant index) is defined", i, e[i].function,
				      e[i].index, e[i].flags);
		if (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e[i].index)
			return cpu_why(why, len, "cpuid[%u] (leaf 0x%x) index %u: non-zero "
				      "although the index is not significant", i,
				      e[i].function, e[i].index);
		for (uint32_t j = 0; j < i; j++)
			if (e[j].function == e[i].function && e[j].index == e[i].index)
				return cpu_why(why, len, "cpuid[%u] (leaf 0x%x.%u): listed "
					      "twice", i, e[i].function, e[i].index);
	}
	return 0;
}

static void vendor(const struct kvm_cpuid_entry2 *e, char out[13])
{
	uint32_t r[3] = { e ? e->ebx : 0, e ? e->edx : 0, e ? e->ecx : 0 };

	for (int i = 0; i < 12; i++) {
		char ch = (char)(r[i / 4] >> (8 * (i % 4)));

		out[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	out[12] = 0;
}

/* Leaves whose EAX is a count that must not grow: max basic and extended. */
static int check_limits(const struct kvm_cpuid_entry2 *s, uint32_t n,
			const struct kvm_cpuid_entry2 *h, uint32_t hn, char *why, size_t len)
{
	static const uint32_t max_leaves[] = { 0, 0x80000000 };
	const struct kvm_cpuid_entry2 *a, *b;
	char sv[13], hv[13];

	a = cpu_cpuid_find(s, n, 0, 0);
	b = cpu_cpuid_find(h, hn, 0, 0);
	vendor(a, sv);
	vendor(b, hv);
	if (a && strcmp(sv, hv))
		return cpu_why(why, len, "cpuid vendor \"%s\": this host's CPU is \"%s\"", sv, hv);
	for (size_t i = 0; i < 2; i++) {
		a = cpu_cpuid_find(s, n, max_leaves[i], 0);
		b = cpu_cpuid_find(h, hn, max_leaves[i], 0);
		if (a && a->eax > reg_of(b, CPUID_EAX))
			return cpu_why(why, len, "cpuid leaf 0x%x eax 0x%x: this host's highest "
				      "leaf is 0x%x", max_leaves[i], a->eax,
				      reg_of(b, CPUID_EAX));
	}
	a = cpu_cpuid_find(s, n, 0x80000008, 0);
	b = cpu_cpuid_find(h, hn, 0x80000008, 0);
	/* KVM_SET_CPUID2 takes 48 or 57 linear-address bits, or 0 (unsaid). */
	if (a && (a->eax >> 8 & 0xff) && (a->eax >> 8 & 0xff) != 48 && (a->eax >> 8 & 0xff) != 57)
		return cpu_why(why, len, "cpuid leaf 0x80000008 eax 0x%x: %u linear address "
			      "bits, not 48 or 57", a->eax, a->eax >> 8 & 0xff);
	if (a && ((a->eax & 0xff) > (reg_of(b, CPUID_EAX) & 0xff) ||
		  (a->eax >> 8 & 0xff) > (reg_of(b, CPUID_EAX) >> 8 & 0xff)))
		return cpu_why(why, len, "cpuid leaf 0x80000008 eax 0x%x: %u physical / %u "
			      "linear address bits, this host has %u / %u", a->eax,
			      a->eax & 0xff, a->eax >> 8 & 0xff, reg_of(b, CPUID_EAX) & 0xff,
			      reg_of(b, CPUID_EAX) >> 8 & 0xff);
	return 0;
}

/* The XSAVE (standard form) offset and size of every component the guest
 * may enable are fixed by the CPU: the saved area must mean the same here. */
static int check_xsave_layout(const struct kvm_cpuid_entry2 *s, uint32_t n,
			      const struct kvm_cpuid_entry2 *h, uint32_t hn, char *why,
			      size_t len)
{
	const struct kvm_cpuid_entry2 *d = cpu_cpuid_find(s, n, 0xd, 0);
	uint64_t comps = d ? (uint64_t)d->edx << 32 | d->eax : 0;

	for (unsigned i = 2; i < 64; i++) {
		const struct kvm_cpuid_entry2 *a, *b;

		if (!(comps >> i & 1))
			continue;
		a = cpu_cpuid_find(s, n, 0xd, i);
		b = cpu_cpuid_find(h, hn, 0xd, i);
		if (!a || !b || a->eax != b->eax || a->ebx != b->ebx)
			return cpu_why(why, len, "cpuid leaf 0xd.%u: XSAVE component %u at "
				      "offset %u size %u, this host has it at %u size %u", i, i,
				      a ? a->ebx : 0, a ? a->eax : 0, b ? b->ebx : 0,
				      b ? b->eax : 0);
	}
	return 0;
}

int cpu_check_cpuid(const struct kvm_cpuid_entry2 *saved, uint32_t n,
		    const struct kvm_cpuid_entry2 *host, uint32_t hn, char *why, size_t len)
{
	if (check_table(saved, n, why, len) || check_limits(saved, n, host, hn, why, len))
		return -1;
	for (const struct cpuid_feature_reg *f = cpuid_feature_regs; f->names; f++) {
		uint32_t want = reg_of(cpu_cpuid_find(saved, n, f->function, f->index), f->reg);
		uint32_t got = reg_of(cpu_cpuid_find(host, hn, f->function, f->index), f->reg);
		uint32_t lack = want & ~got & ~f->dynamic;
		unsigned bit;

		if (!lack)
			continue;
		for (bit = 0; !(lack >> bit & 1); bit++)
			;
		if (f->names[bit])
			return cpu_why(why, len, "cpuid: this host lacks %s (CPUID.0x%x.%u:%s "
				      "bit %u), which the guest saw", f->names[bit], f->function,
				      f->index, cpuid_reg_name(f->reg), bit);
		return cpu_why(why, len, "cpuid: this host lacks CPUID.0x%x.%u:%s bit %u, "
			      "which the guest saw", f->function, f->index,
			      cpuid_reg_name(f->reg), bit);
	}
	return check_xsave_layout(saved, n, host, hn, why, len);
}
