/* test_pic.c - cascaded 8259A model against datasheet behaviour, plus its
 * saved state: round trip through libssm and refusal of corrupted states. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pic.h"
#include "ssm/ssm.h"
#include "tests/unit/devlive.h"

/* ---- Harness --------------------------------------------------------------- */

struct host {
	int out;        /* INT level last reported, -1 never */
	int calls;
};

static void host_out(void *opaque, int level)
{
	struct host *h = opaque;

	h->out = level;
	h->calls++;
}

static struct host hst;
static struct pic pic;

static void setup(void)
{
	hst.out = -1;
	hst.calls = 0;
	pic_init(&pic, host_out, &hst);
}

TestSuite(pic, .init = setup);

/* The PC BIOS / Linux sequence: edge, cascade, ICW4 with the given bits. */
static void init_chip(struct pic *p, unsigned chip, uint8_t base, uint8_t icw4)
{
	pic_write(p, chip, 0, PIC_ICW1_SELECT | PIC_ICW1_IC4);
	pic_write(p, chip, 1, base);
	pic_write(p, chip, 1, chip ? 2 : 1u << PIC_CASCADE_IRQ);
	pic_write(p, chip, 1, (uint8_t)(PIC_ICW4_UPM | icw4));
}

static void init_pc(struct pic *p, uint8_t icw4)
{
	init_chip(p, 0, 0x20, icw4);
	init_chip(p, 1, 0x28, icw4);
}

static void eoi(unsigned chip)
{
	pic_write(&pic, chip, 0, PIC_OCW2_NONSPEC_EOI);
}

static void pulse(unsigned irq)
{
	pic_set_irq(&pic, irq, 1);
	pic_set_irq(&pic, irq, 0);
}

static uint8_t read_isr(unsigned chip)
{
	pic_write(&pic, chip, 0, PIC_OCW3_SELECT | PIC_OCW3_RR | PIC_OCW3_RIS);
	return pic_read(&pic, chip, 0);
}

static uint8_t read_irr(unsigned chip)
{
	pic_write(&pic, chip, 0, PIC_OCW3_SELECT | PIC_OCW3_RR);
	return pic_read(&pic, chip, 0);
}

/* ---- Initialisation and masking ------------------------------------------- */

Test(pic, init_remaps_vectors)
{
	cr_assert_eq(hst.out, 0, "reset reports INT low");
	init_pc(&pic, 0);
	pic_set_irq(&pic, 0, 1);
	cr_assert_eq(hst.out, 1);
	cr_assert_eq(pic_ack(&pic), 0x20);
	cr_assert_eq(hst.out, 0, "IR0 in service");
	eoi(0);
	init_chip(&pic, 0, 0x68, 0);
	pulse(1);
	cr_assert_eq(pic_ack(&pic), 0x69, "ICW2 moves the base");
}

Test(pic, icw_sequence_without_icw4_and_single)
{
	/* SNGL: no ICW3, so the second data write is the IMR. */
	pic_write(&pic, 0, 0, PIC_ICW1_SELECT | PIC_ICW1_SNGL);
	pic_write(&pic, 0, 1, 0x40);
	pic_write(&pic, 0, 1, 0xfe);
	cr_assert_eq(pic_read(&pic, 0, 1), 0xfe);
	pic_set_irq(&pic, 1, 1);
	cr_assert_eq(hst.out, 0, "IR1 masked");
	pic_set_irq(&pic, 0, 1);
	cr_assert_eq(pic_ack(&pic), 0x40);
}

