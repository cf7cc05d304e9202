/*
 * deliver.c - alert delivery: the log, a syslog socket, an HTTPS webhook (alert.h).
 *
 * The log and syslog take an alert at once, on the engine's thread (neither blocks: a syslog
 * receiver that is not reading loses the datagram, counted). The webhook has a thread of its
 * own and a bounded queue: a receiver that fails (no connection, TLS, a status other than 2xx)
 * is retried after 1, 2, 4 and 8 seconds; while it keeps failing, each later alert gets one
 * attempt until one succeeds, so a dead receiver delays the queue by one timeout per alert, not
 * five. What does not fit in the queue is dropped for the webhook and counted (the engine
 * raises an alert about that, which has a slot of its own so that it is not dropped too).
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alert/alert.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/log.h"
#include "core/syslog_sock.h"
#include "core/timeutil.h"
#include "metrics/metrics.h"
#include "net/https.h"

#define SECRET_MAX 4096
#define ATTEMPTS 5

struct queued {
    json_t *alert;
    struct queued *next;
};

struct att_alert_sink {
    char webhook_url[512];
    char webhook_origin[512]; /* "https://host:port": what the log names (paths may be secret) */
    char webhook_ca[4096];
    struct att_buf secret; /* HMAC key (secret buffer: wiped when freed) */
    bool syslog;
    struct att_syslog_sock syslog_sock;
    bool webhook_down; /* the last alert failed every attempt (webhook thread only) */
    unsigned cap;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct queued *head, *tail;
    unsigned n;
    bool stop;
    atomic_bool stopping; /* ends a transfer in flight (att_https_set_abort_flag) */
    _Atomic uint64_t dropped;
};

static void count(const char *rule, const char *channel, const char *result)
{
    char labels[ATT_METRICS_LABELS_MAX];
    snprintf(labels, sizeof(labels), "rule=\"%s\",channel=\"%s\",result=\"%s\"", rule, channel,
             result);
    att_metric_add(ATT_M_ALERTS, labels, 1);
}

/* The secret may be text (trailing newline dropped) or bytes; it must be private to us. */
static att_err load_secret(const char *path, struct att_buf *out, char *msg, size_t msg_len)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(msg, msg_len, "alert_webhook_secret_file %s: %s", path, strerror(errno));
        return ATT_ERR_CONFIG;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
        snprintf(msg, msg_len,
                 "alert_webhook_secret_file %s: must be a regular file owned by this user and "
                 "not accessible by group or others (chmod 600)",
                 path);
        return ATT_ERR_CONFIG;
    }
    if (att_file_read(path, SECRET_MAX, out) != ATT_OK) {
        snprintf(msg, msg_len, "alert_webhook_secret_file %s: cannot read it (at most %d bytes)",
                 path, SECRET_MAX);
        return ATT_ERR_CONFIG;
    }
    while (out->len > 0 && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r')) {
        out->len--;
    }
    if (out->len < 16) {
        snprintf(msg, msg_len, "alert_webhook_secret_file %s: at least 16 bytes of secret", path);
        return ATT_ERR_CONFIG;
    }
    return ATT_OK;
}

/* RFC 3164 §4.1 as /dev/log takes it; facility daemon; warning (4) or critical (2). */
static void to_syslog(struct att_alert_sink *s, const char *rule, bool critical, char *body)
{
    char head[64];
    if (!s->syslog) {
        return;
    }
    int h = snprintf(head, sizeof(head), "<%d>attestd[%ld]: alert ", 3 * 8 + (critical ? 2 : 4),
                     (long)getpid());
    struct iovec iov[2] = {{head, (size_t)h}, {body, strlen(body)}};
    bool ok = att_syslog_sock_send(&s->syslog_sock, iov, 2);
    count(rule, "syslog", ok ? "delivered" : "failed");
}

/* HMAC-SHA256(secret, ts "." body), lower-case hex. */
static bool sign_body(const struct att_buf *secret, const char *ts, const char *body, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t mac[32];
    size_t mac_len = 0;
    size_t ts_len = strlen(ts);
    size_t n = strlen(body);
    uint8_t *msg = malloc(ts_len + 1 + n);
    if (msg == NULL) {
        return false;
    }
    memcpy(msg, ts, ts_len);
    msg[ts_len] = '.';
    memcpy(msg + ts_len + 1, body, n);
    bool ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret->data, secret->len, msg,
                        ts_len + 1 + n, mac, sizeof(mac), &mac_len) != NULL &&
              mac_len == sizeof(mac);
    free(msg);
    for (size_t i = 0; ok && i < sizeof(mac); i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok;
}

