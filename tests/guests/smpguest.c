/* smpguest.c - a multiboot SMP test guest: the BSP starts every AP with
 * INIT, SIPI, SIPI through its LAPIC's ICR (the in-kernel LAPIC delivers
 * them), then each CPU counts ticks and prints them; it ends through
 * isa-debug-exit.  Ring 0 only, and little of it: guest ring 0 is
 * instruction-emulated on the test host.
 *
 * Lines (tests/e2e/test-smp.sh reads them):
 *   smp: fwcfg cpus N                  fw_cfg's CPU count
 *   smp: up K                          APs that came up (N - 1 expected)
 *   smp: cpu C tick K                  CPU C (its LAPIC ID), tick K: 0..ticks-1
 *   smp: done                          every CPU printed all its ticks
 *   smp: exit V                        then V goes to port 0xf4
 * Command line words: ticks=T (default 20), spin=S (loop length between
 * ticks, default 20000), exit=V (default 0).
 */
#include <stdint.h>

#include "mbio.h"

#define LAPIC 0xfee00000u
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_PENDING (1u << 12)
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_ASSERT (1u << 14)
#define ICR_INIT (5u << 8)
#define ICR_SIPI (6u << 8)
#define TRAMP 0x70000u          /* below 1 MiB, past the loader's area */

void smp_bsp_main(uint32_t magic, uint32_t info);
void smp_ap_main(uint32_t id);
extern const char ap_tramp[], ap_tramp_end[];

struct mbi {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
};

static volatile uint32_t print_lock, started, finished;
static uint32_t ticks, spin;

/* One CPU's line at a time: the UART sees whole lines. */
static void lock(void)
{
	while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
		while (print_lock)
			__asm__ volatile("pause");
}

static void unlock(void)
{
	__atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

static uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(LAPIC + reg);
}

static void ipi_all_but_self(uint32_t lo)
{
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, lo | ICR_ALL_BUT_SELF);
	while (lapic_read(LAPIC_ICR_LO) & ICR_PENDING)
		__asm__ volatile("pause");
}

static uint32_t fw_cfg_cpus(void)
{
	uint32_t lo, hi;

	outw(FW_CFG_SEL, 0x0005);
	lo = inb(FW_CFG_DATA);
	hi = inb(FW_CFG_DATA);
	return lo | hi << 8;
}

static void tick_loop(uint32_t id)
{
	for (uint32_t k = 0; k < ticks; k++) {
		for (volatile uint32_t i = 0; i < spin; i++)
			;
		lock();
		puts("smp: cpu ");
		putdec(id);
		puts(" tick ");
		putdec(k);
		putc('\n');
		unlock();
	}
}

void smp_ap_main(uint32_t id)
{
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
	tick_loop(id);
	__atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void smp_bsp_main(uint32_t magic, uint32_t info)
{
	const struct mbi *mb = (const struct mbi *)info;
	const char *cmdline = magic == 0x2badb002 && (mb->flags & 4) ?
			      (const char *)mb->cmdline : 0;
	uint32_t n = fw_cfg_cpus(), v;

	ticks = arg(cmdline, "ticks=", 20);
	spin = arg(cmdline, "spin=", 20000);
	puts("smp: fwcfg cpus ");
	putdec(n);
	puts("\n");
	/* One CPU needs no LAPIC (a VM without an in-kernel one has none). */
	if (n > 1) {
		for (const char *s = ap_tramp; s < ap_tramp_end; s++)
			((volatile char *)TRAMP)[s - ap_tramp] = *s;
		lapic_write(LAPIC_SVR, 0x1ff);  /* enabled, spurious vector 0xff */
		ipi_all_but_self(ICR_INIT | ICR_ASSERT);
		ipi_all_but_self(ICR_SIPI | ICR_ASSERT | (TRAMP >> 12));
		ipi_all_but_self(ICR_SIPI | ICR_ASSERT | (TRAMP >> 12));
	}
	/* Bounded: an AP that never comes is reported, not waited for. */
	for (uint32_t i = 0; started < n - 1 && i < 2000000; i++)
		__asm__ volatile("pause");
	lock();
	puts("smp: up ");
	putdec(started);
	puts("\n");
	unlock();
	tick_loop(0);
	v = started;
	while (finished < v)
		__asm__ volatile("pause");
	puts("smp: done\nsmp: exit ");
	v = arg(cmdline, "exit=", 0);
	putdec(v);
	puts("\n");
	outb(DEBUG_EXIT, (uint8_t)v);
}
