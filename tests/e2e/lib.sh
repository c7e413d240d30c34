# lib.sh - helpers shared by the end-to-end tests (sourced, never run).
#
# A test file sources this, defines one function per test and calls
#     run_test NAME FUNCTION
# for each.  run_test gives the function its own `mktemp -d` directory as
# the current directory ($TDIR), runs it in a subshell, prints exactly one
# of
#     PASS NAME
#     FAIL NAME: REASON          (followed by indented diagnostics)
#     SKIP NAME: REASON
# and removes the directory (unmounting whatever the test mounted there).
# A function reports with `fail REASON` / `skip REASON` (first call wins) and
# attaches outputs with `show FILE [LABEL]`; returning without calling
# either is a pass.
#
# Environment (set by scripts/run-e2e.sh): VMM (the program), E2E_CACHE (a
# scratch directory the runner removes), E2E_SKIP (when set: skip every test
# with that reason).

set -u
# Run alone (bash tests/e2e/test-x.sh), a file tests build/vmm with a
# scratch directory of its own.
if [ -z "${VMM:-}" ]; then
	VMM=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/vmm
fi
if [ -z "${E2E_CACHE:-}" ]; then
	E2E_CACHE=$(mktemp -d "${TMPDIR:-/tmp}/vmm-e2e.XXXXXX") || exit 1
	trap 'rm -rf "$E2E_CACHE"' EXIT
fi

VMM_TIMEOUT=${VMM_TIMEOUT:-90}  # seconds per vmm invocation
# The interrupt controllers' units a fresh boot of this run saves
# (E2E_IRQCHIP=kernel: run-e2e.sh boots with --irqchip kernel), and the
# VM-wide one a test may drop or forge.
if [ "${E2E_IRQCHIP:-user}" = kernel ]; then
	CHIP_UNITS="lapic kvm-pic ioapic kvm-pit"
	CHIP_UNIT=kvm-pic
else
	CHIP_UNITS="pic pit"
	CHIP_UNIT=pic
fi
STEP_RE='step [0-9]+ sum 0x[0-9a-f]{8}'

# ---- results ---------------------------------------------------------------

fail() {
	[ -e "$TDIR/.fail" ] || printf '%s\n' "$*" >"$TDIR/.fail"
	return 1
}

skip() {
	[ -e "$TDIR/.skip" ] || printf '%s\n' "$*" >"$TDIR/.skip"
	return 0
}

# show FILE [LABEL]: attach the tail of FILE to a failure report.
show() {
	local f=$1 label=${2:-$1}
	{
		if [ -e "$f" ]; then
			echo "--- $label ($(wc -c <"$f") bytes, last 12 lines) ---"
			tail -n 12 "$f" | cut -c1-200 | tr -d '\r'
		else
			echo "--- $label: (missing) ---"
		fi
	} >>"$TDIR/.details" 2>&1
}

# note TEXT: one line of context for a failure report.
note() {
	printf '%s\n' "$*" >>"$TDIR/.details"
}

# Record a mount so that cleanup unmounts it even if the test dies.
track_mount() {
	printf '%s\n' "$1" >>"$TDIR/.mounts"
}

# mount_tmpfs DIR SIZE: a small filesystem to fill; skips the test if this
# host will not mount one (not root, no CAP_SYS_ADMIN, ...).
mount_tmpfs() {
	local d=$1 size=$2 err
	mkdir -p "$d"
	if ! err=$(mount -t tmpfs -o "size=$size" tmpfs "$d" 2>&1); then
		skip "*** cannot mount a ${size} tmpfs to fill (needs root): ${err:-mount failed} ***"
		return 1
	fi
	track_mount "$d"
}

_cleanup_dir() {
	local d=$1 m
	[ -n "$d" ] && [ -d "$d" ] || return 0
	if [ -f "$d/.mounts" ]; then
		while read -r m; do
			if mountpoint -q "$m" 2>/dev/null; then
				umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
			fi
		done <"$d/.mounts"
	fi
	rm -rf "$d"
}

run_test() {
	local name=$1 fn=$2 rc reason
	if [ -n "${E2E_SKIP:-}" ]; then
		echo "SKIP $name: $E2E_SKIP"
		return 0
	fi
	TDIR=$(mktemp -d "$E2E_CACHE/$name.XXXXXX") || {
		echo "FAIL $name: mktemp -d failed"
		return 0
	}
	trap '_cleanup_dir "$TDIR"; exit 130' INT TERM
	(cd "$TDIR" && "$fn") </dev/null
	rc=$?
	if [ -e "$TDIR/.skip" ] && [ ! -e "$TDIR/.fail" ]; then
		echo "SKIP $name: $(head -n1 "$TDIR/.skip")"
	elif [ -e "$TDIR/.fail" ] || [ $rc -ne 0 ]; then
		reason=$(head -n1 "$TDIR/.fail" 2>/dev/null)
		echo "FAIL $name: ${reason:-test function exited with status $rc}"
		[ -e "$TDIR/cmds.log" ] && { echo "--- vmm invocations ---"; cat "$TDIR/cmds.log"; } |
			sed 's/^/    | /'
		[ -e "$TDIR/.details" ] && sed 's/^/    | /' "$TDIR/.details"
	else
		echo "PASS $name"
	fi
	_cleanup_dir "$TDIR"
	trap - INT TERM
	TDIR=
	return 0
}

