/*
 * sqlite.c - the SQLite backend of struct att_store_ops: the connection
 * (open, file checks, configuration, transactions) and the operation table.
 * The record operations live in providers.c, identity.c, policies.c and collateral.c
 * (sqlite_int.h).
 *
 * Input trust: the path comes from configuration; the file at it may not be
 * ours (checked before SQLite sees it).
 *
 * Threads: the connection is opened with SQLITE_OPEN_FULLMUTEX and shared by
 * all threads. Single statements are therefore safe; a transaction is a handle
 * that holds the connection's mutex for its whole span (sq_begin), so other
 * threads' statements wait rather than join it. An operation that needs several
 * statements to stand or fall together (principal delete, identity.c) uses a
 * SAVEPOINT and holds the mutex the same way.
 */
#include "store/sqlite/sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store.h"

struct sqlite_store {
    struct att_store base; /* first, so a struct att_store * converts back */
    sqlite3 *db;
    bool in_tx;   /* a transaction's handle (sq_begin): shares db, holds its mutex */
    bool is_lock; /* a cluster lock's handle (sq_lock): shares db */
};

sqlite3 *att_sqlite_db(struct att_store *s)
{
    return ((struct sqlite_store *)s)->db;
}

static att_err sq_rollback(struct att_store *s);

/* ---- connection ---------------------------------------------------------- */

static void sq_close(struct att_store *s)
{
    struct sqlite_store *ss = (struct sqlite_store *)s;
    if (ss->in_tx) { /* a transaction closed without an end: roll it back */
        att_ignore_err(sq_rollback(s));
        return;
    }
    if (ss->is_lock) {
        free(ss);
        return;
    }
    (void)sqlite3_close_v2(ss->db);
    free(ss);
}

static att_err sq_ping(struct att_store *s)
{
    return att_sqlite_exec(att_sqlite_db(s), "SELECT 1");
}

static att_err sq_set_lock_wait(struct att_store *s, int ms)
{
    int rc = sqlite3_busy_timeout(att_sqlite_db(s), ms);
    return rc == SQLITE_OK ? ATT_OK : att_sqlite_err(rc);
}

static att_err sq_schema_version(struct att_store *s, int *out)
{
    return att_sqlite_schema_version(att_sqlite_db(s), out);
}

/* VACUUM INTO writes a consistent, compacted copy inside one read transaction (SQLite 3.27+). */
static att_err sq_snapshot(struct att_store *s, const char *path)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s), "VACUUM INTO ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, path));
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err sq_check(struct att_store *s)
{
    return att_sqlite_check_db(att_sqlite_db(s));
}

/* integrity_check answers one row "ok" when sound; foreign_key_check answers no row. */
att_err att_sqlite_check_db(sqlite3 *db)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    char verdict[8];
    bool done = false;
    ATT_GUARD(att_sqlite_prepare(db, "PRAGMA integrity_check(1)", &st));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_STORE);
    ATT_CHECK(sqlite3_column_type(st, 0) == SQLITE_TEXT &&
                  att_sqlite_col_text(st, 0, verdict, sizeof(verdict)) == ATT_OK &&
                  strcmp(verdict, "ok") == 0,
              ATT_ERR_STORE);
    sqlite3_finalize(st);
    st = NULL;
    ATT_GUARD(att_sqlite_prepare(db, "PRAGMA foreign_key_check", &st));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(done, ATT_ERR_STORE);
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* In enum att_store_table's order, one statement: one read transaction sees every count. */
_Static_assert(ATT_STORE_TABLES == 12, "a table was added: count it here and in postgres/pg.c");
static const char count_sql[] =
    "SELECT (SELECT COUNT(*) FROM providers), (SELECT COUNT(*) FROM signing_keys),"
    " (SELECT COUNT(*) FROM data_keys), (SELECT COUNT(*) FROM auth_keys),"
    " (SELECT COUNT(*) FROM principals), (SELECT COUNT(*) FROM principal_secrets),"
    " (SELECT COUNT(*) FROM role_assignments), (SELECT COUNT(*) FROM policy_versions),"
    " (SELECT COUNT(*) FROM policy_requests), (SELECT COUNT(*) FROM policy_signers),"
    " (SELECT COUNT(*) FROM collateral), (SELECT COUNT(*) FROM audit_checkpoint)";

