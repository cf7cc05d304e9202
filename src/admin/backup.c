/*
 * backup.c - attestctl backup create / backup verify / restore (include/att/admin.h;
 * docs/operations.md "Backup and restore"; the format: src/backup/archive.h).
 *
 * A backup is a consistent snapshot of the state database (SQLite's VACUUM INTO, taken while
 * attestd runs) and a manifest, encrypted under a passphrase or a backup key file and signed
 * with the access-token key. Keys stay sealed under the KEK inside it: a restore needs the KEK
 * as well as the backup's own secret, and never sees a private key in clear.
 *
 * A restore works in a private directory next to the target and renames it into place only
 * when every check has passed: a refused restore writes nothing where it was pointed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "admin/admin_int.h"
#include "audit/audit.h"
#include "auth/access.h"
#include "backup/archive.h"
#include "core/codec.h"
#include "core/file.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "provider/provider.h"
#include "seal/keyring.h"
#include "seal/seal.h"
#include "server/config.h"
#include "store/audit_db.h"
#include "store/store.h"

#define DB_ENTRY "attestd.db"
#define MANIFEST_ENTRY "manifest.json"
#define MANIFEST_MAX ((size_t)1 << 20)
#define ARCHIVE_READ_MAX (ATT_BACKUP_MAX + ((size_t)64 << 10))
#define PASS_FILE_MAX 1024

/* ---- the backup's own secret ---- */

/*
 * The key of an archive with header `h`: from the passphrase file (its first line) or the key
 * file (64 hex characters, as `attestctl kek generate` writes). Exactly one must be given.
 */
static int backup_key(const struct att_admin_backup_secret *sec, const struct att_backup_header *h,
                      struct att_backup_key *k, char *err, size_t err_len)
{
    if ((sec->passphrase_file == NULL) == (sec->key_file == NULL)) {
        return att_admin_fail(err, err_len, "give either --passphrase-file or --key-file");
    }
    if ((sec->key_file != NULL) != (h->kdf == ATT_BACKUP_KDF_KEY)) {
        return att_admin_fail(err, err_len, "the archive was made with %s",
                              h->kdf == ATT_BACKUP_KDF_KEY ? "a key file (--key-file)"
                                                           : "a passphrase (--passphrase-file)");
    }
    if (sec->key_file != NULL) {
        struct att_kek raw;
        att_err e = att_kek_load_file(sec->key_file, &raw);
        if (e != ATT_OK) {
            return att_admin_fail(err, err_len, "%s: %s", sec->key_file,
                                  e == ATT_ERR_PERM ? "must be a regular file of this user with "
                                                      "mode 0600 or 0400"
                                                    : "not a key file (64 hex characters)");
        }
        e = att_backup_key_from_bytes(raw.key, k);
        att_kek_wipe(&raw);
        return e == ATT_OK ? 0 : att_admin_fail(err, err_len, "%s", att_err_str(e));
    }
    char pass[PASS_FILE_MAX + 2];
    size_t len = 0;
    att_err e = att_secret_file_read(sec->passphrase_file, pass, sizeof(pass), &len);
    if (e == ATT_OK && len > 0 && pass[len - 1] == '\n') {
        len--; /* one line, as `echo` or an editor writes it (CRLF too) */
        len -= len > 0 && pass[len - 1] == '\r' ? 1 : 0;
    }
    if (e == ATT_OK && (len < 8 || len > PASS_FILE_MAX || memchr(pass, '\n', len) != NULL ||
                        memchr(pass, '\r', len) != NULL || memchr(pass, 0, len) != NULL)) {
        e = ATT_ERR_ARG;
    }
    if (e == ATT_OK) {
        e = att_backup_key_from_passphrase(pass, len, h, k);
    }
    att_wipe(pass, sizeof(pass));
    if (e == ATT_OK) {
        return 0;
    }
    return att_admin_fail(err, err_len, "%s: %s", sec->passphrase_file,
                          e == ATT_ERR_PERM  ? "must be a regular file of this user with mode "
                                               "0600 or 0400"
                          : e == ATT_ERR_ARG ? "the passphrase must be one line of 8 to 1024 bytes "
                                               "(no NUL)"
                          : e == ATT_ERR_BACKUP_FORMAT
                              ? "the archive asks for a passphrase cost out of bounds"
                              : att_err_str(e));
}

/* ---- create ---- */

