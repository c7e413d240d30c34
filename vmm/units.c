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
#include <zlib.h>

#include "vmm/cpu_state.h"
#include <stdlib.h>

#include "vmm/machine.h"
#include "vmm/ram.h"
#include "vmm/units.h"

#define MACHINE_VERSION 1
#define BACKEND_VERSION 1

/* ---- machine (external) ---------------------------------------------------
 * u64 ram_size, str cmdline, str kernel path, u64 kernel size, u32 kernel
 * CRC32, str serial spec, u64 virtual clock ns.  The kernel file itself is
 * not needed to restore: its loaded image is part of guest RAM. */

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
		rc = ssm_put_u64(h, c->clock_ns);
	return rc;
}

static int get_config(ssm_handle *h, uint32_t version, struct saved_config *c)
{
	int rc;

	if (version > MACHINE_VERSION)
		return ssm_set_load_error(h, SSM_ERR_UNIT_VERSION, "machine: saved version %u is "
					  "newer than this program's %u", version,
					  MACHINE_VERSION);
	memset(c, 0, sizeof(*c));
	rc = ssm_get_u64(h, &c->ram_size);
	if (!rc)
		rc = ssm_get_str(h, c->cmdline, sizeof(c->cmdline), NULL);
	if (!rc)
		rc = ssm_get_str(h, c->kernel, sizeof(c->kernel), NULL);
	if (!rc)
		rc = ssm_get_u64(h, &c->kernel_size);
	if (!rc)
		rc = ssm_get_u32(h, &c->kernel_crc);
	if (!rc)
		rc = ssm_get_str(h, c->serial, sizeof(c->serial), NULL);
	if (!rc)
		rc = ssm_get_u64(h, &c->clock_ns);
	if (!rc && (c->ram_size < KVM_RAM_MIN || c->ram_size > KVM_RAM_MAX ||
		    c->ram_size % (1u << 20)))
		rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: RAM size %llu is not "
					"a multiple of 1M from 4M to 3G",
					(unsigned long long)c->ram_size);
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
	c->clock_ns = machine_clock_ns(m);
}

static int machine_save_exec(void *ctx, ssm_handle *h)
{
	struct saved_config c;

	current_config(ctx, &c);
	return put_config(h, &c);
}

/* Build the VM a stream describes (incoming migration): the first machine
 * record arrives before any other unit's data. */
static int build_from(struct machine *m, ssm_handle *h, const struct saved_config *c)
{
	struct machine_config cfg = { 0 };

	m->loaded_cfg = malloc(sizeof(*m->loaded_cfg));
	if (!m->loaded_cfg)
		return SSM_ERR_NOMEM;
	*m->loaded_cfg = *c;
	cfg.ram_size = c->ram_size;
	cfg.cmdline = m->loaded_cfg->cmdline;
	cfg.kernel = m->loaded_cfg->kernel;
	cfg.serial = m->serial_override ? m->serial_override : m->loaded_cfg->serial;
	cfg.serial_append = !m->serial_override;
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

	rc = get_config(h, version, &c);
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
	m->kernel_size = c.kernel_size;
	m->kernel_crc = c.kernel_crc;
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

static int vote_once(void *ctx, ssm_handle *h, uint32_t pass)
{
	(void)ctx;
	(void)h;
	(void)pass;
	return SSM_VOTE_DONE_DONT_CALL_AGAIN;
}

/* A file without a machine unit cannot describe the VM it holds. */
static int machine_load_done(void *ctx, ssm_handle *h)
{
	(void)ctx;
	if (ssm_handle_status(h) == SSM_OK && !ssm_handle_unit_loaded(h))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "machine: the state holds no "
					  "machine configuration");
	return SSM_OK;
}

/* ---- cpu (internal) ------------------------------------------------------
 * cpu_state.c's data, then the VMM's own interrupt state: u8 PIC output
 * level as the vCPU thread last saw it, u8 "PIT edge held until IRQ 0 is
 * acknowledged". */

static int cpu_save_prep(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;

	/* Reading registers of a running vCPU would save a torn state. */
	if (!m->vcpu.parked)
		return ssm_set_load_error(h, SSM_ERR_BAD_STATE, "cpu: vCPU is not paused");
	return SSM_OK;
}

static int cpu_save_exec(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;
	int rc = cpu_state_save(m->kvm.sys_fd, m->kvm.vm_fd, m->kvm.vcpu_fd, h);

	if (!rc)
		rc = ssm_put_bool(h, atomic_load(&m->vcpu.irq_line));
	if (!rc)
		rc = ssm_put_bool(h, m->tick_deferred);
	return rc;
}