Test(pic, icw1_clears_imr_isr_and_edges)
{
	init_pc(&pic, 0);
	pic_write(&pic, 0, 1, 0x55);
	pic_set_irq(&pic, 3, 1);
	pic_set_irq(&pic, 4, 1);
	cr_assert_eq(pic_ack(&pic), 0x23);
	init_chip(&pic, 0, 0x20, 0);
	cr_assert_eq(pic_read(&pic, 0, 1), 0, "IMR cleared");
	cr_assert_eq(read_isr(0), 0, "ISR cleared");
	cr_assert_eq(read_irr(0), 0, "latched edges forgotten");
	cr_assert_eq(hst.out, 0);
	pic_set_irq(&pic, 4, 1);
	cr_assert_eq(hst.out, 0, "a line held high needs a new edge");
	pic_set_irq(&pic, 4, 0);
	pic_set_irq(&pic, 4, 1);
	cr_assert_eq(hst.out, 1);
}

Test(pic, imr_masks_and_unmasking_delivers)
{
	init_pc(&pic, 0);
	pic_write(&pic, 0, 1, 0x08);
	pulse(3);
	cr_assert_eq(hst.out, 0, "masked request stays in IRR");
	cr_assert_eq(read_irr(0), 0x08);
	pic_write(&pic, 0, 1, 0x00);
	cr_assert_eq(hst.out, 1);
	cr_assert_eq(pic_ack(&pic), 0x23);
	cr_assert_eq(read_irr(0), 0);
	cr_assert_eq(read_isr(0), 0x08);
}

/* ---- Priority ---------------------------------------------------------------- */

Test(pic, fixed_priority_and_nesting)
{
	init_pc(&pic, 0);
	pulse(5);
	pulse(3);
	cr_assert_eq(pic_ack(&pic), 0x23, "lower IR number wins");
	cr_assert_eq(hst.out, 0, "IR5 blocked by IR3 in service");
	pulse(1);
	cr_assert_eq(hst.out, 1, "higher priority nests");
	cr_assert_eq(pic_ack(&pic), 0x21);
	cr_assert_eq(read_isr(0), 0x0a);
	eoi(0);
	cr_assert_eq(read_isr(0), 0x08, "non-specific EOI ends the highest (IR1)");
	cr_assert_eq(hst.out, 0);
	eoi(0);
	cr_assert_eq(hst.out, 1);
	cr_assert_eq(pic_ack(&pic), 0x25);
}

Test(pic, specific_eoi)
{
	init_pc(&pic, 0);
	pulse(6);
	cr_assert_eq(pic_ack(&pic), 0x26);
	pulse(2 + 2);
	cr_assert_eq(pic_ack(&pic), 0x24);
	pic_write(&pic, 0, 0, PIC_OCW2_SPEC_EOI | 6);
	cr_assert_eq(read_isr(0), 0x10, "specific EOI cleared IR6, not the highest");
}

Test(pic, rotate_on_nonspecific_eoi)
{
	init_pc(&pic, 0);
	pulse(0);
	cr_assert_eq(pic_ack(&pic), 0x20);
	pic_write(&pic, 0, 0, PIC_OCW2_ROTATE_NONSPEC);
	/* IR0 is now lowest, IR1 highest. */
	pulse(0);
	pulse(7);
	pulse(1);
	cr_assert_eq(pic_ack(&pic), 0x21);
	pic_write(&pic, 0, 0, PIC_OCW2_ROTATE_NONSPEC);
	/* IR2 highest ... IR1 lowest: IR7 beats IR0. */
	cr_assert_eq(pic_ack(&pic), 0x27);
	eoi(0);
	cr_assert_eq(pic_ack(&pic), 0x20);
}

Test(pic, set_priority_and_rotate_specific)
{
	init_pc(&pic, 0);
	pic_write(&pic, 0, 0, PIC_OCW2_SET_PRIORITY | 4);  /* IR4 lowest, IR5 highest */
	pulse(4);
	pulse(6);
	pulse(3);
	cr_assert_eq(pic_ack(&pic), 0x26);
	eoi(0);
	cr_assert_eq(pic_ack(&pic), 0x23);
	pic_write(&pic, 0, 0, PIC_OCW2_ROTATE_SPEC | 3);    /* IR3 lowest, IR4 highest */
	cr_assert_eq(read_isr(0), 0);
	pulse(3);
	cr_assert_eq(pic_ack(&pic), 0x24);
}

