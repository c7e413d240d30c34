/* boot.h - load an ELF64 kernel and enter it directly in 64-bit long mode.
 *
 * Guest-physical layout set up here (all below the kernel):
 *
 *   0x0000  unused (null page)
 *   0x1000  boot GDT (null, code64, data, TSS) and a zeroed boot TSS
 *   0x2000  struct bootinfo (guest/bootinfo.h) with the memory map
 *   0x3000  command line, up to BOOT_CMDLINE_MAX bytes
 *   0x4000  boot stack, grows down from 0x8000
 *   0x8000  PML4, 0x9000 PDPT, 0xa000.. one PD per GiB of address space
 *           that holds RAM, in address order: at most BOOT_PD_MAX (64 for
 *           KVM_RAM_MAX: GiBs 0-2 and 4-64), so they end by 0x4a000
 *   0x50000 first byte a kernel segment may occupy (kernel.elf: 1 MiB)
 *
 * The page tables identity-map every RAM region of the memory map
 * (memmap.h) with 2 MiB pages, user-accessible (U/S set at every level) so
 * the guest's ring-3 code may touch any RAM; the hole below 4 GiB is not
 * mapped.  The VMM builds them because the guest's ring 0 runs emulated
 * here (~0.6 M instructions/s): 64 GiB take 32768 entries.
 */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/boot_multiboot.h"
#include "vmm/kvm.h"

#define BOOT_GDT_GPA      0x1000ull
#define BOOT_TSS_GPA      0x1100ull
#define BOOT_INFO_GPA     0x2000ull
#define BOOT_CMDLINE_GPA  0x3000ull
#define BOOT_CMDLINE_MAX  4095u
#define BOOT_STACK_TOP    0x8000ull
#define BOOT_PML4_GPA     0x8000ull
#define BOOT_PDPT_GPA     0x9000ull
#define BOOT_PD_GPA       0xa000ull
#define BOOT_PD_MAX       64u
#define BOOT_AREA_END     0x50000ull

/* Size and CRC32 of one file the boot loaded (kernel or module). */
struct boot_file_facts {
	uint64_t size;
	uint32_t crc;
};

/* What a boot loaded, as the machine unit records it. */
struct boot_facts {
	struct boot_file_facts kernel;
	bool multiboot;                 /* entered by the multiboot protocol */
	unsigned nmodules;
	struct boot_file_facts module[MB_MODULES_MAX];
};

/* Load the kernel at path into vm's RAM and set the vCPU's registers to
 * enter it.  An ELF64 x86-64 file boots in long mode: PT_LOAD segments at
 * their physical addresses, each inside one RAM region above
 * BOOT_AREA_END, bss zeroed, page tables, GDT and boot-info block (memory
 * map, cmdline at most BOOT_CMDLINE_MAX bytes); it takes no
 * modules.  Any other file must carry a multiboot header and boots by
 * that protocol with the nmodules "FILE[,ARGS]" specs as modules
 * (boot_mb_setup.c).  facts gets what was loaded.  Prints one line naming
 * the file and the problem on failure, returns -1. */
int boot_setup(struct kvm_vm *vm, const char *path, const char *cmdline,
	       const char *const *modules, unsigned nmodules, struct boot_facts *facts);

/* A boot's entry state: flat 4 GiB code (selector 0x08, 64-bit with
 * long_mode, else 32-bit) and data (0x10) segments of the GDT at
 * BOOT_GDT_GPA (limit gdt_limit), the busy TSS (0x18) at BOOT_TSS_GPA, no
 * IDT, these control registers, regs with RFLAGS = 2 (IF off). */
struct boot_entry {
	bool long_mode;
	uint16_t gdt_limit;
	uint64_t cr0, cr3, cr4, efer;
	struct kvm_regs regs;
};
/* Set vm's vCPU to e; -1 if KVM refused (printed by kvm.c). */
int boot_enter(struct kvm_vm *vm, const struct boot_entry *e);

/* Open the kernel at path for reading if it is a regular file of 1 byte
 * to min(max, 64 MiB) (never blocks); the fd and its size, or -1 after one
 * printed line.  Lets a fresh boot refuse a wrong file before building. */
int boot_open_kernel(const char *path, uint64_t max, uint64_t *size);
/* Read a whole kernel file into *buf (malloc'd): only a regular file of
 * 1 byte to min(max, 64 MiB), checked before reading; opening never blocks
 * and a pending stop signal ends the read.  -1 after one printed line. */
int boot_read_kernel(const char *path, uint64_t max, uint8_t **buf, size_t *len);
/* boot_read_kernel for another file the boot reads; what ("module")
 * names it in messages. */
int boot_read_file(const char *what, const char *path, uint64_t max, uint8_t **buf,
		   size_t *len);
/* Size and CRC32 of the kernel file at path (boot_read_kernel rules). */
int boot_kernel_facts(const char *path, uint64_t max, uint64_t *size, uint32_t *crc);

#endif
