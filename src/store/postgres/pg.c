/*
 * pg.c - the PostgreSQL backend of struct att_store_ops: a small pool of connections per store,
 * transactions as handles of their own, and the operation table.
 *
 * Threads: a store is shared by every thread of a process. Each statement outside a
 * transaction leases a connection from the pool for its span alone; a transaction
 * (att_store_begin) holds one connection until it commits or rolls back, and its handle sends
 * every statement there, so transactions of different threads never mix (unlike one shared
 * SQLite connection). The pool holds at most POOL_MAX connections, opened when first needed;
 * a thread that finds them all leased waits up to POOL_WAIT_MS, then fails busy.
 *
 * Failures: a connection that breaks (the server restarted, the network dropped) is closed
 * and opened again by the next lease; while the server cannot be reached every operation
 * fails at once with ATT_ERR_STORE_UNAVAILABLE (HTTP 503) and a new connection is tried at
 * most once per RECONNECT_PAUSE_MS, so a dead database never stalls the threads that ask.
 *
 * Input trust: the connection string comes from configuration; it may hold a password, so it
 * is never logged (docs/operations.md: put passwords in a passfile, not in the URL).
 */
#include "store/postgres/pg_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/mem.h"

#define POOL_MAX 8
#define POOL_WAIT_MS 10000
#define RECONNECT_PAUSE_MS 1000
#define PREPARED_MAX 256
#define LOCK_WAIT_DEFAULT_MS 5000
/* How much longer than the lock wait a statement may take before the server counts as gone. */
#define ANSWER_GRACE_MS 3000

/* One connection of the pool: a lease while taken. */
struct att_pg_lease {
    struct pg_pool *pool;
    PGconn *conn;
    const char *prepared[PREPARED_MAX]; /* the SQL texts prepared here, by address */
    size_t n_prepared;
    int lock_wait_ms; /* lock_timeout set on this connection; -1 before the first SET */
    bool leased;
    bool in_tx; /* held by a transaction handle: its statements do not return it */
};

struct pg_pool {
    pthread_mutex_t mu;
    pthread_cond_t freed;
    char *conninfo;
    PGconn *listener;       /* LISTENs to attestd_changes (att_store_changes_wait); its thread's */
    int64_t next_listen_ms; /* no new listener connection before this */
    int lock_wait_ms;
    int64_t next_connect_ms; /* no new connection before this (after a failed one) */
    struct att_pg_lease conns[POOL_MAX];
};

struct pg_store {
    struct att_store base; /* first, so a struct att_store * converts back */
    struct pg_pool *pool;
    /* The connection all statements go to: a transaction's, or a cluster lock's (which holds
     * it for as long as the lock is held); NULL for the store itself (one per statement). */
    struct att_pg_lease *tx;
    int savepoints;   /* nesting of att_pg_atomic inside the transaction */
    bool is_lock;     /* a lock's handle (pg_lock), not a transaction's */
    int64_t lock_key; /* its key */
};

static const struct att_store_ops pg_ops;
static void pg_unlock(struct att_store *lock);

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connections --------------------------------------------------------- */

static void lease_close(struct att_pg_lease *l)
{
    PQfinish(l->conn);
    l->conn = NULL;
    l->n_prepared = 0;
    l->lock_wait_ms = -1;
}

att_err att_pg_lease_wait(struct att_pg_lease *l, PGresult **out)
{
    int64_t budget = (l->lock_wait_ms > 0 ? l->lock_wait_ms : 0) + ANSWER_GRACE_MS;
    int64_t deadline = now_ms() + budget;
    PGresult *last = NULL;
    *out = NULL;
    for (;;) {
        while (PQisBusy(l->conn)) {
            int64_t left = deadline - now_ms();
            struct pollfd pfd = {.fd = PQsocket(l->conn), .events = POLLIN};
            int n = left > 0 ? poll(&pfd, 1, (int)left) : 0;
            if ((n < 0 && errno != EINTR) || n == 0 || PQconsumeInput(l->conn) != 1) {
                PQclear(last);
                att_log(ATT_LOG_WARN, "store: postgresql did not answer in time", "wait_ms",
                        json_integer(budget), NULL);
                return ATT_ERR_STORE_UNAVAILABLE;
            }
        }
        PGresult *res = PQgetResult(l->conn);
        if (res == NULL) {
            break;
        }
        PQclear(last);
        last = res;
    }
    *out = last;
    return last != NULL ? ATT_OK : ATT_ERR_STORE_UNAVAILABLE;
}

