/* machine_ctl.c - the machine's state changes asked for while it runs:
 * the monitor's stop and cont, and a save or migration now, which a stop
 * request (signal, --save-after) runs through the same functions. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm/clock.h"
#include "vmm/machine.h"
#include "vmm/snapshot.h"
#include "vmm/units.h"

void machine_set_save_background(struct machine *m, bool on)
{
	m->save_background = on;
}

int machine_keep_config(struct machine *m, const struct saved_config *c)
{
	struct saved_config *copy = malloc(sizeof(*copy));

	if (!copy)
		return -1;
	*copy = *c;
	free(m->loaded_cfg);
	m->loaded_cfg = copy;
	return 0;
}

void machine_set_serial_override(struct machine *m, const char *spec)
{
	m->serial_override = spec;
}

void machine_note_save_result(struct machine *m, bool ok)
{
	m->save_failed = !ok;
}

void machine_require_irqchip(struct machine *m, enum irqchip_mode mode)
{
	m->irqchip_required = (int)mode;
}

void machine_set_monitor(struct machine *m, struct monitor *mon)
{
	m->monitor = mon;
}

int machine_stop(struct machine *m)
{
	if (m->mig.running || m->mig.in_doubt)
		return -1;
	if (!m->stopped) {
		machine_pause(m);
		m->stopped = true;
	}
	return 0;
}

int machine_cont(struct machine *m)
{
	if (m->mig.running || m->mig.in_doubt)
		return -1;
	if (m->stopped) {
		m->stopped = false;
		machine_resume(m);
	}
	return 0;
}

bool machine_is_stopped(const struct machine *m)
{
	return m->stopped;
}

static int save_now(struct machine *m, const char *path, bool cont, bool incr, char *msg,
		    size_t msglen)
{
	uint64_t t0 = host_now_ns();
	bool was_stopped = m->stopped;
	char info[600];
	int rc;

	/* A migration's thread owns the registry until it is joined; a guest
	 * in doubt may run elsewhere, and a file of it would be a third copy. */
	if (m->mig.running || m->mig.in_doubt) {
		snprintf(msg, msglen, "%s", m->mig.running ? "a migration or live save is "
			 "running" : "the last migration is unconfirmed");
		fprintf(stderr, "vmm: no save to %s: %s\n", path, msg);
		return SSM_ERR_BAD_STATE;
	}
	if (!was_stopped)
		machine_pause(m);
	rc = chain_save_begin(m, path, incr, msg, msglen);
	if (!rc)
		rc = snapshot_save(m, path, cont ? SSM_AFTER_CONTINUE : SSM_AFTER_DESTROY, msg,
				   msglen);
	chain_save_end(m, path, incr, rc, info, sizeof(info));
	if (rc) {
		machine_note_save_result(m, false);
		fprintf(stderr, "%svmm: saving to %s failed: %s; the VM keeps %s%s\n",
			isatty(STDERR_FILENO) ? "\r\n" : "", path, msg,
			was_stopped ? "stopped" : "running", path == m->save_path ?
			" (Ctrl-C retries, SIGQUIT quits without saving)" : "");
		if (!was_stopped)
			machine_resume(m);
		return rc;
	}
	machine_note_save_result(m, true);
	fprintf(stderr, "%svmm: saved to %s in %.3f s%s; resume with: vmm --restore %s\n",
		isatty(STDERR_FILENO) ? "\r\n" : "", path,
		(double)(host_now_ns() - t0) / 1e9, info, path);
	if (!cont)
		machine_end(m, 0);
	else if (!was_stopped)
		machine_resume(m);
	return 0;
}

int machine_save_now(struct machine *m, const char *path, bool cont, char *msg,
		     size_t msglen)
{
	return save_now(m, path, cont, false, msg, msglen);
}

int machine_save_incremental(struct machine *m, const char *path, char *msg, size_t msglen)
{
	return save_now(m, path, true, true, msg, msglen);
}

int machine_migrate_now(struct machine *m, const struct migrate_opts *o)
{
	if (m->stopped) {
		fprintf(stderr, "vmm: no migration or live save while the VM is stopped "
			"(the monitor's cont resumes it)\n");
		return -1;
	}
	if (m->mig.running) {
		fprintf(stderr, "vmm: a migration is already running\n");
		return -1;
	}
	/* migrate_start refuses (and says why) while the last one is in doubt;
	 * its options stay those of that one. */
	if (!m->mig.in_doubt)
		migrate_set_opts(&m->mig, o);
	return migrate_start(m);
}
