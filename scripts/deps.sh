#!/usr/bin/env bash
# Install (as root) or name (otherwise) the Debian packages a target needs.
# Usage: deps.sh run|test|bench
set -euo pipefail
need=(gcc make libc6-dev linux-libc-dev zlib1g-dev libzstd-dev libjansson-dev libgnutls28-dev
      binutils pkg-config)
case "${1:-run}" in
  test) need+=(libcriterion-dev clang libclang-rt-14-dev valgrind groff-base gnutls-bin) ;;
  bench) need+=(qemu-system-x86 python3) ;;   # bench/vmm_bench.sh: the QEMU peer and its driver
esac
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
line="apt-get install -y ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  echo "deps: installing missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q "${missing[@]}" >/tmp/ssm-deps.log 2>&1; then
    apt-get update -q >>/tmp/ssm-deps.log 2>&1 || true
    apt-get install -y -q "${missing[@]}" >>/tmp/ssm-deps.log 2>&1 || {
      echo "deps: '$line' failed; see /tmp/ssm-deps.log" >&2; exit 1; }
  fi
else
  echo "deps: missing Debian packages. Run as root:" >&2
  echo "  $line" >&2
  exit 1
fi
