/* pic.c - cascaded 8259A pair.  See pic.h for the host contract. */
#include "devices/pic.h"
#include "devices/dev_identity.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PIC_NONE 8   /* "no IR" in relative-priority terms */

static const uint8_t elcr_mask[2] = { PIC_ELCR_MASK_MASTER, PIC_ELCR_MASK_SLAVE };

/* ---- Helpers ------------------------------------------------------------- */

static uint8_t level_mask(const struct pic_chip *c)
{
	return c->ltim ? 0xff : c->elcr;
}

/* Level-triggered IRR bits mirror their input; edge bits keep their latch. */
static void resync_level_irr(struct pic_chip *c)
{
	uint8_t lv = level_mask(c);

	c->irr = (uint8_t)((c->irr & ~lv) | (c->lines & lv));
}

static void chip_set_line(struct pic_chip *c, unsigned irq, int level)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (level_mask(c) & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= (uint8_t)~bit;
	} else if (level && !(c->lines & bit)) {
		/* Edge mode latches the rising edge; the falling edge does not
		 * withdraw it (the INTA then finds nothing: spurious IR7). */
		c->irr |= bit;
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= (uint8_t)~bit;
}

/* Relative priority (0 = highest) of the best IR in mask, PIC_NONE if empty. */
static unsigned chip_priority(const struct pic_chip *c, uint8_t mask)
{
	unsigned i;

	for (i = 0; i < 8; i++)
		if (mask & (1u << ((i + c->priority_add) & 7)))
			return i;
	return PIC_NONE;
}

/* IR the chip would present on INTA, or -1. */
static int chip_pending(const struct pic_chip *c, bool master)
{
	unsigned prio = chip_priority(c, (uint8_t)(c->irr & ~c->imr));
	uint8_t inserv = c->isr;
	unsigned cur;
	int irq;

	if (prio == PIC_NONE)
		return -1;
	irq = (int)((prio + c->priority_add) & 7);
	/* Special mask mode: masked in-service levels stop blocking others. */
	if (c->special_mask)
		inserv &= (uint8_t)~c->imr;
	cur = chip_priority(c, inserv);
	if (prio < cur)
		return irq;
	/* SFNM lets the slave interrupt its own in-service master level, since
	 * the slave only asks again for something above what it is serving. */
	if (master && c->sfnm && prio == cur && irq == PIC_CASCADE_IRQ)
		return irq;
	return -1;
}

static void chip_intack(struct pic_chip *c, unsigned irq, bool master)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (c->auto_eoi) {
		if (c->rotate_on_aeoi)
			c->priority_add = (uint8_t)((irq + 1) & 7);
	} else {
		c->isr |= bit;
	}
	if (!(level_mask(c) & bit)) {
		c->irr &= (uint8_t)~bit;
		/* Sample the slave's INT afresh after INTA: if it still asks
		 * (AEOI, SFNM) the next update latches a new edge. */
		if (master && irq == PIC_CASCADE_IRQ)
			c->lines &= (uint8_t)~bit;
	}
}

static void chip_eoi(struct pic_chip *c, unsigned irq, bool rotate)
{
	c->isr &= (uint8_t)~(1u << irq);
	if (rotate)
		c->priority_add = (uint8_t)((irq + 1) & 7);
}

void pic_update_irq(struct pic *p)
{
	struct pic_chip *m = &p->st.chip[0];
	int out;

	chip_set_line(m, PIC_CASCADE_IRQ, chip_pending(&p->st.chip[1], false) >= 0);
	out = chip_pending(m, true) >= 0;
	if (out == p->out_level)
		return;
	p->out_level = (int8_t)out;
	if (p->int_output)
		p->int_output(p->opaque, out);
}

/* ---- Register access ----------------------------------------------------- */

static void chip_write_icw1(struct pic_chip *c, uint8_t val)
{
	c->icw4_needed = val & PIC_ICW1_IC4 ? 1 : 0;
	c->single = val & PIC_ICW1_SNGL ? 1 : 0;
	c->ltim = val & PIC_ICW1_LTIM ? 1 : 0;
	c->init_state = 1;
	c->imr = 0;
	c->isr = 0;
	/* The edge sense circuit resets: latched edges are forgotten and an
	 * input already high must go low and high again to interrupt. */
	c->irr = 0;
	resync_level_irr(c);
	c->priority_add = 0;       /* IR7 lowest */
	c->special_mask = 0;
	c->read_isr = 0;
	c->poll = 0;
	/* ICW4 functions are zero unless ICW4 sets them. */
	c->auto_eoi = 0;
	c->rotate_on_aeoi = 0;
	c->sfnm = 0;
}

