/*
 * assertion.h - private_key_jwt client authentication: JWT client assertions (RFC 7523 §2.2,
 * §3; RFC 7521 §4.2; OpenID Connect Core 1.0 §9) signed with the key of the client
 * certificate registered to a principal (`attestctl principal cert NAME CERT.pem`).
 *
 * What an assertion must be, in the order it is checked:
 *   - at most ATT_ASSERTION_MAX bytes, a compact JWS parsed by src/token/jws.c only;
 *   - header "alg" RS256, PS256, ES256 or ES384 ("none" and HMAC are refused, RFC 8725
 *     §3.1), a signature part that is not empty, no "crit"; "kid" is not needed (a
 *     principal has one certificate) and is ignored;
 *   - "iss" and "sub" both the client id (RFC 7523 §3 items 1 and 2); the optional client_id
 *     request parameter must match (up to here: att_assertion_precheck, no key, no store);
 *   - the client is a principal that exists and has a certificate, and "alg" fits its key:
 *     RSA (>= 2048 bits) -> RS256 or PS256, P-256 -> ES256, P-384 -> ES384;
 *   - the signature verifies with the certificate's public key; only then are the claims
 *     trusted, and the principal's "disabled" flag revealed;
 *   - "aud" (a string or an array of strings) contains attestd's token endpoint URL
 *     (public_url + "/oauth2/token") or its issuer (public_url) (RFC 7523 §3 item 3, OIDC
 *     Core §9: "The Audience SHOULD be the URL of the Authorization Server's Token
 *     Endpoint"), compared as exact strings;
 *   - "exp" required and not past (ATT_ASSERTION_LEEWAY seconds of clock skew); "nbf" and
 *     "iat", when present, not in the future beyond the leeway; lifetime exp - (iat, else nbf,
 *     else now) at most ATT_ASSERTION_MAX_LIFETIME seconds;
 *   - "jti" required (1..ATT_ASSERTION_JTI_MAX bytes) and single-use (RFC 7523 §3 item 7):
 *     recorded per client in a replay cache until exp + leeway, the last moment the
 *     assertion itself could be accepted.
 *
 * Caveats: the replay cache is in memory and per process (like backoff): several attestd
 * nodes behind one load balancer each accept an assertion once. The certificate is used as a
 * key holder only: its validity dates, issuer and chain are not checked (registering it is
 * the trust decision; clearing it revokes). Certificates registered before schema version 3
 * carry only their hash and must be registered again.
 */
#ifndef ATT_AUTH_ASSERTION_H
#define ATT_AUTH_ASSERTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

/* RFC 7523 §2.2: the client_assertion_type of a JWT client assertion. */
#define ATT_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define ATT_ASSERTION_MAX 8192              /* bytes of the compact JWS */
#define ATT_ASSERTION_LEEWAY 60             /* seconds of clock skew on exp / nbf / iat */
#define ATT_ASSERTION_MAX_LIFETIME 600      /* seconds from iat (or nbf, or now) to exp */
#define ATT_ASSERTION_JTI_MAX 256           /* bytes */
#define ATT_ASSERTION_REPLAY_SLOTS 4096     /* unexpired assertions remembered at once */
#define ATT_ASSERTION_REPLAY_PER_CLIENT 256 /* of which one client may hold */
#define ATT_ASSERTION_CLIENT_ID_MAX 63      /* characters of a claimed client id (for logs) */

/* ---- replay cache ----------------------------------------------------------------------- */

/*
 * A bounded, thread-safe set of used (client id, jti) pairs, each with the time until which
 * it is remembered. Entries hold a SHA-256 of the pair, so memory does not depend on the jti,
 * and the client id (cut to ATT_ASSERTION_CLIENT_ID_MAX characters), so that no client can
 * hold more than its share: one client filling the table would lock every other client out.
 */
struct att_replay;

/*
 * `slots` entries (1..1048576), of which each client may hold `per_client` (1..slots) at
 * once; ATT_ERR_ARG or ATT_ERR_NOMEM.
 */
att_err att_replay_new(size_t slots, size_t per_client, struct att_replay **out) ATT_WUR;
/* Accepts NULL. */
void att_replay_free(struct att_replay *r);

/*
 * Use `jti` (`jti_len` bytes, may hold any byte) of `client_id` once: remember it until
 * `until` (inclusive). ATT_ERR_TOKEN_REPLAY when the pair is remembered and `until` of that
 * entry is not before `now`. Nothing unexpired is ever evicted: when `client_id` already
 * holds `per_client` unexpired entries the call fails closed with
 * ATT_ERR_REPLAY_CLIENT_QUOTA (that client waits for its own entries to expire), and when
 * every slot holds an unexpired entry with ATT_ERR_REPLAY_CACHE_FULL. Otherwise a free slot
 * is taken, else the expired entry that expired first.
 */
att_err att_replay_use(struct att_replay *r, const char *client_id, const uint8_t *jti,
                       size_t jti_len, int64_t until, int64_t now) ATT_WUR;

/* ---- assertions ------------------------------------------------------------------------- */

