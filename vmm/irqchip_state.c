/* irqchip_state.c - saved form and load checks of KVM's interrupt
 * controllers (irqchip_state.h).  The rules are the architecture's (Intel
 * SDM vol. 3 ch. 11 for the LAPIC, the 82093AA IOAPIC, 8259A and 8254
 * data sheets) as far as KVM keeps them, plus KVM's own fixed values. */
#include "vmm/irqchip_state.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- field tables --------------------------------------------------------- */

#define W8(t, a) SSM_FIELD(t, a[0]), SSM_FIELD(t, a[1]), SSM_FIELD(t, a[2]), \
	SSM_FIELD(t, a[3]), SSM_FIELD(t, a[4]), SSM_FIELD(t, a[5]), SSM_FIELD(t, a[6]), \
	SSM_FIELD(t, a[7])

const ssm_field kirq_lapic_fields[] = {
	SSM_FIELD(struct kirq_lapic, tsc_deadline),
	SSM_FIELD(struct kirq_lapic, id),
	SSM_FIELD(struct kirq_lapic, version),
	SSM_FIELD(struct kirq_lapic, tpr),
	SSM_FIELD(struct kirq_lapic, ldr),
	SSM_FIELD(struct kirq_lapic, dfr),
	SSM_FIELD(struct kirq_lapic, svr),
	W8(struct kirq_lapic, isr),
	W8(struct kirq_lapic, tmr),
	W8(struct kirq_lapic, irr),
	SSM_FIELD(struct kirq_lapic, esr),
	SSM_FIELD(struct kirq_lapic, icr_lo),
	SSM_FIELD(struct kirq_lapic, icr_hi),
	SSM_FIELD(struct kirq_lapic, lvt_cmci),
	SSM_FIELD(struct kirq_lapic, lvt_timer),
	SSM_FIELD(struct kirq_lapic, lvt_thermal),
	SSM_FIELD(struct kirq_lapic, lvt_perf),
	SSM_FIELD(struct kirq_lapic, lvt_lint0),
	SSM_FIELD(struct kirq_lapic, lvt_lint1),
	SSM_FIELD(struct kirq_lapic, lvt_error),
	SSM_FIELD(struct kirq_lapic, timer_initial),
	SSM_FIELD(struct kirq_lapic, timer_current),
	SSM_FIELD(struct kirq_lapic, timer_divide),
	SSM_FIELD(struct kirq_lapic, x2apic),
	SSM_FIELD_TERM()
};
_Static_assert(sizeof(struct kirq_lapic) == 8 + 44 * 4, "kirq_lapic: update its table");

#define PIC_CHIP(i) \
	SSM_FIELD(struct kirq_pic, chip[i].last_irr), \
	SSM_FIELD(struct kirq_pic, chip[i].irr), \
	SSM_FIELD(struct kirq_pic, chip[i].imr), \
	SSM_FIELD(struct kirq_pic, chip[i].isr), \
	SSM_FIELD(struct kirq_pic, chip[i].priority_add), \
	SSM_FIELD(struct kirq_pic, chip[i].irq_base), \
	SSM_FIELD(struct kirq_pic, chip[i].read_reg_select), \
	SSM_FIELD(struct kirq_pic, chip[i].poll), \
	SSM_FIELD(struct kirq_pic, chip[i].special_mask), \
	SSM_FIELD(struct kirq_pic, chip[i].init_state), \
	SSM_FIELD(struct kirq_pic, chip[i].auto_eoi), \
	SSM_FIELD(struct kirq_pic, chip[i].rotate_on_auto_eoi), \
	SSM_FIELD(struct kirq_pic, chip[i].special_fully_nested_mode), \
	SSM_FIELD(struct kirq_pic, chip[i].init4), \
	SSM_FIELD(struct kirq_pic, chip[i].elcr), \
	SSM_FIELD(struct kirq_pic, chip[i].elcr_mask)

const ssm_field kirq_pic_fields[] = {
	PIC_CHIP(0),
	PIC_CHIP(1),
	SSM_FIELD_TERM()
};
_Static_assert(sizeof(struct kirq_pic) == 32, "kirq_pic: update its table");

