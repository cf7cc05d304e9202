/*
 * Unit tests for src/evidence/intel/tcbinfo.c (and att_time_parse_rfc3339 in src/core/timeutil.c):
 * every real TCB info in tests/fixtures/dcap parsed to exact values, a version 2 document built
 * from a real one, and the refusals: truncation at every offset, wrong types, missing members,
 * ranges, hex lengths, component counts, unknown statuses, caps, dates, duplicates, TDX rules.
 */
#include "coll_test.h"

#include "collateral/pcs.h"
#include "evidence/intel/tcbinfo.h"
#include "core/timeutil.h"

#define SGX01 "dcap/sgx/sgx01_dcapqvl_collateral.json"
#define TDX01 "dcap/tdx/tdx01_dcapqvl_collateral.json"
#define TDX02 "dcap/tdx/tdx02_dcapqvl_outdated_collateral.json"

/* ---- helpers ---- */

/* The tcb_info text of a bundle fixture (malloc'd). */
static char *bundle_tcb(const char *rel, size_t *n)
{
    return coll_bundle_member(rel, "tcb_info", n);
}

static struct att_tcb_info *parse_ok(const char *text, size_t n)
{
    struct att_tcb_info *t = NULL;
    char msg[256];
    att_err rc = att_tcb_info_parse(text, n, &t, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("parse: %s: %s", att_err_name(rc), msg);
    }
    assert_non_null(t);
    return t;
}

/* Parsing fails with `code`, msg equal to want (when not NULL), *out untouched. */
static void expect_fail(const char *text, size_t n, att_err code, const char *want)
{
    struct att_tcb_info dummy;
    struct att_tcb_info *t = &dummy;
    char msg[256] = "";
    att_err rc = att_tcb_info_parse(text, n, &t, msg, sizeof(msg));
    if (rc != code) {
        fail_msg("expected %s, got %s (%s)", att_err_name(code), att_err_name(rc), msg);
    }
    assert_ptr_equal(t, &dummy);
    if (want != NULL && strcmp(msg, want) != 0) {
        fail_msg("message \"%s\", expected \"%s\"", msg, want);
    }
}

/* One mutation of a base document: member parent/key set to the JSON `value` (NULL: deleted). */
struct mut {
    const char *parent;
    const char *key;
    const char *value;
    att_err code;
    const char *msg;
};

static char *mutated(const char *base, size_t n, const char *parent, const char *key,
                     const char *value)
{
    json_t *v = NULL;
    if (value != NULL) {
        json_error_t jerr;
        v = json_loads(value, JSON_DECODE_ANY, &jerr);
        assert_non_null(v);
    }
    return coll_mutate(base, n, parent, key, v);
}

static void run_muts(const char *base, size_t n, const struct mut *m, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char *doc = mutated(base, n, m[i].parent, m[i].key, m[i].value);
        if (m[i].code == ATT_OK) {
            att_tcb_info_free(parse_ok(doc, strlen(doc)));
        } else {
            expect_fail(doc, strlen(doc), m[i].code, m[i].msg);
        }
        free(doc);
    }
}

/* ---- real documents ---- */

struct expect {
    const char *file;
    bool raw; /* a PCS response (through att_pcs_signed_body), else a bundle */
    enum att_tcb_info_id id;
    const char *fmspc;
    uint32_t eval;
    int64_t issue, next;
    size_t n_levels;
    enum att_tcb_status status0;
    const char *adv0; /* first advisory of level 0, NULL: none */
    int64_t date0;
    uint8_t sgx0[16];
    uint16_t pcesvn0;
    uint8_t tdx0[16];
    size_t n_modules;
};

