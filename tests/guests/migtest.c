/* migtest.c - a multiboot guest that asks to be migrated (the handshake of
 * kvm-unit-tests' lib/migrate.c) and checks that the CPU, local APIC,
 * IOAPIC and PIT state it set before is intact afterwards.  Needs the
 * in-kernel irqchip (vmm --irqchip kernel): the LAPIC is MMIO at
 * 0xfee00000, the IOAPIC at 0xfec00000.
 *
 * Before the marker it sets: CR0.WP/AM, CR4 bits, EFER.SCE/NXE, the
 * SYSENTER, STAR/LSTAR/CSTAR/SFMASK, KERNEL_GS_BASE, TSC_AUX and PAT
 * MSRs, its own GDT (an FS segment with a base), IDT; the LAPIC's TPR,
 * LDR, DFR, SVR, LINT0/LINT1 (masked), the timer (periodic, a known
 * divide and initial count, its interrupts counted); two IOAPIC
 * redirection entries (masked); PIT channel 0 (mode 2, a known count).
 * Then it prints
 *     Now migrate the VM, then press a key to continue...
 * and polls COM1's LSR until a byte arrives (timer interrupts keep
 * arriving meanwhile).  Afterwards every value is read back and compared:
 * one "PASS: name" or "FAIL: name (got X, want Y)" line each, then the
 * timers are checked to still run (LAPIC interrupts arrive, its current
 * count moves, the PIT's count moves), "SUMMARY: N tests, F unexpected
 * failures", and it exits through isa-debug-exit (0 if all passed, so vmm
 * exits 1 as for kvm-unit-tests; 1 otherwise, vmm exits 3).
 *
 * Command line: nokey=1 skips the wait (for a run without a harness).
 */
#include <stdint.h>

#include "mbio.h"

#define LAPIC 0xfee00000u
#define IOAPIC 0xfec00000u
#define TIMER_VEC 0x40
#define SPURIOUS_VEC 0xff

/* LAPIC registers (Intel SDM vol. 3 table 11-1). */
#define L_TPR 0x80
#define L_EOI 0xb0
#define L_LDR 0xd0
#define L_DFR 0xe0
#define L_SVR 0xf0
#define L_LVT_TIMER 0x320
#define L_LINT0 0x350
#define L_LINT1 0x360
#define L_TICR 0x380
#define L_TCCR 0x390
#define L_TDCR 0x3e0

/* What is set, and expected back. */
#define W_TPR 0x20
#define W_LDR 0x12000000u
#define W_DFR 0x0fffffffu               /* cluster model */
#define W_SVR (0x100u | SPURIOUS_VEC)
#define W_TIMER (0x20000u | TIMER_VEC)  /* periodic */
#define W_LINT0 0x00010700u             /* masked ExtINT */
#define W_LINT1 0x00010400u             /* masked NMI */
#define W_TICR 0x40000u
#define W_TDCR 0x9u                     /* divide by 64 */
#define W_PIT 0x2e9cu                   /* ~100 Hz */
#define W_PAT 0x0007010600070406ull
#define W_SYSENTER_CS 0x8ull
#define W_SYSENTER_ESP 0x12345670ull
#define W_SYSENTER_EIP 0x0badc0deull
#define W_STAR 0x0023001000000000ull
#define W_LSTAR 0xffffffff81000000ull
#define W_CSTAR 0xffffffff81000040ull
#define W_SFMASK 0x47700ull
#define W_KGS 0x00007f0012345000ull
#define W_TSC_AUX 0x5aa5ull

struct mbi {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
};

void migtest_main(uint32_t magic, uint32_t info);
void timer_isr(void);
void spurious_isr(void);
void exc_isr(void);

volatile uint32_t ticks;       /* the timer handler's count (asm) */
extern volatile uint32_t ticks;
static uint32_t fails, tests;
static volatile uint32_t fs_probe = 0x600dcafe;

