/* ssm.h - saved-state manager: public API of libssm.
 *
 * A registry (struct ssm) holds named, versioned data units.  Saving runs the
 * units' callbacks, which write typed values through a handle into a stream;
 * loading reads the stream back and hands each unit its data.  The on-disk
 * format is described in docs/format.md.
 *
 * Threads: a registry and its handles are used from one thread at a time,
 * except ssm_cancel(), which may be called from any thread.
 * Memory: the library owns everything it allocates; strings passed in are
 * copied unless stated otherwise.
 */
#ifndef SSM_SSM_H
#define SSM_SSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the public API: libssm is built with -fvisibility=hidden, so only
 * these functions are exported from libssm.so (and left global in libssm.a). */
#if defined(__GNUC__) || defined(__clang__)
#define SSM_API __attribute__((visibility("default")))
#else
#define SSM_API
#endif

/* ---- Errors ------------------------------------------------------------ */

/* Every libssm function returning int returns SSM_OK (0) or a negative
 * ssm_err.  Vote callbacks may also return the positive SSM_VOTE_* codes. */
typedef enum ssm_err {
	SSM_OK = 0,
	SSM_ERR_NOMEM = -1,             /* out of memory */
	SSM_ERR_INVALID_ARG = -2,       /* bad argument from the caller */
	SSM_ERR_DUPLICATE_UNIT = -3,    /* (name, instance) already registered */
	SSM_ERR_NO_SUCH_UNIT = -4,      /* deregister/seek: unit not there */
	SSM_ERR_IO = -5,                /* read/write/seek on the stream failed */
	SSM_ERR_TRUNCATED = -6,         /* stream ended early */
	SSM_ERR_BAD_MAGIC = -7,         /* not a state file */
	SSM_ERR_FORMAT_MAJOR = -8,      /* file format major version not supported */
	SSM_ERR_CRC = -9,               /* checksum mismatch: damaged data */
	SSM_ERR_FORMAT = -10,           /* malformed structure in the file */
	SSM_ERR_UNKNOWN_UNIT = -11,     /* file holds a unit nobody registered */
	SSM_ERR_UNIT_VERSION = -12,     /* unit refuses the saved version */
	SSM_ERR_READ_PAST_END = -13,    /* load exec read beyond its unit's data */
	SSM_ERR_DATA_LEFT = -14,        /* load exec left unit data unread */
	SSM_ERR_STRING_TOO_LONG = -15,  /* get_str: buffer too small */
	SSM_ERR_CANCELLED = -16,        /* ssm_cancel() was called */
	SSM_ERR_CALLBACK = -17,         /* a unit callback failed (see message) */
	SSM_ERR_STRUCT_MARKER = -18,    /* struct begin/end marker mismatch */
	SSM_ERR_STRUCT_COVERAGE = -19,  /* field table does not cover the struct */
	SSM_ERR_NOT_SUPPORTED = -20,    /* stream cannot do this (e.g. seek a pipe) */
	SSM_ERR_LIVE_GAVE_UP = -21,     /* a unit voted to give up live saving */
	SSM_ERR_BAD_STATE = -22,        /* call not valid in the handle's state */
	SSM_ERR_COMPRESS = -23,         /* zlib or zstd failed */
	SSM_ERR_LOAD_VALUE = -24,       /* a unit found a loaded value invalid */
	SSM_ERR_NO_SPACE = -25,         /* write failed: disk full */
	SSM_ERR_CONN_LOST = -26,        /* peer closed or reset the connection */
	SSM_ERR_BAD_VALUE = -27,        /* stored value out of its type's range */
	SSM_ERR_TOO_MANY_PASSES = -28,  /* live save exceeded max passes */
	SSM_ERR_TIMEOUT = -29,          /* the peer stopped sending or receiving */
	SSM_ERR__LAST = -30
} ssm_err;

/* Static description of an error code; never NULL. */
SSM_API const char *ssm_strerror(int err);

/* ---- Opaque types ---------------------------------------------------------- */

struct ssm;           /* registry of units, one per VM */
struct ssm_handle;    /* one save, load or open operation */
typedef struct ssm ssm;
typedef struct ssm_handle ssm_handle;

/* The special pass number of the final (non-live) save exec / load exec. */
#define SSM_PASS_FINAL UINT32_MAX

