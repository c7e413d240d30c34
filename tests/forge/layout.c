/* layout.c - the payload of each unit the vmm saves, field by field, with
 * the values the tool believes legal.
 *
 * Mirrors the savers (vmm/units.c, vmm/cpu_codec.c, vmm/ram.c,
 * devices/pic.c, pit.c, serial.c) for the unit versions listed; a unit of
 * another version, or data the layout does not fit exactly, is described
 * byte by byte ("+offset") instead, so the sweep still covers it.  The
 * legal ranges are the architecture's and the device models' rules, not a
 * copy of the loaders' checks: a value outside them that survives a
 * restore and a re-save is "illegal state kept".
 */
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/serial.h"
#include "tests/forge/forge.h"

#define MARK_BEGIN 0x5e55a1b0u
#define MARK_END 0x5e55a1edu
#define CMDLINE_CAP 4096       /* vmm/units.h UNITS_CMDLINE_MAX */
#define PATH_CAP 4096          /* vmm/units.h UNITS_PATH_MAX */
#define MODULES_MAX 16          /* vmm/boot_multiboot.h MB_MODULES_MAX */
#define MODSPEC_CAP 1024        /* vmm/units.h UNITS_MODSPEC_MAX */
#define BACKEND_BUF 256        /* vmm/serial_backend.h SERIAL_BACKEND_BUF */
#define MSR_MAX 1024           /* vmm/cpu_codec.h CPU_MSR_MAX */
#define CPUID_MAX 256          /* vmm/cpu_codec.h CPU_CPUID_MAX */
#define XSAVE_MAX 65536        /* vmm/cpu_codec.h CPU_XSAVE_MAX (version 2) */
#define TSC_KHZ_MIN 1000       /* docs/security.md: 1 MHz..100 GHz, or 0 */
#define TSC_KHZ_MAX 100000000
#define MSR_EFER 0xc0000080u

#define SZ(type, m) sizeof(((type *)0)->m)

/* A cursor over the unit's data while the layout is laid on it. */
struct cur {
	const uint8_t *d;
	size_t len, off;
	bool bad;
	struct flayout *l;
};

static struct ffield *add(struct cur *c, enum fkind k, size_t size, const char *fmt, ...)
{
	struct flayout *l = c->l;
	struct ffield *f;
	va_list ap;

	if (c->bad || size > c->len - c->off) {
		c->bad = true;
		return NULL;
	}
	f = grow_one((void **)&l->f, &l->n, &l->cap, sizeof *f);
	if (!f) {
		c->bad = true;
		return NULL;
	}
	va_start(ap, fmt);
	vsnprintf(f->name, sizeof f->name, fmt, ap);
	va_end(ap);
	f->kind = k;
	f->off = c->off;
	f->size = size;
	c->off += size;
	return f;
}

static uint64_t peek(const struct cur *c, size_t size)
{
	return c->bad || size > c->len - c->off ? 0 : get_le(c->d + c->off, size);
}

/* Integer field with a legality rule. */
static void num(struct cur *c, const char *name, size_t size, enum legal lg, uint64_t a,
		uint64_t b)
{
	struct ffield *f = add(c, F_INT, size, "%s", name);

	if (f) {
		f->legal = lg;
		f->a = a;
		f->b = b;
	}
}

static void any(struct cur *c, const char *name, size_t size)
{
	num(c, name, size, LG_ANY, 0, 0);
}

static void flag(struct cur *c, const char *name)
{
	num(c, name, 1, LG_MAX, 1, 0);
}

static void marker(struct cur *c, const char *table, bool begin)
{
	if (peek(c, 4) != (begin ? MARK_BEGIN : MARK_END))
		c->bad = true;
	add(c, F_MARKER, 4, "%s.%s", table, begin ? "begin-marker" : "end-marker");
}

static void str(struct cur *c, const char *name, size_t cap)
{
	uint64_t n = peek(c, 4);
	struct ffield *f = add(c, F_STRLEN, 4, "%s.len", name);

	if (f)
		f->str_cap = cap;
	add(c, F_STRBYTES, (size_t)n, "%s", name);
}

