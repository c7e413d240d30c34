/* cli.c - the vmm command line (getopt_long), checked as a whole. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/boot.h"
#include "vmm/cli.h"
#include "vmm/kvm.h"
#include "vmm/serial_backend.h"
#include "vmm/stream_stdio.h"
#include "ssm/ssm.h"

#define DEFAULT_MEM (256ull << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmm [OPTION]...\n"
		"Run the test kernel (or another ELF64 or multiboot kernel) in a KVM\n"
		"virtual machine.\n"
		"\n"
		"  --kernel FILE        kernel to boot (default: guest/kernel.elf next to\n"
		"                       the vmm binary): an x86-64 ELF64 file, entered in\n"
		"                       long mode, or a multiboot (v1) kernel (ELF32 or\n"
		"                       the address-fields form), entered in 32-bit\n"
		"                       protected mode with a multiboot information block;\n"
		"                       its command line is \"FILE CMDLINE\"\n"
		"  --module FILE[,ARGS] multiboot module (repeatable, at most 16), loaded\n"
		"                       after the kernel; its string is \"FILE ARGS\"\n"
		"  --initrd FILE        the same as --module FILE\n"
		"  --mem SIZE           guest RAM, e.g. 256M or 16G (default 256M;\n"
		"                       a multiple of 1M from 4M to 64G; above 3G\n"
		"                       the rest sits from 4 GiB up, as on a PC)\n"
		"  --cmdline STR        kernel command line, at most 4095 bytes; the test\n"
		"                       kernel takes steps=N mem=SIZE at=ADDR pages=N\n"
		"                       rate=MBPS rounds=N check=1\n"
		"                       fill=text|random\n"
		"  --irqchip user|kernel\n"
		"                       interrupt controllers and PIT: the VMM's own\n"
		"                       models (user, the default) or KVM's (kernel: a\n"
		"                       LAPIC per vCPU, IOAPIC, PIC pair, PIT)\n"
		"  --serial BACKEND     COM1: stdio (default), stdout, stderr (output\n"
		"                       only), file:PATH or none; also on --restore and\n"
		"                       --incoming (a state file never chooses the console)\n"
		"  --save FILE          on Ctrl-C or SIGTERM (or --save-after), suspend\n"
		"                       the VM to FILE and exit 0; FILE - is stdout (a\n"
		"                       pipe: the console then defaults to stderr)\n"
		"  --save-after TIME    suspend after TIME of running, e.g. 2s, 500ms\n"
		"  --restore FILE       resume the VM saved in FILE; the machine comes\n"
		"                       from the file (--mem, --cmdline, --kernel may\n"
		"                       only repeat it); a regular file, or - for stdin\n"
		"                       (one pass; the console defaults to stdout).\n"
		"                       From a file RAM is mapped, not read: its\n"
		"                       checksums are not checked unless --verify\n"
		"  --verify             with --restore: check every RAM checksum of the\n"
		"                       file before the guest starts\n"
		"  --live               with --save: copy RAM while the guest runs and\n"
		"                       stop it only for the final pass\n"
		"  --continue           with --save: keep running after the save\n"
		"  --compress none|zlib[:LEVEL]|zstd[:LEVEL]\n"
		"                       compress the RAM and state records of --save\n"
		"                       (also --live) and --migrate: zlib 1..9 (default\n"
		"                       1), zstd -7..19 (default 1; negative: faster),\n"
		"                       using every CPU (default none; --restore and\n"
		"                       --incoming read any)\n"
		"  --background         with --save and --continue: point-in-time\n"
		"                       snapshots; the guest pauses only to have its\n"
		"                       CPU read and the process forked, then runs on\n"
		"                       while a child writes the state at the request\n"
		"  --incremental        with --save and --continue: the first save is\n"
		"                       full, each later one writes FILE.1, FILE.2, ...\n"
		"                       holding only the pages dirtied since the one\n"
		"                       before, which it names as its parent (a chain;\n"
		"                       --restore of the last file restores it); with\n"
		"                       --background each is a point-in-time snapshot\n"
		"  --force              let a save overwrite a file that a later file of\n"
		"                       a chain names as parent (refused otherwise)\n"
		"  --migrate tcp:HOST:PORT | tls:HOST:PORT\n"
		"                       on Ctrl-C, SIGTERM or SIGUSR1 (or --migrate-after)\n"
		"                       move the running VM to a vmm --incoming there;\n"
		"                       exit 0 once it runs there\n"
		"  --migrate-after TIME start the migration after TIME of running\n"
		"  --incoming tcp:HOST:PORT | tls:HOST:PORT\n"
		"                       wait for one migration, then run that VM\n"
		"  --tls-cert FILE --tls-key FILE --tls-ca FILE\n"
		"                       tls: (both sides): this side's PEM certificate and\n"
		"                       key, and the CA the peer's certificate must be\n"
		"                       signed by (mutual authentication)\n"
		"  --tls-name NAME      tls: source: the name the destination's certificate\n"
		"                       must carry (default: HOST)\n"
		"  --tls-psk FILE       tls: authenticate with the pre-shared key in FILE\n"
		"                       (NAME:HEXKEY, psktool's format) instead\n"
		"  --incoming-timeout TIME\n"
		"                       the whole stream must arrive within TIME of the\n"
		"                       connection (default 15m)\n"
		"  --stall-timeout TIME a migration peer silent for TIME fails it\n"
		"                       (default 30s; both sides)\n"
		"  --max-downtime MS    live: longest pause to aim for (default 30)\n"
		"  --max-passes N       live: give up after N passes (default 30, 0 = no limit)\n"
		"  --on-giveup finish|abort\n"
		"                       live: when RAM does not converge, finish with a\n"
		"                       longer pause (default) or abort and keep running\n"
		"  --monitor unix:PATH  a control socket (mode 0600) taking QMP-style JSON\n"
		"                       commands: query-status, stop, cont, save, migrate,\n"
		"                       query-migrate, migrate-cancel, migrate-resolve,\n"
		"                       quit (docs/monitor.md); drive it with\n"
		"                       vmm ctl PATH COMMAND [KEY=VALUE...|JSON]\n"
		"  --trace-ssm          print every save/load callback on stderr\n"
		"  --help               show this help\n"
		"  --version            show the version\n"
		"\n"
		"On a terminal, Ctrl-C stops the VM (with --save: suspends it; SIGQUIT\n"
		"then quits without saving).  The exit status is the byte the guest\n"
		"writes to its power-off port (0x501), ((V << 1) | 1) & 255 after it\n"
		"writes byte V to isa-debug-exit (port 0xf4, as QEMU), 128+N after\n"
		"signal N, 1 on error or when a requested save failed, 2 on a usage\n"
		"error.\n"
		"\n"
		"A migration source that sent the go-ahead but got no confirmation keeps\n"
		"the guest paused and says so: SIGUSR2 resumes it here, SIGTERM quits.\n"
		"\n"
		"Tools (each takes --help; docs/inspect.md):\n"
		"  vmm inspect FILE [--json] [--unit NAME[:INSTANCE]]\n"
		"                       show a state file: header, machine, every unit\n"
		"                       record; --unit: one unit's fields by name\n"
		"  vmm verify FILE      check every checksum and every rule a restore\n"
		"                       applies without KVM; exit 0 only if all hold\n"
		"  vmm schema [--json] [--check OLD.json]\n"
		"                       the units' versions and field tables; --check:\n"
		"                       changes since OLD.json that break old files\n"
		"\n"
		"Example: vmm --save vm.sav      (Ctrl-C suspends to vm.sav)\n"
		"         vmm --restore vm.sav   (the guest carries on)\n");
}

/* Parse SIZE with an optional K/M/G suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Parse TIME: a number with s, ms, us or m (minutes); bare = seconds. */
static int parse_duration(const char *s, uint64_t *ns)
{
	double v;
	char *end;
	double mul;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtod(s, &end);
	if (!strcmp(end, "") || !strcmp(end, "s"))
		mul = 1e9;
	else if (!strcmp(end, "ms"))
		mul = 1e6;
	else if (!strcmp(end, "us"))
		mul = 1e3;
	else if (!strcmp(end, "m"))
		mul = 60e9;
	else
		return -1;
	if (v * mul < 1 || v * mul > 1e18)
		return -1;
	*ns = (uint64_t)(v * mul);
	return 0;
}

