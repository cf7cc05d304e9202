/*
 * Unit tests for the identity part of the store (src/store/sqlite/identity.c and
 * src/store/postgres/identity.c, migrations 2 and 3, the identity wrappers in store.c) on a
 * real SQLite file and again on a real PostgreSQL database (store_fixture.h): every operation
 * and its error codes, the cascade on principal delete, registered client certificates, and
 * rows a tampered database may hold; the upgrades from SQLite schemas 1 and 2.
 */
#include "att_test.h"
#include "store_fixture.h"

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static int setup(void **state)
{
    return store_fx_setup(state, "ident", true);
}

/* Like setup, but leaves the database to the test (for the upgrade test). */
static int setup_empty(void **state)
{
    return store_fx_setup(state, "ident", false);
}

static int setup_pg(void **state)
{
    return store_fx_setup_pg(state, "ident", true);
}

static int teardown(void **state)
{
    return store_fx_teardown(state);
}

/* Run SQL on a second, raw connection (as an attacker with the file would). */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        fail_msg("raw_exec: %s", err != NULL ? err : "?");
    }
    sqlite3_free(err);
    sqlite3_close(db);
}

/* One integer from a query on a raw connection. */
static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void make_principal(struct att_principal_rec *p, const char *id, const char *name,
                           int64_t at)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->id, sizeof(p->id), "%s", id);
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->created_at = at;
}

static void make_secret(struct att_secret_rec *sec, const char *id, const char *principal_id,
                        int64_t at)
{
    memset(sec, 0, sizeof(*sec));
    snprintf(sec->id, sizeof(sec->id), "%s", id);
    snprintf(sec->principal_id, sizeof(sec->principal_id), "%s", principal_id);
    snprintf(sec->hash, sizeof(sec->hash), "$scrypt$ln=15,r=8,p=1$salt$hash-of-%s", id);
    sec->created_at = at;
}

static void make_role(struct att_role_rec *r, const char *id, const char *kind, const char *subject,
                      const char *role, const char *provider)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id);
    snprintf(r->subject_kind, sizeof(r->subject_kind), "%s", kind);
    snprintf(r->subject, sizeof(r->subject), "%s", subject);
    snprintf(r->role, sizeof(r->role), "%s", role);
    snprintf(r->provider, sizeof(r->provider), "%s", provider);
    r->created_at = 1700000000;
}

static void make_auth_key(struct att_key_rec *k, const char *kid, int64_t at)
{
    att_key_rec_init(k);
    snprintf(k->kid, sizeof(k->kid), "%s", kid);
    snprintf(k->alg, sizeof(k->alg), "ES256");
    EXPECT_OK(att_buf_put(&k->cert_der, "\x30\x82\x01\x00", 4));
    EXPECT_OK(att_buf_put(&k->sealed_key, "\x01\x20sealed", 8));
    k->created_at = at;
}

/* Collected ids, in callback order; stop_at > 0 makes the callback fail on that call. */
struct ids {
    char v[8][65];
    size_t n;
    size_t stop_at;
};

static att_err collect_id(struct ids *c, const char *id)
{
    if (c->stop_at != 0 && c->n + 1 == c->stop_at) {
        return ATT_ERR_STATE;
    }
    assert_true(c->n < 8);
    snprintf(c->v[c->n++], sizeof(c->v[0]), "%s", id);
    return ATT_OK;
}

static att_err collect_key(const struct att_key_rec *k, void *arg)
{
    assert_string_equal(k->provider, "");
    return collect_id(arg, k->kid);
}

static att_err collect_principal(const struct att_principal_rec *p, void *arg)
{
    return collect_id(arg, p->name);
}

static att_err collect_secret(const struct att_secret_rec *sec, void *arg)
{
    return collect_id(arg, sec->id);
}

static att_err collect_role(const struct att_role_rec *r, void *arg)
{
    return collect_id(arg, r->id);
}

/* ---- schema ------------------------------------------------------------------ */

static void test_fresh_db_at_latest(void **state)
{
    struct store_fx *f = *state;
    int v = -1;
    EXPECT_OK(att_store_schema_version(f->s, &v));
    assert_int_equal(v, 15);
    assert_int_equal(att_store_schema_latest(), 15);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND"
                                    " name IN ('auth_keys', 'principals', 'principal_secrets',"
                                    " 'role_assignments')"),
                     4);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND"
                                    " name = 'principal_secrets_principal'"),
                     1);
    /* Migration 3's columns. */
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM pragma_table_info('principals')"
                                    " WHERE name = 'cert_der' AND type = 'BLOB'"),
                     1);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM pragma_table_info('providers')"
                                    " WHERE name = 'attest_requires_auth' AND \"notnull\" = 1"
                                    " AND dflt_value = '0'"),
                     1);
}

/* Migration 1 exactly as released, plus its schema_migrations row. */
static const char v1_schema[] =
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);"
    "CREATE TABLE providers ("
    "  name TEXT PRIMARY KEY,"
    "  issuer TEXT NOT NULL,"
    "  signing_alg TEXT NOT NULL,"
    "  is_default INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX providers_one_default ON providers(is_default) WHERE is_default = 1;"
    "CREATE TABLE signing_keys ("
    "  kid TEXT PRIMARY KEY,"
    "  provider TEXT NOT NULL REFERENCES providers(name) ON DELETE CASCADE,"
    "  alg TEXT NOT NULL,"
    "  cert_der BLOB NOT NULL,"
    "  sealed_key BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX signing_keys_provider ON signing_keys(provider, created_at);"
    "CREATE TABLE data_keys ("
    "  id TEXT PRIMARY KEY,"
    "  kek_id TEXT NOT NULL,"
    "  wrapped BLOB NOT NULL,"
    "  active INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "INSERT INTO schema_migrations VALUES(1, 1690000000);"
    "INSERT INTO providers VALUES('p1', 'https://p1.example', 'ES256', 1, 1690000001);"
    "INSERT INTO signing_keys VALUES('kid-1', 'p1', 'ES256', X'3082', X'0120', 1690000002);"
    "INSERT INTO data_keys VALUES('dek-1', 'kek-1', X'AABB', 1, 1690000003);";

static att_err count_key(const struct att_key_rec *k, void *arg)
{
    (void)k;
    (*(int *)arg)++;
    return ATT_OK;
}

