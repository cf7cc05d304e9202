/*
 * fuzz_maa_tpm.c - libFuzzer target for the decoder of MAA's TPM protocol messages
 * (src/evidence/tpm/maa_protocol.c) and the JSON span scanner it uses (src/core/json_span.c).
 * Input: arbitrary bytes, fully untrusted, read as an envelope and as a request's JWS payload.
 * Oracles beyond the sanitizers: a decoded request's JWK text lies inside the input and parses to
 * the JWK the decoder found; its TpmQuote body has the members the evidence type requires.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/json_span.h"
#include "evidence/tpm/maa_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_bytes in = {data, size};
    json_t *payload = NULL;
    char msg[256];
    if (att_maa_tpm_envelope_open(in, &payload, msg, sizeof(msg)) == ATT_OK) {
        if (!json_is_object(payload)) {
            abort();
        }
        json_decref(payload);
    }
    struct att_maa_tpm_request r;
    if (att_maa_tpm_request_parse(in, &r, msg, sizeof(msg)) == ATT_OK) {
        json_error_t err;
        json_t *jwk = json_loadb((const char *)r.jwk_text.ptr, r.jwk_text.len, 0, &err);
        if (r.jwk_text.ptr < r.payload_text.data ||
            r.jwk_text.ptr + r.jwk_text.len > r.payload_text.data + r.payload_text.len ||
            jwk == NULL || !json_equal(jwk, r.jwk) || r.challenge == NULL ||
            r.service_context == NULL || !json_is_string(json_object_get(r.body, "signature")) ||
            !json_is_object(json_object_get(r.body, "pcrs"))) {
            abort();
        }
        json_decref(jwk);
    }
    att_maa_tpm_request_free(&r);
    static const char *const path[] = {"a", "b", NULL};
    struct att_bytes span;
    if (att_json_value_span(in, path, &span) == ATT_OK &&
        (span.ptr < data || span.ptr + span.len > data + size || span.len == 0)) {
        abort();
    }
    return 0;
}