att_err att_sqlite_count(struct att_store *s, struct att_store_counts *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s), count_sql, &st));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_STORE);
    for (int i = 0; i < ATT_STORE_TABLES; i++) {
        ATT_GUARD(att_sqlite_col_i64(st, i, &out->rows[i]));
    }
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/*
 * A transaction is a handle of its own over the same connection (store.h): it holds the
 * connection's mutex, which is recursive, from BEGIN to COMMIT or ROLLBACK, so the thread that
 * began it runs its statements inside it and every other thread's statements wait until it
 * ends instead of slipping in. IMMEDIATE takes the write lock at BEGIN rather than failing to
 * upgrade later.
 */
static att_err sq_begin(struct att_store *s, struct att_store **out)
{
    struct sqlite_store *ss = (struct sqlite_store *)s;
    ATT_ENSURE(!ss->in_tx, ATT_ERR_STATE);
    struct sqlite_store *tx = calloc(1, sizeof(*tx));
    ATT_ENSURE(tx != NULL, ATT_ERR_NOMEM);
    sqlite3_mutex_enter(sqlite3_db_mutex(ss->db));
    att_err rc = att_sqlite_exec(ss->db, "BEGIN IMMEDIATE");
    if (rc != ATT_OK) {
        sqlite3_mutex_leave(sqlite3_db_mutex(ss->db));
        free(tx);
        return rc;
    }
    *tx = *ss;
    tx->in_tx = true;
    *out = &tx->base;
    return ATT_OK;
}

static att_err tx_end(struct att_store *s, const char *sql)
{
    struct sqlite_store *tx = (struct sqlite_store *)s;
    ATT_ENSURE(tx->in_tx, ATT_ERR_STATE);
    att_err rc = att_sqlite_exec(tx->db, sql);
    if (rc != ATT_OK && sqlite3_get_autocommit(tx->db) == 0) {
        att_ignore_err(att_sqlite_exec(tx->db, "ROLLBACK")); /* never leave it open */
    }
    sqlite3_mutex_leave(sqlite3_db_mutex(tx->db));
    free(tx);
    return rc;
}

static att_err sq_commit(struct att_store *s)
{
    return tx_end(s, "COMMIT");
}

static att_err sq_rollback(struct att_store *s)
{
    return tx_end(s, "ROLLBACK");
}

/* ---- many nodes: there is one ------------------------------------------------ */

static att_err sq_changes_get(struct att_store *s, struct att_store_changes *out)
{
    static const char *const sql[ATT_TOPIC_COUNT] = {
        "SELECT seq FROM store_changes WHERE topic = 'providers'",
        "SELECT seq FROM store_changes WHERE topic = 'collateral'",
    };
    for (size_t i = 0; i < ATT_TOPIC_COUNT; i++) {
        ATT_TRY(att_sqlite_query_i64(att_sqlite_db(s), sql[i], &out->seq[i]));
    }
    return ATT_OK;
}

static att_err sq_secret_put_new(struct att_store *s, const char *name, const uint8_t *sealed,
                                 size_t len, int64_t now)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "INSERT INTO cluster_secrets(name, sealed, created_at)"
                                 " VALUES(?1, ?2, ?3) ON CONFLICT(name) DO NOTHING",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, name));
    ATT_GUARD(att_sqlite_bind_blob(st, 2, sealed, len));
    ATT_GUARD(att_sqlite_bind_i64(st, 3, now));
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, NULL));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err sq_secret_get(struct att_store *s, const char *name, struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    bool done = false;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "SELECT sealed FROM cluster_secrets WHERE name = ?1", &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, name));
    ATT_GUARD(att_sqlite_step_row(st, &done));
    ATT_CHECK(!done, ATT_ERR_NOT_FOUND);
    ATT_GUARD(att_sqlite_col_blob(st, 0, out));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

