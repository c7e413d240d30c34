#!/bin/sh
# run-fuzz.sh DIR SECONDS HARNESS... - for each harness: replay every input
# under tests/fuzz/regress/HARNESS/ (fixed findings), then fuzz for SECONDS
# from DIR/corpus/HARNESS (kept between runs) and the seeds in
# DIR/seeds/HARNESS.  Prints the executions of each; exits 1 at the first
# crash, leak, timeout or sanitizer report, with the input saved in DIR.
set -u
dir=$1 secs=$2
shift 2
here=$(dirname "$0")
total=0
for h in "$@"; do
	bin=$dir/fuzz-$h
	log=$dir/fuzz-$h.log
	corpus=$dir/corpus/$h
	seeds=$dir/seeds/$h
	regress=$here/regress/$h
	mkdir -p "$corpus" "$seeds"
	if [ -d "$regress" ] && [ -n "$(ls -A "$regress" 2>/dev/null)" ]; then
		if ! "$bin" -rss_limit_mb=4096 "$regress"/* >"$log" 2>&1; then
			tail -n 30 "$log"
			echo "fuzz: $h: a regression input fails again ($regress)"
			exit 1
		fi
		echo "fuzz: $h: $(ls "$regress" | wc -l) regression inputs pass"
	fi
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
		-dict="$here/ssm.dict" -print_final_stats=1 -artifact_prefix="$dir/$h-" \
		"$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ $rc -ne 0 ]; then
		grep -E '^(fake_kvm|fuzz):|ERROR|SUMMARY|^artifact_prefix|Test unit written' "$log" |
			head -n 20
		tail -n 30 "$log"
		echo "fuzz: $h: FAILED after ${execs:-?} executions (input saved as $dir/$h-*)"
		exit 1
	fi
	total=$((total + ${execs:-0}))
	echo "fuzz: $h: ${execs:-0} executions in $secs s, no finding"
done
echo "fuzz: $total executions in all, no finding"
