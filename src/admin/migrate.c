/*
 * migrate.c - attestctl store migrate (include/att/admin.h, att_admin_store_migrate*): an
 * SQLite store's whole state copied into a new PostgreSQL database through the store API,
 * record by record and table by table, so that attestd started on the target finds every
 * provider, key, principal, policy version and collateral item as it left them
 * (docs/operations.md "Moving to PostgreSQL").
 *
 * Input: the operator's two arguments, checked here before anything is opened, and two stores
 * of ours. Rows of the source are read by the store's own checked readers (a tampered row
 * fails the copy) and written through the checks of every insert. Sealed signing keys and
 * wrapped data keys are copied as the blobs they are, never unsealed: the target needs the
 * same key-encryption key.
 *
 * All or nothing: the source is read inside one transaction (a consistent snapshot, rolled
 * back at the end: never written) and the target written inside one, committed only when the
 * rows of every table there number those of the source; after the commit they are counted
 * once more.
 */
#include "att/admin.h"

#include "admin/admin_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "server/config.h"
#include "store/store.h"

#define SQLITE_PREFIX "sqlite:"

/* ---- arguments ---------------------------------------------------------------------- */

/* PATH of "sqlite:PATH", or NULL for another form. */
static const char *source_path(const char *from)
{
    size_t n = strlen(SQLITE_PREFIX);
    return strncmp(from, SQLITE_PREFIX, n) == 0 ? from + n : NULL;
}

int att_admin_store_migrate_check(const char *from, const char *to, char *err, size_t err_len)
{
    char msg[512];
    struct stat st;
    if (from == NULL || to == NULL) {
        att_admin_fail(err, err_len, "needs --from sqlite:PATH and --to postgresql://...");
        return 2;
    }
    const char *path = source_path(from);
    if (path == NULL || path[0] == '\0') {
        att_admin_fail(err, err_len,
                       "--from must be sqlite:PATH (the SQLite store to copy), "
                       "not '%s'",
                       from);
        return 2;
    }
    /* The URL is not repeated: a mistyped one may hold a password. */
    if (!att_store_is_postgresql_url(to)) {
        att_admin_fail(err, err_len, "--to must be a postgresql:// URL (the database to fill)");
        return 2;
    }
    if (att_store_url_check(to, msg, sizeof(msg)) != ATT_OK) {
        /* The check speaks of the configuration key ("store: ..."); here the URL is --to's. */
        size_t n = strlen("store: ");
        att_admin_fail(err, err_len, "--to: %s", strncmp(msg, "store: ", n) == 0 ? msg + n : msg);
        return 2;
    }
    /* Before the command opens any store: attestctl's own open would create a missing file. */
    if (lstat(path, &st) != 0) {
        att_admin_fail(err, err_len, "--from: %s: %s", path, strerror(errno));
        return 1;
    }
    if (!S_ISREG(st.st_mode)) {
        att_admin_fail(err, err_len, "--from: %s: not a regular file (an attestd SQLite store)",
                       path);
        return 1;
    }
    return 0;
}

/* ---- the two stores ------------------------------------------------------------------- */

struct stores {
    struct att_store *src; /* the source store */
    bool own_src;          /* opened here (else it is the admin's own) */
    struct att_store *dst; /* the target store */
    int schema;
    /* Whose audit checkpoint moves, and whose it becomes: the source's node (node_name, "" on
     * SQLite by default) and the name this host's node will have on PostgreSQL. */
    char src_node[ATT_NODE_NAME_MAX + 1];
    char dst_node[ATT_NODE_NAME_MAX + 1];
};

/* Whether `path` is the file of the SQLite store `a` has open (same device and inode). */
static bool is_admin_store(struct att_admin *a, const char *path)
{
    struct stat mine;
    struct stat theirs;
    const char *where = att_config_store_where(att_admin_config(a));
    return strcmp(att_store_backend(att_admin_store(a)), "sqlite") == 0 &&
           stat(where, &mine) == 0 && stat(path, &theirs) == 0 && mine.st_dev == theirs.st_dev &&
           mine.st_ino == theirs.st_ino;
}

/*
 * The source: the admin's own store when it is this file - a second connection's file checks
 * would open and close its descriptors, dropping this process's SQLite locks on it (sqlite.c,
 * check_sidecars) - else the file opened without creating or migrating it.
 */