/* What happens after the operation; units read it with ssm_handle_after(). */
typedef enum ssm_after {
	SSM_AFTER_INVALID = 0,
	SSM_AFTER_DESTROY,    /* save: VM is torn down after saving */
	SSM_AFTER_CONTINUE,   /* save: VM keeps running after saving */
	SSM_AFTER_TELEPORT,   /* save: source stops, destination continues */
	SSM_AFTER_RESUME,     /* load: loaded state will run */
	SSM_AFTER_DEBUG,      /* load: for inspection; relax strict checks */
	SSM_AFTER_OPENED      /* ssm_open(): no plan known */
} ssm_after;

/* Live vote results (live_vote return values besides errors). */
#define SSM_VOTE_DONE                0  /* no more live passes needed */
#define SSM_VOTE_ANOTHER_PASS        1  /* call live exec again */
#define SSM_VOTE_DONE_DONT_CALL_AGAIN 2 /* done; skip my live exec/vote from now */
#define SSM_VOTE_GIVE_UP  SSM_ERR_LIVE_GAVE_UP /* cannot converge */

/* ---- Registration ----------------------------------------------------------- */

typedef enum ssm_flavour {
	SSM_FLAVOUR_DEVICE = 0,   /* ctx = device instance */
	SSM_FLAVOUR_DRIVER,       /* ctx = driver instance */
	SSM_FLAVOUR_INTERNAL,     /* ctx = the VM pointer given to ssm_create() */
	SSM_FLAVOUR_EXTERNAL      /* ctx = user pointer given at registration */
} ssm_flavour;

/* Callback set; any member may be NULL.  ctx is the flavour's context.
 * All return SSM_OK or a negative ssm_err (live_vote also SSM_VOTE_*). */
typedef struct ssm_callbacks {
	int (*live_prep)(void *ctx, ssm_handle *h);
	int (*live_exec)(void *ctx, ssm_handle *h, uint32_t pass);
	int (*live_vote)(void *ctx, ssm_handle *h, uint32_t pass);
	int (*save_prep)(void *ctx, ssm_handle *h);
	int (*save_exec)(void *ctx, ssm_handle *h);
	int (*save_done)(void *ctx, ssm_handle *h);
	int (*load_prep)(void *ctx, ssm_handle *h);
	int (*load_exec)(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass);
	int (*load_done)(void *ctx, ssm_handle *h);
} ssm_callbacks;

/* Registration flags. */
#define SSM_UNIT_OPTIONAL 0x1u   /* loaders that do not know it may skip it */

#define SSM_NAME_MAX 63          /* longest unit name, bytes */

/* Create an empty registry; vm is passed to internal units.  NULL on OOM. */
SSM_API ssm *ssm_create(void *vm);
/* Free the registry (units are dropped; callbacks are not called). */
SSM_API void ssm_destroy(ssm *s);

/* Register a unit.  before: name of a unit this one must be saved before, or
 * NULL.  size_guess drives progress reporting.  cb is copied.  Returns
 * SSM_ERR_DUPLICATE_UNIT if (name, instance) exists. */
SSM_API int ssm_register_device(ssm *s, void *dev, const char *name, uint32_t instance,
				uint32_t version, size_t size_guess, const char *before,
				uint32_t flags, const ssm_callbacks *cb);
SSM_API int ssm_register_driver(ssm *s, void *drv, const char *name, uint32_t instance,
				uint32_t version, size_t size_guess, const char *before,
				uint32_t flags, const ssm_callbacks *cb);
SSM_API int ssm_register_internal(ssm *s, const char *name, uint32_t instance,
				  uint32_t version, size_t size_guess, const char *before,
				  uint32_t flags, const ssm_callbacks *cb);
SSM_API int ssm_register_external(ssm *s, const char *name, uint32_t instance,
				  uint32_t version, size_t size_guess, const char *before,
				  uint32_t flags, const ssm_callbacks *cb, void *user);

/* Deregister.  Device/driver: name NULL removes every unit of that instance.
 * Returns SSM_ERR_NO_SUCH_UNIT when nothing matched. */
