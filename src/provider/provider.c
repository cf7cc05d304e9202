/*
 * provider.c - provider lifecycle and metadata (see provider.h).
 *
 * Input: names and URLs from the operator (checked), records from our own
 * store (sealed keys are authenticated by att_keyring_open).
 */
#include "provider/provider.h"

#include "policymgmt/manage.h"
#include "provider/provider_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "attest/attest.h"
#include "core/mem.h"
#include "evidence/intel/dcap.h"
#include "token/json_out.h"
#include "seal/keyring.h"
#include "token/claims.h"
#include "token/jwk.h"

#define KEYS_TABLE ATT_PROVIDER_KEYS_TABLE

att_err att_provider_name_check(const char *name)
{
    size_t n = strlen(name);
    ATT_ENSURE(n >= 1 && n <= ATT_PROVIDER_NAME_MAX, ATT_ERR_ARG);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
        ATT_ENSURE(ok, ATT_ERR_ARG);
    }
    return ATT_OK;
}

att_err att_provider_issuer_check(const char *issuer)
{
    size_t n = strlen(issuer);
    ATT_ENSURE(n > 8 && n <= ATT_URL_MAX && strncmp(issuer, "https://", 8) == 0, ATT_ERR_ARG);
    ATT_ENSURE(issuer[n - 1] != '/', ATT_ERR_ARG);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)issuer[i];
        ATT_ENSURE(c > 0x20 && c < 0x7f && c != '?' && c != '#' && c != '"' && c != '\\',
                   ATT_ERR_ARG);
    }
    return ATT_OK;
}

static att_err copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    ATT_ENSURE(n < cap, ATT_ERR_ARG);
    memcpy(dst, src, n + 1);
    return ATT_OK;
}

att_err att_provider_create(struct att_store *store, struct att_keyring *kr, const char *name,
                            const char *issuer, enum att_jws_alg alg, bool is_default, int64_t now)
{
    return att_provider_create_isolated(store, kr, name, issuer, alg, is_default, now, NULL, 0);
}

att_err att_provider_create_isolated(struct att_store *store, struct att_keyring *kr,
                                     const char *name, const char *issuer, enum att_jws_alg alg,
                                     bool is_default, int64_t now, X509 *const *signers,
                                     size_t n_signers)
{
    struct att_provider_extra extra = {signers, n_signers, NULL, false};
    return att_provider_create_ex(store, kr, name, issuer, alg, is_default, now, &extra);
}

att_err att_provider_trust_scope(const char *pem, char scope[ATT_COLLATERAL_SCOPE_LEN + 1],
                                 char *msg, size_t msg_len)
{
    struct att_dcap_trust *t = NULL;
    ATT_ENSURE(pem != NULL && pem[0] != '\0', ATT_ERR_ARG);
    size_t n = strlen(pem);
    if (n > ATT_PROVIDER_TRUST_PEM_MAX) {
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len,
                         "a provider's trust anchors take at most %d bytes of PEM",
                         ATT_PROVIDER_TRUST_PEM_MAX);
    }
    ATT_TRY(att_dcap_trust_from_pem(pem, n, &t, msg, msg_len));
    snprintf(scope, ATT_COLLATERAL_SCOPE_LEN + 1, "%s", att_dcap_trust_id(t));
    att_dcap_trust_free(t);
    return ATT_OK;
}

