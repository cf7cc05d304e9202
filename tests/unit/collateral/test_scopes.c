/*
 * Unit tests for src/collateral/scopes.c and the scope of src/collateral/service.c, on a real
 * SQLite store with evidence from the test PKI (src/demo/testpki.h): a scoped service reads
 * and writes only its scope, the daemon's service never sees a scope's items, one service per
 * distinct set of anchors, and the refusals (docs/internals/demo.md).
 */
#include "att_test.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "collateral/bundle.h"
#include "collateral/scopes.h"
#include "collateral/service.h"
#include "demo/testpki.h"
#include "evidence/intel/intel_root.h"
#include "store_fixture.h"

static int setup(void **state)
{
    return store_fx_setup(state, "scopes", true);
}

static int teardown(void **state)
{
    return store_fx_teardown(state);
}

static void import_bundle(struct att_collateral *cl, const struct att_testpki *pki, int *imported)
{
    struct att_dcap_bundle b;
    char msg[256] = "";
    memset(&b, 0, sizeof(b));
    EXPECT_OK(
        att_dcap_bundle_parse(pki->bundle_json, strlen(pki->bundle_json), &b, msg, sizeof(msg)));
    EXPECT_OK(att_collateral_import(cl, &b, pki->now, false, imported, msg, sizeof(msg)));
    att_dcap_bundle_cleanup(&b);
}

/* The collateral of the PKI's quote from `cl`, at the PKI's time. */
static att_err intel_inputs(struct att_collateral *cl, const struct att_testpki *pki)
{
    struct att_intel_inputs in;
    char msg[256] = "";
    memset(&in, 0, sizeof(in));
    att_err rc = att_collateral_intel(cl, ATT_INTEL_TEE_SGX, (const uint8_t *)pki->pck_chain_pem,
                                      strlen(pki->pck_chain_pem), pki->now, &in, msg, sizeof(msg));
    att_intel_inputs_release(&in);
    return rc;
}

static void test_scoped_service_keeps_to_its_scope(void **state)
{
    struct store_fx *f = *state;
    struct att_testpki pki;
    struct att_collateral_scopes *scopes = NULL;
    struct att_collateral *cl = NULL;
    struct att_collateral *again = NULL;
    struct att_collateral *daemons = NULL;
    struct att_dcap_trust *trust = NULL;
    char msg[256] = "";
    int imported = 0;

    assert_int_equal(att_testpki_build(NULL, &pki), 0);
    EXPECT_OK(att_collateral_scopes_new(f->s, &scopes));
    EXPECT_OK(att_collateral_scopes_get(scopes, pki.root_pem, strlen(pki.root_pem), &cl, msg,
                                        sizeof(msg)));
    EXPECT_OK(att_collateral_scopes_get(scopes, pki.root_pem, strlen(pki.root_pem), &again, msg,
                                        sizeof(msg)));
    assert_ptr_equal(cl, again); /* one service per set of anchors */

    /* Nothing imported yet: missing, like any service. */
    assert_int_equal(intel_inputs(cl, &pki), ATT_ERR_COLLATERAL_MISSING);
    import_bundle(cl, &pki, &imported);
    assert_int_equal(imported, 4);
    EXPECT_OK(intel_inputs(cl, &pki));

    /* Filed under the anchors' scope, not the daemon's. */
    EXPECT_OK(
        att_dcap_trust_from_pem(pki.root_pem, strlen(pki.root_pem), &trust, msg, sizeof(msg)));
    struct att_collateral_rec rec;
    att_collateral_rec_init(&rec);
    EXPECT_ERR(att_store_collateral_get(f->s, "qe_identity", "sgx", &rec), ATT_ERR_NOT_FOUND);
    EXPECT_OK(att_store_collateral_get_scoped(f->s, att_dcap_trust_id(trust), "qe_identity", "sgx",
                                              &rec));
    assert_string_equal(rec.scope, att_dcap_trust_id(trust));
    att_collateral_rec_cleanup(&rec);

    /* The daemon's service, even with the same anchors, never reads another scope. */
    struct att_collateral_config plain = {NULL, NULL, NULL, NULL, 0, 0, NULL};
    EXPECT_OK(att_collateral_new(f->s, trust, &plain, &daemons));
    assert_int_equal(intel_inputs(daemons, &pki), ATT_ERR_COLLATERAL_MISSING);

    att_collateral_free(daemons);
    att_dcap_trust_free(trust);
    att_collateral_scopes_free(scopes);
    att_testpki_free(&pki);
}

/* Another root is another scope: its service holds nothing of the first, and its PCK chains
 * are loaded against its own anchors. */
