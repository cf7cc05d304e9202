/*
 * Unit tests for the store operations that copy a store into another (attestctl store migrate):
 * att_store_count and the table list, att_store_policy_version_insert / _scan,
 * att_store_policy_request_insert / _list, att_store_audit_checkpoint_read - on a real SQLite
 * file and again on a real PostgreSQL database (store_fixture.h) - and
 * att_store_open_sqlite_existing (SQLite only).
 */
#include "att_test.h"
#include "store_fixture.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static int setup(void **state)
{
    return store_fx_setup(state, "copy", true);
}

static int setup_pg(void **state)
{
    return store_fx_setup_pg(state, "copy", true);
}

static int teardown(void **state)
{
    return store_fx_teardown(state);
}

static void make_provider(struct att_store *s, const char *name)
{
    struct att_provider_rec p;
    memset(&p, 0, sizeof(p));
    snprintf(p.name, sizeof(p.name), "%s", name);
    snprintf(p.issuer, sizeof(p.issuer), "https://%s.attest.example", name);
    snprintf(p.signing_alg, sizeof(p.signing_alg), "ES256");
    snprintf(p.trust_model, sizeof(p.trust_model), "%s", ATT_TRUST_ISOLATED);
    p.created_at = 1700000000;
    EXPECT_OK(att_store_provider_insert(s, &p));
}

static void make_version(struct att_policy_version_rec *v, const char *id, const char *provider,
                         const char *type, int64_t version)
{
    snprintf(v->id, sizeof(v->id), "%s", id);
    snprintf(v->provider, sizeof(v->provider), "%s", provider);
    snprintf(v->type, sizeof(v->type), "%s", type);
    snprintf(v->action, sizeof(v->action), "set");
    snprintf(v->policy_hash, sizeof(v->policy_hash), "hash-%s", id);
    snprintf(v->signer_sha256, sizeof(v->signer_sha256), "%064d", 7);
    snprintf(v->principal, sizeof(v->principal), "uid:0");
    snprintf(v->principal_name, sizeof(v->principal_name), "root");
    snprintf(v->source, sizeof(v->source), "local:attestctl");
    v->version = version;
    v->created_at = 1000 + version;
    v->rollback_of = 0;
    att_buf_reset(&v->sealed_jws);
    EXPECT_OK(att_buf_puts(&v->sealed_jws, id));
}

static void make_request(struct att_policy_request_rec *r, const char *provider, const char *scope,
                         char digit, int64_t expires_at, int64_t version)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->provider, sizeof(r->provider), "%s", provider);
    snprintf(r->scope, sizeof(r->scope), "%s", scope);
    memset(r->digest, digit, 64);
    r->expires_at = expires_at;
    r->version = version;
}

/* ---- the table list and att_store_count -------------------------------------- */

/* The names of every table of enum att_store_table, quoted and comma separated, for SQL. */
static void table_list(char *out, size_t n)
{
    size_t at = 0;
    out[0] = '\0';
    for (int t = 0; t < ATT_STORE_TABLES; t++) {
        int w = snprintf(out + at, n - at, "%s'%s'", t > 0 ? ", " : "", att_store_table_name(t));
        assert_true(w > 0 && (size_t)w < n - at);
        at += (size_t)w;
    }
}

/* Every table of records the migrations make is one att_store_count counts (and the copy
 * copies). */
