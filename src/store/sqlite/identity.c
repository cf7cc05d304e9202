/*
 * identity.c - who may call attestd, in the SQLite backend: service
 * principals, their client secrets (slow hashes only), role assignments and
 * the keys of attestd's own access tokens (tables principals,
 * principal_secrets, role_assignments, auth_keys; migrations 2, 3 and 13).
 *
 * Input trust: records come from our callers (checked in store.c); rows come
 * from a database file that someone else may have edited, so every column is
 * type-checked and every string must fit its record field exactly (a value
 * that does not fit is ATT_ERR_STORE, never silently truncated).
 *
 * Prepared statements only, with bound parameters; each operation prepares,
 * runs and finalizes its own statement, so threads never share one.
 */
#include "store/sqlite/sqlite_int.h"

#include "store/columns.h"

#include <stdbool.h>

#include "core/rd.h"
#include "store/store.h"

/* ---- auth keys --------------------------------------------------------------- */

/* The record's provider stays "": auth keys belong to attestd, not to a provider. */
att_err att_sqlite_auth_key_insert(struct att_store *s, const struct att_key_rec *k)
{
    return att_sqlite_insert_row(
        att_sqlite_db(s), "INSERT INTO auth_keys(" ATT_AUTH_KEY_COLUMNS ") VALUES(?1,?2,?3,?4,?5)",
        &att_auth_key_row, k);
}

att_err att_sqlite_auth_key_list(struct att_store *s, att_store_key_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    struct att_key_rec k;
    bool done = false;

    att_key_rec_init(&k);
    ATT_GUARD(att_sqlite_prepare(
        att_sqlite_db(s),
        "SELECT " ATT_AUTH_KEY_COLUMNS " FROM auth_keys ORDER BY created_at, rowid", &st));
    for (;;) {
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(att_sqlite_row(st, &att_auth_key_row, &k));
        ATT_GUARD(cb(&k, arg));
    }
    rc = ATT_OK;
out:
    att_key_rec_cleanup(&k);
    sqlite3_finalize(st);
    return rc;
}

/* ---- principals ---------------------------------------------------------------- */

#define PRINCIPAL_COLS                                                                             \
    "id, name, disabled, cert_sha256, created_at, last_used_at, last_used_from, cert_der"

/*
 * cert_der: NULL or an empty BLOB (none), or a BLOB that fits the record's array; a
 * certificate without its hash in cert_sha256 is a tampered row.
 */
static att_err read_cert_der(sqlite3_stmt *st, int i, struct att_principal_rec *p)
{
    struct att_rd r;
    p->cert_der_len = 0;
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        return ATT_OK;
    }
    ATT_ENSURE(sqlite3_column_type(st, i) == SQLITE_BLOB, ATT_ERR_STORE);
    const void *v = sqlite3_column_blob(st, i); /* before _bytes, as documented */
    int n = sqlite3_column_bytes(st, i);
    ATT_ENSURE(n >= 0 && (size_t)n <= sizeof(p->cert_der) && (v != NULL || n == 0), ATT_ERR_STORE);
    if (n == 0) {
        return ATT_OK;
    }
    ATT_ENSURE(p->cert_sha256[0] != '\0', ATT_ERR_STORE);
    att_rd_init(&r, v, (size_t)n);
    ATT_TRY(att_rd_copy(&r, p->cert_der, (size_t)n));
    p->cert_der_len = (size_t)n;
    return ATT_OK;
}

static att_err read_principal(sqlite3_stmt *st, struct att_principal_rec *p)
{
    ATT_TRY(att_sqlite_row(st, &att_principal_row, p));
    ATT_TRY(read_cert_der(st, 7, p));
    return ATT_OK;
}

/* Bind the certificate DER, or SQL NULL when there is none. */
static att_err bind_cert_der(sqlite3_stmt *st, int i, const uint8_t *der, size_t len)
{
    if (len == 0) {
        int src = sqlite3_bind_null(st, i);
        ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
        return ATT_OK;
    }
    return att_sqlite_bind_blob(st, i, der, len);
}

/* Run a query that yields at most one principal (bound by the caller); *out only on success. */
static att_err principal_query_one(sqlite3_stmt *st, struct att_principal_rec *out)
{
    struct att_principal_rec p;
    bool done = false;

    ATT_TRY(att_sqlite_step_row(st, &done));
    ATT_ENSURE(!done, ATT_ERR_NOT_FOUND);
    ATT_TRY(read_principal(st, &p));
    *out = p;
    return ATT_OK;
}

