/* fake_kvm_vcpu.c - the fake vCPU: its state, its ioctls and the checks
 * KVM applies to what userspace sets (see fake_kvm.h for what a failed
 * check does).  Checks follow arch/x86/kvm/x86.c: kvm_is_valid_sregs,
 * kvm_is_valid_cr0/cr4, kvm_apic_set_base, __kvm_set_xcr, the uabi XSAVE
 * header, set_debugregs, set_vcpu_events, set_mpstate (no in-kernel
 * irqchip), MSR writes; plus what KVM leaves to VM entry: reserved CR0,
 * CR8 and EFER bits, EFER.LMA against LME and CR0.PG, segment fields. */
#include "tests/fuzz/fake_kvm.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CR0_PE (1ull << 0)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR0_VALID 0xe005003full         /* PE MP EM TS ET NE WP AM NW CD PG */
#define CR4_PAE (1ull << 5)
#define CR4_PCIDE (1ull << 17)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NX (1ull << 11)
#define EFER_SVME (1ull << 12)
#define EFER_FFXSR (1ull << 14)
#define MSR_EFER 0xc0000080u
#define MSR_PAT 0x277u
#define MSR_APIC_BASE 0x1bu
#define XSAVE_HDR 512u

/* ---- the guest CPUID (what KVM_SET_CPUID2 gave) ---- */

