/* user.c - the ring-3 task: command line, deterministic memory churn and
 * the per-step report.  Ring 3 runs at native speed on this host, so all
 * real work (and all formatting) happens here; the kernel only moves the
 * finished line to the UART.
 *
 * Determinism contract: the checksum after step N depends only on the
 * command line (mem=, pages=) and on RAM having started zeroed, never on
 * time, ticks or interrupts.  That is what lets a restored VM be checked
 * against an uninterrupted run.
 */
#include "kernel.h"
#include "pc.h"

#define PAGE_SIZE       4096u
#define AREA_ALIGN      (2u << 20)      /* churn area starts on a 2 MiB page */
#define DEFAULT_MEM     (16u << 20)
#define DEFAULT_PAGES   128u            /* pages rewritten per step */
/* Mixing rounds per written word: the knob that sets a step to ~1 ms of
 * native time without touching more memory (rounds= lowers it for tests
 * that want much memory filled quickly). */
#define ROUNDS          9u

struct opts {
	uint64_t steps;                 /* 0 = run forever */
	uint64_t mem;                   /* requested churn bytes */
	uint64_t at;                    /* where the area starts; 0 = after the kernel */
	uint64_t pages;                 /* pages per step */
	uint64_t rate;                  /* MB/s to dirty at most; 0 = flat out */
	uint64_t rounds;                /* mixing rounds per word */
	uint64_t check;                 /* 1: checksum the whole area at the end */
	int text;                       /* fill=text: log-like lines, not noise */
};

/* The churn area is RAM from its start on, through the memory map's
 * ranges in address order (skipping the hole below 4 GiB): page p of the
 * area is in the last segment whose first page is <= p. */
struct segment {
	uint64_t first;                 /* the area's page number of base[0] */
	uint64_t *base;
};

struct churn {
	struct segment seg[BOOTINFO_MEM_MAX];
	unsigned nseg;
	uint64_t npages;
	uint64_t cursor;                /* next page to rewrite */
	uint64_t rng;
	uint64_t rounds;
	uint32_t sum;
	int filled;                     /* every page written at least once */
	int text;
};

struct line {
	char b[160];
	unsigned n;
};

static uint64_t sys(uint64_t nr, uint64_t a0, uint64_t a1)
{
	uint64_t ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret), "+D"(a0), "+S"(a1)
			 : "a"(nr)
			 : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory");
	return ret;
}

static void put_str(struct line *l, const char *s)
{
	while (*s && l->n < sizeof(l->b))
		l->b[l->n++] = *s++;
}

static void put_dec(struct line *l, uint64_t v)
{
	char t[20];
	int i = 0;

	do {
		t[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i && l->n < sizeof(l->b))
		l->b[l->n++] = t[--i];
}

/* At least digits digits, more if v needs them. */
static void put_hex(struct line *l, uint64_t v, int digits)
{
	while (digits < 16 && v >> (4 * digits))
		digits++;
	put_str(l, "0x");
	while (digits-- && l->n < sizeof(l->b))
		l->b[l->n++] = "0123456789abcdef"[v >> (4 * digits) & 0xf];
}

/* Sizes print in the largest unit that divides them exactly. */
static void put_size(struct line *l, uint64_t v)
{
	static const char units[] = "KMG";
	int u = -1;

	while (u < 2 && v && !(v & 1023)) {
		v >>= 10;
		u++;
	}
	put_dec(l, v);
	if (u >= 0) {
		char s[2] = { units[u], 0 };

		put_str(l, s);
	}
}

static void flush(struct line *l)
{
	sys(SYS_WRITE, (uint64_t)l->b, l->n);
	l->n = 0;
}

/* Parse a decimal number with an optional K/M/G suffix; 0 if malformed. */
static int parse_num(const char *s, unsigned n, int suffix, uint64_t *out)
{
	uint64_t v = 0;
	unsigned i = 0;

	if (!n)
		return 0;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (!i)
		return 0;
	if (suffix && i + 1 == n) {
		unsigned shift = 0;

		switch (s[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return 0;
		}
		if (v > UINT64_MAX >> shift)
			return 0;
		v <<= shift;
		i++;
	}
	if (i != n)
		return 0;
	*out = v;
	return 1;
}

static int key_is(const char *s, unsigned n, const char *key)
{
	unsigned i = 0;

	for (; key[i]; i++)
		if (i >= n || s[i] != key[i])
			return 0;
	return i < n && s[i] == '=';
}

static int memeq(const char *a, const char *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i] != b[i])
			return 1;
	return 0;
}

