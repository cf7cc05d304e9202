/*
 * helpers.c - arguments, statements, error mapping and the row mapper of the PostgreSQL
 * backend.
 *
 * Input trust: arguments come from our callers; result columns come from a database others may
 * write to, so every reader checks the column's type OID, its format and its exact size.
 */
#include "store/postgres/pg_int.h"

#include <string.h>

#include "core/log.h"

/* Type OIDs of the built-in types we send and read (pg_type.dat; stable across releases). */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25

/* ---- arguments ----------------------------------------------------------- */

static int next_arg(struct att_pg_args *a)
{
    if (a->n >= ATT_PG_ARGS_MAX) {
        a->overflow = true;
        return -1;
    }
    a->format[a->n] = 1;
    return a->n++;
}

void att_pg_text(struct att_pg_args *a, const char *s)
{
    int i = next_arg(a);
    if (i >= 0) {
        a->val[i] = s;
        a->len[i] = (int)strlen(s);
        a->type[i] = OID_TEXT;
    }
}

void att_pg_null_text(struct att_pg_args *a)
{
    int i = next_arg(a);
    if (i >= 0) {
        a->val[i] = NULL;
        a->len[i] = 0;
        a->type[i] = OID_TEXT;
    }
}

void att_pg_i64(struct att_pg_args *a, int64_t v)
{
    int i = next_arg(a);
    if (i >= 0) {
        uint64_t u = (uint64_t)v;
        for (int b = 0; b < 8; b++) {
            a->i64[i][b] = (unsigned char)(u >> (56 - 8 * b));
        }
        a->val[i] = (const char *)a->i64[i];
        a->len[i] = 8;
        a->type[i] = OID_INT8;
    }
}

void att_pg_bool(struct att_pg_args *a, bool v)
{
    att_pg_i64(a, v ? 1 : 0);
}

void att_pg_blob(struct att_pg_args *a, const uint8_t *p, size_t n)
{
    int i = next_arg(a);
    if (i >= 0) {
        static const char empty[1] = {0};
        a->val[i] = n > 0 ? (const char *)p : empty; /* never SQL NULL */
        a->len[i] = (int)n;
        a->type[i] = OID_BYTEA;
    }
}

void att_pg_args_row(struct att_pg_args *a, const struct att_store_row *cols, const void *rec)
{
    const unsigned char *base = rec;
    for (size_t i = 0; i < cols->n; i++) {
        const struct att_store_col *c = &cols->cols[i];
        const void *field = base + c->off;
        switch (c->kind) {
        case 't': att_pg_text(a, field); break;
        case 'i': att_pg_i64(a, *(const int64_t *)field); break;
        case 'b': att_pg_bool(a, *(const bool *)field); break;
        default: {
            const struct att_buf *b = field;
            att_pg_blob(a, b->data, b->len);
        }
        }
    }
}

/* ---- errors -------------------------------------------------------------- */

/* SQLSTATE classes (PostgreSQL manual, appendix A "Error Codes"). */
static att_err map_sqlstate(const char *state)
{
    if (state == NULL || strlen(state) != 5) {
        return ATT_ERR_STORE_UNAVAILABLE; /* no server answer at all: the connection failed */
    }
    if (strcmp(state, "23505") == 0) {
        return ATT_ERR_EXISTS;
    }
    if (strncmp(state, "23", 2) == 0) {
        return ATT_ERR_STORE_CONSTRAINT;
    }
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
        strcmp(state, "57014") == 0) {
        return ATT_ERR_STORE_BUSY; /* serialization, deadlock, lock timeout, statement timeout */
    }
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
        strcmp(state, "53300") == 0) {
        return ATT_ERR_STORE_UNAVAILABLE; /* connection, shutdown, too many connections */
    }
    return ATT_ERR_STORE;
}

