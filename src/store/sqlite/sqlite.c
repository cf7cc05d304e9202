/*
 * sqlite.c - the SQLite backend of struct att_store_ops.
 *
 * Input trust: records come from our callers (checked in store.c); rows come
 * from a database file that someone else may have edited, so every column is
 * type-checked and every string must fit its record field exactly (a value
 * that does not fit is ATT_ERR_STORE, never silently truncated).
 *
 * Prepared statements only, with bound parameters; each operation prepares,
 * runs and finalizes its own statement, so threads never share one.
 *
 * Threads: the connection is opened with SQLITE_OPEN_FULLMUTEX and shared by
 * all threads. Single statements are therefore safe, but a BEGIN/COMMIT span
 * would take in other threads' statements on the same connection: begin,
 * commit and rollback are only used by the CLI and at startup, when no other
 * thread is using the store.
 */
#include "store/sqlite/sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/rd.h"
#include "store/store.h"

struct sqlite_store {
    struct att_store base; /* first, so a struct att_store * converts back */
    sqlite3 *db;
};

static sqlite3 *db_of(struct att_store *s)
{
    return ((struct sqlite_store *)s)->db;
}

/* ---- result codes and statement helpers --------------------------------- */

att_err att_sqlite_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ATT_ERR_STORE_BUSY;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
            return ATT_ERR_EXISTS;
        }
        return ATT_ERR_STORE_CONSTRAINT;
    default:
        /* sqlite3_errstr is a static description: thread-safe and free of values. */
        att_log(ATT_LOG_WARN, "store: sqlite error", "code", json_integer(rc), "error",
                json_string(sqlite3_errstr(rc)), NULL);
        return ATT_ERR_STORE;
    }
}

att_err att_sqlite_exec(sqlite3 *db, const char *sql)
{
    att_err rc = ATT_OK;
    const char *next = sql;

    while (rc == ATT_OK && next != NULL && next[0] != '\0') {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        int src = sqlite3_prepare_v2(db, next, -1, &st, &tail);
        if (src != SQLITE_OK) {
            return att_sqlite_err(src);
        }
        if (st == NULL) { /* only whitespace or comments were left */
            break;
        }
        do {
            src = sqlite3_step(st);
        } while (src == SQLITE_ROW);
        if (src != SQLITE_DONE) {
            rc = att_sqlite_err(src);
        }
        sqlite3_finalize(st);
        next = tail;
    }
    return rc;
}

static att_err prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    int src = sqlite3_prepare_v2(db, sql, -1, st, NULL);
    ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
    return ATT_OK;
}

static att_err bind_text(sqlite3_stmt *st, int i, const char *s)
{
    int src = sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
    return ATT_OK;
}

/* An empty blob must still be a BLOB: binding a NULL pointer would bind SQL NULL. */
static att_err bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
    int src = n == 0 ? sqlite3_bind_zeroblob(st, i, 0)
                     : sqlite3_bind_blob64(st, i, p, (sqlite3_uint64)n, SQLITE_STATIC);
    ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
    return ATT_OK;
}

static att_err bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
    int src = sqlite3_bind_int64(st, i, v);
    ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
    return ATT_OK;
}

/* Run a statement that returns no rows; *changes (if asked) gets the rows it changed. */
static att_err step_done(sqlite3 *db, sqlite3_stmt *st, int *changes)
{
    /* Hold the connection's mutex so another thread's statement cannot slip in
     * between the step and sqlite3_changes(). */
    sqlite3_mutex_enter(sqlite3_db_mutex(db));
    int src = sqlite3_step(st);
    if (changes != NULL) {
        *changes = sqlite3_changes(db);
    }
    sqlite3_mutex_leave(sqlite3_db_mutex(db));
    ATT_ENSURE(src == SQLITE_DONE, att_sqlite_err(src));
    return ATT_OK;
}

/* Copy a TEXT column into a fixed field; it must fit with its NUL and hold no NUL. */
static att_err col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    struct att_rd r;
    ATT_ENSURE(sqlite3_column_type(st, i) == SQLITE_TEXT, ATT_ERR_STORE);
    const unsigned char *p = sqlite3_column_text(st, i); /* before _bytes, as documented */
    int n = sqlite3_column_bytes(st, i);
    ATT_ENSURE(p != NULL && n >= 0 && (size_t)n < cap, ATT_ERR_STORE);
    ATT_ENSURE(memchr(p, 0, (size_t)n) == NULL, ATT_ERR_STORE);
    att_rd_init(&r, p, (size_t)n);
    ATT_ENSURE(att_rd_copy(&r, dst, (size_t)n) == ATT_OK, ATT_ERR_STORE);
    dst[n] = '\0';
    return ATT_OK;
}

