/*
 * rules.c - the alert rules and their duplicate suppression (alert.h).
 *
 * Rules (docs/operations.md, "Alerts"):
 *   security_change      a change to policies, signers, roles, principals, providers, keys or
 *                        collateral succeeded (from the audit trail: REST and attestctl alike;
 *                        each change is an alert: a harmless first change must not cover a
 *                        second one)
 *   auth_failure_burst   auth_failures refused callers from one source (an IPv6 source is its
 *                        /64, as for the brute-force backoff), or naming one principal, within
 *                        auth_window seconds (each one past the threshold is an occurrence of
 *                        the incident: counted, delivered once)
 *   attestation_denials  denials failures of one provider's attestations within denial_window
 *   collateral_expiry    a collateral item past, or within collateral_warning of, its end
 *   certificate_expiry   the TLS certificate or a provider's signing certificate likewise
 *   audit_sink_failed    the audit trail cannot be written
 *   alert_queue_overflow alerts were dropped because the delivery queue was full
 */
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/alert.h"
#include "audit/audit.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/store.h"

#define INCIDENTS_MAX 512 /* incidents counted at once; the oldest goes first */
#define COUNTERS_MAX 1024 /* sources, principals and providers counted at once */
#define SCAN_LIMIT 5000   /* audit records read per page */
#define SCAN_PAGES 40     /* pages per evaluation at most (the rest waits for the next) */

struct incident {
    char key[160]; /* rule + " " + subject; "" = free */
    int64_t first_seen, last_seen, sent_at;
    uint64_t total;   /* occurrences since first_seen */
    uint64_t pending; /* counted since the last delivery */
    json_t *last;     /* the last occurrence's alert, for the summary */
};

struct att_alerts {
    struct att_alert_config cfg;
    struct att_audit *audit;
    struct att_store *store;
    struct att_alert_sink *sink;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    int64_t after_seq; /* audit records up to here are evaluated */
    struct incident incidents[INCIDENTS_MAX];
    struct att_alert_counter counters[COUNTERS_MAX];
};

/* ---- incidents ---- */

static void new_id(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        memset(b, 0, sizeof(b));
    }
    for (size_t i = 0; i < sizeof(b); i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[32] = 0;
}

/* Send one alert for `inc`, carrying how many occurrences it stands for. */
static void deliver(struct att_alerts *a, struct incident *inc, int64_t now, uint64_t count)
{
    char id[33];
    char first[32], last[32];
    json_t *alert = json_deep_copy(inc->last);
    if (alert == NULL) {
        return;
    }
    new_id(id);
    att_time_format(inc->first_seen, first, sizeof(first));
    att_time_format(inc->last_seen, last, sizeof(last));
    json_object_set_new(alert, "id", json_string(id));
    json_object_set_new(alert, "count", json_integer((json_int_t)count));
    json_object_set_new(alert, "total", json_integer((json_int_t)inc->total));
    json_object_set_new(alert, "firstSeen", json_string(first));
    json_object_set_new(alert, "lastSeen", json_string(last));
    /* An alert is an event of its own in the trail (category "alert"; the rules skip it). */
    char action[64];
    snprintf(action, sizeof(action), "alert.%s", json_string_value(json_object_get(alert, "rule")));
    struct att_audit_event ev = {ATT_AUDIT_ALERT,
                                 action,
                                 "raised",
                                 "",
                                 "attestd",
                                 "",
                                 "",
                                 "",
                                 json_pack("{s:s,s:s,s:s,s:I}", "id", id, "subject",
                                           json_string_value(json_object_get(alert, "subject")),
                                           "severity",
                                           json_string_value(json_object_get(alert, "severity")),
                                           "count", (json_int_t)count)};
    att_audit_submit(a->audit, &ev, NULL, NULL);
    att_alert_sink_send(a->sink, alert);
    inc->sent_at = now;
    inc->pending = 0;
}

/* The alert's fields (its id and counts are added when delivered). `details` is stolen. */
static json_t *alert_body(struct att_alerts *a, const char *rule, const char *severity,
                          const char *subject, const char *summary, json_t *details)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "service", "attestd", "host",
                     a->cfg.host != NULL ? a->cfg.host : "", "rule", rule, "severity", severity,
                     "subject", subject, "summary", summary, "details",
                     details != NULL ? details : json_object());
}

/* An occurrence that is an incident of its own: delivered at once, never counted. */
static void raise_single(struct att_alerts *a, const char *rule, const char *severity,
                         const char *subject, const char *summary, json_t *details, int64_t now)
{
    struct incident one;
    memset(&one, 0, sizeof(one));
    one.first_seen = one.last_seen = now;
    one.total = 1;
    one.last = alert_body(a, rule, severity, subject, summary, details);
    deliver(a, &one, now, 1);
    json_decref(one.last);
}

