/*
 * service.c - the collateral service: cache (verified items by content hash), then store,
 * then upstream PCS; bundles imported offline (service.h).
 *
 * Locking: `lock` guards the index and the PCK cache for lookups only (no I/O under it);
 * `fetch_lock` lets one thread at a time go to the store or upstream for a refresh, and the
 * index is checked again once it is held, so a burst of requests for the same new FMSPC
 * costs one download.
 */
#include "collateral/service.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collateral/fetch.h"
#include "collateral/items.h"
#include "core/codec.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "net/https.h"
#include "crypto/ecdsa.h"

#define MAX_ENTRIES 256  /* (kind, key) pairs: FMSPCs in use plus four */
#define PCK_CACHE 1024   /* distinct PCK chains (platforms) kept */
#define FETCH_BACKOFF 30 /* seconds before asking a failing upstream again */
/* Background refresh: an item is renewed once it is within REFRESH_LEAD_MAX of its nextUpdate
 * (or a quarter of its validity, if that is shorter); each (kind, key) is tried at most once
 * every REFRESH_RETRY seconds, whatever the outcome. */
#define REFRESH_LEAD_MAX 86400
#define REFRESH_RETRY 600

enum { K_ROOT_CRL, K_PCK_CRL, K_TCB_INFO, K_QE_IDENTITY };
static const char *const kind_names[] = {"root_crl", "pck_crl", "tcb_info", "qe_identity"};

struct entry {
    int kind;
    char key[32];
    struct att_dcap_item *item; /* NULL until one was loaded */
    int64_t retry_at;           /* no upstream fetch before this time */
    int64_t refresh_at;         /* no background refresh before this time */
};

struct pck_slot {
    struct att_dcap_item *item;
    uint64_t last_used;
};

struct att_collateral {
    struct att_store *store;
    const struct att_dcap_trust *trust;
    char scope[ATT_COLLATERAL_SCOPE_LEN + 1]; /* the store scope of every item (service.h) */
    struct att_pcs_client pcs;
    bool has_pcs;
    int64_t retry_after_max;
    char *strings[4]; /* owned copies behind `pcs` */

    pthread_mutex_t lock;
    pthread_mutex_t fetch_lock;
    struct entry entries[MAX_ENTRIES];
    size_t n_entries;
    struct pck_slot pcks[PCK_CACHE];
    uint64_t tick;

    /* the background refresher (att_collateral_refresher_start) */
    pthread_t refresher;
    bool refresher_running;
    bool stopping;
    atomic_bool
        abort_fetch; /* ends the refresher's transfer in flight (att_https_set_abort_flag) */
    pthread_cond_t wake;
    int64_t refresh_interval;
    /* Whether the background refresh may ask the upstream (att_collateral_set_upstream): on a
     * node that does not lead a cluster it renews from the store only. */
    atomic_bool upstream_refresh;
    /* other collateral renewed by the same thread (att_collateral_refresher_also) */
    void (*also)(void *ctx, int64_t now);
    void *also_ctx;
};

/* ---- lifecycle ------------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

att_err att_collateral_new(struct att_store *store, const struct att_dcap_trust *trust,
                           const struct att_collateral_config *cfg, struct att_collateral **out)
{
    struct att_collateral *cl;
    if (store == NULL || trust == NULL || cfg == NULL || out == NULL ||
        (cfg->scope != NULL && cfg->scope[0] != '\0' &&
         strcmp(cfg->scope, att_dcap_trust_id(trust)) != 0)) {
        return ATT_ERR_ARG;
    }
    cl = calloc(1, sizeof(*cl));
    if (cl != NULL) {
        atomic_init(&cl->upstream_refresh, true);
    }
    if (cl == NULL) {
        return ATT_ERR_NOMEM;
    }
    cl->store = store;
    cl->trust = trust;
    /* Only a provider's anchors have a scope of their own; the id is 64 hex digits. */
    snprintf(cl->scope, sizeof(cl->scope), "%s", cfg->scope != NULL ? cfg->scope : "");
    cl->strings[0] = dup_or_null(cfg->pcs_url);
    cl->strings[1] = dup_or_null(cfg->pcs_ca_file);
    cl->strings[2] = dup_or_null(cfg->pcs_api_key);
    cl->strings[3] = dup_or_null(cfg->pcs_root_crl_url);
    cl->pcs.base_url = cl->strings[0];
    cl->pcs.ca_file = cl->strings[1];
    cl->pcs.api_key = cl->strings[2];
    cl->pcs.root_crl_url = cl->strings[3];
    cl->pcs.timeout = cfg->timeout;
    cl->has_pcs = cl->strings[0] != NULL;
    cl->retry_after_max = cfg->retry_after_max > 0 ? cfg->retry_after_max : 3600;
    if ((cfg->pcs_url != NULL && cfg->pcs_url[0] != '\0' && cl->strings[0] == NULL) ||
        pthread_mutex_init(&cl->lock, NULL) != 0) {
        free(cl->strings[0]);
        free(cl);
        return ATT_ERR_NOMEM;
    }
    if (pthread_mutex_init(&cl->fetch_lock, NULL) != 0) {
        pthread_mutex_destroy(&cl->lock);
        free(cl->strings[0]);
        free(cl);
        return ATT_ERR_NOMEM;
    }
    if (pthread_cond_init(&cl->wake, NULL) != 0) {
        pthread_mutex_destroy(&cl->fetch_lock);
        pthread_mutex_destroy(&cl->lock);
        free(cl->strings[0]);
        free(cl);
        return ATT_ERR_NOMEM;
    }
    *out = cl;
    return ATT_OK;
}

