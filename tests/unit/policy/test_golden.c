/*
 * test_golden.c - every example policy of docs/reference/maa-policy.md §3.7 (fixtures/, provenance
 * in fixtures/README.md): parse, evaluate against claim sets and compare the decision and the EXACT
 * outgoing claims and properties (type, value, valueType, order). Then truncate each golden policy
 * at every offset and flip every bit: parsing must never crash, and whatever parses is evaluated.
 */
#include "policy_test.h"

/* ---- claim sets --------------------------------------------------------------------- */

#define MRSIGNER_2021 "2c1a44952ae8207135c6c29b75b8c029372ee94b677e15c20bd42340f10d41aa"
#define MRENCLAVE_2021 "b779202618becb636768e5d902f28d524222735fafb539ea9ba07c3fc171a1c2"
#define MRSIGNER_SDK "4aea5f9a0ed04b11f889aadfe6a1d376213a29a95a85ce7337ae6f7fece6610c"
#define MRSIGNER_SQL "e31c9e505f37a58de09335075fc8591254313eb20bb1a27e5443cc450b6e33e5"

/*
 * The SGX claims of the 2021 recorded token (docs/reference/maa-tokens.md §7.2), in both spellings:
 * the caller adds the "$" aliases (§3.6), which the v1.0 default policy reads.
 */
static size_t sgx_claims(struct att_claim *c, const char *mrsigner, bool debuggable,
                         int64_t product_id, bool aliases)
{
    size_t n = 0;
    c[n++] = att_claim_boolean("x-ms-sgx-is-debuggable", debuggable, AS);
    c[n++] = att_claim_string("x-ms-sgx-mrenclave", MRENCLAVE_2021, AS);
    c[n++] = att_claim_string("x-ms-sgx-mrsigner", mrsigner, AS);
    c[n++] = att_claim_integer("x-ms-sgx-product-id", product_id, AS);
    c[n++] = att_claim_integer("x-ms-sgx-svn", 1, AS);
    c[n++] = att_claim_string("x-ms-attestation-type", "sgx", AS);
    if (aliases) {
        c[n++] = att_claim_boolean("$is-debuggable", debuggable, AS);
        c[n++] = att_claim_string("$sgx-mrenclave", MRENCLAVE_2021, AS);
        c[n++] = att_claim_string("$sgx-mrsigner", mrsigner, AS);
        c[n++] = att_claim_integer("$product-id", product_id, AS);
        c[n++] = att_claim_integer("$svn", 1, AS);
        c[n++] = att_claim_string("$tee", "sgx", AS);
    }
    return n;
}

struct golden {
    struct att_policy *p;
    struct att_policy_result r;
};

static void run_golden(struct golden *g, const char *fixture, const struct att_claim *in, size_t n)
{
    size_t len;
    char *text = read_fixture(fixture, &len);
    g->p = parse_ok(text, len);
    free(text);
    eval_ok(g->p, in, n, &g->r);
}

static void golden_done(struct golden *g)
{
    att_policy_result_cleanup(&g->r);
    att_policy_free(g->p);
}

/* ---- SGX ----------------------------------------------------------------------------- */

static void test_sgx_default_v1_0(void **state)
{
    (void)state;
    struct att_claim in[16];
    size_t n = sgx_claims(in, MRSIGNER_2021, false, 1, true);
    struct golden g;
    run_golden(&g, "maa_sgx_default_v1_0.policy", in, n);
    assert_true(g.r.authorized);
    EXPECT_OK(att_policy_result_check(&g.r));
    /* Exactly the legacy claims of the 2021 token (docs/reference/maa-tokens.md §7.2). */
    static const struct exp_claim exp[] = {
        EXP_B("is-debuggable", false),
        EXP_S("sgx-mrsigner", MRSIGNER_2021),
        EXP_S("sgx-mrenclave", MRENCLAVE_2021),
        EXP_I("product-id", 1),
        EXP_I("svn", 1),
        EXP_S("tee", "sgx"),
    };
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, exp, NELEM(exp));
    assert_int_equal(g.r.n_properties, 0);
    unsigned major;
    unsigned minor;
    att_policy_version(g.p, &major, &minor);
    assert_int_equal(major, 1);
    assert_int_equal(minor, 0);
    assert_int_equal(att_policy_rule_count(g.p), 7);
    golden_done(&g);
}

/* Without the "$" aliases the v1.0 default permits nothing: the caller must add them. */
static void test_sgx_default_v1_0_without_aliases(void **state)
{
    (void)state;
    struct att_claim in[16];
    size_t n = sgx_claims(in, MRSIGNER_2021, false, 1, false);
    struct golden g;
    run_golden(&g, "maa_sgx_default_v1_0.policy", in, n);
    assert_false(g.r.authorized);
    assert_int_equal(g.r.decision, ATT_ERR_POLICY_NO_PERMIT);
    EXPECT_ERR(att_policy_result_check(&g.r), ATT_ERR_POLICY_NO_PERMIT);
    assert_string_equal(g.r.reason, "no permit() rule fired");
    assert_int_equal(g.r.n_outgoing, 0);
    golden_done(&g);
}

