/* vmlock.h - the VM lock: a mutex that knows which thread holds it, so the
 * functions that need it can check, and a wrong caller stops the VMM with
 * one line naming the function instead of racing silently.
 *
 * Each thread is identified by the address of a thread-local token (unique
 * among live threads, no system call).  The lock also remembers its home
 * thread, the one that created it (the main thread), for rules of the form
 * "the home thread while nothing else runs".
 */
#ifndef VMM_VMLOCK_H
#define VMM_VMLOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct vm_lock {
	pthread_mutex_t mu;
	_Atomic(const void *) owner;    /* token of the holder, NULL when free */
	const void *home;               /* token of the creating thread */
	bool ready;                     /* initialised, not yet destroyed */
};

/* Set up l; the calling thread becomes its home thread. */
void vm_lock_init(struct vm_lock *l);
/* Release l's resources; safe on a zeroed or destroyed l. */
void vm_lock_destroy(struct vm_lock *l);
/* Take / release.  Taking a lock the caller holds, or releasing one it does
 * not hold, aborts (naming the caller's function). */
void vm_lock_take(struct vm_lock *l, const char *fn);
void vm_lock_release(struct vm_lock *l, const char *fn);
/* The calling thread holds l. */
bool vm_lock_held(const struct vm_lock *l);
/* The calling thread is l's home thread. */
bool vm_lock_at_home(const struct vm_lock *l);
/* Abort unless the calling thread holds l: "vmm: internal error: FN runs
 * without the VM lock". */
void vm_lock_assert(const struct vm_lock *l, const char *fn);
/* Print "vmm: internal error: FN WHAT" and abort. */
_Noreturn void vm_lock_violation(const char *fn, const char *what);

#endif
