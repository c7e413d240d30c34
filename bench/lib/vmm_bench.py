#!/usr/bin/env python3
"""vmm_bench.py - the VMM benchmark behind bench/vmm_bench.sh (not run on its
own by scripts/run-bench.sh: it lives under bench/lib/).

In one run it measures our vmm and, as the peer baseline, QEMU through
/work/shared/bench/qemu_baseline.py (QEMU-RESULTS.md there defines the
metrics), and prints ours/QEMU ratios:

A) save/restore of a paused guest to a file: 256M guest with a 128M churn
   area, 1G guest with a 512M churn area, each filled before the save.
   Ours: `vmm --mem M --cmdline mem=C --save FILE`, SIGTERM once the guest
   has filled its churn area (seen on its serial output); figures: the save
   time vmm prints ("saved to F in N s", pause -> file fsynced and renamed),
   SIGTERM -> process exit, file size; then `vmm --restore FILE`: the load
   time vmm prints, process spawn -> "restored from" line, spawn -> first
   guest line, continuity (first step after restore = last step saved + 1).
   QEMU: qemu_baseline.py save (exec:cat > FILE, bandwidth unlimited) and
   restore (-incoming 'exec:cat FILE', "direct").
B) live migration over loopback TCP of a 1G guest with a 512M churn area at
   three dirty rates, median of REPS.  Ours: `vmm --incoming tcp:...` and
   `vmm --mem 1G --cmdline "mem=512M ..." --migrate tcp:...`, SIGUSR1 once
   the area is filled and the paced rate has been measured; figures from
   the source's "migrated:" summary line.  QEMU: qemu_baseline.py live
   migration, 1024 MiB, 50 % fill, bandwidth unlimited: idle, dirty64 and
   dirty-max.

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
 * Both sides idle --settle seconds before every boot, restore and live run
   (as QEMU-RESULTS.md did): memory freed by the previous VM is slow to
   touch again for a few seconds on this host.

Usage: vmm_bench.py --build DIR --scratch DIR [--reps N] [--settle S]
                    [--qemu-baseline PATH] [--no-qemu]
Exit status 0 if everything could be measured (a FAIL target is not an
error), 1 if some run could not be made.
"""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

now = time.monotonic
T_START = now()
CHILDREN = []          # Popen objects still to be reaped
ERRORS = []            # runs that could not be made


FOREIGN = {'max': 0, 'runs_disturbed': 0, 'runs': 0}


def note_foreign():
    """Count vmm/QEMU processes that are not ours (another user's tests or
    benchmarks share the 2 CPUs and the memory): reported with the figures."""
    mine = set()
    for p in CHILDREN:
        mine.add(p.pid)
    n = 0
    for d in os.listdir('/proc'):
        if not d.isdigit() or int(d) in mine:
            continue
        try:
            comm = open('/proc/%s/comm' % d).read().strip()
            sid = os.getsid(int(d))
        except (OSError, ValueError):
            continue
        if (comm == 'vmm' or comm.startswith('qemu-system')) and sid not in mine:
            n += 1
    FOREIGN['runs'] += 1
    FOREIGN['max'] = max(FOREIGN['max'], n)
    FOREIGN['runs_disturbed'] += n > 0
    return n


def progress(msg):
    print('[%5.0f s] %s' % (now() - T_START, msg), flush=True)


def error(msg):
    ERRORS.append(msg)
    progress('ERROR: ' + msg)


def cleanup():
    for p in list(CHILDREN):
        if p.poll() is None:
            try:
                # our own children only: vmm (its own session) or the
                # qemu_baseline.py driver, whose session holds its QEMUs
                if getattr(p, 'is_driver', False):
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        pass
                    if p.poll() is None:
                        os.killpg(p.pid, signal.SIGKILL)
                else:
                    p.kill()
                p.wait(timeout=10)
            except Exception:
                pass
        if p in CHILDREN:
            CHILDREN.remove(p)


def on_signal(signo, _frame):
    raise SystemExit(128 + signo)


