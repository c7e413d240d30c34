/* test_vmm_clock.c - the virtual clock (vmm/clock.c): frozen while stopped,
 * no jump across a stop, host deadlines that agree with it. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <time.h>

#include "vmm/clock.h"

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

Test(vclock, stopped_clock_reads_its_start)
{
	struct vclock c;

	vclock_init(&c, 123456789);
	cr_assert_eq(vclock_now(&c), 123456789);
	sleep_ms(5);
	cr_assert_eq(vclock_now(&c), 123456789, "a stopped clock does not move");
	vclock_stop(&c);                        /* idempotent */
	cr_assert_eq(vclock_now(&c), 123456789);
}

/* Bounds are taken from host readings around each call, so a descheduled
 * test cannot fail them. */
Test(vclock, runs_with_the_host_and_skips_stopped_time)
{
	struct vclock c;
	uint64_t t0, t1, t2, h0, h1, h2, h3;

	vclock_init(&c, 1000000000);            /* a restored VM at 1 s */
	h0 = host_now_ns();
	vclock_start(&c);
	sleep_ms(20);
	t0 = vclock_now(&c);
	h1 = host_now_ns();
	cr_assert_geq(t0, 1000000000 + 20000000);
	cr_assert_leq(t0, 1000000000 + (h1 - h0), "runs no faster than the host");
	vclock_stop(&c);
	t1 = vclock_now(&c);
	cr_assert_geq(t1, t0);
	sleep_ms(50);
	cr_assert_eq(vclock_now(&c), t1);
	h2 = host_now_ns();
	vclock_start(&c);
	vclock_start(&c);                       /* idempotent: no second offset */
	t2 = vclock_now(&c);
	h3 = host_now_ns();
	cr_assert_geq(t2, t1);
	cr_assert_leq(t2 - t1, h3 - h2, "the 50 ms stopped were skipped (%llu ns jump)",
		      (unsigned long long)(t2 - t1));
}

Test(vclock, host_deadline_matches_virtual_time)
{
	struct vclock c;
	uint64_t v, h, before, after;

	vclock_init(&c, 5000000000ull);         /* ahead of a fresh host's clock */
	vclock_start(&c);
	before = host_now_ns();
	v = vclock_now(&c);
	after = host_now_ns();
	h = vclock_to_host(&c, v + 10000000);   /* 10 ms ahead */
	cr_assert_geq(h, before + 10000000);
	cr_assert_leq(h, after + 10000000);
	/* A deadline long past maps to a host time in the past, never wraps. */
	cr_assert_leq(vclock_to_host(&c, 0), host_now_ns());
	/* Stopped: as if started at the call. */
	vclock_stop(&c);
	v = vclock_now(&c);
	before = host_now_ns();
	h = vclock_to_host(&c, v + 10000000);
	after = host_now_ns();
	cr_assert_geq(h, before + 10000000);
	cr_assert_leq(h, after + 10000000);
}
