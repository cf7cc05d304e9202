/*
 * fetch.c - the Intel PCS API v4 client (fetch.h): URLs, the transfer through
 * att_https_get_ex, and the handling of each answer (status, Retry-After, issuer-chain
 * header, body) as pure functions of the bytes received.
 *
 * Input: HTTP status, header lines and bodies from a PCS or PCCS, untrusted. Everything is
 * read through the bounded reader; nothing here verifies signatures or chains (the loaders in
 * src/evidence/intel/dcap.c do, before anything fetched is used or stored).
 */
#include "collateral/fetch.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "collateral/pcs.h"
#include "core/codec.h"
#include "core/timeutil.h"
#include "net/https.h"
#include "metrics/metrics.h"

/* =====================================================================
 * Items
 * ===================================================================== */

void att_pcs_item_init(struct att_pcs_item *it)
{
    memset(it, 0, sizeof(*it));
    att_buf_init(&it->body, ATT_PCS_MAX_CRL);
    att_buf_init(&it->issuer_chain, ATT_PCS_MAX_CHAIN_PEM);
}

void att_pcs_item_cleanup(struct att_pcs_item *it)
{
    if (it != NULL) {
        att_buf_cleanup(&it->body);
        att_buf_cleanup(&it->issuer_chain);
    }
}

/* =====================================================================
 * Small readers over borrowed text
 * ===================================================================== */

static bool starts_with(struct att_bytes b, const char *prefix)
{
    struct att_bytes head;
    return att_bytes_slice(b, 0, strlen(prefix), &head) == ATT_OK && att_bytes_eq_str(head, prefix);
}

/* b without one trailing CR. */
static struct att_bytes drop_cr(struct att_bytes b)
{
    struct att_bytes last;
    struct att_bytes rest;
    if (b.len > 0 && att_bytes_slice(b, b.len - 1, 1, &last) == ATT_OK &&
        att_bytes_eq_str(last, "\r") && att_bytes_slice(b, 0, b.len - 1, &rest) == ATT_OK) {
        return rest;
    }
    return b;
}

static bool is_space(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* b without white space (SP, TAB, CR, LF) at either end. */
static struct att_bytes trim_space(struct att_bytes b)
{
    struct att_rd r;
    struct att_bytes out = {b.ptr, 0};
    size_t start = 0;
    size_t end = 0;
    bool seen = false;
    uint8_t ch = 0;

    att_rd_init(&r, b.ptr, b.len);
    while (att_rd_u8(&r, &ch) == ATT_OK) {
        if (!is_space(ch)) {
            if (!seen) {
                start = att_rd_offset(&r) - 1;
                seen = true;
            }
            end = att_rd_offset(&r);
        }
    }
    if (seen && att_bytes_slice(b, start, end - start, &out) == ATT_OK) {
        return out;
    }
    return out;
}

/* =====================================================================
 * Header lines
 * ===================================================================== */

att_err att_pcs_header_value(struct att_bytes headers, const char *name, struct att_bytes *value)
{
    struct att_rd r;
    struct att_bytes found = {NULL, 0};
    bool have = false;
    bool prev_matched = false;
    bool first = true;

    ATT_ENSURE(name != NULL && value != NULL && (headers.ptr != NULL || headers.len == 0),
               ATT_ERR_ARG);
    att_rd_init(&r, headers.ptr, headers.len);
    while (att_rd_left(&r) > 0) {
        struct att_bytes line;
        if (att_rd_until(&r, '\n', &line) != ATT_OK) {
            att_rd_rest(&r, &line); /* a last line without its end */
        }
        line = drop_cr(line);
        if (first) {
            first = false;
            if (starts_with(line, "HTTP/")) {
                continue; /* the status line; its reason phrase may hold a colon */
            }
        }
        if (starts_with(line, " ") || starts_with(line, "\t")) {
            /* obs-fold: this line continues the previous field's value. */
            ATT_ENSURE(!prev_matched, ATT_ERR_COLLATERAL_FORMAT);
            continue;
        }
        prev_matched = false;
        struct att_rd lr;
        struct att_bytes field;
        struct att_bytes rest;
        att_rd_init(&lr, line.ptr, line.len);
        if (att_rd_until(&lr, ':', &field) != ATT_OK) {
            continue; /* not a field line (the blank line at the end) */
        }
        /* RFC 9110 §5.1: field names are case-insensitive; no space before the colon. */
        if (!att_bytes_eq_str_nocase(field, name)) {
            continue;
        }
        ATT_ENSURE(!have, ATT_ERR_COLLATERAL_FORMAT);
        att_rd_rest(&lr, &rest);
        found = att_bytes_trim(rest);
        have = true;
        prev_matched = true;
    }
    ATT_ENSURE(have, ATT_ERR_NOT_FOUND);
    *value = found;
    return ATT_OK;
}

/* =====================================================================
 * Retry-After (RFC 9110 §10.2.3, HTTP-date §5.6.7)
 * ===================================================================== */

static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const day_names_long[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                             "Friday", "Saturday", "Sunday"};

struct http_date {
    int year, month, day, hour, min, sec;
};

static att_err lit(struct att_rd *r, const char *s)
{
    struct att_bytes b;
    ATT_ENSURE(att_rd_bytes(r, strlen(s), &b) == ATT_OK && att_bytes_eq_str(b, s), ATT_ERR_PARSE);
    return ATT_OK;
}

/* Exactly n ASCII digits. */
static att_err digits(struct att_rd *r, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = 0;
        ATT_ENSURE(att_rd_u8(r, &ch) == ATT_OK && ch >= '0' && ch <= '9', ATT_ERR_PARSE);
        v = v * 10 + (ch - '0');
    }
    *out = v;
    return ATT_OK;
}

