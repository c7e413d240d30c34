/* pit.h - 8254 programmable interval timer and port 0x61 (pure state machine).
 *
 * Time: the core has no clock.  Every call takes the virtual time now (ns,
 * monotonic, any origin); the counters run at PIT_FREQ_HZ from the virtual
 * time each was loaded (count_load_time), so nothing ticks between calls.
 * The host calls pit_update() when pit_next_event_ns() says so; that is what
 * moves IRQ 0.
 *
 * IRQ 0 delivery: each call of pit_update() (or any write) delivers at most
 * one rising edge of OUT0, the earliest not yet delivered.  A host that ran
 * late therefore sees pit_next_event_ns() <= now and calls again, getting
 * the missed ticks one edge per call (what a guest counting ticks needs).
 * If it is more than PIT_MAX_LAG_NS behind, older edges are dropped so a
 * stalled host does not cause an interrupt storm.  Reprogramming counter 0
 * drops edges still owed from the old programming.
 *
 * Simplifications (documented, not datasheet): a new count written to a
 * counter in mode 2/3 takes effect at once rather than at the end of the
 * current period, and one written during a mode 1/5 one-shot changes that
 * one-shot; in mode 3 an odd count gives (N+1)/2 high and (N-1)/2 low ticks
 * with the counter read as N-2p in each half.
 *
 * Reset state is what a PC BIOS leaves: every counter in mode 3, LSB/MSB
 * access, count 0x10000; gates 0 and 1 high, gate 2 low.
 */
#ifndef DEVICES_PIT_H
#define DEVICES_PIT_H

#include <stdint.h>

#include "ssm/ssm.h"

#define PIT_FREQ_HZ 1193182u
#define PIT_CHANNELS 3

/* ---- Registers ----------------------------------------------------------- */

/* Port offsets from 0x40. */
#define PIT_COUNTER0 0
#define PIT_COUNTER1 1
#define PIT_COUNTER2 2
#define PIT_CONTROL  3          /* write only */

/* Control word: SC1 SC0 RW1 RW0 M2 M1 M0 BCD. */
#define PIT_CW_SC_SHIFT   6
#define PIT_CW_SC_READBACK 3
#define PIT_CW_RW_SHIFT   4
#define PIT_CW_M_SHIFT    1
#define PIT_CW_BCD        0x01

/* RW field (also the byte-sequencing states below). */
#define PIT_RW_LATCH  0         /* counter latch command */
#define PIT_RW_LSB    1
#define PIT_RW_MSB    2
#define PIT_RW_LSB_MSB 3

/* Read-back command (SC = 11). */
#define PIT_RB_COUNT_N  0x20    /* 0 = latch count */
#define PIT_RB_STATUS_N 0x10    /* 0 = latch status */
#define PIT_RB_CNT(n)   (2u << (n))

/* Status byte. */
#define PIT_STATUS_OUTPUT 0x80
#define PIT_STATUS_NULL   0x40

/* Port 0x61 bits this model owns (2, 3, 6, 7 belong to the NMI logic). */
#define PIT_SPK_GATE2   0x01
#define PIT_SPK_DATA    0x02
#define PIT_SPK_REFRESH 0x10
#define PIT_SPK_OUT2    0x20

/* Byte sequencing of reads/writes: LSB only, MSB only, or a word's halves. */
#define PIT_ACC_LSB      1
#define PIT_ACC_MSB      2
#define PIT_ACC_WORD_LSB 3
#define PIT_ACC_WORD_MSB 4

/* Counting element state. */
#define PIT_CE_IDLE      0      /* control word written, no count yet */
#define PIT_CE_WAIT_GATE 1      /* mode 1/5: count written, no trigger yet */
#define PIT_CE_RUNNING   2      /* counting from count_load_time */
#define PIT_CE_HELD      3      /* gate low in mode 0/2/3/4: frozen */

#define PIT_MAX_LAG_NS  100000000ull  /* 100 ms */
/* Saved-state layout this build writes, and the oldest it still loads: the
 * unit loads versions PIT_SSM_VERSION_MIN..PIT_SSM_VERSION (docs/compat.md). */
#define PIT_SSM_VERSION 1
#define PIT_SSM_VERSION_MIN 1
#define PIT_SSM_MODEL "8254"   /* identity sent in live pass 0 */

