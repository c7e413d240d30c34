/* test_serial.c - 16550A model against datasheet behaviour, plus its saved
 * state: round trip through libssm and refusal of corrupted states. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/serial.h"
#include "ssm/ssm.h"
#include "tests/unit/devlive.h"

/* ---- Harness --------------------------------------------------------------- */

struct host {
	uint8_t tx[256];
	size_t ntx;
	int irq;        /* level last driven, -1 never */
	int irq_calls;
};

static void host_tx(void *opaque, uint8_t b)
{
	struct host *h = opaque;

	cr_assert_lt(h->ntx, sizeof h->tx);
	h->tx[h->ntx++] = b;
}

static void host_irq(void *opaque, int level)
{
	struct host *h = opaque;

	h->irq = level;
	h->irq_calls++;
}

static struct host hst;
static struct serial uart;

static void setup(void)
{
	memset(&hst, 0, sizeof hst);
	hst.irq = -1;
	serial_init(&uart, host_tx, host_irq, &hst);
}

TestSuite(serial, .init = setup);

static uint8_t rd(unsigned off) { return serial_read(&uart, off); }
static void wr(unsigned off, uint8_t v) { serial_write(&uart, off, v); }

static void rx(const char *s)
{
	size_t n = strlen(s);

	cr_assert_eq(serial_receive(&uart, (const uint8_t *)s, n), n);
}

static uint8_t iir_id(void)
{
	return rd(SERIAL_IIR) & SERIAL_IIR_ID;
}

/* ---- Registers ------------------------------------------------------------- */

Test(serial, reset_values)
{
	cr_assert_eq(hst.irq, 0, "reset drives the line low");
	cr_assert_eq(rd(SERIAL_IER), 0);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_NO_INT);
	cr_assert_eq(rd(SERIAL_LCR), 0);
	cr_assert_eq(rd(SERIAL_MCR), 0);
	cr_assert_eq(rd(SERIAL_LSR), SERIAL_LSR_THRE | SERIAL_LSR_TEMT);
	cr_assert_eq(rd(SERIAL_MSR), SERIAL_MSR_CTS | SERIAL_MSR_DSR | SERIAL_MSR_DCD);
}

Test(serial, dlab_selects_divisor_latch)
{
	wr(SERIAL_IER, SERIAL_IER_EDSSI);
	wr(SERIAL_LCR, SERIAL_LCR_DLAB | 0x03);
	wr(SERIAL_DLL, 0x01);
	wr(SERIAL_DLM, 0x02);
	cr_assert_eq(rd(SERIAL_DLL), 0x01);
	cr_assert_eq(rd(SERIAL_DLM), 0x02);
	cr_assert_eq(hst.ntx, 0, "DLL write must not transmit");
	wr(SERIAL_LCR, 0x03);
	cr_assert_eq(rd(SERIAL_IER), SERIAL_IER_EDSSI, "IER untouched by DLM write");
	wr(SERIAL_THR, 'x');
	cr_assert_eq(hst.ntx, 1);
	cr_assert_eq(hst.tx[0], 'x');
	wr(SERIAL_LCR, SERIAL_LCR_DLAB);
	cr_assert_eq(rd(SERIAL_DLL), 0x01, "THR write must not reach DLL");
	cr_assert_eq(rd(SERIAL_LCR), SERIAL_LCR_DLAB);
}

Test(serial, reserved_bits_read_zero)
{
	wr(SERIAL_IER, 0xff);
	cr_assert_eq(rd(SERIAL_IER), 0x0f);
	wr(SERIAL_MCR, 0xef);
	cr_assert_eq(rd(SERIAL_MCR), 0x0f);
}

Test(serial, scratch)
{
	unsigned v;

	for (v = 0; v < 256; v += 51) {
		wr(SERIAL_SCR, (uint8_t)v);
		cr_assert_eq(rd(SERIAL_SCR), v);
	}
	cr_assert_eq(hst.irq, 0);
}

