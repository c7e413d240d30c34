#!/usr/bin/env python3
"""conformance.py - kvm-unit-tests (x86) on vmm, plain, across a save and
restore at a random moment, across a live migration at a random moment,
and under QEMU's microvm machine on this host, in one run; one table.

Usage: scripts/conformance.py [--vmm BUILD/vmm] [--quick] [--expect-pass]
                              [--extra NAME:FILE[:ARGS]...]
       scripts/conformance.py --build-only   (find or build the suite, run nothing)

The suite is an external one (GPL-2.0, not part of the project), taken
from KUT_DIR (a built or an unbuilt tree: it is configured and built in
place) or built from ../shared/peers/kvm-unit-tests-1da1819e.tar.gz
(relative to the project root) into build/kut/, once (kept there, and
used without the tarball once built).  Neither present:
one SKIP line and exit 0.

Environment: CONFORMANCE_TESTS="a b" (those tests only), CONFORMANCE_TIMEOUT
(seconds per run, default 25; a test's own smaller timeout wins),
CONFORMANCE_SEED (the random moments), CONFORMANCE_NO_QEMU=1,
CONFORMANCE_MODES (any of plain,save,migrate,qemu; default all).

Each test is run as x86/run would run it (scripts/arch-run.bash,
scripts/runtime.bash of the suite): the .flat file as the multiboot
kernel, test_args as its command line, an environment file as its first
module, -smp/-m/-cpu from unittests.cfg.  Results are mapped as the suite's
runner maps them: exit 1 (isa-debug-exit of 0) PASS, 77 SKIP, timeout FAIL,
anything else FAIL; plain runs also FAIL on a stderr line without
"warning" (run_tests.sh does the same), migration and save runs are judged
by the status of the last vmm and the SUMMARY line (vmm reports the save
and the migration on stderr).  Tests that do not pass plain are not run
across save/restore or migration ("-").

The migration handshake of the suite's lib/migrate.c (upstream x86 has no
test using it, and no serial input): a guest printing "Now migrate the VM,
then press a key to continue..." is migrated (SIGUSR1 to the source) or
saved (SIGTERM with --save) at that moment rather than at a random one, and
a newline goes to the serial input of the vmm that carries on (plain runs
get the newline at once).
"""
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'bench', 'lib'))
from benchutil import free_port  # noqa: E402  (the bench's one copy)
TARBALL = os.path.join(ROOT, '..', 'shared', 'peers', 'kvm-unit-tests-1da1819e.tar.gz')
# The tree built from TARBALL, kept between runs.
CACHE = os.path.join(ROOT, 'build', 'kut', 'kvm-unit-tests')
MARKER = 'Now migrate the VM'
QUICK = ['vmexit_cpuid', 'setjmp', 'smptest']
QEMU = '/usr/bin/qemu-system-x86_64'
MICROVM = ('microvm,accel=kvm,acpi=off,pic=on,pit=on,rtc=off,isa-serial=on,'
           'auto-kernel-cmdline=off,pcie=off')