/* One of `names` (case-sensitive, as §5.6.7 says), ended by `delim` (consumed). */
static att_err name_until(struct att_rd *r, uint8_t delim, const char *const *names, size_t n,
                          int *index)
{
    struct att_bytes w;
    ATT_ENSURE(att_rd_until(r, delim, &w) == ATT_OK, ATT_ERR_PARSE);
    for (size_t i = 0; i < n; i++) {
        if (att_bytes_eq_str(w, names[i])) {
            *index = (int)i;
            return ATT_OK;
        }
    }
    return ATT_ERR_PARSE;
}

static att_err month(struct att_rd *r, int *out)
{
    struct att_bytes w;
    ATT_ENSURE(att_rd_bytes(r, 3, &w) == ATT_OK, ATT_ERR_PARSE);
    for (size_t i = 0; i < 12; i++) {
        if (att_bytes_eq_str(w, month_names[i])) {
            *out = (int)i + 1;
            return ATT_OK;
        }
    }
    return ATT_ERR_PARSE;
}

/* time-of-day = hour ":" minute ":" second */
static att_err time_of_day(struct att_rd *r, struct http_date *d)
{
    ATT_TRY(digits(r, 2, &d->hour));
    ATT_TRY(lit(r, ":"));
    ATT_TRY(digits(r, 2, &d->min));
    ATT_TRY(lit(r, ":"));
    return digits(r, 2, &d->sec);
}

/* IMF-fixdate = day-name "," SP day SP month SP year SP time-of-day SP "GMT" */
static att_err imf_fixdate(struct att_bytes v, struct http_date *d)
{
    struct att_rd r;
    int wd = 0;
    att_rd_init(&r, v.ptr, v.len);
    ATT_TRY(name_until(&r, ',', day_names, 7, &wd));
    ATT_TRY(lit(&r, " "));
    ATT_TRY(digits(&r, 2, &d->day));
    ATT_TRY(lit(&r, " "));
    ATT_TRY(month(&r, &d->month));
    ATT_TRY(lit(&r, " "));
    ATT_TRY(digits(&r, 4, &d->year));
    ATT_TRY(lit(&r, " "));
    ATT_TRY(time_of_day(&r, d));
    ATT_TRY(lit(&r, " GMT"));
    return att_rd_end(&r) == ATT_OK ? ATT_OK : ATT_ERR_PARSE;
}

/*
 * rfc850-date = day-name-l "," SP day "-" month "-" 2DIGIT SP time-of-day SP "GMT". §5.6.7: a
 * two-digit year more than 50 years in the future means the most recent past year with the
 * same last two digits.
 */
