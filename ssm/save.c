/* save.c - save and live save: the order in which unit callbacks run.
 *
 *   live: live_prep (all) -> passes of live_exec + live_vote -> [VM paused]
 *   both: save_prep (all) -> save_exec (each, final pass) -> save_done (all)
 *
 * save_done always runs, also after a failure, and sees the status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/internal.h"

int ssm_op_begin(ssm *s)
{
	int idle = 0;

	if (!atomic_compare_exchange_strong(&s->busy, &idle, 1))
		return SSM_ERR_BAD_STATE;
	s->last_error[0] = 0;
	/* Checked after the claim: an arm before it is seen here, one after it
	 * by every cancellation check of the operation. */
	if (atomic_load(&s->cancel_armed)) {
		snprintf(s->last_error, sizeof(s->last_error), "operation cancelled before "
			 "it began");
		atomic_store(&s->busy, 0);
		return SSM_ERR_CANCELLED;
	}
	for (struct ssm_unit *u = s->units; u; u = u->next) {
		u->loaded = false;
		u->loaded_final = false;
		u->live_done = false;
	}
	return SSM_OK;
}

ssm_handle *ssm_op_start(ssm *s, ssm_stream st, enum ssm_mode mode, int *rc)
{
	bool usable = st.ops && st.ops->close &&
		      (mode == SSM_MODE_SAVE ? st.ops->write != NULL : st.ops->read != NULL);
	ssm_handle *h;

	*rc = !s || !usable ? SSM_ERR_INVALID_ARG : ssm_op_begin(s);
	if (*rc) {
		if (st.ops && st.ops->close)
			st.ops->close(st.user, false);
		return NULL;
	}
	h = ssm_handle_new(s, mode, st);
	if (!h) {
		st.ops->close(st.user, false);
		ssm_op_end(s, NULL);
		*rc = SSM_ERR_NOMEM;
	}
	return h;
}

int ssm_op_finish(ssm_handle *h)
{
	ssm *s = h->s;
	int rc;

	h->st_open = false;
	rc = h->st.ops->close(h->st.user, h->status == SSM_OK);
	if (rc)
		ssm_fail(h, rc, "finishing the stream: %s", ssm_strerror(rc));
	if (!h->status)
		ssm_progress(h, UINT64_MAX);
	rc = h->status;
	ssm_op_end(s, h);
	ssm_handle_free(h);
	return rc;
}

void ssm_op_end(ssm *s, ssm_handle *h)
{
	if (h && h->status) {
		memcpy(s->last_error, h->err, sizeof(s->last_error));
		s->last_error[sizeof(s->last_error) - 1] = 0;
	}
	atomic_store(&s->busy, 0);
}

/* Write one unit record: header, the exec callback's data, END. */
static int exec_unit(ssm_handle *h, struct ssm_unit *u, ssm_cb_kind kind, uint32_t pass)
{
	int rc;

	if ((kind == SSM_CB_SAVE_EXEC && !u->cb.save_exec) ||
	    (kind == SSM_CB_LIVE_EXEC && !u->cb.live_exec))
		return SSM_OK;
	rc = ssm_w_unit_begin(h, u, pass);
	if (rc)
		return rc;
	rc = ssm_call(h, u, kind, pass, u->version);
	if (!rc)
		rc = h->status;
	if (!rc && h->w.rec_fill == 0 && ssm_cancel_requested(h))
		rc = ssm_fail(h, SSM_ERR_CANCELLED, "save cancelled");
	if (rc)
		return ssm_fail(h, rc, "unit '%s' instance %u: %s failed: %s", u->name,
				u->instance, ssm_cb_kind_name(kind), ssm_strerror(rc));
	h->unit = u;   /* so stream errors while flushing name the unit */
	rc = ssm_w_unit_end(h);
	h->unit = NULL;
	return rc;
}

static int call_all(ssm_handle *h, ssm_cb_kind kind)
{
	for (struct ssm_unit *u = h->s->units; u && !h->status; u = u->next) {
		int rc = ssm_call(h, u, kind, SSM_PASS_FINAL, u->version);

		if (rc)
			return ssm_fail(h, rc, "unit '%s' instance %u: %s failed: %s", u->name,
					u->instance, ssm_cb_kind_name(kind), ssm_strerror(rc));
		if (ssm_cancel_requested(h))
			return ssm_fail(h, SSM_ERR_CANCELLED, "save cancelled");
	}
	return h->status;
}

static int save_begin(ssm *s, ssm_stream st, const ssm_save_opts *opts, bool live,
		      ssm_handle **out)
{
	ssm_handle *h;
	int rc;

	*out = NULL;
	h = ssm_op_start(s, st, SSM_MODE_SAVE, &rc);
	if (!h)
		return rc;
	ssm_save_opts_import(h, opts);
	h->after = h->sopts.after ? h->sopts.after : SSM_AFTER_DESTROY;
	if (!h->status && h->after != SSM_AFTER_DESTROY && h->after != SSM_AFTER_CONTINUE &&
	    h->after != SSM_AFTER_TELEPORT)
		ssm_fail(h, SSM_ERR_INVALID_ARG, "save 'after' must be destroy, continue "
			 "or teleport");
	for (struct ssm_unit *u = s->units; u; u = u->next)
		h->prog_total += u->size_guess ? u->size_guess : 1;
	*out = h;
	if (h->status)
		return h->status;
	rc = ssm_w_init(h);
	if (!rc)
		rc = ssm_w_file_header(h);
	if (!rc && live)
		rc = call_all(h, SSM_CB_LIVE_PREP);
	return rc;
}

