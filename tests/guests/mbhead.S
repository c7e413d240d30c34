/* mbhead.S - multiboot header and entry of the mbtest guest.
 *
 * Built twice: as an ELF32 image (the loader reads its program headers)
 * and, with MB_ADDRESSES defined, as a flat image whose header carries
 * the load addresses (flag bit 16).  Entry: 32-bit protected mode,
 * EAX = 0x2badb002, EBX = the information block (multiboot 0.6.96 §3.2).
 */
#ifndef MB_MAIN
#define MB_MAIN mbtest_main	/* the C entry; migtest builds with its own */
#endif
	.equ	MB_MAGIC, 0x1badb002
#ifdef MB_ADDRESSES
	.equ	MB_FLAGS, 0x00010003	/* page-aligned modules, memory info, addresses */
#else
	.equ	MB_FLAGS, 0x00000003	/* page-aligned modules, memory info */
#endif

	.section .mbheader, "a"
	.align	4
mb_header:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)
#ifdef MB_ADDRESSES
	.long	mb_header		/* header_addr */
	.long	image_start		/* load_addr */
	.long	image_end		/* load_end_addr */
	.long	bss_end			/* bss_end_addr */
	.long	entry32			/* entry_addr */
#endif

	.text
	.code32
	.globl	entry32
entry32:
	mov	$stack_top, %esp
	push	%ebx			/* info block */
	push	%eax			/* magic */
	call	MB_MAIN
1:	cli
	hlt
	jmp	1b

	.bss
	.align	16
	.space	16384
stack_top:
	.section .note.GNU-stack, "", @progbits
