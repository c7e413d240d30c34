/* pit.c - 8254 PIT.  See pit.h for the host contract and the time model. */
#include "devices/pit.h"
#include "devices/dev_identity.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NS_PER_SEC 1000000000ull
#define REFRESH_NS 15085u      /* port 0x61 bit 4 toggles every 15.085 us */

/* ---- Time ---------------------------------------------------------------- */

/* Whole ticks in ns nanoseconds, split so ns * PIT_FREQ_HZ cannot overflow. */
static uint64_t ns_to_ticks(uint64_t ns)
{
	return (ns / NS_PER_SEC) * PIT_FREQ_HZ + (ns % NS_PER_SEC) * PIT_FREQ_HZ / NS_PER_SEC;
}

/* Smallest ns with ns_to_ticks(ns) >= ticks, so events land on the tick. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	uint64_t q = ticks / PIT_FREQ_HZ, r = ticks % PIT_FREQ_HZ;

	if (q >= UINT64_MAX / NS_PER_SEC - 1)
		return UINT64_MAX;
	return q * NS_PER_SEC + (r * NS_PER_SEC + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ;
}

/* ---- Counter model ------------------------------------------------------- */

/* Modes 6 and 7 are aliases of 2 and 3; the status byte keeps what was written. */
static unsigned ch_mode(const struct pit_channel *c)
{
	return c->mode >= 6 ? c->mode - 4u : c->mode;
}

static uint32_t ch_modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000u : 0x10000u;
}

/* Ticks counted since the CE was loaded (frozen while HELD). */
static uint64_t ch_elapsed(const struct pit_channel *c, uint64_t now)
{
	if (c->ce_state == PIT_CE_HELD)
		return c->base_ticks;
	if (c->ce_state != PIT_CE_RUNNING)
		return 0;
	if (now <= c->count_load_time)
		return c->base_ticks;
	return c->base_ticks + ns_to_ticks(now - c->count_load_time);
}

/* An elapsed count with the same counter value, OUT and future, but bounded
 * (< PIT_MAX_BASE) so it can be frozen, saved and validated. */
static uint64_t ch_reduce(const struct pit_channel *c, uint64_t d)
{
	uint64_t n = c->count, m = ch_modulus(c);

	switch (ch_mode(c)) {
	case 2:
	case 3:
		return d % n;
	case 0:
	case 1:
		return d <= n ? d : n + (d - n) % m;
	default:
		return d <= n + 1 ? d : n + 1 + (d - n - 1) % m;
	}
}

/* Counter value (binary, before BCD encoding) at now. */
static uint32_t ch_counter(const struct pit_channel *c, uint64_t now)
{
	uint64_t n = c->count, m = ch_modulus(c), d, p, h;

	if (c->ce_state == PIT_CE_IDLE || c->ce_state == PIT_CE_WAIT_GATE)
		return (uint32_t)(n % m);
	d = ch_elapsed(c, now);
	switch (ch_mode(c)) {
	case 2:
		return (uint32_t)((n - d % n) % m);
	case 3:
		/* Counts down by two through each half period. */
		p = d % n;
		h = (n + 1) / 2;
		return (uint32_t)((p < h ? n - 2 * p : n - 2 * (p - h)) % m);
	default:
		/* One-shot modes keep counting (wrapping) after terminal count. */
		return (uint32_t)((n % m + m - d % m) % m);
	}
}

static int ch_out(const struct pit_channel *c, uint64_t now)
{
	uint64_t n = c->count, d;

	switch (c->ce_state) {
	case PIT_CE_IDLE:
		return ch_mode(c) != 0;  /* mode 0 starts low, the others high */
	case PIT_CE_WAIT_GATE:
		return 1;
	case PIT_CE_HELD:
		if (ch_mode(c) >= 2 && ch_mode(c) <= 3)
			return 1;        /* gate low forces OUT high in 2 and 3 */
		break;
	default:
		break;
	}
	d = ch_elapsed(c, now);
	switch (ch_mode(c)) {
	case 0:
	case 1:
		return d >= n;
	case 2:
		/* Low for the one tick before reload; N=1 is illegal: stay high. */
		return n < 2 || d % n != n - 1;
	case 3:
		return d % n < (n + 1) / 2;
	default:
		return d != n;           /* 4, 5: one-tick strobe at terminal count */
	}
}