/* Run constant SQL with no parameters (SET, BEGIN, COMMIT ...) on a connection. */
static att_err exec_plain(struct att_pg_lease *l, const char *sql)
{
    PGresult *res = NULL;
    if (PQsendQuery(l->conn, sql) != 1 || att_pg_lease_wait(l, &res) != ATT_OK) {
        PQclear(res);
        lease_close(l); /* no answer in time: the connection cannot be trusted any more */
        return ATT_ERR_STORE_UNAVAILABLE;
    }
    ExecStatusType st = PQresultStatus(res);
    att_err rc = ATT_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        rc = PQstatus(l->conn) != CONNECTION_OK             ? ATT_ERR_STORE_UNAVAILABLE
             : state != NULL && strcmp(state, "55P03") == 0 ? ATT_ERR_STORE_BUSY
                                                            : ATT_ERR_STORE;
        att_log(ATT_LOG_WARN, "store: postgresql command failed", "sqlstate",
                json_string(state != NULL ? state : "none"), NULL);
    }
    PQclear(res);
    return rc;
}

/* Notices ("relation already exists, skipping") are not errors, and stderr is not our log. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Open the slot's connection. Called with the pool's lock released (connecting may wait). */
static att_err connect_slot(struct pg_pool *p, struct att_pg_lease *l)
{
    /* Our defaults first: keywords of the URL (expanded from dbname) override them. */
    static const char *const keys[] = {"connect_timeout",
                                       "application_name",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count",
                                       "dbname",
                                       NULL};
    /* 2 s (libpq's least): the key process's look must give up well within its 5 s. */
    const char *vals[] = {"2", "attestd", "30", "10", "3", p->conninfo, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        att_log(ATT_LOG_WARN, "store: cannot connect to postgresql", "error",
                json_string(c != NULL ? "connection refused or failed" : "out of memory"), NULL);
        PQfinish(c);
        return ATT_ERR_STORE_UNAVAILABLE;
    }
    PQsetNoticeProcessor(c, ignore_notice, NULL);
    l->conn = c;
    l->n_prepared = 0;
    l->lock_wait_ms = -1;
    /* A transaction left idle (a stuck client) must not hold locks for ever, and no statement
     * may hold a worker for ever (a server that stopped answering, a runaway plan). */
    att_err rc = exec_plain(l, "SET idle_in_transaction_session_timeout = 60000;"
                               " SET statement_timeout = 30000");
    if (rc != ATT_OK) {
        lease_close(l);
    }
    return rc;
}

