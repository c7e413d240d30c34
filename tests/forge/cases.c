/* cases.c - the sweep: every forged variant of one state file, in a fixed
 * order, and how to build each.
 *
 * Full sweep: every byte of every unit's decoded data set to 0x00, 0xff,
 * 0x80 and +1 (the RAM image and blobs over 4 KiB sampled: bytes 0..63
 * and one every 64 KiB); every integer field set to 0, all ones, its top
 * bit alone, +1 and its first illegal value; strings cut, unterminated
 * (length past the bytes), over-long, with a NUL, 0xff or 0x80 inside;
 * counts 0, +1, past their limit, 2^32-1; units truncated, extended,
 * dropped and doubled; every field of the file header, unit headers, first
 * data record, END records, terminator, directory and footer; the RAM
 * image rewritten as page runs, then each run field broken.
 *
 * CI subset (`ci`): all the structural cases (strings, counts, units,
 * framing, RAM runs) and, per field, all-ones, the first illegal value and
 * one of {0, top bit, +1} chosen by the field's position, so every field is
 * hit at least twice; blobs every 512th byte (RAM image every MiB).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/forge/forge.h"

#define BLOB_FULL 4096u
#define PAGE 4096u

struct ctx {
	struct fcases *cs;
	const struct ffile *f;
	size_t unit;
	const struct funit *u;
	const struct flayout *l;
	bool err;
};

static struct fcase *push(struct ctx *x, enum ckind k, const char *field, bool ci,
			  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void unit_expect(char *dst, size_t n, const char *name)
{
	/* The name as a word of its own ("serial" is not "serial-backend"). */
	snprintf(dst, n, "(^|[^a-z-])%s([^a-z-]|$)", name);
}

static struct fcase *push(struct ctx *x, enum ckind k, const char *field, bool ci,
			  const char *fmt, ...)
{
	struct fcases *cs = x->cs;
	struct fcase *c;
	va_list ap;

	c = grow_one((void **)&cs->c, &cs->n, &cs->cap, sizeof *c);
	if (!c) {
		x->err = true;
		return NULL;
	}
	c->kind = k;
	c->ci = ci;
	c->unit = x->u ? x->unit : SIZE_MAX;
	snprintf(c->field, sizeof c->field, "%s", field);
	if (x->u) {
		snprintf(c->unit_name, sizeof c->unit_name, "%s", x->u->name);
		unit_expect(c->expect, sizeof c->expect, x->u->name);
	} else {
		snprintf(c->unit_name, sizeof c->unit_name, "-");
		snprintf(c->expect, sizeof c->expect, "offset [0-9]+|header|directory|footer");
	}
	va_start(ap, fmt);
	vsnprintf(c->what, sizeof c->what, fmt, ap);
	va_end(ap);
	return c;
}