void att_collateral_free(struct att_collateral *cl)
{
    if (cl == NULL) {
        return;
    }
    att_collateral_refresher_stop(cl);
    for (size_t i = 0; i < cl->n_entries; i++) {
        att_dcap_item_unref(cl->entries[i].item);
    }
    for (size_t i = 0; i < PCK_CACHE; i++) {
        att_dcap_item_unref(cl->pcks[i].item);
    }
    for (size_t i = 0; i < sizeof(cl->strings) / sizeof(cl->strings[0]); i++) {
        free(cl->strings[i]);
    }
    pthread_cond_destroy(&cl->wake);
    pthread_mutex_destroy(&cl->fetch_lock);
    pthread_mutex_destroy(&cl->lock);
    free(cl);
}

/* ---- keys ----------------------------------------------------------------------------- */

/* "sgx:00906ED50000": formatted by hand, as every attestation looks its TCB info up by it. */
static void tcb_key(bool tdx, const uint8_t fmspc[6], char key[32])
{
    static const char hex[] = "0123456789ABCDEF";
    memcpy(key, tdx ? "tdx:" : "sgx:", 4);
    for (size_t i = 0; i < 6; i++) {
        key[4 + 2 * i] = hex[fmspc[i] >> 4];
        key[5 + 2 * i] = hex[fmspc[i] & 15];
    }
    key[16] = '\0';
}

/* The (kind, key) an item is filed under. */
static void item_key(const struct att_dcap_item *it, int *kind, char key[32])
{
    key[0] = '\0';
    switch (it->kind) {
    case ATT_DCAP_ROOT_CRL: *kind = K_ROOT_CRL; break;
    case ATT_DCAP_PCK_CRL:
        *kind = K_PCK_CRL;
        snprintf(key, 32, "%s", it->pck_platform_ca ? "platform" : "processor");
        break;
    case ATT_DCAP_TCB_INFO:
        *kind = K_TCB_INFO;
        tcb_key(it->tcb_info->id == ATT_TCB_INFO_TDX, it->tcb_info->fmspc, key);
        break;
    case ATT_DCAP_QE_IDENTITY:
    default: /* PCK chains are not filed here (pck_get) */
        *kind = K_QE_IDENTITY;
        snprintf(key, 32, "%s", it->qe_identity->id == ATT_QE_ID_TD_QE ? "tdx" : "sgx");
        break;
    }
}

/* ---- loading items -------------------------------------------------------------------- */

static att_err load(const struct att_dcap_trust *t, int kind, const struct att_buf *body,
                    const uint8_t *sig, size_t sig_len, const struct att_buf *chain,
                    struct att_dcap_item **out, char *msg, size_t msg_len)
{
    const char *pem = (const char *)chain->data;
    switch (kind) {
    case K_ROOT_CRL: return att_dcap_root_crl_load(t, body->data, body->len, out, msg, msg_len);
    case K_PCK_CRL:
        return att_dcap_pck_crl_load(t, body->data, body->len, pem, chain->len, out, msg, msg_len);
    default: break;
    }
    if (sig_len != 64) {
        return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "%s has no 64-byte signature",
                         kind_names[kind]);
    }
    if (kind == K_TCB_INFO) {
        return att_dcap_tcb_info_load(t, (const char *)body->data, body->len, sig, pem, chain->len,
                                      out, msg, msg_len);
    }
    return att_dcap_qe_identity_load(t, (const char *)body->data, body->len, sig, pem, chain->len,
                                     out, msg, msg_len);
}

