/*
 * buf.c - the capped growable writer (docs/internals/buffers.md).
 */
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static const char empty_cstr[1] = {0};

void att_buf_init(struct att_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void att_buf_init_secret(struct att_buf *b, size_t max)
{
    att_buf_init(b, max);
    b->secret = true;
}

void att_buf_cleanup(struct att_buf *b)
{
    if (b->data != NULL) {
        if (b->secret) {
            att_wipe(b->data, b->cap);
        }
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = ATT_OK;
}

void att_buf_reset(struct att_buf *b)
{
    if (b->data != NULL) {
        if (b->secret) {
            att_wipe(b->data, b->cap);
        }
        b->data[0] = 0;
    }
    b->len = 0;
    b->err = ATT_OK;
}

att_err att_buf_err(const struct att_buf *b)
{
    return b->err;
}

static att_err fail(struct att_buf *b, att_err e)
{
    if (b->err == ATT_OK) {
        b->err = e;
    }
    return e;
}

/* Grow so that len + n + 1 (terminator) fits; the terminator is not counted against max. */
att_err att_buf_reserve(struct att_buf *b, size_t n)
{
    if (b->err != ATT_OK) {
        return b->err;
    }
    if (n > b->max || b->len > b->max - n) {
        return fail(b, ATT_ERR_TOO_LARGE);
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap) {
        return ATT_OK;
    }
    size_t cap = b->cap > 0 ? b->cap : 64;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    if (b->max < SIZE_MAX && cap > b->max + 1) {
        cap = b->max + 1;
    }
    uint8_t *p = malloc(cap);
    if (p == NULL) {
        return fail(b, ATT_ERR_NOMEM);
    }
    if (b->data != NULL) {
        memcpy(p, b->data, b->len + 1);
        if (b->secret) {
            att_wipe(b->data, b->cap);
        }
        free(b->data);
    } else {
        p[0] = 0;
    }
    b->data = p;
    b->cap = cap;
    return ATT_OK;
}

void att_buf_presize(struct att_buf *b, size_t n)
{
    if (b->err == ATT_OK && n <= b->max && b->len <= b->max - n) {
        att_ignore_err(att_buf_reserve(b, n)); /* within max: only NOMEM can fail... */
        b->err = ATT_OK;                       /* ...and a hint leaves no error behind */
    }
}

att_err att_buf_put(struct att_buf *b, const void *p, size_t n)
{
    ATT_TRY(att_buf_reserve(b, n));
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = 0;
    return ATT_OK;
}

att_err att_buf_putc(struct att_buf *b, uint8_t c)
{
    return att_buf_put(b, &c, 1);
}

att_err att_buf_puts(struct att_buf *b, const char *s)
{
    return att_buf_put(b, s, strlen(s));
}

att_err att_buf_vprintf(struct att_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return fail(b, ATT_ERR_INTERNAL);
    }
    ATT_TRY(att_buf_reserve(b, (size_t)n));
    (void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return ATT_OK;
}

att_err att_buf_printf(struct att_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    att_err rc = att_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *att_buf_cstr(const struct att_buf *b)
{
    return b->data != NULL ? (const char *)b->data : empty_cstr;
}