att_err att_pg_lease_take(struct att_store *s, struct att_pg_lease **out)
{
    struct pg_store *ps = (struct pg_store *)s;
    if (ps->tx != NULL) {
        ATT_ENSURE(ps->tx->conn != NULL, ATT_ERR_STORE_UNAVAILABLE); /* it broke earlier */
        *out = ps->tx;
        return ATT_OK;
    }
    struct pg_pool *p = ps->pool;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += POOL_WAIT_MS / 1000;

    pthread_mutex_lock(&p->mu);
    struct att_pg_lease *l = NULL;
    for (;;) {
        struct att_pg_lease *idle = NULL;
        for (size_t i = 0; i < POOL_MAX && l == NULL; i++) {
            if (!p->conns[i].leased && p->conns[i].conn != NULL) {
                l = &p->conns[i]; /* an open connection first */
            } else if (!p->conns[i].leased && idle == NULL) {
                idle = &p->conns[i];
            }
        }
        l = l != NULL ? l : idle;
        if (l != NULL || pthread_cond_timedwait(&p->freed, &p->mu, &until) != 0) {
            break;
        }
    }
    if (l == NULL) {
        pthread_mutex_unlock(&p->mu);
        return ATT_ERR_STORE_BUSY;
    }
    l->leased = true;
    int want_wait = p->lock_wait_ms;
    bool may_connect = now_ms() >= p->next_connect_ms;
    pthread_mutex_unlock(&p->mu);

    att_err rc = ATT_OK;
    if (l->conn != NULL && PQstatus(l->conn) != CONNECTION_OK) {
        lease_close(l);
    }
    if (l->conn == NULL) {
        rc = may_connect ? connect_slot(p, l) : ATT_ERR_STORE_UNAVAILABLE;
        if (rc != ATT_OK && may_connect) {
            pthread_mutex_lock(&p->mu);
            p->next_connect_ms = now_ms() + RECONNECT_PAUSE_MS;
            pthread_mutex_unlock(&p->mu);
        }
    }
    if (rc == ATT_OK && l->lock_wait_ms != want_wait) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SET lock_timeout = %d", want_wait);
        rc = exec_plain(l, sql);
        l->lock_wait_ms = rc == ATT_OK ? want_wait : -1;
    }
    if (rc != ATT_OK) {
        att_pg_lease_give(l, true);
        return rc;
    }
    *out = l;
    return ATT_OK;
}

att_err att_pg_exec_script(struct att_store *s, const char *sql)
{
    struct att_pg_lease *l = NULL;
    ATT_TRY(att_pg_lease_take(s, &l));
    att_err rc = exec_plain(l, sql);
    att_pg_lease_give(l, PQstatus(l->conn) != CONNECTION_OK);
    return rc;
}

bool att_pg_in_transaction(struct att_store *s)
{
    const struct pg_store *ps = (const struct pg_store *)s;
    return ps->tx != NULL && !ps->is_lock;
}

PGconn *att_pg_lease_conn(struct att_pg_lease *l)
{
    return l->conn;
}

bool att_pg_lease_prepared(struct att_pg_lease *l, const char *sql, char name[24])
{
    snprintf(name, 24, "a%lx", (unsigned long)(uintptr_t)sql);
    for (size_t i = 0; i < l->n_prepared; i++) {
        if (l->prepared[i] == sql) {
            return true;
        }
    }
    return false;
}

void att_pg_lease_note_prepared(struct att_pg_lease *l, const char *sql)
{
    if (l->n_prepared < PREPARED_MAX) { /* past the cap a statement is simply prepared again */
        l->prepared[l->n_prepared++] = sql;
    }
}

void att_pg_lease_give(struct att_pg_lease *l, bool broken)
{
    if (broken) {
        lease_close(l); /* also a transaction's: its later statements then fail at once */
    }
    if (l->in_tx) {
        return; /* the transaction returns it when it ends */
    }
    struct pg_pool *p = l->pool;
    pthread_mutex_lock(&p->mu);
    l->leased = false;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->mu);
}

/* ---- transactions -------------------------------------------------------- */

static att_err pg_begin(struct att_store *s, struct att_store **out)
{
    struct pg_store *ps = (struct pg_store *)s;
    ATT_ENSURE(ps->tx == NULL, ATT_ERR_STATE); /* no nested transactions: att_pg_atomic nests */
    struct pg_store *tx = calloc(1, sizeof(*tx));
    ATT_ENSURE(tx != NULL, ATT_ERR_NOMEM);
    struct att_pg_lease *l = NULL;
    att_err rc = att_pg_lease_take(s, &l);
    if (rc == ATT_OK) {
        rc = exec_plain(l, "BEGIN");
        if (rc != ATT_OK) {
            att_pg_lease_give(l, PQstatus(l->conn) != CONNECTION_OK);
        }
    }
    if (rc != ATT_OK) {
        free(tx);
        return rc;
    }
    l->in_tx = true;
    tx->base.ops = &pg_ops;
    tx->pool = ps->pool;
    tx->tx = l;
    *out = &tx->base;
    return ATT_OK;
}

