/*
 * test_jwk.c - unit tests for src/token/jwk.c, src/token/claims.c and the
 * certificates of src/x509/selfsigned.c that the JWKs are built from.
 *
 * Keys rebuilt from the JWK members with plain OpenSSL must equal the
 * original (EVP_PKEY_eq); certificates are read back with OpenSSL's parser.
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
    /* MAA-API.md §2.2: 64 lowercase hex characters. */
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
