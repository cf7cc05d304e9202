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

#endif