static const struct kvm_cpuid_entry2 *leaf(const struct fake_vcpu *v, uint32_t fn,
					    uint32_t idx)
{
	for (uint32_t i = 0; i < v->ncpuid; i++)
		if (v->cpuid[i].function == fn &&
		    (!(v->cpuid[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     v->cpuid[i].index == idx))
			return &v->cpuid[i];
	return NULL;
}

static bool has(const struct fake_vcpu *v, uint32_t fn, uint32_t idx, int reg, int bit)
{
	const struct kvm_cpuid_entry2 *e = leaf(v, fn, idx);
	uint32_t r;

	if (!e)
		return false;
	r = reg == 0 ? e->eax : reg == 1 ? e->ebx : reg == 2 ? e->ecx : e->edx;
	return r >> bit & 1;
}

enum { EAX, EBX, ECX, EDX };

static unsigned maxphyaddr(const struct fake_vcpu *v)
{
	const struct kvm_cpuid_entry2 *e = leaf(v, 0x80000008, 0);

	return e && (e->eax & 0xff) ? e->eax & 0xff : 36;
}

static uint64_t guest_xcr0(const struct fake_vcpu *v)
{
	const struct kvm_cpuid_entry2 *e = leaf(v, 0xd, 0), *h = NULL;
	uint32_t n;
	const struct kvm_cpuid_entry2 *host = fake_kvm_host_cpuid(&n);

	for (uint32_t i = 0; i < n; i++)
		if (host[i].function == 0xd && host[i].index == 0)
			h = &host[i];
	if (!e || !h)
		return 3;
	return (((uint64_t)e->edx << 32 | e->eax) & ((uint64_t)h->edx << 32 | h->eax)) | 3;
}

/* CR4 bits KVM lets this guest set (__cr4_reserved_bits). */
static uint64_t cr4_valid(const struct fake_vcpu *v)
{
	uint64_t ok = 0x7ff;    /* VME .. OSXMMEXCPT */

	if (has(v, 1, 0, ECX, 26))
		ok |= 1ull << 18;       /* OSXSAVE */
	if (has(v, 1, 0, ECX, 17))
		ok |= CR4_PCIDE;
	if (has(v, 1, 0, ECX, 5))
		ok |= 1ull << 13;       /* VMXE */
	if (has(v, 7, 0, EBX, 0))
		ok |= 1ull << 16;       /* FSGSBASE */
	if (has(v, 7, 0, EBX, 7))
		ok |= 1ull << 20;       /* SMEP */
	if (has(v, 7, 0, EBX, 20))
		ok |= 1ull << 21;       /* SMAP */
	if (has(v, 7, 0, ECX, 2))
		ok |= 1ull << 11;       /* UMIP */
	if (has(v, 7, 0, ECX, 3))
		ok |= 1ull << 22;       /* PKE */
	if (has(v, 7, 0, ECX, 16))
		ok |= 1ull << 12;       /* LA57 */
	return ok;
}

/* EFER bits this guest may have (efer_reserved_bits, __kvm_valid_efer). */
static uint64_t efer_valid(const struct fake_vcpu *v)
{
	uint64_t ok = EFER_SCE;

	if (has(v, 0x80000001, 0, EDX, 29))
		ok |= EFER_LME | EFER_LMA;
	if (has(v, 0x80000001, 0, EDX, 20))
		ok |= EFER_NX;
	if (has(v, 0x80000001, 0, ECX, 2))
		ok |= EFER_SVME;
	if (has(v, 0x80000001, 0, EDX, 25))
		ok |= EFER_FFXSR;
	return ok;
}

/* ---- reset state (what KVM_CREATE_VCPU gives) ---- */

static void seg(struct kvm_segment *s, uint64_t base, uint16_t sel, uint8_t type,
		uint8_t code_data)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->limit = 0xffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = code_data;
}

void fake_vcpu_reset(struct fake_vcpu *v)
{
	uint32_t n;
	const uint32_t *idx = fake_kvm_msr_list(&n);

	memset(v, 0, sizeof(*v));
	v->regs.rip = 0xfff0;
	v->regs.rflags = 2;
	seg(&v->sregs.cs, 0xffff0000, 0xf000, 11, 1);
	seg(&v->sregs.ds, 0, 0, 3, 1);
	v->sregs.es = v->sregs.fs = v->sregs.gs = v->sregs.ss = v->sregs.ds;
	seg(&v->sregs.tr, 0, 0, 11, 0);
	seg(&v->sregs.ldt, 0, 0, 2, 0);
	v->sregs.gdt.limit = v->sregs.idt.limit = 0xffff;
	v->sregs.cr0 = 0x60000010;
	v->sregs.apic_base = 0xfee00900;
	v->xcrs.nr_xcrs = 1;
	v->xcrs.xcrs[0].value = 1;
	v->xsave[0] = 0x7f;             /* FCW 0x37f */
	v->xsave[1] = 0x03;
	v->xsave[24] = 0x80;            /* MXCSR 0x1f80 */
	v->xsave[25] = 0x1f;
	for (uint32_t i = 0; i < n; i++)
		if (idx[i] == MSR_PAT)
			v->msr_val[i] = 0x0007040600070406ull;
	v->dbg.dr6 = 0xffff0ff0;
	v->dbg.dr7 = 0x400;
	v->mp.mp_state = KVM_MP_STATE_RUNNABLE;
	v->tsc_khz = FAKE_KVM_TSC_KHZ;
}

/* ---- checks ---- */

static int check_seg(const char *name, const struct kvm_segment *s)
{
	if (s->type > 15 || s->present > 1 || s->dpl > 3 || s->db > 1 || s->s > 1 ||
	    s->l > 1 || s->g > 1 || s->avl > 1 || s->unusable > 1)
		return fake_kvm_reject("KVM_SET_SREGS", "segment %s has a field out of range "
				       "(type %u present %u dpl %u db %u s %u l %u g %u avl %u "
				       "unusable %u)", name, s->type, s->present, s->dpl, s->db,
				       s->s, s->l, s->g, s->avl, s->unusable);
	return 0;
}

static int set_sregs(struct fake_vcpu *v, const struct kvm_sregs *s)
{
	static const char *const names[] = { "cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt" };
	const struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss,
					     &s->tr, &s->ldt };
	uint64_t phys_rsvd = ~0ull << maxphyaddr(v);
	bool lma = s->efer & EFER_LMA;

	if (s->cr0 & ~CR0_VALID)
		return fake_kvm_reject("KVM_SET_SREGS", "CR0 0x%llx has reserved bits",
				       (unsigned long long)s->cr0);
	if ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD))
		return fake_kvm_reject("KVM_SET_SREGS", "CR0 0x%llx: NW without CD",
				       (unsigned long long)s->cr0);
	if ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE))
		return fake_kvm_reject("KVM_SET_SREGS", "CR0 0x%llx: PG without PE",
				       (unsigned long long)s->cr0);
	if (s->cr4 & ~cr4_valid(v))
		return fake_kvm_reject("KVM_SET_SREGS", "CR4 0x%llx has bits this CPU lacks "
				       "(valid 0x%llx)", (unsigned long long)s->cr4,
				       (unsigned long long)cr4_valid(v));
	if (s->cr8 > 15)
		return fake_kvm_reject("KVM_SET_SREGS", "CR8 0x%llx above 15",
				       (unsigned long long)s->cr8);
	if (s->efer & ~efer_valid(v))
		return fake_kvm_reject("KVM_SET_SREGS", "EFER 0x%llx has reserved bits",
				       (unsigned long long)s->efer);
	if ((s->efer & EFER_LME) && (s->cr0 & CR0_PG)) {
		if (!(s->cr4 & CR4_PAE) || !lma)
			return fake_kvm_reject("KVM_SET_SREGS", "long mode (EFER.LME, CR0.PG) "
					       "without CR4.PAE or EFER.LMA");
		if (s->cr3 & phys_rsvd & ~(1ull << 63))
			return fake_kvm_reject("KVM_SET_SREGS", "CR3 0x%llx beyond MAXPHYADDR",
					       (unsigned long long)s->cr3);
	} else if (lma || s->cs.l) {
		return fake_kvm_reject("KVM_SET_SREGS", "EFER.LMA or CS.L outside long mode");
	}
	if ((s->apic_base & (phys_rsvd | 0x2ff)) ||
	    (!has(v, 1, 0, ECX, 21) && (s->apic_base & (1u << 10))) ||
	    ((s->apic_base & (3u << 10)) == (1u << 10)))
		return fake_kvm_reject("KVM_SET_SREGS", "APIC base 0x%llx invalid",
				       (unsigned long long)s->apic_base);
	for (int i = 0; i < 8; i++)
		if (check_seg(names[i], segs[i]))
			return -1;
	v->sregs = *s;
	return 0;
}

