/*
 * server.c - HTTPS connections on libevent bufferevents (see server.h).
 *
 * Input: bytes from any network peer, untrusted. The head is handed to
 * parser.c only when complete and within max_header_bytes; the body is read
 * only when its declared length is within max_body_bytes. Every limit
 * failure is answered in MAA's error shape, then the connection is closed.
 *
 * Connection life:
 *   accept -> (allow-list, limits: total and per source, TCP_NODELAY) -> TLS handshake
 *   -> S_HEAD -> S_BODY -> handler on the loop (light requests)     -> S_WRITE
 *                       -> S_WORK: handler on the job pool, answer back -> S_WRITE
 *   -> (keep-alive) S_HEAD ...
 *   any error -> S_CLOSING (answer flushed) -> S_LINGER (input discarded, <= 2 s) -> free
 * Deadline timers cover the handshake (handshake_timeout) and each request from its first
 * byte to its answer, work included (request_timeout; slowloris, stuck work); bufferevent
 * timeouts cover silence.
 *
 * Pool hand-off: the request's head and body move into a `struct work`, which a pool thread
 * answers into its own response; only the loop thread touches the connection, and a
 * connection that goes away (or answers 503 at its deadline) while its work runs just lets
 * go of the work, which is freed when it comes back.
 */
#include "http/server.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "core/jobs.h"
#include "core/log.h"
#include "core/log_summary.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "crypto/ids.h"
#include "http/peers.h"
#include "metrics/metrics.h"

#define MAX_LISTENERS 8
#define MAX_WORKERS 64
#define LINGER_SECONDS 2
#define ACCEPT_RETRY_MS 500
/* A connection keeps its body buffer between requests up to this size. */
#define BODY_KEEP_BYTES ((size_t)64 * 1024)
/* Retry-After of a 503 for a full job queue: seconds. */
#define BUSY_RETRY_AFTER "1"

/* S_LINGER: the error answer is flushed; read and discard what the client still sends for a
 * moment, so it reads our answer instead of a reset (nginx's lingering close). */
enum conn_state { S_HEAD, S_BODY, S_WORK, S_WRITE, S_CLOSING, S_LINGER };

struct worker;
struct conn;

/* One request handed to the job pool (see the banner). */
struct work {
    struct att_job job;
    struct worker *w;
    struct conn *c; /* loop thread only; NULL once the connection let go */
    /* moved from the connection; the pool thread reads them */
    struct att_http_head head;
    struct att_buf body;
    struct sockaddr_storage peer;
    char peer_text[64];
    char cert_sha256[65];
    char rid[37];
    int64_t deadline_ms;
    /* written by the pool thread, read by the loop after the hand-back */
    struct att_http_response resp;
    struct att_http_gate gate; /* holds the answer while audit records are committed */
    bool late;                 /* the deadline passed before a pool thread took it: not run */
    _Atomic bool abandoned;    /* its connection went away: not run if not started yet */
    struct work *next_done;
};

struct conn {
    struct worker *w;
    struct conn *prev, *next;
    struct bufferevent *bev;
    struct event *deadline;
    enum conn_state state;
    struct sockaddr_storage peer;
    char peer_text[64];
    char cert_sha256[65]; /* verified client certificate, "" when none */
    bool cert_checked;
    bool keep_alive;
    bool head_method; /* HEAD: framing headers but no body */
    bool input_ended; /* the client half-closed while an answer was being made or drained */
    bool counted;     /* holds a slot of its source in the per-source table */
    bool slot_passed; /* closed to make room: its max_connections slot goes to the newcomer */
    unsigned requests;
    int64_t start_ms;
    int64_t deadline_ms;   /* when the deadline timer fires (monotonic) */
    int64_t idle_since_ms; /* S_HEAD without a request byte: since when (reclaim_idle) */
    struct work *work;     /* S_WORK: the request on the job pool */
    size_t scanned;        /* input bytes already searched for the end of the head */
    struct att_http_head head;
    struct att_buf body;
};

/*
 * A socket accepted at max_connections by a loop with no connection of its own idle for
 * RECLAIM_AGE_MS (reclaim_idle works within one loop) goes on to the next loop that holds
 * connections, which tries the same. Back at the loop that accepted it (`origin`), a second
 * lap closes idle connections of any age: so a burst of newcomers closes connections that
 * have been idle for a while anywhere before it closes the newcomers of a moment ago, and
 * still gets room where only those are idle. Each waiting hand-off holds a descriptor, so at
 * most ATT_HTTP_HANDOFFS wait across the loops; att_http_spare_descriptors counts them.
 */
#define RECLAIM_AGE_MS 1000
struct chain {
    unsigned origin; /* index of the loop that accepted the socket */
    bool any_age;    /* second lap: an idle connection of any age may be closed */
};
struct handoff {
    struct handoff *next;
    evutil_socket_t fd;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    struct chain chain;
};

struct worker {
    struct att_http_server *s;
    pthread_t thread;
    bool started;
    struct event_base *base;
    struct evconnlistener *listeners[MAX_LISTENERS];
    struct event *stop_ev;
    struct event *resume_ev; /* re-enables accepting after running out of descriptors */
    struct conn *conns;
    _Atomic unsigned n_conns; /* read by other loops choosing where to hand a socket off */
    bool draining;
    time_t date_at; /* second `date` was formatted for */
    char date[40];
    /* answers the pool hands back (done_lock), and the event that makes the loop take them */
    pthread_mutex_t done_lock;
    struct work *done_head;
    struct event *done_ev;
    /* sockets other loops handed off (handoff_lock), and the event that makes this loop take them
     */
    pthread_mutex_t handoff_lock;
    struct handoff *handoffs;
    struct event *handoff_ev;
    struct handoff *parked; /* sockets kept while accepting is paused, oldest first (park) */
    unsigned n_parked;      /* at most ATT_HTTP_PARKED */
};

struct att_http_server {
    struct att_http_server_config cfg;
    struct att_tls_holder *tls;
    att_http_handler handler;
    att_http_light_fn light;
    void *arg;
    struct att_jobs *jobs;
    atomic_uint out;          /* work handed to the pool and not yet back on a done list */
    struct att_peers *peers;  /* open connections per source */
    struct att_peers *queued; /* requests on the job pool per source */
    unsigned pool_size;       /* job threads + job_queue: what sources share */
    int fds[MAX_LISTENERS];
    size_t n_fds;
    struct worker workers[MAX_WORKERS];
    unsigned n_workers;
    _Atomic unsigned open_conns; /* connections: the max_connections slots taken */
    _Atomic unsigned held;       /* their sockets, and those of freed ones libevent closes later */
    _Atomic unsigned handoffs;   /* waiting in the loops' lists, at most ATT_HTTP_HANDOFFS */
};

/* ------------------------------------------------------------------------ */
/* Connection teardown                                                       */

/*
 * Done with a request body. It may hold a secret (a client secret in a token request), so it
 * is wiped; the buffer is kept for the connection's next request unless it grew large.
 */
static void body_drop(struct conn *c, bool keep)
{
    att_wipe(c->body.data, c->body.len);
    if (keep && c->body.cap <= BODY_KEEP_BYTES) {
        att_buf_reset(&c->body);
    } else {
        att_buf_cleanup(&c->body);
    }
}

static void conn_free(struct conn *c)
{
    struct worker *w = c->w;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        w->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    w->n_conns--;
    if (!c->slot_passed) {
        atomic_fetch_sub(&w->s->open_conns, 1); /* `held` drops when the socket is closed */
    }
    if (c->counted) {
        att_peers_release(w->s->peers, (const struct sockaddr *)&c->peer);
    }
    if (c->work != NULL) {
        c->work->c = NULL; /* the work is freed when the pool hands it back */
        atomic_store(&c->work->abandoned, true);
    }
    if (c->deadline != NULL) {
        event_free(c->deadline);
    }
    if (c->bev != NULL) {
        bufferevent_free(c->bev); /* BEV_OPT_CLOSE_ON_FREE: frees the SSL and closes the socket */
    }
    att_http_head_cleanup(&c->head);
    body_drop(c, false);
    free(c);
    if (w->draining && w->n_conns == 0) {
        event_base_loopbreak(w->base);
    }
}

