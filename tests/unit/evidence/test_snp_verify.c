/*
 * test_snp_verify.c - SEV-SNP verification (src/evidence/snp/: amdcert.c, amd.c, certtable.c,
 * verify.c, and the offline AMD collateral of src/collateral/amd.c) on the real reports and
 * certificates of tests/fixtures/snp (README.md there): each sample's verdict at a time inside
 * its certificates' validity, a bit flip in every signed byte, the Turin extension layout, the
 * certificate table and the extension reader's edge cases. Branches real samples cannot reach
 * are driven by the test PKI (test_snp_branches.c).
 */
#include <time.h>

#include <openssl/pem.h>

#include "collateral/amd.h"
#include "dcap_fixtures.h"
#include "evidence/snp/amdcert.h"
#include "evidence/snp/certtable.h"
#include "evidence/snp/verify.h"

#define T_2025_06 1748736000 /* 2025-06-01T00:00:00Z */
#define T_2026_06 1780272000 /* 2026-06-01T00:00:00Z */

struct sample {
    const char *report, *leaf, *chain;
    int64_t at;
    att_err want;
    enum att_snp_product product;
    bool vlek;
};

static const struct sample samples[] = {
    {"snp01_gosev_milan_report.bin", "snp01_gosev_milan_vcek.der", "amd_ask_ark_milan.pem",
     T_2025_06, ATT_OK, ATT_SNP_MILAN, false},
    {"snp02_virtee_milan_report.hex", "snp02_virtee_milan_vcek.der", "amd_ask_ark_milan.pem",
     T_2025_06, ATT_OK, ATT_SNP_MILAN, false},
    {"snp03_tinfoil_genoa_report.bin", "snp03_tinfoil_genoa_vcek.der", "amd_ask_ark_genoa.pem",
     T_2026_06, ATT_OK, ATT_SNP_GENOA, false},
    /* before the Genoa VCEK's notBefore (2026-01-11) */
    {"snp03_tinfoil_genoa_report.bin", "snp03_tinfoil_genoa_vcek.der", "amd_ask_ark_genoa.pem",
     T_2025_06, ATT_ERR_CERT_NOT_YET_VALID, ATT_SNP_GENOA, false},
    {"snp04_trustee_milan_vlek_report.bin", "snp04_trustee_milan_vlek.der",
     "amd_asvk_ark_milan_vlek_chain.pem", T_2025_06, ATT_OK, ATT_SNP_MILAN, true},
    /* after the VLEK's notAfter (2025-12-10) */
    {"snp04_trustee_milan_vlek_report.bin", "snp04_trustee_milan_vlek.der",
     "amd_asvk_ark_milan_vlek_chain.pem", T_2026_06, ATT_ERR_CERT_EXPIRED, ATT_SNP_MILAN, true},
    {"snp05_azure_snp_vtpm_snp_report.bin", "snp05_azure_snp_vtpm_vcek.der",
     "amd_ask_ark_milan.pem", T_2025_06, ATT_OK, ATT_SNP_MILAN, false},
    /* a Milan VCEK with Genoa's ASK: the chain fails, not the parsing */
    {"snp02_virtee_milan_report.hex", "snp02_virtee_milan_vcek.der", "amd_ask_ark_genoa.pem",
     T_2025_06, ATT_ERR_SNP_LEAF_CHAIN, ATT_SNP_MILAN, false},
    /* another chip's VCEK of the same product: the report signature fails */
    {"snp05_azure_snp_vtpm_snp_report.bin", "snp02_virtee_milan_vcek.der", "amd_ask_ark_milan.pem",
     T_2025_06, ATT_ERR_SNP_REPORT_SIGNATURE, ATT_SNP_MILAN, false},
};

static void load(const char *name, struct att_buf *b)
{
    char path[128];
    snprintf(path, sizeof(path), "snp/%s", name);
    fixture_load(path, b);
}

