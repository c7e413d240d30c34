#!/usr/bin/env bash
# pit_bench.sh - point-in-time snapshots (vmm --save F --continue
# --background): the guest-visible pause, the time until the file is
# durable against a same-run write+fsync of as many bytes (dd conv=fsync),
# and how much slower the guest runs while the file is written.
# Guests: 1 GiB with 512 MiB filled and 8 GiB with 1 GiB filled (a build
# whose vmm refuses --mem 8G measures 3 GiB instead, and says so).  Each
# guest takes PIT_BENCH_REPS snapshots (default 3), one after the other.
# Run by `make bench` (scripts/run-bench.sh); alone:
#   bash bench/pit_bench.sh [BUILD_DIR]
# Knobs: PIT_BENCH_REPS (3), PIT_BENCH_SIZES ("1G:512M 8G:1G", SIZE:FILLED).
# Targets (issue 8): pause <= 2 ms at 1 GiB, <= 5 ms at 8 GiB; durable
# within 1.2x of write+fsync.  Exit 0 if everything was measured (a missed
# target is not an error).  Scratch files live in SSM_BENCH_DIR, removed.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-${SSM_BUILD:-build}}
case $build in /*) ;; *) build=$PWD/$build ;; esac
tmp_root=${SSM_BENCH_DIR:-$build/bench-tmp}
reps=${PIT_BENCH_REPS:-3}
sizes=${PIT_BENCH_SIZES:-"1G:512M 8G:1G"}

. bench/lib/guest_script.sh pit_bench
now() { date +%s.%N; }
last_step() { grep -aoE '^step [0-9]+ ' "$dir/a.txt" 2>/dev/null | tail -n1 | awk '{ n = $2 } END { print n + 0 }'; }
count() { grep -cE "$1" "$dir/err" 2>/dev/null; }
# wait_for SECONDS REGEX N: until stderr has more than N matching lines.
wait_for() {
  local end
  end=$(( $(date +%s) + $1 ))
  while [ "$(count "$2")" -le "$3" ]; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    kill -0 "$vpid" 2>/dev/null || return 1
    sleep 0.02
  done
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# dd_fsync BYTES: seconds to write and fsync BYTES (rounded up to MiB).
dd_fsync() {
  local t0
  t0=$(now)
  dd if=/dev/zero of="$dir/dd.out" bs=1M count=$(( ($1 + 1048575) / 1048576 )) conv=fsync status=none
  awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'
  rm -f "$dir/dd.out"
}

failed=0
echo "point-in-time snapshots ($reps per guest); pause = guest stopped (vCPU stop + CPU read + fork)"
printf '%-22s %-24s %-10s %-16s %-8s %-12s %s\n' guest "pause ms (median, max)" durable_s "dd_fsync_s (idle)" ratio "guest_speed" targets
for spec in $sizes; do
  size=${spec%%:*} fill=${spec#*:} note=''
  "$build/vmm" --kernel "$build/guest/kernel.elf" --mem "$size" --cmdline steps=1 \
    --serial none </dev/null >/dev/null 2>&1
  if [ $? -eq 2 ]; then
    note=" (vmm refuses --mem $size; measured 3G)"
    size=3G
  fi
  rm -f "$dir"/a.txt "$dir"/err "$dir"/s.sav
  # The guest churns FILL: every page of it is non-zero once it has gone
  # round once (128 pages a step).
  fill_steps=$(( $(mib "$fill") * 256 / 128 ))
  "$build/vmm" --kernel "$build/guest/kernel.elf" --mem "$size" \
    --cmdline "mem=$fill" --serial "file:$dir/a.txt" --save "$dir/s.sav" \
    --continue --background </dev/null >/dev/null 2>"$dir/err" &
  vpid=$!
  end=$(( $(date +%s) + 300 ))
  while [ "$(last_step)" -lt "$fill_steps" ]; do
    [ "$(date +%s)" -lt "$end" ] && kill -0 "$vpid" 2>/dev/null ||
      { echo "pit_bench: $size guest did not fill $fill (step $(last_step) of $fill_steps)" >&2; failed=1; break; }
    sleep 0.2
  done
  [ $failed -eq 0 ] || break
  pauses=() durs=() speeds=() stops=() forks=()
  for _ in $(seq 1 "$reps"); do
    s0=$(last_step); t0=$(now); sleep 1; s1=$(last_step); t1=$(now)
    n_taken=$(count 'point-in-time snapshot for .* taken') n_done=$(count '^vmm: (saved to|saving to)')
    kill -TERM "$vpid"
    wait_for 20 'point-in-time snapshot for .* taken' "$n_taken" || { failed=1; break; }
    s2=$(last_step); t2=$(now)
    wait_for 600 '^vmm: (saved to|saving to)' "$n_done" || { failed=1; break; }
    s3=$(last_step); t3=$(now)
    grep -q '^vmm: saving to' "$dir/err" && { tail -n1 "$dir/err" >&2; failed=1; break; }
    pauses+=("$(grep -oE 'guest paused [0-9.]+ ms \(' "$dir/err" | tail -n1 | awk '{print $3}')")
    stops+=("$(grep -oE 'vCPU stop [0-9.]+' "$dir/err" | tail -n1 | awk '{print $3}')")
    forks+=("$(grep -oE ', fork [0-9.]+\)' "$dir/err" | tail -n1 | tr -d ')' | awk '{print $3}')")
    durs+=("$(grep -E '^vmm: saved to ' "$dir/err" | tail -n1 | sed -E 's/.* in ([0-9.]+) s \(point-in-time.*/\1/')")
    # Steps per second while the file was written, over the second before.
    speeds+=("$(awk -v a="$s0" -v b="$s1" -v ta="$t0" -v tb="$t1" -v c="$s2" -v d="$s3" \
      -v tc="$t2" -v td="$t3" 'BEGIN { before = (b - a) / (tb - ta); during = (d - c) / (td - tc);
      printf "%.2f", (before > 0 ? during / before : 0) }')")
  done
  [ $failed -eq 0 ] || { echo "pit_bench: a snapshot of the $size guest failed:" >&2; tail -n3 "$dir/err" >&2; break; }
  bytes=$(stat -c %s "$dir/s.sav")
  # The floor: the same number of bytes written and fsynced to the same
  # disk, once while the guest still runs (what the writer competes with
  # for the CPU) and once with it gone.
  td=$(dd_fsync "$bytes")
  kill -QUIT "$vpid" 2>/dev/null; wait "$vpid" 2>/dev/null; vpid=
  td_idle=$(dd_fsync "$bytes")
  rm -f "$dir/s.sav"
  printf '%s\n' "${pauses[@]}" | sort -n >"$dir/p"
  med=$(awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' "$dir/p")
  max=$(tail -n1 "$dir/p")
  dur=$(median "${durs[@]}")
  speed=$(median "${speeds[@]}")
  ratio=$(awk -v a="$dur" -v b="$td" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  limit=$([ "$size" = 1G ] && echo 2 || echo 5)
  verdict=$(awk -v p="$med" -v l="$limit" -v r="$ratio" 'BEGIN {
    printf "pause<=%sms %s, durable<=1.2x %s", l, p <= l ? "ok" : "MISSED", r <= 1.2 ? "ok" : "MISSED" }')
  printf '%-22s %-24s %-10s %-16s %-8s %-12s %s\n' "$size ($fill filled)" "$med, $max" "$dur" "$td ($td_idle)" "$ratio" \
    "${speed}x" "$verdict$note"
  echo "    pauses: ${pauses[*]} ms; medians: vCPU stop $(median "${stops[@]}") ms, fork $(median "${forks[@]}") ms"
done
echo "(durable_s: request to 'saved to' line, file fsynced and renamed, median; dd_fsync_s: dd"
echo " conv=fsync of the file's size right after, the guest still running (then with it gone);"
echo " ratio: durable_s / dd_fsync_s; guest_speed: guest steps/s while the file was written / before)"
exit $failed
