/* cpu_check.c - architectural checks of a saved vCPU state (cpu_check.h).
 *
 * The rules are those a real CPU enforces on MOV CR/WRMSR/XRSTOR and VM
 * entry (Intel SDM vol. 3 26.3.1, AMD APM vol. 2 15.5.1), restricted to the
 * state KVM_SET_* take; where KVM would silently mask a bad value, the
 * value is refused here instead, so no illegal state is ever kept.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/cpu_check.h"

#define BIT(n) (1ull << (n))

#define CR0_PE BIT(0)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR0_PG BIT(31)
/* PE MP EM TS ET NE, WP, AM, NW CD PG: everything else is reserved. */
#define CR0_DEFINED (0x3full | BIT(16) | BIT(18) | CR0_NW | CR0_CD | CR0_PG)
#define CR4_PAE BIT(5)
#define CR4_PCIDE BIT(17)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define RFLAGS_VM BIT(17)
/* Bits 1 (reads as 1), 3, 5, 15 and 22-63 of RFLAGS are reserved. */
#define RFLAGS_RSVD (BIT(3) | BIT(5) | BIT(15) | ~0x3fffffull)
#define APIC_BSP BIT(8)
#define APIC_EXTD BIT(10)
#define APIC_EN BIT(11)

int cpu_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

/* Bits 63..bits-1 all equal (bits is the linear-address width). */
static bool canonical(uint64_t v, unsigned bits)
{
	uint64_t top = v >> (bits - 1);

	return top == 0 || top == UINT64_MAX >> (bits - 1);
}

/* ---- segments ------------------------------------------------------------ */

struct seg_ctx {
	const struct cpu_caps *c;
	bool pm;        /* protected mode, not virtual-8086 */
	bool lma;
};

/* KVM on VMX marks a null segment unusable; on SVM (and PVM) it may only
 * clear present (a null SS in 64-bit mode, say).  Either means null. */
static bool usable(const struct kvm_segment *g)
{
	return !g->unusable && g->present;
}

static int seg_ranges(const char *n, const struct kvm_segment *g, char *why, size_t len)
{
	if (g->type > 15 || g->dpl > 3 || g->present > 1 || g->db > 1 || g->s > 1 ||
	    g->l > 1 || g->g > 1 || g->avl > 1 || g->unusable > 1)
		return cpu_why(why, len, "sregs.%s: type %u dpl %u present %u db %u s %u l %u g "
			       "%u avl %u unusable %u: a field out of its range", n, g->type,
			       g->dpl, g->present, g->db, g->s, g->l, g->g, g->avl, g->unusable);
	if (!usable(g))
		return 0;
	/* Byte granular limits fit 20 bits; page granular ones end in 0xfff. */
	if (g->g ? (g->limit & 0xfff) != 0xfff : g->limit > 0xfffff)
		return cpu_why(why, len, "sregs.%s.limit 0x%x with g %u: not a limit a "
			       "descriptor can give", n, g->limit, g->g);
	return 0;
}

static int check_code_data(const struct kvm_sregs *s, char *why, size_t len)
{
	static const char *const names[] = { "ds", "es", "fs", "gs" };
	const struct kvm_segment *d[] = { &s->ds, &s->es, &s->fs, &s->gs };

	if (!usable(&s->cs) || !s->cs.s || !(s->cs.type & 8))
		return cpu_why(why, len, "sregs.cs: type %u s %u present %u unusable %u: "
			       "protected mode needs a usable code segment", s->cs.type,
			       s->cs.s, s->cs.present, s->cs.unusable);
	/* CPL is SS.DPL; non-conforming code runs at its DPL, conforming at
	 * or above it (SDM 5.8.1). */
	if ((s->cs.type & 4) ? s->cs.dpl > s->ss.dpl : s->cs.dpl != s->ss.dpl)
		return cpu_why(why, len, "sregs.cs.dpl %u: does not fit CPL %u (ss.dpl) for "
			       "code type %u", s->cs.dpl, s->ss.dpl, s->cs.type);
	if (usable(&s->ss) && (!s->ss.s || (s->ss.type & 0xa) != 2))
		return cpu_why(why, len, "sregs.ss: type %u s %u: not a writable data "
			       "segment", s->ss.type, s->ss.s);
	for (int i = 0; i < 4; i++)
		if (usable(d[i]) && (!d[i]->s || (d[i]->type & 0xa) == 8))
			return cpu_why(why, len, "sregs.%s: type %u s %u: neither data nor "
				       "readable code", names[i], d[i]->type, d[i]->s);
	return 0;
}

