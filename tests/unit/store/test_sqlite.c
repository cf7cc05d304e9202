/*
 * Unit tests for src/store/store.c, src/store/sqlite/ and src/store/postgres/: migrations,
 * connection settings, every record operation and its error codes, and rows a tampered
 * database may hold - on a real SQLite file in a temp directory and again on a real
 * PostgreSQL database (store_fixture.h); the file checks (modes, links, owners) on SQLite only.
 */
#include "att_test.h"
#include "store_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

static int setup(void **state)
{
    return store_fx_setup(state, "store", true);
}

static int setup_pg(void **state)
{
    return store_fx_setup_pg(state, "store", true);
}

static int teardown(void **state)
{
    return store_fx_teardown(state);
}

/* A provider row as migration 1 shaped it; later columns take their defaults. */
#define PROVIDER_ROW "INSERT INTO providers(name, issuer, signing_alg, is_default, created_at) "

static void make_provider(struct att_provider_rec *p, const char *name, bool is_default)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->issuer, sizeof(p->issuer), "https://%s.attest.example", name);
    snprintf(p->signing_alg, sizeof(p->signing_alg), "ES256");
    snprintf(p->trust_model, sizeof(p->trust_model), "%s", ATT_TRUST_AAD);
    p->is_default = is_default;
    p->created_at = 1700000000;
}

static void make_key(struct att_key_rec *k, const char *kid, const char *provider, int64_t at)
{
    att_key_rec_init(k);
    snprintf(k->kid, sizeof(k->kid), "%s", kid);
    snprintf(k->provider, sizeof(k->provider), "%s", provider);
    snprintf(k->alg, sizeof(k->alg), "ES256");
    EXPECT_OK(att_buf_put(&k->cert_der, "\x30\x82\x01\x00", 4));
    EXPECT_OK(att_buf_put(&k->sealed_key, "\x01\x20sealed", 8));
    k->created_at = at;
}

static void make_dek(struct att_dek_rec *d, const char *id, const char *kek, bool active,
                     int64_t at)
{
    att_dek_rec_init(d);
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->kek_id, sizeof(d->kek_id), "%s", kek);
    EXPECT_OK(att_buf_puts(&d->wrapped, id));
    d->active = active;
    d->created_at = at;
}

/* ---- schema and connection ------------------------------------------------ */

static void test_fresh_db_migrated(void **state)
{
    struct store_fx *f = *state;
    int v = -1;
    EXPECT_OK(att_store_ping(f->s));
    EXPECT_OK(att_store_schema_version(f->s, &v));
    assert_int_equal(v, att_store_schema_latest());
    assert_true(att_store_schema_latest() >= 1);
    assert_string_equal(att_store_backend(f->s), store_fx_is_pg(f) ? "postgresql" : "sqlite");
}

static void test_reopen_is_idempotent(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p, got;
    int v = -1;
    make_provider(&p, "p1", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    for (int i = 0; i < 3; i++) {
        att_store_close(f->s);
        f->s = NULL;
        EXPECT_OK(store_fx_open(f, &f->s));
    }
    EXPECT_OK(att_store_schema_version(f->s, &v));
    assert_int_equal(v, att_store_schema_latest());
    EXPECT_OK(att_store_provider_get(f->s, "p1", &got));
    /* Each migration is recorded once. */
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM schema_migrations"),
                     att_store_schema_latest());
}

static void test_newer_schema_refused(void **state)
{
    struct store_fx *f = *state;
    char sql[128];
    struct att_store *s2 = NULL;
    snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations VALUES(%d, 0)",
             att_store_schema_latest() + 1);
    store_fx_raw_exec(f, sql);
    EXPECT_ERR(store_fx_open(f, &s2), ATT_ERR_STORE_SCHEMA);
    assert_null(s2);
}

