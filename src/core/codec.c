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

#define ENCODE_CHUNK 768 /* input bytes encoded per att_buf_put (1024 symbols) */

static att_err encode(const void *p, size_t n, const char *alpha, bool pad, struct att_buf *out)
{
    uint8_t in[ENCODE_CHUNK];
    char sym[ENCODE_CHUNK / 3 * 4];
    struct att_rd r;
    size_t before = out->len;
    att_rd_init(&r, p, n);
    ATT_TRY(att_buf_reserve(out, (n + 2) / 3 * 4));
    while (att_rd_left(&r) > 0) {
        size_t k = att_rd_left(&r) < ENCODE_CHUNK ? att_rd_left(&r) : ENCODE_CHUNK;
        size_t m = 0;
        ATT_TRY(att_rd_copy(&r, in, k));
        for (size_t i = 0; i < k; i += 3) {
            size_t g = k - i < 3 ? k - i : 3; /* 1 or 2 only in the last group */
            uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)(g > 1 ? in[i + 1] : 0) << 8 |
                         (uint32_t)(g > 2 ? in[i + 2] : 0);
            char q[4] = {alpha[(v >> 18) & 63], alpha[(v >> 12) & 63], alpha[(v >> 6) & 63],
                         alpha[v & 63]};
            size_t emit = g + 1;
            for (size_t e = emit; pad && e < 4; e++) {
                q[e] = '=';
            }
            emit = pad ? 4 : emit;
            memcpy(sym + m, q, emit);
            m += emit;
        }
        if (att_buf_put(out, sym, m) != ATT_OK) {
            out->len = before;
            return att_buf_err(out);
        }
    }
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

#define DECODE_CHUNK 1024 /* symbols decoded per att_buf_put */

/*
 * Decode `n` symbols (no padding). A final group of 2 or 3 symbols carries
 * 1 or 2 bytes; its unused low bits must be zero (RFC 4648 §3.5, canonical).
 * Symbols are read a chunk at a time through the bounded reader and decoded
 * with a table: this decodes every quote an attestation receives.
 */
static att_err decode_symbols(struct att_bytes text, bool url, struct att_buf *out)
{
    const int8_t *table = url ? sym_url : sym_std;
    uint8_t in[DECODE_CHUNK];
    uint8_t bytes[DECODE_CHUNK / 4 * 3];
    struct att_rd r;
    size_t before = out->len;
    att_err rc;

    ATT_ENSURE(text.len % 4 != 1, ATT_ERR_ENCODING);
    att_rd_init(&r, text.ptr, text.len);
    rc = att_buf_reserve(out, text.len / 4 * 3 + 2);
    while (rc == ATT_OK && att_rd_left(&r) > 0) {
        size_t k = att_rd_left(&r) < DECODE_CHUNK ? att_rd_left(&r) : DECODE_CHUNK;
        size_t nbytes = 0;
        rc = att_rd_copy(&r, in, k);
        for (size_t i = 0; rc == ATT_OK && i < k; i += 4) {
            size_t g = k - i < 4 ? k - i : 4; /* 2 or 3 only in the last group */
            uint32_t v = 0;
            int bad = 0;
            for (size_t j = 0; j < 4; j++) {
                int s = j < g ? table[in[i + j]] : 0;
                bad |= s;
                v = v << 6 | (uint32_t)(s & 63);
            }
            if (bad < 0 || (g == 2 && (v & 0xffff) != 0) || (g == 3 && (v & 0xff) != 0)) {
                rc = ATT_ERR_ENCODING; /* outside the alphabet, or non-zero padding bits */
                break;
            }
            bytes[nbytes] = (uint8_t)(v >> 16);
            bytes[nbytes + 1] = (uint8_t)(v >> 8);
            bytes[nbytes + 2] = (uint8_t)v;
            nbytes += g - 1;
        }
        if (rc == ATT_OK) {
            rc = att_buf_put(out, bytes, nbytes);
        }
    }
    if (rc != ATT_OK) {
        out->len = before;
        out->err = ATT_OK;
        if (out->data != NULL) {
            out->data[before] = 0;
        }
    }
    return rc;
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
