# guests.mk - multiboot test guests of tests/e2e/test-multiboot.sh
# (included by the top-level Makefile).  32-bit freestanding code: gcc -m32
# needs no 32-bit libraries here (no libc, no libgcc calls), ld -m elf_i386.
#
#   mbtest.elf  ELF32 image, header without address fields
#   mbtest.bin  flat image, header with address fields (flag bit 16)
#   migtest.elf ELF32 image: asks to be migrated, checks CPU/APIC/timer state

MBTEST_DIR    := $(BUILD)/tests/guests
MBTEST_GUESTS := $(MBTEST_DIR)/mbtest.elf $(MBTEST_DIR)/mbtest.bin
MBTEST_CFLAGS := -m32 -std=c11 -O2 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
                 -fno-asynchronous-unwind-tables -fno-builtin -mgeneral-regs-only \
                 -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
                 -Wall -Wextra -Werror -Wmissing-prototypes
MBTEST_LD     := ld -m elf_i386 -static -nostdlib --build-id=none --no-warn-rwx-segments \
                 -T tests/guests/mbtest.ld

MIGTEST       := $(MBTEST_DIR)/migtest.elf

# test-irqchip.sh also boots the bench's LAPIC-timer guest (bench/bench.mk).
all: $(MBTEST_GUESTS) $(MIGTEST) $(BENCH_GUEST)

$(MBTEST_DIR)/mbtest.o: tests/guests/mbtest.c tests/guests/mbio.h
	@mkdir -p $(dir $@)
	$(CC) $(MBTEST_CFLAGS) -c $< -o $@

$(MBTEST_DIR)/mbhead-elf.o: tests/guests/mbhead.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -c $< -o $@

$(MBTEST_DIR)/mbhead-addr.o: tests/guests/mbhead.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -DMB_ADDRESSES -c $< -o $@

$(MBTEST_DIR)/mbtest.elf: $(MBTEST_DIR)/mbhead-elf.o $(MBTEST_DIR)/mbtest.o tests/guests/mbtest.ld
	$(MBTEST_LD) -o $@ $(MBTEST_DIR)/mbhead-elf.o $(MBTEST_DIR)/mbtest.o

$(MBTEST_DIR)/mbtest-addr.elf: $(MBTEST_DIR)/mbhead-addr.o $(MBTEST_DIR)/mbtest.o tests/guests/mbtest.ld
	$(MBTEST_LD) -o $@ $(MBTEST_DIR)/mbhead-addr.o $(MBTEST_DIR)/mbtest.o

$(MBTEST_DIR)/mbtest.bin: $(MBTEST_DIR)/mbtest-addr.elf
	objcopy -O binary $< $@

$(MBTEST_DIR)/migtest.o: tests/guests/migtest.c tests/guests/mbio.h
	@mkdir -p $(dir $@)
	$(CC) $(MBTEST_CFLAGS) -c $< -o $@

$(MBTEST_DIR)/mbhead-mig.o: tests/guests/mbhead.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -DMB_MAIN=migtest_main -c $< -o $@

$(MIGTEST): $(MBTEST_DIR)/mbhead-mig.o $(MBTEST_DIR)/migtest.o tests/guests/mbtest.ld
	$(MBTEST_LD) -o $@ $(MBTEST_DIR)/mbhead-mig.o $(MBTEST_DIR)/migtest.o
# smpguest.elf  ELF32 multiboot SMP guest of tests/e2e/test-smp.sh: the BSP
#               starts the APs by INIT/SIPI, every CPU prints its ticks
SMPGUEST := $(MBTEST_DIR)/smpguest.elf

all: $(SMPGUEST)

$(MBTEST_DIR)/smpguest.o: tests/guests/smpguest.c tests/guests/mbio.h
	@mkdir -p $(dir $@)
	$(CC) $(MBTEST_CFLAGS) -c $< -o $@

$(MBTEST_DIR)/smphead.o: tests/guests/smphead.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -c $< -o $@

$(SMPGUEST): $(MBTEST_DIR)/smphead.o $(MBTEST_DIR)/smpguest.o tests/guests/mbtest.ld
	$(MBTEST_LD) -o $@ $(MBTEST_DIR)/smphead.o $(MBTEST_DIR)/smpguest.o
