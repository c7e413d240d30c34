/* cpu_codec.c - encoding of the cpu unit's payload.
 *
 * Register sets are described by SSM field tables so the saved layout is
 * explicit, little-endian and inspectable by name, not a memcpy of kernel
 * structs.  Stream order: regs, 8 segments (cs ds es fs gs ss tr ldt), gdt,
 * idt, the rest of sregs, u32 n + n x (u32 xcr, u64 value), u32 len + len
 * bytes of XSAVE area, u32 n + n x (u32 index, u64 data) MSRs, debug
 * registers, vCPU events, u32 MP state, kvmclock; version 2 adds u32 n +
 * n x (u32 function, index, flags, eax, ebx, ecx, edx) CPUID entries and
 * u32 TSC kHz.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cpu_codec.h"

static const ssm_field regs_fields[] = {
	SSM_FIELD(struct kvm_regs, rax), SSM_FIELD(struct kvm_regs, rbx),
	SSM_FIELD(struct kvm_regs, rcx), SSM_FIELD(struct kvm_regs, rdx),
	SSM_FIELD(struct kvm_regs, rsi), SSM_FIELD(struct kvm_regs, rdi),
	SSM_FIELD(struct kvm_regs, rsp), SSM_FIELD(struct kvm_regs, rbp),
	SSM_FIELD(struct kvm_regs, r8), SSM_FIELD(struct kvm_regs, r9),
	SSM_FIELD(struct kvm_regs, r10), SSM_FIELD(struct kvm_regs, r11),
	SSM_FIELD(struct kvm_regs, r12), SSM_FIELD(struct kvm_regs, r13),
	SSM_FIELD(struct kvm_regs, r14), SSM_FIELD(struct kvm_regs, r15),
	SSM_FIELD(struct kvm_regs, rip), SSM_FIELD(struct kvm_regs, rflags),
	SSM_FIELD_TERM()
};

static const ssm_field seg_fields[] = {
	SSM_FIELD(struct kvm_segment, base), SSM_FIELD(struct kvm_segment, limit),
	SSM_FIELD(struct kvm_segment, selector), SSM_FIELD(struct kvm_segment, type),
	SSM_FIELD(struct kvm_segment, present), SSM_FIELD(struct kvm_segment, dpl),
	SSM_FIELD(struct kvm_segment, db), SSM_FIELD(struct kvm_segment, s),
	SSM_FIELD(struct kvm_segment, l), SSM_FIELD(struct kvm_segment, g),
	SSM_FIELD(struct kvm_segment, avl), SSM_FIELD(struct kvm_segment, unusable),
	SSM_FIELD_TERM()
};

static const ssm_field dt_fields[] = {
	SSM_FIELD(struct kvm_dtable, base), SSM_FIELD(struct kvm_dtable, limit),
	SSM_FIELD_TERM()
};

static const ssm_field sregs_tail_fields[] = {
	SSM_FIELD(struct kvm_sregs, cr0), SSM_FIELD(struct kvm_sregs, cr2),
	SSM_FIELD(struct kvm_sregs, cr3), SSM_FIELD(struct kvm_sregs, cr4),
	SSM_FIELD(struct kvm_sregs, cr8), SSM_FIELD(struct kvm_sregs, efer),
	SSM_FIELD(struct kvm_sregs, apic_base),
	SSM_FIELD(struct kvm_sregs, interrupt_bitmap[0]),
	SSM_FIELD(struct kvm_sregs, interrupt_bitmap[1]),
	SSM_FIELD(struct kvm_sregs, interrupt_bitmap[2]),
	SSM_FIELD(struct kvm_sregs, interrupt_bitmap[3]),
	SSM_FIELD_TERM()
};

static const ssm_field dbg_fields[] = {
	SSM_FIELD(struct kvm_debugregs, db[0]), SSM_FIELD(struct kvm_debugregs, db[1]),
	SSM_FIELD(struct kvm_debugregs, db[2]), SSM_FIELD(struct kvm_debugregs, db[3]),
	SSM_FIELD(struct kvm_debugregs, dr6), SSM_FIELD(struct kvm_debugregs, dr7),
	SSM_FIELD(struct kvm_debugregs, flags),
	SSM_FIELD_TERM()
};

static const ssm_field events_fields[] = {
	SSM_FIELD(struct kvm_vcpu_events, exception.injected),
	SSM_FIELD(struct kvm_vcpu_events, exception.nr),
	SSM_FIELD(struct kvm_vcpu_events, exception.has_error_code),
	SSM_FIELD(struct kvm_vcpu_events, exception.pending),
	SSM_FIELD(struct kvm_vcpu_events, exception.error_code),
	SSM_FIELD(struct kvm_vcpu_events, interrupt.injected),
	SSM_FIELD(struct kvm_vcpu_events, interrupt.nr),
	SSM_FIELD(struct kvm_vcpu_events, interrupt.soft),
	SSM_FIELD(struct kvm_vcpu_events, interrupt.shadow),
	SSM_FIELD(struct kvm_vcpu_events, nmi.injected),
	SSM_FIELD(struct kvm_vcpu_events, nmi.pending),
	SSM_FIELD(struct kvm_vcpu_events, nmi.masked),
	SSM_FIELD(struct kvm_vcpu_events, sipi_vector),
	SSM_FIELD(struct kvm_vcpu_events, flags),
	SSM_FIELD(struct kvm_vcpu_events, smi.smm),
	SSM_FIELD(struct kvm_vcpu_events, smi.pending),
	SSM_FIELD(struct kvm_vcpu_events, smi.smm_inside_nmi),
	SSM_FIELD(struct kvm_vcpu_events, smi.latched_init),
	SSM_FIELD(struct kvm_vcpu_events, triple_fault.pending),
	SSM_FIELD(struct kvm_vcpu_events, exception_has_payload),
	SSM_FIELD(struct kvm_vcpu_events, exception_payload),
	SSM_FIELD_TERM()
};

static const ssm_field clock_fields[] = {
	SSM_FIELD(struct kvm_clock_data, clock), SSM_FIELD(struct kvm_clock_data, flags),
	SSM_FIELD_TERM()
};

static const ssm_field cpuid_fields[] = {
	SSM_FIELD(struct kvm_cpuid_entry2, function),
	SSM_FIELD(struct kvm_cpuid_entry2, index),
	SSM_FIELD(struct kvm_cpuid_entry2, flags),
	SSM_FIELD(struct kvm_cpuid_entry2, eax), SSM_FIELD(struct kvm_cpuid_entry2, ebx),
	SSM_FIELD(struct kvm_cpuid_entry2, ecx), SSM_FIELD(struct kvm_cpuid_entry2, edx),
	SSM_FIELD_TERM()
};

#define SNAP(member) offsetof(struct cpu_snapshot, member)
#define TABLE(name, f, type, since, at) { name, f, sizeof(type), 0, since, at }

/* Declared with CPU_CODEC_NTABLES entries: a table added or dropped here
 * without it is a conflicting definition. */
