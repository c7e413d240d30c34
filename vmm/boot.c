/* boot.c - ELF64 loader and long-mode entry state; multiboot kernels go to
 * boot_mb_setup.c. */
#include "vmm/boot.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "guest/bootinfo.h"
#include "vmm/boot_mb_setup.h"
#include "vmm/stop.h"

#define ELF_MAX_SIZE   (64u << 20)      /* refuse absurd files early */
#define READ_CHUNK     (4u << 20)       /* between stop-signal checks */
#define PAGE_2M        (2ull << 20)
#define GIB            (1ull << 30)
#define PTE_P          0x1ull
#define PTE_RW         0x2ull
#define PTE_US         0x4ull
#define PTE_PS         0x80ull

#define CR0_PE         (1ull << 0)
#define CR0_MP         (1ull << 1)
#define CR0_ET         (1ull << 4)
#define CR0_NE         (1ull << 5)
#define CR0_WP         (1ull << 16)
#define CR0_AM         (1ull << 18)
#define CR0_PG         (1ull << 31)
#define CR4_PAE        (1ull << 5)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_LME       (1ull << 8)
#define EFER_LMA       (1ull << 10)

#define SEL_CODE       0x08
#define SEL_DATA       0x10
#define SEL_TSS        0x18

/* Open the kernel without blocking (a FIFO would wait for a writer in
 * open) and refuse what is not a regular file of 1 byte to max before a
 * single byte is read: /dev/zero or a FIFO never end, a sparse 5 GiB file
 * would take seconds.  Returns the fd (size in *size) or -1, printed. */
