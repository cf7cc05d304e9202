/*
 * Unit tests for src/auth/issuers.c (trusted external token issuers) and the token roles of
 * src/auth/rbac.c: the issuers file refused field by field, tokens of a static-JWKS issuer
 * accepted and refused at chosen times, truncation at every offset, roles from the token.
 * Fetching over https is covered by the black-box suite (tests/integration/test_oidc.py).
 */
#include "att_test.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "auth/issuers.h"
#include "auth/rbac.h"
#include "core/codec.h"
#include "store_fixture.h"
#include "signer/signer.h"
#include "token/jwk.h"
#include "token/jws.h"

#define NOW 1795000000
#define ISS "https://idp.example/tenant"
#define KID "key-1"

struct fx {
    char dir[64];
    char issuers_path[128];
    struct att_signer *signer;
    struct att_signer *other; /* a different key under the same kid */
    struct att_issuers *is;
};

/* BASE64URL(text) as a new C string; free() it. */
static char *tu_b64(const char *text)
{
    struct att_buf b;
    att_buf_init(&b, 65536);
    EXPECT_OK(att_b64url_encode(text, strlen(text), &b));
    char *s = strdup(att_buf_cstr(&b));
    att_buf_cleanup(&b);
    return s;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* A P-256 key under KID in `signer`, and its public JWK. */
static json_t *add_key(struct att_signer *signer, const char *kid)
{
    struct att_buf pkcs8;
    struct att_buf cert;
    json_t *jwk = NULL;
    att_buf_init_secret(&pkcs8, 8192);
    att_buf_init(&cert, 8192);
    EXPECT_OK(att_signer_create_key(ATT_JWS_ES256, "idp", NOW - 86400, 30, &pkcs8, &cert));
    EXPECT_OK(att_signer_add_pkcs8(signer, kid, ATT_JWS_ES256, pkcs8.data, pkcs8.len, cert.data,
                                   cert.len));
    EXPECT_OK(att_jwk_from_cert(cert.data, cert.len, kid, ATT_JWS_ES256, &jwk));
    att_buf_cleanup(&pkcs8);
    att_buf_cleanup(&cert);
    return jwk;
}

static const char issuers_text[] =
    "{\"issuers\": [{\"name\": \"corp\", \"issuer\": \"" ISS "\","
    " \"audiences\": [\"api://attestd\", \"attestd-2\"], \"jwks_file\": \"jwks.json\","
    " \"roles_claim\": \"roles\", \"role_map\": {\"attestd.owner\": \"Owner\","
    " \"attestd.reader\": {\"role\": \"AttestationReader\", \"provider\": \"team-a\"}},"
    " \"groups_claim\": \"groups\", \"required_claims\": {\"tid\": \"t1\"},"
    " \"max_lifetime\": 3600, \"leeway\": 30}]}";

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char path[192];
    char msg[512];
    assert_non_null(f);
    att_test_mkdtemp("issuers", f->dir, sizeof(f->dir));
    EXPECT_OK(att_signer_new(&f->signer));
    EXPECT_OK(att_signer_new(&f->other));
    json_t *keys = json_pack("{s:[o]}", "keys", add_key(f->signer, KID));
    json_decref(add_key(f->other, KID));
    char *text = json_dumps(keys, 0);
    snprintf(path, sizeof(path), "%s/jwks.json", f->dir);
    write_file(path, text);
    free(text);
    json_decref(keys);
    snprintf(f->issuers_path, sizeof(f->issuers_path), "%s/issuers.json", f->dir);
    write_file(f->issuers_path, issuers_text);
    EXPECT_OK(
        att_issuers_load(f->issuers_path, "https://attestd.example", &f->is, msg, sizeof(msg)));
    assert_int_equal(att_issuers_count(f->is), 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    att_issuers_free(f->is);
    att_signer_free(f->signer);
    att_signer_free(f->other);
    att_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* A token with these claims (JSON text) signed by `signer` under KID. */
static char *sign(struct att_signer *signer, const char *claims)
{
    struct att_buf out;
    att_buf_init(&out, ATT_JWS_MAX);
    EXPECT_OK(att_jws_sign(signer, KID, NULL, claims, strlen(claims), &out));
    char *t = strdup(att_buf_cstr(&out));
    att_buf_cleanup(&out);
    return t;
}

static char *claims_with(const char *extra_json)
{
    json_t *c =
        json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:[s,s],s:[s,s]}", "iss", ISS, "sub", "user-42", "aud",
                  "api://attestd", "iat", (json_int_t)NOW - 10, "exp", (json_int_t)NOW + 600, "tid",
                  "t1", "roles", "attestd.reader", "other", "groups", "ops", "dev");
    json_t *extra = json_loads(extra_json, 0, NULL);
    assert_non_null(extra);
    json_object_update(c, extra);
    json_decref(extra);
    char *text = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    return text;
}