Test(pic, auto_eoi)
{
	init_pc(&pic, PIC_ICW4_AEOI);
	pulse(3);
	cr_assert_eq(pic_ack(&pic), 0x23);
	cr_assert_eq(read_isr(0), 0, "AEOI leaves ISR clear");
	pulse(5);
	cr_assert_eq(hst.out, 1, "nothing in service blocks IR5");
	cr_assert_eq(pic_ack(&pic), 0x25);
}

Test(pic, rotate_in_auto_eoi)
{
	init_pc(&pic, PIC_ICW4_AEOI);
	pic_write(&pic, 0, 0, PIC_OCW2_ROTATE_AEOI_SET);
	pulse(0);
	cr_assert_eq(pic_ack(&pic), 0x20);
	pulse(0);
	pulse(5);
	cr_assert_eq(pic_ack(&pic), 0x25, "IR0 rotated to lowest");
	pic_write(&pic, 0, 0, PIC_OCW2_ROTATE_AEOI_CLEAR);
	pulse(4);
	cr_assert_eq(pic_ack(&pic), 0x20, "rotation after IR5: IR6 first, IR0 before IR4");
}

/* ---- Cascade -------------------------------------------------------------- */

Test(pic, cascade_delivers_slave_vector)
{
	init_pc(&pic, 0);
	pulse(12);
	cr_assert_eq(hst.out, 1);
	cr_assert_eq(read_irr(0), 0x04, "slave INT on master IR2");
	cr_assert_eq(pic_ack(&pic), 0x2c);
	cr_assert_eq(read_isr(0), 0x04);
	cr_assert_eq(read_isr(1), 0x10);
	pulse(1);
	pulse(9);
	cr_assert_eq(pic_ack(&pic), 0x21, "IR1 outranks the cascade");
	eoi(0);
	cr_assert_eq(hst.out, 0, "IRQ9 waits: master IR2 still in service");
	eoi(1);
	eoi(0);
	cr_assert_eq(pic_ack(&pic), 0x29);
}

Test(pic, cascade_ignores_irq2_line_and_slave_mask)
{
	init_pc(&pic, 0);
	pic_set_irq(&pic, 2, 1);
	cr_assert_eq(hst.out, 0, "IRQ 2 is the cascade input, not a device line");
	pic_write(&pic, 1, 1, 0x01);
	pulse(8);
	cr_assert_eq(hst.out, 0, "slave IMR masks IRQ8");
	pic_write(&pic, 0, 1, 0x04);
	pic_write(&pic, 1, 1, 0x00);
	cr_assert_eq(hst.out, 0, "master IMR masks the cascade");
	pic_write(&pic, 0, 1, 0x00);
	cr_assert_eq(pic_ack(&pic), 0x28);
}

Test(pic, special_fully_nested)
{
	init_pc(&pic, PIC_ICW4_SFNM);
	pulse(12);
	cr_assert_eq(pic_ack(&pic), 0x2c);
	pulse(9);
	cr_assert_eq(hst.out, 1, "SFNM: higher slave IR gets through IR2 in service");
	cr_assert_eq(pic_ack(&pic), 0x29);
	pulse(5);
	cr_assert_eq(hst.out, 0, "but lower master IRs are still blocked");
}

Test(pic, slave_aeoi_second_request_relatched)
{
	/* Slave AEOI keeps its INT high across INTA: the master must still see
	 * the second request once IR2 is acknowledged. */
	init_chip(&pic, 0, 0x20, PIC_ICW4_AEOI);
	init_chip(&pic, 1, 0x28, PIC_ICW4_AEOI);
	pulse(9);
	pulse(10);
	cr_assert_eq(pic_ack(&pic), 0x29);
	cr_assert_eq(hst.out, 1);
	cr_assert_eq(pic_ack(&pic), 0x2a);
	cr_assert_eq(hst.out, 0);
}

/* ---- Triggering and spurious --------------------------------------------- */