static void test_upgrade_from_version_1(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    struct att_dek_rec d;
    struct att_principal_rec pr, got;
    int v = -1;
    int nkeys = 0;

    /* A private file first, so the open does not have to fix its mode. */
    int fd = open(f->db, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    raw_exec(f->db, v1_schema);

    EXPECT_OK(att_store_open_sqlite(f->db, &f->s));
    EXPECT_OK(att_store_schema_version(f->s, &v));
    assert_int_equal(v, 15);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM schema_migrations"), 15);
    assert_int_equal(raw_int(f->db, "SELECT applied_at FROM schema_migrations WHERE version = 1"),
                     1690000000);

    /* Old data survived. */
    EXPECT_OK(att_store_provider_get(f->s, "p1", &p));
    assert_string_equal(p.issuer, "https://p1.example");
    assert_true(p.is_default);
    EXPECT_OK(att_store_key_list(f->s, "p1", count_key, &nkeys));
    assert_int_equal(nkeys, 1);
    /* Migration 10: a key made before rotation existed has signed since it was made. */
    assert_int_equal(raw_int(f->db, "SELECT activate_at FROM signing_keys WHERE kid = 'kid-1'"),
                     1690000002);
    assert_int_equal(raw_int(f->db, "SELECT token_lifetime FROM signing_keys"), 0);
    att_dek_rec_init(&d);
    EXPECT_OK(att_store_dek_get(f->s, "dek-1", &d));
    assert_int_equal(d.wrapped.len, 2);
    att_dek_rec_cleanup(&d);

    /* The new tables work. */
    make_principal(&pr, "11111111-1111-1111-1111-111111111111", "svc", 1);
    EXPECT_OK(att_store_principal_insert(f->s, &pr));
    EXPECT_OK(att_store_principal_get(f->s, pr.id, &got));

    /* Reopening applies nothing twice. */
    att_store_close(f->s);
    f->s = NULL;
    EXPECT_OK(att_store_open_sqlite(f->db, &f->s));
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM schema_migrations"), 15);
}

/* Migration 2 exactly as released, with its row and data, on top of v1_schema. */
static const char v2_schema[] =
    "CREATE TABLE auth_keys ("
    "  kid TEXT PRIMARY KEY,"
    "  alg TEXT NOT NULL,"
    "  cert_der BLOB NOT NULL,"
    "  sealed_key BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE principals ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  cert_sha256 TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER NOT NULL DEFAULT 0,"
    "  last_used_from TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE principal_secrets ("
    "  id TEXT PRIMARY KEY,"
    "  principal_id TEXT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,"
    "  hash TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL DEFAULT 0,"
    "  revoked_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX principal_secrets_principal ON principal_secrets(principal_id);"
    "CREATE TABLE role_assignments ("
    "  id TEXT PRIMARY KEY,"
    "  subject_kind TEXT NOT NULL"
    "    CHECK(subject_kind IN ('principal','subject','group')),"
    "  subject TEXT NOT NULL,"
    "  issuer TEXT NOT NULL DEFAULT '',"
    "  role TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE(subject_kind, subject, issuer, role, provider));"
    "INSERT INTO schema_migrations VALUES(2, 1690000100);"
    "INSERT INTO principals(id, name, cert_sha256, created_at) VALUES("
    "  'aaaaaaaa-0000-4000-8000-000000000001', 'mtls-tool',"
    "  '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 1690000101);";

/* An mTLS certificate registered before migration 3 keeps working and has no DER. */
static void test_upgrade_from_version_2(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    struct att_principal_rec got;
    int v = -1;

    int fd = open(f->db, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    raw_exec(f->db, v1_schema);
    raw_exec(f->db, v2_schema);

    EXPECT_OK(att_store_open_sqlite(f->db, &f->s));
    EXPECT_OK(att_store_schema_version(f->s, &v));
    assert_int_equal(v, 15);
    assert_int_equal(raw_int(f->db, "SELECT applied_at FROM schema_migrations WHERE version = 2"),
                     1690000100);
    EXPECT_OK(att_store_principal_get(f->s, "aaaaaaaa-0000-4000-8000-000000000001", &got));
    assert_string_equal(got.name, "mtls-tool");
    assert_string_equal(got.cert_sha256,
                        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    assert_int_equal(got.cert_der_len, 0);
    EXPECT_OK(att_store_provider_get(f->s, "p1", &p));
    assert_true(p.is_default);
    assert_false(p.attest_requires_auth);
}

/* ---- auth keys ------------------------------------------------------------- */

static void test_auth_keys(void **state)
{
    struct store_fx *f = *state;
    struct att_key_rec k;
    struct ids c = {0};

    EXPECT_OK(att_store_auth_key_list(f->s, collect_key, &c));
    assert_int_equal(c.n, 0);

    make_auth_key(&k, "kid-new", 200);
    EXPECT_OK(att_store_auth_key_insert(f->s, &k));
    EXPECT_ERR(att_store_auth_key_insert(f->s, &k), ATT_ERR_EXISTS);
    att_key_rec_cleanup(&k);
    make_auth_key(&k, "kid-old", 100);
    EXPECT_OK(att_store_auth_key_insert(f->s, &k));
    att_key_rec_cleanup(&k);
    make_auth_key(&k, "kid-new-2", 200); /* same time: insertion order */
    EXPECT_OK(att_store_auth_key_insert(f->s, &k));
    /* Auth keys have no provider. */
    snprintf(k.provider, sizeof(k.provider), "p1");
    snprintf(k.kid, sizeof(k.kid), "kid-with-provider");
    EXPECT_ERR(att_store_auth_key_insert(f->s, &k), ATT_ERR_ARG);
    att_key_rec_cleanup(&k);

    EXPECT_OK(att_store_auth_key_list(f->s, collect_key, &c));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0], "kid-old");
    assert_string_equal(c.v[1], "kid-new");
    assert_string_equal(c.v[2], "kid-new-2");

    /* Signing keys and auth keys are separate tables. */
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM signing_keys"), 0);

    struct ids stop = {.stop_at = 2};
    EXPECT_ERR(att_store_auth_key_list(f->s, collect_key, &stop), ATT_ERR_STATE);
    assert_int_equal(stop.n, 1);
}

/* Blobs and fields come back exactly as stored. */
static void test_auth_key_round_trip(void **state)
{
    struct store_fx *f = *state;
    struct att_key_rec k;
    make_auth_key(&k, "kid-rt", 42);
    EXPECT_OK(att_store_auth_key_insert(f->s, &k));
    att_key_rec_cleanup(&k);
    assert_int_equal(store_fx_raw_i64(f, "SELECT length(cert_der) FROM auth_keys"), 4);
    assert_int_equal(store_fx_raw_i64(f, "SELECT length(sealed_key) FROM auth_keys"), 8);
    assert_int_equal(store_fx_raw_i64(f, "SELECT created_at FROM auth_keys"), 42);
}

/* ---- principals ------------------------------------------------------------ */

#define ID_A "aaaaaaaa-0000-4000-8000-000000000001"
#define ID_B "bbbbbbbb-0000-4000-8000-000000000002"
#define ID_C "cccccccc-0000-4000-8000-000000000003"

static void test_principal_crud(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p, got;
    struct ids c = {0};

    make_principal(&p, ID_B, "zeta", 100);
    snprintf(p.cert_sha256, sizeof(p.cert_sha256), "%064d", 7);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    make_principal(&p, ID_A, "alpha", 200);
    EXPECT_OK(att_store_principal_insert(f->s, &p));

    /* Duplicate id, then duplicate name. */
    make_principal(&p, ID_A, "other", 300);
    EXPECT_ERR(att_store_principal_insert(f->s, &p), ATT_ERR_EXISTS);
    make_principal(&p, ID_C, "alpha", 300);
    EXPECT_ERR(att_store_principal_insert(f->s, &p), ATT_ERR_EXISTS);

    memset(&got, 0x5a, sizeof(got));
    EXPECT_OK(att_store_principal_get(f->s, ID_B, &got));
    assert_string_equal(got.id, ID_B);
    assert_string_equal(got.name, "zeta");
    assert_false(got.disabled);
    assert_int_equal(strlen(got.cert_sha256), 64);
    assert_int_equal(got.created_at, 100);
    assert_int_equal(got.last_used_at, 0);
    assert_string_equal(got.last_used_from, "");

    EXPECT_OK(att_store_principal_get_by_name(f->s, "alpha", &got));
    assert_string_equal(got.id, ID_A);
    assert_string_equal(got.cert_sha256, "");

    /* Not found leaves *out alone. */
    EXPECT_ERR(att_store_principal_get(f->s, ID_C, &got), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_principal_get_by_name(f->s, "nobody", &got), ATT_ERR_NOT_FOUND);
    assert_string_equal(got.id, ID_A);
    /* Lookups are exact: the name does not match the id column and vice versa. */
    EXPECT_ERR(att_store_principal_get(f->s, "alpha", &got), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_principal_get_by_name(f->s, ID_A, &got), ATT_ERR_NOT_FOUND);

    EXPECT_OK(att_store_principal_list(f->s, collect_principal, &c));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.v[0], "alpha");
    assert_string_equal(c.v[1], "zeta");
    struct ids stop = {.stop_at = 1};
    EXPECT_ERR(att_store_principal_list(f->s, collect_principal, &stop), ATT_ERR_STATE);
    assert_int_equal(stop.n, 0);

    EXPECT_OK(att_store_principal_set_disabled(f->s, ID_A, true));
    EXPECT_OK(att_store_principal_get(f->s, ID_A, &got));
    assert_true(got.disabled);
    /* Setting the same value again still finds the row. */
    EXPECT_OK(att_store_principal_set_disabled(f->s, ID_A, true));
    EXPECT_OK(att_store_principal_set_disabled(f->s, ID_A, false));
    EXPECT_OK(att_store_principal_get(f->s, ID_A, &got));
    assert_false(got.disabled);
    EXPECT_ERR(att_store_principal_set_disabled(f->s, ID_C, true), ATT_ERR_NOT_FOUND);

    EXPECT_OK(att_store_principal_touch(f->s, ID_A, 1700000123, "192.0.2.7"));
    EXPECT_OK(att_store_principal_get(f->s, ID_A, &got));
    assert_int_equal(got.last_used_at, 1700000123);
    assert_string_equal(got.last_used_from, "192.0.2.7");
    EXPECT_ERR(att_store_principal_touch(f->s, ID_C, 1, "192.0.2.7"), ATT_ERR_NOT_FOUND);

    EXPECT_OK(att_store_principal_delete(f->s, ID_A));
    EXPECT_ERR(att_store_principal_get(f->s, ID_A, &got), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_principal_delete(f->s, ID_A), ATT_ERR_NOT_FOUND);
    /* The name is free again. */
    make_principal(&p, ID_C, "alpha", 400);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
}

/* The longest address a touch accepts is the longest a get returns. */
static void test_principal_touch_limits(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p, got;
    char from[sizeof(p.last_used_from) + 1];

    make_principal(&p, ID_A, "alpha", 1);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    memset(from, 'f', sizeof(from) - 1);
    from[sizeof(from) - 1] = '\0';
    EXPECT_ERR(att_store_principal_touch(f->s, ID_A, 2, from), ATT_ERR_ARG);
    from[sizeof(p.last_used_from) - 1] = '\0';
    EXPECT_OK(att_store_principal_touch(f->s, ID_A, 2, from));
    EXPECT_OK(att_store_principal_get(f->s, ID_A, &got));
    assert_string_equal(got.last_used_from, from);
    EXPECT_ERR(att_store_principal_touch(f->s, ID_A, 2, NULL), ATT_ERR_ARG);
}

