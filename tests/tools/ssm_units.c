/* ssm_units.c - copy a state file unit by unit, for tests: leave one unit
 * out, give one a different version, set the machine unit's clock, or fill
 * the RAM image's zero pages (a big file, slow to load).  Every CRC of the
 * output is computed afresh by libssm, as an attacker would.  Each unit's
 * last record is copied (a live file becomes a plain one).
 *
 * Usage: ssm_units IN OUT [--drop NAME[:INST]] [--version NAME V] [--clock NS]
 *                         [--ncpus N] [--renumber NAME FROM TO]
 *                         [--fill-ram] [--fill-mib N] [--extent]
 *   --drop NAME:INST: only that instance; --ncpus: the machine unit's
 *   vCPU count (version 3: the u32 before clock_ns); --renumber: the
 *   instance FROM of unit NAME becomes instance TO
 *   --fill-mib N: fill only the zero pages of RAM's first N MiB
 *   --extent: write the RAM image as an extent (ram version 2 layout,
 *             mappable), not as plain records
 *        ssm_units --validate FILE      (ssm_validate: every CRC, record)
 * Exit 0 on success, 1 with one line on stderr otherwise. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ssm.h"

struct unit_copy {
	ssm_unit_info info;
	uint8_t *data;
	bool extent;               /* a full RAM image: put its bytes as an extent */
};

/* A full image (vmm/ram.c): u8 kind 0, u64 size, then size bytes. */
#define RAM_HDR 9

static int put_all(void *ctx, ssm_handle *h)
{
	const struct unit_copy *u = ctx;
	int rc;

	if (!u->extent)
		return ssm_put_mem(h, u->data, (size_t)u->info.data_len);
	rc = ssm_put_mem(h, u->data, RAM_HDR);
	return rc ? rc : ssm_put_extent(h, u->data + RAM_HDR, (size_t)u->info.data_len - RAM_HDR);
}

