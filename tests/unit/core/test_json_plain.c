/*
 * test_json_plain.c - the plain-JSON fast path (src/core/json_plain.c): what it takes gives
 * the value jansson gives; everything else is declined (ATT_ERR_NOT_FOUND) for jansson.
 */
#include "att_test.h"
#include "core/json_plain.h"

static void accepted(const char *text)
{
    json_t *fast = NULL;
    json_error_t err;
    EXPECT_OK(att_json_plain_load((const uint8_t *)text, strlen(text), &fast));
    json_t *slow = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    assert_non_null(slow);
    assert_true(json_equal(fast, slow));
    json_decref(fast);
    json_decref(slow);
}

static void declined(const char *text, size_t len)
{
    json_t *fast = NULL;
    EXPECT_ERR(att_json_plain_load((const uint8_t *)text, len, &fast), ATT_ERR_NOT_FOUND);
    assert_null(fast);
}

static void test_accepted(void **state)
{
    (void)state;
    accepted("{}");
    accepted(" \t\r\n{ } \n");
    accepted("{\"quote\":\"AQID-_\",\"runtimeData\":{\"data\":\"eyJ9\",\"dataType\":\"JSON\"}}");
    accepted("{\"a\":null,\"b\":true,\"c\":false,\"d\":\"\",\"\":\"empty name\"}");
    accepted("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{}}}}}}}}"); /* depth 8 */
    accepted("{\"printable\":\" !#$%&'()*+,-./:;<=>?@[]^_`{|}~\"}");
}

static void test_declined(void **state)
{
    (void)state;
    const char *cases[] = {
        "",
        "[]",
        "\"s\"",
        "{\"n\":1}",
        "{\"a\":[]}",
        "{\"e\":\"esc\\\"aped\"}",
        "{\"u\":\"caf\xc3\xa9\"}",
        "{\"c\":\"tab\there\"}",
        "{\"d\":\"x\",\"d\":\"y\"}",
        "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}", /* depth 9 */
        "{} x",
        "{\"a\":\"x\",}",
        "{\"a\" \"x\"}",
        "{\"a\":nul}",
        "{\"a\":truth}",
        "{'a':'x'}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        declined(cases[i], strlen(cases[i]));
    }
    declined("{\"a\":\"x\0y\"}", 11); /* NUL inside a string */
}

/* Every proper prefix of a request is malformed: declined, read within its bytes (ASan). */
static void test_truncated(void **state)
{
    (void)state;
    const char *text = "{\"quote\":\"AQID\",\"runtimeData\":{\"data\":\"eyJ9\",\"dataType\":"
                       "\"Binary\"},\"nonce\":null,\"x\":true}";
    for (size_t n = 0; n < strlen(text); n++) {
        char *cut = malloc(n > 0 ? n : 1);
        memcpy(cut, text, n);
        declined(cut, n);
        free(cut);
    }
    accepted(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_declined),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
