/*
 * sqlite_int.h - shared by the files of the SQLite backend only.
 *
 * The backend is split by concern:
 *   sqlite.c      the connection (open, configure, close, transactions) and
 *                 the one operation table, which names the functions below
 *   helpers.c     result-code mapping and the statement helpers
 *   migrations.c  the schema
 *   providers.c   providers, their signing keys, data keys
 *   identity.c    principals, client secrets, role assignments, auth keys
 *   policies.c    policy versions and policy signer certificates
 *   collateral.c  Intel collateral items (the newest per kind and key)
 * Nothing outside src/store/sqlite/ includes this header.
 *
 * The record operations below are the backend's implementations of struct
 * att_store_ops; callers go through the att_store_* wrappers (store.c), which
 * have checked the arguments already. Their contracts are in store.h.
 */
#ifndef ATT_STORE_SQLITE_SQLITE_INT_H
#define ATT_STORE_SQLITE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/columns.h"
#include "store/store.h"

/* ---- connection (sqlite.c) ------------------------------------------------ */

/* The connection of a store opened by att_store_open_sqlite. */
sqlite3 *att_sqlite_db(struct att_store *s);
/*
 * Open (creating if needed) the database file at `path` as every attestd database is opened:
 * the file checked private to us first (regular, ours, mode 0600, not a link; its -wal and
 * -shm too), then WAL mode, foreign keys, defensive mode, a 5 s busy timeout. No migrations.
 * check_files false for another connection to a file this process has open already: checking
 * opens and closes descriptors of the file and its -shm, and closing any descriptor of a file
 * drops every POSIX lock the process holds on it (fcntl(2)) - those of the open connection
 * too, after which another process may delete the WAL under it.
 */
att_err att_sqlite_open_file(const char *path, bool check_files, sqlite3 **out) ATT_WUR;

/* ---- result codes and statements (helpers.c) ------------------------------ */

/*
 * Map an SQLite result code (extended codes are on) to att_err:
 * BUSY/LOCKED -> ATT_ERR_STORE_BUSY, PRIMARYKEY/UNIQUE -> ATT_ERR_EXISTS,
 * other constraints -> ATT_ERR_STORE_CONSTRAINT, anything else ->
 * ATT_ERR_STORE (logged with SQLite's static description, never with values).
 */
att_err att_sqlite_err(int rc);
/* Run constant SQL (one or more statements, no parameters) to completion. */
att_err att_sqlite_exec(sqlite3 *db, const char *sql) ATT_WUR;

/* Prepare one statement; *st is the caller's to sqlite3_finalize (also on failure). */
att_err att_sqlite_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st) ATT_WUR;
/* Bind without copying (SQLITE_STATIC): the value must outlive the statement's last step. */
att_err att_sqlite_bind_text(sqlite3_stmt *st, int i, const char *s) ATT_WUR;
/* Binds a BLOB even when n == 0 (never SQL NULL). */
att_err att_sqlite_bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n) ATT_WUR;
att_err att_sqlite_bind_i64(sqlite3_stmt *st, int i, int64_t v) ATT_WUR;
/* Run a statement that returns no rows; *changes (if not NULL) gets the rows it changed. */
att_err att_sqlite_step_done(sqlite3 *db, sqlite3_stmt *st, int *changes) ATT_WUR;
/* Run constant SQL that answers one row with an integer first column, into *out. */
att_err att_sqlite_query_i64(sqlite3 *db, const char *sql, int64_t *out) ATT_WUR;
/* Step a query: ATT_OK with *done = false at a row, *done = true at the end. */
att_err att_sqlite_step_row(sqlite3_stmt *st, bool *done) ATT_WUR;

/*
 * Column readers for rows of a file someone else may have edited: each
 * checks the column's type. col_text copies into a fixed field of `cap`
 * bytes and fails (ATT_ERR_STORE) when the value does not fit with its NUL
 * or holds a NUL: never truncated. col_bool accepts only 0 and 1.
 */
att_err att_sqlite_col_text(sqlite3_stmt *st, int i, char *dst, size_t cap) ATT_WUR;
/* Replaces b's content with the BLOB (over b's cap is ATT_ERR_STORE). */
att_err att_sqlite_col_blob(sqlite3_stmt *st, int i, struct att_buf *b) ATT_WUR;
att_err att_sqlite_col_i64(sqlite3_stmt *st, int i, int64_t *out) ATT_WUR;
att_err att_sqlite_col_bool(sqlite3_stmt *st, int i, bool *out) ATT_WUR;
/* Bind every column of `rec` (store/columns.h), in order, to ?1, ?2, ...: an INSERT's values.
 * Text and blobs are bound without copying: `rec` must outlive the statement's last step. */