static att_err rfc850_date(struct att_bytes v, int now_year, struct http_date *d)
{
    struct att_rd r;
    int wd = 0;
    int yy = 0;
    att_rd_init(&r, v.ptr, v.len);
    ATT_TRY(name_until(&r, ',', day_names_long, 7, &wd));
    ATT_TRY(lit(&r, " "));
    ATT_TRY(digits(&r, 2, &d->day));
    ATT_TRY(lit(&r, "-"));
    ATT_TRY(month(&r, &d->month));
    ATT_TRY(lit(&r, "-"));
    ATT_TRY(digits(&r, 2, &yy));
    ATT_TRY(lit(&r, " "));
    ATT_TRY(time_of_day(&r, d));
    ATT_TRY(lit(&r, " GMT"));
    ATT_ENSURE(att_rd_end(&r) == ATT_OK, ATT_ERR_PARSE);
    d->year = now_year - now_year % 100 + yy;
    if (d->year > now_year + 50) {
        d->year -= 100;
    }
    return ATT_OK;
}

/* asctime-date = day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP year */
static att_err asctime_date(struct att_bytes v, struct http_date *d)
{
    struct att_rd r;
    int wd = 0;
    uint8_t ch = 0;
    att_rd_init(&r, v.ptr, v.len);
    ATT_TRY(name_until(&r, ' ', day_names, 7, &wd));
    ATT_TRY(month(&r, &d->month));
    ATT_TRY(lit(&r, " "));
    ATT_ENSURE(att_rd_peek_u8(&r, &ch) == ATT_OK, ATT_ERR_PARSE);
    if (ch == ' ') {
        ATT_TRY(lit(&r, " "));
        ATT_TRY(digits(&r, 1, &d->day));
    } else {
        ATT_TRY(digits(&r, 2, &d->day));
    }
    ATT_TRY(lit(&r, " "));
    ATT_TRY(time_of_day(&r, d));
    ATT_TRY(lit(&r, " "));
    ATT_TRY(digits(&r, 4, &d->year));
    return att_rd_end(&r) == ATT_OK ? ATT_OK : ATT_ERR_PARSE;
}

/* The year of `now` (UTC), from its RFC 3339 text. */
static int year_of(int64_t now)
{
    char text[32];
    struct att_rd r;
    int y = 1970;
    att_time_format(now, text, sizeof(text));
    att_rd_init(&r, text, strnlen(text, sizeof(text)));
    if (digits(&r, 4, &y) != ATT_OK) {
        return 1970;
    }
    return y;
}

/* Seconds since the epoch; the calendar checks are att_time_parse_rfc3339's. */
static att_err date_epoch(const struct http_date *d, int64_t *out)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ", d->year, d->month,
                     d->day, d->hour, d->min, d->sec);
    ATT_ENSURE(n == 20, ATT_ERR_PARSE);
    return att_time_parse_rfc3339(text, (size_t)n, out);
}

att_err att_pcs_retry_after(struct att_bytes value, int64_t now, int64_t *seconds)
{
    struct att_bytes v = att_bytes_trim(value);
    struct http_date d = {0, 0, 0, 0, 0, 0};
    struct att_rd r;
    uint8_t ch = 0;
    int64_t when = 0;

    ATT_ENSURE(v.len > 0, ATT_ERR_PARSE);
    /* delta-seconds = 1*DIGIT, saturating at the cap */
    att_rd_init(&r, v.ptr, v.len);
    int64_t delta = 0;
    bool all_digits = true;
    while (att_rd_u8(&r, &ch) == ATT_OK) {
        if (ch < '0' || ch > '9') {
            all_digits = false;
            break;
        }
        delta = delta * 10 + (ch - '0');
        if (delta > ATT_PCS_RETRY_AFTER_CAP) {
            delta = ATT_PCS_RETRY_AFTER_CAP + 1; /* stays bounded however long the run */
        }
    }
    if (all_digits) {
        *seconds = delta > ATT_PCS_RETRY_AFTER_CAP ? ATT_PCS_RETRY_AFTER_CAP : delta;
        return ATT_OK;
    }
    if (imf_fixdate(v, &d) != ATT_OK && rfc850_date(v, year_of(now), &d) != ATT_OK &&
        asctime_date(v, &d) != ATT_OK) {
        return ATT_ERR_PARSE;
    }
    ATT_ENSURE(date_epoch(&d, &when) == ATT_OK, ATT_ERR_PARSE);
    if (when <= now) {
        *seconds = 0;
    } else {
        *seconds = when - now > ATT_PCS_RETRY_AFTER_CAP ? ATT_PCS_RETRY_AFTER_CAP : when - now;
    }
    return ATT_OK;
}

/* =====================================================================
 * CRL bodies: DER, PEM or hex text
 * ===================================================================== */