static void log_item(const char *what, const struct att_dcap_item *it, const char *key,
                     const char *source, int64_t now)
{
    char issued[32];
    char next[32];
    att_time_format(it->issued, issued, sizeof(issued));
    att_time_format(it->next_update, next, sizeof(next));
    att_log(ATT_LOG_INFO, what, "kind", json_string(att_dcap_kind_name(it->kind)), "key",
            json_string(key), "source", json_string(source), "issued", json_string(issued),
            "next_update", json_string(next), "age_seconds", json_integer(now - it->issued), NULL);
}

/* ---- the index -------------------------------------------------------------------------- */

/* The entry for (kind, key), created empty when absent; NULL when the index is full. */
static struct entry *entry_for(struct att_collateral *cl, int kind, const char *key)
{
    for (size_t i = 0; i < cl->n_entries; i++) {
        if (cl->entries[i].kind == kind && strcmp(cl->entries[i].key, key) == 0) {
            return &cl->entries[i];
        }
    }
    if (cl->n_entries == MAX_ENTRIES) {
        return NULL;
    }
    struct entry *e = &cl->entries[cl->n_entries++];
    e->kind = kind;
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->item = NULL;
    e->retry_at = 0;
    return e;
}

static bool fresh(const struct att_dcap_item *it, int64_t now)
{
    return it != NULL && now >= it->issued && now <= it->next_update;
}

/* A reference to the entry's item when it is fresh at `now`. */
static struct att_dcap_item *cached(struct att_collateral *cl, int kind, const char *key,
                                    int64_t now, bool any)
{
    struct att_dcap_item *it = NULL;
    pthread_mutex_lock(&cl->lock);
    struct entry *e = entry_for(cl, kind, key);
    if (e != NULL && e->item != NULL && (any || fresh(e->item, now))) {
        it = att_dcap_item_ref(e->item);
    }
    pthread_mutex_unlock(&cl->lock);
    return it;
}

/* Install `it` as the entry's item unless the entry holds a later one. */
static void install(struct att_collateral *cl, struct att_dcap_item *it)
{
    int kind = 0;
    char key[32];
    item_key(it, &kind, key);
    pthread_mutex_lock(&cl->lock);
    struct entry *e = entry_for(cl, kind, key);
    if (e != NULL && (e->item == NULL || e->item->issued <= it->issued)) {
        att_dcap_item_unref(e->item);
        e->item = att_dcap_item_ref(it);
    }
    pthread_mutex_unlock(&cl->lock);
}

/* ---- store and upstream ------------------------------------------------------------------ */

/* A store row for a loaded item (kind, key and source set by the caller). */
static att_err rec_fill(struct att_collateral_rec *rec, const struct att_dcap_item *it,
                        const struct att_buf *body, const uint8_t *sig, bool has_sig,
                        const struct att_buf *chain, int64_t now)
{
    struct att_buf hex;
    att_buf_init(&hex, 128);
    att_err rc = att_hex_encode(it->hash, 32, &hex);
    if (rc == ATT_OK) {
        memcpy(rec->sha256, hex.data, 64);
        rec->sha256[64] = '\0';
        rc = att_buf_put(&rec->body, body->data, body->len);
    }
    if (rc == ATT_OK && has_sig) {
        rc = att_buf_put(&rec->signature, sig, 64);
    }
    if (rc == ATT_OK) {
        rc = att_buf_put(&rec->issuer_chain, chain->data, chain->len);
    }
    rec->issued = it->issued;
    rec->next_update = it->next_update;
    rec->eval_num = it->tcb_info != NULL      ? it->tcb_info->eval_num
                    : it->qe_identity != NULL ? it->qe_identity->eval_num
                                              : 0;
    rec->stored_at = now;
    att_buf_cleanup(&hex);
    return rc;
}

/* The stored item of (kind, key), reusing the cached one when its content is the same. */
static att_err from_store(struct att_collateral *cl, int kind, const char *key, int64_t now,
                          struct att_dcap_item **out, char *msg, size_t msg_len)
{
    struct att_collateral_rec rec;
    struct att_dcap_item *have = cached(cl, kind, key, now, true);
    att_err rc;
    att_collateral_rec_init(&rec);
    rc = att_store_collateral_get_scoped(cl->store, cl->scope, kind_names[kind], key, &rec);
    if (rc == ATT_OK && have != NULL) {
        char hex[65];
        struct att_buf h;
        att_buf_init(&h, 128);
        if (att_hex_encode(have->hash, 32, &h) == ATT_OK) {
            memcpy(hex, h.data, 64);
            hex[64] = '\0';
            if (strcmp(hex, rec.sha256) == 0) {
                *out = have; /* same content: already verified */
                have = NULL;
                att_buf_cleanup(&h);
                att_collateral_rec_cleanup(&rec);
                return ATT_OK;
            }
        }
        att_buf_cleanup(&h);
    }
    if (rc == ATT_OK) {
        rc = load(cl->trust, kind, &rec.body, rec.signature.data, rec.signature.len,
                  &rec.issuer_chain, out, msg, msg_len);
        if (rc == ATT_OK) {
            log_item("collateral loaded", *out, key, "store", now);
        }
    }
    att_dcap_item_unref(have);
    att_collateral_rec_cleanup(&rec);
    return rc;
}

