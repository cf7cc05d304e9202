/*
 * Unit tests for src/collateral/items.c: which collateral items attestd keeps (kinds, the key
 * of each kind, signatures of Intel documents, sources, AMD items only in the daemon's scope),
 * checks that the store leaves to src/collateral; and att_collateral_item_put, which refuses
 * before anything reaches the store (on SQLite and again on PostgreSQL).
 */
#include "att_test.h"
#include "store_fixture.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <string.h>

#include "collateral/items.h"
#include "store/store.h"

#define SCOPE_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* A record of `kind`/`key` as the collateral services build it: documents signed, every item
 * but the root CRL and AMD items with an issuer chain, sha256 that of the body. */
static void make_rec(struct att_collateral_rec *r, const char *kind, const char *key)
{
    uint8_t md[32];
    unsigned int n = 0;
    att_collateral_rec_init(r);
    snprintf(r->kind, sizeof(r->kind), "%s", kind);
    snprintf(r->key, sizeof(r->key), "%s", key);
    EXPECT_OK(att_buf_puts(&r->body, "body"));
    if (strcmp(kind, "tcb_info") == 0 || strcmp(kind, "qe_identity") == 0) {
        uint8_t sig[64];
        memset(sig, 0xa5, sizeof(sig));
        EXPECT_OK(att_buf_put(&r->signature, sig, sizeof(sig)));
    }
    if (strcmp(kind, "root_crl") != 0 && strncmp(kind, "amd_", 4) != 0) {
        EXPECT_OK(att_buf_puts(&r->issuer_chain, "-----BEGIN CERTIFICATE-----\nMIIB\n"
                                                 "-----END CERTIFICATE-----\n"));
    }
    snprintf(r->source, sizeof(r->source), "%s", strncmp(kind, "amd_", 4) == 0 ? "kds" : "pcs");
    r->issued = 1000;
    r->next_update = 2000;
    r->stored_at = 1500;
    assert_int_equal(EVP_Digest(r->body.data, r->body.len, md, &n, EVP_sha256(), NULL), 1);
    for (size_t i = 0; i < 32; i++) {
        snprintf(r->sha256 + 2 * i, 3, "%02x", md[i]);
    }
}

static void expect_ok(const char *kind, const char *key)
{
    struct att_collateral_rec r;
    make_rec(&r, kind, key);
    if (!att_collateral_item_ok(&r)) {
        fail_msg("refused: %s / %s", kind, key);
    }
    att_collateral_rec_cleanup(&r);
}

static void expect_refused(struct att_collateral_rec *r)
{
    if (att_collateral_item_ok(r)) {
        fail_msg("accepted: %s / %s", r->kind, r->key);
    }
    att_collateral_rec_cleanup(r);
}

static void test_kinds_and_keys(void **state)
{
    (void)state;
    char milan[160];
    snprintf(milan, sizeof(milan), "Milan:%0128d:7308000000000003", 0);
    static const char *const good[][2] = {
        {"root_crl", ""},
        {"pck_crl", "processor"},
        {"pck_crl", "platform"},
        {"tcb_info", "sgx:00606A000000"},
        {"tcb_info", "tdx:00906ED50000"},
        {"qe_identity", "sgx"},
        {"qe_identity", "tdx"},
        {"amd_chain", "vcek:Milan"},
        {"amd_chain", "vlek:Turin"},
        {"amd_crl", "vcek:Genoa"},
        {"amd_vcek", "Turin:1e550a8ee5cf9f4d:0900000000000000"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        expect_ok(good[i][0], good[i][1]);
    }
    expect_ok("amd_vcek", milan);

    static const char *const bad[][2] = {
        {"pck_cert", "processor"},
        {"", ""},
        {"root_crl", "x"},
        {"pck_crl", ""},
        {"pck_crl", "Processor"},
        {"tcb_info", "sgx:00606a000000"}, /* lower-case hex */
        {"tcb_info", "sgx:00606A00000"},
        {"tcb_info", "sgx:00606A0000000"},
        {"tcb_info", "sev:00606A000000"},
        {"tcb_info", "00606A000000"},
        {"tcb_info", "sgx:00606A00000G"},
        {"qe_identity", "SGX"},
        {"qe_identity", ""},
        {"amd_chain", "vcek:milan"},
        {"amd_chain", "vcek:Rome"},
        {"amd_chain", "vcek:Milan:"},
        {"amd_crl", "Milan"},
        {"amd_vcek", "Milan:00"},
        {"amd_vcek", "Turin:0011223344556677:00000000000000"}, /* TCB too short */
        {"amd_vcek", "Turin:0011223344556677:0000000000000000:"},
        {"amd_vcek", "Turin:00112233445566778899aabbccddeeff:0000000000000000"}, /* 16 bytes */
        {"amd_vcek", "Turin:001122334455667G:0000000000000000"},
        {"amd_vcek", "Milan:0011223344556677:0000000000000000"}, /* 8 bytes */
    };
    struct att_collateral_rec r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        make_rec(&r, bad[i][0], bad[i][1]);
        expect_refused(&r);
    }
    /* A key that is not NUL-terminated in its field. */
    make_rec(&r, "root_crl", "");
    memset(r.key, 'k', sizeof(r.key));
    expect_refused(&r);
    assert_false(att_collateral_item_ok(NULL));
}

