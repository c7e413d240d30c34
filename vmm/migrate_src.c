/* migrate_src.c - the source's migration thread: live passes, the final
 * pass, then the commit handshake (READY -> GO -> RUNNING); and live
 * snapshots to a file, which stop after the final pass.
 *
 * The one rule (docs/migration.md): until GO has left this host the
 * destination cannot run the guest, so every failure resumes it here;
 * once GO has left, only the operator may resume it here. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/clock.h"
#include "vmm/machine.h"
#include "vmm/migrate.h"
#include "vmm/migrate_priv.h"
#include "vmm/stream_stdio.h"

void *migrate_src_thread(void *arg);

/* Timestamps of one migration or live snapshot (host monotonic ns). */
struct mig_times {
	uint64_t start;            /* thread started */
	uint64_t pause;            /* vCPU paused for the final pass */
	uint64_t sent;             /* final pass written, stream closed */
	uint64_t running;          /* guest runs again: destination confirmed,
				      or resumed here (--continue) */
	uint64_t end;              /* all done */
};

/* How the handshake after the stream ended. */
enum handoff {
	HANDOFF_KEEP,              /* no GO sent: the guest is still ours */
	HANDOFF_DONE,              /* RUNNING received: it runs there */
	HANDOFF_DOUBT,             /* GO sent, no RUNNING: operator decides */
};

/* Summary: passes, pages and bytes per pass, total time, downtime. */
static void print_summary(struct machine *m, const struct mig_times *t, uint64_t bytes_total,
			  const char *what)
{
	const struct ram_live *rl = &m->ram_live;
	char buf[2048], down[160];
	size_t o = 0;

	for (uint32_t i = 0; i < rl->nstats && o < sizeof(buf) - 100; i++) {
		const struct ram_pass_stat *st = &rl->stats[i];
		char pass[16];

		if (st->pass == SSM_PASS_FINAL)
			snprintf(pass, sizeof(pass), "final");
		else
			snprintf(pass, sizeof(pass), "%u", st->pass);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s: %llu pages %.1f MB",
				      i ? ", " : "", pass, (unsigned long long)st->pages,
				      (double)st->bytes / 1e6);
	}
	if (t->running)
		snprintf(down, sizeof(down), "downtime %.2f ms (final pass %.2f ms, "
			 "confirmation %.2f ms)", (double)(t->running - t->pause) / 1e6,
			 (double)(t->sent - t->pause) / 1e6, (double)(t->running - t->sent) / 1e6);
	else
		snprintf(down, sizeof(down), "guest stopped for the final pass %.2f ms",
			 (double)(t->sent - t->pause) / 1e6);
	fprintf(stderr, "vmm: %s: %u live passes + final [%s]; %.1f MB total; total time "
		"%.3f s; %s; max-downtime %u ms; dirty log %.2f ms in %u fetch+clear%s%s\n",
		what, rl->passes, buf, (double)bytes_total / 1e6,
		(double)(t->end - t->start) / 1e9, down, m->mig.o.max_downtime_ms,
		(double)rl->log_ns / 1e6, rl->log_calls, rl->gave_up ? "; " : "",
		rl->gave_up ? rl->why : "");
}

static void set_sock(struct migration *mg, int fd)
{
	pthread_mutex_lock(&mg->sock_mu);
	mg->sock = fd;
	pthread_mutex_unlock(&mg->sock_mu);
}

/* The stream is complete: READY? then GO, then RUNNING?  why gets the
 * reason of anything but HANDOFF_DONE. */
