/* serial.c - 16550A UART model.  See serial.h for the host contract. */
#include "devices/serial.h"
#include "devices/dev_identity.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Default modem inputs: a terminal that is present and ready. */
#define SERIAL_MODEM_DEFAULT (SERIAL_MSR_CTS | SERIAL_MSR_DSR | SERIAL_MSR_DCD)

/* ---- Helpers ------------------------------------------------------------- */

static bool fifo_on(const struct serial *s)
{
	return (s->st.fcr & SERIAL_FCR_FIFOE) != 0;
}

/* Without FIFOs the receiver is the 16450's single holding register. */
static unsigned rx_capacity(const struct serial *s)
{
	return fifo_on(s) ? SERIAL_FIFO_SIZE : 1;
}

static unsigned rx_level(const struct serial *s)
{
	return fifo_on(s) ? s->rx_trigger : 1;
}

static void rx_clear(struct serial *s)
{
	s->st.rx_head = 0;
	s->st.rx_count = 0;
	s->st.timeout_pending = 0;
}

/* A byte arrives from the shift register (host input or loopback). */
static void rx_push(struct serial *s, uint8_t b)
{
	struct serial_state *st = &s->st;

	if (!fifo_on(s)) {
		/* 16450 behaviour: the unread byte is destroyed by the new one. */
		if (st->rx_count)
			st->lsr |= SERIAL_LSR_OE;
		st->rx_fifo[st->rx_head] = b;
		st->rx_count = 1;
		return;
	}
	if (st->rx_count == SERIAL_FIFO_SIZE) {
		/* FIFO mode: the FIFO keeps its data, the new byte is lost. */
		st->lsr |= SERIAL_LSR_OE;
		return;
	}
	st->rx_fifo[(st->rx_head + st->rx_count) % SERIAL_FIFO_SIZE] = b;
	st->rx_count++;
	/* Activity on the line restarts the four-character timeout. */
	st->timeout_pending = 0;
}

static uint8_t rx_pop(struct serial *s)
{
	struct serial_state *st = &s->st;

	/* Reading RBR resets the timeout whether or not data was there. */
	st->timeout_pending = 0;
	if (!st->rx_count)
		return st->rbr;
	st->rbr = st->rx_fifo[st->rx_head];
	st->rx_head = (uint8_t)((st->rx_head + 1) % SERIAL_FIFO_SIZE);
	st->rx_count--;
	return st->rbr;
}

/* Modem inputs as the MSR sees them: in loopback the outputs drive them. */
static uint8_t msr_inputs(const struct serial_state *st)
{
	uint8_t mcr = st->mcr, v = 0;

	if (!(mcr & SERIAL_MCR_LOOP))
		return st->modem_in;
	if (mcr & SERIAL_MCR_RTS)
		v |= SERIAL_MSR_CTS;
	if (mcr & SERIAL_MCR_DTR)
		v |= SERIAL_MSR_DSR;
	if (mcr & SERIAL_MCR_OUT1)
		v |= SERIAL_MSR_RI;
	if (mcr & SERIAL_MCR_OUT2)
		v |= SERIAL_MSR_DCD;
	return v;
}

/* Latch new line levels into the MSR, accumulating the delta bits. */
static void msr_refresh(struct serial *s)
{
	uint8_t old = s->st.msr & SERIAL_MSR_LINES;
	uint8_t now = msr_inputs(&s->st);
	uint8_t chg = old ^ now, d = 0;

	if (chg & SERIAL_MSR_CTS)
		d |= SERIAL_MSR_DCTS;
	if (chg & SERIAL_MSR_DSR)
		d |= SERIAL_MSR_DDSR;
	if (chg & SERIAL_MSR_DCD)
		d |= SERIAL_MSR_DDCD;
	/* TERI flags only the end of a ring, not its start. */
	if ((old & SERIAL_MSR_RI) && !(now & SERIAL_MSR_RI))
		d |= SERIAL_MSR_TERI;
	s->st.msr = (uint8_t)(now | (s->st.msr & SERIAL_MSR_DELTA) | d);
}

/* The FCR setter: persistent bits and what derives from them.  Shared by
 * guest writes and state restore, so it must not touch the FIFOs. */
static void serial_set_fcr(struct serial *s, uint8_t val)
{
	static const uint8_t trigger[4] = { 1, 4, 8, 14 };

	/* Other FCR bits are only programmed together with FIFO enable. */
	s->st.fcr = (val & SERIAL_FCR_FIFOE) ? (uint8_t)(val & SERIAL_FCR_KEEP) : 0;
	s->rx_trigger = trigger[s->st.fcr >> 6];
}

