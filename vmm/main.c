/* main.c - the vmm program: boot, restore or receive a VM, then run it. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/boot.h"
#include "vmm/cli.h"
#include "vmm/clock.h"
#include "vmm/inspect.h"
#include "vmm/machine.h"
#include "vmm/schema.h"
#include "vmm/monitor.h"
#include "vmm/monitor_ctl.h"
#include "vmm/ram.h"
#include "vmm/snapshot.h"
#include "vmm/stop.h"
#include "vmm/stream_stdio.h"
#include "vmm/units.h"
#include "vmm/verify.h"

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

static bool same_modules(const struct machine_config *cfg, const struct saved_config *sc)
{
	for (unsigned i = 0; i < cfg->nmodules; i++)
		if (strcmp(cfg->modules[i], sc->module[i].spec))
			return false;
	return true;
}

/* On restore the machine comes from the file; a flag may repeat it but not
 * contradict it.  Returns 0 or the exit status for a refusal. */
static int check_restore_flags(const struct saved_config *sc, const struct machine_config *cfg,
			       const char *mem_arg, bool kernel_set, bool cmdline_set)
{
	struct stat st;
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
	if (cfg->nmodules && (cfg->nmodules != sc->nmodules ||
			      !same_modules(cfg, sc))) {
		fprintf(stderr, "vmm: --module/--initrd contradict the saved machine (%u "
			"module(s)%s%s)\n", sc->nmodules, sc->nmodules ? ", the first " : "",
			sc->nmodules ? sc->module[0].spec : "");
		return EXIT_USAGE;
	}
	/* A wrong file is refused by its type or size before a byte of it is
	 * read; the saved size bounds the read of the checksum. */
	if (kernel_set && (stat(cfg->kernel, &st) < 0 || !S_ISREG(st.st_mode) ||
			   (uint64_t)st.st_size != sc->kernel_size ||
			   boot_kernel_facts(cfg->kernel, sc->kernel_size, &size, &crc) ||
			   size != sc->kernel_size || crc != sc->kernel_crc)) {
		fprintf(stderr, "vmm: --kernel %s is not the kernel the saved machine booted "
			"(%s, %llu bytes, CRC32 %08x)\n", cfg->kernel, sc->kernel,
			(unsigned long long)sc->kernel_size, sc->kernel_crc);
		return EXIT_USAGE;
	}
	return 0;
}

/* Fresh boot, or restore from c->restore_path (sc already read). */
static int prepare(struct machine *m, const struct cli *c, const struct machine_config *cfg,
		   const struct saved_config *sc)
{
	char msg[700];
	uint64_t t0;

	if (machine_create(m, cfg))
		return -1;
	if (c->trace)
		snapshot_trace(m->ssm);
	if (!sc)
		return machine_boot(m);
	machine_set_kernel_facts(m, sc->kernel_size, sc->kernel_crc);
	ram_set_load_verify(m, c->verify);
	t0 = host_now_ns();
	if (snapshot_restore(m, c->restore_path, msg, sizeof(msg))) {
		fprintf(stderr, "vmm: restore from %s failed: %s\n", c->restore_path, msg);
		return -1;
	}
	fprintf(stderr, "vmm: restored from %s in %.3f s\n", c->restore_path,
		(double)(host_now_ns() - t0) / 1e9);
	return 0;
}

/* --restore -: one pass over stdin, the machine built from the stream's
 * first record as on an incoming migration; every check of a file restore
 * but the flags, which cli refuses.  0, or the exit status (printed). */
static int restore_stdin(struct machine *m)
{
	char msg[700];
	uint64_t t0 = host_now_ns();
	int sig;

	if (!snapshot_restore(m, "-", msg, sizeof(msg))) {
		fprintf(stderr, "vmm: restored from stdin in %.3f s\n",
			(double)(host_now_ns() - t0) / 1e9);
		machine_start(m);
		return 0;
	}
	fprintf(stderr, "vmm: restore from stdin failed: %s; the guest did not run\n", msg);
	sig = stop_signal_pending();
	return sig ? 128 + sig : MACHINE_EXIT_ERROR;
}

