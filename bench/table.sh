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
# before each guest), TABLE_NO_QEMU=1 (ours only; then exits 1).
# A short run: TABLE_SIZES="256M 1G" TABLE_RESTORE_REPS=3 bash bench/table.sh
# Exit status: 0 if every figure could be measured (a FAIL target is not an
# error), 1 otherwise.  Scratch files live in SSM_BENCH_DIR and are removed.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-${SSM_BUILD:-build}}
case $build in /*) ;; *) build=$PWD/$build ;; esac
tmp_root=${SSM_BENCH_DIR:-$build/bench-tmp}

fail() { echo "table: $*" >&2; exit 1; }
[ -x "$build/vmm" ] || fail "$build/vmm not built (make all)"
[ -f "$build/guest/kernel.elf" ] || fail "$build/guest/kernel.elf not built (make all)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || fail "/dev/kvm is not usable here: cannot run guests"
command -v python3 >/dev/null || fail "python3 not found (scripts/deps.sh bench installs it)"
if [ "${TABLE_NO_QEMU:-0}" != 1 ]; then
  [ -f "$build/bench-guest/tickguest.bin" ] || fail "$build/bench-guest/tickguest.bin not built (make bench)"
  command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not found (scripts/deps.sh bench installs it)"
fi

mkdir -p "$tmp_root" || exit 1
scratch=$(mktemp -d "$tmp_root/table.XXXXXX") || exit 1
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null   # the driver stops every vmm and QEMU it started
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

extra=()
[ "${TABLE_NO_QEMU:-0}" = 1 ] && extra+=(--no-qemu)
PYTHONDONTWRITEBYTECODE=1 python3 bench/lib/table.py --build "$build" --scratch "$scratch" "${extra[@]}" &
pid=$!
wait "$pid"
rc=$?
pid=
exit $rc
