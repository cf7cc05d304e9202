/*
 * test_hash.c - x-ms-policy-hash (src/policy/hash.c) and the default policies and
 * attestation type names (src/policy/defaults.c).
 */
#include "policy_test.h"

#include <openssl/evp.h>

#include "core/buf.h"
#include "core/codec.h"

#define SGX_V1_0_HASH "egjnANIzEpS2WgpE4Nk-QEwM69XRCgTs42_G0qLlbnk"

/* The same formula in one shot, for cross-checking the streamed version. */
static void reference_hash(const char *text, size_t len, char out[ATT_POLICY_HASH_LEN + 1])
{
    struct att_buf enc;
    struct att_buf h;
    att_buf_init(&enc, (size_t)1 << 24);
    att_buf_init(&h, 64);
    EXPECT_OK(att_b64url_encode(text, len, &enc));
    unsigned char d[32];
    unsigned int dl = 0;
    assert_int_equal(EVP_Digest(enc.data != NULL ? (const void *)enc.data : "", enc.len, d, &dl,
                                EVP_sha256(), NULL),
                     1);
    EXPECT_OK(att_b64url_encode(d, dl, &h));
    assert_int_equal(h.len, ATT_POLICY_HASH_LEN);
    memcpy(out, h.data, ATT_POLICY_HASH_LEN + 1);
    att_buf_cleanup(&enc);
    att_buf_cleanup(&h);
}

/* docs/reference/maa-tokens.md §2.3: the v1.0 default SGX text of docs/reference/maa-policy.md §3.7
 * hashes to egjn... [verified]. */
static void test_golden_hash(void **state)
{
    (void)state;
    size_t len;
    char *text = read_fixture("maa_sgx_default_v1_0.policy", &len);
    char h[ATT_POLICY_HASH_LEN + 1];
    EXPECT_OK(att_policy_hash(text, len, h));
    assert_string_equal(h, SGX_V1_0_HASH);
    /* the built-in default is the same bytes */
    const char *def = att_policy_default(ATT_POLICY_SGX_ENCLAVE);
    assert_int_equal(strlen(def), len);
    assert_memory_equal(def, text, len);
    EXPECT_OK(att_policy_hash(def, strlen(def), h));
    assert_string_equal(h, SGX_V1_0_HASH);
    /* the hash covers exact bytes: a trailing newline changes it */
    text[len] = '\n';
    EXPECT_OK(att_policy_hash(text, len + 1, h));
    assert_string_not_equal(h, SGX_V1_0_HASH);
    free(text);
}

/* Streaming in 3 KiB slices equals the one-shot formula at every length around them. */
static void test_stream_matches_reference(void **state)
{
    (void)state;
    static char text[3 * 3072 + 7];
    for (size_t i = 0; i < sizeof(text); i++) {
        text[i] = (char)('a' + (i * 7) % 26);
    }
    const size_t lens[] = {0, 1, 2, 3, 4, 3071, 3072, 3073, 6143, 6144, 6145, sizeof(text)};
    for (size_t i = 0; i < NELEM(lens); i++) {
        char got[ATT_POLICY_HASH_LEN + 1];
        char want[ATT_POLICY_HASH_LEN + 1];
        EXPECT_OK(att_policy_hash(text, lens[i], got));
        reference_hash(text, lens[i], want);
        assert_string_equal(got, want);
    }
    char h[ATT_POLICY_HASH_LEN + 1];
    EXPECT_ERR(att_policy_hash(NULL, 1, h), ATT_ERR_ARG);
    EXPECT_OK(att_policy_hash(NULL, 0, h));
}