/*
 * One DER SEQUENCE spanning all of b (X.690 §8.1.3: definite length, §10.1: in the fewest
 * octets). Its content is the CRL loader's business.
 */
static bool der_sequence(struct att_bytes b)
{
    struct att_rd r;
    uint8_t tag = 0;
    uint8_t l0 = 0;
    size_t len = 0;

    att_rd_init(&r, b.ptr, b.len);
    if (att_rd_u8(&r, &tag) != ATT_OK || tag != 0x30 || att_rd_u8(&r, &l0) != ATT_OK) {
        return false;
    }
    if (l0 < 0x80) {
        len = l0;
    } else {
        size_t k = l0 & 0x7fu;
        if (k == 0 || k > 4) {
            return false; /* indefinite, or longer than any CRL we take */
        }
        for (size_t i = 0; i < k; i++) {
            uint8_t byte = 0;
            if (att_rd_u8(&r, &byte) != ATT_OK || (i == 0 && byte == 0)) {
                return false;
            }
            len = len << 8 | byte;
        }
        if (len < 0x80) {
            return false; /* fits the short form */
        }
    }
    return att_rd_skip(&r, len) == ATT_OK && att_rd_end(&r) == ATT_OK;
}

static bool is_b64(uint8_t ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/' || ch == '=';
}

#define PEM_BEGIN "-----BEGIN X509 CRL-----"
#define PEM_END "-----END X509 CRL-----"

/* RFC 7468 §2 textual encoding (one CRL, no headers) into tmp as DER. */
static att_err pem_decode(struct att_bytes text, struct att_buf *tmp, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_rd r;
    struct att_buf b64;
    uint8_t ch = 0;

    att_buf_init(&b64, ATT_PCS_MAX_CRL_RESPONSE);
    att_rd_init(&r, text.ptr, text.len);
    ATT_GUARD(lit(&r, PEM_BEGIN) == ATT_OK ? ATT_OK : ATT_ERR_COLLATERAL_FORMAT);
    for (;;) {
        if (att_rd_peek_u8(&r, &ch) != ATT_OK) {
            rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "PEM CRL without its end line");
            goto out;
        }
        if (ch == '-') {
            break;
        }
        ATT_GUARD(att_rd_skip(&r, 1));
        if (is_space(ch)) {
            continue;
        }
        if (!is_b64(ch)) {
            rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "PEM CRL: not base64");
            goto out;
        }
        ATT_GUARD(att_buf_putc(&b64, ch));
    }
    if (lit(&r, PEM_END) != ATT_OK || att_rd_end(&r) != ATT_OK) {
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                       "PEM CRL: a bad end line, or text after it");
        goto out;
    }
    if (att_b64_decode((const char *)att_buf_cstr(&b64), b64.len, tmp) != ATT_OK) {
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "PEM CRL: bad base64");
        goto out;
    }
    rc = ATT_OK;
out:
    att_buf_cleanup(&b64);
    return rc;
}

att_err att_pcs_crl_der(struct att_bytes body, struct att_buf *der, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf tmp;
    struct att_rd r;
    uint8_t first = 0;

    /* One byte over the cap tells "too large" from "fits". */
    att_buf_init(&tmp, ATT_PCS_MAX_CRL + 1);
    ATT_CHECK(der != NULL && (body.ptr != NULL || body.len == 0), ATT_ERR_ARG);
    att_rd_init(&r, body.ptr, body.len);
    if (att_rd_peek_u8(&r, &first) != ATT_OK) {
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "empty CRL body");
        goto out;
    }
    if (body.len > ATT_PCS_MAX_CRL_RESPONSE) {
        rc = att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "CRL body of %zu bytes", body.len);
        goto out;
    }
    if (first == 0x30) { /* DER: a SEQUENCE; hex or PEM text never starts with this byte */
        if (body.len > ATT_PCS_MAX_CRL) {
            rc = att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "CRL of %zu bytes", body.len);
            goto out;
        }
        ATT_GUARD(att_buf_put(&tmp, body.ptr, body.len));
    } else {
        struct att_bytes text = trim_space(body);
        if (starts_with(text, "-----BEGIN")) {
            ATT_GUARD(pem_decode(text, &tmp, msg, msg_len));
        } else {
            /* A PCCS may answer with the DER as hex text. */
            rc = att_hex_decode((const char *)text.ptr, text.len, &tmp);
            if (rc == ATT_ERR_TOO_LARGE) {
                rc = att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "CRL of more than %zu bytes",
                               ATT_PCS_MAX_CRL);
                goto out;
            }
            if (rc != ATT_OK) {
                rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                               "CRL body is neither DER, PEM nor hex");
                goto out;
            }
        }
    }
    if (tmp.len > ATT_PCS_MAX_CRL) {
        rc = att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "CRL of more than %zu bytes",
                       ATT_PCS_MAX_CRL);
        goto out;
    }
    struct att_bytes got = {tmp.data, tmp.len};
    if (!der_sequence(got)) {
        rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                       "CRL is not one DER SEQUENCE of definite length");
        goto out;
    }
    ATT_GUARD(att_buf_put(der, tmp.data, tmp.len));
    rc = ATT_OK;
