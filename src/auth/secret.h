/*
 * secret.h - client secrets of service principals.
 *
 * A secret is 32 random bytes shown once as base64url (43 characters). It is stored only as
 * a slow hash: scrypt (RFC 7914) through OpenSSL's EVP_KDF, N = 2^15, r = 8, p = 1, a 16-byte
 * random salt and a 32-byte output, encoded in the PHC string format:
 *   $scrypt$ln=15,r=8,p=1$<base64 salt, no padding>$<base64 hash, no padding>
 * Verification recomputes with the stored parameters (bounded, so a tampered row cannot make
 * a check take minutes) and compares in constant time.
 */
#ifndef ATT_AUTH_SECRET_H
#define ATT_AUTH_SECRET_H

#include <stddef.h>

#include "core/err.h"

#define ATT_SECRET_TEXT_LEN 43
#define ATT_SECRET_HASH_MAX 191

/* A new random secret, NUL-terminated. Wipe it after showing it. */
att_err att_secret_generate(char out[ATT_SECRET_TEXT_LEN + 1]) ATT_WUR;
/* Hash `secret` into `out` (at least ATT_SECRET_HASH_MAX + 1 bytes). */
att_err att_secret_hash(const char *secret, size_t len, char *out, size_t out_len) ATT_WUR;
/*
 * ATT_OK when `secret` matches `encoded`; ATT_ERR_CREDENTIALS when it does not;
 * ATT_ERR_PARSE / ATT_ERR_VALIDATE for a malformed or out-of-bounds stored hash.
 */
att_err att_secret_verify(const char *secret, size_t len, const char *encoded) ATT_WUR;
/* Spend the time of one verification without a stored hash (unknown client ids). */
void att_secret_burn(const char *secret, size_t len);

#endif
