/*
 * providers.c - providers, their signing keys, data keys and the audit trail's newest
 * checkpoint in the PostgreSQL backend (the tables of store/sqlite/providers.c).
 *
 * Input trust: records come from our callers (checked in store.c); rows come from a shared
 * database, read only through the row mapper (pg_int.h), which checks every column's type and
 * that every string fits its field exactly.
 */
#include "store/postgres/pg_int.h"

#include "store/columns.h"

#include <stdbool.h>

#include "store/store.h"

/* ---- providers ------------------------------------------------------------ */

att_err att_pg_provider_insert(struct att_store *s, const struct att_provider_rec *p)
{
    struct att_pg_args a = {0};
    att_pg_args_row(&a, &att_provider_row, p);
    return att_pg_run(s,
                      "INSERT INTO providers(" ATT_PROVIDER_COLUMNS
                      ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
                      &a, NULL);
}

att_err att_pg_provider_get(struct att_store *s, const char *name, struct att_provider_rec *out)
{
    PGresult *res = NULL;
    struct att_provider_rec p;
    struct att_pg_args a = {0};
    att_pg_text(&a, name);
    att_err rc =
        att_pg_query(s, "SELECT " ATT_PROVIDER_COLUMNS " FROM providers WHERE name = $1", &a, &res);
    if (rc == ATT_OK) {
        rc = PQntuples(res) == 0 ? ATT_ERR_NOT_FOUND : att_pg_row(res, 0, &att_provider_row, &p);
    }
    if (rc == ATT_OK) {
        *out = p;
    }
    PQclear(res);
    return rc;
}

att_err att_pg_provider_list(struct att_store *s, att_store_provider_cb cb, void *arg)
{
    PGresult *res = NULL;
    att_err rc = att_pg_query(
        s, "SELECT " ATT_PROVIDER_COLUMNS " FROM providers ORDER BY name COLLATE \"C\"", NULL,
        &res);
    for (int i = 0; rc == ATT_OK && i < PQntuples(res); i++) {
        struct att_provider_rec p;
        rc = att_pg_row(res, i, &att_provider_row, &p);
        rc = rc == ATT_OK ? cb(&p, arg) : rc;
    }
    PQclear(res);
    return rc;
}

/* A statement that must change exactly one provider, else ATT_ERR_NOT_FOUND. */
static att_err one_row(struct att_store *s, const char *sql, const struct att_pg_args *a)
{
    int64_t changes = 0;
    ATT_TRY(att_pg_run(s, sql, a, &changes));
    return changes > 0 ? ATT_OK : ATT_ERR_NOT_FOUND;
}

att_err att_pg_provider_delete(struct att_store *s, const char *name)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, name);
    return one_row(s, "DELETE FROM providers WHERE name = $1", &a);
}

/* UPDATE one column of one provider: $1 = name, $2 = the value. */
static att_err provider_update_i64(struct att_store *s, const char *sql, const char *name,
                                   int64_t value)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, name);
    att_pg_i64(&a, value);
    return one_row(s, sql, &a);
}

att_err att_pg_provider_set_attest_requires_auth(struct att_store *s, const char *name, bool on)
{
    return provider_update_i64(s, "UPDATE providers SET attest_requires_auth = $2 WHERE name = $1",
                               name, on ? 1 : 0);
}

att_err att_pg_provider_set_collateral_grace(struct att_store *s, const char *name, int64_t seconds)
{
    return provider_update_i64(s, "UPDATE providers SET collateral_grace = $2 WHERE name = $1",
                               name, seconds);
}

att_err att_pg_provider_set_require_bound_requests(struct att_store *s, const char *name, bool on)
{
    return provider_update_i64(
        s, "UPDATE providers SET require_bound_requests = $2 WHERE name = $1", name, on ? 1 : 0);
}

att_err att_pg_provider_set_policy_history_keep(struct att_store *s, const char *name, int64_t keep)
{
    return provider_update_i64(s, "UPDATE providers SET policy_history_keep = $2 WHERE name = $1",
                               name, keep);
}

att_err att_pg_provider_set_audit_fail_open(struct att_store *s, const char *name, bool on)
{
    return provider_update_i64(s, "UPDATE providers SET audit_fail_open = $2 WHERE name = $1", name,
                               on ? 1 : 0);
}

