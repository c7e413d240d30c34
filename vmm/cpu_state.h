/* cpu_state.h - save and restore of one KVM vCPU's complete state. */
#ifndef VMM_CPU_STATE_H
#define VMM_CPU_STATE_H

#include <stdint.h>

#include "ssm/ssm.h"

#define CPU_STATE_VERSION 1
#define CPU_STATE_VERSION_MIN 1 /* oldest saved version cpu loads (docs/compat.md) */

/* Put the vCPU's registers, FPU/XSAVE, XCRs, MSRs, events, MP state and the
 * VM's kvmclock into h.  The vCPU must be stopped (outside KVM_RUN). */
int cpu_state_save(int kvm_fd, int vm_fd, int vcpu_fd, ssm_handle *h);

/* Read what cpu_state_save wrote (unit version `version`) and load it into
 * the stopped vCPU, in the order KVM needs.  Errors name the register set. */
int cpu_state_load(int vm_fd, int vcpu_fd, ssm_handle *h, uint32_t version);

#endif
