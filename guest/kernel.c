/* kernel.c - ring-0 half of the test kernel: descriptor tables, PIC, PIT,
 * UART, interrupt and system-call handlers.
 *
 * On this host ring-0 code is instruction-emulated (~0.6 M instructions/s),
 * so this file does only what needs privilege: set the machine up once,
 * count timer ticks, echo serial input and push bytes to the UART.  The
 * workload and all formatting live in the ring-3 task (user.c).
 */
#include "kernel.h"
#include "pc.h"

volatile uint64_t ticks;

/* The RAM ranges of the boot-info block, for checking user buffers. */
static struct bootinfo_mem ram[BOOTINFO_MEM_MAX];
static uint32_t nram;

static struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed)) tss;
_Static_assert(sizeof(struct tss) == 104, "64-bit TSS is 104 bytes");

/* Selector order fixed by pc.h: null, kcode, kdata, udata, ucode, tss(2). */
static uint64_t gdt[7] = {
	0,
	0x00af9b000000ffffull,  /* 0x08 kernel code: L=1, DPL 0 */
	0x00cf93000000ffffull,  /* 0x10 kernel data */
	0x00cff3000000ffffull,  /* 0x18 user data: DPL 3 */
	0x00affb000000ffffull,  /* 0x20 user code: L=1, DPL 3 */
	0, 0,                   /* 0x28 TSS, filled in at run time */
};

static struct idt_entry {
	uint64_t lo, hi;
} idt[256];

static char ustack[16384] __attribute__((aligned(16)));

static void set_gate(unsigned vec, const void *handler, unsigned dpl)
{
	uint64_t h = (uint64_t)handler;

	/* Interrupt gate (type 0xe): IF is cleared on entry, so handlers and
	 * system calls never nest. */
	idt[vec].lo = (h & 0xffff) | ((uint64_t)SEL_KCODE << 16) |
		      ((uint64_t)(0x8e | dpl << 5) << 40) |
		      ((h >> 16 & 0xffff) << 48);
	idt[vec].hi = h >> 32;
}

static void descriptors_init(void)
{
	uint64_t base = (uint64_t)&tss;
	struct dtr d;
	unsigned i;

	tss.rsp[0] = (uint64_t)kstack_top;
	tss.iomap_base = sizeof(tss);   /* no I/O bitmap: IOPL rules ring 3 */
	gdt[5] = (sizeof(tss) - 1) | (base & 0xffffff) << 16 |
		 0x89ull << 40 | (base >> 24 & 0xff) << 56;
	gdt[6] = base >> 32;
	d.limit = sizeof(gdt) - 1;
	d.base = (uint64_t)gdt;
	gdt_load(&d);

	for (i = 0; i < 32; i++)
		set_gate(i, exc_stubs + i * EXC_STUB_SIZE, 0);
	for (i = 0; i < 16; i++)
		set_gate(PIC1_VECTOR + i, irq_stubs + i * IRQ_STUB_SIZE, 0);
	set_gate(PIC1_VECTOR + 0, irq0_entry, 0);
	set_gate(PIC1_VECTOR + COM1_IRQ, irq4_entry, 0);
	set_gate(6, ud_entry, 0);
	set_gate(VEC_SYSCALL, syscall_entry, 3);
	d.limit = sizeof(idt) - 1;
	d.base = (uint64_t)idt;
	__asm__ volatile("lidt %0" : : "m"(d));
}

static void pic_init(void)
{
	outb(PIC1_CMD, 0x11);           /* ICW1: edge, cascade, ICW4 follows */
	outb(PIC1_DATA, PIC1_VECTOR);
	outb(PIC1_DATA, 1 << 2);        /* slave on IRQ 2 */
	outb(PIC1_DATA, 0x01);          /* 8086 mode, normal EOI */
	outb(PIC2_CMD, 0x11);
	outb(PIC2_DATA, PIC2_VECTOR);
	outb(PIC2_DATA, 2);             /* slave identity */
	outb(PIC2_DATA, 0x01);
	outb(ELCR1, 0);                 /* all ISA lines edge-triggered */
	outb(ELCR2, 0);
	outb(PIC1_DATA, (uint8_t)~(1 << 0 | 1 << 2 | 1 << COM1_IRQ));
	outb(PIC2_DATA, 0xff);
}

static void pit_init(void)
{
	outb(PIT_CMD, 0x34);            /* channel 0, lo/hi byte, mode 2 */
	outb(PIT_CH0, PIT_DIVISOR & 0xff);
	outb(PIT_CH0, PIT_DIVISOR >> 8);
}

