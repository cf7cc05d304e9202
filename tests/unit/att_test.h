/*
 * att_test.h - shared helpers for cmocka unit tests.
 *
 * EXPECT_OK(expr)        expr returns ATT_OK
 * EXPECT_ERR(expr, code) expr returns exactly `code` (names both on failure)
 * fixture_path(name)     ATT_TESTDATA_DIR-relative path helper
 */
#ifndef ATT_TEST_H
#define ATT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "core/err.h"

#define EXPECT_OK(expr)                                                                  \
    do {                                                                                 \
        att_err expect_rc_ = (expr);                                                     \
        if (expect_rc_ != ATT_OK) {                                                      \
            fail_msg("%s: expected ATT_OK, got %s", #expr, att_err_name(expect_rc_));    \
        }                                                                                \
    } while (0)

#define EXPECT_ERR(expr, code)                                                           \
    do {                                                                                 \
        att_err expect_rc_ = (expr);                                                     \
        if (expect_rc_ != (code)) {                                                      \
            fail_msg("%s: expected %s, got %s", #expr, att_err_name(code),               \
                     att_err_name(expect_rc_));                                          \
        }                                                                                \
    } while (0)

#endif