class Tail:
    """Timestamps the complete lines of a file being written (poll) or of a
    pipe (blocking reads), in a thread.  '\\r' also ends a line."""

    def __init__(self, path=None, fd=None, poll_s=0.005):
        self.path, self.fd, self.poll_s = path, fd, poll_s
        self.lines = []            # (t, text)
        self.partial = ''
        self.cv = threading.Condition()
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _feed(self, data):
        t = now()
        with self.cv:
            buf = self.partial + data.decode('latin-1').replace('\r', '\n')
            parts = buf.split('\n')
            self.partial = parts.pop()
            self.lines.extend((t, p) for p in parts if p.strip())
            self.cv.notify_all()

    def _run(self):
        if self.fd is not None:
            while True:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b''
                if not data:
                    break
                self._feed(data)
            with self.cv:
                self.cv.notify_all()
            return
        f = None
        while True:
            stopping = self.stop_ev.is_set()
            if f is None:
                try:
                    f = open(self.path, 'rb')
                except FileNotFoundError:
                    if stopping:
                        return
                    time.sleep(self.poll_s)
                    continue
            data = f.read()
            if data:
                self._feed(data)
            elif stopping:
                break
            else:
                time.sleep(self.poll_s)
        f.close()

    def close(self):
        self.stop_ev.set()
        self.th.join(timeout=5)

    def wait_for(self, pred, timeout, start=0, proc=None):
        """First line at index >= start with pred(text) -> (i, t, text, pred
        result), or None after timeout (or once proc has exited and every
        line it wrote has been seen)."""
        deadline = now() + timeout
        dead_since = None
        with self.cv:
            i = start
            while True:
                while i < len(self.lines):
                    t, txt = self.lines[i]
                    r = pred(txt)
                    if r:
                        return i, t, txt, r
                    i += 1
                rem = deadline - now()
                if rem <= 0:
                    return None
                if proc is not None and proc.poll() is not None:
                    # the process is gone: a pipe is done at EOF, a file
                    # gets a few more polls to be read to its end
                    if dead_since is None:
                        dead_since = now()
                    if (not self.th.is_alive() if self.fd is not None
                            else now() - dead_since > 0.2):
                        return None
                self.cv.wait(min(rem, 0.05))

    def snapshot(self):
        with self.cv:
            return list(self.lines)

    def text_tail(self, n=6):
        with self.cv:
            return ' | '.join(x for _, x in self.lines[-n:])


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
    """-> (churn bytes, pages per step) from the test kernel's first line."""
    got = v.ser.wait_for(lambda x: BANNER_RE.search(x), timeout, proc=v.p)
    if not got:
        raise RuntimeError('%s: no test-kernel banner within %d s (%s)' % (v.name, timeout, v.why()))
    m = got[3]
    churn = int(m.group(1)) << {'': 0, 'K': 10, 'M': 20, 'G': 30}[m.group(2)]
    return churn, int(m.group(3))