static att_err result_err(PGconn *c, const PGresult *res, bool *broken)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    att_err rc = map_sqlstate(state);
    *broken = PQstatus(c) != CONNECTION_OK;
    if (*broken) {
        rc = ATT_ERR_STORE_UNAVAILABLE;
    }
    if (rc == ATT_ERR_STORE || rc == ATT_ERR_STORE_UNAVAILABLE) {
        /* The SQLSTATE and the constraint's name only: messages may quote values. */
        const char *cons = res != NULL ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
        att_log(ATT_LOG_WARN, "store: postgresql error", "sqlstate",
                json_string(state != NULL ? state : "none"), "constraint",
                json_string(cons != NULL ? cons : ""), NULL);
    }
    return rc;
}

/* ---- statements ---------------------------------------------------------- */

static att_err exec_on(struct att_pg_lease *l, const char *sql, const struct att_pg_args *a,
                       PGresult **out, bool *broken)
{
    PGconn *c = att_pg_lease_conn(l);
    char name[24];
    *broken = false;
    if (!att_pg_lease_prepared(l, sql, name)) {
        PGresult *prep = NULL;
        if (PQsendPrepare(c, name, sql, a != NULL ? a->n : 0, a != NULL ? a->type : NULL) != 1 ||
            att_pg_lease_wait(l, &prep) != ATT_OK) {
            PQclear(prep);
            *broken = true;
            return ATT_ERR_STORE_UNAVAILABLE;
        }
        bool ok = PQresultStatus(prep) == PGRES_COMMAND_OK;
        att_err rc = ok ? ATT_OK : result_err(c, prep, broken);
        PQclear(prep);
        if (!ok) {
            return rc;
        }
        att_pg_lease_note_prepared(l, sql);
    }
    PGresult *res = NULL;
    if (PQsendQueryPrepared(c, name, a != NULL ? a->n : 0, a != NULL ? a->val : NULL,
                            a != NULL ? a->len : NULL, a != NULL ? a->format : NULL, 1) != 1 ||
        att_pg_lease_wait(l, &res) != ATT_OK) {
        PQclear(res);
        *broken = true;
        return ATT_ERR_STORE_UNAVAILABLE;
    }
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        att_err rc = result_err(c, res, broken);
        PQclear(res);
        return rc;
    }
    *out = res;
    return ATT_OK;
}

/* *sent: the statement reached the connection (a failure after that may follow its effect). */
static att_err exec_stmt(struct att_store *s, const char *sql, const struct att_pg_args *a,
                         PGresult **out, bool *sent)
{
    ATT_ENSURE(a == NULL || !a->overflow, ATT_ERR_INTERNAL);
    struct att_pg_lease *l = NULL;
    *sent = false;
    ATT_TRY(att_pg_lease_take(s, &l));
    bool broken = false;
    *sent = true;
    att_err rc = exec_on(l, sql, a, out, &broken);
    att_pg_lease_give(l, broken);
    return rc;
}

att_err att_pg_run(struct att_store *s, const char *sql, const struct att_pg_args *a,
                   int64_t *changes)
{
    PGresult *res = NULL;
    bool sent = false;
    att_err rc = exec_stmt(s, sql, a, &res, &sent);
    /* A write of its own (no transaction around it) commits as it runs: lost on the way back,
     * its answer says nothing of whether it happened. Inside a transaction, the COMMIT says. */
    if (rc == ATT_ERR_STORE_UNAVAILABLE && sent && !att_pg_in_transaction(s)) {
        rc = ATT_ERR_STORE_OUTCOME_UNKNOWN;
    }
    ATT_TRY(rc);
    if (changes != NULL) {
        const char *n = PQcmdTuples(res);
        *changes = n[0] != '\0' ? strtoll(n, NULL, 10) : 0;
    }
    PQclear(res);
    return ATT_OK;
}

att_err att_pg_query(struct att_store *s, const char *sql, const struct att_pg_args *a,
                     PGresult **out)
{
    bool sent = false;
    *out = NULL;
    return exec_stmt(s, sql, a, out, &sent);
}

