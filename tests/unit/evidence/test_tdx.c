/*
 * test_tdx.c - TDX quotes v4 and v5 (src/evidence/intel/{quote,verify}.c) on every real sample
 * of tests/fixtures/dcap/tdx at a time inside its collateral window, with the outcome Intel's
 * QVL gives (tests/fixtures/dcap/tdx/README.md; where a peer verifier differs,
 * docs/verification.md says why); truncation at every offset and a bit flip in every signed
 * region of a real v4 and a real v5 quote; the v5 body framing rules.
 */
#include "collateral/bundle.h"
#include "collateral/service.h"
#include "dcap_fixtures.h"
#include "evidence/intel/intel_root.h"
#include "evidence/intel/verify.h"

#define DIR "dcap/tdx/"

/* Parse and verify `q` (its bytes in qb) with the inputs at `at`. */
static att_err verify_bytes(const struct att_dcap_trust *trust, const uint8_t *p, size_t n,
                            struct att_intel_inputs *in, int64_t at, struct att_intel_verdict *v,
                            char *msg, size_t msg_len)
{
    struct att_intel_quote q;
    struct att_dcap_item *pck = NULL;
    att_err rc = att_intel_quote_parse(p, n, ATT_INTEL_TEE_TDX, &q, msg, msg_len);
    if (rc == ATT_OK) {
        rc = att_dcap_pck_chain_load(trust, q.sig.pck_pem.ptr, q.sig.pck_pem.len, &pck, msg,
                                     msg_len);
    }
    if (rc == ATT_OK) {
        struct att_intel_collateral c = att_intel_inputs_view(in);
        rc = att_intel_quote_verify(&q, pck, &c, at, 0, v, msg, msg_len);
    }
    att_dcap_item_unref(pck);
    return rc;
}

struct sample {
    const char *quote;
    const char *bundle;
    const char *at;
    att_err expect;
    const char *status;     /* on ATT_OK */
    const char *advisories; /* on ATT_OK: comma-separated, "" for none */
    unsigned version;
    size_t padding;
};

/* The outcomes (README.md of the fixtures; QVL's rules, docs/verification.md). */
static const struct sample samples[] = {
    {"tdx01_dcapqvl_v4_quote.bin", "tdx01_dcapqvl_collateral.json", "2025-06-20T00:00:00Z", ATT_OK,
     "UpToDate", "", 4, 70},
    /* PCK component 8 (3) is below every level's (5): no SGX level, so not supported. */
    {"tdx02_dcapqvl_v5_outdated_quote.bin", "tdx02_dcapqvl_outdated_collateral.json",
     "2026-02-19T00:00:00Z", ATT_ERR_TCB_NOT_SUPPORTED, NULL, NULL, 5, 0},
    {"tdx03_dcapqvl_tappd_quote.hex", "tdx01_dcapqvl_collateral.json", "2025-06-20T00:00:00Z",
     ATT_ERR_TCB_NOT_SUPPORTED, NULL, NULL, 4, 70},
    /* go-tdx-guest appended "extra bytes(only for testing purpose)": not zero padding. */
    {"tdx04_gotdx_spr_e4_v4_quote.bin", "tdx04_gotdx_collateral_50806f_2023-06_bundle.json",
     "2023-07-01T01:00:00Z", ATT_ERR_QUOTE_PADDING, NULL, NULL, 4, 0},
    {"tdx05_gotdx_v5_quote.bin", "tdx05_gotdx_collateral_90c06f_2026-02_bundle.json",
     "2026-02-05T00:00:00Z", ATT_OK, "UpToDate", "", 5, 0},
    {"tdx05_gotdx_v5_quote.bin", "tdx02_dcapqvl_outdated_collateral.json", "2026-02-19T00:00:00Z",
     ATT_OK, "UpToDate", "", 5, 0},
    {"tdx06_automata_v4_quote_padded8000.hex", "collateral_00806f050000_2025-10_bundle.json",
     "2025-10-20T00:00:00Z", ATT_OK, "OutOfDate", "INTEL-SA-00960,INTEL-SA-00982,INTEL-SA-00986", 4,
     3065},
    /* PCK components 07 07 and TEE_TCB_SVN[2] = 7 reach the UpToDate level. */
    {"tdx07_gotdx_cos113_quote_padded8000.bin", "collateral_00806f050000_2025-10_bundle.json",
     "2025-10-20T00:00:00Z", ATT_OK, "UpToDate", "", 4, 3065},
    {"tdx08_trustee_v4_quote.bin", "tdx08_trustee_collateral_00a06d080000_2025-10_bundle.json",
     "2025-10-29T00:00:00Z", ATT_OK, "OutOfDate", "", 4, 70},
    /* A service TD is bound (MRSERVICETD non-zero): valid; policies judge tdx_mrservicetd. */
    {"tdx09_automata_alibaba_v5_quote.bin", "collateral_90c06f000000_2025-06_bundle.json",
     "2025-06-20T00:00:00Z", ATT_OK, "UpToDate", "", 5, 0},
    /* TEE_TCB_SVN 02 01 06: with a module major version, bytes 0 and 1 are the module's (TDX_01
     * level 2: OutOfDate) and byte 2 reaches the OutOfDate platform level. */
    {"tdx10_azure_tdx_vtpm_td_quote.bin", "collateral_00806f050000_2025-10_bundle.json",
     "2025-10-20T00:00:00Z", ATT_OK, "OutOfDate", "INTEL-SA-00960,INTEL-SA-00982,INTEL-SA-00986", 4,
     70},
};