static void chip_write_ocw2(struct pic_chip *c, uint8_t val)
{
	unsigned l = val & PIC_OCW2_L;
	unsigned prio;

	switch (val & 0xe0) {
	case PIC_OCW2_ROTATE_AEOI_CLEAR:
		c->rotate_on_aeoi = 0;
		break;
	case PIC_OCW2_ROTATE_AEOI_SET:
		c->rotate_on_aeoi = 1;
		break;
	case PIC_OCW2_NONSPEC_EOI:
	case PIC_OCW2_ROTATE_NONSPEC:
		prio = chip_priority(c, c->isr);
		if (prio != PIC_NONE)
			chip_eoi(c, (prio + c->priority_add) & 7,
				 (val & 0xe0) == PIC_OCW2_ROTATE_NONSPEC);
		break;
	case PIC_OCW2_SPEC_EOI:
		chip_eoi(c, l, false);
		break;
	case PIC_OCW2_ROTATE_SPEC:
		chip_eoi(c, l, true);
		break;
	case PIC_OCW2_SET_PRIORITY:
		c->priority_add = (uint8_t)((l + 1) & 7);  /* L becomes lowest */
		break;
	default: /* PIC_OCW2_NOP */
		break;
	}
}

static void chip_write_ocw3(struct pic_chip *c, uint8_t val)
{
	if (val & PIC_OCW3_P)
		c->poll = 1;
	if (val & PIC_OCW3_RR)
		c->read_isr = val & PIC_OCW3_RIS ? 1 : 0;
	if (val & PIC_OCW3_ESMM)
		c->special_mask = val & PIC_OCW3_SMM ? 1 : 0;
}

static void chip_write_data(struct pic_chip *c, uint8_t val)
{
	switch (c->init_state) {
	case 0:
		c->imr = val;
		break;
	case 1:
		c->irq_base = val & 0xf8;
		c->init_state = c->single ? (c->icw4_needed ? 3 : 0) : 2;
		break;
	case 2:
		/* ICW3: the cascade wiring is fixed to IR2. */
		c->init_state = c->icw4_needed ? 3 : 0;
		break;
	default:
		c->auto_eoi = val & PIC_ICW4_AEOI ? 1 : 0;
		c->sfnm = val & PIC_ICW4_SFNM ? 1 : 0;
		c->init_state = 0;
		break;
	}
}