static int check_system_segs(const struct seg_ctx *x, const struct kvm_sregs *s, char *why,
			     size_t len)
{
	const struct kvm_segment *tr = &s->tr, *ldt = &s->ldt;

	/* A busy TSS: 64-bit (11) in long mode, else 16- (3) or 32-bit (11). */
	if (!usable(tr) || tr->s || (tr->type != 11 && (x->lma || tr->type != 3)) ||
	    (tr->selector & 4))
		return cpu_why(why, len, "sregs.tr: type %u s %u present %u unusable %u "
			       "selector 0x%x: not a busy TSS in the GDT", tr->type, tr->s,
			       tr->present, tr->unusable, tr->selector);
	if (usable(ldt) && (ldt->s || ldt->type != 2 || (ldt->selector & 4)))
		return cpu_why(why, len, "sregs.ldt: type %u s %u selector 0x%x: not an LDT "
			       "in the GDT", ldt->type, ldt->s, ldt->selector);
	return 0;
}

static int check_bases(const struct seg_ctx *x, const struct kvm_sregs *s, char *why,
		       size_t len)
{
	static const char *const low_n[] = { "cs", "ss", "ds", "es" };
	static const char *const wide_n[] = { "fs", "gs", "tr", "ldt" };
	const struct kvm_segment *low[] = { &s->cs, &s->ss, &s->ds, &s->es };
	const struct kvm_segment *wide[] = { &s->fs, &s->gs, &s->tr, &s->ldt };
	unsigned vb = x->c->virt_bits;

	/* Descriptors hold 32-bit bases; only FS, GS (via MSRs) and system
	 * segments (16-byte descriptors) reach 64 bits. */
	for (int i = 0; i < 4; i++)
		if ((i == 0 || usable(low[i])) && low[i]->base >> 32)
			return cpu_why(why, len, "sregs.%s.base 0x%llx: above 4 GiB",
				       low_n[i], ull(low[i]->base));
	for (int i = 0; i < 4; i++)
		if (!canonical(wide[i]->base, vb))
			return cpu_why(why, len, "sregs.%s.base 0x%llx: not canonical (%u "
				       "bits)", wide_n[i], ull(wide[i]->base), vb);
	if (!canonical(s->gdt.base, vb) || !canonical(s->idt.base, vb))
		return cpu_why(why, len, "sregs.%s.base 0x%llx: not canonical (%u bits)",
			       canonical(s->gdt.base, vb) ? "idt" : "gdt",
			       ull(canonical(s->gdt.base, vb) ? s->idt.base : s->gdt.base), vb);
	return 0;
}

static int check_segments(const struct seg_ctx *x, const struct kvm_sregs *s, char *why,
			  size_t len)
{
	static const char *const names[] = { "cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt" };
	const struct kvm_segment *all[] = { &s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss,
					    &s->tr, &s->ldt };

	for (int i = 0; i < 8; i++)
		if (seg_ranges(names[i], all[i], why, len))
			return -1;
	if (x->lma && s->cs.l && s->cs.db)
		return cpu_why(why, len, "sregs.cs: l 1 with db 1: reserved in long mode");
	if (!x->lma && s->cs.l)
		return cpu_why(why, len, "sregs.cs.l 1: a 64-bit code segment outside long "
			       "mode");
	if (!(s->cr0 & CR0_PE) && s->ss.dpl)
		return cpu_why(why, len, "sregs.ss.dpl %u: real mode runs at CPL 0", s->ss.dpl);
	if (x->pm && (check_code_data(s, why, len) || check_system_segs(x, s, why, len)))
		return -1;
	return check_bases(x, s, why, len);
}