static uint64_t count(struct cur *c, const char *name, uint64_t max)
{
	uint64_t n = peek(c, 4);
	struct ffield *f = add(c, F_COUNT, 4, "%s", name);

	if (f) {
		f->legal = LG_MAX;
		f->a = max;
	}
	return n;
}

static void blob(struct cur *c, const char *name, size_t size)
{
	add(c, F_BLOB, size, "%s", name);
}

/* ---- machine, serial-backend (vmm/units.c) ------------------------------- */

static void lay_machine_v(struct cur *c, int version)
{
	num(c, "ram_size", 8, LG_RANGE, 4u << 20, 64ull << 30);
	if (c->l->n)
		c->l->f[c->l->n - 1].mult = 1u << 20;
	str(c, "cmdline", CMDLINE_CAP);
	str(c, "kernel", PATH_CAP);
	any(c, "kernel_size", 8);
	any(c, "kernel_crc", 4);
	str(c, "serial", PATH_CAP);
	if (version >= 2) {
		uint64_t n;

		flag(c, "multiboot");
		n = count(c, "nmodules", MODULES_MAX);
		for (uint64_t i = 0; i < n && !c->bad; i++) {
			char nm[48];

			snprintf(nm, sizeof nm, "module[%llu].spec", (unsigned long long)i);
			str(c, nm, MODSPEC_CAP);
			snprintf(nm, sizeof nm, "module[%llu].size", (unsigned long long)i);
			any(c, nm, 8);
			snprintf(nm, sizeof nm, "module[%llu].crc", (unsigned long long)i);
			any(c, nm, 4);
		}
	}
	if (version >= 3) {
		num(c, "irqchip", 1, LG_MAX, 1, 0);
		/* The forged base has one vCPU: any other count contradicts its
		 * cpu instances (or needs irqchip 1), so only 1 is legal. */
		num(c, "ncpus", 4, LG_RANGE, 1, 1);
	}
	/* vmm/clock.h VCLOCK_MAX_NS: 146 years, far from any overflow. */
	num(c, "clock_ns", 8, LG_MAX, 1ull << 62, 0);
}

static void lay_machine(struct cur *c)
{
	lay_machine_v(c, 1);
}

static void lay_machine2(struct cur *c)
{
	lay_machine_v(c, 2);
}

static void lay_machine3(struct cur *c)
{
	lay_machine_v(c, 3);
}

static void lay_backend(struct cur *c)
{
	uint64_t n;

	num(c, "kind", 1, LG_MAX, 2, 0);
	str(c, "spec", PATH_CAP);
	n = count(c, "pending", BACKEND_BUF);
	blob(c, "pending_bytes", (size_t)n);
}

/* ---- devices --------------------------------------------------------------- */

static void lay_pic(struct cur *c)
{
	static const uint8_t elcr[2] = { PIC_ELCR_MASK_MASTER, PIC_ELCR_MASK_SLAVE };
	static const char *const flags[] = { "icw4_needed", "single", "ltim", "auto_eoi",
		"rotate_on_aeoi", "sfnm", "special_mask", "read_isr", "poll" };
	char n[64];

	marker(c, "pic", true);
	for (int i = 0; i < 2; i++) {
#define F(s) (snprintf(n, sizeof n, "chip[%d].%s", i, s), n)
		any(c, F("irr"), 1);
		any(c, F("isr"), 1);
		any(c, F("imr"), 1);
		any(c, F("lines"), 1);
		num(c, F("elcr"), 1, LG_MASK, elcr[i], 0);
		num(c, F("irq_base"), 1, LG_MULT, 8, 0);
		num(c, F("priority_add"), 1, LG_MAX, 7, 0);
		num(c, F("init_state"), 1, LG_MAX, 3, 0);
		for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
			flag(c, F(flags[k]));
#undef F
	}
	marker(c, "pic", false);
}