int ssm_live_begin(ssm *s, ssm_stream st, const ssm_save_opts *opts, ssm_handle **h)
{
	if (!h) {
		if (st.ops && st.ops->close)
			st.ops->close(st.user, false);
		return SSM_ERR_INVALID_ARG;
	}
	return save_begin(s, st, opts, true, h);
}

int ssm_live_step1(ssm_handle *h)
{
	if (!h || h->mode != SSM_MODE_SAVE || h->live_phase != 0)
		return SSM_ERR_BAD_STATE;
	for (uint32_t pass = 0; !h->status; pass++) {
		bool again = false;

		h->prog_base = 0;
		for (struct ssm_unit *u = h->s->units; u && !h->status; u = u->next) {
			if (!u->live_done)
				exec_unit(h, u, SSM_CB_LIVE_EXEC, pass);
			h->prog_base += u->size_guess ? u->size_guess : 1;
		}
		for (struct ssm_unit *u = h->s->units; u && !h->status; u = u->next) {
			int v;

			if (u->live_done || !u->cb.live_exec)
				continue;
			v = ssm_call(h, u, SSM_CB_LIVE_VOTE, pass, u->version);
			if (v == SSM_VOTE_ANOTHER_PASS) {
				again = true;
			} else if (v == SSM_VOTE_DONE_DONT_CALL_AGAIN) {
				u->live_done = true;
			} else if (v == SSM_VOTE_GIVE_UP) {
				/* Not sticky: the caller may still finish with step2. */
				snprintf(h->err, sizeof(h->err), "unit '%s' instance %u gave up "
					 "live save in pass %u", u->name, u->instance, pass);
				h->live_phase = 1;
				return SSM_ERR_LIVE_GAVE_UP;
			} else if (v != SSM_VOTE_DONE) {
				return ssm_fail(h, v < 0 ? v : SSM_ERR_CALLBACK,
						"unit '%s' instance %u: live_vote failed: %s",
						u->name, u->instance, ssm_strerror(v < 0 ? v :
						SSM_ERR_CALLBACK));
			}
		}
		if (h->status)
			break;
		if (!again) {
			h->live_phase = 1;
			return SSM_OK;
		}
		if (h->sopts.max_passes && pass + 1 >= h->sopts.max_passes) {
			snprintf(h->err, sizeof(h->err), "live save did not converge in %u passes",
				 h->sopts.max_passes);
			h->live_phase = 1;
			return SSM_ERR_TOO_MANY_PASSES;
		}
	}
	return h->status;
}

static int final_pass(ssm_handle *h)
{
	h->prog_base = 0;
	if (call_all(h, SSM_CB_SAVE_PREP))
		return h->status;
	for (struct ssm_unit *u = h->s->units; u && !h->status; u = u->next) {
		exec_unit(h, u, SSM_CB_SAVE_EXEC, SSM_PASS_FINAL);
		h->prog_base += u->size_guess ? u->size_guess : 1;
	}
	if (!h->status)
		ssm_w_finish(h);
	h->live_phase = 2;
	return h->status;
}

int ssm_live_step2(ssm_handle *h)
{
	if (!h || h->mode != SSM_MODE_SAVE || h->live_phase != 1)
		return SSM_ERR_BAD_STATE;
	h->err[0] = h->status ? h->err[0] : 0;
	return final_pass(h);
}

/* save_done for every unit, then close (commit or discard) the stream. */
static int save_end(ssm_handle *h)
{
	ssm *s = h->s;
	int rc;

	if (h->live_phase != 2 && !h->status)
		ssm_fail(h, SSM_ERR_CANCELLED, "live save abandoned before its final pass");
	for (struct ssm_unit *u = s->units; u; u = u->next) {
		rc = ssm_call(h, u, SSM_CB_SAVE_DONE, SSM_PASS_FINAL, u->version);
		if (rc)
			ssm_fail(h, rc, "unit '%s' instance %u: save_done failed: %s", u->name,
				 u->instance, ssm_strerror(rc));
	}
	return ssm_op_finish(h);
}

int ssm_live_end(ssm_handle *h)
{
	if (!h || h->mode != SSM_MODE_SAVE)
		return SSM_ERR_INVALID_ARG;
	return save_end(h);
}

int ssm_save(ssm *s, ssm_stream st, const ssm_save_opts *opts)
{
	ssm_handle *h;
	int rc = save_begin(s, st, opts, false, &h);

	if (!h)
		return rc;
	if (!rc) {
		h->live_phase = 1;
		final_pass(h);
	}
	return save_end(h);
}