/* The FMSPC of a TCB info key "sgx:00906ED50000" (written by tcb_key). */
static att_err key_fmspc(const char *key, uint8_t fmspc[6])
{
    struct att_buf b;
    att_buf_init(&b, 6);
    att_err rc = strlen(key) == 16 ? att_hex_decode(key + 4, 12, &b) : ATT_ERR_ARG;
    if (rc == ATT_OK) {
        memcpy(fmspc, b.data, 6);
    }
    att_buf_cleanup(&b);
    return rc;
}

static att_err fetch(struct att_collateral *cl, int kind, const char *key, struct att_pcs_item *got,
                     char *msg, size_t msg_len)
{
    bool tdx = strncmp(key, "tdx", 3) == 0;
    uint8_t fmspc[6];
    switch (kind) {
    case K_ROOT_CRL: return att_pcs_fetch_root_crl(&cl->pcs, got, msg, msg_len);
    case K_PCK_CRL:
        return att_pcs_fetch_pck_crl(&cl->pcs, strcmp(key, "platform") == 0, got, msg, msg_len);
    case K_TCB_INFO:
        ATT_TRY(key_fmspc(key, fmspc));
        return att_pcs_fetch_tcb_info(&cl->pcs, tdx, fmspc, got, msg, msg_len);
    default: return att_pcs_fetch_qe_identity(&cl->pcs, tdx, got, msg, msg_len);
    }
}

/* Download (kind, key), verify it and keep it in the store. */
static att_err from_upstream(struct att_collateral *cl, int kind, const char *key, int64_t now,
                             struct att_dcap_item **out, char *msg, size_t msg_len)
{
    struct att_pcs_item got;
    struct att_collateral_rec rec;
    struct att_dcap_item *it = NULL;
    att_err rc;
    att_pcs_item_init(&got);
    att_collateral_rec_init(&rec);
    rc = fetch(cl, kind, key, &got, msg, msg_len);
    if (rc != ATT_OK) {
        int64_t wait = got.retry_after > FETCH_BACKOFF ? got.retry_after : FETCH_BACKOFF;
        wait = wait > cl->retry_after_max ? cl->retry_after_max : wait;
        pthread_mutex_lock(&cl->lock);
        struct entry *e = entry_for(cl, kind, key);
        if (e != NULL) {
            e->retry_at = now + wait;
        }
        pthread_mutex_unlock(&cl->lock);
        att_log(ATT_LOG_WARN, "collateral fetch failed", "kind", json_string(kind_names[kind]),
                "key", json_string(key), "error", json_string(att_err_name(rc)), "detail",
                json_string(msg), "retry_in_seconds", json_integer(wait), NULL);
        goto out;
    }
    rc = load(cl->trust, kind, &got.body, got.signature, got.has_signature ? 64 : 0,
              &got.issuer_chain, &it, msg, msg_len);
    if (rc == ATT_OK) {
        /* Filed under what it is, not what was asked for: a PCCS may answer the wrong item. */
        int got_kind = 0;
        char got_key[32];
        item_key(it, &got_kind, got_key);
        if (got_kind != kind || strcmp(got_key, key) != 0) {
            rc = att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                           "the upstream answered %s %s when asked for %s", kind_names[got_kind],
                           got_key, key);
        }
    }
    if (rc != ATT_OK) {
        att_log(ATT_LOG_WARN, "collateral from upstream refused", "kind",
                json_string(kind_names[kind]), "key", json_string(key), "error",
                json_string(att_err_name(rc)), "detail", json_string(msg), NULL);
        goto out;
    }
    /* Store it for the other nodes and for restarts; an older row never replaces a newer. */
    snprintf(rec.scope, sizeof(rec.scope), "%s", cl->scope);
    snprintf(rec.kind, sizeof(rec.kind), "%s", kind_names[kind]);
    snprintf(rec.key, sizeof(rec.key), "%s", key);
    snprintf(rec.source, sizeof(rec.source), "pcs");
    rc = rec_fill(&rec, it, &got.body, got.signature, got.has_signature, &got.issuer_chain, now);
    if (rc == ATT_OK) {
        att_err put = att_collateral_item_put(cl->store, &rec, NULL);
        if (put != ATT_OK && put != ATT_ERR_EXISTS) {
            att_log(ATT_LOG_WARN, "collateral not stored", "kind", json_string(kind_names[kind]),
                    "error", json_string(att_err_name(put)), NULL);
        }
        log_item("collateral fetched", it, key, "pcs", now);
        *out = it;
        it = NULL;
    }
