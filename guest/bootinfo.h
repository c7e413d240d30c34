/* bootinfo.h - boot-info block the VMM hands to the test kernel.
 *
 * Shared by guest/ and vmm/ so both sides agree on one layout.  The VMM
 * enters the kernel in 64-bit mode with RDI = guest-physical address of this
 * block; all fields are little-endian and the block is 8-byte aligned.
 */
#ifndef GUEST_BOOTINFO_H
#define GUEST_BOOTINFO_H

#include <stdint.h>

#define BOOTINFO_MAGIC   0x424d5353u    /* "SSMB" read as a little-endian u32 */
/* Version 2 added the memory map; the first 32 bytes are version 1's. */
#define BOOTINFO_VERSION 2u
#define BOOTINFO_MEM_MAX 4u
#define BOOTINFO_MEM_RAM 1u     /* e820's type for usable RAM */

/* One range of guest-physical memory, as an e820 entry describes it. */
struct bootinfo_mem {
	uint64_t addr;
	uint64_t size;
	uint32_t type;          /* BOOTINFO_MEM_RAM */
	uint32_t reserved;      /* zero */
};

struct bootinfo {
	uint32_t magic;         /* BOOTINFO_MAGIC */
	uint32_t version;       /* BOOTINFO_VERSION */
	uint64_t mem_size;      /* bytes of RAM in all, the sum of mem[].size */
	uint64_t cmdline_gpa;   /* command line bytes, not NUL-terminated */
	uint32_t cmdline_len;
	uint32_t reserved;      /* zero; keeps the size a multiple of 8 */
	/* The RAM ranges in address order (below 3 GiB, then from 4 GiB),
	 * every byte of them identity-mapped by the boot page tables. */
	uint32_t nmem;          /* entries used, 1..BOOTINFO_MEM_MAX */
	uint32_t reserved2;     /* zero */
	struct bootinfo_mem mem[BOOTINFO_MEM_MAX];
};

_Static_assert(sizeof(struct bootinfo_mem) == 24, "bootinfo layout is ABI");
_Static_assert(sizeof(struct bootinfo) == 40 + 24 * BOOTINFO_MEM_MAX, "bootinfo layout is ABI");

#endif
