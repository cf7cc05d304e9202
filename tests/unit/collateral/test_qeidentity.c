/*
 * Unit tests for src/evidence/intel/qeidentity.c: every real QE / TD_QE identity in
 * tests/fixtures/dcap parsed to exact values, and the refusals: truncation at every offset,
 * wrong types, missing members, ids, versions, hex lengths, ranges, statuses, caps, dates and
 * duplicate names.
 */
#include "coll_test.h"

#include "collateral/pcs.h"
#include "evidence/intel/qeidentity.h"

#define SGX01 "dcap/sgx/sgx01_dcapqvl_collateral.json"

static struct att_qe_identity *parse_ok(const char *text, size_t n)
{
    struct att_qe_identity *q = NULL;
    char msg[256];
    att_err rc = att_qe_identity_parse(text, n, &q, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("parse: %s: %s", att_err_name(rc), msg);
    }
    assert_non_null(q);
    return q;
}

static void expect_fail(const char *text, size_t n, att_err code, const char *want)
{
    struct att_qe_identity dummy;
    struct att_qe_identity *q = &dummy;
    char msg[256] = "";
    att_err rc = att_qe_identity_parse(text, n, &q, msg, sizeof(msg));
    if (rc != code) {
        fail_msg("expected %s, got %s (%s)", att_err_name(code), att_err_name(rc), msg);
    }
    assert_ptr_equal(q, &dummy);
    if (want != NULL && strcmp(msg, want) != 0) {
        fail_msg("message \"%s\", expected \"%s\"", msg, want);
    }
}

struct expect {
    const char *file;
    bool raw;
    enum att_qe_identity_id id;
    uint32_t eval;
    int64_t issue, next;
    size_t n_levels;
    uint16_t isvsvn0;
};

static const struct expect docs[] = {
    {SGX01, false, ATT_QE_ID_QE, 17, 1750327278, 1752919278, 6, 8},
    {"dcap/sgx/collateral_00606a000000_2025-08_bundle.json", false, ATT_QE_ID_QE, 17, 1755232606,
     1757824606, 6, 8},
    {"dcap/sgx/raw_qeidentity_sgx_2025-08.json", true, ATT_QE_ID_QE, 17, 1755232606, 1757824606, 6,
     8},
    {"dcap/tdx/tdx01_dcapqvl_collateral.json", false, ATT_QE_ID_TD_QE, 17, 1750329147, 1752921147,
     1, 4},
    {"dcap/tdx/tdx02_dcapqvl_outdated_collateral.json", false, ATT_QE_ID_TD_QE, 18, 1771411335,
     1774003335, 1, 4},
    {"dcap/tdx/tdx04_gotdx_collateral_50806f_2023-06_bundle.json", false, ATT_QE_ID_TD_QE, 15,
     1686209099, 1688801099, 1, 4},
    {"dcap/tdx/raw_gotdx_sample_qeIdentity_response", true, ATT_QE_ID_TD_QE, 15, 1686209099,
     1688801099, 1, 4},
    {"dcap/tdx/tdx05_gotdx_collateral_90c06f_2026-02_bundle.json", false, ATT_QE_ID_TD_QE, 18,
     1768233793, 1770825793, 1, 4},
    {"dcap/tdx/tdx08_trustee_collateral_00a06d080000_2025-10_bundle.json", false, ATT_QE_ID_TD_QE,
     17, 1761633909, 1764225909, 1, 4},
    {"dcap/tdx/collateral_00806f050000_2025-10_bundle.json", false, ATT_QE_ID_TD_QE, 17, 1760352407,
     1762944407, 1, 4},
    {"dcap/tdx/raw_qeidentity_tdqe_2025-10.json", true, ATT_QE_ID_TD_QE, 17, 1760352407, 1762944407,
     1, 4},
    {"dcap/tdx/collateral_90c06f000000_2025-06_bundle.json", false, ATT_QE_ID_TD_QE, 17, 1749030018,
     1751622018, 1, 4},
};
#define N_DOCS (sizeof(docs) / sizeof(docs[0]))