static void test_two_roots_two_scopes(void **state)
{
    struct store_fx *f = *state;
    struct att_testpki a;
    struct att_testpki b;
    struct att_collateral_scopes *scopes = NULL;
    struct att_collateral *cla = NULL;
    struct att_collateral *clb = NULL;
    char msg[256] = "";
    int imported = 0;

    assert_int_equal(att_testpki_build(NULL, &a), 0);
    assert_int_equal(att_testpki_build(NULL, &b), 0);
    EXPECT_OK(att_collateral_scopes_new(f->s, &scopes));
    EXPECT_OK(
        att_collateral_scopes_get(scopes, a.root_pem, strlen(a.root_pem), &cla, msg, sizeof(msg)));
    EXPECT_OK(
        att_collateral_scopes_get(scopes, b.root_pem, strlen(b.root_pem), &clb, msg, sizeof(msg)));
    assert_ptr_not_equal(cla, clb);
    import_bundle(cla, &a, &imported);
    assert_int_equal(intel_inputs(clb, &b), ATT_ERR_COLLATERAL_MISSING);
    /* a's quote under b's anchors: its chain ends in a root b does not trust. */
    assert_int_equal(intel_inputs(clb, &a), ATT_ERR_ROOT_UNTRUSTED);
    EXPECT_OK(intel_inputs(cla, &a));

    att_collateral_scopes_free(scopes);
    att_testpki_free(&a);
    att_testpki_free(&b);
}

/* A self-signed CA certificate of a fresh P-256 key, as PEM (caller frees). */
static char *new_root_pem(int serial)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIO *bio = BIO_new(BIO_s_mem());
    X509V3_CTX ctx;
    assert_non_null(key);
    assert_non_null(x);
    assert_non_null(bio);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial + 1);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"Scope Root", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    assert_non_null(ex);
    X509_add_ext(x, ex, -1);
    X509_EXTENSION_free(ex);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    PEM_write_bio_X509(bio, x);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    /* (the BIO's bytes end with no NUL: strndup's interceptor may read one past them) */
    char *pem = malloc((size_t)n + 1);
    assert_non_null(pem);
    memcpy(pem, data, (size_t)n);
    pem[n] = '\0';
    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(key);
    return pem;
}

static void test_refusals(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_scopes *scopes = NULL;
    struct att_collateral *cl = NULL;
    struct att_dcap_trust *intel = NULL;
    char msg[256] = "";

    EXPECT_ERR(att_collateral_scopes_new(NULL, &scopes), ATT_ERR_ARG);
    EXPECT_OK(att_collateral_scopes_new(f->s, &scopes));
    EXPECT_ERR(att_collateral_scopes_get(scopes, "not PEM", 7, &cl, msg, sizeof(msg)),
               ATT_ERR_CERT_PARSE);
    EXPECT_ERR(att_collateral_scopes_get(scopes, "", 0, &cl, msg, sizeof(msg)), ATT_ERR_ARG);
    assert_null(cl);

    /* A service's scope must be its anchors' own. */
    EXPECT_OK(att_dcap_trust_from_pem(att_intel_sgx_root_ca_pem, strlen(att_intel_sgx_root_ca_pem),
                                      &intel, msg, sizeof(msg)));
    struct att_collateral_config wrong = {NULL,
                                          NULL,
                                          NULL,
                                          NULL,
                                          0,
                                          0,
                                          "0123456789abcdef0123456789abcdef"
                                          "0123456789abcdef0123456789abcdef"};
    EXPECT_ERR(att_collateral_new(f->s, intel, &wrong, &cl), ATT_ERR_ARG);
    assert_null(cl);
    struct att_collateral_config own = {NULL, NULL, NULL, NULL, 0, 0, att_dcap_trust_id(intel)};
    EXPECT_OK(att_collateral_new(f->s, intel, &own, &cl));
    att_collateral_free(cl);
    att_dcap_trust_free(intel);

    /* At most ATT_COLLATERAL_SCOPES_MAX sets of anchors. */
    for (int i = 0; i <= ATT_COLLATERAL_SCOPES_MAX; i++) {
        char *pem = new_root_pem(i);
        att_err rc = att_collateral_scopes_get(scopes, pem, strlen(pem), &cl, msg, sizeof(msg));
        assert_int_equal(rc, i < ATT_COLLATERAL_SCOPES_MAX ? ATT_OK : ATT_ERR_TOO_LARGE);
        free(pem);
    }
    assert_string_equal(msg, "more than 64 sets of provider trust anchors are in use");
    att_collateral_scopes_free(scopes);
    att_collateral_scopes_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scoped_service_keeps_to_its_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_roots_two_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