/* End the transaction with `sql` (COMMIT or ROLLBACK) and return its connection. */
static att_err tx_end(struct att_store *s, const char *sql)
{
    struct pg_store *ps = (struct pg_store *)s;
    ATT_ENSURE(ps->tx != NULL && !ps->is_lock, ATT_ERR_STATE);
    struct att_pg_lease *l = ps->tx;
    bool sent = l->conn != NULL;
    att_err rc = sent ? exec_plain(l, sql) : ATT_ERR_STORE_UNAVAILABLE;
    /* A COMMIT sent and then lost with its connection may have committed: say so, rather than
     * that nothing was changed (a ROLLBACK lost this way changed nothing either way). */
    if (rc == ATT_ERR_STORE_UNAVAILABLE && sent && strcmp(sql, "COMMIT") == 0) {
        rc = ATT_ERR_STORE_OUTCOME_UNKNOWN;
    }
    l->in_tx = false;
    att_pg_lease_give(l, rc != ATT_OK); /* a failed COMMIT or ROLLBACK: start afresh */
    free(ps);
    return rc;
}

static att_err pg_commit(struct att_store *s)
{
    return tx_end(s, "COMMIT");
}

static att_err pg_rollback(struct att_store *s)
{
    return tx_end(s, "ROLLBACK");
}

att_err att_pg_atomic(struct att_store *s, att_err (*fn)(struct att_store *tx, void *arg),
                      void *arg)
{
    struct pg_store *ps = (struct pg_store *)s;
    if (ps->tx == NULL) {
        struct att_store *tx = NULL;
        ATT_TRY(pg_begin(s, &tx));
        att_err rc = fn(tx, arg);
        if (rc == ATT_OK) {
            return pg_commit(tx);
        }
        att_ignore_err(pg_rollback(tx));
        return rc;
    }
    /* Inside the caller's transaction: a savepoint, so a failure undoes only this part. */
    char sql[64];
    int depth = ++ps->savepoints;
    snprintf(sql, sizeof(sql), "SAVEPOINT att_%d", depth);
    att_err rc = exec_plain(ps->tx, sql);
    if (rc == ATT_OK) {
        rc = fn(s, arg);
        snprintf(sql, sizeof(sql),
                 rc == ATT_OK ? "RELEASE SAVEPOINT att_%d" : "ROLLBACK TO SAVEPOINT att_%d", depth);
        att_err end = ps->tx->conn != NULL ? exec_plain(ps->tx, sql) : ATT_ERR_STORE_UNAVAILABLE;
        rc = rc == ATT_OK ? end : rc;
    }
    ps->savepoints--;
    return rc;
}

/* ---- many nodes ------------------------------------------------------------ */

static att_err pg_changes_get(struct att_store *s, struct att_store_changes *out)
{
    static const char *const sql[ATT_TOPIC_COUNT] = {
        "SELECT seq FROM store_changes WHERE topic = 'providers'",
        "SELECT seq FROM store_changes WHERE topic = 'collateral'",
    };
    for (size_t i = 0; i < ATT_TOPIC_COUNT; i++) {
        ATT_TRY(att_pg_query_i64(s, sql[i], NULL, &out->seq[i]));
    }
    return ATT_OK;
}

static att_err pg_secret_put_new(struct att_store *s, const char *name, const uint8_t *sealed,
                                 size_t len, int64_t now)
{
    struct att_pg_args a = {0};
    att_pg_text(&a, name);
    att_pg_blob(&a, sealed, len);
    att_pg_i64(&a, now);
    return att_pg_run(s,
                      "INSERT INTO cluster_secrets(name, sealed, created_at) VALUES($1, $2, $3)"
                      " ON CONFLICT (name) DO NOTHING",
                      &a, NULL);
}

