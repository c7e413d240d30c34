#!/usr/bin/env bash
# same_image_miniguest.sh - bench/same_image_bench.sh on the peer baseline's
# own guest, ../shared/bench/miniguest.asm (outside the project: reference
# material, used only when present; MINIGUEST_ASM names another copy),
# assembled with nasm per fill and dirty rate into
# BUILD_DIR/bench-guest/miniguest/ (never committed).  Both VMMs boot those
# images; same figures, same knobs (SAME_IMAGE_*).  Skipped, loudly and
# with exit status 0, when the file or nasm is absent (a fresh clone).
#   bash bench/same_image_miniguest.sh [BUILD_DIR]
set -u
cd "$(dirname "$0")/.." || exit 1
asm=${MINIGUEST_ASM:-../shared/bench/miniguest.asm}
if [ ! -f "$asm" ]; then
  echo "same_image_miniguest: SKIPPED: $asm not found (the peer baseline's guest; set MINIGUEST_ASM)"
  exit 0
fi
if ! command -v nasm >/dev/null; then
  echo "same_image_miniguest: SKIPPED: nasm not found (apt-get install nasm) to assemble $asm"
  exit 0
fi
MINIGUEST_ASM=$(cd "$(dirname "$asm")" && pwd)/$(basename "$asm")
export MINIGUEST_ASM SAME_IMAGE_GUEST=miniguest
. bench/lib/driver.sh
bench_driver same_image_miniguest same_image.py "${SAME_IMAGE_NO_QEMU:-0}" "${1:-}"
