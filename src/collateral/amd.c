/*
 * amd.c - the AMD collateral service: cache, then store, then KDS; bundles imported offline
 * (amd.h; docs/reference/amd-sev-snp.md §6.7).
 *
 * Locking: `lock` guards the held items, the leaf cache and the KDS backoff (no I/O under it).
 * Store reads take no lock. `kds_lock` lets one transfer at a time go to KDS, node-wide (KDS
 * throttles its callers, not items): a request waits for it at most the KDS timeout, then gets
 * 503; what it needs is looked up again once the lock is held, so a burst for one new chip
 * costs one download. After a 429 or 503 from KDS no request goes to KDS before its
 * Retry-After. A fetched VCEK must be the one asked for (hwID and SPLs) and is stored only once
 * a report has verified with it (att_snp_source.verified), so unauthenticated requests cannot
 * fill the store.
 */
#include "collateral/amd_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "collateral/items.h"
#include "collateral/kds.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/log.h"
#include "net/https.h"
#include "crypto/ecdsa.h"
#include "x509/certs.h"

#define FETCH_BACKOFF 30 /* seconds before asking KDS again for an item it refused */
#define REFRESH_LEAD_MAX 86400
#define REFRESH_RETRY 600 /* seconds between background refreshes of one CRL */

const char *amdc_chain_name(bool vlek)
{
    return vlek ? "vlek" : "vcek";
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

att_err amdc_service_new(struct att_store *store, const struct att_amd_trust *trust,
                         const struct att_amd_collateral_config *cfg,
                         struct att_amd_collateral **out)
{
    struct att_amd_collateral *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return ATT_ERR_NOMEM;
    }
    c->store = store;
    c->trust = trust;
    c->strings[0] = dup_or_null(cfg->kds_url);
    c->strings[1] = dup_or_null(cfg->kds_ca_file);
    c->kds.base_url = c->strings[0];
    c->kds.ca_file = c->strings[1];
    c->kds.timeout = cfg->timeout;
    c->has_kds = c->strings[0] != NULL;
    c->retry_after_max = cfg->retry_after_max > 0 ? cfg->retry_after_max : 3600;
    c->crl_required = cfg->crl_required;
    if ((cfg->kds_url != NULL && cfg->kds_url[0] != '\0' && c->strings[0] == NULL) ||
        (cfg->kds_ca_file != NULL && cfg->kds_ca_file[0] != '\0' && c->strings[1] == NULL) ||
        pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->strings[0]);
        free(c->strings[1]);
        free(c);
        return ATT_ERR_NOMEM;
    }
    if (pthread_mutex_init(&c->kds_lock, NULL) != 0) {
        pthread_mutex_destroy(&c->lock);
        free(c->strings[0]);
        free(c->strings[1]);
        free(c);
        return ATT_ERR_NOMEM;
    }
    *out = c;
    return ATT_OK;
}

att_err att_amd_collateral_new(struct att_store *store, const struct att_amd_trust *trust,
                               const struct att_amd_collateral_config *cfg,
                               struct att_amd_collateral **out)
{
    if (store == NULL || trust == NULL || cfg == NULL || out == NULL) {
        return ATT_ERR_ARG;
    }
    return amdc_service_new(store, trust, cfg, out);
}

void att_amd_collateral_free(struct att_amd_collateral *c)
{
    if (c == NULL) {
        return;
    }
    for (int p = 0; p < PRODUCTS; p++) {
        for (int v = 0; v < 2; v++) {
            att_amd_item_unref(c->chains[p][v].item);
            att_amd_item_unref(c->crls[p][v].item);
        }
    }
    for (size_t i = 0; i < LEAF_CACHE; i++) {
        att_amd_item_unref(c->leaves[i].leaf);
    }
    pthread_mutex_destroy(&c->kds_lock);
    pthread_mutex_destroy(&c->lock);
    free(c->strings[0]);
    free(c->strings[1]);
    free(c);
}

/* ---- held items ----------------------------------------------------------------------- */

/* A reference to the held item (NULL when none), under the lock. */
static struct att_amd_item *held_get(struct att_amd_collateral *c, struct held *h)
{
    pthread_mutex_lock(&c->lock);
    struct att_amd_item *it = h->item != NULL ? att_amd_item_ref(h->item) : NULL;
    pthread_mutex_unlock(&c->lock);
    return it;
}

/* Hold `it` (a new reference) unless what is held is as new; true when it was taken. */
bool amdc_held_put(struct att_amd_collateral *c, struct held *h, struct att_amd_item *it)
{
    bool take;
    pthread_mutex_lock(&c->lock);
    take = h->item == NULL || it->not_before > h->item->not_before ||
           (it->not_before == h->item->not_before && memcmp(it->hash, h->item->hash, 32) != 0 &&
            it->not_after > h->item->not_after);
    if (take) {
        att_amd_item_unref(h->item);
        h->item = att_amd_item_ref(it);
    }
    pthread_mutex_unlock(&c->lock);
    return take;
}

