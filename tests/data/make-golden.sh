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
#   NAME is one of the recipes below (plain, live, serial-input, zlib) optionally
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

make_one() {
	local name=$1 recipe='' r tmp extra=() n
	for r in serial-input plain live zlib; do
		case $name in "$r" | "$r"-*) recipe=$r; break ;; esac
	done
	for f in sav before expect info; do
		[ ! -e "$out/$name.$f" ] || die "$out/$name.$f exists: golden files are never regenerated (pick a new name)"
	done
	case $recipe in
	plain) ;;
	live) extra=(--live) ;;
	serial-input) ;;
	zlib) ;;      # a plain save, then every record recompressed (below)
	*) die "'$name' names no recipe (plain, live, serial-input, zlib)" ;;
	esac
	tmp=$(mktemp -d) || die "mktemp failed"
	trap 'rm -rf "$tmp"' RETURN
	cp "$kernel" "$tmp/kernel.elf"
	cd "$tmp"
	timeout 60 "$vmm" --kernel kernel.elf --mem "$MEM" --cmdline "$CMD" \
		--serial file:ref.txt </dev/null >/dev/null 2>ref.err || die "$name: reference run failed: $(cat ref.err)"
	if [ "$recipe" = serial-input ]; then
		# Input typed 0.3 s in: the guest echoes it between two step
		# lines, long before the save; the UART state saved is the one
		# after it took input.
		{ sleep 0.3; printf "$INPUT"; } | timeout 60 "$vmm" --kernel kernel.elf --mem "$MEM" \
			--cmdline "$CMD" --serial stdio --save s.sav --save-after "$AFTER" \
			>console.txt 2>save.err || die "$name: save failed: $(cat save.err)"
	else
		timeout 60 "$vmm" --kernel kernel.elf --mem "$MEM" --cmdline "$CMD" \
			--serial file:console.txt --save s.sav --save-after "$AFTER" "${extra[@]}" \
			</dev/null >/dev/null 2>save.err || die "$name: save failed: $(cat save.err)"
	fi
	[ -s s.sav ] || die "$name: no state file: $(cat save.err)"
	if [ "$recipe" = zlib ]; then
		# vmm has no compression switch: the same units' data, saved
		# again by libssm at zlib level 6 (tests/data/recompress.c).
		cc -std=c11 -D_GNU_SOURCE -O2 -I"$root" -o recompress "$root/tests/data/recompress.c" \
			"$build/libssm.a" -lz || die "$name: cannot build recompress"
		./recompress s.sav z.sav 6 || die "$name: recompress failed"
		mv z.sav s.sav
	fi
	n=$(grep -acE '^step [0-9]+ sum 0x[0-9a-f]{8} ticks [0-9]+$' console.txt || true)
	[ "$n" -ge 10 ] && [ "$n" -le $((STEPS - 100)) ] || die "$name: the save landed at step $n, not part-way"
	timeout 60 "$vmm" --restore s.sav --serial file:after.txt </dev/null >/dev/null 2>restore.err ||
		die "$name: restore failed: $(cat restore.err)"
	cat console.txt after.txt | strip_ticks >expect.txt
	if [ "$recipe" = serial-input ]; then
		grep -aqx "$ECHO" expect.txt || die "$name: the echoed input is not in the transcript before the save"
		grep -avx "$ECHO" expect.txt | cmp -s - <(strip_ticks ref.txt) ||
			die "$name: restored transcript (echo aside) differs from the uninterrupted run"
	else
		cmp -s expect.txt <(strip_ticks ref.txt) ||
			die "$name: restored transcript differs from the uninterrupted run"
	fi
	{
		echo "golden file $name.sav, made $(date -u +%Y-%m-%dT%H:%M:%SZ) by tests/data/make-golden.sh"
		echo "recipe: $recipe"
		echo "vmm: $("$vmm" --version 2>&1 | head -n1), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
		echo "saved with: vmm --kernel kernel.elf --mem $MEM --cmdline '$CMD'" \
			"$([ "$recipe" = serial-input ] && echo "--serial stdio (input '$INPUT' at 0.3 s)" || echo "--serial file:console.txt")" \
			"--save s.sav --save-after $AFTER ${extra[*]}"
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
