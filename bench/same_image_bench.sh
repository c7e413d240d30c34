#!/usr/bin/env bash
# same_image_bench.sh - the same-image bench (issue 9.8): our vmm and QEMU
# boot the same multiboot guest image, bench/guest/tickguest.S (built by
# `make bench`), and are measured in the same run on save (stop-and-save,
# and ours point-in-time), restore (spawn -> first tick) and live migration
# with the guest dirtying (total time, downtime, the tick gap the guest
# shows, bytes), tick continuity checked on both sides; one table with ours,
# QEMU's and QEMU/ours per figure.  The driver is bench/lib/same_image.py
# (see its header for the method).  Run by `make bench`
# (scripts/run-bench.sh); alone:
#   bash bench/same_image_bench.sh [BUILD_DIR]
# The peer baseline's own guest instead: bench/same_image_miniguest.sh.
# Knobs (environment): SAME_IMAGE_SIZES ("256 1024", MiB of RAM),
# SAME_IMAGE_FILLS ("0 50", percent of RAM filled), SAME_IMAGE_PIT_REPS (1
# point-in-time snapshot per cell and VMM), SAME_IMAGE_LIVE
# ("1024:50:64 1024:50:max": RAM MiB:fill %:dirty, dirty = none, max or
# MiB/s), SAME_IMAGE_REPS (3), SAME_IMAGE_SETTLE (3 s idle before each
# run), SAME_IMAGE_WINDOW (2 s of dirtying before our migration starts),
# SAME_IMAGE_VMM_ARGS ("--irqchip kernel": ours at boot),
# SAME_IMAGE_VMM_RESTORE_ARGS ("": ours at --restore and --incoming),
# SAME_IMAGE_NO_QEMU=1 (ours
# only), BENCH_QUICK=1 (256 MiB half filled, live 256:50:max, one rep).
# Exit status: 0 if every figure could be measured, 1 otherwise.  Scratch
# files live in SSM_BENCH_DIR and are removed.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib/driver.sh
bench_driver same_image same_image.py "${SAME_IMAGE_NO_QEMU:-0}" "${1:-}"
