/*
 * Unit tests for src/provider/provider.c over a real SQLite store:
 * create, load, metadata, tokens verifiable from the published certificate,
 * no private key in the database files, refusals, and sealed keys bound to
 * their row.
 */
#include "att_test.h"

#include <jansson.h>
#include <openssl/pem.h>
#include <sqlite3.h>

#include "core/codec.h"
#include "crypto/ecdsa.h"
#include "evidence/intel/dcap.h"
#include "evidence/intel/intel_root.h"
#include "provider/provider.h"
#include "seal/keyring.h"
#include "token/jwk.h"

#define KEK_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEK_B "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f"
#define NOW 1795000000

struct fx {
    char dir[64];
    char db[128];
    struct att_store *store;
    struct att_keyring *kr;
};

static void load_kek(const char *hex, struct att_kek *k)
{
    assert_int_equal(setenv("ATT_TEST_PROVIDER_KEK", hex, 1), 0);
    EXPECT_OK(att_kek_load_env("ATT_TEST_PROVIDER_KEK", k));
    assert_int_equal(unsetenv("ATT_TEST_PROVIDER_KEK"), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct att_kek kek;
    assert_non_null(f);
    att_test_mkdtemp("provider", f->dir, sizeof(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/attestd.db", f->dir);
    EXPECT_OK(att_store_open_sqlite(f->db, &f->store));
    load_kek(KEK_A, &kek);
    EXPECT_OK(att_keyring_new(f->store, &kek, &f->kr));
    att_kek_wipe(&kek);
    bool created = false;
    EXPECT_OK(att_provider_ensure_default(f->store, f->kr, "https://attest.example", ATT_JWS_RS256,
                                          NOW, &created));
    assert_true(created);
    EXPECT_OK(att_provider_create(f->store, f->kr, "tenant-es",
                                  "https://attest.example/providers/tenant-es", ATT_JWS_ES256,
                                  false, NOW));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    att_keyring_free(f->kr);
    att_store_close(f->store);
    att_test_rmdir(f->dir);
    free(f);
    return 0;
}

static void test_load_and_metadata(void **state)
{
    struct fx *f = *state;
    struct att_provider_set *set = NULL;
    bool created = true;
    /* A second ensure_default finds the existing one. */
    EXPECT_OK(att_provider_ensure_default(f->store, f->kr, "https://other.example", ATT_JWS_ES256,
                                          NOW, &created));
    assert_false(created);
    EXPECT_OK(att_provider_set_load(f->store, f->kr, &set));
    assert_int_equal(set->n, 2);
    const struct att_provider *def = att_provider_set_default(set);
    assert_non_null(def);
    assert_string_equal(def->rec.name, "default");
    assert_string_equal(def->rec.issuer, "https://attest.example");
    assert_int_equal(def->alg, ATT_JWS_RS256);
    assert_int_equal(strlen(def->keys[0].kid), 43); /* base64url of a SHA-256 */
    const struct att_provider *es = att_provider_set_find(set, "tenant-es", 9);
    assert_non_null(es);
    assert_null(att_provider_set_find(set, "tenant", 6));
    assert_int_equal(es->alg, ATT_JWS_ES256);

    json_error_t err;
    json_t *jwks = json_loads(att_buf_cstr(&es->jwks), JSON_REJECT_DUPLICATES, &err);
    assert_non_null(jwks);
    json_t *key = json_array_get(json_object_get(jwks, "keys"), 0);
    assert_string_equal(json_string_value(json_object_get(key, "kid")), es->keys[0].kid);
    assert_string_equal(json_string_value(json_object_get(key, "kty")), "EC");
    assert_string_equal(json_string_value(json_object_get(key, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(key, "crv")), "P-256");
    assert_int_equal(json_array_size(json_object_get(key, "x5c")), 1);
    json_decref(jwks);

    json_t *oid = json_loads(att_buf_cstr(&def->openid), JSON_REJECT_DUPLICATES, &err);
    assert_non_null(oid);
    assert_string_equal(json_string_value(json_object_get(oid, "issuer")),
                        "https://attest.example");
    assert_string_equal(json_string_value(json_object_get(oid, "jwks_uri")),
                        "https://attest.example/certs");
    json_decref(oid);
    att_provider_set_free(set);
}

/* A token verifies with nothing but the x5c certificate the provider publishes. */
static void test_token_verifies_from_published_cert(void **state)
{
    struct fx *f = *state;
    struct att_provider_set *set = NULL;
    EXPECT_OK(att_provider_set_load(f->store, f->kr, &set));
    for (size_t i = 0; i < set->n; i++) {
        const struct att_provider *p = &set->items[i];
        struct att_buf token;
        struct att_buf der;
        struct att_jws jws;
        EVP_PKEY *pub = NULL;
        json_t *claims = json_pack("{s:s}", "x-ms-ver", "1.0");
        att_buf_init(&token, 1 << 16);
        att_buf_init(&der, 1 << 16);
        EXPECT_OK(att_provider_issue_token(set, p, claims, NOW, 28800, &token));
        json_t *jwks = json_loads(att_buf_cstr(&p->jwks), 0, NULL);
        const char *x5c = json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(jwks, "keys"), 0), "x5c"), 0));
        EXPECT_OK(att_b64_decode(x5c, strlen(x5c), &der));
        EXPECT_OK(att_jwk_cert_pubkey(der.data, der.len, &pub));
        EXPECT_OK(att_jws_verify(att_buf_cstr(&token), token.len, pub, p->alg, &jws));
        json_t *body = json_loadb((const char *)jws.payload.data, jws.payload.len, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(body, "iss")), p->rec.issuer);
        assert_int_equal(json_integer_value(json_object_get(body, "exp")), NOW + 28800);
        assert_int_equal(strlen(json_string_value(json_object_get(body, "jti"))), 64);
        char jku[600];
        snprintf(jku, sizeof(jku), "%s/certs", p->rec.issuer);
        assert_string_equal(json_string_value(json_object_get(jws.header, "jku")), jku);
        assert_string_equal(json_string_value(json_object_get(jws.header, "kid")), p->keys[0].kid);
        json_decref(body);
        att_jws_cleanup(&jws);
        EVP_PKEY_free(pub);
        json_decref(jwks);
        json_decref(claims);
        att_buf_cleanup(&der);
        att_buf_cleanup(&token);
    }
    att_provider_set_free(set);
}