/* journal_mode is stored in the file, so a second connection sees it. */
static void test_wal_and_file_modes(void **state)
{
    struct store_fx *f = *state;
    struct stat st;
    struct att_provider_rec p;
    char wal[160];
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;

    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);

    make_provider(&p, "p1", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    assert_int_equal(stat(f->db, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(wal, sizeof(wal), "%s-wal", f->db);
    assert_int_equal(stat(wal, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

/*
 * PRAGMA foreign_keys is per connection, so another connection cannot see
 * ours; its effects can: a dangling reference is refused and deletes cascade.
 */
static void test_foreign_keys_enforced(void **state)
{
    struct store_fx *f = *state;
    struct att_key_rec k;
    make_key(&k, "kid-1", "no-such-provider", 1);
    EXPECT_ERR(att_store_key_insert(f->s, &k), ATT_ERR_STORE_CONSTRAINT);
    att_key_rec_cleanup(&k);
}

static void test_file_mode_with_loose_umask(void **state)
{
    struct store_fx *f = *state;
    char path[160];
    struct att_store *s2 = NULL;
    struct stat st;
    snprintf(path, sizeof(path), "%s/second.db", f->dir);
    mode_t old = umask(0);
    EXPECT_OK(att_store_open_sqlite(path, &s2));
    umask(old);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    att_store_close(s2);
    att_store_close(NULL);
}

static void test_open_failures(void **state)
{
    struct store_fx *f = *state;
    struct att_store *s2 = NULL;
    char path[160];
    snprintf(path, sizeof(path), "%s/missing-dir/x.db", f->dir);
    EXPECT_ERR(att_store_open_sqlite(path, &s2), ATT_ERR_IO);
    /* Not a database: refused, nothing leaked. */
    snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
    FILE *g = fopen(path, "wb");
    assert_non_null(g);
    for (int i = 0; i < 4096; i++) {
        fputc('x', g);
    }
    fclose(g);
    EXPECT_ERR(att_store_open_sqlite(path, &s2), ATT_ERR_STORE);
    assert_null(s2);
    EXPECT_ERR(att_store_open_sqlite(NULL, &s2), ATT_ERR_ARG);
}

/* ---- file ownership and permissions ---------------------------------------- */

static void make_file(const char *path, mode_t mode)
{
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

static void assert_mode(const char *path, mode_t want)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, want);
}

/* A dangling link used to make SQLite create its target world-readable. */
static void test_symlink_refused(void **state)
{
    struct store_fx *f = *state;
    struct att_store *s2 = NULL;
    char link[160], target[160];
    snprintf(link, sizeof(link), "%s/link.db", f->dir);
    snprintf(target, sizeof(target), "%s/target.db", f->dir);
    assert_int_equal(symlink(target, link), 0);
    EXPECT_ERR(att_store_open_sqlite(link, &s2), ATT_ERR_PERM);
    assert_null(s2);
    assert_int_not_equal(access(target, F_OK), 0);
    /* A link to an existing database is refused too, and the target untouched. */
    assert_int_equal(unlink(link), 0);
    assert_int_equal(symlink(f->db, link), 0);
    EXPECT_ERR(att_store_open_sqlite(link, &s2), ATT_ERR_PERM);
    assert_null(s2);
    assert_int_equal(unlink(link), 0);
}

/* Only the file itself must not be a link: a data directory reached through one is fine. */
static void test_symlinked_dir_allowed(void **state)
{
    struct store_fx *f = *state;
    struct att_store *s2 = NULL;
    char link[160], path[192];
    snprintf(link, sizeof(link), "%s-link", f->dir);
    assert_int_equal(symlink(f->dir, link), 0);
    snprintf(path, sizeof(path), "%s/attestd.db", link);
    EXPECT_OK(att_store_open_sqlite(path, &s2));
    EXPECT_OK(att_store_ping(s2));
    att_store_close(s2);
    assert_int_equal(unlink(link), 0);
}

static void test_sidecar_symlink_refused(void **state)
{
    struct store_fx *f = *state;
    struct att_store *s2 = NULL;
    char path[160], wal[192], target[160];
    snprintf(path, sizeof(path), "%s/second.db", f->dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    snprintf(target, sizeof(target), "%s/target-wal", f->dir);
    assert_int_equal(symlink(target, wal), 0);
    EXPECT_ERR(att_store_open_sqlite(path, &s2), ATT_ERR_PERM);
    assert_null(s2);
    assert_int_not_equal(access(target, F_OK), 0);
}

/* Files from an older release may be 0644: they are tightened, not refused. */
static void test_loose_files_fixed(void **state)
{
    struct store_fx *f = *state;
    struct att_store *s2 = NULL;
    char path[160], wal[192], shm[192];
    struct att_provider_rec p;
    snprintf(path, sizeof(path), "%s/second.db", f->dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    snprintf(shm, sizeof(shm), "%s-shm", path);
    make_file(path, 0644);
    make_file(wal, 0644);
    make_file(shm, 0666);
    EXPECT_OK(att_store_open_sqlite(path, &s2));
    assert_mode(path, 0600);
    assert_mode(wal, 0600);
    assert_mode(shm, 0600);
    make_provider(&p, "p1", false);
    EXPECT_OK(att_store_provider_insert(s2, &p));
    att_store_close(s2);
    /* An existing database (as left by an older release) heals the same way. */
    assert_int_equal(chmod(f->db, 0644), 0);
    EXPECT_OK(att_store_open_sqlite(f->db, &s2));
    assert_mode(f->db, 0600);
    att_store_close(s2);
}

static void test_non_regular_refused(void **state)
{
    struct store_fx *f = *state;
    struct att_store *s2 = NULL;
    char path[160];
    snprintf(path, sizeof(path), "%s/dir.db", f->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    EXPECT_ERR(att_store_open_sqlite(path, &s2), ATT_ERR_PERM);
    assert_null(s2);
    assert_int_equal(rmdir(path), 0);
    snprintf(path, sizeof(path), "%s/fifo.db", f->dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    EXPECT_ERR(att_store_open_sqlite(path, &s2), ATT_ERR_PERM);
    assert_null(s2);
}

static void test_other_owner_refused(void **state)
{
    struct store_fx *f = *state;
    struct att_store *s2 = NULL;
    char path[160];
    if (geteuid() != 0) {
        skip(); /* only root can give a file away */
    }
    snprintf(path, sizeof(path), "%s/theirs.db", f->dir);
    make_file(path, 0600);
    assert_int_equal(chown(path, 65534, 65534), 0);
    EXPECT_ERR(att_store_open_sqlite(path, &s2), ATT_ERR_PERM);
    assert_null(s2);
    assert_mode(path, 0600);
}

/* ---- providers -------------------------------------------------------------- */

struct names {
    char v[8][64];
    size_t n;
    att_err stop_with;
};

static att_err collect_provider(const struct att_provider_rec *p, void *arg)
{
    struct names *n = arg;
    if (n->stop_with != ATT_OK) {
        return n->stop_with;
    }
    snprintf(n->v[n->n++], sizeof(n->v[0]), "%s", p->name);
    return ATT_OK;
}

static void test_provider_crud(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p, got;
    struct names n = {0};

    make_provider(&p, "beta", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    make_provider(&p, "alpha", true);
    p.created_at = 42;
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    EXPECT_ERR(att_store_provider_insert(f->s, &p), ATT_ERR_EXISTS);

    memset(&got, 0x7f, sizeof(got));
    EXPECT_OK(att_store_provider_get(f->s, "alpha", &got));
    assert_string_equal(got.name, "alpha");
    assert_string_equal(got.issuer, "https://alpha.attest.example");
    assert_string_equal(got.signing_alg, "ES256");
    assert_string_equal(got.trust_model, "AAD");
    assert_true(got.is_default);
    assert_int_equal(got.created_at, 42);
    /* Only MAA's two trust models exist. */
    snprintf(p.name, sizeof(p.name), "isolated-one");
    p.is_default = false;
    snprintf(p.trust_model, sizeof(p.trust_model), "Other");
    EXPECT_ERR(att_store_provider_insert(f->s, &p), ATT_ERR_ARG);
    snprintf(p.trust_model, sizeof(p.trust_model), "%s", ATT_TRUST_ISOLATED);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    EXPECT_OK(att_store_provider_get(f->s, "isolated-one", &got));
    assert_string_equal(got.trust_model, "Isolated");
    EXPECT_OK(att_store_provider_delete(f->s, "isolated-one"));

    /* Out-parameters untouched on failure. */
    got.created_at = 7;
    EXPECT_ERR(att_store_provider_get(f->s, "gamma", &got), ATT_ERR_NOT_FOUND);
    assert_int_equal(got.created_at, 7);

    EXPECT_OK(att_store_provider_list(f->s, collect_provider, &n));
    assert_int_equal(n.n, 2);
    assert_string_equal(n.v[0], "alpha");
    assert_string_equal(n.v[1], "beta");
    n = (struct names){.stop_with = ATT_ERR_STATE};
    EXPECT_ERR(att_store_provider_list(f->s, collect_provider, &n), ATT_ERR_STATE);

    EXPECT_OK(att_store_provider_delete(f->s, "alpha"));
    EXPECT_ERR(att_store_provider_delete(f->s, "alpha"), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_provider_get(f->s, "alpha", &got), ATT_ERR_NOT_FOUND);
    n = (struct names){0};
    EXPECT_OK(att_store_provider_list(f->s, collect_provider, &n));
    assert_int_equal(n.n, 1);
}

static void test_only_one_default_provider(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    make_provider(&p, "one", true);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    make_provider(&p, "two", true);
    EXPECT_ERR(att_store_provider_insert(f->s, &p), ATT_ERR_EXISTS);
    p.is_default = false;
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    make_provider(&p, "three", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    /* Once the default is gone, another provider may become it. */
    EXPECT_OK(att_store_provider_delete(f->s, "one"));
    make_provider(&p, "four", true);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
}

static void test_provider_bad_arguments(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    make_provider(&p, "x", false);
    memset(p.name, 'a', sizeof(p.name)); /* not NUL-terminated */
    EXPECT_ERR(att_store_provider_insert(f->s, &p), ATT_ERR_ARG);
    make_provider(&p, "", false);
    EXPECT_ERR(att_store_provider_insert(f->s, &p), ATT_ERR_ARG);
    EXPECT_ERR(att_store_provider_insert(NULL, &p), ATT_ERR_ARG);
    EXPECT_ERR(att_store_provider_get(f->s, NULL, &p), ATT_ERR_ARG);
    EXPECT_ERR(att_store_provider_list(f->s, NULL, NULL), ATT_ERR_ARG);
}

/* Migration 3: attest_requires_auth defaults to off, round-trips and is changed in place. */
static void test_provider_attest_requires_auth(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    struct att_provider_rec got;
    struct names n = {0};

    make_provider(&p, "open", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    make_provider(&p, "closed", false);
    p.attest_requires_auth = true;
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    EXPECT_OK(att_store_provider_get(f->s, "open", &got));
    assert_false(got.attest_requires_auth);
    EXPECT_OK(att_store_provider_get(f->s, "closed", &got));
    assert_true(got.attest_requires_auth);

    EXPECT_OK(att_store_provider_set_attest_requires_auth(f->s, "open", true));
    EXPECT_OK(att_store_provider_set_attest_requires_auth(f->s, "open", true)); /* same value */
    EXPECT_OK(att_store_provider_get(f->s, "open", &got));
    assert_true(got.attest_requires_auth);
    assert_string_equal(got.issuer, "https://open.attest.example"); /* nothing else changed */
    EXPECT_OK(att_store_provider_set_attest_requires_auth(f->s, "closed", false));
    EXPECT_OK(att_store_provider_get(f->s, "closed", &got));
    assert_false(got.attest_requires_auth);
    EXPECT_OK(att_store_provider_list(f->s, collect_provider, &n));
    assert_int_equal(n.n, 2);

    EXPECT_ERR(att_store_provider_set_attest_requires_auth(f->s, "absent", true),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_provider_set_attest_requires_auth(f->s, NULL, true), ATT_ERR_ARG);
    EXPECT_ERR(att_store_provider_set_attest_requires_auth(NULL, "open", true), ATT_ERR_ARG);

    /* A row written without the column gets the default; a tampered value is refused. */
    store_fx_raw_exec(
        f, PROVIDER_ROW
        "VALUES('old', 'https://i', 'ES256', 0, 1);"
        "INSERT INTO providers VALUES('bad', 'https://i', 'ES256', 0, 1, 2, 'AAD', 0, 0, 0, 0,"
        " '', 0);");
    EXPECT_OK(att_store_provider_get(f->s, "old", &got));
    assert_false(got.attest_requires_auth);
    EXPECT_ERR(att_store_provider_get(f->s, "bad", &got), ATT_ERR_STORE);
}

/* A name longer than the record field (a tampered file) is an error, never truncated. */
static void test_oversized_column_refused(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec got;
    struct names n = {0};
    char sql[512];
    char longname[ATT_PROVIDER_NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    snprintf(sql, sizeof(sql), PROVIDER_ROW "VALUES('%s', 'https://i', 'ES256', 0, 1)", longname);
    store_fx_raw_exec(f, sql);
    EXPECT_ERR(att_store_provider_get(f->s, longname, &got), ATT_ERR_STORE);
    EXPECT_ERR(att_store_provider_list(f->s, collect_provider, &n), ATT_ERR_STORE);
    assert_int_equal(n.n, 0);
    /* Exactly the maximum still fits. */
    longname[ATT_PROVIDER_NAME_MAX] = '\0';
    store_fx_raw_exec(f, "DELETE FROM providers");
    snprintf(sql, sizeof(sql), PROVIDER_ROW "VALUES('%s', 'https://i', 'ES256', 0, 1)", longname);
    store_fx_raw_exec(f, sql);
    EXPECT_OK(att_store_provider_get(f->s, longname, &got));
    assert_string_equal(got.name, longname);
}

static void test_wrong_column_types_refused(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec got;
    struct att_dek_rec d;
    store_fx_raw_exec(f,
                      PROVIDER_ROW "VALUES('p', 'https://i', 'ES256', 5, 1);" PROVIDER_ROW
                                   "VALUES('q', 'https://i', 'ES256', 0, 'noon');" PROVIDER_ROW
                                   "VALUES('r', X'68747470', 'ES256', 0, 1);"
                                   "INSERT INTO data_keys VALUES('d1', 'k', 'text not blob', 1, 1);"
                                   "INSERT INTO data_keys VALUES('d2', 'k', X'00', 1, 1);");
    EXPECT_ERR(att_store_provider_get(f->s, "p", &got), ATT_ERR_STORE);
    EXPECT_ERR(att_store_provider_get(f->s, "q", &got), ATT_ERR_STORE);
    EXPECT_ERR(att_store_provider_get(f->s, "r", &got), ATT_ERR_STORE);
    att_dek_rec_init(&d);
    EXPECT_ERR(att_store_dek_get(f->s, "d1", &d), ATT_ERR_STORE);
    EXPECT_OK(att_store_dek_get(f->s, "d2", &d));
    assert_int_equal(d.wrapped.len, 1);
    att_dek_rec_cleanup(&d);
}

/* ---- signing keys --------------------------------------------------------- */

struct kids {
    char v[8][65];
    size_t n;
    size_t cert_len;
};

static att_err collect_key(const struct att_key_rec *k, void *arg)
{
    struct kids *c = arg;
    snprintf(c->v[c->n++], sizeof(c->v[0]), "%s", k->kid);
    c->cert_len = k->cert_der.len;
    return ATT_OK;
}

static void test_keys_and_cascade(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    struct att_key_rec k;
    struct kids c = {0};

    make_provider(&p, "p1", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    make_provider(&p, "p2", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    make_key(&k, "kid-new", "p1", 200);
    EXPECT_OK(att_store_key_insert(f->s, &k));
    EXPECT_ERR(att_store_key_insert(f->s, &k), ATT_ERR_EXISTS);
    att_key_rec_cleanup(&k);
    make_key(&k, "kid-old", "p1", 100);
    EXPECT_OK(att_store_key_insert(f->s, &k));
    att_key_rec_cleanup(&k);
    make_key(&k, "kid-other", "p2", 100);
    att_buf_cleanup(&k.cert_der); /* an empty blob stays a blob */
    EXPECT_OK(att_store_key_insert(f->s, &k));
    att_key_rec_cleanup(&k);

    EXPECT_OK(att_store_key_list(f->s, "p1", collect_key, &c));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.v[0], "kid-old"); /* oldest first */
    assert_string_equal(c.v[1], "kid-new");
    assert_int_equal(c.cert_len, 4);
    c = (struct kids){0};
    EXPECT_OK(att_store_key_list(f->s, "p2", collect_key, &c));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.cert_len, 0);

    EXPECT_OK(att_store_provider_delete(f->s, "p1"));
    c = (struct kids){0};
    EXPECT_OK(att_store_key_list(f->s, "p1", collect_key, &c));
    assert_int_equal(c.n, 0);
    c = (struct kids){0};
    EXPECT_OK(att_store_key_list(f->s, "p2", collect_key, &c));
    assert_int_equal(c.n, 1);
}

/* ---- data keys ---------------------------------------------------------------- */

struct dek_ids {
    char v[8][33];
    size_t n;
};

static att_err collect_dek(const struct att_dek_rec *d, void *arg)
{
    struct dek_ids *c = arg;
    snprintf(c->v[c->n++], sizeof(c->v[0]), "%s", d->id);
    return ATT_OK;
}

static void test_deks(void **state)
{
    struct store_fx *f = *state;
    struct att_dek_rec d, got;
    struct dek_ids c = {0};

    att_dek_rec_init(&got);
    EXPECT_ERR(att_store_dek_get_active(f->s, &got), ATT_ERR_NOT_FOUND);
    make_dek(&d, "dek-old", "kek-1", true, 100);
    EXPECT_OK(att_store_dek_insert(f->s, &d));
    EXPECT_ERR(att_store_dek_insert(f->s, &d), ATT_ERR_EXISTS);
    att_dek_rec_cleanup(&d);
    make_dek(&d, "dek-new", "kek-1", true, 200);
    EXPECT_OK(att_store_dek_insert(f->s, &d));
    att_dek_rec_cleanup(&d);
    make_dek(&d, "dek-retired", "kek-1", false, 300);
    EXPECT_OK(att_store_dek_insert(f->s, &d));
    att_dek_rec_cleanup(&d);

    EXPECT_OK(att_store_dek_get(f->s, "dek-old", &got));
    assert_string_equal(got.id, "dek-old");
    assert_string_equal(got.kek_id, "kek-1");
    assert_int_equal(got.wrapped.len, 7);
    assert_memory_equal(got.wrapped.data, "dek-old", 7);
    assert_true(got.active);
    assert_int_equal(got.created_at, 100);
    /* A second get into the same record releases the first buffer (LeakSanitizer checks). */
    EXPECT_OK(att_store_dek_get_active(f->s, &got));
    assert_string_equal(got.id, "dek-new");
    EXPECT_ERR(att_store_dek_get(f->s, "nope", &got), ATT_ERR_NOT_FOUND);
    assert_string_equal(got.id, "dek-new");

    EXPECT_OK(att_store_dek_list(f->s, collect_dek, &c));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0], "dek-old");
    assert_string_equal(c.v[2], "dek-retired");

    EXPECT_OK(att_store_dek_rewrap(f->s, "dek-old", "kek-2", (const uint8_t *)"rewrapped", 9));
    EXPECT_OK(att_store_dek_get(f->s, "dek-old", &got));
    assert_string_equal(got.kek_id, "kek-2");
    assert_int_equal(got.wrapped.len, 9);
    assert_memory_equal(got.wrapped.data, "rewrapped", 9);
    EXPECT_ERR(att_store_dek_rewrap(f->s, "nope", "kek-2", (const uint8_t *)"x", 1),
               ATT_ERR_NOT_FOUND);
    att_dek_rec_cleanup(&got);
}

static void test_transactions(void **state)
{
    struct store_fx *f = *state;
    struct att_dek_rec d, got;

    att_dek_rec_init(&got);
    make_dek(&d, "dek-tx", "kek-1", true, 1);
    struct att_store *tx = NULL;
    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_OK(att_store_dek_insert(tx, &d));
    EXPECT_OK(att_store_dek_get(tx, "dek-tx", &got)); /* seen inside */
    EXPECT_OK(att_store_rollback(tx));
    EXPECT_ERR(att_store_dek_get(f->s, "dek-tx", &got), ATT_ERR_NOT_FOUND);
    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_OK(att_store_dek_insert(tx, &d));
    EXPECT_OK(att_store_commit(tx));
    EXPECT_OK(att_store_dek_get(f->s, "dek-tx", &got));
    /* A store is not a transaction: COMMIT or ROLLBACK on it is an error, not a silent
     * success, and a transaction does not nest. */
    EXPECT_ERR(att_store_commit(f->s), ATT_ERR_STATE);
    EXPECT_ERR(att_store_rollback(f->s), ATT_ERR_STATE);
    EXPECT_OK(att_store_begin(f->s, &tx));
    struct att_store *inner = NULL;
    EXPECT_ERR(att_store_begin(tx, &inner), ATT_ERR_STATE);
    /* A failed statement inside does not end the transaction for the caller to end. */
    EXPECT_ERR(att_store_dek_insert(tx, &d), ATT_ERR_EXISTS);
    EXPECT_OK(att_store_rollback(tx));
    EXPECT_OK(att_store_dek_get(f->s, "dek-tx", &got));
    att_dek_rec_cleanup(&d);
    att_dek_rec_cleanup(&got);
}

/* A writer holding the lock on another connection makes ours report BUSY (after the timeout). */
static void test_busy_maps(void **state)
{
    struct store_fx *f = *state;
    sqlite3 *db = NULL;
    struct att_dek_rec d;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    make_dek(&d, "dek-busy", "kek-1", true, 1);
    /* This waits out the 5 s busy_timeout once. */
    EXPECT_ERR(att_store_dek_insert(f->s, &d), ATT_ERR_STORE_BUSY);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    EXPECT_OK(att_store_dek_insert(f->s, &d));
    att_dek_rec_cleanup(&d);
}

/*
 * The same on PostgreSQL: another session holding a lock makes ours give up after the lock
 * wait (lock_timeout) with BUSY; a short wait is set so the test is quick.
 */
static void test_busy_maps_pg(void **state)
{
    struct store_fx *f = *state;
    struct att_dek_rec d;
    PGconn *other = PQconnectdb(f->url);
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    PGresult *r = PQexec(other, "BEGIN; LOCK TABLE data_keys IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    EXPECT_OK(att_store_set_lock_wait(f->s, 200));
    make_dek(&d, "dek-busy", "kek-1", true, 1);
    EXPECT_ERR(att_store_dek_insert(f->s, &d), ATT_ERR_STORE_BUSY);
    PQclear(PQexec(other, "ROLLBACK"));
    PQfinish(other);
    EXPECT_OK(att_store_dek_insert(f->s, &d));
    att_dek_rec_cleanup(&d);
}

/* ---- many nodes: the change feed and cluster locks (migration 13) -------------------- */

/*
 * On PostgreSQL every committed change of what nodes cache raises its topic's counter, and
 * nothing else does (a principal's last use, a key's noted use); on SQLite they stay at 0.
 */
#define SHA256_OF_CRL                                                                              \
    "861aaa0731bdaea1fa598d1750466ef6210c4a1cc1e39d3ea4f3ee4f1bc9e5a2" /* SHA-256 of "crl" */

static void test_change_counters(void **state)
{
    struct store_fx *f = *state;
    struct att_store_changes c0, c1;
    struct att_provider_rec p;
    struct att_key_rec k;
    struct att_collateral_rec r;
    bool replaced = false;
    EXPECT_OK(att_store_changes_get(f->s, &c0));
    make_provider(&p, "feed", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    make_key(&k, "kid-feed", "feed", 5);
    EXPECT_OK(att_store_key_insert(f->s, &k));
    EXPECT_OK(att_store_changes_get(f->s, &c1));
    int64_t step = store_fx_is_pg(f) ? 1 : 0;
    assert_int_equal(c1.seq[ATT_TOPIC_PROVIDERS], c0.seq[ATT_TOPIC_PROVIDERS] + 2 * step);
    assert_int_equal(c1.seq[ATT_TOPIC_COLLATERAL], c0.seq[ATT_TOPIC_COLLATERAL]);
    /* Noted use changes nothing any node caches; activation does. */
    EXPECT_OK(att_store_key_note_use(f->s, "feed", "kid-feed", 100, 60));
    EXPECT_OK(att_store_changes_get(f->s, &c0));
    assert_int_equal(c0.seq[ATT_TOPIC_PROVIDERS], c1.seq[ATT_TOPIC_PROVIDERS]);
    EXPECT_OK(att_store_key_set_activate(f->s, "feed", "kid-feed", 7));
    EXPECT_OK(att_store_changes_get(f->s, &c1));
    assert_int_equal(c1.seq[ATT_TOPIC_PROVIDERS], c0.seq[ATT_TOPIC_PROVIDERS] + step);
    /* A rolled-back change raises nothing. */
    struct att_store *tx = NULL;
    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_OK(att_store_provider_set_collateral_grace(tx, "feed", 60));
    EXPECT_OK(att_store_rollback(tx));
    EXPECT_OK(att_store_changes_get(f->s, &c0));
    assert_int_equal(c0.seq[ATT_TOPIC_PROVIDERS], c1.seq[ATT_TOPIC_PROVIDERS]);
    att_collateral_rec_init(&r);
    snprintf(r.kind, sizeof(r.kind), "root_crl");
    snprintf(r.source, sizeof(r.source), "import");
    EXPECT_OK(att_buf_puts(&r.body, "crl"));
    snprintf(r.sha256, sizeof(r.sha256), "%s", SHA256_OF_CRL);
    r.issued = 1;
    r.next_update = 2;
    EXPECT_OK(att_store_collateral_put(f->s, &r, &replaced));
    EXPECT_OK(att_store_changes_get(f->s, &c1));
    /* An upsert fires both the insert and the update triggers: it grows, by one or two. */
    assert_true(c1.seq[ATT_TOPIC_COLLATERAL] >= c0.seq[ATT_TOPIC_COLLATERAL] + step &&
                c1.seq[ATT_TOPIC_COLLATERAL] <= c0.seq[ATT_TOPIC_COLLATERAL] + 2 * step);
    att_collateral_rec_cleanup(&r);
    att_key_rec_cleanup(&k);
}

struct waiter {
    struct att_store *s;
    att_err rc;
};

static void *wait_for_change(void *arg)
{
    struct waiter *w = arg;
    w->rc = att_store_changes_wait(w->s, 10000);
    return NULL;
}

/* A change committed elsewhere wakes a waiter at once (NOTIFY); no change is a timeout. */
static void test_change_wait(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    EXPECT_ERR(att_store_changes_wait(f->s, 50), ATT_ERR_TIMEOUT);
    if (!store_fx_is_pg(f)) {
        return; /* SQLite: one node, nobody to be told about */
    }
    struct waiter w = {f->s, ATT_ERR_INTERNAL};
    pthread_t t;
    EXPECT_ERR(att_store_changes_wait(f->s, 50), ATT_ERR_TIMEOUT); /* it listens now */
    assert_int_equal(pthread_create(&t, NULL, wait_for_change, &w), 0);
    struct att_store *other = NULL;
    EXPECT_OK(store_fx_open(f, &other)); /* another node */
    make_provider(&p, "woken", false);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_OK(att_store_provider_insert(other, &p));
    assert_int_equal(pthread_join(t, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    EXPECT_OK(w.rc);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    att_store_close(other);
}

/* A cluster lock is held by one node at a time, and lost with its connection. */
static void test_cluster_lock(void **state)
{
    struct store_fx *f = *state;
    struct att_store *a = NULL, *b = NULL, *other = NULL;
    EXPECT_OK(att_store_lock(f->s, ATT_LOCK_KEYS, false, &a));
    EXPECT_OK(att_store_ping(a));
    if (!store_fx_is_pg(f)) {
        att_store_unlock(a);
        return; /* one node holds every lock */
    }
    EXPECT_OK(store_fx_open(f, &other));
    EXPECT_ERR(att_store_lock(other, ATT_LOCK_KEYS, false, &b), ATT_ERR_BUSY);
    EXPECT_OK(att_store_lock(other, ATT_LOCK_BOOTSTRAP, false, &b)); /* another key */
    att_store_unlock(b);
    att_store_unlock(a);
    EXPECT_OK(att_store_lock(other, ATT_LOCK_KEYS, false, &b));
    EXPECT_ERR(att_store_lock(f->s, ATT_LOCK_KEYS, false, &a), ATT_ERR_BUSY);
    /* The holder's connection ends (a node dies, a network cut): the lock is free again and
     * the old holder finds out before acting on it. */
    store_fx_raw_exec(f, "SELECT pg_terminate_backend(pid) FROM pg_locks"
                         " WHERE locktype = 'advisory' AND granted");
    assert_true(att_store_ping(b) != ATT_OK);
    EXPECT_OK(att_store_lock(f->s, ATT_LOCK_KEYS, false, &a));
    att_store_unlock(b);
    att_store_unlock(a);
    att_store_close(other);
}

/* Each node keeps its own audit trail, so each has its own newest checkpoint (migration 13). */
static void test_checkpoints_per_node(void **state)
{
    struct store_fx *f = *state;
    int64_t seq = 0;
    char hash[65];
    EXPECT_ERR(att_store_audit_checkpoint_get(f->s, "a", &seq, hash), ATT_ERR_NOT_FOUND);
    EXPECT_OK(att_store_audit_checkpoint_put(f->s, "a", 10, SHA256_OF_CRL, "jws-a", 1));
    EXPECT_OK(att_store_audit_checkpoint_put(f->s, "b", 3, SHA256_OF_CRL, "jws-b", 1));
    EXPECT_OK(att_store_audit_checkpoint_put(f->s, "a", 11, SHA256_OF_CRL, "jws-a2", 2));
    EXPECT_OK(att_store_audit_checkpoint_get(f->s, "a", &seq, hash));
    assert_int_equal(seq, 11);
    EXPECT_OK(att_store_audit_checkpoint_get(f->s, "b", &seq, hash));
    assert_int_equal(seq, 3);
    EXPECT_OK(att_store_audit_checkpoint_clear(f->s, "a"));
    EXPECT_ERR(att_store_audit_checkpoint_get(f->s, "a", &seq, hash), ATT_ERR_NOT_FOUND);
    EXPECT_OK(att_store_audit_checkpoint_get(f->s, "b", &seq, hash));
    char longname[ATT_NODE_NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    EXPECT_ERR(att_store_audit_checkpoint_put(f->s, longname, 1, SHA256_OF_CRL, "j", 1),
               ATT_ERR_ARG);
    EXPECT_ERR(att_store_audit_checkpoint_get(f->s, NULL, &seq, hash), ATT_ERR_ARG);
}

/* ---- policy settings, versions and requests (migration 7) ---------------------------- */

static void test_provider_policy_settings(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    struct att_provider_rec got;
    make_provider(&p, "pol", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    EXPECT_OK(att_store_provider_get(f->s, "pol", &got));
    assert_false(got.require_bound_requests);
    assert_int_equal(got.policy_history_keep, 0);
    EXPECT_OK(att_store_provider_set_require_bound_requests(f->s, "pol", true));
    EXPECT_OK(att_store_provider_set_policy_history_keep(f->s, "pol", 3));
    EXPECT_OK(att_store_provider_get(f->s, "pol", &got));
    assert_true(got.require_bound_requests);
    assert_int_equal(got.policy_history_keep, 3);
    EXPECT_ERR(att_store_provider_set_require_bound_requests(f->s, "absent", true),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_provider_set_policy_history_keep(f->s, "pol", -1), ATT_ERR_ARG);
    EXPECT_ERR(
        att_store_provider_set_policy_history_keep(f->s, "pol", ATT_POLICY_HISTORY_KEEP_MAX + 1),
        ATT_ERR_ARG);
    /* A tampered flag is refused, not read as true. */
    store_fx_raw_exec(f, "UPDATE providers SET require_bound_requests = 2 WHERE name = 'pol'");
    EXPECT_ERR(att_store_provider_get(f->s, "pol", &got), ATT_ERR_STORE);
}

static void make_version(struct att_policy_version_rec *v, const char *id, int64_t at)
{
    snprintf(v->id, sizeof(v->id), "%s", id);
    snprintf(v->provider, sizeof(v->provider), "pol");
    snprintf(v->type, sizeof(v->type), "SgxEnclave");
    snprintf(v->action, sizeof(v->action), "set");
    snprintf(v->policy_hash, sizeof(v->policy_hash), "hash");
    v->created_at = at;
    att_buf_reset(&v->sealed_jws);
    EXPECT_OK(att_buf_puts(&v->sealed_jws, "sealed"));
}

static void make_request(struct att_policy_request_rec *r, char digit, int64_t expires_at)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->provider, sizeof(r->provider), "pol");
    snprintf(r->scope, sizeof(r->scope), "SgxEnclave");
    memset(r->digest, digit, 64);
    r->expires_at = expires_at;
}

struct version_numbers {
    int64_t v[8];
    size_t n;
};

static att_err collect_version_number(const struct att_policy_version_rec *v, void *arg)
{
    struct version_numbers *n = arg;
    assert_true(n->n < 8);
    n->v[n->n++] = v->version;
    return ATT_OK;
}

static void test_policy_requests_and_retention(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    struct att_policy_version_rec v;
    struct att_policy_request_rec r;
    struct att_policy_request_rec got;
    struct version_numbers n = {{0}, 0};
    make_provider(&p, "pol", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    att_policy_version_rec_init(&v);

    /* A bound request is recorded with its version, and only once. */
    make_version(&v, "v1", 1000);
    make_request(&r, 'a', 1600);
    EXPECT_OK(att_store_policy_version_append(f->s, &v, &r, 0));
    assert_int_equal(v.version, 1);
    EXPECT_OK(att_store_policy_request_get(f->s, "pol", "SgxEnclave", r.digest, &got));
    assert_int_equal(got.version, 1);
    assert_int_equal(got.expires_at, 1600);
    make_version(&v, "v2", 1001);
    EXPECT_ERR(att_store_policy_version_append(f->s, &v, &r, 0), ATT_ERR_TOKEN_REPLAY);
    /* ... and the refused append stored no version. */
    EXPECT_OK(
        att_store_policy_version_list(f->s, "pol", "SgxEnclave", 0, 0, collect_version_number, &n));
    assert_int_equal(n.n, 1);

    /* An unbound request keeps its first record. */
    make_request(&r, 'b', 0);
    EXPECT_OK(att_store_policy_version_append(f->s, &v, &r, 0));
    make_version(&v, "v3", 1002);
    EXPECT_OK(att_store_policy_version_append(f->s, &v, &r, 0));
    EXPECT_OK(att_store_policy_request_get(f->s, "pol", "SgxEnclave", r.digest, &got));
    assert_int_equal(got.version, 2);

    /* A claim (signer change) after the window of 'a' prunes it; 'b' is kept for good. */
    make_request(&r, 'c', 5000);
    snprintf(r.scope, sizeof(r.scope), "%s", "");
    EXPECT_OK(att_store_policy_request_claim(f->s, &r, 2000));
    EXPECT_ERR(att_store_policy_request_claim(f->s, &r, 2000), ATT_ERR_TOKEN_REPLAY);
    make_request(&r, 'a', 1600);
    EXPECT_ERR(att_store_policy_request_get(f->s, "pol", "SgxEnclave", r.digest, &got),
               ATT_ERR_NOT_FOUND);
    make_request(&r, 'b', 0);
    EXPECT_OK(att_store_policy_request_get(f->s, "pol", "SgxEnclave", r.digest, &got));
    make_request(&r, 'c', 5000);
    EXPECT_OK(att_store_policy_request_forget(f->s, "pol", "", r.digest));
    EXPECT_ERR(att_store_policy_request_forget(f->s, "pol", "", r.digest), ATT_ERR_NOT_FOUND);
    make_request(&r, 'd', 0);
    memset(r.digest, 'A', 64); /* not lower-case hex */
    EXPECT_ERR(att_store_policy_request_claim(f->s, &r, 2000), ATT_ERR_ARG);

    /* Retention: keep 2 of versions 1..5; paging over what is left. */
    make_version(&v, "v4", 1003);
    EXPECT_OK(att_store_policy_version_append(f->s, &v, NULL, 0));
    make_version(&v, "v5", 1004);
    EXPECT_OK(att_store_policy_version_append(f->s, &v, NULL, 2));
    assert_int_equal(v.version, 5);
    n.n = 0;
    EXPECT_OK(
        att_store_policy_version_list(f->s, "pol", "SgxEnclave", 0, 0, collect_version_number, &n));
    assert_int_equal(n.n, 2);
    assert_int_equal(n.v[0], 4);
    assert_int_equal(n.v[1], 5);
    n.n = 0;
    EXPECT_OK(
        att_store_policy_version_list(f->s, "pol", "SgxEnclave", 4, 1, collect_version_number, &n));
    assert_int_equal(n.n, 1);
    assert_int_equal(n.v[0], 5);
    EXPECT_ERR(att_store_policy_version_append(f->s, &v, NULL, -1), ATT_ERR_ARG);
    EXPECT_ERR(
        att_store_policy_version_list(f->s, "pol", "SgxEnclave", -1, 0, collect_version_number, &n),
        ATT_ERR_ARG);
    /* The records go with their provider. */
    EXPECT_OK(att_store_provider_delete(f->s, "pol"));
    make_request(&r, 'b', 0);
    EXPECT_ERR(att_store_policy_request_get(f->s, "pol", "SgxEnclave", r.digest, &got),
               ATT_ERR_NOT_FOUND);
    att_policy_version_rec_cleanup(&v);
}

/* A provider's own trust anchors and the demo mark round-trip (migration 12); a demo without
 * anchors is refused, and tampered anchors are an error, never cut short. */
static void test_provider_trust_anchors(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    struct att_provider_rec got;
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    make_provider(&p, "demo", false);
    p.demo = true;
    EXPECT_ERR(att_store_provider_insert(f->s, &p), ATT_ERR_ARG); /* no anchors */
    snprintf(p.dcap_trust_anchors, sizeof(p.dcap_trust_anchors), "%s", pem);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    make_provider(&p, "plain", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));

    EXPECT_OK(att_store_provider_get(f->s, "demo", &got));
    assert_true(got.demo);
    assert_string_equal(got.dcap_trust_anchors, pem);
    EXPECT_OK(att_store_provider_get(f->s, "plain", &got));
    assert_false(got.demo);
    assert_string_equal(got.dcap_trust_anchors, "");

    /* Anchors longer than the record holds (a tampered file) are not cut short. */
    store_fx_raw_exec(f, store_fx_is_pg(f)
                             ? "UPDATE providers SET dcap_trust_anchors = repeat('x', 5000)"
                               " WHERE name = 'plain'"
                             : "UPDATE providers SET dcap_trust_anchors = printf('%.5000c', 'x')"
                               " WHERE name = 'plain'");
    EXPECT_ERR(att_store_provider_get(f->s, "plain", &got), ATT_ERR_STORE);
}

/* ---- policy signers by key (issue 18) ------------------------------------------------ */

#define SIGNER_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SIGNER_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void make_signer(struct att_signer_rec *r, const char *provider, const char *sha256,
                        uint8_t first, int64_t at)
{
    att_signer_rec_init(r);
    snprintf(r->provider, sizeof(r->provider), "%s", provider);
    snprintf(r->sha256, sizeof(r->sha256), "%s", sha256);
    memset(r->sha1, 'A', sizeof(r->sha1) - 1);
    uint8_t der[4] = {first, 0x82, 0x01, 0x00};
    EXPECT_OK(att_buf_put(&r->cert_der, der, sizeof(der)));
    r->created_at = at;
}

/* One signer by (provider, sha256): the trust check of each signed policy change. */
static void test_signer_get(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    struct att_signer_rec r, got;

    make_provider(&p, "iso", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    make_provider(&p, "other", false);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    make_signer(&r, "iso", SIGNER_A, 0x30, 10);
    EXPECT_OK(att_store_signer_insert(f->s, &r));
    att_signer_rec_cleanup(&r);
    make_signer(&r, "other", SIGNER_B, 0x31, 11);
    EXPECT_OK(att_store_signer_insert(f->s, &r));
    att_signer_rec_cleanup(&r);

    att_signer_rec_init(&got);
    EXPECT_OK(att_buf_puts(&got.cert_der, "old content"));
    EXPECT_OK(att_store_signer_get(f->s, "iso", SIGNER_A, &got));
    assert_string_equal(got.provider, "iso");
    assert_string_equal(got.sha256, SIGNER_A);
    assert_int_equal(strlen(got.sha1), 40);
    assert_int_equal(got.cert_der.len, 4);
    assert_int_equal(got.cert_der.data[0], 0x30);
    assert_int_equal(got.created_at, 10);
    /* Another provider's signer is not this provider's; a miss leaves `out` as it was. */
    EXPECT_ERR(att_store_signer_get(f->s, "iso", SIGNER_B, &got), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_signer_get(f->s, "nobody", SIGNER_A, &got), ATT_ERR_NOT_FOUND);
    assert_string_equal(got.sha256, SIGNER_A);
    assert_int_equal(got.cert_der.data[0], 0x30);
    EXPECT_OK(att_store_signer_get(f->s, "other", SIGNER_B, &got));
    assert_int_equal(got.cert_der.data[0], 0x31);

    EXPECT_ERR(att_store_signer_get(f->s, NULL, SIGNER_A, &got), ATT_ERR_ARG);
    EXPECT_ERR(att_store_signer_get(f->s, "iso", NULL, &got), ATT_ERR_ARG);
    EXPECT_ERR(att_store_signer_get(f->s, "iso", SIGNER_A, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_signer_get(NULL, "iso", SIGNER_A, &got), ATT_ERR_ARG);

    /* A tampered row is an error, and leaves `out` alone. */
    store_fx_raw_exec(f, "UPDATE policy_signers SET sha1 = sha1 || 'AA' WHERE provider = 'iso'");
    EXPECT_ERR(att_store_signer_get(f->s, "iso", SIGNER_A, &got), ATT_ERR_STORE);
    assert_string_equal(got.provider, "other");
    att_signer_rec_cleanup(&got);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define P(fn) cmocka_unit_test_setup_teardown(fn, setup_pg, teardown)
    const struct CMUnitTest tests[] = {
        T(test_fresh_db_migrated),
        T(test_reopen_is_idempotent),
        T(test_newer_schema_refused),
        T(test_wal_and_file_modes),
        T(test_foreign_keys_enforced),
        T(test_file_mode_with_loose_umask),
        T(test_open_failures),
        T(test_symlink_refused),
        T(test_symlinked_dir_allowed),
        T(test_sidecar_symlink_refused),
        T(test_loose_files_fixed),
        T(test_non_regular_refused),
        T(test_other_owner_refused),
        T(test_provider_crud),
        T(test_only_one_default_provider),
        T(test_provider_bad_arguments),
        T(test_provider_attest_requires_auth),
        T(test_provider_policy_settings),
        T(test_policy_requests_and_retention),
        T(test_oversized_column_refused),
        T(test_wrong_column_types_refused), /* PostgreSQL's columns are typed */
        T(test_keys_and_cascade),
        T(test_deks),
        T(test_transactions),
        T(test_busy_maps),
        T(test_provider_trust_anchors),
        T(test_change_counters),
        T(test_change_wait),
        T(test_cluster_lock),
        T(test_checkpoints_per_node),
        T(test_signer_get),
    };
    const struct CMUnitTest tests_pg[] = {
        P(test_fresh_db_migrated),
        P(test_reopen_is_idempotent),
        P(test_newer_schema_refused),
        P(test_foreign_keys_enforced),
        P(test_provider_crud),
        P(test_only_one_default_provider),
        P(test_provider_bad_arguments),
        P(test_provider_attest_requires_auth),
        P(test_provider_policy_settings),
        P(test_policy_requests_and_retention),
        P(test_oversized_column_refused),
        P(test_keys_and_cascade),
        P(test_deks),
        P(test_transactions),
        P(test_busy_maps_pg),
        P(test_provider_trust_anchors),
        P(test_change_counters),
        P(test_change_wait),
        P(test_cluster_lock),
        P(test_checkpoints_per_node),
        P(test_signer_get),
    };
#undef T
#undef P
    return STORE_FX_RUN_BOTH("store", tests, tests_pg);
}
