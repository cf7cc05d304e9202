/*
 * store.h - the durable store interface.
 *
 * A store is a table of operations (struct att_store_ops) with one backend
 * per file: sqlite/ now, postgres/ later. Callers use the att_store_* wrappers
 * and never see SQL. Everything durable goes through here.
 *
 * Secrets never reach a store in clear: callers seal values (src/seal) and
 * the store keeps the opaque blobs.
 *
 * Records are plain structs with fixed-size strings; blobs are att_bufs owned
 * by the record (release with the matching *_cleanup).
 */
#ifndef ATT_STORE_STORE_H
#define ATT_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_PROVIDER_NAME_MAX 63
#define ATT_URL_MAX 511
#define ATT_STORE_BLOB_MAX ((size_t)1 << 20)

struct att_provider_rec {
    char name[ATT_PROVIDER_NAME_MAX + 1]; /* [a-z0-9][a-z0-9-]{0,62} */
    char issuer[ATT_URL_MAX + 1];         /* token "iss", no trailing slash */
    char signing_alg[8];                  /* "RS256" or "ES256" */
    bool is_default;
    int64_t created_at;
};

struct att_key_rec {
    char kid[65];
    char provider[ATT_PROVIDER_NAME_MAX + 1];
    char alg[8];
    struct att_buf cert_der;   /* public certificate, DER */
    struct att_buf sealed_key; /* PKCS#8 DER private key, sealed (table "signing_keys", id = kid) */
    int64_t created_at;
};

struct att_dek_rec {
    char id[33];
    char kek_id[17];
    struct att_buf wrapped;
    bool active;
    int64_t created_at;
};

/* A service principal: a caller of attestd with its own client id (identity issue). */
#define ATT_PRINCIPAL_NAME_MAX 63
struct att_principal_rec {
    char id[37];                           /* client_id, a UUID */
    char name[ATT_PRINCIPAL_NAME_MAX + 1]; /* unique, [a-z0-9][a-z0-9._-]{0,62} */
    bool disabled;
    char cert_sha256[65]; /* hex SHA-256 of a registered client certificate, or "" */
    int64_t created_at;
    int64_t last_used_at;    /* 0 = never */
    char last_used_from[64]; /* peer address of the last successful use */
};

/* A client secret, stored only as a slow hash (src/auth/secret.h). */
struct att_secret_rec {
    char id[33]; /* 32 hex characters */
    char principal_id[37];
    char hash[192]; /* encoded scrypt hash with its parameters and salt */
    int64_t created_at;
    int64_t expires_at; /* 0 = never */
    int64_t revoked_at; /* 0 = active */
};

/* A role assignment: who (principal, external subject or external group) has which role where. */
struct att_role_rec {
    char id[33];
    char subject_kind[16];                    /* "principal", "subject" or "group" */
    char subject[256];                        /* principal id, or the external claim value */
    char issuer[ATT_URL_MAX + 1];             /* external issuer URL; "" for principals */
    char role[32];                            /* "Owner", "AttestationContributor", ... */
    char provider[ATT_PROVIDER_NAME_MAX + 1]; /* a provider name, or "*" for all */
    int64_t created_at;
};

typedef att_err (*att_store_principal_cb)(const struct att_principal_rec *p, void *arg);
typedef att_err (*att_store_secret_cb)(const struct att_secret_rec *s, void *arg);
typedef att_err (*att_store_role_cb)(const struct att_role_rec *r, void *arg);

void att_key_rec_init(struct att_key_rec *k);
void att_key_rec_cleanup(struct att_key_rec *k);
void att_dek_rec_init(struct att_dek_rec *d);
void att_dek_rec_cleanup(struct att_dek_rec *d);

/* Iteration callbacks: return ATT_OK to go on, anything else stops and is returned. */
typedef att_err (*att_store_provider_cb)(const struct att_provider_rec *p, void *arg);
typedef att_err (*att_store_key_cb)(const struct att_key_rec *k, void *arg);
typedef att_err (*att_store_dek_cb)(const struct att_dek_rec *d, void *arg);

