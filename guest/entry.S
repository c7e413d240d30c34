/* entry.S - boot entry, descriptor-table loading and interrupt stubs.
 * Ring-0 code runs instruction-emulated on this host, so every stub here
 * does the least it can. */
#include "pc.h"

	.code64

	.section .bss
	.balign 16
kstack:	.skip 16384
	.globl	kstack_top
kstack_top:

	.section .text.boot, "ax"
	.globl	_start
_start:
	cli
	lea	kstack_top(%rip), %rsp
	xor	%ebp, %ebp
	call	kmain			/* RDI = boot-info block, from the VMM */
1:	hlt
	jmp	1b

	.text
	.globl	gdt_load
gdt_load:
	lgdt	(%rdi)
	mov	$SEL_KDATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	/* CS can only be reloaded by a far transfer; the VMM's CS is loaded
	 * from its own GDT, which is about to go away. */
	pushq	$SEL_KCODE
	lea	1f(%rip), %rax
	push	%rax
	lretq
1:	mov	$SEL_TSS, %eax
	ltr	%ax
	ret

	.globl	enter_user
enter_user:
	pushq	$SEL_UDATA
	push	%rsi
	pushq	$0x202			/* IF=1, IOPL=0: ring 3 cannot do port I/O */
	pushq	$SEL_UCODE
	push	%rdi
	mov	%rdx, %rdi
	mov	$SEL_UDATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	iretq

/* Exceptions: normalise the frame to (vector, error code) and panic. */
	.balign	16
	.globl	exc_stubs
exc_stubs:
	.set	vec, 0
	.rept	32
	.balign	16
	.if	(vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	nop; nop			/* CPU pushed the error code */
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	exc_common
	.set	vec, vec + 1
	.endr

exc_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	and	$-16, %rsp
	call	exception
	ud2

.macro	SAVE_SCRATCH
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
.endm
.macro	RESTORE_SCRATCH
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
.endm

/* IRQ 0: the hot path, ~1000 times per second: count and EOI, nothing else. */
	.globl	irq0_entry
irq0_entry:
	incq	ticks(%rip)
	push	%rax
	mov	$PIC_EOI, %al
	out	%al, $PIC1_CMD
	pop	%rax
	iretq

/* IRQ 4 (COM1).  5-word CPU frame + 9 saved = 112 bytes: stack stays
 * 16-byte aligned for the call. */
	.globl	irq4_entry
irq4_entry:
	SAVE_SCRATCH
	call	serial_irq
	RESTORE_SCRATCH
	iretq

/* Other IRQ lines are masked; these only catch spurious interrupts. */
	.balign	16
	.globl	irq_stubs
irq_stubs:
	.set	irq, 0
	.rept	16
	.balign	16
	pushq	$irq
	jmp	irq_common
	.set	irq, irq + 1
	.endr

irq_common:
	SAVE_SCRATCH
	mov	72(%rsp), %rdi
	sub	$8, %rsp
	call	irq_other
	add	$8, %rsp
	RESTORE_SCRATCH
	add	$8, %rsp
	iretq

/* int 0x80: RAX = number, RDI/RSI/RDX = arguments, result in RAX.  The
 * caller treats every scratch register as clobbered, so nothing else is
 * saved.  5-word CPU frame + 8 = 48 bytes: aligned for the call. */
	.globl	syscall_entry
syscall_entry:
	sub	$8, %rsp
	mov	%rax, %rcx
	call	syscall_dispatch
	add	$8, %rsp
	iretq

/* #UD.  This host's nested KVM raises #UD for "int n" in ring 3 instead of
 * going through the IDT gate (and SYSCALL does not leave ring 3 there), so
 * a #UD on "int $0x80" (cd 80) from user mode is the system call after
 * all: skip the instruction and take the normal path.  Any other #UD is
 * a real one. */
	.globl	ud_entry
ud_entry:
	testb	$3, 8(%rsp)		/* saved CS: from ring 3? */
	jz	1f
	push	%rax
	mov	8(%rsp), %rax		/* saved RIP */
	cmpw	$0x80cd, (%rax)
	pop	%rax
	jne	1f
	addq	$2, (%rsp)
	jmp	syscall_entry
1:	pushq	$0
	pushq	$6
	jmp	exc_common

	.section .note.GNU-stack, "", @progbits