int cli_parse_compress(const char *s, int *codec, int *level)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	bool zstd = n == 4 && !strncmp(s, "zstd", 4);
	long v;
	char *end;

	if (n == 4 && !strncmp(s, "none", 4) && !colon) {
		*codec = SSM_CODEC_ZLIB;
		*level = 0;
		return 0;
	}
	if (!zstd && !(n == 4 && !strncmp(s, "zlib", 4)))
		return -1;
	*codec = zstd ? SSM_CODEC_ZSTD : SSM_CODEC_ZLIB;
	*level = 1;
	if (!colon)
		return 0;
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || v == 0 ||
	    (zstd ? v < -7 || v > 19 : v < 1 || v > 9))
		return -1;
	*level = (int)v;
	return 0;
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "vmm: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (try --help)\n");
	return EXIT_USAGE;
}

static int parse_u32(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Whether --serial SPEC is a file: log at state file PATH (the same name,
 * or the same inode by another name). */
static bool same_file(const char *spec, const char *path)
{
	enum serial_backend_kind kind;
	const char *log;
	struct stat a, b;

	if (!path || serial_backend_parse(spec, &kind, &log) || kind != SERIAL_BACKEND_FILE)
		return false;
	if (!strcmp(log, path))
		return true;
	return stat(log, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* "-" as the state file: stdout or stdin carries the state, so neither
 * may be the console, a terminal, or (on restore) the flags' source. */
static int check_stdio(const struct cli *c)
{
	bool save = stream_stdio_is(c->save_path), restore = stream_stdio_is(c->restore_path);

	if ((save || restore) && c->serial_set && !strcmp(c->cfg.serial, "stdio"))
		return usage_error("--serial stdio: %s; use stderr, stdout, file:PATH or none",
				   save ? "with --save - the state goes to stdout" :
				   "with --restore - the state comes from stdin");
	if (save && c->serial_set && !strcmp(c->cfg.serial, "stdout"))
		return usage_error("--serial %s: with --save - the state goes to stdout", "stdout");
	if (save && isatty(STDOUT_FILENO))
		return usage_error("--save %s: stdout is a terminal; pipe or redirect it", "-");
	if (save && c->cont)
		return usage_error("--save %s --continue: a second save would follow the first "
				   "in the one stream", "-");
	if (restore && isatty(STDIN_FILENO))
		return usage_error("--restore %s: stdin is a terminal; pipe or redirect a "
				   "state into it", "-");
	if (restore && (c->kernel_set || c->mem_arg || c->cmdline_set))
		return usage_error("--restore %s: the machine comes from the stream; --kernel, "
				   "--mem and --cmdline do not apply", "-");
	return -1;
}

/* tls: needs a CA, a certificate and its key on both sides (or a PSK);
 * --tls-* without a tls: address would be silently plain TCP. */
static int check_tls(const struct cli *c)
{
	const struct tls_config *t = &c->mig.tls;
	bool tls = migrate_addr_is_tls(c->incoming) || migrate_addr_is_tls(c->mig.target);
	const char *files[] = { t->cert, t->key, t->ca, t->psk };
	const char *names[] = { "--tls-cert", "--tls-key", "--tls-ca", "--tls-psk" };

	if (!tls && (t->cert || t->key || t->ca || t->psk || t->name))
		return usage_error("%s: the TLS options need --migrate tls:HOST:PORT or "
				   "--incoming tls:HOST:PORT", t->cert ? "--tls-cert" :
				   t->key ? "--tls-key" : t->ca ? "--tls-ca" : t->psk ?
				   "--tls-psk" : "--tls-name");
	if (!tls)
		return -1;
	if (t->name && !c->mig.target)
		return usage_error("%s: only the source checks its peer's name", "--tls-name");
	if (!t->psk && (!t->cert || !t->key || !t->ca))
		return usage_error("%s: TLS needs --tls-cert FILE, --tls-key FILE and --tls-ca "
				   "FILE (or --tls-psk FILE)", c->incoming ? c->incoming :
				   c->mig.target);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i] && access(files[i], R_OK)) {
			fprintf(stderr, "vmm: %s %s: %s (try --help)\n", names[i], files[i],
				strerror(errno));
			return EXIT_USAGE;
		}
	return -1;
}

/* Combinations that cannot work are refused before anything starts. */
static int check(struct cli *c)
{
	int rc;

	char *buf = NULL;
	const char *h, *p;
	struct stat sb;

	if (c->incoming && (c->restore_path || c->kernel_set || c->mem_arg || c->cmdline_set ||
			    c->cfg.nmodules))
		return usage_error("%s: the machine comes from the migration stream; "
				   "--restore, --kernel, --mem, --cmdline and --module do not "
				   "apply", "--incoming");
	if (c->incoming && migrate_parse_addr(c->incoming, &buf, &h, &p))
		return usage_error("--incoming %s: expected tcp:HOST:PORT or tls:HOST:PORT",
				   c->incoming);
	free(buf);
	buf = NULL;
	if (c->mig.target && migrate_parse_addr(c->mig.target, &buf, &h, &p))
		return usage_error("--migrate %s: expected tcp:HOST:PORT or tls:HOST:PORT",
				   c->mig.target);
	free(buf);
	rc = check_tls(c);
	if (rc >= 0)
		return rc;
	if (c->mig.target && c->save_path)
		return usage_error("%s: --migrate and --save exclude each other", "--save");
	if (c->after_ns && !c->save_path && !c->mig.target)
		return usage_error("%s needs --save FILE or --migrate", "--save-after/--migrate-after");
	if (c->compress_arg && !c->save_path && !c->mig.target)
		return usage_error("%s needs --save FILE or --migrate", "--compress");
	if (c->background && (!c->save_path || !c->cont || c->live))
		return usage_error("%s needs --save FILE and --continue, and excludes --live",
				   "--background");
	if (c->incremental && (!c->save_path || !c->cont || c->live ||
				stream_stdio_is(c->save_path)))
		return usage_error("%s needs --save FILE and --continue, and excludes --live "
				   "and --save -", "--incremental");
	if (c->verify && !c->restore_path)
		return usage_error("%s needs --restore FILE", "--verify");
	if ((c->live || c->cont) && !c->save_path)
		return usage_error("%s needs --save FILE", c->live ? "--live" : "--continue");
	if ((c->save_path && !*c->save_path) || (c->restore_path && !*c->restore_path))
		return usage_error("%s: the file name is empty",
				   c->save_path && !*c->save_path ? "--save" : "--restore");
	/* Found only when the save runs, possibly hours later, with the VM
	 * then running on. */
	if (c->save_path && stat(c->save_path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return usage_error("--save %s: is a directory, not a file name", c->save_path);
	if (same_file(c->cfg.serial, c->save_path) || same_file(c->cfg.serial, c->restore_path))
		return usage_error("--serial %s: names the state file; the console would "
				   "overwrite it", c->cfg.serial);
	rc = check_stdio(c);
	if (rc >= 0)
		return rc;
	if (c->live)
		c->mig.live_file = c->save_path;
	c->mig.cont = c->cont;
	return -1;
}

int cli_parse(struct cli *c, int argc, char **argv)
{
	enum { OPT_KERNEL = 256, OPT_MEM, OPT_CMDLINE, OPT_SERIAL, OPT_HELP, OPT_VERSION,
	       OPT_SAVE, OPT_SAVE_AFTER, OPT_RESTORE, OPT_TRACE, OPT_LIVE, OPT_CONTINUE, OPT_BACKGROUND,
	       OPT_INCREMENTAL, OPT_FORCE,
	       OPT_MIGRATE, OPT_MIGRATE_AFTER, OPT_INCOMING, OPT_MAX_DOWNTIME,
	       OPT_MAX_PASSES, OPT_ON_GIVEUP, OPT_INCOMING_TIMEOUT, OPT_STALL_TIMEOUT,
	       OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_CA, OPT_TLS_NAME, OPT_TLS_PSK,
	       OPT_MONITOR, OPT_COMPRESS, OPT_MODULE, OPT_INITRD, OPT_VERIFY,
	       OPT_IRQCHIP };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "serial", required_argument, NULL, OPT_SERIAL },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "save", required_argument, NULL, OPT_SAVE },
		{ "save-after", required_argument, NULL, OPT_SAVE_AFTER },
		{ "restore", required_argument, NULL, OPT_RESTORE },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "trace-ssm", no_argument, NULL, OPT_TRACE },
		{ "live", no_argument, NULL, OPT_LIVE },
		{ "continue", no_argument, NULL, OPT_CONTINUE },
		{ "background", no_argument, NULL, OPT_BACKGROUND },
		{ "incremental", no_argument, NULL, OPT_INCREMENTAL },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "migrate", required_argument, NULL, OPT_MIGRATE },
		{ "migrate-after", required_argument, NULL, OPT_MIGRATE_AFTER },
		{ "incoming", required_argument, NULL, OPT_INCOMING },
		{ "max-downtime", required_argument, NULL, OPT_MAX_DOWNTIME },
		{ "max-passes", required_argument, NULL, OPT_MAX_PASSES },
		{ "on-giveup", required_argument, NULL, OPT_ON_GIVEUP },
		{ "incoming-timeout", required_argument, NULL, OPT_INCOMING_TIMEOUT },
		{ "stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT },
		{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
		{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
		{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
		{ "tls-name", required_argument, NULL, OPT_TLS_NAME },
		{ "tls-psk", required_argument, NULL, OPT_TLS_PSK },
		{ "monitor", required_argument, NULL, OPT_MONITOR },
		{ "compress", required_argument, NULL, OPT_COMPRESS },
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "irqchip", required_argument, NULL, OPT_IRQCHIP },
		{ NULL, 0, NULL, 0 },
	};
	enum serial_backend_kind kind;
	const char *path;
	int opt;

	memset(c, 0, sizeof(*c));
	c->cfg.ram_size = DEFAULT_MEM;
	c->cfg.cmdline = "";
	c->cfg.serial = "stdio";
	c->mig.max_downtime_ms = 30;
	c->mig.max_passes = 30;
	c->mig.incoming_timeout_ns = MIGRATE_DEFAULT_INCOMING_TIMEOUT_NS;
	c->mig.stall_timeout_ns = MIGRATE_DEFAULT_STALL_TIMEOUT_NS;
	opterr = 0;     /* one line of our own instead of getopt's */
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_KERNEL:
			c->cfg.kernel = optarg;
			c->kernel_set = true;
			break;
		case OPT_MEM:
			if (parse_size(optarg, &c->cfg.ram_size) || c->cfg.ram_size % (1u << 20) ||
			    c->cfg.ram_size < KVM_RAM_MIN || c->cfg.ram_size > KVM_RAM_MAX) {
				fprintf(stderr, "vmm: --mem %s: need a multiple of 1M from %lluM "
					"to %lluG\n", optarg, KVM_RAM_MIN >> 20, KVM_RAM_MAX >> 30);
				return EXIT_USAGE;
			}
			c->mem_arg = optarg;
			break;
		case OPT_CMDLINE:
			/* The one limit: what boot places and the machine unit keeps. */
			if (strlen(optarg) > BOOT_CMDLINE_MAX) {
				fprintf(stderr, "vmm: --cmdline: %zu bytes, the limit is %u (try "
					"--help)\n", strlen(optarg), BOOT_CMDLINE_MAX);
				return EXIT_USAGE;
			}
			c->cfg.cmdline = optarg;
			c->cmdline_set = true;
			break;
		case OPT_MODULE:
		case OPT_INITRD:
			if (c->cfg.nmodules == MB_MODULES_MAX)
				return usage_error("%s: at most 16 modules", argv[optind - 2]);
			if (!*optarg || *optarg == ',' || strlen(optarg) > MB_MODSTR_MAX)
				return usage_error("%s: expected FILE[,ARGS] of at most 1023 "
						   "bytes", optarg);
			c->cfg.modules[c->cfg.nmodules++] = optarg;
			break;
		case OPT_IRQCHIP:
			if (irqchip_parse(optarg, &c->cfg.irqchip))
				return usage_error("--irqchip %s: expected user or kernel", optarg);
			c->irqchip_set = true;
			break;
		case OPT_SERIAL:
			if (serial_backend_parse(optarg, &kind, &path))
				return usage_error("--serial %s: expected stdio, stdout, stderr, "
						   "file:PATH or none", optarg);
			c->cfg.serial = optarg;
			c->serial_set = true;
			break;
		case OPT_SAVE:
			c->save_path = optarg;
			break;
		case OPT_SAVE_AFTER:
		case OPT_MIGRATE_AFTER:
			if (parse_duration(optarg, &c->after_ns))
				return usage_error("%s: expected a time such as 2s or 500ms", optarg);
			break;
		case OPT_RESTORE:
			c->restore_path = optarg;
			break;
		case OPT_VERIFY:
			c->verify = true;
			break;
		case OPT_TRACE:
			c->trace = true;
			break;
		case OPT_LIVE:
			c->live = true;
			break;
		case OPT_CONTINUE:
			c->cont = true;
			break;
		case OPT_BACKGROUND:
			c->background = true;
			break;
		case OPT_INCREMENTAL:
			c->incremental = true;
			break;
		case OPT_FORCE:
			c->force = true;
			break;
		case OPT_MIGRATE:
			c->mig.target = optarg;
			break;
		case OPT_INCOMING:
			c->incoming = optarg;
			break;
		case OPT_MAX_DOWNTIME:
			if (parse_u32(optarg, &c->mig.max_downtime_ms) || !c->mig.max_downtime_ms)
				return usage_error("--max-downtime %s: expected milliseconds > 0",
						   optarg);
			break;
		case OPT_MAX_PASSES:
			if (parse_u32(optarg, &c->mig.max_passes))
				return usage_error("--max-passes %s: expected a number", optarg);
			break;
		case OPT_ON_GIVEUP:
			if (strcmp(optarg, "finish") && strcmp(optarg, "abort"))
				return usage_error("--on-giveup %s: expected finish or abort", optarg);
			c->mig.giveup_abort = !strcmp(optarg, "abort");
			break;
		case OPT_INCOMING_TIMEOUT:
			if (parse_duration(optarg, &c->mig.incoming_timeout_ns))
				return usage_error("--incoming-timeout %s: expected a time such as "
						   "10m or 90s", optarg);
			break;
		case OPT_STALL_TIMEOUT:
			if (parse_duration(optarg, &c->mig.stall_timeout_ns) ||
			    c->mig.stall_timeout_ns < 1000000)
				return usage_error("--stall-timeout %s: expected a time of at least "
						   "1ms, such as 30s", optarg);
			break;
		case OPT_TLS_CERT:
			c->mig.tls.cert = optarg;
			break;
		case OPT_TLS_KEY:
			c->mig.tls.key = optarg;
			break;
		case OPT_TLS_CA:
			c->mig.tls.ca = optarg;
			break;
		case OPT_TLS_NAME:
			c->mig.tls.name = optarg;
			break;
		case OPT_TLS_PSK:
			c->mig.tls.psk = optarg;
			break;
		case OPT_MONITOR:
			if (strncmp(optarg, "unix:", 5) || !optarg[5])
				return usage_error("--monitor %s: expected unix:PATH", optarg);
			c->monitor = optarg;
			break;
		case OPT_COMPRESS:
			if (cli_parse_compress(optarg, &c->mig.codec, &c->mig.level))
				return usage_error("--compress %s: expected none, zlib[:1..9] or "
						   "zstd[:-7..19]", optarg);
			c->compress_arg = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("vmm %s\n", VMM_VERSION);
			return 0;
		case ':':
			return usage_error("option %s needs a value", argv[optind - 1]);
		default:
			if (optopt && strchr(argv[optind - 1], '='))
				return usage_error("option %s takes no value", argv[optind - 1]);
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return check(c);
}
