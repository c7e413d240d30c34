/* clock.h - the VM's virtual clock.
 *
 * Virtual ns = host CLOCK_MONOTONIC minus the time the VM spent stopped, so
 * guest-visible timers neither jump nor fire in a burst across a pause, a
 * save or a restore.  Not thread-safe: callers hold the VM lock.
 */
#ifndef VMM_CLOCK_H
#define VMM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Largest virtual time a restore accepts: 2^62 ns, about 146 years of
 * guest running time.  Anything above is a forged file, and would push
 * timer deadlines to the end of time. */
#define VCLOCK_MAX_NS (1ull << 62)

struct vclock {
	uint64_t start_host_ns; /* host time of the last start (running) */
	uint64_t start_virt_ns; /* virtual time then; while stopped: now */
	bool running;
};

/* Host CLOCK_MONOTONIC in ns. */
uint64_t host_now_ns(void);

/* A stopped clock reading start_ns (0 for a fresh VM, the saved value on
 * restore, <= VCLOCK_MAX_NS).  Readings saturate instead of wrapping. */
void vclock_init(struct vclock *c, uint64_t start_ns);
/* Current virtual time; constant while stopped. */
uint64_t vclock_now(const struct vclock *c);
/* Freeze / resume.  Idempotent. */
void vclock_stop(struct vclock *c);
void vclock_start(struct vclock *c);
/* Host monotonic time at which virtual time reaches vns (running clock);
 * for arming host timers. */
uint64_t vclock_to_host(const struct vclock *c, uint64_t vns);

#endif