static const struct expect docs[] = {
    {SGX01,
     false,
     ATT_TCB_INFO_SGX,
     "00a067110000",
     17,
     1750330571,
     1752922571,
     11,
     ATT_TCB_SW_HARDENING_NEEDED,
     "INTEL-SA-00615",
     1710288000,
     {11, 11, 2, 2, 255, 1, 12},
     13,
     {0},
     0},
    {"dcap/sgx/collateral_00606a000000_2025-08_bundle.json",
     false,
     ATT_TCB_INFO_SGX,
     "00606a000000",
     17,
     1755234498,
     1757826498,
     11,
     ATT_TCB_SW_HARDENING_NEEDED,
     "INTEL-SA-00615",
     1710288000,
     {14, 14, 3, 3, 255, 255, 1},
     13,
     {0},
     0},
    {"dcap/sgx/raw_tcbinfo_sgx_00606a000000_2025-08.json",
     true,
     ATT_TCB_INFO_SGX,
     "00606a000000",
     17,
     1755234498,
     1757826498,
     11,
     ATT_TCB_SW_HARDENING_NEEDED,
     "INTEL-SA-00615",
     1710288000,
     {14, 14, 3, 3, 255, 255, 1},
     13,
     {0},
     0},
    {TDX01,
     false,
     ATT_TCB_INFO_TDX,
     "b0c06f000000",
     17,
     1750328163,
     1752920163,
     2,
     ATT_TCB_UP_TO_DATE,
     NULL,
     1710288000,
     {2, 2, 2, 2, 3, 1, 0, 5},
     11,
     {5, 0, 2},
     2},
    {TDX02,
     false,
     ATT_TCB_INFO_TDX,
     "90c06f000000",
     18,
     1771412331,
     1774004331,
     3,
     ATT_TCB_UP_TO_DATE,
     NULL,
     1731456000,
     {3, 3, 2, 2, 4, 1, 0, 5},
     13,
     {5, 0, 3},
     2},
    {"dcap/tdx/tdx04_gotdx_collateral_50806f_2023-06_bundle.json",
     false,
     ATT_TCB_INFO_TDX,
     "50806f000000",
     15,
     1687077778,
     1689669778,
     2,
     ATT_TCB_UP_TO_DATE,
     NULL,
     1676419200,
     {5, 5, 2, 2, 3, 1, 0, 3},
     11,
     {3, 0, 5},
     0},
    {"dcap/tdx/raw_gotdx_sample_tcbInfo_response",
     true,
     ATT_TCB_INFO_TDX,
     "50806f000000",
     15,
     1687077778,
     1689669778,
     2,
     ATT_TCB_UP_TO_DATE,
     NULL,
     1676419200,
     {5, 5, 2, 2, 3, 1, 0, 3},
     11,
     {3, 0, 5},
     0},
    {"dcap/tdx/tdx05_gotdx_collateral_90c06f_2026-02_bundle.json",
     false,
     ATT_TCB_INFO_TDX,
     "90c06f000000",
     18,
     1769957366,
     1772549366,
     3,
     ATT_TCB_UP_TO_DATE,
     NULL,
     1731456000,
     {3, 3, 2, 2, 4, 1, 0, 5},
     13,
     {5, 0, 3},
     2},
    {"dcap/tdx/raw_gotdx_sample_tcbinfo_response_v5",
     true,
     ATT_TCB_INFO_TDX,
     "90c06f000000",
     18,
     1769957366,
     1772549366,
     3,
     ATT_TCB_UP_TO_DATE,
     NULL,
     1731456000,
     {3, 3, 2, 2, 4, 1, 0, 5},
     13,
     {5, 0, 3},
     2},
    {"dcap/tdx/tdx08_trustee_collateral_00a06d080000_2025-10_bundle.json",
     false,
     ATT_TCB_INFO_TDX,
     "00a06d080000",
     17,
     1761570437,
     1764162437,
     2,
     ATT_TCB_UP_TO_DATE,
     NULL,
     1710288000,
     {2, 2, 2, 2, 4, 1, 0, 2},
     13,
     {5, 0, 2},
     2},
    {"dcap/tdx/collateral_00806f050000_2025-10_bundle.json",
     false,
     ATT_TCB_INFO_TDX,
     "00806f050000",
     17,
     1760896130,
     1763488130,
     4,
     ATT_TCB_UP_TO_DATE,
     NULL,
     1710288000,
     {7, 7, 2, 2, 3, 1, 0, 3},
     11,
     {5, 0, 7},
     2},
    {"dcap/tdx/raw_tcbinfo_tdx_00806f050000_2025-10.json",
     true,
     ATT_TCB_INFO_TDX,
     "00806f050000",
     17,
     1760896130,
     1763488130,
     4,
     ATT_TCB_UP_TO_DATE,
     NULL,
     1710288000,
     {7, 7, 2, 2, 3, 1, 0, 3},
     11,
     {5, 0, 7},
     2},
    {"dcap/tdx/collateral_90c06f000000_2025-06_bundle.json",
     false,
     ATT_TCB_INFO_TDX,
     "90c06f000000",
     17,
     1749095025,
     1751687025,
     2,
     ATT_TCB_UP_TO_DATE,
     NULL,
     1710288000,
     {2, 2, 2, 2, 3, 1, 0, 5},
     13,
     {5, 0, 2},
     2},
};
#define N_DOCS (sizeof(docs) / sizeof(docs[0]))

