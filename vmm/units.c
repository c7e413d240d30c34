/* units.c - the VM's SSM units: machine, ram, cpu, serial backend, and the
 * device models' own registrations.
 *
 * Save, load and done callbacks run with the vCPU parked (machine_pause)
 * and the clock stopped: on the main thread, or on the migration thread
 * with the devices frozen for the main loop (machine_freeze_devices).  So
 * nothing else touches the state they read or write, and they do not take
 * the VM lock.  Live callbacks run while the guest runs and read only what
 * does not change then (or take the lock: machine_clock_ns).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cpu_state.h"
#include <stdlib.h>

#include "vmm/bgsave.h"
#include "vmm/chain.h"
#include "vmm/clock.h"
#include "vmm/irqchip_units.h"
#include "vmm/machine.h"
#include "vmm/ram.h"
#include "vmm/units.h"

/* ---- machine (external) ---------------------------------------------------
 * u64 ram_size, str cmdline, str kernel path, u64 kernel size, u32 kernel
 * CRC32, str serial spec, then (version 2) u8 multiboot (0 ELF64, 1
 * multiboot), u32 nmodules (<= MB_MODULES_MAX, 0 unless multiboot) and per
 * module str spec, u64 size, u32 CRC32, then (version 3) u8 irqchip (0
 * user, 1 kernel) and u32 ncpus, the vCPU count (more than 1 only with
 * irqchip kernel); last u64 virtual clock ns (last in every version).
 * Version 1 files are ELF64 boots without modules; versions 1-2 have one
 * vCPU and the user irqchip.  The
 * kernel and module files are not needed to restore: their loaded images
 * are part of guest RAM.  Paths and the serial spec are information only:
 * nothing stored in a file ever opens a host path (the console is the
 * restoring host's --serial). */

static int put_config(ssm_handle *h, const struct saved_config *c)
{
	int rc = ssm_put_u64(h, c->ram_size);

	if (!rc)
		rc = ssm_put_str(h, c->cmdline);
	if (!rc)
		rc = ssm_put_str(h, c->kernel);
	if (!rc)
		rc = ssm_put_u64(h, c->kernel_size);
	if (!rc)
		rc = ssm_put_u32(h, c->kernel_crc);
	if (!rc)
		rc = ssm_put_str(h, c->serial);
	if (!rc)
		rc = ssm_put_u8(h, c->multiboot);
	if (!rc)
		rc = ssm_put_u32(h, c->nmodules);
	for (uint32_t i = 0; !rc && i < c->nmodules; i++) {
		rc = ssm_put_str(h, c->module[i].spec);
		if (!rc)
			rc = ssm_put_u64(h, c->module[i].size);
		if (!rc)
			rc = ssm_put_u32(h, c->module[i].crc);
	}
	if (!rc)
		rc = ssm_put_u8(h, c->irqchip);
	if (!rc)
		rc = ssm_put_u32(h, c->ncpus);
	if (!rc)
		rc = ssm_put_u64(h, c->clock_ns);
	return rc;
}

/* A string field that does not fit is refused naming the field. */
static int get_str_field(ssm_handle *h, char *buf, size_t size)
{
	uint64_t off = ssm_handle_offset(h);
	int rc = ssm_get_str(h, buf, size, NULL);

	if (rc == SSM_ERR_STRING_TOO_LONG)
		return ssm_set_load_error(h, rc, "machine: string at offset %llu is longer "
					  "than %zu bytes", (unsigned long long)off, size - 1);
	return rc;
}

/* Version 2's boot protocol and module list, each read naming its field. */
static int get_modules(ssm_handle *h, struct saved_config *c)
{
	int rc;

	ssm_handle_set_field(h, "multiboot");
	rc = ssm_get_u8(h, &c->multiboot);
	if (!rc) {
		ssm_handle_set_field(h, "nmodules");
		rc = ssm_get_u32(h, &c->nmodules);
	}
	if (!rc && c->multiboot > 1)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: field multiboot %u "
					  "is not 0 or 1", c->multiboot);
	if (!rc && (c->nmodules > MB_MODULES_MAX || (c->nmodules && !c->multiboot)))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: field nmodules %u: "
					  "at most %u, and only for a multiboot kernel",
					  c->nmodules, MB_MODULES_MAX);
	for (uint32_t i = 0; !rc && i < c->nmodules; i++) {
		ssm_handle_set_field(h, "module.spec");
		rc = get_str_field(h, c->module[i].spec, sizeof(c->module[i].spec));
		if (!rc) {
			ssm_handle_set_field(h, "module.size");
			rc = ssm_get_u64(h, &c->module[i].size);
		}
		if (!rc) {
			ssm_handle_set_field(h, "module.crc");
			rc = ssm_get_u32(h, &c->module[i].crc);
		}
	}
	return rc;
}

