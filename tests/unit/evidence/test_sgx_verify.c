/*
 * test_sgx_verify.c - SGX quote verification (src/evidence/intel/{dcap,verify}.c) on the real
 * samples of tests/fixtures/dcap at times inside and outside their collateral windows
 * (tests/fixtures/dcap/README.md), and a bit flip in every signed region of a real quote.
 * The branches real samples cannot reach are in test_sgx_branches.c (test PKI).
 */
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "collateral/bundle.h"
#include "collateral/service.h"
#include "dcap_fixtures.h"
#include "evidence/intel/intel_root.h"
#include "evidence/intel/verify.h"

#define SGX01_QUOTE "dcap/sgx/sgx01_dcapqvl_quote.bin"
#define SGX01_BUNDLE "dcap/sgx/sgx01_dcapqvl_collateral.json"
#define SGX02_QUOTE "dcap/sgx/sgx02_automata_debug_quote.hex"
#define SGX03_QUOTE "dcap/sgx/sgx03_automata_godcap_quote.hex"
#define BUNDLE_00606A "dcap/sgx/collateral_00606a000000_2025-08_bundle.json"
#define SGX01_FROM "2025-06-19T10:56:11Z"
#define SGX01_UNTIL "2025-07-19T10:01:18Z"
#define B00606A_FROM "2025-08-15T05:41:26Z"
#define B00606A_UNTIL "2025-09-14T04:36:46Z"

/* Verify `quote` with `bundle` at `at`; *v filled on success; returns the result. */
static att_err verify_at(const struct att_dcap_trust *trust, const char *quote, const char *bundle,
                         int64_t at, int64_t grace, struct att_intel_verdict *v, char *msg,
                         size_t msg_len)
{
    struct att_buf qb;
    struct att_intel_quote q;
    struct att_intel_inputs in;
    struct att_dcap_item *pck = NULL;
    fixture_load(quote, &qb);
    EXPECT_OK(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_SGX, &q, msg, msg_len));
    fixture_load_inputs(trust, bundle, &in);
    EXPECT_OK(
        att_dcap_pck_chain_load(trust, q.sig.pck_pem.ptr, q.sig.pck_pem.len, &pck, msg, msg_len));
    struct att_intel_collateral c = att_intel_inputs_view(&in);
    att_err rc = att_intel_quote_verify(&q, pck, &c, at, grace, v, msg, msg_len);
    att_dcap_item_unref(pck);
    att_intel_inputs_release(&in);
    att_buf_cleanup(&qb);
    return rc;
}

static void expect_advisories(const struct att_intel_verdict *v, const char *const *want, size_t n)
{
    assert_int_equal(v->n_advisories, n);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t k = 0; k < v->n_advisories; k++) {
            found = found || strcmp(v->advisories[k], want[i]) == 0;
        }
        if (!found) {
            fail_msg("advisory %s missing", want[i]);
        }
    }
}