/* The newest access-token key's certificate: the key att_auth signs with (src/auth/access.c). */
static att_err newest_auth_cert(const struct att_key_rec *k, void *arg)
{
    struct att_buf *cert = arg;
    cert->len = 0;
    return att_buf_put(cert, k->cert_der.data, k->cert_der.len);
}

static att_err sign_with_auth(void *arg, const char *digest_hex, size_t len, struct att_buf *jws)
{
    return att_auth_sign(arg, ATT_BACKUP_JWS_TYP, digest_hex, len, jws);
}

/*
 * What the archive holds, for `backup verify` and the restore's report: counted in the
 * snapshot itself (`img`), so they are the archive's even while others keep writing.
 */
static json_t *manifest(struct att_admin *a, const struct att_store_image *img, int64_t now,
                        char *err, size_t err_len)
{
    struct att_store *store = att_admin_store(a);
    int64_t head_seq = 0, first_seq = 0, kept_seq = 0;
    char head_hash[ATT_AUDIT_HASH_HEX + 1] = "";
    char kept_hash[65] = "";
    char created[32];
    struct att_audit_db *db = NULL;
    /* The trail is open already (the attempt record): a second handle, unchecked. */
    att_err e = att_audit_db_open(att_admin_audit_path(a), 2000, false, &db);
    if (e == ATT_OK) {
        e = att_audit_db_head(db, &head_seq, head_hash, &first_seq);
    }
    att_audit_db_close(db);
    if (e == ATT_OK && att_store_audit_checkpoint_get(store, att_admin_config(a)->node_name,
                                                      &kept_seq, kept_hash) != ATT_OK) {
        kept_seq = 0; /* no checkpoint yet */
    }
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "cannot read the audit trail's head: %s", att_err_str(e));
        return NULL;
    }
    att_time_format(now, created, sizeof(created));
    return json_pack("{s:i,s:s,s:i,s:s,s:{s:I,s:I,s:I,s:I,s:I},s:{s:I,s:s,s:I,s:s}}", "format",
                     ATT_BACKUP_FORMAT, "created", created, "schema", img->schema, "public_url",
                     att_admin_config(a)->public_url, "counts", "providers",
                     (json_int_t)img->providers, "signing_keys", (json_int_t)img->signing_keys,
                     "policy_versions", (json_int_t)img->policy_versions, "principals",
                     (json_int_t)img->principals, "role_assignments",
                     (json_int_t)img->role_assignments, "audit", "head_seq", (json_int_t)head_seq,
                     "head_hash", head_hash, "checkpoint_seq", (json_int_t)kept_seq,
                     "checkpoint_hash", kept_seq > 0 ? kept_hash : "");
}

/* Remove a private work directory and what we put in it (never anything else). */
static void remove_work_dir(const char *dir)
{
    static const char *names[] = {DB_ENTRY,   DB_ENTRY "-wal", DB_ENTRY "-shm",
                                  "audit.db", "audit.db-wal",  "audit.db-shm"};
    char file[1300];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(file, sizeof(file), "%s/%s", dir, names[i]);
        (void)unlink(file);
    }
    (void)rmdir(dir);
}

/*
 * Remove work directories an interrupted run left next to `path` (path.TAG-XXXXXX, ours,
 * holding only what we put there): a crash must not leave a copy of the state lying around.
 */
