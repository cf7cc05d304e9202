/*
 * test_jwk.c - unit tests for src/token/jwk.c, src/token/claims.c and the
 * certificates of src/x509/selfsigned.c that the JWKs are built from.
 *
 * Keys rebuilt from the JWK members with plain OpenSSL must equal the
 * original (EVP_PKEY_eq); certificates are read back with OpenSSL's parser.
 * Import (att_jwk_to_key): the RFC 7515 appendix A keys verify their RFC
 * tokens; keys generated here are exported by hand (BN -> base64url), signed
 * with plain OpenSSL and verified through att_jws_verify; every refusal is
 * checked for its exact code.
 */
#include "jose_testutil.h"

#include <ctype.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "signer/signer.h"
#include "token/claims.h"
#include "token/jwk.h"
#include "x509/selfsigned.h"

#define NOW ((int64_t)1700000000)

/* RFC 7515 A.2.1: the RSA key (public members) and the A.2 token it signed. */
static const char a2_n[] =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0"
    "Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS"
    "5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJ"
    "H7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
static const char a2_token[] =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2F"
    "p5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQB"
    "MHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeY"
    "I2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
/* RFC 7515 A.3.1: the P-256 key, its private "d" too, and the A.3 token. */
static const char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
static const char a3_d[] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
static const char a3_token[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

static void make_cert(EVP_PKEY *key, const char *cn, struct att_buf *der)
{
    att_buf_init(der, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_x509_self_signed(key, cn, NOW, 365, der));
}

static X509 *parse(const struct att_buf *der)
{
    const unsigned char *p = der->data;
    X509 *x = d2i_X509(NULL, &p, (long)der->len);
    assert_non_null(x);
    return x;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    assert_non_null(s);
    return s;
}

static size_t decoded_len(const char *b64u)
{
    struct att_buf b;
    tu_b64u_decode(b64u, strlen(b64u), &b);
    size_t n = b.len;
    att_buf_cleanup(&b);
    return n;
}

/* x5c[0] is standard base64 (RFC 7517 §4.7) of exactly the certificate DER. */
static void check_x5c(const json_t *jwk, const struct att_buf *der)
{
    const json_t *x5c = json_object_get(jwk, "x5c");
    assert_true(json_is_array(x5c));
    assert_int_equal(json_array_size(x5c), 1);
    const char *s = json_string_value(json_array_get(x5c, 0));
    assert_non_null(s);
    struct att_buf dec;
    att_buf_init(&dec, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_b64_decode(s, strlen(s), &dec));
    assert_int_equal(dec.len, der->len);
    assert_memory_equal(dec.data, der->data, der->len);
    att_buf_cleanup(&dec);
}

static void check_order(json_t *jwk, const char *const *names, size_t n)
{
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(jwk, key, v)
    {
        (void)v;
        assert_true(i < n);
        assert_string_equal(key, names[i]);
        i++;
    }
    assert_int_equal(i, n);
}

/* ===================================================================== */
/* JWK                                                                   */
/* ===================================================================== */

static void test_jwk_rsa(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    struct att_buf der;
    json_t *jwk = NULL;
    EXPECT_OK(att_signer_generate(ATT_JWS_RS256, &key));
    make_cert(key, "https://attest.example", &der);
    EXPECT_OK(att_jwk_from_cert(der.data, der.len, "kid-1", ATT_JWS_RS256, &jwk));

    static const char *const order[] = {"kid", "kty", "alg", "use", "x5c", "n", "e"};
    check_order(jwk, order, 7);
    assert_string_equal(jstr(jwk, "kid"), "kid-1");
    assert_string_equal(jstr(jwk, "kty"), "RSA");
    assert_string_equal(jstr(jwk, "alg"), "RS256");
    assert_string_equal(jstr(jwk, "use"), "sig");
    assert_string_equal(jstr(jwk, "e"), "AQAB");
    /* RFC 7518 §6.3.1.1: n without the DER sign octet: 256 bytes, top bit set. */
    struct att_buf n;
    tu_b64u_decode(jstr(jwk, "n"), strlen(jstr(jwk, "n")), &n);
    assert_int_equal(n.len, 256);
    assert_true(n.data[0] >= 0x80);
    att_buf_cleanup(&n);
    assert_null(strchr(jstr(jwk, "n"), '='));

    EVP_PKEY *rebuilt = tu_rsa_from_ne(jstr(jwk, "n"), jstr(jwk, "e"));
    assert_int_equal(EVP_PKEY_eq(rebuilt, key), 1);
    check_x5c(jwk, &der);

    EVP_PKEY *pub = NULL;
    EXPECT_OK(att_jwk_cert_pubkey(der.data, der.len, &pub));
    assert_int_equal(EVP_PKEY_eq(pub, key), 1);

    EVP_PKEY_free(pub);
    EVP_PKEY_free(rebuilt);
    json_decref(jwk);
    att_buf_cleanup(&der);
    EVP_PKEY_free(key);
}

/* An EC key whose x coordinate starts with a zero byte, to test fixed-width x/y. */
static EVP_PKEY *ec_key_with_short_x(void)
{
    for (int i = 0; i < 20000; i++) {
        EVP_PKEY *key = NULL;
        EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &key));
        BIGNUM *x = NULL;
        assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
        int bytes = BN_num_bytes(x);
        BN_free(x);
        if (bytes < 32) {
            return key;
        }
        EVP_PKEY_free(key);
    }
    fail_msg("no P-256 key with a short x coordinate");
    return NULL;
}