/* Virtual time at which the elapsed count reaches tick k (k > base_ticks). */
static uint64_t ch_tick_time(const struct pit_channel *c, uint64_t k)
{
	uint64_t off = ticks_to_ns(k - c->base_ticks);

	return off > UINT64_MAX - c->count_load_time ? UINT64_MAX : c->count_load_time + off;
}

/* First time strictly after `after` at which OUT changes; UINT64_MAX if never. */
static uint64_t ch_next_change(const struct pit_channel *c, uint64_t after)
{
	uint64_t n = c->count, d, p, k;

	if (c->ce_state != PIT_CE_RUNNING)
		return UINT64_MAX;
	d = ch_elapsed(c, after);
	switch (ch_mode(c)) {
	case 0:
	case 1:
		if (d >= n)
			return UINT64_MAX;
		k = n;
		break;
	case 2:
		if (n < 2)
			return UINT64_MAX;
		p = d % n;
		k = d - p + (p < n - 1 ? n - 1 : n);
		break;
	case 3:
		if (n < 2)
			return UINT64_MAX;
		p = d % n;
		k = d - p + (p < (n + 1) / 2 ? (n + 1) / 2 : n);
		break;
	default:
		if (d > n)
			return UINT64_MAX;
		k = d < n ? n : n + 1;
		break;
	}
	return ch_tick_time(c, k);
}

/* Start counting from the top of the count at now. */
static void ch_start(struct pit_channel *c, uint64_t now)
{
	c->count_load_time = now;
	c->base_ticks = 0;
	c->ce_state = PIT_CE_RUNNING;
}

/* Lazily retire NULL COUNT: the count reaches the CE one tick after loading. */
static void ch_sync(struct pit_channel *c, uint64_t now)
{
	if (c->null_count && c->ce_state == PIT_CE_RUNNING &&
	    now > c->count_load_time && ns_to_ticks(now - c->count_load_time) >= 1)
		c->null_count = 0;
}

static void ch_set_gate(struct pit_channel *c, uint8_t gate, uint64_t now)
{
	bool rising = gate && !c->gate;

	if (gate == c->gate)
		return;
	c->gate = gate;
	switch (ch_mode(c)) {
	case 1:
	case 5:
		/* A rising gate triggers (or retriggers) the one-shot. */
		if (rising && c->ce_state != PIT_CE_IDLE)
			ch_start(c, now);
		break;
	default:
		if (!rising && c->ce_state == PIT_CE_RUNNING) {
			c->base_ticks = ch_reduce(c, ch_elapsed(c, now));
			c->ce_state = PIT_CE_HELD;
		} else if (rising && c->ce_state == PIT_CE_HELD) {
			c->count_load_time = now;
			c->ce_state = PIT_CE_RUNNING;
			/* Modes 2 and 3 reload on the gate; 0 and 4 resume. */
			if (ch_mode(c) == 2 || ch_mode(c) == 3)
				c->base_ticks = 0;
		}
		break;
	}
}

static void ch_load_count(struct pit_channel *c, uint16_t raw, uint64_t now)
{
	uint32_t n = raw;

	if (c->bcd)  /* digits taken as written, even if not decimal */
		n = (raw >> 12) * 1000u + ((raw >> 8) & 15) * 100u + ((raw >> 4) & 15) * 10u + (raw & 15);
	c->count = n ? n : ch_modulus(c);
	c->null_count = 1;
	switch (ch_mode(c)) {
	case 1:
	case 5:
		if (c->ce_state == PIT_CE_IDLE)
			c->ce_state = PIT_CE_WAIT_GATE;
		break;
	default:
		ch_start(c, now);
		if (!c->gate) {
			c->ce_state = PIT_CE_HELD;
		}
		break;
	}
}

