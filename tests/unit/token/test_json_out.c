/*
 * test_json_out.c - att_json_compact writes exactly what json_dumps(JSON_COMPACT |
 * JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) writes, for every kind of value and every character
 * that needs escaping, and stops at its depth and size caps.
 */
#include "att_test.h"
#include "core/buf.h"
#include "token/json_out.h"

static void same_as_jansson(json_t *v)
{
    struct att_buf b;
    char *want = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    att_buf_init(&b, 1 << 20);
    EXPECT_OK(att_json_compact(v, &b));
    assert_non_null(want);
    assert_string_equal((const char *)b.data, want);
    free(want);
    att_buf_cleanup(&b);
    json_decref(v);
}

static void test_values(void **state)
{
    (void)state;
    same_as_jansson(json_pack("{s:s,s:I,s:b,s:b,s:n,s:[i,s,{}],s:{s:{s:[]}}}", "a", "x", "n",
                              (json_int_t)-9007199254740993LL, "t", 1, "f", 0, "z", "arr", 1, "two",
                              "o", "deep", "er", "est"));
    same_as_jansson(json_real(1.5));
    same_as_jansson(json_pack("{s:f}", "r", 0.1));
    same_as_jansson(json_string(""));
    same_as_jansson(json_object());
    same_as_jansson(json_array());
    same_as_jansson(json_integer(0));
    same_as_jansson(json_integer(-1));
    same_as_jansson(json_integer(INT64_MAX));
    same_as_jansson(json_integer(INT64_MIN)); /* its magnitude does not fit a signed value */
}

/* Random strings of every byte class (plain, short escapes, \u00XX, multi-byte UTF-8). */
static void test_random_strings(void **state)
{
    (void)state;
    static const char *pieces[] = {
        "a",  "Z",  "0",  " ",    "\"",   "\\",   "/",        "\b",           "\f",
        "\n", "\r", "\t", "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x88\x91", "\xf0\x9f\x98\x80"};
    srand(7);
    for (int round = 0; round < 500; round++) {
        char text[1024];
        size_t len = 0;
        size_t want = (size_t)(rand() % 200);
        while (len < want) {
            const char *p = pieces[rand() % (int)(sizeof(pieces) / sizeof(pieces[0]))];
            memcpy(text + len, p, strlen(p));
            len += strlen(p);
        }
        json_t *o = json_object();
        json_object_setn_new(o, text, len, json_stringn(text, len));
        json_object_set_new(o, "n", json_integer(rand() - RAND_MAX / 2));
        same_as_jansson(o);
    }
}

/* The cap is exact: output of exactly `max` bytes fits, one byte less does not. */
static void test_exact_cap(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s,s:[i,b]}", "k\n", "v\"w", "a", -12, 1);
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t n = strlen(text);
    struct att_buf b;
    att_buf_init(&b, n);
    EXPECT_OK(att_json_compact(v, &b));
    assert_string_equal((const char *)b.data, text);
    att_buf_cleanup(&b);
    for (size_t max = 0; max < n; max++) {
        att_buf_init(&b, max);
        EXPECT_ERR(att_json_compact(v, &b), ATT_ERR_TOO_LARGE);
        assert_int_equal(b.len, 0);
        att_buf_cleanup(&b);
    }
    free(text);
    json_decref(v);
}

static void test_escapes(void **state)
{
    (void)state;
    char all[128];
    for (int i = 1; i < 128; i++) {
        all[i - 1] = (char)i;
    }
    all[127] = 0;
    same_as_jansson(json_string(all));
    same_as_jansson(json_string("quote\" backslash\\ slash/ tab\t nl\n é ∑ 😀"));
    same_as_jansson(json_stringn("nul\0inside", 10));
    json_t *o = json_object();
    json_object_set_new(o, "key \"with\" \\ and \x01", json_string("v"));
    same_as_jansson(o);
}

static void test_caps(void **state)
{
    (void)state;
    struct att_buf b;
    json_t *v = json_array();
    json_t *top = v;
    for (int i = 0; i < ATT_JSON_OUT_MAX_DEPTH + 1; i++) {
        json_t *inner = json_array();
        json_array_append_new(v, inner);
        v = inner;
    }
    att_buf_init(&b, 1 << 20);
    EXPECT_ERR(att_json_compact(top, &b), ATT_ERR_TOO_LARGE);
    assert_int_equal(b.len, 0);
    att_buf_cleanup(&b);
    json_decref(top);

    att_buf_init(&b, 8);
    EXPECT_OK(att_buf_puts(&b, "ab"));
    v = json_string("longer than eight bytes");
    EXPECT_ERR(att_json_compact(v, &b), ATT_ERR_TOO_LARGE);
    assert_string_equal((const char *)b.data, "ab"); /* unchanged */
    json_decref(v);
    att_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),    cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_caps),      cmocka_unit_test(test_random_strings),
        cmocka_unit_test(test_exact_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