static void test_jwk_ec(void **state)
{
    (void)state;
    EVP_PKEY *key = ec_key_with_short_x();
    struct att_buf der;
    json_t *jwk = NULL;
    make_cert(key, "https://attest.example", &der);
    EXPECT_OK(att_jwk_from_cert(der.data, der.len, "ec-1", ATT_JWS_ES256, &jwk));

    static const char *const order[] = {"kid", "kty", "alg", "use", "x5c", "crv", "x", "y"};
    check_order(jwk, order, 8);
    assert_string_equal(jstr(jwk, "kty"), "EC");
    assert_string_equal(jstr(jwk, "alg"), "ES256");
    assert_string_equal(jstr(jwk, "crv"), "P-256");
    /* RFC 7518 §6.2.1.2: always the full 32 octets, even with a leading zero. */
    assert_int_equal(strlen(jstr(jwk, "x")), 43);
    assert_int_equal(decoded_len(jstr(jwk, "x")), 32);
    assert_int_equal(decoded_len(jstr(jwk, "y")), 32);

    EVP_PKEY *rebuilt = tu_ec_from_xy(jstr(jwk, "x"), jstr(jwk, "y"));
    assert_int_equal(EVP_PKEY_eq(rebuilt, key), 1);
    check_x5c(jwk, &der);

    EVP_PKEY_free(rebuilt);
    json_decref(jwk);
    att_buf_cleanup(&der);
    EVP_PKEY_free(key);
}

static void test_jwk_errors(void **state)
{
    (void)state;
    EVP_PKEY *rsa = NULL;
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    EVP_PKEY *pub = NULL;
    json_t *jwk = NULL;
    struct att_buf der;
    struct att_buf der384;
    struct att_buf der1024;
    EXPECT_OK(att_signer_generate(ATT_JWS_RS256, &rsa));
    make_cert(rsa, "t", &der);
    make_cert(p384, "t", &der384);
    make_cert(rsa1024, "t", &der1024);

    EXPECT_ERR(att_jwk_from_cert(der.data, der.len, "k", ATT_JWS_ES256, &jwk), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jwk_from_cert(der.data, der.len, "k", ATT_JWS_NONE, &jwk), ATT_ERR_ARG);
    EXPECT_ERR(att_jwk_from_cert(der.data, der.len, "", ATT_JWS_RS256, &jwk), ATT_ERR_ARG);
    EXPECT_ERR(att_jwk_from_cert(der.data, der.len, NULL, ATT_JWS_RS256, &jwk), ATT_ERR_ARG);
    EXPECT_ERR(att_jwk_from_cert(der.data, der.len, "k", ATT_JWS_RS256, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_jwk_from_cert(der384.data, der384.len, "k", ATT_JWS_ES256, &jwk),
               ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jwk_from_cert(der1024.data, der1024.len, "k", ATT_JWS_RS256, &jwk),
               ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jwk_from_cert(NULL, 0, "k", ATT_JWS_RS256, &jwk), ATT_ERR_ARG);
    EXPECT_ERR(att_jwk_from_cert((const uint8_t *)"garbage", 7, "k", ATT_JWS_RS256, &jwk),
               ATT_ERR_PARSE);
    assert_null(jwk);

    /* Trailing bytes after the certificate. */
    struct att_buf longer;
    att_buf_init(&longer, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_buf_put(&longer, der.data, der.len));
    EXPECT_OK(att_buf_putc(&longer, 0));
    EXPECT_ERR(att_jwk_cert_pubkey(longer.data, longer.len, &pub), ATT_ERR_TRAILING);
    /* Truncated at every offset: never a key. */
    for (size_t len = 1; len < der.len; len++) {
        if (att_jwk_cert_pubkey(der.data, len, &pub) == ATT_OK) {
            fail_msg("certificate truncated to %zu bytes parsed", len);
        }
    }
    assert_null(pub);

    att_buf_cleanup(&longer);
    att_buf_cleanup(&der);
    att_buf_cleanup(&der384);
    att_buf_cleanup(&der1024);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(rsa1024);
}

/* ===================================================================== */
/* JWK import (att_jwk_to_key)                                           */
/* ===================================================================== */

static json_t *jwk_parse(const char *text)
{
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    return j;
}

static void jset(json_t *o, const char *k, const char *v)
{
    assert_int_equal(json_object_set_new(o, k, json_string(v)), 0);
}

static void jset_json(json_t *o, const char *k, const char *text)
{
    assert_int_equal(json_object_set_new(o, k, jwk_parse(text)), 0);
}

static att_err import(const json_t *jwk, enum att_jws_alg *alg)
{
    EVP_PKEY *key = NULL;
    enum att_jws_alg a = ATT_JWS_NONE;
    att_err rc = att_jwk_to_key(jwk, &key, &a);
    if (rc == ATT_OK) {
        assert_non_null(key);
        EVP_PKEY_free(key);
        if (alg != NULL) {
            *alg = a;
        }
    } else {
        assert_null(key); /* outputs untouched on failure */
        assert_int_equal(a, ATT_JWS_NONE);
    }
    return rc;
}

/* Import `jwk`, verify `token` with the key and its pinned alg; return that alg. */
static enum att_jws_alg import_and_verify(const json_t *jwk, const char *token)
{
    EVP_PKEY *key = NULL;
    enum att_jws_alg alg = ATT_JWS_NONE;
    struct att_jws jws;
    memset(&jws, 0, sizeof(jws));
    EXPECT_OK(att_jwk_to_key(jwk, &key, &alg));
    EXPECT_OK(att_jws_verify(token, strlen(token), key, alg, &jws));
    att_jws_cleanup(&jws);
    EVP_PKEY_free(key);
    return alg;
}

static void test_jwk_import_rfc7515(void **state)
{
    (void)state;
    /* A.2: RSA, no "alg": RS256 by default. */
    json_t *a2 = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", a2_n, "e", "AQAB");
    assert_int_equal(import_and_verify(a2, a2_token), ATT_JWS_RS256);
    EVP_PKEY *key = NULL;
    enum att_jws_alg alg = ATT_JWS_NONE;
    EXPECT_OK(att_jwk_to_key(a2, &key, &alg));
    EVP_PKEY *ref = tu_rsa_from_ne(a2_n, "AQAB");
    assert_int_equal(EVP_PKEY_eq(key, ref), 1);
    assert_int_equal(EVP_PKEY_get_bits(key), 2048);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ref);
    /* With every optional member set the way a provider would. */
    jset(a2, "alg", "RS256");
    jset(a2, "use", "sig");
    jset(a2, "kid", "a2");
    jset_json(a2, "key_ops", "[\"verify\"]");
    assert_int_equal(import_and_verify(a2, a2_token), ATT_JWS_RS256);
    /* Pinned to PS256, the RS256 token no longer verifies. */
    jset(a2, "alg", "PS256");
    EXPECT_OK(att_jwk_to_key(a2, &key, &alg));
    assert_int_equal(alg, ATT_JWS_PS256);
    struct att_jws jws;
    EXPECT_ERR(att_jws_verify(a2_token, strlen(a2_token), key, alg, &jws), ATT_ERR_ALG_MISMATCH);
    EVP_PKEY_free(key);

    /* A.3: P-256, ES256 from the curve. */
    json_t *a3 = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", a3_x, "y", a3_y);
    assert_int_equal(import_and_verify(a3, a3_token), ATT_JWS_ES256);
    EXPECT_OK(att_jwk_to_key(a3, &key, &alg));
    ref = tu_ec_from_xy(a3_x, a3_y);
    assert_int_equal(EVP_PKEY_eq(key, ref), 1);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ref);
    jset(a3, "alg", "ES256");
    assert_int_equal(import_and_verify(a3, a3_token), ATT_JWS_ES256);
    /* The full A.3.1 JWK carries the private "d": never in a published key. */
    jset(a3, "d", a3_d);
    EXPECT_ERR(import(a3, NULL), ATT_ERR_VALIDATE);

    json_decref(a2);
    json_decref(a3);
}

