/*
 * Unit tests for src/auth/assertion.c (private_key_jwt client assertions): valid RS256,
 * PS256, ES256 and ES384 assertions; every claim rule refused with its own code at chosen
 * times; alg none, HMAC and alg/key mismatches; signatures by other keys; disabled and
 * certificate-less principals; truncation at every offset; the replay cache (single use,
 * expiry, eviction, fail-closed when full, one winner among racing threads).
 *
 * Keys and certificates are made here with OpenSSL (att_x509_self_signed); assertions are
 * signed independently of src/signer by tests/unit/token/jose_testutil.h.
 */
#include "att_test.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "auth/assertion.h"
#include "auth/principal.h"
#include "store_fixture.h"
#include "token/jose_testutil.h"
#include "x509/selfsigned.h"

#define NOW 1795000000
#define ISSUER "https://attest.example"
#define ENDPOINT ISSUER "/oauth2/token"

struct client {
    struct att_principal_rec p;
    EVP_PKEY *key; /* private key of the registered certificate; NULL: none registered */
};

struct fx {
    void *store_state; /* struct store_fx */
    struct att_store *store;
    struct att_replay *replay;
    struct att_assertion_ctx ctx;
    struct client rsa, p256, p384, small, nocert, other;
    EVP_PKEY *stranger; /* a P-256 key registered to nobody */
    unsigned jti;       /* makes every assertion's jti unique */
};

static void add_client(struct fx *f, const char *name, EVP_PKEY *key, struct client *c)
{
    struct att_new_secret sec;
    EXPECT_OK(att_principal_create(f->store, name, NOW - 86400, 0, &c->p, &sec));
    att_new_secret_wipe(&sec);
    c->key = key;
    if (key != NULL) {
        struct att_buf der;
        att_buf_init(&der, ATT_BUF_DEFAULT_MAX);
        EXPECT_OK(att_x509_self_signed(key, name, NOW - 86400, 365, &der));
        EXPECT_OK(att_principal_set_cert(f->store, c->p.id, der.data, der.len));
        att_buf_cleanup(&der);
        EXPECT_OK(att_store_principal_get(f->store, c->p.id, &c->p));
        assert_true(c->p.cert_der_len > 0);
    }
}

static int group_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    store_fx_setup(&f->store_state, "assertion", true);
    f->store = ((struct store_fx *)f->store_state)->s;
    EXPECT_OK(
        att_replay_new(ATT_ASSERTION_REPLAY_SLOTS, ATT_ASSERTION_REPLAY_PER_CLIENT, &f->replay));
    f->ctx = (struct att_assertion_ctx){f->store, f->replay, ISSUER, ENDPOINT};
    add_client(f, "rsa", EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048), &f->rsa);
    add_client(f, "p256", EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), &f->p256);
    add_client(f, "p384", EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), &f->p384);
    add_client(f, "small", EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024), &f->small);
    add_client(f, "nocert", NULL, &f->nocert);
    add_client(f, "other", EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), &f->other);
    f->stranger = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(f->stranger);
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fx *f = *state;
    EVP_PKEY_free(f->rsa.key);
    EVP_PKEY_free(f->p256.key);
    EVP_PKEY_free(f->p384.key);
    EVP_PKEY_free(f->small.key);
    EVP_PKEY_free(f->other.key);
    EVP_PKEY_free(f->stranger);
    att_replay_free(f->replay);
    store_fx_teardown(&f->store_state);
    free(f);
    return 0;
}

/* ---- building assertions ---- */

/*
 * Claims of a valid assertion for `id` at NOW, then `extra` (a JSON object, or NULL) merged
 * in: a member whose value is null is removed instead.
 */
static char *claims_for(struct fx *f, const char *id, const char *extra)
{
    char jti[32];
    snprintf(jti, sizeof(jti), "jti-%u", ++f->jti);
    json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "iss", id, "sub", id, "aud", ENDPOINT, "iat",
                          (json_int_t)NOW, "exp", (json_int_t)NOW + 300, "jti", jti);
    assert_non_null(c);
    if (extra != NULL) {
        json_error_t jerr;
        json_t *e = json_loads(extra, 0, &jerr);
        if (e == NULL) {
            fail_msg("bad extra JSON %s: %s", extra, jerr.text);
        }
        const char *k;
        json_t *v;
        json_object_foreach(e, k, v)
        {
            if (json_is_null(v)) {
                json_object_del(c, k);
            } else {
                json_object_set(c, k, v);
            }
        }
        json_decref(e);
    }
    char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    json_decref(c);
    return text;
}

/* An assertion with header {"alg": alg, "typ": "JWT"} signed by `key` per `spec`. */
static char *sign_as(EVP_PKEY *key, struct tu_sig_spec spec, const char *alg, const char *claims)
{
    char header[128];
    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    return tu_sign_token(key, spec, header, claims);
}

static struct tu_sig_spec spec_of(const char *alg)
{
    if (strcmp(alg, "PS256") == 0) {
        return TU_PS256;
    }
    if (strcmp(alg, "ES256") == 0) {
        return TU_ES256;
    }
    if (strcmp(alg, "ES384") == 0) {
        return TU_ES384;
    }
    return TU_RS256;
}

/* A valid assertion of client `c` (alg as given) with `extra` claims, verified at `now`. */
static att_err try_at(struct fx *f, const struct client *c, const char *alg, const char *extra,
                      int64_t now)
{
    struct att_principal_rec got;
    char *claims = claims_for(f, c->p.id, extra);
    char *token = sign_as(c->key, spec_of(alg), alg, claims);
    att_err rc = att_assertion_verify(&f->ctx, token, strlen(token), NULL, now, &got);
    if (rc == ATT_OK) {
        assert_string_equal(got.id, c->p.id);
    }
    free(token);
    free(claims);
    return rc;
}