/* ---- control registers --------------------------------------------------- */

static int check_cr(const struct kvm_sregs *s, const struct cpu_caps *c, char *why,
		    size_t len)
{
	bool lma = s->efer & EFER_LMA;
	uint64_t cr3_ok;

	if (s->cr0 & ~CR0_DEFINED)
		return cpu_why(why, len, "sregs.cr0 0x%llx: reserved bits 0x%llx set",
			       ull(s->cr0), ull(s->cr0 & ~CR0_DEFINED));
	if ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE))
		return cpu_why(why, len, "sregs.cr0 0x%llx: PG without PE", ull(s->cr0));
	if ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD))
		return cpu_why(why, len, "sregs.cr0 0x%llx: NW without CD", ull(s->cr0));
	if (s->cr4 & ~c->cr4_ok)
		return cpu_why(why, len, "sregs.cr4 0x%llx: bits 0x%llx reserved or not in "
			       "the vCPU's CPUID", ull(s->cr4), ull(s->cr4 & ~c->cr4_ok));
	if ((s->cr4 & CR4_PCIDE) && !lma)
		return cpu_why(why, len, "sregs.cr4 0x%llx: PCIDE outside long mode",
			       ull(s->cr4));
	/* Outside long mode CR3 is 32 bits; in it, a physical address (LAM
	 * puts its two controls in bits 61-62). */
	cr3_ok = lma ? (BIT(c->phys_bits) - 1) | (c->lam ? BIT(61) | BIT(62) : 0) : 0xffffffffull;
	if (s->cr3 & ~cr3_ok)
		return cpu_why(why, len, "sregs.cr3 0x%llx: bits 0x%llx above MAXPHYADDR %u "
			       "or reserved", ull(s->cr3), ull(s->cr3 & ~cr3_ok),
			       lma ? c->phys_bits : 32);
	if (s->cr8 > 15)
		return cpu_why(why, len, "sregs.cr8 0x%llx: the task priority is 4 bits",
			       ull(s->cr8));
	return 0;
}

static int check_efer(uint64_t efer, const struct kvm_sregs *s, const struct cpu_caps *c,
		      const char *field, char *why, size_t len)
{
	bool want_lma = (efer & EFER_LME) && (s->cr0 & CR0_PG);

	if (efer & ~c->efer_ok)
		return cpu_why(why, len, "%s 0x%llx: bits 0x%llx reserved or not in the "
			       "vCPU's CPUID", field, ull(efer), ull(efer & ~c->efer_ok));
	if (!!(efer & EFER_LMA) != want_lma)
		return cpu_why(why, len, "%s 0x%llx: LMA %u but LME %u with CR0.PG %u", field,
			       ull(efer), !!(efer & EFER_LMA), !!(efer & EFER_LME),
			       !!(s->cr0 & CR0_PG));
	if ((efer & EFER_LMA) && !(s->cr4 & CR4_PAE))
		return cpu_why(why, len, "%s 0x%llx: long mode with CR4.PAE clear", field,
			       ull(efer));
	return 0;
}

static int check_apic_base(uint64_t v, const struct cpu_caps *c, const char *field,
			   char *why, size_t len)
{
	uint64_t ok = APIC_BSP | APIC_EN | (c->x2apic ? APIC_EXTD : 0) |
		      ((BIT(c->phys_bits) - 1) & ~0xfffull);

	if (v & ~ok)
		return cpu_why(why, len, "%s 0x%llx: reserved bits 0x%llx set", field, ull(v),
			       ull(v & ~ok));
	if ((v & APIC_EXTD) && !(v & APIC_EN))
		return cpu_why(why, len, "%s 0x%llx: x2APIC mode with the APIC disabled",
			       field, ull(v));
	return 0;
}

