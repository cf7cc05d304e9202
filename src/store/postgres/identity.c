/*
 * identity.c - who may call attestd, in the PostgreSQL backend: service principals, their
 * client secrets (slow hashes only), role assignments and the keys of attestd's own access
 * tokens (tables principals, principal_secrets, role_assignments, auth_keys; migrations 2,
 * 3 and 13). The port of store/sqlite/identity.c: same statements, same answers.
 *
 * Input trust: records come from our callers (checked in store.c); rows come from a database
 * others may write to, so every column is read through att_pg_col_* / att_pg_row, which check
 * its type and that it fits its record field exactly (a value that does not fit is
 * ATT_ERR_STORE, never silently truncated).
 *
 * Differences from SQLite, kept out of the answers:
 *   - PostgreSQL has no rowid, so lists "oldest first" break ties of created_at by the row's
 *     key instead of by insertion order.
 *   - Text is ordered with COLLATE "C" (bytes, as SQLite's BINARY), not the database's
 *     locale, which may ignore the '.', '-' and '_' of names.
 *   - A list's rows are all fetched before its first callback, so a callback may use the store.
 */
#include "store/postgres/pg_int.h"

#include "store/columns.h"

#include <stdbool.h>

#include "core/rd.h"
#include "store/store.h"

/* ---- auth keys --------------------------------------------------------------- */

/* The record's provider stays "" (att_key_rec_init): auth keys belong to attestd. */
att_err att_pg_auth_key_insert(struct att_store *s, const struct att_key_rec *k)
{
    struct att_pg_args a = {0};

    att_pg_args_row(&a, &att_auth_key_row, k);
    return att_pg_run(s, "INSERT INTO auth_keys(" ATT_AUTH_KEY_COLUMNS ") VALUES($1,$2,$3,$4,$5)",
                      &a, NULL);
}

att_err att_pg_auth_key_list(struct att_store *s, att_store_key_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    struct att_key_rec k;

    att_key_rec_init(&k);
    ATT_GUARD(att_pg_query(s,
                           "SELECT " ATT_AUTH_KEY_COLUMNS " FROM auth_keys"
                           " ORDER BY created_at, row_id",
                           NULL, &res));
    for (int i = 0; i < PQntuples(res); i++) {
        ATT_GUARD(att_pg_row(res, i, &att_auth_key_row, &k));
        ATT_GUARD(cb(&k, arg));
    }
    rc = ATT_OK;
out:
    att_key_rec_cleanup(&k);
    PQclear(res);
    return rc;
}

/* ---- principals ---------------------------------------------------------------- */

#define PRINCIPAL_COLS                                                                             \
    "id, name, disabled, cert_sha256, created_at, last_used_at, last_used_from, cert_der"
/* The same columns, with a NULL cert_der (no certificate, as in every row older than
 * migration 3) read as an empty one, which means the same (read_cert_der). */
#define PRINCIPAL_SELECT                                                                           \
    "SELECT id, name, disabled, cert_sha256, created_at, last_used_at, last_used_from,"            \
    " COALESCE(cert_der, ''::bytea) FROM principals"

/* Every column of PRINCIPAL_SELECT but the last, cert_der, which goes to a fixed array. */
#define PRINCIPAL_CERT_COL 7

/*
 * cert_der: empty (none) or a value that fits the record's array; a certificate without its
 * hash in cert_sha256 is a tampered row. Read through a capped buffer, so a value over
 * ATT_PRINCIPAL_CERT_MAX is ATT_ERR_STORE.
 */
static att_err read_cert_der(const PGresult *r, int row, struct att_principal_rec *p)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf b;
    struct att_rd rd;

    att_buf_init(&b, sizeof(p->cert_der));
    p->cert_der_len = 0;
    ATT_GUARD(att_pg_col_blob(r, row, PRINCIPAL_CERT_COL, &b));
    if (b.len > 0) {
        ATT_CHECK(p->cert_sha256[0] != '\0', ATT_ERR_STORE);
        att_rd_init(&rd, b.data, b.len);
        ATT_GUARD(att_rd_copy(&rd, p->cert_der, b.len));
        p->cert_der_len = b.len;
    }
    rc = ATT_OK;
out:
    att_buf_cleanup(&b);
    return rc;
}

