/* verify.c - `vmm verify FILE`: every rule a restore applies that does not
 * need KVM, without building a VM (docs/inspect.md).
 *
 *  1. ssm_validate: the whole container (every CRC, record, pass rule,
 *     directory, footer);
 *  2. an ssm_load of the file into a scratch registry: the device models
 *     (pic, pit, serial) and the serial backend load through their own
 *     loaders into scratch instances, so their checks are the restore's;
 *     machine through units_get_config, ram by the checks ram.c makes, cpu
 *     through cpu_codec_get and cpu_check.h;
 *  3. the checks a restore makes once everything has loaded: every
 *     mandatory unit present (units_check_complete_reg), no PIT count
 *     started after the saved clock (units_machine_done).
 * What depends on the restoring host is left to the restore: the saved
 * CPUID against the host's, the MSRs this host saves (verify accepts any
 * the file names once), the host's XSAVE size, the TSC frequency; for a
 * version 1 cpu record (no CPUID saved) the widest CPUID any host has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/fw_cfg.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/serial.h"
#include "vmm/chain_id.h"
#include "vmm/cpu_check.h"
#include "vmm/irqchip_units.h"
#include "vmm/kvm.h"
#include "vmm/ram.h"
#include "vmm/serial_backend.h"
#include "vmm/units.h"
#include "vmm/verify.h"

#define PAGE 4096u

struct verify {
	struct saved_config cfg;   /* the first machine record */
	bool have_cfg;
	uint64_t clock_ns;         /* the final machine record's */
	struct pic pic;
	struct pit pit;
	struct serial serial;
	struct fw_cfg fw_cfg;
	struct serial_backend backend;
	struct kirq_ctx {          /* lapic 0..IRQCHIP_MAX_VCPUS-1, the others */
		struct verify *v;
		const struct kirq_unit *u;
		uint32_t instance;
	} kirq[IRQCHIP_MAX_VCPUS + 3];
};

static void no_level(void *opaque, int level)
{
	(void)opaque;
	(void)level;
}

static void no_tx(void *opaque, uint8_t byte)
{
	(void)opaque;
	(void)byte;
}

/* The devices see the restored clock, as they do in a restore. */
static uint64_t saved_clock(void *opaque)
{
	return ((struct verify *)opaque)->clock_ns;
}

/* ---- machine ------------------------------------------------------------- */

static int machine_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct verify *v = ctx;
	struct saved_config *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return SSM_ERR_NOMEM;
	rc = units_get_config(h, version, c);
	if (!rc && v->have_cfg && c->ram_size != v->cfg.ram_size)
		rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: saved RAM size %lluM "
					"differs from the first machine record's %lluM",
					(unsigned long long)(c->ram_size >> 20),
					(unsigned long long)(v->cfg.ram_size >> 20));
	if (!rc && !v->have_cfg) {
		v->cfg = *c;
		v->have_cfg = true;
	}
	if (!rc && pass == SSM_PASS_FINAL)
		v->clock_ns = c->clock_ns;
	free(c);
	return rc;
}

static int machine_done(void *ctx, ssm_handle *h)
{
	struct verify *v = ctx;

	return units_machine_done(h, &v->pit, v->clock_ns);
}

/* ---- ram ------------------------------------------------------------------ */

static int skip_run(void *ctx, ssm_handle *h, uint64_t first, uint32_t n)
{
	(void)ctx;
	(void)first;
	return ssm_skip(h, (uint64_t)n * PAGE);
}

static int ram_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct verify *v = ctx;
	uint64_t size = 0;
	uint8_t kind;
	int rc;

	(void)pass;
	rc = ram_record_begin(h, version, v->have_cfg, v->cfg.ram_size, &kind, &size);
	if (rc)
		return rc;
	return kind == RAM_KIND_RUNS ? ram_get_runs(h, v->cfg.ram_size / PAGE, skip_run, NULL) :
	       ssm_skip(h, size);
}

/* ---- cpu ------------------------------------------------------------------- */

/* Version 1 saved no CPUID: the vCPU it restores into takes the host's.
 * Checked against the widest CPUID any host may have, the state must
 * still obey every rule that no CPUID relaxes. */
static const struct cpu_caps any_host_caps = {
	.phys_bits = 52, .virt_bits = 57, .cr4_ok = ~0ull, .efer_ok = ~0ull,
	.xcr0_ok = ~0ull, .xsave = true, .x2apic = true, .lam = true,
};

/* The checks that need no host: with the file's own CPUID (version 2) as
 * the host's, the file's MSR list as the allowed one and its XSAVE size as
 * the host's; version 1 with any_host_caps (and no XSAVE layout check,
 * which needs a CPUID). */
static int cpu_checks(const struct cpu_snapshot *s, uint32_t version, bool lapic,
		      enum cpu_section *sec, char *why, size_t len)
{
	const struct cpu_caps *c = &any_host_caps;
	uint32_t *idx;
	int rc;