/* Field names come from the text: each index written out. */
#define R(i) SSM_FIELD(struct kirq_ioapic, redir[i])

const ssm_field kirq_ioapic_fields[] = {
	SSM_FIELD(struct kirq_ioapic, base_address),
	R(0), R(1), R(2), R(3), R(4), R(5), R(6), R(7), R(8), R(9), R(10), R(11),
	R(12), R(13), R(14), R(15), R(16), R(17), R(18), R(19), R(20), R(21), R(22), R(23),
	SSM_FIELD(struct kirq_ioapic, ioregsel),
	SSM_FIELD(struct kirq_ioapic, id),
	SSM_FIELD(struct kirq_ioapic, irr),
	SSM_FIELD(struct kirq_ioapic, pins),
	SSM_FIELD_TERM()
};
_Static_assert(sizeof(struct kirq_ioapic) == 8 + 24 * 8 + 16, "kirq_ioapic: update its table");

#define PIT_CH(i) \
	SSM_FIELD(struct kirq_pit, ch[i].count), \
	SSM_FIELD(struct kirq_pit, ch[i].latched_count), \
	SSM_FIELD(struct kirq_pit, ch[i].count_latched), \
	SSM_FIELD(struct kirq_pit, ch[i].status_latched), \
	SSM_FIELD(struct kirq_pit, ch[i].status), \
	SSM_FIELD(struct kirq_pit, ch[i].read_state), \
	SSM_FIELD(struct kirq_pit, ch[i].write_state), \
	SSM_FIELD(struct kirq_pit, ch[i].write_latch), \
	SSM_FIELD(struct kirq_pit, ch[i].rw_mode), \
	SSM_FIELD(struct kirq_pit, ch[i].mode), \
	SSM_FIELD(struct kirq_pit, ch[i].bcd), \
	SSM_FIELD(struct kirq_pit, ch[i].gate)

const ssm_field kirq_pit_fields[] = {
	PIT_CH(0),
	PIT_CH(1),
	PIT_CH(2),
	SSM_FIELD(struct kirq_pit, flags),
	SSM_FIELD_TERM()
};
_Static_assert(sizeof(struct kirq_pit) == 3 * 16 + 4, "kirq_pit: update its table");

/* ---- LAPIC page ----------------------------------------------------------- */

/* Register offsets in the 1 KiB page (SDM table 11-1). */
enum {
	APIC_ID = 0x20, APIC_LVR = 0x30, APIC_TPR = 0x80, APIC_LDR = 0xd0, APIC_DFR = 0xe0,
	APIC_SVR = 0xf0, APIC_ISR = 0x100, APIC_TMR = 0x180, APIC_IRR = 0x200,
	APIC_ESR = 0x280, APIC_LVT_CMCI = 0x2f0, APIC_ICR = 0x300, APIC_ICR2 = 0x310,
	APIC_LVTT = 0x320, APIC_LVT_THERMAL = 0x330, APIC_LVT_PERF = 0x340,
	APIC_LVT0 = 0x350, APIC_LVT1 = 0x360, APIC_LVT_ERR = 0x370, APIC_TMICT = 0x380,
	APIC_TMCCT = 0x390, APIC_TDCR = 0x3e0,
};

static uint32_t reg(const struct kvm_lapic_state *p, unsigned off)
{
	uint32_t v;

	memcpy(&v, p->regs + off, 4);
	return v;
}

static void set_reg(struct kvm_lapic_state *p, unsigned off, uint32_t v)
{
	memcpy(p->regs + off, &v, 4);
}

/* One table of (offset, member) pairs drives both directions. */
#define LAPIC_REGS(X) \
	X(APIC_ID, id) X(APIC_LVR, version) X(APIC_TPR, tpr) X(APIC_LDR, ldr) \
	X(APIC_DFR, dfr) X(APIC_SVR, svr) X(APIC_ESR, esr) X(APIC_ICR, icr_lo) \
	X(APIC_ICR2, icr_hi) X(APIC_LVT_CMCI, lvt_cmci) X(APIC_LVTT, lvt_timer) \
	X(APIC_LVT_THERMAL, lvt_thermal) X(APIC_LVT_PERF, lvt_perf) X(APIC_LVT0, lvt_lint0) \
	X(APIC_LVT1, lvt_lint1) X(APIC_LVT_ERR, lvt_error) X(APIC_TMICT, timer_initial) \
	X(APIC_TMCCT, timer_current) X(APIC_TDCR, timer_divide)