Test(serial, tx_in_order)
{
	const char *msg = "hello";
	size_t i;

	for (i = 0; msg[i]; i++)
		wr(SERIAL_THR, (uint8_t)msg[i]);
	cr_assert_eq(hst.ntx, 5);
	cr_assert_arr_eq(hst.tx, msg, 5);
	cr_assert_eq(rd(SERIAL_LSR) & (SERIAL_LSR_THRE | SERIAL_LSR_TEMT),
		     SERIAL_LSR_THRE | SERIAL_LSR_TEMT);
}

Test(serial, thre_interrupt_on_enable_cleared_by_iir)
{
	cr_assert_eq(hst.irq, 0);
	wr(SERIAL_IER, SERIAL_IER_ETBEI);
	cr_assert_eq(hst.irq, 1, "enabling ETBEI with THR empty interrupts");
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_THRI);
	cr_assert_eq(hst.irq, 0, "IIR read showing THRE clears it");
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_NO_INT);
	wr(SERIAL_THR, 'a');
	cr_assert_eq(hst.irq, 1, "THR empties again after the write");
	wr(SERIAL_IER, 0);
	cr_assert_eq(hst.irq, 0, "masked");
	wr(SERIAL_IER, SERIAL_IER_ETBEI);
	cr_assert_eq(hst.irq, 1);
	wr(SERIAL_THR, 'b');
	cr_assert_eq(iir_id(), SERIAL_IIR_THRI);
}

Test(serial, thre_not_cleared_by_iir_showing_other_source)
{
	wr(SERIAL_IER, SERIAL_IER_ETBEI | SERIAL_IER_ERBFI);
	rx("z");
	cr_assert_eq(iir_id(), SERIAL_IIR_RDI);
	(void)rd(SERIAL_RBR);
	cr_assert_eq(iir_id(), SERIAL_IIR_THRI, "THRE survived the RDI IIR read");
	cr_assert_eq(iir_id(), 0x01);
}

Test(serial, rx_without_fifo_holds_one_byte)
{
	uint8_t buf[3] = { 'a', 'b', 'c' };

	wr(SERIAL_IER, SERIAL_IER_ERBFI);
	cr_assert_eq(serial_can_receive(&uart), 1);
	cr_assert_eq(serial_receive(&uart, buf, 3), 1, "16450 mode: one byte of room");
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_RDI);
	cr_assert(rd(SERIAL_LSR) & SERIAL_LSR_DR);
	cr_assert_eq(rd(SERIAL_RBR), 'a');
	cr_assert_eq(hst.irq, 0);
	cr_assert_eq(rd(SERIAL_LSR) & SERIAL_LSR_DR, 0);
	cr_assert_eq(rd(SERIAL_RBR), 'a', "empty RBR repeats the last byte");
}

static void check_trigger(uint8_t fcr_rt, unsigned level)
{
	unsigned i;
	uint8_t b;

	wr(SERIAL_FCR, (uint8_t)(SERIAL_FCR_FIFOE | SERIAL_FCR_RFR | fcr_rt));
	wr(SERIAL_IER, SERIAL_IER_ERBFI);
	for (i = 0; i + 1 < level; i++) {
		b = (uint8_t)('A' + i);
		cr_assert_eq(serial_receive(&uart, &b, 1), 1);
		cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_FIFO | SERIAL_IIR_NO_INT,
			     "level %u: RDA after only %u bytes", level, i + 1);
		cr_assert_eq(hst.irq, 0);
	}
	b = (uint8_t)('A' + i);
	cr_assert_eq(serial_receive(&uart, &b, 1), 1);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_FIFO | SERIAL_IIR_RDI,
		     "level %u: no RDA at the trigger", level);
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(rd(SERIAL_RBR), 'A');
	cr_assert_eq(hst.irq, 0, "level %u: RDA stays below the trigger", level);
}

Test(serial, fifo_trigger_1) { check_trigger(0x00, 1); }
Test(serial, fifo_trigger_4) { check_trigger(0x40, 4); }
Test(serial, fifo_trigger_8) { check_trigger(0x80, 8); }
Test(serial, fifo_trigger_14) { check_trigger(0xc0, 14); }