static void test_jwk_import_generated(void **state)
{
    (void)state;
    static const char claims[] = "{\"iss\":\"https://idp.example\",\"sub\":\"s\"}";
    EVP_PKEY *rsa = NULL;
    EVP_PKEY *p256 = NULL;
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *rsa3072 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    assert_true(p384 != NULL && rsa3072 != NULL);
    EXPECT_OK(att_signer_generate(ATT_JWS_RS256, &rsa));
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &p256));

    /* RS256 and PS256 with one RSA key, by the JWK's "alg". */
    json_t *jwk = tu_jwk_rsa(rsa);
    char *t_rs = tu_sign_token(rsa, TU_RS256, "{\"alg\":\"RS256\"}", claims);
    char *t_ps = tu_sign_token(rsa, TU_PS256, "{\"alg\":\"PS256\"}", claims);
    assert_int_equal(import_and_verify(jwk, t_rs), ATT_JWS_RS256);
    jset(jwk, "alg", "PS256");
    assert_int_equal(import_and_verify(jwk, t_ps), ATT_JWS_PS256);
    json_decref(jwk);

    /* RSA-3072 (e = 65537) and PS256. */
    jwk = tu_jwk_rsa(rsa3072);
    jset(jwk, "alg", "PS256");
    char *t_ps3072 = tu_sign_token(rsa3072, TU_PS256, "{\"alg\":\"PS256\"}", claims);
    assert_int_equal(import_and_verify(jwk, t_ps3072), ATT_JWS_PS256);
    json_decref(jwk);

    /* ES256 and ES384, "alg" absent and present. */
    jwk = tu_jwk_ec(p256, "P-256", 32);
    char *t_es256 = tu_sign_token(p256, TU_ES256, "{\"alg\":\"ES256\"}", claims);
    assert_int_equal(import_and_verify(jwk, t_es256), ATT_JWS_ES256);
    json_decref(jwk);
    jwk = tu_jwk_ec(p384, "P-384", 48);
    char *t_es384 = tu_sign_token(p384, TU_ES384, "{\"alg\":\"ES384\"}", claims);
    assert_int_equal(import_and_verify(jwk, t_es384), ATT_JWS_ES384);
    jset(jwk, "alg", "ES384");
    jset(jwk, "use", "sig");
    jset_json(jwk, "key_ops", "[\"sign\",\"verify\"]");
    assert_int_equal(import_and_verify(jwk, t_es384), ATT_JWS_ES384);
    json_decref(jwk);

    /* attestd's own JWK (att_jwk_from_cert) imports to the same key; x5c is ignored. */
    struct att_buf der;
    make_cert(p256, "t", &der);
    EXPECT_OK(att_jwk_from_cert(der.data, der.len, "own", ATT_JWS_ES256, &jwk));
    EVP_PKEY *back = NULL;
    enum att_jws_alg alg = ATT_JWS_NONE;
    EXPECT_OK(att_jwk_to_key(jwk, &back, &alg));
    assert_int_equal(alg, ATT_JWS_ES256);
    assert_int_equal(EVP_PKEY_eq(back, p256), 1);
    EVP_PKEY_free(back);
    json_decref(jwk);
    att_buf_cleanup(&der);

    /* RFC 7518 §6.3.1.1 says no leading zeros in "n"; tolerated, not required. */
    BIGNUM *n = NULL;
    uint8_t nbytes[257];
    assert_int_equal(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    nbytes[0] = 0;
    assert_int_equal(BN_bn2binpad(n, nbytes + 1, 256), 256);
    BN_free(n);
    char *n0 = tu_b64u(nbytes, sizeof(nbytes));
    jwk = tu_jwk_rsa(rsa);
    jset(jwk, "n", n0);
    jset(jwk, "e", "AAEAAQ"); /* 00 01 00 01 */
    EXPECT_OK(att_jwk_to_key(jwk, &back, &alg));
    assert_int_equal(EVP_PKEY_eq(back, rsa), 1);
    EVP_PKEY_free(back);
    json_decref(jwk);
    free(n0);

    free(t_rs);
    free(t_ps);
    free(t_ps3072);
    free(t_es256);
    free(t_es384);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa3072);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
}