SSM_API int ssm_deregister_device(ssm *s, void *dev, const char *name, uint32_t instance);
SSM_API int ssm_deregister_driver(ssm *s, void *drv, const char *name, uint32_t instance);
SSM_API int ssm_deregister_internal(ssm *s, const char *name, uint32_t instance);
SSM_API int ssm_deregister_external(ssm *s, const char *name, uint32_t instance);

/* Callback kinds, for tracing. */
typedef enum ssm_cb_kind {
	SSM_CB_LIVE_PREP = 0, SSM_CB_LIVE_EXEC, SSM_CB_LIVE_VOTE,
	SSM_CB_SAVE_PREP, SSM_CB_SAVE_EXEC, SSM_CB_SAVE_DONE,
	SSM_CB_LOAD_PREP, SSM_CB_LOAD_EXEC, SSM_CB_LOAD_DONE,
	SSM_CB__COUNT
} ssm_cb_kind;

/* Called just before each unit callback runs (NULL to turn off). */
typedef void (*ssm_trace_fn)(void *user, const char *unit, uint32_t instance,
			     ssm_flavour flavour, ssm_cb_kind kind, uint32_t pass);
SSM_API void ssm_set_trace(ssm *s, ssm_trace_fn fn, void *user);
SSM_API const char *ssm_flavour_name(ssm_flavour f);   /* "device", ... */
SSM_API const char *ssm_cb_kind_name(ssm_cb_kind k);   /* "live_prep", ... */

/* Human-readable message of the last failed operation on s (names the unit,
 * byte offset, ...).  Valid until the next operation; "" if none. */
SSM_API const char *ssm_last_error(const ssm *s);

/* After ssm_load on s (until the next operation): whether unit (name,
 * instance) is registered and got its final-pass record (SSM_PASS_FINAL),
 * the one that carries its state; live-pass records alone do not count.
 * For callers that require units the format leaves optional. */
SSM_API bool ssm_unit_final_loaded(ssm *s, const char *name, uint32_t instance);

/* Ask the save or load running on s (in another thread) to stop; it returns
 * SSM_ERR_CANCELLED soon.  Safe from any thread.  SSM_ERR_BAD_STATE if none. */
SSM_API int ssm_cancel(ssm *s);
/* Armed: the running operation is cancelled and any that begins fails at
 * once with SSM_ERR_CANCELLED, so a cancel cannot be lost to a thread that
 * has not begun yet.  Disarm to allow operations again.  Any thread. */
SSM_API void ssm_cancel_arm(ssm *s, bool armed);

/* ---- Streams ----------------------------------------------------------------- */

/* Stream backend.  All return SSM_OK or a negative ssm_err.  write writes all
 * n bytes; read returns fewer than n (*got) only at end of stream.  seek is
 * absolute from the start; size/seek may return SSM_ERR_NOT_SUPPORTED.
 * close(ok=false) discards (e.g. removes a half-written file); close frees
 * the backend's state.  Called only from the thread running the operation. */
typedef struct ssm_stream_ops {
	int (*write)(void *user, const void *buf, size_t n);
	int (*read)(void *user, void *buf, size_t n, size_t *got);
	int (*seek)(void *user, uint64_t off);
	int (*tell)(void *user, uint64_t *off);
	int (*size)(void *user, uint64_t *size);
	int (*is_ok)(void *user);
	int (*close)(void *user, bool ok);
} ssm_stream_ops;

typedef struct ssm_stream {
	const ssm_stream_ops *ops;
	void *user;
} ssm_stream;

/* Built-in backends.  Each fills *out; the operation that uses the stream
 * closes it (ssm_save/ssm_load/ssm_close), or call ssm_stream_close(). */

/* File for writing, mode 0600: data goes to an anonymous file in PATH's
 * directory (O_TMPFILE; elsewhere to "PATH.tmp-XXXXXX"); close(ok) fsyncs
 * it and renames it over PATH, close(!ok) drops it, so PATH never holds a
 * half-written file.  Temp files of killed writers are removed by the next
 * create for PATH.  An existing PATH that is a directory (SSM_ERR_IO, errno
 * EISDIR) or not a regular file (SSM_ERR_NOT_SUPPORTED) is refused. */
SSM_API int ssm_stream_file_create(ssm_stream *out, const char *path);
/* File for reading (seekable): a regular file only.  Opening never blocks;
 * a FIFO or device is refused with SSM_ERR_NOT_SUPPORTED before any read
 * (use ssm_stream_fd for those on purpose). */
