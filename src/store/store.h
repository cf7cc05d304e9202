/*
 * store.h - the durable store interface.
 *
 * A store is a table of operations (struct att_store_ops) with one backend
 * per folder: sqlite/ (one node, the default) and postgres/ (many nodes sharing one database).
 * Callers use the att_store_* wrappers and never see SQL. Everything durable goes through here.
 *
 * This header holds the store itself: opening and closing, transactions and the operation
 * table. The records and operations of each domain have a header of their own, included below
 * so that including store.h is enough:
 *   providers.h   providers, their signing keys, data keys, the audit checkpoint
 *   identity.h    principals, client secrets, role assignments, auth keys
 *   policies.h    policy versions, policy requests, policy signers
 *   collateral.h  collateral items
 *
 * Secrets never reach a store in clear: callers seal values (src/seal) and
 * the store keeps the opaque blobs.
 *
 * Records are plain structs with fixed-size strings; blobs are att_bufs owned
 * by the record (release with the matching *_cleanup). Iteration callbacks return ATT_OK to go
 * on; anything else stops the list and is returned.
 */
#ifndef ATT_STORE_STORE_H
#define ATT_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/collateral.h"
#include "store/identity.h"
#include "store/policies.h"
#include "store/providers.h"

/* What a node caches, by topic of the change feed (att_store_changes_get). */
enum att_store_topic {
    ATT_TOPIC_PROVIDERS,  /* providers, their signing keys, policies and policy signers */
    ATT_TOPIC_COLLATERAL, /* collateral items of every scope */
    ATT_TOPIC_COUNT
};
struct att_store_changes {
    int64_t seq[ATT_TOPIC_COUNT]; /* grows with every committed change of the topic */
};

/*
 * The tables of the schema, each holding one kind of record; att_store_count counts the rows
 * of each. Every table the migrations make is here (a unit test compares them with the schema),
 * so a copy between stores that copies each of these copies everything.
 */
enum att_store_table {
    ATT_TABLE_PROVIDERS,
    ATT_TABLE_SIGNING_KEYS,
    ATT_TABLE_DATA_KEYS,
    ATT_TABLE_AUTH_KEYS,
    ATT_TABLE_PRINCIPALS,
    ATT_TABLE_PRINCIPAL_SECRETS,
    ATT_TABLE_ROLE_ASSIGNMENTS,
    ATT_TABLE_POLICY_VERSIONS,
    ATT_TABLE_POLICY_REQUESTS,
    ATT_TABLE_POLICY_SIGNERS,
    ATT_TABLE_COLLATERAL,
    ATT_TABLE_AUDIT_CHECKPOINT,
    ATT_STORE_TABLES /* how many */
};
struct att_store_counts {
    int64_t rows[ATT_STORE_TABLES]; /* indexed by enum att_store_table */
};
/* The table's name in the schema ("providers", ...); "" for a value out of range. */
const char *att_store_table_name(enum att_store_table t);

struct att_store;

struct att_store_ops {
    const char *name;
    void (*close)(struct att_store *s);
    att_err (*ping)(struct att_store *s);
    att_err (*schema_version)(struct att_store *s, int *out);
    att_err (*snapshot)(struct att_store *s, const char *path);
    att_err (*check)(struct att_store *s);
    att_err (*set_lock_wait)(struct att_store *s, int ms);
    att_err (*begin)(struct att_store *s, struct att_store **tx);
    att_err (*commit)(struct att_store *s);
    att_err (*rollback)(struct att_store *s);

    att_err (*provider_insert)(struct att_store *s, const struct att_provider_rec *p);
    att_err (*provider_get)(struct att_store *s, const char *name, struct att_provider_rec *out);
    att_err (*provider_list)(struct att_store *s, att_store_provider_cb cb, void *arg);
    att_err (*provider_delete)(struct att_store *s, const char *name);
    att_err (*provider_set_attest_requires_auth)(struct att_store *s, const char *name, bool on);
    att_err (*provider_set_collateral_grace)(struct att_store *s, const char *name,
                                             int64_t seconds);
    att_err (*provider_set_require_bound_requests)(struct att_store *s, const char *name, bool on);
    att_err (*provider_set_policy_history_keep)(struct att_store *s, const char *name,
                                                int64_t keep);
    att_err (*provider_set_audit_fail_open)(struct att_store *s, const char *name, bool on);
    att_err (*provider_set_issuer)(struct att_store *s, const char *name, const char *issuer);
    att_err (*audit_checkpoint_put)(struct att_store *s, const char *node, int64_t seq,
                                    const char *hash, const char *jws, int64_t now);
    att_err (*audit_checkpoint_get)(struct att_store *s, const char *node, int64_t *seq,
                                    char hash[65]);
    att_err (*audit_checkpoint_clear)(struct att_store *s, const char *node);
    att_err (*audit_checkpoint_read)(struct att_store *s, const char *node,
                                     struct att_audit_checkpoint_rec *out);