static int set_xcrs(struct fake_vcpu *v, const struct kvm_xcrs *x)
{
	uint64_t ok = guest_xcr0(v);

	if (x->nr_xcrs > KVM_MAX_XCRS || x->flags)
		return fake_kvm_reject("KVM_SET_XCRS", "%u XCRs, flags 0x%x", x->nr_xcrs,
				       x->flags);
	for (uint32_t i = 0; i < x->nr_xcrs; i++) {
		uint64_t x0 = x->xcrs[i].value;

		if (x->xcrs[i].xcr != 0)
			return fake_kvm_reject("KVM_SET_XCRS", "XCR %u does not exist",
					       x->xcrs[i].xcr);
		if (!(x0 & 1) || ((x0 & 4) && !(x0 & 2)) || (x0 & ~ok) ||
		    !(x0 & 0x8) != !(x0 & 0x10) ||
		    ((x0 & 0xe0) && ((x0 & 0xe0) != 0xe0 || !(x0 & 4))))
			return fake_kvm_reject("KVM_SET_XCRS", "XCR0 0x%llx invalid (supported "
					       "0x%llx)", (unsigned long long)x0,
					       (unsigned long long)ok);
		v->xcrs = *x;
	}
	return 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static int set_xsave(struct fake_vcpu *v, const uint8_t *x)
{
	uint64_t bv = le64(x + XSAVE_HDR), comp = le64(x + XSAVE_HDR + 8);
	uint32_t mxcsr;

	memcpy(&mxcsr, x + 24, 4);
	if (bv & ~guest_xcr0(v))
		return fake_kvm_reject("KVM_SET_XSAVE", "XSTATE_BV 0x%llx beyond XCR0 0x%llx",
				       (unsigned long long)bv,
				       (unsigned long long)guest_xcr0(v));
	if (comp)
		return fake_kvm_reject("KVM_SET_XSAVE", "compacted format (XCOMP_BV 0x%llx)",
				       (unsigned long long)comp);
	for (unsigned i = 16; i < 64; i++)
		if (x[XSAVE_HDR + i])
			return fake_kvm_reject("KVM_SET_XSAVE", "reserved header byte %u set",
					       XSAVE_HDR + i);
	if ((bv & 6) && (mxcsr & 0xffff0000u))
		return fake_kvm_reject("KVM_SET_XSAVE", "MXCSR 0x%x has reserved bits", mxcsr);
	memcpy(v->xsave, x, FAKE_KVM_XSAVE_SIZE);
	return 0;
}

static int set_debugregs(struct fake_vcpu *v, const struct kvm_debugregs *d)
{
	if (d->flags || d->dr6 >> 32 || d->dr7 >> 32)
		return fake_kvm_reject("KVM_SET_DEBUGREGS", "flags 0x%llx DR6 0x%llx DR7 0x%llx",
				       (unsigned long long)d->flags, (unsigned long long)d->dr6,
				       (unsigned long long)d->dr7);
	v->dbg = *d;
	return 0;
}

static int set_events(struct fake_vcpu *v, const struct kvm_vcpu_events *e)
{
	const uint32_t known = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			       KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM |
			       KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	const uint8_t flags[] = { e->exception.injected, e->exception.has_error_code,
				  e->exception.pending, e->interrupt.injected, e->interrupt.soft,
				  e->nmi.injected, e->nmi.masked, e->smi.smm, e->smi.pending,
				  e->smi.smm_inside_nmi, e->smi.latched_init,
				  e->triple_fault.pending, e->exception_has_payload };

	if (e->flags & ~known)
		return fake_kvm_reject("KVM_SET_VCPU_EVENTS", "unknown flags 0x%x", e->flags);
	if ((e->flags & KVM_VCPUEVENT_VALID_PAYLOAD) && !fake_kvm_exception_payload())
		return fake_kvm_reject("KVM_SET_VCPU_EVENTS", "payload flag without "
				       "KVM_CAP_EXCEPTION_PAYLOAD");
	if (e->flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
		return fake_kvm_reject("KVM_SET_VCPU_EVENTS", "triple-fault flag without "
				       "KVM_CAP_X86_TRIPLE_FAULT_EVENT");
	if ((e->exception.injected || e->exception.pending) &&
	    (e->exception.nr > 31 || e->exception.nr == 2))
		return fake_kvm_reject("KVM_SET_VCPU_EVENTS", "exception vector %u",
				       e->exception.nr);
	if ((e->flags & KVM_VCPUEVENT_VALID_SMM) && (e->smi.smm || e->smi.pending) &&
	    v->mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
		return fake_kvm_reject("KVM_SET_VCPU_EVENTS", "SMM with an INIT received");
	for (size_t i = 0; i < sizeof(flags); i++)
		if (flags[i] > 1)
			return fake_kvm_reject("KVM_SET_VCPU_EVENTS", "flag field %zu is %u, "
					       "not 0 or 1", i, flags[i]);
	if (e->interrupt.shadow > 3)
		return fake_kvm_reject("KVM_SET_VCPU_EVENTS", "interrupt shadow %u",
				       e->interrupt.shadow);
	v->ev = *e;
	return 0;
}

static int msr_pos(uint32_t index)
{
	uint32_t n;
	const uint32_t *idx = fake_kvm_msr_list(&n);

	for (uint32_t i = 0; i < n; i++)
		if (idx[i] == index)
			return (int)i;
	return -1;
}

static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static bool pat_valid(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		unsigned t = (unsigned)(pat >> (8 * i) & 0xff);

		if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7)
			return false;
	}
	return true;
}

/* Whether KVM takes value for MSR index (host-initiated write). */
static bool msr_value_ok(const struct fake_vcpu *v, uint32_t index, uint64_t val)
{
	switch (index) {
	case 0x174: case 0x175: case 0x176:             /* SYSENTER */
	case 0xc0000081:                                /* STAR: any */
		return index == 0xc0000081 || canonical(val);
	case 0xc0000082: case 0xc0000083:               /* LSTAR, CSTAR */
	case 0xc0000100: case 0xc0000101: case 0xc0000102:
		return canonical(val);
	case MSR_PAT:
		return pat_valid(val);
	case 0x48:                                      /* SPEC_CTRL */
		return !(val & ~0x87ull);
	case 0x1d9:                                     /* DEBUGCTL */
		return !(val & ~0x3full);
	case 0x4b564d02:                                /* ASYNC_PF_EN: no LAPIC */
	case 0x4b564d04:                                /* PV_EOI_EN: no LAPIC */
		return val == 0;
	case 0x4b564d03:                                /* STEAL_TIME */
		return !(val & 0x30ull) && !(val & (~0ull << maxphyaddr(v)));
	default:
		return true;
	}
}

static int set_msrs(struct fake_vcpu *v, struct kvm_msrs *m)
{
	if (m->nmsrs >= 256)
		return fake_kvm_reject("KVM_SET_MSRS", "%u MSRs (KVM takes at most 255)",
				       m->nmsrs);
	for (uint32_t i = 0; i < m->nmsrs; i++) {
		uint32_t index = m->entries[i].index;
		uint64_t val = m->entries[i].data;
		int p = msr_pos(index);

		if (p < 0)
			return fake_kvm_reject("KVM_SET_MSRS", "MSR 0x%x is not one KVM lists",
					       index);
		if (!msr_value_ok(v, index, val))
			return (int)i;          /* KVM stops at the first refusal */
		v->msr_val[p] = val;
	}
	return (int)m->nmsrs;
}

static int get_msrs(struct fake_vcpu *v, struct kvm_msrs *m)
{
	if (m->nmsrs >= 256) {
		errno = E2BIG;
		return -1;
	}
	for (uint32_t i = 0; i < m->nmsrs; i++) {
		int p = msr_pos(m->entries[i].index);

		if (p < 0)
			return (int)i;
		m->entries[i].data = v->msr_val[p];
	}
	return (int)m->nmsrs;
}

/* Feature registers compared with the host: a guest may not see a
 * feature the host lacks (KVM would take it silently). */
static int check_cpuid_features(const struct kvm_cpuid_entry2 *e)
{
	static const struct { uint32_t fn, idx; uint32_t mask[4]; } feat[] = {
		/* leaf 1: ECX minus OSXSAVE (27), EDX */
		{ 1, 0, { 0, 0, ~(1u << 27), ~0u } },
		/* leaf 7.0: EBX, ECX minus OSPKE (4), EDX */
		{ 7, 0, { 0, ~0u, ~(1u << 4), ~0u } },
		{ 0xd, 0, { ~0u, 0, 0, ~0u } },
		{ 0x80000001, 0, { 0, 0, ~0u, ~0u } },
	};
	uint32_t n;
	const struct kvm_cpuid_entry2 *host = fake_kvm_host_cpuid(&n);

	for (size_t f = 0; f < sizeof(feat) / sizeof(feat[0]); f++) {
		const struct kvm_cpuid_entry2 *h = NULL;
		uint32_t g[4] = { e->eax, e->ebx, e->ecx, e->edx }, hr[4];

		if (e->function != feat[f].fn || e->index != feat[f].idx)
			continue;
		for (uint32_t i = 0; i < n; i++)
			if (host[i].function == e->function && host[i].index == e->index)
				h = &host[i];
		hr[0] = h ? h->eax : 0;
		hr[1] = h ? h->ebx : 0;
		hr[2] = h ? h->ecx : 0;
		hr[3] = h ? h->edx : 0;
		for (int r = 0; r < 4; r++)
			if (g[r] & feat[f].mask[r] & ~hr[r])
				return fake_kvm_reject("KVM_SET_CPUID2", "leaf 0x%x.%u register %d "
						       "has features 0x%08x the host lacks",
						       e->function, e->index, r,
						       g[r] & feat[f].mask[r] & ~hr[r]);
	}
	return 0;
}

static int set_cpuid(struct fake_vcpu *v, const struct kvm_cpuid2 *c)
{
	if (c->nent > 256)
		return fake_kvm_reject("KVM_SET_CPUID2", "%u entries (at most 256)", c->nent);
	/* KVM refuses a different CPUID once the vCPU has run (EBUSY). */
	if (v->ran && (c->nent != v->ncpuid ||
		       memcmp(c->entries, v->cpuid, c->nent * sizeof(c->entries[0])))) {
		errno = EBUSY;
		return -1;
	}
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 0x80000008) {
			unsigned vaddr = (e->eax >> 8) & 0xff;

			if (vaddr != 48 && vaddr != 57 && vaddr != 0)
				return fake_kvm_reject("KVM_SET_CPUID2", "%u virtual address "
						       "bits", vaddr);
		}
		if (check_cpuid_features(e))
			return -1;
	}
	memcpy(v->cpuid, c->entries, c->nent * sizeof(c->entries[0]));
	v->ncpuid = c->nent;
	return 0;
}

