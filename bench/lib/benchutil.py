"""benchutil.py - what the benchmark's drivers share (bench/lib/vmm_bench.py and
bench/lib/qemu_peer.py): the processes they started, progress and error lines,
line tails with timestamps, and the median/ratio formatting of the report."""
import os
import socket
import statistics
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
    """Kill every process still running that a driver started (each in its
    own session: a vmm or a QEMU), and reap it."""
    for p in list(CHILDREN):
        if p.poll() is None:
            try:
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



def print_report(out, tail=()):
    """Print the report lines out, the runs that could not be made, then
    tail -> the exit status: 1 if some run could not be made."""
    if ERRORS:
        out = out + ['', 'Runs that could not be made (%d):' % len(ERRORS)] + ['  ' + e for e in ERRORS]
    print('\n'.join(list(out) + list(tail)), flush=True)
    return 1 if ERRORS else 0


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


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
    """Two decimals; a ratio below 0.01 (QEMU's boot goes through its BIOS)
    keeps two significant digits instead of printing as 0.00."""
    if x is None:
        return 'n/a'
    return '%.2g' % x if 0 < x < 0.01 else '%.2f' % x


def row(label, ours, theirs, rt, w=(46, 24, 24)):
    return '  %-*s %-*s %-*s %s' % (w[0], label, w[1], ours, w[2], theirs, rt)


