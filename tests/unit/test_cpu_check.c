/* test_cpu_check.c - the cpu unit's validators: a legal state passes, and
 * each illegal value is refused in its section with a message naming it. */
#include "cpu_fixture.h"

FX_SUITE(cpu_check);

#define SR F.s.sregs

Test(cpu_check, fixture_is_legal)
{
	fx_accepted(&F);
}

/* ---- the cases of issue 7 ----------------------------------------------- */

Test(cpu_check, efer_all_bits_refused)
{
	SR.efer = ~0ull;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.efer 0xffffffffffffffff");
}

Test(cpu_check, cr0_reserved_bits_6_7_refused)
{
	SR.cr0 |= 0xc0;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.cr0 0x800500f3: reserved bits 0xc0 set");
}

Test(cpu_check, efer_zero_through_msr_list_refused)
{
	F.s.msrs[0].data = 0;   /* EFER: LMA without LME would follow */
	fx_refused(&F, CPU_SEC_MSRS, "msr 0xc0000080");
}

Test(cpu_check, efer_msr_must_agree_with_sregs)
{
	F.s.msrs[0].data = 0xd01;       /* legal on its own: SCE LME LMA NXE */
	fx_refused(&F, CPU_SEC_MSRS, "differs from sregs.efer 0x500");
	SR.efer = 0xd01;
	fx_accepted(&F);
}

/* ---- control registers and EFER ----------------------------------------- */

Test(cpu_check, cr0_rules)
{
	SR.cr0 = 0x100000000ull | 0x80050033;
	fx_refused(&F, CPU_SEC_SREGS, "reserved bits 0x100000000");
	SR.cr0 = 0x80050032;    /* PG without PE */
	fx_refused(&F, CPU_SEC_SREGS, "PG without PE");
	SR.cr0 = 0x80050033 | (1u << 29);
	fx_refused(&F, CPU_SEC_SREGS, "NW without CD");
	SR.cr0 = 0x80050033 | (3u << 29);       /* NW with CD is legal */
	fx_accepted(&F);
}

Test(cpu_check, cr4_bits_follow_the_cpuid)
{
	SR.cr4 |= 1u << 18;     /* OSXSAVE: the fixture's CPUID has no XSAVE */
	fx_refused(&F, CPU_SEC_SREGS, "sregs.cr4 0x40620: bits 0x40000");
	fx_leaf(&F, 1, 0)->ecx |= 1u << 26;
	F.host[1].ecx |= 1u << 26;
	fx_accepted(&F);
	SR.cr4 |= 1u << 15;     /* reserved everywhere */
	fx_refused(&F, CPU_SEC_SREGS, "bits 0x8000 reserved");
}

Test(cpu_check, cr4_smep_needs_cpuid_bit)
{
	SR.cr4 |= 1u << 20;
	fx_refused(&F, CPU_SEC_SREGS, "bits 0x100000");
}

Test(cpu_check, pcide_needs_long_mode)
{
	fx_leaf(&F, 1, 0)->ecx |= 1u << 17;
	F.host[1].ecx |= 1u << 17;
	SR.cr4 |= 1u << 17;
	fx_accepted(&F);
	SR.efer = 0;
	SR.cr0 &= ~0x80000000ull;
	SR.cs.l = 0;
	F.s.msrs[0].data = 0;
	fx_refused(&F, CPU_SEC_SREGS, "PCIDE outside long mode");
}

Test(cpu_check, lma_must_equal_lme_and_pg)
{
	SR.efer = 0x400;        /* LMA alone */
	fx_refused(&F, CPU_SEC_SREGS, "LMA 1 but LME 0");
	SR.efer = 0x500;
	SR.cr0 &= ~0x80000000ull;       /* LME+LMA without paging */
	fx_refused(&F, CPU_SEC_SREGS, "LMA 1 but LME 1 with CR0.PG 0");
	SR.cr0 |= 0x80000000ull;
	SR.efer = 0x100;        /* LME and PG without LMA */
	fx_refused(&F, CPU_SEC_SREGS, "LMA 0 but LME 1 with CR0.PG 1");
}

