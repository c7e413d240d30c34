/* vmlock.c - the VM lock with a recorded owner (see vmlock.h). */
#include "vmm/vmlock.h"

#include <stdio.h>
#include <stdlib.h>

/* One per thread; only its address is used. */
static _Thread_local char thread_token;

static const void *self(void)
{
	return &thread_token;
}

void vm_lock_init(struct vm_lock *l)
{
	pthread_mutex_init(&l->mu, NULL);
	atomic_init(&l->owner, NULL);
	l->home = self();
	l->ready = true;
}

void vm_lock_destroy(struct vm_lock *l)
{
	if (!l->ready)
		return;
	pthread_mutex_destroy(&l->mu);
	l->ready = false;
}

_Noreturn void vm_lock_violation(const char *fn, const char *what)
{
	fprintf(stderr, "vmm: internal error: %s %s\n", fn, what);
	abort();
}

void vm_lock_take(struct vm_lock *l, const char *fn)
{
	/* A non-recursive mutex taken twice would deadlock without a word. */
	if (vm_lock_held(l))
		vm_lock_violation(fn, "takes the VM lock it already holds");
	pthread_mutex_lock(&l->mu);
	atomic_store(&l->owner, self());
}

void vm_lock_release(struct vm_lock *l, const char *fn)
{
	if (!vm_lock_held(l))
		vm_lock_violation(fn, "releases the VM lock it does not hold");
	atomic_store(&l->owner, NULL);
	pthread_mutex_unlock(&l->mu);
}

/* Only the holder stores its own token, so another thread's token or NULL
 * read here means "not me", whatever the other threads do meanwhile. */
bool vm_lock_held(const struct vm_lock *l)
{
	return atomic_load(&l->owner) == self();
}

bool vm_lock_at_home(const struct vm_lock *l)
{
	return l->home == self();
}

void vm_lock_assert(const struct vm_lock *l, const char *fn)
{
	if (!vm_lock_held(l))
		vm_lock_violation(fn, "runs without the VM lock");
}