static void test_sgx_default_v1_1(void **state)
{
    (void)state;
    struct att_claim in[16];
    size_t n = sgx_claims(in, MRSIGNER_2021, false, 1, false);
    struct golden g;
    run_golden(&g, "maa_sgx_default_v1_1.policy", in, n);
    assert_true(g.r.authorized);
    static const struct exp_claim exp[] = {
        EXP_B("is-debuggable", false),
        EXP_S("sgx-mrsigner", MRSIGNER_2021),
        EXP_S("sgx-mrenclave", MRENCLAVE_2021),
        EXP_I("product-id", 1),
        EXP_I("svn", 1),
        EXP_S("tee", "sgx"),
    };
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, exp, NELEM(exp));
    static const struct exp_claim props[] = {
        EXP_S("x-ms-sgx-tcbidentifier", "azuredefault"),
    };
    assert_claims("properties", g.r.properties, g.r.n_properties, props, NELEM(props));
    const struct att_claim *tcb = att_policy_result_property(&g.r, "x-ms-sgx-tcbidentifier");
    assert_non_null(tcb);
    assert_string_equal(tcb->str, "azuredefault");
    assert_null(att_policy_result_property(&g.r, "omit_x5c"));
    golden_done(&g);
}

static void test_sgx_custom(void **state)
{
    (void)state;
    struct att_claim in[16];
    size_t n = sgx_claims(in, MRSIGNER_SDK, true, 1, false);
    struct golden g;
    run_golden(&g, "maa_sgx_custom.policy", in, n);
    assert_true(g.r.authorized);
    static const struct exp_claim exp[] = {EXP_S("custom-name", MRSIGNER_SDK)};
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, exp, NELEM(exp));
    golden_done(&g);

    /* each condition of the && chain matters */
    n = sgx_claims(in, MRSIGNER_2021, true, 1, false);
    run_golden(&g, "maa_sgx_custom.policy", in, n);
    assert_false(g.r.authorized);
    assert_int_equal(g.r.n_outgoing, 0);
    golden_done(&g);
    n = sgx_claims(in, MRSIGNER_SDK, false, 1, false);
    run_golden(&g, "maa_sgx_custom.policy", in, n);
    assert_false(g.r.authorized);
    golden_done(&g);
    n = sgx_claims(in, MRSIGNER_SDK, true, 0, false); /* value!=0 */
    run_golden(&g, "maa_sgx_custom.policy", in, n);
    assert_false(g.r.authorized);
    golden_done(&g);
}

/* Azure SQL Always Encrypted's recommended policy: no issuancerules section at all. */
static void test_sgx_sql_always_encrypted(void **state)
{
    (void)state;
    struct att_claim in[16];
    size_t n = sgx_claims(in, MRSIGNER_SQL, false, 4639, false);
    struct golden g;
    run_golden(&g, "maa_sgx_sql_always_encrypted.policy", in, n);
    assert_true(g.r.authorized);
    assert_int_equal(g.r.n_outgoing, 0);
    golden_done(&g);
    n = sgx_claims(in, MRSIGNER_SQL, false, 4640, false);
    run_golden(&g, "maa_sgx_sql_always_encrypted.policy", in, n);
    assert_false(g.r.authorized);
    golden_done(&g);
}

static void test_sgx_multiple_signers(void **state)
{
    (void)state;
    const char *signers[] = {MRSIGNER_SDK, MRSIGNER_SQL};
    for (size_t i = 0; i < 2; i++) {
        struct att_claim in[16];
        size_t n = sgx_claims(in, signers[i], false, 1, false);
        struct golden g;
        run_golden(&g, "maa_sgx_multiple_signers.policy", in, n);
        assert_true(g.r.authorized);
        const struct exp_claim exp[] = {EXP_S("sgx-mrsigner", signers[i])};
        assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, exp, NELEM(exp));
        golden_done(&g);
    }
    struct att_claim in[16];
    size_t n = sgx_claims(in, MRSIGNER_2021, false, 1, false);
    struct golden g;
    run_golden(&g, "maa_sgx_multiple_signers.policy", in, n);
    assert_false(g.r.authorized);
    assert_int_equal(g.r.n_outgoing, 0);
    golden_done(&g);
}

/* ---- TPM 1.1 and VBS ----------------------------------------------------------------- */

