/*
 * metrics.c - GET /metrics: Prometheus' text exposition (docs/operations.md, "Monitoring").
 *
 * The counted families (src/metrics), then what is read at scrape time: connections and the
 * job queue, the audit writer's queue and whether it is failing, each collateral item's age
 * and time to expiry (from the store), build information. Served on the main listener to a
 * Reader, and on the metrics listener (metrics_listen) to anyone who can reach it.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "audit/audit.h"
#include "core/timeutil.h"
#include "metrics/metrics.h"

#define METRICS_MAX ((size_t)4 << 20)

struct collateral_gauges {
    struct att_buf *out;
    int64_t now;
    bool age; /* which of the two families this pass writes */
    att_err rc;
};

static att_err collateral_item(const struct att_collateral_rec *r, void *arg)
{
    struct collateral_gauges *g = arg;
    char key[200];
    char labels[ATT_METRICS_LABELS_MAX];
    att_metric_escape(r->key, key, sizeof(key));
    /* A provider's own trust anchors file items of the same kind and key apart (scope, 64 hex
     * digits: nothing to escape); the label keeps their series apart too. */
    snprintf(labels, sizeof(labels), "kind=\"%s\",key=\"%s\"%s%s%s", r->kind, key,
             r->scope[0] != '\0' ? ",scope=\"" : "", r->scope, r->scope[0] != '\0' ? "\"" : "");
    g->rc = att_metrics_gauge(
        g->out, g->age ? "attestd_collateral_age_seconds" : "attestd_collateral_expiry_seconds",
        NULL, labels, (double)(g->age ? g->now - r->issued : r->next_update - g->now));
    return g->rc;
}

/* Both collateral families: a pass over the store for each, so each family's samples are
 * together, as the format requires. */
static att_err write_collateral(struct att_api *api, struct att_buf *out)
{
    static const char *const help[2] = {
        "Seconds since each collateral item was issued (issueDate, thisUpdate or notBefore).",
        "Seconds until each collateral item's nextUpdate or notAfter (negative: expired)."};
    static const char *const names[2] = {"attestd_collateral_age_seconds",
                                         "attestd_collateral_expiry_seconds"};
    for (int i = 0; i < 2; i++) {
        struct collateral_gauges g = {out, att_time_now(), i == 0, ATT_OK};
        ATT_TRY(
            att_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", names[i], help[i], names[i]));
        ATT_TRY(att_store_collateral_list(api->store, collateral_item, &g));
        ATT_TRY(g.rc);
    }
    return ATT_OK;
}

static att_err write_all(struct att_api *api, struct att_buf *out)
{
    struct att_audit_stats st;
    unsigned conns = 0;
    unsigned queued = 0;
    ATT_TRY(att_metrics_write(out));
    if (api->http != NULL) {
        att_http_server_load(api->http, &conns, &queued);
    }
    ATT_TRY(att_metrics_gauge(out, "attestd_open_connections",
                              "HTTPS connections open on the main listeners.", NULL, conns));
    ATT_TRY(att_metrics_gauge(out, "attestd_job_queue_depth",
                              "Requests waiting for a job-pool thread.", NULL, queued));
    att_audit_stats(api->audit, &st);
    ATT_TRY(att_metrics_gauge(out, "attestd_audit_queue_depth",
                              "Audit records waiting for their group commit.", NULL, st.queued));
    ATT_TRY(att_metrics_gauge(out, "attestd_audit_failing",
                              "1 while the audit trail cannot be written, else 0.", NULL,
                              st.failing_since != 0 ? 1 : 0));
    ATT_TRY(write_collateral(api, out));
    ATT_TRY(att_metrics_gauge(out, "attestd_start_time_seconds",
                              "When this attestd started, in seconds since the epoch.", NULL,
                              (double)api->started_at));
    return att_metrics_gauge(out, "attestd_build_info", "The running attestd's version.",
                             "version=\"" ATT_VERSION "\"", 1);
}

static void answer(struct att_api *api, struct att_http_response *resp)
{
    att_buf_presize(&resp->body, 64 << 10);
    att_buf_reset(&resp->body);
    att_err rc = write_all(api, &resp->body);
    if (rc != ATT_OK) {
        att_http_error(resp, rc == ATT_ERR_STORE_BUSY ? 503 : 500,
                       rc == ATT_ERR_STORE_BUSY ? "ServiceUnavailable" : "InternalServerError",
                       "cannot collect the metrics");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void att_api_metrics(const struct att_api_call *call, struct att_http_response *resp)
{
    answer(call->api, resp);
}

void att_api_metrics_handle(void *arg, const struct att_http_request *req,
                            struct att_http_response *resp)
{
    resp->route = "MetricsListener";
    if (!att_bytes_eq_str(req->head->path, "/metrics")) {
        att_http_error(resp, 404, "NotFound", "this listener serves only /metrics");
        return;
    }
    if (req->head->method != ATT_HTTP_GET && req->head->method != ATT_HTTP_HEAD) {
        att_http_error(resp, 405, "MethodNotAllowed", "this method is not allowed on this route");
        att_ignore_err(att_http_response_header(resp, "Allow", "GET"));
        return;
    }
    answer(arg, resp);
}
