/*
 * seal.h - envelope encryption at rest.
 *
 * Three layers (docs/internals/sealing.md):
 *   KEK  key-encryption key, 32 bytes, from a key file (refused when group-
 *        or world-accessible) or an environment variable. Never stored.
 *   DEK  data keys, 32 random bytes each, stored only wrapped by the KEK
 *        (AES-256-GCM, AAD = "attestd/dek/v1" || dek id), with the id of the
 *        KEK that wrapped them.
 *   record  every sensitive column is sealed under the active DEK with
 *        AES-256-GCM and AAD = table name and record id, so a sealed value
 *        copied into another row or table fails to open (ATT_ERR_SEAL_AUTH).
 *
 * Sealed record layout (all fields fixed or length-prefixed, see seal.c):
 *   u8 version (1) | u8 dek_id_len | dek_id | 12-byte nonce | ciphertext | 16-byte tag
 */
#ifndef ATT_SEAL_SEAL_H
#define ATT_SEAL_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_KEK_LEN 32
#define ATT_DEK_LEN 32
#define ATT_KEK_ID_LEN 16 /* hex characters */
#define ATT_DEK_ID_LEN 32 /* hex characters */

struct att_p11;

struct att_kek {
    uint8_t key[ATT_KEK_LEN];    /* unused (zeros) when the key is in a token */
    char id[ATT_KEK_ID_LEN + 1]; /* hex of SHA-256("attestd/kek-id/v1" || key)[0..8) */
    /* A PKCS#11 token holding the key instead (src/seal/pkcs11.h; its own id), or NULL.
     * Copies of the struct share it: att_kek_copy takes a reference, att_kek_wipe drops one. */
    struct att_p11 *token;
};

/*
 * The loaders below zero *out first, so that att_kek_wipe is safe after any of them fails.
 *
 * Load a KEK from a file holding 64 hex characters (an optional trailing
 * newline is allowed). Refuses a file owned by another user than the
 * effective uid or whose mode grants any group or other permission
 * (ATT_ERR_PERM), a missing, unreadable or non-regular file (ATT_ERR_IO) and
 * any other content (ATT_ERR_ENCODING).
 */
att_err att_kek_load_file(const char *path, struct att_kek *out) ATT_WUR;
/*
 * Load a KEK from environment variable `name` (64 hex characters). The
 * variable is then wiped and removed from the environment, whether or not
 * its value was valid, so the key does not outlive startup there or reach
 * child processes: a second call finds nothing (ATT_ERR_NOT_FOUND). Not
 * thread-safe (getenv/unsetenv): call before starting threads.
 */
att_err att_kek_load_env(const char *name, struct att_kek *out) ATT_WUR;
/*
 * Read up to `cap` bytes of a private file (a key or passphrase file) into `buf`, *len bytes
 * read: the same checks as att_kek_load_file (ATT_ERR_PERM, ATT_ERR_IO). A file longer than
 * `cap` gives exactly `cap` bytes: ask for one more than the longest valid content.
 */
att_err att_secret_file_read(const char *path, char *buf, size_t cap, size_t *len) ATT_WUR;
/*
 * Use the AES-256 key in the PKCS#11 token that `uri` names as the KEK (src/seal/pkcs11.h);
 * with `generate`, make that key in the token first (refused when one matches already).
 * Failures write what went wrong into `msg`.
 */
att_err att_kek_load_pkcs11(const char *uri, bool generate, struct att_kek *out, char *msg,
                            size_t n) ATT_WUR;
/* *dst = *src, sharing src's token (a reference more). */
void att_kek_copy(struct att_kek *dst, const struct att_kek *src);
/* Wipe environment variable `name` without reading it as a key, and remove it (not
 * thread-safe, like att_kek_load_env). */
void att_kek_forget_env(const char *name);
/* Create a new random KEK file with mode 0600; fails if the file exists. */
att_err att_kek_generate_file(const char *path) ATT_WUR;
/* Wipe the key and drop the token reference. Accepts NULL. */
void att_kek_wipe(struct att_kek *k);

/* Wrap / unwrap a data key under a KEK. */
att_err att_dek_wrap(const struct att_kek *kek, const char *dek_id, const uint8_t dek[ATT_DEK_LEN],
                     struct att_buf *out) ATT_WUR;
att_err att_dek_unwrap(const struct att_kek *kek, const char *dek_id, const uint8_t *wrapped,
                       size_t len, uint8_t dek[ATT_DEK_LEN]) ATT_WUR;

/* Seal / open one record value. `out` of att_open should be a secret buffer. */
att_err att_seal(const uint8_t dek[ATT_DEK_LEN], const char *dek_id, const char *table,
                 const char *record_id, const void *pt, size_t len, struct att_buf *out) ATT_WUR;
/* The DEK id named in a sealed blob (borrowed into out, NUL-terminated). */
att_err att_seal_dek_id(const uint8_t *blob, size_t len, char out[ATT_DEK_ID_LEN + 1]) ATT_WUR;
att_err att_open(const uint8_t dek[ATT_DEK_LEN], const char *table, const char *record_id,
                 const uint8_t *blob, size_t len, struct att_buf *out) ATT_WUR;

/*
 * A whole message under a 32-byte key with AES-256-GCM and a random nonce, bound to `aad`
 * (at most 4 KiB): out gets nonce (12) | ciphertext | tag (16). For backups
 * (docs/internals/backup.md). att_aead_open appends the plaintext to `out` (a secret
 * buffer) only when the tag is right: ATT_ERR_SEAL_AUTH otherwise (also for a blob too short
 * to hold nonce and tag).
 */
#define ATT_AEAD_KEY_LEN 32
#define ATT_AEAD_OVERHEAD 28
att_err att_aead_seal(const uint8_t key[ATT_AEAD_KEY_LEN], const void *aad, size_t aad_len,
                      const uint8_t *pt, size_t len, struct att_buf *out) ATT_WUR;
att_err att_aead_open(const uint8_t key[ATT_AEAD_KEY_LEN], const void *aad, size_t aad_len,
                      const uint8_t *blob, size_t len, struct att_buf *out) ATT_WUR;

#endif