void kirq_lapic_decode(const struct kvm_lapic_state *page, struct kirq_lapic *l)
{
	memset(l, 0, sizeof(*l));
#define GET(off, m) l->m = reg(page, off);
	LAPIC_REGS(GET)
#undef GET
	for (unsigned i = 0; i < 8; i++) {
		l->isr[i] = reg(page, APIC_ISR + 16 * i);
		l->tmr[i] = reg(page, APIC_TMR + 16 * i);
		l->irr[i] = reg(page, APIC_IRR + 16 * i);
	}
}

void kirq_lapic_encode(const struct kirq_lapic *l, struct kvm_lapic_state *page)
{
#define PUT(off, m) set_reg(page, off, l->m);
	LAPIC_REGS(PUT)
#undef PUT
	for (unsigned i = 0; i < 8; i++) {
		set_reg(page, APIC_ISR + 16 * i, l->isr[i]);
		set_reg(page, APIC_TMR + 16 * i, l->tmr[i]);
		set_reg(page, APIC_IRR + 16 * i, l->irr[i]);
	}
}

/* ---- PIC, IOAPIC, PIT ----------------------------------------------------- */

#define PIC_MEMBERS(X) X(last_irr) X(irr) X(imr) X(isr) X(priority_add) X(irq_base) \
	X(read_reg_select) X(poll) X(special_mask) X(init_state) X(auto_eoi) \
	X(rotate_on_auto_eoi) X(special_fully_nested_mode) X(init4) X(elcr) X(elcr_mask)

static void pic_from(const struct kvm_pic_state *k, struct kirq_pic_chip *c)
{
#define CP(m) c->m = k->m;
	PIC_MEMBERS(CP)
#undef CP
}

static void pic_to(const struct kirq_pic_chip *c, struct kvm_pic_state *k)
{
#define CP(m) k->m = c->m;
	PIC_MEMBERS(CP)
#undef CP
}

void kirq_pic_decode(const struct kvm_pic_state *master, const struct kvm_pic_state *slave,
		     struct kirq_pic *p)
{
	memset(p, 0, sizeof(*p));
	pic_from(master, &p->chip[0]);
	pic_from(slave, &p->chip[1]);
}

void kirq_pic_encode(const struct kirq_pic *p, struct kvm_pic_state *master,
		     struct kvm_pic_state *slave)
{
	memset(master, 0, sizeof(*master));
	memset(slave, 0, sizeof(*slave));
	pic_to(&p->chip[0], master);
	pic_to(&p->chip[1], slave);
}

void kirq_ioapic_decode(const struct kvm_ioapic_state *k, struct kirq_ioapic *s)
{
	memset(s, 0, sizeof(*s));
	s->base_address = k->base_address;
	s->ioregsel = k->ioregsel;
	s->id = k->id;
	s->irr = k->irr;
	s->pins = KIRQ_IOAPIC_PINS;
	for (unsigned i = 0; i < KIRQ_IOAPIC_PINS; i++)
		s->redir[i] = k->redirtbl[i].bits;
}

void kirq_ioapic_encode(const struct kirq_ioapic *s, struct kvm_ioapic_state *k)
{
	memset(k, 0, sizeof(*k));
	k->base_address = s->base_address;
	k->ioregsel = s->ioregsel;
	k->id = s->id;
	k->irr = s->irr;
	for (unsigned i = 0; i < KIRQ_IOAPIC_PINS; i++)
		k->redirtbl[i].bits = s->redir[i];
}

#define PIT_MEMBERS(X) X(count) X(latched_count) X(count_latched) X(status_latched) \
	X(status) X(read_state) X(write_state) X(write_latch) X(rw_mode) X(mode) X(bcd) X(gate)

