/* test_irqchip_state.c - the saved form of KVM's interrupt controllers
 * (vmm/irqchip_state.h): each class of refusal of the load checks, states
 * as KVM gives them accepted, the LAPIC page codec, and a record through
 * libssm refused with one line naming unit and field. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"
#include "vmm/irqchip_state.h"

/* ---- states as KVM reads them after reset and a guest's set-up ----------- */

static struct kirq_lapic good_lapic(void)
{
	struct kirq_lapic l;

	memset(&l, 0, sizeof(l));
	l.version = 0x50014;            /* KVM without CMCI: 6 LVT entries */
	l.dfr = 0xffffffffu;
	l.svr = 0x1ff;                  /* enabled, spurious vector 0xff */
	l.lvt_timer = 0x20030;          /* periodic, vector 0x30 */
	l.lvt_thermal = l.lvt_perf = l.lvt_lint1 = l.lvt_error = 0x10000;
	l.lvt_lint0 = 0x700;            /* ExtINT: the PIC's output */
	l.timer_initial = 1000000;
	l.timer_current = 1234;
	l.timer_divide = 0xb;
	l.irr[1] = 1u << 16;            /* vector 0x30 pending */
	return l;
}

static struct kirq_pic good_pic(void)
{
	struct kirq_pic p;

	memset(&p, 0, sizeof(p));
	p.chip[0].imr = 0xea;
	p.chip[0].irr = 1;
	p.chip[0].irq_base = 0x20;
	p.chip[0].init4 = 1;
	p.chip[0].elcr_mask = 0xf8;
	p.chip[1].imr = 0xff;
	p.chip[1].irq_base = 0x28;
	p.chip[1].init4 = 1;
	p.chip[1].elcr_mask = 0xde;
	p.chip[1].elcr = 0x0e;          /* level IRQ 9-11 */
	return p;
}

static struct kirq_ioapic good_ioapic(void)
{
	struct kirq_ioapic s;

	memset(&s, 0, sizeof(s));
	s.base_address = KIRQ_IOAPIC_BASE;
	s.pins = KIRQ_IOAPIC_PINS;
	for (unsigned i = 0; i < KIRQ_IOAPIC_PINS; i++)
		s.redir[i] = 0x10000;   /* masked */
	s.redir[4] = 0x0300000000000024ull;       /* COM1: vector 0x24 to APIC 3 */
	s.redir[9] = 0x000000000000c031ull;       /* level, remote IRR, vector 0x31 */
	s.irr = 1u << 9;
	s.id = 2;
	s.ioregsel = 0x10;
	return s;
}

static struct kirq_pit good_pit(void)
{
	struct kirq_pit s;

	memset(&s, 0, sizeof(s));
	s.ch[0] = (struct kirq_pit_channel){ .count = 1193, .read_state = 3, .write_state = 3,
					     .write_latch = 0xa9, .rw_mode = 3, .mode = 2,
					     .gate = 1 };
	s.ch[1] = (struct kirq_pit_channel){ .count = 0x10000, .mode = 0xff, .gate = 1 };
	s.ch[2] = (struct kirq_pit_channel){ .count = 0x10000, .mode = 0xff, .gate = 0 };
	return s;
}

static char why[256];

/* The check refuses, naming field (a prefix of why after "field "). */
#define REFUSED(call, field) do { \
	why[0] = 0; \
	cr_assert_eq((call), -1, "accepted; expected a refusal of %s", field); \
	cr_assert(!strncmp(why, "field " field, strlen("field " field)), \
		  "why '%s' does not name %s", why, field); \
} while (0)

/* ---- good states --------------------------------------------------------- */

