/*
 * store_fixture.h - a fresh SQLite store in its own temporary directory, for cmocka
 * setup/teardown. Shared by the store, auth and other tests that need a real store.
 */
#ifndef ATT_TEST_STORE_FIXTURE_H
#define ATT_TEST_STORE_FIXTURE_H

#include <stdbool.h>
#include <stdlib.h>

#include "att_test.h"
#include "store/store.h"

struct store_fx {
    char dir[64];
    char db[128];
    struct att_store *s; /* NULL when the test opens the database itself */
};

static inline int store_fx_setup(void **state, const char *tag, bool open)
{
    struct store_fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    att_test_mkdtemp(tag, f->dir, sizeof(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/attestd.db", f->dir);
    if (open) {
        EXPECT_OK(att_store_open_sqlite(f->db, &f->s));
    }
    *state = f;
    return 0;
}

static inline int store_fx_teardown(void **state)
{
    struct store_fx *f = *state;
    att_store_close(f->s);
    att_test_rmdir(f->dir);
    free(f);
    return 0;
}

#endif