/* The VcekCertChain PEM: leaf (DER in the fixtures) then the chain file. */
static void chain_pem(const struct sample *s, struct att_buf *out)
{
    struct att_buf der;
    struct att_buf chain;
    load(s->leaf, &der);
    load(s->chain, &chain);
    const unsigned char *p = der.data;
    X509 *x = d2i_X509(NULL, &p, (long)der.len);
    assert_non_null(x);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    char *text = NULL;
    long n = BIO_get_mem_data(bio, &text);
    att_buf_init(out, 64 * 1024);
    EXPECT_OK(att_buf_put(out, text, (size_t)n));
    EXPECT_OK(att_buf_put(out, chain.data, chain.len));
    BIO_free(bio);
    X509_free(x);
    att_buf_cleanup(&der);
    att_buf_cleanup(&chain);
}

static struct att_amd_trust *builtin(void)
{
    struct att_amd_trust *t = NULL;
    char msg[256] = "";
    EXPECT_OK(att_amd_trust_builtin(&t, msg, sizeof(msg)));
    return t;
}

/* Parse, fetch (offline: carried certificates only) and verify; the first failure's code. */
static att_err run(const struct att_amd_trust *t, const uint8_t *report, size_t len,
                   struct att_bytes pem, int64_t at, struct att_snp_verdict *v)
{
    struct att_amd_collateral *c = NULL;
    struct att_snp_report r;
    struct att_snp_inputs in;
    struct att_snp_carried carried = {pem, {NULL, 0}};
    char msg[256] = "";
    memset(&in, 0, sizeof(in));
    att_err rc = att_snp_report_parse(report, len, &r, msg, sizeof(msg));
    if (rc == ATT_OK) {
        EXPECT_OK(att_amd_collateral_offline(t, NULL, 0, false, &c, msg, sizeof(msg)));
        struct att_snp_source src = att_amd_collateral_source(c);
        rc = src.get(src.ctx, &r, &carried, at, &in, msg, sizeof(msg));
    }
    if (rc == ATT_OK) {
        rc = att_snp_verify(&r, &in, at, 0, v, msg, sizeof(msg));
    }
    if (rc != ATT_OK) {
        assert_true(msg[0] != '\0');
    }
    att_snp_inputs_release(&in);
    att_amd_collateral_free(c);
    return rc;
}

static void test_real_samples(void **state)
{
    (void)state;
    struct att_amd_trust *t = builtin();
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const struct sample *s = &samples[i];
        struct att_buf report;
        struct att_buf pem;
        struct att_snp_verdict v;
        load(s->report, &report);
        chain_pem(s, &pem);
        struct att_bytes b = {pem.data, pem.len};
        att_err rc = run(t, report.data, report.len, b, s->at, &v);
        if (rc != s->want) {
            fail_msg("%s with %s: expected %s, got %s", s->report, s->leaf, att_err_name(s->want),
                     att_err_name(rc));
        }
        if (rc == ATT_OK) {
            assert_int_equal(v.product, s->product);
            assert_int_equal(v.vlek, s->vlek);
            assert_false(v.crl_checked);
        }
        att_buf_cleanup(&report);
        att_buf_cleanup(&pem);
    }
    att_amd_trust_free(t);
}

/* Every bit of the signed bytes 0x000-0x29F of a real report, flipped one at a time. */
static void test_bit_flips(void **state)
{
    (void)state;
    struct att_amd_trust *t = builtin();
    const struct sample *s = &samples[2]; /* snp03, Genoa v3 */
    struct att_buf report;
    struct att_buf pem;
    struct att_snp_verdict v;
    load(s->report, &report);
    chain_pem(s, &pem);
    struct att_bytes b = {pem.data, pem.len};
    assert_int_equal(run(t, report.data, report.len, b, s->at, &v), ATT_OK);
    for (size_t off = 0; off < ATT_SNP_SIGNED_LEN; off++) {
        for (int bit = 0; bit < 8; bit++) {
            report.data[off] ^= (uint8_t)(1u << bit);
            att_err rc = run(t, report.data, report.len, b, s->at, &v);
            if (rc == ATT_OK) {
                fail_msg("flipping bit %d of byte 0x%zx was accepted", bit, off);
            }
            report.data[off] ^= (uint8_t)(1u << bit);
        }
    }
    att_buf_cleanup(&report);
    att_buf_cleanup(&pem);
    att_amd_trust_free(t);
}

