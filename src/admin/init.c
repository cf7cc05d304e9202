/*
 * init.c - `attestctl init` (include/att/admin.h, att_admin_init): a production data directory
 * made from attestd's configuration (docs/operations.md, "Preparing a data directory"): the
 * directory, the key-encryption key, and a TLS key with a certificate signing request or a
 * self-signed certificate for the service's names; then what to do next.
 *
 * Input: the operator's configuration and command line, trusted as intent and checked as
 * values (the names must be DNS names or IP addresses). Nothing that exists is replaced: files
 * are created with O_EXCL and O_NOFOLLOW, what exists is reported as kept, and a TLS key that
 * exists is the one the new certificate or request is for. Every check is made before the
 * first file is written.
 *
 * Owners (docs/operations.md, "The key process and the service user"): run as root with
 * `user` set, the data directory made here is the service user's, the KEK file stays root's
 * (mode 0600: attestd's key supervisor, root, reads it), and the TLS key is root's and readable
 * by the user's group (mode 0640: attestd reads it again as that user on SIGHUP). Otherwise
 * everything is the invoker's, and the next steps say what root must change.
 */
#include "att/admin.h"

#include "admin/admin_int.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/file.h"
#include "core/timeutil.h"
#include "server/config.h"
#include "server/privdrop.h"
#include "x509/selfsigned.h"

/*
 * A self-signed certificate's lifetime: the most the CA/Browser Forum's Baseline Requirements
 * (§6.3.2) recommend for a server certificate (398 days at most), which some clients hold
 * every certificate to.
 */
#define INIT_CERT_DAYS 397
#define INIT_DATA_DIR_MODE 0700 /* as attestd makes it (docs/config.md, data_dir) */
#define INIT_PARENT_MODE 0755   /* directories made above a file: the file's mode protects it */
#define INIT_SECRET_MODE 0600
#define INIT_SHARED_KEY_MODE 0640 /* the TLS key, readable by the service user's group */
#define INIT_PUBLIC_MODE 0644     /* certificates and requests */
_Static_assert(ATT_ADMIN_INIT_MAX_NAMES == ATT_X509_SERVER_NAMES_MAX, "one cap on the names");
#define INIT_MAX_TEXT ((size_t)64 * 1024)
#define INIT_MAX_PEM ((size_t)64 * 1024)

struct init_run {
    const struct att_admin_init_args *args;
    struct att_config cfg;
    char host[256]; /* public_url's host */
    const char *names[ATT_X509_SERVER_NAMES_MAX];
    size_t n_names;
    char csr_path[ATT_CONFIG_PATH_MAX + 8];
    /* Run as root with `user`: files get the owners the banner lays out. */
    bool give;
    uid_t uid;
    gid_t gid;
    /* For the next steps. */
    bool data_dir_not_users; /* it exists and belongs to someone else than `user` */
    bool request_pending;    /* a request exists and no certificate yet */
    bool cert_made;
    struct att_buf out;
};

/* ---- checks, before anything is written ---- */

static int load_config(struct init_run *r, char *err, size_t n)
{
    char msg[1024];
    att_config_defaults(&r->cfg);
    if (r->args->config_path != NULL &&
        att_config_load_file(&r->cfg, r->args->config_path, msg, sizeof(msg)) != ATT_OK) {
        return att_admin_fail(err, n, "%s", msg);
    }
    if (r->args->data_dir != NULL &&
        att_config_set(&r->cfg, "data_dir", r->args->data_dir, msg, sizeof(msg)) != ATT_OK) {
        return att_admin_fail(err, n, "--data-dir: %s", msg);
    }
    if (att_config_finish(&r->cfg, msg, sizeof(msg)) != ATT_OK) {
        return att_admin_fail(err, n, "%s", msg);
    }
    snprintf(r->csr_path, sizeof(r->csr_path), "%s.csr", r->cfg.tls_cert);
    return 0;
}

/* The host of public_url: https://HOST[:PORT][/PATH], an IPv6 address in brackets. */
static int public_host(struct init_run *r, char *err, size_t n)
{
    const char *h = r->cfg.public_url + strlen("https://"); /* checked by the configuration */
    size_t len = h[0] == '[' ? strcspn(++h, "]") : strcspn(h, ":/");
    if (len == 0 || len >= sizeof(r->host)) {
        return att_admin_fail(err, n, "public_url %s: no host name in it", r->cfg.public_url);
    }
    snprintf(r->host, sizeof(r->host), "%.*s", (int)len, h);
    return 0;
}

