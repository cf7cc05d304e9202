/*
 * pcs.c - raw Intel PCS API v4 responses: the signed body of a TCB info / enclave identity
 * response, and percent-encoded issuer-chain headers (docs/reference/intel-collateral.md §4.1,
 * §4.4, §8.3).
 *
 * Input: HTTP bodies and header values from the network, untrusted.
 *
 * The signature covers "the exact bytes of the value of tcbInfo / enclaveIdentity as they appear
 * in the response, from its { to the matching }" (docs/reference/intel-collateral.md §4.4), so the
 * body is located by a small scanner over the raw text, never re-serialised. jansson validates the
 * whole text first (so the scanner only ever walks valid JSON), and afterwards the span is parsed
 * on its own and compared with jansson's view of the member: the two readings must agree.
 */
#include "collateral/pcs.h"

#include <jansson.h>
#include <stdbool.h>

#include "core/codec.h"

/* =====================================================================
 * Scanner over the raw text (valid JSON, as jansson said so; still bounded)
 * ===================================================================== */

static bool is_ws(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static void skip_ws(struct att_rd *r)
{
    uint8_t ch = 0;
    while (att_rd_peek_u8(r, &ch) == ATT_OK && is_ws(ch)) {
        att_ignore_err(att_rd_skip(r, 1)); /* cannot fail: peek saw a byte */
    }
}

static att_err expect(struct att_rd *r, uint8_t want)
{
    uint8_t ch = 0;
    ATT_TRY(att_rd_u8(r, &ch));
    ATT_ENSURE(ch == want, ATT_ERR_PARSE);
    return ATT_OK;
}

/*
 * A string from its opening quote (RFC 8259 §7): borrow its raw content, escapes undecoded.
 * *escaped tells whether it had any.
 */
static att_err scan_string(struct att_rd *r, struct att_bytes whole, struct att_bytes *raw,
                           bool *escaped)
{
    ATT_TRY(expect(r, '"'));
    size_t start = att_rd_offset(r);
    *escaped = false;
    for (;;) {
        uint8_t ch = 0;
        ATT_TRY(att_rd_u8(r, &ch));
        if (ch == '"') {
            break;
        }
        if (ch == '\\') {
            /* The escaped character is never the closing quote; "\uXXXX" digits are plain. */
            *escaped = true;
            ATT_TRY(att_rd_skip(r, 1));
        }
    }
    return att_bytes_slice(whole, start, att_rd_offset(r) - 1 - start, raw);
}

/* One value (object, array, string or scalar) from the next non-space byte: its exact span. */
static att_err scan_value(struct att_rd *r, struct att_bytes whole, struct att_bytes *span)
{
    struct att_bytes s;
    bool esc = false;
    uint8_t ch = 0;

    skip_ws(r);
    size_t start = att_rd_offset(r);
    ATT_TRY(att_rd_peek_u8(r, &ch));
    if (ch == '"') {
        ATT_TRY(scan_string(r, whole, &s, &esc));
    } else if (ch == '{' || ch == '[') {
        /* Count brackets outside strings; jansson checked they pair up. */
        size_t depth = 0;
        do {
            ATT_TRY(att_rd_peek_u8(r, &ch));
            if (ch == '"') {
                ATT_TRY(scan_string(r, whole, &s, &esc));
                continue;
            }
            ATT_TRY(att_rd_skip(r, 1));
            if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                ATT_ENSURE(depth > 0, ATT_ERR_PARSE);
                depth--;
            }
        } while (depth > 0);
    } else {
        /* number, true, false, null: up to the next delimiter */
        while (att_rd_peek_u8(r, &ch) == ATT_OK && !is_ws(ch) && ch != ',' && ch != '}' &&
               ch != ']') {
            ATT_TRY(att_rd_skip(r, 1));
        }
        ATT_ENSURE(att_rd_offset(r) > start, ATT_ERR_PARSE);
    }
    return att_bytes_slice(whole, start, att_rd_offset(r) - start, span);
}

/*
 * The span of top-level member `key` of the object in `whole`. ATT_ERR_NOT_FOUND when absent,
 * ATT_ERR_VALIDATE for a top-level name with escapes, ATT_ERR_PARSE when the text is not what
 * the scanner expects.
 */
static att_err find_member(struct att_bytes whole, const char *key, struct att_bytes *span)
{
    struct att_rd r;
    struct att_bytes name;
    struct att_bytes value;
    bool esc = false;
    bool found = false;
    uint8_t ch = 0;

    att_rd_init(&r, whole.ptr, whole.len);
    skip_ws(&r);
    ATT_TRY(expect(&r, '{'));
    skip_ws(&r);
    ATT_TRY(att_rd_peek_u8(&r, &ch));
    if (ch == '}') {
        return ATT_ERR_NOT_FOUND;
    }
    for (;;) {
        skip_ws(&r);
        ATT_TRY(scan_string(&r, whole, &name, &esc));
        /* jansson compares decoded names, we compare raw ones: refuse what could differ. */
        ATT_ENSURE(!esc, ATT_ERR_VALIDATE);
        skip_ws(&r);
        ATT_TRY(expect(&r, ':'));
        ATT_TRY(scan_value(&r, whole, &value));
        if (att_bytes_eq_str(name, key)) {
            ATT_ENSURE(!found, ATT_ERR_PARSE); /* jansson refused duplicates already */
            *span = value;
            found = true;
        }
        skip_ws(&r);
        ATT_TRY(att_rd_u8(&r, &ch));
        if (ch == '}') {
            break;
        }
        ATT_ENSURE(ch == ',', ATT_ERR_PARSE);
    }
    skip_ws(&r);
    ATT_TRY(att_rd_end(&r));
    return found ? ATT_OK : ATT_ERR_NOT_FOUND;
}

