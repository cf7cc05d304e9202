/*
 * scrypt.h - the scrypt password-based key derivation (RFC 7914) through OpenSSL's EVP_KDF.
 *
 * Used for client-secret hashes (src/auth/secret.c) and backup passphrases
 * (src/backup/archive.c). Callers bound the cost parameters of anything they read from outside
 * before calling; this function only refuses what OpenSSL cannot do.
 */
#ifndef ATT_CRYPTO_SCRYPT_H
#define ATT_CRYPTO_SCRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Longest secret accepted (ATT_ERR_TOO_LARGE beyond). */
#define ATT_SCRYPT_SECRET_MAX 1024

/*
 * Derive out_len bytes from `secret` and `salt` with N = 2^ln, r and p. The secret is copied
 * into a buffer wiped on return. ATT_ERR_CRYPTO when the KDF fails (including memory).
 */
att_err att_scrypt(const void *secret, size_t len, const uint8_t *salt, size_t salt_len,
                   unsigned ln, uint32_t r, uint32_t p, uint8_t *out, size_t out_len) ATT_WUR;

#endif
