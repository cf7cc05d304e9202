/*
 * access.h - attestd's own access tokens (OAuth 2.0 client-credentials grant, RFC 6749 §4.4).
 *
 * The token endpoint issues short-lived JWT access tokens (RFC 9068 shape: header typ
 * "at+jwt"; claims iss, aud, sub, client_id, iat, nbf, exp, jti) signed with attestd's auth
 * key: an ES256 key created on first start, stored sealed in table auth_keys like the
 * providers' keys, and held only by its own att_signer.
 *
 * Bearer validation of these tokens pins the algorithm to the key found by "kid", requires
 * the exact issuer and audience, checks exp/nbf with a small leeway and a maximum lifetime.
 */
#ifndef ATT_AUTH_ACCESS_H
#define ATT_AUTH_ACCESS_H

#include <stdint.h>

#include "auth/rbac.h"
#include "core/buf.h"
#include "core/err.h"
#include "store/store.h"

#define ATT_ACCESS_AUDIENCE "attestd"
#define ATT_ACCESS_LIFETIME 600 /* 10 minutes */
#define ATT_ACCESS_LEEWAY 60    /* seconds of clock skew tolerated on exp / nbf */
#define ATT_ACCESS_MAX_TOKEN 8192

struct att_keyring;
struct att_auth;
struct att_replay;

/* Load (creating on first use) the auth key; `issuer` is attestd's public URL. */
att_err att_auth_new(struct att_store *store, struct att_keyring *kr, const char *issuer,
                     int64_t now, struct att_auth **out) ATT_WUR;
void att_auth_free(struct att_auth *a);

/* The signer holding the access-token key (the key process signs with it: src/keyd). */
struct att_signer *att_auth_signer(const struct att_auth *a);

/* The issuer of attestd's access tokens (its public URL). */
const char *att_auth_issuer(const struct att_auth *a);

/*
 * The single-use cache of private_key_jwt assertion ids (src/auth/assertion.h), shared by
 * all workers (it has its own lock) and freed with `a`.
 */
struct att_replay *att_auth_replay(const struct att_auth *a);

/* Sign `payload` as a compact ES256 JWS with the access-token key, header {"typ": typ, "kid"}
 * (the audit trail's checkpoints: src/audit/audit.h). */
att_err att_auth_sign(const struct att_auth *a, const char *typ, const void *payload, size_t len,
                      struct att_buf *out) ATT_WUR;
/* Issue an access token for principal `p`, valid ATT_ACCESS_LIFETIME seconds from `now`. */
att_err att_auth_issue(const struct att_auth *a, const struct att_principal_rec *p, int64_t now,
                       struct att_buf *token) ATT_WUR;

/*
 * Validate a bearer token. On success *who is the principal it names (kind "principal").
 * Errors: ATT_ERR_JWS_FORMAT / ATT_ERR_ENCODING / ATT_ERR_JSON / ATT_ERR_TOO_LARGE (malformed),
 * ATT_ERR_ALG_NONE / ATT_ERR_ALG_UNSUPPORTED / ATT_ERR_ALG_MISMATCH, ATT_ERR_TOKEN_KID,
 * ATT_ERR_SIGNATURE, ATT_ERR_TOKEN_ISSUER, ATT_ERR_TOKEN_AUDIENCE, ATT_ERR_TOKEN_EXPIRED,
 * ATT_ERR_TOKEN_NOT_YET_VALID, ATT_ERR_TOKEN_LIFETIME, ATT_ERR_TOKEN_CLAIMS.
 * The principal must still exist and be enabled (ATT_ERR_CREDENTIALS /
 * ATT_ERR_PRINCIPAL_DISABLED otherwise): disabling a principal takes effect at once.
 */
att_err att_auth_verify(const struct att_auth *a, struct att_store *store, const char *token,
                        size_t len, int64_t now, struct att_identity *who) ATT_WUR;

#endif
