/*
 * fuzz_assertion.c - libFuzzer target for the parts of src/auth/assertion.c that read
 * untrusted bytes without a store: the unverified peek at the claimed client
 * (att_assertion_claimed_client, over a compact JWS) and the claim checks of a verified
 * payload (att_assertion_check_claims, over JSON). The JWS parser itself has its own target
 * (fuzz_jws.c).
 *
 * Input: arbitrary bytes, fully untrusted; each input is tried as both. The client id,
 * URLs and time are fixed, so runs are reproducible and the seed corpus reaches the
 * success paths.
 *
 * Oracles beyond the sanitizers: a claimed client id is 1..ATT_ASSERTION_CLIENT_ID_MAX
 * characters; accepted claims have a jti of 1..ATT_ASSERTION_JTI_MAX bytes and an exp that
 * is neither past (beyond the leeway) nor further ahead than leeway plus the lifetime cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/assertion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CLIENT "3f2b8c1e-8d4a-4c3e-9a57-0b6f1d2e4c5a"
#define ISSUER "https://attest.example"
#define ENDPOINT ISSUER "/oauth2/token"
#define NOW ((int64_t)1795000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char id[ATT_ASSERTION_CLIENT_ID_MAX + 1];
    struct att_assertion_claims c;

    if (att_assertion_claimed_client((const char *)data, size, id) == ATT_OK) {
        size_t n = strnlen(id, sizeof(id));
        if (n == 0 || n > ATT_ASSERTION_CLIENT_ID_MAX) {
            abort();
        }
    }
    if (att_assertion_check_claims(data, size, CLIENT, ISSUER, ENDPOINT, NOW, &c) == ATT_OK) {
        if (c.jti_len == 0 || c.jti_len > ATT_ASSERTION_JTI_MAX ||
            c.exp + ATT_ASSERTION_LEEWAY < NOW ||
            c.exp > NOW + ATT_ASSERTION_LEEWAY + ATT_ASSERTION_MAX_LIFETIME) {
            abort();
        }
    }
    return 0;
}
