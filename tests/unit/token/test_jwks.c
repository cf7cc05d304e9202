/*
 * test_jwks.c - unit tests for src/token/jwks.c (JWK Sets, RFC 7517 §5).
 *
 * Sets are built here from keys generated with OpenSSL and exported by hand
 * (BN -> base64url); tokens are signed with plain OpenSSL and verified with
 * the key att_jwks_find picks by the token's "kid", as the issuer registry
 * will. Every refusal is checked for its exact code.
 */
#include "jose_testutil.h"

#include "token/jwks.h"
#include "token/jws.h"

static const char claims[] = "{\"iss\":\"https://idp.example\",\"sub\":\"user-1\"}";

struct keys {
    EVP_PKEY *rsa;
    EVP_PKEY *p256;
    EVP_PKEY *p384;
};
static struct keys K;

static int setup(void **state)
{
    (void)state;
    K.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    K.p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    K.p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    return K.rsa != NULL && K.p256 != NULL && K.p384 != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(K.rsa);
    EVP_PKEY_free(K.p256);
    EVP_PKEY_free(K.p384);
    return 0;
}

/* JWK of a test key with extra members given as JSON object text (or NULL). */
static json_t *jwk_of(EVP_PKEY *key, const char *extra_json)
{
    json_t *j = NULL;
    if (key == K.rsa) {
        j = tu_jwk_rsa(key);
    } else if (key == K.p256) {
        j = tu_jwk_ec(key, "P-256", 32);
    } else {
        j = tu_jwk_ec(key, "P-384", 48);
    }
    if (extra_json != NULL) {
        json_t *extra = json_loads(extra_json, JSON_REJECT_DUPLICATES, NULL);
        assert_non_null(extra);
        assert_int_equal(json_object_update(j, extra), 0);
        json_decref(extra);
    }
    return j;
}

/* {"keys":[...]} as text; free() it. Takes the references in `keys`. */
static char *set_text(json_t **keys, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(json_array_append_new(arr, keys[i]), 0);
    }
    json_t *doc = json_pack("{s:o}", "keys", arr);
    char *s = json_dumps(doc, JSON_COMPACT);
    assert_non_null(s);
    json_decref(doc);
    return s;
}

static att_err parse_text(const char *text, size_t max, struct att_jwks **out)
{
    return att_jwks_parse(text, strlen(text), max, out);
}

/* Parsing must fail with `code` and leave *out alone. */
static void expect_fail(const char *text, att_err code)
{
    struct att_jwks *set = NULL;
    att_err rc = parse_text(text, ATT_JWKS_MAX_KEYS, &set);
    if (rc != code) {
        fail_msg("%.200s: expected %s, got %s", text, att_err_name(code), att_err_name(rc));
    }
    assert_null(set);
}

/* Verify `token` with the key of the set its "kid" names, as the registry will. */
static att_err verify_by_kid(const struct att_jwks *set, const char *token)
{
    struct att_jws unverified;
    struct att_jws jws;
    EXPECT_OK(att_jws_decode_unverified(token, strlen(token), &unverified));
    const char *kid = json_string_value(json_object_get(unverified.header, "kid"));
    const struct att_jwks_key *k = att_jwks_find(set, kid != NULL ? kid : "");
    const char *alg_name = json_string_value(json_object_get(unverified.header, "alg"));
    enum att_jws_alg requested = ATT_JWS_NONE;
    if (alg_name != NULL) {
        att_ignore_err(att_jws_alg_parse(alg_name, &requested));
    }
    att_jws_cleanup(&unverified);
    if (k == NULL) {
        return ATT_ERR_TOKEN_KID;
    }
    /* As src/auth/issuers.c does: the header chooses among the algorithms the key allows. */
    att_err rc = att_jws_verify(token, strlen(token), k->key, att_jwks_key_alg(k, requested), &jws);
    if (rc == ATT_OK) {
        att_jws_cleanup(&jws);
    }
    return rc;
}

/* ===================================================================== */