static bool file_contains(const char *path, const uint8_t *needle, size_t n)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        return false;
    }
    struct att_buf all;
    att_buf_init(&all, 64 << 20);
    uint8_t chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        assert_int_equal(att_buf_put(&all, chunk, got), ATT_OK);
    }
    fclose(fp);
    bool found = all.len >= n && memmem(all.data, all.len, needle, n) != NULL;
    att_buf_cleanup(&all);
    return found;
}

struct key_scan {
    struct fx *f;
    size_t keys;
};

/* For each stored key: open it, then look for its DER, a slice of it, and its PEM in the files. */
static att_err scan_key(const struct att_key_rec *k, void *arg)
{
    struct key_scan *ks = arg;
    struct att_buf der;
    char paths[2][160];
    att_buf_init_secret(&der, 1 << 16);
    EXPECT_OK(att_keyring_open(ks->f->kr, "signing_keys", k->kid, k->sealed_key.data,
                               k->sealed_key.len, &der));
    const unsigned char *p = der.data;
    EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, (long)der.len);
    assert_non_null(key);
    BIO *mem = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL), 1);
    char *pem = NULL;
    long pem_len = BIO_get_mem_data(mem, &pem);
    snprintf(paths[0], sizeof(paths[0]), "%s", ks->f->db);
    snprintf(paths[1], sizeof(paths[1]), "%s-wal", ks->f->db);
    for (int i = 0; i < 2; i++) {
        assert_false(file_contains(paths[i], der.data, der.len));
        assert_false(file_contains(paths[i], der.data + der.len / 2, 32));
        assert_false(file_contains(paths[i], (const uint8_t *)pem, (size_t)pem_len));
        assert_false(file_contains(paths[i], (const uint8_t *)"PRIVATE KEY", 11));
    }
    /* The public certificate, by contrast, is stored in clear: the scan can see the files. */
    assert_true(file_contains(paths[0], k->cert_der.data, k->cert_der.len) ||
                file_contains(paths[1], k->cert_der.data, k->cert_der.len));
    BIO_free(mem);
    EVP_PKEY_free(key);
    att_buf_cleanup(&der);
    ks->keys++;
    return ATT_OK;
}

