#!/usr/bin/env bash
# Check an install made by `make install DESTDIR=STAGE PREFIX=PREFIX`:
# every file is there, the shared library has the soname libssm.so.MAJOR,
# libssm.so and libssm.a export exactly the SSM_API functions of HEADER,
# the pc file's Cflags find the header, the man pages format without
# warnings, and the examples (EXAMPLE...) need the installed libssm.so.
# Usage: check-install.sh STAGE PREFIX HEADER [EXAMPLE...]
set -euo pipefail
stage=$1 prefix=$2 header=$3; shift 3
root=$stage$prefix lib=$root/lib
fail() { echo "check-install: $*" >&2; exit 1; }

for f in bin/vmm lib/libssm.a lib/libssm.so include/ssm/ssm.h lib/pkgconfig/ssm.pc \
	 share/man/man1/vmm.1 share/man/man3/libssm.3; do
	[ -e "$root/$f" ] || fail "$prefix/$f not installed"
done
real=$(readlink -f "$lib/libssm.so")
[[ $real =~ /libssm\.so\.([0-9]+)\.[0-9]+\.[0-9]+$ ]] ||
	fail "libssm.so does not lead to libssm.so.MAJOR.MINOR.PATCH (got $real)"
major=${BASH_REMATCH[1]}
[ "$(readlink "$lib/libssm.so")" = "libssm.so.$major" ] || fail "libssm.so is not a link to libssm.so.$major"
soname=$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libssm.so.$major" ] || fail "soname is '$soname', not libssm.so.$major"

want=$(sed -nE 's/^SSM_API [^(]*[^a-z0-9_](ssm_[a-z0-9_]+)\(.*/\1/p' "$header" | sort -u)
[ -n "$want" ] || fail "no SSM_API function found in $header"
so_syms=$(nm -D --defined-only "$real" | awk '{print $3}' | sort -u)
a_syms=$(nm -g --defined-only "$lib/libssm.a" | awk 'NF == 3 {print $3}' | sort -u)
for kind in so a; do
	got=${kind}_syms
	extra=$(comm -13 <(echo "$want") <(echo "${!got}") | tr '\n' ' ')
	missing=$(comm -23 <(echo "$want") <(echo "${!got}") | tr '\n' ' ')
	[ -z "$extra" ] || fail "libssm.$kind exports non-API symbols: $extra"
	[ -z "$missing" ] || fail "libssm.$kind lacks API functions: $missing"
done

pc() { PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_LIBDIR=$lib/pkgconfig pkg-config "$@"; }
inc=$(pc --cflags-only-I ssm | sed 's/^-I//; s/ *$//')
[ -f "$inc/ssm/ssm.h" ] || fail "pkg-config Cflags ($inc) do not lead to ssm/ssm.h"
pc --static --libs ssm | grep -q -- '-lz' || fail "ssm.pc lacks -lz in Libs.private"

for m in "$root/share/man/man1/vmm.1" "$root/share/man/man3/libssm.3"; do
	w=$(groff -man -ww -z "$m" 2>&1) || fail "${m##*/} does not format: $w"
	[ -z "$w" ] || fail "${m##*/}: $w"
done

for e in "$@"; do
	readelf -d "$e" | grep -q "NEEDED.*\[libssm\.so\.$major\]" ||
		fail "${e##*/} does not link libssm.so.$major"
	if env -u LD_LIBRARY_PATH "$e" >/dev/null 2>&1 && ! ldconfig -p | grep -q 'libssm\.so'; then
		fail "${e##*/} ran without the staged libssm.so: not linked against it?"
	fi
done
echo "check-install: $(echo "$want" | wc -l) API functions exported by libssm.so and libssm.a, nothing else"