static att_err verify_claims(struct fx *f, const char *extra_json, struct att_identity *who)
{
    char *claims = claims_with(extra_json);
    char *token = sign(f->signer, claims);
    att_err rc = att_issuers_verify(f->is, token, strlen(token), NOW, who);
    free(claims);
    free(token);
    return rc;
}

static void test_valid_token(void **state)
{
    struct fx *f = *state;
    struct att_identity who;
    EXPECT_OK(verify_claims(f, "{}", &who));
    assert_string_equal(who.kind, "subject");
    assert_string_equal(who.subject, "user-42");
    assert_string_equal(who.issuer, ISS);
    assert_string_equal(who.name, "corp");
    assert_int_equal(who.n_groups, 2);
    assert_string_equal(who.groups[0], "ops");
    assert_string_equal(who.groups[1], "dev");
    /* "other" is not in role_map: only the reader role on team-a. */
    assert_int_equal(who.n_token_roles, 1);
    assert_int_equal(who.token_roles[0].role, ATT_ROLE_READER);
    assert_string_equal(who.token_roles[0].provider, "team-a");
    /* aud as an array holding one accepted value; roles as one string. */
    EXPECT_OK(
        verify_claims(f, "{\"aud\": [\"x\", \"attestd-2\"], \"roles\": \"attestd.owner\"}", &who));
    assert_int_equal(who.n_token_roles, 1);
    assert_int_equal(who.token_roles[0].role, ATT_ROLE_OWNER);
    assert_string_equal(who.token_roles[0].provider, "*");
}

