#!/usr/bin/env python3
"""same_image.py - the same-image bench behind bench/same_image_bench.sh:
our vmm and QEMU boot the SAME multiboot guest image (bench/lib/
bench_guest.py: the project's tickguest, or the peer baseline's miniguest
when asked and present) and are measured in the same run on save, restore
and live migration; one table prints ours, QEMU's and QEMU/ours per figure
(above 1: QEMU takes that many times longer / more bytes than we do).

Ours: `vmm --kernel IMAGE --mem M [--cmdline "fill=F dirty=D"] --irqchip
kernel` (the guests need an xAPIC: KVM's in-kernel LAPIC), COM1 to a file.
QEMU: bench/lib/qemu_peer.py (-M pc, the same image through its multiboot
loader; QMP).  The two VMMs never run at the same time.  Per RAM size
(--sizes) and fill (--fills, percent of RAM), REPS times each:

  save     guest filled, idle, three ticks in; on a fresh tick: ours
           SIGTERM to `vmm --save F` (stop-and-save): "saved to F in N s"
           = pause -> file fsynced and renamed (durable); QEMU: stop +
           migrate fd: to the file -> completed, + its fsync.  The file's
           size on disk (du).  Also once per cell, a point-in-time
           snapshot of the running guest: ours `--save F --continue
           --background` and SIGTERM (the guest's pause and request ->
           durable, as vmm prints them), QEMU the background-snapshot
           capability (its downtime; migrate -> completed + fsync).
  restore  ours `vmm --restore F`, QEMU -incoming fd: + cont: spawn ->
           state loaded (ours: its "restored from" line; QEMU: paused),
           spawn -> the guest's first tick; continuity: that tick = the
           last tick saved + 1 (a line the save cut is joined).
  live     per --live case (RAM:FILL%:DIRTY), the guest dirtying while it
           migrates over loopback TCP: ours `vmm --incoming` + `--migrate`
           and SIGUSR1 WINDOW s after the fill (its "migrated:" line: total
           time, downtime, MB sent); QEMU: its query-migrate figures,
           bandwidth unlimited, downtime-limit default.  As the guest sees
           it: the tick gap, host time from the source's last tick line to
           the destination's first (a 100 ms period when nothing is lost),
           and continuity (destination's first = source's last + 1).

Medians [min..max] of the reps.  --settle seconds of idle before every
boot, restore and live run, both sides (freed host memory is slow to touch
again on this host).  Exit 1 if a figure could not be measured.
Usage: same_image.py --build DIR --scratch DIR [--guest tickguest|miniguest]
  [--miniguest-asm PATH] [--no-qemu]; the rest from the environment, see
  bench/same_image_bench.sh.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

import qemu_peer
from bench_guest import MiniGuest, TickGuest, tick_no, wait_running
from benchutil import (FOREIGN, T_START, cleanup, error, fmt, fratio, note_foreign, now, on_signal,
                       print_report, progress, ratio, row)
from table import FAILED_RE, SAVED_RE as PIT_SAVED_RE, TAKEN_RE
from vmm_bench import (RESTORED_RE, SAVED_RE, Vmm, first_step_after, measure, serial_file_state,
                       wait_migrated)

TICK_MS = 100           # both guests' timer period


# ---------------------------------------------------------------- ours

def boot_ours(a, tag, mem_mib, fill, dirty, extra):
    """A vmm running the guest, filled and ticking -> (Vmm, boot s)."""
    cmd = ['--kernel', a.guest.image(fill, dirty), '--mem', '%dM' % mem_mib]
    c = a.guest.cmdline(fill, dirty)
    if c is not None:
        cmd += ['--cmdline', c]
    v = Vmm(a, tag, cmd + a.vmm_args + extra)
    try:
        t = wait_running(v.ser, a.guest, fill, v.p, 'vmm ' + tag, v.why)[1]
    except BaseException:
        v.finish()
        raise
    return v, t - v.t_spawn


def fresh_tick(v, who):
    if not v.ser.wait_for(lambda x: tick_no(x) is not None, 5, start=len(v.ser.snapshot()), proc=v.p):
        raise RuntimeError('%s: no fresh tick (%s)' % (who, v.why()))


def stop(v, who, timeout=30):
    """SIGTERM a vmm that has no stop action: it must exit 128 + SIGTERM."""
    v.p.send_signal(signal.SIGTERM)
    rc = v.wait(timeout)
    if rc != 128 + signal.SIGTERM:
        raise RuntimeError('%s: exit status %s after SIGTERM, expected %d (%s)'
                           % (who, rc, 128 + signal.SIGTERM, v.why()))


def drop(*vs):
    for v in vs:
        if v:
            v.finish()
            if os.path.exists(v.serial_path):
                os.unlink(v.serial_path)


def ours_save_restore(a, mem_mib, fill, rep):
    tag = 'si-sr-%d-%d-%d' % (mem_mib, fill, rep)
    sav = os.path.join(a.scratch, tag + '.sav')
    r = {}
    v = None
    try:
        time.sleep(a.settle)
        note_foreign()
        v, r['boot_s'] = boot_ours(a, tag + '-save', mem_mib, fill, 'none', ['--save', sav])
        fresh_tick(v, tag)
        v.p.send_signal(signal.SIGTERM)
        rc = v.wait(120)
        got = v.err.wait_for(lambda x: SAVED_RE.search(x), 2)
        if rc != 0 or not got:
            raise RuntimeError('%s: save exit status %s, no "saved to" line (%s)' % (tag, rc, v.why()))
        r['durable_ms'] = float(got[3].group(1)) * 1000
        st = os.stat(sav)
        r['file_bytes'], r['file_du'] = st.st_size, st.st_blocks * 512
        v.finish()
        last, partial = serial_file_state(v.serial_path, parse=tick_no)
        try:
            ours_restore(a, tag, sav, last, partial, r)
        except RuntimeError as e:    # the save's figures stand: report them
            r['restore_error'] = str(e)
    finally:
        drop(v)
        if os.path.exists(sav):
            os.unlink(sav)
    return r


def ours_restore(a, tag, sav, last, partial, r):
    """Restore sav (saved at tick last, partial line after it) into r."""
    w = None
    try:
        time.sleep(a.settle)
        w = Vmm(a, tag + '-restore', ['--restore', sav] + a.vmm_restore_args)
        got = w.err.wait_for(lambda x: RESTORED_RE.search(x), 120, proc=w.p)
        if not got:
            raise RuntimeError('%s: no "restored from" line (%s)' % (tag, w.why()))
        r['loaded_ms'] = (got[1] - w.t_spawn) * 1000
        fs = first_step_after(w, partial, 10, parse=tick_no)
        if not fs:
            raise RuntimeError('%s: the restored guest printed no tick (%s)' % (tag, w.why()))
        r['tick_ms'] = (fs[0] - w.t_spawn) * 1000
        r['continuity_ok'] = last is not None and fs[1] == last + 1
        r['continuity'] = 'saved tick %s, next tick %s' % (last, fs[1])
        stop(w, tag + ' restored vmm')
    finally:
        drop(w)


def ours_point_in_time(a, mem_mib, fill):
    """One point-in-time snapshot of a running guest -> pause, durable."""
    tag = 'si-pit-%d-%d' % (mem_mib, fill)
    sav = os.path.join(a.scratch, tag + '.sav')
    v = None
    try:
        time.sleep(a.settle)
        note_foreign()
        v, _ = boot_ours(a, tag, mem_mib, fill, 'none', ['--save', sav, '--continue', '--background'])
        fresh_tick(v, tag)
        v.p.send_signal(signal.SIGTERM)
        got = v.err.wait_for(lambda x: TAKEN_RE.search(x) or FAILED_RE.search(x), 30, proc=v.p)
        if not got or not TAKEN_RE.search(got[2]):
            raise RuntimeError('%s: no point-in-time snapshot (%s)' % (tag, v.why()))
        r = {'pause_ms': float(got[3].group(1))}
        got = v.err.wait_for(lambda x: PIT_SAVED_RE.search(x) or FAILED_RE.search(x), 300,
                             start=got[0] + 1, proc=v.p)
        if not got or not PIT_SAVED_RE.search(got[2]):
            raise RuntimeError('%s: the snapshot was not written (%s)' % (tag, v.why()))
        r['durable_ms'] = float(got[3].group(1)) * 1000
        fresh_tick(v, tag + ' (after the snapshot)')
        v.p.send_signal(signal.SIGQUIT)
        v.wait(30)
    finally:
        drop(v)
        if os.path.exists(sav):
            os.unlink(sav)
    return r


def ours_live(a, mem_mib, fill, dirty, rep):
    tag = 'si-lv-%d-%d-%s-%d' % (mem_mib, fill, dirty, rep)
    target = 'tcp:127.0.0.1:%d' % qemu_peer.free_port()
    r = {}
    s = d = None
    try:
        time.sleep(a.settle)
        note_foreign()
        d = Vmm(a, tag + '-dst', ['--incoming', target] + a.vmm_restore_args)
        if not d.err.wait_for(lambda x: 'waiting for a migration' in x, 10, proc=d.p):
            raise RuntimeError('%s: destination not listening (%s)' % (tag, d.why()))
        s, _ = boot_ours(a, tag + '-src', mem_mib, fill, dirty, ['--migrate', target])
        time.sleep(a.window)             # the guest dirties for a while first
        s.p.send_signal(signal.SIGUSR1)
        m = wait_migrated(s, d, tag)
        r['total_ms'] = float(m.group(4)) * 1000
        r['downtime_ms'] = float(m.group(5))
        r['sent_bytes'] = float(m.group(3)) * 1e6
        r['passes'] = int(m.group(1)) + 1
        s.ser.close()
        ticks = [(t, tick_no(x)) for t, x in s.ser.snapshot() if tick_no(x) is not None]
        last, partial = serial_file_state(s.serial_path, parse=tick_no)
        if not d.err.wait_for(lambda x: 'migration received' in x, 30, proc=d.p):
            raise RuntimeError('%s: destination did not report the migration (%s)' % (tag, d.why()))
        fs = first_step_after(d, partial, 10, parse=tick_no)
        if not fs:
            raise RuntimeError('%s: the migrated guest printed no tick (%s)' % (tag, d.why()))
        r['tick_gap_ms'] = (fs[0] - ticks[-1][0]) * 1000 if ticks else None
        r['continuity_ok'] = last is not None and fs[1] == last + 1
        r['continuity'] = 'source last tick %s, destination first %s' % (last, fs[1])
        stop(d, tag + ' destination')
    finally:
        drop(s, d)
    return r


# ---------------------------------------------------------------- report

def count_ok(rs):
    """Continuous / checked (runs whose restore failed were not checked)."""
    rs = [r for r in rs if 'continuity' in r]
    return '%d/%d' % (sum(1 for r in rs if r.get('continuity_ok')), len(rs)) if rs else 'n/a'


def vals(rs, k, scale=1.0):
    return [r[k] * scale for r in rs if r.get(k) is not None]


def fig(label, o, q, prec=0):
    """A row: ours, QEMU, QEMU/ours (o, q: lists of values; None = not measured by that side)."""
    return row(label, '-' if o is None else fmt(o, prec=prec), '-' if q is None else fmt(q, prec=prec),
               fratio(ratio(q, o)) if o is not None and q is not None else '', w=(54, 22, 22))


def report(a, cells, lives):
    g = a.guest
    out = ['', '=' * 110,
           'same-image bench (%s): vmm and QEMU boot the same image, %s' % (
               time.strftime('%Y-%m-%d %H:%M:%S'),
               g.source if g.name == 'tickguest' else '%s (the peer baseline\'s, nasm-built per fill/dirty)'
               % g.source),
           'ours: vmm %s; QEMU: %s -M pc -cpu host,-arch-capabilities (SeaBIOS boot), QMP.'
           % (' '.join(a.vmm_args), a.qemu),
           'Medians [min..max] of %d; QEMU/ours > 1: QEMU takes that many times longer (or more bytes).'
           % a.reps,
           'Host: load average %.2f at the start, %.2f at the end (2 shared CPUs); %s.' % (
               a.load0, os.getloadavg()[0],
               'no other vmm or QEMU process seen' if not FOREIGN['max'] else
               'OTHER vmm/QEMU processes ran during %d of %d runs (up to %d at once): figures may be '
               'disturbed' % (FOREIGN['runs_disturbed'], FOREIGN['runs'], FOREIGN['max'])),
           row('figure', 'ours', 'QEMU', 'QEMU/ours', w=(54, 22, 22))]
    for (mem, fill), (o, pit, q, qpit) in cells:
        out += ['', '  %d MiB RAM, %d MiB filled, guest idle (ours n=%d, QEMU n=%d)' % (mem, fill, len(o), len(q)),
                fig('  boot: spawn -> first guest line, ms', vals(o, 'boot_s', 1e3), vals(q, 'boot_s', 1e3)),
                fig('  save, stop-and-save: stop -> file durable, ms', vals(o, 'durable_ms'),
                    [x['save_ms'] + x['fsync_ms'] for x in q]),
                fig('  save, point-in-time (n=%d): guest pause, ms' % a.pit_reps, vals(pit, 'pause_ms'),
                    vals(qpit, 'pause_ms'), 2),
                fig('  save, point-in-time: request -> durable, ms', vals(pit, 'durable_ms'),
                    vals(qpit, 'durable_ms')),
                fig('  file on disk (du), MiB', vals(o, 'file_du', 2**-20), vals(q, 'file_du', 2**-20), 1),
                fig('  restore: spawn -> state loaded, ms', vals(o, 'loaded_ms'), vals(q, 'loaded_ms')),
                fig('  restore: spawn -> first tick, ms', vals(o, 'tick_ms'), vals(q, 'tick_ms')),
                row('  tick continuity, save -> restore', count_ok(o), count_ok(q), '', w=(54, 22, 22))]
    for (mem, fill, dirty), (o, q) in lives:
        qok = [x for x in q if x.get('status') == 'completed']
        out += ['', '  live migration, %d MiB RAM, %d MiB filled, dirty %s%s (ours n=%d, QEMU n=%d '
                'completed of %d)' % (mem, fill, dirty, '' if dirty in ('none', 'max') else ' MiB/s',
                                      len(o), len(qok), len(q)),
                fig('  total time, ms', vals(o, 'total_ms'), vals(qok, 'total_ms')),
                fig('  downtime, the VMM\'s own figure, ms', vals(o, 'downtime_ms'), vals(qok, 'downtime_ms'), 1),
                fig('  tick gap the guest shows, ms (%d: none lost)' % TICK_MS, vals(o, 'tick_gap_ms'),
                    vals(qok, 'tick_gap_ms')),
                fig('  sent, MB', vals(o, 'sent_bytes', 1e-6), vals(qok, 'sent_bytes', 1e-6), 1),
                fig('  passes (ours: live + final; QEMU: dirty syncs)', vals(o, 'passes'), vals(qok, 'passes')),
                row('  tick continuity, source -> destination', count_ok(o), count_ok(qok), '', w=(54, 22, 22))]
    return out


# ---------------------------------------------------------------- main

def run_all(a, ours_ok, qemu_ok):
    cells, lives = [], []
    for mem in a.sizes:
        for pct in a.fills:
            fill = mem * pct // 100
            o, q = [], []
            for rep in range(a.reps):
                if ours_ok:
                    r = measure('ours save/restore %dM fill %d rep %d' % (mem, fill, rep),
                                ours_save_restore, a, mem, fill, rep)
                    if r:
                        o.append(r)
                        progress('ours %dM fill %d rep %d: %s' % (mem, fill, rep, summary(r)))
                        if 'restore_error' in r:
                            error('ours restore %dM fill %d rep %d: %s' % (mem, fill, rep, r['restore_error']))
                if qemu_ok:
                    r = measure('QEMU save/restore %dM fill %d rep %d' % (mem, fill, rep),
                                qemu_peer.save_restore, a, mem, fill, rep)
                    if r:
                        q.append(r)
                        progress('QEMU %dM fill %d rep %d: %s' % (mem, fill, rep, summary(r)))
            pit, qpit = [], []
            for rep in range(a.pit_reps):
                for ok, who, fn, got in ((ours_ok, 'ours', ours_point_in_time, pit),
                                         (qemu_ok, 'QEMU', qemu_peer.point_in_time, qpit)):
                    r = measure('%s point-in-time %dM fill %d' % (who, mem, fill), fn, a, mem, fill) \
                        if ok else None
                    if r:
                        got.append(r)
                        progress('%s point-in-time %dM fill %d rep %d: %s' % (who, mem, fill, rep, summary(r)))
            for r, who in [(x, 'ours') for x in o] + [(x, 'QEMU') for x in q]:
                if 'restore_error' not in r and not r.get('continuity_ok'):
                    error('%s %dM fill %d: the guest did not continue where it was saved: %s'
                          % (who, mem, fill, r.get('continuity')))
            cells.append(((mem, fill), (o, pit, q, qpit)))
    for mem, pct, dirty in a.live:
        fill = mem * pct // 100
        o, q = [], []
        for rep in range(a.reps):
            if ours_ok:
                r = measure('ours live %dM fill %d dirty %s rep %d' % (mem, fill, dirty, rep),
                            ours_live, a, mem, fill, dirty, rep)
                if r:
                    o.append(r)
                    progress('ours live %dM fill %d dirty %s rep %d: %s' % (mem, fill, dirty, rep, summary(r)))
            if qemu_ok:
                r = measure('QEMU live %dM fill %d dirty %s rep %d' % (mem, fill, dirty, rep),
                            qemu_peer.live, a, mem, fill, dirty, rep)
                if r:
                    q.append(r)
                    progress('QEMU live %dM fill %d dirty %s rep %d: %s' % (mem, fill, dirty, rep, summary(r)))
                    if r.get('status') != 'completed':
                        error('QEMU live %dM dirty %s rep %d: %s' % (mem, dirty, rep, r.get('status')))
        for r, who in [(x, 'ours') for x in o] + [(x, 'QEMU') for x in q if x.get('status') == 'completed']:
            if not r.get('continuity_ok'):
                error('%s live %dM dirty %s: the guest did not continue where it left: %s'
                      % (who, mem, dirty, r.get('continuity')))
        lives.append(((mem, fill, dirty), (o, q)))
    return cells, lives


def summary(r):
    return ', '.join('%s %s' % (k, ('%.3f' % v) if isinstance(v, float) else v) for k, v in sorted(r.items()))


def live_case(s):
    """'1024:50:max' -> (1024, 50, 'max')."""
    mem, pct, dirty = s.split(':')
    if dirty not in ('none', 'max') and not dirty.isdigit():
        raise ValueError('dirty must be none, max or MiB/s: ' + s)
    return int(mem), int(pct), dirty


def vmm_lacks(vmm, args):
    """Options in args that `vmm --help` does not mention -> list."""
    try:
        text = subprocess.run([vmm, '--help'], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return list(args)
    return [x for x in args if x.startswith('--') and x not in text]


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--scratch', required=True)
    ap.add_argument('--guest', choices=('tickguest', 'miniguest'), default=env('SAME_IMAGE_GUEST', 'tickguest'))
    ap.add_argument('--miniguest-asm', default=env('MINIGUEST_ASM', '../shared/bench/miniguest.asm'))
    ap.add_argument('--no-qemu', action='store_true')
    a = ap.parse_args()
    quick = env('BENCH_QUICK') == '1'
    a.sizes = [int(x) for x in env('SAME_IMAGE_SIZES', '256' if quick else '256 1024').split()]
    a.fills = [int(x) for x in env('SAME_IMAGE_FILLS', '50' if quick else '0 50').split()]
    a.live = [live_case(x) for x in env('SAME_IMAGE_LIVE', '256:50:max' if quick else
                                        '1024:50:64 1024:50:max').split()]
    a.reps = int(env('SAME_IMAGE_REPS', '1' if quick else '3'))
    a.pit_reps = int(env('SAME_IMAGE_PIT_REPS', '1'))
    a.settle = float(env('SAME_IMAGE_SETTLE', '3'))
    a.window = float(env('SAME_IMAGE_WINDOW', '2'))
    a.vmm_args = env('SAME_IMAGE_VMM_ARGS', '--irqchip kernel').split()
    a.vmm_restore_args = env('SAME_IMAGE_VMM_RESTORE_ARGS', '').split()
    a.vmm = os.path.join(a.build, 'vmm')
    a.qemu = 'qemu-system-x86_64'
    a.tickguest = os.path.join(a.build, 'bench-guest', 'tickguest.bin')
    if a.guest == 'miniguest':
        a.guest = MiniGuest(os.path.abspath(a.miniguest_asm), os.path.join(a.build, 'bench-guest', 'miniguest'))
    else:
        a.guest = TickGuest(a.tickguest)
    a.load0 = os.getloadavg()[0]
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    why = a.guest.missing()
    if why:
        error('%s cannot be booted: %s' % (a.guest.name, why))
        return print_report([])
    lacks = vmm_lacks(a.vmm, a.vmm_args + a.vmm_restore_args)
    ours_ok = not lacks
    if lacks:
        error('ours NOT run: %s has no %s (the in-kernel LAPIC the guest needs, issue 9.2)'
              % (a.vmm, ' '.join(lacks)))
    qemu_ok = not a.no_qemu
    if qemu_ok and not shutil.which(a.qemu):
        error('QEMU peer NOT run: %s not found' % a.qemu)
        qemu_ok = False
    progress('same_image: %s, RAM %s MiB, fills %s %%, live %s, %d reps, %.0f s settle; load %.2f'
             % (a.guest.name, ' '.join(map(str, a.sizes)), ' '.join(map(str, a.fills)),
                ' '.join('%d:%d:%s' % c for c in a.live), a.reps, a.settle, a.load0))
    try:
        cells, lives = run_all(a, ours_ok, qemu_ok)
    finally:
        cleanup()
    return print_report(report(a, cells, lives), ['same_image: %.0f s' % (now() - T_START)])


if __name__ == '__main__':
    try:
        sys.exit(main())
    finally:
        cleanup()
