/*
 * Unit tests for src/core/err.c and the list it is made from (src/core/errors.def): every code
 * has a unique name and value, a kind, an outward answer that fits the kind, and a message.
 */
#include "att_test.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "core/err.h"

static bool status_known(int s)
{
    static const int known[] = {200, 400, 401, 404, 409, 429, 500, 503};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (s == known[i]) {
            return true;
        }
    }
    return false;
}

static void test_every_code_is_complete(void **state)
{
    (void)state;
    size_t n = att_err_count();
    assert_true(n > 100);
    for (size_t i = 0; i < n; i++) {
        att_err e = att_err_at(i);
        const char *name = att_err_name(e);
        if (strncmp(name, "ATT_ERR_", 8) != 0 && e != ATT_OK) {
            fail_msg("code %d: name %s does not start with ATT_ERR_", (int)e, name);
        }
        for (const char *c = name; *c != '\0'; c++) {
            if (!(isupper((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_')) {
                fail_msg("%s: not an upper-case identifier", name);
            }
        }
        const char *msg = att_err_str(e);
        if (msg[0] == '\0' || msg[strlen(msg) - 1] == '.') {
            fail_msg("%s: message \"%s\" is empty or ends in a period", name, msg);
        }
        if (!status_known(att_err_http_status(e))) {
            fail_msg("%s: HTTP status %d is not one attestd answers", name, att_err_http_status(e));
        }
        if (e != ATT_OK && att_err_maa_code(e)[0] == '\0') {
            fail_msg("%s: no MAA error code", name);
        }
        for (size_t k = 0; k < i; k++) {
            att_err other = att_err_at(k);
            if (other == e) {
                fail_msg("%s and %s share the value %d", name, att_err_name(other), (int)e);
            }
            if (strcmp(att_err_name(other), name) == 0) {
                fail_msg("%s is listed twice", name);
            }
        }
    }
}

/* The answer fits the kind: the caller's fault is a 4xx, ours or the world's a 5xx. */
static void test_status_fits_kind(void **state)
{
    (void)state;
    for (size_t i = 0; i < att_err_count(); i++) {
        att_err e = att_err_at(i);
        int s = att_err_http_status(e);
        switch (att_err_kind(e)) {
        case ATT_KIND_OK: assert_int_equal(s, 200); break;
        case ATT_KIND_PARSE:
        case ATT_KIND_VALIDATE:
        case ATT_KIND_VERIFY:
        case ATT_KIND_POLICY:
            if (s != 400 && s != 401) {
                fail_msg("%s: the caller's fault answered %d", att_err_name(e), s);
            }
            break;
        case ATT_KIND_STORE:
        case ATT_KIND_IO:
        case ATT_KIND_INTERNAL:
            if (s < 429) {
                fail_msg("%s: our fault answered %d", att_err_name(e), s);
            }
            break;
        case ATT_KIND_USAGE: break;
        }
    }
}

static void test_evidence_failures_are_invalid_parameter(void **state)
{
    (void)state;
    const att_err verdicts[] = {ATT_ERR_QUOTE_SIGNATURE, ATT_ERR_TCB_NOT_SUPPORTED,
                                ATT_ERR_TDX_MODULE_MISMATCH, ATT_ERR_COLLATERAL_EXPIRED,
                                ATT_ERR_TRUNCATED};
    for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
        assert_int_equal(att_err_http_status(verdicts[i]), 400);
        assert_string_equal(att_err_maa_code(verdicts[i]), "InvalidParameter");
    }
    assert_string_equal(att_err_maa_code(ATT_ERR_POLICY_DENIED), "PolicyEvaluationError");
    assert_string_equal(att_err_maa_code(ATT_ERR_POLICY_PARSE), "PolicyParsingError");
    assert_int_equal(att_err_http_status(ATT_ERR_FETCH), 503);
    assert_int_equal(att_err_http_status(ATT_ERR_NOMEM), 500);
}

static void test_unknown_code(void **state)
{
    (void)state;
    att_err bogus = (att_err)99999;
    assert_string_equal(att_err_name(bogus), "ATT_ERR_UNKNOWN");
    assert_int_equal(att_err_http_status(bogus), 500);
    assert_int_equal(att_err_kind(bogus), ATT_KIND_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_is_complete),
        cmocka_unit_test(test_status_fits_kind),
        cmocka_unit_test(test_evidence_failures_are_invalid_parameter),
        cmocka_unit_test(test_unknown_code),
    };
    return cmocka_run_group_tests_name("core_err", tests, NULL, NULL);
}
