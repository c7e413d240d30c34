/* boot_multiboot.c - multiboot v1 header, image plan and info block. */
#include "vmm/boot_multiboot.h"
#include "vmm/memmap.h"

#include <elf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmm/boot.h"

#define PAGE_4K        4096ull
#define LOW_MEM_END    0xa0000ull       /* conventional memory: 640 KiB */
#define HIGH_MEM_START 0x100000ull

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* ---- header ---------------------------------------------------------------- */

int mb_find_header(const uint8_t *img, size_t len, struct mb_header *h, char *err,
		   size_t errlen)
{
	size_t scan = len < MB_SEARCH_LEN ? len : MB_SEARCH_LEN;
	long bad = -1;
	uint32_t bad_sum = 0;

	for (size_t off = 0; off + 12 <= scan; off += 4) {
		uint32_t magic = rd32(img + off), flags, sum;

		if (magic != MB_HEADER_MAGIC)
			continue;
		flags = rd32(img + off + 4);
		sum = rd32(img + off + 8);
		if ((uint32_t)(magic + flags + sum) != 0) {
			if (bad < 0) {
				bad = (long)off;
				bad_sum = sum;
			}
			continue;
		}
		memset(h, 0, sizeof(*h));
		h->offset = (uint32_t)off;
		h->flags = flags;
		if ((flags & 0xffffu) & ~MB_HF_SUPPORTED)
			return fail(err, errlen, "multiboot header at offset %zu: flags 0x%08x "
				    "require features 0x%04x this loader does not offer", off,
				    flags, (flags & 0xffffu) & ~MB_HF_SUPPORTED);
		if (flags & MB_HF_ADDRESSES) {
			if (len - off < 32)
				return fail(err, errlen, "multiboot header at offset %zu: address "
					    "fields run past the end of the file (%zu bytes)",
					    off, len);
			h->header_addr = rd32(img + off + 12);
			h->load_addr = rd32(img + off + 16);
			h->load_end_addr = rd32(img + off + 20);
			h->bss_end_addr = rd32(img + off + 24);
			h->entry_addr = rd32(img + off + 28);
		}
		return 1;
	}
	if (bad >= 0)
		return fail(err, errlen, "multiboot header at offset %ld: checksum 0x%08x is "
			    "wrong (magic + flags + checksum must be 0)", bad, bad_sum);
	return 0;
}

/* ---- image plan ------------------------------------------------------------- */

/* Where the kernel and modules may load: above the boot area, inside the
 * RAM at GPA 0 (up to the hole below 4 GiB, memmap.h; a 32-bit entry could
 * not reach the RAM above it anyway). */
static uint64_t load_limit(uint64_t ram_size)
{
	return ram_size < MEMMAP_LOW_END ? ram_size : MEMMAP_LOW_END;
}

static int check_range(const char *what, unsigned i, uint64_t paddr, uint64_t memsz,
		       uint64_t ram_size, char *err, size_t errlen)
{
	uint64_t lim = load_limit(ram_size);

	if (paddr < BOOT_AREA_END || paddr > lim || memsz > lim - paddr)
		return fail(err, errlen, "%s %u at 0x%llx+0x%llx is outside RAM 0x%llx-0x%llx "
			    "(the boot area is below 0x%llx)", what, i,
			    (unsigned long long)paddr, (unsigned long long)memsz,
			    (unsigned long long)BOOT_AREA_END, (unsigned long long)lim,
			    (unsigned long long)BOOT_AREA_END);
	return 0;
}

/* Flag bit 16: one segment described by the header itself.  The file
 * offset of load_addr is the header's offset minus (header_addr -
 * load_addr). */
static int plan_addresses(size_t len, const struct mb_header *h, uint64_t ram_size,
			  struct mb_image *im, char *err, size_t errlen)
{
	struct mb_segment *s = &im->seg[0];
	uint64_t lead, end;

	if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > h->offset)
		return fail(err, errlen, "multiboot header_addr 0x%x and load_addr 0x%x put "
			    "the image start before the file's start (header at offset %u)",
			    h->header_addr, h->load_addr, h->offset);
	lead = h->header_addr - h->load_addr;
	s->paddr = h->load_addr;
	s->file_off = h->offset - lead;
	if (h->load_end_addr == 0) {
		s->filesz = len - s->file_off;
	} else {
		if (h->load_end_addr <= h->load_addr)
			return fail(err, errlen, "multiboot load_end_addr 0x%x is not above "
				    "load_addr 0x%x", h->load_end_addr, h->load_addr);
		s->filesz = (uint64_t)h->load_end_addr - h->load_addr;
		if (s->filesz > len - s->file_off)
			return fail(err, errlen, "multiboot load_end_addr 0x%x: 0x%llx bytes from "
				    "offset %llu run past the end of the file (%zu bytes)",
				    h->load_end_addr, (unsigned long long)s->filesz,
				    (unsigned long long)s->file_off, len);
	}
	end = s->paddr + s->filesz;
	if (h->bss_end_addr == 0) {
		s->memsz = s->filesz;
	} else {
		if (h->bss_end_addr < end)
			return fail(err, errlen, "multiboot bss_end_addr 0x%x is below the end of "
				    "the loaded data 0x%llx", h->bss_end_addr,
				    (unsigned long long)end);
		s->memsz = (uint64_t)h->bss_end_addr - s->paddr;
	}
	if (s->memsz == 0)
		return fail(err, errlen, "multiboot image is empty (load_addr 0x%x)", h->load_addr);
	if (check_range("multiboot image", 0, s->paddr, s->memsz, ram_size, err, errlen))
		return -1;
	if (h->entry_addr < s->paddr || h->entry_addr - s->paddr >= s->memsz)
		return fail(err, errlen, "multiboot entry_addr 0x%x is outside the image "
			    "0x%llx-0x%llx", h->entry_addr, (unsigned long long)s->paddr,
			    (unsigned long long)(s->paddr + s->memsz));
	im->nseg = 1;
	im->entry = h->entry_addr;
	return 0;
}

