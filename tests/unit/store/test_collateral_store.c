/*
 * Unit tests for the collateral part of the store (src/store/sqlite/collateral.c, migration 5
 * in migrations.c, the collateral wrappers in store.c) against real database files in a temp
 * directory: insert, get and list; which item wins per (kind, key) (newer replaces, older and
 * equal-but-different are refused, the same item again changes nothing); argument checks; the
 * upgrade of a version 4 database; and rows a tampered database may hold.
 */
#include "att_test.h"
#include "store_fixture.h"

#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static int setup(void **state)
{
    return store_fx_setup(state, "coll", true);
}

static int setup_pg(void **state)
{
    return store_fx_setup_pg(state, "coll", true);
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

/* Like raw_exec, but the SQL must fail; returns SQLite's result code. */
static int raw_exec_fails(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_not_equal(rc, SQLITE_OK);
    return rc;
}

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

/* r->sha256 from r->body, as callers must set it. */
static void set_sha(struct att_collateral_rec *r)
{
    uint8_t md[32];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(r->body.data, r->body.len, md, &n, EVP_sha256(), NULL), 1);
    for (size_t i = 0; i < 32; i++) {
        snprintf(r->sha256 + 2 * i, 3, "%02x", md[i]);
    }
}

/*
 * A record of `kind`/`key` whose body is `body` (text); documents get a 64-byte signature,
 * every item but the root CRL an issuer chain.
 */
static void make_rec(struct att_collateral_rec *r, const char *kind, const char *key,
                     const char *body, int64_t issued, int64_t eval_num)
{
    att_collateral_rec_init(r);
    snprintf(r->kind, sizeof(r->kind), "%s", kind);
    snprintf(r->key, sizeof(r->key), "%s", key);
    EXPECT_OK(att_buf_puts(&r->body, body));
    if (strcmp(kind, "tcb_info") == 0 || strcmp(kind, "qe_identity") == 0) {
        uint8_t sig[64];
        memset(sig, 0xa5, sizeof(sig));
        EXPECT_OK(att_buf_put(&r->signature, sig, sizeof(sig)));
    }
    if (strcmp(kind, "root_crl") != 0 && strncmp(kind, "amd_", 4) != 0) {
        EXPECT_OK(att_buf_puts(&r->issuer_chain, "-----BEGIN CERTIFICATE-----\nMIIB\n"
                                                 "-----END CERTIFICATE-----\n"));
    }
    r->issued = issued;
    r->next_update = issued + 30 * 86400;
    r->eval_num = eval_num;
    snprintf(r->source, sizeof(r->source), "pcs");
    r->stored_at = 1750000000;
    set_sha(r);
}

static void assert_same_rec(const struct att_collateral_rec *a, const struct att_collateral_rec *b)
{
    assert_string_equal(a->kind, b->kind);
    assert_string_equal(a->key, b->key);
    assert_string_equal(a->sha256, b->sha256);
    assert_int_equal(a->body.len, b->body.len);
    assert_memory_equal(a->body.data, b->body.data, a->body.len);
    assert_int_equal(a->signature.len, b->signature.len);
    if (a->signature.len > 0) {
        assert_memory_equal(a->signature.data, b->signature.data, a->signature.len);
    }
    assert_int_equal(a->issuer_chain.len, b->issuer_chain.len);
    if (a->issuer_chain.len > 0) {
        assert_memory_equal(a->issuer_chain.data, b->issuer_chain.data, a->issuer_chain.len);
    }
    assert_int_equal(a->issued, b->issued);
    assert_int_equal(a->next_update, b->next_update);
    assert_int_equal(a->eval_num, b->eval_num);
    assert_string_equal(a->source, b->source);
    assert_int_equal(a->stored_at, b->stored_at);
}

/* The stored body of (kind, key), as a string in `out`. */
static void stored_body(struct att_store *s, const char *kind, const char *key, char *out, size_t n)
{
    struct att_collateral_rec got;
    att_collateral_rec_init(&got);
    EXPECT_OK(att_store_collateral_get(s, kind, key, &got));
    snprintf(out, n, "%s", att_buf_cstr(&got.body));
    att_collateral_rec_cleanup(&got);
}

struct seen {
    char v[8][64];
    size_t n;
    size_t stop_at; /* > 0: fail on that call */
};

static att_err collect(const struct att_collateral_rec *r, void *arg)
{
    struct seen *c = arg;
    if (c->stop_at != 0 && c->n + 1 == c->stop_at) {
        return ATT_ERR_STATE;
    }
    assert_true(c->n < 8);
    snprintf(c->v[c->n++], sizeof(c->v[0]), "%s/%s", r->kind, r->key);
    return ATT_OK;
}

/* ---- schema ------------------------------------------------------------------------- */

