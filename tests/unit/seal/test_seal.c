/*
 * Unit tests for src/seal/seal.c: record sealing and data-key wrapping.
 * A sealed value must open only with its DEK, in its table and its record;
 * every truncation and every bit flip must fail, never open.
 */
#include "att_test.h"

#include <string.h>

#include "core/buf.h"
#include "seal/seal.h"

static const char dek_id[] = "0123456789abcdef0123456789abcdef";
static const char other_dek_id[] = "fedcba9876543210fedcba9876543210";
static const char secret[] = "-----BEGIN PRIVATE KEY----- not really";

/* Offsets in a sealed blob: version, dek_id_len, dek_id, nonce, ct, tag. */
#define HDR_LEN (2 + 32)
#define NONCE_LEN 12
#define TAG_LEN 16

static void fill_key(uint8_t key[32], uint8_t seed)
{
    for (size_t i = 0; i < 32; i++) {
        key[i] = (uint8_t)(seed + i * 7);
    }
}

static void seal_sample(const uint8_t dek[32], const char *table, const char *id,
                        struct att_buf *blob)
{
    att_buf_init(blob, 4096);
    EXPECT_OK(att_seal(dek, dek_id, table, id, secret, strlen(secret), blob));
}

static att_err open_into(const uint8_t dek[32], const char *table, const char *id,
                         const uint8_t *blob, size_t len, struct att_buf *pt)
{
    att_buf_init_secret(pt, 4096);
    return att_open(dek, table, id, blob, len, pt);
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t dek[32];
    struct att_buf blob, pt;
    char id[ATT_DEK_ID_LEN + 1];
    fill_key(dek, 1);
    seal_sample(dek, "signing_keys", "kid-1", &blob);
    assert_int_equal(blob.len, HDR_LEN + NONCE_LEN + strlen(secret) + TAG_LEN);
    assert_int_equal(blob.data[0], 1);
    assert_int_equal(blob.data[1], 32);
    /* The plaintext must not appear in the blob. */
    assert_null(memmem(blob.data, blob.len, "PRIVATE", 7));
    EXPECT_OK(att_seal_dek_id(blob.data, blob.len, id));
    assert_string_equal(id, dek_id);
    EXPECT_OK(open_into(dek, "signing_keys", "kid-1", blob.data, blob.len, &pt));
    assert_int_equal(pt.len, strlen(secret));
    assert_memory_equal(pt.data, secret, pt.len);
    att_buf_cleanup(&pt);
    att_buf_cleanup(&blob);
}

static void test_empty_value_round_trip(void **state)
{
    (void)state;
    uint8_t dek[32];
    struct att_buf blob, pt;
    fill_key(dek, 2);
    att_buf_init(&blob, 4096);
    EXPECT_OK(att_seal(dek, dek_id, "t", "r", NULL, 0, &blob));
    assert_int_equal(blob.len, HDR_LEN + NONCE_LEN + TAG_LEN);
    EXPECT_OK(open_into(dek, "t", "r", blob.data, blob.len, &pt));
    assert_int_equal(pt.len, 0);
    att_buf_cleanup(&pt);
    att_buf_cleanup(&blob);
}

/* Two seals of one value differ (fresh nonce), and both open. */
static void test_nonce_is_fresh(void **state)
{
    (void)state;
    uint8_t dek[32];
    struct att_buf a, b;
    fill_key(dek, 3);
    seal_sample(dek, "t", "r", &a);
    seal_sample(dek, "t", "r", &b);
    assert_int_equal(a.len, b.len);
    assert_memory_not_equal(a.data + HDR_LEN, b.data + HDR_LEN, NONCE_LEN);
    att_buf_cleanup(&a);
    att_buf_cleanup(&b);
}

