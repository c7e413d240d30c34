/* cpu_state.h - save and restore of one KVM vCPU's complete state. */
#ifndef VMM_CPU_STATE_H
#define VMM_CPU_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssm/ssm.h"
#include "vmm/cpu_codec.h"
#include "vmm/kvm.h"

/* Put vCPU cpu's registers, XSAVE area, XCRs, MSRs, events, MP state, the
 * VM's kvmclock, the vCPU's CPUID table and TSC frequency into h (unit
 * version CPU_STATE_VERSION).  The vCPU must be stopped (outside KVM_RUN).
 * A register set KVM does not give whole is an error. */
int cpu_state_save(struct kvm_vm *vm, unsigned cpu, ssm_handle *h);
/* cpu_state_save() in two steps, for a save that runs where KVM cannot be
 * asked (a forked writer, vmm/bgsave.c): read the stopped vCPU into s (free
 * it with cpu_snapshot_free; on failure nothing to free, err says why), and
 * later put s into h. */
int cpu_state_read(struct kvm_vm *vm, unsigned cpu, struct cpu_snapshot *s, char *err,
		   size_t errlen);
int cpu_state_put(ssm_handle *h, const struct cpu_snapshot *s);

/* Read what cpu_state_save wrote (unit version `version`), check every
 * value (cpu_check.h) against the architecture and this host, and only
 * then load it into the stopped, never-run vCPU cpu, in the order KVM
 * needs (the VM-wide kvmclock from vCPU 0's record only).  apic_ids: the
 * saved CPUID must carry APIC ID cpu (smp.h).  Refusals name the field
 * and its offset. */
int cpu_state_load(struct kvm_vm *vm, unsigned cpu, ssm_handle *h, uint32_t version,
		   bool apic_ids);

#endif