static void lay_pit(struct cur *c)
{
	char n[64];

	marker(c, "pit", true);
	for (int i = 0; i < PIT_CHANNELS; i++) {
#define F(s) (snprintf(n, sizeof n, "ch[%d].%s", i, s), n)
		num(c, F("count_load_time"), 8, LG_MAX, INT64_MAX, 0);
		num(c, F("base_ticks"), 8, LG_MAX, PIT_MAX_BASE - 1, 0);
		num(c, F("count"), 4, LG_RANGE, 1, 0x10000);
		any(c, F("latched_count"), 2);
		num(c, F("count_latched"), 1, LG_MAX, PIT_ACC_WORD_MSB, 0);
		flag(c, F("status_latched"));
		any(c, F("status"), 1);
		num(c, F("read_state"), 1, LG_RANGE, PIT_ACC_LSB, PIT_ACC_WORD_MSB);
		num(c, F("write_state"), 1, LG_RANGE, PIT_ACC_LSB, PIT_ACC_WORD_MSB);
		any(c, F("write_lsb"), 1);
		num(c, F("rw_mode"), 1, LG_RANGE, PIT_RW_LSB, PIT_RW_LSB_MSB);
		num(c, F("mode"), 1, LG_MAX, 7, 0);
		flag(c, F("bcd"));
		flag(c, F("gate"));
		flag(c, F("null_count"));
		num(c, F("ce_state"), 1, LG_MAX, PIT_CE_HELD, 0);
#undef F
	}
	flag(c, "speaker_data");
	marker(c, "pit", false);
	num(c, "saved_now", 8, LG_MAX, INT64_MAX, 0);
}

static void lay_serial(struct cur *c)
{
	char n[64];

	marker(c, "serial", true);
	for (int i = 0; i < SERIAL_FIFO_SIZE; i++) {
		snprintf(n, sizeof n, "rx_fifo[%d]", i);
		any(c, n, 1);
	}
	num(c, "rx_head", 1, LG_MAX, SERIAL_FIFO_SIZE - 1, 0);
	num(c, "rx_count", 1, LG_MAX, SERIAL_FIFO_SIZE, 0);
	any(c, "rbr", 1);
	num(c, "ier", 1, LG_MASK, SERIAL_IER_MASK, 0);
	num(c, "fcr", 1, LG_MASK, SERIAL_FCR_KEEP, 0);
	any(c, "lcr", 1);
	num(c, "mcr", 1, LG_MASK, SERIAL_MCR_MASK, 0);
	num(c, "lsr", 1, LG_MASK, SERIAL_LSR_ERRORS, 0);
	any(c, "msr", 1);
	any(c, "scr", 1);
	any(c, "dll", 1);
	any(c, "dlm", 1);
	flag(c, "thr_ipending");
	flag(c, "timeout_pending");
	num(c, "modem_in", 1, LG_MASK, SERIAL_MSR_LINES, 0);
	marker(c, "serial", false);
}

/* ---- ram (vmm/ram.c) --------------------------------------------------------- */

static void lay_ram(struct cur *c)
{
	uint8_t kind = (uint8_t)peek(c, 1);

	num(c, "kind", 1, LG_MAX, 1, 0);
	if (kind == 0) {
		uint64_t size = peek(c, 8);

		num(c, "size", 8, LG_RANGE, 4u << 20, 64ull << 30);
		blob(c, "image", (size_t)size);
		return;
	}
	for (int r = 0; !c->bad; r++) {
		char n[64];
		uint32_t np;

		snprintf(n, sizeof n, "run[%d].first_page", r);
		any(c, n, 8);
		np = (uint32_t)peek(c, 4);
		snprintf(n, sizeof n, "run[%d].npages", r);
		num(c, n, 4, LG_MAX, 256, 0);
		if (!np)
			break;
		snprintf(n, sizeof n, "run[%d].pages", r);
		blob(c, n, (size_t)np * 4096);
	}
}