Test(irqchip_state, kvm_states_accepted)
{
	struct kirq_lapic l = good_lapic();
	struct kirq_pic p = good_pic();
	struct kirq_ioapic io = good_ioapic();
	struct kirq_pit t = good_pit();

	cr_assert_eq(kirq_lapic_check(&l, 0, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(kirq_pic_check(&p, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(kirq_ioapic_check(&io, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(kirq_pit_check(&t, why, sizeof(why)), 0, "%s", why);
}

Test(irqchip_state, x2apic_and_deadline_accepted)
{
	struct kirq_lapic l = good_lapic();

	l.x2apic = 1;
	l.id = 3u << 24;
	l.ldr = (0u << 16) | (1u << 3);
	l.icr_hi = 0x12345678;          /* a full 32-bit destination */
	l.lvt_timer = 0x40040;          /* TSC deadline, vector 0x40 */
	l.timer_initial = l.timer_current = 0;
	l.tsc_deadline = 0x123456789ull;
	cr_assert_eq(kirq_lapic_check(&l, 3, why, sizeof(why)), 0, "%s", why);
	l.version = 0x1060014;          /* CMCI and EOI suppression */
	l.lvt_cmci = 0x10000;
	l.svr |= 1u << 12;
	cr_assert_eq(kirq_lapic_check(&l, 3, why, sizeof(why)), 0, "%s", why);
}

/* ---- lapic refusals --------------------------------------------------------- */

Test(irqchip_state, lapic_reserved_bits)
{
	struct kirq_lapic l = good_lapic();

	l.esr = 0x100;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "esr");
	l = good_lapic();
	l.lvt_timer |= 1u << 20;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "lvt_timer");
	l = good_lapic();
	l.tpr = 0x100;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "tpr");
	l = good_lapic();
	l.svr |= 1u << 12;              /* no EOI suppression in this version */
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "svr");
	l = good_lapic();
	l.icr_lo = 1u << 12;            /* delivery status: KVM never leaves it */
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "icr_lo");
	l = good_lapic();
	l.icr_hi = 1;                   /* xAPIC: destination in 31:24 only */
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "icr_hi");
	l = good_lapic();
	l.timer_divide = 4;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "timer_divide");
	l = good_lapic();
	l.id = 1;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "id");
	l = good_lapic();
	l.lvt_cmci = 0x10000;           /* 6 LVT entries: no CMCI register */
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "lvt_cmci");
}

Test(irqchip_state, lapic_vectors)
{
	struct kirq_lapic l = good_lapic();

	l.irr[0] = 1u << 5;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "irr[0]");
	l = good_lapic();
	l.isr[0] = 1u << 15;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "isr[0]");
	l = good_lapic();
	l.lvt_timer = 0x00003;          /* unmasked, vector 3 */
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "lvt_timer");
	l = good_lapic();
	l.lvt_error = 0x00003;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "lvt_error");
	/* Masked, vector 0 is the reset state: fine. */
	l = good_lapic();
	l.lvt_error = 0x10000;
	cr_assert_eq(kirq_lapic_check(&l, 0, why, sizeof(why)), 0, "%s", why);
}

Test(irqchip_state, lapic_delivery_and_timer_modes)
{
	struct kirq_lapic l = good_lapic();

	l.lvt_lint0 = 0x10100;          /* lowest priority: reserved in an LVT */
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "lvt_lint0");
	l = good_lapic();
	l.lvt_perf = 0x10700;           /* ExtINT: not for the perf counter */
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "lvt_perf");
	l = good_lapic();
	l.icr_lo = 0x300;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "icr_lo");
	l = good_lapic();
	l.lvt_lint1 = 0x14000;          /* remote IRR on an edge input */
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "lvt_lint1");
	l = good_lapic();
	l.lvt_timer = 0x60030;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "lvt_timer");
	l = good_lapic();
	l.lvt_timer = 0x40030;          /* TSC deadline with a count left */
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "timer_initial");
	l = good_lapic();
	l.timer_current = l.timer_initial + 1;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "timer_current");
	l = good_lapic();
	l.tsc_deadline = 5;             /* periodic mode: KVM reads it as 0 */
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "tsc_deadline");
}

Test(irqchip_state, lapic_identity)
{
	struct kirq_lapic l = good_lapic();

	l.x2apic = 2;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "x2apic");
	l = good_lapic();
	l.x2apic = 1;
	l.id = 1u << 24;                /* vCPU 0's x2APIC ID is 0 */
	l.ldr = 1;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "id");
	l.id = 0;
	l.ldr = 2;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "ldr");
	l = good_lapic();
	l.dfr = 0x7fffffff;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "dfr");
	l = good_lapic();
	l.version = 0x50015;
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "version");
	l.version = 0x90014;            /* 10 LVT entries */
	REFUSED(kirq_lapic_check(&l, 0, why, sizeof(why)), "version");
}

/* ---- pic, ioapic, pit refusals ---------------------------------------------- */

Test(irqchip_state, pic_refusals)
{
	struct kirq_pic p = good_pic();

	p.chip[0].poll = 2;
	REFUSED(kirq_pic_check(&p, why, sizeof(why)), "chip[0].poll");
	p = good_pic();
	p.chip[1].priority_add = 8;
	REFUSED(kirq_pic_check(&p, why, sizeof(why)), "chip[1].priority_add");
	p = good_pic();
	p.chip[0].irq_base = 0x21;
	REFUSED(kirq_pic_check(&p, why, sizeof(why)), "chip[0].irq_base");
	p = good_pic();
	p.chip[0].init_state = 4;
	REFUSED(kirq_pic_check(&p, why, sizeof(why)), "chip[0].init_state");
	p.chip[0].init_state = 3;
	p.chip[0].init4 = 0;
	REFUSED(kirq_pic_check(&p, why, sizeof(why)), "chip[0].init_state");
	p = good_pic();
	p.chip[0].elcr_mask = 0xff;     /* would let IRQ 0-2 be level */
	REFUSED(kirq_pic_check(&p, why, sizeof(why)), "chip[0].elcr_mask");
	p = good_pic();
	p.chip[1].elcr = 0x01;          /* IRQ 8 is edge-only */
	REFUSED(kirq_pic_check(&p, why, sizeof(why)), "chip[1].elcr");
}