static void test_wrong_table_or_record(void **state)
{
    (void)state;
    uint8_t dek[32];
    struct att_buf blob, pt;
    fill_key(dek, 4);
    seal_sample(dek, "signing_keys", "kid-1", &blob);
    EXPECT_ERR(open_into(dek, "principal_secrets", "kid-1", blob.data, blob.len, &pt),
               ATT_ERR_SEAL_AUTH);
    assert_int_equal(pt.len, 0);
    att_buf_cleanup(&pt);
    EXPECT_ERR(open_into(dek, "signing_keys", "kid-2", blob.data, blob.len, &pt),
               ATT_ERR_SEAL_AUTH);
    att_buf_cleanup(&pt);
    /* The separators keep ("signing_keys", "kid-1") apart from shifted splits. */
    EXPECT_ERR(open_into(dek, "signing_keyskid-1", "", blob.data, blob.len, &pt),
               ATT_ERR_SEAL_AUTH);
    att_buf_cleanup(&pt);
    att_buf_cleanup(&blob);
}

/* A blob copied from record A into record B does not open as B. */
static void test_swapped_records(void **state)
{
    (void)state;
    uint8_t dek[32];
    struct att_buf a, b, pt;
    fill_key(dek, 5);
    att_buf_init(&a, 4096);
    att_buf_init(&b, 4096);
    EXPECT_OK(att_seal(dek, dek_id, "signing_keys", "kid-a", "A-secret", 8, &a));
    EXPECT_OK(att_seal(dek, dek_id, "signing_keys", "kid-b", "B-secret", 8, &b));
    EXPECT_ERR(open_into(dek, "signing_keys", "kid-b", a.data, a.len, &pt), ATT_ERR_SEAL_AUTH);
    att_buf_cleanup(&pt);
    EXPECT_ERR(open_into(dek, "signing_keys", "kid-a", b.data, b.len, &pt), ATT_ERR_SEAL_AUTH);
    att_buf_cleanup(&pt);
    EXPECT_OK(open_into(dek, "signing_keys", "kid-b", b.data, b.len, &pt));
    assert_memory_equal(pt.data, "B-secret", 8);
    att_buf_cleanup(&pt);
    att_buf_cleanup(&a);
    att_buf_cleanup(&b);
}

static void test_wrong_dek(void **state)
{
    (void)state;
    uint8_t dek[32], other[32];
    struct att_buf blob, pt;
    fill_key(dek, 6);
    fill_key(other, 7);
    seal_sample(dek, "t", "r", &blob);
    EXPECT_ERR(open_into(other, "t", "r", blob.data, blob.len, &pt), ATT_ERR_SEAL_AUTH);
    att_buf_cleanup(&pt);
    att_buf_cleanup(&blob);
}

/* Every proper prefix fails: parse errors while the header is short, SEAL_AUTH after. */
static void test_truncated_at_every_length(void **state)
{
    (void)state;
    uint8_t dek[32];
    struct att_buf blob, pt;
    fill_key(dek, 8);
    seal_sample(dek, "t", "r", &blob);
    for (size_t n = 0; n < blob.len; n++) {
        att_err rc = open_into(dek, "t", "r", blob.data, n, &pt);
        if (n < HDR_LEN + NONCE_LEN + TAG_LEN) {
            assert_true(rc == ATT_ERR_TRUNCATED || rc == ATT_ERR_PARSE);
        } else {
            assert_int_equal(rc, ATT_ERR_SEAL_AUTH);
        }
        assert_int_equal(pt.len, 0);
        att_buf_cleanup(&pt);
        char id[ATT_DEK_ID_LEN + 1];
        if (n < HDR_LEN + NONCE_LEN + TAG_LEN) {
            assert_int_not_equal(att_seal_dek_id(blob.data, n, id), ATT_OK);
        }
    }
    /* One byte too many also fails (the tag is taken from the end). */
    EXPECT_OK(att_buf_putc(&blob, 0));
    EXPECT_ERR(open_into(dek, "t", "r", blob.data, blob.len, &pt), ATT_ERR_SEAL_AUTH);
    att_buf_cleanup(&pt);
    att_buf_cleanup(&blob);
}