static att_err pg_secret_get(struct att_store *s, const char *name, struct att_buf *out)
{
    PGresult *res = NULL;
    struct att_pg_args a = {0};
    att_pg_text(&a, name);
    att_err rc = att_pg_query(s, "SELECT sealed FROM cluster_secrets WHERE name = $1", &a, &res);
    if (rc == ATT_OK) {
        rc = PQntuples(res) == 0 ? ATT_ERR_NOT_FOUND : att_pg_col_blob(res, 0, 0, out);
    }
    PQclear(res);
    return rc;
}

/* Nodes race only on the primary key: the insert that changes no row is the replay. */
static att_err pg_challenge_claim(struct att_store *s, const char *provider, const char *nonce,
                                  int64_t expires, int64_t now)
{
    struct att_pg_args p = {0};
    att_pg_i64(&p, now);
    ATT_TRY(att_pg_run(s, "DELETE FROM used_challenges WHERE expires_at < $1", &p, NULL));
    struct att_pg_args a = {0};
    int64_t changes = 0;
    att_pg_text(&a, provider);
    att_pg_text(&a, nonce);
    att_pg_i64(&a, expires);
    ATT_TRY(att_pg_run(s,
                       "INSERT INTO used_challenges(provider, nonce, expires_at)"
                       " VALUES($1, $2, $3) ON CONFLICT DO NOTHING",
                       &a, &changes));
    return changes == 1 ? ATT_OK : ATT_ERR_TOKEN_REPLAY;
}

/* The listener connection, opened (and LISTENing) when there is none; NULL when it cannot be. */
static PGconn *listener(struct pg_pool *p)
{
    if (p->listener != NULL && PQstatus(p->listener) == CONNECTION_OK) {
        return p->listener;
    }
    PQfinish(p->listener);
    p->listener = NULL;
    if (now_ms() < p->next_listen_ms) {
        return NULL;
    }
    p->next_listen_ms = now_ms() + RECONNECT_PAUSE_MS;
    struct att_pg_lease l = {.pool = p, .lock_wait_ms = -1};
    if (connect_slot(p, &l) != ATT_OK) {
        return NULL;
    }
    if (exec_plain(&l, "LISTEN attestd_changes") != ATT_OK) {
        lease_close(&l);
        return NULL;
    }
    p->listener = l.conn;
    return p->listener;
}

/* Drain the notifications received; whether there was one. */
static bool drain_notifications(PGconn *c)
{
    bool any = false;
    PGnotify *n;
    while ((n = PQnotifies(c)) != NULL) {
        any = true;
        PQfreemem(n);
    }
    return any;
}

static att_err pg_changes_wait(struct att_store *s, int timeout_ms)
{
    struct pg_pool *p = ((struct pg_store *)s)->pool;
    int64_t until = now_ms() + timeout_ms;
    PGconn *c = listener(p);
    if (c == NULL) {
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0) {
        }
        return ATT_ERR_STORE_UNAVAILABLE;
    }
    for (;;) {
        if (PQconsumeInput(c) == 0) { /* the connection broke: a new one next time */
            PQfinish(p->listener);
            p->listener = NULL;
            return ATT_ERR_STORE_UNAVAILABLE;
        }
        if (drain_notifications(c)) {
            return ATT_OK;
        }
        int64_t left = until - now_ms();
        if (left <= 0) {
            return ATT_ERR_TIMEOUT;
        }
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
            return ATT_ERR_IO;
        }
    }
}

static att_err pg_lock(struct att_store *s, int64_t key, bool wait, struct att_store **out)
{
    struct pg_store *ps = (struct pg_store *)s;
    ATT_ENSURE(ps->tx == NULL, ATT_ERR_STATE);
    struct pg_store *lk = calloc(1, sizeof(*lk));
    ATT_ENSURE(lk != NULL, ATT_ERR_NOMEM);
    struct att_pg_lease *l = NULL;
    att_err rc = att_pg_lease_take(s, &l);
    if (rc != ATT_OK) {
        free(lk);
        return rc;
    }
    l->in_tx = true; /* held by the lock's handle until unlock */
    lk->base.ops = &pg_ops;
    lk->pool = ps->pool;
    lk->tx = l;
    lk->is_lock = true;
    lk->lock_key = key;
    struct att_pg_args a = {0};
    att_pg_i64(&a, key);
    int64_t got = 0;
    rc = att_pg_query_i64(&lk->base,
                          wait ? "SELECT 1::int8 FROM (SELECT pg_advisory_lock($1)) AS t"
                               : "SELECT pg_try_advisory_lock($1)::int::int8",
                          &a, &got);
    rc = rc == ATT_OK && got != 1 ? ATT_ERR_BUSY : rc;
    if (rc != ATT_OK) {
        l->in_tx = false;
        att_pg_lease_give(l, false);
        free(lk);
        return rc;
    }
    *out = &lk->base;
    return ATT_OK;
}