Test(cpu_check, long_mode_needs_pae_and_lm)
{
	SR.cr4 &= ~0x20ull;
	fx_refused(&F, CPU_SEC_SREGS, "CR4.PAE clear");
	SR.cr4 |= 0x20;
	fx_leaf(&F, 0x80000001, 0)->edx &= ~(1u << 29);
	fx_refused(&F, CPU_SEC_SREGS, "bits 0x500 reserved or not in the vCPU's CPUID");
}

Test(cpu_check, efer_svme_needs_svm)
{
	SR.efer |= 1u << 12;
	fx_refused(&F, CPU_SEC_SREGS, "bits 0x1000");
}

Test(cpu_check, cr3_above_maxphyaddr)
{
	SR.cr3 = 1ull << 47;
	fx_accepted(&F);
	SR.cr3 = 1ull << 48;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.cr3 0x1000000000000: bits 0x1000000000000 above "
		   "MAXPHYADDR 48");
}

Test(cpu_check, cr8_is_four_bits)
{
	SR.cr8 = 15;
	fx_accepted(&F);
	SR.cr8 = 16;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.cr8 0x10");
}

Test(cpu_check, apic_base_rules)
{
	SR.apic_base |= 1;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.apic_base 0xfee00901: reserved bits 0x1");
	SR.apic_base = 0xfee00000 | (1u << 10);         /* x2APIC, APIC disabled */
	fx_refused(&F, CPU_SEC_SREGS, "x2APIC mode with the APIC disabled");
}

Test(cpu_check, one_pending_interrupt_at_most)
{
	SR.interrupt_bitmap[0] = 3ull << 32;
	fx_refused(&F, CPU_SEC_SREGS, "more than one pending interrupt (first: vector 32)");
}

/* ---- segments ------------------------------------------------------------ */

Test(cpu_check, cs_long_with_default_32_refused)
{
	SR.cs.db = 1;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.cs: l 1 with db 1");
}

Test(cpu_check, cs_long_outside_long_mode_refused)
{
	SR.efer = 0;
	F.s.msrs[0].data = 0;
	SR.cr0 &= ~0x80000000ull;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.cs.l 1");
}

Test(cpu_check, segment_field_ranges)
{
	SR.ds.type = 16;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.ds: type 16");
	SR.ds.type = 3;
	SR.ss.dpl = 4;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.ss: type 3 dpl 4");
	SR.ss.dpl = 0;
	SR.gs.unusable = 2;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.gs:");
}

/* A null selector: unusable (VMX) or only not present (SVM, a null SS in
 * 64-bit mode): its other attributes do not matter. */
Test(cpu_check, null_segments_are_not_checked)
{
	SR.es.type = 9;         /* execute-only code: no data segment */
	fx_refused(&F, CPU_SEC_SREGS, "sregs.es: type 9");
	SR.es.present = 0;
	fx_accepted(&F);
	SR.es.present = 1;
	SR.es.unusable = 1;
	fx_accepted(&F);
	SR.ss = (struct kvm_segment){ 0 };
	fx_accepted(&F);
	SR.cs.present = 0;
	fx_refused(&F, CPU_SEC_SREGS, "needs a usable code segment");
}

Test(cpu_check, limit_and_granularity_agree)
{
	SR.fs.limit = 0xfffff000;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.fs.limit 0xfffff000 with g 1");
	SR.fs.limit = 0x100000;
	SR.fs.g = 0;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.fs.limit 0x100000 with g 0");
}

Test(cpu_check, segment_types)
{
	SR.cs.type = 3;
	fx_refused(&F, CPU_SEC_SREGS, "needs a usable code segment");
	SR.cs.type = 11;
	SR.ss.type = 1;         /* read-only data */
	fx_refused(&F, CPU_SEC_SREGS, "sregs.ss: type 1 s 1: not a writable data");
	SR.ss.type = 3;
	SR.ds.type = 9;         /* execute-only code */
	fx_refused(&F, CPU_SEC_SREGS, "sregs.ds: type 9 s 1: neither data nor readable");
	SR.ds.type = 11;        /* readable code is fine */
	fx_accepted(&F);
}

Test(cpu_check, cpl_consistency)
{
	SR.cs.dpl = 3;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.cs.dpl 3: does not fit CPL 0");
	SR.ss.dpl = 3;
	fx_accepted(&F);
}