att_err att_provider_create_ex(struct att_store *store, struct att_keyring *kr, const char *name,
                               const char *issuer, enum att_jws_alg alg, bool is_default,
                               int64_t now, const struct att_provider_extra *extra)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_provider_rec p;
    struct att_key_rec k;
    struct att_store *tx = NULL;
    X509 *const *signers = extra != NULL ? extra->signers : NULL;
    size_t n_signers = extra != NULL ? extra->n_signers : 0;
    const char *trust_pem = extra != NULL ? extra->dcap_trust_pem : NULL;

    att_key_rec_init(&k);
    memset(&p, 0, sizeof(p));
    ATT_GUARD(att_provider_name_check(name));
    ATT_GUARD(att_provider_issuer_check(issuer));
    ATT_CHECK(alg == ATT_JWS_RS256 || alg == ATT_JWS_ES256, ATT_ERR_ALG_UNSUPPORTED);

    ATT_GUARD(copy_str(p.name, sizeof(p.name), name));
    ATT_GUARD(copy_str(p.issuer, sizeof(p.issuer), issuer));
    ATT_GUARD(copy_str(p.signing_alg, sizeof(p.signing_alg), att_jws_alg_name(alg)));
    p.is_default = is_default;
    p.created_at = now;
    /* docs/internals/demo.md: anchors of its own must parse as such (the daemon loads them on
     * first use), and a demo provider has them: it never judges with the daemon's roots. */
    if (trust_pem != NULL && trust_pem[0] != '\0') {
        char scope[ATT_COLLATERAL_SCOPE_LEN + 1];
        char msg[128];
        ATT_GUARD(att_provider_trust_scope(trust_pem, scope, msg, sizeof(msg)));
        ATT_GUARD(copy_str(p.dcap_trust_anchors, sizeof(p.dcap_trust_anchors), trust_pem));
    }
    p.demo = extra != NULL && extra->demo;
    ATT_CHECK(!p.demo || p.dcap_trust_anchors[0] != '\0', ATT_ERR_ARG);
    ATT_CHECK(!p.demo || !is_default, ATT_ERR_ARG);
    /* docs/reference/maa-policy.md §4.1: an Isolated provider is born with its trusted policy
     * signers. */
    ATT_GUARD(copy_str(p.trust_model, sizeof(p.trust_model),
                       n_signers > 0 ? ATT_TRUST_ISOLATED : ATT_TRUST_AAD));
    ATT_CHECK(n_signers <= ATT_POLICY_MAX_SIGNERS, ATT_ERR_TOO_LARGE);

    /* The certificate's subject names the issuer URL, as MAA's do (docs/reference/maa-api.md §1.4).
     */
    ATT_GUARD(att_signer_create_sealed(alg, issuer, now, ATT_CERT_DAYS, kr, KEYS_TABLE, k.kid,
                                       &k.cert_der, &k.sealed_key));
    ATT_GUARD(copy_str(k.provider, sizeof(k.provider), name));
    ATT_GUARD(copy_str(k.alg, sizeof(k.alg), att_jws_alg_name(alg)));
    k.created_at = now;
    k.activate_at = now;

    ATT_GUARD(att_store_begin(store, &tx));
    ATT_GUARD(att_store_provider_insert(tx, &p));
    ATT_GUARD(att_store_key_insert(tx, &k));
    for (size_t i = 0; i < n_signers; i++) {
        ATT_GUARD(att_signers_add_cert(tx, name, signers[i], now));
    }
    rc = att_store_commit(tx);
    tx = NULL; /* ended either way */
    ATT_GUARD(rc);
    rc = ATT_OK;
out:
    if (tx != NULL) {
        att_ignore_err(att_store_rollback(tx));
    }
    if (rc != ATT_OK && k.sealed_key.len > 0) { /* a key pair made in a token goes too */
        att_ignore_err(
            att_signer_destroy_sealed(kr, KEYS_TABLE, k.kid, k.sealed_key.data, k.sealed_key.len));
    }
    att_key_rec_cleanup(&k);
    return rc;
}

/*
 * `--lead 0` while a key waits: that key (published already) signs from now instead of a new
 * one, in one transaction that checks it still waits.
 */
static att_err activate_waiting(struct att_store *store, const char *name, int64_t now,
                                char kid[ATT_KID_MAX + 1])
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_stored_keys have = {.n = 0};
    struct att_store *tx = NULL;
    ATT_GUARD(att_store_begin(store, &tx));
    ATT_GUARD(att_store_key_list(tx, name, att_stored_keys_add, &have));
    size_t signing = att_key_signing_index(have.times, have.n, now);
    ATT_CHECK(have.n > 0 && signing + 1 < have.n, ATT_ERR_STATE); /* none waits any more */
    ATT_GUARD(att_store_key_set_activate(tx, name, have.kid[signing + 1], now));
    rc = att_store_commit(tx);
    tx = NULL; /* ended either way */
    ATT_GUARD(rc);
    memcpy(kid, have.kid[signing + 1], ATT_KID_MAX + 1);
    rc = ATT_OK;
out:
    if (tx != NULL) {
        att_ignore_err(att_store_rollback(tx));
    }
    return rc;
}