uint8_t pic_read(struct pic *p, unsigned chip, unsigned offset)
{
	struct pic_chip *c = &p->st.chip[chip & 1];
	bool master = (chip & 1) == 0;
	uint8_t v;
	int irq;

	if (c->poll) {
		/* The poll word stands in for INTA: whichever port is read. */
		c->poll = 0;
		irq = chip_pending(c, master);
		if (irq >= 0) {
			chip_intack(c, (unsigned)irq, master);
			v = (uint8_t)(PIC_POLL_INT | irq);
		} else {
			v = 0;
		}
		pic_update_irq(p);
		return v;
	}
	if (offset & 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

void pic_write(struct pic *p, unsigned chip, unsigned offset, uint8_t val)
{
	struct pic_chip *c = &p->st.chip[chip & 1];

	if (offset & 1)
		chip_write_data(c, val);
	else if (val & PIC_ICW1_SELECT)
		chip_write_icw1(c, val);
	else if (val & PIC_OCW3_SELECT)
		chip_write_ocw3(c, val);
	else
		chip_write_ocw2(c, val);
	pic_update_irq(p);
}

uint8_t pic_elcr_read(const struct pic *p, unsigned chip)
{
	return p->st.chip[chip & 1].elcr;
}

void pic_elcr_write(struct pic *p, unsigned chip, uint8_t val)
{
	struct pic_chip *c = &p->st.chip[chip & 1];

	c->elcr = val & elcr_mask[chip & 1];
	resync_level_irr(c);
	pic_update_irq(p);
}

/* ---- Host side ----------------------------------------------------------- */

void pic_set_irq(struct pic *p, unsigned irq, int level)
{
	if (irq > 15 || irq == PIC_CASCADE_IRQ)
		return;
	chip_set_line(&p->st.chip[irq >> 3], irq & 7, level != 0);
	pic_update_irq(p);
}

uint8_t pic_ack(struct pic *p)
{
	struct pic_chip *m = &p->st.chip[0], *s = &p->st.chip[1];
	int irq = chip_pending(m, true), irq2;
	uint8_t vec;

	if (irq < 0) {
		/* The request went away before INTA: IR7, ISR untouched. */
		vec = (uint8_t)(m->irq_base + 7);
	} else {
		chip_intack(m, (unsigned)irq, true);
		if (irq == PIC_CASCADE_IRQ && !m->single) {
			irq2 = chip_pending(s, false);
			if (irq2 >= 0) {
				chip_intack(s, (unsigned)irq2, false);
				vec = (uint8_t)(s->irq_base + irq2);
			} else {
				/* Spurious IRQ 15; the master's IR2 stays in
				 * service and needs its EOI, as on hardware. */
				vec = (uint8_t)(s->irq_base + 7);
			}
		} else {
			vec = (uint8_t)(m->irq_base + irq);
		}
	}
	pic_update_irq(p);
	return vec;
}

/* Make st the live state: the one path for init, reset and restore. */
static void pic_commit(struct pic *p, const struct pic_state *st)
{
	p->st = *st;
	p->out_level = -1;
	pic_update_irq(p);
}

void pic_reset(struct pic *p)
{
	struct pic_state d;
	unsigned i;

	memset(&d, 0, sizeof d);
	/* Devices keep driving their lines across a reset. */
	for (i = 0; i < 2; i++)
		d.chip[i].lines = p->st.chip[i].lines;
	pic_commit(p, &d);
}

void pic_init(struct pic *p, pic_output_fn int_output, void *opaque)
{
	memset(p, 0, sizeof *p);
	p->int_output = int_output;
	p->opaque = opaque;
	pic_reset(p);
}

/* ---- Load validation ----------------------------------------------------- */

static bool chip_check(const struct pic_chip *c, unsigned i, char *why, size_t len)
{
	static const char *const name[2] = { "chip[0]", "chip[1]" };
	const uint8_t flags[] = { c->icw4_needed, c->single, c->ltim, c->auto_eoi,
				  c->rotate_on_aeoi, c->sfnm, c->special_mask,
				  c->read_isr, c->poll };
	static const char *const flag_name[] = { "icw4_needed", "single", "ltim",
		"auto_eoi", "rotate_on_aeoi", "sfnm", "special_mask", "read_isr", "poll" };
	unsigned k;

#define BAD(...) do { int n_ = snprintf(why, len, "%s.", name[i]); \
	snprintf(why + n_, len - (size_t)n_, __VA_ARGS__); return false; } while (0)
	for (k = 0; k < sizeof flags; k++)
		if (flags[k] > 1)
			BAD("%s %u not a flag", flag_name[k], flags[k]);
	if (c->irq_base & 7)
		BAD("irq_base 0x%02x not a multiple of 8", c->irq_base);
	if (c->priority_add > 7)
		BAD("priority_add %u out of range (max 7)", c->priority_add);
	if (c->init_state > 3)
		BAD("init_state %u out of range (max 3)", c->init_state);
	if (c->init_state == 2 && c->single)
		BAD("init_state 2 (ICW3) in single mode");
	if (c->init_state == 3 && !c->icw4_needed)
		BAD("init_state 3 (ICW4) without IC4");
	if (c->elcr & ~elcr_mask[i])
		BAD("elcr 0x%02x sets fixed-edge bits", c->elcr);
	if ((c->irr ^ c->lines) & level_mask(c))
		BAD("irr 0x%02x disagrees with level-triggered lines 0x%02x",
		    c->irr, c->lines);
#undef BAD
	return true;
}

/* ---- Saved state --------------------------------------------------------- */

#define PIC_CHIP_FIELDS(i) \
	SSM_FIELD(struct pic_state, chip[i].irr), \
	SSM_FIELD(struct pic_state, chip[i].isr), \
	SSM_FIELD(struct pic_state, chip[i].imr), \
	SSM_FIELD(struct pic_state, chip[i].lines), \
	SSM_FIELD(struct pic_state, chip[i].elcr), \
	SSM_FIELD(struct pic_state, chip[i].irq_base), \
	SSM_FIELD(struct pic_state, chip[i].priority_add), \
	SSM_FIELD(struct pic_state, chip[i].init_state), \
	SSM_FIELD(struct pic_state, chip[i].icw4_needed), \
	SSM_FIELD(struct pic_state, chip[i].single), \
	SSM_FIELD(struct pic_state, chip[i].ltim), \
	SSM_FIELD(struct pic_state, chip[i].auto_eoi), \
	SSM_FIELD(struct pic_state, chip[i].rotate_on_aeoi), \
	SSM_FIELD(struct pic_state, chip[i].sfnm), \
	SSM_FIELD(struct pic_state, chip[i].special_mask), \
	SSM_FIELD(struct pic_state, chip[i].read_isr), \
	SSM_FIELD(struct pic_state, chip[i].poll)

const ssm_field pic_fields[] = {
	PIC_CHIP_FIELDS(0),
	PIC_CHIP_FIELDS(1),
	SSM_FIELD_TERM()
};

/* 17 one-byte fields per chip; a new member needs a table entry. */
_Static_assert(sizeof(struct pic_chip) == 17, "pic_chip changed: update PIC_CHIP_FIELDS");
_Static_assert(sizeof(struct pic_state) == 2 * 17, "pic_state has padding");

/* Live save: the model identity.
 *
 * Record of every live pass (pass != SSM_PASS_FINAL; written in pass 0 only,
 * as the unit then votes SSM_VOTE_DONE_DONT_CALL_AGAIN), all little-endian:
 *
 *   str  model       PIC_SSM_MODEL "8259A-pair" (u32 length + bytes, no NUL)
 *   u32  version     PIC_SSM_VERSION, the layout of the final record
 *   u32  chips       PIC_NCHIPS (2, master and slave)
 *   u32  cascade_ir  PIC_CASCADE_IRQ (2, the master input the slave drives)
 *
 * No guest state: the guest keeps running after it is sent.  The
 * destination compares each value with its own and refuses the stream with
 * SSM_ERR_LOAD_VALUE on the first difference, before the final record (and,
 * for units saved after this one, anything else) is read.  The final pass
 * (SSM_PASS_FINAL) record is pic_fields, the same as in a non-live save.
 *
 * A non-live save has no identity record.  Builds from before this record
 * existed refuse a live stream at it ("unexpected live pass 0"). */

/* Chips in the pair, as the saved state holds them. */
#define PIC_NCHIPS ((uint32_t)(sizeof ((struct pic_state *)0)->chip / \
			       sizeof ((struct pic_state *)0)->chip[0]))