out:
    att_dcap_item_unref(it);
    att_collateral_rec_cleanup(&rec);
    att_pcs_item_cleanup(&got);
    return rc;
}

/*
 * A current item of (kind, key): cache, else store, else upstream; failing those, the best
 * stale one held (the verifier then says how stale), else the error.
 */
static att_err get_item(struct att_collateral *cl, int kind, const char *key, int64_t now,
                        struct att_dcap_item **out, char *msg, size_t msg_len)
{
    struct att_dcap_item *it = cached(cl, kind, key, now, false);
    att_err rc = ATT_ERR_COLLATERAL_MISSING;
    if (it != NULL) {
        *out = it;
        return ATT_OK;
    }
    pthread_mutex_lock(&cl->fetch_lock);
    it = cached(cl, kind, key, now, false); /* another thread may have refreshed it */
    if (it == NULL) {
        rc = from_store(cl, kind, key, now, &it, msg, msg_len);
        if (rc == ATT_OK) {
            install(cl, it);
        }
        if (cl->has_pcs && !fresh(it, now)) {
            pthread_mutex_lock(&cl->lock);
            struct entry *e = entry_for(cl, kind, key);
            bool may = e != NULL && now >= e->retry_at;
            pthread_mutex_unlock(&cl->lock);
            struct att_dcap_item *up = NULL;
            att_err urc = may ? from_upstream(cl, kind, key, now, &up, msg, msg_len)
                              : att_failf(ATT_ERR_FETCH, msg, msg_len,
                                          "upstream failed recently; not asked again yet");
            if (urc == ATT_OK) {
                install(cl, up);
                att_dcap_item_unref(it);
                it = up;
            } else if (it == NULL) {
                rc = urc;
            }
        }
    }
    pthread_mutex_unlock(&cl->fetch_lock);
    if (it == NULL) {
        it = cached(cl, kind, key, now, true); /* stale, but the verifier names the date */
    }
    if (it == NULL) {
        if (rc == ATT_ERR_NOT_FOUND || rc == ATT_ERR_COLLATERAL_MISSING) {
            return att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len,
                             "no %s for %s%s: import a bundle (attestctl collateral import) or "
                             "set pcs_url",
                             kind_names[kind], key[0] != '\0' ? key : "the root",
                             cl->has_pcs ? " (the upstream has none)" : "");
        }
        return rc;
    }
    *out = it;
    return ATT_OK;
}

/* ---- background refresh ----------------------------------------------------------------- */

static bool refresher_stopping(struct att_collateral *cl)
{
    pthread_mutex_lock(&cl->lock);
    bool stop = cl->stopping;
    pthread_mutex_unlock(&cl->lock);
    return stop;
}

/* Due: within its lead of nextUpdate (a quarter of its validity, at most a day), not tried lately.
 */
static bool refresh_due(const struct entry *e, int64_t now)
{
    const struct att_dcap_item *it = e->item;
    if (it == NULL || now < e->refresh_at || now < e->retry_at) {
        return false;
    }
    int64_t lead = (it->next_update - it->issued) / 4;
    lead = lead > REFRESH_LEAD_MAX ? REFRESH_LEAD_MAX : lead;
    return now >= it->next_update - lead;
}

/* A replacement for `have`: later, and from the same root (an item of another trust anchor
 * would refuse every platform of have's root: a refresh must not turn one odd answer into an
 * outage). Takes `it`; returns it or NULL. */
static struct att_dcap_item *better(struct att_dcap_item *it, const struct att_dcap_item *have)
{
    if (it != NULL && (it->next_update <= have->next_update || !att_dcap_same_anchor(it, have))) {
        att_dcap_item_unref(it);
        return NULL;
    }
    return it;
}

/*
 * Renew one item: the store first (another node may have fetched it), then the upstream.
 * Without the fetch lock: requests that need a missing item never queue behind a refresh
 * waiting on the network (at worst an item is fetched twice).
 */
static void refresh_one(struct att_collateral *cl, int kind, const char *key, int64_t now)
{
    char msg[256] = "";
    struct att_dcap_item *have = cached(cl, kind, key, now, true);
    struct att_dcap_item *it = NULL;
    if (have == NULL) {
        return;
    }
    if (from_store(cl, kind, key, now, &it, msg, sizeof(msg)) != ATT_OK) {
        it = NULL;
    }
    it = better(it, have);
    if (it == NULL && cl->has_pcs && atomic_load(&cl->upstream_refresh) &&
        !refresher_stopping(cl) &&
        from_upstream(cl, kind, key, now, &it, msg, sizeof(msg)) == ATT_OK) {
        it = better(it, have);
    }
    if (it != NULL) {
        install(cl, it);
        log_item("collateral refreshed", it, key, "background", now);
    }
    att_dcap_item_unref(it);
    att_dcap_item_unref(have);
}

