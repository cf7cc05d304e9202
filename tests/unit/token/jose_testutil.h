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
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

/* DER ECDSA-Sig-Value to R||S with `coord` octets each (32 for P-256, 48 for P-384). */
static inline void tu_der_to_rs_n(const unsigned char *der, size_t der_len, uint8_t *rs, int coord)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(sig);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, coord), coord);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + coord, coord), coord);
    ECDSA_SIG_free(sig);
}

/* DER ECDSA-Sig-Value to the 64-byte R||S form. */
static inline void tu_der_to_rs(const unsigned char *der, size_t der_len, uint8_t rs[64])
{
    tu_der_to_rs_n(der, der_len, rs, 32);
}

/*
 * How tu_sign_token signs, with plain OpenSSL (independent of src/signer):
 * RSASSA-PKCS1-v1_5, RSASSA-PSS with a given salt length, or ECDSA with R||S
 * of `coord` octets each.
 */
struct tu_sig_spec {
    const EVP_MD *(*md)(void);
    int pss_salt; /* >= 0: PSS (MGF1 with the same hash) with this salt; < 0: no PSS */
    int coord;    /* > 0: ECDSA, R||S of this many octets each */
};
#define TU_RS256 ((struct tu_sig_spec){EVP_sha256, -1, 0})
#define TU_PS256 ((struct tu_sig_spec){EVP_sha256, 32, 0})
#define TU_ES256 ((struct tu_sig_spec){EVP_sha256, -1, 32})
#define TU_ES384 ((struct tu_sig_spec){EVP_sha384, -1, 48})

/* The JOSE signature of `input` by private key `key`, as base64url; free() it. */
static inline char *tu_sign_b64u(EVP_PKEY *key, struct tu_sig_spec spec, const char *input)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char sig[2048];
    size_t sig_len = sizeof(sig);
    assert_non_null(md);
    assert_int_equal(EVP_DigestSignInit(md, &pctx, spec.md(), NULL, key), 1);
    if (spec.pss_salt >= 0) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, spec.md()), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, spec.pss_salt), 1);
    }
    assert_int_equal(EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)input, strlen(input)),
                     1);
    EVP_MD_CTX_free(md);
    if (spec.coord > 0) {
        uint8_t rs[132];
        assert_true((size_t)spec.coord * 2 <= sizeof(rs));
        tu_der_to_rs_n(sig, sig_len, rs, spec.coord);
        return tu_b64u(rs, (size_t)spec.coord * 2);
    }
    return tu_b64u(sig, sig_len);
}

/* A compact JWS of header and payload text, signed with `key`; free() it. */
static inline char *tu_sign_token(EVP_PKEY *key, struct tu_sig_spec spec, const char *header_json,
                                  const char *payload)
{
    char *h = tu_b64u_str(header_json);
    char *p = tu_b64u_str(payload);
    struct att_buf input;
    att_buf_init(&input, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_buf_printf(&input, "%s.%s", h, p));
    char *s = tu_sign_b64u(key, spec, att_buf_cstr(&input));
    char *t = tu_join3(h, p, s);
    att_buf_cleanup(&input);
    free(h);
    free(p);
    free(s);
    return t;
}

/*
 * BASE64URL of a big-integer parameter of `key` (e.g. OSSL_PKEY_PARAM_RSA_N):
 * minimal octets when pad == 0, else exactly `pad` octets; free() it.
 */
static inline char *tu_bn_b64u(const EVP_PKEY *key, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char bytes[1100];
    assert_int_equal(EVP_PKEY_get_bn_param(key, param, &bn), 1);
    assert_true(BN_num_bytes(bn) <= (int)sizeof(bytes));
    int n = pad > 0 ? BN_bn2binpad(bn, bytes, pad) : BN_bn2bin(bn, bytes);
    assert_true(n > 0);
    BN_free(bn);
    return tu_b64u(bytes, (size_t)n);
}

/* The public JWK of an RSA key, by hand: {"kty":"RSA","n":...,"e":...}. */
static inline json_t *tu_jwk_rsa(const EVP_PKEY *key)
{
    char *n = tu_bn_b64u(key, OSSL_PKEY_PARAM_RSA_N, 0);
    char *e = tu_bn_b64u(key, OSSL_PKEY_PARAM_RSA_E, 0);
    json_t *jwk = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", n, "e", e);
    assert_non_null(jwk);
    free(n);
    free(e);
    return jwk;
}

/* The public JWK of an EC key on curve `crv` with `coord`-octet x and y. */
static inline json_t *tu_jwk_ec(const EVP_PKEY *key, const char *crv, int coord)
{
    char *x = tu_bn_b64u(key, OSSL_PKEY_PARAM_EC_PUB_X, coord);
    char *y = tu_bn_b64u(key, OSSL_PKEY_PARAM_EC_PUB_Y, coord);
    json_t *jwk = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", crv, "x", x, "y", y);
    assert_non_null(jwk);
    free(x);
    free(y);
    return jwk;
}

#endif
