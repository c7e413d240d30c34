/* test_pit.c - 8254 model against datasheet behaviour with explicit virtual
 * times, plus its saved state: round trip through libssm (including a clock
 * with another origin) and refusal of corrupted states. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pit.h"
#include "ssm/ssm.h"
#include "tests/unit/devlive.h"

/* ---- Harness --------------------------------------------------------------- */

#define MAX_EDGES 4096

struct host {
	uint64_t clock;         /* what the SSM clock callback returns */
	uint64_t now;           /* time of the call in progress, for edge stamps */
	int irq;                /* level last driven, -1 never */
	unsigned edges;         /* rising edges seen */
	uint64_t edge_at[MAX_EDGES];
};

static void host_irq(void *opaque, int level)
{
	struct host *h = opaque;

	if (level && h->irq == 0) {
		if (h->edges < MAX_EDGES)
			h->edge_at[h->edges] = h->now;
		h->edges++;
	}
	h->irq = level;
}

static uint64_t host_clock(void *opaque)
{
	return ((struct host *)opaque)->clock;
}

static struct host hst;
static struct pit pit;

static void setup(void)
{
	memset(&hst, 0, sizeof hst);
	hst.irq = -1;
	pit_init(&pit, host_irq, host_clock, &hst, 0);
}

TestSuite(pit, .init = setup);