att_err att_pg_query_i64(struct att_store *s, const char *sql, const struct att_pg_args *a,
                         int64_t *out)
{
    PGresult *res = NULL;
    att_err rc = att_pg_query(s, sql, a, &res);
    if (rc == ATT_OK) {
        rc = PQntuples(res) == 0  ? ATT_ERR_NOT_FOUND
             : PQntuples(res) > 1 ? ATT_ERR_STORE
                                  : att_pg_col_i64(res, 0, 0, out);
    }
    PQclear(res);
    return rc;
}

/* ---- columns ------------------------------------------------------------- */

/* The value of (row, col) when it is present, binary and of type `oid`; NULL otherwise. */
static const char *cell(const PGresult *r, int row, int col, Oid oid, int *len)
{
    if (row < 0 || row >= PQntuples(r) || col < 0 || col >= PQnfields(r) ||
        PQftype(r, col) != oid || PQfformat(r, col) != 1 || PQgetisnull(r, row, col)) {
        return NULL;
    }
    *len = PQgetlength(r, row, col);
    return PQgetvalue(r, row, col);
}

att_err att_pg_col_text(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    int len = 0;
    const char *v = cell(r, row, col, OID_TEXT, &len);
    ATT_ENSURE(v != NULL && len >= 0 && (size_t)len < cap, ATT_ERR_STORE);
    ATT_ENSURE(memchr(v, 0, (size_t)len) == NULL, ATT_ERR_STORE);
    memcpy(dst, v, (size_t)len);
    dst[len] = '\0';
    return ATT_OK;
}

att_err att_pg_col_i64(const PGresult *r, int row, int col, int64_t *out)
{
    int len = 0;
    const unsigned char *v = (const unsigned char *)cell(r, row, col, OID_INT8, &len);
    ATT_ENSURE(v != NULL && len == 8, ATT_ERR_STORE);
    uint64_t u = 0;
    for (int b = 0; b < 8; b++) {
        u = (u << 8) | v[b];
    }
    *out = (int64_t)u;
    return ATT_OK;
}

att_err att_pg_col_bool(const PGresult *r, int row, int col, bool *out)
{
    int64_t v = 0;
    ATT_TRY(att_pg_col_i64(r, row, col, &v));
    ATT_ENSURE(v == 0 || v == 1, ATT_ERR_STORE);
    *out = v == 1;
    return ATT_OK;
}

att_err att_pg_col_blob(const PGresult *r, int row, int col, struct att_buf *b)
{
    int len = 0;
    const char *v = cell(r, row, col, OID_BYTEA, &len);
    ATT_ENSURE(v != NULL && len >= 0 && (size_t)len <= b->max, ATT_ERR_STORE);
    att_buf_reset(b);
    ATT_ENSURE(att_buf_put(b, v, (size_t)len) == ATT_OK, ATT_ERR_STORE);
    return ATT_OK;
}

att_err att_pg_col_text_buf(const PGresult *r, int row, int col, struct att_buf *b)
{
    int len = 0;
    const char *v = cell(r, row, col, OID_TEXT, &len);
    ATT_ENSURE(v != NULL && len >= 0 && (size_t)len <= b->max, ATT_ERR_STORE);
    ATT_ENSURE(memchr(v, 0, (size_t)len) == NULL, ATT_ERR_STORE);
    att_buf_reset(b);
    ATT_ENSURE(att_buf_put(b, v, (size_t)len) == ATT_OK, ATT_ERR_STORE);
    return ATT_OK;
}

att_err att_pg_row(const PGresult *r, int row, const struct att_store_row *cols, void *rec)
{
    unsigned char *base = rec;
    for (size_t i = 0; i < cols->n; i++) {
        const struct att_store_col *c = &cols->cols[i];
        void *field = base + c->off;
        int col = (int)i;
        switch (c->kind) {
        case 't': ATT_TRY(att_pg_col_text(r, row, col, field, c->cap)); break;
        case 'i': ATT_TRY(att_pg_col_i64(r, row, col, field)); break;
        case 'b': ATT_TRY(att_pg_col_bool(r, row, col, field)); break;
        case 'B': ATT_TRY(att_pg_col_blob(r, row, col, field)); break;
        default: return ATT_ERR_INTERNAL;
        }
    }
    return ATT_OK;
}
