/*
 * test_audit.c - the audit trail's writer, chain, checkpoints, retention and verification
 * (src/audit/audit.h) on a real SQLite file. The black-box side (REST, attestctl, fail
 * closed) is tests/integration/test_audit.py.
 */
#include "att_test.h"

#include <openssl/evp.h>
#include <sys/time.h>

#include "audit/audit.h"
#include "signer/signer.h"
#include "store/audit_db.h"
#include "token/jws.h"

struct fx {
    char dir[64];
    char path[128];
    struct att_signer *signer;
    EVP_PKEY *pub;
    int checkpoints_saved;
    int64_t saved_seq;
};

static att_err sign(void *arg, const char *payload, size_t len, struct att_buf *jws)
{
    struct fx *f = arg;
    json_t *header = json_pack("{s:s}", "typ", ATT_AUDIT_CHECKPOINT_TYP);
    att_err rc = att_jws_sign(f->signer, "k1", header, payload, len, jws);
    json_decref(header);
    return rc;
}

static void saved(void *arg, int64_t seq, const char *hash, const char *jws)
{
    struct fx *f = arg;
    (void)hash;
    (void)jws;
    f->checkpoints_saved++;
    f->saved_seq = seq;
}

static EVP_PKEY *key_of(void *arg, const char *kid)
{
    struct fx *f = arg;
    return strcmp(kid, "k1") == 0 ? f->pub : NULL;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    EVP_PKEY *key = NULL;
    assert_non_null(f);
    att_test_mkdtemp("audit", f->dir, sizeof(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/audit.db", f->dir);
    EXPECT_OK(att_signer_new(&f->signer));
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &key));
    assert_true(EVP_PKEY_up_ref(key) == 1);
    f->pub = key;
    EXPECT_OK(att_signer_add(f->signer, "k1", ATT_JWS_ES256, key));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    att_signer_free(f->signer);
    EVP_PKEY_free(f->pub);
    att_test_rmdir(f->dir);
    free(f);
    return 0;
}

static struct att_audit *open_trail(struct fx *f, int64_t retention_days, int64_t interval)
{
    struct att_audit *a = NULL;
    struct att_audit_config c = {.path = f->path,
                                 .busy_ms = 200,
                                 .retention_days = retention_days,
                                 .checkpoint_interval_s = interval,
                                 .sign = sign,
                                 .sign_arg = f,
                                 .checkpointed = saved,
                                 .checkpointed_arg = f};
    EXPECT_OK(att_audit_open(&c, &a));
    return a;
}

static void write_n(struct att_audit *a, int n)
{
    for (int i = 0; i < n; i++) {
        char action[32];
        snprintf(action, sizeof(action), "test.%d", i);
        struct att_audit_event ev = {
            ATT_AUDIT_CHANGE,          action, "success", "p", "name", "1.2.3.4", "default", "rid",
            json_pack("{s:i}", "i", i)};
        EXPECT_OK(att_audit_write(a, &ev));
    }
}

static struct att_audit_verdict verify(struct fx *f, int64_t head_seq, const char *head_hash)
{
    struct att_audit_db *db = NULL;
    struct att_audit_verdict v;
    EXPECT_OK(att_audit_db_open(f->path, 200, true, &db));
    EXPECT_OK(att_audit_verify(db, key_of, f, head_seq, head_hash, &v));
    att_audit_db_close(db);
    return v;
}

static void test_chain_and_final_checkpoint(void **state)
{
    struct fx *f = *state;
    struct att_audit *a = open_trail(f, 0, 3600);
    write_n(a, 5);
    att_audit_close(a); /* the last checkpoint */
    assert_int_equal(f->checkpoints_saved, 1);
    assert_int_equal(f->saved_seq, 5);
    struct att_audit_verdict v = verify(f, 0, NULL);
    assert_true(v.ok);
    assert_int_equal(v.records, 6);
    assert_int_equal(v.checkpoints, 1);
    assert_int_equal(v.last_checkpoint_seq, 5);
    /* Reopened: the chain goes on from where it ended. */
    a = open_trail(f, 0, 3600);
    write_n(a, 2);
    att_audit_close(a);
    v = verify(f, 0, NULL);
    assert_true(v.ok);
    assert_int_equal(v.last_seq, 9);
    assert_int_equal(v.checkpoints, 2);
}

/* A checkpoint signed by an unknown key is refused. */
static void test_unknown_checkpoint_key(void **state)
{
    struct fx *f = *state;
    struct att_audit *a = open_trail(f, 0, 3600);
    write_n(a, 1);
    att_audit_close(a);
    EVP_PKEY *pub = f->pub;
    f->pub = NULL;
    struct att_audit_verdict v = verify(f, 0, NULL);
    f->pub = pub;
    assert_false(v.ok);
    assert_int_equal(v.bad_seq, 2);
}