    att_err (*key_insert)(struct att_store *s, const struct att_key_rec *k);
    att_err (*key_list)(struct att_store *s, const char *provider, att_store_key_cb cb, void *arg);
    att_err (*key_delete)(struct att_store *s, const char *provider, const char *kid);
    att_err (*key_note_use)(struct att_store *s, const char *provider, const char *kid,
                            int64_t until, int64_t lifetime);
    att_err (*key_set_activate)(struct att_store *s, const char *provider, const char *kid,
                                int64_t at);

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
    att_err (*principal_get_by_cert)(struct att_store *s, const char *cert_sha256,
                                     struct att_principal_rec *out);
    att_err (*principal_list)(struct att_store *s, att_store_principal_cb cb, void *arg);
    att_err (*principal_set_disabled)(struct att_store *s, const char *id, bool disabled);
    att_err (*principal_set_cert)(struct att_store *s, const char *id, const char *cert_sha256,
                                  const uint8_t *cert_der, size_t cert_der_len);
    att_err (*principal_touch)(struct att_store *s, const char *id, int64_t at, const char *from);
    att_err (*principal_delete)(struct att_store *s, const char *id);

    att_err (*secret_insert)(struct att_store *s, const struct att_secret_rec *sec);
    att_err (*secret_list)(struct att_store *s, const char *principal_id, att_store_secret_cb cb,
                           void *arg);
    att_err (*secret_revoke)(struct att_store *s, const char *id, int64_t at);

    att_err (*role_insert)(struct att_store *s, const struct att_role_rec *r);
    att_err (*role_get)(struct att_store *s, const char *id, struct att_role_rec *out);
    att_err (*role_list)(struct att_store *s, att_store_role_cb cb, void *arg);
    att_err (*role_list_for)(struct att_store *s, const struct att_role_query *q,
                             att_store_role_cb cb, void *arg);
    att_err (*role_count_enabled)(struct att_store *s, const char *role, const char *provider,
                                  const char *except_role, const char *except_principal,
                                  int64_t *count);
    att_err (*role_delete)(struct att_store *s, const char *id);
    att_err (*identity_lock)(struct att_store *tx);

    att_err (*policy_version_append)(struct att_store *s, struct att_policy_version_rec *v,
                                     struct att_policy_request_rec *req, int64_t keep);
    att_err (*policy_version_get)(struct att_store *s, const char *provider, const char *type,
                                  int64_t version, struct att_policy_version_rec *out);
    att_err (*policy_version_list)(struct att_store *s, const char *provider, const char *type,
                                   int64_t after, int64_t limit, att_store_policy_version_cb cb,
                                   void *arg);
    att_err (*policy_request_claim)(struct att_store *s, const struct att_policy_request_rec *r,
                                    int64_t now);
    att_err (*policy_request_get)(struct att_store *s, const char *provider, const char *scope,
                                  const char *digest, struct att_policy_request_rec *out);
    att_err (*policy_request_forget)(struct att_store *s, const char *provider, const char *scope,
                                     const char *digest);
    att_err (*signer_insert)(struct att_store *s, const struct att_signer_rec *r);
    att_err (*signer_delete)(struct att_store *s, const char *provider, const char *sha256);
    att_err (*signer_get)(struct att_store *s, const char *provider, const char *sha256,
                          struct att_signer_rec *out);
    att_err (*signer_list)(struct att_store *s, const char *provider, att_store_signer_cb cb,
                           void *arg);

    att_err (*collateral_put)(struct att_store *s, const struct att_collateral_rec *r,
                              bool *replaced);
    att_err (*collateral_get)(struct att_store *s, const char *scope, const char *kind,
                              const char *key, struct att_collateral_rec *out);
    att_err (*collateral_list)(struct att_store *s, att_store_collateral_cb cb, void *arg);
    att_err (*collateral_delete_scope)(struct att_store *s, const char *scope, int *deleted);

    att_err (*count)(struct att_store *s, struct att_store_counts *out);
    att_err (*policy_version_insert)(struct att_store *s, const struct att_policy_version_rec *v);
    att_err (*policy_version_scan)(struct att_store *s, att_store_policy_version_cb cb, void *arg);
    att_err (*policy_request_insert)(struct att_store *s, const struct att_policy_request_rec *r);
    att_err (*policy_request_list)(struct att_store *s, att_store_policy_request_cb cb, void *arg);

