"""qemu_peer.py - the QEMU side of bench/vmm_bench.sh, bench/table.sh and
bench/same_image_bench.sh: the same save, restore and live migration as
ours, done by QEMU with a multiboot tick guest (bench/lib/bench_guest.py):
the project's own (bench/guest/tickguest.S, built by `make bench`) unless
the driver sets a.guest (same_image_bench.sh: also the peer's miniguest).

QEMU is driven through QMP on a unix socket (one JSON object per line:
greeting, qmp_capabilities, then commands; asynchronous events are skipped).
Every QEMU runs as

  qemu-system-x86_64 -M pc -enable-kvm -cpu host,-arch-capabilities -m MEM
      -kernel IMAGE [-append "fill=F dirty=D"] -nodefaults -no-reboot
      -display none -serial file:S -qmp unix:Q,server=on,wait=off [-incoming U]

(-arch-capabilities: QEMU 7.2 aborts here setting MSR 0x10a under this
host's nested KVM).  The figures, per run:

 save     guest filled and ticking; on a fresh tick: stop, then migrate to
          the file through an fd passed over QMP (getfd + migrate fd:NAME,
          max-bandwidth raised to 1 TiB/s first).  save_ms = migrate sent ->
          query-migrate "completed" (QEMU wrote the whole stream to the fd);
          fsync_ms = the fsync of the file after that; file_bytes, file_du
          (its size on disk).
 restore  new QEMU with -incoming fd:N on the file: spawn -> query-status no
          longer "inmigrate" (must be "paused", as saved): loaded_ms; then
          cont -> the next tick: tick_ms (from spawn); continuity = that tick
          is the last tick before the save + 1.
 point-in-time (same_image_bench.sh) a running guest saved with the
          background-snapshot capability (the guest runs on while QEMU
          writes the state as of the request, write-protecting RAM):
          pause_ms = QEMU's downtime; durable_ms = migrate -> completed +
          the fsync; the guest must tick on afterwards.
 live     destination with -incoming tcp:127.0.0.1:PORT, source filled and
          ticking, max-bandwidth 1 TiB/s, downtime-limit left at QEMU's
          default (300 ms); migrate, poll query-migrate every 10 ms (30 s
          limit, then migrate_cancel: "not-converged").  QEMU's own
          total-time and downtime, ram transferred and dirty-sync-count, the
          largest dirty-pages-rate seen; continuity = the destination's first
          tick is the source's last + 1; tick_gap_ms = host time from the
          source's last tick line to the destination's first.
 boot     spawn -> the guest's first line (its banner), every first boot.
"""
import json
import os
import socket
import subprocess
import time

from bench_guest import TickGuest, tick_no, wait_running
from benchutil import CHILDREN, Tail, free_port, note_foreign, now

UNLIMITED_BW = 1 << 40


def guest_of(a):
    """The guest the driver chose (a.guest), else the project's tickguest."""
    g = getattr(a, 'guest', None)
    return g if g is not None else TickGuest(a.tickguest)


class QMPError(RuntimeError):
    pass


class QMP:
    """A QMP client: one command at a time, events dropped."""

    def __init__(self, path, proc, timeout):
        deadline = now() + timeout
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                if proc.poll() is not None:
                    raise QMPError('QEMU exited (status %s) before its QMP socket was up'
                                   % proc.returncode)
                if now() > deadline:
                    raise QMPError('no QMP socket at %s within %.0f s' % (path, timeout))
                time.sleep(0.002)
        s.settimeout(timeout)
        self.sock = s
        self.rd = s.makefile('rb')
        self._reply()                      # the greeting
        self.cmd('qmp_capabilities')

    def _reply(self):
        while True:
            line = self.rd.readline()
            if not line:
                raise QMPError('QMP connection closed')
            msg = json.loads(line)
            if 'event' not in msg:
                return msg

    def cmd(self, name, fds=None, **args):
        req = {'execute': name}
        if args:
            req['arguments'] = args
        data = (json.dumps(req) + '\n').encode()
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.sendall(data)
        r = self._reply()
        if 'error' in r:
            raise QMPError('QMP %s: %s' % (name, r['error'].get('desc', r['error'])))
        return r.get('return')

    def close(self):
        self.rd.close()
        self.sock.close()


