/*
 * admin.c - the administration API behind attestctl (include/att/admin.h).
 *
 * Input: operator command-line values (checked by the domain modules) and
 * our own store.
 */
#include "att/admin.h"

#include "admin/admin_int.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "core/codec.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "policymgmt/manage.h"
#include "provider/provider.h"
#include "seal/keyring.h"
#include "seal/seal.h"
#include "server/config.h"
#include "server/daemon.h"
#include "store/store.h"

struct att_admin {
    struct att_config cfg;
    struct att_kek kek;
    struct att_store *store;
    struct att_keyring *keyring;
    struct att_audit *audit; /* opened on first use */
    struct att_admin_actor actor;
    FILE *warnings; /* NULL: stderr */
};

FILE *att_admin_warnings(struct att_admin *a)
{
    return a->warnings != NULL ? a->warnings : stderr;
}

void att_admin_set_warnings(struct att_admin *a, FILE *f)
{
    a->warnings = f;
}

const struct att_admin_actor *att_admin_actor(struct att_admin *a)
{
    return &a->actor;
}

void att_admin_set_actor(struct att_admin *a, uid_t uid, const char *via)
{
    a->actor.uid = uid;
    a->actor.set = true;
    snprintf(a->actor.via, sizeof(a->actor.via), "%s", via);
}

att_err att_admin_audit_trail(struct att_admin *a, struct att_audit **out)
{
    if (a->audit == NULL) {
        struct att_audit_config ac = {.path = a->cfg.audit_database,
                                      .busy_ms = (int)a->cfg.audit_busy_timeout};
        ATT_TRY(att_audit_open(&ac, &a->audit));
    }
    *out = a->audit;
    return ATT_OK;
}

const char *att_admin_audit_path(struct att_admin *a)
{
    return a->cfg.audit_database;
}

const char *att_admin_trust_path(struct att_admin *a)
{
    return a != NULL && a->cfg.dcap_trust_anchors[0] != '\0' ? a->cfg.dcap_trust_anchors : NULL;
}

const char *att_admin_amd_trust_path(struct att_admin *a)
{
    return a != NULL && a->cfg.amd_trust_anchors[0] != '\0' ? a->cfg.amd_trust_anchors : NULL;
}

int att_admin_fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return 1;
}

/* A PEM object from path by `read` (PEM_read_X509, PEM_read_PrivateKey), or NULL with err
 * saying why: the file's absence or the system's word, else "not a PEM <what>". */
static void *read_pem(const char *path, void *(*read)(FILE *f), const char *what, char *err,
                      size_t n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        att_admin_fail(err, n, "%s: %s", path, strerror(errno));
        return NULL;
    }
    void *obj = read(f);
    fclose(f);
    if (obj == NULL) {
        att_admin_fail(err, n, "%s: not a PEM %s", path, what);
    }
    return obj;
}

static void *pem_cert(FILE *f)
{
    return PEM_read_X509(f, NULL, NULL, NULL);
}

static void *pem_key(FILE *f)
{
    return PEM_read_PrivateKey(f, NULL, NULL, NULL);
}

X509 *att_admin_read_cert(const char *path, char *err, size_t n)
{
    return read_pem(path, pem_cert, "certificate", err, n);
}

EVP_PKEY *att_admin_read_key(const char *path, char *err, size_t n)
{
    return read_pem(path, pem_key, "private key", err, n);
}

int att_admin_dump(json_t *doc, char **out, char *err, size_t n)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (text == NULL) {
        return att_admin_fail(err, n, "out of memory");
    }
    *out = text;
    return 0;
}

struct att_store *att_admin_store(struct att_admin *a)
{
    return a->store;
}

const struct att_config *att_admin_config(struct att_admin *a)
{
    return &a->cfg;
}

struct att_keyring *att_admin_keyring(struct att_admin *a)
{
    return a->keyring;
}

void att_admin_free_string(char *s)
{
    free(s);
}

