/*
 * https.h - fetching a small document over HTTPS (libcurl).
 *
 * For the few things attestd downloads itself: OpenID discovery documents and JWK Sets of
 * external token issuers now, Intel and AMD collateral later. The rules are fixed here so no
 * caller can loosen them: https only (no redirects, so no downgrade through one), peer and
 * host name verified, TLS 1.2 or newer, short timeouts, and a cap on the body (the download
 * stops once it is passed). The answer must be 200.
 *
 * att_https_global_init must run once, before any thread starts (libcurl's rule).
 */
#ifndef ATT_NET_HTTPS_H
#define ATT_NET_HTTPS_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_HTTPS_CONNECT_TIMEOUT 3 /* seconds */
#define ATT_HTTPS_TOTAL_TIMEOUT 5   /* seconds, the whole transfer */

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

#endif
