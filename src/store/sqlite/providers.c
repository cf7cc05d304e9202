/*
 * providers.c - providers, their signing keys and data keys in the SQLite
 * backend (tables providers, signing_keys, data_keys; migrations 1 and 3; their own DCAP trust
 * anchors and the demo mark, 12).
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

#include "store/store.h"

/* ---- providers ------------------------------------------------------------ */

att_err att_sqlite_provider_insert(struct att_store *s, const struct att_provider_rec *p)
{
    return att_sqlite_insert_row(att_sqlite_db(s),
                                 "INSERT INTO providers(" ATT_PROVIDER_COLUMNS
                                 ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                                 &att_provider_row, p);
}

att_err att_sqlite_provider_get(struct att_store *s, const char *name, struct att_provider_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    struct att_provider_rec p;
    bool done = false;

    ATT_GUARD(att_sqlite_prepare(
        att_sqlite_db(s), "SELECT " ATT_PROVIDER_COLUMNS " FROM providers WHERE name = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, name));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_sqlite_row(st, &att_provider_row, &p));
    *out = p;
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_provider_list(struct att_store *s, att_store_provider_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;

    ATT_GUARD(att_sqlite_prepare(
        att_sqlite_db(s), "SELECT " ATT_PROVIDER_COLUMNS " FROM providers ORDER BY name", &st));
    for (;;) {
        struct att_provider_rec p;
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(att_sqlite_row(st, &att_provider_row, &p));
        ATT_GUARD(cb(&p, arg));
    }
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_provider_delete(struct att_store *s, const char *name)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    int changes = 0;

    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s), "DELETE FROM providers WHERE name = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, name));
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, &changes));
    ATT_CHECK(changes > 0, ATT_ERR_NOT_FOUND);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* UPDATE one column of one provider; `sql` binds ?1 = name, ?2 = text (when not NULL) or value. */
static att_err provider_update(struct att_store *s, const char *sql, const char *name,
                               const char *text, int64_t value)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    int changes = 0;

    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s), sql, &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, name));
    if (text != NULL) {
        ATT_GUARD(att_sqlite_bind_text(st, 2, text));
    } else {
        ATT_GUARD(att_sqlite_bind_i64(st, 2, value));
    }
    /* SQLite counts every row the WHERE matched, also when the value was already set. */
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, &changes));
    ATT_CHECK(changes > 0, ATT_ERR_NOT_FOUND);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_provider_set_attest_requires_auth(struct att_store *s, const char *name, bool on)
{
    return provider_update(s, "UPDATE providers SET attest_requires_auth = ?2 WHERE name = ?1",
                           name, NULL, on ? 1 : 0);
}

att_err att_sqlite_provider_set_collateral_grace(struct att_store *s, const char *name,
                                                 int64_t seconds)
{
    return provider_update(s, "UPDATE providers SET collateral_grace = ?2 WHERE name = ?1", name,
                           NULL, seconds);
}

att_err att_sqlite_provider_set_require_bound_requests(struct att_store *s, const char *name,
                                                       bool on)
{
    return provider_update(s, "UPDATE providers SET require_bound_requests = ?2 WHERE name = ?1",
                           name, NULL, on ? 1 : 0);
}

att_err att_sqlite_provider_set_policy_history_keep(struct att_store *s, const char *name,
                                                    int64_t keep)
{
    return provider_update(s, "UPDATE providers SET policy_history_keep = ?2 WHERE name = ?1", name,
                           NULL, keep);
}

att_err att_sqlite_provider_set_audit_fail_open(struct att_store *s, const char *name, bool on)
{
    return provider_update(s, "UPDATE providers SET audit_fail_open = ?2 WHERE name = ?1", name,
                           NULL, on ? 1 : 0);
}

att_err att_sqlite_provider_set_issuer(struct att_store *s, const char *name, const char *issuer)
{
    return provider_update(s, "UPDATE providers SET issuer = ?2 WHERE name = ?1", name, issuer, 0);
}

/* ---- the audit trail's newest checkpoint ------------------------------------------------ */

att_err att_sqlite_audit_checkpoint_put(struct att_store *s, const char *node, int64_t seq,
                                        const char *hash, const char *jws, int64_t now)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "INSERT OR REPLACE INTO audit_checkpoint(node, seq, hash, jws, "
                                 "created_at) VALUES(?1, ?2, ?3, ?4, ?5)",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, node));
    ATT_GUARD(att_sqlite_bind_i64(st, 2, seq));
    ATT_GUARD(att_sqlite_bind_text(st, 3, hash));
    ATT_GUARD(att_sqlite_bind_text(st, 4, jws));
    ATT_GUARD(att_sqlite_bind_i64(st, 5, now));
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_audit_checkpoint_clear(struct att_store *s, const char *node)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(
        att_sqlite_prepare(att_sqlite_db(s), "DELETE FROM audit_checkpoint WHERE node = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, node));
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_audit_checkpoint_get(struct att_store *s, const char *node, int64_t *seq,
                                        char hash[65])
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT seq, hash FROM audit_checkpoint WHERE node = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, node));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_sqlite_col_i64(st, 0, seq));
    ATT_GUARD(att_sqlite_col_text(st, 1, hash, 65));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* Read into a record of our own and moved into *out only when whole (its old buffer released). */
att_err att_sqlite_audit_checkpoint_read(struct att_store *s, const char *node,
                                         struct att_audit_checkpoint_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    struct att_audit_checkpoint_rec r;
    att_audit_checkpoint_rec_init(&r);
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT seq, hash, jws, created_at FROM audit_checkpoint"
                                 " WHERE node = ?1",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, node));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_sqlite_col_i64(st, 0, &r.seq));
    ATT_GUARD(att_sqlite_col_text(st, 1, r.hash, sizeof(r.hash)));
    ATT_GUARD(att_sqlite_col_text_buf(st, 2, &r.jws));
    ATT_GUARD(att_sqlite_col_i64(st, 3, &r.created_at));
    att_audit_checkpoint_rec_cleanup(out);
    *out = r;
    att_audit_checkpoint_rec_init(&r); /* ownership moved */
    rc = ATT_OK;