/* The store and keyring of a->cfg, with a->kek loaded: 0, or 1 with err written. */
static int open_state(struct att_admin *a, char *err, size_t err_len)
{
    char msg[1024];
    att_err e;
    e = att_store_open(att_config_store_where(&a->cfg), &a->store);
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "%s: %s", att_config_store_label(&a->cfg), att_err_str(e));
        return 1;
    }
    e = att_keyring_new(a->store, &a->kek, &a->keyring);
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "keyring: %s", att_err_str(e));
        return 1;
    }
    if (a->cfg.signing_keys_pkcs11[0] != 0 &&
        att_keyring_use_signing_token(a->keyring, a->cfg.signing_keys_pkcs11, msg, sizeof(msg)) !=
            ATT_OK) {
        att_admin_fail(err, err_len, "signing_keys_pkcs11: %s", msg);
        return 1;
    }
    return 0;
}

int att_admin_open_service(const struct att_config *cfg, struct att_kek *kek,
                           struct att_admin **out, char *err, size_t err_len)
{
    struct att_admin *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        att_kek_wipe(kek);
        return att_admin_fail(err, err_len, "out of memory");
    }
    a->cfg = *cfg;
    att_kek_copy(&a->kek, kek);
    att_kek_wipe(kek);
    if (open_state(a, err, err_len) != 0) {
        att_admin_close(a);
        return 1;
    }
    *out = a;
    return 0;
}

int att_admin_open(const char *config_path, const char *data_dir, struct att_admin **out, char *err,
                   size_t err_len)
{
    char msg[1024];
    struct att_admin *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return att_admin_fail(err, err_len, "out of memory");
    }
    /* Diagnostics of the library go to stderr as JSON lines, warnings and up only. */
    att_ignore_err(att_log_open(NULL, ATT_LOG_WARN)); /* stderr cannot fail to open */
    att_config_defaults(&a->cfg);
    int rc = 1;
    if (config_path != NULL &&
        att_config_load_file(&a->cfg, config_path, msg, sizeof(msg)) != ATT_OK) {
        att_admin_fail(err, err_len, "%s", msg);
        goto out;
    }
    if (data_dir != NULL &&
        att_config_set(&a->cfg, "data_dir", data_dir, msg, sizeof(msg)) != ATT_OK) {
        att_admin_fail(err, err_len, "--data-dir: %s", msg);
        goto out;
    }
    if (att_config_finish(&a->cfg, msg, sizeof(msg)) != ATT_OK) {
        att_admin_fail(err, err_len, "%s", msg);
        goto out;
    }
    /* The KEK as attestd reads it, with its messages (a missing file names the command that
     * makes one). */
    if (att_daemon_load_kek(&a->cfg, &a->kek, msg, sizeof(msg)) != ATT_OK) {
        att_admin_fail(err, err_len, "key-encryption key: %s", msg);
        goto out;
    }
    if (open_state(a, err, err_len) != 0) {
        goto out;
    }
    *out = a;
    a = NULL;
    rc = 0;
out:
    att_admin_close(a);
    return rc;
}

void att_admin_close(struct att_admin *a)
{
    if (a == NULL) {
        return;
    }
    att_audit_close(a->audit);
    att_keyring_free(a->keyring);
    att_store_close(a->store);
    att_kek_wipe(&a->kek);
    free(a);
}

/* ---- providers ---- */

static json_t *provider_json(const struct att_provider_rec *p)
{
    char created[32];
    char scope[ATT_COLLATERAL_SCOPE_LEN + 1] = "";
    char msg[128];
    att_time_format(p->created_at, created, sizeof(created));
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:b,s:s,s:b,s:s,s:I,s:b,s:I,s:b}", "name", p->name, "issuer",
                  p->issuer, "signing_alg", p->signing_alg, "default", p->is_default, "created",
                  created, "attest_requires_auth", p->attest_requires_auth, "trust_model",
                  p->trust_model, "collateral_grace", (json_int_t)p->collateral_grace,
                  "require_bound_requests", p->require_bound_requests, "policy_history_keep",
                  (json_int_t)p->policy_history_keep, "audit_fail_open", p->audit_fail_open);
    /* Trust anchors of its own (docs/internals/demo.md): their collateral scope, and the mark. */
    if (doc != NULL && p->dcap_trust_anchors[0] != '\0') {
        if (att_provider_trust_scope(p->dcap_trust_anchors, scope, msg, sizeof(msg)) != ATT_OK) {
            snprintf(scope, sizeof(scope), "unreadable");
        }
        json_object_set_new(doc, "dcap_trust_scope", json_string(scope));
        json_object_set_new(doc, "demo", json_boolean(p->demo));
    }
    return doc;
}