    att_err (*secret_put_new)(struct att_store *s, const char *name, const uint8_t *sealed,
                              size_t len, int64_t now);
    att_err (*secret_get)(struct att_store *s, const char *name, struct att_buf *out);
    att_err (*challenge_claim)(struct att_store *s, const char *provider, const char *nonce,
                               int64_t expires, int64_t now);
    att_err (*changes_get)(struct att_store *s, struct att_store_changes *out);
    att_err (*changes_wait)(struct att_store *s, int timeout_ms);
    att_err (*lock)(struct att_store *s, int64_t key, bool wait, struct att_store **out);
    void (*unlock)(struct att_store *lock);
};

/* Every backend's struct starts with this. */
struct att_store {
    const struct att_store_ops *ops;
};

/* What att_store_sqlite_check_image found in a database image. */
#define ATT_STORE_IMAGE_AUTH_MAX 64
struct att_store_image {
    int schema; /* its schema version (also set when it is newer than this program's) */
    int64_t providers, signing_keys, principals, role_assignments, policy_versions;
    char auth_kid[ATT_STORE_IMAGE_AUTH_MAX][65]; /* its access-token keys, oldest first */
    size_t n_auth;
};

/*
 * Vet an SQLite database image from outside (a backup's snapshot) in memory, read-only,
 * before it is written anywhere or opened as a store: ATT_ERR_STORE_SCHEMA when it is not an
 * attestd database of a schema this program knows (out->schema says when it is newer) or its
 * schema holds anything our migrations do not make (a trigger or view above all), ATT_ERR_STORE
 * when its pages or foreign keys are damaged. On success *out has its counts and auth kids.
 */
att_err att_store_sqlite_check_image(const uint8_t *image, size_t len,
                                     struct att_store_image *out) ATT_WUR;

/* Open (creating if needed) the SQLite store at `path` and run pending migrations. */
att_err att_store_open_sqlite(const char *path, struct att_store **out) ATT_WUR;
/*
 * Open the SQLite store at `path` to read it (the source of a copy to another store): the file
 * must exist (ATT_ERR_NOT_FOUND; never created) and is checked private to us as
 * att_store_open_sqlite checks it, but no migration runs: ATT_ERR_STORE_SCHEMA unless its
 * schema is this program's (*schema, which may be NULL, gets its version whenever it could be
 * read; 0 for an SQLite file that is no attestd store), ATT_ERR_STORE for a file that is not
 * an SQLite database.
 */
att_err att_store_open_sqlite_existing(const char *path, struct att_store **out,
                                       int *schema) ATT_WUR;
/*
 * Open the PostgreSQL store at `url` (postgresql://... or postgres://..., libpq's URI form,
 * TLS settings included) and run pending migrations. The URL is never logged. Connections are
 * opened as needed, at most a few per store; ATT_ERR_STORE_UNAVAILABLE when the server cannot
 * be reached, ATT_ERR_ARG for a malformed URL.
 */
att_err att_store_open_postgresql(const char *url, struct att_store **out) ATT_WUR;
bool att_store_is_postgresql_url(const char *url);
/*
 * Check a PostgreSQL URL from configuration before use: libpq's URI syntax, and no password
 * in it (a password belongs in a passfile: the URL is in a configuration file and in the
 * process's memory for its whole life). ATT_ERR_CONFIG with a message naming the problem.
 */
att_err att_store_url_check(const char *url, char *msg, size_t msg_len) ATT_WUR;
/* The store `where` names: a PostgreSQL URL, else the path of an SQLite file. */
att_err att_store_open(const char *where, struct att_store **out) ATT_WUR;
/* "sqlite" or "postgresql". */
const char *att_store_backend(const struct att_store *s);
/* Accepts NULL. */
void att_store_close(struct att_store *s);

att_err att_store_ping(struct att_store *s) ATT_WUR;
/*
 * How long an operation of this handle waits for a lock another process holds (5 s when
 * opened) before it fails with ATT_ERR_STORE_BUSY. Work that may simply try again later (the
 * key look) sets it short, so that a long write elsewhere does not hold it - and everything
 * queued behind it - up.
 */
att_err att_store_set_lock_wait(struct att_store *s, int ms) ATT_WUR;
att_err att_store_schema_version(struct att_store *s, int *out) ATT_WUR;
/* The newest schema version this binary knows. */
int att_store_schema_latest(void);
/*
 * Write a consistent copy of the whole store to the new file `path` (which must not exist)
 * while others keep using it: a backup's snapshot. The copy's mode is left to the caller.
 */
