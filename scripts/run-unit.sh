#!/usr/bin/env bash
# Run every Criterion unit-test binary given; fail if any fails.  Prints a
# closing "N passed, N failed" line over all binaries.
set -u
pass=0; fail=0; failed=()
for t in "$@"; do
  out=$("$t" --jobs 2 2>&1); rc=$?
  echo "$out" | tail -n 1 | sed "s|^|$(basename "$t"): |"
  if [ $rc -ne 0 ]; then echo "$out" | grep -v '^\[----\]' | tail -n 40; failed+=("$t"); fi
  s=$(echo "$out" | sed -n 's/.*Tested: \([0-9]*\) | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\2 \3 \4/p' | tail -n1)
  if [ -n "$s" ]; then read -r p f c <<<"$s"; pass=$((pass+p)); fail=$((fail+f+c))
  elif [ $rc -ne 0 ]; then fail=$((fail+1)); fi
done
echo "unit: $pass passed, $fail failed"
[ ${#failed[@]} -eq 0 ] || { echo "unit: FAILED: ${failed[*]}" >&2; exit 1; }
