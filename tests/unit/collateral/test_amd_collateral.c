/*
 * test_amd_collateral.c - the AMD collateral service (src/collateral/amd.c) on a real SQLite
 * store with the AMD test PKI: bundles (what they hold, what they refuse, importing twice adds
 * nothing), a VCEK from a bundle found again by the report's CHIP_ID and REPORTED_TCB (Milan,
 * Genoa, Turin), a stored VCEK found by a second node, and the refresh of a CRL near its
 * nextUpdate from the store (another node's import).
 */
#include "amd_testpki.h"
#include "att_test.h"
#include "collateral/amd.h"
#include "core/codec.h"
#include "store_fixture.h"

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

static int setup(void **state)
{
    return store_fx_setup(state, "amdcol", true);
}

static int teardown(void **state)
{
    return store_fx_teardown(state);
}

/* {"amd": [chain (+ crl)], "vceks": [leaf]?} of a PKI, as JSON text. */
static char *bundle(const struct amd_testpki *p, const struct amd_testpki_blob *crl, bool vcek)
{
    struct att_buf hex;
    att_buf_init(&hex, 1 << 20);
    json_t *entry = json_pack("{s:s, s:s, s:s}", "product", amd_testpki_product_name(p->product),
                              "chain", p->vlek ? "vlek" : "vcek", "cert_chain", p->kds_chain_pem);
    if (crl != NULL) {
        EXPECT_OK(att_hex_encode(crl->p, crl->len, &hex));
        json_object_set_new(entry, "crl", json_stringn((const char *)hex.data, hex.len));
    }
    json_t *doc = json_pack("{s:[o]}", "amd", entry);
    if (vcek) {
        att_buf_reset(&hex);
        EXPECT_OK(att_hex_encode(p->leaf_der.p, p->leaf_der.len, &hex));
        json_object_set_new(doc, "vceks",
                            json_pack("[s%]", (const char *)hex.data, (size_t)hex.len));
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    att_buf_cleanup(&hex);
    return text;
}

/* A Milan VCEK PKI at NOW (small RSA keys: the key size does not matter here). */
static void milan_pki(struct amd_testpki *p)
{
    struct amd_testpki_opts o;
    memset(&o, 0, sizeof(o));
    o.now = NOW;
    o.rsa_bits = 1024;
    assert_int_equal(amd_testpki_build(&o, p), 0);
}

static struct att_amd_trust *trust_of(const struct amd_testpki *p)
{
    struct att_amd_trust *t = NULL;
    char msg[256] = "";
    EXPECT_OK(att_amd_trust_from_pem(p->ark_pem, strlen(p->ark_pem), &t, msg, sizeof(msg)));
    return t;
}

static struct att_amd_collateral *service(struct att_store *s, const struct att_amd_trust *t)
{
    struct att_amd_collateral_config cfg = {NULL, NULL, 0, 0, true};
    struct att_amd_collateral *c = NULL;
    EXPECT_OK(att_amd_collateral_new(s, t, &cfg, &c));
    return c;
}

static att_err count_rows(const struct att_collateral_rec *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
    return ATT_OK;
}

static att_err import(struct att_amd_collateral *c, const char *text, int *n, char *msg,
                      size_t msg_len)
{
    return att_amd_collateral_import(c, text, strlen(text), NOW, false, n, msg, msg_len);
}

/* get() for the PKI's report, carrying nothing (a bare report): the VCEK from cache or store. */
static att_err get_bare(struct att_amd_collateral *c, const struct amd_testpki *p, int64_t at,
                        struct att_snp_inputs *in)
{
    struct att_snp_report r;
    struct att_snp_carried none = {{NULL, 0}, {NULL, 0}};
    char msg[256] = "";
    EXPECT_OK(att_snp_report_parse(p->report, sizeof(p->report), &r, msg, sizeof(msg)));
    struct att_snp_source src = att_amd_collateral_source(c);
    return src.get(src.ctx, &r, &none, at, in, msg, sizeof(msg));
}

static void test_vcek_bundles(void **state)
{
    struct store_fx *f = *state;
    const enum amd_testpki_product products[] = {AMD_TESTPKI_MILAN, AMD_TESTPKI_GENOA,
                                                 AMD_TESTPKI_TURIN};
    for (size_t i = 0; i < 3; i++) {
        struct amd_testpki p;
        struct amd_testpki_opts o;
        struct att_snp_inputs in;
        char msg[256] = "";
        int n = -1;
        memset(&o, 0, sizeof(o));
        memset(&in, 0, sizeof(in));
        o.now = NOW;
        o.rsa_bits = 1024;
        o.product = products[i];
        o.report_version = products[i] == AMD_TESTPKI_TURIN ? 3 : 2; /* v2: product unknown */
        assert_int_equal(amd_testpki_build(&o, &p), 0);
        struct att_amd_trust *t = trust_of(&p);
        struct att_amd_collateral *c = service(f->s, t);
        char *text = bundle(&p, &p.crl_vcek_der, true);
        EXPECT_OK(import(c, text, &n, msg, sizeof(msg)));
        assert_int_equal(n, 3); /* chain, CRL, VCEK */
        EXPECT_OK(import(c, text, &n, msg, sizeof(msg)));
        assert_int_equal(n, 0); /* nothing new */
        /* the VCEK is found by the report's CHIP_ID and REPORTED_TCB, here and on a new node */
        EXPECT_OK(get_bare(c, &p, NOW, &in));
        assert_non_null(in.crl);
        assert_int_equal(in.leaf->product, (enum att_snp_product)(products[i] + 1));
        att_snp_inputs_release(&in);
        struct att_amd_collateral *other = service(f->s, t);
        EXPECT_OK(get_bare(other, &p, NOW, &in));
        att_snp_inputs_release(&in);
        att_amd_collateral_free(other);
        free(text);
        att_amd_collateral_free(c);
        att_amd_trust_free(t);
        amd_testpki_free(&p);
    }
}

static void test_bundle_refusals(void **state)
{
    struct store_fx *f = *state;
    struct amd_testpki p;
    char msg[256] = "";
    milan_pki(&p);
    struct att_amd_trust *t = trust_of(&p);
    struct att_amd_collateral *c = service(f->s, t);
    const struct {
        const char *text;
        att_err want;
    } bad[] = {
        {"[]", ATT_ERR_COLLATERAL_FORMAT},
        {"{\"amd\": {}}", ATT_ERR_COLLATERAL_FORMAT},
        {"{\"amd\": [{\"product\": \"Rome\", \"chain\": \"vcek\", \"cert_chain\": \"\"}]}",
         ATT_ERR_COLLATERAL_FORMAT},
        {"{\"amd\": [{\"product\": \"Milan\", \"chain\": \"vcek\"}]}", ATT_ERR_COLLATERAL_FORMAT},
        {"{\"amd\": [{\"product\": \"Milan\", \"chain\": \"vcek\", \"cert_chain\": \"x\", "
         "\"extra\": 1}]}",
         ATT_ERR_COLLATERAL_FORMAT},
        {"{\"amd\": [], \"vceks\": [\"00\"]}", ATT_ERR_COLLATERAL_FORMAT},
        {"{\"amd\": [1,2,3,4,5,6,7]}", ATT_ERR_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        att_err rc = import(c, bad[i].text, NULL, msg, sizeof(msg));
        if (rc != bad[i].want) {
            fail_msg("bundle %zu: expected %s, got %s (%s)", i, att_err_name(bad[i].want),
                     att_err_name(rc), msg);
        }
    }
    /* Milan's chain filed as Genoa's */
    char *text = bundle(&p, NULL, false);
    char *genoa = strstr(text, "Milan");
    memcpy(genoa, "Genoa", 5);
    EXPECT_ERR(import(c, text, NULL, msg, sizeof(msg)), ATT_ERR_SNP_PRODUCT_MISMATCH);
    free(text);
    /* a VCEK whose product has no chain held */
    struct att_buf hex;
    att_buf_init(&hex, 1 << 16);
    EXPECT_OK(att_hex_encode(p.leaf_der.p, p.leaf_der.len, &hex));
    json_t *doc =
        json_pack("{s:[], s:[s%]}", "amd", "vceks", (const char *)hex.data, (size_t)hex.len);
    text = json_dumps(doc, JSON_COMPACT);
    EXPECT_ERR(import(c, text, NULL, msg, sizeof(msg)), ATT_ERR_COLLATERAL_MISSING);
    free(text);
    json_decref(doc);
    att_buf_cleanup(&hex);
    att_amd_collateral_free(c);
    att_amd_trust_free(t);
    amd_testpki_free(&p);
}

/* Attack u13: a bundle with one bad item stores nothing, not even its good items. */
static void test_bundle_all_or_nothing(void **state)
{
    struct store_fx *f = *state;
    struct amd_testpki p;
    struct att_buf hex;
    char msg[256] = "";
    int rows = 0;
    milan_pki(&p);
    struct att_amd_trust *t = trust_of(&p);
    struct att_amd_collateral *c = service(f->s, t);
    att_buf_init(&hex, 1 << 20);
    EXPECT_OK(att_hex_encode(p.crl_vcek_der.p, p.crl_vcek_der.len, &hex));
    json_t *doc = json_pack("{s:[{s:s, s:s, s:s, s:s%}, {s:s, s:s, s:s, s:s}]}", "amd", "product",
                            "Milan", "chain", "vcek", "cert_chain", p.kds_chain_pem, "crl",
                            (const char *)hex.data, (size_t)hex.len, "product", "Milan", "chain",
                            "vlek", "cert_chain", p.kds_chain_pem, "crl", "zz");
    char *text = json_dumps(doc, JSON_COMPACT);
    EXPECT_ERR(import(c, text, NULL, msg, sizeof(msg)), ATT_ERR_SNP_PRODUCT_MISMATCH);
    EXPECT_OK(att_store_collateral_list(f->s, count_rows, &rows));
    assert_int_equal(rows, 0);
    free(text);
    json_decref(doc);
    att_buf_cleanup(&hex);
    att_amd_collateral_free(c);
    att_amd_trust_free(t);
    amd_testpki_free(&p);
}

/* A bundle whose CRL has passed its nextUpdate is refused whole (issue 17: importing expired
 * collateral used to succeed), unless allow_expired. */
static void test_bundle_expired(void **state)
{
    struct store_fx *f = *state;
    struct amd_testpki p;
    char msg[256] = "";
    int rows = 0;
    int n = 0;
    milan_pki(&p);
    struct att_amd_trust *t = trust_of(&p);
    struct att_amd_collateral *c = service(f->s, t);
    char *text = bundle(&p, &p.crl_vcek_der, true);
    int64_t after = NOW + 30 * AMD_TESTPKI_DAY; /* the CRL's nextUpdate is NOW + 29 days */
    EXPECT_ERR(att_amd_collateral_import(c, text, strlen(text), after, false, &n, msg, sizeof(msg)),
               ATT_ERR_COLLATERAL_EXPIRED);
    assert_non_null(strstr(msg, "amd_crl vcek:Milan expired (2026-01-30T00:00:00Z)"));
    EXPECT_OK(att_store_collateral_list(f->s, count_rows, &rows));
    assert_int_equal(rows, 0);
    EXPECT_OK(att_amd_collateral_import(c, text, strlen(text), after, true, &n, msg, sizeof(msg)));
    assert_int_equal(n, 3);
    free(text);
    att_amd_collateral_free(c);
    att_amd_trust_free(t);
    amd_testpki_free(&p);
}

/* A CRL within a day of its nextUpdate is renewed from the store, where another node put a
 * later one. */
static void test_refresh_from_store(void **state)
{
    struct store_fx *f = *state;
    struct amd_testpki p;
    struct amd_testpki_blob later = {NULL, 0};
    struct att_snp_inputs in;
    char msg[256] = "";
    memset(&in, 0, sizeof(in));
    milan_pki(&p);
    struct att_amd_trust *t = trust_of(&p);
    struct att_amd_collateral *a = service(f->s, t);
    struct att_amd_collateral *b = service(f->s, t);
    char *text = bundle(&p, &p.crl_vcek_der, true);
    EXPECT_OK(import(a, text, NULL, msg, sizeof(msg)));
    free(text);
    EXPECT_OK(get_bare(b, &p, NOW, &in)); /* b holds the first CRL */
    int64_t first = in.crl->not_before;
    att_snp_inputs_release(&in);

    assert_int_equal(amd_testpki_crl_der(&p, NOW + 28 * 86400, &later), 0);
    text = bundle(&p, &later, false);
    EXPECT_OK(import(a, text, NULL, msg, sizeof(msg)));
    free(text);
    int64_t due = NOW + 28 * 86400 + 3600;      /* nextUpdate NOW + 29 days, lead one day */
    att_amd_collateral_refresh(b, NOW + 86400); /* not due yet: b keeps the first */
    EXPECT_OK(get_bare(b, &p, NOW + 86400, &in));
    assert_true(in.crl->not_before == first);
    att_snp_inputs_release(&in);
    att_amd_collateral_refresh(b, due);
    EXPECT_OK(get_bare(b, &p, due, &in));
    assert_true(in.crl->not_before > first);
    att_snp_inputs_release(&in);
    free(later.p);
    att_amd_collateral_free(a);
    att_amd_collateral_free(b);
    att_amd_trust_free(t);
    amd_testpki_free(&p);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_vcek_bundles),   T(test_bundle_refusals),    T(test_bundle_all_or_nothing),
        T(test_bundle_expired), T(test_refresh_from_store),
    };
    return cmocka_run_group_tests_name("collateral_amd", tests, NULL, NULL);
}
