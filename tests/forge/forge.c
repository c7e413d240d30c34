/* forge.c - rewrite a real state file with one value changed and every CRC
 * recomputed, for tests/e2e/test-forged.sh.
 *
 *   forge list [--ci] FILE       one line per case, tab-separated:
 *                                N  ci  unit  field  mutation  expect-ERE
 *                                must-refuse (1: running it is a failure)
 *   forge make FILE N OUT        write case N of FILE to OUT
 *   forge kept FILE N RESAVED    after case N ran and the vmm saved again
 *                                to RESAVED: exit 1 if the forged value is
 *                                illegal and RESAVED still holds it
 *   forge layout FILE            every unit's fields, offsets and sizes
 *
 * Case numbers are positions in the full sweep; --ci lists the subset (see
 * cases.c).  Exit status 0, 1 (kept: illegal state kept), 2 on errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/forge/forge.h"

#define PAGE 4096u
#define RUN_MAX 256u

const char *const ram_run_what[] = {
	"(the format of a live save's last pass; nothing changed)",
	"first_page = the first page past RAM",
	"first_page = 2^64-1",
	"first run moved to end one page past the end of RAM",
	"npages 257 (one over a record's worth)",
	"npages 2^32-1",
	"npages 0 in the first run: the rest is left over",
	"no terminating run",
	"terminating run with first_page 2^64-1",
	"first run sent twice",
	"kind 2 (unknown)",
	"last run's pages cut short",
};
const size_t ram_run_count = sizeof ram_run_what / sizeof ram_run_what[0];

static int usage(void)
{
	fprintf(stderr, "usage: forge list [--ci] FILE | forge make FILE N OUT | "
		"forge kept FILE N RESAVED | forge layout FILE\n");
	return 2;
}

/* ---- RAM runs ---------------------------------------------------------------- */

struct run {
	uint64_t first;
	uint32_t n;
};

static int put_run(uint8_t **p, size_t *len, size_t *cap, uint64_t first, uint32_t n,
		   const uint8_t *pages, size_t bytes)
{
	if (*len + 12 + bytes > *cap) {
		size_t nc = (*cap + 12 + bytes) * 2;
		uint8_t *np = realloc(*p, nc);

		if (!np)
			return -1;
		*p = np;
		*cap = nc;
	}
	put_le(*p + *len, 8, first);
	put_le(*p + *len + 8, 4, n);
	if (bytes)
		memcpy(*p + *len + 12, pages, bytes);
	*len += 12 + bytes;
	return 0;
}

static bool page_zero(const uint8_t *p)
{
	for (size_t i = 0; i < PAGE; i++)
		if (p[i])
			return false;
	return true;
}

/* The full image of u (kind 0, u64 size, RAM) as kind 1 runs of its
 * non-zero pages, then mutation arg. */
int ram_runs(struct funit *u, int arg)
{
	uint64_t size, total;
	const uint8_t *img;
	struct run *runs = NULL;
	size_t nr = 0, len = 1, cap = 1 << 20;
	uint8_t *out;
	int rc = -1;

	if (u->len < 9 || u->data[0] != 0)
		return -1;
	size = get_le(u->data + 1, 8);
	if (size % PAGE || size != u->len - 9)
		return -1;
	total = size / PAGE;
	img = u->data + 9;
	runs = calloc(total + 2, sizeof *runs);
	out = malloc(cap);
	if (!runs || !out)
		goto out;
	for (uint64_t p = 0; p < total; p++) {
		if (page_zero(img + p * PAGE))
			continue;
		if (nr && runs[nr - 1].first + runs[nr - 1].n == p && runs[nr - 1].n < RUN_MAX)
			runs[nr - 1].n++;
		else
			runs[nr++] = (struct run){ p, 1 };
	}
	if (!nr)
		goto out;
	out[0] = arg == 10 ? 2 : 1;
	for (size_t i = 0; i < nr; i++) {
		struct run r = runs[i];
		const uint8_t *pg = img + r.first * PAGE;
		size_t bytes = (size_t)r.n * PAGE;

		if (i == 0 && arg == 1)
			r.first = total;
		if (i == 0 && arg == 2)
			r.first = UINT64_MAX;
		if (i == 0 && arg == 3)
			r.first = total - r.n + 1;
		if (i == 0 && arg == 4)
			r.n = RUN_MAX + 1;
		if (i == 0 && arg == 5)
			r.n = UINT32_MAX;
		if (i == 0 && arg == 6)
			r.n = 0;
		if (put_run(&out, &len, &cap, r.first, r.n, pg, bytes))
			goto out;
		if (i == 0 && arg == 9 && put_run(&out, &len, &cap, r.first, r.n, pg, bytes))
			goto out;
		if (i == nr - 1 && arg == 11)
			len -= bytes / 2;
	}
	if (arg != 7 && arg != 11 &&
	    put_run(&out, &len, &cap, arg == 8 ? UINT64_MAX : 0, 0, NULL, 0))
		goto out;
	free(u->data);
	u->data = out;
	u->len = len;
	out = NULL;
	rc = 0;
out:
	free(runs);
	free(out);
	return rc;
}

