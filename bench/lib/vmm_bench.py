#!/usr/bin/env python3
"""vmm_bench.py - the VMM benchmark behind bench/vmm_bench.sh (not run on its
own by scripts/run-bench.sh: it lives under bench/lib/).

In one run it measures our vmm and, as the peer baseline, QEMU booting the
project's multiboot guest (bench/lib/qemu_peer.py says how QEMU is driven
and what each QEMU figure is), and prints ours/QEMU ratios:

A) boot, and save/restore of a paused guest to a file: 256M guest with a
   128M churn area, 1G guest with a 512M churn area, each filled before the
   save.  Ours: `vmm --mem M --cmdline mem=C --save FILE`, SIGTERM once the
   guest has filled its churn area (seen on its serial output); figures:
   spawn -> first guest line, the save time vmm prints ("saved to F in N
   s", pause -> file fsynced and renamed), SIGTERM -> process exit, file
   size; then `vmm --restore FILE`: the load time vmm prints, process spawn
   -> "restored from" line, spawn -> first guest line, continuity (first
   step after restore = last step saved + 1).  QEMU: the same guest sizes
   with fill = the churn area, saved through migrate fd: to the file, and
   restored with -incoming fd: on it.
B) live migration over loopback TCP of a 1G guest with a 512M churn area at
   three dirty rates, median of REPS.  Ours: `vmm --incoming tcp:...` and
   `vmm --mem 1G --cmdline "mem=512M ..." --migrate tcp:...`, SIGUSR1 once
   the area is filled and the paced rate has been measured; figures from
   the source's "migrated:" summary line.  QEMU: 1024 MiB, 512 MiB filled,
   bandwidth unlimited, its guest idle, dirtying 64 MiB/s, and dirtying as
   fast as it can.

BENCH_QUICK=1 (environment) makes it a smoke run: 256M guests only (128M
filled; also for B), one rep each.  VMM_BENCH_GUEST=tickguest: ours boots
QEMU's guest too (`--irqchip kernel`), measured by bench/lib/same_image.py's
runs (A: the same fill, idle; B: QEMU's dirty settings); the figures only
one guest gives (SIGTERM -> exit, load only, dirty rates, pass detail) are
then n/a.

Choices, so the figures read right:
 * COM1 goes to a file, not --serial none: the step lines tell when the
   area is filled (step >= churn / (pages * 4 KiB)), the dirty rate actually
   reached, and that the guest continues (restore/destination's first step
   = last step before + 1).  One ~35-byte line per step costs the guest the
   same either way.
 * The save and the migration are started by a signal (SIGTERM, SIGUSR1)
   once the fill is seen, not by --save-after/--migrate-after guesses.
 * "Idle" is rate=1 with the default 128 pages/step (512 KiB every ~0.5 s,
   ~1 MB/s): with pages=1 the first pass over 512M takes ~75 s here (one
   emulated ring-0 syscall per page).  The fast case is pages=1024 rate=500:
   the flat-out rewrite is ~400 MB/s at 128 pages/step and ~480-500 MB/s at
   1024; the rate reached is measured and printed, before and during the
   migration (the vCPU shares the 2 host CPUs with the migration thread).
 * Both sides idle --settle seconds before every boot, restore and live run:
   memory freed by the previous VM is slow to touch again for a few seconds
   on this host.

Usage: vmm_bench.py --build DIR --scratch DIR [--reps N] [--settle S] [--no-qemu]
Exit status 0 if everything could be measured (a FAIL target is not an
error), 1 if some run could not be made.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import qemu_peer
from bench_guest import TickGuest
from benchutil import (CHILDREN, FOREIGN, Tail, cleanup, error, fmt, fratio, free_port,
                       med, note_foreign, now, on_signal, print_report, progress, ratio, row,
                       T_START)


class Vmm:
    """A vmm process: stderr tailed from a pipe, COM1 to a file, tailed."""

    def __init__(self, a, name, args):
        self.name = name
        self.serial_path = os.path.join(a.scratch, name + '.serial')
        if os.path.exists(self.serial_path):
            os.unlink(self.serial_path)
        self.cmd = [a.vmm] + args + ['--serial', 'file:' + self.serial_path]
        rfd, wfd = os.pipe()
        self.t_spawn = now()
        self.p = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=wfd,
                                  start_new_session=True)
        os.close(wfd)
        CHILDREN.append(self.p)
        self.err = Tail(fd=rfd)
        self.ser = Tail(path=self.serial_path)
        self.rfd = rfd

    def wait(self, timeout):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=10)
            rc = None
        self.t_exit = now()
        return rc

    def finish(self):
        """Kill if still running, stop the tails, forget the process."""
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)
        self.err.th.join(timeout=5)
        self.ser.close()
        try:
            os.close(self.rfd)
        except OSError:
            pass
        if self.p in CHILDREN:
            CHILDREN.remove(self.p)

    def why(self):
        return 'stderr: %s; serial: %s' % (self.err.text_tail(4), self.ser.text_tail(2))


STEP_RE = re.compile(r'^step (\d+) sum 0x[0-9a-f]+ ticks (\d+)$')
BANNER_RE = re.compile(r'churn (\d+)([KMG]?) at \S+, (\d+) pages/step')
SAVED_RE = re.compile(r'vmm: saved to .* in ([\d.]+) s')
RESTORED_RE = re.compile(r'vmm: restored from .* in ([\d.]+) s')
MIGRATED_RE = re.compile(r'vmm: migrated: (\d+) live passes \+ final \[(.*)\]; ([\d.]+) MB total; '
                         r'total time ([\d.]+) s; downtime ([\d.]+) ms')
MIG_FAIL_RE = re.compile(r'vmm: (migration to .* failed|.*failed.*)')


def step_no(txt):
    m = STEP_RE.match(txt)
    return int(m.group(1)) if m else None


def banner(v, timeout=30):
    """-> (churn bytes, pages per step, when it was seen) from the test
    kernel's first line."""
    got = v.ser.wait_for(lambda x: BANNER_RE.search(x), timeout, proc=v.p)
    if not got:
        raise RuntimeError('%s: no test-kernel banner within %d s (%s)' % (v.name, timeout, v.why()))
    m = got[3]
    churn = int(m.group(1)) << {'': 0, 'K': 10, 'M': 20, 'G': 30}[m.group(2)]
    return churn, int(m.group(3)), got[1]


