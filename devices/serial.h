/* serial.h - 16550A UART model (pure state machine, no host resources).
 *
 * The VMM embeds a struct serial, calls serial_init() with its callbacks and
 * routes guest port I/O (base + 0..7) to serial_read()/serial_write().
 * Transmission is instantaneous: a THR write hands the byte to tx() at once,
 * so the TX FIFO is always empty and THRE/TEMT always read 1.
 *
 * Character timeout without a clock: the 16550A raises the timeout interrupt
 * when bytes sit in the RX FIFO and nothing happened for four character
 * times.  Here "time passed with no input" is an event the host reports with
 * serial_rx_idle(), typically whenever its input source has run dry (after a
 * serial_receive() that drained its buffer, and again from its poll loop).
 * Each call arms the timeout if the FIFO holds data; receiving a byte or the
 * guest reading RBR disarms it, as on the chip.
 *
 * The IRQ output is the chip's INTR pin (not gated by MCR OUT2, matching
 * what most VMMs expose); set_irq is called only when the level changes.
 */
#ifndef DEVICES_SERIAL_H
#define DEVICES_SERIAL_H

#include <stdint.h>
#include <stddef.h>

#include "ssm/ssm.h"

/* ---- Registers (offset from the base port) ------------------------------ */

#define SERIAL_RBR 0   /* read, DLAB=0: receiver buffer */
#define SERIAL_THR 0   /* write, DLAB=0: transmitter holding */
#define SERIAL_DLL 0   /* DLAB=1: divisor latch LSB */
#define SERIAL_IER 1   /* DLAB=0: interrupt enable */
#define SERIAL_DLM 1   /* DLAB=1: divisor latch MSB */
#define SERIAL_IIR 2   /* read: interrupt identification */
#define SERIAL_FCR 2   /* write: FIFO control */
#define SERIAL_LCR 3   /* line control */
#define SERIAL_MCR 4   /* modem control */
#define SERIAL_LSR 5   /* line status */
#define SERIAL_MSR 6   /* modem status */
#define SERIAL_SCR 7   /* scratch */

#define SERIAL_IER_ERBFI 0x01  /* received data available (and timeout) */
#define SERIAL_IER_ETBEI 0x02  /* transmitter holding register empty */
#define SERIAL_IER_ELSI  0x04  /* receiver line status */
#define SERIAL_IER_EDSSI 0x08  /* modem status */
#define SERIAL_IER_MASK  0x0f  /* bits 4-7 read 0 on the 16550A */

#define SERIAL_IIR_NO_INT 0x01 /* bit 0 set: nothing pending */
#define SERIAL_IIR_MSI    0x00 /* modem status (priority 4, lowest) */
#define SERIAL_IIR_THRI   0x02 /* THR empty (3) */
#define SERIAL_IIR_RDI    0x04 /* received data available (2) */
#define SERIAL_IIR_RLSI   0x06 /* receiver line status (1, highest) */
#define SERIAL_IIR_CTI    0x0c /* character timeout (2) */
#define SERIAL_IIR_ID     0x0f
#define SERIAL_IIR_FIFO   0xc0 /* both set when FCR FIFO enable is set */

#define SERIAL_FCR_FIFOE 0x01  /* FIFO enable */
#define SERIAL_FCR_RFR   0x02  /* RCVR FIFO reset (self-clearing) */
#define SERIAL_FCR_XFR   0x04  /* XMIT FIFO reset (self-clearing) */
#define SERIAL_FCR_DMS   0x08  /* DMA mode select */
#define SERIAL_FCR_RT    0xc0  /* RCVR trigger: 1, 4, 8, 14 bytes */
#define SERIAL_FCR_KEEP  (SERIAL_FCR_FIFOE | SERIAL_FCR_DMS | SERIAL_FCR_RT)

#define SERIAL_LCR_WLS   0x03  /* word length select */
#define SERIAL_LCR_STB   0x04  /* stop bits */
#define SERIAL_LCR_PEN   0x08  /* parity enable */
#define SERIAL_LCR_EPS   0x10  /* even parity select */
#define SERIAL_LCR_SP    0x20  /* stick parity */
#define SERIAL_LCR_SB    0x40  /* set break */
#define SERIAL_LCR_DLAB  0x80  /* divisor latch access */

#define SERIAL_MCR_DTR   0x01
#define SERIAL_MCR_RTS   0x02
#define SERIAL_MCR_OUT1  0x04
#define SERIAL_MCR_OUT2  0x08
#define SERIAL_MCR_LOOP  0x10
#define SERIAL_MCR_MASK  0x1f  /* bits 5-7 read 0 on the 16550A */

#define SERIAL_LSR_DR    0x01  /* data ready */
#define SERIAL_LSR_OE    0x02  /* overrun error */
#define SERIAL_LSR_PE    0x04  /* parity error */
#define SERIAL_LSR_FE    0x08  /* framing error */
#define SERIAL_LSR_BI    0x10  /* break interrupt */
#define SERIAL_LSR_THRE  0x20  /* THR empty */
#define SERIAL_LSR_TEMT  0x40  /* transmitter empty */
#define SERIAL_LSR_RXFE  0x80  /* error in RCVR FIFO */
#define SERIAL_LSR_ERRORS (SERIAL_LSR_OE | SERIAL_LSR_PE | SERIAL_LSR_FE | SERIAL_LSR_BI)

