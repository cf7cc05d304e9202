/*
 * chain.c - parse and check "x5c" certificate chains (see chain.h).
 *
 * Input trust: x5c values come from request bodies (untrusted). Each entry is decoded by the
 * strict base64 decoder into a capped buffer and parsed by OpenSSL's DER decoder, which must
 * consume it exactly.
 */
#include "x509/chain.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/codec.h"

static att_err parse_one(const json_t *v, X509 **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf der;
    X509 *cert = NULL;
    att_buf_init(&der, ATT_X5C_MAX_CERT_BYTES);
    ATT_CHECK(json_is_string(v), ATT_ERR_JSON);
    ATT_CHECK(json_string_length(v) <= (ATT_X5C_MAX_CERT_BYTES / 3 + 1) * 4, ATT_ERR_TOO_LARGE);
    ATT_GUARD(att_b64_decode(json_string_value(v), json_string_length(v), &der));
    const unsigned char *p = der.data;
    cert = d2i_X509(NULL, &p, (long)der.len);
    /* d2i must use every byte: trailing data would be a second, unsigned object. */
    ATT_CHECK(cert != NULL && p == der.data + der.len, ATT_ERR_CERT_PARSE);
    *out = cert;
    cert = NULL;
    rc = ATT_OK;
out:
    X509_free(cert);
    att_buf_cleanup(&der);
    return rc;
}

att_err att_x5c_parse(const json_t *x5c, STACK_OF(X509) * *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    STACK_OF(X509) *chain = NULL;
    ATT_CHECK(json_is_array(x5c) && json_array_size(x5c) > 0, ATT_ERR_JSON);
    ATT_CHECK(json_array_size(x5c) <= ATT_X5C_MAX_CERTS, ATT_ERR_TOO_LARGE);
    chain = sk_X509_new_null();
    ATT_CHECK(chain != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < json_array_size(x5c); i++) {
        X509 *cert = NULL;
        ATT_GUARD(parse_one(json_array_get(x5c, i), &cert));
        if (sk_X509_push(chain, cert) <= 0) {
            X509_free(cert);
            ATT_CHECK(false, ATT_ERR_NOMEM);
        }
    }
    *out = chain;
    chain = NULL;
    rc = ATT_OK;
out:
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

static att_err check_time(X509 *cert, int64_t now)
{
    time_t t = (time_t)now;
    ATT_ENSURE(X509_cmp_time(X509_get0_notBefore(cert), &t) < 0, ATT_ERR_CERT_NOT_YET_VALID);
    ATT_ENSURE(X509_cmp_time(X509_get0_notAfter(cert), &t) > 0, ATT_ERR_CERT_EXPIRED);
    return ATT_OK;
}

/* RFC 5280 §4.2.1.9: an issuer must assert cA in basicConstraints. */
static bool is_ca(X509 *cert)
{
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(cert, NID_basic_constraints, NULL, NULL);
    bool ca = bc != NULL && bc->ca;
    BASIC_CONSTRAINTS_free(bc);
    return ca;
}

static att_err signed_by(X509 *cert, X509 *issuer)
{
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    ATT_ENSURE(key != NULL, ATT_ERR_CERT_PARSE);
    ATT_ENSURE(X509_check_issued(issuer, cert) == X509_V_OK, ATT_ERR_CERT_CHAIN);
    ATT_ENSURE(X509_verify(cert, key) == 1, ATT_ERR_CERT_CHAIN);
    return ATT_OK;
}

att_err att_x5c_check_chain(STACK_OF(X509) * chain, int64_t now)
{
    int n = sk_X509_num(chain);
    ATT_ENSURE(n > 0, ATT_ERR_ARG);
    for (int i = 0; i < n; i++) {
        X509 *cert = sk_X509_value(chain, i);
        ATT_TRY(check_time(cert, now));
        if (i + 1 < n) {
            ATT_ENSURE(is_ca(sk_X509_value(chain, i + 1)), ATT_ERR_CERT_NOT_CA);
            ATT_TRY(signed_by(cert, sk_X509_value(chain, i + 1)));
        }
    }
    X509 *root = sk_X509_value(chain, n - 1);
    ATT_ENSURE(is_ca(root), ATT_ERR_CERT_NOT_CA);
    /* A self-issued root (subject = issuer) must verify itself; a chain may also end below a
     * root it omits. Names, not X509_check_issued, decide: that also weighs keyUsage. */
    if (X509_NAME_cmp(X509_get_subject_name(root), X509_get_issuer_name(root)) == 0) {
        EVP_PKEY *key = X509_get0_pubkey(root);
        ATT_ENSURE(key != NULL, ATT_ERR_CERT_PARSE);
        ATT_ENSURE(X509_verify(root, key) == 1, ATT_ERR_CERT_CHAIN);
    }
    return ATT_OK;
}

static att_err digest_hex(X509 *cert, const EVP_MD *md, const char *digits, char *out)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    ATT_ENSURE(X509_digest(cert, md, d, &n) == 1, ATT_ERR_CRYPTO);
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = 0;
    return ATT_OK;
}

att_err att_cert_sha1_hex(X509 *cert, char out[41])
{
    return digest_hex(cert, EVP_sha1(), "0123456789ABCDEF", out);
}

att_err att_cert_sha256_hex(X509 *cert, char out[65])
{
    return digest_hex(cert, EVP_sha256(), "0123456789abcdef", out);
}

att_err att_cert_b64(X509 *cert, struct att_buf *out)
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    ATT_ENSURE(n > 0, ATT_ERR_CRYPTO);
    att_err rc = att_b64_encode(der, (size_t)n, out);
    OPENSSL_free(der);
    return rc;
}
