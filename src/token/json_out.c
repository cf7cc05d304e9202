/*
 * json_out.c - compact JSON writer for jansson values (json_out.h).
 */
#include "token/json_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rd.h"

#include <stdbool.h>

/* Bytes JSON strings carry as they are (RFC 8259 §7): all but '"', '\\' and controls. */
static const bool plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* RFC 8259 §7: quote, backslash and control characters are escaped, the rest copied. */
static att_err put_string(const char *s, size_t n, struct att_buf *out)
{
    static const char hex[] = "0123456789ABCDEF"; /* as jansson writes them */
    struct att_bytes all = {(const uint8_t *)s, n};
    struct att_bytes run;
    size_t at = 0;
    ATT_TRY(att_buf_putc(out, '"'));
    while (at < n) {
        size_t len = att_bytes_span(all, at, plain);
        uint8_t c = 0;
        ATT_TRY(att_bytes_slice(all, at, len, &run));
        ATT_TRY(att_buf_put(out, run.ptr, run.len));
        at += len;
        if (at == n) {
            break;
        }
        ATT_TRY(att_bytes_slice(all, at, 1, &run));
        c = run.ptr[0];
        at++;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        ATT_TRY(att_buf_put(out, esc, elen));
    }
    return att_buf_putc(out, '"');
}

static att_err put_value(const json_t *v, struct att_buf *out, int depth)
{
    char num[32];
    ATT_ENSURE(depth < ATT_JSON_OUT_MAX_DEPTH, ATT_ERR_TOO_LARGE);
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *m;
        bool first = true;
        ATT_TRY(att_buf_putc(out, '{'));
        json_object_foreach((json_t *)(uintptr_t)v, key, m)
        {
            if (!first) {
                ATT_TRY(att_buf_putc(out, ','));
            }
            first = false;
            ATT_TRY(put_string(key, strlen(key), out));
            ATT_TRY(att_buf_putc(out, ':'));
            ATT_TRY(put_value(m, out, depth + 1));
        }
        return att_buf_putc(out, '}');
    }
    case JSON_ARRAY: {
        ATT_TRY(att_buf_putc(out, '['));
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0) {
                ATT_TRY(att_buf_putc(out, ','));
            }
            ATT_TRY(put_value(json_array_get(v, i), out, depth + 1));
        }
        return att_buf_putc(out, ']');
    }
    case JSON_STRING: return put_string(json_string_value(v), json_string_length(v), out);
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return att_buf_puts(out, num);
    case JSON_TRUE: return att_buf_puts(out, "true");
    case JSON_FALSE: return att_buf_puts(out, "false");
    case JSON_NULL: return att_buf_puts(out, "null");
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
