/* main.c - command line of the vmm program. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/kvm.h"
#include "vmm/machine.h"
#include "vmm/serial_backend.h"
#include "vmm/snapshot.h"
#include "vmm/units.h"

#define VMM_VERSION "0.1"
#define DEFAULT_MEM (256ull << 20)
#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmm [OPTION]...\n"
		"Run the test kernel (or another ELF64 kernel) in a KVM virtual machine.\n"
		"\n"
		"  --kernel FILE        ELF64 kernel to boot (default: guest/kernel.elf\n"
		"                       next to the vmm binary)\n"
		"  --mem SIZE           guest RAM, e.g. 256M or 1G (default 256M;\n"
		"                       a multiple of 1M from 4M to 3G)\n"
		"  --cmdline STR        kernel command line; the test kernel takes\n"
		"                       steps=N mem=SIZE pages=N\n"
		"  --serial BACKEND     COM1: stdio (default), file:PATH or none\n"
		"  --save FILE          on Ctrl-C or SIGTERM (or --save-after), suspend\n"
		"                       the VM to FILE and exit 0\n"
		"  --save-after TIME    suspend after TIME of running, e.g. 2s, 500ms\n"
		"  --restore FILE       resume the VM saved in FILE; the machine comes\n"
		"                       from the file (--mem, --cmdline, --kernel may\n"
		"                       only repeat it; --serial picks a new host side)\n"
		"  --trace-ssm          print every save/load callback on stderr\n"
		"  --help               show this help\n"
		"  --version            show the version\n"
		"\n"
		"On a terminal, Ctrl-C stops the VM (with --save: suspends it; SIGQUIT\n"
		"then quits without saving).  The exit status is the byte the guest\n"
		"writes to its power-off port, 128+N after signal N, 1 on error or when\n"
		"a requested save failed, 2 on a usage error.\n"
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

/* The default kernel sits beside the binary: build/vmm and
 * build/guest/kernel.elf, whatever the current directory. */
static char *default_kernel(void)
{
	static const char rel[] = "/guest/kernel.elf";
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash, *path;

	if (n <= 0)
		return NULL;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	path = malloc(strlen(exe) + sizeof(rel));
	if (path)
		sprintf(path, "%s%s", exe, rel);
	return path;
}

/* On restore the machine comes from the file; a flag may repeat it but not
 * contradict it.  Returns 0 or the exit status for a refusal. */
static int check_restore_flags(const struct saved_config *sc, const struct machine_config *cfg,
			       const char *mem_arg, bool kernel_set, bool cmdline_set)
{
	uint64_t size;
	uint32_t crc;

	if (mem_arg && cfg->ram_size != sc->ram_size) {
		fprintf(stderr, "vmm: --mem %s contradicts the saved machine (%lluM)\n",
			mem_arg, (unsigned long long)(sc->ram_size >> 20));
		return EXIT_USAGE;
	}
	if (cmdline_set && strcmp(cfg->cmdline, sc->cmdline)) {
		fprintf(stderr, "vmm: --cmdline \"%s\" contradicts the saved machine (\"%s\")\n",
			cfg->cmdline, sc->cmdline);
		return EXIT_USAGE;
	}
	if (kernel_set && (units_kernel_facts(cfg->kernel, &size, &crc) ||
			   size != sc->kernel_size || crc != sc->kernel_crc)) {
		fprintf(stderr, "vmm: --kernel %s is not the kernel the saved machine booted "
			"(%s, %llu bytes, CRC32 %08x)\n", cfg->kernel, sc->kernel,
			(unsigned long long)sc->kernel_size, sc->kernel_crc);
		return EXIT_USAGE;
	}
	return 0;
}

/* Build the machine (booted fresh or restored) and run it. */
static int run(struct machine *m, const struct machine_config *cfg,
	       const struct saved_config *sc, const char *restore_path,
	       const char *save_path, uint64_t save_after, bool trace)
{
	char msg[700];
	int status;

	if (machine_create(m, cfg)) {
		machine_destroy(m);
		return MACHINE_EXIT_ERROR;
	}
	if (trace)
		snapshot_trace(m->ssm);
	m->save_path = save_path;
	m->save_after_ns = save_after;
	if (sc) {
		m->kernel_size = sc->kernel_size;
		m->kernel_crc = sc->kernel_crc;
		uint64_t t0 = host_now_ns();

		if (snapshot_restore(m, restore_path, msg, sizeof(msg))) {
			fprintf(stderr, "vmm: restore from %s failed: %s\n", restore_path, msg);
			machine_destroy(m);
			return MACHINE_EXIT_ERROR;
		}
		fprintf(stderr, "vmm: restored from %s in %.3f s\n", restore_path,
			(double)(host_now_ns() - t0) / 1e9);
	} else if (machine_boot(m)) {
		machine_destroy(m);
		return MACHINE_EXIT_ERROR;
	}
	machine_start(m);
	status = machine_run(m);
	if (m->save_failed && status == 0)
		status = MACHINE_EXIT_ERROR;
	machine_destroy(m);
	return status;
}

