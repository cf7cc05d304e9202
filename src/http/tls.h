/*
 * tls.h - the server's TLS context: TLS 1.2 minimum, AEAD suites with
 * (EC)DHE only, reloadable without dropping connections.
 */
#ifndef ATT_HTTP_TLS_H
#define ATT_HTTP_TLS_H

#include <openssl/ssl.h>

#include "core/err.h"

/*
 * Build a server SSL_CTX from a PEM certificate chain and a PEM private key. With
 * `client_ca` (PEM file, or NULL) clients may present a certificate (mutual TLS); one that
 * does not chain to these CAs fails the handshake, none at all is allowed (the route then
 * needs a bearer token). On failure *detail names the problem (a constant string).
 */
att_err att_tls_ctx_new(const char *cert_file, const char *key_file, const char *client_ca,
                        SSL_CTX **out, const char **detail) ATT_WUR;

/* A context holder that can be swapped while connections use the old one. */
struct att_tls_holder;

att_err att_tls_holder_new(SSL_CTX *ctx, struct att_tls_holder **out) ATT_WUR;
void att_tls_holder_free(struct att_tls_holder *h);
/* Replace the current context (takes ownership of ctx). Existing SSL objects keep theirs. */
void att_tls_holder_swap(struct att_tls_holder *h, SSL_CTX *ctx);
/* A new SSL from the current context, or NULL. */
SSL *att_tls_holder_new_ssl(struct att_tls_holder *h);

#endif