static void test_claims_refused(void **state)
{
    struct fx *f = *state;
    struct att_identity who;
    static const struct {
        const char *extra;
        att_err want;
    } cases[] = {
        {"{\"aud\": \"api://other\"}", ATT_ERR_TOKEN_AUDIENCE},
        {"{\"aud\": []}", ATT_ERR_TOKEN_AUDIENCE},
        {"{\"aud\": [1]}", ATT_ERR_TOKEN_AUDIENCE},
        {"{\"aud\": null}", ATT_ERR_TOKEN_AUDIENCE},
        {"{\"exp\": 1794999900}", ATT_ERR_TOKEN_EXPIRED}, /* past the 30 s leeway */
        {"{\"exp\": \"1795000600\"}", ATT_ERR_TOKEN_CLAIMS},
        {"{\"exp\": null}", ATT_ERR_TOKEN_CLAIMS},
        {"{\"iat\": 1795000100}", ATT_ERR_TOKEN_NOT_YET_VALID},
        {"{\"nbf\": 1795000100}", ATT_ERR_TOKEN_NOT_YET_VALID},
        {"{\"exp\": 1795003700}", ATT_ERR_TOKEN_LIFETIME}, /* iat - 10 .. +3700 > 3600 */
        {"{\"exp\": 9223372036854775807}", ATT_ERR_TOKEN_LIFETIME},
        {"{\"iat\": -9223372036854775807}", ATT_ERR_TOKEN_LIFETIME},
        /* exp - iat would overflow and wrap negative (found in review). */
        {"{\"iat\": -9223372036000000000, \"exp\": 4000000000000000000}", ATT_ERR_TOKEN_LIFETIME},
        {"{\"tid\": \"t2\"}", ATT_ERR_TOKEN_CLAIMS},
        {"{\"tid\": 1}", ATT_ERR_TOKEN_CLAIMS},
        {"{\"sub\": \"\"}", ATT_ERR_TOKEN_CLAIMS},
        {"{\"sub\": 42}", ATT_ERR_TOKEN_CLAIMS},
        {"{\"groups\": {\"a\": 1}}", ATT_ERR_TOKEN_CLAIMS},
        {"{\"roles\": [\"attestd.owner\", 7]}", ATT_ERR_TOKEN_CLAIMS},
        {"{\"iss\": \"https://idp.example/other\"}", ATT_ERR_TOKEN_ISSUER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        att_err rc = verify_claims(f, cases[i].extra, &who);
        if (rc != cases[i].want) {
            fail_msg("%s: got %s, want %s", cases[i].extra, att_err_name(rc),
                     att_err_name(cases[i].want));
        }
    }
    /* Without iat or nbf the lifetime counts from now. */
    char *claims = claims_with("{}");
    json_t *c = json_loads(claims, 0, NULL);
    json_object_del(c, "iat");
    json_object_set_new(c, "exp", json_integer(NOW + 3601));
    char *text = json_dumps(c, JSON_COMPACT);
    char *token = sign(f->signer, text);
    EXPECT_ERR(att_issuers_verify(f->is, token, strlen(token), NOW, &who), ATT_ERR_TOKEN_LIFETIME);
    free(claims);
    free(text);
    free(token);
    json_decref(c);
}

static void test_keys_and_algs_refused(void **state)
{
    struct fx *f = *state;
    struct att_identity who;
    char *claims = claims_with("{}");
    /* The same kid, another key: the signature fails. */
    char *token = sign(f->other, claims);
    EXPECT_ERR(att_issuers_verify(f->is, token, strlen(token), NOW, &who), ATT_ERR_SIGNATURE);
    free(token);
    /* An unknown kid (a static set is never refetched). */
    char *p = tu_b64(claims);
    char *h = tu_b64("{\"alg\":\"ES256\",\"kid\":\"key-2\"}");
    char forged[4096];
    snprintf(forged, sizeof(forged), "%s.%s.%s", h, p, "AAAA");
    EXPECT_ERR(att_issuers_verify(f->is, forged, strlen(forged), NOW, &who), ATT_ERR_TOKEN_KID);
    free(h);
    /* alg none, and HS256 named with the right kid. */
    h = tu_b64("{\"alg\":\"none\",\"kid\":\"key-1\"}");
    snprintf(forged, sizeof(forged), "%s.%s.", h, p);
    EXPECT_ERR(att_issuers_verify(f->is, forged, strlen(forged), NOW, &who), ATT_ERR_ALG_NONE);
    free(h);
    h = tu_b64("{\"alg\":\"HS256\",\"kid\":\"key-1\"}");
    snprintf(forged, sizeof(forged), "%s.%s.%s", h, p, "c2lnbmF0dXJl");
    EXPECT_ERR(att_issuers_verify(f->is, forged, strlen(forged), NOW, &who),
               ATT_ERR_ALG_UNSUPPORTED);
    free(h);
    h = tu_b64("{\"alg\":\"RS256\",\"kid\":\"key-1\"}");
    snprintf(forged, sizeof(forged), "%s.%s.%s", h, p, "c2lnbmF0dXJl");
    EXPECT_ERR(att_issuers_verify(f->is, forged, strlen(forged), NOW, &who), ATT_ERR_ALG_MISMATCH);
    free(h);
    /* Unknown issuer, and oversized input. */
    free(p);
    p = tu_b64("{\"iss\":\"https://evil.example\"}");
    h = tu_b64("{\"alg\":\"ES256\",\"kid\":\"key-1\"}");
    snprintf(forged, sizeof(forged), "%s.%s.%s", h, p, "AAAA");
    EXPECT_ERR(att_issuers_verify(f->is, forged, strlen(forged), NOW, &who), ATT_ERR_TOKEN_ISSUER);
    char *big = calloc(1, ATT_ISSUER_TOKEN_MAX + 2);
    memset(big, 'A', ATT_ISSUER_TOKEN_MAX + 1);
    EXPECT_ERR(att_issuers_verify(f->is, big, ATT_ISSUER_TOKEN_MAX + 1, NOW, &who),
               ATT_ERR_TOO_LARGE);
    free(big);
    free(h);
    free(p);
    free(claims);
}

static void test_truncated_and_flipped(void **state)
{
    struct fx *f = *state;
    struct att_identity who;
    char *claims = claims_with("{}");
    char *token = sign(f->signer, claims);
    size_t n = strlen(token);
    for (size_t i = 0; i < n; i++) {
        assert_int_not_equal(att_issuers_verify(f->is, token, i, NOW, &who), ATT_OK);
    }
    for (size_t i = 0; i < n; i++) {
        char saved = token[i];
        token[i] = (char)(saved ^ 0x01);
        att_err rc = att_issuers_verify(f->is, token, n, NOW, &who);
        token[i] = saved;
        /* Flipping a bit can leave base64url meaning the same bytes (the last character's
         * unused bits are refused by the strict decoder), never a different valid token. */
        assert_int_not_equal(rc, ATT_OK);
    }
    EXPECT_OK(att_issuers_verify(f->is, token, n, NOW, &who));
    free(token);
    free(claims);
}

static void test_file_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *says;
    } cases[] = {
        {"[]", "must be {\"issuers\""},
        {"{\"issuers\": [], \"x\": 1}", "must be {\"issuers\""},
        {"{\"issuers\": [1]}", "issuers[0]: must be an object"},
        {"{\"issuers\": [{\"name\": \"a\", \"nam\": 1}]}", "unknown member \"nam\""},
        {"{\"issuers\": [{\"issuer\": \"https://i\"}]}", "issuers[0].name: must be a non-empty"},
        {"{\"issuers\": [{\"name\": \"A b\", \"issuer\": \"https://i\"}]}", "issuers[0].name: use"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"https://i\"}]}", ".audiences: must be"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"https://i\", \"audiences\": [\"\"]}]}",
         ".audiences: must be a non-empty string"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"https://i\", \"audiences\": [\"x\"]}]}",
         "give exactly one of discovery, jwks_uri and jwks_file"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"https://i\", \"audiences\": [\"x\"],"
         " \"discovery\": true, \"jwks_file\": \"f\"}]}",
         "give exactly one"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"http://i\", \"audiences\": [\"x\"],"
         " \"discovery\": true}]}",
         "discovery needs an https issuer URL"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"https://i\", \"audiences\": [\"x\"],"
         " \"jwks_uri\": \"http://i/keys\"}]}",
         ".jwks_uri: must be an https URL"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\", \"ca_file\": \"c\"}]}",
         ".ca_file: only applies"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\", \"roles_claim\": \"roles\"}]}",
         "roles_claim and role_map go together"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\", \"roles_claim\": \"r\", \"role_map\": {\"v\": \"Admin\"}}]}",
         "roles are Owner, AttestationContributor"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\", \"roles_claim\": \"r\", \"role_map\": {\"v\": {\"role\":"
         " \"Owner\", \"provider\": \"Bad Name\"}}}]}",
         "provider must be a provider name"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\", \"roles_claim\": \"r\", \"role_map\": {\"v\": {\"role\":"
         " \"Owner\", \"scope\": \"x\"}}}]}",
         "members other than role and provider"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\", \"leeway\": 301}]}",
         ".leeway: must be a whole number of seconds from 0 to 300"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\", \"max_lifetime\": 1.5}]}",
         ".max_lifetime: must be a whole number"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\", \"required_claims\": {\"tid\": 1}}]}",
         ".required_claims: must be a non-empty string"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\"}, {\"name\": \"a\", \"issuer\": \"k9s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\"}]}",
         "issuers[1].name: is used by another issuer"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\"}, {\"name\": \"b\", \"issuer\": \"k8s\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\"}]}",
         "issuers[1].issuer: is listed twice"},
        {"{\"issuers\": [{\"name\": \"a\", \"issuer\": \"https://me\", \"audiences\": [\"x\"],"
         " \"jwks_file\": \"f\"}]}",
         "is attestd's own public_url"},
        {"{\"issuers\": [], \"issuers\": []}", "duplicate object key"},
        {"{\"issuers\": [", "t.json:1:"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct att_issuers *is = NULL;
        char msg[512] = "";
        att_err rc = att_issuers_parse("t.json", cases[i].text, strlen(cases[i].text), "https://me",
                                       &is, msg, sizeof(msg));
        if (rc == ATT_OK || strstr(msg, cases[i].says) == NULL) {
            fail_msg("case %zu: %s -> %s (\"%s\"), want a message with \"%s\"", i, cases[i].text,
                     att_err_name(rc), msg, cases[i].says);
        }
        assert_null(is);
    }
}