/* Flag bit 16 clear: the file must be a 32-bit x86 ELF executable; its
 * PT_LOAD segments go to their physical addresses. */
static int plan_elf32(const uint8_t *img, size_t len, uint64_t ram_size, struct mb_image *im,
		      char *err, size_t errlen)
{
	Elf32_Ehdr eh;
	bool entry_ok = false;

	if (len < sizeof(eh) || memcmp(img, ELFMAG, SELFMAG))
		return fail(err, errlen, "multiboot header without address fields (flag 16) "
			    "and the file is not an ELF file");
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS32 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_386)
		return fail(err, errlen, "multiboot ELF file is not little-endian i386 ELF32 "
			    "(class %u, machine %u)", eh.e_ident[EI_CLASS], eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return fail(err, errlen, "multiboot ELF type %u, need a static executable",
			    eh.e_type);
	if (eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phnum == 0 || eh.e_phoff > len ||
	    (len - eh.e_phoff) / sizeof(Elf32_Phdr) < eh.e_phnum)
		return fail(err, errlen, "multiboot ELF program header table (offset %u, %u "
			    "entries of %u bytes) out of bounds", eh.e_phoff, eh.e_phnum,
			    eh.e_phentsize);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		struct mb_segment *s;
		Elf32_Phdr ph;

		memcpy(&ph, img + eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (im->nseg == MB_SEGMENTS_MAX)
			return fail(err, errlen, "multiboot ELF has more than %u loadable segments",
				    MB_SEGMENTS_MAX);
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len ||
		    ph.p_filesz > len - ph.p_offset)
			return fail(err, errlen, "multiboot ELF segment %u: file range 0x%x+0x%x "
				    "out of bounds", i, ph.p_offset, ph.p_filesz);
		if (check_range("multiboot ELF segment", i, ph.p_paddr, ph.p_memsz, ram_size,
				err, errlen))
			return -1;
		s = &im->seg[im->nseg++];
		*s = (struct mb_segment){ ph.p_paddr, ph.p_offset, ph.p_filesz, ph.p_memsz };
		/* e_entry is virtual; it runs at the physical twin (paging off). */
		if (!entry_ok && eh.e_entry >= ph.p_vaddr && eh.e_entry - ph.p_vaddr < ph.p_memsz) {
			im->entry = eh.e_entry - ph.p_vaddr + ph.p_paddr;
			entry_ok = true;
		}
	}
	if (!im->nseg)
		return fail(err, errlen, "multiboot ELF has no loadable segments");
	if (!entry_ok)
		return fail(err, errlen, "multiboot ELF entry point 0x%x is not in a loadable "
			    "segment", eh.e_entry);
	return 0;
}

int mb_plan_image(const uint8_t *img, size_t len, const struct mb_header *h,
		  uint64_t ram_size, struct mb_image *im, char *err, size_t errlen)
{
	int rc;

	memset(im, 0, sizeof(*im));
	if (h->flags & MB_HF_ADDRESSES)
		rc = plan_addresses(len, h, ram_size, im, err, errlen);
	else
		rc = plan_elf32(img, len, ram_size, im, err, errlen);
	if (rc)
		return rc;
	for (unsigned i = 0; i < im->nseg; i++)
		if (im->seg[i].paddr + im->seg[i].memsz > im->end)
			im->end = im->seg[i].paddr + im->seg[i].memsz;
	return 0;
}

void mb_copy_image(uint8_t *ram, const uint8_t *img, const struct mb_image *im)
{
	for (unsigned i = 0; i < im->nseg; i++) {
		const struct mb_segment *s = &im->seg[i];

		memcpy(ram + s->paddr, img + s->file_off, s->filesz);
		memset(ram + s->paddr + s->filesz, 0, s->memsz - s->filesz);
	}
}

/* ---- information block ------------------------------------------------------ */

static void put_mmap_entry(uint8_t *p, uint64_t base, uint64_t length, uint32_t type)
{
	wr32(p, 20);            /* size of the rest of the entry */
	wr64(p + 4, base);
	wr64(p + 12, length);
	wr32(p + 20, type);
}

