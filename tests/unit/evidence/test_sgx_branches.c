/*
 * test_sgx_branches.c - every verification branch the real samples cannot reach, driven by
 * the test PKI (src/demo/testpki.h): each TCB status, QE levels and their combination
 * (docs/reference/dcap-verification.md §5.1, §5.4), revocation, expired and not-yet-valid
 * collateral, grace, FMSPC / PCE-ID mismatch, QE identity mismatch, and every corrupted signature
 * or binding. Each case asserts the exact error code (one per verification step) or the exact
 * verdict.
 */
#include <time.h>

#include "collateral/bundle.h"
#include "collateral/service.h"
#include "dcap_fixtures.h"
#include "evidence/intel/verify.h"
#include "demo/testpki.h"

#define DAY ATT_TESTPKI_DAY

/* Build a PKI with `o`, load its collateral and quote as attestd does, verify at `at`. */
static att_err run_at(const struct att_testpki_opts *o, int64_t at_offset, int64_t grace,
                      struct att_intel_verdict *v, char *msg, size_t msg_len)
{
    struct att_testpki pki;
    struct att_dcap_trust *trust = NULL;
    struct att_dcap_bundle b;
    struct att_intel_inputs in;
    struct att_intel_quote q;
    struct att_dcap_item *pck = NULL;
    att_err rc;

    assert_int_equal(att_testpki_build(o, &pki), 0);
    memset(&b, 0, sizeof(b));
    memset(&in, 0, sizeof(in));
    EXPECT_OK(att_dcap_trust_from_pem(pki.root_pem, strlen(pki.root_pem), &trust, msg, msg_len));
    EXPECT_OK(att_dcap_bundle_parse(pki.bundle_json, strlen(pki.bundle_json), &b, msg, msg_len));
    rc = att_collateral_from_bundle(trust, &b, &in, msg, msg_len);
    if (rc == ATT_OK) {
        rc = att_intel_quote_parse(pki.quote, pki.quote_len, ATT_INTEL_TEE_SGX, &q, msg, msg_len);
    }
    if (rc == ATT_OK) {
        rc = att_dcap_pck_chain_load(trust, q.sig.pck_pem.ptr, q.sig.pck_pem.len, &pck, msg,
                                     msg_len);
    }
    if (rc == ATT_OK) {
        struct att_intel_collateral c = att_intel_inputs_view(&in);
        rc = att_intel_quote_verify(&q, pck, &c, pki.now + at_offset, grace, v, msg, msg_len);
    }
    att_dcap_item_unref(pck);
    att_intel_inputs_release(&in);
    att_dcap_bundle_cleanup(&b);
    att_dcap_trust_free(trust);
    att_testpki_free(&pki);
    return rc;
}

static att_err run(const struct att_testpki_opts *o, struct att_intel_verdict *v, char *msg,
                   size_t msg_len)
{
    return run_at(o, 0, 0, v, msg, msg_len);
}

static void expect_code(const struct att_testpki_opts *o, att_err want, const char *msg_part)
{
    struct att_intel_verdict v;
    char msg[256] = "";
    att_err rc = run(o, &v, msg, sizeof(msg));
    if (rc != want) {
        fail_msg("expected %s, got %s: %s", att_err_name(want), att_err_name(rc), msg);
    }
    if (msg_part != NULL && strstr(msg, msg_part) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", msg, msg_part);
    }
}

static void expect_verdict(const struct att_testpki_opts *o, enum att_tcb_status status,
                           const char *advisories)
{
    struct att_intel_verdict v;
    char msg[256] = "";
    char got[512] = "";
    att_err rc = run(o, &v, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s: %s", att_err_name(rc), msg);
    }
    for (size_t i = 0; i < v.n_advisories; i++) {
        strcat(got, i > 0 ? "," : "");
        strcat(got, v.advisories[i]);
    }
    if (v.status != status || strcmp(got, advisories) != 0) {
        fail_msg("expected %s [%s], got %s [%s]", att_tcb_status_name(status), advisories,
                 att_tcb_status_name(v.status), got);
    }
}

static void test_up_to_date(void **state)
{
    (void)state;
    struct att_testpki_opts o = {0};
    expect_verdict(&o, ATT_TCB_UP_TO_DATE, "");
    o.pck_ca_platform = true; /* the Platform CA and its CRL */
    expect_verdict(&o, ATT_TCB_UP_TO_DATE, "");
    o.chain_root_first = true; /* chains are built by issuer, not position */
    o.no_trailing_nul = true;
    o.tcb_info_fmspc_lowercase = true;
    o.debug = true; /* debug is policy's business, not verification's */
    expect_verdict(&o, ATT_TCB_UP_TO_DATE, "");
}