static att_err try_claims(struct fx *f, const char *extra)
{
    return try_at(f, &f->p256, "ES256", extra, NOW);
}

static att_err verify_text(struct fx *f, const char *token, const char *client_id)
{
    struct att_principal_rec got;
    return att_assertion_verify(&f->ctx, token, strlen(token), client_id, NOW, &got);
}

/* ---- accepted ---- */

static void test_valid_each_alg(void **state)
{
    struct fx *f = *state;
    struct att_principal_rec got;
    EXPECT_OK(try_at(f, &f->rsa, "RS256", NULL, NOW));
    EXPECT_OK(try_at(f, &f->rsa, "PS256", NULL, NOW));
    EXPECT_OK(try_at(f, &f->p256, "ES256", NULL, NOW));
    EXPECT_OK(try_at(f, &f->p384, "ES384", NULL, NOW));

    /* The principal comes back whole, the certificate included. */
    char *claims = claims_for(f, f->p256.p.id, NULL);
    char *token = sign_as(f->p256.key, TU_ES256, "ES256", claims);
    EXPECT_OK(att_assertion_verify(&f->ctx, token, strlen(token), f->p256.p.id, NOW, &got));
    assert_string_equal(got.name, "p256");
    assert_int_equal(got.cert_der_len, f->p256.p.cert_der_len);
    assert_memory_equal(got.cert_der, f->p256.p.cert_der, got.cert_der_len);
    free(token);
    free(claims);
}

static void test_valid_variants(void **state)
{
    struct fx *f = *state;
    /* aud as an array naming the endpoint or the issuer among others; the issuer alone. */
    EXPECT_OK(try_claims(f, "{\"aud\": [\"https://other.example\", \"" ENDPOINT "\"]}"));
    EXPECT_OK(try_claims(f, "{\"aud\": [\"" ISSUER "\"]}"));
    EXPECT_OK(try_claims(f, "{\"aud\": \"" ISSUER "\"}"));
    /* No iat: the lifetime counts from nbf, else from now. */
    EXPECT_OK(try_claims(f, "{\"iat\": null, \"nbf\": 1795000000, \"exp\": 1795000600}"));
    EXPECT_OK(try_claims(f, "{\"iat\": null, \"exp\": 1795000600}"));
    /* Leeway boundaries: 60 s either way, lifetime exactly 600 s. */
    EXPECT_OK(try_claims(f, "{\"iat\": 1794999400, \"exp\": 1794999940}"));
    EXPECT_OK(try_claims(f, "{\"iat\": 1795000060, \"exp\": 1795000660}"));
    EXPECT_OK(try_claims(f, "{\"nbf\": 1795000060}"));
    EXPECT_OK(try_claims(f, "{\"exp\": 1795000600}"));
    /* A jti of exactly 256 bytes; extra claims and a kid are ignored. */
    char extra[400];
    char jti[257];
    memset(jti, 'j', 256);
    jti[256] = 0;
    snprintf(extra, sizeof(extra), "{\"jti\": \"%s\", \"scope\": \"x\"}", jti);
    EXPECT_OK(try_claims(f, extra));
    char *claims = claims_for(f, f->p256.p.id, NULL);
    char *token =
        tu_sign_token(f->p256.key, TU_ES256, "{\"alg\":\"ES256\",\"kid\":\"whatever\"}", claims);
    EXPECT_OK(verify_text(f, token, NULL));
    free(token);
    free(claims);
}

/* ---- claims refused ---- */

static void test_issuer_and_subject(void **state)
{
    struct fx *f = *state;
    EXPECT_ERR(try_claims(f, "{\"iss\": \"someone-else\"}"), ATT_ERR_TOKEN_ISSUER);
    EXPECT_ERR(try_claims(f, "{\"iss\": null}"), ATT_ERR_TOKEN_ISSUER);
    EXPECT_ERR(try_claims(f, "{\"iss\": 7}"), ATT_ERR_TOKEN_ISSUER);
    EXPECT_ERR(try_claims(f, "{\"sub\": null}"), ATT_ERR_TOKEN_SUBJECT);
    EXPECT_ERR(try_claims(f, "{\"sub\": [\"x\"]}"), ATT_ERR_TOKEN_SUBJECT);

    /* The client_id parameter must name the same client. */
    char *claims = claims_for(f, f->p256.p.id, NULL);
    char *token = sign_as(f->p256.key, TU_ES256, "ES256", claims);
    EXPECT_ERR(verify_text(f, token, f->other.p.id), ATT_ERR_TOKEN_SUBJECT);
    EXPECT_ERR(verify_text(f, token, ""), ATT_ERR_TOKEN_SUBJECT);
    free(token);
    free(claims);

    /* Another principal's id, signed with this key: that principal's key does not verify. */
    claims = claims_for(f, f->other.p.id, NULL);
    token = sign_as(f->p256.key, TU_ES256, "ES256", claims);
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_SIGNATURE);
    free(token);
    free(claims);

    /* An id no principal has, of any length. */
    claims = claims_for(f, "00000000-0000-4000-8000-000000000000", NULL);
    token = sign_as(f->p256.key, TU_ES256, "ES256", claims);
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_CREDENTIALS);
    free(token);
    free(claims);
    char long_id[200];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = 0;
    claims = claims_for(f, long_id, NULL);
    token = sign_as(f->p256.key, TU_ES256, "ES256", claims);
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_CREDENTIALS);
    free(token);
    free(claims);
}