struct att_store;

struct att_store_ops {
    const char *name;
    void (*close)(struct att_store *s);
    att_err (*ping)(struct att_store *s);
    att_err (*schema_version)(struct att_store *s, int *out);
    att_err (*begin)(struct att_store *s);
    att_err (*commit)(struct att_store *s);
    att_err (*rollback)(struct att_store *s);

    att_err (*provider_insert)(struct att_store *s, const struct att_provider_rec *p);
    att_err (*provider_get)(struct att_store *s, const char *name, struct att_provider_rec *out);
    att_err (*provider_list)(struct att_store *s, att_store_provider_cb cb, void *arg);
    att_err (*provider_delete)(struct att_store *s, const char *name);

    att_err (*key_insert)(struct att_store *s, const struct att_key_rec *k);
    att_err (*key_list)(struct att_store *s, const char *provider, att_store_key_cb cb, void *arg);

    att_err (*dek_insert)(struct att_store *s, const struct att_dek_rec *d);
    att_err (*dek_get)(struct att_store *s, const char *id, struct att_dek_rec *out);
    att_err (*dek_get_active)(struct att_store *s, struct att_dek_rec *out);
    att_err (*dek_list)(struct att_store *s, att_store_dek_cb cb, void *arg);
    att_err (*dek_rewrap)(struct att_store *s, const char *id, const char *kek_id,
                          const uint8_t *wrapped, size_t len);

    /* Keys of attestd's own access tokens (table auth_keys; same record shape, provider ""). */
    att_err (*auth_key_insert)(struct att_store *s, const struct att_key_rec *k);
    att_err (*auth_key_list)(struct att_store *s, att_store_key_cb cb, void *arg);

    att_err (*principal_insert)(struct att_store *s, const struct att_principal_rec *p);
    att_err (*principal_get)(struct att_store *s, const char *id, struct att_principal_rec *out);
    att_err (*principal_get_by_name)(struct att_store *s, const char *name,
                                     struct att_principal_rec *out);
    att_err (*principal_list)(struct att_store *s, att_store_principal_cb cb, void *arg);
    att_err (*principal_set_disabled)(struct att_store *s, const char *id, bool disabled);
    att_err (*principal_set_cert)(struct att_store *s, const char *id, const char *cert_sha256);
    att_err (*principal_touch)(struct att_store *s, const char *id, int64_t at, const char *from);
    att_err (*principal_delete)(struct att_store *s, const char *id);

    att_err (*secret_insert)(struct att_store *s, const struct att_secret_rec *sec);
    att_err (*secret_list)(struct att_store *s, const char *principal_id, att_store_secret_cb cb,
                           void *arg);
    att_err (*secret_revoke)(struct att_store *s, const char *id, int64_t at);

    att_err (*role_insert)(struct att_store *s, const struct att_role_rec *r);
    att_err (*role_list)(struct att_store *s, att_store_role_cb cb, void *arg);
    att_err (*role_delete)(struct att_store *s, const char *id);
};

/* Every backend's struct starts with this. */
struct att_store {
    const struct att_store_ops *ops;
};

/* Open (creating if needed) the SQLite store at `path` and run pending migrations. */
att_err att_store_open_sqlite(const char *path, struct att_store **out) ATT_WUR;
/* Accepts NULL. */
void att_store_close(struct att_store *s);

att_err att_store_ping(struct att_store *s) ATT_WUR;
att_err att_store_schema_version(struct att_store *s, int *out) ATT_WUR;
/* The newest schema version this binary knows. */
int att_store_schema_latest(void);
att_err att_store_begin(struct att_store *s) ATT_WUR;
att_err att_store_commit(struct att_store *s) ATT_WUR;
att_err att_store_rollback(struct att_store *s);

/* ATT_ERR_EXISTS when the name is taken. */
att_err att_store_provider_insert(struct att_store *s, const struct att_provider_rec *p) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent. */
att_err att_store_provider_get(struct att_store *s, const char *name,
                               struct att_provider_rec *out) ATT_WUR;