SSM_API int ssm_stream_file_open(ssm_stream *out, const char *path);
/* As ssm_stream_file_open, on a descriptor of a file the caller opened; the
 * stream reads a duplicate of it (fd stays the caller's), so the caller can
 * hand fd to ssm_load_opts.map_fd knowing it is the very file loaded. */
SSM_API int ssm_stream_file_fdopen(ssm_stream *out, int fd);
/* Existing fd (file, pipe, stdout); not closed by close() unless own_fd. */
SSM_API int ssm_stream_fd(ssm_stream *out, int fd, bool own_fd);
/* Connected socket (send/recv, no SIGPIPE); closed by close() if own_fd. */
SSM_API int ssm_stream_socket(ssm_stream *out, int fd, bool own_fd);
/* Connect to host:port over TCP; the stream owns the socket. */
SSM_API int ssm_stream_tcp_connect(ssm_stream *out, const char *host, const char *port);
/* Growable memory buffer for writing. */
SSM_API int ssm_stream_mem_writer(ssm_stream *out);
/* Take the written bytes (caller frees *buf with free()); the stream stays
 * usable and empty.  Only for streams made by ssm_stream_mem_writer. */
SSM_API int ssm_stream_mem_take(ssm_stream *st, void **buf, size_t *len);
/* Memory writer for use with ssm_save(), which closes its stream: a close
 * with ok hands the bytes to *buf (caller frees with free()) and *len; a
 * failed close leaves *buf NULL. */
SSM_API int ssm_stream_mem_sink(ssm_stream *out, void **buf, size_t *len);
/* Read-only view of caller memory (not copied; must outlive the stream). */
SSM_API int ssm_stream_mem_reader(ssm_stream *out, const void *buf, size_t len);
/* Close a stream not handed to an operation. */
SSM_API int ssm_stream_close(ssm_stream *st, bool ok);

/* ---- Save and load ----------------------------------------------------------- */

typedef void (*ssm_progress_fn)(void *user, unsigned percent);

/* Record compressor of a save (docs/format.md: ZLIB and ZSTD records). */
typedef enum ssm_codec {
	SSM_CODEC_ZLIB = 0,
	SSM_CODEC_ZSTD = 1,
} ssm_codec;

/* Option structs carry their size so the ABI can grow: set .size to
 * sizeof(the struct) (SSM_SAVE_OPTS_INIT / SSM_LOAD_OPTS_INIT do it in a
 * designated initializer).  libssm reads only the members that lie wholly
 * within .size; the others take their default (as if 0), so a program built
 * against an older, shorter struct keeps working.  A .size larger than this
 * libssm knows is accepted if every byte beyond what it knows is zero (new
 * options left at their default) and refused with SSM_ERR_NOT_SUPPORTED
 * otherwise; a .size below 4 (e.g. 0: not set) or above 4096 (garbage) is
 * SSM_ERR_INVALID_ARG.
 * New members are only ever appended. */
typedef struct ssm_save_opts {
	uint32_t size;             /* sizeof(ssm_save_opts) */
	ssm_after after;           /* default (0) -> SSM_AFTER_DESTROY */
	int compression;           /* 0 = none; else a level of `codec`: zlib
				      1..9, zstd 1..19 or its fast -7..-1 */
	ssm_progress_fn progress;  /* percent, monotonic, ends at 100 */
	void *progress_user;
	uint32_t max_downtime_ms;  /* live: what units converge against */
	uint32_t max_passes;       /* live: 0 = no limit */
	uint8_t host_bits;         /* 0 = this host; 32/64 to write files as
				      another host would (for tests) */
	ssm_codec codec;           /* SSM_CODEC_ZLIB (default) or SSM_CODEC_ZSTD */
	uint32_t workers;          /* threads compressing records, the caller's
				      included: 0 = one per online CPU (at
				      most 4), 1 = the caller only; <= 16 */
} ssm_save_opts;

