/*
 * rd.c - the bounded reader (docs/internals/reader.md).
 *
 * Input: untrusted bytes. Every read checks the remaining distance first
 * (`n <= len - off`), never by forming `base + off + n`. A failed read leaves
 * the reader unchanged.
 */
#include "core/rd.h"

#include <string.h>

void att_rd_init(struct att_rd *r, const void *p, size_t len)
{
    r->base = p;
    r->len = p != NULL ? len : 0;
    r->off = 0;
}

size_t att_rd_left(const struct att_rd *r)
{
    return r->len - r->off;
}

size_t att_rd_offset(const struct att_rd *r)
{
    return r->off;
}

/* The one place that turns an offset into a pointer, after the bound check. */
static att_err take(struct att_rd *r, size_t n, const uint8_t **p)
{
    ATT_ENSURE(n <= r->len - r->off, ATT_ERR_TRUNCATED);
    *p = r->base + r->off;
    r->off += n;
    return ATT_OK;
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) {
        v = (v << 8) | p[i - 1];
    }
    return v;
}

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

att_err att_rd_u8(struct att_rd *r, uint8_t *out)
{
    const uint8_t *p;
    ATT_TRY(take(r, 1, &p));
    *out = p[0];
    return ATT_OK;
}

#define RD_INT(fn, type, n, load)                                                                  \
    att_err fn(struct att_rd *r, type *out)                                                        \
    {                                                                                              \
        const uint8_t *p;                                                                          \
        ATT_TRY(take(r, n, &p));                                                                   \
        *out = (type)load(p, n);                                                                   \
        return ATT_OK;                                                                             \
    }
RD_INT(att_rd_u16le, uint16_t, 2, load_le)
RD_INT(att_rd_u16be, uint16_t, 2, load_be)
RD_INT(att_rd_u32le, uint32_t, 4, load_le)
RD_INT(att_rd_u32be, uint32_t, 4, load_be)
RD_INT(att_rd_u64le, uint64_t, 8, load_le)
RD_INT(att_rd_u64be, uint64_t, 8, load_be)
#undef RD_INT

att_err att_rd_bytes(struct att_rd *r, size_t n, struct att_bytes *out)
{
    const uint8_t *p;
    ATT_TRY(take(r, n, &p));
    out->ptr = p;
    out->len = n;
    return ATT_OK;
}

att_err att_rd_copy(struct att_rd *r, void *dst, size_t n)
{
    const uint8_t *p;
    ATT_TRY(take(r, n, &p));
    if (n > 0) {
        memcpy(dst, p, n);
    }
    return ATT_OK;
}

att_err att_rd_skip(struct att_rd *r, size_t n)
{
    const uint8_t *p;
    return take(r, n, &p);
}

att_err att_rd_sub(struct att_rd *r, size_t n, struct att_rd *child)
{
    const uint8_t *p;
    ATT_TRY(take(r, n, &p));
    att_rd_init(child, p, n);
    return ATT_OK;
}

void att_rd_rest(struct att_rd *r, struct att_bytes *out)
{
    size_t n = att_rd_left(r);
    const uint8_t *p = NULL;
    (void)take(r, n, &p); /* cannot fail: n is exactly what is left */
    out->ptr = p;
    out->len = n;
}

att_err att_rd_end(const struct att_rd *r)
{
    return att_rd_left(r) == 0 ? ATT_OK : ATT_ERR_TRAILING;
}

att_err att_rd_peek_u8(const struct att_rd *r, uint8_t *out)
{
    ATT_ENSURE(att_rd_left(r) >= 1, ATT_ERR_TRUNCATED);
    *out = r->base[r->off];
    return ATT_OK;
}

att_err att_rd_until(struct att_rd *r, uint8_t delim, struct att_bytes *out)
{
    size_t left = att_rd_left(r);
    const uint8_t *start = left > 0 ? r->base + r->off : NULL;
    const uint8_t *hit = left > 0 ? memchr(start, delim, left) : NULL;
    ATT_ENSURE(hit != NULL, ATT_ERR_TRUNCATED);
    size_t n = (size_t)(hit - start);
    ATT_TRY(att_rd_bytes(r, n, out));
    return att_rd_skip(r, 1);
}

