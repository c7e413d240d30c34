/* boot_multiboot.h - Multiboot (v1, specification 0.6.96) kernels: finding
 * and checking the header, planning the image load (ELF32 program headers
 * or the header's address fields), and writing the image, the modules and
 * the multiboot information block into guest RAM.  Pure: works on byte
 * buffers, no files, no KVM (boot_mb_setup.c does those).
 *
 * Everything read from the kernel file is untrusted: each function checks
 * every field it uses against the file's length and the RAM it may write,
 * and fills err with one line naming the field (and file offset) on
 * refusal.
 *
 * Guest-physical layout a multiboot boot uses below BOOT_AREA_END (the
 * kernel and the modules are never loaded there):
 *
 *   0x1000  GDT: null, flat 32-bit code (0x08), flat data (0x10), TSS (0x18)
 *   0x1100  zeroed 32-bit TSS (VM entry needs a usable TR)
 *   0x2000  multiboot information block (MB_INFO_SIZE bytes)
 *   0x2080  memory map: 3 or 4 entries of 24 bytes (4: RAM above 4 GiB)
 *   0x2100  boot loader name, NUL-terminated
 *   0x3000  command line, NUL-terminated, at most BOOT_CMDLINE_MAX bytes
 *   0x4000  module list: MB_MODULES_MAX entries of 16 bytes
 *   0x4100  module strings, MB_MODSTR_MAX + 1 bytes each
 *
 * Modules go after the kernel's last loaded byte, each at a 4 KiB
 * boundary.
 */
#ifndef VMM_BOOT_MULTIBOOT_H
#define VMM_BOOT_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#define MB_HEADER_MAGIC   0x1badb002u   /* in the kernel file */
#define MB_BOOT_MAGIC     0x2badb002u   /* in EAX at entry */
#define MB_SEARCH_LEN     8192u         /* the header lies in these bytes */

#define MB_HF_PAGE_ALIGN  (1u << 0)     /* modules at 4 KiB boundaries */
#define MB_HF_MEMINFO     (1u << 1)     /* mem_* fields wanted */
#define MB_HF_VIDEO       (1u << 2)     /* video mode wanted (none given) */
#define MB_HF_ADDRESSES   (1u << 16)    /* header holds load addresses */
/* Requirement bits 0-15 this loader honours; any other one is refused. */
#define MB_HF_SUPPORTED   (MB_HF_PAGE_ALIGN | MB_HF_MEMINFO | MB_HF_VIDEO)

#define MB_INFO_MEM       (1u << 0)
#define MB_INFO_CMDLINE   (1u << 2)
#define MB_INFO_MODS      (1u << 3)
#define MB_INFO_MMAP      (1u << 6)
#define MB_INFO_LOADER    (1u << 9)

#define MB_GDT_GPA        0x1000ull
#define MB_TSS_GPA        0x1100ull
#define MB_INFO_GPA       0x2000ull
#define MB_INFO_SIZE      88u           /* through vbe_*: 0..87 */
#define MB_MMAP_GPA       0x2080ull
#define MB_MMAP_ENTRIES_MAX 4u
#define MB_LOADER_GPA     0x2100ull
#define MB_CMDLINE_GPA    0x3000ull
#define MB_MODS_GPA       0x4000ull
#define MB_MODSTR_GPA     0x4100ull
#define MB_MODULES_MAX    16u
#define MB_MODSTR_MAX     1023u         /* bytes of one module string */
#define MB_SEGMENTS_MAX   32u           /* loadable ELF32 segments */
#define MB_LOADER_NAME    "vmm"

#define MB_SEL_CODE       0x08
#define MB_SEL_DATA       0x10
#define MB_SEL_TSS        0x18

/* A header found in the file (fields as stored; offset: where). */
struct mb_header {
	uint32_t offset;
	uint32_t flags;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* One piece of the image: filesz bytes from file_off to paddr, then zeros
 * up to memsz. */
struct mb_segment {
	uint64_t paddr, file_off, filesz, memsz;
};

struct mb_image {
	unsigned nseg;
	struct mb_segment seg[MB_SEGMENTS_MAX];
	uint32_t entry;                 /* physical entry point (EIP) */
	uint64_t end;                   /* first byte after the last segment */
};

/* A module's contents and its string (what the guest sees in the list). */
struct mb_module_in {
	const uint8_t *data;
	size_t len;
	const char *string;
};

/* Where the modules went, for the caller's records. */
struct mb_module_out {
	uint32_t start, end;
};

/* Search img's first MB_SEARCH_LEN bytes (4-byte aligned) for a header
 * with a valid checksum.  1: found (*h filled), 0: no magic at all,
 * -1: refused (a magic with a bad checksum and no good header, fields past
 * the end of the file, unsupported requirement bits), err filled. */
int mb_find_header(const uint8_t *img, size_t len, struct mb_header *h, char *err,
		   size_t errlen);

/* Plan the load of img per h: the address fields (flag bit 16) or else the
 * ELF32 program headers.  Every segment must lie in [BOOT_AREA_END,
 * min(ram_size, 4 GiB)) and come from inside the file; the entry point
 * must be in a loaded segment.  0, or -1 with err filled. */
int mb_plan_image(const uint8_t *img, size_t len, const struct mb_header *h,
		  uint64_t ram_size, struct mb_image *im, char *err, size_t errlen);

/* Copy the planned image into ram (zeroing each bss); im came from
 * mb_plan_image with this img and a ram of at least that ram_size. */
void mb_copy_image(uint8_t *ram, const uint8_t *img, const struct mb_image *im);

/* Place the n modules after the image (4 KiB aligned) and write the
 * information block, memory map, loader name, cmdline and module list
 * into ram.  Checks: n <= MB_MODULES_MAX, cmdline <= BOOT_CMDLINE_MAX,
 * each string <= MB_MODSTR_MAX, every module inside RAM below 4 GiB.
 * where (may be NULL) gets each module's range.  0, or -1 with err. */
int mb_write_info(uint8_t *ram, uint64_t ram_size, const struct mb_image *im,
		  const char *cmdline, const struct mb_module_in *mods, unsigned n,
		  struct mb_module_out *where, char *err, size_t errlen);

#endif
