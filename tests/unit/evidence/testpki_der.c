/*
 * testpki_der.c - the growable byte buffer and DER writer the test PKIs share (sgx_testpki.c,
 * amd_testpki.c). Test code only.
 */
#include "testpki_der.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tb_put(struct tbuf *b, const void *d, size_t n)
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

void tb_u8(struct tbuf *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    tb_put(b, &x, 1);
}

void tb_u16le(struct tbuf *b, unsigned v)
{
    uint8_t x[2] = {(uint8_t)(v & 0xFF), (uint8_t)((v >> 8) & 0xFF)};
    tb_put(b, x, 2);
}

void tb_u32le(struct tbuf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    tb_put(b, x, 4);
}

void tb_u64le(struct tbuf *b, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        tb_u8(b, (unsigned)((v >> (8 * i)) & 0xFF));
    }
}

void tb_zero(struct tbuf *b, size_t n)
{
    static const uint8_t z[64];
    while (n > 0) {
        size_t k = n < sizeof(z) ? n : sizeof(z);
        tb_put(b, z, k);
        n -= k;
    }
}

__attribute__((format(printf, 2, 3))) void tb_printf(struct tbuf *b, const char *fmt, ...)
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
    tb_put(b, tmp, (size_t)n);
}

void tb_hex(struct tbuf *b, const uint8_t *d, size_t n, bool upper)
{
    static const char lo[] = "0123456789abcdef";
    static const char up[] = "0123456789ABCDEF";
    const char *digits = upper ? up : lo;
    for (size_t i = 0; i < n; i++) {
        char two[2] = {digits[d[i] >> 4], digits[d[i] & 0xF]};
        tb_put(b, two, 2);
    }
}

/* NUL-terminate and hand over the text (NULL on failure); the buffer is emptied either way. */
char *tb_take_str(struct tbuf *b)
{
    tb_u8(b, 0);
    char *s = b->bad ? NULL : (char *)b->p;
    if (s == NULL) {
        free(b->p);
    }
    memset(b, 0, sizeof(*b));
    return s;
}

void tb_free(struct tbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void der_len(struct tbuf *b, size_t n)
{
    if (n < 0x80) {
        tb_u8(b, (unsigned)n);
    } else if (n <= 0xFF) {
        tb_u8(b, 0x81);
        tb_u8(b, (unsigned)n);
    } else if (n <= 0xFFFF) {
        tb_u8(b, 0x82);
        tb_u8(b, (unsigned)(n >> 8));
        tb_u8(b, (unsigned)(n & 0xFF));
    } else {
        b->bad = true; /* nothing a test PKI writes is that large */
    }
}

void der_tlv(struct tbuf *b, unsigned tag, const uint8_t *v, size_t n)
{
    tb_u8(b, tag);
    der_len(b, n);
    tb_put(b, v, n);
}

/* Non-negative INTEGER or ENUMERATED, minimal two's complement. */
void der_uint(struct tbuf *b, unsigned tag, unsigned v)
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
    der_tlv(b, tag, c, n);
}

/* tag { content } for a content built in another buffer. */
void der_wrap(struct tbuf *b, unsigned tag, const struct tbuf *content)
{
    if (content->bad) {
        b->bad = true;
        return;
    }
    der_tlv(b, tag, content->p, content->len);
}