class Qemu:
    """One QEMU process with its serial file tailed and QMP connected."""

    def __init__(self, a, name, mem_mib, append, incoming=None, pass_fds=(), image=None):
        self.name = name
        self.guest = guest_of(a)
        base = os.path.join(a.scratch, 'qemu-' + name)
        self.serial_path, qmp_path, self.log_path = base + '.serial', base + '.qmp', base + '.log'
        for p in (self.serial_path, qmp_path):
            if os.path.exists(p):
                os.unlink(p)
        cmd = [a.qemu, '-M', 'pc', '-enable-kvm', '-cpu', 'host,-arch-capabilities',
               '-m', str(mem_mib), '-kernel', image or self.guest.image(0, 'none')]
        if append is not None:
            cmd += ['-append', append]
        cmd += ['-nodefaults', '-no-reboot', '-display', 'none',
               '-serial', 'file:' + self.serial_path,
               '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
        if incoming:
            cmd += ['-incoming', incoming]
        self.log = open(self.log_path, 'wb')
        self.t_spawn = now()
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                  stderr=subprocess.STDOUT, pass_fds=pass_fds,
                                  start_new_session=True)
        CHILDREN.append(self.p)
        self.ser = Tail(path=self.serial_path)
        self.qmp = None
        try:
            self.qmp = QMP(qmp_path, self.p, 60)
        except (QMPError, OSError) as e:
            self.close()
            raise RuntimeError('QEMU %s: %s (%s)' % (name, e, self.why()))

    def why(self):
        try:
            log = open(self.log_path, 'rb').read().decode('latin-1').strip()[-300:]
        except OSError:
            log = ''
        return 'serial: %s; QEMU said: %s' % (self.ser.text_tail(3), log or 'nothing')

    def status(self):
        return self.qmp.cmd('query-status')['status']

    def wait_line(self, pred, timeout, start=0, what='line'):
        got = self.ser.wait_for(pred, timeout, start=start, proc=self.p)
        if not got:
            raise RuntimeError('QEMU %s: no %s within %.0f s (%s)' % (self.name, what, timeout, self.why()))
        return got

    def boot(self, fill_mib):
        """Wait for the banner, the fill and three ticks -> banner time."""
        t = wait_running(self.ser, self.guest, fill_mib, self.p, 'QEMU ' + self.name, self.why)[1]
        return t - self.t_spawn

    def fresh_tick(self):
        """Wait for a tick line printed after this call."""
        self.wait_line(lambda x: tick_no(x) is not None, 5, start=len(self.ser.snapshot()), what='fresh tick')

    def last_tick(self, when=False):
        """The last tick number seen (with when: (t, number)), or None."""
        ticks = [(t, tick_no(x)) for t, x in self.ser.snapshot() if tick_no(x) is not None]
        if not ticks:
            return None
        return ticks[-1] if when else ticks[-1][1]

    def close(self):
        if self.qmp:
            try:
                self.qmp.cmd('quit')
            except (QMPError, OSError):
                pass
            self.qmp.close()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=10)
        CHILDREN.remove(self.p)
        self.ser.close()
        self.log.close()
        for p in (self.serial_path, self.log_path):
            if os.path.exists(p):
                os.unlink(p)


def wait_migrate(qmp, timeout, poll_s):
    """Poll query-migrate to a final state -> (info, t_done or None, max
    dirty-pages-rate seen)."""
    deadline = now() + timeout
    top = 0
    while True:
        info = qmp.cmd('query-migrate')
        top = max(top, info.get('ram', {}).get('dirty-pages-rate', 0))
        if info.get('status') in ('completed', 'failed', 'cancelled'):
            return info, now(), top
        if now() > deadline:
            return info, None, top
        time.sleep(poll_s)