static void test_audience(void **state)
{
    struct fx *f = *state;
    EXPECT_ERR(try_claims(f, "{\"aud\": \"https://elsewhere.example/oauth2/token\"}"),
               ATT_ERR_TOKEN_AUDIENCE);
    EXPECT_ERR(try_claims(f, "{\"aud\": \"" ENDPOINT "/\"}"), ATT_ERR_TOKEN_AUDIENCE);
    EXPECT_ERR(try_claims(f, "{\"aud\": \"" ISSUER "/\"}"), ATT_ERR_TOKEN_AUDIENCE);
    EXPECT_ERR(try_claims(f, "{\"aud\": \"attestd\"}"), ATT_ERR_TOKEN_AUDIENCE);
    EXPECT_ERR(try_claims(f, "{\"aud\": null}"), ATT_ERR_TOKEN_AUDIENCE);
    EXPECT_ERR(try_claims(f, "{\"aud\": []}"), ATT_ERR_TOKEN_AUDIENCE);
    EXPECT_ERR(try_claims(f, "{\"aud\": [\"https://a.example\"]}"), ATT_ERR_TOKEN_AUDIENCE);
    EXPECT_ERR(try_claims(f, "{\"aud\": [\"" ENDPOINT "\", 5]}"), ATT_ERR_TOKEN_CLAIMS);
    EXPECT_ERR(try_claims(f, "{\"aud\": {\"x\": 1}}"), ATT_ERR_TOKEN_CLAIMS);
}

static void test_times(void **state)
{
    struct fx *f = *state;
    /* Expired: exp more than 60 s ago. */
    EXPECT_ERR(try_claims(f, "{\"iat\": 1794999400, \"exp\": 1794999939}"), ATT_ERR_TOKEN_EXPIRED);
    EXPECT_ERR(try_at(f, &f->p256, "ES256", NULL, NOW + 300 + 61), ATT_ERR_TOKEN_EXPIRED);
    /* nbf / iat in the future beyond the leeway. */
    EXPECT_ERR(try_claims(f, "{\"nbf\": 1795000061}"), ATT_ERR_TOKEN_NOT_YET_VALID);
    EXPECT_ERR(try_claims(f, "{\"iat\": 1795000061, \"exp\": 1795000300}"),
               ATT_ERR_TOKEN_NOT_YET_VALID);
    EXPECT_ERR(try_at(f, &f->p256, "ES256", NULL, NOW - 61), ATT_ERR_TOKEN_NOT_YET_VALID);
    /* Lifetime over 600 s, from iat, nbf or now; exp not after the start. */
    EXPECT_ERR(try_claims(f, "{\"exp\": 1795000601}"), ATT_ERR_TOKEN_LIFETIME);
    EXPECT_ERR(try_claims(f, "{\"iat\": null, \"nbf\": 1794999990, \"exp\": 1795000591}"),
               ATT_ERR_TOKEN_LIFETIME);
    EXPECT_ERR(try_claims(f, "{\"iat\": null, \"exp\": 1795000601}"), ATT_ERR_TOKEN_LIFETIME);
    EXPECT_ERR(try_claims(f, "{\"exp\": 1795000000}"), ATT_ERR_TOKEN_LIFETIME);
    EXPECT_ERR(try_claims(f, "{\"exp\": 1794999999}"), ATT_ERR_TOKEN_LIFETIME);
    EXPECT_ERR(try_claims(f, "{\"exp\": 4102444800}"), ATT_ERR_TOKEN_LIFETIME);
    /* exp required; times are integers in range. */
    EXPECT_ERR(try_claims(f, "{\"exp\": null}"), ATT_ERR_TOKEN_CLAIMS);
    EXPECT_ERR(try_claims(f, "{\"exp\": \"1795000300\"}"), ATT_ERR_TOKEN_CLAIMS);
    EXPECT_ERR(try_claims(f, "{\"exp\": 1795000300.5}"), ATT_ERR_TOKEN_CLAIMS);
    EXPECT_ERR(try_claims(f, "{\"exp\": -1}"), ATT_ERR_TOKEN_CLAIMS);
    EXPECT_ERR(try_claims(f, "{\"exp\": 9223372036854775807}"), ATT_ERR_TOKEN_CLAIMS);
    EXPECT_ERR(try_claims(f, "{\"iat\": \"now\"}"), ATT_ERR_TOKEN_CLAIMS);
    EXPECT_ERR(try_claims(f, "{\"nbf\": true}"), ATT_ERR_TOKEN_CLAIMS);
    EXPECT_ERR(try_claims(f, "{\"iat\": -9223372036854775807}"), ATT_ERR_TOKEN_CLAIMS);
}

static void test_jti(void **state)
{
    struct fx *f = *state;
    char extra[400];
    char jti[258];
    EXPECT_ERR(try_claims(f, "{\"jti\": null}"), ATT_ERR_TOKEN_CLAIMS);
    EXPECT_ERR(try_claims(f, "{\"jti\": \"\"}"), ATT_ERR_TOKEN_CLAIMS);
    EXPECT_ERR(try_claims(f, "{\"jti\": 42}"), ATT_ERR_TOKEN_CLAIMS);
    memset(jti, 'j', 257);
    jti[257] = 0;
    snprintf(extra, sizeof(extra), "{\"jti\": \"%s\"}", jti);
    EXPECT_ERR(try_claims(f, extra), ATT_ERR_TOKEN_CLAIMS);
}