	idx = calloc(s->nmsrs + 1, sizeof(*idx));
	if (!idx) {
		*sec = CPU_SEC_MSRS;
		snprintf(why, len, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < s->nmsrs; i++)
		idx[i] = s->msrs[i].index;
	if (version < 2) {
		rc = -1;
		*sec = CPU_SEC_SREGS;
		if (cpu_check_sregs(&s->sregs, c, why, len))
			goto out;
		*sec = CPU_SEC_REGS;
		if (cpu_check_regs(&s->regs, &s->sregs, c, why, len))
			goto out;
		*sec = CPU_SEC_XCRS;
		if (cpu_check_xcrs(&s->xcrs, c, why, len))
			goto out;
		*sec = CPU_SEC_MSRS;
		if (cpu_check_msrs(s->msrs, s->nmsrs, idx, s->nmsrs, &s->sregs, c, why, len))
			goto out;
		*sec = CPU_SEC_DEBUGREGS;
		if (cpu_check_debugregs(&s->dbg, why, len))
			goto out;
		*sec = CPU_SEC_EVENTS;
		if (cpu_check_events(&s->ev, &s->sregs, why, len))
			goto out;
		*sec = CPU_SEC_MP;
		if (cpu_check_mp_state(s->mp_state, lapic, why, len))
			goto out;
		*sec = CPU_SEC_CLOCK;
		rc = cpu_check_clock(&s->clk, why, len);
	} else {
		struct cpu_host host = {
			.cpuid = s->cpuid, .ncpuid = s->ncpuid, .msrs = idx, .nmsrs = s->nmsrs,
			.xsave_len = s->xsave_len, .lapic = lapic,
		};

		rc = cpu_check_snapshot(s, &host, sec, why, len);
	}
out:
	free(idx);
	return rc;
}

static int cpu_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct verify *v = ctx;
	struct cpu_snapshot s;
	enum cpu_section sec = CPU_SEC_REGS;
	char why[256], where[48];
	bool b;
	int rc;

	(void)pass;
	if (!v->have_cfg)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: arrived before the "
					  "machine configuration");
	rc = cpu_codec_get(h, version, &s);
	if (!rc && cpu_checks(&s, version, v->cfg.irqchip == IRQCHIP_KERNEL, &sec, why,
			      sizeof(why))) {
		cpu_codec_where(&s, sec, where, sizeof(where));
		rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: %s (%s at %s)", why,
					cpu_section_name(sec), where);
	}
	if (!rc) {
		ssm_handle_set_field(h, "irq_line");
		rc = ssm_get_bool(h, &b);
	}
	if (!rc) {
		ssm_handle_set_field(h, "tick_deferred");
		rc = ssm_get_bool(h, &b);
	}
	ssm_handle_set_field(h, NULL);
	cpu_snapshot_free(&s);
	return rc;
}

/* ---- parent ------------------------------------------------------------------ */

/* The record only: verify_main walks the chain itself (chain_check). */
static int parent_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct chain_parent_rec p;

	(void)ctx;
	(void)pass;
	return chain_get_record(h, version, &p);
}

/* ---- KVM's interrupt controllers ----------------------------------------- */

/* One of them, read and checked as a load would. */
static int kirq_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	const struct kirq_ctx *k = ctx;
	const struct kirq_unit *u = k->u;
	const struct verify *v = k->v;
	union {
		struct kirq_lapic l;
		struct kirq_pic p;
		struct kirq_ioapic io;
		struct kirq_pit t;
	} st;

	(void)pass;
	if (!v->have_cfg || v->cfg.irqchip != IRQCHIP_KERNEL)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "%s: a unit of the kernel "
					  "irqchip, but the machine record says --irqchip user",
					  u->name);
	return kirq_unit_get(h, u, k->instance, version, &st);
}

static int register_kirq(ssm *reg, struct verify *v)
{
	static const ssm_callbacks cb = { .load_exec = kirq_load };
	const struct kirq_unit *vm_units[] = { &kirq_unit_pic, &kirq_unit_ioapic, &kirq_unit_pit };
	int rc = SSM_OK;

	for (uint32_t i = 0; !rc && i < IRQCHIP_MAX_VCPUS + 3; i++) {
		struct kirq_ctx *k = &v->kirq[i];

		k->v = v;
		k->u = i < IRQCHIP_MAX_VCPUS ? &kirq_unit_lapic : vm_units[i - IRQCHIP_MAX_VCPUS];
		k->instance = i < IRQCHIP_MAX_VCPUS ? i : 0;
		rc = ssm_register_external(reg, k->u->name, k->instance, k->u->version, 0, NULL,
					   0, &cb, k);
	}
	return rc;
}

/* ---- the run ---------------------------------------------------------------- */