Test(pic, edge_vs_level_via_elcr)
{
	init_pc(&pic, 0);
	pic_elcr_write(&pic, 1, 0xff);
	cr_assert_eq(pic_elcr_read(&pic, 1), PIC_ELCR_MASK_SLAVE, "IRQ8/13 edge only");
	pic_elcr_write(&pic, 0, 0xff);
	cr_assert_eq(pic_elcr_read(&pic, 0), PIC_ELCR_MASK_MASTER);
	pic_elcr_write(&pic, 0, 0x08);

	/* Edge IR4: a held line interrupts once. */
	pic_set_irq(&pic, 4, 1);
	cr_assert_eq(pic_ack(&pic), 0x24);
	eoi(0);
	cr_assert_eq(hst.out, 0, "edge: no new request while held high");
	pic_set_irq(&pic, 4, 0);

	/* Level IR3: re-requests after EOI while held, withdrawn when dropped. */
	pic_set_irq(&pic, 3, 1);
	cr_assert_eq(pic_ack(&pic), 0x23);
	cr_assert_eq(read_irr(0), 0x08, "level: IRR follows the line through INTA");
	eoi(0);
	cr_assert_eq(hst.out, 1, "level: still high after EOI");
	pic_set_irq(&pic, 3, 0);
	cr_assert_eq(hst.out, 0, "level: dropping the line withdraws the request");
	cr_assert_eq(read_irr(0), 0);
}

Test(pic, ltim_makes_all_level)
{
	pic_write(&pic, 0, 0, PIC_ICW1_SELECT | PIC_ICW1_LTIM | PIC_ICW1_SNGL);
	pic_write(&pic, 0, 1, 0x20);
	pic_set_irq(&pic, 1, 1);
	cr_assert_eq(pic_ack(&pic), 0x21);
	eoi(0);
	cr_assert_eq(hst.out, 1);
	pic_set_irq(&pic, 1, 0);
	cr_assert_eq(hst.out, 0);
}

Test(pic, spurious_irq7)
{
	init_pc(&pic, 0);
	pic_elcr_write(&pic, 0, 0x20);
	pic_set_irq(&pic, 5, 1);
	cr_assert_eq(hst.out, 1);
	pic_set_irq(&pic, 5, 0);       /* gone before the CPU acknowledged */
	cr_assert_eq(pic_ack(&pic), 0x27);
	cr_assert_eq(read_isr(0), 0, "spurious IR7 sets no ISR bit");
}

Test(pic, spurious_irq15)
{
	init_pc(&pic, 0);
	pic_elcr_write(&pic, 1, 0x08);
	pic_set_irq(&pic, 11, 1);
	/* Master latched the edge on IR2; the slave request then vanishes. */
	pic_set_irq(&pic, 11, 0);
	cr_assert_eq(hst.out, 1);
	cr_assert_eq(pic_ack(&pic), 0x2f);
	cr_assert_eq(read_isr(1), 0);
	cr_assert_eq(read_isr(0), 0x04, "master IR2 in service: needs its EOI");
}

/* ---- OCW3 ------------------------------------------------------------------ */

Test(pic, poll_mode)
{
	init_pc(&pic, 0);
	pic_write(&pic, 0, 0, PIC_OCW3_SELECT | PIC_OCW3_P);
	cr_assert_eq(pic_read(&pic, 0, 0), 0, "nothing pending");
	cr_assert_eq(pic_read(&pic, 0, 1), 0, "poll is one-shot: back to IMR");
	pulse(6);
	pulse(3);
	pic_write(&pic, 0, 0, PIC_OCW3_SELECT | PIC_OCW3_P);
	cr_assert_eq(pic_read(&pic, 0, 0), PIC_POLL_INT | 3);
	cr_assert_eq(read_isr(0), 0x08, "poll read acknowledges");
	eoi(0);
	pic_write(&pic, 0, 0, PIC_OCW3_SELECT | PIC_OCW3_P);
	cr_assert_eq(pic_read(&pic, 0, 1), PIC_POLL_INT | 6, "either port");
}

