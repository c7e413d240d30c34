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
# exits 1).
# The driver is bench/lib/vmm_bench.py (see its header for the method).
# Exit status: 0 if every figure could be measured (a FAIL target is not an
# error), 1 otherwise.  Scratch files live in SSM_BENCH_DIR and are removed.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-${SSM_BUILD:-build}}
case $build in /*) ;; *) build=$PWD/$build ;; esac
tmp_root=${SSM_BENCH_DIR:-$build/bench-tmp}

fail() { echo "vmm_bench: $*" >&2; exit 1; }
[ -x "$build/vmm" ] || fail "$build/vmm not built (make all)"
[ -f "$build/guest/kernel.elf" ] || fail "$build/guest/kernel.elf not built (make all)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || fail "/dev/kvm is not usable here: cannot run guests"
command -v python3 >/dev/null || fail "python3 not found (scripts/deps.sh bench installs it)"
if [ "${VMM_BENCH_NO_QEMU:-0}" != 1 ]; then
  [ -f "$build/bench-guest/tickguest.bin" ] || fail "$build/bench-guest/tickguest.bin not built (make bench)"
  command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not found (scripts/deps.sh bench installs it)"
fi

mkdir -p "$tmp_root" || exit 1
scratch=$(mktemp -d "$tmp_root/vmm_bench.XXXXXX") || exit 1
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
[ "${VMM_BENCH_NO_QEMU:-0}" = 1 ] && extra+=(--no-qemu)
PYTHONDONTWRITEBYTECODE=1 python3 bench/lib/vmm_bench.py --build "$build" --scratch "$scratch" "${extra[@]}" &
pid=$!
wait "$pid"
rc=$?
pid=
exit $rc
