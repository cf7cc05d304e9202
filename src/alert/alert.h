/*
 * alert.h - alert rules evaluated in the server, and their delivery (docs/operations.md,
 * "Alerts").
 *
 * The rules read what the audit trail says happened - so changes made with attestctl, in
 * another process, alert like changes over REST - plus what only the running service can see:
 * collateral and certificates near expiry, an audit trail that cannot be written, alerts that
 * could not be queued. One engine thread evaluates them every check_interval; an incident (a
 * rule and a subject: "auth_failure_burst" from "source 10.1.2.3") is delivered once and then
 * counted for dedup_window, after which what was counted is delivered as one alert with its
 * count. A security change is an incident of its own: each one is delivered at once.
 *
 * Delivery (deliver.c): always to the log; to a syslog datagram socket and to an HTTPS webhook
 * when configured (the log and syslog at once, the webhook from a queue of its own). A webhook body
 * is JSON signed with HMAC-SHA256 under a shared secret: X-Attestd-Signature:
 * sha256=HEX(HMAC(secret, TIMESTAMP "." BODY)) X-Attestd-Timestamp: TIMESTAMP (Unix seconds:
 * receivers refuse old ones, so a captured delivery cannot be replayed later) with retries and
 * backoff (1, 2, 4, 8 s); the queue is bounded, and what overflows it is itself alerted.
 */
#ifndef ATT_ALERT_ALERT_H
#define ATT_ALERT_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct att_audit;
struct att_store;

struct att_alert_config {
    /* delivery */
    const char *webhook_url;         /* "" = none */
    const char *webhook_secret_file; /* the HMAC key (required with a webhook; private file) */
    const char *webhook_ca_file;     /* "" = the system's trust anchors */
    const char *syslog_socket;       /* "" = none */
    unsigned queue;                  /* alerts waiting for delivery at most */
    /* rules */
    unsigned auth_failures;      /* refused callers from one source or principal ... */
    unsigned auth_window;        /* ... within this many seconds */
    unsigned denials;            /* refused attestations of one provider ... */
    unsigned denial_window;      /* ... within this many seconds */
    int64_t collateral_warning;  /* seconds before nextUpdate / notAfter */
    int64_t certificate_warning; /* seconds before a TLS or signing certificate ends */
    unsigned dedup_window;       /* seconds an incident is counted, not delivered again */
    unsigned check_interval;     /* seconds between evaluations */
    const char *tls_cert;        /* the server's certificate file (PEM) */
    const char *host;            /* public_url: names this service in every alert */
};

struct att_alerts;

/*
 * Start the engine and the delivery thread. `audit` is read from its current end (earlier
 * records raise nothing); `store` gives collateral and signing certificates. Errors:
 * ATT_ERR_CONFIG (a webhook without a usable secret file, with `msg` saying why).
 */
att_err att_alerts_start(const struct att_alert_config *cfg, struct att_audit *audit,
                         struct att_store *store, struct att_alerts **out, char *msg,
                         size_t msg_len) ATT_WUR;
/* Stop both threads (alerts still queued for the webhook are counted as dropped). Accepts
 * NULL. */
void att_alerts_stop(struct att_alerts *a);

/* ---- counting (count.c) ---- */

/* A fixed-window count per key ("source 10.1.2.3", "principal x", "provider p"). */
struct att_alert_counter {
    char key[160]; /* "" = free */
    int64_t window_start;
    unsigned window; /* seconds: the rule's window this key is counted in */
    unsigned n;
};

/*
 * Count one event for `key` in a window of `window` seconds in `table` (`size` counters); true
 * when the count reaches `limit`, with the count in *n. When the table is full, the counter
 * with the fewest events in its window goes (the oldest of those), and *evicted says that a
 * live count was lost: a flood of keys, each below the threshold, can push out a burst being
 * counted, so the caller alerts on the flood itself.
 */
bool att_alert_count(struct att_alert_counter *table, size_t size, const char *key, unsigned window,
                     unsigned limit, int64_t now, unsigned *n, bool *evicted);

/* The subject of a source address: an IPv6 address's /64 ("2001:db8:1:2::/64": one host holds
 * a /64, so counting each address would let it spread its attempts), any other as it is - the
 * brute-force backoff's rule (att_backoff_addr_key). */
void att_alert_source_subject(const char *address, char *out, size_t out_len);

/* ---- delivery (deliver.c) ---- */

struct att_alert_sink;

att_err att_alert_sink_new(const struct att_alert_config *cfg, struct att_alert_sink **out,
                           char *msg, size_t msg_len) ATT_WUR;
void att_alert_sink_free(struct att_alert_sink *s);
/* Deliver `alert` (stolen) to the log and syslog now, and queue it for the webhook; false when
 * the webhook's queue is full (dropped for the webhook, counted). */
bool att_alert_sink_send(struct att_alert_sink *s, json_t *alert);
/* Alerts the webhook's queue dropped since the last call (for the overflow alert). */
uint64_t att_alert_sink_take_dropped(struct att_alert_sink *s);

#endif