static void pg_unlock(struct att_store *lock)
{
    struct pg_store *lk = (struct pg_store *)lock;
    if (!lk->is_lock) {
        return;
    }
    struct att_pg_lease *l = lk->tx;
    bool broken = l->conn == NULL;
    if (!broken) {
        struct att_pg_args a = {0};
        int64_t ok = 0;
        att_pg_i64(&a, lk->lock_key);
        /* Should it fail, the connection is closed instead, which releases the lock too. */
        broken =
            att_pg_query_i64(lock, "SELECT pg_advisory_unlock($1)::int::int8", &a, &ok) != ATT_OK ||
            ok != 1;
    }
    l->in_tx = false;
    att_pg_lease_give(l, broken);
    free(lk);
}

/*
 * The identity lock (store.h): a transaction-level advisory lock, released by the server when
 * the transaction ends however it ends (a dropped connection included). Its key is attestd's
 * migration key plus one (migrations.c). A wait counts against lock_timeout, so a stuck
 * holder makes this ATT_ERR_STORE_BUSY rather than a hang.
 */
static att_err pg_identity_lock(struct att_store *s)
{
    ATT_ENSURE(((struct pg_store *)s)->tx != NULL, ATT_ERR_STATE);
    return att_pg_run(s, "SELECT pg_advisory_xact_lock(61747465737465)", NULL, NULL);
}

/* ---- the store ----------------------------------------------------------- */

static void pg_close(struct att_store *s)
{
    struct pg_store *ps = (struct pg_store *)s;
    if (ps->is_lock) {
        pg_unlock(s);
        return;
    }
    if (ps->tx != NULL) { /* a transaction closed without an end: roll it back */
        att_ignore_err(pg_rollback(s));
        return;
    }
    struct pg_pool *p = ps->pool;
    for (size_t i = 0; i < POOL_MAX; i++) {
        lease_close(&p->conns[i]);
    }
    PQfinish(p->listener);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->mu);
    att_freezero(p->conninfo, strlen(p->conninfo) + 1); /* it may hold a password */
    free(p);
    free(ps);
}

static att_err pg_ping(struct att_store *s)
{
    int64_t one = 0;
    struct att_pg_args a = {0};
    att_pg_i64(&a, 1);
    return att_pg_query_i64(s, "SELECT $1::int8", &a, &one);
}

static att_err pg_set_lock_wait(struct att_store *s, int ms)
{
    struct pg_store *ps = (struct pg_store *)s;
    pthread_mutex_lock(&ps->pool->mu);
    ps->pool->lock_wait_ms = ms > 0 ? ms : 1; /* 0 would mean "wait for ever" in PostgreSQL */
    pthread_mutex_unlock(&ps->pool->mu);
    return ATT_OK;
}

static att_err pg_schema_version(struct att_store *s, int *out)
{
    return att_pg_schema_version(s, out);
}

/* Backups of a PostgreSQL store are PostgreSQL's own (pg_dump, base backups). */
static att_err pg_snapshot(struct att_store *s, const char *path)
{
    (void)s;
    (void)path;
    return ATT_ERR_STORE_UNSUPPORTED;
}

static att_err pg_check(struct att_store *s)
{
    int v = 0;
    ATT_TRY(att_pg_schema_version(s, &v));
    ATT_ENSURE(v == att_store_schema_latest(), ATT_ERR_STORE_SCHEMA);
    return ATT_OK;
}