static uint16_t ch_encode(const struct pit_channel *c, uint32_t v)
{
	if (!c->bcd)
		return (uint16_t)v;
	v %= 10000u;
	return (uint16_t)(((v / 1000) << 12) | ((v / 100 % 10) << 8) | ((v / 10 % 10) << 4) | (v % 10));
}

static void ch_latch_count(struct pit_channel *c, uint64_t now)
{
	/* A second latch before the first is read is ignored. */
	if (c->count_latched)
		return;
	c->latched_count = ch_encode(c, ch_counter(c, now));
	c->count_latched = c->rw_mode == PIT_RW_LSB_MSB ? PIT_ACC_WORD_LSB : c->rw_mode;
}

static void ch_latch_status(struct pit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)((ch_out(c, now) ? PIT_STATUS_OUTPUT : 0) |
			      (c->null_count ? PIT_STATUS_NULL : 0) |
			      (c->rw_mode << PIT_CW_RW_SHIFT) |
			      (c->mode << PIT_CW_M_SHIFT) | c->bcd);
	c->status_latched = 1;
}

static void pit_drive(struct pit *p, int level)
{
	if (level == p->irq_level)
		return;
	p->irq_level = (int8_t)level;
	if (p->set_irq)
		p->set_irq(p->opaque, level);
}

/* Where the IRQ 0 walk resumes: owed edges older than the lag limit are
 * abandoned. */
static uint64_t irq_walk_start(const struct pit *p, uint64_t now)
{
	if (now > p->irq_time && now - p->irq_time > PIT_MAX_LAG_NS)
		return now - PIT_MAX_LAG_NS;
	return p->irq_time;
}

void pit_update_irq(struct pit *p, uint64_t now)
{
	const struct pit_channel *c = &p->st.ch[0];
	uint64_t t;
	int level;

	if (now < p->irq_time)
		now = p->irq_time;  /* the clock must not run backwards */
	p->irq_time = irq_walk_start(p, now);
	for (;;) {
		t = ch_next_change(c, p->irq_time);
		if (t > now || t <= p->irq_time)  /* second test: saturated at the end of time */
			break;
		p->irq_time = t;
		level = ch_out(c, t);
		if (level && p->irq_level == 0) {
			pit_drive(p, level);
			break;   /* one edge per call; the host comes back for more */
		}
		pit_drive(p, level);
	}
	if (ch_next_change(c, p->irq_time) > now) {
		p->irq_time = now;
		pit_drive(p, ch_out(c, now));
	}
}

/* ---- Register access ----------------------------------------------------- */

static void pit_sync(struct pit *p, uint64_t now)
{
	unsigned i;

	for (i = 0; i < PIT_CHANNELS; i++)
		ch_sync(&p->st.ch[i], now);
}

/* Counter 0 is being reprogrammed: edges owed by the old setting are void. */
static void irq_restart(struct pit *p, unsigned ch, uint64_t now)
{
	if (ch == 0 && now > p->irq_time)
		p->irq_time = now;
}

static void pit_write_control(struct pit *p, uint8_t val, uint64_t now)
{
	unsigned sc = val >> PIT_CW_SC_SHIFT, rw = (val >> PIT_CW_RW_SHIFT) & 3, i;
	struct pit_channel *c;

	if (sc == PIT_CW_SC_READBACK) {
		for (i = 0; i < PIT_CHANNELS; i++) {
			if (!(val & PIT_RB_CNT(i)))
				continue;
			/* Status first, so a read returns it before the count. */
			if (!(val & PIT_RB_STATUS_N))
				ch_latch_status(&p->st.ch[i], now);
			if (!(val & PIT_RB_COUNT_N))
				ch_latch_count(&p->st.ch[i], now);
		}
		return;
	}
	c = &p->st.ch[sc];
	if (rw == PIT_RW_LATCH) {
		ch_latch_count(c, now);
		return;
	}
	/* A control word resets the counter's control logic; OUT goes to its
	 * initial level and counting waits for a new count. */
	irq_restart(p, sc, now);
	c->rw_mode = (uint8_t)rw;
	c->mode = (val >> PIT_CW_M_SHIFT) & 7;
	c->bcd = val & PIT_CW_BCD;
	c->read_state = c->write_state = rw == PIT_RW_LSB_MSB ? PIT_ACC_WORD_LSB : (uint8_t)rw;
	c->count_latched = 0;
	c->status_latched = 0;
	c->null_count = 1;
	c->ce_state = PIT_CE_IDLE;
	c->count_load_time = now;
	c->base_ticks = 0;
}