/* ---- cpu (vmm/cpu_state.c, vmm/units.c) ------------------------------------- */

static void lay_segment(struct cur *c, const char *seg)
{
	char n[64];

#define F(s) (snprintf(n, sizeof n, "sregs.%s.%s", seg, s), n)
	marker(c, "segment", true);
	any(c, F("base"), SZ(struct kvm_segment, base));
	any(c, F("limit"), SZ(struct kvm_segment, limit));
	any(c, F("selector"), SZ(struct kvm_segment, selector));
	num(c, F("type"), 1, LG_MAX, 15, 0);
	flag(c, F("present"));
	num(c, F("dpl"), 1, LG_MAX, 3, 0);
	flag(c, F("db"));
	flag(c, F("s"));
	flag(c, F("l"));
	flag(c, F("g"));
	flag(c, F("avl"));
	flag(c, F("unusable"));
	marker(c, "segment", false);
#undef F
}

/* Version 1: struct kvm_xsave, 4096 bytes; 2: KVM_GET_XSAVE2's size. */
static void lay_xsave(struct cur *c, uint32_t version)
{
	size_t start = c->off, len = (size_t)peek(c, 4);

	num(c, "xsave.len", 4, LG_RANGE, sizeof(struct kvm_xsave),
	    version < 2 ? sizeof(struct kvm_xsave) : XSAVE_MAX);
	if (len < sizeof(struct kvm_xsave) || len > XSAVE_MAX) {
		c->bad = true;
		return;
	}
	any(c, "xsave.fcw", 2);
	any(c, "xsave.fsw", 2);
	any(c, "xsave.ftw", 1);
	any(c, "xsave.reserved1", 1);
	any(c, "xsave.fop", 2);
	any(c, "xsave.fip", 8);
	any(c, "xsave.fdp", 8);
	/* MXCSR bits 16-31 are reserved: XRSTOR faults on them. */
	num(c, "xsave.mxcsr", 4, LG_MASK, 0xffff, 0);
	any(c, "xsave.mxcsr_mask", 4);
	blob(c, "xsave.st_xmm", 512 - 32);
	any(c, "xsave.xstate_bv", 8);
	/* KVM_SET_XSAVE takes the standard (non-compacted) format. */
	num(c, "xsave.xcomp_bv", 8, LG_ZERO, 0, 0);
	blob(c, "xsave.hdr_reserved", 48);
	blob(c, "xsave.ext", len - 576);
	if (c->off - start != 4 + len)
		c->bad = true;
}

static void lay_msrs(struct cur *c)
{
	struct flayout *l = c->l;
	uint64_t n = count(c, "msrs.count", MSR_MAX);

	if (c->bad || n > (c->len - c->off) / 12) {
		c->bad = true;
		return;
	}
	free(l->msr_idx);
	l->msr_idx = calloc(n + 1, sizeof *l->msr_idx);
	if (!l->msr_idx) {
		c->bad = true;
		return;
	}
	l->nmsr = (size_t)n;
	for (size_t i = 0; i < n; i++)
		l->msr_idx[i] = (uint32_t)get_le(c->d + c->off + i * 12, 4);
	for (size_t i = 0; i < n && !c->bad; i++) {
		uint32_t idx = l->msr_idx[i];
		struct ffield *f = add(c, F_INT, 4, "msrs[%zu].index", i);
		char name[64];

		if (f) {
			f->legal = LG_SET;
			f->set = l->msr_idx;
			f->nset = l->nmsr;
		}
		snprintf(name, sizeof name, "msr[0x%x].data", idx);
		if (idx == MSR_EFER)    /* SCE LME LMA NXE SVME LMSLE FFXSR TCE */
			num(c, name, 8, LG_MASK, 0xfd01, 0);
		else
			any(c, name, 8);
	}
}