static void sweep_leftovers(const char *path, const char *tag, FILE *warn)
{
    char dirname_buf[1200], prefix[256], full[1300];
    snprintf(dirname_buf, sizeof(dirname_buf), "%s", path);
    char *slash = strrchr(dirname_buf, '/');
    const char *base = slash != NULL ? slash + 1 : dirname_buf;
    int w = snprintf(prefix, sizeof(prefix), "%s.%s-", base, tag);
    if (w < 0 || (size_t)w >= sizeof(prefix)) {
        return;
    }
    if (slash != NULL) {
        *slash = 0;
    }
    DIR *d = opendir(slash != NULL ? (dirname_buf[0] != 0 ? dirname_buf : "/") : ".");
    struct dirent *ent;
    while (d != NULL && (ent = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(ent->d_name, prefix, (size_t)w) != 0 || strlen(ent->d_name) != (size_t)w + 6) {
            continue;
        }
        snprintf(full, sizeof(full), "%s/%s", slash != NULL ? dirname_buf : ".", ent->d_name);
        if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid()) {
            fprintf(warn, "attestctl: removing %s, left by an interrupted run\n", full);
            remove_work_dir(full);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
}

/* A private directory next to `path` (same file system): path.TAG-XXXXXX, mode 0700. */
static int private_dir_near(const char *path, const char *tag, char *out, size_t n, char *err,
                            size_t err_len)
{
    int w = snprintf(out, n, "%s.%s-XXXXXX", path, tag);
    if (w < 0 || (size_t)w >= n || mkdtemp(out) == NULL) {
        return att_admin_fail(err, err_len, "cannot make a private directory next to %s: %s", path,
                              w < 0 || (size_t)w >= n ? "path too long" : strerror(errno));
    }
    return 0;
}

/* Take the snapshot into a private directory next to the database and read it back. */
static int snapshot(struct att_admin *a, struct att_buf *db_bytes, char *err, size_t err_len)
{
    char dir[1200];
    char file[1300];
    sweep_leftovers(att_admin_config(a)->database, "backup", att_admin_warnings(a));
    if (private_dir_near(att_admin_config(a)->database, "backup", dir, sizeof(dir), err, err_len) !=
        0) {
        return 1;
    }
    snprintf(file, sizeof(file), "%s/%s", dir, DB_ENTRY);
    att_err e = att_store_snapshot(att_admin_store(a), file);
    if (e == ATT_OK) {
        e = chmod(file, 0600) == 0 ? ATT_OK : ATT_ERR_IO; /* SQLite made it 0644 */
    }
    if (e == ATT_OK) {
        e = att_file_read_regular(file, ATT_BACKUP_MAX, db_bytes);
    }
    (void)unlink(file);
    (void)rmdir(dir);
    return e == ATT_OK
               ? 0
               : att_admin_fail(err, err_len, "cannot snapshot the store: %s", att_err_str(e));
}

/* Write `data` to a new file `path` (mode 0600, never over an existing file), fsynced. */
static int write_new_file(const char *path, const uint8_t *data, size_t len, char *err,
                          size_t err_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return att_admin_fail(err, err_len, "%s: %s", path, strerror(errno));
    }
    bool ok = att_file_write_all(fd, data, len) == ATT_OK && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        (void)unlink(path);
        return att_admin_fail(err, err_len, "%s: cannot write: %s", path, strerror(saved));
    }
    return 0;
}

