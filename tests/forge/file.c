/* file.c - read a state file into a model and write it back, every length
 * and CRC computed, optionally with one field of the framing overwritten
 * before the CRCs over it are taken (an attacker who fixes every CRC).
 *
 * Written from docs/format.md alone, not from ssm/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "tests/forge/forge.h"

#define REC_RAW 1
#define REC_ZERO 2
#define REC_ZLIB 3
#define REC_ZSTD 4
#define REC_EXTENT 5          /* format 1.1 */
#define REC_END 0x7f
#define REC_MAX (1u << 20)
#define ZERO_BLOCK 4096u

static const uint8_t unit_magic[8] = { 0x89, 'S', 'S', 'M', 'U', 'n', 'i', 't' };
static const uint8_t dir_magic[8] = { 0x89, 'S', 'S', 'M', 'D', 'i', 'r', '\n' };
static const uint8_t end_magic[8] = { 0x89, 'S', 'S', 'M', 'E', 'n', 'd', '\n' };

void *grow_one(void **arr, size_t *n, size_t *cap, size_t elem)
{
	uint8_t *p;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void *na = realloc(*arr, nc * elem);

		if (!na)
			return NULL;
		*arr = na;
		*cap = nc;
	}
	p = (uint8_t *)*arr + (*n)++ * elem;
	memset(p, 0, elem);
	return p;
}

uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

void put_le(uint8_t *p, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t crc(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(0, p, (uInt)n);
}

/* ---- reading ------------------------------------------------------------- */

static int bad(const char *what, size_t off)
{
	fprintf(stderr, "forge: input file: %s at offset %zu\n", what, off);
	return -1;
}

static int append(struct funit *u, const uint8_t *p, size_t n, bool zero)
{
	uint8_t *d = realloc(u->data, u->len + n + 1);

	if (!d)
		return -1;
	u->data = d;
	if (zero)
		memset(d + u->len, 0, n);
	else
		memcpy(d + u->len, p, n);
	u->len += n;
	return 0;
}

static int inflate_into(struct funit *u, const uint8_t *p, size_t n, size_t out)
{
	z_stream z;
	uint8_t *d = realloc(u->data, u->len + out + 1);
	int zr;

	if (!d)
		return -1;
	u->data = d;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, -15) != Z_OK)
		return -1;
	z.next_in = (uint8_t *)p;
	z.avail_in = (uInt)n;
	z.next_out = d + u->len;
	z.avail_out = (uInt)out;
	zr = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (zr != Z_STREAM_END || z.avail_out)
		return -1;
	u->len += out;
	return 0;
}

/* A ZSTD record: one frame of exactly out bytes (docs/format.md). */
static int unzstd_into(struct funit *u, const uint8_t *p, size_t n, size_t out)
{
	uint8_t *d = realloc(u->data, u->len + out + 1);
	size_t got;

	if (!d)
		return -1;
	u->data = d;
	if (ZSTD_getFrameContentSize(p, n) != out || ZSTD_findFrameCompressedSize(p, n) != n)
		return -1;
	got = ZSTD_decompress(d + u->len, out, p, n);
	if (ZSTD_isError(got) || got != out)
		return -1;
	u->len += out;
	return 0;
}
/* Byte ranges no unit or file CRC covers: EXTENT padding and data. */
struct skips {
	size_t *at;                /* start, end pairs */
	size_t n, cap;
};

/* One unit record at *off (whose header is already known to be a unit). */
static int read_unit(const uint8_t *b, size_t size, size_t *off, struct funit *u,
		     struct skips *sk)
{
	size_t o = *off, start = o;
	uint32_t name_len = (uint32_t)get_le(b + o + 28, 4);

	if (name_len > 63 || o + 44 + name_len > size ||
	    crc(b + o, 40 + name_len) != get_le(b + o + 40 + name_len, 4))
		return bad("bad unit header", o);
	u->flags = (uint32_t)get_le(b + o + 12, 4);
	u->instance = (uint32_t)get_le(b + o + 16, 4);
	u->version = (uint32_t)get_le(b + o + 20, 4);
	u->pass = (uint32_t)get_le(b + o + 24, 4);
	memcpy(u->name, b + o + 40, name_len);
	u->name[name_len] = 0;
	o += 44 + name_len;
	/* The unit CRC covers the header and every record as stored, but not
	 * an EXTENT's padding and data (docs/format.md). */
	uLong ucrc = crc32(0, b + start, (uInt)(o - start));

