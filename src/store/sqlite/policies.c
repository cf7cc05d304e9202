/*
 * policies.c - policy versions and policy signer certificates in the SQLite backend (tables
 * policy_versions and policy_signers, migration 4; policy_requests, migration 7).
 *
 * Input trust: records come from our callers (checked in store.c); rows come from a database
 * file someone else may have edited, so every column is type-checked and must fit its field.
 * The policy JWS of a version is stored sealed (the caller seals; we keep the blob).
 */
#include "store/sqlite/sqlite_int.h"

#include "store/columns.h"

#include <stdbool.h>
#include <string.h>

#include "store/store.h"

/* ---- policy versions -------------------------------------------------------------------- */

/*
 * One statement takes the next version number and inserts the row, so two writers can never
 * get the same number (the UNIQUE index would refuse the second anyway).
 */
static att_err insert_version(sqlite3 *db, struct att_policy_version_rec *v)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    ATT_GUARD(att_sqlite_prepare(
        db,
        "INSERT INTO policy_versions(" ATT_VERSION_COLUMNS ")"
        " SELECT ?1, ?2, ?3, COALESCE(MAX(version), 0) + 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12"
        " FROM policy_versions WHERE provider = ?2 AND type = ?3",
        &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, v->id));
    ATT_GUARD(att_sqlite_bind_text(st, 2, v->provider));
    ATT_GUARD(att_sqlite_bind_text(st, 3, v->type));
    ATT_GUARD(att_sqlite_bind_text(st, 4, v->action));
    ATT_GUARD(att_sqlite_bind_blob(st, 5, v->sealed_jws.data, v->sealed_jws.len));
    ATT_GUARD(att_sqlite_bind_text(st, 6, v->policy_hash));
    ATT_GUARD(att_sqlite_bind_text(st, 7, v->signer_sha256));
    ATT_GUARD(att_sqlite_bind_text(st, 8, v->principal));
    ATT_GUARD(att_sqlite_bind_text(st, 9, v->principal_name));
    ATT_GUARD(att_sqlite_bind_text(st, 10, v->source));
    ATT_GUARD(att_sqlite_bind_i64(st, 11, v->created_at));
    ATT_GUARD(att_sqlite_bind_i64(st, 12, v->rollback_of));
    ATT_GUARD(att_sqlite_step_done(db, st, NULL));
    sqlite3_finalize(st);
    st = NULL;
    ATT_GUARD(att_sqlite_prepare(db, "SELECT version FROM policy_versions WHERE id = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, v->id));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_STORE);
    ATT_GUARD(att_sqlite_col_i64(st, 0, &v->version));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Bounded growth: a bound request's record is useless once its window has closed. */
static att_err prune_requests(sqlite3 *db, int64_t now)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(
        db, "DELETE FROM policy_requests WHERE expires_at > 0 AND expires_at < ?1", &st));
    ATT_GUARD(att_sqlite_bind_i64(st, 1, now));
    ATT_GUARD(att_sqlite_step_done(db, st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/*
 * Record a request: a bound one (expires_at > 0) must be new (ATT_ERR_TOKEN_REPLAY); an
 * unbound one keeps its first record (the version that first applied it).
 */
static att_err insert_request(sqlite3 *db, const struct att_policy_request_rec *r)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool once = r->expires_at > 0;
    ATT_GUARD(att_sqlite_prepare(db,
                                 once ? "INSERT INTO policy_requests(provider, scope, digest,"
                                        " expires_at, version) VALUES(?1, ?2, ?3, ?4, ?5)"
                                      : "INSERT OR IGNORE INTO policy_requests(provider, scope,"
                                        " digest, expires_at, version) VALUES(?1, ?2, ?3, ?4, ?5)",
                                 &st));
    ATT_GUARD(att_sqlite_bind_row(st, &att_request_row, r));
    rc = att_sqlite_step_done(db, st, NULL);
    if (rc == ATT_ERR_EXISTS) {
        rc = ATT_ERR_TOKEN_REPLAY;
    }
out:
    sqlite3_finalize(st);
    return rc;
}

/* Retention: the newest `keep` versions of (provider, type) stay; the newest is in force. */
static att_err prune_versions(sqlite3 *db, const struct att_policy_version_rec *v, int64_t keep)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(db,
                                 "DELETE FROM policy_versions WHERE provider = ?1 AND type = ?2"
                                 " AND version <= ?3",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, v->provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, v->type));
    ATT_GUARD(att_sqlite_bind_i64(st, 3, v->version - keep));
    ATT_GUARD(att_sqlite_step_done(db, st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err append_rows(sqlite3 *db, struct att_policy_version_rec *v,
                           struct att_policy_request_rec *req, int64_t keep)
{
    ATT_TRY(insert_version(db, v));
    if (req != NULL) {
        req->version = v->version;
        ATT_TRY(prune_requests(db, v->created_at));
        ATT_TRY(insert_request(db, req));
    }
    if (keep > 0) {
        ATT_TRY(prune_versions(db, v, keep));
    }
    return ATT_OK;
}

/*
 * The version, its request record and the retention pruning stand or fall together: a SAVEPOINT
 * with the connection's (recursive) mutex held throughout, as in identity.c, so no other
 * thread's statement lands inside it.
 */
att_err att_sqlite_policy_version_append(struct att_store *s, struct att_policy_version_rec *v,
                                         struct att_policy_request_rec *req, int64_t keep)
{
    sqlite3 *db = att_sqlite_db(s);
    sqlite3_mutex *mu = sqlite3_db_mutex(db);

    sqlite3_mutex_enter(mu);
    att_err rc = att_sqlite_exec(db, "SAVEPOINT policy_append");
    if (rc == ATT_OK) {
        rc = append_rows(db, v, req, keep);
        if (rc == ATT_OK) {
            rc = att_sqlite_exec(db, "RELEASE policy_append");
        }
        if (rc != ATT_OK) {
            /* Undo and close the savepoint; the first error is the one reported. */
            att_ignore_err(att_sqlite_exec(db, "ROLLBACK TO policy_append"));
            att_ignore_err(att_sqlite_exec(db, "RELEASE policy_append"));
        }
    }
    sqlite3_mutex_leave(mu);
    return rc;
}

/* `version` 0 = the newest. */
att_err att_sqlite_policy_version_get(struct att_store *s, const char *provider, const char *type,
                                      int64_t version, struct att_policy_version_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 version == 0
                                     ? "SELECT " ATT_VERSION_COLUMNS " FROM policy_versions"
                                       " WHERE provider = ?1 AND type = ?2"
                                       " ORDER BY version DESC LIMIT 1"
                                     : "SELECT " ATT_VERSION_COLUMNS " FROM policy_versions"
                                       " WHERE provider = ?1 AND type = ?2"
                                       " AND version = ?3",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, type));
    if (version != 0) {
        ATT_GUARD(att_sqlite_bind_i64(st, 3, version));
    }
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_sqlite_row(st, &att_version_row, out));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* `limit` 0 = all (SQLite: a negative LIMIT has no upper bound). */
att_err att_sqlite_policy_version_list(struct att_store *s, const char *provider, const char *type,
                                       int64_t after, int64_t limit, att_store_policy_version_cb cb,
                                       void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    struct att_policy_version_rec v;
    att_policy_version_rec_init(&v);
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_VERSION_COLUMNS " FROM policy_versions"
                                 " WHERE provider = ?1 AND type = ?2 AND version > ?3"
                                 " ORDER BY version LIMIT ?4",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, type));
    ATT_GUARD(att_sqlite_bind_i64(st, 3, after));
    ATT_GUARD(att_sqlite_bind_i64(st, 4, limit > 0 ? limit : -1));
    for (;;) {
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(att_sqlite_row(st, &att_version_row, &v));
        ATT_GUARD(cb(&v, arg));
    }
    rc = ATT_OK;