const struct unit_table cpu_codec_tables[] = {
	TABLE("regs", regs_fields, struct kvm_regs, 1, SNAP(regs)),
	TABLE("cs", seg_fields, struct kvm_segment, 1, SNAP(sregs.cs)),
	TABLE("ds", seg_fields, struct kvm_segment, 1, SNAP(sregs.ds)),
	TABLE("es", seg_fields, struct kvm_segment, 1, SNAP(sregs.es)),
	TABLE("fs", seg_fields, struct kvm_segment, 1, SNAP(sregs.fs)),
	TABLE("gs", seg_fields, struct kvm_segment, 1, SNAP(sregs.gs)),
	TABLE("ss", seg_fields, struct kvm_segment, 1, SNAP(sregs.ss)),
	TABLE("tr", seg_fields, struct kvm_segment, 1, SNAP(sregs.tr)),
	TABLE("ldt", seg_fields, struct kvm_segment, 1, SNAP(sregs.ldt)),
	TABLE("gdt", dt_fields, struct kvm_dtable, 1, SNAP(sregs.gdt)),
	TABLE("idt", dt_fields, struct kvm_dtable, 1, SNAP(sregs.idt)),
	TABLE("control", sregs_tail_fields, struct kvm_sregs, 1, SNAP(sregs)),
	TABLE("debugregs", dbg_fields, struct kvm_debugregs, 1, SNAP(dbg)),
	TABLE("events", events_fields, struct kvm_vcpu_events, 1, SNAP(ev)),
	TABLE("kvmclock", clock_fields, struct kvm_clock_data, 1, SNAP(clk)),
	TABLE("cpuid", cpuid_fields, struct kvm_cpuid_entry2, 2, UNIT_TABLE_ARRAY),
};
static const char *const section_names[CPU_SEC__COUNT] = {
	[CPU_SEC_REGS] = "regs", [CPU_SEC_SREGS] = "sregs", [CPU_SEC_XCRS] = "xcrs",
	[CPU_SEC_XSAVE] = "xsave", [CPU_SEC_MSRS] = "msrs",
	[CPU_SEC_DEBUGREGS] = "debugregs", [CPU_SEC_EVENTS] = "events",
	[CPU_SEC_MP] = "mp_state", [CPU_SEC_CLOCK] = "kvmclock",
	[CPU_SEC_CPUID] = "cpuid", [CPU_SEC_TSC] = "tsc_khz",
};