Test(serial, fifo_holds_16_in_order_with_backpressure)
{
	uint8_t in[20], i;

	for (i = 0; i < 20; i++)
		in[i] = (uint8_t)(0x30 + i);
	wr(SERIAL_FCR, SERIAL_FCR_FIFOE);
	cr_assert_eq(serial_receive(&uart, in, 20), 16);
	cr_assert_eq(serial_can_receive(&uart), 0);
	cr_assert_eq(serial_receive(&uart, in + 16, 4), 0);
	cr_assert_eq(rd(SERIAL_LSR) & SERIAL_LSR_OE, 0, "back-pressure never overruns");
	for (i = 0; i < 16; i++)
		cr_assert_eq(rd(SERIAL_RBR), in[i]);
	cr_assert_eq(rd(SERIAL_LSR) & SERIAL_LSR_DR, 0);
	cr_assert_eq(serial_can_receive(&uart), 16);
}

Test(serial, fifo_reset_and_enable_toggle_flush)
{
	wr(SERIAL_FCR, SERIAL_FCR_FIFOE);
	rx("abc");
	wr(SERIAL_FCR, SERIAL_FCR_FIFOE | SERIAL_FCR_RFR);
	cr_assert_eq(rd(SERIAL_LSR) & SERIAL_LSR_DR, 0, "RFR flushes RX");
	rx("abc");
	wr(SERIAL_FCR, SERIAL_FCR_FIFOE | SERIAL_FCR_XFR);
	cr_assert(rd(SERIAL_LSR) & SERIAL_LSR_DR, "XFR leaves RX alone");
	wr(SERIAL_FCR, 0);
	cr_assert_eq(rd(SERIAL_LSR) & SERIAL_LSR_DR, 0, "disabling FIFOs flushes");
	cr_assert_eq(rd(SERIAL_IIR) & SERIAL_IIR_FIFO, 0);
	wr(SERIAL_FCR, SERIAL_FCR_FIFOE);
	cr_assert_eq(rd(SERIAL_IIR) & SERIAL_IIR_FIFO, SERIAL_IIR_FIFO);
}

Test(serial, character_timeout)
{
	wr(SERIAL_FCR, SERIAL_FCR_FIFOE | 0xc0);
	wr(SERIAL_IER, SERIAL_IER_ERBFI);
	serial_rx_idle(&uart);
	cr_assert_eq(hst.irq, 0, "no timeout with an empty FIFO");
	rx("abc");
	cr_assert_eq(hst.irq, 0);
	serial_rx_idle(&uart);
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_FIFO | SERIAL_IIR_CTI);
	rx("d");
	cr_assert_eq(hst.irq, 0, "a new byte restarts the timeout");
	serial_rx_idle(&uart);
	cr_assert_eq(rd(SERIAL_RBR), 'a');
	cr_assert_eq(hst.irq, 0, "reading RBR clears the timeout");
	serial_rx_idle(&uart);
	cr_assert_eq(hst.irq, 1, "data still there: idle again times out");
	while (rd(SERIAL_LSR) & SERIAL_LSR_DR)
		(void)rd(SERIAL_RBR);
	serial_rx_idle(&uart);
	cr_assert_eq(hst.irq, 0);
}

Test(serial, no_timeout_without_fifo)
{
	wr(SERIAL_IER, SERIAL_IER_ERBFI);
	rx("a");
	(void)rd(SERIAL_IIR);
	serial_rx_idle(&uart);
	cr_assert_eq(iir_id(), SERIAL_IIR_RDI);
}