/* Flipping any bit of any byte is caught; past the header it is always SEAL_AUTH. */
static void test_bit_flip_in_every_byte(void **state)
{
    (void)state;
    uint8_t dek[32];
    struct att_buf blob, pt;
    fill_key(dek, 9);
    seal_sample(dek, "t", "r", &blob);
    for (size_t i = 0; i < blob.len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            blob.data[i] ^= (uint8_t)(1u << bit);
            att_err rc = open_into(dek, "t", "r", blob.data, blob.len, &pt);
            assert_int_not_equal(rc, ATT_OK);
            if (i == 0) {
                assert_int_equal(rc, ATT_ERR_VALIDATE);
            } else if (i >= HDR_LEN) {
                assert_int_equal(rc, ATT_ERR_SEAL_AUTH);
            }
            assert_int_equal(pt.len, 0);
            att_buf_cleanup(&pt);
            blob.data[i] ^= (uint8_t)(1u << bit);
        }
    }
    EXPECT_OK(open_into(dek, "t", "r", blob.data, blob.len, &pt));
    att_buf_cleanup(&pt);
    att_buf_cleanup(&blob);
}

/* A DEK id changed to another valid id is caught by the AAD, not only by the key lookup. */
static void test_dek_id_edit_is_authenticated(void **state)
{
    (void)state;
    uint8_t dek[32];
    struct att_buf blob, pt;
    fill_key(dek, 10);
    seal_sample(dek, "t", "r", &blob);
    blob.data[2] = blob.data[2] == 'a' ? 'b' : 'a';
    EXPECT_ERR(open_into(dek, "t", "r", blob.data, blob.len, &pt), ATT_ERR_SEAL_AUTH);
    att_buf_cleanup(&pt);
    att_buf_cleanup(&blob);
}

static void test_unknown_version(void **state)
{
    (void)state;
    uint8_t dek[32];
    struct att_buf blob, pt;
    char id[ATT_DEK_ID_LEN + 1];
    fill_key(dek, 11);
    seal_sample(dek, "t", "r", &blob);
    const uint8_t versions[] = {0, 2, 0xff};
    for (size_t i = 0; i < sizeof(versions); i++) {
        blob.data[0] = versions[i];
        EXPECT_ERR(open_into(dek, "t", "r", blob.data, blob.len, &pt), ATT_ERR_VALIDATE);
        att_buf_cleanup(&pt);
        EXPECT_ERR(att_seal_dek_id(blob.data, blob.len, id), ATT_ERR_VALIDATE);
    }
    att_buf_cleanup(&blob);
}

static void test_bad_dek_id_field(void **state)
{
    (void)state;
    uint8_t dek[32];
    struct att_buf blob;
    char id[ATT_DEK_ID_LEN + 1];
    fill_key(dek, 12);
    seal_sample(dek, "t", "r", &blob);
    blob.data[1] = 31; /* wrong id length */
    EXPECT_ERR(att_seal_dek_id(blob.data, blob.len, id), ATT_ERR_PARSE);
    blob.data[1] = 32;
    blob.data[5] = 'G'; /* not lowercase hex */
    EXPECT_ERR(att_seal_dek_id(blob.data, blob.len, id), ATT_ERR_PARSE);
    EXPECT_ERR(att_seal_dek_id(NULL, 0, id), ATT_ERR_TRUNCATED);
    att_buf_cleanup(&blob);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    uint8_t dek[32];
    struct att_buf blob, pt;
    fill_key(dek, 13);
    att_buf_init(&blob, 4096);
    EXPECT_ERR(att_seal(dek, "short", "t", "r", "x", 1, &blob), ATT_ERR_ARG);
    EXPECT_ERR(att_seal(dek, "0123456789ABCDEF0123456789ABCDEF", "t", "r", "x", 1, &blob),
               ATT_ERR_ARG);
    EXPECT_ERR(att_seal(dek, dek_id, NULL, "r", "x", 1, &blob), ATT_ERR_ARG);
    assert_int_equal(blob.len, 0);
    EXPECT_OK(att_seal(dek, dek_id, "t", "r", "x", 1, &blob));
    /* Plaintext only goes to a secret buffer. */
    att_buf_init(&pt, 4096);
    EXPECT_ERR(att_open(dek, "t", "r", blob.data, blob.len, &pt), ATT_ERR_ARG);
    att_buf_cleanup(&pt);
    /* A sealed blob too big for the output cap fails cleanly. */
    struct att_buf small;
    att_buf_init(&small, 16);
    EXPECT_ERR(att_seal(dek, dek_id, "t", "r", secret, strlen(secret), &small), ATT_ERR_TOO_LARGE);
    att_buf_cleanup(&small);
    att_buf_cleanup(&blob);
}

