/*
 * policies.c - policy versions, policy requests and policy signer certificates in the
 * PostgreSQL backend (tables policy_versions and policy_signers, migration 4; policy_requests,
 * migration 7). The PostgreSQL port of store/sqlite/policies.c: same operations, same errors.
 *
 * Input trust: records come from our callers (checked in store.c); rows come from a database
 * others may write to, so every column is read through att_pg_row / att_pg_col_*, which check
 * its type and that it fits its field. The policy JWS of a version is stored sealed (the caller
 * seals; we keep the blob).
 *
 * Concurrency: several nodes share the database, each with several connections, at READ
 * COMMITTED, where SQLite had one writer at a time. Each statement sees what was committed when
 * it started, so a read followed by a write can race another node's. Where the SQLite file
 * relied on one writer:
 *   - a version's number: the transaction takes an advisory lock on (provider, type) first, so
 *     the appends of one policy run one after the other and each reads the last one's number
 *     (a statement after the lock sees every commit made before it got the lock). The
 *     UNIQUE(provider, type, version) index stays the backstop.
 *   - the last signer: the provider's row is locked before the count, so two removals of two
 *     different signers of one provider are serialised and the second sees the first's.
 *   - a bound request: the primary key decides (INSERT ... ON CONFLICT DO NOTHING, then the
 *     rows changed). An insert that meets another node's uncommitted row waits for its outcome,
 *     so exactly one of them records it; and a conflict aborts nothing, so a caller's own
 *     transaction goes on.
 */
#include "store/postgres/pg_int.h"

#include "store/columns.h"

#include <stdbool.h>
#include <string.h>

#include "store/store.h"

/* ---- policy versions -------------------------------------------------------------------- */

/* The columns of ATT_VERSION_COLUMNS, in order. */
/* What one append works with inside its transaction. */
struct append_ctx {
    const struct att_policy_version_rec *v;
    const struct att_policy_request_rec *req; /* may be NULL */
    int64_t keep;
    int64_t version; /* the number taken */
};

/*
 * Serialise the appends of one (provider, type) across nodes until the transaction ends. The
 * key is a hash: two policies that collide merely wait for each other. The prefix keeps it
 * apart from the keys other operations may lock.
 */
static att_err lock_policy(struct att_store *tx, const struct att_policy_version_rec *v)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, v->provider);
    att_pg_text(&a, v->type);
    return att_pg_run(tx,
                      "SELECT pg_advisory_xact_lock("
                      "hashtextextended('policy_versions/' || $1 || '/' || $2, 0))",
                      &a, NULL);
}

/*
 * One statement takes the next version number and inserts the row (under lock_policy, so no
 * other node takes the same number; the UNIQUE index would refuse it anyway). RETURNING
 * answers the number without a second query.
 */
static att_err insert_version(struct att_store *tx, const struct att_policy_version_rec *v,
                              int64_t *version)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, v->id);
    att_pg_text(&a, v->provider);
    att_pg_text(&a, v->type);
    att_pg_text(&a, v->action);
    att_pg_blob(&a, v->sealed_jws.data, v->sealed_jws.len);
    att_pg_text(&a, v->policy_hash);
    att_pg_text(&a, v->signer_sha256);
    att_pg_text(&a, v->principal);
    att_pg_text(&a, v->principal_name);
    att_pg_text(&a, v->source);
    att_pg_i64(&a, v->created_at);
    att_pg_i64(&a, v->rollback_of);
    return att_pg_query_i64(
        tx,
        "INSERT INTO policy_versions(" ATT_VERSION_COLUMNS ")"
        " SELECT $1, $2, $3, COALESCE(MAX(version), 0) + 1, $4, $5, $6, $7, $8, $9, $10, $11, $12"
        " FROM policy_versions WHERE provider = $2 AND type = $3"
        " RETURNING version",
        &a, version);
}

/* Bounded growth: a bound request's record is useless once its window has closed. */
static att_err prune_requests(struct att_store *s, int64_t now)
{
    struct att_pg_args a = {0};
    att_pg_i64(&a, now);
    return att_pg_run(s, "DELETE FROM policy_requests WHERE expires_at > 0 AND expires_at < $1", &a,
                      NULL);
}

/*
 * Record a request: a bound one (expires_at > 0) must be new (ATT_ERR_TOKEN_REPLAY); an
 * unbound one keeps its first record (the version that first applied it). SQLite used a plain
 * INSERT for a bound one; here a conflict is a row not inserted rather than an error, which in
 * PostgreSQL would abort the whole transaction - the caller's too.
 */
