/* snapshot.c - the save and restore flows of the vmm program. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/bgsave.h"
#include "vmm/clock.h"
#include "vmm/machine.h"
#include "vmm/snapshot.h"
#include "vmm/stop.h"
#include "vmm/stream_stdio.h"
#include "vmm/units.h"

static void trace_cb(void *user, const char *unit, uint32_t instance, ssm_flavour flavour,
		     ssm_cb_kind kind, uint32_t pass)
{
	bool has_pass = kind == SSM_CB_LIVE_EXEC || kind == SSM_CB_LIVE_VOTE ||
			kind == SSM_CB_SAVE_EXEC || kind == SSM_CB_LOAD_EXEC;

	(void)user;
	if (!has_pass)
		fprintf(stderr, "ssm-trace: %s/%u %s %s\n", unit, instance,
			ssm_flavour_name(flavour), ssm_cb_kind_name(kind));
	else if (pass == SSM_PASS_FINAL)
		fprintf(stderr, "ssm-trace: %s/%u %s %s pass final\n", unit, instance,
			ssm_flavour_name(flavour), ssm_cb_kind_name(kind));
	else
		fprintf(stderr, "ssm-trace: %s/%u %s %s pass %u\n", unit, instance,
			ssm_flavour_name(flavour), ssm_cb_kind_name(kind), pass);
}

void snapshot_trace(ssm *reg)
{
	ssm_set_trace(reg, trace_cb, NULL);
}

/* Long saves and loads show progress on a terminal; logs stay clean. */
static void progress_cb(void *user, unsigned pct)
{
	const char *what = user;

	/* Clear the rest of the line: the guest's console shares it. */
	fprintf(stderr, "\r\033[Kvmm: %s %3u%%%s", what, pct, pct == 100 ? "\r\n" : "");
}

static int save_to(struct machine *m, const char *path, ssm_after after, bool progress,
		   char *msg, size_t msglen)
{
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .after = after,
			    .codec = (ssm_codec)m->mig.o.codec, .compression = m->mig.o.level };
	ssm_stream st;
	int rc;

	msg[0] = 0;
	if (progress && isatty(STDERR_FILENO)) {
		o.progress = progress_cb;
		o.progress_user = "saving";
	}
	errno = 0;
	rc = stream_stdio_is(path) ? stream_stdio_open(&st, true) :
	     ssm_stream_file_create(&st, path);
	if (rc) {
		/* The library keeps only a class of error; errno says which. */
		snprintf(msg, msglen, "cannot create %s: %s", path,
			 rc == SSM_ERR_NOT_SUPPORTED ? "it exists and is not a regular file" :
			 errno ? strerror(errno) : ssm_strerror(rc));
		return rc;
	}
	rc = ssm_save(m->ssm, st, &o);
	if (rc)
		snprintf(msg, msglen, "%s", ssm_last_error(m->ssm)[0] ?
			 ssm_last_error(m->ssm) : ssm_strerror(rc));
	return rc;
}

int snapshot_save(struct machine *m, const char *path, ssm_after after, char *msg,
		  size_t msglen)
{
	return save_to(m, path, after, true, msg, msglen);
}

/* The VM the writer saves is a copy that never runs; the one that runs on
 * keeps the console, so the units see the plain --continue save. */
int snapshot_write(struct machine *m, const char *path, char *msg, size_t msglen)
{
	return save_to(m, path, SSM_AFTER_CONTINUE, false, msg, msglen);
}

int snapshot_point_in_time(struct machine *m, const char *path, bool incr, char *msg,
			   size_t msglen)
{
	return bgsave_start(m, path, incr, msg, msglen);
}

int snapshot_restore(struct machine *m, const char *path, char *msg, size_t msglen)
{
	ssm_load_opts o = { SSM_LOAD_OPTS_INIT, .after = SSM_AFTER_RESUME, .map_extents = true };
	ssm_stream st;
	int rc, fd;

	msg[0] = 0;
	if (isatty(STDERR_FILENO)) {
		o.progress = progress_cb;
		o.progress_user = "restoring";
	}
	errno = 0;
	if (stream_stdio_is(path)) {
		/* A pipe cannot be mapped: RAM comes as records. */
		fd = -1;
		o.map_extents = false;
		rc = stream_stdio_open(&st, false);
	} else {
		/* One open: RAM is mapped from the very file the stream reads.
		 * O_NONBLOCK: opening a FIFO would wait for a writer. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		rc = fd < 0 ? SSM_ERR_IO : ssm_stream_file_fdopen(&st, fd);
		o.map_fd = fd;
	}
	if (!rc)
		/* Loading gigabytes takes a while: Ctrl-C must not wait. */
		rc = stop_guard_stream(&st);
	if (rc) {
		snprintf(msg, msglen, "cannot open %s: %s", path,
			 rc == SSM_ERR_NOT_SUPPORTED ? "not a regular file" :
			 errno ? strerror(errno) : ssm_strerror(rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	/* The new vCPU thread parks itself on start; wait until it has, so
	 * the cpu unit's ioctls never race with it. */
	machine_pause(m);
	chain_restore_begin(m, fd >= 0 ? path : NULL);
	rc = ssm_load(m->ssm, st, &o);
	chain_restore_end(m, rc);
	if (fd >= 0)
		close(fd);
	/* From a pipe the machine is built from the stream's first record. */
	if (!rc && !m->built)
		rc = SSM_ERR_FORMAT;
	if (rc == SSM_ERR_CANCELLED && stop_signal_pending())
		snprintf(msg, msglen, "stopped by %s", strsignal(stop_signal_pending()));
	else if (rc && chain_restore_error(m)[0])
		snprintf(msg, msglen, "%s", chain_restore_error(m));
	else if (rc)
		snprintf(msg, msglen, "%s", ssm_last_error(m->ssm)[0] ?
			 ssm_last_error(m->ssm) : ssm_strerror(rc));
	else
		rc = units_check_complete(m, msg, msglen);
	/* From a pipe the mode came with the stream: drop the other's units. */
	if (!rc && units_select_irqchip(m)) {
		snprintf(msg, msglen, "cannot drop the other irqchip mode's units");
		rc = SSM_ERR_BAD_STATE;
	}
	return rc;
}