Test(pic, read_register_select_persists)
{
	init_pc(&pic, 0);
	pic_write(&pic, 0, 1, 0xff);
	pulse(1);
	cr_assert_eq(read_isr(0), 0);
	cr_assert_eq(pic_read(&pic, 0, 0), 0, "ISR selected until changed");
	pic_write(&pic, 0, 0, PIC_OCW3_SELECT);          /* RR=0: no change */
	cr_assert_eq(pic_read(&pic, 0, 0), 0);
	cr_assert_eq(read_irr(0), 0x02);
}

Test(pic, special_mask_mode)
{
	init_pc(&pic, 0);
	pulse(3);
	cr_assert_eq(pic_ack(&pic), 0x23);
	pulse(5);
	cr_assert_eq(hst.out, 0, "IR5 blocked by IR3 in service");
	/* The IR3 handler masks itself and enables lower priorities. */
	pic_write(&pic, 0, 1, 0x08);
	pic_write(&pic, 0, 0, PIC_OCW3_SELECT | PIC_OCW3_ESMM | PIC_OCW3_SMM);
	cr_assert_eq(hst.out, 1, "special mask: IR5 gets through");
	cr_assert_eq(pic_ack(&pic), 0x25);
	pic_write(&pic, 0, 0, PIC_OCW2_SPEC_EOI | 5);
	pic_write(&pic, 0, 0, PIC_OCW3_SELECT | PIC_OCW3_ESMM);
	pulse(6);
	cr_assert_eq(hst.out, 0, "special mask off: IR3 blocks again");
	pic_write(&pic, 0, 0, PIC_OCW3_SELECT | PIC_OCW3_SMM);  /* no ESMM: ignored */
	cr_assert_eq(hst.out, 0);
}

/* ---- Saved state ------------------------------------------------------------ */

/* How the saved-state helpers (devlive.h) register a pic. */
static int reg_pic(ssm *reg, void *dev)
{
	return pic_ssm_register(dev, reg, 0);
}

static int round_trip(struct pic *src, struct pic *dst, ssm **out_reg)
{
	return dev_round_trip(reg_pic, src, dst, out_reg);
}

Test(pic, ssm_round_trip)
{
	struct host h2 = { .out = -1 };
	struct pic dst;
	ssm *reg;

	init_chip(&pic, 0, 0x30, 0);
	init_chip(&pic, 1, 0x38, PIC_ICW4_AEOI);
	pic_elcr_write(&pic, 1, 0x02);
	pic_write(&pic, 0, 0, PIC_OCW2_SET_PRIORITY | 1);  /* IR2 highest */
	pic_write(&pic, 0, 1, 0x80);
	pulse(3);
	cr_assert_eq(pic_ack(&pic), 0x33);
	pic_set_irq(&pic, 9, 1);                 /* level, pending */
	pulse(7);                                /* masked, latched */
	pic_set_irq(&pic, 4, 1);                 /* edge, pending */
	pic_write(&pic, 0, 0, PIC_OCW3_SELECT | PIC_OCW3_RR | PIC_OCW3_RIS);

	pic_init(&dst, host_out, &h2);
	cr_assert_eq(round_trip(&pic, &dst, &reg), SSM_OK, "%s", ssm_last_error(reg));
	cr_assert_eq(h2.out, 1, "restore reports INT");
	cr_assert_eq(pic_read(&dst, 0, 0), 0x08, "ISR selected and IR3 in service");
	cr_assert_eq(pic_read(&dst, 0, 1), 0x80);
	cr_assert_eq(pic_elcr_read(&dst, 1), 0x02);
	/* Rotated priority: cascade (IR2) before IR4; slave AEOI. */
	cr_assert_eq(pic_ack(&dst), 0x39);
	pic_write(&dst, 0, 0, PIC_OCW2_SPEC_EOI | 2);
	cr_assert_eq(pic_ack(&dst), 0x39, "level IRQ9 still asserted re-requests");
	pic_write(&dst, 0, 0, PIC_OCW2_SPEC_EOI | 2);
	/* Withdrawn after the master latched IR2 again: spurious IRQ 15. */
	pic_set_irq(&dst, 9, 0);
	cr_assert_eq(pic_ack(&dst), 0x3f);
	pic_write(&dst, 0, 0, PIC_OCW2_SPEC_EOI | 2);
	cr_assert_eq(h2.out, 0, "IR4 waits behind IR3 in service");
	pic_write(&dst, 0, 0, PIC_OCW2_SPEC_EOI | 3);
	cr_assert_eq(pic_ack(&dst), 0x34);
	pic_write(&dst, 0, 1, 0);
	cr_assert_eq(h2.out, 0, "IR7 waits behind IR4 in service");
	pic_write(&dst, 0, 0, PIC_OCW2_SPEC_EOI | 4);
	cr_assert_eq(pic_ack(&dst), 0x37);
	/* The edge detector came back too: IRQ4 held high is no new edge. */
	pic_set_irq(&dst, 4, 1);
	cr_assert_eq(pic_read(&dst, 0, 0) & 0x10, 0);
	ssm_destroy(reg);
}