/* ---- secrets --------------------------------------------------------------- */

static void test_secrets(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p;
    struct att_secret_rec sec;
    struct ids c = {0};

    make_principal(&p, ID_A, "alpha", 1);
    EXPECT_OK(att_store_principal_insert(f->s, &p));

    make_secret(&sec, "s2", ID_A, 200);
    sec.expires_at = 900;
    EXPECT_OK(att_store_secret_insert(f->s, &sec));
    EXPECT_ERR(att_store_secret_insert(f->s, &sec), ATT_ERR_EXISTS);
    make_secret(&sec, "s1", ID_A, 100);
    EXPECT_OK(att_store_secret_insert(f->s, &sec));
    make_secret(&sec, "s3", ID_A, 200); /* same time as s2: insertion order */
    EXPECT_OK(att_store_secret_insert(f->s, &sec));
    /* A secret for a principal that does not exist breaks the foreign key. */
    make_secret(&sec, "s4", ID_C, 1);
    EXPECT_ERR(att_store_secret_insert(f->s, &sec), ATT_ERR_STORE_CONSTRAINT);

    EXPECT_OK(att_store_secret_list(f->s, ID_A, collect_secret, &c));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0], "s1");
    assert_string_equal(c.v[1], "s2");
    assert_string_equal(c.v[2], "s3");
    c.n = 0;
    EXPECT_OK(att_store_secret_list(f->s, ID_C, collect_secret, &c));
    assert_int_equal(c.n, 0);

    EXPECT_OK(att_store_secret_revoke(f->s, "s2", 500));
    EXPECT_ERR(att_store_secret_revoke(f->s, "s2", 600), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_secret_revoke(f->s, "nope", 600), ATT_ERR_NOT_FOUND);
    /* The first revocation time stays. */
    assert_int_equal(
        store_fx_raw_i64(f, "SELECT revoked_at FROM principal_secrets WHERE id = 's2'"), 500);
    /* Revoked secrets are still listed. */
    c.n = 0;
    EXPECT_OK(att_store_secret_list(f->s, ID_A, collect_secret, &c));
    assert_int_equal(c.n, 3);
}

struct secret_copy {
    struct att_secret_rec v;
    size_t n;
};

static att_err copy_secret(const struct att_secret_rec *sec, void *arg)
{
    struct secret_copy *c = arg;
    c->v = *sec;
    c->n++;
    return ATT_OK;
}

static void test_secret_round_trip(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p;
    struct att_secret_rec sec;
    struct secret_copy c = {0};

    make_principal(&p, ID_A, "alpha", 1);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    make_secret(&sec, "0123456789abcdef0123456789abcdef", ID_A, 100);
    memset(sec.hash, 'h', sizeof(sec.hash) - 1); /* the longest hash that fits */
    sec.expires_at = 1000;
    EXPECT_OK(att_store_secret_insert(f->s, &sec));
    EXPECT_OK(att_store_secret_revoke(f->s, sec.id, 300));
    EXPECT_OK(att_store_secret_list(f->s, ID_A, copy_secret, &c));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v.id, sec.id);
    assert_string_equal(c.v.principal_id, ID_A);
    assert_string_equal(c.v.hash, sec.hash);
    assert_int_equal(c.v.created_at, 100);
    assert_int_equal(c.v.expires_at, 1000);
    assert_int_equal(c.v.revoked_at, 300);
}

/* ---- role assignments ------------------------------------------------------- */

struct role_copy {
    struct att_role_rec v[4];
    size_t n;
};

static att_err copy_role(const struct att_role_rec *r, void *arg)
{
    struct role_copy *c = arg;
    assert_true(c->n < 4);
    c->v[c->n++] = *r;
    return ATT_OK;
}

static void test_roles(void **state)
{
    struct store_fx *f = *state;
    struct att_role_rec r;
    struct role_copy c;
    struct ids ids = {0};

    make_role(&r, "r1", "principal", ID_A, "Owner", "*");
    EXPECT_OK(att_store_role_insert(f->s, &r));
    /* Same id. */
    make_role(&r, "r1", "group", "admins", "Owner", "*");
    EXPECT_ERR(att_store_role_insert(f->s, &r), ATT_ERR_EXISTS);
    /* Same (kind, subject, issuer, role, provider) under a new id. */
    make_role(&r, "r2", "principal", ID_A, "Owner", "*");
    EXPECT_ERR(att_store_role_insert(f->s, &r), ATT_ERR_EXISTS);
    /* Any one column different is a different assignment. */
    make_role(&r, "r3", "principal", ID_A, "Owner", "p1");
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "r4", "subject", "user@example", "AttestationContributor", "p1");
    snprintf(r.issuer, sizeof(r.issuer), "https://login.example");
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "r5", "subject", "user@example", "AttestationContributor", "p1");
    snprintf(r.issuer, sizeof(r.issuer), "https://other.example");
    EXPECT_OK(att_store_role_insert(f->s, &r));
    snprintf(r.id, sizeof(r.id), "r6");
    EXPECT_ERR(att_store_role_insert(f->s, &r), ATT_ERR_EXISTS);

    memset(&c, 0, sizeof(c));
    EXPECT_OK(att_store_role_list(f->s, copy_role, &c));
    assert_int_equal(c.n, 4);
    assert_string_equal(c.v[0].id, "r1");
    assert_string_equal(c.v[0].subject_kind, "principal");
    assert_string_equal(c.v[0].subject, ID_A);
    assert_string_equal(c.v[0].issuer, "");
    assert_string_equal(c.v[0].role, "Owner");
    assert_string_equal(c.v[0].provider, "*");
    assert_int_equal(c.v[0].created_at, 1700000000);
    assert_string_equal(c.v[2].issuer, "https://login.example");

    EXPECT_OK(att_store_role_delete(f->s, "r3"));
    EXPECT_ERR(att_store_role_delete(f->s, "r3"), ATT_ERR_NOT_FOUND);
    EXPECT_OK(att_store_role_list(f->s, collect_role, &ids));
    assert_int_equal(ids.n, 3);
    assert_string_equal(ids.v[1], "r4");

    struct ids stop = {.stop_at = 3};
    EXPECT_ERR(att_store_role_list(f->s, collect_role, &stop), ATT_ERR_STATE);
    assert_int_equal(stop.n, 2);
}

/* The CHECK on subject_kind holds even for a writer that skips store.c. */
static void test_role_kind_checked_by_schema(void **state)
{
    struct store_fx *f = *state;
    if (store_fx_is_pg(f)) {
        PGconn *c = PQconnectdb(f->url);
        PGresult *r = PQexec(c, "INSERT INTO role_assignments(id, subject_kind, subject, issuer,"
                                " role, provider, created_at) VALUES('r', 'user', 's', '',"
                                " 'Owner', '*', 1)");
        assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23514"); /* check_violation */
        PQclear(r);
        PQfinish(c);
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO role_assignments VALUES('r', 'user', 's', '',"
                                  " 'Owner', '*', 1)",
                                  NULL, NULL, NULL),
                     SQLITE_CONSTRAINT);
    sqlite3_close(db);
}

/* ---- principal delete --------------------------------------------------------- */

static void test_principal_delete_cascades(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p;
    struct att_secret_rec sec;
    struct att_role_rec r;
    struct ids c = {0};

    make_principal(&p, ID_A, "alpha", 1);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    make_principal(&p, ID_B, "beta", 1);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    make_secret(&sec, "sa1", ID_A, 1);
    EXPECT_OK(att_store_secret_insert(f->s, &sec));
    make_secret(&sec, "sa2", ID_A, 2);
    EXPECT_OK(att_store_secret_insert(f->s, &sec));
    make_secret(&sec, "sb1", ID_B, 1);
    EXPECT_OK(att_store_secret_insert(f->s, &sec));
    make_role(&r, "ra1", "principal", ID_A, "Owner", "*");
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "ra2", "principal", ID_A, "AttestationContributor", "p1");
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "rb1", "principal", ID_B, "Owner", "*");
    EXPECT_OK(att_store_role_insert(f->s, &r));
    /* An external subject that happens to equal the id is not the principal. */
    make_role(&r, "rs1", "subject", ID_A, "Owner", "*");
    EXPECT_OK(att_store_role_insert(f->s, &r));

    EXPECT_OK(att_store_principal_delete(f->s, ID_A));

    EXPECT_OK(att_store_secret_list(f->s, ID_A, collect_secret, &c));
    assert_int_equal(c.n, 0);
    EXPECT_OK(att_store_secret_list(f->s, ID_B, collect_secret, &c));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0], "sb1");
    c.n = 0;
    EXPECT_OK(att_store_role_list(f->s, collect_role, &c));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.v[0], "rb1");
    assert_string_equal(c.v[1], "rs1");
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM principal_secrets"), 1);

    /* A miss deletes nothing, not even roles that name the id. */
    make_role(&r, "rx", "principal", ID_C, "Owner", "*");
    EXPECT_OK(att_store_role_insert(f->s, &r));
    EXPECT_ERR(att_store_principal_delete(f->s, ID_C), ATT_ERR_NOT_FOUND);
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM role_assignments WHERE id = 'rx'"),
                     1);
    /* No transaction is left open after either outcome: a new one begins. */
    struct att_store *tx = NULL;
    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_OK(att_store_rollback(tx));
}

