#!/usr/bin/env bash
# tls_bench.sh - what TLS costs a live migration: the same guest (256M, a
# 100M working set filled, then dirtied at TLS_BENCH_RATE MB/s, default 20)
# migrated over loopback
# with tcp: and with tls: (X.509, mutual; certificates made here with
# certtool), alternating, TLS_BENCH_REPS times each.  Prints the median
# total time and downtime of each (from the source's "vmm: migrated:"
# summary) and the tls/tcp ratios measured in this run.  Run by `make
# bench` (scripts/run-bench.sh); alone: bash bench/tls_bench.sh [BUILD_DIR]
# Exit status: 0 if every figure could be measured, 1 otherwise.
set -u
cd "$(dirname "$0")/.." || exit 1
root=$PWD
build=${1:-${SSM_BUILD:-build}}
case $build in /*) ;; *) build=$PWD/$build ;; esac
tmp_root=${SSM_BENCH_DIR:-$build/bench-tmp}
reps=${TLS_BENCH_REPS:-3}
rate=${TLS_BENCH_RATE:-20}
vmm=$build/vmm

fail() { echo "tls_bench: $*" >&2; exit 1; }
[ -x "$vmm" ] || fail "$vmm not built (make all)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || fail "/dev/kvm is not usable here: cannot run guests"
command -v certtool >/dev/null || fail "certtool not found (gnutls-bin)"
mkdir -p "$tmp_root" || exit 1
scratch=$(mktemp -d "$tmp_root/tls_bench.XXXXXX") || exit 1
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -n "${TLS_BENCH_KEEP:-}" ] && cp "$scratch"/*src*.err "$TLS_BENCH_KEEP"/ 2>/dev/null; rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
cd "$scratch" || exit 1

bash "$root/scripts/make-test-certs.sh" certs || fail "certtool failed"
tls_opts=(--tls-cert certs/dst.pem --tls-key certs/dst.key --tls-ca certs/ca.pem)

port=47601
# migrate KIND N: one migration over KIND (tcp|tls); appends "total_s downtime_ms"
# to KIND.times.
migrate() {
  local kind=$1 n=$2 opts=() dst line
  [ "$kind" = tls ] && opts=("${tls_opts[@]}")
  port=$((port + 1))
  "$vmm" --incoming "$kind:127.0.0.1:$port" "${opts[@]}" --serial none </dev/null \
    >/dev/null 2>"$kind-dst$n.err" &
  dst=$!
  pids+=("$dst")
  for _ in $(seq 1 250); do
    grep -q 'waiting for a migration' "$kind-dst$n.err" 2>/dev/null && break
    sleep 0.02
  done
  # Migrated once the working set is full (100M at rate MB/s, and a second).
  timeout 120 "$vmm" --mem 256M --cmdline "steps=1000000 mem=100M rate=$rate" --serial none \
    --migrate "$kind:127.0.0.1:$port" --migrate-after "$((100 / rate + 1))s" "${opts[@]}" \
    </dev/null >/dev/null 2>"$kind-src$n.err"
  local rc=$?
  kill -QUIT "$dst" 2>/dev/null
  wait "$dst" 2>/dev/null
  line=$(grep -E '^vmm: migrated: ' "$kind-src$n.err")
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    echo "tls_bench: $kind migration $n failed (exit $rc):" >&2
    tail -n 3 "$kind-src$n.err" "$kind-dst$n.err" >&2
    return 1
  fi
  sed -E 's/.*total time ([0-9.]+) s; downtime ([0-9.]+) ms.*/\1 \2/' <<<"$line" >>"$kind.times"
}

median() {   # COLUMN FILE
  awk -v c="$1" '{ print $c }' "$2" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ok=0
for i in $(seq 1 "$reps"); do
  migrate tcp "$i" || ok=1
  migrate tls "$i" || ok=1
done
[ "$ok" -eq 0 ] || fail "not every migration completed: no figures"

tt=$(median 1 tcp.times) td=$(median 2 tcp.times)
st=$(median 1 tls.times) sd=$(median 2 tls.times)
echo "tls_bench: 256M guest, 100M working set dirtied at $rate MB/s, loopback, median of $reps each (alternating)"
printf 'tls_bench: tcp: total %.3f s, downtime %.2f ms\n' "$tt" "$td"
printf 'tls_bench: tls: total %.3f s, downtime %.2f ms\n' "$st" "$sd"
awk -v a="$st" -v b="$tt" -v c="$sd" -v d="$td" 'BEGIN {
  printf "tls_bench: tls/tcp ratio: total time %.2f, downtime %.2f\n", a / b, c / d }'