att_err att_store_snapshot(struct att_store *s, const char *path) ATT_WUR;
/* Check the store's integrity (pages, indexes, foreign keys): ATT_ERR_STORE when damaged. */
att_err att_store_check(struct att_store *s) ATT_WUR;
/*
 * Transactions are handles: att_store_begin gives *tx, a store whose operations all run in one
 * transaction, until att_store_commit or att_store_rollback ends it and frees the handle (also
 * when they fail). Safe with threads: other threads keep using `s` meanwhile (on SQLite they
 * wait for the transaction to end; on PostgreSQL they use other connections). Rules that span
 * rows hold inside one: read, check and write through *tx. On SQLite a transaction holds the
 * database's write lock from its start, so transactions of every process run one after the
 * other; PostgreSQL runs them side by side (READ COMMITTED), so a rule that spans rows also
 * takes a lock every transaction that could break it takes too (att_store_identity_lock).
 * No nesting (ATT_ERR_STATE).
 */
att_err att_store_begin(struct att_store *s, struct att_store **tx) ATT_WUR;
att_err att_store_commit(struct att_store *tx) ATT_WUR;
att_err att_store_rollback(struct att_store *tx);

/*
 * The rows of every table (enum att_store_table) into *out, read by one statement, so inside a
 * transaction they are the transaction's and outside it one moment's.
 */
att_err att_store_count(struct att_store *s, struct att_store_counts *out) ATT_WUR;

/* ---- many nodes on one store: the change feed and cluster-wide locks ---- */

/*
 * The change counters (store_changes, migration 13): on PostgreSQL every committed change of
 * a topic raises its counter (triggers), so a node that compares them with those it last saw
 * knows what to load again. On SQLite (one node) they never move.
 */
att_err att_store_changes_get(struct att_store *s, struct att_store_changes *out) ATT_WUR;
/*
 * Wait up to `timeout_ms` for a change to be committed by anyone: ATT_OK when one was
 * (PostgreSQL's NOTIFY, on a connection of its own, LISTENing), ATT_ERR_TIMEOUT when the time
 * passed without one, ATT_ERR_STORE_UNAVAILABLE (after waiting out the time) while the server
 * cannot be reached. One thread at a time. On SQLite it only waits. Callers read the counters
 * afterwards either way, so a notification lost with a connection costs at most one period.
 */
att_err att_store_changes_wait(struct att_store *s, int timeout_ms) ATT_WUR;
/*
 * A cluster-wide lock named by `key` (PostgreSQL's session advisory locks), held until
 * att_store_unlock or until the connection holding it breaks - when the database forgets it,
 * so its holder must check (att_store_ping(*lock)) before acting on it. wait false: ATT_ERR_BUSY
 * at once when another node holds it. On SQLite, where one node runs, it is always granted.
 */
att_err att_store_lock(struct att_store *s, int64_t key, bool wait,
                       struct att_store **lock) ATT_WUR;
/* Accepts NULL. */
void att_store_unlock(struct att_store *lock);

/*
 * Lead a cluster-wide job: keep holding the lock `key` (*held, NULL when not held), or try to
 * take it when not held. True while this node holds it: a held lock whose connection broke is
 * let go first (another node may hold it now). For jobs one node runs at a time.
 */
bool att_store_lead(struct att_store *s, int64_t key, struct att_store **held);

/* Lock keys (att_store_lock): one per cluster-wide job. */
#define ATT_LOCK_KEYS ((int64_t)0x6174746573746401)       /* scheduled signing-key rotation */
#define ATT_LOCK_BOOTSTRAP ((int64_t)0x6174746573746402)  /* first start of an empty store */
#define ATT_LOCK_COLLATERAL ((int64_t)0x6174746573746403) /* upstream collateral refresh */

/* ---- secrets and challenges nodes share (migration 14) ---- */

#define ATT_CLUSTER_SECRET_NAME_MAX 63
/* The difference between nodes' clocks that shared records allow for, seconds. */
#define ATT_CLOCK_SKEW_MAX 3600
/*
 * Keep `sealed` (1..ATT_STORE_BLOB_MAX bytes, sealed by the caller) as the secret `name`
 * unless one is kept already, which then stays: nodes making a secret at once end up sharing
 * the first one (read it back with att_store_secret_get).
 */
att_err att_store_secret_put_new(struct att_store *s, const char *name, const uint8_t *sealed,
                                 size_t len, int64_t now) ATT_WUR;
/* The sealed secret `name` into `out`. ATT_ERR_NOT_FOUND when none is kept. */
att_err att_store_secret_get(struct att_store *s, const char *name, struct att_buf *out) ATT_WUR;
/*
 * Record the use of challenge `nonce` (64 lower-case hex digits) of `provider`, remembered
 * until `expires`: ATT_ERR_TOKEN_REPLAY when it was used before, by any node. Uses expired
 * ATT_CLOCK_SKEW_MAX before `now` are forgotten first.
 */
att_err att_store_challenge_claim(struct att_store *s, const char *provider, const char *nonce,
                                  int64_t expires, int64_t now) ATT_WUR;

#endif