/* Inside a caller's transaction the delete joins it and goes with its rollback. */
static void test_principal_delete_in_transaction(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p, got;
    struct att_role_rec r;

    make_principal(&p, ID_A, "alpha", 1);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    make_role(&r, "ra1", "principal", ID_A, "Owner", "*");
    EXPECT_OK(att_store_role_insert(f->s, &r));

    struct att_store *tx = NULL;
    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_OK(att_store_principal_delete(tx, ID_A));
    EXPECT_ERR(att_store_principal_get(tx, ID_A, &got), ATT_ERR_NOT_FOUND);
    /* A failed delete undoes only itself: the transaction goes on. */
    EXPECT_ERR(att_store_principal_delete(tx, ID_B), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_principal_get(tx, ID_A, &got), ATT_ERR_NOT_FOUND);
    EXPECT_OK(att_store_rollback(tx));
    EXPECT_OK(att_store_principal_get(f->s, ID_A, &got));
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM role_assignments"), 1);

    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_OK(att_store_principal_delete(tx, ID_A));
    EXPECT_OK(att_store_commit(tx));
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM role_assignments"), 0);
}

/* ---- client certificates (migration 3) ------------------------------------------ */

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct cert_seen {
    size_t der_len;
    uint8_t first;
    size_t n;
};

static att_err see_cert(const struct att_principal_rec *p, void *arg)
{
    struct cert_seen *c = arg;
    c->der_len = p->cert_der_len;
    c->first = p->cert_der_len > 0 ? p->cert_der[0] : 0;
    c->n++;
    return ATT_OK;
}

