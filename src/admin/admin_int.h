/*
 * admin_int.h - what the files of src/admin/ share (not part of the public API).
 */
#ifndef ATT_ADMIN_ADMIN_INT_H
#define ATT_ADMIN_ADMIN_INT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include <sys/types.h>

#include "att/admin.h"
#include "core/buf.h"
#include "store/store.h"

struct att_store *att_admin_store(struct att_admin *a);

/* Who runs the commands, for the audit trail: by default the user running attestctl; on the
 * admin socket, its peer (serve.c). */
struct att_admin_actor {
    bool set;
    uid_t uid;
    char via[32]; /* "admin-socket" */
};
const struct att_admin_actor *att_admin_actor(struct att_admin *a);
/* Where the library's warnings go: the command's standard error (stderr by default; the
 * admin socket's peer gets its own). */
FILE *att_admin_warnings(struct att_admin *a);
void att_admin_set_warnings(struct att_admin *a, FILE *f);
void att_admin_set_actor(struct att_admin *a, uid_t uid, const char *via);

struct att_kek;
struct att_config;
/* Open the store of `cfg` with `kek` (taken: wiped here), as attestd's admin socket does:
 * its logging is left as it is. 0, or 1 with err written. */
int att_admin_open_service(const struct att_config *cfg, struct att_kek *kek,
                           struct att_admin **out, char *err, size_t err_len);
struct att_config;
const struct att_config *att_admin_config(struct att_admin *a);
struct att_keyring *att_admin_keyring(struct att_admin *a);
struct att_audit;
/* The audit trail, opened on first use (no checkpoints: the daemon makes them). */
att_err att_admin_audit_trail(struct att_admin *a, struct att_audit **out) ATT_WUR;
/* The configured audit database. */
const char *att_admin_audit_path(struct att_admin *a);
/* The configured dcap_trust_anchors file, or NULL (built-in Intel root; also when a is NULL). */
const char *att_admin_trust_path(struct att_admin *a);
/* The configured amd_trust_anchors file, or NULL (built-in ARKs; also when a is NULL). */
const char *att_admin_amd_trust_path(struct att_admin *a);
struct att_kek;
/* Load a KEK from `file` or from the PKCS#11 token `pkcs11_uri` (exactly one); 0 or 1 with err. */
int att_admin_kek_load(const char *file, const char *pkcs11_uri, struct att_kek *out, char *err,
                       size_t err_len);
/* Write a message into err and return 1 (the CLI's failure value). */
int att_admin_fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Append file `path` (at most `max` bytes) to `out`, less trailing newlines when `trim` (a JWS
 * saved by an editor or echo); 0 on success, else 1 with err written.
 */
int att_admin_read_file(const char *path, struct att_buf *out, size_t max, bool trim, char *err,
                        size_t err_len);
/* A certificate or private key from a PEM file; NULL with err naming the file and the problem
 * (missing, unreadable, not PEM). */
X509 *att_admin_read_cert(const char *path, char *err, size_t n);
EVP_PKEY *att_admin_read_key(const char *path, char *err, size_t n);
/* Serialise `doc` (stolen) as indented JSON into *out; 0 on success. */
int att_admin_dump(json_t *doc, char **out, char *err, size_t n);

#endif
