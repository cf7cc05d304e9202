/*
 * audit.c - what the REST API puts in the audit trail, and GET /attestd/audit
 * (docs/operations.md, "Audit trail").
 *
 * Changes are written ahead: a durable "attempt" record before the handler runs (none is
 * made when that fails: 503, nothing changed), then the outcome with what the handler noted.
 * Attestation outcomes are group-committed; a provider that fails closed (the default) holds
 * the token until its record is durable. Authentication failures and authorization refusals
 * are recorded without waiting: the refusal stands whatever becomes of its record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "audit/audit.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "metrics/metrics.h"

static void event_of(const struct att_api_call *call, struct att_audit_event *ev,
                     const char *category, const char *action, const char *outcome)
{
    memset(ev, 0, sizeof(*ev));
    ev->category = category;
    ev->action = action;
    ev->outcome = outcome;
    ev->principal = call->who != NULL ? call->who->subject : "";
    ev->principal_name = call->who != NULL ? call->who->name : "";
    ev->source = call->req->peer_text;
    ev->provider = call->provider != NULL ? call->provider->rec.name : "";
    ev->request_id = call->req->request_id;
}

void att_api_audit_note(const struct att_api_call *call, const char *key, json_t *value)
{
    if (call->audit_detail != NULL && value != NULL) {
        json_object_set_new(call->audit_detail, key, value);
    } else {
        json_decref(value);
    }
}

bool att_api_audit_change_begin(const struct att_api_call *call, const char *action,
                                struct att_http_response *resp)
{
    struct att_audit_event ev;
    event_of(call, &ev, ATT_AUDIT_CHANGE, action, "attempt");
    att_err rc = att_audit_write(call->api->audit, &ev);
    if (rc != ATT_OK) {
        att_log(ATT_LOG_ERROR, "change refused: its audit record cannot be written", "request_id",
                json_string(call->req->request_id), "action", json_string(action), NULL);
        att_http_error_inner(resp, 503, "ServiceUnavailable",
                             "the change was not made: its audit record cannot be written",
                             att_err_name(rc));
        att_ignore_err(att_http_response_header(resp, "Retry-After", "5"));
        return false;
    }
    return true;
}

void att_api_audit_change_end(const struct att_api_call *call, const char *action,
                              const struct att_http_response *resp)
{
    struct att_audit_event ev;
    bool ok = resp->status < 300;
    event_of(call, &ev, ATT_AUDIT_CHANGE, action, ok ? "success" : "failure");
    ev.detail = call->audit_detail != NULL ? json_incref(call->audit_detail) : json_object();
    json_object_set_new(ev.detail, "status", json_integer(resp->status));
    if (!ok && resp->error_code != NULL) {
        json_object_set_new(ev.detail, "error", json_string(resp->error_code));
    }
    /* The change is made: if this record is lost, the attempt before it still stands. */
    if (att_audit_write(call->api->audit, &ev) != ATT_OK) {
        att_log(ATT_LOG_ERROR, "audit: the outcome of a change could not be recorded", "request_id",
                json_string(call->req->request_id), "action", json_string(action), NULL);
    }
}

static void gate_done(void *arg, att_err rc)
{
    att_http_gate_finish(arg, rc == ATT_OK ? NULL
                                           : "the token was withheld: the audit record of this "
                                             "attestation cannot be written");
}

void att_api_audit_attestation(const struct att_api_call *call, const char *type,
                               const char *outcome, json_t *detail, struct att_http_response *resp)
{
    struct att_audit_event ev;
    char action[48];
    char tcb[64];
    char labels[ATT_METRICS_LABELS_MAX];
    att_metric_escape(json_string_value(json_object_get(detail, "tcbStatus")), tcb, sizeof(tcb));
    snprintf(labels, sizeof(labels), "type=\"%s\",result=\"%s\",tcb_status=\"%s\"", type, outcome,
             tcb);
    att_metric_add(ATT_M_ATTESTATIONS, labels, 1);
    snprintf(action, sizeof(action), "attest.%s", type);
    event_of(call, &ev, ATT_AUDIT_ATTEST, action, outcome);
    ev.detail = detail;
    if (call->api->audit == NULL) {
        json_decref(detail);
        return;
    }
    /* Only a token waits: a refusal gives nothing away if its record is lost. */
    struct att_http_gate *gate =
        strcmp(outcome, "success") == 0 && !call->provider->rec.audit_fail_open
            ? att_http_response_hold(resp)
            : NULL;
    if (gate != NULL) {
        att_audit_submit(call->api->audit, &ev, gate_done, gate);
    } else {
        att_audit_submit(call->api->audit, &ev, NULL, NULL);
    }
}

