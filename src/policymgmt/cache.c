/*
 * cache.c - parsed policies in force, per (provider, type), with a short lifetime (cache.h).
 */
#include "policymgmt/cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "policymgmt/manage.h"
#include "x509/chain.h"
#include "core/log.h"
#include "core/log_summary.h"
#include "core/timeutil.h"
#include "metrics/metrics.h"

#define MAX_ENTRIES 1024 /* providers x types; beyond it the oldest entry goes */

struct att_policy_cache {
    pthread_mutex_t lock;
    int64_t ttl_ms;
    struct att_cached_policy *entries[MAX_ENTRIES];
};

att_err att_policy_cache_new(int64_t ttl_ms, struct att_policy_cache **out)
{
    struct att_policy_cache *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return ATT_ERR_NOMEM;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return ATT_ERR_NOMEM;
    }
    c->ttl_ms = ttl_ms;
    *out = c;
    return ATT_OK;
}

void att_cached_policy_release(struct att_cached_policy *p)
{
    if (p == NULL || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) != 0) {
        return;
    }
    att_policy_free(p->policy);
    json_decref(p->signer_jwk);
    free(p);
}

void att_policy_cache_free(struct att_policy_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < MAX_ENTRIES; i++) {
        att_cached_policy_release(c->entries[i]);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

json_t *att_policy_signer_jwk(X509 *cert)
{
    struct att_buf b64;
    att_buf_init(&b64, 64 * 1024);
    EVP_PKEY *key = X509_get0_pubkey(cert);
    const char *kty = key != NULL && EVP_PKEY_base_id(key) == EVP_PKEY_EC ? "EC" : "RSA";
    json_t *jwk = att_cert_b64(cert, &b64) == ATT_OK
                      ? json_pack("{s:s,s:[s]}", "kty", kty, "x5c", att_buf_cstr(&b64))
                      : NULL;
    att_buf_cleanup(&b64);
    return jwk;
}

static bool same(const struct att_cached_policy *e, const char *provider, const char *type)
{
    return e != NULL && strcmp(e->provider, provider) == 0 &&
           (type == NULL || strcmp(e->type, type) == 0);
}

/* Read and parse the policy in force from the store. */
static att_err load(struct att_store *store, struct att_keyring *kr,
                    const struct att_provider_rec *provider, const char *type,
                    struct att_cached_policy **out)
{
    struct att_policy_state s;
    struct att_cached_policy *p = calloc(1, sizeof(*p));
    att_err rc = p != NULL ? ATT_OK : ATT_ERR_NOMEM;
    att_policy_state_init(&s);
    if (rc == ATT_OK) {
        rc = att_policy_get(store, kr, provider, type, 0, &s);
    }
    if (rc == ATT_OK) {
        /* Stored policies were parsed when they were set; this parse cannot fail but for memory. */
        rc = att_policy_parse((const char *)s.text.data, s.text.len, NULL, &p->policy, NULL, 0);
    }
    if (rc == ATT_OK && s.signer != NULL) {
        p->signer_jwk = att_policy_signer_jwk(s.signer);
        rc = p->signer_jwk != NULL ? ATT_OK : ATT_ERR_NOMEM;
    }
    if (rc == ATT_OK) {
        snprintf(p->hash, sizeof(p->hash), "%s", s.hash);
        snprintf(p->provider, sizeof(p->provider), "%s", provider->name);
        snprintf(p->type, sizeof(p->type), "%s", type);
        p->version = s.version;
        p->refs = 1;
        *out = p;
        p = NULL;
    }
    if (p != NULL) {
        att_policy_free(p->policy);
        free(p);
    }
    att_policy_state_cleanup(&s);
    return rc;
}

att_err att_policy_cache_get(struct att_policy_cache *c, struct att_store *store,
                             struct att_keyring *kr, const struct att_provider_rec *provider,
                             const char *type, int64_t now_ms, struct att_cached_policy **out)
{
    struct att_cached_policy *p = NULL;
    struct att_cached_policy *stale = NULL;
    size_t slot = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < MAX_ENTRIES; i++) {
        struct att_cached_policy *e = c->entries[i];
        if (same(e, provider->name, type)) {
            if (now_ms - e->loaded_ms < c->ttl_ms) {
                p = e;
            } else {
                stale = e;
            }
            __atomic_fetch_add(&e->refs, 1, __ATOMIC_RELAXED);
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    att_metric_cache("policy", p != NULL);
    if (att_log_enabled(ATT_LOG_DEBUG)) {
        att_log(ATT_LOG_DEBUG, p != NULL ? "policy cache hit" : "policy cache miss: loading",
                "provider", json_string(provider->name), "type", json_string(type), NULL);
    }
    if (p != NULL) {
        *out = p;
        return ATT_OK;
    }
    att_err rc = load(store, kr, provider, type, &p);
    if (rc != ATT_OK && stale != NULL && att_err_kind(rc) == ATT_KIND_STORE &&
        now_ms - stale->loaded_ms <= ATT_POLICY_HELD_MAX_MS) {
        /* The store is away (a shared database down, or busy): the policy held is still the
         * one in force as far as this node can know; the next request asks the store again. */
        static const char msg[] = "policy cache: the store does not answer; using the policy held";
        if (att_log_summary_admit(ATT_LOG_WARN, msg, provider->name, att_time_now())) {
            att_log(ATT_LOG_WARN, msg, "provider", json_string(provider->name), "error",
                    json_string(att_err_name(rc)), NULL);
        }
        *out = stale;
        return ATT_OK;
    }
    att_cached_policy_release(stale);
    ATT_TRY(rc);
    p->loaded_ms = now_ms;
    pthread_mutex_lock(&c->lock);
    /* Replace this key's entry, else take a free slot, else the oldest entry's. */
    for (size_t i = 0; i < MAX_ENTRIES; i++) {
        struct att_cached_policy *e = c->entries[i];
        if (e == NULL || same(e, provider->name, type)) {
            slot = i;
            break;
        }
        if (e->loaded_ms < c->entries[slot]->loaded_ms) {
            slot = i;
        }
    }
    att_cached_policy_release(c->entries[slot]);
    c->entries[slot] = p;
    __atomic_fetch_add(&p->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->lock);
    *out = p;
    return ATT_OK;
}

void att_policy_cache_clear(struct att_policy_cache *c)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < MAX_ENTRIES; i++) {
        att_cached_policy_release(c->entries[i]);
        c->entries[i] = NULL;
    }
    pthread_mutex_unlock(&c->lock);
}

void att_policy_cache_invalidate(struct att_policy_cache *c, const char *provider, const char *type)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < MAX_ENTRIES; i++) {
        if (same(c->entries[i], provider, type)) {
            att_cached_policy_release(c->entries[i]);
            c->entries[i] = NULL;
        }
    }
    pthread_mutex_unlock(&c->lock);
}