/* attest_requires_auth: off for new providers, set in the store, seen by the next load. */
static void test_attest_requires_auth_loaded(void **state)
{
    struct fx *f = *state;
    struct att_provider_set *set = NULL;
    EXPECT_OK(att_provider_set_load(f->store, f->kr, &set));
    assert_false(att_provider_set_find(set, "tenant-es", 9)->rec.attest_requires_auth);
    assert_false(att_provider_set_default(set)->rec.attest_requires_auth);
    att_provider_set_free(set);

    EXPECT_OK(att_store_provider_set_attest_requires_auth(f->store, "tenant-es", true));
    EXPECT_OK(att_provider_set_load(f->store, f->kr, &set));
    assert_true(att_provider_set_find(set, "tenant-es", 9)->rec.attest_requires_auth);
    assert_false(att_provider_set_default(set)->rec.attest_requires_auth);
    att_provider_set_free(set);
}

static void test_no_private_key_in_database(void **state)
{
    struct fx *f = *state;
    struct key_scan ks = {f, 0};
    EXPECT_OK(att_store_key_list(f->store, "default", scan_key, &ks));
    EXPECT_OK(att_store_key_list(f->store, "tenant-es", scan_key, &ks));
    assert_int_equal(ks.keys, 2);
}

static void test_refusals(void **state)
{
    struct fx *f = *state;
    static const char *bad_names[] = {
        "",
        "-a",
        "A",
        "a_b",
        "a.b",
        "a/b",
        "0123456789012345678901234567890123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        EXPECT_ERR(att_provider_create(f->store, f->kr, bad_names[i], "https://x.example",
                                       ATT_JWS_RS256, false, NOW),
                   ATT_ERR_ARG);
    }
    static const char *bad_issuers[] = {
        "http://x.example",    "https://x.example/",  "https://",
        "https://x.example?q", "https://x.example#f", "https://x y"};
    for (size_t i = 0; i < sizeof(bad_issuers) / sizeof(bad_issuers[0]); i++) {
        EXPECT_ERR(
            att_provider_create(f->store, f->kr, "ok", bad_issuers[i], ATT_JWS_RS256, false, NOW),
            ATT_ERR_ARG);
    }
    EXPECT_ERR(
        att_provider_create(f->store, f->kr, "ok", "https://x.example", ATT_JWS_NONE, false, NOW),
        ATT_ERR_ALG_UNSUPPORTED);
    EXPECT_ERR(att_provider_create(f->store, f->kr, "tenant-es", "https://x.example", ATT_JWS_ES256,
                                   false, NOW),
               ATT_ERR_EXISTS);
    EXPECT_ERR(att_provider_delete(f->store, f->kr, "default"), ATT_ERR_STATE);
    EXPECT_ERR(att_provider_delete(f->store, f->kr, "nobody"), ATT_ERR_NOT_FOUND);
    /* Nothing above left a trace. */
    struct att_provider_set *set = NULL;
    EXPECT_OK(att_provider_set_load(f->store, f->kr, &set));
    assert_int_equal(set->n, 2);
    att_provider_set_free(set);
    EXPECT_OK(att_provider_delete(f->store, f->kr, "tenant-es"));
    EXPECT_OK(att_provider_set_load(f->store, f->kr, &set));
    assert_int_equal(set->n, 1);
    att_provider_set_free(set);
}

static void test_wrong_kek_refused(void **state)
{
    struct fx *f = *state;
    struct att_kek other;
    struct att_keyring *kr = NULL;
    struct att_provider_set *set = NULL;
    load_kek(KEK_B, &other);
    EXPECT_OK(att_keyring_new(f->store, &other, &kr));
    EXPECT_ERR(att_provider_set_load(f->store, kr, &set), ATT_ERR_KEK_MISMATCH);
    assert_null(set);
    att_keyring_free(kr);
    att_kek_wipe(&other);
}

/* A sealed key copied into another provider's row does not open there (AAD = table + kid). */
static void test_swapped_sealed_keys_refused(void **state)
{
    struct fx *f = *state;
    sqlite3 *db = NULL;
    struct att_provider_set *set = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "UPDATE signing_keys SET sealed_key = (SELECT sealed_key FROM "
                     "signing_keys WHERE provider = 'tenant-es') WHERE provider = 'default'",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    EXPECT_ERR(att_provider_set_load(f->store, f->kr, &set), ATT_ERR_SEAL_AUTH);
    assert_null(set);
}

