/* chain_id.c - parent records, file identities, sibling names (chain_id.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "vmm/chain_id.h"

#define FOOTER_SIZE 32u
#define TAIL_MAX ((64u << 20) + FOOTER_SIZE)   /* directory limit + footer */

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

int chain_file_id(int fd, uint8_t id[CHAIN_ID_LEN], char *msg, size_t msglen)
{
	uint8_t foot[FOOTER_SIZE];
	uint64_t size, dir;
	struct stat sb;
	void *tail;
	int rc;

	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size < (off_t)FOOTER_SIZE) {
		snprintf(msg, msglen, "not a state file (no footer)");
		return SSM_ERR_FORMAT;
	}
	size = (uint64_t)sb.st_size;
	if (read_at(fd, foot, sizeof(foot), size - FOOTER_SIZE)) {
		snprintf(msg, msglen, "reading its footer: %s", errno ? strerror(errno) : "short");
		return SSM_ERR_IO;
	}
	dir = le64(foot + 8);
	if (memcmp(foot, "\x89SSMEnd\n", 8) || dir > size - FOOTER_SIZE ||
	    size - dir > TAIL_MAX) {
		snprintf(msg, msglen, "not a state file (bad footer)");
		return SSM_ERR_FORMAT;
	}
	tail = malloc((size_t)(size - dir));
	if (!tail)
		return SSM_ERR_NOMEM;
	rc = read_at(fd, tail, (size_t)(size - dir), dir) ? SSM_ERR_IO : SSM_OK;
	if (rc)
		snprintf(msg, msglen, "reading its directory: %s", errno ? strerror(errno) : "short");
	else if (gnutls_hash_fast(GNUTLS_DIG_SHA256, tail, (size_t)(size - dir), id) < 0) {
		snprintf(msg, msglen, "SHA-256 failed");
		rc = SSM_ERR_CALLBACK;
	}
	free(tail);
	return rc;
}

bool chain_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > CHAIN_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || (unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

int chain_put_record(ssm_handle *h, const struct chain_parent_rec *p)
{
	int rc = ssm_put_mem(h, p->id, CHAIN_ID_LEN);

	return rc ? rc : ssm_put_str(h, p->name);
}

int chain_get_record(ssm_handle *h, uint32_t version, struct chain_parent_rec *p)
{
	int rc = ssm_check_unit_version(h, "parent", version, PARENT_VERSION, PARENT_VERSION);

	if (!rc) {
		ssm_handle_set_field(h, "id");
		rc = ssm_get_mem(h, p->id, CHAIN_ID_LEN);
	}
	if (!rc) {
		ssm_handle_set_field(h, "name");
		rc = ssm_get_str(h, p->name, sizeof(p->name), NULL);
	}
	ssm_handle_set_field(h, NULL);
	if (!rc && !chain_name_ok(p->name))
		rc = ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "parent: field name is not a plain "
					"file name (no '/', '.', '..' or control bytes)");
	return rc;
}

int chain_sibling(const char *child_path, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(child_path, '/');
	int n = slash ? snprintf(out, outlen, "%.*s/%s", (int)(slash - child_path), child_path,
				 name) : snprintf(out, outlen, "%s", name);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int chain_open_parent(const char *child_path, const struct chain_parent_rec *p, char *out,
		      size_t outlen, char *msg, size_t msglen)
{
	uint8_t id[CHAIN_ID_LEN];
	char why[200];
	int fd;

	if (!chain_name_ok(p->name) || chain_sibling(child_path, p->name, out, outlen)) {
		snprintf(msg, msglen, "%s: its parent's name is not a plain file name", child_path);
		return -1;
	}
	fd = open(out, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(msg, msglen, "%s (parent of %s): %s", out, child_path, strerror(errno));
		return -1;
	}
	if (chain_file_id(fd, id, why, sizeof(why))) {
		snprintf(msg, msglen, "%s (parent of %s): %s", out, child_path, why);
		close(fd);
		return -1;
	}
	if (memcmp(id, p->id, CHAIN_ID_LEN)) {
		snprintf(msg, msglen, "%s (parent of %s): not the file %s was saved from (changed, "
			 "or another file: its identity differs)", out, child_path, child_path);
		close(fd);
		return -1;
	}
	return fd;
}

int chain_read_parent(const char *path, struct chain_parent_rec *p, char *msg, size_t msglen)
{
	ssm_handle *h = NULL;
	ssm_stream st;
	uint32_t version;
	int rc;

	errno = 0;
	rc = ssm_stream_file_open(&st, path);
	if (rc) {
		snprintf(msg, msglen, "%s: %s", path, errno ? strerror(errno) : ssm_strerror(rc));
		return rc;
	}
	rc = ssm_open(st, &h);
	if (!rc) {
		rc = ssm_seek(h, "parent", 0, &version);
		if (rc == SSM_ERR_NO_SUCH_UNIT) {
			ssm_close(h);
			return 0;
		}
	}
	if (!rc)
		rc = chain_get_record(h, version, p);
	if (rc)
		snprintf(msg, msglen, "%s: %s", path, h && ssm_handle_error(h)[0] ?
			 ssm_handle_error(h) : ssm_strerror(rc));
	ssm_close(h);
	return rc ? rc : 1;
}

int chain_check(const char *path, unsigned *depth, char *msg, size_t msglen)
{
	char cur[4096], next[4096];
	struct chain_parent_rec p;

	snprintf(cur, sizeof(cur), "%s", path);
	for (*depth = 1;; (*depth)++) {
		int rc = chain_read_parent(cur, &p, msg, msglen), fd;

		if (rc <= 0)
			return rc;
		if (*depth >= CHAIN_DEPTH_MAX) {
			snprintf(msg, msglen, "%s: the chain is longer than %u files", cur,
				 CHAIN_DEPTH_MAX);
			return SSM_ERR_LOAD_VALUE;
		}
		fd = chain_open_parent(cur, &p, next, sizeof(next), msg, msglen);
		if (fd < 0)
			return SSM_ERR_LOAD_VALUE;
		close(fd);
		memcpy(cur, next, sizeof(cur));
	}
}
