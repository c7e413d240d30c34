/* verify.h - `vmm verify FILE`: check a state file by every rule a restore
 * applies that needs no KVM (docs/inspect.md). */
#ifndef VMM_VERIFY_H
#define VMM_VERIFY_H

#include <stddef.h>

/* SSM_OK if the file at path holds; else an ssm_err with one line in msg
 * naming the unit, field and offset at fault. */
int verify_file(const char *path, char *msg, size_t msglen);

/* vmm verify FILE: exit 0 (all hold), 1 (a rule broken) or 2 (bad
 * arguments). */
int verify_main(int argc, char **argv);

#endif