/* In enum att_store_table's order, one statement: one snapshot sees every count. */
_Static_assert(ATT_STORE_TABLES == 12, "a table was added: count it here and in sqlite/sqlite.c");

static att_err pg_count(struct att_store *s, struct att_store_counts *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    PGresult *res = NULL;
    ATT_GUARD(att_pg_query(s,
                           "SELECT (SELECT COUNT(*) FROM providers), (SELECT COUNT(*) FROM"
                           " signing_keys), (SELECT COUNT(*) FROM data_keys), (SELECT COUNT(*)"
                           " FROM auth_keys), (SELECT COUNT(*) FROM principals), (SELECT COUNT(*)"
                           " FROM principal_secrets), (SELECT COUNT(*) FROM role_assignments),"
                           " (SELECT COUNT(*) FROM policy_versions), (SELECT COUNT(*) FROM"
                           " policy_requests), (SELECT COUNT(*) FROM policy_signers), (SELECT"
                           " COUNT(*) FROM collateral), (SELECT COUNT(*) FROM audit_checkpoint)",
                           NULL, &res));
    ATT_CHECK(PQntuples(res) == 1, ATT_ERR_STORE);
    for (int i = 0; i < ATT_STORE_TABLES; i++) {
        ATT_GUARD(att_pg_col_i64(res, 0, i, &out->rows[i]));
    }
    rc = ATT_OK;
out:
    PQclear(res);
    return rc;
}

static const struct att_store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .ping = pg_ping,
    .schema_version = pg_schema_version,
    .snapshot = pg_snapshot,
    .check = pg_check,
    .set_lock_wait = pg_set_lock_wait,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .count = pg_count,

    .provider_insert = att_pg_provider_insert,
    .provider_get = att_pg_provider_get,
    .provider_list = att_pg_provider_list,
    .provider_delete = att_pg_provider_delete,
    .provider_set_attest_requires_auth = att_pg_provider_set_attest_requires_auth,
    .provider_set_collateral_grace = att_pg_provider_set_collateral_grace,
    .provider_set_require_bound_requests = att_pg_provider_set_require_bound_requests,
    .provider_set_policy_history_keep = att_pg_provider_set_policy_history_keep,
    .provider_set_audit_fail_open = att_pg_provider_set_audit_fail_open,
    .provider_set_issuer = att_pg_provider_set_issuer,
    .audit_checkpoint_put = att_pg_audit_checkpoint_put,
    .audit_checkpoint_get = att_pg_audit_checkpoint_get,
    .audit_checkpoint_clear = att_pg_audit_checkpoint_clear,
    .audit_checkpoint_read = att_pg_audit_checkpoint_read,

    .key_insert = att_pg_key_insert,
    .key_list = att_pg_key_list,
    .key_delete = att_pg_key_delete,
    .key_note_use = att_pg_key_note_use,
    .key_set_activate = att_pg_key_set_activate,

    .dek_insert = att_pg_dek_insert,
    .dek_get = att_pg_dek_get,
    .dek_get_active = att_pg_dek_get_active,
    .dek_list = att_pg_dek_list,
    .dek_rewrap = att_pg_dek_rewrap,

    .auth_key_insert = att_pg_auth_key_insert,
    .auth_key_list = att_pg_auth_key_list,
    .principal_insert = att_pg_principal_insert,
    .principal_get = att_pg_principal_get,
    .principal_get_by_name = att_pg_principal_get_by_name,
    .principal_get_by_cert = att_pg_principal_get_by_cert,
    .principal_list = att_pg_principal_list,
    .principal_set_disabled = att_pg_principal_set_disabled,
    .principal_set_cert = att_pg_principal_set_cert,
    .principal_touch = att_pg_principal_touch,
    .principal_delete = att_pg_principal_delete,
    .secret_insert = att_pg_secret_insert,
    .secret_list = att_pg_secret_list,
    .secret_revoke = att_pg_secret_revoke,
    .role_insert = att_pg_role_insert,
    .role_get = att_pg_role_get,
    .role_list = att_pg_role_list,
    .role_list_for = att_pg_role_list_for,
    .role_count_enabled = att_pg_role_count_enabled,
    .role_delete = att_pg_role_delete,
    .identity_lock = pg_identity_lock,

    .policy_version_append = att_pg_policy_version_append,
    .policy_version_get = att_pg_policy_version_get,
    .policy_version_list = att_pg_policy_version_list,
    .policy_version_insert = att_pg_policy_version_insert,
    .policy_version_scan = att_pg_policy_version_scan,
    .policy_request_claim = att_pg_policy_request_claim,
    .policy_request_get = att_pg_policy_request_get,
    .policy_request_forget = att_pg_policy_request_forget,
    .policy_request_insert = att_pg_policy_request_insert,
    .policy_request_list = att_pg_policy_request_list,
    .signer_insert = att_pg_signer_insert,
    .signer_delete = att_pg_signer_delete,
    .signer_get = att_pg_signer_get,
    .signer_list = att_pg_signer_list,

    .collateral_put = att_pg_collateral_put,
    .collateral_get = att_pg_collateral_get,
    .collateral_list = att_pg_collateral_list,
    .collateral_delete_scope = att_pg_collateral_delete_scope,
    .secret_put_new = pg_secret_put_new,
    .secret_get = pg_secret_get,
    .challenge_claim = pg_challenge_claim,
    .changes_get = pg_changes_get,
    .changes_wait = pg_changes_wait,
    .lock = pg_lock,
    .unlock = pg_unlock,
};