void att_collateral_refresh(struct att_collateral *cl, int64_t now)
{
    size_t checked = 0;
    size_t renewed = 0;
    for (size_t i = 0;; i++) {
        int kind = 0;
        char key[32];
        bool due = false;
        pthread_mutex_lock(&cl->lock);
        if (i >= cl->n_entries || cl->stopping) {
            pthread_mutex_unlock(&cl->lock);
            att_log(ATT_LOG_DEBUG, "collateral refresh pass", "items",
                    json_integer((json_int_t)checked), "due", json_integer((json_int_t)renewed),
                    NULL);
            return;
        }
        struct entry *e = &cl->entries[i];
        checked++;
        if (refresh_due(e, now)) {
            due = true;
            kind = e->kind;
            memcpy(key, e->key, sizeof(key));
            e->refresh_at = now + REFRESH_RETRY;
        }
        pthread_mutex_unlock(&cl->lock);
        if (due) {
            renewed++;
            att_log(ATT_LOG_DEBUG, "collateral refresh due", "kind", json_string(kind_names[kind]),
                    "key", json_string(key), NULL);
            refresh_one(cl, kind, key, now);
        }
    }
}

void att_collateral_set_upstream(struct att_collateral *cl, bool on)
{
    atomic_store(&cl->upstream_refresh, on);
}

void att_collateral_store_changed(struct att_collateral *cl, int64_t now)
{
    size_t renewed = 0;
    for (size_t i = 0;; i++) {
        int kind = 0;
        char key[32];
        pthread_mutex_lock(&cl->lock);
        bool more = i < cl->n_entries && cl->entries[i].item != NULL;
        bool end = i >= cl->n_entries;
        if (more) {
            kind = cl->entries[i].kind;
            memcpy(key, cl->entries[i].key, sizeof(key));
        }
        pthread_mutex_unlock(&cl->lock);
        if (end) {
            break;
        }
        if (!more) {
            continue; /* nothing held: the next request reads the store anyway */
        }
        char msg[256] = "";
        struct att_dcap_item *have = cached(cl, kind, key, now, true);
        struct att_dcap_item *it = NULL;
        if (have != NULL && from_store(cl, kind, key, now, &it, msg, sizeof(msg)) == ATT_OK) {
            it = better(it, have); /* the same item again is not better: dropped */
            if (it != NULL) {
                install(cl, it);
                log_item("collateral refreshed", it, key, "store changed", now);
                renewed++;
            }
        }
        att_dcap_item_unref(it);
        att_dcap_item_unref(have);
    }
    att_log(ATT_LOG_DEBUG, "collateral: store changed", "renewed",
            json_integer((json_int_t)renewed), NULL);
}

static void *refresher_main(void *arg)
{
    struct att_collateral *cl = arg;
    att_https_set_abort_flag(&cl->abort_fetch);
    pthread_mutex_lock(&cl->lock);
    while (!cl->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += cl->refresh_interval;
        pthread_cond_timedwait(&cl->wake, &cl->lock, &until);
        if (cl->stopping) {
            break;
        }
        pthread_mutex_unlock(&cl->lock);
        att_collateral_refresh(cl, att_time_now());
        if (cl->also != NULL) {
            cl->also(cl->also_ctx, att_time_now());
        }
        pthread_mutex_lock(&cl->lock);
    }
    pthread_mutex_unlock(&cl->lock);
    return NULL;
}

void att_collateral_refresher_also(struct att_collateral *cl, void (*fn)(void *ctx, int64_t now),
                                   void *ctx)
{
    cl->also = fn;
    cl->also_ctx = ctx;
}

att_err att_collateral_refresher_start(struct att_collateral *cl, int64_t interval)
{
    ATT_ENSURE(cl != NULL && interval > 0 && !cl->refresher_running, ATT_ERR_ARG);
    cl->refresh_interval = interval;
    cl->stopping = false;
    ATT_ENSURE(pthread_create(&cl->refresher, NULL, refresher_main, cl) == 0, ATT_ERR_INTERNAL);
    cl->refresher_running = true;
    return ATT_OK;
}