/* Interrupts are taken only in take_tick (sti; hlt) and the handlers
 * return without IRET: KVM's instruction emulator, which runs guest ring 0
 * on some hosts (kvm_pvm), has no protected-mode IRET.  The timer handler
 * counts, ends the interrupt, drops its frame and jumps back to the
 * interrupted EIP with IF clear (ECX is free there: take_tick is a
 * call).  Any exception prints one line and exits (vmm status 3). */
__asm__(".text\n"
	".globl timer_isr\n"
	"timer_isr:\n"
	"	incl ticks\n"
	"	movl $0, 0xfee000b0\n"
	"	popl %ecx\n"
	"	addl $8, %esp\n"
	"	jmp *%ecx\n"
	".globl spurious_isr\n"
	"spurious_isr:\n"
	"	popl %ecx\n"
	"	addl $8, %esp\n"
	"	jmp *%ecx\n"
	".globl take_tick\n"
	"take_tick:\n"
	"	sti\n"
	"	hlt\n"
	"	ret\n"
	".globl exc_isr\n"
	"exc_isr:\n"
	"	call exc_c\n"
	"1:	hlt\n"
	"	jmp 1b\n");

void take_tick(void);

static void puthex(uint64_t v)
{
	int started = 0;

	puts("0x");
	for (int i = 60; i >= 0; i -= 4) {
		unsigned n = (unsigned)(v >> i) & 15;

		if (n || started || i == 0) {
			putc("0123456789abcdef"[n]);
			started = 1;
		}
	}
}

static void finish(void)
{
	puts("SUMMARY: ");
	putdec(tests);
	puts(" tests, ");
	putdec(fails);
	puts(" unexpected failures\n");
	__asm__ volatile("outl %0, %1" : : "a"(fails ? 1u : 0u), "Nd"((uint16_t)DEBUG_EXIT));
	for (;;)
		__asm__ volatile("cli; hlt");
}

void exc_c(void);
void exc_c(void)
{
	fails++;
	puts("FAIL: an exception was raised\n");
	finish();
}

static void check(const char *name, uint64_t got, uint64_t want)
{
	tests++;
	if (got == want) {
		puts("PASS: ");
		puts(name);
		putc('\n');
		return;
	}
	fails++;
	puts("FAIL: ");
	puts(name);
	puts(" (got ");
	puthex(got);
	puts(", want ");
	puthex(want);
	puts(")\n");
}

static void check_true(const char *name, int ok)
{
	check(name, (uint64_t)!!ok, 1);
}

static uint64_t rdmsr(uint32_t i)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(i));
	return (uint64_t)hi << 32 | lo;
}

static void wrmsr(uint32_t i, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(i), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

static uint32_t lapic_rd(uint32_t reg)
{
	return *(volatile uint32_t *)(LAPIC + reg);
}

static void lapic_wr(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

static uint32_t ioapic_rd(uint32_t reg)
{
	*(volatile uint32_t *)IOAPIC = reg;
	return *(volatile uint32_t *)(IOAPIC + 0x10);
}

static void ioapic_wr(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)IOAPIC = reg;
	*(volatile uint32_t *)(IOAPIC + 0x10) = v;
}

/* PIT channel 0's count now (latched). */
static uint16_t pit_count(void)
{
	uint8_t lo, hi;

	outb(0x43, 0x00);
	lo = inb(0x40);
	hi = inb(0x40);
	return (uint16_t)(lo | hi << 8);
}

/* PIT channel 0's status byte (read-back command), without the output
 * and null-count bits: access mode, mode, BCD. */
static uint8_t pit_status(void)
{
	outb(0x43, 0xe2);
	return inb(0x40) & 0x3f;
}

/* The GDT: null, code, data, an FS data segment based at fs_probe, the
 * guest's own TSS (nothing the loader left is relied on).  The IDT:
 * exceptions, the timer, spurious. */
static uint64_t gdt[6] __attribute__((aligned(16)));
static uint64_t idt[256] __attribute__((aligned(16)));
static uint32_t tss[26] __attribute__((aligned(16)));  /* 104 bytes, all zero */

struct __attribute__((packed)) dtr {
	uint16_t limit;
	uint32_t base;
};

static uint64_t seg(uint32_t base, uint32_t limit, uint32_t type_flags)
{
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)type_flags << 40 | (uint64_t)(limit >> 16 & 0xf) << 48 |
	       (uint64_t)(base >> 24) << 56;
}

