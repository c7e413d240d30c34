#!/usr/bin/env bash
# Run every benchmark and print its figures.  Usage:
#   scripts/run-bench.sh [BUILD_DIR] [NAME_GLOB...]
# BUILD_DIR defaults to build.  Runs, in this order:
#   1. every executable BUILD_DIR/bench/*   (built by the Makefile from bench/*.c)
#   2. every bench/*.sh                     (with bash)
#   3. every bench/*.py                     (with python3, skipped if there is none)
# NAME_GLOBs (e.g. 'ssm_*' or 'vmm_*') keep only the benchmarks whose file name
# matches one of them.  To add a benchmark (e.g. for the VMM), drop a .c, .sh
# or .py file into bench/: nothing here needs to change.
#
# What a benchmark gets:
#   argv[1]        the build directory, for scripts (.sh/.py) only; programs
#                  get no arguments and must work with their defaults
#   SSM_BUILD      the build directory (absolute)
#   SSM_BENCH_DIR  a scratch directory on the real disk, BUILD_DIR/bench-tmp;
#                  put files there and delete them when done
#   cwd            the repository root
# A benchmark prints its own figures; a non-zero exit status means it could
# not measure (not that a target was missed) and makes this script fail
# after all benchmarks have run.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-build}
shift $(( $# > 0 ? 1 : 0 ))
filters=("$@")

case $build in /*) ;; *) build=$PWD/$build ;; esac
export SSM_BUILD=$build
export SSM_BENCH_DIR=$build/bench-tmp
mkdir -p "$SSM_BENCH_DIR" || exit 1

wanted() {
  local name=$1 f
  [ ${#filters[@]} -eq 0 ] && return 0
  for f in "${filters[@]}"; do
    # shellcheck disable=SC2053  # glob match on purpose
    [[ $name == $f ]] && return 0
  done
  return 1
}

benches=()
for f in "$build"/bench/*; do
  [ -f "$f" ] && [ -x "$f" ] && benches+=("$f")
done
for f in bench/*.sh bench/*.py; do
  [ -f "$f" ] && benches+=("$f")
done

ran=0; failed=(); skipped=()
for b in "${benches[@]}"; do
  name=$(basename "$b")
  wanted "$name" || continue
  case $b in
    *.sh) cmd=(bash "$b" "$build") ;;
    *.py)
      if ! command -v python3 >/dev/null; then skipped+=("$name (no python3)"); continue; fi
      cmd=(python3 "$b" "$build") ;;
    *) cmd=("$b") ;;
  esac
  echo "=== bench: $name ($(date '+%Y-%m-%d %H:%M:%S'))"
  start=$(date +%s)
  "${cmd[@]}"; rc=$?
  echo "=== bench: $name exit $rc after $(( $(date +%s) - start )) s"
  echo
  ran=$((ran + 1))
  [ $rc -eq 0 ] || failed+=("$name")
done

rmdir "$SSM_BENCH_DIR" 2>/dev/null   # left only if a benchmark left files behind
[ ${#skipped[@]} -eq 0 ] || echo "bench: skipped: ${skipped[*]}"
echo "bench: $ran ran, ${#failed[@]} failed${failed:+: ${failed[*]}}"
[ $ran -gt 0 ] || { echo "bench: no benchmark found under $build/bench or bench/" >&2; exit 1; }
[ ${#failed[@]} -eq 0 ]
