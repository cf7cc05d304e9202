/*
 * fuzz_snp_report.c - libFuzzer target for the SEV-SNP report parser
 * (src/evidence/snp/report.c). Input: arbitrary bytes, fully untrusted. Oracles beyond the
 * sanitizers: a parsed report was exactly 1184 bytes, signs its first 0x2A0, has a version
 * 2-5 and a signing key the ABI defines.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "evidence/snp/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_snp_report r;
    char msg[256];
    if (att_snp_report_parse(data, size, &r, msg, sizeof(msg)) != ATT_OK) {
        return 0;
    }
    if (size != ATT_SNP_REPORT_LEN || r.signed_part.ptr != data ||
        r.signed_part.len != ATT_SNP_SIGNED_LEN || r.version < 2 || r.version > 5 ||
        (r.signing_key != ATT_SNP_KEY_VCEK && r.signing_key != ATT_SNP_KEY_VLEK &&
         r.signing_key != ATT_SNP_KEY_NONE)) {
        abort();
    }
    (void)att_snp_tcb_decode(r.reported_tcb, r.product);
    return 0;
}
