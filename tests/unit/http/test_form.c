/* Unit tests for src/http/form.c: decoding, caps, repeated names, truncation. */
#include "att_test.h"

#include <string.h>

#include "http/form.h"

static att_err parse(const char *text, struct att_form *f)
{
    att_form_init(f);
    return att_form_parse((const uint8_t *)text, strlen(text), f);
}

static void test_decoding(void **state)
{
    (void)state;
    struct att_form f;
    EXPECT_OK(parse("grant_type=client_credentials&client_id=a%2Bb&client_secret=x+y%3D%3D&"
                    "scope=&flag",
                    &f));
    assert_int_equal(f.n, 5);
    assert_true(att_bytes_eq_str(*att_form_get(&f, "grant_type"), "client_credentials"));
    assert_true(att_bytes_eq_str(*att_form_get(&f, "client_id"), "a+b"));
    assert_true(att_bytes_eq_str(*att_form_get(&f, "client_secret"), "x y=="));
    assert_int_equal(att_form_get(&f, "scope")->len, 0);
    assert_int_equal(att_form_get(&f, "flag")->len, 0);
    assert_null(att_form_get(&f, "missing"));
    att_form_cleanup(&f);
    EXPECT_OK(parse("", &f));
    assert_int_equal(f.n, 0);
    att_form_cleanup(&f);
    EXPECT_OK(parse("&&a=1&&", &f));
    assert_int_equal(f.n, 1);
    att_form_cleanup(&f);
}

static void test_refusals(void **state)
{
    (void)state;
    struct att_form f;
    EXPECT_ERR(parse("a=1&a=2", &f), ATT_ERR_EXISTS); /* RFC 6749 §3.2 */
    assert_int_equal(f.n, 0);
    att_form_cleanup(&f);
    EXPECT_ERR(parse("a=%zz", &f), ATT_ERR_ENCODING);
    att_form_cleanup(&f);
    EXPECT_ERR(parse("a=%4", &f), ATT_ERR_ENCODING);
    att_form_cleanup(&f);
    EXPECT_ERR(parse("a=%00", &f), ATT_ERR_ENCODING);
    att_form_cleanup(&f);
    EXPECT_ERR(parse("=1", &f), ATT_ERR_PARSE);
    att_form_cleanup(&f);
    char many[512] = "";
    for (int i = 0; i <= ATT_FORM_MAX_FIELDS; i++) {
        size_t used = strlen(many);
        snprintf(many + used, sizeof(many) - used, "k%d=v&", i);
    }
    EXPECT_ERR(parse(many, &f), ATT_ERR_TOO_LARGE);
    att_form_cleanup(&f);
    static char big[ATT_FORM_MAX_BYTES + 2];
    memset(big, 'a', sizeof(big) - 1);
    EXPECT_ERR(parse(big, &f), ATT_ERR_TOO_LARGE);
    att_form_cleanup(&f);
}

static void test_truncation(void **state)
{
    (void)state;
    const char *full = "grant_type=client_credentials&client_id=%41%42&client_secret=s%2F";
    for (size_t cut = 0; cut <= strlen(full); cut++) {
        struct att_form f;
        uint8_t *copy = test_malloc(cut + 1);
        memcpy(copy, full, cut);
        att_form_init(&f);
        att_err rc = att_form_parse(copy, cut, &f);
        assert_true(rc == ATT_OK || rc == ATT_ERR_ENCODING);
        att_form_cleanup(&f);
        test_free(copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoding),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests_name("http_form", tests, NULL, NULL);
}