static void pit_write_counter(struct pit *p, unsigned ch, uint8_t val, uint64_t now)
{
	struct pit_channel *c = &p->st.ch[ch];

	c->null_count = 1;
	switch (c->write_state) {
	case PIT_ACC_WORD_LSB:
		c->write_lsb = val;
		c->write_state = PIT_ACC_WORD_MSB;
		return;
	case PIT_ACC_WORD_MSB:
		c->write_state = PIT_ACC_WORD_LSB;
		irq_restart(p, ch, now);
		ch_load_count(c, (uint16_t)(c->write_lsb | val << 8), now);
		return;
	case PIT_ACC_MSB:
		irq_restart(p, ch, now);
		ch_load_count(c, (uint16_t)(val << 8), now);
		return;
	default:
		irq_restart(p, ch, now);
		ch_load_count(c, val, now);
		return;
	}
}

static uint8_t pit_read_counter(struct pit_channel *c, uint64_t now)
{
	uint16_t v;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		v = c->latched_count;
		switch (c->count_latched) {
		case PIT_ACC_WORD_LSB:
			c->count_latched = PIT_ACC_WORD_MSB;
			return (uint8_t)v;
		case PIT_ACC_LSB:
			c->count_latched = 0;
			return (uint8_t)v;
		default:
			c->count_latched = 0;
			return (uint8_t)(v >> 8);
		}
	}
	/* Unlatched reads sample the live counter byte by byte. */
	v = ch_encode(c, ch_counter(c, now));
	switch (c->read_state) {
	case PIT_ACC_WORD_LSB:
		c->read_state = PIT_ACC_WORD_MSB;
		return (uint8_t)v;
	case PIT_ACC_WORD_MSB:
		c->read_state = PIT_ACC_WORD_LSB;
		return (uint8_t)(v >> 8);
	case PIT_ACC_MSB:
		return (uint8_t)(v >> 8);
	default:
		return (uint8_t)v;
	}
}

uint8_t pit_read(struct pit *p, unsigned offset, uint64_t now)
{
	uint8_t v;

	offset &= 3;
	if (offset == PIT_CONTROL)
		return 0xff;  /* the 8254 does not drive the bus here */
	pit_sync(p, now);
	v = pit_read_counter(&p->st.ch[offset], now);
	pit_update_irq(p, now);
	return v;
}

void pit_write(struct pit *p, unsigned offset, uint8_t val, uint64_t now)
{
	offset &= 3;
	pit_sync(p, now);
	if (offset == PIT_CONTROL)
		pit_write_control(p, val, now);
	else
		pit_write_counter(p, offset, val, now);
	pit_update_irq(p, now);
}

uint8_t pit_speaker_read(struct pit *p, uint64_t now)
{
	uint8_t v = p->st.ch[2].gate ? PIT_SPK_GATE2 : 0;

	if (p->st.speaker_data)
		v |= PIT_SPK_DATA;
	if ((now / REFRESH_NS) & 1)
		v |= PIT_SPK_REFRESH;
	if (ch_out(&p->st.ch[2], now))
		v |= PIT_SPK_OUT2;
	return v;
}

void pit_speaker_write(struct pit *p, uint8_t val, uint64_t now)
{
	pit_sync(p, now);
	p->st.speaker_data = val & PIT_SPK_DATA ? 1 : 0;
	ch_set_gate(&p->st.ch[2], val & PIT_SPK_GATE2, now);
	pit_update_irq(p, now);
}

