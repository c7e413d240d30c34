/* monitor_cmds.c - the control socket's commands (docs/monitor.md).  Each
 * checks the VM's state for a clear refusal, then acts through the same
 * machine and migration functions a signal or --save-after uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/clock.h"
#include "vmm/machine.h"
#include "vmm/monitor.h"
#include "vmm/snapshot.h"

static const char *str_arg(json_t *args, const char *name, const char *dflt)
{
	json_t *v = json_object_get(args, name);

	return v ? json_string_value(v) : dflt;
}

static bool bool_arg(json_t *args, const char *name, bool dflt)
{
	json_t *v = json_object_get(args, name);

	return v ? json_is_true(v) : dflt;
}

/* Refuse while a migration or live save runs or waits for the operator. */
static int check_no_migration(struct machine *m, const char *cmd, struct mon_error *e)
{
	if (m->mig.running)
		return mon_fail(e, MON_ERR_STATE, "%s: a %s is running (migrate-cancel stops "
				"it)", cmd, m->mig.o.target ? "migration" : "live save");
	if (m->mig.in_doubt)
		return mon_fail(e, MON_ERR_STATE, "%s: the last migration is unconfirmed and "
				"the guest may run on its destination; decide first with "
				"migrate-resolve", cmd);
	return 0;
}

static int cmd_capabilities(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	(void)ctx, (void)args, (void)ret, (void)e;
	return 0;
}

static int cmd_query_commands(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	(void)ctx, (void)args;
	*ret = mon_command_list(monitor_commands);
	return *ret ? 0 : mon_fail(e, MON_ERR_FAILED, "out of memory");
}

static int cmd_query_status(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	bool running;
	const char *st = monitor_vm_status(ctx, &running);

	(void)args, (void)e;
	*ret = json_pack("{s:s,s:b}", "status", st, "running", running);
	return 0;
}

/* stop and cont: the same refusals, then the machine's own function. */
static int pause_or_resume(void *ctx, const char *cmd, int (*act)(struct machine *m),
			   struct mon_error *e)
{
	struct machine *m = monitor_machine(ctx);

	if (check_no_migration(m, cmd, e))
		return -1;
	if (act(m))
		return mon_fail(e, MON_ERR_STATE, "%s: not in this state", cmd);
	return 0;
}

static int cmd_stop(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	(void)args, (void)ret;
	return pause_or_resume(ctx, "stop", machine_stop, e);
}

static int cmd_cont(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	(void)args, (void)ret;
	return pause_or_resume(ctx, "cont", machine_cont, e);
}

static int cmd_quit(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	struct machine *m = monitor_machine(ctx);

	(void)args, (void)ret, (void)e;
	if (machine_end(m, 0))
		fprintf(stderr, "%svmm: monitor: quit\n", isatty(STDERR_FILENO) ? "\r\n" : "");
	return 0;
}

/* ---- save: one function per mode ---- */

static int save_plain(struct monitor *mon, const char *file, bool cont, json_t **ret,
		      struct mon_error *e)
{
	struct machine *m = monitor_machine(mon);
	uint64_t t0 = host_now_ns();
	char msg[600];
	double secs;

	if (machine_save_now(m, file, cont, msg, sizeof(msg))) {
		monitor_emit(mon, "SAVE_COMPLETED", json_pack("{s:s,s:s,s:b,s:s}", "file", file,
							      "mode", "plain", "ok", 0,
							      "error", msg));
		return mon_fail(e, MON_ERR_FAILED, "saving to %s failed: %s", file, msg);
	}
	secs = (double)(host_now_ns() - t0) / 1e9;
	monitor_emit(mon, "SAVE_COMPLETED", json_pack("{s:s,s:s,s:b}", "file", file, "mode",
						      "plain", "ok", 1));
	*ret = json_pack("{s:s,s:s,s:f,s:b}", "file", file, "mode", "plain", "seconds", secs,
			 "continue", cont);
	return 0;
}

static int save_live(struct monitor *mon, const char *file, bool cont, json_t **ret,
		     struct mon_error *e)
{
	struct machine *m = monitor_machine(mon);
	struct migrate_opts o = m->stop_mig;   /* the CLI's knobs: downtime, passes */