static void test_fresh_db_has_collateral(void **state)
{
    struct store_fx *f = *state;
    int v = -1;
    EXPECT_OK(att_store_schema_version(f->s, &v));
    assert_int_equal(v, 15);
    assert_int_equal(att_store_schema_latest(), 15);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table'"
                                    " AND name = 'collateral'"),
                     1);
    /* The schema itself refuses kinds and sources the store does not know. */
    raw_exec(f->db, "INSERT INTO collateral VALUES('', 'root_crl', '', '', X'01', X'', X'',"
                    " 1, 2, 0, 'pcs', 3); DELETE FROM collateral");
    raw_exec_fails(f->db, "INSERT INTO collateral VALUES('', 'pck_cert', '', '', X'01', X'', X'',"
                          " 1, 2, 0, 'pcs', 3)");
    raw_exec_fails(f->db, "INSERT INTO collateral VALUES('', 'root_crl', '', '', X'01', X'', X'',"
                          " 1, 2, 0, 'web', 3)");
}

/* A version 4 database (migrations 1-4 as released) with data gains the table, keeps its data. */
static void test_upgrade_from_version_4(void **state)
{
    struct store_fx *f = *state;
    struct att_provider_rec p;
    struct att_collateral_rec r;
    int v = -1;

    memset(&p, 0, sizeof(p));
    snprintf(p.name, sizeof(p.name), "p1");
    snprintf(p.issuer, sizeof(p.issuer), "https://p1.example");
    snprintf(p.signing_alg, sizeof(p.signing_alg), "ES256");
    snprintf(p.trust_model, sizeof(p.trust_model), "%s", ATT_TRUST_ISOLATED);
    p.created_at = 1700000000;
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    att_store_close(f->s);
    f->s = NULL;
    /* Take migrations 5 to 13 back out: what is left is exactly a version 4 database. */
    raw_exec(f->db,
             "DROP INDEX principals_cert_sha256;"
             " ALTER TABLE providers DROP COLUMN demo;"
             " ALTER TABLE providers DROP COLUMN dcap_trust_anchors;"
             " ALTER TABLE signing_keys DROP COLUMN used_until;"
             " ALTER TABLE signing_keys DROP COLUMN activate_at;"
             " ALTER TABLE signing_keys DROP COLUMN token_lifetime;"
             " DROP TABLE audit_checkpoint; ALTER TABLE providers DROP COLUMN audit_fail_open;"
             " DROP TABLE collateral; ALTER TABLE providers DROP COLUMN collateral_grace;"
             " DROP TABLE policy_requests;"
             " ALTER TABLE providers DROP COLUMN require_bound_requests;"
             " ALTER TABLE providers DROP COLUMN policy_history_keep;"
             " DROP TABLE store_changes; DROP TABLE cluster_secrets; DROP TABLE used_challenges;"
             " DELETE FROM schema_migrations WHERE version >= 5;");
    assert_int_equal(raw_int(f->db, "SELECT MAX(version) FROM schema_migrations"), 4);

    EXPECT_OK(att_store_open_sqlite(f->db, &f->s));
    EXPECT_OK(att_store_schema_version(f->s, &v));
    assert_int_equal(v, 15);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM schema_migrations"), 15);
    memset(&p, 0, sizeof(p));
    EXPECT_OK(att_store_provider_get(f->s, "p1", &p));
    assert_string_equal(p.trust_model, ATT_TRUST_ISOLATED);

    make_rec(&r, "root_crl", "", "root crl der", 1000, 0);
    EXPECT_OK(att_store_collateral_put(f->s, &r, NULL));
    att_collateral_rec_cleanup(&r);

    /* Reopening applies nothing twice. */
    att_store_close(f->s);
    f->s = NULL;
    EXPECT_OK(att_store_open_sqlite(f->db, &f->s));
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM schema_migrations"), 15);
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM collateral"), 1);
}

/* ---- put, get, list ------------------------------------------------------------------- */

