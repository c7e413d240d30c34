/* smp.h - the pure rules of a multi-vCPU machine: each vCPU's APIC ID in
 * its CPUID, and which cpu unit instances a state must hold.  No KVM, no I/O: unit-tested (tests/unit/test_smp.c).
 */
#ifndef VMM_SMP_H
#define VMM_SMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "vmm/kvm.h"

/* Write APIC ID id into the fields that report it: leaf 1 EBX[31:24]
 * (initial APIC ID, 8 bits) and EDX of every subleaf of leaves 0xB and
 * 0x1F (x2APIC ID).  KVM takes CPUID as given; the LAPIC's own ID is the
 * KVM vcpu id, so the table must say the same. */
void smp_cpuid_set_apic_id(struct kvm_cpuid_entry2 *e, uint32_t n, uint32_t id);
/* Whether those fields (where present) all say id; else false with one
 * line in why naming the leaf and the value found. */
bool smp_cpuid_apic_id_is(const struct kvm_cpuid_entry2 *e, uint32_t n, uint32_t id,
			  char *why, size_t len);

/* Which cpu unit instances a load has met, for the count checks. */
struct smp_seen {
	uint8_t n[KVM_VCPUS_MAX];       /* records met per instance */
	bool apic_ids;                  /* the file's machine record counts
					   vCPUs: its CPUIDs carry their APIC
					   IDs (older files: whatever the host
					   reported) */
};

void smp_seen_reset(struct smp_seen *s);
/* A cpu record of instance i arrives in a machine of ncpus vCPUs: 0 and
 * noted, or -1 with why (an instance beyond the count, or one met twice). */
int smp_seen_note(struct smp_seen *s, unsigned ncpus, uint32_t i, char *why, size_t len);
/* Every instance 0..ncpus-1 was met: 0, or -1 with why naming the first
 * missing one. */
int smp_seen_complete(const struct smp_seen *s, unsigned ncpus, char *why, size_t len);

#endif