att_err att_pg_provider_set_issuer(struct att_store *s, const char *name, const char *issuer)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, name);
    att_pg_text(&a, issuer);
    return one_row(s, "UPDATE providers SET issuer = $2 WHERE name = $1", &a);
}

/* ---- the audit trail's newest checkpoint ------------------------------------------------ */

att_err att_pg_audit_checkpoint_put(struct att_store *s, const char *node, int64_t seq,
                                    const char *hash, const char *jws, int64_t now)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, node);
    att_pg_i64(&a, seq);
    att_pg_text(&a, hash);
    att_pg_text(&a, jws);
    att_pg_i64(&a, now);
    return att_pg_run(s,
                      "INSERT INTO audit_checkpoint(node, seq, hash, jws, created_at)"
                      " VALUES($1, $2, $3, $4, $5) ON CONFLICT (node) DO UPDATE SET"
                      " seq = EXCLUDED.seq, hash = EXCLUDED.hash, jws = EXCLUDED.jws,"
                      " created_at = EXCLUDED.created_at",
                      &a, NULL);
}

att_err att_pg_audit_checkpoint_clear(struct att_store *s, const char *node)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, node);
    return att_pg_run(s, "DELETE FROM audit_checkpoint WHERE node = $1", &a, NULL);
}

att_err att_pg_audit_checkpoint_get(struct att_store *s, const char *node, int64_t *seq,
                                    char hash[65])
{
    PGresult *res = NULL;
    struct att_pg_args a = {0};
    att_pg_text(&a, node);
    att_err rc =
        att_pg_query(s, "SELECT seq, hash FROM audit_checkpoint WHERE node = $1", &a, &res);
    if (rc == ATT_OK) {
        rc = PQntuples(res) == 0 ? ATT_ERR_NOT_FOUND : att_pg_col_i64(res, 0, 0, seq);
    }
    rc = rc == ATT_OK ? att_pg_col_text(res, 0, 1, hash, 65) : rc;
    PQclear(res);
    return rc;
}

/* Read into a record of our own and moved into *out only when whole (its old buffer released). */
att_err att_pg_audit_checkpoint_read(struct att_store *s, const char *node,
                                     struct att_audit_checkpoint_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    struct att_audit_checkpoint_rec r;
    struct att_pg_args a = {0};
    att_pg_text(&a, node);
    att_audit_checkpoint_rec_init(&r);
    ATT_GUARD(att_pg_query(
        s, "SELECT seq, hash, jws, created_at FROM audit_checkpoint WHERE node = $1", &a, &res));
    ATT_CHECK(PQntuples(res) > 0, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_pg_col_i64(res, 0, 0, &r.seq));
    ATT_GUARD(att_pg_col_text(res, 0, 1, r.hash, sizeof(r.hash)));
    ATT_GUARD(att_pg_col_text_buf(res, 0, 2, &r.jws));
    ATT_GUARD(att_pg_col_i64(res, 0, 3, &r.created_at));
    att_audit_checkpoint_rec_cleanup(out);
    *out = r;
    att_audit_checkpoint_rec_init(&r); /* ownership moved */
    rc = ATT_OK;
out:
    att_audit_checkpoint_rec_cleanup(&r);
    PQclear(res);
    return rc;
}

/* ---- signing keys ---------------------------------------------------------- */

att_err att_pg_key_insert(struct att_store *s, const struct att_key_rec *k)
{
    struct att_pg_args a = {0};
    att_pg_args_row(&a, &att_key_row, k);
    return att_pg_run(
        s, "INSERT INTO signing_keys(" ATT_KEY_COLUMNS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)", &a,
        NULL);
}

/* A change of one key ($1 provider, $2 kid, then the integers in `v`): NOT_FOUND if none. */
static att_err update_key(struct att_store *s, const char *sql, const char *provider,
                          const char *kid, const int64_t *v, int n)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, provider);
    att_pg_text(&a, kid);
    for (int i = 0; i < n; i++) {
        att_pg_i64(&a, v[i]);
    }
    return one_row(s, sql, &a);
}

att_err att_pg_key_delete(struct att_store *s, const char *provider, const char *kid)
{
    return update_key(s, "DELETE FROM signing_keys WHERE provider = $1 AND kid = $2", provider, kid,
                      NULL, 0);
}