static void set_timeouts(struct conn *c, unsigned read_s)
{
    struct timeval rt = {(time_t)read_s, 0};
    struct timeval wt = {(time_t)c->w->s->cfg.write_timeout_s, 0};
    bufferevent_set_timeouts(c->bev, &rt, &wt);
}

static void arm_deadline_in(struct conn *c, unsigned seconds)
{
    struct timeval tv = {(time_t)seconds, 0};
    c->deadline_ms = att_time_mono_ms() + 1000 * (int64_t)seconds;
    evtimer_add(c->deadline, &tv);
}

static void arm_deadline(struct conn *c)
{
    arm_deadline_in(c, c->w->s->cfg.request_timeout_s);
}

/* ------------------------------------------------------------------------ */
/* Writing answers                                                           */

static void new_request_id(char out[37])
{
    if (att_id_uuid4(out) != ATT_OK) {
        memcpy(out, "00000000-0000-4000-8000-000000000000", 37);
    }
}

/* RFC 9110 §5.6.7 IMF-fixdate, formatted once a second per worker. */
static const char *http_date(struct worker *w)
{
    time_t now = time(NULL);
    if (now != w->date_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        w->date_at = now;
    }
    return w->date;
}

/* A bounded appender for the response head; `len` counts past `cap` to detect overflow. */
struct head_out {
    char *p;
    size_t len, cap;
};

static void head_put(struct head_out *o, const char *s, size_t n)
{
    if (n <= o->cap && o->len <= o->cap - n) {
        memcpy(o->p + o->len, s, n);
    }
    o->len += n;
}

static void head_puts(struct head_out *o, const char *s)
{
    head_put(o, s, strlen(s));
}

static void head_putu(struct head_out *o, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    head_put(o, digits + sizeof(digits) - n, n);
}

/*
 * Assemble the whole answer in one contiguous piece of the output buffer and commit it at once,
 * so it leaves in as few TLS records (and syscalls) as its size allows.
 */
static void write_response(struct conn *c, const struct att_http_response *r, const char *rid)
{
    char head[1024];
    struct head_out h = {head, 0, sizeof(head)};
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct evbuffer_iovec v;
    size_t body_len = c->head_method ? 0 : r->body.len;

    head_puts(&h, "HTTP/1.1 ");
    head_putu(&h, (uint64_t)r->status);
    head_puts(&h, " ");
    head_puts(&h, att_http_reason(r->status));
    head_puts(&h, "\r\nDate: ");
    head_puts(&h, http_date(c->w));
    head_puts(&h, "\r\nx-ms-request-id: ");
    head_puts(&h, rid);
    head_puts(&h, "\r\n");
    if (r->content_type != NULL) {
        head_puts(&h, "Content-Type: ");
        head_puts(&h, r->content_type);
        head_puts(&h, "\r\n");
    }
    head_puts(&h, "Content-Length: ");
    head_putu(&h, r->body.len);
    head_puts(&h, "\r\n");
    if (r->successor != NULL) {
        /* A deprecated path: the Deprecation header in the boolean form of the IETF httpapi
         * drafts (RFC 9745 later gave it a date), and the successor-version link relation
         * (RFC 5829) in a Link header (RFC 8288 §3). */
        head_puts(&h, "Deprecation: true\r\nLink: <");
        head_puts(&h, r->successor);
        head_puts(&h, ">; rel=\"successor-version\"\r\n");
    }
    if (!c->keep_alive) {
        head_puts(&h, "Connection: close\r\n");
    } else if (c->head.version_minor == 0) {
        head_puts(&h, "Connection: keep-alive\r\n");
    }
    size_t total = h.len + r->headers.len + 2 + body_len;
    if (h.len > h.cap || evbuffer_reserve_space(out, (ev_ssize_t)total, &v, 1) != 1 ||
        v.iov_len < total) {
        /* Out of memory: never send a partial answer; this one needs no allocation. */
        static const char fallback[] =
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json; "
            "charset=utf-8\r\nContent-Length: 66\r\nConnection: close\r\n\r\n"
            "{\"error\":{\"code\":\"InternalServerError\",\"message\":\"out of memory\"}}";
        c->keep_alive = false;
        c->state = S_CLOSING;
        evbuffer_add(out, fallback, sizeof(fallback) - 1);
        return;
    }
    uint8_t *p = v.iov_base;
    memcpy(p, head, h.len);
    if (r->headers.len > 0) {
        memcpy(p + h.len, r->headers.data, r->headers.len);
    }
    memcpy(p + h.len + r->headers.len, "\r\n", 2);
    if (body_len > 0) {
        memcpy(p + h.len + r->headers.len + 2, r->body.data, body_len);
    }
    v.iov_len = total;
    evbuffer_commit_space(out, &v, 1);
}

/* Count the answer by route and status, and its time since the request's first byte. */
static void count_answer(const struct conn *c, const struct att_http_response *r)
{
    char labels[ATT_METRICS_LABELS_MAX];
    const char *route = r->route != NULL ? r->route : "none"; /* our constants: no escaping */
    snprintf(labels, sizeof(labels), "route=\"%s\",status=\"%d\"", route, r->status);
    att_metric_add(ATT_M_HTTP_REQUESTS, labels, 1);
    snprintf(labels, sizeof(labels), "route=\"%s\"", route);
    att_metric_observe(ATT_M_HTTP_DURATION, labels,
                       (double)(att_time_mono_ms() - c->start_ms) / 1000.0);
}

static void log_access(struct conn *c, const struct att_http_response *r, const char *rid)
{
    char path[257] = "";
    count_answer(c, r);
    if (c->head.path.ptr != NULL && c->head.path.len > 0) {
        size_t n = c->head.path.len < sizeof(path) - 1 ? c->head.path.len : sizeof(path) - 1;
        memcpy(path, c->head.path.ptr, n);
        path[n] = 0;
    }
    /* A 503 is load (a full job queue, a deadline, an upstream down), not a fault of ours, and
     * comes as fast as a client asks: it is counted in a summary warning where it is made. */
    enum att_log_level lvl = r->status >= 500 && r->status != 503 ? ATT_LOG_ERROR : ATT_LOG_INFO;
    if (!att_log_enabled(lvl)) {
        return;
    }
    att_log(lvl, "request", "request_id", json_string(rid), "peer", json_string(c->peer_text),
            "method",
            c->head.method_name.ptr != NULL && c->head.method_name.len > 0
                ? json_stringn((const char *)c->head.method_name.ptr, c->head.method_name.len)
                : NULL,
            "path", path[0] != 0 ? json_string(path) : NULL, "provider",
            r->provider[0] != 0 ? json_string(r->provider) : NULL, "route",
            r->route != NULL ? json_string(r->route) : NULL, "status", json_integer(r->status),
            "error", r->error_code != NULL ? json_string(r->error_code) : NULL, "duration_ms",
            json_integer(att_time_mono_ms() - c->start_ms), NULL);
}

/* Answer an error the handler never saw, then close. */
static void fail_conn(struct conn *c, int status, const char *message)
{
    struct att_http_response r;
    char rid[37];
    new_request_id(rid);
    att_http_response_init(&r);
    r.request_id = rid;
    att_http_error(&r, status, att_http_status_code_name(status), message);
    r.route = "-";
    c->keep_alive = false;
    c->state = S_CLOSING;
    evtimer_del(c->deadline);
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_enable(c->bev, EV_WRITE);
    write_response(c, &r, rid);
    log_access(c, &r, rid);
    att_http_response_cleanup(&r);
}

