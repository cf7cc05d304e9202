/*
 * hcl.c - the Azure HCL report through the bounded reader (hcl.h; layout in
 * docs/reference/azure-cvm.md "HCL report", all integers little-endian).
 */
#include "evidence/azure/hcl.h"

#include <string.h>

#include <openssl/err.h>

#include "core/mem.h"
#include "token/jwk.h"

#define HCL_SIGNATURE 0x414C4348u /* "HCLA" */
#define IGVM_DATA_VERSION 1

att_err att_hcl_report_parse(struct att_bytes in, struct att_hcl_report *out, char *msg,
                             size_t msg_len)
{
    struct att_rd r;
    uint32_t sig = 0;
    uint32_t size = 0;
    uint32_t request = 0;
    uint32_t data_size = 0;
    uint32_t data_version = 0;
    uint32_t type = 0;
    uint32_t runtime_len = 0;
    struct att_bytes area;

    memset(out, 0, sizeof(*out));
    att_rd_init(&r, in.ptr, in.len);
    if (att_rd_u32le(&r, &sig) != ATT_OK || sig != HCL_SIGNATURE) {
        return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                         "the HCL report does not start with \"HCLA\"");
    }
    /* version 1 and 2 are both in use; the size field means different things in each
     * (azure-cvm.md): neither is relied on */
    if (att_rd_u32le(&r, &out->version) != ATT_OK || att_rd_u32le(&r, &size) != ATT_OK ||
        att_rd_u32le(&r, &request) != ATT_OK || att_rd_skip(&r, 16) != ATT_OK ||
        att_rd_bytes(&r, ATT_HCL_REPORT_AREA, &area) != ATT_OK ||
        att_rd_u32le(&r, &data_size) != ATT_OK || att_rd_u32le(&r, &data_version) != ATT_OK ||
        att_rd_u32le(&r, &type) != ATT_OK || att_rd_u32le(&r, &out->hash_type) != ATT_OK ||
        att_rd_u32le(&r, &runtime_len) != ATT_OK) {
        return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                         "the HCL report is truncated (%zu bytes)", in.len);
    }
    if (out->version < 1 || out->version > 2 || data_version != IGVM_DATA_VERSION) {
        return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                         "HCL report version %u / request data version %u is not 1-2 / 1",
                         out->version, data_version);
    }
    if (type != ATT_HCL_SNP && type != ATT_HCL_TDX) {
        return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                         "HCL report type %u is not SEV-SNP (2) or TDX (4)", type);
    }
    out->tee = (enum att_hcl_tee)type;
    if (out->hash_type < 1 || out->hash_type > 3) {
        return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                         "HCL report data hash type %u is not SHA-256, SHA-384 or SHA-512",
                         out->hash_type);
    }
    if (runtime_len == 0 || runtime_len > ATT_HCL_MAX_RUNTIME || data_size != 20 + runtime_len ||
        att_rd_bytes(&r, runtime_len, &out->runtime) != ATT_OK) {
        return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                         "HCL runtime data of %u bytes (request data %u) does not fit the report",
                         runtime_len, data_size);
    }
    /* what follows is the NV index's zero padding */
    ATT_TRY(att_bytes_slice(
        area, 0, type == ATT_HCL_SNP ? ATT_HCL_REPORT_AREA : ATT_HCL_TDREPORT_LEN, &out->hardware));
    return ATT_OK;
}

att_err att_hcl_check_binding(uint32_t hash_type, struct att_bytes runtime,
                              const uint8_t report_data[64], char *msg, size_t msg_len)
{
    static const char *const names[] = {NULL, "SHA256", "SHA384", "SHA512"};
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const uint8_t zero[64];
    const EVP_MD *md =
        hash_type >= 1 && hash_type <= 3 ? EVP_get_digestbyname(names[hash_type]) : NULL;
    if (md == NULL) {
        return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len, "HCL hash type %u is unknown",
                         hash_type);
    }
    if (EVP_Digest(runtime.ptr, runtime.len, h, &n, md, NULL) != 1) {
        ERR_clear_error();
        return ATT_ERR_CRYPTO;
    }
    if (!att_ct_equal(h, report_data, n) || !att_ct_equal(report_data + n, zero, 64 - n)) {
        return att_failf(ATT_ERR_HCL_BINDING, msg, msg_len,
                         "%s of the HCL runtime data (%zu bytes) is not the report data",
                         names[hash_type], runtime.len);
    }
    return ATT_OK;
}

att_err att_hcl_runtime(struct att_bytes runtime, json_t **json, EVP_PKEY **ak, char *msg,
                        size_t msg_len)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)runtime.ptr, runtime.len, JSON_REJECT_DUPLICATES, &jerr);
    size_t i;
    json_t *key;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                         "the HCL runtime data is not a JSON object");
    }
    json_array_foreach(json_object_get(doc, "keys"), i, key)
    {
        const char *kid = json_string_value(json_object_get(key, "kid"));
        if (kid == NULL || strcmp(kid, "HCLAkPub") != 0) {
            continue;
        }
        if (att_jwk_rsa_key(key, ak) == ATT_OK) { /* its key_ops are the vTPM's ("sign") */
            *json = doc;
            return ATT_OK;
        }
        break;
    }
    json_decref(doc);
    return att_failf(ATT_ERR_HCL_AK, msg, msg_len,
                     "the HCL runtime data has no RSA key of kid HCLAkPub");
}
