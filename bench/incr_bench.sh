#!/usr/bin/env bash
# incr_bench.sh - incremental snapshots (vmm --save F --continue
# --incremental): a 1 GiB guest whose churn area is 5 % of its RAM (51 MiB,
# rewritten over and over) takes a full base, then INCR_BENCH_REPS children
# (default 3), each after the guest has gone round its area at least once
# more; per child: its dirty pages, its file size against the dirty bytes
# (target <= 1.05x) and the guest's pause (target <= 2 ms), in both modes:
# foreground (the guest waits for the whole write + fsync) and
# point-in-time (--background: it waits only for the log read and the
# fork); then the time `vmm --restore` of the last child takes to map the
# base and lay the children over it.
# Run by `make bench` (scripts/run-bench.sh); alone:
#   bash bench/incr_bench.sh [BUILD_DIR]
# Knobs: INCR_BENCH_REPS (3), INCR_BENCH_MEM (1G), INCR_BENCH_AREA (51M).
# Exit 0 if everything was measured (a missed target is not an error).
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-${SSM_BUILD:-build}}
case $build in /*) ;; *) build=$PWD/$build ;; esac
tmp_root=${SSM_BENCH_DIR:-$build/bench-tmp}
reps=${INCR_BENCH_REPS:-3}
mem=${INCR_BENCH_MEM:-1G}
area=${INCR_BENCH_AREA:-51M}

. bench/lib/guest_script.sh incr_bench
last_step() { grep -aoE '^step [0-9]+ ' "$dir/a.txt" 2>/dev/null | tail -n1 | awk '{ n = $2 } END { print n + 0 }'; }
# until_step SECONDS N: the guest has printed step N.
until_step() {
  local end=$(( $(date +%s) + $1 ))
  while [ "$(last_step)" -lt "$2" ]; do
    [ "$(date +%s)" -lt "$end" ] && kill -0 "$vpid" 2>/dev/null || return 1
    sleep 0.02
  done
}
# until_saved SECONDS FILE: stderr says FILE was saved.
until_saved() {
  local end=$(( $(date +%s) + $1 ))
  until grep -q "^vmm: saved to $2 in " "$dir/err" 2>/dev/null; do
    [ "$(date +%s)" -lt "$end" ] && kill -0 "$vpid" 2>/dev/null || return 1
    sleep 0.02
  done
}

run_mode() {
  local label=$1 round at k line pages secs size du_k base t0 t1 r failed=0
  shift
  # Steps for one round of the area at 128 pages a step, plus margin.
  round=$(( $(mib "$area") * 256 / 128 + 20 ))
  rm -f "$dir"/f "$dir"/f.* "$dir"/a.txt "$dir"/err "$dir"/r
  "$build/vmm" --kernel "$build/guest/kernel.elf" --mem "$mem" --cmdline "mem=$area" \
    --serial "file:$dir/a.txt" --save "$dir/f" --continue --incremental "$@" \
    </dev/null >/dev/null 2>"$dir/err" &
  vpid=$!
  until_step 120 "$round" || { echo "incr_bench: the guest never filled its area (step $round)" >&2; return 1; }
  kill -TERM "$vpid"
  until_saved 60 "$dir/f" || { echo "incr_bench: no base save: $(tail -n2 "$dir/err")" >&2; return 1; }
  echo "incremental snapshots, $label: $mem guest, churn area $area ($(awk -v a="$(mib "$area")" -v m="$(mib "$mem")" 'BEGIN { printf "%.1f", 100 * a / m }') % of RAM) rewritten between saves"
  printf '%-6s %-12s %-12s %-12s %-8s %-10s %s\n' file dirty_MiB file_MiB du_MiB ratio pause_ms targets
  failed=0
  for k in $(seq 1 "$reps"); do
    at=$(( $(last_step) + round ))
    until_step 120 "$at" || { echo "incr_bench: the guest stalled before child $k" >&2; failed=1; break; }
    kill -TERM "$vpid"
    until_saved 60 "$dir/f.$k" || { echo "incr_bench: no child $k: $(tail -n2 "$dir/err")" >&2; failed=1; break; }
    line=$(grep "^vmm: saved to $dir/f.$k in " "$dir/err")
    pages=$(echo "$line" | sed -nE 's/.*incremental: ([0-9]+) dirty pages.*/\1/p')
    # The pause: a point-in-time save says it; a foreground one is all of it.
    secs=$(echo "$line" | sed -nE 's/.*guest paused ([0-9.]+) ms.*/\1/p' | awk '{ print $1 / 1000 }')
    [ -n "$secs" ] || secs=$(echo "$line" | sed -nE 's/.* in ([0-9.]+) s .*/\1/p')
    [ -n "$pages" ] && [ -n "$secs" ] || { echo "incr_bench: child $k not incremental: $line" >&2; failed=1; break; }
    size=$(stat -c %s "$dir/f.$k")
    du_k=$(du -k "$dir/f.$k" | awk '{print $1}')
    awk -v p="$pages" -v s="$size" -v d="$du_k" -v t="$secs" -v k="$k" 'BEGIN {
      r = s / (p * 4096); ms = t * 1000
      printf "%-6s %-12.1f %-12.1f %-12.1f %-8.3f %-10.1f size %s, pause %s\n", "f." k,
        p * 4096 / 1048576, s / 1048576, d / 1024, r, ms,
        (r <= 1.05 ? "ok" : "MISSED"), (ms <= 2 ? "ok" : "MISSED") }'
  done
  kill -QUIT "$vpid" 2>/dev/null
  wait "$vpid" 2>/dev/null
  vpid=
  if [ "$failed" -eq 0 ]; then
    base=$(stat -c %s "$dir/f")
    printf 'base f: %.1f MiB (du %.1f MiB)\n' "$(echo "$base / 1048576" | bc -l)" \
      "$(du -k "$dir/f" | awk '{print $1 / 1024}')"
    t0=$(date +%s%N)
    "$build/vmm" --restore "$dir/f.$reps" --serial "file:$dir/b.txt" --save-after 1ms \
      --save "$dir/r" </dev/null >/dev/null 2>"$dir/rerr"
    t1=$(date +%s%N)
    r=$(sed -nE 's/^vmm: restored from .* in ([0-9.]+) s.*/\1/p' "$dir/rerr")
    if [ -n "$r" ]; then
      echo "restore of the chain (base + $reps children, no merge): $(awk -v r="$r" 'BEGIN { printf "%.1f", r * 1000 }') ms to load (whole vmm run incl. a save: $(( (t1 - t0) / 1000000 )) ms)"
    else
      echo "incr_bench: the chain did not restore: $(tail -n2 "$dir/rerr")" >&2
      failed=1
    fi
  fi
  return "$failed"
}

status=0
run_mode "foreground (the guest waits for the write)" || status=1
run_mode "point-in-time (--background)" --background || status=1
exit "$status"