static void test_samples(void **state)
{
    const struct att_dcap_trust *trust = *state;
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const struct sample *s = &samples[i];
        char path[128];
        struct att_buf qb;
        struct att_intel_inputs in;
        struct att_intel_verdict v;
        char msg[384] = "";
        snprintf(path, sizeof(path), DIR "%s", s->quote);
        fixture_load(path, &qb);
        snprintf(path, sizeof(path), DIR "%s", s->bundle);
        fixture_load_inputs(trust, path, &in);
        att_err rc =
            verify_bytes(trust, qb.data, qb.len, &in, fixture_time(s->at), &v, msg, sizeof(msg));
        if (rc != s->expect) {
            fail_msg("%s: expected %s, got %s (%s)", s->quote, att_err_name(s->expect),
                     att_err_name(rc), msg);
        }
        if (rc == ATT_OK) {
            char adv[256] = "";
            for (size_t k = 0; k < v.n_advisories; k++) {
                size_t used = strlen(adv);
                snprintf(adv + used, sizeof(adv) - used, "%s%s", k ? "," : "", v.advisories[k]);
            }
            assert_string_equal(att_tcb_status_name(v.status), s->status);
            assert_string_equal(adv, s->advisories);
        }
        if (s->expect != ATT_ERR_QUOTE_PADDING) {
            struct att_intel_quote q;
            EXPECT_OK(
                att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)));
            assert_int_equal(q.header.version, s->version);
            assert_int_equal(q.padding, s->padding);
            assert_int_equal(q.body_type,
                             s->version == 4 ? ATT_QUOTE_BODY_TD10 : ATT_QUOTE_BODY_TD15);
        }
        att_intel_inputs_release(&in);
        att_buf_cleanup(&qb);
    }
}

/* The trimmed tdx04 (its declared bytes only) is valid DCAP but older than every level. */
static void test_tdx04_without_its_extra_bytes(void **state)
{
    const struct att_dcap_trust *trust = *state;
    struct att_buf qb;
    struct att_intel_inputs in;
    struct att_intel_verdict v;
    struct att_intel_quote q;
    char msg[384] = "";
    fixture_load(DIR "tdx04_gotdx_spr_e4_v4_quote.bin", &qb);
    fixture_load_inputs(trust, DIR "tdx04_gotdx_collateral_50806f_2023-06_bundle.json", &in);
    EXPECT_ERR(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_PADDING);
    assert_non_null(strstr(msg, "offset 4935"));
    EXPECT_ERR(verify_bytes(trust, qb.data, 4935, &in, fixture_time("2023-07-01T01:00:00Z"), &v,
                            msg, sizeof(msg)),
               ATT_ERR_TCB_NOT_SUPPORTED);
    att_intel_inputs_release(&in);
    att_buf_cleanup(&qb);
}

