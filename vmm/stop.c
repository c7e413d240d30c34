/* stop.c - noticing a stop signal outside the main loop. */
#include "vmm/stop.h"

#include <signal.h>
#include <stdlib.h>

/* Often enough to stop within milliseconds, rare enough to cost nothing
 * next to the I/O. */
#define STOP_CHECK_BYTES (1u << 20)

int stop_signal_pending(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	sigset_t set;

	if (sigpending(&set))
		return 0;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigismember(&set, sigs[i]) == 1)
			return sigs[i];
	return 0;
}

struct guard {
	ssm_stream inner;
	uint64_t since_check;   /* bytes moved since the last look */
};

static int check(struct guard *g, size_t n)
{
	g->since_check += n;
	if (g->since_check < STOP_CHECK_BYTES)
		return SSM_OK;
	g->since_check = 0;
	return stop_signal_pending() ? SSM_ERR_CANCELLED : SSM_OK;
}

static int g_write(void *user, const void *buf, size_t n)
{
	struct guard *g = user;
	int rc = check(g, n);

	if (!rc && !g->inner.ops->write)
		rc = SSM_ERR_NOT_SUPPORTED;
	return rc ? rc : g->inner.ops->write(g->inner.user, buf, n);
}

static int g_read(void *user, void *buf, size_t n, size_t *got)
{
	struct guard *g = user;
	int rc = check(g, n);

	if (!rc && !g->inner.ops->read)
		rc = SSM_ERR_NOT_SUPPORTED;
	if (rc) {
		*got = 0;
		return rc;
	}
	return g->inner.ops->read(g->inner.user, buf, n, got);
}

static int g_seek(void *user, uint64_t off)
{
	struct guard *g = user;

	return g->inner.ops->seek ? g->inner.ops->seek(g->inner.user, off) :
		SSM_ERR_NOT_SUPPORTED;
}

static int g_tell(void *user, uint64_t *off)
{
	struct guard *g = user;

	return g->inner.ops->tell ? g->inner.ops->tell(g->inner.user, off) :
		SSM_ERR_NOT_SUPPORTED;
}

static int g_size(void *user, uint64_t *size)
{
	struct guard *g = user;

	return g->inner.ops->size ? g->inner.ops->size(g->inner.user, size) :
		SSM_ERR_NOT_SUPPORTED;
}

static int g_is_ok(void *user)
{
	struct guard *g = user;

	return g->inner.ops->is_ok ? g->inner.ops->is_ok(g->inner.user) : SSM_OK;
}

static int g_close(void *user, bool ok)
{
	struct guard *g = user;
	int rc = ssm_stream_close(&g->inner, ok);

	free(g);
	return rc;
}

static const ssm_stream_ops guard_ops = {
	.write = g_write,
	.read = g_read,
	.seek = g_seek,
	.tell = g_tell,
	.size = g_size,
	.is_ok = g_is_ok,
	.close = g_close,
};

int stop_guard_stream(ssm_stream *st)
{
	struct guard *g = calloc(1, sizeof(*g));

	if (!g) {
		ssm_stream_close(st, false);
		return SSM_ERR_NOMEM;
	}
	g->inner = *st;
	/* The first read already looks: a signal may have come before. */
	g->since_check = STOP_CHECK_BYTES;
	st->ops = &guard_ops;
	st->user = g;
	return SSM_OK;
}