static void parse_cmdline(const struct bootinfo *bi, struct opts *o)
{
	const char *s = (const char *)bi->cmdline_gpa;
	unsigned len = bi->cmdline_len, i = 0;
	struct line l = { .n = 0 };

	while (i < len) {
		unsigned start, n;
		uint64_t v;
		int ok = 1;

		while (i < len && s[i] == ' ')
			i++;
		start = i;
		while (i < len && s[i] != ' ')
			i++;
		n = i - start;
		if (!n)
			break;
		if (key_is(s + start, n, "steps"))
			ok = parse_num(s + start + 6, n - 6, 0, &o->steps);
		else if (key_is(s + start, n, "mem"))
			ok = parse_num(s + start + 4, n - 4, 1, &o->mem);
		else if (key_is(s + start, n, "at"))
			ok = parse_num(s + start + 3, n - 3, 1, &o->at);
		else if (key_is(s + start, n, "pages"))
			ok = parse_num(s + start + 6, n - 6, 0, &v) && v &&
			     (o->pages = v);
		else if (key_is(s + start, n, "rate"))
			ok = parse_num(s + start + 5, n - 5, 0, &o->rate);
		else if (key_is(s + start, n, "rounds"))
			ok = parse_num(s + start + 7, n - 7, 0, &o->rounds) && o->rounds <= 64;
		else if (key_is(s + start, n, "check"))
			ok = parse_num(s + start + 6, n - 6, 0, &o->check) && o->check <= 1;
		else if (key_is(s + start, n, "fill"))
			ok = (n == 9 && !memeq(s + start + 5, "text", 4) && (o->text = 1)) ||
			     (n == 11 && !memeq(s + start + 5, "random", 6) && !(o->text = 0));
		else
			ok = 0;
		if (!ok) {
			put_str(&l, "warning: ignoring option '");
			for (unsigned k = 0; k < n && l.n < sizeof(l.b) - 3; k++)
				l.b[l.n++] = s[start + k];
			put_str(&l, "'\n");
			flush(&l);
		}
	}
}

static inline uint64_t xorshift(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	return x ^ x >> 33;
}

static uint64_t *page_at(const struct churn *c, uint64_t page)
{
	unsigned i = c->nseg - 1;

	while (page < c->seg[i].first)
		i--;
	return c->seg[i].base + (page - c->seg[i].first) * (PAGE_SIZE / 8);
}

/* Every word of the area in order: after the last step, so a page that is
 * wrong anywhere (one the steps since a restore did not come round to)
 * changes the line. */
static uint32_t area_sum(const struct churn *c)
{
	uint64_t acc = 0xcbf29ce484222325ull;

	for (uint64_t p = 0; p < c->npages; p++) {
		const uint64_t *w = page_at(c, p);

		for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
			acc = (acc ^ w[i]) * 0x100000001b3ull;
	}
	return (uint32_t)(acc ^ acc >> 32);
}

/* Lay the area of up to want bytes out over the RAM ranges from start on;
 * its size in pages goes to c->npages. */
static void place_area(struct churn *c, const struct bootinfo *bi, uint64_t start,
		       uint64_t want)
{
	uint64_t left = want / PAGE_SIZE;

	c->nseg = 0;
	c->npages = 0;
	for (uint32_t i = 0; i < bi->nmem && i < BOOTINFO_MEM_MAX && left; i++) {
		uint64_t lo = bi->mem[i].addr, hi = lo + bi->mem[i].size, n;

		if (start > lo)
			lo = start;
		if (lo >= hi)
			continue;
		n = (hi - lo) / PAGE_SIZE < left ? (hi - lo) / PAGE_SIZE : left;
		if (!n)
			continue;
		c->seg[c->nseg].first = c->npages;
		c->seg[c->nseg].base = (uint64_t *)lo;
		c->nseg++;
		c->npages += n;
		left -= n;
	}
}

/* fill=text: the page becomes lines of a made-up system log, words and
 * numbers drawn from the generator x -- compressible as real logs and
 * text are (about 3-4x), unlike the noise of the default fill, and not
 * one repeated byte either.  Returns the advanced generator. */
static uint64_t text_page(char *p, uint64_t x)
{
	static const char *const words[] = {
		"kernel:", "systemd[1]:", "sshd[812]:", "cron[77]:", "eth0:", "link", "is",
		"up", "down", "started", "stopped", "session", "for", "user", "root",
		"accepted", "publickey", "from", "port", "connection", "closed", "by",
		"reading", "writing", "block", "device", "sda1", "mounted", "filesystem",
		"with", "ordered", "data", "mode", "warning:", "error:", "timeout", "after",
		"retrying", "request", "served", "in", "ms", "GET", "/index.html", "200",
		"404", "cache", "miss", "hit", "worker", "queue", "job", "done", "failed",
		"the", "a", "of", "to", "and", "on", "new", "old", "memory", "page",
	};
	unsigned i = 0;

	while (i < PAGE_SIZE) {
		struct line l = { .n = 0 };
		unsigned nw;

		x = xorshift(x);
		put_str(&l, "Dec  1 ");
		put_dec(&l, 10 + (x >> 8) % 14);
		put_str(&l, ":");
		put_dec(&l, 10 + (x >> 16) % 50);
		put_str(&l, ":");
		put_dec(&l, 10 + (x >> 24) % 50);
		put_str(&l, " vm");
		put_dec(&l, (x >> 32) % 8);
		put_str(&l, " ");
		for (nw = 4 + (unsigned)(x >> 40) % 10; nw; nw--) {
			x = xorshift(x);
			put_str(&l, words[(x >> 20) % (sizeof(words) / sizeof(words[0]))]);
			put_str(&l, " ");
			if (!(x & 7))
				put_dec(&l, x >> 48);
			if (!(x & 7))
				put_str(&l, " ");
		}
		l.b[l.n - 1] = '\n';
		for (unsigned k = 0; k < l.n && i < PAGE_SIZE; k++)
			p[i++] = l.b[k];
	}
	return x;
}