static void test_tables_are_the_schema(void **state)
{
    struct store_fx *f = *state;
    char names[512];
    char sql[1024];
    table_list(names, sizeof(names));
    const char *all = store_fx_is_pg(f)
                          ? "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema ="
                            " current_schema() AND table_type = 'BASE TABLE'"
                          : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'";
    /* Not records: the schema's version, the change feed's counters (each store its own), and
     * the challenges' key and uses (outstanding challenges are asked for again). */
    snprintf(sql, sizeof(sql),
             "%s AND %s NOT IN ('schema_migrations', 'store_changes', 'cluster_secrets',"
             " 'used_challenges', %s)",
             all, store_fx_is_pg(f) ? "table_name" : "name", names);
    assert_int_equal(store_fx_raw_i64(f, sql), 0);
    snprintf(sql, sizeof(sql), "%s AND %s IN (%s)", all, store_fx_is_pg(f) ? "table_name" : "name",
             names);
    assert_int_equal(store_fx_raw_i64(f, sql), ATT_STORE_TABLES);
    assert_string_equal(att_store_table_name(ATT_TABLE_PROVIDERS), "providers");
    assert_string_equal(att_store_table_name(ATT_TABLE_AUDIT_CHECKPOINT), "audit_checkpoint");
    assert_string_equal(att_store_table_name(ATT_STORE_TABLES), "");
}

/* After each insert only that table's count went up: the columns are in the enum's order. */
static void expect_counts(struct att_store *s, const int64_t want[ATT_STORE_TABLES])
{
    struct att_store_counts n;
    EXPECT_OK(att_store_count(s, &n));
    for (int t = 0; t < ATT_STORE_TABLES; t++) {
        if (n.rows[t] != want[t]) {
            fail_msg("%s: %lld rows, want %lld", att_store_table_name(t), (long long)n.rows[t],
                     (long long)want[t]);
        }
    }
}

static void add_key(struct att_store *s, enum att_store_table t, const char *kid)
{
    struct att_key_rec k;
    att_key_rec_init(&k);
    snprintf(k.kid, sizeof(k.kid), "%s", kid);
    snprintf(k.provider, sizeof(k.provider), "%s", t == ATT_TABLE_SIGNING_KEYS ? "p" : "");
    snprintf(k.alg, sizeof(k.alg), "ES256");
    EXPECT_OK(att_buf_puts(&k.cert_der, "cert"));
    EXPECT_OK(att_buf_puts(&k.sealed_key, "sealed"));
    EXPECT_OK(t == ATT_TABLE_SIGNING_KEYS ? att_store_key_insert(s, &k)
                                          : att_store_auth_key_insert(s, &k));
    att_key_rec_cleanup(&k);
}

static void add_identity(struct att_store *s, enum att_store_table t)
{
    struct att_principal_rec p;
    struct att_secret_rec sec;
    struct att_role_rec r;
    memset(&p, 0, sizeof(p));
    memset(&sec, 0, sizeof(sec));
    memset(&r, 0, sizeof(r));
    snprintf(p.id, sizeof(p.id), "11111111-1111-1111-1111-111111111111");
    if (t == ATT_TABLE_PRINCIPALS) {
        snprintf(p.name, sizeof(p.name), "svc");
        EXPECT_OK(att_store_principal_insert(s, &p));
    } else if (t == ATT_TABLE_PRINCIPAL_SECRETS) {
        snprintf(sec.id, sizeof(sec.id), "%032d", 1);
        snprintf(sec.principal_id, sizeof(sec.principal_id), "%s", p.id);
        snprintf(sec.hash, sizeof(sec.hash), "$scrypt$hash");
        EXPECT_OK(att_store_secret_insert(s, &sec));
    } else {
        snprintf(r.id, sizeof(r.id), "%032d", 2);
        snprintf(r.subject_kind, sizeof(r.subject_kind), "principal");
        snprintf(r.subject, sizeof(r.subject), "%s", p.id);
        snprintf(r.role, sizeof(r.role), "Owner");
        snprintf(r.provider, sizeof(r.provider), "*");
        EXPECT_OK(att_store_role_insert(s, &r));
    }
}

