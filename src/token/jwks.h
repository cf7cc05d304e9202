/*
 * jwks.h - JWK Sets (RFC 7517 §5) of external OpenID providers: the
 * "jwks_uri" document, parsed into a small immutable table of public
 * verification keys, each pinned to one algorithm.
 *
 * What this module does not do: fetch, cache or refresh the document (the
 * issuer registry does), check "x5c" chains, or pick a key for a token that
 * names no "kid" (the caller decides; see att_jwks_find).
 */
#ifndef ATT_TOKEN_JWKS_H
#define ATT_TOKEN_JWKS_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "token/jws.h"

/* The most signing keys one set may hold (providers publish a handful). */
#define ATT_JWKS_MAX_KEYS 32
/* The most entries of "keys" looked at, skipped ones included. */
#define ATT_JWKS_MAX_ENTRIES (4 * ATT_JWKS_MAX_KEYS)
/* The largest JWKS document accepted. */
#define ATT_JWKS_MAX_BYTES ((size_t)256 * 1024)
/* The longest "kid" accepted, in bytes. */
#define ATT_JWKS_KID_MAX 127

struct att_jwks_key {
    char kid[ATT_JWKS_KID_MAX + 1]; /* "" when the JWK has no "kid" */
    enum att_jws_alg alg;           /* its "alg", else the key's default (att_jwk_to_key) */
    bool alg_named;                 /* the JWK has an "alg": it verifies that one only */
    EVP_PKEY *key;                  /* public key, owned by the set */
};

/* Immutable once parsed; safe to share between threads for reading. */
struct att_jwks {
    size_t n;
    struct att_jwks_key keys[]; /* n entries, in document order */
};

/*
 * Parse a JWK Set from untrusted JSON text: an object with a "keys" array
 * (RFC 7517 §5.1), other members ignored. Duplicate object names anywhere
 * are refused. For each entry of "keys":
 *   - not an object, or a "kid" that is not a string: ATT_ERR_JSON;
 *   - a private-key member ("d", "k", ...): ATT_ERR_VALIDATE, even on an
 *     entry that would be skipped (the publisher has leaked a secret);
 *   - "use":"enc" or "x509-svid" (SPIFFE bundles), a "kty" other than
 *     "RSA"/"EC", or an "EC" "crv" we do
 *     not support: skipped;
 *   - otherwise imported with att_jwk_to_key, whose errors fail the set.
 * A kid longer than ATT_JWKS_KID_MAX or with a NUL byte: ATT_ERR_TOO_LARGE /
 * ATT_ERR_VALIDATE. Two kept keys with the same kid (two without a kid
 * included): ATT_ERR_VALIDATE (RFC 7517 §4.5: kids in a set "SHOULD" be
 * distinct; we rely on it to choose the key).
 * More than `max_keys` kept keys (1..ATT_JWKS_MAX_KEYS, ATT_ERR_ARG
 * otherwise), more than ATT_JWKS_MAX_ENTRIES entries or a text over
 * ATT_JWKS_MAX_BYTES: ATT_ERR_TOO_LARGE. Malformed JSON or a missing /
 * wrong-typed "keys": ATT_ERR_JSON. A set with no usable key is valid (n 0).
 * On success *out is a new set owned by the caller (att_jwks_free).
 */
att_err att_jwks_parse(const char *text, size_t len, size_t max_keys,
                       struct att_jwks **out) ATT_WUR;

/* Free the set and its keys; accepts NULL. */
void att_jwks_free(struct att_jwks *jwks);

/*
 * The key with exactly this kid ("" finds the key without a kid), or NULL.
 * Borrowed: valid while the set lives; EVP_PKEY_up_ref to keep it longer.
 */
const struct att_jwks_key *att_jwks_find(const struct att_jwks *jwks, const char *kid);

/*
 * The algorithm to verify a token whose header names `requested` with key `k`: `k->alg`,
 * except that an RSA key whose JWK names no "alg" verifies PS256 as well as RS256 (RFC 7518
 * §3.3 and §3.5 use the same RSA keys), so such a token's header chooses between the two
 * paddings; a JWK that names its "alg" is held to it (RFC 8725 §3.1). A `requested` that
 * does not fit gets `k->alg`, and att_jws_verify refuses the token (ATT_ERR_ALG_MISMATCH).
 */
enum att_jws_alg att_jwks_key_alg(const struct att_jwks_key *k, enum att_jws_alg requested);

#endif