/* Version 2's tail: the CPUID table the vCPU was given, the TSC kHz. */
static void lay_cpuid_tsc(struct cur *c)
{
	static const char *const reg[] = { "eax", "ebx", "ecx", "edx" };
	uint64_t n = count(c, "cpuid.count", CPUID_MAX);
	char name[64];

	for (uint64_t i = 0; i < n && i < CPUID_MAX && !c->bad; i++) {
		size_t first = c->l->n;
		uint32_t fn = (uint32_t)(c->bad || 12 > c->len - c->off ? 0 :
					 get_le(c->d + c->off + 4, 4));
		uint32_t sub = (uint32_t)(c->bad || 12 > c->len - c->off ? 0 :
					  get_le(c->d + c->off + 8, 4));
		char ent[32];

		snprintf(ent, sizeof ent, "cpuid[%u]", (unsigned)i);
		marker(c, ent, true);
		snprintf(name, sizeof name, "cpuid[%u].function", (unsigned)i);
		any(c, name, 4);
		snprintf(name, sizeof name, "cpuid[%u].index", (unsigned)i);
		any(c, name, 4);
		/* Only KVM_CPUID_FLAG_SIGNIFCANT_INDEX is an input. */
		snprintf(name, sizeof name, "cpuid[%u].flags", (unsigned)i);
		num(c, name, 4, LG_MASK, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 0);
		for (int r = 0; r < 4; r++) {
			snprintf(name, sizeof name, "cpuid[%u].%s", (unsigned)i, reg[r]);
			any(c, name, 4);
		}
		marker(c, ent, false);
		/* The CI subset sweeps the vendor leaf and the feature leaves
		 * the restore compares (docs/security.md "CPUID"), not all 60
		 * or so alike entries. */
		if (!(i == 0 || (sub <= 1 && (fn == 1 || fn == 7 || fn == 0xd ||
					      fn == 0x80000001u || fn == 0x80000008u))))
			for (size_t k = first; k < c->l->n; k++)
				c->l->f[k].sparse = true;
	}
	num(c, "tsc_khz", 4, LG_RANGE0, TSC_KHZ_MIN, TSC_KHZ_MAX);
}

