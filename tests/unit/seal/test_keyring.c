/*
 * Unit tests for src/seal/keyring.c through a real SQLite store in a temp
 * directory: sealing creates one stored, wrapped DEK; another keyring with
 * the same KEK opens values, one with another KEK is refused; KEK rotation
 * rewraps every DEK in one transaction or changes nothing. The keys are
 * held in memory that core dumps leave out.
 */
#include "att_test.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dump_testutil.h"
#include "seal/keyring.h"
#include "store/store.h"

#define KEK_A "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define KEK_B "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"

struct fx {
    char dir[64];
    char db[128];
    struct att_store *store;
    struct att_kek a;
    struct att_kek b;
};

static void kek_from(const char *hex, struct att_kek *k)
{
    assert_int_equal(setenv("ATT_TEST_KEYRING_KEK", hex, 1), 0);
    EXPECT_OK(att_kek_load_env("ATT_TEST_KEYRING_KEK", k));
    assert_int_equal(unsetenv("ATT_TEST_KEYRING_KEK"), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    att_test_mkdtemp("keyring", f->dir, sizeof(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/attestd.db", f->dir);
    EXPECT_OK(att_store_open_sqlite(f->db, &f->store));
    kek_from(KEK_A, &f->a);
    kek_from(KEK_B, &f->b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    att_store_close(f->store);
    att_test_rmdir(f->dir);
    att_kek_wipe(&f->a);
    att_kek_wipe(&f->b);
    free(f);
    return 0;
}

static void seal_str(struct att_keyring *kr, const char *id, const char *value,
                     struct att_buf *blob)
{
    att_buf_init(blob, 4096);
    EXPECT_OK(att_keyring_seal(kr, "signing_keys", id, value, strlen(value), blob));
}

static att_err open_str(struct att_keyring *kr, const char *id, const struct att_buf *blob,
                        const char *want)
{
    struct att_buf pt;
    att_buf_init_secret(&pt, 4096);
    att_err rc = att_keyring_open(kr, "signing_keys", id, blob->data, blob->len, &pt);
    if (rc == ATT_OK) {
        assert_int_equal(pt.len, strlen(want));
        assert_memory_equal(pt.data, want, pt.len);
    }
    att_buf_cleanup(&pt);
    return rc;
}

struct dek_count {
    size_t n;
    size_t with_kek;
    const char *kek_id;
};

static att_err count_dek(const struct att_dek_rec *d, void *arg)
{
    struct dek_count *c = arg;
    c->n++;
    if (strcmp(d->kek_id, c->kek_id) == 0) {
        c->with_kek++;
    }
    return ATT_OK;
}

static struct dek_count count_deks(struct att_store *s, const char *kek_id)
{
    struct dek_count c = {0, 0, kek_id};
    EXPECT_OK(att_store_dek_list(s, count_dek, &c));
    return c;
}

static void test_seal_open_creates_one_dek(void **state)
{
    struct fx *f = *state;
    struct att_keyring *kr = NULL;
    struct att_buf b1, b2;
    char id[ATT_DEK_ID_LEN + 1];
    struct att_dek_rec d;

    EXPECT_OK(att_keyring_new(f->store, &f->a, &kr));
    assert_int_equal(count_deks(f->store, f->a.id).n, 0);
    seal_str(kr, "kid-1", "first secret", &b1);
    seal_str(kr, "kid-2", "second secret", &b2);
    struct dek_count c = count_deks(f->store, f->a.id);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.with_kek, 1);
    /* The blob names the stored, active DEK. */
    EXPECT_OK(att_seal_dek_id(b1.data, b1.len, id));
    att_dek_rec_init(&d);
    EXPECT_OK(att_store_dek_get_active(f->store, &d));
    assert_string_equal(d.id, id);
    assert_true(d.active);
    assert_int_equal(strlen(d.id), 32);
    assert_int_equal(strspn(d.id, "0123456789abcdef"), 32);
    att_dek_rec_cleanup(&d);

    EXPECT_OK(open_str(kr, "kid-1", &b1, "first secret"));
    EXPECT_OK(open_str(kr, "kid-2", &b2, "second secret"));
    EXPECT_ERR(open_str(kr, "kid-2", &b1, ""), ATT_ERR_SEAL_AUTH);
    att_buf_cleanup(&b1);
    att_buf_cleanup(&b2);
    att_keyring_free(kr);
    att_keyring_free(NULL);
}

static void test_second_keyring_same_kek(void **state)
{
    struct fx *f = *state;
    struct att_keyring *k1 = NULL, *k2 = NULL;
    struct att_buf b;

    EXPECT_OK(att_keyring_new(f->store, &f->a, &k1));
    seal_str(k1, "kid-1", "shared", &b);
    att_keyring_free(k1);
    /* A new keyring (think: the next start of the server) on a reopened store. */
    att_store_close(f->store);
    EXPECT_OK(att_store_open_sqlite(f->db, &f->store));
    EXPECT_OK(att_keyring_new(f->store, &f->a, &k2));
    EXPECT_OK(open_str(k2, "kid-1", &b, "shared"));
    att_buf_cleanup(&b);
    /* It seals under the existing DEK rather than making another. */
    seal_str(k2, "kid-2", "more", &b);
    assert_int_equal(count_deks(f->store, f->a.id).n, 1);
    att_buf_cleanup(&b);
    att_keyring_free(k2);
}

static void test_other_kek_refused(void **state)
{
    struct fx *f = *state;
    struct att_keyring *ka = NULL, *kb = NULL;
    struct att_buf b, out;

    EXPECT_OK(att_keyring_new(f->store, &f->a, &ka));
    seal_str(ka, "kid-1", "value", &b);
    EXPECT_OK(att_keyring_new(f->store, &f->b, &kb));
    EXPECT_ERR(open_str(kb, "kid-1", &b, "value"), ATT_ERR_KEK_MISMATCH);
    att_buf_init(&out, 4096);
    EXPECT_ERR(att_keyring_seal(kb, "signing_keys", "kid-2", "x", 1, &out), ATT_ERR_KEK_MISMATCH);
    assert_int_equal(out.len, 0);
    att_buf_cleanup(&out);
    att_buf_cleanup(&b);
    att_keyring_free(ka);
    att_keyring_free(kb);
}

static void test_unknown_dek_and_garbage(void **state)
{
    struct fx *f = *state;
    struct att_keyring *kr = NULL;
    struct att_buf b;

    EXPECT_OK(att_keyring_new(f->store, &f->a, &kr));
    seal_str(kr, "kid-1", "value", &b);
    /* Point the blob at a DEK id the store does not have. */
    b.data[2] = b.data[2] == 'a' ? 'b' : 'a';
    EXPECT_ERR(open_str(kr, "kid-1", &b, "value"), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(open_str(kr, "kid-1", &(struct att_buf){0}, ""), ATT_ERR_TRUNCATED);
    att_buf_cleanup(&b);
    att_keyring_free(kr);
}

/* Add a second, inactive DEK wrapped by `kek`, so rotation has more than one to do. */
static void add_dek(struct att_store *s, const struct att_kek *kek, const char *id, int64_t at)
{
    struct att_dek_rec d;
    uint8_t key[ATT_DEK_LEN];
    memset(key, 0x42, sizeof(key));
    att_dek_rec_init(&d);
    snprintf(d.id, sizeof(d.id), "%s", id);
    snprintf(d.kek_id, sizeof(d.kek_id), "%s", kek->id);
    d.created_at = at;
    EXPECT_OK(att_dek_wrap(kek, id, key, &d.wrapped));
    EXPECT_OK(att_store_dek_insert(s, &d));
    att_dek_rec_cleanup(&d);
}

static void test_rotate_kek(void **state)
{
    struct fx *f = *state;
    struct att_keyring *kr = NULL;
    struct att_buf b;
    size_t count = 0;

    EXPECT_OK(att_keyring_new(f->store, &f->a, &kr));
    seal_str(kr, "kid-1", "rotated value", &b);
    att_keyring_free(kr);
    add_dek(f->store, &f->a, "00000000000000000000000000000001", 1);

    EXPECT_OK(att_keyring_rotate_kek(f->store, &f->a, &f->b, &count));
    assert_int_equal(count, 2);
    struct dek_count c = count_deks(f->store, f->b.id);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.with_kek, 2);

    EXPECT_OK(att_keyring_new(f->store, &f->b, &kr));
    EXPECT_OK(open_str(kr, "kid-1", &b, "rotated value"));
    att_keyring_free(kr);
    EXPECT_OK(att_keyring_new(f->store, &f->a, &kr));
    EXPECT_ERR(open_str(kr, "kid-1", &b, "rotated value"), ATT_ERR_KEK_MISMATCH);
    att_keyring_free(kr);
    att_buf_cleanup(&b);
}

static void test_rotate_with_wrong_old_kek_changes_nothing(void **state)
{
    struct fx *f = *state;
    struct att_keyring *kr = NULL;
    struct att_buf b;
    struct att_kek c;
    size_t count = 99;

    kek_from("c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf", &c);
    EXPECT_OK(att_keyring_new(f->store, &f->a, &kr));
    seal_str(kr, "kid-1", "kept", &b);
    att_keyring_free(kr);

    EXPECT_ERR(att_keyring_rotate_kek(f->store, &f->b, &c, &count), ATT_ERR_KEK_MISMATCH);
    assert_int_equal(count, 99);
    assert_int_equal(count_deks(f->store, f->a.id).with_kek, 1);

    /*
     * Mixed store: the first DEK is under A, the second under B. Rotating
     * A -> C rewraps the first, then meets the second and must roll back.
     */
    add_dek(f->store, &f->b, "00000000000000000000000000000002", INT64_MAX);
    EXPECT_ERR(att_keyring_rotate_kek(f->store, &f->a, &c, &count), ATT_ERR_KEK_MISMATCH);
    struct dek_count under_a = count_deks(f->store, f->a.id);
    assert_int_equal(under_a.n, 2);
    assert_int_equal(under_a.with_kek, 1);
    assert_int_equal(count_deks(f->store, c.id).with_kek, 0);

    EXPECT_OK(att_keyring_new(f->store, &f->a, &kr));
    EXPECT_OK(open_str(kr, "kid-1", &b, "kept"));
    att_keyring_free(kr);
    att_buf_cleanup(&b);
    att_kek_wipe(&c);
}

/* Several threads seal and open through one keyring (run under TSan too). */
struct worker {
    struct att_keyring *kr;
    int id;
    att_err rc;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    w->rc = ATT_OK;
    for (int i = 0; i < 25 && w->rc == ATT_OK; i++) {
        char rid[32], val[32];
        struct att_buf blob, pt;
        snprintf(rid, sizeof(rid), "r-%d-%d", w->id, i);
        snprintf(val, sizeof(val), "v-%d-%d", w->id, i);
        att_buf_init(&blob, 4096);
        att_buf_init_secret(&pt, 4096);
        w->rc = att_keyring_seal(w->kr, "t", rid, val, strlen(val), &blob);
        if (w->rc == ATT_OK) {
            w->rc = att_keyring_open(w->kr, "t", rid, blob.data, blob.len, &pt);
        }
        if (w->rc == ATT_OK && (pt.len != strlen(val) || memcmp(pt.data, val, pt.len) != 0)) {
            w->rc = ATT_ERR_INTERNAL;
        }
        att_buf_cleanup(&blob);
        att_buf_cleanup(&pt);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct fx *f = *state;
    struct att_keyring *kr = NULL;
    pthread_t th[4];
    struct worker w[4];

    EXPECT_OK(att_keyring_new(f->store, &f->a, &kr));
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){kr, i, ATT_OK};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        EXPECT_OK(w[i].rc);
    }
    assert_int_equal(count_deks(f->store, f->a.id).n, 1);
    att_keyring_free(kr);
}

/* The KEK and the cached data keys live in memory marked MADV_DONTDUMP. */
static void test_keys_left_out_of_core_dumps(void **state)
{
    struct fx *f = *state;
    struct att_keyring *kr = NULL;
    struct att_buf b;

    EXPECT_OK(att_keyring_new(f->store, &f->a, &kr));
    seal_str(kr, "kid-1", "secret", &b); /* caches the active DEK */
    assert_int_equal(tu_excluded_from_dumps(kr), 1);
    att_buf_cleanup(&b);
    att_keyring_free(kr);
}

/* A remote keyring (the network process with a key process) seals and opens policy texts only,
 * through its operations, and keeps no key. */
struct remote_calls {
    int seal, open;
};

static att_err remote_seal(void *arg, const char *id, const void *pt, size_t len,
                           struct att_buf *out)
{
    ((struct remote_calls *)arg)->seal++;
    (void)id;
    return att_buf_put(out, pt, len);
}

static att_err remote_open(void *arg, const char *id, const void *blob, size_t len,
                           struct att_buf *out)
{
    ((struct remote_calls *)arg)->open++;
    (void)id;
    return att_buf_put(out, blob, len);
}

static att_err remote_sign(void *arg, const char *kid, const void *msg, size_t len,
                           struct att_buf *sig)
{
    (void)arg, (void)kid, (void)msg, (void)len, (void)sig;
    return ATT_ERR_INTERNAL;
}

static void test_remote_keyring(void **state)
{
    (void)state;
    struct remote_calls calls = {0, 0};
    const struct att_keyring_remote ops = {remote_seal, remote_open, remote_sign, NULL, &calls};
    struct att_keyring *kr = NULL;
    struct att_buf out;
    att_buf_init(&out, 1024);
    EXPECT_OK(att_keyring_new_remote(&ops, &kr));
    assert_ptr_equal(att_keyring_remote_ops(kr)->arg, &calls);
    EXPECT_OK(att_keyring_seal(kr, "policy_versions", "id1", "text", 4, &out));
    EXPECT_OK(att_keyring_open(kr, "policy_versions", "id1", out.data, out.len, &out));
    assert_int_equal(calls.seal, 1);
    assert_int_equal(calls.open, 1);
    /* A key's table is never sealed or opened through it. */
    EXPECT_ERR(att_keyring_seal(kr, "signing_keys", "kid", "k", 1, &out), ATT_ERR_STATE);
    EXPECT_ERR(att_keyring_open(kr, "auth_keys", "kid", out.data, out.len, &out), ATT_ERR_STATE);
    assert_int_equal(calls.seal + calls.open, 2);
    assert_null(att_keyring_signing_token(kr));
    att_buf_cleanup(&out);
    att_keyring_free(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seal_open_creates_one_dek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_keyring_same_kek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_kek_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_dek_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_kek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_with_wrong_old_kek_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_left_out_of_core_dumps, setup, teardown),
        cmocka_unit_test(test_remote_keyring),
    };
    return cmocka_run_group_tests_name("keyring", tests, NULL, NULL);
}