Test(serial, overrun_in_fifo_mode_loses_new_byte)
{
	unsigned i;

	wr(SERIAL_FCR, SERIAL_FCR_FIFOE);
	wr(SERIAL_MCR, SERIAL_MCR_LOOP);
	wr(SERIAL_IER, SERIAL_IER_ELSI);
	for (i = 0; i < 17; i++)
		wr(SERIAL_THR, (uint8_t)i);
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_FIFO | SERIAL_IIR_RLSI);
	cr_assert_eq(rd(SERIAL_LSR) & (SERIAL_LSR_OE | SERIAL_LSR_DR),
		     SERIAL_LSR_OE | SERIAL_LSR_DR);
	cr_assert_eq(hst.irq, 0, "LSR read clears the line status interrupt");
	cr_assert_eq(rd(SERIAL_LSR) & SERIAL_LSR_OE, 0, "OE is cleared by the read");
	for (i = 0; i < 16; i++)
		cr_assert_eq(rd(SERIAL_RBR), i);
	cr_assert_eq(rd(SERIAL_LSR) & SERIAL_LSR_DR, 0, "byte 16 was lost");
}

Test(serial, overrun_without_fifo_overwrites)
{
	wr(SERIAL_MCR, SERIAL_MCR_LOOP);
	wr(SERIAL_THR, 1);
	wr(SERIAL_THR, 2);
	cr_assert(rd(SERIAL_LSR) & SERIAL_LSR_OE);
	cr_assert_eq(rd(SERIAL_RBR), 2);
}

Test(serial, iir_priority_order)
{
	/* Build all four sources at once, then retire them one by one. */
	wr(SERIAL_MCR, SERIAL_MCR_LOOP);
	wr(SERIAL_THR, 'x');
	wr(SERIAL_THR, 'y');                     /* overrun: RLS + RDA */
	wr(SERIAL_MCR, SERIAL_MCR_LOOP | SERIAL_MCR_RTS); /* DCTS: modem */
	wr(SERIAL_IER, 0x0f);                    /* ETBEI rises: THRE */
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_RLSI);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_RLSI, "IIR read does not clear RLS");
	(void)rd(SERIAL_LSR);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_RDI);
	(void)rd(SERIAL_RBR);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_THRI);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_MSI, "THRI consumed by the previous read");
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(rd(SERIAL_MSR) & SERIAL_MSR_DCTS, SERIAL_MSR_DCTS);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_NO_INT);
	cr_assert_eq(hst.irq, 0);
}

Test(serial, loopback_echo)
{
	wr(SERIAL_MCR, SERIAL_MCR_LOOP);
	wr(SERIAL_IER, SERIAL_IER_ERBFI);
	wr(SERIAL_THR, 0x5a);
	cr_assert_eq(hst.ntx, 0, "loopback keeps TX off the wire");
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(rd(SERIAL_RBR), 0x5a);
	cr_assert_eq(serial_can_receive(&uart), 0, "serial input disconnected");
	cr_assert_eq(serial_receive(&uart, (const uint8_t *)"q", 1), 0);
	wr(SERIAL_MCR, 0);
	wr(SERIAL_THR, 0x33);
	cr_assert_eq(hst.ntx, 1);
	cr_assert_eq(rd(SERIAL_LSR) & SERIAL_LSR_DR, 0);
}

Test(serial, loopback_msr_mapping)
{
	serial_set_modem_lines(&uart, 0);
	(void)rd(SERIAL_MSR);
	wr(SERIAL_MCR, SERIAL_MCR_LOOP);
	cr_assert_eq(rd(SERIAL_MSR), 0);
	wr(SERIAL_MCR, SERIAL_MCR_LOOP | SERIAL_MCR_DTR);
	cr_assert_eq(rd(SERIAL_MSR), SERIAL_MSR_DSR | SERIAL_MSR_DDSR);
	wr(SERIAL_MCR, SERIAL_MCR_LOOP | SERIAL_MCR_RTS);
	cr_assert_eq(rd(SERIAL_MSR), SERIAL_MSR_CTS | SERIAL_MSR_DCTS | SERIAL_MSR_DDSR);
	wr(SERIAL_MCR, SERIAL_MCR_LOOP | SERIAL_MCR_OUT1);
	cr_assert_eq(rd(SERIAL_MSR), SERIAL_MSR_RI | SERIAL_MSR_DCTS,
		     "RI rising is not TERI");
	wr(SERIAL_MCR, SERIAL_MCR_LOOP | SERIAL_MCR_OUT2);
	cr_assert_eq(rd(SERIAL_MSR), SERIAL_MSR_DCD | SERIAL_MSR_DDCD | SERIAL_MSR_TERI);
	cr_assert_eq(rd(SERIAL_MSR), SERIAL_MSR_DCD, "deltas clear on read");
	serial_set_modem_lines(&uart, SERIAL_MSR_CTS);
	cr_assert_eq(rd(SERIAL_MSR), SERIAL_MSR_DCD, "inputs disconnected in loopback");
	wr(SERIAL_MCR, 0);
	cr_assert_eq(rd(SERIAL_MSR), SERIAL_MSR_CTS | SERIAL_MSR_DCTS | SERIAL_MSR_DDCD);
}

