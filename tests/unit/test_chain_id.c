/* test_chain_id.c - what names a parent in an incremental chain: a file's
 * identity follows its content (equal for a copy, different after any
 * change the footer's CRC sees, refused for a non-state file), parent
 * names are plain file names only, and they resolve beside the child. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssm/ssm.h"
#include "vmm/chain_id.h"

static uint32_t value;

static int save_v(void *ctx, ssm_handle *h)
{
	(void)ctx;
	return ssm_put_u32(h, value);
}

/* A state file of one unit holding v, at path. */
static void write_file(const char *path, uint32_t v)
{
	static const ssm_callbacks cb = { .save_exec = save_v };
	ssm *s = ssm_create(NULL);
	ssm_stream st;

	cr_assert(s);
	value = v;
	cr_assert_eq(ssm_register_external(s, "u", 0, 1, 0, NULL, 0, &cb, NULL), SSM_OK);
	cr_assert_eq(ssm_stream_file_create(&st, path), SSM_OK);
	cr_assert_eq(ssm_save(s, st, NULL), SSM_OK);
	ssm_destroy(s);
}

static void id_of(const char *path, uint8_t id[CHAIN_ID_LEN], int want)
{
	char msg[200];
	int fd = open(path, O_RDONLY);

	cr_assert(fd >= 0);
	cr_assert_eq(chain_file_id(fd, id, msg, sizeof(msg)), want, "%s: %s", path, msg);
	close(fd);
}

Test(chain_id, identity_follows_content)
{
	char dir[] = "/tmp/chain-id-XXXXXX", a[64], b[64], c[64], cmd[256];
	uint8_t ia[CHAIN_ID_LEN], ib[CHAIN_ID_LEN], ic[CHAIN_ID_LEN];

	cr_assert(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(c, sizeof(c), "%s/c", dir);
	write_file(a, 1);
	write_file(c, 2);
	snprintf(cmd, sizeof(cmd), "cp %s %s", a, b);
	cr_assert_eq(system(cmd), 0);
	id_of(a, ia, SSM_OK);
	id_of(b, ib, SSM_OK);
	id_of(c, ic, SSM_OK);
	cr_assert(!memcmp(ia, ib, CHAIN_ID_LEN), "a copy has the same identity");
	cr_assert(memcmp(ia, ic, CHAIN_ID_LEN), "other content, other identity");
	/* Not a state file at all. */
	snprintf(cmd, sizeof(cmd), "echo hello > %s", b);
	cr_assert_eq(system(cmd), 0);
	id_of(b, ib, SSM_ERR_FORMAT);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(chain_id, names_are_plain_file_names)
{
	char big[300];

	cr_assert(chain_name_ok("snap.3"));
	cr_assert(!chain_name_ok(""));
	cr_assert(!chain_name_ok("."));
	cr_assert(!chain_name_ok(".."));
	cr_assert(!chain_name_ok("../etc/passwd"));
	cr_assert(!chain_name_ok("/etc/passwd"));
	cr_assert(!chain_name_ok("a/b"));
	cr_assert(!chain_name_ok("a\nb"));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	cr_assert(!chain_name_ok(big));
	big[CHAIN_NAME_MAX] = 0;
	cr_assert(chain_name_ok(big));
}

Test(chain_id, parent_resolves_beside_the_child)
{
	char out[64];

	cr_assert_eq(chain_sibling("/var/snap/c.4", "c.3", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/var/snap/c.3");
	cr_assert_eq(chain_sibling("c.4", "c.3", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "c.3");
	cr_assert_eq(chain_sibling("/a/c.4", "c.3", out, 6), -1);
}