static size_t tpm_claims(struct att_claim *c, bool aik, bool secure_boot)
{
    size_t n = 0;
    c[n++] = att_claim_boolean("aikValidated", aik, AS);
    c[n++] = att_claim_string("aikPubHash", "7Y0mCZZn5Ll2WEEwLNm6jx1gbJZmvlwmsUqC8xt2cOw", AS);
    c[n++] = att_claim_integer("tpmVersion", 2, AS);
    c[n++] = att_claim_boolean("secureBootEnabled", secure_boot, AS);
    c[n++] = att_claim_boolean("iommuEnabled", true, AS);
    c[n++] = att_claim_boolean("bootDebuggingDisabled", true, AS);
    c[n++] = att_claim_boolean("notSafeMode", true, AS);
    c[n++] = att_claim_boolean("notWinPE", true, AS);
    c[n++] = att_claim_boolean("vbsEnabled", true, AS);
    c[n++] = att_claim_boolean("vbsReportPresent", true, AS);
    return n;
}

static void test_tpm_v1_1(void **state)
{
    (void)state;
    static const struct exp_claim props[] = {
        EXP_I("required_pcr_mask", 15),
        EXP_B("require_valid_aik_cert", false),
    };
    struct att_claim in[16];
    struct golden g;

    size_t n = tpm_claims(in, true, true);
    run_golden(&g, "maa_tpm_v1_1.policy", in, n);
    assert_true(g.r.authorized);
    static const struct exp_claim attested[] = {EXP_B("PlatformAttested", true)};
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, attested, NELEM(attested));
    assert_claims("properties", g.r.properties, g.r.n_properties, props, NELEM(props));
    golden_done(&g);

    n = tpm_claims(in, false, true);
    run_golden(&g, "maa_tpm_v1_1.policy", in, n);
    static const struct exp_claim not_attested[] = {EXP_B("PlatformAttested", false)};
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, not_attested, NELEM(not_attested));
    golden_done(&g);

    n = tpm_claims(in, true, false);
    run_golden(&g, "maa_tpm_v1_1.policy", in, n);
    assert_true(g.r.authorized);
    assert_int_equal(g.r.n_outgoing, 0);
    assert_claims("properties", g.r.properties, g.r.n_properties, props, NELEM(props));
    golden_done(&g);
}

static void test_vbs_samples(void **state)
{
    (void)state;
    struct att_claim in[32];
    size_t n = tpm_claims(in, true, true);
    in[n++] = att_claim_string("aas-ehd", "ZW5jbGF2ZSBoZWxkIGRhdGE", CC);
    in[n++] =
        att_claim_string("enclaveAuthorId", "BDfK4lN9i5sHdrYbEebO09Iy6TCPYOIa2rL9kePalZg", AS);
    in[n++] = att_claim_string("enclaveImageId", "GRcSAAEFIBMABRQDEgEiBQ", AS);
    in[n++] = att_claim_string("enclaveOwnerId", "ECAwQEExIREAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", AS);
    in[n++] = att_claim_string("enclaveFamilyId", "_v4AAAAAAAAAAAAAAAAAAA", AS);
    in[n++] = att_claim_integer("enclaveSvn", 0, AS);
    in[n++] = att_claim_integer("enclavePlatformSvn", 1, AS);
    in[n++] = att_claim_integer("enclaveFlags", 0, AS);
    static const struct exp_claim ehd[] = {EXP_S("aas-ehd", "ZW5jbGF2ZSBoZWxkIGRhdGE")};
    static const struct exp_claim omit[] = {EXP_B("omit_x5c", true)};
    const char *fixtures[] = {"maa_vbs_no_security.policy", "maa_vbs_optimum.policy"};
    for (size_t i = 0; i < 2; i++) {
        struct golden g;
        run_golden(&g, fixtures[i], in, n);
        assert_true(g.r.authorized);
        assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, ehd, NELEM(ehd));
        assert_claims("properties", g.r.properties, g.r.n_properties, omit, NELEM(omit));
        golden_done(&g);
    }
    /* one of sixteen conditions fails: the optimum policy permits nothing */
    in[n - 1] = att_claim_integer("enclaveFlags", 1, AS);
    struct golden g;
    run_golden(&g, "maa_vbs_optimum.policy", in, n);
    assert_false(g.r.authorized);
    assert_int_equal(g.r.n_outgoing, 0);
    golden_done(&g);
}

/* ---- TPM 1.2 measured boot ------------------------------------------------------------- */

static size_t tpm12_claims(struct att_claim *c, char **events, char **pcrs)
{
    size_t len;
    *events = read_fixture("policy_tpm_events.json", &len);
    *pcrs = read_fixture("policy_tpm_pcrs.json", &len);
    size_t n = 0;
    c[n++] = att_claim_string("events", *events, AS);
    c[n] = att_claim_string("pcrs", *pcrs, AS);
    c[n++].read_only = true; /* "PCRS are only read-only" (policy version 1.2 doc) */
    c[n++] = att_claim_boolean("pcrMatchesExpectedValue", true, CC);
    return n;
}