/* The signed text of docs[i] (malloc'd): from a bundle, or cut from a raw response. */
static char *doc_text(const struct expect *e, size_t *n)
{
    if (!e->raw) {
        return bundle_tcb(e->file, n);
    }
    struct att_buf raw;
    struct att_bytes body;
    uint8_t sig[64];
    char msg[128];
    coll_load(e->file, &raw);
    EXPECT_OK(att_pcs_signed_body((const char *)raw.data, raw.len, "tcbInfo", &body, sig, msg,
                                  sizeof(msg)));
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
    for (size_t i = 0; i < N_DOCS; i++) {
        const struct expect *e = &docs[i];
        size_t n = 0;
        char *text = doc_text(e, &n);
        struct att_tcb_info *t = parse_ok(text, n);
        uint8_t fmspc[6];
        coll_unhex(e->fmspc, fmspc, sizeof(fmspc));

        assert_int_equal(t->id, e->id);
        assert_int_equal(t->version, 3);
        assert_memory_equal(t->fmspc, fmspc, 6);
        assert_int_equal(t->pceid[0], 0);
        assert_int_equal(t->pceid[1], 0);
        assert_int_equal(t->tcb_type, 0);
        assert_int_equal(t->eval_num, e->eval);
        assert_int_equal(t->issue_date, e->issue);
        assert_int_equal(t->next_update, e->next);
        assert_int_equal(t->n_levels, e->n_levels);
        const struct att_tcb_level *l0 = &t->levels[0];
        assert_int_equal(l0->status, e->status0);
        assert_int_equal(l0->tcb_date, e->date0);
        if (e->adv0 != NULL) {
            assert_true(l0->advisories.n >= 1);
            assert_string_equal(l0->advisories.ids[0], e->adv0);
        } else {
            assert_int_equal(l0->advisories.n, 0);
        }
        assert_memory_equal(l0->sgx_svn, e->sgx0, 16);
        assert_int_equal(l0->pcesvn, e->pcesvn0);
        assert_int_equal(l0->has_tdx, e->id == ATT_TCB_INFO_TDX);
        assert_int_equal(t->has_tdx_module, e->id == ATT_TCB_INFO_TDX);
        if (e->id == ATT_TCB_INFO_TDX) {
            static const uint8_t zero48[48] = {0};
            static const uint8_t ff8[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
            assert_memory_equal(l0->tdx_svn, e->tdx0, 16);
            assert_memory_equal(t->tdx_module_mrsigner, zero48, 48);
            assert_memory_equal(t->tdx_module_attributes, zero48, 8);
            assert_memory_equal(t->tdx_module_attributes_mask, ff8, 8);
            for (size_t k = 0; k < t->n_levels; k++) {
                assert_true(t->levels[k].has_tdx);
            }
        }
        assert_int_equal(t->n_module_ids, e->n_modules);
        if (e->n_modules == 2) {
            assert_string_equal(t->module_ids[0].id, "TDX_03");
            assert_string_equal(t->module_ids[1].id, "TDX_01");
            assert_int_equal(t->module_ids[0].n_levels, 1);
            assert_int_equal(t->module_ids[0].levels[0].isvsvn, 3);
            assert_int_equal(t->module_ids[0].levels[0].status, ATT_TCB_UP_TO_DATE);
            assert_int_equal(t->module_ids[1].attributes_mask[7], 0xff);
        }
        att_tcb_info_free(t);
        free(text);
    }
}

/* Deeper checks on two documents: every level of sgx01, the module levels of tdx02. */
static void test_level_details(void **state)
{
    (void)state;
    size_t n = 0;
    char *text = bundle_tcb(SGX01, &n);
    struct att_tcb_info *t = parse_ok(text, n);
    static const enum att_tcb_status want[11] = {
        ATT_TCB_SW_HARDENING_NEEDED,
        ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
        ATT_TCB_OUT_OF_DATE,
        ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
        ATT_TCB_OUT_OF_DATE,
        ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
        ATT_TCB_OUT_OF_DATE,
        ATT_TCB_OUT_OF_DATE,
        ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
        ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
        ATT_TCB_OUT_OF_DATE,
    };
    static const size_t n_adv[11] = {1, 2, 3, 3, 5, 5, 7, 7, 7, 8, 20};
    for (size_t i = 0; i < 11; i++) {
        assert_int_equal(t->levels[i].status, want[i]);
        assert_int_equal(t->levels[i].advisories.n, n_adv[i]);
        assert_false(t->levels[i].has_tdx);
    }
    assert_string_equal(t->levels[1].advisories.ids[0], "INTEL-SA-00289");
    assert_string_equal(t->levels[1].advisories.ids[1], "INTEL-SA-00615");
    static const uint8_t last[16] = {5, 5, 2, 2, 255, 1};
    assert_memory_equal(t->levels[10].sgx_svn, last, 16);
    assert_int_equal(t->levels[10].pcesvn, 5);
    assert_int_equal(t->levels[10].tcb_date, 1515024000); /* 2018-01-04T00:00:00Z */
    att_tcb_info_free(t);
    free(text);

    text = bundle_tcb(TDX02, &n);
    t = parse_ok(text, n);
    const struct att_tdx_module_identity *m = &t->module_ids[1];
    assert_string_equal(m->id, "TDX_01");
    assert_int_equal(m->n_levels, 3);
    assert_int_equal(m->levels[0].isvsvn, 6);
    assert_int_equal(m->levels[0].tcb_date, 1731456000);
    assert_int_equal(m->levels[0].advisories.n, 0);
    assert_int_equal(m->levels[1].isvsvn, 4);
    assert_int_equal(m->levels[1].status, ATT_TCB_OUT_OF_DATE);
    assert_int_equal(m->levels[1].advisories.n, 2);
    assert_string_equal(m->levels[1].advisories.ids[0], "INTEL-SA-01036");
    assert_string_equal(m->levels[1].advisories.ids[1], "INTEL-SA-01099");
    assert_int_equal(m->levels[2].tcb_date, 1691539200);
    att_tcb_info_free(t);
    free(text);
}

/* A version 2 document (sgxtcbcompNNsvn members, no id) made from sgx01's levels. */
static char *make_v2(const char *v3, size_t n)
{
    json_error_t jerr;
    json_t *root = json_loadb(v3, n, 0, &jerr);
    assert_non_null(root);
    assert_int_equal(json_object_del(root, "id"), 0);
    assert_int_equal(json_object_set_new(root, "version", json_integer(2)), 0);
    json_t *levels = json_object_get(root, "tcbLevels");
    for (size_t i = 0; i < json_array_size(levels); i++) {
        json_t *lvl = json_array_get(levels, i);
        json_t *old = json_object_get(lvl, "tcb");
        json_t *comps = json_object_get(old, "sgxtcbcomponents");
        json_t *tcb = json_object();
        for (size_t k = 0; k < 16; k++) {
            char key[32];
            snprintf(key, sizeof(key), "sgxtcbcomp%02zusvn", k + 1);
            json_object_set(tcb, key, json_object_get(json_array_get(comps, k), "svn"));
        }
        json_object_set(tcb, "pcesvn", json_object_get(old, "pcesvn"));
        json_object_set_new(lvl, "tcb", tcb);
    }
    char *out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(out);
    json_decref(root);
    return out;
}

static void test_version2(void **state)
{
    (void)state;
    size_t n = 0;
    char *v3 = bundle_tcb(SGX01, &n);
    char *v2 = make_v2(v3, n);
    struct att_tcb_info *a = parse_ok(v3, n);
    struct att_tcb_info *b = parse_ok(v2, strlen(v2));
    assert_int_equal(b->version, 2);
    assert_int_equal(b->id, ATT_TCB_INFO_SGX);
    assert_int_equal(b->n_levels, a->n_levels);
    for (size_t i = 0; i < a->n_levels; i++) {
        assert_memory_equal(b->levels[i].sgx_svn, a->levels[i].sgx_svn, 16);
        assert_int_equal(b->levels[i].pcesvn, a->levels[i].pcesvn);
        assert_int_equal(b->levels[i].status, a->levels[i].status);
    }
    att_tcb_info_free(a);
    att_tcb_info_free(b);

    size_t n2 = strlen(v2);
    static const struct mut muts[] = {
        {"tcbLevels/0/tcb", "sgxtcbcomp07svn", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.sgxtcbcomp07svn: missing"},
        {"tcbLevels/2/tcb", "sgxtcbcomp16svn", "256", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[2].tcb.sgxtcbcomp16svn: expected 0 to 255, found 256"},
        {"", "id", "\"TDX\"", ATT_ERR_COLLATERAL_FORMAT,
         "id: expected \"SGX\" (version 2 is SGX only)"},
        {"", "id", "\"SGX\"", ATT_OK, NULL},
        /* v3 arrays mean nothing in v2: the flat members are required */
        {"tcbLevels/0", "tcb", "{\"sgxtcbcomponents\":[],\"pcesvn\":1}", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.sgxtcbcomp01svn: missing"},
    };
    run_muts(v2, n2, muts, sizeof(muts) / sizeof(muts[0]));
    free(v2);
    free(v3);
}

/* ---- refusals ---- */

static void test_truncated(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_DOCS; i++) {
        size_t n = 0;
        char *text = doc_text(&docs[i], &n);
        for (size_t cut = 0; cut < n; cut++) {
            /* an exact-size copy, so ASan sees any read past the cut */
            char *p = malloc(cut > 0 ? cut : 1);
            assert_non_null(p);
            memcpy(p, text, cut);
            expect_fail(p, cut, ATT_ERR_COLLATERAL_FORMAT, NULL);
            free(p);
        }
        free(text);
    }
}

static void test_types_and_missing(void **state)
{
    (void)state;
    static const struct mut muts[] = {
        {"", "version", "\"3\"", ATT_ERR_COLLATERAL_FORMAT, "version: expected an integer"},
        {"", "version", "3.0", ATT_ERR_COLLATERAL_FORMAT, "version: expected an integer"},
        {"", "id", "1", ATT_ERR_COLLATERAL_FORMAT, "id: expected a string"},
        {"", "issueDate", "0", ATT_ERR_COLLATERAL_FORMAT, "issueDate: expected a string"},
        {"", "nextUpdate", "true", ATT_ERR_COLLATERAL_FORMAT, "nextUpdate: expected a string"},
        {"", "fmspc", "1234", ATT_ERR_COLLATERAL_FORMAT, "fmspc: expected a string"},
        {"", "pceId", "null", ATT_ERR_COLLATERAL_FORMAT, "pceId: expected a string"},
        {"", "tcbType", "\"0\"", ATT_ERR_COLLATERAL_FORMAT, "tcbType: expected an integer"},
        {"", "tcbEvaluationDataNumber", "17.0", ATT_ERR_COLLATERAL_FORMAT,
         "tcbEvaluationDataNumber: expected an integer"},
        {"", "tcbLevels", "{}", ATT_ERR_COLLATERAL_FORMAT, "tcbLevels: expected an array"},
        {"tcbLevels", "0", "\"x\"", ATT_ERR_COLLATERAL_FORMAT, "tcbLevels[0]: expected an object"},
        {"tcbLevels/0", "tcb", "[]", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb: expected an object"},
        {"tcbLevels/0/tcb", "sgxtcbcomponents", "{}", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.sgxtcbcomponents: expected an array"},
        {"tcbLevels/0/tcb/sgxtcbcomponents", "3", "1", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.sgxtcbcomponents[3]: expected an object"},
        {"tcbLevels/0/tcb/sgxtcbcomponents/3", "svn", "\"3\"", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.sgxtcbcomponents[3].svn: expected an integer"},
        {"tcbLevels/0/tcb/sgxtcbcomponents/0", "category", "1", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.sgxtcbcomponents[0].category: expected a string"},
        {"tcbLevels/0/tcb", "pcesvn", "\"13\"", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.pcesvn: expected an integer"},
        {"tcbLevels/4", "tcbDate", "1", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[4].tcbDate: expected a string"},
        {"tcbLevels/4", "tcbStatus", "0", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[4].tcbStatus: expected a string"},
        {"tcbLevels/0", "advisoryIDs", "\"INTEL-SA-00615\"", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].advisoryIDs: expected an array"},
        {"tcbLevels/1/advisoryIDs", "1", "615", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[1].advisoryIDs[1]: expected a string"},
        /* missing required members */
        {"", "version", NULL, ATT_ERR_COLLATERAL_FORMAT, "version: missing"},
        {"", "id", NULL, ATT_ERR_COLLATERAL_FORMAT, "id: missing"},
        {"", "issueDate", NULL, ATT_ERR_COLLATERAL_FORMAT, "issueDate: missing"},
        {"", "nextUpdate", NULL, ATT_ERR_COLLATERAL_FORMAT, "nextUpdate: missing"},
        {"", "fmspc", NULL, ATT_ERR_COLLATERAL_FORMAT, "fmspc: missing"},
        {"", "pceId", NULL, ATT_ERR_COLLATERAL_FORMAT, "pceId: missing"},
        {"", "tcbType", NULL, ATT_ERR_COLLATERAL_FORMAT, "tcbType: missing"},
        {"", "tcbEvaluationDataNumber", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbEvaluationDataNumber: missing"},
        {"", "tcbLevels", NULL, ATT_ERR_COLLATERAL_FORMAT, "tcbLevels: missing"},
        {"tcbLevels/2", "tcb", NULL, ATT_ERR_COLLATERAL_FORMAT, "tcbLevels[2].tcb: missing"},
        {"tcbLevels/2/tcb", "pcesvn", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[2].tcb.pcesvn: missing"},
        {"tcbLevels/2/tcb/sgxtcbcomponents/15", "svn", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[2].tcb.sgxtcbcomponents[15].svn: missing"},
        {"tcbLevels/2", "tcbDate", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[2].tcbDate: missing"},
        {"tcbLevels/2", "tcbStatus", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[2].tcbStatus: missing"},
        /* optional, and unknown members */
        {"tcbLevels/0", "advisoryIDs", NULL, ATT_OK, NULL},
        {"tcbLevels/0", "advisoryIDs", "[]", ATT_OK, NULL},
        {"tcbLevels/0/tcb/sgxtcbcomponents/0", "type", "\"Early Microcode Update\"", ATT_OK, NULL},
        {"", "futureMember", "{\"a\":[1,2,{}]}", ATT_OK, NULL},
        {"tcbLevels/3", "futureMember", "null", ATT_OK, NULL},
        /* an SGX document ignores TDX members */
        {"tcbLevels/0/tcb", "tdxtcbcomponents", "7", ATT_OK, NULL},
        {"", "tdxModule", "7", ATT_OK, NULL},
    };
    size_t n = 0;
    char *base = bundle_tcb(SGX01, &n);
    run_muts(base, n, muts, sizeof(muts) / sizeof(muts[0]));
    free(base);
}

static void test_values(void **state)
{
    (void)state;
    static const struct mut muts[] = {
        {"", "version", "4", ATT_ERR_COLLATERAL_FORMAT, "version: expected 2 or 3, found 4"},
        {"", "version", "1", ATT_ERR_COLLATERAL_FORMAT, "version: expected 2 or 3, found 1"},
        {"", "version", "-3", ATT_ERR_COLLATERAL_FORMAT,
         "version: expected 0 to 4294967295, found -3"},
        {"", "id", "\"sgx\"", ATT_ERR_COLLATERAL_FORMAT, "id: expected \"SGX\" or \"TDX\""},
        {"", "id", "\"TDX\"", ATT_ERR_COLLATERAL_FORMAT, "tdxModule: missing"},
        {"", "tcbType", "1", ATT_ERR_COLLATERAL_FORMAT, "tcbType: expected 0, found 1"},
        {"", "tcbEvaluationDataNumber", "4294967296", ATT_ERR_COLLATERAL_FORMAT,
         "tcbEvaluationDataNumber: expected 0 to 4294967295, found 4294967296"},
        {"", "tcbEvaluationDataNumber", "4294967295", ATT_OK, NULL},
        {"tcbLevels/0/tcb/sgxtcbcomponents/3", "svn", "256", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.sgxtcbcomponents[3].svn: expected 0 to 255, found 256"},
        {"tcbLevels/0/tcb/sgxtcbcomponents/3", "svn", "-1", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.sgxtcbcomponents[3].svn: expected 0 to 255, found -1"},
        {"tcbLevels/0/tcb/sgxtcbcomponents/3", "svn", "255", ATT_OK, NULL},
        {"tcbLevels/0/tcb", "pcesvn", "65536", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.pcesvn: expected 0 to 65535, found 65536"},
        {"tcbLevels/0/tcb", "pcesvn", "65535", ATT_OK, NULL},
        /* hex */
        {"", "fmspc", "\"00a0671100\"", ATT_ERR_COLLATERAL_FORMAT,
         "fmspc: expected 12 hex digits, found 10 characters"},
        {"", "fmspc", "\"00a06711000000\"", ATT_ERR_COLLATERAL_FORMAT,
         "fmspc: expected 12 hex digits, found 14 characters"},
        {"", "fmspc", "\"00a06711000g\"", ATT_ERR_ENCODING, "fmspc: not hex"},
        {"", "fmspc", "\"0xa067110000\"", ATT_ERR_ENCODING, "fmspc: not hex"},
        {"", "fmspc", "\"00A067110000\"", ATT_OK, NULL},
        {"", "pceId", "\"00000\"", ATT_ERR_COLLATERAL_FORMAT,
         "pceId: expected 4 hex digits, found 5 characters"},
        {"", "pceId", "\"\"", ATT_ERR_COLLATERAL_FORMAT,
         "pceId: expected 4 hex digits, found 0 characters"},
        /* component counts */
        {"tcbLevels/3/tcb/sgxtcbcomponents", "15", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[3].tcb.sgxtcbcomponents: expected 16 entries, found 15"},
        {"tcbLevels/3/tcb", "sgxtcbcomponents", "[]", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[3].tcb.sgxtcbcomponents: expected 16 entries, found 0"},
        /* statuses */
        {"tcbLevels/0", "tcbStatus", "\"Unknown\"", ATT_ERR_TCB_STATUS_UNKNOWN,
         "tcbLevels[0].tcbStatus: not a status Intel defines"},
        {"tcbLevels/5", "tcbStatus", "\"uptodate\"", ATT_ERR_TCB_STATUS_UNKNOWN,
         "tcbLevels[5].tcbStatus: not a status Intel defines"},
        {"tcbLevels/5", "tcbStatus", "\"TDRelaunchAdvised\"", ATT_ERR_TCB_STATUS_UNKNOWN, NULL},
        {"tcbLevels/5", "tcbStatus", "\"UpToDate \"", ATT_ERR_TCB_STATUS_UNKNOWN, NULL},
        {"tcbLevels/5", "tcbStatus", "\"\"", ATT_ERR_TCB_STATUS_UNKNOWN, NULL},
        {"tcbLevels/5", "tcbStatus", "\"Revoked\"", ATT_OK, NULL},
        {"tcbLevels/5", "tcbStatus", "\"ConfigurationNeeded\"", ATT_OK, NULL},
        /* levels */
        {"", "tcbLevels", "[]", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels: expected at least one entry"},
        /* advisory ids */
        {"tcbLevels/1/advisoryIDs", "0", "\"INTEL SA\"", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[1].advisoryIDs[0]: expected 1 to 32 characters of A-Z a-z 0-9 -"},
        {"tcbLevels/1/advisoryIDs", "0", "\"\"", ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"tcbLevels/1/advisoryIDs", "0", "\"INTEL-SA-0061\\n\"", ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"tcbLevels/1/advisoryIDs", "0", "\"A23456789012345678901234567890123\"",
         ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"tcbLevels/1/advisoryIDs", "0", "\"A2345678901234567890123456789012\"", ATT_OK, NULL},
        {"tcbLevels/1/advisoryIDs", "0", "\"intel-doc-00001\"", ATT_OK, NULL},
        /* dates */
        {"", "issueDate", "\"2025-06-19 10:56:11Z\"", ATT_ERR_COLLATERAL_FORMAT,
         "issueDate: expected an RFC 3339 UTC date-time"},
        {"", "issueDate", "\"2025-06-19T10:56:11+00:00\"", ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"", "issueDate", "\"2025-06-19T10:56:11\"", ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"", "issueDate", "\"2025-02-29T10:56:11Z\"", ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"", "issueDate", "\"2025-06-19T24:00:00Z\"", ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"", "issueDate", "\"2025-06-19T10:56:11.Z\"", ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"", "issueDate", "\"1750330571\"", ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"tcbLevels/2", "tcbDate", "\"2024-13-13T00:00:00Z\"", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[2].tcbDate: expected an RFC 3339 UTC date-time"},
        {"", "issueDate", "\"2025-06-19T10:56:11.250Z\"", ATT_OK, NULL},
        {"", "nextUpdate", "\"2025-06-19T10:56:11Z\"", ATT_ERR_COLLATERAL_FORMAT,
         "nextUpdate: not after issueDate"},
        {"", "nextUpdate", "\"2025-06-19T10:56:10Z\"", ATT_ERR_COLLATERAL_FORMAT,
         "nextUpdate: not after issueDate"},
        {"", "nextUpdate", "\"2025-06-19T10:56:12Z\"", ATT_OK, NULL},
    };
    size_t n = 0;
    char *base = bundle_tcb(SGX01, &n);
    run_muts(base, n, muts, sizeof(muts) / sizeof(muts[0]));
    free(base);
}

static void test_tdx_rules(void **state)
{
    (void)state;
    static const struct mut muts[] = {
        {"tcbLevels/1/tcb", "tdxtcbcomponents", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[1].tcb.tdxtcbcomponents: missing"},
        {"tcbLevels/0/tcb/tdxtcbcomponents", "0", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.tdxtcbcomponents: expected 16 entries, found 15"},
        {"tcbLevels/0/tcb/tdxtcbcomponents/2", "svn", "300", ATT_ERR_COLLATERAL_FORMAT,
         "tcbLevels[0].tcb.tdxtcbcomponents[2].svn: expected 0 to 255, found 300"},
        {"", "tdxModule", NULL, ATT_ERR_COLLATERAL_FORMAT, "tdxModule: missing"},
        {"", "tdxModule", "[]", ATT_ERR_COLLATERAL_FORMAT, "tdxModule: expected an object"},
        {"tdxModule", "mrsigner", "\"00\"", ATT_ERR_COLLATERAL_FORMAT,
         "tdxModule.mrsigner: expected 96 hex digits, found 2 characters"},
        {"tdxModule", "attributesMask", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tdxModule.attributesMask: missing"},
        {"tdxModule", "attributes", "\"000000000000000Z\"", ATT_ERR_ENCODING,
         "tdxModule.attributes: not hex"},
        {"", "tdxModuleIdentities", NULL, ATT_OK, NULL},
        {"", "tdxModuleIdentities", "[]", ATT_OK, NULL},
        {"", "tdxModuleIdentities", "{}", ATT_ERR_COLLATERAL_FORMAT,
         "tdxModuleIdentities: expected an array"},
        {"tdxModuleIdentities", "0", "1", ATT_ERR_COLLATERAL_FORMAT,
         "tdxModuleIdentities[0]: expected an object"},
        {"tdxModuleIdentities/1", "id", "\"tdx_03\"", ATT_ERR_COLLATERAL_FORMAT,
         "tdxModuleIdentities[1].id: same as tdxModuleIdentities[0]"},
        {"tdxModuleIdentities/1", "id", "\"TDX_0123456789AB\"", ATT_ERR_COLLATERAL_FORMAT,
         "tdxModuleIdentities[1].id: expected 1 to 15 characters of A-Z a-z 0-9 _"},
        {"tdxModuleIdentities/1", "id", "\"TDX-01\"", ATT_ERR_COLLATERAL_FORMAT, NULL},
        {"tdxModuleIdentities/1", "id", "\"TDX_0123456789A\"", ATT_OK, NULL},
        {"tdxModuleIdentities/0", "mrsigner", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tdxModuleIdentities[0].mrsigner: missing"},
        {"tdxModuleIdentities/0", "tcbLevels", "[]", ATT_ERR_COLLATERAL_FORMAT,
         "tdxModuleIdentities[0].tcbLevels: expected at least one entry"},
        {"tdxModuleIdentities/1/tcbLevels/1/tcb", "isvsvn", "256", ATT_ERR_COLLATERAL_FORMAT,
         "tdxModuleIdentities[1].tcbLevels[1].tcb.isvsvn: expected 0 to 255, found 256"},
        {"tdxModuleIdentities/1/tcbLevels/1", "tcbStatus", "\"Bad\"", ATT_ERR_TCB_STATUS_UNKNOWN,
         "tdxModuleIdentities[1].tcbLevels[1].tcbStatus: not a status Intel defines"},
        {"tdxModuleIdentities/1/tcbLevels/0", "tcb", NULL, ATT_ERR_COLLATERAL_FORMAT,
         "tdxModuleIdentities[1].tcbLevels[0].tcb: missing"},
        /* a TDX document must be version 3 */
        {"", "version", "2", ATT_ERR_COLLATERAL_FORMAT,
         "id: expected \"SGX\" (version 2 is SGX only)"},
    };
    size_t n = 0;
    char *base = bundle_tcb(TDX01, &n);
    run_muts(base, n, muts, sizeof(muts) / sizeof(muts[0]));
    free(base);
}

/* Documents grown to and past the caps. */
static void test_caps(void **state)
{
    (void)state;
    size_t n = 0;
    char *base = bundle_tcb(TDX01, &n);
    json_error_t jerr;

    for (size_t want = 127; want <= 129; want++) {
        json_t *root = json_loadb(base, n, 0, &jerr);
        json_t *levels = json_object_get(root, "tcbLevels");
        while (json_array_size(levels) < want) {
            json_array_append_new(levels, json_deep_copy(json_array_get(levels, 1)));
        }
        char *doc = json_dumps(root, JSON_COMPACT);
        if (want <= ATT_TCB_MAX_LEVELS) {
            struct att_tcb_info *t = parse_ok(doc, strlen(doc));
            assert_int_equal(t->n_levels, want);
            att_tcb_info_free(t);
        } else {
            expect_fail(doc, strlen(doc), ATT_ERR_TOO_LARGE, "tcbLevels: more than 128 entries");
        }
        free(doc);
        json_decref(root);
    }
    for (size_t want = 128; want <= 129; want++) {
        json_t *root = json_loadb(base, n, 0, &jerr);
        json_t *adv = json_array();
        for (size_t i = 0; i < want; i++) {
            char id[32];
            snprintf(id, sizeof(id), "INTEL-SA-%05zu", i);
            json_array_append_new(adv, json_string(id));
        }
        json_object_set_new(json_array_get(json_object_get(root, "tcbLevels"), 1), "advisoryIDs",
                            adv);
        char *doc = json_dumps(root, JSON_COMPACT);
        if (want <= ATT_TCB_MAX_ADVISORIES) {
            struct att_tcb_info *t = parse_ok(doc, strlen(doc));
            assert_int_equal(t->levels[1].advisories.n, want);
            assert_string_equal(t->levels[1].advisories.ids[127], "INTEL-SA-00127");
            att_tcb_info_free(t);
        } else {
            expect_fail(doc, strlen(doc), ATT_ERR_TOO_LARGE,
                        "tcbLevels[1].advisoryIDs: more than 128 entries");
        }
        free(doc);
        json_decref(root);
    }
    for (size_t want = 16; want <= 17; want++) {
        json_t *root = json_loadb(base, n, 0, &jerr);
        json_t *ids = json_object_get(root, "tdxModuleIdentities");
        while (json_array_size(ids) < want) {
            json_t *m = json_deep_copy(json_array_get(ids, 0));
            char id[16];
            snprintf(id, sizeof(id), "TDX_%02zX", json_array_size(ids) + 0x10);
            json_object_set_new(m, "id", json_string(id));
            json_array_append_new(ids, m);
        }
        char *doc = json_dumps(root, JSON_COMPACT);
        if (want <= ATT_TCB_MAX_MODULE_IDENTITIES) {
            struct att_tcb_info *t = parse_ok(doc, strlen(doc));
            assert_int_equal(t->n_module_ids, want);
            att_tcb_info_free(t);
        } else {
            expect_fail(doc, strlen(doc), ATT_ERR_TOO_LARGE,
                        "tdxModuleIdentities: more than 16 entries");
        }
        free(doc);
        json_decref(root);
    }
    /* the text itself: padded with spaces past ATT_COLLATERAL_MAX_DOC */
    char *big = malloc(ATT_COLLATERAL_MAX_DOC + 1);
    assert_non_null(big);
    memset(big, ' ', ATT_COLLATERAL_MAX_DOC + 1);
    memcpy(big, base, n);
    struct att_tcb_info *t = parse_ok(big, ATT_COLLATERAL_MAX_DOC);
    att_tcb_info_free(t);
    expect_fail(big, ATT_COLLATERAL_MAX_DOC + 1, ATT_ERR_TOO_LARGE, NULL);
    free(big);
    free(base);
}

static void test_framing(void **state)
{
    (void)state;
    size_t n = 0;
    char *base = bundle_tcb(SGX01, &n);
    char *doc = malloc(n + 64);
    assert_non_null(doc);

    /* a duplicate top-level member (JSON_REJECT_DUPLICATES), and one inside a level */
    snprintf(doc, n + 64, "{\"fmspc\":\"00a067110000\",%s", base + 1);
    expect_fail(doc, strlen(doc), ATT_ERR_COLLATERAL_FORMAT, NULL);
    char msg[256];
    struct att_tcb_info *t = NULL;
    EXPECT_ERR(att_tcb_info_parse(doc, strlen(doc), &t, msg, sizeof(msg)),
               ATT_ERR_COLLATERAL_FORMAT);
    assert_true(strncmp(msg, "duplicate member name (byte ", 28) == 0);
    const char *lvl = strstr(base, "\"tcbDate\"");
    assert_non_null(lvl);
    size_t at = (size_t)(lvl - base);
    snprintf(doc, n + 64, "%.*s\"tcbDate\":\"2024-03-13T00:00:00Z\",%s", (int)at, base, base + at);
    expect_fail(doc, strlen(doc), ATT_ERR_COLLATERAL_FORMAT, NULL);

    /* trailing bytes, other JSON values, nothing */
    snprintf(doc, n + 64, "%s x", base);
    expect_fail(doc, strlen(doc), ATT_ERR_COLLATERAL_FORMAT, NULL);
    snprintf(doc, n + 64, "%s\n", base);
    att_tcb_info_free(parse_ok(doc, strlen(doc)));
    expect_fail("[]", 2, ATT_ERR_COLLATERAL_FORMAT, "expected a JSON object");
    expect_fail("\"x\"", 3, ATT_ERR_COLLATERAL_FORMAT, NULL); /* jansson: not a document */
    expect_fail("", 0, ATT_ERR_COLLATERAL_FORMAT, NULL);
    expect_fail(NULL, 0, ATT_ERR_COLLATERAL_FORMAT, NULL);
    expect_fail("{}", 2, ATT_ERR_COLLATERAL_FORMAT, "version: missing");
    /* an embedded NUL ends nothing early: the length rules */
    memcpy(doc, base, n);
    doc[n / 2] = 0;
    expect_fail(doc, n, ATT_ERR_COLLATERAL_FORMAT, NULL);

    EXPECT_ERR(att_tcb_info_parse(base, n, NULL, msg, sizeof(msg)), ATT_ERR_ARG);
    EXPECT_ERR(att_tcb_info_parse(NULL, 5, &t, msg, sizeof(msg)), ATT_ERR_ARG);
    /* no message buffer is fine */
    EXPECT_ERR(att_tcb_info_parse("[]", 2, &t, NULL, 0), ATT_ERR_COLLATERAL_FORMAT);
    att_tcb_info_free(NULL);
    free(doc);
    free(base);
}

static void test_status_names(void **state)
{
    (void)state;
    static const char *const names[] = {"UpToDate",
                                        "SWHardeningNeeded",
                                        "ConfigurationNeeded",
                                        "ConfigurationAndSWHardeningNeeded",
                                        "OutOfDate",
                                        "OutOfDateConfigurationNeeded",
                                        "Revoked",
                                        "TDRelaunchAdvised",
                                        "TDRelaunchAdvisedConfigurationNeeded"};
    for (size_t i = 0; i < 9; i++) {
        enum att_tcb_status s = ATT_TCB_REVOKED;
        assert_string_equal(att_tcb_status_name((enum att_tcb_status)i), names[i]);
        if (i <= ATT_TCB_REVOKED) {
            EXPECT_OK(att_tcb_status_parse(names[i], strlen(names[i]), &s));
            assert_int_equal(s, i);
        } else {
            EXPECT_ERR(att_tcb_status_parse(names[i], strlen(names[i]), &s),
                       ATT_ERR_TCB_STATUS_UNKNOWN);
        }
    }
    enum att_tcb_status s = ATT_TCB_REVOKED;
    EXPECT_ERR(att_tcb_status_parse("UpToDateX", 8 + 1, &s), ATT_ERR_TCB_STATUS_UNKNOWN);
    EXPECT_OK(att_tcb_status_parse("UpToDateX", 8, &s)); /* length-delimited */
    assert_int_equal(s, ATT_TCB_UP_TO_DATE);
    EXPECT_ERR(att_tcb_status_parse("OutofDate", 9, &s), ATT_ERR_TCB_STATUS_UNKNOWN);
    EXPECT_ERR(att_tcb_status_parse("", 0, &s), ATT_ERR_TCB_STATUS_UNKNOWN);
    assert_string_equal(att_tcb_status_name((enum att_tcb_status)99), "?");
}

/* att_time_parse_rfc3339 against timegm, and its refusals. */
static void test_dates(void **state)
{
    (void)state;
    static const char *const good[] = {
        "1970-01-01T00:00:00Z", "2025-06-19T10:56:11Z", "2000-02-29T23:59:59Z",
        "2024-02-29T12:00:00Z", "2099-12-31T23:59:59Z", "1969-12-31T23:59:59Z",
        "2038-01-19T03:14:08Z", "9999-12-31T23:59:59Z", "2018-01-04T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        assert_non_null(strptime(good[i], "%Y-%m-%dT%H:%M:%SZ", &tm));
        int64_t want = (int64_t)timegm(&tm);
        int64_t got = 0;
        EXPECT_OK(att_time_parse_rfc3339(good[i], strlen(good[i]), &got));
        assert_int_equal(got, want);
    }
    int64_t got = 0;
    EXPECT_OK(att_time_parse_rfc3339("2025-06-19T10:56:11.999999999Z", 30, &got));
    assert_int_equal(got, 1750330571);
    EXPECT_OK(att_time_parse_rfc3339("2025-06-19T10:56:11.0Z", 22, &got));
    assert_int_equal(got, 1750330571);
    static const char *const bad[] = {
        "",
        "2025-06-19",
        "2025-06-19T10:56:11",
        "2025-06-19T10:56:11z",
        "2025-06-19t10:56:11Z",
        "2025-06-19T10:56:11+00:00",
        "2025-06-19T10:56:11.Z",
        "2025-06-19T10:56:11.1234567890Z",
        "2025-06-19T10:56:60Z",
        "2025-06-19T10:60:11Z",
        "2025-06-19T24:00:00Z",
        "2025-06-31T10:56:11Z",
        "2025-02-29T10:56:11Z",
        "1900-02-29T10:56:11Z",
        "2025-00-19T10:56:11Z",
        "2025-06-00T10:56:11Z",
        "2025-6-19T10:56:11Z",
        "+2025-06-19T10:56:11Z",
        " 2025-06-19T10:56:11Z",
        "2025-06-19T10:56:11Z ",
        "2025-06-19T10:56:11ZZ",
        "2025/06/19T10:56:11Z",
        "2025-06-19T10:5a:11Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        got = 42;
        att_err rc = att_time_parse_rfc3339(bad[i], strlen(bad[i]), &got);
        if (rc != ATT_ERR_PARSE) {
            fail_msg("\"%s\": expected ATT_ERR_PARSE, got %s", bad[i], att_err_name(rc));
        }
        assert_int_equal(got, 42);
    }
    /* length-delimited: a valid prefix of a longer text is judged on its own */
    EXPECT_OK(att_time_parse_rfc3339("2025-06-19T10:56:11Zjunk", 20, &got));
    EXPECT_ERR(att_time_parse_rfc3339("2025-06-19T10:56:11Z", 19, &got), ATT_ERR_PARSE);
    EXPECT_ERR(att_time_parse_rfc3339(NULL, 0, &got), ATT_ERR_PARSE);
    EXPECT_ERR(att_time_parse_rfc3339("x", 1, NULL), ATT_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_documents),
        cmocka_unit_test(test_level_details),
        cmocka_unit_test(test_version2),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_types_and_missing),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_tdx_rules),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
