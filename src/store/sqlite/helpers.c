/*
 * helpers.c - result-code mapping and statement helpers of the SQLite backend.
 *
 * Input trust: values bound come from our callers; columns read come from a
 * database file that someone else may have edited, so every reader checks
 * the column's type and that the value fits its destination exactly.
 */
#include "store/sqlite/sqlite_int.h"

#include <string.h>

#include "core/log.h"
#include "core/rd.h"

att_err att_sqlite_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ATT_ERR_STORE_BUSY;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
            return ATT_ERR_EXISTS;
        }
        return ATT_ERR_STORE_CONSTRAINT;
    default:
        /* sqlite3_errstr is a static description: thread-safe and free of values. */
        att_log(ATT_LOG_WARN, "store: sqlite error", "code", json_integer(rc), "error",
                json_string(sqlite3_errstr(rc)), NULL);
        return ATT_ERR_STORE;
    }
}

att_err att_sqlite_exec(sqlite3 *db, const char *sql)
{
    att_err rc = ATT_OK;
    const char *next = sql;

    while (rc == ATT_OK && next != NULL && next[0] != '\0') {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        int src = sqlite3_prepare_v2(db, next, -1, &st, &tail);
        if (src != SQLITE_OK) {
            return att_sqlite_err(src);
        }
        if (st == NULL) { /* only whitespace or comments were left */
            break;
        }
        do {
            src = sqlite3_step(st);
        } while (src == SQLITE_ROW);
        if (src != SQLITE_DONE) {
            rc = att_sqlite_err(src);
        }
        sqlite3_finalize(st);
        next = tail;
    }
    return rc;
}

att_err att_sqlite_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    int src = sqlite3_prepare_v2(db, sql, -1, st, NULL);
    ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
    return ATT_OK;
}

att_err att_sqlite_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    int src = sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
    return ATT_OK;
}

/* An empty blob must still be a BLOB: binding a NULL pointer would bind SQL NULL. */
att_err att_sqlite_bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
    int src = n == 0 ? sqlite3_bind_zeroblob(st, i, 0)
                     : sqlite3_bind_blob64(st, i, p, (sqlite3_uint64)n, SQLITE_STATIC);
    ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
    return ATT_OK;
}

att_err att_sqlite_bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
    int src = sqlite3_bind_int64(st, i, v);
    ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
    return ATT_OK;
}

/* Run a statement that returns no rows; *changes (if asked) gets the rows it changed. */
att_err att_sqlite_step_done(sqlite3 *db, sqlite3_stmt *st, int *changes)
{
    /* Hold the connection's mutex so another thread's statement cannot slip in
     * between the step and sqlite3_changes(). */
    sqlite3_mutex_enter(sqlite3_db_mutex(db));
    int src = sqlite3_step(st);
    if (changes != NULL) {
        *changes = sqlite3_changes(db);
    }
    sqlite3_mutex_leave(sqlite3_db_mutex(db));
    ATT_ENSURE(src == SQLITE_DONE, att_sqlite_err(src));
    return ATT_OK;
}

/* Copy a TEXT column into a fixed field; it must fit with its NUL and hold no NUL. */
att_err att_sqlite_col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    struct att_rd r;
    ATT_ENSURE(sqlite3_column_type(st, i) == SQLITE_TEXT, ATT_ERR_STORE);
    const unsigned char *p = sqlite3_column_text(st, i); /* before _bytes, as documented */
    int n = sqlite3_column_bytes(st, i);
    ATT_ENSURE(p != NULL && n >= 0 && (size_t)n < cap, ATT_ERR_STORE);
    ATT_ENSURE(memchr(p, 0, (size_t)n) == NULL, ATT_ERR_STORE);
    att_rd_init(&r, p, (size_t)n);
    ATT_ENSURE(att_rd_copy(&r, dst, (size_t)n) == ATT_OK, ATT_ERR_STORE);
    dst[n] = '\0';
    return ATT_OK;
}

att_err att_sqlite_col_blob(sqlite3_stmt *st, int i, struct att_buf *b)
{
    ATT_ENSURE(sqlite3_column_type(st, i) == SQLITE_BLOB, ATT_ERR_STORE);
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    ATT_ENSURE(n >= 0 && (p != NULL || n == 0), ATT_ERR_STORE);
    att_buf_reset(b);
    ATT_ENSURE(att_buf_put(b, p, (size_t)n) == ATT_OK, ATT_ERR_STORE);
    return ATT_OK;
}