static uint64_t ones(size_t size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

/* The smallest value above the legal ones the field declares, or 0 if none
 * is known (0 is then never "first illegal": it is swept anyway). */
static uint64_t first_illegal(const struct ffield *f, uint64_t orig)
{
	uint64_t top = ones(f->size);

	switch (f->legal) {
	case LG_MAX:
		return f->a < top ? f->a + 1 : 0;
	case LG_RANGE:
	case LG_RANGE0:
		return f->b < top ? f->b + 1 : 0;
	case LG_MASK:
		for (unsigned b = 0; b < 8 * f->size && b < 64; b++)
			if (!(f->a >> b & 1))
				return orig | 1ull << b;
		return 0;
	case LG_MULT:
		return orig + 1;
	case LG_ZERO:
		return 1;
	case LG_SET:
		return 0x7fffffff & top;
	default:
		return 0;
	}
}

static void set_kept(struct ctx *x, struct fcase *c, const struct ffield *f, uint64_t v)
{
	c->forged = v;
	c->check_kept = x->l->named && f->kind == F_INT && !field_legal(f, v);
}

/* ---- data cases ------------------------------------------------------------ */

static void byte_cases(struct ctx *x, const struct ffield *f, size_t fi)
{
	static const char *const what[] = { "byte set to 0x00", "byte set to 0xff",
		"byte set to 0x80", "byte +1" };
	bool huge = f->size > BLOB_FULL;
	size_t ci_step = f->size > (8u << 20) / 8 ? (1u << 20) : 512;

	for (size_t j = 0; j < f->size; j++) {
		uint8_t old = x->u->data[f->off + j];
		char name[128];

		if (huge && j >= 64 && j % 65536)
			continue;
		for (int arg = 0; arg < 4; arg++) {
			uint8_t nv = arg == 0 ? 0 : arg == 1 ? 0xff : arg == 2 ? 0x80 :
				     (uint8_t)(old + 1);
			bool ci;
			struct fcase *c;

			if (nv == old)
				continue;
			if (f->kind == F_INT && f->size == 1)
				ci = arg == 1 || (int)(fi % 3) == (arg == 0 ? 0 : arg == 2 ? 1 : 2);
			else if (f->kind == F_MARKER)
				ci = j == 0 && arg == 3;
			else if (f->kind == F_BLOB)
				ci = j % ci_step == 0 && (size_t)arg == (j / ci_step) % 4;
			else
				ci = false;
			if (f->size > 1)
				snprintf(name, sizeof name, "%s+%zu", f->name, j);
			else
				snprintf(name, sizeof name, "%s", f->name);
			c = push(x, C_BYTE, name, ci, "%s (data offset %zu)", what[arg], f->off + j);
			if (!c)
				return;
			c->off = f->off + j;
			c->size = 1;
			c->arg = arg;
			/* A length, count or marker changed misframes the rest. */
			c->must_refuse = f->kind == F_STRLEN || f->kind == F_COUNT ||
					 f->kind == F_MARKER;
			c->v = nv;
			if (f->kind == F_INT) {
				uint8_t tmp[8];

				memcpy(tmp, x->u->data + f->off, f->size);
				tmp[j] = nv;
				set_kept(x, c, f, get_le(tmp, f->size));
				if (f->size > 1)
					snprintf(c->field, sizeof c->field, "%s", f->name);
			}
		}
	}
}

/* Whole-value cases of an integer, count or string length field. */
static void value_cases(struct ctx *x, const struct ffield *f, size_t fi)
{
	uint64_t orig = get_le(x->u->data + f->off, f->size), top = ones(f->size);
	uint64_t vals[5] = { 0, top, 1ull << (8 * f->size - 1), (orig + 1) & top,
			     first_illegal(f, orig) };
	static const char *const what[] = { "set to 0", "set to all ones", "set to its top bit",
		"+1", "set to its first illegal value" };

	for (int k = 0; k < 5; k++) {
		bool dup = vals[k] == orig || (k == 4 && !vals[k]);
		struct fcase *c;

		for (int j = 0; j < k; j++)
			dup |= vals[j] == vals[k];
		if (dup)
			continue;
		c = push(x, f->kind == F_COUNT ? C_COUNT : C_VALUE, f->name,
			 k == 1 || k == 4 || (k == 0 && fi % 3 == 0) || (k == 2 && fi % 3 == 1) ||
			 (k == 3 && fi % 3 == 2),
			 "%s: 0x%llx (was 0x%llx)", what[k], (unsigned long long)vals[k],
			 (unsigned long long)orig);
		if (!c)
			return;
		c->off = f->off;
		c->size = f->size;
		c->v = vals[k];
		if (f->kind == F_INT)
			set_kept(x, c, f, vals[k]);
	}
}

static void string_cases(struct ctx *x, const struct ffield *lenf, const struct ffield *s)
{
	uint64_t len = s->size, cap = lenf->str_cap;
	const struct {
		enum ckind k;
		uint64_t v;
		bool ci, ok;
		const char *what;
	} t[] = {
		{ C_STRLEN, len + 1, true, true, "length +1: runs into the next field (unterminated)" },
		{ C_STRLEN, 0xffffffffu, true, true, "length 2^32-1, bytes unchanged" },
		{ C_STRLEN, cap, true, cap != len, "length = the loader's buffer, bytes unchanged" },
		{ C_STRLEN, 0, false, len > 0, "length 0, bytes left in place" },
		{ C_STRLEN, len - 1, false, len > 0, "length -1" },
		{ C_STRLONG, cap - 1, true, true, "replaced by the longest string that fits" },
		{ C_STRLONG, cap, true, true, "replaced by a string one byte over-long" },
		{ C_STRLONG, 65536, true, true, "replaced by 64 KiB of 'A' (over-long)" },
		{ C_STRBYTE, 0, true, len > 0, "first byte set to NUL (embedded terminator)" },
		{ C_STRBYTE, 0xff, true, len > 0, "last byte set to 0xff" },
		{ C_STRBYTE, 0x80, false, len > 0, "first byte set to 0x80" },
		{ C_STRBYTE, '\n', false, len > 0, "first byte set to a newline" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct fcase *c;

		if (!t[i].ok)
			continue;
		c = push(x, t[i].k, s->name, t[i].ci, "%s (%llu)", t[i].what,
			 (unsigned long long)t[i].v);
		if (!c)
			return;
		c->v = t[i].v;
		/* Truncating a string the loader cannot hold would change it. */
		c->must_refuse = t[i].k == C_STRLEN || (t[i].k == C_STRLONG && t[i].v >= cap);
		c->off = t[i].k == C_STRLEN ? lenf->off : s->off;
		c->size = t[i].k == C_STRLEN ? 4 : s->size;
		c->arg = t[i].v == 0xff ? 1 : 0;   /* STRBYTE: 1 = last byte */
	}
}

static void count_cases(struct ctx *x, const struct ffield *f)
{
	uint64_t n = get_le(x->u->data + f->off, 4);
	uint64_t v[] = { 0, n + 1, f->a + 1, 0xffffffffu, n ? n - 1 : 0 };
	static const char *const what[] = { "0, elements left in place", "+1", "one past the limit",
		"2^32-1", "-1" };

	for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
		bool dup = v[k] == n;
		struct fcase *c;

		for (size_t j = 0; j < k; j++)
			dup |= v[j] == v[k];
		if (dup)
			continue;
		c = push(x, C_COUNT, f->name, true, "count %s: %llu (was %llu)", what[k],
			 (unsigned long long)v[k], (unsigned long long)n);
		if (!c)
			return;
		c->off = f->off;
		c->size = 4;
		c->v = v[k];
		c->must_refuse = true;
	}
}

static void unit_cases(struct ctx *x)
{
	const struct funit *u = x->u;
	size_t len = u->len, cs_mark;
	struct fcase *c;

	for (size_t i = 0; i < x->l->n; i++) {
		const struct ffield *f = &x->l->f[i];
		size_t first = x->cs->n;

		if (f->kind == F_STRLEN && i + 1 < x->l->n) {
			string_cases(x, f, &x->l->f[i + 1]);
		} else if (f->kind == F_COUNT) {
			count_cases(x, f);
		} else if (f->kind == F_INT && f->size > 1) {
			value_cases(x, f, i);
		} else if (f->kind == F_INT && f->size == 1 && first_illegal(f, 0)) {
			uint64_t o = u->data[f->off], v = first_illegal(f, o);

			if (v != o && v != 0 && v != 0xff && v != 0x80 && v != ((o + 1) & 0xff) &&
			    (c = push(x, C_VALUE, f->name, true, "set to its first illegal value: "
				      "0x%llx (was 0x%llx)", (unsigned long long)v,
				      (unsigned long long)o))) {
				c->off = f->off;
				c->size = 1;
				c->v = v;
				set_kept(x, c, f, v);
			}
		}
		byte_cases(x, f, i);
		for (size_t k = first; f->sparse && k < x->cs->n; k++)
			x->cs->c[k].ci = false;
	}
	cs_mark = x->cs->n;
	/* Data the loader does not consume exactly is refused; every unit of
	 * the VM is mandatory but fw-cfg (vmm/units.c: files from before it
	 * load with the device at reset). */
	if ((c = push(x, C_TRUNC, "(data)", true, "data cut by one byte (%zu -> %zu)", len,
		      len ? len - 1 : 0)))
		c->v = len ? len - 1 : 0;
	if (len > 2 && (c = push(x, C_TRUNC, "(data)", true, "data cut in half (%zu)", len / 2)))
		c->v = len / 2;
	if (len && (c = push(x, C_TRUNC, "(data)", true, "no data at all")))
		c->v = 0;
	if ((c = push(x, C_EXTEND, "(data)", true, "one zero byte appended")))
		c->v = 1;
	if ((c = push(x, C_EXTEND, "(data)", false, "4 KiB of zeros appended")))
		c->v = 4096;
	for (size_t k = cs_mark; k < x->cs->n; k++)
		x->cs->c[k].must_refuse = true;
	if ((c = push(x, C_DROP, "(unit)", true, "unit dropped")))
		c->must_refuse = strcmp(x->u->name, "fw-cfg") != 0;
	push(x, C_DOUBLE, "(unit)", true, "unit written twice");
}

/* ---- framing cases ----------------------------------------------------------- */

struct fr {
	const char *name;
	size_t off, size;
	uint64_t v;
	bool rel;                  /* v is added to the value written */
	bool ci;
};

static void frame(struct ctx *x, enum region r, size_t idx, size_t sub, const char *where,
		  const struct fr *t, size_t nt, const uint8_t *cur)
{
	for (size_t i = 0; i < nt; i++) {
		uint64_t old = cur ? get_le(cur + t[i].off, t[i].size) : 0;
		uint64_t v = (t[i].rel ? old + t[i].v : t[i].v) & ones(t[i].size);
		char field[112];
		bool must;
		struct fcase *c;

		if (cur && v == old)
			continue;
		snprintf(field, sizeof field, "%s.%s", where, t[i].name);
		/* What docs/format.md allows: an unknown data_len, a newer minor,
		 * another host's pointer width, byte order (the file is
		 * little-endian whatever the host) or page size, any build id. */
		must = !((r == R_UNITHDR && t[i].off == 32 && v == UINT64_MAX) ||
			 (r == R_FILEHDR && (t[i].off == 10 || t[i].off == 12 || t[i].off == 13 ||
					     (t[i].off == 16 && v && !(v & (v - 1))) ||
					     (t[i].off >= 24 && t[i].off < 56))));
		c = push(x, C_FRAME, field, t[i].ci, "set to 0x%llx (was 0x%llx)",
			 (unsigned long long)v, (unsigned long long)old);
		if (!c)
			return;
		/* A unit header or directory entry that cannot be parsed may only
		 * be named by its offset. */
		if (x->u && (r == R_UNITHDR || r == R_DIRENT))
			snprintf(c->expect, sizeof c->expect,
				 "(^|[^a-z-])%s([^a-z-]|$)|offset [0-9]+", x->u->name);
		c->must_refuse = must;
		c->patch.region = r;
		c->patch.idx = idx;
		c->patch.sub = sub;
		c->patch.off = t[i].off;
		c->patch.n = t[i].size;
		put_le(c->patch.bytes, t[i].size, v);
	}
}

#define N(t) (sizeof t / sizeof t[0])
#define M1 ((uint64_t)-1)

static void unit_frame_cases(struct ctx *x, const uint8_t *img, const size_t *uoff,
			     const size_t *zero_rec, size_t dir)
{
	const struct funit *u = x->u;
	const uint8_t *h = img + uoff[x->unit];
	size_t nl = strlen(u->name);
	const struct fr hdr[] = {
		{ "hdr_len", 8, 4, 1, true, true }, { "hdr_len", 8, 4, M1, true, true },
		{ "name_len", 28, 4, 0, false, true }, { "name_len", 28, 4, 64, false, true },
		{ "name_len", 28, 4, 1, true, true }, { "name_len", 28, 4, M1, true, false },
		{ "data_len", 32, 8, 1, true, true }, { "data_len", 32, 8, M1, true, false },
		{ "data_len", 32, 8, INT64_MAX, false, true }, { "data_len", 32, 8, M1, false, true },
		{ "name[0]", 40, 1, 0, false, true }, { "name[0]", 40, 1, 0xff, false, true },
		{ "name[0]", 40, 1, 0x1f, false, false },
	};
	const struct fr rec[] = {
		{ "type", 0, 1, 0, false, true }, { "type", 0, 1, 2, false, false },
		{ "type", 0, 1, 3, false, true }, { "type", 0, 1, 4, false, false },
		{ "type", 0, 1, 0x7f, false, true }, { "type", 0, 1, 0xff, false, false },
		{ "flags", 1, 1, 1, false, true }, { "reserved", 2, 2, 1, false, true },
		{ "stored_len", 4, 4, 1, true, true }, { "stored_len", 4, 4, M1, true, false },
		{ "stored_len", 4, 4, 0, false, false }, { "stored_len", 4, 4, M1, false, true },
		{ "decoded_len", 8, 4, 1, true, true }, { "decoded_len", 8, 4, M1, true, false },
		{ "decoded_len", 8, 4, 0, false, false }, { "decoded_len", 8, 4, M1, false, true },
	};
	const struct fr zrec[] = {
		{ "decoded_len", 8, 4, 0, false, true }, { "decoded_len", 8, 4, M1, false, true },
		{ "decoded_len", 8, 4, 4096, true, true }, { "stored_len", 4, 4, 1, false, true },
	};
	const struct fr end[] = {
		{ "flags", 1, 1, 1, false, true }, { "reserved", 2, 2, 1, false, true },
		{ "stored_len", 4, 4, 15, false, true }, { "stored_len", 4, 4, 17, false, false },
		{ "decoded_len", 8, 4, 1, false, true },
		{ "data_len", 16, 8, 1, true, true }, { "data_len", 16, 8, M1, true, false },
		{ "data_len", 16, 8, M1, false, true },
		{ "record_count", 28, 4, 1, true, true }, { "record_count", 28, 4, M1, true, false },
		{ "record_count", 28, 4, M1, false, true },
	};
	const struct fr dent[] = {
		{ "offset", 0, 8, 1, true, true }, { "offset", 0, 8, 0, false, false },
		{ "data_len", 8, 8, 1, true, true }, { "instance", 16, 4, 1, true, false },
		{ "version", 20, 4, 1, true, true }, { "pass", 24, 4, 0, false, false },
		{ "flags", 28, 4, 1, false, true }, { "name_len", 32, 4, 1, true, false },
		{ "name[0]", 36, 1, 'X', false, false },
	};
	static const struct {
		int arg;
		uint64_t v;
		bool rel, ci;
		const char *what;
	} uh[] = {
		{ 0, 1, false, true, "flags: optional bit set" }, { 0, 2, false, true, "flags: bit 1" },
		{ 0, 0x80000000u, false, false, "flags: bit 31" },
		{ 1, 1, true, true, "instance +1" }, { 1, 0xffffffffu, false, false, "instance 2^32-1" },
		{ 2, 0, false, true, "version 0" }, { 2, 1, true, true, "version +1" },
		{ 2, 0xffffffffu, false, false, "version 2^32-1" },
		{ 3, 0, false, true, "pass 0 (a live pass)" }, { 3, 1, false, false, "pass 1" },
		{ 3, 0xfffffffeu, false, false, "pass 0xfffffffe" },
		{ 4, 'X', false, true, "renamed: first letter X (an unknown unit)" },
	};
	char where[96];
	const uint8_t *r0 = h + 44 + nl, *e = r0, *z = NULL, *de = img + dir + 16;
	size_t nrecs = ffile_nrecs(u);

	snprintf(where, sizeof where, "unit-header");
	frame(x, R_UNITHDR, x->unit, 0, where, hdr, N(hdr), h);
	for (size_t i = 0; i < N(uh); i++) {
		struct fcase *c = push(x, C_UHDR, uh[i].arg == 4 ? "unit-header.name" :
				       uh[i].arg == 0 ? "unit-header.flags" :
				       uh[i].arg == 1 ? "unit-header.instance" :
				       uh[i].arg == 2 ? "unit-header.version" : "unit-header.pass",
				       uh[i].ci, "%s (header and directory)", uh[i].what);

		if (!c)
			return;
		c->arg = uh[i].arg;
		c->v = uh[i].v + (uh[i].rel ? (uh[i].arg == 1 ? u->instance : u->version) : 0);
		/* Only the optional bit is a legal change (a loader that knows
		 * the unit loads it): reserved flags, another instance, version
		 * 0 or newer, a live pass without the final one, another name. */
		c->must_refuse = !(uh[i].arg == 0 && uh[i].v == 1);
		if (uh[i].arg == 4) {
			/* Another name: the refusal names the new one, or the old one
			 * as missing. */
			char nn[64];

			snprintf(nn, sizeof nn, "X%s", u->name + 1);
			snprintf(c->expect, sizeof c->expect,
				 "(^|[^a-z-])(%s|%s)([^a-z-]|$)", u->name, nn);
		}
	}
	for (size_t k = 0; k < nrecs; k++) {
		if (k == zero_rec[x->unit])
			z = e;
		e += 16 + get_le(e + 4, 4);
	}
	for (size_t k = 0; k < x->unit; k++)
		de += 36 + get_le(de + 32, 4);
	if (nrecs)
		frame(x, R_REC, x->unit, 0, "record[0]", rec, N(rec), r0);
	if (z)
		frame(x, R_REC, x->unit, zero_rec[x->unit], "zero-record", zrec, N(zrec), z);
	frame(x, R_END, x->unit, 0, "END", end, N(end), e);
	snprintf(where, sizeof where, "directory.entry[%zu]", x->unit);
	frame(x, R_DIRENT, x->unit, 0, where, dent, N(dent), de);
}

static void file_frame_cases(struct ctx *x, const uint8_t *img, size_t size, size_t dir)
{
	const struct fr fh[] = {
		{ "major", 8, 2, 0, false, true }, { "major", 8, 2, 2, false, true },
		{ "major", 8, 2, 0xffff, false, false }, { "minor", 10, 2, 1, false, true },
		{ "minor", 10, 2, 0xffff, false, true }, { "host_bits", 12, 1, 32, false, true },
		{ "host_bits", 12, 1, 0, false, true }, { "host_bits", 12, 1, 0xff, false, true },
		{ "endian", 13, 1, 0, false, true }, { "endian", 13, 1, 2, false, true },
		{ "reserved", 14, 2, 1, false, true }, { "page_size", 16, 4, 0, false, true },
		{ "page_size", 16, 4, 2048, false, true }, { "page_size", 16, 4, 8192, false, false },
		{ "page_size", 16, 4, 3, false, true }, { "page_size", 16, 4, M1, false, true },
		{ "flags", 20, 4, 1, false, true }, { "flags", 20, 4, 0x80000000u, false, false },
		{ "build_id[0]", 24, 1, 0, false, true }, { "build_id[0]", 24, 1, 0xff, false, true },
		{ "build_id[31]", 55, 1, 0x80, false, true }, { "reserved2", 56, 4, 1, false, true },
	};
	const struct fr term[] = {
		{ "flags", 12, 4, 1, false, true }, { "instance", 16, 4, 1, false, true },
		{ "version", 20, 4, 1, false, true }, { "pass", 24, 4, 1, false, true },
		{ "data_len", 32, 8, 1, false, true },
	};
	const struct fr dh[] = {
		{ "count", 8, 4, 0, false, true }, { "count", 8, 4, 1, true, true },
		{ "count", 8, 4, M1, true, true }, { "count", 8, 4, M1, false, true },
		{ "reserved", 12, 4, 1, false, true },
	};
	const struct fr ft[] = {
		{ "dir_offset", 8, 8, 1, true, true }, { "dir_offset", 8, 8, 0, false, true },
		{ "dir_offset", 8, 8, M1, false, true }, { "dir_count", 16, 4, 1, true, true },
		{ "dir_count", 16, 4, 0, false, true }, { "reserved", 20, 4, 1, false, true },
	};
	struct fcase *c;

	frame(x, R_FILEHDR, 0, 0, "file-header", fh, N(fh), img);
	if ((c = push(x, C_FRAME, "file-header.build_id", true, "32 bytes of 'A': no NUL"))) {
		c->patch.region = R_FILEHDR;
		c->patch.off = 24;
		c->patch.n = 32;
		memset(c->patch.bytes, 'A', 32);
	}
	frame(x, R_TERM, 0, 0, "terminator", term, N(term), img + dir - 44);
	frame(x, R_DIRHDR, 0, 0, "directory", dh, N(dh), img + dir);
	frame(x, R_FOOTER, 0, 0, "footer", ft, N(ft), img + size - 32);
	if ((c = push(x, C_TRAIL, "(after footer)", true, "one byte after the footer"))) {
		c->v = 1;
		c->must_refuse = true;
	}
	if ((c = push(x, C_TRAIL, "(after footer)", true, "a second footer after the footer"))) {
		c->v = 32;
		c->must_refuse = true;
	}
}

/* ---- enumeration ------------------------------------------------------------- */

int cases_enumerate(const struct ffile *f, struct fcases *cs)
{
	struct ctx x = { .cs = cs, .f = f };
	size_t size = 0, *uoff = calloc(f->n + 1, sizeof *uoff);
	size_t *zero_rec = calloc(f->n + 1, sizeof *zero_rec), dir = 0;
	uint8_t *img = ffile_write(f, NULL, &size);

	memset(cs, 0, sizeof *cs);
	if (!uoff || !zero_rec || !img) {
		free(uoff);
		free(zero_rec);
		free(img);
		return -1;
	}
	/* Where each unit header and the directory landed; each unit's first
	 * ZERO record. */
	{
		size_t o = 64;

		for (size_t i = 0; i < f->n; i++) {
			size_t k = 0;

			uoff[i] = o;
			zero_rec[i] = SIZE_MAX;
			o += get_le(img + o + 8, 4);
			while (img[o] != 0x7f) {
				if (img[o] == 2 && zero_rec[i] == SIZE_MAX)
					zero_rec[i] = k;
				o += 16 + get_le(img + o + 4, 4);
				k++;
			}
			o += 32;
		}
		dir = o + 44;
	}
	push(&x, C_BASE, "(none)", true, "re-encoded, nothing changed: must restore");
	file_frame_cases(&x, img, size, dir);
	for (size_t i = 0; i < f->n && !x.err; i++) {
		struct flayout l;

		x.unit = i;
		x.u = &f->u[i];
		layout_of(x.u, &l);
		x.l = &l;
		unit_cases(&x);
		unit_frame_cases(&x, img, uoff, zero_rec, dir);
		if (!strcmp(x.u->name, "ram") && x.u->len && x.u->data[0] == 0) {
			for (size_t a = 0; a < ram_run_count; a++) {
				struct fcase *c = push(&x, C_RAMRUNS, a ? "run" : "(runs)", true,
						       "image as page runs%s%s", a ? ": " : "",
						       ram_run_what[a]);

				if (c) {
					c->arg = (int)a;
					c->must_refuse = a != 0 && a != 8 && a != 9;
				}
			}
		}
		layout_free(&l);
		x.u = NULL;
	}
	free(uoff);
	free(zero_rec);
	free(img);
	return x.err ? -1 : 0;
}

void cases_free(struct fcases *cs)
{
	free(cs->c);
	memset(cs, 0, sizeof *cs);
}