const char *cpu_section_name(enum cpu_section sec)
{
	return (unsigned)sec < CPU_SEC__COUNT ? section_names[sec] : "?";
}

static struct kvm_segment *seg_at(struct kvm_sregs *s, int i)
{
	struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss,
				       &s->tr, &s->ldt };
	return segs[i];
}

static int put(ssm_handle *h, const void *p, size_t n, const ssm_field *f)
{
	return ssm_put_struct(h, p, n, 0, f, NULL);
}

static int get(ssm_handle *h, void *p, size_t n, const ssm_field *f)
{
	return ssm_get_struct(h, p, n, 0, f, NULL);
}

static int put_pair(ssm_handle *h, uint32_t a, uint64_t b)
{
	int rc = ssm_put_u32(h, a);

	return rc ? rc : ssm_put_u64(h, b);
}

int cpu_codec_put(ssm_handle *h, const struct cpu_snapshot *s, uint32_t version)
{
	struct kvm_sregs sr = s->sregs;
	uint32_t nx = s->xcrs.nr_xcrs < KVM_MAX_XCRS ? s->xcrs.nr_xcrs : KVM_MAX_XCRS;
	int rc = put(h, &s->regs, sizeof(s->regs), regs_fields);

	for (int i = 0; !rc && i < 8; i++)
		rc = put(h, seg_at(&sr, i), sizeof(struct kvm_segment), seg_fields);
	if (!rc)
		rc = put(h, &sr.gdt, sizeof(sr.gdt), dt_fields);
	if (!rc)
		rc = put(h, &sr.idt, sizeof(sr.idt), dt_fields);
	if (!rc)
		rc = put(h, &sr, sizeof(sr), sregs_tail_fields);
	if (!rc)
		rc = ssm_put_u32(h, nx);
	for (uint32_t i = 0; !rc && i < nx; i++)
		rc = put_pair(h, s->xcrs.xcrs[i].xcr, s->xcrs.xcrs[i].value);
	if (!rc)
		rc = ssm_put_u32(h, s->xsave_len);
	if (!rc)
		rc = ssm_put_mem(h, s->xsave, s->xsave_len);
	if (!rc)
		rc = ssm_put_u32(h, s->nmsrs);
	for (uint32_t i = 0; !rc && i < s->nmsrs; i++)
		rc = put_pair(h, s->msrs[i].index, s->msrs[i].data);
	if (!rc)
		rc = put(h, &s->dbg, sizeof(s->dbg), dbg_fields);
	if (!rc)
		rc = put(h, &s->ev, sizeof(s->ev), events_fields);
	if (!rc)
		rc = ssm_put_u32(h, s->mp_state);
	if (!rc)
		rc = put(h, &s->clk, sizeof(s->clk), clock_fields);
	if (version < 2)
		return rc;
	if (!rc)
		rc = ssm_put_u32(h, s->ncpuid);
	for (uint32_t i = 0; !rc && i < s->ncpuid; i++)
		rc = put(h, &s->cpuid[i], sizeof(s->cpuid[i]), cpuid_fields);
	if (!rc)
		rc = ssm_put_u32(h, s->tsc_khz);
	return rc;
}

