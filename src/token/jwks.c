/*
 * jwks.c - JWK Sets (RFC 7517 §5): the "jwks_uri" document of an external
 * OpenID provider to a table of pinned public keys.
 *
 * Input: JSON fetched from the network: untrusted. Capped at
 * ATT_JWKS_MAX_BYTES, parsed by jansson with duplicate names refused, at
 * most ATT_JWKS_MAX_ENTRIES entries looked at; each key is imported by
 * att_jwk_to_key (jwk.c), which checks every member.
 */
#include "token/jwks.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token/jwk.h"

/* =====================================================================
 * One entry of "keys"
 * ===================================================================== */

/*
 * Entries we pass over without failing the set: keys for encryption (RFC
 * 7517 §4.2 "use":"enc"), X.509 authorities of a SPIFFE bundle ("use":
 * "x509-svid") and key types or curves we do not verify with (a
 * provider may publish OKP or P-521 keys beside the ones it signs with).
 * Anything else that looks like ours must import cleanly.
 */
static bool skipped(const json_t *jwk)
{
    const char *use = json_string_value(json_object_get(jwk, "use"));
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *crv = json_string_value(json_object_get(jwk, "crv"));

    /* SPIFFE Trust Domain and Bundle §4.2.2: "x509-svid" keys are X.509 authorities of a
     * SPIFFE bundle, never token signers. */
    if (use != NULL && (strcmp(use, "enc") == 0 || strcmp(use, "x509-svid") == 0)) {
        return true;
    }
    if (kty == NULL) {
        return false; /* missing or not a string: att_jwk_to_key says ATT_ERR_JSON */
    }
    if (strcmp(kty, "RSA") == 0) {
        return false;
    }
    if (strcmp(kty, "EC") == 0) {
        /* RFC 7518 §6.2.1.1; a missing "crv" is a malformed EC key, not a skipped one. */
        return crv != NULL && strcmp(crv, "P-256") != 0 && strcmp(crv, "P-384") != 0;
    }
    return true; /* "oct" (§6.4), "OKP" (RFC 8037) or unknown */
}

/* RFC 7517 §4.5 "kid": optional, "a case-sensitive string". */
static att_err copy_kid(const json_t *jwk, char kid[ATT_JWKS_KID_MAX + 1])
{
    const json_t *v = json_object_get(jwk, "kid");
    if (v == NULL) {
        kid[0] = '\0';
        return ATT_OK;
    }
    ATT_ENSURE(json_is_string(v), ATT_ERR_JSON);
    size_t len = json_string_length(v);
    ATT_ENSURE(len <= ATT_JWKS_KID_MAX, ATT_ERR_TOO_LARGE);
    /* Jansson refuses "\u0000" in parsed text; a NUL would make two kids compare equal. */
    ATT_ENSURE(strlen(json_string_value(v)) == len, ATT_ERR_VALIDATE);
    snprintf(kid, ATT_JWKS_KID_MAX + 1, "%s", json_string_value(v));
    return ATT_OK;
}

/*
 * Add one entry of "keys" to `set` (room for `max` keys), or skip it.
 * A private member fails the set even on an entry we would skip.
 */
static att_err add_entry(struct att_jwks *set, size_t max, const json_t *jwk)
{
    struct att_jwks_key *k = NULL;
    EVP_PKEY *key = NULL;
    enum att_jws_alg alg = ATT_JWS_NONE;
    char kid[ATT_JWKS_KID_MAX + 1];

    ATT_ENSURE(json_is_object(jwk), ATT_ERR_JSON);
    ATT_TRY(att_jwk_check_public(jwk));
    if (skipped(jwk)) {
        return ATT_OK;
    }
    ATT_TRY(copy_kid(jwk, kid));
    att_err rc = att_jwk_to_key(jwk, &key, &alg);
    if (rc == ATT_ERR_ALG_UNSUPPORTED) {
        /* Well-formed, for an algorithm we do not verify (RS512, PS384, HS256...): unusable. */
        return ATT_OK;
    }
    ATT_TRY(rc);
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->keys[i].kid, kid) == 0) {
            EVP_PKEY_free(key);
            return ATT_ERR_VALIDATE; /* two keys for one kid: which one verifies? */
        }
    }
    if (set->n >= max) {
        EVP_PKEY_free(key);
        return ATT_ERR_TOO_LARGE;
    }
    k = &set->keys[set->n++];
    snprintf(k->kid, sizeof(k->kid), "%s", kid);
    k->alg = alg;
    k->alg_named = json_object_get(jwk, "alg") != NULL;
    k->key = key;
    return ATT_OK;
}

/* =====================================================================
 * Public entry points
 * ===================================================================== */

void att_jwks_free(struct att_jwks *jwks)
{
    if (jwks == NULL) {
        return;
    }
    for (size_t i = 0; i < jwks->n; i++) {
        EVP_PKEY_free(jwks->keys[i].key);
    }
    free(jwks);
}

att_err att_jwks_parse(const char *text, size_t len, size_t max_keys, struct att_jwks **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    json_t *doc = NULL;
    const json_t *keys = NULL;
    struct att_jwks *set = NULL;
    json_error_t jerr;

    ATT_CHECK(out != NULL && (text != NULL || len == 0), ATT_ERR_ARG);
    ATT_CHECK(max_keys >= 1 && max_keys <= ATT_JWKS_MAX_KEYS, ATT_ERR_ARG);
    ATT_CHECK(len <= ATT_JWKS_MAX_BYTES, ATT_ERR_TOO_LARGE);

    /* Parse. RFC 7517 §5: "a JSON object that represents a set of JWKs". */
    doc = json_loadb(text != NULL ? text : "", len, JSON_REJECT_DUPLICATES, &jerr);
    ATT_CHECK(json_is_object(doc), ATT_ERR_JSON);
    /* §5.1: "The value of the "keys" member is an array of JWK values." */
    keys = json_object_get(doc, "keys");
    ATT_CHECK(json_is_array(keys), ATT_ERR_JSON);
    ATT_CHECK(json_array_size(keys) <= ATT_JWKS_MAX_ENTRIES, ATT_ERR_TOO_LARGE);

    /* Validate and import, entry by entry. */
    set = calloc(1, sizeof(*set) + max_keys * sizeof(set->keys[0]));
    ATT_CHECK(set != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < json_array_size(keys); i++) {
        ATT_GUARD(add_entry(set, max_keys, json_array_get(keys, i)));
    }
    *out = set;
    set = NULL;
    rc = ATT_OK;
out:
    att_jwks_free(set);
    json_decref(doc);
    return rc;
}

const struct att_jwks_key *att_jwks_find(const struct att_jwks *jwks, const char *kid)
{
    if (jwks == NULL || kid == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < jwks->n; i++) {
        if (strcmp(jwks->keys[i].kid, kid) == 0) {
            return &jwks->keys[i];
        }
    }
    return NULL;
}

enum att_jws_alg att_jwks_key_alg(const struct att_jwks_key *k, enum att_jws_alg requested)
{
    if (!k->alg_named && k->alg == ATT_JWS_RS256 && requested == ATT_JWS_PS256) {
        return ATT_JWS_PS256;
    }
    return k->alg;
}