typedef struct ssm_load_opts {
	uint32_t size;             /* sizeof(ssm_load_opts) */
	ssm_after after;           /* default (0) -> SSM_AFTER_RESUME */
	bool skip_unknown;         /* skip units nobody registered */
	ssm_progress_fn progress;
	void *progress_user;
	/* ssm_get_extent() may map extents from map_fd (MAP_PRIVATE) instead
	 * of reading them: map_fd is the stream's file, open for reading, and
	 * stays the caller's.  Unused unless map_extents is set. */
	bool map_extents;
	int map_fd;
} ssm_load_opts;

/* Start a designated initializer with these:
 *   ssm_save_opts o = { SSM_SAVE_OPTS_INIT, .compression = 1 }; */
#define SSM_SAVE_OPTS_INIT .size = (uint32_t)sizeof(ssm_save_opts)
#define SSM_LOAD_OPTS_INIT .size = (uint32_t)sizeof(ssm_load_opts)

/* Save every registered unit to st (st is consumed: closed ok on success,
 * closed !ok on failure).  opts may be NULL. */
SSM_API int ssm_save(ssm *s, ssm_stream st, const ssm_save_opts *opts);

/* Live save in steps, so the caller can pause its VM between them:
 *   ssm_live_begin  - header, live prep of every unit
 *   ssm_live_step1  - live exec/vote passes while the VM runs; returns SSM_OK
 *                     when all voted done, SSM_ERR_LIVE_GAVE_UP or
 *                     SSM_ERR_TOO_MANY_PASSES otherwise (the caller may still
 *                     run step2 to finish with a longer downtime)
 *   ssm_live_step2  - with the VM paused: save prep, save exec (final pass)
 *   ssm_live_end    - save done of every unit, footer, close; returns the
 *                     overall status and frees *h.  Always call it.
 * st is consumed by begin (even on failure). */
SSM_API int ssm_live_begin(ssm *s, ssm_stream st, const ssm_save_opts *opts, ssm_handle **h);
SSM_API int ssm_live_step1(ssm_handle *h);
SSM_API int ssm_live_step2(ssm_handle *h);
SSM_API int ssm_live_end(ssm_handle *h);

/* Load a stream into the registered units (st is consumed).  opts may be NULL. */
SSM_API int ssm_load(ssm *s, ssm_stream st, const ssm_load_opts *opts);

/* Check a whole stream (every CRC, record, unit, directory) without loading.
 * st is consumed.  On failure msg (if not NULL) gets a one-line reason. */
SSM_API int ssm_validate(ssm_stream st, char *msg, size_t msglen);

/* ---- Random access: open, seek, read one unit ----------------------------- */

typedef struct ssm_unit_info {
	char name[SSM_NAME_MAX + 1];
	uint32_t instance;
	uint32_t version;
	uint32_t pass;
	uint32_t flags;            /* SSM_UNIT_OPTIONAL */
	uint64_t offset;           /* of the unit header in the file */
	uint64_t data_len;         /* decoded bytes */
} ssm_unit_info;

typedef struct ssm_file_info {
	uint16_t major, minor;     /* format version */
	uint8_t host_bits;
	bool little_endian;
	uint32_t page_size;
	char build_id[33];
	uint64_t file_size;
	uint32_t unit_count;       /* entries in the directory */
} ssm_file_info;

/* Open a seekable stream for reading: checks header, footer and directory.
 * st is consumed; free *h with ssm_close(). */
SSM_API int ssm_open(ssm_stream st, ssm_handle **h);
SSM_API void ssm_close(ssm_handle *h);
SSM_API int ssm_file_info_get(ssm_handle *h, ssm_file_info *fi);
/* Directory entry i (0 <= i < unit_count). */
SSM_API int ssm_unit_info_get(ssm_handle *h, uint32_t i, ssm_unit_info *ui);
/* Position at the unit (its last pass in the file) so ssm_get_* read its
 * data; *version (may be NULL) gets the saved version.  Reads nothing else. */
SSM_API int ssm_seek(ssm_handle *h, const char *name, uint32_t instance, uint32_t *version);
/* Like ssm_seek, but at directory entry i (0 <= i < unit_count), so a
 * unit's earlier live-pass records can be read too. */
SSM_API int ssm_seek_entry(ssm_handle *h, uint32_t i, uint32_t *version);

/* What ssm_unit_check found in one unit record. */
typedef struct ssm_unit_stats {
	uint64_t stored_bytes;     /* unit header to END record, both included */
	uint64_t data_len;         /* decoded bytes */
	uint32_t records;          /* data records (END not counted) */
	uint32_t kinds;            /* bit 1 << type for each record type met */
} ssm_unit_stats;

