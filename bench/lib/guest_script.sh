# guest_script.sh NAME - the start every bench script that runs vmm guests
# itself shares (sourced, with build and tmp_root set): die(), the checks
# that the vmm, the test kernel and /dev/kvm are there, a scratch dir $dir
# removed on exit along with the guest $vpid (SIGQUIT), and mib().
bench_name=$1
die() { echo "$bench_name: $*" >&2; exit 1; }
[ -x "$build/vmm" ] || die "$build/vmm not built (make all)"
[ -f "$build/guest/kernel.elf" ] || die "$build/guest/kernel.elf not built (make all)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "/dev/kvm is not usable here: cannot run guests"
mkdir -p "$tmp_root" || exit 1
dir=$(mktemp -d "$tmp_root/$bench_name.XXXXXX") || exit 1
vpid=
cleanup() {
  [ -n "$vpid" ] && kill -QUIT "$vpid" 2>/dev/null && wait "$vpid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mib() { numfmt --from=iec "$1" | awk '{print int($1 / 1048576)}'; }