/* ---- building a case ------------------------------------------------------------ */

/* Insert a copy of unit f->u[from] at position at. */
static int insert_unit(struct ffile *f, size_t at, size_t from)
{
	struct funit copy = f->u[from];   /* f->u may move */
	struct funit *nu;

	copy.data = malloc(copy.len + 1);
	if (!copy.data)
		return -1;
	memcpy(copy.data, f->u[from].data, copy.len);
	nu = realloc(f->u, (f->n + 1) * sizeof *nu);
	if (!nu) {
		free(copy.data);
		return -1;
	}
	f->u = nu;
	memmove(&f->u[at + 1], &f->u[at], (f->n - at) * sizeof *nu);
	f->u[at] = copy;
	f->n++;
	return 0;
}

static int edit(struct ffile *f, const struct fcase *c)
{
	struct funit *u = c->unit < f->n ? &f->u[c->unit] : NULL;
	uint8_t b[8];

	switch (c->kind) {
	case C_BASE:
	case C_FRAME:
	case C_TRAIL:
		return 0;
	case C_BYTE:
		u->data[c->off] = (uint8_t)c->v;
		return 0;
	case C_VALUE:
	case C_COUNT:
	case C_STRLEN:
		put_le(b, c->size, c->v);
		memcpy(u->data + c->off, b, c->size);
		return 0;
	case C_STRBYTE:
		u->data[c->off + (c->arg ? c->size - 1 : 0)] = (uint8_t)c->v;
		return 0;
	case C_STRLONG: {
		uint8_t *s = malloc(c->v + 1);
		int rc;

		if (!s)
			return -1;
		memset(s, 'A', c->v);
		put_le(u->data + c->off - 4, 4, c->v);
		rc = funit_splice(u, c->off, c->size, s, c->v);
		free(s);
		return rc;
	}
	case C_TRUNC:
		u->len = c->v;
		return 0;
	case C_EXTEND: {
		uint8_t *z = calloc(1, c->v);
		int rc = z ? funit_splice(u, u->len, 0, z, c->v) : -1;

		free(z);
		return rc;
	}
	case C_UHDR:
		if (c->arg == 0)
			u->flags = (uint32_t)c->v;
		else if (c->arg == 1)
			u->instance = (uint32_t)c->v;
		else if (c->arg == 2)
			u->version = (uint32_t)c->v;
		else if (c->arg == 3)
			u->pass = (uint32_t)c->v;
		else
			u->name[0] = (char)c->v;
		return 0;
	case C_DROP:
		free(u->data);
		memmove(u, u + 1, (f->n - c->unit - 1) * sizeof *u);
		f->n--;
		return 0;
	case C_DOUBLE:
		return insert_unit(f, c->unit + 1, c->unit);
	case C_RAMRUNS:
		return ram_runs(u, c->arg);
	}
	return -1;
}

uint8_t *case_build(const struct ffile *f, const struct fcase *c, size_t *len)
{
	struct ffile g;
	uint8_t *img = NULL;

	if (ffile_copy(&g, f))
		return NULL;
	if (!edit(&g, c))
		img = ffile_write(&g, c->kind == C_FRAME ? &c->patch : NULL, len);
	ffile_free(&g);
	if (img && c->kind == C_TRAIL) {
		uint8_t *n = realloc(img, *len + c->v);

		if (!n) {
			free(img);
			return NULL;
		}
		img = n;
		/* A copy of the footer, or zeros. */
		if (c->v == 32)
			memcpy(img + *len, img + *len - 32, 32);
		else
			memset(img + *len, 0, c->v);
		*len += c->v;
	}
	return img;
}

/* ---- modes ------------------------------------------------------------------ */

static int load(const char *path, struct ffile *f, struct fcases *cs)
{
	if (ffile_read(path, f))
		return -1;
	if (cases_enumerate(f, cs)) {
		fprintf(stderr, "forge: out of memory\n");
		ffile_free(f);
		return -1;
	}
	return 0;
}

static int parse_n(const char *s, const struct fcases *cs, size_t *n)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s < '0' || *s > '9' || *end || v >= cs->n) {
		fprintf(stderr, "forge: case %s: there are %zu cases (0..%zu)\n", s, cs->n,
			cs->n - 1);
		return -1;
	}
	*n = (size_t)v;
	return 0;
}

