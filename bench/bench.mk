# bench.mk - what `make bench` builds besides the bench/*.c programs
# (included by the top-level Makefile).
#
# tickguest.bin: the multiboot guest both VMMs boot in bench/same_image_bench.sh
# (QEMU also in bench/vmm_bench.sh and bench/table.sh), a flat
# image (multiboot address fields) linked at 1 MiB.  GNU as and ld, nothing
# else: binutils is already a build dependency.

BENCH_GUEST := $(BUILD)/bench-guest/tickguest.bin

$(BUILD)/bench-guest/tickguest.o: bench/guest/tickguest.S
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

$(BUILD)/bench-guest/tickguest.elf: $(BUILD)/bench-guest/tickguest.o bench/guest/tickguest.ld
	ld -m elf_x86_64 -static -nostdlib --build-id=none --no-warn-rwx-segments -T bench/guest/tickguest.ld -o $@ $<

$(BENCH_GUEST): $(BUILD)/bench-guest/tickguest.elf
	objcopy -O binary $< $@
