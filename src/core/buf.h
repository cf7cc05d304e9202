/*
 * buf.h - att_buf, the capped growable writer.
 *
 * Everything attestd builds (JSON, JWS, sealed blobs, HTTP answers) goes
 * into an att_buf. Each buffer has a maximum size fixed at init; growing past
 * it fails with ATT_ERR_TOO_LARGE. A failure is sticky: after one failed put,
 * later puts do nothing and att_buf_err() reports the first error, so a run
 * of puts can be checked once at the end.
 *
 * Pointers into `data` are invalidated by any later put: never keep one
 * across a put. A buffer marked secret (att_buf_init_secret) is wiped
 * whenever its memory is released or moved.
 */
#ifndef ATT_CORE_BUF_H
#define ATT_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct att_buf {
    uint8_t *data; /* NUL-terminated after any successful put (not counted in len) */
    size_t len;
    size_t cap;
    size_t max;
    att_err err;
    bool secret;
};

#define ATT_BUF_DEFAULT_MAX ((size_t)1 << 20)

void att_buf_init(struct att_buf *b, size_t max);
void att_buf_init_secret(struct att_buf *b, size_t max);
/* Release the memory (wiped first when secret). The buffer may be reused after init. */
void att_buf_cleanup(struct att_buf *b);
/* Forget the contents, keep the memory (wiped when secret) and clear the error. */
void att_buf_reset(struct att_buf *b);

att_err att_buf_put(struct att_buf *b, const void *p, size_t n);
att_err att_buf_putc(struct att_buf *b, uint8_t c);
att_err att_buf_puts(struct att_buf *b, const char *s);
att_err att_buf_printf(struct att_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
att_err att_buf_vprintf(struct att_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Ensure room for n more bytes. */
att_err att_buf_reserve(struct att_buf *b, size_t n) ATT_WUR;
/*
 * A hint: make room for n more bytes now, so a buffer about to grow piece by piece is
 * allocated once. Never fails and never sets the error: over max, or out of memory, it does
 * nothing and the puts decide.
 */
void att_buf_presize(struct att_buf *b, size_t n);
/* First error recorded, or ATT_OK. */
att_err att_buf_err(const struct att_buf *b);
/* The contents as a C string ("" when empty). Valid until the next put. */
const char *att_buf_cstr(const struct att_buf *b);

#endif
