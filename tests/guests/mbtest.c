/* mbtest.c - a multiboot test guest: prints on COM1 what the loader gave
 * it, then ends through isa-debug-exit.
 *
 * Lines (tests/e2e/test-multiboot.sh reads them):
 *   mbtest: magic M eflags E cr0 C cs S      (hex)
 *   mbtest: flags F                          info block flags (hex)
 *   mbtest: mem_lower L mem_upper U          KiB (decimal)
 *   mbtest: cmdline [S]
 *   mbtest: loader [S]
 *   mbtest: mmap BASE LEN TYPE               per entry (hex, hex, decimal)
 *   mbtest: mods N
 *   mbtest: mod I start A end B aligned 0|1 fnv H string [S]
 *                                            H: FNV-1a 32 of the contents
 *   mbtest: fwcfg sig [S] id I ram R cpus C maxram M
 *   mbtest: tick K                           spin=N: N of them, slowly
 *   mbtest: cpuid vendor [S] 1.ecx C 1.edx D 7.ebx B 7.ecx E
 *                                            after each tick with cpuid=1
 *   mbtest: exit V                           then V goes to port 0xf4
 * Command line words: exit=V (default 0), spin=N (default 0), cpuid=1.
 */
#include <stdint.h>

#include "mbio.h"

struct mbi {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
};

struct mb_mod {
	uint32_t start, end, string, reserved;
};

void mbtest_main(uint32_t magic, uint32_t info);

static void puthex(uint32_t v)
{
	static const char d[] = "0123456789abcdef";
	int started = 0;

	for (int i = 28; i >= 0; i -= 4) {
		unsigned n = (v >> i) & 15;

		if (n || started || i == 0) {
			putc(d[n]);
			started = 1;
		}
	}
}

static void puthex64(uint32_t lo, uint32_t hi)
{
	if (hi) {
		puthex(hi);
		for (int i = 28; i >= 0; i -= 4)
			putc("0123456789abcdef"[(lo >> i) & 15]);
	} else {
		puthex(lo);
	}
}

static uint32_t fnv1a(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;

	while (n--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static void fw_cfg_read(uint16_t key, uint8_t *buf, unsigned n)
{
	outw(FW_CFG_SEL, key);
	for (unsigned i = 0; i < n; i++)
		buf[i] = inb(FW_CFG_DATA);
}

static uint32_t le32(const uint8_t *b)
{
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void show_mmap(const struct mbi *mb)
{
	uint32_t p = mb->mmap_addr;

	while (p < mb->mmap_addr + mb->mmap_length) {
		const uint32_t *e = (const uint32_t *)p;

		puts("mbtest: mmap ");
		puthex64(e[1], e[2]);
		putc(' ');
		puthex64(e[3], e[4]);
		putc(' ');
		putdec(e[5]);
		putc('\n');
		p += e[0] + 4;
	}
}

static void show_mods(const struct mbi *mb)
{
	const struct mb_mod *m = (const struct mb_mod *)mb->mods_addr;

	puts("mbtest: mods ");
	putdec(mb->mods_count);
	putc('\n');
	for (uint32_t i = 0; i < mb->mods_count; i++) {
		puts("mbtest: mod ");
		putdec(i);
		puts(" start ");
		puthex(m[i].start);
		puts(" end ");
		puthex(m[i].end);
		puts(" aligned ");
		putdec((m[i].start & 4095) == 0);
		puts(" fnv ");
		puthex(fnv1a((const uint8_t *)m[i].start, m[i].end - m[i].start));
		puts(" string [");
		puts((const char *)m[i].string);
		puts("]\n");
	}
}

static void show_fw_cfg(void)
{
	uint8_t sig[5] = { 0 }, id[4], ram[8], cpus[2], maxram[8];

	fw_cfg_read(0x0000, sig, 4);
	fw_cfg_read(0x0001, id, 4);
	fw_cfg_read(0x0003, ram, 8);
	fw_cfg_read(0x0005, cpus, 2);
	fw_cfg_read(0x0011, maxram, 8);
	puts("mbtest: fwcfg sig [");
	puts((const char *)sig);
	puts("] id ");
	putdec(le32(id));
	puts(" ram ");
	puthex64(le32(ram), le32(ram + 4));
	puts(" cpus ");
	putdec(cpus[0] | (uint32_t)cpus[1] << 8);
	puts(" maxram ");
	puthex64(le32(maxram), le32(maxram + 4));
	putc('\n');
}

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

/* What the guest sees of the CPU model now (--cpu, kept across restores). */
static void show_cpuid(void)
{
	uint32_t v[4], l1[4], l7[4] = { 0, 0, 0, 0 };
	char name[13];

	cpuid(0, 0, v);
	for (int i = 0; i < 12; i++)
		name[i] = (char)((i < 4 ? v[1] : i < 8 ? v[3] : v[2]) >> (8 * (i % 4)));
	name[12] = 0;
	cpuid(1, 0, l1);
	if (v[0] >= 7)
		cpuid(7, 0, l7);
	puts("mbtest: cpuid vendor [");
	puts(name);
	puts("] 1.ecx ");
	puthex(l1[2]);
	puts(" 1.edx ");
	puthex(l1[3]);
	puts(" 7.ebx ");
	puthex(l7[1]);
	puts(" 7.ecx ");
	puthex(l7[2]);
	putc('\n');
}

void mbtest_main(uint32_t magic, uint32_t info)
{
	const struct mbi *mb = (const struct mbi *)info;
	const char *cmdline = 0;
	uint32_t eflags, cr0, cs, spin;

	__asm__ volatile("pushfl; popl %0" : "=r"(eflags));
	__asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("movl %%cs, %0" : "=r"(cs));
	puts("mbtest: magic ");
	puthex(magic);
	puts(" eflags ");
	puthex(eflags);
	puts(" cr0 ");
	puthex(cr0);
	puts(" cs ");
	puthex(cs);
	puts("\nmbtest: flags ");
	puthex(mb->flags);
	putc('\n');
	if (mb->flags & 1) {
		puts("mbtest: mem_lower ");
		putdec(mb->mem_lower);
		puts(" mem_upper ");
		putdec(mb->mem_upper);
		putc('\n');
	}
	if (mb->flags & 4) {
		cmdline = (const char *)mb->cmdline;
		puts("mbtest: cmdline [");
		puts(cmdline);
		puts("]\n");
	}
	if (mb->flags & 0x200) {
		puts("mbtest: loader [");
		puts((const char *)mb->boot_loader_name);
		puts("]\n");
	}
	if (mb->flags & 0x40)
		show_mmap(mb);
	if (mb->flags & 8)
		show_mods(mb);
	show_fw_cfg();
	spin = arg(cmdline, "spin=", 0);
	for (uint32_t k = 0; k < spin; k++) {
		for (volatile uint32_t i = 0; i < 20000; i++)
			;
		puts("mbtest: tick ");
		putdec(k);
		putc('\n');
		if (arg(cmdline, "cpuid=", 0))
			show_cpuid();
	}
	puts("mbtest: exit ");
	putdec(arg(cmdline, "exit=", 0));
	putc('\n');
	outb(DEBUG_EXIT, (uint8_t)arg(cmdline, "exit=", 0));
}