static void test_put_get_list(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec r[5], got;
    struct seen c = {0};
    bool replaced = false;

    make_rec(&r[0], "tcb_info", "sgx:00606A000000", "{\"id\":\"SGX\"}", 1000, 17);
    make_rec(&r[1], "qe_identity", "sgx", "{\"id\":\"QE\"}", 1001, 17);
    make_rec(&r[2], "pck_crl", "processor", "\x30\x03\x02\x01\x01", 1002, 0);
    make_rec(&r[3], "root_crl", "", "\x30\x03\x02\x01\x02", 1003, 0);
    make_rec(&r[4], "tcb_info", "tdx:00806F050000", "{\"id\":\"TDX\"}", 1004, 18);
    snprintf(r[3].source, sizeof(r[3].source), "import");

    EXPECT_OK(att_store_collateral_list(f->s, collect, &c));
    assert_int_equal(c.n, 0);
    for (size_t i = 0; i < 5; i++) {
        replaced = false;
        EXPECT_OK(att_store_collateral_put(f->s, &r[i], &replaced));
        assert_true(replaced);
    }
    for (size_t i = 0; i < 5; i++) {
        att_collateral_rec_init(&got);
        EXPECT_OK(att_store_collateral_get(f->s, r[i].kind, r[i].key, &got));
        assert_same_rec(&got, &r[i]);
        att_collateral_rec_cleanup(&got);
    }

    /* Ordered by kind, then key. */
    EXPECT_OK(att_store_collateral_list(f->s, collect, &c));
    assert_int_equal(c.n, 5);
    assert_string_equal(c.v[0], "pck_crl/processor");
    assert_string_equal(c.v[1], "qe_identity/sgx");
    assert_string_equal(c.v[2], "root_crl/");
    assert_string_equal(c.v[3], "tcb_info/sgx:00606A000000");
    assert_string_equal(c.v[4], "tcb_info/tdx:00806F050000");

    /* A callback's error stops the walk and is returned. */
    memset(&c, 0, sizeof(c));
    c.stop_at = 2;
    EXPECT_ERR(att_store_collateral_list(f->s, collect, &c), ATT_ERR_STATE);
    assert_int_equal(c.n, 1);

    for (size_t i = 0; i < 5; i++) {
        att_collateral_rec_cleanup(&r[i]);
    }
}

/* get: absent keys, and `out` is left alone unless the call succeeds. */
static void test_get_not_found(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec r, got;

    make_rec(&r, "tcb_info", "sgx:00606A000000", "doc", 1000, 17);
    EXPECT_OK(att_store_collateral_put(f->s, &r, NULL));

    att_collateral_rec_init(&got);
    EXPECT_OK(att_buf_puts(&got.body, "previous"));
    snprintf(got.kind, sizeof(got.kind), "untouched");
    EXPECT_ERR(att_store_collateral_get(f->s, "tcb_info", "sgx:00606A000001", &got),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_collateral_get(f->s, "tcb_info", "tdx:00606A000000", &got),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_collateral_get(f->s, "qe_identity", "sgx", &got), ATT_ERR_NOT_FOUND);
    assert_string_equal(got.kind, "untouched");
    assert_string_equal(att_buf_cstr(&got.body), "previous");

    /* A reused record is replaced whole, not appended to. */
    EXPECT_OK(att_store_collateral_get(f->s, "tcb_info", "sgx:00606A000000", &got));
    assert_same_rec(&got, &r);
    EXPECT_OK(att_store_collateral_get(f->s, "tcb_info", "sgx:00606A000000", &got));
    assert_same_rec(&got, &r);
    att_collateral_rec_cleanup(&got);
    att_collateral_rec_cleanup(&r);
}

static void test_newer_replaces(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec old, newer, got;
    bool replaced = false;
    char body[64];

    make_rec(&old, "tcb_info", "sgx:00606A000000", "v17", 1000, 17);
    make_rec(&newer, "tcb_info", "sgx:00606A000000", "v18", 2000, 18);
    snprintf(newer.source, sizeof(newer.source), "import");
    newer.stored_at = 1760000000;
    EXPECT_OK(att_store_collateral_put(f->s, &old, &replaced));
    assert_true(replaced);
    replaced = false;
    EXPECT_OK(att_store_collateral_put(f->s, &newer, &replaced));
    assert_true(replaced);
    att_collateral_rec_init(&got);
    EXPECT_OK(att_store_collateral_get(f->s, "tcb_info", "sgx:00606A000000", &got));
    assert_same_rec(&got, &newer);
    att_collateral_rec_cleanup(&got);
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM collateral"), 1);

    /* A later issue date wins even with a lower evaluation number (issued decides first). */
    att_collateral_rec_cleanup(&old);
    make_rec(&old, "tcb_info", "sgx:00606A000000", "v16 reissued", 3000, 16);
    EXPECT_OK(att_store_collateral_put(f->s, &old, &replaced));
    assert_true(replaced);
    stored_body(f->s, "tcb_info", "sgx:00606A000000", body, sizeof(body));
    assert_string_equal(body, "v16 reissued");

    att_collateral_rec_cleanup(&old);
    att_collateral_rec_cleanup(&newer);
}