/* At most one pending external interrupt (KVM takes the first set bit). */
static int pending_irq(const struct kvm_sregs *s, int *vec)
{
	int n = 0;

	*vec = -1;
	for (int i = 0; i < 256; i++)
		if (s->interrupt_bitmap[i / 64] >> (i % 64) & 1) {
			if (*vec < 0)
				*vec = i;
			n++;
		}
	return n;
}

int cpu_check_sregs(const struct kvm_sregs *s, const struct cpu_caps *c, char *why,
		    size_t len)
{
	struct seg_ctx x = { .c = c, .lma = s->efer & EFER_LMA, .pm = s->cr0 & CR0_PE };
	int vec;

	if (check_cr(s, c, why, len) || check_efer(s->efer, s, c, "sregs.efer", why, len) ||
	    check_apic_base(s->apic_base, c, "sregs.apic_base", why, len))
		return -1;
	if (pending_irq(s, &vec) > 1)
		return cpu_why(why, len, "sregs.interrupt_bitmap: more than one pending "
			       "interrupt (first: vector %d)", vec);
	return check_segments(&x, s, why, len);
}

int cpu_check_regs(const struct kvm_regs *r, const struct kvm_sregs *s,
		   const struct cpu_caps *c, char *why, size_t len)
{
	bool lma = s->efer & EFER_LMA;

	if ((r->rflags & RFLAGS_RSVD) || !(r->rflags & BIT(1)))
		return cpu_why(why, len, "regs.rflags 0x%llx: reserved bits wrong (bit 1 must "
			       "be 1; 3, 5, 15, 22-63 must be 0)", ull(r->rflags));
	if ((r->rflags & RFLAGS_VM) && lma)
		return cpu_why(why, len, "regs.rflags 0x%llx: virtual-8086 mode in long mode",
			       ull(r->rflags));
	if (lma && s->cs.l ? !canonical(r->rip, c->virt_bits) : r->rip >> 32 != 0)
		return cpu_why(why, len, "regs.rip 0x%llx: %s", ull(r->rip),
			       lma && s->cs.l ? "not canonical" : "above 4 GiB outside 64-bit "
			       "mode");
	return 0;
}

/* ---- XCR0 and the XSAVE area --------------------------------------------- */

#define XFEAT_X87 BIT(0)
#define XFEAT_SSE BIT(1)
#define XFEAT_YMM BIT(2)
#define XFEAT_MPX (BIT(3) | BIT(4))
#define XFEAT_AVX512 (BIT(5) | BIT(6) | BIT(7))
#define XFEAT_AMX (BIT(17) | BIT(18))

