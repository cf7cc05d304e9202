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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"

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

static att_err copy_field(const char *s, char *dst, size_t cap)
{
    size_t n = strlen(or_empty(s));
    ATT_ENSURE(n < cap, ATT_ERR_ARG);
    memcpy(dst, or_empty(s), n + 1);
    return ATT_OK;
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
    /* 'o' steals: the caller keeps its own reference to the detail. */
    json_t *props = ev->detail != NULL ? json_incref(ev->detail) : json_object();
    json_t *body = json_pack(
        "{s:s,s:s,s:s,s:s,s:{s:s,s:s},s:s,s:s,s:s,s:o}", "time", when, "category", row->category,
        "operationName", row->action, "resultType", row->outcome, "identity", "id", row->principal,
        "name", row->principal_name, "callerIpAddress", or_empty(ev->source), "provider",
        row->provider, "correlationId", row->request_id, "properties", props);
    ATT_ENSURE(body != NULL, ATT_ERR_NOMEM);
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(body);
    ATT_ENSURE(text != NULL, ATT_ERR_NOMEM);
    att_buf_reset(&row->body);
    att_err rc = att_buf_puts(&row->body, text);
    free(text);
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
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
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