static bool backoff_passed(struct att_amd_collateral *c, const struct held *h, int64_t now)
{
    pthread_mutex_lock(&c->lock);
    bool ok = now >= h->retry_at;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

static void backoff_set(struct att_amd_collateral *c, struct held *h, int64_t now,
                        int64_t retry_after)
{
    int64_t wait = retry_after > 0 ? retry_after : FETCH_BACKOFF;
    pthread_mutex_lock(&c->lock);
    h->retry_at = now + (wait < c->retry_after_max ? wait : c->retry_after_max);
    pthread_mutex_unlock(&c->lock);
}

/* ---- the KDS gate ---------------------------------------------------------------------- */

/* True (with msg) while KDS asked the node to wait. */
static bool kds_held_back(struct att_amd_collateral *c, int64_t now, char *msg, size_t msg_len)
{
    pthread_mutex_lock(&c->lock);
    int64_t wait = c->kds_retry_at - now;
    pthread_mutex_unlock(&c->lock);
    if (wait <= 0) {
        return false;
    }
    att_failf(ATT_ERR_FETCH, msg, msg_len,
              "AMD KDS asked attestd to wait (429/503); asked again in %lld seconds",
              (long long)wait);
    return true;
}

/*
 * Take the right to one KDS transfer: none while KDS asked the node to wait, and at most the
 * KDS timeout of waiting for another transfer to end (no wait at all when `wait` is false: for
 * what a request can do without). ATT_ERR_FETCH (503) otherwise.
 */
static att_err kds_enter(struct att_amd_collateral *c, int64_t now, bool wait_for_it, char *msg,
                         size_t msg_len)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += c->kds.timeout > 0 ? c->kds.timeout : 5;
    if (kds_held_back(c, now, msg, msg_len)) {
        return ATT_ERR_FETCH;
    }
    if ((wait_for_it ? pthread_mutex_timedlock(&c->kds_lock, &until)
                     : pthread_mutex_trylock(&c->kds_lock)) != 0) {
        return att_failf(ATT_ERR_FETCH, msg, msg_len, "another AMD KDS request is still in flight");
    }
    /* KDS may have refused another request while this one waited. */
    if (kds_held_back(c, now, msg, msg_len)) {
        pthread_mutex_unlock(&c->kds_lock);
        return ATT_ERR_FETCH;
    }
    if (atomic_load(&c->stopping)) {
        pthread_mutex_unlock(&c->kds_lock);
        return att_failf(ATT_ERR_FETCH, msg, msg_len, "attestd is stopping");
    }
    /* A transfer in flight ends within about a second once the daemon stops. */
    att_https_set_abort_flag(&c->stopping);
    return ATT_OK;
}

/* End the transfer, once its outcome is recorded (so a waiter sees it); a 429 or 503 answer
 * (`retry_after` > 0) holds every KDS request back. */
static void kds_leave(struct att_amd_collateral *c, int64_t now, int64_t retry_after)
{
    att_https_set_abort_flag(NULL);
    if (retry_after > 0) {
        int64_t wait = retry_after < c->retry_after_max ? retry_after : c->retry_after_max;
        pthread_mutex_lock(&c->lock);
        c->kds_retry_at = now + wait;
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&c->kds_lock);
}

void att_amd_collateral_signal_stop(struct att_amd_collateral *c)
{
    if (c != NULL) {
        atomic_store(&c->stopping, true);
    }
}

/* ---- the store ------------------------------------------------------------------------- */

/* Store the item's bytes; true when the stored row changed (or, offline, always). */
bool amdc_store_put(struct att_amd_collateral *c, const char *kind, const char *key,
                    const uint8_t *body, size_t len, const struct att_amd_item *it,
                    const char *source)
{
    struct att_collateral_rec rec;
    struct att_buf hex;
    uint8_t md[32];
    bool changed = false;
    if (c->store == NULL) {
        return true;
    }
    att_collateral_rec_init(&rec);
    att_buf_init(&hex, 128);
    snprintf(rec.kind, sizeof(rec.kind), "%s", kind);
    snprintf(rec.key, sizeof(rec.key), "%s", key);
    snprintf(rec.source, sizeof(rec.source), "%s", source);
    rec.issued = it->not_before;
    rec.next_update = it->not_after;
    att_err rc = att_sha256(body, len, md);
    if (rc == ATT_OK) {
        rc = att_hex_encode(md, sizeof(md), &hex);
    }
    if (rc == ATT_OK) {
        memcpy(rec.sha256, hex.data, 64);
        rc = att_buf_put(&rec.body, body, len);
    }
    if (rc == ATT_OK) {
        rc = att_collateral_item_put(c->store, &rec, &changed);
    }
    /* An older item than the one stored (another node got a newer one) is no failure. */
    if (rc != ATT_OK && rc != ATT_ERR_EXISTS) {
        att_log(ATT_LOG_WARN, "AMD collateral not stored", "kind", json_string(kind), "key",
                json_string(key), "error", json_string(att_err_name(rc)), NULL);
    }
    att_buf_cleanup(&hex);
    att_collateral_rec_cleanup(&rec);
    return changed;
}

