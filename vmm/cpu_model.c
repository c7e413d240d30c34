/* cpu_model.c - the --cpu specification over KVM's supported CPUID
 * (cpu_model.h).  Models are lists of feature names; a model clears every
 * bit of the feature registers it does not list, so it never offers more
 * than the host's KVM does. */
#include "vmm/cpu_model.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cpu_check.h"
#include "vmm/cpuid_names.h"

#define WORD_MAX 64

/* Features of QEMU's models of the same names (target/i386/cpu.c), with
 * what QEMU adds under KVM (x2apic, hypervisor).  The vendor, leaf counts
 * and everything outside the feature registers stay the host's. */
#define QEMU64_EDX "fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 " \
		   "clflush mmx fxsr sse sse2 "
static const struct model {
	const char *name;
	const char *features;   /* NULL: the supported table unchanged */
} models[] = {
	{ "host", NULL },
	{ "max", NULL },
	{ "qemu64", QEMU64_EDX "sse3 cx16 x2apic hypervisor syscall nx lm lahf_lm abm sse4a" },
	{ "Opteron_G1", QEMU64_EDX "sse3 x2apic hypervisor syscall nx lm" },
	{ "IvyBridge", QEMU64_EDX "vme sse3 pclmulqdq ssse3 cx16 pcid sse4_1 sse4_2 x2apic "
	  "popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor arat fsgsbase "
	  "smep erms syscall nx rdtscp lm lahf_lm xsaveopt" },
	{ "Skylake-Server", QEMU64_EDX "vme sse3 pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 "
	  "x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor arat "
	  "fsgsbase bmi1 hle avx2 smep bmi2 erms invpcid rtm mpx avx512f avx512dq rdseed adx "
	  "smap clflushopt clwb avx512cd avx512bw avx512vl pku syscall nx pdpe1gb rdtscp lm "
	  "lahf_lm abm 3dnowprefetch xsaveopt xsavec xgetbv1" },
	{ NULL, NULL },
};

/* QEMU's names where they differ from /proc/cpuinfo's. */
static const char *const aliases[][2] = {
	{ "tsc_deadline", "tsc_deadline_timer" }, { "pclmuldq", "pclmulqdq" },
	{ "i64", "lm" }, { "xd", "nx" }, { "invtsc", "constant_tsc(invariant)" },
	{ "ssbd", "spec_ctrl_ssbd" }, { "ibpb", "amd_ibpb" }, { "stibp", "intel_stibp" },
	{ NULL, NULL },
};

/* Leaf 1 EDX bits that AMD repeats in 0x80000001 EDX (APM vol. 3 E.4.2). */
#define AMD_ALIASES 0x0183f3ffu

struct feat {
	const struct cpuid_feature_reg *reg;
	unsigned bit;
};

/* The registers a model masks: the XSAVE component and KVM leaves are
 * layout and paravirtual interfaces, left as the host has them. */
static bool model_masks(const struct cpuid_feature_reg *f)
{
	return f->function != 0xd && f->function != 0x40000001;
}

static void normalize(const char *in, size_t n, char out[WORD_MAX])
{
	size_t i;

	for (i = 0; i < n && i < WORD_MAX - 1; i++)
		out[i] = in[i] == '-' || in[i] == '.' ? '_' : in[i];
	out[i] = 0;
}

/* Find a feature by name (n bytes of s); false if unknown. */
static bool find_feature(const char *s, size_t n, struct feat *out)
{
	char w[WORD_MAX];

	if (n >= WORD_MAX)
		return false;
	normalize(s, n, w);
	for (unsigned i = 0; aliases[i][0]; i++)
		if (!strcmp(w, aliases[i][0])) {
			snprintf(w, sizeof(w), "%s", aliases[i][1]);
			break;
		}
	for (const struct cpuid_feature_reg *f = cpuid_feature_regs; f->names; f++)
		for (unsigned b = 0; b < 32; b++)
			if (f->names[b] && !strcmp(f->names[b], w)) {
				out->reg = f;
				out->bit = b;
				return true;
			}
	return false;
}

static uint32_t *reg_ptr(struct kvm_cpuid_entry2 *e, enum cpuid_reg r)
{
	switch (r) {
	case CPUID_EAX: return &e->eax;
	case CPUID_EBX: return &e->ebx;
	case CPUID_ECX: return &e->ecx;
	default: return &e->edx;
	}
}

static struct kvm_cpuid_entry2 *find_entry(struct kvm_cpuid_entry2 *t, uint32_t n,
					   uint32_t fn, uint32_t idx)
{
	return (struct kvm_cpuid_entry2 *)cpu_cpuid_find(t, n, fn, idx);
}

/* The word of a spec being worked on, and where the results go. */
struct ctx {
	const struct kvm_cpuid_entry2 *sup;     /* NULL: syntax check only */
	uint32_t n;
	struct kvm_cpuid_entry2 *t;
	bool enforce;
	char *warn;
	size_t wlen;
	char *why;
	size_t len;
};

static int refuse(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->len, fmt, ap);
	va_end(ap);
	return -1;
}

