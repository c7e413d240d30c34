# guest.mk - the test kernel (included by the top-level Makefile).
# Freestanding: own flags, never the host's sanitizer or PIC settings.

GUEST_SRC    := $(sort $(wildcard guest/*.c guest/*.S))
GUEST_OBJ    := $(patsubst guest/%,$(BUILD)/guest/%.o,$(GUEST_SRC))
GUEST_CFLAGS := -std=c11 -O2 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone \
                -mgeneral-regs-only -mcmodel=small -fno-stack-protector \
                -fno-asynchronous-unwind-tables -fno-builtin -nostdinc \
                -isystem $(shell $(CC) -print-file-name=include) \
                -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
                -Wmissing-prototypes -Wno-missing-field-initializers -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -Wl,-T,guest/kernel.ld \
                 -Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack

$(BUILD)/guest/%.c.o: guest/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest/%.S.o: guest/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST): $(GUEST_OBJ) guest/kernel.ld
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJ)