struct corruption {
	const char *field;
	void (*apply)(struct pic_state *st);
};

static void c_base(struct pic_state *st) { st->chip[0].irq_base = 0x21; }
static void c_prio(struct pic_state *st) { st->chip[1].priority_add = 8; }
static void c_init(struct pic_state *st) { st->chip[0].init_state = 4; }
static void c_init_icw4(struct pic_state *st) { st->chip[0].init_state = 3; st->chip[0].icw4_needed = 0; }
static void c_flag(struct pic_state *st) { st->chip[1].auto_eoi = 2; }
static void c_poll(struct pic_state *st) { st->chip[0].poll = 0xff; }
static void c_elcr(struct pic_state *st) { st->chip[0].elcr = 0x01; }
static void c_irr(struct pic_state *st) { st->chip[1].elcr = 0x02; st->chip[1].lines = 0; st->chip[1].irr = 0x02; }

Test(pic, ssm_refuses_out_of_range_values)
{
	static const struct corruption cases[] = {
		{ "chip[0].irq_base", c_base }, { "chip[1].priority_add", c_prio },
		{ "chip[0].init_state", c_init }, { "chip[0].init_state", c_init_icw4 },
		{ "chip[1].auto_eoi", c_flag }, { "chip[0].poll", c_poll },
		{ "chip[0].elcr", c_elcr }, { "chip[1].irr", c_irr },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct host h2 = { .out = -1 };
		struct pic src, dst;
		ssm *reg;
		int rc;

		pic_init(&src, NULL, NULL);
		cases[i].apply(&src.st);
		pic_init(&dst, host_out, &h2);
		init_pc(&dst, 0);
		pic_write(&dst, 0, 1, 0x5a);
		rc = round_trip(&src, &dst, &reg);
		cr_assert_eq(rc, SSM_ERR_LOAD_VALUE, "case %zu (%s): rc %d", i, cases[i].field, rc);
		cr_assert(strstr(ssm_last_error(reg), cases[i].field),
			  "message '%s' does not name %s", ssm_last_error(reg), cases[i].field);
		cr_assert(strstr(ssm_last_error(reg), "pic"));
		cr_assert_eq(pic_read(&dst, 0, 1), 0x5a, "refused state was committed");
		ssm_destroy(reg);
	}
}

