#!/usr/bin/env bash
# Run the end-to-end tests (tests/e2e/test-*.sh) against BUILD/vmm, one file
# after another.  Every test prints "PASS name", "FAIL name: reason" or
# "SKIP name: reason"; the last line is
#     e2e: N passed, M failed[, K skipped]
# and the exit status is 1 if any test failed.  Without a usable /dev/kvm
# every test is skipped, loudly, and the exit status is 0.
#
# Usage: scripts/run-e2e.sh [BUILD]        (BUILD defaults to build)
#        E2E_ONLY="test-x.sh test-y.sh" scripts/run-e2e.sh BUILD   (only those files)
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
if [ -d "$build" ]; then
	build=$(cd "$build" && pwd)
else
	case $build in /*) ;; *) build=$root/$build ;; esac
fi
VMM=$build/vmm
FILE_TIMEOUT=${E2E_FILE_TIMEOUT:-300}   # seconds per test file, a backstop

pass=0 fail=0 skipped=0
failed=()

summary() {
	local s="e2e: $pass passed, $fail failed"
	[ "$skipped" -gt 0 ] && s="$s, $skipped skipped"
	[ ${#failed[@]} -eq 0 ] || echo "e2e: failed tests: ${failed[*]}"
	echo "$s"
	[ "$fail" -eq 0 ]
}

if [ ! -x "$VMM" ]; then
	echo "FAIL setup: $VMM is missing or not executable (run make all)"
	fail=1
	failed+=(setup)
	summary
	exit 1
fi
for tool in timeout mktemp od dd cmp awk sed grep; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "FAIL setup: the tests need '$tool'"
		fail=1
		failed+=(setup)
		summary
		exit 1
	fi
done

E2E_CACHE=$(mktemp -d "${TMPDIR:-/tmp}/vmm-e2e.XXXXXX") || exit 1
export VMM E2E_CACHE
cleanup() {
	local m
	# A test killed by the file timeout may leave its tmpfs mounted.
	for m in $(awk -v d="$E2E_CACHE/" 'index($2, d) == 1 { print $2 }' /proc/mounts 2>/dev/null | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	rm -rf "$E2E_CACHE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Can this host run a VM at all?  vmm names /dev/kvm or the failing KVM ioctl
# when it cannot.
E2E_SKIP=
probe=$(timeout -k 5 30 "$VMM" --cmdline steps=1 --serial none </dev/null 2>&1 >/dev/null)
probe_rc=$?
if [ $probe_rc -ne 0 ]; then
	kvm_line=$(printf '%s\n' "$probe" | grep -E '/dev/kvm|KVM' | head -n1)
	if [ -n "$kvm_line" ]; then
		E2E_SKIP="end-to-end tests need /dev/kvm: ${kvm_line#vmm: }"
		banner="*** SKIPPED: $E2E_SKIP ***"
		echo "$banner"
		echo "$banner" >&2
	else
		echo "e2e: warning: the probe run (vmm --cmdline steps=1) exited $probe_rc:" \
			"$(printf '%s' "$probe" | head -n3)" >&2
	fi
fi
export E2E_SKIP

t0=$(date +%s)
for f in "$root"/tests/e2e/test-*.sh; do
	[ -e "$f" ] || continue
	# E2E_ONLY="test-a.sh test-b.sh": just those files (make tsan).
	case " ${E2E_ONLY:-$(basename "$f")} " in *" $(basename "$f") "*) ;; *) continue ;; esac
	name=$(basename "$f" .sh)
	out=$E2E_CACHE/$name.log
	ft0=$(date +%s)
	# A file that needs longer says so in a "# e2e-timeout: SECONDS" line.
	limit=$(sed -n 's/^# e2e-timeout: \([0-9][0-9]*\)$/\1/p' "$f" | head -n1)
	[ -n "$limit" ] && [ "$limit" -gt "$FILE_TIMEOUT" ] || limit=$FILE_TIMEOUT
	timeout -k 10 "$limit" bash "$f" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS ' "$out")
	fl=$(grep -c '^FAIL ' "$out")
	s=$(grep -c '^SKIP ' "$out")
	failed+=($(sed -n "s/^FAIL \([^:]*\):.*/\1/p" "$out"))
	if [ "$rc" -ne 0 ] && [ "$fl" -eq 0 ]; then
		echo "FAIL $name: test file exited with status $rc$([ "$rc" -eq 124 ] && echo " (timed out after ${limit}s)")"
		fl=1
		failed+=("$name")
	fi
	pass=$((pass + p))
	fail=$((fail + fl))
	skipped=$((skipped + s))
	[ -n "$E2E_SKIP" ] || echo "  ($name: $(($(date +%s) - ft0)) s)"
done
if [ -n "$E2E_SKIP" ]; then
	echo "$banner"
	echo "$banner" >&2
else
	echo "e2e: ran in $(($(date +%s) - t0)) s"
fi
summary