static int cpu_load_exec(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct machine *m = ctx;
	bool line, deferred;
	int rc;

	(void)pass;
	if (!m->built)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: arrived before the "
					  "machine configuration");
	rc = cpu_state_load(m->kvm.vm_fd, m->kvm.vcpu_fd, h, version);
	if (!rc)
		rc = ssm_get_bool(h, &line);
	if (!rc)
		rc = ssm_get_bool(h, &deferred);
	if (rc)
		return rc;
	atomic_store(&m->vcpu.irq_line, line);
	m->tick_deferred = deferred;
	return SSM_OK;
}

/* The PIC re-drives its output in its own load_done; what the vCPU thread
 * mirrors must agree with it before the vCPU runs. */
static int cpu_load_done(void *ctx, ssm_handle *h)
{
	(void)ctx;
	if (ssm_handle_status(h) == SSM_OK && !ssm_handle_unit_loaded(h))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "cpu: the state holds no vCPU");
	return SSM_OK;
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
	int rc = ssm_put_u8(h, (uint8_t)sb->kind);

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
	int rc = ssm_put_u8(h, (uint8_t)sb->kind);

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
		sb->out_len = 0;
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
	if (version > BACKEND_VERSION)
		return ssm_set_load_error(h, SSM_ERR_UNIT_VERSION, "serial-backend: saved "
					  "version %u is newer than this program's %u",
					  version, BACKEND_VERSION);
	rc = ssm_get_u8(h, &kind);
	if (!rc)
		rc = ssm_get_str(h, spec, sizeof(spec), NULL);
	if (!rc)
		rc = ssm_get_u32(h, &n);
	if (rc)
		return rc;
	if (kind > SERIAL_BACKEND_FILE)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "serial-backend: kind %u "
					  "unknown", kind);
	if (n > sizeof(buf))
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "serial-backend: %u pending "
					  "bytes (at most %zu)", n, sizeof(buf));
	rc = ssm_get_mem(h, buf, n);
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

int units_register(struct machine *m, ssm *reg)
{
	static const ssm_callbacks machine_cb = {
		.live_exec = machine_live_exec,
		.live_vote = vote_once,
		.save_exec = machine_save_exec,
		.load_exec = machine_load_exec,
		.load_done = machine_load_done,
	};
	static const ssm_callbacks cpu_cb = {
		.save_prep = cpu_save_prep,
		.save_exec = cpu_save_exec,
		.load_exec = cpu_load_exec,
		.load_done = cpu_load_done,
	};
	static const ssm_callbacks backend_cb = {
		.live_exec = backend_live_exec,
		.live_vote = vote_once,
		.save_prep = backend_save_prep,
		.save_exec = backend_save_exec,
		.save_done = backend_save_done,
		.load_exec = backend_load_exec,
		.load_done = backend_load_done,
	};
	int rc;

	rc = ssm_register_external(reg, "machine", 0, MACHINE_VERSION, 4096, NULL, 0,
				   &machine_cb, m);
	/* The devices go before RAM: in pass 0 of a live migration their
	 * identity records let the destination refuse an incompatible model
	 * before any RAM is sent. */
	if (!rc)
		rc = pic_ssm_register(&m->pic, reg, 0);
	if (!rc)
		rc = pit_ssm_register(&m->pit, reg, 0);
	if (!rc)
		rc = serial_ssm_register(&m->serial, reg, 0);
	if (!rc)
		rc = ram_ssm_register(m, reg);
	if (!rc)
		rc = ssm_register_internal(reg, "cpu", 0, CPU_STATE_VERSION, 8192, NULL, 0,
					   &cpu_cb);
	if (!rc)
		rc = ssm_register_driver(reg, &m->backend, "serial-backend", 0, BACKEND_VERSION,
					 512, NULL, 0, &backend_cb);
	return rc;
}

/* ---- reading the configuration before the machine exists ----------------- */

int units_read_config(const char *path, struct saved_config *cfg, char *msg, size_t msglen)
{
	ssm_handle *h = NULL;
	ssm_stream st;
	uint32_t version;
	int rc;

	msg[0] = 0;
	errno = 0;
	rc = ssm_stream_file_open(&st, path);
	if (rc) {
		snprintf(msg, msglen, "%s", errno ? strerror(errno) : ssm_strerror(rc));
		return rc;
	}
	rc = ssm_open(st, &h);
	if (!rc)
		rc = ssm_seek(h, "machine", 0, &version);
	if (!rc)
		rc = get_config(h, version, cfg);
	if (rc)
		snprintf(msg, msglen, "%s", ssm_handle_error(h)[0] ? ssm_handle_error(h) :
			 ssm_strerror(rc));
	ssm_close(h);
	return rc;
}

int units_kernel_facts(const char *path, uint64_t *size, uint32_t *crc)
{
	uint8_t buf[65536];
	uLong c = crc32(0, NULL, 0);
	uint64_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		c = crc32(c, buf, (uInt)n);
		total += (uint64_t)n;
	}
	close(fd);
	if (n < 0)
		return -1;
	*size = total;
	*crc = (uint32_t)c;
	return 0;
}
