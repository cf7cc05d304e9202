/*
 * jwk.h - public keys as JSON Web Keys (RFC 7517, RFC 7518 §6).
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

/* Public key of a DER certificate; caller frees. */
att_err att_jwk_cert_pubkey(const uint8_t *cert_der, size_t cert_len, EVP_PKEY **out) ATT_WUR;

#endif