/* MANIFEST: valid, ConfigurationAndSWHardeningNeeded, INTEL-SA-00289, INTEL-SA-00615. */
static void test_sgx01_in_window(void **state)
{
    struct att_intel_verdict v;
    char msg[256] = "";
    static const char *const want[] = {"INTEL-SA-00289", "INTEL-SA-00615"};
    int64_t at[] = {fixture_time(SGX01_FROM), fixture_time(SGX01_FROM) + 3600,
                    fixture_time(SGX01_UNTIL)};
    for (size_t i = 0; i < 3; i++) {
        att_err rc = verify_at(*state, SGX01_QUOTE, SGX01_BUNDLE, at[i], 0, &v, msg, sizeof(msg));
        if (rc != ATT_OK) {
            fail_msg("at %lld: %s: %s", (long long)at[i], att_err_name(rc), msg);
        }
        assert_int_equal(v.status, ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
        assert_int_equal(v.qe_status, ATT_TCB_UP_TO_DATE);
        assert_int_equal(v.tcb_eval_num, 17);
        expect_advisories(&v, want, 2);
    }
}

/* MANIFEST: valid, SWHardeningNeeded, INTEL-SA-00615. */
static void test_sgx03_in_window(void **state)
{
    struct att_intel_verdict v;
    char msg[256] = "";
    static const char *const want[] = {"INTEL-SA-00615"};
    att_err rc = verify_at(*state, SGX03_QUOTE, BUNDLE_00606A, fixture_time(B00606A_FROM) + 3600, 0,
                           &v, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s: %s", att_err_name(rc), msg);
    }
    assert_int_equal(v.status, ATT_TCB_SW_HARDENING_NEEDED);
    expect_advisories(&v, want, 1);
}

/* MANIFEST: signatures and chain good; a debug enclave, which only policy catches. */
static void test_sgx02_debug_verifies(void **state)
{
    struct att_intel_verdict v;
    char msg[256] = "";
    att_err rc = verify_at(*state, SGX02_QUOTE, BUNDLE_00606A, fixture_time(B00606A_FROM) + 3600, 0,
                           &v, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s: %s", att_err_name(rc), msg);
    }
}

/* Outside the window: the item and date are named; a grace period covers nextUpdate only. */
static void test_sgx01_out_of_window(void **state)
{
    struct att_intel_verdict v;
    char msg[256] = "";
    EXPECT_ERR(verify_at(*state, SGX01_QUOTE, SGX01_BUNDLE, fixture_time(SGX01_FROM) - 1, 0, &v,
                         msg, sizeof(msg)),
               ATT_ERR_COLLATERAL_NOT_YET_VALID);
    assert_string_equal(msg, "TCB info is issued at 2025-06-19T10:56:11Z, after the verification "
                             "time");
    EXPECT_ERR(verify_at(*state, SGX01_QUOTE, SGX01_BUNDLE, fixture_time(SGX01_UNTIL) + 1, 0, &v,
                         msg, sizeof(msg)),
               ATT_ERR_COLLATERAL_EXPIRED);
    assert_string_equal(msg, "QE identity passed its nextUpdate 2025-07-19T10:01:18Z");
    /* Today: long expired. */
    EXPECT_ERR(
        verify_at(*state, SGX01_QUOTE, SGX01_BUNDLE, (int64_t)time(NULL), 0, &v, msg, sizeof(msg)),
        ATT_ERR_COLLATERAL_EXPIRED);
    /* A day of grace past the QE identity's nextUpdate (but not past the PCK CRL's). */
    EXPECT_OK(verify_at(*state, SGX01_QUOTE, SGX01_BUNDLE, fixture_time(SGX01_UNTIL) + 3600, 86400,
                        &v, msg, sizeof(msg)));
}

/* Collateral of another platform: the PCK CRL is the other CA's (step 4 comes first). */
static void test_wrong_collateral(void **state)
{
    struct att_intel_verdict v;
    char msg[256] = "";
    EXPECT_ERR(verify_at(*state, SGX01_QUOTE, BUNDLE_00606A, fixture_time(B00606A_FROM) + 3600, 0,
                         &v, msg, sizeof(msg)),
               ATT_ERR_PCK_CRL_INVALID);
    assert_string_equal(msg, "PCK CRL is from the Platform CA, the PCK certificate from the "
                             "Processor CA");
}

/* The OE sample's chain ends in an older copy of the Intel root (same key): anchored by key. */
static void test_oe_old_root_copy(void **state)
{
    const struct att_dcap_trust *trust = *state;
    struct att_buf b;
    struct att_bytes inner;
    struct att_intel_quote q;
    struct att_dcap_item *pck = NULL;
    char msg[256] = "";
    fixture_load("dcap/openenclave/oe01_azure_sdk_oe_report_debug.bin", &b);
    EXPECT_OK(att_oe_report_unwrap(b.data, b.len, &inner, msg, sizeof(msg)));
    EXPECT_OK(att_intel_quote_parse(inner.ptr, inner.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)));
    att_err rc = att_dcap_pck_chain_load(trust, q.sig.pck_pem.ptr, q.sig.pck_pem.len, &pck, msg,
                                         sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s: %s", att_err_name(rc), msg);
    }
    assert_false(pck->pck_platform_ca);
    assert_memory_equal(pck->pck.fmspc, "\x00\x90\x6E\xD5\x00\x00", 6);
    att_dcap_item_unref(pck);
    att_buf_cleanup(&b);
}