/*
 * An occurrence of `rule` about `subject`: delivered at once when its incident is new or its
 * dedup window has passed, else counted. `details` is stolen.
 */
static void raise_alert(struct att_alerts *a, const char *rule, const char *severity,
                        const char *subject, const char *summary, json_t *details, int64_t now)
{
    char key[160];
    snprintf(key, sizeof(key), "%s %s", rule, subject);
    struct incident *inc = NULL;
    struct incident *spare = NULL; /* a free slot, else the least recently seen incident */
    for (size_t i = 0; i < INCIDENTS_MAX && inc == NULL; i++) {
        struct incident *e = &a->incidents[i];
        if (e->key[0] != 0 && strcmp(e->key, key) == 0) {
            inc = e;
        } else if (spare == NULL ||
                   (spare->key[0] != 0 && (e->key[0] == 0 || e->last_seen < spare->last_seen))) {
            spare = e;
        }
    }
    if (inc == NULL) {
        inc = spare;
        json_decref(inc->last);
        memset(inc, 0, sizeof(*inc));
        snprintf(inc->key, sizeof(inc->key), "%s", key);
        inc->first_seen = now;
    }
    json_decref(inc->last);
    inc->last = alert_body(a, rule, severity, subject, summary, details);
    inc->last_seen = now;
    inc->total++;
    inc->pending++;
    if (inc->sent_at == 0 || now - inc->sent_at >= (int64_t)a->cfg.dedup_window) {
        deliver(a, inc, now, inc->pending);
    }
}

/* Incidents whose window passed with occurrences counted: one alert with their count. */
static void flush_incidents(struct att_alerts *a, int64_t now)
{
    for (size_t i = 0; i < INCIDENTS_MAX; i++) {
        struct incident *e = &a->incidents[i];
        if (e->key[0] != 0 && e->pending > 0 && now - e->sent_at >= (int64_t)a->cfg.dedup_window) {
            deliver(a, e, now, e->pending);
        }
    }
}

/* ---- what the audit trail says ---- */

static bool security_relevant(const char *action)
{
    static const char *const prefixes[] = {"policy.",   "signer.", "role.",       "principal.",
                                           "provider.", "kek.",    "collateral.", "token."};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (strncmp(action, prefixes[i], strlen(prefixes[i])) == 0) {
            return true;
        }
    }
    return false;
}

struct scan {
    struct att_alerts *a;
    int64_t now;
    int64_t rows; /* read in this page */
};

/*
 * att_alert_count on the engine's table; when a live count had to go to make room, refused
 * callers come from more sources and principals than the table holds within the window - a
 * distributed burst, which could otherwise hide a real one by pushing its count out.
 */
static bool counted(struct att_alerts *a, const char *key, unsigned window, unsigned limit,
                    int64_t now, unsigned *n)
{
    bool evicted = false;
    bool reached = att_alert_count(a->counters, COUNTERS_MAX, key, window, limit, now, n, &evicted);
    if (evicted) {
        char summary[200];
        snprintf(summary, sizeof(summary),
                 "refusals from more sources, principals and providers than the %d counted at "
                 "once within %u s: a distributed burst",
                 COUNTERS_MAX, window);
        raise_alert(a, "auth_failure_burst", "warning", "more than counted", summary,
                    json_pack("{s:i,s:i}", "counted", COUNTERS_MAX, "window", window), now);
    }
    return reached;
}

static void refused(struct att_alerts *a, const struct att_audit_row *r, const char *address,
                    int64_t now)
{
    char key[160], summary[256], source[96];
    unsigned n = 0;
    const char *who = r->principal_name[0] != 0 ? r->principal_name : r->principal;
    att_alert_source_subject(address, source, sizeof(source));
    snprintf(key, sizeof(key), "source %s", source);
    if (source[0] != 0 && counted(a, key, a->cfg.auth_window, a->cfg.auth_failures, now, &n)) {
        snprintf(summary, sizeof(summary), "%u refused callers from %s within %u s", n, source,
                 a->cfg.auth_window);
        raise_alert(a, "auth_failure_burst", "warning", key, summary,
                    json_pack("{s:s,s:i,s:i}", "source", source, "failures", n, "window",
                              a->cfg.auth_window),
                    now);
    }
    snprintf(key, sizeof(key), "principal %s", who);
    if (who[0] != 0 && counted(a, key, a->cfg.auth_window, a->cfg.auth_failures, now, &n)) {
        snprintf(summary, sizeof(summary), "%u refused requests naming %s within %u s", n, who,
                 a->cfg.auth_window);
        raise_alert(a, "auth_failure_burst", "warning", key, summary,
                    json_pack("{s:s,s:i,s:i}", "principal", who, "failures", n, "window",
                              a->cfg.auth_window),
                    now);
    }
}