static att_err read_principal(const PGresult *r, int row, struct att_principal_rec *p)
{
    ATT_TRY(att_pg_row(r, row, &att_principal_row, p));
    return read_cert_der(r, row, p);
}

/* Look a principal up by one unique text column; `sql` has one parameter. *out only on
 * success. */
static att_err principal_get_by(struct att_store *s, const char *sql, const char *key,
                                struct att_principal_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    struct att_principal_rec p;
    struct att_pg_args a = {0};

    att_pg_text(&a, key);
    ATT_GUARD(att_pg_query(s, sql, &a, &res));
    ATT_CHECK(PQntuples(res) > 0, ATT_ERR_NOT_FOUND);
    ATT_GUARD(read_principal(res, 0, &p));
    *out = p;
    rc = ATT_OK;
out:
    PQclear(res);
    return rc;
}

/* The certificate DER, or SQL NULL when there is none (NULLIF in the statement), as SQLite
 * stores it. */
#define CERT_DER_PARAM(n) "NULLIF($" #n ", ''::bytea)"

att_err att_pg_principal_insert(struct att_store *s, const struct att_principal_rec *p)
{
    struct att_pg_args a = {0};

    att_pg_text(&a, p->id);
    att_pg_text(&a, p->name);
    att_pg_bool(&a, p->disabled);
    att_pg_text(&a, p->cert_sha256);
    att_pg_i64(&a, p->created_at);
    att_pg_i64(&a, p->last_used_at);
    att_pg_text(&a, p->last_used_from);
    att_pg_blob(&a, p->cert_der, p->cert_der_len);
    /* Both the primary key (id) and UNIQUE(name) map to ATT_ERR_EXISTS. */
    return att_pg_run(s,
                      "INSERT INTO principals(" PRINCIPAL_COLS
                      ") VALUES($1,$2,$3,$4,$5,$6,$7," CERT_DER_PARAM(8) ")",
                      &a, NULL);
}

att_err att_pg_principal_get(struct att_store *s, const char *id, struct att_principal_rec *out)
{
    return principal_get_by(s, PRINCIPAL_SELECT " WHERE id = $1", id, out);
}

att_err att_pg_principal_get_by_name(struct att_store *s, const char *name,
                                     struct att_principal_rec *out)
{
    return principal_get_by(s, PRINCIPAL_SELECT " WHERE name = $1", name, out);
}

/* Through the partial index of migration 13, whose condition the statement repeats. */
att_err att_pg_principal_get_by_cert(struct att_store *s, const char *cert_sha256,
                                     struct att_principal_rec *out)
{
    return principal_get_by(s,
                            PRINCIPAL_SELECT " WHERE cert_sha256 = $1 AND cert_sha256 <> ''"
                                             " ORDER BY name COLLATE \"C\" LIMIT 1",
                            cert_sha256, out);
}

att_err att_pg_principal_list(struct att_store *s, att_store_principal_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;

    ATT_GUARD(att_pg_query(s, PRINCIPAL_SELECT " ORDER BY name COLLATE \"C\"", NULL, &res));
    for (int i = 0; i < PQntuples(res); i++) {
        struct att_principal_rec p;
        ATT_GUARD(read_principal(res, i, &p));
        ATT_GUARD(cb(&p, arg));
    }
    rc = ATT_OK;
out:
    PQclear(res);
    return rc;
}

/* Run an UPDATE or DELETE of one row named by the caller; ATT_ERR_NOT_FOUND when none
 * changed. */
static att_err run_one(struct att_store *s, const char *sql, const struct att_pg_args *a)
{
    int64_t changes = 0;

    ATT_TRY(att_pg_run(s, sql, a, &changes));
    ATT_ENSURE(changes > 0, ATT_ERR_NOT_FOUND);
    return ATT_OK;
}

att_err att_pg_principal_set_disabled(struct att_store *s, const char *id, bool disabled)
{
    struct att_pg_args a = {0};

    att_pg_text(&a, id);
    att_pg_bool(&a, disabled);
    /* PostgreSQL counts every row the WHERE matched, also when the value was already set (as
     * SQLite does), so setting it twice is not ATT_ERR_NOT_FOUND. */
    return run_one(s, "UPDATE principals SET disabled = $2 WHERE id = $1", &a);
}