/* The stored body of (kind, key) into `out`; ATT_ERR_NOT_FOUND when none (or no store). */
static att_err store_get(struct att_amd_collateral *c, const char *kind, const char *key,
                         struct att_buf *out)
{
    struct att_collateral_rec rec;
    att_err rc;
    if (c->store == NULL) {
        return ATT_ERR_NOT_FOUND;
    }
    att_collateral_rec_init(&rec);
    rc = att_store_collateral_get(c->store, kind, key, &rec);
    if (rc == ATT_OK) {
        rc = att_buf_put(out, rec.body.data, rec.body.len);
    }
    att_collateral_rec_cleanup(&rec);
    return rc;
}

/* ---- loading --------------------------------------------------------------------------- */

/* The signing key (ASK or ASVK: the certificate that is not self-signed) of a PEM chain as KDS
 * serves it, loaded against the anchors; it must be of `product` and chain `vlek`. */
att_err amdc_chain_load(struct att_amd_collateral *c, const uint8_t *pem, size_t len,
                        enum att_snp_product product, bool vlek, struct att_amd_item **out,
                        char *msg, size_t msg_len)
{
    STACK_OF(X509) *certs = NULL;
    char why[160] = "";
    att_err rc = att_pem_certs_parse(pem, len, 3, &certs, why, sizeof(why));
    if (rc != ATT_OK) {
        return att_failf(ATT_ERR_CERT_PARSE, msg, msg_len, "AMD %s cert_chain of %s: %s",
                         amdc_chain_name(vlek), att_amd_product_name(product), why);
    }
    rc = att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len, "AMD %s cert_chain of %s holds no %s",
                   amdc_chain_name(vlek), att_amd_product_name(product), vlek ? "ASVK" : "ASK");
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        if (X509_check_issued(x, x) == X509_V_OK) {
            continue; /* the ARK: the anchors stand for it */
        }
        rc = att_amd_signing_key_load(c->trust, x, out, msg, msg_len);
        if (rc == ATT_OK && ((*out)->product != product || (*out)->vlek != vlek)) {
            rc = att_failf(ATT_ERR_SNP_PRODUCT_MISMATCH, msg, msg_len,
                           "AMD %s cert_chain of %s holds the %s of %s", amdc_chain_name(vlek),
                           att_amd_product_name(product), (*out)->vlek ? "ASVK" : "ASK",
                           att_amd_product_name((*out)->product));
            att_amd_item_unref(*out);
            *out = NULL;
        }
        break;
    }
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
    return rc;
}

typedef att_err (*kds_fetch_fn)(struct att_amd_collateral *c, enum att_snp_product product,
                                bool vlek, struct att_kds_item *out, char *detail, size_t len);

static att_err kds_chain(struct att_amd_collateral *c, enum att_snp_product product, bool vlek,
                         struct att_kds_item *out, char *detail, size_t len)
{
    return att_kds_fetch_cert_chain(&c->kds, att_amd_product_name(product), vlek, out, detail, len);
}

static att_err kds_crl(struct att_amd_collateral *c, enum att_snp_product product, bool vlek,
                       struct att_kds_item *out, char *detail, size_t len)
{
    return att_kds_fetch_crl(&c->kds, att_amd_product_name(product), vlek, out, detail, len);
}

/* Load `body` as the kind's item: a chain (kind "amd_chain") or a CRL. */
att_err amdc_held_load(struct att_amd_collateral *c, bool crl, enum att_snp_product product,
                       bool vlek, const struct att_buf *body, struct att_amd_item **out, char *msg,
                       size_t msg_len)
{
    if (!crl) {
        return amdc_chain_load(c, body->data, body->len, product, vlek, out, msg, msg_len);
    }
    ATT_TRY(att_amd_crl_load(c->trust, body->data, body->len, vlek, out, msg, msg_len));
    if ((*out)->product != product) {
        att_amd_item_unref(*out);
        *out = NULL;
        return att_failf(ATT_ERR_SNP_CRL_INVALID, msg, msg_len,
                         "AMD %s CRL of %s is signed by another product's ARK",
                         amdc_chain_name(vlek), att_amd_product_name(product));
    }
    return ATT_OK;
}

/* Hold the stored item of (kind, key) when it is newer than what is held. Store reads take no
 * lock; a stored CRL already held (same bytes) is not loaded (verified) again. */
