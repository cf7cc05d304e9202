/*
 * bearer.h - who does a bearer token name? (RFC 6750)
 *
 * attestd accepts its own access tokens (src/auth/access.h, "iss" = public_url) and those of
 * the trusted external issuers (src/auth/issuers.h). The token's unverified "iss" only picks
 * which of the two validates it; each then checks everything, the issuer included.
 */
#ifndef ATT_AUTH_BEARER_H
#define ATT_AUTH_BEARER_H

#include <stddef.h>
#include <stdint.h>

#include "auth/rbac.h"
#include "core/err.h"
#include "store/store.h"

struct att_auth;
struct att_issuers;

/* Errors as att_auth_verify and att_issuers_verify; ATT_ERR_TOKEN_ISSUER for an unknown iss. */
att_err att_bearer_verify(const struct att_auth *auth, struct att_issuers *issuers,
                          struct att_store *store, const char *token, size_t len, int64_t now,
                          struct att_identity *who) ATT_WUR;

#endif
