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
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))

SSM_OBJ  := $(SSM_SRC:%.c=$(BUILD)/%.o)
DEV_OBJ  := $(DEV_SRC:%.c=$(BUILD)/%.o)
# vmm objects live apart from $(BUILD)/vmm, which is the program itself.
VMM_OBJ  := $(VMM_SRC:vmm/%.c=$(BUILD)/vmm-obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
# Helpers of the e2e tests (e.g. the migration proxy), next to the vmm.
TOOL_BIN := $(TOOL_SRC:tests/%.c=$(BUILD)/tests/%)

LIBSSM   := $(BUILD)/libssm.a
LIBDEV   := $(BUILD)/libdevices.a
VMM_BIN  := $(BUILD)/vmm
GUEST    := $(BUILD)/guest/kernel.elf

.PHONY: all run resume test unit unit-bins clang valgrind e2e asan tsan bench fuzz clean deps deps-run deps-test deps-bench
all: $(LIBSSM) $(LIBDEV) $(if $(VMM_SRC),$(VMM_BIN)) $(if $(wildcard guest/*),$(GUEST)) $(TOOL_BIN)

deps-run:
	@scripts/deps.sh run
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/vmm-obj/%.o: vmm/%.c
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

# Not sanitized: they test the vmm, and an instrumented proxy would be the
# bottleneck of a make tsan run.
$(BUILD)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(EXTRA_CFLAGS) -o $@ $<

$(BUILD)/bench/%: bench/%.c $(LIBSSM)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBSSM) $(LDLIBS)

-include guest/guest.mk

run: deps-run all
	@scripts/run.sh

# Carry on with the guest `make run` suspended (Ctrl-C).
resume: deps-run all
	@scripts/run.sh --resume

unit: $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

unit-bins: $(UNIT_BIN)

# Every unit-test binary under valgrind (not in `make test`: minutes).
# Criterion forks per test, hence --trace-children and the grep for errors.
valgrind: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do \
	  valgrind -q --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite \
	    $$t --jobs 1 >build/valgrind.log 2>&1; \
	  if grep -qE '^==[0-9]+== [A-Z]' build/valgrind.log; then cat build/valgrind.log; \
	    echo "valgrind: $$t FAILED"; exit 1; fi; echo "valgrind: $$t clean"; done

# Everything must also build warning-free with clang.
clang:
	@$(MAKE) --no-print-directory BUILD=build-clang CC=clang all unit-bins
	@echo "clang: everything builds without warnings"

test: deps-test
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory clang
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20
	@scripts/run-e2e.sh $(BUILD)

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" unit

# The vmm under ThreadSanitizer (build-tsan/), running the end-to-end tests
# whose threads share the most: live migration, the handoff and live
# snapshots.  A report makes vmm exit 66 (halt_on_error), which the tests
# see as a failure, and lib.sh's crashed() also spots the report.
# The instrumented vmm copies RAM ~10x slower while its guest runs ~2x
# slower, so the guests run TSAN_SLOW times as many steps (lib.sh E2E_SLOW).
TSAN_E2E := test-migrate.sh test-migrate-handoff.sh test-migrate-live-save.sh
# Per-run and per-file timeouts are raised to match.
TSAN_SLOW ?= 3
tsan:
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT="-O2 -g" \
	  SAN="-fsanitize=thread -fno-omit-frame-pointer" all
	@TSAN_OPTIONS="halt_on_error=1 exitcode=66 $${TSAN_OPTIONS:-}" E2E_SLOW=$(TSAN_SLOW) \
	  VMM_TIMEOUT=600 E2E_FILE_TIMEOUT=2400 E2E_ONLY="$(TSAN_E2E)" scripts/run-e2e.sh build-tsan

# Coverage-guided fuzzing of the loader (clang's libFuzzer).  FUZZ_SECONDS
# bounds the run; the corpus is seeded with real state files.
FUZZ_SECONDS ?= 30
FUZZ_DIR := build-fuzz
fuzz: deps-test
	@mkdir -p $(FUZZ_DIR)/corpus
	clang $(CFLAGS_BASE) -O1 -g -fsanitize=fuzzer,address,undefined -o $(FUZZ_DIR)/fuzz_load \
	  tests/fuzz/fuzz_load.c $(SSM_SRC) $(LDLIBS)
	$(CC) $(CFLAGS_BASE) -o $(FUZZ_DIR)/make_corpus tests/fuzz/make_corpus.c $(SSM_SRC) $(LDLIBS)
	$(FUZZ_DIR)/make_corpus $(FUZZ_DIR)/corpus
	@$(FUZZ_DIR)/fuzz_load -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus \
	  >$(FUZZ_DIR)/fuzz.log 2>&1; rc=$$?; grep -E '^(Done|stat::number_of_executed|==.*ERROR|SUMMARY)' \
	  $(FUZZ_DIR)/fuzz.log; if [ $$rc -ne 0 ]; then tail -n 40 $(FUZZ_DIR)/fuzz.log; \
	  echo "fuzz: FAILED (crash input saved under $(FUZZ_DIR)/)"; exit 1; fi; echo "fuzz: no crash in $(FUZZ_SECONDS) s"

bench: deps-bench all $(BENCH_BIN)
	@scripts/run-bench.sh $(BUILD)

clean:
	rm -rf build build-asan build-clang build-fuzz build-tsan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
