/*
 * issuers.h - trusted external token issuers (directory and workload identities).
 *
 * An operator lists, in a JSON file named by the config key `issuers_file`, the OpenID
 * providers whose access tokens attestd accepts: a corporate directory (Entra ID, Keycloak,
 * Okta...), Kubernetes service-account tokens, SPIFFE JWT-SVIDs. For each: the exact issuer,
 * the accepted audiences, where its public keys come from (OpenID discovery, a jwks_uri, or a
 * static JWKS file for air-gapped sites), the claim that names the caller, and how roles are
 * derived from the token (a roles claim mapped to attestd roles; groups for group role
 * assignments). docs/identity.md documents the format with worked examples.
 *
 * Keys fetched over the network are cached per issuer. A token whose "kid" is unknown triggers
 * one refetch, at most once per `refresh_min_interval` seconds (so junk kids cannot make
 * attestd hammer the provider); keys older than `refresh_interval` are refetched on the next
 * use. A failed fetch keeps the keys already held. Only one thread fetches an issuer's keys at
 * a time; others use what is cached meanwhile.
 *
 * Validation (RFC 7519, RFC 8725, RFC 9068 §4 where it applies to foreign tokens): the key is
 * chosen by "kid" and the algorithm is the key's (RS256, PS256, ES256, ES384; never "none" or
 * HMAC); "iss" exact; one "aud" among the accepted audiences; "exp" required and not past,
 * "nbf"/"iat" not in the future (both with the issuer's leeway); lifetime at most
 * `max_lifetime`; the subject claim a non-empty string; `required_claims` equal.
 */
#ifndef ATT_AUTH_ISSUERS_H
#define ATT_AUTH_ISSUERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/rbac.h"
#include "core/err.h"

#define ATT_ISSUERS_MAX 16                /* issuers in one file */
#define ATT_ISSUERS_FILE_MAX (64 * 1024)  /* bytes of the issuers file */
#define ATT_ISSUER_MAX_AUDIENCES 8        /* accepted audiences of one issuer */
#define ATT_ISSUER_MAX_ROLE_MAP 32        /* role_map entries of one issuer */
#define ATT_ISSUER_MAX_REQUIRED 8         /* required_claims of one issuer */
#define ATT_ISSUER_TOKEN_MAX (16 * 1024)  /* bytes of one external token */
#define ATT_ISSUER_DEFAULT_LEEWAY 60      /* seconds */
#define ATT_ISSUER_MAX_LEEWAY 300         /* seconds */
#define ATT_ISSUER_DEFAULT_LIFETIME 86400 /* seconds: longest token accepted by default */
#define ATT_ISSUER_DEFAULT_REFRESH 3600   /* seconds: keys are refetched when older */
#define ATT_ISSUER_DEFAULT_MIN_REFRESH 60 /* seconds between fetches on unknown kids */
#define ATT_ISSUER_DISCOVERY_MAX (64 * 1024)

struct att_issuers;

/*
 * Parse the issuers file text. `base_dir` resolves relative paths (jwks_file, ca_file); NULL
 * leaves them as written. Nothing is read or fetched: see att_issuers_load. On failure `msg`
 * says "NAME: issuers[i].field: what is wrong". `own_issuer` (attestd's public URL) may not be
 * listed: attestd's own tokens are validated by src/auth/access.c.
 */
att_err att_issuers_parse(const char *name, const char *text, size_t len, const char *own_issuer,
                          struct att_issuers **out, char *msg, size_t msg_len) ATT_WUR;

/*
 * Read and parse `path`, then load every static JWKS file (a bad one fails the whole load)
 * and fetch the keys of every networked issuer once (a failure there is logged, not fatal:
 * the provider may come back; tokens are refused until it does).
 */
att_err att_issuers_load(const char *path, const char *own_issuer, struct att_issuers **out,
                         char *msg, size_t msg_len) ATT_WUR;

/* An empty registry (no issuers file). */
att_err att_issuers_empty(struct att_issuers **out) ATT_WUR;

/* Registries are reference counted: retain adds a reference, free drops one (NULL is fine). */
struct att_issuers *att_issuers_retain(struct att_issuers *is);
void att_issuers_free(struct att_issuers *is);

size_t att_issuers_count(const struct att_issuers *is);

/* Whether `iss` is exactly one of the configured issuers. */
bool att_issuers_trusts(const struct att_issuers *is, const char *iss);

/*
 * Validate an external bearer token. On success *who is {kind "subject", subject = the
 * subject claim, issuer, name = the issuer's configured name, groups, token_roles}.
 * Errors as att_auth_verify, plus ATT_ERR_TOKEN_ISSUER when `iss` is not configured.
 */
att_err att_issuers_verify(struct att_issuers *is, const char *token, size_t len, int64_t now,
                           struct att_identity *who) ATT_WUR;

#endif