static void lay_cpu_v(struct cur *c, uint32_t version)
{
	static const char *const gpr[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp",
		"rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip" };
	static const char *const seg[] = { "cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt" };
	char n[64];
	uint64_t nx;

	marker(c, "regs", true);
	for (size_t i = 0; i < sizeof gpr / sizeof gpr[0]; i++) {
		snprintf(n, sizeof n, "regs.%s", gpr[i]);
		any(c, n, 8);
	}
	/* Bit 1 reads as 1; bits 3, 5, 15 and 22-63 are reserved. */
	num(c, "regs.rflags", 8, LG_MASK, 0x3f7fd7, 0x2);
	marker(c, "regs", false);
	for (int i = 0; i < 8; i++)
		lay_segment(c, seg[i]);
	for (int i = 0; i < 2; i++) {
		const char *t = i ? "idt" : "gdt";

		marker(c, "dtable", true);
		snprintf(n, sizeof n, "sregs.%s.base", t);
		any(c, n, 8);
		snprintf(n, sizeof n, "sregs.%s.limit", t);
		any(c, n, 2);
		marker(c, "dtable", false);
	}
	marker(c, "sregs", true);
	/* PE MP EM TS ET NE WP AM NW CD PG; bits 32-63 reserved. */
	num(c, "sregs.cr0", 8, LG_MASK, 0xe005003f, 0);
	any(c, "sregs.cr2", 8);
	any(c, "sregs.cr3", 8);
	num(c, "sregs.cr4", 8, LG_MASK, 0x1ff7fff, 0);
	num(c, "sregs.cr8", 8, LG_MAX, 15, 0);
	num(c, "sregs.efer", 8, LG_MASK, 0xfd01, 0);
	/* BSP, x2APIC, enable, base below 2^52; the rest reserved. */
	num(c, "sregs.apic_base", 8, LG_MASK, 0x000ffffffffffd00ull, 0);
	for (int i = 0; i < 4; i++) {
		snprintf(n, sizeof n, "sregs.interrupt_bitmap[%d]", i);
		any(c, n, 8);
	}
	marker(c, "sregs", false);
	nx = count(c, "xcrs.count", KVM_MAX_XCRS);
	for (uint64_t i = 0; i < nx && i < KVM_MAX_XCRS && !c->bad; i++) {
		snprintf(n, sizeof n, "xcr[%u].index", (unsigned)i);
		num(c, n, 4, LG_MAX, 0, 0);           /* only XCR0 exists */
		snprintf(n, sizeof n, "xcr[%u].value", (unsigned)i);
		num(c, n, 8, LG_MASK, 0xe1bff, 1);    /* x87 always; known components */
	}
	lay_xsave(c, version);
	lay_msrs(c);
	marker(c, "debugregs", true);
	for (int i = 0; i < 4; i++) {
		snprintf(n, sizeof n, "debugregs.db[%d]", i);
		any(c, n, 8);
	}
	num(c, "debugregs.dr6", 8, LG_MASK, 0xffffffff, 0);
	num(c, "debugregs.dr7", 8, LG_MASK, 0xffffffff, 0);
	num(c, "debugregs.flags", 8, LG_ZERO, 0, 0);
	marker(c, "debugregs", false);
	marker(c, "events", true);
	flag(c, "events.exception.injected");
	num(c, "events.exception.nr", 1, LG_MAX, 31, 0);
	flag(c, "events.exception.has_error_code");
	flag(c, "events.exception.pending");
	any(c, "events.exception.error_code", SZ(struct kvm_vcpu_events, exception.error_code));
	flag(c, "events.interrupt.injected");
	any(c, "events.interrupt.nr", 1);
	flag(c, "events.interrupt.soft");
	num(c, "events.interrupt.shadow", 1, LG_MAX, 3, 0);
	flag(c, "events.nmi.injected");
	flag(c, "events.nmi.pending");
	flag(c, "events.nmi.masked");
	num(c, "events.sipi_vector", 4, LG_MAX, 255, 0);
	num(c, "events.flags", 4, LG_MASK, 0x3f, 0);
	flag(c, "events.smi.smm");
	flag(c, "events.smi.pending");
	flag(c, "events.smi.smm_inside_nmi");
	flag(c, "events.smi.latched_init");
	flag(c, "events.triple_fault.pending");
	flag(c, "events.exception_has_payload");
	any(c, "events.exception_payload", 8);
	marker(c, "events", false);
	num(c, "mp_state", 4, LG_MAX, KVM_MP_STATE_AP_RESET_HOLD, 0);
	marker(c, "clock", true);
	num(c, "clock.clock", 8, LG_MAX, INT64_MAX, 0);
	any(c, "clock.flags", 4);
	marker(c, "clock", false);
	if (version >= 2)
		lay_cpuid_tsc(c);
	flag(c, "irq_line");
	flag(c, "tick_deferred");
}

static void lay_cpu(struct cur *c)
{
	lay_cpu_v(c, 1);
}

static void lay_cpu2(struct cur *c)
{
	lay_cpu_v(c, 2);
}

static void lay_fw_cfg(struct cur *c)
{
	marker(c, "fw-cfg", true);
	num(c, "selector", 4, LG_MAX, 0xffff, 0);
	/* The longest item (RAM size) has 8 bytes. */
	num(c, "offset", 4, LG_MAX, 8, 0);
	marker(c, "fw-cfg", false);
}

/* ---- KVM's chips, --irqchip kernel (vmm/irqchip_state.c) ------------------ */