def wait_filled(v, churn, pages, timeout=120):
    """The kernel fills its area in its first pass: wait for the step that
    completes it (the rate= pacing starts there).  -> (index, t, step)."""
    fill_steps = -(-churn // (4096 * pages))
    got = v.ser.wait_for(lambda x: (step_no(x) or 0) >= fill_steps, timeout, proc=v.p)
    if not got:
        raise RuntimeError('%s: churn area not filled within %d s (%s)' % (v.name, timeout, v.why()))
    return got[0], got[1], step_no(got[2]), fill_steps


def serial_file_state(path):
    """-> (last complete step number, trailing partial line) of a serial file."""
    try:
        text = open(path, 'rb').read().decode('latin-1')
    except OSError:
        return None, ''
    parts = text.replace('\r', '\n').split('\n')
    partial = parts.pop()
    last = None
    for p in reversed(parts):
        last = step_no(p)
        if last is not None:
            break
    return last, partial


def first_step_after(v, partial, timeout):
    """First step line the resumed guest prints, joined to the line the old
    side left unfinished.  -> (t, step) or None."""
    got = v.ser.wait_for(lambda x: True, timeout, proc=v.p)
    if not got:
        return None
    lines = v.ser.snapshot()
    for k, (t, x) in enumerate(lines):
        txt = (partial + x) if k == 0 else x
        n = step_no(txt)
        if n is not None:
            return t, n
    got = v.ser.wait_for(lambda x: step_no(x) is not None, timeout, start=len(lines), proc=v.p)
    return (got[1], step_no(got[2])) if got else None


def rate_mbs(points, pages):
    """points: [(t, step)] -> MB/s (10^6 B/s) over the first..last point."""
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return None
    (t0, s0), (t1, s1) = points[0], points[-1]
    return (s1 - s0) * pages * 4096 / (t1 - t0) / 1e6


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- A: ours

def ours_save_restore(a, mem, churn_opt, rep):
    tag = 'sr-%s-%d' % (mem, rep)
    sav = os.path.join(a.scratch, tag + '.sav')
    r = {'mem': mem}
    time.sleep(a.settle)
    note_foreign()
    v = Vmm(a, tag + '-save', ['--mem', mem, '--cmdline', 'mem=' + churn_opt, '--save', sav])
    try:
        churn, pages = banner(v)
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
        s = Vmm(a, tag + '-src', ['--mem', '1G', '--cmdline', 'mem=512M ' + case['opts'],
                                  '--migrate', target])
        churn, pages = banner(s)
        i, t_fill, step_fill, _ = wait_filled(s, churn, pages)
        r['fill_s'] = t_fill - s.t_spawn
        # measure the paced rate over a window after the fill
        time.sleep(max(0.0, t_fill + a.window - now()))
        t_trig = now()
        s.p.send_signal(signal.SIGUSR1)
        before = [(t, step_no(x)) for t, x in s.ser.snapshot()[i:] if step_no(x) is not None and t <= t_trig]
        r['rate_before'] = rate_mbs(before, pages)
        got = s.err.wait_for(lambda x: MIGRATED_RE.search(x) or MIG_FAIL_RE.search(x), 120, proc=s.p)
        rc = s.wait(30)
        if not got or not MIGRATED_RE.search(got[2]) or rc != 0:
            raise RuntimeError('%s: migration failed: source exit %s (%s); destination: %s'
                               % (tag, rc, s.why(), d.why()))
        m = got[3]
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


# ---------------------------------------------------------------- QEMU

def qemu_run(a, label, args, timeout):
    """Run qemu_baseline.py with args; -> list of its JSON result records."""
    wd = os.path.join(a.scratch, 'qemu-' + label)
    os.makedirs(wd, exist_ok=True)
    jl = os.path.join(wd, 'results.jsonl')
    cmd = [sys.executable, a.qemu_baseline] + args + [
        '--reps', str(a.reps), '--settle-s', str(a.settle), '--workdir', wd,
        '--json-out', jl, '--md-out', os.path.join(wd, 'summary.md'), '--port', str(free_port())]
    progress('QEMU %s: %s' % (label, ' '.join(cmd[1:])))
    rfd, wfd = os.pipe()
    logf = open(os.path.join(wd, 'stdout.txt'), 'wb')
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=wfd,
                         start_new_session=True)
    p.is_driver = True
    os.close(wfd)
    CHILDREN.append(p)
    err = Tail(fd=rfd)
    deadline = now() + timeout
    seen, results, t_note = 0, [], 0.0
    try:
        while True:
            lines = err.snapshot()
            for _, x in lines[seen:]:
                j = x.find('{')
                if j < 0 or '"phase"' not in x:
                    continue
                try:
                    rec = json.loads(x[j:])
                except ValueError:
                    continue
                results.append(rec)
                progress('  QEMU %s' % qemu_brief(rec))
            seen = len(lines)
            if now() - t_note >= 5:
                t_note = now()
                note_foreign()
            if p.poll() is not None and not err.th.is_alive():
                break
            if now() > deadline:
                error('QEMU %s: qemu_baseline.py still running after %d s, stopped' % (label, timeout))
                break
            time.sleep(0.2)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        err.th.join(timeout=5)
        os.close(rfd)
        logf.close()
        CHILDREN.remove(p)
    if p.returncode != 0:
        error('QEMU %s: qemu_baseline.py exit status %s; last lines: %s'
              % (label, p.returncode, err.text_tail(3)[-1500:]))
    return results