/* =====================================================================
 * Public entry points
 * ===================================================================== */

att_err att_pcs_signed_body(const char *text, size_t len, const char *key, struct att_bytes *body,
                            uint8_t sig[64], char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    json_t *doc = NULL;
    json_t *alone = NULL;
    json_error_t jerr;
    struct att_bytes span = {NULL, 0};
    struct att_buf raw;
    struct att_rd r;
    uint8_t s[64];

    att_buf_init(&raw, sizeof(s));
    ATT_CHECK(key != NULL && body != NULL && sig != NULL && (text != NULL || len == 0),
              ATT_ERR_ARG);
    if (len > ATT_PCS_MAX_RESPONSE) {
        rc = att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "response of %zu bytes, more than %d", len,
                       ATT_PCS_MAX_RESPONSE);
        goto out;
    }
    doc = json_loadb(text != NULL ? text : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "%s (byte %d)",
                       json_error_code(&jerr) == json_error_duplicate_key ? "duplicate member name"
                                                                          : "not valid JSON",
                       jerr.position);
        goto out;
    }
    if (!json_is_object(doc)) {
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "expected a JSON object");
        goto out;
    }
    const json_t *want = json_object_get(doc, key);
    if (!json_is_object(want)) {
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "%s: %s", key,
                       want == NULL ? "missing" : "expected an object");
        goto out;
    }

    /* The signature: 64 bytes r || s as 128 hex digits (docs/reference/intel-collateral.md §4.4).
     */
    const json_t *hex = json_object_get(doc, "signature");
    if (!json_is_string(hex)) {
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "signature: %s",
                       hex == NULL ? "missing" : "expected a string");
        goto out;
    }
    if (json_string_length(hex) != 2 * sizeof(s)) {
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                       "signature: expected %zu hex digits, found %zu characters", 2 * sizeof(s),
                       json_string_length(hex));
        goto out;
    }
    if (att_hex_decode(json_string_value(hex), json_string_length(hex), &raw) != ATT_OK) {
        rc = att_failf(ATT_ERR_ENCODING, msg, msg_len, "signature: not hex");
        goto out;
    }
    att_rd_init(&r, raw.data, raw.len);
    ATT_GUARD(att_rd_copy(&r, s, sizeof(s)));

    /* The signed span, from the raw text. */
    struct att_bytes whole = {(const uint8_t *)text, len};
    rc = find_member(whole, key, &span);
    if (rc == ATT_ERR_VALIDATE) {
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                       "a top-level member name uses escapes");
        goto out;
    }
    if (rc != ATT_OK) {
        /* jansson found the member and the scanner did not: say so, never guess. */
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                       "%s: cannot locate the signed bytes", key);
        goto out;
    }
    if (span.len > ATT_COLLATERAL_MAX_DOC) {
        rc = att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "%s: %zu bytes, more than %d", key,
                       span.len, ATT_COLLATERAL_MAX_DOC);
        goto out;
    }
    alone = json_loadb((const char *)span.ptr, span.len, JSON_REJECT_DUPLICATES, &jerr);
    if (alone == NULL || !json_equal(alone, want)) {
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                       "%s: cannot locate the signed bytes", key);
        goto out;
    }
    *body = span;
    att_rd_init(&r, s, sizeof(s));
    ATT_GUARD(att_rd_copy(&r, sig, sizeof(s)));
    rc = ATT_OK;
out:
    json_decref(alone);
    json_decref(doc);
    att_buf_cleanup(&raw);
    return rc;
}

static bool is_text(uint8_t ch)
{
    return (ch >= 0x20 && ch <= 0x7e) || ch == '\n' || ch == '\r' || ch == '\t';
}

att_err att_pcs_issuer_chain_decode(const char *hdr, size_t len, struct att_buf *pem)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf tmp;
    struct att_rd r;

    att_buf_init(&tmp, ATT_PCS_MAX_CHAIN_PEM);
    ATT_CHECK(pem != NULL && (hdr != NULL || len == 0), ATT_ERR_ARG);
    /* Each output byte takes at most three input bytes. */
    ATT_CHECK(len <= 3 * (size_t)ATT_PCS_MAX_CHAIN_PEM, ATT_ERR_TOO_LARGE);
    att_rd_init(&r, hdr, len);
    while (att_rd_left(&r) > 0) {
        uint8_t ch = 0;
        ATT_GUARD(att_rd_u8(&r, &ch));
        if (ch == '%') {
            /* RFC 3986 §2.1: pct-encoded = "%" HEXDIG HEXDIG */
            uint8_t pair[2];
            ATT_CHECK(att_rd_copy(&r, pair, sizeof(pair)) == ATT_OK, ATT_ERR_ENCODING);
            int hi = att_hex_nibble(pair[0]);
            int lo = att_hex_nibble(pair[1]);
            ATT_CHECK(hi >= 0 && lo >= 0, ATT_ERR_ENCODING);
            ch = (uint8_t)(hi << 4 | lo);
        }
        ATT_CHECK(is_text(ch), ATT_ERR_ENCODING);
        ATT_GUARD(att_buf_putc(&tmp, ch));
    }
    ATT_CHECK(tmp.len > 0, ATT_ERR_ENCODING);
    ATT_GUARD(att_buf_put(pem, tmp.data, tmp.len));
    rc = ATT_OK;
out:
    att_buf_cleanup(&tmp);
    return rc;
}