static int open_source(struct att_admin *a, const char *path, struct stores *st, char *err,
                       size_t n)
{
    int latest = att_store_schema_latest();
    if (is_admin_store(a, path)) {
        st->src = att_admin_store(a);
        return att_store_schema_version(st->src, &st->schema) == ATT_OK
                   ? 0
                   : att_admin_fail(err, n, "--from: %s: cannot read its schema version", path);
    }
    int schema = 0;
    att_err rc = att_store_open_sqlite_existing(path, &st->src, &schema);
    if (rc == ATT_OK) {
        st->own_src = true;
        st->schema = schema;
        return 0;
    }
    if (rc == ATT_ERR_STORE_SCHEMA && schema == 0) {
        return att_admin_fail(err, n, "--from: %s: not an attestd store", path);
    }
    if (rc == ATT_ERR_STORE_SCHEMA && schema < latest) {
        return att_admin_fail(err, n,
                              "--from: %s: schema %d, older than this attestctl's (%d): start "
                              "this version's attestd on it once (it upgrades the schema), stop "
                              "it, then migrate",
                              path, schema, latest);
    }
    if (rc == ATT_ERR_STORE_SCHEMA) {
        return att_admin_fail(err, n,
                              "--from: %s: schema %d, newer than this attestctl's (%d): use the "
                              "attestctl of the attestd that wrote it",
                              path, schema, latest);
    }
    return att_admin_fail(err, n, "--from: %s: %s: %s", path, att_err_name(rc), att_err_str(rc));
}

/* The target, its schema made (as attestd would make it) and the same as the source's. */
static int open_target(const char *to, struct stores *st, char *err, size_t n)
{
    int schema = 0;
    att_err rc = att_store_open_postgresql(to, &st->dst);
    if (rc != ATT_OK) {
        return att_admin_fail(err, n, "--to: cannot open the database: %s: %s", att_err_name(rc),
                              att_err_str(rc));
    }
    rc = att_store_schema_version(st->dst, &schema);
    if (rc != ATT_OK || schema != st->schema) {
        return att_admin_fail(err, n, "--to: schema %d, the source's is %d", schema, st->schema);
    }
    return 0;
}

static void close_stores(struct stores *st)
{
    if (st->own_src) {
        att_store_close(st->src);
    }
    att_store_close(st->dst);
}

/* ---- the copy ------------------------------------------------------------------------- */

struct copy {
    struct att_store *src; /* the source's transaction */
    struct att_store *dst; /* the target's transaction */
    struct att_store_counts copied;
    enum att_store_table table; /* the table being read or written */
    bool writing;               /* a failure came from writing (else from reading) */
    char what[256];             /* the record being written, for the message */
    json_t *kek_ids;            /* the KEK ids the data keys are wrapped under */
    const char *src_node;       /* the audit checkpoint of this node ... */
    const char *dst_node;       /* ... becomes this node's (struct stores) */
};

/* Name the record about to be written into table t. */
__attribute__((format(printf, 3, 4))) static void about(struct copy *c, enum att_store_table t,
                                                        const char *fmt, ...)
{
    va_list ap;
    c->table = t;
    va_start(ap, fmt);
    vsnprintf(c->what, sizeof(c->what), fmt, ap);
    va_end(ap);
}

/* The outcome of writing the record about() named: counted, or marked as the failure. */
static att_err wrote(struct copy *c, att_err rc)
{
    if (rc != ATT_OK) {
        c->writing = true;
        return rc;
    }
    c->copied.rows[c->table]++;
    return ATT_OK;
}

static att_err put_dek(const struct att_dek_rec *d, void *arg)
{
    struct copy *c = arg;
    bool seen = false;
    size_t i;
    json_t *id;
    json_array_foreach(c->kek_ids, i, id)
    {
        seen = seen || strcmp(json_string_value(id), d->kek_id) == 0;
    }
    if (!seen) {
        ATT_ENSURE(json_array_append_new(c->kek_ids, json_string(d->kek_id)) == 0, ATT_ERR_NOMEM);
    }
    about(c, ATT_TABLE_DATA_KEYS, "data key %s", d->id);
    return wrote(c, att_store_dek_insert(c->dst, d));
}

static att_err put_auth_key(const struct att_key_rec *k, void *arg)
{
    struct copy *c = arg;
    about(c, ATT_TABLE_AUTH_KEYS, "access-token key %s", k->kid);
    return wrote(c, att_store_auth_key_insert(c->dst, k));
}

static att_err put_key(const struct att_key_rec *k, void *arg)
{
    struct copy *c = arg;
    about(c, ATT_TABLE_SIGNING_KEYS, "signing key %s of provider '%s'", k->kid, k->provider);
    return wrote(c, att_store_key_insert(c->dst, k));
}