static uint64_t gate(void (*fn)(void))
{
	uint32_t a = (uint32_t)fn;

	return (uint64_t)(a & 0xffff) | 0x08ull << 16 | 0x8eull << 40 |
	       (uint64_t)(a >> 16) << 48;
}

static void load_tables(void)
{
	struct dtr g = { sizeof(gdt) - 1, (uint32_t)gdt }, i = { sizeof(idt) - 1, (uint32_t)idt };

	gdt[1] = seg(0, 0xfffff, 0xc09b);
	gdt[2] = seg(0, 0xfffff, 0xc093);
	gdt[3] = seg((uint32_t)&fs_probe, 0xfff, 0x4093);     /* 4 KiB, byte granular */
	gdt[4] = seg((uint32_t)tss, sizeof(tss) - 1, 0x0089);   /* 32-bit TSS, available */
	for (int v = 0; v < 32; v++)
		idt[v] = gate(exc_isr);
	idt[TIMER_VEC] = gate(timer_isr);
	idt[SPURIOUS_VEC] = gate(spurious_isr);
	__asm__ volatile("lgdt %0; ljmp $0x08, $1f; 1:" : : "m"(g));
	__asm__ volatile("movw $0x10, %%ax; movw %%ax, %%ds; movw %%ax, %%es; movw %%ax, %%ss;"
			 "movw %%ax, %%gs; movw $0x18, %%ax; movw %%ax, %%fs" : : : "eax");
	__asm__ volatile("movw $0x20, %%ax; ltr %%ax" : : : "eax");
	__asm__ volatile("lidt %0" : : "m"(i));
}

struct snap {
	uint32_t cr0, cr4, fs_val, gdt_base, idt_base, tr, fs;
	uint16_t gdt_limit, idt_limit;
	uint64_t efer, pat, sysenter_cs, sysenter_esp, sysenter_eip, star, lstar, cstar;
	uint64_t sfmask, kgs, tsc_aux;
	uint32_t tpr, ldr, dfr, svr, timer, lint0, lint1, ticr, tdcr;
	uint32_t redir[4];
	uint8_t pit_status;
};

static uint32_t has_rdtscp, has_nx;

