# shellcheck shell=bash
# driver.sh - what the wrappers of the Python-driven VMM benchmarks share
# (sourced by bench/vmm_bench.sh and bench/table.sh): the checks, a scratch
# directory under SSM_BENCH_DIR that is removed on exit, and the driver run
# so that a signal to the wrapper stops it (and every vmm and QEMU it
# started) before the scratch directory goes.
#
# bench_driver NAME DRIVER NO_QEMU [BUILD_DIR]: run bench/lib/DRIVER with
# --build and --scratch (and --no-qemu if NO_QEMU is 1) -> its exit status.
bench_driver() {
  local name=$1 driver=$2 no_qemu=$3 build=${4:-${SSM_BUILD:-build}} tmp_root rc
  local extra=()
  case $build in /*) ;; *) build=$PWD/$build ;; esac
  tmp_root=${SSM_BENCH_DIR:-$build/bench-tmp}
  [ -x "$build/vmm" ] || { echo "$name: $build/vmm not built (make all)" >&2; return 1; }
  [ -f "$build/guest/kernel.elf" ] || { echo "$name: $build/guest/kernel.elf not built (make all)" >&2; return 1; }
  if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    echo "$name: /dev/kvm is not usable here: cannot run guests" >&2; return 1
  fi
  command -v python3 >/dev/null || { echo "$name: python3 not found (scripts/deps.sh bench installs it)" >&2; return 1; }
  if [ "$no_qemu" = 1 ]; then
    extra+=(--no-qemu)
  else
    [ -f "$build/bench-guest/tickguest.bin" ] ||
      { echo "$name: $build/bench-guest/tickguest.bin not built (make bench)" >&2; return 1; }
    command -v qemu-system-x86_64 >/dev/null ||
      { echo "$name: qemu-system-x86_64 not found (scripts/deps.sh bench installs it)" >&2; return 1; }
  fi
  mkdir -p "$tmp_root" || return 1
  bench_scratch=$(mktemp -d "$tmp_root/$name.XXXXXX") || return 1
  bench_pid=
  trap bench_driver_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  PYTHONDONTWRITEBYTECODE=1 python3 "bench/lib/$driver" --build "$build" --scratch "$bench_scratch" \
    "${extra[@]}" &
  bench_pid=$!
  wait "$bench_pid"
  rc=$?
  bench_pid=
  return $rc
}

bench_driver_cleanup() {
  if [ -n "$bench_pid" ]; then
    kill -TERM "$bench_pid" 2>/dev/null   # the driver stops every vmm and QEMU it started
    wait "$bench_pid" 2>/dev/null
  fi
  rm -rf "$bench_scratch"
}