out:
    att_policy_version_rec_cleanup(&v);
    sqlite3_finalize(st);
    return rc;
}

/* A version as given, its number included (store.h: copies between stores). */
att_err att_sqlite_policy_version_insert(struct att_store *s,
                                         const struct att_policy_version_rec *v)
{
    return att_sqlite_insert_row(att_sqlite_db(s),
                                 "INSERT INTO policy_versions(" ATT_VERSION_COLUMNS
                                 ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                                 &att_version_row, v);
}

att_err att_sqlite_policy_version_scan(struct att_store *s, att_store_policy_version_cb cb,
                                       void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    struct att_policy_version_rec v;
    att_policy_version_rec_init(&v);
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_VERSION_COLUMNS " FROM policy_versions"
                                 " ORDER BY provider, type, version",
                                 &st));
    for (;;) {
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(att_sqlite_row(st, &att_version_row, &v));
        ATT_GUARD(cb(&v, arg));
    }
    rc = ATT_OK;
out:
    att_policy_version_rec_cleanup(&v);
    sqlite3_finalize(st);
    return rc;
}

/* ---- policy requests (migration 7) ----------------------------------------------------- */

att_err att_sqlite_policy_request_claim(struct att_store *s, const struct att_policy_request_rec *r,
                                        int64_t now)
{
    sqlite3 *db = att_sqlite_db(s);
    ATT_TRY(prune_requests(db, now));
    return insert_request(db, r);
}

