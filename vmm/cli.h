/* cli.h - the vmm command line: parsing and checking, nothing else. */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/machine.h"
#include "vmm/migrate.h"

#define EXIT_USAGE 2

struct cli {
	struct machine_config cfg;      /* --kernel --mem --cmdline --serial */
	const char *mem_arg;            /* as typed, for messages */
	bool kernel_set, cmdline_set, serial_set;
	const char *save_path;          /* --save */
	uint64_t after_ns;              /* --save-after / --migrate-after */
	bool live, cont;                /* --live, --continue */
	const char *restore_path;       /* --restore */
	bool verify;                    /* --verify: check RAM checksums first */
	const char *incoming;           /* --incoming tcp:HOST:PORT */
	struct migrate_opts mig;        /* --migrate and the live-save knobs */
	bool trace;                     /* --trace-ssm */
};

/* Parse argv into c.  Returns -1 to go on, or the exit status to end with
 * (0 after --help/--version, EXIT_USAGE after one printed line). */
int cli_parse(struct cli *c, int argc, char **argv);

#endif