/* The payload of a new archive: the manifest and the snapshot (checked as a restore will). */
static int build_payload(struct att_admin *a, int64_t now, struct att_buf *payload,
                         json_t **man_out, char *err, size_t err_len)
{
    struct att_buf db;
    struct att_store_image img;
    att_buf_init(&db, ATT_BACKUP_MAX);
    int rc = snapshot(a, &db, err, err_len);
    if (rc == 0) {
        att_err e = att_store_sqlite_check_image(db.data, db.len, &img);
        rc = e == ATT_OK
                 ? 0
                 : att_admin_fail(err, err_len, "the snapshot does not check: %s", att_err_str(e));
    }
    json_t *man = rc == 0 ? manifest(a, &img, now, err, err_len) : NULL;
    char *text = man != NULL ? json_dumps(man, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (man != NULL && (text == NULL ||
                        att_backup_entry_put(payload, MANIFEST_ENTRY, (const uint8_t *)text,
                                             strlen(text)) != ATT_OK ||
                        att_backup_entry_put(payload, DB_ENTRY, db.data, db.len) != ATT_OK)) {
        rc = att_admin_fail(err, err_len, "the store is too large to back up (over 1 GiB)");
    }
    free(text);
    att_buf_cleanup(&db);
    if (rc != 0 || man == NULL) {
        json_decref(man);
        return 1;
    }
    *man_out = man;
    return 0;
}

int att_admin_backup_create(struct att_admin *a, const char *path,
                            const struct att_admin_backup_secret *sec, char **json_out, char *err,
                            size_t err_len)
{
    int64_t now = att_time_now();
    struct att_backup_header h = {.created_at = now};
    struct att_backup_key key;
    struct att_buf payload, cert, archive;
    struct att_auth *auth = NULL;
    json_t *man = NULL;
    char kid[ATT_KID_MAX + 1] = "";
    int rc = 1;
    att_buf_init_secret(&payload, ATT_BACKUP_MAX + ((size_t)2 << 20));
    att_buf_init(&cert, 16384);
    att_buf_init(&archive, ARCHIVE_READ_MAX);
    memset(&key, 0, sizeof(key));
    if (sec->passphrase_file != NULL) {
        h.kdf = ATT_BACKUP_KDF_SCRYPT;
        h.ln = ATT_BACKUP_SCRYPT_LN;
        h.r = ATT_BACKUP_SCRYPT_R;
        h.p = ATT_BACKUP_SCRYPT_P;
        if (RAND_bytes(h.salt, sizeof(h.salt)) != 1) {
            att_admin_fail(err, err_len, "no randomness for the salt");
            goto out;
        }
    } else {
        h.kdf = ATT_BACKUP_KDF_KEY;
    }
    /* First the signer: att_auth_new makes the access-token key when attestd never ran on
     * this store, and the snapshot must hold it. */
    att_err e = att_auth_new(att_admin_store(a), att_admin_keyring(a),
                             att_admin_config(a)->public_url, now, &auth);
    if (e == ATT_OK) {
        e = att_store_auth_key_list(att_admin_store(a), newest_auth_cert, &cert);
    }
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "cannot load the access-token key: %s", att_err_str(e));
        goto out;
    }
    if (backup_key(sec, &h, &key, err, err_len) != 0 ||
        build_payload(a, now, &payload, &man, err, err_len) != 0) {
        goto out;
    }
    h.schema = (uint32_t)json_integer_value(json_object_get(man, "schema"));
    e = att_backup_write(&h, &key, payload.data, payload.len, cert.data, cert.len, sign_with_auth,
                         auth, &archive);
    /* Read back what was written, as `backup verify` will. */
    struct att_backup_view v;
    if (e == ATT_OK) {
        e = att_backup_parse(archive.data, archive.len, &v);
    }
    if (e == ATT_OK) {
        e = att_backup_check_signature(&v, kid);
    }
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "cannot make the archive: %s", att_err_str(e));
        goto out;
    }
    if (write_new_file(path, archive.data, archive.len, err, err_len) != 0) {
        goto out;
    }
    json_object_set_new(man, "file", json_string(path));
    json_object_set_new(man, "bytes", json_integer((json_int_t)archive.len));
    json_object_set_new(man, "signer_kid", json_string(kid));
    rc = att_admin_dump(man, json_out, err, err_len);
    man = NULL;
out:
    json_decref(man);
    att_auth_free(auth);
    att_backup_key_wipe(&key);
    att_buf_cleanup(&payload);
    att_buf_cleanup(&cert);
    att_buf_cleanup(&archive);
    return rc;
}

/* ---- reading an archive (verify and restore) ---- */

/* An archive read, checked and (with a secret) decrypted. */
struct opened {
    struct att_buf file;
    struct att_backup_view view;
    char kid[ATT_KID_MAX + 1];
    struct att_buf payload; /* empty without a secret */
    struct att_bytes db;
    json_t *manifest;
};

static void opened_init(struct opened *o)
{
    memset(o, 0, sizeof(*o));
    att_buf_init(&o->file, ARCHIVE_READ_MAX);
    att_buf_init_secret(&o->payload, ATT_BACKUP_MAX);
}

static void opened_cleanup(struct opened *o)
{
    att_buf_cleanup(&o->file);
    att_buf_cleanup(&o->payload);
    json_decref(o->manifest);
}

