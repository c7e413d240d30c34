/* fake_kvm_irqchip.c - the fake /dev/kvm's in-kernel interrupt controllers
 * (KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2 and their GET/SET ioctls, the
 * vCPU's LAPIC page), for the kernel-irqchip harnesses.  The SET ioctls
 * apply KVM's checks and the architecture's rules a loader must have kept
 * (fake_kvm.h); the values are only stored, nothing is emulated. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/fuzz/fake_kvm.h"

static struct {
	bool irqchip, pit;
	struct kvm_pic_state pic[2];
	struct kvm_ioapic_state ioapic;
	struct kvm_pit_state2 pit_state;
	struct kvm_lapic_state lapic;
} chips;

static uint32_t lapic_reg(const struct kvm_lapic_state *l, unsigned off)
{
	uint32_t v;

	memcpy(&v, l->regs + off, 4);
	return v;
}

static void lapic_reset(struct kvm_lapic_state *l)
{
	const uint32_t regs[][2] = {
		{ 0x30, 0x50014 }, { 0xe0, 0xffffffffu }, { 0xf0, 0xff }, { 0x320, 0x10000 },
		{ 0x330, 0x10000 }, { 0x340, 0x10000 }, { 0x350, 0x700 }, { 0x360, 0x10000 },
		{ 0x370, 0x10000 },
	};

	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		memcpy(l->regs + regs[i][0], &regs[i][1], 4);
}

void fake_irqchip_reset(void)
{
	memset(&chips, 0, sizeof(chips));
	chips.pic[0].elcr_mask = 0xf8;
	chips.pic[1].elcr_mask = 0xde;
	chips.ioapic.base_address = 0xfec00000;
	for (unsigned i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		chips.ioapic.redirtbl[i].fields.mask = 1;
	for (unsigned i = 0; i < 3; i++) {
		chips.pit_state.channels[i].count = 0x10000;
		chips.pit_state.channels[i].mode = 0xff;
		chips.pit_state.channels[i].gate = i != 2;
	}
	lapic_reset(&chips.lapic);
}

bool fake_irqchip_present(void)
{
	return chips.irqchip;
}

static int set_pic(const struct kvm_pic_state *p, unsigned i)
{
	static const uint8_t mask[2] = { 0xf8, 0xde };

	/* KVM copies the struct; a wrong ELCR mask or vector base is beyond
	 * what any guest can program. */
	if (p->elcr_mask != mask[i] || (p->elcr & ~mask[i]) || (p->irq_base & 7) ||
	    p->priority_add > 7 || p->init_state > 3)
		return fake_kvm_reject("KVM_SET_IRQCHIP", "PIC %u: elcr 0x%x mask 0x%x irq_base "
				       "0x%x priority_add %u init_state %u", i, p->elcr,
				       p->elcr_mask, p->irq_base, p->priority_add, p->init_state);
	chips.pic[i] = *p;
	return 0;
}

static int set_ioapic(const struct kvm_ioapic_state *s)
{
	if (s->base_address != 0xfec00000 || s->id > 15 || s->irr >> KVM_IOAPIC_NUM_PINS)
		return fake_kvm_reject("KVM_SET_IRQCHIP", "IOAPIC base 0x%llx id %u irr 0x%x",
				       (unsigned long long)s->base_address, s->id, s->irr);
	for (unsigned i = 0; i < KVM_IOAPIC_NUM_PINS; i++) {
		uint64_t e = s->redirtbl[i].bits;
		unsigned dm = (unsigned)(e >> 8) & 7;

		if ((e & 0x00fffffffffe0000ull) || dm == 3 || dm == 6)
			return fake_kvm_reject("KVM_SET_IRQCHIP", "IOAPIC pin %u: entry 0x%llx", i,
					       (unsigned long long)e);
	}
	chips.ioapic = *s;
	return 0;
}

