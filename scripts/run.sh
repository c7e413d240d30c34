#!/usr/bin/env bash
# Boot the in-tree test kernel on this console (what `make run` does), with
# Ctrl-C suspending it to a state file; `make resume` carries on from there.
# Usage: scripts/run.sh [--resume] [VMM OPTION]...   (see build/vmm --help)
# BUILD selects the build tree, STATE the state file (default build/run.sav).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
state=${STATE:-$build/run.sav}
vmm=$build/vmm
kernel=$build/guest/kernel.elf
for f in "$vmm" "$kernel"; do
  [ -e "$f" ] || { echo "run: $f is missing; run 'make' first" >&2; exit 1; }
done
if [ "${1:-}" = --resume ]; then
  shift
  [ -e "$state" ] || { echo "run: no saved state at $state; 'make run' first, then Ctrl-C" >&2; exit 1; }
  cat <<HINT
run: resuming the guest saved in $state
run: Ctrl-C suspends it again (to $state); 'make resume' carries on later.
HINT
  exec "$vmm" --restore "$state" --save "$state" "$@"
fi
cat <<HINT
run: $vmm --kernel $kernel --save $state$(printf ' %q' "$@")
run: the guest prints "step N sum 0x... ticks T" lines; type to see it echo.
run: Ctrl-C suspends the guest to $state and exits; resume it with
run:   make resume        (or: $vmm --restore $state)
run: SIGQUIT (Ctrl-\\) stops it without saving.  Other examples:
run:   scripts/run.sh --cmdline "steps=200 mem=64M"     (exits 0 after 200 steps)
run:   scripts/run.sh --mem 1G --serial file:/tmp/console.txt
HINT
exec "$vmm" --kernel "$kernel" --save "$state" "$@"