att_err att_sqlite_policy_request_get(struct att_store *s, const char *provider, const char *scope,
                                      const char *digest, struct att_policy_request_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    struct att_policy_request_rec r;
    memset(&r, 0, sizeof(r));
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_REQUEST_COLUMNS " FROM policy_requests"
                                 " WHERE provider = ?1 AND scope = ?2 AND digest = ?3",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, scope));
    ATT_GUARD(att_sqlite_bind_text(st, 3, digest));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_sqlite_row(st, &att_request_row, &r));
    *out = r;
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_policy_request_forget(struct att_store *s, const char *provider,
                                         const char *scope, const char *digest)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    int changes = 0;
    ATT_GUARD(att_sqlite_prepare(
        att_sqlite_db(s),
        "DELETE FROM policy_requests WHERE provider = ?1 AND scope = ?2 AND digest = ?3", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, scope));
    ATT_GUARD(att_sqlite_bind_text(st, 3, digest));
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, &changes));
    ATT_CHECK(changes > 0, ATT_ERR_NOT_FOUND);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* A record as given: no pruning, and a conflict is an error whatever the kind (store.h). */
att_err att_sqlite_policy_request_insert(struct att_store *s,
                                         const struct att_policy_request_rec *r)
{
    return att_sqlite_insert_row(att_sqlite_db(s),
                                 "INSERT INTO policy_requests(" ATT_REQUEST_COLUMNS
                                 ") VALUES(?1, ?2, ?3, ?4, ?5)",
                                 &att_request_row, r);
}

att_err att_sqlite_policy_request_list(struct att_store *s, att_store_policy_request_cb cb,
                                       void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_REQUEST_COLUMNS " FROM policy_requests"
                                 " ORDER BY provider, scope, digest",
                                 &st));
    for (;;) {
        struct att_policy_request_rec r;
        memset(&r, 0, sizeof(r));
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(att_sqlite_row(st, &att_request_row, &r));
        ATT_GUARD(cb(&r, arg));
    }
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* ---- policy signers --------------------------------------------------------------------- */

att_err att_sqlite_signer_insert(struct att_store *s, const struct att_signer_rec *r)
{
    return att_sqlite_insert_row(att_sqlite_db(s),
                                 "INSERT INTO policy_signers(" ATT_SIGNER_COLUMNS
                                 ") VALUES(?1,?2,?3,?4,?5)",
                                 &att_signer_row, r);
}

/*
 * Remove a signer unless it is the provider's last one (docs/reference/maa-policy.md §4.4): one
 * statement, so two concurrent removals cannot both pass the check. ATT_ERR_STATE for the last
 * signer.
 */
att_err att_sqlite_signer_delete(struct att_store *s, const char *provider, const char *sha256)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    int changes = 0;
    bool done = false;
    sqlite3 *db = att_sqlite_db(s);
    ATT_GUARD(att_sqlite_prepare(
        db, "SELECT 1 FROM policy_signers WHERE provider = ?1 AND sha256 = ?2", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, sha256));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    sqlite3_finalize(st);
    st = NULL;
    ATT_GUARD(
        att_sqlite_prepare(db,
                           "DELETE FROM policy_signers WHERE provider = ?1 AND sha256 = ?2"
                           " AND (SELECT COUNT(*) FROM policy_signers WHERE provider = ?1) > 1",
                           &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, sha256));
    ATT_GUARD(att_sqlite_step_done(db, st, &changes));
    ATT_CHECK(changes > 0, ATT_ERR_STATE);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* By the primary key (provider, sha256): one row, never the provider's whole list. */
att_err att_sqlite_signer_get(struct att_store *s, const char *provider, const char *sha256,
                              struct att_signer_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    struct att_signer_rec r;
    att_signer_rec_init(&r);
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_SIGNER_COLUMNS " FROM policy_signers"
                                 " WHERE provider = ?1 AND sha256 = ?2",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, sha256));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_sqlite_row(st, &att_signer_row, &r));
    /* Written only now: hand the buffer over and release out's old one. */
    att_signer_rec_cleanup(out);
    *out = r;
    att_signer_rec_init(&r);
    rc = ATT_OK;
out:
    att_signer_rec_cleanup(&r);
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_signer_list(struct att_store *s, const char *provider, att_store_signer_cb cb,
                               void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    struct att_signer_rec r;
    att_signer_rec_init(&r);
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_SIGNER_COLUMNS
                                 " FROM policy_signers WHERE provider = ?1"
                                 " ORDER BY created_at, sha256",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    for (;;) {
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(att_sqlite_row(st, &att_signer_row, &r));
        ATT_GUARD(cb(&r, arg));
    }
    rc = ATT_OK;
out:
    att_signer_rec_cleanup(&r);
    sqlite3_finalize(st);
    return rc;
}