static att_err collect_provider(const struct att_provider_rec *p, void *arg)
{
    json_t *item = provider_json(p);
    ATT_ENSURE(item != NULL && json_array_append_new(arg, item) == 0, ATT_ERR_NOMEM);
    return ATT_OK;
}

/* A provider's keys for `provider show`: their JSON and their schedule times, in store order. */
struct key_list {
    json_t *items;
    struct att_key_times times[ATT_PROVIDER_KEYS_MAX];
    size_t n;
};

static att_err collect_key(const struct att_key_rec *k, void *arg)
{
    struct key_list *l = arg;
    uint8_t digest[32];
    char created[32];
    char activates[32];
    char not_after[32] = "";
    struct att_buf fp;
    const unsigned char *p = k->cert_der.data;
    X509 *cert = d2i_X509(NULL, &p, (long)k->cert_der.len);
    if (cert != NULL) {
        struct tm tm;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) {
            strftime(not_after, sizeof(not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        X509_free(cert);
    }
    ATT_ENSURE(l->n < ATT_PROVIDER_KEYS_MAX, ATT_ERR_TOO_LARGE);
    ATT_ENSURE(EVP_Digest(k->cert_der.data, k->cert_der.len, digest, NULL, EVP_sha256(), NULL) == 1,
               ATT_ERR_CRYPTO);
    att_buf_init(&fp, 128);
    att_err rc = att_hex_encode(digest, sizeof(digest), &fp);
    att_time_format(k->created_at, created, sizeof(created));
    att_time_format(k->activate_at, activates, sizeof(activates));
    json_t *item =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "kid", k->kid, "alg", k->alg, "created", created,
                  "activates", activates, "certificate_not_after", not_after, "certificate_sha256",
                  att_buf_cstr(&fp), "token_lifetime", (json_int_t)k->token_lifetime);
    att_buf_cleanup(&fp);
    ATT_TRY(rc);
    ATT_ENSURE(item != NULL && json_array_append_new(l->items, item) == 0, ATT_ERR_NOMEM);
    l->times[l->n] = att_provider_key_times(k);
    l->n++;
    return ATT_OK;
}

/* Each key's state at `now`: "signing", "waiting" or "retired" (with when it goes). */
static void add_key_states(struct key_list *l, int64_t now, int64_t leeway)
{
    static const char *names[] = {"waiting", "signing", "retired"};
    struct att_key_phase phase[ATT_PROVIDER_KEYS_MAX];
    if (l->n == 0) {
        return;
    }
    att_key_phases(l->times, l->n, now, leeway, phase);
    for (size_t i = 0; i < l->n; i++) {
        json_t *item = json_array_get(l->items, i);
        json_object_set_new(item, "state", json_string(names[phase[i].state]));
        if (phase[i].state == ATT_KEY_RETIRED) {
            char t[32];
            att_time_format(phase[i].stop_at, t, sizeof(t));
            json_object_set_new(item, "stopped_signing", json_string(t));
            att_time_format(phase[i].destroy_at, t, sizeof(t));
            json_object_set_new(item, "destroyed_after", json_string(t));
        }
    }
}

int att_admin_provider_show(struct att_admin *a, const char *name, char **json_out, char *err,
                            size_t err_len)
{
    struct att_provider_rec p;
    if (att_provider_name_check(name) != ATT_OK) {
        return att_admin_fail(err, err_len, "'%s' is not a valid provider name", name);
    }
    att_err e = att_store_provider_get(a->store, name, &p);
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "provider '%s': %s", name, att_err_str(e));
    }
    json_t *doc = provider_json(&p);
    struct key_list keys = {.items = json_array(), .n = 0};
    e = doc != NULL && keys.items != NULL ? att_store_key_list(a->store, name, collect_key, &keys)
                                          : ATT_ERR_NOMEM;
    if (e != ATT_OK) {
        json_decref(doc);
        json_decref(keys.items);
        return att_admin_fail(err, err_len, "provider '%s' keys: %s", name, att_err_str(e));
    }
    add_key_states(&keys, att_time_now(), a->cfg.signing_key_retire_leeway);
    json_object_set_new(doc, "keys", keys.items);
    return att_admin_dump(doc, json_out, err, err_len);
}