/* Look a principal up by one text column; `sql` has one parameter. */
static att_err principal_get_by(struct att_store *s, const char *sql, const char *key,
                                struct att_principal_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;

    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s), sql, &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, key));
    ATT_GUARD(principal_query_one(st, out));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_principal_insert(struct att_store *s, const struct att_principal_rec *p)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    sqlite3 *db = att_sqlite_db(s);

    ATT_GUARD(att_sqlite_prepare(
        db, "INSERT INTO principals(" PRINCIPAL_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8)", &st));
    ATT_GUARD(att_sqlite_bind_row(st, &att_principal_row, p));
    ATT_GUARD(bind_cert_der(st, 8, p->cert_der, p->cert_der_len));
    /* Both the primary key (id) and UNIQUE(name) map to ATT_ERR_EXISTS. */
    ATT_GUARD(att_sqlite_step_done(db, st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_principal_get(struct att_store *s, const char *id, struct att_principal_rec *out)
{
    return principal_get_by(s, "SELECT " PRINCIPAL_COLS " FROM principals WHERE id = ?1", id, out);
}

att_err att_sqlite_principal_get_by_name(struct att_store *s, const char *name,
                                         struct att_principal_rec *out)
{
    return principal_get_by(s, "SELECT " PRINCIPAL_COLS " FROM principals WHERE name = ?1", name,
                            out);
}

/* Through the partial index of migration 13: the statement repeats its condition, which is
 * how SQLite knows the index covers every row the query can match. */
att_err att_sqlite_principal_get_by_cert(struct att_store *s, const char *cert_sha256,
                                         struct att_principal_rec *out)
{
    return principal_get_by(s,
                            "SELECT " PRINCIPAL_COLS " FROM principals"
                            " WHERE cert_sha256 = ?1 AND cert_sha256 <> ''"
                            " ORDER BY name LIMIT 1",
                            cert_sha256, out);
}

att_err att_sqlite_principal_list(struct att_store *s, att_store_principal_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;

    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " PRINCIPAL_COLS " FROM principals ORDER BY name", &st));
    for (;;) {
        struct att_principal_rec p;
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(read_principal(st, &p));
        ATT_GUARD(cb(&p, arg));
    }
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_principal_set_disabled(struct att_store *s, const char *id, bool disabled)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    sqlite3 *db = att_sqlite_db(s);
    int changes = 0;

    ATT_GUARD(att_sqlite_prepare(db, "UPDATE principals SET disabled = ?2 WHERE id = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, id));
    ATT_GUARD(att_sqlite_bind_i64(st, 2, disabled ? 1 : 0));
    /* SQLite counts every row the WHERE matched, also when the value was already set. */
    ATT_GUARD(att_sqlite_step_done(db, st, &changes));
    ATT_CHECK(changes > 0, ATT_ERR_NOT_FOUND);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_principal_set_cert(struct att_store *s, const char *id, const char *cert_sha256,
                                      const uint8_t *cert_der, size_t cert_der_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    sqlite3 *db = att_sqlite_db(s);
    int changes = 0;

    /* One statement: the hash and the DER never disagree, not even for a moment. */
    ATT_GUARD(att_sqlite_prepare(
        db, "UPDATE principals SET cert_sha256 = ?2, cert_der = ?3 WHERE id = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, id));
    ATT_GUARD(att_sqlite_bind_text(st, 2, cert_sha256));
    ATT_GUARD(bind_cert_der(st, 3, cert_der, cert_der_len));
    ATT_GUARD(att_sqlite_step_done(db, st, &changes));
    ATT_CHECK(changes > 0, ATT_ERR_NOT_FOUND);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_principal_touch(struct att_store *s, const char *id, int64_t at,
                                   const char *from)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    sqlite3 *db = att_sqlite_db(s);
    int changes = 0;

    ATT_GUARD(att_sqlite_prepare(
        db, "UPDATE principals SET last_used_at = ?2, last_used_from = ?3 WHERE id = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, id));
    ATT_GUARD(att_sqlite_bind_i64(st, 2, at));
    ATT_GUARD(att_sqlite_bind_text(st, 3, from));
    ATT_GUARD(att_sqlite_step_done(db, st, &changes));
    ATT_CHECK(changes > 0, ATT_ERR_NOT_FOUND);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Run a statement with one text parameter; *changes gets the rows it changed. */
static att_err exec_with_id(sqlite3 *db, const char *sql, const char *id, int *changes)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;

    ATT_GUARD(att_sqlite_prepare(db, sql, &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, id));
    ATT_GUARD(att_sqlite_step_done(db, st, changes));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* The two deletes of att_sqlite_principal_delete; the caller holds a savepoint. */
static att_err principal_delete_rows(sqlite3 *db, const char *id)
{
    int changes = 0;

    ATT_TRY(exec_with_id(db,
                         "DELETE FROM role_assignments"
                         " WHERE subject_kind = 'principal' AND subject = ?1",
                         id, NULL));
    /* principal_secrets go by ON DELETE CASCADE (not counted in changes). */
    ATT_TRY(exec_with_id(db, "DELETE FROM principals WHERE id = ?1", id, &changes));
    ATT_ENSURE(changes > 0, ATT_ERR_NOT_FOUND);
    return ATT_OK;
}

/*
 * Two statements that must stand or fall together. A SAVEPOINT works both
 * alone (it opens a transaction, RELEASE commits it) and inside a caller's
 * BEGIN (CLI). The connection is shared by threads (sqlite.c), so its
 * mutex, which is recursive, is held throughout: no other thread's statement
 * can land inside this transaction, or be rolled back with it.
 */
att_err att_sqlite_principal_delete(struct att_store *s, const char *id)
{
    sqlite3 *db = att_sqlite_db(s);
    sqlite3_mutex *mu = sqlite3_db_mutex(db);

    sqlite3_mutex_enter(mu);
    att_err rc = att_sqlite_exec(db, "SAVEPOINT principal_delete");
    if (rc == ATT_OK) {
        rc = principal_delete_rows(db, id);
        if (rc == ATT_OK) {
            rc = att_sqlite_exec(db, "RELEASE principal_delete");
        }
        if (rc != ATT_OK) {
            /* Undo and close the savepoint; the first error is the one reported. */
            att_ignore_err(att_sqlite_exec(db, "ROLLBACK TO principal_delete"));
            att_ignore_err(att_sqlite_exec(db, "RELEASE principal_delete"));
        }
    }
    sqlite3_mutex_leave(mu);
    return rc;
}

/* ---- client secrets ---------------------------------------------------------------- */

att_err att_sqlite_secret_insert(struct att_store *s, const struct att_secret_rec *sec)
{
    /* An unknown principal_id fails the foreign key: ATT_ERR_STORE_CONSTRAINT. */
    return att_sqlite_insert_row(att_sqlite_db(s),
                                 "INSERT INTO principal_secrets(" ATT_SECRET_COLUMNS
                                 ") VALUES(?1,?2,?3,?4,?5,?6)",
                                 &att_secret_row, sec);
}

att_err att_sqlite_secret_list(struct att_store *s, const char *principal_id,
                               att_store_secret_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;

    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_SECRET_COLUMNS " FROM principal_secrets"
                                 " WHERE principal_id = ?1 ORDER BY created_at, rowid",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, principal_id));
    for (;;) {
        struct att_secret_rec sec;
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(att_sqlite_row(st, &att_secret_row, &sec));
        ATT_GUARD(cb(&sec, arg));
    }
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_secret_revoke(struct att_store *s, const char *id, int64_t at)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    sqlite3 *db = att_sqlite_db(s);
    int changes = 0;

    /* revoked_at = 0 in the WHERE: a revocation time, once set, is never moved. */
    ATT_GUARD(att_sqlite_prepare(
        db, "UPDATE principal_secrets SET revoked_at = ?2 WHERE id = ?1 AND revoked_at = 0", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, id));
    ATT_GUARD(att_sqlite_bind_i64(st, 2, at));
    ATT_GUARD(att_sqlite_step_done(db, st, &changes));
    ATT_CHECK(changes > 0, ATT_ERR_NOT_FOUND);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* ---- role assignments ------------------------------------------------------------ */

att_err att_sqlite_role_insert(struct att_store *s, const struct att_role_rec *r)
{
    /* The id and the UNIQUE(kind, subject, issuer, role, provider) both map to ATT_ERR_EXISTS. */
    return att_sqlite_insert_row(att_sqlite_db(s),
                                 "INSERT INTO role_assignments(" ATT_ROLE_COLUMNS
                                 ") VALUES(?1,?2,?3,?4,?5,?6,?7)",
                                 &att_role_row, r);
}

att_err att_sqlite_role_get(struct att_store *s, const char *id, struct att_role_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    struct att_role_rec r;
    bool done = false;

    ATT_GUARD(att_sqlite_prepare(
        att_sqlite_db(s), "SELECT " ATT_ROLE_COLUMNS " FROM role_assignments WHERE id = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, id));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_sqlite_row(st, &att_role_row, &r));
    *out = r;
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Step a prepared query of ATT_ROLE_COLUMNS to its end, one callback per row. */
static att_err role_rows(sqlite3_stmt *st, att_store_role_cb cb, void *arg)
{
    bool done = false;

    for (;;) {
        struct att_role_rec r;
        ATT_TRY(att_sqlite_step_row(st, &done));
        if (done) {
            return ATT_OK;
        }
        ATT_TRY(att_sqlite_row(st, &att_role_row, &r));
        ATT_TRY(cb(&r, arg));
    }
}

att_err att_sqlite_role_list(struct att_store *s, att_store_role_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;

    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_ROLE_COLUMNS " FROM role_assignments"
                                 " ORDER BY created_at, rowid",
                                 &st));
    ATT_GUARD(role_rows(st, cb, arg));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/*
 * One statement for a caller and all its groups: ?4 .. ?35 are the group slots
 * (ATT_STORE_ROLE_GROUPS_MAX); slots left unbound are NULL, which equals nothing. Both terms
 * of the OR are served by the UNIQUE(subject_kind, subject, ...) index of migration 2.
 */
#define ROLE_GROUP_SLOTS                                                                           \
    "?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,"   \
    "?28,?29,?30,?31,?32,?33,?34,?35"
_Static_assert(ATT_STORE_ROLE_GROUPS_MAX == 32, "ROLE_GROUP_SLOTS has one slot per group");

att_err att_sqlite_role_list_for(struct att_store *s, const struct att_role_query *q,
                                 att_store_role_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;

    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_ROLE_COLUMNS " FROM role_assignments"
                                 " WHERE (subject_kind = ?1 AND subject = ?2"
                                 "        AND (subject_kind = 'principal' OR issuer = ?3))"
                                 "    OR (subject_kind = 'group' AND issuer = ?3"
                                 "        AND subject IN (" ROLE_GROUP_SLOTS "))"
                                 " ORDER BY created_at, rowid",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, q->kind));
    ATT_GUARD(att_sqlite_bind_text(st, 2, q->subject));
    ATT_GUARD(att_sqlite_bind_text(st, 3, q->issuer != NULL ? q->issuer : ""));
    for (size_t i = 0; i < q->n_groups; i++) {
        ATT_GUARD(att_sqlite_bind_text(st, 4 + (int)i, q->groups[i]));
    }
    ATT_GUARD(role_rows(st, cb, arg));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_role_count_enabled(struct att_store *s, const char *role, const char *provider,
                                      const char *except_role, const char *except_principal,
                                      int64_t *count)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;

    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT COUNT(*) FROM role_assignments r"
                                 " JOIN principals p ON p.id = r.subject"
                                 " WHERE r.subject_kind = 'principal' AND r.role = ?1"
                                 "   AND r.provider = ?2 AND p.disabled = 0"
                                 "   AND r.id <> ?3 AND p.id <> ?4",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, role));
    ATT_GUARD(att_sqlite_bind_text(st, 2, provider));
    ATT_GUARD(att_sqlite_bind_text(st, 3, except_role));
    ATT_GUARD(att_sqlite_bind_text(st, 4, except_principal));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_STORE);
    ATT_GUARD(att_sqlite_col_i64(st, 0, count));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_role_delete(struct att_store *s, const char *id)
{
    int changes = 0;

    ATT_TRY(
        exec_with_id(att_sqlite_db(s), "DELETE FROM role_assignments WHERE id = ?1", id, &changes));
    ATT_ENSURE(changes > 0, ATT_ERR_NOT_FOUND);
    return ATT_OK;
}
