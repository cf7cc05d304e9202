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

static att_err encode(const void *p, size_t n, const char *alpha, bool pad, struct att_buf *out)
{
    struct att_rd r;
    att_rd_init(&r, p, n);
    size_t before = out->len;
    ATT_TRY(att_buf_reserve(out, (n + 2) / 3 * 4));
    while (att_rd_left(&r) > 0) {
        uint8_t in[3] = {0, 0, 0};
        size_t k = att_rd_left(&r) < 3 ? att_rd_left(&r) : 3;
        ATT_TRY(att_rd_copy(&r, in, k));
        uint32_t v = (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];
        char q[4] = {alpha[(v >> 18) & 63], alpha[(v >> 12) & 63], alpha[(v >> 6) & 63],
                     alpha[v & 63]};
        size_t emit = k + 1;
        if (pad) {
            for (size_t i = emit; i < 4; i++) {
                q[i] = '=';
            }
            emit = 4;
        }
        if (att_buf_put(out, q, emit) != ATT_OK) {
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

static int sym(uint8_t c, bool url)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == (url ? '-' : '+')) {
        return 62;
    }
    if (c == (url ? '_' : '/')) {
        return 63;
    }
    return -1;
}

/*
 * Decode `n` symbols (no padding). A final group of 2 or 3 symbols carries
 * 1 or 2 bytes; its unused low bits must be zero (RFC 4648 §3.5, canonical).
 */
static att_err decode_symbols(struct att_bytes text, bool url, struct att_buf *out)
{
    ATT_ENSURE(text.len % 4 != 1, ATT_ERR_ENCODING);
    struct att_rd r;
    att_rd_init(&r, text.ptr, text.len);
    size_t before = out->len;
    att_err rc = att_buf_reserve(out, text.len / 4 * 3 + 2);
    while (rc == ATT_OK && att_rd_left(&r) > 0) {
        size_t k = att_rd_left(&r) < 4 ? att_rd_left(&r) : 4;
        uint8_t q[4] = {0, 0, 0, 0};
        uint32_t v = 0;
        rc = att_rd_copy(&r, q, k);
        for (size_t i = 0; rc == ATT_OK && i < 4; i++) {
            int s = i < k ? sym(q[i], url) : 0;
            if (s < 0) {
                rc = ATT_ERR_ENCODING;
            }
            v = v << 6 | (uint32_t)(s < 0 ? 0 : s);
        }
        if (rc != ATT_OK) {
            break;
        }
        uint8_t bytes[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        size_t nbytes = k - 1;
        if ((k == 2 && (v & 0xffff) != 0) || (k == 3 && (v & 0xff) != 0)) {
            rc = ATT_ERR_ENCODING; /* non-zero padding bits */
            break;
        }
        rc = att_buf_put(out, bytes, nbytes);
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

static int nibble(uint8_t c)
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
        int hi = nibble(pair[0]);
        int lo = nibble(pair[1]);
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
