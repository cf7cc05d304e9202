/*
 * tls.c - server TLS configuration (docs/internals/design.md: "TLS 1.2 or higher in transit").
 *
 * TLS 1.2: only ECDHE key exchange with AEAD ciphers (AES-GCM, ChaCha20-
 * Poly1305), per RFC 9325 §4.2. TLS 1.3: its suites are all AEAD with
 * (EC)DHE. Renegotiation and compression are off.
 */
#include "http/tls.h"

#include <openssl/err.h>
#include <pthread.h>
#include <stdlib.h>

static const char tls12_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
/* Not const: OpenSSL's SSL_CTX_set1_groups_list macro casts its argument to char *. */
static char groups[] = "X25519:P-256:P-384";
static const char tls13_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

att_err att_tls_ctx_new(const char *cert_file, const char *key_file, const char *client_ca,
                        SSL_CTX **out, const char **detail)
{
    att_err rc = ATT_ERR_CRYPTO;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    *detail = "could not create a TLS context";
    ATT_CHECK(ctx != NULL, ATT_ERR_CRYPTO);
    ATT_CHECK(SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(SSL_CTX_set_cipher_list(ctx, tls12_ciphers) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(SSL_CTX_set_ciphersuites(ctx, tls13_suites) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(SSL_CTX_set1_groups_list(ctx, groups) == 1, ATT_ERR_CRYPTO);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    *detail = "cannot read the TLS certificate chain (tls_cert)";
    ATT_CHECK(SSL_CTX_use_certificate_chain_file(ctx, cert_file) == 1, ATT_ERR_IO);
    *detail = "cannot read the TLS private key (tls_key)";
    ATT_CHECK(SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) == 1, ATT_ERR_IO);
    *detail = "the TLS private key does not match the certificate";
    ATT_CHECK(SSL_CTX_check_private_key(ctx) == 1, ATT_ERR_CONFIG);
    if (client_ca != NULL) {
        static const unsigned char sid_ctx[] = "attestd";
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
        *detail = "cannot read the client CA file (tls_client_ca)";
        ATT_CHECK(names != NULL, ATT_ERR_IO);
        SSL_CTX_set_client_CA_list(ctx, names); /* tells clients which CAs are trusted */
        ATT_CHECK(SSL_CTX_load_verify_locations(ctx, client_ca, NULL) == 1, ATT_ERR_IO);
        /* Verify a certificate when one is sent; sending none is not a handshake failure. */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_verify_depth(ctx, 4);
        /* Session resumption with client certificates needs a session id context. */
        ATT_CHECK(SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1) == 1,
                  ATT_ERR_CRYPTO);
    }
    *detail = NULL;
    *out = ctx;
    ctx = NULL;
    rc = ATT_OK;
out:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return rc;
}

struct att_tls_holder {
    pthread_mutex_t lock;
    SSL_CTX *ctx;
};

att_err att_tls_holder_new(SSL_CTX *ctx, struct att_tls_holder **out)
{
    struct att_tls_holder *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        SSL_CTX_free(ctx);
        return ATT_ERR_NOMEM;
    }
    pthread_mutex_init(&h->lock, NULL);
    h->ctx = ctx;
    *out = h;
    return ATT_OK;
}

void att_tls_holder_free(struct att_tls_holder *h)
{
    if (h == NULL) {
        return;
    }
    SSL_CTX_free(h->ctx);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void att_tls_holder_swap(struct att_tls_holder *h, SSL_CTX *ctx)
{
    pthread_mutex_lock(&h->lock);
    SSL_CTX *old = h->ctx;
    h->ctx = ctx;
    pthread_mutex_unlock(&h->lock);
    SSL_CTX_free(old); /* SSL objects hold their own reference (SSL_new up-refs) */
}

SSL *att_tls_holder_new_ssl(struct att_tls_holder *h)
{
    pthread_mutex_lock(&h->lock);
    SSL *ssl = SSL_new(h->ctx);
    pthread_mutex_unlock(&h->lock);
    return ssl;
}