/* The checkpoint kept elsewhere (the state database) must still be in the trail. */
static void test_head_checkpoint(void **state)
{
    struct fx *f = *state;
    struct att_audit *a = open_trail(f, 0, 0);
    write_n(a, 3);
    att_audit_close(a);
    struct att_audit_verdict v =
        verify(f, 2, "0000000000000000000000000000000000000000000000000000000000000000");
    assert_false(v.ok);
    assert_int_equal(v.bad_seq, 2);
    v = verify(f, 7, "0000000000000000000000000000000000000000000000000000000000000000");
    assert_false(v.ok);
    assert_non_null(strstr(v.problem, "removed from its end"));
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Rows older than the retention window go, and the cut is recorded so the rest verifies. */
static void test_retention(void **state)
{
    struct fx *f = *state;
    struct att_audit_db *db = NULL;
    char hash[ATT_AUDIT_HASH_HEX + 1];
    int64_t seq = 0;
    int64_t first = 0;
    struct att_audit *a = open_trail(f, 0, 0); /* creates the file */
    att_audit_close(a);
    EXPECT_OK(att_audit_db_open(f->path, 200, true, &db));
    EXPECT_OK(att_audit_db_begin(db));
    EXPECT_OK(att_audit_db_head(db, &seq, hash, &first));
    for (int i = 0; i < 3; i++) { /* three rows from 40 days ago */
        struct att_audit_row row;
        struct att_audit_event ev = {ATT_AUDIT_CHANGE, "old", "success", "", "", "", "", "", NULL};
        att_audit_row_init(&row);
        EXPECT_OK(att_audit_record_make(&ev, now_ms() - 40LL * 86400000, &row));
        row.seq = ++seq;
        att_audit_chain_hash(hash, row.seq, &row.body, row.hash);
        memcpy(hash, row.hash, sizeof(hash));
        EXPECT_OK(att_audit_db_insert(db, &row));
        att_audit_row_cleanup(&row);
    }
    EXPECT_OK(att_audit_db_commit(db));
    att_audit_db_close(db);
    a = open_trail(f, 30, 0);
    write_n(a, 2); /* the first commit also prunes */
    att_audit_close(a);
    struct att_audit_verdict v = verify(f, 0, NULL);
    assert_true(v.ok);
    assert_int_equal(v.pruned_through, 3);
    assert_int_equal(v.first_seq, 4);
}

static void test_export_line(void **state)
{
    struct att_audit_row row;
    struct att_audit_event ev = {ATT_AUDIT_ATTEST,
                                 "attest.SgxEnclave",
                                 "success",
                                 "id\"1",
                                 "n",
                                 "::1",
                                 "p",
                                 "r",
                                 json_pack("{s:s}", "k", "v")};
    (void)state;
    att_audit_row_init(&row);
    EXPECT_OK(att_audit_record_make(&ev, 1796520000123, &row));
    json_decref(ev.detail);
    row.seq = 7;
    snprintf(row.hash, sizeof(row.hash), "%064d", 0);
    EXPECT_OK(att_audit_record_check(&row));
    char *line = att_audit_record_export(&row);
    assert_non_null(line);
    json_t *doc = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "seq")), 7);
    assert_string_equal(json_string_value(json_object_get(doc, "time")),
                        "2026-12-06T01:20:00.123Z");
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "identity"), "id")),
                        "id\"1");
    json_decref(doc);
    free(line);
    /* Invalid UTF-8 in a value becomes '?' in column and body alike: the body parses, the
     * record checks. */
    struct att_audit_event bad = {
        ATT_AUDIT_AUTHN, "authentication.token", "denied", "a\xff\xc3", "", "", "", "", NULL};
    struct att_audit_row row2;
    att_audit_row_init(&row2);
    EXPECT_OK(att_audit_record_make(&bad, 1, &row2));
    doc = json_loadb((const char *)row2.body.data, row2.body.len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "identity"), "id")),
                        "a??");
    json_decref(doc);
    EXPECT_OK(att_audit_record_check(&row2));
    att_audit_row_cleanup(&row2);
    /* A column that disagrees with the body is caught. */
    snprintf(row.provider, sizeof(row.provider), "other");
    EXPECT_ERR(att_audit_record_check(&row), ATT_ERR_AUDIT_CHAIN);
    att_audit_row_cleanup(&row);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain_and_final_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_checkpoint_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_line, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