bool att_store_is_postgresql_url(const char *url)
{
    return url != NULL &&
           (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0);
}

att_err att_store_url_check(const char *url, char *msg, size_t msg_len)
{
    if (!att_store_is_postgresql_url(url)) {
        snprintf(msg, msg_len, "store: expected \"sqlite\" or a postgresql:// URL");
        return ATT_ERR_CONFIG;
    }
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &why);
    if (opts == NULL) {
        /* Not libpq's message: it quotes the part of the URL it stumbled on, which may be the
         * password itself. */
        PQfreemem(why);
        snprintf(msg, msg_len,
                 "store: not a valid PostgreSQL URL (libpq's URI syntax: "
                 "postgresql://USER@HOST:PORT/DATABASE?PARAMETER=VALUE)");
        return ATT_ERR_CONFIG;
    }
    bool password = false;
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        password =
            password ||
            ((strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "sslpassword") == 0) &&
             o->val != NULL);
    }
    PQconninfoFree(opts);
    if (password) {
        snprintf(msg, msg_len,
                 "store: the URL holds a password; put it in a passfile "
                 "(passfile=PATH in the URL, or PGPASSFILE) or use a client "
                 "certificate (sslcert, sslkey)");
        return ATT_ERR_CONFIG;
    }
    return ATT_OK;
}

att_err att_store_open_postgresql(const char *url, struct att_store **out)
{
    char msg[256];
    ATT_ENSURE(out != NULL && att_store_url_check(url, msg, sizeof(msg)) == ATT_OK, ATT_ERR_ARG);

    struct pg_store *ps = calloc(1, sizeof(*ps));
    struct pg_pool *p = calloc(1, sizeof(*p));
    char *info = strdup(url);
    if (ps == NULL || p == NULL || info == NULL) {
        free(ps);
        free(p);
        free(info);
        return ATT_ERR_NOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->freed, NULL);
    p->conninfo = info;
    p->lock_wait_ms = LOCK_WAIT_DEFAULT_MS;
    for (size_t i = 0; i < POOL_MAX; i++) {
        p->conns[i].pool = p;
        p->conns[i].lock_wait_ms = -1;
    }
    ps->base.ops = &pg_ops;
    ps->pool = p;

    att_err rc = att_pg_migrate(&ps->base);
    if (rc != ATT_OK) {
        pg_close(&ps->base);
        return rc;
    }
    *out = &ps->base;
    return ATT_OK;
}