static void test_tpm_v1_2_secure_boot(void **state)
{
    (void)state;
    char *events;
    char *pcrs;
    struct att_claim in[8];
    size_t n = tpm12_claims(in, &events, &pcrs);
    struct golden g;
    run_golden(&g, "maa_tpm_v1_2_secure_boot.policy", in, n);
    assert_true(g.r.authorized);
    static const struct exp_claim on[] = {EXP_B("secureBootEnabled", true)};
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, on, NELEM(on));
    golden_done(&g);

    /* no event log at all: the `!` rule issues false */
    run_golden(&g, "maa_tpm_v1_2_secure_boot.policy", in + 1, n - 1);
    static const struct exp_claim off[] = {EXP_B("secureBootEnabled", false)};
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, off, NELEM(off));
    golden_done(&g);

    /* a log whose SecureBoot variable is 0: the JMESPath test yields false */
    struct att_claim in2[2];
    in2[0] = att_claim_string(
        "events",
        "{\"Events\":[{\"EventTypeString\":\"EV_EFI_VARIABLE_DRIVER_CONFIG\",\"ProcessedData\":"
        "{\"VariableGuid\":\"8BE4DF61-93CA-11D2-AA0D-00E098032B8C\",\"UnicodeName\":"
        "\"SecureBoot\",\"VariableData\":\"AA\"}}]}",
        AS);
    run_golden(&g, "maa_tpm_v1_2_secure_boot.policy", in2, 1);
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, off, NELEM(off));
    golden_done(&g);
    free(events);
    free(pcrs);
}

static void test_tpm_v1_2_measured_boot(void **state)
{
    (void)state;
    char *events;
    char *pcrs;
    struct att_claim in[8];
    size_t n = tpm12_claims(in, &events, &pcrs);
    struct golden g;
    run_golden(&g, "maa_tpm_v1_2_measured_boot.policy", in, n);
    assert_true(g.r.authorized);
    /* Values checked against the reference JMESPath implementation (python jmespath 1.1)
     * over fixtures/policy_tpm_events.json and policy_tpm_pcrs.json. */
    static const struct exp_claim exp[] = {
        EXP_B("secureBootEnabled", true),
        EXP_B("codeIntegrityEnabled", true),
        EXP_I("bitlockerStatus", 1),
        EXP_B("bootDebuggingDisabled", true),
        EXP_B("osKernelDebuggingDisabled", true),
        EXP_I("depPolicy", 3),
        EXP_B("testSigningDisabled", true),
        EXP_B("flightSigningNotEnabled", true),
        EXP_B("vsmEnabled", true),
        EXP_B("vbsEnabled", true),
        EXP_B("hvciEnabled", true),
        EXP_B("iommuEnabled", true),
        EXP_B("pcrMatchesExpectedValue", true),
        EXP_B("notSafeMode", true),
        EXP_B("notWinPE", true),
        EXP_S("codeIntegrityPolicy", "c2lwb2xpY3k"),
        EXP_S("secureBootCustomPolicy", "Q3VycmVudFBvbGljeQ"),
        EXP_I("bootMgrSvn", 655361),
        EXP_S("bootRevListInfo", "cmV2bGlzdA"),
    };
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, exp, NELEM(exp));
    assert_true(g.r.steps > 0 && g.r.steps < ATT_POLICY_DEFAULT_MAX_STEPS);
    golden_done(&g);

    /* Without evidence every `!` fallback fires. */
    struct att_claim none[1];
    none[0] = att_claim_boolean("pcrMatchesExpectedValue", true, CC);
    run_golden(&g, "maa_tpm_v1_2_measured_boot.policy", none, 1);
    static const struct exp_claim fallback[] = {
        EXP_B("secureBootEnabled", false),
        EXP_B("codeIntegrityEnabled", false),
        EXP_I("bitlockerStatus", 0),
        EXP_B("bootDebuggingDisabled", false),
        EXP_B("osKernelDebuggingDisabled", false),
        EXP_I("depPolicy", 0),
        EXP_B("testSigningDisabled", false),
        EXP_B("flightSigningNotEnabled", false),
        EXP_B("vsmEnabled", false),
        EXP_B("vbsEnabled", false),
        EXP_B("hvciEnabled", false),
        EXP_B("iommuEnabled", false),
        EXP_B("notSafeMode", true),
        EXP_B("notWinPE", true),
    };
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, fallback, NELEM(fallback));
    golden_done(&g);

    /* A PCR 0 digest that differs from the golden value: pcrMatchesExpectedValue (true)
     * no longer equals the computed false, so it is not issued. */
    char *pcrs_bad = strdup(pcrs);
    assert_non_null(pcrs_bad);
    char *hit = strstr(pcrs_bad, "KCk6Ow");
    assert_non_null(hit);
    hit[0] = 'X';
    in[1] = att_claim_string("pcrs", pcrs_bad, AS);
    in[1].read_only = true;
    run_golden(&g, "maa_tpm_v1_2_measured_boot.policy", in, n);
    assert_int_equal(g.r.n_outgoing, NELEM(exp) - 1);
    for (size_t i = 0; i < g.r.n_outgoing; i++) {
        assert_false(
            g.r.outgoing[i].type_len == strlen("pcrMatchesExpectedValue") &&
            memcmp(g.r.outgoing[i].type, "pcrMatchesExpectedValue", g.r.outgoing[i].type_len) == 0);
    }
    golden_done(&g);
    free(pcrs_bad);
    free(events);
    free(pcrs);
}

