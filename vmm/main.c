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
		"  --help               show this help\n"
		"  --version            show the version\n"
		"\n"
		"On a terminal, Ctrl-C stops the VM.  The exit status is the byte the\n"
		"guest writes to its power-off port, 128+N after signal N, 1 on error.\n");
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

int main(int argc, char **argv)
{
	enum { OPT_KERNEL = 256, OPT_MEM, OPT_CMDLINE, OPT_SERIAL, OPT_HELP, OPT_VERSION };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "serial", required_argument, NULL, OPT_SERIAL },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct machine_config cfg = {
		.kernel = NULL, .ram_size = DEFAULT_MEM, .cmdline = "", .serial = "stdio",
	};
	enum serial_backend_kind kind;
	struct machine m;
	char *kernel_alloc = NULL;
	const char *path;
	int c, status;

	opterr = 0;     /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL:
			cfg.kernel = optarg;
			break;
		case OPT_MEM:
			if (parse_size(optarg, &cfg.ram_size) || cfg.ram_size % (1u << 20) ||
			    cfg.ram_size < KVM_RAM_MIN || cfg.ram_size > KVM_RAM_MAX) {
				fprintf(stderr, "vmm: --mem %s: need a multiple of 1M from %lluM "
					"to %lluG\n", optarg, KVM_RAM_MIN >> 20, KVM_RAM_MAX >> 30);
				return EXIT_USAGE;
			}
			break;
		case OPT_CMDLINE:
			cfg.cmdline = optarg;
			break;
		case OPT_SERIAL:
			if (serial_backend_parse(optarg, &kind, &path)) {
				fprintf(stderr, "vmm: --serial %s: expected stdio, file:PATH or "
					"none\n", optarg);
				return EXIT_USAGE;
			}
			cfg.serial = optarg;
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
	if (!cfg.kernel) {
		kernel_alloc = default_kernel();
		if (!kernel_alloc) {
			fprintf(stderr, "vmm: cannot locate the default kernel; use --kernel\n");
			return 1;
		}
		cfg.kernel = kernel_alloc;
	}

	if (machine_create(&m, &cfg) || machine_boot(&m)) {
		machine_destroy(&m);
		free(kernel_alloc);
		return MACHINE_EXIT_ERROR;
	}
	machine_start(&m);
	status = machine_run(&m);
	machine_destroy(&m);
	free(kernel_alloc);
	return status;
}