void kirq_pit_decode(const struct kvm_pit_state2 *k, struct kirq_pit *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 3; i++) {
#define CP(m) s->ch[i].m = k->channels[i].m;
		PIT_MEMBERS(CP)
#undef CP
	}
	s->flags = k->flags;
}

void kirq_pit_encode(const struct kirq_pit *s, struct kvm_pit_state2 *k)
{
	/* count_load_time stays 0: KVM_SET_PIT2 reloads every count, which
	 * starts each channel's period anew at the host's current time. */
	memset(k, 0, sizeof(*k));
	for (unsigned i = 0; i < 3; i++) {
#define CP(m) k->channels[i].m = s->ch[i].m;
		PIT_MEMBERS(CP)
#undef CP
	}
	k->flags = s->flags;
}

/* ---- checks ---------------------------------------------------------------- */

static int bad(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* LVT and ICR bits (SDM figure 11-8, 11-12). */
#define LVT_VECTOR      0xffu
#define LVT_MODE_SHIFT  8
#define LVT_MODE        (7u << LVT_MODE_SHIFT)
#define LVT_STATUS      (1u << 12)      /* KVM stores what the guest wrote */
#define LVT_POLARITY    (1u << 13)
#define LVT_REMOTE_IRR  (1u << 14)
#define LVT_LEVEL       (1u << 15)
#define LVT_MASKED      (1u << 16)
#define LVT_TIMER_MODE  (3u << 17)

enum { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_STARTUP = 6,
       DM_EXTINT = 7 };

/* Which delivery modes an LVT entry may hold: LINT0/1 all but the
 * reserved 1, 3 and 6; CMCI, thermal and performance not INIT or ExtINT. */
#define LVT_MODES_LINT  ((1u << DM_FIXED) | (1u << DM_SMI) | (1u << DM_NMI) | \
			 (1u << DM_INIT) | (1u << DM_EXTINT))
#define LVT_MODES_EVENT ((1u << DM_FIXED) | (1u << DM_SMI) | (1u << DM_NMI))

struct lvt_rule {
	const char *name;
	uint32_t allowed;       /* bits that may be set */
	uint32_t modes;         /* delivery modes allowed; 0: no mode field */
};

static int check_lvt(uint32_t v, const struct lvt_rule *r, char *why, size_t len)
{
	unsigned mode = r->modes ? (v & LVT_MODE) >> LVT_MODE_SHIFT : DM_FIXED;

	if (v & ~r->allowed)
		return bad(why, len, "field %s 0x%08x: reserved bits 0x%08x set", r->name, v,
			   v & ~r->allowed);
	if (r->modes && !(r->modes & (1u << mode)))
		return bad(why, len, "field %s 0x%08x: delivery mode %u is reserved for it",
			   r->name, v, mode);
	if (!(v & LVT_MASKED) && mode == DM_FIXED && (v & LVT_VECTOR) < 16)
		return bad(why, len, "field %s 0x%08x: unmasked fixed delivery of vector %u "
			   "(vectors 0-15 are illegal)", r->name, v, v & LVT_VECTOR);
	if ((v & LVT_REMOTE_IRR) && !(v & LVT_LEVEL))
		return bad(why, len, "field %s 0x%08x: remote IRR set on an edge-triggered "
			   "input", r->name, v);
	return 0;
}

static int check_vectors(const uint32_t *w, const char *name, char *why, size_t len)
{
	/* Vectors 0-15 are exceptions: never requested or in service. */
	if (w[0] & 0xffffu)
		return bad(why, len, "field %s[0] 0x%08x: vectors 0-15 cannot be pending or "
			   "in service", name, w[0]);
	return 0;
}

#define LVR_MAXLVT(v)   (((v) >> 16) & 0xffu)
#define LVR_EOI_SUPPR   (1u << 24)
#define SVR_EOI_SUPPR   (1u << 12)
#define TIMER_ONESHOT   0u
#define TIMER_DEADLINE  2u