/* The claims of an assertion that passed att_assertion_check_claims. */
struct att_assertion_claims {
    size_t jti_len;
    uint8_t jti[ATT_ASSERTION_JTI_MAX];
    int64_t exp;
};

/*
 * Check the claims (the JWS payload, JSON) of an assertion whose signature verified, for
 * client `client_id`; `issuer` is attestd's public URL and `token_endpoint` its token URL.
 * Pure: no I/O, no clock. Errors: ATT_ERR_JSON (not a JSON object, duplicate keys),
 * ATT_ERR_TOKEN_ISSUER (iss), ATT_ERR_TOKEN_SUBJECT (sub), ATT_ERR_TOKEN_AUDIENCE (aud
 * missing or naming neither URL), ATT_ERR_TOKEN_CLAIMS (exp or jti missing, a claim of the
 * wrong type, a time out of range), ATT_ERR_TOKEN_EXPIRED, ATT_ERR_TOKEN_NOT_YET_VALID,
 * ATT_ERR_TOKEN_LIFETIME. *out is written only on success.
 */
att_err att_assertion_check_claims(const uint8_t *payload, size_t len, const char *client_id,
                                   const char *issuer, const char *token_endpoint, int64_t now,
                                   struct att_assertion_claims *out) ATT_WUR;

/*
 * The client an assertion claims to be, unverified: its "sub", else its "iss" (1 to
 * ATT_ASSERTION_CLIENT_ID_MAX characters, no NUL). Only for logs and backoff keys: never
 * trust it. Errors as att_jws_decode_unverified, ATT_ERR_TOO_LARGE over ATT_ASSERTION_MAX,
 * ATT_ERR_JSON for a payload that is not a JSON object, ATT_ERR_TOKEN_SUBJECT when neither
 * claim is a usable string. `out` is written only on success.
 */
att_err att_assertion_claimed_client(const char *assertion, size_t len,
                                     char out[ATT_ASSERTION_CLIENT_ID_MAX + 1]) ATT_WUR;

/*
 * The checks of att_assertion_verify that need neither a key nor the store (see the file
 * comment), so that a malformed or unsigned assertion can be told from one that names a
 * client and needs its key: the first must not count against the client it names (backoff).
 * `client_id` is the client_id request parameter, or NULL. On success `out` is the client
 * id the assertion names (unverified: it proves nothing about the client).
 * Errors as att_assertion_verify for these checks: ATT_ERR_TOO_LARGE, ATT_ERR_JWS_FORMAT,
 * ATT_ERR_ENCODING, ATT_ERR_JSON, ATT_ERR_ALG_NONE, ATT_ERR_ALG_UNSUPPORTED,
 * ATT_ERR_SIGNATURE (an empty signature part), ATT_ERR_JWS_CRIT,
 * ATT_ERR_TOKEN_ISSUER, ATT_ERR_TOKEN_SUBJECT; ATT_ERR_CREDENTIALS for a "sub" longer than
 * ATT_ASSERTION_CLIENT_ID_MAX (no such client). `out` is written only on success.
 */
att_err att_assertion_precheck(const char *assertion, size_t len, const char *client_id,
                               char out[ATT_ASSERTION_CLIENT_ID_MAX + 1]) ATT_WUR;

struct att_assertion_ctx {
    struct att_store *store;
    struct att_replay *replay;  /* single-use jti cache, shared by all workers */
    const char *issuer;         /* attestd's public URL */
    const char *token_endpoint; /* issuer + "/oauth2/token" */
};

/*
 * Authenticate a client by its assertion (see the file comment for the rules). `client_id`
 * is the client_id request parameter, or NULL when absent. On success *out is the principal
 * and the jti is used up; nothing else is written (the caller records the use).
 *
 * Errors, each for one failure: ATT_ERR_TOO_LARGE; ATT_ERR_JWS_FORMAT, ATT_ERR_ENCODING,
 * ATT_ERR_JSON (malformed); ATT_ERR_ALG_NONE, ATT_ERR_ALG_UNSUPPORTED (HMAC and unknown
 * names), ATT_ERR_SIGNATURE (an empty signature part), ATT_ERR_JWS_CRIT;
 * ATT_ERR_TOKEN_ISSUER / ATT_ERR_TOKEN_SUBJECT (iss, sub or client_id disagree);
 * ATT_ERR_CREDENTIALS (no such principal); ATT_ERR_NO_CLIENT_CERT; ATT_ERR_ALG_MISMATCH (alg
 * does not fit the registered key), ATT_ERR_KEY_TYPE (the registered key cannot sign JWS:
 * e.g. RSA < 2048 bits, Ed25519, another curve); ATT_ERR_SIGNATURE; the claim errors of
 * att_assertion_check_claims; ATT_ERR_PRINCIPAL_DISABLED (only after the signature verified);
 * ATT_ERR_TOKEN_REPLAY; ATT_ERR_REPLAY_CLIENT_QUOTA; ATT_ERR_REPLAY_CACHE_FULL; store errors.
 */
att_err att_assertion_verify(const struct att_assertion_ctx *ctx, const char *assertion, size_t len,
                             const char *client_id, int64_t now,
                             struct att_principal_rec *out) ATT_WUR;

#endif