out:
    att_buf_cleanup(&tmp);
    return rc;
}

/* =====================================================================
 * Answers
 * ===================================================================== */

struct kind_info {
    const char *what;     /* for messages */
    const char *doc_key;  /* member holding the signed body, or NULL for a CRL */
    const char *chain[2]; /* issuer-chain header names, in order of preference */
    size_t max_response;  /* body cap of the transfer */
};

static const struct kind_info kinds[] = {
    [ATT_PCS_TCB_INFO] = {"TCB info",
                          "tcbInfo",
                          {"TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain"},
                          ATT_PCS_MAX_RESPONSE},
    [ATT_PCS_QE_IDENTITY] = {"QE identity",
                             "enclaveIdentity",
                             {"SGX-Enclave-Identity-Issuer-Chain", NULL},
                             ATT_PCS_MAX_RESPONSE},
    [ATT_PCS_PCK_CRL] = {"PCK CRL",
                         NULL,
                         {"SGX-PCK-CRL-Issuer-Chain", NULL},
                         ATT_PCS_MAX_CRL_RESPONSE},
    [ATT_PCS_ROOT_CRL] = {"Root CA CRL", NULL, {NULL, NULL}, ATT_PCS_MAX_CRL_RESPONSE},
};

static att_err status_error(const struct kind_info *k, long status, const struct att_buf *headers,
                            int64_t now, struct att_pcs_item *out, char *msg, size_t msg_len)
{
    struct att_bytes hb = {headers != NULL ? headers->data : NULL,
                           headers != NULL ? headers->len : 0};
    struct att_bytes v;
    int64_t secs = 0;

    if (status == 404) {
        return att_failf(ATT_ERR_NOT_FOUND, msg, msg_len, "%s: HTTP status 404 (not known)",
                         k->what);
    }
    if (status == 429 || status == 503) {
        out->retry_after = 0;
        if (att_pcs_header_value(hb, "Retry-After", &v) == ATT_OK &&
            att_pcs_retry_after(v, now, &secs) == ATT_OK) {
            out->retry_after = secs;
        }
        return att_failf(ATT_ERR_FETCH, msg, msg_len, "%s: HTTP status %ld (retry after %lld s)",
                         k->what, status, (long long)out->retry_after);
    }
    return att_failf(ATT_ERR_FETCH, msg, msg_len, "%s: HTTP status %ld", k->what, status);
}

/* The kind's issuer chain header, decoded into it->issuer_chain. */
static att_err chain_from(const struct kind_info *k, const struct att_buf *headers,
                          struct att_pcs_item *it, char *msg, size_t msg_len)
{
    struct att_bytes hb = {headers != NULL ? headers->data : NULL,
                           headers != NULL ? headers->len : 0};
    struct att_bytes v = {NULL, 0};
    att_err rc = ATT_ERR_NOT_FOUND;

    for (size_t i = 0; i < 2 && k->chain[i] != NULL && rc == ATT_ERR_NOT_FOUND; i++) {
        rc = att_pcs_header_value(hb, k->chain[i], &v);
    }
    if (rc == ATT_ERR_NOT_FOUND) {
        return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "%s: no %s header", k->what,
                         k->chain[0]);
    }
    if (rc != ATT_OK) {
        return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                         "%s: %s header repeated or folded", k->what, k->chain[0]);
    }
    rc = att_pcs_issuer_chain_decode((const char *)v.ptr, v.len, &it->issuer_chain);
    if (rc == ATT_ERR_TOO_LARGE) {
        return att_failf(rc, msg, msg_len, "%s: issuer chain larger than %d bytes", k->what,
                         ATT_PCS_MAX_CHAIN_PEM);
    }
    if (rc != ATT_OK) {
        return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                         "%s: issuer chain header is not percent-encoded PEM text", k->what);
    }
    return ATT_OK;
}

