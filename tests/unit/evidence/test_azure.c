/*
 * test_azure.c - Azure confidential VM evidence (src/evidence/azure/hcl.c) on the real samples
 * of tests/fixtures/azure (README.md there): each HCL report parses, the hash of its runtime data
 * is its hardware report's report data (for TDX also the TD quote's), and the runtime data's
 * HCLAkPub verifies the vTPM quote whose PCR digest matches its PCRs; then truncations, flipped
 * bits and a foreign AK.
 */
#include <jansson.h>

#include "core/codec.h"
#include "dcap_fixtures.h"
#include "evidence/azure/hcl.h"
#include "evidence/intel/quote.h"
#include "evidence/tpm/tpm2.h"

#define SNP_REPORT_DATA 0x50 /* in the SEV-SNP report */
#define TD_REPORT_DATA 128   /* in the TDREPORT */

struct vtpm {
    struct att_buf message, signature;
    struct att_tpm_pcrs pcrs;
};

/* trustee's tpm_quote {message: hex, signature: hex (raw RSA), pcrs: [hex x 24]} */
static void vtpm_load(json_t *tq, struct vtpm *v)
{
    char msg[128];
    const char *m = json_string_value(json_object_get(tq, "message"));
    const char *s = json_string_value(json_object_get(tq, "signature"));
    memset(v, 0, sizeof(*v));
    att_buf_init(&v->message, 4096);
    att_buf_init(&v->signature, 4096);
    EXPECT_OK(att_hex_decode(m, strlen(m), &v->message));
    EXPECT_OK(att_hex_decode(s, strlen(s), &v->signature));
    json_t *pcrs = json_object_get(tq, "pcrs");
    for (size_t i = 0; i < json_array_size(pcrs); i++) {
        struct att_buf d;
        const char *hex = json_string_value(json_array_get(pcrs, i));
        att_buf_init(&d, 64);
        EXPECT_OK(att_hex_decode(hex, strlen(hex), &d));
        struct att_bytes dv = {d.data, d.len};
        EXPECT_OK(
            att_tpm_pcrs_set(&v->pcrs, ATT_TPM_ALG_SHA256, (uint32_t)i, dv, msg, sizeof(msg)));
        att_buf_cleanup(&d);
    }
}

static void vtpm_free(struct vtpm *v)
{
    att_buf_cleanup(&v->message);
    att_buf_cleanup(&v->signature);
}

/* The vTPM quote verifies with the runtime data's HCLAkPub (RSASSA-PKCS1-v1_5, SHA-256, a bare
 * signature) and its PCRs. */
