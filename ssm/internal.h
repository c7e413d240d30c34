/* internal.h - shared state of the SSM core (private to ssm/). */
#ifndef SSM_INTERNAL_H
#define SSM_INTERNAL_H

#include <stdatomic.h>
#include <stdarg.h>
#include <zlib.h>
#include <zstd.h>

#include "ssm/ssm.h"
#include "ssm/format.h"

struct ssm_unit {
	struct ssm_unit *next;
	char name[SSM_NAME_MAX + 1];
	uint32_t instance;
	uint32_t version;
	uint64_t size_guess;
	uint32_t flags;
	ssm_flavour flavour;
	void *ctx;                 /* device, driver, VM or user pointer */
	ssm_callbacks cb;
	/* Per-operation state, reset at the start of every save/load. */
	bool loaded;               /* load: at least one record reached load_exec */
	bool loaded_final;         /* load: its final-pass record did */
	bool live_done;            /* live: voted done-don't-call-again */
};

struct ssm {
	void *vm;
	struct ssm_unit *units;    /* in save order */
	ssm_trace_fn trace;
	void *trace_user;
	/* 0 idle, 1 an operation runs, 2 it runs and ssm_cancel() asked it to
	 * stop.  One word, so that a cancel can neither be lost to a begin
	 * nor outlive the operation it was meant for. */
	atomic_int busy;
	atomic_bool cancel_armed;  /* ssm_cancel_arm(): no operation may run */
	char last_error[512];
};

enum ssm_mode { SSM_MODE_SAVE, SSM_MODE_LOAD, SSM_MODE_OPEN };

/* Output side: records are built in rec (after SSMF_REC_HDR bytes of room
 * for the header) and flushed when full, at a zero run or at unit end. */
struct ssm_writer {
	uint8_t *rec;              /* SSMF_REC_HDR + SSMF_REC_MAX */
	uint32_t rec_fill;         /* payload bytes in rec */
	int level;
	struct ssm_wpool *pool;    /* compression on: records in flight */
	uint64_t zero_run;         /* pending zero bytes */
	bool seekable;             /* unit headers get patched with data_len */
	uint64_t off;              /* bytes written to the stream */
	uint32_t file_crc;         /* of everything before the current unit */
	/* Current unit. */
	bool in_unit;
	uint8_t uhdr[SSMF_UNIT_FIXED + SSM_NAME_MAX + 4];
	uint32_t uhdr_len;
	uint64_t unit_off;
	uint64_t unit_data;        /* decoded bytes put */
	uint32_t unit_recs;
	uint32_t recs_crc;         /* CRC of the unit's record bytes */
	uint64_t recs_len;
	/* Directory being built. */
	uint8_t *dir;
	size_t dir_len, dir_cap;
	uint32_t dir_count;
};

/* Input side: one verified record at a time is decoded into rbuf (or is a
 * zero run); get_* copy from there. */
struct ssm_reader {
	uint8_t *rbuf;             /* decoded record, SSMF_REC_MAX */
	uint8_t *zbuf;             /* stored payload of a ZLIB/ZSTD record */
	size_t zbuf_size;
	z_stream z;
	bool z_init;
	ZSTD_DCtx *zd;             /* made at the first ZSTD record */
	uint64_t off;              /* stream offset of the next unread byte */
	uint32_t file_crc;         /* of everything read so far */
	/* Current record. */
	uint8_t rec_type;          /* 0: none loaded */
	uint32_t rec_len;          /* decoded bytes */
	uint32_t rec_pos;
	uint64_t rec_off;          /* where the record started */
	/* Current unit. */
	bool in_unit;
	bool unit_end_seen;        /* the END record has been read */
	char unit_name[SSM_NAME_MAX + 1];
	uint32_t unit_instance, unit_version, unit_pass, unit_flags;
	uint64_t unit_off;
	uint64_t unit_data_len;    /* from the header; may be unknown */
	uint64_t unit_consumed;    /* decoded bytes delivered or skipped */
	uint64_t unit_decoded;     /* decoded_len of the data records read */
	uint32_t unit_recs;
	uint32_t unit_crc;         /* of header + records so far */
	uint32_t unit_kinds;       /* bit 1 << type of each data record type read
				      (ssm_unit_check; reset there) */
	/* Current EXTENT record (extent.c): its data is handed out a chunk
	 * at a time through rbuf, or mapped. */
	uint64_t ext_data_off;     /* stream offset of its first data byte */
	uint64_t ext_len;
	uint64_t ext_done;         /* bytes read, skipped or mapped */
	uint32_t *ext_crc;         /* ext_nchunks CRCs */
	uint32_t ext_nchunks, ext_crc_cap;
	/* File facts. */
	uint16_t major, minor;
	uint8_t host_bits;
	bool little_endian;
	uint32_t page_size;
	char build_id[SSMF_BUILD_ID_SIZE + 1];
};