/* Turin: structVersion 1, fmcSPL, an 8-byte hwID; the chain ends in the built-in ARK-Turin. */
static void test_turin_certificate(void **state)
{
    (void)state;
    struct att_amd_trust *t = builtin();
    struct att_buf der;
    struct att_buf chain;
    struct att_amd_item *ask = NULL;
    struct att_amd_item *leaf = NULL;
    X509 *x = NULL;
    char msg[256] = "";
    load("turin_vcek.der", &der);
    load("turin_ask_ark.pem", &chain);
    EXPECT_OK(att_amd_cert_from_der(der.data, der.len, &x));
    BIO *bio = BIO_new_mem_buf(chain.data, (int)chain.len);
    X509 *ask_x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_non_null(ask_x);
    EXPECT_OK(att_amd_signing_key_load(t, ask_x, &ask, msg, sizeof(msg)));
    assert_int_equal(ask->product, ATT_SNP_TURIN);
    assert_false(ask->vlek);
    EXPECT_OK(att_amd_leaf_load(x, ask, &leaf, msg, sizeof(msg)));
    assert_int_equal(leaf->info.struct_version, 1);
    assert_int_equal(leaf->info.product, ATT_SNP_TURIN);
    assert_int_equal(leaf->info.hwid_len, 8);
    assert_true((leaf->info.seen & (1u << ATT_AMD_EXT_FMC_SPL)) != 0);
    assert_true((leaf->info.seen & (1u << ATT_AMD_EXT_SPL_4)) == 0);
    att_amd_item_unref(leaf);
    att_amd_item_unref(ask);
    X509_free(ask_x);
    X509_free(x);
    BIO_free(bio);
    att_buf_cleanup(&der);
    att_buf_cleanup(&chain);
    att_amd_trust_free(t);
}

static att_err ext(enum att_amd_ext which, const uint8_t *v, size_t n,
                   struct att_amd_cert_info *info)
{
    struct att_bytes b = {v, n};
    char msg[256] = "";
    return att_amd_ext_read(which, b, info, msg, sizeof(msg));
}