	for (;;) {
		uint8_t type;
		uint32_t stored, decoded;

		if (o + 16 > size)
			return bad("record cut short", o);
		type = b[o];
		stored = (uint32_t)get_le(b + o + 4, 4);
		decoded = (uint32_t)get_le(b + o + 8, 4);
		if (o + 16 + stored > size)
			return bad("record cut short", o);
		{
			uLong c = crc32(0, b + o, 12);

			c = crc32(c, b + o + 16, stored);
			if (c != get_le(b + o + 12, 4))
				return bad("record CRC mismatch", o);
		}
		if (type == REC_END) {
			if (get_le(b + o + 16, 8) != u->len || get_le(b + o + 24, 4) != ucrc)
				return bad("END record disagrees with the unit", o);
			*off = o + 16 + stored;
			return 0;
		}
		ucrc = crc32(ucrc, b + o, 16 + stored);
		if (type == REC_EXTENT) {
			size_t data, len;

			if (stored < 28 + 4)
				return bad("EXTENT record too short", o);
			data = (size_t)get_le(b + o + 16, 8);
			len = (size_t)get_le(b + o + 24, 8);
			if (data < o + 16 + stored || data > size || len > size - data ||
			    get_le(b + o + 36, 4) != (len + (1u << 20) - 1) >> 20 ||
			    stored != 28 + 4 * get_le(b + o + 36, 4))
				return bad("EXTENT record out of the file", o);
			for (size_t k = 0; k * (1u << 20) < len; k++) {
				size_t n = len - k * (1u << 20) < (1u << 20) ? len - k * (1u << 20)
									     : (1u << 20);

				if (crc(b + data + k * (1u << 20), n) != get_le(b + o + 44 + 4 * k, 4))
					return bad("EXTENT chunk CRC mismatch", o);
			}
			if (append(u, b + data, len, false))
				return -1;
			for (int e = 0; e < 2; e++) {
				size_t *slot = grow_one((void **)&sk->at, &sk->n, &sk->cap,
							sizeof(size_t));

				if (!slot)
					return -1;
				*slot = e ? data + len : o + 16 + stored;
			}
			o = data + len;
			continue;
		}
		if (type == REC_RAW) {
			if (append(u, b + o + 16, stored, false))
				return -1;
		} else if (type == REC_ZERO) {
			if (append(u, NULL, decoded, true))
				return -1;
		} else if (type == REC_ZLIB) {
			if (inflate_into(u, b + o + 16, stored, decoded))
				return bad("ZLIB record does not inflate", o);
		} else if (type == REC_ZSTD) {
			if (decoded > REC_MAX || unzstd_into(u, b + o + 16, stored, decoded))
				return bad("ZSTD record does not decode", o);
		} else {
			return bad("unknown record type", o);
		}
		o += 16 + stored;
	}
}

int ffile_read(const char *path, struct ffile *f)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *b = NULL;
	size_t size = 0, cap = 0, off, nr, from = 0;
	struct skips sk = { 0 };
	uLong fcrc = 0;
	int rc = -1;

	memset(f, 0, sizeof *f);
	if (!fp) {
		perror(path);
		return -1;
	}
	do {
		if (size == cap) {
			uint8_t *nb = realloc(b, cap = cap ? cap * 2 : 1 << 20);

			if (!nb)
				goto out;
			b = nb;
		}
		nr = fread(b + size, 1, cap - size, fp);
		size += nr;
	} while (nr);
	if (size < 64 + 44 + 32 || memcmp(b, "\x89SSM\r\n\x1a\n", 8) ||
	    crc(b, 60) != get_le(b + 60, 4)) {
		bad("not a state file, or its header is damaged", 0);
		goto out;
	}
	memcpy(f->hdr, b, 64);
	for (off = 64;;) {
		struct funit *nu;

		if (off + 44 > size || memcmp(b + off, unit_magic, 8)) {
			bad("expected a unit header", off);
			goto out;
		}
		if (get_le(b + off + 28, 4) == 0)
			break;              /* terminator: directory and footer follow */
		nu = realloc(f->u, (f->n + 1) * sizeof *nu);
		if (!nu)
			goto out;
		f->u = nu;
		memset(&f->u[f->n], 0, sizeof *nu);
		f->n++;
		if (read_unit(b, size, &off, &f->u[f->n - 1], &sk))
			goto out;
	}
	for (size_t k = 0; k < sk.n; k += 2) {
		fcrc = crc32(fcrc, b + from, (uInt)(sk.at[k] - from));
		from = sk.at[k + 1];
	}
	fcrc = crc32(fcrc, b + from, (uInt)(size - 32 - from));
	if (fcrc != get_le(b + size - 8, 4)) {
		bad("whole-file CRC mismatch", size - 8);
		goto out;
	}
	rc = 0;