att_err att_provider_rotate_key(struct att_store *store, struct att_keyring *kr, const char *name,
                                int64_t now, int64_t lead, int64_t token_lifetime,
                                char kid[ATT_KID_MAX + 1], int64_t *activate_at, bool *was_waiting)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_provider_rec p;
    struct att_key_rec k;
    struct att_stored_keys have = {.n = 0};
    enum att_jws_alg alg;
    struct att_store *tx = NULL;

    att_key_rec_init(&k);
    if (was_waiting != NULL) {
        *was_waiting = false;
    }
    ATT_GUARD(att_provider_name_check(name));
    ATT_CHECK(now > 0 && lead >= 0 && lead <= INT32_MAX && token_lifetime >= 0, ATT_ERR_ARG);
    ATT_GUARD(att_store_provider_get(store, name, &p));
    ATT_GUARD(att_jws_alg_parse(p.signing_alg, &alg));
    ATT_GUARD(att_store_key_list(store, name, att_stored_keys_add, &have));
    if (have.n > 0 && att_key_signing_index(have.times, have.n, now) + 1 < have.n) {
        ATT_CHECK(lead == 0, ATT_ERR_STATE); /* a key waits already */
        ATT_GUARD(activate_waiting(store, name, now, kid));
        *activate_at = now;
        if (was_waiting != NULL) {
            *was_waiting = true;
        }
        rc = ATT_OK;
        goto out;
    }
    /* The key is made before the write lock is taken (an RSA key takes a while). */
    ATT_GUARD(att_signer_create_sealed(alg, p.issuer, now, ATT_CERT_DAYS, kr, KEYS_TABLE, k.kid,
                                       &k.cert_der, &k.sealed_key));
    ATT_GUARD(copy_str(k.provider, sizeof(k.provider), name));
    ATT_GUARD(copy_str(k.alg, sizeof(k.alg), p.signing_alg));
    k.created_at = now;
    k.activate_at = now + lead;
    k.token_lifetime = token_lifetime;

    ATT_GUARD(att_store_begin(store, &tx));
    have.n = 0;
    have.too_many = false;
    ATT_GUARD(att_store_key_list(tx, name, att_stored_keys_add, &have));
    ATT_CHECK(have.n > 0, ATT_ERR_NOT_FOUND); /* deleted meanwhile */
    ATT_CHECK(!have.too_many && have.n < ATT_PROVIDER_KEYS_MAX, ATT_ERR_TOO_LARGE);
    ATT_CHECK(att_key_signing_index(have.times, have.n, now) + 1 == have.n, ATT_ERR_STATE);
    ATT_GUARD(att_store_key_insert(tx, &k));
    rc = att_store_commit(tx);
    tx = NULL; /* ended either way */
    ATT_GUARD(rc);
    memcpy(kid, k.kid, ATT_KID_MAX + 1);
    *activate_at = k.activate_at;
    rc = ATT_OK;
out:
    if (tx != NULL) {
        att_ignore_err(att_store_rollback(tx));
    }
    if (rc != ATT_OK && k.sealed_key.len > 0) { /* a key pair made in a token goes too */
        att_ignore_err(
            att_signer_destroy_sealed(kr, KEYS_TABLE, k.kid, k.sealed_key.data, k.sealed_key.len));
    }
    att_key_rec_cleanup(&k);
    return rc;
}

struct find_default {
    bool found;
};

static att_err note_default(const struct att_provider_rec *p, void *arg)
{
    struct find_default *fd = arg;
    if (p->is_default) {
        fd->found = true;
    }
    return ATT_OK;
}

att_err att_provider_ensure_default(struct att_store *store, struct att_keyring *kr,
                                    const char *issuer, enum att_jws_alg alg, int64_t now,
                                    bool *created)
{
    struct find_default fd = {false};
    ATT_TRY(att_store_provider_list(store, note_default, &fd));
    *created = false;
    if (fd.found) {
        return ATT_OK;
    }
    ATT_TRY(att_provider_create(store, kr, ATT_DEFAULT_PROVIDER, issuer, alg, true, now));
    *created = true;
    return ATT_OK;
}

/* Destroy what a provider's key names outside the store (its pair in a token), best effort. */
struct destroy_ctx {
    struct att_keyring *kr;
};