/* A signed document: the exact bytes of the member and the signature. */
static att_err document_from(const struct kind_info *k, const struct att_buf *body,
                             struct att_pcs_item *it, char *msg, size_t msg_len)
{
    struct att_bytes span = {NULL, 0};
    char why[160] = "";
    att_err rc = att_pcs_signed_body(body->data != NULL ? (const char *)body->data : "", body->len,
                                     k->doc_key, &span, it->signature, why, sizeof(why));
    if (rc == ATT_ERR_TOO_LARGE) {
        return att_failf(rc, msg, msg_len, "%s: %s", k->what, why);
    }
    if (rc != ATT_OK) {
        return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "%s: %s", k->what,
                         why[0] != '\0' ? why : att_err_name(rc));
    }
    it->has_signature = true;
    return att_buf_put(&it->body, span.ptr, span.len);
}

att_err att_pcs_response_parse(enum att_pcs_kind kind, long status, const struct att_buf *body,
                               const struct att_buf *headers, int64_t now, struct att_pcs_item *out,
                               char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_pcs_item it;

    att_pcs_item_init(&it);
    ATT_CHECK((unsigned)kind <= ATT_PCS_ROOT_CRL && body != NULL && out != NULL, ATT_ERR_ARG);
    const struct kind_info *k = &kinds[kind];
    if (status != 200) {
        rc = status_error(k, status, headers, now, out, msg, msg_len);
        goto out;
    }
    if (k->doc_key != NULL) {
        ATT_GUARD(document_from(k, body, &it, msg, msg_len));
    } else {
        char why[160] = "";
        struct att_bytes b = {body->data, body->len};
        rc = att_pcs_crl_der(b, &it.body, why, sizeof(why));
        if (rc != ATT_OK) {
            rc = att_failf(rc, msg, msg_len, "%s: %s", k->what, why);
            goto out;
        }
    }
    if (k->chain[0] != NULL) {
        ATT_GUARD(chain_from(k, headers, &it, msg, msg_len));
    }
    /* Written only now: hand the buffers over. */
    att_pcs_item_cleanup(out);
    *out = it;
    att_pcs_item_init(&it);
    rc = ATT_OK;
out:
    att_pcs_item_cleanup(&it);
    return rc;
}

/* =====================================================================
 * Transfers
 * ===================================================================== */

__attribute__((format(printf, 3, 4))) static void say(char *detail, size_t len, const char *fmt,
                                                      ...)
{
    if (detail != NULL && len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, len, fmt, ap);
        va_end(ap);
    }
}

/* GET url and turn the answer into an item of `kind`. */
static att_err fetch(const struct att_pcs_client *c, const char *url, enum att_pcs_kind kind,
                     struct att_pcs_item *out, char *detail, size_t detail_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf key_hdr;
    struct att_buf body;
    struct att_buf headers;
    const char *req[2] = {NULL, NULL};
    char why[256] = "";
    long status = 0;

    att_buf_init_secret(&key_hdr, 4096);
    att_buf_init(&body, kinds[kind].max_response);
    att_buf_init(&headers, ATT_HTTPS_MAX_HEADERS);
    out->retry_after = 0;
    if (c->api_key != NULL && c->api_key[0] != '\0') {
        ATT_GUARD(att_buf_printf(&key_hdr, "Ocp-Apim-Subscription-Key: %s", c->api_key));
        req[0] = att_buf_cstr(&key_hdr);
    }
    ATT_GUARD(att_https_get_ex(url, c->ca_file, req, kinds[kind].max_response, c->timeout, &status,
                               &body, &headers, detail, detail_len));
    rc = att_pcs_response_parse(kind, status, &body, &headers, att_time_now(), out, why,
                                sizeof(why));
    if (rc != ATT_OK) {
        say(detail, detail_len, "%s: %s", url, why);
    }
out:
    att_buf_cleanup(&headers);
    att_buf_cleanup(&body);
    att_buf_cleanup(&key_hdr);
    att_metric_add(
        ATT_M_UPSTREAM_FETCHES,
        rc == ATT_OK ? "service=\"pcs\",result=\"ok\"" : "service=\"pcs\",result=\"error\"", 1);
    return rc;
}