/* ---- replay ---- */

static void test_replay(void **state)
{
    struct fx *f = *state;
    char *claims = claims_for(f, f->p256.p.id, "{\"jti\": \"once\"}");
    char *token = sign_as(f->p256.key, TU_ES256, "ES256", claims);
    EXPECT_OK(verify_text(f, token, NULL));
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_TOKEN_REPLAY);
    EXPECT_ERR(verify_text(f, token, f->p256.p.id), ATT_ERR_TOKEN_REPLAY);
    free(token);
    free(claims);
    /* A new assertion (new signature, other claims) with the same jti: still a replay. */
    claims = claims_for(f, f->p256.p.id, "{\"jti\": \"once\", \"exp\": 1795000200}");
    token = sign_as(f->p256.key, TU_ES256, "ES256", claims);
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_TOKEN_REPLAY);
    free(token);
    free(claims);
    /* The same jti from another client is that client's own. */
    claims = claims_for(f, f->rsa.p.id, "{\"jti\": \"once\"}");
    token = sign_as(f->rsa.key, TU_RS256, "RS256", claims);
    EXPECT_OK(verify_text(f, token, NULL));
    free(token);
    free(claims);
    /* After the first one's exp + leeway, the jti may come again. */
    struct att_principal_rec got;
    claims = claims_for(f, f->p256.p.id,
                        "{\"jti\": \"once\", \"iat\": 1795000361, \"exp\": 1795000600}");
    token = sign_as(f->p256.key, TU_ES256, "ES256", claims);
    EXPECT_ERR(att_assertion_verify(&f->ctx, token, strlen(token), NULL, NOW + 360, &got),
               ATT_ERR_TOKEN_REPLAY);
    EXPECT_OK(att_assertion_verify(&f->ctx, token, strlen(token), NULL, NOW + 361, &got));
    free(token);
    free(claims);
}

/* A refused assertion does not use up its jti. */
static void test_refusal_keeps_jti(void **state)
{
    struct fx *f = *state;
    char *claims = claims_for(f, f->p256.p.id, "{\"jti\": \"kept\"}");
    char *token = sign_as(f->p256.key, TU_ES256, "ES256", claims);
    EXPECT_OK(att_store_principal_set_disabled(f->store, f->p256.p.id, true));
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_PRINCIPAL_DISABLED);
    EXPECT_OK(att_store_principal_set_disabled(f->store, f->p256.p.id, false));
    EXPECT_OK(verify_text(f, token, NULL));
    free(token);
    free(claims);
}

static void test_replay_cache(void **state)
{
    (void)state;
    struct att_replay *r = NULL;
    const uint8_t a[] = "a";
    const uint8_t b[] = "b";
    const uint8_t c[] = "c";
    EXPECT_ERR(att_replay_new(0, 1, &r), ATT_ERR_ARG);
    EXPECT_ERR(att_replay_new(2, 0, &r), ATT_ERR_ARG);
    EXPECT_ERR(att_replay_new(2, 3, &r), ATT_ERR_ARG);
    EXPECT_OK(att_replay_new(2, 2, &r));
    EXPECT_OK(att_replay_use(r, "x", a, 1, NOW + 10, NOW));
    EXPECT_OK(att_replay_use(r, "y", b, 1, NOW + 20, NOW));
    EXPECT_ERR(att_replay_use(r, "x", a, 1, NOW + 10, NOW), ATT_ERR_TOKEN_REPLAY);
    /* Full of unexpired entries: nothing is evicted, the new one is refused. */
    EXPECT_ERR(att_replay_use(r, "z", c, 1, NOW + 30, NOW + 10), ATT_ERR_REPLAY_CACHE_FULL);
    EXPECT_ERR(att_replay_use(r, "x", a, 1, NOW + 30, NOW + 10), ATT_ERR_TOKEN_REPLAY);
    /* At NOW + 11, "a" has expired: its slot is reused, "b" is still remembered. */
    EXPECT_OK(att_replay_use(r, "z", c, 1, NOW + 30, NOW + 11));
    EXPECT_ERR(att_replay_use(r, "y", b, 1, NOW + 30, NOW + 11), ATT_ERR_TOKEN_REPLAY);
    EXPECT_ERR(att_replay_use(r, "z", c, 1, NOW + 30, NOW + 11), ATT_ERR_TOKEN_REPLAY);
    /* Both expired at NOW + 40: both slots are reused, then the cache is full again. */
    EXPECT_OK(att_replay_use(r, "x", a, 1, NOW + 100, NOW + 40));
    EXPECT_OK(att_replay_use(r, "y", b, 1, NOW + 100, NOW + 40));
    EXPECT_ERR(att_replay_use(r, "z", c, 1, NOW + 100, NOW + 40), ATT_ERR_REPLAY_CACHE_FULL);
    /* The pair is the key: (client, jti) boundaries do not collide. */
    att_replay_free(r);
    EXPECT_OK(att_replay_new(4, 4, &r));
    EXPECT_OK(att_replay_use(r, "ab", (const uint8_t *)"c", 1, NOW + 10, NOW));
    EXPECT_OK(att_replay_use(r, "a", (const uint8_t *)"bc", 2, NOW + 10, NOW));
    EXPECT_OK(att_replay_use(r, "a", (const uint8_t *)"b\0c", 3, NOW + 10, NOW));
    EXPECT_ERR(att_replay_use(NULL, "a", a, 1, NOW, NOW), ATT_ERR_ARG);
    EXPECT_ERR(att_replay_use(r, NULL, a, 1, NOW, NOW), ATT_ERR_ARG);
    att_replay_free(r);
    att_replay_free(NULL);
}