int units_get_config(ssm_handle *h, uint32_t version, struct saved_config *c)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = ssm_check_unit_version(h, "machine", version, MACHINE_VERSION_MIN, MACHINE_VERSION);
	/* Each read names its field, so any refusal on the way says which. */
	if (!rc) {
		ssm_handle_set_field(h, "ram_size");
		rc = ssm_get_u64(h, &c->ram_size);
	}
	if (!rc) {
		ssm_handle_set_field(h, "cmdline");
		rc = get_str_field(h, c->cmdline, sizeof(c->cmdline));
	}
	if (!rc) {
		ssm_handle_set_field(h, "kernel");
		rc = get_str_field(h, c->kernel, sizeof(c->kernel));
	}
	if (!rc) {
		ssm_handle_set_field(h, "kernel_size");
		rc = ssm_get_u64(h, &c->kernel_size);
	}
	if (!rc) {
		ssm_handle_set_field(h, "kernel_crc");
		rc = ssm_get_u32(h, &c->kernel_crc);
	}
	if (!rc) {
		ssm_handle_set_field(h, "serial");
		rc = get_str_field(h, c->serial, sizeof(c->serial));
	}
	if (!rc && version >= 2)
		rc = get_modules(h, c);
	if (!rc && version >= 3) {
		ssm_handle_set_field(h, "irqchip");
		rc = ssm_get_u8(h, &c->irqchip);
		if (!rc && c->irqchip > IRQCHIP_KERNEL)
			rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: field irqchip %u "
						"is not 0 (user) or 1 (kernel)", c->irqchip);
	}
	c->ncpus = 1;
	if (!rc && version >= MACHINE_VERSION_NCPUS) {
		ssm_handle_set_field(h, "ncpus");
		rc = ssm_get_u32(h, &c->ncpus);
		if (!rc && (c->ncpus < 1 || c->ncpus > KVM_VCPUS_MAX))
			rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: field ncpus %u "
						"is not a vCPU count from 1 to %u", c->ncpus,
						KVM_VCPUS_MAX);
		/* The APs start by INIT/SIPI, which only KVM's LAPIC delivers. */
		else if (!rc && c->ncpus > 1 && c->irqchip != IRQCHIP_KERNEL)
			rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: field ncpus %u "
						"needs field irqchip 1 (kernel), not %u", c->ncpus,
						c->irqchip);
	}
	if (!rc) {
		ssm_handle_set_field(h, "clock_ns");
		rc = ssm_get_u64(h, &c->clock_ns);
	}
	ssm_handle_set_field(h, NULL);
	/* Checked before anything is allocated for it (restore and incoming
	 * both build the VM from this record): the bound is the CLI's. */
	if (!rc && (c->ram_size < KVM_RAM_MIN || c->ram_size > KVM_RAM_MAX ||
		    c->ram_size % (1u << 20)))
		rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: field ram_size %llu is "
					"not a multiple of 1M from %lluM to %lluG",
					(unsigned long long)c->ram_size, KVM_RAM_MIN >> 20,
					KVM_RAM_MAX >> 30);
	/* A clock at the end of time never fires the guest's timer again. */
	if (!rc && c->clock_ns > VCLOCK_MAX_NS)
		rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: field clock_ns %llu "
					"is beyond %llu (146 years of running)",
					(unsigned long long)c->clock_ns,
					(unsigned long long)VCLOCK_MAX_NS);
	return rc;
}

