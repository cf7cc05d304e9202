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
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"

#define EXPECT_OK(expr)                                                                            \
    do {                                                                                           \
        att_err expect_rc_ = (expr);                                                               \
        if (expect_rc_ != ATT_OK) {                                                                \
            fail_msg("%s: expected ATT_OK, got %s", #expr, att_err_name(expect_rc_));              \
        }                                                                                          \
    } while (0)

#define EXPECT_ERR(expr, code)                                                                     \
    do {                                                                                           \
        att_err expect_rc_ = (expr);                                                               \
        if (expect_rc_ != (code)) {                                                                \
            fail_msg("%s: expected %s, got %s", #expr, att_err_name(code),                         \
                     att_err_name(expect_rc_));                                                    \
        }                                                                                          \
    } while (0)

/* Make a fresh directory /tmp/att-<tag>-XXXXXX into dir (>= 64 bytes). */
static inline void att_test_mkdtemp(const char *tag, char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/att-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(dir));
}

/* Remove a flat directory made by att_test_mkdtemp and its files. */
static inline void att_test_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char p[512];
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    rmdir(dir);
}

#endif
