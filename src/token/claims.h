/*
 * claims.h - registered JWT claims (RFC 7519 §4.1) for attestd's tokens.
 */
#ifndef ATT_TOKEN_CLAIMS_H
#define ATT_TOKEN_CLAIMS_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"

/* The registered claims att_claims_set_registered sets, in its order. */
#define ATT_CLAIMS_REGISTERED 5
extern const char *const att_claims_registered[ATT_CLAIMS_REGISTERED];

/*
 * Set "iss" (no trailing slash, as MAA), "iat" = "nbf" = now,
 * "exp" = now + lifetime, and "jti" = 64 lowercase hex characters from
 * 32 random bytes (docs/reference/maa-tokens.md §2.2) on the object `claims`.
 * An issuer ending in '/' is refused (ATT_ERR_ARG) rather than trimmed, so
 * "iss" never differs from the issuer published elsewhere. `claims` is
 * changed only on success.
 */
att_err att_claims_set_registered(json_t *claims, const char *issuer, int64_t now,
                                  int64_t lifetime) ATT_WUR;

#endif
