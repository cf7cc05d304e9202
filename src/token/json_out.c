/*
 * json_out.c - compact JSON writer for jansson values (json_out.h).
 */
#include "token/json_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Bytes of JSON text each string byte becomes (RFC 8259 §7): 1 for bytes carried as they are,
 * 2 for the short escapes \" \\ \b \f \n \r \t, 6 for the other controls (\u00XX).
 */
static const uint8_t width[256] = {
    6, 6, 6, 6, 6, 6, 6, 6, 2, 2, 2, 6, 2, 2, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* Append `n` bytes: the common short writes skip att_buf_put's checks when room is known. */
static att_err put(struct att_buf *out, const char *p, size_t n)
{
    if (out->err == ATT_OK && out->cap - out->len > n && out->max - out->len >= n) {
        memcpy(out->data + out->len, p, n);
        out->len += n;
        out->data[out->len] = 0;
        return ATT_OK;
    }
    return att_buf_put(out, p, n);
}

/*
 * RFC 8259 §7: quote, backslash and control characters are escaped, the rest copied. The
 * escaped length is counted first, so the buffer grows once and the bytes go straight in.
 */
static att_err put_string(const char *s, size_t n, struct att_buf *out)
{
    static const char hex[] = "0123456789ABCDEF"; /* as jansson writes them */
    const uint8_t *in = (const uint8_t *)s;
    size_t need = 2;
    for (size_t i = 0; i < n; i++) {
        need += width[in[i]];
    }
    ATT_TRY(att_buf_reserve(out, need));
    uint8_t *w = out->data;
    size_t at = out->len;
    w[at++] = '"';
    if (need == n + 2) { /* nothing to escape: the usual case */
        memcpy(w + at, in, n);
        at += n;
    } else {
        for (size_t i = 0; i < n; i++) {
            uint8_t c = in[i];
            if (width[c] == 1) {
                w[at++] = c;
                continue;
            }
            w[at++] = '\\';
            switch (c) {
            case '"': w[at++] = '"'; break;
            case '\\': w[at++] = '\\'; break;
            case '\b': w[at++] = 'b'; break;
            case '\f': w[at++] = 'f'; break;
            case '\n': w[at++] = 'n'; break;
            case '\r': w[at++] = 'r'; break;
            case '\t': w[at++] = 't'; break;
            default:
                memcpy(w + at, "u00", 3);
                w[at + 3] = (uint8_t)hex[c >> 4];
                w[at + 4] = (uint8_t)hex[c & 15];
                at += 5;
            }
        }
    }
    w[at++] = '"';
    w[at] = 0;
    out->len = at;
    return ATT_OK;
}

/* A JSON integer (jansson's JSON_INTEGER_FORMAT, "%lld"), without printf. */
static att_err put_integer(json_int_t v, struct att_buf *out)
{
    char digits[24];
    size_t n = 0;
    /* Negated as unsigned, so the most negative value needs no special case. */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[sizeof(digits) - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        digits[sizeof(digits) - 1 - n++] = '-';
    }
    return put(out, digits + sizeof(digits) - n, n);
}

static att_err put_value(const json_t *v, struct att_buf *out, int depth)
{
    ATT_ENSURE(depth < ATT_JSON_OUT_MAX_DEPTH, ATT_ERR_TOO_LARGE);
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *m;
        bool first = true;
        ATT_TRY(put(out, "{", 1));
        json_object_foreach((json_t *)(uintptr_t)v, key, m)
        {
            if (!first) {
                ATT_TRY(put(out, ",", 1));
            }
            first = false;
            ATT_TRY(put_string(key, strlen(key), out));
            ATT_TRY(put(out, ":", 1));
            ATT_TRY(put_value(m, out, depth + 1));
        }
        return put(out, "}", 1);
    }
    case JSON_ARRAY: {
        ATT_TRY(put(out, "[", 1));
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0) {
                ATT_TRY(put(out, ",", 1));
            }
            ATT_TRY(put_value(json_array_get(v, i), out, depth + 1));
        }
        return put(out, "]", 1);
    }
    case JSON_STRING: return put_string(json_string_value(v), json_string_length(v), out);
    case JSON_INTEGER: return put_integer(json_integer_value(v), out);
    case JSON_TRUE: return put(out, "true", 4);
    case JSON_FALSE: return put(out, "false", 5);
    case JSON_NULL: return put(out, "null", 4);
    case JSON_REAL:
    default: {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        ATT_ENSURE(text != NULL, ATT_ERR_NOMEM);
        att_err rc = att_buf_puts(out, text);
        free(text);
        return rc;
    }
    }
}

att_err att_json_compact(const json_t *v, struct att_buf *out)
{
    size_t before = out->len;
    att_err rc = v != NULL ? put_value(v, out, 0) : ATT_ERR_ARG;
    if (rc != ATT_OK) {
        out->len = before;
        if (out->data != NULL) {
            out->data[before] = 0;
        }
        out->err = ATT_OK;
    }
    return rc;
}