struct ssm_dir_entry {
	ssm_unit_info info;
};

struct ssm_handle {
	ssm *s;                    /* NULL for ssm_open()/ssm_validate() */
	enum ssm_mode mode;
	ssm_stream st;
	bool st_open;
	int status;                /* first error, sticky */
	ssm_after after;
	ssm_save_opts sopts;
	ssm_load_opts lopts;
	struct ssm_unit *unit;     /* unit whose callback is running */
	const char *field;         /* struct field being got, for messages */
	/* Why the last non-sticky refusal (e.g. SSM_ERR_STRING_TOO_LONG)
	 * happened, for the message if the callback then fails with it. */
	int note_rc;
	char note[256];
	uint32_t pass;
	struct ssm_writer w;
	struct ssm_reader r;
	/* Progress. */
	uint64_t prog_total, prog_base;
	unsigned prog_last;
	/* Live save. */
	int live_phase;            /* 0 begun, 1 step1 done, 2 step2 done */
	/* ssm_open(): directory. */
	struct ssm_dir_entry *dir;
	uint32_t dir_count;
	/* reader_dir.c: hash of the current pass's records (index + 1 into
	 * dir; indexes before dup_pass_start are stale, i.e. empty). */
	uint32_t *dup_slot;
	uint32_t dup_cap, dup_pass_start;
	uint64_t dir_bytes;        /* load: entry bytes the directory needs */
	uint64_t file_size;
	char err[512];
};

/* crc32.c: same result as zlib's crc32(crc, buf, len), faster where the
 * CPU allows. */
uint32_t ssm_crc32(uint32_t crc, const void *buf, size_t len);

static inline uint32_t ssm_crc_cat(uint32_t a, uint32_t b, uint64_t blen)
{
	return (uint32_t)crc32_combine(a, b, (z_off_t)blen);
}

static inline uint32_t ssm_crc_of(const void *p, size_t n)
{
	return ssm_crc32(0, p, n);
}