Test(serial, modem_status_interrupt)
{
	wr(SERIAL_IER, SERIAL_IER_EDSSI);
	cr_assert_eq(hst.irq, 0);
	serial_set_modem_lines(&uart, SERIAL_MSR_CTS | SERIAL_MSR_DSR);
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(rd(SERIAL_IIR), SERIAL_IIR_MSI);
	cr_assert_eq(rd(SERIAL_MSR), SERIAL_MSR_CTS | SERIAL_MSR_DSR | SERIAL_MSR_DDCD);
	cr_assert_eq(hst.irq, 0);
	serial_set_modem_lines(&uart, SERIAL_MSR_CTS | SERIAL_MSR_DSR | SERIAL_MSR_RI);
	cr_assert_eq(hst.irq, 0, "RI rising edge sets no delta");
	serial_set_modem_lines(&uart, SERIAL_MSR_CTS | SERIAL_MSR_DSR);
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(rd(SERIAL_MSR), SERIAL_MSR_CTS | SERIAL_MSR_DSR | SERIAL_MSR_TERI);
}

Test(serial, irq_called_only_on_change)
{
	int calls = hst.irq_calls;

	wr(SERIAL_SCR, 1);
	wr(SERIAL_LCR, 3);
	cr_assert_eq(hst.irq_calls, calls);
	wr(SERIAL_IER, SERIAL_IER_ETBEI);
	cr_assert_eq(hst.irq_calls, calls + 1);
	wr(SERIAL_THR, 'a');  /* THRE drops and rises within the write */
	cr_assert_eq(hst.irq_calls, calls + 1);
}

/* ---- Saved state ------------------------------------------------------------ */

/* Forwards to a mem writer and, on a good close, keeps its bytes. */
/* Save src as unit serial/0 and load it into dst; returns the load status. */
/* How the saved-state helpers (devlive.h) register a serial. */
static int reg_serial(ssm *reg, void *dev)
{
	return serial_ssm_register(dev, reg, 0);
}

static int round_trip(struct serial *src, struct serial *dst, ssm **out_reg)
{
	return dev_round_trip(reg_serial, src, dst, out_reg);
}