att_err att_pg_key_note_use(struct att_store *s, const char *provider, const char *kid,
                            int64_t until, int64_t lifetime)
{
    const int64_t v[2] = {until, lifetime};
    return update_key(s,
                      "UPDATE signing_keys SET used_until = GREATEST(used_until, $3),"
                      " token_lifetime = GREATEST(token_lifetime, $4)"
                      " WHERE provider = $1 AND kid = $2",
                      provider, kid, v, 2);
}

att_err att_pg_key_set_activate(struct att_store *s, const char *provider, const char *kid,
                                int64_t at)
{
    return update_key(s,
                      "UPDATE signing_keys SET activate_at = $3 WHERE provider = $1 AND kid = $2",
                      provider, kid, &at, 1);
}

att_err att_pg_key_list(struct att_store *s, const char *provider, att_store_key_cb cb, void *arg)
{
    PGresult *res = NULL;
    struct att_key_rec k;
    struct att_pg_args a = {0};
    att_pg_text(&a, provider);
    att_key_rec_init(&k);
    att_err rc = att_pg_query(s,
                              "SELECT " ATT_KEY_COLUMNS " FROM signing_keys WHERE provider = $1"
                              " ORDER BY activate_at, created_at, row_id",
                              &a, &res);
    for (int i = 0; rc == ATT_OK && i < PQntuples(res); i++) {
        rc = att_pg_row(res, i, &att_key_row, &k);
        rc = rc == ATT_OK ? cb(&k, arg) : rc;
    }
    att_key_rec_cleanup(&k);
    PQclear(res);
    return rc;
}

/* ---- data keys ------------------------------------------------------------- */

/*
 * Run a query that yields at most one data key, read into a local record and moved into *out
 * only on success; *out must have been initialised (att_dek_rec_init), its old buffer released.
 */
static att_err dek_query_one(struct att_store *s, const char *sql, const struct att_pg_args *a,
                             struct att_dek_rec *out)
{
    PGresult *res = NULL;
    struct att_dek_rec d;
    att_dek_rec_init(&d);
    att_err rc = att_pg_query(s, sql, a, &res);
    if (rc == ATT_OK) {
        rc = PQntuples(res) == 0 ? ATT_ERR_NOT_FOUND : att_pg_row(res, 0, &att_dek_row, &d);
    }
    if (rc == ATT_OK) {
        att_dek_rec_cleanup(out);
        *out = d;
        att_dek_rec_init(&d); /* ownership moved */
    }
    att_dek_rec_cleanup(&d);
    PQclear(res);
    return rc;
}

att_err att_pg_dek_insert(struct att_store *s, const struct att_dek_rec *d)
{
    struct att_pg_args a = {0};
    att_pg_args_row(&a, &att_dek_row, d);
    return att_pg_run(s, "INSERT INTO data_keys(" ATT_DEK_COLUMNS ") VALUES($1,$2,$3,$4,$5)", &a,
                      NULL);
}

att_err att_pg_dek_get(struct att_store *s, const char *id, struct att_dek_rec *out)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, id);
    return dek_query_one(s, "SELECT " ATT_DEK_COLUMNS " FROM data_keys WHERE id = $1", &a, out);
}

att_err att_pg_dek_get_active(struct att_store *s, struct att_dek_rec *out)
{
    return dek_query_one(s,
                         "SELECT " ATT_DEK_COLUMNS " FROM data_keys WHERE active = 1"
                         " ORDER BY created_at DESC, row_id DESC LIMIT 1",
                         NULL, out);
}

att_err att_pg_dek_list(struct att_store *s, att_store_dek_cb cb, void *arg)
{
    PGresult *res = NULL;
    struct att_dek_rec d;
    att_dek_rec_init(&d);
    att_err rc = att_pg_query(
        s, "SELECT " ATT_DEK_COLUMNS " FROM data_keys ORDER BY created_at, row_id", NULL, &res);
    for (int i = 0; rc == ATT_OK && i < PQntuples(res); i++) {
        rc = att_pg_row(res, i, &att_dek_row, &d);
        rc = rc == ATT_OK ? cb(&d, arg) : rc;
    }
    att_dek_rec_cleanup(&d);
    PQclear(res);
    return rc;
}

att_err att_pg_dek_rewrap(struct att_store *s, const char *id, const char *kek_id,
                          const uint8_t *wrapped, size_t len)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, id);
    att_pg_text(&a, kek_id);
    att_pg_blob(&a, wrapped, len);
    return one_row(s, "UPDATE data_keys SET kek_id = $2, wrapped = $3 WHERE id = $1", &a);
}
