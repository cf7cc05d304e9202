/*
 * fuzz_jwks.c - libFuzzer target for the JWK Set parser (src/token/jwks.c)
 * and through it the JWK importer (src/token/jwk.c).
 *
 * Input: arbitrary bytes, fully untrusted: the body of a provider's
 * "jwks_uri" document.
 *
 * Oracles beyond the sanitizers: a parsed set holds at most the cap, every
 * key fits its pinned algorithm (never "none"), kids are unique and each one
 * finds its own entry.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "token/jwks.h"
#include "token/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_jwks *set = NULL;

    if (att_jwks_parse((const char *)data, size, ATT_JWKS_MAX_KEYS, &set) != ATT_OK) {
        if (set != NULL) {
            abort(); /* written only on success */
        }
        return 0;
    }
    if (set == NULL || set->n > ATT_JWKS_MAX_KEYS) {
        abort();
    }
    for (size_t i = 0; i < set->n; i++) {
        const struct att_jwks_key *k = &set->keys[i];
        if (k->key == NULL || k->alg == ATT_JWS_NONE ||
            att_jws_key_fits(k->key, k->alg) != ATT_OK || att_jwks_find(set, k->kid) != k) {
            abort();
        }
    }
    att_jwks_free(set);
    return 0;
}
