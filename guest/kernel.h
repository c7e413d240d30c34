/* kernel.h - symbols shared by the test kernel's ring-0 part (entry.S,
 * kernel.c) and its ring-3 task (user.c). */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "bootinfo.h"

/* IRQ 0 count, bumped by the timer stub.  The whole RAM is mapped
 * user-accessible, so the ring-3 task reads it directly instead of paying
 * for an (emulated) system call per read. */
extern volatile uint64_t ticks;

/* Linker-script symbols: first byte of the image, first byte past it. */
extern char __kernel_start[], __kernel_end[];

/* Ring-0 entry from entry.S; bi is the VMM's boot-info block. */
void kmain(const struct bootinfo *bi) __attribute__((noreturn));

/* Ring-3 task entry: never returns (powers off through a system call). */
void user_main(const struct bootinfo *bi) __attribute__((noreturn));

/* entry.S helpers. */
struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* Load the GDT, reload every segment register with the kernel selectors and
 * load the task register. */
void gdt_load(const struct dtr *gdtr);
/* Drop to ring 3 at rip with stack rsp, interrupts on, arg in RDI. */
void enter_user(void (*rip)(const struct bootinfo *), void *rsp,
		const struct bootinfo *arg) __attribute__((noreturn));

extern char exc_stubs[];        /* 32 stubs, EXC_STUB_SIZE bytes apart */
extern char irq_stubs[];        /* 16 stubs, IRQ_STUB_SIZE bytes apart */
extern char irq0_entry[], irq4_entry[], syscall_entry[], ud_entry[], kstack_top[];
#define EXC_STUB_SIZE 16
#define IRQ_STUB_SIZE 16

/* Saved by the exception stub, lowest address first. */
struct exc_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* C halves of the interrupt stubs. */
void exception(const struct exc_frame *f) __attribute__((noreturn));
void irq_other(uint64_t irq);
void serial_irq(void);
uint64_t syscall_dispatch(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t nr);

/* Compiler-required helpers (lib.c). */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
