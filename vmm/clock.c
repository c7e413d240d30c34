/* clock.c - virtual clock. */
#include "vmm/clock.h"

#include <time.h>

uint64_t host_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vclock_init(struct vclock *c, uint64_t start_ns)
{
	c->offset_ns = 0;
	c->frozen_ns = start_ns;
	c->running = false;
}

uint64_t vclock_now(const struct vclock *c)
{
	if (!c->running)
		return c->frozen_ns;
	return (uint64_t)((int64_t)host_now_ns() - c->offset_ns);
}

void vclock_stop(struct vclock *c)
{
	if (!c->running)
		return;
	c->frozen_ns = vclock_now(c);
	c->running = false;
}

void vclock_start(struct vclock *c)
{
	if (c->running)
		return;
	/* A restored clock may be ahead of this host's monotonic time; the
	 * signed offset handles that. */
	c->offset_ns = (int64_t)host_now_ns() - (int64_t)c->frozen_ns;
	c->running = true;
}

uint64_t vclock_to_host(const struct vclock *c, uint64_t vns)
{
	int64_t h = (int64_t)vns + (c->running ? c->offset_ns :
				    (int64_t)host_now_ns() - (int64_t)c->frozen_ns);

	return h < 0 ? 0 : (uint64_t)h;
}
