/*
 * test_snp_branches.c - every SEV-SNP verification branch real samples cannot reach, driven by
 * the AMD test PKI (amd_testpki.h): each knob must fail exactly the step it names, with its own
 * code, and each valid variant (products, report versions, VLEK, a DER-wrapped hwID,
 * MASK_CHIP_KEY, a certificate table) must pass, with the CRL required and checked.
 */
#include <time.h>

#include <openssl/pem.h>

#include "amd_testpki.h"
#include "collateral/amd.h"
#include "core/codec.h"
#include "evidence/snp/verify.h"
#include "att_test.h"

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

enum carry { CARRY_PEM, CARRY_TABLE };

struct run_opts {
    enum carry carry;
    bool no_crl;    /* the bundle holds no CRL (and one is required) */
    int64_t at;     /* 0: the PKI's time */
    bool both_arks; /* anchors: the PKI's ARK and, if any, the other product's */
};

/* The bundle (collateral/amd.h) with the PKI's signing-key chain and its CRL. */
static void bundle_json(const struct amd_testpki *p, bool crl, struct att_buf *out)
{
    struct att_buf hex;
    const struct amd_testpki_blob *c = p->vlek ? &p->crl_vlek_der : &p->crl_vcek_der;
    json_t *entry = json_pack("{s:s, s:s, s:s}", "product", amd_testpki_product_name(p->product),
                              "chain", p->vlek ? "vlek" : "vcek", "cert_chain", p->kds_chain_pem);
    att_buf_init(&hex, 1 << 20);
    if (crl) {
        EXPECT_OK(att_hex_encode(c->p, c->len, &hex));
        json_object_set_new(entry, "crl", json_stringn((const char *)hex.data, hex.len));
    }
    json_t *doc = json_pack("{s:[o]}", "amd", entry);
    char *text = json_dumps(doc, JSON_COMPACT);
    att_buf_init(out, 1 << 20);
    EXPECT_OK(att_buf_puts(out, text));
    free(text);
    json_decref(doc);
    att_buf_cleanup(&hex);
}

static att_err anchors(const struct amd_testpki *p, bool both, struct att_amd_trust **t, char *msg,
                       size_t msg_len)
{
    struct att_buf pem;
    att_buf_init(&pem, 1 << 16);
    EXPECT_OK(att_buf_puts(&pem, p->ark_pem));
    if (both && p->other_ark != NULL) {
        BIO *bio = BIO_new(BIO_s_mem());
        char *text = NULL;
        assert_int_equal(PEM_write_bio_X509(bio, p->other_ark), 1);
        long n = BIO_get_mem_data(bio, &text);
        EXPECT_OK(att_buf_put(&pem, text, (size_t)n));
        BIO_free(bio);
    }
    att_err rc = att_amd_trust_from_pem((const char *)pem.data, pem.len, t, msg, msg_len);
    att_buf_cleanup(&pem);
    return rc;
}

/* Build, fetch (offline bundle + carried certificates) and verify; the first failure. */
static att_err run(const struct amd_testpki_opts *o, const struct run_opts *ro,
                   struct att_snp_verdict *v, char *msg, size_t msg_len)
{
    struct amd_testpki p;
    struct att_amd_collateral *c = NULL;
    struct att_snp_report r;
    struct att_snp_inputs in;
    struct att_buf bundle;
    memset(&in, 0, sizeof(in));
    assert_int_equal(amd_testpki_build(o, &p), 0);
    struct att_amd_trust *t = NULL;
    att_err rc = anchors(&p, ro->both_arks, &t, msg, msg_len);
    bundle_json(&p, !ro->no_crl, &bundle);
    if (rc == ATT_OK) {
        rc = att_amd_collateral_offline(t, (const char *)bundle.data, bundle.len, true, &c, msg,
                                        msg_len);
    }
    if (rc == ATT_OK) {
        rc = att_snp_report_parse(p.report, sizeof(p.report), &r, msg, msg_len);
    }
    if (rc == ATT_OK) {
        struct att_snp_carried carried;
        memset(&carried, 0, sizeof(carried));
        if (ro->carry == CARRY_TABLE) {
            carried.table.ptr = p.cert_table.p;
            carried.table.len = p.cert_table.len;
        } else {
            carried.pem.ptr = (const uint8_t *)p.chain_pem;
            carried.pem.len = strlen(p.chain_pem);
        }
        struct att_snp_source src = att_amd_collateral_source(c);
        int64_t at = ro->at != 0 ? ro->at : p.now;
        rc = src.get(src.ctx, &r, &carried, at, &in, msg, msg_len);
        if (rc == ATT_OK) {
            rc = att_snp_verify(&r, &in, at, 0, v, msg, msg_len);
        }
    }
    att_snp_inputs_release(&in);
    att_amd_collateral_free(c);
    att_amd_trust_free(t);
    att_buf_cleanup(&bundle);
    amd_testpki_free(&p);
    return rc;
}

