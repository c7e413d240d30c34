/* handle.c - the operation handle: errors, progress, callback dispatch,
 * and the queries units make from their callbacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/internal.h"

ssm_handle *ssm_handle_new(ssm *s, enum ssm_mode mode, ssm_stream st)
{
	ssm_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->s = s;
	h->mode = mode;
	h->st = st;
	h->st_open = true;
	h->pass = SSM_PASS_FINAL;
	return h;
}

void ssm_handle_free(ssm_handle *h)
{
	if (!h)
		return;
	if (h->st_open && h->st.ops && h->st.ops->close)
		h->st.ops->close(h->st.user, false);
	ssm_w_free(&h->w);
	ssm_r_free(&h->r);
	free(h->dir);
	free(h->dup_slot);
	free(h);
}

int ssm_vfail(ssm_handle *h, int rc, const char *fmt, va_list ap)
{
	if (h->status == SSM_OK) {
		h->status = rc;
		vsnprintf(h->err, sizeof(h->err), fmt, ap);
	}
	return rc;
}

int ssm_fail(ssm_handle *h, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ssm_vfail(h, rc, fmt, ap);
	va_end(ap);
	return rc;
}

const char *ssm_unit_desc(const struct ssm_unit *u, char *buf, size_t len)
{
	snprintf(buf, len, "unit '%s' instance %u", u->name, u->instance);
	return buf;
}

int ssm_set_load_error(ssm_handle *h, int rc, const char *fmt, ...)
{
	char msg[300], pos[128], field[96] = "";
	va_list ap;

	if (!h)
		return rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Every load refusal names unit, field (when a struct field table is
	 * being read) and where in the stream the reader was. */
	if (h->field)
		snprintf(field, sizeof(field), "field '%s': ", h->field);
	if (h->mode == SSM_MODE_SAVE)
		snprintf(pos, sizeof(pos), "stream offset %llu", (unsigned long long)h->w.off);
	else
		ssm_r_pos(h, pos, sizeof(pos));
	if (h->unit)
		return ssm_fail(h, rc, "unit '%s' instance %u: %s%s (%s)", h->unit->name,
				h->unit->instance, field, msg, pos);
	if (h->r.in_unit)
		return ssm_fail(h, rc, "unit '%s' instance %u: %s%s (%s)", h->r.unit_name,
				h->r.unit_instance, field, msg, pos);
	return ssm_fail(h, rc, "%s%s (%s)", field, msg, pos);
}

bool ssm_cancel_requested(const ssm_handle *h)
{
	return h->s && (atomic_load(&h->s->busy) == 2 || atomic_load(&h->s->cancel_armed));
}

bool ssm_handle_cancelled(const ssm_handle *h)
{
	return h && ssm_cancel_requested(h);
}

void ssm_handle_set_field(ssm_handle *h, const char *name)
{
	if (h)
		h->field = name;
}

int ssm_st_write(ssm_handle *h, const void *buf, size_t n)
{
	int rc;

	if (h->status)
		return h->status;
	if (ssm_cancel_requested(h))
		return ssm_fail(h, SSM_ERR_CANCELLED, "save cancelled");
	rc = h->st.ops->write(h->st.user, buf, n);
	if (rc && h->unit)
		return ssm_fail(h, rc, "unit '%s' instance %u: writing at offset %llu: %s",
				h->unit->name, h->unit->instance,
				(unsigned long long)h->w.off, ssm_strerror(rc));
	if (rc)
		return ssm_fail(h, rc, "writing at offset %llu: %s",
				(unsigned long long)h->w.off, ssm_strerror(rc));
	h->w.off += n;
	return SSM_OK;
}

int ssm_st_read_exact(ssm_handle *h, void *buf, size_t n)
{
	size_t got = 0;
	int rc;

	if (ssm_cancel_requested(h))
		return ssm_fail(h, SSM_ERR_CANCELLED, "load cancelled");
	while (got < n) {
		size_t g = 0;

		rc = h->st.ops->read(h->st.user, (uint8_t *)buf + got, n - got, &g);
		if (rc)
			return ssm_fail(h, rc, "reading at offset %llu: %s",
					(unsigned long long)(h->r.off + got),
					ssm_strerror(rc));
		if (g == 0)
			return SSM_ERR_TRUNCATED; /* caller words the message */
		got += g;
	}
	h->r.off += n;
	return SSM_OK;
}

/* Percent over prog_total; only ever moves forward, reports each value once. */
void ssm_progress(ssm_handle *h, uint64_t done)
{
	ssm_progress_fn fn = h->mode == SSM_MODE_SAVE ? h->sopts.progress : h->lopts.progress;
	void *user = h->mode == SSM_MODE_SAVE ? h->sopts.progress_user : h->lopts.progress_user;
	unsigned pct;

	if (!fn)
		return;
	if (done == UINT64_MAX)
		pct = 100;
	else if (!h->prog_total)
		return;   /* total unknown (e.g. a pipe): only the final 100 */
	else
		pct = done >= h->prog_total ? 99 : (unsigned)(done * 100 / h->prog_total);
	if (pct <= h->prog_last)
		return;
	h->prog_last = pct;
	fn(user, pct);
}

