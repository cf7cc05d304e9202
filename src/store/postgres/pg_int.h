/*
 * pg_int.h - shared by the files of the PostgreSQL backend only.
 *
 * The backend is split by concern, as the SQLite one is:
 *   pg.c          the connection pool, transactions and the one operation table
 *   helpers.c     arguments, statements (prepared once per connection), error mapping and the
 *                 row mapper
 *   migrations.c  the schema: the SQLite migrations, numbered alike, in PostgreSQL's dialect
 *   providers.c   providers, their signing keys, data keys, the audit checkpoint
 *   identity.c    principals, client secrets, role assignments, auth keys
 *   policies.c    policy versions, policy requests and policy signer certificates
 *   collateral.c  collateral items (the newest per scope, kind and key)
 * Nothing outside src/store/postgres/ includes this header.
 *
 * Wire format: every parameter and every result column travels in PostgreSQL's binary format
 * (int8 as 8 big-endian bytes, text and bytea as their bytes), so nothing is quoted or escaped
 * and every column read checks its type and length (docs/internals/store.md).
 *
 * Input trust: records come from our callers (checked in store.c); rows come from a database
 * others may write to, so every column is read through att_pg_col_* / att_pg_row, which check
 * its type and that it fits its field exactly.
 */
#ifndef ATT_STORE_POSTGRES_PG_INT_H
#define ATT_STORE_POSTGRES_PG_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/columns.h"
#include "store/store.h"

/* ---- statements and arguments (helpers.c) --------------------------------- */

/* Room for the largest statement: a role lookup's 3 parameters and its 32 group slots. */
#define ATT_PG_ARGS_MAX 40

/* The parameters of one statement, in order ($1, $2, ...), all binary. */
struct att_pg_args {
    int n;
    const char *val[ATT_PG_ARGS_MAX]; /* NULL: SQL NULL */
    int len[ATT_PG_ARGS_MAX];
    int format[ATT_PG_ARGS_MAX]; /* 1 (binary) for each */
    Oid type[ATT_PG_ARGS_MAX];
    unsigned char i64[ATT_PG_ARGS_MAX][8]; /* storage of int8 values, big-endian */
    bool overflow;                         /* more than ATT_PG_ARGS_MAX were added */
};

/* Not copied: `s` (and a blob's bytes) must outlive the statement. */
void att_pg_text(struct att_pg_args *a, const char *s);
/* A text parameter that is SQL NULL (equal to nothing: an unused slot of a list). */
void att_pg_null_text(struct att_pg_args *a);
void att_pg_i64(struct att_pg_args *a, int64_t v);
void att_pg_bool(struct att_pg_args *a, bool v); /* stored as int8 0 or 1, as in SQLite */
void att_pg_blob(struct att_pg_args *a, const uint8_t *p, size_t n);
/* Every column of a record (store/columns.h), in order: the values of an INSERT's list. */
void att_pg_args_row(struct att_pg_args *a, const struct att_store_row *cols, const void *rec);

/*
 * Run `sql` (a string literal: statements are prepared once per connection and known by their
 * address) with `a` (may be NULL) on the handle's connection: the transaction's inside one,
 * else one from the pool for this statement alone.
 * att_pg_run is for statements that return no rows; *changes (may be NULL) gets the rows they
 * changed. att_pg_query returns the rows in *out (the caller's to PQclear, also on failure).
 * Errors map SQLSTATE classes: unique violation ATT_ERR_EXISTS, other integrity violations
 * ATT_ERR_STORE_CONSTRAINT, lock timeouts, deadlocks and serialization failures
 * ATT_ERR_STORE_BUSY, a lost or refused connection ATT_ERR_STORE_UNAVAILABLE, anything else
 * ATT_ERR_STORE (logged with its SQLSTATE, never with values).
 */
att_err att_pg_run(struct att_store *s, const char *sql, const struct att_pg_args *a,
                   int64_t *changes) ATT_WUR;
att_err att_pg_query(struct att_store *s, const char *sql, const struct att_pg_args *a,
                     PGresult **out) ATT_WUR;
/* A query that answers exactly one row with one int8 column. ATT_ERR_NOT_FOUND for no row. */
att_err att_pg_query_i64(struct att_store *s, const char *sql, const struct att_pg_args *a,
                         int64_t *out) ATT_WUR;

/* Column readers of a binary result: each checks the column's type and size. */
att_err att_pg_col_text(const PGresult *r, int row, int col, char *dst, size_t cap) ATT_WUR;
att_err att_pg_col_i64(const PGresult *r, int row, int col, int64_t *out) ATT_WUR;
att_err att_pg_col_bool(const PGresult *r, int row, int col, bool *out) ATT_WUR; /* 0 or 1 */
/* Replaces b's content (over b's cap is ATT_ERR_STORE). */
att_err att_pg_col_blob(const PGresult *r, int row, int col, struct att_buf *b) ATT_WUR;
/* A text column into b (its content replaced; without a NUL): over b's cap, or holding a NUL,
 * is ATT_ERR_STORE. */
