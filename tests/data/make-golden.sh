#!/usr/bin/env bash
# make-golden.sh - how the golden state files under tests/data/ were made.
#
# GOLDEN FILES ARE NEVER REGENERATED.  They are the compatibility promise
# (docs/compat.md): every later vmm must restore each of them and carry the
# guest on exactly.  This script records how they were made and can ADD a
# new golden file; it refuses to overwrite one that exists.  To add one:
# give it a new NAME (e.g. plain-2 when the cpu unit is at version 2), run
# this script from the top of the tree with that NAME, commit the new
# files, and add a row to docs/compat.md.
#
# Usage: tests/data/make-golden.sh [-b BUILD] NAME...
#   NAME is one of the recipes below (plain, live, serial-input,
#   serial-pending, zlib, bigmem, zstd) optionally
#   suffixed "-TAG" (plain-v2 = the plain recipe, saved by today's code).
#
# For each NAME it writes, in tests/data/:
#   NAME.sav     the state file
#   NAME.before  the guest's serial output up to the save (raw bytes; it may
#                end part-way through a line)
#   NAME.expect  the whole transcript, ticks removed, that NAME.before plus
#                the restored run's output must equal: the uninterrupted
#                run's transcript (plus the echoed input for serial-input)
#   NAME.info    the command, vmm version, commit, date and unit versions
#
# Each file is checked before it is kept: the save must land part-way, and
# restoring it with the build that made it must give exactly NAME.expect,
# whose step lines must equal those of an uninterrupted run with the same
# command line (so NAME.expect is the uninterrupted run, not whatever the
# restore printed).
#
# The run happens in a scratch directory with a copy of the kernel named
# kernel.elf and --serial file:console.txt, so the strings stored in the
# machine unit are "kernel.elf" and "file:console.txt": no host path.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
if [ "${1:-}" = "-b" ]; then
	build=$(cd "$2" && pwd)
	shift 2
fi
[ $# -ge 1 ] || { sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
vmm=$build/vmm
kernel=$build/guest/kernel.elf
out=$root/tests/data
[ -x "$vmm" ] && [ -f "$kernel" ] || { echo "make-golden: build $build first (make all)" >&2; exit 1; }

# The guest: 16M of RAM with a 2M churn area (zero pages are elided, so a
# plain file is ~2 MiB), 1000 steps of ~2.5 ms, saved after 1 s: the save
# lands near step 350 and the restored run takes ~2 s.
MEM=16M
CMD="steps=1000 mem=2M"
STEPS=1000
AFTER=1s
INPUT='golden-input\r'          # serial-input: typed 0.3 s into the run
ECHO=$'golden-input\r'          # the line the kernel echoes for it (CR -> CR LF)

strip_ticks() { sed -E 's/ ticks [0-9]+$//' "$@"; }
die() { echo "make-golden: $*" >&2; exit 1; }

unit_versions() {
	# "name version" of every unit in the file, from its unit headers:
	# magic "\x89SSMUnit", u32 version at +20, name length at +28, name
	# at +40 (docs/format.md).
	local f=$1 off len ver
	for off in $(LC_ALL=C grep -obUaP '\x89SSMUnit' "$f" | cut -d: -f1); do
		len=$(od -An -tu4 -j $((off + 28)) -N4 "$f" | tr -d ' ')
		ver=$(od -An -tu4 -j $((off + 20)) -N4 "$f" | tr -d ' ')
		[ "$len" -gt 0 ] && [ "$len" -lt 64 ] || continue
		printf '%s %s\n' "$(dd if="$f" bs=1 skip=$((off + 40)) count="$len" 2>/dev/null)" "$ver"
	done | sort -u
}

# serial_rx_count FILE: bytes in the UART's receive FIFO in the file's
# serial unit: its first data record (RAW, 16-byte header) holds the struct
# begin marker (u32), rx_fifo[16], rx_head, rx_count (devices/serial.c).
serial_rx_count() {
	local f=$1 off hl
	for off in $(LC_ALL=C grep -obUaP '\x89SSMUnit' "$f" | cut -d: -f1); do
		[ "$(od -An -tu4 -j $((off + 28)) -N4 "$f" | tr -d ' ')" = 6 ] || continue
		[ "$(dd if="$f" bs=1 skip=$((off + 40)) count=6 2>/dev/null)" = serial ] || continue
		hl=$(od -An -tu4 -j $((off + 8)) -N4 "$f" | tr -d ' ')
		od -An -tu1 -j $((off + hl + 16 + 21)) -N1 "$f" | tr -d ' '
		return 0
	done
	echo 0
}

# save_run RECIPE: one saving run into s.sav and console.txt.
save_run() {
	local vm=(timeout 60 "$vmm" --kernel kernel.elf --mem "$MEM" --cmdline "$CMD"
		  --save s.sav --save-after "$AFTER")
	rm -f s.sav
	case $1 in
	serial-input)
		# Input typed 0.3 s in: the guest echoes it between two step
		# lines, long before the save; the UART state saved is the one
		# after it took input.
		{ sleep 0.3; printf "$INPUT"; } | "${vm[@]}" --serial stdio >console.txt 2>save.err ;;
	serial-pending)
		# A CR every millisecond from 0.3 s on: now and then the save
		# lands while the guest has not read the last one yet.
		{ sleep 0.3; while printf '\r' 2>/dev/null; do sleep 0.001; done; } |
			"${vm[@]}" --serial stdio >console.txt 2>save.err ;;
	live)
		"${vm[@]}" --live --serial file:console.txt </dev/null >/dev/null 2>save.err ;;
	zstd)
		"${vm[@]}" --compress zstd:3 --serial file:console.txt </dev/null >/dev/null 2>save.err ;;
	*)
		"${vm[@]}" --serial file:console.txt </dev/null >/dev/null 2>save.err ;;
	esac
}