static int get_cpuid(const struct fake_vcpu *v, struct kvm_cpuid2 *c)
{
	if (c->nent < v->ncpuid) {
		c->nent = v->ncpuid;
		errno = E2BIG;
		return -1;
	}
	c->nent = v->ncpuid;
	memcpy(c->entries, v->cpuid, v->ncpuid * sizeof(c->entries[0]));
	return 0;
}

/* KVM_SET_TSC_KHZ with TSC scaling: 0 means the host's; the ratio must fit
 * (VMX: 48 fraction bits, below 256). */
static int set_tsc_khz(struct fake_vcpu *v, unsigned long khz)
{
	if (!khz)
		khz = FAKE_KVM_TSC_KHZ;
	if (khz >= 0x7fffffffu || khz / FAKE_KVM_TSC_KHZ >= 255) {
		errno = EINVAL;
		return -1;
	}
	v->tsc_khz = (uint32_t)khz;
	return 0;
}

static int run(struct fake_vcpu *v)
{
	/* KVM returns before any VM entry here, so the vCPU has not run. */
	if (v->run->immediate_exit) {
		v->run->exit_reason = KVM_EXIT_INTR;
		errno = EINTR;
		return -1;
	}
	/* No guest code runs here: the vCPU enters and halts at once. */
	v->ran = true;
	v->run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

int fake_vcpu_ioctl(struct fake_vcpu *v, unsigned long req, void *arg)
{
	switch (req) {
	case KVM_RUN:
		return run(v);
	case KVM_GET_REGS:
		*(struct kvm_regs *)arg = v->regs;
		return 0;
	case KVM_SET_REGS:
		v->regs = *(const struct kvm_regs *)arg;
		v->regs.rflags |= 2;
		return 0;
	case KVM_GET_SREGS:
		*(struct kvm_sregs *)arg = v->sregs;
		return 0;
	case KVM_SET_SREGS:
		return set_sregs(v, arg);
	case KVM_GET_XCRS:
		*(struct kvm_xcrs *)arg = v->xcrs;
		return 0;
	case KVM_SET_XCRS:
		return set_xcrs(v, arg);
	case KVM_GET_XSAVE:
		memcpy(arg, v->xsave, sizeof(struct kvm_xsave));
		return 0;
	case KVM_GET_XSAVE2:
		memcpy(arg, v->xsave, FAKE_KVM_XSAVE_SIZE);
		return 0;
	case KVM_SET_XSAVE:
		return set_xsave(v, arg);
	case KVM_GET_MSRS:
		return get_msrs(v, arg);
	case KVM_SET_MSRS:
		return set_msrs(v, arg);
	case KVM_GET_DEBUGREGS:
		*(struct kvm_debugregs *)arg = v->dbg;
		return 0;
	case KVM_SET_DEBUGREGS:
		return set_debugregs(v, arg);
	case KVM_GET_VCPU_EVENTS:
		*(struct kvm_vcpu_events *)arg = v->ev;
		return 0;
	case KVM_SET_VCPU_EVENTS:
		return set_events(v, arg);
	case KVM_GET_MP_STATE:
		*(struct kvm_mp_state *)arg = v->mp;
		return 0;
	case KVM_SET_MP_STATE:
		/* Without an in-kernel irqchip KVM takes RUNNABLE only; with it
		 * the x86 states 0-4. */
		if (((const struct kvm_mp_state *)arg)->mp_state != KVM_MP_STATE_RUNNABLE &&
		    (!fake_irqchip_present() ||
		     ((const struct kvm_mp_state *)arg)->mp_state > KVM_MP_STATE_SIPI_RECEIVED))
			return fake_kvm_reject("KVM_SET_MP_STATE", "MP state %u without an "
					       "in-kernel irqchip",
					       ((const struct kvm_mp_state *)arg)->mp_state);
		v->mp = *(const struct kvm_mp_state *)arg;
		return 0;
	case KVM_SET_CPUID2:
		return set_cpuid(v, arg);
	case KVM_GET_CPUID2:
		return get_cpuid(v, arg);
	case KVM_GET_TSC_KHZ:
		return (int)v->tsc_khz;
	case KVM_SET_TSC_KHZ:
		return set_tsc_khz(v, (unsigned long)arg);
	case KVM_INTERRUPT:
		if (((const struct kvm_interrupt *)arg)->irq >= 256)
			return fake_kvm_reject("KVM_INTERRUPT", "vector %u",
					       ((const struct kvm_interrupt *)arg)->irq);
		return 0;
	default: {
		bool done;
		int rc = fake_irqchip_vcpu_ioctl(req, arg, &done);

		if (done)
			return rc;
		fprintf(stderr, "fake_kvm: vCPU ioctl 0x%lx is not emulated; add it to "
			"tests/fuzz/fake_kvm_vcpu.c\n", req);
		abort();
	}
	}
}
