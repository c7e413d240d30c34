#!/usr/bin/env bash
# restore_bench.sh - vmm --restore, spawn -> first guest line, at 256M, 1G,
# 4G and 8G (8G: 1G filled, the others half), RAM mapped from the file vs
# read (the version-1 layout), with same-run baselines: spawn of the vmm
# alone, mmap of the file, cat of it.  Method: bench/lib/restore_bench.py.
# Run by `make bench` (scripts/run-bench.sh); alone:
#   bash bench/restore_bench.sh [BUILD_DIR]
# Knobs (environment): BENCH_QUICK=1 (256M and 1G, one rep),
# RESTORE_BENCH_SIZES ("256M 1G 4G 8G"), RESTORE_BENCH_REPS (5),
# RESTORE_BENCH_READ_MAX (1G: largest size also restored from the v1 layout).
# Exit status: 0 if every size the vmm accepts was measured (a missed target
# is not an error), 1 otherwise.  Scratch files live in SSM_BENCH_DIR.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-${SSM_BUILD:-build}}
case $build in /*) ;; *) build=$PWD/$build ;; esac
tmp_root=${SSM_BENCH_DIR:-$build/bench-tmp}

fail() { echo "restore_bench: $*" >&2; exit 1; }
[ -x "$build/vmm" ] || fail "$build/vmm not built (make all)"
[ -x "$build/tests/tools/ssm_units" ] || fail "$build/tests/tools/ssm_units not built (make all)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || fail "/dev/kvm is not usable here: cannot run guests"
command -v python3 >/dev/null || fail "python3 not found (scripts/deps.sh bench installs it)"

mkdir -p "$tmp_root" || exit 1
scratch=$(mktemp -d "$tmp_root/restore_bench.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
PYTHONDONTWRITEBYTECODE=1 python3 bench/lib/restore_bench.py --build "$build" --scratch "$scratch"