Test(pic, ssm_refuses_newer_version)
{
	static const ssm_callbacks cb = { .save_exec = v2_save };
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
	struct pic dst;
	void *buf;
	size_t len;
	int rc;

	pic_init(&dst, NULL, NULL);
	cr_assert_eq(ssm_register_device(a, &dst, "pic", 0, PIC_SSM_VERSION + 1, 4,
					 NULL, 0, &cb), SSM_OK);
	cr_assert_eq(pic_ssm_register(&dst, b, 0), SSM_OK);
	cr_assert_eq(tu_save(a, NULL, false, &buf, &len), SSM_OK);
	rc = tu_load(b, buf, len, NULL);
	cr_assert_eq(rc, SSM_ERR_UNIT_VERSION, "rc %d: %s", rc, ssm_last_error(b));
	cr_assert(strstr(ssm_last_error(b), "version"));
	free(buf);
	ssm_destroy(a);
	ssm_destroy(b);
}

/* ---- Live save: model identity in pass 0 ------------------------------------- */


Test(pic, ssm_live_round_trip)
{
	static const ssm_callbacks pacer = { .live_exec = pacer_exec, .live_vote = pacer_vote };
	struct host h2 = { .out = -1 };
	struct live_log slog = { .unit = "pic" }, dlog = { .unit = "pic" };
	struct pic dst;
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
	void *buf;
	size_t len;
	int rc;

	cr_assert(a && b);
	init_chip(&pic, 0, 0x30, 0);
	init_chip(&pic, 1, 0x38, PIC_ICW4_AEOI);
	pic_elcr_write(&pic, 1, 0x02);
	pic_write(&pic, 0, 1, 0x80);
	pulse(3);
	cr_assert_eq(pic_ack(&pic), 0x33);
	pulse(4);
	pulse(7);                                /* masked, latched */
	cr_assert_eq(hst.out, 0, "IR4 waits behind IR3 in service");
	pic_init(&dst, host_out, &h2);

	cr_assert_eq(pic_ssm_register(&pic, a, 0), SSM_OK);
	cr_assert_eq(ssm_register_external(a, "pacer", 0, 1, 4, NULL, SSM_UNIT_OPTIONAL,
					   &pacer, NULL), SSM_OK);
	ssm_set_trace(a, live_log_trace, &slog);
	live_save(a, &buf, &len);
	cr_assert_eq(slog.live_execs, 1, "identity sent once, not in every pass");
	cr_assert_eq(slog.live_votes, 1);

	cr_assert_eq(pic_ssm_register(&dst, b, 0), SSM_OK);
	rc = traced_load(b, buf, len, &dlog);
	cr_assert_eq(rc, SSM_OK, "load: %s", ssm_last_error(b));
	cr_assert_eq(dlog.loads, 2);
	cr_assert_eq(dlog.load_pass[0], 0, "identity first");
	cr_assert_eq(dlog.load_pass[1], SSM_PASS_FINAL);
	cr_assert_eq(memcmp(&dst.st, &pic.st, sizeof dst.st), 0);
	cr_assert_eq(h2.out, 0);
	pic_write(&dst, 0, 0, PIC_OCW2_SPEC_EOI | 3);
	cr_assert_eq(h2.out, 1, "IR4 comes through once IR3 is done");
	cr_assert_eq(pic_ack(&dst), 0x34);
	free(buf);
	ssm_destroy(a);
	ssm_destroy(b);
}

