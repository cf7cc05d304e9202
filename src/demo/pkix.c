/*
 * pkix.c - certificate and CRL pieces of the test PKIs (pkix.h), on OpenSSL 3.
 */
#include "demo/pkix.h"

#include <stdio.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

void att_pkix_fail(const char *what)
{
    fprintf(stderr, "test PKI: %s failed\n", what);
    ERR_print_errors_fp(stderr);
}

X509_NAME *att_pkix_name(const char *const *keys, const char *const *vals, size_t n)
{
    X509_NAME *name = X509_NAME_new();
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (X509_NAME_add_entry_by_txt(name, keys[i], MBSTRING_UTF8, (const unsigned char *)vals[i],
                                       -1, -1, 0) != 1) {
            X509_NAME_free(name);
            return NULL;
        }
    }
    return name;
}

int att_pkix_set_time(ASN1_TIME *t, int64_t when)
{
    return ASN1_TIME_set(t, (time_t)when) != NULL ? 0 : -1;
}

int att_pkix_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ex = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    if (ex == NULL) {
        att_pkix_fail(value);
        return -1;
    }
    int ok = X509_add_ext(x, ex, -1);
    X509_EXTENSION_free(ex);
    return ok == 1 ? 0 : -1;
}

bool att_pkix_pem_append(struct att_wbuf *b, X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    bool ok = bio != NULL && PEM_write_bio_X509(bio, x) == 1;
    long n = ok ? BIO_get_mem_data(bio, &data) : 0;
    if (ok && n > 0) {
        att_wbuf_put(b, data, (size_t)n);
    } else {
        ok = false;
        b->bad = true;
    }
    BIO_free(bio);
    return ok;
}

char *att_pkix_pem_of(X509 *const *certs, size_t n)
{
    struct att_wbuf b = {0};
    for (size_t i = 0; i < n; i++) {
        att_pkix_pem_append(&b, certs[i]);
    }
    return att_wbuf_take_str(&b);
}

X509_CRL *att_pkix_crl_new(X509 *issuer, int64_t this_update, int64_t next_update,
                           X509 *const *revoked, size_t n_revoked, int64_t revoked_at)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_new();
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    X509_EXTENSION *ex = NULL;
    X509V3_CTX ctx;
    bool ok = false;

    if (crl == NULL || t == NULL || num == NULL ||
        X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
        att_pkix_set_time(t, this_update) != 0 || X509_CRL_set1_lastUpdate(crl, t) != 1 ||
        att_pkix_set_time(t, next_update) != 0 || X509_CRL_set1_nextUpdate(crl, t) != 1) {
        goto out;
    }
    for (size_t i = 0; i < n_revoked; i++) {
        X509_REVOKED *rev = X509_REVOKED_new();
        if (rev == NULL ||
            X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(revoked[i])) != 1 ||
            att_pkix_set_time(t, revoked_at) != 0 || X509_REVOKED_set_revocationDate(rev, t) != 1 ||
            X509_CRL_add0_revoked(crl, rev) != 1) {
            X509_REVOKED_free(rev);
            goto out;
        }
    }
    if (n_revoked > 0 && X509_CRL_sort(crl) != 1) {
        goto out;
    }
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
    ex = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    if (ex == NULL || X509_CRL_add_ext(crl, ex, -1) != 1 || ASN1_INTEGER_set(num, 1) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1) {
        goto out;
    }
    ok = true;
out:
    if (!ok) {
        att_pkix_fail("CRL");
        X509_CRL_free(crl);
        crl = NULL;
    }
    X509_EXTENSION_free(ex);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(t);
    return crl;
}