static void test_extension_reader(void **state)
{
    (void)state;
    struct att_amd_cert_info info;
    uint8_t raw[64];
    uint8_t wrapped[66] = {0x04, 0x40};
    memset(raw, 0xA5, sizeof(raw));
    memcpy(wrapped + 2, raw, 64);

    /* hwID raw and DER-wrapped read the same */
    memset(&info, 0, sizeof(info));
    EXPECT_OK(ext(ATT_AMD_EXT_HWID, raw, 64, &info));
    assert_int_equal(info.hwid_len, 64);
    memset(&info, 0, sizeof(info));
    EXPECT_OK(ext(ATT_AMD_EXT_HWID, wrapped, 66, &info));
    assert_memory_equal(info.hwid, raw, 64);
    memset(&info, 0, sizeof(info));
    EXPECT_OK(ext(ATT_AMD_EXT_HWID, raw, 8, &info)); /* Turin */
    assert_int_equal(info.hwid_len, 8);
    memset(&info, 0, sizeof(info));
    EXPECT_ERR(ext(ATT_AMD_EXT_HWID, raw, 63, &info), ATT_ERR_SNP_CERT_EXTENSION);
    wrapped[1] = 0x3F;
    EXPECT_ERR(ext(ATT_AMD_EXT_HWID, wrapped, 65, &info), ATT_ERR_SNP_CERT_EXTENSION);

    /* ucodeSPL 0xD9 takes a leading zero byte; 256 and negatives are refused */
    static const uint8_t ucode[] = {0x02, 0x02, 0x00, 0xD9};
    static const uint8_t too_big[] = {0x02, 0x02, 0x01, 0x00};
    static const uint8_t negative[] = {0x02, 0x01, 0xD9};
    static const uint8_t trailing[] = {0x02, 0x01, 0x05, 0x00};
    memset(&info, 0, sizeof(info));
    EXPECT_OK(ext(ATT_AMD_EXT_UCODE_SPL, ucode, sizeof(ucode), &info));
    assert_int_equal(info.microcode, 0xD9);
    EXPECT_ERR(ext(ATT_AMD_EXT_UCODE_SPL, ucode, sizeof(ucode), &info),
               ATT_ERR_SNP_CERT_EXTENSION); /* twice */
    memset(&info, 0, sizeof(info));
    EXPECT_ERR(ext(ATT_AMD_EXT_BL_SPL, too_big, sizeof(too_big), &info),
               ATT_ERR_SNP_CERT_EXTENSION);
    EXPECT_ERR(ext(ATT_AMD_EXT_BL_SPL, negative, sizeof(negative), &info),
               ATT_ERR_SNP_CERT_EXTENSION);
    EXPECT_ERR(ext(ATT_AMD_EXT_BL_SPL, trailing, sizeof(trailing), &info),
               ATT_ERR_SNP_CERT_EXTENSION);

    /* productName and cspID: printable IA5Strings */
    static const uint8_t milan[] = {0x16, 0x08, 'M', 'i', 'l', 'a', 'n', '-', 'B', '0'};
    static const uint8_t ctrl[] = {0x16, 0x02, 'M', 0x01};
    static const uint8_t utf8[] = {0x0C, 0x05, 'M', 'i', 'l', 'a', 'n'};
    memset(&info, 0, sizeof(info));
    EXPECT_OK(ext(ATT_AMD_EXT_PRODUCT_NAME, milan, sizeof(milan), &info));
    assert_string_equal(info.product_name, "Milan-B0");
    assert_int_equal(info.product, ATT_SNP_MILAN);
    memset(&info, 0, sizeof(info));
    EXPECT_ERR(ext(ATT_AMD_EXT_PRODUCT_NAME, ctrl, sizeof(ctrl), &info),
               ATT_ERR_SNP_CERT_EXTENSION);
    EXPECT_ERR(ext(ATT_AMD_EXT_CSP_ID, utf8, sizeof(utf8), &info), ATT_ERR_SNP_CERT_EXTENSION);

    /* OIDs: the prefix alone, a longer arc and another vendor's are not AMD extensions */
    static const uint8_t prefix[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01};
    static const uint8_t hwid_oid[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01, 0x04};
    static const uint8_t deeper[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01, 0x04, 0x01};
    assert_int_equal(att_amd_ext_of(hwid_oid, sizeof(hwid_oid)), ATT_AMD_EXT_HWID);
    assert_int_equal(att_amd_ext_of(prefix, sizeof(prefix)), ATT_AMD_EXT_COUNT);
    assert_int_equal(att_amd_ext_of(deeper, sizeof(deeper)), ATT_AMD_EXT_COUNT);
    assert_int_equal(att_amd_product_of_name("Genoa"), ATT_SNP_GENOA);
    assert_int_equal(att_amd_product_of_name("Milano"), ATT_SNP_UNKNOWN);
}

/* A table: entries {guid, offset, length} then a zero entry, then the certificates. */
static size_t table_build(uint8_t *out, size_t cap, uint8_t guids[][16], size_t n,
                          const struct att_buf *der)
{
    size_t head = 24 * (n + 1);
    size_t at = head;
    memset(out, 0, cap);
    for (size_t i = 0; i < n; i++) {
        memcpy(out + 24 * i, guids[i], 16);
        uint32_t off = (uint32_t)at;
        uint32_t len = (uint32_t)der->len;
        memcpy(out + 24 * i + 16, &off, 4); /* little-endian host */
        memcpy(out + 24 * i + 20, &len, 4);
        memcpy(out + at, der->data, der->len);
        at += der->len;
    }
    return at;
}

