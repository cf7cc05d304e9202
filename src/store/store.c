/*
 * store.c - the att_store_* wrappers over a backend's operation table, and
 * the record init/cleanup helpers.
 *
 * Input trust: records come from our own callers. The wrappers check what
 * every backend would otherwise have to: a store and its operation exist,
 * string arguments are present, and fixed-size string fields are
 * NUL-terminated inside their arrays (so backends may use them as C strings). They check
 * shapes (presence, lengths, hex digests, caps), never formats: which collateral kinds and
 * keys exist is src/collateral/items.c's, what a role grants src/auth/rbac.c's.
 */
#include "store/store.h"

#include <openssl/evp.h>
#include <string.h>

/* ---- records ------------------------------------------------------------- */

void att_policy_version_rec_init(struct att_policy_version_rec *v)
{
    memset(v, 0, sizeof(*v));
    att_buf_init(&v->sealed_jws, ATT_STORE_BLOB_MAX);
}

void att_policy_version_rec_cleanup(struct att_policy_version_rec *v)
{
    att_buf_cleanup(&v->sealed_jws);
}

void att_signer_rec_init(struct att_signer_rec *r)
{
    memset(r, 0, sizeof(*r));
    att_buf_init(&r->cert_der, ATT_STORE_BLOB_MAX);
}

void att_signer_rec_cleanup(struct att_signer_rec *r)
{
    att_buf_cleanup(&r->cert_der);
}

void att_key_rec_init(struct att_key_rec *k)
{
    memset(k, 0, sizeof(*k));
    att_buf_init(&k->cert_der, ATT_STORE_BLOB_MAX);
    att_buf_init(&k->sealed_key, ATT_STORE_BLOB_MAX);
}

void att_key_rec_cleanup(struct att_key_rec *k)
{
    if (k != NULL) {
        att_buf_cleanup(&k->cert_der);
        att_buf_cleanup(&k->sealed_key);
    }
}

void att_dek_rec_init(struct att_dek_rec *d)
{
    memset(d, 0, sizeof(*d));
    att_buf_init(&d->wrapped, ATT_STORE_BLOB_MAX);
}

void att_dek_rec_cleanup(struct att_dek_rec *d)
{
    if (d != NULL) {
        att_buf_cleanup(&d->wrapped);
    }
}

void att_collateral_rec_init(struct att_collateral_rec *r)
{
    memset(r, 0, sizeof(*r));
    att_buf_init(&r->body, ATT_STORE_COLLATERAL_BODY_MAX);
    att_buf_init(&r->signature, ATT_STORE_COLLATERAL_SIG_LEN);
    att_buf_init(&r->issuer_chain, ATT_STORE_COLLATERAL_CHAIN_MAX);
}

void att_collateral_rec_cleanup(struct att_collateral_rec *r)
{
    if (r != NULL) {
        att_buf_cleanup(&r->body);
        att_buf_cleanup(&r->signature);
        att_buf_cleanup(&r->issuer_chain);
    }
}

void att_audit_checkpoint_rec_init(struct att_audit_checkpoint_rec *r)
{
    memset(r, 0, sizeof(*r));
    att_buf_init(&r->jws, ATT_STORE_CHECKPOINT_JWS_MAX);
}

void att_audit_checkpoint_rec_cleanup(struct att_audit_checkpoint_rec *r)
{
    if (r != NULL) {
        att_buf_cleanup(&r->jws);
    }
}

/* ---- tables ---------------------------------------------------------------- */

/* In enum att_store_table's order: the names both backends count by (and the schema has). */
static const char *const table_names[ATT_STORE_TABLES] = {
    "providers",       "signing_keys",      "data_keys",        "auth_keys",
    "principals",      "principal_secrets", "role_assignments", "policy_versions",
    "policy_requests", "policy_signers",    "collateral",       "audit_checkpoint",
};

const char *att_store_table_name(enum att_store_table t)
{
    return (int)t >= 0 && t < ATT_STORE_TABLES ? table_names[t] : "";
}

/* ---- argument checks ----------------------------------------------------- */

#define FIELD_OK(arr) (strnlen((arr), sizeof(arr)) < sizeof(arr))

static bool blob_ok(const struct att_buf *b)
{
    return b->err == ATT_OK && b->len <= ATT_STORE_BLOB_MAX && (b->data != NULL || b->len == 0);
}

static bool provider_ok(const struct att_provider_rec *p)
{
    return p != NULL && FIELD_OK(p->name) && FIELD_OK(p->issuer) && FIELD_OK(p->signing_alg) &&
           FIELD_OK(p->dcap_trust_anchors) && p->name[0] != '\0' &&
           (!p->demo || p->dcap_trust_anchors[0] != '\0') && /* a demo trusts its own root */
           (strcmp(p->trust_model, ATT_TRUST_AAD) == 0 ||
            strcmp(p->trust_model, ATT_TRUST_ISOLATED) == 0);
}

#define KEY_LIFETIME_MAX ((int64_t)10 * 366 * 86400)