static void add_collateral(struct att_store *s)
{
    struct att_collateral_rec r;
    uint8_t md[32];
    unsigned int n = 0;
    att_collateral_rec_init(&r);
    snprintf(r.kind, sizeof(r.kind), "root_crl");
    snprintf(r.source, sizeof(r.source), "import");
    EXPECT_OK(att_buf_puts(&r.body, "crl"));
    assert_int_equal(EVP_Digest(r.body.data, r.body.len, md, &n, EVP_sha256(), NULL), 1);
    for (size_t i = 0; i < 32; i++) {
        snprintf(r.sha256 + 2 * i, 3, "%02x", md[i]);
    }
    r.issued = 10;
    r.next_update = 20;
    EXPECT_OK(att_store_collateral_put(s, &r, NULL));
    att_collateral_rec_cleanup(&r);
}

/* One row into table t (its parents are there already). */
static void add_row(struct att_store *s, enum att_store_table t)
{
    struct att_dek_rec d;
    struct att_policy_version_rec v;
    struct att_policy_request_rec req;
    struct att_signer_rec sig;
    switch (t) {
    case ATT_TABLE_PROVIDERS: make_provider(s, "p"); break;
    case ATT_TABLE_SIGNING_KEYS: add_key(s, t, "kid-signing"); break;
    case ATT_TABLE_DATA_KEYS:
        att_dek_rec_init(&d);
        snprintf(d.id, sizeof(d.id), "dek1");
        snprintf(d.kek_id, sizeof(d.kek_id), "kek1");
        EXPECT_OK(att_buf_puts(&d.wrapped, "wrapped"));
        EXPECT_OK(att_store_dek_insert(s, &d));
        att_dek_rec_cleanup(&d);
        break;
    case ATT_TABLE_AUTH_KEYS: add_key(s, t, "kid-auth"); break;
    case ATT_TABLE_PRINCIPALS:
    case ATT_TABLE_PRINCIPAL_SECRETS:
    case ATT_TABLE_ROLE_ASSIGNMENTS: add_identity(s, t); break;
    case ATT_TABLE_POLICY_VERSIONS:
        att_policy_version_rec_init(&v);
        make_version(&v, "v1", "p", "SgxEnclave", 1);
        EXPECT_OK(att_store_policy_version_insert(s, &v));
        att_policy_version_rec_cleanup(&v);
        break;
    case ATT_TABLE_POLICY_REQUESTS:
        make_request(&req, "p", "", 'a', 0, 0);
        EXPECT_OK(att_store_policy_request_insert(s, &req));
        break;
    case ATT_TABLE_POLICY_SIGNERS:
        att_signer_rec_init(&sig);
        snprintf(sig.provider, sizeof(sig.provider), "p");
        memset(sig.sha256, 'b', 64);
        memset(sig.sha1, 'C', 40);
        EXPECT_OK(att_buf_puts(&sig.cert_der, "der"));
        EXPECT_OK(att_store_signer_insert(s, &sig));
        att_signer_rec_cleanup(&sig);
        break;
    case ATT_TABLE_COLLATERAL: add_collateral(s); break;
    case ATT_TABLE_AUDIT_CHECKPOINT:
        EXPECT_OK(att_store_audit_checkpoint_put(s, "", 5,
                                                 "00000000000000000000000000000000"
                                                 "00000000000000000000000000000000",
                                                 "a.b.c", 99));
        break;
    default: fail_msg("no such table %d", (int)t);
    }
}

static void test_count_each_table(void **state)
{
    struct store_fx *f = *state;
    int64_t want[ATT_STORE_TABLES] = {0};
    expect_counts(f->s, want);
    for (int t = 0; t < ATT_STORE_TABLES; t++) {
        add_row(f->s, t);
        want[t] = 1;
        expect_counts(f->s, want);
    }
    EXPECT_ERR(att_store_count(f->s, NULL), ATT_ERR_ARG);
}

