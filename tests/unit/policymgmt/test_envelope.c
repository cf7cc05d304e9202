/*
 * Unit tests for src/x509/chain.c and src/policymgmt/envelope.c: x5c chains judged at chosen
 * times (validity, CA constraints, signatures), policy JWS envelopes unsigned and signed,
 * tampering, the payload claims of MAA's policy management, truncation at every offset.
 */
#include "att_test.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "core/codec.h"
#include "policymgmt/envelope.h"
#include "signer/signer.h"
#include "token/jws.h"
#include "x509/chain.h"

#define NOW 1795000000
#define DAY 86400

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = NULL;
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &k));
    return k;
}

/* A certificate for `key` issued by `issuer_key` (self-signed when issuer is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                       int64_t not_before, int64_t not_after)
{
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(not_before % 100000));
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before);
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                                              ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

static char *b64_cert(X509 *x)
{
    struct att_buf b;
    att_buf_init(&b, 64 * 1024);
    EXPECT_OK(att_cert_b64(x, &b));
    char *s = strdup(att_buf_cstr(&b));
    att_buf_cleanup(&b);
    return s;
}

static json_t *x5c_of(X509 *a, X509 *b)
{
    json_t *arr = json_array();
    char *s = b64_cert(a);
    json_array_append_new(arr, json_string(s));
    free(s);
    if (b != NULL) {
        s = b64_cert(b);
        json_array_append_new(arr, json_string(s));
        free(s);
    }
    return arr;
}

static att_err check(json_t *x5c, int64_t now)
{
    STACK_OF(X509) *chain = NULL;
    att_err rc = att_x5c_parse(x5c, &chain);
    if (rc == ATT_OK) {
        rc = att_x5c_check_chain(chain, now);
        sk_X509_pop_free(chain, X509_free);
    }
    json_decref(x5c);
    return rc;
}

static void test_chains(void **state)
{
    (void)state;
    EVP_PKEY *root_key = new_key();
    EVP_PKEY *leaf_key = new_key();
    X509 *root = make_cert(root_key, "root", NULL, NULL, true, NOW - DAY, NOW + DAY);
    X509 *leaf = make_cert(leaf_key, "leaf", root, root_key, false, NOW - DAY, NOW + DAY);
    X509 *ca_leaf = make_cert(leaf_key, "leaf-ca", NULL, NULL, true, NOW - DAY, NOW + DAY);
    X509 *plain = make_cert(leaf_key, "plain", NULL, NULL, false, NOW - DAY, NOW + DAY);
    X509 *old = make_cert(root_key, "old", NULL, NULL, true, NOW - 3 * DAY, NOW - DAY);
    X509 *young = make_cert(root_key, "young", NULL, NULL, true, NOW + DAY, NOW + 2 * DAY);
    X509 *by_plain = make_cert(root_key, "by-plain", plain, leaf_key, false, NOW - DAY, NOW + DAY);

    EXPECT_OK(check(x5c_of(leaf, root), NOW));
    EXPECT_OK(check(x5c_of(ca_leaf, NULL), NOW));
    EXPECT_OK(check(x5c_of(root, NULL), NOW));
    /* A single certificate is its own root: it needs CA:TRUE (docs/reference/maa-policy.md §4.1).
     */
    EXPECT_ERR(check(x5c_of(plain, NULL), NOW), ATT_ERR_CERT_NOT_CA);
    EXPECT_ERR(check(x5c_of(leaf, NULL), NOW), ATT_ERR_CERT_NOT_CA);
    /* An issuer without CA constraints. */
    EXPECT_ERR(check(x5c_of(by_plain, plain), NOW), ATT_ERR_CERT_NOT_CA);
    /* Validity, of the leaf and of the root. */
    EXPECT_ERR(check(x5c_of(old, NULL), NOW), ATT_ERR_CERT_EXPIRED);
    EXPECT_ERR(check(x5c_of(young, NULL), NOW), ATT_ERR_CERT_NOT_YET_VALID);
    EXPECT_ERR(check(x5c_of(leaf, root), NOW + 2 * DAY), ATT_ERR_CERT_EXPIRED);
    /* Not issued by the next one. */
    EXPECT_ERR(check(x5c_of(leaf, ca_leaf), NOW), ATT_ERR_CERT_CHAIN);
    /* Malformed x5c values. */
    EXPECT_ERR(check(json_array(), NOW), ATT_ERR_JSON);
    EXPECT_ERR(check(json_pack("[i]", 1), NOW), ATT_ERR_JSON);
    EXPECT_ERR(check(json_pack("[s]", "not base64!"), NOW), ATT_ERR_ENCODING);
    EXPECT_ERR(check(json_pack("[s]", "AAAA"), NOW), ATT_ERR_CERT_PARSE);
    json_t *many = json_array();
    for (int i = 0; i <= ATT_X5C_MAX_CERTS; i++) {
        json_t *one = x5c_of(root, NULL);
        json_array_extend(many, one);
        json_decref(one);
    }
    EXPECT_ERR(check(many, NOW), ATT_ERR_TOO_LARGE);
    /* Trailing bytes after the DER are refused. */
    unsigned char *der = NULL;
    int n = i2d_X509(root, &der);
    unsigned char *longer = malloc((size_t)n + 1);
    memcpy(longer, der, (size_t)n);
    longer[n] = 0;
    struct att_buf b;
    att_buf_init(&b, 64 * 1024);
    EXPECT_OK(att_b64_encode(longer, (size_t)n + 1, &b));
    EXPECT_ERR(check(json_pack("[s]", att_buf_cstr(&b)), NOW), ATT_ERR_CERT_PARSE);
    att_buf_cleanup(&b);
    free(longer);
    OPENSSL_free(der);

    char sha1[41];
    EXPECT_OK(att_cert_sha1_hex(root, sha1));
    assert_int_equal(strlen(sha1), 40);
    for (size_t i = 0; i < 40; i++) {
        assert_true((sha1[i] >= '0' && sha1[i] <= '9') || (sha1[i] >= 'A' && sha1[i] <= 'F'));
    }
    X509 *all[] = {root, leaf, ca_leaf, plain, old, young, by_plain};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        X509_free(all[i]);
    }
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(leaf_key);
}

