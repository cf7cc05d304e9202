/*
 * codec.c - base64 / base64url (RFC 4648 §4, §5) and hex.
 *
 * Input: untrusted text. Decoders are strict (see codec.h): one accepted
 * spelling per byte string, because signatures and hashes cover exact bytes.
 */
#include "core/codec.h"

#include <string.h>

#include "core/rd.h"

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#define ENCODE_CHUNK 768 /* input bytes read per att_rd_copy (1024 symbols) */

/*
 * Encode `n` bytes (trusted or not: encoding cannot fail on content). The output is reserved
 * once, then written in place: every token an attestation returns passes through here.
 */
static att_err encode(const void *p, size_t n, const char *alpha, bool pad, struct att_buf *out)
{
    uint8_t in[ENCODE_CHUNK];
    struct att_rd r;
    size_t tail = n % 3;
    size_t syms = n / 3 * 4 + (tail == 0 ? 0 : pad ? 4 : tail + 1);
    att_rd_init(&r, p, n);
    ATT_TRY(att_buf_reserve(out, syms));
    uint8_t *w = out->data;
    size_t at = out->len;
    while (att_rd_left(&r) > 0) {
        size_t k = att_rd_left(&r) < ENCODE_CHUNK ? att_rd_left(&r) : ENCODE_CHUNK;
        ATT_TRY(att_rd_copy(&r, in, k));
        size_t full = k - k % 3; /* only the last chunk has a partial group */
        for (size_t i = 0; i < full; i += 3) {
            uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
            w[at] = (uint8_t)alpha[v >> 18];
            w[at + 1] = (uint8_t)alpha[(v >> 12) & 63];
            w[at + 2] = (uint8_t)alpha[(v >> 6) & 63];
            w[at + 3] = (uint8_t)alpha[v & 63];
            at += 4;
        }
        if (full < k) {
            size_t g = k - full; /* 1 or 2 bytes left: 2 or 3 symbols, '=' to 4 when padding */
            uint32_t v = (uint32_t)in[full] << 16 | (g == 2 ? (uint32_t)in[full + 1] << 8 : 0);
            w[at++] = (uint8_t)alpha[v >> 18];
            w[at++] = (uint8_t)alpha[(v >> 12) & 63];
            if (g == 2) {
                w[at++] = (uint8_t)alpha[(v >> 6) & 63];
            }
            for (size_t e = g + 1; pad && e < 4; e++) {
                w[at++] = '=';
            }
        }
    }
    out->len = at;
    out->data[at] = 0;
    return ATT_OK;
}

att_err att_b64url_encode(const void *p, size_t n, struct att_buf *out)
{
    return encode(p, n, b64_url, false, out);
}

att_err att_b64_encode(const void *p, size_t n, struct att_buf *out)
{
    return encode(p, n, b64_std, true, out);
}

/* Symbol values of each byte, -1 for bytes outside the alphabet (RFC 4648 tables 1, 2). */
static const int8_t sym_std[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1, -1, 0,  1,  2,  3,  4,  5,  6,
    7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
    49, 50, 51, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};