/*
 * F09: one client holds at most its share of the cache; over it, its own new assertions are
 * refused (nothing unexpired is evicted) while every other client's are accepted.
 */
static void test_replay_client_quota(void **state)
{
    (void)state;
    struct att_replay *r = NULL;
    uint8_t jti[16];
    EXPECT_OK(att_replay_new(8, 3, &r));
    for (int i = 0; i < 3; i++) {
        jti[0] = (uint8_t)i;
        EXPECT_OK(att_replay_use(r, "mallory", jti, 1, NOW + 10 + i, NOW));
    }
    jti[0] = 3;
    EXPECT_ERR(att_replay_use(r, "mallory", jti, 1, NOW + 600, NOW), ATT_ERR_REPLAY_CLIENT_QUOTA);
    jti[0] = 0; /* a replay is still called one */
    EXPECT_ERR(att_replay_use(r, "mallory", jti, 1, NOW + 600, NOW), ATT_ERR_TOKEN_REPLAY);
    /* Others are not affected, up to their own share and the table's size. */
    for (int i = 0; i < 3; i++) {
        jti[0] = (uint8_t)i;
        EXPECT_OK(att_replay_use(r, "alice", jti, 1, NOW + 10, NOW));
    }
    EXPECT_OK(att_replay_use(r, "bob", jti, 1, NOW + 10, NOW));
    EXPECT_OK(att_replay_use(r, "carol", jti, 1, NOW + 10, NOW));
    EXPECT_ERR(att_replay_use(r, "dave", jti, 1, NOW + 10, NOW), ATT_ERR_REPLAY_CACHE_FULL);
    /* Once its first entry has expired, the client may use one more. */
    jti[0] = 3;
    EXPECT_ERR(att_replay_use(r, "mallory", jti, 1, NOW + 600, NOW + 10),
               ATT_ERR_REPLAY_CLIENT_QUOTA);
    EXPECT_OK(att_replay_use(r, "mallory", jti, 1, NOW + 600, NOW + 11));
    att_replay_free(r);
}

struct race {
    struct att_replay *r;
    pthread_barrier_t *start;
    att_err rc;
};

static void *race_one(void *arg)
{
    struct race *x = arg;
    pthread_barrier_wait(x->start);
    x->rc = att_replay_use(x->r, "racer", (const uint8_t *)"same", 4, NOW + 10, NOW);
    return NULL;
}

/* Workers race with the same assertion: exactly one wins. */
static void test_replay_threads(void **state)
{
    (void)state;
    enum { N = 8, ROUNDS = 20 };
    for (int round = 0; round < ROUNDS; round++) {
        struct att_replay *r = NULL;
        pthread_barrier_t start;
        pthread_t th[N];
        struct race x[N];
        EXPECT_OK(att_replay_new(64, 64, &r));
        assert_int_equal(pthread_barrier_init(&start, NULL, N), 0);
        for (int i = 0; i < N; i++) {
            x[i] = (struct race){r, &start, ATT_ERR_INTERNAL};
            assert_int_equal(pthread_create(&th[i], NULL, race_one, &x[i]), 0);
        }
        int won = 0;
        for (int i = 0; i < N; i++) {
            assert_int_equal(pthread_join(th[i], NULL), 0);
            if (x[i].rc == ATT_OK) {
                won++;
            } else {
                EXPECT_ERR(x[i].rc, ATT_ERR_TOKEN_REPLAY);
            }
        }
        assert_int_equal(won, 1);
        pthread_barrier_destroy(&start);
        att_replay_free(r);
    }
}

/* ---- algorithms and keys ---- */

static void test_alg_none_and_hmac(void **state)
{
    struct fx *f = *state;
    char *claims = claims_for(f, f->p256.p.id, NULL);
    char *none = tu_token("{\"alg\":\"none\"}", claims, "");
    EXPECT_ERR(verify_text(f, none, NULL), ATT_ERR_ALG_NONE);
    char *none_sig = tu_token("{\"alg\":\"none\"}", claims, "c2ln");
    EXPECT_ERR(verify_text(f, none_sig, NULL), ATT_ERR_ALG_NONE);
    char *hs = tu_token("{\"alg\":\"HS256\"}", claims, "c2lnbmF0dXJl");
    EXPECT_ERR(verify_text(f, hs, NULL), ATT_ERR_ALG_UNSUPPORTED);
    char *noalg = tu_token("{\"typ\":\"JWT\"}", claims, "c2lnbmF0dXJl");
    EXPECT_ERR(verify_text(f, noalg, NULL), ATT_ERR_ALG_UNSUPPORTED);
    char *es512 = tu_token("{\"alg\":\"ES512\"}", claims, "c2lnbmF0dXJl");
    EXPECT_ERR(verify_text(f, es512, NULL), ATT_ERR_ALG_UNSUPPORTED);
    free(none);
    free(none_sig);
    free(hs);
    free(noalg);
    free(es512);
    free(claims);
}