/* The uses expired at `now` go first; then the use is new or a replay (the primary key). */
static att_err sq_challenge_claim(struct att_store *s, const char *provider, const char *nonce,
                                  int64_t expires, int64_t now)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    int changes = 0;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "DELETE FROM used_challenges WHERE expires_at < ?1", &st));
    ATT_GUARD(att_sqlite_bind_i64(st, 1, now));
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, NULL));
    sqlite3_finalize(st);
    st = NULL;
    ATT_GUARD(att_sqlite_prepare(att_sqlite_db(s),
                                 "INSERT INTO used_challenges(provider, nonce, expires_at)"
                                 " VALUES(?1, ?2, ?3) ON CONFLICT DO NOTHING",
                                 &st));
    ATT_GUARD(att_sqlite_bind_text(st, 1, provider));
    ATT_GUARD(att_sqlite_bind_text(st, 2, nonce));
    ATT_GUARD(att_sqlite_bind_i64(st, 3, expires));
    ATT_GUARD(att_sqlite_step_done(att_sqlite_db(s), st, &changes));
    rc = changes == 1 ? ATT_OK : ATT_ERR_TOKEN_REPLAY;
out:
    sqlite3_finalize(st);
    return rc;
}

/* No other node writes: nothing to be told, only the time to wait. */
static att_err sq_changes_wait(struct att_store *s, int timeout_ms)
{
    (void)s;
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return ATT_ERR_TIMEOUT;
}

/* One node holds every cluster lock: a handle over the same connection, freed on unlock. */
static att_err sq_lock(struct att_store *s, int64_t key, bool wait, struct att_store **out)
{
    (void)key;
    (void)wait;
    struct sqlite_store *ss = (struct sqlite_store *)s;
    ATT_ENSURE(!ss->in_tx && !ss->is_lock, ATT_ERR_STATE);
    struct sqlite_store *l = calloc(1, sizeof(*l));
    ATT_ENSURE(l != NULL, ATT_ERR_NOMEM);
    *l = *ss;
    l->is_lock = true;
    *out = &l->base;
    return ATT_OK;
}

static void sq_unlock(struct att_store *lock)
{
    struct sqlite_store *l = (struct sqlite_store *)lock;
    if (l->is_lock) {
        free(l);
    }
}

/*
 * The identity lock (store.h): a transaction here began with BEGIN IMMEDIATE and holds the
 * database's write lock until it ends, which already keeps every other writer - other
 * threads' transactions, other processes - out. Only a transaction's handle holds it.
 */
static att_err sq_identity_lock(struct att_store *s)
{
    ATT_ENSURE(((struct sqlite_store *)s)->in_tx, ATT_ERR_STATE);
    return ATT_OK;
}

/* ---- the operation table ---------------------------------------------------- */

