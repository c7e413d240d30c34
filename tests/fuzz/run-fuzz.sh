#!/bin/sh
# run-fuzz.sh DIR SECONDS HARNESS... - for each harness: replay every input
# under tests/fuzz/regress/HARNESS/ (fixed findings), then fuzz for SECONDS
# from DIR/corpus/HARNESS (kept between runs) and the seeds in
# DIR/seeds/HARNESS.  Prints the executions of each, in the order given;
# exits 1 if any harness met a crash, leak, timeout or sanitizer report,
# with the input saved in DIR.
#
# FUZZ_JOBS harnesses (default: one per online CPU) run at a time, each
# libFuzzer process on one core, so every harness still gets SECONDS of
# its own while the whole run takes about 1/FUZZ_JOBS as long.
set -u
dir=$1 secs=$2
shift 2
here=$(dirname "$0")
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1

# fuzz_one H: everything for harness H; its report lines go to
# DIR/fuzz-H.report, its status (0 or 1) to DIR/fuzz-H.status.
fuzz_one() {
	h=$1
	bin=$dir/fuzz-$h
	log=$dir/fuzz-$h.log
	report=$dir/fuzz-$h.report
	corpus=$dir/corpus/$h
	seeds=$dir/seeds/$h
	regress=$here/regress/$h
	: >"$report"
	mkdir -p "$corpus" "$seeds"
	if [ -d "$regress" ] && [ -n "$(ls -A "$regress" 2>/dev/null)" ]; then
		if ! "$bin" -rss_limit_mb=4096 "$regress"/* >"$log" 2>&1; then
			{
				tail -n 30 "$log"
				echo "fuzz: $h: a regression input fails again ($regress)"
			} >>"$report"
			echo 1 >"$dir/fuzz-$h.status"
			return
		fi
		echo "fuzz: $h: $(ls "$regress" | wc -l) regression inputs pass" >>"$report"
	fi
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
		-dict="$here/ssm.dict" -print_final_stats=1 -artifact_prefix="$dir/$h-" \
		"$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	echo "${execs:-0}" >"$dir/fuzz-$h.execs"
	if [ $rc -ne 0 ]; then
		{
			grep -E '^(fake_kvm|fuzz):|ERROR|SUMMARY|^artifact_prefix|Test unit written' "$log" |
				head -n 20
			tail -n 30 "$log"
			echo "fuzz: $h: FAILED after ${execs:-?} executions (input saved as $dir/$h-*)"
		} >>"$report"
		echo 1 >"$dir/fuzz-$h.status"
		return
	fi
	echo "fuzz: $h: ${execs:-0} executions in $secs s, no finding" >>"$report"
	echo 0 >"$dir/fuzz-$h.status"
}

for h in "$@"; do
	rm -f "$dir/fuzz-$h.report" "$dir/fuzz-$h.status" "$dir/fuzz-$h.execs"
done
# Harness i goes to lane i mod jobs; each lane runs its harnesses one after
# another in the background.
lane=0
pids=
while [ "$lane" -lt "$jobs" ]; do
	(
		i=0
		for h in "$@"; do
			[ $((i % jobs)) -eq "$lane" ] && fuzz_one "$h"
			i=$((i + 1))
		done
	) &
	pids="$pids $!"
	lane=$((lane + 1))
done
trap 'kill $pids 2>/dev/null; exit 130' INT TERM
for p in $pids; do
	wait "$p"
done

total=0
failed=0
for h in "$@"; do
	cat "$dir/fuzz-$h.report" 2>/dev/null
	if [ "$(cat "$dir/fuzz-$h.status" 2>/dev/null)" != 0 ]; then
		[ -s "$dir/fuzz-$h.report" ] || echo "fuzz: $h: did not run to the end"
		failed=1
	fi
	total=$((total + $(cat "$dir/fuzz-$h.execs" 2>/dev/null || echo 0)))
	rm -f "$dir/fuzz-$h.report" "$dir/fuzz-$h.status" "$dir/fuzz-$h.execs"
done
[ "$failed" -eq 0 ] || exit 1
echo "fuzz: $total executions in all ($jobs at a time), no finding"
