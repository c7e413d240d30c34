/* test_vmm_vmlock.c - the VM lock (vmm/vmlock.c): it knows its holder, so
 * a function run without it, a double take or a foreign release stops the
 * program with one line naming the function instead of racing. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/vmlock.h"

static struct vm_lock lk;
static atomic_bool checked;

static void *holds_in_other_thread(void *arg)
{
	bool *held = arg;

	held[0] = vm_lock_held(&lk);            /* main holds it, not us */
	held[1] = vm_lock_at_home(&lk);
	atomic_store(&checked, true);
	vm_lock_take(&lk, "thread");            /* waits for main's release */
	held[2] = vm_lock_held(&lk);
	vm_lock_release(&lk, "thread");
	return NULL;
}

Test(vmlock, records_its_holder)
{
	pthread_t t;
	bool held[3] = { true, true, false };

	vm_lock_init(&lk);
	cr_assert(vm_lock_at_home(&lk));
	cr_assert(!vm_lock_held(&lk));
	vm_lock_take(&lk, __func__);
	cr_assert(vm_lock_held(&lk));
	vm_lock_assert(&lk, __func__);          /* held: returns */
	cr_assert_eq(pthread_create(&t, NULL, holds_in_other_thread, held), 0);
	/* The thread checks while main still holds the lock. */
	while (!atomic_load(&checked))
		sched_yield();
	vm_lock_release(&lk, __func__);
	pthread_join(t, NULL);
	cr_assert(!held[0], "another thread saw main's lock as its own");
	cr_assert(!held[1], "another thread is not the home thread");
	cr_assert(held[2]);
	cr_assert(!vm_lock_held(&lk), "the thread's release is not main's");
	vm_lock_destroy(&lk);
	vm_lock_destroy(&lk);                   /* idempotent */
}

Test(vmlock, assert_without_the_lock_aborts, .signal = SIGABRT, .init = cr_redirect_stderr)
{
	vm_lock_init(&lk);
	vm_lock_assert(&lk, "rearm_timer");
}

Test(vmlock, the_abort_names_the_function, .init = cr_redirect_stderr)
{
	pid_t pid;
	int status;

	/* Run the violation in a child and read what it printed. */
	fflush(stderr);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		vm_lock_init(&lk);
		vm_lock_assert(&lk, "rearm_timer");
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	cr_assert_stderr_eq_str("vmm: internal error: rearm_timer runs without the VM lock\n");
}

Test(vmlock, taking_it_twice_aborts, .signal = SIGABRT, .init = cr_redirect_stderr)
{
	vm_lock_init(&lk);
	vm_lock_take(&lk, "outer");
	vm_lock_take(&lk, "inner");             /* would deadlock silently */
}

static void *release_foreign(void *arg)
{
	(void)arg;
	vm_lock_release(&lk, "thief");
	return NULL;
}

Test(vmlock, releasing_anothers_lock_aborts, .signal = SIGABRT, .init = cr_redirect_stderr)
{
	pthread_t t;

	vm_lock_init(&lk);
	vm_lock_take(&lk, __func__);
	pthread_create(&t, NULL, release_foreign, NULL);
	pthread_join(t, NULL);
}

Test(vmlock, releasing_a_free_lock_aborts, .signal = SIGABRT, .init = cr_redirect_stderr)
{
	vm_lock_init(&lk);
	vm_lock_release(&lk, __func__);
}