int cpu_check_xcrs(const struct kvm_xcrs *x, const struct cpu_caps *c, char *why,
		   size_t len)
{
	uint64_t v;

	if (x->nr_xcrs > 1 || (x->nr_xcrs && x->xcrs[0].xcr != 0))
		return cpu_why(why, len, "xcrs: %u registers, first XCR%u: only XCR0 exists",
			       x->nr_xcrs, x->nr_xcrs ? x->xcrs[0].xcr : 0);
	if (!x->nr_xcrs)
		return 0;
	v = x->xcrs[0].value;
	if (v & ~c->xcr0_ok)
		return cpu_why(why, len, "xcrs.xcr0 0x%llx: components 0x%llx not in the "
			       "vCPU's CPUID", ull(v), ull(v & ~c->xcr0_ok));
	/* The combinations XSETBV refuses (SDM vol. 1 13.3). */
	if (!(v & XFEAT_X87) || ((v & XFEAT_YMM) && !(v & XFEAT_SSE)) ||
	    ((v & XFEAT_MPX) && (v & XFEAT_MPX) != XFEAT_MPX) ||
	    ((v & XFEAT_AVX512) && ((v & XFEAT_AVX512) != XFEAT_AVX512 || !(v & XFEAT_YMM))) ||
	    ((v & XFEAT_AMX) && (v & XFEAT_AMX) != XFEAT_AMX))
		return cpu_why(why, len, "xcrs.xcr0 0x%llx: a combination XSETBV refuses",
			       ull(v));
	return 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define XS_MXCSR 24
#define XS_HDR 512
#define XS_HDR_END 576

int cpu_check_xsave(const uint8_t *area, uint32_t len, uint64_t xcr0,
		    const struct kvm_cpuid_entry2 *cpuid, uint32_t ncpuid, uint32_t host_len,
		    char *why, size_t len_why)
{
	uint64_t bv, comp;
	uint32_t mxcsr, room = len < host_len ? len : host_len;

	if (len < XS_HDR_END)
		return cpu_why(why, len_why, "xsave.len %u: shorter than its header", len);
	mxcsr = (uint32_t)le64(area + XS_MXCSR);
	bv = le64(area + XS_HDR);
	comp = le64(area + XS_HDR + 8);
	if (mxcsr >> 16)
		return cpu_why(why, len_why, "xsave.mxcsr 0x%x: reserved bits 16-31 set", mxcsr);
	if (bv & ~xcr0)
		return cpu_why(why, len_why, "xsave.xstate_bv 0x%llx: components 0x%llx not "
			       "in the vCPU's CPUID (allowed 0x%llx)", ull(bv), ull(bv & ~xcr0),
			       ull(xcr0));
	if (comp)
		return cpu_why(why, len_why, "xsave.xcomp_bv 0x%llx: KVM's area is in standard "
			       "form, 0", ull(comp));
	for (unsigned i = XS_HDR + 16; i < XS_HDR_END; i++)
		if (area[i])
			return cpu_why(why, len_why, "xsave header byte %u: 0x%02x in the "
				       "reserved bytes 528-575", i, area[i]);
	for (unsigned i = 2; i < 64; i++) {
		const struct kvm_cpuid_entry2 *e;

		if (!(bv >> i & 1))
			continue;
		e = cpu_cpuid_find(cpuid, ncpuid, 0xd, i);
		if (!e || !e->eax || (uint64_t)e->ebx + e->eax > room || e->ebx < XS_HDR_END)
			return cpu_why(why, len_why, "xsave.xstate_bv 0x%llx: component %u (at "
				       "%u, %u bytes) outside the %u-byte area", ull(bv), i,
				       e ? e->ebx : 0, e ? e->eax : 0, room);
	}
	return 0;
}

/* ---- MSRs ------------------------------------------------------------------ */

#define MSR_APIC_BASE 0x1b
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_PAT 0x277
#define MSR_EFER 0xc0000080
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

static int check_msr_value(uint32_t idx, uint64_t v, const struct kvm_sregs *s,
			   const struct cpu_caps *c, char *why, size_t len)
{
	char field[32];

	snprintf(field, sizeof(field), "msr 0x%x", idx);
	switch (idx) {
	case MSR_EFER:
		if (check_efer(v, s, c, field, why, len))
			return -1;
		if (v != s->efer)
			return cpu_why(why, len, "msr 0x%x (EFER) 0x%llx: differs from "
				       "sregs.efer 0x%llx", idx, ull(v), ull(s->efer));
		return 0;
	case MSR_APIC_BASE:
		if (v != s->apic_base)
			return cpu_why(why, len, "msr 0x%x (APIC_BASE) 0x%llx: differs from "
				       "sregs.apic_base 0x%llx", idx, ull(v), ull(s->apic_base));
		return 0;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		if (v != (idx == MSR_FS_BASE ? s->fs.base : s->gs.base))
			return cpu_why(why, len, "msr 0x%x (%s_BASE) 0x%llx: differs from "
				       "sregs.%s.base", idx, idx == MSR_FS_BASE ? "FS" : "GS",
				       ull(v), idx == MSR_FS_BASE ? "fs" : "gs");
		return 0;
	case MSR_PAT:
		/* Each byte a memory type: UC WC - - WT WP WB UC- (SDM 12.12.2). */
		for (int i = 0; i < 8; i++) {
			unsigned t = (unsigned)(v >> (8 * i)) & 0xff;

			if (t > 7 || t == 2 || t == 3)
				return cpu_why(why, len, "msr 0x%x (PAT) 0x%llx: entry %d is "
					       "memory type %u, not one of 0 1 4 5 6 7", idx,
					       ull(v), i, t);
		}
		return 0;
	case MSR_SYSENTER_ESP:
	case MSR_SYSENTER_EIP:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_KERNEL_GS_BASE:
		if (!canonical(v, c->virt_bits))
			return cpu_why(why, len, "msr 0x%x 0x%llx: not a canonical address",
				       idx, ull(v));
		return 0;
	case MSR_SFMASK:
	case MSR_TSC_AUX:
		if (v >> 32)
			return cpu_why(why, len, "msr 0x%x 0x%llx: reserved bits 32-63 set",
				       idx, ull(v));
		return 0;
	default:
		return 0;
	}
}

int cpu_check_msrs(const struct kvm_msr_entry *m, uint32_t n, const uint32_t *allowed,
		   uint32_t nallowed, const struct kvm_sregs *s, const struct cpu_caps *c,
		   char *why, size_t len)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j;

		for (j = 0; j < nallowed && allowed[j] != m[i].index; j++)
			;
		if (j == nallowed)
			return cpu_why(why, len, "msr 0x%x (entry %u): not an MSR this VMM saves "
				       "on this host", m[i].index, i);
		for (j = 0; j < i; j++)
			if (m[j].index == m[i].index)
				return cpu_why(why, len, "msr 0x%x (entry %u): listed twice",
					       m[i].index, i);
		if (check_msr_value(m[i].index, m[i].data, s, c, why, len))
			return -1;
	}
	return 0;
}