static bool listed(const struct init_run *r, const char *name)
{
    for (size_t i = 0; i < r->n_names; i++) {
        if (strcasecmp(r->names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * The certificate's names: public_url's host (unless it is the unspecified address, which a
 * default public_url from `listen = 0.0.0.0:PORT` has and no client connects to), then every
 * --name, each once.
 */
static int collect_names(struct init_run *r, char *err, size_t n)
{
    bool ip = false;
    if (public_host(r, err, n) != 0) {
        return 1;
    }
    if (att_x509_server_name_check(r->host, &ip) != ATT_OK) {
        return att_admin_fail(err, n,
                              "public_url %s: its host '%s' is not a DNS name or an IP "
                              "address",
                              r->cfg.public_url, r->host);
    }
    if (strcmp(r->host, "0.0.0.0") != 0 && strcmp(r->host, "::") != 0) {
        r->names[r->n_names++] = r->host;
    }
    for (size_t i = 0; i < r->args->n_names; i++) {
        const char *name = r->args->names[i];
        if (att_x509_server_name_check(name, &ip) != ATT_OK) {
            return att_admin_fail(err, n, "--name %s: not a DNS name or an IP address", name);
        }
        if (listed(r, name)) {
            continue;
        }
        if (r->n_names == ATT_X509_SERVER_NAMES_MAX) {
            return att_admin_fail(err, n, "at most %d names", ATT_X509_SERVER_NAMES_MAX);
        }
        r->names[r->n_names++] = name;
    }
    if (r->n_names == 0) {
        return att_admin_fail(err, n,
                              "no name for the TLS certificate: set public_url, or give "
                              "--name HOST");
    }
    return 0;
}

/* Run as root with `user`: that user's ids. */
static int service_user(struct init_run *r, char *err, size_t n)
{
    char msg[512];
    struct stat st;
    r->give = geteuid() == 0 && r->cfg.user[0] != '\0';
    /* Root without `user`, on a data directory another user owns (the packaged unit runs
     * attestd as that user): root's files there would be of no use to attestd. */
    if (geteuid() == 0 && r->cfg.user[0] == '\0' && stat(r->cfg.data_dir, &st) == 0 &&
        st.st_uid != 0) {
        struct passwd pw;
        struct passwd *found = NULL;
        char text[1024];
        bool named = getpwuid_r(st.st_uid, &pw, text, sizeof(text), &found) == 0 && found;
        return att_admin_fail(err, n,
                              "%s belongs to %s, whom attestd runs as: run attestctl init as "
                              "that user (sudo -u %s attestctl ...), or set user = %s to start "
                              "attestd as root and keep the key-encryption key root's",
                              r->cfg.data_dir, named ? pw.pw_name : "another user",
                              named ? pw.pw_name : "USER", named ? pw.pw_name : "USER");
    }
    if (!r->give) {
        return 0;
    }
    if (att_privdrop_ids(r->cfg.user, &r->uid, &r->gid, msg, sizeof(msg)) != ATT_OK) {
        return att_admin_fail(err, n,
                              "%s (make it first: useradd --system --shell "
                              "/usr/sbin/nologin %s)",
                              msg, r->cfg.user);
    }
    return 0;
}

/* Whether path exists (a link counts: nothing is written through one); -1 when unknown. */
static int exists(const char *path, char *err, size_t n)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        return 1;
    }
    if (errno == ENOENT) {
        return 0;
    }
    att_admin_fail(err, n, "%s: %s", path, strerror(errno));
    return -1;
}

/* ---- writing ---- */

/* " (MODE, USER:GROUP)" of path, as it is now. */
static void say_owner(struct init_run *r, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return;
    }
    struct passwd pw;
    struct passwd *pf = NULL;
    struct group gr;
    struct group *gf = NULL;
    char pt[4096];
    char gt[4096];
    char user[64];
    char group[64];
    if (getpwuid_r(st.st_uid, &pw, pt, sizeof(pt), &pf) == 0 && pf != NULL) {
        snprintf(user, sizeof(user), "%s", pw.pw_name);
    } else {
        snprintf(user, sizeof(user), "%u", (unsigned)st.st_uid);
    }
    if (getgrgid_r(st.st_gid, &gr, gt, sizeof(gt), &gf) == 0 && gf != NULL) {
        snprintf(group, sizeof(group), "%s", gr.gr_name);
    } else {
        snprintf(group, sizeof(group), "%u", (unsigned)st.st_gid);
    }
    att_ignore_err(att_buf_printf(&r->out, " (%04o, %s:%s)", (unsigned)(st.st_mode & 07777), user,
                                  group)); /* sticky: checked at the end */
}

/* Make the missing directories above path, mode 0755, the invoker's. */
static int make_parents(const char *path, char *err, size_t n)
{
    char dir[ATT_CONFIG_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir) {
        return 0;
    }
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }
        char was = *p;
        *p = '\0';
        if (mkdir(dir, INIT_PARENT_MODE) == 0) {
            if (chmod(dir, INIT_PARENT_MODE) != 0) { /* the umask narrowed it */
                return att_admin_fail(err, n, "%s: %s", dir, strerror(errno));
            }
        } else if (errno != EEXIST) {
            return att_admin_fail(err, n, "cannot make %s: %s", dir, strerror(errno));
        }
        *p = was;
        if (was == '\0') {
            return 0;
        }
    }
}

