# Top-level build.  Objects go under build/ (build-asan/ for `make asan`).
# Targets: all run test asan bench fuzz clean.  See README.md.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -I. -MMD -MP
SAN     ?=
CFLAGS_ALL  = $(CFLAGS_BASE) $(SAN) $(EXTRA_CFLAGS)
LDLIBS  := -lz -lpthread

SSM_SRC  := $(sort $(wildcard ssm/*.c))
DEV_SRC  := $(sort $(wildcard devices/*.c))
VMM_SRC  := $(sort $(wildcard vmm/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
BENCH_SRC:= $(sort $(wildcard bench/*.c))

SSM_OBJ  := $(SSM_SRC:%.c=$(BUILD)/%.o)
DEV_OBJ  := $(DEV_SRC:%.c=$(BUILD)/%.o)
VMM_OBJ  := $(VMM_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

LIBSSM   := $(BUILD)/libssm.a
LIBDEV   := $(BUILD)/libdevices.a
VMM_BIN  := $(BUILD)/vmm
GUEST    := $(BUILD)/guest/kernel.elf

.PHONY: all run test unit e2e asan bench fuzz clean deps deps-run deps-test
all: $(LIBSSM) $(LIBDEV) $(if $(VMM_SRC),$(VMM_BIN)) $(if $(wildcard guest/*),$(GUEST))

deps-run:
	@scripts/deps.sh run
deps-test:
	@scripts/deps.sh test

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIBSSM): $(SSM_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBDEV): $(DEV_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(VMM_BIN): $(VMM_OBJ) $(LIBDEV) $(LIBSSM)
	$(CC) $(SAN) -o $@ $(VMM_OBJ) $(LIBDEV) $(LIBSSM) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBDEV) $(LIBSSM)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBDEV) $(LIBSSM) -lcriterion $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIBSSM)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBSSM) $(LDLIBS)

-include guest/guest.mk

run: deps-run all
	@scripts/run.sh

unit: $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

test: deps-test
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory asan
	@scripts/run-e2e.sh $(BUILD)

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" unit

bench: deps-test all $(BENCH_BIN)
	@scripts/run-bench.sh $(BUILD)

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
