/* test_vmm_cli.c - the vmm command line (vmm/cli.c) and the tcp:HOST:PORT
 * syntax (vmm/migrate_addr.c): what is accepted, defaults, and that each
 * refusal is one line and exit status 2 before anything starts. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cli.h"
#include "vmm/migrate.h"

#define ARGV(...) ((char *[]){ "vmm", __VA_ARGS__, NULL })

/* Parse a NULL-terminated argv. */
static int parse(struct cli *c, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	optind = 0;                             /* glibc: start a fresh scan */
	return cli_parse(c, argc, argv);
}

#define PARSE(c, ...) parse((c), ARGV(__VA_ARGS__))

Test(cli, defaults)
{
	struct cli c;
	char *argv[] = { "vmm", NULL };

	cr_assert_eq(parse(&c, argv), -1);
	cr_assert_eq(c.cfg.ram_size, 256ull << 20);
	cr_assert_str_eq(c.cfg.serial, "stdio");
	cr_assert_str_eq(c.cfg.cmdline, "");
	cr_assert_null(c.cfg.kernel);
	cr_assert_eq(c.mig.max_downtime_ms, 30);
	cr_assert_eq(c.mig.max_passes, 30);
	cr_assert(!c.kernel_set && !c.cmdline_set && !c.serial_set);
}

Test(cli, cpus)
{
	struct cli c;

	cr_assert_eq(PARSE(&c, "--mem", "64M"), -1);
	cr_assert_eq(c.cfg.ncpus, 1, "one vCPU by default");
	cr_assert_null(c.cpus_arg);
	cr_assert_eq(PARSE(&c, "--cpus", "3", "--irqchip", "kernel"), -1);
	cr_assert_eq(c.cfg.ncpus, 3);
	cr_assert_str_eq(c.cpus_arg, "3");
	cr_assert_eq(PARSE(&c, "--irqchip", "kernel", "--cpus", "64"), -1);
	cr_assert_eq(c.cfg.ncpus, 64);
	cr_assert_eq(PARSE(&c, "--cpus", "1", "--irqchip", "user"), -1, "one vCPU: any irqchip");
	/* On restore the file's mode decides. */
	cr_assert_eq(PARSE(&c, "--restore", "x.sav", "--cpus", "2"), -1);
}