static enum handoff handshake(struct migration *mg, const struct mig_link *l, char *why,
			      size_t len)
{
	uint64_t wait = mg->o.stall_timeout_ns;
	char line[MIG_LINE_MAX];
	int r;

	r = mig_read_line(l, mg->abort_fd, host_now_ns() + wait, line, sizeof(line));
	if (r == 1 && !strncmp(line, "ERROR ", 6)) {
		snprintf(why, len, "the destination refused the stream: %.400s", line + 6);
		return HANDOFF_KEEP;
	}
	if (r != 1 || strcmp(line, "READY")) {
		snprintf(why, len, "%s before the destination was ready (no GO sent)",
			 r == 1 ? "unexpected reply" : r == MIG_LINE_EOF ? "connection lost" :
			 r == MIG_LINE_TIMEOUT ? "no reply" : r == MIG_LINE_WOKEN ?
			 "cancelled" : "receive error");
		return HANDOFF_KEEP;
	}
	/* The point of no return is GO leaving this host: a send that fails
	 * handed none of it to the kernel, a short one not the whole line
	 * the destination needs. */
	if (!mig_send_line(l, "GO", NULL)) {
		snprintf(why, len, "cannot send GO: %s", strerror(errno));
		return HANDOFF_KEEP;
	}
	r = mig_read_line(l, mg->abort_fd, host_now_ns() + wait, line, sizeof(line));
	if (r == 1 && !strcmp(line, "RUNNING"))
		return HANDOFF_DONE;
	snprintf(why, len, "%s after GO", r == 1 ? "unexpected reply" :
		 r == MIG_LINE_EOF ? "connection lost" : r == MIG_LINE_TIMEOUT ?
		 "no confirmation" : r == MIG_LINE_WOKEN ? "stopped waiting" : "receive error");
	return HANDOFF_DOUBT;
}

/* Live passes and the final pass.  *paused says whether the vCPU is
 * stopped on return; the devices are frozen for the main loop while the
 * units' save callbacks read them. */
static int send_state(struct machine *m, ssm_stream st, struct mig_times *t, uint64_t *bytes,
		      bool *paused, char *why, size_t len)
{
	struct migration *mg = &m->mig;
	ssm_save_opts o = { SSM_SAVE_OPTS_INIT,
		.after = mg->o.target ? SSM_AFTER_TELEPORT :
			 mg->o.cont ? SSM_AFTER_CONTINUE : SSM_AFTER_DESTROY,
		.max_downtime_ms = mg->o.max_downtime_ms,
		.max_passes = mg->o.max_passes,
	};
	ssm_handle *h = NULL;
	int rc, rc2;

	rc = ssm_live_begin(m->ssm, st, &o, &h);
	if (!rc) {
		rc = ssm_live_step1(h);
		if ((rc == SSM_ERR_LIVE_GAVE_UP || rc == SSM_ERR_TOO_MANY_PASSES) &&
		    !mg->o.giveup_abort) {
			/* Finish anyway, with the downtime it takes. */
			rc = SSM_OK;
		} else if (rc == SSM_ERR_LIVE_GAVE_UP || rc == SSM_ERR_TOO_MANY_PASSES) {
			snprintf(why, len, "%s (--on-giveup abort)",
				 m->ram_live.why[0] ? m->ram_live.why : ssm_strerror(rc));
		}
	}
	if (!rc) {
		t->pause = host_now_ns();
		machine_pause(m);
		*paused = true;
		machine_freeze_devices(m, true);
		rc = ssm_live_step2(h);
		*bytes = ssm_handle_offset(h);
	}
	/* save_done flushes the serial backend, which the vCPU thread writes:
	 * it runs with the vCPU parked, also after a failure before the final
	 * pass and with --continue. */
	if (h && !*paused) {
		machine_pause(m);
		*paused = true;
		machine_freeze_devices(m, true);
	}
	if (h) {
		rc2 = ssm_live_end(h);
		if (!rc)
			rc = rc2;
	}
	if (*paused)
		machine_freeze_devices(m, false);
	return rc;
}

