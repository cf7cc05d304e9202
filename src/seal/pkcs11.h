/*
 * pkcs11.h - attestd's key-encryption key as a secret key in a PKCS#11 token (an HSM, a
 * cloud KMS's PKCS#11 library, SoftHSM), named by an RFC 7512 URI and loaded through p11-kit
 * (docs/operations.md "Encryption at rest").
 *
 * The key is an AES-256 key that never leaves the token (CKA_SENSITIVE, not CKA_EXTRACTABLE):
 * data keys are wrapped and unwrapped by AES-256-GCM inside the token, in the same layout as
 * with a key file (src/seal/seal.c), so a KEK can be rotated between a file and a token.
 *
 * URI: pkcs11:token=LABEL;object=KEY-LABEL[;id=%..]?module-path=/path/lib.so&pin-source=FILE
 * (module-name=NAME instead of module-path uses p11-kit's registered modules; pin-value=PIN
 * is accepted but puts the PIN in the configuration). The PIN file must be private to the
 * user, like a key file.
 *
 * A handle is reference counted (copies of a struct att_kek share it) and serialises its
 * operations (PKCS#11 sessions are not for concurrent use).
 */
#ifndef ATT_SEAL_PKCS11_H
#define ATT_SEAL_PKCS11_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#include <openssl/evp.h>
#include <stdbool.h>

#define ATT_P11_URI_MAX 1024
#define ATT_P11_ID_LEN 16 /* CKA_ID of the signing key pairs we make: random */

struct att_p11;

enum att_p11_mode {
    ATT_P11_KEK,     /* find the one secret key the URI names */
    ATT_P11_NEW_KEK, /* make it (refused when one matches) */
    ATT_P11_SESSION, /* only the token: for signing key pairs */
};

/*
 * Load the module the URI names, open a session on the first token that matches and log in
 * with the URI's PIN; then, as `mode` says, find exactly one secret key matching the URI's
 * object attributes, or make that key (AES-256, on the token, sensitive, never extractable;
 * refused when one matches already), or nothing more. Failures write a message naming the
 * step and the PKCS#11 return value into `msg`.
 */
att_err att_p11_open(const char *uri, enum att_p11_mode mode, struct att_p11 **out, char *msg,
                     size_t n) ATT_WUR;
void att_p11_ref(struct att_p11 *p);
/* Drop a reference; the last one logs out and unloads the module. Accepts NULL. */
void att_p11_release(struct att_p11 *p);

/*
 * The key's id (16 hex characters): SHA-256 over a label, the token's serial number and the
 * key's CKA_ID and CKA_LABEL, so the same key in the same token always has the same id.
 */
void att_p11_key_id(const struct att_p11 *p, char id[17]);

/*
 * AES-256-GCM with the token's key: seal appends ciphertext | tag (16) for `len` bytes to
 * `out`; open appends the plaintext of ct | tag, or fails with ATT_ERR_SEAL_AUTH.
 */
att_err att_p11_gcm_seal(struct att_p11 *p, const uint8_t nonce[12], const uint8_t *aad,
                         size_t aad_len, const uint8_t *pt, size_t len,
                         struct att_buf *out) ATT_WUR;
att_err att_p11_gcm_open(struct att_p11 *p, const uint8_t nonce[12], const uint8_t *aad,
                         size_t aad_len, const uint8_t *ct_tag, size_t len,
                         struct att_buf *out) ATT_WUR;

/*
 * Token signing keys (ATT_P11_SESSION handles): a P-256 (`ec`) or RSA-2048 key pair made in
 * the token with CKA_ID `id`, its private half sensitive and never extractable; *pub_out gets
 * the public key. find: the private key's handle and the public key of the pair `id`
 * (ATT_ERR_NOT_FOUND when the token has not got it). sign: ES256 (r | s over SHA-256) or RS256
 * (RSASSA-PKCS1-v1_5 with SHA-256) inside the token, appended to `sig`.
 */
att_err att_p11_keypair_generate(struct att_p11 *p, bool ec, const uint8_t id[ATT_P11_ID_LEN],
                                 EVP_PKEY **pub_out) ATT_WUR;
att_err att_p11_keypair_find(struct att_p11 *p, bool ec, const uint8_t id[ATT_P11_ID_LEN],
                             unsigned long *priv_out, EVP_PKEY **pub_out) ATT_WUR;
att_err att_p11_keypair_destroy(struct att_p11 *p, const uint8_t id[ATT_P11_ID_LEN]) ATT_WUR;
att_err att_p11_sign(struct att_p11 *p, unsigned long priv, bool ec, const void *msg, size_t len,
                     struct att_buf *sig) ATT_WUR;

#endif
