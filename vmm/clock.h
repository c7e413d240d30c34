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

struct vclock {
	int64_t offset_ns;      /* host - virtual while running */
	uint64_t frozen_ns;     /* virtual time while stopped */
	bool running;
};

/* Host CLOCK_MONOTONIC in ns. */
uint64_t host_now_ns(void);

/* A stopped clock reading start_ns (0 for a fresh VM, the saved value on
 * restore). */
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
