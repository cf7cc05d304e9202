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

#define ATT_P11_URI_MAX 1024

struct att_p11;

/*
 * Load the module the URI names, open a session on the first token that matches, log in with
 * the URI's PIN and, unless `generate`, find exactly one secret key matching the URI's object
 * attributes. With `generate`, make that key (AES-256, on the token, sensitive, never
 * extractable) and refuse when one matching exists already. Failures write a message naming
 * the step and the PKCS#11 return value into `msg`.
 */
att_err att_p11_open(const char *uri, bool generate, struct att_p11 **out, char *msg,
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

#endif
