/*
 * service.h - where verifiers get Intel collateral (struct att_intel_source): a per-node cache of
 * parsed and verified items, then the store, then an upstream PCS v4 service (Intel PCS or a PCCS),
 * plus offline bundles imported with `attestctl collateral import` (issue 5;
 * docs/internals/design.md "collateral").
 *
 * The cache is keyed by content hash (a verified item never changes) and an index names the
 * current item per (kind, key): TCB info per (tee, FMSPC), QE identity per tee, PCK CRL per CA,
 * the Root CA CRL. An item is used until its own nextUpdate (plus the provider's grace); then
 * the store is read again, and the upstream asked, for a newer one. PCK chains from quotes are
 * cached too, by the SHA-256 of their PEM text. All functions are thread-safe.
 */
#ifndef ATT_COLLATERAL_SERVICE_H
#define ATT_COLLATERAL_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "collateral/bundle.h"
#include "core/err.h"
#include "evidence/intel/dcap.h"
#include "evidence/intel/verify.h"
#include "store/store.h"

struct att_collateral_config {
    const char *pcs_url;          /* base URL of a PCS v4 service ("" or NULL: none, offline) */
    const char *pcs_ca_file;      /* PEM trust anchors for its TLS, NULL: the system's */
    const char *pcs_api_key;      /* Intel PCS subscription key header, NULL: none */
    const char *pcs_root_crl_url; /* NULL: Intel's IntelSGXRootCA.der */
    int64_t retry_after_max;      /* cap on an upstream's Retry-After, seconds */
    long timeout;                 /* seconds per upstream request; 0: the default (5) */
    /* The store scope of the items (store.h, struct att_collateral_rec): NULL or "" for the
     * daemon's dcap_trust_anchors, else att_dcap_trust_id of `trust` (a provider's own
     * anchors; docs/internals/demo.md). Items are read from and written to this scope only. */
    const char *scope;
};

struct att_collateral;

/*
 * `store` and `trust` are borrowed and must outlive the service. Errors: ATT_ERR_ARG (also a
 * scope that is neither "" nor `trust`'s id), ATT_ERR_NOMEM.
 */
att_err att_collateral_new(struct att_store *store, const struct att_dcap_trust *trust,
                           const struct att_collateral_config *cfg,
                           struct att_collateral **out) ATT_WUR;
void att_collateral_free(struct att_collateral *cl);

/*
 * Load (or find cached) the quote's PCK chain `pem`, then the collateral of `tee` for its FMSPC
 * and CA, current at `now` (nextUpdate not passed; the verifier applies a provider's grace).
 * Errors: the PCK chain loader's (ATT_ERR_PCK_CHAIN, ATT_ERR_ROOT_UNTRUSTED,
 * ATT_ERR_PCK_EXTENSION), ATT_ERR_COLLATERAL_MISSING (none held and none fetched; `msg` names
 * the item), ATT_ERR_FETCH (the upstream failed and nothing is held), and a fetched item's
 * loader errors. A stale copy is returned when nothing newer can be had (the verifier then says
 * how stale).
 */
att_err att_collateral_intel(struct att_collateral *cl, enum att_intel_tee tee, const uint8_t *pem,
                             size_t len, int64_t now, struct att_intel_inputs *out, char *msg,
                             size_t msg_len) ATT_WUR;
/* The service as the evidence verifiers' source of Intel collateral (`cl` borrowed). */
struct att_intel_source att_collateral_intel_source(struct att_collateral *cl);

/*
 * Import an offline bundle: load (verify) all four items at no particular time, store them
 * (replacing older items of the same kind and key, never newer ones) and refresh the cache.
 * Unless allow_expired, a bundle with an item past its nextUpdate at `now` is refused whole
 * (ATT_ERR_COLLATERAL_EXPIRED, msg naming the item): it could verify nothing today.
 * Errors: the loaders'. *imported (may be NULL) counts the items that were new.
 */
att_err att_collateral_import(struct att_collateral *cl, const struct att_dcap_bundle *b,
                              int64_t now, bool allow_expired, int *imported, char *msg,
                              size_t msg_len) ATT_WUR;

/*
 * Load a bundle's items without storing them (the offline verifier). Each out item holds a
 * reference; release with att_intel_inputs_release (out->pck stays NULL).
 */
att_err att_collateral_from_bundle(const struct att_dcap_trust *trust,
                                   const struct att_dcap_bundle *b, struct att_intel_inputs *out,
                                   char *msg, size_t msg_len) ATT_WUR;

/* A source that serves the same loaded items to every quote (whose PCK chain it loads against
 * `trust`): the offline verifier's, with a bundle's items. Both members borrowed. */
struct att_intel_fixed {
    const struct att_dcap_trust *trust;
    const struct att_intel_inputs *items;
};
struct att_intel_source att_intel_fixed_source(struct att_intel_fixed *f);

/*
 * Background refresh (so no request waits on an upstream while a valid copy exists): every
 * cached item within its lead of nextUpdate - a quarter of its validity, at most a day - is
 * renewed from the store (another node may have fetched it) or else the upstream, each (kind,
 * key) at most once every 10 minutes, and only by a later item of the same trust anchor. The
 * refresher holds no lock while it waits on the network. att_collateral_refresh does one pass
 * at `now`; the refresher thread does one every `interval` seconds until stopped:
 * att_collateral_refresher_signal_stop asks it to stop and ends its transfer in flight (within
 * about a second); att_collateral_refresher_stop also waits for it (and is called by
 * att_collateral_free). Errors (start): ATT_ERR_ARG, ATT_ERR_INTERNAL.
 */
void att_collateral_refresh(struct att_collateral *cl, int64_t now);
att_err att_collateral_refresher_start(struct att_collateral *cl, int64_t interval) ATT_WUR;
/* Also call fn(ctx, now) on each pass (the AMD service's refresh), in the refresher's thread,
 * so SIGTERM ends its transfers too. Set before att_collateral_refresher_start. */
void att_collateral_refresher_also(struct att_collateral *cl, void (*fn)(void *ctx, int64_t now),
                                   void *ctx);
void att_collateral_refresher_signal_stop(struct att_collateral *cl);
/*
 * Whether the background refresh may fetch from the upstream (default: yes). Nodes sharing a
 * store let one of them, the leader, fetch; the others renew from the store what it stored.
 * Requests that find an item missing still fetch it on any node.
 */
void att_collateral_set_upstream(struct att_collateral *cl, bool on);
/*
 * Another node changed the store's collateral: every item held is read from the store again
 * and replaces the one held when it is later (and of the same trust anchor), so an import on
 * one node is in force on all at once, not when the held item nears its nextUpdate.
 */
void att_collateral_store_changed(struct att_collateral *cl, int64_t now);
void att_collateral_refresher_stop(struct att_collateral *cl);

/*
 * Every stored item (of every scope) with its kind, key, issue date, nextUpdate and age at
 * `now`, for /readyz detail and `attestctl collateral list`: [{"kind","key","issued",
 * "nextUpdate","ageSeconds","expired","source"}...], plus "scope" for an item of a provider's
 * own trust anchors. New reference.
 */
json_t *att_collateral_status(struct att_collateral *cl, int64_t now);

#endif
