#!/usr/bin/env bash
# Boot the in-tree test kernel on this console (what `make run` does).
# Usage: scripts/run.sh [VMM OPTION]...   (see build/vmm --help)
# With no options the guest runs until Ctrl-C; BUILD selects the build tree.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
vmm=$build/vmm
kernel=$build/guest/kernel.elf
for f in "$vmm" "$kernel"; do
  [ -e "$f" ] || { echo "run: $f is missing; run 'make' first" >&2; exit 1; }
done
cat <<HINT
run: $vmm --kernel $kernel$(printf ' %q' "$@")
run: the guest prints "step N sum 0x... ticks T" lines; type to see it echo,
run: Ctrl-C stops the VM.  Options pass through to vmm, for example:
run:   scripts/run.sh --cmdline "steps=200 mem=64M"     (exits 0 after 200 steps)
run:   scripts/run.sh --mem 1G --serial file:/tmp/console.txt
HINT
exec "$vmm" --kernel "$kernel" "$@"