/* Run `policy` (NUL-terminated) over one events claim; NULL events: no claims at all. */
static void run_events(struct golden *g, const char *policy, const char *events)
{
    struct att_claim in[1];
    in[0] = att_claim_string("events", events != NULL ? events : "", AS);
    g->p = parse_str(policy);
    eval_ok(g->p, in, events != NULL ? 1 : 0, &g->r);
    assert_true(g->r.authorized);
}

/* One EV_EVENT_TAG event in PCR 13 whose trust boundary loaded `modules` (JSON array). */
#define ELAM_EVENTS(modules)                                                                       \
    "{\"Events\":[{\"EventSeq\":6,\"PcrIndex\":13,\"EventTypeString\":\"EV_EVENT_TAG\","           \
    "\"ProcessedData\":{\"EVENT_TRUSTBOUNDARY\":{\"EVENT_LOADEDMODULE_AGGREGATION\":" modules      \
    "}}}]}"

/*
 * The ELAM recipe: MAA's equals_ignore_case() finds Windows Defender's early-launch
 * driver among the validated modules. Values cross-checked with python jmespath 1.1
 * plus an ASCII equals_ignore_case.
 */
static void test_tpm_v1_2_elam(void **state)
{
    (void)state;
    static const struct exp_claim on[] = {EXP_B("elamDriverLoaded", true)};
    static const struct exp_claim off[] = {EXP_B("elamDriverLoaded", false)};
    size_t len;
    char *text = read_fixture("maa_tpm_v1_2_elam.policy", &len);
    struct golden g;

    /* The measured-boot claim set: wdboot.sys loaded from PCR 13 and validated. */
    char *events;
    char *pcrs;
    struct att_claim in[8];
    size_t n = tpm12_claims(in, &events, &pcrs);
    run_golden(&g, "maa_tpm_v1_2_elam.policy", in, n);
    assert_true(g.r.authorized);
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, on, NELEM(on));
    golden_done(&g);
    free(events);
    free(pcrs);

    /* The path's letter case does not matter (ASCII case folding). */
    run_events(&g, text,
               ELAM_EVENTS("[{\"EVENT_FILEPATH\":\"\\\\Windows\\\\System32\\\\drivers\\\\wd\\\\"
                           "WdBoot.sys\",\"EVENT_IMAGEVALIDATED\":true}]"));
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, on, NELEM(on));
    golden_done(&g);

    /* A log without an Events array: boolProperties is null, the recipe issues false. */
    run_events(&g, text, "{\"Log\":[]}");
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, off, NELEM(off));
    golden_done(&g);

    /* No events claim: no boolProperties, the `!` fallback issues false. */
    run_events(&g, text, NULL);
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, off, NELEM(off));
    golden_done(&g);

    /*
     * As published, the recipe ends in `@ != `null``, and an empty filter result ([]) is
     * not null: a log where WdBoot is missing or not validated still yields true (python
     * jmespath agrees). attestd runs the recipe as MAA wrote it.
     */
    run_events(&g, text,
               ELAM_EVENTS("[{\"EVENT_FILEPATH\":\"\\\\Windows\\\\System32\\\\drivers\\\\wd\\\\"
                           "WdBoot.sys\",\"EVENT_IMAGEVALIDATED\":false},{\"EVENT_FILEPATH\":"
                           "\"\\\\windows\\\\system32\\\\drivers\\\\evil.sys\","
                           "\"EVENT_IMAGEVALIDATED\":true}]"));
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, on, NELEM(on));
    golden_done(&g);

    /* A validated module without a path: equals_ignore_case(null, ...) is a type error. */
    struct att_claim bad[1] = {
        att_claim_string("events", ELAM_EVENTS("[{\"EVENT_IMAGEVALIDATED\":true}]"), AS)};
    struct att_policy *p = parse_ok(text, len);
    struct att_policy_result r;
    memset(&r, 0, sizeof(r));
    char msg[256];
    EXPECT_ERR(att_policy_eval(p, bad, 1, NULL, &r, msg, sizeof(msg)), ATT_ERR_POLICY_EVAL);
    assert_non_null(strstr(msg, "JmesPath"));
    assert_non_null(
        strstr(msg, "column 78: equals_ignore_case() expects a string as argument 1, got null"));
    assert_int_equal(r.n_outgoing, 0); /* untouched on failure */
    att_policy_free(p);
    free(text);
}

/*
 * MAA's System Guard sample (learn.microsoft.com/azure/attestation/
 * tpm-attestation-sample-policies, "Attestation policy to validate System Guard is
 * enabled as expected and has been validated for its state"; azure-docs
 * articles/attestation/tpm-attestation-sample-policies.md, comments shortened). Its
 * first query ends in a multi-select hash; a later rule builds the SMM query with
 * AppendString.
 */