out:
	if (rc)
		ffile_free(f);
	free(sk.at);
	free(b);
	fclose(fp);
	return rc;
}

/* ---- writing ------------------------------------------------------------- */

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool nomem;
};

static uint8_t *grow(struct buf *b, size_t n)
{
	if (b->nomem)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 16;
		uint8_t *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->nomem = true;
			return NULL;
		}
		b->p = np;
		b->cap = cap;
	}
	b->len += n;
	return b->p + b->len - n;
}

/* Overwrite the patched bytes if p targets this region (starting at q). */
static void apply(uint8_t *q, size_t rlen, const struct patch *p, enum region r,
		  size_t idx, size_t sub)
{
	if (!q || !p || p->region != r || p->idx != idx || p->sub != sub)
		return;
	if (p->off + p->n <= rlen)
		memcpy(q + p->off, p->bytes, p->n);
}

static bool zero_block(const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (d[i])
			return false;
	return true;
}

/* Length of the next record at data offset o: a ZERO run of whole 4 KiB
 * zero blocks, or RAW bytes up to the next such block (at most 1 MiB). */
static size_t next_rec(const struct funit *u, size_t o, bool *zero)
{
	size_t n = 0;

	*zero = u->len - o >= ZERO_BLOCK && zero_block(u->data + o, ZERO_BLOCK);
	if (*zero) {
		while (o + n + ZERO_BLOCK <= u->len && n < 0xfffff000u &&
		       zero_block(u->data + o + n, ZERO_BLOCK))
			n += ZERO_BLOCK;
		return n;
	}
	while (o + n < u->len && n < REC_MAX) {
		size_t step = ZERO_BLOCK - (o + n) % ZERO_BLOCK;

		if (step > u->len - o - n)
			step = u->len - o - n;
		if (step > REC_MAX - n)
			step = REC_MAX - n;
		if (n && (o + n) % ZERO_BLOCK == 0 && step == ZERO_BLOCK &&
		    zero_block(u->data + o + n, ZERO_BLOCK))
			break;
		n += step;
	}
	return n;
}

size_t ffile_nrecs(const struct funit *u)
{
	size_t o = 0, k = 0;
	bool z;

	while (o < u->len) {
		o += next_rec(u, o, &z);
		k++;
	}
	return k;
}

static void unit_header(struct buf *b, const struct funit *u, size_t name_len, uint64_t dlen,
			const struct patch *p, enum region r, size_t idx)
{
	uint8_t *q = grow(b, 44 + name_len);

	if (!q)
		return;
	memcpy(q, unit_magic, 8);
	put_le(q + 8, 4, 44 + name_len);
	put_le(q + 12, 4, u ? u->flags : 0);
	put_le(q + 16, 4, u ? u->instance : 0);
	put_le(q + 20, 4, u ? u->version : 0);
	put_le(q + 24, 4, u ? u->pass : 0);
	put_le(q + 28, 4, name_len);
	put_le(q + 32, 8, dlen);
	if (u)
		memcpy(q + 40, u->name, name_len);
	apply(q, 40 + name_len, p, r, idx, 0);
	put_le(q + 40 + name_len, 4, crc(q, 40 + name_len));
}

static void record(struct buf *b, uint8_t type, const uint8_t *payload, uint32_t stored,
		   uint32_t decoded, const struct patch *p, enum region r, size_t idx, size_t sub)
{
	uint8_t *q = grow(b, 16 + (size_t)stored);
	uLong c;

	if (!q)
		return;
	memset(q, 0, 16);
	q[0] = type;
	put_le(q + 4, 4, stored);
	put_le(q + 8, 4, decoded);
	if (stored)
		memcpy(q + 16, payload, stored);
	/* Offsets 0..11 are the header, 16.. the payload (END: data_len at 16). */
	apply(q, 16 + (size_t)stored, p, r, idx, sub);
	c = crc32(0, q, 12);
	c = crc32(c, q + 16, stored);
	put_le(q + 12, 4, c);
}