static int die(const char *what, const char *detail)
{
	fprintf(stderr, "ssm_units: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	return 1;
}

/* A plain save's ram unit is a full image (vmm/ram.c): u8 kind 0, u64
 * size, size bytes.  Its zero pages get a pattern, so none is elided. */
static void fill_ram(struct unit_copy *u, uint64_t upto)
{
	const uint64_t page = 4096;

	if (u->info.data_len < RAM_HDR || u->data[0] != 0)
		return;
	for (uint64_t off = RAM_HDR; off + page <= u->info.data_len && off - RAM_HDR < upto;
	     off += page) {
		uint8_t *p = u->data + off;
		bool zero = true;

		for (uint64_t i = 0; i < page && zero; i++)
			zero = !p[i];
		if (zero)
			for (uint64_t i = 0; i < page; i++)
				p[i] = (uint8_t)(0x5a ^ (off >> 12) ^ i);
	}
}

static int validate(const char *path)
{
	char msg[512];
	ssm_stream st;

	if (ssm_stream_file_open(&st, path))
		return die("cannot open", path);
	if (ssm_validate(st, msg, sizeof(msg)))
		return die("invalid", msg);
	return 0;
}

/* The machine unit ends with (version 3) u32 ncpus, u64 clock_ns. */
static void set_ncpus(struct unit_copy *u, uint32_t n)
{
	for (int i = 0; i < 4; i++)
		u->data[u->info.data_len - 12 + (uint64_t)i] = (uint8_t)(n >> (8 * i));
}

/* --drop NAME or NAME:INSTANCE matches this unit. */
static bool dropped(const char *drop, const ssm_unit_info *ui)
{
	const char *colon = drop ? strchr(drop, ':') : NULL;
	size_t n = colon ? (size_t)(colon - drop) : (drop ? strlen(drop) : 0);

	if (!drop || strlen(ui->name) != n || strncmp(ui->name, drop, n))
		return false;
	return !colon || strtoul(colon + 1, NULL, 0) == ui->instance;
}

/* The machine unit ends with u64 clock_ns (vmm/units.c). */
static void set_clock(struct unit_copy *u, uint64_t ns)
{
	for (int i = 0; i < 8; i++)
		u->data[u->info.data_len - 8 + (uint64_t)i] = (uint8_t)(ns >> (8 * i));
}

int main(int argc, char **argv)
{
	static const ssm_callbacks cb = { .save_exec = put_all };
	const char *drop = NULL, *vname = NULL, *rname = NULL;
	uint32_t vnew = 0, ncpus = 0, rfrom = 0, rto = 0;
	uint64_t clock = 0;
	bool set_clk = false, fill = false, extent = false;
	uint64_t fill_upto = UINT64_MAX;
	struct unit_copy *units;
	ssm_file_info fi;
	ssm_handle *h;
	ssm_stream st;
	ssm *reg;
	uint32_t n = 0;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--validate"))
		return validate(argv[2]);
	if (argc < 3)
		return die("usage: ssm_units IN OUT [--drop NAME] [--version NAME V] "
			   "[--clock NS]", NULL);
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--drop") && i + 1 < argc) {
			drop = argv[++i];
		} else if (!strcmp(argv[i], "--version") && i + 2 < argc) {
			vname = argv[++i];
			vnew = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--ncpus") && i + 1 < argc) {
			ncpus = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--renumber") && i + 3 < argc) {
			rname = argv[++i];
			rfrom = (uint32_t)strtoul(argv[++i], NULL, 0);
			rto = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--fill-ram")) {
			fill = true;
		} else if (!strcmp(argv[i], "--fill-mib") && i + 1 < argc) {
			fill = true;
			fill_upto = strtoull(argv[++i], NULL, 0) << 20;
		} else if (!strcmp(argv[i], "--extent")) {
			extent = true;
		} else if (!strcmp(argv[i], "--clock") && i + 1 < argc) {
			clock = strtoull(argv[++i], NULL, 0);
			set_clk = true;
		} else {
			return die("unknown argument", argv[i]);
		}
	}
	if (ssm_stream_file_open(&st, argv[1]) || ssm_open(st, &h))
		return die("cannot open", argv[1]);
	ssm_file_info_get(h, &fi);
	units = calloc(fi.unit_count ? fi.unit_count : 1, sizeof(*units));
	reg = ssm_create(NULL);
	if (!units || !reg)
		return die("out of memory", NULL);
	for (uint32_t i = 0; i < fi.unit_count; i++) {
		ssm_unit_info ui;
		bool seen = false;

		ssm_unit_info_get(h, i, &ui);
		for (uint32_t j = 0; j < n; j++)
			seen |= !strcmp(units[j].info.name, ui.name) &&
				units[j].info.instance == ui.instance;
		if (seen || dropped(drop, &ui))
			continue;
		/* ssm_seek goes to the unit's last record. */
		if (ssm_seek(h, ui.name, ui.instance, &ui.version))
			return die("cannot seek", ssm_handle_error(h));
		for (uint32_t j = fi.unit_count; j-- > 0;) {
			ssm_unit_info last;

			ssm_unit_info_get(h, j, &last);
			if (!strcmp(last.name, ui.name) && last.instance == ui.instance) {
				ui = last;
				break;
			}
		}
		units[n].info = ui;
		units[n].data = malloc(ui.data_len ? (size_t)ui.data_len : 1);
		if (!units[n].data)
			return die("out of memory", ui.name);
		if (ssm_get_mem(h, units[n].data, (size_t)ui.data_len))
			return die("cannot read", ssm_handle_error(h));
		if (set_clk && !strcmp(ui.name, "machine") && ui.data_len >= 8)
			set_clock(&units[n], clock);
		if (ncpus && !strcmp(ui.name, "machine") && ui.data_len >= 12)
			set_ncpus(&units[n], ncpus);
		if (!strcmp(ui.name, "ram") && fill)
			fill_ram(&units[n], fill_upto);
		units[n].extent = extent && !strcmp(ui.name, "ram") && ui.data_len > RAM_HDR &&
				  units[n].data[0] == 0 && (ui.data_len - RAM_HDR) % 4096 == 0;
		if (vname && !strcmp(ui.name, vname))
			units[n].info.version = vnew;
		if (rname && !strcmp(ui.name, rname) && ui.instance == rfrom)
			units[n].info.instance = rto;
		rc = ssm_register_external(reg, ui.name, units[n].info.instance,
					   units[n].info.version,
					   (size_t)ui.data_len, NULL,
					   ui.flags & SSM_UNIT_OPTIONAL, &cb, &units[n]);
		if (rc)
			return die("cannot register", ui.name);
		n++;
	}
	ssm_close(h);
	rc = ssm_stream_file_create(&st, argv[2]);
	if (!rc)
		rc = ssm_save(reg, st, NULL);
	if (rc)
		return die("cannot write", ssm_last_error(reg)[0] ? ssm_last_error(reg) :
			   ssm_strerror(rc));
	for (uint32_t i = 0; i < n; i++)
		free(units[i].data);
	free(units);
	ssm_destroy(reg);
	return 0;
}