static char *doc_text(const struct expect *e, size_t *n)
{
    if (!e->raw) {
        return coll_bundle_member(e->file, "qe_identity", n);
    }
    struct att_buf raw;
    struct att_bytes body;
    uint8_t sig[64];
    char msg[128];
    coll_load(e->file, &raw);
    EXPECT_OK(att_pcs_signed_body((const char *)raw.data, raw.len, "enclaveIdentity", &body, sig,
                                  msg, sizeof(msg)));
    char *s = malloc(body.len);
    assert_non_null(s);
    memcpy(s, body.ptr, body.len);
    *n = body.len;
    att_buf_cleanup(&raw);
    return s;
}

static void test_real_documents(void **state)
{
    (void)state;
    uint8_t attributes[16], attributes_mask[16], qe_signer[32], td_qe_signer[32];
    static const uint8_t misc_mask[4] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t zero4[4] = {0};
    coll_unhex("11000000000000000000000000000000", attributes, 16);
    coll_unhex("FBFFFFFFFFFFFFFF0000000000000000", attributes_mask, 16);
    coll_unhex("8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF", qe_signer, 32);
    coll_unhex("DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5", td_qe_signer,
               32);

    for (size_t i = 0; i < N_DOCS; i++) {
        const struct expect *e = &docs[i];
        size_t n = 0;
        char *text = doc_text(e, &n);
        struct att_qe_identity *q = parse_ok(text, n);
        assert_int_equal(q->id, e->id);
        assert_int_equal(q->version, 2);
        assert_int_equal(q->eval_num, e->eval);
        assert_int_equal(q->issue_date, e->issue);
        assert_int_equal(q->next_update, e->next);
        assert_memory_equal(q->miscselect, zero4, 4);
        assert_memory_equal(q->miscselect_mask, misc_mask, 4);
        assert_memory_equal(q->attributes, attributes, 16);
        assert_memory_equal(q->attributes_mask, attributes_mask, 16);
        bool td = e->id == ATT_QE_ID_TD_QE;
        assert_memory_equal(q->mrsigner, td ? td_qe_signer : qe_signer, 32);
        assert_int_equal(q->isvprodid, td ? 2 : 1);
        assert_int_equal(q->n_levels, e->n_levels);
        assert_int_equal(q->levels[0].isvsvn, e->isvsvn0);
        assert_int_equal(q->levels[0].status, ATT_TCB_UP_TO_DATE);
        assert_int_equal(q->levels[0].advisories.n, 0);
        if (!td) {
            /* sgx QE levels: 8 UpToDate; 6, 5, 4, 2, 1 OutOfDate with growing advisory lists */
            static const uint16_t svn[6] = {8, 6, 5, 4, 2, 1};
            static const size_t adv[6] = {0, 1, 2, 3, 5, 6};
            for (size_t k = 0; k < 6; k++) {
                assert_int_equal(q->levels[k].isvsvn, svn[k]);
                assert_int_equal(q->levels[k].advisories.n, adv[k]);
                assert_int_equal(q->levels[k].status,
                                 k == 0 ? ATT_TCB_UP_TO_DATE : ATT_TCB_OUT_OF_DATE);
            }
            assert_string_equal(q->levels[1].advisories.ids[0], "INTEL-SA-00615");
            assert_string_equal(q->levels[5].advisories.ids[0], "INTEL-SA-00202");
            assert_int_equal(q->levels[0].tcb_date, 1710288000); /* 2024-03-13 */
        }
        att_qe_identity_free(q);
        free(text);
    }
    assert_string_equal(att_qe_identity_id_name(ATT_QE_ID_QE), "QE");
    assert_string_equal(att_qe_identity_id_name(ATT_QE_ID_QVE), "QVE");
    assert_string_equal(att_qe_identity_id_name(ATT_QE_ID_TD_QE), "TD_QE");
    assert_string_equal(att_qe_identity_id_name((enum att_qe_identity_id)7), "?");
}

static void test_truncated(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_DOCS; i++) {
        size_t n = 0;
        char *text = doc_text(&docs[i], &n);
        for (size_t cut = 0; cut < n; cut++) {
            char *p = malloc(cut > 0 ? cut : 1);
            assert_non_null(p);
            memcpy(p, text, cut);
            expect_fail(p, cut, ATT_ERR_COLLATERAL_FORMAT, NULL);
            free(p);
        }
        free(text);
    }
}

struct mut {
    const char *parent;
    const char *key;
    const char *value;
    att_err code;
    const char *msg;
};

