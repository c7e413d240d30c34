/* test_multiboot.c - multiboot header search, image plan (ELF32 and the
 * address fields) and information block against specification 0.6.96,
 * and refusal of hostile kernel files. */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot.h"
#include "vmm/boot_multiboot.h"

#define RAM (16ull << 20)

static uint8_t img[16384];
static char err[256];

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* A header at off with flags (checksum fixed) and, with bit 16, fields. */
static void header(size_t off, uint32_t flags, uint32_t haddr, uint32_t load,
		   uint32_t lend, uint32_t bend, uint32_t entry)
{
	put32(img + off, MB_HEADER_MAGIC);
	put32(img + off + 4, flags);
	put32(img + off + 8, -(MB_HEADER_MAGIC + flags));
	put32(img + off + 12, haddr);
	put32(img + off + 16, load);
	put32(img + off + 20, lend);
	put32(img + off + 24, bend);
	put32(img + off + 28, entry);
}

static void setup(void)
{
	memset(img, 0, sizeof img);
	err[0] = 0;
}

TestSuite(multiboot, .init = setup);

Test(multiboot, finds_aligned_header_within_8k_only)
{
	struct mb_header h;

	header(4096, MB_HF_ADDRESSES, 0x101000, 0x100000, 0, 0, 0x101020);
	cr_assert_eq(mb_find_header(img, sizeof img, &h, err, sizeof err), 1, "%s", err);
	cr_assert_eq(h.offset, 4096);
	cr_assert_eq(h.load_addr, 0x100000);
	cr_assert_eq(h.entry_addr, 0x101020);
	/* Misaligned or beyond the first 8192 bytes: not a header. */
	setup();
	header(4098, 0, 0, 0, 0, 0, 0);
	cr_assert_eq(mb_find_header(img, sizeof img, &h, err, sizeof err), 0);
	setup();
	header(8192, 0, 0, 0, 0, 0, 0);
	cr_assert_eq(mb_find_header(img, sizeof img, &h, err, sizeof err), 0);
}

Test(multiboot, bad_checksum_is_refused_naming_offset)
{
	struct mb_header h;

	header(64, 0, 0, 0, 0, 0, 0);
	put32(img + 72, get32(img + 72) + 1);
	cr_assert_eq(mb_find_header(img, sizeof img, &h, err, sizeof err), -1);
	cr_assert(strstr(err, "offset 64") && strstr(err, "checksum"), "%s", err);
	/* A good header after a bad one is taken. */
	header(128, 0, 0, 0, 0, 0, 0);
	cr_assert_eq(mb_find_header(img, sizeof img, &h, err, sizeof err), 1);
	cr_assert_eq(h.offset, 128);
}

Test(multiboot, unknown_requirement_bits_and_short_file)
{
	struct mb_header h;

	header(0, 1u << 5, 0, 0, 0, 0, 0);
	cr_assert_eq(mb_find_header(img, sizeof img, &h, err, sizeof err), -1);
	cr_assert(strstr(err, "0x0020"), "%s", err);
	/* Bits above 15 other than 16 are optional: accepted. */
	header(0, 1u << 20, 0, 0, 0, 0, 0);
	cr_assert_eq(mb_find_header(img, sizeof img, &h, err, sizeof err), 1, "%s", err);
	/* Address fields cut off by the end of the file. */
	header(0, MB_HF_ADDRESSES, 0, 0, 0, 0, 0);
	cr_assert_eq(mb_find_header(img, 28, &h, err, sizeof err), -1);
	cr_assert(strstr(err, "past the end"), "%s", err);
}

static int plan(uint32_t haddr, uint32_t load, uint32_t lend, uint32_t bend, uint32_t entry,
		size_t len, struct mb_image *im)
{
	struct mb_header h;

	setup();
	header(32, MB_HF_ADDRESSES, haddr, load, lend, bend, entry);
	cr_assert_eq(mb_find_header(img, len, &h, err, sizeof err), 1, "%s", err);
	return mb_plan_image(img, len, &h, RAM, im, err, sizeof err);
}

Test(multiboot, address_fields_plan)
{
	struct mb_image im;

	/* Header 32 bytes into the file at 0x100020: the file loads at 1 MiB. */
	cr_assert_eq(plan(0x100020, 0x100000, 0x100800, 0x102000, 0x100040, 4096, &im), 0,
		     "%s", err);
	cr_assert_eq(im.nseg, 1);
	cr_assert_eq(im.seg[0].paddr, 0x100000);
	cr_assert_eq(im.seg[0].file_off, 0);
	cr_assert_eq(im.seg[0].filesz, 0x800);
	cr_assert_eq(im.seg[0].memsz, 0x2000);
	cr_assert_eq(im.entry, 0x100040);
	cr_assert_eq(im.end, 0x102000);
	/* load_end 0: the rest of the file; bss_end 0: no bss. */
	cr_assert_eq(plan(0x100020, 0x100000, 0, 0, 0x100040, 4096, &im), 0, "%s", err);
	cr_assert_eq(im.seg[0].filesz, 4096);
	cr_assert_eq(im.seg[0].memsz, 4096);
}