static struct amd_testpki_opts base(void)
{
    struct amd_testpki_opts o;
    memset(&o, 0, sizeof(o));
    o.now = NOW;
    o.rsa_bits = 1024; /* the key size does not matter here; 1024 keeps the test fast */
    return o;
}

static void expect(const char *name, const struct amd_testpki_opts *o, const struct run_opts *ro,
                   att_err want)
{
    struct att_snp_verdict v;
    char msg[256] = "";
    att_err rc = run(o, ro, &v, msg, sizeof(msg));
    if (rc != want) {
        fail_msg("%s: expected %s, got %s (%s)", name, att_err_name(want), att_err_name(rc), msg);
    }
    if (rc == ATT_OK) {
        assert_true(v.crl_checked || ro->no_crl);
    } else {
        assert_true(msg[0] != '\0');
    }
}

static void test_valid_variants(void **state)
{
    (void)state;
    static const struct run_opts pem = {CARRY_PEM, false, 0, false};
    static const struct run_opts table = {CARRY_TABLE, false, 0, false};
    const enum amd_testpki_product products[] = {AMD_TESTPKI_MILAN, AMD_TESTPKI_GENOA,
                                                 AMD_TESTPKI_TURIN};
    const int versions[] = {2, 3, 5};
    for (size_t i = 0; i < 3; i++) {
        for (size_t k = 0; k < 3; k++) {
            struct amd_testpki_opts o = base();
            char name[64];
            if (products[i] == AMD_TESTPKI_TURIN && versions[k] == 2) {
                continue; /* Turin firmware reports v3 and later */
            }
            o.product = products[i];
            o.report_version = versions[k];
            o.launch_mit_vector = versions[k] == 5 ? 0x11 : 0;
            o.current_mit_vector = versions[k] == 5 ? 0x13 : 0;
            snprintf(name, sizeof(name), "%s v%d", amd_testpki_product_name(products[i]),
                     versions[k]);
            expect(name, &o, &pem, ATT_OK);
            expect(name, &o, &table, ATT_OK);
            o.vlek = true;
            expect(name, &o, &pem, ATT_OK);
        }
    }
    struct amd_testpki_opts o = base();
    o.hwid_der_wrapped = true;
    expect("hwID DER-wrapped", &o, &pem, ATT_OK);
    o = base();
    o.mask_chip_key = true;
    expect("MASK_CHIP_KEY", &o, &pem, ATT_OK);
    o = base();
    o.leaf_trailer_field = true;
    expect("leaf with trailerField", &o, &pem, ATT_OK);
    o = base();
    o.ucode_high = true;
    expect("ucodeSPL >= 128", &o, &pem, ATT_OK);
    o = base();
    o.product = AMD_TESTPKI_TURIN;
    o.mask_chip_key = true;
    expect("Turin MASK_CHIP_KEY", &o, &pem, ATT_OK);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct run_opts pem = {CARRY_PEM, false, 0, false};
    struct amd_testpki_opts o;
    const enum amd_testpki_spl spls[] = {AMD_TESTPKI_SPL_BL, AMD_TESTPKI_SPL_TEE,
                                         AMD_TESTPKI_SPL_SNP, AMD_TESTPKI_SPL_UCODE};
    for (size_t i = 0; i < 4; i++) {
        o = base();
        o.leaf_tcb_mismatch = spls[i];
        expect("TCB extension mismatch", &o, &pem, ATT_ERR_SNP_TCB_MISMATCH);
        o.product = AMD_TESTPKI_TURIN;
        expect("Turin TCB extension mismatch", &o, &pem, ATT_ERR_SNP_TCB_MISMATCH);
    }
    o = base();
    o.product = AMD_TESTPKI_TURIN;
    o.leaf_tcb_mismatch = AMD_TESTPKI_SPL_FMC;
    expect("Turin fmcSPL mismatch", &o, &pem, ATT_ERR_SNP_TCB_MISMATCH);
    o = base();
    o.hwid_mismatch = true;
    expect("hwID mismatch", &o, &pem, ATT_ERR_SNP_HWID_MISMATCH);
    o.product = AMD_TESTPKI_TURIN;
    expect("Turin hwID mismatch", &o, &pem, ATT_ERR_SNP_HWID_MISMATCH);
    o = base();
    o.revoke_ask = true;
    expect("ASK revoked", &o, &pem, ATT_ERR_SNP_KEY_REVOKED);
    o.vlek = true;
    expect("ASVK revoked", &o, &pem, ATT_ERR_SNP_KEY_REVOKED);
    o = base();
    o.leaf_expired = true;
    expect("VCEK expired", &o, &pem, ATT_ERR_CERT_EXPIRED);
    o = base();
    o.leaf_not_yet_valid = true;
    expect("VCEK not yet valid", &o, &pem, ATT_ERR_CERT_NOT_YET_VALID);
    o = base();
    o.wrong_product_ask = true;
    expect("another product's ASK (its ARK not trusted)", &o, &pem, ATT_ERR_SNP_ARK_UNTRUSTED);
    static const struct run_opts both = {CARRY_PEM, false, 0, true};
    expect("another product's ASK (its ARK trusted)", &o, &both, ATT_ERR_SNP_PRODUCT_MISMATCH);
    o = base();
    o.vlek = true;
    o.vlek_signed_by_ask = true;
    expect("VLEK signed by the ASK", &o, &pem, ATT_ERR_SNP_LEAF_CHAIN);
    o = base();
    o.report_signed_by_other_key = true;
    expect("report signed by another key", &o, &pem, ATT_ERR_SNP_REPORT_SIGNATURE);
    o = base();
    o.reported_tcb_above_current = true;
    expect("REPORTED_TCB above CURRENT_TCB", &o, &pem, ATT_ERR_SNP_TCB_ABOVE_CURRENT);
    const enum amd_testpki_ext exts[] = {AMD_TESTPKI_EXT_PRODUCT_NAME, AMD_TESTPKI_EXT_BL_SPL,
                                         AMD_TESTPKI_EXT_TEE_SPL,      AMD_TESTPKI_EXT_SNP_SPL,
                                         AMD_TESTPKI_EXT_UCODE_SPL,    AMD_TESTPKI_EXT_HWID};
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        o = base();
        o.leaf_missing_ext = exts[i];
        expect("leaf extension missing", &o, &pem, ATT_ERR_SNP_CERT_EXTENSION);
    }
    o = base();
    o.product = AMD_TESTPKI_TURIN;
    o.leaf_missing_ext = AMD_TESTPKI_EXT_FMC_SPL;
    expect("Turin fmcSPL missing", &o, &pem, ATT_ERR_SNP_CERT_EXTENSION);
    o = base();
    o.pss = AMD_TESTPKI_PSS_SALT32;
    expect("leaf PSS salt 32", &o, &pem, ATT_ERR_SNP_CERT_SIGNATURE_ALGO);
    o.pss = AMD_TESTPKI_PSS_SHA256;
    o.pss_sigs = AMD_TESTPKI_SIG_ASK;
    expect("ASK PSS SHA-256", &o, &pem, ATT_ERR_SNP_CERT_SIGNATURE_ALGO);
    o.pss_sigs = AMD_TESTPKI_SIG_ARK;
    expect("ARK PSS SHA-256", &o, &pem, ATT_ERR_CERT_NOT_CA);
    o.pss_sigs = AMD_TESTPKI_SIG_CRL;
    expect("CRL PSS SHA-256", &o, &pem, ATT_ERR_SNP_CRL_INVALID);
}

