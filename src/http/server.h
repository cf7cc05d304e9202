/*
 * server.h - the HTTPS front end: sockets, TLS, HTTP/1.1 framing, limits,
 * timeouts and draining. It knows nothing of attestation; every complete
 * request goes to one handler function (the router, src/api/router.c).
 *
 * Threads: one libevent loop per worker thread (default: one per core);
 * every worker accepts on every listening socket. The handler is called on
 * worker threads, concurrently, and must be thread-safe.
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
};

typedef void (*att_http_handler)(void *arg, const struct att_http_request *req,
                                 struct att_http_response *resp);

struct att_http_server_config {
    struct att_http_limits limits;
    unsigned read_timeout_s;    /* silence allowed while a request is being received */
    unsigned write_timeout_s;   /* silence allowed while an answer is being sent */
    unsigned idle_timeout_s;    /* keep-alive silence between requests */
    unsigned request_timeout_s; /* TLS handshake + whole request, however slowly it trickles */
    unsigned max_connections;   /* over this, new connections are closed at once */
    unsigned max_requests_per_connection;
    unsigned threads;   /* 0 = one per core */
    struct att_acl acl; /* empty = every peer allowed */
};

struct att_http_server;

att_err att_http_server_new(const struct att_http_server_config *cfg, struct att_tls_holder *tls,
                            att_http_handler handler, void *arg,
                            struct att_http_server **out) ATT_WUR;
/*
 * Bind and listen on "ip:port" or "[ip6]:port". Refuses a non-loopback
 * address unless allow_public. On failure `detail` says why.
 */
att_err att_http_server_listen(struct att_http_server *s, const char *addr, bool allow_public,
                               char *detail, size_t detail_len) ATT_WUR;
/* Start the worker threads. */
att_err att_http_server_start(struct att_http_server *s) ATT_WUR;
/*
 * Stop accepting, close idle connections, let requests in flight finish and
 * then close their connections; after timeout_s, close whatever is left.
 * Joins the workers. Returns the number of connections that were cut.
 */
unsigned att_http_server_drain(struct att_http_server *s, unsigned timeout_s);
void att_http_server_free(struct att_http_server *s);

#endif
