/* registry.c - the unit registry: create, register, deregister, order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/internal.h"

ssm *ssm_create(void *vm)
{
	ssm *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->vm = vm;
	atomic_init(&s->busy, 0);
	atomic_init(&s->cancel_armed, false);
	return s;
}

void ssm_destroy(ssm *s)
{
	if (!s)
		return;
	while (s->units) {
		struct ssm_unit *u = s->units;

		s->units = u->next;
		free(u);
	}
	free(s);
}

static struct ssm_unit *find_unit(ssm *s, const char *name, uint32_t instance)
{
	for (struct ssm_unit *u = s->units; u; u = u->next)
		if (u->instance == instance && !strcmp(u->name, name))
			return u;
	return NULL;
}

/* Units are kept in save order: appended, or inserted right before the
 * first unit named `before` when that one is already registered. */
static int reg(ssm *s, ssm_flavour fl, void *ctx, const char *name, uint32_t instance,
	       uint32_t version, size_t size_guess, const char *before, uint32_t flags,
	       const ssm_callbacks *cb)
{
	struct ssm_unit *u, **pp;
	size_t len;

	if (!s || !name)
		return SSM_ERR_INVALID_ARG;
	/* The unit list is walked by a running operation. */
	if (atomic_load(&s->busy))
		return SSM_ERR_BAD_STATE;
	len = strlen(name);
	if (len == 0 || len > SSM_NAME_MAX || (flags & ~SSM_UNIT_OPTIONAL)) {
		snprintf(s->last_error, sizeof(s->last_error),
			 "cannot register unit '%.80s': %s", name,
			 len == 0 ? "empty name" : len > SSM_NAME_MAX ?
			 "name longer than 63 bytes" : "unknown flags");
		return SSM_ERR_INVALID_ARG;
	}
	if (find_unit(s, name, instance)) {
		snprintf(s->last_error, sizeof(s->last_error),
			 "cannot register unit '%s' instance %u: already registered",
			 name, instance);
		return SSM_ERR_DUPLICATE_UNIT;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return SSM_ERR_NOMEM;
	memcpy(u->name, name, len + 1);
	u->instance = instance;
	u->version = version;
	u->size_guess = size_guess;
	u->flags = flags;
	u->flavour = fl;
	u->ctx = ctx;
	if (cb)
		u->cb = *cb;

	/* Stops at the unit named `before`, or at the tail when there is none. */
	pp = &s->units;
	while (*pp && !(before && !strcmp((*pp)->name, before)))
		pp = &(*pp)->next;
	u->next = *pp;
	*pp = u;
	return SSM_OK;
}

int ssm_register_device(ssm *s, void *dev, const char *name, uint32_t instance,
			uint32_t version, size_t size_guess, const char *before,
			uint32_t flags, const ssm_callbacks *cb)
{
	if (!dev)
		return SSM_ERR_INVALID_ARG;
	return reg(s, SSM_FLAVOUR_DEVICE, dev, name, instance, version, size_guess,
		   before, flags, cb);
}

int ssm_register_driver(ssm *s, void *drv, const char *name, uint32_t instance,
			uint32_t version, size_t size_guess, const char *before,
			uint32_t flags, const ssm_callbacks *cb)
{
	if (!drv)
		return SSM_ERR_INVALID_ARG;
	return reg(s, SSM_FLAVOUR_DRIVER, drv, name, instance, version, size_guess,
		   before, flags, cb);
}

int ssm_register_internal(ssm *s, const char *name, uint32_t instance,
			  uint32_t version, size_t size_guess, const char *before,
			  uint32_t flags, const ssm_callbacks *cb)
{
	if (!s)
		return SSM_ERR_INVALID_ARG;
	return reg(s, SSM_FLAVOUR_INTERNAL, s->vm, name, instance, version,
		   size_guess, before, flags, cb);
}

int ssm_register_external(ssm *s, const char *name, uint32_t instance,
			  uint32_t version, size_t size_guess, const char *before,
			  uint32_t flags, const ssm_callbacks *cb, void *user)
{
	return reg(s, SSM_FLAVOUR_EXTERNAL, user, name, instance, version,
		   size_guess, before, flags, cb);
}

/* Remove units of flavour fl matching ctx (when match_ctx), name (unless
 * NULL) and instance. */
static int dereg(ssm *s, ssm_flavour fl, bool match_ctx, void *ctx,
		 const char *name, uint32_t instance)
{
	int n = 0;

	if (!s)
		return SSM_ERR_INVALID_ARG;
	if (atomic_load(&s->busy))
		return SSM_ERR_BAD_STATE;
	for (struct ssm_unit **pp = &s->units; *pp;) {
		struct ssm_unit *u = *pp;
		bool hit = u->flavour == fl && (!match_ctx || u->ctx == ctx) &&
			   (!name || (!strcmp(u->name, name) && u->instance == instance));

		if (hit) {
			*pp = u->next;
			free(u);
			n++;
		} else {
			pp = &u->next;
		}
	}
	return n ? SSM_OK : SSM_ERR_NO_SUCH_UNIT;
}

int ssm_deregister_device(ssm *s, void *dev, const char *name, uint32_t instance)
{
	return dereg(s, SSM_FLAVOUR_DEVICE, true, dev, name, instance);
}

int ssm_deregister_driver(ssm *s, void *drv, const char *name, uint32_t instance)
{
	return dereg(s, SSM_FLAVOUR_DRIVER, true, drv, name, instance);
}

int ssm_deregister_internal(ssm *s, const char *name, uint32_t instance)
{
	return name ? dereg(s, SSM_FLAVOUR_INTERNAL, false, NULL, name, instance)
		    : SSM_ERR_INVALID_ARG;
}

int ssm_deregister_external(ssm *s, const char *name, uint32_t instance)
{
	return name ? dereg(s, SSM_FLAVOUR_EXTERNAL, false, NULL, name, instance)
		    : SSM_ERR_INVALID_ARG;
}

void ssm_set_trace(ssm *s, ssm_trace_fn fn, void *user)
{
	s->trace = fn;
	s->trace_user = user;
}

const char *ssm_last_error(const ssm *s)
{
	return s ? s->last_error : "";
}

int ssm_cancel(ssm *s)
{
	int running = 1;

	if (!s)
		return SSM_ERR_INVALID_ARG;
	/* Only the operation running now: 1 -> 2, never 0 -> 2. */
	if (atomic_compare_exchange_strong(&s->busy, &running, 2) || running == 2)
		return SSM_OK;
	return SSM_ERR_BAD_STATE;
}

void ssm_cancel_arm(ssm *s, bool armed)
{
	if (!s)
		return;
	atomic_store(&s->cancel_armed, armed);
	if (armed)
		ssm_cancel(s);
}

bool ssm_unit_final_loaded(ssm *s, const char *name, uint32_t instance)
{
	const struct ssm_unit *u = s && name ? find_unit(s, name, instance) : NULL;

	return u && u->loaded_final;
}