	if (machine_is_stopped(m))
		return mon_fail(e, MON_ERR_STATE, "save: a live save needs a running VM "
				"(cont first, or mode plain)");
	o.target = NULL;
	o.live_file = monitor_keep_string(mon, file);
	o.cont = cont;
	if (!o.live_file)
		return mon_fail(e, MON_ERR_FAILED, "out of memory");
	if (machine_migrate_now(m, &o))
		return mon_fail(e, MON_ERR_FAILED, "save: the live save did not start (see "
				"the vmm's stderr)");
	*ret = json_pack("{s:s,s:s,s:s,s:b}", "file", file, "mode", "live", "status",
			 "started", "continue", cont);
	return 0;
}

/* The guest pauses only to be captured; a child writes the file while it
 * runs on (bgsave.c), so there is no "stop after the save" variant. */
static int save_pit(struct monitor *mon, const char *file, bool cont, json_t **ret,
		    struct mon_error *e)
{
	struct machine *m = monitor_machine(mon);
	char msg[600];

	if (!cont)
		return mon_fail(e, MON_ERR_ARG, "save: mode point-in-time keeps the guest "
				"running (continue=true), use mode plain to stop it");
	if (snapshot_point_in_time(m, file, false, msg, sizeof(msg)))
		return mon_fail(e, MON_ERR_FAILED, "save: no snapshot to %s: %s", file, msg);
	*ret = json_pack("{s:s,s:s,s:s,s:b}", "file", file, "mode", "point-in-time",
			 "status", "started", "continue", cont);
	return 0;
}

/* A link of the incremental chain (chain.h): a child of its newest file,
 * or the full save that starts it.  The guest runs on. */
static int save_incr(struct monitor *mon, const char *file, bool cont, json_t **ret,
		     struct mon_error *e)
{
	struct machine *m = monitor_machine(mon);
	char msg[600];

	if (!cont)
		return mon_fail(e, MON_ERR_ARG, "save: mode incremental keeps the guest "
				"running (continue=true), use mode plain to stop it");
	if (machine_save_incremental(m, file, msg, sizeof(msg)))
		return mon_fail(e, MON_ERR_FAILED, "save: %s", msg);
	*ret = json_pack("{s:s,s:s,s:s,s:b}", "file", file, "mode", "incremental",
			 "status", "saved", "continue", cont);
	return 0;
}

static const struct save_mode {
	const char *name;
	int (*run)(struct monitor *mon, const char *file, bool cont, json_t **ret,
		   struct mon_error *e);
	const char *missing;       /* run == NULL: why the mode is refused */
} save_modes[] = {
	{ "plain", save_plain, NULL },
	{ "live", save_live, NULL },
	{ "point-in-time", save_pit, NULL },
	{ "incremental", save_incr, NULL },
	{ NULL, NULL, NULL },
};

static int cmd_save(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	struct machine *m = monitor_machine(ctx);
	const char *file = str_arg(args, "file", NULL);
	const char *mode = str_arg(args, "mode", "plain");
	const struct save_mode *sm;

	for (sm = save_modes; sm->name && strcmp(sm->name, mode); sm++)
		;
	if (!sm->name)
		return mon_fail(e, MON_ERR_ARG, "save: mode '%.64s': expected plain, live, "
				"point-in-time or incremental", mode);
	if (!sm->run)
		return mon_fail(e, MON_ERR_UNSUPPORTED, "save: mode %s: %s", sm->name,
				sm->missing);
	if (!*file)
		return mon_fail(e, MON_ERR_ARG, "save: the file name is empty");
	if (check_no_migration(m, "save", e))
		return -1;
	return sm->run(ctx, file, bool_arg(args, "continue", false), ret, e);
}

/* ---- migration ---- */

static int cmd_migrate(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	struct machine *m = monitor_machine(ctx);
	const char *uri = str_arg(args, "uri", NULL);
	struct migrate_opts o = m->stop_mig;
	const char *host, *port;
	char *buf;

	if (migrate_parse_addr(uri, &buf, &host, &port))
		return mon_fail(e, MON_ERR_ARG, "migrate: uri '%.200s': expected tcp:HOST:PORT",
				uri);
	free(buf);
	if (check_no_migration(m, "migrate", e))
		return -1;
	if (machine_is_stopped(m))
		return mon_fail(e, MON_ERR_STATE, "migrate: the VM is stopped (cont first)");
	o.live_file = NULL;
	o.target = monitor_keep_string(ctx, uri);
	if (!o.target)
		return mon_fail(e, MON_ERR_FAILED, "out of memory");
	if (machine_migrate_now(m, &o))
		return mon_fail(e, MON_ERR_FAILED, "migrate: the migration did not start (see "
				"the vmm's stderr)");
	*ret = json_pack("{s:s,s:s}", "status", "active", "uri", uri);
	return 0;
}