/* A copy of `base` with member k set to the JSON text v. */
static json_t *with(const json_t *base, const char *k, const char *json_text)
{
    json_t *j = json_deep_copy(base);
    assert_non_null(j);
    jset_json(j, k, json_text);
    return j;
}

static void expect_with(const json_t *base, const char *k, const char *json_text, att_err code)
{
    json_t *j = with(base, k, json_text);
    att_err rc = import(j, NULL);
    if (rc != code) {
        fail_msg("%s = %s: expected %s, got %s", k, json_text, att_err_name(code),
                 att_err_name(rc));
    }
    json_decref(j);
}

static void expect_without(const json_t *base, const char *k, att_err code)
{
    json_t *j = json_deep_copy(base);
    assert_int_equal(json_object_del(j, k), 0);
    EXPECT_ERR(import(j, NULL), code);
    json_decref(j);
}

static void test_jwk_import_refusals_rsa(void **state)
{
    (void)state;
    json_t *rsa = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", a2_n, "e", "AQAB");
    EXPECT_OK(import(rsa, NULL));

    /* Private members: a published key must not carry its private part. */
    static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "k"};
    for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
        expect_with(rsa, priv[i], "\"AQAB\"", ATT_ERR_VALIDATE);
    }
    expect_with(rsa, "oth", "[]", ATT_ERR_VALIDATE);
    expect_with(rsa, "d", "null", ATT_ERR_VALIDATE); /* present is enough */

    /* Key types. */
    expect_with(rsa, "kty", "\"oct\"", ATT_ERR_KEY_TYPE);
    expect_with(rsa, "kty", "\"OKP\"", ATT_ERR_KEY_TYPE);
    expect_with(rsa, "kty", "\"rsa\"", ATT_ERR_KEY_TYPE);
    expect_with(rsa, "kty", "\"\"", ATT_ERR_KEY_TYPE);
    json_t *oct =
        jwk_parse("{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T\"}");
    EXPECT_ERR(import(oct, NULL), ATT_ERR_KEY_TYPE);
    json_decref(oct);

    /* "alg": allow-listed and fitting the key. */
    expect_with(rsa, "alg", "\"HS256\"", ATT_ERR_ALG_UNSUPPORTED);
    expect_with(rsa, "alg", "\"HS512\"", ATT_ERR_ALG_UNSUPPORTED);
    expect_with(rsa, "alg", "\"RS512\"", ATT_ERR_ALG_UNSUPPORTED);
    expect_with(rsa, "alg", "\"PS384\"", ATT_ERR_ALG_UNSUPPORTED);
    expect_with(rsa, "alg", "\"rs256\"", ATT_ERR_ALG_UNSUPPORTED);
    expect_with(rsa, "alg", "\"\"", ATT_ERR_ALG_UNSUPPORTED);
    /* A NUL inside the value (only a json_t built in code can hold one) does not cut it short. */
    json_t *nul = json_deep_copy(rsa);
    assert_int_equal(json_object_set_new(nul, "alg", json_stringn("RS256\0x", 7)), 0);
    EXPECT_ERR(import(nul, NULL), ATT_ERR_ALG_UNSUPPORTED);
    json_decref(nul);
    expect_with(rsa, "alg", "\"none\"", ATT_ERR_ALG_NONE);
    expect_with(rsa, "alg", "\"ES256\"", ATT_ERR_KEY_TYPE);
    expect_with(rsa, "alg", "\"ES384\"", ATT_ERR_KEY_TYPE);
    expect_with(rsa, "alg", "5", ATT_ERR_JSON);
    expect_with(rsa, "alg", "null", ATT_ERR_JSON);

    /* "use" and "key_ops". */
    expect_with(rsa, "use", "\"enc\"", ATT_ERR_VALIDATE);
    expect_with(rsa, "use", "\"SIG\"", ATT_ERR_VALIDATE);
    expect_with(rsa, "use", "1", ATT_ERR_JSON);
    expect_with(rsa, "key_ops", "[\"sign\"]", ATT_ERR_VALIDATE);
    expect_with(rsa, "key_ops", "[]", ATT_ERR_VALIDATE);
    expect_with(rsa, "key_ops", "[\"verify\",\"verify\"]", ATT_ERR_VALIDATE);
    expect_with(rsa, "key_ops", "\"verify\"", ATT_ERR_JSON);
    expect_with(rsa, "key_ops", "[\"verify\",1]", ATT_ERR_JSON);
    expect_with(rsa, "key_ops", "[\"verify\",\"sign\",\"encrypt\",\"decrypt\"]", ATT_OK);

    /* Wrong JSON types and missing members. */
    expect_with(rsa, "n", "1", ATT_ERR_JSON);
    expect_with(rsa, "e", "65537", ATT_ERR_JSON);
    expect_with(rsa, "kty", "[\"RSA\"]", ATT_ERR_JSON);
    expect_without(rsa, "n", ATT_ERR_JSON);
    expect_without(rsa, "e", ATT_ERR_JSON);
    expect_without(rsa, "kty", ATT_ERR_JSON);
    json_t *arr = jwk_parse("[]");
    EXPECT_ERR(import(arr, NULL), ATT_ERR_JSON);
    json_decref(arr);

    /* Strict base64url. */
    char buf[512];
    snprintf(buf, sizeof(buf), "\"%s=\"", "AQAB");
    expect_with(rsa, "e", buf, ATT_ERR_ENCODING);
    expect_with(rsa, "e", "\"AQAB==\"", ATT_ERR_ENCODING);
    expect_with(rsa, "e", "\"AQ+B\"", ATT_ERR_ENCODING);
    expect_with(rsa, "e", "\"AQ B\"", ATT_ERR_ENCODING);
    expect_with(rsa, "e", "\"Ax\"", ATT_ERR_ENCODING); /* non-canonical last symbol */
    struct att_buf nstd;
    att_buf_init(&nstd, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_buf_printf(&nstd, "\"%s\"", a2_n));
    for (size_t i = 0; i < nstd.len; i++) {
        if (nstd.data[i] == '-') {
            nstd.data[i] = '+'; /* standard alphabet */
        }
    }
    expect_with(rsa, "n", att_buf_cstr(&nstd), ATT_ERR_ENCODING);
    att_buf_cleanup(&nstd);

    /* Exponents: odd, > 1, at most 64 bits. */
    expect_with(rsa, "e", "\"AQ\"", ATT_ERR_KEY_TYPE);           /* 1 */
    expect_with(rsa, "e", "\"AA\"", ATT_ERR_KEY_TYPE);           /* 0 */
    expect_with(rsa, "e", "\"\"", ATT_ERR_KEY_TYPE);             /* empty */
    expect_with(rsa, "e", "\"AQAA\"", ATT_ERR_KEY_TYPE);         /* 65536, even */
    expect_with(rsa, "e", "\"Aw\"", ATT_OK);                     /* 3 */
    expect_with(rsa, "e", "\"AQAAAAAAAAAB\"", ATT_ERR_KEY_TYPE); /* 9 octets */
    expect_with(rsa, "e", "\"AAAAAAAAAAEAAQ\"", ATT_OK);         /* 65537 with zero octets */

    json_decref(rsa);
}

