/* Unit tests for src/core/buf.c: caps, sticky errors, printf. */
#include "att_test.h"

#include <string.h>

#include "core/buf.h"

static void test_put_and_cap(void **state)
{
    (void)state;
    struct att_buf b;
    att_buf_init(&b, 10);
    EXPECT_OK(att_buf_puts(&b, "12345"));
    EXPECT_OK(att_buf_printf(&b, "%d", 6789));
    assert_string_equal(att_buf_cstr(&b), "123456789");
    EXPECT_OK(att_buf_putc(&b, '0'));
    EXPECT_ERR(att_buf_putc(&b, 'x'), ATT_ERR_TOO_LARGE);
    /* Sticky: later puts fail with the first error, contents unchanged. */
    EXPECT_ERR(att_buf_puts(&b, ""), ATT_ERR_TOO_LARGE);
    EXPECT_ERR(att_buf_err(&b), ATT_ERR_TOO_LARGE);
    assert_int_equal(b.len, 10);
    assert_string_equal(att_buf_cstr(&b), "1234567890");
    att_buf_reset(&b);
    EXPECT_OK(att_buf_err(&b));
    assert_string_equal(att_buf_cstr(&b), "");
    att_buf_cleanup(&b);
}

static void test_overflowing_reserve(void **state)
{
    (void)state;
    struct att_buf b;
    att_buf_init(&b, SIZE_MAX);
    EXPECT_OK(att_buf_puts(&b, "abc"));
    EXPECT_ERR(att_buf_reserve(&b, SIZE_MAX - 1), ATT_ERR_TOO_LARGE);
    att_buf_cleanup(&b);
}

static void test_growth_and_secret(void **state)
{
    (void)state;
    struct att_buf b;
    att_buf_init_secret(&b, 1 << 20);
    for (int i = 0; i < 10000; i++) {
        EXPECT_OK(att_buf_putc(&b, (uint8_t)('a' + i % 26)));
    }
    assert_int_equal(b.len, 10000);
    assert_int_equal(b.data[9999], 'a' + 9999 % 26);
    assert_int_equal(b.data[10000], 0);
    att_buf_cleanup(&b);
    assert_null(b.data);
    assert_string_equal(att_buf_cstr(&b), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_and_cap),
        cmocka_unit_test(test_overflowing_reserve),
        cmocka_unit_test(test_growth_and_secret),
    };
    return cmocka_run_group_tests_name("core_buf", tests, NULL, NULL);
}
