/* wpool.c - the writer's compression pipeline: full record buffers become
 * jobs in a ring, compressed by worker threads and by the writer's own
 * thread while it waits, and written strictly in ring order, so the stream
 * is the same whatever the number of threads.  The ring holds at most
 * 2 * workers jobs (about 2 MiB each), which bounds memory; a writer that
 * finds it full waits for the oldest job.
 *
 * Locking: mu guards every job's state and the ring's head and count.  A
 * job's buffers belong to whoever moved it out of FREE (the writer) until
 * it is QUEUED, then to the thread that made it RUNNING until DONE, then to
 * the writer again; the state change under mu hands them over.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssm/internal.h"

#define WORKERS_DEFAULT_MAX 4u
#define WORKERS_MAX 16u

enum { JOB_FREE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
	uint8_t *in;               /* SSMF_REC_HDR + SSMF_REC_MAX: the data */
	uint8_t *out;              /* SSMF_REC_HDR + SSMF_COMP_STORED_MAX */
	uint32_t n;                /* data bytes (ZERO: the run) */
	uint32_t stored;
	uint8_t type;              /* result; SSMF_REC_ZERO for a zero run */
	int state;
	int rc;
	const char *why;
};

struct worker {
	struct ssm_wpool *p;
	struct ssm_cctx cc;
	pthread_t th;
	bool started;
};

struct ssm_wpool {
	pthread_mutex_t mu;
	pthread_cond_t work;       /* a job was queued, or stop */
	pthread_cond_t done;       /* a job is DONE */
	struct job *jobs;
	unsigned njobs, head, count;
	bool stop;
	struct ssm_cctx cc;        /* the writer thread's */
	struct worker *wk;
	unsigned nwk;
};

static struct job *find_queued(struct ssm_wpool *p)
{
	for (unsigned i = 0; i < p->count; i++) {
		struct job *j = &p->jobs[(p->head + i) % p->njobs];

		if (j->state == JOB_QUEUED)
			return j;
	}
	return NULL;
}

static void run_job(struct ssm_cctx *cc, struct job *j)
{
	j->rc = ssm_cctx_run(cc, j->in + SSMF_REC_HDR, j->n, j->out + SSMF_REC_HDR, &j->type,
			     &j->stored, &j->why);
}

/* Run the QUEUED job j with cc, mu released meanwhile (held on entry and
 * on return). */
static void run_unlocked(struct ssm_wpool *p, struct ssm_cctx *cc, struct job *j)
{
	j->state = JOB_RUNNING;
	pthread_mutex_unlock(&p->mu);
	run_job(cc, j);
	pthread_mutex_lock(&p->mu);
	j->state = JOB_DONE;
	pthread_cond_broadcast(&p->done);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct ssm_wpool *p = w->p;
	struct job *j = NULL;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && !(j = find_queued(p)))
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		run_unlocked(p, &w->cc, j);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static unsigned default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > (long)WORKERS_DEFAULT_MAX ? WORKERS_DEFAULT_MAX : (unsigned)n;
}

void ssm_wpool_free(struct ssm_wpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nwk; i++) {
		if (p->wk[i].started)
			pthread_join(p->wk[i].th, NULL);
		ssm_cctx_free(&p->wk[i].cc);
	}
	for (unsigned i = 0; p->jobs && i < p->njobs; i++) {
		free(p->jobs[i].in);
		free(p->jobs[i].out);
	}
	ssm_cctx_free(&p->cc);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p->jobs);
	free(p->wk);
	free(p);
}

int ssm_wpool_new(ssm_handle *h, struct ssm_wpool **out)
{
	unsigned workers = h->sopts.workers ? h->sopts.workers : default_workers();
	struct ssm_wpool *p;
	int rc;

	*out = NULL;
	if (workers > WORKERS_MAX)
		return ssm_fail(h, SSM_ERR_INVALID_ARG, "ssm_save_opts.workers is %u, more "
				"than %u", workers, WORKERS_MAX);
	p = calloc(1, sizeof(*p));
	if (!p)
		return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for compression");
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->njobs = 2 * workers;
	p->jobs = calloc(p->njobs, sizeof(*p->jobs));
	p->wk = calloc(workers - 1 ? workers - 1 : 1, sizeof(*p->wk));
	*out = p;
	if (!p->jobs || !p->wk)
		return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for compression");
	for (unsigned i = 0; i < p->njobs; i++) {
		p->jobs[i].in = malloc(SSMF_REC_HDR + SSMF_REC_MAX);
		p->jobs[i].out = malloc(SSMF_REC_HDR + SSMF_COMP_STORED_MAX);
		if (!p->jobs[i].in || !p->jobs[i].out)
			return ssm_fail(h, SSM_ERR_NOMEM, "out of memory for compression");
	}
	rc = ssm_cctx_init(&p->cc, h->sopts.codec, h->w.level);
	for (unsigned i = 0; !rc && i + 1 < workers; i++, p->nwk++) {
		p->wk[i].p = p;
		rc = ssm_cctx_init(&p->wk[i].cc, h->sopts.codec, h->w.level);
		if (!rc && pthread_create(&p->wk[i].th, NULL, worker_main, &p->wk[i]))
			rc = SSM_ERR_NOMEM;
		p->wk[i].started = !rc;
	}
	if (rc)
		return ssm_fail(h, rc, "cannot start %s compression (level %d, %u threads): %s",
				h->sopts.codec == SSM_CODEC_ZSTD ? "zstd" : "zlib", h->w.level,
				workers, ssm_strerror(rc));
	return SSM_OK;
}

