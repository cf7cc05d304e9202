/*
 * metrics.c - the process-wide metric registry and its text exposition (metrics.h).
 *
 * Input trust: label values are attestd's own words, but some come from verified evidence (a
 * TCB status): every value is escaped, and the number of series per family is capped.
 */
#include "metrics/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Seconds; the upper bounds of the histogram buckets ("le"), +Inf implied. */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define N_BUCKETS (sizeof(bounds) / sizeof(bounds[0]))

enum { EMPTY, READY };

struct series {
    _Atomic int state;
    uint32_t hash;
    char labels[ATT_METRICS_LABELS_MAX];
    _Atomic uint64_t value;  /* a counter's value, a histogram's count */
    _Atomic uint64_t sum_ns; /* a histogram's sum */
    _Atomic uint64_t buckets[N_BUCKETS];
};

struct family {
    const char *name;
    const char *help;
    enum att_metric_kind kind;
    pthread_mutex_t lock; /* taken to add a series */
    struct series series[ATT_METRICS_SERIES_MAX];
    struct series overflow; /* labels overflow="true" */
};

#define FAMILY(n, h, k)                                                                            \
    {                                                                                              \
        n, h, k, PTHREAD_MUTEX_INITIALIZER, {{0}},                                                 \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

static struct family families[ATT_M_COUNT] = {
    [ATT_M_HTTP_REQUESTS] =
        FAMILY("attestd_http_requests_total", "HTTP requests answered, by route and status code.",
               ATT_METRIC_COUNTER),
    [ATT_M_HTTP_DURATION] =
        FAMILY("attestd_http_request_duration_seconds",
               "Time from a request's first byte to its answer, by route.", ATT_METRIC_HISTOGRAM),
    [ATT_M_ATTESTATIONS] = FAMILY("attestd_attestations_total",
                                  "Attestations by evidence type, result (success, denied, "
                                  "failure) and TCB status.",
                                  ATT_METRIC_COUNTER),
    [ATT_M_POLICY_EVAL] =
        FAMILY("attestd_policy_evaluation_duration_seconds",
               "Time to appraise evidence with a policy, by evidence type.", ATT_METRIC_HISTOGRAM),
    [ATT_M_CACHE_LOOKUPS] =
        FAMILY("attestd_cache_lookups_total",
               "Verification cache lookups by cache and result (hit, miss).", ATT_METRIC_COUNTER),
    [ATT_M_UPSTREAM_FETCHES] = FAMILY("attestd_upstream_fetches_total",
                                      "Collateral fetched from Intel PCS or AMD KDS, by service "
                                      "and result (ok, error).",
                                      ATT_METRIC_COUNTER),
    [ATT_M_AUTH_FAILURES] = FAMILY("attestd_authentication_failures_total",
                                   "Refused callers: a bad credential, a token request refused, "
                                   "or no role (forbidden).",
                                   ATT_METRIC_COUNTER),
    [ATT_M_AUDIT_RECORDS] =
        FAMILY("attestd_audit_records_total", "Audit records written, or failed (refused or lost).",
               ATT_METRIC_COUNTER),
    [ATT_M_AUDIT_COMMIT] = FAMILY("attestd_audit_commit_duration_seconds",
                                  "Time of one group commit of the audit trail (fsync included).",
                                  ATT_METRIC_HISTOGRAM),
    [ATT_M_ALERTS] =
        FAMILY("attestd_alerts_total", "Alerts raised, by rule, delivery channel and result.",
               ATT_METRIC_COUNTER),
};

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != 0; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
    }
    return h;
}

/*
 * Probe for `labels` (hash h): the series, or NULL with *empty the slot where it would go (NULL
 * when the table is full). Series are never removed, so the first empty slot on the probe path
 * ends the search.
 */
static struct series *lookup(struct family *f, const char *labels, uint32_t h,
                             struct series **empty)
{
    *empty = NULL;
    for (size_t i = 0; i < ATT_METRICS_SERIES_MAX; i++) {
        struct series *s = &f->series[(h + i) % ATT_METRICS_SERIES_MAX];
        if (atomic_load_explicit(&s->state, memory_order_acquire) == EMPTY) {
            *empty = s;
            return NULL;
        }
        if (s->hash == h && strcmp(s->labels, labels) == 0) {
            return s;
        }
    }
    return NULL;
}

/* The series of `labels` in family `m`, added when new; the overflow series when full. */
static struct series *find(enum att_metric m, const char *labels)
{
    struct family *f = &families[m];
    struct series *empty = NULL;
    size_t n = strlen(labels);
    if (n >= ATT_METRICS_LABELS_MAX) {
        return &f->overflow;
    }
    uint32_t h = fnv1a(labels);
    struct series *s = lookup(f, labels, h, &empty);
    if (s != NULL) {
        return s;
    }
    pthread_mutex_lock(&f->lock);
    s = lookup(f, labels, h, &empty); /* another thread may have added it meanwhile */
    if (s == NULL && empty != NULL) {
        memcpy(empty->labels, labels, n + 1);
        empty->hash = h;
        atomic_store_explicit(&empty->state, READY, memory_order_release);
        s = empty;
    }
    pthread_mutex_unlock(&f->lock);
    return s != NULL ? s : &f->overflow;
}

void att_metric_add(enum att_metric m, const char *labels, uint64_t n)
{
    atomic_fetch_add_explicit(&find(m, labels != NULL ? labels : "")->value, n,
                              memory_order_relaxed);
}