static att_err evaluate(const struct att_audit_row *r, void *arg)
{
    struct scan *sc = arg;
    struct att_alerts *a = sc->a;
    char key[160], summary[256];
    unsigned n = 0;
    a->after_seq = r->seq;
    sc->rows++;
    json_t *body = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
    const char *source = json_string_value(json_object_get(body, "callerIpAddress"));
    source = source != NULL ? source : "";
    if (strcmp(r->category, ATT_AUDIT_CHANGE) == 0 && strcmp(r->outcome, "success") == 0 &&
        security_relevant(r->action)) {
        const char *who = r->principal_name[0] != 0 ? r->principal_name : r->principal;
        snprintf(key, sizeof(key), "%s by %s", r->action, who);
        snprintf(summary, sizeof(summary), "%s by %s from %s%s%s", r->action, who, source,
                 r->provider[0] != 0 ? " on provider " : "", r->provider);
        raise_single(a, "security_change", "warning", key, summary,
                     json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:O}", "action", r->action, "principal",
                               r->principal, "principalName", r->principal_name, "provider",
                               r->provider, "correlationId", r->request_id, "auditSeq",
                               (json_int_t)r->seq, "properties",
                               json_object_get(body, "properties") != NULL
                                   ? json_object_get(body, "properties")
                                   : json_null()),
                     sc->now);
    } else if ((strcmp(r->category, ATT_AUDIT_AUTHN) == 0 ||
                strcmp(r->category, ATT_AUDIT_AUTHZ) == 0) &&
               strcmp(r->outcome, "denied") == 0) {
        refused(a, r, source, sc->now);
    } else if (strcmp(r->category, ATT_AUDIT_ATTEST) == 0) {
        snprintf(key, sizeof(key), "provider %s", r->provider);
        if (counted(a, key, a->cfg.denial_window, a->cfg.denials, sc->now, &n)) {
            snprintf(summary, sizeof(summary), "%u refused attestations on provider %s within %u s",
                     n, r->provider, a->cfg.denial_window);
            raise_alert(a, "attestation_denials", "warning", key, summary,
                        json_pack("{s:s,s:i,s:i}", "provider", r->provider, "refused", n, "window",
                                  a->cfg.denial_window),
                        sc->now);
        }
    }
    json_decref(body);
    return ATT_OK;
}

/* ---- what only the service sees ---- */

struct expiry_scan {
    struct att_alerts *a;
    int64_t now;
};

static void expiring(struct att_alerts *a, const char *rule, const char *subject, int64_t end,
                     int64_t warning, int64_t now)
{
    char summary[256], when[32];
    if (end - now > warning) {
        return;
    }
    att_time_format(end, when, sizeof(when));
    snprintf(summary, sizeof(summary), "%s %s %s", subject,
             end <= now ? "expired at" : "expires at", when);
    raise_alert(a, rule, end <= now ? "critical" : "warning", subject, summary,
                json_pack("{s:s,s:I}", "expires", when, "secondsLeft", (json_int_t)(end - now)),
                now);
}

static att_err collateral_item(const struct att_collateral_rec *r, void *arg)
{
    struct expiry_scan *e = arg;
    char subject[200];
    /* Items of a provider's own trust anchors (a demo's) are named apart from the daemon's. */
    snprintf(subject, sizeof(subject), "collateral %s %s%s%.16s", r->kind, r->key,
             r->scope[0] != '\0' ? " of scope " : "", r->scope);
    expiring(e->a, "collateral_expiry", subject, r->next_update, e->a->cfg.collateral_warning,
             e->now);
    return ATT_OK;
}

static int64_t cert_not_after(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    int64_t t = 0;
    struct tm tm;
    if (x != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
        t = (int64_t)timegm(&tm);
    }
    X509_free(x);
    return t;
}

static att_err signing_key(const struct att_key_rec *k, void *arg)
{
    struct expiry_scan *e = arg;
    char subject[200];
    int64_t end = cert_not_after(k->cert_der.data, k->cert_der.len);
    snprintf(subject, sizeof(subject), "signing certificate %s of provider %s", k->kid,
             k->provider);
    if (end > 0) {
        expiring(e->a, "certificate_expiry", subject, end, e->a->cfg.certificate_warning, e->now);
    }
    return ATT_OK;
}

static att_err provider_keys(const struct att_provider_rec *p, void *arg)
{
    struct expiry_scan *e = arg;
    return att_store_key_list(e->a->store, p->name, signing_key, e);
}