static int check_lapic_ids(const struct kirq_lapic *l, uint32_t index, char *why, size_t len)
{
	if (l->x2apic > 1)
		return bad(why, len, "field x2apic %u: not 0 or 1", l->x2apic);
	if (l->id & 0x00ffffffu)
		return bad(why, len, "field id 0x%08x: bits 0-23 are reserved", l->id);
	if (l->x2apic) {
		/* KVM's x2APIC ID is the vCPU index, and the LDR follows it. */
		uint32_t ldr = ((index >> 4) << 16) | (1u << (index & 0xf));

		if (l->id >> 24 != index)
			return bad(why, len, "field id 0x%08x: an x2APIC's ID is its vCPU index "
				   "%u", l->id, index);
		if (l->ldr != ldr)
			return bad(why, len, "field ldr 0x%08x: x2APIC %u's LDR is 0x%08x",
				   l->ldr, index, ldr);
	} else if (l->ldr & 0x00ffffffu) {
		return bad(why, len, "field ldr 0x%08x: bits 0-23 are reserved", l->ldr);
	}
	if (l->dfr != 0xffffffffu && l->dfr != 0x0fffffffu)
		return bad(why, len, "field dfr 0x%08x: neither the flat (0xffffffff) nor the "
			   "cluster (0x0fffffff) model", l->dfr);
	return 0;
}

static int check_lapic_regs(const struct kirq_lapic *l, char *why, size_t len)
{
	uint32_t maxlvt = LVR_MAXLVT(l->version), svr_ok = 0x3ffu;
	unsigned dm = (l->icr_lo & LVT_MODE) >> LVT_MODE_SHIFT;

	if ((l->version & 0xffu) != 0x14 || maxlvt < 5 || maxlvt > 6 ||
	    (l->version & ~(0xffu | 0xff0000u | LVR_EOI_SUPPR)))
		return bad(why, len, "field version 0x%08x: not an integrated APIC version "
			   "0x14 with 6 or 7 LVT entries", l->version);
	if (l->version & LVR_EOI_SUPPR)
		svr_ok |= SVR_EOI_SUPPR;
	if (l->svr & ~svr_ok)
		return bad(why, len, "field svr 0x%08x: reserved bits 0x%08x set", l->svr,
			   l->svr & ~svr_ok);
	if (l->tpr & ~0xffu)
		return bad(why, len, "field tpr 0x%08x: bits 8-31 are reserved", l->tpr);
	if (l->esr & ~0xffu)
		return bad(why, len, "field esr 0x%08x: bits 8-31 are reserved", l->esr);
	/* ICR low: vector, mode, destination mode, level, trigger, shorthand;
	 * KVM never leaves the delivery-status bit set. */
	if (l->icr_lo & ~0x000ccfffu)
		return bad(why, len, "field icr_lo 0x%08x: reserved or read-only bits 0x%08x "
			   "set", l->icr_lo, l->icr_lo & ~0x000ccfffu);
	if (dm == 3 || dm == 7)
		return bad(why, len, "field icr_lo 0x%08x: delivery mode %u is reserved",
			   l->icr_lo, dm);
	if (!l->x2apic && (l->icr_hi & 0x00ffffffu))
		return bad(why, len, "field icr_hi 0x%08x: bits 0-23 are reserved in xAPIC "
			   "mode", l->icr_hi);
	if (check_vectors(l->isr, "isr", why, len) || check_vectors(l->tmr, "tmr", why, len) ||
	    check_vectors(l->irr, "irr", why, len))
		return -1;
	return 0;
}