/* ------------------------------------------------------------------------ */
/* Reading requests                                                          */

/* The verified client certificate's SHA-256 (computed once per connection). */
static void client_cert(struct conn *c)
{
    static const char hex[] = "0123456789abcdef";
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    X509 *peer = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
    uint8_t d[32];
    unsigned int n = 0;
    c->cert_checked = true;
    if (peer == NULL || SSL_get_verify_result(ssl) != X509_V_OK ||
        X509_digest(peer, EVP_sha256(), d, &n) != 1 || n != sizeof(d)) {
        return;
    }
    for (size_t i = 0; i < sizeof(d); i++) {
        c->cert_sha256[2 * i] = hex[d[i] >> 4];
        c->cert_sha256[2 * i + 1] = hex[d[i] & 15];
    }
    c->cert_sha256[64] = 0;
}

/* The answer is made: count it, send it, log it. Reading stays on meanwhile (see on_write). */
static void answer(struct conn *c, struct att_http_response *r, const char *rid)
{
    if (att_buf_err(&r->body) != ATT_OK || att_buf_err(&r->headers) != ATT_OK) {
        att_http_error(r, 500, "InternalServerError", "the response could not be built");
    }
    c->requests++;
    c->state = S_WRITE;
    evtimer_del(c->deadline);
    /*
     * Reading stays on while the answer drains (toggling it costs two epoll_ctl calls per
     * request): pipelined bytes wait in the input buffer, bounded by its high watermark, and
     * process() ignores them until on_write takes the connection back to S_HEAD.
     */
    write_response(c, r, rid);
    log_access(c, r, rid);
}

/* A warning for load the server sheds, once per peer and interval (core/log_summary.h). */
static void warn_shed(const char *what, const struct conn *c)
{
    char key[ATT_LOG_SUMMARY_KEY_MAX];
    snprintf(key, sizeof(key), "%s %s", what, c->peer_text);
    if (att_log_summary_admit(ATT_LOG_WARN, what, key, att_time_now())) {
        att_log(ATT_LOG_WARN, what, "peer", json_string(c->peer_text), NULL);
    }
}

static void work_free(struct work *wk)
{
    att_peers_release(wk->w->s->queued, (const struct sockaddr *)&wk->peer);
    att_http_head_cleanup(&wk->head);
    att_wipe(wk->body.data, wk->body.len); /* a body may hold a client secret */
    att_buf_cleanup(&wk->body);
    att_http_response_cleanup(&wk->resp);
    free(wk);
}

/* Pool thread: answer the request, unless its deadline passed while it waited. */
static void work_run(struct att_job *job)
{
    struct work *wk = (struct work *)job;
    struct att_http_server *s = wk->w->s;
    if (atomic_load(&wk->abandoned)) {
        return; /* nobody waits for the answer */
    }
    if (att_time_mono_ms() >= wk->deadline_ms) {
        wk->late = true;
        return;
    }
    struct att_http_request req = {
        .head = &wk->head,
        .body = wk->body.data,
        .body_len = wk->body.len,
        .peer = (const struct sockaddr *)&wk->peer,
        .peer_text = wk->peer_text,
        .request_id = wk->rid,
        .client_cert_sha256 = wk->cert_sha256,
        .deadline_ms = wk->deadline_ms,
    };
    att_deadline_set(wk->deadline_ms);
    s->handler(s->arg, &req, &wk->resp);
    att_deadline_set(0);
}

/* Hand the work back to its loop (one wake-up for all that came back meanwhile): on the pool
 * thread, or on the thread that finished the gate's last hold. */
static void gate_release(struct att_http_gate *g)
{
    struct work *wk = (struct work *)((char *)g - offsetof(struct work, gate));
    struct worker *w = wk->w;
    atomic_fetch_sub(&w->s->out, 1);
    pthread_mutex_lock(&w->done_lock);
    bool first = w->done_head == NULL;
    wk->next_done = w->done_head;
    w->done_head = wk;
    pthread_mutex_unlock(&w->done_lock);
    if (first) {
        event_active(w->done_ev, EV_READ, 0); /* thread-safe: evthread_use_pthreads */
    }
}

/* Pool thread: the handler is done; the answer goes once its gate's holds are finished too. */
static void work_done(struct att_job *job, bool canceled)
{
    struct work *wk = (struct work *)job;
    wk->late = wk->late || canceled;
    att_http_gate_finish(&wk->gate, NULL);
}

/* Loop thread: send what came back from the pool, if its connection still waits for it. */
static void deliver(struct work *wk)
{
    struct conn *c = wk->c;
    if (c != NULL) {
        c->work = NULL;
        /* The head goes back to the connection: the answer's framing and log read it. */
        att_http_head_cleanup(&c->head);
        c->head = wk->head;
        att_http_head_init(&wk->head);
        const char *refusal = atomic_load(&wk->gate.refusal);
        if (wk->late) {
            warn_shed("request answered 503: its deadline passed in the job queue", c);
            att_http_error(&wk->resp, 503, "ServiceUnavailable",
                           "the request could not be started before its deadline");
        } else if (refusal != NULL) {
            att_http_error(&wk->resp, 503, "ServiceUnavailable", refusal);
        }
        if (c->input_ended) {
            bufferevent_enable(c->bev, EV_WRITE); /* libevent stopped writing at the EOF */
        }
        answer(c, &wk->resp, wk->rid);
    }
    work_free(wk);
}

static void on_work_done(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&w->done_lock);
    struct work *list = w->done_head;
    w->done_head = NULL;
    pthread_mutex_unlock(&w->done_lock);
    while (list != NULL) {
        struct work *next = list->next_done;
        deliver(list);
        list = next;
    }
}

/* 503 with Retry-After, at once and without the work: the job queue is full, or this client
 * holds its share of it. */
static void answer_busy(struct conn *c, const char *rid, bool share)
{
    struct att_http_response r;
    warn_shed(share ? "request refused: its source holds its share of the job queue"
                    : "request refused: the job queue is full",
              c);
    att_http_response_init(&r);
    r.request_id = rid;
    att_http_error(&r, 503, "ServiceUnavailable",
                   share ? "the server is busy: this client has its share of the requests "
                           "waiting; retry later"
                         : "the server is busy: too many requests are waiting; retry later");
    att_ignore_err(att_http_response_header(&r, "Retry-After", BUSY_RETRY_AFTER));
    answer(c, &r, rid);
    att_http_response_cleanup(&r);
}

/* Move the request into a work item and queue it; the connection waits in S_WORK. */
static void to_pool(struct conn *c, const char *rid)
{
    struct att_http_server *s = c->w->s;
    /* A source may hold its fair share of the pool's capacity (its threads and queue). */
    if (!att_peers_acquire_share(s->queued, (const struct sockaddr *)&c->peer, s->pool_size)) {
        answer_busy(c, rid, true);
        return;
    }
    struct work *wk = calloc(1, sizeof(*wk));
    if (wk == NULL) {
        att_peers_release(s->queued, (const struct sockaddr *)&c->peer);
        fail_conn(c, 500, "out of memory");
        return;
    }
    wk->job.run = work_run;
    wk->job.done = work_done;
    wk->w = c->w;
    wk->c = c;
    wk->head = c->head;
    att_http_head_init(&c->head);
    wk->body = c->body;
    att_buf_init(&c->body, s->cfg.limits.max_body_bytes);
    memcpy(&wk->peer, &c->peer, sizeof(wk->peer));
    memcpy(wk->peer_text, c->peer_text, sizeof(wk->peer_text));
    memcpy(wk->cert_sha256, c->cert_sha256, sizeof(wk->cert_sha256));
    memcpy(wk->rid, rid, sizeof(wk->rid));
    wk->deadline_ms = c->deadline_ms;
    att_http_response_init(&wk->resp);
    wk->resp.request_id = wk->rid;
    atomic_init(&wk->gate.holds, 1);
    atomic_init(&wk->gate.refusal, NULL);
    wk->gate.release = gate_release;
    wk->resp.gate = &wk->gate;
    atomic_fetch_add(&s->out, 1);
    if (att_jobs_submit(s->jobs, &wk->job) != ATT_OK) {
        atomic_fetch_sub(&s->out, 1);
        att_http_head_cleanup(&c->head);
        c->head = wk->head;
        att_http_head_init(&wk->head);
        work_free(wk);
        answer_busy(c, rid, false);
        return;
    }
    c->work = wk;
    c->state = S_WORK;
}