static bool aborted(const struct migration *mg)
{
	struct pollfd p = { .fd = mg->abort_fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

void *migrate_src_thread(void *arg)
{
	struct machine *m = arg;
	struct migration *mg = &m->mig;
	const char *target = mg->o.target;
	struct mig_times t = { .start = host_now_ns() };
	enum handoff ho = HANDOFF_KEEP;
	uint64_t bytes = 0, one = 1;
	bool paused = false;
	char why[700] = "";
	struct mig_link l = { .fd = -1 };
	ssm_stream st;
	int rc;

	mg->result_doubt = false;
	if (target) {
		l.fd = mig_tcp_open(target, false, mg->abort_fd, mg->o.stall_timeout_ns, why,
				    sizeof(why));
		rc = l.fd < 0 ? SSM_ERR_IO : SSM_OK;
		if (!rc) {
			set_sock(mg, l.fd);
			mig_sockopts(l.fd, mg->o.stall_timeout_ns);
			if (mig_link_secure(&l, target, false, &mg->o.tls, mg->abort_fd,
					    host_now_ns() + mg->o.stall_timeout_ns, why,
					    sizeof(why)))
				rc = SSM_ERR_CONN_LOST;
		}
		if (!rc)
			rc = mig_link_stream(&l, &st);
	} else {
		rc = stream_stdio_is(mg->o.live_file) ? stream_stdio_open(&st, true) :
		     ssm_stream_file_create(&st, mg->o.live_file);
		if (rc)
			snprintf(why, sizeof(why), "cannot create %s: %s", mg->o.live_file,
				 strerror(errno));
	}
	if (!rc)
		rc = send_state(m, st, &t, &bytes, &paused, why, sizeof(why));
	t.sent = host_now_ns();
	if (rc && !why[0])
		snprintf(why, sizeof(why), "%s", ssm_last_error(m->ssm)[0] ?
			 ssm_last_error(m->ssm) : ssm_strerror(rc));
	/* A destination that refused the stream says why before it closes. */
	if (rc && l.fd >= 0) {
		char line[MIG_LINE_MAX];

		if (mig_read_line(&l, mg->abort_fd, host_now_ns() + 500000000ull, line,
				  sizeof(line)) == 1 && !strncmp(line, "ERROR ", 6))
			snprintf(why, sizeof(why), "the destination refused the stream: %.400s",
				 line + 6);
		else if (mig_link_error(&l)[0])
			/* TLS: a destination that refused our certificate says
			 * so in an alert only after our handshake was done. */
			snprintf(why, sizeof(why), "%s", mig_link_error(&l));
	}
	if (!rc && l.fd >= 0) {
		ho = handshake(mg, &l, why, sizeof(why));
		if (ho == HANDOFF_DONE)
			t.running = host_now_ns();
		else
			rc = SSM_ERR_CONN_LOST;
	}
	if (!rc && !target && mg->o.cont) {
		machine_resume(m);
		paused = false;
		t.running = host_now_ns();
	}
	if (t.running && t.running < t.sent)
		t.sent = t.running;
	t.end = host_now_ns();
	if (l.fd >= 0) {
		set_sock(mg, -1);
		mig_link_close(&l);
	}

	if (!rc) {
		print_summary(m, &t, bytes, target ? "migrated" : "live-saved");
		mg->vm_gone = target || !mg->o.cont;
		if (!mg->vm_gone)
			ram_live_reset(m);
	} else if (ho == HANDOFF_DOUBT) {
		/* Never resumed by this program: the destination may run it.
		 * The main thread enters the in-doubt state when it joins. */
		mg->result_doubt = true;
		fprintf(stderr, "%svmm: migration to %s unconfirmed: %s; the guest is paused "
			"here and may be running on the destination: if it is not, resume it "
			"here with kill -USR2 %d, else quit with kill -TERM %d\n",
			isatty(STDERR_FILENO) ? "\r\n" : "", target, why, (int)getpid(),
			(int)getpid());
	} else {
		bool ending = aborted(mg);

		fprintf(stderr, "%svmm: %s %s failed: %s; %s\n",
			isatty(STDERR_FILENO) ? "\r\n" : "",
			target ? "migration to" : "live save to", target ? target : mg->o.live_file,
			why, ending ? "the VM was ending here" : "the VM keeps running here");
		/* Not for a VM that is ending (migrate_abort). */
		if (paused && !ending)
			machine_resume(m);
		/* The guest runs on here: stop dirty logging (slow, so only
		 * after it runs again). */
		ram_live_reset(m);
	}
	mg->result = rc;
	(void)!write(mg->done_fd, &one, sizeof(one));
	return NULL;
}