static void test_older_refused(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec cur, old;
    bool replaced = true;
    char body[64];

    make_rec(&cur, "pck_crl", "platform", "crl at 2000", 2000, 0);
    make_rec(&old, "pck_crl", "platform", "crl at 1000", 1000, 0);
    EXPECT_OK(att_store_collateral_put(f->s, &cur, NULL));
    EXPECT_ERR(att_store_collateral_put(f->s, &old, &replaced), ATT_ERR_EXISTS);
    assert_true(replaced); /* untouched on error */
    stored_body(f->s, "pck_crl", "platform", body, sizeof(body));
    assert_string_equal(body, "crl at 2000");

    /* An older item with a higher evaluation number is still older. */
    att_collateral_rec_cleanup(&old);
    make_rec(&old, "tcb_info", "tdx:00806F050000", "old but eval 99", 1000, 99);
    att_collateral_rec_cleanup(&cur);
    make_rec(&cur, "tcb_info", "tdx:00806F050000", "current", 2000, 18);
    EXPECT_OK(att_store_collateral_put(f->s, &cur, NULL));
    EXPECT_ERR(att_store_collateral_put(f->s, &old, NULL), ATT_ERR_EXISTS);
    stored_body(f->s, "tcb_info", "tdx:00806F050000", body, sizeof(body));
    assert_string_equal(body, "current");

    /* The other CA's CRL is a different key. */
    att_collateral_rec_cleanup(&old);
    make_rec(&old, "pck_crl", "processor", "crl at 1000", 1000, 0);
    EXPECT_OK(att_store_collateral_put(f->s, &old, &replaced));
    assert_true(replaced);

    att_collateral_rec_cleanup(&cur);
    att_collateral_rec_cleanup(&old);
}

static void test_equal_issued(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec cur, again, other;
    bool replaced = true;
    char body[64];

    make_rec(&cur, "qe_identity", "tdx", "qe eval 17", 1000, 17);
    EXPECT_OK(att_store_collateral_put(f->s, &cur, NULL));

    /* The same item again (same sha256): nothing changes, not even its source or time. */
    make_rec(&again, "qe_identity", "tdx", "qe eval 17", 1000, 17);
    snprintf(again.source, sizeof(again.source), "import");
    again.stored_at = 1790000000;
    EXPECT_OK(att_store_collateral_put(f->s, &again, &replaced));
    assert_false(replaced);
    EXPECT_OK(att_store_collateral_put(f->s, &again, NULL));
    assert_int_equal(
        store_fx_raw_i64(f, "SELECT stored_at FROM collateral WHERE kind = 'qe_identity'"),
        cur.stored_at);

    /* Same issue date, other content: refused unless its evaluation number is higher. */
    make_rec(&other, "qe_identity", "tdx", "qe eval 17 bis", 1000, 17);
    EXPECT_ERR(att_store_collateral_put(f->s, &other, &replaced), ATT_ERR_EXISTS);
    att_collateral_rec_cleanup(&other);
    make_rec(&other, "qe_identity", "tdx", "qe eval 16", 1000, 16);
    EXPECT_ERR(att_store_collateral_put(f->s, &other, NULL), ATT_ERR_EXISTS);
    stored_body(f->s, "qe_identity", "tdx", body, sizeof(body));
    assert_string_equal(body, "qe eval 17");
    att_collateral_rec_cleanup(&other);
    make_rec(&other, "qe_identity", "tdx", "qe eval 18", 1000, 18);
    replaced = false;
    EXPECT_OK(att_store_collateral_put(f->s, &other, &replaced));
    assert_true(replaced);
    stored_body(f->s, "qe_identity", "tdx", body, sizeof(body));
    assert_string_equal(body, "qe eval 18");

    /* Equal CRLs (eval_num 0) with other content: the first one stays. */
    att_collateral_rec_cleanup(&other);
    make_rec(&other, "root_crl", "", "crl a", 1000, 0);
    EXPECT_OK(att_store_collateral_put(f->s, &other, NULL));
    att_collateral_rec_cleanup(&other);
    make_rec(&other, "root_crl", "", "crl b", 1000, 0);
    EXPECT_ERR(att_store_collateral_put(f->s, &other, NULL), ATT_ERR_EXISTS);

    att_collateral_rec_cleanup(&cur);
    att_collateral_rec_cleanup(&again);
    att_collateral_rec_cleanup(&other);
}

/* ---- argument checks ------------------------------------------------------------------- */

static void expect_bad(struct att_store *s, struct att_collateral_rec *r)
{
    bool replaced = true;
    EXPECT_ERR(att_store_collateral_put(s, r, &replaced), ATT_ERR_ARG);
    assert_true(replaced);
    att_collateral_rec_cleanup(r);
}

