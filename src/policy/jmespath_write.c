/*
 * jmespath_write.c - JSON value -> compact JSON text: the last layer of att_jmespath_eval().
 *
 * Input trust: the value holds strings from the untrusted event log; they are
 * written escaped, never interpreted. The output goes into a capped att_buf whose
 * errors are sticky; the caller checks att_buf_err() once at the end. Recursion
 * follows the value's depth: jansson's JSON_PARSER_MAX_DEPTH for the input plus at
 * most the query's nesting (max_depth) for what projections and hashes add.
 *
 * Format (RFC 8259): no whitespace, object keys in insertion order, strings UTF-8
 * with only '"', '\' and control characters escaped, reals in the shortest form that
 * reads back exactly.
 */
#include "policy/jmespath_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/rd.h"

/* Bytes JSON text carries as they are: not a control character, quote or backslash. */
static bool plain_byte(uint8_t c)
{
    return c >= 0x20 && c != '"' && c != '\\';
}

static void write_string(struct att_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    struct att_rd r;
    struct att_bytes run;
    att_rd_init(&r, s, len);
    uint8_t c;
    att_ignore_err(att_buf_putc(b, '"')); /* errors are sticky; checked by the caller */
    for (;;) {
        /* Runs of plain bytes go out in one piece. */
        size_t n = 0;
        struct att_rd look = r;
        while (att_rd_u8(&look, &c) == ATT_OK && plain_byte(c)) {
            n++;
        }
        if (n > 0 && att_rd_bytes(&r, n, &run) == ATT_OK) {
            att_ignore_err(att_buf_put(b, run.ptr, run.len));
        }
        if (att_rd_u8(&r, &c) != ATT_OK) {
            break;
        }
        switch (c) {
        case '"': att_ignore_err(att_buf_puts(b, "\\\"")); break;
        case '\\': att_ignore_err(att_buf_puts(b, "\\\\")); break;
        case '\n': att_ignore_err(att_buf_puts(b, "\\n")); break;
        case '\r': att_ignore_err(att_buf_puts(b, "\\r")); break;
        case '\t': att_ignore_err(att_buf_puts(b, "\\t")); break;
        case '\b': att_ignore_err(att_buf_puts(b, "\\b")); break;
        case '\f': att_ignore_err(att_buf_puts(b, "\\f")); break;
        default: {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            att_ignore_err(att_buf_puts(b, u));
            break;
        }
        }
    }
    att_ignore_err(att_buf_putc(b, '"'));
}

/* A decimal integer, without printf (values are written by the thousand). */
static void write_integer(struct att_buf *b, json_int_t v)
{
    char digits[24];
    size_t n = sizeof(digits);
    /* Negate through unsigned: -INT64_MIN does not fit json_int_t. */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        digits[--n] = '-';
    }
    att_ignore_err(att_buf_put(b, digits + n, sizeof(digits) - n));
}

/* Shortest "%.*g" that reads back as the same double; a ".0" keeps integral reals real. */
static void write_real(struct att_buf *b, double d)
{
    char s[40];
    for (int prec = 1; prec <= 17; prec++) {
        (void)snprintf(s, sizeof(s), "%.*g", prec, d);
        if (strtod(s, NULL) == d) {
            break;
        }
    }
    att_ignore_err(att_buf_puts(b, s));
    if (strpbrk(s, ".eEn") == NULL) {
        att_ignore_err(att_buf_puts(b, ".0"));
    }
}

void jmes_write_json(struct att_buf *b, json_t *v)
{
    if (att_buf_err(b) != ATT_OK) {
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL: att_ignore_err(att_buf_puts(b, "null")); break;
    case JSON_TRUE: att_ignore_err(att_buf_puts(b, "true")); break;
    case JSON_FALSE: att_ignore_err(att_buf_puts(b, "false")); break;
    case JSON_INTEGER: write_integer(b, json_integer_value(v)); break;
    case JSON_REAL: write_real(b, json_real_value(v)); break;
    case JSON_STRING: write_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_ARRAY:
        att_ignore_err(att_buf_putc(b, '['));
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0) {
                att_ignore_err(att_buf_putc(b, ','));
            }
            jmes_write_json(b, json_array_get(v, i));
        }
        att_ignore_err(att_buf_putc(b, ']'));
        break;
    case JSON_OBJECT: {
        bool first = true;
        att_ignore_err(att_buf_putc(b, '{'));
        for (void *it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
            if (!first) {
                att_ignore_err(att_buf_putc(b, ','));
            }
            first = false;
            const char *key = json_object_iter_key(it);
            write_string(b, key, json_object_iter_key_len(it));
            att_ignore_err(att_buf_putc(b, ':'));
            jmes_write_json(b, json_object_iter_value(it));
        }
        att_ignore_err(att_buf_putc(b, '}'));
        break;
    }
    default: break;
    }
}