static void uart_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + UART_DLL, 1);       /* 115200 baud */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, UART_LCR_8N1);
	/* FIFOs on with an RX trigger level of 1, so every typed byte
	 * interrupts at once. */
	outb(COM1 + UART_FCR, UART_FCR_ENABLE | UART_FCR_CLR_RX | UART_FCR_CLR_TX);
	outb(COM1 + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	/* Clear stale status; RBR is left for the IRQ handler so that no byte
	 * arriving after the FIFO reset is lost. */
	(void)inb(COM1 + UART_LSR);
	(void)inb(COM1 + UART_IIR);
	(void)inb(COM1 + UART_MSR);
	outb(COM1 + UART_IER, UART_IER_RDI);
}

static void uart_wait_thre(void)
{
	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
		;
}

/* THRE in FIFO mode means the whole transmit FIFO is empty, so one check
 * buys UART_FIFO_SIZE bytes. */
static void uart_write(const char *p, uint64_t n)
{
	while (n) {
		uint64_t chunk = n < UART_FIFO_SIZE ? n : UART_FIFO_SIZE;

		uart_wait_thre();
		outsb(COM1 + UART_THR, p, chunk);
		p += chunk;
		n -= chunk;
	}
}

static void uart_puts(const char *s)
{
	uint64_t n = 0;

	while (s[n])
		n++;
	uart_write(s, n);
}

static void uart_puthex(uint64_t v)
{
	char b[19];
	int i;

	b[0] = '0';
	b[1] = 'x';
	for (i = 0; i < 16; i++)
		b[2 + i] = "0123456789abcdef"[v >> (60 - 4 * i) & 0xf];
	b[18] = 0;
	uart_puts(b);
}

static __attribute__((noreturn)) void poweroff(uint8_t status)
{
	outb(POWEROFF_PORT, status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void exception(const struct exc_frame *f)
{
	uart_puts("\npanic: exception ");
	uart_puthex(f->vector);
	uart_puts(" error ");
	uart_puthex(f->error);
	uart_puts(" rip ");
	uart_puthex(f->rip);
	if (f->vector == 14) {
		uint64_t cr2;

		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		uart_puts(" cr2 ");
		uart_puthex(cr2);
	}
	uart_puts("\n");
	poweroff(PANIC_STATUS);
}

void irq_other(uint64_t irq)
{
	uint16_t cmd = irq < 8 ? PIC1_CMD : PIC2_CMD;

	/* IRQ 7/15 with no ISR bit set is a spurious interrupt: no EOI for
	 * that chip (the master still needs one for a slave spurious). */
	if ((irq & 7) == 7) {
		outb(cmd, PIC_READ_ISR);
		if (!(inb(cmd) & 0x80)) {
			if (irq == 15)
				outb(PIC1_CMD, PIC_EOI);
			return;
		}
	}
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}

void serial_irq(void)
{
	uint8_t iir;

	while (!((iir = inb(COM1 + UART_IIR)) & UART_IIR_NO_INT)) {
		switch (iir & UART_IIR_ID) {
		case UART_IIR_RDI:
		case UART_IIR_CTI:
			while (inb(COM1 + UART_LSR) & UART_LSR_DR) {
				char c = (char)inb(COM1 + UART_RBR);

				/* A terminal's Enter sends CR only. */
				uart_write(c == '\r' ? "\r\n" : &c, c == '\r' ? 2 : 1);
			}
			break;
		case UART_IIR_RLSI:
			(void)inb(COM1 + UART_LSR);
			break;
		case UART_IIR_MSI:
			(void)inb(COM1 + UART_MSR);
			break;
		default:                /* THRI: not enabled, reading IIR acks it */
			break;
		}
	}
	outb(PIC1_CMD, PIC_EOI);
}

uint64_t syscall_dispatch(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t nr)
{
	(void)a2;
	switch (nr) {
	case SYS_WRITE:
		if (a1 > 4096)
			return (uint64_t)-1;
		for (uint32_t i = 0; i < nram; i++)
			if (a0 >= ram[i].addr && a0 - ram[i].addr < ram[i].size &&
			    a1 <= ram[i].size - (a0 - ram[i].addr)) {
				uart_write((const char *)a0, a1);
				return a1;
			}
		return (uint64_t)-1;
	case SYS_POWEROFF:
		poweroff((uint8_t)a0);
	default:
		return (uint64_t)-1;
	}
}

void kmain(const struct bootinfo *bi)
{
	descriptors_init();
	/* PIC before UART: IRQ 4 is edge-triggered, so a line the UART raised
	 * while the PIC was still being set up would never be seen again. */
	pic_init();
	pit_init();
	uart_init();
	if (bi->magic != BOOTINFO_MAGIC || bi->version != BOOTINFO_VERSION ||
	    bi->nmem < 1 || bi->nmem > BOOTINFO_MEM_MAX) {
		uart_puts("panic: bad boot-info block\n");
		poweroff(PANIC_STATUS);
	}
	nram = bi->nmem;
	memcpy(ram, bi->mem, nram * sizeof(ram[0]));
	enter_user(user_main, ustack + sizeof(ustack), bi);
}