/* Read PEM certificates (one per file) for an Isolated provider's signers. */
static int read_signers(const char *const *paths, size_t n, X509 **out, char *err, size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(paths[i], "r");
        out[i] = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f != NULL) {
            fclose(f);
        }
        if (out[i] == NULL) {
            return att_admin_fail(err, err_len, "%s: not a readable PEM certificate", paths[i]);
        }
    }
    return 0;
}

int att_admin_provider_create(struct att_admin *a, const char *name, const char *issuer,
                              const char *alg, const char *const *signers, size_t n_signers,
                              char **json_out, char *err, size_t err_len)
{
    X509 *certs[ATT_POLICY_MAX_SIGNERS] = {NULL};
    char default_issuer[ATT_URL_MAX + 1];
    enum att_jws_alg jalg = ATT_JWS_RS256;
    if (att_provider_name_check(name) != ATT_OK) {
        return att_admin_fail(
            err, err_len,
            "'%s' is not a valid provider name (1-63 of a-z, 0-9 and '-', not starting "
            "with '-')",
            name);
    }
    if (issuer == NULL) {
        int n = snprintf(default_issuer, sizeof(default_issuer), "%s/providers/%s",
                         a->cfg.public_url, name);
        if (n < 0 || (size_t)n >= sizeof(default_issuer)) {
            return att_admin_fail(err, err_len, "issuer URL too long");
        }
        issuer = default_issuer;
    }
    if (att_provider_issuer_check(issuer) != ATT_OK) {
        return att_admin_fail(err, err_len,
                              "issuer must be an https:// URL without trailing slash, query "
                              "or fragment");
    }
    if (alg != NULL && (att_jws_alg_parse(alg, &jalg) != ATT_OK || !att_jws_alg_can_sign(jalg))) {
        return att_admin_fail(err, err_len, "--alg must be RS256 or ES256");
    }
    if (n_signers > ATT_POLICY_MAX_SIGNERS) {
        return att_admin_fail(err, err_len, "at most %d signers", ATT_POLICY_MAX_SIGNERS);
    }
    if (read_signers(signers, n_signers, certs, err, err_len) != 0) {
        for (size_t i = 0; i < n_signers; i++) {
            X509_free(certs[i]);
        }
        return 1;
    }
    att_err e = att_provider_create_isolated(a->store, a->keyring, name, issuer, jalg, false,
                                             att_time_now(), certs, n_signers);
    for (size_t i = 0; i < n_signers; i++) {
        X509_free(certs[i]);
    }
    if (n_signers > 0 && e != ATT_OK && e != ATT_ERR_EXISTS) {
        return att_admin_fail(err, err_len,
                              "cannot create provider '%s': %s (each signer must be a CA "
                              "certificate valid now)",
                              name, att_err_str(e));
    }
    if (e == ATT_ERR_EXISTS) {
        return att_admin_fail(err, err_len, "provider '%s' already exists", name);
    }
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "cannot create provider '%s': %s", name,
                              att_err_str(e));
    }
    return att_admin_provider_show(a, name, json_out, err, err_len);
}

int att_admin_provider_list(struct att_admin *a, char **json_out, char *err, size_t err_len)
{
    json_t *arr = json_array();
    att_err e =
        arr != NULL ? att_store_provider_list(a->store, collect_provider, arr) : ATT_ERR_NOMEM;
    if (e != ATT_OK) {
        json_decref(arr);
        return att_admin_fail(err, err_len, "cannot list providers: %s", att_err_str(e));
    }
    return att_admin_dump(arr, json_out, err, err_len);
}

