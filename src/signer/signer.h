/*
 * signer.h - the only holder of private signing keys.
 *
 * Everything that signs asks the signer by key id; nothing else gets an
 * EVP_PKEY with a private part. This small interface is the seam at which
 * keys can later move to a separate process (keyd, STYLE.md §1) or a PKCS#11
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
#include "token/jws.h"

#define ATT_SIGNER_MAX_KEYS 1024
#define ATT_KID_MAX 64

struct att_signer;

att_err att_signer_new(struct att_signer **out) ATT_WUR;
/* Frees every key (OpenSSL wipes private key material). Accepts NULL. */
void att_signer_free(struct att_signer *s);

/*
 * Generate a fresh key for `alg`: RSA-2048 (e=65537) for RS256, P-256 for
 * ES256. The caller owns the result and must hand it to att_signer_add or
 * free it.
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

#endif