/* ---- data-key wrapping ---------------------------------------------------- */

static void make_kek(struct att_kek *k, uint8_t seed, const char *id)
{
    memset(k, 0, sizeof(*k)); /* no token */
    fill_key(k->key, seed);
    assert_true(strlen(id) == ATT_KEK_ID_LEN);
    memcpy(k->id, id, ATT_KEK_ID_LEN + 1);
}

static void test_dek_wrap_round_trip(void **state)
{
    (void)state;
    struct att_kek kek;
    uint8_t dek[32], back[32];
    struct att_buf w;
    make_kek(&kek, 20, "00112233aabbccdd");
    fill_key(dek, 21);
    att_buf_init(&w, 4096);
    EXPECT_OK(att_dek_wrap(&kek, dek_id, dek, &w));
    assert_int_equal(w.len, 12 + 32 + 16);
    EXPECT_OK(att_dek_unwrap(&kek, dek_id, w.data, w.len, back));
    assert_memory_equal(back, dek, 32);
    att_buf_cleanup(&w);
}

static void test_dek_unwrap_failures(void **state)
{
    (void)state;
    struct att_kek kek, other;
    uint8_t dek[32], back[32];
    struct att_buf w;
    make_kek(&kek, 30, "00112233aabbccdd");
    make_kek(&other, 31, "ffeeddccbbaa9988");
    fill_key(dek, 32);
    att_buf_init(&w, 4096);
    EXPECT_OK(att_dek_wrap(&kek, dek_id, dek, &w));
    memset(back, 0x5a, sizeof(back));
    EXPECT_ERR(att_dek_unwrap(&other, dek_id, w.data, w.len, back), ATT_ERR_SEAL_AUTH);
    /* Nothing leaks into the output on failure. */
    for (size_t i = 0; i < sizeof(back); i++) {
        assert_int_equal(back[i], 0x5a);
    }
    /* The id is bound: a wrapped key moved to another id does not unwrap. */
    EXPECT_ERR(att_dek_unwrap(&kek, other_dek_id, w.data, w.len, back), ATT_ERR_SEAL_AUTH);
    for (size_t n = 0; n < w.len; n++) {
        EXPECT_ERR(att_dek_unwrap(&kek, dek_id, w.data, n, back), ATT_ERR_TRUNCATED);
    }
    for (size_t i = 0; i < w.len; i++) {
        w.data[i] ^= 0x10;
        EXPECT_ERR(att_dek_unwrap(&kek, dek_id, w.data, w.len, back), ATT_ERR_SEAL_AUTH);
        w.data[i] ^= 0x10;
    }
    EXPECT_OK(att_buf_putc(&w, 0));
    EXPECT_ERR(att_dek_unwrap(&kek, dek_id, w.data, w.len, back), ATT_ERR_TRAILING);
    EXPECT_ERR(att_dek_wrap(&kek, "not-hex", dek, &w), ATT_ERR_ARG);
    att_buf_cleanup(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_value_round_trip),
        cmocka_unit_test(test_nonce_is_fresh),
        cmocka_unit_test(test_wrong_table_or_record),
        cmocka_unit_test(test_swapped_records),
        cmocka_unit_test(test_wrong_dek),
        cmocka_unit_test(test_truncated_at_every_length),
        cmocka_unit_test(test_bit_flip_in_every_byte),
        cmocka_unit_test(test_dek_id_edit_is_authenticated),
        cmocka_unit_test(test_unknown_version),
        cmocka_unit_test(test_bad_dek_id_field),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_dek_wrap_round_trip),
        cmocka_unit_test(test_dek_unwrap_failures),
    };
    return cmocka_run_group_tests_name("seal", tests, NULL, NULL);
}