static const struct att_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .ping = sq_ping,
    .schema_version = sq_schema_version,
    .snapshot = sq_snapshot,
    .check = sq_check,
    .set_lock_wait = sq_set_lock_wait,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .count = att_sqlite_count,
    .provider_insert = att_sqlite_provider_insert,
    .provider_get = att_sqlite_provider_get,
    .provider_list = att_sqlite_provider_list,
    .provider_delete = att_sqlite_provider_delete,
    .provider_set_attest_requires_auth = att_sqlite_provider_set_attest_requires_auth,
    .provider_set_collateral_grace = att_sqlite_provider_set_collateral_grace,
    .provider_set_require_bound_requests = att_sqlite_provider_set_require_bound_requests,
    .provider_set_policy_history_keep = att_sqlite_provider_set_policy_history_keep,
    .provider_set_audit_fail_open = att_sqlite_provider_set_audit_fail_open,
    .provider_set_issuer = att_sqlite_provider_set_issuer,
    .audit_checkpoint_put = att_sqlite_audit_checkpoint_put,
    .audit_checkpoint_get = att_sqlite_audit_checkpoint_get,
    .audit_checkpoint_clear = att_sqlite_audit_checkpoint_clear,
    .audit_checkpoint_read = att_sqlite_audit_checkpoint_read,
    .key_insert = att_sqlite_key_insert,
    .key_list = att_sqlite_key_list,
    .key_delete = att_sqlite_key_delete,
    .key_note_use = att_sqlite_key_note_use,
    .key_set_activate = att_sqlite_key_set_activate,
    .dek_insert = att_sqlite_dek_insert,
    .dek_get = att_sqlite_dek_get,
    .dek_get_active = att_sqlite_dek_get_active,
    .dek_list = att_sqlite_dek_list,
    .dek_rewrap = att_sqlite_dek_rewrap,
    .auth_key_insert = att_sqlite_auth_key_insert,
    .auth_key_list = att_sqlite_auth_key_list,
    .principal_insert = att_sqlite_principal_insert,
    .principal_get = att_sqlite_principal_get,
    .principal_get_by_name = att_sqlite_principal_get_by_name,
    .principal_get_by_cert = att_sqlite_principal_get_by_cert,
    .principal_list = att_sqlite_principal_list,
    .principal_set_disabled = att_sqlite_principal_set_disabled,
    .principal_set_cert = att_sqlite_principal_set_cert,
    .principal_touch = att_sqlite_principal_touch,
    .principal_delete = att_sqlite_principal_delete,
    .secret_insert = att_sqlite_secret_insert,
    .secret_list = att_sqlite_secret_list,
    .secret_revoke = att_sqlite_secret_revoke,
    .role_insert = att_sqlite_role_insert,
    .role_get = att_sqlite_role_get,
    .role_list = att_sqlite_role_list,
    .role_list_for = att_sqlite_role_list_for,
    .role_count_enabled = att_sqlite_role_count_enabled,
    .role_delete = att_sqlite_role_delete,
    .identity_lock = sq_identity_lock,
    .policy_version_append = att_sqlite_policy_version_append,
    .policy_version_get = att_sqlite_policy_version_get,
    .policy_version_list = att_sqlite_policy_version_list,
    .policy_version_insert = att_sqlite_policy_version_insert,
    .policy_version_scan = att_sqlite_policy_version_scan,
    .policy_request_claim = att_sqlite_policy_request_claim,
    .policy_request_get = att_sqlite_policy_request_get,
    .policy_request_forget = att_sqlite_policy_request_forget,
    .policy_request_insert = att_sqlite_policy_request_insert,
    .policy_request_list = att_sqlite_policy_request_list,
    .signer_insert = att_sqlite_signer_insert,
    .signer_delete = att_sqlite_signer_delete,
    .signer_get = att_sqlite_signer_get,
    .signer_list = att_sqlite_signer_list,
    .collateral_put = att_sqlite_collateral_put,
    .collateral_get = att_sqlite_collateral_get,
    .collateral_delete_scope = att_sqlite_collateral_delete_scope,
    .secret_put_new = sq_secret_put_new,
    .secret_get = sq_secret_get,
    .challenge_claim = sq_challenge_claim,
    .changes_get = sq_changes_get,
    .changes_wait = sq_changes_wait,
    .lock = sq_lock,
    .unlock = sq_unlock,
    .collateral_list = att_sqlite_collateral_list,
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
static att_err check_private(const struct stat *stp, int fd, const char *path)
{
    struct stat st = *stp;

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
        ATT_ENSURE((fd >= 0 ? fchmod(fd, 0600) : chmod(path, 0600)) == 0, ATT_ERR_IO);
    }
    return ATT_OK;
}