void pit_update(struct pit *p, uint64_t now)
{
	pit_update_irq(p, now);
}

uint64_t pit_next_event_ns(const struct pit *p, uint64_t now)
{
	return ch_next_change(&p->st.ch[0], irq_walk_start(p, now));
}

/* Make st the live state at now: the one path for init, reset and restore. */
static void pit_commit(struct pit *p, const struct pit_state *st, uint64_t now)
{
	p->st = *st;
	p->irq_time = now;
	p->irq_level = -1;
	pit_update_irq(p, now);
}

void pit_reset(struct pit *p, uint64_t now)
{
	struct pit_state d;
	unsigned i;

	memset(&d, 0, sizeof d);
	for (i = 0; i < PIT_CHANNELS; i++) {
		struct pit_channel *c = &d.ch[i];

		c->mode = 3;
		c->rw_mode = PIT_RW_LSB_MSB;
		c->read_state = c->write_state = PIT_ACC_WORD_LSB;
		c->count = 0x10000;
		c->gate = i != 2;
		ch_start(c, now);
		if (!c->gate)
			c->ce_state = PIT_CE_HELD;
	}
	pit_commit(p, &d, now);
}

void pit_init(struct pit *p, pit_irq_fn set_irq, pit_clock_fn clock, void *opaque,
	      uint64_t now)
{
	memset(p, 0, sizeof *p);
	p->set_irq = set_irq;
	p->now = clock;
	p->opaque = opaque;
	pit_reset(p, now);
}

/* ---- Load validation ----------------------------------------------------- */

static bool acc_valid(uint8_t state, uint8_t rw)
{
	if (rw == PIT_RW_LSB_MSB)
		return state == PIT_ACC_WORD_LSB || state == PIT_ACC_WORD_MSB;
	return state == rw;
}

/* saved_now: virtual time of the save, which no load time may exceed. */
static bool ch_check(const struct pit_channel *c, unsigned i, uint64_t saved_now,
		     char *why, size_t len)
{
	unsigned m = ch_mode(c);

#define BAD(...) do { int n_ = snprintf(why, len, "ch[%u].", i); \
	snprintf(why + n_, len - (size_t)n_, __VA_ARGS__); return false; } while (0)
	if (c->mode > 7)
		BAD("mode %u out of range (max 7)", c->mode);
	if (c->rw_mode < PIT_RW_LSB || c->rw_mode > PIT_RW_LSB_MSB)
		BAD("rw_mode %u out of range (1..3)", c->rw_mode);
	if (!acc_valid(c->read_state, c->rw_mode))
		BAD("read_state %u invalid for rw_mode %u", c->read_state, c->rw_mode);
	if (!acc_valid(c->write_state, c->rw_mode))
		BAD("write_state %u invalid for rw_mode %u", c->write_state, c->rw_mode);
	if (c->count_latched && !acc_valid(c->count_latched, c->rw_mode))
		BAD("count_latched %u invalid for rw_mode %u", c->count_latched, c->rw_mode);
	if (c->count < 1 || c->count > 0x10000)
		BAD("count %u out of range (1..65536)", c->count);
	if (c->bcd > 1)
		BAD("bcd %u not a flag", c->bcd);
	if (c->gate > 1 || (i != 2 && !c->gate))
		BAD("gate %u invalid", c->gate);
	if (c->null_count > 1)
		BAD("null_count %u not a flag", c->null_count);
	if (c->status_latched > 1)
		BAD("status_latched %u not a flag", c->status_latched);
	if (c->ce_state > PIT_CE_HELD)
		BAD("ce_state %u out of range (max %u)", c->ce_state, PIT_CE_HELD);
	if (c->ce_state == PIT_CE_WAIT_GATE && m != 1 && m != 5)
		BAD("ce_state WAIT_GATE in mode %u", c->mode);
	if (c->ce_state == PIT_CE_HELD && (m == 1 || m == 5 || c->gate))
		BAD("ce_state HELD in mode %u with gate %u", c->mode, c->gate);
	if (c->ce_state == PIT_CE_RUNNING && m != 1 && m != 5 && !c->gate)
		BAD("ce_state RUNNING in mode %u with gate low", c->mode);
	if (c->base_ticks >= PIT_MAX_BASE)
		BAD("base_ticks %llu out of range", (unsigned long long)c->base_ticks);
	/* Every channel's load time is a moment before the save (a control
	 * word sets it even while idle), so none may lie after it. */
	if (c->count_load_time > saved_now)
		BAD("count_load_time %llu after the save time %llu",
		    (unsigned long long)c->count_load_time, (unsigned long long)saved_now);