att_err att_sqlite_bind_row(sqlite3_stmt *st, const struct att_store_row *cols,
                            const void *rec) ATT_WUR;
/* Run `sql`, an INSERT of a record's column list, with `rec`'s values (att_sqlite_bind_row). */
att_err att_sqlite_insert_row(sqlite3 *db, const char *sql, const struct att_store_row *cols,
                              const void *rec) ATT_WUR;
/* The current row into `rec` by the record's column description (store/columns.h). */
att_err att_sqlite_row(sqlite3_stmt *st, const struct att_store_row *cols, void *rec) ATT_WUR;
/* A TEXT column into b (its content replaced; without the NUL): over b's cap, or holding a
 * NUL, is ATT_ERR_STORE. */
att_err att_sqlite_col_text_buf(sqlite3_stmt *st, int i, struct att_buf *b) ATT_WUR;

/* ---- schema (migrations.c) ------------------------------------------------ */

/* The highest version recorded in schema_migrations (0 for a new database). */
att_err att_sqlite_schema_version(sqlite3 *db, int *out) ATT_WUR;
/* Create schema_migrations if needed and apply every pending migration. */
att_err att_sqlite_migrate(sqlite3 *db) ATT_WUR;
/* The same, up to and including `version` only (a reference schema to compare with). */
att_err att_sqlite_migrate_to(sqlite3 *db, int version) ATT_WUR;
/* The rows of every table (store.h, att_store_count), by one statement. */
att_err att_sqlite_count(struct att_store *s, struct att_store_counts *out);
/* integrity_check and foreign_key_check: ATT_ERR_STORE unless both find nothing wrong. */
att_err att_sqlite_check_db(sqlite3 *db) ATT_WUR;

/* ---- providers, signing keys, data keys (providers.c) --------------------- */

att_err att_sqlite_provider_insert(struct att_store *s, const struct att_provider_rec *p);
att_err att_sqlite_provider_get(struct att_store *s, const char *name,
                                struct att_provider_rec *out);
att_err att_sqlite_provider_list(struct att_store *s, att_store_provider_cb cb, void *arg);
att_err att_sqlite_provider_delete(struct att_store *s, const char *name);
att_err att_sqlite_provider_set_attest_requires_auth(struct att_store *s, const char *name,
                                                     bool on);
att_err att_sqlite_provider_set_collateral_grace(struct att_store *s, const char *name,
                                                 int64_t seconds);
att_err att_sqlite_provider_set_require_bound_requests(struct att_store *s, const char *name,
                                                       bool on);
att_err att_sqlite_provider_set_policy_history_keep(struct att_store *s, const char *name,
                                                    int64_t keep);
att_err att_sqlite_provider_set_audit_fail_open(struct att_store *s, const char *name, bool on);
att_err att_sqlite_provider_set_issuer(struct att_store *s, const char *name, const char *issuer);
att_err att_sqlite_audit_checkpoint_put(struct att_store *s, const char *node, int64_t seq,
                                        const char *hash, const char *jws, int64_t now);
att_err att_sqlite_audit_checkpoint_get(struct att_store *s, const char *node, int64_t *seq,
                                        char hash[65]);
att_err att_sqlite_audit_checkpoint_clear(struct att_store *s, const char *node);
att_err att_sqlite_audit_checkpoint_read(struct att_store *s, const char *node,
                                         struct att_audit_checkpoint_rec *out);

att_err att_sqlite_key_insert(struct att_store *s, const struct att_key_rec *k);
att_err att_sqlite_key_list(struct att_store *s, const char *provider, att_store_key_cb cb,
                            void *arg);
att_err att_sqlite_key_delete(struct att_store *s, const char *provider, const char *kid);
att_err att_sqlite_key_note_use(struct att_store *s, const char *provider, const char *kid,
                                int64_t until, int64_t lifetime);
att_err att_sqlite_key_set_activate(struct att_store *s, const char *provider, const char *kid,
                                    int64_t at);

att_err att_sqlite_dek_insert(struct att_store *s, const struct att_dek_rec *d);
att_err att_sqlite_dek_get(struct att_store *s, const char *id, struct att_dek_rec *out);
att_err att_sqlite_dek_get_active(struct att_store *s, struct att_dek_rec *out);
att_err att_sqlite_dek_list(struct att_store *s, att_store_dek_cb cb, void *arg);
att_err att_sqlite_dek_rewrap(struct att_store *s, const char *id, const char *kek_id,
                              const uint8_t *wrapped, size_t len);

/* ---- identity (identity.c) ------------------------------------------------ */

