/* forge.h - the forged-state-file tool: a model of a state file that can be
 * rewritten with one value changed and every CRC recomputed, the payload
 * layouts of the VM's units, and the sweep of cases.
 *
 * Independent of libssm on purpose: it is written from docs/format.md, so a
 * reader bug libssm shares with its own writer cannot hide a case.
 */
#ifndef TESTS_FORGE_FORGE_H
#define TESTS_FORGE_FORGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the file model (file.c) --------------------------------------------- */

struct funit {
	uint32_t flags, instance, version, pass;
	char name[64];             /* NUL-terminated copy of the stored name */
	uint8_t *data;             /* decoded unit data */
	size_t len;
};

struct ffile {
	uint8_t hdr[64];           /* file header as read (crc recomputed on write) */
	struct funit *u;
	size_t n;
};

/* Where a patch lands: one region of the serialized file. */
enum region {
	R_NONE, R_FILEHDR, R_UNITHDR, R_REC, R_END, R_TERM, R_DIRHDR, R_DIRENT, R_FOOTER
};

/* Overwrite n bytes at off of region (unit idx, record sub) before the CRCs
 * over it are computed.  region R_NONE: no patch. */
struct patch {
	enum region region;
	size_t idx, sub;
	size_t off, n;
	uint8_t bytes[32];
};

/* Parse a state file (every CRC checked): 0, or -1 with a message on stderr. */
int ffile_read(const char *path, struct ffile *f);
/* Serialize f (records re-encoded as RAW and ZERO, every length, count and
 * CRC computed), applying p: a malloc'd buffer, its size in *len. */
uint8_t *ffile_write(const struct ffile *f, const struct patch *p, size_t *len);
/* Number of data records unit i gets when written. */
size_t ffile_nrecs(const struct funit *u);
/* Deep copy / free. */
int ffile_copy(struct ffile *dst, const struct ffile *src);
void ffile_free(struct ffile *f);
/* Replace bytes [off, off+old) of unit u's data with n new bytes. */
int funit_splice(struct funit *u, size_t off, size_t old, const void *bytes, size_t n);

/* Append one zeroed element of elem bytes to the array *arr (*n used, *cap
 * allocated), growing it: the element, or NULL (array unchanged). */
void *grow_one(void **arr, size_t *n, size_t *cap, size_t elem);
uint64_t get_le(const uint8_t *p, size_t n);
void put_le(uint8_t *p, size_t n, uint64_t v);

/* ---- unit payload layouts (layout.c) --------------------------------------- */

enum fkind {
	F_INT,      /* integer, size 1/2/4/8, little-endian */
	F_MARKER,   /* struct begin/end marker (u32) */
	F_STRLEN,   /* u32 length of the string that follows */
	F_STRBYTES, /* the string's bytes (size may be 0) */
	F_COUNT,    /* u32 element count of the array that follows */
	F_BLOB,     /* opaque bytes (size may be large) */
};

/* Legal values of a field, as far as the tool knows (for "illegal state
 * kept"): LG_ANY, or one of the checks below. */
enum legal { LG_ANY, LG_MAX, LG_RANGE, LG_RANGE0, LG_MASK, LG_MULT, LG_ZERO, LG_SET };

struct ffield {
	char name[96];             /* "ch[1].count", "sregs.efer", "msr[0xc0000080].data" */
	enum fkind kind;
	size_t off, size;          /* in the unit's decoded data */
	enum legal legal;
	uint64_t a, b;             /* LG_MAX a; LG_RANGE a..b; LG_RANGE0 0 or a..b;
				      LG_MASK allowed bits a;
				      LG_MULT multiple of a; LG_SET: see set */
	const uint32_t *set;       /* LG_SET: the legal values (nset of them) */
	size_t nset;
	uint64_t mult;             /* LG_RANGE: also a multiple of this (0: any) */
	size_t str_cap;            /* F_STRLEN: the loader's buffer (longest + 1) */
	bool sparse;               /* one of many alike array elements: left to
				      the full sweep, not in the CI subset */
};

struct flayout {
	struct ffield *f;
	size_t n, cap;
	bool named;                /* false: unknown version or layout did not fit */
	char why[120];             /* when !named */
	uint32_t *msr_idx;         /* the cpu unit's saved MSR indices (LG_SET) */
	size_t nmsr;
};

/* Describe unit u's data.  Never fails: an unknown unit or version, or data
 * the known layout does not fit exactly, gives one F_BLOB per 1-byte
 * offset-named field ("+12"), and named = false. */
int layout_of(const struct funit *u, struct flayout *l);
void layout_free(struct flayout *l);
/* The field named name in l, or NULL. */
const struct ffield *layout_find(const struct flayout *l, const char *name);
/* Is v legal for f? */
bool field_legal(const struct ffield *f, uint64_t v);

/* ---- cases (cases.c) -------------------------------------------------------- */

enum ckind {
	C_BYTE,      /* one data byte set: arg 0 = 0x00, 1 = 0xff, 2 = 0x80, 3 = +1 */
	C_VALUE,     /* a whole integer field set to v */
	C_STRLEN,    /* a string's length field set to v, bytes unchanged */
	C_STRLONG,   /* a string replaced by v bytes of 'A' (over-long) */
	C_STRBYTE,   /* one string byte set to v */
	C_COUNT,     /* an array count set to v, elements unchanged */
	C_TRUNC,     /* unit data cut to v bytes */
	C_EXTEND,    /* v zero bytes appended to unit data */
	C_UHDR,      /* a unit header field changed in header and directory alike:
			arg 0 flags, 1 instance, 2 version, 3 pass, 4 first name byte */
	C_TRAIL,     /* v bytes after the footer */
	C_DROP,      /* unit removed */
	C_DOUBLE,    /* unit written twice */
	C_FRAME,     /* a framing field (header, record, END, directory, footer) */
	C_RAMRUNS,   /* ram image rewritten as page runs; arg: which run mutation */
	C_BASE,      /* no change: the file re-encoded (must restore) */
};

struct fcase {
	enum ckind kind;
	size_t unit;               /* index in the file's units (SIZE_MAX: none) */
	char unit_name[64];        /* "" for file-level framing */
	char field[112];           /* field name or "+offset" */
	char what[96];             /* the mutation, for people */
	char expect[160];          /* ERE a refusal message must match */
	size_t off, size;          /* target in the unit's data (or region) */
	uint64_t v;
	int arg;
	struct patch patch;        /* C_FRAME */
	bool ci;                   /* part of the CI subset */
	bool must_refuse;          /* the format or the VM's units require a refusal */
	bool check_kept;           /* the field can be compared after a re-save */
	uint64_t forged;           /* the forged value (check_kept) */
};

struct fcases {
	struct fcase *c;
	size_t n, cap;
};

/* Every case for file f (deterministic order). */
int cases_enumerate(const struct ffile *f, struct fcases *cs);
void cases_free(struct fcases *cs);
/* Apply case c to a copy of f and serialize: malloc'd buffer or NULL. */
uint8_t *case_build(const struct ffile *f, const struct fcase *c, size_t *len);
/* Apply ram-run mutation arg to a copy of unit u (C_RAMRUNS). */
int ram_runs(struct funit *u, int arg);
extern const char *const ram_run_what[];
extern const size_t ram_run_count;

#endif
