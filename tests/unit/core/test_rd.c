/* Unit tests for src/core/rd.c: every read past the end is refused and moves nothing. */
#include "att_test.h"

#include <string.h>

#include "core/rd.h"

static const uint8_t sample[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

static void test_integers_byte_order(void **state)
{
    (void)state;
    struct att_rd r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    att_rd_init(&r, sample, sizeof(sample));
    EXPECT_OK(att_rd_u8(&r, &u8));
    assert_int_equal(u8, 0x01);
    EXPECT_OK(att_rd_u16le(&r, &u16));
    assert_int_equal(u16, 0x0302);
    EXPECT_OK(att_rd_u16be(&r, &u16));
    assert_int_equal(u16, 0x0405);
    EXPECT_OK(att_rd_u32le(&r, &u32));
    assert_int_equal(u32, 0x09080706);
    EXPECT_OK(att_rd_end(&r));
    att_rd_init(&r, sample, sizeof(sample));
    EXPECT_OK(att_rd_u64be(&r, &u64));
    assert_true(u64 == 0x0102030405060708ULL);
    att_rd_init(&r, sample, sizeof(sample));
    EXPECT_OK(att_rd_u64le(&r, &u64));
    assert_true(u64 == 0x0807060504030201ULL);
    EXPECT_OK(att_rd_u32be(&r, &u32) == ATT_ERR_TRUNCATED ? ATT_OK : ATT_ERR_INTERNAL);
}

/* For every starting offset and every read width, a read that does not fit fails and leaves the
 * offset. */
static void test_every_read_past_end_refused(void **state)
{
    (void)state;
    for (size_t len = 0; len <= sizeof(sample); len++) {
        for (size_t start = 0; start <= len; start++) {
            struct att_rd r;
            size_t left = len - start;
            uint8_t u8;
            uint16_t u16;
            uint32_t u32;
            uint64_t u64;
            uint8_t dst[16];
            struct att_bytes b;
            struct att_rd child;
            att_rd_init(&r, sample, len);
            EXPECT_OK(att_rd_skip(&r, start));
#define CHECK_READ(width, call)                                                                    \
    do {                                                                                           \
        att_err rc_ = (call);                                                                      \
        if (left >= (width)) {                                                                     \
            assert_int_equal(rc_, ATT_OK);                                                         \
            att_rd_init(&r, sample, len);                                                          \
            EXPECT_OK(att_rd_skip(&r, start));                                                     \
        } else {                                                                                   \
            assert_int_equal(rc_, ATT_ERR_TRUNCATED);                                              \
            assert_int_equal(att_rd_offset(&r), start);                                            \
        }                                                                                          \
    } while (0)
            CHECK_READ(1, att_rd_u8(&r, &u8));
            CHECK_READ(2, att_rd_u16le(&r, &u16));
            CHECK_READ(2, att_rd_u16be(&r, &u16));
            CHECK_READ(4, att_rd_u32le(&r, &u32));
            CHECK_READ(4, att_rd_u32be(&r, &u32));
            CHECK_READ(8, att_rd_u64le(&r, &u64));
            CHECK_READ(8, att_rd_u64be(&r, &u64));
            for (size_t n = 0; n <= sizeof(sample) + 1; n++) {
                CHECK_READ(n, att_rd_bytes(&r, n, &b));
                CHECK_READ(n, att_rd_copy(&r, dst, n));
                CHECK_READ(n, att_rd_skip(&r, n));
                CHECK_READ(n, att_rd_sub(&r, n, &child));
            }
            CHECK_READ(1, att_rd_peek_u8(&r, &u8));
#undef CHECK_READ
        }
    }
}

static void test_huge_lengths_do_not_wrap(void **state)
{
    (void)state;
    struct att_rd r;
    struct att_bytes b;
    att_rd_init(&r, sample, sizeof(sample));
    EXPECT_OK(att_rd_skip(&r, 3));
    EXPECT_ERR(att_rd_bytes(&r, SIZE_MAX, &b), ATT_ERR_TRUNCATED);
    EXPECT_ERR(att_rd_bytes(&r, SIZE_MAX - 2, &b), ATT_ERR_TRUNCATED);
    EXPECT_ERR(att_rd_skip(&r, (size_t)-1), ATT_ERR_TRUNCATED);
    assert_int_equal(att_rd_offset(&r), 3);
}

static void test_sub_reader_is_bounded(void **state)
{
    (void)state;
    struct att_rd r;
    struct att_rd child;
    uint32_t v;
    uint8_t u8;
    att_rd_init(&r, sample, sizeof(sample));
    EXPECT_OK(att_rd_sub(&r, 3, &child));
    EXPECT_ERR(att_rd_u32le(&child, &v), ATT_ERR_TRUNCATED);
    EXPECT_OK(att_rd_u8(&child, &u8));
    assert_int_equal(u8, 1);
    EXPECT_ERR(att_rd_end(&child), ATT_ERR_TRAILING);
    EXPECT_OK(att_rd_skip(&child, 2));
    EXPECT_OK(att_rd_end(&child));
    /* The parent moved past the child's bytes. */
    EXPECT_OK(att_rd_u8(&r, &u8));
    assert_int_equal(u8, 4);
}

static void test_until_and_rest(void **state)
{
    (void)state;
    const char *text = "key = value\nnext";
    struct att_rd r;
    struct att_bytes line;
    struct att_bytes rest;
    att_rd_init(&r, text, strlen(text));
    EXPECT_OK(att_rd_until(&r, '\n', &line));
    assert_true(att_bytes_eq_str(line, "key = value"));
    EXPECT_ERR(att_rd_until(&r, '\n', &line), ATT_ERR_TRUNCATED);
    att_rd_rest(&r, &rest);
    assert_true(att_bytes_eq_str(rest, "next"));
    EXPECT_OK(att_rd_end(&r));
    att_rd_rest(&r, &rest);
    assert_int_equal(rest.len, 0);
}

static void test_empty_and_null_input(void **state)
{
    (void)state;
    struct att_rd r;
    uint8_t u8;
    struct att_bytes b;
    att_rd_init(&r, NULL, 100);
    assert_int_equal(att_rd_left(&r), 0);
    EXPECT_ERR(att_rd_u8(&r, &u8), ATT_ERR_TRUNCATED);
    EXPECT_OK(att_rd_bytes(&r, 0, &b));
    EXPECT_ERR(att_rd_until(&r, '\n', &b), ATT_ERR_TRUNCATED);
}

/* att_rd_while: the longest run of kept bytes, never past the end, possibly empty. */
static void test_while(void **state)
{
    (void)state;
    bool digit[256] = {false};
    for (int c = '0'; c <= '9'; c++) {
        digit[c] = true;
    }
    struct att_rd r;
    struct att_bytes run;
    att_rd_init(&r, "123ab45", 7);
    att_rd_while(&r, digit, &run);
    assert_int_equal(run.len, 3);
    assert_memory_equal(run.ptr, "123", 3);
    att_rd_while(&r, digit, &run); /* at 'a': empty, nothing consumed */
    assert_int_equal(run.len, 0);
    assert_int_equal(att_rd_offset(&r), 3);
    assert_int_equal(att_rd_skip(&r, 2), ATT_OK);
    att_rd_while(&r, digit, &run); /* to the end, not past it */
    assert_int_equal(run.len, 2);
    assert_int_equal(att_rd_left(&r), 0);
    att_rd_while(&r, digit, &run);
    assert_int_equal(run.len, 0);
    att_rd_init(&r, NULL, 0);
    att_rd_while(&r, digit, &run);
    assert_int_equal(run.len, 0);
}

static void test_views(void **state)
{
    (void)state;
    const char *s = " \t 1234 \t";
    struct att_bytes b = {(const uint8_t *)s, strlen(s)};
    struct att_bytes t = att_bytes_trim(b);
    uint64_t v;
    struct att_bytes sl;
    assert_true(att_bytes_eq_str(t, "1234"));
    EXPECT_OK(att_bytes_to_u64(t, 5000, &v));
    assert_int_equal(v, 1234);
    EXPECT_ERR(att_bytes_to_u64(t, 1000, &v), ATT_ERR_TOO_LARGE);
    EXPECT_ERR(att_bytes_to_u64(b, 5000, &v), ATT_ERR_PARSE);
    struct att_bytes big = {(const uint8_t *)"99999999999999999999", 20};
    EXPECT_ERR(att_bytes_to_u64(big, UINT64_MAX, &v), ATT_ERR_TOO_LARGE);
    struct att_bytes huge = {(const uint8_t *)"123456789012345678901234567890", 30};
    EXPECT_ERR(att_bytes_to_u64(huge, UINT64_MAX, &v), ATT_ERR_TOO_LARGE);
    struct att_bytes longbad = {(const uint8_t *)"123456789012345678901234567890x", 31};
    EXPECT_ERR(att_bytes_to_u64(longbad, UINT64_MAX, &v), ATT_ERR_PARSE);
    struct att_bytes max = {(const uint8_t *)"18446744073709551615", 20};
    EXPECT_OK(att_bytes_to_u64(max, UINT64_MAX, &v));
    assert_true(v == UINT64_MAX);
    struct att_bytes max1 = {(const uint8_t *)"18446744073709551616", 20};
    EXPECT_ERR(att_bytes_to_u64(max1, UINT64_MAX, &v), ATT_ERR_TOO_LARGE);
    struct att_bytes empty = {(const uint8_t *)"", 0};
    EXPECT_ERR(att_bytes_to_u64(empty, 10, &v), ATT_ERR_PARSE);
    EXPECT_OK(att_bytes_slice(t, 1, 3, &sl));
    assert_true(att_bytes_eq_str(sl, "234"));
    EXPECT_ERR(att_bytes_slice(t, 2, 3, &sl), ATT_ERR_TRUNCATED);
    EXPECT_ERR(att_bytes_slice(t, SIZE_MAX, 1, &sl), ATT_ERR_TRUNCATED);
    struct att_bytes mixed = {(const uint8_t *)"Content-LENGTH", 14};
    assert_true(att_bytes_eq_str_nocase(mixed, "content-length"));
    assert_false(att_bytes_eq_str(mixed, "content-length"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers_byte_order),
        cmocka_unit_test(test_every_read_past_end_refused),
        cmocka_unit_test(test_huge_lengths_do_not_wrap),
        cmocka_unit_test(test_sub_reader_is_bounded),
        cmocka_unit_test(test_until_and_rest),
        cmocka_unit_test(test_empty_and_null_input),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_while),
    };
    return cmocka_run_group_tests_name("core_rd", tests, NULL, NULL);
}
