/*
 * ecdsa.h - the raw-format crypto the evidence verifiers need: ECDSA signatures given as
 * fixed-size big-endian r || s (Intel DCAP quotes and collateral, JWS ES256/ES384), public
 * keys given as raw x || y, and SHA-256.
 */
#ifndef ATT_CRYPTO_ECDSA_H
#define ATT_CRYPTO_ECDSA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "core/err.h"

/* Largest DER ECDSA-Sig-Value for coordinates of up to 66 bytes (P-521). */
#define ATT_ECDSA_DER_MAX 144

/*
 * DER-encode a raw r || s signature of 2 * coord bytes (coord <= 66) as the ECDSA-Sig-Value
 * SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3) into `der`. ATT_ERR_SIGNATURE when
 * `raw_len` is not 2 * coord.
 */
att_err att_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, size_t coord,
                             uint8_t der[ATT_ECDSA_DER_MAX], size_t *der_len) ATT_WUR;

/*
 * Verify a raw r || s ECDSA signature by `key` over `data` with SHA-256 (P-256) or SHA-384
 * (P-384), chosen by the key's size. ATT_ERR_SIGNATURE when it does not verify.
 */
att_err att_ecdsa_verify_raw(EVP_PKEY *key, const uint8_t *sig, size_t sig_len, const void *data,
                             size_t len) ATT_WUR;

/* A P-256 public key from raw x || y (64 bytes). ATT_ERR_KEY_TYPE when not on the curve. */
att_err att_p256_key_from_xy(const uint8_t xy[64], EVP_PKEY **out) ATT_WUR;

/* A public key of OpenSSL type `type` ("RSA", "EC") from the parameters in `bld`.
 * ATT_ERR_KEY_TYPE when OpenSSL refuses them (for EC, a point not on the curve). */
att_err att_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out) ATT_WUR;
/* An RSA public key (n, e); the caller has checked sizes. */
att_err att_rsa_public_key(const BIGNUM *n, const BIGNUM *e, EVP_PKEY **out) ATT_WUR;

att_err att_sha256(const void *data, size_t len, uint8_t out[32]) ATT_WUR;
/* SHA-256, fetched once (for a digest in parts: EVP_DigestInit_ex(ctx, att_sha256_md(), NULL));
 * NULL if the provider has none. */
const EVP_MD *att_sha256_md(void);

#endif