static att_err insert_request(struct att_store *s, const struct att_policy_request_rec *r)
{
    struct att_pg_args a = {0};
    int64_t changes = 0;
    att_pg_args_row(&a, &att_request_row, r);
    ATT_TRY(att_pg_run(s,
                       "INSERT INTO policy_requests(provider, scope, digest, expires_at, version)"
                       " VALUES($1, $2, $3, $4, $5)"
                       " ON CONFLICT (provider, scope, digest) DO NOTHING",
                       &a, &changes));
    ATT_ENSURE(changes > 0 || r->expires_at == 0, ATT_ERR_TOKEN_REPLAY);
    return ATT_OK;
}

/* Retention: the newest `keep` versions of (provider, type) stay; the newest is in force. */
static att_err prune_versions(struct att_store *tx, const struct att_policy_version_rec *v,
                              int64_t newest, int64_t keep)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, v->provider);
    att_pg_text(&a, v->type);
    att_pg_i64(&a, newest - keep);
    return att_pg_run(
        tx, "DELETE FROM policy_versions WHERE provider = $1 AND type = $2 AND version <= $3", &a,
        NULL);
}

static att_err append_rows(struct att_store *tx, void *arg)
{
    struct append_ctx *c = arg;
    ATT_TRY(lock_policy(tx, c->v));
    ATT_TRY(insert_version(tx, c->v, &c->version));
    if (c->req != NULL) {
        struct att_policy_request_rec req = *c->req;
        req.version = c->version;
        ATT_TRY(prune_requests(tx, c->v->created_at));
        ATT_TRY(insert_request(tx, &req));
    }
    if (c->keep > 0) {
        ATT_TRY(prune_versions(tx, c->v, c->version, c->keep));
    }
    return ATT_OK;
}

/*
 * The version, its request record and the retention pruning stand or fall together: one
 * transaction (a savepoint inside the caller's). v->version and req->version are written once
 * it has committed.
 */
att_err att_pg_policy_version_append(struct att_store *s, struct att_policy_version_rec *v,
                                     struct att_policy_request_rec *req, int64_t keep)
{
    struct append_ctx c = {v, req, keep, 0};
    ATT_TRY(att_pg_atomic(s, append_rows, &c));
    v->version = c.version;
    if (req != NULL) {
        req->version = c.version;
    }
    return ATT_OK;
}

/* `version` 0 = the newest. */
att_err att_pg_policy_version_get(struct att_store *s, const char *provider, const char *type,
                                  int64_t version, struct att_policy_version_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    struct att_pg_args a = {0};
    att_pg_text(&a, provider);
    att_pg_text(&a, type);
    if (version != 0) {
        att_pg_i64(&a, version);
    }
    ATT_GUARD(att_pg_query(s,
                           version == 0 ? "SELECT " ATT_VERSION_COLUMNS " FROM policy_versions"
                                          " WHERE provider = $1 AND type = $2"
                                          " ORDER BY version DESC LIMIT 1"
                                        : "SELECT " ATT_VERSION_COLUMNS " FROM policy_versions"
                                          " WHERE provider = $1 AND type = $2 AND version = $3",
                           &a, &res));
    ATT_CHECK(PQntuples(res) > 0, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_pg_row(res, 0, &att_version_row, out));
    rc = ATT_OK;
out:
    PQclear(res);
    return rc;
}

/* `limit` 0 = all: LIMIT NULL has no upper bound (a negative LIMIT is an error here). */
att_err att_pg_policy_version_list(struct att_store *s, const char *provider, const char *type,
                                   int64_t after, int64_t limit, att_store_policy_version_cb cb,
                                   void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    struct att_pg_args a = {0};
    struct att_policy_version_rec v;
    att_policy_version_rec_init(&v);
    att_pg_text(&a, provider);
    att_pg_text(&a, type);
    att_pg_i64(&a, after);
    att_pg_i64(&a, limit);
    ATT_GUARD(att_pg_query(s,
                           "SELECT " ATT_VERSION_COLUMNS " FROM policy_versions"
                           " WHERE provider = $1 AND type = $2 AND version > $3"
                           " ORDER BY version LIMIT NULLIF($4, 0)",
                           &a, &res));
    for (int i = 0; i < PQntuples(res); i++) {
        ATT_GUARD(att_pg_row(res, i, &att_version_row, &v));
        ATT_GUARD(cb(&v, arg));
    }
    rc = ATT_OK;
out:
    att_policy_version_rec_cleanup(&v);
    PQclear(res);
    return rc;
}

