/* cpu_codec.h - the cpu unit's payload: one vCPU's state as a plain struct,
 * and its encoding in an SSM unit.  No KVM calls: cpu_state.c fills and
 * applies the struct, cpu_check.c validates it, so both the encoding and
 * the checks are testable without /dev/kvm.
 */
#ifndef VMM_CPU_CODEC_H
#define VMM_CPU_CODEC_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "ssm/ssm.h"
#include "vmm/unit_table.h"

/* Unit versions: 1 = registers, XSAVE (4096 bytes), MSRs, events, clock;
 * 2 = the same with an XSAVE area of KVM's size, then the CPUID table the
 * vCPU was given and the TSC frequency. */
#define CPU_STATE_VERSION 2
#define CPU_STATE_VERSION_MIN 1

#define CPU_MSR_MAX 1024u          /* MSR entries a unit may hold */
#define CPU_CPUID_MAX 256u         /* KVM's own limit on CPUID entries */
#define CPU_XSAVE_MIN 4096u        /* sizeof(struct kvm_xsave) */
#define CPU_XSAVE_MAX 65536u       /* far above any XSAVE layout so far */

/* The sections of the payload, in stream order; the reader records where
 * each starts so a refusal can name its offset. */
enum cpu_section {
	CPU_SEC_REGS, CPU_SEC_SREGS, CPU_SEC_XCRS, CPU_SEC_XSAVE, CPU_SEC_MSRS,
	CPU_SEC_DEBUGREGS, CPU_SEC_EVENTS, CPU_SEC_MP, CPU_SEC_CLOCK,
	CPU_SEC_CPUID, CPU_SEC_TSC, CPU_SEC__COUNT
};

struct cpu_snapshot {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	uint8_t *xsave;                 /* xsave_len bytes, KVM's uabi layout */
	uint32_t xsave_len;
	struct kvm_msr_entry *msrs;     /* nmsrs entries (index, data) */
	uint32_t nmsrs;
	struct kvm_debugregs dbg;
	struct kvm_vcpu_events ev;
	uint32_t mp_state;
	struct kvm_clock_data clk;
	struct kvm_cpuid_entry2 *cpuid; /* ncpuid entries; version >= 2 */
	uint32_t ncpuid;
	uint32_t tsc_khz;               /* 0: not known (version 1) */
	uint64_t off[CPU_SEC__COUNT];   /* unit data offset of each section */
};

/* Write s in the layout of unit version `version` (CPU_STATE_VERSION for a
 * save; older ones for compatibility tests: version 1 drops the CPUID and
 * the TSC frequency).  SSM_OK or the stream's error. */
int cpu_codec_put(ssm_handle *h, const struct cpu_snapshot *s, uint32_t version);

/* Read a payload of unit version `version` into s (zeroed first; free its
 * arrays with cpu_snapshot_free even on failure).  Refuses versions outside
 * CPU_STATE_VERSION_MIN..CPU_STATE_VERSION and counts or sizes beyond the
 * limits above, naming the field and data offset; values are not checked
 * here (cpu_check.h). */
int cpu_codec_get(ssm_handle *h, uint32_t version, struct cpu_snapshot *s);

/* Free the arrays of s (safe on a zeroed or partly read snapshot). */
void cpu_snapshot_free(struct cpu_snapshot *s);

/* "data offset N" (N: bytes into the unit's data) or, where the stream
 * does not say how long the unit is, "stream offset N": where section sec
 * starts.  Returns what snprintf returns. */
int cpu_codec_where(const struct cpu_snapshot *s, enum cpu_section sec, char *buf,
		    size_t len);

/* Name of a section for messages ("sregs", "msrs", ...). */
const char *cpu_section_name(enum cpu_section sec);

/* The field tables of the payload in stream order (where: offset of the
 * struct in struct cpu_snapshot), for vmm schema and vmm inspect. */
#define CPU_CODEC_NTABLES 16u
extern const struct unit_table cpu_codec_tables[CPU_CODEC_NTABLES];

#endif