/* A modulus of `bits` bits (top bit set, odd), as a JSON string; free() it. */
static char *fake_n(int bits, bool odd)
{
    size_t len = (size_t)(bits + 7) / 8;
    uint8_t *b = calloc(1, len);
    assert_non_null(b);
    memset(b, 0xa5, len);
    b[0] = (uint8_t)(1u << ((bits - 1) % 8));
    b[len - 1] = odd ? 0x01 : 0x02;
    char *s = tu_b64u(b, len);
    free(b);
    struct att_buf q;
    att_buf_init(&q, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_buf_printf(&q, "\"%s\"", s));
    char *out = strdup(att_buf_cstr(&q));
    att_buf_cleanup(&q);
    free(s);
    return out;
}

static void test_jwk_import_rsa_sizes(void **state)
{
    (void)state;
    EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    EVP_PKEY *rsa2047 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2047);
    assert_true(rsa1024 != NULL && rsa2047 != NULL);
    json_t *j = tu_jwk_rsa(rsa1024);
    EXPECT_ERR(import(j, NULL), ATT_ERR_KEY_TYPE);
    json_decref(j);
    j = tu_jwk_rsa(rsa2047);
    EXPECT_ERR(import(j, NULL), ATT_ERR_KEY_TYPE);
    json_decref(j);

    /* Size bounds on the modulus alone (no real key needed to be refused or built). */
    json_t *rsa = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", a2_n, "e", "AQAB");
    const struct {
        int bits;
        bool odd;
        att_err code;
    } cases[] = {
        {2047, true, ATT_ERR_KEY_TYPE},  {2048, true, ATT_OK},
        {2048, false, ATT_ERR_KEY_TYPE}, {8192, true, ATT_OK},
        {8193, true, ATT_ERR_KEY_TYPE},  {16384, true, ATT_ERR_KEY_TYPE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *n = fake_n(cases[i].bits, cases[i].odd);
        expect_with(rsa, "n", n, cases[i].code);
        free(n);
    }
    /* Decoded members are capped (4096 octets): bigger is ATT_ERR_TOO_LARGE. */
    char *huge = fake_n(4097 * 8, true);
    expect_with(rsa, "n", huge, ATT_ERR_TOO_LARGE);
    free(huge);
    json_decref(rsa);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(rsa2047);
}