static void lay_lapic(struct cur *c)
{
	static const char *const lvt[] = { "lvt_cmci", "lvt_timer", "lvt_thermal", "lvt_perf",
					   "lvt_lint0", "lvt_lint1", "lvt_error" };
	static const uint32_t lvt_ok[] = { 0x117ff, 0x710ff, 0x117ff, 0x117ff, 0x1ffff,
					   0x1ffff, 0x110ff };
	static const char *const arr[] = { "isr", "tmr", "irr" };
	char n[32];

	marker(c, "lapic", true);
	any(c, "tsc_deadline", 8);
	num(c, "id", 4, LG_MASK, 0xff000000u, 0);
	any(c, "version", 4);           /* checked against the host's vCPU */
	num(c, "tpr", 4, LG_MAX, 0xff, 0);
	num(c, "ldr", 4, LG_MASK, 0xff000000u, 0);
	num(c, "dfr", 4, LG_MASK, 0xffffffffu, 0);
	num(c, "svr", 4, LG_MASK, 0x13ff, 0);
	for (int a = 0; a < 3; a++)
		for (int i = 0; i < 8; i++) {
			snprintf(n, sizeof n, "%s[%d]", arr[a], i);
			if (i)
				any(c, n, 4);
			else
				num(c, n, 4, LG_MASK, 0xffff0000u, 0);
		}
	num(c, "esr", 4, LG_MAX, 0xff, 0);
	num(c, "icr_lo", 4, LG_MASK, 0x000ccfffu, 0);
	any(c, "icr_hi", 4);
	for (int i = 0; i < 7; i++)
		num(c, lvt[i], 4, LG_MASK, lvt_ok[i], 0);
	any(c, "timer_initial", 4);
	any(c, "timer_current", 4);
	num(c, "timer_divide", 4, LG_MASK, 0xb, 0);
	num(c, "x2apic", 4, LG_MAX, 1, 0);
	marker(c, "lapic", false);
}

static void lay_kvm_pic(struct cur *c)
{
	static const char *const flags[] = { "read_reg_select", "poll", "special_mask" };
	static const char *const flags2[] = { "auto_eoi", "rotate_on_auto_eoi",
					      "special_fully_nested_mode", "init4" };
	static const uint8_t mask[2] = { 0xf8, 0xde };
	char n[64];

	marker(c, "kvm-pic", true);
	for (int i = 0; i < 2; i++) {
#define F(s) (snprintf(n, sizeof n, "chip[%d].%s", i, s), n)
		any(c, F("last_irr"), 1);
		any(c, F("irr"), 1);
		any(c, F("imr"), 1);
		any(c, F("isr"), 1);
		num(c, F("priority_add"), 1, LG_MAX, 7, 0);
		num(c, F("irq_base"), 1, LG_MULT, 8, 0);
		for (int k = 0; k < 3; k++)
			flag(c, F(flags[k]));
		num(c, F("init_state"), 1, LG_MAX, 3, 0);
		for (int k = 0; k < 4; k++)
			flag(c, F(flags2[k]));
		num(c, F("elcr"), 1, LG_MASK, mask[i], 0);
		num(c, F("elcr_mask"), 1, LG_RANGE, mask[i], mask[i]);
#undef F
	}
	marker(c, "kvm-pic", false);
}

static void lay_ioapic(struct cur *c)
{
	char n[32];

	marker(c, "ioapic", true);
	num(c, "base_address", 8, LG_RANGE, 0xfec00000u, 0xfec00000u);
	for (int i = 0; i < 24; i++) {
		snprintf(n, sizeof n, "redir[%d]", i);
		num(c, n, 8, LG_MASK, 0xff0000000001efffull, 0);
	}
	num(c, "ioregsel", 4, LG_MAX, 0xff, 0);
	num(c, "id", 4, LG_MAX, 0xf, 0);
	num(c, "irr", 4, LG_MAX, 0xffffff, 0);
	num(c, "pins", 4, LG_RANGE, 24, 24);
	marker(c, "ioapic", false);
}