#undef BAD
	return true;
}

/* Move running counters from the saved clock to the loading one, keeping
 * their phase: they continue exactly where they were when saved. */
static void pit_rebase(struct pit_state *st, uint64_t saved_now, uint64_t now)
{
	unsigned i;

	for (i = 0; i < PIT_CHANNELS; i++) {
		struct pit_channel *c = &st->ch[i];
		uint64_t since;

		since = saved_now - c->count_load_time;  /* validated >= 0 */
		if (c->ce_state != PIT_CE_RUNNING) {
			/* Unused until the channel starts, but kept no later
			 * than the new clock so the next save loads again. */
			c->count_load_time = since <= now ? now - since : now;
			continue;
		}
		if (since <= now) {
			c->count_load_time = now - since;
		} else {
			/* The new clock started later than this count: fold
			 * the elapsed ticks in (loses < 1 tick of phase). */
			c->base_ticks = ch_reduce(c, ch_elapsed(c, saved_now));
			c->count_load_time = now;
		}
	}
}

/* ---- Saved state --------------------------------------------------------- */

#define PIT_CH_FIELDS(i) \
	SSM_FIELD(struct pit_state, ch[i].count_load_time), \
	SSM_FIELD(struct pit_state, ch[i].base_ticks), \
	SSM_FIELD(struct pit_state, ch[i].count), \
	SSM_FIELD(struct pit_state, ch[i].latched_count), \
	SSM_FIELD(struct pit_state, ch[i].count_latched), \
	SSM_FIELD(struct pit_state, ch[i].status_latched), \
	SSM_FIELD(struct pit_state, ch[i].status), \
	SSM_FIELD(struct pit_state, ch[i].read_state), \
	SSM_FIELD(struct pit_state, ch[i].write_state), \
	SSM_FIELD(struct pit_state, ch[i].write_lsb), \
	SSM_FIELD(struct pit_state, ch[i].rw_mode), \
	SSM_FIELD(struct pit_state, ch[i].mode), \
	SSM_FIELD(struct pit_state, ch[i].bcd), \
	SSM_FIELD(struct pit_state, ch[i].gate), \
	SSM_FIELD(struct pit_state, ch[i].null_count), \
	SSM_FIELD(struct pit_state, ch[i].ce_state), \
	SSM_FIELD_IGNORE(struct pit_state, ch[i].reserved)

const ssm_field pit_fields[] = {
	PIT_CH_FIELDS(0),
	PIT_CH_FIELDS(1),
	PIT_CH_FIELDS(2),
	SSM_FIELD(struct pit_state, speaker_data),
	SSM_FIELD_IGNORE(struct pit_state, reserved),
	SSM_FIELD_TERM()
};

/* The reserved bytes must be exactly the padding, or FULL coverage fails. */
_Static_assert(sizeof(struct pit_channel) == 40, "pit_channel changed: update PIT_CH_FIELDS");
_Static_assert(sizeof(struct pit_state) == 3 * 40 + 8, "pit_state changed: update pit_fields");