/*
 * Create path with exactly `mode` (the umask would narrow it: a certificate the service user
 * cannot read would not reload) and group `gid` unless it is -1, and write data; never over
 * anything (O_EXCL), never through a link (O_NOFOLLOW). A file left half written is removed.
 */
static int write_new(const char *path, const void *data, size_t len, mode_t mode, gid_t gid,
                     char *err, size_t n)
{
    if (make_parents(path, err, n) != 0) {
        return 1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, INIT_SECRET_MODE);
    if (fd < 0) {
        return att_admin_fail(err, n, "cannot make %s: %s", path, strerror(errno));
    }
    bool ok = (gid == (gid_t)-1 || fchown(fd, (uid_t)-1, gid) == 0) && fchmod(fd, mode) == 0 &&
              att_file_write_all(fd, data, len) == ATT_OK && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        (void)unlink(path); /* ours: made with O_EXCL */
        return att_admin_fail(err, n, "cannot write %s: %s", path, strerror(saved));
    }
    return 0;
}

/* ---- the steps ---- */

static int data_dir(struct init_run *r, char *err, size_t n)
{
    const char *dir = r->cfg.data_dir;
    struct stat st;
    if (make_parents(dir, err, n) != 0) {
        return 1;
    }
    if (mkdir(dir, INIT_DATA_DIR_MODE) == 0) {
        /* made here: the service user's, as attestd makes it when it starts as root */
        if (chmod(dir, INIT_DATA_DIR_MODE) != 0 || (r->give && chown(dir, r->uid, r->gid) != 0)) {
            return att_admin_fail(err, n, "%s: %s", dir, strerror(errno));
        }
        att_ignore_err(att_buf_printf(&r->out, "data directory %s: made", dir));
    } else if (errno != EEXIST) {
        return att_admin_fail(err, n, "cannot make %s: %s", dir, strerror(errno));
    } else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return att_admin_fail(err, n, "data_dir %s: not a directory", dir);
    } else {
        /* an existing directory and what is in it are the operator's: the next steps say */
        r->data_dir_not_users = r->give && st.st_uid != r->uid;
        att_ignore_err(att_buf_printf(&r->out, "data directory %s: exists, kept", dir));
    }
    say_owner(r, dir);
    att_ignore_err(att_buf_putc(&r->out, '\n'));
    return 0;
}

static int kek(struct init_run *r, char *err, size_t n)
{
    const char *path = r->cfg.kek_file;
    if (r->cfg.kek_pkcs11[0] != '\0') {
        att_ignore_err(att_buf_puts(&r->out, "key-encryption key: in the PKCS#11 token "
                                             "kek_pkcs11 names (no file made)\n"));
        return 0;
    }
    int have = exists(path, err, n);
    if (have < 0) {
        return 1;
    }
    if (have == 0 &&
        (make_parents(path, err, n) != 0 || att_admin_kek_generate(path, err, n) != 0)) {
        return 1;
    }
    /* root's, mode 0600, whoever the service user is: attestd's key supervisor stays root to
     * read it (docs/operations.md, "The key process and the service user") */
    att_ignore_err(att_buf_printf(&r->out, "key-encryption key %s: %s", path,
                                  have != 0 ? "exists, kept" : "made"));
    say_owner(r, path);
    att_ignore_err(att_buf_putc(&r->out, '\n'));
    return 0;
}

/* The PEM text (RFC 7468) of DER under `label` ("CERTIFICATE", "CERTIFICATE REQUEST"), or of a
 * private key (PKCS #8) when der is NULL, into out. */