static void test_load_errors(void **state)
{
    struct fx *f = *state;
    char path[192];
    char msg[512];
    struct att_issuers *is = NULL;
    /* A static JWKS file that is missing, or holds a private key, fails the load. */
    snprintf(path, sizeof(path), "%s/bad.json", f->dir);
    write_file(path, "{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": "
                     "[\"x\"], \"jwks_file\": \"missing.json\"}]}");
    EXPECT_ERR(att_issuers_load(path, NULL, &is, msg, sizeof(msg)), ATT_ERR_NOT_FOUND);
    assert_non_null(strstr(msg, "missing.json: not found"));
    char keys[192];
    snprintf(keys, sizeof(keys), "%s/private.json", f->dir);
    write_file(keys, "{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}");
    write_file(path, "{\"issuers\": [{\"name\": \"a\", \"issuer\": \"k8s\", \"audiences\": "
                     "[\"x\"], \"jwks_file\": \"private.json\"}]}");
    EXPECT_ERR(att_issuers_load(path, NULL, &is, msg, sizeof(msg)), ATT_ERR_VALIDATE);
    assert_non_null(strstr(msg, "the JWK Set is invalid"));
    EXPECT_ERR(att_issuers_load("/nonexistent/issuers.json", NULL, &is, msg, sizeof(msg)),
               ATT_ERR_NOT_FOUND);
    /* An https source that cannot be reached: the load succeeds, its tokens are refused. */
    write_file(path, "{\"issuers\": [{\"name\": \"a\", \"issuer\": \"https://127.0.0.1:1\","
                     " \"audiences\": [\"x\"], \"discovery\": true}]}");
    EXPECT_OK(att_issuers_load(path, NULL, &is, msg, sizeof(msg)));
    char *p = tu_b64("{\"iss\":\"https://127.0.0.1:1\"}");
    char *h = tu_b64("{\"alg\":\"ES256\",\"kid\":\"k\"}");
    char token[512];
    snprintf(token, sizeof(token), "%s.%s.AAAA", h, p);
    struct att_identity who;
    EXPECT_ERR(att_issuers_verify(is, token, strlen(token), NOW, &who), ATT_ERR_TOKEN_KID);
    free(p);
    free(h);
    att_issuers_free(is);
}