static att_err col_blob(sqlite3_stmt *st, int i, struct att_buf *b)
{
    ATT_ENSURE(sqlite3_column_type(st, i) == SQLITE_BLOB, ATT_ERR_STORE);
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    ATT_ENSURE(n >= 0 && (p != NULL || n == 0), ATT_ERR_STORE);
    att_buf_reset(b);
    ATT_ENSURE(att_buf_put(b, p, (size_t)n) == ATT_OK, ATT_ERR_STORE);
    return ATT_OK;
}

static att_err col_i64(sqlite3_stmt *st, int i, int64_t *out)
{
    ATT_ENSURE(sqlite3_column_type(st, i) == SQLITE_INTEGER, ATT_ERR_STORE);
    *out = sqlite3_column_int64(st, i);
    return ATT_OK;
}

static att_err col_bool(sqlite3_stmt *st, int i, bool *out)
{
    int64_t v = 0;
    ATT_TRY(col_i64(st, i, &v));
    ATT_ENSURE(v == 0 || v == 1, ATT_ERR_STORE);
    *out = v == 1;
    return ATT_OK;
}

/*
 * Step a query: ATT_OK with a row, ATT_ERR_NOT_FOUND at the end, or the
 * mapped error. `done` tells the end apart from a row for list loops.
 */
static att_err step_row(sqlite3_stmt *st, bool *done)
{
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *done = false;
        return ATT_OK;
    }
    ATT_ENSURE(src == SQLITE_DONE, att_sqlite_err(src));
    *done = true;
    return ATT_OK;
}

/* ---- connection ---------------------------------------------------------- */

static void sq_close(struct att_store *s)
{
    struct sqlite_store *ss = (struct sqlite_store *)s;
    (void)sqlite3_close_v2(ss->db);
    free(ss);
}

static att_err sq_ping(struct att_store *s)
{
    return att_sqlite_exec(db_of(s), "SELECT 1");
}

static att_err sq_schema_version(struct att_store *s, int *out)
{
    return att_sqlite_schema_version(db_of(s), out);
}

/* IMMEDIATE: take the write lock at BEGIN rather than fail to upgrade later. */
static att_err sq_begin(struct att_store *s)
{
    return att_sqlite_exec(db_of(s), "BEGIN IMMEDIATE");
}

static att_err sq_commit(struct att_store *s)
{
    return att_sqlite_exec(db_of(s), "COMMIT");
}

static att_err sq_rollback(struct att_store *s)
{
    return att_sqlite_exec(db_of(s), "ROLLBACK");
}

/* ---- providers ------------------------------------------------------------ */

#define PROVIDER_COLS "name, issuer, signing_alg, is_default, created_at"

static att_err read_provider(sqlite3_stmt *st, struct att_provider_rec *p)
{
    ATT_TRY(col_text(st, 0, p->name, sizeof(p->name)));
    ATT_TRY(col_text(st, 1, p->issuer, sizeof(p->issuer)));
    ATT_TRY(col_text(st, 2, p->signing_alg, sizeof(p->signing_alg)));
    ATT_TRY(col_bool(st, 3, &p->is_default));
    ATT_TRY(col_i64(st, 4, &p->created_at));
    return ATT_OK;
}