Test(cli, cpu_model, .init = cr_redirect_stderr)
{
	struct cli c;

	cr_assert_eq(PARSE(&c, "--mem", "64M"), -1);
	cr_assert_null(c.cfg.cpu, "no --cpu: the host's table");
	cr_assert_eq(PARSE(&c, "--cpu", "qemu64,+x2apic,-pcid,vendor=GenuineIntel"), -1);
	cr_assert_str_eq(c.cfg.cpu, "qemu64,+x2apic,-pcid,vendor=GenuineIntel");
	cr_assert_eq(PARSE(&c, "--cpu", "pentium9"), EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--cpu", "host,+nosuchflag"), EXIT_USAGE);
	/* The CPUID of a restored or received guest is the saved one. */
	cr_assert_eq(PARSE(&c, "--restore", "x.sav", "--cpu", "host"), EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--incoming", "tcp:127.0.0.1:4444", "--cpu", "host"), EXIT_USAGE);
}

Test(cli, values)
{
	struct cli c;

	cr_assert_eq(PARSE(&c, "--mem", "1G", "--cmdline", "steps=3", "--serial", "none",
			   "--save", "s.sav", "--save-after", "1.5s", "--live", "--continue"), -1);
	cr_assert_eq(c.cfg.ram_size, 1ull << 30);
	cr_assert_str_eq(c.mem_arg, "1G");
	cr_assert_str_eq(c.cfg.cmdline, "steps=3");
	cr_assert_str_eq(c.cfg.serial, "none");
	cr_assert(c.cmdline_set && c.serial_set);
	cr_assert_eq(c.after_ns, 1500000000ull);
	cr_assert_str_eq(c.mig.live_file, "s.sav", "--live makes the save a live one");
	cr_assert(c.mig.cont);
	cr_assert(!c.background);

	cr_assert_eq(PARSE(&c, "--save", "s.sav", "--continue", "--background"), -1);
	cr_assert(c.background && c.cont && !c.mig.live_file);

	cr_assert_eq(PARSE(&c, "--migrate", "tcp:127.0.0.1:4444", "--migrate-after", "500ms",
			   "--max-downtime", "5", "--max-passes", "0", "--on-giveup", "abort"), -1);
	cr_assert_str_eq(c.mig.target, "tcp:127.0.0.1:4444");
	cr_assert_eq(c.after_ns, 500000000ull);
	cr_assert_eq(c.mig.max_downtime_ms, 5);
	cr_assert_eq(c.mig.max_passes, 0);
	cr_assert(c.mig.giveup_abort);
	cr_assert_null(c.mig.live_file);

	cr_assert_eq(PARSE(&c, "--restore", "s.sav", "--verify"), -1);
	cr_assert(c.verify);
	cr_assert_str_eq(c.restore_path, "s.sav");
	cr_assert_eq(PARSE(&c, "--restore", "s.sav"), -1);
	cr_assert(!c.verify, "--verify is off unless asked for");

	cr_assert_eq(PARSE(&c, "--mem", "4096k"), -1, "a multiple of 1M in K");
	cr_assert_eq(c.cfg.ram_size, 4ull << 20);
	cr_assert_eq(PARSE(&c, "--mem", "64G"), -1, "RAM above 4 GiB, up to the maximum");
	cr_assert_eq(c.cfg.ram_size, 64ull << 30);
	cr_assert_eq(PARSE(&c, "--mem", "3073M"), -1, "1M above the hole");
	cr_assert_eq(c.cfg.ram_size, 3073ull << 20);
}

/* Each refusal: status 2 and exactly one "vmm: " line. */
static void refused(const char *why, int rc)
{
	cr_assert_eq(rc, EXIT_USAGE, "%s: status %d", why, rc);
}

Test(cli, refusals, .init = cr_redirect_stderr)
{
	struct cli c;

	refused("RAM not a multiple of 1M", PARSE(&c, "--mem", "5000K"));
	refused("RAM below 4M", PARSE(&c, "--mem", "3M"));
	refused("RAM above 64G", PARSE(&c, "--mem", "65537M"));
	refused("RAM of 1T", PARSE(&c, "--mem", "1024G"));
	refused("RAM overflow", PARSE(&c, "--mem", "99999999999999999999G"));
	refused("RAM not a number", PARSE(&c, "--mem", "lots"));
	refused("no vCPUs", PARSE(&c, "--cpus", "0"));
	refused("65 vCPUs", PARSE(&c, "--cpus", "65"));
	refused("vCPUs not a number", PARSE(&c, "--cpus", "two"));
	refused("vCPUs with a suffix", PARSE(&c, "--cpus", "2x", "--irqchip", "kernel"));
	refused("vCPUs negative", PARSE(&c, "--cpus", "-1", "--irqchip", "kernel"));
	refused("vCPUs overflow", PARSE(&c, "--cpus", "4294967297", "--irqchip", "kernel"));
	refused("vCPUs empty", PARSE(&c, "--cpus", "", "--irqchip", "kernel"));
	refused("2 vCPUs, user irqchip (default)", PARSE(&c, "--cpus", "2"));
	refused("2 vCPUs, user irqchip", PARSE(&c, "--cpus", "2", "--irqchip", "user"));
	refused("--cpus with --incoming", PARSE(&c, "--incoming", "tcp:127.0.0.1:4444",
						"--cpus", "2"));
	refused("bad serial", PARSE(&c, "--serial", "tty:x"));
	refused("bad time", PARSE(&c, "--save", "f", "--save-after", "2h"));
	refused("zero time", PARSE(&c, "--save", "f", "--save-after", "0s"));
	refused("save-after alone", PARSE(&c, "--save-after", "1s"));
	refused("live without save", PARSE(&c, "--live"));
	refused("continue without save", PARSE(&c, "--continue"));
	refused("background without continue", PARSE(&c, "--save", "f", "--background"));
	refused("background with live", PARSE(&c, "--save", "f", "--continue", "--live",
					      "--background"));
	refused("verify without restore", PARSE(&c, "--verify"));
	refused("migrate and save", PARSE(&c, "--migrate", "tcp:h:1", "--save", "f"));
	refused("bad migrate address", PARSE(&c, "--migrate", "udp:h:1"));
	refused("bad incoming address", PARSE(&c, "--incoming", "tcp:h"));
	refused("incoming with mem", PARSE(&c, "--incoming", "tcp:h:1", "--mem", "64M"));
	refused("incoming with restore", PARSE(&c, "--incoming", "tcp:h:1", "--restore", "f"));
	refused("zero downtime", PARSE(&c, "--max-downtime", "0"));
	refused("downtime past u32", PARSE(&c, "--max-downtime", "4294967296"));
	refused("bad passes", PARSE(&c, "--max-passes", "-1"));
	refused("bad give-up", PARSE(&c, "--on-giveup", "later"));
	refused("unknown option", PARSE(&c, "--frobnicate"));
	refused("missing value", PARSE(&c, "--kernel"));
	refused("value on a flag", PARSE(&c, "--live=yes"));
	refused("stray argument", PARSE(&c, "kernel.elf"));
	refused("tls option without tls:", PARSE(&c, "--migrate", "tcp:h:1", "--tls-ca", "/dev/null"));
	refused("tls: without credentials", PARSE(&c, "--incoming", "tls:h:1"));
	refused("tls: without a key", PARSE(&c, "--migrate", "tls:h:1", "--tls-cert", "/dev/null",
					   "--tls-ca", "/dev/null"));
	refused("tls: unreadable file", PARSE(&c, "--incoming", "tls:h:1", "--tls-psk",
					      "/nonexistent/psk"));
	refused("tls-name on the destination", PARSE(&c, "--incoming", "tls:h:1", "--tls-psk",
						     "/dev/null", "--tls-name", "x"));
	refused("save - with stdio console", PARSE(&c, "--save", "-", "--serial", "stdio"));
	refused("save - with stdout console", PARSE(&c, "--save", "-", "--serial", "stdout"));
	refused("restore - with stdio console", PARSE(&c, "--restore", "-", "--serial", "stdio"));
	refused("restore - with mem", PARSE(&c, "--restore", "-", "--mem", "64M"));
}

Test(cli, tls_options_reach_the_migration)
{
	struct cli c;

	cr_assert_eq(PARSE(&c, "--migrate", "tls:h:1", "--tls-cert", "/dev/null", "--tls-key",
			   "/dev/null", "--tls-ca", "/dev/null", "--tls-name", "dest"), -1);
	cr_assert_str_eq(c.mig.tls.cert, "/dev/null");
	cr_assert_str_eq(c.mig.tls.name, "dest");
	cr_assert_null(c.mig.tls.psk);
	cr_assert_eq(PARSE(&c, "--incoming", "tls:h:1", "--tls-psk", "/dev/null"), -1);
	cr_assert_str_eq(c.mig.tls.psk, "/dev/null");
}

Test(cli, one_line_per_refusal, .init = cr_redirect_stderr)
{
	struct cli c;
	char line[256];

	refused("unknown option", PARSE(&c, "--frobnicate"));
	fflush(stderr);
	FILE *f = cr_get_redirected_stderr();
	cr_assert_not_null(fgets(line, sizeof(line), f));
	cr_assert_eq(strncmp(line, "vmm: ", 5), 0, "got: %s", line);
	cr_assert_not_null(strstr(line, "--frobnicate"), "names the option: %s", line);
	cr_assert_null(fgets(line, sizeof(line), f), "a second line: %s", line);
}

Test(cli, help_and_version_end_with_0, .init = cr_redirect_stdout)
{
	struct cli c;

	cr_assert_eq(PARSE(&c, "--help"), 0);
	cr_assert_eq(PARSE(&c, "--version"), 0);
}

Test(migrate_addr, parses_host_and_port)
{
	char *buf;
	const char *host, *port;

	cr_assert_eq(migrate_parse_addr("tcp:127.0.0.1:4444", &buf, &host, &port), 0);
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_str_eq(port, "4444");
	free(buf);
	/* The last colon splits, so a bracketless IPv6 host keeps its colons. */
	cr_assert_eq(migrate_parse_addr("tcp:::1:80", &buf, &host, &port), 0);
	cr_assert_str_eq(host, "::1");
	cr_assert_str_eq(port, "80");
	free(buf);
	cr_assert_eq(migrate_parse_addr("tls:dest:4444", &buf, &host, &port), 0);
	cr_assert_str_eq(host, "dest");
	cr_assert_str_eq(port, "4444");
	free(buf);
	cr_assert(migrate_addr_is_tls("tls:dest:4444"));
	cr_assert(!migrate_addr_is_tls("tcp:dest:4444"));
	cr_assert(!migrate_addr_is_tls(NULL));
}

Test(migrate_addr, refuses_what_is_not_tcp_host_port)
{
	static const char *const bad[] = {
		"", "tcp:", "tcp:host", "tcp::80", "tcp:host:", "udp:h:1", "TCP:h:1", "h:1",
		"tls:", "tls:host", "tls:host:", "TLS:h:1",
	};
	char *buf;
	const char *host, *port;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(migrate_parse_addr(bad[i], &buf, &host, &port), -1, "'%s'", bad[i]);
		cr_assert_null(buf, "'%s': nothing left to free", bad[i]);
	}
}

Test(cli, compress)
{
	static const struct { const char *arg; int codec, level; } good[] = {
		{ "none", SSM_CODEC_ZLIB, 0 }, { "zlib", SSM_CODEC_ZLIB, 1 },
		{ "zlib:9", SSM_CODEC_ZLIB, 9 }, { "zstd", SSM_CODEC_ZSTD, 1 },
		{ "zstd:19", SSM_CODEC_ZSTD, 19 }, { "zstd:-7", SSM_CODEC_ZSTD, -7 },
	};
	static const char *const bad[] = { "", "zstd:", "zstd:0", "zstd:20", "zstd:-8",
					   "zlib:0", "zlib:10", "zlib:-1", "lz4", "zstd:3x",
					   "none:1", "zstdx" };
	struct cli c;

	cr_assert_eq(PARSE(&c, "--save", "s.sav"), -1);
	cr_assert_eq(c.mig.level, 0, "no compression by default");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert_eq(PARSE(&c, "--save", "s.sav", "--compress", (char *)good[i].arg), -1,
			     "%s", good[i].arg);
		cr_assert_eq(c.mig.codec, good[i].codec, "%s", good[i].arg);
		cr_assert_eq(c.mig.level, good[i].level, "%s", good[i].arg);
	}
	cr_assert_eq(PARSE(&c, "--migrate", "tcp:127.0.0.1:4444", "--compress", "zstd:3"), -1);
	cr_assert_eq(c.mig.level, 3);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int codec = 7, level = 7;

		cr_assert_eq(cli_parse_compress(bad[i], &codec, &level), -1, "'%s' accepted",
			     bad[i]);
	}
}

Test(cli, compress_refusals_are_one_line, .init = cr_redirect_stderr)
{
	struct cli c;

	cr_assert_eq(PARSE(&c, "--save", "s.sav", "--compress", "zstd:99"), EXIT_USAGE);
	cr_assert_eq(PARSE(&c, "--compress", "zstd"), EXIT_USAGE, "--compress without a save");
	fflush(stderr);
	cr_assert_stderr_eq_str("vmm: --compress zstd:99: expected none, zlib[:1..9] or "
				"zstd[:-7..19] (try --help)\n"
				"vmm: --compress needs --save FILE or --migrate (try --help)\n");
}