/* docs/reference/dcap-verification.md §5.1: the first level whose every component and PCE SVN the
 * PCK reaches. */
static void test_each_platform_status(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum att_tcb_status status;
        const char *advisories;
    } cases[] = {
        {"SWHardeningNeeded", ATT_TCB_SW_HARDENING_NEEDED, "INTEL-SA-00615"},
        {"ConfigurationNeeded", ATT_TCB_CONFIGURATION_NEEDED, ""},
        {"ConfigurationAndSWHardeningNeeded", ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
         "INTEL-SA-00289,INTEL-SA-00615"},
        {"OutOfDate", ATT_TCB_OUT_OF_DATE, ""},
        {"OutOfDateConfigurationNeeded", ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct att_testpki_opts o = {0};
        o.comp_svn = att_testpki_status_svn(cases[i].name);
        expect_verdict(&o, cases[i].status, cases[i].advisories);
    }
    struct att_testpki_opts o = {0};
    o.comp_svn = att_testpki_status_svn("Revoked");
    expect_code(&o, ATT_ERR_TCB_REVOKED, "Revoked level");
    o.comp_svn = att_testpki_status_svn("below");
    expect_code(&o, ATT_ERR_TCB_NOT_SUPPORTED, "below every TCB level");
}

/* One lower component disqualifies a level; a higher one does not lift it (§5.1). */
static void test_components_compared_one_by_one(void **state)
{
    (void)state;
    struct att_testpki_opts o = {0};
    o.comp_override_index = 3;
    o.comp_override_svn = 7; /* the others 10: the first level all reach is svn 7 */
    expect_verdict(&o, ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
                   "INTEL-SA-00289,INTEL-SA-00615");
    o.comp_override_index = 16;
    o.comp_override_svn = 0; /* below every level in one component */
    expect_code(&o, ATT_ERR_TCB_NOT_SUPPORTED, NULL);
    o.comp_override_index = 0;
    o.comp_svn = 200; /* above every level */
    o.pcesvn = 12;    /* but the PCE SVN below every level */
    expect_code(&o, ATT_ERR_TCB_NOT_SUPPORTED, NULL);
}

/* docs/reference/dcap-verification.md §5.4: the QE's level, and how it combines with the
 * platform's. */
static void test_qe_levels(void **state)
{
    (void)state;
    struct att_testpki_opts o = {0};
    o.qe_isvsvn = 7; /* at or above 6: the OutOfDate QE level */
    expect_verdict(&o, ATT_TCB_OUT_OF_DATE, "INTEL-SA-00615");
    o.comp_svn = att_testpki_status_svn("SWHardeningNeeded");
    expect_verdict(&o, ATT_TCB_OUT_OF_DATE, "INTEL-SA-00615");
    o.comp_svn = att_testpki_status_svn("ConfigurationNeeded");
    expect_verdict(&o, ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, "INTEL-SA-00615");
    o.comp_svn = att_testpki_status_svn("ConfigurationAndSWHardeningNeeded");
    expect_verdict(&o, ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, "INTEL-SA-00289,INTEL-SA-00615");
    o.comp_svn = 0;
    o.qe_isvsvn = 2;
    expect_code(&o, ATT_ERR_QE_TCB_REVOKED, "QE ISVSVN 2");
    o.qe_isvsvn = 1;
    expect_code(&o, ATT_ERR_QE_TCB_NOT_SUPPORTED, "QE ISVSVN 1 is below");
}

static void test_revocation(void **state)
{
    (void)state;
    struct att_testpki_opts o = {0};
    o.revoke_pck = true;
    expect_code(&o, ATT_ERR_PCK_REVOKED, "PCK CRL");
    o.pck_ca_platform = true;
    expect_code(&o, ATT_ERR_PCK_REVOKED, NULL);
    o.revoke_pck = false;
    o.revoke_pck_ca = true;
    expect_code(&o, ATT_ERR_PCK_CA_REVOKED, "Root CA CRL");
    o.revoke_pck_ca = false;
    o.revoke_tcb_signer = true;
    expect_code(&o, ATT_ERR_TCB_SIGNING_CHAIN, "revoked by the Root CA CRL");
}