static void test_signatures_sources_scopes(void **state)
{
    (void)state;
    struct att_collateral_rec r;

    /* Intel documents need exactly 64 bytes of signature, CRLs and AMD items none. */
    make_rec(&r, "tcb_info", "sgx:00606A000000");
    att_buf_reset(&r.signature);
    expect_refused(&r);
    make_rec(&r, "qe_identity", "sgx");
    att_buf_reset(&r.signature);
    EXPECT_OK(att_buf_put(&r.signature, "short", 5));
    expect_refused(&r);
    make_rec(&r, "pck_crl", "platform");
    EXPECT_OK(att_buf_putc(&r.signature, 1));
    expect_refused(&r);
    make_rec(&r, "amd_chain", "vcek:Genoa");
    EXPECT_OK(att_buf_puts(&r.signature, "sig"));
    expect_refused(&r);
    uint8_t sig[ATT_STORE_COLLATERAL_SIG_LEN + 1] = {0};
    make_rec(&r, "pck_crl", "platform");
    EXPECT_ERR(att_buf_put(&r.signature, sig, sizeof(sig)), ATT_ERR_TOO_LARGE); /* sticky */
    expect_refused(&r);

    /* Sources. */
    static const char *const sources[] = {"pcs", "import", "kds"};
    for (size_t i = 0; i < 3; i++) {
        make_rec(&r, "pck_crl", "platform");
        snprintf(r.source, sizeof(r.source), "%s", sources[i]);
        assert_true(att_collateral_item_ok(&r));
        att_collateral_rec_cleanup(&r);
    }
    make_rec(&r, "pck_crl", "platform");
    snprintf(r.source, sizeof(r.source), "web");
    expect_refused(&r);
    make_rec(&r, "pck_crl", "platform");
    r.source[0] = '\0';
    expect_refused(&r);

    /* A provider's scope holds Intel items; AMD items chain to the ARKs and have none. */
    make_rec(&r, "tcb_info", "sgx:00606A000000");
    snprintf(r.scope, sizeof(r.scope), "%s", SCOPE_A);
    assert_true(att_collateral_item_ok(&r));
    att_collateral_rec_cleanup(&r);
    make_rec(&r, "amd_crl", "vcek:Milan");
    snprintf(r.scope, sizeof(r.scope), "%s", SCOPE_A);
    expect_refused(&r);
}

/* att_collateral_item_put: refused items never reach the store; good ones are stored. */
static void test_put(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec r;
    bool replaced = true;

    make_rec(&r, "tcb_info", "sgx:00606a000000"); /* the store alone would keep it */
    EXPECT_ERR(att_collateral_item_put(f->s, &r, &replaced), ATT_ERR_ARG);
    assert_true(replaced);
    att_collateral_rec_cleanup(&r);
    make_rec(&r, "amd_crl", "vcek:Milan");
    snprintf(r.scope, sizeof(r.scope), "%s", SCOPE_A);
    EXPECT_ERR(att_collateral_item_put(f->s, &r, NULL), ATT_ERR_ARG);
    att_collateral_rec_cleanup(&r);
    EXPECT_ERR(att_collateral_item_put(f->s, NULL, NULL), ATT_ERR_ARG);
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM collateral"), 0);

    make_rec(&r, "tcb_info", "sgx:00606A000000");
    replaced = false;
    EXPECT_OK(att_collateral_item_put(f->s, &r, &replaced));
    assert_true(replaced);
    EXPECT_OK(att_collateral_item_put(f->s, &r, &replaced)); /* the same item again */
    assert_false(replaced);
    att_collateral_rec_cleanup(&r);
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM collateral"), 1);
}

static int setup(void **state)
{
    return store_fx_setup(state, "items", true);
}

static int setup_pg(void **state)
{
    return store_fx_setup_pg(state, "items", true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_and_keys),
        cmocka_unit_test(test_signatures_sources_scopes),
        cmocka_unit_test_setup_teardown(test_put, setup, store_fx_teardown),
    };
    const struct CMUnitTest tests_pg[] = {
        cmocka_unit_test_setup_teardown(test_put, setup_pg, store_fx_teardown),
    };
    return STORE_FX_RUN_BOTH("collateral_items", tests, tests_pg);
}
