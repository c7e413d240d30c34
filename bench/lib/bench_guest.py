"""bench_guest.py - the multiboot tick guests the benchmarks boot on both
VMMs, and how each is asked for a fill and a dirty rate and read back.

Both guests fill part of RAM at 4 MiB in ring 3, then optionally keep
rewriting it, and print "tick N" on COM1 every 100 ms (LAPIC timer), so
that a save, a restore or a migration can be timed from the serial port and
checked for continuity (first tick after = last tick before + 1).

  TickGuest  bench/guest/tickguest.S, the project's own (built by `make
             bench` into BUILD/bench-guest/tickguest.bin); fill and dirty
             rate come from the multiboot command line.
  MiniGuest  the peer baseline's guest, ../shared/bench/miniguest.asm (not
             part of the project: reference only, used when present);
             fill and dirty rate are assembled in, so one image is built
             with nasm per (fill, dirty) into a directory under BUILD.

dirty (both): 'none' (idle after the fill), 'max' (rewrite as fast as the
guest can) or a number of MiB/s (paced on the ticks).
"""
import os
import shutil
import subprocess

TICK_PREFIX = 'tick '


def tick_no(txt):
    """'tick N' -> N, anything else -> None."""
    if not txt.startswith(TICK_PREFIX):
        return None
    try:
        return int(txt[len(TICK_PREFIX):])
    except ValueError:
        return None


class TickGuest:
    name = 'tickguest'
    source = 'bench/guest/tickguest.S'

    def __init__(self, path):
        self.path = path

    def missing(self):
        """-> why the image cannot be booted, or None."""
        return None if os.path.isfile(self.path) else '%s not built (make bench)' % self.path

    def image(self, fill_mib, dirty):
        return self.path

    def cmdline(self, fill_mib, dirty):
        return 'fill=%d dirty=%s' % (fill_mib, dirty)

    @staticmethod
    def is_banner(txt):
        return txt.startswith('tickguest: ')

    @staticmethod
    def refused(txt):
        """The banner line -> the guest's complaint, or None if it runs."""
        return None if txt.startswith('tickguest: fill') else txt

    @staticmethod
    def is_filled(txt, fill_mib):
        return txt == 'filled %d MiB' % fill_mib


class MiniGuest:
    name = 'miniguest'

    def __init__(self, asm, out_dir, nasm='nasm'):
        self.source = asm
        self.out_dir = out_dir
        self.nasm = nasm
        self.built = {}

    def missing(self):
        if not os.path.isfile(self.source):
            return '%s not found (the peer baseline\'s guest; reference only)' % self.source
        return None if shutil.which(self.nasm) else '%s not found (apt-get install nasm)' % self.nasm

    def image(self, fill_mib, dirty):
        """Assemble (once per fill and dirty) -> the image's path."""
        d, r = (0, 0) if dirty == 'none' else (1, 0 if dirty == 'max' else int(dirty))
        out = os.path.join(self.out_dir, 'mg-f%d-d%d-r%d.bin' % (fill_mib, d, r))
        if out not in self.built:
            os.makedirs(self.out_dir, exist_ok=True)
            p = subprocess.run([self.nasm, '-f', 'bin', '-DFILL_MB=%d' % fill_mib, '-DDIRTY=%d' % d,
                                '-DDIRTY_MBPS=%d' % r, '-o', out, self.source],
                               capture_output=True, text=True)
            if p.returncode:
                raise RuntimeError('nasm %s: %s' % (self.source, p.stderr.strip()[-300:]))
            self.built[out] = True
        return out

    def cmdline(self, fill_mib, dirty):
        return None

    @staticmethod
    def is_banner(txt):
        return txt == 'bench-init' or txt.startswith('exc ')

    @staticmethod
    def refused(txt):
        return None if txt == 'bench-init' else txt

    @staticmethod
    def is_filled(txt, fill_mib):
        return txt == 'fill-done %d' % fill_mib


def wait_running(tail, guest, fill_mib, proc, who, why):
    """Wait on a serial Tail for the banner, the fill and three ticks ->
    the banner's (index, t); RuntimeError naming who (and why()) if one
    does not come or the guest refuses its command line."""
    def need(pred, timeout, what, start=0):
        got = tail.wait_for(pred, timeout, start=start, proc=proc)
        if not got:
            raise RuntimeError('%s: no %s within %.0f s (%s)' % (who, what, timeout, why()))
        return got
    b = need(guest.is_banner, 120, guest.name + ' banner')
    if guest.refused(b[2]):
        raise RuntimeError('%s: the guest refused to run: %s' % (who, b[2]))
    need(lambda x: guest.is_filled(x, fill_mib), 120, 'end of the %d MiB fill' % fill_mib, b[0])
    need(lambda x: (tick_no(x) or 0) >= 3, 10, 'third tick', b[0])
    return b[0], b[1]