static int check_lapic_timer(const struct kirq_lapic *l, char *why, size_t len)
{
	uint32_t mode = (l->lvt_timer & LVT_TIMER_MODE) >> 17;

	if (mode == 3)
		return bad(why, len, "field lvt_timer 0x%08x: timer mode 3 is reserved",
			   l->lvt_timer);
	if (l->timer_divide & ~0xbu)
		return bad(why, len, "field timer_divide 0x%08x: only bits 0, 1 and 3 exist",
			   l->timer_divide);
	if (mode == TIMER_DEADLINE && (l->timer_initial || l->timer_current))
		return bad(why, len, "field timer_initial %u: TSC-deadline mode has no count "
			   "(current %u)", l->timer_initial, l->timer_current);
	if (l->timer_current > l->timer_initial)
		return bad(why, len, "field timer_current %u: above timer_initial %u",
			   l->timer_current, l->timer_initial);
	if (mode != TIMER_DEADLINE && l->tsc_deadline)
		return bad(why, len, "field tsc_deadline 0x%llx: set while lvt_timer 0x%08x is "
			   "not in TSC-deadline mode", (unsigned long long)l->tsc_deadline,
			   l->lvt_timer);
	return 0;
}

int kirq_lapic_check(const struct kirq_lapic *l, uint32_t index, char *why, size_t len)
{
	const struct lvt_rule rules[] = {
		{ "lvt_cmci", LVT_VECTOR | LVT_MODE | LVT_STATUS | LVT_MASKED, LVT_MODES_EVENT },
		{ "lvt_timer", LVT_VECTOR | LVT_STATUS | LVT_MASKED | LVT_TIMER_MODE, 0 },
		{ "lvt_thermal", LVT_VECTOR | LVT_MODE | LVT_STATUS | LVT_MASKED,
		  LVT_MODES_EVENT },
		{ "lvt_perf", LVT_VECTOR | LVT_MODE | LVT_STATUS | LVT_MASKED, LVT_MODES_EVENT },
		{ "lvt_lint0", 0x1ffffu, LVT_MODES_LINT },
		{ "lvt_lint1", 0x1ffffu, LVT_MODES_LINT },
		{ "lvt_error", LVT_VECTOR | LVT_STATUS | LVT_MASKED, 0 },
	};
	const uint32_t lvt[] = { l->lvt_cmci, l->lvt_timer, l->lvt_thermal, l->lvt_perf,
				 l->lvt_lint0, l->lvt_lint1, l->lvt_error };

	if (check_lapic_ids(l, index, why, len) || check_lapic_regs(l, why, len))
		return -1;
	/* An APIC with 6 LVT entries has no CMCI register: KVM keeps it 0. */
	if (LVR_MAXLVT(l->version) < 6 && l->lvt_cmci)
		return bad(why, len, "field lvt_cmci 0x%08x: this APIC (version 0x%08x) has no "
			   "CMCI entry", l->lvt_cmci, l->version);
	for (size_t i = LVR_MAXLVT(l->version) < 6; i < sizeof(lvt) / sizeof(lvt[0]); i++)
		if (check_lvt(lvt[i], &rules[i], why, len))
			return -1;
	return check_lapic_timer(l, why, len);
}

static int flag(uint8_t v, const char *chip, const char *name, char *why, size_t len)
{
	if (v > 1)
		return bad(why, len, "field %s.%s %u: not 0 or 1", chip, name, v);
	return 0;
}

int kirq_pic_check(const struct kirq_pic *p, char *why, size_t len)
{
	/* KVM's fixed ELCR masks: IRQ 0-2 and 8, 13 are edge-only. */
	static const uint8_t elcr_mask[2] = { 0xf8, 0xde };
	static const char *const name[2] = { "chip[0]", "chip[1]" };

	for (unsigned i = 0; i < 2; i++) {
		const struct kirq_pic_chip *c = &p->chip[i];
		const char *n = name[i];

		if (flag(c->read_reg_select, n, "read_reg_select", why, len) ||
		    flag(c->poll, n, "poll", why, len) ||
		    flag(c->special_mask, n, "special_mask", why, len) ||
		    flag(c->auto_eoi, n, "auto_eoi", why, len) ||
		    flag(c->rotate_on_auto_eoi, n, "rotate_on_auto_eoi", why, len) ||
		    flag(c->special_fully_nested_mode, n, "special_fully_nested_mode", why,
			 len) ||
		    flag(c->init4, n, "init4", why, len))
			return -1;
		if (c->priority_add > 7)
			return bad(why, len, "field %s.priority_add %u: above 7", n,
				   c->priority_add);
		if (c->irq_base & 7)
			return bad(why, len, "field %s.irq_base 0x%02x: not a multiple of 8", n,
				   c->irq_base);
		if (c->init_state > 3)
			return bad(why, len, "field %s.init_state %u: above 3 (ICW4 next)", n,
				   c->init_state);
		if (c->init_state == 3 && !c->init4)
			return bad(why, len, "field %s.init_state 3: waits for an ICW4 that ICW1 "
				   "did not ask for (init4 0)", n);
		if (c->elcr_mask != elcr_mask[i])
			return bad(why, len, "field %s.elcr_mask 0x%02x: KVM's is 0x%02x", n,
				   c->elcr_mask, elcr_mask[i]);
		if (c->elcr & ~c->elcr_mask)
			return bad(why, len, "field %s.elcr 0x%02x: level-triggers edge-only "
				   "inputs 0x%02x", n, c->elcr, c->elcr & ~c->elcr_mask);
	}
	return 0;
}