/* Every item's window; a grace period extends nextUpdate, never a certificate. */
static void test_dates(void **state)
{
    (void)state;
    static const struct {
        size_t field;
        const char *name;
    } items[] = {
        {offsetof(struct att_testpki_opts, tcb_info_date_shift), "TCB info"},
        {offsetof(struct att_testpki_opts, qe_identity_date_shift), "QE identity"},
        {offsetof(struct att_testpki_opts, root_crl_date_shift), "Root CA CRL"},
        {offsetof(struct att_testpki_opts, pck_crl_date_shift), "PCK CRL"},
    };
    struct att_intel_verdict v;
    char msg[256];
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        struct att_testpki_opts o = {0};
        int64_t *shift = (int64_t *)((char *)&o + items[i].field);
        *shift = -40 * DAY; /* window now-41d .. now-11d: expired */
        expect_code(&o, ATT_ERR_COLLATERAL_EXPIRED, items[i].name);
        EXPECT_OK(run_at(&o, 0, 12 * DAY, &v, msg, sizeof(msg))); /* 12 days of grace */
        EXPECT_ERR(run_at(&o, 0, 10 * DAY, &v, msg, sizeof(msg)), ATT_ERR_COLLATERAL_EXPIRED);
        *shift = 2 * DAY; /* issued tomorrow */
        expect_code(&o, ATT_ERR_COLLATERAL_NOT_YET_VALID, items[i].name);
        EXPECT_ERR(run_at(&o, 0, 100 * DAY, &v, msg, sizeof(msg)),
                   ATT_ERR_COLLATERAL_NOT_YET_VALID);
    }
    struct att_testpki_opts o = {0};
    o.pck_cert_date_shift = -400 * DAY;
    expect_code(&o, ATT_ERR_CERT_EXPIRED, "PCK certificate chain");
    EXPECT_ERR(run_at(&o, 0, 365 * DAY, &v, msg, sizeof(msg)), ATT_ERR_CERT_EXPIRED);
    o.pck_cert_date_shift = 40 * DAY;
    expect_code(&o, ATT_ERR_CERT_NOT_YET_VALID, "PCK certificate chain");
}

static void test_tcb_info_must_fit(void **state)
{
    (void)state;
    static const uint8_t other[6] = {0x00, 0x60, 0x6A, 0x00, 0x00, 0x00};
    struct att_testpki_opts o = {0};
    o.tcb_info_fmspc = other;
    expect_code(&o, ATT_ERR_FMSPC_MISMATCH,
                "PCK FMSPC 00906ED50000 differs from the TCB info FMSPC 00606A000000");
    o.tcb_info_fmspc = NULL;
    o.pceid_mismatch = true;
    expect_code(&o, ATT_ERR_PCEID_MISMATCH, "PCE-ID 0000 differs from the TCB info PCE-ID 0001");
}

static void test_qe_identity_mismatch(void **state)
{
    (void)state;
    struct att_testpki_opts o = {0};
    o.qe_identity_mrsigner_wrong = true;
    expect_code(&o, ATT_ERR_QE_IDENTITY_MISMATCH, "MRSIGNER");
    o.qe_identity_mrsigner_wrong = false;
    o.qe_isvprodid_wrong = true;
    expect_code(&o, ATT_ERR_QE_IDENTITY_MISMATCH, "ISVPRODID");
    o.qe_isvprodid_wrong = false;
    o.qe_attributes_mismatch = true;
    expect_code(&o, ATT_ERR_QE_IDENTITY_MISMATCH, "ATTRIBUTES");
}

static void test_signatures_and_bindings(void **state)
{
    (void)state;
    struct att_testpki_opts o = {0};
    o.corrupt_qe_report_data = true;
    expect_code(&o, ATT_ERR_QE_REPORT_DATA, "SHA-256(attestation key || QE auth data)");
    o = (struct att_testpki_opts){0};
    o.corrupt_qe_report_sig = true;
    expect_code(&o, ATT_ERR_QE_REPORT_SIGNATURE, "PCK certificate's key");
    o = (struct att_testpki_opts){0};
    o.corrupt_quote_sig = true;
    expect_code(&o, ATT_ERR_QUOTE_SIGNATURE, "attestation key");
    o = (struct att_testpki_opts){0};
    o.corrupt_tcb_info_sig = true;
    expect_code(&o, ATT_ERR_TCB_INFO_SIGNATURE, "TCB info signature");
    o = (struct att_testpki_opts){0};
    o.corrupt_qe_identity_sig = true;
    expect_code(&o, ATT_ERR_QE_IDENTITY_SIGNATURE, "QE identity signature");
    o = (struct att_testpki_opts){0};
    o.tcb_info_untrusted_signer = true;
    expect_code(&o, ATT_ERR_ROOT_UNTRUSTED, "TCB info certificates");
    o = (struct att_testpki_opts){0};
    o.qe_identity_untrusted_signer = true;
    expect_code(&o, ATT_ERR_ROOT_UNTRUSTED, "QE identity certificates");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_up_to_date),
        cmocka_unit_test(test_each_platform_status),
        cmocka_unit_test(test_components_compared_one_by_one),
        cmocka_unit_test(test_qe_levels),
        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_tcb_info_must_fit),
        cmocka_unit_test(test_qe_identity_mismatch),
        cmocka_unit_test(test_signatures_and_bindings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
