/*
 * test_ids.c - random identifiers: the UUID text is RFC 9562 version 4, hex is lowercase and
 * sized, identifiers do not repeat across pool refills and threads, sizes are capped.
 */
#include <pthread.h>
#include <stdbool.h>

#include "att_test.h"
#include "crypto/ids.h"

static bool is_uuid4(const char *s)
{
    if (strlen(s) != 36) {
        return false;
    }
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : strchr("0123456789abcdef", s[i]) == NULL || s[i] == 0) {
            return false;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Enough ids to empty and refill the pool many times; none repeats. */
static void test_uuid4_unique(void **state)
{
    (void)state;
    enum { N = 4000 };
    static char ids[N][37];
    for (size_t i = 0; i < N; i++) {
        EXPECT_OK(att_id_uuid4(ids[i]));
        if (!is_uuid4(ids[i])) {
            fail_msg("not a version-4 UUID: %s", ids[i]);
        }
    }
    qsort(ids, N, sizeof(ids[0]), cmp_str);
    for (size_t i = 1; i < N; i++) {
        assert_string_not_equal(ids[i - 1], ids[i]);
    }
}

static void test_hex_and_caps(void **state)
{
    (void)state;
    char hex[2 * ATT_IDS_MAX + 1];
    uint8_t b[ATT_IDS_MAX + 1];
    EXPECT_OK(att_id_hex(32, hex, sizeof(hex)));
    assert_int_equal(strlen(hex), 64);
    assert_int_equal(strspn(hex, "0123456789abcdef"), 64);
    EXPECT_ERR(att_id_hex(32, hex, 64), ATT_ERR_ARG); /* no room for the NUL */
    EXPECT_ERR(att_id_hex(ATT_IDS_MAX + 1, hex, sizeof(hex)), ATT_ERR_ARG);
    EXPECT_ERR(att_id_random(b, ATT_IDS_MAX + 1), ATT_ERR_ARG);
    EXPECT_OK(att_id_random(b, ATT_IDS_MAX));
}

/* Each thread has its own pool: two threads never hand out the same identifier. */
static void *take_ids(void *arg)
{
    char(*out)[37] = arg;
    for (size_t i = 0; i < 500; i++) {
        if (att_id_uuid4(out[i]) != ATT_OK) {
            out[i][0] = 0;
        }
    }
    return NULL;
}

static void test_threads_distinct(void **state)
{
    (void)state;
    static char ids[1000][37];
    pthread_t t[2];
    assert_int_equal(pthread_create(&t[0], NULL, take_ids, ids[0]), 0);
    assert_int_equal(pthread_create(&t[1], NULL, take_ids, ids[500]), 0);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    qsort(ids, 1000, sizeof(ids[0]), cmp_str);
    for (size_t i = 1; i < 1000; i++) {
        assert_true(ids[i][0] != 0);
        assert_string_not_equal(ids[i - 1], ids[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid4_unique),
        cmocka_unit_test(test_hex_and_caps),
        cmocka_unit_test(test_threads_distinct),
    };
    return cmocka_run_group_tests_name("crypto_ids", tests, NULL, NULL);
}