int att_admin_provider_rotate_key(struct att_admin *a, const char *name, const char *lead_text,
                                  char **json_out, char *err, size_t err_len)
{
    int64_t lead = a->cfg.signing_key_lead_time;
    if (att_provider_name_check(name) != ATT_OK) {
        return att_admin_fail(err, err_len, "'%s' is not a valid provider name", name);
    }
    if (lead_text != NULL) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(lead_text, &end, 10);
        if (errno != 0 || end == lead_text || *end != 0 || v < 0 || v > 30 * 86400) {
            return att_admin_fail(err, err_len, "--lead must be 0 to 2592000 seconds");
        }
        lead = v;
    }
    char kid[ATT_KID_MAX + 1];
    int64_t activate_at = 0;
    bool was_waiting = false;
    att_err e = att_provider_rotate_key(a->store, a->keyring, name, att_time_now(), lead, 0, kid,
                                        &activate_at, &was_waiting);
    switch (e) {
    case ATT_OK: break;
    case ATT_ERR_NOT_FOUND: return att_admin_fail(err, err_len, "no provider named '%s'", name);
    case ATT_ERR_STATE:
        return att_admin_fail(err, err_len,
                              "provider '%s' already has a key waiting to sign; rotate again "
                              "once it signs, or with --lead 0 to make it sign now",
                              name);
    case ATT_ERR_TOO_LARGE:
        return att_admin_fail(err, err_len,
                              "provider '%s' has %d keys; retired keys are destroyed once "
                              "their tokens have expired (see provider show)",
                              name, ATT_PROVIDER_KEYS_MAX);
    default:
        return att_admin_fail(err, err_len, "cannot rotate the key of '%s': %s", name,
                              att_err_str(e));
    }
    char at[32];
    att_time_format(activate_at, at, sizeof(at));
    /* was_waiting: --lead 0 made the waiting key (published already) sign now. */
    json_t *doc = json_pack("{s:s,s:s,s:s,s:b}", "provider", name, "kid", kid, "activates", at,
                            "was_waiting", was_waiting);
    return att_admin_dump(doc, json_out, err, err_len);
}

int att_admin_provider_delete(struct att_admin *a, const char *name, char *err, size_t err_len)
{
    att_err e = att_provider_delete(a->store, a->keyring, name);
    if (e == ATT_ERR_STATE) {
        return att_admin_fail(err, err_len, "the default provider cannot be deleted");
    }
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "cannot delete provider '%s': %s", name,
                              att_err_str(e));
    }
    return 0;
}

/* The answer to a provider setting change: the provider as `show` prints it, or the error. */
static int provider_changed(struct att_admin *a, const char *name, att_err e, char **json_out,
                            char *err, size_t err_len)
{
    if (e == ATT_ERR_NOT_FOUND) {
        return att_admin_fail(err, err_len, "no provider named '%s'", name);
    }
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "cannot change provider '%s': %s", name,
                              att_err_str(e));
    }
    return att_admin_provider_show(a, name, json_out, err, err_len);
}

/* Provider `name`: set an on/off setting through `set`, then print the provider. */
static int set_flag(struct att_admin *a, const char *name,
                    att_err (*set)(struct att_store *, const char *, bool), int on, char **json_out,
                    char *err, size_t err_len)
{
    if (att_provider_name_check(name) != ATT_OK) {
        return att_admin_fail(err, err_len, "'%s' is not a valid provider name", name);
    }
    att_err e = set(a->store, name, on != 0);
    return provider_changed(a, name, e, json_out, err, err_len);
}