/* A whole request is in: answer it here when it is light, else hand it to the job pool. */
static void dispatch(struct conn *c)
{
    struct att_http_server *s = c->w->s;
    struct att_http_response r;
    char rid[37];
    struct att_http_request req = {
        .head = &c->head,
        .body = c->body.data,
        .body_len = c->body.len,
        .peer = (const struct sockaddr *)&c->peer,
        .peer_text = c->peer_text,
        .request_id = rid,
        .client_cert_sha256 = c->cert_sha256,
        .deadline_ms = c->deadline_ms,
    };
    if (!c->cert_checked) {
        client_cert(c);
    }
    new_request_id(rid);
    if (s->light == NULL || !s->light(s->arg, &req)) {
        to_pool(c, rid);
        return;
    }
    att_http_response_init(&r);
    r.request_id = rid;
    s->handler(s->arg, &req, &r);
    answer(c, &r, rid);
    att_http_response_cleanup(&r);
}

static struct evbuffer_ptr search_from(struct evbuffer *in, const char *what, size_t len,
                                       size_t from)
{
    struct evbuffer_ptr start;
    evbuffer_ptr_set(in, &start, from, EVBUFFER_PTR_SET);
    return evbuffer_search(in, what, len, &start);
}

/*
 * Find the end of the head: CRLF CRLF, or an empty line written with a bare LF on either side
 * (LF LF, LF CRLF), or a bare CR (CR CR: no valid head holds one), handed to the parser too so
 * that it is refused at once with 400 instead of the client waiting for a CRLF CRLF that never
 * comes. Each byte is searched once however
 * slowly the head trickles in (c->scanned).
 */
static bool find_head_end(struct conn *c, struct evbuffer *in, size_t *head_len)
{
    static const struct {
        const char *end;
        size_t len;
    } ends[] = {{"\r\n\r\n", 4}, {"\n\n", 2}, {"\n\r\n", 3}, {"\r\r", 2}};
    size_t from = c->scanned > 3 ? c->scanned - 3 : 0;
    size_t n = SIZE_MAX;
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        struct evbuffer_ptr at = search_from(in, ends[i].end, ends[i].len, from);
        if (at.pos >= 0 && (size_t)at.pos + ends[i].len < n) {
            n = (size_t)at.pos + ends[i].len;
        }
    }
    c->scanned = evbuffer_get_length(in);
    if (n == SIZE_MAX) {
        return false;
    }
    *head_len = n;
    return true;
}