att_err att_pg_principal_set_cert(struct att_store *s, const char *id, const char *cert_sha256,
                                  const uint8_t *cert_der, size_t cert_der_len)
{
    struct att_pg_args a = {0};

    att_pg_text(&a, id);
    att_pg_text(&a, cert_sha256);
    att_pg_blob(&a, cert_der, cert_der_len);
    /* One statement: the hash and the DER never disagree, not even for a moment. */
    return run_one(
        s, "UPDATE principals SET cert_sha256 = $2, cert_der = " CERT_DER_PARAM(3) " WHERE id = $1",
        &a);
}

att_err att_pg_principal_touch(struct att_store *s, const char *id, int64_t at, const char *from)
{
    struct att_pg_args a = {0};

    att_pg_text(&a, id);
    att_pg_i64(&a, at);
    att_pg_text(&a, from);
    return run_one(s, "UPDATE principals SET last_used_at = $2, last_used_from = $3 WHERE id = $1",
                   &a);
}

/* The two deletes of att_pg_principal_delete, on its transaction; `arg` holds the id. */
struct principal_delete {
    const char *id;
};

static att_err principal_delete_rows(struct att_store *tx, void *arg)
{
    const struct principal_delete *d = arg;
    struct att_pg_args a = {0};

    att_pg_text(&a, d->id);
    ATT_TRY(att_pg_run(tx,
                       "DELETE FROM role_assignments"
                       " WHERE subject_kind = 'principal' AND subject = $1",
                       &a, NULL));
    /* principal_secrets go by ON DELETE CASCADE (not counted in changes). */
    return run_one(tx, "DELETE FROM principals WHERE id = $1", &a);
}

/*
 * Two statements that must stand or fall together: an absent principal rolls back the
 * (then empty) delete of role assignments too. att_pg_atomic opens a transaction alone, or a
 * savepoint inside a caller's (CLI), on one connection no other thread uses meanwhile.
 */
att_err att_pg_principal_delete(struct att_store *s, const char *id)
{
    struct principal_delete d = {id};
    return att_pg_atomic(s, principal_delete_rows, &d);
}

/* ---- client secrets ---------------------------------------------------------------- */

att_err att_pg_secret_insert(struct att_store *s, const struct att_secret_rec *sec)
{
    struct att_pg_args a = {0};

    att_pg_args_row(&a, &att_secret_row, sec);
    /* An unknown principal_id fails the foreign key (SQLSTATE 23503): ATT_ERR_STORE_CONSTRAINT. */
    return att_pg_run(
        s, "INSERT INTO principal_secrets(" ATT_SECRET_COLUMNS ") VALUES($1,$2,$3,$4,$5,$6)", &a,
        NULL);
}

att_err att_pg_secret_list(struct att_store *s, const char *principal_id, att_store_secret_cb cb,
                           void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    struct att_pg_args a = {0};

    att_pg_text(&a, principal_id);
    ATT_GUARD(att_pg_query(s,
                           "SELECT " ATT_SECRET_COLUMNS " FROM principal_secrets"
                           " WHERE principal_id = $1 ORDER BY created_at, row_id",
                           &a, &res));
    for (int i = 0; i < PQntuples(res); i++) {
        struct att_secret_rec sec;
        ATT_GUARD(att_pg_row(res, i, &att_secret_row, &sec));
        ATT_GUARD(cb(&sec, arg));
    }
    rc = ATT_OK;
out:
    PQclear(res);
    return rc;
}

att_err att_pg_secret_revoke(struct att_store *s, const char *id, int64_t at)
{
    struct att_pg_args a = {0};

    att_pg_text(&a, id);
    att_pg_i64(&a, at);
    /* revoked_at = 0 in the WHERE: a revocation time, once set, is never moved. */
    return run_one(
        s, "UPDATE principal_secrets SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0", &a);
}

/* ---- role assignments ------------------------------------------------------------ */

att_err att_pg_role_insert(struct att_store *s, const struct att_role_rec *r)
{
    struct att_pg_args a = {0};

    att_pg_args_row(&a, &att_role_row, r);
    /* The id and the UNIQUE(kind, subject, issuer, role, provider) both map to ATT_ERR_EXISTS;
     * the CHECK on subject_kind (SQLSTATE 23514) to ATT_ERR_STORE_CONSTRAINT. */
    return att_pg_run(
        s, "INSERT INTO role_assignments(" ATT_ROLE_COLUMNS ") VALUES($1,$2,$3,$4,$5,$6,$7)", &a,
        NULL);
}