/* Where the next field starts: its offset in the unit's data when the
 * stream says how long the unit is (files), else the stream offset
 * (migration streams) with the top bit set to tell them apart. */
#define CPU_OFF_STREAM (1ull << 63)

static uint64_t where(ssm_handle *h, uint64_t start_remaining)
{
	uint64_t rem = ssm_handle_remaining(h);

	if (rem == UINT64_MAX || start_remaining == UINT64_MAX)
		return ssm_handle_offset(h) | CPU_OFF_STREAM;
	return start_remaining - rem;
}

/* A count or length out of bounds, at the start of section sec. */
static int bad_size(ssm_handle *h, const struct cpu_snapshot *s, enum cpu_section sec,
		    const char *what, uint32_t n, uint32_t lo, uint32_t hi)
{
	char where[48];

	cpu_codec_where(s, sec, where, sizeof(where));
	return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: %s %u: not from %u to %u (%s)",
				  what, n, lo, hi, where);
}

static int get_pair(ssm_handle *h, uint32_t *a, uint64_t *b)
{
	int rc = ssm_get_u32(h, a);

	return rc ? rc : ssm_get_u64(h, b);
}

static int get_xcrs(ssm_handle *h, struct cpu_snapshot *s)
{
	struct kvm_xcrs *x = &s->xcrs;
	int rc = ssm_get_u32(h, &x->nr_xcrs);

	if (!rc && x->nr_xcrs > KVM_MAX_XCRS)
		return bad_size(h, s, CPU_SEC_XCRS, "xcrs.nr_xcrs", x->nr_xcrs, 0,
				KVM_MAX_XCRS);
	for (uint32_t i = 0; !rc && i < x->nr_xcrs; i++) {
		uint64_t v = 0;

		rc = get_pair(h, &x->xcrs[i].xcr, &v);
		x->xcrs[i].value = v;
	}
	return rc;
}

static int get_xsave(ssm_handle *h, uint32_t version, struct cpu_snapshot *s)
{
	uint32_t len;
	int rc = ssm_get_u32(h, &len);

	if (rc)
		return rc;
	/* Version 1 always wrote struct kvm_xsave, 4096 bytes. */
	if (len < CPU_XSAVE_MIN || len > (version < 2 ? CPU_XSAVE_MIN : CPU_XSAVE_MAX))
		return bad_size(h, s, CPU_SEC_XSAVE, version < 2 ? "xsave.len (version 1)" :
				"xsave.len", len, CPU_XSAVE_MIN,
				version < 2 ? CPU_XSAVE_MIN : CPU_XSAVE_MAX);
	s->xsave = calloc(1, len);
	if (!s->xsave)
		return SSM_ERR_NOMEM;
	s->xsave_len = len;
	return ssm_get_mem(h, s->xsave, len);
}

static int get_msrs(ssm_handle *h, struct cpu_snapshot *s)
{
	uint32_t n;
	int rc = ssm_get_u32(h, &n);

	if (rc)
		return rc;
	if (n > CPU_MSR_MAX)
		return bad_size(h, s, CPU_SEC_MSRS, "msrs.n", n, 0, CPU_MSR_MAX);
	s->msrs = calloc(n ? n : 1, sizeof(*s->msrs));
	if (!s->msrs)
		return SSM_ERR_NOMEM;
	s->nmsrs = n;
	for (uint32_t i = 0; !rc && i < n; i++) {
		uint64_t v = 0;

		rc = get_pair(h, &s->msrs[i].index, &v);
		s->msrs[i].data = v;
	}
	return rc;
}