def migrate_to_file(vm, path, what):
    """Migrate vm to a new file through an fd passed over QMP, then fsync
    it -> (query-migrate's final info, migrate -> completed ms, fsync ms)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        vm.qmp.cmd('getfd', fds=[fd], fdname='bench')
        t0 = now()
        vm.qmp.cmd('migrate', uri='fd:bench')
        info, t_done, _ = wait_migrate(vm.qmp, 120, 0.002)
        if info.get('status') != 'completed':
            raise RuntimeError('QEMU %s: %s ended %s (%s)' % (vm.name, what, info.get('status'), vm.why()))
        t1 = now()
        os.fsync(fd)
        return info, (t_done - t0) * 1000, (now() - t1) * 1000
    finally:
        os.close(fd)


def settled(a):
    time.sleep(a.settle)
    note_foreign()


def save_restore(a, mem_mib, fill_mib, rep):
    """One save of a filled, paused guest to a file and its restore."""
    sav = os.path.join(a.scratch, 'qemu-sr-%d-%d.sav' % (mem_mib, rep))
    try:
        return save_then_restore(a, mem_mib, fill_mib, rep, sav)
    finally:
        if os.path.exists(sav):
            os.unlink(sav)


def save_then_restore(a, mem_mib, fill_mib, rep, sav):
    tag = 'sr-%d-%d' % (mem_mib, rep)
    g = guest_of(a)
    append, image = g.cmdline(fill_mib, 'none'), g.image(fill_mib, 'none')
    r = {'mem': mem_mib}
    settled(a)
    vm = Qemu(a, tag + '-save', mem_mib, append, image=image)
    try:
        r['boot_s'] = vm.boot(fill_mib)
        vm.qmp.cmd('migrate-set-parameters', **{'max-bandwidth': UNLIMITED_BW})
        vm.fresh_tick()
        vm.qmp.cmd('stop')
        time.sleep(0.05)                   # a tick line still on its way to the file
        r['last_tick'] = vm.last_tick()
        _, r['save_ms'], r['fsync_ms'] = migrate_to_file(vm, sav, 'save')
        r['file_bytes'] = os.path.getsize(sav)
        r['file_du'] = os.stat(sav).st_blocks * 512
    finally:
        vm.close()

    settled(a)
    fd = os.open(sav, os.O_RDONLY)
    try:
        vm = Qemu(a, tag + '-restore', mem_mib, append, incoming='fd:%d' % fd, pass_fds=(fd,),
                  image=image)
    finally:
        os.close(fd)
    try:
        deadline = now() + 120
        st = vm.status()
        while st == 'inmigrate' and now() < deadline:
            time.sleep(0.002)
            st = vm.status()
        r['loaded_ms'] = (now() - vm.t_spawn) * 1000
        if st != 'paused':
            raise RuntimeError('QEMU %s: restored guest is "%s", expected "paused" (%s)' % (tag, st, vm.why()))
        vm.qmp.cmd('cont')
        got = vm.wait_line(lambda x: tick_no(x) is not None, 5, what='tick after cont')
        r['tick_ms'] = (got[1] - vm.t_spawn) * 1000
        r['continuity_ok'] = tick_no(got[2]) == r['last_tick'] + 1
        r['continuity'] = 'saved tick %s, next tick %s' % (r['last_tick'], tick_no(got[2]))
    finally:
        vm.close()
    return r


def point_in_time(a, mem_mib, fill_mib):
    """One background snapshot of a filled, idle, running guest to a file."""
    tag = 'pit-%d-%d' % (mem_mib, fill_mib)
    sav = os.path.join(a.scratch, 'qemu-%s.sav' % tag)
    g = guest_of(a)
    settled(a)
    vm = Qemu(a, tag, mem_mib, g.cmdline(fill_mib, 'none'), image=g.image(fill_mib, 'none'))
    try:
        vm.boot(fill_mib)
        vm.qmp.cmd('migrate-set-parameters', **{'max-bandwidth': UNLIMITED_BW})
        vm.qmp.cmd('migrate-set-capabilities',
                   capabilities=[{'capability': 'background-snapshot', 'state': True}])
        vm.fresh_tick()
        info, save_ms, fsync_ms = migrate_to_file(vm, sav, 'background snapshot')
        r = {'pause_ms': info.get('downtime'), 'durable_ms': save_ms + fsync_ms}
        st = vm.status()
        if st != 'running':
            raise RuntimeError('QEMU %s: "%s" after a background snapshot, expected "running"' % (tag, st))
        vm.fresh_tick()
    finally:
        vm.close()
        if os.path.exists(sav):
            os.unlink(sav)
    return r


def live(a, mem_mib, fill_mib, dirty, rep):
    """One live migration over loopback TCP; dirty: 'none', 'max' or MiB/s."""
    tag = 'lv-%s-%d' % (dirty, rep)
    g = guest_of(a)
    append, image = g.cmdline(fill_mib, dirty), g.image(fill_mib, dirty)
    r = {'mem': mem_mib, 'dirty': dirty}
    settled(a)
    uri = 'tcp:127.0.0.1:%d' % free_port()
    dst = Qemu(a, tag + '-dst', mem_mib, append, incoming=uri, image=image)
    src = None
    try:
        src = Qemu(a, tag + '-src', mem_mib, append, image=image)
        src.boot(fill_mib)
        src.qmp.cmd('migrate-set-parameters', **{'max-bandwidth': UNLIMITED_BW})
        src.qmp.cmd('migrate', uri=uri)
        info, t_done, top = wait_migrate(src.qmp, 30, 0.01)
        r['status'] = info.get('status') if t_done else 'not-converged'
        ram = info.get('ram', {})
        r['total_ms'] = info.get('total-time')
        r['downtime_ms'] = info.get('downtime')
        r['sent_bytes'] = ram.get('transferred')
        r['passes'] = ram.get('dirty-sync-count')
        r['max_dirty_mbs'] = top * 4096 / 1e6 if top else None
        if t_done is None:
            src.qmp.cmd('migrate_cancel')
            return r
        if r['status'] != 'completed':
            raise RuntimeError('QEMU %s: migration ended %s (source %s; destination %s)'
                               % (tag, r['status'], src.why(), dst.why()))
        time.sleep(0.05)
        t_last, last = src.last_tick(when=True) or (None, None)
        got = dst.wait_line(lambda x: tick_no(x) is not None, 10, what='tick on the destination')
        r['tick_gap_ms'] = (got[1] - t_last) * 1000 if t_last is not None else None
        r['continuity_ok'] = last is not None and tick_no(got[2]) == last + 1
        r['continuity'] = 'source last tick %s, destination first %s' % (last, tick_no(got[2]))
    finally:
        for vm in (src, dst):
            if vm:
                vm.close()
    return r

