/* pic.h - the PC's cascaded 8259A pair plus the PIIX ELCR (pure state machine).
 *
 * Chip 0 is the master (ports 0x20/0x21), chip 1 the slave (0xa0/0xa1),
 * whose INT output feeds master IR2.  The host routes port I/O as
 * (chip, offset = port & 1), the ELCR ports 0x4d0/0x4d1 as chip 0/1, calls
 * pic_set_irq() when a device line changes, and when int_output reports 1
 * runs pic_ack() (the INTA cycle) to get the vector to inject.
 *
 * Not modelled: 8080/8085 mode (ICW4 uPM=0 is treated as 8086 mode), buffered
 * mode, and cascade wiring other than "slave on master IR2" (ICW3 is accepted
 * and ignored).  A line driven on IRQ 2 is ignored: IR2 is the cascade input
 * (ISA IRQ2 devices appear on IRQ 9).
 */
#ifndef DEVICES_PIC_H
#define DEVICES_PIC_H

#include <stdint.h>

#include "ssm/ssm.h"

/* ---- Registers ----------------------------------------------------------- */

/* Offset 0 writes: D4 set = ICW1; else D3 set = OCW3; else OCW2.
 * Offset 1 writes: ICW2..ICW4 during initialisation, OCW1 (IMR) after. */
#define PIC_ICW1_IC4     0x01  /* ICW4 needed */
#define PIC_ICW1_SNGL    0x02  /* single (no ICW3) */
#define PIC_ICW1_ADI     0x04  /* call address interval (8080 only) */
#define PIC_ICW1_LTIM    0x08  /* level triggered mode, all inputs */
#define PIC_ICW1_SELECT  0x10

#define PIC_ICW4_UPM     0x01  /* 8086 mode */
#define PIC_ICW4_AEOI    0x02  /* auto EOI */
#define PIC_ICW4_MS      0x04  /* buffered master/slave */
#define PIC_ICW4_BUF     0x08  /* buffered mode */
#define PIC_ICW4_SFNM    0x10  /* special fully nested mode */

#define PIC_OCW2_L       0x07  /* IR level for specific commands */
#define PIC_OCW2_EOI     0x20
#define PIC_OCW2_SL      0x40
#define PIC_OCW2_R       0x80
/* OCW2 commands (R SL EOI in bits 7-5). */
#define PIC_OCW2_ROTATE_AEOI_CLEAR 0x00
#define PIC_OCW2_NONSPEC_EOI       0x20
#define PIC_OCW2_NOP               0x40
#define PIC_OCW2_SPEC_EOI          0x60
#define PIC_OCW2_ROTATE_AEOI_SET   0x80
#define PIC_OCW2_ROTATE_NONSPEC    0xa0
#define PIC_OCW2_SET_PRIORITY      0xc0
#define PIC_OCW2_ROTATE_SPEC       0xe0

#define PIC_OCW3_RIS     0x01  /* read ISR (with RR) instead of IRR */
#define PIC_OCW3_RR      0x02  /* apply RIS */
#define PIC_OCW3_P       0x04  /* poll command */
#define PIC_OCW3_SELECT  0x08
#define PIC_OCW3_SMM     0x20  /* special mask mode (with ESMM) */
#define PIC_OCW3_ESMM    0x40

#define PIC_POLL_INT     0x80  /* poll word: an interrupt was pending */

/* PIIX ELCR: IRQ 0, 1, 2, 8 and 13 are always edge triggered. */
#define PIC_ELCR_MASK_MASTER 0xf8
#define PIC_ELCR_MASK_SLAVE  0xde

#define PIC_CASCADE_IRQ  2
/* Saved-state layout this build writes, and the oldest it still loads: the
 * unit loads versions PIC_SSM_VERSION_MIN..PIC_SSM_VERSION (docs/compat.md). */
#define PIC_SSM_VERSION  1
#define PIC_SSM_VERSION_MIN 1
#define PIC_SSM_MODEL    "8259A-pair"  /* identity sent in live pass 0 */

/* ---- State --------------------------------------------------------------- */

/* One 8259A; all uint8_t, no padding (saved with SSM_STRUCT_FULL). */
struct pic_chip {
	uint8_t irr;
	uint8_t isr;
	uint8_t imr;
	uint8_t lines;          /* input levels now; edge detection compares to them */
	uint8_t elcr;
	uint8_t irq_base;       /* ICW2 & 0xf8 */
	uint8_t priority_add;   /* IR with the highest priority */
	uint8_t init_state;     /* 0 ready, 1..3: expecting ICW2..ICW4 */
	uint8_t icw4_needed;
	uint8_t single;
	uint8_t ltim;
	uint8_t auto_eoi;
	uint8_t rotate_on_aeoi;
	uint8_t sfnm;
	uint8_t special_mask;
	uint8_t read_isr;       /* offset 0 reads ISR rather than IRR */
	uint8_t poll;           /* next read is the poll word */
};

struct pic_state {
	struct pic_chip chip[2];
};

typedef void (*pic_output_fn)(void *opaque, int level);

struct pic {
	struct pic_state st;    /* saved */
	/* Host side: never saved. */
	pic_output_fn int_output;
	void *opaque;
	int8_t out_level;       /* level last reported; -1 forces the next update */
};

/* ---- API ----------------------------------------------------------------- */

/* Set up p and reset it; int_output (may be NULL) reports the master INT. */
void pic_init(struct pic *p, pic_output_fn int_output, void *opaque);
/* Reset both chips (uninitialised, IMR 0, ELCR 0); input line levels kept. */
void pic_reset(struct pic *p);
/* Device line irq (0..15) is now at level (0/1).  IRQ 2 is ignored. */
void pic_set_irq(struct pic *p, unsigned irq, int level);
/* INTA cycle: returns the vector and moves the request IRR -> ISR.  With
 * nothing deliverable returns the spurious vector (master base + 7, or slave
 * base + 7 after a cascade) without setting its ISR bit. */
uint8_t pic_ack(struct pic *p);
/* Guest read of chip (0 master, 1 slave) at offset (0/1). */
uint8_t pic_read(struct pic *p, unsigned chip, unsigned offset);
/* Guest write of chip at offset. */
void pic_write(struct pic *p, unsigned chip, unsigned offset, uint8_t val);
/* ELCR of chip (port 0x4d0 + chip); fixed-edge bits read 0, ignore writes. */
uint8_t pic_elcr_read(const struct pic *p, unsigned chip);
void pic_elcr_write(struct pic *p, unsigned chip, uint8_t val);
/* Recompute cascade and INT output; calls int_output if it changed. */
void pic_update_irq(struct pic *p);
/* The field table of the final-pass record (its struct: struct pic_state),
 * for tools that describe or decode the saved state (vmm schema/inspect). */
extern const ssm_field pic_fields[];

/* Register unit "pic"/instance (version PIC_SSM_VERSION) in reg.  In a live
 * save it sends its model identity in pass 0 (see pic.c), so a destination
 * with another interrupt controller model refuses the stream at that record. */
int pic_ssm_register(struct pic *p, ssm *reg, uint32_t instance);

#endif /* DEVICES_PIC_H */