static const char system_guard_policy[] =
    "version = 1.2;\n"
    "\n"
    "authorizationrules\n"
    "{\n"
    "    => permit();\n"
    "};\n"
    "\n"
    "issuancerules\n"
    "{\n"
    "    // Extract the DRTM state auth event\n"
    "    c:[type==\"events\", issuer==\"AttestationService\"] => "
    "add(type=\"validDrtmStateAuthEvent\", value=JmesPath(c.value, \"Events[? EventTypeString "
    "== 'EV_EVENT_TAG' && PcrIndex == `20` && "
    "ProcessedData.EVENT_TRUSTBOUNDARY.EVENT_DRTM_STATE_AUTH.SignatureValid != `null`] | "
    "length(@) == `1` && @[0] | @.{EventSeq:EventSeq, "
    "SignatureValid:ProcessedData.EVENT_TRUSTBOUNDARY.EVENT_DRTM_STATE_AUTH.SignatureValid}\"));\n"
    "\n"
    "    // Check if Signature is valid in extracted state auth events\n"
    "    c:[type==\"validDrtmStateAuthEvent\", issuer==\"AttestationPolicy\"] => "
    "issue(type=\"drtmMleValid\", value=JsonToClaimValue(JmesPath(c.value, "
    "\"SignatureValid\")));\n"
    "    ![type==\"drtmMleValid\", issuer==\"AttestationPolicy\"] => issue(type=\"drtmMleValid\", "
    "value=false);\n"
    "\n"
    "    // Get the sequence number of the DRTM state auth event.\n"
    "    [type==\"drtmMleValid\", value==true, issuer==\"AttestationPolicy\"] &&\n"
    "    c:[type==\"validDrtmStateAuthEvent\", issuer==\"AttestationPolicy\"] => "
    "add(type=\"validDrtmStateAuthEventSeq\", value=JmesPath(c.value, \"EventSeq\"));\n"
    "\n"
    "    // Create query for SMM event\n"
    "    [type==\"drtmMleValid\", value==true, issuer==\"AttestationPolicy\"] &&\n"
    "    c:[type==\"validDrtmStateAuthEventSeq\", issuer==\"AttestationPolicy\"] => "
    "add(type=\"smmQuery\", value=AppendString(AppendString(\"Events[? EventTypeString == "
    "'EV_EVENT_TAG' && PcrIndex == `20` && EventSeq < `\", c.value), "
    "\"`].ProcessedData.EVENT_DRTM_SMM | length(@) == `1` && @[0] | @.Value\"));\n"
    "\n"
    "    // Extract SMM value\n"
    "    [type==\"drtmMleValid\", value==true, issuer==\"AttestationPolicy\"] &&\n"
    "    c1:[type==\"smmQuery\", issuer==\"AttestationPolicy\"] &&\n"
    "    c2:[type==\"events\", issuer==\"AttestationService\"] => issue(type=\"smmLevel\", "
    "value=JsonToClaimValue(JmesPath(c2.value, c1.value)));\n"
    "};\n";

/* A PCR 20 DRTM state-auth event (EventSeq 12) after an SMM event (EventSeq 11, level 2). */
#define DRTM_SMM                                                                                   \
    "{\"EventSeq\":11,\"PcrIndex\":20,\"EventTypeString\":\"EV_EVENT_TAG\",\"ProcessedData\":{"    \
    "\"EVENT_DRTM_SMM\":{\"Value\":2}}}"
#define DRTM_AUTH(seq, valid)                                                                      \
    "{\"EventSeq\":" seq ",\"PcrIndex\":20,\"EventTypeString\":\"EV_EVENT_TAG\","                  \
    "\"ProcessedData\":{\"EVENT_TRUSTBOUNDARY\":{\"EVENT_DRTM_STATE_AUTH\":{"                      \
    "\"SignatureValid\":" valid "}}}}"