static uint8_t serial_iir(const struct serial *s)
{
	const struct serial_state *st = &s->st;
	uint8_t id;

	if ((st->ier & SERIAL_IER_ELSI) && (st->lsr & SERIAL_LSR_ERRORS))
		id = SERIAL_IIR_RLSI;
	else if ((st->ier & SERIAL_IER_ERBFI) && st->rx_count >= rx_level(s))
		id = SERIAL_IIR_RDI;
	else if ((st->ier & SERIAL_IER_ERBFI) && st->timeout_pending)
		id = SERIAL_IIR_CTI;
	else if ((st->ier & SERIAL_IER_ETBEI) && st->thr_ipending)
		id = SERIAL_IIR_THRI;
	else if ((st->ier & SERIAL_IER_EDSSI) && (st->msr & SERIAL_MSR_DELTA))
		id = SERIAL_IIR_MSI;
	else
		id = SERIAL_IIR_NO_INT;
	return fifo_on(s) ? (uint8_t)(id | SERIAL_IIR_FIFO) : id;
}

static uint8_t serial_lsr(const struct serial *s)
{
	/* TX is instantaneous, so the transmitter is always empty. */
	uint8_t v = (uint8_t)(s->st.lsr | SERIAL_LSR_THRE | SERIAL_LSR_TEMT);

	if (s->st.rx_count)
		v |= SERIAL_LSR_DR;
	return v;
}

void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & SERIAL_IIR_NO_INT);

	if (level == s->irq_level)
		return;
	s->irq_level = (int8_t)level;
	if (s->set_irq)
		s->set_irq(s->opaque, level);
}

/* ---- Register access ----------------------------------------------------- */

static void serial_write_thr(struct serial *s, uint8_t val)
{
	s->st.thr_ipending = 0;
	if (s->st.mcr & SERIAL_MCR_LOOP)
		rx_push(s, val);  /* serial output is wired to serial input */
	else if (s->tx)
		s->tx(s->opaque, val);
	/* The byte left at once: THR is empty again and says so. */
	s->st.thr_ipending = 1;
}

static void serial_write_fcr(struct serial *s, uint8_t val)
{
	/* Changing FIFO enable flushes both FIFOs; RFR flushes RX.  The TX FIFO
	 * never holds data, so XFR has nothing to do. */
	if (((val ^ s->st.fcr) & SERIAL_FCR_FIFOE) ||
	    ((val & SERIAL_FCR_FIFOE) && (val & SERIAL_FCR_RFR)))
		rx_clear(s);
	serial_set_fcr(s, val);
}

uint8_t serial_read(struct serial *s, unsigned offset)
{
	struct serial_state *st = &s->st;
	bool dlab = (st->lcr & SERIAL_LCR_DLAB) != 0;
	uint8_t v;

	switch (offset & 7) {
	case SERIAL_RBR:
		v = dlab ? st->dll : rx_pop(s);
		break;
	case SERIAL_IER:
		v = dlab ? st->dlm : st->ier;
		break;
	case SERIAL_IIR:
		v = serial_iir(s);
		/* Reading IIR acknowledges THRE only when THRE is what it shows. */
		if ((v & SERIAL_IIR_ID) == SERIAL_IIR_THRI)
			st->thr_ipending = 0;
		break;
	case SERIAL_LCR:
		v = st->lcr;
		break;
	case SERIAL_MCR:
		v = st->mcr;
		break;
	case SERIAL_LSR:
		v = serial_lsr(s);
		st->lsr &= (uint8_t)~SERIAL_LSR_ERRORS;
		break;
	case SERIAL_MSR:
		v = st->msr;
		st->msr &= (uint8_t)~SERIAL_MSR_DELTA;
		break;
	default:
		v = st->scr;
		break;
	}
	serial_update_irq(s);
	return v;
}

void serial_write(struct serial *s, unsigned offset, uint8_t val)
{
	struct serial_state *st = &s->st;
	bool dlab = (st->lcr & SERIAL_LCR_DLAB) != 0;
	uint8_t old;

	switch (offset & 7) {
	case SERIAL_THR:
		if (dlab)
			st->dll = val;
		else
			serial_write_thr(s, val);
		break;
	case SERIAL_IER:
		if (dlab) {
			st->dlm = val;
			break;
		}
		old = st->ier;
		st->ier = val & SERIAL_IER_MASK;
		/* Enabling ETBEI while THR is empty (always, here) interrupts. */
		if ((st->ier & ~old) & SERIAL_IER_ETBEI)
			st->thr_ipending = 1;
		break;
	case SERIAL_FCR:
		serial_write_fcr(s, val);
		break;
	case SERIAL_LCR:
		st->lcr = val;
		break;
	case SERIAL_MCR:
		st->mcr = val & SERIAL_MCR_MASK;
		msr_refresh(s);
		break;
	case SERIAL_LSR:
	case SERIAL_MSR:
		/* Factory-test writes are not modelled: both are read-only. */
		break;
	default:
		st->scr = val;
		break;
	}
	serial_update_irq(s);
}