/* First virtual ns at which `ticks` PIT clocks have elapsed. */
static uint64_t ns_for(uint64_t ticks)
{
	uint64_t q = ticks / PIT_FREQ_HZ, r = ticks % PIT_FREQ_HZ;

	return q * 1000000000ull + (r * 1000000000ull + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ;
}

static void wr(unsigned off, uint8_t v, uint64_t t)
{
	hst.now = t;
	pit_write(&pit, off, v, t);
}

static uint8_t rd(unsigned off, uint64_t t)
{
	hst.now = t;
	return pit_read(&pit, off, t);
}

static void update(uint64_t t)
{
	hst.now = t;
	pit_update(&pit, t);
}

static void cw(unsigned ch, unsigned rw, unsigned mode, bool bcd, uint64_t t)
{
	wr(PIT_CONTROL, (uint8_t)(ch << 6 | rw << 4 | mode << 1 | bcd), t);
}

/* Mode set plus LSB/MSB count, all at time t. */
static void prog(unsigned ch, unsigned mode, uint16_t count, uint64_t t)
{
	cw(ch, PIT_RW_LSB_MSB, mode, false, t);
	wr(ch, (uint8_t)count, t);
	wr(ch, (uint8_t)(count >> 8), t);
}

static uint16_t latch(unsigned ch, uint64_t t)
{
	uint16_t lo, hi;

	wr(PIT_CONTROL, (uint8_t)(ch << 6), t);
	lo = rd(ch, t);
	hi = rd(ch, t);
	return (uint16_t)(lo | hi << 8);
}

static uint8_t status(unsigned ch, uint64_t t)
{
	wr(PIT_CONTROL, (uint8_t)(0xc0 | PIT_RB_COUNT_N | PIT_RB_CNT(ch)), t);
	return rd(ch, t);
}

static int out(unsigned ch, uint64_t t)
{
	return (status(ch, t) & PIT_STATUS_OUTPUT) != 0;
}

static void speaker(uint8_t v, uint64_t t)
{
	hst.now = t;
	pit_speaker_write(&pit, v, t);
}

/* Host loop: call pit_update whenever pit_next_event_ns says, up to end. */
static void run_until(uint64_t end)
{
	uint64_t t;

	while ((t = pit_next_event_ns(&pit, hst.now)) <= end) {
		if (t < hst.now)
			t = hst.now;
		update(t);
	}
	update(end);
}

/* ---- Modes ------------------------------------------------------------------- */

Test(pit, mode0_interrupt_on_terminal_count)
{
	const uint64_t t0 = 5000;

	prog(0, 0, 100, t0);
	cr_assert_eq(hst.irq, 0, "mode 0 starts low");
	cr_assert_eq(pit_next_event_ns(&pit, t0), t0 + ns_for(100));
	update(t0 + ns_for(100) - 1);
	cr_assert_eq(hst.irq, 0);
	cr_assert_eq(latch(0, t0 + ns_for(99)), 1);
	update(t0 + ns_for(100));
	cr_assert_eq(hst.irq, 1, "OUT rises at terminal count");
	cr_assert_eq(hst.edges, 1);
	cr_assert_eq(pit_next_event_ns(&pit, t0 + ns_for(100)), UINT64_MAX);
	cr_assert_eq(latch(0, t0 + ns_for(105)), 0xfffb, "counter wraps and keeps counting");
	update(t0 + ns_for(70000));
	cr_assert_eq(hst.irq, 1, "stays high after wrap");
	prog(0, 0, 10, t0 + ns_for(70000));
	cr_assert_eq(hst.irq, 0, "a new count drops OUT");
}

Test(pit, mode0_lohi_needs_both_bytes)
{
	cw(0, PIT_RW_LSB_MSB, 0, false, 0);
	wr(0, 0x10, 0);
	update(ns_for(0x100));
	cr_assert_eq(hst.irq, 0, "no count loaded after the LSB alone");
	cr_assert_eq(pit_next_event_ns(&pit, ns_for(0x100)), UINT64_MAX);
	wr(0, 0x00, ns_for(0x100));
	cr_assert_eq(pit_next_event_ns(&pit, ns_for(0x100)), ns_for(0x100) + ns_for(0x10));
}

Test(pit, mode2_rate_generator)
{
	prog(0, 2, 1000, 0);
	cr_assert_eq(hst.irq, 1, "mode 2 starts high");
	cr_assert_eq(pit_next_event_ns(&pit, 0), ns_for(999), "low in the last tick");
	update(ns_for(999));
	cr_assert_eq(hst.irq, 0);
	cr_assert_eq(latch(0, ns_for(999)), 1);
	cr_assert_eq(pit_next_event_ns(&pit, ns_for(999)), ns_for(1000));
	update(ns_for(1000));
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(latch(0, ns_for(1000)), 1000, "reloaded");
	run_until(ns_for(5000));
	cr_assert_eq(hst.edges, 5);
	cr_assert_eq(hst.edge_at[4], ns_for(5000));
	cr_assert_eq(latch(0, ns_for(5250)), 750);
}

Test(pit, mode3_square_wave_even_and_odd)
{
	uint64_t t;
	unsigned k, high;

	prog(0, 3, 10, 0);
	for (k = 0, high = 0; k < 10; k++)
		high += (unsigned)out(0, ns_for(k));
	cr_assert_eq(high, 5, "even count: half high");
	cr_assert_eq(out(0, ns_for(4)), 1);
	cr_assert_eq(out(0, ns_for(5)), 0);
	cr_assert_eq(out(0, ns_for(10)), 1);
	cr_assert_eq(latch(0, ns_for(1)), 8, "counts down by two");
	t = ns_for(20);
	prog(0, 3, 9, t);
	for (k = 0, high = 0; k < 9; k++)
		high += (unsigned)out(0, t + ns_for(k));
	cr_assert_eq(high, 5, "odd count: (N+1)/2 high");
	cr_assert_eq(out(0, t + ns_for(4)), 1);
	cr_assert_eq(out(0, t + ns_for(5)), 0);
}

Test(pit, mode4_software_strobe)
{
	prog(0, 4, 50, 0);
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(out(0, ns_for(49)), 1);
	cr_assert_eq(out(0, ns_for(50)), 0, "one-tick strobe at terminal count");
	cr_assert_eq(out(0, ns_for(51)), 1);
	run_until(ns_for(1000));
	cr_assert_eq(hst.edges, 1);
	cr_assert_eq(hst.edge_at[0], ns_for(51));
	cr_assert_eq(pit_next_event_ns(&pit, ns_for(1000)), UINT64_MAX);
}

Test(pit, mode1_gate_triggered_one_shot)
{
	uint64_t t1 = 777777;

	prog(2, 1, 100, 0);
	cr_assert(pit_speaker_read(&pit, 10) & PIT_SPK_OUT2, "OUT2 high until triggered");
	cr_assert(out(2, ns_for(500)));
	speaker(PIT_SPK_GATE2, t1);
	cr_assert_eq(out(2, t1), 0, "trigger drops OUT");
	cr_assert_eq(out(2, t1 + ns_for(99)), 0);
	cr_assert_eq(out(2, t1 + ns_for(100)), 1);
	/* Retrigger mid-count restarts the full count. */
	speaker(0, t1 + ns_for(200));
	speaker(PIT_SPK_GATE2, t1 + ns_for(200));
	speaker(0, t1 + ns_for(250));
	cr_assert_eq(out(2, t1 + ns_for(250)), 0, "gate low does not stop mode 1");
	speaker(PIT_SPK_GATE2, t1 + ns_for(250));
	cr_assert_eq(out(2, t1 + ns_for(250) + ns_for(99)), 0, "retriggered at 250");
	cr_assert_eq(out(2, t1 + ns_for(250) + ns_for(100)), 1);
}

Test(pit, mode5_gate_triggered_strobe)
{
	prog(2, 5, 20, 0);
	cr_assert(out(2, ns_for(100)));
	speaker(PIT_SPK_GATE2, ns_for(100));
	cr_assert_eq(out(2, ns_for(100) + ns_for(19)), 1);
	cr_assert_eq(out(2, ns_for(100) + ns_for(20)), 0);
	cr_assert_eq(out(2, ns_for(100) + ns_for(21)), 1);
}

Test(pit, gate_holds_mode0_and_reloads_mode3)
{
	speaker(PIT_SPK_GATE2, 0);
	prog(2, 0, 1000, 0);
	speaker(0, ns_for(300));
	cr_assert_eq(latch(2, ns_for(5000)), 700, "gate low suspends counting");
	cr_assert_eq(out(2, ns_for(5000)), 0);
	speaker(PIT_SPK_GATE2, ns_for(6000));
	cr_assert_eq(out(2, ns_for(6000) + ns_for(699)), 0);
	cr_assert_eq(out(2, ns_for(6000) + ns_for(700)), 1, "resumes where it stopped");

	prog(2, 3, 100, ns_for(10000));
	speaker(0, ns_for(10060));
	cr_assert_eq(out(2, ns_for(10060)), 1, "gate low forces OUT high in mode 3");
	cr_assert_eq(latch(2, ns_for(10500)), latch(2, ns_for(10060)), "and stops it");
	speaker(PIT_SPK_GATE2, ns_for(11000));
	cr_assert_eq(latch(2, ns_for(11000)), 100, "rising gate reloads");
	cr_assert_eq(out(2, ns_for(11000) + ns_for(49)), 1);
	cr_assert_eq(out(2, ns_for(11000) + ns_for(50)), 0);
}

Test(pit, channel2_waits_for_gate_at_reset)
{
	prog(2, 2, 10, 0);
	cr_assert_eq(latch(2, ns_for(1000)), 10, "gate 2 is low after reset");
	speaker(PIT_SPK_GATE2, ns_for(1000));
	cr_assert_eq(latch(2, ns_for(1000) + ns_for(3)), 7);
}

/* ---- Access ------------------------------------------------------------------ */

Test(pit, bcd_counting)
{
	cw(0, PIT_RW_LSB_MSB, 2, true, 0);
	wr(0, 0x34, 0);
	wr(0, 0x12, 0);
	cr_assert_eq(latch(0, 0), 0x1234);
	cr_assert_eq(latch(0, ns_for(34)), 0x1200, "digits, not binary");
	cr_assert_eq(latch(0, ns_for(35)), 0x1199);
	cr_assert_eq(status(0, 0) & PIT_CW_BCD, 1);
	cw(0, PIT_RW_LSB_MSB, 2, true, ns_for(100));
	wr(0, 0, ns_for(100));
	wr(0, 0, ns_for(100));
	cr_assert_eq(pit_next_event_ns(&pit, ns_for(100)), ns_for(100) + ns_for(9999),
		     "BCD count 0 means 10000");
}

Test(pit, lsb_and_msb_only_access)
{
	cw(0, PIT_RW_LSB, 2, false, 0);
	wr(0, 200, 0);
	cr_assert_eq(latch(0, ns_for(50)) & 0xff, 150);
	cr_assert_eq(rd(0, ns_for(60)), 140, "LSB mode: every read is the LSB");
	cr_assert_eq(rd(0, ns_for(60)), 140);
	cw(1, PIT_RW_MSB, 2, false, 0);
	wr(1, 0x12, 0);
	cr_assert_eq(rd(1, ns_for(0x100)), 0x11, "MSB mode: count 0x1200");
	cr_assert_eq(status(1, 0) & 0x3e, PIT_RW_MSB << 4 | 2 << 1);
}

Test(pit, counter_latch_freezes_value)
{
	prog(0, 2, 1000, 0);
	wr(PIT_CONTROL, 0x00, ns_for(100));
	wr(PIT_CONTROL, 0x00, ns_for(300));    /* ignored: already latched */
	cr_assert_eq(rd(0, ns_for(500)), (900 & 0xff));
	wr(PIT_CONTROL, 0x00, ns_for(600));    /* still ignored: MSB unread */
	cr_assert_eq(rd(0, ns_for(700)), 900 >> 8);
	/* Unlatched reads: LSB then MSB of the live count. */
	cr_assert_eq(rd(0, ns_for(800)), 200);
	cr_assert_eq(rd(0, ns_for(800)), 0);
	cr_assert_eq(latch(0, ns_for(800)), 200);
}

Test(pit, readback_status_and_count)
{
	cw(1, PIT_RW_LSB_MSB, 4, false, 0);
	cr_assert_eq(status(1, 0), PIT_STATUS_OUTPUT | PIT_STATUS_NULL | 0x30 | 4 << 1,
		     "after the control word: null count, OUT high in mode 4");
	wr(1, 100, 0);
	wr(1, 0, 0);
	cr_assert(status(1, 0) & PIT_STATUS_NULL, "count not yet in the CE");
	cr_assert_eq(status(1, ns_for(1)) & PIT_STATUS_NULL, 0);
	prog(0, 2, 500, 0);
	/* Latch both, on counters 0 and 1: status first, then LSB, MSB. */
	wr(PIT_CONTROL, 0xc0 | PIT_RB_CNT(0) | PIT_RB_CNT(1), ns_for(40));
	cr_assert_eq(rd(0, ns_for(90)), 0x30 | 2 << 1 | PIT_STATUS_OUTPUT);
	cr_assert_eq(rd(0, ns_for(90)), 460 & 0xff);
	cr_assert_eq(rd(0, ns_for(90)), 460 >> 8);
	cr_assert_eq(rd(1, ns_for(90)), 0x30 | 4 << 1 | PIT_STATUS_OUTPUT);
	cr_assert_eq(rd(1, ns_for(90)), 60);
	cr_assert_eq(rd(1, ns_for(90)), 0);
	cr_assert_eq(rd(1, ns_for(90)), 10, "latches consumed: live again");
}

Test(pit, mode_6_and_7_alias_2_and_3)
{
	cw(0, PIT_RW_LSB_MSB, 6, false, 0);
	wr(0, 10, 0);
	wr(0, 0, 0);
	cr_assert_eq(status(0, 0) & 0x0e, 6 << 1, "status keeps the mode as written");
	cr_assert_eq(out(0, ns_for(9)), 0, "but it runs as mode 2");
	cr_assert_eq(out(0, ns_for(10)), 1);
}

Test(pit, port61)
{
	uint8_t seen = 0;
	uint64_t t;

	cr_assert_eq(pit_speaker_read(&pit, 0) & (PIT_SPK_GATE2 | PIT_SPK_DATA), 0);
	speaker(PIT_SPK_GATE2 | PIT_SPK_DATA | 0x0c, 0);
	cr_assert_eq(pit_speaker_read(&pit, 0) & 0x0f, PIT_SPK_GATE2 | PIT_SPK_DATA);
	for (t = 0; t < 100000; t += 5000)
		seen |= (uint8_t)(1u << ((pit_speaker_read(&pit, t) & PIT_SPK_REFRESH) != 0));
	cr_assert_eq(seen, 3, "refresh bit toggles");
	prog(2, 3, 100, 0);
	cr_assert(pit_speaker_read(&pit, ns_for(10)) & PIT_SPK_OUT2);
	cr_assert_eq(pit_speaker_read(&pit, ns_for(60)) & PIT_SPK_OUT2, 0);
	cr_assert_eq(hst.edges, 0, "counter 2 never touches IRQ 0");
}

/* ---- IRQ 0 ------------------------------------------------------------------- */

static void check_1khz(unsigned mode)
{
	unsigned k;

	prog(0, mode, 1193, 0);
	run_until(1000000000ull);
	cr_assert_eq(hst.edges, 1000, "mode %u: %u edges in 1 s", mode, hst.edges);
	for (k = 0; k < hst.edges; k++)
		cr_assert_eq(hst.edge_at[k], ns_for(1193ull * (k + 1)), "edge %u", k);
	cr_assert(hst.edge_at[1] - hst.edge_at[0] >= 999846 &&
		  hst.edge_at[1] - hst.edge_at[0] <= 999848);
}

Test(pit, irq0_1khz_mode2) { check_1khz(2); }
Test(pit, irq0_1khz_mode3) { check_1khz(3); }

Test(pit, late_host_catches_up_one_edge_per_update)
{
	const uint64_t late = ns_for(1193 * 10) + 500000;
	unsigned calls = 0;

	prog(0, 2, 1193, 0);
	hst.now = late;
	while (pit_next_event_ns(&pit, late) <= late) {
		unsigned before = hst.edges;

		update(late);
		cr_assert_eq(hst.edges, before + 1, "exactly one edge per call");
		cr_assert_lt(++calls, 100);
	}
	cr_assert_eq(hst.edges, 10);
	cr_assert_eq(pit_next_event_ns(&pit, late), ns_for(1193 * 11 - 1));
}

Test(pit, stalled_host_drops_edges_beyond_lag_limit)
{
	const uint64_t late = 3000000000ull;

	prog(0, 2, 1193, 0);
	hst.now = late;
	while (pit_next_event_ns(&pit, late) <= late)
		update(late);
	cr_assert_geq(hst.edges, 99);
	cr_assert_leq(hst.edges, 101, "%u edges: lag limit is 100 ms", hst.edges);
}

Test(pit, end_of_time_terminates, .timeout = 5)
{
	unsigned i;

	prog(0, 2, 1000, 0);
	for (i = 0; i < 3; i++)
		update(UINT64_MAX - i);
	(void)pit_next_event_ns(&pit, UINT64_MAX);
	(void)latch(0, UINT64_MAX);
}

Test(pit, reprogramming_counter0_resets_schedule)
{
	prog(0, 2, 1000, 0);
	run_until(ns_for(2500));
	cr_assert_eq(hst.edges, 2);
	prog(0, 2, 300, ns_for(2500));
	cr_assert_eq(pit_next_event_ns(&pit, ns_for(2500)), ns_for(2500) + ns_for(299));
	run_until(ns_for(2500 + 3000));
	cr_assert_eq(hst.edges, 12);
}

Test(pit, reset_state_is_bios_like)
{
	cr_assert_eq(status(0, 0) & 0x3f, 0x30 | 3 << 1);
	cr_assert_eq(hst.irq, 1);
	cr_assert_eq(pit_next_event_ns(&pit, 0), ns_for(32768), "mode 3, count 65536");
	cr_assert_eq(pit_speaker_read(&pit, 0) & PIT_SPK_GATE2, 0);
	cr_assert_eq(pit_read(&pit, PIT_CONTROL, 0), 0xff);
}

/* ---- Saved state ------------------------------------------------------------ */

/* How the saved-state helpers (devlive.h) register a pit. */
static int reg_pit(ssm *reg, void *dev)
{
	return pit_ssm_register(dev, reg, 0);
}

/* Save the global pit at hst.clock, load into dst (whose host clock is set by
 * the caller); returns the load status. */
static int round_trip(struct pit *dst, ssm **out_reg)
{
	return dev_round_trip(reg_pit, &pit, dst, out_reg);
}

/* A state with something in every corner: running, held, latched, half-read. */
static uint64_t busy_state(void)
{
	const uint64_t t = 5300000;   /* 5.3 ms */

	prog(0, 2, 1193, 0);
	run_until(t);
	cw(1, PIT_RW_LSB_MSB, 0, false, 1000);
	wr(1, 0x00, 1000);
	wr(1, 0x80, 1000);
	wr(PIT_CONTROL, 0xc0 | PIT_RB_CNT(1), t - 100);   /* status + count */
	(void)rd(1, t - 50);                               /* status read */
	(void)rd(1, t - 50);                               /* LSB read, MSB pending */
	speaker(PIT_SPK_GATE2 | PIT_SPK_DATA, 0);
	prog(2, 0, 40000, 0);
	speaker(PIT_SPK_DATA, ns_for(1234));               /* held */
	return t;
}

static void expect_same_future(struct pit *dst, struct host *h2, uint64_t src_t, uint64_t dst_t)
{
	uint64_t d;

	for (d = 0; d < 20000000; d += 3333333) {
		cr_assert_eq(pit_read(dst, 2, dst_t + d), pit_read(&pit, 2, src_t + d));
		cr_assert_eq(pit_read(dst, 2, dst_t + d), pit_read(&pit, 2, src_t + d));
		cr_assert_eq(pit_speaker_read(dst, dst_t + d) & 0x23,
			     pit_speaker_read(&pit, src_t + d) & 0x23);
	}
	(void)h2;
}

Test(pit, ssm_round_trip_same_clock)
{
	struct host h2 = { .irq = -1 };
	struct pit dst;
	uint64_t t = busy_state(), next;
	ssm *reg;
	unsigned k;

	hst.clock = t;
	h2.clock = t;
	pit_init(&dst, host_irq, host_clock, &h2, t);
	cr_assert_eq(round_trip(&dst, &reg), SSM_OK, "%s", ssm_last_error(reg));
	/* Counter 0: same next event; the edges continue on schedule. */
	next = pit_next_event_ns(&pit, t);
	cr_assert_eq(pit_next_event_ns(&dst, t), next);
	h2.now = t;
	for (k = 0; k < 5; k++) {
		uint64_t e;

		while ((e = pit_next_event_ns(&dst, h2.now)) != UINT64_MAX && h2.edges == k) {
			h2.now = e;
			pit_update(&dst, e);
		}
	}
	cr_assert_eq(h2.edges, 5, "%u edges", h2.edges);
	cr_assert_eq(h2.edge_at[0], ns_for(1193 * 6), "first edge after the save, on time");
	cr_assert_eq(h2.edge_at[4], ns_for(1193 * 10));
	/* Counter 1's half-read latch survives: the MSB is still owed. */
	cr_assert_eq(pit_read(&dst, 1, t + 999999),
		     (0x8000 - (t - 100 - 1000) * PIT_FREQ_HZ / 1000000000ull) >> 8);
	(void)pit_read(&pit, 1, t + 999999);
	cr_assert_eq(pit_read(&dst, 1, t + 999999), pit_read(&pit, 1, t + 999999),
		     "then the live LSB");
	cr_assert_eq(pit_speaker_read(&dst, t) & 0x03, PIT_SPK_DATA);
	expect_same_future(&dst, &h2, t, t);
	ssm_destroy(reg);
}

Test(pit, ssm_round_trip_other_clock_origin)
{
	struct host h2 = { .irq = -1 };
	struct pit dst;
	uint64_t t = busy_state();
	const uint64_t dt = 7000000000ull;  /* destination clock is 7 s later */
	ssm *reg;

	hst.clock = t;
	h2.clock = t + dt;
	pit_init(&dst, host_irq, host_clock, &h2, t + dt);
	cr_assert_eq(round_trip(&dst, &reg), SSM_OK, "%s", ssm_last_error(reg));
	cr_assert_eq(pit_next_event_ns(&dst, t + dt), pit_next_event_ns(&pit, t) + dt);
	expect_same_future(&dst, &h2, t, t + dt);
	wr(PIT_CONTROL, 0x00, t + 4242);
	pit_write(&dst, PIT_CONTROL, 0x00, t + dt + 4242);
	cr_assert_eq(pit_read(&dst, 0, t + dt + 4242), rd(0, t + 4242));
	cr_assert_eq(pit_read(&dst, 0, t + dt + 4242), rd(0, t + 4242));
	ssm_destroy(reg);
}

Test(pit, ssm_round_trip_clock_restarted_at_zero)
{
	struct host h2 = { .irq = -1 };
	struct pit dst;
	uint64_t t = busy_state();
	ssm *reg;
	unsigned lo, hi;
	int diff;

	hst.clock = t;
	h2.clock = 0;
	cw(1, PIT_RW_LSB_MSB, 0, false, t - 10);          /* idle, loaded at t - 10 */
	pit_init(&dst, host_irq, host_clock, &h2, 0);
	cr_assert_eq(round_trip(&dst, &reg), SSM_OK, "%s", ssm_last_error(reg));
	/* Idle and held channels too: the next save must load again. */
	for (unsigned i = 0; i < PIT_CHANNELS; i++)
		cr_assert_eq(dst.st.ch[i].count_load_time, 0, "ch[%u] load time after the clock", i);
	pit_write(&dst, PIT_CONTROL, 0x00, 100000);
	lo = pit_read(&dst, 0, 100000);
	hi = pit_read(&dst, 0, 100000);
	diff = (int)(lo | hi << 8) - (int)latch(0, t + 100000);
	cr_assert(diff >= -1 && diff <= 1, "counter 0 off by %d ticks", diff);
	pit_write(&dst, PIT_CONTROL, 0x80, 100000);
	cr_assert_eq(pit_read(&dst, 2, 100000), (uint8_t)(40000 - 1234));
	cr_assert_eq(pit_read(&dst, 2, 100000), (40000 - 1234) >> 8, "held counter exact");
	ssm_destroy(reg);
}

struct corruption {
	const char *field;
	void (*apply)(struct pit_state *st);
};

static void c_mode(struct pit_state *st) { st->ch[0].mode = 9; }
static void c_count(struct pit_state *st) { st->ch[1].count = 0; }
static void c_count_big(struct pit_state *st) { st->ch[1].count = 0x10001; }
static void c_rw(struct pit_state *st) { st->ch[2].rw_mode = 0; }
static void c_read_state(struct pit_state *st) { st->ch[0].read_state = PIT_ACC_LSB; }
static void c_write_state(struct pit_state *st) { st->ch[0].write_state = 7; }
static void c_latched(struct pit_state *st) { st->ch[1].count_latched = 9; }
static void c_ce(struct pit_state *st) { st->ch[2].ce_state = 7; }
static void c_wait(struct pit_state *st) { st->ch[0].ce_state = PIT_CE_WAIT_GATE; }
static void c_held(struct pit_state *st) { st->ch[0].ce_state = PIT_CE_HELD; }
static void c_base(struct pit_state *st) { st->ch[0].base_ticks = 1ull << 40; }
static void c_future(struct pit_state *st) { st->ch[0].count_load_time = 1ull << 62; }
/* An idle channel's load time is unused, but still a moment before the save. */
static void c_future_idle(struct pit_state *st)
{
	st->ch[1].ce_state = PIT_CE_IDLE;
	st->ch[1].count_load_time = UINT64_MAX;
}
static void c_gate(struct pit_state *st) { st->ch[0].gate = 0; }
static void c_bcd(struct pit_state *st) { st->ch[2].bcd = 3; }
static void c_null(struct pit_state *st) { st->ch[2].null_count = 2; }
static void c_speaker(struct pit_state *st) { st->speaker_data = 2; }

Test(pit, ssm_refuses_out_of_range_values)
{
	static const struct corruption cases[] = {
		{ "ch[0].mode", c_mode }, { "ch[1].count", c_count },
		{ "ch[1].count", c_count_big }, { "ch[2].rw_mode", c_rw },
		{ "ch[0].read_state", c_read_state }, { "ch[0].write_state", c_write_state },
		{ "ch[1].count_latched", c_latched }, { "ch[2].ce_state", c_ce },
		{ "ch[0].ce_state", c_wait }, { "ch[0].ce_state", c_held },
		{ "ch[0].base_ticks", c_base }, { "ch[0].count_load_time", c_future },
		{ "ch[1].count_load_time", c_future_idle },
		{ "ch[0].gate", c_gate }, { "ch[2].bcd", c_bcd },
		{ "ch[2].null_count", c_null }, { "speaker_data", c_speaker },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct host h2 = { .irq = -1, .clock = 1000000 };
		struct pit dst;
		ssm *reg;
		int rc;

		hst.clock = 1000000;
		pit_reset(&pit, 0);
		cases[i].apply(&pit.st);
		pit_init(&dst, host_irq, host_clock, &h2, 1000000);
		pit_write(&dst, PIT_CONTROL, 0x34, 1000000);
		pit_write(&dst, 0, 0x99, 1000000);
		pit_write(&dst, 0, 0x00, 1000000);
		rc = round_trip(&dst, &reg);
		cr_assert_eq(rc, SSM_ERR_LOAD_VALUE, "case %zu (%s): rc %d", i, cases[i].field, rc);
		cr_assert(strstr(ssm_last_error(reg), cases[i].field),
			  "message '%s' does not name %s", ssm_last_error(reg), cases[i].field);
		cr_assert(strstr(ssm_last_error(reg), "pit"));
		cr_assert_eq(pit_read(&dst, 0, 1000000), 0x99, "refused state was committed");
		ssm_destroy(reg);
	}
}

/* Virtual time is signed to the VMM: a save time past 2^63-1 is forged. */
Test(pit, ssm_refuses_save_time_past_int64)
{
	struct host h2 = { .irq = -1, .clock = 1000000 };
	struct pit dst;
	ssm *reg;
	int rc;

	pit_reset(&pit, 0);
	hst.clock = (uint64_t)INT64_MAX + 1;
	pit_init(&dst, host_irq, host_clock, &h2, 1000000);
	rc = round_trip(&dst, &reg);
	cr_assert_eq(rc, SSM_ERR_LOAD_VALUE, "rc %d", rc);
	cr_assert(strstr(ssm_last_error(reg), "pit: saved_now"), "%s", ssm_last_error(reg));
	ssm_destroy(reg);
}

Test(pit, ssm_refuses_newer_version)
{
	static const ssm_callbacks cb = { .save_exec = v2_save };
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
	void *buf;
	size_t len;
	int rc;

	cr_assert_eq(ssm_register_device(a, &pit, "pit", 0, PIT_SSM_VERSION + 1, 4,
					 NULL, 0, &cb), SSM_OK);
	cr_assert_eq(pit_ssm_register(&pit, b, 0), SSM_OK);
	cr_assert_eq(tu_save(a, NULL, false, &buf, &len), SSM_OK);
	rc = tu_load(b, buf, len, NULL);
	cr_assert_eq(rc, SSM_ERR_UNIT_VERSION, "rc %d: %s", rc, ssm_last_error(b));
	cr_assert(strstr(ssm_last_error(b), "version"));
	free(buf);
	ssm_destroy(a);
	ssm_destroy(b);
}

Test(pit, ssm_register_needs_clock)
{
	struct pit p;
	ssm *reg = ssm_create(NULL);

	pit_init(&p, NULL, NULL, NULL, 0);
	cr_assert_eq(pit_ssm_register(&p, reg, 0), SSM_ERR_INVALID_ARG);
	ssm_destroy(reg);
}

/* ---- Live save: model identity in pass 0 ------------------------------------- */


Test(pit, ssm_live_round_trip)
{
	static const ssm_callbacks pacer = { .live_exec = pacer_exec, .live_vote = pacer_vote };
	struct host h2 = { .irq = -1 };
	struct live_log slog = { .unit = "pit" }, dlog = { .unit = "pit" };
	struct pit dst;
	uint64_t t = busy_state();
	const uint64_t dt = 3000000000ull;  /* destination clock is 3 s later */
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
	void *buf;
	size_t len;
	int rc;

	cr_assert(a && b);
	hst.clock = t;
	h2.clock = t + dt;
	pit_init(&dst, host_irq, host_clock, &h2, t + dt);

	cr_assert_eq(pit_ssm_register(&pit, a, 0), SSM_OK);
	cr_assert_eq(ssm_register_external(a, "pacer", 0, 1, 4, NULL, SSM_UNIT_OPTIONAL,
					   &pacer, NULL), SSM_OK);
	ssm_set_trace(a, live_log_trace, &slog);
	live_save(a, &buf, &len);
	cr_assert_eq(slog.live_execs, 1, "identity sent once, not in every pass");
	cr_assert_eq(slog.live_votes, 1);

	cr_assert_eq(pit_ssm_register(&dst, b, 0), SSM_OK);
	rc = traced_load(b, buf, len, &dlog);
	cr_assert_eq(rc, SSM_OK, "load: %s", ssm_last_error(b));
	cr_assert_eq(dlog.loads, 2);
	cr_assert_eq(dlog.load_pass[0], 0, "identity first");
	cr_assert_eq(dlog.load_pass[1], SSM_PASS_FINAL);
	cr_assert_eq(pit_next_event_ns(&dst, t + dt), pit_next_event_ns(&pit, t) + dt);
	expect_same_future(&dst, &h2, t, t + dt);
	free(buf);
	ssm_destroy(a);
	ssm_destroy(b);
}

Test(pit, ssm_live_refuses_other_model_in_pass_0)
{
	static const ssm_callbacks cb = { .live_exec = fake_dev_live_exec,
					  .live_vote = fake_dev_live_vote,
					  .save_exec = fake_dev_save_exec };
	static const struct {
		const char *model;
		uint32_t version, channels, clock_hz;
		const char *field;      /* NULL: the identity matches */
	} cases[] = {
		{ PIT_SSM_MODEL, PIT_SSM_VERSION, PIT_CHANNELS, PIT_FREQ_HZ, NULL },
		{ "8253", PIT_SSM_VERSION, PIT_CHANNELS, PIT_FREQ_HZ, "model" },
		{ "HPET", PIT_SSM_VERSION, 32, 14318180, "model" },
		{ PIT_SSM_MODEL, PIT_SSM_VERSION, 6, PIT_FREQ_HZ, "channels" },
		{ PIT_SSM_MODEL, PIT_SSM_VERSION, PIT_CHANNELS, 1193180, "clock_hz" },
		{ PIT_SSM_MODEL, PIT_SSM_VERSION + 1, PIT_CHANNELS, PIT_FREQ_HZ, "version" },
	};
	const uint64_t t = 1000000;
	void *body = NULL;
	size_t body_len = 0, i;

	/* The state the final pass would carry: counter 0 at 0x1234 in mode 2. */
	hst.clock = t;
	prog(0, 2, 0x1234, t);
	final_body("pit", reg_pit, &pit, &body, &body_len);

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fake_dev f = { cases[i].model, cases[i].version,
				      { cases[i].channels, cases[i].clock_hz }, 2, body, body_len };
		struct host h2 = { .irq = -1, .clock = t };
		struct pit_state before;
		struct live_log l = { .unit = "pit" };
		struct pit dst;
		ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
		void *buf;
		size_t len;
		unsigned lo, hi;
		int rc;

		cr_assert(a && b);
		cr_assert_eq(ssm_register_external(a, "pit", 0, PIT_SSM_VERSION, 128, NULL, 0,
						   &cb, &f), SSM_OK);
		live_save(a, &buf, &len);
		pit_init(&dst, host_irq, host_clock, &h2, t);
		pit_write(&dst, PIT_CONTROL, 0x34, t);
		pit_write(&dst, 0, 0x99, t);
		pit_write(&dst, 0, 0x00, t);
		before = dst.st;
		cr_assert_eq(pit_ssm_register(&dst, b, 0), SSM_OK);
		rc = traced_load(b, buf, len, &l);
		if (!cases[i].field) {
			/* The documented layout, with this VM's values, is accepted. */
			cr_assert_eq(rc, SSM_OK, "%s", ssm_last_error(b));
			cr_assert_eq(l.loads, 2);
			cr_assert_eq(l.load_pass[1], SSM_PASS_FINAL);
			pit_write(&dst, PIT_CONTROL, 0x00, t + 1000);
			lo = pit_read(&dst, 0, t + 1000);
			hi = pit_read(&dst, 0, t + 1000);
			cr_assert_eq(lo | hi << 8, latch(0, t + 1000),
				     "counter 0 came from the final record");
		} else {
			cr_assert_eq(rc, SSM_ERR_LOAD_VALUE, "case %zu: rc %d: %s", i, rc,
				     ssm_last_error(b));
			cr_assert(strstr(ssm_last_error(b), "pit: "), "%s", ssm_last_error(b));
			cr_assert(strstr(ssm_last_error(b), cases[i].field),
				  "message '%s' does not name %s", ssm_last_error(b),
				  cases[i].field);
			cr_assert(strstr(ssm_last_error(b), "this VM has"), "%s",
				  ssm_last_error(b));
			cr_assert_eq(l.loads, 1, "refused in pass 0, final record never read");
			cr_assert_eq(memcmp(&dst.st, &before, sizeof before), 0,
				     "refused stream changed the device");
			cr_assert_eq(pit_read(&dst, 0, t), 0x99);
		}
		cr_assert_eq(l.load_pass[0], 0);
		free(buf);
		ssm_destroy(a);
		ssm_destroy(b);
	}
	free(body);
}