/* Build or receive the machine, run it, tear it down; the exit status. */
static int run(struct machine *m, const struct cli *c, const struct machine_config *cfg,
	       const struct saved_config *sc, struct monitor **mon)
{
	int status;

	if (c->incoming || stream_stdio_is(c->restore_path)) {
		if (machine_init(m)) {
			machine_destroy(m);
			return MACHINE_EXIT_ERROR;
		}
		if (c->trace)
			snapshot_trace(m->ssm);
		/* The console is this host's choice, whatever the source had. */
		machine_set_serial_override(m, cfg->serial);
		if (c->irqchip_set)
			machine_require_irqchip(m, cfg->irqchip);
		migrate_set_opts(&m->mig, &c->mig);
		status = c->incoming ? migrate_incoming(m, c->incoming) : restore_stdin(m);
		if (status) {
			machine_destroy(m);
			return status;
		}
	} else {
		/* A kernel that cannot be booted is refused before KVM and RAM
		 * are set up (slow on a busy host), with nothing to tear down. */
		if (!sc) {
			uint64_t size;
			int fd = boot_open_kernel(cfg->kernel, cfg->ram_size, &size);

			if (fd < 0)
				return MACHINE_EXIT_ERROR;
			close(fd);
		}
		if (prepare(m, c, cfg, sc)) {
			int sig = stop_signal_pending();

			machine_destroy(m);
			/* Stopped by a signal before the guest ran: say so the
			 * way the main loop would have. */
			return sig ? 128 + sig : MACHINE_EXIT_ERROR;
		}
		machine_start(m);
	}
	machine_set_stop_action(m, c->save_path, c->cont, c->after_ns, &c->mig);
	if (*mon) {
		monitor_attach(*mon, m);
		machine_set_monitor(m, *mon);
	}
	machine_set_save_background(m, c->background);
	chain_configure(m, c->incremental, c->force);
	status = machine_run(m);
	if (m->save_failed && status == 0)
		status = MACHINE_EXIT_ERROR;
	/* Before the machine goes: its last state changes are events. */
	monitor_close(*mon, status);
	*mon = NULL;
	machine_destroy(m);
	return status;
}

/* `vmm NAME ...` runs a tool instead of a VM: one line per tool, its entry
 * point taking the arguments after NAME (argv[0] is NAME). */
static const struct subcommand {
	const char *name;
	int (*main)(int argc, char **argv);
} subcommands[] = {
	{ "inspect", inspect_main },
	{ "schema", schema_main },
	{ "verify", verify_main },
	{ "ctl", ctl_main },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	struct cli c;
	struct machine_config cfg;
	struct machine m;
	struct saved_config *sc = NULL;
	struct monitor *mon = NULL;
	char *kernel_alloc = NULL;
	char msg[700];
	int status;

	for (const struct subcommand *t = subcommands; argc > 1 && t->name; t++)
		if (!strcmp(argv[1], t->name))
			return t->main(argc - 1, argv + 1);
	status = cli_parse(&c, argc, argv);
	if (status >= 0)
		return status;
	cfg = c.cfg;
	/* Stdout carries the state (cli refused an explicit stdio), and with
	 * --restore - stdin does: the console gets what is left. */
	if (!c.serial_set && stream_stdio_is(c.save_path))
		cfg.serial = "stderr";
	else if (!c.serial_set && stream_stdio_is(c.restore_path))
		cfg.serial = "stdout";
	/* Before anything slow: a socket path in use is refused at once. */
	if (c.monitor && !(mon = monitor_open(c.monitor)))
		return 1;
	if (c.restore_path && !stream_stdio_is(c.restore_path)) {
		sc = calloc(1, sizeof(*sc));
		if (!sc) {
			fprintf(stderr, "vmm: out of memory\n");
			return 1;
		}
		if (units_read_config(c.restore_path, sc, msg, sizeof(msg))) {
			fprintf(stderr, "vmm: cannot restore from %s: %s\n", c.restore_path, msg);
			free(sc);
			monitor_close(mon, 1);
			return 1;
		}
		status = check_restore_flags(sc, &cfg, c.mem_arg, c.kernel_set, c.cmdline_set);
		/* The file's mode wins over the default; an explicit other one
		 * would restore a VM its chips' state does not fit. */
		if (!status && c.irqchip_set && c.cfg.irqchip != sc->irqchip) {
			fprintf(stderr, "vmm: --irqchip %s: %s was saved with --irqchip %s; "
				"restore it with that mode (or without --irqchip)\n",
				irqchip_name(c.cfg.irqchip), c.restore_path,
				irqchip_name((enum irqchip_mode)sc->irqchip));
			status = EXIT_USAGE;
		}
		if (status) {
			free(sc);
			monitor_close(mon, status);
			return status;
		}
		cfg.ram_size = sc->ram_size;
		cfg.irqchip = (enum irqchip_mode)sc->irqchip;
		cfg.cmdline = sc->cmdline;
		cfg.kernel = sc->kernel;
		cfg.nmodules = sc->nmodules;
		for (unsigned i = 0; i < sc->nmodules; i++)
			cfg.modules[i] = sc->module[i].spec;
		/* The console is this host's choice (--serial, default stdio):
		 * the spec stored in the file is never opened.  A file named
		 * again continues its log. */
		cfg.serial_append = c.serial_set;
	} else if (!cfg.kernel && !c.incoming) {
		kernel_alloc = default_kernel();
		if (!kernel_alloc) {
			fprintf(stderr, "vmm: cannot locate the default kernel; use --kernel\n");
			monitor_close(mon, 1);
			return 1;
		}
		cfg.kernel = kernel_alloc;
	}
	status = run(&m, &c, &cfg, sc, &mon);
	monitor_close(mon, status);         /* when the VM never ran */
	free(sc);
	free(kernel_alloc);
	return status;
}