static int do_list(const char *path, bool ci)
{
	struct ffile f;
	struct fcases cs;
	size_t shown = 0;

	if (load(path, &f, &cs))
		return 2;
	for (size_t i = 0; i < cs.n; i++) {
		const struct fcase *c = &cs.c[i];

		if (ci && !c->ci)
			continue;
		printf("%zu\t%d\t%s\t%s\t%s\t%s\t%d\n", i, c->ci, c->unit_name, c->field,
		       c->what, c->expect, c->must_refuse);
		shown++;
	}
	fprintf(stderr, "forge: %zu cases%s (%zu in the full sweep)\n", shown,
		ci ? " in the CI subset" : "", cs.n);
	cases_free(&cs);
	ffile_free(&f);
	return 0;
}

static int do_make(const char *path, const char *ns, const char *out)
{
	struct ffile f;
	struct fcases cs;
	size_t n, len = 0;
	uint8_t *img;
	FILE *fp;
	int rc = 2;

	if (load(path, &f, &cs))
		return 2;
	if (parse_n(ns, &cs, &n))
		goto done;
	img = case_build(&f, &cs.c[n], &len);
	if (!img) {
		fprintf(stderr, "forge: case %zu cannot be built\n", n);
		goto done;
	}
	fp = fopen(out, "wb");
	if (fp && fwrite(img, 1, len, fp) == len && !fclose(fp))
		rc = 0;
	else
		perror(out);
	free(img);
done:
	cases_free(&cs);
	ffile_free(&f);
	return rc;
}

/* The unit of g that case c's field lives in: the last one of that name
 * and instance (the final pass). */
static const struct funit *same_unit(const struct ffile *g, const struct funit *u)
{
	const struct funit *r = NULL;

	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->u[i].name, u->name) && g->u[i].instance == u->instance)
			r = &g->u[i];
	return r;
}

static int do_kept(const char *path, const char *ns, const char *resaved)
{
	struct ffile f, g;
	struct fcases cs;
	struct flayout l;
	const struct fcase *c;
	const struct funit *u;
	const struct ffield *fl;
	size_t n;
	int rc = 2;

	if (load(path, &f, &cs))
		return 2;
	if (parse_n(ns, &cs, &n))
		goto done;
	c = &cs.c[n];
	if (!c->check_kept) {
		printf("no check: the forged value is legal or has no known range\n");
		rc = 0;
		goto done;
	}
	if (ffile_read(resaved, &g))
		goto done;
	u = same_unit(&g, &f.u[c->unit]);
	if (!u) {
		printf("the re-saved file has no %s unit\n", c->unit_name);
		rc = 1;
	} else if (layout_of(u, &l) == 0) {
		fl = layout_find(&l, c->field);
		if (!l.named || !fl) {
			printf("re-saved %s: field %s not found (%s)\n", c->unit_name, c->field,
			       l.named ? "layout changed" : l.why);
			rc = 0;
		} else {
			uint64_t v = get_le(u->data + fl->off, fl->size);

			rc = v == c->forged;
			printf("%s %s: forged 0x%llx (illegal), re-saved 0x%llx%s\n", c->unit_name,
			       c->field, (unsigned long long)c->forged, (unsigned long long)v,
			       rc ? ": ILLEGAL STATE KEPT" : "");
		}
		layout_free(&l);
	}
	ffile_free(&g);
done:
	cases_free(&cs);
	ffile_free(&f);
	return rc;
}

static int do_layout(const char *path)
{
	struct ffile f;

	if (ffile_read(path, &f))
		return 2;
	for (size_t i = 0; i < f.n; i++) {
		struct flayout l;

		layout_of(&f.u[i], &l);
		printf("unit %s instance %u version %u pass 0x%x: %zu bytes%s%s\n", f.u[i].name,
		       f.u[i].instance, f.u[i].version, f.u[i].pass, f.u[i].len,
		       l.named ? "" : ", by offset: ", l.named ? "" : l.why);
		for (size_t k = 0; k < l.n && l.named; k++)
			printf("  %6zu %6zu  %s\n", l.f[k].off, l.f[k].size, l.f[k].name);
		layout_free(&l);
	}
	ffile_free(&f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "list"))
		return do_list(argv[2], false);
	if (argc == 4 && !strcmp(argv[1], "list") && !strcmp(argv[2], "--ci"))
		return do_list(argv[3], true);
	if (argc == 5 && !strcmp(argv[1], "make"))
		return do_make(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "kept"))
		return do_kept(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "layout"))
		return do_layout(argv[2]);
	return usage();
}