/* {base}{path...}: the base without trailing slashes, then the formatted path. */
__attribute__((format(printf, 3, 4))) static att_err
make_url(const struct att_pcs_client *c, struct att_buf *url, const char *fmt, ...)
{
    ATT_ENSURE(c != NULL && c->base_url != NULL, ATT_ERR_ARG);
    size_t n = strnlen(c->base_url, ATT_PCS_URL_MAX + 1);
    ATT_ENSURE(n <= ATT_PCS_URL_MAX && strncmp(c->base_url, "https://", 8) == 0, ATT_ERR_ARG);
    while (n > 8 && c->base_url[n - 1] == '/') {
        n--;
    }
    ATT_TRY(att_buf_put(url, c->base_url, n));
    va_list ap;
    va_start(ap, fmt);
    att_err rc = att_buf_vprintf(url, fmt, ap);
    va_end(ap);
    return rc;
}

att_err att_pcs_fetch_tcb_info(const struct att_pcs_client *c, bool tdx, const uint8_t fmspc[6],
                               struct att_pcs_item *out, char *detail, size_t detail_len)
{
    struct att_buf url;
    att_buf_init(&url, ATT_PCS_URL_MAX + 128);
    say(detail, detail_len, "%s", "");
    att_err rc = fmspc == NULL || out == NULL ? ATT_ERR_ARG
                                              : make_url(c, &url,
                                                         "/%s/certification/v4/tcb?fmspc="
                                                         "%02X%02X%02X%02X%02X%02X",
                                                         tdx ? "tdx" : "sgx", fmspc[0], fmspc[1],
                                                         fmspc[2], fmspc[3], fmspc[4], fmspc[5]);
    if (rc == ATT_ERR_ARG) {
        say(detail, detail_len, "no https base URL for the PCS");
    }
    if (rc == ATT_OK) {
        rc = fetch(c, att_buf_cstr(&url), ATT_PCS_TCB_INFO, out, detail, detail_len);
    }
    att_buf_cleanup(&url);
    return rc;
}

att_err att_pcs_fetch_qe_identity(const struct att_pcs_client *c, bool tdx,
                                  struct att_pcs_item *out, char *detail, size_t detail_len)
{
    struct att_buf url;
    att_buf_init(&url, ATT_PCS_URL_MAX + 128);
    say(detail, detail_len, "%s", "");
    att_err rc = out == NULL
                     ? ATT_ERR_ARG
                     : make_url(c, &url, "/%s/certification/v4/qe/identity", tdx ? "tdx" : "sgx");
    if (rc == ATT_ERR_ARG) {
        say(detail, detail_len, "no https base URL for the PCS");
    }
    if (rc == ATT_OK) {
        rc = fetch(c, att_buf_cstr(&url), ATT_PCS_QE_IDENTITY, out, detail, detail_len);
    }
    att_buf_cleanup(&url);
    return rc;
}

att_err att_pcs_fetch_pck_crl(const struct att_pcs_client *c, bool platform,
                              struct att_pcs_item *out, char *detail, size_t detail_len)
{
    struct att_buf url;
    att_buf_init(&url, ATT_PCS_URL_MAX + 128);
    say(detail, detail_len, "%s", "");
    att_err rc = out == NULL ? ATT_ERR_ARG
                             : make_url(c, &url, "/sgx/certification/v4/pckcrl?ca=%s&encoding=der",
                                        platform ? "platform" : "processor");
    if (rc == ATT_ERR_ARG) {
        say(detail, detail_len, "no https base URL for the PCS");
    }
    if (rc == ATT_OK) {
        rc = fetch(c, att_buf_cstr(&url), ATT_PCS_PCK_CRL, out, detail, detail_len);
    }
    att_buf_cleanup(&url);
    return rc;
}

att_err att_pcs_fetch_root_crl(const struct att_pcs_client *c, struct att_pcs_item *out,
                               char *detail, size_t detail_len)
{
    say(detail, detail_len, "%s", "");
    ATT_ENSURE(c != NULL && out != NULL, ATT_ERR_ARG);
    const char *url = c->root_crl_url != NULL && c->root_crl_url[0] != '\0'
                          ? c->root_crl_url
                          : ATT_PCS_DEFAULT_ROOT_CRL_URL;
    ATT_ENSURE(strnlen(url, ATT_PCS_URL_MAX + 1) <= ATT_PCS_URL_MAX, ATT_ERR_ARG);
    return fetch(c, url, ATT_PCS_ROOT_CRL, out, detail, detail_len);
}