void att_api_audit_refusal(struct att_api *api, const struct att_http_request *req,
                           const char *category, const char *route, const char *scope,
                           const struct att_identity *who, const char *reason)
{
    struct att_audit_event ev;
    char action[64];
    att_metric_add(
        ATT_M_AUTH_FAILURES,
        strcmp(category, ATT_AUDIT_AUTHZ) == 0 ? "kind=\"forbidden\"" : "kind=\"credential\"", 1);
    snprintf(action, sizeof(action), "%s.%s", category, route);
    memset(&ev, 0, sizeof(ev));
    ev.category = category;
    ev.action = action;
    ev.outcome = "denied";
    ev.principal = who != NULL ? who->subject : "";
    ev.principal_name = who != NULL ? who->name : "";
    ev.source = req->peer_text;
    ev.provider = scope;
    ev.request_id = req->request_id;
    ev.detail = json_pack("{s:s}", "reason", reason != NULL ? reason : "");
    if (api->audit != NULL) {
        att_audit_submit(api->audit, &ev, NULL, NULL);
    } else {
        json_decref(ev.detail);
    }
}

/* ---- GET /attestd/audit ---- */

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

struct page {
    json_t *records;
    int64_t last;
    bool failed;
};

static att_err add_row(const struct att_audit_row *r, void *arg)
{
    struct page *p = arg;
    char *line = att_audit_record_export(r);
    json_t *rec = line != NULL ? json_loads(line, 0, NULL) : NULL;
    free(line);
    ATT_ENSURE(rec != NULL && json_array_append_new(p->records, rec) == 0, ATT_ERR_NOMEM);
    p->last = r->seq;
    return ATT_OK;
}

/* A query parameter as a C string (percent-decoded, no NUL inside), or "" when absent. */
static bool query_text(const struct att_http_request *req, const char *name, char *out, size_t cap)
{
    const struct att_bytes *v = att_http_query_get(req->head, name);
    out[0] = 0;
    if (v == NULL) {
        return true;
    }
    if (v->len >= cap || memchr(v->ptr, 0, v->len) != NULL) {
        return false;
    }
    memcpy(out, v->ptr, v->len);
    out[v->len] = 0;
    return true;
}

static bool query_number(const char *text, int64_t *out)
{
    char *end = NULL;
    if (text[0] == 0) {
        return true;
    }
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != 0 || v < 0) {
        return false;
    }
    *out = v;
    return true;
}

static bool query_time(const char *text, int64_t *ms)
{
    int64_t t = 0;
    if (text[0] == 0) {
        return true;
    }
    if (att_time_parse_rfc3339(text, strlen(text), &t) != ATT_OK) {
        return false;
    }
    *ms = t * 1000;
    return true;
}

void att_api_audit_list(const struct att_api_call *call, struct att_http_response *resp)
{
    char after[24], limit[24], since[40], until[40], principal[256], provider[64], action[48],
        category[16];
    struct att_audit_filter f;
    memset(&f, 0, sizeof(f));
    f.limit = PAGE_DEFAULT;
    bool ok = query_text(call->req, "after", after, sizeof(after)) &&
              query_text(call->req, "limit", limit, sizeof(limit)) &&
              query_text(call->req, "since", since, sizeof(since)) &&
              query_text(call->req, "until", until, sizeof(until)) &&
              query_text(call->req, "principal", principal, sizeof(principal)) &&
              query_text(call->req, "provider", provider, sizeof(provider)) &&
              query_text(call->req, "action", action, sizeof(action)) &&
              query_text(call->req, "category", category, sizeof(category));
    if (!ok || !query_number(after, &f.after_seq) || !query_number(limit, &f.limit) ||
        !query_time(since, &f.since_ms) || !query_time(until, &f.until_ms)) {
        att_http_error(resp, 400, "InvalidParameter",
                       "bad audit query: after and limit are numbers, since and until RFC 3339 "
                       "times, and text filters are at most a field's length");
        return;
    }
    if (f.limit == 0 || f.limit > PAGE_MAX) {
        f.limit = f.limit == 0 ? PAGE_DEFAULT : PAGE_MAX;
    }
    f.principal = principal;
    f.provider = provider;
    f.action = action;
    f.category = category;
    struct page p = {json_array(), 0, false};
    att_err rc =
        p.records != NULL ? att_audit_read(call->api->audit, &f, add_row, &p) : ATT_ERR_NOMEM;
    json_t *doc = rc == ATT_OK ? json_pack("{s:o}", "records", p.records) : NULL;
    if (rc != ATT_OK) {
        json_decref(p.records);
    }
    if (doc != NULL && json_array_size(json_object_get(doc, "records")) == (size_t)f.limit) {
        json_object_set_new(doc, "nextAfter", json_integer(p.last)); /* there may be more */
    }
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (text == NULL || att_http_response_json(resp, 200, text, strlen(text)) != ATT_OK) {
        att_http_error(resp, rc == ATT_ERR_STORE_BUSY ? 503 : 500,
                       rc == ATT_ERR_STORE_BUSY ? "ServiceUnavailable" : "InternalServerError",
                       "cannot read the audit trail");
    }
    free(text);
}