static void take(struct snap *s)
{
	struct dtr g, i;
	uint32_t cr0, cr4, tr, fs, fsv;

	__asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("movl %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(g), "=m"(i));
	__asm__ volatile("str %0" : "=r"(tr));
	__asm__ volatile("mov %%fs, %0" : "=r"(fs));
	__asm__ volatile("movl %%fs:0, %0" : "=r"(fsv));
	s->cr0 = cr0;
	s->cr4 = cr4;
	s->gdt_base = g.base;
	s->gdt_limit = g.limit;
	s->idt_base = i.base;
	s->idt_limit = i.limit;
	s->tr = tr & 0xffff;
	s->fs = fs & 0xffff;
	s->fs_val = fsv;
	s->efer = rdmsr(0xc0000080);
	s->pat = rdmsr(0x277);
	s->sysenter_cs = rdmsr(0x174);
	s->sysenter_esp = rdmsr(0x175);
	s->sysenter_eip = rdmsr(0x176);
	s->star = rdmsr(0xc0000081);
	s->lstar = rdmsr(0xc0000082);
	s->cstar = rdmsr(0xc0000083);
	s->sfmask = rdmsr(0xc0000084);
	s->kgs = rdmsr(0xc0000102);
	s->tsc_aux = has_rdtscp ? rdmsr(0xc0000103) : 0;
	s->tpr = lapic_rd(L_TPR);
	s->ldr = lapic_rd(L_LDR);
	s->dfr = lapic_rd(L_DFR);
	s->svr = lapic_rd(L_SVR);
	s->timer = lapic_rd(L_LVT_TIMER);
	s->lint0 = lapic_rd(L_LINT0);
	s->lint1 = lapic_rd(L_LINT1);
	s->ticr = lapic_rd(L_TICR);
	s->tdcr = lapic_rd(L_TDCR);
	s->redir[0] = ioapic_rd(0x10 + 2 * 2);
	s->redir[1] = ioapic_rd(0x11 + 2 * 2);
	s->redir[2] = ioapic_rd(0x10 + 2 * 9);
	s->redir[3] = ioapic_rd(0x11 + 2 * 9);
	s->pit_status = pit_status();
}

static void set_state(void)
{
	uint32_t r[4], cr0, cr4;

	cpuid(0x80000001, r);
	has_rdtscp = r[3] >> 27 & 1;
	has_nx = r[3] >> 20 & 1;
	load_tables();
	__asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
	cr0 |= 1u << 16 | 1u << 18 | 1u << 5;           /* WP, AM, NE */
	__asm__ volatile("movl %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("movl %%cr4, %0" : "=r"(cr4));
	cr4 |= 1u << 3 | 1u << 8 | 1u << 9 | 1u << 10;  /* DE, PCE, OSFXSR, OSXMMEXCPT */
	__asm__ volatile("movl %0, %%cr4" : : "r"(cr4));
	wrmsr(0xc0000080, rdmsr(0xc0000080) | 1 | (has_nx ? 1u << 11 : 0));
	wrmsr(0x277, W_PAT);
	wrmsr(0x174, W_SYSENTER_CS);
	wrmsr(0x175, W_SYSENTER_ESP);
	wrmsr(0x176, W_SYSENTER_EIP);
	wrmsr(0xc0000081, W_STAR);
	wrmsr(0xc0000082, W_LSTAR);
	wrmsr(0xc0000083, W_CSTAR);
	wrmsr(0xc0000084, W_SFMASK);
	wrmsr(0xc0000102, W_KGS);
	if (has_rdtscp)
		wrmsr(0xc0000103, W_TSC_AUX);
	lapic_wr(L_SVR, W_SVR);
	lapic_wr(L_DFR, W_DFR);
	lapic_wr(L_LDR, W_LDR);
	lapic_wr(L_TPR, W_TPR);
	lapic_wr(L_LINT0, W_LINT0);
	lapic_wr(L_LINT1, W_LINT1);
	lapic_wr(L_TDCR, W_TDCR);
	lapic_wr(L_LVT_TIMER, W_TIMER);
	lapic_wr(L_TICR, W_TICR);
	/* Pin 2 (the PIT) edge, masked, vector 0x52 to APIC 1; pin 9 level,
	 * active low, logical, lowest priority, masked, vector 0x59. */
	ioapic_wr(0x10 + 2 * 2, 0x00010052);
	ioapic_wr(0x11 + 2 * 2, 0x01000000);
	ioapic_wr(0x10 + 2 * 9, 0x0001a959);
	ioapic_wr(0x11 + 2 * 9, 0x0f000000);
	outb(0x43, 0x34);                               /* ch0, lo/hi, mode 2 */
	outb(0x40, W_PIT & 0xff);
	outb(0x40, W_PIT >> 8);
}

/* Wait (bounded) for the timer's vector to be pending in the LAPIC's IRR,
 * then take it.  1 if a timer interrupt was handled. */
static int tick(void)
{
	uint32_t t0 = ticks;

	for (uint32_t spin = 0; spin < 2000000u; spin++)
		if (lapic_rd(0x200 + TIMER_VEC / 32 * 0x10) >> (TIMER_VEC % 32) & 1) {
			take_tick();
			return ticks != t0;
		}
	return 0;
}

/* The values set_state wrote, where the guest chose them. */
static void check_written(const struct snap *s)
{
	check("lapic tpr", s->tpr, W_TPR);
	check("lapic ldr", s->ldr, W_LDR);
	check("lapic dfr", s->dfr, W_DFR);
	check("lapic svr", s->svr, W_SVR);
	check("lapic lvt timer", s->timer, W_TIMER);
	check("lapic lint0", s->lint0, W_LINT0);
	check("lapic lint1", s->lint1, W_LINT1);
	check("lapic timer initial count", s->ticr, W_TICR);
	check("lapic timer divide", s->tdcr, W_TDCR);
	check("ioapic redir 2", (uint64_t)s->redir[1] << 32 | s->redir[0], 0x0100000000010052ull);
	check("ioapic redir 9", (uint64_t)s->redir[3] << 32 | s->redir[2], 0x0f0000000001a959ull);
	check("pit ch0 mode", s->pit_status, 0x34);
	check("pat", s->pat, W_PAT);
	check("sysenter cs", s->sysenter_cs, W_SYSENTER_CS);
	check("sysenter esp", s->sysenter_esp, W_SYSENTER_ESP);
	check("sysenter eip", s->sysenter_eip, W_SYSENTER_EIP);
	check("star", s->star, W_STAR);
	check("lstar", s->lstar, W_LSTAR);
	check("cstar", s->cstar, W_CSTAR);
	check("sfmask", s->sfmask, W_SFMASK);
	check("kernel gs base", s->kgs, W_KGS);
	if (has_rdtscp)
		check("tsc aux", s->tsc_aux, W_TSC_AUX);
	check("gdt base", s->gdt_base, (uint32_t)gdt);
	check("idt base", s->idt_base, (uint32_t)idt);
	check("fs base (a load through fs)", s->fs_val, 0x600dcafe);
	check("tr", s->tr, 0x20);
}

/* Everything the guest read before the marker, read again. */
static void check_same(const struct snap *a, const struct snap *b)
{
	check("cr0", b->cr0, a->cr0);
	check("cr4", b->cr4, a->cr4);
	check("efer", b->efer, a->efer);
	check("gdt limit", b->gdt_limit, a->gdt_limit);
	check("idt limit", b->idt_limit, a->idt_limit);
	check("fs selector", b->fs, a->fs);
}

/* Timer interrupts keep coming and the counters move. */
static void check_timers(void)
{
	uint32_t t0 = ticks, c0 = lapic_rd(L_TCCR), c1;
	uint16_t p0 = pit_count(), p1;
	uint64_t tsc0 = rdtsc();

	for (int i = 0; i < 3; i++)
		tick();
	c1 = lapic_rd(L_TCCR);
	p1 = pit_count();
	check_true("lapic timer interrupts arrive", ticks - t0 >= 3);
	check_true("lapic current count moves", c0 != c1 && c1 <= W_TICR);
	check_true("pit ch0 count moves", p0 != p1 && p1 <= W_PIT);
	check_true("tsc moves", rdtsc() > tsc0);
}

void migtest_main(uint32_t magic, uint32_t info)
{
	const struct mbi *mb = (const struct mbi *)info;
	const char *cmdline = (mb->flags & 4) ? (const char *)mb->cmdline : 0;
	struct snap before, after;
	uint32_t t_marker;

	puts("migtest: multiboot magic ");
	puthex(magic);
	putc('\n');
	set_state();
	take(&before);
	check_written(&before);
	tick();
	tick();
	check_true("lapic timer interrupts before the migration", ticks >= 2);
	if (!arg(cmdline, "nokey=", 0)) {
		puts("Now migrate the VM, then press a key to continue...\n");
		t_marker = ticks;
		/* Timer interrupts keep coming while the guest waits. */
		while (!(inb(COM1 + 5) & 1))
			tick();
		(void)inb(COM1);
		puts("migtest: key after ");
		putdec(ticks - t_marker);
		puts(" ticks\n");
	}
	take(&after);
	check_written(&after);
	check_same(&before, &after);
	check_timers();
	finish();
}