static void test_principal_cert(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p, got;
    uint8_t der[ATT_PRINCIPAL_CERT_MAX + 1];
    struct cert_seen seen = {0};

    for (size_t i = 0; i < sizeof(der); i++) {
        der[i] = (uint8_t)(0x30 + i % 7);
    }
    make_principal(&p, ID_A, "alpha", 1);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    EXPECT_OK(att_store_principal_get(f->s, ID_A, &got));
    assert_int_equal(got.cert_der_len, 0);
    assert_int_equal(
        store_fx_raw_i64(f, "SELECT CASE WHEN cert_der IS NULL THEN 1 ELSE 0 END FROM principals"),
        1);

    /* Hash and DER together; the largest DER that fits comes back byte for byte. */
    EXPECT_OK(att_store_principal_set_cert(f->s, ID_A, SHA_A, der, ATT_PRINCIPAL_CERT_MAX));
    memset(&got, 0x5a, sizeof(got));
    EXPECT_OK(att_store_principal_get(f->s, ID_A, &got));
    assert_string_equal(got.cert_sha256, SHA_A);
    assert_int_equal(got.cert_der_len, ATT_PRINCIPAL_CERT_MAX);
    assert_memory_equal(got.cert_der, der, ATT_PRINCIPAL_CERT_MAX);
    EXPECT_OK(att_store_principal_list(f->s, see_cert, &seen));
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.der_len, ATT_PRINCIPAL_CERT_MAX);
    assert_int_equal(seen.first, 0x30);

    /* Cleared: both, and the column is NULL again. */
    EXPECT_OK(att_store_principal_set_cert(f->s, ID_A, "", NULL, 0));
    EXPECT_OK(att_store_principal_get(f->s, ID_A, &got));
    assert_string_equal(got.cert_sha256, "");
    assert_int_equal(got.cert_der_len, 0);
    assert_int_equal(
        store_fx_raw_i64(f, "SELECT CASE WHEN cert_der IS NULL THEN 1 ELSE 0 END FROM principals"),
        1);

    /* Never one without the other, never malformed, never too large. */
    EXPECT_ERR(att_store_principal_set_cert(f->s, ID_A, SHA_A, NULL, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_set_cert(f->s, ID_A, SHA_A, der, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_set_cert(f->s, ID_A, "", der, 10), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_set_cert(f->s, ID_A, SHA_A, der, sizeof(der)), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_set_cert(f->s, ID_A, "0123", der, 10), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_set_cert(
                   f->s, ID_A, "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
                   der, 10),
               ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_set_cert(
                   f->s, ID_A, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
                   der, 10),
               ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_set_cert(f->s, ID_A, NULL, NULL, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_set_cert(f->s, ID_B, SHA_A, der, 10), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_principal_set_cert(f->s, ID_B, "", NULL, 0), ATT_ERR_NOT_FOUND);
    assert_int_equal(
        store_fx_raw_i64(f, "SELECT CASE WHEN cert_der IS NULL THEN 1 ELSE 0 END FROM principals"),
        1);

    /* Insert carries the certificate too, under the same rules. */
    make_principal(&p, ID_B, "beta", 2);
    snprintf(p.cert_sha256, sizeof(p.cert_sha256), "%s", SHA_A);
    memcpy(p.cert_der, der, 100);
    p.cert_der_len = 100;
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    EXPECT_OK(att_store_principal_get(f->s, ID_B, &got));
    assert_int_equal(got.cert_der_len, 100);
    assert_memory_equal(got.cert_der, der, 100);
    make_principal(&p, ID_C, "gamma", 3);
    p.cert_der_len = 100; /* DER without its hash */
    EXPECT_ERR(att_store_principal_insert(f->s, &p), ATT_ERR_ARG);
    snprintf(p.cert_sha256, sizeof(p.cert_sha256), "%s", SHA_A);
    p.cert_der_len = ATT_PRINCIPAL_CERT_MAX + 1;
    EXPECT_ERR(att_store_principal_insert(f->s, &p), ATT_ERR_ARG);
}

/* A certificate column someone else wrote: wrong type, too large, or without its hash. */
static void test_principal_cert_tampered(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec got;
    struct ids c = {0};

#define TAMPERED_CERT(id, name, sha, der)                                                          \
    "INSERT INTO principals(id, name, cert_sha256, created_at, cert_der)"                          \
    "  VALUES('" id "', '" name "', '" sha "', 1, " der ");"
    if (store_fx_is_pg(f)) { /* typed columns: no text where bytes belong */
        store_fx_raw_exec(f, TAMPERED_CERT("t2", "b", SHA_A, "decode(repeat('00', 8193), 'hex')")
                                 TAMPERED_CERT("t3", "c", "", "'\\x3082'::bytea") TAMPERED_CERT(
                                     "t4", "d", SHA_A, "decode(repeat('00', 8192), 'hex')")
                                     TAMPERED_CERT("t5", "e", "", "''::bytea"));
    } else {
        store_fx_raw_exec(f, TAMPERED_CERT("t1", "a", SHA_A, "'text not blob'")
                                 TAMPERED_CERT("t2", "b", SHA_A, "zeroblob(8193)")
                                     TAMPERED_CERT("t3", "c", "", "X'3082'")
                                         TAMPERED_CERT("t4", "d", SHA_A, "zeroblob(8192)")
                                             TAMPERED_CERT("t5", "e", "", "X''"));
        EXPECT_ERR(att_store_principal_get(f->s, "t1", &got), ATT_ERR_STORE);
    }
    EXPECT_ERR(att_store_principal_get(f->s, "t2", &got), ATT_ERR_STORE);
    EXPECT_ERR(att_store_principal_get(f->s, "t3", &got), ATT_ERR_STORE);
    EXPECT_ERR(att_store_principal_list(f->s, collect_principal, &c), ATT_ERR_STORE);
    EXPECT_OK(att_store_principal_get(f->s, "t4", &got));
    assert_int_equal(got.cert_der_len, 8192);
    EXPECT_OK(att_store_principal_get(f->s, "t5", &got));
    assert_int_equal(got.cert_der_len, 0);
}

/* ---- targeted lookups (issue 18) ------------------------------------------------- */

#define SHA_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* The plan of the mutual TLS lookup names migration 13's index (PostgreSQL: with sequential
 * scans off, as a table of a few rows would otherwise be read whole). */
static bool cert_lookup_uses_index(const struct store_fx *f)
{
    char plan[2048] = "";
    size_t used = 0;
    if (store_fx_is_pg(f)) {
        PGconn *c = PQconnectdb(f->url);
        PQclear(PQexec(c, "SET enable_seqscan = off"));
        PGresult *r = PQexec(c, "EXPLAIN SELECT id FROM principals WHERE cert_sha256 = '" SHA_A
                                "' AND cert_sha256 <> '' ORDER BY name COLLATE \"C\" LIMIT 1");
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        for (int i = 0; i < PQntuples(r) && used < sizeof(plan) - 1; i++) {
            used += (size_t)snprintf(plan + used, sizeof(plan) - used, "%s\n", PQgetvalue(r, i, 0));
        }
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "EXPLAIN QUERY PLAN SELECT id FROM principals"
                                            " WHERE cert_sha256 = ?1 AND cert_sha256 <> ''"
                                            " ORDER BY name LIMIT 1",
                                            -1, &st, NULL),
                         SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW && used < sizeof(plan) - 1) {
            used += (size_t)snprintf(plan + used, sizeof(plan) - used, "%s\n",
                                     (const char *)sqlite3_column_text(st, 3));
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    return strstr(plan, "principals_cert_sha256") != NULL;
}

/* The plan of a caller's role lookup reads the table through its UNIQUE index, never whole
 * (the statement as the backends run it, with values in place of the group slots). */
static bool role_lookup_uses_index(const struct store_fx *f)
{
    char sql[2048];
    char plan[4096] = "";
    size_t used = 0;
    int n = snprintf(sql, sizeof(sql),
                     "SELECT id FROM role_assignments"
                     " WHERE (subject_kind = 'subject' AND subject = 's'"
                     "        AND (subject_kind = 'principal' OR issuer = 'i'))"
                     "    OR (subject_kind = 'group' AND issuer = 'i' AND subject IN ('g0'");
    for (int i = 1; i < ATT_STORE_ROLE_GROUPS_MAX; i++) {
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", 'g%d'", i);
    }
    snprintf(sql + n, sizeof(sql) - (size_t)n, "))");
    if (store_fx_is_pg(f)) {
        char explain[2100];
        snprintf(explain, sizeof(explain), "EXPLAIN %s ORDER BY created_at, row_id", sql);
        PGconn *c = PQconnectdb(f->url);
        PQclear(PQexec(c, "SET enable_seqscan = off"));
        PGresult *r = PQexec(c, explain);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        for (int i = 0; i < PQntuples(r) && used < sizeof(plan) - 1; i++) {
            used += (size_t)snprintf(plan + used, sizeof(plan) - used, "%s\n", PQgetvalue(r, i, 0));
        }
        PQclear(r);
        PQfinish(c);
        return strstr(plan, "Seq Scan") == NULL && strstr(plan, "Index") != NULL;
    }
    char explain[2100];
    snprintf(explain, sizeof(explain), "EXPLAIN QUERY PLAN %s ORDER BY created_at, rowid", sql);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, explain, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && used < sizeof(plan) - 1) {
        used += (size_t)snprintf(plan + used, sizeof(plan) - used, "%s\n",
                                 (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return strstr(plan, "SCAN role_assignments") == NULL && strstr(plan, "USING INDEX") != NULL;
}

static void test_principal_get_by_cert(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p, got;
    uint8_t der[16] = {0x30, 0x0e};

    /* Migration 13's index, partial: principals without a certificate are not in it. */
    assert_int_equal(store_fx_raw_i64(f, store_fx_is_pg(f)
                                             ? "SELECT COUNT(*) FROM pg_indexes"
                                               " WHERE indexname = 'principals_cert_sha256'"
                                             : "SELECT COUNT(*) FROM sqlite_schema WHERE"
                                               " type = 'index' AND name = 'principals_cert_sha256'"
                                               " AND sql LIKE '%WHERE%'"),
                     1);
    assert_true(cert_lookup_uses_index(f));

    EXPECT_ERR(att_store_principal_get_by_cert(f->s, SHA_A, &got), ATT_ERR_NOT_FOUND);
    make_principal(&p, ID_A, "alpha", 1);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    make_principal(&p, ID_B, "beta", 2);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    EXPECT_ERR(att_store_principal_get_by_cert(f->s, SHA_A, &got), ATT_ERR_NOT_FOUND);

    EXPECT_OK(att_store_principal_set_cert(f->s, ID_B, SHA_A, der, sizeof(der)));
    memset(&got, 0x5a, sizeof(got));
    EXPECT_OK(att_store_principal_get_by_cert(f->s, SHA_A, &got));
    assert_string_equal(got.id, ID_B);
    assert_string_equal(got.name, "beta");
    assert_string_equal(got.cert_sha256, SHA_A);
    assert_int_equal(got.cert_der_len, sizeof(der));
    assert_memory_equal(got.cert_der, der, sizeof(der));
    EXPECT_ERR(att_store_principal_get_by_cert(f->s, SHA_B, &got), ATT_ERR_NOT_FOUND);
    assert_string_equal(got.id, ID_B); /* untouched by a miss */

    /* A disabled holder is answered; the caller refuses it. */
    EXPECT_OK(att_store_principal_set_disabled(f->s, ID_B, true));
    EXPECT_OK(att_store_principal_get_by_cert(f->s, SHA_A, &got));
    assert_true(got.disabled);

    /* One certificate registered twice (allowed before, so not UNIQUE): the first by name. */
    EXPECT_OK(att_store_principal_set_cert(f->s, ID_A, SHA_A, der, sizeof(der)));
    EXPECT_OK(att_store_principal_get_by_cert(f->s, SHA_A, &got));
    assert_string_equal(got.name, "alpha");

    /* Cleared: found no more; inside a transaction the lookup sees the transaction's rows. */
    EXPECT_OK(att_store_principal_set_cert(f->s, ID_A, "", NULL, 0));
    EXPECT_OK(att_store_principal_get_by_cert(f->s, SHA_A, &got));
    assert_string_equal(got.name, "beta");
    struct att_store *tx = NULL;
    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_OK(att_store_principal_set_cert(tx, ID_B, SHA_B, der, sizeof(der)));
    EXPECT_ERR(att_store_principal_get_by_cert(tx, SHA_A, &got), ATT_ERR_NOT_FOUND);
    EXPECT_OK(att_store_principal_get_by_cert(tx, SHA_B, &got));
    EXPECT_OK(att_store_rollback(tx));
    EXPECT_OK(att_store_principal_get_by_cert(f->s, SHA_A, &got));
    assert_string_equal(got.name, "beta");

    /* Only a hash of the form mutual TLS computes: 64 lower-case hex digits. */
    EXPECT_ERR(att_store_principal_get_by_cert(f->s, "", &got), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_get_by_cert(f->s, "0123", &got), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_get_by_cert(
                   f->s, "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", &got),
               ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_get_by_cert(f->s, SHA_A "0", &got), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_get_by_cert(f->s, NULL, &got), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_get_by_cert(f->s, SHA_A, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_get_by_cert(NULL, SHA_A, &got), ATT_ERR_ARG);

    /* A tampered row is an error, not a caller. */
    store_fx_raw_exec(f, store_fx_is_pg(f)
                             ? "UPDATE principals SET name = repeat('n', 64) WHERE id = '" ID_B "'"
                             : "UPDATE principals SET name = printf('%.64c', 'n')"
                               " WHERE id = '" ID_B "'");
    EXPECT_ERR(att_store_principal_get_by_cert(f->s, SHA_A, &got), ATT_ERR_STORE);
}

static void test_role_get(void **state)
{
    struct store_fx *f = *state;
    struct att_role_rec r, got;

    EXPECT_ERR(att_store_role_get(f->s, "r1", &got), ATT_ERR_NOT_FOUND);
    make_role(&r, "r1", "group", "admins", "AttestationReader", "p1");
    snprintf(r.issuer, sizeof(r.issuer), "https://login.example");
    r.created_at = 1700000123;
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "r2", "principal", ID_A, "Owner", "*");
    EXPECT_OK(att_store_role_insert(f->s, &r));

    memset(&got, 0x5a, sizeof(got));
    EXPECT_OK(att_store_role_get(f->s, "r1", &got));
    assert_string_equal(got.id, "r1");
    assert_string_equal(got.subject_kind, "group");
    assert_string_equal(got.subject, "admins");
    assert_string_equal(got.issuer, "https://login.example");
    assert_string_equal(got.role, "AttestationReader");
    assert_string_equal(got.provider, "p1");
    assert_int_equal(got.created_at, 1700000123);
    EXPECT_OK(att_store_role_get(f->s, "r2", &got));
    assert_string_equal(got.subject, ID_A);
    assert_string_equal(got.issuer, "");
    EXPECT_ERR(att_store_role_get(f->s, "r", &got), ATT_ERR_NOT_FOUND);
    assert_string_equal(got.id, "r2"); /* untouched by a miss */

    EXPECT_OK(att_store_role_delete(f->s, "r1"));
    EXPECT_ERR(att_store_role_get(f->s, "r1", &got), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_role_get(f->s, NULL, &got), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_get(f->s, "r2", NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_get(NULL, "r2", &got), ATT_ERR_ARG);

    store_fx_raw_exec(f, store_fx_is_pg(f)
                             ? "UPDATE role_assignments SET role = repeat('R', 32) WHERE id = 'r2'"
                             : "UPDATE role_assignments SET role = printf('%.32c', 'R')"
                               " WHERE id = 'r2'");
    EXPECT_ERR(att_store_role_get(f->s, "r2", &got), ATT_ERR_STORE);
}

/* A caller's query, with `n` groups from `groups`. */
static struct att_role_query role_query(const char *kind, const char *subject, const char *issuer,
                                        const char *const *groups, size_t n)
{
    struct att_role_query q;
    memset(&q, 0, sizeof(q));
    q.kind = kind;
    q.subject = subject;
    q.issuer = issuer;
    for (size_t i = 0; i < n && i < ATT_STORE_ROLE_GROUPS_MAX; i++) {
        q.groups[i] = groups[i];
    }
    q.n_groups = n;
    return q;
}

#define IDP "https://login.example"

static void test_role_list_for(void **state)
{
    struct store_fx *f = *state;
    struct att_role_rec r;
    struct ids c = {0};
    static const char *const groups[] = {"admins", "readers"};

    /* Inserted newest first, so "oldest first" is not insertion order. */
    make_role(&r, "p-owner", "principal", ID_A, "Owner", "*");
    r.created_at = 9;
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "p-reader", "principal", ID_A, "AttestationReader", "p1");
    r.created_at = 8;
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "p-other", "principal", ID_B, "Owner", "*");
    r.created_at = 7;
    EXPECT_OK(att_store_role_insert(f->s, &r));
    /* The same string as an external subject, and as a group: not the principal. */
    make_role(&r, "s-same", "subject", ID_A, "Owner", "*");
    snprintf(r.issuer, sizeof(r.issuer), IDP);
    r.created_at = 6;
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "s-user", "subject", "user@example", "AttestationContributor", "p1");
    snprintf(r.issuer, sizeof(r.issuer), IDP);
    r.created_at = 5;
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "s-elsewhere", "subject", "user@example", "Owner", "*");
    snprintf(r.issuer, sizeof(r.issuer), "https://other.example");
    r.created_at = 4;
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "g-admins", "group", "admins", "Owner", "*");
    snprintf(r.issuer, sizeof(r.issuer), IDP);
    r.created_at = 3;
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "g-admins-elsewhere", "group", "admins", "Owner", "*");
    snprintf(r.issuer, sizeof(r.issuer), "https://other.example");
    r.created_at = 2;
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "g-user", "group", "user@example", "Attester", "*");
    snprintf(r.issuer, sizeof(r.issuer), IDP);
    r.created_at = 1;
    EXPECT_OK(att_store_role_insert(f->s, &r));

    /* A principal: by its id alone, whatever issuer is given. */
    struct att_role_query q = role_query("principal", ID_A, NULL, NULL, 0);
    EXPECT_OK(att_store_role_list_for(f->s, &q, collect_role, &c));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.v[0], "p-reader");
    assert_string_equal(c.v[1], "p-owner");
    q.issuer = IDP;
    memset(&c, 0, sizeof(c));
    EXPECT_OK(att_store_role_list_for(f->s, &q, collect_role, &c));
    assert_int_equal(c.n, 2);

    /* An external subject of one issuer: its own assignments and its groups' on that issuer;
     * a group named like the subject is not the subject. */
    q = role_query("subject", "user@example", IDP, groups, 2);
    memset(&c, 0, sizeof(c));
    EXPECT_OK(att_store_role_list_for(f->s, &q, collect_role, &c));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.v[0], "g-admins");
    assert_string_equal(c.v[1], "s-user");
    q = role_query("subject", "user@example", "https://other.example", groups, 1);
    memset(&c, 0, sizeof(c));
    EXPECT_OK(att_store_role_list_for(f->s, &q, collect_role, &c));
    assert_int_equal(c.n, 2);
    assert_string_equal(c.v[0], "g-admins-elsewhere");
    assert_string_equal(c.v[1], "s-elsewhere");
    q = role_query("subject", ID_A, IDP, NULL, 0);
    memset(&c, 0, sizeof(c));
    EXPECT_OK(att_store_role_list_for(f->s, &q, collect_role, &c));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0], "s-same");
    /* Nobody: no row, no error. */
    q = role_query("subject", "nobody", IDP, NULL, 0);
    memset(&c, 0, sizeof(c));
    EXPECT_OK(att_store_role_list_for(f->s, &q, collect_role, &c));
    assert_int_equal(c.n, 0);
    q = role_query("principal", ID_C, NULL, NULL, 0);
    EXPECT_OK(att_store_role_list_for(f->s, &q, collect_role, &c));
    assert_int_equal(c.n, 0);

    /* A callback's error stops the list and is returned. */
    q = role_query("subject", "user@example", IDP, groups, 2);
    struct ids stop = {.stop_at = 2};
    EXPECT_ERR(att_store_role_list_for(f->s, &q, collect_role, &stop), ATT_ERR_STATE);
    assert_int_equal(stop.n, 1);

    /* Inside a transaction the query sees the transaction's own rows. */
    struct att_store *tx = NULL;
    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_OK(att_store_role_delete(tx, "g-admins"));
    memset(&c, 0, sizeof(c));
    EXPECT_OK(att_store_role_list_for(tx, &q, collect_role, &c));
    assert_int_equal(c.n, 1);
    EXPECT_OK(att_store_rollback(tx));
}