Test(serial, ssm_round_trip)
{
	struct host h2 = { .irq = -1 };
	struct serial dst;
	ssm *reg;
	unsigned i;
	uint8_t b;

	/* A wrapped FIFO, trigger 8, pending RDA, divisor, scratch, modem. */
	wr(SERIAL_FCR, SERIAL_FCR_FIFOE | 0x80);
	for (i = 0; i < 12; i++) {
		b = (uint8_t)i;
		serial_receive(&uart, &b, 1);
	}
	for (i = 0; i < 10; i++)
		(void)rd(SERIAL_RBR);
	for (i = 12; i < 22; i++) {
		b = (uint8_t)i;
		serial_receive(&uart, &b, 1);
	}
	wr(SERIAL_LCR, SERIAL_LCR_DLAB);
	wr(SERIAL_DLL, 0x34);
	wr(SERIAL_DLM, 0x12);
	wr(SERIAL_LCR, 0x1b);
	wr(SERIAL_SCR, 0xa5);
	wr(SERIAL_IER, SERIAL_IER_ERBFI);
	serial_set_modem_lines(&uart, SERIAL_MSR_DSR);
	cr_assert_eq(hst.irq, 1);

	serial_init(&dst, host_tx, host_irq, &h2);
	cr_assert_eq(h2.irq, 0);
	cr_assert_eq(round_trip(&uart, &dst, &reg), SSM_OK, "%s", ssm_last_error(reg));
	cr_assert_eq(h2.irq, 1, "restore drives the pending interrupt");
	cr_assert_eq(serial_read(&dst, SERIAL_IIR), SERIAL_IIR_FIFO | SERIAL_IIR_RDI);
	cr_assert_eq(serial_read(&dst, SERIAL_LCR), 0x1b);
	cr_assert_eq(serial_read(&dst, SERIAL_SCR), 0xa5);
	cr_assert_eq(serial_read(&dst, SERIAL_MSR), rd(SERIAL_MSR));
	serial_write(&dst, SERIAL_LCR, 0x9b);
	cr_assert_eq(serial_read(&dst, SERIAL_DLL), 0x34);
	cr_assert_eq(serial_read(&dst, SERIAL_DLM), 0x12);
	serial_write(&dst, SERIAL_LCR, 0x1b);
	for (i = 10; i < 22; i++)
		cr_assert_eq(serial_read(&dst, SERIAL_RBR), i);
	cr_assert_eq(h2.irq, 0);
	/* The trigger level came back through the FCR replay. */
	for (i = 0; i < 7; i++) {
		b = (uint8_t)i;
		serial_receive(&dst, &b, 1);
	}
	cr_assert_eq(h2.irq, 0, "trigger 8 restored, not the reset default of 1");
	serial_receive(&dst, &b, 1);
	cr_assert_eq(h2.irq, 1);
	ssm_destroy(reg);
}

struct corruption {
	const char *field;
	void (*apply)(struct serial_state *st);
};

static void c_count(struct serial_state *st) { st->fcr = SERIAL_FCR_FIFOE; st->rx_count = 40; }
static void c_count_nofifo(struct serial_state *st) { st->fcr = 0; st->rx_count = 2; }
static void c_head(struct serial_state *st) { st->rx_head = 16; }
static void c_ier(struct serial_state *st) { st->ier = 0x10; }
static void c_fcr(struct serial_state *st) { st->fcr = SERIAL_FCR_FIFOE | SERIAL_FCR_RFR; }
static void c_mcr(struct serial_state *st) { st->mcr = 0x20; }
static void c_lsr(struct serial_state *st) { st->lsr = SERIAL_LSR_DR; }
static void c_msr(struct serial_state *st) { st->msr ^= SERIAL_MSR_CTS; }
static void c_thr(struct serial_state *st) { st->thr_ipending = 2; }
static void c_timeout(struct serial_state *st) { st->rx_count = 0; st->timeout_pending = 1; }
static void c_modem(struct serial_state *st) { st->modem_in |= SERIAL_MSR_DDCD; }

Test(serial, ssm_refuses_out_of_range_values)
{
	static const struct corruption cases[] = {
		{ "rx_count", c_count }, { "rx_count", c_count_nofifo },
		{ "rx_head", c_head }, { "ier", c_ier }, { "fcr", c_fcr },
		{ "mcr", c_mcr }, { "lsr", c_lsr }, { "msr", c_msr },
		{ "thr_ipending", c_thr }, { "timeout_pending", c_timeout },
		{ "modem_in", c_modem },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct host h2 = { .irq = -1 };
		struct serial src, dst;
		ssm *reg;
		int rc;

		serial_init(&src, NULL, NULL, NULL);
		serial_write(&src, SERIAL_SCR, 0x11);
		cases[i].apply(&src.st);
		serial_init(&dst, host_tx, host_irq, &h2);
		serial_write(&dst, SERIAL_SCR, 0x77);
		rc = round_trip(&src, &dst, &reg);
		cr_assert_eq(rc, SSM_ERR_LOAD_VALUE, "case %zu (%s): rc %d", i, cases[i].field, rc);
		cr_assert(strstr(ssm_last_error(reg), cases[i].field),
			  "message '%s' does not name %s", ssm_last_error(reg), cases[i].field);
		cr_assert(strstr(ssm_last_error(reg), "serial"));
		cr_assert_eq(serial_read(&dst, SERIAL_SCR), 0x77, "refused state was committed");
		ssm_destroy(reg);
	}
}