att_err att_pg_col_text_buf(const PGresult *r, int row, int col, struct att_buf *b) ATT_WUR;

/* Read row `row` of a binary result into `rec` by the record's column description
 * (store/columns.h). */
att_err att_pg_row(const PGresult *r, int row, const struct att_store_row *cols, void *rec) ATT_WUR;

/* ---- connections and transactions (pg.c) ---------------------------------- */

/* A leased connection: the transaction's, or one taken from the pool until released. */
struct att_pg_lease;
att_err att_pg_lease_take(struct att_store *s, struct att_pg_lease **out) ATT_WUR;
PGconn *att_pg_lease_conn(struct att_pg_lease *l);
/* Whether `sql` is prepared on the lease's connection yet, and note that it now is. */
bool att_pg_lease_prepared(struct att_pg_lease *l, const char *sql, char name[24]);
void att_pg_lease_note_prepared(struct att_pg_lease *l, const char *sql);
/*
 * Wait for the result of the query just sent on the lease's connection: *out gets the last
 * result (the caller's to PQclear). Not past a deadline (the store's lock wait plus
 * ANSWER_GRACE_MS): a server that stopped answering - frozen, or cut off without a reset -
 * would otherwise hold this thread, and every thread queued behind it, for as long as TCP takes
 * to give up. ATT_ERR_STORE_UNAVAILABLE then, or when the connection failed: the caller
 * gives the lease back broken, which closes it.
 */
att_err att_pg_lease_wait(struct att_pg_lease *l, PGresult **out) ATT_WUR;
/* Whether the handle is a transaction's (its statements commit with it, not one by one). */
bool att_pg_in_transaction(struct att_store *s);
/* broken: the connection failed, so it is closed rather than reused. */
void att_pg_lease_give(struct att_pg_lease *l, bool broken);

/*
 * Run `fn` on a handle whose statements all go to one connection inside one transaction:
 * a new transaction, or a savepoint of the caller's. Committed when fn returns ATT_OK, rolled
 * back otherwise (fn's error is returned). For operations of several statements that stand or
 * fall together.
 */
att_err att_pg_atomic(struct att_store *s, att_err (*fn)(struct att_store *tx, void *arg),
                      void *arg) ATT_WUR;

/* Run constant SQL without parameters (one or several statements: a migration's script) on
 * the handle's connection. */
att_err att_pg_exec_script(struct att_store *s, const char *sql) ATT_WUR;

/* ---- schema (migrations.c) ------------------------------------------------ */

att_err att_pg_schema_version(struct att_store *s, int *out) ATT_WUR;
/* Apply every pending migration, each in its own transaction under an advisory lock. */
att_err att_pg_migrate(struct att_store *s) ATT_WUR;

/* ---- record operations (the other files); contracts in store.h ------------ */

att_err att_pg_provider_insert(struct att_store *s, const struct att_provider_rec *p);
att_err att_pg_provider_get(struct att_store *s, const char *name, struct att_provider_rec *out);
att_err att_pg_provider_list(struct att_store *s, att_store_provider_cb cb, void *arg);
att_err att_pg_provider_delete(struct att_store *s, const char *name);
att_err att_pg_provider_set_attest_requires_auth(struct att_store *s, const char *name, bool on);
att_err att_pg_provider_set_collateral_grace(struct att_store *s, const char *name,
                                             int64_t seconds);
att_err att_pg_provider_set_require_bound_requests(struct att_store *s, const char *name, bool on);
att_err att_pg_provider_set_policy_history_keep(struct att_store *s, const char *name,
                                                int64_t keep);
att_err att_pg_provider_set_audit_fail_open(struct att_store *s, const char *name, bool on);
att_err att_pg_provider_set_issuer(struct att_store *s, const char *name, const char *issuer);
att_err att_pg_audit_checkpoint_put(struct att_store *s, const char *node, int64_t seq,
                                    const char *hash, const char *jws, int64_t now);
att_err att_pg_audit_checkpoint_get(struct att_store *s, const char *node, int64_t *seq,
                                    char hash[65]);
att_err att_pg_audit_checkpoint_clear(struct att_store *s, const char *node);
att_err att_pg_audit_checkpoint_read(struct att_store *s, const char *node,
                                     struct att_audit_checkpoint_rec *out);

att_err att_pg_key_insert(struct att_store *s, const struct att_key_rec *k);
att_err att_pg_key_list(struct att_store *s, const char *provider, att_store_key_cb cb, void *arg);
att_err att_pg_key_delete(struct att_store *s, const char *provider, const char *kid);
att_err att_pg_key_note_use(struct att_store *s, const char *provider, const char *kid,
                            int64_t until, int64_t lifetime);
att_err att_pg_key_set_activate(struct att_store *s, const char *provider, const char *kid,
                                int64_t at);