static att_err check_private_fd(int fd, const char *path)
{
    struct stat st;
    ATT_ENSURE(fstat(fd, &st) == 0, ATT_ERR_IO);
    return check_private(&st, fd, path);
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
static att_err open_private(const char *path, bool create)
{
    int fd =
        open(path, O_RDWR | (create ? O_CREAT : 0) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
             0600);
    if (fd < 0) {
        /* A missing directory on the way is an I/O error for a file we would create. */
        return errno == ENOENT && !create          ? ATT_ERR_NOT_FOUND
               : errno == ELOOP || errno == EISDIR ? ATT_ERR_PERM
                                                   : ATT_ERR_IO;
    }
    return close_checked(fd, check_private_fd(fd, path));
}

/*
 * The -wal and -shm files hold recent pages, so they need the same care.
 * SQLite creates them with the main file's mode, but files left by a crash
 * under an older release may be loose. Called before SQLite opens the
 * database (it must not write into a loose file) and again once WAL mode is
 * on. A missing file is fine: SQLite creates it from the main file's mode.
 *
 * Once SQLite has them open (`sqlite_has_them`), they are checked by name (lstat)
 * and never opened: closing any descriptor of a file drops every POSIX lock this
 * process holds on it, SQLite's included - the -shm file's lock that tells other
 * processes this one uses the database among them. Without it, an attestctl run
 * took itself for the only user, truncated the -shm file, and the daemon's next
 * commit died of SIGBUS in its mapping of it.
 */
static att_err check_sidecars(const char *path, bool sqlite_has_them)
{
    static const char *const suffixes[] = {"-wal", "-shm"};
    char name[PATH_MAX];

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        int n = snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
        ATT_ENSURE(n > 0 && (size_t)n < sizeof(name), ATT_ERR_ARG);
        if (sqlite_has_them) {
            struct stat st;
            if (lstat(name, &st) != 0) {
                ATT_ENSURE(errno == ENOENT, ATT_ERR_IO);
                continue;
            }
            ATT_TRY(check_private(&st, -1, name));
            continue;
        }
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

    ATT_GUARD(att_sqlite_prepare(db, sql, &st));
    ATT_GUARD(att_sqlite_step_row(st, &done));
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

/* att_sqlite_open_file, or with create false an existing file only (ATT_ERR_NOT_FOUND). */
static att_err open_file(const char *path, bool check_files, bool create, sqlite3 **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3 *db = NULL;

    bool on_disk = check_files && strcmp(path, ":memory:") != 0;
    if (on_disk) {
        ATT_GUARD(open_private(path, create));
        ATT_GUARD(check_sidecars(path, false));
    }
    /*
     * The file itself was checked above (regular, ours, 0600, not a link). Directories on
     * the way may be links: operators commonly point /var/lib/attestd at a data volume.
     */
    int src = sqlite3_open_v2(
        path, &db,
        SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX, NULL);
    ATT_CHECK(src == SQLITE_OK, att_sqlite_err(src));
    ATT_GUARD(configure(db));
    if (on_disk) {
        ATT_GUARD(check_sidecars(path, true));
    }
    *out = db;
    db = NULL;
    rc = ATT_OK;
out:
    /* sqlite3_open_v2 may hand back a handle even when it fails. */
    (void)sqlite3_close_v2(db);
    return rc;
}

att_err att_sqlite_open_file(const char *path, bool check_files, sqlite3 **out)
{
    return open_file(path, check_files, true, out);
}

static att_err store_new(sqlite3 *db, struct att_store **out)
{
    struct sqlite_store *ss = calloc(1, sizeof(*ss));
    ATT_ENSURE(ss != NULL, ATT_ERR_NOMEM);
    ss->base.ops = &sqlite_ops;
    ss->db = db;
    *out = &ss->base;
    return ATT_OK;
}

/*
 * The schema version of a database that may be no attestd store at all: 0 when it has no
 * schema_migrations table (asking that table's version would fail as an SQL error instead).
 */
static att_err existing_schema(sqlite3 *db, int *out)
{
    int64_t tables = 0;
    ATT_TRY(att_sqlite_query_i64(db,
                                 "SELECT COUNT(*) FROM sqlite_master"
                                 " WHERE type = 'table' AND name = 'schema_migrations'",
                                 &tables));
    if (tables == 0) {
        *out = 0;
        return ATT_OK;
    }
    return att_sqlite_schema_version(db, out);
}

att_err att_store_open_sqlite_existing(const char *path, struct att_store **out, int *schema)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3 *db = NULL;
    int version = 0;

    ATT_CHECK(path != NULL && out != NULL && strcmp(path, ":memory:") != 0, ATT_ERR_ARG);
    ATT_GUARD(open_file(path, true, false, &db));
    ATT_GUARD(existing_schema(db, &version));
    if (schema != NULL) {
        *schema = version;
    }
    /* A reader never migrates: the file stays as the program that wrote it left it. */
    ATT_CHECK(version == att_store_schema_latest(), ATT_ERR_STORE_SCHEMA);
    ATT_GUARD(store_new(db, out));
    db = NULL;
    rc = ATT_OK;
out:
    (void)sqlite3_close_v2(db);
    return rc;
}

att_err att_store_open_sqlite(const char *path, struct att_store **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3 *db = NULL;

    ATT_CHECK(path != NULL && out != NULL, ATT_ERR_ARG);
    ATT_GUARD(att_sqlite_open_file(path, true, &db));
    ATT_GUARD(att_sqlite_migrate(db));
    ATT_GUARD(store_new(db, out));
    db = NULL;
    rc = ATT_OK;
out:
    (void)sqlite3_close_v2(db);
    return rc;
}