static void check_tls_cert(struct att_alerts *a, int64_t now)
{
    FILE *f = a->cfg.tls_cert != NULL ? fopen(a->cfg.tls_cert, "r") : NULL;
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    struct tm tm;
    if (x != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
        char subject[300];
        snprintf(subject, sizeof(subject), "TLS certificate %s", a->cfg.tls_cert);
        expiring(a, "certificate_expiry", subject, (int64_t)timegm(&tm), a->cfg.certificate_warning,
                 now);
    }
    X509_free(x);
    if (f != NULL) {
        fclose(f);
    }
}

static void evaluate_all(struct att_alerts *a)
{
    int64_t now = att_time_now();
    struct scan sc = {a, now, 0};
    struct att_audit_filter f;
    memset(&f, 0, sizeof(f));
    f.limit = SCAN_LIMIT;
    f.skip_granted = true;
    /* Page by page until caught up (a full page means there may be more); then every record
     * up to the end seen before the scan has been read, granted attestations included, and
     * the next scan starts past them rather than skipping them again. */
    int64_t end = 0;
    att_err rc = att_audit_last_seq(a->audit, &end);
    for (int page = 0; page < SCAN_PAGES && rc == ATT_OK; page++) {
        f.after_seq = a->after_seq;
        sc.rows = 0;
        rc = att_audit_read(a->audit, &f, evaluate, &sc);
        if (rc == ATT_OK && sc.rows < SCAN_LIMIT) {
            a->after_seq = a->after_seq > end ? a->after_seq : end;
            break;
        }
    }
    if (rc != ATT_OK) {
        att_log(ATT_LOG_WARN, "alerts: cannot read the audit trail", "error",
                json_string(att_err_name(rc)), NULL);
    }
    struct att_audit_stats st;
    att_audit_stats(a->audit, &st);
    if (st.failing_since != 0) {
        raise_alert(a, "audit_sink_failed", "critical", "audit trail",
                    "the audit trail cannot be written: changes are refused and fail-closed "
                    "providers withhold tokens",
                    json_pack("{s:I,s:I}", "failingSince", (json_int_t)st.failing_since,
                              "failedRecords", (json_int_t)st.failed),
                    now);
    }
    struct expiry_scan e = {a, now};
    att_ignore_err(att_store_collateral_list(a->store, collateral_item, &e));
    att_ignore_err(att_store_provider_list(a->store, provider_keys, &e));
    check_tls_cert(a, now);
    uint64_t dropped = att_alert_sink_take_dropped(a->sink);
    if (dropped > 0) {
        char summary[128];
        snprintf(summary, sizeof(summary), "%llu alerts were dropped: the delivery queue was full",
                 (unsigned long long)dropped);
        raise_alert(a, "alert_queue_overflow", "critical", "delivery queue", summary,
                    json_pack("{s:I}", "dropped", (json_int_t)dropped), now);
    }
    flush_incidents(a, now);
}

static void *engine(void *arg)
{
    struct att_alerts *a = arg;
    pthread_mutex_lock(&a->lock);
    while (!a->stop) {
        pthread_mutex_unlock(&a->lock);
        evaluate_all(a);
        pthread_mutex_lock(&a->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += a->cfg.check_interval > 0 ? a->cfg.check_interval : 10;
        while (!a->stop && pthread_cond_timedwait(&a->wake, &a->lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

att_err att_alerts_start(const struct att_alert_config *cfg, struct att_audit *audit,
                         struct att_store *store, struct att_alerts **out, char *msg,
                         size_t msg_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_alerts *a = calloc(1, sizeof(*a));
    ATT_ENSURE(a != NULL, ATT_ERR_NOMEM);
    a->cfg = *cfg;
    a->audit = audit;
    a->store = store;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    ATT_GUARD(att_alert_sink_new(cfg, &a->sink, msg, msg_len));
    /* From the trail's present end: what happened before this start raises nothing. */
    ATT_GUARD(att_audit_last_seq(audit, &a->after_seq));
    ATT_CHECK(pthread_create(&a->thread, NULL, engine, a) == 0, ATT_ERR_INTERNAL);
    a->started = true;
    *out = a;
    a = NULL;
    rc = ATT_OK;
out:
    att_alerts_stop(a);
    return rc;
}

void att_alerts_stop(struct att_alerts *a)
{
    if (a == NULL) {
        return;
    }
    if (a->started) {
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->thread, NULL);
    }
    att_alert_sink_free(a->sink);
    for (size_t i = 0; i < INCIDENTS_MAX; i++) {
        json_decref(a->incidents[i].last);
    }
    pthread_cond_destroy(&a->wake);
    pthread_mutex_destroy(&a->lock);
    free(a);
}