/* Redirection entry bits (82093AA 3.2.4). */
#define RTE_VECTOR      0xffull
#define RTE_MODE(v)     ((unsigned)((v) >> 8) & 7u)
#define RTE_STATUS      (1ull << 12)
#define RTE_REMOTE_IRR  (1ull << 14)
#define RTE_LEVEL       (1ull << 15)
#define RTE_MASKED      (1ull << 16)
#define RTE_RESERVED    0x00fffffffffe0000ull   /* bits 17-55 */

int kirq_ioapic_check(const struct kirq_ioapic *s, char *why, size_t len)
{
	if (s->pins != KIRQ_IOAPIC_PINS)
		return bad(why, len, "field pins %u: KVM's IOAPIC has %u", s->pins,
			   KIRQ_IOAPIC_PINS);
	if (s->base_address != KIRQ_IOAPIC_BASE)
		return bad(why, len, "field base_address 0x%llx: KVM's IOAPIC is at 0x%llx",
			   (unsigned long long)s->base_address, KIRQ_IOAPIC_BASE);
	if (s->id > 0xf)
		return bad(why, len, "field id %u: a 4-bit IOAPIC ID", s->id);
	if (s->ioregsel > 0xff)
		return bad(why, len, "field ioregsel 0x%x: an 8-bit register index", s->ioregsel);
	if (s->irr >> KIRQ_IOAPIC_PINS)
		return bad(why, len, "field irr 0x%08x: only %u pins", s->irr, KIRQ_IOAPIC_PINS);
	for (unsigned i = 0; i < KIRQ_IOAPIC_PINS; i++) {
		uint64_t e = s->redir[i];
		unsigned mode = RTE_MODE(e);

		if (e & RTE_RESERVED)
			return bad(why, len, "field redir[%u] 0x%016llx: reserved bits set", i,
				   (unsigned long long)e);
		if (e & RTE_STATUS)
			return bad(why, len, "field redir[%u] 0x%016llx: delivery status set "
				   "(KVM never leaves it pending)", i, (unsigned long long)e);
		if (mode == 3 || mode == 6)
			return bad(why, len, "field redir[%u] 0x%016llx: delivery mode %u is "
				   "reserved", i, (unsigned long long)e, mode);
		if (!(e & RTE_MASKED) && (mode == DM_FIXED || mode == DM_LOWEST) &&
		    (e & RTE_VECTOR) < 16)
			return bad(why, len, "field redir[%u] 0x%016llx: unmasked delivery of "
				   "vector %u (vectors 0-15 are illegal)", i,
				   (unsigned long long)e, (unsigned)(e & RTE_VECTOR));
		if ((e & RTE_REMOTE_IRR) && !(e & RTE_LEVEL))
			return bad(why, len, "field redir[%u] 0x%016llx: remote IRR set on an "
				   "edge-triggered pin", i, (unsigned long long)e);
	}
	return 0;
}

static int lapic_check(const void *st, uint32_t i, char *why, size_t len)
{
	return kirq_lapic_check(st, i, why, len);
}

static int pic_check(const void *st, uint32_t i, char *why, size_t len)
{
	(void)i;
	return kirq_pic_check(st, why, len);
}