att_err att_sqlite_col_text_buf(sqlite3_stmt *st, int i, struct att_buf *b)
{
    ATT_ENSURE(sqlite3_column_type(st, i) == SQLITE_TEXT, ATT_ERR_STORE);
    const unsigned char *p = sqlite3_column_text(st, i); /* before _bytes, as documented */
    int n = sqlite3_column_bytes(st, i);
    ATT_ENSURE(p != NULL && n >= 0 && (size_t)n <= b->max, ATT_ERR_STORE);
    ATT_ENSURE(memchr(p, 0, (size_t)n) == NULL, ATT_ERR_STORE);
    att_buf_reset(b);
    ATT_ENSURE(att_buf_put(b, p, (size_t)n) == ATT_OK, ATT_ERR_STORE);
    return ATT_OK;
}

att_err att_sqlite_col_i64(sqlite3_stmt *st, int i, int64_t *out)
{
    ATT_ENSURE(sqlite3_column_type(st, i) == SQLITE_INTEGER, ATT_ERR_STORE);
    *out = sqlite3_column_int64(st, i);
    return ATT_OK;
}

att_err att_sqlite_col_bool(sqlite3_stmt *st, int i, bool *out)
{
    int64_t v = 0;
    ATT_TRY(att_sqlite_col_i64(st, i, &v));
    ATT_ENSURE(v == 0 || v == 1, ATT_ERR_STORE);
    *out = v == 1;
    return ATT_OK;
}

/*
 * Step a query: ATT_OK with a row, ATT_ERR_NOT_FOUND at the end, or the
 * mapped error. `done` tells the end apart from a row for list loops.
 */
att_err att_sqlite_step_row(sqlite3_stmt *st, bool *done)
{
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *done = false;
        return ATT_OK;
    }
    ATT_ENSURE(src == SQLITE_DONE, att_sqlite_err(src));
    *done = true;
    return ATT_OK;
}

att_err att_sqlite_query_i64(sqlite3 *db, const char *sql, int64_t *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    ATT_GUARD(att_sqlite_prepare(db, sql, &st));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_STORE);
    ATT_GUARD(att_sqlite_col_i64(st, 0, out));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_sqlite_row(sqlite3_stmt *st, const struct att_store_row *cols, void *rec)
{
    unsigned char *base = rec;
    for (size_t i = 0; i < cols->n; i++) {
        const struct att_store_col *c = &cols->cols[i];
        void *field = base + c->off;
        int col = (int)i;
        switch (c->kind) {
        case 't': ATT_TRY(att_sqlite_col_text(st, col, field, c->cap)); break;
        case 'i': ATT_TRY(att_sqlite_col_i64(st, col, field)); break;
        case 'b': ATT_TRY(att_sqlite_col_bool(st, col, field)); break;
        case 'B': ATT_TRY(att_sqlite_col_blob(st, col, field)); break;
        default: return ATT_ERR_INTERNAL;
        }
    }
    return ATT_OK;
}

att_err att_sqlite_bind_row(sqlite3_stmt *st, const struct att_store_row *cols, const void *rec)
{
    const unsigned char *base = rec;
    for (size_t i = 0; i < cols->n; i++) {
        const struct att_store_col *c = &cols->cols[i];
        const void *field = base + c->off;
        int at = (int)i + 1;
        switch (c->kind) {
        case 't': ATT_TRY(att_sqlite_bind_text(st, at, field)); break;
        case 'i': ATT_TRY(att_sqlite_bind_i64(st, at, *(const int64_t *)field)); break;
        case 'b': ATT_TRY(att_sqlite_bind_i64(st, at, *(const bool *)field ? 1 : 0)); break;
        case 'B': {
            const struct att_buf *b = field;
            ATT_TRY(att_sqlite_bind_blob(st, at, b->data, b->len));
            break;
        }
        default: return ATT_ERR_INTERNAL;
        }
    }
    return ATT_OK;
}

att_err att_sqlite_insert_row(sqlite3 *db, const char *sql, const struct att_store_row *cols,
                              const void *rec)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(db, sql, &st));
    ATT_GUARD(att_sqlite_bind_row(st, cols, rec));
    ATT_GUARD(att_sqlite_step_done(db, st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}
