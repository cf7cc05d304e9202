/*
 * test_jws.c - unit tests for src/token/jws.c (compact JWS, RFC 7515).
 *
 * Covers: round trips through the signer, the RFC 7515 appendix A vectors,
 * independent checks with plain OpenSSL in both directions, algorithm
 * pinning (RFC 8725 §3.1), and malformed input with the specific error
 * code for each case (tampering, truncation at every offset, dots, empty
 * parts, padding, duplicate header names, size cap).
 */
#include "jose_testutil.h"

#include <openssl/rsa.h>

#include "signer/signer.h"
#include "token/jws.h"

/* ---- RFC 7515 appendix A vectors ---- */

/* A.2.1 RSA key (public part) and A.2 example token. */
static const char a2_n[] =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0"
    "Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS"
    "5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJ"
    "H7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
static const char a2_e[] = "AQAB";
static const char a_payload_b64u[] =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
static const char a_payload[] =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
static const char a2_token[] =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2F"
    "p5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQB"
    "MHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeY"
    "I2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
/* A.3.1 EC P-256 key (public part) and A.3 example token. */
static const char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
static const char a3_token[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
/* A.5 unsecured JWS. */
static const char a5_token[] = "eyJhbGciOiJub25lIn0."
                               "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
                               "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";

/* ---- fixture: keys made once per run ---- */

struct keys {
    struct att_signer *signer; /* "rsa" (RS256) and "ec" (ES256) */
    EVP_PKEY *rsa;
    EVP_PKEY *ec;
    EVP_PKEY *rsa1024;
    EVP_PKEY *p384;
    EVP_PKEY *ed25519;
};
static struct keys K;

static int setup(void **state)
{
    (void)state;
    memset(&K, 0, sizeof(K));
    if (att_signer_new(&K.signer) != ATT_OK ||
        att_signer_generate(ATT_JWS_RS256, &K.rsa) != ATT_OK ||
        att_signer_generate(ATT_JWS_ES256, &K.ec) != ATT_OK) {
        return -1;
    }
    K.rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    K.p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    K.ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (K.rsa1024 == NULL || K.p384 == NULL || K.ed25519 == NULL) {
        return -1;
    }
    /* The signer takes one reference; the tests keep theirs for verifying. */
    if (EVP_PKEY_up_ref(K.rsa) != 1 || EVP_PKEY_up_ref(K.ec) != 1 ||
        att_signer_add(K.signer, "rsa", ATT_JWS_RS256, K.rsa) != ATT_OK ||
        att_signer_add(K.signer, "ec", ATT_JWS_ES256, K.ec) != ATT_OK) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    att_signer_free(K.signer);
    EVP_PKEY_free(K.rsa);
    EVP_PKEY_free(K.ec);
    EVP_PKEY_free(K.rsa1024);
    EVP_PKEY_free(K.p384);
    EVP_PKEY_free(K.ed25519);
    return 0;
}

static const char claims[] = "{\"iss\":\"https://attest.example\",\"nonce\":\"abc\"}";

/* A token signed by the signer with kid "rsa" or "ec"; free() it. */
static char *sign(const char *kid, const char *extra_json)
{
    json_t *extra = NULL;
    if (extra_json != NULL) {
        extra = json_loads(extra_json, 0, NULL);
        assert_non_null(extra);
    }
    struct att_buf out;
    att_buf_init(&out, ATT_JWS_MAX);
    EXPECT_OK(att_jws_sign(K.signer, kid, extra, claims, strlen(claims), &out));
    json_decref(extra);
    char *t = strdup(att_buf_cstr(&out));
    assert_non_null(t);
    att_buf_cleanup(&out);
    return t;
}

static att_err verify(const char *token, EVP_PKEY *key, enum att_jws_alg alg)
{
    struct att_jws jws;
    memset(&jws, 0, sizeof(jws));
    att_err rc = att_jws_verify(token, strlen(token), key, alg, &jws);
    if (rc == ATT_OK) {
        att_jws_cleanup(&jws);
    }
    return rc;
}

static const char *hdr_str(const struct att_jws *jws, const char *name)
{
    return json_string_value(json_object_get(jws->header, name));
}

/* ===================================================================== */

static void test_alg_names(void **state)
{
    (void)state;
    enum att_jws_alg alg = ATT_JWS_NONE;
    assert_string_equal(att_jws_alg_name(ATT_JWS_RS256), "RS256");
    assert_string_equal(att_jws_alg_name(ATT_JWS_ES256), "ES256");
    assert_string_equal(att_jws_alg_name(ATT_JWS_NONE), "none");
    assert_non_null(att_jws_alg_name((enum att_jws_alg)99));
    EXPECT_OK(att_jws_alg_parse("RS256", &alg));
    assert_int_equal(alg, ATT_JWS_RS256);
    EXPECT_OK(att_jws_alg_parse("ES256", &alg));
    assert_int_equal(alg, ATT_JWS_ES256);
    EXPECT_OK(att_jws_alg_parse("none", &alg));
    assert_int_equal(alg, ATT_JWS_NONE);
    assert_string_equal(att_jws_alg_name(ATT_JWS_PS256), "PS256");
    assert_string_equal(att_jws_alg_name(ATT_JWS_ES384), "ES384");
    EXPECT_OK(att_jws_alg_parse("PS256", &alg));
    assert_int_equal(alg, ATT_JWS_PS256);
    EXPECT_OK(att_jws_alg_parse("ES384", &alg));
    assert_int_equal(alg, ATT_JWS_ES384);
    /* Existing values keep their numbers (appended at the end of the enum). */
    assert_int_equal(ATT_JWS_NONE, 0);
    assert_int_equal(ATT_JWS_RS256, 1);
    assert_int_equal(ATT_JWS_ES256, 2);
    /* Only RS256 and ES256 are made by attestd's signer. */
    assert_true(att_jws_alg_can_sign(ATT_JWS_RS256));
    assert_true(att_jws_alg_can_sign(ATT_JWS_ES256));
    assert_false(att_jws_alg_can_sign(ATT_JWS_PS256));
    assert_false(att_jws_alg_can_sign(ATT_JWS_ES384));
    assert_false(att_jws_alg_can_sign(ATT_JWS_NONE));
    /* Not on the allow-list: HMAC, other hash sizes. */
    static const char *const refused[] = {"HS256", "HS384", "HS512", "RS384", "RS512",
                                          "PS384", "PS512", "ES512", "EdDSA", "ES256K"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        EXPECT_ERR(att_jws_alg_parse(refused[i], &alg), ATT_ERR_ALG_UNSUPPORTED);
    }
    /* RFC 7515 §4.1.1: case-sensitive. */
    EXPECT_ERR(att_jws_alg_parse("rs256", &alg), ATT_ERR_ALG_UNSUPPORTED);
    EXPECT_ERR(att_jws_alg_parse("None", &alg), ATT_ERR_ALG_UNSUPPORTED);
    EXPECT_ERR(att_jws_alg_parse("HS256", &alg), ATT_ERR_ALG_UNSUPPORTED);
    EXPECT_ERR(att_jws_alg_parse("", &alg), ATT_ERR_ALG_UNSUPPORTED);
    EXPECT_ERR(att_jws_alg_parse(NULL, &alg), ATT_ERR_ARG);
}

static void test_alg_for_key(void **state)
{
    (void)state;
    enum att_jws_alg alg = ATT_JWS_NONE;
    EXPECT_OK(att_jws_alg_for_key(K.rsa, &alg));
    assert_int_equal(alg, ATT_JWS_RS256);
    EXPECT_OK(att_jws_alg_for_key(K.ec, &alg));
    assert_int_equal(alg, ATT_JWS_ES256);
    EXPECT_ERR(att_jws_alg_for_key(K.rsa1024, &alg), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jws_alg_for_key(K.ed25519, &alg), ATT_ERR_KEY_TYPE);
    assert_int_equal(alg, ATT_JWS_ES256); /* untouched on failure */
    EXPECT_OK(att_jws_alg_for_key(K.p384, &alg));
    assert_int_equal(alg, ATT_JWS_ES384);
    EXPECT_ERR(att_jws_alg_for_key(NULL, &alg), ATT_ERR_ARG);
}

static void test_key_fits(void **state)
{
    (void)state;
    EXPECT_OK(att_jws_key_fits(K.rsa, ATT_JWS_RS256));
    EXPECT_OK(att_jws_key_fits(K.rsa, ATT_JWS_PS256));
    EXPECT_ERR(att_jws_key_fits(K.rsa, ATT_JWS_ES256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jws_key_fits(K.rsa, ATT_JWS_ES384), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jws_key_fits(K.rsa1024, ATT_JWS_RS256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jws_key_fits(K.rsa1024, ATT_JWS_PS256), ATT_ERR_KEY_TYPE);
    EXPECT_OK(att_jws_key_fits(K.ec, ATT_JWS_ES256));
    EXPECT_ERR(att_jws_key_fits(K.ec, ATT_JWS_ES384), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jws_key_fits(K.ec, ATT_JWS_PS256), ATT_ERR_KEY_TYPE);
    EXPECT_OK(att_jws_key_fits(K.p384, ATT_JWS_ES384));
    EXPECT_ERR(att_jws_key_fits(K.p384, ATT_JWS_ES256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jws_key_fits(K.p384, ATT_JWS_RS256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jws_key_fits(K.ed25519, ATT_JWS_ES256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jws_key_fits(K.ed25519, ATT_JWS_PS256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(att_jws_key_fits(K.rsa, ATT_JWS_NONE), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_key_fits(K.rsa, (enum att_jws_alg)99), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_key_fits(NULL, ATT_JWS_RS256), ATT_ERR_ARG);
}

/* Sign, check the exact protected header bytes, verify, decode. */
static void roundtrip(const char *kid, EVP_PKEY *key, enum att_jws_alg alg)
{
    char *t = sign(kid, "{\"jku\":\"https://attest.example/certs\",\"typ\":\"JWT\"}");
    char expect_hdr[128];
    snprintf(expect_hdr, sizeof(expect_hdr),
             "{\"alg\":\"%s\",\"kid\":\"%s\",\"jku\":\"https://attest.example/certs\","
             "\"typ\":\"JWT\"}",
             att_jws_alg_name(alg), kid);
    char *h = tu_b64u_str(expect_hdr);
    char *p = tu_b64u_str(claims);
    assert_int_equal(strncmp(t, h, strlen(h)), 0);
    assert_int_equal(t[strlen(h)], '.');
    assert_int_equal(strncmp(t + strlen(h) + 1, p, strlen(p)), 0);

    struct att_jws jws;
    memset(&jws, 0, sizeof(jws));
    EXPECT_OK(att_jws_verify(t, strlen(t), key, alg, &jws));
    assert_string_equal(hdr_str(&jws, "alg"), att_jws_alg_name(alg));
    assert_string_equal(hdr_str(&jws, "kid"), kid);
    assert_string_equal(hdr_str(&jws, "jku"), "https://attest.example/certs");
    assert_string_equal(hdr_str(&jws, "typ"), "JWT");
    assert_int_equal(jws.payload.len, strlen(claims));
    assert_memory_equal(jws.payload.data, claims, strlen(claims));
    att_jws_cleanup(&jws);
    assert_null(jws.header);
    att_jws_cleanup(&jws); /* twice is harmless */

    EXPECT_OK(att_jws_decode_unverified(t, strlen(t), &jws));
    assert_string_equal(hdr_str(&jws, "kid"), kid);
    assert_memory_equal(jws.payload.data, claims, strlen(claims));
    att_jws_cleanup(&jws);
    free(h);
    free(p);
    free(t);
}

static void test_roundtrip_rs256(void **state)
{
    (void)state;
    roundtrip("rsa", K.rsa, ATT_JWS_RS256);
}

static void test_roundtrip_es256(void **state)
{
    (void)state;
    roundtrip("ec", K.ec, ATT_JWS_ES256);
}

static void test_sign_args(void **state)
{
    (void)state;
    struct att_buf out;
    att_buf_init(&out, ATT_JWS_MAX);
    json_t *with_alg = json_pack("{s:s}", "alg", "none");
    json_t *with_kid = json_pack("{s:s}", "kid", "other");
    json_t *array = json_array();

    EXPECT_ERR(att_jws_sign(K.signer, "rsa", with_alg, "x", 1, &out), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_sign(K.signer, "rsa", with_kid, "x", 1, &out), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_sign(K.signer, "rsa", array, "x", 1, &out), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_sign(K.signer, "missing", NULL, "x", 1, &out), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_jws_sign(K.signer, "rsa", NULL, "", 0, &out), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_sign(K.signer, "rsa", NULL, NULL, 1, &out), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_sign(NULL, "rsa", NULL, "x", 1, &out), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_sign(K.signer, NULL, NULL, "x", 1, &out), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_sign_none(with_alg, "x", 1, &out), ATT_ERR_ARG);
    assert_int_equal(out.len, 0); /* nothing written on failure */
    /* The caller's header is not modified. */
    assert_int_equal(json_object_size(with_kid), 1);

    /* No extra header: exactly {"alg","kid"}. */
    EXPECT_OK(att_jws_sign(K.signer, "ec", NULL, "x", 1, &out));
    char *h = tu_b64u_str("{\"alg\":\"ES256\",\"kid\":\"ec\"}");
    assert_int_equal(strncmp(att_buf_cstr(&out), h, strlen(h)), 0);
    free(h);

    /* Payload too large for the token cap. */
    size_t big = ATT_JWS_MAX;
    char *payload = calloc(1, big);
    assert_non_null(payload);
    att_buf_reset(&out);
    EXPECT_ERR(att_jws_sign(K.signer, "ec", NULL, payload, big, &out), ATT_ERR_TOO_LARGE);
    free(payload);
    json_decref(with_alg);
    json_decref(with_kid);
    json_decref(array);
    att_buf_cleanup(&out);
}

/*
 * A header encoded once signs like att_jws_sign (same header and payload parts, a verifying
 * signature), and is refused for a key whose algorithm it does not name.
 */
static void test_sign_encoded(void **state)
{
    (void)state;
    struct att_jws_header hdr;
    struct att_buf out;
    json_t *extra = json_pack("{s:s,s:s}", "jku", "https://a.example/certs", "typ", "JWT");
    att_buf_init(&out, ATT_JWS_MAX);
    EXPECT_OK(att_jws_header_encode(K.signer, "rsa", extra, &hdr));
    assert_int_equal(hdr.alg, ATT_JWS_RS256);
    for (int i = 0; i < 2; i++) { /* reusable */
        att_buf_reset(&out);
        EXPECT_OK(att_jws_sign_encoded(K.signer, "rsa", &hdr, claims, strlen(claims), &out));
        EXPECT_OK(verify(att_buf_cstr(&out), K.rsa, ATT_JWS_RS256));
    }
    char *plain = sign("rsa", "{\"jku\":\"https://a.example/certs\",\"typ\":\"JWT\"}");
    assert_string_equal(att_buf_cstr(&out), plain); /* RS256 is deterministic */
    free(plain);

    /* The key "ec" is ES256: a header naming RS256 must not sign with it. */
    att_buf_reset(&out);
    EXPECT_ERR(att_jws_sign_encoded(K.signer, "ec", &hdr, claims, strlen(claims), &out),
               ATT_ERR_ARG);
    EXPECT_ERR(att_jws_sign_encoded(K.signer, "missing", &hdr, claims, strlen(claims), &out),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_jws_sign_encoded(K.signer, "rsa", NULL, claims, strlen(claims), &out),
               ATT_ERR_ARG);
    EXPECT_ERR(att_jws_sign_encoded(K.signer, "rsa", &hdr, "", 0, &out), ATT_ERR_ARG);
    assert_int_equal(out.len, 0);
    att_jws_header_cleanup(&hdr);

    EXPECT_ERR(att_jws_header_encode(K.signer, "missing", extra, &hdr), ATT_ERR_NOT_FOUND);
    att_jws_header_cleanup(&hdr);
    EXPECT_ERR(att_jws_header_encode(NULL, "rsa", extra, &hdr), ATT_ERR_ARG);
    att_jws_header_cleanup(&hdr);
    json_decref(extra);
    att_buf_cleanup(&out);
}

/* ---- independent checks against plain OpenSSL ---- */

/* Split a token at its last dot; returns the signing input length. */
static size_t split_sig(const char *t, struct att_buf *sig)
{
    const char *dot = strrchr(t, '.');
    assert_non_null(dot);
    tu_b64u_decode(dot + 1, strlen(dot + 1), sig);
    return (size_t)(dot - t);
}

static void test_openssl_verifies_rs256(void **state)
{
    (void)state;
    char *t = sign("rsa", NULL);
    struct att_buf sig;
    size_t input_len = split_sig(t, &sig);
    assert_int_equal(sig.len, 256);

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    assert_int_equal(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, K.rsa), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_DigestVerify(md, sig.data, sig.len, (const unsigned char *)t, input_len),
                     1);
    EVP_MD_CTX_free(md);
    att_buf_cleanup(&sig);
    free(t);
}

static void test_openssl_verifies_es256(void **state)
{
    (void)state;
    char *t = sign("ec", NULL);
    struct att_buf sig;
    size_t input_len = split_sig(t, &sig);
    assert_int_equal(sig.len, 64);
    size_t der_len = 0;
    unsigned char *der = tu_rs_to_der(sig.data, &der_len);

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, K.ec), 1);
    assert_int_equal(EVP_DigestVerify(md, der, der_len, (const unsigned char *)t, input_len), 1);
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    att_buf_cleanup(&sig);
    free(t);
}

/* The other direction: OpenSSL signs (DER), we build the token and verify it. */
static void test_verifies_openssl_es256(void **state)
{
    (void)state;
    char *h = tu_b64u_str("{\"alg\":\"ES256\"}");
    char *p = tu_b64u_str(claims);
    char input[512];
    snprintf(input, sizeof(input), "%s.%s", h, p);

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t der_len = sizeof(der);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, K.ec), 1);
    assert_int_equal(EVP_DigestSign(md, der, &der_len, (const unsigned char *)input, strlen(input)),
                     1);
    EVP_MD_CTX_free(md);
    uint8_t rs[64];
    tu_der_to_rs(der, der_len, rs);
    char *s = tu_b64u(rs, sizeof(rs));
    char *t = tu_join3(h, p, s);
    EXPECT_OK(verify(t, K.ec, ATT_JWS_ES256));
    /* The DER form itself is not a JOSE signature. */
    char *sd = tu_b64u(der, der_len);
    char *td = tu_join3(h, p, sd);
    EXPECT_ERR(verify(td, K.ec, ATT_JWS_ES256), ATT_ERR_SIGNATURE);
    free(h);
    free(p);
    free(s);
    free(t);
    free(sd);
    free(td);
}

static void test_rfc7515_vectors(void **state)
{
    (void)state;
    EVP_PKEY *a2 = tu_rsa_from_ne(a2_n, a2_e);
    EVP_PKEY *a3 = tu_ec_from_xy(a3_x, a3_y);
    struct att_jws jws;
    memset(&jws, 0, sizeof(jws));

    EXPECT_OK(att_jws_verify(a2_token, strlen(a2_token), a2, ATT_JWS_RS256, &jws));
    assert_string_equal(hdr_str(&jws, "alg"), "RS256");
    assert_int_equal(jws.payload.len, strlen(a_payload));
    assert_memory_equal(jws.payload.data, a_payload, strlen(a_payload));
    att_jws_cleanup(&jws);

    EXPECT_OK(att_jws_verify(a3_token, strlen(a3_token), a3, ATT_JWS_ES256, &jws));
    assert_memory_equal(jws.payload.data, a_payload, strlen(a_payload));
    att_jws_cleanup(&jws);

    /* Right token, wrong key. */
    EXPECT_ERR(verify(a2_token, K.rsa, ATT_JWS_RS256), ATT_ERR_SIGNATURE);
    EXPECT_ERR(verify(a3_token, K.ec, ATT_JWS_ES256), ATT_ERR_SIGNATURE);
    /* Cross-pinning. */
    EXPECT_ERR(verify(a2_token, a3, ATT_JWS_ES256), ATT_ERR_ALG_MISMATCH);
    EXPECT_ERR(verify(a3_token, a3, ATT_JWS_RS256), ATT_ERR_ALG_MISMATCH);

    /* A.5: unsecured; decodes, never verifies. */
    EXPECT_ERR(verify(a5_token, a2, ATT_JWS_RS256), ATT_ERR_ALG_NONE);
    EXPECT_OK(att_jws_decode_unverified(a5_token, strlen(a5_token), &jws));
    assert_string_equal(hdr_str(&jws, "alg"), "none");
    assert_memory_equal(jws.payload.data, a_payload, strlen(a_payload));
    att_jws_cleanup(&jws);
    assert_int_equal(strncmp(a2_token + 21, a_payload_b64u, strlen(a_payload_b64u)), 0);
    EVP_PKEY_free(a2);
    EVP_PKEY_free(a3);
}

/* ---- algorithm pinning (RFC 8725 §3.1) ---- */

static void test_alg_none(void **state)
{
    (void)state;
    struct att_buf out;
    att_buf_init(&out, ATT_JWS_MAX);
    json_t *typ = json_pack("{s:s}", "typ", "JWT");
    EXPECT_OK(att_jws_sign_none(typ, claims, strlen(claims), &out));
    json_decref(typ);
    const char *t = att_buf_cstr(&out);
    char *h = tu_b64u_str("{\"alg\":\"none\",\"typ\":\"JWT\"}");
    assert_int_equal(strncmp(t, h, strlen(h)), 0);
    free(h);
    assert_int_equal(t[out.len - 1], '.'); /* RFC 7515 A.5: empty signature */

    EXPECT_ERR(verify(t, K.rsa, ATT_JWS_RS256), ATT_ERR_ALG_NONE);
    EXPECT_ERR(verify(t, K.ec, ATT_JWS_ES256), ATT_ERR_ALG_NONE);
    struct att_jws jws;
    memset(&jws, 0, sizeof(jws));
    EXPECT_OK(att_jws_decode_unverified(t, out.len, &jws));
    assert_string_equal(hdr_str(&jws, "alg"), "none");
    assert_memory_equal(jws.payload.data, claims, strlen(claims));
    att_jws_cleanup(&jws);

    /* "none" with a signature attached is still "none". */
    char *t2 = tu_token("{\"alg\":\"none\"}", claims, "c2ln");
    EXPECT_ERR(verify(t2, K.rsa, ATT_JWS_RS256), ATT_ERR_ALG_NONE);
    free(t2);
    /* A caller cannot pin "none". */
    EXPECT_ERR(verify(t, K.rsa, ATT_JWS_NONE), ATT_ERR_ARG);
    att_buf_cleanup(&out);
}

static void test_alg_mismatch(void **state)
{
    (void)state;
    char *rs = sign("rsa", NULL);
    char *es = sign("ec", NULL);
    EXPECT_ERR(verify(rs, K.ec, ATT_JWS_ES256), ATT_ERR_ALG_MISMATCH);
    EXPECT_ERR(verify(rs, K.rsa, ATT_JWS_ES256), ATT_ERR_ALG_MISMATCH);
    EXPECT_ERR(verify(es, K.rsa, ATT_JWS_RS256), ATT_ERR_ALG_MISMATCH);
    EXPECT_ERR(verify(es, K.ec, ATT_JWS_RS256), ATT_ERR_ALG_MISMATCH);
    free(rs);
    free(es);
}

static void test_key_type(void **state)
{
    (void)state;
    char *rs = sign("rsa", NULL);
    char *es = sign("ec", NULL);
    EXPECT_ERR(verify(rs, K.ec, ATT_JWS_RS256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(verify(rs, K.rsa1024, ATT_JWS_RS256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(verify(rs, K.ed25519, ATT_JWS_RS256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(verify(es, K.rsa, ATT_JWS_ES256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(verify(es, K.p384, ATT_JWS_ES256), ATT_ERR_KEY_TYPE);
    free(rs);
    free(es);
}

static void test_alg_unsupported(void **state)
{
    (void)state;
    static const char *const headers[] = {
        "{\"alg\":\"HS256\"}",   "{\"alg\":\"PS384\"}", "{\"alg\":\"RS256 \"}",
        "{\"alg\":\"rs256\"}",   "{\"alg\":\"None\"}",  "{\"alg\":\"NONE\"}",
        "{\"typ\":\"JWT\"}",     "{\"alg\":256}",       "{\"alg\":null}",
        "{\"alg\":[\"RS256\"]}", "{\"alg\":{}}",        "{\"alg\":\"\"}",
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        char *t = tu_token(headers[i], claims, "c2ln");
        EXPECT_ERR(verify(t, K.rsa, ATT_JWS_RS256), ATT_ERR_ALG_UNSUPPORTED);
        free(t);
    }
}

/* ---- PS256 and ES384 (verification only, signed here with plain OpenSSL) ---- */

static void test_ps256(void **state)
{
    (void)state;
    static const char hdr[] = "{\"alg\":\"PS256\",\"kid\":\"k1\"}";
    char *t = tu_sign_token(K.rsa, TU_PS256, hdr, claims);
    struct att_jws jws;
    memset(&jws, 0, sizeof(jws));
    EXPECT_OK(att_jws_verify(t, strlen(t), K.rsa, ATT_JWS_PS256, &jws));
    assert_string_equal(hdr_str(&jws, "alg"), "PS256");
    assert_int_equal(jws.payload.len, strlen(claims));
    assert_memory_equal(jws.payload.data, claims, strlen(claims));
    att_jws_cleanup(&jws);
    /* PSS is randomised: a second signature differs and verifies too. */
    char *t2 = tu_sign_token(K.rsa, TU_PS256, hdr, claims);
    assert_string_not_equal(t, t2);
    EXPECT_OK(verify(t2, K.rsa, ATT_JWS_PS256));

    /* Pinning: an RS256 key never takes a PS256 token, nor the reverse. */
    EXPECT_ERR(verify(t, K.rsa, ATT_JWS_RS256), ATT_ERR_ALG_MISMATCH);
    char *rs = sign("rsa", NULL);
    EXPECT_ERR(verify(rs, K.rsa, ATT_JWS_PS256), ATT_ERR_ALG_MISMATCH);
    /* A PKCS#1 v1.5 signature under a "PS256" header is not a PSS signature. */
    struct tu_sig_spec pkcs1 = TU_RS256;
    char *t_v15 = tu_sign_token(K.rsa, pkcs1, hdr, claims);
    EXPECT_ERR(verify(t_v15, K.rsa, ATT_JWS_PS256), ATT_ERR_SIGNATURE);
    /* RFC 7518 §3.5: the salt is exactly the hash size; 20 or 0 octets are refused. */
    struct tu_sig_spec salt20 = {EVP_sha256, 20, 0};
    struct tu_sig_spec salt0 = {EVP_sha256, 0, 0};
    char *t20 = tu_sign_token(K.rsa, salt20, hdr, claims);
    char *t0 = tu_sign_token(K.rsa, salt0, hdr, claims);
    EXPECT_ERR(verify(t20, K.rsa, ATT_JWS_PS256), ATT_ERR_SIGNATURE);
    EXPECT_ERR(verify(t0, K.rsa, ATT_JWS_PS256), ATT_ERR_SIGNATURE);
    /* MGF1 must use SHA-256 too: SHA-384 digest with PSS is another algorithm. */
    struct tu_sig_spec sha384 = {EVP_sha384, 32, 0};
    char *t384 = tu_sign_token(K.rsa, sha384, hdr, claims);
    EXPECT_ERR(verify(t384, K.rsa, ATT_JWS_PS256), ATT_ERR_SIGNATURE);
    /* Key type: RSA >= 2048 bits only. */
    EXPECT_ERR(verify(t, K.rsa1024, ATT_JWS_PS256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(verify(t, K.ec, ATT_JWS_PS256), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(verify(t, K.p384, ATT_JWS_PS256), ATT_ERR_KEY_TYPE);
    /* Wrong key (RFC 7515 A.2's). */
    EVP_PKEY *other = tu_rsa_from_ne(a2_n, a2_e);
    EXPECT_ERR(verify(t, other, ATT_JWS_PS256), ATT_ERR_SIGNATURE);
    EVP_PKEY_free(other);

    /* Every signature byte matters; a signature one byte short or long is refused. */
    const char *dot = strrchr(t, '.');
    struct att_buf sig;
    tu_b64u_decode(dot + 1, strlen(dot + 1), &sig);
    assert_int_equal(sig.len, 256);
    char *h = tu_b64u_str(hdr);
    char *p = tu_b64u_str(claims);
    for (size_t i = 0; i < sig.len; i += 37) {
        sig.data[i] ^= 0x01;
        char *sb = tu_b64u(sig.data, sig.len);
        char *tt = tu_join3(h, p, sb);
        EXPECT_ERR(verify(tt, K.rsa, ATT_JWS_PS256), ATT_ERR_SIGNATURE);
        sig.data[i] ^= 0x01;
        free(sb);
        free(tt);
    }
    char *short_sig = tu_b64u(sig.data, sig.len - 1);
    char *t_short = tu_join3(h, p, short_sig);
    EXPECT_ERR(verify(t_short, K.rsa, ATT_JWS_PS256), ATT_ERR_SIGNATURE);

    free(short_sig);
    free(t_short);
    free(h);
    free(p);
    att_buf_cleanup(&sig);
    free(t);
    free(t2);
    free(rs);
    free(t_v15);
    free(t20);
    free(t0);
    free(t384);
}

static void test_es384(void **state)
{
    (void)state;
    static const char hdr[] = "{\"alg\":\"ES384\"}";
    char *t = tu_sign_token(K.p384, TU_ES384, hdr, claims);
    struct att_jws jws;
    memset(&jws, 0, sizeof(jws));
    EXPECT_OK(att_jws_verify(t, strlen(t), K.p384, ATT_JWS_ES384, &jws));
    assert_string_equal(hdr_str(&jws, "alg"), "ES384");
    assert_memory_equal(jws.payload.data, claims, strlen(claims));
    att_jws_cleanup(&jws);

    /* Pinning and key types. */
    EXPECT_ERR(verify(t, K.p384, ATT_JWS_ES256), ATT_ERR_ALG_MISMATCH);
    EXPECT_ERR(verify(t, K.ec, ATT_JWS_ES384), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(verify(t, K.rsa, ATT_JWS_ES384), ATT_ERR_KEY_TYPE);
    EXPECT_ERR(verify(t, K.ed25519, ATT_JWS_ES384), ATT_ERR_KEY_TYPE);
    char *es = sign("ec", NULL);
    EXPECT_ERR(verify(es, K.p384, ATT_JWS_ES384), ATT_ERR_ALG_MISMATCH);
    /* An ES256 header over a P-384 key: the pinned alg decides. */
    struct tu_sig_spec p384_sha256 = {EVP_sha256, -1, 48};
    char *t256 = tu_sign_token(K.p384, p384_sha256, "{\"alg\":\"ES256\"}", claims);
    EXPECT_ERR(verify(t256, K.p384, ATT_JWS_ES384), ATT_ERR_ALG_MISMATCH);
    EXPECT_ERR(verify(t256, K.p384, ATT_JWS_ES256), ATT_ERR_KEY_TYPE);
    /* Right length, wrong hash: SHA-256 over P-384 under an ES384 header. */
    char *t_wrong_md = tu_sign_token(K.p384, p384_sha256, hdr, claims);
    EXPECT_ERR(verify(t_wrong_md, K.p384, ATT_JWS_ES384), ATT_ERR_SIGNATURE);

    /* RFC 7518 §3.4: exactly 96 octets of R||S; DER, 64 or 97 octets are refused. */
    const char *dot = strrchr(t, '.');
    struct att_buf sig;
    tu_b64u_decode(dot + 1, strlen(dot + 1), &sig);
    assert_int_equal(sig.len, 96);
    char *h = tu_b64u_str(hdr);
    char *p = tu_b64u_str(claims);
    const size_t lens[] = {64, 95};
    for (size_t i = 0; i < 2; i++) {
        char *sb = tu_b64u(sig.data, lens[i]);
        char *tt = tu_join3(h, p, sb);
        EXPECT_ERR(verify(tt, K.p384, ATT_JWS_ES384), ATT_ERR_SIGNATURE);
        free(sb);
        free(tt);
    }
    EXPECT_OK(att_buf_putc(&sig, 0));
    char *long_sig = tu_b64u(sig.data, sig.len);
    char *t_long = tu_join3(h, p, long_sig);
    EXPECT_ERR(verify(t_long, K.p384, ATT_JWS_ES384), ATT_ERR_SIGNATURE);
    sig.len--;
    for (size_t i = 0; i < sig.len; i += 7) {
        sig.data[i] ^= 0x80;
        char *sb = tu_b64u(sig.data, sig.len);
        char *tt = tu_join3(h, p, sb);
        EXPECT_ERR(verify(tt, K.p384, ATT_JWS_ES384), ATT_ERR_SIGNATURE);
        sig.data[i] ^= 0x80;
        free(sb);
        free(tt);
    }
    /* R = 0, S = 0 and R = S = n (out of range) never verify. */
    memset(sig.data, 0, sig.len);
    char *zero = tu_b64u(sig.data, sig.len);
    char *t_zero = tu_join3(h, p, zero);
    EXPECT_ERR(verify(t_zero, K.p384, ATT_JWS_ES384), ATT_ERR_SIGNATURE);
    memset(sig.data, 0xff, sig.len);
    char *ones = tu_b64u(sig.data, sig.len);
    char *t_ones = tu_join3(h, p, ones);
    EXPECT_ERR(verify(t_ones, K.p384, ATT_JWS_ES384), ATT_ERR_SIGNATURE);

    free(zero);
    free(t_zero);
    free(ones);
    free(t_ones);
    free(long_sig);
    free(t_long);
    free(h);
    free(p);
    att_buf_cleanup(&sig);
    free(t);
    free(es);
    free(t256);
    free(t_wrong_md);
}

/* HMAC is never accepted, whatever the pinned algorithm; "none" neither. */
static void test_hmac_and_none_refused(void **state)
{
    (void)state;
    static const char *const hmac[] = {"{\"alg\":\"HS256\"}", "{\"alg\":\"HS384\"}",
                                       "{\"alg\":\"HS512\"}"};
    EVP_PKEY *keys[] = {K.rsa, K.ec, K.rsa, K.p384};
    const enum att_jws_alg pins[] = {ATT_JWS_RS256, ATT_JWS_ES256, ATT_JWS_PS256, ATT_JWS_ES384};
    for (size_t i = 0; i < 3; i++) {
        char *t = tu_token(hmac[i], claims, "c2ln");
        for (size_t j = 0; j < 4; j++) {
            EXPECT_ERR(verify(t, keys[j], pins[j]), ATT_ERR_ALG_UNSUPPORTED);
        }
        free(t);
    }
    char *none = tu_token("{\"alg\":\"none\"}", claims, "");
    for (size_t j = 0; j < 4; j++) {
        EXPECT_ERR(verify(none, keys[j], pins[j]), ATT_ERR_ALG_NONE);
    }
    free(none);
}

/* RFC 7515 §4.1.11: an extension we do not understand in "crit" invalidates the JWS. */
static void test_crit_refused(void **state)
{
    (void)state;
    char *t = sign("ec", "{\"crit\":[\"exp\"],\"exp\":1}");
    EXPECT_ERR(verify(t, K.ec, ATT_JWS_ES256), ATT_ERR_JWS_CRIT);
    free(t);
}

/* ---- tampering ---- */

/* Replace part `idx` (0..2) of token t by BASE64URL(bytes). */
static char *replace_part(const char *t, int idx, const uint8_t *bytes, size_t n)
{
    char *copy = strdup(t);
    assert_non_null(copy);
    char *parts[3];
    parts[0] = copy;
    parts[1] = strchr(parts[0], '.');
    assert_non_null(parts[1]);
    *parts[1]++ = '\0';
    parts[2] = strchr(parts[1], '.');
    assert_non_null(parts[2]);
    *parts[2]++ = '\0';
    char *enc = tu_b64u(bytes, n);
    parts[idx] = enc;
    char *out = tu_join3(parts[0], parts[1], parts[2]);
    free(enc);
    free(copy);
    return out;
}

/* Decode part `idx` of t into `out`. */
static void get_part(const char *t, int idx, struct att_buf *out)
{
    const char *start = t;
    for (int i = 0; i < idx; i++) {
        start = strchr(start, '.') + 1;
    }
    const char *end = strchr(start, '.');
    size_t n = end != NULL ? (size_t)(end - start) : strlen(start);
    tu_b64u_decode(start, n, out);
}

static void tamper(const char *kid, EVP_PKEY *key, enum att_jws_alg alg)
{
    char *t = sign(kid, "{\"typ\":\"JWT\"}");
    EXPECT_OK(verify(t, key, alg));
    for (int part = 0; part < 3; part++) {
        struct att_buf b;
        get_part(t, part, &b);
        if (part == 0) {
            /* Keep the header valid JSON with the same alg: "JWT" -> "JWU". */
            char *jwt = strstr((char *)b.data, "JWT");
            assert_non_null(jwt);
            jwt[2] ^= 0x01;
        } else {
            b.data[b.len / 2] ^= 0x01;
        }
        char *bad = replace_part(t, part, b.data, b.len);
        EXPECT_ERR(verify(bad, key, alg), ATT_ERR_SIGNATURE);
        free(bad);
        att_buf_cleanup(&b);
    }
    /* Header and payload swapped between two valid tokens. */
    char *t2 = sign(kid, NULL);
    struct att_buf h2;
    get_part(t2, 0, &h2);
    char *mixed = replace_part(t, 0, h2.data, h2.len);
    EXPECT_ERR(verify(mixed, key, alg), ATT_ERR_SIGNATURE);
    free(mixed);
    att_buf_cleanup(&h2);
    free(t2);
    free(t);
}

static void test_tamper_rs256(void **state)
{
    (void)state;
    tamper("rsa", K.rsa, ATT_JWS_RS256);
}

static void test_tamper_es256(void **state)
{
    (void)state;
    tamper("ec", K.ec, ATT_JWS_ES256);
}

/* Changing any single character of a valid token never verifies. */
static void every_char(const char *kid, EVP_PKEY *key, enum att_jws_alg alg)
{
    char *t = sign(kid, NULL);
    size_t n = strlen(t);
    for (size_t i = 0; i < n; i++) {
        char saved = t[i];
        t[i] = saved == 'A' ? 'B' : 'A';
        att_err rc = verify(t, key, alg);
        if (rc == ATT_OK) {
            fail_msg("token with position %zu changed verified", i);
        }
        t[i] = (char)(saved ^ 0x01); /* a bit flip, possibly out of the alphabet */
        rc = verify(t, key, alg);
        if (rc == ATT_OK) {
            fail_msg("token with bit flip at %zu verified", i);
        }
        t[i] = saved;
    }
    free(t);
}

static void test_every_char_rs256(void **state)
{
    (void)state;
    every_char("rsa", K.rsa, ATT_JWS_RS256);
}

static void test_every_char_es256(void **state)
{
    (void)state;
    every_char("ec", K.ec, ATT_JWS_ES256);
}

static void truncate_all(const char *kid, EVP_PKEY *key, enum att_jws_alg alg)
{
    char *t = sign(kid, NULL);
    size_t n = strlen(t);
    for (size_t len = 0; len < n; len++) {
        struct att_jws jws;
        memset(&jws, 0, sizeof(jws));
        att_err rc = att_jws_verify(t, len, key, alg, &jws);
        if (rc == ATT_OK) {
            fail_msg("token truncated to %zu bytes verified", len);
        }
        /* Decoding may succeed (a shorter valid signature part); it must not crash or leak. */
        if (att_jws_decode_unverified(t, len, &jws) == ATT_OK) {
            att_jws_cleanup(&jws);
        }
    }
    EXPECT_OK(verify(t, key, alg));
    free(t);
}

static void test_truncate_rs256(void **state)
{
    (void)state;
    truncate_all("rsa", K.rsa, ATT_JWS_RS256);
}

static void test_truncate_es256(void **state)
{
    (void)state;
    truncate_all("ec", K.ec, ATT_JWS_ES256);
}

/* ---- malformed compact form ---- */

static void test_dots_and_empty_parts(void **state)
{
    (void)state;
    char *t = sign("ec", NULL);
    char *last = strrchr(t, '.');
    char buf[1024];
    struct att_jws jws;

    static const char *const bad[] = {
        "",
        ".",
        "..",
        "...",
        "abc",
        "eyJ9.eyJ9",
        "eyJ9..c2ln",
        ".eyJ9.c2ln",
        "eyJ9.eyJ9.c2ln.",
        "eyJ9.eyJ9.c2ln.c2ln",
        "eyJ9.eyJ9..",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        EXPECT_ERR(verify(bad[i], K.ec, ATT_JWS_ES256), ATT_ERR_JWS_FORMAT);
        EXPECT_ERR(att_jws_decode_unverified(bad[i], strlen(bad[i]), &jws), ATT_ERR_JWS_FORMAT);
    }
    /* A valid token with a fourth part (JWE has five). */
    snprintf(buf, sizeof(buf), "%s.", t);
    EXPECT_ERR(verify(buf, K.ec, ATT_JWS_ES256), ATT_ERR_JWS_FORMAT);
    snprintf(buf, sizeof(buf), "%s%s", t, last);
    EXPECT_ERR(verify(buf, K.ec, ATT_JWS_ES256), ATT_ERR_JWS_FORMAT);
    /* Without its signature part. */
    *last = '\0';
    EXPECT_ERR(verify(t, K.ec, ATT_JWS_ES256), ATT_ERR_JWS_FORMAT);
    /* With an empty signature part. */
    snprintf(buf, sizeof(buf), "%s.", t);
    EXPECT_ERR(verify(buf, K.ec, ATT_JWS_ES256), ATT_ERR_SIGNATURE);
    /* An embedded NUL is just a bad character. */
    EXPECT_ERR(att_jws_verify("eyJ9\0.eyJ9.c2ln", 15, K.ec, ATT_JWS_ES256, &jws), ATT_ERR_ENCODING);
    free(t);
}

static void test_bad_args(void **state)
{
    (void)state;
    struct att_jws jws;
    memset(&jws, 0, sizeof(jws));
    EXPECT_ERR(att_jws_verify(NULL, 0, K.ec, ATT_JWS_ES256, &jws), ATT_ERR_JWS_FORMAT);
    EXPECT_ERR(att_jws_verify(NULL, 5, K.ec, ATT_JWS_ES256, &jws), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_verify("a.b.c", 5, NULL, ATT_JWS_ES256, &jws), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_verify("a.b.c", 5, K.ec, ATT_JWS_ES256, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_verify("a.b.c", 5, K.ec, (enum att_jws_alg)7, &jws), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_decode_unverified("a.b.c", 5, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_jws_decode_unverified(NULL, 5, &jws), ATT_ERR_ARG);
    assert_null(jws.header);
    att_jws_cleanup(NULL);
}

static void test_oversize(void **state)
{
    (void)state;
    struct att_jws jws;
    char *big = malloc(ATT_JWS_MAX + 2);
    assert_non_null(big);
    memset(big, 'A', ATT_JWS_MAX + 1);
    big[ATT_JWS_MAX + 1] = '\0';
    big[10] = '.';
    big[20] = '.';
    EXPECT_ERR(verify(big, K.ec, ATT_JWS_ES256), ATT_ERR_TOO_LARGE);
    EXPECT_ERR(att_jws_decode_unverified(big, ATT_JWS_MAX + 1, &jws), ATT_ERR_TOO_LARGE);
    /* Exactly at the cap is parsed (and fails later for another reason). */
    big[ATT_JWS_MAX] = '\0';
    EXPECT_ERR(verify(big, K.ec, ATT_JWS_ES256), ATT_ERR_JSON);
    memset(big, 'A', ATT_JWS_MAX);
    EXPECT_ERR(verify(big, K.ec, ATT_JWS_ES256), ATT_ERR_JWS_FORMAT);
    free(big);
}

static void test_padding_and_alphabet(void **state)
{
    (void)state;
    char *t = sign("rsa", NULL);
    char *p1 = strchr(t, '.');
    char *p2 = strchr(p1 + 1, '.');
    char buf[2048];
    /* '=' appended to each part in turn (RFC 7515 §2: padding omitted). */
    snprintf(buf, sizeof(buf), "%.*s=%s", (int)(p1 - t), t, p1);
    EXPECT_ERR(verify(buf, K.rsa, ATT_JWS_RS256), ATT_ERR_ENCODING);
    snprintf(buf, sizeof(buf), "%.*s=%s", (int)(p2 - t), t, p2);
    EXPECT_ERR(verify(buf, K.rsa, ATT_JWS_RS256), ATT_ERR_ENCODING);
    snprintf(buf, sizeof(buf), "%s=", t);
    EXPECT_ERR(verify(buf, K.rsa, ATT_JWS_RS256), ATT_ERR_ENCODING);
    snprintf(buf, sizeof(buf), "%s==", t);
    EXPECT_ERR(verify(buf, K.rsa, ATT_JWS_RS256), ATT_ERR_ENCODING);
    /* Standard-alphabet characters and whitespace. */
    static const char swaps[] = {'+', '/', ' ', '\n', '='};
    for (size_t i = 0; i < sizeof(swaps); i++) {
        snprintf(buf, sizeof(buf), "%s", t);
        buf[p2 - t + 5] = swaps[i];
        EXPECT_ERR(verify(buf, K.rsa, ATT_JWS_RS256), ATT_ERR_ENCODING);
        buf[3] = swaps[i];
        EXPECT_ERR(verify(buf, K.rsa, ATT_JWS_RS256), ATT_ERR_ENCODING);
    }
    free(t);
}

static void test_header_json(void **state)
{
    (void)state;
    static const char *const headers[] = {
        "{\"alg\":\"RS256\",\"alg\":\"RS256\"}", /* RFC 7515 §4: duplicate names */
        "{\"alg\":\"RS256\",\"kid\":\"a\",\"kid\":\"b\"}",
        "[\"alg\",\"RS256\"]",
        "\"RS256\"",
        "{\"alg\":\"RS256\"",
        "{\"alg\":\"RS256\"} x",
        "{\"alg\":\"RS256\"}{}",
        "",
        "\xff\xfe",
        "{\"alg\":\"RS\\u0000256\"}",
        "null",
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        struct att_jws jws;
        char *t = tu_token(headers[i], claims, "c2ln");
        if (headers[i][0] == '\0') {
            EXPECT_ERR(verify(t, K.rsa, ATT_JWS_RS256), ATT_ERR_JWS_FORMAT);
        } else {
            EXPECT_ERR(verify(t, K.rsa, ATT_JWS_RS256), ATT_ERR_JSON);
            EXPECT_ERR(att_jws_decode_unverified(t, strlen(t), &jws), ATT_ERR_JSON);
        }
        free(t);
    }
}

static void test_signature_length(void **state)
{
    (void)state;
    uint8_t zeros[512];
    memset(zeros, 0, sizeof(zeros));
    char *h = tu_b64u_str("{\"alg\":\"ES256\"}");
    char *hr = tu_b64u_str("{\"alg\":\"RS256\"}");
    char *p = tu_b64u_str(claims);
    static const size_t es_lens[] = {1, 32, 63, 65, 72, 128};
    for (size_t i = 0; i < sizeof(es_lens) / sizeof(es_lens[0]); i++) {
        char *s = tu_b64u(zeros, es_lens[i]);
        char *t = tu_join3(h, p, s);
        EXPECT_ERR(verify(t, K.ec, ATT_JWS_ES256), ATT_ERR_SIGNATURE);
        free(s);
        free(t);
    }
    /* 64 bytes but R = S = 0 (never a valid ECDSA signature). */
    char *s0 = tu_b64u(zeros, 64);
    char *t0 = tu_join3(h, p, s0);
    EXPECT_ERR(verify(t0, K.ec, ATT_JWS_ES256), ATT_ERR_SIGNATURE);
    /* R = S = 2^256 - 1 (above the group order). */
    uint8_t ones[64];
    memset(ones, 0xff, sizeof(ones));
    char *s1 = tu_b64u(ones, 64);
    char *t1 = tu_join3(h, p, s1);
    EXPECT_ERR(verify(t1, K.ec, ATT_JWS_ES256), ATT_ERR_SIGNATURE);

    static const size_t rs_lens[] = {1, 64, 255, 257, 512};
    for (size_t i = 0; i < sizeof(rs_lens) / sizeof(rs_lens[0]); i++) {
        char *s = tu_b64u(zeros, rs_lens[i]);
        char *t = tu_join3(hr, p, s);
        EXPECT_ERR(verify(t, K.rsa, ATT_JWS_RS256), ATT_ERR_SIGNATURE);
        free(s);
        free(t);
    }
    free(s0);
    free(t0);
    free(s1);
    free(t1);
    free(h);
    free(hr);
    free(p);
}

/* On failure the caller's struct is left exactly as it was. */
static void test_out_untouched(void **state)
{
    (void)state;
    char *t = sign("rsa", NULL);
    struct att_jws jws;
    memset(&jws, 0xa5, sizeof(jws));
    struct att_jws before = jws;
    EXPECT_ERR(att_jws_verify(t, strlen(t), K.ec, ATT_JWS_ES256, &jws), ATT_ERR_ALG_MISMATCH);
    EXPECT_ERR(att_jws_verify(t, strlen(t) - 1, K.rsa, ATT_JWS_RS256, &jws), ATT_ERR_ENCODING);
    EXPECT_ERR(att_jws_verify(t, strlen(t) - 2, K.rsa, ATT_JWS_RS256, &jws), ATT_ERR_SIGNATURE);
    EXPECT_ERR(att_jws_decode_unverified(t, 5, &jws), ATT_ERR_JWS_FORMAT);
    assert_memory_equal(&jws, &before, sizeof(jws));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_alg_for_key),
        cmocka_unit_test(test_key_fits),
        cmocka_unit_test(test_ps256),
        cmocka_unit_test(test_es384),
        cmocka_unit_test(test_hmac_and_none_refused),
        cmocka_unit_test(test_roundtrip_rs256),
        cmocka_unit_test(test_roundtrip_es256),
        cmocka_unit_test(test_sign_args),
        cmocka_unit_test(test_sign_encoded),
        cmocka_unit_test(test_openssl_verifies_rs256),
        cmocka_unit_test(test_openssl_verifies_es256),
        cmocka_unit_test(test_verifies_openssl_es256),
        cmocka_unit_test(test_rfc7515_vectors),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_alg_mismatch),
        cmocka_unit_test(test_key_type),
        cmocka_unit_test(test_alg_unsupported),
        cmocka_unit_test(test_crit_refused),
        cmocka_unit_test(test_tamper_rs256),
        cmocka_unit_test(test_tamper_es256),
        cmocka_unit_test(test_every_char_rs256),
        cmocka_unit_test(test_every_char_es256),
        cmocka_unit_test(test_truncate_rs256),
        cmocka_unit_test(test_truncate_es256),
        cmocka_unit_test(test_dots_and_empty_parts),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_padding_and_alphabet),
        cmocka_unit_test(test_header_json),
        cmocka_unit_test(test_signature_length),
        cmocka_unit_test(test_out_untouched),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
