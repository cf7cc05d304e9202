/*
 * request.h - an HTTP/1.1 request as the rest of attestd sees it.
 *
 * The head is parsed from untrusted network bytes by parser.c into views
 * (struct att_bytes) that point into `raw`, the request's own copy of the
 * head; they live exactly as long as the request. Nothing here knows TLS,
 * sockets or attestation.
 */
#ifndef ATT_HTTP_REQUEST_H
#define ATT_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"

#define ATT_HTTP_MAX_HEADERS 64
#define ATT_HTTP_MAX_QUERY 32
#define ATT_HTTP_MAX_TARGET 4096
#define ATT_HTTP_MAX_PATH_SEGMENTS 16

enum att_http_method {
    ATT_HTTP_OTHER = 0,
    ATT_HTTP_GET,
    ATT_HTTP_HEAD,
    ATT_HTTP_POST,
    ATT_HTTP_PUT,
    ATT_HTTP_DELETE,
    ATT_HTTP_PATCH,
    ATT_HTTP_OPTIONS,
};

struct att_http_header {
    struct att_bytes name;
    struct att_bytes value;
};

struct att_http_param {
    struct att_bytes name;  /* percent-decoded, into `decoded` */
    struct att_bytes value; /* percent-decoded, into `decoded` */
};

struct att_http_head {
    struct att_buf raw;     /* the head bytes as received */
    struct att_buf decoded; /* percent-decoded path and query, NUL-separated */
    enum att_http_method method;
    struct att_bytes method_name;
    struct att_bytes target; /* as received */
    struct att_bytes path;   /* percent-decoded, normalised: starts with '/' */
    int version_minor;       /* HTTP/1.x */
    struct att_http_header headers[ATT_HTTP_MAX_HEADERS];
    size_t n_headers;
    struct att_http_param query[ATT_HTTP_MAX_QUERY];
    size_t n_query;
    uint64_t content_length;
    bool has_content_length;
    bool keep_alive;
    bool expect_continue;
};

struct att_http_limits {
    size_t max_header_bytes;
    size_t max_body_bytes;
};

/*
 * What went wrong with a head, for the 4xx answer: the HTTP status and a
 * message naming the problem (a constant string, never echoing input).
 */
struct att_http_parse_error {
    int status;
    const char *message;
};

void att_http_head_init(struct att_http_head *h);
void att_http_head_cleanup(struct att_http_head *h);

/*
 * Parse a complete request head (request line, header lines, and the final
 * empty line; CRLF line endings, RFC 9112 §2-§6) from `p`/`n` into `h`, which
 * must be freshly initialised. The bytes are copied. On failure `err` says
 * which status to answer (400, 413, 414, 431, 501, 505) and why.
 */
att_err att_http_head_parse(const uint8_t *p, size_t n, const struct att_http_limits *lim,
                            struct att_http_head *h, struct att_http_parse_error *err) ATT_WUR;

/* "GET", "POST", ... for a known method; "?" otherwise. */
const char *att_http_method_name(enum att_http_method m);

/* First header named `name` (case-insensitive), or NULL. */
const struct att_bytes *att_http_header_get(const struct att_http_head *h, const char *name);
/* First query parameter named `name` (case-sensitive), or NULL. */
const struct att_bytes *att_http_query_get(const struct att_http_head *h, const char *name);

#endif