static void held_from_store(struct att_amd_collateral *c, bool crl, enum att_snp_product product,
                            bool vlek, struct held *h, const char *key)
{
    struct att_buf body;
    struct att_amd_item *got = NULL;
    struct att_amd_item *it = held_get(c, h);
    char ignored[256];
    uint8_t md[32];
    att_buf_init(&body, crl ? ATT_AMD_MAX_CRL : ATT_AMD_MAX_CHAIN_PEM);
    if (store_get(c, crl ? "amd_crl" : "amd_chain", key, &body) == ATT_OK &&
        !(crl && it != NULL && att_sha256(body.data, body.len, md) == ATT_OK &&
          memcmp(md, it->hash, 32) == 0) &&
        amdc_held_load(c, crl, product, vlek, &body, &got, ignored, sizeof(ignored)) == ATT_OK) {
        amdc_held_put(c, h, got);
    }
    att_amd_item_unref(got);
    att_amd_item_unref(it);
    att_buf_cleanup(&body);
}

/* Whether `it` answers at `now` (a chain always; a CRL before its nextUpdate). */
static bool held_fresh(const struct att_amd_item *it, bool crl, int64_t now)
{
    return it != NULL && (!crl || now <= it->not_after);
}

/*
 * The held chain or CRL of (product, vlek), current at `fresh_at` (a CRL before its
 * nextUpdate; the refresher asks as of a later time than `now`), else a newer one from the
 * store, else from KDS (its backoffs run on `now`). Returns what is held when nothing newer can
 * be had (the verifier says how stale), NULL with ATT_OK when no CRL is held at all.
 */
att_err amdc_held_current(struct att_amd_collateral *c, bool crl, enum att_snp_product product,
                          bool vlek, int64_t now, int64_t fresh_at, struct att_amd_item **out,
                          char *msg, size_t msg_len)
{
    struct held *h = crl ? &c->crls[product][vlek] : &c->chains[product][vlek];
    const char *kind = crl ? "amd_crl" : "amd_chain";
    char key[32];
    struct att_amd_item *it = held_get(c, h);
    att_err rc = ATT_OK;

    if (held_fresh(it, crl, fresh_at)) {
        *out = it;
        return ATT_OK;
    }
    att_amd_item_unref(it);
    snprintf(key, sizeof(key), "%s:%s", amdc_chain_name(vlek), att_amd_product_name(product));
    held_from_store(c, crl, product, vlek, h, key);
    it = held_get(c, h);
    if (!held_fresh(it, crl, fresh_at) && c->has_kds && backoff_passed(c, h, now)) {
        /* A CRL the deployment does not require is not worth waiting for. */
        rc = kds_enter(c, now, !crl || c->crl_required, msg, msg_len);
        if (rc == ATT_OK) {
            att_amd_item_unref(it);
            it = held_get(c, h); /* another thread may have renewed it meanwhile */
        }
        /* Renewed, or refused, while this request waited for the lock? */
        if (rc == ATT_OK && !held_fresh(it, crl, fresh_at) && backoff_passed(c, h, now)) {
            struct att_kds_item ki;
            struct att_amd_item *got = NULL;
            char detail[256] = "";
            att_kds_item_init(&ki);
            rc = (crl ? kds_crl : kds_chain)(c, product, vlek, &ki, detail, sizeof(detail));
            if (rc == ATT_OK) {
                rc = amdc_held_load(c, crl, product, vlek, &ki.body, &got, msg, msg_len);
            }
            if (rc == ATT_OK) {
                if (amdc_held_put(c, h, got)) {
                    amdc_store_put(c, kind, key, ki.body.data, ki.body.len, got, "kds");
                }
                if (crl && fresh_at > got->not_after) {
                    backoff_set(c, h, now, 0); /* KDS has nothing newer yet */
                }
            } else {
                backoff_set(c, h, now, ki.retry_after);
                att_log(ATT_LOG_WARN, "AMD KDS fetch failed", "kind", json_string(kind), "key",
                        json_string(key), "error", json_string(att_err_name(rc)), "detail",
                        json_string(detail), NULL);
                if (rc != ATT_ERR_FETCH && detail[0] != '\0') {
                    rc = att_failf(rc == ATT_ERR_NOT_FOUND ? ATT_ERR_COLLATERAL_MISSING : rc, msg,
                                   msg_len, "AMD %s %s of %s could not be fetched: %s",
                                   amdc_chain_name(vlek), crl ? "CRL" : "cert_chain",
                                   att_amd_product_name(product), detail);
                } else if (rc == ATT_ERR_FETCH) {
                    rc = att_failf(rc, msg, msg_len, "AMD KDS: %s",
                                   detail[0] != '\0' ? detail : att_err_str(rc));
                }
            }
            kds_leave(c, now, ki.retry_after);
            att_amd_item_unref(got);
            att_kds_item_cleanup(&ki);
            att_amd_item_unref(it);
            it = held_get(c, h);
        } else if (rc == ATT_OK) {
            kds_leave(c, now, 0);
        }
    }
    /* A held (stale) item, or none for a CRL, still answers: the verifier judges it. */
    *out = it;
    return it != NULL || crl ? ATT_OK : rc;
}