/* Available RAM below 640 KiB and from 1 MiB; the legacy VGA/BIOS hole in
 * between is reported reserved although KVM backs it with RAM here.  RAM
 * past MEMMAP_LOW_END sits from 4 GiB up (memmap.h).  Returns the number
 * of entries. */
static unsigned put_mmap(uint8_t *ram, uint64_t ram_size)
{
	uint64_t low = load_limit(ram_size);

	_Static_assert(MB_MMAP_GPA + 24 * MB_MMAP_ENTRIES_MAX <= MB_LOADER_GPA,
		       "memory map overlaps the loader name");
	put_mmap_entry(ram + MB_MMAP_GPA, 0, LOW_MEM_END, 1);
	put_mmap_entry(ram + MB_MMAP_GPA + 24, LOW_MEM_END, HIGH_MEM_START - LOW_MEM_END, 2);
	put_mmap_entry(ram + MB_MMAP_GPA + 48, HIGH_MEM_START, low - HIGH_MEM_START, 1);
	if (ram_size <= low)
		return 3;
	put_mmap_entry(ram + MB_MMAP_GPA + 72, MEMMAP_HIGH_BASE, ram_size - low, 1);
	return 4;
}

int mb_write_info(uint8_t *ram, uint64_t ram_size, const struct mb_image *im,
		  const char *cmdline, const struct mb_module_in *mods, unsigned n,
		  struct mb_module_out *where, char *err, size_t errlen)
{
	uint64_t lim = load_limit(ram_size);
	uint64_t next = (im->end + PAGE_4K - 1) & ~(PAGE_4K - 1);
	size_t cmdline_len = strlen(cmdline);
	uint8_t *info = ram + MB_INFO_GPA;
	unsigned nmmap;

	_Static_assert(MB_MODSTR_GPA + MB_MODULES_MAX * (MB_MODSTR_MAX + 1ull) <=
		       BOOT_AREA_END, "module strings overlap the kernel area");
	_Static_assert(MB_MODS_GPA + MB_MODULES_MAX * 16 <= MB_MODSTR_GPA,
		       "module list overlaps the module strings");
	_Static_assert(MB_CMDLINE_GPA + BOOT_CMDLINE_MAX + 1 <= MB_MODS_GPA,
		       "command line overlaps the module list");
	if (n > MB_MODULES_MAX)
		return fail(err, errlen, "%u modules, the limit is %u", n, MB_MODULES_MAX);
	if (cmdline_len > BOOT_CMDLINE_MAX)
		return fail(err, errlen, "multiboot command line is %zu bytes, the limit is %u",
			    cmdline_len, BOOT_CMDLINE_MAX);
	for (unsigned i = 0; i < n; i++) {
		size_t slen = strlen(mods[i].string);
		uint8_t *ent = ram + MB_MODS_GPA + 16ull * i;
		uint64_t str_gpa = MB_MODSTR_GPA + (MB_MODSTR_MAX + 1ull) * i;

		if (slen > MB_MODSTR_MAX)
			return fail(err, errlen, "module %u: string is %zu bytes, the limit is %u",
				    i, slen, MB_MODSTR_MAX);
		if (next > lim || mods[i].len > lim - next)
			return fail(err, errlen, "module %u: %zu bytes at 0x%llx do not fit in RAM "
				    "below 0x%llx", i, mods[i].len, (unsigned long long)next,
				    (unsigned long long)lim);
		memcpy(ram + next, mods[i].data, mods[i].len);
		memcpy(ram + str_gpa, mods[i].string, slen + 1);
		wr32(ent, (uint32_t)next);
		wr32(ent + 4, (uint32_t)(next + mods[i].len));
		wr32(ent + 8, (uint32_t)str_gpa);
		wr32(ent + 12, 0);
		if (where)
			where[i] = (struct mb_module_out){ (uint32_t)next,
							   (uint32_t)(next + mods[i].len) };
		next = (next + mods[i].len + PAGE_4K - 1) & ~(PAGE_4K - 1);
	}
	memcpy(ram + MB_CMDLINE_GPA, cmdline, cmdline_len + 1);
	memcpy(ram + MB_LOADER_GPA, MB_LOADER_NAME, sizeof(MB_LOADER_NAME));
	nmmap = put_mmap(ram, ram_size);
	memset(info, 0, MB_INFO_SIZE);
	wr32(info + 0, MB_INFO_MEM | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP |
		       MB_INFO_LOADER);
	wr32(info + 4, (uint32_t)(LOW_MEM_END >> 10));                  /* mem_lower */
	wr32(info + 8, (uint32_t)((lim - HIGH_MEM_START) >> 10));       /* mem_upper */
	wr32(info + 16, (uint32_t)MB_CMDLINE_GPA);
	wr32(info + 20, n);
	wr32(info + 24, (uint32_t)MB_MODS_GPA);
	wr32(info + 44, nmmap * 24);
	wr32(info + 48, (uint32_t)MB_MMAP_GPA);
	wr32(info + 64, (uint32_t)MB_LOADER_GPA);
	return 0;
}
