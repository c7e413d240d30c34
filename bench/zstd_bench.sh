#!/usr/bin/env bash
# zstd_bench.sh - save time and file size of a compressed save against an
# uncompressed one, measured in the same run: a 1 GiB guest whose test
# kernel has filled 512 MiB with text (fill=text: made-up log lines), saved
# with vmm --save --compress none, zlib and zstd.  Figures: the save time
# vmm prints ("saved to F in N s": guest paused -> file written, fsynced
# and renamed), the file size (bytes and du), each as a ratio to the
# uncompressed save of the same run; the target (issue 8 item 5) is a zstd
# save at least as fast as the uncompressed one, at a smaller file.  Also
# the CPU time vmm used from the SIGTERM to its exit (its vCPU is paused
# then, so that is the save's own work, sampled every 10 ms from
# /proc/PID/stat): on a host shared with other load a compressed save,
# which is CPU-bound, slows down more than a write-bound one, and the CPU
# seconds say what it would take on idle CPUs.
# Run by `make bench` (scripts/run-bench.sh); alone:
#   bash bench/zstd_bench.sh [BUILD_DIR]
# Knobs (environment): ZSTD_BENCH_REPS (1: a short run; the median of N
# otherwise), ZSTD_BENCH_MODES ("none zlib zstd": --compress values, none
# first), ZSTD_BENCH_SETTLE (2 s of idle before every guest).
# Exit status: 0 if every figure was measured (a missed target is not an
# error), 1 otherwise.  Scratch files live in SSM_BENCH_DIR and are removed.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-${SSM_BUILD:-build}}
case $build in /*) ;; *) build=$PWD/$build ;; esac
tmp_root=${SSM_BENCH_DIR:-$build/bench-tmp}
reps=${ZSTD_BENCH_REPS:-1}
modes=${ZSTD_BENCH_MODES:-none zlib zstd}
settle=${ZSTD_BENCH_SETTLE:-2}
MEM=1G
CMD="mem=512M pages=1024 fill=text"
FILL_STEPS=128                  # 512M / (1024 pages * 4 KiB)

fail() { echo "zstd_bench: $*" >&2; exit 1; }
[ -x "$build/vmm" ] || fail "$build/vmm not built (make all)"
[ -f "$build/guest/kernel.elf" ] || fail "$build/guest/kernel.elf not built (make all)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || fail "/dev/kvm is not usable here: cannot run guests"
[ "${modes%% *}" = none ] || fail "ZSTD_BENCH_MODES must start with none (the baseline)"
mkdir -p "$tmp_root" || exit 1
scratch=$(mktemp -d "$tmp_root/zstd_bench.XXXXXX") || exit 1
pid=
cleanup() {
	[ -z "$pid" ] || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

last_step() {
	grep -aoE '^step [0-9]+ ' "$1" 2>/dev/null | tail -n1 | awk '{print $2}'
}

# cpu_ticks PID: user + system clock ticks of PID so far (all threads).
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}

# one_save MODE: boot, wait for the fill, SIGTERM, wait; prints
# "SECONDS BYTES DU_BYTES CPU_SECONDS" or fails.
one_save() {
	local mode=$1 sav=$scratch/s.sav ser=$scratch/serial.txt err=$scratch/vmm.err t n
	rm -f "$sav" "$ser"
	sync
	sleep "$settle"
	"$build/vmm" --mem "$MEM" --cmdline "$CMD" --serial "file:$ser" --save "$sav" \
		--compress "$mode" </dev/null >/dev/null 2>"$err" &
	pid=$!
	for _ in $(seq 1 3000); do     # 300 s at most
		n=$(last_step "$ser")
		[ "${n:-0}" -ge "$FILL_STEPS" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ "${n:-0}" -ge "$FILL_STEPS" ] || { echo "zstd_bench: $mode: the guest did not fill 512M: $(tail -n2 "$err")" >&2; return 1; }
	local c0 c1 c hz
	c0=$(cpu_ticks "$pid")
	c1=$c0
	kill -TERM "$pid"
	while c=$(cpu_ticks "$pid") && [ -n "$c" ]; do
		c1=$c
		sleep 0.01
	done
	wait "$pid"
	local rc=$?
	pid=
	t=$(sed -nE 's/^vmm: saved to .* in ([0-9.]+) s.*/\1/p' "$err")
	[ "$rc" -eq 0 ] && [ -n "$t" ] && [ -s "$sav" ] ||
		{ echo "zstd_bench: $mode: save failed (exit $rc): $(tail -n2 "$err")" >&2; return 1; }
	hz=$(getconf CLK_TCK)
	echo "$t $(stat -c %s "$sav") $(( $(du -k "$sav" | cut -f1) * 1024 ))" \
		"$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')"
	rm -f "$sav"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

declare -A T S D C
echo "zstd_bench: $MEM guest, --cmdline '$CMD', saved once the 512M area is full; $reps rep(s), median; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= reps; r++)); do
	for mode in $modes; do
		out=$(one_save "$mode") || exit 1
		read -r t s d c <<<"$out"
		T[$mode]+="$t "; S[$mode]+="$s "; D[$mode]+="$d "; C[$mode]+="$c "
		echo "  rep $r $mode: save $t s, file $s bytes (du $d), CPU $c s"
	done
done
med_of() { tr ' ' '\n' <<<"$1" | grep . | median; }
t0=$(med_of "${T[none]}"); s0=$(med_of "${S[none]}")
printf '%-10s %10s %8s %12s %8s %12s %8s\n' compress "save s" "x none" "file MiB" "x none" "du MiB" "CPU s"
for mode in $modes; do
	t=$(med_of "${T[$mode]}"); s=$(med_of "${S[$mode]}"); d=$(med_of "${D[$mode]}")
	c=$(med_of "${C[$mode]}")
	awk -v m="$mode" -v t="$t" -v s="$s" -v d="$d" -v c="$c" -v t0="$t0" -v s0="$s0" 'BEGIN {
		printf "%-10s %10.3f %8.2f %12.1f %8.3f %12.1f %8.2f\n", m, t, t / t0, s / 1048576, s / s0, d / 1048576, c }'
done
for mode in $modes; do
	case $mode in zstd*) ;; *) continue ;; esac
	t=$(med_of "${T[$mode]}"); s=$(med_of "${S[$mode]}")
	awk -v m="$mode" -v t="$t" -v s="$s" -v t0="$t0" -v s0="$s0" 'BEGIN {
		ok = t <= t0 && s < s0
		printf "target: --compress %s save <= 1.00x the uncompressed save time (%.2fx) at a smaller file (%.3fx): %s\n",
			m, t / t0, s / s0, ok ? "PASS" : "FAIL" }'
done
exit 0