Test(irqchip_state, ioapic_refusals)
{
	struct kirq_ioapic s = good_ioapic();

	s.base_address = 0x1000;
	REFUSED(kirq_ioapic_check(&s, why, sizeof(why)), "base_address");
	s = good_ioapic();
	s.id = 16;
	REFUSED(kirq_ioapic_check(&s, why, sizeof(why)), "id");
	s = good_ioapic();
	s.ioregsel = 0x100;
	REFUSED(kirq_ioapic_check(&s, why, sizeof(why)), "ioregsel");
	s = good_ioapic();
	s.irr = 1u << 24;
	REFUSED(kirq_ioapic_check(&s, why, sizeof(why)), "irr");
	s = good_ioapic();
	s.pins = 23;
	REFUSED(kirq_ioapic_check(&s, why, sizeof(why)), "pins");
	s = good_ioapic();
	s.redir[7] |= 1ull << 40;       /* reserved */
	REFUSED(kirq_ioapic_check(&s, why, sizeof(why)), "redir[7]");
	s = good_ioapic();
	s.redir[4] |= 1ull << 12;       /* delivery status */
	REFUSED(kirq_ioapic_check(&s, why, sizeof(why)), "redir[4]");
	s = good_ioapic();
	s.redir[4] = 0x300 | 0x24;      /* delivery mode 3 */
	REFUSED(kirq_ioapic_check(&s, why, sizeof(why)), "redir[4]");
	s = good_ioapic();
	s.redir[4] = 0x05;              /* unmasked fixed vector 5 */
	REFUSED(kirq_ioapic_check(&s, why, sizeof(why)), "redir[4]");
	s = good_ioapic();
	s.redir[4] = 0x4024;            /* remote IRR, edge */
	REFUSED(kirq_ioapic_check(&s, why, sizeof(why)), "redir[4]");
}

Test(irqchip_state, pit_refusals)
{
	struct kirq_pit s = good_pit();

	s.flags = KVM_PIT_FLAGS_HPET_LEGACY;
	REFUSED(kirq_pit_check(&s, why, sizeof(why)), "flags");
	s = good_pit();
	s.flags = KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	cr_assert_eq(kirq_pit_check(&s, why, sizeof(why)), 0, "%s", why);
	s = good_pit();
	s.ch[0].count = 0x10001;
	REFUSED(kirq_pit_check(&s, why, sizeof(why)), "ch[0].count");
	s = good_pit();
	s.ch[1].count_latched = 4;
	REFUSED(kirq_pit_check(&s, why, sizeof(why)), "ch[1].count_latched");
	s = good_pit();
	s.ch[2].status_latched = 2;
	REFUSED(kirq_pit_check(&s, why, sizeof(why)), "ch[2].status_latched");
	s = good_pit();
	s.ch[0].read_state = 5;
	REFUSED(kirq_pit_check(&s, why, sizeof(why)), "ch[0].read_state");
	s = good_pit();
	s.ch[0].write_state = 9;
	REFUSED(kirq_pit_check(&s, why, sizeof(why)), "ch[0].write_state");
	s = good_pit();
	s.ch[0].rw_mode = 4;
	REFUSED(kirq_pit_check(&s, why, sizeof(why)), "ch[0].rw_mode");
	s = good_pit();
	s.ch[0].mode = 6;
	REFUSED(kirq_pit_check(&s, why, sizeof(why)), "ch[0].mode");
	s = good_pit();
	s.ch[0].bcd = 2;
	REFUSED(kirq_pit_check(&s, why, sizeof(why)), "ch[0].bcd");
	s = good_pit();
	s.ch[0].gate = 0;               /* channel 0 is always gated on */
	REFUSED(kirq_pit_check(&s, why, sizeof(why)), "ch[0].gate");
	s = good_pit();
	s.ch[2].gate = 2;
	REFUSED(kirq_pit_check(&s, why, sizeof(why)), "ch[2].gate");
}

/* ---- codec ------------------------------------------------------------------ */