att_err att_sqlite_auth_key_insert(struct att_store *s, const struct att_key_rec *k);
att_err att_sqlite_auth_key_list(struct att_store *s, att_store_key_cb cb, void *arg);

att_err att_sqlite_principal_insert(struct att_store *s, const struct att_principal_rec *p);
att_err att_sqlite_principal_get(struct att_store *s, const char *id,
                                 struct att_principal_rec *out);
att_err att_sqlite_principal_get_by_name(struct att_store *s, const char *name,
                                         struct att_principal_rec *out);
att_err att_sqlite_principal_get_by_cert(struct att_store *s, const char *cert_sha256,
                                         struct att_principal_rec *out);
att_err att_sqlite_principal_list(struct att_store *s, att_store_principal_cb cb, void *arg);
att_err att_sqlite_principal_set_disabled(struct att_store *s, const char *id, bool disabled);
att_err att_sqlite_principal_set_cert(struct att_store *s, const char *id, const char *cert_sha256,
                                      const uint8_t *cert_der, size_t cert_der_len);
att_err att_sqlite_principal_touch(struct att_store *s, const char *id, int64_t at,
                                   const char *from);
att_err att_sqlite_principal_delete(struct att_store *s, const char *id);

att_err att_sqlite_secret_insert(struct att_store *s, const struct att_secret_rec *sec);
att_err att_sqlite_secret_list(struct att_store *s, const char *principal_id,
                               att_store_secret_cb cb, void *arg);
att_err att_sqlite_secret_revoke(struct att_store *s, const char *id, int64_t at);

att_err att_sqlite_role_insert(struct att_store *s, const struct att_role_rec *r);
att_err att_sqlite_role_get(struct att_store *s, const char *id, struct att_role_rec *out);
att_err att_sqlite_role_list(struct att_store *s, att_store_role_cb cb, void *arg);
att_err att_sqlite_role_list_for(struct att_store *s, const struct att_role_query *q,
                                 att_store_role_cb cb, void *arg);
att_err att_sqlite_role_count_enabled(struct att_store *s, const char *role, const char *provider,
                                      const char *except_role, const char *except_principal,
                                      int64_t *count);
att_err att_sqlite_role_delete(struct att_store *s, const char *id);

/* ---- policy versions and signers (policies.c) ------------------------------ */

att_err att_sqlite_policy_version_append(struct att_store *s, struct att_policy_version_rec *v,
                                         struct att_policy_request_rec *req, int64_t keep);
att_err att_sqlite_policy_version_get(struct att_store *s, const char *provider, const char *type,
                                      int64_t version, struct att_policy_version_rec *out);
att_err att_sqlite_policy_version_list(struct att_store *s, const char *provider, const char *type,
                                       int64_t after, int64_t limit, att_store_policy_version_cb cb,
                                       void *arg);
att_err att_sqlite_policy_version_insert(struct att_store *s,
                                         const struct att_policy_version_rec *v);
att_err att_sqlite_policy_version_scan(struct att_store *s, att_store_policy_version_cb cb,
                                       void *arg);
att_err att_sqlite_policy_request_insert(struct att_store *s,
                                         const struct att_policy_request_rec *r);
att_err att_sqlite_policy_request_list(struct att_store *s, att_store_policy_request_cb cb,
                                       void *arg);
att_err att_sqlite_policy_request_claim(struct att_store *s, const struct att_policy_request_rec *r,
                                        int64_t now);
att_err att_sqlite_policy_request_get(struct att_store *s, const char *provider, const char *scope,
                                      const char *digest, struct att_policy_request_rec *out);
att_err att_sqlite_policy_request_forget(struct att_store *s, const char *provider,
                                         const char *scope, const char *digest);
att_err att_sqlite_signer_insert(struct att_store *s, const struct att_signer_rec *r);
att_err att_sqlite_signer_delete(struct att_store *s, const char *provider, const char *sha256);
att_err att_sqlite_signer_get(struct att_store *s, const char *provider, const char *sha256,
                              struct att_signer_rec *out);
att_err att_sqlite_signer_list(struct att_store *s, const char *provider, att_store_signer_cb cb,
                               void *arg);

/* ---- collateral (collateral.c) --------------------------------------------- */

att_err att_sqlite_collateral_put(struct att_store *s, const struct att_collateral_rec *r,
                                  bool *replaced);
att_err att_sqlite_collateral_get(struct att_store *s, const char *scope, const char *kind,
                                  const char *key, struct att_collateral_rec *out);
att_err att_sqlite_collateral_list(struct att_store *s, att_store_collateral_cb cb, void *arg);
att_err att_sqlite_collateral_delete_scope(struct att_store *s, const char *scope, int *deleted);

#endif
