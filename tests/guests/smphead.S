/* smphead.S - multiboot header, BSP entry and AP start of the smpguest.
 *
 * The BSP enters in 32-bit protected mode (multiboot).  An AP starts in
 * real mode at SIPI vector V * 4 KiB with CS = V << 8, IP = 0: the BSP
 * copies ap_tramp .. ap_tramp_end there (smpguest.c).  The trampoline
 * loads the GDT below (its descriptor is inside the copy, CS-relative; the
 * table itself stays in the image), enters protected mode and jumps to
 * ap_entry32 in the image, which takes a stack by its LAPIC ID.
 */
	.equ	MB_MAGIC, 0x1badb002
	.equ	MB_FLAGS, 0x00000003	/* page-aligned modules, memory info */
	.equ	AP_MAX, 16		/* stacks for LAPIC IDs 0..15 */
	.equ	LAPIC_ID, 0xfee00020

	.section .mbheader, "a"
	.align	4
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl	entry32
entry32:
	mov	$stack_top, %esp
	push	%ebx			/* info block */
	push	%eax			/* magic */
	call	smp_bsp_main
1:	cli
	hlt
	jmp	1b

	.code16
	.globl	ap_tramp, ap_tramp_end
ap_tramp:
	cli
	lgdtl	%cs:ap_gdt_desc - ap_tramp
	mov	%cr0, %eax
	or	$1, %eax		/* PE */
	mov	%eax, %cr0
	ljmpl	$0x08, $ap_entry32
	.align	4
ap_gdt_desc:
	.word	ap_gdt_end - ap_gdt - 1
	.long	ap_gdt
ap_tramp_end:

	.code32
ap_entry32:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%ax, %ss
	mov	LAPIC_ID, %eax
	shr	$24, %eax
	cmp	$AP_MAX, %eax
	jae	2f
	mov	%eax, %ecx
	inc	%ecx
	shl	$12, %ecx
	lea	ap_stacks(%ecx), %esp
	push	%eax			/* its LAPIC ID */
	call	smp_ap_main
2:	cli
	hlt
	jmp	2b

	.data
	.align	8
ap_gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08: code, flat 4 GiB, 32-bit */
	.quad	0x00cf92000000ffff	/* 0x10: data, flat 4 GiB */
ap_gdt_end:

	.bss
	.align	4096
ap_stacks:
	.space	4096 * (AP_MAX + 1)
	.align	16
	.space	16384
stack_top:
	.section .note.GNU-stack, "", @progbits