/* The same for a count (decimal text from 0 to `max`); `flag`, `unit`, `note` word the error. */
static int set_count(struct att_admin *a, const char *name,
                     att_err (*set)(struct att_store *, const char *, int64_t), const char *text,
                     int64_t max, const char *flag, const char *unit, const char *note,
                     char **json_out, char *err, size_t err_len)
{
    char *end = NULL;
    long long v = text != NULL ? strtoll(text, &end, 10) : -1;
    if (att_provider_name_check(name) != ATT_OK) {
        return att_admin_fail(err, err_len, "'%s' is not a valid provider name", name);
    }
    if (end == NULL || end == text || *end != '\0' || v < 0 || v > max) {
        return att_admin_fail(err, err_len, "%s: expected %s from 0 to %lld%s", flag, unit,
                              (long long)max, note);
    }
    att_err e = set(a->store, name, (int64_t)v);
    return provider_changed(a, name, e, json_out, err, err_len);
}

int att_admin_provider_set_collateral_grace(struct att_admin *a, const char *name,
                                            const char *seconds, char **json_out, char *err,
                                            size_t err_len)
{
    return set_count(a, name, att_store_provider_set_collateral_grace, seconds,
                     ATT_COLLATERAL_GRACE_MAX, "--collateral-grace", "seconds", " (30 days)",
                     json_out, err, err_len);
}

int att_admin_provider_set_policy_history_keep(struct att_admin *a, const char *name,
                                               const char *count, char **json_out, char *err,
                                               size_t err_len)
{
    return set_count(a, name, att_store_provider_set_policy_history_keep, count,
                     ATT_POLICY_HISTORY_KEEP_MAX, "--policy-history-keep", "a count",
                     " (0 keeps all)", json_out, err, err_len);
}

int att_admin_provider_set_audit_fail_open(struct att_admin *a, const char *name, int on,
                                           char **json_out, char *err, size_t err_len)
{
    return set_flag(a, name, att_store_provider_set_audit_fail_open, on, json_out, err, err_len);
}

int att_admin_provider_set_require_bound_requests(struct att_admin *a, const char *name, int on,
                                                  char **json_out, char *err, size_t err_len)
{
    return set_flag(a, name, att_store_provider_set_require_bound_requests, on, json_out, err,
                    err_len);
}

int att_admin_provider_set_attest_requires_auth(struct att_admin *a, const char *name, int on,
                                                char **json_out, char *err, size_t err_len)
{
    return set_flag(a, name, att_store_provider_set_attest_requires_auth, on, json_out, err,
                    err_len);
}

int att_admin_provider_set_issuer(struct att_admin *a, const char *name, const char *issuer,
                                  char **json_out, char *err, size_t err_len)
{
    if (att_provider_name_check(name) != ATT_OK) {
        return att_admin_fail(err, err_len, "'%s' is not a valid provider name", name);
    }
    if (att_provider_issuer_check(issuer) != ATT_OK) {
        return att_admin_fail(err, err_len,
                              "--issuer: expected an https URL without a query, fragment or "
                              "trailing slash, as relying parties will see it");
    }
    att_err e = att_store_provider_set_issuer(a->store, name, issuer);
    return provider_changed(a, name, e, json_out, err, err_len);
}

/* ---- keys ---- */

int att_admin_kek_generate(const char *path, char *err, size_t err_len)
{
    att_err e = att_kek_generate_file(path);
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "%s: %s", path,
                              e == ATT_ERR_EXISTS ? "file exists (refusing to overwrite a key)"
                                                  : att_err_str(e));
    }
    return 0;
}

/* A PKCS#11 URI as messages show it: without its query (which may hold pin-value). */
static const char *uri_shown(const char *uri, char *buf, size_t n)
{
    const char *q = strchr(uri, '?');
    size_t len = q != NULL ? (size_t)(q - uri) : strlen(uri);
    snprintf(buf, n, "%.*s%s", (int)(len < 512 ? len : 512), uri, q != NULL ? "?..." : "");
    return buf;
}

int att_admin_kek_generate_pkcs11(const char *uri, char id[17], char *err, size_t err_len)
{
    struct att_kek kek;
    char msg[512];
    char shown[600];
    att_err e = att_kek_load_pkcs11(uri, true, &kek, msg, sizeof(msg));
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "%s: %s", uri_shown(uri, shown, sizeof(shown)), msg);
    }
    memcpy(id, kek.id, 17);
    att_kek_wipe(&kek);
    return 0;
}