Test(cpu_check, task_register_and_ldt)
{
	SR.tr.type = 9;         /* available, not busy */
	fx_refused(&F, CPU_SEC_SREGS, "sregs.tr: type 9");
	SR.tr.type = 3;         /* 16-bit TSS in long mode */
	fx_refused(&F, CPU_SEC_SREGS, "sregs.tr: type 3");
	SR.tr.type = 11;
	SR.tr.selector |= 4;
	fx_refused(&F, CPU_SEC_SREGS, "not a busy TSS in the GDT");
	SR.tr.selector &= ~4;
	SR.ldt.type = 3;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.ldt: type 3");
}

Test(cpu_check, segment_bases)
{
	SR.ss.base = 1ull << 32;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.ss.base 0x100000000: above 4 GiB");
	SR.ss.base = 0;
	SR.gs.base = 0x0000800000000000ull;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.gs.base 0x800000000000: not canonical (48");
	SR.gs.base = 0xffff800000000000ull;
	fx_accepted(&F);
	SR.idt.base = 0x0001000000000000ull;
	fx_refused(&F, CPU_SEC_SREGS, "sregs.idt.base");
}

/* ---- regs ---------------------------------------------------------------- */

Test(cpu_check, rflags_reserved_bits)
{
	F.s.regs.rflags = 0;
	fx_refused(&F, CPU_SEC_REGS, "regs.rflags 0x0");
	F.s.regs.rflags = 0x2 | 0x8;
	fx_refused(&F, CPU_SEC_REGS, "regs.rflags 0xa");
	F.s.regs.rflags = 0x2 | (1ull << 22);
	fx_refused(&F, CPU_SEC_REGS, "regs.rflags 0x400002");
	F.s.regs.rflags = 0x246;
	fx_accepted(&F);
	F.s.regs.rflags = 0x2 | (1u << 17);
	fx_refused(&F, CPU_SEC_REGS, "virtual-8086 mode in long mode");
}

Test(cpu_check, rip_canonical)
{
	F.s.regs.rip = 0x0000800000000000ull;
	fx_refused(&F, CPU_SEC_REGS, "regs.rip 0x800000000000: not canonical");
	F.s.regs.rip = 0xffffffff81000000ull;
	fx_accepted(&F);
}

/* ---- XCR0 and XSAVE ------------------------------------------------------ */

Test(cpu_check, xcr_index_and_count)
{
	F.s.xcrs.xcrs[0].xcr = 1;
	fx_refused(&F, CPU_SEC_XCRS, "first XCR1: only XCR0");
	F.s.xcrs.xcrs[0].xcr = 0;
	F.s.xcrs.nr_xcrs = 2;
	fx_refused(&F, CPU_SEC_XCRS, "xcrs: 2 registers");
}

Test(cpu_check, xcr0_values)
{
	F.s.xcrs.xcrs[0].value = 7;     /* x87 SSE AVX: in the CPUID */
	fx_accepted(&F);
	F.s.xcrs.xcrs[0].value = 6;
	fx_refused(&F, CPU_SEC_XCRS, "xcrs.xcr0 0x6: a combination XSETBV refuses");
	F.s.xcrs.xcrs[0].value = 5;     /* AVX without SSE */
	fx_refused(&F, CPU_SEC_XCRS, "xcrs.xcr0 0x5");
	F.s.xcrs.xcrs[0].value = 0xe7;  /* AVX-512: not in the CPUID */
	fx_refused(&F, CPU_SEC_XCRS, "components 0xe0 not in the vCPU's CPUID");
}

Test(cpu_check, xsave_header)
{
	fx_set_xsave64(&F, 520, 1ull << 63);
	fx_refused(&F, CPU_SEC_XSAVE, "xsave.xcomp_bv 0x8000000000000000");
	fx_set_xsave64(&F, 520, 0);
	F.s.xsave[560] = 1;
	fx_refused(&F, CPU_SEC_XSAVE, "xsave header byte 560");
	F.s.xsave[560] = 0;
	F.s.xsave[26] = 1;      /* MXCSR bit 16 */
	fx_refused(&F, CPU_SEC_XSAVE, "xsave.mxcsr 0x11f80");
}

Test(cpu_check, xsave_components)
{
	fx_set_xsave64(&F, 512, 0x207);         /* AVX and PKRU: both in CPUID.0xD */
	fx_accepted(&F);
	fx_set_xsave64(&F, 512, 0x20);          /* opmask: not */
	fx_refused(&F, CPU_SEC_XSAVE, "xsave.xstate_bv 0x20: components 0x20");
	fx_set_xsave64(&F, 512, 0x207);
	fx_leaf(&F, 0xd, 9)->ebx = 4092;        /* PKRU would end past the area */
	F.host[7].ebx = 4092;
	fx_refused(&F, CPU_SEC_XSAVE, "component 9 (at 4092, 8 bytes) outside the 4096");
}

/* ---- MSRs ---------------------------------------------------------------- */

Test(cpu_check, msr_not_saved_here_refused_by_name)
{
	F.s.msrs[3].index = 0x1234;
	fx_refused(&F, CPU_SEC_MSRS, "msr 0x1234 (entry 3): not an MSR this VMM saves");
}

Test(cpu_check, msr_duplicate_refused)
{
	F.s.msrs[F.s.nmsrs].index = 0x10;
	F.s.msrs[F.s.nmsrs++].data = 1;
	fx_refused(&F, CPU_SEC_MSRS, "msr 0x10 (entry 6): listed twice");
}

Test(cpu_check, msr_values)
{
	F.s.msrs[1].data = 0x0007040600070402ull;       /* PAT entry 0 type 2 */
	fx_refused(&F, CPU_SEC_MSRS, "msr 0x277 (PAT) 0x7040600070402: entry 0 is memory "
		   "type 2");
	F.s.msrs[1].data = 0x0007040600070406ull;
	F.s.msrs[2].data = 0x0000800000000000ull;       /* LSTAR */
	fx_refused(&F, CPU_SEC_MSRS, "msr 0xc0000082 0x800000000000: not a canonical");
	F.s.msrs[2].data = 0;
	F.s.msrs[4].data = 1ull << 32;                  /* SFMASK */
	fx_refused(&F, CPU_SEC_MSRS, "msr 0xc0000084 0x100000000: reserved bits 32-63");
	F.s.msrs[4].data = 0;
	F.s.msrs[5].data = 0xfee00800;                  /* APIC_BASE */
	fx_refused(&F, CPU_SEC_MSRS, "differs from sregs.apic_base");
}

Test(cpu_check, msr_fs_base_agrees)
{
	F.s.msrs[F.s.nmsrs].index = 0xc0000100;
	F.s.msrs[F.s.nmsrs++].data = 0x1000;
	fx_refused(&F, CPU_SEC_MSRS, "msr 0xc0000100 (FS_BASE) 0x1000: differs");
	SR.fs.base = 0x1000;
	fx_accepted(&F);
}

/* ---- debug registers, events, MP state, clock ---------------------------- */

Test(cpu_check, debugregs)
{
	F.s.dbg.flags = 1;
	fx_refused(&F, CPU_SEC_DEBUGREGS, "debugregs.flags 0x1");
	F.s.dbg.flags = 0;
	F.s.dbg.dr6 = 1ull << 32;
	fx_refused(&F, CPU_SEC_DEBUGREGS, "debugregs.dr6 0x100000000");
	F.s.dbg.dr6 = 0xffff0ff0;
	F.s.dbg.dr7 = 0x400 | 0x1000;
	fx_refused(&F, CPU_SEC_DEBUGREGS, "debugregs.dr7 0x1400");
	F.s.dbg.dr7 = 0x401;    /* L0 enabled */
	fx_accepted(&F);
}

Test(cpu_check, exceptions)
{
	F.s.ev.exception.injected = 1;
	F.s.ev.exception.nr = 13;
	F.s.ev.exception.has_error_code = 1;
	fx_accepted(&F);
	F.s.ev.exception.has_error_code = 0;
	fx_refused(&F, CPU_SEC_EVENTS, "events.exception: vector 13 without an error code");
	F.s.ev.exception.nr = 6;
	F.s.ev.exception.has_error_code = 1;
	fx_refused(&F, CPU_SEC_EVENTS, "vector 6 with an error code");
	F.s.ev.exception.has_error_code = 0;
	F.s.ev.exception.nr = 2;
	fx_refused(&F, CPU_SEC_EVENTS, "events.exception.nr 2");
	F.s.ev.exception.nr = 40;
	fx_refused(&F, CPU_SEC_EVENTS, "events.exception.nr 40");
	F.s.ev.exception.nr = 6;
	/* What KVM_GET_VCPU_EVENTS reports for a queued exception (a save
	 * taken right after an emulated instruction faulted). */
	F.s.ev.exception.pending = 1;
	fx_accepted(&F);
	F.s.ev.exception.pending = 2;
	fx_refused(&F, CPU_SEC_EVENTS, "pending 2");
	F.s.ev.exception.pending = 1;
	F.s.ev.exception.injected = 0;
	fx_refused(&F, CPU_SEC_EVENTS, "injected 0 pending 1");
}

Test(cpu_check, injected_interrupt_agrees_with_bitmap)
{
	F.s.ev.interrupt.injected = 1;
	F.s.ev.interrupt.nr = 0x20;
	fx_refused(&F, CPU_SEC_EVENTS, "disagrees with sregs.interrupt_bitmap (vector -1)");
	SR.interrupt_bitmap[0] = 1ull << 32;
	fx_accepted(&F);
	F.s.ev.interrupt.nr = 0x21;
	fx_refused(&F, CPU_SEC_EVENTS, "vector 33: disagrees");
	F.s.ev.interrupt.injected = 0;
	fx_refused(&F, CPU_SEC_EVENTS, "(vector 32)");
}

Test(cpu_check, event_flags_and_smm)
{
	F.s.ev.flags |= KVM_VCPUEVENT_VALID_PAYLOAD;
	fx_refused(&F, CPU_SEC_EVENTS, "events.flags 0x1d: bits 0x10");
	F.s.ev.flags &= ~(uint32_t)KVM_VCPUEVENT_VALID_PAYLOAD;
	F.s.ev.smi.smm = 1;
	fx_refused(&F, CPU_SEC_EVENTS, "this VMM has no SMM");
	F.s.ev.smi.smm = 0;
	F.s.ev.nmi.pending = 2;
	fx_refused(&F, CPU_SEC_EVENTS, "events.nmi: injected 0 pending 2");
	F.s.ev.nmi.pending = 0;
	F.s.ev.interrupt.shadow = 4;
	fx_refused(&F, CPU_SEC_EVENTS, "shadow 4");
	F.s.ev.interrupt.shadow = 0;
	F.s.ev.triple_fault.pending = 1;
	fx_refused(&F, CPU_SEC_EVENTS, "triple_fault");
}

Test(cpu_check, mp_state_and_clock)
{
	F.s.mp_state = KVM_MP_STATE_HALTED;
	fx_refused(&F, CPU_SEC_MP, "mp_state 3");
	/* With KVM's LAPIC an AP waits for SIPI, a vCPU halts in KVM. */
	F.h.lapic = true;
	fx_accepted(&F);
	F.s.mp_state = KVM_MP_STATE_UNINITIALIZED;
	fx_accepted(&F);
	F.s.mp_state = KVM_MP_STATE_SIPI_RECEIVED;
	fx_accepted(&F);
	F.s.mp_state = KVM_MP_STATE_STOPPED;
	fx_refused(&F, CPU_SEC_MP, "mp_state 5");
	F.h.lapic = false;
	F.s.mp_state = 0;
	F.s.clk.clock = 1ull << 63;
	fx_refused(&F, CPU_SEC_CLOCK, "kvmclock.clock 0x8000000000000000");
	F.s.clk.clock = 5;
	F.s.clk.flags = 1;
	fx_refused(&F, CPU_SEC_CLOCK, "kvmclock.flags 0x1");
}

Test(cpu_check, tsc_khz_range)
{
	F.s.tsc_khz = 999;
	fx_refused(&F, CPU_SEC_TSC, "tsc_khz 999: not from 1000");
	F.s.tsc_khz = 0;        /* unknown (version 1 files) */
	fx_accepted(&F);
}
