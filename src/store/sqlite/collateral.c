/*
 * collateral.c - Intel collateral items in the SQLite backend (table collateral; migration 5):
 * the newest item per (scope, kind, key) (the scope since migration 12).
 *
 * Input trust: records come from our callers (checked in store.c: shapes, caps, sha256 of the
 * body); rows come from a database file someone else may have edited, so every column is
 * type-checked and must fit its field or buffer. Nothing here parses or verifies the items:
 * src/collateral loads (verifies) what it reads back.
 */
#include "store/sqlite/sqlite_int.h"

#include "store/columns.h"

#include <stdbool.h>
#include <string.h>

#include "store/store.h"

/*
 * Insert, or replace the stored item when the new one is newer (store.h): the rule is the
 * WHERE of the upsert, so it is decided inside SQLite's write lock, also against other
 * processes on the same file. *changes is 1 when the row was written, 0 when it was kept.
 */
static att_err upsert(sqlite3 *db, const struct att_collateral_rec *r, int *changes)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(
        db,
        "INSERT INTO collateral(" ATT_COLLATERAL_COLUMNS
        ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
        " ON CONFLICT(scope, kind, key) DO UPDATE SET"
        "  sha256 = excluded.sha256, body = excluded.body, signature = excluded.signature,"
        "  issuer_chain = excluded.issuer_chain, issued = excluded.issued,"
        "  next_update = excluded.next_update, eval_num = excluded.eval_num,"
        "  source = excluded.source, stored_at = excluded.stored_at"
        " WHERE excluded.sha256 <> collateral.sha256"
        "  AND (excluded.issued > collateral.issued"
        "       OR (excluded.issued = collateral.issued"
        "           AND excluded.eval_num > collateral.eval_num))",
        &st));
    ATT_GUARD(att_sqlite_bind_row(st, &att_collateral_row, r));
    ATT_GUARD(att_sqlite_step_done(db, st, changes));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Whether the stored item of (scope, kind, key) has this sha256. */
static att_err stored_is(sqlite3 *db, const struct att_collateral_rec *r, bool *same)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    char sha[65];
    ATT_GUARD(att_sqlite_prepare(
        db, "SELECT sha256 FROM collateral WHERE scope = ?1 AND kind = ?2 AND key = ?3", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, r->scope));
    ATT_GUARD(att_sqlite_bind_text(st, 2, r->kind));
    ATT_GUARD(att_sqlite_bind_text(st, 3, r->key));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_STORE); /* the upsert kept a row that is not there */
    ATT_GUARD(att_sqlite_col_text(st, 0, sha, sizeof(sha)));
    *same = strcmp(sha, r->sha256) == 0;
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/*
 * The connection is shared by threads (sqlite.c): its mutex, which is recursive, is held over
 * both statements so the row read back is the one the upsert kept. Another process may still
 * replace it in between, but only with a newer item, which does not change the answer.
 */
att_err att_sqlite_collateral_put(struct att_store *s, const struct att_collateral_rec *r,
                                  bool *replaced)
{
    sqlite3 *db = att_sqlite_db(s);
    sqlite3_mutex *mu = sqlite3_db_mutex(db);
    int changes = 0;
    bool same = false;

    sqlite3_mutex_enter(mu);
    att_err rc = upsert(db, r, &changes);
    if (rc == ATT_OK && changes == 0) {
        rc = stored_is(db, r, &same);
        if (rc == ATT_OK && !same) {
            rc = ATT_ERR_EXISTS; /* the stored item is as new or newer */
        }
    }
    sqlite3_mutex_leave(mu);
    if (rc == ATT_OK) {
        *replaced = changes > 0;
    }
    return rc;
}

att_err att_sqlite_collateral_get(struct att_store *s, const char *scope, const char *kind,
                                  const char *key, struct att_collateral_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    struct att_collateral_rec r;
    att_collateral_rec_init(&r);
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_COLLATERAL_COLUMNS
                                 " FROM collateral WHERE scope = ?1 AND kind = ?2 AND key = ?3",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, scope));
    ATT_GUARD(att_sqlite_bind_text(st, 2, kind));
    ATT_GUARD(att_sqlite_bind_text(st, 3, key));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_sqlite_row(st, &att_collateral_row, &r));
    /* Written only now: hand the buffers over and release out's old ones. */
    att_collateral_rec_cleanup(out);
    *out = r;
    att_collateral_rec_init(&r);
    rc = ATT_OK;
out:
    att_collateral_rec_cleanup(&r);
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_collateral_list(struct att_store *s, att_store_collateral_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    struct att_collateral_rec r;
    att_collateral_rec_init(&r);
    ATT_GUARD(att_sqlite_prepare(
        att_sqlite_db(s),
        "SELECT " ATT_COLLATERAL_COLUMNS " FROM collateral ORDER BY scope, kind, key", &st));
    for (;;) {
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(att_sqlite_row(st, &att_collateral_row, &r));
        ATT_GUARD(cb(&r, arg));
    }
    rc = ATT_OK;
out:
    att_collateral_rec_cleanup(&r);
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_collateral_delete_scope(struct att_store *s, const char *scope, int *deleted)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s), "DELETE FROM collateral WHERE scope = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, scope));
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, deleted));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}