struct role_names {
    char v[40][64];
    size_t n;
};

static att_err collect_role_subject(const struct att_role_rec *r, void *arg)
{
    struct role_names *c = arg;
    if (c->n < 40) {
        snprintf(c->v[c->n], sizeof(c->v[0]), "%s", r->subject);
    }
    c->n++;
    return ATT_OK;
}

/* Every one of the ATT_STORE_ROLE_GROUPS_MAX slots of the one statement is used; more groups,
 * and malformed queries, are refused before any SQL runs. */
static void test_role_list_for_groups(void **state)
{
    struct store_fx *f = *state;
    struct att_role_rec r;
    char names[ATT_STORE_ROLE_GROUPS_MAX + 1][ATT_ROLE_SUBJECT_MAX + 2];
    const char *groups[ATT_STORE_ROLE_GROUPS_MAX + 1];
    struct role_names c;

    for (size_t i = 0; i <= ATT_STORE_ROLE_GROUPS_MAX; i++) {
        snprintf(names[i], sizeof(names[i]), "group-%02zu", i);
        groups[i] = names[i];
        char id[16];
        snprintf(id, sizeof(id), "g%02zu", i);
        make_role(&r, id, "group", names[i], "AttestationReader", "*");
        snprintf(r.issuer, sizeof(r.issuer), IDP);
        r.created_at = 1000 + (int64_t)i;
        EXPECT_OK(att_store_role_insert(f->s, &r));
    }
    struct att_role_query q =
        role_query("subject", "user@example", IDP, groups, ATT_STORE_ROLE_GROUPS_MAX);
    memset(&c, 0, sizeof(c));
    EXPECT_OK(att_store_role_list_for(f->s, &q, collect_role_subject, &c));
    assert_int_equal(c.n, ATT_STORE_ROLE_GROUPS_MAX);
    for (size_t i = 0; i < ATT_STORE_ROLE_GROUPS_MAX; i++) {
        assert_string_equal(c.v[i], names[i]);
    }
    /* Only the last slot: the others unused (NULL) match nothing. */
    q = role_query("subject", "user@example", IDP, NULL, 0);
    q.groups[0] = names[ATT_STORE_ROLE_GROUPS_MAX - 1];
    q.n_groups = 1;
    memset(&c, 0, sizeof(c));
    EXPECT_OK(att_store_role_list_for(f->s, &q, collect_role_subject, &c));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0], names[ATT_STORE_ROLE_GROUPS_MAX - 1]);
    /* A group given twice answers its assignment once. */
    q.groups[1] = q.groups[0];
    q.n_groups = 2;
    memset(&c, 0, sizeof(c));
    EXPECT_OK(att_store_role_list_for(f->s, &q, collect_role_subject, &c));
    assert_int_equal(c.n, 1);

    assert_true(role_lookup_uses_index(f));

    /* Refused: one group too many, groups of a principal, another kind, a missing or too long
     * string, no query or callback. */
    q = role_query("subject", "user@example", IDP, groups, ATT_STORE_ROLE_GROUPS_MAX);
    q.n_groups = ATT_STORE_ROLE_GROUPS_MAX + 1;
    EXPECT_ERR(att_store_role_list_for(f->s, &q, collect_role_subject, &c), ATT_ERR_ARG);
    q = role_query("principal", ID_A, NULL, groups, 1);
    EXPECT_ERR(att_store_role_list_for(f->s, &q, collect_role_subject, &c), ATT_ERR_ARG);
    q = role_query("group", "admins", IDP, NULL, 0);
    EXPECT_ERR(att_store_role_list_for(f->s, &q, collect_role_subject, &c), ATT_ERR_ARG);
    q = role_query(NULL, "admins", IDP, NULL, 0);
    EXPECT_ERR(att_store_role_list_for(f->s, &q, collect_role_subject, &c), ATT_ERR_ARG);
    q = role_query("subject", NULL, IDP, NULL, 0);
    EXPECT_ERR(att_store_role_list_for(f->s, &q, collect_role_subject, &c), ATT_ERR_ARG);
    q = role_query("subject", "user@example", NULL, NULL, 0);
    EXPECT_ERR(att_store_role_list_for(f->s, &q, collect_role_subject, &c), ATT_ERR_ARG);
    memset(names[0], 'g', ATT_ROLE_SUBJECT_MAX + 1);
    names[0][ATT_ROLE_SUBJECT_MAX + 1] = '\0';
    q = role_query("subject", "user@example", IDP, groups, 1);
    EXPECT_ERR(att_store_role_list_for(f->s, &q, collect_role_subject, &c), ATT_ERR_ARG);
    q = role_query("subject", names[0], IDP, NULL, 0);
    EXPECT_ERR(att_store_role_list_for(f->s, &q, collect_role_subject, &c), ATT_ERR_ARG);
    q = role_query("subject", "user@example", IDP, NULL, 0);
    EXPECT_ERR(att_store_role_list_for(f->s, &q, NULL, &c), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_list_for(f->s, NULL, collect_role_subject, &c), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_list_for(NULL, &q, collect_role_subject, &c), ATT_ERR_ARG);
    /* The longest group that fits is fine. */
    names[0][ATT_ROLE_SUBJECT_MAX] = '\0';
    q = role_query("subject", "user@example", IDP, groups, 1);
    memset(&c, 0, sizeof(c));
    EXPECT_OK(att_store_role_list_for(f->s, &q, collect_role_subject, &c));
    assert_int_equal(c.n, 0);

    /* A tampered row named by the query is an error, not a grant. */
    store_fx_raw_exec(f, store_fx_is_pg(f)
                             ? "UPDATE role_assignments SET provider = repeat('p', 64)"
                               " WHERE id = 'g01'"
                             : "UPDATE role_assignments SET"
                               " provider = printf('%.64c', 'p') WHERE id = 'g01'");
    q = role_query("subject", "user@example", IDP, groups + 1, 1);
    EXPECT_ERR(att_store_role_list_for(f->s, &q, collect_role_subject, &c), ATT_ERR_STORE);
}