static void test_alg_key_mismatch(void **state)
{
    struct fx *f = *state;
    struct {
        struct client *c;
        const char *header_alg;
        struct tu_sig_spec spec;
    } cases[] = {
        {&f->p256, "ES384", TU_ES256}, {&f->p256, "RS256", TU_ES256}, {&f->p256, "PS256", TU_ES256},
        {&f->p384, "ES256", TU_ES384}, {&f->rsa, "ES256", TU_RS256},  {&f->rsa, "ES384", TU_RS256},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *claims = claims_for(f, cases[i].c->p.id, NULL);
        char *token = sign_as(cases[i].c->key, cases[i].spec, cases[i].header_alg, claims);
        EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_ALG_MISMATCH);
        free(token);
        free(claims);
    }
    /* RS256 in the header, PSS signature (and the reverse): the padding is checked. */
    char *claims = claims_for(f, f->rsa.p.id, NULL);
    char *token = sign_as(f->rsa.key, TU_PS256, "RS256", claims);
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_SIGNATURE);
    free(token);
    token = sign_as(f->rsa.key, TU_RS256, "PS256", claims);
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_SIGNATURE);
    free(token);
    free(claims);
    /* A registered RSA key under 2048 bits cannot verify anything. */
    EXPECT_ERR(try_at(f, &f->small, "RS256", NULL, NOW), ATT_ERR_KEY_TYPE);
}

static void test_wrong_key(void **state)
{
    struct fx *f = *state;
    char *claims = claims_for(f, f->p256.p.id, NULL);
    char *token = sign_as(f->stranger, TU_ES256, "ES256", claims);
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_SIGNATURE);
    free(token);
    token = sign_as(f->other.key, TU_ES256, "ES256", claims);
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_SIGNATURE);
    free(token);
    /* Changed claims under the old signature. */
    token = sign_as(f->p256.key, TU_ES256, "ES256", claims);
    char *other_claims = claims_for(f, f->p256.p.id, "{\"exp\": 1795000100}");
    char *p = tu_b64u_str(other_claims);
    const char *d1 = strchr(token, '.');
    const char *d2 = strchr(d1 + 1, '.');
    struct att_buf b;
    att_buf_init(&b, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_buf_put(&b, token, (size_t)(d1 - token) + 1));
    EXPECT_OK(att_buf_puts(&b, p));
    EXPECT_OK(att_buf_puts(&b, d2));
    EXPECT_ERR(verify_text(f, att_buf_cstr(&b), NULL), ATT_ERR_SIGNATURE);
    att_buf_cleanup(&b);
    free(p);
    free(other_claims);
    free(token);
    free(claims);
    /* A crit header is refused even with a good signature. */
    claims = claims_for(f, f->p256.p.id, NULL);
    token = tu_sign_token(f->p256.key, TU_ES256, "{\"alg\":\"ES256\",\"crit\":[\"exp\"]}", claims);
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_JWS_CRIT);
    free(token);
    free(claims);
}

/* ---- principals ---- */

static void test_disabled_principal(void **state)
{
    struct fx *f = *state;
    EXPECT_OK(att_store_principal_set_disabled(f->store, f->p384.p.id, true));
    EXPECT_ERR(try_at(f, &f->p384, "ES384", NULL, NOW), ATT_ERR_PRINCIPAL_DISABLED);
    /* Without a good signature the caller does not learn that it is disabled. */
    char *claims = claims_for(f, f->p384.p.id, NULL);
    char *token = sign_as(f->p384.key, TU_ES384, "ES384", claims);
    token[strlen(token) - 2] = token[strlen(token) - 2] == 'A' ? 'B' : 'A';
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_SIGNATURE);
    free(token);
    free(claims);
    EXPECT_OK(att_store_principal_set_disabled(f->store, f->p384.p.id, false));
    EXPECT_OK(try_at(f, &f->p384, "ES384", NULL, NOW));
}

static void test_principal_without_certificate(void **state)
{
    struct fx *f = *state;
    char *claims = claims_for(f, f->nocert.p.id, NULL);
    char *token = sign_as(f->stranger, TU_ES256, "ES256", claims);
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_NO_CLIENT_CERT);

    /* Registered, then cleared: refused again. */
    struct client c = f->nocert;
    struct att_buf der;
    att_buf_init(&der, ATT_BUF_DEFAULT_MAX);
    EXPECT_OK(att_x509_self_signed(f->stranger, "stranger", NOW - 10, 1, &der));
    EXPECT_OK(att_principal_set_cert(f->store, c.p.id, der.data, der.len));
    EXPECT_OK(verify_text(f, token, NULL));
    EXPECT_OK(att_principal_set_cert(f->store, c.p.id, NULL, 0));
    free(token);
    free(claims);
    claims = claims_for(f, f->nocert.p.id, NULL);
    token = sign_as(f->stranger, TU_ES256, "ES256", claims);
    EXPECT_ERR(verify_text(f, token, NULL), ATT_ERR_NO_CLIENT_CERT);
    struct att_principal_rec got;
    EXPECT_OK(att_store_principal_get(f->store, c.p.id, &got));
    assert_string_equal(got.cert_sha256, "");
    assert_int_equal(got.cert_der_len, 0);

    /* Registration refuses what is not exactly one certificate. */
    EXPECT_ERR(att_principal_set_cert(f->store, c.p.id, der.data, der.len - 1), ATT_ERR_PARSE);
    EXPECT_OK(att_buf_putc(&der, 0));
    EXPECT_ERR(att_principal_set_cert(f->store, c.p.id, der.data, der.len), ATT_ERR_TRAILING);
    uint8_t big[ATT_PRINCIPAL_CERT_MAX + 1];
    memset(big, 0x30, sizeof(big));
    EXPECT_ERR(att_principal_set_cert(f->store, c.p.id, big, sizeof(big)), ATT_ERR_TOO_LARGE);
    EXPECT_ERR(att_principal_set_cert(f->store, "no-such-id", der.data, der.len - 1),
               ATT_ERR_NOT_FOUND);
    att_buf_cleanup(&der);
    free(token);
    free(claims);
}