static att_err destroy_outside(const struct att_key_rec *k, void *arg)
{
    const struct destroy_ctx *c = arg;
    att_err rc =
        att_signer_destroy_sealed(c->kr, KEYS_TABLE, k->kid, k->sealed_key.data, k->sealed_key.len);
    if (rc != ATT_OK) {
        att_log(ATT_LOG_WARN, "cannot destroy a deleted provider's key pair in its token", "kid",
                json_string(k->kid), "error", json_string(att_err_name(rc)), NULL);
    }
    return ATT_OK;
}

/* Whether another provider than `name` trusts anchors of `scope`. */
struct scope_user {
    const char *name;
    const char *scope;
    bool used;
};

static att_err note_scope_user(const struct att_provider_rec *p, void *arg)
{
    struct scope_user *u = arg;
    char scope[ATT_COLLATERAL_SCOPE_LEN + 1];
    char msg[128];
    if (strcmp(p->name, u->name) != 0 && p->dcap_trust_anchors[0] != '\0' &&
        att_provider_trust_scope(p->dcap_trust_anchors, scope, msg, sizeof(msg)) == ATT_OK &&
        strcmp(scope, u->scope) == 0) {
        u->used = true;
    }
    return ATT_OK;
}

/*
 * The collateral of a deleted provider's own anchors goes with it, unless another provider
 * trusts the same anchors: nothing else can use it (docs/internals/demo.md). Best effort.
 */
static void forget_scope(struct att_store *store, const struct att_provider_rec *p)
{
    char scope[ATT_COLLATERAL_SCOPE_LEN + 1];
    char msg[128];
    int deleted = 0;
    if (p->dcap_trust_anchors[0] == '\0' ||
        att_provider_trust_scope(p->dcap_trust_anchors, scope, msg, sizeof(msg)) != ATT_OK) {
        return;
    }
    struct scope_user u = {p->name, scope, false};
    att_err rc = att_store_provider_list(store, note_scope_user, &u);
    if (rc == ATT_OK && !u.used) {
        rc = att_store_collateral_delete_scope(store, scope, &deleted);
    }
    if (rc != ATT_OK) {
        att_log(ATT_LOG_WARN, "cannot delete a deleted provider's collateral", "provider",
                json_string(p->name), "scope", json_string(scope), "error",
                json_string(att_err_name(rc)), NULL);
    }
}

att_err att_provider_delete(struct att_store *store, struct att_keyring *kr, const char *name)
{
    struct att_provider_rec p;
    ATT_TRY(att_provider_name_check(name));
    ATT_TRY(att_store_provider_get(store, name, &p));
    ATT_ENSURE(!p.is_default, ATT_ERR_STATE);
    struct destroy_ctx c = {kr};
    ATT_TRY(att_store_key_list(store, name, destroy_outside, &c));
    ATT_TRY(att_store_provider_delete(store, name));
    forget_scope(store, &p);
    return ATT_OK;
}