/* Inside a transaction the counts are the transaction's; a rollback leaves nothing. */
static void test_count_in_transaction(void **state)
{
    struct store_fx *f = *state;
    struct att_store *tx = NULL;
    int64_t want[ATT_STORE_TABLES] = {0};
    EXPECT_OK(att_store_begin(f->s, &tx));
    add_row(tx, ATT_TABLE_PROVIDERS);
    add_row(tx, ATT_TABLE_SIGNING_KEYS);
    want[ATT_TABLE_PROVIDERS] = 1;
    want[ATT_TABLE_SIGNING_KEYS] = 1;
    expect_counts(tx, want);
    EXPECT_OK(att_store_rollback(tx));
    memset(want, 0, sizeof(want));
    expect_counts(f->s, want);
}

/* ---- policy versions as given ------------------------------------------------ */

struct seen_versions {
    char ids[8][33];
    int64_t numbers[8];
    size_t n;
};

static att_err see_version(const struct att_policy_version_rec *v, void *arg)
{
    struct seen_versions *seen = arg;
    assert_true(seen->n < 8);
    snprintf(seen->ids[seen->n], sizeof(seen->ids[0]), "%s", v->id);
    seen->numbers[seen->n++] = v->version;
    return ATT_OK;
}

static void test_policy_version_insert_and_scan(void **state)
{
    struct store_fx *f = *state;
    struct att_policy_version_rec v;
    struct att_policy_version_rec got;
    struct seen_versions seen;
    memset(&seen, 0, sizeof(seen));
    att_policy_version_rec_init(&v);
    att_policy_version_rec_init(&got);
    make_provider(f->s, "b");
    make_provider(f->s, "a");

    /* Numbers with gaps (older versions pruned by retention) stay as they are. */
    make_version(&v, "b-tdx-9", "b", "TdxVm", 9);
    EXPECT_OK(att_store_policy_version_insert(f->s, &v));
    make_version(&v, "b-sgx-5", "b", "SgxEnclave", 5);
    snprintf(v.action, sizeof(v.action), "rollback");
    v.rollback_of = 3;
    EXPECT_OK(att_store_policy_version_insert(f->s, &v));
    make_version(&v, "b-sgx-3", "b", "SgxEnclave", 3);
    EXPECT_OK(att_store_policy_version_insert(f->s, &v));
    make_version(&v, "a-sgx-4", "a", "SgxEnclave", 4);
    EXPECT_OK(att_store_policy_version_insert(f->s, &v));

    EXPECT_OK(att_store_policy_version_get(f->s, "b", "SgxEnclave", 0, &got));
    assert_string_equal(got.id, "b-sgx-5");
    assert_int_equal(got.version, 5);
    assert_string_equal(got.action, "rollback");
    assert_int_equal(got.rollback_of, 3);
    assert_int_equal(got.created_at, 1005);
    assert_string_equal(got.policy_hash, "hash-b-sgx-5");
    assert_string_equal(got.source, "local:attestctl");
    assert_string_equal(att_buf_cstr(&got.sealed_jws), "b-sgx-5");

    /* By provider, type, version: every provider and type in one pass. */
    EXPECT_OK(att_store_policy_version_scan(f->s, see_version, &seen));
    assert_int_equal(seen.n, 4);
    assert_string_equal(seen.ids[0], "a-sgx-4");
    assert_string_equal(seen.ids[1], "b-sgx-3");
    assert_string_equal(seen.ids[2], "b-sgx-5");
    assert_string_equal(seen.ids[3], "b-tdx-9");

    /* Taken ids and numbers, absent providers, numbers below 1. */
    make_version(&v, "b-sgx-3", "b", "SgxEnclave", 7);
    EXPECT_ERR(att_store_policy_version_insert(f->s, &v), ATT_ERR_EXISTS);
    make_version(&v, "other", "b", "SgxEnclave", 3);
    EXPECT_ERR(att_store_policy_version_insert(f->s, &v), ATT_ERR_EXISTS);
    make_version(&v, "ghost", "ghost", "SgxEnclave", 1);
    EXPECT_ERR(att_store_policy_version_insert(f->s, &v), ATT_ERR_STORE_CONSTRAINT);
    make_version(&v, "zero", "b", "SgxEnclave", 0);
    EXPECT_ERR(att_store_policy_version_insert(f->s, &v), ATT_ERR_ARG);
    make_version(&v, "neg", "b", "SgxEnclave", 6);
    v.rollback_of = -1;
    EXPECT_ERR(att_store_policy_version_insert(f->s, &v), ATT_ERR_ARG);
    EXPECT_ERR(att_store_policy_version_scan(f->s, NULL, NULL), ATT_ERR_ARG);

    /* A policy change after a copy goes on from the newest number. */
    make_version(&v, "b-sgx-next", "b", "SgxEnclave", 0);
    EXPECT_OK(att_store_policy_version_append(f->s, &v, NULL, 0));
    assert_int_equal(v.version, 6);
    att_policy_version_rec_cleanup(&v);
    att_policy_version_rec_cleanup(&got);
}