/* Run one callback of u (if it has one) with tracing; returns its result.
 * A missing callback counts as success (vote: done). */
int ssm_call(ssm_handle *h, struct ssm_unit *u, ssm_cb_kind kind, uint32_t pass,
	     uint32_t version)
{
	const ssm_callbacks *cb = &u->cb;
	struct ssm_unit *prev = h->unit;
	uint32_t prev_pass = h->pass;
	int rc;

	switch (kind) {
	case SSM_CB_LIVE_PREP: if (!cb->live_prep) return SSM_OK; break;
	case SSM_CB_LIVE_EXEC: if (!cb->live_exec) return SSM_OK; break;
	case SSM_CB_LIVE_VOTE: if (!cb->live_vote) return SSM_VOTE_DONE; break;
	case SSM_CB_SAVE_PREP: if (!cb->save_prep) return SSM_OK; break;
	case SSM_CB_SAVE_EXEC: if (!cb->save_exec) return SSM_OK; break;
	case SSM_CB_SAVE_DONE: if (!cb->save_done) return SSM_OK; break;
	case SSM_CB_LOAD_PREP: if (!cb->load_prep) return SSM_OK; break;
	case SSM_CB_LOAD_EXEC: if (!cb->load_exec) return SSM_OK; break;
	case SSM_CB_LOAD_DONE: if (!cb->load_done) return SSM_OK; break;
	default: return SSM_ERR_INVALID_ARG;
	}
	if (h->s && h->s->trace)
		h->s->trace(h->s->trace_user, u->name, u->instance, u->flavour, kind, pass);
	h->unit = u;
	h->pass = pass;
	switch (kind) {
	case SSM_CB_LIVE_PREP: rc = cb->live_prep(u->ctx, h); break;
	case SSM_CB_LIVE_EXEC: rc = cb->live_exec(u->ctx, h, pass); break;
	case SSM_CB_LIVE_VOTE: rc = cb->live_vote(u->ctx, h, pass); break;
	case SSM_CB_SAVE_PREP: rc = cb->save_prep(u->ctx, h); break;
	case SSM_CB_SAVE_EXEC: rc = cb->save_exec(u->ctx, h); break;
	case SSM_CB_SAVE_DONE: rc = cb->save_done(u->ctx, h); break;
	case SSM_CB_LOAD_PREP: rc = cb->load_prep(u->ctx, h); break;
	case SSM_CB_LOAD_EXEC: rc = cb->load_exec(u->ctx, h, version, pass); break;
	default: rc = cb->load_done(u->ctx, h); break;
	}
	/* Only votes may be positive; anything else would pass for success
	 * with callers that test rc < 0. */
	if (rc > 0 && kind != SSM_CB_LIVE_VOTE)
		rc = SSM_ERR_CALLBACK;
	h->unit = prev;
	h->pass = prev_pass;
	return rc;
}

int ssm_handle_status(const ssm_handle *h)
{
	return h ? h->status : SSM_ERR_INVALID_ARG;
}

ssm_after ssm_handle_after(const ssm_handle *h)
{
	return h ? h->after : SSM_AFTER_INVALID;
}

uint32_t ssm_handle_max_downtime_ms(const ssm_handle *h)
{
	return h ? h->sopts.max_downtime_ms : 0;
}

uint32_t ssm_handle_max_passes(const ssm_handle *h)
{
	return h ? h->sopts.max_passes : 0;
}

bool ssm_handle_unit_loaded(const ssm_handle *h)
{
	return h && h->unit && h->unit->loaded;
}

uint32_t ssm_handle_instance(const ssm_handle *h)
{
	return h && h->unit ? h->unit->instance : 0;
}

unsigned ssm_handle_host_bits(const ssm_handle *h)
{
	if (!h)
		return 0;
	if (h->mode == SSM_MODE_SAVE)
		return h->sopts.host_bits ? h->sopts.host_bits : (unsigned)(sizeof(void *) * 8);
	return h->r.host_bits;
}

uint64_t ssm_handle_remaining(const ssm_handle *h)
{
	if (!h || h->mode == SSM_MODE_SAVE || !h->r.in_unit)
		return 0;
	if (h->r.unit_data_len == SSMF_DATA_LEN_UNKNOWN)
		return UINT64_MAX;
	/* The reader never hands out more than data_len bytes; the guard
	 * keeps that a fact here too. */
	if (h->r.unit_consumed > h->r.unit_data_len)
		return 0;
	return h->r.unit_data_len - h->r.unit_consumed;
}

uint64_t ssm_handle_offset(const ssm_handle *h)
{
	if (!h)
		return 0;
	/* Buffered record data counts as written: it is on its way. */
	return h->mode == SSM_MODE_SAVE ? h->w.off + h->w.rec_fill : h->r.off;
}

const char *ssm_handle_error(const ssm_handle *h)
{
	return h ? h->err : "";
}