static void current_config(struct machine *m, struct saved_config *c)
{
	memset(c, 0, sizeof(*c));
	c->ram_size = m->cfg.ram_size;
	snprintf(c->cmdline, sizeof(c->cmdline), "%s", m->cfg.cmdline);
	snprintf(c->kernel, sizeof(c->kernel), "%s", m->cfg.kernel ? m->cfg.kernel : "");
	c->kernel_size = m->kernel_size;
	c->kernel_crc = m->kernel_crc;
	snprintf(c->serial, sizeof(c->serial), "%s", m->cfg.serial);
	c->multiboot = m->boot.multiboot;
	c->nmodules = m->boot.nmodules;
	for (unsigned i = 0; i < c->nmodules; i++) {
		snprintf(c->module[i].spec, sizeof(c->module[i].spec), "%s",
			 i < m->cfg.nmodules ? m->cfg.modules[i] : "");
		c->module[i].size = m->boot.module[i].size;
		c->module[i].crc = m->boot.module[i].crc;
	}
	c->irqchip = (uint8_t)m->cfg.irqchip;
	c->ncpus = machine_ncpus(m);
	c->clock_ns = machine_clock_ns(m);
}

static int machine_save_exec(void *ctx, ssm_handle *h)
{
	struct saved_config c;

	current_config(ctx, &c);
	return put_config(h, &c);
}

/* What the record says was booted, kept so a later save says it again. */
static void set_boot_facts(struct machine *m, const struct saved_config *c)
{
	struct boot_facts f = { .kernel = { c->kernel_size, c->kernel_crc } };

	f.multiboot = c->multiboot;
	f.nmodules = c->nmodules;
	for (unsigned i = 0; i < c->nmodules; i++)
		f.module[i] = (struct boot_file_facts){ c->module[i].size, c->module[i].crc };
	machine_set_boot_facts(m, &f);
}

/* Build the VM a stream describes (incoming migration): the first machine
 * record arrives before any other unit's data. */
static int build_from(struct machine *m, ssm_handle *h, const struct saved_config *c)
{
	struct machine_config cfg = { 0 };

	if (machine_keep_config(m, c))
		return SSM_ERR_NOMEM;
	cfg.ram_size = c->ram_size;
	cfg.cmdline = m->loaded_cfg->cmdline;
	cfg.kernel = m->loaded_cfg->kernel;
	cfg.nmodules = c->nmodules;
	for (unsigned i = 0; i < c->nmodules; i++)
		cfg.modules[i] = m->loaded_cfg->module[i].spec;
	cfg.ncpus = c->ncpus;
	/* The console is this host's choice; the stream's spec is never
	 * opened. */
	cfg.serial = m->serial_override ? m->serial_override : "stdio";
	cfg.serial_append = false;
	cfg.irqchip = (enum irqchip_mode)c->irqchip;
	if (m->irqchip_required >= 0 && c->irqchip != m->irqchip_required)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: the stream's VM uses "
					  "--irqchip %s; this vmm was started with --irqchip %s", irqchip_name(cfg.irqchip),
					  irqchip_name((enum irqchip_mode)m->irqchip_required));
	if (machine_build(m, &cfg))
		return ssm_set_load_error(h, SSM_ERR_CALLBACK, "machine: cannot build the VM "
					  "described by the stream (the reason is in this "
					  "host's log)");
	return SSM_OK;
}

/* The machine is built before the load (restore: from this same record,
 * read with units_read_config) or here from its first record (incoming).
 * Every record is checked against it; the final one sets the clock. */
static int machine_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct machine *m = ctx;
	struct saved_config c;
	int rc;

	rc = units_get_config(h, version, &c);
	if (rc)
		return rc;
	if (!m->built) {
		rc = build_from(m, h, &c);
		if (rc)
			return rc;
	}
	if (c.ram_size != m->cfg.ram_size)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: saved RAM size %lluM "
					  "differs from this VM's %lluM",
					  (unsigned long long)(c.ram_size >> 20),
					  (unsigned long long)(m->cfg.ram_size >> 20));
	if (c.irqchip != m->cfg.irqchip)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: field irqchip %u "
					  "(%s) differs from this VM's --irqchip %s", c.irqchip,
					  irqchip_name((enum irqchip_mode)c.irqchip),
					  irqchip_name(m->cfg.irqchip));
	if (c.ncpus != machine_ncpus(m))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: saved vCPU count "
					  "%u differs from this VM's %u", c.ncpus,
					  machine_ncpus(m));
	/* Such a file gave each vCPU its APIC ID in CPUID (cpu unit). */
	m->cpus_seen.apic_ids = version >= MACHINE_VERSION_NCPUS;
	machine_set_kernel_facts(m, c.kernel_size, c.kernel_crc);
	set_boot_facts(m, &c);
	if (pass == SSM_PASS_FINAL)
		machine_clock_restore(m, c.clock_ns);
	return SSM_OK;
}

