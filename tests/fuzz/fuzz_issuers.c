/*
 * fuzz_issuers.c - libFuzzer target for the trusted-issuers file parser (src/auth/issuers.c)
 * and the unverified part of external token validation (choosing the issuer and the key).
 *
 * Input: arbitrary bytes. The first byte picks what they are: even, the text of an issuers
 * file; odd, a bearer token checked against a fixed registry (whose static key file is never
 * read, so every token must end refused without a key).
 *
 * Oracles beyond the sanitizers: *out is written only on success; a parsed registry holds
 * 1..ATT_ISSUERS_MAX issuers or none; no token is ever accepted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/issuers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char registry[] =
    "{\"issuers\": [{\"name\": \"corp\", \"issuer\": \"https://idp.example\", \"audiences\": "
    "[\"api://attestd\"], \"jwks_file\": \"never-read.json\", \"roles_claim\": \"roles\", "
    "\"role_map\": {\"o\": \"Owner\"}, \"groups_claim\": \"groups\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_issuers *is = NULL;
    char msg[512];
    if (size == 0) {
        return 0;
    }
    if ((data[0] & 1) == 0) {
        att_err rc = att_issuers_parse("fuzz", (const char *)data + 1, size - 1,
                                       "https://attestd.example", &is, msg, sizeof(msg));
        if ((rc == ATT_OK) != (is != NULL) ||
            (is != NULL && att_issuers_count(is) > ATT_ISSUERS_MAX)) {
            abort();
        }
        att_issuers_free(is);
        return 0;
    }
    if (att_issuers_parse("fixed", registry, strlen(registry), NULL, &is, msg, sizeof(msg)) !=
        ATT_OK) {
        abort();
    }
    struct att_identity who;
    if (att_issuers_verify(is, (const char *)data + 1, size - 1, 1795000000, &who) == ATT_OK) {
        abort();
    }
    att_issuers_free(is);
    return 0;
}