/* A scan stops at the callback's error and returns it. */
static att_err stop_scan(const struct att_policy_version_rec *v, void *arg)
{
    (void)v;
    (*(int *)arg)++;
    return ATT_ERR_STATE;
}

static void test_scan_stops(void **state)
{
    struct store_fx *f = *state;
    struct att_policy_version_rec v;
    int calls = 0;
    att_policy_version_rec_init(&v);
    make_provider(f->s, "p");
    make_version(&v, "one", "p", "SgxEnclave", 1);
    EXPECT_OK(att_store_policy_version_insert(f->s, &v));
    make_version(&v, "two", "p", "SgxEnclave", 2);
    EXPECT_OK(att_store_policy_version_insert(f->s, &v));
    EXPECT_ERR(att_store_policy_version_scan(f->s, stop_scan, &calls), ATT_ERR_STATE);
    assert_int_equal(calls, 1);
    att_policy_version_rec_cleanup(&v);
}

/* ---- policy requests as given ------------------------------------------------ */

struct seen_requests {
    struct att_policy_request_rec r[8];
    size_t n;
};

static att_err see_request(const struct att_policy_request_rec *r, void *arg)
{
    struct seen_requests *seen = arg;
    assert_true(seen->n < 8);
    seen->r[seen->n++] = *r;
    return ATT_OK;
}

static void test_policy_request_insert_and_list(void **state)
{
    struct store_fx *f = *state;
    struct att_policy_request_rec r;
    struct seen_requests seen;
    memset(&seen, 0, sizeof(seen));
    make_provider(f->s, "p");
    make_provider(f->s, "o");

    /* A bound record long expired, an unbound one with its version, a signer change's. */
    make_request(&r, "p", "SgxEnclave", 'c', 5, 2);
    EXPECT_OK(att_store_policy_request_insert(f->s, &r));
    make_request(&r, "p", "SgxEnclave", 'a', 0, 1);
    EXPECT_OK(att_store_policy_request_insert(f->s, &r));
    make_request(&r, "p", "", 'b', 4000000000, 0);
    EXPECT_OK(att_store_policy_request_insert(f->s, &r));
    make_request(&r, "o", "TdxVm", 'd', 0, 7);
    EXPECT_OK(att_store_policy_request_insert(f->s, &r));

    EXPECT_OK(att_store_policy_request_list(f->s, see_request, &seen));
    assert_int_equal(seen.n, 4);
    assert_string_equal(seen.r[0].provider, "o");
    assert_int_equal(seen.r[0].version, 7);
    assert_string_equal(seen.r[1].scope, "");
    assert_int_equal(seen.r[1].expires_at, 4000000000);
    assert_string_equal(seen.r[2].scope, "SgxEnclave");
    assert_int_equal(seen.r[2].digest[0], 'a');
    assert_int_equal(seen.r[2].expires_at, 0);
    assert_int_equal(seen.r[2].version, 1);
    /* Expired, yet kept: a copy prunes nothing. */
    assert_int_equal(seen.r[3].digest[0], 'c');
    assert_int_equal(seen.r[3].expires_at, 5);
    assert_int_equal(seen.r[3].version, 2);

    /* Unbound or not, a record already there is a conflict; no provider, no record. */
    make_request(&r, "p", "SgxEnclave", 'a', 0, 1);
    EXPECT_ERR(att_store_policy_request_insert(f->s, &r), ATT_ERR_EXISTS);
    make_request(&r, "ghost", "SgxEnclave", 'a', 0, 1);
    EXPECT_ERR(att_store_policy_request_insert(f->s, &r), ATT_ERR_STORE_CONSTRAINT);
    make_request(&r, "p", "SgxEnclave", 'e', 0, -1);
    EXPECT_ERR(att_store_policy_request_insert(f->s, &r), ATT_ERR_ARG);
    make_request(&r, "p", "SgxEnclave", 'F', 0, 1); /* not lower-case hex */
    EXPECT_ERR(att_store_policy_request_insert(f->s, &r), ATT_ERR_ARG);
    EXPECT_ERR(att_store_policy_request_list(f->s, NULL, NULL), ATT_ERR_ARG);
}