static int pem(const char *label, const struct att_buf *der, EVP_PKEY *key, struct att_buf *out)
{
    BIO *bio = BIO_new(BIO_s_secmem()); /* wiped when freed: it may hold the key */
    char *data = NULL;
    int ok = bio != NULL &&
             (der != NULL ? PEM_write_bio(bio, label, "", der->data, (long)der->len)
                          : PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) > 0;
    long len = ok ? BIO_get_mem_data(bio, &data) : 0;
    ok = ok && len > 0 && att_buf_put(out, data, (size_t)len) == ATT_OK;
    BIO_free(bio);
    return ok ? 0 : 1;
}

/* The TLS key: the one at tls_key, or a new P-256 key written there. */
static EVP_PKEY *tls_key(struct init_run *r, char *err, size_t n)
{
    const char *path = r->cfg.tls_key;
    int have = exists(path, err, n);
    if (have < 0) {
        return NULL;
    }
    if (have > 0) {
        EVP_PKEY *key = att_admin_read_key(path, err, n);
        if (key != NULL) {
            att_ignore_err(att_buf_printf(&r->out, "TLS key %s: exists, kept", path));
        }
        return key;
    }
    struct att_buf text;
    att_buf_init_secret(&text, INIT_MAX_PEM);
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    int rc = key == NULL || pem(NULL, NULL, key, &text) != 0
                 ? att_admin_fail(err, n, "cannot make a P-256 key")
                 : write_new(path, text.data, text.len,
                             r->give ? INIT_SHARED_KEY_MODE : INIT_SECRET_MODE,
                             r->give ? r->gid : (gid_t)-1, err, n);
    att_buf_cleanup(&text);
    if (rc != 0) {
        EVP_PKEY_free(key);
        return NULL;
    }
    att_ignore_err(att_buf_printf(&r->out, "TLS key %s: made, P-256", path));
    return key;
}

/* The names, comma separated, into out. */
static void say_names(struct init_run *r)
{
    for (size_t i = 0; i < r->n_names; i++) {
        att_ignore_err(att_buf_printf(&r->out, "%s%s", i > 0 ? ", " : "", r->names[i]));
    }
}

/* A certificate exists, or a request waits for one: the TLS files are left as they are. */
static int tls_kept(struct init_run *r, const char *what, const char *path, char *err, size_t n)
{
    int have_key = exists(r->cfg.tls_key, err, n);
    if (have_key < 0) {
        return 1;
    }
    att_ignore_err(att_buf_printf(&r->out, "TLS key %s: %s", r->cfg.tls_key,
                                  have_key > 0 ? "exists, kept" : "missing"));
    say_owner(r, r->cfg.tls_key);
    att_ignore_err(att_buf_printf(&r->out, "\n%s %s: exists, kept", what, path));
    say_owner(r, path);
    att_ignore_err(att_buf_putc(&r->out, '\n'));
    return 0;
}

static int tls(struct init_run *r, char *err, size_t n)
{
    const char *target = r->args->self_signed ? r->cfg.tls_cert : r->csr_path;
    int have_cert = exists(r->cfg.tls_cert, err, n);
    int have_csr = have_cert == 0 ? exists(r->csr_path, err, n) : 0;
    if (have_cert < 0 || have_csr < 0) {
        return 1;
    }
    if (have_cert > 0) {
        return tls_kept(r, "certificate", r->cfg.tls_cert, err, n);
    }
    if (have_csr > 0 && !r->args->self_signed) {
        r->request_pending = true;
        return tls_kept(r, "certificate signing request", r->csr_path, err, n);
    }
    struct att_buf der;
    struct att_buf text;
    att_buf_init(&der, INIT_MAX_PEM);
    att_buf_init(&text, INIT_MAX_PEM);
    int64_t now = att_time_now();
    EVP_PKEY *key = tls_key(r, err, n);
    int rc = 1;
    if (key == NULL) {
        goto out;
    }
    say_owner(r, r->cfg.tls_key);
    att_ignore_err(att_buf_putc(&r->out, '\n'));
    att_err e = r->args->self_signed ? att_x509_server_self_signed(key, r->names, r->n_names, now,
                                                                   INIT_CERT_DAYS, &der)
                                     : att_x509_server_request(key, r->names, r->n_names, &der);
    if (e != ATT_OK) {
        rc = att_admin_fail(err, n, "cannot make the %s: %s",
                            r->args->self_signed ? "certificate" : "request", att_err_str(e));
        goto out;
    }
    if (pem(r->args->self_signed ? "CERTIFICATE" : "CERTIFICATE REQUEST", &der, NULL, &text) != 0) {
        rc = att_admin_fail(err, n, "cannot encode %s", target);
        goto out;
    }
    if (write_new(target, text.data, text.len, INIT_PUBLIC_MODE, (gid_t)-1, err, n) != 0) {
        goto out;
    }
    att_ignore_err(att_buf_printf(
        &r->out, "%s %s: made for ",
        r->args->self_signed ? "self-signed certificate" : "certificate signing request", target));
    say_names(r);
    if (r->args->self_signed) {
        char until[32];
        r->cert_made = true;
        att_time_format(now + (int64_t)INIT_CERT_DAYS * 86400, until, sizeof(until));
        att_ignore_err(att_buf_printf(&r->out, ", valid until %s", until));
    } else {
        r->request_pending = true;
    }
    say_owner(r, target);
    att_ignore_err(att_buf_putc(&r->out, '\n'));
    rc = 0;
out:
    EVP_PKEY_free(key);
    att_buf_cleanup(&der);
    att_buf_cleanup(&text);
    return rc;
}

