/* test_remote.c - the admin socket's request (src/admin/remote.c): a well-formed request
 * round-trips; every truncation, every flipped bit and every length past a cap is refused or
 * parsed within the message, never read past it. */
#include "att_test.h"

#include <string.h>

#include "admin/remote.h"
#include "att/admin.h"

/* "provider create t --signer s.pem" with s.pem carried (private). */
static void good_request(struct att_buf *b)
{
    const char *args[] = {"provider", "create", "t", "--signer", "s.pem"};
    att_buf_init(b, 1 << 20);
    EXPECT_OK(att_buf_put(b, "ATTQ", 4));
    EXPECT_OK(att_remote_put_u32(b, ATT_REMOTE_VERSION));
    EXPECT_OK(att_remote_put_u32(b, 1));
    EXPECT_OK(att_remote_put_u32(b, 5));
    for (size_t i = 0; i < 5; i++) {
        EXPECT_OK(att_remote_put_blob(b, args[i], strlen(args[i])));
    }
    EXPECT_OK(att_remote_put_u32(b, 1));
    EXPECT_OK(att_remote_put_u32(b, 4));
    EXPECT_OK(att_remote_put_u32(b, ATT_REMOTE_FILE_PRIVATE));
    EXPECT_OK(att_remote_put_blob(b, "-----BEGIN", 10));
}

static void test_round_trip(void **state)
{
    (void)state;
    struct att_buf b;
    struct att_remote_request r;
    char marks[5];
    good_request(&b);
    EXPECT_OK(att_remote_request_parse(&b, &r));
    assert_true(r.table);
    assert_int_equal(r.argc, 5);
    assert_string_equal(r.argv[4], "s.pem");
    assert_null(r.argv[5]);
    assert_int_equal(r.n_files, 1);
    assert_int_equal(r.files[0].arg, 4);
    assert_int_equal(r.files[0].flags, ATT_REMOTE_FILE_PRIVATE);
    assert_int_equal(r.files[0].data.len, 10);
    /* the file marks of the command line: --signer's value is read */
    assert_int_equal(att_admin_cli_file_args(r.argc, r.argv, marks), 0);
    assert_memory_equal(marks, "\0\0\0\0@", 5);
    att_remote_request_cleanup(&r);
    att_buf_cleanup(&b);
}

static void test_truncations_and_bit_flips(void **state)
{
    (void)state;
    struct att_buf b;
    struct att_remote_request r;
    good_request(&b);
    for (size_t n = 0; n < b.len; n++) {
        struct att_buf cut = {.data = b.data, .len = n, .cap = n};
        assert_int_not_equal(att_remote_request_parse(&cut, &r), ATT_OK);
        att_remote_request_cleanup(&r);
    }
    for (size_t bit = 0; bit < b.len * 8; bit++) {
        b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (att_remote_request_parse(&b, &r) == ATT_OK) {
            /* what parses stays inside the message */
            for (size_t i = 0; i < r.n_files; i++) {
                assert_true(r.files[i].data.ptr >= b.data &&
                            r.files[i].data.ptr + r.files[i].data.len <= b.data + b.len);
                assert_true(r.files[i].arg < (uint32_t)r.argc);
            }
        }
        att_remote_request_cleanup(&r);
        b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    att_buf_cleanup(&b);
}

static void test_caps(void **state)
{
    (void)state;
    struct att_remote_request r;
    struct {
        uint32_t argc, arg_len, n_files;
        att_err want;
    } cases[] = {
        {ATT_REMOTE_MAX_ARGS + 1, 1, 0, ATT_ERR_TOO_LARGE},
        {1, ATT_REMOTE_MAX_ARG + 1, 0, ATT_ERR_TOO_LARGE},
        {1, 1, ATT_REMOTE_MAX_FILES + 1, ATT_ERR_TOO_LARGE},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct att_buf b;
        att_buf_init(&b, 1 << 20);
        EXPECT_OK(att_buf_put(&b, "ATTQ", 4));
        EXPECT_OK(att_remote_put_u32(&b, ATT_REMOTE_VERSION));
        EXPECT_OK(att_remote_put_u32(&b, 0));
        EXPECT_OK(att_remote_put_u32(&b, cases[k].argc));
        for (uint32_t i = 0; i < cases[k].argc && i <= ATT_REMOTE_MAX_ARGS; i++) {
            EXPECT_OK(att_remote_put_u32(&b, cases[k].arg_len));
            for (uint32_t j = 0; j < cases[k].arg_len; j++) {
                EXPECT_OK(att_buf_putc(&b, 'a'));
            }
        }
        EXPECT_OK(att_remote_put_u32(&b, cases[k].n_files));
        EXPECT_ERR(att_remote_request_parse(&b, &r), cases[k].want);
        att_remote_request_cleanup(&r);
        att_buf_cleanup(&b);
    }
    /* a NUL inside an argument, a file naming an argument that is not there, trailing bytes */
    struct att_buf b;
    good_request(&b);
    memcpy(memmem(b.data, b.len, "s.pem", 5), "s\0pem", 5);
    EXPECT_ERR(att_remote_request_parse(&b, &r), ATT_ERR_ENCODING);
    att_remote_request_cleanup(&r);
    att_buf_cleanup(&b);
    good_request(&b);
    EXPECT_OK(att_buf_putc(&b, 0));
    EXPECT_ERR(att_remote_request_parse(&b, &r), ATT_ERR_TRAILING);
    att_remote_request_cleanup(&r);
    att_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncations_and_bit_flips),
        cmocka_unit_test(test_caps),
    };
    return cmocka_run_group_tests_name("admin_remote", tests, NULL, NULL);
}
