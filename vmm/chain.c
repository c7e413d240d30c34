/* chain.c - incremental snapshot chains (chain.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/chain.h"
#include "vmm/machine.h"
#include "vmm/ram.h"

static int parent_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass);

static int parent_save(void *ctx, ssm_handle *h)
{
	struct machine *m = ctx;

	return chain_put_record(h, &m->chain.rec);
}

static const ssm_callbacks load_cb = { .load_exec = parent_load };
static const ssm_callbacks save_cb = { .save_exec = parent_save, .load_exec = parent_load };

/* Lay the RAM of the parent file (open on fd, path) into m: its own
 * parent first (through its "parent" unit), then its ram record. */
static int apply_parent(struct machine *m, const char *path, int fd, unsigned depth,
			char *msg, size_t msglen)
{
	ssm_load_opts o = { SSM_LOAD_OPTS_INIT, .after = SSM_AFTER_RESUME, .skip_unknown = true,
			    .map_extents = true, .map_fd = fd };
	struct chain_load cl = { m, path, depth };
	ssm *reg = ssm_create(m);
	ssm_stream st;
	int rc;

	if (!reg)
		return SSM_ERR_NOMEM;
	rc = ram_ssm_register(m, reg);
	if (!rc)
		rc = ssm_register_external(reg, "parent", 0, PARENT_VERSION, 0, NULL, 0, &load_cb,
					   &cl);
	if (!rc)
		rc = ssm_stream_file_fdopen(&st, fd);
	if (!rc) {
		rc = ssm_load(reg, st, &o);
		if (rc)
			snprintf(msg, msglen, "%.300s: %.350s", path, ssm_last_error(reg)[0] ?
				 ssm_last_error(reg) : ssm_strerror(rc));
		else if (!ssm_unit_final_loaded(reg, "ram", 0))
			rc = SSM_ERR_FORMAT, snprintf(msg, msglen, "%.300s: holds no RAM", path);
	}
	ssm_destroy(reg);
	return rc;
}

static void protect(struct chain *c, const char *path)
{
	char **f = realloc(c->files, (c->nfiles + 1) * sizeof(*f));

	if (!f)
		return;
	c->files = f;
	f[c->nfiles] = strdup(path);
	if (f[c->nfiles])
		c->nfiles++;
}

static int parent_load(void *ctx, ssm_handle *h, uint32_t version, uint32_t pass)
{
	struct chain_load *cl = ctx;
	struct chain_parent_rec p;
	char path[4096], msg[700];
	int rc, fd;

	(void)pass;
	rc = chain_get_record(h, version, &p);
	if (rc)
		return rc;
	if (!cl->path)
		return ssm_set_load_error(h, SSM_ERR_NOT_SUPPORTED, "parent: an incremental "
					  "state file restores only from a file");
	if (cl->depth + 1 >= CHAIN_DEPTH_MAX)
		return ssm_set_load_error(h, SSM_ERR_LOAD_VALUE, "parent: %s: the chain is longer "
					  "than %u files", cl->path, CHAIN_DEPTH_MAX);
	fd = chain_open_parent(cl->path, &p, path, sizeof(path), msg, sizeof(msg));
	rc = fd < 0 ? SSM_ERR_LOAD_VALUE : apply_parent(cl->m, path, fd, cl->depth + 1, msg,
							sizeof(msg));
	if (fd >= 0)
		close(fd);
	if (rc) {
		/* The deepest refusal is the one to tell; outer files only
		 * pass it on. */
		if (!cl->m->chain.err[0])
			snprintf(cl->m->chain.err, sizeof(cl->m->chain.err), "%s", msg);
		return ssm_set_load_error(h, rc, "%s", msg);
	}
	protect(&cl->m->chain, path);
	return SSM_OK;
}

int chain_register(struct machine *m, ssm *reg)
{
	m->chain.load.m = m;
	return ssm_register_external(reg, "parent", 0, PARENT_VERSION, 0, NULL, 0, &load_cb,
				     &m->chain.load);
}

void chain_configure(struct machine *m, bool on, bool force)
{
	m->chain.on = on;
	m->chain.force = force;
}

bool chain_enabled(const struct machine *m)
{
	return m->chain.on;
}