/* ---- the audit checkpoint whole ---------------------------------------------- */

static void test_checkpoint_read(void **state)
{
    struct store_fx *f = *state;
    struct att_audit_checkpoint_rec cp;
    static const char hash[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    att_audit_checkpoint_rec_init(&cp);
    EXPECT_ERR(att_store_audit_checkpoint_read(f->s, "n1", &cp), ATT_ERR_NOT_FOUND);
    EXPECT_OK(att_store_audit_checkpoint_put(f->s, "n1", 42, hash, "eyJh.eyJz.c2ln", 1700000123));
    EXPECT_ERR(att_store_audit_checkpoint_read(f->s, "n2", &cp), ATT_ERR_NOT_FOUND); /* by node */
    EXPECT_OK(att_store_audit_checkpoint_read(f->s, "n1", &cp));
    assert_int_equal(cp.seq, 42);
    assert_string_equal(cp.hash, hash);
    assert_int_equal(cp.jws.len, 14);
    assert_string_equal(att_buf_cstr(&cp.jws), "eyJh.eyJz.c2ln");
    assert_int_equal(cp.created_at, 1700000123);
    /* Read again into the same record: its buffer is replaced, not leaked or appended to. */
    EXPECT_OK(att_store_audit_checkpoint_read(f->s, "n1", &cp));
    assert_int_equal(cp.jws.len, 14);

    /* A JWS larger than a checkpoint's (a tampered row) is refused, and *out kept. */
    store_fx_raw_exec(f, store_fx_is_pg(f) ? "UPDATE audit_checkpoint SET jws = repeat('x', 70000)"
                                           : "UPDATE audit_checkpoint SET jws ="
                                             " printf('%.70000c', 'x')");
    EXPECT_ERR(att_store_audit_checkpoint_read(f->s, "n1", &cp), ATT_ERR_STORE);
    assert_string_equal(att_buf_cstr(&cp.jws), "eyJh.eyJz.c2ln");
    if (!store_fx_is_pg(f)) { /* PostgreSQL's text holds no NUL at all */
        store_fx_raw_exec(f, "UPDATE audit_checkpoint SET jws = CAST(x'6100620063' AS TEXT)");
        EXPECT_ERR(att_store_audit_checkpoint_read(f->s, "n1", &cp), ATT_ERR_STORE);
        store_fx_raw_exec(f, "UPDATE audit_checkpoint SET jws = x'616263'");
        EXPECT_ERR(att_store_audit_checkpoint_read(f->s, "n1", &cp), ATT_ERR_STORE); /* a BLOB */
    }
    EXPECT_ERR(att_store_audit_checkpoint_read(f->s, "n1", NULL), ATT_ERR_ARG);
    att_audit_checkpoint_rec_cleanup(&cp);
}

/* ---- opening a source without changing it (SQLite) --------------------------- */

static void test_open_existing(void **state)
{
    struct store_fx *f = *state;
    struct att_store *s = NULL;
    struct att_store_counts n;
    char path[256];
    int schema = -1;

    /* A missing file is not created. */
    snprintf(path, sizeof(path), "%s/missing.db", f->dir);
    EXPECT_ERR(att_store_open_sqlite_existing(path, &s, &schema), ATT_ERR_NOT_FOUND);
    assert_null(s);
    assert_int_equal(access(path, F_OK), -1);

    /* The fixture's store, at this program's schema: readable, counted. */
    add_row(f->s, ATT_TABLE_PROVIDERS);
    EXPECT_OK(att_store_open_sqlite_existing(f->db, &s, &schema));
    assert_int_equal(schema, att_store_schema_latest());
    EXPECT_OK(att_store_count(s, &n));
    assert_int_equal(n.rows[ATT_TABLE_PROVIDERS], 1);
    att_store_close(s);
    s = NULL;

    /* An older schema is refused and left as it is (no migration ran). */
    char sql[128];
    snprintf(sql, sizeof(sql), "DELETE FROM schema_migrations WHERE version = %d",
             att_store_schema_latest());
    store_fx_raw_exec(f, sql);
    EXPECT_ERR(att_store_open_sqlite_existing(f->db, &s, &schema), ATT_ERR_STORE_SCHEMA);
    assert_null(s);
    assert_int_equal(schema, att_store_schema_latest() - 1);
    assert_int_equal(store_fx_raw_i64(f, "SELECT MAX(version) FROM schema_migrations"),
                     att_store_schema_latest() - 1);

    /* An SQLite file that is no attestd store: schema 0. */
    snprintf(path, sizeof(path), "%s/other.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(chmod(path, 0600), 0);
    EXPECT_ERR(att_store_open_sqlite_existing(path, &s, &schema), ATT_ERR_STORE_SCHEMA);
    assert_int_equal(schema, 0);
    assert_null(s);

    /* Not an SQLite file at all. */
    snprintf(path, sizeof(path), "%s/junk.db", f->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    char junk[4096];
    memset(junk, 'j', sizeof(junk));
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    EXPECT_ERR(att_store_open_sqlite_existing(path, &s, NULL), ATT_ERR_STORE);
    assert_null(s);

    /* A directory or a link is not a store file. */
    EXPECT_ERR(att_store_open_sqlite_existing(f->dir, &s, NULL), ATT_ERR_PERM);
    snprintf(path, sizeof(path), "%s/link.db", f->dir);
    assert_int_equal(symlink(f->db, path), 0);
    EXPECT_ERR(att_store_open_sqlite_existing(path, &s, NULL), ATT_ERR_PERM);
    EXPECT_ERR(att_store_open_sqlite_existing(NULL, &s, NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_open_sqlite_existing(":memory:", &s, NULL), ATT_ERR_ARG);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define P(fn) cmocka_unit_test_setup_teardown(fn, setup_pg, teardown)
    const struct CMUnitTest tests[] = {
        T(test_tables_are_the_schema),
        T(test_count_each_table),
        T(test_count_in_transaction),
        T(test_policy_version_insert_and_scan),
        T(test_scan_stops),
        T(test_policy_request_insert_and_list),
        T(test_checkpoint_read),
        T(test_open_existing),
    };
    const struct CMUnitTest tests_pg[] = {
        P(test_tables_are_the_schema),
        P(test_count_each_table),
        P(test_count_in_transaction),
        P(test_policy_version_insert_and_scan),
        P(test_scan_stops),
        P(test_policy_request_insert_and_list),
        P(test_checkpoint_read),
    };
#undef T
#undef P
    return STORE_FX_RUN_BOTH("store_copy", tests, tests_pg);
}
