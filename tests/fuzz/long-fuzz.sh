#!/bin/sh
# long-fuzz.sh DIR ROUNDS SLICE HARNESS... - a long campaign outside CI:
# ROUNDS rounds in which each harness, one at a time and nice'd, fuzzes
# for SLICE seconds with the fast (UBSan-only) build, growing
# DIR/corpus/HARNESS.  A crash ends that harness's slice (the input is
# kept as DIR/long-HARNESS-*) and the campaign goes on.  Then the whole
# corpus of every harness is replayed once under the ASan build.  Prints
# executions per harness and the findings; exits 1 if there were any.
# FUZZ_NICE (default 10) is the niceness of every run.
set -u
dir=$1 rounds=$2 slice=$3
shift 3
here=$(dirname "$0")
findings=0
# Executions add up over campaigns (remove DIR/long-*.execs to start over).
for h in "$@"; do [ -s "$dir/long-$h.execs" ] || echo 0 >"$dir/long-$h.execs"; done
r=0
while [ $r -lt "$rounds" ]; do
	r=$((r + 1))
	for h in "$@"; do
		log=$dir/long-$h.log
		mkdir -p "$dir/corpus/$h" "$dir/seeds/$h"
		nice -n "${FUZZ_NICE:-10}" "$dir/fast/fuzz-$h" -max_total_time="$slice" -timeout=10 \
			-rss_limit_mb=4096 -dict="$here/ssm.dict" -print_final_stats=1 \
			-artifact_prefix="$dir/long-$h-" "$dir/corpus/$h" "$dir/seeds/$h" \
			>"$log" 2>&1
		rc=$?
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		echo $(( $(cat "$dir/long-$h.execs") + ${n:-0} )) >"$dir/long-$h.execs"
		if [ $rc -ne 0 ]; then
			findings=$((findings + 1))
			echo "long-fuzz: round $r: $h: FINDING:"
			grep -E '^(fake_kvm|fuzz):|runtime error|ERROR|SUMMARY|Test unit written' \
				"$log" | head -n 6
		fi
		echo "long-fuzz: round $r: $h: $(cat "$dir/long-$h.execs") executions so far"
	done
done
total=0
for h in "$@"; do
	n=$(cat "$dir/long-$h.execs")
	total=$((total + n))
	if ! nice -n "${FUZZ_NICE:-10}" "$dir/fuzz-$h" -runs=0 -rss_limit_mb=4096 "$dir/corpus/$h" \
		>"$dir/long-$h-replay.log" 2>&1; then
		findings=$((findings + 1))
		echo "long-fuzz: $h: the corpus fails under ASan:"
		grep -E '^(fake_kvm|fuzz):|ERROR|SUMMARY' "$dir/long-$h-replay.log" | head -n 6
	fi
	echo "long-fuzz: $h: $n executions, corpus of $(ls "$dir/corpus/$h" | wc -l) replayed under ASan"
done
echo "long-fuzz: $total executions in all, $findings findings"
[ $findings -eq 0 ]