void att_provider_set_carry_floors(struct att_provider_set *next,
                                   const struct att_provider_set *prev)
{
    for (size_t i = 0; prev != NULL && i < next->n; i++) {
        struct att_provider *p = &next->items[i];
        const struct att_provider *q =
            att_provider_set_find(prev, p->rec.name, strlen(p->rec.name));
        if (q == NULL || q->n_keys == 0) {
            continue;
        }
        const char *kid = q->keys[atomic_load(q->floor)].kid;
        for (size_t k = 0; k < p->n_keys; k++) {
            if (strcmp(p->keys[k].kid, kid) == 0) {
                atomic_store(p->floor, k);
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

struct load_ctx {
    struct att_provider_set *set;
    struct att_keyring *kr;
    struct att_store *store;
    struct att_provider *cur; /* provider whose keys are being loaded */
    json_t *jwks_keys;        /* its JWKS "keys" array */
    json_t *claims_supported; /* the same for every provider: made once per load */
};

/* Every key of a provider is published in /certs; one of them signs at a time (schedule.h). */
static att_err load_key(const struct att_key_rec *k, void *arg)
{
    struct load_ctx *ctx = arg;
    struct att_provider *p = ctx->cur;
    json_t *jwk = NULL;
    enum att_jws_alg alg;
    att_err rc = ATT_ERR_INTERNAL;

    ATT_ENSURE(p->n_keys < ATT_PROVIDER_KEYS_MAX, ATT_ERR_TOO_LARGE);
    ATT_GUARD(att_jws_alg_parse(k->alg, &alg));
    ATT_CHECK(alg == p->alg, ATT_ERR_KEY_TYPE); /* the provider's tokens all have its alg */
    /* The signer checks that the certificate is the sealed key's (ATT_ERR_KEY_MISMATCH). */
    ATT_GUARD(att_signer_add_sealed(ctx->set->signer, ctx->kr, KEYS_TABLE, k->kid, alg,
                                    k->sealed_key.data, k->sealed_key.len, k->cert_der.data,
                                    k->cert_der.len));
    ATT_GUARD(att_jwk_from_cert(k->cert_der.data, k->cert_der.len, k->kid, alg, &jwk));
    ATT_CHECK(json_array_append_new(ctx->jwks_keys, jwk) == 0, ATT_ERR_NOMEM);
    jwk = NULL;
    struct att_provider_key *key = &p->keys[p->n_keys++];
    att_buf_init(&key->token_header.b64, 0);
    ATT_GUARD(copy_str(key->kid, sizeof(key->kid), k->kid));
    key->times = att_provider_key_times(k);
    rc = ATT_OK;
out:
    json_decref(jwk);
    return rc;
}

static att_err dump_json(const json_t *doc, struct att_buf *out)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ATT_ENSURE(text != NULL, ATT_ERR_NOMEM);
    att_buf_init(out, 1 << 20);
    att_err rc = att_buf_puts(out, text);
    free(text);
    return rc;
}

/* OpenID provider metadata (docs/reference/maa-api.md §1.4). Only endpoints attestd serves are
 * listed. */
static att_err render_openid(struct att_provider *p, json_t *claims_supported)
{
    char jwks_uri[ATT_URL_MAX + 16];
    snprintf(jwks_uri, sizeof(jwks_uri), "%s/certs", p->rec.issuer);
    /* a demo provider's tokens also carry its mark */
    json_t *claims = p->rec.demo ? json_copy(claims_supported) : json_incref(claims_supported);
    if (claims != NULL && p->rec.demo &&
        json_array_append_new(claims, json_string(ATT_DEMO_CLAIM)) != 0) {
        json_decref(claims);
        claims = NULL;
    }
    json_t *doc = json_pack("{s:s,s:s,s:[s,s],s:[s],s:o*}", "issuer", p->rec.issuer, "jwks_uri",
                            jwks_uri, "response_types_supported", "token", "none",
                            "id_token_signing_alg_values_supported", att_jws_alg_name(p->alg),
                            "claims_supported", claims);
    ATT_ENSURE(doc != NULL, ATT_ERR_NOMEM);
    /* A demo provider says so where a relying party configures it (docs/internals/demo.md). */
    if (p->rec.demo &&
        (json_object_set_new(doc, ATT_DEMO_CLAIM, json_true()) != 0 ||
         json_object_set_new(doc, "x-attestd-notice", json_string(ATT_DEMO_NOTICE)) != 0)) {
        json_decref(doc);
        return ATT_ERR_NOMEM;
    }
    att_err rc = dump_json(doc, &p->openid);
    json_decref(doc);
    return rc;
}

/*
 * The protected header of the tokens a key signs (docs/reference/maa-tokens.md §2.1: "jku" names
 * the provider's /certs, "kid" the key), encoded once instead of per token.
 */
static att_err encode_token_header(struct att_signer *signer, const struct att_provider *p,
                                   struct att_provider_key *key)
{
    char jku[ATT_URL_MAX + 16];
    snprintf(jku, sizeof(jku), "%s/certs", p->rec.issuer);
    json_t *extra = json_pack("{s:s,s:s}", "jku", jku, "typ", "JWT");
    ATT_ENSURE(extra != NULL, ATT_ERR_NOMEM);
    att_err rc = att_jws_header_encode(signer, key->kid, extra, &key->token_header);
    json_decref(extra);
    return rc;
}

static att_err load_provider(const struct att_provider_rec *rec, void *arg)
{
    struct load_ctx *ctx = arg;
    ATT_ENSURE(ctx->set->n < ATT_PROVIDERS_MAX, ATT_ERR_TOO_LARGE);
    struct att_provider *p = &ctx->set->items[ctx->set->n];
    p->floor = &ctx->set->floors[ctx->set->n];
    ctx->set->n++;
    p->rec = *rec;
    att_buf_init(&p->jwks, 0);
    att_buf_init(&p->openid, 0);
    ctx->cur = p;
    ctx->jwks_keys = json_array();
    ATT_ENSURE(ctx->jwks_keys != NULL, ATT_ERR_NOMEM);
    att_err rc = att_jws_alg_parse(rec->signing_alg, &p->alg);
    if (rc == ATT_OK) {
        rc = att_store_key_list(ctx->store, rec->name, load_key, ctx);
    }
    if (rc == ATT_OK && p->n_keys == 0) {
        rc = ATT_ERR_NOT_FOUND; /* a provider without a key cannot sign */
    }
    json_t *jwks = json_pack("{s:o}", "keys", ctx->jwks_keys); /* steals the array */
    ctx->jwks_keys = NULL;
    if (rc == ATT_OK) {
        rc = jwks != NULL ? dump_json(jwks, &p->jwks) : ATT_ERR_NOMEM;
    }
    json_decref(jwks);
    if (rc == ATT_OK) {
        rc = render_openid(p, ctx->claims_supported);
    }
    for (size_t i = 0; rc == ATT_OK && i < p->n_keys; i++) {
        rc = encode_token_header(ctx->set->signer, p, &p->keys[i]);
    }
    if (rc != ATT_OK) {
        att_log(ATT_LOG_ERROR, "cannot load provider", "provider", json_string(rec->name), "error",
                json_string(att_err_name(rc)), NULL);
    }
    return rc;
}

att_err att_provider_set_load(struct att_store *store, struct att_keyring *kr,
                              struct att_provider_set **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    /* Every claim the service or a default policy may put in a token, for every evidence type
     * (OpenID Connect Discovery 1.0 §3: the claims the provider "MAY be able to supply"). */
    struct load_ctx ctx = {NULL, kr, store, NULL, NULL, att_attest_claims_supported()};
    struct att_provider_set *set = calloc(1, sizeof(*set));
    ATT_CHECK(set != NULL && ctx.claims_supported != NULL, ATT_ERR_NOMEM);
    set->items = calloc(ATT_PROVIDERS_MAX, sizeof(*set->items));
    set->floors = calloc(ATT_PROVIDERS_MAX, sizeof(*set->floors));
    ATT_CHECK(set->items != NULL && set->floors != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(att_signer_new(&set->signer));
    ctx.set = set;
    ATT_GUARD(att_store_provider_list(store, load_provider, &ctx));
    *out = set;
    set = NULL;
    rc = ATT_OK;
out:
    json_decref(ctx.claims_supported);
    att_provider_set_free(set);
    return rc;
}

void att_provider_set_free(struct att_provider_set *set)
{
    if (set == NULL) {
        return;
    }
    for (size_t i = 0; set->items != NULL && i < set->n; i++) {
        att_buf_cleanup(&set->items[i].jwks);
        att_buf_cleanup(&set->items[i].openid);
        for (size_t k = 0; k < set->items[i].n_keys; k++) {
            att_jws_header_cleanup(&set->items[i].keys[k].token_header);
        }
    }
    free(set->items);
    free(set->floors);
    att_signer_free(set->signer);
    free(set);
}

const struct att_provider *att_provider_set_find(const struct att_provider_set *set,
                                                 const char *name, size_t len)
{
    for (size_t i = 0; i < set->n; i++) {
        const char *n = set->items[i].rec.name;
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            return &set->items[i];
        }
    }
    return NULL;
}

const struct att_provider *att_provider_set_default(const struct att_provider_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        if (set->items[i].rec.is_default) {
            return &set->items[i];
        }
    }
    return NULL;
}

struct att_key_times att_provider_key_times(const struct att_key_rec *k)
{
    struct att_key_times t = {k->created_at, k->activate_at, k->token_lifetime, k->used_until};
    return t;
}

static size_t times_of(const struct att_provider *p, struct att_key_times *times)
{
    for (size_t i = 0; i < p->n_keys; i++) {
        times[i] = p->keys[i].times;
    }
    return p->n_keys;
}

/* The signing key's index at `now`, never below one this set has signed with already. */
static size_t signing_index(const struct att_provider *p, int64_t now)
{
    struct att_key_times times[ATT_PROVIDER_KEYS_MAX];
    size_t idx = att_key_signing_index(times, times_of(p, times), now);
    size_t floor = atomic_load(p->floor);
    while (idx > floor && !atomic_compare_exchange_weak(p->floor, &floor, idx)) {
    }
    return idx > floor ? idx : floor; /* a clock set back does not bring a retired key back */
}

const struct att_provider_key *att_provider_signing_key(const struct att_provider *p, int64_t now)
{
    return &p->keys[signing_index(p, now)];
}

const struct att_provider_key *att_provider_published_key(const struct att_provider *p, int64_t now)
{
    struct att_key_times times[ATT_PROVIDER_KEYS_MAX];
    return &p->keys[att_key_published_index(times, times_of(p, times), now)];
}

att_err att_provider_note_signing_keys(struct att_store *store, const struct att_provider_set *set,
                                       int64_t now, int64_t lifetime)
{
    /* Until the next look (two, for a late one) the key of the moment may sign, and so may
     * any key that activates before then. */
    int64_t until = now + 2 * ATT_KEY_CHECK_INTERVAL;
    for (size_t i = 0; i < set->n; i++) {
        const struct att_provider *p = &set->items[i];
        for (size_t k = signing_index(p, now); k < p->n_keys; k++) {
            if (p->keys[k].times.activate_at > until) {
                continue;
            }
            att_err rc =
                att_store_key_note_use(store, p->rec.name, p->keys[k].kid, until, lifetime);
            if (rc != ATT_OK && rc != ATT_ERR_NOT_FOUND) { /* gone: nothing left to keep */
                return rc;
            }
        }
    }
    return ATT_OK;
}

att_err att_provider_mark_claims(const struct att_provider *p, json_t *claims)
{
    if (p->rec.demo) {
        ATT_ENSURE(json_object_set_new(claims, ATT_DEMO_CLAIM, json_true()) == 0, ATT_ERR_NOMEM);
    }
    return ATT_OK;
}

att_err att_provider_issue_token(const struct att_provider_set *set, const struct att_provider *p,
                                 json_t *claims, int64_t now, int64_t lifetime, struct att_buf *out)
{
    ATT_ENSURE(p->n_keys > 0, ATT_ERR_STATE);
    return att_provider_issue_token_with(set, p, att_provider_signing_key(p, now), claims, now,
                                         lifetime, out);
}

/* The token of `claims` by `key`: signed into `out`, or only its signing input (`sign`). */
static att_err token_of(const struct att_provider_set *set, const struct att_provider *p,
                        const struct att_provider_key *key, json_t *claims, int64_t now,
                        int64_t lifetime, bool sign, struct att_buf *out)
{
    ATT_TRY(att_provider_mark_claims(p, claims));
    ATT_TRY(att_claims_set_registered(claims, p->rec.issuer, now, lifetime));
    struct att_buf payload;
    att_buf_init(&payload, ATT_JWS_MAX);
    att_buf_presize(&payload, 4096); /* an SGX token's claims take about 2.3 KiB */
    att_err rc = att_json_compact(claims, &payload);
    if (rc == ATT_OK) {
        rc = sign ? att_jws_sign_encoded(set->signer, key->kid, &key->token_header, payload.data,
                                         payload.len, out)
                  : att_jws_signing_input(set->signer, key->kid, &key->token_header, payload.data,
                                          payload.len, out);
    }
    att_buf_cleanup(&payload);
    return rc;
}

att_err att_provider_issue_token_with(const struct att_provider_set *set,
                                      const struct att_provider *p,
                                      const struct att_provider_key *key, json_t *claims,
                                      int64_t now, int64_t lifetime, struct att_buf *out)
{
    return token_of(set, p, key, claims, now, lifetime, true, out);
}

att_err att_provider_token_input(const struct att_provider_set *set, const struct att_provider *p,
                                 json_t *claims, int64_t now, int64_t lifetime,
                                 struct att_buf *input, const char **kid)
{
    ATT_ENSURE(p->n_keys > 0, ATT_ERR_STATE);
    const struct att_provider_key *key = att_provider_signing_key(p, now);
    *kid = key->kid;
    return token_of(set, p, key, claims, now, lifetime, false, input);
}
