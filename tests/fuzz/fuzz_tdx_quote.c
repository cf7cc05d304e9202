/*
 * fuzz_tdx_quote.c - libFuzzer target for the TDX quote parser: versions 4 and 5, TD report
 * bodies 1.0 and 1.5, the v5 body descriptor and the type-6 certification data
 * (src/evidence/intel/quote.c), then the inspector that prints the parsed fields
 * (src/evidence/intel/inspect.c).
 *
 * Input: arbitrary bytes, fully untrusted, read as a TDX quote. Oracles beyond the sanitizers:
 * a parsed quote's views lie inside the input; it signs exactly the header, the v5 descriptor
 * (6 bytes) and the body; its declared length plus the zero padding is the input length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "evidence/intel/inspect.h"
#include "evidence/intel/quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_view(struct att_bytes v, const uint8_t *data, size_t size)
{
    if (v.len > 0 && (v.ptr < data || v.ptr + v.len > data + size)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_intel_quote q;
    struct att_bytes in = {data, size};
    json_t *doc = NULL;
    char msg[256];
    if (att_intel_quote_parse(data, size, ATT_INTEL_TEE_TDX, &q, msg, sizeof(msg)) != ATT_OK) {
        return 0;
    }
    size_t body = q.body_type == ATT_QUOTE_BODY_TD15 ? ATT_TD_REPORT15_LEN : ATT_TD_REPORT10_LEN;
    size_t descriptor = q.header.version == 5 ? 6 : 0;
    if (q.body_type == ATT_QUOTE_BODY_SGX ||
        q.signed_part.len != ATT_QUOTE_HEADER_LEN + descriptor + body ||
        q.bytes.len + q.padding != size) {
        abort();
    }
    check_view(q.sig.pck_pem, data, size);
    check_view(q.sig.qe_auth_data, data, size);
    check_view(q.sig.qe_report.raw, data, size);
    if (att_intel_inspect(in, ATT_INTEL_TEE_TDX, &doc, msg, sizeof(msg)) != ATT_OK) {
        abort(); /* what parsed once parses again */
    }
    json_decref(doc);
    return 0;
}