def log(msg):
    print('conformance: ' + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the suite

def suite_dir():
    """A built suite tree, building it if needed; None if there is none."""
    kut = os.environ.get('KUT_DIR')
    if kut:
        if not os.path.isfile(os.path.join(kut, 'x86', 'unittests.cfg')):
            log('SKIP: KUT_DIR=%s is not a kvm-unit-tests tree (no x86/unittests.cfg)' % kut)
            return None
        tree = kut
    elif os.path.isfile(TARBALL) or os.path.isfile(os.path.join(CACHE, 'build-done.stamp')):
        base = os.path.dirname(CACHE)
        tree = CACHE
        if not os.path.isfile(os.path.join(tree, 'x86', 'unittests.cfg')):
            os.makedirs(base, exist_ok=True)
            log('extracting %s into %s' % (os.path.normpath(TARBALL), base))
            subprocess.run(['tar', 'xzf', TARBALL, '-C', base], check=True)
    else:
        log('SKIP: kvm-unit-tests not found: KUT_DIR is not set and %s is absent; '
            'only our own guests run' % os.path.normpath(TARBALL))
        return None
    if not os.path.isfile(os.path.join(tree, 'build-done.stamp')) and \
            not (kut and os.path.isfile(os.path.join(tree, 'x86', 'vmexit.flat'))):
        log('building the suite in %s (about a minute)' % tree)
        if not os.path.isfile(os.path.join(tree, 'config.mak')):
            subprocess.run(['./configure'], cwd=tree, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(['make', '-j%d' % (os.cpu_count() or 2)], cwd=tree, check=True,
                       stdout=subprocess.DEVNULL)
        open(os.path.join(tree, 'build-done.stamp'), 'w').close()
    return tree


def parse_cfg(path):
    """unittests.cfg as a list of dicts in file order (comments dropped)."""
    tests, cur = [], None
    for raw in open(path):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        m = re.match(r'^\[(.+)\]$', line)
        if m:
            cur = {'name': m.group(1)}
            tests.append(cur)
            continue
        m = re.match(r'^(\w+)\s*=\s*(.*)$', line)
        if m and cur is not None:
            key, val = m.group(1), m.group(2).strip()
            if len(val) >= 2 and val[0] == val[-1] and val[0] in '\'"':
                val = val[1:-1]
            if key == 'extra_params':
                key = 'qemu_params'
            cur[key] = val
    return tests


def expand_backticks(s):
    """`cmd` as the shell would expand it (kvmclock_test's `date +%s`)."""
    return re.sub(r'`([^`]*)`', lambda m: subprocess.run(
        m.group(1), shell=True, capture_output=True, text=True).stdout.strip(), s)


def qemu_opts(params):
    """-cpu/-m/-machine/-device/... of qemu_params as a dict of lists."""
    out = {}
    words = shlex.split(expand_backticks(params or ''))
    i = 0
    while i < len(words):
        w = words[i]
        if w.startswith('-') and i + 1 < len(words) and not words[i + 1].startswith('-'):
            out.setdefault(w.lstrip('-'), []).append(words[i + 1])
            i += 2
        else:
            out.setdefault(w.lstrip('-'), []).append('')
            i += 1
    return out


def skip_reason(t, tree):
    """Why the suite's runner would skip t here, or None."""
    if t.get('arch') and t['arch'] != 'x86_64':
        return '%s only' % t['arch']
    if 'nodefault' in t.get('groups', '').split():
        return 'test marked as manual run only'
    for chk in t.get('check', '').split():
        p, _, v = chk.partition('=')
        try:
            got = open(p).read().strip()
        except OSError:
            got = None
        if got != v:
            return '%s not equal to %s' % (p, v)
    if not os.path.isfile(os.path.join(tree, 'x86', t['file'])):
        return "Test file '%s' not found" % t['file']
    return None


def write_env(path):
    """The environment module, as scripts/arch-run.bash env_params writes it."""
    rel = os.uname().release
    ver = re.match(r'(\d+)\.(\d+)\.?(\d*)', rel)
    lines = ['TARGET=qemu', 'QEMU_ACCEL=kvm', 'KERNEL_VERSION_STRING=' + rel]
    if ver:
        lines += ['KERNEL_VERSION=' + ver.group(1), 'KERNEL_PATCHLEVEL=' + ver.group(2),
                  'KERNEL_SUBLEVEL=' + ver.group(3)]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def mem_arg(m):
    """QEMU's -m (MiB when bare) as vmm's --mem."""
    m = m.upper()
    return m + 'M' if m.isdigit() else m.rstrip('B')


# ---------------------------------------------------------------- running

class Proc:
    """A child with its stdout watched for the migration marker; stdin a pipe."""

    def __init__(self, argv, tag, workdir, on_marker=None):
        self.out_path = os.path.join(workdir, tag + '.out')
        self.err_path = os.path.join(workdir, tag + '.err')
        self.out = []
        self.marker = threading.Event()
        self.on_marker = on_marker
        with open(os.path.join(workdir, 'commands.txt'), 'a') as f:
            f.write(tag + ': ' + ' '.join(shlex.quote(a) for a in argv) + '\n')
        self.err_f = open(self.err_path, 'wb')
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err_f, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        with open(self.out_path, 'wb') as f:
            for line in self.p.stdout:
                f.write(line)
                f.flush()
                txt = line.decode('latin-1')
                self.out.append(txt)
                if MARKER in txt and not self.marker.is_set():
                    self.marker.set()
                    if self.on_marker:
                        self.on_marker(self)

    def key(self):
        try:
            self.p.stdin.write(b'\n')
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def signal(self, sig):
        try:
            self.p.send_signal(sig)
        except ProcessLookupError:
            pass

    def wait(self, deadline):
        """Exit status, or None after killing it at deadline."""
        try:
            rc = self.p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
            rc = None
        self.reader.join(5)
        self.err_f.close()
        return rc

    def stderr(self):
        return open(self.err_path, 'rb').read().decode('latin-1')


# vmm's reports of the flows the runner asked for (save, restore, migration);
# any other stderr line without "warning" fails a passing test.
FLOW_LINES = re.compile(r'^vmm: (saved to |restored from |migrating to |migrated: |'
                        r'waiting for a migration on |migration received in )')


def verdict(rc, out, err, strict_stderr):
    """(PASS|FAIL|SKIP, detail) from an exit status as scripts/runtime.bash maps it;
    without strict_stderr vmm's flow reports are allowed on stderr."""
    if not strict_stderr:
        err = '\n'.join(x for x in err.splitlines() if not FLOW_LINES.match(x))
    summary = ''
    for line in out[-5:]:
        if line.startswith('SUMMARY: '):
            summary = '(' + line[9:].strip() + ')'
    if rc is None:
        return 'FAIL', 'timeout'
    if rc == 1 and any(
            line and 'warning' not in line.lower() for line in err.splitlines()):
        return 'FAIL', 'stderr: ' + next(line for line in err.splitlines()
                                         if line and 'warning' not in line.lower())[:100]
    if rc == 1:
        return 'PASS', summary
    if rc == 77:
        return 'SKIP', summary
    last = err.strip().splitlines()[-1][:100] if err.strip() else ''
    return 'FAIL', summary or ('exit %d %s' % (rc, last)).strip()


class Runner:
    def __init__(self, vmm, tree, timeout, seed, workdir):
        self.vmm, self.tree, self.timeout, self.workdir = vmm, tree, timeout, workdir
        self.rng = random.Random(seed)
        self.env = os.path.join(workdir, 'env')
        write_env(self.env)
        helptext = subprocess.run([vmm, '--help'], capture_output=True, text=True).stdout
        self.irqchip = '--irqchip' in helptext

    def limit(self, t):
        own = re.match(r'(\d+)', t.get('timeout', ''))
        return min(self.timeout, int(own.group(1))) if own else self.timeout

    def kernel(self, t):
        return t['file'] if t.get('own') else os.path.join(self.tree, 'x86', t['file'])

    def vmm_args(self, t):
        o = qemu_opts(t.get('qemu_params'))
        a = [self.vmm, '--kernel', self.kernel(t),
             '--initrd', self.env, '--serial', 'stdio',
             '--mem', mem_arg(o['m'][-1]) if 'm' in o else '128M']
        if t.get('test_args'):
            a += ['--cmdline', expand_backticks(t['test_args'])]
        if 'cpu' in o:
            a += ['--cpu', o['cpu'][-1]]
        if int(t.get('smp', '1')) > 1:
            a += ['--cpus', t['smp']]
        if self.irqchip:
            a += ['--irqchip', 'kernel']
        return a

    def qemu_args(self, t):
        """Our adapter to QEMU's microvm: no PCI/ACPI/RTC, in-kernel irqchip
        and PIT, ISA serial, isa-debug-exit, fw_cfg, multiboot; devices it
        does not have are left out; -cpu host/max lose arch-capabilities
        (QEMU 7.2 aborts on MSR 0x10a under this host's nested KVM)."""
        o = qemu_opts(t.get('qemu_params'))
        machine = MICROVM
        for m in o.get('machine', []) + o.get('M', []):
            for prop in m.split(','):
                if prop.startswith('pit='):
                    machine = machine.replace('pit=on', prop)
        a = [QEMU, '-machine', machine, '-nodefaults', '-no-reboot', '-display', 'none',
             '-serial', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4',
             '-global', 'kvm-pit.lost_tick_policy=discard',
             '-kernel', self.kernel(t), '-initrd', self.env,
             '-smp', t.get('smp', '1'), '-m', o['m'][-1] if 'm' in o else '128']
        if t.get('test_args'):
            a += ['-append', expand_backticks(t['test_args'])]
        if 'cpu' in o:
            cpu = o['cpu'][-1]
            if cpu.split(',')[0] in ('host', 'max'):
                cpu += ',-arch-capabilities'
            a += ['-cpu', cpu]
        return a

    # One mode each: (result, detail, seconds).

    def plain(self, t, qemu=False):
        argv = self.qemu_args(t) if qemu else self.vmm_args(t)
        t0 = time.monotonic()
        p = Proc(argv, t['name'] + ('.qemu' if qemu else '.plain'), self.workdir,
                 on_marker=lambda pr: pr.key())
        rc = p.wait(t0 + self.limit(t))
        dt = time.monotonic() - t0
        res, det = verdict(rc, p.out, p.stderr(), strict_stderr=True)
        return res, det, dt

    def moment(self, plain_s):
        """A random moment of the guest's run, in ms (vmm's start excluded)."""
        run = max(plain_s - 0.15, 0.1)
        return max(20, int(self.rng.uniform(0.1, 0.9) * run * 1000))

    def save_restore(self, t, plain_s):
        sav = os.path.join(self.workdir, t['name'] + '.sav')
        t0 = time.monotonic()
        for attempt in range(3):
            ms = self.moment(plain_s / (2 ** attempt))
            if os.path.exists(sav):
                os.unlink(sav)
            # A guest asking to be migrated is saved when it asks.
            when = [] if t.get('handshake') else ['--save-after', '%dms' % ms]
            src = Proc(self.vmm_args(t) + ['--save', sav] + when,
                       '%s.save%d' % (t['name'], attempt), self.workdir,
                       on_marker=lambda pr: pr.signal(signal.SIGTERM))
            rc = src.wait(t0 + self.limit(t))
            if rc is None:
                return 'FAIL', 'timeout before the save', time.monotonic() - t0
            if rc == 0 and os.path.exists(sav):
                break
            if rc != 0 and not src.marker.is_set():
                res, det = verdict(rc, src.out, src.stderr(), strict_stderr=False)
                if res != 'PASS':
                    return res, 'before the save: ' + det, time.monotonic() - t0
        else:
            return 'EARLY', 'the guest ended before each moment', time.monotonic() - t0
        dst = Proc([self.vmm, '--restore', sav, '--serial', 'stdio'], t['name'] + '.restore',
                   self.workdir, on_marker=lambda pr: pr.key())
        if src.marker.is_set():
            dst.key()
        rc = dst.wait(t0 + self.limit(t) + 5)
        res, det = verdict(rc, src.out + dst.out, dst.stderr(), strict_stderr=False)
        os.unlink(sav)
        return res, '%s (saved at %s)' % (det, 'the marker' if src.marker.is_set() else
                                          '%d ms' % ms), time.monotonic() - t0

    def migrate(self, t, plain_s):
        """A guest that ends before the moment is migrated again, the
        moment halved each time (three tries), as for save_restore."""
        t0 = time.monotonic()
        for attempt in range(3):
            res, det = self.migrate_once(t, plain_s / (2 ** attempt), t0, attempt)
            if res != 'EARLY':
                break
        return res, det, time.monotonic() - t0

    def migrate_once(self, t, plain_s, t0, attempt):
        port = free_port()
        dst = Proc([self.vmm, '--incoming', 'tcp:127.0.0.1:%d' % port, '--serial', 'stdio'],
                   '%s.dst%d' % (t['name'], attempt), self.workdir,
                   on_marker=lambda pr: pr.key())
        while not listening(port):
            if dst.p.poll() is not None or time.monotonic() > t0 + 10:
                dst.wait(t0)
                return 'FAIL', 'the destination did not listen: ' + dst.stderr()[-100:]
            time.sleep(0.02)
        ms = self.moment(plain_s)
        when = [] if t.get('handshake') else ['--migrate-after', '%dms' % ms]
        src = Proc(self.vmm_args(t) + ['--migrate', 'tcp:127.0.0.1:%d' % port] + when,
                   '%s.src%d' % (t['name'], attempt), self.workdir,
                   on_marker=lambda pr: pr.signal(signal.SIGUSR1))
        rc = src.wait(t0 + self.limit(t))
        if rc != 0:
            dst.signal(signal.SIGTERM)
            dst.wait(time.monotonic() + 5)
            if rc is None:
                return 'FAIL', 'timeout before the migration'
            # A guest that powers off while its RAM is being sent cancels
            # the migration (vmm says so): it ended too early as well.
            err = '\n'.join(x for x in src.stderr().splitlines()
                            if not x.endswith('; the VM was ending here'))
            res, det = verdict(rc, src.out, err, strict_stderr=False)
            if res == 'PASS':
                return 'EARLY', 'the guest ended before %d ms (each try)' % ms
            return res, 'source: ' + det
        if src.marker.is_set():
            dst.key()
        rc = dst.wait(t0 + self.limit(t) + 5)
        res, det = verdict(rc, src.out + dst.out, dst.stderr(), strict_stderr=False)
        return res, '%s (migrated at %s)' % (det, 'the marker' if src.marker.is_set() else
                                             '%d ms' % ms)


def listening(port):
    """Whether something listens on 127.0.0.1:port (without connecting: the
    destination takes one connection only)."""
    want = ':%04X' % port
    for path in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            for line in open(path).readlines()[1:]:
                f = line.split()
                if f[1].endswith(want) and f[3] == '0A':
                    return True
        except OSError:
            pass
    return False


# ---------------------------------------------------------------- main

def main(argv):
    vmm = os.path.join(ROOT, 'build', 'vmm')
    quick = expect = build_only = False
    extra = []
    i = 0
    while i < len(argv):
        if argv[i] == '--vmm':
            vmm = os.path.abspath(argv[i + 1])
            i += 1
        elif argv[i] == '--quick':
            quick = True
        elif argv[i] == '--expect-pass':
            expect = True
        elif argv[i] == '--build-only':
            build_only = True
        elif argv[i] == '--extra':
            name, file, *args = argv[i + 1].split(':', 2)
            extra.append({'name': name, 'path': os.path.abspath(file),
                          'test_args': args[0] if args else ''})
            i += 1
        else:
            print(__doc__.split('\n\n')[1], file=sys.stderr)
            return 2
        i += 1
    try:
        tree = suite_dir()
    except (OSError, subprocess.CalledProcessError) as e:
        log('FAIL: cannot build kvm-unit-tests: %s' % e)
        return 1
    if build_only:      # make test: e2e's smptest needs the suite built
        return 0
    if not os.access(vmm, os.X_OK):
        log('FAIL: %s is missing (make all)' % vmm)
        return 1
    if tree is None and not extra:
        return 0
    tests = parse_cfg(os.path.join(tree, 'x86', 'unittests.cfg')) if tree else []
    for e in extra:     # our own guests, run the same way
        tests.append({'name': e['name'], 'file': e['path'], 'test_args': e['test_args'],
                      'smp': '1', 'handshake': True, 'own': True})
    pick = os.environ.get('CONFORMANCE_TESTS', '').split() or (
        (QUICK if tree else []) + [e['name'] for e in extra] if quick else None)
    if pick:
        unknown = [n for n in pick if n not in {t['name'] for t in tests}]
        if unknown:
            log('FAIL: no such test: %s' % ' '.join(unknown))
            return 1
        tests = [t for t in tests if t['name'] in pick]
    modes = os.environ.get('CONFORMANCE_MODES', 'plain,save,migrate,qemu').split(',')
    have_qemu = os.access(QEMU, os.X_OK) and os.environ.get('CONFORMANCE_NO_QEMU') != '1'
    if 'qemu' in modes and not have_qemu:
        log('QEMU column skipped: %s' % ('CONFORMANCE_NO_QEMU=1' if os.access(QEMU, os.X_OK)
                                         else QEMU + ' is not installed'))
    seed = int(os.environ.get('CONFORMANCE_SEED', str(int(time.time()))))
    timeout = int(os.environ.get('CONFORMANCE_TIMEOUT', '25'))
    workdir = tempfile.mkdtemp(prefix='conformance.', dir=os.path.join(ROOT, 'build'))
    r = Runner(vmm, tree, timeout, seed, workdir)
    log('suite %s, vmm %s%s, timeout %d s, seed %d, logs in %s' % (
        tree, vmm, ' (--irqchip kernel)' if r.irqchip else ' (no --irqchip: user-space chips)',
        timeout, seed, workdir))
    rows = []
    start = time.monotonic()
    for n, t in enumerate(tests, 1):
        row = {'name': t['name']}
        why = None if t.get('own') else skip_reason(t, tree)
        if why:
            for k in ('plain', 'save', 'migrate', 'qemu'):
                row[k] = ('SKIP', why, 0.0)
        else:
            if 'plain' in modes:
                row['plain'] = r.plain(t)
            ok = row.get('plain', ('PASS',))[0] == 'PASS'
            if 'save' in modes:
                row['save'] = r.save_restore(t, row['plain'][2] if 'plain' in row else 2) \
                    if ok else ('-', 'not run: not passing plain', 0.0)
            if 'migrate' in modes:
                row['migrate'] = r.migrate(t, row['plain'][2] if 'plain' in row else 2) \
                    if ok else ('-', 'not run: not passing plain', 0.0)
            if 'qemu' in modes and have_qemu:
                row['qemu'] = r.plain(t, qemu=True)
        rows.append(row)
        log('[%d/%d] %s: %s' % (n, len(tests), t['name'], '  '.join(
            '%s %s %s' % (k, row[k][0], row[k][1]) for k in ('plain', 'save', 'migrate', 'qemu')
            if k in row)))
    print_table(rows, seed, time.monotonic() - start, workdir)
    if expect:
        bad = [(row['name'], k) for row in rows for k in ('plain', 'save', 'migrate')
               if k in row and row[k][0] != 'PASS']
        if bad:
            print('conformance: FAIL: not passing: ' +
                  ', '.join('%s (%s)' % b for b in bad))
            return 1
        print('conformance: PASS: every test passed in every mode run')
    return 0


def cell(row, k):
    if k not in row:
        return ('', '')
    res, det, s = row[k]
    if res == 'FAIL' and det.startswith('timeout'):
        res = 'FAIL(t/o)'
    return (res, '%.1f' % s if s else '')


def print_table(rows, seed, total, workdir):
    cols = [('plain', 'ours'), ('save', 'save/restore'), ('migrate', 'migration'),
            ('qemu', 'QEMU microvm')]
    w = max([len(r['name']) for r in rows] + [4])
    head = '%-*s' % (w, 'test') + ''.join('  %-13s %5s' % (c[1], 's') for c in cols)
    print(head)
    print('-' * len(head))
    for row in rows:
        print('%-*s' % (w, row['name']) + ''.join(
            '  %-13s %5s' % cell(row, c[0]) for c in cols))
    qpass = [r for r in rows if r.get('qemu', ('',))[0] == 'PASS']
    both = [r for r in qpass if r.get('plain', ('',))[0] == 'PASS']
    print('-' * len(head))
    for k, label in cols:
        got = [r[k][0] for r in rows if k in r]
        if got:
            print('%-13s PASS %d, FAIL %d, SKIP %d, other %d' % (
                label, got.count('PASS'), sum(x.startswith('FAIL') for x in got),
                got.count('SKIP'), sum(x not in ('PASS', 'SKIP') and not x.startswith('FAIL')
                                       for x in got)))
    if qpass:
        print('of the %d tests QEMU passes here, ours passes %d plain%s' % (
            len(qpass), len(both), '' if len(both) == len(qpass) else
            ' (not: %s)' % ' '.join(r['name'] for r in qpass if r not in both)))
    print('seed %d, %.0f s, logs in %s' % (seed, total, workdir))


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