/* Read directory entry i's unit record through to its END record without
 * handing its data to anyone: the header against the entry, every record's
 * lengths and CRC (ZLIB records inflated), the END record's unit CRC,
 * count and length, as a load does.  Fills *st on success; on failure the
 * reason is ssm_handle_error(h).  For inspecting and verifying files. */
SSM_API int ssm_unit_check(ssm_handle *h, uint32_t i, ssm_unit_stats *st);
/* Name of a data record type ("raw", "zero", "zlib", ...); NULL if the
 * format knows no such type.  type < 32 (ssm_unit_stats.kinds bits). */
SSM_API const char *ssm_record_kind_name(unsigned type);

/* Message of the handle's last error ("" if none). */
SSM_API const char *ssm_handle_error(const ssm_handle *h);

/* ---- Handle queries, for callbacks ------------------------------------------- */

SSM_API int ssm_handle_status(const ssm_handle *h);         /* SSM_OK or first error */
SSM_API ssm_after ssm_handle_after(const ssm_handle *h);
SSM_API uint32_t ssm_handle_max_downtime_ms(const ssm_handle *h);
SSM_API uint32_t ssm_handle_max_passes(const ssm_handle *h);
/* In load done: was the current unit present in the stream? */
SSM_API bool ssm_handle_unit_loaded(const ssm_handle *h);
/* In a callback: the instance number of the unit it runs for (0 outside
 * one), so one callback table serves every instance of a unit. */
SSM_API uint32_t ssm_handle_instance(const ssm_handle *h);
/* Host facts of the stream being loaded (or of this host when saving). */
SSM_API unsigned ssm_handle_host_bits(const ssm_handle *h);
/* Decoded bytes of the current unit not yet read (load only); UINT64_MAX
 * while that is unknown (a stream written to a pipe, before its END). */
SSM_API uint64_t ssm_handle_remaining(const ssm_handle *h);
/* Bytes written to the stream so far, data still in the record buffer
 * included (save) / bytes read (load). */
SSM_API uint64_t ssm_handle_offset(const ssm_handle *h);
/* Record a detailed load error for the current unit; returns rc, so a
 * callback can `return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "...")`.
 * libssm adds the unit, the struct field being got and the read position. */
