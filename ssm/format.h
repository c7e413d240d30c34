/* format.h - on-disk constants of the SSM stream (private).
 *
 * docs/format.md is the normative description; this header mirrors it.
 * All integers are little-endian.  Sizes in bytes.
 *
 *   +------------------+  offset 0
 *   | file header (64) |
 *   +------------------+
 *   | unit header      |  \
 *   | record ...       |   | one per unit and live pass
 *   | END record       |  /
 *   +------------------+
 *   | terminator       |  unit header with name_len 0
 *   | directory        |  one entry per unit record written
 *   | footer (32)      |  at end of file
 *   +------------------+
 */
#ifndef SSM_FORMAT_H
#define SSM_FORMAT_H

#include <stdint.h>
#include <string.h>

#define SSMF_MAJOR 1
#define SSMF_MINOR 1                  /* 1.1 added the EXTENT record */

/* File header: magic[8] major:u16 minor:u16 host_bits:u8 endian:u8
 * reserved:u16 page_size:u32 flags:u32 build_id[32] reserved:u32 crc:u32 */
#define SSMF_FILE_MAGIC "\x89SSM\r\n\x1a\n"
#define SSMF_FILE_HDR_SIZE 64
#define SSMF_BUILD_ID_SIZE 32

/* Unit header: magic[8] hdr_len:u32 flags:u32 instance:u32 version:u32
 * pass:u32 name_len:u32 data_len:u64 name[name_len] crc:u32 */
#define SSMF_UNIT_MAGIC "\x89SSMUnit"
#define SSMF_UNIT_FIXED 40            /* bytes before the name */
#define SSMF_UNIT_DATA_LEN_OFF 32
#define SSMF_DATA_LEN_UNKNOWN UINT64_MAX

/* Record header: type:u8 flags:u8 reserved:u16 stored_len:u32
 * decoded_len:u32 crc:u32, then stored_len payload bytes.  crc covers
 * header bytes 0..11 followed by the payload. */
#define SSMF_REC_HDR 16
#define SSMF_REC_RAW 1
#define SSMF_REC_ZERO 2
#define SSMF_REC_ZLIB 3
#define SSMF_REC_ZSTD 4
#define SSMF_REC_EXTENT 5             /* format 1.1 */
#define SSMF_REC_END 0x7f
#define SSMF_REC_MAX (1u << 20)       /* max decoded bytes of RAW/ZLIB */
/* Max stored bytes of a ZLIB record: zlib's compressBound(SSMF_REC_MAX),
 * written out so that the limit does not move with the zlib version. */
#define SSMF_ZLIB_STORED_MAX 1048909u
/* Max stored bytes of a ZSTD record: ZSTD_COMPRESSBOUND(SSMF_REC_MAX), fixed
 * likewise.  Its one frame may use a window of at most 2^20 bytes. */
#define SSMF_ZSTD_STORED_MAX 1052672u
#define SSMF_ZSTD_WINDOW_LOG_MAX 20
/* The larger of the two: the size of a compressed-payload buffer. */
#define SSMF_COMP_STORED_MAX SSMF_ZSTD_STORED_MAX
/* EXTENT record payload: data_off:u64 len:u64 chunk_size:u32 nchunks:u32
 * reserved:u32 crc[nchunks]:u32.  The len data bytes sit at data_off, the
 * first page boundary after the record; they and the pad before them are
 * covered by the chunk CRCs only (not by unit_crc or file_crc). */
#define SSMF_EXT_FIXED 28
#define SSMF_EXT_PAGE 4096u
#define SSMF_EXT_CHUNK (1u << 20)     /* = SSMF_REC_MAX: a chunk fits rbuf */
#define SSMF_EXT_MAX_LEN (128ull << 30)
#define SSMF_EXT_MAX_CHUNKS ((uint32_t)(SSMF_EXT_MAX_LEN / SSMF_EXT_CHUNK))
#define SSMF_END_PAYLOAD 16           /* data_len:u64 unit_crc:u32 records:u32 */

/* Directory: magic[8] count:u32 reserved:u32, count entries of
 * offset:u64 data_len:u64 instance:u32 version:u32 pass:u32 flags:u32
 * name_len:u32 name[name_len], then crc:u32 over all of it. */
#define SSMF_DIR_MAGIC "\x89SSMDir\n"
#define SSMF_DIR_HDR 16
#define SSMF_DIR_ENTRY_FIXED 36
#define SSMF_DIR_MAX (64u << 20)      /* max directory bytes, magic to crc */

/* Footer (last 32 bytes): magic[8] dir_offset:u64 dir_count:u32
 * reserved:u32 file_crc:u32 (every byte before the footer) crc:u32 (footer
 * bytes 0..27). */
#define SSMF_FOOTER_MAGIC "\x89SSMEnd\n"
#define SSMF_FOOTER_SIZE 32

#define SSMF_UNIT_F_OPTIONAL 0x1u

static inline void le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t le16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t le64_get(const uint8_t *p)
{
	return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

#endif /* SSM_FORMAT_H */
