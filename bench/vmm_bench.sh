#!/usr/bin/env bash
# vmm_bench.sh - the VMM benchmark: boot and save/restore to a file (256M
# and 1G guests) and live migration over loopback TCP (1G guest at ~1, 50
# and ~500 MB/s dirty rates), ours and QEMU's measured in the same run,
# printed as ours/QEMU ratios with the issue-4 targets.  QEMU boots the
# project's multiboot guest, bench/guest/tickguest.S (built by `make bench`
# into BUILD_DIR/bench-guest/); bench/lib/qemu_peer.py drives it.  Run by
# `make bench` (scripts/run-bench.sh); alone:
#   bash bench/vmm_bench.sh [BUILD_DIR]
# Knobs (environment): BENCH_QUICK=1 (256M guests only, one rep: a smoke
# run), VMM_BENCH_REPS (3), VMM_BENCH_SETTLE (3 s of idle before every
# boot/restore/live run, both sides), VMM_BENCH_NO_QEMU=1 (ours only; then
# exits 1), VMM_BENCH_GUEST=tickguest (ours boots tickguest too, with
# --irqchip kernel; see bench/lib/vmm_bench.py).
# The driver is bench/lib/vmm_bench.py (see its header for the method),
# run by bench/lib/driver.sh.
# Exit status: 0 if every figure could be measured (a FAIL target is not an
# error), 1 otherwise.  Scratch files live in SSM_BENCH_DIR and are removed.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib/driver.sh
bench_driver vmm_bench vmm_bench.py "${VMM_BENCH_NO_QEMU:-0}" "${1:-}"