static const struct dev_id_param pic_id_params[] = {
	{ "version", PIC_SSM_VERSION, PIC_SSM_VERSION_MIN },
	{ "chips", PIC_NCHIPS },
	{ "cascade_ir", PIC_CASCADE_IRQ },
};

static const struct dev_identity pic_identity = {
	.unit = "pic",
	.model = PIC_SSM_MODEL,
	.article = "an",
	.params = pic_id_params,
	.nparams = sizeof pic_id_params / sizeof pic_id_params[0],
};

static int pic_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)ctx;
	(void)pass;
	return dev_identity_put(&pic_identity, h);
}

static int pic_save_exec(void *ctx, ssm_handle *h)
{
	struct pic *p = ctx;

	return ssm_put_struct(h, &p->st, sizeof p->st, SSM_STRUCT_FULL, pic_fields, NULL);
}

static int pic_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct pic *p = ctx;
	struct pic_state tmp;
	char why[128];
	unsigned i;
	int rc;

	rc = ssm_check_unit_version(h, "pic", version, PIC_SSM_VERSION_MIN, PIC_SSM_VERSION);
	if (rc != SSM_OK)
		return rc;
	if (pass != SSM_PASS_FINAL)
		return dev_identity_check(&pic_identity, h);
	memset(&tmp, 0, sizeof tmp);
	rc = ssm_get_struct(h, &tmp, sizeof tmp, SSM_STRUCT_FULL, pic_fields, NULL);
	if (rc != SSM_OK)
		return rc;
	for (i = 0; i < 2; i++)
		if (!chip_check(&tmp.chip[i], i, why, sizeof why))
			return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "pic: %s", why);
	pic_commit(p, &tmp);
	return SSM_OK;
}

/* Report INT again once every unit is in place (the CPU side may have been
 * restored after us). */
static int pic_load_done(void *ctx, ssm_handle *h)
{
	struct pic *p = ctx;

	(void)h;
	p->out_level = -1;
	pic_update_irq(p);
	return SSM_OK;
}

int pic_ssm_register(struct pic *p, ssm *reg, uint32_t instance)
{
	static const ssm_callbacks cb = {
		.live_exec = pic_live_exec,
		.live_vote = dev_identity_vote,
		.save_exec = pic_save_exec,
		.load_exec = pic_load_exec,
		.load_done = pic_load_done,
	};

	return ssm_register_device(reg, p, "pic", instance, PIC_SSM_VERSION,
				   sizeof p->st, NULL, 0, &cb);
}