/* Set or clear one feature bit (and its AMD alias); a bit the host lacks
 * is not set: warned about, or refused with enforce. */
static int set_feature(struct ctx *c, const struct feat *f, bool on, const char *word)
{
	const struct cpuid_feature_reg *r = f->reg;
	struct kvm_cpuid_entry2 *e = find_entry(c->t, c->n, r->function, r->index);
	const struct kvm_cpuid_entry2 *h = cpu_cpuid_find(c->sup, c->n, r->function, r->index);
	uint32_t m = 1u << f->bit;

	if (on && (!h || !(*reg_ptr((struct kvm_cpuid_entry2 *)h, r->reg) & m))) {
		char msg[160];

		snprintf(msg, sizeof(msg), "this host's KVM cannot offer %s (CPUID.0x%x.%u:%s bit "
			 "%u)", r->names[f->bit], r->function, r->index, cpuid_reg_name(r->reg),
			 f->bit);
		if (c->enforce) {
			snprintf(c->why, c->len, "feature %s: %s", word, msg);
			return -1;
		}
		if (!*c->warn)
			snprintf(c->warn, c->wlen, "%s; the guest does not get it", msg);
		return 0;
	}
	if (!e)
		return 0;       /* clearing a leaf the host has not: nothing to do */
	if (on)
		*reg_ptr(e, r->reg) |= m;
	else
		*reg_ptr(e, r->reg) &= ~m;
	if (r->function == 1 && r->reg == CPUID_EDX && (m & AMD_ALIASES)) {
		struct kvm_cpuid_entry2 *x = find_entry(c->t, c->n, 0x80000001, 0);
		const struct kvm_cpuid_entry2 *hx = cpu_cpuid_find(c->sup, c->n, 0x80000001, 0);

		if (x && hx && (hx->edx & m))
			x->edx = on ? x->edx | m : x->edx & ~m;
	}
	return 0;
}

/* Keep only the model's features in every register a model masks. */
static int apply_model(struct ctx *c, const struct model *md)
{
	const char *p = md->features;
	struct feat f;

	for (const struct cpuid_feature_reg *r = cpuid_feature_regs; r->names; r++) {
		struct kvm_cpuid_entry2 *e = find_entry(c->t, c->n, r->function, r->index);

		if (e && model_masks(r))
			*reg_ptr(e, r->reg) &= r->dynamic;
	}
	while (*p) {
		size_t k = strcspn(p, " ");
		const struct kvm_cpuid_entry2 *h;

		if (!find_feature(p, k, &f))
			return refuse(c, "internal error: model %s names an unknown feature %s",
				      md->name, p);
		h = cpu_cpuid_find(c->sup, c->n, f.reg->function, f.reg->index);
		/* Only what the host has: a model never adds (no warning either:
		 * the host's KVM decides what a named model can be here). */
		if (h && (*reg_ptr((struct kvm_cpuid_entry2 *)h, f.reg->reg) >> f.bit & 1) &&
		    set_feature(c, &f, true, p))
			return -1;
		p += k;
		p += *p == ' ';
	}
	return 0;
}

/* on|off (and QEMU's other spellings) -> 1|0, else -1. */
static int onoff(const char *v)
{
	static const char *const yes[] = { "on", "yes", "true", NULL };
	static const char *const no[] = { "off", "no", "false", NULL };

	for (unsigned i = 0; yes[i]; i++) {
		if (!strcmp(v, yes[i]))
			return 1;
		if (!strcmp(v, no[i]))
			return 0;
	}
	return -1;
}

static int opt_phys_bits(struct ctx *c, const char *v)
{
	struct kvm_cpuid_entry2 *e;
	unsigned long bits;
	char *end;

	errno = 0;
	bits = strtoul(v, &end, 10);
	if (errno || end == v || *end || bits < 32 || bits > 52)
		return refuse(c, "phys-bits=%s: expected a number from 32 to 52", v);
	if (!c->sup)
		return 0;
	e = find_entry(c->t, c->n, 0x80000008, 0);
	if (!e || bits > (e->eax & 0xff))
		return refuse(c, "phys-bits=%s: this host has %u physical address bits", v,
			      e ? e->eax & 0xff : 36);
	e->eax = (e->eax & ~0xffu) | (uint32_t)bits;
	return 0;
}

static int opt_vendor(struct ctx *c, const char *v)
{
	struct kvm_cpuid_entry2 *e;
	uint32_t r[3] = { 0, 0, 0 };

	if (strlen(v) != 12)
		return refuse(c, "vendor=%s: expected 12 characters, such as GenuineIntel", v);
	for (int i = 0; i < 12; i++) {
		if (v[i] < 0x20 || v[i] > 0x7e)
			return refuse(c, "vendor=%s: only printable ASCII", v);
		r[i / 4] |= (uint32_t)(uint8_t)v[i] << (8 * (i % 4));
	}
	if (!c->sup || !(e = find_entry(c->t, c->n, 0, 0)))
		return 0;
	e->ebx = r[0];
	e->edx = r[1];
	e->ecx = r[2];
	return 0;
}