/* Read, parse and check the signature; with `sec`, decrypt and find the entries. */
static int open_archive(const char *path, const struct att_admin_backup_secret *sec,
                        struct opened *o, char *err, size_t err_len)
{
    att_err e = att_file_read_regular(path, ARCHIVE_READ_MAX, &o->file);
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "%s: %s", path,
                              e == ATT_ERR_TOO_LARGE ? "larger than any backup"
                              : errno == EINVAL      ? "not a regular file"
                                                     : strerror(errno));
    }
    if (att_backup_parse(o->file.data, o->file.len, &o->view) != ATT_OK) {
        return att_admin_fail(
            err, err_len, "%s: not a backup archive, or one that is truncated or malformed", path);
    }
    if (att_backup_check_signature(&o->view, o->kid) != ATT_OK) {
        return att_admin_fail(err, err_len, "%s: the signature does not verify (altered)", path);
    }
    if (o->view.h.schema > (uint32_t)att_store_schema_latest()) {
        return att_admin_fail(err, err_len,
                              "%s: made with database schema %u, newer than this attestctl "
                              "knows (%d): use a newer attestctl",
                              path, o->view.h.schema, att_store_schema_latest());
    }
    if (sec == NULL) {
        return 0;
    }
    struct att_backup_key key;
    if (backup_key(sec, &o->view.h, &key, err, err_len) != 0) {
        return 1;
    }
    e = att_backup_decrypt(&o->view, &key, &o->payload);
    att_backup_key_wipe(&key);
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "%s: %s", path,
                              e == ATT_ERR_KEY_MISMATCH
                                  ? "made with another passphrase or key file"
                                  : "the encrypted part was altered (its tag does not verify)");
    }
    struct att_bytes man;
    json_error_t jerr;
    if (att_backup_entry_find(o->payload.data, o->payload.len, MANIFEST_ENTRY, &man) != ATT_OK ||
        att_backup_entry_find(o->payload.data, o->payload.len, DB_ENTRY, &o->db) != ATT_OK ||
        man.len > MANIFEST_MAX ||
        (o->manifest = json_loadb((const char *)man.ptr, man.len, JSON_REJECT_DUPLICATES, &jerr)) ==
            NULL ||
        !json_is_object(o->manifest)) {
        return att_admin_fail(err, err_len, "%s: the contents are not a backup's", path);
    }
    return 0;
}

/*
 * Vet the archive's database in memory (store.h, att_store_sqlite_check_image: attestd's
 * schema and nothing else, sound pages) and check it holds the key that signed the archive.
 * Nothing is written anywhere.
 */
static int check_snapshot(const struct opened *o, char *err, size_t err_len)
{
    struct att_store_image img;
    att_err e = att_store_sqlite_check_image(o->db.ptr, o->db.len, &img);
    if (e != ATT_OK) {
        return att_admin_fail(
            err, err_len, "the database in the archive %s",
            e == ATT_ERR_STORE_SCHEMA && img.schema > att_store_schema_latest()
                ? "has a schema newer than this program's: use a newer attestctl"
            : e == ATT_ERR_STORE_SCHEMA
                ? "does not have attestd's schema (unknown tables, indexes, triggers or views)"
                : "is damaged");
    }
    for (size_t i = 0; i < img.n_auth; i++) {
        if (strcmp(img.auth_kid[i], o->kid) == 0) {
            return 0;
        }
    }
    return att_admin_fail(err, err_len,
                          "the archive was signed by a key its own service does not have");
}

/* Write the vetted snapshot as `dir`/attestd.db and open it as a store (migrating it). */
static int open_snapshot(const struct opened *o, const char *dir, struct att_store **store,
                         char *err, size_t err_len)
{
    char file[1300];
    snprintf(file, sizeof(file), "%s/%s", dir, DB_ENTRY);
    if (write_new_file(file, o->db.ptr, o->db.len, err, err_len) != 0) {
        return 1;
    }
    att_err e = att_store_open_sqlite(file, store);
    return e == ATT_OK ? 0
                       : att_admin_fail(err, err_len, "cannot open the restored database: %s",
                                        att_err_str(e));
}

/*
 * The manifest and the signer. Without the secret the signature is only known to be good for
 * the certificate the archive carries: the operator compares signer_kid with the service's.
 */
static json_t *report(const struct opened *o, bool contents_checked)
{
    json_t *doc = o->manifest != NULL ? json_deep_copy(o->manifest) : json_object();
    if (doc != NULL) {
        json_object_set_new(doc, "signer_kid", json_string(o->kid));
        json_object_set_new(doc, "signature",
                            json_string(contents_checked
                                            ? "ok"
                                            : "ok for the certificate in the archive: compare "
                                              "signer_kid with your service's access-token key"));
    }
    return doc;
}

int att_admin_backup_verify(const char *path, const struct att_admin_backup_secret *sec,
                            char **json_out, char *err, size_t err_len)
{
    struct opened o;
    bool have_secret = sec->passphrase_file != NULL || sec->key_file != NULL;
    int rc = 1;
    opened_init(&o);
    if (open_archive(path, have_secret ? sec : NULL, &o, err, err_len) != 0 ||
        (have_secret && check_snapshot(&o, err, err_len) != 0)) {
        goto out;
    }
    json_t *doc = report(&o, have_secret);
    if (!have_secret) {
        char created[32];
        att_time_format(o.view.h.created_at, created, sizeof(created));
        json_object_set_new(doc, "created", json_string(created));
        json_object_set_new(doc, "schema", json_integer(o.view.h.schema));
        json_object_set_new(doc, "contents",
                            json_string("not checked: give --passphrase-file "
                                        "or --key-file to decrypt them"));
    } else {
        json_object_set_new(doc, "contents", json_string("ok"));
    }
    rc = att_admin_dump(doc, json_out, err, err_len);
out:
    opened_cleanup(&o);
    return rc;
}

