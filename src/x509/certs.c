/*
 * certs.c - strict PEM chains, ASN.1 times, clock-free chain building (OpenSSL 3).
 */
#include "x509/certs.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "core/rd.h"

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skip whitespace; true when something else follows. */
static bool skip_space(struct att_rd *r)
{
    uint8_t c = 0;
    while (att_rd_peek_u8(r, &c) == ATT_OK) {
        if (!is_space(c)) {
            return true;
        }
        att_ignore_err(att_rd_skip(r, 1)); /* cannot fail: a byte was peeked */
    }
    return false;
}

static bool starts_with(struct att_rd *r, const char *s)
{
    struct att_rd probe = *r;
    struct att_bytes b;
    size_t n = strlen(s);
    return att_rd_bytes(&probe, n, &b) == ATT_OK && memcmp(b.ptr, s, n) == 0;
}

/* Borrow one BEGIN..END block, the end marker included. */
static att_err next_block(struct att_rd *r, struct att_bytes *block)
{
    struct att_rd start = *r;
    size_t n = 0;
    if (!starts_with(r, pem_begin)) {
        return ATT_ERR_CERT_PARSE;
    }
    while (!starts_with(r, pem_end)) {
        ATT_ENSURE(att_rd_skip(r, 1) == ATT_OK, ATT_ERR_CERT_PARSE);
        n++;
    }
    ATT_TRY(att_rd_skip(r, sizeof(pem_end) - 1));
    return att_rd_bytes(&start, n + sizeof(pem_end) - 1, block);
}

att_err att_pem_certs_parse(const uint8_t *pem, size_t len, size_t max, STACK_OF(X509) * *out,
                            char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    struct att_rd r;
    STACK_OF(X509) *certs = sk_X509_new_null();
    BIO *bio = NULL;
    X509 *x = NULL;

    ATT_CHECK(certs != NULL, ATT_ERR_NOMEM);
    att_rd_init(&r, pem, len);
    while (skip_space(&r)) {
        struct att_bytes block;
        if (next_block(&r, &block) != ATT_OK) {
            rc = att_failf(ATT_ERR_CERT_PARSE, msg, msg_len,
                           "text at offset %zu is not a PEM certificate", att_rd_offset(&r));
            goto out;
        }
        if ((size_t)sk_X509_num(certs) >= max) {
            rc = att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "more than %zu certificates", max);
            goto out;
        }
        bio = BIO_new_mem_buf(block.ptr, (int)block.len);
        ATT_CHECK(bio != NULL, ATT_ERR_NOMEM);
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x == NULL) {
            rc = att_failf(ATT_ERR_CERT_PARSE, msg, msg_len, "certificate %d is not valid X.509",
                           sk_X509_num(certs) + 1);
            goto out;
        }
        BIO_free(bio);
        bio = NULL;
        ATT_CHECK(sk_X509_push(certs, x) > 0, ATT_ERR_NOMEM);
        x = NULL;
    }
    if (sk_X509_num(certs) == 0) {
        rc = att_failf(ATT_ERR_CERT_PARSE, msg, msg_len, "no PEM certificate");
        goto out;
    }
    *out = certs;
    certs = NULL;
    rc = ATT_OK;
out:
    X509_free(x);
    BIO_free(bio);
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
    return rc;
}

att_err att_asn1_time_epoch(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    ATT_ENSURE(t != NULL && ASN1_TIME_to_tm(t, &tm) == 1, ATT_ERR_PARSE);
    *out = (int64_t)timegm(&tm);
    return ATT_OK;
}

att_err att_certs_leaf(STACK_OF(X509) * certs, X509 **leaf)
{
    X509 *found = NULL;
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);
        bool issues_another = false;
        for (int j = 0; j < sk_X509_num(certs); j++) {
            X509 *o = sk_X509_value(certs, j);
            if (i != j && X509_check_issued(c, o) == X509_V_OK) {
                issues_another = true;
                break;
            }
        }
        if (!issues_another) {
            ATT_ENSURE(found == NULL, ATT_ERR_CERT_CHAIN);
            found = c;
        }
    }
    ATT_ENSURE(found != NULL, ATT_ERR_CERT_CHAIN);
    *leaf = found;
    return ATT_OK;
}

att_err att_certs_verify_to(X509 *leaf, STACK_OF(X509) * untrusted, STACK_OF(X509) * anchors,
                            STACK_OF(X509) * *chain, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();

    ATT_CHECK(store != NULL && ctx != NULL, ATT_ERR_NOMEM);
    for (int i = 0; i < sk_X509_num(anchors); i++) {
        ATT_CHECK(X509_STORE_add_cert(store, sk_X509_value(anchors, i)) == 1, ATT_ERR_NOMEM);
    }
    ATT_CHECK(X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1, ATT_ERR_NOMEM);
    /* Time is the caller's (checked at the time of use); anchors are looked up first. */
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_TRUSTED_FIRST);
    if (X509_verify_cert(ctx) != 1) {
        int err = X509_STORE_CTX_get_error(ctx);
        bool untrusted_root = err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                              err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                              err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
                              err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
        rc = att_failf(untrusted_root ? ATT_ERR_ROOT_UNTRUSTED : ATT_ERR_CERT_CHAIN, msg, msg_len,
                       "%s (depth %d)", X509_verify_cert_error_string(err),
                       X509_STORE_CTX_get_error_depth(ctx));
        goto out;
    }
    *chain = X509_STORE_CTX_get1_chain(ctx);
    ATT_CHECK(*chain != NULL, ATT_ERR_NOMEM);
    rc = ATT_OK;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return rc;
}

att_err att_certs_window(STACK_OF(X509) * chain, int64_t *from, int64_t *until)
{
    int64_t lo = INT64_MIN;
    int64_t hi = INT64_MAX;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        int64_t nb = 0;
        int64_t na = 0;
        ATT_TRY(att_asn1_time_epoch(X509_get0_notBefore(c), &nb));
        ATT_TRY(att_asn1_time_epoch(X509_get0_notAfter(c), &na));
        lo = nb > lo ? nb : lo;
        hi = na < hi ? na : hi;
    }
    *from = lo;
    *until = hi;
    return ATT_OK;
}

att_err att_certs_keys_id(STACK_OF(X509) * certs, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    att_err rc = ATT_ERR_CRYPTO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t digest[32];
    unsigned int n = 0;

    ATT_CHECK(md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1, ATT_ERR_CRYPTO);
    for (int i = 0; i < sk_X509_num(certs); i++) {
        unsigned char *der = NULL;
        int len = i2d_PUBKEY(X509_get0_pubkey(sk_X509_value(certs, i)), &der);
        ATT_CHECK(len > 0, ATT_ERR_CRYPTO);
        int ok = EVP_DigestUpdate(md, der, (size_t)len);
        OPENSSL_free(der);
        ATT_CHECK(ok == 1, ATT_ERR_CRYPTO);
    }
    ATT_CHECK(EVP_DigestFinal_ex(md, digest, &n) == 1 && n == sizeof(digest), ATT_ERR_CRYPTO);
    for (size_t i = 0; i < sizeof(digest); i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    out[64] = '\0';
    rc = ATT_OK;
out:
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return rc;
}