static int get_cpuid(ssm_handle *h, struct cpu_snapshot *s)
{
	uint32_t n;
	int rc = ssm_get_u32(h, &n);

	if (rc)
		return rc;
	if (n > CPU_CPUID_MAX)
		return bad_size(h, s, CPU_SEC_CPUID, "cpuid.n", n, 0, CPU_CPUID_MAX);
	s->cpuid = calloc(n ? n : 1, sizeof(*s->cpuid));
	if (!s->cpuid)
		return SSM_ERR_NOMEM;
	s->ncpuid = n;
	for (uint32_t i = 0; !rc && i < n; i++)
		rc = get(h, &s->cpuid[i], sizeof(s->cpuid[i]), cpuid_fields);
	return rc;
}

int cpu_codec_get(ssm_handle *h, uint32_t version, struct cpu_snapshot *s)
{
	uint64_t start = ssm_handle_remaining(h);
	int rc;

	memset(s, 0, sizeof(*s));
	rc = ssm_check_unit_version(h, "cpu", version, CPU_STATE_VERSION_MIN, CPU_STATE_VERSION);
	if (rc)
		return rc;
	s->off[CPU_SEC_REGS] = where(h, start);
	rc = get(h, &s->regs, sizeof(s->regs), regs_fields);
	s->off[CPU_SEC_SREGS] = where(h, start);
	for (int i = 0; !rc && i < 8; i++)
		rc = get(h, seg_at(&s->sregs, i), sizeof(struct kvm_segment), seg_fields);
	if (!rc)
		rc = get(h, &s->sregs.gdt, sizeof(s->sregs.gdt), dt_fields);
	if (!rc)
		rc = get(h, &s->sregs.idt, sizeof(s->sregs.idt), dt_fields);
	if (!rc)
		rc = get(h, &s->sregs, sizeof(s->sregs), sregs_tail_fields);
	s->off[CPU_SEC_XCRS] = where(h, start);
	if (!rc)
		rc = get_xcrs(h, s);
	s->off[CPU_SEC_XSAVE] = where(h, start);
	if (!rc)
		rc = get_xsave(h, version, s);
	s->off[CPU_SEC_MSRS] = where(h, start);
	if (!rc)
		rc = get_msrs(h, s);
	s->off[CPU_SEC_DEBUGREGS] = where(h, start);
	if (!rc)
		rc = get(h, &s->dbg, sizeof(s->dbg), dbg_fields);
	s->off[CPU_SEC_EVENTS] = where(h, start);
	if (!rc)
		rc = get(h, &s->ev, sizeof(s->ev), events_fields);
	s->off[CPU_SEC_MP] = where(h, start);
	if (!rc)
		rc = ssm_get_u32(h, &s->mp_state);
	s->off[CPU_SEC_CLOCK] = where(h, start);
	if (!rc)
		rc = get(h, &s->clk, sizeof(s->clk), clock_fields);
	s->off[CPU_SEC_CPUID] = where(h, start);
	if (!rc && version >= 2)
		rc = get_cpuid(h, s);
	s->off[CPU_SEC_TSC] = where(h, start);
	if (!rc && version >= 2)
		rc = ssm_get_u32(h, &s->tsc_khz);
	return rc;
}

int cpu_codec_where(const struct cpu_snapshot *s, enum cpu_section sec, char *buf,
		    size_t len)
{
	uint64_t off = (unsigned)sec < CPU_SEC__COUNT ? s->off[sec] : 0;

	return snprintf(buf, len, "%s offset %llu", off & CPU_OFF_STREAM ? "stream" : "data",
			(unsigned long long)(off & ~CPU_OFF_STREAM));
}

void cpu_snapshot_free(struct cpu_snapshot *s)
{
	free(s->xsave);
	free(s->msrs);
	free(s->cpuid);
	s->xsave = NULL;
	s->msrs = NULL;
	s->cpuid = NULL;
	s->xsave_len = s->nmsrs = s->ncpuid = 0;
}