static void lay_kvm_pit(struct cur *c)
{
	char n[64];

	marker(c, "kvm-pit", true);
	for (int i = 0; i < 3; i++) {
#define F(s) (snprintf(n, sizeof n, "ch[%d].%s", i, s), n)
		num(c, F("count"), 4, LG_MAX, 0x10000, 0);
		any(c, F("latched_count"), 2);
		num(c, F("count_latched"), 1, LG_MAX, 3, 0);
		flag(c, F("status_latched"));
		any(c, F("status"), 1);
		num(c, F("read_state"), 1, LG_MAX, 4, 0);
		num(c, F("write_state"), 1, LG_MAX, 4, 0);
		any(c, F("write_latch"), 1);
		num(c, F("rw_mode"), 1, LG_MAX, 3, 0);
		any(c, F("mode"), 1);   /* 0-5 or 0xff */
		flag(c, F("bcd"));
		if (i < 2)
			num(c, F("gate"), 1, LG_RANGE, 1, 1);
		else
			flag(c, F("gate"));
#undef F
	}
	num(c, "flags", 4, LG_MASK, 2, 0);
	marker(c, "kvm-pit", false);
}

/* ---- dispatch -------------------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t version;
	void (*fn)(struct cur *c);
} layouts[] = {
	{ "machine", 1, lay_machine },
	{ "machine", 2, lay_machine2 },
	{ "machine", 3, lay_machine3 },
	{ "fw-cfg", 1, lay_fw_cfg },
	{ "pic", 1, lay_pic },
	{ "pit", 1, lay_pit },
	{ "serial", 1, lay_serial },
	{ "ram", 1, lay_ram },
	{ "cpu", 1, lay_cpu },
	{ "cpu", 2, lay_cpu2 },
	{ "serial-backend", 1, lay_backend },
	{ "lapic", 1, lay_lapic },
	{ "kvm-pic", 1, lay_kvm_pic },
	{ "ioapic", 1, lay_ioapic },
	{ "kvm-pit", 1, lay_kvm_pit },
};

int layout_of(const struct funit *u, struct flayout *l)
{
	struct cur c = { .d = u->data, .len = u->len, .l = l };
	size_t i;

	memset(l, 0, sizeof *l);
	for (i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
		if (!strcmp(layouts[i].name, u->name) && layouts[i].version == u->version)
			break;
	if (i < sizeof layouts / sizeof layouts[0]) {
		layouts[i].fn(&c);
		if (!c.bad && c.off == c.len) {
			l->named = true;
			return 0;
		}
		snprintf(l->why, sizeof l->why, "%s v%u data does not fit the known layout "
			 "(at byte %zu of %zu)", u->name, u->version, c.off, c.len);
	} else {
		snprintf(l->why, sizeof l->why, "no layout for %s v%u", u->name, u->version);
	}
	/* By offset: one field per byte (blobs beyond 64 KiB as one). */
	l->n = 0;
	c.bad = false;
	c.off = 0;
	if (u->len > 65536) {
		blob(&c, "+0", u->len);
	} else {
		for (size_t o = 0; o < u->len; o++) {
			struct ffield *f = add(&c, F_INT, 1, "+%zu", o);

			if (f)
				f->legal = LG_ANY;
		}
	}
	return c.bad ? -1 : 0;
}

void layout_free(struct flayout *l)
{
	free(l->f);
	free(l->msr_idx);
	memset(l, 0, sizeof *l);
}

const struct ffield *layout_find(const struct flayout *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->f[i].name, name))
			return &l->f[i];
	return NULL;
}

bool field_legal(const struct ffield *f, uint64_t v)
{
	switch (f->legal) {
	case LG_ANY:
		return true;
	case LG_MAX:
		return v <= f->a;
	case LG_RANGE:
		return v >= f->a && v <= f->b && (!f->mult || v % f->mult == 0);
	case LG_RANGE0:
		return !v || (v >= f->a && v <= f->b);
	case LG_MASK:
		return !(v & ~f->a) && (v & f->b) == f->b;
	case LG_MULT:
		return v % f->a == 0;
	case LG_ZERO:
		return v == 0;
	case LG_SET:
		for (size_t i = 0; i < f->nset; i++)
			if (f->set[i] == v)
				return true;
		return false;
	}
	return true;
}
