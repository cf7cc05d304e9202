/*
 * json_span.c - find a member value's bytes in JSON text (json_span.h), RFC 8259 grammar,
 * through the bounded reader.
 */
#include "core/json_span.h"

#include <string.h>

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct att_rd *r)
{
    uint8_t c = 0;
    while (att_rd_peek_u8(r, &c) == ATT_OK && is_ws(c)) {
        att_ignore_err(att_rd_skip(r, 1)); /* just peeked */
    }
}

static att_err expect(struct att_rd *r, uint8_t want)
{
    uint8_t c = 0;
    ATT_TRY(att_rd_u8(r, &c));
    return c == want ? ATT_OK : ATT_ERR_JSON;
}

/* A string (after its opening quote) up to its closing quote; `body` gets what is between. */
static att_err string_body(struct att_rd *r, struct att_bytes *body)
{
    size_t start = att_rd_offset(r);
    uint8_t c = 0;
    struct att_rd mark = *r;
    for (;;) {
        ATT_ENSURE(att_rd_u8(r, &c) == ATT_OK, ATT_ERR_JSON);
        if (c == '"') {
            break;
        }
        ATT_ENSURE(c >= 0x20, ATT_ERR_JSON); /* control characters must be escaped */
        if (c == '\\') {
            ATT_ENSURE(att_rd_u8(r, &c) == ATT_OK, ATT_ERR_JSON);
            if (c == 'u') {
                ATT_ENSURE(att_rd_skip(r, 4) == ATT_OK, ATT_ERR_JSON);
            } else {
                ATT_ENSURE(strchr("\"\\/bfnrt", c) != NULL && c != 0, ATT_ERR_JSON);
            }
        }
    }
    return att_rd_bytes(&mark, att_rd_offset(r) - start - 1, body);
}

static bool in_set(uint8_t c, const char *set)
{
    return c != 0 && strchr(set, c) != NULL;
}

static att_err value(struct att_rd *r, unsigned depth);

static att_err members(struct att_rd *r, unsigned depth, uint8_t close, bool named)
{
    uint8_t c = 0;
    skip_ws(r);
    ATT_ENSURE(att_rd_peek_u8(r, &c) == ATT_OK, ATT_ERR_JSON);
    if (c == close) {
        return att_rd_skip(r, 1);
    }
    for (;;) {
        if (named) {
            struct att_bytes name;
            skip_ws(r);
            ATT_TRY(expect(r, '"'));
            ATT_TRY(string_body(r, &name));
            skip_ws(r);
            ATT_TRY(expect(r, ':'));
        }
        ATT_TRY(value(r, depth + 1));
        skip_ws(r);
        ATT_ENSURE(att_rd_u8(r, &c) == ATT_OK, ATT_ERR_JSON);
        if (c == close) {
            return ATT_OK;
        }
        ATT_ENSURE(c == ',', ATT_ERR_JSON);
    }
}

/* Skip one value (with the whitespace before it). */
static att_err value(struct att_rd *r, unsigned depth)
{
    uint8_t c = 0;
    struct att_bytes ignored;
    ATT_ENSURE(depth <= ATT_JSON_SPAN_MAX_DEPTH, ATT_ERR_JSON);
    skip_ws(r);
    ATT_ENSURE(att_rd_u8(r, &c) == ATT_OK, ATT_ERR_JSON);
    switch (c) {
    case '"': return string_body(r, &ignored);
    case '{': return members(r, depth, '}', true);
    case '[': return members(r, depth, ']', false);
    case 't':
        return att_rd_bytes(r, 3, &ignored) == ATT_OK && att_bytes_eq_str(ignored, "rue")
                   ? ATT_OK
                   : ATT_ERR_JSON;
    case 'f':
        return att_rd_bytes(r, 4, &ignored) == ATT_OK && att_bytes_eq_str(ignored, "alse")
                   ? ATT_OK
                   : ATT_ERR_JSON;
    case 'n':
        return att_rd_bytes(r, 3, &ignored) == ATT_OK && att_bytes_eq_str(ignored, "ull")
                   ? ATT_OK
                   : ATT_ERR_JSON;
    default:
        /* a number: its characters (the grammar's order is for jansson to judge) */
        ATT_ENSURE(c == '-' || (c >= '0' && c <= '9'), ATT_ERR_JSON);
        while (att_rd_peek_u8(r, &c) == ATT_OK && in_set(c, "0123456789+-.eE")) {
            att_ignore_err(att_rd_skip(r, 1)); /* just peeked */
        }
        return ATT_OK;
    }
}

att_err att_json_value_span(struct att_bytes text, const char *const *path, struct att_bytes *out)
{
    struct att_rd r;
    att_rd_init(&r, text.ptr, text.len);
    for (size_t step = 0; path[step] != NULL; step++) {
        uint8_t c = 0;
        bool found = false;
        skip_ws(&r);
        ATT_ENSURE(att_rd_u8(&r, &c) == ATT_OK, ATT_ERR_JSON);
        ATT_ENSURE(c == '{', ATT_ERR_NOT_FOUND);
        skip_ws(&r);
        ATT_ENSURE(att_rd_peek_u8(&r, &c) == ATT_OK, ATT_ERR_JSON);
        if (c == '}') {
            return ATT_ERR_NOT_FOUND;
        }
        while (!found) {
            struct att_bytes name;
            skip_ws(&r);
            ATT_TRY(expect(&r, '"'));
            ATT_TRY(string_body(&r, &name));
            skip_ws(&r);
            ATT_TRY(expect(&r, ':'));
            if (att_bytes_eq_str(name, path[step])) {
                found = true;
                break;
            }
            ATT_TRY(value(&r, (unsigned)step + 1));
            skip_ws(&r);
            ATT_ENSURE(att_rd_u8(&r, &c) == ATT_OK, ATT_ERR_JSON);
            if (c == '}') {
                return ATT_ERR_NOT_FOUND;
            }
            ATT_ENSURE(c == ',', ATT_ERR_JSON);
        }
    }
    /* r is at the value (after its name's colon) */
    skip_ws(&r);
    struct att_rd start = r;
    ATT_TRY(value(&r, 0));
    return att_rd_bytes(&start, att_rd_offset(&r) - att_rd_offset(&start), out);
}
