/* irqchip.h - which interrupt controllers a VM has: the user-space models
 * (devices/pic.c, devices/pit.c, injected with KVM_INTERRUPT; cpu_run.c) or
 * KVM's own (KVM_CREATE_IRQCHIP: a LAPIC per vCPU, the IOAPIC and the PIC
 * pair; KVM_CREATE_PIT2: the PIT and port 0x61).  In kernel mode the VMM
 * drives ISA lines with KVM_IRQ_LINE and never injects interrupts itself;
 * KVM handles HLT, the LAPIC MMIO page, the IOAPIC page and ports 0x20/0x21,
 * 0xa0/0xa1, 0x40-0x43, 0x61 and 0x4d0/0x4d1.  The mode is per VM; every
 * vCPU created afterwards gets its LAPIC.
 */
#ifndef VMM_IRQCHIP_H
#define VMM_IRQCHIP_H

#include <stdbool.h>

enum irqchip_mode {
	IRQCHIP_USER = 0,               /* the default: today's models */
	IRQCHIP_KERNEL = 1,
};

/* "user" or "kernel" into *mode; -1 for anything else. */
int irqchip_parse(const char *s, enum irqchip_mode *mode);
/* The --irqchip spelling of mode ("user" for anything not kernel). */
const char *irqchip_name(enum irqchip_mode mode);
/* On vm_fd, before any KVM_CREATE_VCPU: KVM's interrupt controllers and
 * PIT (with its dummy speaker port).  Prints one line, returns -1 on
 * failure. */
int irqchip_create(int vm_fd);
/* Drive ISA line irq (GSI irq of the PIC pair and the IOAPIC) to level.
 * KVM makes an edge of a 0->1 change for edge-triggered inputs, as the
 * ISA bus does, so callers pass the device's output level.  Any thread;
 * prints one line, returns -1 on failure. */
int irqchip_set_line(int vm_fd, unsigned irq, bool level);

#endif