#define SERIAL_MSR_DCTS  0x01  /* delta clear to send */
#define SERIAL_MSR_DDSR  0x02  /* delta data set ready */
#define SERIAL_MSR_TERI  0x04  /* trailing edge ring indicator */
#define SERIAL_MSR_DDCD  0x08  /* delta data carrier detect */
#define SERIAL_MSR_CTS   0x10
#define SERIAL_MSR_DSR   0x20
#define SERIAL_MSR_RI    0x40
#define SERIAL_MSR_DCD   0x80
#define SERIAL_MSR_DELTA 0x0f
#define SERIAL_MSR_LINES 0xf0

#define SERIAL_FIFO_SIZE 16
/* Saved-state layout this build writes, and the oldest it still loads: the
 * unit loads versions SERIAL_SSM_VERSION_MIN..SERIAL_SSM_VERSION (docs/compat.md). */
#define SERIAL_SSM_VERSION 1
#define SERIAL_SSM_VERSION_MIN 1
#define SERIAL_SSM_MODEL "16550A"  /* identity sent in live pass 0 */

/* ---- State --------------------------------------------------------------- */

/* Guest-visible state: exactly what is saved.  Only uint8_t members, so the
 * layout has no padding and the SSM table covers it with SSM_STRUCT_FULL. */
struct serial_state {
	uint8_t rx_fifo[SERIAL_FIFO_SIZE]; /* ring; depth 1 while FIFOs are off */
	uint8_t rx_head;          /* index of the oldest byte */
	uint8_t rx_count;         /* bytes held */
	uint8_t rbr;              /* last byte read; RBR returns it when empty */
	uint8_t ier;
	uint8_t fcr;              /* persistent bits only (SERIAL_FCR_KEEP) */
	uint8_t lcr;
	uint8_t mcr;
	uint8_t lsr;              /* sticky error bits only; DR/THRE/TEMT derived */
	uint8_t msr;              /* line bits 4-7 as seen + delta bits 0-3 */
	uint8_t scr;
	uint8_t dll, dlm;
	uint8_t thr_ipending;     /* THRE interrupt armed (cleared by IIR read/THR write) */
	uint8_t timeout_pending;  /* character timeout armed by serial_rx_idle() */
	uint8_t modem_in;         /* host-driven CTS/DSR/RI/DCD, MSR bit layout */
};

typedef void (*serial_tx_fn)(void *opaque, uint8_t byte);
typedef void (*serial_irq_fn)(void *opaque, int level);

struct serial {
	struct serial_state st;   /* saved */
	/* Host side: never saved. */
	serial_tx_fn tx;
	serial_irq_fn set_irq;
	void *opaque;
	uint8_t rx_trigger;       /* bytes for RDA, derived from st.fcr */
	int8_t irq_level;         /* level last driven; -1 forces the next update */
};

/* ---- API ----------------------------------------------------------------- */

/* Set up s (any prior contents ignored) and reset it.  Modem inputs start as
 * CTS|DSR|DCD (a connected terminal).  Callbacks may be NULL. */
void serial_init(struct serial *s, serial_tx_fn tx, serial_irq_fn set_irq, void *opaque);
/* Hardware reset: registers to power-on values; host modem inputs kept. */
void serial_reset(struct serial *s);
/* Guest read of register offset (0..7, higher bits ignored); may have side
 * effects (RBR pops, IIR clears THRE, LSR/MSR clear sticky bits). */
uint8_t serial_read(struct serial *s, unsigned offset);
/* Guest write of register offset (0..7). */
void serial_write(struct serial *s, unsigned offset, uint8_t val);
/* Host input: queue up to n bytes; returns how many were accepted (0 when
 * the RX FIFO is full or the UART is in loopback).  Never overruns. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t n);
/* Bytes serial_receive() would accept now. */
size_t serial_can_receive(const struct serial *s);
/* Host has no more input for now: arm the character timeout (see above). */
void serial_rx_idle(struct serial *s);
/* Host modem input lines (SERIAL_MSR_CTS|DSR|RI|DCD); sets delta bits. */
void serial_set_modem_lines(struct serial *s, uint8_t lines);
/* Recompute IIR and drive set_irq if the level changed. */
void serial_update_irq(struct serial *s);
/* The field table of the final-pass record (its struct: struct serial_state),
 * for tools that describe or decode the saved state (vmm schema/inspect). */
extern const ssm_field serial_fields[];

/* Register unit "serial"/instance (version SERIAL_SSM_VERSION) in reg.  In a
 * live save it sends its model identity in pass 0 (see serial.c), so a
 * destination with another UART model refuses the stream at that record. */
int serial_ssm_register(struct serial *s, ssm *reg, uint32_t instance);

#endif /* DEVICES_SERIAL_H */