static void test_bad_arguments(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec r;
    struct seen c = {0};

    EXPECT_ERR(att_store_collateral_put(f->s, NULL, NULL), ATT_ERR_ARG);
    make_rec(&r, "tcb_info", "sgx:00606A000000", "doc", 1, 1);
    EXPECT_ERR(att_store_collateral_put(NULL, &r, NULL), ATT_ERR_ARG);
    att_collateral_rec_cleanup(&r);
    EXPECT_ERR(att_store_collateral_get(f->s, NULL, "", &r), ATT_ERR_ARG);
    EXPECT_ERR(att_store_collateral_get(f->s, "root_crl", NULL, &r), ATT_ERR_ARG);
    EXPECT_ERR(att_store_collateral_get(f->s, "root_crl", "", NULL), ATT_ERR_ARG);
    EXPECT_ERR(att_store_collateral_list(f->s, NULL, &c), ATT_ERR_ARG);
    EXPECT_ERR(att_store_collateral_list(NULL, collect, &c), ATT_ERR_ARG);

    /* The store checks shapes only (kinds, keys and signatures are src/collateral's:
     * tests/unit/collateral/test_items.c): an empty kind or source is refused here, a kind or
     * source the schema does not know by the schema. */
    make_rec(&r, "root_crl", "", "body", 1, 0);
    r.kind[0] = '\0';
    expect_bad(f->s, &r);
    make_rec(&r, "pck_cert", "processor", "body", 1, 0);
    EXPECT_ERR(att_store_collateral_put(f->s, &r, NULL), ATT_ERR_STORE_CONSTRAINT);
    att_collateral_rec_cleanup(&r);
    make_rec(&r, "root_crl", "", "body", 1, 0);
    memset(r.key, 'k', sizeof(r.key)); /* not NUL-terminated */
    expect_bad(f->s, &r);

    /* sha256: not that of the body, upper case, short. */
    make_rec(&r, "root_crl", "", "body", 1, 0);
    r.sha256[0] = r.sha256[0] == '0' ? '1' : '0';
    expect_bad(f->s, &r);
    make_rec(&r, "root_crl", "", "body", 1, 0);
    for (size_t i = 0; i < 64; i++) {
        if (r.sha256[i] >= 'a' && r.sha256[i] <= 'f') {
            r.sha256[i] = (char)(r.sha256[i] - 'a' + 'A');
        }
    }
    expect_bad(f->s, &r);
    make_rec(&r, "root_crl", "", "body", 1, 0);
    r.sha256[63] = '\0';
    expect_bad(f->s, &r);
    make_rec(&r, "root_crl", "", "body", 1, 0);
    memset(r.sha256, 'a', sizeof(r.sha256)); /* not NUL-terminated */
    expect_bad(f->s, &r);

    /* An empty body. */
    make_rec(&r, "root_crl", "", "", 1, 0);
    expect_bad(f->s, &r);

    /* Sources: none, or one the schema does not know. */
    make_rec(&r, "pck_crl", "platform", "crl", 1, 0);
    snprintf(r.source, sizeof(r.source), "web");
    EXPECT_ERR(att_store_collateral_put(f->s, &r, NULL), ATT_ERR_STORE_CONSTRAINT);
    att_collateral_rec_cleanup(&r);
    make_rec(&r, "pck_crl", "platform", "crl", 1, 0);
    r.source[0] = '\0';
    expect_bad(f->s, &r);

    /* Blobs over their caps (a caller's own larger buffer), or in error. */
    uint8_t *big = calloc(1, ATT_STORE_COLLATERAL_CHAIN_MAX + 1);
    assert_non_null(big);
    make_rec(&r, "pck_crl", "platform", "crl", 1, 0);
    att_buf_cleanup(&r.issuer_chain);
    att_buf_init(&r.issuer_chain, 2 * ATT_STORE_COLLATERAL_CHAIN_MAX);
    EXPECT_OK(att_buf_put(&r.issuer_chain, big, ATT_STORE_COLLATERAL_CHAIN_MAX + 1));
    expect_bad(f->s, &r);
    free(big);
    uint8_t sig[ATT_STORE_COLLATERAL_SIG_LEN + 1] = {0};
    make_rec(&r, "pck_crl", "platform", "crl", 1, 0);
    EXPECT_ERR(att_buf_put(&r.signature, sig, sizeof(sig)), ATT_ERR_TOO_LARGE); /* sticky */
    expect_bad(f->s, &r);

    /* Nothing was stored. */
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM collateral"), 0);
}

/* The largest body and chain fit. */
/* AMD SEV-SNP items (migration 8): chains and CRLs per product and chain, VCEKs per chip and
 * TCB; unsigned, with no issuer chain; source "kds". */
static void test_amd_kinds(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec r;
    struct att_collateral_rec got;
    char milan[160];
    snprintf(milan, sizeof(milan), "Milan:%0128d:7308000000000003", 0);
    const char *const items[][2] = {
        {"amd_chain", "vcek:Milan"}, {"amd_chain", "vlek:Turin"},
        {"amd_crl", "vcek:Genoa"},   {"amd_vcek", "Turin:1e550a8ee5cf9f4d:0900000000000000"},
        {"amd_vcek", milan},
    };
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        make_rec(&r, items[i][0], items[i][1], "der", 1000, 0);
        snprintf(r.source, sizeof(r.source), "kds");
        EXPECT_OK(att_store_collateral_put(f->s, &r, NULL));
        att_collateral_rec_init(&got);
        EXPECT_OK(att_store_collateral_get(f->s, items[i][0], items[i][1], &got));
        assert_same_rec(&r, &got);
        att_collateral_rec_cleanup(&got);
        att_collateral_rec_cleanup(&r);
    }
}