/* ---- leaves ---------------------------------------------------------------------------- */

/* The cached slot for `key`: a reference to its leaf (or NULL), and its retry time. */
static struct att_amd_item *leaf_get(struct att_amd_collateral *c, const uint8_t key[32],
                                     int64_t *retry_at, att_err *refusal)
{
    struct att_amd_item *it = NULL;
    *retry_at = 0;
    *refusal = ATT_OK;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < LEAF_CACHE; i++) {
        struct leaf_slot *s = &c->leaves[i];
        if (s->in_use && memcmp(s->key, key, 32) == 0) {
            s->used = ++c->tick;
            it = s->leaf != NULL ? att_amd_item_ref(s->leaf) : NULL;
            *retry_at = s->retry_at;
            *refusal = s->refusal;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return it;
}

/* Cache `leaf` (or, NULL, a retry time) under `key`, evicting the least recently used. */
void amdc_leaf_put(struct att_amd_collateral *c, const uint8_t key[32], struct att_amd_item *leaf,
                   int64_t retry_at, att_err refusal)
{
    struct leaf_slot *victim = &c->leaves[0];
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < LEAF_CACHE; i++) {
        struct leaf_slot *s = &c->leaves[i];
        if (s->in_use && memcmp(s->key, key, 32) == 0) {
            victim = s;
            break;
        }
        if (!s->in_use || (victim->in_use && s->used < victim->used)) {
            victim = s;
        }
    }
    att_amd_item_unref(victim->leaf);
    memcpy(victim->key, key, 32);
    victim->leaf = leaf != NULL ? att_amd_item_ref(leaf) : NULL;
    victim->retry_at = retry_at;
    victim->refusal = refusal;
    victim->used = ++c->tick;
    victim->in_use = true;
    pthread_mutex_unlock(&c->lock);
}

/* The product a leaf's issuer names ("SEV-Milan", "SEV-VLEK-Milan"). */
enum att_snp_product amdc_issuer_product(X509 *leaf)
{
    char cn[64] = "";
    if (X509_NAME_get_text_by_NID(X509_get_issuer_name(leaf), NID_commonName, cn, sizeof(cn)) <=
        0) {
        ERR_clear_error();
        return ATT_SNP_UNKNOWN;
    }
    const char *p = strncmp(cn, "SEV-VLEK-", 9) == 0 ? cn + 9
                    : strncmp(cn, "SEV-", 4) == 0    ? cn + 4
                                                     : "";
    return att_amd_product_of_name(p);
}

/* The cache key of carried certificates: SHA-256 of the chain kind and the bytes (a table
 * yields a VCEK or a VLEK as the report asks). */
static att_err carried_key(struct att_bytes bytes, bool vlek, uint8_t key[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    uint8_t kind = vlek;
    bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(md, &kind, 1) == 1 &&
              EVP_DigestUpdate(md, bytes.ptr, bytes.len) == 1 &&
              EVP_DigestFinal_ex(md, key, &n) == 1 && n == 32;
    EVP_MD_CTX_free(md);
    return ok ? ATT_OK : ATT_ERR_CRYPTO;
}

/* The leaf the evidence carries, chained to the anchors through the carried signing key or the
 * held one of its product, and cached under `key`. */
static att_err carried_leaf(struct att_amd_collateral *c, const struct att_snp_report *r, X509 *lc,
                            X509 *sc, const uint8_t key[32], int64_t now, struct att_amd_item **out,
                            char *msg, size_t msg_len)
{
    bool vlek = r->signing_key == ATT_SNP_KEY_VLEK;
    struct att_amd_item *sk = NULL;

    if (sc != NULL) {
        ATT_TRY(att_amd_signing_key_load(c->trust, sc, &sk, msg, msg_len));
    } else {
        enum att_snp_product p =
            r->product != ATT_SNP_UNKNOWN ? r->product : amdc_issuer_product(lc);
        if (p == ATT_SNP_UNKNOWN) {
            return att_failf(ATT_ERR_SNP_LEAF_CHAIN, msg, msg_len,
                             "the carried %s names no known product as its issuer",
                             vlek ? "VLEK" : "VCEK");
        }
        ATT_TRY(amdc_held_current(c, false, p, vlek, now, now, &sk, msg, msg_len));
        if (sk == NULL) {
            return att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len,
                             "the %s chain of %s is not available: the evidence carries no %s",
                             amdc_chain_name(vlek), att_amd_product_name(p), vlek ? "ASVK" : "ASK");
        }
    }
    att_err rc = att_amd_leaf_load(lc, sk, out, msg, msg_len);
    att_amd_item_unref(sk);
    if (rc == ATT_OK) {
        amdc_leaf_put(c, key, *out, 0, ATT_OK);
    }
    return rc;
}

/* TCB_VERSION of these parts in the product's layout, reserved bytes zero (§6.4): what KDS is
 * asked for, and so what a VCEK is filed under. */