Test(irqchip_state, lapic_page_round_trip)
{
	struct kvm_lapic_state page, again;
	struct kirq_lapic l = good_lapic(), back;

	memset(&page, 0x5a, sizeof(page));      /* registers it does not hold */
	l.isr[7] = 0x80000000u;
	l.tmr[3] = 0x11;
	kirq_lapic_encode(&l, &page);
	kirq_lapic_decode(&page, &back);
	/* Not in the page: set by the unit from MSRs. */
	back.tsc_deadline = l.tsc_deadline;
	back.x2apic = l.x2apic;
	cr_assert(!memcmp(&l, &back, sizeof(l)));
	cr_assert_eq((uint8_t)page.regs[0x3f0], 0x5a, "the self-IPI slot was overwritten");
	cr_assert_eq(*(uint32_t *)(page.regs + 0x320), l.lvt_timer);
	cr_assert_eq(*(uint32_t *)(page.regs + 0x170), 0x80000000u);
	memcpy(&again, &page, sizeof(page));
	kirq_lapic_encode(&back, &again);
	cr_assert(!memcmp(&page, &again, sizeof(page)));
}

Test(irqchip_state, pic_pit_ioapic_round_trip)
{
	struct kirq_pic p = good_pic(), p2;
	struct kirq_pit t = good_pit(), t2;
	struct kirq_ioapic io = good_ioapic(), io2;
	struct kvm_pic_state m, s;
	struct kvm_pit_state2 kp;
	struct kvm_ioapic_state ki;

	kirq_pic_encode(&p, &m, &s);
	cr_assert_eq(s.elcr, 0x0e);
	kirq_pic_decode(&m, &s, &p2);
	cr_assert(!memcmp(&p, &p2, sizeof(p)));
	kirq_pit_encode(&t, &kp);
	cr_assert_eq(kp.channels[0].count_load_time, 0);
	kirq_pit_decode(&kp, &t2);
	cr_assert(!memcmp(&t, &t2, sizeof(t)));
	kirq_ioapic_encode(&io, &ki);
	cr_assert_eq(ki.redirtbl[4].fields.dest_id, 3);
	cr_assert_eq(ki.redirtbl[4].fields.vector, 0x24);
	kirq_ioapic_decode(&ki, &io2);
	cr_assert(!memcmp(&io, &io2, sizeof(io)));
}

/* ---- through libssm ------------------------------------------------------- */

static struct kirq_lapic saved, loaded;
static int load_rc;

static int put_lapic(void *ctx, ssm_handle *h)
{
	(void)ctx;
	return ssm_put_struct(h, &saved, sizeof(saved), SSM_STRUCT_FULL, kirq_lapic_fields, NULL);
}

static int get_lapic(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	(void)ctx;
	(void)pass;
	load_rc = kirq_unit_get(h, &kirq_unit_lapic, 2, version, &loaded);
	return load_rc;
}

/* Save `saved` as lapic instance 2, load it back; the load's status. */
static int round_trip(char *err, size_t errlen)
{
	static const ssm_callbacks cb = { .save_exec = put_lapic, .load_exec = get_lapic };
	ssm *s = ssm_create(NULL);
	ssm_stream st;
	void *buf;
	size_t len;
	int rc;

	cr_assert_not_null(s);
	cr_assert_eq(ssm_register_external(s, "lapic", 2, KIRQ_LAPIC_VERSION, 0, NULL, 0, &cb,
					   NULL), SSM_OK);
	cr_assert_eq(ssm_stream_mem_sink(&st, &buf, &len), SSM_OK);
	cr_assert_eq(ssm_save(s, st, NULL), SSM_OK);
	cr_assert_eq(ssm_stream_mem_reader(&st, buf, len), SSM_OK);
	load_rc = SSM_OK;
	rc = ssm_load(s, st, NULL);
	snprintf(err, errlen, "%s", ssm_last_error(s));
	ssm_destroy(s);
	free(buf);
	return rc;
}

Test(irqchip_state, record_loads_and_refusal_names_unit_and_field)
{
	char err[512];

	saved = good_lapic();
	saved.id = 2u << 24;
	memset(&loaded, 0, sizeof(loaded));
	cr_assert_eq(round_trip(err, sizeof(err)), SSM_OK, "%s", err);
	cr_assert(!memcmp(&saved, &loaded, sizeof(saved)));

	saved.lvt_timer = 0x60030;
	cr_assert_neq(round_trip(err, sizeof(err)), SSM_OK);
	cr_assert_eq(load_rc, SSM_ERR_LOAD_VALUE);
	cr_assert(strstr(err, "lapic 2: field lvt_timer 0x00060030: timer mode 3 is reserved"),
		  "%s", err);
	cr_assert_null(strchr(err, '\n'), "more than one line: %s", err);
}
