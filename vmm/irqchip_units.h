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
#include "vmm/irqchip_state.h"

/* The most vCPUs (LAPIC instances) this state holds. */
#define IRQCHIP_MAX_VCPUS 64

struct machine;

struct irqchip_lapic_unit {
	struct machine *m;
	uint32_t index;                 /* the vCPU, the unit's instance */
	struct kirq_lapic st;           /* as last read from KVM */
};

struct irqchip_units {
	struct kirq_pic pic;            /* as last read from KVM */
	struct kirq_ioapic ioapic;
	struct kirq_pit pit;
	struct irqchip_lapic_unit lapic[IRQCHIP_MAX_VCPUS];
	uint32_t nlapic;                /* lapic units registered */
};

/* Register lapic instance 0 and the VM-wide chips with reg, after the cpu
 * unit (SSM_OK or the first error). */
int irqchip_units_register(struct machine *m, ssm *reg);
/* Register lapic instance index (index < IRQCHIP_MAX_VCPUS) after the cpu
 * unit of that vCPU, before the VM-wide chips. */
int irqchip_units_register_lapic(struct machine *m, ssm *reg, uint32_t index);
/* Drop every unit irqchip_units_register*() added (a user-irqchip VM). */
int irqchip_units_deregister(struct machine *m, ssm *reg);
/* Read every chip of the parked VM from KVM now (a point-in-time save,
 * before the fork).  0 or an ssm_err with err set. */
int irqchip_units_capture(struct machine *m, char *err, size_t errlen);
/* Whether the lapic instance and VM-wide units all loaded a final record
 * (restore completeness); name of the first missing unit in *missing. */
bool irqchip_units_complete(struct machine *m, ssm *reg, const char **missing,
			    uint32_t *instance);

#endif