static void test_tpm_v1_2_system_guard(void **state)
{
    (void)state;
    static const struct exp_claim valid[] = {
        EXP_B("drtmMleValid", true),
        EXP_I("smmLevel", 2),
    };
    static const struct exp_claim invalid[] = {EXP_B("drtmMleValid", false)};
    struct golden g;

    /* The Windows event log of the JMESPath tests: one valid state auth at EventSeq 12. */
    size_t len;
    char *events = read_fixture("jmespath_tpm_windows_events.json", &len);
    run_events(&g, system_guard_policy, events);
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, valid, NELEM(valid));
    golden_done(&g);
    free(events);

    run_events(&g, system_guard_policy, "{\"Events\":[" DRTM_SMM "," DRTM_AUTH("12", "true") "]}");
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, valid, NELEM(valid));
    golden_done(&g);

    /* The signature did not verify: the hash carries false, no SMM level. */
    run_events(&g, system_guard_policy, "{\"Events\":[" DRTM_SMM "," DRTM_AUTH("12", "false") "]}");
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, invalid, NELEM(invalid));
    golden_done(&g);

    /* Two state-auth events: `false | @.{...}` is {"EventSeq":null,"SignatureValid":null},
     * JsonToClaimValue(null) adds nothing and the `!` fallback issues false. */
    run_events(&g, system_guard_policy,
               "{\"Events\":[" DRTM_SMM
               "," DRTM_AUTH("12", "true") "," DRTM_AUTH("13", "true") "]}");
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, invalid, NELEM(invalid));
    golden_done(&g);

    /* The SMM event after the state auth does not count: smmLevel is null, not issued. */
    static const struct exp_claim no_smm[] = {EXP_B("drtmMleValid", true)};
    run_events(&g, system_guard_policy, "{\"Events\":[" DRTM_AUTH("10", "true") "," DRTM_SMM "]}");
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, no_smm, NELEM(no_smm));
    golden_done(&g);

    /* No event log. */
    run_events(&g, system_guard_policy, NULL);
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, invalid, NELEM(invalid));
    golden_done(&g);
}

/* ---- Azure-Samples signing tool policies ----------------------------------------------- */

static void test_signing_tool_samples(void **state)
{
    (void)state;
    struct att_claim sb[1] = {att_claim_boolean("secureBootEnabled", true, AS)};
    struct att_claim sb_custom[1] = {att_claim_boolean("secureBootEnabled", true, CC)};
    struct att_claim sb_off[1] = {att_claim_boolean("secureBootEnabled", false, AS)};
    struct golden g;

    run_golden(&g, "signing_tool_deny.all.policy", sb, 1);
    assert_false(g.r.authorized);
    assert_int_equal(g.r.decision, ATT_ERR_POLICY_DENIED);
    EXPECT_ERR(att_policy_result_check(&g.r), ATT_ERR_POLICY_DENIED);
    assert_string_equal(g.r.reason, "5:1: deny() rule fired");
    assert_int_equal(g.r.n_outgoing, 0);
    golden_done(&g);

    run_golden(&g, "signing_tool_permit.secure.boot.policy", sb, 1);
    assert_true(g.r.authorized);
    assert_int_equal(g.r.n_outgoing, 0);
    golden_done(&g);
    /* the issuer is part of the condition: a client cannot claim secure boot */
    run_golden(&g, "signing_tool_permit.secure.boot.policy", sb_custom, 1);
    assert_false(g.r.authorized);
    golden_done(&g);
    run_golden(&g, "signing_tool_permit.secure.boot.policy", sb_off, 1);
    assert_false(g.r.authorized);
    golden_done(&g);

    run_golden(&g, "signing_tool_add.custom.claim.policy", sb, 1);
    assert_true(g.r.authorized);
    static const struct exp_claim exp[] = {EXP_I("SecurityLevelValue", 100)};
    assert_claims("outgoing", g.r.outgoing, g.r.n_outgoing, exp, NELEM(exp));
    golden_done(&g);
    /* not authorized: issuance rules do not run */
    run_golden(&g, "signing_tool_add.custom.claim.policy", sb_off, 1);
    assert_false(g.r.authorized);
    assert_int_equal(g.r.n_outgoing, 0);
    golden_done(&g);
}

/* ---- robustness: truncation and bit flips of every golden policy ------------------------ */

static const char *const goldens[] = {
    "maa_sgx_default_v1_0.policy",
    "maa_sgx_default_v1_1.policy",
    "maa_sgx_custom.policy",
    "maa_sgx_sql_always_encrypted.policy",
    "maa_sgx_multiple_signers.policy",
    "maa_tpm_v1_1.policy",
    "maa_tpm_v1_2_secure_boot.policy",
    "maa_tpm_v1_2_measured_boot.policy",
    "maa_tpm_v1_2_elam.policy",
    "maa_vbs_no_security.policy",
    "maa_vbs_optimum.policy",
    "signing_tool_deny.all.policy",
    "signing_tool_permit.secure.boot.policy",
    "signing_tool_add.custom.claim.policy",
};

/*
 * The claim set mutants run against: every kind of claim the goldens read, with a small
 * event log (one SecureBoot variable, one trust boundary) so that thousands of
 * evaluations stay fast under the sanitizers.
 */
