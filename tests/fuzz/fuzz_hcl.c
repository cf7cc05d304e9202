/*
 * fuzz_hcl.c - libFuzzer target for the Azure HCL report parser and its runtime data
 * (src/evidence/azure/hcl.c). Input: arbitrary bytes, fully untrusted. Oracles beyond the
 * sanitizers: a parsed report's hardware report and runtime data lie inside the input, have the
 * sizes their type gives, and the runtime data's key, when one is found, is RSA.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "evidence/azure/hcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_bytes in = {data, size};
    struct att_hcl_report r;
    char msg[256];
    json_t *json = NULL;
    EVP_PKEY *ak = NULL;
    if (att_hcl_report_parse(in, &r, msg, sizeof(msg)) == ATT_OK) {
        size_t want = r.tee == ATT_HCL_SNP ? ATT_HCL_REPORT_AREA : ATT_HCL_TDREPORT_LEN;
        if (r.hardware.ptr < data || r.hardware.len != want || r.runtime.ptr < data ||
            r.runtime.ptr + r.runtime.len > data + size || r.hash_type < 1 || r.hash_type > 3) {
            abort();
        }
        if (att_hcl_runtime(r.runtime, &json, &ak, msg, sizeof(msg)) == ATT_OK) {
            if (EVP_PKEY_get_base_id(ak) != EVP_PKEY_RSA || !json_is_object(json)) {
                abort();
            }
            EVP_PKEY_free(ak);
            json_decref(json);
        }
    }
    /* the runtime data parser on its own */
    if (att_hcl_runtime(in, &json, &ak, msg, sizeof(msg)) == ATT_OK) {
        EVP_PKEY_free(ak);
        json_decref(json);
    }
    return 0;
}