static int cmd_migrate_cancel(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	(void)args, (void)ret;
	if (migrate_cancel(monitor_machine(ctx)))
		return mon_fail(e, MON_ERR_STATE, "migrate-cancel: no migration or live save "
				"is running");
	return 0;
}

static int cmd_query_migrate(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	struct machine *m = monitor_machine(ctx);
	const struct migration *mg = &m->mig;
	const char *st;

	(void)args;
	if (!mg->seq) {
		*ret = json_pack("{s:s}", "status", "none");
		return *ret ? 0 : mon_fail(e, MON_ERR_FAILED, "out of memory");
	}
	if (mg->running) {
		/* The thread's counters are its own until the join. */
		*ret = json_pack("{s:s,s:s,s:s,s:I}", "status", "active", "kind",
				 mg->o.target ? "migration" : "live-save",
				 mg->o.target ? "uri" : "file",
				 mg->o.target ? mg->o.target : mg->o.live_file, "total-time-ms",
				 (json_int_t)((host_now_ns() - monitor_migration_start(ctx)) /
					      1000000));
		return *ret ? 0 : mon_fail(e, MON_ERR_FAILED, "out of memory");
	}
	st = mg->in_doubt ? "unconfirmed" : mg->result == 0 ? "completed" :
	     atomic_load(&mg->cancel) ? "cancelled" : "failed";
	*ret = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:f}", "status", st, "kind",
			 mg->o.target ? "migration" : "live-save", mg->o.target ? "uri" : "file",
			 mg->o.target ? mg->o.target : mg->o.live_file,
			 "passes", (json_int_t)mg->last.passes, "bytes",
			 (json_int_t)mg->last.bytes, "total-time-ms",
			 (json_int_t)(mg->last.total_ns / 1000000), "downtime-ms",
			 (double)mg->last.downtime_ns / 1e6);
	if (*ret && mg->result)
		json_object_set_new(*ret, "error", json_string(mg->last.why));
	return *ret ? 0 : mon_fail(e, MON_ERR_FAILED, "out of memory");
}

static int cmd_migrate_resolve(void *ctx, json_t *args, json_t **ret, struct mon_error *e)
{
	struct machine *m = monitor_machine(ctx);
	const char *action = str_arg(args, "action", NULL);
	bool resume = !strcmp(action, "resume");

	(void)ret;
	if (!resume && strcmp(action, "quit"))
		return mon_fail(e, MON_ERR_ARG, "migrate-resolve: action '%.64s': expected "
				"resume or quit", action);
	if (migrate_decide(m, resume, 0, "monitor"))
		return mon_fail(e, MON_ERR_STATE, "migrate-resolve: no unconfirmed migration "
				"waits for a decision");
	return 0;
}

static const struct mon_arg save_args[] = {
	{ "file", MON_T_STRING, true },
	{ "mode", MON_T_STRING, false },
	{ "continue", MON_T_BOOL, false },
	{ NULL, 0, false },
};

static const struct mon_arg migrate_args[] = {
	{ "uri", MON_T_STRING, true },
	{ NULL, 0, false },
};

static const struct mon_arg resolve_args[] = {
	{ "action", MON_T_STRING, true },
	{ NULL, 0, false },
};

const struct mon_cmd monitor_commands[] = {
	{ "qmp_capabilities", NULL, cmd_capabilities, "accepted for QMP clients; no effect" },
	{ "query-commands", NULL, cmd_query_commands, "list the commands" },
	{ "query-status", NULL, cmd_query_status, "the VM's state" },
	{ "stop", NULL, cmd_stop, "pause the guest" },
	{ "cont", NULL, cmd_cont, "resume a paused guest" },
	{ "save", save_args, cmd_save, "save the VM to a file (mode plain or live)" },
	{ "migrate", migrate_args, cmd_migrate, "migrate live to a vmm --incoming" },
	{ "migrate-cancel", NULL, cmd_migrate_cancel, "stop a migration or live save" },
	{ "query-migrate", NULL, cmd_query_migrate, "the running or last migration" },
	{ "migrate-resolve", resolve_args, cmd_migrate_resolve,
	  "after an unconfirmed migration: resume here or quit" },
	{ "quit", NULL, cmd_quit, "end the VM (exit 0)" },
	{ NULL, NULL, NULL, NULL },
};