/* Live pass 0 carries the configuration so the destination can build the
 * machine while RAM is still flowing; once is enough. */
static int machine_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)pass;
	return machine_save_exec(ctx, h);
}

/* A load starts with no cpu record met. */
static int machine_load_prep(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;

	(void)h;
	smp_seen_reset(&m->cpus_seen);
	return SSM_OK;
}

static int vote_once(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)ctx;
	(void)h;
	(void)pass;
	return SSM_VOTE_DONE_DONT_CALL_AGAIN;
}

/* A file without a machine unit cannot describe the VM it holds.  Every
 * unit's load_exec has run by now: the PIT's counters, rebased onto the
 * restored clock, must not start after it (a timer that began in the
 * future would not fire when the guest expects). */
static int machine_load_done(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;

	return units_machine_done(h, &m->pit, machine_clock_ns(m), &m->cpus_seen,
				  machine_ncpus(m));
}

int units_cpu_arrives(ssm_handle *h, struct smp_seen *seen, unsigned ncpus, uint32_t i)
{
	char why[160];

	if (smp_seen_note(seen, ncpus, i, why, sizeof(why)))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "%s", why);
	return SSM_OK;
}

int units_machine_done(ssm_handle *h, const struct pit *pit, uint64_t now,
		       const struct smp_seen *seen, unsigned ncpus)
{
	char why[160];

	if (ssm_handle_status(h) != SSM_OK)
		return SSM_OK;
	if (!ssm_handle_unit_loaded(h))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: the state holds no "
					  "machine configuration");
	for (unsigned i = 0; i < PIT_CHANNELS; i++) {
		const struct pit_channel *c = &pit->st.ch[i];

		if (c->ce_state == PIT_CE_RUNNING && c->count_load_time > now)
			return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: field clock_ns "
						  "%llu is before pit channel %u's count_load_time "
						  "%llu", (unsigned long long)now, i,
						  (unsigned long long)c->count_load_time);
	}
	if (smp_seen_complete(seen, ncpus, why, sizeof(why)))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "%s", why);
	return SSM_OK;
}

/* ---- cpu (internal) ------------------------------------------------------
 * One instance per vCPU, the instance number its index.  cpu_state.c's
 * data, then the VMM's own interrupt state: u8 PIC output level as the
 * BSP's thread last saw it, u8 "PIT edge held until IRQ 0 is
 * acknowledged"; both 0 in an AP's record (the PIC drives the BSP only). */

static int cpu_save_prep(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;
	uint32_t i = ssm_handle_instance(h);

	/* Reading registers of a running vCPU would save a torn state. */
	if (i >= machine_ncpus(m) || !vcpu_is_parked(&m->vcpu[i]))
		return ssm_set_load_error(h, SSM_ERR_BAD_STATE, "cpu: vCPU %u is not paused", i);
	return SSM_OK;
}

static int cpu_save_exec(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;
	uint32_t i = ssm_handle_instance(h);
	/* A point-in-time writer cannot ask KVM: it has the vCPUs as read at
	 * the request. */
	const struct cpu_snapshot *frozen = bgsave_frozen_cpu(m, i);
	int rc = frozen ? cpu_state_put(h, frozen) : cpu_state_save(&m->kvm, i, h);
	bool line = false, deferred = false;

	if (i == 0)
		machine_get_irq_state(m, &line, &deferred);
	if (!rc)
		rc = ssm_put_bool(h, line);
	if (!rc)
		rc = ssm_put_bool(h, deferred);
	return rc;
}

static int cpu_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct machine *m = ctx;
	bool line, deferred;
	int rc;

	uint32_t i = ssm_handle_instance(h);

	(void)pass;
	if (!m->built)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: arrived before the "
					  "machine configuration");
	rc = units_cpu_arrives(h, &m->cpus_seen, machine_ncpus(m), i);
	if (!rc)
		rc = cpu_state_load(&m->kvm, i, h, version, m->cpus_seen.apic_ids);
	if (!rc)
		rc = units_cpu_irq_state(h, i, &line, &deferred);
	if (rc)
		return rc;
	if (i == 0)
		machine_set_irq_state(m, line, deferred);
	return SSM_OK;
}