static void check_quote(struct att_bytes runtime, struct vtpm *v)
{
    json_t *rt = NULL;
    EVP_PKEY *ak = NULL;
    struct att_tpm_key key;
    struct att_tpm_quote q;
    struct att_tpm_signature sig;
    char msg[256] = "";
    EXPECT_OK(att_hcl_runtime(runtime, &rt, &ak, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_key_from_pkey(ak, &key, msg, sizeof(msg)));
    struct att_bytes m = {v->message.data, v->message.len};
    EXPECT_OK(att_tpm_quote_parse(m, &q, msg, sizeof(msg)));
    memset(&sig, 0, sizeof(sig));
    sig.scheme = ATT_TPM_ALG_RSASSA;
    sig.hash = ATT_TPM_ALG_SHA256;
    memcpy(sig.sig, v->signature.data, v->signature.len);
    sig.sig_len = v->signature.len;
    EXPECT_OK(att_tpm_quote_verify(&q, &sig, &key, msg, sizeof(msg)));
    EXPECT_OK(att_tpm_quote_check_pcrs(&q, ATT_TPM_ALG_SHA256, &v->pcrs, msg, sizeof(msg)));
    assert_true(json_is_object(json_object_get(rt, "vm-configuration")));
    att_tpm_key_free(&key);
    json_decref(rt);
}

static void test_snp_hcl(void **state)
{
    (void)state;
    struct att_buf hcl;
    struct att_buf report;
    struct att_hcl_report r;
    char msg[256] = "";
    fixture_load("azure/snp05_azure_snp_vtpm_hcl_report.bin", &hcl);
    fixture_load("snp/snp05_azure_snp_vtpm_snp_report.bin", &report);
    struct att_bytes in = {hcl.data, hcl.len};
    EXPECT_OK(att_hcl_report_parse(in, &r, msg, sizeof(msg)));
    assert_int_equal(r.tee, ATT_HCL_SNP);
    assert_int_equal(r.version, 1);
    assert_int_equal(r.hash_type, 1);
    assert_int_equal(r.runtime.len, 1110);
    assert_int_equal(r.hardware.len, report.len);
    assert_memory_equal(r.hardware.ptr, report.data, report.len);
    EXPECT_OK(att_hcl_check_binding(r.hash_type, r.runtime, r.hardware.ptr + SNP_REPORT_DATA, msg,
                                    sizeof(msg)));
    json_error_t err;
    char path[512];
    snprintf(path, sizeof(path), "%s/azure/snp05_azure_snp_vtpm_tpm_quote.json", ATT_FIXTURES_DIR);
    json_t *tq = json_load_file(path, 0, &err);
    assert_non_null(tq);
    struct vtpm v;
    vtpm_load(tq, &v);
    check_quote(r.runtime, &v);
    /* the runtime data changed by one byte: no longer the report's */
    uint8_t copy[2048];
    memcpy(copy, r.runtime.ptr, r.runtime.len);
    copy[100] ^= 1;
    struct att_bytes changed = {copy, r.runtime.len};
    assert_int_equal(att_hcl_check_binding(r.hash_type, changed, r.hardware.ptr + SNP_REPORT_DATA,
                                           msg, sizeof(msg)),
                     ATT_ERR_HCL_BINDING);
    assert_int_equal(
        att_hcl_check_binding(4, r.runtime, r.hardware.ptr + SNP_REPORT_DATA, msg, sizeof(msg)),
        ATT_ERR_HCL_FORMAT);
    vtpm_free(&v);
    json_decref(tq);
    att_buf_cleanup(&hcl);
    att_buf_cleanup(&report);
}

static void test_tdx_hcl(void **state)
{
    (void)state;
    struct att_buf hcl;
    struct att_buf tdq;
    struct att_hcl_report r;
    struct att_intel_quote q;
    char msg[256] = "";
    fixture_load("azure/tdx10_azure_tdx_vtpm_hcl_report.bin", &hcl);
    fixture_load("dcap/tdx/tdx10_azure_tdx_vtpm_td_quote.bin", &tdq);
    struct att_bytes in = {hcl.data, hcl.len};
    EXPECT_OK(att_hcl_report_parse(in, &r, msg, sizeof(msg)));
    assert_int_equal(r.tee, ATT_HCL_TDX);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.hardware.len, ATT_HCL_TDREPORT_LEN);
    assert_int_equal(r.runtime.len, 1201);
    EXPECT_OK(att_hcl_check_binding(r.hash_type, r.runtime, r.hardware.ptr + TD_REPORT_DATA, msg,
                                    sizeof(msg)));
    /* the TD quote the host made of that TDREPORT carries the same report data */
    EXPECT_OK(att_intel_quote_parse(tdq.data, tdq.len, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)));
    EXPECT_OK(att_hcl_check_binding(r.hash_type, r.runtime, q.td.reportdata, msg, sizeof(msg)));
    char path[512];
    json_error_t err;
    snprintf(path, sizeof(path), "%s/azure/tdx10_azure_tdx_vtpm_evidence_v1.json",
             ATT_FIXTURES_DIR);
    json_t *ev = json_load_file(path, 0, &err);
    assert_non_null(ev);
    struct vtpm v;
    vtpm_load(json_object_get(ev, "tpm_quote"), &v);
    check_quote(r.runtime, &v);
    vtpm_free(&v);
    json_decref(ev);
    att_buf_cleanup(&hcl);
    att_buf_cleanup(&tdq);
}

static void test_hcl_refusals(void **state)
{
    (void)state;
    struct att_buf hcl;
    struct att_hcl_report r;
    char msg[256] = "";
    fixture_load("azure/snp05_azure_snp_vtpm_hcl_report.bin", &hcl);
    /* every truncation up to the end of the runtime data */
    for (size_t n = 0; n < 0x4D4 + 1110; n++) {
        struct att_bytes v = {hcl.data, n};
        assert_int_equal(att_hcl_report_parse(v, &r, msg, sizeof(msg)), ATT_ERR_HCL_FORMAT);
    }
    static const struct {
        size_t at;
        uint8_t value;
        const char *says;
    } fields[] = {
        {0x00, 'X', "HCLA"},           {0x04, 3, "version"},    {0x4C4, 2, "version"},
        {0x4C8, 3, "type 3"},          {0x4CC, 9, "hash type"}, {0x4D0, 0xFF, "does not fit"},
        {0x4C0, 0x00, "does not fit"},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        uint8_t saved = hcl.data[fields[i].at];
        hcl.data[fields[i].at] = fields[i].value;
        struct att_bytes v = {hcl.data, hcl.len};
        assert_int_equal(att_hcl_report_parse(v, &r, msg, sizeof(msg)), ATT_ERR_HCL_FORMAT);
        if (strstr(msg, fields[i].says) == NULL) {
            fail_msg("field 0x%zx: \"%s\" does not say %s", fields[i].at, msg, fields[i].says);
        }
        hcl.data[fields[i].at] = saved;
    }
    /* runtime data without an HCLAkPub, or not JSON */
    json_t *j = NULL;
    EVP_PKEY *ak = NULL;
    static const char no_ak[] = "{\"keys\":[{\"kid\":\"HCLEkPub\",\"kty\":\"RSA\",\"e\":\"AQAB\","
                                "\"n\":\"AQAB\"}]}";
    struct att_bytes b = {(const uint8_t *)no_ak, strlen(no_ak)};
    assert_int_equal(att_hcl_runtime(b, &j, &ak, msg, sizeof(msg)), ATT_ERR_HCL_AK);
    struct att_bytes notjson = {(const uint8_t *)"[1]", 3};
    assert_int_equal(att_hcl_runtime(notjson, &j, &ak, msg, sizeof(msg)), ATT_ERR_HCL_FORMAT);
    att_buf_cleanup(&hcl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snp_hcl),
        cmocka_unit_test(test_tdx_hcl),
        cmocka_unit_test(test_hcl_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