/* Another root: the chain is refused as untrusted. */
static void test_untrusted_root(void **state)
{
    (void)state;
    struct att_buf pem;
    struct att_buf qb;
    struct att_dcap_trust *other = NULL;
    struct att_intel_quote q;
    struct att_dcap_item *pck = NULL;
    char msg[256] = "";
    /* Any self-signed CA that is not Intel's: the TCB signing chain's root is Intel's, so use
     * a fresh one from the test CA of the fixtures... the AMD ARK is not here; build one. */
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *ca = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"Intel SGX Root CA",
                               -1, -1, 0);
    X509_set_version(ca, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(ca), 1);
    X509_set_subject_name(ca, name);
    X509_set_issuer_name(ca, name);
    X509_gmtime_adj(X509_getm_notBefore(ca), 0);
    X509_gmtime_adj(X509_getm_notAfter(ca), 3600);
    X509_set_pubkey(ca, key);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, ca, ca, NULL, NULL, 0);
    X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(ca, bc, -1);
    X509_EXTENSION_free(bc);
    X509_sign(ca, key, EVP_sha256());
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, ca);
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    att_buf_init(&pem, 8192);
    EXPECT_OK(att_buf_put(&pem, p, (size_t)n));
    EXPECT_OK(att_dcap_trust_from_pem((const char *)pem.data, pem.len, &other, msg, sizeof(msg)));

    fixture_load(SGX01_QUOTE, &qb);
    EXPECT_OK(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)));
    EXPECT_ERR(att_dcap_pck_chain_load(other, q.sig.pck_pem.ptr, q.sig.pck_pem.len, &pck, msg,
                                       sizeof(msg)),
               ATT_ERR_ROOT_UNTRUSTED);
    att_buf_cleanup(&qb);
    att_buf_cleanup(&pem);
    att_dcap_trust_free(other);
    BIO_free(bio);
    X509_NAME_free(name);
    X509_free(ca);
    EVP_PKEY_free(key);
}

/*
 * A bit flip in any byte of a signed region - header and body, attestation key, QE report,
 * QE report signature, QE auth data, quote signature - is refused (parse or verify), never
 * accepted.
 */
static void test_bit_flips(void **state)
{
    const struct att_dcap_trust *trust = *state;
    struct att_buf qb;
    struct att_intel_quote q;
    struct att_intel_inputs in;
    struct att_dcap_item *pck = NULL;
    char msg[256] = "";
    int64_t at = fixture_time(SGX01_FROM) + 3600;
    fixture_load(SGX01_QUOTE, &qb);
    fixture_load_inputs(trust, SGX01_BUNDLE, &in);
    EXPECT_OK(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)));
    EXPECT_OK(att_dcap_pck_chain_load(trust, q.sig.pck_pem.ptr, q.sig.pck_pem.len, &pck, msg,
                                      sizeof(msg)));
    struct att_intel_collateral c = att_intel_inputs_view(&in);
    size_t auth_end = 0x3F6 + q.sig.qe_auth_data.len;
    size_t flips = 0;
    for (size_t i = 0; i < auth_end; i++) {
        if (i >= 0x1B0 && i < 0x1B4) {
            continue; /* the signature data length: a framing field, covered by the parser tests */
        }
        if (i >= 0x3F4 && i < 0x3F6) {
            continue; /* the QE auth data size: framing too */
        }
        for (int bit = 0; bit < 8; bit += 3) {
            struct att_intel_quote fq;
            struct att_intel_verdict v;
            qb.data[i] ^= (uint8_t)(1u << bit);
            att_err rc =
                att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_SGX, &fq, msg, sizeof(msg));
            if (rc == ATT_OK) {
                rc = att_intel_quote_verify(&fq, pck, &c, at, 0, &v, msg, sizeof(msg));
            }
            qb.data[i] ^= (uint8_t)(1u << bit);
            if (rc == ATT_OK) {
                fail_msg("a flip of bit %d at offset 0x%zx was accepted", bit, i);
            }
            flips++;
        }
    }
    assert_true(flips > 3000);
    att_dcap_item_unref(pck);
    att_intel_inputs_release(&in);
    att_buf_cleanup(&qb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx01_in_window),      cmocka_unit_test(test_sgx03_in_window),
        cmocka_unit_test(test_sgx02_debug_verifies), cmocka_unit_test(test_sgx01_out_of_window),
        cmocka_unit_test(test_wrong_collateral),     cmocka_unit_test(test_oe_old_root_copy),
        cmocka_unit_test(test_untrusted_root),       cmocka_unit_test(test_bit_flips),
    };
    return cmocka_run_group_tests(tests, fixture_trust_setup, fixture_trust_teardown);
}