/* ---- debug registers, events, MP state, clock ---------------------------- */

int cpu_check_debugregs(const struct kvm_debugregs *d, char *why, size_t len)
{
	if (d->flags)
		return cpu_why(why, len, "debugregs.flags 0x%llx: must be 0", ull(d->flags));
	if (d->dr6 >> 32)
		return cpu_why(why, len, "debugregs.dr6 0x%llx: reserved bits 32-63 set",
			       ull(d->dr6));
	/* Bit 10 reads as 1; 12, 14, 15 and 32-63 are reserved 0. */
	if ((d->dr7 >> 32) || (d->dr7 & 0xd000) || !(d->dr7 & BIT(10)))
		return cpu_why(why, len, "debugregs.dr7 0x%llx: reserved bits wrong (10 must "
			       "be 1; 12, 14, 15, 32-63 must be 0)", ull(d->dr7));
	return 0;
}

/* Exceptions that push an error code in protected mode (SDM 6.13). */
static bool has_error_code(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

#define EV_FLAGS_OK (KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR | \
		     KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM)

static int check_interrupt(const struct kvm_vcpu_events *e, const struct kvm_sregs *s,
			   char *why, size_t len)
{
	int vec;

	if (e->interrupt.injected > 1 || e->interrupt.soft > 1 ||
	    e->interrupt.shadow & ~(KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI))
		return cpu_why(why, len, "events.interrupt: injected %u soft %u shadow %u: out "
			       "of range", e->interrupt.injected, e->interrupt.soft,
			       e->interrupt.shadow);
	/* KVM reports one injected hardware interrupt in both places. */
	pending_irq(s, &vec);
	if (e->interrupt.injected && !e->interrupt.soft ? vec != e->interrupt.nr : vec >= 0)
		return cpu_why(why, len, "events.interrupt: injected %u soft %u vector %u: "
			       "disagrees with sregs.interrupt_bitmap (vector %d)",
			       e->interrupt.injected, e->interrupt.soft, e->interrupt.nr, vec);
	return 0;
}

