"""table.py - the issue-8 snapshot table behind bench/table.sh: for each
guest size and fill, ours and QEMU's in the same run, with the same-run
limits and the issue's targets marked PASS/FAIL.

Per size (TABLE_SIZES, default "256M 1G 4G 8G") and fill (TABLE_FILLS in
percent, default "0 50"; an 8G guest's 50 % is 1 GiB: partly filled), ours:
  1. boot `vmm --mem SIZE --cmdline mem=FILL --save F --continue
     --background`, COM1 to a file; wait until the guest has written every
     page of its churn area (0 %: a 64 KiB area) and keeps rewriting it;
  2. SIGTERM -> a point-in-time snapshot: the pause and the time until the
     file is durable (fsynced and renamed) are what vmm prints; TABLE_REPS
     snapshots, one after the other, medians;
  3. limits while the guest still runs: write+fsync of as many non-zero
     bytes as the file holds on disk (st_blocks), by this script to the same
     directory, and mmap+munmap of the file;
  4. the guest is stopped (SIGQUIT); `vmm --restore F --serial stdio`,
     spawn -> first guest line, TABLE_RESTORE_REPS times (page cache warm);
     "of it vmm" is spawn -> its "restored from" line (the rest is the
     guest's first step: page faults of a fresh VM over its churn area).
QEMU (bench/lib/qemu_peer.py save_restore, the vmm_bench.py method): the
same RAM size, bench/guest/tickguest.S with as many MiB filled, stopped and
migrated to a file (its guest pause is the whole write: stop -> "completed";
durable = that + fsync), restored with -incoming fd: and cont, spawn -> first
tick; TABLE_REPS times.  The two VMMs never run at the same time (8 GiB
guests of both would not fit this host's RAM).  Live migration is measured
by bench/vmm_bench.sh (its section B and the issue-8 target lines).
TABLE_GUEST=tickguest: ours boots QEMU's guest too (`--irqchip kernel`,
filled as much, idle), the same image on both sides.
Exit 1 if a figure could not be measured (a FAIL target is not an error).
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import sys
import time

import qemu_peer
from bench_guest import TickGuest
from benchutil import (cleanup, error, fratio, med, note_foreign, now, on_signal, print_report,
                       progress)
from restore_bench import du_mib, first_line, mmap_s, size_bytes
from vmm_bench import Vmm, banner, step_no, wait_filled

TAKEN_RE = re.compile(r'point-in-time snapshot for .* taken: guest paused ([\d.]+) ms')
SAVED_RE = re.compile(r'vmm: saved to .* in ([\d.]+) s \(point-in-time')
FAILED_RE = re.compile(r'vmm: (saving to|point-in-time snapshot to .* abandoned)')
STEP_TAIL_RE = re.compile(rb'^[0-9a-z ]*\d$')
EMPTY_AREA = '64K'      # the 0 % guest still runs its churn loop, over 16 pages


def fill_mib(size, pct):
    """MiB the guest fills: pct of RAM, at most 1 GiB above 4 GiB of RAM."""
    mib = size_bytes(size) * pct // 100 >> 20
    return min(mib, 1024) if size_bytes(size) > (4 << 30) else mib


def write_fsync_s(path, nbytes):
    """Seconds to write nbytes of non-zero data to path and fsync it."""
    buf = (bytes(range(1, 256)) * ((1 << 20) // 255 + 1))[:1 << 20]
    t0 = now()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        left = nbytes
        while left > 0:
            left -= os.write(fd, buf if left >= len(buf) else buf[:left])
        os.fsync(fd)
    finally:
        os.close(fd)
    t = now() - t0
    os.unlink(path)
    return t


def ours(a, size, mib):
    tag = 'tab-%s-%d' % (size, mib)
    sav = os.path.join(a.scratch, tag + '.sav')
    area = '%dM' % mib if mib else EMPTY_AREA
    r = {'pause_ms': [], 'durable_s': []}
    time.sleep(a.settle)
    note_foreign()
    save = ['--save', sav, '--continue', '--background']
    if a.tick:
        import same_image
        v, _ = same_image.boot_ours(a, tag, size_bytes(size) >> 20, mib, 'none', save)
    else:
        v = Vmm(a, tag, ['--mem', size, '--cmdline', 'mem=' + area] + save)
    try:
        if not a.tick:
            churn, pages, _ = banner(v)
            i, _, _, fill_steps = wait_filled(v, churn, pages, timeout=300)
            v.ser.wait_for(lambda x: (step_no(x) or 0) >= fill_steps + 4, 10, start=i, proc=v.p)
        seen = 0
        for _ in range(a.reps):
            v.p.send_signal(signal.SIGTERM)
            got = v.err.wait_for(lambda x: TAKEN_RE.search(x) or FAILED_RE.search(x), 30,
                                 start=seen, proc=v.p)
            if not got or not TAKEN_RE.search(got[2]):
                raise RuntimeError('%s: no point-in-time snapshot (%s)' % (tag, v.why()))
            r['pause_ms'].append(float(got[3].group(1)))
            got = v.err.wait_for(lambda x: SAVED_RE.search(x) or FAILED_RE.search(x), 600,
                                 start=got[0] + 1, proc=v.p)
            if not got or not SAVED_RE.search(got[2]):
                raise RuntimeError('%s: the snapshot was not written (%s)' % (tag, v.why()))
            r['durable_s'].append(float(got[3].group(1)))
            seen = got[0] + 1
        st = os.stat(sav)
        r['du_mib'] = du_mib(sav)
        r['write_fsync_s'] = write_fsync_s(sav + '.floor', st.st_blocks * 512)
        r['mmap_ms'] = statistics.median(mmap_s(sav) for _ in range(3)) * 1e3
    finally:
        if v.p.poll() is None:
            v.p.send_signal(signal.SIGQUIT)
            v.wait(30)
        v.finish()
        if os.path.exists(v.serial_path):
            os.unlink(v.serial_path)
    try:
        time.sleep(a.settle)
        ts, tvs = [], []
        for _ in range(a.restore_reps):
            t, line, t_vmm = first_line([a.vmm, '--restore', sav, '--serial', 'stdio'])
            # The snapshot may have caught the guest mid-line: its first
            # line is then the rest of a step line ("um 0x... ticks 18"; a
            # tick line: "ick 18").
            if not STEP_TAIL_RE.match(line):
                raise RuntimeError('%s: restored guest\'s first line is not a step: %r' % (tag, line))
            ts.append(t * 1e3)
            if t_vmm is not None:
                tvs.append(t_vmm * 1e3)
        r['restore_ms'], r['restored_ms'] = ts, tvs
    finally:
        os.unlink(sav)
    return r


def theirs(a, size, mib):
    rs = []
    for rep in range(a.reps):
        rs.append(qemu_peer.save_restore(a, size_bytes(size) >> 20, mib, rep))
    return {'pause_ms': [q['save_ms'] for q in rs],
            'durable_s': [(q['save_ms'] + q['fsync_ms']) / 1e3 for q in rs],
            'du_mib': med([q['file_du'] / 2**20 for q in rs]),
            'restore_ms': [q['tick_ms'] for q in rs]}


def measure(what, fn, *args):
    try:
        r = fn(*args)
    except RuntimeError as e:
        error('%s: %s' % (what, e))
        return None
    progress('%s: %s' % (what, ', '.join('%s %s' % (k, v) for k, v in sorted(r.items()))))
    return r


def f(x, prec):
    return 'n/a' if x is None else ('%.' + str(prec) + 'f') % x


def verdict(ok):
    return 'n/a' if ok is None else ('PASS' if ok else 'FAIL')


def report(a, rows):
    W = '%-5s %5s | %8s %8s %7s | %8s %8s %6s %8s %5s | %7s %7s | %12s %6s %8s %6s %7s'
    out = ['', 'issue-8 snapshot table (%s), medians; ours: vmm point-in-time save and mapped restore;'
           % time.strftime('%Y-%m-%d %H:%M:%S'),
           'QEMU: stop + migrate to a file, -incoming fd: + cont.  Q/o = QEMU / ours (how many times'
           ' faster we are).',
           'pause: guest-visible pause of the save; durable: save request -> file fsynced; wr+fs: same-run'
           ' write+fsync',
           'of the file\'s non-zero bytes (its du); d/wf = ours durable / wr+fs; restore: spawn -> first'
           ' guest line, median [min]',
           '(of it vmm: spawn -> the vmm\'s "restored from" line, the guest runs then);',
           'mmap: same-run mmap+munmap of our file.  %d save(s) per cell, %d restores of ours.'
           % (a.reps, a.restore_reps),
           'Host: load average %.2f at the start, %.2f at the end (2 CPUs, shared: figures are noisy'
           ' when it is high).' % (a.load0, os.getloadavg()[0]),
           'Guests: %s.' % ('both boot bench/guest/tickguest.S (TABLE_GUEST=tickguest; ours --irqchip kernel)'
                             if a.tick else 'ours the in-tree test kernel, QEMU bench/guest/tickguest.S'),
           W % ('size', 'fill', 'pause ms', 'QEMU', 'Q/o', 'durable', 'QEMU', 'Q/o', 'wr+fs s',
                'd/wf', 'du MiB', 'QEMU', 'restore', 'of it', 'QEMU', 'Q/o', 'mmap ms'),
           W % ('', 'MiB', 'ours', '', '', 's ours', 's', '', '', '', 'ours', '', 'ms ours', 'vmm', 'ms', '', '')]
    for size, mib, o, q in rows:
        om = (lambda k: med(o[k])) if o else (lambda k: None)
        qm = (lambda k: med(q[k])) if q else (lambda k: None)
        qo = lambda k: (qm(k) / om(k)) if om(k) and qm(k) is not None else None
        dwf = om('durable_s') / o['write_fsync_s'] if o and o['write_fsync_s'] else None
        out.append(W % (size, mib, f(om('pause_ms'), 3), f(qm('pause_ms'), 0), fratio(qo('pause_ms')),
                        f(om('durable_s'), 3), f(qm('durable_s'), 3), fratio(qo('durable_s')),
                        f(o and o['write_fsync_s'], 3), fratio(dwf),
                        f(o and o['du_mib'], 1), f(q and q['du_mib'], 1),
                        '%s [%s]' % (f(om('restore_ms'), 1), f(o and min(o['restore_ms']), 1)),
                        f(om('restored_ms'), 1), f(qm('restore_ms'), 0), fratio(qo('restore_ms')),
                        f(o and o['mmap_ms'], 3)))
    out += ['', 'Targets (issue 8), from the rows above:']
    for size, mib, o, q in rows:
        rest = med(o['restore_ms']) if o else None
        qrest = med(q['restore_ms']) if q else None
        lim = {'256M': 10.0, '8G': 12.0}.get(size)
        if lim:
            out.append('  restore <= %.0f ms at %s, %d MiB filled: %s ms -> %s' % (
                lim, size, mib, f(rest, 1), verdict(None if rest is None else rest <= lim)))
        x = qrest / rest if rest and qrest is not None else None
        out.append('  restore >= 50x faster than QEMU\'s at %s, %d MiB filled: %sx -> %s' % (
            size, mib, f(x, 1), verdict(None if x is None else x >= 50)))
        lim = {'1G': 2.0, '8G': 5.0}.get(size)
        p = med(o['pause_ms']) if o else None
        if lim:
            out.append('  point-in-time pause <= %.0f ms at %s, %d MiB filled: %s ms -> %s' % (
                lim, size, mib, f(p, 3), verdict(None if p is None else p <= lim)))
        d = med(o['durable_s']) / o['write_fsync_s'] if o and o['write_fsync_s'] else None
        out.append('  durable within 1.2x write+fsync at %s, %d MiB filled: %sx -> %s' % (
            size, mib, fratio(d), verdict(None if d is None else d <= 1.2)))
    out += ['  live migration: downtime <= 5 ms at the flat-out dirty rate, total <= 0.6x QEMU\'s:',
            '    measured by bench/vmm_bench.sh in the same `make bench` run (its "Targets (issue 8)"',
            '    lines), not here.']
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--scratch', required=True)
    ap.add_argument('--no-qemu', action='store_true')
    a = ap.parse_args()
    a.vmm = os.path.join(a.build, 'vmm')
    a.tickguest = os.path.join(a.build, 'bench-guest', 'tickguest.bin')
    a.qemu = 'qemu-system-x86_64'
    env = os.environ.get
    sizes = env('TABLE_SIZES', '256M 1G 4G 8G').split()
    fills = [int(x) for x in env('TABLE_FILLS', '0 50').split()]
    a.reps = int(env('TABLE_REPS', '1'))
    a.restore_reps = int(env('TABLE_RESTORE_REPS', '5'))
    a.settle = float(env('TABLE_SETTLE', '1'))
    a.tick = env('TABLE_GUEST', 'kernel') == 'tickguest'
    if a.tick:      # what same_image.py's boot of ours reads
        a.guest = TickGuest(a.tickguest)
        a.vmm_args = ['--irqchip', 'kernel']
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    qemu_ok = not a.no_qemu
    if qemu_ok and not (shutil.which(a.qemu) and os.path.isfile(a.tickguest)):
        error('QEMU peer cannot run: %s or %s (make bench) missing' % (a.qemu, a.tickguest))
        qemu_ok = False
    a.load0 = os.getloadavg()[0]
    progress('table: sizes %s, fills %s %%, %d save(s) per cell, %d restores; load average %.1f'
             % (' '.join(sizes), ' '.join(map(str, fills)), a.reps, a.restore_reps, os.getloadavg()[0]))
    rows = []
    try:
        for size in sizes:
            for pct in fills:
                mib = fill_mib(size, pct)
                o = measure('ours %s %d MiB' % (size, mib), ours, a, size, mib)
                q = measure('QEMU %s %d MiB' % (size, mib), theirs, a, size, mib) if qemu_ok else None
                rows.append((size, mib, o, q))
    finally:
        cleanup()
    return print_report(report(a, rows))


if __name__ == '__main__':
    try:
        sys.exit(main())
    finally:
        cleanup()