def wait_filled(v, churn, pages, timeout=120):
    """The kernel fills its area in its first pass: wait for the step that
    completes it (the rate= pacing starts there).  -> (index, t, step)."""
    fill_steps = -(-churn // (4096 * pages))
    got = v.ser.wait_for(lambda x: (step_no(x) or 0) >= fill_steps, timeout, proc=v.p)
    if not got:
        raise RuntimeError('%s: churn area not filled within %d s (%s)' % (v.name, timeout, v.why()))
    return got[0], got[1], step_no(got[2]), fill_steps


def serial_file_state(path, parse=step_no):
    """-> (last complete step number, trailing partial line) of a serial file
    (parse: a line -> its number or None; the tick guests' is tick_no)."""
    try:
        text = open(path, 'rb').read().decode('latin-1')
    except OSError:
        return None, ''
    parts = text.replace('\r', '\n').split('\n')
    partial = parts.pop()
    last = None
    for p in reversed(parts):
        last = parse(p)
        if last is not None:
            break
    return last, partial


def raw_head(path):
    """The first byte of a file (b'' if none)."""
    try:
        with open(path, 'rb') as f:
            return f.read(1)
    except OSError:
        return b''


def first_step_after(v, partial, timeout, parse=step_no):
    """First step line the resumed guest prints, joined to the line the old
    side left unfinished.  -> (t, step) or None."""
    got = v.ser.wait_for(lambda x: True, timeout, proc=v.p)
    if not got:
        return None
    lines = v.ser.snapshot()
    if partial and parse(partial) is not None and raw_head(v.serial_path) in (b'\n', b'\r'):
        return lines[0][0], parse(partial)   # the old side's last line lacked only its newline
    for k, (t, x) in enumerate(lines):
        txt = (partial + x) if k == 0 else x
        n = parse(txt)
        if n is not None:
            return t, n
    got = v.ser.wait_for(lambda x: parse(x) is not None, timeout, start=len(lines), proc=v.p)
    return (got[1], parse(got[2])) if got else None


def rate_mbs(points, pages):
    """points: [(t, step)] -> MB/s (10^6 B/s) over the first..last point."""
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return None
    (t0, s0), (t1, s1) = points[0], points[-1]
    return (s1 - s0) * pages * 4096 / (t1 - t0) / 1e6


# ---------------------------------------------------------------- A: ours

def ours_save_restore(a, mem, churn_opt, rep):
    tag = 'sr-%s-%d' % (mem, rep)
    sav = os.path.join(a.scratch, tag + '.sav')
    r = {'mem': mem}
    time.sleep(a.settle)
    note_foreign()
    v = Vmm(a, tag + '-save', ['--mem', mem, '--cmdline', 'mem=' + churn_opt, '--save', sav])
    try:
        churn, pages, t_banner = banner(v)
        r['boot_s'] = t_banner - v.t_spawn
        i, t_fill, _, fill_steps = wait_filled(v, churn, pages)
        r['fill_s'] = t_fill - v.t_spawn
        # a few more steps: the guest is now rewriting, as it would be when
        # someone asks to save it
        v.ser.wait_for(lambda x: (step_no(x) or 0) >= fill_steps + 8, 10, start=i, proc=v.p)
        t_trig = now()
        v.p.send_signal(signal.SIGTERM)
        rc = v.wait(120)
        r['save_wall_s'] = v.t_exit - t_trig
        got = v.err.wait_for(lambda x: SAVED_RE.search(x), 2)
        if rc != 0 or not got:
            raise RuntimeError('%s: save exit status %s, no "saved to" line (%s)' % (tag, rc, v.why()))
        r['save_s'] = float(got[3].group(1))
        r['file_bytes'] = os.path.getsize(sav)
    finally:
        v.finish()
    last, partial = serial_file_state(v.serial_path)

    time.sleep(a.settle)
    w = Vmm(a, tag + '-restore', ['--restore', sav])
    try:
        got = w.err.wait_for(lambda x: RESTORED_RE.search(x), 120, proc=w.p)
        if not got:
            raise RuntimeError('%s: no "restored from" line (%s)' % (tag, w.why()))
        r['restore_s'] = float(got[3].group(1))
        r['spawn_to_restored_s'] = got[1] - w.t_spawn
        fs = first_step_after(w, partial, 10)
        if not fs:
            raise RuntimeError('%s: the restored guest printed no step (%s)' % (tag, w.why()))
        r['spawn_to_step_s'] = fs[0] - w.t_spawn
        r['continuity_ok'] = last is not None and fs[1] == last + 1
        r['continuity'] = 'saved step %s, next step %s' % (last, fs[1])
        w.p.send_signal(signal.SIGTERM)
        rc = w.wait(30)
        if rc != 128 + signal.SIGTERM:
            raise RuntimeError('%s: restored vmm exit status %s after SIGTERM, expected %d (%s)'
                               % (tag, rc, 128 + signal.SIGTERM, w.why()))
    finally:
        w.finish()
        for f in (sav, v.serial_path, w.serial_path):
            if os.path.exists(f):
                os.unlink(f)
    if not r['continuity_ok']:
        raise RuntimeError('%s: guest did not continue where it was saved: %s' % (tag, r['continuity']))
    return r


# ---------------------------------------------------------------- B: ours

def wait_migrated(s, d, tag):
    """The source's "migrated:" line (MIGRATED_RE match) once it has exited
    0; RuntimeError with both sides' output otherwise."""
    got = s.err.wait_for(lambda x: MIGRATED_RE.search(x) or MIG_FAIL_RE.search(x), 120, proc=s.p)
    # a failed migration leaves the source running: do not wait for it
    rc = s.wait(30) if got and MIGRATED_RE.search(got[2]) else s.p.poll()
    if not got or not MIGRATED_RE.search(got[2]) or rc != 0:
        raise RuntimeError('%s: migration failed: source exit %s (%s); destination: %s'
                           % (tag, rc, s.why(), d.why()))
    return got[3]


def ours_live(a, case, rep):
    tag = 'lv-%s-%d' % (case['key'], rep)
    r = {}
    time.sleep(a.settle)
    note_foreign()
    port = free_port()
    target = 'tcp:127.0.0.1:%d' % port
    d = Vmm(a, tag + '-dst', ['--incoming', target])
    s = None
    try:
        if not d.err.wait_for(lambda x: 'waiting for a migration' in x, 10, proc=d.p):
            raise RuntimeError('%s: destination not listening (%s)' % (tag, d.why()))
        s = Vmm(a, tag + '-src', ['--mem', a.live_size['mem'], '--cmdline',
                                  'mem=%s %s' % (a.live_size['fill'], case['opts']),
                                  '--migrate', target])
        churn, pages, _ = banner(s)
        i, t_fill, step_fill, _ = wait_filled(s, churn, pages)
        r['fill_s'] = t_fill - s.t_spawn
        # measure the paced rate over a window after the fill
        time.sleep(max(0.0, t_fill + a.window - now()))
        t_trig = now()
        s.p.send_signal(signal.SIGUSR1)
        before = [(t, step_no(x)) for t, x in s.ser.snapshot()[i:] if step_no(x) is not None and t <= t_trig]
        r['rate_before'] = rate_mbs(before, pages)
        m = wait_migrated(s, d, tag)
        r['live_passes'] = int(m.group(1))
        r['pass_detail'] = m.group(2)
        r['mb_total'] = float(m.group(3))
        r['total_s'] = float(m.group(4))
        r['downtime_ms'] = float(m.group(5))
        s.ser.close()
        during = [(t, step_no(x)) for t, x in s.ser.snapshot() if step_no(x) is not None and t >= t_trig]
        if before:
            during = [before[-1]] + during
        r['rate_during'] = rate_mbs(during, pages)
        last, partial = serial_file_state(s.serial_path)
        if not d.err.wait_for(lambda x: 'migration received' in x, 30, proc=d.p):
            raise RuntimeError('%s: destination did not report the migration (%s)' % (tag, d.why()))
        fs = first_step_after(d, partial, 10)
        if not fs:
            raise RuntimeError('%s: the migrated guest printed no step (%s)' % (tag, d.why()))
        r['continuity'] = 'source last step %s, destination next %s' % (last, fs[1])
        if last is None or fs[1] != last + 1:
            raise RuntimeError('%s: guest did not continue where it left: %s' % (tag, r['continuity']))
        d.p.send_signal(signal.SIGTERM)
        rc = d.wait(30)
        if rc != 128 + signal.SIGTERM:
            raise RuntimeError('%s: destination exit status %s after SIGTERM, expected %d (%s)'
                               % (tag, rc, 128 + signal.SIGTERM, d.why()))
    finally:
        for v in (s, d):
            if v:
                v.finish()
                if os.path.exists(v.serial_path):
                    os.unlink(v.serial_path)
    return r


def count_ok(rs):
    return '%d/%d' % (sum(1 for r in rs if r.get('continuity_ok')), len(rs))


def report_a(a, ours, qemu):
    out = ['',
           'A) Boot, save of a paused guest to a file, and restore from it (file in the page cache),',
           '   median [min..max] of %d; ours: %s, churn area filled;' % (a.reps, a.ours_desc),
           '   QEMU 7.2 (-M pc): bench/guest/tickguest.S with as much filled, migrate fd: to the file,',
           '   bandwidth unlimited.  boot: spawn -> first guest line (QEMU: SeaBIOS runs first).',
           '   save: ours = the time vmm prints ("saved to F in N s": pause -> file written, fsynced,',
           '   renamed); QEMU = migrate -> completed (+ the fsync it times apart).  restore: process',
           '   spawn -> state loaded (ours: the "restored from" line; QEMU: -incoming fd:, paused);',
           '   load only = the time vmm prints.  MB = 10^6 bytes.']
    for z in a.sizes:
        rs, qs = ours.get(z['mem'], []), qemu.get(z['mem'], [])
        g = lambda k, sc=1.0: [r[k] * sc for r in rs if r.get(k) is not None]
        q = lambda k: [r[k] for r in qs if r.get(k) is not None]
        q_durable = [r['save_ms'] + r['fsync_ms'] for r in qs]
        out += ['', '  %s guest, %s filled (ours n=%d, QEMU n=%d)' % (z['mem'], z['fill'], len(rs), len(qs)),
                row('metric', 'ours', 'QEMU', 'ours/QEMU'),
                row('boot: spawn -> first guest line, ms', fmt(g('boot_s', 1000), prec=0),
                    fmt(q('boot_s'), 1000, 0), fratio(ratio(g('boot_s'), q('boot_s')))),
                row('save incl. fsync, ms', fmt(g('save_s', 1000), prec=0),
                    fmt(q_durable, prec=0), fratio(ratio(g('save_s', 1000), q_durable))),
                row('save; QEMU without its fsync, ms', fmt(g('save_s', 1000), prec=0),
                    fmt(q('save_ms'), prec=0), fratio(ratio(g('save_s', 1000), q('save_ms')))),
                row('save: SIGTERM -> vmm exit, ms', fmt(g('save_wall_s'), 1000, 0), '-', ''),
                row('file, MB', fmt(g('file_bytes'), 1e-6, 1), fmt(q('file_bytes'), 1e-6, 1),
                    fratio(ratio(g('file_bytes'), q('file_bytes')))),
                row('restore: spawn -> state loaded, ms', fmt(g('spawn_to_restored_s', 1000), prec=0),
                    fmt(q('loaded_ms'), prec=0),
                    fratio(ratio(g('spawn_to_restored_s', 1000), q('loaded_ms')))),
                row('restore: load only, ms', fmt(g('restore_s'), 1000, 0), '-', ''),
                row('restore: spawn -> first guest line, ms', fmt(g('spawn_to_step_s'), 1000, 0),
                    fmt(q('tick_ms'), prec=0), '(QEMU: cont + wait for tick)'),
                row('guest continued where saved', count_ok(rs), count_ok(qs), '')]
    return out


def report_b(a, cases, ours, qemu):
    z = a.live_size
    out = ['',
           'B) Live migration over loopback TCP, %s guest, %s churn area (ours: %s,'
           % (z['mem'], z['fill'], a.ours_desc),
           '   --max-downtime default 30 ms) vs QEMU 7.2 -M pc, tickguest with %s filled, bandwidth'
           % z['fill'],
           '   unlimited, downtime-limit default 300 ms; median [min..max] of %d.' % a.reps,
           '   MB = 10^6 bytes on both sides; "passes" = our live passes + final, QEMU\'s dirty-sync count.',
           '   Dirty rate: ours measured from the guest\'s step lines (over %.0f s after the fill / from the' % a.window,
           '   migration start to the pause); QEMU: its guest\'s setting, and the max of query-migrate\'s',
           '   dirty-pages-rate while migrating.']
    targets, summary = [], []
    for c in cases:
        rs = ours.get(c['key'], [])
        qs = qemu.get(c['key'], [])
        qok = [r for r in qs if r.get('status') == 'completed']
        g = lambda k: [r.get(k) for r in rs]
        q = lambda k: [r.get(k) for r in qok]
        q_mb = [x / 1e6 for x in q('sent_bytes') if x is not None]
        q_s = [x / 1000 for x in q('total_ms') if x is not None]
        q_rate = [x for x in q('max_dirty_mbs') if x]
        tr, dr, br = ratio(g('total_s'), q_s), ratio(g('downtime_ms'), q('downtime_ms')), ratio(g('mb_total'), q_mb)
        out += ['', '  ours: %s (n=%d)' % (c['qemu_label' if a.tick else 'label'], len(rs)),
                '  QEMU: %s (n=%d completed of %d)' % (c['qemu_label'], len(qok), len(qs)),
                row('metric', 'ours', 'QEMU', 'ours/QEMU'),
                row('dirty rate, MB/s: before migration', fmt(g('rate_before'), prec=1),
                    c['qemu_rate'], ''),
                row('dirty rate, MB/s: while migrating', fmt(g('rate_during'), prec=1),
                    (fmt(q_rate, prec=1) + ' (QEMU est.)') if q_rate else '-', ''),
                row('total time, s', fmt(g('total_s'), prec=3), fmt(q_s, prec=3), fratio(tr)),
                row('downtime, ms', fmt(g('downtime_ms'), prec=2), fmt(q('downtime_ms'), prec=0),
                    fratio(dr)),
                row('sent, MB', fmt(g('mb_total'), prec=1), fmt(q_mb, prec=1), fratio(br)),
                row('passes', fmt([p + 1 for p in g('live_passes') if p is not None], prec=0),
                    fmt(q('passes'), prec=0), ''),
                row('guest continued on the destination', '%d/%d' % (len(rs), len(rs)), count_ok(qok), '')]
        if rs:
            out.append('  ours, passes of the median run: ' + sorted(
                rs, key=lambda r: r['total_s'])[len(rs) // 2]['pass_detail'])
        targets.append((c, rs, tr, br))
        summary.append((c, rs, q_s, q('downtime_ms'), q_mb, q('passes'), tr, dr, br))

    sfmt = '  %-10s %-9s %6s %6s %6s   %6s %6s %6s   %7s %7s %6s   %4s %4s'
    out += ['', '  %-20s %-20s   %-20s   %-22s   %s' % ('Summary (medians)', 'total time, s',
                                                  'downtime, ms', 'sent, MB', 'passes'),
            sfmt % ('ours MB/s', 'QEMU', 'ours', 'QEMU', 'ratio', 'ours', 'QEMU', 'ratio',
                    'ours', 'QEMU', 'ratio', 'ours', 'QEMU')]
    for c, rs, q_s, q_dt, q_mb, q_passes, tr, dr, br in summary:
        f = lambda v, p: '-' if v is None else ('%.' + str(p) + 'f') % v
        om = lambda k: med([r.get(k) for r in rs])
        out.append(sfmt % (
            f(om('rate_before'), 1), c['qemu_short'],
            f(om('total_s'), 3), f(med(q_s), 3), fratio(tr),
            f(om('downtime_ms'), 2), f(med(q_dt), 0), fratio(dr),
            f(om('mb_total'), 1), f(med(q_mb), 1), fratio(br),
            f(med([r['live_passes'] + 1 for r in rs]), 0), f(med(q_passes), 0)))
    out.append('  (ours MB/s = dirty rate measured before the migration)')
    out += ['', 'Targets (issue 4):']

    def verdict(ok):
        return 'n/a' if ok is None else ('PASS' if ok else 'FAIL')
    for c, rs, tr, br in targets:
        if c['key'] == 'r50':
            d = med([r['downtime_ms'] for r in rs])
            out.append('  downtime < 10 ms at 50 MB/s: %s ms -> %s' % (
                'n/a' if d is None else '%.2f' % d, verdict(None if d is None else d < 10)))
    for c, rs, tr, br in targets:
        out.append('  %-44s total time ratio %-5s %-4s  sent ratio %-5s %s' % (
            c['match'] + ':', fratio(tr), verdict(None if tr is None else tr <= 1),
            fratio(br), verdict(None if br is None else br <= 1)))
    out.append('')
    out.append('Targets (issue 8, live migration at the flat-out dirty rate; bench/table.sh refers here):')
    for c, rs, tr, br in targets:
        if c['key'] == 'r500':
            d = med([r['downtime_ms'] for r in rs])
            out.append('  downtime <= 5 ms: %s ms -> %s' % (
                'n/a' if d is None else '%.2f' % d, verdict(None if d is None else d <= 5)))
            out.append('  total time <= 0.6x QEMU\'s: ratio %s -> %s' % (
                fratio(tr), verdict(None if tr is None else tr <= 0.6)))
    return out


CASES = [
    {'key': 'r1', 'opts': 'rate=1', 'qemu_dirty': 'none',
     'label': 'rate=1 (~1 MB/s, one 128-page step every ~0.5 s; near idle)',
     'qemu_label': 'idle (no dirtying after the fill)',
     'qemu_rate': '0 (idle)', 'qemu_short': 'idle', 'match': 'ours ~1 MB/s vs QEMU idle'},
    {'key': 'r50', 'opts': 'rate=50', 'qemu_dirty': '64',
     'label': 'rate=50 (50 MB/s, 128-page steps)',
     'qemu_label': 'dirty=64 (64 MiB/s = 67 MB/s)',
     'qemu_rate': '67.1 (nominal)', 'qemu_short': '64 MiB/s', 'match': 'ours 50 MB/s vs QEMU 64 MiB/s'},
    {'key': 'r500', 'opts': 'pages=1024 rate=500', 'qemu_dirty': 'max',
     'label': 'pages=1024 rate=500 (500 MB/s asked: about this guest\'s flat-out rewrite rate)',
     'qemu_label': 'dirty=max (rewrites its filled area as fast as it can)',
     'qemu_rate': 'flat out', 'qemu_short': 'dirty=max', 'match': 'ours ~500 MB/s (flat out) vs QEMU dirty=max'},
]

SIZES = [{'mem': '256M', 'mem_mib': 256, 'fill': '128M', 'fill_mib': 128},
         {'mem': '1G', 'mem_mib': 1024, 'fill': '512M', 'fill_mib': 512}]


def measure(what, fn, *args):
    """fn(*args) -> its result, or None once the failure is recorded."""
    try:
        return fn(*args)
    except RuntimeError as e:
        error('%s: %s' % (what, e))
        return None


def tick_save_restore(a, z, rep):
    """A) on tickguest (VMM_BENCH_GUEST=tickguest): same_image.py's run, in
    this report's terms."""
    import same_image
    r = same_image.ours_save_restore(a, z['mem_mib'], z['fill_mib'], rep)
    if 'restore_error' in r:
        raise RuntimeError(r['restore_error'])
    return {'mem': z['mem'], 'boot_s': r['boot_s'], 'save_s': r['durable_ms'] / 1000,
            'file_bytes': r['file_bytes'], 'spawn_to_restored_s': r['loaded_ms'] / 1000,
            'spawn_to_step_s': r['tick_ms'] / 1000, 'continuity_ok': r['continuity_ok'],
            'continuity': r['continuity']}


def tick_live(a, c, rep):
    """B) on tickguest, dirtying as QEMU's guest does in case c."""
    import same_image
    z = a.live_size
    r = same_image.ours_live(a, z['mem_mib'], z['fill_mib'], c['qemu_dirty'], rep)
    if not r['continuity_ok']:
        raise RuntimeError('guest did not continue where it left: %s' % r['continuity'])
    return {'live_passes': r['passes'] - 1, 'pass_detail': 'n/a (tickguest)',
            'mb_total': r['sent_bytes'] / 1e6, 'total_s': r['total_ms'] / 1000,
            'downtime_ms': r['downtime_ms']}


def run_tick(a, what, fn, store, key, arg):
    """With VMM_BENCH_GUEST=tickguest: fn(a, arg, rep) for each rep into
    store[key]."""
    for rep in range(a.reps if a.tick else 0):
        r = measure('ours ' + what, fn, a, arg, rep)
        if r:
            store.setdefault(key, []).append(r)
            progress('ours (tickguest) %s rep %d: %s' % (what, rep, r))


def run_all(a, qemu_ok):
    """-> (ours A, QEMU A, ours B, QEMU B): lists of result dicts by size/case."""
    ours_a, qemu_a, ours_b, qemu_b = {}, {}, {}, {}
    for z in a.sizes:
        run_tick(a, 'save/restore %s' % z['mem'], tick_save_restore, ours_a, z['mem'], z)
        for rep in range(0 if a.tick else a.reps):
            r = measure('ours save/restore %s' % z['mem'], ours_save_restore, a, z['mem'], z['fill'], rep)
            if r:
                ours_a.setdefault(z['mem'], []).append(r)
                progress('ours save/restore %s mem=%s rep %d: boot %.3f s, filled after %.2f s, save %.3f s '
                         '(SIGTERM->exit %.3f s), %.1f MB; restore: spawn->loaded %.3f s '
                         '(load %.3f s), spawn->first step %.3f s; %s'
                         % (z['mem'], z['fill'], rep, r['boot_s'], r['fill_s'], r['save_s'], r['save_wall_s'],
                            r['file_bytes'] / 1e6, r['spawn_to_restored_s'], r['restore_s'],
                            r['spawn_to_step_s'], r['continuity']))
        for rep in range(a.reps if qemu_ok else 0):
            q = measure('QEMU save/restore %s' % z['mem'], qemu_peer.save_restore, a, z['mem_mib'],
                        z['fill_mib'], rep)
            if q:
                qemu_a.setdefault(z['mem'], []).append(q)
                progress('QEMU save/restore %s fill=%s rep %d: boot %.3f s, save %.0f ms + fsync %.0f ms, '
                         '%.1f MB; restore: spawn->loaded %.0f ms, spawn->tick %.0f ms; %s'
                         % (z['mem'], z['fill'], rep, q['boot_s'], q['save_ms'], q['fsync_ms'],
                            q['file_bytes'] / 1e6, q['loaded_ms'], q['tick_ms'], q['continuity']))
    z = a.live_size
    for c in CASES:
        run_tick(a, 'live dirty=%s' % c['qemu_dirty'], tick_live, ours_b, c['key'], c)
        for rep in range(0 if a.tick else a.reps):
            r = measure('ours live %s' % c['opts'], ours_live, a, c, rep)
            if r:
                ours_b.setdefault(c['key'], []).append(r)
                progress('ours live %s rep %d: filled after %.2f s, dirty %.1f MB/s before, %s while '
                         'migrating; %d live passes + final, %.1f MB, total %.3f s, downtime %.2f ms'
                         % (c['opts'], rep, r['fill_s'], r['rate_before'] or -1,
                            'n/a' if r['rate_during'] is None else '%.1f MB/s' % r['rate_during'],
                            r['live_passes'], r['mb_total'], r['total_s'], r['downtime_ms']))
        for rep in range(a.reps if qemu_ok else 0):
            q = measure('QEMU live dirty=%s' % c['qemu_dirty'], qemu_peer.live, a, z['mem_mib'],
                        z['fill_mib'], c['qemu_dirty'], rep)
            if q:
                qemu_b.setdefault(c['key'], []).append(q)
                progress('QEMU live dirty=%s rep %d: %s, total %s ms, downtime %s ms, %.1f MB, %s passes; %s'
                         % (c['qemu_dirty'], rep, q['status'], q['total_ms'], q['downtime_ms'],
                            (q['sent_bytes'] or 0) / 1e6, q['passes'], q.get('continuity', '')))
                if q['status'] != 'completed':
                    error('QEMU live dirty=%s rep %d: %s' % (c['qemu_dirty'], rep, q['status']))
    return ours_a, qemu_a, ours_b, qemu_b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--scratch', required=True)
    ap.add_argument('--reps', type=int, default=int(os.environ.get('VMM_BENCH_REPS', 3)))
    ap.add_argument('--settle', type=float, default=float(os.environ.get('VMM_BENCH_SETTLE', 3)),
                    help='idle seconds before every boot/restore/live run, both sides '
                         '(freed host memory is slow to touch again right after)')
    ap.add_argument('--window', type=float, default=2.0,
                    help='live: seconds of paced churn, after the fill, before migrating')
    ap.add_argument('--quick', action='store_true', default=os.environ.get('BENCH_QUICK') == '1',
                    help='256M guests only, one rep (also BENCH_QUICK=1)')
    ap.add_argument('--no-qemu', action='store_true')
    a = ap.parse_args()
    a.vmm = os.path.join(a.build, 'vmm')
    a.tickguest = os.path.join(a.build, 'bench-guest', 'tickguest.bin')
    a.qemu = 'qemu-system-x86_64'
    a.sizes, a.live_size = SIZES, SIZES[-1]
    if a.quick:
        a.sizes, a.live_size, a.reps = SIZES[:1], SIZES[0], 1
    a.tick = os.environ.get('VMM_BENCH_GUEST', 'kernel') == 'tickguest'
    a.ours_desc = 'bench/guest/tickguest.S, --irqchip kernel' if a.tick else 'in-tree test kernel'
    if a.tick:      # what same_image.py's runs of ours read
        a.guest = TickGuest(a.tickguest)
        a.vmm_args, a.vmm_restore_args = ['--irqchip', 'kernel'], []
    load0 = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    qemu_ok = not a.no_qemu
    if qemu_ok:
        for what, ok in ((a.qemu, shutil.which(a.qemu)),
                         (a.tickguest + ' (make bench builds it)', os.path.isfile(a.tickguest))):
            if not ok:
                error('QEMU peer cannot run: %s not found' % what)
                qemu_ok = False

    progress('vmm_bench: %s, %d reps, %.1f s settle before each run%s; QEMU peer: %s'
             % (a.vmm, a.reps, a.settle, ', QUICK (256M only)' if a.quick else '',
                a.tickguest if qemu_ok else 'not run'))
    try:
        ours_a, qemu_a, ours_b, qemu_b = run_all(a, qemu_ok)
    finally:
        cleanup()

    out = ['', '=' * 100, 'vmm_bench results (%s)%s' % (time.strftime('%Y-%m-%d %H:%M:%S'),
                                                       ' QUICK: 256M guests, 1 rep' if a.quick else ''),
           'Guests differ: ours is the in-tree test kernel (guest/, ring-3 churn with 9 mixing rounds',
           'per word, a serial line per step); QEMU\'s is bench/guest/tickguest.S (multiboot, ring-3 fill',
           'and page rewriting, a tick line every 100 ms).  Both do their memory work in ring 3; both fill',
           'the area first.  /dev/kvm here is kvm-pvm (software-nested): guest ring 0 is emulated, ring 3',
           'native.  Ratios are of medians.']
    if a.tick:
        out[3:8] = ['Same guest on both sides (VMM_BENCH_GUEST=tickguest): bench/guest/tickguest.S, ours with',
                    '--irqchip kernel; bench/same_image_bench.sh measures more on it.  Ratios are of medians.']
    out.append('Host: load average %.2f at the start, %.2f at the end; %s.' % (
        load0, os.getloadavg()[0],
        'no other vmm or QEMU process seen' if not FOREIGN['max'] else
        'OTHER vmm/QEMU processes (not this benchmark\'s) ran during %d of %d samples (up to %d at '
        'once): figures may be disturbed' % (FOREIGN['runs_disturbed'], FOREIGN['runs'], FOREIGN['max'])))
    if not qemu_ok:
        out.append('QEMU peer NOT run: QEMU columns are n/a.')
    out += report_a(a, ours_a, qemu_a)
    out += report_b(a, CASES, ours_b, qemu_b)
    return print_report(out, ['vmm_bench: %.0f s' % (now() - T_START)])


if __name__ == '__main__':
    try:
        sys.exit(main())
    finally:
        cleanup()