static bool key_ok(const struct att_key_rec *k)
{
    return k != NULL && FIELD_OK(k->kid) && FIELD_OK(k->provider) && FIELD_OK(k->alg) &&
           k->kid[0] != '\0' && blob_ok(&k->cert_der) && blob_ok(&k->sealed_key) &&
           k->activate_at >= 0 && k->token_lifetime >= 0 && k->token_lifetime <= KEY_LIFETIME_MAX &&
           k->used_until >= 0;
}

static bool dek_ok(const struct att_dek_rec *d)
{
    return d != NULL && FIELD_OK(d->id) && FIELD_OK(d->kek_id) && d->id[0] != '\0' &&
           blob_ok(&d->wrapped);
}

/*
 * A certificate's DER never comes without its SHA-256 (mutual TLS matches on the hash); a
 * hash without DER is a certificate registered before migration 3.
 */
static bool principal_ok(const struct att_principal_rec *p)
{
    return p != NULL && FIELD_OK(p->id) && FIELD_OK(p->name) && FIELD_OK(p->cert_sha256) &&
           FIELD_OK(p->last_used_from) && p->id[0] != '\0' && p->name[0] != '\0' &&
           p->cert_der_len <= ATT_PRINCIPAL_CERT_MAX &&
           (p->cert_der_len == 0 || p->cert_sha256[0] != '\0');
}