Test(pit, ssm_live_message_names_both_models)
{
	static const ssm_callbacks cb = { .live_exec = fake_dev_live_exec,
					  .live_vote = fake_dev_live_vote };
	struct fake_dev f = { "8253", PIT_SSM_VERSION, { PIT_CHANNELS, PIT_FREQ_HZ }, 2, NULL, 0 };
	struct pit dst;
	struct live_log l = { .unit = "pit" };
	ssm *a = ssm_create(NULL), *b = ssm_create(NULL);
	void *buf;
	size_t len;

	cr_assert(a && b);
	cr_assert_eq(ssm_register_external(a, "pit", 0, PIT_SSM_VERSION, 128, NULL, 0,
					   &cb, &f), SSM_OK);
	live_save(a, &buf, &len);
	pit_init(&dst, host_irq, host_clock, &hst, 0);
	cr_assert_eq(pit_ssm_register(&dst, b, 0), SSM_OK);
	cr_assert_eq(traced_load(b, buf, len, &l), SSM_ERR_LOAD_VALUE);
	cr_assert(strstr(ssm_last_error(b),
			 "pit: model mismatch: stream describes a 8253, this VM has an 8254"),
		  "%s", ssm_last_error(b));
	free(buf);
	ssm_destroy(a);
	ssm_destroy(b);
}