static void test_type_names(void **state)
{
    (void)state;
    static const char *const names[ATT_POLICY_TYPE_COUNT] = {
        "SgxEnclave", "OpenEnclave", "SevSnpVm", "TdxVm", "Tpm", "AzureGuest"};
    for (unsigned i = 0; i < ATT_POLICY_TYPE_COUNT; i++) {
        assert_string_equal(att_policy_type_name((enum att_policy_type)i), names[i]);
        enum att_policy_type t;
        EXPECT_OK(att_policy_type_parse(names[i], strlen(names[i]), &t));
        assert_int_equal(t, i);
    }
    enum att_policy_type t = ATT_POLICY_TPM;
    EXPECT_OK(att_policy_type_parse("sgxenclave", 10, &t));
    assert_int_equal(t, ATT_POLICY_SGX_ENCLAVE);
    EXPECT_OK(att_policy_type_parse("SEVSNPVM", 8, &t));
    assert_int_equal(t, ATT_POLICY_SEV_SNP_VM);
    EXPECT_OK(att_policy_type_parse("tpm", 3, &t));
    assert_int_equal(t, ATT_POLICY_TPM);
    EXPECT_ERR(att_policy_type_parse("Sgx", 3, &t), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_policy_type_parse("SgxEnclaves", 11, &t), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_policy_type_parse("SgxEnclave", 9, &t), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_policy_type_parse("", 0, &t), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_policy_type_parse("Vbs", 3, &t), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_policy_type_parse(NULL, 3, &t), ATT_ERR_ARG);
    assert_null(att_policy_type_name((enum att_policy_type)ATT_POLICY_TYPE_COUNT));
    assert_null(att_policy_default((enum att_policy_type)ATT_POLICY_TYPE_COUNT));
}