int cpu_check_events(const struct kvm_vcpu_events *e, const struct kvm_sregs *s,
		     char *why, size_t len)
{
	if (e->flags & ~(uint32_t)EV_FLAGS_OK)
		return cpu_why(why, len, "events.flags 0x%x: bits 0x%x this VMM does not "
			       "enable", e->flags, e->flags & ~(uint32_t)EV_FLAGS_OK);
	/* Without KVM_CAP_EXCEPTION_PAYLOAD, KVM reports a pending exception
	 * as pending and injected both, and KVM_SET_VCPU_EVENTS then takes it
	 * as injected: only pending alone has no meaning here. */
	if (e->exception.injected > 1 || e->exception.pending > 1 ||
	    (e->exception.pending && !e->exception.injected) ||
	    e->exception.has_error_code > 1 || e->exception_has_payload ||
	    e->exception_payload)
		return cpu_why(why, len, "events.exception: injected %u pending %u "
			       "has_error_code %u payload %u: out of range (no exception "
			       "payloads here)", e->exception.injected, e->exception.pending, e->exception.has_error_code,
			       e->exception_has_payload);
	if (e->exception.injected && (e->exception.nr > 31 || e->exception.nr == 2))
		return cpu_why(why, len, "events.exception.nr %u: not an exception vector",
			       e->exception.nr);
	if (e->exception.injected && (e->exception.has_error_code ? !has_error_code(e->exception.nr) :
			    (s->cr0 & CR0_PE) && has_error_code(e->exception.nr)))
		return cpu_why(why, len, "events.exception: vector %u %s an error code",
			       e->exception.nr, e->exception.has_error_code ? "with" : "without");
	if (check_interrupt(e, s, why, len))
		return -1;
	if (e->nmi.injected > 1 || e->nmi.pending > 1 || e->nmi.masked > 1)
		return cpu_why(why, len, "events.nmi: injected %u pending %u masked %u: out of "
			       "range", e->nmi.injected, e->nmi.pending, e->nmi.masked);
	if (e->sipi_vector > 255)
		return cpu_why(why, len, "events.sipi_vector %u: above 255", e->sipi_vector);
	/* This VMM never raises an SMI and has no SMRAM. */
	if (e->smi.smm || e->smi.pending || e->smi.smm_inside_nmi || e->smi.latched_init)
		return cpu_why(why, len, "events.smi: smm %u pending %u: this VMM has no SMM",
			       e->smi.smm, e->smi.pending);
	if (e->triple_fault.pending)
		return cpu_why(why, len, "events.triple_fault.pending %u: this VMM does not "
			       "enable triple-fault events", e->triple_fault.pending);
	return 0;
}

int cpu_check_mp_state(uint32_t mp, bool lapic, char *why, size_t len)
{
	/* With KVM's LAPIC a vCPU may also be halted inside KVM or waiting for
	 * INIT/SIPI (x86 has no other states). */
	if (lapic && mp <= KVM_MP_STATE_SIPI_RECEIVED)
		return 0;
	if (mp != KVM_MP_STATE_RUNNABLE)
		return cpu_why(why, len, lapic ? "mp_state %u: not an x86 state (0-4)" :
			       "mp_state %u: without an in-kernel LAPIC only RUNNABLE (0) "
			       "exists", mp);
	return 0;
}

#define CLOCK_FLAGS_OK (KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)