Test(serial, ssm_refuses_newer_version)
{
	static const ssm_callbacks cb = { .save_exec = v2_save };
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
	struct serial dst;
	void *buf;
	size_t len;
	int rc;

	cr_assert_eq(ssm_register_device(a, &dst, "serial", 0, SERIAL_SSM_VERSION + 1, 4,
					 NULL, 0, &cb), SSM_OK);
	serial_init(&dst, NULL, NULL, NULL);
	cr_assert_eq(serial_ssm_register(&dst, b, 0), SSM_OK);
	cr_assert_eq(tu_save(a, NULL, false, &buf, &len), SSM_OK);
	rc = tu_load(b, buf, len, NULL);
	cr_assert_eq(rc, SSM_ERR_UNIT_VERSION, "rc %d: %s", rc, ssm_last_error(b));
	cr_assert(strstr(ssm_last_error(b), "version"));
	free(buf);
	ssm_destroy(a);
	ssm_destroy(b);
}

/* ---- Live save: model identity in pass 0 ------------------------------------- */


Test(serial, ssm_live_round_trip)
{
	static const ssm_callbacks pacer = { .live_exec = pacer_exec, .live_vote = pacer_vote };
	struct host h2 = { .irq = -1 };
	struct live_log slog = { .unit = "serial" }, dlog = { .unit = "serial" };
	struct serial dst;
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
	void *buf;
	size_t len;
	unsigned i;
	int rc;

	cr_assert(a && b);
	wr(SERIAL_FCR, SERIAL_FCR_FIFOE | 0x40);
	rx("hello");
	wr(SERIAL_LCR, 0x1b);
	wr(SERIAL_SCR, 0x5c);
	wr(SERIAL_IER, SERIAL_IER_ERBFI);
	cr_assert_eq(hst.irq, 1);
	serial_init(&dst, host_tx, host_irq, &h2);

	cr_assert_eq(serial_ssm_register(&uart, a, 0), SSM_OK);
	cr_assert_eq(ssm_register_external(a, "pacer", 0, 1, 4, NULL, SSM_UNIT_OPTIONAL,
					   &pacer, NULL), SSM_OK);
	ssm_set_trace(a, live_log_trace, &slog);
	live_save(a, &buf, &len);
	cr_assert_eq(slog.live_execs, 1, "identity sent once, not in every pass");
	cr_assert_eq(slog.live_votes, 1);

	cr_assert_eq(serial_ssm_register(&dst, b, 0), SSM_OK);
	rc = traced_load(b, buf, len, &dlog);
	cr_assert_eq(rc, SSM_OK, "load: %s", ssm_last_error(b));
	cr_assert_eq(dlog.loads, 2);
	cr_assert_eq(dlog.load_pass[0], 0, "identity first");
	cr_assert_eq(dlog.load_pass[1], SSM_PASS_FINAL);
	cr_assert_eq(memcmp(&dst.st, &uart.st, sizeof dst.st), 0);
	cr_assert_eq(h2.irq, 1, "restore drives the pending interrupt");
	cr_assert_eq(serial_read(&dst, SERIAL_SCR), 0x5c);
	for (i = 0; i < 5; i++)
		cr_assert_eq(serial_read(&dst, SERIAL_RBR), (uint8_t)"hello"[i]);
	free(buf);
	ssm_destroy(a);
	ssm_destroy(b);
}