static void write_unit(struct buf *b, const struct funit *u, size_t idx, const struct patch *p)
{
	size_t start = b->len, o = 0, k = 0, nl = strlen(u->name);
	uint8_t end[16];
	bool zero;

	unit_header(b, u, nl, u->len, p, R_UNITHDR, idx);
	while (o < u->len) {
		size_t n = next_rec(u, o, &zero);

		if (zero)
			record(b, REC_ZERO, NULL, 0, (uint32_t)n, p, R_REC, idx, k);
		else
			record(b, REC_RAW, u->data + o, (uint32_t)n, (uint32_t)n, p, R_REC, idx, k);
		o += n;
		k++;
	}
	if (b->nomem)
		return;
	put_le(end, 8, u->len);
	put_le(end + 8, 4, crc(b->p + start, b->len - start));
	put_le(end + 12, 4, k);
	record(b, REC_END, end, 16, 0, p, R_END, idx, 0);
}

uint8_t *ffile_write(const struct ffile *f, const struct patch *p, size_t *len)
{
	struct buf b = { 0 };
	size_t *uoff = calloc(f->n + 1, sizeof *uoff), dir;
	uint8_t *q;

	if (!uoff)
		return NULL;
	q = grow(&b, 64);
	if (q) {
		memcpy(q, f->hdr, 60);
		apply(q, 60, p, R_FILEHDR, 0, 0);
		put_le(q + 60, 4, crc(q, 60));
	}
	for (size_t i = 0; i < f->n; i++) {
		uoff[i] = b.len;
		write_unit(&b, &f->u[i], i, p);
	}
	unit_header(&b, NULL, 0, 0, p, R_TERM, 0);
	dir = b.len;
	q = grow(&b, 16);
	if (q) {
		memcpy(q, dir_magic, 8);
		put_le(q + 8, 4, f->n);
		put_le(q + 12, 4, 0);
		apply(q, 16, p, R_DIRHDR, 0, 0);
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct funit *u = &f->u[i];
		size_t nl = strlen(u->name);

		q = grow(&b, 36 + nl);
		if (!q)
			break;
		put_le(q, 8, uoff[i]);
		put_le(q + 8, 8, u->len);
		put_le(q + 16, 4, u->instance);
		put_le(q + 20, 4, u->version);
		put_le(q + 24, 4, u->pass);
		put_le(q + 28, 4, u->flags);
		put_le(q + 32, 4, nl);
		memcpy(q + 36, u->name, nl);
		apply(q, 36 + nl, p, R_DIRENT, i, 0);
	}
	q = grow(&b, 4);
	if (q)
		put_le(q, 4, crc(b.p + dir, b.len - 4 - dir));
	q = grow(&b, 32);
	if (q) {
		memcpy(q, end_magic, 8);
		put_le(q + 8, 8, dir);
		put_le(q + 16, 4, f->n);
		put_le(q + 20, 4, 0);
		apply(q, 24, p, R_FOOTER, 0, 0);
		put_le(q + 24, 4, crc(b.p, b.len - 32));
		put_le(q + 28, 4, crc(q, 28));
	}
	free(uoff);
	if (b.nomem) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- editing ------------------------------------------------------------- */

int funit_splice(struct funit *u, size_t off, size_t old, const void *bytes, size_t n)
{
	size_t len = u->len - old + n;
	uint8_t *d;

	if (off > u->len || old > u->len - off)
		return -1;
	d = malloc(len + 1);
	if (!d)
		return -1;
	memcpy(d, u->data, off);
	if (n)
		memcpy(d + off, bytes, n);
	memcpy(d + off + n, u->data + off + old, u->len - off - old);
	free(u->data);
	u->data = d;
	u->len = len;
	return 0;
}

int ffile_copy(struct ffile *dst, const struct ffile *src)
{
	*dst = *src;
	dst->u = calloc(src->n + 1, sizeof *dst->u);
	if (!dst->u)
		return -1;
	for (size_t i = 0; i < src->n; i++) {
		dst->u[i] = src->u[i];
		dst->u[i].data = malloc(src->u[i].len + 1);
		if (!dst->u[i].data) {
			dst->n = i;
			ffile_free(dst);
			return -1;
		}
		memcpy(dst->u[i].data, src->u[i].data, src->u[i].len);
	}
	return 0;
}

void ffile_free(struct ffile *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->u[i].data);
	free(f->u);
	f->u = NULL;
	f->n = 0;
}