static int ioapic_check(const void *st, uint32_t i, char *why, size_t len)
{
	(void)i;
	return kirq_ioapic_check(st, why, len);
}

static int pit_check(const void *st, uint32_t i, char *why, size_t len)
{
	(void)i;
	return kirq_pit_check(st, why, len);
}

const struct kirq_unit kirq_unit_lapic = {
	"lapic", KIRQ_LAPIC_VERSION, KIRQ_LAPIC_VERSION_MIN, kirq_lapic_fields,
	sizeof(struct kirq_lapic), lapic_check,
};
const struct kirq_unit kirq_unit_pic = {
	"kvm-pic", KIRQ_PIC_VERSION, KIRQ_PIC_VERSION_MIN, kirq_pic_fields,
	sizeof(struct kirq_pic), pic_check,
};
const struct kirq_unit kirq_unit_ioapic = {
	"ioapic", KIRQ_IOAPIC_VERSION, KIRQ_IOAPIC_VERSION_MIN, kirq_ioapic_fields,
	sizeof(struct kirq_ioapic), ioapic_check,
};
const struct kirq_unit kirq_unit_pit = {
	"kvm-pit", KIRQ_PIT_VERSION, KIRQ_PIT_VERSION_MIN, kirq_pit_fields,
	sizeof(struct kirq_pit), pit_check,
};

int kirq_unit_get(ssm_handle *h, const struct kirq_unit *u, uint32_t instance,
		  uint32_t version, void *st)
{
	char why[200];
	int rc = ssm_check_unit_version(h, u->name, version, u->version_min, u->version);

	if (!rc)
		rc = ssm_get_struct(h, st, u->size, SSM_STRUCT_FULL, u->fields, NULL);
	if (!rc && u->check(st, instance, why, sizeof(why))) {
		if (u == &kirq_unit_lapic)
			return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "%s %u: %s", u->name,
						  instance, why);
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "%s: %s", u->name, why);
	}
	return rc;
}

int kirq_pit_check(const struct kirq_pit *s, char *why, size_t len)
{
	if (s->flags & ~(uint32_t)KVM_PIT_FLAGS_SPEAKER_DATA_ON)
		return bad(why, len, "field flags 0x%x: only speaker_data_on (0x%x) may be set "
			   "(this VMM has no HPET)", s->flags, KVM_PIT_FLAGS_SPEAKER_DATA_ON);
	for (unsigned i = 0; i < 3; i++) {
		const struct kirq_pit_channel *c = &s->ch[i];

		/* KVM holds a count of 0 as 65536. */
		if (c->count > 0x10000)
			return bad(why, len, "field ch[%u].count %u: above 65536", i, c->count);
		if (c->count_latched > 3)
			return bad(why, len, "field ch[%u].count_latched %u: not an access mode "
				   "(0-3)", i, c->count_latched);
		if (c->status_latched > 1)
			return bad(why, len, "field ch[%u].status_latched %u: not 0 or 1", i,
				   c->status_latched);
		if (c->read_state > 4 || c->write_state > 4)
			return bad(why, len, "field ch[%u].%s %u: not a byte state (0-4)", i,
				   c->read_state > 4 ? "read_state" : "write_state",
				   c->read_state > 4 ? c->read_state : c->write_state);
		if (c->rw_mode > 3)
			return bad(why, len, "field ch[%u].rw_mode %u: not an access mode (0-3)", i,
				   c->rw_mode);
		/* 0xff: never programmed since reset. */
		if (c->mode > 5 && c->mode != 0xff)
			return bad(why, len, "field ch[%u].mode %u: modes are 0-5", i, c->mode);
		if (c->bcd > 1)
			return bad(why, len, "field ch[%u].bcd %u: not 0 or 1", i, c->bcd);
		if (c->gate > 1 || (i < 2 && c->gate != 1))
			return bad(why, len, "field ch[%u].gate %u: %s", i, c->gate,
				   i < 2 ? "channels 0 and 1 are always gated on" : "not 0 or 1");
	}
	return 0;
}