# ---- running vmm -------------------------------------------------------------

# vmm TAG [ARGS...]: run vmm with a timeout, stdin from $VMM_STDIN (default
# /dev/null), stdout to TAG.out, stderr to TAG.err; the status goes to RC.
vmm() {
	local tag=$1
	shift
	timeout -k 5 "$VMM_TIMEOUT" "$VMM" "$@" <"${VMM_STDIN:-/dev/null}" >"$tag.out" 2>"$tag.err"
	RC=$?
	echo "[$tag] vmm $* -> exit $RC" >>cmds.log
	return 0
}

# crashed TAG: true (and reports why) if the run died, hung or a sanitizer
# spoke.
crashed() {
	local tag=$1
	if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		fail "$tag: vmm hung (killed by timeout after ${VMM_TIMEOUT}s)"
		show "$tag.err"
		return 0
	fi
	if [ "$RC" -ge 128 ]; then
		fail "$tag: vmm died with status $RC (signal $((RC - 128)))"
		show "$tag.err"
		return 0
	fi
	if grep -aqE 'Segmentation|Aborted|core dumped|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error:' "$tag.err" 2>/dev/null; then
		fail "$tag: crash or sanitizer report on stderr"
		show "$tag.err"
		return 0
	fi
	return 1
}

# expect_rc TAG WANT: the last vmm run exited WANT and did not crash.
expect_rc() {
	local tag=$1 want=$2
	crashed "$tag" && return 1
	if [ "$RC" -ne "$want" ]; then
		fail "$tag: exit status $RC, expected $want"
		show "$tag.err"
		show "$tag.out"
		return 1
	fi
	return 0
}

# ---- guest output ----------------------------------------------------------

# The guest's output with the ticks (which depend on timing) removed.
strip_ticks() {
	sed -E 's/ ticks [0-9]+$//' "$@"
}

# The "step N sum X" lines of a file (ticks removed).
steps_of() {
	grep -aoE "^$STEP_RE" "$1"
}