/* ---- what to do next ---- */

static void step(struct init_run *r, int *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void step(struct init_run *r, int *k, const char *fmt, ...)
{
    va_list ap;
    att_ignore_err(att_buf_printf(&r->out, "%s%d. ", *k == 1 ? "\nnext:\n" : "", *k));
    va_start(ap, fmt);
    att_ignore_err(att_buf_vprintf(&r->out, fmt, ap));
    va_end(ap);
    att_ignore_err(att_buf_putc(&r->out, '\n'));
    (*k)++;
}

static void next_steps(struct init_run *r)
{
    const struct att_config *c = &r->cfg;
    int k = 1;
    if (r->request_pending) {
        step(r, &k,
             "Have your CA sign the request %s,\n"
             "   and put the certificate (then any intermediate certificates) at\n"
             "   %s, readable by attestd.",
             r->csr_path, c->tls_cert);
    }
    if (r->cert_made) {
        step(r, &k,
             "Clients trust this certificate itself: give them %s\n"
             "   (curl --cacert %s %s/.well-known/openid-configuration).\n"
             "   Replace it before it expires; SIGHUP reloads it.",
             c->tls_cert, c->tls_cert, c->public_url);
    }
    if (r->data_dir_not_users) {
        step(r, &k,
             "Give the data directory to %s: chown -R %s: %s (the KEK file may stay "
             "root's).",
             c->user, c->user, c->data_dir);
    } else if (geteuid() != 0 && c->user[0] != '\0') {
        step(r, &k,
             "As root, give the files their owners (docs/operations.md, \"The key process and\n"
             "   the service user\"): chown -R %s: %s; chown root: %s;\n"
             "   chgrp %s %s; chmod 640 %s",
             c->user, c->data_dir, c->kek_file, c->user, c->tls_key, c->tls_key);
    } else if (geteuid() == 0 && c->user[0] == '\0') {
        step(r, &k,
             "attestd started as root stays root unless the configuration sets user = NAME,\n"
             "   a service user, to whom the data directory must then belong "
             "(docs/operations.md).");
    }
    step(r, &k, "Start attestd: attestd%s%s%s%s (or systemctl start attestd).",
         r->args->config_path != NULL ? " --config " : "",
         r->args->config_path != NULL ? r->args->config_path : "",
         r->args->data_dir != NULL ? " --data-dir " : "",
         r->args->data_dir != NULL ? r->args->data_dir : "");
}

int att_admin_init(const struct att_admin_init_args *args, char **text_out, char *err,
                   size_t err_len)
{
    struct init_run *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return att_admin_fail(err, err_len, "out of memory");
    }
    r->args = args;
    att_buf_init(&r->out, INIT_MAX_TEXT);
    int rc = load_config(r, err, err_len);
    rc = rc == 0 ? collect_names(r, err, err_len) : rc;
    rc = rc == 0 ? service_user(r, err, err_len) : rc;
    rc = rc == 0 ? data_dir(r, err, err_len) : rc;
    rc = rc == 0 ? kek(r, err, err_len) : rc;
    rc = rc == 0 ? tls(r, err, err_len) : rc;
    if (rc == 0) {
        next_steps(r);
        *text_out = att_buf_err(&r->out) == ATT_OK ? strdup(att_buf_cstr(&r->out)) : NULL;
        rc = *text_out == NULL ? att_admin_fail(err, err_len, "out of memory") : 0;
    }
    att_buf_cleanup(&r->out);
    free(r);
    return rc;
}