static void read_head(struct conn *c, struct evbuffer *in)
{
    const struct att_http_server_config *cfg = &c->w->s->cfg;
    size_t avail = evbuffer_get_length(in);
    size_t head_len = 0;
    if (!find_head_end(c, in, &head_len)) {
        if (avail > cfg->limits.max_header_bytes) {
            fail_conn(c, 431, "request head too large");
        }
        return;
    }
    c->scanned = 0;
    if (head_len > cfg->limits.max_header_bytes) {
        fail_conn(c, 431, "request head too large");
        return;
    }
    /* Contiguous view of the head; the parser copies what it keeps. */
    const uint8_t *raw = evbuffer_pullup(in, (ev_ssize_t)head_len);
    if (raw == NULL) {
        fail_conn(c, 500, "out of memory");
        return;
    }
    struct att_http_parse_error perr;
    att_http_head_cleanup(&c->head);
    att_http_head_init(&c->head);
    att_err rc = att_http_head_parse(raw, head_len, &cfg->limits, &c->head, &perr);
    evbuffer_drain(in, head_len);
    c->head_method = c->head.method == ATT_HTTP_HEAD;
    if (rc != ATT_OK) {
        fail_conn(c, perr.status, perr.message);
        return;
    }
    c->keep_alive =
        c->head.keep_alive && !c->w->draining && c->requests + 1 < cfg->max_requests_per_connection;
    att_buf_reset(&c->body);
    if (c->head.expect_continue && c->head.content_length > 0) {
        /* RFC 9110 §10.1.1: the length is acceptable, ask for the body. */
        evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    c->state = S_BODY;
}

static void process(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->state == S_HEAD) {
        if (evbuffer_get_length(in) == 0) {
            return;
        }
        if (c->start_ms == 0) {
            c->start_ms = att_time_mono_ms();
            set_timeouts(c, c->w->s->cfg.read_timeout_s);
            if (c->requests > 0) {
                arm_deadline(c); /* the first request's deadline runs from the accept */
            }
        }
        read_head(c, in);
    }
    if (c->state == S_BODY) {
        size_t want = (size_t)c->head.content_length;
        if (evbuffer_get_length(in) < want) {
            return;
        }
        if (att_buf_reserve(&c->body, want) != ATT_OK) {
            fail_conn(c, 500, "out of memory");
            return;
        }
        evbuffer_remove(in, c->body.data, want);
        c->body.len = want;
        c->body.data[want] = 0;
        dispatch(c);
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->state == S_LINGER) {
        struct evbuffer *in = bufferevent_get_input(bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    process(c);
}

/*
 * After an error answer: tell the client we are done (TLS close_notify, then a TCP half
 * close, so it sees the end at once), then discard what it still sends for a moment before
 * closing, so that unread body bytes do not turn into a reset that destroys our answer.
 */
static void start_linger(struct conn *c)
{
    struct timeval tv = {LINGER_SECONDS, 0};
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    if (ssl != NULL) {
        SSL_shutdown(ssl); /* the output buffer is empty: nothing can be overtaken */
        ERR_clear_error();
    }
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    c->state = S_LINGER;
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    bufferevent_enable(c->bev, EV_READ);
    evtimer_add(c->deadline, &tv);
}

/* The answer is flushed: close, or wait for the next request on this connection. */
static void on_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    (void)bev;
    if (c->state == S_CLOSING) {
        start_linger(c);
        return;
    }
    if (c->state == S_WRITE && !c->keep_alive) {
        conn_free(c);
        return;
    }
    if (c->state != S_WRITE) {
        return;
    }
    /* Back to waiting: nothing of the previous request may colour the next one. */
    c->state = S_HEAD;
    c->start_ms = 0;
    c->idle_since_ms = att_time_mono_ms();
    c->head_method = false;
    att_http_head_cleanup(&c->head);
    att_http_head_init(&c->head);
    body_drop(c, true);
    set_timeouts(c, c->w->s->cfg.idle_timeout_s);
    /*
     * idle_timeout as a deadline too: the read timeout restarts with every byte, and bytes of
     * a TLS record that never completes decrypt to nothing, so without it a client trickling
     * one byte at a time would keep an idle connection forever (outside review, round 3). The
     * first decrypted byte of the next request replaces it with request_timeout (process).
     */
    arm_deadline_in(c, c->w->s->cfg.idle_timeout_s);
    process(c); /* pipelined bytes already buffered */
    if (c->input_ended && (c->state == S_HEAD || c->state == S_BODY)) {
        conn_free(c); /* no more requests can come */
    }
}

/*
 * Did the client end its side with TLS close_notify (a half-close: it still reads the
 * answers)? An end without one (a reset, a bare FIN; allow_dirty_shutdown reports both as
 * EOF) is a truncation to OpenSSL: nothing more can be sent.
 */
static bool clean_close(struct conn *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    return ssl != NULL && (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        /* TLS handshake done: the first request has request_timeout from here. */
        arm_deadline(c);
        return;
    }
    if (c->state == S_LINGER || c->state == S_CLOSING) {
        conn_free(c);
        return;
    }
    if ((c->state == S_WRITE || c->state == S_WORK) && (what & BEV_EVENT_READING) &&
        !(what & BEV_EVENT_ERROR)) {
        /* The answer is being made or still draining (reading stays on meanwhile). */
        if (what & BEV_EVENT_TIMEOUT) {
            /* silence now is no fault: the deadline and write_timeout rule */
            bufferevent_enable(c->bev, EV_READ);
            return;
        }
        /*
         * End of input (a TLS 1.3 half-close): answer this request and any complete ones
         * already buffered, then close (on_write). libevent stopped writing at the EOF: resume
         * it (S_WORK: when the answer comes), with the deadline as a backstop should the
         * answers never drain.
         */
        if (c->state == S_WORK && !clean_close(c)) {
            conn_free(c); /* gone (a reset, a bare FIN): its work is dropped, unstarted skipped */
            return;
        }
        c->input_ended = true;
        if (c->state == S_WRITE) {
            bufferevent_enable(c->bev, EV_WRITE);
            arm_deadline(c);
        }
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
        (c->state == S_BODY || (c->state == S_HEAD && c->start_ms != 0))) {
        fail_conn(c, 408, "the request was not received in time");
        return;
    }
    conn_free(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state == S_LINGER || c->state == S_WRITE) {
        conn_free(c); /* S_WRITE: an answer to a half-closed client that never drained */
        return;
    }
    if (c->state == S_WORK && c->work == NULL) {
        conn_free(c); /* its work was dropped as the server shut down (drop_done) */
        return;
    }
    if (c->state == S_WORK) {
        /* The work took too long: the client hears so now; the work is dropped on return. */
        c->work->c = NULL;
        atomic_store(&c->work->abandoned, true);
        c->work = NULL;
        warn_shed("request answered 503: request_timeout passed during its work", c);
        fail_conn(c, 503, "the request was not answered within request_timeout");
        return;
    }
    if (c->state == S_HEAD || c->state == S_BODY) {
        if (c->start_ms != 0) {
            fail_conn(c, 408, "the request was not received in time");
        } else {
            conn_free(c); /* the handshake, or the first request, never started in time */
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Accepting                                                                 */

static unsigned one_per_core(unsigned n)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return n != 0 ? n : (cores > 0 ? (unsigned)cores : 1);
}

/*
 * A freed connection's socket is closed later, by a libevent finalizer (be_openssl_destruct:
 * close, then SSL_free), so a burst of newcomers each closing an idle connection could hold
 * max_connections plus the burst in descriptors (outside review, round 3). `held` counts the
 * sockets until they are closed: the SSL object of each connection carries the server in this
 * ex_data index, and freeing it gives the socket back. At most ATT_HTTP_CLOSING wait to be
 * closed beyond max_connections.
 */
static int held_ex_index = -1;

static void release_held(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                         void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (ptr != NULL) {
        struct att_http_server *s = ptr;
        atomic_fetch_sub(&s->held, 1);
    }
}

/* True when one more socket may be held: an idle connection closed for a newcomer is one. */
static bool room_to_hold(struct att_http_server *s)
{
    return atomic_load(&s->held) < s->cfg.max_connections + ATT_HTTP_CLOSING;
}

/* Take one of the max_connections slots the loops share; false when none is free. */
static bool take_slot(struct att_http_server *s)
{
    if (atomic_fetch_add(&s->held, 1) >= s->cfg.max_connections + ATT_HTTP_CLOSING) {
        atomic_fetch_sub(&s->held, 1);
        return false;
    }
    if (atomic_fetch_add(&s->open_conns, 1) >= s->cfg.max_connections) {
        atomic_fetch_sub(&s->open_conns, 1);
        atomic_fetch_sub(&s->held, 1);
        return false;
    }
    return true;
}

/* Give back a slot and its socket at once (a connection that was never set up). */
static void give_back_slot(struct att_http_server *s)
{
    atomic_fetch_sub(&s->open_conns, 1);
    atomic_fetch_sub(&s->held, 1);
}

/*
 * True when nothing of a request has arrived on `c`: no byte decrypted, none in a TLS record
 * OpenSSL holds unfinished, none unread in the socket (a request's first record may arrive in
 * several TCP segments; outside review: such a request was closed as idle).
 */
static bool nothing_received(struct conn *c)
{
    if (c->state != S_HEAD || c->start_ms != 0 ||
        evbuffer_get_length(bufferevent_get_input(c->bev)) != 0) {
        return false;
    }
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    int unread = 0;
    return (ssl == NULL || !SSL_has_pending(ssl)) &&
           ioctl(bufferevent_getfd(c->bev), FIONREAD, &unread) == 0 && unread == 0;
}

/*
 * All slots are taken: close this loop's connection that has waited longest without a request
 * in progress (a keep-alive connection between requests, or one that has sent no request yet,
 * the handshake included), as nginx drains idle keep-alive connections, if it has waited at
 * least min_age_ms. Connections that only hold a slot then cannot keep anyone else out; a
 * client whose idle connection is closed connects again. True when one was closed: its slot
 * passes to the caller's newcomer (given back and taken again, another loop could take it
 * first), whose socket is then held too (room_to_hold was checked).
 */
static bool reclaim_idle(struct worker *w, int64_t min_age_ms)
{
    struct conn *oldest = NULL;
    int64_t since = att_time_mono_ms() - min_age_ms;
    for (struct conn *c = w->conns; c != NULL; c = c->next) {
        if (c->idle_since_ms > since) {
            continue;
        }
        /* the cheap test first: the system calls only for a connection that would be chosen */
        if ((oldest == NULL || c->idle_since_ms < oldest->idle_since_ms) && nothing_received(c)) {
            oldest = c;
        }
    }
    if (oldest == NULL) {
        return false;
    }
    char key[ATT_LOG_SUMMARY_KEY_MAX];
    snprintf(key, sizeof(key), "idle connection closed to make room %s", oldest->peer_text);
    if (att_log_summary_admit(ATT_LOG_WARN,
                              "idle connection closed to make room: "
                              "max_connections reached",
                              key, att_time_now())) {
        att_log(ATT_LOG_WARN, "idle connection closed to make room: max_connections reached",
                "peer", json_string(oldest->peer_text), "max_connections",
                json_integer(w->s->cfg.max_connections), NULL);
    }
    oldest->slot_passed = true;
    conn_free(oldest);
    atomic_fetch_add(&w->s->held, 1);
    return true;
}

/*
 * Close a connection refused at accept; `limit` (may be NULL) names the cap it hit. The first
 * refusal of a reason and peer is logged; repeats become one count line per
 * log_summary_interval (core/log_summary.h), so a flood cannot flood the log.
 */
static void refuse_conn(evutil_socket_t fd, const char *why, const char *peer, const char *limit,
                        unsigned value)
{
    char key[ATT_LOG_SUMMARY_KEY_MAX];
    evutil_closesocket(fd);
    snprintf(key, sizeof(key), "%s %s", why, peer);
    if (att_log_summary_admit(ATT_LOG_WARN, why, key, att_time_now())) {
        att_log(ATT_LOG_WARN, why, "peer", json_string(peer), limit,
                limit != NULL ? json_integer(value) : NULL, NULL);
    }
}

enum handed { HANDED_OFF, NO_LOOP_LEFT, LISTS_FULL };
static enum handed hand_off(struct worker *from, evutil_socket_t fd, const struct sockaddr *sa,
                            socklen_t salen, struct chain chain);
static bool defer_until_closed(struct worker *w, evutil_socket_t fd, const struct sockaddr *sa,
                               socklen_t salen, struct chain chain);
static bool park(struct worker *w, evutil_socket_t fd, const struct sockaddr *sa, socklen_t salen,
                 struct chain chain);
static void pause_accepting(struct worker *w);

static void accept_conn(struct worker *w, evutil_socket_t fd, const struct sockaddr *sa,
                        socklen_t salen, struct chain chain)
{
    struct att_http_server *s = w->s;
    char peer[64];
    att_addr_format(sa, false, peer, sizeof(peer));
    if (w->draining) { /* a hand-off that arrived after this loop stopped accepting */
        evutil_closesocket(fd);
        return;
    }
    /* Refusals cost no slot, no TLS and no allocation: the socket is closed at once. */
    if (!att_acl_allows(&s->cfg.acl, sa)) {
        refuse_conn(fd, "connection refused: outside allowed_networks", peer, NULL, 0);
        return;
    }
    /* The source's cap before a slot: a refused newcomer must not close anyone's connection. */
    if (!att_peers_acquire(s->peers, sa, s->cfg.max_connections_per_address)) {
        refuse_conn(fd, "connection refused: max_connections_per_address reached", peer,
                    "max_connections_per_address", s->cfg.max_connections_per_address);
        return;
    }
    /* At max_connections: close an idle connection for it, here or on another loop (above). */
    bool placed = take_slot(s);
    enum handed handed = NO_LOOP_LEFT;
    if (!placed && !room_to_hold(s)) {
        handed = defer_until_closed(w, fd, sa, salen, chain) ? HANDED_OFF : LISTS_FULL;
    } else if (!placed) {
        placed = reclaim_idle(w, chain.any_age ? 0 : RECLAIM_AGE_MS);
        if (!placed) {
            /* on the lists' cap, the best here: the longest idle, whatever its age */
            handed = hand_off(w, fd, sa, salen, chain);
            placed = handed != HANDED_OFF && reclaim_idle(w, 0);
        }
    }
    if (!placed) {
        att_peers_release(s->peers, sa); /* taken again where the socket is placed */
        if (handed == HANDED_OFF) {
            return;
        }
        /* Nothing to close here and the other loops' lists full (a burst that the kernel put
         * on this loop while the connections are on another): wait for them to take their
         * lists rather than refuse, while this loop has a parking slot free. */
        if (handed == LISTS_FULL && park(w, fd, sa, salen, chain)) {
            return;
        }
        if (handed == LISTS_FULL) {
            pause_accepting(w); /* the rest of the burst waits in the kernel's backlog */
        }
        refuse_conn(fd, "connection refused: max_connections reached", peer, "max_connections",
                    s->cfg.max_connections);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct conn *c = calloc(1, sizeof(*c));
    SSL *ssl = c != NULL ? att_tls_holder_new_ssl(s->tls) : NULL;
    struct bufferevent *bev =
        ssl != NULL
            ? bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
            : NULL;
    /* From here the SSL object gives the socket back when libevent frees it (release_held). */
    bool releases = bev != NULL && SSL_set_ex_data(ssl, held_ex_index, s) == 1;
    struct event *deadline = releases ? evtimer_new(w->base, on_deadline, c) : NULL;
    if (deadline == NULL) {
        att_log(ATT_LOG_ERROR, "cannot set up connection", "peer", json_string(peer), NULL);
        if (bev != NULL) {
            bufferevent_free(bev);
        } else {
            SSL_free(ssl); /* bufferevent_openssl_socket_new frees ssl itself only on success */
            evutil_closesocket(fd);
        }
        free(c);
        if (releases) {
            atomic_fetch_sub(&s->open_conns, 1);
        } else {
            give_back_slot(s);
        }
        att_peers_release(s->peers, sa);
        return;
    }
    c->w = w;
    c->counted = true;
    c->bev = bev;
    c->deadline = deadline;
    c->state = S_HEAD;
    memcpy(&c->peer, sa, salen < sizeof(c->peer) ? salen : sizeof(c->peer));
    memcpy(c->peer_text, peer, sizeof(peer));
    c->idle_since_ms = att_time_mono_ms();
    att_http_head_init(&c->head);
    att_buf_init(&c->body, s->cfg.limits.max_body_bytes);
    c->next = w->conns;
    if (w->conns != NULL) {
        w->conns->prev = c;
    }
    w->conns = c;
    w->n_conns++;
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    bufferevent_setcb(bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(bev, EV_READ, 0,
                             s->cfg.limits.max_header_bytes + s->cfg.limits.max_body_bytes + 1);
    set_timeouts(c, s->cfg.idle_timeout_s);
    arm_deadline_in(c, s->cfg.handshake_timeout_s); /* re-armed when the handshake is done */
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct worker *w = arg;
    (void)l;
    struct chain chain = {(unsigned)(w - w->s->workers), false};
    accept_conn(w, fd, sa, (socklen_t)salen, chain);
}

/* Put a socket on `to`'s hand-off list; false when ATT_HTTP_HANDOFFS wait already. */
static bool queue_handoff(struct worker *to, evutil_socket_t fd, const struct sockaddr *sa,
                          socklen_t salen, struct chain chain)
{
    struct att_http_server *s = to->s;
    if (salen > sizeof(struct sockaddr_storage)) {
        return false;
    }
    if (atomic_fetch_add(&s->handoffs, 1) >= ATT_HTTP_HANDOFFS) {
        atomic_fetch_sub(&s->handoffs, 1);
        return false;
    }
    struct handoff *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        atomic_fetch_sub(&s->handoffs, 1);
        return false;
    }
    h->fd = fd;
    memcpy(&h->peer, sa, salen);
    h->peer_len = salen;
    h->chain = chain;
    pthread_mutex_lock(&to->handoff_lock);
    h->next = to->handoffs;
    to->handoffs = h;
    pthread_mutex_unlock(&to->handoff_lock);
    return true;
}

/*
 * Pass the socket to the next loop after `from` (in index order, wrapping) that holds
 * connections, up to the chain's origin; back at the origin on the first lap, to the origin
 * for a second lap (any age). NO_LOOP_LEFT when the chain has ended.
 */
static enum handed hand_off(struct worker *from, evutil_socket_t fd, const struct sockaddr *sa,
                            socklen_t salen, struct chain chain)
{
    struct att_http_server *s = from->s;
    struct worker *to = NULL;
    for (unsigned i = (unsigned)(from - s->workers) + 1;; i++) {
        struct worker *w = &s->workers[i % s->n_workers];
        if (i % s->n_workers == chain.origin) {
            if (!chain.any_age && w != from) {
                to = w;
                chain.any_age = true;
            }
            break;
        }
        if (atomic_load(&w->n_conns) > 0) {
            to = w;
            break;
        }
    }
    if (to == NULL) {
        return NO_LOOP_LEFT;
    }
    if (!queue_handoff(to, fd, sa, salen, chain)) {
        return LISTS_FULL;
    }
    event_active(to->handoff_ev, EV_READ, 0); /* thread-safe: evthread_use_pthreads */
    return HANDED_OFF;
}

/* Stop accepting until the next loop iteration (on_resume_accept). */
static void pause_accepting(struct worker *w)
{
    for (size_t i = 0; i < MAX_LISTENERS; i++) {
        if (w->listeners[i] != NULL) {
            evconnlistener_disable(w->listeners[i]);
        }
    }
    struct timeval now = {0, 0};
    evtimer_add(w->resume_ev, &now);
}

/*
 * ATT_HTTP_CLOSING sockets wait to be closed: keep this one on this loop's own hand-off list
 * and stop accepting until the next loop iteration, when libevent has closed them (its
 * finalizers run before timers: on_resume_accept then takes the list and accepts again).
 * False when ATT_HTTP_HANDOFFS wait already.
 */
static bool defer_until_closed(struct worker *w, evutil_socket_t fd, const struct sockaddr *sa,
                               socklen_t salen, struct chain chain)
{
    if (!queue_handoff(w, fd, sa, salen, chain)) {
        return park(w, fd, sa, salen, chain); /* the lists are full */
    }
    pause_accepting(w);
    return true;
}

/*
 * Keep `fd` among this loop's parked sockets (ATT_HTTP_PARKED, counted in
 * att_http_spare_descriptors) and pause accepting: on_resume_accept places them first, oldest
 * first. False when every slot is taken.
 */
static bool park(struct worker *w, evutil_socket_t fd, const struct sockaddr *sa, socklen_t salen,
                 struct chain chain)
{
    struct handoff *h =
        w->n_parked < ATT_HTTP_PARKED && salen <= sizeof(h->peer) ? calloc(1, sizeof(*h)) : NULL;
    if (h == NULL) {
        return false;
    }
    h->fd = fd;
    memcpy(&h->peer, sa, salen);
    h->peer_len = salen;
    h->chain = chain;
    struct handoff **end = &w->parked;
    while (*end != NULL) {
        end = &(*end)->next;
    }
    *end = h;
    w->n_parked++;
    pause_accepting(w);
    return true;
}

/* The list, oldest first. */
static struct handoff *take_handoffs(struct worker *w)
{
    pthread_mutex_lock(&w->handoff_lock);
    struct handoff *h = w->handoffs;
    w->handoffs = NULL;
    pthread_mutex_unlock(&w->handoff_lock);
    struct handoff *oldest_first = NULL;
    while (h != NULL) {
        struct handoff *next = h->next;
        h->next = oldest_first;
        oldest_first = h;
        h = next;
    }
    return oldest_first;
}

static void on_handoff(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;
    struct handoff *h = take_handoffs(w);
    while (h != NULL) {
        struct handoff *next = h->next;
        atomic_fetch_sub(&w->s->handoffs, 1); /* before accept_conn may hand it on */
        accept_conn(w, h->fd, (const struct sockaddr *)&h->peer, h->peer_len, h->chain);
        free(h);
        h = next;
    }
}

unsigned att_http_spare_descriptors(unsigned threads, unsigned listeners)
{
    unsigned loops = one_per_core(threads);
    loops = loops < MAX_WORKERS ? loops : MAX_WORKERS;
    /* epoll, a wake-up pipe (two ends at worst), the listeners, the parked sockets and the
     * socket being refused */
    return ATT_HTTP_HANDOFFS + ATT_HTTP_CLOSING +
           loops * (4 + ATT_HTTP_PARKED + (listeners < MAX_LISTENERS ? listeners : MAX_LISTENERS));
}

static void on_resume_accept(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct handoff *parked = w->parked;
    w->parked = NULL;
    w->n_parked = 0;
    while (parked != NULL) { /* sockets deferred until others were closed go first */
        struct handoff *next = parked->next;
        accept_conn(w, parked->fd, (const struct sockaddr *)&parked->peer, parked->peer_len,
                    parked->chain);
        free(parked);
        parked = next;
    }
    on_handoff(fd, what, w);
    if (evtimer_pending(w->resume_ev, NULL)) {
        return; /* one of them was deferred again: accept once it is placed */
    }
    for (size_t i = 0; i < MAX_LISTENERS; i++) {
        if (w->listeners[i] != NULL) {
            evconnlistener_enable(w->listeners[i]);
        }
    }
}

/*
 * Out of descriptors (EMFILE/ENFILE) the listening socket stays readable and accept keeps
 * failing: pause this worker's listeners for a moment instead of spinning and flooding the
 * log with one line per attempt.
 */
static void on_listener_error(struct evconnlistener *l, void *arg)
{
    struct worker *w = arg;
    int err = EVUTIL_SOCKET_ERROR();
    (void)l;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
        for (size_t i = 0; i < MAX_LISTENERS; i++) {
            if (w->listeners[i] != NULL) {
                evconnlistener_disable(w->listeners[i]);
            }
        }
        evtimer_add(w->resume_ev, &tv);
    }
    att_log(ATT_LOG_WARN, "accept failed", "error", json_string(evutil_socket_error_to_string(err)),
            "retry_ms", json_integer(ACCEPT_RETRY_MS), NULL);
}

/* ------------------------------------------------------------------------ */
/* Workers and draining                                                      */

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd;
    (void)what;
    w->draining = true;
    for (size_t i = 0; i < MAX_LISTENERS; i++) {
        if (w->listeners[i] != NULL) {
            evconnlistener_free(w->listeners[i]);
            w->listeners[i] = NULL;
        }
    }
    /* Idle connections go now; busy ones finish their request (keep_alive is off from here). */
    struct conn *c = w->conns;
    while (c != NULL) {
        struct conn *next = c->next;
        c->keep_alive = false;
        bool idle = c->state == S_HEAD && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0;
        if (idle || c->state == S_LINGER) {
            conn_free(c);
        }
        c = next;
    }
    if (w->n_conns == 0) {
        event_base_loopbreak(w->base);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct sched_param batch = {0};
    /* SCHED_BATCH: a loop woken by an answer coming back from the pool does not preempt the
     * pool thread at work; it runs when that thread waits or its time slice ends, and then
     * sends every answer that came back meanwhile (docs/internals/http.md, "Job pool"). */
    (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &batch);
    event_base_dispatch(w->base);
    return NULL;
}

static void init_once(void)
{
    if (evthread_use_pthreads() != 0) {
        att_log(ATT_LOG_ERROR, "libevent has no pthreads support", NULL);
        abort(); /* workers would share event bases without locks */
    }
    held_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, release_held);
    if (held_ex_index < 0) {
        att_log(ATT_LOG_ERROR, "cannot register an SSL ex_data index", NULL);
        abort(); /* sockets could not be counted until closed */
    }
}

att_err att_http_server_new(const struct att_http_server_config *cfg, struct att_tls_holder *tls,
                            att_http_handler handler, att_http_light_fn light, void *arg,
                            struct att_http_server **out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
    struct att_http_server *s = calloc(1, sizeof(*s));
    ATT_ENSURE(s != NULL, ATT_ERR_NOMEM);
    s->cfg = *cfg;
    s->tls = tls;
    s->handler = handler;
    s->light = light;
    s->arg = arg;
    unsigned n = one_per_core(cfg->threads);
    s->n_workers = n < MAX_WORKERS ? n : MAX_WORKERS;
    for (unsigned i = 0; i < s->n_workers; i++) {
        pthread_mutex_init(&s->workers[i].done_lock, NULL);
        pthread_mutex_init(&s->workers[i].handoff_lock, NULL);
    }
    unsigned pool_threads = one_per_core(cfg->job_threads);
    unsigned queue = cfg->job_queue > 0 ? cfg->job_queue : 1;
    s->pool_size = pool_threads + queue;
    if (att_peers_new(cfg->max_connections, &s->peers) != ATT_OK ||
        att_peers_new(s->pool_size, &s->queued) != ATT_OK ||
        att_jobs_new(pool_threads, queue, &s->jobs) != ATT_OK) {
        att_http_server_free(s);
        return ATT_ERR_NOMEM;
    }
    *out = s;
    return ATT_OK;
}

static att_err split_host_port(const char *addr, char *host, size_t hn, char *port, size_t pn)
{
    const char *colon;
    const char *h = addr;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        ATT_ENSURE(close != NULL && close[1] == ':', ATT_ERR_ARG);
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        ATT_ENSURE(colon != NULL && strchr(addr, ':') == colon, ATT_ERR_ARG);
        hlen = (size_t)(colon - addr);
    }
    ATT_ENSURE(hlen > 0 && hlen < hn && strlen(colon + 1) > 0 && strlen(colon + 1) < pn,
               ATT_ERR_ARG);
    memcpy(host, h, hlen);
    host[hlen] = 0;
    snprintf(port, pn, "%s", colon + 1);
    for (const char *p = port; *p != 0; p++) {
        ATT_ENSURE(*p >= '0' && *p <= '9', ATT_ERR_ARG);
    }
    ATT_ENSURE(strtoul(port, NULL, 10) <= 65535, ATT_ERR_ARG);
    return ATT_OK;
}

att_err att_http_server_listen(struct att_http_server *s, const char *addr, bool allow_public,
                               char *detail, size_t detail_len)
{
    char host[256];
    char port[8];
    struct addrinfo hints;
    struct addrinfo *ai = NULL;
    int fd = -1;
    att_err rc = ATT_ERR_NET;

    if (s->n_fds == MAX_LISTENERS) {
        snprintf(detail, detail_len, "too many listen addresses (at most %d)", MAX_LISTENERS);
        return ATT_ERR_CONFIG;
    }
    if (split_host_port(addr, host, sizeof(host), port, sizeof(port)) != ATT_OK) {
        snprintf(detail, detail_len, "'%s' is not ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)", addr);
        return ATT_ERR_CONFIG;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
        snprintf(detail, detail_len, "'%s' is not a numeric IP address and port", addr);
        return ATT_ERR_CONFIG;
    }
    if (!allow_public && !att_addr_is_loopback(ai->ai_addr)) {
        snprintf(detail, detail_len,
                 "refusing to listen on non-loopback address %s: public network access is "
                 "disabled (set public_network_access = enabled to allow it)",
                 addr);
        rc = ATT_ERR_CONFIG;
        goto out;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
        snprintf(detail, detail_len, "socket: %s", strerror(errno));
        goto out;
    }
    if (ai->ai_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0 ||
        evutil_make_socket_nonblocking(fd) != 0) {
        snprintf(detail, detail_len, "cannot listen on %s: %s", addr, strerror(errno));
        goto out;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    char text[80];
    getsockname(fd, (struct sockaddr *)&bound, &blen);
    att_addr_format((struct sockaddr *)&bound, true, text, sizeof(text));
    att_log(ATT_LOG_INFO, "listening", "address", json_string(text), NULL);
    s->fds[s->n_fds++] = fd;
    fd = -1;
    rc = ATT_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(ai);
    return rc;
}

att_err att_http_server_start(struct att_http_server *s)
{
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        w->s = s;
        w->base = event_base_new();
        ATT_ENSURE(w->base != NULL, ATT_ERR_INTERNAL);
        w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
        w->resume_ev = evtimer_new(w->base, on_resume_accept, w);
        w->done_ev = event_new(w->base, -1, 0, on_work_done, w);
        w->handoff_ev = event_new(w->base, -1, 0, on_handoff, w);
        ATT_ENSURE(w->stop_ev != NULL && w->resume_ev != NULL && w->done_ev != NULL &&
                       w->handoff_ev != NULL,
                   ATT_ERR_INTERNAL);
        for (size_t j = 0; j < s->n_fds; j++) {
            int fd = fcntl(s->fds[j], F_DUPFD_CLOEXEC, 0);
            ATT_ENSURE(fd >= 0, ATT_ERR_NET);
            w->listeners[j] = evconnlistener_new(
                w->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
            if (w->listeners[j] == NULL) {
                close(fd);
                return ATT_ERR_NET;
            }
            evconnlistener_set_error_cb(w->listeners[j], on_listener_error);
        }
    }
    for (unsigned i = 0; i < s->n_workers; i++) {
        ATT_ENSURE(pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) == 0,
                   ATT_ERR_INTERNAL);
        s->workers[i].started = true;
    }
    return ATT_OK;
}

void att_http_server_load(struct att_http_server *s, unsigned *connections, unsigned *queued)
{
    *connections = atomic_load(&s->open_conns);
    *queued = s->jobs != NULL ? att_jobs_waiting(s->jobs) : 0;
}

unsigned att_http_server_drain(struct att_http_server *s, unsigned timeout_s)
{
    unsigned cut = 0;
    for (unsigned i = 0; i < s->n_workers; i++) {
        if (s->workers[i].started) {
            event_active(s->workers[i].stop_ev, EV_READ, 0);
        }
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)timeout_s;
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        if (!w->started) {
            continue;
        }
        if (pthread_timedjoin_np(w->thread, NULL, &deadline) != 0) {
            event_base_loopexit(w->base, NULL); /* thread-safe with evthread_use_pthreads */
            pthread_join(w->thread, NULL);
        }
        w->started = false;
        cut += w->n_conns;
    }
    return cut;
}

