/*
 * principal.h - service principals: callers with a client id and rotated secrets.
 *
 * MAA's baseline asks for dedicated service principals with least privilege and rotated
 * credentials, and for their use to be monitored. A principal has up to two active secrets
 * (so a secret can be replaced without downtime), each with an expiry; the last successful
 * use (time, peer address) is recorded.
 */
#ifndef ATT_AUTH_PRINCIPAL_H
#define ATT_AUTH_PRINCIPAL_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/secret.h"
#include "core/err.h"
#include "store/store.h"

#define ATT_PRINCIPAL_MAX_ACTIVE_SECRETS 2
#define ATT_SECRET_DEFAULT_LIFETIME (180 * 86400)

/* A secret as shown once to the operator. Wipe with att_new_secret_wipe. */
struct att_new_secret {
    char id[33];
    char secret[ATT_SECRET_TEXT_LEN + 1];
    int64_t expires_at; /* 0 = never */
};

void att_new_secret_wipe(struct att_new_secret *s);

/* Names: 1-63 of [a-z0-9._-], starting with a letter or digit. */
att_err att_principal_name_check(const char *name) ATT_WUR;

/*
 * Create principal `name` (client id = a new UUID) with one secret valid for `lifetime`
 * seconds (0 = no expiry). ATT_ERR_EXISTS when the name is taken.
 */
att_err att_principal_create(struct att_store *store, const char *name, int64_t now,
                             int64_t lifetime, struct att_principal_rec *out,
                             struct att_new_secret *secret) ATT_WUR;

/* Add a secret; ATT_ERR_STATE when two unexpired, unrevoked secrets exist already. */
att_err att_principal_secret_add(struct att_store *store, const char *principal_id, int64_t now,
                                 int64_t lifetime, struct att_new_secret *out) ATT_WUR;

/* Revoke one secret of this principal; ATT_ERR_NOT_FOUND if it has no such active secret. */
att_err att_principal_secret_revoke(struct att_store *store, const char *principal_id,
                                    const char *secret_id, int64_t now) ATT_WUR;

/*
 * Register the client certificate `der` (one DER X.509 certificate, exactly `len` bytes, at
 * most ATT_PRINCIPAL_CERT_MAX) to the principal: its SHA-256 identifies the principal over
 * mutual TLS and its public key verifies the principal's private_key_jwt assertions. `der`
 * NULL with `len` 0 clears both. Errors: ATT_ERR_TOO_LARGE, ATT_ERR_PARSE (not a
 * certificate), ATT_ERR_TRAILING (bytes after it), ATT_ERR_NOT_FOUND (no such principal).
 * The certificate's dates and issuer are not checked here (see assertion.h).
 */
att_err att_principal_set_cert(struct att_store *store, const char *principal_id,
                               const uint8_t *der, size_t len) ATT_WUR;

/*
 * Record a successful authentication of `p` (time, peer address cut to fit
 * last_used_from) in the store and in *p. Every client authentication method calls it.
 */
att_err att_principal_record_use(struct att_store *store, struct att_principal_rec *p, int64_t now,
                                 const char *peer) ATT_WUR;

/*
 * Is `id` a client id attestd could have issued: a UUID in lowercase hex, 8-4-4-4-12 (RFC 9562
 * §4)? Every principal's id is one; anything else names no principal.
 */
bool att_principal_id_well_formed(const char *id);

/*
 * Check client credentials. ATT_OK fills *out and records the use (now, peer). Failures:
 * ATT_ERR_CREDENTIALS (unknown client or no secret matches; for a well-formed client id at
 * least as many scrypt runs as a principal with two active secrets costs are spent either
 * way, for an id that is not well-formed none), ATT_ERR_PRINCIPAL_DISABLED,
 * ATT_ERR_SECRET_EXPIRED (only an expired secret matched).
 */
att_err att_principal_authenticate(struct att_store *store, const char *client_id,
                                   const char *secret, size_t secret_len, int64_t now,
                                   const char *peer, struct att_principal_rec *out) ATT_WUR;

#endif