/* Record the first error of the operation with a message; returns rc. */
int ssm_fail(ssm_handle *h, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ssm_vfail(ssm_handle *h, int rc, const char *fmt, va_list ap);
bool ssm_cancel_requested(const ssm_handle *h);

/* Stream helpers that map short reads to SSM_ERR_TRUNCATED. */
int ssm_st_write(ssm_handle *h, const void *buf, size_t n);
int ssm_st_read_exact(ssm_handle *h, void *buf, size_t n);

/* writer.c */
int ssm_w_init(ssm_handle *h);
void ssm_w_free(struct ssm_writer *w);
int ssm_w_file_header(ssm_handle *h);
int ssm_w_unit_begin(ssm_handle *h, const struct ssm_unit *u, uint32_t pass);
int ssm_w_unit_end(ssm_handle *h);
int ssm_w_put(ssm_handle *h, const void *buf, size_t n);
int ssm_w_finish(ssm_handle *h);   /* terminator, directory, footer */
/* Write one data record (hdr: NULL, or SSMF_REC_HDR bytes of room right
 * before payload) and account for it in the unit. */
int ssm_w_emit_data(ssm_handle *h, uint8_t type, const uint8_t *payload, uint32_t stored,
		    uint32_t decoded, uint8_t *hdr);

/* codec.c: one thread's compressor for record data. */
struct ssm_cctx {
	ssm_codec codec;
	int level;
	z_stream z;
	bool z_init;
	ZSTD_CCtx *zc;
};
/* SSM_OK, or SSM_ERR_NOMEM / SSM_ERR_INVALID_ARG (level refused). */
int ssm_cctx_init(struct ssm_cctx *c, ssm_codec codec, int level);
void ssm_cctx_free(struct ssm_cctx *c);
/* Compress n (1..SSMF_REC_MAX) bytes at in into out (SSMF_COMP_STORED_MAX
 * bytes): *type ZLIB/ZSTD and *stored < n, or RAW (out unused) when that
 * would not shrink it.  SSM_ERR_COMPRESS with a static reason in *why. */
int ssm_cctx_run(struct ssm_cctx *c, const uint8_t *in, uint32_t n, uint8_t *out,
		 uint8_t *type, uint32_t *stored, const char **why);

/* wpool.c: records compressed by worker threads, written in order.  Only
 * the writer's thread calls these; records go out through ssm_w_emit_data. */
/* Pool for h->sopts (codec, level, workers): the caller's thread plus
 * workers - 1 threads, 2 * workers records in flight at most. */
int ssm_wpool_new(ssm_handle *h, struct ssm_wpool **out);
/* Stop and join the threads, drop what is in flight, free (NULL: no-op). */
void ssm_wpool_free(struct ssm_wpool *p);
/* Queue the record buffer *rec (SSMF_REC_HDR + n bytes) for compression;
 * *rec gets an unused buffer back.  Writes out finished records. */
int ssm_wpool_submit(ssm_handle *h, uint8_t **rec, uint32_t n);
/* A ZERO record of n bytes behind the records in flight. */
int ssm_wpool_zero(ssm_handle *h, uint32_t n);
/* Write every record in flight, in order (at unit end). */
int ssm_wpool_drain(ssm_handle *h);
/* Are the 4096 bytes at p all zero? */
bool ssm_w_page_is_zero(const uint8_t *p);
/* Write out buffered data and any pending zero run (before an extent). */
int ssm_w_flush(ssm_handle *h);
/* Account a record written outside emit(): its CRC over bytes bytes. */
void ssm_w_count_record(ssm_handle *h, uint32_t full_crc, uint64_t bytes);

/* reader.c */
/* stored == computed; every CRC check of a reader goes through it (a
 * fuzzing build accepts any CRC, see reader.c). */
bool ssm_crc_ok(uint32_t stored, uint32_t computed);
int ssm_r_init(ssm_handle *h);
void ssm_r_free(struct ssm_reader *r);
int ssm_r_file_header(ssm_handle *h);
/* Next unit header; *end = true at the terminator. */
int ssm_r_unit_begin(ssm_handle *h, bool *end);
/* Read the unit's END record and check it; fails if data is left unread. */
int ssm_r_unit_end(ssm_handle *h);
/* Verify and drop the rest of the unit's records. */
int ssm_r_unit_skip_rest(ssm_handle *h);
int ssm_r_get(ssm_handle *h, void *buf, size_t n, bool prezeroed);
/* Read, verify and decode the next record (or extent chunk) of the unit. */
int ssm_r_next_record(ssm_handle *h);

/* extent.c */
/* An EXTENT record's payload (in rbuf, its CRC checked) at stream offset
 * off: check it, keep its chunk CRCs and make it the current record. */
int ssm_x_begin(ssm_handle *h, uint64_t off, uint32_t stored);
/* The next chunk of the current extent into rbuf, its CRC checked. */
int ssm_x_chunk(ssm_handle *h);
int ssm_r_skip(ssm_handle *h, uint64_t n);
/* Read position for messages: "data offset D, stream offset S". */
const char *ssm_r_pos(const ssm_handle *h, char *buf, size_t len);
/* Read n bytes of `what`; a short stream fails as SSM_ERR_TRUNCATED. */
int ssm_r_read(ssm_handle *h, void *buf, size_t n, const char *what);

/* reader_dir.c */
/* Unit record h->dir[i] against the ones before it: offsets increase,
 * passes never decrease, one record per unit and pass.  what prefixes the
 * message. */
int ssm_r_check_order(ssm_handle *h, uint32_t i, const char *what);
/* Footer CRC and reserved field (the magic is the caller's). */
int ssm_r_check_footer(ssm_handle *h, const uint8_t *foot, uint64_t off);
/* Directory magic and reserved field. */
int ssm_r_check_dir_header(ssm_handle *h, const uint8_t *dh, uint64_t off);
/* Directory and footer after the terminator; checks the whole-file CRC and,
 * where the stream's size is known, that nothing follows the footer. */
int ssm_r_finish(ssm_handle *h);
/* Parse and check the count entries of the directory at dir_off (its CRC
 * already checked) into h->dir. */
int ssm_r_parse_dir(ssm_handle *h, const uint8_t *buf, size_t len, uint32_t count,
		    uint64_t dir_off);

/* save.c: claim s for one operation (refuses a second concurrent one);
 * release it, keeping h's message as the registry's last error. */
int ssm_op_begin(ssm *s);
void ssm_op_end(ssm *s, ssm_handle *h);
/* Checks, ssm_op_begin and a new handle for a save or load on st; on
 * failure st is closed, *rc says why and NULL is returned. */
ssm_handle *ssm_op_start(ssm *s, ssm_stream st, enum ssm_mode mode, int *rc);
/* Close the stream (kept only if all went well), report 100 %, release
 * the registry and free h; returns the operation's status. */
int ssm_op_finish(ssm_handle *h);

/* opts.c: copy the caller's options into h->sopts / h->lopts (NULL: all
 * defaults), honouring their size member; fails h on a bad size. */
int ssm_save_opts_import(ssm_handle *h, const ssm_save_opts *opts);
int ssm_load_opts_import(ssm_handle *h, const ssm_load_opts *opts);

/* handle.c */
ssm_handle *ssm_handle_new(ssm *s, enum ssm_mode mode, ssm_stream st);
void ssm_handle_free(ssm_handle *h);
void ssm_progress(ssm_handle *h, uint64_t done);
int ssm_call(ssm_handle *h, struct ssm_unit *u, ssm_cb_kind kind, uint32_t pass,
	     uint32_t version);
const char *ssm_unit_desc(const struct ssm_unit *u, char *buf, size_t len);

#endif /* SSM_INTERNAL_H */