/* 64 lowercase hex digits: the form att_principal_set_cert writes and mutual TLS compares. */
static bool sha256_hex_ok(const char *s)
{
    if (strnlen(s, 65) != 64) {
        return false;
    }
    for (size_t i = 0; i < 64; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

static bool secret_ok(const struct att_secret_rec *sec)
{
    return sec != NULL && FIELD_OK(sec->id) && FIELD_OK(sec->principal_id) && FIELD_OK(sec->hash) &&
           sec->id[0] != '\0' && sec->principal_id[0] != '\0' && sec->hash[0] != '\0';
}

static bool subject_kind_ok(const char *kind)
{
    return strcmp(kind, "principal") == 0 || strcmp(kind, "subject") == 0 ||
           strcmp(kind, "group") == 0;
}

static bool role_ok(const struct att_role_rec *r)
{
    return r != NULL && FIELD_OK(r->id) && FIELD_OK(r->subject_kind) && FIELD_OK(r->subject) &&
           FIELD_OK(r->issuer) && FIELD_OK(r->role) && FIELD_OK(r->provider) && r->id[0] != '\0' &&
           subject_kind_ok(r->subject_kind) && r->subject[0] != '\0' && r->role[0] != '\0' &&
           r->provider[0] != '\0';
}

/* A string argument that must fit a record field of `cap` bytes, NUL included. */
static bool fits(const char *s, size_t cap)
{
    return s != NULL && strnlen(s, cap) < cap;
}

#define HAS_OP(s, op) ((s) != NULL && (s)->ops != NULL && (s)->ops->op != NULL)

/* ---- wrappers -------------------------------------------------------------- */

void att_store_close(struct att_store *s)
{
    if (HAS_OP(s, close)) {
        s->ops->close(s);
    }
}

att_err att_store_ping(struct att_store *s)
{
    ATT_ENSURE(HAS_OP(s, ping), ATT_ERR_ARG);
    return s->ops->ping(s);
}

att_err att_store_set_lock_wait(struct att_store *s, int ms)
{
    ATT_ENSURE(HAS_OP(s, set_lock_wait) && ms >= 0 && ms <= 60000, ATT_ERR_ARG);
    return s->ops->set_lock_wait(s, ms);
}

att_err att_store_schema_version(struct att_store *s, int *out)
{
    ATT_ENSURE(HAS_OP(s, schema_version) && out != NULL, ATT_ERR_ARG);
    return s->ops->schema_version(s, out);
}

att_err att_store_snapshot(struct att_store *s, const char *path)
{
    ATT_ENSURE(HAS_OP(s, snapshot) && path != NULL && path[0] != 0, ATT_ERR_ARG);
    return s->ops->snapshot(s, path);
}

att_err att_store_check(struct att_store *s)
{
    ATT_ENSURE(HAS_OP(s, check), ATT_ERR_ARG);
    return s->ops->check(s);
}

att_err att_store_begin(struct att_store *s, struct att_store **tx)
{
    ATT_ENSURE(HAS_OP(s, begin) && tx != NULL, ATT_ERR_ARG);
    return s->ops->begin(s, tx);
}

att_err att_store_commit(struct att_store *tx)
{
    ATT_ENSURE(HAS_OP(tx, commit), ATT_ERR_ARG);
    return tx->ops->commit(tx);
}

att_err att_store_rollback(struct att_store *tx)
{
    ATT_ENSURE(HAS_OP(tx, rollback), ATT_ERR_ARG);
    return tx->ops->rollback(tx);
}

att_err att_store_count(struct att_store *s, struct att_store_counts *out)
{
    ATT_ENSURE(HAS_OP(s, count) && out != NULL, ATT_ERR_ARG);
    struct att_store_counts n;
    memset(&n, 0, sizeof(n));
    ATT_TRY(s->ops->count(s, &n));
    *out = n;
    return ATT_OK;
}

att_err att_store_open(const char *where, struct att_store **out)
{
    ATT_ENSURE(where != NULL && out != NULL, ATT_ERR_ARG);
    return att_store_is_postgresql_url(where) ? att_store_open_postgresql(where, out)
                                              : att_store_open_sqlite(where, out);
}

const char *att_store_backend(const struct att_store *s)
{
    return s != NULL && s->ops != NULL ? s->ops->name : "";
}

att_err att_store_provider_insert(struct att_store *s, const struct att_provider_rec *p)
{
    ATT_ENSURE(HAS_OP(s, provider_insert) && provider_ok(p), ATT_ERR_ARG);
    return s->ops->provider_insert(s, p);
}

att_err att_store_provider_get(struct att_store *s, const char *name, struct att_provider_rec *out)
{
    ATT_ENSURE(HAS_OP(s, provider_get) && name != NULL && out != NULL, ATT_ERR_ARG);
    return s->ops->provider_get(s, name, out);
}

att_err att_store_provider_list(struct att_store *s, att_store_provider_cb cb, void *arg)
{
    ATT_ENSURE(HAS_OP(s, provider_list) && cb != NULL, ATT_ERR_ARG);
    return s->ops->provider_list(s, cb, arg);
}

att_err att_store_provider_delete(struct att_store *s, const char *name)
{
    ATT_ENSURE(HAS_OP(s, provider_delete) && name != NULL, ATT_ERR_ARG);
    return s->ops->provider_delete(s, name);
}

att_err att_store_provider_set_attest_requires_auth(struct att_store *s, const char *name, bool on)
{
    ATT_ENSURE(HAS_OP(s, provider_set_attest_requires_auth) && name != NULL, ATT_ERR_ARG);
    return s->ops->provider_set_attest_requires_auth(s, name, on);
}

att_err att_store_provider_set_collateral_grace(struct att_store *s, const char *name,
                                                int64_t seconds)
{
    ATT_ENSURE(HAS_OP(s, provider_set_collateral_grace) && name != NULL && seconds >= 0 &&
                   seconds <= ATT_COLLATERAL_GRACE_MAX,
               ATT_ERR_ARG);
    return s->ops->provider_set_collateral_grace(s, name, seconds);
}

att_err att_store_provider_set_require_bound_requests(struct att_store *s, const char *name,
                                                      bool on)
{
    ATT_ENSURE(HAS_OP(s, provider_set_require_bound_requests) && name != NULL, ATT_ERR_ARG);
    return s->ops->provider_set_require_bound_requests(s, name, on);
}

att_err att_store_provider_set_policy_history_keep(struct att_store *s, const char *name,
                                                   int64_t keep)
{
    ATT_ENSURE(HAS_OP(s, provider_set_policy_history_keep) && name != NULL && keep >= 0 &&
                   keep <= ATT_POLICY_HISTORY_KEEP_MAX,
               ATT_ERR_ARG);
    return s->ops->provider_set_policy_history_keep(s, name, keep);
}

att_err att_store_provider_set_audit_fail_open(struct att_store *s, const char *name, bool on)
{
    ATT_ENSURE(HAS_OP(s, provider_set_audit_fail_open) && name != NULL, ATT_ERR_ARG);
    return s->ops->provider_set_audit_fail_open(s, name, on);
}

att_err att_store_provider_set_issuer(struct att_store *s, const char *name, const char *issuer)
{
    ATT_ENSURE(HAS_OP(s, provider_set_issuer) && name != NULL && fits(issuer, ATT_URL_MAX + 1) &&
                   issuer[0] != '\0',
               ATT_ERR_ARG);
    return s->ops->provider_set_issuer(s, name, issuer);
}

att_err att_store_audit_checkpoint_put(struct att_store *s, const char *node, int64_t seq,
                                       const char *hash, const char *jws, int64_t now)
{
    ATT_ENSURE(HAS_OP(s, audit_checkpoint_put) && fits(node, ATT_NODE_NAME_MAX + 1) && seq >= 0 &&
                   hash != NULL && strlen(hash) == 64 && jws != NULL,
               ATT_ERR_ARG);
    return s->ops->audit_checkpoint_put(s, node, seq, hash, jws, now);
}

att_err att_store_audit_checkpoint_clear(struct att_store *s, const char *node)
{
    ATT_ENSURE(HAS_OP(s, audit_checkpoint_clear) && fits(node, ATT_NODE_NAME_MAX + 1), ATT_ERR_ARG);
    return s->ops->audit_checkpoint_clear(s, node);
}

att_err att_store_audit_checkpoint_get(struct att_store *s, const char *node, int64_t *seq,
                                       char hash[65])
{
    ATT_ENSURE(HAS_OP(s, audit_checkpoint_get) && fits(node, ATT_NODE_NAME_MAX + 1) &&
                   seq != NULL && hash != NULL,
               ATT_ERR_ARG);
    return s->ops->audit_checkpoint_get(s, node, seq, hash);
}

att_err att_store_audit_checkpoint_read(struct att_store *s, const char *node,
                                        struct att_audit_checkpoint_rec *out)
{
    ATT_ENSURE(HAS_OP(s, audit_checkpoint_read) && fits(node, ATT_NODE_NAME_MAX + 1) && out != NULL,
               ATT_ERR_ARG);
    return s->ops->audit_checkpoint_read(s, node, out);
}

att_err att_store_key_insert(struct att_store *s, const struct att_key_rec *k)
{
    ATT_ENSURE(HAS_OP(s, key_insert) && key_ok(k), ATT_ERR_ARG);
    return s->ops->key_insert(s, k);
}

att_err att_store_key_list(struct att_store *s, const char *provider, att_store_key_cb cb,
                           void *arg)
{
    ATT_ENSURE(HAS_OP(s, key_list) && provider != NULL && cb != NULL, ATT_ERR_ARG);
    return s->ops->key_list(s, provider, cb, arg);
}

att_err att_store_key_delete(struct att_store *s, const char *provider, const char *kid)
{
    ATT_ENSURE(HAS_OP(s, key_delete) && provider != NULL && kid != NULL, ATT_ERR_ARG);
    return s->ops->key_delete(s, provider, kid);
}

att_err att_store_key_note_use(struct att_store *s, const char *provider, const char *kid,
                               int64_t until, int64_t lifetime)
{
    ATT_ENSURE(HAS_OP(s, key_note_use) && provider != NULL && kid != NULL && until >= 0 &&
                   lifetime >= 1 && lifetime <= KEY_LIFETIME_MAX,
               ATT_ERR_ARG);
    return s->ops->key_note_use(s, provider, kid, until, lifetime);
}

att_err att_store_key_set_activate(struct att_store *s, const char *provider, const char *kid,
                                   int64_t at)
{
    ATT_ENSURE(HAS_OP(s, key_set_activate) && provider != NULL && kid != NULL && at >= 0,
               ATT_ERR_ARG);
    return s->ops->key_set_activate(s, provider, kid, at);
}

att_err att_store_dek_insert(struct att_store *s, const struct att_dek_rec *d)
{
    ATT_ENSURE(HAS_OP(s, dek_insert) && dek_ok(d), ATT_ERR_ARG);
    return s->ops->dek_insert(s, d);
}

att_err att_store_dek_get(struct att_store *s, const char *id, struct att_dek_rec *out)
{
    ATT_ENSURE(HAS_OP(s, dek_get) && id != NULL && out != NULL, ATT_ERR_ARG);
    return s->ops->dek_get(s, id, out);
}

att_err att_store_dek_get_active(struct att_store *s, struct att_dek_rec *out)
{
    ATT_ENSURE(HAS_OP(s, dek_get_active) && out != NULL, ATT_ERR_ARG);
    return s->ops->dek_get_active(s, out);
}

att_err att_store_dek_list(struct att_store *s, att_store_dek_cb cb, void *arg)
{
    ATT_ENSURE(HAS_OP(s, dek_list) && cb != NULL, ATT_ERR_ARG);
    return s->ops->dek_list(s, cb, arg);
}

att_err att_store_dek_rewrap(struct att_store *s, const char *id, const char *kek_id,
                             const uint8_t *wrapped, size_t len)
{
    ATT_ENSURE(HAS_OP(s, dek_rewrap) && id != NULL && kek_id != NULL, ATT_ERR_ARG);
    ATT_ENSURE((wrapped != NULL || len == 0) && len <= ATT_STORE_BLOB_MAX, ATT_ERR_ARG);
    return s->ops->dek_rewrap(s, id, kek_id, wrapped, len);
}

/* ---- identity -------------------------------------------------------------- */

/* Auth keys belong to attestd itself: the record's provider must be "". */
att_err att_store_auth_key_insert(struct att_store *s, const struct att_key_rec *k)
{
    ATT_ENSURE(HAS_OP(s, auth_key_insert) && key_ok(k) && k->provider[0] == '\0', ATT_ERR_ARG);
    return s->ops->auth_key_insert(s, k);
}

att_err att_store_auth_key_list(struct att_store *s, att_store_key_cb cb, void *arg)
{
    ATT_ENSURE(HAS_OP(s, auth_key_list) && cb != NULL, ATT_ERR_ARG);
    return s->ops->auth_key_list(s, cb, arg);
}

att_err att_store_principal_insert(struct att_store *s, const struct att_principal_rec *p)
{
    ATT_ENSURE(HAS_OP(s, principal_insert) && principal_ok(p), ATT_ERR_ARG);
    return s->ops->principal_insert(s, p);
}

att_err att_store_principal_get(struct att_store *s, const char *id, struct att_principal_rec *out)
{
    ATT_ENSURE(HAS_OP(s, principal_get) && id != NULL && out != NULL, ATT_ERR_ARG);
    return s->ops->principal_get(s, id, out);
}

att_err att_store_principal_get_by_name(struct att_store *s, const char *name,
                                        struct att_principal_rec *out)
{
    ATT_ENSURE(HAS_OP(s, principal_get_by_name) && name != NULL && out != NULL, ATT_ERR_ARG);
    return s->ops->principal_get_by_name(s, name, out);
}

att_err att_store_principal_get_by_cert(struct att_store *s, const char *cert_sha256,
                                        struct att_principal_rec *out)
{
    ATT_ENSURE(HAS_OP(s, principal_get_by_cert) && cert_sha256 != NULL &&
                   sha256_hex_ok(cert_sha256) && out != NULL,
               ATT_ERR_ARG);
    return s->ops->principal_get_by_cert(s, cert_sha256, out);
}

att_err att_store_principal_list(struct att_store *s, att_store_principal_cb cb, void *arg)
{
    ATT_ENSURE(HAS_OP(s, principal_list) && cb != NULL, ATT_ERR_ARG);
    return s->ops->principal_list(s, cb, arg);
}

att_err att_store_principal_set_cert(struct att_store *s, const char *id, const char *cert_sha256,
                                     const uint8_t *cert_der, size_t cert_der_len)
{
    ATT_ENSURE(HAS_OP(s, principal_set_cert) && id != NULL && cert_sha256 != NULL, ATT_ERR_ARG);
    if (cert_sha256[0] == '\0') {
        ATT_ENSURE(cert_der_len == 0, ATT_ERR_ARG);
    } else {
        ATT_ENSURE(sha256_hex_ok(cert_sha256), ATT_ERR_ARG);
        ATT_ENSURE(cert_der != NULL && cert_der_len > 0 && cert_der_len <= ATT_PRINCIPAL_CERT_MAX,
                   ATT_ERR_ARG);
    }
    return s->ops->principal_set_cert(s, id, cert_sha256, cert_der, cert_der_len);
}

att_err att_store_principal_set_disabled(struct att_store *s, const char *id, bool disabled)
{
    ATT_ENSURE(HAS_OP(s, principal_set_disabled) && id != NULL, ATT_ERR_ARG);
    return s->ops->principal_set_disabled(s, id, disabled);
}

/* `from` must fit last_used_from, or the row could not be read back. */
att_err att_store_principal_touch(struct att_store *s, const char *id, int64_t at, const char *from)
{
    ATT_ENSURE(HAS_OP(s, principal_touch) && id != NULL, ATT_ERR_ARG);
    ATT_ENSURE(fits(from, sizeof(((struct att_principal_rec *)NULL)->last_used_from)), ATT_ERR_ARG);
    return s->ops->principal_touch(s, id, at, from);
}

att_err att_store_principal_delete(struct att_store *s, const char *id)
{
    ATT_ENSURE(HAS_OP(s, principal_delete) && id != NULL, ATT_ERR_ARG);
    return s->ops->principal_delete(s, id);
}

att_err att_store_secret_insert(struct att_store *s, const struct att_secret_rec *sec)
{
    ATT_ENSURE(HAS_OP(s, secret_insert) && secret_ok(sec), ATT_ERR_ARG);
    return s->ops->secret_insert(s, sec);
}

att_err att_store_secret_list(struct att_store *s, const char *principal_id, att_store_secret_cb cb,
                              void *arg)
{
    ATT_ENSURE(HAS_OP(s, secret_list) && principal_id != NULL && cb != NULL, ATT_ERR_ARG);
    return s->ops->secret_list(s, principal_id, cb, arg);
}

att_err att_store_secret_revoke(struct att_store *s, const char *id, int64_t at)
{
    ATT_ENSURE(HAS_OP(s, secret_revoke) && id != NULL, ATT_ERR_ARG);
    return s->ops->secret_revoke(s, id, at);
}

att_err att_store_role_insert(struct att_store *s, const struct att_role_rec *r)
{
    ATT_ENSURE(HAS_OP(s, role_insert) && role_ok(r), ATT_ERR_ARG);
    return s->ops->role_insert(s, r);
}

att_err att_store_role_get(struct att_store *s, const char *id, struct att_role_rec *out)
{
    ATT_ENSURE(HAS_OP(s, role_get) && id != NULL && out != NULL, ATT_ERR_ARG);
    return s->ops->role_get(s, id, out);
}

att_err att_store_role_list(struct att_store *s, att_store_role_cb cb, void *arg)
{
    ATT_ENSURE(HAS_OP(s, role_list) && cb != NULL, ATT_ERR_ARG);
    return s->ops->role_list(s, cb, arg);
}

/*
 * A caller's query: its strings fit the columns they are compared with (a longer value could
 * name no row anyway), a principal has no groups, and the groups fit the statement's slots.
 */
static bool role_query_ok(const struct att_role_query *q)
{
    if (q == NULL || q->kind == NULL || !fits(q->subject, ATT_ROLE_SUBJECT_MAX + 1) ||
        q->n_groups > ATT_STORE_ROLE_GROUPS_MAX) {
        return false;
    }
    if (strcmp(q->kind, "principal") == 0) {
        return q->n_groups == 0;
    }
    if (strcmp(q->kind, "subject") != 0 || !fits(q->issuer, ATT_URL_MAX + 1)) {
        return false;
    }
    for (size_t i = 0; i < q->n_groups; i++) {
        if (!fits(q->groups[i], ATT_ROLE_SUBJECT_MAX + 1)) {
            return false;
        }
    }
    return true;
}

att_err att_store_role_list_for(struct att_store *s, const struct att_role_query *q,
                                att_store_role_cb cb, void *arg)
{
    ATT_ENSURE(HAS_OP(s, role_list_for) && role_query_ok(q) && cb != NULL, ATT_ERR_ARG);
    return s->ops->role_list_for(s, q, cb, arg);
}

/* The backends get "" for "none": ids are never empty (role_ok, principal_ok). */
att_err att_store_role_count_enabled(struct att_store *s, const char *role, const char *provider,
                                     const char *except_role, const char *except_principal,
                                     int64_t *count)
{
    ATT_ENSURE(HAS_OP(s, role_count_enabled) && role != NULL && role[0] != '\0' &&
                   provider != NULL && provider[0] != '\0' && count != NULL,
               ATT_ERR_ARG);
    int64_t n = 0;
    ATT_TRY(s->ops->role_count_enabled(s, role, provider, except_role != NULL ? except_role : "",
                                       except_principal != NULL ? except_principal : "", &n));
    *count = n;
    return ATT_OK;
}

att_err att_store_role_delete(struct att_store *s, const char *id)
{
    ATT_ENSURE(HAS_OP(s, role_delete) && id != NULL, ATT_ERR_ARG);
    return s->ops->role_delete(s, id);
}

att_err att_store_identity_lock(struct att_store *tx)
{
    ATT_ENSURE(HAS_OP(tx, identity_lock), ATT_ERR_ARG);
    return tx->ops->identity_lock(tx);
}

/* ---- policies ---- */

static bool version_ok(const struct att_policy_version_rec *v)
{
    return v != NULL && FIELD_OK(v->id) && v->id[0] != 0 && FIELD_OK(v->provider) &&
           FIELD_OK(v->type) && v->type[0] != 0 && FIELD_OK(v->action) &&
           FIELD_OK(v->policy_hash) && FIELD_OK(v->signer_sha256) && FIELD_OK(v->principal) &&
           FIELD_OK(v->principal_name) && FIELD_OK(v->source) && blob_ok(&v->sealed_jws);
}

static bool request_ok(const struct att_policy_request_rec *r)
{
    return r != NULL && FIELD_OK(r->provider) && r->provider[0] != '\0' && FIELD_OK(r->scope) &&
           sha256_hex_ok(r->digest) && r->expires_at >= 0;
}

att_err att_store_policy_version_append(struct att_store *s, struct att_policy_version_rec *v,
                                        struct att_policy_request_rec *req, int64_t keep)
{
    ATT_ENSURE(HAS_OP(s, policy_version_append) && version_ok(v) &&
                   (req == NULL || request_ok(req)) && keep >= 0 &&
                   keep <= ATT_POLICY_HISTORY_KEEP_MAX,
               ATT_ERR_ARG);
    return s->ops->policy_version_append(s, v, req, keep);
}

att_err att_store_policy_version_get(struct att_store *s, const char *provider, const char *type,
                                     int64_t version, struct att_policy_version_rec *out)
{
    ATT_ENSURE(HAS_OP(s, policy_version_get) && provider != NULL && type != NULL && version >= 0 &&
                   out != NULL,
               ATT_ERR_ARG);
    return s->ops->policy_version_get(s, provider, type, version, out);
}

att_err att_store_policy_version_list(struct att_store *s, const char *provider, const char *type,
                                      int64_t after, int64_t limit, att_store_policy_version_cb cb,
                                      void *arg)
{
    ATT_ENSURE(HAS_OP(s, policy_version_list) && provider != NULL && type != NULL && cb != NULL &&
                   after >= 0 && limit >= 0,
               ATT_ERR_ARG);
    return s->ops->policy_version_list(s, provider, type, after, limit, cb, arg);
}

/* A copied version keeps its number, which counts from 1 (store.h). */
att_err att_store_policy_version_insert(struct att_store *s, const struct att_policy_version_rec *v)
{
    ATT_ENSURE(HAS_OP(s, policy_version_insert) && version_ok(v) && v->version >= 1 &&
                   v->rollback_of >= 0,
               ATT_ERR_ARG);
    return s->ops->policy_version_insert(s, v);
}

att_err att_store_policy_version_scan(struct att_store *s, att_store_policy_version_cb cb,
                                      void *arg)
{
    ATT_ENSURE(HAS_OP(s, policy_version_scan) && cb != NULL, ATT_ERR_ARG);
    return s->ops->policy_version_scan(s, cb, arg);
}

att_err att_store_policy_request_claim(struct att_store *s, const struct att_policy_request_rec *r,
                                       int64_t now)
{
    ATT_ENSURE(HAS_OP(s, policy_request_claim) && request_ok(r) && r->expires_at > 0, ATT_ERR_ARG);
    return s->ops->policy_request_claim(s, r, now);
}

att_err att_store_policy_request_get(struct att_store *s, const char *provider, const char *scope,
                                     const char *digest, struct att_policy_request_rec *out)
{
    ATT_ENSURE(HAS_OP(s, policy_request_get) && provider != NULL && scope != NULL &&
                   digest != NULL && out != NULL,
               ATT_ERR_ARG);
    return s->ops->policy_request_get(s, provider, scope, digest, out);
}

att_err att_store_policy_request_forget(struct att_store *s, const char *provider,
                                        const char *scope, const char *digest)
{
    ATT_ENSURE(HAS_OP(s, policy_request_forget) && provider != NULL && scope != NULL &&
                   digest != NULL,
               ATT_ERR_ARG);
    return s->ops->policy_request_forget(s, provider, scope, digest);
}

att_err att_store_policy_request_insert(struct att_store *s, const struct att_policy_request_rec *r)
{
    ATT_ENSURE(HAS_OP(s, policy_request_insert) && request_ok(r) && r->version >= 0, ATT_ERR_ARG);
    return s->ops->policy_request_insert(s, r);
}

att_err att_store_policy_request_list(struct att_store *s, att_store_policy_request_cb cb,
                                      void *arg)
{
    ATT_ENSURE(HAS_OP(s, policy_request_list) && cb != NULL, ATT_ERR_ARG);
    return s->ops->policy_request_list(s, cb, arg);
}

att_err att_store_signer_insert(struct att_store *s, const struct att_signer_rec *r)
{
    ATT_ENSURE(HAS_OP(s, signer_insert) && r != NULL && FIELD_OK(r->provider) &&
                   strlen(r->sha256) == 64 && strlen(r->sha1) == 40 && r->cert_der.len > 0 &&
                   blob_ok(&r->cert_der),
               ATT_ERR_ARG);
    return s->ops->signer_insert(s, r);
}

att_err att_store_signer_delete(struct att_store *s, const char *provider, const char *sha256)
{
    ATT_ENSURE(HAS_OP(s, signer_delete) && provider != NULL && sha256 != NULL, ATT_ERR_ARG);
    return s->ops->signer_delete(s, provider, sha256);
}

att_err att_store_signer_get(struct att_store *s, const char *provider, const char *sha256,
                             struct att_signer_rec *out)
{
    ATT_ENSURE(HAS_OP(s, signer_get) && provider != NULL && sha256 != NULL && out != NULL,
               ATT_ERR_ARG);
    return s->ops->signer_get(s, provider, sha256, out);
}

att_err att_store_signer_list(struct att_store *s, const char *provider, att_store_signer_cb cb,
                              void *arg)
{
    ATT_ENSURE(HAS_OP(s, signer_list) && provider != NULL && cb != NULL, ATT_ERR_ARG);
    return s->ops->signer_list(s, provider, cb, arg);
}

/* ---- collateral ---- */

/* The first n characters are lower-case hex digits. */
static bool hex_run(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false; /* also stops at the terminating NUL */
        }
    }
    return true;
}