out:
    att_audit_checkpoint_rec_cleanup(&r);
    sqlite3_finalize(st);
    return rc;
}

/* ---- signing keys ---------------------------------------------------------- */

att_err att_sqlite_key_insert(struct att_store *s, const struct att_key_rec *k)
{
    return att_sqlite_insert_row(att_sqlite_db(s),
                                 "INSERT INTO signing_keys(" ATT_KEY_COLUMNS
                                 ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                                 &att_key_row, k);
}

/* A change of one key (?1 provider, ?2 kid) with `n` integers ?3, ?4...: NOT_FOUND if none. */
static att_err update_key(struct att_store *s, const char *sql, const char *provider,
                          const char *kid, const int64_t *v, int n)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    int changes = 0;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s), sql, &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, kid));
    for (int i = 0; i < n; i++) {
        ATT_GUARD(att_sqlite_bind_i64(st, 3 + i, v[i]));
    }
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, &changes));
    rc = changes == 1 ? ATT_OK : ATT_ERR_NOT_FOUND;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_key_delete(struct att_store *s, const char *provider, const char *kid)
{
    return update_key(s, "DELETE FROM signing_keys WHERE provider = ?1 AND kid = ?2", provider, kid,
                      NULL, 0);
}

att_err att_sqlite_key_note_use(struct att_store *s, const char *provider, const char *kid,
                                int64_t until, int64_t lifetime)
{
    const int64_t v[2] = {until, lifetime};
    return update_key(s,
                      "UPDATE signing_keys SET used_until = MAX(used_until, ?3),"
                      " token_lifetime = MAX(token_lifetime, ?4)"
                      " WHERE provider = ?1 AND kid = ?2",
                      provider, kid, v, 2);
}

att_err att_sqlite_key_set_activate(struct att_store *s, const char *provider, const char *kid,
                                    int64_t at)
{
    return update_key(s,
                      "UPDATE signing_keys SET activate_at = ?3 WHERE provider = ?1 AND kid = ?2",
                      provider, kid, &at, 1);
}

att_err att_sqlite_key_list(struct att_store *s, const char *provider, att_store_key_cb cb,
                            void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    struct att_key_rec k;
    bool done = false;

    att_key_rec_init(&k);
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_KEY_COLUMNS " FROM signing_keys WHERE provider = ?1"
                                 " ORDER BY activate_at, created_at, rowid",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    for (;;) {
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(att_sqlite_row(st, &att_key_row, &k));
        ATT_GUARD(cb(&k, arg));
    }
    rc = ATT_OK;
out:
    att_key_rec_cleanup(&k);
    sqlite3_finalize(st);
    return rc;
}

/* ---- data keys ------------------------------------------------------------- */

/*
 * Run a query that yields at most one data key. The row is read into a
 * local record and moved into *out only on success; *out must have been
 * initialised (att_dek_rec_init), and its old buffer is released.
 */
static att_err dek_query_one(sqlite3_stmt *st, struct att_dek_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_dek_rec d;
    bool done = false;

    att_dek_rec_init(&d);
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_sqlite_row(st, &att_dek_row, &d));
    att_dek_rec_cleanup(out);
    *out = d;
    att_dek_rec_init(&d); /* ownership moved */
    rc = ATT_OK;
out:
    att_dek_rec_cleanup(&d);
    return rc;
}

att_err att_sqlite_dek_insert(struct att_store *s, const struct att_dek_rec *d)
{
    return att_sqlite_insert_row(
        att_sqlite_db(s), "INSERT INTO data_keys(" ATT_DEK_COLUMNS ") VALUES(?1,?2,?3,?4,?5)",
        &att_dek_row, d);
}

att_err att_sqlite_dek_get(struct att_store *s, const char *id, struct att_dek_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_DEK_COLUMNS " FROM data_keys WHERE id = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, id));
    ATT_GUARD(dek_query_one(st, out));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_dek_get_active(struct att_store *s, struct att_dek_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT " ATT_DEK_COLUMNS " FROM data_keys WHERE active = 1"
                                 " ORDER BY created_at DESC, rowid DESC LIMIT 1",
                                 &st));
    ATT_GUARD(dek_query_one(st, out));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_dek_list(struct att_store *s, att_store_dek_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    struct att_dek_rec d;
    bool done = false;

    att_dek_rec_init(&d);
    ATT_GUARD(att_sqlite_prepare(
        att_sqlite_db(s), "SELECT " ATT_DEK_COLUMNS " FROM data_keys ORDER BY created_at, rowid",
        &st));
    for (;;) {
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(att_sqlite_row(st, &att_dek_row, &d));
        ATT_GUARD(cb(&d, arg));
    }
    rc = ATT_OK;
out:
    att_dek_rec_cleanup(&d);
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_dek_rewrap(struct att_store *s, const char *id, const char *kek_id,
                              const uint8_t *wrapped, size_t len)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    int changes = 0;

    ATT_GUARD(att_sqlite_prepare(
        att_sqlite_db(s), "UPDATE data_keys SET kek_id = ?2, wrapped = ?3 WHERE id = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, id));
    ATT_GUARD(att_sqlite_bind_text(st, 2, kek_id));
    ATT_GUARD(att_sqlite_bind_blob(st, 3, wrapped, len));
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, &changes));
    ATT_CHECK(changes > 0, ATT_ERR_NOT_FOUND);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}
