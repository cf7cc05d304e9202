/*
 * record.c - an audit record's text and its place in the chain (audit.h).
 *
 * The body is a JSON object with the field names of Azure Monitor's common resource-log schema
 * (time, category, operationName, resultType, identity, callerIpAddress, correlationId,
 * properties; learn.microsoft.com/azure/azure-monitor/essentials/resource-logs-schema), which
 * SIEMs that ingest MAA's logs already map, plus attestd's "provider".
 *
 * Input trust: a body read back from the database may have been edited: it is parsed with
 * duplicate keys refused, and every column must agree with it.
 */
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "crypto/ecdsa.h"
#include "token/json_out.h"

static const char *or_empty(const char *s)
{
    return s != NULL ? s : "";
}

/* "2026-12-06T01:02:03.456Z" */
static void format_ms(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char base[24];
    if (ms < 0 || gmtime_r(&secs, &tm) == NULL ||
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, 32, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, surrogates or > U+10FFFF),
 * or 0. */
static size_t utf8_len(const uint8_t *p)
{
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        bool ok = (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
                  !(p[0] == 0xE0 && p[1] < 0xA0) && !(p[0] == 0xED && p[1] > 0x9F);
        return ok ? 3 : 0;
    }
    if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        bool ok = (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 &&
                  !(p[0] == 0xF0 && p[1] < 0x90) && !(p[0] == 0xF4 && p[1] > 0x8F);
        return ok ? 4 : 0;
    }
    return 0;
}

/*
 * Copy a value into its column, a byte that is not part of valid UTF-8 made '?' (the body then
 * says the same as the column, and parses).
 */
static att_err copy_field(const char *s, char *dst, size_t cap)
{
    const uint8_t *p = (const uint8_t *)or_empty(s);
    size_t n = strlen((const char *)p);
    ATT_ENSURE(n < cap, ATT_ERR_ARG);
    for (size_t i = 0; i < n;) {
        size_t len = p[i] < 0x80 ? 1 : utf8_len(p + i);
        if (len == 0) {
            dst[i++] = '?';
            continue;
        }
        memcpy(dst + i, p + i, len);
        i += len;
    }
    dst[n] = 0;
    return ATT_OK;
}

/* A JSON string (RFC 8259 §7): quotes, backslashes and controls escaped, valid UTF-8 kept,
 * any other byte written as U+FFFD. The strings are NUL-terminated, so a sequence cut by the
 * terminator fails its continuation check. */
static att_err put_string(struct att_buf *b, const char *s)
{
    const uint8_t *p = (const uint8_t *)or_empty(s);
    ATT_TRY(att_buf_putc(b, '"'));
    while (*p != 0) {
        /* A run of printable ASCII needs no escaping: copied at once (one per field). */
        size_t run = 0;
        while (p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') {
            run++;
        }
        if (run > 0) {
            ATT_TRY(att_buf_put(b, p, run));
            p += run;
            continue;
        }
        size_t n = *p < 0x80 ? 1 : utf8_len(p);
        if (*p == '"' || *p == '\\') {
            ATT_TRY(att_buf_putc(b, '\\'));
            ATT_TRY(att_buf_putc(b, *p));
        } else if (*p < 0x20) {
            ATT_TRY(att_buf_printf(b, "\\u%04x", *p));
        } else if (n == 0) {
            ATT_TRY(att_buf_puts(b, "\\ufffd"));
            n = 1;
        } else {
            ATT_TRY(att_buf_put(b, p, n));
        }
        p += n;
    }
    return att_buf_putc(b, '"');
}

/* "key":"value", (the comma unless last) */
static att_err put_field(struct att_buf *b, const char *key, const char *value)
{
    ATT_TRY(att_buf_putc(b, '"'));
    ATT_TRY(att_buf_puts(b, key));
    ATT_TRY(att_buf_puts(b, "\":"));
    ATT_TRY(put_string(b, value));
    return att_buf_putc(b, ',');
}

att_err att_audit_record_make(const struct att_audit_event *ev, int64_t time_ms,
                              struct att_audit_row *row)
{
    char when[32];
    format_ms(time_ms, when);
    row->time_ms = time_ms;
    ATT_TRY(copy_field(ev->category, row->category, sizeof(row->category)));
    ATT_TRY(copy_field(ev->action, row->action, sizeof(row->action)));
    ATT_TRY(copy_field(ev->outcome, row->outcome, sizeof(row->outcome)));
    ATT_TRY(copy_field(ev->principal, row->principal, sizeof(row->principal)));
    ATT_TRY(copy_field(ev->principal_name, row->principal_name, sizeof(row->principal_name)));
    ATT_TRY(copy_field(ev->provider, row->provider, sizeof(row->provider)));
    ATT_TRY(copy_field(ev->request_id, row->request_id, sizeof(row->request_id)));
    /* Written directly, in a fixed order (one per request: jansson's pack and dump cost more
     * than the rest of the record's way to disk). */
    struct att_buf *b = &row->body;
    att_buf_reset(b);
    att_buf_presize(b, 640); /* an attestation's record, grown once rather than four times */
    ATT_TRY(att_buf_putc(b, '{'));
    ATT_TRY(put_field(b, "time", when));
    ATT_TRY(put_field(b, "category", row->category));
    ATT_TRY(put_field(b, "operationName", row->action));
    ATT_TRY(put_field(b, "resultType", row->outcome));
    ATT_TRY(att_buf_puts(b, "\"identity\":{"));
    ATT_TRY(put_field(b, "id", row->principal));
    ATT_TRY(att_buf_puts(b, "\"name\":"));
    ATT_TRY(put_string(b, row->principal_name));
    ATT_TRY(att_buf_puts(b, "},"));
    ATT_TRY(put_field(b, "callerIpAddress", ev->source));
    ATT_TRY(put_field(b, "provider", row->provider));
    ATT_TRY(put_field(b, "correlationId", row->request_id));
    ATT_TRY(att_buf_puts(b, "\"properties\":"));
    if (ev->detail != NULL && json_is_object(ev->detail)) {
        ATT_TRY(att_json_compact(ev->detail, b));
    } else {
        ATT_TRY(att_buf_puts(b, "{}"));
    }
    att_err rc = att_buf_putc(b, '}');
    return rc == ATT_OK ? ATT_OK : ATT_ERR_TOO_LARGE;
}

void att_audit_chain_hash(const char prev[ATT_AUDIT_HASH_HEX + 1], int64_t seq,
                          const struct att_buf *body, char out[ATT_AUDIT_HASH_HEX + 1])
{
    static const char tag[] = "attestd-audit-v1";
    static const char hex[] = "0123456789abcdef";
    char num[24];
    uint8_t d[32];
    unsigned dlen = 0;
    int n = snprintf(num, sizeof(num), "%lld", (long long)seq);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = att_sha256_md();
    bool ok = ctx != NULL && md != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
              EVP_DigestUpdate(ctx, tag, sizeof(tag)) == 1 && /* with its NUL */
              EVP_DigestUpdate(ctx, prev, ATT_AUDIT_HASH_HEX + 1) == 1 &&
              EVP_DigestUpdate(ctx, num, (size_t)n + 1) == 1 &&
              EVP_DigestUpdate(ctx, body->data, body->len) == 1 &&
              EVP_DigestFinal_ex(ctx, d, &dlen) == 1 && dlen == sizeof(d);
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        memset(d, 0xff, sizeof(d)); /* a hash no chain holds: verification reports it */
    }
    for (size_t i = 0; i < sizeof(d); i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[ATT_AUDIT_HASH_HEX] = 0;
}

static bool field_is(json_t *o, const char *key, const char *want)
{
    const char *got = json_string_value(json_object_get(o, key));
    return got != NULL && strcmp(got, want) == 0;
}

att_err att_audit_record_check(const struct att_audit_row *row)
{
    json_error_t jerr;
    char when[32];
    json_t *body =
        json_loadb((const char *)row->body.data, row->body.len, JSON_REJECT_DUPLICATES, &jerr);
    ATT_ENSURE(body != NULL, ATT_ERR_AUDIT_CHAIN);
    json_t *identity = json_object_get(body, "identity");
    format_ms(row->time_ms, when);
    bool ok =
        json_is_object(body) && field_is(body, "time", when) &&
        field_is(body, "category", row->category) && field_is(body, "operationName", row->action) &&
        field_is(body, "resultType", row->outcome) && field_is(identity, "id", row->principal) &&
        field_is(identity, "name", row->principal_name) &&
        field_is(body, "provider", row->provider) &&
        field_is(body, "correlationId", row->request_id);
    json_decref(body);
    return ok ? ATT_OK : ATT_ERR_AUDIT_CHAIN;
}

char *att_audit_record_export(const struct att_audit_row *row)
{
    /* The body is an object: "{" + seq and hash + the rest of it. */
    size_t n = row->body.len + 128;
    char *line = malloc(n);
    if (line == NULL || row->body.len < 2 || row->body.data[0] != '{') {
        free(line);
        return NULL;
    }
    int head = snprintf(line, n, "{\"seq\":%lld,\"hash\":\"%s\",", (long long)row->seq, row->hash);
    if (head < 0 || (size_t)head + row->body.len > n) {
        free(line);
        return NULL;
    }
    memcpy(line + head, row->body.data + 1, row->body.len - 1);
    line[(size_t)head + row->body.len - 1] = 0;
    return line;
}
