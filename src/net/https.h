/*
 * https.h - fetching a small document over HTTPS (libcurl).
 *
 * For the few things attestd downloads itself: OpenID discovery documents and JWK Sets of
 * external token issuers now, Intel and AMD collateral later. The rules are fixed here so no
 * caller can loosen them: https only (no redirects, so no downgrade through one), peer and
 * host name verified, TLS 1.2 or newer, short timeouts, and a cap on the body (the download
 * stops once it is passed). att_https_get accepts only 200; att_https_get_ex returns any status
 * with the response's headers, for callers that handle 404 or 429 themselves.
 *
 * att_https_global_init must run once, before any thread starts (libcurl's rule).
 */
#ifndef ATT_NET_HTTPS_H
#define ATT_NET_HTTPS_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_HTTPS_CONNECT_TIMEOUT 3              /* seconds */
#define ATT_HTTPS_TOTAL_TIMEOUT 5                /* seconds, the whole transfer */
#define ATT_HTTPS_MAX_HEADERS ((size_t)64 << 10) /* bytes of response header lines */
#define ATT_HTTPS_MAX_REQ_HEADERS 16             /* extra request headers */
#define ATT_HTTPS_MAX_REQ_HEADER 8192            /* bytes of one "Name: value" */

att_err att_https_global_init(void) ATT_WUR;
void att_https_global_cleanup(void);

/*
 * GET `url` into `out` (appended; its own cap applies and must be at most `max`).
 * `ca_file` names a PEM bundle of trust anchors, or NULL for the system's.
 * Errors: ATT_ERR_ARG (not an https URL), ATT_ERR_FETCH (connection, TLS, timeout, or a status
 * other than 200; `detail` says which), ATT_ERR_TOO_LARGE (body over `max`).
 * `detail` (may be NULL) receives a one-line reason for logs.
 */
att_err att_https_get(const char *url, const char *ca_file, size_t max, struct att_buf *out,
                      char *detail, size_t detail_len) ATT_WUR;

/*
 * Like att_https_get, under the same rules, but any HTTP status is an answer: *status gets it
 * (100-599) and `body` (appended, capped by `max` and its own cap) whatever the server sent
 * with it. `req_headers` (NULL or a NULL-terminated list of at most ATT_HTTPS_MAX_REQ_HEADERS
 * "Name: value" lines, each at most ATT_HTTPS_MAX_REQ_HEADER bytes, without CR or LF) are added
 * to the request and never sent to a proxy; their values may be secrets (an API key): they are
 * never logged or put in `detail`. `headers` (may be NULL) receives the raw header block of the
 * final response, status line included ("HTTP/1.1 200 OK\r\nName: value\r\n...\r\n"); an
 * interim 1xx block is dropped. The header lines are capped at ATT_HTTPS_MAX_HEADERS.
 * Errors: ATT_ERR_ARG (not an https URL, a malformed request header), ATT_ERR_FETCH
 * (connection, TLS, timeout; `detail` says which), ATT_ERR_TOO_LARGE (body over `max`, or the
 * headers over their cap). *status is written only on ATT_OK.
 */
/* `timeout`: seconds for the whole transfer (the connection gets at most
 * ATT_HTTPS_CONNECT_TIMEOUT of them); 0 = ATT_HTTPS_TOTAL_TIMEOUT. */
/*
 * For a thread that fetches in the background: transfers it starts afterwards end with
 * ATT_ERR_FETCH soon after *flag becomes true (libcurl's progress callback looks about once a
 * second, also while connecting), so the thread can be stopped without waiting out a slow
 * server. NULL: no flag (the default).
 */
void att_https_set_abort_flag(atomic_bool *flag);

att_err att_https_get_ex(const char *url, const char *ca_file, const char *const *req_headers,
                         size_t max, long timeout, long *status, struct att_buf *body,
                         struct att_buf *headers, char *detail, size_t detail_len) ATT_WUR;

/*
 * POST `post` (post_len bytes; the caller's req_headers give its Content-Type) to `url` under
 * the same rules as att_https_get_ex; the answer's body goes to `body` up to its cap, and what
 * is past the cap is read and dropped (an answer is not refused for its size: the status is
 * what a POST's caller needs).
 */
att_err att_https_post(const char *url, const char *ca_file, const char *const *req_headers,
                       const void *post, size_t post_len, long timeout, long *status,
                       struct att_buf *body, char *detail, size_t detail_len) ATT_WUR;

#endif
