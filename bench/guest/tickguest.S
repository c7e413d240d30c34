/* tickguest.S - the guest the benchmarks boot: both VMMs in
 * bench/same_image_bench.sh, QEMU in bench/vmm_bench.sh and bench/table.sh.
 *
 * A multiboot (v1) kernel in the address-fields form, so any multiboot
 * loader can boot the flat image: QEMU's `-kernel FILE -append ARGS`.  It
 * fills part of RAM with pseudo-random data, optionally keeps rewriting it,
 * and prints a numbered tick ten times a second, so that a save, a restore
 * or a migration can be timed from the serial port and checked for
 * continuity (the first tick after = the last tick before + 1).
 *
 * Ring 0 is instruction-emulated on this host's nested KVM and ring 3 runs
 * natively, so ring 0 only sets up and services the timer; the fill and the
 * rewriting run in ring 3.
 *
 * Command line (multiboot; words it does not know are ignored, as the first
 * is the image's own name):
 *   fill=N      N MiB at 4 MiB filled before the first tick (default 0)
 *   dirty=N     then rewrite the filled area at N MiB/s, whole 4 KiB pages,
 *               paced on the ticks; dirty=max: as fast as it can; dirty=0
 *               or none: idle after the fill (default)
 * Serial port COM1 (0x3f8, written without set-up, as a VMM's or QEMU's
 * UART passes bytes on regardless):
 *   "tickguest: fill N MiB, dirty R"   once set up (R = none, max, N MiB/s)
 *   "filled N MiB"                     the fill is done
 *   "tick K"                           K = 0 at the fill, +1 per timer period
 *   "tickguest: ..."                   a refused command line or an
 *                                      exception (vector, error, RIP, CR2);
 *                                      the guest then halts
 * Needs: an xAPIC at 0xfee00000 whose timer counts 1 GHz bus cycles (KVM's
 * in-kernel LAPIC: TICK_COUNT cycles = 100 ms), RAM >= 4 MiB + fill.  The
 * 8259 pair is masked (a BIOS may have left the PIT on it).  Ring 3 enters
 * ring 0 with "int $0x80"; this host's KVM raises #UD for that in ring 3
 * instead, so the #UD handler takes "cd 80" from ring 3 as the same call.
 */

	.equ	MB_MAGIC, 0x1badb002
	.equ	MB_FLAGS, 0x00010002	/* bit 1: memory sizes wanted; bit 16: address fields */
	.equ	MB_BOOTED, 0x2badb002	/* EAX from a multiboot loader */
	.equ	MBI_MEM, 1 << 0		/* info flags: mem_lower/mem_upper valid */
	.equ	MBI_CMDLINE, 1 << 2	/* info flags: cmdline valid */

	.equ	COM1, 0x3f8
	.equ	LAPIC, 0xfee00000
	.equ	LAPIC_EOI, 0xb0
	.equ	LAPIC_SVR, 0xf0
	.equ	LAPIC_LVT_TIMER, 0x320
	.equ	LAPIC_INIT_COUNT, 0x380
	.equ	LAPIC_DIVIDE, 0x3e0
	.equ	TICK_COUNT, 100000000	/* bus cycles per tick: 100 ms at 1 GHz */

	.equ	FILL_BASE, 0x400000
	.equ	MAX_NUMBER, 1000000	/* bigger fill= or dirty= values are refused */

	.equ	SEL_KCODE, 0x08
	.equ	SEL_KDATA, 0x10
	.equ	SEL_UDATA, 0x18 | 3
	.equ	SEL_UCODE, 0x20 | 3
	.equ	SEL_TSS, 0x28

	.equ	VEC_TIMER, 0x20
	.equ	VEC_CALL, 0x80
	.equ	VEC_SPURIOUS, 0xff

	.equ	CALL_FILLED, 1		/* ring-3 calls: RAX = number */
	.equ	CALL_WAIT, 2

	.equ	DIRTY_NONE, 0		/* dirty_mode */
	.equ	DIRTY_PACED, 1
	.equ	DIRTY_MAX, 2