int att_admin_kek_load(const char *file, const char *pkcs11_uri, struct att_kek *out, char *err,
                       size_t err_len)
{
    if ((file == NULL) == (pkcs11_uri == NULL)) {
        return att_admin_fail(err, err_len, "name the key by a file or a pkcs11: URI");
    }
    char msg[512];
    att_err e = file != NULL ? att_kek_load_file(file, out)
                             : att_kek_load_pkcs11(pkcs11_uri, false, out, msg, sizeof(msg));
    if (e == ATT_OK) {
        return 0;
    }
    if (pkcs11_uri != NULL) {
        char shown[600];
        return att_admin_fail(err, err_len, "%s: %s", uri_shown(pkcs11_uri, shown, sizeof(shown)),
                              msg);
    }
    return att_admin_fail(err, err_len, "%s: %s", file,
                          e == ATT_ERR_PERM
                              ? "must be a regular file owned by this user with mode 0600 or 0400"
                              : att_err_str(e));
}

int att_admin_kek_rotate(struct att_admin *a, const char *new_kek_file, const char *new_kek_uri,
                         size_t *count, char *err, size_t err_len)
{
    struct att_kek next;
    if (att_admin_kek_load(new_kek_file, new_kek_uri, &next, err, err_len) != 0) {
        return 1;
    }
    att_err e;
    e = att_keyring_rotate_kek(a->store, &a->kek, &next, count);
    att_kek_wipe(&next);
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "rotation failed, nothing changed: %s", att_err_str(e));
    }
    return 0;
}

/* ---- test tokens ---- */

int att_admin_token_issue(struct att_admin *a, const char *provider, const char *claims_json,
                          int64_t lifetime, char **token_out, char *err, size_t err_len)
{
    struct att_provider_set *set = NULL;
    json_t *claims = NULL;
    struct att_buf token;
    int rc = 1;
    if (provider == NULL) {
        return att_admin_fail(err, err_len, "a test token needs a provider");
    }
    att_buf_init(&token, 1 << 20);
    if (claims_json != NULL) {
        json_error_t jerr;
        claims = json_loads(claims_json, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(claims)) {
            att_admin_fail(err, err_len, "--claims must be a JSON object");
            goto out;
        }
    } else {
        claims = json_object();
    }
    /* attestd's marks (x-attestd-test-token, x-attestd-demo) are its own: a caller neither
     * fakes nor shadows them, in any case of letters. */
    const char *name;
    json_t *value;
    json_object_foreach(claims, name, value)
    {
        if (strncasecmp(name, "x-attestd-", 10) == 0) {
            att_admin_fail(err, err_len, "--claims: '%s' is attestd's mark, not the caller's",
                           name);
            goto out;
        }
    }
    json_object_set_new(claims, "x-attestd-test-token", json_true());
    att_err e = att_provider_set_load(a->store, a->keyring, &set);
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "cannot load providers: %s", att_err_str(e));
        goto out;
    }
    const struct att_provider *p = att_provider_set_find(set, provider, strlen(provider));
    if (p == NULL) {
        att_admin_fail(err, err_len, "no provider named '%s'", provider);
        goto out;
    }
    /* A key attestd has had a look to publish, noted as used for this token's lifetime, so it
     * stays published until the token expires (docs/operations.md "Signing-key rotation"). */
    int64_t now = att_time_now();
    const struct att_provider_key *key = att_provider_published_key(p, now);
    e = att_store_key_note_use(a->store, provider, key->kid, now, lifetime);
    if (e == ATT_OK) {
        e = att_provider_issue_token_with(set, p, key, claims, now, lifetime, &token);
    }
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "cannot sign: %s", att_err_str(e));
        goto out;
    }
    *token_out = strdup(att_buf_cstr(&token));
    rc = *token_out != NULL ? 0 : att_admin_fail(err, err_len, "out of memory");
out:
    json_decref(claims);
    att_provider_set_free(set);
    att_buf_cleanup(&token);
    return rc;
}
