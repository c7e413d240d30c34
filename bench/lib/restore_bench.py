"""restore_bench.py - restore time, process spawn -> first guest line, of
`vmm --restore FILE` at several RAM sizes, with same-run baselines.

Method, per size (default 256M 1G 4G 8G; RESTORE_BENCH_SIZES overrides):
  1. boot `vmm --mem SIZE --cmdline mem=8M` and save it 300 ms in;
  2. fill the zero pages of RAM's first FILL bytes offline (ssm_units
     --fill-mib: half of RAM, 1G of an 8G guest) - the guest touching that
     much itself takes minutes on this software-nested host - and write it
     twice: RAM as an extent (ram version 2, what `vmm --save` writes: the
     restore maps it) and as plain records (version 1's layout: the restore
     reads and checks every byte, as every restore did before; only up to
     RESTORE_BENCH_READ_MAX, default 1G: it takes seconds per GiB);
  3. restore each REPS times (page cache warm: the file was just written),
     COM1 on a pipe, timed from spawn to the first complete line; the
     process is killed then.  Also once with --verify (reads every chunk);
  4. baselines in the same run: spawn of `vmm --version` to its first line
     (the floor of any restore), mmap+munmap of the file, and `cat FILE
     >/dev/null` (reading it all, as a copying restore must).
"of it vmm" is spawn -> the vmm's "restored from" line, after which the
guest runs: the rest is the guest finishing its first step (page faults of a
fresh VM).  Figures are medians in ms (mapped: the minimum too, which is what a quiet
host gives: the 2 CPUs here are shared, see the load average printed).  Exit 1 if a size that the vmm accepts could
not be measured; sizes the vmm refuses (--mem beyond its limit) are shown
as n/a with its message.
"""
import argparse
import mmap
import os
import re
import select
import statistics
import subprocess
import sys
import time

now = time.monotonic
STEP_RE = re.compile(rb'^step (\d+) ')


def ms(t):
    return '%.1f' % (t * 1e3)


def first_line(cmd, timeout=30):
    """Spawn cmd (COM1 = stdout pipe) -> (seconds to its first line, the
    line, seconds to its "vmm: restored from" stderr line or None)."""
    t0 = now()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    buf, err, t_rest = b'', b'', None
    watch = [p.stdout, p.stderr]
    try:
        while b'\n' not in buf:
            left = timeout - (now() - t0)
            ready = select.select(watch, [], [], left)[0] if left > 0 else []
            if not ready:
                raise RuntimeError('no line within %d s: %s' % (timeout, ' '.join(cmd)))
            for f in ready:
                chunk = os.read(f.fileno(), 4096)
                if f is p.stderr:
                    err += chunk
                    if t_rest is None and b'vmm: restored from' in err:
                        t_rest = now() - t0
                    if not chunk:
                        watch.remove(f)
                elif not chunk:
                    raise RuntimeError('exited before a line: %s' %
                                       err.decode(errors='replace').strip()[-300:])
                else:
                    buf += chunk
        t = now() - t0
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
        p.stderr.close()
    return t, buf.split(b'\n', 1)[0], t_rest


def run(cmd, timeout=120):
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def size_bytes(s):
    return int(s[:-1]) << {'M': 20, 'G': 30}[s[-1]]


def du_mib(path):
    return os.stat(path).st_blocks * 512 / 2**20


def mmap_s(path):
    t0 = now()
    fd = os.open(path, os.O_RDONLY)
    m = mmap.mmap(fd, 0, mmap.MAP_PRIVATE, mmap.PROT_READ | mmap.PROT_WRITE)
    m.close()
    os.close(fd)
    return now() - t0


def cat_s(path):
    t0 = now()
    subprocess.run(['cat', path], stdout=subprocess.DEVNULL, check=True)
    return now() - t0