static void test_caps(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec r, got;

    uint8_t *big = malloc(ATT_STORE_COLLATERAL_BODY_MAX + 1);
    assert_non_null(big);
    for (size_t i = 0; i <= ATT_STORE_COLLATERAL_BODY_MAX; i++) {
        big[i] = (uint8_t)(i * 7);
    }
    make_rec(&r, "pck_crl", "processor", "x", 1, 0);
    att_buf_reset(&r.body);
    EXPECT_OK(att_buf_put(&r.body, big, ATT_STORE_COLLATERAL_BODY_MAX));
    att_buf_reset(&r.issuer_chain);
    EXPECT_OK(att_buf_put(&r.issuer_chain, big, ATT_STORE_COLLATERAL_CHAIN_MAX));
    free(big);
    set_sha(&r);
    EXPECT_OK(att_store_collateral_put(f->s, &r, NULL));
    att_collateral_rec_init(&got);
    EXPECT_OK(att_store_collateral_get(f->s, "pck_crl", "processor", &got));
    assert_same_rec(&got, &r);
    att_collateral_rec_cleanup(&got);
    att_collateral_rec_cleanup(&r);
}

/* ---- tampered rows ----------------------------------------------------------------------- */

static void test_tampered_rows(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec r, got;
    struct seen c = {0};
    struct tamper {
        const char *sql;
        bool same_key; /* the row is still found by its key */
    };
    static const struct tamper tamper_sqlite[] = {
        {"UPDATE collateral SET signature = zeroblob(65)", true}, /* over the record's cap */
        {"UPDATE collateral SET sha256 = sha256 || 'ff'", true},  /* over its field */
        {"UPDATE collateral SET body = 'text'", true},            /* text where a blob belongs */
        {"UPDATE collateral SET issued = X'01'", true},
        {"UPDATE collateral SET next_update = 1.5", true},
        {"UPDATE collateral SET key = 'sgx:00606A000000' || printf('%.200c', 'x')", false},
    };
    /* PostgreSQL's columns are typed: only sizes can be wrong. */
    static const struct tamper tamper_pg[] = {
        {"UPDATE collateral SET signature = decode(repeat('00', 65), 'hex')", true},
        {"UPDATE collateral SET sha256 = sha256 || 'ff'", true},
        {"UPDATE collateral SET key = 'sgx:00606A000000' || repeat('x', 200)", false},
    };
    const struct tamper *tamper = store_fx_is_pg(f) ? tamper_pg : tamper_sqlite;
    size_t n_tamper = store_fx_is_pg(f) ? sizeof(tamper_pg) / sizeof(tamper_pg[0])
                                        : sizeof(tamper_sqlite) / sizeof(tamper_sqlite[0]);

    make_rec(&r, "tcb_info", "sgx:00606A000000", "doc", 1, 1);
    for (size_t i = 0; i < n_tamper; i++) {
        store_fx_raw_exec(f, "DELETE FROM collateral");
        EXPECT_OK(att_store_collateral_put(f->s, &r, NULL));
        store_fx_raw_exec(f, tamper[i].sql);
        if (tamper[i].same_key) {
            att_collateral_rec_init(&got);
            EXPECT_ERR(att_store_collateral_get(f->s, "tcb_info", "sgx:00606A000000", &got),
                       ATT_ERR_STORE);
            att_collateral_rec_cleanup(&got);
        }
        memset(&c, 0, sizeof(c));
        EXPECT_ERR(att_store_collateral_list(f->s, collect, &c), ATT_ERR_STORE);
        assert_int_equal(c.n, 0);
    }
    att_collateral_rec_cleanup(&r);
}

/* ---- scopes (migration 12; docs/internals/demo.md) ------------------------------------------ */

#define SCOPE_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SCOPE_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The body of (scope, kind, key), as a string in `out`. */
static void scoped_body(struct att_store *s, const char *scope, const char *kind, const char *key,
                        char *out, size_t n)
{
    struct att_collateral_rec got;
    att_collateral_rec_init(&got);
    EXPECT_OK(att_store_collateral_get_scoped(s, scope, kind, key, &got));
    assert_string_equal(got.scope, scope);
    snprintf(out, n, "%s", att_buf_cstr(&got.body));
    att_collateral_rec_cleanup(&got);
}

/* A provider's scope never replaces the daemon's item of the same kind and key, whatever its
 * dates, and each scope reads only its own. */