def qemu_brief(r):
    ph, v = r.get('phase'), r.get('variant', '')
    head = '%s %s %dM/fill %dM rep %s:' % (ph, v, r.get('mem', 0), r.get('fill_mb', 0), r.get('rep'))
    if ph == 'boot':
        return '%s first tick %.0f ms' % (head, r.get('boot_to_first_tick_ms', -1))
    if ph == 'save':
        return '%s %s, save %s ms + fsync %s ms, %.1f MB' % (
            head, r.get('status'), r.get('save_wall_ms'), r.get('fsync_ms'),
            (r.get('file_bytes') or 0) / 1e6)
    if ph == 'restore':
        return '%s spawn->loaded %s ms, continuity %s' % (head, r.get('spawn_to_loaded_ms'),
                                                        r.get('continuity_ok'))
    if ph == 'live':
        return '%s %s, total %s ms, downtime %s ms, %.1f MB' % (
            head, r.get('status'), r.get('qemu_total_time_ms'), r.get('qemu_downtime_ms'),
            (r.get('ram_transferred') or 0) / 1e6)
    return head


# ---------------------------------------------------------------- report

def med(vals):
    vals = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return statistics.median(vals) if vals else None


def fmt(vals, scale=1.0, prec=3, unit=''):
    """median [min..max] of vals * scale."""
    vals = [v * scale for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not vals:
        return 'n/a'
    f = '%.' + str(prec) + 'f'
    if len(vals) == 1:
        return (f % vals[0]) + unit
    return (f + '%s [' + f + '..' + f + ']') % (statistics.median(vals), unit, min(vals), max(vals))


def ratio(ours, theirs):
    m1, m2 = med(ours), med(theirs)
    if m1 is None or m2 is None or m2 == 0:
        return None
    return m1 / m2


def fratio(x):
    return 'n/a' if x is None else '%.2f' % x


def row(label, ours, theirs, rt, w=(46, 24, 24)):
    return '  %-*s %-*s %-*s %s' % (w[0], label, w[1], ours, w[2], theirs, rt)


def report_a(a, ours, qemu):
    out = ['',
           'A) Save of a paused guest to a file, and restore from it (file in the page cache),',
           '   median [min..max] of %d; ours: in-tree test kernel, churn area filled;' % a.reps,
           '   QEMU 7.2 (-M pc): its miniguest with 50 % of RAM filled, exec:cat > FILE, bandwidth unlimited.',
           '   save: ours = the time vmm prints ("saved to F in N s": pause -> file written, fsynced,',
           '   renamed); QEMU = migrate -> completed (+ the fsync it times apart).  restore: process',
           '   spawn -> state loaded (ours: the "restored from" line; QEMU: "direct" -incoming, paused);',
           '   load only = the time vmm prints.  MB = 10^6 bytes.']
    for mem, qmem, label in (('256M', 256, '256M guest, 128M filled'), ('1G', 1024, '1G guest, 512M filled')):
        rs = ours.get(mem, [])
        qs = [r for r in qemu if r.get('mem') == qmem and r.get('phase') == 'save'
              and r.get('variant') == 'exec,bw=unlimited' and r.get('status') == 'completed']
        qr = [r for r in qemu if r.get('mem') == qmem and r.get('phase') == 'restore'
              and r.get('variant') == 'direct']
        g = lambda k: [r.get(k) for r in rs]
        q = lambda k, src=qs: [r.get(k) for r in src]
        q_save_fsync = [r['save_wall_ms'] + r['fsync_ms'] for r in qs
                        if r.get('save_wall_ms') is not None and r.get('fsync_ms') is not None]
        ours_save_ms = [x * 1000 for x in g('save_s') if x is not None]
        ours_rest_ms = [x * 1000 for x in g('spawn_to_restored_s') if x is not None]
        out += ['', '  %s (ours n=%d, QEMU n=%d/%d)' % (label, len(rs), len(qs), len(qr)),
                row('metric', 'ours', 'QEMU', 'ours/QEMU'),
                row('save incl. fsync, ms', fmt(ours_save_ms, prec=0),
                    fmt(q_save_fsync, prec=0), fratio(ratio(ours_save_ms, q_save_fsync))),
                row('save; QEMU without its fsync, ms', fmt(ours_save_ms, prec=0),
                    fmt(q('save_wall_ms'), prec=0), fratio(ratio(ours_save_ms, q('save_wall_ms')))),
                row('save: SIGTERM -> vmm exit, ms', fmt(g('save_wall_s'), 1000, 0), '-', ''),
                row('file, MB', fmt(g('file_bytes'), 1e-6, 1), fmt(q('file_bytes'), 1e-6, 1),
                    fratio(ratio(g('file_bytes'), q('file_bytes')))),
                row('restore: spawn -> state loaded, ms', fmt(ours_rest_ms, prec=0),
                    fmt(q('spawn_to_loaded_ms', qr), prec=0),
                    fratio(ratio(ours_rest_ms, q('spawn_to_loaded_ms', qr)))),
                row('restore: load only, ms', fmt(g('restore_s'), 1000, 0), '-', ''),
                row('restore: spawn -> first guest line, ms', fmt(g('spawn_to_step_s'), 1000, 0),
                    fmt(q('spawn_to_tick_ms', qr), prec=0), '(QEMU: cont + wait for tick)'),
                row('guest continued where saved', '%d/%d' % (sum(1 for r in rs if r.get('continuity_ok')), len(rs)),
                    '%d/%d' % (sum(1 for r in qr if r.get('continuity_ok')), len(qr)), '')]
    return out


def report_b(a, cases, ours, qemu):
    out = ['',
           'B) Live migration over loopback TCP, 1G guest, 512M churn area (ours: in-tree test kernel,',
           '   --max-downtime default 30 ms) vs QEMU 7.2 -M pc, miniguest with 512 MiB filled, bandwidth',
           '   unlimited, downtime-limit default 300 ms; median [min..max] of %d.' % a.reps,
           '   MB = 10^6 bytes on both sides; "passes" = our live passes + final, QEMU\'s dirty-sync count.',
           '   Dirty rate: ours measured from the guest\'s step lines (over %.0f s after the fill / from the' % a.window,
           '   migration start to the pause); QEMU: its guest\'s setting, and the max of query-migrate\'s',
           '   dirty-pages-rate while migrating.']
    targets, summary = [], []
    for c in cases:
        rs = ours.get(c['key'], [])
        qs = [r for r in qemu if r.get('mem') == 1024 and r.get('phase') == 'live'
              and r.get('variant') == c['qemu_variant']]
        qok = [r for r in qs if r.get('status') == 'completed']
        g = lambda k: [r.get(k) for r in rs]
        q = lambda k: [r.get(k) for r in qok]
        q_mb = [x / 1e6 for x in q('ram_transferred') if x is not None]
        q_rate = [x * 4096 / 1e6 for x in q('max_dirty_pages_rate') if x]
        tr, dr, br = (ratio(g('total_s'), [x / 1000 for x in q('qemu_total_time_ms') if x is not None]),
                      ratio(g('downtime_ms'), q('qemu_downtime_ms')), ratio(g('mb_total'), q_mb))
        out += ['', '  ours: %s (n=%d)' % (c['label'], len(rs)),
                '  QEMU: %s (n=%d completed of %d)' % (c['qemu_label'], len(qok), len(qs)),
                row('metric', 'ours', 'QEMU', 'ours/QEMU'),
                row('dirty rate, MB/s: before migration', fmt(g('rate_before'), prec=1),
                    c['qemu_rate'], ''),
                row('dirty rate, MB/s: while migrating', fmt(g('rate_during'), prec=1),
                    (fmt(q_rate, prec=1) + ' (QEMU est.)') if q_rate else '-', ''),
                row('total time, s', fmt(g('total_s'), prec=3),
                    fmt(q('qemu_total_time_ms'), 1e-3, 3), fratio(tr)),
                row('downtime, ms', fmt(g('downtime_ms'), prec=2), fmt(q('qemu_downtime_ms'), prec=0),
                    fratio(dr)),
                row('sent, MB', fmt(g('mb_total'), prec=1), fmt(q_mb, prec=1), fratio(br)),
                row('passes', fmt([p + 1 for p in g('live_passes') if p is not None], prec=0),
                    fmt(q('ram_dirty_sync_count'), prec=0), ''),
                row('guest continued on the destination', '%d/%d' % (len(rs), len(rs)),
                    '%d/%d' % (sum(1 for r in qok if r.get('continuity_ok')), len(qok)), '')]
        if rs:
            out.append('  ours, passes of the median run: ' + sorted(
                rs, key=lambda r: r['total_s'])[len(rs) // 2]['pass_detail'])
        targets.append((c, rs, tr, br))
        summary.append((c, rs, qok, tr, dr, br))

    sfmt = '  %-10s %-9s %6s %6s %6s   %6s %6s %6s   %7s %7s %6s   %4s %4s'
    out += ['', '  %-20s %-20s   %-20s   %-22s   %s' % ('Summary (medians)', 'total time, s',
                                                  'downtime, ms', 'sent, MB', 'passes'),
            sfmt % ('ours MB/s', 'QEMU', 'ours', 'QEMU', 'ratio', 'ours', 'QEMU', 'ratio',
                    'ours', 'QEMU', 'ratio', 'ours', 'QEMU')]
    for c, rs, qok, tr, dr, br in summary:
        qm = lambda k, sc=1.0: med([x * sc for x in (r.get(k) for r in qok) if x is not None])
        f = lambda v, p: '-' if v is None else ('%.' + str(p) + 'f') % v
        om = lambda k: med([r.get(k) for r in rs])
        out.append(sfmt % (
            f(om('rate_before'), 1), c['qemu_short'],
            f(om('total_s'), 3), f(qm('qemu_total_time_ms', 1e-3), 3), fratio(tr),
            f(om('downtime_ms'), 2), f(qm('qemu_downtime_ms'), 0), fratio(dr),
            f(om('mb_total'), 1), f(qm('ram_transferred', 1e-6), 1), fratio(br),
            f(med([r['live_passes'] + 1 for r in rs]), 0), f(qm('ram_dirty_sync_count'), 0)))
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
    return out


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
    ap.add_argument('--qemu-baseline', default=os.environ.get(
        'QEMU_BASELINE', '/work/shared/bench/qemu_baseline.py'))
    ap.add_argument('--no-qemu', action='store_true')
    a = ap.parse_args()
    a.vmm = os.path.join(a.build, 'vmm')
    global LOAD0
    LOAD0 = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    cases = [
        {'key': 'r1', 'opts': 'rate=1',
         'label': 'rate=1 (~1 MB/s, one 128-page step every ~0.5 s; near idle)',
         'qemu_variant': 'idle,bw=unlimited', 'qemu_label': 'idle (no dirtying after the fill)',
         'qemu_rate': '0 (idle)', 'qemu_short': 'idle', 'match': 'ours ~1 MB/s vs QEMU idle'},
        {'key': 'r50', 'opts': 'rate=50', 'label': 'rate=50 (50 MB/s, 128-page steps)',
         'qemu_variant': 'dirty64,bw=unlimited', 'qemu_label': 'dirty64 (64 MiB/s = 67 MB/s)',
         'qemu_rate': '67.1 (nominal)', 'qemu_short': '64 MiB/s', 'match': 'ours 50 MB/s vs QEMU 64 MiB/s'},
        {'key': 'r500', 'opts': 'pages=1024 rate=500',
         'label': 'pages=1024 rate=500 (500 MB/s asked: about this guest\'s flat-out rewrite rate)',
         'qemu_variant': 'dirty-max,bw=unlimited',
         'qemu_label': 'dirty-max (rewrites its 512 MiB unthrottled)',
         'qemu_rate': 'unthrottled', 'qemu_short': 'dirty-max', 'match': 'ours ~500 MB/s (flat out) vs QEMU dirty-max'},
    ]

    qemu_ok = not a.no_qemu
    if qemu_ok:
        for what, ok in (('qemu-system-x86_64', shutil_which('qemu-system-x86_64')),
                         ('nasm', shutil_which('nasm')),
                         (a.qemu_baseline, os.path.isfile(a.qemu_baseline))):
            if not ok:
                error('QEMU peer cannot run: %s not found' % what)
                qemu_ok = False

    progress('vmm_bench: %s, %d reps, %.1f s settle before each run; QEMU peer: %s'
             % (a.vmm, a.reps, a.settle, a.qemu_baseline if qemu_ok else 'not run'))
    ours_a, ours_b, qemu = {}, {}, []
    try:
        # A, ours
        for mem, churn in (('256M', '128M'), ('1G', '512M')):
            for rep in range(a.reps):
                try:
                    r = ours_save_restore(a, mem, churn, rep)
                except RuntimeError as e:
                    error(str(e))
                    continue
                ours_a.setdefault(mem, []).append(r)
                progress('ours save/restore %s mem=%s rep %d: filled after %.2f s, save %.3f s '
                         '(SIGTERM->exit %.3f s), %.1f MB; restore: spawn->loaded %.3f s '
                         '(load %.3f s), spawn->first step %.3f s; %s'
                         % (mem, churn, rep, r['fill_s'], r['save_s'], r['save_wall_s'],
                            r['file_bytes'] / 1e6, r['spawn_to_restored_s'], r['restore_s'],
                            r['spawn_to_step_s'], r['continuity']))
        # A, QEMU (256 MiB; 1024 MiB comes with B)
        if qemu_ok:
            qemu += qemu_run(a, 'save-256', [
                '--mem', '256', '--fill-pct', '50', '--save-bandwidth', 'unlimited',
                '--incoming-modes', 'direct', '--skip-live'], timeout=60 + a.reps * (30 + 3 * a.settle))
        # B, ours
        for c in cases:
            for rep in range(a.reps):
                try:
                    r = ours_live(a, c, rep)
                except RuntimeError as e:
                    error(str(e))
                    continue
                ours_b.setdefault(c['key'], []).append(r)
                progress('ours live %s rep %d: filled after %.2f s, dirty %.1f MB/s before, %s while '
                         'migrating; %d live passes + final, %.1f MB, total %.3f s, downtime %.2f ms'
                         % (c['opts'], rep, r['fill_s'], r['rate_before'] or -1,
                            'n/a' if r['rate_during'] is None else '%.1f MB/s' % r['rate_during'],
                            r['live_passes'], r['mb_total'], r['total_s'], r['downtime_ms']))
        # A 1024 + B, QEMU
        if qemu_ok:
            qemu += qemu_run(a, 'save-live-1024', [
                '--mem', '1024', '--fill-pct', '50', '--save-bandwidth', 'unlimited',
                '--incoming-modes', 'direct', '--live-bandwidth', 'unlimited',
                '--dirty-rates', '0,64'], timeout=120 + a.reps * (120 + 6 * a.settle))
    finally:
        cleanup()

    out = ['', '=' * 100, 'vmm_bench results (%s)' % time.strftime('%Y-%m-%d %H:%M:%S'),
           'Guests differ: ours is the in-tree test kernel (guest/, ring-3 churn with 9 mixing rounds',
           'per word, a serial line per step); QEMU\'s is its miniguest (/work/shared/bench/miniguest.asm).',
           'Both do their memory work in ring 3; both fill the area first.  /dev/kvm here is kvm-pvm',
           '(software-nested): guest ring 0 is emulated, ring 3 native.  Ratios are of medians.']
    out.append('Host: load average %.2f at the start, %.2f at the end; %s.' % (
        LOAD0, os.getloadavg()[0],
        'no other vmm or QEMU process seen' if not FOREIGN['max'] else
        'OTHER vmm/QEMU processes (not this benchmark\'s) ran during %d of %d samples (up to %d at '
        'once): figures may be disturbed' % (FOREIGN['runs_disturbed'], FOREIGN['runs'], FOREIGN['max'])))
    if not qemu_ok:
        out.append('QEMU peer NOT run: QEMU columns are n/a.')
    out += report_a(a, ours_a, qemu)
    out += report_b(a, cases, ours_b, qemu)
    if ERRORS:
        out += ['', 'Runs that could not be made (%d):' % len(ERRORS)] + ['  ' + e for e in ERRORS]
    out.append('vmm_bench: %.0f s' % (now() - T_START))
    print('\n'.join(out), flush=True)
    return 1 if ERRORS else 0


def shutil_which(name):
    import shutil
    return shutil.which(name) is not None


if __name__ == '__main__':
    try:
        sys.exit(main())
    finally:
        cleanup()