/* ---- envelopes ---- */

struct env_fx {
    EVP_PKEY *key;
    X509 *cert;
    struct att_signer *signer;
};

static int env_setup(void **state)
{
    struct env_fx *f = calloc(1, sizeof(*f));
    f->key = new_key();
    f->cert = make_cert(f->key, "signer", NULL, NULL, true, NOW - DAY, NOW + DAY);
    EXPECT_OK(att_signer_new(&f->signer));
    assert_int_equal(EVP_PKEY_up_ref(f->key), 1);
    EXPECT_OK(att_signer_add(f->signer, "k", ATT_JWS_ES256, f->key));
    *state = f;
    return 0;
}

static int env_teardown(void **state)
{
    struct env_fx *f = *state;
    att_signer_free(f->signer);
    X509_free(f->cert);
    EVP_PKEY_free(f->key);
    free(f);
    return 0;
}

static char *policy_payload(const char *text)
{
    struct att_buf b;
    att_buf_init(&b, 64 * 1024);
    EXPECT_OK(att_b64url_encode(text, strlen(text), &b));
    json_t *doc = json_pack("{s:s}", "AttestationPolicy", att_buf_cstr(&b));
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    att_buf_cleanup(&b);
    return s;
}

static char *sign_with_x5c(struct env_fx *f, const char *payload)
{
    struct att_buf out;
    att_buf_init(&out, ATT_JWS_MAX);
    json_t *hdr = json_pack("{s:o}", "x5c", x5c_of(f->cert, NULL));
    EXPECT_OK(att_jws_sign(f->signer, "k", hdr, payload, strlen(payload), &out));
    json_decref(hdr);
    char *s = strdup(att_buf_cstr(&out));
    att_buf_cleanup(&out);
    return s;
}

static void test_unsigned_and_signed(void **state)
{
    struct env_fx *f = *state;
    struct att_envelope e;
    struct att_buf text;
    char *payload = policy_payload("version=1.0; authorizationrules{=> permit();};");
    struct att_buf tok;
    att_buf_init(&tok, ATT_JWS_MAX);
    EXPECT_OK(att_jws_sign_none(NULL, payload, strlen(payload), &tok));
    EXPECT_OK(att_envelope_open((const char *)tok.data, tok.len, false, NOW, &e));
    assert_null(att_envelope_signer(&e));
    assert_int_equal(strlen(e.token_hash), 43);
    att_buf_init(&text, 64 * 1024);
    EXPECT_OK(att_envelope_policy_text(&e, &text));
    assert_string_equal(att_buf_cstr(&text), "version=1.0; authorizationrules{=> permit();};");
    att_envelope_cleanup(&e);
    /* An unsigned JWS naming a certificate would show a signer nobody proved: refused. */
    json_t *hdr = json_pack("{s:o}", "x5c", x5c_of(f->cert, NULL));
    struct att_buf claimed;
    att_buf_init(&claimed, ATT_JWS_MAX);
    EXPECT_OK(att_jws_sign_none(hdr, payload, strlen(payload), &claimed));
    EXPECT_ERR(att_envelope_open((const char *)claimed.data, claimed.len, false, NOW, &e),
               ATT_ERR_VALIDATE);
    att_buf_cleanup(&claimed);
    json_decref(hdr);
    /* An unsigned JWS with a signature part is refused. */
    EXPECT_OK(att_buf_puts(&tok, "AAAA"));
    EXPECT_ERR(att_envelope_open((const char *)tok.data, tok.len, false, NOW, &e),
               ATT_ERR_SIGNATURE);

    char *jws = sign_with_x5c(f, payload);
    EXPECT_OK(att_envelope_open(jws, strlen(jws), false, NOW, &e));
    assert_non_null(att_envelope_signer(&e));
    assert_int_equal(X509_cmp(att_envelope_signer(&e), f->cert), 0);
    att_envelope_cleanup(&e);
    /* The signer's certificate has expired by then. */
    EXPECT_ERR(att_envelope_open(jws, strlen(jws), false, NOW + 2 * DAY, &e), ATT_ERR_CERT_EXPIRED);
    /* Tampered payload: the signature no longer holds. */
    char *dot = strchr(jws, '.');
    dot[1] = dot[1] == 'e' ? 'f' : 'e';
    EXPECT_ERR(att_envelope_open(jws, strlen(jws), false, NOW, &e), ATT_ERR_SIGNATURE);
    free(jws);
    /* Signed without x5c. */
    att_buf_reset(&tok);
    EXPECT_OK(att_jws_sign(f->signer, "k", NULL, payload, strlen(payload), &tok));
    EXPECT_ERR(att_envelope_open((const char *)tok.data, tok.len, false, NOW, &e),
               ATT_ERR_VALIDATE);
    att_buf_cleanup(&tok);
    att_buf_cleanup(&text);
    free(payload);
}