static uint64_t tcb_encode(enum att_snp_product p, uint8_t fmc, uint8_t bl, uint8_t tee,
                           uint8_t snp, uint8_t ucode)
{
    if (p == ATT_SNP_TURIN) {
        return (uint64_t)fmc | (uint64_t)bl << 8 | (uint64_t)tee << 16 | (uint64_t)snp << 24 |
               (uint64_t)ucode << 56;
    }
    return (uint64_t)bl | (uint64_t)tee << 8 | (uint64_t)snp << 48 | (uint64_t)ucode << 56;
}

/* "<Product>:<hwid hex>:<TCB as 16 hex digits>" (store.h). */
static void vcek_key(enum att_snp_product p, const uint8_t *hwid, uint64_t tcb, char *key,
                     size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = (size_t)snprintf(key, cap, "%s:", att_amd_product_name(p));
    for (size_t i = 0; i < (p == ATT_SNP_TURIN ? 8u : 64u) && n + 2 < cap; i++) {
        key[n++] = digits[hwid[i] >> 4];
        key[n++] = digits[hwid[i] & 15];
    }
    snprintf(key + n, cap - n, ":%016llx", (unsigned long long)tcb);
}

/* The key a report's VCEK is filed under: its CHIP_ID and the SPLs of its REPORTED_TCB. */
static void vcek_key_of_report(const struct att_snp_report *r, enum att_snp_product p, char *key,
                               size_t cap)
{
    struct att_snp_tcb t = att_snp_tcb_decode(r->reported_tcb, p);
    vcek_key(p, r->chip_id, tcb_encode(p, t.fmc, t.bootloader, t.tee, t.snp, t.microcode), key,
             cap);
}

