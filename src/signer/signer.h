/*
 * signer.h - the only holder of private signing keys.
 *
 * Everything that signs asks the signer by key id; nothing else gets an
 * EVP_PKEY with a private part. This small interface is the seam at which
 * keys can later move to a separate process (keyd, docs/internals/style.md §1) or a PKCS#11
 * token: only signer.c changes.
 *
 * Each key has exactly one algorithm, pinned when it is added.
 * The signer is safe to use from several threads once loaded: keys are
 * added before the server starts and never removed while it runs
 * (att_signer_add takes a lock; signing reads an immutable table).
 */
#ifndef ATT_SIGNER_SIGNER_H
#define ATT_SIGNER_SIGNER_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "seal/keyring.h"
#include "token/jws.h"

#define ATT_SIGNER_MAX_KEYS 1024
#define ATT_KID_MAX 64

struct att_signer;

att_err att_signer_new(struct att_signer **out) ATT_WUR;
/* Frees every key (OpenSSL wipes private key material). Accepts NULL. */
void att_signer_free(struct att_signer *s);

struct att_keyring;

/* kid = base64url(SHA-256(certificate DER)): opaque to clients, as MAA's
 * (docs/reference/maa-tokens.md §2.1). */
att_err att_signer_cert_kid(const uint8_t *cert_der, size_t cert_len,
                            char kid[ATT_KID_MAX + 1]) ATT_WUR;

/*
 * What the service uses: create a signing key for `alg` (as att_signer_create_key) and seal it
 * at once under `kr` as record `kid` of `table` (the seal's additional data names both), so
 * that the key is in clear only inside this module. When the keyring has a signing token
 * (att_keyring_signing_token), the key pair is made in the token instead, never leaves it, and
 * the record seals a reference to it; att_signer_add_sealed then signs through the token. Appends
 * the certificate to `cert_der` and the sealed key to `sealed`; `kid` is the certificate's.
 */
att_err att_signer_create_sealed(enum att_jws_alg alg, const char *subject_cn, int64_t not_before,
                                 int days, struct att_keyring *kr, const char *table,
                                 char kid[ATT_KID_MAX + 1], struct att_buf *cert_der,
                                 struct att_buf *sealed) ATT_WUR;

/*
 * Open a key sealed by att_signer_create_sealed and add it (as att_signer_add_pkcs8), after
 * checking that `kid` is the certificate's: ATT_ERR_KEY_MISMATCH for a certificate that is not
 * the key's, the keyring's error for a sealed key that does not open as this record.
 */
att_err att_signer_add_sealed(struct att_signer *s, struct att_keyring *kr, const char *table,
                              const char *kid, enum att_jws_alg alg, const uint8_t *sealed,
                              size_t sealed_len, const uint8_t *cert_der, size_t cert_len) ATT_WUR;

/*
 * Destroy what a sealed key names outside the store: with signing_keys_pkcs11, the key pair in
 * the token (a software key goes with its record). For retired keys (src/provider/upkeep.c).
 */
att_err att_signer_destroy_sealed(struct att_keyring *kr, const char *table, const char *kid,
                                  const uint8_t *sealed, size_t sealed_len) ATT_WUR;

/*
 * Create a signing key for `alg` (RSA-2048 for RS256, P-256 for ES256) and its self-signed
 * certificate (subject CN = `subject_cn`, valid from `not_before` for `days` days). The key
 * leaves this module as PKCS#8 DER in `pkcs8`, which must be a secret buffer. For tests and
 * the sealed functions above; the service seals at once (att_signer_create_sealed).
 */
att_err att_signer_create_key(enum att_jws_alg alg, const char *subject_cn, int64_t not_before,
                              int days, struct att_buf *pkcs8, struct att_buf *cert_der) ATT_WUR;

/*
 * Add a key from PKCS#8 DER together with the certificate that publishes it. Refused with
 * ATT_ERR_KEY_MISMATCH when the certificate's public key is not this private key (a
 * certificate swapped in the store must never be published for a key it does not match),
 * ATT_ERR_KEY_TYPE when the key does not fit `alg`.
 */
att_err att_signer_add_pkcs8(struct att_signer *s, const char *kid, enum att_jws_alg alg,
                             const uint8_t *pkcs8, size_t pkcs8_len, const uint8_t *cert_der,
                             size_t cert_len) ATT_WUR;

/*
 * Generate a fresh key for `alg`: RSA-2048 (e=65537) for RS256, P-256 for
 * ES256. The caller owns the result and must hand it to att_signer_add or
 * free it. For tests and benchmarks; the service uses att_signer_create_key.
 */
att_err att_signer_generate(enum att_jws_alg alg, EVP_PKEY **out) ATT_WUR;

/* Add `key` under `kid` with its pinned alg. Takes ownership of key (also on failure). */
att_err att_signer_add(struct att_signer *s, const char *kid, enum att_jws_alg alg,
                       EVP_PKEY *key) ATT_WUR;

/* The pinned algorithm of `kid`; ATT_ERR_NOT_FOUND if unknown. */
att_err att_signer_alg(struct att_signer *s, const char *kid, enum att_jws_alg *out) ATT_WUR;

/*
 * Sign `msg` with `kid`. The signature, in JOSE form (RSASSA-PKCS1-v1_5
 * bytes for RS256; 64-byte R||S for ES256), is appended to `sig`.
 */
att_err att_signer_sign(struct att_signer *s, const char *kid, const void *msg, size_t len,
                        struct att_buf *sig) ATT_WUR;
/*
 * The same, for a caller that need not wait: `done` gets the signature exactly once - at once
 * on this thread for a key held here or in a PKCS#11 token, later on the key process's
 * pipeline thread for a key in the key process (src/keyd/client.c; `done` must then not sign).
 * `kid` and `msg` are copied.
 */
void att_signer_sign_async(struct att_signer *s, const char *kid, const void *msg, size_t len,
                           att_signed_cb done, void *arg);

#endif