static void test_crl_rules(void **state)
{
    (void)state;
    struct amd_testpki_opts o = base();
    static const struct run_opts none = {CARRY_PEM, true, 0, false};
    expect("no CRL, one required", &o, &none, ATT_ERR_COLLATERAL_MISSING);
    /* the test PKI's CRLs run from a day before its time to 29 days after */
    struct run_opts later = {CARRY_PEM, false, NOW + 60 * AMD_TESTPKI_DAY, false};
    expect("CRL past its nextUpdate", &o, &later, ATT_ERR_COLLATERAL_EXPIRED);
    struct run_opts earlier = {CARRY_PEM, false, NOW - 2 * AMD_TESTPKI_DAY, false};
    expect("CRL issued after the verification time", &o, &earlier,
           ATT_ERR_COLLATERAL_NOT_YET_VALID);
}

/* Parse `p`'s report, get its inputs from `c` with the chain carried, and verify at NOW. */
static att_err get_and_verify(struct att_amd_collateral *c, const struct amd_testpki *p)
{
    struct att_snp_report r;
    struct att_snp_inputs in;
    struct att_snp_verdict v;
    char msg[256] = "";
    memset(&in, 0, sizeof(in));
    EXPECT_OK(att_snp_report_parse(p->report, sizeof(p->report), &r, msg, sizeof(msg)));
    struct att_snp_carried carried = {{(const uint8_t *)p->chain_pem, strlen(p->chain_pem)},
                                      {NULL, 0}};
    struct att_snp_source src = att_amd_collateral_source(c);
    EXPECT_OK(src.get(src.ctx, &r, &carried, NOW, &in, msg, sizeof(msg)));
    att_err rc = att_snp_verify(&r, &in, NOW, 0, &v, msg, sizeof(msg));
    att_snp_inputs_release(&in);
    return rc;
}