int units_cpu_irq_state(ssm_handle *h, uint32_t i, bool *line, bool *deferred)
{
	int rc;

	ssm_handle_set_field(h, "irq_line");
	rc = ssm_get_bool(h, line);
	if (!rc) {
		ssm_handle_set_field(h, "tick_deferred");
		rc = ssm_get_bool(h, deferred);
	}
	ssm_handle_set_field(h, NULL);
	if (!rc && i > 0 && (*line || *deferred))
		rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: instance %u: field %s is 1; "
					"only vCPU 0 takes the PIC's interrupt", i,
					*line ? "irq_line" : "tick_deferred");
	return rc;
}

/* ---- serial-backend (driver) ---------------------------------------------
 * u8 kind, str spec, u32 n, n bytes of guest output the host has not been
 * given yet.  save_prep flushes first, so normally n = 0; whatever the host
 * could not take travels in the file and is written after restore, so each
 * byte of guest output reaches a host exactly once. */

static int backend_save_prep(void *ctx, ssm_handle *h)
{
	(void)h;
	serial_backend_flush(ctx);
	return SSM_OK;
}

static int backend_save_exec(void *ctx, ssm_handle *h)
{
	struct serial_backend *sb = ctx;
	int rc = ssm_put_u8(h, serial_backend_saved_kind(sb));

	if (!rc)
		rc = ssm_put_str(h, sb->spec ? sb->spec : "");
	if (!rc)
		rc = ssm_put_u32(h, (uint32_t)sb->out_len);
	if (!rc)
		rc = ssm_put_mem(h, sb->out_buf, sb->out_len);
	return rc;
}

/* Pass 0 of a live save: the settings only; unwritten output goes with the
 * final pass, so it is sent exactly once. */
static int backend_live_exec(void *ctx, ssm_handle *h, uint32_t pass)
{
	struct serial_backend *sb = ctx;
	int rc = ssm_put_u8(h, serial_backend_saved_kind(sb));

	(void)pass;
	if (!rc)
		rc = ssm_put_str(h, sb->spec ? sb->spec : "");
	if (!rc)
		rc = ssm_put_u32(h, 0);
	return rc;
}

static int backend_save_done(void *ctx, ssm_handle *h)
{
	struct serial_backend *sb = ctx;

	/* Continuing here: this VM owns the pending bytes.  Otherwise the
	 * restored VM writes them. */
	if (ssm_handle_after(h) == SSM_AFTER_CONTINUE || ssm_handle_status(h) != SSM_OK)
		serial_backend_flush(sb);
	else
		serial_backend_discard(sb);
	return SSM_OK;
}

static int backend_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct serial_backend *sb = ctx;
	char spec[UNITS_PATH_MAX];
	uint8_t kind, buf[SERIAL_BACKEND_BUF];
	uint32_t n;
	int rc;

	(void)pass;
	rc = ssm_check_unit_version(h, "serial-backend", version, BACKEND_VERSION_MIN,
				    BACKEND_VERSION);
	if (!rc) {
		ssm_handle_set_field(h, "kind");
		rc = ssm_get_u8(h, &kind);
	}
	if (!rc) {
		ssm_handle_set_field(h, "spec");
		rc = ssm_get_str(h, spec, sizeof(spec), NULL);
	}
	if (rc == SSM_ERR_STRING_TOO_LONG)
		rc = ssm_set_load_error(h, rc, "serial-backend: field spec is longer than "
					"%zu bytes", sizeof(spec) - 1);
	if (!rc) {
		ssm_handle_set_field(h, "pending");
		rc = ssm_get_u32(h, &n);
	}
	ssm_handle_set_field(h, NULL);
	if (rc)
		return rc;
	if (kind > SERIAL_BACKEND_FILE)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "serial-backend: kind %u "
					  "unknown", kind);
	if (n > sizeof(buf))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "serial-backend: %u pending "
					  "bytes (at most %zu)", n, sizeof(buf));
	ssm_handle_set_field(h, "pending bytes");
	rc = ssm_get_mem(h, buf, n);
	ssm_handle_set_field(h, NULL);
	if (rc)
		return rc;
	/* The host side is this process's choice (--serial); only the guest's
	 * unwritten output carries over. */
	for (uint32_t i = 0; i < n; i++)
		serial_backend_put(sb, buf[i]);
	return SSM_OK;
}