static size_t mutant_claims(struct att_claim *c)
{
    size_t n = 0;
    c[n++] = att_claim_string(
        "events",
        "{\"Events\":[{\"EventSeq\":1,\"PcrIndex\":7,\"EventTypeString\":"
        "\"EV_EFI_VARIABLE_DRIVER_CONFIG\",\"ProcessedData\":{\"VariableGuid\":"
        "\"8BE4DF61-93CA-11D2-AA0D-00E098032B8C\",\"UnicodeName\":\"SecureBoot\","
        "\"VariableData\":\"AQ\"}},{\"EventSeq\":2,\"PcrIndex\":12,\"EventTypeString\":"
        "\"EV_EVENT_TAG\",\"ProcessedData\":{\"EVENT_TRUSTBOUNDARY\":{"
        "\"EVENT_CODEINTEGRITY\":true,\"EVENT_BITLOCKER_UNLOCK\":{\"Value\":1}}}}]}",
        AS);
    c[n] = att_claim_string("pcrs", "{\"PCRs\":[{\"Index\":0,\"Digests\":{\"SHA1\":\"KCk6Ow\"}}]}",
                            AS);
    c[n++].read_only = true;
    c[n++] = att_claim_boolean("pcrMatchesExpectedValue", true, CC);
    c[n++] = att_claim_string("aas-ehd", "ZWhk", CC);
    n += sgx_claims(c + n, MRSIGNER_SDK, true, 1, true);
    n += tpm_claims(c + n, true, true);
    return n;
}

struct mutation_stats {
    size_t parsed;
    size_t refused;
};

/* Parse one mutant; if it parses, evaluate it against a mixed claim set. */
static void try_mutant(const char *text, size_t len, const struct att_claim *in, size_t n,
                       struct mutation_stats *st)
{
    struct att_policy *p = NULL;
    char msg[256];
    att_err rc = att_policy_parse(text, len, NULL, &p, msg, sizeof(msg));
    if (rc != ATT_OK) {
        assert_true(rc == ATT_ERR_POLICY_PARSE || rc == ATT_ERR_POLICY_LIMIT);
        /* every message starts with a 1-based "line:column: " */
        unsigned long line = 0;
        unsigned long col = 0;
        assert_int_equal(sscanf(msg, "%lu:%lu: ", &line, &col), 2);
        assert_true(line >= 1 && col >= 1);
        assert_null(p);
        st->refused++;
        return;
    }
    st->parsed++;
    struct att_policy_result r;
    rc = att_policy_eval(p, in, n, NULL, &r, msg, sizeof(msg));
    if (rc == ATT_OK) {
        att_policy_result_cleanup(&r);
    } else {
        assert_true(att_err_kind(rc) == ATT_KIND_POLICY);
    }
    att_policy_free(p);
}

static void test_truncation_every_offset(void **state)
{
    (void)state;
    struct att_claim in[40];
    size_t n = mutant_claims(in);
    struct mutation_stats st = {0, 0};
    for (size_t i = 0; i < NELEM(goldens); i++) {
        size_t len;
        char *text = read_fixture(goldens[i], &len);
        for (size_t cut = 0; cut <= len; cut++) {
            /* an exact-size copy so ASan sees any read past the end */
            char *copy = malloc(cut > 0 ? cut : 1);
            assert_non_null(copy);
            memcpy(copy, text, cut);
            try_mutant(copy, cut, in, n, &st);
            free(copy);
        }
        free(text);
    }
    print_message("truncations: %zu parsed and evaluated, %zu refused\n", st.parsed, st.refused);
    /* A cut after the final ';' (or in trailing whitespace) still parses; most do not. */
    assert_true(st.parsed >= NELEM(goldens));
    assert_true(st.refused > st.parsed);
}

static void test_bit_flips(void **state)
{
    (void)state;
    struct att_claim in[40];
    size_t n = mutant_claims(in);
    struct mutation_stats st = {0, 0};
    for (size_t i = 0; i < NELEM(goldens); i++) {
        size_t len;
        char *text = read_fixture(goldens[i], &len);
        /* every bit of the short policies; about 500 evenly spread bytes of long ones */
        size_t stride = len / 500 + 1;
        char *copy = malloc(len);
        assert_non_null(copy);
        for (size_t pos = 0; pos < len; pos += stride) {
            for (unsigned bit = 0; bit < 8; bit++) {
                memcpy(copy, text, len);
                copy[pos] = (char)(copy[pos] ^ (1u << bit));
                try_mutant(copy, len, in, n, &st);
            }
        }
        free(copy);
        free(text);
    }
    print_message("bit flips: %zu parsed and evaluated, %zu refused\n", st.parsed, st.refused);
    assert_true(st.parsed > 0 && st.refused > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_default_v1_0),
        cmocka_unit_test(test_sgx_default_v1_0_without_aliases),
        cmocka_unit_test(test_sgx_default_v1_1),
        cmocka_unit_test(test_sgx_custom),
        cmocka_unit_test(test_sgx_sql_always_encrypted),
        cmocka_unit_test(test_sgx_multiple_signers),
        cmocka_unit_test(test_tpm_v1_1),
        cmocka_unit_test(test_vbs_samples),
        cmocka_unit_test(test_tpm_v1_2_secure_boot),
        cmocka_unit_test(test_tpm_v1_2_measured_boot),
        cmocka_unit_test(test_tpm_v1_2_elam),
        cmocka_unit_test(test_tpm_v1_2_system_guard),
        cmocka_unit_test(test_signing_tool_samples),
        cmocka_unit_test(test_truncation_every_offset),
        cmocka_unit_test(test_bit_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
