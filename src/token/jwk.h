/*
 * jwk.h - public keys as JSON Web Keys (RFC 7517, RFC 7518 §6): export of
 * attestd's own keys (from their certificates) and import of public keys
 * published by others (external OpenID providers; see jwks.h for key sets).
 *
 * Not supported on import: "x5c"/"x5u"/"x5t" (ignored: the key members are
 * authoritative, no certificate chain is checked), "jku"-style indirection,
 * symmetric ("oct") and OKP keys, curves other than P-256 and P-384.
 */
#ifndef ATT_TOKEN_JWK_H
#define ATT_TOKEN_JWK_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "token/jws.h"

/*
 * Build the JWK of the public key in certificate `cert_der`:
 * "kid", "kty", "alg", "use":"sig", "x5c": [std base64 DER] and "n"/"e"
 * (RSA) or "crv"/"x"/"y" (EC P-256), base64url without padding.
 * On success *out is a new object owned by the caller.
 */
att_err att_jwk_from_cert(const uint8_t *cert_der, size_t cert_len, const char *kid,
                          enum att_jws_alg alg, json_t **out) ATT_WUR;

/* The RSA public key of `jwk` from its "n" and "e" alone: its key_ops and use say what the key's
 * holder does with it (a vTPM's "sign" or "encrypt"), not what a verifier may. As
 * att_jwk_to_key otherwise; ATT_ERR_KEY_TYPE for a key that is not RSA. */
att_err att_jwk_rsa_key(const json_t *jwk, EVP_PKEY **out) ATT_WUR;

/* {"kid", "kty": "RSA", "n", "e"} of an RSA public key (RFC 7518 §6.3.1); a new object. */
att_err att_jwk_rsa_public(const EVP_PKEY *key, const char *kid, json_t **out) ATT_WUR;

/* Public key of a DER certificate; caller frees. */
att_err att_jwk_cert_pubkey(const uint8_t *cert_der, size_t cert_len, EVP_PKEY **out) ATT_WUR;

/* RSA moduli accepted on import (RFC 7518 §3.3: at least 2048 bits). */
#define ATT_JWK_RSA_MIN_BITS 2048
#define ATT_JWK_RSA_MAX_BITS 8192

/*
 * Import the public key of one JWK (RFC 7517 §4, RFC 7518 §6) from
 * untrusted JSON, and the one algorithm it may verify.
 *
 *   kty "RSA": "n", "e" (RFC 7518 §6.3.1), strict base64url; n of
 *     ATT_JWK_RSA_MIN_BITS..ATT_JWK_RSA_MAX_BITS bits (leading zero octets
 *     are tolerated, not required), e odd, > 1, at most 64 bits.
 *     "alg" RS256 or PS256; RS256 when absent.
 *   kty "EC": "crv" "P-256" or "P-384", "x" and "y" of exactly 32 / 48
 *     octets (RFC 7518 §6.2.1.2), point on the curve. "alg" ES256 / ES384
 *     to match the curve; derived from the curve when absent.
 *   "use" (§4.2), when present, must be "sig"; "key_ops" (§4.3), when
 *     present, an array of distinct strings holding "verify".
 *
 * Errors: `jwk` not an object, a member missing or of the wrong JSON type
 * (ATT_ERR_JSON); bad base64url (ATT_ERR_ENCODING); kty "oct", an unknown
 * kty or crv, key material that is not a usable key (size, exponent,
 * coordinate length, point not on the curve) or an "alg" that does not fit
 * the key (ATT_ERR_KEY_TYPE); "alg" not on the allow-list, HMAC included
 * (ATT_ERR_ALG_UNSUPPORTED); "alg":"none" (ATT_ERR_ALG_NONE); any private
 * member "d", "p", "q", "dp", "dq", "qi", "oth" or "k" (ATT_ERR_VALIDATE: a
 * published key must not carry its private part); "use" other than "sig" or
 * "key_ops" without "verify" (ATT_ERR_VALIDATE).
 *
 * On success *key is a new public key owned by the caller, *alg its pinned
 * algorithm; neither is written on failure. Other members ("kid", "x5c",
 * ...) are not looked at.
 */
att_err att_jwk_to_key(const json_t *jwk, EVP_PKEY **key, enum att_jws_alg *alg) ATT_WUR;

/* ATT_ERR_VALIDATE when `jwk` (an object) holds a private-key member, else ATT_OK. */
att_err att_jwk_check_public(const json_t *jwk) ATT_WUR;

#endif