static void test_jwk_import_refusals_ec(void **state)
{
    (void)state;
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    assert_non_null(p384);
    json_t *ec = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", a3_x, "y", a3_y);
    json_t *ec384 = tu_jwk_ec(p384, "P-384", 48);
    EXPECT_OK(import(ec, NULL));
    EXPECT_OK(import(ec384, NULL));

    expect_with(ec, "d", "\"AQAB\"", ATT_ERR_VALIDATE);
    expect_with(ec384, "d", "\"AQAB\"", ATT_ERR_VALIDATE);

    /* Curves. */
    expect_with(ec, "crv", "\"P-521\"", ATT_ERR_KEY_TYPE);
    expect_with(ec, "crv", "\"secp256k1\"", ATT_ERR_KEY_TYPE);
    expect_with(ec, "crv", "\"p-256\"", ATT_ERR_KEY_TYPE);
    expect_with(ec, "crv", "\"P-384\"", ATT_ERR_KEY_TYPE); /* 32-byte x, y for P-384 */
    expect_with(ec384, "crv", "\"P-256\"", ATT_ERR_KEY_TYPE);
    expect_with(ec, "crv", "256", ATT_ERR_JSON);
    expect_without(ec, "crv", ATT_ERR_JSON);
    expect_without(ec, "x", ATT_ERR_JSON);
    expect_without(ec, "y", ATT_ERR_JSON);
    expect_with(ec, "y", "[]", ATT_ERR_JSON);

    /* Algorithms. */
    expect_with(ec, "alg", "\"ES384\"", ATT_ERR_KEY_TYPE);
    expect_with(ec, "alg", "\"RS256\"", ATT_ERR_KEY_TYPE);
    expect_with(ec, "alg", "\"PS256\"", ATT_ERR_KEY_TYPE);
    expect_with(ec384, "alg", "\"ES256\"", ATT_ERR_KEY_TYPE);
    expect_with(ec, "alg", "\"ES512\"", ATT_ERR_ALG_UNSUPPORTED);
    expect_with(ec, "alg", "\"HS256\"", ATT_ERR_ALG_UNSUPPORTED);
    expect_with(ec, "alg", "\"none\"", ATT_ERR_ALG_NONE);
    expect_with(ec, "use", "\"enc\"", ATT_ERR_VALIDATE);

    /* RFC 7518 §6.2.1.2: x and y are exactly 32 (P-256) / 48 (P-384) octets. */
    struct att_buf x;
    tu_b64u_decode(a3_x, strlen(a3_x), &x);
    char *x31 = tu_b64u(x.data + 1, 31);
    uint8_t x33[33] = {0};
    memcpy(x33 + 1, x.data, 32);
    char *x33s = tu_b64u(x33, sizeof(x33));
    char q[128];
    snprintf(q, sizeof(q), "\"%s\"", x31);
    expect_with(ec, "x", q, ATT_ERR_KEY_TYPE);
    snprintf(q, sizeof(q), "\"%s\"", x33s);
    expect_with(ec, "x", q, ATT_ERR_KEY_TYPE);
    expect_with(ec, "y", q, ATT_ERR_KEY_TYPE);
    expect_with(ec, "x", "\"\"", ATT_ERR_KEY_TYPE);
    snprintf(q, sizeof(q), "\"%s=\"", a3_x);
    expect_with(ec, "x", q, ATT_ERR_ENCODING);
    att_buf_cleanup(&x);
    free(x31);
    free(x33s);

    /* Point not on the curve: flip one byte of y (P-256 and P-384). */
    const json_t *bases[] = {ec, ec384};
    for (size_t b = 0; b < 2; b++) {
        const char *y = json_string_value(json_object_get(bases[b], "y"));
        struct att_buf yb;
        tu_b64u_decode(y, strlen(y), &yb);
        for (size_t i = 0; i < yb.len; i += 5) {
            yb.data[i] ^= 0x01;
            char *ys = tu_b64u(yb.data, yb.len);
            snprintf(q, sizeof(q), "\"%s\"", ys);
            expect_with(bases[b], "y", q, ATT_ERR_KEY_TYPE);
            yb.data[i] ^= 0x01;
            free(ys);
        }
        /* The point at infinity / (0, 0) and coordinates >= p. */
        memset(yb.data, 0, yb.len);
        char *zero = tu_b64u(yb.data, yb.len);
        json_t *z = json_deep_copy(bases[b]);
        jset(z, "x", zero);
        jset(z, "y", zero);
        EXPECT_ERR(import(z, NULL), ATT_ERR_KEY_TYPE);
        memset(yb.data, 0xff, yb.len);
        char *ff = tu_b64u(yb.data, yb.len);
        jset(z, "x", ff);
        EXPECT_ERR(import(z, NULL), ATT_ERR_KEY_TYPE);
        json_decref(z);
        free(zero);
        free(ff);
        att_buf_cleanup(&yb);
    }

    /* Arguments. */
    EVP_PKEY *key = NULL;
    enum att_jws_alg alg = ATT_JWS_NONE;
    EXPECT_ERR(att_jwk_to_key(NULL, &key, &alg), ATT_ERR_ARG);
    EXPECT_ERR(att_jwk_to_key(ec, NULL, &alg), ATT_ERR_ARG);
    EXPECT_ERR(att_jwk_to_key(ec, &key, NULL), ATT_ERR_ARG);

    json_decref(ec);
    json_decref(ec384);
    EVP_PKEY_free(p384);
}