/* Wait up to `seconds`, or less when stopping; true when stopping. */
static bool pause_unless_stopping(struct att_alert_sink *s, int seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&s->lock);
    while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &until) == 0) {
    }
    bool stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

/* The transfer's failure without the URL it starts with (a path or query may be a secret);
 * withheld when it does not start with the whole URL (cut short inside it). */
static const char *without_url(const struct att_alert_sink *s, const char *detail)
{
    size_t n = strlen(s->webhook_url);
    if (strncmp(detail, s->webhook_url, n) == 0 && strncmp(detail + n, ": ", 2) == 0) {
        return detail + n + 2;
    }
    return "(withheld: it names the URL)";
}

static void to_webhook(struct att_alert_sink *s, const char *rule, const char *id, const char *body)
{
    int attempts = s->webhook_down ? 1 : ATTEMPTS;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        char ts[24], sig[65], h_sig[96], h_ts[64], h_id[96], h_attempt[48];
        snprintf(ts, sizeof(ts), "%lld", (long long)att_time_now());
        if (!sign_body(&s->secret, ts, body, sig)) {
            break;
        }
        snprintf(h_sig, sizeof(h_sig), "X-Attestd-Signature: sha256=%s", sig);
        snprintf(h_ts, sizeof(h_ts), "X-Attestd-Timestamp: %s", ts);
        snprintf(h_id, sizeof(h_id), "X-Attestd-Delivery: %s", id);
        snprintf(h_attempt, sizeof(h_attempt), "X-Attestd-Attempt: %d", attempt);
        const char *headers[] = {
            "Content-Type: application/json", h_sig, h_ts, h_id, h_attempt, NULL};
        struct att_buf answer;
        char detail[sizeof(s->webhook_url) + 512] = ""; /* the URL and libcurl's message */
        long status = 0;
        att_buf_init(&answer, 4096);
        att_err rc =
            att_https_post(s->webhook_url, s->webhook_ca[0] != 0 ? s->webhook_ca : NULL, headers,
                           body, strlen(body), 10, &status, &answer, detail, sizeof(detail));
        att_buf_cleanup(&answer);
        if (rc == ATT_OK && status >= 200 && status < 300) {
            s->webhook_down = false;
            count(rule, "webhook", "delivered");
            return;
        }
        att_log(ATT_LOG_WARN, "alert webhook failed", "rule", json_string(rule), "webhook",
                json_string(s->webhook_origin), "attempt", json_integer(attempt), "status",
                rc == ATT_OK ? json_integer(status) : NULL, "detail",
                detail[0] != 0 ? json_string(without_url(s, detail)) : NULL, NULL);
        if (attempt < attempts && pause_unless_stopping(s, 1 << (attempt - 1))) {
            break;
        }
    }
    s->webhook_down = true;
    count(rule, "webhook", "failed");
}

/* Webhook thread: one queued alert; when stopping, none (a slow webhook must not hold the
 * exit up; the log and syslog had it already). */
