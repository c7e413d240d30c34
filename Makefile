# Top-level build.  Objects go under build/ (build-asan/ for `make asan`).
# Targets: all run test asan bench fuzz install uninstall examples clean.
# See README.md.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -I. -MMD -MP
SAN     ?=
CFLAGS_ALL  = $(CFLAGS_BASE) $(SAN) $(EXTRA_CFLAGS)
LDLIBS  := -lz -lzstd -lpthread
# The vmm program (and its test tools) also use JSON (inspect, schema, the
# monitor) and TLS (migration).
VMM_LDLIBS := -ljansson -lgnutls

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
# The forged-file tool of tests/e2e/test-forged.sh (tests/forge/).
FORGE_OBJ:= $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard tests/forge/*.c)))
FORGE_BIN:= $(BUILD)/tests/forge/forge
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
# Test tools (tests/tools/): the e2e tests find them beside build/vmm.
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)

# libssm's version: MAJOR names the soname (bump it on an ABI break),
# MINOR grows with additions, PATCH with fixes.
SSM_MAJOR := 1
SSM_MINOR := 0
SSM_PATCH := 0
SSM_VERSION := $(SSM_MAJOR).$(SSM_MINOR).$(SSM_PATCH)

# libssm.a and libssm.so hold only the public API of ssm/ssm.h (SSM_API);
# the unit tests, which reach internals, link libssm-internal.a instead.
LIBSSM   := $(BUILD)/libssm.a
LIBSSM_INT := $(BUILD)/libssm-internal.a
LIBSSM_SO  := $(BUILD)/libssm.so.$(SSM_VERSION)
LIBDEV   := $(BUILD)/libdevices.a
# vmm objects that need neither KVM nor the rest of the VMM, for unit tests
# and test tools.
LIBVMMCORE := $(BUILD)/libvmmcore.a
VMMCORE_OBJ := $(addprefix $(BUILD)/vmm-obj/,dirty.o memmap.o bus.o clock.o cli.o migrate_addr.o boot_multiboot.o \
               serial_backend.o vmlock.o cpu_codec.o cpu_check.o cpu_check_cpuid.o cpuid_names.o cpu_model.o \
               unit_schema.o schema.o monitor_proto.o monitor_ctl.o chain_id.o irqchip.o irqchip_state.o \
               smp.o)
VMM_BIN  := $(BUILD)/vmm
GUEST    := $(BUILD)/guest/kernel.elf

.PHONY: all run resume test unit unit-bins clang valgrind e2e asan asan-vmm tsan bench fuzz fuzz-bins fuzz-seeds fuzz-long clean deps deps-run deps-test deps-bench
.PHONY: install uninstall examples install-check conformance conformance-quick
all: $(LIBSSM) $(LIBSSM_SO) $(LIBDEV) $(if $(VMM_SRC),$(VMM_BIN)) $(if $(wildcard guest/*),$(GUEST)) $(TOOL_BIN)

deps-run:
	@scripts/deps.sh run
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(OBJ_FLAGS) -c $< -o $@

$(BUILD)/vmm-obj/%.o: vmm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# Position-independent for the shared library; hidden unless SSM_API.
$(SSM_OBJ): OBJ_FLAGS := -fPIC -fvisibility=hidden

# One relocatable object whose hidden (internal) symbols are made local, so
# the archive resolves and exports nothing but the public API.
$(BUILD)/libssm-all.o: $(SSM_OBJ)
	$(LD) -r -o $@ $^ && objcopy --localize-hidden $@
$(LIBSSM): $(BUILD)/libssm-all.o
	rm -f $@ && ar rcs $@ $^
$(LIBSSM_INT): $(SSM_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
# Real file libssm.so.M.m.p, soname libssm.so.M, dev link libssm.so.
$(LIBSSM_SO): $(SSM_OBJ)
	$(CC) $(SAN) -shared -Wl,-soname,libssm.so.$(SSM_MAJOR) -Wl,-z,defs -o $@ $^ $(LDLIBS)
	ln -sf $(notdir $@) $(BUILD)/libssm.so.$(SSM_MAJOR)
	ln -sf libssm.so.$(SSM_MAJOR) $(BUILD)/libssm.so
$(LIBDEV): $(DEV_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBVMMCORE): $(VMMCORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(VMM_BIN): $(VMM_OBJ) $(LIBDEV) $(LIBSSM)
	$(CC) $(SAN) -o $@ $(VMM_OBJ) $(LIBDEV) $(LIBSSM) $(VMM_LDLIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBVMMCORE) $(LIBDEV) $(LIBSSM_INT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBVMMCORE) $(LIBDEV) $(LIBSSM_INT) -lcriterion $(VMM_LDLIBS) $(LDLIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(LIBVMMCORE) $(LIBSSM)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBVMMCORE) $(LIBSSM) $(VMM_LDLIBS) $(LDLIBS)

# Not sanitized: it tests the vmm, and an instrumented proxy would be the
# bottleneck of a make tsan run.
$(BUILD)/tests/tools/migproxy: tests/tools/migproxy.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(EXTRA_CFLAGS) -o $@ $<

$(BUILD)/bench/%: bench/%.c $(LIBSSM)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBSSM) $(LDLIBS)

-include guest/guest.mk
include bench/bench.mk
include tests/guests/guests.mk

run: deps-run all
	@scripts/run.sh

# Carry on with the guest `make run` suspended (Ctrl-C).
resume: deps-run all
	@scripts/run.sh --resume

unit: $(UNIT_BIN) $(FORGE_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

unit-bins: $(UNIT_BIN) $(FORGE_BIN)

$(FORGE_BIN): $(FORGE_OBJ)
	$(CC) $(SAN) -o $@ $(FORGE_OBJ) -lz -lzstd

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

# Builds use every core (half of a CI run was compiling one file at a
# time); each set of tests runs alone once its binaries are built.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: deps-test
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) all unit-bins
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory install-check
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) clang
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) asan
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) asan-vmm
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) fuzz FUZZ_SECONDS=8
	@scripts/conformance.py --build-only
	@scripts/run-e2e.sh $(BUILD)
	@$(MAKE) --no-print-directory e2e-kernel-irqchip KIRQ_E2E=quick
	@$(MAKE) --no-print-directory conformance-quick
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) tsan TSAN_E2E="$(TSAN_QUICK_E2E)"

# kvm-unit-tests (x86) on vmm, plain, across save/restore and across live
# migration, beside QEMU's microvm on this host: one table
# (scripts/conformance.py).  The suite is external: KUT_DIR, or
# ../shared/peers/kvm-unit-tests-1da1819e.tar.gz built once into
# build/kut/; absent, it says so and runs only our own migtest guest.
conformance: all
	@scripts/conformance.py --vmm $(BUILD)/vmm --extra migtest:$(MIGTEST)

# make test's part: vmexit_cpuid, setjmp, smptest (2 vCPUs) and migtest,
# each plain, across a save/restore and across a migration; any not
# passing fails it.
conformance-quick: all
	@CONFORMANCE_NO_QEMU=1 scripts/conformance.py --vmm $(BUILD)/vmm --quick --expect-pass \
	  --extra migtest:$(MIGTEST)

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" unit

# The vmm (and guest) under ASan+UBSan, for tests/e2e/test-forged.sh.
asan-vmm:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  build-asan/vmm build-asan/guest/kernel.elf $(MBTEST_GUESTS:$(BUILD)/%=build-asan/%) \
	  $(SMPGUEST:$(BUILD)/%=build-asan/%)

# The vmm under ThreadSanitizer (build-tsan/), running the end-to-end tests
# whose threads share the most: live migration, the handoff and live
# snapshots, and several vCPU threads (test-smp.sh).  A report makes vmm
# exit 66 (halt_on_error), which the tests see as a failure, and lib.sh's
# crashed() also spots the report.
# The instrumented vmm copies RAM ~10x slower while its guest runs ~2x
# slower, so the guests run TSAN_SLOW times as many steps (lib.sh E2E_SLOW).
TSAN_E2E := test-migrate.sh test-migrate-handoff.sh test-migrate-live-save.sh test-smp.sh
# What `make test` runs under ThreadSanitizer, to stay within its 20
# minutes: a live snapshot that resumes the guest (--continue), the
# migration thread against the main loop and the vCPU thread.  The handoff
# steps (136 s here), a whole migration (186 s) and several vCPUs (145 s)
# run in `make tsan`.
TSAN_QUICK_E2E := test-migrate-live-save.sh
# Per-run and per-file timeouts are raised to match.
TSAN_SLOW ?= 3
tsan:
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT="-O2 -g" \
	  SAN="-fsanitize=thread -fno-omit-frame-pointer" all
	@TSAN_OPTIONS="halt_on_error=1 exitcode=66 $${TSAN_OPTIONS:-}" E2E_SLOW=$(TSAN_SLOW) \
	  VMM_TIMEOUT=600 E2E_FILE_TIMEOUT=2400 E2E_ONLY="$(TSAN_E2E)" scripts/run-e2e.sh build-tsan

# Coverage-guided fuzzing (clang's libFuzzer) of every loader: one harness
# per unit, one for a whole-file restore, one for libssm alone.  They link
# the real ssm/, devices/ and vmm/ code (not main.c) built with
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (CRCs not checked, so mutations
# reach the loaders) over a fake /dev/kvm that applies KVM's checks
# (tests/fuzz/fake_kvm*.c).  Seeds are real saves (make_seeds); every input
# under tests/fuzz/regress/HARNESS/ is replayed first.  FUZZ_SECONDS is per
# harness.  See docs/security.md, "## fuzz".
.PHONY: fuzz-bins fuzz-seeds fuzz-long
FUZZ_SECONDS ?= 8
FUZZ_DIR   := build-fuzz
FUZZ_UNITS := machine cpu ram pic pit serial serial-backend fw-cfg
# Units of a --irqchip kernel machine (fuzz_unit.c, FUZZ_KERNEL_IRQCHIP).
FUZZ_KIRQ_UNITS := lapic kvm-pic ioapic kvm-pit
FUZZ_HARNESSES := $(FUZZ_UNITS) $(FUZZ_KIRQ_UNITS) restore ssm
FUZZ_CFLAGS := $(CFLAGS_BASE) -O1 -g -fno-omit-frame-pointer \
	-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fno-sanitize-recover=all
FUZZ_SAN   := -fsanitize=address,undefined
FUZZ_LIB_SRC := $(SSM_SRC) $(DEV_SRC) $(filter-out vmm/main.c,$(VMM_SRC)) \
	tests/fuzz/fake_kvm.c tests/fuzz/fake_kvm_vcpu.c tests/fuzz/fake_kvm_irqchip.c \
	tests/fuzz/fuzz_common.c
FUZZ_OBJ   := $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BINS  := $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/fuzz-%)

# The save side (writer, CRC, memory stream) is not a loader: no coverage
# instrumentation there, which would only slow every run down.
FUZZ_NOCOV := ssm/writer.c ssm/crc32.c ssm/save.c ssm/stream_mem.c
fuzz_cov = $(if $(filter $(FUZZ_NOCOV),$(1)),,-fsanitize=fuzzer-no-link)
$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(FUZZ_SAN) $(call fuzz_cov,$<) -c $< -o $@

$(FUZZ_UNITS:%=$(FUZZ_DIR)/fuzz-%): $(FUZZ_DIR)/fuzz-%: tests/fuzz/fuzz_unit.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -DFUZZ_UNIT='"$*"' -o $@ $< \
	  $(FUZZ_OBJ) $(VMM_LDLIBS) $(LDLIBS)
$(FUZZ_KIRQ_UNITS:%=$(FUZZ_DIR)/fuzz-%): $(FUZZ_DIR)/fuzz-%: tests/fuzz/fuzz_unit.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -DFUZZ_UNIT='"$*"' -DFUZZ_KERNEL_IRQCHIP \
	  -o $@ $< $(FUZZ_OBJ) $(VMM_LDLIBS) $(LDLIBS)
$(FUZZ_DIR)/fuzz-restore: tests/fuzz/fuzz_restore.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(VMM_LDLIBS) $(LDLIBS)
$(FUZZ_DIR)/fuzz-ssm: tests/fuzz/fuzz_load.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(VMM_LDLIBS) $(LDLIBS)
$(FUZZ_DIR)/make_seeds: tests/fuzz/make_seeds.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $< $(FUZZ_OBJ) $(VMM_LDLIBS) $(LDLIBS)
$(FUZZ_DIR)/make_corpus: tests/fuzz/make_corpus.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $< $(FUZZ_OBJ) $(VMM_LDLIBS) $(LDLIBS)
$(FUZZ_DIR)/wrap_unit: tests/fuzz/wrap_unit.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $< $(FUZZ_OBJ) $(VMM_LDLIBS) $(LDLIBS)
$(FUZZ_DIR)/fake_kvm_test: tests/fuzz/fake_kvm_test.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $< $(FUZZ_OBJ) $(VMM_LDLIBS) $(LDLIBS)

fuzz-bins: $(FUZZ_BINS) $(FUZZ_DIR)/make_seeds $(FUZZ_DIR)/make_corpus $(FUZZ_DIR)/wrap_unit \
	$(FUZZ_DIR)/fake_kvm_test

# The same harnesses without ASan (UBSan only), several times faster, for
# long campaigns (`make fuzz-long`); their corpus is then replayed under
# the ASan build, so memory errors on what they found are still caught.
FUZZ_FAST_OBJ  := $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/fast-obj/%.o)
FUZZ_FAST_BINS := $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/fast/fuzz-%)
$(FUZZ_DIR)/fast-obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=undefined $(call fuzz_cov,$<) -c $< -o $@
$(FUZZ_UNITS:%=$(FUZZ_DIR)/fast/fuzz-%): $(FUZZ_DIR)/fast/fuzz-%: tests/fuzz/fuzz_unit.c $(FUZZ_FAST_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=undefined,fuzzer -DFUZZ_UNIT='"$*"' -o $@ $< \
	  $(FUZZ_FAST_OBJ) $(VMM_LDLIBS) $(LDLIBS)
$(FUZZ_KIRQ_UNITS:%=$(FUZZ_DIR)/fast/fuzz-%): $(FUZZ_DIR)/fast/fuzz-%: tests/fuzz/fuzz_unit.c $(FUZZ_FAST_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=undefined,fuzzer -DFUZZ_UNIT='"$*"' -DFUZZ_KERNEL_IRQCHIP \
	  -o $@ $< $(FUZZ_FAST_OBJ) $(VMM_LDLIBS) $(LDLIBS)
$(FUZZ_DIR)/fast/fuzz-restore: tests/fuzz/fuzz_restore.c $(FUZZ_FAST_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=undefined,fuzzer -o $@ $< $(FUZZ_FAST_OBJ) $(VMM_LDLIBS) $(LDLIBS)
$(FUZZ_DIR)/fast/fuzz-ssm: tests/fuzz/fuzz_load.c $(FUZZ_FAST_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=undefined,fuzzer -o $@ $< $(FUZZ_FAST_OBJ) $(VMM_LDLIBS) $(LDLIBS)

# Seeds: the VMM's save path on the fake KVM (reset and booted guest, plain
# and live), plus FUZZ_STATE_FILES: saves by the real vmm on /dev/kvm (by
# default the golden files).
FUZZ_STATE_FILES ?= $(wildcard tests/data/*.sav)
fuzz-seeds: fuzz-bins $(GUEST)
	@rm -rf $(FUZZ_DIR)/seeds && mkdir -p $(FUZZ_DIR)/seeds/ssm
	@$(FUZZ_DIR)/make_seeds $(GUEST) $(FUZZ_DIR)/seeds $(FUZZ_STATE_FILES)
	@$(FUZZ_DIR)/make_corpus $(FUZZ_DIR)/seeds/ssm

fuzz: deps-test fuzz-seeds
	@$(FUZZ_DIR)/fake_kvm_test
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

# Outside CI: FUZZ_ROUNDS rounds of FUZZ_SLICE seconds per harness, one
# harness at a time, nice'd; then the corpora replayed under ASan.
FUZZ_ROUNDS ?= 4
FUZZ_SLICE  ?= 300
fuzz-long: fuzz-seeds $(FUZZ_FAST_BINS)
	@tests/fuzz/long-fuzz.sh $(FUZZ_DIR) $(FUZZ_ROUNDS) $(FUZZ_SLICE) $(FUZZ_HARNESSES)

bench: deps-bench all $(BENCH_BIN) $(BENCH_GUEST)
	@scripts/run-bench.sh $(BUILD)

# `make install` (PREFIX, DESTDIR and the *DIR below may be overridden).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PCDIR      ?= $(LIBDIR)/pkgconfig
DESTDIR    ?=
INSTALL    ?= install
# ssm.pc names directories under the prefix as ${prefix}/..., so that
# pkg-config --define-prefix can relocate them.
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
INSTALLED := $(BINDIR)/vmm $(LIBDIR)/libssm.a $(LIBDIR)/libssm.so.$(SSM_VERSION) \
	$(LIBDIR)/libssm.so.$(SSM_MAJOR) $(LIBDIR)/libssm.so $(INCLUDEDIR)/ssm/ssm.h \
	$(PCDIR)/ssm.pc $(MANDIR)/man1/vmm.1 $(MANDIR)/man3/libssm.3

install: $(VMM_BIN) $(LIBSSM) $(LIBSSM_SO)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/ssm \
	  $(DESTDIR)$(PCDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	$(INSTALL) -m 755 $(VMM_BIN) $(DESTDIR)$(BINDIR)/vmm
	$(INSTALL) -m 644 $(LIBSSM) $(DESTDIR)$(LIBDIR)/libssm.a
	$(INSTALL) -m 755 $(LIBSSM_SO) $(DESTDIR)$(LIBDIR)/libssm.so.$(SSM_VERSION)
	ln -sf libssm.so.$(SSM_VERSION) $(DESTDIR)$(LIBDIR)/libssm.so.$(SSM_MAJOR)
	ln -sf libssm.so.$(SSM_MAJOR) $(DESTDIR)$(LIBDIR)/libssm.so
	$(INSTALL) -m 644 ssm/ssm.h $(DESTDIR)$(INCLUDEDIR)/ssm/ssm.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call pc_dir,$(LIBDIR))|' \
	  -e 's|@INCLUDEDIR@|$(call pc_dir,$(INCLUDEDIR))|' -e 's|@VERSION@|$(SSM_VERSION)|' \
	  ssm.pc.in >$(DESTDIR)$(PCDIR)/ssm.pc
	$(INSTALL) -m 644 docs/vmm.1 $(DESTDIR)$(MANDIR)/man1/vmm.1
	$(INSTALL) -m 644 docs/libssm.3 $(DESTDIR)$(MANDIR)/man3/libssm.3

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/ssm 2>/dev/null

# docs/examples/*.c built against an install into STAGE, through pkg-config
# only (the way a user of the installed library builds), linked once against
# libssm.so and once against libssm.a (Libs.private), and run.
STAGE       := $(abspath $(BUILD)/stage)
STAGE_PC     = PKG_CONFIG_SYSROOT_DIR=$(STAGE) PKG_CONFIG_LIBDIR=$(STAGE)/usr/lib/pkgconfig \
	       pkg-config
EXAMPLE_SRC := $(sort $(wildcard docs/examples/*.c))
EXAMPLE_BIN := $(EXAMPLE_SRC:docs/examples/%.c=$(BUILD)/examples/%)
# Not CFLAGS_BASE: its -I. would find the tree's ssm.h, not the installed one.
EXAMPLE_CFLAGS := -std=c11 -O2 -g $(WARN)
examples: deps-test
	rm -rf $(STAGE) $(BUILD)/examples && mkdir -p $(BUILD)/examples
	@$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr
	@set -e; for b in $(EXAMPLE_BIN); do src=docs/examples/$${b##*/}.c; \
	  $(CC) $(EXAMPLE_CFLAGS) $$($(STAGE_PC) --cflags ssm) -o $$b $$src $$($(STAGE_PC) --libs ssm); \
	  $(CC) $(EXAMPLE_CFLAGS) $$($(STAGE_PC) --cflags ssm) -o $$b-static $$src \
	    $$($(STAGE_PC) --static --libs ssm | sed 's/-lssm/-l:libssm.a/'); \
	  LD_LIBRARY_PATH=$(STAGE)/usr/lib $$b && $$b-static; done