void att_collateral_refresher_signal_stop(struct att_collateral *cl)
{
    if (cl == NULL) {
        return;
    }
    pthread_mutex_lock(&cl->lock);
    cl->stopping = true;
    atomic_store(&cl->abort_fetch, true);
    pthread_cond_signal(&cl->wake);
    pthread_mutex_unlock(&cl->lock);
}

void att_collateral_refresher_stop(struct att_collateral *cl)
{
    if (cl == NULL || !cl->refresher_running) {
        return;
    }
    att_collateral_refresher_signal_stop(cl);
    pthread_join(cl->refresher, NULL); /* a transfer in flight ends within about a second */
    cl->refresher_running = false;
}

/* ---- PCK chains -------------------------------------------------------------------------- */

static att_err pck_get(struct att_collateral *cl, const uint8_t *pem, size_t len,
                       struct att_dcap_item **out, char *msg, size_t msg_len)
{
    uint8_t h[32];
    struct att_dcap_item *it = NULL;
    size_t victim = 0;
    ATT_TRY(att_sha256(pem, len, h));
    pthread_mutex_lock(&cl->lock);
    for (size_t i = 0; i < PCK_CACHE; i++) {
        struct pck_slot *s = &cl->pcks[i];
        if (s->item != NULL && memcmp(s->item->hash, h, 32) == 0) {
            s->last_used = ++cl->tick;
            it = att_dcap_item_ref(s->item);
            break;
        }
    }
    pthread_mutex_unlock(&cl->lock);
    if (it != NULL) {
        *out = it;
        return ATT_OK;
    }
    ATT_TRY(att_dcap_pck_chain_load(cl->trust, pem, len, &it, msg, msg_len));
    pthread_mutex_lock(&cl->lock);
    for (size_t i = 0; i < PCK_CACHE; i++) {
        if (cl->pcks[i].item == NULL || cl->pcks[i].last_used < cl->pcks[victim].last_used) {
            victim = i;
            if (cl->pcks[i].item == NULL) {
                break;
            }
        }
    }
    att_dcap_item_unref(cl->pcks[victim].item);
    cl->pcks[victim].item = att_dcap_item_ref(it);
    cl->pcks[victim].last_used = ++cl->tick;
    pthread_mutex_unlock(&cl->lock);
    *out = it;
    return ATT_OK;
}

att_err att_collateral_intel(struct att_collateral *cl, enum att_intel_tee tee, const uint8_t *pem,
                             size_t len, int64_t now, struct att_intel_inputs *out, char *msg,
                             size_t msg_len)
{
    struct att_intel_inputs in;
    bool tdx = tee == ATT_INTEL_TEE_TDX;
    char key[32];
    att_err rc;
    memset(&in, 0, sizeof(in));
    rc = pck_get(cl, pem, len, &in.pck, msg, msg_len);
    if (rc == ATT_OK) {
        rc = get_item(cl, K_ROOT_CRL, "", now, &in.root_crl, msg, msg_len);
    }
    if (rc == ATT_OK) {
        rc = get_item(cl, K_PCK_CRL, in.pck->pck_platform_ca ? "platform" : "processor", now,
                      &in.pck_crl, msg, msg_len);
    }
    if (rc == ATT_OK) {
        tcb_key(tdx, in.pck->pck.fmspc, key);
        rc = get_item(cl, K_TCB_INFO, key, now, &in.tcb_info, msg, msg_len);
    }
    if (rc == ATT_OK) {
        rc = get_item(cl, K_QE_IDENTITY, tdx ? "tdx" : "sgx", now, &in.qe_identity, msg, msg_len);
    }
    if (rc != ATT_OK) {
        att_intel_inputs_release(&in);
        return rc;
    }
    *out = in;
    return ATT_OK;
}

static att_err service_get(void *ctx, enum att_intel_tee tee, const uint8_t *pem, size_t len,
                           int64_t now, struct att_intel_inputs *out, char *msg, size_t msg_len)
{
    return att_collateral_intel(ctx, tee, pem, len, now, out, msg, msg_len);
}

struct att_intel_source att_collateral_intel_source(struct att_collateral *cl)
{
    struct att_intel_source s = {service_get, cl};
    return s;
}

/* ---- bundles ----------------------------------------------------------------------------- */