static void test_role_count_enabled(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p;
    struct att_role_rec r;
    int64_t n = -1;

    make_principal(&p, ID_A, "alpha", 1);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    make_principal(&p, ID_B, "beta", 1);
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    make_principal(&p, ID_C, "gamma", 1);
    p.disabled = true;
    EXPECT_OK(att_store_principal_insert(f->s, &p));
    make_role(&r, "ra", "principal", ID_A, "Owner", "*");
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "rb", "principal", ID_B, "Owner", "*");
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "rb1", "principal", ID_B, "Owner", "p1"); /* another provider */
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "rb2", "principal", ID_B, "AttestationReader", "*"); /* another role */
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "rc", "principal", ID_C, "Owner", "*"); /* disabled */
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "rd", "principal", "dddddddd-0000-4000-8000-000000000004", "Owner", "*");
    EXPECT_OK(att_store_role_insert(f->s, &r));         /* no such principal */
    make_role(&r, "rs", "subject", ID_A, "Owner", "*"); /* external subject */
    snprintf(r.issuer, sizeof(r.issuer), IDP);
    EXPECT_OK(att_store_role_insert(f->s, &r));
    make_role(&r, "rg", "group", "admins", "Owner", "*");
    snprintf(r.issuer, sizeof(r.issuer), IDP);
    EXPECT_OK(att_store_role_insert(f->s, &r));

    EXPECT_OK(att_store_role_count_enabled(f->s, "Owner", "*", NULL, NULL, &n));
    assert_int_equal(n, 2);
    EXPECT_OK(att_store_role_count_enabled(f->s, "Owner", "*", "ra", NULL, &n));
    assert_int_equal(n, 1);
    EXPECT_OK(att_store_role_count_enabled(f->s, "Owner", "*", "rc", NULL, &n));
    assert_int_equal(n, 2);
    EXPECT_OK(att_store_role_count_enabled(f->s, "Owner", "*", NULL, ID_B, &n));
    assert_int_equal(n, 1);
    EXPECT_OK(att_store_role_count_enabled(f->s, "Owner", "*", "ra", ID_B, &n));
    assert_int_equal(n, 0);
    EXPECT_OK(att_store_role_count_enabled(f->s, "Owner", "*", "nothing", "nobody", &n));
    assert_int_equal(n, 2);
    EXPECT_OK(att_store_role_count_enabled(f->s, "Owner", "p1", NULL, NULL, &n));
    assert_int_equal(n, 1);
    EXPECT_OK(att_store_role_count_enabled(f->s, "AttestationReader", "*", NULL, NULL, &n));
    assert_int_equal(n, 1);
    EXPECT_OK(att_store_role_count_enabled(f->s, "Attester", "*", NULL, NULL, &n));
    assert_int_equal(n, 0);

    /* Enabling, disabling and deleting principals move the count at once. */
    EXPECT_OK(att_store_principal_set_disabled(f->s, ID_C, false));
    EXPECT_OK(att_store_role_count_enabled(f->s, "Owner", "*", NULL, NULL, &n));
    assert_int_equal(n, 3);
    EXPECT_OK(att_store_principal_set_disabled(f->s, ID_A, true));
    EXPECT_OK(att_store_principal_delete(f->s, ID_B));
    EXPECT_OK(att_store_role_count_enabled(f->s, "Owner", "*", NULL, NULL, &n));
    assert_int_equal(n, 1);

    n = -1;
    EXPECT_ERR(att_store_role_count_enabled(f->s, NULL, "*", NULL, NULL, &n), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_count_enabled(f->s, "", "*", NULL, NULL, &n), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_count_enabled(f->s, "Owner", NULL, NULL, NULL, &n), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_count_enabled(f->s, "Owner", "", NULL, NULL, &n), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_count_enabled(f->s, "Owner", "*", NULL, NULL, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_count_enabled(NULL, "Owner", "*", NULL, NULL, &n), ATT_ERR_ARG);
    assert_int_equal(n, -1);
}

/* The identity lock: only inside a transaction; taken twice by one, it is held still. */
static void test_identity_lock_needs_transaction(void **state)
{
    struct store_fx *f = *state;
    struct att_store *tx = NULL;

    EXPECT_ERR(att_store_identity_lock(f->s), ATT_ERR_STATE);
    EXPECT_ERR(att_store_identity_lock(NULL), ATT_ERR_ARG);
    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_OK(att_store_identity_lock(tx));
    EXPECT_OK(att_store_identity_lock(tx));
    EXPECT_OK(att_store_commit(tx));
    /* Released with the transaction: the next one takes it at once. */
    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_OK(att_store_identity_lock(tx));
    EXPECT_OK(att_store_rollback(tx));
    EXPECT_ERR(att_store_identity_lock(f->s), ATT_ERR_STATE);
}

/* A "node": a second store handle on the same database, holding the lock while it writes. */
struct lock_holder {
    struct att_store *s;
    sem_t locked;
    att_err rc;
};

static void *hold_lock_then_write(void *arg)
{
    struct lock_holder *h = arg;
    struct att_store *tx = NULL;
    struct att_role_rec r;
    att_err rc = att_store_begin(h->s, &tx);
    if (rc == ATT_OK) {
        rc = att_store_identity_lock(tx);
        sem_post(&h->locked);
        if (rc == ATT_OK) {
            usleep(300 * 1000); /* the other side is waiting meanwhile */
            make_role(&r, "late", "principal", ID_A, "Owner", "*");
            rc = att_store_role_insert(tx, &r);
        }
        att_err end = rc == ATT_OK ? att_store_commit(tx) : att_store_rollback(tx);
        rc = rc == ATT_OK ? end : rc;
    } else {
        sem_post(&h->locked);
    }
    h->rc = rc;
    return NULL;
}

/*
 * Whoever takes the lock after another transaction held it sees that transaction's writes:
 * on PostgreSQL the lock, not the BEGIN, is where the wait happens, and READ COMMITTED reads
 * after it see what the holder committed.
 */
static void test_identity_lock_serialises_handles(void **state)
{
    struct store_fx *f = *state;
    struct lock_holder h;
    struct att_role_rec got;
    struct att_store *tx = NULL;
    pthread_t th;

    memset(&h, 0, sizeof(h));
    EXPECT_OK(store_fx_open(f, &h.s));
    assert_int_equal(sem_init(&h.locked, 0, 0), 0);
    assert_int_equal(pthread_create(&th, NULL, hold_lock_then_write, &h), 0);
    assert_int_equal(sem_wait(&h.locked), 0);
    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_OK(att_store_identity_lock(tx));
    EXPECT_OK(att_store_role_get(tx, "late", &got));
    EXPECT_OK(att_store_commit(tx));
    assert_int_equal(pthread_join(th, NULL), 0);
    EXPECT_OK(h.rc);
    sem_destroy(&h.locked);
    att_store_close(h.s);
}