/* ---------------------------------------------------------------- header */
	.section .mbheader, "a"
	.balign	4
mb_header:
	.long	MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
	.long	mb_header, image_start, image_end, bss_end, entry32

/* ---------------------------------------------------------------- 32-bit */
	.text
	.code32
	.globl	entry32
entry32:
	cli
	mov	%eax, boot_magic
	mov	%ebx, boot_info
	mov	$0xff, %al		/* mask both 8259s */
	out	%al, $0xa1
	out	%al, $0x21
	/* The loader zeroes the bss; do it again for the tables, they must be. */
	mov	$tables, %edi
	mov	$(tables_end - tables) / 4, %ecx
	xor	%eax, %eax
	rep stosl
	/* Identity map of 0..4 GiB in 2 MiB pages, ring 3 allowed everywhere
	 * (nothing here needs protecting from the workload). */
	movl	$pdpt + 7, pml4
	mov	$pdpt, %edi
	mov	$pd + 7, %eax
	mov	$4, %ecx
1:	mov	%eax, (%edi)
	add	$0x1000, %eax
	add	$8, %edi
	loop	1b
	mov	$pd, %edi
	mov	$0x87, %eax		/* present, writable, user, 2 MiB */
	mov	$2048, %ecx
2:	mov	%eax, (%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	2b
	orl	$0x18, pd + (LAPIC >> 21) * 8	/* the APIC page uncached */
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax	/* PG, PE */
	mov	%eax, %cr0
	lgdt	gdt_ptr
	ljmp	$SEL_KCODE, $entry64

/* ---------------------------------------------------------------- 64-bit */
	.code64
entry64:
	mov	$SEL_KDATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$kstack_top, %esp
	/* TSS: the ring-0 stack for interrupts from ring 3, no I/O bitmap. */
	movq	$kstack_top, tss + 4
	movw	$104, tss + 102
	mov	$tss, %eax		/* descriptor: limit 103, type 0x89, base split */
	mov	%rax, %rdx
	shl	$16, %rdx
	mov	$0xffffff0000, %rcx
	and	%rcx, %rdx
	mov	%rax, %rcx
	shr	$24, %rcx
	shl	$56, %rcx
	or	%rcx, %rdx
	mov	$0x0000890000000067, %rcx
	or	%rcx, %rdx
	mov	%rdx, gdt_tss
	mov	$SEL_TSS, %eax
	ltr	%ax
	/* IDT */
	xor	%ebx, %ebx
3:	mov	%ebx, %edi
	mov	%ebx, %esi
	shl	$4, %esi
	add	$exc_stubs, %esi
	mov	$0x8e, %edx		/* present, ring 0, interrupt gate */
	call	set_gate
	inc	%ebx
	cmp	$32, %ebx
	jb	3b
	mov	$6, %edi
	mov	$ud_entry, %esi
	call	set_gate
	mov	$VEC_TIMER, %edi
	mov	$timer_entry, %esi
	call	set_gate
	mov	$VEC_SPURIOUS, %edi
	mov	$spurious_entry, %esi
	call	set_gate
	mov	$VEC_CALL, %edi
	mov	$call_entry, %esi
	mov	$0xee, %edx		/* present, ring 3 may call */
	call	set_gate
	lidt	idt_ptr

	call	parse_cmdline
	call	print_banner
	/* LAPIC on, timer masked until the fill is done */
	mov	$LAPIC, %eax
	movl	$0x100 | VEC_SPURIOUS, LAPIC_SVR(%rax)
	movl	$0xb, LAPIC_DIVIDE(%rax)	/* divide by 1 */
	movl	$0x10000 | VEC_TIMER, LAPIC_LVT_TIMER(%rax)

	pushq	$SEL_UDATA
	pushq	$ustack_top
	pushq	$0x202			/* IF */
	pushq	$SEL_UCODE
	pushq	$user_main
	iretq

/* set_gate: EDI = vector, ESI = handler, DL = type/attributes. */
set_gate:
	shl	$4, %edi
	add	$idt, %edi
	mov	%si, (%rdi)
	movw	$SEL_KCODE, 2(%rdi)
	movb	$0, 4(%rdi)
	mov	%dl, 5(%rdi)
	shr	$16, %esi
	mov	%si, 6(%rdi)
	movl	$0, 8(%rdi)
	movl	$0, 12(%rdi)
	ret

/* ---------------------------------------------------------------- cmdline */
/* parse_cmdline: sets fill_mb, dirty_mode, dirty_mbps from the multiboot
 * command line and checks the fill fits in RAM; halts with a message if
 * not.  Clobbers RAX, RCX, RDX, RSI, RDI. */
parse_cmdline:
	cmpl	$MB_BOOTED, boot_magic
	jne	bad_loader
	mov	boot_info, %edx
	testl	$MBI_MEM, (%rdx)
	jz	bad_mem
	testl	$MBI_CMDLINE, (%rdx)
	jz	check_fit
	mov	16(%rdx), %esi
next_word:
	movzbl	(%rsi), %eax
	test	%al, %al
	jz	check_fit
	cmp	$' ', %al
	jne	1f
	inc	%rsi
	jmp	next_word
1:	mov	$word_fill, %edi
	call	match_prefix
	jne	2f
	call	parse_number
	mov	%rax, fill_mb
	jmp	next_word
2:	mov	$word_dirty, %edi
	call	match_prefix
	jne	skip_word
	mov	$word_max, %edi
	call	match_prefix
	jne	3f
	call	word_ends
	jne	bad_cmdline
	movq	$DIRTY_MAX, dirty_mode
	jmp	next_word
3:	mov	$word_none, %edi
	call	match_prefix
	jne	4f
	call	word_ends
	jne	bad_cmdline
	movq	$DIRTY_NONE, dirty_mode
	jmp	next_word
4:	call	parse_number
	mov	%rax, dirty_mbps
	movq	$DIRTY_NONE, dirty_mode
	test	%rax, %rax
	jz	next_word
	movq	$DIRTY_PACED, dirty_mode
	jmp	next_word
skip_word:
	movzbl	(%rsi), %eax
	test	%al, %al
	jz	check_fit
	cmp	$' ', %al
	je	next_word
	inc	%rsi
	jmp	skip_word
check_fit:
	/* FILL_BASE + fill MiB <= 1 MiB + mem_upper KiB */
	mov	boot_info, %edx
	mov	8(%rdx), %eax
	shl	$10, %rax
	add	$0x100000, %rax
	mov	fill_mb, %rcx
	shl	$20, %rcx
	add	$FILL_BASE, %rcx
	cmp	%rax, %rcx
	ja	bad_fit
	ret

/* match_prefix: RSI = text, RDI = NUL-terminated word.  ZF set and RSI past
 * the word if the text starts with it; otherwise ZF clear, RSI unchanged. */
match_prefix:
	push	%rsi
1:	movzbl	(%rdi), %eax
	test	%al, %al
	jz	2f
	cmp	(%rsi), %al
	jne	3f
	inc	%rsi
	inc	%rdi
	jmp	1b
2:	add	$8, %rsp		/* matched: keep the advanced RSI */
	xor	%eax, %eax		/* ZF */
	ret
3:	pop	%rsi
	or	$1, %eax		/* clears ZF */
	ret

/* word_ends: ZF set if RSI is at a space or the end of the text. */
word_ends:
	cmpb	$0, (%rsi)
	je	1f
	cmpb	$' ', (%rsi)
1:	ret

/* parse_number: RSI = digits ending the word -> RAX, RSI past them; halts on
 * anything else or a value above MAX_NUMBER. */
parse_number:
	xor	%eax, %eax
	call	word_ends
	je	bad_cmdline		/* no digits */
1:	call	word_ends
	je	2f
	movzbl	(%rsi), %ecx
	sub	$'0', %ecx
	cmp	$9, %ecx
	ja	bad_cmdline
	imul	$10, %rax, %rax
	add	%rcx, %rax
	cmp	$MAX_NUMBER, %rax
	ja	bad_cmdline
	inc	%rsi
	jmp	1b
2:	ret

bad_loader:
	mov	$msg_bad_loader, %esi
	jmp	die
bad_mem:
	mov	$msg_bad_mem, %esi
	jmp	die
bad_cmdline:
	mov	$msg_bad_cmdline, %esi
	jmp	die
bad_fit:
	mov	$msg_bad_fit, %esi
die:	call	puts
halt:	cli
	hlt
	jmp	halt

print_banner:
	mov	$msg_banner, %esi
	call	puts
	mov	fill_mb, %rax
	call	putdec
	mov	$msg_banner_dirty, %esi
	call	puts
	mov	dirty_mode, %rax
	mov	$word_none, %esi
	cmp	$DIRTY_NONE, %rax
	je	1f
	mov	$word_max, %esi
	cmp	$DIRTY_MAX, %rax
	je	1f
	mov	dirty_mbps, %rax
	call	putdec
	mov	$msg_mbps, %esi
1:	call	puts
	mov	$msg_nl, %esi
	jmp	puts

/* ---------------------------------------------------------------- output */
/* puts: ESI = NUL-terminated text.  putdec: RAX.  puthex: RAX (16 digits).
 * Each keeps every register but RSI (puts) and RAX. */
puts:	push	%rdx
	push	%rax
	mov	$COM1, %edx
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, %dx
	jmp	1b
2:	pop	%rax
	pop	%rdx
	ret

putdec:	push	%rcx
	push	%rdx
	push	%rsi
	mov	$numbuf + 23, %esi
	movb	$0, (%rsi)
	mov	$10, %ecx
1:	xor	%edx, %edx
	div	%rcx
	add	$'0', %dl
	dec	%rsi
	mov	%dl, (%rsi)
	test	%rax, %rax
	jnz	1b
	call	puts
	pop	%rsi
	pop	%rdx
	pop	%rcx
	ret

puthex:	push	%rcx
	push	%rdx
	push	%rsi
	mov	$numbuf, %esi
	mov	$16, %ecx
1:	rol	$4, %rax
	mov	%al, %dl
	and	$15, %dl
	add	$'0', %dl
	cmp	$'9', %dl
	jbe	2f
	add	$'a' - '0' - 10, %dl
2:	mov	%dl, (%rsi)
	inc	%rsi
	loop	1b
	movb	$0, (%rsi)
	mov	$numbuf, %esi
	call	puts
	pop	%rsi
	pop	%rdx
	pop	%rcx
	ret

/* print_tick: "tick K", then K + 1 for next time.  Keeps every register. */
print_tick:
	push	%rax
	push	%rsi
	mov	$msg_tick, %esi
	call	puts
	mov	ticks, %rax
	call	putdec
	mov	$msg_nl, %esi
	call	puts
	incq	ticks
	pop	%rsi
	pop	%rax
	ret

/* ---------------------------------------------------------------- entries */
timer_entry:
	call	print_tick
	push	%rax
	mov	$LAPIC, %eax
	movl	$0, LAPIC_EOI(%rax)
	pop	%rax
	iretq

spurious_entry:
	iretq

/* int $0x80 from ring 3, RAX = call.  Keeps every register. */
call_entry:
	cmp	$CALL_WAIT, %eax
	jne	1f
	sti				/* the timer may interrupt only the hlt */
	hlt
	cli
	iretq
1:	cmp	$CALL_FILLED, %eax
	jne	2f
	push	%rsi
	mov	$msg_filled, %esi
	call	puts
	mov	fill_mb, %rax
	call	putdec
	mov	$msg_mib_nl, %esi
	call	puts
	call	print_tick		/* tick 0 */
	mov	$LAPIC, %eax
	movl	$0x20000 | VEC_TIMER, LAPIC_LVT_TIMER(%rax)	/* periodic */
	movl	$TICK_COUNT, LAPIC_INIT_COUNT(%rax)
	mov	$CALL_FILLED, %eax
	pop	%rsi
	iretq
2:	pushq	$VEC_CALL		/* an unknown call is a bug: report it */
	jmp	exc_common

/* #UD: "int $0x80" (cd 80) from ring 3 is a call (see the header). */
ud_entry:
	testb	$3, 8(%rsp)
	jz	1f
	push	%rax
	mov	8(%rsp), %rax
	cmpw	$0x80cd, (%rax)
	pop	%rax
	jne	1f
	addq	$2, (%rsp)
	jmp	call_entry
1:	pushq	$6
	jmp	exc_common

/* Exceptions: one 16-byte stub per vector pushes the vector number; the CPU
 * has pushed an error code before it for the vectors in ERRCODE_VECTORS. */
	.equ	ERRCODE_VECTORS, 0x60227d00	/* 8, 10-14, 17, 21, 29, 30 */
	.balign	16
exc_stubs:
	.set	vec, 0
	.rept	32
	.balign	16
	pushq	$vec
	jmp	exc_common
	.set	vec, vec + 1
	.endr

exc_common:
	mov	(%rsp), %rbx		/* vector */
	lea	8(%rsp), %rbp		/* -> error code, if any, then RIP */
	xor	%r8d, %r8d
	cmp	$32, %rbx
	jae	1f
	mov	$ERRCODE_VECTORS, %eax
	bt	%ebx, %eax
	jnc	1f
	mov	(%rbp), %r8
	add	$8, %rbp
1:	mov	$msg_exc, %esi
	call	puts
	mov	%rbx, %rax
	call	putdec
	mov	$msg_exc_err, %esi
	call	puts
	mov	%r8, %rax
	call	puthex
	mov	$msg_exc_rip, %esi
	call	puts
	mov	(%rbp), %rax
	call	puthex
	mov	$msg_exc_cr2, %esi
	call	puts
	mov	%cr2, %rax
	call	puthex
	mov	$msg_nl, %esi
	call	puts
	jmp	halt

/* ---------------------------------------------------------------- ring 3 */
/* xorshift64 step on \x, \t scratch */
	.macro	XORSHIFT x, t
	mov	\x, \t
	shl	$13, \t
	xor	\t, \x
	mov	\x, \t
	shr	$7, \t
	xor	\t, \x
	mov	\x, \t
	shl	$17, \t
	xor	\t, \x
	.endm

/* R15 = generator state, RDI = write cursor, R12/R13 = area start/end,
 * R14 = pacing credit in tenths of a page, RBX = ticks already credited. */
user_main:
	mov	$0x9e3779b97f4a7c15, %r15
	mov	$FILL_BASE, %r12
	mov	fill_mb, %r13
	shl	$20, %r13
	add	%r12, %r13
	mov	%r12, %rdi
1:	cmp	%r13, %rdi
	jae	2f
	call	write_page
	jmp	1b
2:	mov	$CALL_FILLED, %eax
	int	$0x80
	cmp	%r12, %r13
	je	idle
	mov	dirty_mode, %rax
	cmp	$DIRTY_MAX, %rax
	je	flat_out
	cmp	$DIRTY_PACED, %rax
	je	paced
idle:	mov	$CALL_WAIT, %eax
	int	$0x80
	jmp	idle

flat_out:
	mov	%r12, %rdi
1:	call	write_page
	cmp	%r13, %rdi
	jb	1b
	jmp	flat_out

/* Each tick earns dirty_mbps * 256 pages per second / 10 ticks, kept in
 * tenths of a page; at most a second's worth is banked, so a guest that
 * falls behind does not burst afterwards. */
paced:
	mov	%r12, %rdi
	xor	%r14, %r14
	mov	ticks, %rbx
	mov	dirty_mbps, %rbp
	shl	$8, %rbp		/* tenths of a page per tick */
1:	cmp	$10, %r14
	jae	3f
	mov	$CALL_WAIT, %eax
	int	$0x80
	mov	ticks, %rax
	mov	%rax, %rcx
	sub	%rbx, %rcx
	mov	%rax, %rbx
	imul	%rbp, %rcx
	add	%rcx, %r14
	mov	%rbp, %rax
	imul	$10, %rax, %rax
	cmp	%rax, %r14
	jbe	1b
	mov	%rax, %r14
	jmp	1b
3:	call	write_page
	sub	$10, %r14
	cmp	%r13, %rdi
	jb	1b
	mov	%r12, %rdi
	jmp	1b

/* write_page: 4 KiB of fresh generator output at RDI, RDI += 4096. */
write_page:
	mov	$512, %ecx
1:	XORSHIFT %r15, %rdx
	mov	%r15, (%rdi)
	add	$8, %rdi
	dec	%ecx
	jnz	1b
	ret

/* ---------------------------------------------------------------- data */
	.section .rodata
word_fill:	.asciz	"fill="
word_dirty:	.asciz	"dirty="
word_max:	.asciz	"max"
word_none:	.asciz	"none"
msg_banner:	.asciz	"tickguest: fill "
msg_banner_dirty: .asciz " MiB, dirty "
msg_mbps:	.asciz	" MiB/s"
msg_filled:	.asciz	"filled "
msg_mib_nl:	.asciz	" MiB\n"
msg_tick:	.asciz	"tick "
msg_nl:		.asciz	"\n"
msg_bad_loader:	.asciz	"tickguest: not started by a multiboot loader (EAX is not 0x2badb002)\n"
msg_bad_mem:	.asciz	"tickguest: the loader gave no memory size\n"
msg_bad_cmdline: .asciz	"tickguest: bad command line: want fill=MiB dirty=MiB/s|max|none, numbers up to 1000000\n"
msg_bad_fit:	.asciz	"tickguest: fill= does not fit in RAM above 4 MiB\n"
msg_exc:	.asciz	"tickguest: exception "
msg_exc_err:	.asciz	" error 0x"
msg_exc_rip:	.asciz	" rip 0x"
msg_exc_cr2:	.asciz	" cr2 0x"

	.data
	.balign	16
gdt:	.quad	0
	.quad	0x00af9a000000ffff	/* 0x08 ring-0 code, 64-bit */
	.quad	0x00cf92000000ffff	/* 0x10 ring-0 data */
	.quad	0x00cff2000000ffff	/* 0x18 ring-3 data */
	.quad	0x00affa000000ffff	/* 0x20 ring-3 code, 64-bit */
gdt_tss: .quad	0, 0			/* 0x28 TSS, filled in at run time */
gdt_end:
gdt_ptr: .word	gdt_end - gdt - 1
	.long	gdt
	.balign	8
idt_ptr: .word	256 * 16 - 1
	.quad	idt
boot_magic: .quad 0
boot_info:  .quad 0
fill_mb:    .quad 0
dirty_mode: .quad DIRTY_NONE
dirty_mbps: .quad 0
ticks:	    .quad 0			/* read by ring 3 for pacing */
numbuf:	    .skip 24

	.bss
	.balign	4096
tables:
pml4:	.skip	4096
pdpt:	.skip	4096
pd:	.skip	4 * 4096
idt:	.skip	4096
tables_end:
tss:	.skip	4096
	.skip	16384
kstack_top:
	.skip	16384
ustack_top:

	.section .note.GNU-stack, "", @progbits