static int backend_load_done(void *ctx, ssm_handle *h)
{
	(void)h;
	serial_backend_flush(ctx);
	return SSM_OK;
}

/* ---- registration ------------------------------------------------------- */

int units_register_backend(ssm *reg, struct serial_backend *sb)
{
	static const ssm_callbacks backend_cb = {
		.live_exec = backend_live_exec,
		.live_vote = vote_once,
		.save_prep = backend_save_prep,
		.save_exec = backend_save_exec,
		.save_done = backend_save_done,
		.load_exec = backend_load_exec,
		.load_done = backend_load_done,
	};

	return ssm_register_driver(reg, sb, "serial-backend", 0, BACKEND_VERSION, 512, NULL, 0,
				   &backend_cb);
}

int units_register(struct machine *m, ssm *reg)
{
	static const ssm_callbacks machine_cb = {
		.live_exec = machine_live_exec,
		.live_vote = vote_once,
		.save_exec = machine_save_exec,
		.load_prep = machine_load_prep,
		.load_exec = machine_load_exec,
		.load_done = machine_load_done,
	};
	static const ssm_callbacks cpu_cb = {
		.save_prep = cpu_save_prep,
		.save_exec = cpu_save_exec,
		.load_exec = cpu_load_exec,
	};
	int rc;

	rc = ssm_register_external(reg, "machine", 0, MACHINE_VERSION, 4096, NULL, 0,
				   &machine_cb, m);
	/* The devices go before RAM: in pass 0 of a live migration their
	 * identity records let the destination refuse an incompatible model
	 * before any RAM is sent. */
	/* Load side only: a child file's "parent" comes before its RAM. */
	if (!rc)
		rc = chain_register(m, reg);
	if (!rc)
		rc = pic_ssm_register(&m->pic, reg, 0);
	if (!rc)
		rc = pit_ssm_register(&m->pit, reg, 0);
	if (!rc)
		rc = serial_ssm_register(&m->serial, reg, 0);
	if (!rc)
		rc = fw_cfg_ssm_register(&m->fw_cfg, reg, 0);
	if (!rc)
		rc = ram_ssm_register(m, reg);
	/* Every instance a machine may have: the count is known only once the
	 * machine is built, maybe from a stream being loaded (units_fit_cpus
	 * drops the rest). */
	for (uint32_t i = 0; !rc && i < KVM_VCPUS_MAX; i++)
		rc = ssm_register_internal(reg, "cpu", i, CPU_STATE_VERSION, 16384, NULL, 0,
					   &cpu_cb);
	/* After the cpu unit: a LAPIC loads into a vCPU whose APIC base is
	 * restored (irqchip_units.h); units_select_irqchip() keeps these or
	 * the pic and pit. */
	if (!rc)
		rc = irqchip_units_register(m, reg);
	if (!rc)
		rc = irqchip_units_register_all_lapics(m, reg);
	if (!rc)
		rc = units_register_backend(reg, &m->backend);
	return rc;
}

void units_fit_cpus_in(struct machine *m, ssm *reg)
{
	for (uint32_t i = machine_ncpus(m); i < KVM_VCPUS_MAX; i++)
		(void)ssm_deregister_internal(reg, "cpu", i);
	/* And their LAPICs (none left in a user-irqchip VM). */
	irqchip_units_fit(reg, machine_ncpus(m));
}

void units_fit_cpus(struct machine *m)
{
	units_fit_cpus_in(m, m->ssm);
}

int units_select_irqchip_in(struct machine *m, ssm *reg)
{
	int rc;

	if (m->cfg.irqchip == IRQCHIP_KERNEL) {
		rc = ssm_deregister_device(reg, &m->pic, "pic", 0);
		if (!rc)
			rc = ssm_deregister_device(reg, &m->pit, "pit", 0);
	} else {
		rc = irqchip_units_deregister(reg);
	}
	return rc ? rc : irqchip_units_register_refusers(reg, m->cfg.irqchip);
}