/* Two Milan ARKs trusted: the CRL held must be the one of the ARK that certified the chain. */
static void test_crl_of_another_ark(void **state)
{
    (void)state;
    struct amd_testpki a;
    struct amd_testpki b;
    struct amd_testpki_opts o = base();
    struct att_amd_trust *t = NULL;
    struct att_amd_collateral *c = NULL;
    struct att_buf pem;
    struct att_buf bundle;
    char msg[256] = "";
    assert_int_equal(amd_testpki_build(&o, &a), 0);
    assert_int_equal(amd_testpki_build(&o, &b), 0);
    att_buf_init(&pem, 1 << 16);
    EXPECT_OK(att_buf_puts(&pem, a.ark_pem));
    EXPECT_OK(att_buf_puts(&pem, b.ark_pem));
    EXPECT_OK(att_amd_trust_from_pem((const char *)pem.data, pem.len, &t, msg, sizeof(msg)));
    bundle_json(&b, true, &bundle); /* b's chain and CRL */
    EXPECT_OK(att_amd_collateral_offline(t, (const char *)bundle.data, bundle.len, true, &c, msg,
                                         sizeof(msg)));
    assert_int_equal(get_and_verify(c, &a), ATT_ERR_SNP_CRL_INVALID);
    att_amd_collateral_free(c);
    att_amd_trust_free(t);
    att_buf_cleanup(&bundle);
    att_buf_cleanup(&pem);
    amd_testpki_free(&a);
    amd_testpki_free(&b);
}

/* Attack u12: a version 2 report cannot come from Turin (whose firmware reports v3 on). */
static void test_v2_report_with_turin_chain(void **state)
{
    (void)state;
    struct amd_testpki p;
    struct amd_testpki_opts o = base();
    struct att_amd_trust *t = NULL;
    struct att_amd_collateral *c = NULL;
    char msg[256] = "";
    o.product = AMD_TESTPKI_TURIN;
    assert_int_equal(amd_testpki_build(&o, &p), 0);
    p.report[0] = 2;                /* VERSION */
    memset(p.report + 0x188, 0, 3); /* v2 has no CPUID fields */
    EXPECT_OK(anchors(&p, false, &t, msg, sizeof(msg)));
    EXPECT_OK(att_amd_collateral_offline(t, NULL, 0, false, &c, msg, sizeof(msg)));
    assert_int_equal(get_and_verify(c, &p), ATT_ERR_SNP_PRODUCT_MISMATCH);
    att_amd_collateral_free(c);
    att_amd_trust_free(t);
    amd_testpki_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_variants),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_crl_rules),
        cmocka_unit_test(test_crl_of_another_ark),
        cmocka_unit_test(test_v2_report_with_turin_chain),
    };
    return cmocka_run_group_tests_name("evidence_snp_branches", tests, NULL, NULL);
}