static att_err sq_provider_insert(struct att_store *s, const struct att_provider_rec *p)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(
        prepare(db_of(s), "INSERT INTO providers(" PROVIDER_COLS ") VALUES(?1,?2,?3,?4,?5)", &st));
    ATT_GUARD(bind_text(st, 1, p->name));
    ATT_GUARD(bind_text(st, 2, p->issuer));
    ATT_GUARD(bind_text(st, 3, p->signing_alg));
    ATT_GUARD(bind_i64(st, 4, p->is_default ? 1 : 0));
    ATT_GUARD(bind_i64(st, 5, p->created_at));
    ATT_GUARD(step_done(db_of(s), st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err sq_provider_get(struct att_store *s, const char *name, struct att_provider_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    struct att_provider_rec p;
    bool done = false;

    ATT_GUARD(prepare(db_of(s), "SELECT " PROVIDER_COLS " FROM providers WHERE name = ?1", &st));
    ATT_GUARD(bind_text(st, 1, name));
    ATT_GUARD(step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(read_provider(st, &p));
    *out = p;
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err sq_provider_list(struct att_store *s, att_store_provider_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;

    ATT_GUARD(prepare(db_of(s), "SELECT " PROVIDER_COLS " FROM providers ORDER BY name", &st));
    for (;;) {
        struct att_provider_rec p;
        ATT_GUARD(step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(read_provider(st, &p));
        ATT_GUARD(cb(&p, arg));
    }
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err sq_provider_delete(struct att_store *s, const char *name)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    int changes = 0;

    ATT_GUARD(prepare(db_of(s), "DELETE FROM providers WHERE name = ?1", &st));
    ATT_GUARD(bind_text(st, 1, name));
    ATT_GUARD(step_done(db_of(s), st, &changes));
    ATT_CHECK(changes > 0, ATT_ERR_NOT_FOUND);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* ---- signing keys ---------------------------------------------------------- */

#define KEY_COLS "kid, provider, alg, cert_der, sealed_key, created_at"

static att_err read_key(sqlite3_stmt *st, struct att_key_rec *k)
{
    ATT_TRY(col_text(st, 0, k->kid, sizeof(k->kid)));
    ATT_TRY(col_text(st, 1, k->provider, sizeof(k->provider)));
    ATT_TRY(col_text(st, 2, k->alg, sizeof(k->alg)));
    ATT_TRY(col_blob(st, 3, &k->cert_der));
    ATT_TRY(col_blob(st, 4, &k->sealed_key));
    ATT_TRY(col_i64(st, 5, &k->created_at));
    return ATT_OK;
}

static att_err sq_key_insert(struct att_store *s, const struct att_key_rec *k)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(
        prepare(db_of(s), "INSERT INTO signing_keys(" KEY_COLS ") VALUES(?1,?2,?3,?4,?5,?6)", &st));
    ATT_GUARD(bind_text(st, 1, k->kid));
    ATT_GUARD(bind_text(st, 2, k->provider));
    ATT_GUARD(bind_text(st, 3, k->alg));
    ATT_GUARD(bind_blob(st, 4, k->cert_der.data, k->cert_der.len));
    ATT_GUARD(bind_blob(st, 5, k->sealed_key.data, k->sealed_key.len));
    ATT_GUARD(bind_i64(st, 6, k->created_at));
    ATT_GUARD(step_done(db_of(s), st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err sq_key_list(struct att_store *s, const char *provider, att_store_key_cb cb,
                           void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    struct att_key_rec k;
    bool done = false;

    att_key_rec_init(&k);
    ATT_GUARD(prepare(db_of(s),
                      "SELECT " KEY_COLS " FROM signing_keys WHERE provider = ?1"
                      " ORDER BY created_at, rowid",
                      &st));
    ATT_GUARD(bind_text(st, 1, provider));
    for (;;) {
        ATT_GUARD(step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(read_key(st, &k));
        ATT_GUARD(cb(&k, arg));
    }
    rc = ATT_OK;
out:
    att_key_rec_cleanup(&k);
    sqlite3_finalize(st);
    return rc;
}

/* ---- data keys ------------------------------------------------------------- */

#define DEK_COLS "id, kek_id, wrapped, active, created_at"

static att_err read_dek(sqlite3_stmt *st, struct att_dek_rec *d)
{
    ATT_TRY(col_text(st, 0, d->id, sizeof(d->id)));
    ATT_TRY(col_text(st, 1, d->kek_id, sizeof(d->kek_id)));
    ATT_TRY(col_blob(st, 2, &d->wrapped));
    ATT_TRY(col_bool(st, 3, &d->active));
    ATT_TRY(col_i64(st, 4, &d->created_at));
    return ATT_OK;
}

/*
 * Run a query that yields at most one data key. The row is read into a
 * local record and moved into *out only on success; *out must have been
 * initialised (att_dek_rec_init), and its old buffer is released.
 */
static att_err dek_query_one(sqlite3_stmt *st, struct att_dek_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_dek_rec d;
    bool done = false;

    att_dek_rec_init(&d);
    ATT_GUARD(step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(read_dek(st, &d));
    att_dek_rec_cleanup(out);
    *out = d;
    att_dek_rec_init(&d); /* ownership moved */
    rc = ATT_OK;
out:
    att_dek_rec_cleanup(&d);
    return rc;
}

static att_err sq_dek_insert(struct att_store *s, const struct att_dek_rec *d)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(prepare(db_of(s), "INSERT INTO data_keys(" DEK_COLS ") VALUES(?1,?2,?3,?4,?5)", &st));
    ATT_GUARD(bind_text(st, 1, d->id));
    ATT_GUARD(bind_text(st, 2, d->kek_id));
    ATT_GUARD(bind_blob(st, 3, d->wrapped.data, d->wrapped.len));
    ATT_GUARD(bind_i64(st, 4, d->active ? 1 : 0));
    ATT_GUARD(bind_i64(st, 5, d->created_at));
    ATT_GUARD(step_done(db_of(s), st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err sq_dek_get(struct att_store *s, const char *id, struct att_dek_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(prepare(db_of(s), "SELECT " DEK_COLS " FROM data_keys WHERE id = ?1", &st));
    ATT_GUARD(bind_text(st, 1, id));
    ATT_GUARD(dek_query_one(st, out));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err sq_dek_get_active(struct att_store *s, struct att_dek_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(prepare(db_of(s),
                      "SELECT " DEK_COLS " FROM data_keys WHERE active = 1"
                      " ORDER BY created_at DESC, rowid DESC LIMIT 1",
                      &st));
    ATT_GUARD(dek_query_one(st, out));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err sq_dek_list(struct att_store *s, att_store_dek_cb cb, void *arg)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    struct att_dek_rec d;
    bool done = false;

    att_dek_rec_init(&d);
    ATT_GUARD(
        prepare(db_of(s), "SELECT " DEK_COLS " FROM data_keys ORDER BY created_at, rowid", &st));
    for (;;) {
        ATT_GUARD(step_row(st, &done));
        if (done) {
            break;
        }
        ATT_GUARD(read_dek(st, &d));
        ATT_GUARD(cb(&d, arg));
    }
    rc = ATT_OK;
out:
    att_dek_rec_cleanup(&d);
    sqlite3_finalize(st);
    return rc;
}

static att_err sq_dek_rewrap(struct att_store *s, const char *id, const char *kek_id,
                             const uint8_t *wrapped, size_t len)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    int changes = 0;

    ATT_GUARD(
        prepare(db_of(s), "UPDATE data_keys SET kek_id = ?2, wrapped = ?3 WHERE id = ?1", &st));
    ATT_GUARD(bind_text(st, 1, id));
    ATT_GUARD(bind_text(st, 2, kek_id));
    ATT_GUARD(bind_blob(st, 3, wrapped, len));
    ATT_GUARD(step_done(db_of(s), st, &changes));
    ATT_CHECK(changes > 0, ATT_ERR_NOT_FOUND);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static const struct att_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .ping = sq_ping,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .provider_insert = sq_provider_insert,
    .provider_get = sq_provider_get,
    .provider_list = sq_provider_list,
    .provider_delete = sq_provider_delete,
    .key_insert = sq_key_insert,
    .key_list = sq_key_list,
    .dek_insert = sq_dek_insert,
    .dek_get = sq_dek_get,
    .dek_get_active = sq_dek_get_active,
    .dek_list = sq_dek_list,
    .dek_rewrap = sq_dek_rewrap,
};

/* ---- open ------------------------------------------------------------------ */

/*
 * The database holds sealed signing keys and wrapped data keys: its files
 * must be private to us. Checked on the open descriptor, so the file checked
 * is the file used. Required: a regular file owned by our effective uid
 * (else ATT_ERR_PERM; a file of another user is also root running attestctl
 * on the service's database, which would leave root-owned -wal/-shm files the
 * service cannot open). A file open to group or others is a leftover of an
 * older release or a careless copy: it is set to 0600 with a warning, so
 * upgrades heal instead of failing to start.
 */
static att_err check_private_fd(int fd, const char *path)
{
    struct stat st;

    ATT_ENSURE(fstat(fd, &st) == 0, ATT_ERR_IO);
    ATT_ENSURE(S_ISREG(st.st_mode), ATT_ERR_PERM);
    ATT_ENSURE(st.st_uid == geteuid(), ATT_ERR_PERM);
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
        att_log(ATT_LOG_WARN, "store: file was accessible by group or others; setting mode 0600",
                "path", json_string(path), "mode", json_string(mode), NULL);
    }
    /* Also when only owner bits differ: a umask may have stripped some from a
     * file we just created, and SQLite gives -wal and -shm this file's mode. */
    if ((st.st_mode & 07777) != 0600) {
        ATT_ENSURE(fchmod(fd, 0600) == 0, ATT_ERR_IO);
    }
    return ATT_OK;
}

static att_err close_checked(int fd, att_err rc)
{
    if (close(fd) != 0 && rc == ATT_OK) {
        rc = ATT_ERR_IO;
    }
    return rc;
}

/*
 * Create or check the database file before SQLite sees it; SQLite would
 * create it 0644 (less umask). O_NOFOLLOW: never create or open the database
 * through a planted symlink (without it, a dangling link makes SQLite create
 * the target world-readable); ELOOP is that case. O_NONBLOCK: a FIFO or
 * device at the path must not hang startup (no effect on a regular file).
 */
static att_err open_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
    if (fd < 0) {
        return errno == ELOOP || errno == EISDIR ? ATT_ERR_PERM : ATT_ERR_IO;
    }
    return close_checked(fd, check_private_fd(fd, path));
}

/*
 * The -wal and -shm files hold recent pages, so they need the same care.
 * SQLite creates them with the main file's mode, but files left by a crash
 * under an older release may be loose. Called before SQLite opens the
 * database (it must not write into a loose file) and again once WAL mode is
 * on. A missing file is fine: SQLite creates it from the main file's mode.
 */
static att_err check_sidecars(const char *path)
{
    static const char *const suffixes[] = {"-wal", "-shm"};
    char name[PATH_MAX];

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        int n = snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
        ATT_ENSURE(n > 0 && (size_t)n < sizeof(name), ATT_ERR_ARG);
        int fd = open(name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 && errno == ENOENT) {
            continue;
        }
        if (fd < 0) {
            return errno == ELOOP || errno == EISDIR ? ATT_ERR_PERM : ATT_ERR_IO;
        }
        ATT_TRY(close_checked(fd, check_private_fd(fd, name)));
    }
    return ATT_OK;
}

/* Run a PRAGMA that answers with one text row, and check the answer. */
static att_err pragma_expect(sqlite3 *db, const char *sql, const char *want)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;

    ATT_GUARD(prepare(db, sql, &st));
    ATT_GUARD(step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_STORE);
    const unsigned char *got = sqlite3_column_text(st, 0);
    ATT_CHECK(got != NULL && strcmp((const char *)got, want) == 0, ATT_ERR_STORE);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err configure(sqlite3 *db)
{
    int src = sqlite3_extended_result_codes(db, 1);
    ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
    /* Defensive mode forbids writes that can corrupt the file (writable_schema,
     * direct shadow-table edits); an untrusted schema runs no functions. */
    src = sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
    src = sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    ATT_ENSURE(src == SQLITE_OK, att_sqlite_err(src));
    /* busy_timeout first: switching to WAL needs a lock another process may hold. */
    ATT_TRY(att_sqlite_exec(db, "PRAGMA busy_timeout = 5000"));
    ATT_TRY(pragma_expect(db, "PRAGMA journal_mode = WAL", "wal"));
    ATT_TRY(att_sqlite_exec(db, "PRAGMA foreign_keys = ON"));
    ATT_TRY(pragma_expect(db, "PRAGMA foreign_keys", "1"));
    /* NORMAL is durable in WAL mode except for the last commits on power loss. */
    ATT_TRY(att_sqlite_exec(db, "PRAGMA synchronous = NORMAL"));
    return ATT_OK;
}

att_err att_store_open_sqlite(const char *path, struct att_store **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct sqlite_store *ss = NULL;
    sqlite3 *db = NULL;

    ATT_CHECK(path != NULL && out != NULL, ATT_ERR_ARG);
    bool on_disk = strcmp(path, ":memory:") != 0;
    if (on_disk) {
        ATT_GUARD(open_private(path));
        ATT_GUARD(check_sidecars(path));
    }
    /*
     * The file itself was checked above (regular, ours, 0600, not a link). Directories on
     * the way may be links: operators commonly point /var/lib/attestd at a data volume.
     */
    int src = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    ATT_CHECK(src == SQLITE_OK, att_sqlite_err(src));
    ATT_GUARD(configure(db));
    if (on_disk) {
        ATT_GUARD(check_sidecars(path));
    }
    ATT_GUARD(att_sqlite_migrate(db));
    ss = calloc(1, sizeof(*ss));
    ATT_CHECK(ss != NULL, ATT_ERR_NOMEM);
    ss->base.ops = &sqlite_ops;
    ss->db = db;
    db = NULL;
    *out = &ss->base;
    rc = ATT_OK;
out:
    /* sqlite3_open_v2 may hand back a handle even when it fails. */
    (void)sqlite3_close_v2(db);
    return rc;
}