int units_select_irqchip(struct machine *m)
{
	int rc;

	if (m->irqchip_settled)
		return SSM_OK;
	rc = units_select_irqchip_in(m, m->ssm);
	if (!rc)
		m->irqchip_settled = true;
	return rc;
}

/* ---- reading the configuration before the machine exists ----------------- */

int units_open_file(const char *path, ssm_stream *st, char *msg, size_t msglen)
{
	int rc;

	msg[0] = 0;
	errno = 0;
	rc = ssm_stream_file_open(st, path);
	if (rc)
		snprintf(msg, msglen, "%s", rc == SSM_ERR_NOT_SUPPORTED ? "not a regular file" :
			 errno ? strerror(errno) : ssm_strerror(rc));
	return rc;
}

int units_read_config(const char *path, struct saved_config *cfg, char *msg, size_t msglen)
{
	ssm_handle *h = NULL;
	ssm_stream st;
	uint32_t version;
	int rc;

	rc = units_open_file(path, &st, msg, msglen);
	if (rc)
		return rc;
	rc = ssm_open(st, &h);
	if (!rc)
		rc = ssm_seek(h, "machine", 0, &version);
	if (!rc)
		rc = units_get_config(h, version, cfg);
	if (rc)
		snprintf(msg, msglen, "%s", ssm_handle_error(h)[0] ? ssm_handle_error(h) :
			 ssm_strerror(rc));
	ssm_close(h);
	return rc;
}

/* ---- completeness ----------------------------------------------------------
 * A VM restored without one of these would run on reset devices, panic
 * (no PIC), triple-fault (no RAM) or lose console output. */

static const char *const mandatory_units[] = {
	"machine", "serial", "ram", "cpu", "serial-backend",
};

int units_check_complete(struct machine *m, char *msg, size_t msglen)
{
	const char *missing;
	uint32_t inst;
	int rc;

	/* The load is over: the registry may change again, and only this
	 * VM's vCPUs' units are left to check. */
	units_fit_cpus(m);
	rc = units_check_complete_reg(m->ssm, m->cfg.irqchip, msg, msglen);
	for (uint32_t i = 1; !rc && i < machine_ncpus(m); i++)
		if (!ssm_unit_final_loaded(m->ssm, "cpu", i)) {
			snprintf(msg, msglen, "the state holds no 'cpu' unit instance %u (final "
				 "pass); the machine has %u vCPUs", i, machine_ncpus(m));
			rc = SSM_ERR_FORMAT;
		}
	if (rc || m->cfg.irqchip != IRQCHIP_KERNEL)
		return rc;
	if (!irqchip_units_complete(m, m->ssm, &missing, &inst)) {
		snprintf(msg, msglen, "the state holds no '%s' unit (instance %u, final pass); "
			 "a VM with --irqchip kernel needs lapic (one per vCPU), kvm-pic, "
			 "ioapic and kvm-pit", missing, inst);
		return SSM_ERR_FORMAT;
	}
	return SSM_OK;
}

int units_check_complete_reg(ssm *reg, enum irqchip_mode mode, char *msg, size_t msglen)
{
	static const char *const user_chips[] = { "pic", "pit" };

	for (size_t i = 0; i < sizeof(mandatory_units) / sizeof(mandatory_units[0]); i++)
		if (!ssm_unit_final_loaded(reg, mandatory_units[i], 0)) {
			snprintf(msg, msglen, "the state holds no '%s' unit (instance 0, final "
				 "pass); every one of machine, serial, ram, cpu and "
				 "serial-backend is needed", mandatory_units[i]);
			return SSM_ERR_FORMAT;
		}
	/* The user models are needed in their mode and refused in the other
	 * (a stream received before the mode was known loaded them). */
	for (size_t i = 0; i < 2; i++) {
		bool have = ssm_unit_final_loaded(reg, user_chips[i], 0);

		if (have != (mode == IRQCHIP_USER)) {
			snprintf(msg, msglen, have ? "the state holds a '%s' unit of the user "
				 "irqchip, but its machine record says --irqchip kernel" :
				 "the state holds no '%s' unit (instance 0, final pass); a VM "
				 "with --irqchip user needs pic and pit", user_chips[i]);
			return SSM_ERR_FORMAT;
		}
	}
	return SSM_OK;
}