/* ===================================================================== */
/* Self-signed certificates                                              */
/* ===================================================================== */

static char *get_cn(const X509_NAME *name)
{
    char buf[600];
    int n = X509_NAME_get_text_by_NID(name, NID_commonName, buf, sizeof(buf));
    assert_true(n > 0);
    return strdup(buf);
}

/* The one SAN URI of x, or NULL when x has no subjectAltName. */
static char *get_san_uri(X509 *x)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) {
        return NULL;
    }
    assert_int_equal(sk_GENERAL_NAME_num(names), 1);
    GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, 0);
    assert_int_equal(gn->type, GEN_URI);
    const ASN1_IA5STRING *uri = gn->d.uniformResourceIdentifier;
    char *s = strndup((const char *)ASN1_STRING_get0_data(uri), (size_t)ASN1_STRING_length(uri));
    GENERAL_NAMES_free(names);
    return s;
}

static int ext_critical(X509 *x, int nid)
{
    int idx = X509_get_ext_by_NID(x, nid, -1);
    assert_true(idx >= 0);
    return X509_EXTENSION_get_critical(X509_get_ext(x, idx));
}

static void check_cert(EVP_PKEY *key, const char *cn, int sig_nid)
{
    struct att_buf der;
    make_cert(key, cn, &der);
    X509 *x = parse(&der);

    char *subject = get_cn(X509_get_subject_name(x));
    char *issuer = get_cn(X509_get_issuer_name(x));
    assert_string_equal(subject, cn);
    assert_string_equal(issuer, cn);
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    assert_int_equal(X509_verify(x, key), 1);
    assert_int_equal(X509_get_signature_nid(x), sig_nid);

    /* RFC 5280 §4.2.1.9 and §4.2.1.3. */
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(ext_critical(x, NID_basic_constraints), 1);
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
    assert_non_null(bc);
    assert_int_equal(bc->ca, 0);
    BASIC_CONSTRAINTS_free(bc);
    assert_int_equal(ext_critical(x, NID_key_usage), 1);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    assert_int_equal(ext_critical(x, NID_subject_key_identifier), 0);
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
    assert_non_null(ski);
    assert_int_equal(ASN1_STRING_length(ski), 20);

    /* RFC 5280 §4.1.2.2: positive, 16 octets. */
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER);
    assert_int_equal(ASN1_STRING_length(serial), 16);

    /* Validity: [NOW, NOW + 365 days]. */
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), (time_t)NOW), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), (time_t)(NOW + 365 * 86400)), 0);

    free(subject);
    free(issuer);
    X509_free(x);
    att_buf_cleanup(&der);
}

static void test_selfsigned_rsa(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    EXPECT_OK(att_signer_generate(ATT_JWS_RS256, &key));
    check_cert(key, "https://attest.example", NID_sha256WithRSAEncryption);
    check_cert(key, "attestd test key", NID_sha256WithRSAEncryption);
    EVP_PKEY_free(key);
}

static void test_selfsigned_ec(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &key));
    check_cert(key, "https://attest.example", NID_ecdsa_with_SHA256);
    EVP_PKEY_free(key);
}

static void test_selfsigned_san(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    struct att_buf der;
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &key));

    /* Short URL: CN = URL, SAN URI = URL. */
    make_cert(key, "HTTPS://attest.example", &der);
    X509 *x = parse(&der);
    char *uri = get_san_uri(x);
    assert_string_equal(uri, "HTTPS://attest.example");
    free(uri);
    X509_free(x);
    att_buf_cleanup(&der);

    /* Not a URL: no SAN. */
    make_cert(key, "attestd", &der);
    x = parse(&der);
    assert_null(get_san_uri(x));
    X509_free(x);
    att_buf_cleanup(&der);

    /* Longer than ub-common-name (64): CN truncated, SAN holds the whole URL. */
    char url[512];
    memset(url, 'a', sizeof(url) - 1);
    url[sizeof(url) - 1] = '\0';
    memcpy(url, "https://", 8);
    make_cert(key, url, &der);
    x = parse(&der);
    char *cn = get_cn(X509_get_subject_name(x));
    assert_int_equal(strlen(cn), 64);
    assert_int_equal(strncmp(cn, url, 64), 0);
    uri = get_san_uri(x);
    assert_string_equal(uri, url);
    assert_int_equal(X509_verify(x, key), 1);
    free(cn);
    free(uri);
    X509_free(x);
    att_buf_cleanup(&der);

    /* A comma cannot add a second name (no config-string parsing). */
    const char *tricky = "https://a.example/x,URI:https://evil.example";
    make_cert(key, tricky, &der);
    x = parse(&der);
    uri = get_san_uri(x); /* asserts exactly one entry */
    assert_string_equal(uri, tricky);
    free(uri);
    X509_free(x);
    att_buf_cleanup(&der);
    EVP_PKEY_free(key);
}

static void test_selfsigned_serials_differ(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    struct att_buf a;
    struct att_buf b;
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &key));
    make_cert(key, "t", &a);
    make_cert(key, "t", &b);
    X509 *xa = parse(&a);
    X509 *xb = parse(&b);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(xa), X509_get0_serialNumber(xb)),
                         0);
    X509_free(xa);
    X509_free(xb);
    att_buf_cleanup(&a);
    att_buf_cleanup(&b);
    EVP_PKEY_free(key);
}