/* One word after the model. */
/* QEMU's Hyper-V enlightenments (hv_*) and VMX controls (vmx-*, which are
 * MSRs, not CPUID): vmm offers neither.  Asking for one is what a +FEAT the
 * host lacks is: warned about, or refused with enforce; turning one off
 * changes nothing.  1 if name is one of them (handled), 0 if not, -1 if
 * refused. */
static int not_offered(struct ctx *c, const char *name, size_t n, bool on)
{
	char w[WORD_MAX];

	normalize(name, n < WORD_MAX ? n : WORD_MAX - 1, w);
	if (strncmp(w, "hv_", 3) && strncmp(w, "vmx_", 4))
		return 0;
	if (!on || !c->sup)
		return 1;
	if (c->enforce)
		return refuse(c, "feature %s: vmm offers no %s", w, *w == 'h' ?
			      "Hyper-V enlightenments" : "VMX controls");
	if (!*c->warn)
		snprintf(c->warn, c->wlen, "vmm offers no %s (%s); the guest does not get them",
			 *w == 'h' ? "Hyper-V enlightenments" : "VMX controls", w);
	return 1;
}

static int word(struct ctx *c, const char *w)
{
	char key[WORD_MAX];
	const char *eq = strchr(w, '=');
	size_t k = eq ? (size_t)(eq - w) : strlen(w);
	const char *v = eq ? eq + 1 : NULL;
	struct feat f;
	int on, rc;

	if (!*w)
		return refuse(c, "an empty word");
	if ((*w == '+' || *w == '-') && !eq) {
		if ((rc = not_offered(c, w + 1, strlen(w + 1), *w == '+')) != 0)
			return rc < 0 ? -1 : 0;
		if (!find_feature(w + 1, strlen(w + 1), &f))
			return refuse(c, "unknown CPU feature %s", w + 1);
		return c->sup ? set_feature(c, &f, *w == '+', w + 1) : 0;
	}
	if (k >= WORD_MAX)
		return refuse(c, "unknown CPU feature or option %s", w);
	normalize(w, k, key);
	if (!strcmp(key, "vendor") && v)
		return opt_vendor(c, v);
	if (!strcmp(key, "phys_bits") && v)
		return opt_phys_bits(c, v);
	on = v ? onoff(v) : 1;
	if (on < 0)
		return refuse(c, "%s: expected on or off after '='", w);
	if (!strcmp(key, "host_phys_bits") || !strcmp(key, "migratable") ||
	    !strcmp(key, "check"))
		return 0;
	if (!strcmp(key, "enforce")) {
		c->enforce = on;
		return 0;
	}
	if ((rc = not_offered(c, w, k, on)) != 0)
		return rc < 0 ? -1 : 0;
	if (!find_feature(w, k, &f))
		return refuse(c, "unknown CPU feature or option %s", w);
	return c->sup ? set_feature(c, &f, on, key) : 0;
}

static int run_spec(struct ctx *c, const char *spec)
{
	size_t k = strcspn(spec, ",");
	const struct model *md;
	const char *p;

	for (md = models; md->name; md++)
		if (strlen(md->name) == k && !strncmp(md->name, spec, k))
			break;
	if (!md->name)
		return refuse(c, "unknown CPU model '%.*s' (host, max, qemu64, Opteron_G1, "
			      "IvyBridge, Skylake-Server)", (int)(k < WORD_MAX ? k : WORD_MAX), spec);
	/* enforce anywhere applies to every +FEAT: look for it first. */
	for (p = spec + k; *p; ) {
		size_t n = strcspn(++p, ",");

		if ((n == 7 && !strncmp(p, "enforce", 7)) ||
		    (n == 10 && !strncmp(p, "enforce=on", 10)))
			c->enforce = true;
		p += n;
	}
	if (c->sup && md->features && apply_model(c, md))
		return -1;
	for (p = spec + k; *p; ) {
		char w[WORD_MAX * 2];
		size_t n = strcspn(++p, ",");

		if (n >= sizeof(w))
			return refuse(c, "a word of more than %zu bytes", sizeof(w) - 1);
		memcpy(w, p, n);
		w[n] = 0;
		if (word(c, w))
			return -1;
		p += n;
	}
	return 0;
}

int cpu_model_check(const char *spec, char *why, size_t len)
{
	char warn[1] = "";
	struct ctx c = { .warn = warn, .wlen = sizeof(warn), .why = why, .len = len };

	return run_spec(&c, spec);
}

int cpu_model_build(const char *spec, const struct kvm_cpuid_entry2 *sup, uint32_t n,
		    struct kvm_cpuid_entry2 **out, uint32_t *nout, char *warn, size_t wlen,
		    char *why, size_t len)
{
	struct ctx c = { .sup = sup, .n = n, .warn = warn, .wlen = wlen, .why = why, .len = len };

	*warn = 0;
	c.t = malloc((n ? n : 1) * sizeof(*c.t));
	if (!c.t)
		return -2;
	memcpy(c.t, sup, n * sizeof(*c.t));
	if (run_spec(&c, spec)) {
		free(c.t);
		return -1;
	}
	*out = c.t;
	*nout = n;
	return 0;
}