static void test_scopes_do_not_shadow(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec real, demo, demo_b;
    char body[64];
    bool replaced = false;
    struct seen c = {0};

    make_rec(&real, "tcb_info", "sgx:00906ED50000", "real", 1000, 17);
    make_rec(&demo, "tcb_info", "sgx:00906ED50000", "demo", 5000, 99); /* newer, higher */
    snprintf(demo.scope, sizeof(demo.scope), "%s", SCOPE_A);
    make_rec(&demo_b, "qe_identity", "sgx", "demo b", 5000, 17);
    snprintf(demo_b.scope, sizeof(demo_b.scope), "%s", SCOPE_B);
    EXPECT_OK(att_store_collateral_put(f->s, &real, &replaced));
    assert_true(replaced);
    EXPECT_OK(att_store_collateral_put(f->s, &demo, &replaced));
    assert_true(replaced); /* a row of its own */
    EXPECT_OK(att_store_collateral_put(f->s, &demo_b, NULL));
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM collateral"), 3);

    stored_body(f->s, "tcb_info", "sgx:00906ED50000", body, sizeof(body));
    assert_string_equal(body, "real");
    scoped_body(f->s, "", "tcb_info", "sgx:00906ED50000", body, sizeof(body));
    assert_string_equal(body, "real");
    scoped_body(f->s, SCOPE_A, "tcb_info", "sgx:00906ED50000", body, sizeof(body));
    assert_string_equal(body, "demo");
    struct att_collateral_rec got;
    att_collateral_rec_init(&got);
    EXPECT_ERR(att_store_collateral_get_scoped(f->s, SCOPE_B, "tcb_info", "sgx:00906ED50000", &got),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_collateral_get(f->s, "qe_identity", "sgx", &got), ATT_ERR_NOT_FOUND);
    att_collateral_rec_cleanup(&got);

    /* Listed by scope ("" first), then kind and key. */
    EXPECT_OK(att_store_collateral_list(f->s, collect, &c));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0], "tcb_info/sgx:00906ED50000");
    assert_string_equal(c.v[1], "qe_identity/sgx");
    assert_string_equal(c.v[2], "tcb_info/sgx:00906ED50000");

    /* A scope goes as a whole; the daemon's cannot be deleted so. */
    int deleted = -1;
    EXPECT_OK(att_store_collateral_delete_scope(f->s, SCOPE_A, &deleted));
    assert_int_equal(deleted, 1);
    EXPECT_OK(att_store_collateral_delete_scope(f->s, SCOPE_A, &deleted));
    assert_int_equal(deleted, 0);
    EXPECT_ERR(att_store_collateral_delete_scope(f->s, "", &deleted), ATT_ERR_ARG);
    EXPECT_ERR(att_store_collateral_delete_scope(f->s, NULL, &deleted), ATT_ERR_ARG);
    stored_body(f->s, "tcb_info", "sgx:00906ED50000", body, sizeof(body));
    assert_string_equal(body, "real");
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM collateral"), 2);

    att_collateral_rec_cleanup(&real);
    att_collateral_rec_cleanup(&demo);
    att_collateral_rec_cleanup(&demo_b);
}

/* A scope is "" or 64 lower-case hex digits (that AMD items have none is src/collateral's
 * rule: test_items.c). */
static void test_scope_shapes(void **state)
{
    struct store_fx *f = *state;
    static const char *const bad[] = {
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* upper case */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  /* 63 digits */
        "gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* not hex */
        "demo",
    };
    struct att_collateral_rec r, got;
    att_collateral_rec_init(&got);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        make_rec(&r, "root_crl", "", "crl", 1000, 0);
        snprintf(r.scope, sizeof(r.scope), "%s", bad[i]);
        EXPECT_ERR(att_store_collateral_put(f->s, &r, NULL), ATT_ERR_ARG);
        EXPECT_ERR(att_store_collateral_get_scoped(f->s, bad[i], "root_crl", "", &got),
                   ATT_ERR_ARG);
        EXPECT_ERR(att_store_collateral_delete_scope(f->s, bad[i], NULL), ATT_ERR_ARG);
        att_collateral_rec_cleanup(&r);
    }
    EXPECT_ERR(att_store_collateral_get_scoped(f->s, NULL, "root_crl", "", &got), ATT_ERR_ARG);
    make_rec(&r, "amd_crl", "vcek:Milan", "crl", 1000, 0);
    snprintf(r.source, sizeof(r.source), "kds");
    EXPECT_OK(att_store_collateral_put(f->s, &r, NULL));
    att_collateral_rec_cleanup(&r);
    att_collateral_rec_cleanup(&got);
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM collateral"), 1);
}