/* ---- restore ---- */

/*
 * `dir` must be absent (its parent present) or an empty directory that is not a mount point
 * (the restore renames a directory into place). *existing gets the one there, if any.
 */
static int target_ok(const char *dir, struct stat *existing, bool *exists, char *err,
                     size_t err_len)
{
    struct stat parent;
    char up[1200];
    *exists = lstat(dir, existing) == 0;
    if (!*exists) {
        return errno == ENOENT ? 0 : att_admin_fail(err, err_len, "%s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(existing->st_mode)) {
        return att_admin_fail(err, err_len, "%s: not a directory", dir);
    }
    snprintf(up, sizeof(up), "%s/..", dir);
    if (stat(up, &parent) == 0 && parent.st_dev != existing->st_dev) {
        return att_admin_fail(err, err_len,
                              "%s is a mount point: restore into a directory inside it", dir);
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        return att_admin_fail(err, err_len, "%s: %s", dir, strerror(errno));
    }
    struct dirent *ent;
    bool empty = true;
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0) {
            empty = false;
        }
    }
    closedir(d);
    return empty
               ? 0
               : att_admin_fail(err, err_len,
                                "%s is not empty: restore only into a new or empty directory", dir);
}

/*
 * Prove the KEK opens what the archive holds (every provider key, the access-token key) and
 * make the restored store start a new audit trail: the kept checkpoint named the old trail.
 */
static int check_keys(struct att_store *store, const char *node, const char *kek_file,
                      const char *kek_uri, const char *signing_uri, char *err, size_t err_len)
{
    struct att_kek kek;
    struct att_keyring *kr = NULL;
    struct att_provider_set *set = NULL;
    struct att_auth *auth = NULL;
    if (att_admin_kek_load(kek_file, kek_uri, &kek, err, err_len) != 0) {
        return 1;
    }
    att_err e = att_keyring_new(store, &kek, &kr);
    att_kek_wipe(&kek);
    char msg[512] = "";
    if (e == ATT_OK && signing_uri != NULL) {
        e = att_keyring_use_signing_token(kr, signing_uri, msg, sizeof(msg));
        if (e != ATT_OK) {
            att_keyring_free(kr);
            return att_admin_fail(err, err_len, "--signing-keys-pkcs11: %s", msg);
        }
    }
    if (e == ATT_OK) {
        e = att_provider_set_load(store, kr, &set);
    }
    if (e == ATT_OK) {
        e = att_auth_new(store, kr, "https://restore.invalid", att_time_now(), &auth);
    }
    att_auth_free(auth);
    att_provider_set_free(set);
    att_keyring_free(kr);
    if (e == ATT_ERR_NOT_FOUND && signing_uri == NULL) {
        return att_admin_fail(err, err_len,
                              "a signing key of the archive is in a PKCS#11 token: give "
                              "--signing-keys-pkcs11 URI (the same token)");
    }
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len,
                              "the key-encryption key does not open the archive's "
                              "keys: %s",
                              att_err_str(e));
    }
    if (att_store_audit_checkpoint_clear(store, node) != ATT_OK) {
        return att_admin_fail(err, err_len, "cannot reset the audit checkpoint");
    }
    return 0;
}

/* The new trail's first record: where the backup came from and where the old trail ended. */
static int start_trail(const char *dir, const char *path, const struct opened *o, char *err,
                       size_t err_len)
{
    char file[1300];
    char id[32];
    uint8_t digest[32];
    struct att_buf hex;
    struct att_audit *trail = NULL;
    snprintf(file, sizeof(file), "%s/audit.db", dir);
    snprintf(id, sizeof(id), "uid:%u", (unsigned)geteuid());
    att_buf_init(&hex, 128);
    att_err e = EVP_Digest(o->file.data, o->file.len, digest, NULL, EVP_sha256(), NULL) == 1
                    ? att_hex_encode(digest, sizeof(digest), &hex)
                    : ATT_ERR_CRYPTO;
    struct att_audit_config ac = {.path = file, .busy_ms = 2000};
    if (e == ATT_OK) {
        e = att_audit_open(&ac, &trail);
    }
    if (e == ATT_OK) {
        json_t *detail = json_pack("{s:s,s:s,s:s,s:O}", "archive", path, "archive_sha256",
                                   att_buf_cstr(&hex), "signer_kid", o->kid, "backup", o->manifest);
        struct att_audit_event ev = {ATT_AUDIT_CHANGE,
                                     "backup.restore",
                                     "success",
                                     id,
                                     "",
                                     "local:attestctl",
                                     "",
                                     "",
                                     detail};
        e = att_audit_write(trail, &ev);
    }
    att_audit_close(trail);
    att_buf_cleanup(&hex);
    return e == ATT_OK
               ? 0
               : att_admin_fail(err, err_len, "cannot start the audit trail: %s", att_err_str(e));
}