/* ---- malformed input ---- */

static void test_malformed(void **state)
{
    struct fx *f = *state;
    EXPECT_ERR(verify_text(f, "", NULL), ATT_ERR_JWS_FORMAT);
    EXPECT_ERR(verify_text(f, "a.b", NULL), ATT_ERR_JWS_FORMAT);
    EXPECT_ERR(verify_text(f, "a.b.c.d", NULL), ATT_ERR_JWS_FORMAT);
    EXPECT_ERR(verify_text(f, "!!.b.c", NULL), ATT_ERR_ENCODING);
    char *t = tu_token("{\"alg\":\"ES256\"}", "not json", "c2ln");
    EXPECT_ERR(verify_text(f, t, NULL), ATT_ERR_JSON);
    free(t);
    t = tu_token("{\"alg\":\"ES256\"}", "[1,2]", "c2ln");
    EXPECT_ERR(verify_text(f, t, NULL), ATT_ERR_JSON);
    free(t);
    t = tu_token("{\"alg\":\"ES256\",\"alg\":\"ES256\"}", "{}", "c2ln");
    EXPECT_ERR(verify_text(f, t, NULL), ATT_ERR_JSON);
    free(t);
    /* Duplicate claims (two sub) are refused, not resolved. */
    char dup[256];
    snprintf(dup, sizeof(dup), "{\"iss\":\"%s\",\"sub\":\"%s\",\"sub\":\"%s\"}", f->p256.p.id,
             f->p256.p.id, f->p256.p.id);
    t = sign_as(f->p256.key, TU_ES256, "ES256", dup);
    EXPECT_ERR(verify_text(f, t, NULL), ATT_ERR_JSON);
    free(t);
    /* Over the size cap, before anything is parsed. */
    char *big = malloc(ATT_ASSERTION_MAX + 2);
    assert_non_null(big);
    memset(big, 'A', ATT_ASSERTION_MAX + 1);
    big[ATT_ASSERTION_MAX + 1] = 0;
    EXPECT_ERR(verify_text(f, big, NULL), ATT_ERR_TOO_LARGE);
    char id[ATT_ASSERTION_CLIENT_ID_MAX + 1];
    EXPECT_ERR(att_assertion_claimed_client(big, strlen(big), id), ATT_ERR_TOO_LARGE);
    free(big);
    struct att_principal_rec got;
    EXPECT_ERR(att_assertion_verify(NULL, "a.b.c", 5, NULL, NOW, &got), ATT_ERR_ARG);
    EXPECT_ERR(att_assertion_verify(&f->ctx, "a.b.c", 5, NULL, NOW, NULL), ATT_ERR_ARG);
}

/* Every prefix of a valid assertion is refused, and nothing crashes or leaks. */
static void test_truncation(void **state)
{
    struct fx *f = *state;
    struct att_principal_rec got;
    char id[ATT_ASSERTION_CLIENT_ID_MAX + 1];
    char *claims = claims_for(f, f->p256.p.id, NULL);
    char *token = sign_as(f->p256.key, TU_ES256, "ES256", claims);
    size_t n = strlen(token);
    for (size_t i = 0; i < n; i++) {
        char *prefix = malloc(i + 1);
        assert_non_null(prefix);
        memcpy(prefix, token, i);
        prefix[i] = 0;
        att_err rc = att_assertion_verify(&f->ctx, prefix, i, NULL, NOW, &got);
        if (rc == ATT_OK) {
            fail_msg("prefix of %zu bytes accepted", i);
        }
        att_ignore_err(att_assertion_claimed_client(prefix, i, id));
        free(prefix);
    }
    /* None of the failures used up the jti. */
    EXPECT_OK(att_assertion_verify(&f->ctx, token, n, NULL, NOW, &got));
    free(token);
    free(claims);
}

static void test_claimed_client(void **state)
{
    struct fx *f = *state;
    char id[ATT_ASSERTION_CLIENT_ID_MAX + 1];
    char *claims = claims_for(f, f->rsa.p.id, NULL);
    char *token = sign_as(f->stranger, TU_ES256, "ES256", claims);
    EXPECT_OK(att_assertion_claimed_client(token, strlen(token), id));
    assert_string_equal(id, f->rsa.p.id);
    free(token);
    free(claims);
    /* No sub: the iss. Neither, or too long: refused. */
    char *t = tu_token("{\"alg\":\"ES256\"}", "{\"iss\":\"from-iss\"}", "c2ln");
    EXPECT_OK(att_assertion_claimed_client(t, strlen(t), id));
    assert_string_equal(id, "from-iss");
    free(t);
    t = tu_token("{\"alg\":\"ES256\"}", "{\"aud\":\"x\"}", "c2ln");
    EXPECT_ERR(att_assertion_claimed_client(t, strlen(t), id), ATT_ERR_TOKEN_SUBJECT);
    free(t);
    char payload[200];
    char long_id[ATT_ASSERTION_CLIENT_ID_MAX + 2];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = 0;
    snprintf(payload, sizeof(payload), "{\"sub\":\"%s\"}", long_id);
    t = tu_token("{\"alg\":\"ES256\"}", payload, "c2ln");
    EXPECT_ERR(att_assertion_claimed_client(t, strlen(t), id), ATT_ERR_TOKEN_SUBJECT);
    free(t);
}

