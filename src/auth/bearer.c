/*
 * bearer.c - dispatch a bearer token to the validator of its issuer (see bearer.h).
 *
 * Input: an untrusted token; only its payload's "iss" is read here, unverified, to choose.
 */
#include "auth/bearer.h"

#include <jansson.h>
#include <string.h>

#include "auth/access.h"
#include "auth/issuers.h"
#include "token/jws.h"

att_err att_bearer_verify(const struct att_auth *auth, struct att_issuers *issuers,
                          struct att_store *store, const char *token, size_t len, int64_t now,
                          struct att_identity *who)
{
    struct att_jws peek = {0};
    json_error_t jerr;
    ATT_ENSURE(len <= ATT_ISSUER_TOKEN_MAX, ATT_ERR_TOO_LARGE);
    ATT_TRY(att_jws_decode_unverified(token, len, &peek));
    json_t *claims = json_loadb((const char *)peek.payload.data, peek.payload.len,
                                JSON_REJECT_DUPLICATES, &jerr);
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    bool external = iss != NULL && issuers != NULL && att_issuers_trusts(issuers, iss);
    bool foreign = iss != NULL && !external && strcmp(iss, att_auth_issuer(auth)) != 0;
    json_decref(claims);
    att_jws_cleanup(&peek);
    if (external) {
        return att_issuers_verify(issuers, token, len, now, who);
    }
    ATT_ENSURE(!foreign, ATT_ERR_TOKEN_ISSUER);
    /* Ours, or a payload without a readable "iss": access.c says precisely what is wrong. */
    return att_auth_verify(auth, store, token, len, now, who);
}
