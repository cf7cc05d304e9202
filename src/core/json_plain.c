/*
 * json_plain.c - parse "plain" JSON objects quickly (json_plain.h; RFC 8259 §2-§7 subset).
 */
#include "core/json_plain.h"

#include "core/rd.h"

static void skip_ws(struct att_rd *r)
{
    uint8_t c = 0;
    while (att_rd_peek_u8(r, &c) == ATT_OK && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
        att_ignore_err(att_rd_skip(r, 1)); /* a byte was peeked */
    }
}

static att_err expect(struct att_rd *r, uint8_t want)
{
    uint8_t c = 0;
    skip_ws(r);
    ATT_ENSURE(att_rd_u8(r, &c) == ATT_OK && c == want, ATT_ERR_NOT_FOUND);
    return ATT_OK;
}

/* A string without escapes or non-printable bytes: its contents, quotes consumed. */
static att_err plain_string(struct att_rd *r, struct att_bytes *s)
{
    ATT_TRY(expect(r, '"'));
    ATT_ENSURE(att_rd_until(r, '"', s) == ATT_OK, ATT_ERR_NOT_FOUND);
    ATT_ENSURE(att_bytes_printable_except(*s, '\\'), ATT_ERR_NOT_FOUND);
    return ATT_OK;
}

static att_err literal(struct att_rd *r, const char *word, size_t n)
{
    struct att_bytes b;
    ATT_ENSURE(att_rd_bytes(r, n, &b) == ATT_OK && att_bytes_eq_str(b, word), ATT_ERR_NOT_FOUND);
    return ATT_OK;
}

static att_err object(struct att_rd *r, int depth, json_t **out);

static att_err value(struct att_rd *r, int depth, json_t **out)
{
    uint8_t c = 0;
    struct att_bytes s;
    skip_ws(r);
    ATT_ENSURE(att_rd_peek_u8(r, &c) == ATT_OK, ATT_ERR_NOT_FOUND);
    switch (c) {
    case '{': return object(r, depth + 1, out);
    case '"':
        ATT_TRY(plain_string(r, &s));
        *out = json_stringn_nocheck((const char *)s.ptr, s.len);
        break;
    case 'n':
        ATT_TRY(literal(r, "null", 4));
        *out = json_null();
        break;
    case 't':
        ATT_TRY(literal(r, "true", 4));
        *out = json_true();
        break;
    case 'f':
        ATT_TRY(literal(r, "false", 5));
        *out = json_false();
        break;
    default: return ATT_ERR_NOT_FOUND; /* numbers, arrays: jansson's */
    }
    return *out != NULL ? ATT_OK : ATT_ERR_NOMEM;
}

static att_err members(struct att_rd *r, int depth, json_t *obj)
{
    uint8_t c = 0;
    for (;;) {
        struct att_bytes name;
        json_t *v = NULL;
        ATT_TRY(plain_string(r, &name));
        /* jansson (JSON_REJECT_DUPLICATES) refuses duplicate names: let it say so. */
        ATT_ENSURE(json_object_getn(obj, (const char *)name.ptr, name.len) == NULL,
                   ATT_ERR_NOT_FOUND);
        ATT_TRY(expect(r, ':'));
        ATT_TRY(value(r, depth, &v));
        ATT_ENSURE(json_object_setn_new_nocheck(obj, (const char *)name.ptr, name.len, v) == 0,
                   ATT_ERR_NOMEM);
        skip_ws(r);
        ATT_ENSURE(att_rd_u8(r, &c) == ATT_OK, ATT_ERR_NOT_FOUND);
        if (c == '}') {
            return ATT_OK;
        }
        ATT_ENSURE(c == ',', ATT_ERR_NOT_FOUND);
        skip_ws(r);
    }
}

static att_err object(struct att_rd *r, int depth, json_t **out)
{
    uint8_t c = 0;
    json_t *obj;
    att_err rc = ATT_OK;
    ATT_ENSURE(depth <= ATT_JSON_PLAIN_MAX_DEPTH, ATT_ERR_NOT_FOUND);
    ATT_TRY(expect(r, '{'));
    obj = json_object();
    ATT_ENSURE(obj != NULL, ATT_ERR_NOMEM);
    skip_ws(r);
    if (att_rd_peek_u8(r, &c) == ATT_OK && c == '}') {
        att_ignore_err(att_rd_skip(r, 1)); /* peeked */
    } else {
        rc = members(r, depth, obj);
    }
    if (rc != ATT_OK) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return ATT_OK;
}

att_err att_json_plain_load(const uint8_t *text, size_t len, json_t **out)
{
    struct att_rd r;
    json_t *doc = NULL;
    att_rd_init(&r, text, len);
    ATT_TRY(object(&r, 1, &doc));
    skip_ws(&r);
    if (att_rd_end(&r) != ATT_OK) {
        json_decref(doc);
        return ATT_ERR_NOT_FOUND; /* trailing bytes: jansson refuses them */
    }
    *out = doc;
    return ATT_OK;
}