static att_err put_signer(const struct att_signer_rec *r, void *arg)
{
    struct copy *c = arg;
    about(c, ATT_TABLE_POLICY_SIGNERS, "policy signer %s of provider '%s'", r->sha256, r->provider);
    return wrote(c, att_store_signer_insert(c->dst, r));
}

/* A provider, then the rows that hang on it by name alone: its keys and its signers. */
static att_err put_provider(const struct att_provider_rec *p, void *arg)
{
    struct copy *c = arg;
    about(c, ATT_TABLE_PROVIDERS, "provider '%s'", p->name);
    ATT_TRY(wrote(c, att_store_provider_insert(c->dst, p)));
    c->table = ATT_TABLE_SIGNING_KEYS;
    ATT_TRY(att_store_key_list(c->src, p->name, put_key, c));
    c->table = ATT_TABLE_POLICY_SIGNERS;
    ATT_TRY(att_store_signer_list(c->src, p->name, put_signer, c));
    c->table = ATT_TABLE_PROVIDERS; /* the list of providers reads on */
    return ATT_OK;
}

/* With its number, id and sealed JWS as they are: tokens and audit records name them. */
static att_err put_version(const struct att_policy_version_rec *v, void *arg)
{
    struct copy *c = arg;
    about(c, ATT_TABLE_POLICY_VERSIONS, "policy version %lld of %s on provider '%s'",
          (long long)v->version, v->type, v->provider);
    return wrote(c, att_store_policy_version_insert(c->dst, v));
}

/* Expired bound requests too: a copy changes nothing, the next change prunes them. */
static att_err put_request(const struct att_policy_request_rec *r, void *arg)
{
    struct copy *c = arg;
    about(c, ATT_TABLE_POLICY_REQUESTS, "policy request %s of provider '%s'", r->digest,
          r->provider);
    return wrote(c, att_store_policy_request_insert(c->dst, r));
}

static att_err put_secret(const struct att_secret_rec *sec, void *arg)
{
    struct copy *c = arg;
    about(c, ATT_TABLE_PRINCIPAL_SECRETS, "secret %s of principal %s", sec->id, sec->principal_id);
    return wrote(c, att_store_secret_insert(c->dst, sec));
}

static att_err put_principal(const struct att_principal_rec *p, void *arg)
{
    struct copy *c = arg;
    about(c, ATT_TABLE_PRINCIPALS, "principal '%s'", p->name);
    ATT_TRY(wrote(c, att_store_principal_insert(c->dst, p)));
    c->table = ATT_TABLE_PRINCIPAL_SECRETS;
    ATT_TRY(att_store_secret_list(c->src, p->id, put_secret, c));
    c->table = ATT_TABLE_PRINCIPALS; /* the list of principals reads on */
    return ATT_OK;
}

static att_err put_role(const struct att_role_rec *r, void *arg)
{
    struct copy *c = arg;
    about(c, ATT_TABLE_ROLE_ASSIGNMENTS, "role assignment %s", r->id);
    return wrote(c, att_store_role_insert(c->dst, r));
}

static att_err put_collateral(const struct att_collateral_rec *r, void *arg)
{
    struct copy *c = arg;
    about(c, ATT_TABLE_COLLATERAL, "collateral %s '%s'%s%s", r->kind, r->key,
          r->scope[0] != '\0' ? " of scope " : "", r->scope);
    return wrote(c, att_store_collateral_put(c->dst, r, NULL));
}

static att_err put_checkpoint(struct copy *c)
{
    struct att_audit_checkpoint_rec cp;
    att_audit_checkpoint_rec_init(&cp);
    c->table = ATT_TABLE_AUDIT_CHECKPOINT;
    att_err rc = att_store_audit_checkpoint_read(c->src, c->src_node, &cp);
    if (rc == ATT_OK) {
        about(c, ATT_TABLE_AUDIT_CHECKPOINT, "the audit checkpoint at record %lld",
              (long long)cp.seq);
        rc = wrote(c, att_store_audit_checkpoint_put(c->dst, c->dst_node, cp.seq, cp.hash,
                                                     att_buf_cstr(&cp.jws), cp.created_at));
    } else if (rc == ATT_ERR_NOT_FOUND) {
        rc = ATT_OK; /* no checkpoint made yet */
    }
    att_audit_checkpoint_rec_cleanup(&cp);
    return rc;
}