static void test_mutations(void **state)
{
    (void)state;
    static const struct mut muts[] = {
        /* types */
        {"", "id", "1", ATT_ERR_COLLATERAL_FORMAT, "id: expected a string"},
        {"", "version", "\"2\"", ATT_ERR_COLLATERAL_FORMAT, "version: expected an integer"},
        {"", "issueDate", "[]", ATT_ERR_COLLATERAL_FORMAT, "issueDate: expected a string"},
        {"", "nextUpdate", "{}", ATT_ERR_COLLATERAL_FORMAT, "nextUpdate: expected a string"},
        {"", "tcbEvaluationDataNumber", "\"17\"", ATT_ERR_COLLATERAL_FORMAT,
         "tcbEvaluationDataNumber: expected an integer"},
        {"", "miscselect", "0", ATT_ERR_COLLATERAL_FORMAT, "miscselect: expected a string"},
        {"", "miscselectMask", "false", ATT_ERR_COLLATERAL_FORMAT,
         "miscselectMask: expected a string"},
        {"", "attributes", "null", ATT_ERR_COLLATERAL_FORMAT, "attributes: expected a string"},
        {"", "attributesMask", "[\"FB\"]", ATT_ERR_COLLATERAL_FORMAT,
         "attributesMask: expected a string"},
        {"", "mrsigner", "1", ATT_ERR_COLLATERAL_FORMAT, "mrsigner: expected a string"},
        {"", "isvprodid", "\"1\"", ATT_ERR_COLLATERAL_FORMAT, "isvprodid: expected an integer"},
        {"", "tcbLevels", "{}", ATT_ERR_COLLATERAL_FORMAT, "tcbLevels: expected an array"},
        {"tcbLevels", "2", "[]", ATT_ERR_COLLATERAL_FORMAT, "tcbLevels[2]: expected an object"},
        {"tcbLevels/2", "tcb", "5", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[2].tcb: expected an object"},
        {"tcbLevels/2/tcb", "isvsvn", "5.5", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[2].tcb.isvsvn: expected an integer"},
        {"tcbLevels/2", "advisoryIDs", "{}", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[2].advisoryIDs: expected an array"},
        /* missing */
        {"", "id", NULL, ATT_ERR_COLLATERAL_FORMAT, "id: missing"},
        {"", "version", NULL, ATT_ERR_COLLATERAL_FORMAT, "version: missing"},
        {"", "issueDate", NULL, ATT_ERR_COLLATERAL_FORMAT, "issueDate: missing"},
        {"", "nextUpdate", NULL, ATT_ERR_COLLATERAL_FORMAT, "nextUpdate: missing"},
        {"", "tcbEvaluationDataNumber", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbEvaluationDataNumber: missing"},
        {"", "miscselect", NULL, ATT_ERR_COLLATERAL_FORMAT, "miscselect: missing"},
        {"", "miscselectMask", NULL, ATT_ERR_COLLATERAL_FORMAT, "miscselectMask: missing"},
        {"", "attributes", NULL, ATT_ERR_COLLATERAL_FORMAT, "attributes: missing"},
        {"", "attributesMask", NULL, ATT_ERR_COLLATERAL_FORMAT, "attributesMask: missing"},
        {"", "mrsigner", NULL, ATT_ERR_COLLATERAL_FORMAT, "mrsigner: missing"},
        {"", "isvprodid", NULL, ATT_ERR_COLLATERAL_FORMAT, "isvprodid: missing"},
        {"", "tcbLevels", NULL, ATT_ERR_COLLATERAL_FORMAT, "tcbLevels: missing"},
        {"tcbLevels/1", "tcb", NULL, ATT_ERR_COLLATERAL_FORMAT, "tcbLevels[1].tcb: missing"},
        {"tcbLevels/1/tcb", "isvsvn", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[1].tcb.isvsvn: missing"},
        {"tcbLevels/1", "tcbDate", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[1].tcbDate: missing"},
        {"tcbLevels/1", "tcbStatus", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[1].tcbStatus: missing"},
        {"tcbLevels/1", "advisoryIDs", NULL, ATT_OK, NULL},
        {"", "futureMember", "[1,{\"x\":null}]", ATT_OK, NULL},
        /* values */
        {"", "id", "\"QVE\"", ATT_OK, NULL},
        {"", "id", "\"TD_QE\"", ATT_OK, NULL},
        {"", "id", "\"qe\"", ATT_ERR_COLLATERAL_FORMAT,
         "id: expected \"QE\", \"QVE\" or \"TD_QE\""},
        {"", "id", "\"TDQE\"", ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"", "id", "\"QE \"", ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"", "version", "1", ATT_ERR_COLLATERAL_FORMAT, "version: expected 2, found 1"},
        {"", "version", "3", ATT_ERR_COLLATERAL_FORMAT, "version: expected 2, found 3"},
        {"", "isvprodid", "65536", ATT_ERR_COLLATERAL_FORMAT,
         "isvprodid: expected 0 to 65535, found 65536"},
        {"", "isvprodid", "65535", ATT_OK, NULL},
        {"tcbLevels/0/tcb", "isvsvn", "65536", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.isvsvn: expected 0 to 65535, found 65536"},
        {"tcbLevels/0/tcb", "isvsvn", "-1", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.isvsvn: expected 0 to 65535, found -1"},
        {"tcbLevels/0/tcb", "isvsvn", "300", ATT_OK, NULL},
        {"", "miscselect", "\"0000000\"", ATT_ERR_COLLATERAL_FORMAT,
         "miscselect: expected 8 hex digits, found 7 characters"},
        {"", "attributes", "\"110000000000000000000000000000\"", ATT_ERR_COLLATERAL_FORMAT,
         "attributes: expected 32 hex digits, found 30 characters"},
        {"", "attributesMask", "\"FBFFFFFFFFFFFFFF000000000000000000\"", ATT_ERR_COLLATERAL_FORMAT,
         "attributesMask: expected 32 hex digits, found 34 characters"},
        {"", "mrsigner", "\"8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BF\"",
         ATT_ERR_COLLATERAL_FORMAT, "mrsigner: expected 64 hex digits, found 63 characters"},
        {"", "mrsigner", "\"8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFX\"",
         ATT_ERR_ENCODING, "mrsigner: not hex"},
        {"", "mrsigner", "\"8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff\"",
         ATT_OK, NULL},
        {"", "miscselectMask", "\"ffffFFFF\"", ATT_OK, NULL},
        {"tcbLevels/3", "tcbStatus", "\"Outdated\"", ATT_ERR_TCB_STATUS_UNKNOWN,
         "tcbLevels[3].tcbStatus: not a status Intel defines"},
        {"tcbLevels/3", "tcbStatus", "\"Revoked\"", ATT_OK, NULL},
        {"tcbLevels/3/advisoryIDs", "0", "\"INTEL_SA_00334\"", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[3].advisoryIDs[0]: expected 1 to 32 characters of A-Z a-z 0-9 -"},
        {"", "tcbLevels", "[]", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels: expected at least one entry"},
        /* dates */
        {"", "issueDate", "\"2025-06-19T10:01:18\"", ATT_ERR_COLLATERAL_FORMAT,
         "issueDate: expected an RFC 3339 UTC date-time"},
        {"", "nextUpdate", "\"2025-07-19T10:01:18.5+01:00\"", ATT_ERR_COLLATERAL_FORMAT,
         "nextUpdate: expected an RFC 3339 UTC date-time"},
        {"", "nextUpdate", "\"2025-06-19T10:01:18Z\"", ATT_ERR_COLLATERAL_FORMAT,
         "nextUpdate: not after issueDate"},
        {"", "nextUpdate", "\"2024-06-19T10:01:18Z\"", ATT_ERR_COLLATERAL_FORMAT,
         "nextUpdate: not after issueDate"},
        {"tcbLevels/5", "tcbDate", "\"2018-08-15\"", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[5].tcbDate: expected an RFC 3339 UTC date-time"},
    };
    size_t n = 0;
    char *base = coll_bundle_member(SGX01, "qe_identity", &n);
    for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
        json_t *v = NULL;
        if (muts[i].value != NULL) {
            json_error_t jerr;
            v = json_loads(muts[i].value, JSON_DECODE_ANY, &jerr);
            assert_non_null(v);
        }
        char *doc = coll_mutate(base, n, muts[i].parent, muts[i].key, v);
        if (muts[i].code == ATT_OK) {
            att_qe_identity_free(parse_ok(doc, strlen(doc)));
        } else {
            expect_fail(doc, strlen(doc), muts[i].code, muts[i].msg);
        }
        free(doc);
    }
    free(base);
}

static void test_caps_and_framing(void **state)
{
    (void)state;
    size_t n = 0;
    char *base = coll_bundle_member(SGX01, "qe_identity", &n);
    json_error_t jerr;

    for (size_t want = 128; want <= 129; want++) {
        json_t *root = json_loadb(base, n, 0, &jerr);
        json_t *levels = json_object_get(root, "tcbLevels");
        while (json_array_size(levels) < want) {
            json_array_append_new(levels, json_deep_copy(json_array_get(levels, 5)));
        }
        char *doc = json_dumps(root, JSON_COMPACT);
        if (want == 128) {
            struct att_qe_identity *q = parse_ok(doc, strlen(doc));
            assert_int_equal(q->n_levels, 128);
            assert_int_equal(q->levels[127].advisories.n, 6);
            att_qe_identity_free(q);
        } else {
            expect_fail(doc, strlen(doc), ATT_ERR_TOO_LARGE, "tcbLevels: more than 128 entries");
        }
        free(doc);
        json_decref(root);
    }
    json_t *root = json_loadb(base, n, 0, &jerr);
    json_t *adv = json_array();
    for (size_t i = 0; i < 129; i++) {
        json_array_append_new(adv, json_string("INTEL-SA-00615"));
    }
    json_object_set_new(json_array_get(json_object_get(root, "tcbLevels"), 0), "advisoryIDs", adv);
    char *doc = json_dumps(root, JSON_COMPACT);
    expect_fail(doc, strlen(doc), ATT_ERR_TOO_LARGE,
                "tcbLevels[0].advisoryIDs: more than 128 entries");
    free(doc);
    json_decref(root);

    /* duplicate names, at the top and inside a level */
    char *dup = malloc(n + 64);
    assert_non_null(dup);
    snprintf(dup, n + 64, "{\"id\":\"QE\",%s", base + 1);
    expect_fail(dup, strlen(dup), ATT_ERR_COLLATERAL_FORMAT, NULL);
    char msg[256];
    struct att_qe_identity *q = NULL;
    EXPECT_ERR(att_qe_identity_parse(dup, strlen(dup), &q, msg, sizeof(msg)),
               ATT_ERR_COLLATERAL_FORMAT);
    assert_true(strncmp(msg, "duplicate member name", 21) == 0);
    const char *at = strstr(base, "{\"isvsvn\":");
    assert_non_null(at);
    size_t off = (size_t)(at - base) + 1;
    snprintf(dup, n + 64, "%.*s\"isvsvn\":1,%s", (int)off, base, base + off);
    expect_fail(dup, strlen(dup), ATT_ERR_COLLATERAL_FORMAT, NULL);
    free(dup);

    /* framing and arguments */
    expect_fail("[{}]", 4, ATT_ERR_COLLATERAL_FORMAT, "expected a JSON object");
    expect_fail("{}", 2, ATT_ERR_COLLATERAL_FORMAT, "id: missing");
    expect_fail("{} {}", 5, ATT_ERR_COLLATERAL_FORMAT, NULL);
    expect_fail(NULL, 0, ATT_ERR_COLLATERAL_FORMAT, NULL);
    char *big = malloc(ATT_COLLATERAL_MAX_DOC + 1);
    assert_non_null(big);
    memset(big, '\n', ATT_COLLATERAL_MAX_DOC + 1);
    memcpy(big, base, n);
    att_qe_identity_free(parse_ok(big, ATT_COLLATERAL_MAX_DOC));
    expect_fail(big, ATT_COLLATERAL_MAX_DOC + 1, ATT_ERR_TOO_LARGE, NULL);
    free(big);
    EXPECT_ERR(att_qe_identity_parse(base, n, NULL, msg, sizeof(msg)), ATT_ERR_ARG);
    EXPECT_ERR(att_qe_identity_parse(NULL, 1, &q, msg, sizeof(msg)), ATT_ERR_ARG);
    att_qe_identity_free(NULL);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_documents),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_caps_and_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
