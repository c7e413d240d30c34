/* cpu_model.h - `--cpu MODEL[,+FEAT|-FEAT|FEAT[=on|off]|OPTION]...`: the
 * CPUID table a fresh guest gets, built on KVM's supported CPUID.  Pure
 * (no KVM, no globals); docs/vmm.1 lists the models and options.
 *
 * Models: host and max (the supported table unchanged), and named models
 * (qemu64, Opteron_G1, IvyBridge, Skylake-Server) that keep only their own
 * features of the feature registers (cpuid_names.c) and everything else
 * (leaf counts, caches, topology, XSAVE layout, address sizes, the vendor)
 * as the host has it.  Features are the names of cpuid_names.c; '-' and
 * '.' may stand for '_' (QEMU's spellings), and a few QEMU aliases
 * (tsc-deadline) are known.  Options: vendor=STRING (12 characters),
 * phys-bits=N, host-phys-bits[=on|off], migratable=on|off (no effect:
 * every model is what KVM supports), enforce (a +FEAT the host cannot give
 * is refused instead of warned about).
 */
#ifndef VMM_CPU_MODEL_H
#define VMM_CPU_MODEL_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

/* Check spec's syntax, model and feature names without a host table (the
 * CLI's check): 0, or -1 with why = one line naming the bad word. */
int cpu_model_check(const char *spec, char *why, size_t len);

/* Build the table for spec over the host's supported table sup[0..n):
 * *out is a new array of *nout entries (free() it).  A +FEAT or phys-bits
 * the host cannot give is left out and reported in warn (one line, empty
 * when none), or, with enforce, refused.  0, or -1 with why set (nothing
 * allocated); -2 when out of memory. */
int cpu_model_build(const char *spec, const struct kvm_cpuid_entry2 *sup, uint32_t n,
		    struct kvm_cpuid_entry2 **out, uint32_t *nout, char *warn, size_t wlen,
		    char *why, size_t len);

#endif