/* Every table, parents before the rows that name them. */
static att_err copy_all(struct copy *c)
{
    c->table = ATT_TABLE_DATA_KEYS;
    ATT_TRY(att_store_dek_list(c->src, put_dek, c));
    c->table = ATT_TABLE_AUTH_KEYS;
    ATT_TRY(att_store_auth_key_list(c->src, put_auth_key, c));
    c->table = ATT_TABLE_PROVIDERS;
    ATT_TRY(att_store_provider_list(c->src, put_provider, c));
    c->table = ATT_TABLE_POLICY_VERSIONS;
    ATT_TRY(att_store_policy_version_scan(c->src, put_version, c));
    c->table = ATT_TABLE_POLICY_REQUESTS;
    ATT_TRY(att_store_policy_request_list(c->src, put_request, c));
    c->table = ATT_TABLE_PRINCIPALS;
    ATT_TRY(att_store_principal_list(c->src, put_principal, c));
    c->table = ATT_TABLE_ROLE_ASSIGNMENTS;
    ATT_TRY(att_store_role_list(c->src, put_role, c));
    c->table = ATT_TABLE_COLLATERAL;
    ATT_TRY(att_store_collateral_list(c->src, put_collateral, c));
    return put_checkpoint(c);
}

/* ---- counting ------------------------------------------------------------------------- */

/* "providers: 2, data_keys: 1" for the tables that hold rows. */
static void describe_rows(const struct att_store_counts *n, char *out, size_t len)
{
    size_t at = 0;
    out[0] = '\0';
    for (int t = 0; t < ATT_STORE_TABLES && at < len; t++) {
        if (n->rows[t] > 0) {
            int w = snprintf(out + at, len - at, "%s%s: %lld", at > 0 ? ", " : "",
                             att_store_table_name(t), (long long)n->rows[t]);
            at += w > 0 ? (size_t)w : 0;
        }
    }
}

static bool is_empty(const struct att_store_counts *n)
{
    for (int t = 0; t < ATT_STORE_TABLES; t++) {
        if (n->rows[t] != 0) {
            return false;
        }
    }
    return true;
}

/* The first table whose rows differ, or ATT_STORE_TABLES when none does. */
static int first_difference(const struct att_store_counts *a, const struct att_store_counts *b)
{
    int t = 0;
    while (t < ATT_STORE_TABLES && a->rows[t] == b->rows[t]) {
        t++;
    }
    return t;
}

/* ---- the migration -------------------------------------------------------------------- */

/* Why the copy stopped, naming the record or the table. */
static int copy_failed(const struct copy *c, att_err rc, char *err, size_t n)
{
    if (c->writing) {
        return att_admin_fail(err, n, "writing %s into %s: %s: %s; the target was left as it was",
                              c->what, att_store_table_name(c->table), att_err_name(rc),
                              att_err_str(rc));
    }
    return att_admin_fail(err, n,
                          "reading %s from the source: %s: %s; the target was left as it was",
                          att_store_table_name(c->table), att_err_name(rc), att_err_str(rc));
}

/*
 * Inside the two transactions: the target must be empty; copy; the target's rows must then
 * number the source's, or nothing is committed (a row the store API cannot reach - a child
 * whose parent is gone in a file edited by hand - would otherwise be lost unnoticed).
 */
static int copy_in(struct copy *c, const struct att_store_counts *want, char *err, size_t n)
{
    struct att_store_counts got;
    char rows[512];
    att_err rc = att_store_count(c->dst, &got);
    if (rc != ATT_OK) {
        return att_admin_fail(err, n, "--to: cannot count its rows: %s: %s", att_err_name(rc),
                              att_err_str(rc));
    }
    if (!is_empty(&got)) {
        describe_rows(&got, rows, sizeof(rows));
        return att_admin_fail(err, n,
                              "--to: the database is not empty (%s); store migrate fills only a "
                              "new, empty database",
                              rows);
    }
    rc = copy_all(c);
    if (rc != ATT_OK) {
        return copy_failed(c, rc, err, n);
    }
    rc = att_store_count(c->dst, &got);
    if (rc != ATT_OK) {
        return att_admin_fail(err, n, "--to: cannot count the rows copied: %s: %s",
                              att_err_name(rc), att_err_str(rc));
    }
    int t = first_difference(want, &got);
    if (t < ATT_STORE_TABLES) {
        return att_admin_fail(err, n,
                              "%s holds %lld rows in the source, %lld were copied (rows the "
                              "store cannot reach, such as a secret whose principal is gone?); "
                              "the target was left as it was",
                              att_store_table_name(t), (long long)want->rows[t],
                              (long long)got.rows[t]);
    }
    return 0;
}

