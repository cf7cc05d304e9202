/*
 * claims.c - the registered claims of attestd's tokens (RFC 7519 §4.1).
 *
 * Input: issuer and times from configuration and the clock (trusted); the
 * jti comes from the OpenSSL CSPRNG.
 */
#include "token/claims.h"

#include <openssl/rand.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec.h"

#define JTI_BYTES 32 /* MAA-API.md §2.2: 64 lowercase hex characters */

static att_err new_jti(json_t **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    uint8_t rnd[JTI_BYTES];
    struct att_buf hex;
    json_t *v = NULL;

    att_buf_init(&hex, 2 * JTI_BYTES);
    /*
     * RFC 7519 §4.1.7: the identifier must have "a negligible probability
     * that the same value will be accidentally assigned to a different data
     * object".
     */
    ATT_CHECK(RAND_bytes(rnd, sizeof(rnd)) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(att_hex_encode(rnd, sizeof(rnd), &hex));
    v = json_stringn(att_buf_cstr(&hex), hex.len);
    ATT_CHECK(v != NULL, ATT_ERR_NOMEM);
    *out = v;
    rc = ATT_OK;
out:
    att_buf_cleanup(&hex);
    return rc;
}

/* Add `v` (stolen) under `key`; a NULL v is an allocation failure. */
static att_err set_new(json_t *obj, const char *key, json_t *v)
{
    ATT_ENSURE(v != NULL, ATT_ERR_NOMEM);
    ATT_ENSURE(json_object_set_new(obj, key, v) == 0, ATT_ERR_NOMEM);
    return ATT_OK;
}

att_err att_claims_set_registered(json_t *claims, const char *issuer, int64_t now, int64_t lifetime)
{
    att_err rc = ATT_ERR_INTERNAL;
    json_t *reg = NULL;
    json_t *jti = NULL;
    json_t *iss = NULL;
    json_t *v = NULL;
    size_t ilen = 0;

    ATT_CHECK(json_is_object(claims) && issuer != NULL, ATT_ERR_ARG);
    ilen = strlen(issuer);
    /*
     * MAA-API.md §2.2: "iss" is the instance URL with no trailing slash.
     * Refused rather than trimmed, so "iss" never silently differs from the
     * issuer published in /.well-known/openid-configuration.
     */
    ATT_CHECK(ilen > 0 && issuer[ilen - 1] != '/', ATT_ERR_ARG);
    /* RFC 7519 §2 NumericDate: seconds since the epoch; exp must not overflow. */
    ATT_CHECK(now >= 0 && lifetime > 0 && now <= INT64_MAX - lifetime, ATT_ERR_ARG);

    /* Build everything first, so `claims` changes only on success. */
    reg = json_object();
    ATT_CHECK(reg != NULL, ATT_ERR_NOMEM);
    iss = json_string(issuer);
    ATT_CHECK(iss != NULL, ATT_ERR_ARG); /* not UTF-8 */
    ATT_GUARD(new_jti(&jti));
    v = iss; /* set_new steals its value, also on failure */
    iss = NULL;
    ATT_GUARD(set_new(reg, "iss", v));                            /* RFC 7519 §4.1.1 */
    ATT_GUARD(set_new(reg, "iat", json_integer(now)));            /* §4.1.6 */
    ATT_GUARD(set_new(reg, "nbf", json_integer(now)));            /* §4.1.5 */
    ATT_GUARD(set_new(reg, "exp", json_integer(now + lifetime))); /* §4.1.4 */
    v = jti;
    jti = NULL;
    ATT_GUARD(set_new(reg, "jti", v)); /* §4.1.7 */
    ATT_CHECK(json_object_update(claims, reg) == 0, ATT_ERR_NOMEM);
    rc = ATT_OK;
out:
    json_decref(iss);
    json_decref(jti);
    json_decref(reg);
    return rc;
}
