/*
 * audit.c - the audit database in SQLite (store/audit_db.h).
 *
 * Input trust: rows come from a file someone may have edited; every column is read with its
 * type checked and its size bounded (helpers.c), and src/audit/ re-checks each row's hash.
 *
 * Durability: synchronous = FULL, so a commit is on disk (the WAL fsynced) when it returns:
 * attestd answers a change only after its record is durable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit_db.h"
#include "store/sqlite/sqlite_int.h"

#define SCHEMA_VERSION 1

struct att_audit_db {
    sqlite3 *db;
    sqlite3_stmt *insert; /* prepared once: the writer inserts thousands a second */
};

static const char schema[] =
    "CREATE TABLE audit_records ("
    "  seq INTEGER PRIMARY KEY,"
    "  time_ms INTEGER NOT NULL,"
    "  category TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  principal TEXT NOT NULL,"
    "  principal_name TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  request_id TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "CREATE INDEX audit_records_time ON audit_records(time_ms);"
    /* pruned_seq / pruned_hash: the last row retention deleted, where the kept chain hangs. */
    "CREATE TABLE audit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TRIGGER audit_records_append_only BEFORE UPDATE ON audit_records"
    "  BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
    "PRAGMA user_version = 1;";

static const char zeros[ATT_AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

void att_audit_row_init(struct att_audit_row *r)
{
    memset(r, 0, sizeof(*r));
    att_buf_init(&r->body, ATT_AUDIT_BODY_MAX);
}

void att_audit_row_cleanup(struct att_audit_row *r)
{
    att_buf_cleanup(&r->body);
}

static att_err user_version(sqlite3 *db, int64_t *out)
{
    return att_sqlite_query_i64(db, "PRAGMA user_version", out);
}

/* Create the schema once; the version is re-read under the write lock (two openers at once). */
static att_err migrate(sqlite3 *db)
{
    int64_t v = 0;
    ATT_TRY(att_sqlite_exec(db, "BEGIN IMMEDIATE"));
    att_err rc = user_version(db, &v);
    if (rc == ATT_OK && v > SCHEMA_VERSION) {
        rc = ATT_ERR_STORE_SCHEMA;
    }
    if (rc == ATT_OK && v == 0) {
        rc = att_sqlite_exec(db, schema);
    }
    if (rc == ATT_OK) {
        rc = att_sqlite_exec(db, "COMMIT");
    }
    if (rc != ATT_OK) {
        att_ignore_err(att_sqlite_exec(db, "ROLLBACK"));
    }
    return rc;
}

att_err att_audit_db_open(const char *path, int busy_ms, bool first, struct att_audit_db **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_audit_db *a = calloc(1, sizeof(*a));
    char pragma[64];
    ATT_ENSURE(a != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(att_sqlite_open_file(path, first, &a->db));
    /* A commit returns once the WAL is on disk: a record answered for is never lost. */
    ATT_GUARD(att_sqlite_exec(a->db, "PRAGMA synchronous = FULL"));
    ATT_GUARD(migrate(a->db));
    snprintf(pragma, sizeof(pragma), "PRAGMA busy_timeout = %d", busy_ms);
    ATT_GUARD(att_sqlite_exec(a->db, pragma));
    ATT_GUARD(att_sqlite_prepare(a->db,
                                 "INSERT INTO audit_records(seq, time_ms, category, action, "
                                 "outcome, principal, principal_name, provider, request_id, body, "
                                 "hash) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                                 &a->insert));
    *out = a;
    a = NULL;
    rc = ATT_OK;
out:
    att_audit_db_close(a);
    return rc;
}

void att_audit_db_close(struct att_audit_db *db)
{
    if (db == NULL) {
        return;
    }
    sqlite3_finalize(db->insert);
    (void)sqlite3_close_v2(db->db);
    free(db);
}

att_err att_audit_db_begin(struct att_audit_db *db)
{
    return att_sqlite_exec(db->db, "BEGIN IMMEDIATE");
}

att_err att_audit_db_commit(struct att_audit_db *db)
{
    return att_sqlite_exec(db->db, "COMMIT");
}

void att_audit_db_rollback(struct att_audit_db *db)
{
    if (!sqlite3_get_autocommit(db->db)) {
        att_ignore_err(att_sqlite_exec(db->db, "ROLLBACK"));
    }
}

static att_err meta_get(sqlite3 *db, const char *name, char *out, size_t cap, bool *found)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    ATT_GUARD(att_sqlite_prepare(db, "SELECT value FROM audit_meta WHERE name = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, name));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    *found = !done;
    if (!done) {
        ATT_GUARD(att_sqlite_col_text(st, 0, out, cap));
    }
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err meta_set(sqlite3 *db, const char *name, const char *value)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(
        db, "INSERT OR REPLACE INTO audit_meta(name, value) VALUES(?1, ?2)", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, name));
    ATT_GUARD(att_sqlite_bind_text(st, 2, value));
    ATT_GUARD(att_sqlite_step_done(db, st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static bool is_hash(const char *h)
{
    if (strlen(h) != ATT_AUDIT_HASH_HEX) {
        return false;
    }
    for (size_t i = 0; i < ATT_AUDIT_HASH_HEX; i++) {
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

att_err att_audit_db_pruned(struct att_audit_db *db, int64_t *seq,
                            char hash[ATT_AUDIT_HASH_HEX + 1])
{
    char text[32];
    bool found_seq = false;
    bool found_hash = false;
    *seq = 0;
    memcpy(hash, zeros, sizeof(zeros));
    ATT_TRY(meta_get(db->db, "pruned_seq", text, sizeof(text), &found_seq));
    ATT_TRY(meta_get(db->db, "pruned_hash", hash, ATT_AUDIT_HASH_HEX + 1, &found_hash));
    ATT_ENSURE(found_seq == found_hash, ATT_ERR_AUDIT_CHAIN);
    if (found_seq) {
        char *end = NULL;
        long long v = strtoll(text, &end, 10);
        ATT_ENSURE(end != text && *end == 0 && v > 0 && is_hash(hash), ATT_ERR_AUDIT_CHAIN);
        *seq = v;
    }
    return ATT_OK;
}

att_err att_audit_db_head(struct att_audit_db *db, int64_t *seq, char hash[ATT_AUDIT_HASH_HEX + 1],
                          int64_t *first_seq)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    *first_seq = 0;
    ATT_GUARD(att_sqlite_prepare(
        db->db,
        "SELECT seq, hash, (SELECT MIN(seq) FROM audit_records) FROM audit_records "
        "ORDER BY seq DESC LIMIT 1",
        &st));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    if (done) {
        rc = att_audit_db_pruned(db, seq, hash);
        goto out;
    }
    ATT_GUARD(att_sqlite_col_i64(st, 0, seq));
    ATT_GUARD(att_sqlite_col_text(st, 1, hash, ATT_AUDIT_HASH_HEX + 1));
    ATT_GUARD(att_sqlite_col_i64(st, 2, first_seq));
    ATT_CHECK(is_hash(hash), ATT_ERR_AUDIT_CHAIN);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_audit_db_insert(struct att_audit_db *db, const struct att_audit_row *r)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = db->insert;
    ATT_GUARD(att_sqlite_bind_i64(st, 1, r->seq));
    ATT_GUARD(att_sqlite_bind_i64(st, 2, r->time_ms));
    ATT_GUARD(att_sqlite_bind_text(st, 3, r->category));
    ATT_GUARD(att_sqlite_bind_text(st, 4, r->action));
    ATT_GUARD(att_sqlite_bind_text(st, 5, r->outcome));
    ATT_GUARD(att_sqlite_bind_text(st, 6, r->principal));
    ATT_GUARD(att_sqlite_bind_text(st, 7, r->principal_name));
    ATT_GUARD(att_sqlite_bind_text(st, 8, r->provider));
    ATT_GUARD(att_sqlite_bind_text(st, 9, r->request_id));
    int src =
        sqlite3_bind_text(st, 10, (const char *)r->body.data, (int)r->body.len, SQLITE_STATIC);
    ATT_CHECK(src == SQLITE_OK && r->body.len <= ATT_AUDIT_BODY_MAX, att_sqlite_err(src));
    ATT_GUARD(att_sqlite_bind_text(st, 11, r->hash));
    ATT_GUARD(att_sqlite_step_done(db->db, st, NULL));
    rc = ATT_OK;
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* A TEXT column into a buffer (bounded by the buffer's cap). */
static att_err col_text_buf(sqlite3_stmt *st, int i, struct att_buf *b)
{
    ATT_ENSURE(sqlite3_column_type(st, i) == SQLITE_TEXT, ATT_ERR_STORE);
    const unsigned char *p = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    ATT_ENSURE(p != NULL && n >= 0, ATT_ERR_STORE);
    att_buf_reset(b);
    ATT_ENSURE(att_buf_put(b, p, (size_t)n) == ATT_OK, ATT_ERR_STORE);
    return ATT_OK;
}

static att_err read_row(sqlite3_stmt *st, struct att_audit_row *r)
{
    ATT_TRY(att_sqlite_col_i64(st, 0, &r->seq));
    ATT_TRY(att_sqlite_col_i64(st, 1, &r->time_ms));
    ATT_TRY(att_sqlite_col_text(st, 2, r->category, sizeof(r->category)));
    ATT_TRY(att_sqlite_col_text(st, 3, r->action, sizeof(r->action)));
    ATT_TRY(att_sqlite_col_text(st, 4, r->outcome, sizeof(r->outcome)));
    ATT_TRY(att_sqlite_col_text(st, 5, r->principal, sizeof(r->principal)));
    ATT_TRY(att_sqlite_col_text(st, 6, r->principal_name, sizeof(r->principal_name)));
    ATT_TRY(att_sqlite_col_text(st, 7, r->provider, sizeof(r->provider)));
    ATT_TRY(att_sqlite_col_text(st, 8, r->request_id, sizeof(r->request_id)));
    ATT_TRY(col_text_buf(st, 9, &r->body));
    ATT_TRY(att_sqlite_col_text(st, 10, r->hash, sizeof(r->hash)));
    return ATT_OK;
}

static const char *or_empty(const char *s)
{
    return s != NULL ? s : "";
}

att_err att_audit_db_scan(struct att_audit_db *db, const struct att_audit_filter *f,
                          att_err (*cb)(const struct att_audit_row *r, void *arg), void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    struct att_audit_row row;
    att_audit_row_init(&row);
    ATT_GUARD(att_sqlite_prepare(
        db->db,
        "SELECT seq, time_ms, category, action, outcome, principal, principal_name, provider, "
        "request_id, body, hash FROM audit_records WHERE seq > ?1 AND time_ms >= ?2 "
        "AND (?3 = 0 OR time_ms < ?3) AND (?4 = '' OR principal = ?4 OR principal_name = ?4) "
        "AND (?5 = '' OR provider = ?5) "
        "AND (?6 = '' OR action = ?6 OR substr(action, 1, length(?6) + 1) = ?6 || '.') "
        "AND (?7 = '' OR category = ?7) "
        "AND NOT (?9 = 1 AND category = 'attestation' AND outcome = 'success') "
        "ORDER BY seq LIMIT ?8",
        &st));
    ATT_GUARD(att_sqlite_bind_i64(st, 1, f->after_seq));
    ATT_GUARD(att_sqlite_bind_i64(st, 2, f->since_ms));
    ATT_GUARD(att_sqlite_bind_i64(st, 3, f->until_ms));
    ATT_GUARD(att_sqlite_bind_text(st, 4, or_empty(f->principal)));
    ATT_GUARD(att_sqlite_bind_text(st, 5, or_empty(f->provider)));
    ATT_GUARD(att_sqlite_bind_text(st, 6, or_empty(f->action)));
    ATT_GUARD(att_sqlite_bind_text(st, 7, or_empty(f->category)));
    ATT_GUARD(att_sqlite_bind_i64(st, 8, f->limit > 0 ? f->limit : -1));
    ATT_GUARD(att_sqlite_bind_i64(st, 9, f->skip_granted ? 1 : 0));
    for (;;) {
        bool done = false;
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(read_row(st, &row));
        ATT_GUARD(cb(&row, arg));
    }
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    att_audit_row_cleanup(&row);
    return rc;
}

att_err att_audit_db_last_before(struct att_audit_db *db, int64_t before_ms, int64_t *seq,
                                 char hash[ATT_AUDIT_HASH_HEX + 1])
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    *seq = 0;
    ATT_GUARD(att_sqlite_prepare(db->db,
                                 "SELECT seq, hash FROM audit_records WHERE seq = (SELECT "
                                 "MAX(seq) FROM audit_records WHERE time_ms < ?1)",
                                 &st));
    ATT_GUARD(att_sqlite_bind_i64(st, 1, before_ms));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    if (!done) {
        ATT_GUARD(att_sqlite_col_i64(st, 0, seq));
        ATT_GUARD(att_sqlite_col_text(st, 1, hash, ATT_AUDIT_HASH_HEX + 1));
    }
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_audit_db_prune(struct att_audit_db *db, int64_t through_seq,
                           const char hash[ATT_AUDIT_HASH_HEX + 1], int64_t *deleted)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    char text[32];
    int changes = 0;
    ATT_ENSURE(through_seq > 0 && is_hash(hash), ATT_ERR_ARG);
    ATT_GUARD(att_sqlite_prepare(db->db, "DELETE FROM audit_records WHERE seq <= ?1", &st));
    ATT_GUARD(att_sqlite_bind_i64(st, 1, through_seq));
    ATT_GUARD(att_sqlite_step_done(db->db, st, &changes));
    snprintf(text, sizeof(text), "%lld", (long long)through_seq);
    ATT_GUARD(meta_set(db->db, "pruned_seq", text));
    ATT_GUARD(meta_set(db->db, "pruned_hash", hash));
    *deleted = changes;
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}