/* The key a VCEK is filed under, from its own hwID and SPL extensions. */
void amdc_vcek_key_of_leaf(const struct att_amd_item *leaf, char *key, size_t cap)
{
    const struct att_amd_cert_info *i = &leaf->info;
    uint8_t hwid[64];
    memset(hwid, 0, sizeof(hwid));
    memcpy(hwid, i->hwid, i->hwid_len);
    vcek_key(leaf->product, hwid,
             tcb_encode(leaf->product, i->fmc, i->bootloader, i->tee, i->snp, i->microcode), key,
             cap);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Ask KDS for the VCEK of `key` (the report's chip and TCB); the answer must be that VCEK.
 * *retry_after: the seconds of a 429/503 answer's Retry-After, else 0. */
static att_err kds_vcek(struct att_amd_collateral *c, const struct att_snp_report *r,
                        enum att_snp_product p, struct att_amd_item *sk, const char *key,
                        int64_t *retry_after, struct att_amd_item **out, char *msg, size_t msg_len)
{
    struct att_kds_item ki;
    struct att_kds_tcb tcb;
    struct att_snp_tcb t = att_snp_tcb_decode(r->reported_tcb, p);
    char detail[256] = "";
    char got_key[160];
    X509 *x = NULL;
    tcb.fmc = t.fmc;
    tcb.bl = t.bootloader;
    tcb.tee = t.tee;
    tcb.snp = t.snp;
    tcb.ucode = t.microcode;
    att_kds_item_init(&ki);
    att_err rc = att_kds_fetch_vcek(&c->kds, att_amd_product_name(p), r->chip_id,
                                    p == ATT_SNP_TURIN ? 8 : 64, &tcb, &ki, detail, sizeof(detail));
    *retry_after = ki.retry_after;
    if (rc != ATT_OK) {
        rc = rc == ATT_ERR_NOT_FOUND ? ATT_ERR_COLLATERAL_MISSING : rc;
        att_failf(rc, msg, msg_len,
                  "the VCEK of this chip and TCB could not be fetched from KDS: %s",
                  detail[0] != '\0' ? detail : att_err_str(rc));
    } else if (att_amd_cert_from_der(ki.body.data, ki.body.len, &x) != ATT_OK ||
               att_amd_leaf_load(x, sk, out, msg, msg_len) != ATT_OK) {
        rc = att_failf(ATT_ERR_FETCH, msg, msg_len,
                       "AMD KDS answered a certificate that is not a VCEK of the ASK of %s",
                       att_amd_product_name(p));
    } else {
        amdc_vcek_key_of_leaf(*out, got_key, sizeof(got_key));
        if (strcmp(got_key, key) != 0) {
            att_amd_item_unref(*out);
            *out = NULL;
            rc = att_failf(ATT_ERR_FETCH, msg, msg_len,
                           "AMD KDS answered the VCEK of another chip or TCB");
        } else {
            (*out)->from_kds = true; /* stored once a report verifies with it */
        }
    }
    if (rc != ATT_OK) {
        att_log(ATT_LOG_WARN, "AMD KDS fetch failed", "kind", json_string("amd_vcek"), "key",
                json_string(key), "error", json_string(att_err_name(rc)), "detail",
                json_string(detail[0] != '\0' ? detail : msg), NULL);
    }
    X509_free(x);
    att_kds_item_cleanup(&ki);
    return rc;
}

/* The VCEK of the report's chip and TCB for product `p`: cache, store, KDS. */
static att_err fetched_vcek(struct att_amd_collateral *c, const struct att_snp_report *r,
                            enum att_snp_product p, int64_t now, struct att_amd_item **out,
                            char *msg, size_t msg_len)
{
    char key[160];
    uint8_t hkey[32];
    int64_t retry_at = 0;
    att_err refusal = ATT_OK;
    struct att_buf der;
    struct att_amd_item *sk = NULL;
    X509 *x = NULL;
    att_err rc;

    if (r->mask_chip_key || all_zero(r->chip_id, p == ATT_SNP_TURIN ? 8 : 64)) {
        return att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len,
                         "the report masks its CHIP_ID (MASK_CHIP_KEY): its VCEK cannot be "
                         "looked up, the evidence must carry it (VcekCertChain)");
    }
    vcek_key_of_report(r, p, key, sizeof(key));
    ATT_TRY(att_sha256(key, strlen(key), hkey));
    *out = leaf_get(c, hkey, &retry_at, &refusal);
    if (*out != NULL) {
        return ATT_OK;
    }
    if (now < retry_at) {
        return att_failf(refusal, msg, msg_len,
                         "the VCEK of this chip and TCB could not be fetched from KDS (asked "
                         "again in %lld seconds)",
                         (long long)(retry_at - now));
    }
    ATT_TRY(amdc_held_current(c, false, p, false, now, now, &sk, msg, msg_len));
    if (sk == NULL) {
        return att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len,
                         "the VCEK chain (ASK) of %s is not held%s", att_amd_product_name(p),
                         c->has_kds ? ""
                                    : " and no KDS is configured; the evidence can carry the "
                                      "VCEK and ASK (VcekCertChain)");
    }
    att_buf_init(&der, ATT_AMD_MAX_CERT_DER);
    rc = store_get(c, "amd_vcek", key, &der);
    if (rc == ATT_OK) {
        rc = att_amd_cert_from_der(der.data, der.len, &x) == ATT_OK
                 ? att_amd_leaf_load(x, sk, out, msg, msg_len)
                 : att_failf(ATT_ERR_CERT_PARSE, msg, msg_len, "the stored VCEK is not DER");
    } else if (!c->has_kds) {
        rc = att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len,
                       "the VCEK of this chip and TCB is not held and no KDS is configured; the "
                       "evidence can carry it (VcekCertChain)");
    } else if ((rc = kds_enter(c, now, true, msg, msg_len)) == ATT_OK) {
        /* Fetched, or refused, while this request waited for the lock? */
        *out = leaf_get(c, hkey, &retry_at, &refusal);
        if (*out == NULL && now < retry_at) {
            kds_leave(c, now, 0);
            rc = att_failf(refusal, msg, msg_len,
                           "the VCEK of this chip and TCB could not be fetched from KDS (asked "
                           "again in %lld seconds)",
                           (long long)(retry_at - now));
        } else if (*out == NULL) {
            int64_t retry_after = 0;
            rc = kds_vcek(c, r, p, sk, key, &retry_after, out, msg, msg_len);
            int64_t wait = FETCH_BACKOFF < c->retry_after_max ? FETCH_BACKOFF : c->retry_after_max;
            /* The outcome is recorded before the lock goes, so no waiter asks again. */
            amdc_leaf_put(c, hkey, rc == ATT_OK ? *out : NULL, rc == ATT_OK ? 0 : now + wait, rc);
            kds_leave(c, now, retry_after);
        } else {
            kds_leave(c, now, 0);
        }
    }
    if (rc == ATT_OK) {
        amdc_leaf_put(c, hkey, *out, 0, ATT_OK);
    }
    X509_free(x);
    att_amd_item_unref(sk);
    att_buf_cleanup(&der);
    return rc;
}

/* The leaf when the evidence carries none: fetched (or held) by chip and TCB. */
static att_err fetched_leaf(struct att_amd_collateral *c, const struct att_snp_report *r,
                            int64_t now, struct att_amd_item **out, char *msg, size_t msg_len)
{
    char genoa[256] = "";
    att_err rc;
    if (r->signing_key == ATT_SNP_KEY_VLEK) {
        return att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len,
                         "the report is signed by a VLEK and the evidence carries none (KDS does "
                         "not publish VLEKs: the host supplies them)");
    }
    if (r->signing_key != ATT_SNP_KEY_VCEK) {
        return att_failf(ATT_ERR_SNP_KEY_KIND, msg, msg_len,
                         "report is not signed by a VCEK or VLEK (SIGNING_KEY is none)");
    }
    if (r->product != ATT_SNP_UNKNOWN) {
        return fetched_vcek(c, r, r->product, now, out, msg, msg_len);
    }
    /* A v2 report does not name its product; v2 firmware ran on Milan and Genoa only, and a
     * chip ID is known to KDS under one of them. The chain check decides either way. */
    rc = fetched_vcek(c, r, ATT_SNP_MILAN, now, out, msg, msg_len);
    if (rc == ATT_ERR_COLLATERAL_MISSING &&
        fetched_vcek(c, r, ATT_SNP_GENOA, now, out, genoa, sizeof(genoa)) == ATT_OK) {
        rc = ATT_OK;
    }
    return rc;
}

