/* clock.c - virtual clock.
 *
 * All arithmetic is unsigned and saturating: a restored clock_ns is bounded
 * by VCLOCK_MAX_NS (checked by the machine unit), host monotonic time is far
 * below 2^63, so nothing here can overflow or go backwards. */
#include "vmm/clock.h"

#include <time.h>

uint64_t host_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void vclock_init(struct vclock *c, uint64_t start_ns)
{
	c->start_host_ns = 0;
	c->start_virt_ns = start_ns;
	c->running = false;
}

uint64_t vclock_now(const struct vclock *c)
{
	uint64_t host;

	if (!c->running)
		return c->start_virt_ns;
	host = host_now_ns();
	/* CLOCK_MONOTONIC never goes back; be safe anyway. */
	if (host < c->start_host_ns)
		return c->start_virt_ns;
	return sat_add(c->start_virt_ns, host - c->start_host_ns);
}

void vclock_stop(struct vclock *c)
{
	if (!c->running)
		return;
	c->start_virt_ns = vclock_now(c);
	c->running = false;
}

void vclock_start(struct vclock *c)
{
	if (c->running)
		return;
	/* A restored clock may be ahead of this host's monotonic time: only
	 * the pair (host, virtual) at the start is kept, never a difference. */
	c->start_host_ns = host_now_ns();
	c->running = true;
}

uint64_t vclock_to_host(const struct vclock *c, uint64_t vns)
{
	uint64_t base = c->running ? c->start_host_ns : host_now_ns();

	if (vns >= c->start_virt_ns)
		return sat_add(base, vns - c->start_virt_ns);
	/* Already past: a deadline before the host's epoch is simply due. */
	return c->start_virt_ns - vns > base ? 0 : base - (c->start_virt_ns - vns);
}