/*
 * The certificate is stored in clear. Swapping in another one must not publish it: with the
 * kid unchanged the kid no longer matches the certificate; with the kid changed to match,
 * the sealed key's AAD (table + kid) no longer opens.
 */
static void test_swapped_certificate_refused(void **state)
{
    struct fx *f = *state;
    sqlite3 *db = NULL;
    struct att_provider_set *set = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE signing_keys SET cert_der = (SELECT cert_der FROM "
                                  "signing_keys WHERE provider = 'tenant-es') WHERE provider = "
                                  "'default'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    EXPECT_ERR(att_provider_set_load(f->store, f->kr, &set), ATT_ERR_KEY_MISMATCH);
    assert_null(set);
    /* Now make the kid match the certificate (the other provider's row gives way). */
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TEMP TABLE t AS SELECT kid FROM signing_keys WHERE "
                     "provider = 'tenant-es'; DELETE FROM signing_keys WHERE provider "
                     "= 'tenant-es'; UPDATE signing_keys SET kid = (SELECT kid FROM t) "
                     "WHERE provider = 'default'",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    EXPECT_ERR(att_provider_set_load(f->store, f->kr, &set), ATT_ERR_SEAL_AUTH);
    assert_null(set);
}

/* The claims of a token `p` signs. */
static json_t *token_claims(const struct att_provider_set *set, const struct att_provider *p)
{
    struct att_buf token;
    struct att_buf payload;
    json_t *claims = json_object();
    att_buf_init(&token, ATT_JWS_MAX);
    att_buf_init(&payload, ATT_JWS_MAX);
    EXPECT_OK(att_provider_issue_token(set, p, claims, NOW, 600, &token));
    json_decref(claims);
    const char *t = att_buf_cstr(&token);
    const char *dot = strchr(t, '.');
    assert_non_null(dot);
    const char *end = strchr(dot + 1, '.');
    assert_non_null(end);
    EXPECT_OK(att_b64url_decode(dot + 1, (size_t)(end - dot - 1), &payload));
    json_t *out = json_loadb((const char *)payload.data, payload.len, 0, NULL);
    assert_non_null(out);
    att_buf_cleanup(&token);
    att_buf_cleanup(&payload);
    return out;
}

/* docs/internals/demo.md: a provider's own trust anchors, the demo mark in its tokens and
 * metadata, and the refusals. */
static void test_demo_provider(void **state)
{
    struct fx *f = *state;
    const char *pem = att_intel_sgx_root_ca_pem;
    char scope[ATT_COLLATERAL_SCOPE_LEN + 1];
    char msg[128];
    struct att_dcap_trust *t = NULL;
    struct att_provider_extra demo = {NULL, 0, pem, true};
    struct att_provider_extra no_anchors = {NULL, 0, NULL, true};
    struct att_provider_extra not_pem = {NULL, 0, "not a certificate", false};
    char big[ATT_PROVIDER_TRUST_PEM_MAX + 2];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct att_provider_extra too_big = {NULL, 0, big, false};

    EXPECT_ERR(att_provider_create_ex(f->store, f->kr, "d", "https://x.example/providers/d",
                                      ATT_JWS_RS256, false, NOW, &no_anchors),
               ATT_ERR_ARG);
    EXPECT_ERR(att_provider_create_ex(f->store, f->kr, "d", "https://x.example/providers/d",
                                      ATT_JWS_RS256, true, NOW, &demo),
               ATT_ERR_ARG); /* never the default */
    EXPECT_ERR(att_provider_create_ex(f->store, f->kr, "d", "https://x.example/providers/d",
                                      ATT_JWS_RS256, false, NOW, &not_pem),
               ATT_ERR_CERT_PARSE);
    EXPECT_ERR(att_provider_create_ex(f->store, f->kr, "d", "https://x.example/providers/d",
                                      ATT_JWS_RS256, false, NOW, &too_big),
               ATT_ERR_TOO_LARGE);
    EXPECT_ERR(att_provider_trust_scope("", scope, msg, sizeof(msg)), ATT_ERR_ARG);

    /* The scope is the anchors' trust id. */
    EXPECT_OK(att_provider_trust_scope(pem, scope, msg, sizeof(msg)));
    EXPECT_OK(att_dcap_trust_from_pem(pem, strlen(pem), &t, msg, sizeof(msg)));
    assert_string_equal(scope, att_dcap_trust_id(t));
    att_dcap_trust_free(t);

    EXPECT_OK(att_provider_create_ex(f->store, f->kr, "d", "https://x.example/providers/d",
                                     ATT_JWS_ES256, false, NOW, &demo));
    struct att_provider_set *set = NULL;
    EXPECT_OK(att_provider_set_load(f->store, f->kr, &set));
    assert_int_equal(set->n, 3);
    const struct att_provider *d = att_provider_set_find(set, "d", 1);
    const struct att_provider *es = att_provider_set_find(set, "tenant-es", 9);
    assert_true(d->rec.demo);
    assert_string_equal(d->rec.dcap_trust_anchors, pem);
    assert_false(es->rec.demo);
    assert_string_equal(es->rec.dcap_trust_anchors, "");

    json_t *c = token_claims(set, d);
    assert_true(json_is_true(json_object_get(c, ATT_DEMO_CLAIM)));
    json_decref(c);
    c = token_claims(set, es);
    assert_null(json_object_get(c, ATT_DEMO_CLAIM));
    json_decref(c);

    json_t *oid = json_loads(att_buf_cstr(&d->openid), JSON_REJECT_DUPLICATES, NULL);
    assert_true(json_is_true(json_object_get(oid, ATT_DEMO_CLAIM)));
    assert_string_equal(json_string_value(json_object_get(oid, "x-attestd-notice")),
                        ATT_DEMO_NOTICE);
    json_t *names = json_object_get(oid, "claims_supported");
    assert_string_equal(json_string_value(json_array_get(names, json_array_size(names) - 1)),
                        ATT_DEMO_CLAIM);
    json_decref(oid);
    oid = json_loads(att_buf_cstr(&es->openid), JSON_REJECT_DUPLICATES, NULL);
    assert_null(json_object_get(oid, ATT_DEMO_CLAIM));
    assert_null(json_object_get(oid, "x-attestd-notice"));
    json_decref(oid);
    att_provider_set_free(set);
}

/* Deleting a provider drops the collateral of its anchors, once no other provider trusts them. */
static void test_delete_drops_the_scope(void **state)
{
    struct fx *f = *state;
    const char *pem = att_intel_sgx_root_ca_pem;
    char scope[ATT_COLLATERAL_SCOPE_LEN + 1];
    char msg[128];
    struct att_provider_extra own = {NULL, 0, pem, false};
    struct att_collateral_rec r;
    struct att_collateral_rec got;

    EXPECT_OK(att_provider_trust_scope(pem, scope, msg, sizeof(msg)));
    EXPECT_OK(att_provider_create_ex(f->store, f->kr, "one", "https://x.example/providers/one",
                                     ATT_JWS_ES256, false, NOW, &own));
    EXPECT_OK(att_provider_create_ex(f->store, f->kr, "two", "https://x.example/providers/two",
                                     ATT_JWS_ES256, false, NOW, &own));
    att_collateral_rec_init(&r);
    att_collateral_rec_init(&got);
    snprintf(r.scope, sizeof(r.scope), "%s", scope);
    snprintf(r.kind, sizeof(r.kind), "root_crl");
    snprintf(r.source, sizeof(r.source), "import");
    EXPECT_OK(att_buf_puts(&r.body, "crl"));
    uint8_t md[32];
    EXPECT_OK(att_sha256("crl", 3, md));
    for (size_t i = 0; i < 32; i++) {
        snprintf(r.sha256 + 2 * i, 3, "%02x", md[i]);
    }
    r.issued = NOW;
    r.next_update = NOW + 86400;
    EXPECT_OK(att_store_collateral_put(f->store, &r, NULL));

    EXPECT_OK(att_provider_delete(f->store, f->kr, "one")); /* "two" still trusts the root */
    EXPECT_OK(att_store_collateral_get_scoped(f->store, scope, "root_crl", "", &got));
    EXPECT_OK(att_provider_delete(f->store, f->kr, "two"));
    EXPECT_ERR(att_store_collateral_get_scoped(f->store, scope, "root_crl", "", &got),
               ATT_ERR_NOT_FOUND);
    att_collateral_rec_cleanup(&r);
    att_collateral_rec_cleanup(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_and_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_verifies_from_published_cert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attest_requires_auth_loaded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_private_key_in_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_kek_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_sealed_keys_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_certificate_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo_provider, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_drops_the_scope, setup, teardown),
    };
    return cmocka_run_group_tests_name("provider", tests, NULL, NULL);
}