static void test_cert_table(void **state)
{
    (void)state;
    static const uint8_t vcek[16] = {0x63, 0xDA, 0x75, 0x8D, 0xE6, 0x64, 0x45, 0x64,
                                     0xAD, 0xC5, 0xF4, 0xB9, 0x3B, 0xE8, 0xAC, 0xCD};
    static const uint8_t ask[16] = {0x4A, 0xB7, 0xB3, 0x79, 0xBB, 0xAC, 0x4F, 0xE4,
                                    0xA0, 0x2F, 0x05, 0xAE, 0xF3, 0x27, 0xC7, 0x82};
    static const uint8_t other[16] = {0x92, 0xF8, 0x1B, 0xC3, 0x58, 0x11, 0x4D, 0x3D,
                                      0x97, 0xFF, 0xD1, 0x9F, 0x88, 0xDC, 0x67, 0xEA};
    static uint8_t table[16 * 1024];
    struct att_buf der;
    struct att_snp_cert_table t;
    char msg[256] = "";
    load("snp03_tinfoil_genoa_vcek.der", &der);

    uint8_t two[2][16];
    memcpy(two[0], other, 16);
    memcpy(two[1], vcek, 16);
    size_t n = table_build(table, sizeof(table), two, 2, &der);
    EXPECT_OK(att_snp_cert_table_parse(table, n, &t, msg, sizeof(msg)));
    assert_int_equal(t.vcek.len, der.len);
    assert_memory_equal(t.vcek.ptr, der.data, der.len);
    assert_int_equal(t.ask.len, 0);
    /* trailing padding (the kernel's buffer is page-sized) is fine */
    EXPECT_OK(att_snp_cert_table_parse(table, n + 4000, &t, msg, sizeof(msg)));

    /* the VCEK twice */
    memcpy(two[0], vcek, 16);
    n = table_build(table, sizeof(table), two, 2, &der);
    EXPECT_ERR(att_snp_cert_table_parse(table, n, &t, msg, sizeof(msg)), ATT_ERR_SNP_CERT_TABLE);
    /* truncated anywhere inside the entries or the certificate */
    memcpy(two[0], ask, 16);
    n = table_build(table, sizeof(table), two, 2, &der);
    for (size_t cut = 0; cut < n; cut++) {
        att_err rc = att_snp_cert_table_parse(table, cut, &t, msg, sizeof(msg));
        if (rc != ATT_ERR_SNP_CERT_TABLE) {
            fail_msg("table cut at %zu: %s", cut, att_err_name(rc));
        }
    }
    /* an entry pointing into the entries, one of length 0, one past the end */
    uint32_t bad[] = {8, 0, (uint32_t)n};
    for (size_t i = 0; i < 3; i++) {
        n = table_build(table, sizeof(table), two, 2, &der);
        memcpy(table + 24 + (i == 1 ? 20 : 16), &bad[i], 4);
        EXPECT_ERR(att_snp_cert_table_parse(table, n, &t, msg, sizeof(msg)),
                   ATT_ERR_SNP_CERT_TABLE);
    }
    /* a zero GUID with an offset is no terminator */
    n = table_build(table, sizeof(table), two, 2, &der);
    table[48 + 16] = 1;
    EXPECT_ERR(att_snp_cert_table_parse(table, n, &t, msg, sizeof(msg)), ATT_ERR_SNP_CERT_TABLE);
    /* no terminator within the entry cap */
    memset(table, 0x11, 24 * (ATT_SNP_CERT_TABLE_MAX_ENTRIES + 2));
    EXPECT_ERR(att_snp_cert_table_parse(table, sizeof(table), &t, msg, sizeof(msg)),
               ATT_ERR_SNP_CERT_TABLE);
    att_buf_cleanup(&der);
}

static void test_trust_anchors(void **state)
{
    (void)state;
    struct att_amd_trust *t = NULL;
    struct att_buf chain;
    char msg[256] = "";
    /* an ASK is no anchor (not self-signed, not named ARK-<product>) */
    load("amd_ask_ark_milan.pem", &chain);
    EXPECT_ERR(att_amd_trust_from_pem((const char *)chain.data, chain.len, &t, msg, sizeof(msg)),
               ATT_ERR_CERT_NOT_CA);
    assert_non_null(strstr(msg, "anchor 1"));
    att_buf_cleanup(&chain);
    t = builtin();
    assert_int_equal(strlen(att_amd_trust_id(t)), 64);
    att_amd_trust_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_samples),      cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_turin_certificate), cmocka_unit_test(test_extension_reader),
        cmocka_unit_test(test_cert_table),        cmocka_unit_test(test_trust_anchors),
    };
    return cmocka_run_group_tests_name("evidence_snp_verify", tests, NULL, NULL);
}
