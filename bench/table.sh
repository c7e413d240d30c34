#!/usr/bin/env bash
# table.sh - the issue-8 snapshot table: 256M, 1G, 4G and 8G guests (8G
# partly filled: 1 GiB), 0 % and 50 % filled; per row the guest-visible
# pause of a save (ours: point-in-time), the time until the file is
# durable, its size on disk (du) and restore spawn -> first guest line,
# ours and QEMU's in the same run with ratios, and the same-run limits
# (write+fsync of the file's non-zero bytes, mmap of the file), with the
# issue's targets marked PASS/FAIL.  QEMU boots bench/guest/tickguest.S
# (built by `make bench`).  The driver is bench/lib/table.py (see its
# header for the method).  Run by `make bench` (scripts/run-bench.sh); alone:
#   bash bench/table.sh [BUILD_DIR]
# Knobs (environment): TABLE_SIZES ("256M 1G 4G 8G"), TABLE_FILLS ("0 50",
# percent of RAM; above 4G at most 1 GiB), TABLE_REPS (1 save per cell and
# VMM), TABLE_RESTORE_REPS (5 restores of ours), TABLE_SETTLE (1 s idle
# before each guest), TABLE_NO_QEMU=1 (ours only), TABLE_GUEST=tickguest (ours
# boots tickguest too, with --irqchip kernel).
# A short run: TABLE_SIZES="256M 1G" TABLE_RESTORE_REPS=3 bash bench/table.sh
# Exit status: 0 if every figure could be measured (a FAIL target is not an
# error), 1 otherwise.  Scratch files live in SSM_BENCH_DIR and are removed.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib/driver.sh
bench_driver table table.py "${TABLE_NO_QEMU:-0}" "${1:-}"