int cpu_check_clock(const struct kvm_clock_data *k, char *why, size_t len)
{
	if (k->flags & ~(uint32_t)CLOCK_FLAGS_OK)
		return cpu_why(why, len, "kvmclock.flags 0x%x: unknown bits", k->flags);
	/* KVM computes with the clock as a signed 64-bit count. */
	if (k->clock >> 63)
		return cpu_why(why, len, "kvmclock.clock 0x%llx: beyond 2^63 ns", ull(k->clock));
	return 0;
}

enum cpu_tsc_plan cpu_tsc_plan(uint32_t saved_khz, uint32_t host_khz, bool can_scale,
			       char *why, size_t len)
{
	uint64_t diff;

	if (!saved_khz)
		return CPU_TSC_KEEP;
	if (!host_khz) {
		cpu_why(why, len, "tsc_khz %u: this host cannot report its TSC frequency",
			saved_khz);
		return CPU_TSC_REFUSE;
	}
	diff = saved_khz > host_khz ? saved_khz - host_khz : host_khz - saved_khz;
	if (diff * 1000000u <= (uint64_t)saved_khz * CPU_TSC_TOLERANCE_PPM)
		return CPU_TSC_KEEP;
	if (can_scale)
		return CPU_TSC_SCALE;
	cpu_why(why, len, "tsc_khz %u: this host's TSC runs at %u kHz and KVM cannot scale "
		"it (no KVM_CAP_TSC_CONTROL)", saved_khz, host_khz);
	return CPU_TSC_REFUSE;
}

/* ---- the whole snapshot -------------------------------------------------- */

static int at(enum cpu_section *sec, enum cpu_section which)
{
	*sec = which;
	return -1;
}

int cpu_check_snapshot(const struct cpu_snapshot *s, const struct cpu_host *host,
		       enum cpu_section *sec, char *why, size_t len)
{
	struct cpu_caps c;
	uint64_t xcr0;
	if (cpu_check_cpuid(s->cpuid, s->ncpuid, host->cpuid, host->ncpuid, why, len))
		return at(sec, CPU_SEC_CPUID);
	if (s->tsc_khz && (s->tsc_khz < CPU_TSC_KHZ_MIN || s->tsc_khz > CPU_TSC_KHZ_MAX))
	{
		cpu_why(why, len, "tsc_khz %u: not from %u to %u", s->tsc_khz, CPU_TSC_KHZ_MIN,
			CPU_TSC_KHZ_MAX);
		return at(sec, CPU_SEC_TSC);
	}
	cpu_caps_get(s->cpuid, s->ncpuid, &c);
	/* KVM's area holds every component the CPUID allows, whatever the
	 * guest's XCR0 (PKRU, say, is present with XCR0 = x87 only). */
	xcr0 = c.xcr0_ok | XFEAT_SSE;
	if (cpu_check_sregs(&s->sregs, &c, why, len))
		return at(sec, CPU_SEC_SREGS);
	if (cpu_check_regs(&s->regs, &s->sregs, &c, why, len))
		return at(sec, CPU_SEC_REGS);
	if (cpu_check_xcrs(&s->xcrs, &c, why, len))
		return at(sec, CPU_SEC_XCRS);
	if (cpu_check_xsave(s->xsave, s->xsave_len, xcr0, s->cpuid, s->ncpuid, host->xsave_len,
			    why, len))
		return at(sec, CPU_SEC_XSAVE);
	if (cpu_check_msrs(s->msrs, s->nmsrs, host->msrs, host->nmsrs, &s->sregs, &c, why, len))
		return at(sec, CPU_SEC_MSRS);
	if (cpu_check_debugregs(&s->dbg, why, len))
		return at(sec, CPU_SEC_DEBUGREGS);
	if (cpu_check_events(&s->ev, &s->sregs, why, len))
		return at(sec, CPU_SEC_EVENTS);
	if (cpu_check_mp_state(s->mp_state, host->lapic, why, len))
		return at(sec, CPU_SEC_MP);
	if (cpu_check_clock(&s->clk, why, len))
		return at(sec, CPU_SEC_CLOCK);
	return 0;
}