Test(serial, ssm_live_refuses_other_model_in_pass_0)
{
	static const ssm_callbacks cb = { .live_exec = fake_dev_live_exec,
					  .live_vote = fake_dev_live_vote,
					  .save_exec = fake_dev_save_exec };
	static const struct {
		const char *model;
		uint32_t version, fifo_size;
		const char *field;      /* NULL: the identity matches */
	} cases[] = {
		{ SERIAL_SSM_MODEL, SERIAL_SSM_VERSION, SERIAL_FIFO_SIZE, NULL },
		{ "16450", SERIAL_SSM_VERSION, 1, "model" },
		{ "16C750", SERIAL_SSM_VERSION, 64, "model" },
		{ "", SERIAL_SSM_VERSION, SERIAL_FIFO_SIZE, "model" },
		{ "a 16550A with a name far too long to be one", SERIAL_SSM_VERSION,
		  SERIAL_FIFO_SIZE, "model" },
		{ SERIAL_SSM_MODEL, SERIAL_SSM_VERSION, 64, "fifo_size" },
		{ SERIAL_SSM_MODEL, SERIAL_SSM_VERSION + 1, SERIAL_FIFO_SIZE, "version" },
	};
	struct serial src;
	void *body = NULL;
	size_t body_len = 0, i;

	/* The state the final pass would carry: scratch 0x11, FIFO on. */
	serial_init(&src, NULL, NULL, NULL);
	serial_write(&src, SERIAL_SCR, 0x11);
	serial_write(&src, SERIAL_FCR, SERIAL_FCR_FIFOE);
	final_body("serial", reg_serial, &src, &body, &body_len);

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fake_dev f = { cases[i].model, cases[i].version, { cases[i].fifo_size }, 1,
				      body, body_len };
		struct host h2 = { .irq = -1 };
		struct serial_state before;
		struct live_log l = { .unit = "serial" };
		struct serial dst;
		ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
		void *buf;
		size_t len;
		int rc;

		cr_assert(a && b);
		cr_assert_eq(ssm_register_external(a, "serial", 0, SERIAL_SSM_VERSION, 16, NULL,
						   0, &cb, &f), SSM_OK);
		live_save(a, &buf, &len);
		serial_init(&dst, host_tx, host_irq, &h2);
		serial_write(&dst, SERIAL_SCR, 0x77);
		before = dst.st;
		cr_assert_eq(serial_ssm_register(&dst, b, 0), SSM_OK);
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
			cr_assert(strstr(ssm_last_error(b), "serial: "), "%s", ssm_last_error(b));
			cr_assert(strstr(ssm_last_error(b), cases[i].field),
				  "message '%s' does not name %s", ssm_last_error(b),
				  cases[i].field);
			cr_assert(strstr(ssm_last_error(b), "this VM has"), "%s",
				  ssm_last_error(b));
			cr_assert_eq(l.loads, 1, "refused in pass 0, final record never read");
			cr_assert_eq(memcmp(&dst.st, &before, sizeof before), 0,
				     "refused stream changed the device");
			cr_assert_eq(serial_read(&dst, SERIAL_SCR), 0x77);
		}
		cr_assert_eq(l.load_pass[0], 0);
		free(buf);
		ssm_destroy(a);
		ssm_destroy(b);
	}
	free(body);
}

Test(serial, ssm_live_message_names_both_models)
{
	static const ssm_callbacks cb = { .live_exec = fake_dev_live_exec,
					  .live_vote = fake_dev_live_vote };
	struct fake_dev f = { "16450\x01", SERIAL_SSM_VERSION, { 1 }, 1, NULL, 0 };
	struct serial dst;
	struct live_log l = { .unit = "serial" };
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
	void *buf;
	size_t len;

	cr_assert(a && b);
	cr_assert_eq(ssm_register_external(a, "serial", 0, SERIAL_SSM_VERSION, 16, NULL, 0,
					   &cb, &f), SSM_OK);
	live_save(a, &buf, &len);
	serial_init(&dst, NULL, NULL, NULL);
	cr_assert_eq(serial_ssm_register(&dst, b, 0), SSM_OK);
	cr_assert_eq(traced_load(b, buf, len, &l), SSM_ERR_LOAD_VALUE);
	cr_assert(strstr(ssm_last_error(b),
			 "serial: model mismatch: stream describes a 16450?, this VM has a 16550A"),
		  "%s", ssm_last_error(b));
	free(buf);
	ssm_destroy(a);
	ssm_destroy(b);
}