/*
 * The checks without key or store: what they accept (any signature, even a stranger's) and
 * each refusal, so that unsigned and malformed assertions never reach a client's backoff.
 */
static void test_precheck(void **state)
{
    struct fx *f = *state;
    char id[ATT_ASSERTION_CLIENT_ID_MAX + 1] = "untouched";
    char *claims = claims_for(f, f->rsa.p.id, NULL);
    char *token = sign_as(f->stranger, TU_ES256, "ES256", claims);
    EXPECT_OK(att_assertion_precheck(token, strlen(token), NULL, id));
    assert_string_equal(id, f->rsa.p.id);
    EXPECT_OK(att_assertion_precheck(token, strlen(token), f->rsa.p.id, id));
    EXPECT_ERR(att_assertion_precheck(token, strlen(token), f->p256.p.id, id),
               ATT_ERR_TOKEN_SUBJECT);
    free(token);

    struct {
        const char *header;
        const char *payload;
        const char *sig;
        att_err want;
    } cases[] = {
        {"{\"alg\":\"none\"}", claims, "", ATT_ERR_ALG_NONE},
        {"{\"alg\":\"RS256\"}", claims, "", ATT_ERR_SIGNATURE}, /* unsigned, real alg */
        {"{\"alg\":\"ES256\"}", claims, "", ATT_ERR_SIGNATURE},
        {"{\"alg\":\"HS256\"}", claims, "c2ln", ATT_ERR_ALG_UNSUPPORTED},
        {"{\"typ\":\"JWT\"}", claims, "c2ln", ATT_ERR_ALG_UNSUPPORTED},
        {"{\"alg\":\"ES256\",\"crit\":[\"x\"],\"x\":1}", claims, "c2ln", ATT_ERR_JWS_CRIT},
        {"{\"alg\":\"ES256\"}", "not json", "c2ln", ATT_ERR_JSON},
        {"{\"alg\":\"ES256\"}", "{\"iss\":\"a\",\"sub\":\"b\"}", "c2ln", ATT_ERR_TOKEN_ISSUER},
        {"{\"alg\":\"ES256\"}", "{\"iss\":\"a\"}", "c2ln", ATT_ERR_TOKEN_SUBJECT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = tu_token(cases[i].header, cases[i].payload, cases[i].sig);
        att_err rc = att_assertion_precheck(t, strlen(t), NULL, id);
        if (rc != cases[i].want) {
            fail_msg("case %zu: expected %s, got %s", i, att_err_name(cases[i].want),
                     att_err_name(rc));
        }
        /* The full verification refuses them the same way, before the store is asked. */
        EXPECT_ERR(verify_text(f, t, NULL), cases[i].want);
        free(t);
    }
    assert_string_equal(id, f->rsa.p.id); /* untouched by the refusals */
    /* A sub that cannot be a client id names no client. */
    char long_id[ATT_ASSERTION_CLIENT_ID_MAX + 2];
    char payload[200];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = 0;
    snprintf(payload, sizeof(payload), "{\"iss\":\"%s\",\"sub\":\"%s\"}", long_id, long_id);
    char *t = tu_token("{\"alg\":\"ES256\"}", payload, "c2ln");
    EXPECT_ERR(att_assertion_precheck(t, strlen(t), NULL, id), ATT_ERR_CREDENTIALS);
    free(t);
    free(claims);
}

/* The pure claim check on its own: shape errors and what it returns. */
static void test_check_claims(void **state)
{
    (void)state;
    struct att_assertion_claims c;
    const char *ok = "{\"iss\":\"c\",\"sub\":\"c\",\"aud\":\"" ENDPOINT "\",\"exp\":1795000100,"
                     "\"jti\":\"j\\u00e9\"}";
    EXPECT_OK(att_assertion_check_claims((const uint8_t *)ok, strlen(ok), "c", ISSUER, ENDPOINT,
                                         NOW, &c));
    assert_int_equal(c.exp, 1795000100);
    assert_int_equal(c.jti_len, 3);
    assert_memory_equal(c.jti, "j\xc3\xa9", 3);
    EXPECT_ERR(att_assertion_check_claims((const uint8_t *)"", 0, "c", ISSUER, ENDPOINT, NOW, &c),
               ATT_ERR_JSON);
    EXPECT_ERR(
        att_assertion_check_claims((const uint8_t *)"\"s\"", 3, "c", ISSUER, ENDPOINT, NOW, &c),
        ATT_ERR_JSON);
    EXPECT_ERR(
        att_assertion_check_claims((const uint8_t *)ok, strlen(ok), "d", ISSUER, ENDPOINT, NOW, &c),
        ATT_ERR_TOKEN_ISSUER);
    EXPECT_ERR(att_assertion_check_claims(NULL, 1, "c", ISSUER, ENDPOINT, NOW, &c), ATT_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_each_alg),
        cmocka_unit_test(test_valid_variants),
        cmocka_unit_test(test_issuer_and_subject),
        cmocka_unit_test(test_audience),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_jti),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_refusal_keeps_jti),
        cmocka_unit_test(test_replay_cache),
        cmocka_unit_test(test_replay_client_quota),
        cmocka_unit_test(test_replay_threads),
        cmocka_unit_test(test_alg_none_and_hmac),
        cmocka_unit_test(test_alg_key_mismatch),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_disabled_principal),
        cmocka_unit_test(test_principal_without_certificate),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_claimed_client),
        cmocka_unit_test(test_precheck),
        cmocka_unit_test(test_check_claims),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