att_err att_pg_role_get(struct att_store *s, const char *id, struct att_role_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    struct att_role_rec r;
    struct att_pg_args a = {0};

    att_pg_text(&a, id);
    ATT_GUARD(att_pg_query(s, "SELECT " ATT_ROLE_COLUMNS " FROM role_assignments WHERE id = $1", &a,
                           &res));
    ATT_CHECK(PQntuples(res) > 0, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_pg_row(res, 0, &att_role_row, &r));
    *out = r;
    rc = ATT_OK;
out:
    PQclear(res);
    return rc;
}

/* Run a query of ATT_ROLE_COLUMNS, then one callback per row (all fetched first). */
static att_err role_rows(struct att_store *s, const char *sql, const struct att_pg_args *a,
                         att_store_role_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;

    ATT_GUARD(att_pg_query(s, sql, a, &res));
    for (int i = 0; i < PQntuples(res); i++) {
        struct att_role_rec r;
        ATT_GUARD(att_pg_row(res, i, &att_role_row, &r));
        ATT_GUARD(cb(&r, arg));
    }
    rc = ATT_OK;
out:
    PQclear(res);
    return rc;
}

att_err att_pg_role_list(struct att_store *s, att_store_role_cb cb, void *arg)
{
    return role_rows(
        s, "SELECT " ATT_ROLE_COLUMNS " FROM role_assignments ORDER BY created_at, row_id", NULL,
        cb, arg);
}

/*
 * One statement for a caller and all its groups, as in SQLite: $4 .. $35 are the group slots
 * (ATT_STORE_ROLE_GROUPS_MAX), the unused ones NULL, which equals nothing.
 */
#define ROLE_GROUP_SLOTS                                                                           \
    "$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,"   \
    "$28,$29,$30,$31,$32,$33,$34,$35"
_Static_assert(ATT_STORE_ROLE_GROUPS_MAX == 32, "ROLE_GROUP_SLOTS has one slot per group");
_Static_assert(3 + ATT_STORE_ROLE_GROUPS_MAX <= ATT_PG_ARGS_MAX, "room for every group slot");

att_err att_pg_role_list_for(struct att_store *s, const struct att_role_query *q,
                             att_store_role_cb cb, void *arg)
{
    struct att_pg_args a = {0};

    att_pg_text(&a, q->kind);
    att_pg_text(&a, q->subject);
    att_pg_text(&a, q->issuer != NULL ? q->issuer : "");
    for (size_t i = 0; i < ATT_STORE_ROLE_GROUPS_MAX; i++) {
        if (i < q->n_groups) {
            att_pg_text(&a, q->groups[i]);
        } else {
            att_pg_null_text(&a);
        }
    }
    return role_rows(s,
                     "SELECT " ATT_ROLE_COLUMNS " FROM role_assignments"
                     " WHERE (subject_kind = $1 AND subject = $2"
                     "        AND (subject_kind = 'principal' OR issuer = $3))"
                     "    OR (subject_kind = 'group' AND issuer = $3"
                     "        AND subject IN (" ROLE_GROUP_SLOTS "))"
                     " ORDER BY created_at, row_id",
                     &a, cb, arg);
}

att_err att_pg_role_count_enabled(struct att_store *s, const char *role, const char *provider,
                                  const char *except_role, const char *except_principal,
                                  int64_t *count)
{
    struct att_pg_args a = {0};

    att_pg_text(&a, role);
    att_pg_text(&a, provider);
    att_pg_text(&a, except_role);
    att_pg_text(&a, except_principal);
    return att_pg_query_i64(s,
                            "SELECT COUNT(*)::int8 FROM role_assignments r"
                            " JOIN principals p ON p.id = r.subject"
                            " WHERE r.subject_kind = 'principal' AND r.role = $1"
                            "   AND r.provider = $2 AND p.disabled = 0"
                            "   AND r.id <> $3 AND p.id <> $4",
                            &a, count);
}

att_err att_pg_role_delete(struct att_store *s, const char *id)
{
    struct att_pg_args a = {0};

    att_pg_text(&a, id);
    return run_one(s, "DELETE FROM role_assignments WHERE id = $1", &a);
}