/* ---- Host side ----------------------------------------------------------- */

size_t serial_can_receive(const struct serial *s)
{
	/* In loopback the serial input pin is disconnected from the receiver. */
	if (s->st.mcr & SERIAL_MCR_LOOP)
		return 0;
	return rx_capacity(s) - s->st.rx_count;
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t n)
{
	size_t room = serial_can_receive(s), i;

	if (n > room)
		n = room;
	for (i = 0; i < n; i++)
		rx_push(s, buf[i]);
	serial_update_irq(s);
	return n;
}

void serial_rx_idle(struct serial *s)
{
	if (fifo_on(s) && s->st.rx_count)
		s->st.timeout_pending = 1;
	serial_update_irq(s);
}

void serial_set_modem_lines(struct serial *s, uint8_t lines)
{
	s->st.modem_in = lines & SERIAL_MSR_LINES;
	msr_refresh(s);
	serial_update_irq(s);
}

/* Make st the live state: the one path for init, reset and restore. */
static void serial_commit(struct serial *s, const struct serial_state *st)
{
	s->st = *st;
	serial_set_fcr(s, st->fcr);  /* replay: rebuild rx_trigger */
	s->irq_level = -1;           /* drive the line even if unchanged */
	serial_update_irq(s);
}

void serial_reset(struct serial *s)
{
	struct serial_state d;

	memset(&d, 0, sizeof d);
	d.dll = 12;  /* 9600 baud: any non-zero divisor would do */
	d.modem_in = s->st.modem_in;  /* the cable is not reset */
	d.msr = d.modem_in;
	serial_commit(s, &d);
}

void serial_init(struct serial *s, serial_tx_fn tx, serial_irq_fn set_irq, void *opaque)
{
	memset(s, 0, sizeof *s);
	s->tx = tx;
	s->set_irq = set_irq;
	s->opaque = opaque;
	s->st.modem_in = SERIAL_MODEM_DEFAULT;
	serial_reset(s);
}

/* ---- Load validation ----------------------------------------------------- */

/* Check a loaded state for values the register logic could never produce;
 * on failure write "field value ..." into why and return false. */
static bool serial_state_check(const struct serial_state *st, char *why, size_t len)
{
	bool fifo = (st->fcr & SERIAL_FCR_FIFOE) != 0;
	unsigned cap = fifo ? SERIAL_FIFO_SIZE : 1;

#define BAD(...) do { snprintf(why, len, __VA_ARGS__); return false; } while (0)
	if (st->rx_head >= SERIAL_FIFO_SIZE)
		BAD("rx_head %u out of range (max %u)", st->rx_head, SERIAL_FIFO_SIZE - 1);
	if (st->rx_count > cap)
		BAD("rx_count %u out of range (max %u)", st->rx_count, cap);
	if (st->ier & ~SERIAL_IER_MASK)
		BAD("ier 0x%02x has reserved bits set", st->ier);
	if ((st->fcr & ~SERIAL_FCR_KEEP) || (!fifo && st->fcr))
		BAD("fcr 0x%02x invalid", st->fcr);
	if (st->mcr & ~SERIAL_MCR_MASK)
		BAD("mcr 0x%02x has reserved bits set", st->mcr);
	if (st->lsr & ~SERIAL_LSR_ERRORS)
		BAD("lsr 0x%02x holds non-sticky bits", st->lsr);
	if (st->modem_in & ~SERIAL_MSR_LINES)
		BAD("modem_in 0x%02x has delta bits set", st->modem_in);
	if ((st->msr & SERIAL_MSR_LINES) != msr_inputs(st))
		BAD("msr 0x%02x disagrees with mcr/modem_in lines", st->msr);
	if (st->thr_ipending > 1)
		BAD("thr_ipending %u not a flag", st->thr_ipending);
	if (st->timeout_pending > 1)
		BAD("timeout_pending %u not a flag", st->timeout_pending);
	if (st->timeout_pending && (!fifo || !st->rx_count))
		BAD("timeout_pending set with no FIFO data");
#undef BAD
	return true;
}

/* ---- Saved state --------------------------------------------------------- */