static void deliver(struct att_alert_sink *s, json_t *alert, bool stopping)
{
    const char *rule = json_string_value(json_object_get(alert, "rule"));
    const char *id = json_string_value(json_object_get(alert, "id"));
    char *body = json_dumps(alert, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (body != NULL && !stopping) {
        to_webhook(s, rule, id, body);
    } else {
        count(rule, "webhook", "dropped");
    }
    free(body);
}

static void *run(void *arg)
{
    struct att_alert_sink *s = arg;
    att_https_set_abort_flag(&s->stopping); /* a stuck receiver does not hold the exit up */
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (s->head == NULL && !s->stop) {
            pthread_cond_wait(&s->wake, &s->lock);
        }
        if (s->head == NULL) {
            break; /* stopping with nothing left */
        }
        struct queued *q = s->head;
        s->head = q->next;
        if (s->head == NULL) {
            s->tail = NULL;
        }
        s->n--;
        bool stopping = s->stop;
        pthread_mutex_unlock(&s->lock);
        deliver(s, q->alert, stopping);
        json_decref(q->alert);
        free(q);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    att_https_set_abort_flag(NULL);
    return NULL;
}

att_err att_alert_sink_new(const struct att_alert_config *cfg, struct att_alert_sink **out,
                           char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_CONFIG;
    struct att_alert_sink *s = calloc(1, sizeof(*s));
    ATT_ENSURE(s != NULL, ATT_ERR_NOMEM);
    s->cap = cfg->queue > 0 ? cfg->queue : 256;
    att_buf_init_secret(&s->secret, SECRET_MAX);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (cfg->webhook_url != NULL && cfg->webhook_url[0] != 0) {
        if (strncmp(cfg->webhook_url, "https://", 8) != 0 ||
            strlen(cfg->webhook_url) >= sizeof(s->webhook_url)) {
            snprintf(msg, msg_len, "alert_webhook_url: an https URL of at most %zu bytes",
                     sizeof(s->webhook_url) - 1);
            goto out;
        }
        if (cfg->webhook_secret_file == NULL || cfg->webhook_secret_file[0] == 0) {
            snprintf(msg, msg_len, "alert_webhook_url needs alert_webhook_secret_file");
            goto out;
        }
        ATT_GUARD(load_secret(cfg->webhook_secret_file, &s->secret, msg, msg_len));
        const char *ca = cfg->webhook_ca_file != NULL ? cfg->webhook_ca_file : "";
        if (ca[0] != 0 && access(ca, R_OK) != 0) {
            snprintf(msg, msg_len, "alert_webhook_ca_file %s: %s", ca, strerror(errno));
            rc = ATT_ERR_CONFIG;
            goto out;
        }
        snprintf(s->webhook_url, sizeof(s->webhook_url), "%s", cfg->webhook_url);
        snprintf(s->webhook_origin, sizeof(s->webhook_origin), "%.*s",
                 (int)(8 + strcspn(cfg->webhook_url + 8, "/?#")), cfg->webhook_url);
        snprintf(s->webhook_ca, sizeof(s->webhook_ca), "%s", ca);
    }
    if (cfg->syslog_socket != NULL && cfg->syslog_socket[0] != 0) {
        att_err sr = att_syslog_sock_open(&s->syslog_sock, cfg->syslog_socket);
        if (sr != ATT_OK) {
            snprintf(msg, msg_len, "alert_syslog_socket %s: %s%s", cfg->syslog_socket,
                     sr == ATT_ERR_TOO_LARGE ? "longer than a Unix socket path (107 bytes)"
                                             : "cannot connect: ",
                     sr == ATT_ERR_TOO_LARGE ? "" : strerror(errno));
            rc = ATT_ERR_CONFIG;
            goto out;
        }
        s->syslog = true;
    }
    if (s->webhook_url[0] != 0) {
        ATT_CHECK(pthread_create(&s->thread, NULL, run, s) == 0, ATT_ERR_INTERNAL);
        s->started = true;
    }
    *out = s;
    s = NULL;
    rc = ATT_OK;
out:
    att_alert_sink_free(s);
    return rc;
}

void att_alert_sink_free(struct att_alert_sink *s)
{
    if (s == NULL) {
        return;
    }
    if (s->started) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        atomic_store(&s->stopping, true);
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    if (s->syslog) {
        att_syslog_sock_close(&s->syslog_sock);
    }
    att_buf_cleanup(&s->secret);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

bool att_alert_sink_send(struct att_alert_sink *s, json_t *alert)
{
    const char *rule = json_string_value(json_object_get(alert, "rule"));
    bool critical = strcmp(json_string_value(json_object_get(alert, "severity")), "critical") == 0;
    att_log(critical ? ATT_LOG_ERROR : ATT_LOG_WARN, "alert", "alert", json_incref(alert), NULL);
    count(rule, "log", "delivered");
    if (s->syslog) {
        char *body = json_dumps(alert, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (body != NULL) {
            to_syslog(s, rule, critical, body);
        }
        free(body);
    }
    if (!s->started) {
        json_decref(alert); /* no webhook */
        return true;
    }
    /* The overflow alert may take one slot past the cap: the report of a loss is not lost. */
    unsigned cap = strcmp(rule, "alert_queue_overflow") == 0 ? s->cap + 1 : s->cap;
    struct queued *q = calloc(1, sizeof(*q));
    bool queued = false;
    pthread_mutex_lock(&s->lock);
    if (q != NULL && s->n < cap && !s->stop) {
        q->alert = alert;
        if (s->tail != NULL) {
            s->tail->next = q;
        } else {
            s->head = q;
        }
        s->tail = q;
        s->n++;
        queued = true;
        pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->lock);
    if (!queued) {
        count(rule, "webhook", "dropped");
        free(q);
        json_decref(alert);
        atomic_fetch_add(&s->dropped, 1);
    }
    return queued;
}

uint64_t att_alert_sink_take_dropped(struct att_alert_sink *s)
{
    return atomic_exchange(&s->dropped, 0);
}
