/* irqchip.c - KVM's in-kernel interrupt controllers: creation and lines. */
#include "vmm/irqchip.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

int irqchip_parse(const char *s, enum irqchip_mode *mode)
{
	if (!strcmp(s, "user"))
		*mode = IRQCHIP_USER;
	else if (!strcmp(s, "kernel"))
		*mode = IRQCHIP_KERNEL;
	else
		return -1;
	return 0;
}

const char *irqchip_name(enum irqchip_mode mode)
{
	return mode == IRQCHIP_KERNEL ? "kernel" : "user";
}

int irqchip_create(int vm_fd)
{
	/* The speaker dummy makes KVM answer port 0x61 itself (channel 2's
	 * gate and OUT2, as guests calibrating with channel 2 read them):
	 * without it that port would exit to a user-space model of a PIT
	 * that this mode does not have. */
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		fprintf(stderr, "vmm: KVM_CREATE_IRQCHIP: %s\n", strerror(errno));
		return -1;
	}
	if (ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		fprintf(stderr, "vmm: KVM_CREATE_PIT2: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int irqchip_set_line(int vm_fd, unsigned irq, bool level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level ? 1 : 0 };

	if (ioctl(vm_fd, KVM_IRQ_LINE, &l) < 0) {
		fprintf(stderr, "vmm: KVM_IRQ_LINE %u=%d: %s\n", irq, l.level, strerror(errno));
		return -1;
	}
	return 0;
}