const char *chain_next_path(struct machine *m, const char *base)
{
	struct chain *c = &m->chain;

	if (!c->saves)
		snprintf(c->next, sizeof(c->next), "%s", base);
	else
		snprintf(c->next, sizeof(c->next), "%s.%u", base, c->saves);
	return c->next;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static bool same_dir(const char *a, const char *b)
{
	char da[4096], db[4096], ra[PATH_MAX], rb[PATH_MAX];

	snprintf(da, sizeof(da), "%s", a);
	snprintf(db, sizeof(db), "%s", b);
	return realpath(dirname(da), ra) && realpath(dirname(db), rb) && !strcmp(ra, rb);
}

static int swap_unit(struct machine *m, const ssm_callbacks *cb, const char *before)
{
	(void)ssm_deregister_external(m->ssm, "parent", 0);
	return ssm_register_external(m->ssm, "parent", 0, PARENT_VERSION, 64, before, 0, cb,
				     before ? (void *)m : (void *)&m->chain.load);
}

int chain_save_begin(struct machine *m, const char *path, bool incr, char *msg, size_t msglen)
{
	struct chain *c = &m->chain;
	char why[200], tmp[4096];
	int fd, rc;

	c->child = false;
	/* The writer's child becomes the chain's newest file only when it
	 * is durable: no link can start before. */
	if (incr && bgsave_running(m)) {
		snprintf(msg, msglen, "a snapshot to %s is still being written", m->bg.path);
		return SSM_ERR_BAD_STATE;
	}
	for (unsigned i = 0; !c->force && i < c->nfiles; i++)
		if (same_file(path, c->files[i])) {
			snprintf(msg, msglen, "%s is part of a snapshot chain (a later file names "
				 "it as parent); --force overwrites it", path);
			return SSM_ERR_BAD_STATE;
		}
	if (!incr || !c->last[0] || !ram_incr_active(m) || c->len >= CHAIN_DEPTH_MAX)
		return SSM_OK;
	if (!same_dir(path, c->last)) {
		snprintf(msg, msglen, "%s: an incremental snapshot goes in the directory of its "
			 "parent %s", path, c->last);
		return SSM_ERR_INVALID_ARG;
	}
	fd = open(c->last, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(msg, msglen, "parent %s: %s", c->last, strerror(errno));
		return SSM_ERR_IO;
	}
	rc = chain_file_id(fd, c->rec.id, why, sizeof(why));
	close(fd);
	if (rc) {
		snprintf(msg, msglen, "parent %s: %s", c->last, why);
		return rc;
	}
	snprintf(tmp, sizeof(tmp), "%s", c->last);
	snprintf(c->rec.name, sizeof(c->rec.name), "%s", basename(tmp));
	/* Before the first device, so before RAM: a kernel-irqchip VM has no
	 * pic unit (units_select_irqchip), and an unknown `before` would
	 * append it after RAM, whose pages the parent's would then cover. */
	rc = swap_unit(m, &save_cb, m->cfg.irqchip == IRQCHIP_KERNEL ? "serial" : "pic");
	if (rc) {
		(void)swap_unit(m, &load_cb, NULL);
		snprintf(msg, msglen, "cannot register the parent unit: %s", ssm_strerror(rc));
		return rc;
	}
	c->child = true;
	ram_set_incr_child(m, true);
	return SSM_OK;
}

bool chain_save_is_child(const struct machine *m)
{
	return m->chain.child;
}

bool chain_save_detach(struct machine *m)
{
	struct chain *c = &m->chain;
	bool child = c->child;

	if (child) {
		ram_set_incr_child(m, false);
		(void)swap_unit(m, &load_cb, NULL);
		c->child = false;
	}
	return child;
}

void chain_save_end(struct machine *m, const char *path, bool incr, int rc, char *info,
		    size_t infolen)
{
	bool child = chain_save_detach(m);

	chain_save_commit(m, path, incr, child, false, rc, info, infolen);
}

void chain_save_commit(struct machine *m, const char *path, bool incr, bool child,
		       bool log_started, int rc, char *info, size_t infolen)
{
	struct chain *c = &m->chain;

	info[0] = 0;
	if (rc || !incr)
		return;
	c->saves++;
	/* The parent now has a child; the new file becomes the next parent. */
	if (child)
		protect(c, c->last);
	snprintf(c->last, sizeof(c->last), "%s", path);
	if (child) {
		c->len++;
		snprintf(info, infolen, " (incremental: %llu dirty pages, parent %s, chain of %u)",
			 (unsigned long long)ram_incr_pages(m), c->rec.name, c->len);
	} else if (!log_started && ram_incr_begin(m)) {
		c->len = 0;
		c->last[0] = 0;
		snprintf(info, infolen, " (full; dirty logging failed to start: the next "
			 "incremental save is full)");
	} else {
		c->len = 1;
		snprintf(info, infolen, " (full: base of an incremental chain)");
	}
}

void chain_restore_begin(struct machine *m, const char *path)
{
	m->chain.load.m = m;
	m->chain.load.path = path;
	m->chain.load.depth = 0;
	m->chain.err[0] = 0;
}

const char *chain_restore_error(const struct machine *m)
{
	return m->chain.err;
}

void chain_restore_end(struct machine *m, int rc)
{
	(void)rc;
	m->chain.load.path = NULL;
}

void chain_free(struct machine *m)
{
	for (unsigned i = 0; i < m->chain.nfiles; i++)
		free(m->chain.files[i]);
	free(m->chain.files);
	m->chain.files = NULL;
	m->chain.nfiles = 0;
}
