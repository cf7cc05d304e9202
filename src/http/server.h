/*
 * server.h - the HTTPS front end: sockets, TLS, HTTP/1.1 framing, limits,
 * timeouts and draining. It knows nothing of attestation; every complete
 * request goes to one handler function (the router, src/api/router.c).
 *
 * Threads: one libevent loop per worker thread (default: one per core);
 * every worker accepts on every listening socket. The loops only do I/O and
 * cheap routing: a request the `light` function does not call cheap goes to a
 * bounded job pool (src/core/jobs.h), whose threads run the handler; a full
 * queue is answered 503 with Retry-After at once. The handler is called on
 * loop threads (light requests) and pool threads, concurrently, and must be
 * thread-safe. One deadline covers each request from its first byte to its
 * answer, the work included (docs/internals/http.md, "Job pool").
 *
 * Built on libevent bufferevents with bufferevent_openssl rather than on
 * evhttp: see docs/internals/http.md for why.
 */
#ifndef ATT_HTTP_SERVER_H
#define ATT_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"
#include "http/acl.h"
#include "http/request.h"
#include "http/response.h"
#include "http/tls.h"

struct att_http_request {
    const struct att_http_head *head;
    const uint8_t *body;
    size_t body_len;
    const struct sockaddr *peer;
    const char *peer_text;  /* "ip" */
    const char *request_id; /* the x-ms-request-id of the answer */
    /* hex SHA-256 of a verified client certificate (mutual TLS), or "" */
    const char *client_cert_sha256;
    int64_t deadline_ms; /* monotonic (att_time_mono_ms) time the answer is due by */
};

typedef void (*att_http_handler)(void *arg, const struct att_http_request *req,
                                 struct att_http_response *resp);
/*
 * True when the handler answers `req` cheaply and without blocking (health, metadata,
 * routing errors): it then runs on the event loop. Called on loop threads.
 */
typedef bool (*att_http_light_fn)(void *arg, const struct att_http_request *req);

struct att_http_server_config {
    struct att_http_limits limits;
    unsigned read_timeout_s;              /* silence allowed while a request is being received */
    unsigned write_timeout_s;             /* silence allowed while an answer is being sent */
    unsigned idle_timeout_s;              /* keep-alive silence between requests */
    unsigned handshake_timeout_s;         /* accept to the end of the TLS handshake */
    unsigned request_timeout_s;           /* first byte of a request to its answer, work included */
    unsigned max_connections;             /* over this, new connections are closed at once */
    unsigned max_connections_per_address; /* per IPv4 address / IPv6 /64; 0 = no cap */
    unsigned max_requests_per_connection;
    unsigned threads;     /* event loops; 0 = one per core */
    unsigned job_threads; /* job pool threads; 0 = one per core */
    unsigned job_queue;   /* requests that may wait for the pool; more get 503 */
    struct att_acl acl;   /* empty = every peer allowed; others are closed at accept */
};

struct att_http_server;

/* Sockets that may wait at once to be handed from one event loop to another. */
#define ATT_HTTP_HANDOFFS 16
/* Sockets of freed connections that may wait at once for libevent to close them. */
#define ATT_HTTP_CLOSING 16
/* Sockets one loop may keep accepted while it waits for room (closing sockets gone, the other
 * loops' hand-off lists taken): a burst waits rather than being refused. */
#define ATT_HTTP_PARKED 4
/*
 * Descriptors the server holds beyond max_connections with `threads` event loops (0: one per
 * core) and `listeners` listen addresses: each loop's epoll and wake-up descriptors, its copy
 * of each listening socket and a socket it has accepted and is about to refuse; the hand-offs
 * waiting; and the sockets waiting to be closed.
 */
unsigned att_http_spare_descriptors(unsigned threads, unsigned listeners);

/* `light` may be NULL: every request then goes to the job pool. */
att_err att_http_server_new(const struct att_http_server_config *cfg, struct att_tls_holder *tls,
                            att_http_handler handler, att_http_light_fn light, void *arg,
                            struct att_http_server **out) ATT_WUR;
/*
 * Bind and listen on "ip:port" or "[ip6]:port". Refuses a non-loopback
 * address unless allow_public. On failure `detail` says why.
 */
att_err att_http_server_listen(struct att_http_server *s, const char *addr, bool allow_public,
                               char *detail, size_t detail_len) ATT_WUR;
/* Start the worker threads. */
att_err att_http_server_start(struct att_http_server *s) ATT_WUR;
/* Connections open now, and requests waiting for the job pool (metrics; any thread). */
void att_http_server_load(struct att_http_server *s, unsigned *connections, unsigned *queued);
/*
 * Stop accepting, close idle connections, let requests in flight finish and
 * then close their connections; after timeout_s, close whatever is left.
 * Joins the workers. Returns the number of connections that were cut.
 */
unsigned att_http_server_drain(struct att_http_server *s, unsigned timeout_s);
void att_http_server_free(struct att_http_server *s);

#endif
