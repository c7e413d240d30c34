/* cpuid_names.c - names of CPUID feature bits (Intel SDM vol. 2 "CPUID",
 * AMD APM vol. 3 appendix E, Linux Documentation/virt/kvm/x86/cpuid.rst
 * for the KVM leaf), spelled as /proc/cpuinfo spells them. */
#include <stddef.h>

#include "vmm/cpuid_names.h"

static const char *const l1_ecx[32] = {
	"sse3", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est",
	"tm2", "ssse3", "cnxt_id", "sdbg", "fma", "cx16", "xtpr", "pdcm",
	NULL, "pcid", "dca", "sse4_1", "sse4_2", "x2apic", "movbe", "popcnt",
	"tsc_deadline_timer", "aes", "xsave", "osxsave", "avx", "f16c", "rdrand",
	"hypervisor",
};

static const char *const l1_edx[32] = {
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce",
	"cx8", "apic", NULL, "sep", "mtrr", "pge", "mca", "cmov",
	"pat", "pse36", "pn", "clflush", NULL, "ds", "acpi", "mmx",
	"fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe",
};

static const char *const l6_eax[32] = {
	"dtherm", "ida", "arat", NULL, "pln", NULL, "pts", "hwp",
};

static const char *const l7_ebx[32] = {
	"fsgsbase", "tsc_adjust", "sgx", "bmi1", "hle", "avx2", "fdp_excptn_only", "smep",
	"bmi2", "erms", "invpcid", "rtm", "cqm", "zero_fcs_fds", "mpx", "rdt_a",
	"avx512f", "avx512dq", "rdseed", "adx", "smap", "avx512ifma", "pcommit",
	"clflushopt", "clwb", "intel_pt", "avx512pf", "avx512er", "avx512cd", "sha_ni",
	"avx512bw", "avx512vl",
};

static const char *const l7_ecx[32] = {
	"prefetchwt1", "avx512vbmi", "umip", "pku", "ospke", "waitpkg", "avx512_vbmi2",
	"shstk", "gfni", "vaes", "vpclmulqdq", "avx512_vnni", "avx512_bitalg", "tme",
	"avx512_vpopcntdq", NULL, "la57", NULL, NULL, NULL, NULL, NULL, "rdpid",
	"key_locker", "bus_lock_detect", "cldemote", NULL, "movdiri", "movdir64b",
	"enqcmd", "sgx_lc", "pks",
};

static const char *const l7_edx[32] = {
	NULL, "sgx_keys", "avx512_4vnniw", "avx512_4fmaps", "fsrm", "uintr", NULL, NULL,
	"avx512_vp2intersect", "srbds_ctrl", "md_clear", "rtm_always_abort", NULL,
	"tsx_force_abort", "serialize", "hybrid_cpu", "tsxldtrk", NULL, "pconfig",
	"arch_lbr", "ibt", NULL, "amx_bf16", "avx512_fp16", "amx_tile", "amx_int8",
	"spec_ctrl", "intel_stibp", "flush_l1d", "arch_capabilities",
	"core_capabilities", "spec_ctrl_ssbd",
};

static const char *const l7_1_eax[32] = {
	NULL, NULL, NULL, NULL, "avx_vnni", "avx512_bf16", NULL, "cmpccxadd",
	NULL, NULL, "fzrm", "fsrs", "fsrc", NULL, NULL, NULL,
	NULL, "fred", "lkgs", "wrmsrns", NULL, "amx_fp16", NULL, "avx_ifma",
	NULL, NULL, "lam",
};

static const char *const ld_0_eax[32] = {
	"x87", "sse", "avx", "bndregs", "bndcsr", "opmask", "zmm_hi256", "hi16_zmm",
	"pt", "pkru", NULL, "cet_u", "cet_s", NULL, NULL, NULL,
	NULL, "xtilecfg", "xtiledata",
};

static const char *const ld_1_eax[32] = {
	"xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd",
};

static const char *const e1_ecx[32] = {
	"lahf_lm", "cmp_legacy", "svm", "extapic", "cr8_legacy", "abm", "sse4a",
	"misalignsse", "3dnowprefetch", "osvw", "ibs", "xop", "skinit", "wdt", NULL,
	"lwp", "fma4", "tce", NULL, "nodeid_msr", NULL, "tbm", "topoext",
	"perfctr_core", "perfctr_nb", NULL, "bpext", "ptsc", "perfctr_llc", "mwaitx",
};