att_err att_store_provider_list(struct att_store *s, att_store_provider_cb cb, void *arg) ATT_WUR;
/* Deletes the provider and (ON DELETE CASCADE) its keys. ATT_ERR_NOT_FOUND when absent. */
att_err att_store_provider_delete(struct att_store *s, const char *name) ATT_WUR;

att_err att_store_key_insert(struct att_store *s, const struct att_key_rec *k) ATT_WUR;
/* Keys of one provider, oldest first. */
att_err att_store_key_list(struct att_store *s, const char *provider, att_store_key_cb cb,
                           void *arg) ATT_WUR;

att_err att_store_dek_insert(struct att_store *s, const struct att_dek_rec *d) ATT_WUR;
att_err att_store_dek_get(struct att_store *s, const char *id, struct att_dek_rec *out) ATT_WUR;
/* The newest active data key; ATT_ERR_NOT_FOUND when there is none yet. */
att_err att_store_dek_get_active(struct att_store *s, struct att_dek_rec *out) ATT_WUR;
att_err att_store_dek_list(struct att_store *s, att_store_dek_cb cb, void *arg) ATT_WUR;
att_err att_store_dek_rewrap(struct att_store *s, const char *id, const char *kek_id,
                             const uint8_t *wrapped, size_t len) ATT_WUR;

/* ---- identity (principals, secrets, role assignments, auth keys) ---- */

/* k->provider must be "" (else ATT_ERR_ARG); ATT_ERR_EXISTS when the kid is taken. */
att_err att_store_auth_key_insert(struct att_store *s, const struct att_key_rec *k) ATT_WUR;
/* Oldest first. */
att_err att_store_auth_key_list(struct att_store *s, att_store_key_cb cb, void *arg) ATT_WUR;

/* ATT_ERR_EXISTS when the id or the name is taken. */
att_err att_store_principal_insert(struct att_store *s, const struct att_principal_rec *p) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent. */
att_err att_store_principal_get(struct att_store *s, const char *id,
                                struct att_principal_rec *out) ATT_WUR;
att_err att_store_principal_get_by_name(struct att_store *s, const char *name,
                                        struct att_principal_rec *out) ATT_WUR;
/* Ordered by name. */
att_err att_store_principal_list(struct att_store *s, att_store_principal_cb cb, void *arg) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent (here and for touch and delete). */
att_err att_store_principal_set_disabled(struct att_store *s, const char *id,
                                         bool disabled) ATT_WUR;
/* Register (64 hex) or clear ("") the client certificate that identifies the principal (mTLS). */
att_err att_store_principal_set_cert(struct att_store *s, const char *id,
                                     const char *cert_sha256) ATT_WUR;
/* Record the last successful use (time and peer address; `from` must fit last_used_from). */
att_err att_store_principal_touch(struct att_store *s, const char *id, int64_t at,
                                  const char *from) ATT_WUR;
/* Deletes the principal, its secrets and (by principal id) its role assignments. */
att_err att_store_principal_delete(struct att_store *s, const char *id) ATT_WUR;

/* ATT_ERR_EXISTS when the id is taken; ATT_ERR_STORE_CONSTRAINT when the principal is absent. */
att_err att_store_secret_insert(struct att_store *s, const struct att_secret_rec *sec) ATT_WUR;
/* All secrets of a principal, revoked ones included, oldest first. */
att_err att_store_secret_list(struct att_store *s, const char *principal_id, att_store_secret_cb cb,
                              void *arg) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent or already revoked. */
att_err att_store_secret_revoke(struct att_store *s, const char *id, int64_t at) ATT_WUR;

/* ATT_ERR_EXISTS for an identical assignment (same kind, subject, issuer, role, provider). */
att_err att_store_role_insert(struct att_store *s, const struct att_role_rec *r) ATT_WUR;
/* Oldest first. */
att_err att_store_role_list(struct att_store *s, att_store_role_cb cb, void *arg) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent. */
att_err att_store_role_delete(struct att_store *s, const char *id) ATT_WUR;

#endif