static void test_selfsigned_errors(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    struct att_buf der;
    char too_long[513];
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &key));
    att_buf_init(&der, ATT_BUF_DEFAULT_MAX);
    memset(too_long, 'a', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';

    EXPECT_ERR(att_x509_self_signed(NULL, "t", NOW, 1, &der), ATT_ERR_ARG);
    EXPECT_ERR(att_x509_self_signed(key, NULL, NOW, 1, &der), ATT_ERR_ARG);
    EXPECT_ERR(att_x509_self_signed(key, "", NOW, 1, &der), ATT_ERR_ARG);
    EXPECT_ERR(att_x509_self_signed(key, too_long, NOW, 1, &der), ATT_ERR_ARG);
    EXPECT_ERR(att_x509_self_signed(key, "caf\xc3\xa9", NOW, 1, &der), ATT_ERR_ARG);
    EXPECT_ERR(att_x509_self_signed(key, "a\nb", NOW, 1, &der), ATT_ERR_ARG);
    EXPECT_ERR(att_x509_self_signed(key, "t", NOW, 0, &der), ATT_ERR_ARG);
    EXPECT_ERR(att_x509_self_signed(key, "t", NOW, -1, &der), ATT_ERR_ARG);
    EXPECT_ERR(att_x509_self_signed(key, "t", -1, 1, &der), ATT_ERR_ARG);
    EXPECT_ERR(att_x509_self_signed(key, "t", INT64_MAX - 10, 1, &der), ATT_ERR_ARG);
    EXPECT_ERR(att_x509_self_signed(key, "t", NOW, 1, NULL), ATT_ERR_ARG);
    assert_int_equal(der.len, 0);
    too_long[511] = '\0'; /* 511 characters is the maximum */
    EXPECT_OK(att_x509_self_signed(key, too_long, NOW, 1, &der));
    att_buf_cleanup(&der);
    EVP_PKEY_free(key);
}

/* ===================================================================== */
/* Registered claims                                                     */
/* ===================================================================== */

static void test_claims(void **state)
{
    (void)state;
    json_t *c = json_pack("{s:s}", "nonce", "n-1");
    EXPECT_OK(att_claims_set_registered(c, "https://attest.example", NOW, 28800));
    assert_string_equal(jstr(c, "iss"), "https://attest.example");
    assert_int_equal(json_integer_value(json_object_get(c, "iat")), NOW);
    assert_int_equal(json_integer_value(json_object_get(c, "nbf")), NOW);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), NOW + 28800);
    assert_string_equal(jstr(c, "nonce"), "n-1");
    /* docs/reference/maa-tokens.md §2.2: 64 lowercase hex characters. */
    const char *jti = jstr(c, "jti");
    assert_int_equal(strlen(jti), 64);
    for (size_t i = 0; i < 64; i++) {
        assert_true(isxdigit((unsigned char)jti[i]) && !isupper((unsigned char)jti[i]));
    }
    char *first = strdup(jti);
    EXPECT_OK(att_claims_set_registered(c, "https://attest.example", NOW, 28800));
    assert_string_not_equal(jstr(c, "jti"), first);
    assert_int_equal(json_object_size(c), 6);
    free(first);
    json_decref(c);
}

static void test_claims_errors(void **state)
{
    (void)state;
    json_t *c = json_object();
    json_t *arr = json_array();
    EXPECT_ERR(att_claims_set_registered(c, "https://attest.example/", NOW, 1), ATT_ERR_ARG);
    EXPECT_ERR(att_claims_set_registered(c, "", NOW, 1), ATT_ERR_ARG);
    EXPECT_ERR(att_claims_set_registered(c, NULL, NOW, 1), ATT_ERR_ARG);
    EXPECT_ERR(att_claims_set_registered(NULL, "i", NOW, 1), ATT_ERR_ARG);
    EXPECT_ERR(att_claims_set_registered(arr, "i", NOW, 1), ATT_ERR_ARG);
    EXPECT_ERR(att_claims_set_registered(c, "i", NOW, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_claims_set_registered(c, "i", NOW, -5), ATT_ERR_ARG);
    EXPECT_ERR(att_claims_set_registered(c, "i", -1, 1), ATT_ERR_ARG);
    EXPECT_ERR(att_claims_set_registered(c, "i", INT64_MAX - 5, 10), ATT_ERR_ARG);
    EXPECT_ERR(att_claims_set_registered(c, "\xff", NOW, 1), ATT_ERR_ARG);
    assert_int_equal(json_object_size(c), 0); /* untouched */
    json_decref(c);
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwk_rsa),
        cmocka_unit_test(test_jwk_ec),
        cmocka_unit_test(test_jwk_errors),
        cmocka_unit_test(test_jwk_import_rfc7515),
        cmocka_unit_test(test_jwk_import_generated),
        cmocka_unit_test(test_jwk_import_refusals_rsa),
        cmocka_unit_test(test_jwk_import_rsa_sizes),
        cmocka_unit_test(test_jwk_import_refusals_ec),
        cmocka_unit_test(test_selfsigned_rsa),
        cmocka_unit_test(test_selfsigned_ec),
        cmocka_unit_test(test_selfsigned_san),
        cmocka_unit_test(test_selfsigned_serials_differ),
        cmocka_unit_test(test_selfsigned_errors),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_claims_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