static int open_file(const char *what, const char *path, uint64_t max, uint64_t *size)
{
	struct stat st;
	int fd;

	if (max > ELF_MAX_SIZE)
		max = ELF_MAX_SIZE;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		fprintf(stderr, "vmm: %s %s: %s\n", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "vmm: %s %s: not a regular file\n", what, path);
		close(fd);
		return -1;
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > max) {
		fprintf(stderr, "vmm: %s %s: %lld bytes, need 1 byte to %llu KiB (at most "
			"%u MiB and no more than RAM)\n", what, path, (long long)st.st_size,
			(unsigned long long)(max >> 10), ELF_MAX_SIZE >> 20);
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

int boot_open_kernel(const char *path, uint64_t max, uint64_t *size)
{
	return open_file("kernel", path, max, size);
}

/* The read stops early for a pending stop signal. */
int boot_read_file(const char *what, const char *path, uint64_t max, uint8_t **buf,
		   size_t *len)
{
	uint64_t size;
	size_t done = 0;
	int fd;

	*buf = NULL;
	*len = 0;
	fd = open_file(what, path, max, &size);
	if (fd < 0)
		return -1;
	*len = (size_t)size;
	*buf = malloc(*len);
	if (!*buf) {
		fprintf(stderr, "vmm: %s %s: out of memory\n", what, path);
		close(fd);
		return -1;
	}
	while (done < *len) {
		size_t want = *len - done < READ_CHUNK ? *len - done : READ_CHUNK;
		ssize_t n = read(fd, *buf + done, want);
		int sig = stop_signal_pending();

		if (n < 0 && errno == EINTR)
			continue;
		if (sig || n <= 0) {
			if (sig)
				fprintf(stderr, "vmm: %s %s: reading stopped by %s\n", what, path,
					strsignal(sig));
			else
				fprintf(stderr, "vmm: %s %s: read failed: %s\n", what,
					path,
					n < 0 ? strerror(errno) : "file shrank");
			free(*buf);
			*buf = NULL;
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	close(fd);
	return 0;
}

int boot_read_kernel(const char *path, uint64_t max, uint8_t **buf, size_t *len)
{
	return boot_read_file("kernel", path, max, buf, len);
}

int boot_kernel_facts(const char *path, uint64_t max, uint64_t *size, uint32_t *crc)
{
	uint8_t *img;
	size_t len;

	if (boot_read_kernel(path, max, &img, &len))
		return -1;
	*size = len;
	*crc = (uint32_t)crc32(crc32(0, NULL, 0), img, (uInt)len);
	free(img);
	return 0;
}

/* Every header field is checked before anything is copied, so a hostile
 * file can neither read outside itself nor write outside the kernel's part
 * of RAM. */
static int load_elf(struct kvm_vm *vm, const char *path, const uint8_t *img,
		    size_t len, uint64_t *entry)
{
	const Elf64_Ehdr *eh = (const void *)img;
	bool entry_ok = false;
	unsigned loads = 0;

	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
		fprintf(stderr, "vmm: kernel %s: not an ELF file\n", path);
		return -1;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64) {
		fprintf(stderr, "vmm: kernel %s: not a little-endian x86-64 ELF64 file\n", path);
		return -1;
	}
	if (eh->e_type != ET_EXEC) {
		fprintf(stderr, "vmm: kernel %s: ELF type %u, need a static executable\n",
			path, eh->e_type);
		return -1;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phoff > len || (len - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum) {
		fprintf(stderr, "vmm: kernel %s: program header table out of bounds\n", path);
		return -1;
	}
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t off;

		/* e_phoff need not be aligned in a hostile file. */
		memcpy(&ph, img + eh->e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len ||
		    ph.p_filesz > len - ph.p_offset) {
			fprintf(stderr, "vmm: kernel %s: segment %u: file range out of bounds\n",
				path, i);
			return -1;
		}
		if (ph.p_paddr < BOOT_AREA_END ||
		    !memmap_gpa_offset(&vm->map, ph.p_paddr, ph.p_memsz, &off)) {
			fprintf(stderr, "vmm: kernel %s: segment %u at 0x%llx+0x%llx is outside "
				"RAM 0x%llx-0x%llx%s\n", path, i,
				(unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
				(unsigned long long)BOOT_AREA_END,
				(unsigned long long)vm->map.r[0].size,
				vm->map.n > 1 ? " and the RAM above 4 GiB" : "");
			return -1;
		}
		memcpy(vm->ram + off, img + ph.p_offset, ph.p_filesz);
		memset(vm->ram + off + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if ((ph.p_flags & PF_X) && eh->e_entry >= ph.p_paddr &&
		    eh->e_entry - ph.p_paddr < ph.p_memsz)
			entry_ok = true;
		loads++;
	}
	if (!loads) {
		fprintf(stderr, "vmm: kernel %s: no loadable segments\n", path);
		return -1;
	}
	if (!entry_ok) {
		fprintf(stderr, "vmm: kernel %s: entry point 0x%llx is not in an executable "
			"segment\n", path, (unsigned long long)eh->e_entry);
		return -1;
	}
	*entry = eh->e_entry;
	return 0;
}

/* Page directories the tables need: one per GiB that holds RAM (regions
 * start on a GiB, so a region of n bytes spans ceil(n / 1 GiB) of them). */
#define PDS_FOR(low, high) (((low) + GIB - 1) / GIB + ((high) + GIB - 1) / GIB)
_Static_assert(PDS_FOR(MEMMAP_LOW_END, KVM_RAM_MAX - MEMMAP_LOW_END) <= BOOT_PD_MAX,
	       "KVM_RAM_MAX needs more page directories than the boot area holds");
_Static_assert(BOOT_PD_GPA + BOOT_PD_MAX * 4096ull <= BOOT_AREA_END,
	       "page tables overlap the kernel area");
_Static_assert(MEMMAP_HIGH_BASE % GIB == 0 && (KVM_RAM_MAX - MEMMAP_LOW_END + MEMMAP_HIGH_BASE)
	       <= 512 * GIB, "RAM fits one PDPT of 1 GiB entries");

/* The boot area is in region 0 at its own GPA (host offset = GPA there). */
static void build_page_tables(struct kvm_vm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->ram + BOOT_PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(vm->ram + BOOT_PDPT_GPA);
	uint64_t next_pd = BOOT_PD_GPA;

	pml4[0] = BOOT_PDPT_GPA | PTE_P | PTE_RW | PTE_US;
	for (unsigned r = 0; r < vm->map.n; r++) {
		const struct mem_region *reg = &vm->map.r[r];
		uint64_t end = reg->gpa + reg->size;

		for (uint64_t gpa = reg->gpa; gpa < end; gpa += PAGE_2M) {
			uint64_t *pd;

			if (gpa % GIB == 0) {
				pdpt[gpa / GIB] = next_pd | PTE_P | PTE_RW | PTE_US;
				next_pd += 4096;
			}
			pd = (uint64_t *)(vm->ram + (pdpt[gpa / GIB] & ~0xfffull));
			pd[gpa / PAGE_2M % 512] = gpa | PTE_P | PTE_RW | PTE_US | PTE_PS;
		}
	}
}

static void build_gdt(struct kvm_vm *vm)
{
	uint64_t *gdt = (uint64_t *)(vm->ram + BOOT_GDT_GPA);

	gdt[0] = 0;
	gdt[SEL_CODE / 8] = 0x00af9b000000ffffull;      /* code64, DPL 0 */
	gdt[SEL_DATA / 8] = 0x00cf93000000ffffull;      /* data, DPL 0 */
	/* 64-bit busy TSS: VM entry insists on a usable TR even though the
	 * kernel loads its own before it needs one. */
	gdt[SEL_TSS / 8] = 103 | (BOOT_TSS_GPA & 0xffffff) << 16 | 0x8bull << 40 |
			   (BOOT_TSS_GPA >> 24 & 0xff) << 56;
	gdt[SEL_TSS / 8 + 1] = BOOT_TSS_GPA >> 32;
}

int boot_enter(struct kvm_vm *vm, const struct boot_entry *e)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = SEL_CODE, .type = 11,
		.present = 1, .dpl = 0, .db = !e->long_mode, .s = 1, .l = e->long_mode, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = SEL_DATA, .type = 3,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment tr = {
		.base = BOOT_TSS_GPA, .limit = 103, .selector = SEL_TSS, .type = 11,
		.present = 1, .s = 0,
	};
	struct kvm_sregs s;
	struct kvm_regs r = e->regs;

	if (kvm_get_sregs(vm, &s))
		return -1;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = tr;
	s.gdt.base = BOOT_GDT_GPA;
	s.gdt.limit = e->gdt_limit;
	s.idt.base = 0;
	s.idt.limit = 0;        /* any exception before the kernel's IDT: shutdown */
	s.cr0 = e->cr0;
	s.cr3 = e->cr3;
	s.cr4 = e->cr4;
	s.efer = e->efer;
	if (kvm_set_sregs(vm, &s))
		return -1;
	r.rflags = 0x2;         /* bit 1 is reserved-one; IF off until the IDT */
	return kvm_set_regs(vm, &r);
}

static int set_entry_state(struct kvm_vm *vm, uint64_t entry)
{
	struct boot_entry e = {
		.long_mode = true,
		.gdt_limit = 5 * 8 - 1,
		.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG,
		.cr3 = BOOT_PML4_GPA,
		.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT,
		.efer = EFER_LME | EFER_LMA,
		.regs = { .rip = entry, .rsp = BOOT_STACK_TOP, .rdi = BOOT_INFO_GPA },
	};

	return boot_enter(vm, &e);
}

/* An x86-64 ELF64 file boots as it always has; anything else is offered
 * to the multiboot loader, which names what it lacks. */
static bool is_elf64(const uint8_t *img, size_t len)
{
	const Elf64_Ehdr *eh = (const void *)img;

	return len >= sizeof(*eh) && !memcmp(eh->e_ident, ELFMAG, SELFMAG) &&
	       eh->e_ident[EI_CLASS] == ELFCLASS64 && eh->e_machine == EM_X86_64;
}

int boot_setup(struct kvm_vm *vm, const char *path, const char *cmdline,
	       const char *const *modules, unsigned nmodules, struct boot_facts *facts)
{
	size_t cmdline_len = strlen(cmdline);
	struct bootinfo bi;
	uint8_t *img;
	uint64_t entry;
	size_t len;
	int rc;

	if (cmdline_len > BOOT_CMDLINE_MAX) {
		fprintf(stderr, "vmm: command line is %zu bytes, the limit is %u\n",
			cmdline_len, BOOT_CMDLINE_MAX);
		return -1;
	}
	if (vm->ram_size < KVM_RAM_MIN || vm->ram_size > KVM_RAM_MAX) {
		fprintf(stderr, "vmm: RAM size must be %llu MiB to %llu MiB\n",
			KVM_RAM_MIN >> 20, KVM_RAM_MAX >> 20);
		return -1;
	}
	if (boot_read_kernel(path, vm->ram_size, &img, &len))
		return -1;
	memset(facts, 0, sizeof(*facts));
	facts->kernel.size = len;
	facts->kernel.crc = (uint32_t)crc32(crc32(0, NULL, 0), img, (uInt)len);
	if (!is_elf64(img, len)) {
		rc = boot_mb_setup(vm, path, img, len, cmdline, modules, nmodules, facts);
		free(img);
		return rc;
	}
	if (nmodules) {
		fprintf(stderr, "vmm: kernel %s: an ELF64 kernel takes no modules (--module and "
			"--initrd need a multiboot kernel)\n", path);
		free(img);
		return -1;
	}
	rc = load_elf(vm, path, img, len, &entry);
	free(img);
	if (rc)
		return -1;

	build_page_tables(vm);
	build_gdt(vm);
	memset(vm->ram + BOOT_TSS_GPA, 0, 104);
	memcpy(vm->ram + BOOT_CMDLINE_GPA, cmdline, cmdline_len);
	bi = (struct bootinfo){
		.magic = BOOTINFO_MAGIC,
		.version = BOOTINFO_VERSION,
		.mem_size = vm->ram_size,
		.cmdline_gpa = BOOT_CMDLINE_GPA,
		.cmdline_len = (uint32_t)cmdline_len,
		.nmem = vm->map.n,
	};
	_Static_assert(MEMMAP_MAX_REGIONS <= BOOTINFO_MEM_MAX, "the memory map fits bootinfo");
	for (unsigned i = 0; i < vm->map.n; i++)
		bi.mem[i] = (struct bootinfo_mem){ .addr = vm->map.r[i].gpa,
						   .size = vm->map.r[i].size,
						   .type = BOOTINFO_MEM_RAM };
	memcpy(vm->ram + BOOT_INFO_GPA, &bi, sizeof(bi));
	return set_entry_state(vm, entry);
}