void att_metric_cache(const char *cache, bool hit)
{
    char labels[96];
    snprintf(labels, sizeof(labels), "cache=\"%s\",result=\"%s\"", cache, hit ? "hit" : "miss");
    att_metric_add(ATT_M_CACHE_LOOKUPS, labels, 1);
}

void att_metric_observe(enum att_metric m, const char *labels, double seconds)
{
    struct series *s = find(m, labels != NULL ? labels : "");
    for (size_t i = 0; i < N_BUCKETS; i++) {
        if (seconds <= bounds[i]) {
            atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
            break;
        }
    }
    uint64_t ns = seconds > 0 ? (uint64_t)(seconds * 1e9) : 0;
    atomic_fetch_add_explicit(&s->sum_ns, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->value, 1, memory_order_relaxed);
}

void att_metric_escape(const char *value, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = value != NULL ? value : ""; *p != 0; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        size_t need = esc != NULL ? 2 : 1;
        /* Stop before a UTF-8 continuation byte would start the cut-off part. */
        if (o + need >= cap) {
            while (o > 0 && ((uint8_t)out[o - 1] & 0xC0) == 0x80) {
                o--;
            }
            if (o > 0 && ((uint8_t)out[o - 1] & 0xC0) == 0xC0) {
                o--;
            }
            break;
        }
        if (esc != NULL) {
            memcpy(out + o, esc, 2);
        } else {
            out[o] = *p;
        }
        o += need;
    }
    if (cap > 0) {
        out[o < cap ? o : cap - 1] = 0;
    }
}

static const char *type_name(enum att_metric_kind k)
{
    return k == ATT_METRIC_COUNTER ? "counter" : k == ATT_METRIC_GAUGE ? "gauge" : "histogram";
}

/* "{labels}" or "{labels,extra}" or "{extra}" or "". */
static att_err put_labels(struct att_buf *out, const char *labels, const char *extra)
{
    bool a = labels[0] != 0;
    bool b = extra != NULL && extra[0] != 0;
    if (!a && !b) {
        return ATT_OK;
    }
    return att_buf_printf(out, "{%s%s%s}", labels, a && b ? "," : "", b ? extra : "");
}

static att_err write_series(struct att_buf *out, const struct family *f, const struct series *s,
                            const char *labels)
{
    uint64_t count = atomic_load_explicit(&s->value, memory_order_relaxed);
    if (f->kind != ATT_METRIC_HISTOGRAM) {
        ATT_TRY(att_buf_puts(out, f->name));
        ATT_TRY(put_labels(out, labels, NULL));
        return att_buf_printf(out, " %llu\n", (unsigned long long)count);
    }
    uint64_t cumulative = 0;
    char le[32];
    for (size_t i = 0; i < N_BUCKETS; i++) {
        cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        snprintf(le, sizeof(le), "le=\"%g\"", bounds[i]);
        ATT_TRY(att_buf_printf(out, "%s_bucket", f->name));
        ATT_TRY(put_labels(out, labels, le));
        ATT_TRY(att_buf_printf(out, " %llu\n", (unsigned long long)cumulative));
    }
    /* +Inf is the count; read after the buckets, it is never below their sum by much, and
     * never below the last cumulative bucket written. */
    if (count < cumulative) {
        count = cumulative;
    }
    ATT_TRY(att_buf_printf(out, "%s_bucket", f->name));
    ATT_TRY(put_labels(out, labels, "le=\"+Inf\""));
    ATT_TRY(att_buf_printf(out, " %llu\n", (unsigned long long)count));
    ATT_TRY(att_buf_printf(out, "%s_sum", f->name));
    ATT_TRY(put_labels(out, labels, NULL));
    ATT_TRY(att_buf_printf(out, " %.9f\n",
                           (double)atomic_load_explicit(&s->sum_ns, memory_order_relaxed) / 1e9));
    ATT_TRY(att_buf_printf(out, "%s_count", f->name));
    ATT_TRY(put_labels(out, labels, NULL));
    return att_buf_printf(out, " %llu\n", (unsigned long long)count);
}

att_err att_metrics_write(struct att_buf *out)
{
    for (size_t m = 0; m < ATT_M_COUNT; m++) {
        const struct family *f = &families[m];
        ATT_TRY(att_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                               type_name(f->kind)));
        for (size_t i = 0; i < ATT_METRICS_SERIES_MAX; i++) {
            const struct series *s = &f->series[i];
            if (atomic_load_explicit(&s->state, memory_order_acquire) == READY) {
                ATT_TRY(write_series(out, f, s, s->labels));
            }
        }
        if (atomic_load_explicit(&f->overflow.value, memory_order_relaxed) > 0) {
            ATT_TRY(write_series(out, f, &f->overflow, "overflow=\"true\""));
        }
    }
    return ATT_OK;
}

att_err att_metrics_gauge(struct att_buf *out, const char *name, const char *help,
                          const char *labels, double value)
{
    if (help != NULL) {
        ATT_TRY(att_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name));
    }
    ATT_TRY(att_buf_puts(out, name));
    ATT_TRY(put_labels(out, labels != NULL ? labels : "", NULL));
    return att_buf_printf(out, " %.17g\n", value);
}

void att_metrics_reset(void)
{
    for (size_t m = 0; m < ATT_M_COUNT; m++) {
        struct family *f = &families[m];
        pthread_mutex_lock(&f->lock);
        memset(f->series, 0, sizeof(f->series));
        memset(&f->overflow, 0, sizeof(f->overflow));
        pthread_mutex_unlock(&f->lock);
    }
}