def one_size(a, size, reps):
    tool = os.path.join(a.build, 'tests', 'tools', 'ssm_units')
    mem = size_bytes(size)
    fill_mib = (1 << 10) if mem > (4 << 30) else mem // 2 >> 20
    base = os.path.join(a.scratch, size + '-base.sav')
    mapped = os.path.join(a.scratch, size + '-mapped.sav')
    records = os.path.join(a.scratch, size + '-records.sav')
    r = run([a.vmm, '--mem', size, '--cmdline', 'mem=8M', '--serial', 'none',
             '--save', base, '--save-after', '300ms'])
    if r.returncode == 2:
        return {'size': size, 'na': r.stderr.decode(errors='replace').strip().splitlines()[-1]}
    if r.returncode != 0:
        raise RuntimeError('%s: save failed: %s' % (size, r.stderr.decode(errors='replace')))
    for out, extra in ((mapped, ['--extent']),) + (((records, []),) if mem <= a.read_max else ()):
        r = run([tool, base, out, '--fill-mib', str(fill_mib)] + extra, timeout=600)
        if r.returncode:
            raise RuntimeError('%s: ssm_units: %s' % (size, r.stderr.decode(errors='replace')))
    os.unlink(base)
    res = {'size': size, 'fill': fill_mib, 'du': du_mib(mapped)}
    restore = [a.vmm, '--restore', mapped, '--serial', 'stdio']
    runs = [('mapped', restore, reps), ('verify', restore + ['--verify'], 1)]
    if mem <= a.read_max:
        runs.append(('read', [a.vmm, '--restore', records, '--serial', 'stdio'], 1))
    for key, cmd, n in runs:
        ts, trs = [], []
        for _ in range(n):
            t, line, t_rest = first_line(cmd)
            if not STEP_RE.match(line):
                raise RuntimeError('%s %s: first line is not a step: %r' % (size, key, line))
            ts.append(t)
            if t_rest is not None:
                trs.append(t_rest)
        res[key] = statistics.median(ts)
        res[key + '_vmm'] = statistics.median(trs) if trs else float('nan')
        res[key + '_min'] = min(ts)
    res['mmap'] = statistics.median(mmap_s(mapped) for _ in range(reps))
    res['cat'] = cat_s(mapped)
    if os.path.exists(records):
        os.unlink(records)
    os.unlink(mapped)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--scratch', required=True)
    a = ap.parse_args()
    a.vmm = os.path.join(a.build, 'vmm')
    quick = os.environ.get('BENCH_QUICK') == '1'
    sizes = os.environ.get('RESTORE_BENCH_SIZES', '256M 1G' if quick else '256M 1G 4G 8G').split()
    reps = int(os.environ.get('RESTORE_BENCH_REPS', '1' if quick else '5'))
    # Reading (the v1 layout) takes seconds per GiB: measured up to 1G
    # unless asked for.
    a.read_max = size_bytes(os.environ.get('RESTORE_BENCH_READ_MAX', '1G'))
    floors = [first_line([a.vmm, '--version'])[0] for _ in range(reps)]
    floor = statistics.median(floors)
    try:
        load = ' (load average %.1f at the start)' % os.getloadavg()[0]
    except OSError:
        load = ''
    rows, bad = [], 0
    for s in sizes:
        try:
            rows.append(one_size(a, s, reps))
        except Exception as e:      # report, keep measuring the other sizes
            print('restore_bench: %s: %s' % (s, e), file=sys.stderr)
            bad += 1
    print('restore: spawn -> first guest line, ms (median of %d, min in brackets; page cache '
          'warm)%s' % (reps, load))
    print('  floor: spawn of `vmm --version` -> its first line: %s [%s] ms' % (ms(floor), ms(min(floors))))
    print('  "of it vmm": spawn -> the "vmm: restored" line (the guest starts then); the rest '
          'is the guest\'s first step')
    hdr = ('size', 'filled', 'du MiB', 'mapped', 'of it vmm', 'target', '--verify',
           'read (v1 layout)', 'mmap file', 'cat file', 'mapped/floor', 'read/mapped')
    print('  ' + ' | '.join(hdr))
    for r in rows:
        if 'na' in r:
            print('  %s | n/a: %s' % (r['size'], r['na']))
            continue
        target = 10.0 if size_bytes(r['size']) <= (256 << 20) else 12.0
        ok = 'PASS' if r['mapped'] * 1e3 <= target else 'MISS'
        rd = ('%s' % ms(r['read']), '%.0fx' % (r['read'] / r['mapped'])) if 'read' in r \
            else ('-', '-')
        print('  %s | %dM | %.0f | %s [%s] | %s | <= %.0f %s | %s | %s | %.3f | %s | %.2fx | %s' % (
            r['size'], r['fill'], r['du'], ms(r['mapped']), ms(r['mapped_min']),
            ms(r['mapped_vmm']), target, ok,
            ms(r['verify']), rd[0], r['mmap'] * 1e3, ms(r['cat']), r['mapped'] / floor, rd[1]))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