static int irqchip_ioctl(unsigned long req, struct kvm_irqchip *c)
{
	if (!chips.irqchip) {
		errno = ENXIO;
		return -1;
	}
	if (c->chip_id > KVM_IRQCHIP_IOAPIC) {
		errno = EINVAL;
		return -1;
	}
	if (req == KVM_GET_IRQCHIP) {
		if (c->chip_id == KVM_IRQCHIP_IOAPIC)
			c->chip.ioapic = chips.ioapic;
		else
			c->chip.pic = chips.pic[c->chip_id];
		return 0;
	}
	return c->chip_id == KVM_IRQCHIP_IOAPIC ? set_ioapic(&c->chip.ioapic) :
	       set_pic(&c->chip.pic, c->chip_id);
}

static int set_pit(const struct kvm_pit_state2 *p)
{
	if (!chips.pit) {
		errno = ENXIO;
		return -1;
	}
	for (unsigned i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &p->channels[i];

		if (c->count > 0x10000 || (c->mode > 5 && c->mode != 0xff) || c->rw_mode > 3 ||
		    c->read_state > 4 || c->write_state > 4 || c->gate > 1)
			return fake_kvm_reject("KVM_SET_PIT2", "channel %u: count %u mode %u rw %u "
					       "read %u write %u gate %u", i, c->count, c->mode,
					       c->rw_mode, c->read_state, c->write_state, c->gate);
	}
	chips.pit_state = *p;
	return 0;
}

int fake_irqchip_vm_ioctl(unsigned long req, unsigned long arg, bool vcpu_exists, bool *done)
{
	*done = true;
	switch (req) {
	case KVM_CREATE_IRQCHIP:
		if (chips.irqchip || vcpu_exists) {
			errno = EINVAL;
			return -1;
		}
		chips.irqchip = true;
		return 0;
	case KVM_CREATE_PIT2:
		if (!chips.irqchip || chips.pit) {
			errno = chips.pit ? EEXIST : ENOENT;
			return -1;
		}
		chips.pit = true;
		return 0;
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP:
		return irqchip_ioctl(req, (struct kvm_irqchip *)arg);
	case KVM_GET_PIT2:
		if (!chips.pit) {
			errno = ENXIO;
			return -1;
		}
		*(struct kvm_pit_state2 *)arg = chips.pit_state;
		return 0;
	case KVM_SET_PIT2:
		return set_pit((const struct kvm_pit_state2 *)arg);
	case KVM_IRQ_LINE:
		if (!chips.irqchip || ((const struct kvm_irq_level *)arg)->irq >= KVM_IOAPIC_NUM_PINS) {
			errno = ENXIO;
			return -1;
		}
		return 0;
	default:
		*done = false;
		return -1;
	}
}

static int set_lapic(const struct kvm_lapic_state *l)
{
	/* Vectors 0-15 cannot be requested or in service (SDM 11.5.2). */
	for (unsigned off = 0x100; off <= 0x200; off += 0x80)
		if (lapic_reg(l, off) & 0xffff)
			return fake_kvm_reject("KVM_SET_LAPIC", "vector 0-15 set at 0x%x: 0x%x", off,
					       lapic_reg(l, off));
	if (((lapic_reg(l, 0x320) >> 17) & 3) == 3 || (lapic_reg(l, 0x3e0) & ~0xbu))
		return fake_kvm_reject("KVM_SET_LAPIC", "LVTT 0x%x TDCR 0x%x",
				       lapic_reg(l, 0x320), lapic_reg(l, 0x3e0));
	chips.lapic = *l;
	return 0;
}

int fake_irqchip_vcpu_ioctl(unsigned long req, void *arg, bool *done)
{
	*done = true;
	switch (req) {
	case KVM_GET_LAPIC:
	case KVM_SET_LAPIC:
		if (!chips.irqchip) {
			errno = ENXIO;
			return -1;
		}
		if (req == KVM_GET_LAPIC) {
			*(struct kvm_lapic_state *)arg = chips.lapic;
			return 0;
		}
		return set_lapic(arg);
	default:
		*done = false;
		return -1;
	}
}