/* Live save: the model identity.
 *
 * Record of every live pass (pass != SSM_PASS_FINAL; written in pass 0 only,
 * as the unit then votes SSM_VOTE_DONE_DONT_CALL_AGAIN), all little-endian:
 *
 *   str  model     PIT_SSM_MODEL "8254" (u32 length + bytes, no NUL)
 *   u32  version   PIT_SSM_VERSION, the layout of the final record
 *   u32  channels  PIT_CHANNELS (3)
 *   u32  clock_hz  PIT_FREQ_HZ (1193182, the input clock)
 *
 * No guest state: the guest keeps running after it is sent.  The
 * destination compares each value with its own and refuses the stream with
 * SSM_ERR_LOAD_VALUE on the first difference, before the final record (and,
 * for units saved after this one, anything else) is read.  The final pass
 * (SSM_PASS_FINAL) record is pit_fields and the u64 clock, the same as in a
 * non-live save.
 *
 * A non-live save has no identity record.  Builds from before this record
 * existed refuse a live stream at it ("unexpected live pass 0"). */

static const struct dev_id_param pit_id_params[] = {
	{ "version", PIT_SSM_VERSION, PIT_SSM_VERSION_MIN },
	{ "channels", PIT_CHANNELS },
	{ "clock_hz", PIT_FREQ_HZ },
};

static const struct dev_identity pit_identity = {
	.unit = "pit",
	.model = PIT_SSM_MODEL,
	.article = "an",
	.params = pit_id_params,
	.nparams = sizeof pit_id_params / sizeof pit_id_params[0],
};

static int pit_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)ctx;
	(void)pass;
	return dev_identity_put(&pit_identity, h);
}

static int pit_save_exec(void *ctx, ssm_handle *h)
{
	struct pit *p = ctx;
	int rc;

	rc = ssm_put_struct(h, &p->st, sizeof p->st, SSM_STRUCT_FULL, pit_fields, NULL);
	if (rc != SSM_OK)
		return rc;
	/* The clock the load times refer to, so a restore can rebase them. */
	return ssm_put_u64(h, p->now(p->opaque));
}

static int pit_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct pit *p = ctx;
	struct pit_state tmp;
	uint64_t saved_now, now;
	char why[128];
	unsigned i;
	int rc;

	rc = ssm_check_unit_version(h, "pit", version, PIT_SSM_VERSION_MIN, PIT_SSM_VERSION);
	if (rc != SSM_OK)
		return rc;
	if (pass != SSM_PASS_FINAL)
		return dev_identity_check(&pit_identity, h);
	memset(&tmp, 0, sizeof tmp);
	rc = ssm_get_struct(h, &tmp, sizeof tmp, SSM_STRUCT_FULL, pit_fields, NULL);
	if (rc == SSM_OK)
		rc = ssm_get_u64(h, &saved_now);
	if (rc != SSM_OK)
		return rc;
	/* Virtual time is signed nanoseconds to the VMM's clock. */
	if (saved_now > INT64_MAX)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE,
					  "pit: saved_now %llu out of range (max 2^63-1)",
					  (unsigned long long)saved_now);
	for (i = 0; i < PIT_CHANNELS; i++)
		if (!ch_check(&tmp.ch[i], i, saved_now, why, sizeof why))
			return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "pit: %s", why);
	if (tmp.speaker_data > 1)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE,
					  "pit: speaker_data %u not a flag", tmp.speaker_data);
	now = p->now(p->opaque);
	pit_rebase(&tmp, saved_now, now);
	pit_commit(p, &tmp, now);
	return SSM_OK;
}

/* Drive IRQ 0 again once the PIC is surely restored. */
static int pit_load_done(void *ctx, ssm_handle *h)
{
	struct pit *p = ctx;

	(void)h;
	p->irq_level = -1;
	pit_update_irq(p, p->now(p->opaque));
	return SSM_OK;
}

int pit_ssm_register(struct pit *p, ssm *reg, uint32_t instance)
{
	static const ssm_callbacks cb = {
		.live_exec = pit_live_exec,
		.live_vote = dev_identity_vote,
		.save_exec = pit_save_exec,
		.load_exec = pit_load_exec,
		.load_done = pit_load_done,
	};

	if (!p->now)
		return SSM_ERR_INVALID_ARG;
	return ssm_register_device(reg, p, "pit", instance, PIT_SSM_VERSION,
				   sizeof p->st, NULL, 0, &cb);
}
