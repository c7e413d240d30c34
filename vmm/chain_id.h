/* chain_id.h - what names a parent in a chain of incremental state files:
 * the "parent" unit's record, a file's identity hash, and the resolution of
 * a parent's name to a sibling file.  Free of KVM (unit-tested).
 *
 * A file's identity is SHA-256 over its directory and footer (offset
 * dir_offset to the end): the footer's whole-file CRC covers every byte
 * outside RAM extents and the extents' chunk CRCs, so any change to the
 * file, or another file, gives another identity, and computing it reads
 * a few hundred bytes whatever the RAM size (docs/architecture.md).
 */
#ifndef VMM_CHAIN_ID_H
#define VMM_CHAIN_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssm/ssm.h"

#define CHAIN_ID_LEN 32            /* SHA-256 */
#define CHAIN_NAME_MAX 255         /* a parent's name: one file name */
#define CHAIN_DEPTH_MAX 64         /* files in a chain, base included */
#define PARENT_VERSION 1

struct chain_parent_rec {
	uint8_t id[CHAIN_ID_LEN];
	char name[CHAIN_NAME_MAX + 1];
};

/* The identity of the state file open on fd.  SSM_OK, or an ssm_err with
 * one line in msg (not a state file, unreadable). */
int chain_file_id(int fd, uint8_t id[CHAIN_ID_LEN], char *msg, size_t msglen);
/* A parent's name is a plain file name: 1..255 bytes, no '/', not "." or
 * "..", no control bytes.  Nothing in a file may name another host path. */
bool chain_name_ok(const char *name);
/* Write/read the parent record (unit "parent", PARENT_VERSION) at h. */
int chain_put_record(ssm_handle *h, const struct chain_parent_rec *p);
int chain_get_record(ssm_handle *h, uint32_t version, struct chain_parent_rec *p);
/* The parent path: name in the directory of child_path.  -1 if it does not
 * fit in outlen. */
int chain_sibling(const char *child_path, const char *name, char *out, size_t outlen);
/* Open the parent p of the file child_path read-only and check its identity.
 * Returns the fd, or -1 with one line in msg naming the parent file. */
int chain_open_parent(const char *child_path, const struct chain_parent_rec *p, char *out,
		      size_t outlen, char *msg, size_t msglen);
/* Read the parent record of the state file at path: 1 with *p filled, 0
 * when it has none (a base), or a negative ssm_err with msg set. */
int chain_read_parent(const char *path, struct chain_parent_rec *p, char *msg, size_t msglen);
/* Walk the chain down from path: every parent present, a plain name, with
 * the identity its child records, at most CHAIN_DEPTH_MAX files.  *depth
 * gets the number of files (1: path is a base).  SSM_OK or an error with
 * one line in msg naming the file. */
int chain_check(const char *path, unsigned *depth, char *msg, size_t msglen);

#endif