SSM_API int ssm_set_load_error(ssm_handle *h, int rc, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
/* True once ssm_cancel() has been called for this operation. */
SSM_API bool ssm_handle_cancelled(const ssm_handle *h);
/* For load_exec code that reads fields one primitive at a time: name the
 * field being read (a static string, NULL for none), so that any refusal
 * libssm records meanwhile names it, as it does inside a field table. */
SSM_API void ssm_handle_set_field(ssm_handle *h, const char *name);
/* For load_exec: SSM_OK if min <= version <= max, the range of saved versions
 * the unit declares it loads; otherwise records "UNIT: unit version V not
 * supported (loads MIN..MAX)" and returns SSM_ERR_UNIT_VERSION. */
SSM_API int ssm_check_unit_version(ssm_handle *h, const char *unit, uint32_t version, uint32_t min,
				   uint32_t max);

/* ---- Typed primitives ------------------------------------------------------ */

/* All values are stored little-endian, independent of the host.  Put returns
 * SSM_OK or the stream error (sticky: later puts fail too).  Get fails with
 * SSM_ERR_READ_PAST_END beyond the unit's data and leaves *v untouched. */

typedef struct ssm_u128 { uint64_t lo, hi; } ssm_u128;

SSM_API int ssm_put_u8(ssm_handle *h, uint8_t v);
SSM_API int ssm_put_s8(ssm_handle *h, int8_t v);
SSM_API int ssm_put_u16(ssm_handle *h, uint16_t v);
SSM_API int ssm_put_s16(ssm_handle *h, int16_t v);
SSM_API int ssm_put_u32(ssm_handle *h, uint32_t v);
SSM_API int ssm_put_s32(ssm_handle *h, int32_t v);
SSM_API int ssm_put_u64(ssm_handle *h, uint64_t v);
SSM_API int ssm_put_s64(ssm_handle *h, int64_t v);
SSM_API int ssm_put_u128(ssm_handle *h, ssm_u128 v);
SSM_API int ssm_put_bool(ssm_handle *h, bool v);
SSM_API int ssm_put_gcphys(ssm_handle *h, uint64_t gpa);   /* guest-physical address */
SSM_API int ssm_put_gcptr(ssm_handle *h, uint64_t gva);    /* guest-virtual address */
SSM_API int ssm_put_ioport(ssm_handle *h, uint16_t port);
SSM_API int ssm_put_sel(ssm_handle *h, uint16_t sel);      /* segment selector */
/* In a live pass (live_exec) buf may change during the call (the RAM of a
 * running guest): it is copied before it is checksummed.  Elsewhere it must
 * stay unchanged until the call returns. */
SSM_API int ssm_put_mem(ssm_handle *h, const void *buf, size_t n);
SSM_API int ssm_put_str(ssm_handle *h, const char *s);     /* u32 length + bytes */
/* len bytes (a multiple of 4096, at most 128 GiB) as one page-aligned
 * EXTENT record (format 1.1): on a seekable stream without compression in
 * the final pass, the bytes go at a fixed page-aligned offset, all-zero
 * pages as holes, with a CRC32 per 1 MiB chunk; otherwise as put_mem
 * writes them.  Either way ssm_get_extent() (or get_mem) reads it back. */
SSM_API int ssm_put_extent(ssm_handle *h, const void *base, size_t len);

SSM_API int ssm_get_u8(ssm_handle *h, uint8_t *v);
SSM_API int ssm_get_s8(ssm_handle *h, int8_t *v);
SSM_API int ssm_get_u16(ssm_handle *h, uint16_t *v);
SSM_API int ssm_get_s16(ssm_handle *h, int16_t *v);
SSM_API int ssm_get_u32(ssm_handle *h, uint32_t *v);
SSM_API int ssm_get_s32(ssm_handle *h, int32_t *v);
SSM_API int ssm_get_u64(ssm_handle *h, uint64_t *v);
SSM_API int ssm_get_s64(ssm_handle *h, int64_t *v);
SSM_API int ssm_get_u128(ssm_handle *h, ssm_u128 *v);
SSM_API int ssm_get_bool(ssm_handle *h, bool *v);          /* SSM_ERR_BAD_VALUE if >1 */
SSM_API int ssm_get_gcphys(ssm_handle *h, uint64_t *gpa);
SSM_API int ssm_get_gcptr(ssm_handle *h, uint64_t *gva);
SSM_API int ssm_get_ioport(ssm_handle *h, uint16_t *port);
SSM_API int ssm_get_sel(ssm_handle *h, uint16_t *sel);
SSM_API int ssm_get_mem(ssm_handle *h, void *buf, size_t n);
/* Like get_mem, but bytes stored as zero runs are not written: for a buf the
 * caller knows is already zero (fresh anonymous memory stays unfaulted). */
SSM_API int ssm_get_mem_prezeroed(ssm_handle *h, void *buf, size_t n);
/* ssm_get_extent flags. */
#define SSM_EXTENT_VERIFY    0x1u  /* check every chunk CRC of a mapped extent */
#define SSM_EXTENT_PREZEROED 0x2u  /* dst is zero (as get_mem_prezeroed) */
/* Read len bytes put by ssm_put_extent() into dst.  With the load option
 * map_extents, a page-aligned dst and an EXTENT record, the file is mapped
 * over dst (MAP_FIXED | MAP_PRIVATE: writes to dst never reach the file)
 * after its bounds are checked against the file's size; the data is then
 * not read and its chunk CRCs are not checked unless SSM_EXTENT_VERIFY.
 * Otherwise the bytes are read and every chunk CRC checked. */
SSM_API int ssm_get_extent(ssm_handle *h, void *dst, size_t len, uint32_t flags);
/* String into buf of size bufsize (NUL-terminated).  SSM_ERR_STRING_TOO_LONG
 * if it does not fit; buf is never written past bufsize.  len may be NULL. */
SSM_API int ssm_get_str(ssm_handle *h, char *buf, size_t bufsize, size_t *len);
SSM_API int ssm_skip(ssm_handle *h, uint64_t n);
SSM_API int ssm_skip_to_end(ssm_handle *h);

/* ---- Struct field tables --------------------------------------------------- */

typedef enum ssm_field_transform {
	SSM_FT_INVALID = 0,   /* terminator */
	SSM_FT_NONE,          /* raw bytes, size bytes (ints stored LE) */
	SSM_FT_GCPHYS,        /* uint64_t guest-physical address */
	SSM_FT_GCPTR,         /* uint64_t guest-virtual address */
	SSM_FT_HCPTR_NI,      /* host pointer saved as NULL/non-NULL only */
	SSM_FT_HCPTR,         /* host pointer: ignored (zeros with DONT_IGNORE) */
	SSM_FT_IGNORE,        /* ignored field (zeros with DONT_IGNORE) */
	SSM_FT_PAD_HC,        /* padding whose size differs on 32/64-bit hosts */
	SSM_FT_CALLBACK       /* custom get/put callback */
} ssm_field_transform;

struct ssm_field;
/* Custom field callback: put (get=false) or get (get=true) the field. */
typedef int (*ssm_field_fn)(ssm_handle *h, const struct ssm_field *f,
			    void *strct, uint32_t flags, bool get, void *user);

typedef struct ssm_field {
	ssm_field_transform transform;
	uint32_t off;          /* offsetof(struct, member) */
	uint32_t size;         /* sizeof member (PAD_HC: size on this host) */
	uint8_t pad32, pad64;  /* PAD_HC: padding size on 32- and 64-bit hosts */
	ssm_field_fn fn;       /* SSM_FT_CALLBACK */
	const char *name;      /* for messages and the inspector */
} ssm_field;

#define SSM_FIELD_T(type, member, tr) \
	{ (tr), (uint32_t)offsetof(type, member), \
	  (uint32_t)sizeof(((type *)0)->member), 0, 0, NULL, #member }
#define SSM_FIELD(type, member) SSM_FIELD_T(type, member, SSM_FT_NONE)
#define SSM_FIELD_GCPHYS(type, member) SSM_FIELD_T(type, member, SSM_FT_GCPHYS)
#define SSM_FIELD_GCPTR(type, member) SSM_FIELD_T(type, member, SSM_FT_GCPTR)
#define SSM_FIELD_HCPTR_NI(type, member) SSM_FIELD_T(type, member, SSM_FT_HCPTR_NI)
#define SSM_FIELD_HCPTR(type, member) SSM_FIELD_T(type, member, SSM_FT_HCPTR)
#define SSM_FIELD_IGNORE(type, member) SSM_FIELD_T(type, member, SSM_FT_IGNORE)
#define SSM_FIELD_PAD_HC(type, member, cb32, cb64) \
	{ SSM_FT_PAD_HC, (uint32_t)offsetof(type, member), \
	  (uint32_t)sizeof(((type *)0)->member), (cb32), (cb64), NULL, #member }
#define SSM_FIELD_CALLBACK(type, member, cbfn) \
	{ SSM_FT_CALLBACK, (uint32_t)offsetof(type, member), \
	  (uint32_t)sizeof(((type *)0)->member), 0, 0, (cbfn), #member }
#define SSM_FIELD_TERM() { SSM_FT_INVALID, UINT32_MAX, UINT32_MAX, 0, 0, NULL, NULL }

/* put/get_struct flags. */
#define SSM_STRUCT_FULL        0x1u  /* fields must cover the struct exactly, in order */
#define SSM_STRUCT_NO_MARKERS  0x2u  /* no begin/end markers */
#define SSM_STRUCT_DONT_IGNORE 0x4u  /* store ignorable fields (as zeros) */
#define SSM_STRUCT_VALID_MASK  0x7u

/* Put/get the fields of strct (size bytes) described by the table fields
 * (ended by SSM_FIELD_TERM()).  user is passed to field callbacks.
 * get_struct: SSM_ERR_STRUCT_MARKER if the data was saved with another table. */
SSM_API int ssm_put_struct(ssm_handle *h, const void *strct, size_t size, uint32_t flags,
			   const ssm_field *fields, void *user);
SSM_API int ssm_get_struct(ssm_handle *h, void *strct, size_t size, uint32_t flags,
			   const ssm_field *fields, void *user);

#ifdef __cplusplus
}
#endif
#endif /* SSM_SSM_H */
