/*
 * wbuf.c - the growable byte buffer and DER writer the test PKIs share (wbuf.h): the demo's and
 * the tests' (src/demo/testpki.c, tests/unit/evidence/amd_testpki.c). Trusted input only.
 */
#include "demo/wbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void att_wbuf_put(struct att_wbuf *b, const void *d, size_t n)
{
    if (b->bad) {
        return;
    }
    if (n > b->cap - b->len) {
        size_t cap = b->cap == 0 ? 256 : b->cap;
        while (cap - b->len < n + 1) {
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            b->bad = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->len, d, n);
    }
    b->len += n;
}

void att_wbuf_u8(struct att_wbuf *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    att_wbuf_put(b, &x, 1);
}

void att_wbuf_u16le(struct att_wbuf *b, unsigned v)
{
    uint8_t x[2] = {(uint8_t)(v & 0xFF), (uint8_t)((v >> 8) & 0xFF)};
    att_wbuf_put(b, x, 2);
}

void att_wbuf_u32le(struct att_wbuf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    att_wbuf_put(b, x, 4);
}

void att_wbuf_u64le(struct att_wbuf *b, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        att_wbuf_u8(b, (unsigned)((v >> (8 * i)) & 0xFF));
    }
}

void att_wbuf_zero(struct att_wbuf *b, size_t n)
{
    static const uint8_t z[64];
    while (n > 0) {
        size_t k = n < sizeof(z) ? n : sizeof(z);
        att_wbuf_put(b, z, k);
        n -= k;
    }
}

__attribute__((format(printf, 2, 3))) void att_wbuf_printf(struct att_wbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->bad = true;
        return;
    }
    att_wbuf_put(b, tmp, (size_t)n);
}

void att_wbuf_hex(struct att_wbuf *b, const uint8_t *d, size_t n, bool upper)
{
    static const char lo[] = "0123456789abcdef";
    static const char up[] = "0123456789ABCDEF";
    const char *digits = upper ? up : lo;
    for (size_t i = 0; i < n; i++) {
        char two[2] = {digits[d[i] >> 4], digits[d[i] & 0xF]};
        att_wbuf_put(b, two, 2);
    }
}

/* NUL-terminate and hand over the text (NULL on failure); the buffer is emptied either way. */
char *att_wbuf_take_str(struct att_wbuf *b)
{
    att_wbuf_u8(b, 0);
    char *s = b->bad ? NULL : (char *)b->p;
    if (s == NULL) {
        free(b->p);
    }
    memset(b, 0, sizeof(*b));
    return s;
}

void att_wbuf_free(struct att_wbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void att_wbuf_der_len(struct att_wbuf *b, size_t n)
{
    if (n < 0x80) {
        att_wbuf_u8(b, (unsigned)n);
    } else if (n <= 0xFF) {
        att_wbuf_u8(b, 0x81);
        att_wbuf_u8(b, (unsigned)n);
    } else if (n <= 0xFFFF) {
        att_wbuf_u8(b, 0x82);
        att_wbuf_u8(b, (unsigned)(n >> 8));
        att_wbuf_u8(b, (unsigned)(n & 0xFF));
    } else {
        b->bad = true; /* nothing a test PKI writes is that large */
    }
}

void att_wbuf_der_tlv(struct att_wbuf *b, unsigned tag, const uint8_t *v, size_t n)
{
    att_wbuf_u8(b, tag);
    att_wbuf_der_len(b, n);
    att_wbuf_put(b, v, n);
}

/* Non-negative INTEGER or ENUMERATED, minimal two's complement. */
void att_wbuf_der_uint(struct att_wbuf *b, unsigned tag, unsigned v)
{
    uint8_t c[5];
    size_t n = 0;
    uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    size_t i = 0;
    while (i < 3 && be[i] == 0) {
        i++;
    }
    if (be[i] & 0x80) {
        c[n++] = 0;
    }
    for (; i < 4; i++) {
        c[n++] = be[i];
    }
    att_wbuf_der_tlv(b, tag, c, n);
}

/* tag { content } for a content built in another buffer. */
void att_wbuf_der_wrap(struct att_wbuf *b, unsigned tag, const struct att_wbuf *content)
{
    if (content->bad) {
        b->bad = true;
        return;
    }
    att_wbuf_der_tlv(b, tag, content->p, content->len);
}