static att_err source_get(void *ctx, const struct att_snp_report *r,
                          const struct att_snp_carried *carried, int64_t now,
                          struct att_snp_inputs *out, char *msg, size_t msg_len)
{
    struct att_amd_collateral *c = ctx;
    struct att_bytes bytes = carried->pem.len > 0 ? carried->pem : carried->table;
    X509 *lc = NULL;
    X509 *sc = NULL;
    att_err rc = ATT_OK;

    memset(out, 0, sizeof(*out));
    out->crl_required = c->crl_required;
    /* Certificates the evidence carries: the cache by their bytes first, so a warm request
     * parses no certificate. */
    if (bytes.len > 0) {
        bool vlek = r->signing_key == ATT_SNP_KEY_VLEK;
        uint8_t key[32];
        int64_t retry_at = 0;
        att_err refusal = ATT_OK;
        ATT_TRY(carried_key(bytes, vlek, key));
        out->leaf = leaf_get(c, key, &retry_at, &refusal);
        if (out->leaf == NULL) {
            ATT_TRY(att_snp_carried_certs(carried, vlek, &lc, &sc, msg, msg_len));
        }
        if (lc != NULL) {
            rc = carried_leaf(c, r, lc, sc, key, now, &out->leaf, msg, msg_len);
        }
    }
    if (rc == ATT_OK && out->leaf == NULL) {
        rc = fetched_leaf(c, r, now, &out->leaf, msg, msg_len);
    }
    X509_free(lc);
    X509_free(sc);
    if (rc == ATT_OK) {
        rc = amdc_held_current(c, true, out->leaf->product, out->leaf->vlek, now, now, &out->crl,
                               msg, msg_len);
    }
    if (rc != ATT_OK) {
        att_snp_inputs_release(out);
    }
    return rc;
}

/* A report verified with a VCEK fetched for it: now it may be stored (once). */
static void source_verified(void *ctx, const struct att_snp_inputs *in)
{
    struct att_amd_collateral *c = ctx;
    struct att_amd_item *leaf = in->leaf;
    unsigned char *der = NULL;
    char key[160];
    if (leaf == NULL || !leaf->from_kds ||
        __atomic_exchange_n(&leaf->stored, 1, __ATOMIC_ACQ_REL)) {
        return;
    }
    int n = i2d_X509(leaf->cert, &der);
    if (n > 0) {
        amdc_vcek_key_of_leaf(leaf, key, sizeof(key));
        amdc_store_put(c, "amd_vcek", key, der, (size_t)n, leaf, "kds");
    }
    OPENSSL_free(der);
    ERR_clear_error();
}

struct att_snp_source att_amd_collateral_source(struct att_amd_collateral *c)
{
    struct att_snp_source s = {source_get, source_verified, c};
    return s;
}

/* ---- refresh --------------------------------------------------------------------------- */

void att_amd_collateral_refresh(struct att_amd_collateral *c, int64_t now)
{
    for (int p = ATT_SNP_MILAN; p <= ATT_SNP_TURIN; p++) {
        for (int v = 0; v < 2; v++) {
            struct att_amd_item *it = held_get(c, &c->crls[p][v]);
            if (it == NULL) {
                continue;
            }
            struct held *h = &c->crls[p][v];
            int64_t lead = (it->not_after - it->not_before) / 4;
            int64_t next = it->not_after;
            lead = lead < REFRESH_LEAD_MAX ? lead : REFRESH_LEAD_MAX;
            att_amd_item_unref(it);
            pthread_mutex_lock(&c->lock);
            bool due = now >= next - lead && now >= h->refresh_at;
            if (due) {
                h->refresh_at = now + REFRESH_RETRY;
            }
            pthread_mutex_unlock(&c->lock);
            if (!due) {
                continue;
            }
            /* Ask as if it had expired: the store first, then KDS (within its backoff). */
            struct att_amd_item *got = NULL;
            char msg[256] = "";
            if (amdc_held_current(c, true, (enum att_snp_product)p, v != 0, now,
                                  next + 1 > now ? next + 1 : now, &got, msg,
                                  sizeof(msg)) == ATT_OK) {
                att_amd_item_unref(got);
            }
        }
    }
}

void att_amd_collateral_refresh_cb(void *c, int64_t now)
{
    att_amd_collateral_refresh(c, now);
}