/* Fold a page's old contents into the checksum, then overwrite it with new
 * pseudo-random words (or text), then probe one word anywhere in the area (written
 * long ago or never) so corruption anywhere shows up eventually. */
static void churn_page(struct churn *c)
{
	uint64_t *p = page_at(c, c->cursor);
	uint64_t acc = c->cursor, x = c->rng, probe;
	unsigned i, r;

	if (c->text) {
		for (i = 0; i < PAGE_SIZE / 8; i++)
			acc = (acc ^ p[i]) * 0x100000001b3ull;
		x = text_page((char *)p, x);
	}
	for (i = 0; !c->text && i < PAGE_SIZE / 8; i++) {
		uint64_t w;

		acc = (acc ^ p[i]) * 0x100000001b3ull;
		x = xorshift(x);
		w = x;
		for (r = 0; r < c->rounds; r++)
			w = mix(w);
		p[i] = w;
	}
	c->rng = x;
	x = xorshift(x);
	probe = (x >> 12) % (c->npages * (PAGE_SIZE / 8));
	probe = page_at(c, probe / (PAGE_SIZE / 8))[probe % (PAGE_SIZE / 8)];
	acc ^= probe;
	c->sum = ((c->sum << 5 | c->sum >> 27) ^ (uint32_t)(acc ^ acc >> 32)) *
		 0x01000193u;
	if (++c->cursor == c->npages) {
		c->cursor = 0;
		c->filled = 1;
	}
}

void user_main(const struct bootinfo *bi)
{
	struct opts o = { .steps = 0, .mem = DEFAULT_MEM, .pages = DEFAULT_PAGES, .rounds = ROUNDS };
	uint64_t base = ((uint64_t)__kernel_end + AREA_ALIGN - 1) & ~(uint64_t)(AREA_ALIGN - 1);
	struct churn c = { .rng = 0x9e3779b97f4a7c15ull, .sum = 0 };
	struct line l = { .n = 0 };
	uint64_t step, k, tick0 = 0, step0 = 0;

	parse_cmdline(bi, &o);
	/* at= below the kernel's end would overwrite the kernel. */
	if (o.at > base)
		base = (o.at + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	place_area(&c, bi, base, o.mem);
	c.rounds = o.rounds;
	c.text = o.text;

	put_str(&l, "ssm test kernel 1: ram ");
	put_size(&l, bi->mem_size);
	put_str(&l, ", churn ");
	put_size(&l, c.npages * PAGE_SIZE);
	for (unsigned i = 0; i < c.nseg; i++) {
		put_str(&l, i ? " + " : " at ");
		put_hex(&l, (uint64_t)c.seg[i].base, 8);
		if (c.nseg > 1) {
			put_str(&l, " (");
			put_size(&l, ((i + 1 < c.nseg ? c.seg[i + 1].first : c.npages) -
				      c.seg[i].first) * PAGE_SIZE);
			put_str(&l, ")");
		}
	}
	put_str(&l, ", ");
	put_dec(&l, o.pages);
	put_str(&l, " pages/step, steps ");
	put_dec(&l, o.steps);
	if (o.text)
		put_str(&l, ", fill text");
	put_str(&l, "\n");
	flush(&l);
	if (!c.npages) {
		put_str(&l, "panic: no RAM left for the workload\n");
		flush(&l);
		sys(SYS_POWEROFF, PANIC_STATUS, 0);
	}

	for (step = 1; !o.steps || step <= o.steps; step++) {
		for (k = 0; k < o.pages; k++)
			churn_page(&c);
		/* rate=: once the area is filled (flat out, like a guest that
		 * loaded its data), pace on the timer -- read straight from
		 * kernel memory, which ring 3 may read -- so the dirty rate is
		 * controlled.  The sum does not depend on it. */
		if (o.rate && c.filled && !step0) {
			step0 = step;
			tick0 = ticks;
		}
		if (o.rate && step0)
			while (ticks - tick0 < (step - step0) * o.pages * PAGE_SIZE /
					       (o.rate * 1000))
				;
		put_str(&l, "step ");
		put_dec(&l, step);
		put_str(&l, " sum ");
		put_hex(&l, c.sum, 8);
		put_str(&l, " ticks ");
		put_dec(&l, ticks);
		put_str(&l, "\n");
		flush(&l);
	}
	if (o.check) {
		put_str(&l, "area sum ");
		put_hex(&l, area_sum(&c), 8);
		put_str(&l, " over ");
		put_size(&l, c.npages * PAGE_SIZE);
		put_str(&l, "\n");
		flush(&l);
	}
	sys(SYS_POWEROFF, 0, 0);
	for (;;)
		;
}
