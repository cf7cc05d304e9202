/*
 * claims.c - the registered claims of attestd's tokens (RFC 7519 §4.1).
 *
 * Input: issuer and times from configuration and the clock (trusted); the
 * jti comes from the OpenSSL CSPRNG (crypto/ids.h).
 */
#include "token/claims.h"

#include <string.h>

#include "crypto/ids.h"

#define JTI_BYTES 32 /* docs/reference/maa-tokens.md §2.2: 64 lowercase hex characters */

static att_err new_jti(json_t **out)
{
    char hex[2 * JTI_BYTES + 1];
    /*
     * RFC 7519 §4.1.7: the identifier must have "a negligible probability that the same value
     * will be accidentally assigned to a different data object": 256 CSPRNG bits.
     */
    ATT_TRY(att_id_hex(JTI_BYTES, hex, sizeof(hex)));
    *out = json_stringn_nocheck(hex, 2 * JTI_BYTES);
    return *out != NULL ? ATT_OK : ATT_ERR_NOMEM;
}

const char *const att_claims_registered[ATT_CLAIMS_REGISTERED] = {
    "iss", /* RFC 7519 §4.1.1 */
    "iat", /* §4.1.6 */
    "nbf", /* §4.1.5 */
    "exp", /* §4.1.4 */
    "jti", /* §4.1.7 */
};

att_err att_claims_set_registered(json_t *claims, const char *issuer, int64_t now, int64_t lifetime)
{
    const char *const *names = att_claims_registered;
    json_t *v[ATT_CLAIMS_REGISTERED] = {NULL, NULL, NULL, NULL, NULL};
    att_err rc = ATT_ERR_NOMEM;
    size_t ilen = 0;
    size_t set = 0;

    ATT_ENSURE(json_is_object(claims) && issuer != NULL, ATT_ERR_ARG);
    ilen = strlen(issuer);
    /*
     * docs/reference/maa-tokens.md §2.2: "iss" is the instance URL with no trailing slash.
     * Refused rather than trimmed, so "iss" never silently differs from the
     * issuer published in /.well-known/openid-configuration.
     */
    ATT_ENSURE(ilen > 0 && issuer[ilen - 1] != '/', ATT_ERR_ARG);
    /* RFC 7519 §2 NumericDate: seconds since the epoch; exp must not overflow. */
    ATT_ENSURE(now >= 0 && lifetime > 0 && now <= INT64_MAX - lifetime, ATT_ERR_ARG);

    /* Every value first, so `claims` changes only when all of them exist. */
    v[0] = json_stringn(issuer, ilen);
    if (v[0] == NULL) {
        return ATT_ERR_ARG; /* not UTF-8 */
    }
    v[1] = json_integer(now);
    v[2] = json_integer(now);
    v[3] = json_integer(now + lifetime);
    rc = new_jti(&v[4]);
    for (size_t i = 0; rc == ATT_OK && i < ATT_CLAIMS_REGISTERED; i++) {
        rc = v[i] != NULL ? ATT_OK : ATT_ERR_NOMEM;
    }
    while (rc == ATT_OK && set < ATT_CLAIMS_REGISTERED) {
        rc = json_object_set_nocheck(claims, names[set], v[set]) == 0 ? ATT_OK : ATT_ERR_NOMEM;
        set += rc == ATT_OK;
    }
    if (rc != ATT_OK) {
        for (size_t i = 0; i < set; i++) {
            json_object_del(claims, names[i]);
        }
    }
    for (size_t i = 0; i < ATT_CLAIMS_REGISTERED; i++) {
        json_decref(v[i]);
    }
    return rc;
}