Test(pic, ssm_live_refuses_other_model_in_pass_0)
{
	static const ssm_callbacks cb = { .live_exec = fake_dev_live_exec,
					  .live_vote = fake_dev_live_vote,
					  .save_exec = fake_dev_save_exec };
	static const struct {
		const char *model;
		uint32_t version, chips, cascade_ir;
		const char *field;      /* NULL: the identity matches */
	} cases[] = {
		{ PIC_SSM_MODEL, PIC_SSM_VERSION, 2, PIC_CASCADE_IRQ, NULL },
		{ "8259A", PIC_SSM_VERSION, 1, 0, "model" },
		{ "APIC", PIC_SSM_VERSION, 2, PIC_CASCADE_IRQ, "model" },
		{ PIC_SSM_MODEL, PIC_SSM_VERSION, 3, PIC_CASCADE_IRQ, "chips" },
		{ PIC_SSM_MODEL, PIC_SSM_VERSION, 2, 7, "cascade_ir" },
		{ PIC_SSM_MODEL, PIC_SSM_VERSION + 1, 2, PIC_CASCADE_IRQ, "version" },
	};
	struct pic src;
	void *body = NULL;
	size_t body_len = 0, i;

	/* The state the final pass would carry: a PC setup, IMR 0x11. */
	pic_init(&src, NULL, NULL);
	init_pc(&src, 0);
	pic_write(&src, 0, 1, 0x11);
	final_body("pic", reg_pic, &src, &body, &body_len);

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fake_dev f = { cases[i].model, cases[i].version,
				      { cases[i].chips, cases[i].cascade_ir }, 2, body, body_len };
		struct host h2 = { .out = -1 };
		struct pic_state before;
		struct live_log l = { .unit = "pic" };
		struct pic dst;
		ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
		void *buf;
		size_t len;
		int rc;

		cr_assert(a && b);
		cr_assert_eq(ssm_register_external(a, "pic", 0, PIC_SSM_VERSION, 34, NULL, 0,
						   &cb, &f), SSM_OK);
		live_save(a, &buf, &len);
		pic_init(&dst, host_out, &h2);
		init_pc(&dst, 0);
		pic_write(&dst, 0, 1, 0x5a);
		before = dst.st;
		cr_assert_eq(pic_ssm_register(&dst, b, 0), SSM_OK);
		rc = traced_load(b, buf, len, &l);
		if (!cases[i].field) {
			/* The documented layout, with this VM's values, is accepted. */
			cr_assert_eq(rc, SSM_OK, "%s", ssm_last_error(b));
			cr_assert_eq(l.loads, 2);
			cr_assert_eq(l.load_pass[1], SSM_PASS_FINAL);
			cr_assert_eq(memcmp(&dst.st, &src.st, sizeof dst.st), 0);
		} else {
			cr_assert_eq(rc, SSM_ERR_LOAD_VALUE, "case %zu: rc %d: %s", i, rc,
				     ssm_last_error(b));
			cr_assert(strstr(ssm_last_error(b), "pic: "), "%s", ssm_last_error(b));
			cr_assert(strstr(ssm_last_error(b), cases[i].field),
				  "message '%s' does not name %s", ssm_last_error(b),
				  cases[i].field);
			cr_assert(strstr(ssm_last_error(b), "this VM has"), "%s",
				  ssm_last_error(b));
			cr_assert_eq(l.loads, 1, "refused in pass 0, final record never read");
			cr_assert_eq(memcmp(&dst.st, &before, sizeof before), 0,
				     "refused stream changed the device");
			cr_assert_eq(pic_read(&dst, 0, 1), 0x5a);
		}
		cr_assert_eq(l.load_pass[0], 0);
		free(buf);
		ssm_destroy(a);
		ssm_destroy(b);
	}
	free(body);
}

Test(pic, ssm_live_message_names_both_models)
{
	static const ssm_callbacks cb = { .live_exec = fake_dev_live_exec,
					  .live_vote = fake_dev_live_vote };
	struct fake_dev f = { "8259A", PIC_SSM_VERSION, { 1, 0 }, 2, NULL, 0 };
	struct pic dst;
	struct live_log l = { .unit = "pic" };
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
	void *buf;
	size_t len;

	cr_assert(a && b);
	cr_assert_eq(ssm_register_external(a, "pic", 0, PIC_SSM_VERSION, 34, NULL, 0,
					   &cb, &f), SSM_OK);
	live_save(a, &buf, &len);
	pic_init(&dst, NULL, NULL);
	cr_assert_eq(pic_ssm_register(&dst, b, 0), SSM_OK);
	cr_assert_eq(traced_load(b, buf, len, &l), SSM_ERR_LOAD_VALUE);
	cr_assert(strstr(ssm_last_error(b),
			 "pic: model mismatch: stream describes a 8259A, this VM has an 8259A-pair"),
		  "%s", ssm_last_error(b));
	free(buf);
	ssm_destroy(a);
	ssm_destroy(b);
}
