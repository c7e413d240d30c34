/* irqchip_units.h - the SSM units of KVM's in-kernel interrupt controllers
 * (--irqchip kernel): lapic (one per vCPU, instance = vCPU index),
 * kvm-pic, ioapic and kvm-pit.  Saved form and checks: irqchip_state.h.
 *
 * Registered for every VM (the mode of an incoming VM is known only once
 * its stream's machine record arrives, when the registry is busy loading);
 * units_select_irqchip() then drops the units of the mode the VM does not
 * use.  Save: each unit's save_prep reads its chip from KVM (vCPU parked),
 * save_exec writes what was read; a point-in-time writer, which cannot ask
 * KVM, writes what irqchip_units_capture() read before the fork.  Load
 * (docs/architecture.md, "Restore order"): after the cpu unit, LAPICs, then
 * the PIC pair, the IOAPIC, the PIT; every value is checked before the
 * first ioctl.
 */
#ifndef VMM_IRQCHIP_UNITS_H
#define VMM_IRQCHIP_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssm/ssm.h"
#include "vmm/irqchip.h"
#include "vmm/irqchip_state.h"

/* The most vCPUs (LAPIC instances) this state holds. */
#define IRQCHIP_MAX_VCPUS 64

struct machine;

struct irqchip_lapic_unit {
	struct machine *m;
	uint32_t index;                 /* the vCPU, the unit's instance */
	struct kirq_lapic st;           /* as last read from KVM */
};

/* kvm-pic, ioapic, kvm-pit: one context each (irqchip_units.c vm_chips). */
#define IRQCHIP_VM_UNITS 3

struct irqchip_vm_unit {
	struct machine *m;
	unsigned which;                 /* index in vm_chips */
};

struct irqchip_units {
	struct kirq_pic pic;            /* as last read from KVM */
	struct kirq_ioapic ioapic;
	struct kirq_pit pit;
	struct irqchip_lapic_unit lapic[IRQCHIP_MAX_VCPUS];
	struct irqchip_vm_unit vm[IRQCHIP_VM_UNITS];
};

/* Register lapic instance 0 and the VM-wide chips with reg, after the cpu
 * unit (SSM_OK or the first error). */
int irqchip_units_register(struct machine *m, ssm *reg);
/* Register lapic instance index (index < IRQCHIP_MAX_VCPUS) after the cpu
 * unit of that vCPU, before the VM-wide chips.  The machine's vCPU count,
 * not the registry, says which vCPUs have a LAPIC to save or check. */
int irqchip_units_register_lapic(struct machine *m, ssm *reg, uint32_t index);
/* Register lapic instances 1 to IRQCHIP_MAX_VCPUS - 1:
 * a VM's vCPU count is known only once it is built, maybe while a stream
 * is loaded (SSM_OK or the first error). */
int irqchip_units_register_all_lapics(struct machine *m, ssm *reg);
/* Drop the lapic instances n and above from reg, those it holds (outside
 * any save or load). */
void irqchip_units_fit(ssm *reg, uint32_t n);
/* Drop every unit irqchip_units_register*() added to reg (a user-irqchip
 * VM). */
int irqchip_units_deregister(ssm *reg);
/* After the other mode's units are dropped from reg: load-only units of
 * their names (instance 0) that refuse a record, naming the machine
 * record's irqchip field, rather than libssm's "unknown unit". */
int irqchip_units_register_refusers(ssm *reg, enum irqchip_mode vm_mode);
/* Read every chip of the parked VM from KVM now (a point-in-time save,
 * before the fork).  0 or an ssm_err with err set. */
int irqchip_units_capture(struct machine *m, char *err, size_t errlen);
/* Whether the lapic instance and VM-wide units all loaded a final record
 * (restore completeness); name of the first missing unit in *missing. */
bool irqchip_units_complete(struct machine *m, ssm *reg, const char **missing,
			    uint32_t *instance);

#endif