Test(multiboot, address_fields_refusals)
{
	static const struct {
		uint32_t haddr, load, lend, bend, entry;
		const char *says;
	} cases[] = {
		{ 0x100020, 0x100000, 0x200000, 0, 0x100040, "past the end of the file" },
		{ 0x100100, 0x100000, 0, 0, 0x100100, "before the file" },
		{ 0x100020, 0x100030, 0, 0, 0x100040, "before the file" },
		{ 0x8020, 0x8000, 0, 0, 0x8040, "outside RAM" },           /* boot area */
		{ 0x2000020, 0x2000000, 0, 0, 0x2000040, "outside RAM" },  /* > 16 MiB */
		{ 0x100020, 0x100000, 0, 0x1100000, 0x100040, "outside RAM" }, /* bss */
		{ 0xffffff20, 0xffffff00, 0, 0, 0xffffff40, "outside RAM" },   /* wraps */
		{ 0x100020, 0x100000, 0x100000, 0, 0x100040, "not above" },
		{ 0x100020, 0x100000, 0x100800, 0x100400, 0x100040, "below the end" },
		{ 0x100020, 0x100000, 0x100800, 0, 0x100800, "entry_addr" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mb_image im;

		cr_assert_eq(plan(cases[i].haddr, cases[i].load, cases[i].lend, cases[i].bend,
				  cases[i].entry, 4096, &im), -1, "case %zu planned", i);
		cr_assert(strstr(err, cases[i].says), "case %zu: %s", i, err);
	}
}

/* The layout of the peer baseline's guest (../shared/bench/miniguest.asm,
 * not needed here: its header is rebuilt below): the header at offset 0
 * asking for nothing but the address fields (no memory information, bit 1
 * clear), a file padded with bytes past load_end_addr that must not be
 * loaded, and bss up to 0x120000 that must read as zeros. */
Test(multiboot, peer_guest_layout_loads_only_up_to_load_end)
{
	struct mb_header h;
	struct mb_image im;
	uint8_t *ram = malloc(0x120000);

	cr_assert(ram);
	header(0, MB_HF_ADDRESSES, 0x100000, 0x100000, 0x100600, 0x120000, 0x100020);
	memset(img + 32, 0x90, 0x600 - 32);
	memset(img + 0x600, 0xee, 0x3000 - 0x600);   /* padding past load_end */
	cr_assert_eq(mb_find_header(img, 0x3000, &h, err, sizeof err), 1, "%s", err);
	cr_assert_eq(h.flags, MB_HF_ADDRESSES);
	cr_assert_eq(mb_plan_image(img, 0x3000, &h, RAM, &im, err, sizeof err), 0, "%s", err);
	cr_assert_eq(im.nseg, 1);
	cr_assert_eq(im.seg[0].file_off, 0);
	cr_assert_eq(im.seg[0].filesz, 0x600);
	cr_assert_eq(im.seg[0].memsz, 0x20000);
	cr_assert_eq(im.entry, 0x100020);
	memset(ram, 0x55, 0x120000);
	mb_copy_image(ram, img, &im);
	cr_assert_eq(get32(ram + 0x100000), MB_HEADER_MAGIC);
	cr_assert_eq(ram[0x1005ff], 0x90);
	for (size_t i = 0x100600; i < 0x120000; i++)
		cr_assert_eq(ram[i], 0, "byte 0x%zx past load_end is 0x%02x", i, ram[i]);
	cr_assert_eq(ram[0xfffff], 0x55, "the loader wrote below load_addr");
	free(ram);
}

/* An ELF32 image with one PT_LOAD at paddr (vaddr = paddr + voff). */
static size_t elf32(uint32_t paddr, uint32_t voff, uint32_t filesz, uint32_t memsz,
		    uint32_t entry)
{
	Elf32_Ehdr eh = { 0 };
	Elf32_Phdr ph = { 0 };

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_386;
	eh.e_entry = entry;
	eh.e_phoff = sizeof eh;
	eh.e_phentsize = sizeof ph;
	eh.e_phnum = 1;
	ph.p_type = PT_LOAD;
	ph.p_offset = 4096;
	ph.p_paddr = paddr;
	ph.p_vaddr = paddr + voff;
	ph.p_filesz = filesz;
	ph.p_memsz = memsz;
	memcpy(img, &eh, sizeof eh);
	memcpy(img + sizeof eh, &ph, sizeof ph);
	header(sizeof eh + sizeof ph, MB_HF_PAGE_ALIGN | MB_HF_MEMINFO, 0, 0, 0, 0, 0);
	memset(img + 4096, 0xab, 4096);
	return sizeof img;
}

Test(multiboot, elf32_plan_translates_entry)
{
	struct mb_header h;
	struct mb_image im;
	size_t len = elf32(0x400000, 0xc0000000, 4096, 0x3000, 0xc0400010);

	cr_assert_eq(mb_find_header(img, len, &h, err, sizeof err), 1, "%s", err);
	cr_assert_eq(mb_plan_image(img, len, &h, RAM, &im, err, sizeof err), 0, "%s", err);
	cr_assert_eq(im.nseg, 1);
	cr_assert_eq(im.entry, 0x400010, "entry 0x%x", im.entry);
	cr_assert_eq(im.end, 0x403000);
}

Test(multiboot, elf32_refusals)
{
	struct mb_header h;
	struct mb_image im;
	size_t len;

	len = elf32(0xf00000, 0, 4096, 0x200000, 0xf00000);       /* past 16 MiB */
	mb_find_header(img, len, &h, err, sizeof err);
	cr_assert_eq(mb_plan_image(img, len, &h, RAM, &im, err, sizeof err), -1);
	cr_assert(strstr(err, "segment 0") && strstr(err, "outside RAM"), "%s", err);
	len = elf32(0x400000, 0, 12288 + 1, 0x4000, 0x400000);    /* file range */
	mb_find_header(img, len, &h, err, sizeof err);
	cr_assert_eq(mb_plan_image(img, len, &h, RAM, &im, err, sizeof err), -1);
	cr_assert(strstr(err, "out of bounds"), "%s", err);
	len = elf32(0x400000, 0, 4096, 4096, 0x500000);           /* entry */
	mb_find_header(img, len, &h, err, sizeof err);
	cr_assert_eq(mb_plan_image(img, len, &h, RAM, &im, err, sizeof err), -1);
	cr_assert(strstr(err, "entry point"), "%s", err);
	len = elf32(0x400000, 0, 4096, 4096, 0x400000);           /* phnum huge */
	((Elf32_Ehdr *)img)->e_phnum = 0xffff;
	mb_find_header(img, len, &h, err, sizeof err);
	cr_assert_eq(mb_plan_image(img, len, &h, RAM, &im, err, sizeof err), -1);
	cr_assert(strstr(err, "program header table"), "%s", err);
	len = elf32(0x400000, 0, 4096, 4096, 0x400000);           /* ELF64 class */
	img[EI_CLASS] = ELFCLASS64;
	mb_find_header(img, len, &h, err, sizeof err);
	cr_assert_eq(mb_plan_image(img, len, &h, RAM, &im, err, sizeof err), -1);
	cr_assert(strstr(err, "i386 ELF32"), "%s", err);
}

Test(multiboot, info_block_layout)
{
	static const uint8_t mod0[13] = "hello module";
	struct mb_module_in mods[2] = {
		{ mod0, sizeof mod0, "m0 a b" },
		{ img, 5000, "m1" },
	};
	struct mb_module_out where[2];
	struct mb_image im = { .nseg = 1, .end = 0x100123 };
	uint8_t *ram = calloc(1, RAM);
	const uint8_t *info, *e;

	cr_assert_not_null(ram);
	cr_assert_eq(mb_write_info(ram, RAM, &im, "kernel x=1", mods, 2, where, err,
				   sizeof err), 0, "%s", err);
	info = ram + MB_INFO_GPA;
	cr_assert_eq(get32(info), MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP |
				  MB_INFO_LOADER);
	cr_assert_eq(get32(info + 4), 640);
	cr_assert_eq(get32(info + 8), (RAM - (1u << 20)) >> 10);
	cr_assert_str_eq((const char *)ram + get32(info + 16), "kernel x=1");
	cr_assert_eq(get32(info + 20), 2);
	cr_assert_str_eq((const char *)ram + get32(info + 64), "vmm");
	/* Modules: page-aligned after the kernel, apart, exact sizes. */
	e = ram + get32(info + 24);
	cr_assert_eq(get32(e), 0x101000);
	cr_assert_eq(get32(e + 4), 0x101000 + sizeof mod0);
	cr_assert_str_eq((const char *)ram + get32(e + 8), "m0 a b");
	cr_assert_eq(get32(e + 16), 0x102000);
	cr_assert_eq(get32(e + 20), 0x102000 + 5000);
	cr_assert_eq(memcmp(ram + 0x101000, mod0, sizeof mod0), 0);
	cr_assert_eq(where[1].start, 0x102000);
	/* Memory map: 3 entries of size 20 (+4), covering RAM. */
	cr_assert_eq(get32(info + 44), 72);
	e = ram + get32(info + 48);
	cr_assert_eq(get32(e), 20);
	cr_assert_eq(get32(e + 20), 1);
	cr_assert_eq(get32(e + 48 + 4), 0x100000);
	cr_assert_eq(get32(e + 48 + 12), RAM - 0x100000);
	free(ram);
}

Test(multiboot, info_refuses_modules_beyond_ram)
{
	struct mb_module_in mods[1] = { { img, 4096, "big" } };
	struct mb_image im = { .nseg = 1, .end = RAM - 2048 };
	uint8_t *ram = calloc(1, RAM);

	cr_assert_not_null(ram);
	cr_assert_eq(mb_write_info(ram, RAM, &im, "", mods, 1, NULL, err, sizeof err), -1);
	cr_assert(strstr(err, "module 0") && strstr(err, "do not fit"), "%s", err);
	cr_assert_eq(mb_write_info(ram, RAM, &im, "", mods, MB_MODULES_MAX + 1, NULL, err,
				   sizeof err), -1);
	free(ram);
}