/* Wait until the oldest job is DONE, running queued jobs meanwhile. */
static void wait_head(struct ssm_wpool *p)
{
	struct job *head = &p->jobs[p->head], *j;

	pthread_mutex_lock(&p->mu);
	while (head->state != JOB_DONE) {
		j = find_queued(p);
		if (j)
			run_unlocked(p, &p->cc, j);
		else
			pthread_cond_wait(&p->done, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
}

/* Write the oldest job (DONE) and free its slot. */
static int emit_head(ssm_handle *h, struct ssm_wpool *p)
{
	struct job *j = &p->jobs[p->head];
	int rc;

	if (j->rc)
		rc = ssm_fail(h, j->rc, "%s compression of a %u-byte record failed: %s",
			      h->sopts.codec == SSM_CODEC_ZSTD ? "zstd" : "zlib", j->n,
			      j->why ? j->why : ssm_strerror(j->rc));
	else if (j->type == SSMF_REC_ZERO)
		rc = ssm_w_emit_data(h, SSMF_REC_ZERO, NULL, 0, j->n, NULL);
	else if (j->type == SSMF_REC_RAW)
		rc = ssm_w_emit_data(h, SSMF_REC_RAW, j->in + SSMF_REC_HDR, j->n, j->n, j->in);
	else
		rc = ssm_w_emit_data(h, j->type, j->out + SSMF_REC_HDR, j->stored, j->n, j->out);
	pthread_mutex_lock(&p->mu);
	j->state = JOB_FREE;
	p->head = (p->head + 1) % p->njobs;
	p->count--;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Write finished jobs from the oldest on; all: wait for every one. */
static int emit_ready(ssm_handle *h, struct ssm_wpool *p, bool all)
{
	while (p->count) {
		bool done;
		int rc;

		pthread_mutex_lock(&p->mu);
		done = p->jobs[p->head].state == JOB_DONE;
		pthread_mutex_unlock(&p->mu);
		if (!done && !all)
			break;
		if (!done)
			wait_head(p);
		rc = emit_head(h, p);
		if (rc)
			return rc;
	}
	return SSM_OK;
}

/* A FREE slot at the tail, writing the oldest job out if the ring is full. */
static int tail_slot(ssm_handle *h, struct ssm_wpool *p, struct job **out)
{
	int rc = emit_ready(h, p, false);

	if (!rc && p->count == p->njobs) {
		wait_head(p);
		rc = emit_head(h, p);
	}
	*out = &p->jobs[(p->head + p->count) % p->njobs];
	return rc;
}

int ssm_wpool_submit(ssm_handle *h, uint8_t **rec, uint32_t n)
{
	struct ssm_wpool *p = h->w.pool;
	struct job *j;
	uint8_t *t;
	int rc = tail_slot(h, p, &j);

	if (rc)
		return rc;
	t = j->in;
	j->in = *rec;
	*rec = t;
	j->n = n;
	pthread_mutex_lock(&p->mu);
	j->state = JOB_QUEUED;
	p->count++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return SSM_OK;
}

int ssm_wpool_zero(ssm_handle *h, uint32_t n)
{
	struct ssm_wpool *p = h->w.pool;
	struct job *j;
	int rc;

	if (!p->count)
		return ssm_w_emit_data(h, SSMF_REC_ZERO, NULL, 0, n, NULL);
	rc = tail_slot(h, p, &j);
	if (rc)
		return rc;
	j->n = n;
	j->type = SSMF_REC_ZERO;
	j->rc = 0;
	pthread_mutex_lock(&p->mu);
	j->state = JOB_DONE;
	p->count++;
	pthread_mutex_unlock(&p->mu);
	return SSM_OK;
}

int ssm_wpool_drain(ssm_handle *h)
{
	return emit_ready(h, h->w.pool, true);
}