static const int8_t sym_url[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1, -1, 0,  1,  2,  3,  4,  5,  6,
    7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
    49, 50, 51, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

#define DECODE_CHUNK 1024 /* symbols read per att_rd_copy */

/*
 * One group of 4 symbols -> 3 bytes at w[at]; false when a symbol is outside the alphabet.
 * An outside symbol is -1, which converts to all ones: it sets bit 31 of `v`, which valid
 * symbols (6 bits each, 24 in all) never reach. One test then covers all four.
 */
static bool decode_group(const int8_t *table, const uint8_t sym[4], uint8_t *w, size_t at)
{
    uint32_t v = (uint32_t)table[sym[0]] << 18 | (uint32_t)table[sym[1]] << 12 |
                 (uint32_t)table[sym[2]] << 6 | (uint32_t)table[sym[3]];
    w[at] = (uint8_t)(v >> 16);
    w[at + 1] = (uint8_t)(v >> 8);
    w[at + 2] = (uint8_t)v;
    return (v >> 31) == 0;
}

/*
 * Decode `n` symbols (no padding). A final group of 2 or 3 symbols carries
 * 1 or 2 bytes; its unused low bits must be zero (RFC 4648 §3.5, canonical).
 * Symbols are read a chunk at a time through the bounded reader and decoded
 * with a table straight into the reserved output: this decodes every quote an
 * attestation receives. On failure nothing is appended.
 */
static att_err decode_symbols(struct att_bytes text, bool url, struct att_buf *out)
{
    const int8_t *table = url ? sym_url : sym_std;
    uint8_t in[DECODE_CHUNK];
    struct att_rd r;
    size_t tail = text.len % 4;

    ATT_ENSURE(tail != 1, ATT_ERR_ENCODING);
    att_err rc = att_buf_reserve(out, text.len / 4 * 3 + (tail > 0 ? tail - 1 : 0));
    if (rc != ATT_OK) {
        out->err = ATT_OK; /* a refusal of this input, not a broken buffer */
        return rc;
    }
    uint8_t *w = out->data;
    size_t at = out->len;
    att_rd_init(&r, text.ptr, text.len);
    bool ok = true;
    while (ok && att_rd_left(&r) > 0) {
        size_t k = att_rd_left(&r) < DECODE_CHUNK ? att_rd_left(&r) : DECODE_CHUNK;
        ok = att_rd_copy(&r, in, k) == ATT_OK;
        size_t full = ok ? k - k % 4 : 0; /* only the last chunk has a partial group */
        for (size_t i = 0; i < full; i += 4) {
            uint8_t sym[4] = {in[i], in[i + 1], in[i + 2], in[i + 3]};
            ok &= decode_group(table, sym, w, at);
            at += 3;
        }
        if (ok && full < k) {
            uint8_t last[4] = {in[full], in[full + 1], k - full == 3 ? in[full + 2] : 'A', 'A'};
            uint8_t bytes[3];
            ok &= decode_group(table, last, bytes, 0);
            /* The unused low bits of the final symbol must be zero. */
            ok &= k - full == 2 ? (bytes[1] | bytes[2]) == 0 : bytes[2] == 0;
            memcpy(w + at, bytes, k - full - 1);
            at += k - full - 1;
        }
    }
    if (!ok) { /* outside the alphabet, or non-zero padding bits */
        w[out->len] = 0;
        return ATT_ERR_ENCODING;
    }
    w[at] = 0;
    out->len = at;
    return ATT_OK;
}

att_err att_b64url_decode(const char *s, size_t n, struct att_buf *out)
{
    struct att_bytes text = {(const uint8_t *)s, n};
    return decode_symbols(text, true, out);
}

att_err att_b64_decode(const char *s, size_t n, struct att_buf *out)
{
    ATT_ENSURE(n % 4 == 0, ATT_ERR_ENCODING);
    struct att_bytes text = {(const uint8_t *)s, n};
    size_t pad = 0;
    while (pad < 2 && text.len > 0 && pad < text.len && s[text.len - 1 - pad] == '=') {
        pad++;
    }
    text.len -= pad;
    return decode_symbols(text, false, out);
}

att_err att_hex_encode(const void *p, size_t n, struct att_buf *out)
{
    static const char digits[] = "0123456789abcdef";
    struct att_rd r;
    att_rd_init(&r, p, n);
    size_t before = out->len;
    ATT_TRY(att_buf_reserve(out, n * 2));
    while (att_rd_left(&r) > 0) {
        uint8_t c = 0;
        ATT_TRY(att_rd_u8(&r, &c));
        char pair[2] = {digits[c >> 4], digits[c & 15]};
        if (att_buf_put(out, pair, 2) != ATT_OK) {
            out->len = before;
            return att_buf_err(out);
        }
    }
    return ATT_OK;
}

int att_hex_nibble(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

att_err att_hex_decode(const char *s, size_t n, struct att_buf *out)
{
    ATT_ENSURE(n % 2 == 0, ATT_ERR_ENCODING);
    struct att_rd r;
    att_rd_init(&r, s, n);
    size_t before = out->len;
    ATT_TRY(att_buf_reserve(out, n / 2));
    while (att_rd_left(&r) > 0) {
        uint8_t pair[2];
        ATT_TRY(att_rd_copy(&r, pair, 2));
        int hi = att_hex_nibble(pair[0]);
        int lo = att_hex_nibble(pair[1]);
        if (hi < 0 || lo < 0) {
            out->len = before;
            if (out->data != NULL) {
                out->data[before] = 0;
            }
            return ATT_ERR_ENCODING;
        }
        ATT_TRY(att_buf_putc(out, (uint8_t)(hi << 4 | lo)));
    }
    return ATT_OK;
}