int main(int argc, char **argv)
{
	enum { OPT_KERNEL = 256, OPT_MEM, OPT_CMDLINE, OPT_SERIAL, OPT_HELP, OPT_VERSION,
	       OPT_SAVE, OPT_SAVE_AFTER, OPT_RESTORE, OPT_TRACE };
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
		{ "trace-ssm", no_argument, NULL, OPT_TRACE },
		{ NULL, 0, NULL, 0 },
	};
	struct machine_config cfg = {
		.kernel = NULL, .ram_size = DEFAULT_MEM, .cmdline = "", .serial = "stdio",
	};
	enum serial_backend_kind kind;
	struct machine m;
	char *kernel_alloc = NULL;
	const char *path, *save_path = NULL, *restore_path = NULL, *mem_arg = NULL;
	bool kernel_set = false, cmdline_set = false, serial_set = false, trace = false;
	uint64_t save_after = 0;
	struct saved_config *sc = NULL;
	char msg[700];
	int c, status;

	opterr = 0;     /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL:
			cfg.kernel = optarg;
			kernel_set = true;
			break;
		case OPT_MEM:
			if (parse_size(optarg, &cfg.ram_size) || cfg.ram_size % (1u << 20) ||
			    cfg.ram_size < KVM_RAM_MIN || cfg.ram_size > KVM_RAM_MAX) {
				fprintf(stderr, "vmm: --mem %s: need a multiple of 1M from %lluM "
					"to %lluG\n", optarg, KVM_RAM_MIN >> 20, KVM_RAM_MAX >> 30);
				return EXIT_USAGE;
			}
			mem_arg = optarg;
			break;
		case OPT_CMDLINE:
			cfg.cmdline = optarg;
			cmdline_set = true;
			break;
		case OPT_SERIAL:
			if (serial_backend_parse(optarg, &kind, &path)) {
				fprintf(stderr, "vmm: --serial %s: expected stdio, file:PATH or "
					"none\n", optarg);
				return EXIT_USAGE;
			}
			cfg.serial = optarg;
			serial_set = true;
			break;
		case OPT_SAVE:
			save_path = optarg;
			break;
		case OPT_SAVE_AFTER:
			if (parse_duration(optarg, &save_after)) {
				fprintf(stderr, "vmm: --save-after %s: expected a time such as "
					"2s or 500ms\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_RESTORE:
			restore_path = optarg;
			break;
		case OPT_TRACE:
			trace = true;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("vmm %s\n", VMM_VERSION);
			return 0;
		case ':':
			fprintf(stderr, "vmm: option %s needs a value (try --help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt && strchr(argv[optind - 1], '='))
				fprintf(stderr, "vmm: option %s takes no value (try --help)\n",
					argv[optind - 1]);
			else
				fprintf(stderr, "vmm: unknown option %s (try --help)\n",
					argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmm: unexpected argument '%s' (try --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (save_after && !save_path) {
		fprintf(stderr, "vmm: --save-after needs --save FILE\n");
		return EXIT_USAGE;
	}
	if (restore_path) {
		sc = calloc(1, sizeof(*sc));
		if (!sc) {
			fprintf(stderr, "vmm: out of memory\n");
			return 1;
		}
		if (units_read_config(restore_path, sc, msg, sizeof(msg))) {
			fprintf(stderr, "vmm: cannot restore from %s: %s\n", restore_path, msg);
			free(sc);
			return 1;
		}
		status = check_restore_flags(sc, &cfg, mem_arg, kernel_set, cmdline_set);
		if (status) {
			free(sc);
			return status;
		}
		cfg.ram_size = sc->ram_size;
		cfg.cmdline = sc->cmdline;
		cfg.kernel = sc->kernel;
		if (!serial_set) {
			cfg.serial = sc->serial;
			cfg.serial_append = true;
		}
	} else if (!cfg.kernel) {
		kernel_alloc = default_kernel();
		if (!kernel_alloc) {
			fprintf(stderr, "vmm: cannot locate the default kernel; use --kernel\n");
			return 1;
		}
		cfg.kernel = kernel_alloc;
	}

	status = run(&m, &cfg, sc, restore_path, save_path, save_after, trace);
	free(sc);
	free(kernel_alloc);
	return status;
}