/* Claims' raw fields at their FORMATS offsets: v4 body at 0x30, v5 body at 0x36. */
static void test_body_offsets(void **state)
{
    (void)state;
    struct att_buf qb;
    struct att_intel_quote q;
    char msg[256] = "";
    fixture_load(DIR "tdx01_dcapqvl_v4_quote.bin", &qb);
    EXPECT_OK(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)));
    assert_memory_equal(q.td.tee_tcb_svn, qb.data + 0x30, 16);
    assert_memory_equal(q.td.mrtd, qb.data + 0x30 + 0x88, 48);
    assert_memory_equal(q.td.rtmr[3], qb.data + 0x30 + 0x1D8, 48);
    assert_memory_equal(q.td.reportdata, qb.data + 0x30 + 0x208, 64);
    assert_int_equal(q.td.td_attributes_bits, 0x10000000); /* SEPT_VE_DISABLE only */
    assert_int_equal(q.signed_part.len, 0x30 + 584);
    att_buf_cleanup(&qb);
    fixture_load(DIR "tdx05_gotdx_v5_quote.bin", &qb);
    EXPECT_OK(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)));
    assert_memory_equal(q.td.mrtd, qb.data + 0x36 + 0x88, 48);
    assert_memory_equal(q.td.tee_tcb_svn2, qb.data + 0x36 + 0x248, 16);
    assert_memory_equal(q.td.mrservicetd, qb.data + 0x36 + 0x258, 48);
    assert_int_equal(q.signed_part.len, 0x36 + 648);
    att_buf_cleanup(&qb);
}

/* v5 framing (docs/reference/intel-quotes.md §2.4): body type and size must fit each other and the
 * TEE type. */
static void test_v5_body_framing(void **state)
{
    (void)state;
    struct att_buf qb;
    struct att_intel_quote q;
    char msg[256] = "";
    fixture_load(DIR "tdx05_gotdx_v5_quote.bin", &qb);
    qb.data[0x30] = 1; /* SGX body in a TDX quote */
    EXPECT_ERR(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_BODY_TYPE);
    qb.data[0x30] = 4; /* no such type */
    EXPECT_ERR(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_BODY_TYPE);
    qb.data[0x30] = 2; /* TD 1.0 with the 1.5 size */
    EXPECT_ERR(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_BODY_TYPE);
    assert_non_null(strstr(msg, "648"));
    qb.data[0x30] = 3;
    EXPECT_OK(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)));
    /* A TDX quote is not an SGX quote, and the other way round. */
    EXPECT_ERR(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_VERSION);
    qb.data[4] = 0; /* TEE type SGX */
    EXPECT_ERR(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_TEE_TYPE);
    att_buf_cleanup(&qb);
    fixture_load("dcap/sgx/sgx01_dcapqvl_quote.bin", &qb);
    EXPECT_ERR(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_VERSION);
    att_buf_cleanup(&qb);
}

/* Every prefix of a real v4 and v5 quote is refused, never read past its end (ASan). */
static void test_truncation(void **state)
{
    (void)state;
    const char *quotes[] = {DIR "tdx01_dcapqvl_v4_quote.bin", DIR "tdx05_gotdx_v5_quote.bin"};
    for (size_t k = 0; k < 2; k++) {
        struct att_buf qb;
        struct att_intel_quote q;
        char msg[256] = "";
        fixture_load(quotes[k], &qb);
        EXPECT_OK(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)));
        size_t end = q.bytes.len;
        for (size_t n = 0; n < end; n++) {
            uint8_t *cut = malloc(n > 0 ? n : 1);
            memcpy(cut, qb.data, n);
            att_err rc = att_intel_quote_parse(cut, n, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg));
            free(cut);
            if (rc == ATT_OK) {
                fail_msg("%s cut to %zu of %zu bytes was accepted", quotes[k], n, end);
            }
        }
        att_buf_cleanup(&qb);
    }
}

/*
 * A bit flip in any byte of a signed region of a real v4 and v5 quote - header, body, quote
 * signature, attestation key, QE report, its signature, QE auth data - is refused.
 */
