/* cli.h - the vmm command line: parsing and checking, nothing else. */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/machine.h"
#include "vmm/migrate.h"

#define EXIT_USAGE 2
#define VMM_VERSION "0.2"

struct cli {
	struct machine_config cfg;      /* --kernel --mem --cmdline --serial */
	const char *mem_arg;            /* as typed, for messages */
	bool kernel_set, cmdline_set, serial_set;
	bool irqchip_set;               /* --irqchip given */
	const char *save_path;          /* --save */
	uint64_t after_ns;              /* --save-after / --migrate-after */
	bool live, cont;                /* --live, --continue */
	bool background;                /* --background (point-in-time) */
	bool incremental;               /* --incremental: saves chain */
	bool force;                     /* --force: overwrite chain files */
	const char *restore_path;       /* --restore */
	bool verify;                    /* --verify: check RAM checksums first */
	const char *incoming;           /* --incoming tcp:HOST:PORT */
	struct migrate_opts mig;        /* --migrate and the live-save knobs */
	bool trace;                     /* --trace-ssm */
	const char *monitor;            /* --monitor unix:PATH */
	const char *compress_arg;       /* --compress, as typed (the choice is
					   in mig.codec and mig.level) */
};

/* Parse argv into c.  Returns -1 to go on, or the exit status to end with
 * (0 after --help/--version, EXIT_USAGE after one printed line). */
int cli_parse(struct cli *c, int argc, char **argv);

/* Parse --compress's none|zlib[:LEVEL]|zstd[:LEVEL] into an ssm_codec and a
 * level (0: none; default 1); 0, or -1 if s is not one of those. */
int cli_parse_compress(const char *s, int *codec, int *level);

#endif
