/* boot_mb_setup.c - multiboot boot: files, RAM and the 32-bit entry state. */
#include "vmm/boot_mb_setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define CR0_PE 0x1ull
#define CR0_ET 0x10ull

struct loaded_module {
	uint8_t *data;
	size_t len;
	char string[MB_MODSTR_MAX + 1];
};

/* Read module spec "FILE[,ARGS]": its file and the string the guest sees. */
static int read_module(struct kvm_vm *vm, const char *spec, unsigned i,
		       struct loaded_module *lm, struct boot_file_facts *f)
{
	const char *comma = strchr(spec, ',');
	size_t flen = comma ? (size_t)(comma - spec) : strlen(spec);
	char file[4096];
	int n;

	if (flen == 0 || flen >= sizeof(file)) {
		fprintf(stderr, "vmm: module %u \"%s\": need FILE[,ARGS] with a file name of "
			"1 to %zu bytes\n", i, spec, sizeof(file) - 1);
		return -1;
	}
	memcpy(file, spec, flen);
	file[flen] = 0;
	n = comma ? snprintf(lm->string, sizeof(lm->string), "%s %s", file, comma + 1) :
		    snprintf(lm->string, sizeof(lm->string), "%s", file);
	if (n < 0 || (size_t)n >= sizeof(lm->string)) {
		fprintf(stderr, "vmm: module %u %s: its string is longer than %u bytes\n", i,
			file, MB_MODSTR_MAX);
		return -1;
	}
	if (boot_read_file("module", file, vm->ram_size, &lm->data, &lm->len))
		return -1;
	f->size = lm->len;
	f->crc = (uint32_t)crc32(crc32(0, NULL, 0), lm->data, (uInt)lm->len);
	return 0;
}

static void build_gdt32(struct kvm_vm *vm)
{
	uint64_t *gdt = (uint64_t *)(vm->ram + MB_GDT_GPA);

	gdt[0] = 0;
	gdt[MB_SEL_CODE / 8] = 0x00cf9b000000ffffull;   /* code32, DPL 0, 4 GiB */
	gdt[MB_SEL_DATA / 8] = 0x00cf93000000ffffull;   /* data32, DPL 0, 4 GiB */
	/* 32-bit busy TSS: VM entry wants a usable TR; the kernel loads its
	 * own (the specification leaves GDTR and TR to it). */
	gdt[MB_SEL_TSS / 8] = 103 | (MB_TSS_GPA & 0xffffff) << 16 | 0x8bull << 40 |
			      (MB_TSS_GPA >> 24 & 0xff) << 56;
	memset(vm->ram + MB_TSS_GPA, 0, 104);
}

/* The GDT and TSS share the ELF64 boot's places and selectors, so one
 * entry routine (boot_enter) serves both. */
_Static_assert(MB_GDT_GPA == BOOT_GDT_GPA && MB_TSS_GPA == BOOT_TSS_GPA,
	       "multiboot GDT/TSS must be where boot_enter points");
_Static_assert(MB_SEL_CODE == 0x08 && MB_SEL_DATA == 0x10 && MB_SEL_TSS == 0x18,
	       "multiboot selectors must be boot_enter's");

static int set_entry_state32(struct kvm_vm *vm, uint32_t entry)
{
	struct boot_entry e = {
		.long_mode = false,
		.gdt_limit = 4 * 8 - 1,
		.cr0 = CR0_PE | CR0_ET,         /* protected mode, paging off */
		.regs = { .rip = entry, .rax = MB_BOOT_MAGIC, .rbx = MB_INFO_GPA },
	};

	return boot_enter(vm, &e);
}

int boot_mb_setup(struct kvm_vm *vm, const char *path, const uint8_t *img, size_t len,
		  const char *cmdline, const char *const *modules, unsigned nmodules,
		  struct boot_facts *facts)
{
	struct loaded_module *lm = NULL;
	struct mb_module_in in[MB_MODULES_MAX];
	struct mb_header h;
	struct mb_image im;
	char err[256], *line = NULL;
	int rc = -1, found;

	found = mb_find_header(img, len, &h, err, sizeof(err));
	if (found <= 0) {
		if (found == 0)
			fprintf(stderr, "vmm: kernel %s: neither an x86-64 ELF64 file nor a multiboot "
				"kernel (no header in its first %u bytes)\n", path, MB_SEARCH_LEN);
		else
			fprintf(stderr, "vmm: kernel %s: %s\n", path, err);
		return -1;
	}
	if (mb_plan_image(img, len, &h, vm->ram_size, &im, err, sizeof(err))) {
		fprintf(stderr, "vmm: kernel %s: %s\n", path, err);
		return -1;
	}
	if (nmodules > MB_MODULES_MAX) {
		fprintf(stderr, "vmm: %u modules, the limit is %u\n", nmodules, MB_MODULES_MAX);
		return -1;
	}
	lm = calloc(nmodules ? nmodules : 1, sizeof(*lm));
	if (!lm || asprintf(&line, "%s%s%s", path, *cmdline ? " " : "", cmdline) < 0) {
		fprintf(stderr, "vmm: kernel %s: out of memory\n", path);
		line = NULL;
		goto out;
	}
	for (unsigned i = 0; i < nmodules; i++) {
		if (read_module(vm, modules[i], i, &lm[i], &facts->module[i]))
			goto out;
		in[i] = (struct mb_module_in){ lm[i].data, lm[i].len, lm[i].string };
	}
	mb_copy_image(vm->ram, img, &im);
	if (mb_write_info(vm->ram, vm->ram_size, &im, line, in, nmodules, NULL, err,
			  sizeof(err))) {
		fprintf(stderr, "vmm: kernel %s: %s\n", path, err);
		goto out;
	}
	build_gdt32(vm);
	facts->multiboot = true;
	facts->nmodules = nmodules;
	rc = set_entry_state32(vm, im.entry);
out:
	for (unsigned i = 0; lm && i < nmodules; i++)
		free(lm[i].data);
	free(lm);
	free(line);
	return rc;
}