/*
 * A version as given, its number included (store.h: copies between stores). No advisory lock:
 * the number is not taken from the others, and UNIQUE(provider, type, version) refuses a
 * duplicate.
 */
att_err att_pg_policy_version_insert(struct att_store *s, const struct att_policy_version_rec *v)
{
    struct att_pg_args a = {0};
    att_pg_args_row(&a, &att_version_row, v);
    return att_pg_run(s,
                      "INSERT INTO policy_versions(" ATT_VERSION_COLUMNS ")"
                      " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                      &a, NULL);
}

/* Names sort byte-wise (COLLATE "C"), as SQLite's BINARY collation does. */
att_err att_pg_policy_version_scan(struct att_store *s, att_store_policy_version_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    struct att_policy_version_rec v;
    att_policy_version_rec_init(&v);
    ATT_GUARD(att_pg_query(s,
                           "SELECT " ATT_VERSION_COLUMNS " FROM policy_versions"
                           " ORDER BY provider COLLATE \"C\", type COLLATE \"C\", version",
                           NULL, &res));
    for (int i = 0; i < PQntuples(res); i++) {
        ATT_GUARD(att_pg_row(res, i, &att_version_row, &v));
        ATT_GUARD(cb(&v, arg));
    }
    rc = ATT_OK;
out:
    att_policy_version_rec_cleanup(&v);
    PQclear(res);
    return rc;
}

/* ---- policy requests (migration 7) ----------------------------------------------------- */

/*
 * Two statements, no transaction, as in SQLite: the pruning stands on its own, and the insert
 * alone decides (the primary key, see insert_request).
 */
att_err att_pg_policy_request_claim(struct att_store *s, const struct att_policy_request_rec *r,
                                    int64_t now)
{
    ATT_TRY(prune_requests(s, now));
    return insert_request(s, r);
}

att_err att_pg_policy_request_get(struct att_store *s, const char *provider, const char *scope,
                                  const char *digest, struct att_policy_request_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    struct att_pg_args a = {0};
    struct att_policy_request_rec r;
    memset(&r, 0, sizeof(r));
    att_pg_text(&a, provider);
    att_pg_text(&a, scope);
    att_pg_text(&a, digest);
    ATT_GUARD(att_pg_query(s,
                           "SELECT provider, scope, digest, expires_at, version"
                           " FROM policy_requests"
                           " WHERE provider = $1 AND scope = $2 AND digest = $3",
                           &a, &res));
    ATT_CHECK(PQntuples(res) > 0, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_pg_row(res, 0, &att_request_row, &r));
    *out = r;
    rc = ATT_OK;
out:
    PQclear(res);
    return rc;
}

att_err att_pg_policy_request_forget(struct att_store *s, const char *provider, const char *scope,
                                     const char *digest)
{
    struct att_pg_args a = {0};
    int64_t changes = 0;
    att_pg_text(&a, provider);
    att_pg_text(&a, scope);
    att_pg_text(&a, digest);
    ATT_TRY(att_pg_run(
        s, "DELETE FROM policy_requests WHERE provider = $1 AND scope = $2 AND digest = $3", &a,
        &changes));
    ATT_ENSURE(changes > 0, ATT_ERR_NOT_FOUND);
    return ATT_OK;
}

/* A record as given: no pruning, and a conflict is an error whatever the kind (store.h). */
att_err att_pg_policy_request_insert(struct att_store *s, const struct att_policy_request_rec *r)
{
    struct att_pg_args a = {0};
    att_pg_args_row(&a, &att_request_row, r);
    return att_pg_run(s,
                      "INSERT INTO policy_requests(provider, scope, digest, expires_at, version)"
                      " VALUES($1, $2, $3, $4, $5)",
                      &a, NULL);
}

att_err att_pg_policy_request_list(struct att_store *s, att_store_policy_request_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    ATT_GUARD(att_pg_query(s,
                           "SELECT provider, scope, digest, expires_at, version"
                           " FROM policy_requests"
                           " ORDER BY provider COLLATE \"C\", scope COLLATE \"C\","
                           " digest COLLATE \"C\"",
                           NULL, &res));
    for (int i = 0; i < PQntuples(res); i++) {
        struct att_policy_request_rec r;
        memset(&r, 0, sizeof(r));
        ATT_GUARD(att_pg_row(res, i, &att_request_row, &r));
        ATT_GUARD(cb(&r, arg));
    }
    rc = ATT_OK;
out:
    PQclear(res);
    return rc;
}

/* ---- policy signers --------------------------------------------------------------------- */

att_err att_pg_signer_insert(struct att_store *s, const struct att_signer_rec *r)
{
    struct att_pg_args a = {0};
    att_pg_args_row(&a, &att_signer_row, r);
    return att_pg_run(
        s, "INSERT INTO policy_signers(" ATT_SIGNER_COLUMNS ") VALUES($1, $2, $3, $4, $5)", &a,
        NULL);
}

struct signer_key {
    const char *provider;
    const char *sha256;
};

/*
 * Inside the transaction: lock the provider's row first, so the removals of one provider's
 * signers run one after the other and each count below sees the removals committed before it
 * (one statement is not enough at READ COMMITTED: two of them could each count two signers and
 * each remove one). FOR NO KEY UPDATE, not FOR UPDATE: it excludes the other removals all the
 * same, without making the foreign-key checks of inserts for this provider (FOR KEY SHARE)
 * wait. An insert racing a removal can only add a signer, so the count errs on the safe side.
 * No provider row: nothing to lock, and no signer either (NOT_FOUND below).
 */
static att_err delete_signer(struct att_store *tx, void *arg)
{
    const struct signer_key *k = arg;
    struct att_pg_args p = {0};
    struct att_pg_args a = {0};
    int64_t one = 0;
    int64_t changes = 0;
    att_pg_text(&p, k->provider);
    att_pg_text(&a, k->provider);
    att_pg_text(&a, k->sha256);
    ATT_TRY(att_pg_run(tx, "SELECT 1 FROM providers WHERE name = $1 FOR NO KEY UPDATE", &p, NULL));
    ATT_TRY(att_pg_query_i64(
        tx, "SELECT 1::int8 FROM policy_signers WHERE provider = $1 AND sha256 = $2", &a, &one));
    ATT_TRY(att_pg_run(tx,
                       "DELETE FROM policy_signers WHERE provider = $1 AND sha256 = $2"
                       " AND (SELECT COUNT(*) FROM policy_signers WHERE provider = $1) > 1",
                       &a, &changes));
    ATT_ENSURE(changes > 0, ATT_ERR_STATE);
    return ATT_OK;
}

/*
 * Remove a signer unless it is the provider's last one (docs/reference/maa-policy.md §4.4).
 * ATT_ERR_NOT_FOUND when absent, ATT_ERR_STATE for the last signer.
 */
att_err att_pg_signer_delete(struct att_store *s, const char *provider, const char *sha256)
{
    struct signer_key k = {provider, sha256};
    return att_pg_atomic(s, delete_signer, &k);
}

/* By the primary key (provider, sha256): one row, never the provider's whole list. */
att_err att_pg_signer_get(struct att_store *s, const char *provider, const char *sha256,
                          struct att_signer_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    struct att_pg_args a = {0};
    struct att_signer_rec r;
    att_signer_rec_init(&r);
    att_pg_text(&a, provider);
    att_pg_text(&a, sha256);
    ATT_GUARD(att_pg_query(s,
                           "SELECT " ATT_SIGNER_COLUMNS " FROM policy_signers"
                           " WHERE provider = $1 AND sha256 = $2",
                           &a, &res));
    ATT_CHECK(PQntuples(res) > 0, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_pg_row(res, 0, &att_signer_row, &r));
    /* Written only now: hand the buffer over and release out's old one. */
    att_signer_rec_cleanup(out);
    *out = r;
    att_signer_rec_init(&r);
    rc = ATT_OK;
out:
    att_signer_rec_cleanup(&r);
    PQclear(res);
    return rc;
}

/*
 * In the order they were added. sha256 breaks ties byte-wise (COLLATE "C"), as SQLite's BINARY
 * collation does, whatever the database's default collation.
 */
att_err att_pg_signer_list(struct att_store *s, const char *provider, att_store_signer_cb cb,
                           void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    struct att_pg_args a = {0};
    struct att_signer_rec r;
    att_signer_rec_init(&r);
    att_pg_text(&a, provider);
    ATT_GUARD(att_pg_query(s,
                           "SELECT " ATT_SIGNER_COLUMNS " FROM policy_signers WHERE provider = $1"
                           " ORDER BY created_at, sha256 COLLATE \"C\"",
                           &a, &res));
    for (int i = 0; i < PQntuples(res); i++) {
        ATT_GUARD(att_pg_row(res, i, &att_signer_row, &r));
        ATT_GUARD(cb(&r, arg));
    }
    rc = ATT_OK;
out:
    att_signer_rec_cleanup(&r);
    PQclear(res);
    return rc;
}