/* A version 11 database keeps its items, in the daemon's scope, and providers get no anchors. */
static void test_upgrade_from_version_11(void **state)
{
    struct store_fx *f = *state;
    struct att_collateral_rec r;
    struct att_provider_rec p;
    char body[64];

    memset(&p, 0, sizeof(p));
    snprintf(p.name, sizeof(p.name), "p1");
    snprintf(p.issuer, sizeof(p.issuer), "https://p1.example");
    snprintf(p.signing_alg, sizeof(p.signing_alg), "ES256");
    snprintf(p.trust_model, sizeof(p.trust_model), "%s", ATT_TRUST_AAD);
    EXPECT_OK(att_store_provider_insert(f->s, &p));
    make_rec(&r, "tcb_info", "sgx:00906ED50000", "kept", 1000, 17);
    EXPECT_OK(att_store_collateral_put(f->s, &r, NULL));
    att_collateral_rec_cleanup(&r);
    att_store_close(f->s);
    f->s = NULL;
    /* Migrations 13 and 12 taken back out: the version 11 table, its rows, no provider columns. */
    raw_exec(f->db,
             "CREATE TABLE c11 (kind TEXT NOT NULL CHECK(kind IN ('root_crl','pck_crl',"
             "  'tcb_info','qe_identity','amd_chain','amd_crl','amd_vcek')),"
             "  key TEXT NOT NULL, sha256 TEXT NOT NULL, body BLOB NOT NULL,"
             "  signature BLOB NOT NULL, issuer_chain BLOB NOT NULL, issued INTEGER NOT NULL,"
             "  next_update INTEGER NOT NULL, eval_num INTEGER NOT NULL DEFAULT 0,"
             "  source TEXT NOT NULL CHECK(source IN ('pcs','import','kds')),"
             "  stored_at INTEGER NOT NULL, PRIMARY KEY(kind, key));"
             "INSERT INTO c11 SELECT kind, key, sha256, body, signature, issuer_chain, issued,"
             "  next_update, eval_num, source, stored_at FROM collateral;"
             "DROP TABLE collateral; ALTER TABLE c11 RENAME TO collateral;"
             "ALTER TABLE providers DROP COLUMN demo;"
             "ALTER TABLE providers DROP COLUMN dcap_trust_anchors;"
             /* and migration 13: no change feed, the one checkpoint row of migration 9 */
             "DROP TABLE store_changes; DROP TABLE audit_checkpoint;"
             "DROP TABLE cluster_secrets; DROP TABLE used_challenges;"
             "DROP INDEX principals_cert_sha256;"
             "CREATE TABLE audit_checkpoint (id INTEGER PRIMARY KEY CHECK(id = 1),"
             "  seq INTEGER NOT NULL, hash TEXT NOT NULL, jws TEXT NOT NULL,"
             "  created_at INTEGER NOT NULL);"
             "INSERT INTO audit_checkpoint VALUES(1, 42, '" SCOPE_A "', 'jws', 7);"
             "DELETE FROM schema_migrations WHERE version >= 12;");
    EXPECT_OK(att_store_open_sqlite(f->db, &f->s));
    assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM schema_migrations"), 15);
    scoped_body(f->s, "", "tcb_info", "sgx:00906ED50000", body, sizeof(body));
    assert_string_equal(body, "kept");
    /* The checkpoint of the one node there was is node ""'s (migration 13). */
    int64_t cp_seq = 0;
    char cp_hash[65];
    EXPECT_OK(att_store_audit_checkpoint_get(f->s, "", &cp_seq, cp_hash));
    assert_int_equal(cp_seq, 42);
    assert_string_equal(cp_hash, SCOPE_A);
    EXPECT_ERR(att_store_audit_checkpoint_get(f->s, "node-2", &cp_seq, cp_hash), ATT_ERR_NOT_FOUND);
    memset(&p, 0xff, sizeof(p));
    EXPECT_OK(att_store_provider_get(f->s, "p1", &p));
    assert_string_equal(p.dcap_trust_anchors, "");
    assert_false(p.demo);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define P(fn) cmocka_unit_test_setup_teardown(fn, setup_pg, teardown)
#define BOTH(X)                                                                                    \
    X(test_put_get_list), X(test_get_not_found), X(test_newer_replaces), X(test_older_refused),    \
        X(test_equal_issued), X(test_bad_arguments), X(test_caps), X(test_amd_kinds),              \
        X(test_tampered_rows), X(test_scopes_do_not_shadow), X(test_scope_shapes)
    const struct CMUnitTest tests[] = {
        T(test_fresh_db_has_collateral),
        T(test_upgrade_from_version_4),
        BOTH(T),
        T(test_upgrade_from_version_11),
    };
    const struct CMUnitTest tests_pg[] = {BOTH(P)};
#undef T
#undef P
#undef BOTH
    return STORE_FX_RUN_BOTH("store_collateral", tests, tests_pg);
}