static void test_token_roles_in_rbac(void **state)
{
    struct store_fx *sf = *state;
    struct att_identity who;
    bool allowed = false;
    memset(&who, 0, sizeof(who));
    snprintf(who.kind, sizeof(who.kind), "subject");
    snprintf(who.subject, sizeof(who.subject), "user-42");
    snprintf(who.issuer, sizeof(who.issuer), ISS);
    who.n_token_roles = 1;
    who.token_roles[0].role = ATT_ROLE_READER;
    snprintf(who.token_roles[0].provider, sizeof(who.token_roles[0].provider), "team-a");
    EXPECT_OK(att_rbac_check(sf->s, &who, "team-a", ATT_PERM_READ, &allowed));
    assert_true(allowed);
    /* Scoped to team-a: nothing on team-b, and a reader never writes. */
    EXPECT_OK(att_rbac_check(sf->s, &who, "team-b", ATT_PERM_READ, &allowed));
    assert_false(allowed);
    EXPECT_OK(att_rbac_check(sf->s, &who, "team-a", ATT_PERM_WRITE, &allowed));
    assert_false(allowed);
    who.token_roles[0].role = ATT_ROLE_OWNER;
    snprintf(who.token_roles[0].provider, sizeof(who.token_roles[0].provider), "*");
    EXPECT_OK(att_rbac_check(sf->s, &who, "", ATT_PERM_ADMIN, &allowed));
    assert_true(allowed);
}

static int rbac_setup(void **state)
{
    return store_fx_setup(state, "issuers-rbac", true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_and_algs_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_flipped, setup, teardown),
        cmocka_unit_test(test_file_refused),
        cmocka_unit_test_setup_teardown(test_load_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_roles_in_rbac, rbac_setup, store_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