const ssm_field serial_fields[] = {
	SSM_FIELD(struct serial_state, rx_fifo),
	SSM_FIELD(struct serial_state, rx_head),
	SSM_FIELD(struct serial_state, rx_count),
	SSM_FIELD(struct serial_state, rbr),
	SSM_FIELD(struct serial_state, ier),
	SSM_FIELD(struct serial_state, fcr),
	SSM_FIELD(struct serial_state, lcr),
	SSM_FIELD(struct serial_state, mcr),
	SSM_FIELD(struct serial_state, lsr),
	SSM_FIELD(struct serial_state, msr),
	SSM_FIELD(struct serial_state, scr),
	SSM_FIELD(struct serial_state, dll),
	SSM_FIELD(struct serial_state, dlm),
	SSM_FIELD(struct serial_state, thr_ipending),
	SSM_FIELD(struct serial_state, timeout_pending),
	SSM_FIELD(struct serial_state, modem_in),
	SSM_FIELD_TERM()
};

/* The table must describe every byte; a new member needs a table entry. */
_Static_assert(sizeof(struct serial_state) == SERIAL_FIFO_SIZE + 15,
	       "serial_state changed: update serial_fields");

/* Live save: the model identity.
 *
 * Record of every live pass (pass != SSM_PASS_FINAL; written in pass 0 only,
 * as the unit then votes SSM_VOTE_DONE_DONT_CALL_AGAIN), all little-endian:
 *
 *   str  model       SERIAL_SSM_MODEL "16550A" (u32 length + bytes, no NUL)
 *   u32  version     SERIAL_SSM_VERSION, the layout of the final record
 *   u32  fifo_size   SERIAL_FIFO_SIZE (16)
 *
 * No guest state: the guest keeps running after it is sent.  The
 * destination compares each value with its own and refuses the stream with
 * SSM_ERR_LOAD_VALUE on the first difference, before the final record (and,
 * for units saved after this one, anything else) is read.  The final pass
 * (SSM_PASS_FINAL) record is serial_fields, the same as in a non-live save.
 *
 * A non-live save has no identity record.  Builds from before this record
 * existed refuse a live stream at it ("unexpected live pass 0"). */

static const struct dev_id_param serial_id_params[] = {
	{ "version", SERIAL_SSM_VERSION, SERIAL_SSM_VERSION_MIN },
	{ "fifo_size", SERIAL_FIFO_SIZE },
};

static const struct dev_identity serial_identity = {
	.unit = "serial",
	.model = SERIAL_SSM_MODEL,
	.article = "a",
	.params = serial_id_params,
	.nparams = sizeof serial_id_params / sizeof serial_id_params[0],
};

static int serial_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)ctx;
	(void)pass;
	return dev_identity_put(&serial_identity, h);
}

static int serial_save_exec(void *ctx, ssm_handle *h)
{
	struct serial *s = ctx;

	return ssm_put_struct(h, &s->st, sizeof s->st, SSM_STRUCT_FULL, serial_fields, NULL);
}

static int serial_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct serial *s = ctx;
	struct serial_state tmp;
	char why[96];
	int rc;

	rc = ssm_check_unit_version(h, "serial", version, SERIAL_SSM_VERSION_MIN,
				    SERIAL_SSM_VERSION);
	if (rc != SSM_OK)
		return rc;
	if (pass != SSM_PASS_FINAL)
		return dev_identity_check(&serial_identity, h);
	memset(&tmp, 0, sizeof tmp);
	rc = ssm_get_struct(h, &tmp, sizeof tmp, SSM_STRUCT_FULL, serial_fields, NULL);
	if (rc != SSM_OK)
		return rc;
	if (!serial_state_check(&tmp, why, sizeof why))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "serial: %s", why);
	serial_commit(s, &tmp);
	return SSM_OK;
}

/* Other units (the PIC) may have been loaded after us: drive the line again. */
static int serial_load_done(void *ctx, ssm_handle *h)
{
	struct serial *s = ctx;

	(void)h;
	s->irq_level = -1;
	serial_update_irq(s);
	return SSM_OK;
}

int serial_ssm_register(struct serial *s, ssm *reg, uint32_t instance)
{
	static const ssm_callbacks cb = {
		.live_exec = serial_live_exec,
		.live_vote = dev_identity_vote,
		.save_exec = serial_save_exec,
		.load_exec = serial_load_exec,
		.load_done = serial_load_done,
	};

	return ssm_register_device(reg, s, "serial", instance, SERIAL_SSM_VERSION,
				   sizeof s->st, NULL, 0, &cb);
}