static int register_all(ssm *reg, struct verify *v)
{
	static const ssm_callbacks machine_cb = {
		.load_exec = machine_load, .load_done = machine_done,
	};
	static const ssm_callbacks ram_cb = { .load_exec = ram_load };
	static const ssm_callbacks cpu_cb = { .load_exec = cpu_load };
	static const ssm_callbacks parent_cb = { .load_exec = parent_load };
	int rc;

	pic_init(&v->pic, no_level, NULL);
	pit_init(&v->pit, no_level, saved_clock, v, 0);
	serial_init(&v->serial, no_tx, no_level, NULL);
	/* Its item lengths do not depend on the RAM size it reports. */
	fw_cfg_init(&v->fw_cfg, 0, 1);
	serial_backend_init(&v->backend);
	rc = ssm_register_external(reg, "machine", 0, MACHINE_VERSION, 0, NULL, 0, &machine_cb, v);
	if (!rc)
		rc = ssm_register_external(reg, "parent", 0, PARENT_VERSION, 0, NULL, 0, &parent_cb,
					   v);
	if (!rc)
		rc = pic_ssm_register(&v->pic, reg, 0);
	if (!rc)
		rc = pit_ssm_register(&v->pit, reg, 0);
	if (!rc)
		rc = serial_ssm_register(&v->serial, reg, 0);
	if (!rc)
		rc = fw_cfg_ssm_register(&v->fw_cfg, reg, 0);
	if (!rc)
		rc = ssm_register_internal(reg, "ram", 0, RAM_VERSION, 0, NULL, 0, &ram_cb);
	if (!rc)
		rc = ssm_register_internal(reg, "cpu", 0, CPU_STATE_VERSION, 0, NULL, 0, &cpu_cb);
	if (!rc)
		rc = register_kirq(reg, v);
	if (!rc)
		rc = units_register_backend(reg, &v->backend);
	/* The internal units' context is the registry's VM pointer. */
	return rc;
}

int verify_file(const char *path, char *msg, size_t msglen)
{
	ssm_load_opts o = { SSM_LOAD_OPTS_INIT, .after = SSM_AFTER_RESUME };
	struct verify *v;
	ssm_stream st;
	ssm *reg;
	int rc;

	rc = units_open_file(path, &st, msg, msglen);
	if (rc)
		return rc;
	rc = ssm_validate(st, msg, msglen);
	if (rc)
		return rc;
	v = calloc(1, sizeof(*v));
	reg = v ? ssm_create(v) : NULL;
	if (!reg) {
		free(v);
		snprintf(msg, msglen, "out of memory");
		return SSM_ERR_NOMEM;
	}
	rc = register_all(reg, v);
	if (!rc)
		rc = ssm_stream_file_open(&st, path);
	if (!rc) {
		rc = ssm_load(reg, st, &o);
		if (rc)
			snprintf(msg, msglen, "%s", ssm_last_error(reg)[0] ? ssm_last_error(reg) :
				 ssm_strerror(rc));
	} else {
		snprintf(msg, msglen, "%s", ssm_strerror(rc));
	}
	if (!rc)
		rc = units_check_complete_reg(reg, (enum irqchip_mode)v->cfg.irqchip, msg, msglen);
	ssm_destroy(reg);
	serial_backend_close(&v->backend);
	free(v);
	return rc;
}

/* The file, then each parent of its chain (chain_id.h): present, with the
 * identity its child records, and itself sound. */
static int verify_chain(const char *path, char *msg, size_t msglen)
{
	char cur[4096], next[4096];
	struct chain_parent_rec p;
	unsigned n;
	int rc, fd;

	snprintf(cur, sizeof(cur), "%s", path);
	for (n = 1;; n++) {
		if (verify_file(cur, msg, msglen)) {
			fprintf(stderr, "vmm verify: %s: %s\n", cur, msg);
			return 1;
		}
		rc = chain_read_parent(cur, &p, msg, msglen);
		if (rc == 0)
			break;
		fd = rc < 0 || n >= CHAIN_DEPTH_MAX ? -1 :
		     chain_open_parent(cur, &p, next, sizeof(next), msg, msglen);
		if (fd < 0) {
			if (rc > 0 && n >= CHAIN_DEPTH_MAX)
				snprintf(msg, msglen, "%.600s: the chain is longer than %u files", cur,
					 CHAIN_DEPTH_MAX);
			fprintf(stderr, "vmm verify: %s\n", msg);
			return 1;
		}
		close(fd);
		memcpy(cur, next, sizeof(cur));
	}
	if (n == 1)
		printf("%s: ok\n", path);
	else
		printf("%s: ok (chain of %u files down to base %s, every parent present with the "
		       "identity its child records)\n", path, n, cur);
	return 0;
}

int verify_main(int argc, char **argv)
{
	char msg[700];

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		printf("Usage: vmm verify FILE\n"
		       "Check every checksum and every rule a restore applies that needs no\n"
		       "KVM; exit 0 if all hold, else print the first broken one, exit 1.\n");
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "vmm verify: %s (try vmm verify --help)\n", argc < 2 ?
			"no FILE given" : argc > 2 ? "expected one FILE" : "unknown option");
		return 2;
	}
	return verify_chain(argv[1], msg, sizeof(msg));
}