/* Every default parses, and evaluates to what docs/internals/policy.md promises. */
static void test_defaults(void **state)
{
    (void)state;
    assert_string_equal(att_policy_default(ATT_POLICY_OPEN_ENCLAVE),
                        att_policy_default(ATT_POLICY_SGX_ENCLAVE));
    assert_string_equal(att_policy_default(ATT_POLICY_TPM),
                        "version=1.0; authorizationrules{=> permit();}; issuancerules{};");
    for (unsigned i = 0; i < ATT_POLICY_TYPE_COUNT; i++) {
        struct att_policy *p = parse_str(att_policy_default((enum att_policy_type)i));
        att_policy_free(p);
    }

    /* Tpm: permits anything, issues nothing. */
    struct att_policy *p = parse_str(att_policy_default(ATT_POLICY_TPM));
    struct att_policy_result r;
    eval_ok(p, NULL, 0, &r);
    assert_true(r.authorized);
    assert_int_equal(r.n_outgoing, 0);
    att_policy_result_cleanup(&r);
    att_policy_free(p);

    /* SevSnpVm: the §7.3 claims. */
    struct att_claim snp[] = {
        att_claim_boolean("x-ms-sevsnpvm-is-debuggable", false, AS),
        att_claim_string("x-ms-sevsnpvm-launchmeasurement",
                         "04a170f39a3f702472ed0c7ecbda9babfc530e3caac475fdd607ff499177d14c278c5a1"
                         "5ad07ceacd5230ae63d507e9d",
                         AS),
        att_claim_string("x-ms-sevsnpvm-hostdata", "00", AS),
        att_claim_string("x-ms-sevsnpvm-idkeydigest", "38ed94f9", AS),
        att_claim_string("x-ms-sevsnpvm-authorkeydigest", "00", AS),
        att_claim_string("x-ms-sevsnpvm-familyId", "01000000000000000000000000000000", AS),
        att_claim_string("x-ms-sevsnpvm-imageId", "02000000000000000000000000000000", AS),
        att_claim_integer("x-ms-sevsnpvm-guestsvn", 1, AS),
        att_claim_integer("x-ms-sevsnpvm-vmpl", 0, AS),
        att_claim_integer("x-ms-sevsnpvm-microcode-svn", 40, AS),
        att_claim_string("x-ms-attestation-type", "sevsnpvm", AS),
    };
    p = parse_str(att_policy_default(ATT_POLICY_SEV_SNP_VM));
    eval_ok(p, snp, NELEM(snp), &r);
    assert_true(r.authorized);
    static const struct exp_claim snp_out[] = {
        EXP_B("is-debuggable", false),
        EXP_S("sevsnpvm-launchmeasurement", "04a170f39a3f702472ed0c7ecbda9babfc530e3caac475fdd607"
                                            "ff499177d14c278c5a15ad07ceacd5230ae63d507e9d"),
        EXP_S("sevsnpvm-hostdata", "00"),
        EXP_S("sevsnpvm-idkeydigest", "38ed94f9"),
        EXP_S("sevsnpvm-authorkeydigest", "00"),
        EXP_S("sevsnpvm-familyId", "01000000000000000000000000000000"),
        EXP_S("sevsnpvm-imageId", "02000000000000000000000000000000"),
        EXP_I("sevsnpvm-guestsvn", 1),
        EXP_I("sevsnpvm-vmpl", 0),
        EXP_S("tee", "sevsnpvm"),
    };
    assert_claims("snp outgoing", r.outgoing, r.n_outgoing, snp_out, NELEM(snp_out));
    att_policy_result_cleanup(&r);
    /* no report claims (or a client pretending to have them): no permit */
    struct att_claim fake[] = {att_claim_string("x-ms-sevsnpvm-launchmeasurement", "00", CC)};
    eval_ok(p, fake, NELEM(fake), &r);
    assert_false(r.authorized);
    att_policy_result_cleanup(&r);
    att_policy_free(p);

    /* TdxVm */
    struct att_claim tdx[] = {
        att_claim_boolean("tdx_td_attributes_debug", false, AS),
        att_claim_string("tdx_mrtd", "aa", AS),
        att_claim_string("tdx_rtmr0", "b0", AS),
        att_claim_string("tdx_rtmr1", "b1", AS),
        att_claim_string("tdx_rtmr2", "b2", AS),
        att_claim_string("tdx_rtmr3", "b3", AS),
        att_claim_string("tdx_mrconfigid", "c0", AS),
        att_claim_string("tdx_mrowner", "c1", AS),
        att_claim_string("tdx_mrownerconfig", "c2", AS),
        att_claim_string("tdx_mrseam", "d0", AS),
        att_claim_integer("tdx_seamsvn", 3, AS),
        att_claim_string("x-ms-attestation-type", "tdxvm", AS),
    };
    p = parse_str(att_policy_default(ATT_POLICY_TDX_VM));
    eval_ok(p, tdx, NELEM(tdx), &r);
    assert_true(r.authorized);
    static const struct exp_claim tdx_out[] = {
        EXP_B("is-debuggable", false), EXP_S("tdx-mrtd", "aa"),    EXP_S("tdx-rtmr0", "b0"),
        EXP_S("tdx-rtmr1", "b1"),      EXP_S("tdx-rtmr2", "b2"),   EXP_S("tdx-rtmr3", "b3"),
        EXP_S("tdx-mrconfigid", "c0"), EXP_S("tdx-mrowner", "c1"), EXP_S("tdx-mrownerconfig", "c2"),
        EXP_S("tdx-mrseam", "d0"),     EXP_I("tdx-seamsvn", 3),    EXP_S("tee", "tdxvm"),
    };
    assert_claims("tdx outgoing", r.outgoing, r.n_outgoing, tdx_out, NELEM(tdx_out));
    att_policy_result_cleanup(&r);
    att_policy_free(p);

    /* AzureGuest: a verified VM is permitted unless its hardware report is debuggable; the
     * type claim must come from the service */
    struct att_claim az[] = {
        att_claim_boolean("x-ms-isolation-tee-debuggable", false, AS),
        att_claim_string("x-ms-attestation-type", "azurevm", AS),
    };
    p = parse_str(att_policy_default(ATT_POLICY_AZURE_GUEST));
    eval_ok(p, az, NELEM(az), &r);
    assert_true(r.authorized);
    assert_int_equal(r.n_outgoing, 0);
    att_policy_result_cleanup(&r);
    az[0].boolean = true;
    eval_ok(p, az, NELEM(az), &r);
    assert_false(r.authorized);
    att_policy_result_cleanup(&r);
    struct att_claim az_fake[] = {att_claim_string("x-ms-attestation-type", "azurevm", CC)};
    eval_ok(p, az_fake, NELEM(az_fake), &r);
    assert_false(r.authorized);
    att_policy_result_cleanup(&r);
    att_policy_free(p);
}

/* The hashes docs/internals/policy.md lists for attestd's own defaults. */
static void test_default_hashes(void **state)
{
    (void)state;
    for (unsigned i = 0; i < ATT_POLICY_TYPE_COUNT; i++) {
        const char *text = att_policy_default((enum att_policy_type)i);
        char h[ATT_POLICY_HASH_LEN + 1];
        EXPECT_OK(att_policy_hash(text, strlen(text), h));
        print_message("%-12s %s\n", att_policy_type_name((enum att_policy_type)i), h);
        assert_int_equal(strlen(h), ATT_POLICY_HASH_LEN);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_hash),    cmocka_unit_test(test_stream_matches_reference),
        cmocka_unit_test(test_type_names),     cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_default_hashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
