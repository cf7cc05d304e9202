/*
 * policies.c - policy versions and policy signer certificates in the SQLite backend (tables
 * policy_versions and policy_signers; migration 4).
 *
 * Input trust: records come from our callers (checked in store.c); rows come from a database
 * file someone else may have edited, so every column is type-checked and must fit its field.
 * The policy JWS of a version is stored sealed (the caller seals; we keep the blob).
 */
#include "store/sqlite/sqlite_int.h"

#include <stdbool.h>

#include "store/store.h"

/* ---- policy versions -------------------------------------------------------------------- */

#define VERSION_COLS                                                                               \
    "id, provider, type, version, action, sealed_jws, policy_hash, signer_sha256, principal,"      \
    " principal_name, source, created_at, rollback_of"

static att_err read_version(sqlite3_stmt *st, struct att_policy_version_rec *v)
{
    ATT_TRY(att_sqlite_col_text(st, 0, v->id, sizeof(v->id)));
    ATT_TRY(att_sqlite_col_text(st, 1, v->provider, sizeof(v->provider)));
    ATT_TRY(att_sqlite_col_text(st, 2, v->type, sizeof(v->type)));
    ATT_TRY(att_sqlite_col_i64(st, 3, &v->version));
    ATT_TRY(att_sqlite_col_text(st, 4, v->action, sizeof(v->action)));
    ATT_TRY(att_sqlite_col_blob(st, 5, &v->sealed_jws));
    ATT_TRY(att_sqlite_col_text(st, 6, v->policy_hash, sizeof(v->policy_hash)));
    ATT_TRY(att_sqlite_col_text(st, 7, v->signer_sha256, sizeof(v->signer_sha256)));
    ATT_TRY(att_sqlite_col_text(st, 8, v->principal, sizeof(v->principal)));
    ATT_TRY(att_sqlite_col_text(st, 9, v->principal_name, sizeof(v->principal_name)));
    ATT_TRY(att_sqlite_col_text(st, 10, v->source, sizeof(v->source)));
    ATT_TRY(att_sqlite_col_i64(st, 11, &v->created_at));
    ATT_TRY(att_sqlite_col_i64(st, 12, &v->rollback_of));
    return ATT_OK;
}

/*
 * One statement takes the next version number and inserts the row, so two writers can never
 * get the same number (the UNIQUE index would refuse the second anyway).
 */
att_err att_sqlite_policy_version_append(struct att_store *s, struct att_policy_version_rec *v)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    sqlite3 *db = att_sqlite_db(s);
    ATT_GUARD(att_sqlite_prepare(
        db,
        "INSERT INTO policy_versions(" VERSION_COLS ")"
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

/* `version` 0 = the newest. */
att_err att_sqlite_policy_version_get(struct att_store *s, const char *provider, const char *type,
                                      int64_t version, struct att_policy_version_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 version == 0 ? "SELECT " VERSION_COLS " FROM policy_versions"
                                                " WHERE provider = ?1 AND type = ?2"
                                                " ORDER BY version DESC LIMIT 1"
                                              : "SELECT " VERSION_COLS " FROM policy_versions"
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
    ATT_GUARD(read_version(st, out));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_policy_version_list(struct att_store *s, const char *provider, const char *type,
                                       att_store_policy_version_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    struct att_policy_version_rec v;
    att_policy_version_rec_init(&v);
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " VERSION_COLS " FROM policy_versions"
                                 " WHERE provider = ?1 AND type = ?2 ORDER BY version",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, type));
    for (;;) {
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(read_version(st, &v));
        ATT_GUARD(cb(&v, arg));
    }
    rc = ATT_OK;
out:
    att_policy_version_rec_cleanup(&v);
    sqlite3_finalize(st);
    return rc;
}

/* ---- policy signers --------------------------------------------------------------------- */

#define SIGNER_COLS "provider, sha256, sha1, cert_der, created_at"

att_err att_sqlite_signer_insert(struct att_store *s, const struct att_signer_rec *r)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(
        att_sqlite_db(s), "INSERT INTO policy_signers(" SIGNER_COLS ") VALUES(?1,?2,?3,?4,?5)",
        &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, r->provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, r->sha256));
    ATT_GUARD(att_sqlite_bind_text(st, 3, r->sha1));
    ATT_GUARD(att_sqlite_bind_blob(st, 4, r->cert_der.data, r->cert_der.len));
    ATT_GUARD(att_sqlite_bind_i64(st, 5, r->created_at));
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/*
 * Remove a signer unless it is the provider's last one (MAA-API.md §4.4): one statement, so
 * two concurrent removals cannot both pass the check. ATT_ERR_STATE for the last signer.
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

att_err att_sqlite_signer_list(struct att_store *s, const char *provider, att_store_signer_cb cb,
                               void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    struct att_signer_rec r;
    att_signer_rec_init(&r);
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " SIGNER_COLS " FROM policy_signers WHERE provider = ?1"
                                 " ORDER BY created_at, sha256",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    for (;;) {
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(att_sqlite_col_text(st, 0, r.provider, sizeof(r.provider)));
        ATT_GUARD(att_sqlite_col_text(st, 1, r.sha256, sizeof(r.sha256)));
        ATT_GUARD(att_sqlite_col_text(st, 2, r.sha1, sizeof(r.sha1)));
        ATT_GUARD(att_sqlite_col_blob(st, 3, &r.cert_der));
        ATT_GUARD(att_sqlite_col_i64(st, 4, &r.created_at));
        ATT_GUARD(cb(&r, arg));
    }
    rc = ATT_OK;
out:
    att_signer_rec_cleanup(&r);
    sqlite3_finalize(st);
    return rc;
}