/* Read a consistent snapshot of the source, write it to the target, commit. */
static int migrate(struct stores *st, struct att_store_counts *want, json_t *kek_ids, char *err,
                   size_t n)
{
    struct copy c;
    memset(&c, 0, sizeof(c));
    c.kek_ids = kek_ids;
    c.src_node = st->src_node;
    c.dst_node = st->dst_node;
    att_err rc = att_store_begin(st->src, &c.src);
    if (rc != ATT_OK) {
        return att_admin_fail(err, n,
                              "--from: cannot begin reading: %s: %s (is attestd still "
                              "running on it? stop it first)",
                              att_err_name(rc), att_err_str(rc));
    }
    rc = att_store_count(c.src, want);
    if (rc == ATT_OK) {
        rc = att_store_begin(st->dst, &c.dst);
    }
    if (rc != ATT_OK) {
        att_ignore_err(att_store_rollback(c.src));
        return att_admin_fail(err, n, "cannot begin: %s: %s", att_err_name(rc), att_err_str(rc));
    }
    int failed = copy_in(&c, want, err, n);
    if (failed != 0) {
        att_ignore_err(att_store_rollback(c.dst));
    } else {
        rc = att_store_commit(c.dst);
        failed = rc == ATT_OK ? 0
                              : att_admin_fail(err, n,
                                               "--to: the commit failed: %s: %s; the target was "
                                               "left as it was",
                                               att_err_name(rc), att_err_str(rc));
    }
    att_ignore_err(att_store_rollback(c.src)); /* it only read */
    return failed;
}

/* After the commit, counted anew outside the transaction: what others now see. */
static int verify(struct stores *st, const struct att_store_counts *want, char *err, size_t n)
{
    struct att_store_counts got;
    att_err rc = att_store_count(st->dst, &got);
    if (rc != ATT_OK) {
        return att_admin_fail(err, n, "committed, but the target's rows cannot be counted: %s: %s",
                              att_err_name(rc), att_err_str(rc));
    }
    int t = first_difference(want, &got);
    if (t < ATT_STORE_TABLES) {
        return att_admin_fail(err, n,
                              "committed, but the target holds %lld rows of %s where the source "
                              "holds %lld: something else writes to it; do not use it",
                              (long long)got.rows[t], att_store_table_name(t),
                              (long long)want->rows[t]);
    }
    return 0;
}

static json_t *answer(const char *from, const char *to, const struct stores *st,
                      const struct att_store_counts *n, json_t *kek_ids)
{
    json_t *tables = json_array();
    json_int_t total = 0;
    for (int t = 0; tables != NULL && t < ATT_STORE_TABLES; t++) {
        json_array_append_new(tables, json_pack("{s:s,s:I}", "table", att_store_table_name(t),
                                                "rows", (json_int_t)n->rows[t]));
        total += n->rows[t];
    }
    return json_pack("{s:s,s:s,s:i,s:I,s:b,s:O,s:o,s:s}", "from", from, "to", to, "schema",
                     st->schema, "rows", total, "verified", true, "kek_ids", kek_ids, "tables",
                     tables, "node", st->dst_node);
}

int att_admin_store_migrate(struct att_admin *a, const char *from, const char *to, char **json_out,
                            char *err, size_t err_len)
{
    struct stores st;
    struct att_store_counts want;
    memset(&st, 0, sizeof(st));
    memset(&want, 0, sizeof(want));
    if (att_admin_store_migrate_check(from, to, err, err_len) != 0) {
        return 1;
    }
    const struct att_config *cfg = att_admin_config(a);
    snprintf(st.src_node, sizeof(st.src_node), "%s", cfg->node_name);
    att_config_cluster_node_name(cfg, st.dst_node, sizeof(st.dst_node));
    if (st.dst_node[0] == '\0') {
        return att_admin_fail(err, err_len,
                              "set node_name: the host name and data_dir make "
                              "no node name");
    }
    json_t *kek_ids = json_array();
    int rc = kek_ids == NULL ? att_admin_fail(err, err_len, "out of memory") : 0;
    if (rc == 0) {
        rc = open_source(a, source_path(from), &st, err, err_len);
    }
    if (rc == 0) {
        rc = open_target(to, &st, err, err_len);
    }
    if (rc == 0) {
        rc = migrate(&st, &want, kek_ids, err, err_len);
    }
    if (rc == 0) {
        rc = verify(&st, &want, err, err_len);
    }
    if (rc == 0) {
        rc = att_admin_dump(answer(from, to, &st, &want, kek_ids), json_out, err, err_len);
    }
    json_decref(kek_ids);
    close_stores(&st);
    return rc;
}