static void test_two_keys_by_kid(void **state)
{
    (void)state;
    json_t *keys[] = {
        jwk_of(K.rsa, "{\"kid\":\"r1\",\"use\":\"sig\",\"alg\":\"RS256\"}"),
        jwk_of(K.p256, "{\"kid\":\"e1\"}"),
    };
    char *text = set_text(keys, 2);
    struct att_jwks *set = NULL;
    EXPECT_OK(parse_text(text, ATT_JWKS_MAX_KEYS, &set));
    assert_int_equal(set->n, 2);
    const struct att_jwks_key *r1 = att_jwks_find(set, "r1");
    const struct att_jwks_key *e1 = att_jwks_find(set, "e1");
    assert_non_null(r1);
    assert_non_null(e1);
    assert_string_equal(r1->kid, "r1");
    assert_int_equal(r1->alg, ATT_JWS_RS256);
    assert_int_equal(e1->alg, ATT_JWS_ES256);
    assert_int_equal(EVP_PKEY_eq(r1->key, K.rsa), 1);
    assert_int_equal(EVP_PKEY_eq(e1->key, K.p256), 1);
    assert_null(att_jwks_find(set, "r2"));
    assert_null(att_jwks_find(set, "R1"));
    assert_null(att_jwks_find(set, ""));
    assert_null(att_jwks_find(set, NULL));
    assert_null(att_jwks_find(NULL, "r1"));

    char *t_r = tu_sign_token(K.rsa, TU_RS256, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", claims);
    char *t_e = tu_sign_token(K.p256, TU_ES256, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims);
    char *t_swapped = tu_sign_token(K.rsa, TU_RS256, "{\"alg\":\"RS256\",\"kid\":\"e1\"}", claims);
    char *t_unknown = tu_sign_token(K.rsa, TU_RS256, "{\"alg\":\"RS256\",\"kid\":\"x\"}", claims);
    EXPECT_OK(verify_by_kid(set, t_r));
    EXPECT_OK(verify_by_kid(set, t_e));
    EXPECT_ERR(verify_by_kid(set, t_swapped), ATT_ERR_ALG_MISMATCH);
    EXPECT_ERR(verify_by_kid(set, t_unknown), ATT_ERR_TOKEN_KID);

    free(t_r);
    free(t_e);
    free(t_swapped);
    free(t_unknown);
    free(text);
    att_jwks_free(set);
    att_jwks_free(NULL);
}

/* PS256 and ES384 keys as external providers publish them. */
static void test_ps256_es384(void **state)
{
    (void)state;
    json_t *keys[] = {
        jwk_of(K.rsa, "{\"kid\":\"ps\",\"alg\":\"PS256\",\"use\":\"sig\"}"),
        jwk_of(K.p384, "{\"kid\":\"es\",\"key_ops\":[\"verify\"]}"),
    };
    char *text = set_text(keys, 2);
    struct att_jwks *set = NULL;
    EXPECT_OK(parse_text(text, 2, &set));
    assert_int_equal(att_jwks_find(set, "ps")->alg, ATT_JWS_PS256);
    assert_int_equal(att_jwks_find(set, "es")->alg, ATT_JWS_ES384);
    char *t_ps = tu_sign_token(K.rsa, TU_PS256, "{\"alg\":\"PS256\",\"kid\":\"ps\"}", claims);
    char *t_es = tu_sign_token(K.p384, TU_ES384, "{\"alg\":\"ES384\",\"kid\":\"es\"}", claims);
    char *t_rs = tu_sign_token(K.rsa, TU_RS256, "{\"alg\":\"RS256\",\"kid\":\"ps\"}", claims);
    EXPECT_OK(verify_by_kid(set, t_ps));
    EXPECT_OK(verify_by_kid(set, t_es));
    EXPECT_ERR(verify_by_kid(set, t_rs), ATT_ERR_ALG_MISMATCH); /* the key is pinned to PS256 */
    free(t_ps);
    free(t_es);
    free(t_rs);
    free(text);
    att_jwks_free(set);
}

/*
 * An RSA key published without "alg" verifies RS256 and PS256 (docs/identity.md); with an
 * "alg" it verifies that one only; the header never makes it verify an EC algorithm.
 */
static void test_rsa_without_alg(void **state)
{
    (void)state;
    json_t *keys[] = {
        jwk_of(K.rsa, "{\"kid\":\"any\"}"),
        jwk_of(K.rsa, "{\"kid\":\"rs\",\"alg\":\"RS256\"}"),
    };
    char *text = set_text(keys, 2);
    struct att_jwks *set = NULL;
    EXPECT_OK(parse_text(text, 2, &set));
    const struct att_jwks_key *any = att_jwks_find(set, "any");
    const struct att_jwks_key *rs = att_jwks_find(set, "rs");
    assert_false(any->alg_named);
    assert_true(rs->alg_named);
    assert_int_equal(att_jwks_key_alg(any, ATT_JWS_PS256), ATT_JWS_PS256);
    assert_int_equal(att_jwks_key_alg(any, ATT_JWS_RS256), ATT_JWS_RS256);
    assert_int_equal(att_jwks_key_alg(any, ATT_JWS_NONE), ATT_JWS_RS256);
    assert_int_equal(att_jwks_key_alg(any, ATT_JWS_ES256), ATT_JWS_RS256);
    assert_int_equal(att_jwks_key_alg(rs, ATT_JWS_PS256), ATT_JWS_RS256);
    struct {
        struct tu_sig_spec spec;
        const char *header;
        att_err want;
    } cases[] = {
        {TU_PS256, "{\"alg\":\"PS256\",\"kid\":\"any\"}", ATT_OK},
        {TU_RS256, "{\"alg\":\"RS256\",\"kid\":\"any\"}", ATT_OK},
        {TU_PS256, "{\"alg\":\"PS256\",\"kid\":\"rs\"}", ATT_ERR_ALG_MISMATCH},
        /* A PKCS#1 v1.5 signature under a PS256 header: the padding is checked. */
        {TU_RS256, "{\"alg\":\"PS256\",\"kid\":\"any\"}", ATT_ERR_SIGNATURE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = tu_sign_token(K.rsa, cases[i].spec, cases[i].header, claims);
        EXPECT_ERR(verify_by_kid(set, t), cases[i].want);
        free(t);
    }
    free(text);
    att_jwks_free(set);
}

static void test_skipped_entries(void **state)
{
    (void)state;
    json_t *keys[] = {
        /* An encryption key, even a malformed one, is passed over. */
        json_pack("{s:s,s:s,s:s,s:s}", "kty", "RSA", "use", "enc", "n", "!!", "e", "AQAB"),
        jwk_of(K.rsa, "{\"kid\":\"enc\",\"use\":\"enc\"}"),
        /* A SPIFFE bundle's X.509 authority is no token signer. */
        jwk_of(K.rsa, "{\"kid\":\"x509\",\"use\":\"x509-svid\"}"),
        /* Key types and curves we do not verify with. */
        json_pack("{s:s,s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x",
                  "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid", "ed"),
        json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-521", "x", "AA", "y", "AA"),
        json_pack("{s:s}", "kty", "unknown"),
        /* A well-formed key for an algorithm we do not verify. */
        jwk_of(K.rsa, "{\"kid\":\"rs512\",\"alg\":\"RS512\"}"),
        jwk_of(K.p256, "{\"kid\":\"hs\",\"alg\":\"HS256\"}"),
        /* The one key we keep; it has no kid. */
        jwk_of(K.p256, NULL),
    };
    char *text = set_text(keys, sizeof(keys) / sizeof(keys[0]));
    struct att_jwks *set = NULL;
    EXPECT_OK(parse_text(text, ATT_JWKS_MAX_KEYS, &set));
    assert_int_equal(set->n, 1);
    assert_string_equal(set->keys[0].kid, "");
    assert_ptr_equal(att_jwks_find(set, ""), &set->keys[0]);
    assert_null(att_jwks_find(set, "enc"));
    assert_null(att_jwks_find(set, "rs512"));
    assert_null(att_jwks_find(set, "x509"));
    char *t = tu_sign_token(K.p256, TU_ES256, "{\"alg\":\"ES256\"}", claims);
    EXPECT_OK(verify_by_kid(set, t));
    free(t);
    free(text);
    att_jwks_free(set);

    /* A SPIFFE JWT authority ("use":"jwt-svid") is a signing key. */
    json_t *svid[] = {jwk_of(K.p256, "{\"kid\":\"jwt\",\"use\":\"jwt-svid\"}")};
    text = set_text(svid, 1);
    EXPECT_OK(parse_text(text, ATT_JWKS_MAX_KEYS, &set));
    assert_int_equal(set->n, 1);
    assert_string_equal(set->keys[0].kid, "jwt");
    free(text);
    att_jwks_free(set);

    /* Only skipped keys: a valid, empty set. */
    struct att_jwks *empty = NULL;
    EXPECT_OK(parse_text("{\"keys\":[{\"kty\":\"OKP\"}]}", 4, &empty));
    assert_int_equal(empty->n, 0);
    assert_null(att_jwks_find(empty, ""));
    att_jwks_free(empty);
    EXPECT_OK(parse_text("{\"keys\":[],\"other\":1}", 4, &empty));
    assert_int_equal(empty->n, 0);
    att_jwks_free(empty);
}

/* An "enc" key is skipped, but a malformed signing key beside it fails the set. */
static void test_enc_and_malformed_signing_key(void **state)
{
    (void)state;
    json_t *bad_sig = jwk_of(K.rsa, "{\"kid\":\"s\",\"use\":\"sig\"}");
    const char *n = json_string_value(json_object_get(bad_sig, "n"));
    char *n_pad = malloc(strlen(n) + 2);
    assert_non_null(n_pad);
    snprintf(n_pad, strlen(n) + 2, "%s=", n);
    assert_int_equal(json_object_set_new(bad_sig, "n", json_string(n_pad)), 0);
    free(n_pad);
    json_t *keys[] = {jwk_of(K.rsa, "{\"kid\":\"e\",\"use\":\"enc\"}"), bad_sig};
    char *text = set_text(keys, 2);
    expect_fail(text, ATT_ERR_ENCODING);
    free(text);

    /* Each kind of malformed kept key fails the set with its own code. */
    const struct {
        EVP_PKEY *key;
        const char *extra;
        att_err code;
    } cases[] = {
        {K.rsa, "{\"alg\":\"ES256\"}", ATT_ERR_KEY_TYPE},
        {K.rsa, "{\"alg\":\"none\"}", ATT_ERR_ALG_NONE},
        {K.rsa, "{\"use\":\"other\"}", ATT_ERR_VALIDATE},
        {K.rsa, "{\"use\":1}", ATT_ERR_JSON},
        {K.rsa, "{\"key_ops\":[\"sign\"]}", ATT_ERR_VALIDATE},
        {K.rsa, "{\"e\":\"AQ\"}", ATT_ERR_KEY_TYPE},
        {K.rsa, "{\"n\":5}", ATT_ERR_JSON},
        {K.p256, "{\"alg\":\"ES384\"}", ATT_ERR_KEY_TYPE},
        {K.p256, "{\"x\":\"AAAA\"}", ATT_ERR_KEY_TYPE},
        {K.p384, "{\"crv\":\"P-256\"}", ATT_ERR_KEY_TYPE},
        {K.p256, "{\"kid\":7}", ATT_ERR_JSON},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *one[] = {jwk_of(K.p256, "{\"kid\":\"ok\"}"), jwk_of(cases[i].key, cases[i].extra)};
        text = set_text(one, 2);
        expect_fail(text, cases[i].code);
        free(text);
    }
    /* A kty-less or crv-less entry is malformed, not skipped. */
    expect_fail("{\"keys\":[{\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", ATT_ERR_JSON);
    expect_fail("{\"keys\":[{\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AA\"}]}", ATT_ERR_JSON);
}

static void test_private_members(void **state)
{
    (void)state;
    /* A private member fails the set even on an entry that would be skipped. */
    expect_fail("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}", ATT_ERR_VALIDATE);
    expect_fail("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\",\"d\":\"AA\"}]}",
                ATT_ERR_VALIDATE);
    json_t *keys[] = {jwk_of(K.rsa, "{\"use\":\"enc\",\"d\":\"AQAB\"}")};
    char *text = set_text(keys, 1);
    expect_fail(text, ATT_ERR_VALIDATE);
    free(text);
    json_t *keys2[] = {jwk_of(K.p256, "{\"kid\":\"a\",\"d\":\"AQAB\"}")};
    text = set_text(keys2, 1);
    expect_fail(text, ATT_ERR_VALIDATE);
    free(text);
}

static void test_duplicate_kids(void **state)
{
    (void)state;
    json_t *keys[] = {jwk_of(K.rsa, "{\"kid\":\"k\"}"), jwk_of(K.p256, "{\"kid\":\"k\"}")};
    char *text = set_text(keys, 2);
    expect_fail(text, ATT_ERR_VALIDATE);
    free(text);
    /* Two keys without a kid are two keys for "". */
    json_t *keys2[] = {jwk_of(K.rsa, NULL), jwk_of(K.p256, NULL)};
    text = set_text(keys2, 2);
    expect_fail(text, ATT_ERR_VALIDATE);
    free(text);
    /* The same kid on a skipped key does not count. */
    json_t *keys3[] = {jwk_of(K.rsa, "{\"kid\":\"k\",\"use\":\"enc\"}"),
                       jwk_of(K.p256, "{\"kid\":\"k\"}")};
    text = set_text(keys3, 2);
    struct att_jwks *set = NULL;
    EXPECT_OK(parse_text(text, ATT_JWKS_MAX_KEYS, &set));
    assert_int_equal(set->n, 1);
    assert_int_equal(att_jwks_find(set, "k")->alg, ATT_JWS_ES256);
    att_jwks_free(set);
    free(text);
    /* Kids are case-sensitive (RFC 7517 §4.5). */
    json_t *keys4[] = {jwk_of(K.rsa, "{\"kid\":\"k\"}"), jwk_of(K.p256, "{\"kid\":\"K\"}")};
    text = set_text(keys4, 2);
    EXPECT_OK(parse_text(text, ATT_JWKS_MAX_KEYS, &set));
    assert_int_equal(att_jwks_find(set, "K")->alg, ATT_JWS_ES256);
    att_jwks_free(set);
    free(text);
}

static void test_document_shape(void **state)
{
    (void)state;
    expect_fail("", ATT_ERR_JSON);
    expect_fail("not json", ATT_ERR_JSON);
    expect_fail("[]", ATT_ERR_JSON);
    expect_fail("{}", ATT_ERR_JSON);
    expect_fail("{\"keys\":{}}", ATT_ERR_JSON);
    expect_fail("{\"keys\":null}", ATT_ERR_JSON);
    expect_fail("{\"keys\":[1]}", ATT_ERR_JSON);
    expect_fail("{\"keys\":[[]]}", ATT_ERR_JSON);
    expect_fail("{\"keys\":[],\"keys\":[]}", ATT_ERR_JSON);
    expect_fail("{\"keys\":[{\"kty\":\"OKP\",\"kty\":\"EC\"}]}", ATT_ERR_JSON);
    expect_fail("{\"keys\":[]} trailing", ATT_ERR_JSON);
    expect_fail("{\"keys\":[{\"kty\":\"OKP\",\"x\":\"\\u0000\"}]}", ATT_ERR_JSON);

    /* Every prefix of a valid set fails cleanly. */
    json_t *keys[] = {jwk_of(K.p256, "{\"kid\":\"e1\"}")};
    char *text = set_text(keys, 1);
    struct att_jwks *set = NULL;
    for (size_t len = 0; len < strlen(text); len++) {
        EXPECT_ERR(att_jwks_parse(text, len, 1, &set), ATT_ERR_JSON);
    }
    assert_null(set);
    EXPECT_OK(att_jwks_parse(text, strlen(text), 1, &set));
    att_jwks_free(set);
    free(text);
}

static void test_limits(void **state)
{
    (void)state;
    struct att_jwks *set = NULL;
    EXPECT_ERR(att_jwks_parse("{\"keys\":[]}", 11, 0, &set), ATT_ERR_ARG);
    EXPECT_ERR(att_jwks_parse("{\"keys\":[]}", 11, ATT_JWKS_MAX_KEYS + 1, &set), ATT_ERR_ARG);
    EXPECT_ERR(att_jwks_parse("{\"keys\":[]}", 11, 1, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_jwks_parse(NULL, 11, 1, &set), ATT_ERR_ARG);
    EXPECT_ERR(att_jwks_parse(NULL, 0, 1, &set), ATT_ERR_JSON);

    /* More kept keys than max_keys. */
    json_t *keys[] = {jwk_of(K.rsa, "{\"kid\":\"a\"}"), jwk_of(K.p256, "{\"kid\":\"b\"}")};
    char *text = set_text(keys, 2);
    EXPECT_ERR(parse_text(text, 1, &set), ATT_ERR_TOO_LARGE);
    EXPECT_OK(parse_text(text, 2, &set));
    att_jwks_free(set);
    free(text);

    /* ATT_JWKS_MAX_ENTRIES entries (all skipped) pass; one more is too many. */
    struct att_buf b;
    att_buf_init(&b, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_buf_puts(&b, "{\"keys\":[{\"kty\":\"OKP\"}"));
    for (size_t i = 1; i < ATT_JWKS_MAX_ENTRIES; i++) {
        EXPECT_OK(att_buf_puts(&b, ",{\"kty\":\"OKP\"}"));
    }
    EXPECT_OK(att_buf_puts(&b, "]}"));
    EXPECT_OK(att_jwks_parse((const char *)b.data, b.len, 1, &set));
    att_jwks_free(set);
    att_buf_reset(&b);
    EXPECT_OK(att_buf_puts(&b, "{\"keys\":[{\"kty\":\"OKP\"}"));
    for (size_t i = 0; i < ATT_JWKS_MAX_ENTRIES; i++) {
        EXPECT_OK(att_buf_puts(&b, ",{\"kty\":\"OKP\"}"));
    }
    EXPECT_OK(att_buf_puts(&b, "]}"));
    EXPECT_ERR(att_jwks_parse((const char *)b.data, b.len, 1, &set), ATT_ERR_TOO_LARGE);

    /* The document size cap comes before parsing. */
    att_buf_reset(&b);
    EXPECT_OK(att_buf_puts(&b, "{\"keys\":[],\"pad\":\""));
    while (b.len < ATT_JWKS_MAX_BYTES - 2) {
        EXPECT_OK(att_buf_putc(&b, 'a'));
    }
    EXPECT_OK(att_buf_puts(&b, "\"}"));
    assert_int_equal(b.len, ATT_JWKS_MAX_BYTES);
    EXPECT_OK(att_jwks_parse((const char *)b.data, b.len, 1, &set));
    att_jwks_free(set);
    EXPECT_OK(att_buf_putc(&b, ' '));
    EXPECT_ERR(att_jwks_parse((const char *)b.data, b.len, 1, &set), ATT_ERR_TOO_LARGE);
    att_buf_cleanup(&b);

    /* kid: up to ATT_JWKS_KID_MAX bytes. */
    char kid[ATT_JWKS_KID_MAX + 2];
    memset(kid, 'k', sizeof(kid) - 1);
    kid[sizeof(kid) - 1] = '\0';
    json_t *long_kid = jwk_of(K.p256, NULL);
    assert_int_equal(json_object_set_new(long_kid, "kid", json_string(kid)), 0);
    json_t *one[] = {long_kid};
    text = set_text(one, 1);
    expect_fail(text, ATT_ERR_TOO_LARGE);
    free(text);
    kid[ATT_JWKS_KID_MAX] = '\0';
    json_t *max_kid = jwk_of(K.p256, NULL);
    assert_int_equal(json_object_set_new(max_kid, "kid", json_string(kid)), 0);
    json_t *one2[] = {max_kid};
    text = set_text(one2, 1);
    EXPECT_OK(parse_text(text, 1, &set));
    assert_non_null(att_jwks_find(set, kid));
    att_jwks_free(set);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_keys_by_kid),
        cmocka_unit_test(test_ps256_es384),
        cmocka_unit_test(test_rsa_without_alg),
        cmocka_unit_test(test_skipped_entries),
        cmocka_unit_test(test_enc_and_malformed_signing_key),
        cmocka_unit_test(test_private_members),
        cmocka_unit_test(test_duplicate_kids),
        cmocka_unit_test(test_document_shape),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
