/*
 * test_snp_report.c - the SEV-SNP report parser (src/evidence/snp/report.c) on the real
 * reports of tests/fixtures/snp (README.md there), every wrong length, and each field the ABI
 * fixes.
 */
#include "dcap_fixtures.h"
#include "evidence/snp/report.h"

static void load(const char *name, struct att_buf *b)
{
    char path[128];
    snprintf(path, sizeof(path), "snp/%s", name);
    fixture_load(path, b);
    assert_int_equal(b->len, ATT_SNP_REPORT_LEN);
}

static void test_real_reports(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint32_t version, vmpl;
        uint64_t reported_tcb;
        enum att_snp_product product;
        enum att_snp_signing_key key;
        bool debug;
    } cases[] = {
        {"snp01_gosev_milan_report.bin", 2, 0, 0x4405000000000002, ATT_SNP_UNKNOWN,
         ATT_SNP_KEY_VCEK, true},
        {"snp02_virtee_milan_report.hex", 2, 0, 0, ATT_SNP_UNKNOWN, ATT_SNP_KEY_VCEK, false},
        {"snp03_tinfoil_genoa_report.bin", 3, 0, 0x541700000000000a, ATT_SNP_GENOA,
         ATT_SNP_KEY_VCEK, false},
        {"snp04_trustee_milan_vlek_report.bin", 3, 1, 0xd918000000000004, ATT_SNP_MILAN,
         ATT_SNP_KEY_VLEK, false},
        {"snp05_azure_snp_vtpm_snp_report.bin", 2, 0, 0x7308000000000003, ATT_SNP_UNKNOWN,
         ATT_SNP_KEY_VCEK, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct att_buf b;
        struct att_snp_report r;
        char msg[256] = "";
        load(cases[i].name, &b);
        att_err rc = att_snp_report_parse(b.data, b.len, &r, msg, sizeof(msg));
        if (rc != ATT_OK) {
            fail_msg("%s: %s (%s)", cases[i].name, att_err_name(rc), msg);
        }
        assert_int_equal(r.version, cases[i].version);
        assert_int_equal(r.vmpl, cases[i].vmpl);
        if (cases[i].reported_tcb != 0) {
            assert_true(r.reported_tcb == cases[i].reported_tcb);
        }
        assert_int_equal(r.product, cases[i].product);
        assert_int_equal(r.signing_key, cases[i].key);
        assert_int_equal((r.policy & ATT_SNP_POLICY_DEBUG) != 0, cases[i].debug);
        assert_memory_equal(r.measurement, b.data + 0x90, 48);
        assert_memory_equal(r.report_data, b.data + 0x50, 64);
        assert_memory_equal(r.chip_id, b.data + 0x1A0, 64);
        assert_int_equal(r.signed_part.len, 0x2A0);
        /* R is the little-endian 72 bytes at 0x2A0, reversed into 48 big-endian ones. */
        assert_int_equal(r.sig_r[47], b.data[0x2A0]);
        assert_int_equal(r.sig_s[0], b.data[0x2E8 + 47]);
        att_buf_cleanup(&b);
    }
}

/* §6.4: the example 0x4405000000000002 = BL 2, TEE 0, SNP 5, ucode 0x44 (Milan layout). */
static void test_tcb_layouts(void **state)
{
    (void)state;
    struct att_snp_tcb m = att_snp_tcb_decode(0x4405000000000002, ATT_SNP_MILAN);
    assert_int_equal(m.bootloader, 2);
    assert_int_equal(m.tee, 0);
    assert_int_equal(m.snp, 5);
    assert_int_equal(m.microcode, 0x44);
    struct att_snp_tcb t = att_snp_tcb_decode(0x4800000018040301, ATT_SNP_TURIN);
    assert_int_equal(t.fmc, 1);
    assert_int_equal(t.bootloader, 3);
    assert_int_equal(t.tee, 4);
    assert_int_equal(t.snp, 0x18);
    assert_int_equal(t.microcode, 0x48);
}

static void test_lengths(void **state)
{
    (void)state;
    struct att_buf b;
    struct att_snp_report r;
    char msg[256];
    load("snp03_tinfoil_genoa_report.bin", &b);
    for (size_t n = 0; n < ATT_SNP_REPORT_LEN; n++) {
        EXPECT_ERR(att_snp_report_parse(b.data, n, &r, msg, sizeof(msg)), ATT_ERR_TRUNCATED);
    }
    uint8_t *longer = calloc(1, ATT_SNP_REPORT_LEN + 1);
    memcpy(longer, b.data, ATT_SNP_REPORT_LEN);
    EXPECT_ERR(att_snp_report_parse(longer, ATT_SNP_REPORT_LEN + 1, &r, msg, sizeof(msg)),
               ATT_ERR_TRAILING);
    free(longer);
    att_buf_cleanup(&b);
}

/* Each field the ABI fixes, broken on its own. */
static void test_fixed_fields(void **state)
{
    (void)state;
    static const struct {
        size_t off;
        uint8_t value;
        att_err want;
    } cases[] = {
        {0x000, 1, ATT_ERR_SNP_REPORT_VERSION},
        {0x000, 6, ATT_ERR_SNP_REPORT_VERSION},
        {0x034, 2, ATT_ERR_SNP_SIG_ALGO},
        {0x04B, 0x80, ATT_ERR_SNP_REPORT_FIELD},
        {0x048, 2 << 2, ATT_ERR_SNP_REPORT_FIELD},
        {0x00A, 0x00, ATT_ERR_SNP_REPORT_FIELD},
        {0x2A0 + 48, 1, ATT_ERR_SNP_SIGNATURE_FORMAT},
        {0x2E8 + 71, 1, ATT_ERR_SNP_SIGNATURE_FORMAT},
        {0x030, 4, ATT_ERR_SNP_VMPL}, /* VMPL 4 */
        {0x033, 0x80, ATT_ERR_SNP_VMPL},
        {0x330, 1, ATT_ERR_SNP_SIGNATURE_FORMAT},
        {0x49F, 1, ATT_ERR_SNP_SIGNATURE_FORMAT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct att_buf b;
        struct att_snp_report r;
        char msg[256] = "";
        load("snp03_tinfoil_genoa_report.bin", &b);
        b.data[cases[i].off] = cases[i].value;
        att_err rc = att_snp_report_parse(b.data, b.len, &r, msg, sizeof(msg));
        if (rc != cases[i].want) {
            fail_msg("case %zu (offset 0x%zx): expected %s, got %s", i, cases[i].off,
                     att_err_name(cases[i].want), att_err_name(rc));
        }
        assert_true(msg[0] != '\0');
        att_buf_cleanup(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_reports),
        cmocka_unit_test(test_tcb_layouts),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_fixed_fields),
    };
    return cmocka_run_group_tests_name("evidence_snp_report", tests, NULL, NULL);
}