/* r->sha256 must name r->body: the store compares items by it. */
static bool collateral_hash_ok(const struct att_collateral_rec *r)
{
    static const char digits[] = "0123456789abcdef";
    uint8_t md[32];
    unsigned int n = 0;
    if (EVP_Digest(r->body.data, r->body.len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        return false;
    }
    for (size_t i = 0; i < 32; i++) {
        if (r->sha256[2 * i] != digits[md[i] >> 4] || r->sha256[2 * i + 1] != digits[md[i] & 15]) {
            return false;
        }
    }
    return true;
}

/* "" (the daemon's trust anchors) or 64 lower-case hex digits (a provider's). */
static bool scope_ok(const char *scope)
{
    return scope[0] == '\0' ||
           (hex_run(scope, ATT_COLLATERAL_SCOPE_LEN) && scope[ATT_COLLATERAL_SCOPE_LEN] == '\0');
}

/*
 * The shape of an item, whatever its format: fields that fit, a scope of the right form, a
 * kind and a source, a non-empty body named by its sha256, blobs within their caps. Which
 * kinds, keys and signatures make an item of Intel or AMD collateral is src/collateral's
 * (att_collateral_item_check); the schema knows the kinds and sources.
 */
static bool collateral_ok(const struct att_collateral_rec *r)
{
    return r != NULL && FIELD_OK(r->scope) && FIELD_OK(r->kind) && FIELD_OK(r->key) &&
           FIELD_OK(r->sha256) && FIELD_OK(r->source) && scope_ok(r->scope) && r->kind[0] != '\0' &&
           r->source[0] != '\0' && blob_ok(&r->body) && blob_ok(&r->signature) &&
           blob_ok(&r->issuer_chain) && r->body.len > 0 &&
           r->body.len <= ATT_STORE_COLLATERAL_BODY_MAX &&
           r->issuer_chain.len <= ATT_STORE_COLLATERAL_CHAIN_MAX &&
           r->signature.len <= ATT_STORE_COLLATERAL_SIG_LEN && sha256_hex_ok(r->sha256) &&
           collateral_hash_ok(r);
}

att_err att_store_collateral_put(struct att_store *s, const struct att_collateral_rec *r,
                                 bool *replaced)
{
    ATT_ENSURE(HAS_OP(s, collateral_put) && collateral_ok(r), ATT_ERR_ARG);
    bool changed = false;
    ATT_TRY(s->ops->collateral_put(s, r, &changed));
    if (replaced != NULL) {
        *replaced = changed;
    }
    return ATT_OK;
}

att_err att_store_collateral_get(struct att_store *s, const char *kind, const char *key,
                                 struct att_collateral_rec *out)
{
    return att_store_collateral_get_scoped(s, "", kind, key, out);
}

att_err att_store_collateral_get_scoped(struct att_store *s, const char *scope, const char *kind,
                                        const char *key, struct att_collateral_rec *out)
{
    ATT_ENSURE(HAS_OP(s, collateral_get) && scope != NULL && kind != NULL && key != NULL &&
                   out != NULL && scope_ok(scope),
               ATT_ERR_ARG);
    return s->ops->collateral_get(s, scope, kind, key, out);
}

att_err att_store_collateral_delete_scope(struct att_store *s, const char *scope, int *deleted)
{
    ATT_ENSURE(HAS_OP(s, collateral_delete_scope) && scope != NULL && scope[0] != '\0' &&
                   scope_ok(scope),
               ATT_ERR_ARG);
    int n = 0;
    ATT_TRY(s->ops->collateral_delete_scope(s, scope, &n));
    if (deleted != NULL) {
        *deleted = n;
    }
    return ATT_OK;
}

att_err att_store_collateral_list(struct att_store *s, att_store_collateral_cb cb, void *arg)
{
    ATT_ENSURE(HAS_OP(s, collateral_list) && cb != NULL, ATT_ERR_ARG);
    return s->ops->collateral_list(s, cb, arg);
}

/* ---- many nodes ---------------------------------------------------------- */

att_err att_store_changes_get(struct att_store *s, struct att_store_changes *out)
{
    ATT_ENSURE(HAS_OP(s, changes_get) && out != NULL, ATT_ERR_ARG);
    return s->ops->changes_get(s, out);
}

att_err att_store_changes_wait(struct att_store *s, int timeout_ms)
{
    ATT_ENSURE(HAS_OP(s, changes_wait) && timeout_ms >= 0 && timeout_ms <= 60000, ATT_ERR_ARG);
    return s->ops->changes_wait(s, timeout_ms);
}

att_err att_store_lock(struct att_store *s, int64_t key, bool wait, struct att_store **lock)
{
    ATT_ENSURE(HAS_OP(s, lock) && lock != NULL, ATT_ERR_ARG);
    return s->ops->lock(s, key, wait, lock);
}

void att_store_unlock(struct att_store *lock)
{
    if (HAS_OP(lock, unlock)) {
        lock->ops->unlock(lock);
    }
}

bool att_store_lead(struct att_store *s, int64_t key, struct att_store **held)
{
    if (*held != NULL && att_store_ping(*held) != ATT_OK) {
        att_store_unlock(*held); /* its connection broke: the database let it go */
        *held = NULL;
    }
    if (*held == NULL && att_store_lock(s, key, false, held) != ATT_OK) {
        *held = NULL;
    }
    return *held != NULL;
}

/* ---- secrets and challenges nodes share ---------------------------------- */

att_err att_store_secret_put_new(struct att_store *s, const char *name, const uint8_t *sealed,
                                 size_t len, int64_t now)
{
    ATT_ENSURE(HAS_OP(s, secret_put_new) && fits(name, ATT_CLUSTER_SECRET_NAME_MAX + 1) &&
                   name[0] != '\0' && sealed != NULL && len > 0 && len <= ATT_STORE_BLOB_MAX,
               ATT_ERR_ARG);
    return s->ops->secret_put_new(s, name, sealed, len, now);
}

att_err att_store_secret_get(struct att_store *s, const char *name, struct att_buf *out)
{
    ATT_ENSURE(HAS_OP(s, secret_get) && fits(name, ATT_CLUSTER_SECRET_NAME_MAX + 1) && out != NULL,
               ATT_ERR_ARG);
    return s->ops->secret_get(s, name, out);
}

att_err att_store_challenge_claim(struct att_store *s, const char *provider, const char *nonce,
                                  int64_t expires, int64_t now)
{
    ATT_ENSURE(HAS_OP(s, challenge_claim) && fits(provider, ATT_PROVIDER_NAME_MAX + 1) &&
                   provider[0] != '\0' && nonce != NULL && sha256_hex_ok(nonce) && expires >= now,
               ATT_ERR_ARG);
    /* Uses are forgotten only an hour past their expiry: nodes' clocks differ, and a node
     * whose clock runs ahead must not forget a use another node still counts as unexpired. */
    return s->ops->challenge_claim(s, provider, nonce, expires, now - ATT_CLOCK_SKEW_MAX);
}
