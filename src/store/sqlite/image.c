/*
 * image.c - vet a database image from outside (a backup's snapshot) before it is ever opened
 * as a store (store.h, att_store_sqlite_check_image).
 *
 * Input trust: the image is untrusted even when its archive was authenticated - whoever holds
 * the backup secret can build one - so it is examined in memory, read-only, with
 * trusted_schema off, and refused unless its schema is attestd's: no trigger or view (the only
 * schema objects that run queries when rows are read or written: a trigger fired by a
 * migration's UPDATE can loop forever, and one kept would act in the restored service), and
 * exactly the tables and indexes our migrations create for its version. Only then are its
 * pages and foreign keys checked and its rows counted.
 */
#include <sqlite3.h>
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "store/store.h"

static att_err open_memory(sqlite3 **db)
{
    int src = sqlite3_open_v2(":memory:", db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (src != SQLITE_OK) {
        return ATT_ERR_NOMEM;
    }
    (void)sqlite3_db_config(*db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    (void)sqlite3_db_config(*db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    return ATT_OK;
}

/* A copy of the image as the read-only main database of a new in-memory connection. */
static att_err load_image(const uint8_t *image, size_t len, sqlite3 **db)
{
    ATT_TRY(open_memory(db));
    unsigned char *copy = sqlite3_malloc64(len);
    ATT_ENSURE(copy != NULL, ATT_ERR_NOMEM);
    memcpy(copy, image, len);
    int src = sqlite3_deserialize(*db, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
                                  SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY);
    return src == SQLITE_OK ? att_sqlite_exec(*db, "PRAGMA query_only = ON") : ATT_ERR_STORE;
}

/* The schema objects as one text (type and name of each, sorted), at most `cap` bytes. */
#define SCHEMA_TEXT_MAX 8192
static att_err schema_text(sqlite3 *db, char *out, size_t cap)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    size_t used = 0;
    out[0] = 0;
    ATT_GUARD(att_sqlite_prepare(db,
                                 "SELECT type || ' ' || name FROM sqlite_schema"
                                 " WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
                                 &st));
    for (;;) {
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        char item[256];
        ATT_GUARD(att_sqlite_col_text(st, 0, item, sizeof(item)));
        size_t n = strlen(item);
        ATT_CHECK(used + n + 2 <= cap, ATT_ERR_TOO_LARGE);
        memcpy(out + used, item, n);
        used += n;
        out[used++] = '\n';
        out[used] = 0;
    }
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* No trigger, no view, and the tables and indexes migrations 1..version make, no more. */
static att_err schema_is_ours(sqlite3 *db, int version)
{
    int64_t active = 0;
    sqlite3 *ref = NULL;
    char got[SCHEMA_TEXT_MAX], want[SCHEMA_TEXT_MAX];
    ATT_TRY(att_sqlite_query_i64(
        db, "SELECT COUNT(*) FROM sqlite_schema WHERE type IN ('trigger', 'view')", &active));
    ATT_ENSURE(active == 0, ATT_ERR_STORE_SCHEMA);
    att_err rc = open_memory(&ref);
    if (rc == ATT_OK) {
        rc = att_sqlite_migrate_to(ref, version);
    }
    if (rc == ATT_OK) {
        rc = schema_text(ref, want, sizeof(want));
    }
    if (rc == ATT_OK) {
        rc = schema_text(db, got, sizeof(got));
    }
    (void)sqlite3_close_v2(ref);
    if (rc == ATT_ERR_TOO_LARGE) {
        return ATT_ERR_STORE_SCHEMA;
    }
    ATT_TRY(rc);
    return strcmp(got, want) == 0 ? ATT_OK : ATT_ERR_STORE_SCHEMA;
}

static att_err auth_kids(sqlite3 *db, struct att_store_image *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    out->n_auth = 0;
    ATT_GUARD(att_sqlite_prepare(db, "SELECT kid FROM auth_keys ORDER BY created_at", &st));
    for (;;) {
        ATT_GUARD(att_sqlite_step_row(st, &done));
        if (done) {
            break;
        }
        ATT_CHECK(out->n_auth < ATT_STORE_IMAGE_AUTH_MAX, ATT_ERR_TOO_LARGE);
        ATT_GUARD(att_sqlite_col_text(st, 0, out->auth_kid[out->n_auth], sizeof(out->auth_kid[0])));
        out->n_auth++;
    }
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

att_err att_store_sqlite_check_image(const uint8_t *image, size_t len, struct att_store_image *out)
{
    sqlite3 *db = NULL;
    int64_t version = 0;
    memset(out, 0, sizeof(*out));
    att_err rc = image != NULL && len > 0 ? load_image(image, len, &db) : ATT_ERR_ARG;
    if (rc == ATT_OK) {
        rc = att_sqlite_query_i64(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                                  &version);
        rc = rc == ATT_OK ? ATT_OK : ATT_ERR_STORE_SCHEMA; /* no such table: not ours */
    }
    if (rc == ATT_OK) {
        out->schema = (int)(version > 0 && version <= 1000000 ? version : 0);
        rc = out->schema == 0                          ? ATT_ERR_STORE_SCHEMA
             : out->schema > att_store_schema_latest() ? ATT_ERR_STORE_SCHEMA
                                                       : schema_is_ours(db, out->schema);
    }
    if (rc == ATT_OK) {
        rc = att_sqlite_check_db(db);
    }
    if (rc == ATT_OK) {
        rc = att_sqlite_query_i64(db, "SELECT COUNT(*) FROM providers", &out->providers);
    }
    if (rc == ATT_OK) {
        rc = att_sqlite_query_i64(db, "SELECT COUNT(*) FROM signing_keys", &out->signing_keys);
    }
    if (rc == ATT_OK) {
        rc = att_sqlite_query_i64(db, "SELECT COUNT(*) FROM principals", &out->principals);
    }
    if (rc == ATT_OK) {
        rc = att_sqlite_query_i64(db, "SELECT COUNT(*) FROM role_assignments",
                                  &out->role_assignments);
    }
    if (rc == ATT_OK) {
        rc =
            att_sqlite_query_i64(db, "SELECT COUNT(*) FROM policy_versions", &out->policy_versions);
    }
    if (rc == ATT_OK) {
        rc = auth_kids(db, out);
    }
    (void)sqlite3_close_v2(db);
    return rc;
}