# restore_run OUT: restore s.sav, guest output to OUT.
restore_run() {
	timeout 60 "$vmm" --restore s.sav --serial "file:$1" </dev/null >/dev/null 2>restore.err ||
		die "restore failed: $(cat restore.err)"
}

make_one() {
	local name=$1 recipe='' r tmp n try rx=0 how CMD=$CMD
	for r in serial-input serial-pending plain live zlib bigmem zstd; do
		case $name in "$r" | "$r"-*) recipe=$r; break ;; esac
	done
	[ -n "$recipe" ] || die "'$name' names no recipe (plain, live, serial-input, serial-pending, zlib, bigmem, zstd)"
	# bigmem: RAM above 4 GiB (5G: 3G below the hole, 2G from 4 GiB), the
	# churn area 2M below the hole and 2M above it, so the file's page
	# numbers past 3 GiB are RAM the guest sees from 4 GiB.
	[ "$recipe" != bigmem ] || { MEM=5G; CMD="steps=1000 at=3070M mem=4M"; }
	# zstd: RAM of text, so that RAM records are compressed too.
	[ "$recipe" != zstd ] || CMD="$CMD fill=text"
	for f in sav before expect info; do
		[ ! -e "$out/$name.$f" ] || die "$out/$name.$f exists: golden files are never regenerated (pick a new name)"
	done
	tmp=$(mktemp -d) || die "mktemp failed"
	trap 'rm -rf "$tmp"' RETURN
	cp "$kernel" "$tmp/kernel.elf"
	cd "$tmp"
	timeout 60 "$vmm" --kernel kernel.elf --mem "$MEM" --cmdline "$CMD" \
		--serial file:ref.txt </dev/null >/dev/null 2>ref.err || die "$name: reference run failed: $(cat ref.err)"
	for try in $(seq 1 40); do
		save_run "$recipe" || die "$name: save failed: $(cat save.err)"
		[ "$recipe" = serial-pending ] || break
		rx=$(serial_rx_count s.sav)
		[ "$rx" -eq 0 ] || break
	done
	[ -s s.sav ] || die "$name: no state file: $(cat save.err)"
	[ "$recipe" != serial-pending ] || [ "$rx" -gt 0 ] ||
		die "$name: in $try saves the receive FIFO was never caught holding a byte"
	if [ "$recipe" = zlib ]; then
		# vmm has no compression switch: the same units' data, saved
		# again by libssm at zlib level 6 (tests/data/recompress.c).
		cc -std=c11 -D_GNU_SOURCE -O2 -I"$root" -o recompress "$root/tests/data/recompress.c" \
			"$build/libssm.a" -lz -lzstd -lpthread || die "$name: cannot build recompress"
		./recompress s.sav z.sav 6 || die "$name: recompress failed"
		mv z.sav s.sav
	fi
	n=$(grep -acE '^step [0-9]+ sum 0x[0-9a-f]{8} ticks [0-9]+$' console.txt || true)
	[ "$n" -ge 10 ] && [ "$n" -le $((STEPS - 100)) ] || die "$name: the save landed at step $n, not part-way"
	restore_run after.txt
	cat console.txt after.txt | strip_ticks >expect.txt
	case $recipe in
	serial-input)
		grep -aqx "$ECHO" expect.txt || die "$name: the echoed input is not in the transcript before the save"
		grep -avx "$ECHO" expect.txt | cmp -s - <(strip_ticks ref.txt) ||
			die "$name: restored transcript (echo aside) differs from the uninterrupted run" ;;
	serial-pending)
		# Nothing is typed after the restore: an echo there is the byte
		# the FIFO held.  Where it lands must not depend on timing.
		grep -aqx $'\r' after.txt || die "$name: the byte pending in the FIFO was not echoed after the restore"
		grep -avx $'\r' expect.txt | cmp -s - <(strip_ticks ref.txt) ||
			die "$name: restored transcript (echoes aside) differs from the uninterrupted run"
		for r in 1 2 3; do
			restore_run again.txt
			cat console.txt again.txt | strip_ticks | cmp -s - expect.txt ||
				die "$name: a second restore put the echo elsewhere: not a fixed transcript"
		done ;;
	*)
		cmp -s expect.txt <(strip_ticks ref.txt) ||
			die "$name: restored transcript differs from the uninterrupted run" ;;
	esac
	case $recipe in
	serial-input) how="--serial stdio (input '$INPUT' at 0.3 s)" ;;
	serial-pending) how="--serial stdio (a CR every 1 ms from 0.3 s; attempt $try, $rx byte(s) in the RX FIFO at the save)" ;;
	live) how="--serial file:console.txt --live" ;;
	zstd) how="--compress zstd:3 --serial file:console.txt" ;;
	*) how="--serial file:console.txt" ;;
	esac
	{
		echo "golden file $name.sav, made $(date -u +%Y-%m-%dT%H:%M:%SZ) by tests/data/make-golden.sh"
		echo "recipe: $recipe"
		echo "vmm: $("$vmm" --version 2>&1 | head -n1), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
		echo "saved with: vmm --kernel kernel.elf --mem $MEM --cmdline '$CMD' $how --save s.sav --save-after $AFTER"
		[ "$recipe" != zlib ] || echo "then: recompress s.sav z.sav 6 (tests/data/recompress.c, libssm of the same commit)"
		echo "save landed after step $n of $STEPS"
		echo "units (name version):"
		unit_versions s.sav | sed 's/^/  /'
	} >info.txt
	cp s.sav "$out/$name.sav"
	cp console.txt "$out/$name.before"
	cp expect.txt "$out/$name.expect"
	cp info.txt "$out/$name.info"
	cd "$root"
	echo "make-golden: $name.sav ($(wc -c <"$out/$name.sav") bytes, saved at step $n)"
}

for name in "$@"; do
	make_one "$name"
done
