/*
 * collateral.c - collateral items in the PostgreSQL backend (the table of
 * store/sqlite/collateral.c): the newest item per (scope, kind, key).
 *
 * Input trust: records come from our callers (checked in store.c: shapes, caps, sha256 of the
 * body); rows come from a shared database, read through the row mapper, which checks every
 * column's type and that it fits its field or buffer. Nothing here parses or verifies the
 * items: src/collateral loads (verifies) what it reads back.
 */
#include "store/postgres/pg_int.h"

#include "store/columns.h"

#include <stdbool.h>
#include <string.h>

#include "store/store.h"

/*
 * Insert, or replace the stored item when the new one is newer (store.h). The rule is the
 * WHERE of the upsert, so PostgreSQL decides it on the row it has locked: a node can never
 * replace a newer item another node stored meanwhile. When the row was kept, the stored item's
 * sha256 tells "the same item again" (ATT_OK) from "as new or newer" (ATT_ERR_EXISTS); a newer
 * item stored between the two statements gives the same answer.
 */
att_err att_pg_collateral_put(struct att_store *s, const struct att_collateral_rec *r,
                              bool *replaced)
{
    struct att_pg_args a = {0};
    att_pg_args_row(&a, &att_collateral_row, r);
    int64_t changes = 0;
    ATT_TRY(att_pg_run(
        s,
        "INSERT INTO collateral(" ATT_COLLATERAL_COLUMNS
        ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"
        " ON CONFLICT(scope, kind, key) DO UPDATE SET"
        "  sha256 = excluded.sha256, body = excluded.body, signature = excluded.signature,"
        "  issuer_chain = excluded.issuer_chain, issued = excluded.issued,"
        "  next_update = excluded.next_update, eval_num = excluded.eval_num,"
        "  source = excluded.source, stored_at = excluded.stored_at"
        " WHERE excluded.sha256 <> collateral.sha256"
        "  AND (excluded.issued > collateral.issued"
        "       OR (excluded.issued = collateral.issued"
        "           AND excluded.eval_num > collateral.eval_num))",
        &a, &changes));
    if (changes == 0) {
        PGresult *res = NULL;
        char sha[65];
        struct att_pg_args k = {0};
        att_pg_text(&k, r->scope);
        att_pg_text(&k, r->kind);
        att_pg_text(&k, r->key);
        att_err rc = att_pg_query(
            s, "SELECT sha256 FROM collateral WHERE scope = $1 AND kind = $2 AND key = $3", &k,
            &res);
        if (rc == ATT_OK) { /* no row: the upsert kept one that is not there */
            rc = PQntuples(res) == 0 ? ATT_ERR_STORE : att_pg_col_text(res, 0, 0, sha, sizeof(sha));
        }
        PQclear(res);
        ATT_TRY(rc);
        ATT_ENSURE(strcmp(sha, r->sha256) == 0, ATT_ERR_EXISTS); /* as new or newer */
    }
    *replaced = changes > 0;
    return ATT_OK;
}

att_err att_pg_collateral_get(struct att_store *s, const char *scope, const char *kind,
                              const char *key, struct att_collateral_rec *out)
{
    PGresult *res = NULL;
    struct att_collateral_rec r;
    struct att_pg_args a = {0};
    att_pg_text(&a, scope);
    att_pg_text(&a, kind);
    att_pg_text(&a, key);
    att_collateral_rec_init(&r);
    att_err rc = att_pg_query(s,
                              "SELECT " ATT_COLLATERAL_COLUMNS
                              " FROM collateral WHERE scope = $1 AND kind = $2 AND key = $3",
                              &a, &res);
    if (rc == ATT_OK) {
        rc = PQntuples(res) == 0 ? ATT_ERR_NOT_FOUND : att_pg_row(res, 0, &att_collateral_row, &r);
    }
    if (rc == ATT_OK) { /* written only now: hand the buffers over, release out's old ones */
        att_collateral_rec_cleanup(out);
        *out = r;
        att_collateral_rec_init(&r);
    }
    att_collateral_rec_cleanup(&r);
    PQclear(res);
    return rc;
}

att_err att_pg_collateral_list(struct att_store *s, att_store_collateral_cb cb, void *arg)
{
    PGresult *res = NULL;
    struct att_collateral_rec r;
    att_collateral_rec_init(&r);
    /* COLLATE "C": byte order, as SQLite sorts, whatever the database's locale. */
    att_err rc =
        att_pg_query(s,
                     "SELECT " ATT_COLLATERAL_COLUMNS " FROM collateral"
                     " ORDER BY scope COLLATE \"C\", kind COLLATE \"C\", key COLLATE \"C\"",
                     NULL, &res);
    for (int i = 0; rc == ATT_OK && i < PQntuples(res); i++) {
        rc = att_pg_row(res, i, &att_collateral_row, &r);
        rc = rc == ATT_OK ? cb(&r, arg) : rc;
    }
    att_collateral_rec_cleanup(&r);
    PQclear(res);
    return rc;
}

att_err att_pg_collateral_delete_scope(struct att_store *s, const char *scope, int *deleted)
{
    struct att_pg_args a = {0};
    int64_t n = 0;
    att_pg_text(&a, scope);
    ATT_TRY(att_pg_run(s, "DELETE FROM collateral WHERE scope = $1", &a, &n));
    *deleted = (int)n;
    return ATT_OK;
}