void att_rd_while(struct att_rd *r, const bool keep[256], struct att_bytes *out)
{
    size_t left = att_rd_left(r);
    size_t n = 0;
    while (n < left && keep[r->base[r->off + n]]) {
        n++;
    }
    out->ptr = left > 0 ? r->base + r->off : NULL;
    out->len = n;
    r->off += n;
}

/* ---- views ---- */

bool att_bytes_eq_str(struct att_bytes b, const char *s)
{
    size_t n = strlen(s);
    return b.len == n && (n == 0 || memcmp(b.ptr, s, n) == 0);
}

int att_bytes_cmp_str(struct att_bytes b, const char *s)
{
    size_t n = strlen(s);
    size_t k = b.len < n ? b.len : n;
    int c = k > 0 ? memcmp(b.ptr, s, k) : 0;
    if (c != 0) {
        return c;
    }
    return b.len < n ? -1 : b.len > n ? 1 : 0;
}

size_t att_bytes_span(struct att_bytes b, size_t from, const bool accept[256])
{
    size_t i = from;
    while (i < b.len && accept[b.ptr[i]]) {
        i++;
    }
    return i > from ? i - from : 0;
}

bool att_bytes_printable_except(struct att_bytes b, uint8_t except)
{
    /*
     * Branch-free over blocks of 64 so the compiler can vectorise it: request bodies carry
     * quotes of many kilobytes through here.
     */
    size_t i = 0;
    for (; i + 64 <= b.len; i += 64) {
        unsigned bad = 0;
        for (size_t j = 0; j < 64; j++) {
            uint8_t c = b.ptr[i + j];
            bad |= (unsigned)(c < 0x20) | (unsigned)(c > 0x7E) | (unsigned)(c == except);
        }
        if (bad != 0) {
            return false;
        }
    }
    for (; i < b.len; i++) {
        uint8_t c = b.ptr[i];
        if (c < 0x20 || c > 0x7E || c == except) {
            return false;
        }
    }
    return true;
}

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

bool att_bytes_eq_str_nocase(struct att_bytes b, const char *s)
{
    size_t n = strlen(s);
    if (b.len != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (lower(b.ptr[i]) != lower((uint8_t)s[i])) {
            return false;
        }
    }
    return true;
}

struct att_bytes att_bytes_trim(struct att_bytes b)
{
    size_t start = 0;
    size_t end = b.len;
    while (start < end && (b.ptr[start] == ' ' || b.ptr[start] == '\t')) {
        start++;
    }
    while (end > start && (b.ptr[end - 1] == ' ' || b.ptr[end - 1] == '\t')) {
        end--;
    }
    struct att_bytes out = {b.len > 0 ? b.ptr + start : b.ptr, end - start};
    return out;
}

att_err att_bytes_slice(struct att_bytes b, size_t off, size_t n, struct att_bytes *out)
{
    ATT_ENSURE(off <= b.len && n <= b.len - off, ATT_ERR_TRUNCATED);
    out->ptr = b.len > 0 ? b.ptr + off : b.ptr;
    out->len = n;
    return ATT_OK;
}

att_err att_bytes_to_u64(struct att_bytes b, uint64_t max, uint64_t *out)
{
    ATT_ENSURE(b.len > 0, ATT_ERR_PARSE);
    /* Syntax first, so a long number is "too large" and a long non-number "malformed". */
    for (size_t i = 0; i < b.len; i++) {
        ATT_ENSURE(b.ptr[i] >= '0' && b.ptr[i] <= '9', ATT_ERR_PARSE);
    }
    uint64_t v = 0;
    for (size_t i = 0; i < b.len; i++) {
        uint64_t d = (uint64_t)(b.ptr[i] - '0');
        ATT_ENSURE(v <= (UINT64_MAX - d) / 10, ATT_ERR_TOO_LARGE);
        v = v * 10 + d;
    }
    ATT_ENSURE(v <= max, ATT_ERR_TOO_LARGE);
    *out = v;
    return ATT_OK;
}