/* ---- arguments and tampered rows ------------------------------------------------ */

static void test_identity_bad_arguments(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p, got;
    struct att_secret_rec sec;
    struct att_role_rec r;
    struct att_key_rec k;
    struct ids c = {0};

    make_principal(&p, ID_A, "alpha", 1);
    EXPECT_ERR(att_store_principal_insert(NULL, &p), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_insert(f->s, NULL), ATT_ERR_ARG);
    memset(p.name, 'x', sizeof(p.name)); /* no NUL inside the field */
    EXPECT_ERR(att_store_principal_insert(f->s, &p), ATT_ERR_ARG);
    make_principal(&p, "", "alpha", 1);
    EXPECT_ERR(att_store_principal_insert(f->s, &p), ATT_ERR_ARG);
    make_principal(&p, ID_A, "", 1);
    EXPECT_ERR(att_store_principal_insert(f->s, &p), ATT_ERR_ARG);
    make_principal(&p, ID_A, "alpha", 1);
    memset(p.last_used_from, 'x', sizeof(p.last_used_from));
    EXPECT_ERR(att_store_principal_insert(f->s, &p), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_get(f->s, NULL, &got), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_get(f->s, ID_A, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_get_by_name(f->s, NULL, &got), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_list(f->s, NULL, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_set_disabled(f->s, NULL, true), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_touch(f->s, NULL, 1, "x"), ATT_ERR_ARG);
    EXPECT_ERR(att_store_principal_delete(f->s, NULL), ATT_ERR_ARG);

    make_secret(&sec, "s1", ID_A, 1);
    sec.hash[0] = '\0';
    EXPECT_ERR(att_store_secret_insert(f->s, &sec), ATT_ERR_ARG);
    make_secret(&sec, "s1", "", 1);
    EXPECT_ERR(att_store_secret_insert(f->s, &sec), ATT_ERR_ARG);
    make_secret(&sec, "s1", ID_A, 1);
    memset(sec.hash, 'h', sizeof(sec.hash));
    EXPECT_ERR(att_store_secret_insert(f->s, &sec), ATT_ERR_ARG);
    EXPECT_ERR(att_store_secret_insert(f->s, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_secret_list(f->s, NULL, collect_secret, &c), ATT_ERR_ARG);
    EXPECT_ERR(att_store_secret_list(f->s, ID_A, NULL, &c), ATT_ERR_ARG);
    EXPECT_ERR(att_store_secret_revoke(f->s, NULL, 1), ATT_ERR_ARG);

    make_role(&r, "r1", "user", ID_A, "Owner", "*");
    EXPECT_ERR(att_store_role_insert(f->s, &r), ATT_ERR_ARG);
    make_role(&r, "r1", "principal", "", "Owner", "*");
    EXPECT_ERR(att_store_role_insert(f->s, &r), ATT_ERR_ARG);
    make_role(&r, "r1", "principal", ID_A, "", "*");
    EXPECT_ERR(att_store_role_insert(f->s, &r), ATT_ERR_ARG);
    make_role(&r, "r1", "principal", ID_A, "Owner", "");
    EXPECT_ERR(att_store_role_insert(f->s, &r), ATT_ERR_ARG);
    make_role(&r, "r1", "principal", ID_A, "Owner", "*");
    memset(r.issuer, 'i', sizeof(r.issuer));
    EXPECT_ERR(att_store_role_insert(f->s, &r), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_insert(f->s, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_list(f->s, NULL, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_role_delete(f->s, NULL), ATT_ERR_ARG);

    make_auth_key(&k, "", 1);
    EXPECT_ERR(att_store_auth_key_insert(f->s, &k), ATT_ERR_ARG);
    EXPECT_ERR(att_store_auth_key_insert(f->s, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_auth_key_list(f->s, NULL, NULL), ATT_ERR_ARG);
    att_key_rec_cleanup(&k);

    /* Nothing was written. */
    assert_int_equal(store_fx_raw_i64(f, "SELECT (SELECT COUNT(*) FROM principals) +"
                                         " (SELECT COUNT(*) FROM principal_secrets) +"
                                         " (SELECT COUNT(*) FROM role_assignments) +"
                                         " (SELECT COUNT(*) FROM auth_keys)"),
                     0);
}

/* Values that do not fit their field, or have the wrong type, are errors, never truncated. */
static void test_identity_tampered_rows(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec got;
    struct ids c = {0};
    char sql[512];
    char longname[ATT_PRINCIPAL_NAME_MAX + 2];

    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    snprintf(sql, sizeof(sql), "INSERT INTO principals(id, name, created_at) VALUES('p1', '%s', 1)",
             longname);
    store_fx_raw_exec(f, sql);
    EXPECT_ERR(att_store_principal_get(f->s, "p1", &got), ATT_ERR_STORE);
    EXPECT_ERR(att_store_principal_get_by_name(f->s, longname, &got), ATT_ERR_STORE);
    EXPECT_ERR(att_store_principal_list(f->s, collect_principal, &c), ATT_ERR_STORE);
    assert_int_equal(c.n, 0);
    /* Exactly the maximum still fits. */
    longname[ATT_PRINCIPAL_NAME_MAX] = '\0';
    snprintf(sql, sizeof(sql), "UPDATE principals SET name = '%s' WHERE id = 'p1'", longname);
    store_fx_raw_exec(f, sql);
    EXPECT_OK(att_store_principal_get(f->s, "p1", &got));
    assert_string_equal(got.name, longname);

    if (store_fx_is_pg(f)) { /* typed columns: only a value out of range can be planted */
        store_fx_raw_exec(
            f, "INSERT INTO principals(id, name, disabled, created_at) VALUES('p2', 'b', 2, 1)");
        EXPECT_ERR(att_store_principal_get(f->s, "p2", &got), ATT_ERR_STORE);
        EXPECT_ERR(att_store_principal_list(f->s, collect_principal, &c), ATT_ERR_STORE);
        return;
    }
    store_fx_raw_exec(
        f, "INSERT INTO principals(id, name, disabled, created_at) VALUES('p2', 'b', 2, 1);"
           "INSERT INTO principals(id, name, created_at) VALUES('p3', 'c', 'noon');"
           "INSERT INTO principals(id, name, created_at, last_used_from)"
           "  VALUES('p4', 'd', 1, X'31');"
           "INSERT INTO principal_secrets(id, principal_id, hash, created_at)"
           "  VALUES('s1', 'p1', 'h', 1.5);"
           "INSERT INTO role_assignments VALUES('r1', 'group', 'g', '', 'Owner', X'37', 1);"
           "INSERT INTO auth_keys VALUES('k1', 'ES256', 'text not blob', X'00', 1);");
    EXPECT_ERR(att_store_principal_get(f->s, "p2", &got), ATT_ERR_STORE);
    EXPECT_ERR(att_store_principal_get(f->s, "p3", &got), ATT_ERR_STORE);
    EXPECT_ERR(att_store_principal_get(f->s, "p4", &got), ATT_ERR_STORE);
    EXPECT_ERR(att_store_secret_list(f->s, "p1", collect_secret, &c), ATT_ERR_STORE);
    EXPECT_ERR(att_store_role_list(f->s, collect_role, &c), ATT_ERR_STORE);
    EXPECT_ERR(att_store_auth_key_list(f->s, collect_key, &c), ATT_ERR_STORE);
    assert_int_equal(c.n, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define P(fn) cmocka_unit_test_setup_teardown(fn, setup_pg, teardown)
#define BOTH(X)                                                                                    \
    X(test_auth_keys), X(test_auth_key_round_trip), X(test_principal_crud),                        \
        X(test_principal_touch_limits), X(test_principal_cert), X(test_principal_cert_tampered),   \
        X(test_secrets), X(test_secret_round_trip), X(test_roles),                                 \
        X(test_role_kind_checked_by_schema), X(test_principal_delete_cascades),                    \
        X(test_principal_delete_in_transaction), X(test_identity_bad_arguments),                   \
        X(test_identity_tampered_rows), X(test_principal_get_by_cert), X(test_role_get),           \
        X(test_role_list_for), X(test_role_list_for_groups), X(test_role_count_enabled),           \
        X(test_identity_lock_needs_transaction), X(test_identity_lock_serialises_handles)
    const struct CMUnitTest tests[] = {
        T(test_fresh_db_at_latest),
        cmocka_unit_test_setup_teardown(test_upgrade_from_version_1, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_version_2, setup_empty, teardown),
        BOTH(T),
    };
    const struct CMUnitTest tests_pg[] = {BOTH(P)};
#undef T
#undef P
#undef BOTH
    return STORE_FX_RUN_BOTH("store_identity", tests, tests_pg);
}
