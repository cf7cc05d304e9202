/*
 * Unit tests for src/auth/access.c and src/auth/rbac.c: access tokens issued and validated
 * at chosen times (expiry and not-before cannot be reached in a black-box test), tampering,
 * disabled and deleted principals, and the role table.
 */
#include "att_test.h"

#include <jansson.h>
#include <string.h>

#include "auth/access.h"
#include "auth/principal.h"
#include "auth/rbac.h"
#include "core/codec.h"
#include "seal/keyring.h"
#include "token/jws.h"

#define KEK "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define NOW 1795000000
#define ISSUER "https://attest.example"

struct fx {
    char dir[64];
    char db[128];
    struct att_store *store;
    struct att_keyring *kr;
    struct att_auth *auth;
    struct att_principal_rec p;
    char token[ATT_ACCESS_MAX_TOKEN];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct att_kek kek;
    struct att_new_secret sec;
    struct att_buf tok;
    assert_non_null(f);
    att_test_mkdtemp("access", f->dir, sizeof(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/attestd.db", f->dir);
    EXPECT_OK(att_store_open_sqlite(f->db, &f->store));
    assert_int_equal(setenv("ATT_TEST_ACCESS_KEK", KEK, 1), 0);
    EXPECT_OK(att_kek_load_env("ATT_TEST_ACCESS_KEK", &kek));
    EXPECT_OK(att_keyring_new(f->store, &kek, &f->kr));
    att_kek_wipe(&kek);
    EXPECT_OK(att_auth_new(f->store, f->kr, ISSUER, NOW, &f->auth));
    EXPECT_OK(att_principal_create(f->store, "bot", NOW, 0, &f->p, &sec));
    att_new_secret_wipe(&sec);
    att_buf_init(&tok, sizeof(f->token) - 1);
    EXPECT_OK(att_auth_issue(f->auth, &f->p, NOW, &tok));
    memcpy(f->token, tok.data, tok.len + 1);
    att_buf_cleanup(&tok);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    att_auth_free(f->auth);
    att_keyring_free(f->kr);
    att_store_close(f->store);
    att_test_rmdir(f->dir);
    free(f);
    return 0;
}

static att_err verify_at(struct fx *f, const char *token, int64_t when, struct att_identity *who)
{
    return att_auth_verify(f->auth, f->store, token, strlen(token), when, who);
}

static void test_valid_and_claims(void **state)
{
    struct fx *f = *state;
    struct att_identity who;
    EXPECT_OK(verify_at(f, f->token, NOW + 1, &who));
    assert_string_equal(who.kind, "principal");
    assert_string_equal(who.subject, f->p.id);
    assert_string_equal(who.name, "bot");
    /* Within the leeway on both sides. */
    EXPECT_OK(verify_at(f, f->token, NOW - ATT_ACCESS_LEEWAY, &who));
    EXPECT_OK(verify_at(f, f->token, NOW + ATT_ACCESS_LIFETIME + ATT_ACCESS_LEEWAY, &who));
}

static void test_times(void **state)
{
    struct fx *f = *state;
    struct att_identity who;
    EXPECT_ERR(verify_at(f, f->token, NOW + ATT_ACCESS_LIFETIME + ATT_ACCESS_LEEWAY + 1, &who),
               ATT_ERR_TOKEN_EXPIRED);
    EXPECT_ERR(verify_at(f, f->token, NOW - ATT_ACCESS_LEEWAY - 1, &who),
               ATT_ERR_TOKEN_NOT_YET_VALID);
}

/* The same auth key under another issuer URL (as after a public_url change) is refused. */
static void test_wrong_issuer(void **state)
{
    struct fx *f = *state;
    struct att_auth *other = NULL;
    struct att_identity who;
    EXPECT_OK(att_auth_new(f->store, f->kr, "https://elsewhere.example", NOW, &other));
    EXPECT_ERR(att_auth_verify(other, f->store, f->token, strlen(f->token), NOW, &who),
               ATT_ERR_TOKEN_ISSUER);
    att_auth_free(other);
}

static char *replace_part(const char *token, int part, const char *json)
{
    struct att_buf b;
    const char *d1 = strchr(token, '.');
    const char *d2 = strchr(d1 + 1, '.');
    att_buf_init(&b, 1 << 16);
    if (part == 0) {
        EXPECT_OK(att_b64url_encode(json, strlen(json), &b));
        EXPECT_OK(att_buf_puts(&b, d1));
    } else {
        EXPECT_OK(att_buf_put(&b, token, (size_t)(d1 - token) + 1));
        EXPECT_OK(att_b64url_encode(json, strlen(json), &b));
        EXPECT_OK(att_buf_puts(&b, d2));
    }
    char *out = strdup(att_buf_cstr(&b));
    att_buf_cleanup(&b);
    return out;
}

static void test_tampering(void **state)
{
    struct fx *f = *state;
    struct att_identity who;
    char kid_header[256];
    json_t *hdr = NULL;
    struct att_jws peek;
    EXPECT_OK(att_jws_decode_unverified(f->token, strlen(f->token), &peek));
    const char *kid = json_string_value(json_object_get(peek.header, "kid"));
    snprintf(kid_header, sizeof(kid_header), "{\"alg\":\"none\",\"kid\":\"%s\"}", kid);

    char *none = replace_part(f->token, 0, kid_header);
    EXPECT_ERR(verify_at(f, none, NOW, &who), ATT_ERR_ALG_NONE);
    snprintf(kid_header, sizeof(kid_header), "{\"alg\":\"HS256\",\"kid\":\"%s\"}", kid);
    char *hs = replace_part(f->token, 0, kid_header);
    EXPECT_ERR(verify_at(f, hs, NOW, &who), ATT_ERR_ALG_UNSUPPORTED);
    char *nokid = replace_part(f->token, 0, "{\"alg\":\"ES256\",\"kid\":\"nope\"}");
    EXPECT_ERR(verify_at(f, nokid, NOW, &who), ATT_ERR_TOKEN_KID);
    snprintf(kid_header, sizeof(kid_header), "{\"alg\":\"ES256\",\"alg\":\"ES256\",\"kid\":\"%s\"}",
             kid);
    char *dup = replace_part(f->token, 0, kid_header);
    EXPECT_ERR(verify_at(f, dup, NOW, &who), ATT_ERR_JSON);
    char *longer = replace_part(f->token, 1, "{\"iss\":\"" ISSUER "\",\"aud\":\"attestd\"}");
    EXPECT_ERR(verify_at(f, longer, NOW, &who), ATT_ERR_SIGNATURE);
    /* Truncation anywhere never validates. */
    size_t n = strlen(f->token);
    for (size_t cut = 0; cut < n; cut += 7) {
        char *t = strndup(f->token, cut);
        assert_int_not_equal(verify_at(f, t, NOW, &who), ATT_OK);
        free(t);
    }
    char big[ATT_ACCESS_MAX_TOKEN + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    EXPECT_ERR(verify_at(f, big, NOW, &who), ATT_ERR_TOO_LARGE);
    free(none);
    free(hs);
    free(nokid);
    free(dup);
    free(longer);
    att_jws_cleanup(&peek);
    json_decref(hdr);
}

static void test_disabled_and_deleted(void **state)
{
    struct fx *f = *state;
    struct att_identity who;
    EXPECT_OK(att_store_principal_set_disabled(f->store, f->p.id, true));
    EXPECT_ERR(verify_at(f, f->token, NOW, &who), ATT_ERR_PRINCIPAL_DISABLED);
    EXPECT_OK(att_store_principal_set_disabled(f->store, f->p.id, false));
    EXPECT_OK(verify_at(f, f->token, NOW, &who));
    EXPECT_OK(att_store_principal_delete(f->store, f->p.id));
    EXPECT_ERR(verify_at(f, f->token, NOW, &who), ATT_ERR_CREDENTIALS);
}

/* The auth key persists: a second load verifies tokens of the first. */
static void test_key_survives_restart(void **state)
{
    struct fx *f = *state;
    struct att_auth *again = NULL;
    struct att_identity who;
    EXPECT_OK(att_auth_new(f->store, f->kr, ISSUER, NOW + 5, &again));
    EXPECT_OK(att_auth_verify(again, f->store, f->token, strlen(f->token), NOW, &who));
    att_auth_free(again);
}

static void test_role_table(void **state)
{
    (void)state;
    static const bool want[ATT_ROLE_COUNT][6] = {
        /* public, authenticated, attest, read, write, admin */
        {true, true, true, true, true, true},    /* Owner */
        {true, true, true, true, true, false},   /* AttestationContributor */
        {true, true, true, true, false, false},  /* AttestationReader */
        {true, true, true, false, false, false}, /* Attester */
    };
    for (int r = 0; r < ATT_ROLE_COUNT; r++) {
        enum att_role parsed;
        EXPECT_OK(att_role_parse(att_role_name((enum att_role)r), &parsed));
        assert_int_equal(parsed, r);
        for (int p = 0; p < 6; p++) {
            if (att_role_grants((enum att_role)r, (enum att_perm)p) != want[r][p]) {
                fail_msg("role %s permission %s", att_role_name((enum att_role)r),
                         att_perm_name((enum att_perm)p));
            }
        }
    }
    enum att_role x;
    EXPECT_ERR(att_role_parse("owner", &x), ATT_ERR_ARG);
    EXPECT_ERR(att_role_parse("Contributor", &x), ATT_ERR_ARG);
}

static void test_rbac_scopes(void **state)
{
    struct fx *f = *state;
    struct att_identity who;
    bool ok = true;
    struct att_role_rec r;
    memset(&r, 0, sizeof(r));
    memset(&who, 0, sizeof(who));
    snprintf(who.kind, sizeof(who.kind), "principal");
    snprintf(who.subject, sizeof(who.subject), "%s", f->p.id);
    EXPECT_OK(att_rbac_check(f->store, &who, "p1", ATT_PERM_READ, &ok));
    assert_false(ok);
    snprintf(r.id, sizeof(r.id), "r1");
    snprintf(r.subject_kind, sizeof(r.subject_kind), "principal");
    snprintf(r.subject, sizeof(r.subject), "%s", f->p.id);
    snprintf(r.role, sizeof(r.role), "AttestationReader");
    snprintf(r.provider, sizeof(r.provider), "p1");
    r.created_at = NOW;
    EXPECT_OK(att_store_role_insert(f->store, &r));
    EXPECT_OK(att_rbac_check(f->store, &who, "p1", ATT_PERM_READ, &ok));
    assert_true(ok);
    EXPECT_OK(att_rbac_check(f->store, &who, "p2", ATT_PERM_READ, &ok));
    assert_false(ok);
    EXPECT_OK(att_rbac_check(f->store, &who, "p1", ATT_PERM_WRITE, &ok));
    assert_false(ok);
    EXPECT_OK(att_rbac_check(f->store, &who, "", ATT_PERM_ADMIN, &ok));
    assert_false(ok);
    /* An external subject with the same value is someone else. */
    struct att_identity ext = who;
    snprintf(ext.kind, sizeof(ext.kind), "subject");
    snprintf(ext.issuer, sizeof(ext.issuer), "https://idp.example");
    EXPECT_OK(att_rbac_check(f->store, &ext, "p1", ATT_PERM_READ, &ok));
    assert_false(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_and_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_issuer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_and_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_survives_restart, setup, teardown),
        cmocka_unit_test(test_role_table),
        cmocka_unit_test_setup_teardown(test_rbac_scopes, setup, teardown),
    };
    return cmocka_run_group_tests_name("auth_access", tests, NULL, NULL);
}