/* ---- State --------------------------------------------------------------- */

/* One counter.  Saved with SSM_STRUCT_FULL: the explicit reserved bytes make
 * the padding part of the table (ignored, not stored). */
struct pit_channel {
	uint64_t count_load_time;  /* virtual ns when RUNNING began at base_ticks */
	uint64_t base_ticks;       /* ticks already counted then (RUNNING) or
				      frozen (HELD); reduced to < PIT_MAX_BASE */
	uint32_t count;            /* reload value, 1..0x10000 ticks */
	uint16_t latched_count;    /* output latch, in the read format (BCD) */
	uint8_t count_latched;     /* 0 or PIT_ACC_* of the pending latched read */
	uint8_t status_latched;
	uint8_t status;
	uint8_t read_state;        /* PIT_ACC_* */
	uint8_t write_state;       /* PIT_ACC_* */
	uint8_t write_lsb;         /* first byte of an LSB/MSB count write */
	uint8_t rw_mode;           /* PIT_RW_LSB..PIT_RW_LSB_MSB */
	uint8_t mode;              /* as written, 0..7 (6/7 act as 2/3) */
	uint8_t bcd;
	uint8_t gate;
	uint8_t null_count;
	uint8_t ce_state;          /* PIT_CE_* */
	uint8_t reserved[6];
};

#define PIT_MAX_BASE (2u * 0x10000u + 2u)

struct pit_state {
	struct pit_channel ch[PIT_CHANNELS];
	uint8_t speaker_data;      /* port 0x61 bit 1; bit 0 is ch[2].gate */
	uint8_t reserved[7];
};

typedef void (*pit_irq_fn)(void *opaque, int level);
typedef uint64_t (*pit_clock_fn)(void *opaque);

struct pit {
	struct pit_state st;       /* saved, plus the virtual time of the save */
	/* Host side: never saved. */
	pit_irq_fn set_irq;
	pit_clock_fn now;          /* only for the SSM callbacks */
	void *opaque;
	uint64_t irq_time;         /* OUT0 changes up to here are on IRQ 0 */
	int8_t irq_level;          /* level last driven; -1 forces the next update */
};

/* ---- API ----------------------------------------------------------------- */

/* Set up p and reset it at virtual time now.  set_irq drives IRQ 0; clock
 * gives the virtual time to the SSM callbacks (required to register). */
void pit_init(struct pit *p, pit_irq_fn set_irq, pit_clock_fn clock, void *opaque,
	      uint64_t now);
/* Reset to the BIOS-like state above, counting from now. */
void pit_reset(struct pit *p, uint64_t now);
/* Guest read of port 0x40 + offset (0..3; 3 reads 0xff). */
uint8_t pit_read(struct pit *p, unsigned offset, uint64_t now);
/* Guest write of port 0x40 + offset (0..3). */
void pit_write(struct pit *p, unsigned offset, uint8_t val, uint64_t now);
/* Port 0x61: gate 2, speaker data, refresh toggle, OUT2. */
uint8_t pit_speaker_read(struct pit *p, uint64_t now);
void pit_speaker_write(struct pit *p, uint8_t val, uint64_t now);
/* Timer expiry: bring IRQ 0 up to now (at most one rising edge, see above). */
void pit_update(struct pit *p, uint64_t now);
/* When to call pit_update() next: may be <= now if edges are owed,
 * UINT64_MAX if OUT0 will not change on its own. */
uint64_t pit_next_event_ns(const struct pit *p, uint64_t now);
/* Recompute IRQ 0 from state at now (what pit_update does). */
void pit_update_irq(struct pit *p, uint64_t now);
/* The field table of the final-pass record (its struct: struct pit_state),
 * for tools that describe or decode the saved state (vmm schema/inspect). */
extern const ssm_field pit_fields[];

/* Register unit "pit"/instance (version PIT_SSM_VERSION) in reg; needs the
 * clock given to pit_init (SSM_ERR_INVALID_ARG otherwise).  In a live save it
 * sends its model identity in pass 0 (see pit.c), so a destination with
 * another timer model refuses the stream at that record. */
int pit_ssm_register(struct pit *p, ssm *reg, uint32_t instance);

#endif /* DEVICES_PIT_H */