static void test_bit_flips(void **state)
{
    const struct att_dcap_trust *trust = *state;
    const struct sample *cases[] = {&samples[0], &samples[4]};
    for (size_t k = 0; k < 2; k++) {
        struct att_buf qb;
        struct att_intel_quote q;
        struct att_intel_inputs in;
        char path[128];
        char msg[384] = "";
        snprintf(path, sizeof(path), DIR "%s", cases[k]->quote);
        fixture_load(path, &qb);
        snprintf(path, sizeof(path), DIR "%s", cases[k]->bundle);
        fixture_load_inputs(trust, path, &in);
        int64_t at = fixture_time(cases[k]->at);
        EXPECT_OK(att_intel_quote_parse(qb.data, qb.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)));
        size_t sig = q.signed_part.len + 4; /* signature data */
        size_t qe = sig + 128 + 6;          /* QE report in the type-6 data */
        size_t auth_end = qe + 384 + 64 + 2 + q.sig.qe_auth_data.len;
        size_t flips = 0;
        for (size_t i = 0; i < auth_end; i++) {
            bool framing = (i >= q.signed_part.len && i < sig) || (i >= sig + 128 && i < qe) ||
                           (i >= qe + 448 && i < qe + 450) ||
                           (q.header.version == 5 && i >= 0x30 && i < 0x36);
            if (framing) {
                continue; /* lengths and types: the parser tests cover them */
            }
            struct att_intel_verdict v;
            qb.data[i] ^= 0x10;
            att_err rc = verify_bytes(trust, qb.data, qb.len, &in, at, &v, msg, sizeof(msg));
            qb.data[i] ^= 0x10;
            if (rc == ATT_OK) {
                fail_msg("%s: a flip at offset 0x%zx was accepted", cases[k]->quote, i);
            }
            flips++;
        }
        assert_true(flips > 1100);
        att_intel_inputs_release(&in);
        att_buf_cleanup(&qb);
    }
}

/*
 * The memo (src/evidence/intel/memo.h) remembers a QE report check by the PCK chain, report and
 * signature: after tdx07 verified, its PCK key must not vouch for tdx06's QE report (same CA,
 * FMSPC and collateral, another platform), and tdx07 itself still verifies.
 */
static void test_memo_is_keyed_by_the_pck_chain(void **state)
{
    const struct att_dcap_trust *trust = *state;
    struct att_buf q6;
    struct att_buf q7;
    struct att_intel_inputs in;
    struct att_intel_quote quote6;
    struct att_intel_quote quote7;
    struct att_intel_verdict v;
    struct att_dcap_item *pck7 = NULL;
    char msg[384] = "";
    int64_t at = fixture_time("2025-10-20T00:00:00Z");
    fixture_load(DIR "tdx06_automata_v4_quote_padded8000.hex", &q6);
    fixture_load(DIR "tdx07_gotdx_cos113_quote_padded8000.bin", &q7);
    fixture_load_inputs(trust, DIR "collateral_00806f050000_2025-10_bundle.json", &in);
    struct att_intel_collateral c = att_intel_inputs_view(&in);
    EXPECT_OK(att_intel_quote_parse(q6.data, q6.len, ATT_INTEL_TEE_TDX, &quote6, msg, sizeof(msg)));
    EXPECT_OK(att_intel_quote_parse(q7.data, q7.len, ATT_INTEL_TEE_TDX, &quote7, msg, sizeof(msg)));
    EXPECT_OK(att_dcap_pck_chain_load(trust, quote7.sig.pck_pem.ptr, quote7.sig.pck_pem.len, &pck7,
                                      msg, sizeof(msg)));
    EXPECT_OK(att_intel_quote_verify(&quote7, pck7, &c, at, 0, &v, msg, sizeof(msg)));
    EXPECT_ERR(att_intel_quote_verify(&quote6, pck7, &c, at, 0, &v, msg, sizeof(msg)),
               ATT_ERR_QE_REPORT_SIGNATURE);
    EXPECT_OK(att_intel_quote_verify(&quote7, pck7, &c, at, 0, &v, msg, sizeof(msg)));
    /* The same attestation key with another signature over the same body: refused. */
    quote7.sig.quote_sig[10] ^= 1;
    EXPECT_ERR(att_intel_quote_verify(&quote7, pck7, &c, at, 0, &v, msg, sizeof(msg)),
               ATT_ERR_QUOTE_SIGNATURE);
    att_dcap_item_unref(pck7);
    att_intel_inputs_release(&in);
    att_buf_cleanup(&q6);
    att_buf_cleanup(&q7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_tdx04_without_its_extra_bytes),
        cmocka_unit_test(test_body_offsets),
        cmocka_unit_test(test_v5_body_framing),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_memo_is_keyed_by_the_pck_chain),
    };
    return cmocka_run_group_tests_name("evidence_tdx", tests, fixture_trust_setup,
                                       fixture_trust_teardown);
}