att_err att_pg_dek_insert(struct att_store *s, const struct att_dek_rec *d);
att_err att_pg_dek_get(struct att_store *s, const char *id, struct att_dek_rec *out);
att_err att_pg_dek_get_active(struct att_store *s, struct att_dek_rec *out);
att_err att_pg_dek_list(struct att_store *s, att_store_dek_cb cb, void *arg);
att_err att_pg_dek_rewrap(struct att_store *s, const char *id, const char *kek_id,
                          const uint8_t *wrapped, size_t len);

att_err att_pg_auth_key_insert(struct att_store *s, const struct att_key_rec *k);
att_err att_pg_auth_key_list(struct att_store *s, att_store_key_cb cb, void *arg);

att_err att_pg_principal_insert(struct att_store *s, const struct att_principal_rec *p);
att_err att_pg_principal_get(struct att_store *s, const char *id, struct att_principal_rec *out);
att_err att_pg_principal_get_by_name(struct att_store *s, const char *name,
                                     struct att_principal_rec *out);
att_err att_pg_principal_get_by_cert(struct att_store *s, const char *cert_sha256,
                                     struct att_principal_rec *out);
att_err att_pg_principal_list(struct att_store *s, att_store_principal_cb cb, void *arg);
att_err att_pg_principal_set_disabled(struct att_store *s, const char *id, bool disabled);
att_err att_pg_principal_set_cert(struct att_store *s, const char *id, const char *cert_sha256,
                                  const uint8_t *cert_der, size_t cert_der_len);
att_err att_pg_principal_touch(struct att_store *s, const char *id, int64_t at, const char *from);
att_err att_pg_principal_delete(struct att_store *s, const char *id);

att_err att_pg_secret_insert(struct att_store *s, const struct att_secret_rec *sec);
att_err att_pg_secret_list(struct att_store *s, const char *principal_id, att_store_secret_cb cb,
                           void *arg);
att_err att_pg_secret_revoke(struct att_store *s, const char *id, int64_t at);

att_err att_pg_role_insert(struct att_store *s, const struct att_role_rec *r);
att_err att_pg_role_get(struct att_store *s, const char *id, struct att_role_rec *out);
att_err att_pg_role_list(struct att_store *s, att_store_role_cb cb, void *arg);
att_err att_pg_role_list_for(struct att_store *s, const struct att_role_query *q,
                             att_store_role_cb cb, void *arg);
att_err att_pg_role_count_enabled(struct att_store *s, const char *role, const char *provider,
                                  const char *except_role, const char *except_principal,
                                  int64_t *count);
att_err att_pg_role_delete(struct att_store *s, const char *id);

att_err att_pg_policy_version_append(struct att_store *s, struct att_policy_version_rec *v,
                                     struct att_policy_request_rec *req, int64_t keep);
att_err att_pg_policy_version_get(struct att_store *s, const char *provider, const char *type,
                                  int64_t version, struct att_policy_version_rec *out);
att_err att_pg_policy_version_list(struct att_store *s, const char *provider, const char *type,
                                   int64_t after, int64_t limit, att_store_policy_version_cb cb,
                                   void *arg);
att_err att_pg_policy_version_insert(struct att_store *s, const struct att_policy_version_rec *v);
att_err att_pg_policy_version_scan(struct att_store *s, att_store_policy_version_cb cb, void *arg);
att_err att_pg_policy_request_insert(struct att_store *s, const struct att_policy_request_rec *r);
att_err att_pg_policy_request_list(struct att_store *s, att_store_policy_request_cb cb, void *arg);
att_err att_pg_policy_request_claim(struct att_store *s, const struct att_policy_request_rec *r,
                                    int64_t now);
att_err att_pg_policy_request_get(struct att_store *s, const char *provider, const char *scope,
                                  const char *digest, struct att_policy_request_rec *out);
att_err att_pg_policy_request_forget(struct att_store *s, const char *provider, const char *scope,
                                     const char *digest);
att_err att_pg_signer_insert(struct att_store *s, const struct att_signer_rec *r);
att_err att_pg_signer_delete(struct att_store *s, const char *provider, const char *sha256);
att_err att_pg_signer_get(struct att_store *s, const char *provider, const char *sha256,
                          struct att_signer_rec *out);
att_err att_pg_signer_list(struct att_store *s, const char *provider, att_store_signer_cb cb,
                           void *arg);

att_err att_pg_collateral_put(struct att_store *s, const struct att_collateral_rec *r,
                              bool *replaced);
att_err att_pg_collateral_get(struct att_store *s, const char *scope, const char *kind,
                              const char *key, struct att_collateral_rec *out);
att_err att_pg_collateral_list(struct att_store *s, att_store_collateral_cb cb, void *arg);
att_err att_pg_collateral_delete_scope(struct att_store *s, const char *scope, int *deleted);

#endif