# What `make test` checks of the install: the example above, the installed
# files, the exported symbols, and an uninstall that leaves nothing behind.
install-check: examples
	@scripts/check-install.sh $(STAGE) /usr ssm/ssm.h $(EXAMPLE_BIN)
	@$(MAKE) --no-print-directory uninstall DESTDIR=$(STAGE) PREFIX=/usr >/dev/null
	@left=$$(find $(STAGE) ! -type d); [ -z "$$left" ] || \
	  { echo "install-check: uninstall left: $$left" >&2; exit 1; }
	@echo "install-check: install, pkg-config example, exports and uninstall OK"

clean:
	rm -rf build build-asan build-clang build-fuzz build-tsan

-include $(shell find $(BUILD) $(FUZZ_DIR) -name '*.d' 2>/dev/null)

# The save/restore/migration e2e files again with every fresh boot on KVM's
# in-kernel interrupt controllers (--irqchip kernel; run-e2e.sh
# E2E_IRQCHIP).  The quick set (about 2 minutes here) goes into `make
# test`; KIRQ_E2E=all (or a list) for the whole save/restore/migration set.
KIRQ_QUICK_E2E := test-continuity.sh test-state-files.sh test-pit-snapshot.sh \
                  test-migrate-live-save.sh test-timer-serial.sh test-multiboot.sh
KIRQ_ALL_E2E := $(KIRQ_QUICK_E2E) test-migrate.sh test-migrate-fail.sh \
                test-migrate-handoff.sh test-migrate-trace.sh test-dirty-log.sh \
                test-incremental.sh test-stream.sh test-tls.sh test-bigmem.sh test-mapped.sh \
                test-chain.sh test-signals.sh test-crash-save.sh test-save-errors.sh \
                test-monitor.sh test-zstd.sh test-cpu-state.sh test-trace.sh test-inspect.sh \
                test-host-input.sh test-golden.sh
KIRQ_E2E ?= quick
.PHONY: e2e-kernel-irqchip
e2e-kernel-irqchip: all unit-bins
	@E2E_IRQCHIP=kernel E2E_ONLY="$(if $(filter quick,$(KIRQ_E2E)),$(KIRQ_QUICK_E2E),$(if $(filter all,$(KIRQ_E2E)),$(KIRQ_ALL_E2E),$(KIRQ_E2E)))" \
	  scripts/run-e2e.sh $(BUILD)
