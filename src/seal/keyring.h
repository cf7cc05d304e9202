/*
 * keyring.h - data keys in use: the KEK plus the unwrapped DEKs, cached.
 *
 * The keyring seals new values under the active DEK (creating and storing
 * one, wrapped, on first use) and opens values under whichever DEK their
 * blob names, fetching and unwrapping it from the store once.
 * Thread-safe (one mutex; sealing is not on the attestation hot path). The
 * keys are kept in memory that core dumps leave out (core/mem.h).
 */
#ifndef ATT_SEAL_KEYRING_H
#define ATT_SEAL_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "seal/seal.h"

struct att_store;
struct att_keyring;

/* The keyring copies `kek` (the caller should wipe its copy). */
att_err att_keyring_new(struct att_store *store, const struct att_kek *kek,
                        struct att_keyring **out) ATT_WUR;
/* Wipes every key. Accepts NULL. */
void att_keyring_free(struct att_keyring *kr);

/*
 * A keyring that holds no key (the network process with a key process, src/keyd): sealing
 * and opening go to `ops` for table policy_versions only (ATT_ERR_STATE for any other table),
 * and att_signer_add_sealed registers keys that `ops->sign` signs with.
 */
struct att_buf;
/* A signature given later (att_signer_sign_async): `sig` is NULL when `rc` is an error. */
typedef void (*att_signed_cb)(void *arg, att_err rc, const uint8_t *sig, size_t len);
struct att_keyring_remote {
    att_err (*seal)(void *arg, const char *record_id, const void *pt, size_t len,
                    struct att_buf *out);
    att_err (*open)(void *arg, const char *record_id, const void *blob, size_t len,
                    struct att_buf *out);
    att_err (*sign)(void *arg, const char *kid, const void *msg, size_t len, struct att_buf *sig);
    void (*sign_async)(void *arg, const char *kid, const void *msg, size_t len, att_signed_cb done,
                       void *done_arg);
    void *arg;
};
att_err att_keyring_new_remote(const struct att_keyring_remote *ops,
                               struct att_keyring **out) ATT_WUR;
/* The remote operations, or NULL for a keyring that holds its keys. */
const struct att_keyring_remote *att_keyring_remote_ops(const struct att_keyring *kr);

/*
 * The PKCS#11 token in which new token signing keys are made and looked up (signing_keys_pkcs11;
 * src/signer/signer.c), or NULL: keys are then software keys sealed under the data keys. The
 * keyring takes a reference. Set before the keyring is shared.
 */
struct att_p11;
void att_keyring_set_signing_token(struct att_keyring *kr, struct att_p11 *token);
/* Open the token `uri` names (a session, no key) and set it; `msg` says why when it fails. */
att_err att_keyring_use_signing_token(struct att_keyring *kr, const char *uri, char *msg,
                                      size_t n) ATT_WUR;
struct att_p11 *att_keyring_signing_token(const struct att_keyring *kr);

att_err att_keyring_seal(struct att_keyring *kr, const char *table, const char *record_id,
                         const void *pt, size_t len, struct att_buf *out) ATT_WUR;
/* `out` should be initialised with att_buf_init_secret. */
att_err att_keyring_open(struct att_keyring *kr, const char *table, const char *record_id,
                         const uint8_t *blob, size_t len, struct att_buf *out) ATT_WUR;

/*
 * Rewrap every data key in `store` from `old_kek` to `new_kek` in one
 * transaction. A data key not wrapped by old_kek stops the rotation with
 * ATT_ERR_KEK_MISMATCH and nothing changes. *count gets the number rewrapped.
 */
att_err att_keyring_rotate_kek(struct att_store *store, const struct att_kek *old_kek,
                               const struct att_kek *new_kek, size_t *count) ATT_WUR;

#endif
