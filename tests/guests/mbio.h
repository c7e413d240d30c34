/* mbio.h - what the multiboot test guests share: port I/O, COM1 output
 * and the command line's key=N words.  32-bit freestanding, header only. */
#ifndef TESTS_GUESTS_MBIO_H
#define TESTS_GUESTS_MBIO_H

#include <stdint.h>

#define COM1 0x3f8
#define DEBUG_EXIT 0xf4
#define FW_CFG_SEL 0x510
#define FW_CFG_DATA 0x511

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void putc(char c)
{
	outb(COM1, (uint8_t)c);
}

static inline void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

static inline void putdec(uint32_t v)
{
	char buf[11];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc(buf[--n]);
}

/* The value of the word "keyN" in s (key ends in '='), or def. */
static inline uint32_t arg(const char *s, const char *key, uint32_t def)
{
	for (const char *w = s; w && *w; w++) {
		const char *k = key, *p = w;

		if (w != s && w[-1] != ' ')
			continue;
		while (*k && *p == *k)
			k++, p++;
		if (!*k) {
			uint32_t v = 0;

			while (*p >= '0' && *p <= '9')
				v = v * 10 + (uint32_t)(*p++ - '0');
			return v;
		}
	}
	return def;
}

#endif