/* Store one imported item; *is_new when the store took it. */
static att_err import_one(struct att_collateral *cl, struct att_dcap_item *it,
                          const struct att_buf *body, const uint8_t *sig,
                          const struct att_buf *chain, int64_t now, bool *is_new)
{
    struct att_collateral_rec rec;
    int kind = 0;
    char key[32];
    att_err rc;
    item_key(it, &kind, key);
    att_collateral_rec_init(&rec);
    snprintf(rec.scope, sizeof(rec.scope), "%s", cl->scope);
    snprintf(rec.kind, sizeof(rec.kind), "%s", kind_names[kind]);
    snprintf(rec.key, sizeof(rec.key), "%s", key);
    snprintf(rec.source, sizeof(rec.source), "import");
    rc = rec_fill(&rec, it, body, sig, sig != NULL, chain, now);
    if (rc == ATT_OK) {
        rc = att_collateral_item_put(cl->store, &rec, is_new);
        if (rc == ATT_ERR_EXISTS) { /* the store holds a newer one: keep it */
            *is_new = false;
            rc = ATT_OK;
        }
    }
    if (rc == ATT_OK) {
        install(cl, it);
        log_item(*is_new ? "collateral imported" : "collateral import skipped (not newer)", it, key,
                 "import", now);
    }
    att_collateral_rec_cleanup(&rec);
    return rc;
}

/* The first of the bundle's items past its nextUpdate at `now`, named in msg; ATT_OK if none. */
static att_err first_expired(const struct att_intel_inputs *in, int64_t now, char *msg,
                             size_t msg_len)
{
    const struct att_dcap_item *items[4] = {in->root_crl, in->pck_crl, in->tcb_info,
                                            in->qe_identity};
    for (size_t i = 0; i < 4; i++) {
        if (items[i]->next_update < now) {
            int kind = 0;
            char key[32];
            char at[32];
            item_key(items[i], &kind, key);
            att_time_format(items[i]->next_update, at, sizeof(at));
            return att_failf(ATT_ERR_COLLATERAL_EXPIRED, msg, msg_len,
                             "%s%s%s passed its nextUpdate (%s)", kind_names[kind],
                             key[0] != '\0' ? " " : "", key, at);
        }
    }
    return ATT_OK;
}

att_err att_collateral_import(struct att_collateral *cl, const struct att_dcap_bundle *b,
                              int64_t now, bool allow_expired, int *imported, char *msg,
                              size_t msg_len)
{
    struct att_intel_inputs in;
    static const struct att_buf no_chain;
    bool is_new[4] = {false, false, false, false};
    att_err rc = att_collateral_from_bundle(cl->trust, b, &in, msg, msg_len);
    if (rc != ATT_OK) {
        return rc;
    }
    if (!allow_expired) {
        rc = first_expired(&in, now, msg, msg_len);
    }
    if (rc == ATT_OK) {
        rc = import_one(cl, in.root_crl, &b->root_ca_crl, NULL, &no_chain, now, &is_new[0]);
    }
    if (rc == ATT_OK) {
        rc = import_one(cl, in.pck_crl, &b->pck_crl, NULL, &b->pck_crl_issuer_chain, now,
                        &is_new[1]);
    }
    if (rc == ATT_OK) {
        rc = import_one(cl, in.tcb_info, &b->tcb_info, b->tcb_info_signature,
                        &b->tcb_info_issuer_chain, now, &is_new[2]);
    }
    if (rc == ATT_OK) {
        rc = import_one(cl, in.qe_identity, &b->qe_identity, b->qe_identity_signature,
                        &b->qe_identity_issuer_chain, now, &is_new[3]);
    }
    att_intel_inputs_release(&in);
    if (rc == ATT_OK && imported != NULL) {
        *imported = is_new[0] + is_new[1] + is_new[2] + is_new[3];
    }
    return rc;
}

/* ---- status ------------------------------------------------------------------------------ */

struct status_arg {
    json_t *list;
    int64_t now;
};

static att_err status_row(const struct att_collateral_rec *r, void *arg)
{
    struct status_arg *a = arg;
    char issued[32];
    char next[32];
    att_time_format(r->issued, issued, sizeof(issued));
    att_time_format(r->next_update, next, sizeof(next));
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:I,s:b,s:s}", "kind", r->kind, "key", r->key, "issued", issued,
                  "nextUpdate", next, "ageSeconds", (json_int_t)(a->now - r->issued), "expired",
                  a->now > r->next_update, "source", r->source);
    ATT_ENSURE(o != NULL, ATT_ERR_NOMEM);
    if (r->scope[0] != '\0' && json_object_set_new(o, "scope", json_string(r->scope)) != 0) {
        json_decref(o);
        return ATT_ERR_NOMEM;
    }
    ATT_ENSURE(json_array_append_new(a->list, o) == 0, ATT_ERR_NOMEM);
    return ATT_OK;
}

json_t *att_collateral_status(struct att_collateral *cl, int64_t now)
{
    struct status_arg a = {json_array(), now};
    if (a.list == NULL || att_store_collateral_list(cl->store, status_row, &a) != ATT_OK) {
        json_decref(a.list);
        return NULL;
    }
    return a.list;
}
