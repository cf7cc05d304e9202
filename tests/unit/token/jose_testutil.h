/*
 * jose_testutil.h - helpers shared by the token unit tests: base64url
 * strings, public keys rebuilt from JWK members with plain OpenSSL, and the
 * ECDSA R||S <-> DER conversions done independently of src/.
 *
 * Test code only: failures abort the test through cmocka asserts.
 */
#ifndef ATT_TEST_JOSE_TESTUTIL_H
#define ATT_TEST_JOSE_TESTUTIL_H

#include "att_test.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec.h"

/* BASE64URL(p) as a new C string; free() it. */
static inline char *tu_b64u(const void *p, size_t n)
{
    struct att_buf b;
    att_buf_init(&b, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_b64url_encode(p, n, &b));
    char *s = strdup(att_buf_cstr(&b));
    assert_non_null(s);
    att_buf_cleanup(&b);
    return s;
}

static inline char *tu_b64u_str(const char *s)
{
    return tu_b64u(s, strlen(s));
}

/* Decode base64url text into a fresh buffer (caller cleans it up). */
static inline void tu_b64u_decode(const char *s, size_t n, struct att_buf *out)
{
    att_buf_init(out, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_b64url_decode(s, n, out));
}

/* "a" "." "b" "." "c" as a new C string; free() it. */
static inline char *tu_join3(const char *a, const char *b, const char *c)
{
    struct att_buf t;
    att_buf_init(&t, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_buf_printf(&t, "%s.%s.%s", a, b, c));
    char *s = strdup(att_buf_cstr(&t));
    assert_non_null(s);
    att_buf_cleanup(&t);
    return s;
}

/* A compact JWS from header JSON text, payload text and signature text. */
static inline char *tu_token(const char *header_json, const char *payload, const char *sig_b64u)
{
    char *h = tu_b64u_str(header_json);
    char *p = tu_b64u_str(payload);
    char *t = tu_join3(h, p, sig_b64u);
    free(h);
    free(p);
    return t;
}

static inline EVP_PKEY *tu_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    assert_non_null(params);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    assert_non_null(ctx);
    EVP_PKEY *key = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return key;
}

/* RSA public key from the JWK members "n" and "e" (RFC 7518 §6.3.1). */
static inline EVP_PKEY *tu_rsa_from_ne(const char *n_b64u, const char *e_b64u)
{
    struct att_buf n;
    struct att_buf e;
    tu_b64u_decode(n_b64u, strlen(n_b64u), &n);
    tu_b64u_decode(e_b64u, strlen(e_b64u), &e);
    BIGNUM *bn = BN_bin2bn(n.data, (int)n.len, NULL);
    BIGNUM *be = BN_bin2bn(e.data, (int)e.len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    assert_true(bn != NULL && be != NULL && bld != NULL);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn), 1);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be), 1);
    EVP_PKEY *key = tu_fromdata("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    att_buf_cleanup(&n);
    att_buf_cleanup(&e);
    return key;
}

/* P-256 public key from the JWK members "x" and "y" (RFC 7518 §6.2.1). */
static inline EVP_PKEY *tu_ec_from_xy(const char *x_b64u, const char *y_b64u)
{
    struct att_buf x;
    struct att_buf y;
    uint8_t point[65];
    tu_b64u_decode(x_b64u, strlen(x_b64u), &x);
    tu_b64u_decode(y_b64u, strlen(y_b64u), &y);
    assert_int_equal(x.len, 32);
    assert_int_equal(y.len, 32);
    point[0] = 0x04; /* SEC 1 §2.3.3 uncompressed point */
    memcpy(point + 1, x.data, 32);
    memcpy(point + 33, y.data, 32);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    assert_non_null(bld);
    assert_int_equal(
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0), 1);
    assert_int_equal(
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)), 1);
    EVP_PKEY *key = tu_fromdata("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    att_buf_cleanup(&x);
    att_buf_cleanup(&y);
    return key;
}

/* RFC 7518 §3.4 R||S (64 bytes) to DER; OPENSSL_free the result. */
static inline unsigned char *tu_rs_to_der(const uint8_t *rs, size_t *der_len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    assert_non_null(sig);
    assert_int_equal(ECDSA_SIG_set0(sig, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL)), 1);
    unsigned char *der = NULL;
    int n = i2d_ECDSA_SIG(sig, &der);
    assert_true(n > 0);
    ECDSA_SIG_free(sig);
    *der_len = (size_t)n;
    return der;
}

/* DER ECDSA-Sig-Value to the 64-byte R||S form. */
static inline void tu_der_to_rs(const unsigned char *der, size_t der_len, uint8_t rs[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(sig);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32), 32);
    ECDSA_SIG_free(sig);
}

#endif
