/*
 * metrics.h - what attestd counts, in Prometheus' text exposition format 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats; docs/operations.md, "Monitoring").
 *
 * One process-wide registry, like the log: modules count where things happen without passing
 * a handle around. A family is a metric name with a fixed set of label names; each distinct
 * label set is a series, kept in a fixed table (ATT_METRICS_SERIES_MAX per family: label
 * values come from attestd's own vocabulary - route names, status codes, evidence types, TCB
 * statuses - and a family that would grow past its table counts into one series labelled
 * overflow="true" instead). Counting is lock-free (atomics); a new series takes the family's
 * lock once.
 */
#ifndef ATT_METRICS_METRICS_H
#define ATT_METRICS_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_METRICS_SERIES_MAX 256
#define ATT_METRICS_LABELS_MAX 192 /* the label set as text: a="x",b="y" */

enum att_metric_kind { ATT_METRIC_COUNTER, ATT_METRIC_GAUGE, ATT_METRIC_HISTOGRAM };

/* Every family attestd exposes (metrics.c holds their names, help and label names). */
enum att_metric {
    ATT_M_HTTP_REQUESTS,    /* route, status */
    ATT_M_HTTP_DURATION,    /* route: seconds from the first byte to the answer */
    ATT_M_ATTESTATIONS,     /* type, result, tcb_status */
    ATT_M_POLICY_EVAL,      /* type: seconds */
    ATT_M_CACHE_LOOKUPS,    /* cache, result (hit, miss) */
    ATT_M_UPSTREAM_FETCHES, /* service, result (ok, error) */
    ATT_M_AUTH_FAILURES,    /* kind (credential, forbidden, token) */
    ATT_M_AUDIT_RECORDS,    /* result (written, failed) */
    ATT_M_AUDIT_COMMIT,     /* seconds per group commit */
    ATT_M_ALERTS,           /* rule, channel, result */
    ATT_M_COUNT,
};

/* Add `n` to the counter of `m` with labels `labels` ("" or a="x",b="y", values escaped). */
void att_metric_add(enum att_metric m, const char *labels, uint64_t n);
/* Count a lookup of verification cache `cache` (a constant name) as a hit or a miss. */
void att_metric_cache(const char *cache, bool hit);
/* Observe `seconds` in histogram `m`. */
void att_metric_observe(enum att_metric m, const char *labels, double seconds);

/*
 * Escape `value` for a label (backslash, double quote, newline: the format's three escapes)
 * into out[cap]; longer values are cut at a character boundary.
 */
void att_metric_escape(const char *value, char *out, size_t cap);

/* Append every family, in the text format, to `out`. */
att_err att_metrics_write(struct att_buf *out) ATT_WUR;

/*
 * Append one gauge sample (with its HELP and TYPE lines when `help` is not NULL): for values
 * read at scrape time (open connections, queue depths, collateral ages).
 */
att_err att_metrics_gauge(struct att_buf *out, const char *name, const char *help,
                          const char *labels, double value) ATT_WUR;

/* Forget every series (tests). */
void att_metrics_reset(void);

#endif