static void test_reset_and_certificate_claims(void **state)
{
    struct env_fx *f = *state;
    struct att_envelope e;
    static const char reset[] = "eyJhbGciOiJub25lIn0..";
    EXPECT_OK(att_envelope_open(reset, strlen(reset), true, NOW, &e));
    assert_int_equal(e.payload.len, 0);
    att_envelope_cleanup(&e);
    /* A reset must have an empty payload; an upload must not. */
    EXPECT_ERR(att_envelope_open(reset, strlen(reset), false, NOW, &e), ATT_ERR_JWS_FORMAT);
    static const char not_empty[] = "eyJhbGciOiJub25lIn0.e30.";
    EXPECT_ERR(att_envelope_open(not_empty, strlen(not_empty), true, NOW, &e), ATT_ERR_JWS_FORMAT);

    static const char *const names[] = {"policyCertificate", "maa-policyCertificate",
                                        "x-ms-policyCertificate"};
    for (size_t i = 0; i < 3; i++) {
        json_t *doc =
            json_pack("{s:{s:s,s:o}}", names[i], "kty", "EC", "x5c", x5c_of(f->cert, NULL));
        char *payload = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        char *jws = sign_with_x5c(f, payload);
        X509 *cert = NULL;
        EXPECT_OK(att_envelope_open(jws, strlen(jws), false, NOW, &e));
        EXPECT_OK(att_envelope_policy_certificate(&e, &cert));
        assert_int_equal(X509_cmp(cert, f->cert), 0);
        X509_free(cert);
        att_envelope_cleanup(&e);
        free(jws);
        free(payload);
    }
    char *jws = sign_with_x5c(f, "{\"other\":1}");
    X509 *cert = NULL;
    EXPECT_OK(att_envelope_open(jws, strlen(jws), false, NOW, &e));
    EXPECT_ERR(att_envelope_policy_certificate(&e, &cert), ATT_ERR_NOT_FOUND);
    struct att_buf text;
    att_buf_init(&text, 1024);
    EXPECT_ERR(att_envelope_policy_text(&e, &text), ATT_ERR_JSON);
    att_buf_cleanup(&text);
    att_envelope_cleanup(&e);
    free(jws);
}

static void test_truncated_and_flipped(void **state)
{
    struct env_fx *f = *state;
    struct att_envelope e;
    char *payload = policy_payload("version=1.0; authorizationrules{=> permit();};");
    char *jws = sign_with_x5c(f, payload);
    size_t n = strlen(jws);
    for (size_t i = 0; i < n; i++) {
        assert_int_not_equal(att_envelope_open(jws, i, false, NOW, &e), ATT_OK);
        char saved = jws[i];
        jws[i] = (char)(saved ^ 0x01);
        if (att_envelope_open(jws, n, false, NOW, &e) == ATT_OK) {
            /* Only a flip inside the x5c header member that leaves it decodable to the same
             * certificate could pass; none does with strict base64. */
            fail_msg("a bit flip at %zu was accepted", i);
        }
        jws[i] = saved;
    }
    EXPECT_OK(att_envelope_open(jws, n, false, NOW, &e));
    att_envelope_cleanup(&e);
    EXPECT_ERR(att_envelope_open(jws, ATT_ENVELOPE_MAX + 1, false, NOW, &e), ATT_ERR_TOO_LARGE);
    free(jws);
    free(payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chains),
        cmocka_unit_test_setup_teardown(test_unsigned_and_signed, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_reset_and_certificate_claims, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_flipped, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