/* After the pool stopped: the work it handed back that no loop delivered. */
static void drop_done(struct worker *w)
{
    struct work *wk = w->done_head;
    w->done_head = NULL;
    while (wk != NULL) {
        struct work *next = wk->next_done;
        if (wk->c != NULL) {
            wk->c->work = NULL;
        }
        work_free(wk);
        wk = next;
    }
}

void att_http_server_free(struct att_http_server *s)
{
    if (s == NULL) {
        return;
    }
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        if (w->started) {
            event_base_loopexit(w->base, NULL);
            pthread_join(w->thread, NULL);
            w->started = false;
        }
    }
    /* Work running finishes, work waiting is canceled; all of it comes back to done lists,
     * work whose answer a gate holds once the hold is finished (an audit commit: bounded). */
    att_jobs_free(s->jobs);
    s->jobs = NULL;
    while (atomic_load(&s->out) > 0) {
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        drop_done(w);
        for (struct handoff *h = take_handoffs(w), *next; h != NULL; h = next) {
            next = h->next;
            evutil_closesocket(h->fd);
            free(h);
        }
        for (struct handoff *h = w->parked, *next; h != NULL; h = next) {
            next = h->next;
            evutil_closesocket(h->fd);
            free(h);
        }
        w->parked = NULL;
        w->n_parked = 0;
        if (w->resume_ev != NULL) {
            evtimer_del(w->resume_ev); /* nothing is left to resume (it would run below) */
        }
        /*
         * Connections use deferred callbacks: a bufferevent freed (or closed by its peer)
         * just before the loop stopped still has a callback queued that holds the last
         * reference. Run the queue before and after freeing what is left, or those
         * bufferevents, their SSL objects and buffers leak.
         */
        w->draining = false;
        if (w->base != NULL) {
            event_base_loop(w->base, EVLOOP_NONBLOCK);
        }
        while (w->conns != NULL) {
            conn_free(w->conns);
        }
        if (w->base != NULL) {
            event_base_loop(w->base, EVLOOP_NONBLOCK);
        }
        for (size_t j = 0; j < MAX_LISTENERS; j++) {
            if (w->listeners[j] != NULL) {
                evconnlistener_free(w->listeners[j]);
            }
        }
        if (w->stop_ev != NULL) {
            event_free(w->stop_ev);
        }
        if (w->resume_ev != NULL) {
            event_free(w->resume_ev);
        }
        if (w->done_ev != NULL) {
            event_free(w->done_ev);
        }
        if (w->handoff_ev != NULL) {
            event_free(w->handoff_ev);
        }
        pthread_mutex_destroy(&w->done_lock);
        pthread_mutex_destroy(&w->handoff_lock);
        if (w->base != NULL) {
            event_base_free(w->base);
        }
    }
    for (size_t j = 0; j < s->n_fds; j++) {
        close(s->fds[j]);
    }
    att_peers_free(s->peers);
    att_peers_free(s->queued);
    free(s);
}