# check_steps FILE N: FILE's steps are exactly 1..N, each once, in order.
check_steps() {
	local f=$1 n=$2 bad
	bad=$(steps_of "$f" | awk -v n="$n" '
		{ if ($2 != NR) { printf "line %d is step %s, expected %d\n", NR, $2, NR; bad = 1; exit } }
		END { if (!bad && NR != n) printf "%d steps, expected %d\n", NR, n }')
	[ -z "$bad" ] && return 0
	fail "$f: $bad"
	return 1
}

# last_step FILE: number of the last complete step line (0 if none).
last_step() {
	local n
	n=$(grep -aE "^$STEP_RE ticks [0-9]+$" "$1" | tail -n1 | awk '{print $2}')
	echo "${n:-0}"
}

# ticks_of FILE: the tick counts of the complete step lines, one a line.
ticks_of() {
	grep -aE "^$STEP_RE ticks [0-9]+$" "$1" | awk '{print $6}'
}

# same_output REF GOT: GOT is REF's output, ticks aside.
same_output() {
	local ref=$1 got=$2
	if ! cmp -s <(strip_ticks "$ref") <(strip_ticks "$got"); then
		fail "${3:-$got} differs from the uninterrupted run ($ref), ticks aside"
		note "--- first differences (< uninterrupted, > $got) ---"
		diff <(strip_ticks "$ref") <(strip_ticks "$got") | head -n 12 >>"$TDIR/.details"
		return 1
	fi
	return 0
}

# suffix_of REF GOT: GOT without its first (possibly cut) line is the end
# of REF, ticks aside (a guest restored part-way, or that ran on).
suffix_of() {
	local ref=$1 got=$2 n
	tail -n +2 "$got" | strip_ticks >got.tail
	strip_ticks "$ref" >ref.stripped
	n=$(wc -c <got.tail)
	if [ "$n" -eq 0 ] || ! cmp -s got.tail <(tail -c "$n" ref.stripped); then
		fail "$got (after its first line) is not the end of the uninterrupted run"
		show "$got"
		return 1
	fi
}

# reference MEM CMDLINE: print the path of an uninterrupted run's serial
# output for this machine, running it once per test session.
reference() {
	local mem=$1 cmdline=$2 key f
	key=$(printf '%s_%s' "$mem" "$cmdline" | tr -c 'A-Za-z0-9=_' '_')
	f=$E2E_CACHE/ref-$key.txt
	if [ ! -s "$f" ]; then
		timeout -k 5 "$VMM_TIMEOUT" "$VMM" --mem "$mem" --cmdline "$cmdline" \
			--serial "file:$f.tmp" </dev/null >"$f.out" 2>"$f.err"
		local rc=$?
		echo "[reference] vmm --mem $mem --cmdline '$cmdline' --serial file:$f.tmp -> exit $rc" >>cmds.log
		if [ $rc -ne 0 ]; then
			fail "uninterrupted reference run exited $rc"
			show "$f.err" "reference stderr"
			show "$f.tmp" "reference serial"
			rm -f "$f.tmp"
			return 1
		fi
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

# saved_ok TAG FILE: the last run suspended the VM to FILE.
saved_ok() {
	local tag=$1 f=$2
	expect_rc "$tag" 0 || return 1
	if [ ! -s "$f" ]; then
		fail "$tag: exit 0 but no state file $f (did the guest finish before --save-after?)"
		show "$tag.err"
		return 1
	fi
	if ! grep -q '^vmm: saved to ' "$tag.err"; then
		fail "$tag: no 'vmm: saved to' line on stderr"
		show "$tag.err"
		return 1
	fi
	return 0
}

# cached_save NAME MEM CMDLINE: print the path of a state file of a guest
# (--mem MEM --cmdline CMDLINE) saved 300 ms in, made once per e2e run and
# shared by the cases of a test file; fails (reported) if the save fails.
cached_save() {
	local f=$E2E_CACHE/$1.sav
	if [ ! -s "$f" ]; then
		vmm good --mem "$2" --cmdline "$3" --serial none --save "$f" --save-after 300ms
		saved_ok good "$f" || return 1
	fi
	echo "$f"
}

# ---- state files -------------------------------------------------------------

# u32 FILE OFFSET: little-endian u32 at OFFSET.
u32() {
	od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '
}

# unit_offset FILE NAME: offset of the (last) unit header named NAME.
unit_offset() {
	local f=$1 name=$2 off len found=
	for off in $(LC_ALL=C grep -obUaP '\x89SSMUnit' "$f" | cut -d: -f1); do
		len=$(u32 "$f" $((off + 28)))
		[ "$len" = "${#name}" ] || continue
		[ "$(dd if="$f" bs=1 skip=$((off + 40)) count="$len" 2>/dev/null)" = "$name" ] &&
			found=$off
	done
	[ -n "$found" ] && echo "$found"
}

# flip_byte FILE OFFSET: invert every bit of one byte.
flip_byte() {
	local f=$1 off=$2 b
	b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
	printf "\\$(printf '%03o' $((b ^ 255)))" |
		dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# one_vmm_line TAG PATTERN: stderr is exactly one line, "vmm: ...",
# matching the extended regex PATTERN.
one_vmm_line() {
	local tag=$1 pat=$2 n
	n=$(wc -l <"$tag.err")
	if [ "$n" -ne 1 ] || ! grep -q '^vmm: ' "$tag.err"; then
		fail "$tag: expected exactly one 'vmm: ' line on stderr, got $n lines"
		show "$tag.err"
		return 1
	fi
	if ! grep -qiE -e "$pat" "$tag.err"; then
		fail "$tag: message does not say /$pat/: $(head -c 300 "$tag.err")"
		return 1
	fi
	return 0
}

# The standard workload: long enough that a save after a few hundred ms
# lands part-way (a step takes ~1.5-3 ms here), short enough to stay quick.
# E2E_SLOW=N (make tsan) makes the guests of the timing-sensitive tests
# run N times as many steps, so that a slowed-down vmm still lands its
# saves and migrations part-way.
E2E_SLOW=${E2E_SLOW:-1}
STD_MEM=64M
STD_STEPS=$((1500 * E2E_SLOW))
STD_CMD="steps=$STD_STEPS mem=32M"

# ---- background processes and TCP ports (migration tests) -------------------

declare -A BG_PID BG_WHAT

# bg_vmm TAG [ARGS...]: start vmm in the background, like vmm() (TAG.out,
# TAG.err, the same timeout); collect it with bg_wait TAG.  Call it from a
# test function: whatever is still running when the test's subshell exits
# is killed (with its descendants) and reaped.
bg_vmm() {
	local tag=$1
	shift
	timeout -k 5 "$VMM_TIMEOUT" "$VMM" "$@" <"${VMM_STDIN:-/dev/null}" >"$tag.out" 2>"$tag.err" &
	bg_track "$tag" $! "vmm $*"
}

# bg_track TAG PID WHAT: reap PID (started with &) like a bg_vmm process.
bg_track() {
	BG_PID[$1]=$2
	BG_WHAT[$1]=$3
	echo "[$1] $3 (background, pid $2)" >>cmds.log
	trap "_bg_reap 2>/dev/null" EXIT   # quiet: no "Killed" job notices
}

# bg_pid TAG: the pid of vmm itself, the timeout wrapper's child (a signal
# for vmm must not go to timeout, which would die of SIGUSR1 or SIGKILL and
# leave vmm running).
bg_pid() {
	local p=${BG_PID[$1]:-} c='' _
	[ -n "$p" ] || return 1
	for _ in $(seq 1 100); do
		c=$(_children "$p")
		c=${c%%[!0-9]*}
		[ -n "$c" ] && break
		kill -0 "$p" 2>/dev/null || break
		sleep 0.01
	done
	[ -n "$c" ] && echo "$c"
}

# bg_alive TAG: the background process has not exited yet.
bg_alive() {
	[ -n "${BG_PID[$1]:-}" ] && kill -0 "${BG_PID[$1]}" 2>/dev/null
}

# bg_wait TAG: wait for the background process; its status goes to RC.
bg_wait() {
	local tag=$1
	wait "${BG_PID[$tag]}" 2>/dev/null   # no "Killed" job notice
	RC=$?
	echo "[$tag] ${BG_WHAT[$tag]} -> exit $RC" >>cmds.log
	unset "BG_PID[$tag]"
	return 0
}

# bg_kill TAG SIGNAL: send SIGNAL to the background vmm itself.
bg_kill() {
	local pid
	pid=$(bg_pid "$1") || return 1
	echo "[$1] kill -$2 $pid" >>cmds.log
	kill -"$2" "$pid"
}

_children() {
	cat /proc/"$1"/task/*/children 2>/dev/null ||
		{ command -v pgrep >/dev/null 2>&1 && pgrep -P "$1"; }
}

_descendants() {
	local c
	for c in $(_children "$1"); do
		echo "$c"
		_descendants "$c"
	done
}

# Kill the leaves of each tree (vmm under its timeout, the ends of a
# pipeline): their parents reap them and end by themselves, so nothing is
# left to init.  Whatever still runs 2 s later is killed outright.
_bg_reap() {
	local tag top d _
	for tag in "${!BG_PID[@]}"; do
		top=${BG_PID[$tag]}
		for d in $(_descendants "$top"); do
			[ -n "$(_children "$d")" ] || kill -KILL "$d" 2>/dev/null
		done
		for _ in $(seq 1 100); do
			kill -0 "$top" 2>/dev/null || break
			sleep 0.02
		done
		# shellcheck disable=SC2046
		kill -KILL "$top" $(_descendants "$top") 2>/dev/null
		wait "$top" 2>/dev/null
	done
	return 0
}

# bg_incoming TAG PORT|SPEC [ARGS...]: a background vmm --incoming on
# tcp:127.0.0.1:PORT (or on SPEC, e.g. tls:127.0.0.1:PORT) (bg_vmm TAG),
# waited for until it listens.
bg_incoming() {
	local tag=$1 port=$2 spec=tcp:127.0.0.1:$2
	shift 2
	[[ $port == *:* ]] && spec=$port
	bg_vmm "$tag" --incoming "$spec" "$@"
	if ! wait_until 10 has_line "$tag.err" '^vmm: waiting for a migration on '; then
		fail "$tag: the destination did not start listening on port $port"
		show "$tag.err"
		return 1
	fi
}

# wait_until SECONDS COMMAND [ARGS...]: poll COMMAND every 20 ms until it
# succeeds (0) or SECONDS (an integer) pass (1).
wait_until() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.02
	done
	return 0
}

# has_line FILE REGEX: FILE exists and a line matches the extended REGEX.
has_line() {
	[ -e "$1" ] && grep -aqE -e "$2" "$1"
}

# tcp_sockets PORT: the states (hex, as in /proc/net/tcp: 0A listening,
# 01 established) of the sockets whose local port is PORT, one a line.
tcp_sockets() {
	local hex f
	hex=$(printf '%04X' "$1")
	for f in /proc/net/tcp /proc/net/tcp6; do
		[ -r "$f" ] || continue
		awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { print $4 }' "$f"
	done
}

# port_listening PORT / port_connected PORT: something listens on PORT /
# a connection to PORT is established (accepted or waiting to be).
port_listening() {
	tcp_sockets "$1" | grep -qx 0A
}
port_connected() {
	tcp_sockets "$1" | grep -qx 01
}

# free_port BASE: the first port from BASE on that no socket uses.
free_port() {
	local p=$1
	while [ -n "$(tcp_sockets "$p")" ]; do
		p=$((p + 1))
		[ "$p" -lt $(($1 + 100)) ] || return 1
	done
	echo "$p"
}
