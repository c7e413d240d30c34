/* pc.h - the guest's view of the PC board: port numbers, register bits,
 * port I/O helpers.  The kernel knows the PC platform by convention, like a
 * real OS, so these are its own constants (the VMM's are in vmm/board.h). */
#ifndef GUEST_PC_H
#define GUEST_PC_H

#define PIC1_CMD        0x20
#define PIC1_DATA       0x21
#define PIC2_CMD        0xa0
#define PIC2_DATA       0xa1
#define ELCR1           0x4d0
#define ELCR2           0x4d1
#define PIC_EOI         0x20
#define PIC_READ_ISR    0x0b
#define PIC1_VECTOR     0x20
#define PIC2_VECTOR     0x28

#define PIT_CH0         0x40
#define PIT_CMD         0x43
#define PIT_HZ          1193182u
#define PIT_DIVISOR     1193u           /* ~1000.15 Hz */

#define COM1            0x3f8
#define COM1_IRQ        4
#define UART_RBR        0               /* DLAB=0, read */
#define UART_THR        0               /* DLAB=0, write */
#define UART_DLL        0               /* DLAB=1 */
#define UART_IER        1
#define UART_DLM        1               /* DLAB=1 */
#define UART_IIR        2               /* read */
#define UART_FCR        2               /* write */
#define UART_LCR        3
#define UART_MCR        4
#define UART_LSR        5
#define UART_MSR        6
#define UART_IER_RDI    0x01
#define UART_IIR_NO_INT 0x01
#define UART_IIR_ID     0x0e
#define UART_IIR_MSI    0x00
#define UART_IIR_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_IIR_RLSI   0x06
#define UART_IIR_CTI    0x0c
#define UART_LCR_DLAB   0x80
#define UART_LCR_8N1    0x03
#define UART_MCR_DTR    0x01
#define UART_MCR_RTS    0x02
#define UART_MCR_OUT2   0x08            /* gates the IRQ line on PCs */
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLR_RX 0x02
#define UART_FCR_CLR_TX 0x04
#define UART_LSR_DR     0x01
#define UART_LSR_THRE   0x20
#define UART_FIFO_SIZE  16

#define POWEROFF_PORT   0x501

/* GDT layout: the user data/code order matches what SYSRET would need. */
#define SEL_KCODE       0x08
#define SEL_KDATA       0x10
#define SEL_UDATA       0x1b
#define SEL_UCODE       0x23
#define SEL_TSS         0x28

#define VEC_SYSCALL     0x80
#define SYS_WRITE       0               /* (buf, len) -> len */
#define SYS_POWEROFF    1               /* (status) -> does not return */

#define PANIC_STATUS    3               /* power-off status after a fault */

#ifndef __ASSEMBLER__
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* One string OUT moves up to a page per VM exit instead of one byte. */
static inline void outsb(uint16_t port, const void *buf, uint64_t n)
{
	__asm__ volatile("rep outsb" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}
#endif

#endif