static const char *const e1_edx[32] = {
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce",
	"cx8", "apic", NULL, "syscall", "mtrr", "pge", "mca", "cmov",
	"pat", "pse36", NULL, "mp", "nx", NULL, "mmxext", "mmx",
	"fxsr", "fxsr_opt", "pdpe1gb", "rdtscp", NULL, "lm", "3dnowext", "3dnow",
};

static const char *const e7_edx[32] = {
	[8] = "constant_tsc(invariant)",
};

static const char *const e8_ebx[32] = {
	"clzero", "irperf", "xsaveerptr", NULL, "rdpru", NULL, NULL, NULL,
	"mcommit", "wbnoinvd", NULL, NULL, "amd_ibpb", NULL, "amd_ibrs", "amd_stibp",
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, "amd_ppin",
	"amd_ssbd", "virt_ssbd", "amd_ssb_no",
};

static const char *const ea_edx[32] = {
	"npt", "lbrv", "svm_lock", "nrip_save", "tsc_scale", "vmcb_clean", "flushbyasid",
	"decodeassists", NULL, NULL, "pausefilter", NULL, "pfthreshold", "avic", NULL,
	"v_vmsave_vmload", "vgif", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	"vnmi",
};

static const char *const e21_eax[32] = {
	"no_nested_data_bp", NULL, "lfence_rdtsc", NULL, NULL, NULL, "null_sel_clr_base",
	NULL, "autoibrs", NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	NULL, "cpuid_user_dis",
};

static const char *const kvm_eax[32] = {
	"kvm_clocksource", "kvm_nop_io_delay", "kvm_mmu_op", "kvm_clocksource2",
	"kvm_async_pf", "kvm_steal_time", "kvm_pv_eoi", "kvm_pv_unhalt", NULL,
	"kvm_pv_tlb_flush", "kvm_async_pf_vmexit", "kvm_pv_send_ipi", "kvm_poll_control",
	"kvm_pv_sched_yield", "kvm_async_pf_int", "kvm_msi_ext_dest_id",
	"kvm_hc_map_gpa_range", "kvm_migration_control", NULL, NULL, NULL, NULL, NULL,
	NULL, "kvm_clocksource_stable",
};

static const char *const no_names[32];

const struct cpuid_feature_reg cpuid_feature_regs[] = {
	{ 0x1, 0, CPUID_ECX, 1u << 27, l1_ecx },          /* OSXSAVE mirrors CR4 */
	{ 0x1, 0, CPUID_EDX, 1u << 9, l1_edx },           /* APIC mirrors APIC_BASE */
	{ 0x6, 0, CPUID_EAX, 0, l6_eax },
	{ 0x7, 0, CPUID_EBX, 0, l7_ebx },
	{ 0x7, 0, CPUID_ECX, 1u << 4, l7_ecx },           /* OSPKE mirrors CR4 */
	{ 0x7, 0, CPUID_EDX, 0, l7_edx },
	{ 0x7, 1, CPUID_EAX, 0, l7_1_eax },
	{ 0x7, 1, CPUID_EDX, 0, no_names },
	{ 0xd, 0, CPUID_EAX, 0, ld_0_eax },
	{ 0xd, 0, CPUID_EDX, 0, no_names },
	{ 0xd, 1, CPUID_EAX, 0, ld_1_eax },
	{ 0x80000001, 0, CPUID_ECX, 0, e1_ecx },
	{ 0x80000001, 0, CPUID_EDX, 0, e1_edx },
	{ 0x80000007, 0, CPUID_EDX, 0, e7_edx },
	{ 0x80000008, 0, CPUID_EBX, 0, e8_ebx },
	{ 0x8000000a, 0, CPUID_EDX, 0, ea_edx },
	{ 0x80000021, 0, CPUID_EAX, 0, e21_eax },
	{ 0x40000001, 0, CPUID_EAX, 0, kvm_eax },
	{ 0, 0, CPUID_EAX, 0, NULL },
};

const char *cpuid_reg_name(enum cpuid_reg r)
{
	static const char *const n[] = { "eax", "ebx", "ecx", "edx" };

	return (unsigned)r < 4 ? n[r] : "?";
}