/* chown a restored directory and what the restore put in it. */
static int give_to(const char *dir, uid_t uid, gid_t gid)
{
    static const char *names[] = {DB_ENTRY, "audit.db"};
    char file[1300];
    int rc = chown(dir, uid, gid);
    for (size_t i = 0; rc == 0 && i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(file, sizeof(file), "%s/%s", dir, names[i]);
        rc = chown(file, uid, gid);
    }
    return rc;
}

/* fsync a directory, so a rename into it survives a crash. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int att_admin_restore(const char *path, const char *data_dir_arg,
                      const struct att_admin_backup_secret *sec, const char *kek_file,
                      const char *kek_uri, const char *signing_uri, char **json_out, char *err,
                      size_t err_len)
{
    struct opened o;
    struct att_store *store = NULL;
    struct stat existing;
    char data_dir[1024];
    char work[1200] = "";
    bool exists = false;
    int rc = 1;
    opened_init(&o);
    /* "DIR/" names DIR: the work directory goes beside it, not in it. */
    size_t n = strlen(data_dir_arg);
    while (n > 1 && data_dir_arg[n - 1] == '/') {
        n--;
    }
    if (n == 0 || n >= sizeof(data_dir)) {
        att_admin_fail(err, err_len, "--data-dir: empty or too long");
        goto out;
    }
    memcpy(data_dir, data_dir_arg, n);
    data_dir[n] = 0;
    if (target_ok(data_dir, &existing, &exists, err, err_len) != 0 ||
        open_archive(path, sec, &o, err, err_len) != 0 || check_snapshot(&o, err, err_len) != 0) {
        goto out;
    }
    sweep_leftovers(data_dir, "restore", stderr);
    if (private_dir_near(data_dir, "restore", work, sizeof(work), err, err_len) != 0) {
        work[0] = 0;
        goto out;
    }
    if (open_snapshot(&o, work, &store, err, err_len) != 0 ||
        check_keys(store, "" /* an SQLite store: one node */, kek_file, kek_uri, signing_uri, err,
                   err_len) != 0) {
        goto out;
    }
    att_store_close(store); /* checkpoints the WAL into the file */
    store = NULL;
    if (start_trail(work, path, &o, err, err_len) != 0) {
        goto out;
    }
    /* Into place: an empty target goes first (rename cannot replace a directory that is
     * not empty, and one that became non-empty meanwhile makes rmdir fail), and the new one
     * keeps its owner and mode (the service's user must still reach it). */
    if ((exists && rmdir(data_dir) != 0) || rename(work, data_dir) != 0) {
        att_admin_fail(err, err_len, "cannot move the restored state to %s: %s", data_dir,
                       strerror(errno));
        goto out;
    }
    work[0] = 0;
    if (exists && (chmod(data_dir, existing.st_mode & 07777) != 0 ||
                   (existing.st_uid != geteuid() &&
                    give_to(data_dir, existing.st_uid, existing.st_gid) != 0))) {
        fprintf(stderr, "attestctl: warning: %s: cannot give it back its owner and mode: %s\n",
                data_dir, strerror(errno));
    }
    char parent[1200];
    snprintf(parent, sizeof(parent), "%s/..", data_dir);
    sync_dir(data_dir);
    sync_dir(parent);
    json_t *doc = report(&o, true);
    json_object_set_new(doc, "restored", json_string(data_dir));
    rc = att_admin_dump(doc, json_out, err, err_len);
out:
    att_store_close(store);
    if (work[0] != 0) {
        remove_work_dir(work);
    }
    opened_cleanup(&o);
    return rc;
}
