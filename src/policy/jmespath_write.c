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

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/rd.h"

/* Bytes JSON text carries as they are: not a control character, quote or backslash. */
static bool plain[256];
static pthread_once_t plain_once = PTHREAD_ONCE_INIT;

static void plain_init(void)
{
    for (unsigned c = 0x20; c < 256; c++) {
        plain[c] = c != '"' && c != '\\';
    }
}

/* Where text goes: into `b`, or (b NULL) only counted, up to `max` bytes (`over` past it). */
struct sink {
    struct att_buf *b;
    size_t count;
    size_t max;
    bool over;
};

static void put(struct sink *k, const void *p, size_t n)
{
    if (k->b != NULL) {
        att_ignore_err(att_buf_put(k->b, p, n)); /* errors are sticky; checked by the caller */
    } else if (n > k->max - k->count) {
        k->over = true;
    } else {
        k->count += n;
    }
}

static void puts_(struct sink *k, const char *s)
{
    put(k, s, strlen(s));
}

static bool stopped(const struct sink *k)
{
    return k->b != NULL ? att_buf_err(k->b) != ATT_OK : k->over;
}

static void write_string(struct sink *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    struct att_rd r;
    struct att_bytes run;
    pthread_once(&plain_once, plain_init);
    att_rd_init(&r, s, len);
    uint8_t c;
    put(b, "\"", 1);
    for (;;) {
        /* Runs of plain bytes go out in one piece. */
        att_rd_while(&r, plain, &run);
        if (run.len > 0) {
            put(b, run.ptr, run.len);
        }
        if (att_rd_u8(&r, &c) != ATT_OK) {
            break;
        }
        switch (c) {
        case '"': puts_(b, "\\\""); break;
        case '\\': puts_(b, "\\\\"); break;
        case '\n': puts_(b, "\\n"); break;
        case '\r': puts_(b, "\\r"); break;
        case '\t': puts_(b, "\\t"); break;
        case '\b': puts_(b, "\\b"); break;
        case '\f': puts_(b, "\\f"); break;
        default: {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            puts_(b, u);
            break;
        }
        }
    }
    put(b, "\"", 1);
}

/* A decimal integer, without printf (values are written by the thousand). */
static void write_integer(struct sink *b, json_int_t v)
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
    put(b, digits + n, sizeof(digits) - n);
}

/* Shortest "%.*g" that reads back as the same double; a ".0" keeps integral reals real. */
static void write_real(struct sink *b, double d)
{
    char s[40];
    for (int prec = 1; prec <= 17; prec++) {
        (void)snprintf(s, sizeof(s), "%.*g", prec, d);
        if (strtod(s, NULL) == d) {
            break;
        }
    }
    puts_(b, s);
    if (strpbrk(s, ".eEn") == NULL) {
        puts_(b, ".0");
    }
}

static void write_value(struct sink *b, json_t *v)
{
    if (stopped(b)) {
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL: puts_(b, "null"); break;
    case JSON_TRUE: puts_(b, "true"); break;
    case JSON_FALSE: puts_(b, "false"); break;
    case JSON_INTEGER: write_integer(b, json_integer_value(v)); break;
    case JSON_REAL: write_real(b, json_real_value(v)); break;
    case JSON_STRING: write_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_ARRAY:
        put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0) {
                put(b, ",", 1);
            }
            write_value(b, json_array_get(v, i));
        }
        put(b, "]", 1);
        break;
    case JSON_OBJECT: {
        bool first = true;
        put(b, "{", 1);
        for (void *it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
            if (!first) {
                put(b, ",", 1);
            }
            first = false;
            const char *key = json_object_iter_key(it);
            write_string(b, key, json_object_iter_key_len(it));
            put(b, ":", 1);
            write_value(b, json_object_iter_value(it));
        }
        put(b, "}", 1);
        break;
    }
    default: break;
    }
}

void jmes_write_json(struct att_buf *b, json_t *v)
{
    struct sink k = {b, 0, 0, false};
    write_value(&k, v);
}

bool jmes_json_length(json_t *v, size_t max, size_t *len)
{
    struct sink k = {NULL, 0, max, false};
    write_value(&k, v);
    *len = k.count;
    return !k.over;
}
