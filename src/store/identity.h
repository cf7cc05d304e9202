/*
 * identity.h - who may call attestd, in the store: service principals, their client secrets,
 * role assignments and the keys of attestd's own access tokens: records and operations.
 *
 * Part of the store interface (store.h, which includes this header). What the records mean -
 * roles, permissions, who counts as a usable Owner - is src/auth's (rbac.h, principal.h); the
 * store answers targeted questions about rows and nothing more.
 */
#ifndef ATT_STORE_IDENTITY_H
#define ATT_STORE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/providers.h"

struct att_store;

/* A service principal: a caller of attestd with its own client id (identity issue). */
#define ATT_PRINCIPAL_NAME_MAX 63
/*
 * Largest registered client certificate (DER). The certificate is kept in a fixed array, not
 * an att_buf, so the record stays a plain struct that callers copy and declare on the stack
 * without init/cleanup; 8 KiB holds any RSA-8192 or EC certificate with ordinary extensions.
 */
#define ATT_PRINCIPAL_CERT_MAX 8192
struct att_principal_rec {
    char id[37];                           /* client_id, a UUID */
    char name[ATT_PRINCIPAL_NAME_MAX + 1]; /* unique, [a-z0-9][a-z0-9._-]{0,62} */
    bool disabled;
    char cert_sha256[65]; /* hex SHA-256 of a registered client certificate, or "" */
    /*
     * The registered certificate itself (migration 3): its public key verifies the client's
     * private_key_jwt assertions. cert_der_len 0 = none (also for certificates registered
     * before migration 3, which carry only cert_sha256 until registered again).
     */
    size_t cert_der_len;
    uint8_t cert_der[ATT_PRINCIPAL_CERT_MAX];
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
#define ATT_ROLE_SUBJECT_MAX 255
struct att_role_rec {
    char id[33];
    char subject_kind[16];                    /* "principal", "subject" or "group" */
    char subject[ATT_ROLE_SUBJECT_MAX + 1];   /* principal id, or the external claim value */
    char issuer[ATT_URL_MAX + 1];             /* external issuer URL; "" for principals */
    char role[32];                            /* "Owner", "AttestationContributor", ... */
    char provider[ATT_PROVIDER_NAME_MAX + 1]; /* a provider name, or "*" for all */
    int64_t created_at;
};

/*
 * Whose role assignments att_store_role_list_for answers: one caller, as authentication found
 * it. A principal is named by its id alone (its assignments' issuer is not compared); an
 * external caller by its subject and issuer, and by each of its groups on that issuer.
 */
#define ATT_STORE_ROLE_GROUPS_MAX 32
struct att_role_query {
    const char *kind;    /* "principal" or "subject" */
    const char *subject; /* the principal id, or the external subject claim */
    const char *issuer;  /* the external issuer URL; ignored (may be NULL) for principals */
    /* The external caller's groups (non-empty strings); none for principals. */
    const char *groups[ATT_STORE_ROLE_GROUPS_MAX];
    size_t n_groups;
};

typedef att_err (*att_store_principal_cb)(const struct att_principal_rec *p, void *arg);
typedef att_err (*att_store_secret_cb)(const struct att_secret_rec *s, void *arg);
typedef att_err (*att_store_role_cb)(const struct att_role_rec *r, void *arg);

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
/*
 * The principal whose registered client certificate has SHA-256 `cert_sha256` (64 lower-case
 * hex digits, else ATT_ERR_ARG), found through an index (migration 13): mutual TLS. Should
 * several principals hold the certificate, the first by name. ATT_ERR_NOT_FOUND when none;
 * `out` is written only on success. Disabled principals are answered too: the caller decides.
 */
att_err att_store_principal_get_by_cert(struct att_store *s, const char *cert_sha256,
                                        struct att_principal_rec *out) ATT_WUR;
/* Ordered by name. */
att_err att_store_principal_list(struct att_store *s, att_store_principal_cb cb, void *arg) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent (here and for touch and delete). */
att_err att_store_principal_set_disabled(struct att_store *s, const char *id,
                                         bool disabled) ATT_WUR;
/*
 * Register or clear the client certificate that identifies the principal: its SHA-256 (64
 * lowercase hex, for mutual TLS) and its DER (1..ATT_PRINCIPAL_CERT_MAX bytes, for
 * private_key_jwt), always together; clear with cert_sha256 "" and cert_der_len 0. The store
 * does not parse the certificate (src/auth/principal.h: att_principal_set_cert does).
 * ATT_ERR_ARG when the two disagree in presence or a value is malformed or too large.
 */
att_err att_store_principal_set_cert(struct att_store *s, const char *id, const char *cert_sha256,
                                     const uint8_t *cert_der, size_t cert_der_len) ATT_WUR;
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
/* The assignment `id` into *out (written only on success). ATT_ERR_NOT_FOUND when absent. */
att_err att_store_role_get(struct att_store *s, const char *id, struct att_role_rec *out) ATT_WUR;
/* Oldest first. */
att_err att_store_role_list(struct att_store *s, att_store_role_cb cb, void *arg) ATT_WUR;
/*
 * Only the assignments that name caller `q` (struct att_role_query), oldest first, in one
 * query whatever the number of groups: the authorisation of a request reads these and no
 * other row. ATT_ERR_ARG for a kind other than "principal" or "subject", an empty subject, an
 * external caller without an issuer, groups given to a principal, more than
 * ATT_STORE_ROLE_GROUPS_MAX groups, or a subject, issuer or group too long to be stored.
 */
att_err att_store_role_list_for(struct att_store *s, const struct att_role_query *q,
                                att_store_role_cb cb, void *arg) ATT_WUR;
/*
 * How many assignments of `role` on `provider` (both exact: "*" is not a wildcard here) are
 * held by principals that exist and are enabled, leaving out assignment `except_role` and
 * principal `except_principal` (NULL for none), into *count. External subjects and groups are
 * not counted. One query; the caller gives it meaning (att_rbac_usable_owners).
 */
att_err att_store_role_count_enabled(struct att_store *s, const char *role, const char *provider,
                                     const char *except_role, const char *except_principal,
                                     int64_t *count) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent. */
att_err att_store_role_delete(struct att_store *s, const char *id) ATT_WUR;

/*
 * On a transaction's handle only (else ATT_ERR_STATE): wait until no other transaction, in
 * this process or on another node sharing the database, holds the identity lock, and hold it
 * until this transaction ends. Every change that may take away an Owner takes it before it
 * reads, so a rule spanning rows ("one usable Owner remains") holds across nodes: count,
 * check and change inside one transaction (att_rbac_change_guarded). On SQLite the
 * transaction's write lock already serialises every writer; on PostgreSQL it is an advisory
 * transaction lock. ATT_ERR_STORE_BUSY when the wait exceeds the handle's lock wait.
 */
att_err att_store_identity_lock(struct att_store *tx) ATT_WUR;

#endif
