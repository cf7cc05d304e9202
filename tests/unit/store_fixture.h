/*
 * store_fixture.h - a fresh store for cmocka setup/teardown, on either backend: an SQLite file
 * in its own temporary directory, or a PostgreSQL database of its own on the server the test
 * run started (tests/pg_server.py; its address in ATTESTD_TEST_PG). Shared by the store, auth
 * and other tests that need a real store.
 *
 * Tests of record operations run once per backend (store_fx_backends); raw SQL, as an attacker
 * with access to the database would run it, goes through store_fx_raw_* on either.
 */
#ifndef ATT_TEST_STORE_FIXTURE_H
#define ATT_TEST_STORE_FIXTURE_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "att_test.h"
#include "store/store.h"

struct store_fx {
    char dir[64];
    char db[128];        /* SQLite: the database file; "" on PostgreSQL */
    char url[320];       /* PostgreSQL: the test's own database; "" on SQLite */
    char dbname[64];     /* PostgreSQL: that database's name */
    struct att_store *s; /* NULL when the test opens the database itself */
};

/* The PostgreSQL server of this test run (no database in it), or NULL when there is none. */
static inline const char *store_fx_pg_server(void)
{
    const char *u = getenv("ATTESTD_TEST_PG");
    return u != NULL && u[0] != '\0' ? u : NULL;
}

static inline bool store_fx_is_pg(const struct store_fx *f)
{
    return f->url[0] != '\0';
}

/* Run SQL on the server's maintenance database (CREATE / DROP DATABASE). */
static inline void store_fx_pg_admin(const char *sql)
{
    char url[320];
    snprintf(url, sizeof(url), "%s/postgres", store_fx_pg_server());
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fail_msg("postgresql: %s", PQerrorMessage(c));
    }
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fail_msg("postgresql: %s: %s", sql, PQresultErrorMessage(r));
    }
    PQclear(r);
    PQfinish(c);
}

static inline int store_fx_setup(void **state, const char *tag, bool open)
{
    struct store_fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    att_test_mkdtemp(tag, f->dir, sizeof(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/attestd.db", f->dir);
    if (open) {
        EXPECT_OK(att_store_open_sqlite(f->db, &f->s));
    }
    *state = f;
    return 0;
}

/* The same on PostgreSQL: a database of the test's own, dropped at teardown. */
static inline int store_fx_setup_pg(void **state, const char *tag, bool open)
{
    static unsigned seq;
    struct store_fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_non_null(store_fx_pg_server());
    att_test_mkdtemp(tag, f->dir, sizeof(f->dir));
    snprintf(f->dbname, sizeof(f->dbname), "t_%s_%ld_%u", tag, (long)getpid(), seq++);
    snprintf(f->url, sizeof(f->url), "%s/%s", store_fx_pg_server(), f->dbname);
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", f->dbname);
    store_fx_pg_admin(sql);
    if (open) {
        EXPECT_OK(att_store_open_postgresql(f->url, &f->s));
    }
    *state = f;
    return 0;
}

/* Open the fixture's store again (after closing it), on its backend. */
static inline att_err store_fx_open(struct store_fx *f, struct att_store **out)
{
    return store_fx_is_pg(f) ? att_store_open_postgresql(f->url, out)
                             : att_store_open_sqlite(f->db, out);
}

static inline int store_fx_teardown(void **state)
{
    struct store_fx *f = *state;
    att_store_close(f->s);
    if (store_fx_is_pg(f)) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP DATABASE \"%s\" WITH (FORCE)", f->dbname);
        store_fx_pg_admin(sql);
    }
    att_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* Run SQL on a connection of its own, as someone with access to the database would. */
static inline void store_fx_raw_exec(const struct store_fx *f, const char *sql)
{
    if (store_fx_is_pg(f)) {
        PGconn *c = PQconnectdb(f->url);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
            fail_msg("raw_exec: %s", PQresultErrorMessage(r));
        }
        PQclear(r);
        PQfinish(c);
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fail_msg("raw_exec: %s", err != NULL ? err : "?");
    }
    sqlite3_free(err);
    sqlite3_close(db);
}

/* The integer a query answers (first row, first column). */
static inline int64_t store_fx_raw_i64(const struct store_fx *f, const char *sql)
{
    int64_t v = 0;
    if (store_fx_is_pg(f)) {
        PGconn *c = PQconnectdb(f->url);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
            fail_msg("raw_i64: %s: %s", sql, PQresultErrorMessage(r));
        }
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
        return v;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/*
 * Run a group of tests on SQLite and, when the run has a PostgreSQL server, again on
 * PostgreSQL: the sum of both groups' failures. `name` gets "_sqlite" / "_postgresql".
 */
#define STORE_FX_RUN_BOTH(name, tests_sqlite, tests_pg)                                            \
    (cmocka_run_group_tests_name(name "_sqlite", tests_sqlite, NULL, NULL) +                       \
     (store_fx_pg_server() != NULL                                                                 \
          ? cmocka_run_group_tests_name(name "_postgresql", tests_pg, NULL, NULL)                  \
          : (printf("[  SKIPPED ] " name "_postgresql: ATTESTD_TEST_PG is not set\n"), 0)))

#endif
