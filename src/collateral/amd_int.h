/*
 * amd_int.h - what the AMD collateral service (amd.c) shares with its bundle import
 * (amd_bundle.c). Internal to src/collateral.
 */
#ifndef ATT_COLLATERAL_AMD_INT_H
#define ATT_COLLATERAL_AMD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "collateral/amd.h"
#include "collateral/kds.h"

#define PRODUCTS 4      /* indexed by enum att_snp_product (0: unknown, unused) */
#define LEAF_CACHE 1024 /* carried chains and fetched VCEKs kept */

struct held {
    struct att_amd_item *item;
    int64_t retry_at;   /* no KDS request before this time */
    int64_t refresh_at; /* no background refresh before this time */
};

struct leaf_slot {
    uint8_t key[32]; /* SHA-256 of the carried bytes, or of the VCEK's store key */
    struct att_amd_item *leaf;
    int64_t retry_at; /* with leaf NULL: KDS refused this VCEK; not asked before */
    att_err refusal;  /* and how: ATT_ERR_COLLATERAL_MISSING (404) or ATT_ERR_FETCH */
    uint64_t used;
    bool in_use;
};

struct att_amd_collateral {
    struct att_store *store; /* NULL: offline (items held in memory only) */
    const struct att_amd_trust *trust;
    struct att_kds_client kds;
    bool has_kds;
    char *strings[2];
    int64_t retry_after_max;
    bool crl_required;

    pthread_mutex_t lock;
    pthread_mutex_t kds_lock;
    int64_t kds_retry_at; /* after KDS's 429/503: no KDS request before this time */
    atomic_bool stopping; /* ends KDS transfers in flight (att_amd_collateral_signal_stop) */
    struct held chains[PRODUCTS][2]; /* [product][vlek]: the ASK or ASVK */
    struct held crls[PRODUCTS][2];
    struct leaf_slot leaves[LEAF_CACHE];
    uint64_t tick;
};

att_err amdc_service_new(struct att_store *store, const struct att_amd_trust *trust,
                         const struct att_amd_collateral_config *cfg,
                         struct att_amd_collateral **out) ATT_WUR;
const char *amdc_chain_name(bool vlek);
/* The signing key of a PEM chain as KDS serves it (ASK or ASVK, then the ARK), loaded. */
att_err amdc_chain_load(struct att_amd_collateral *c, const uint8_t *pem, size_t len,
                        enum att_snp_product product, bool vlek, struct att_amd_item **out,
                        char *msg, size_t msg_len) ATT_WUR;
/* `body` as a chain or (crl) a CRL of (product, vlek), loaded. */
att_err amdc_held_load(struct att_amd_collateral *c, bool crl, enum att_snp_product product,
                       bool vlek, const struct att_buf *body, struct att_amd_item **out, char *msg,
                       size_t msg_len) ATT_WUR;
/* The product a leaf's issuer names. */
enum att_snp_product amdc_issuer_product(X509 *leaf);
att_err amdc_held_current(struct att_amd_collateral *c, bool crl, enum att_snp_product product,
                          bool vlek, int64_t now, int64_t fresh_at, struct att_amd_item **out,
                          char *msg, size_t msg_len) ATT_WUR;
void amdc_vcek_key_of_leaf(const struct att_amd_item *leaf, char *key, size_t cap);
bool amdc_held_put(struct att_amd_collateral *c, struct held *h, struct att_amd_item *it);
void amdc_leaf_put(struct att_amd_collateral *c, const uint8_t key[32], struct att_amd_item *leaf,
                   int64_t retry_at, att_err refusal);
bool amdc_store_put(struct att_amd_collateral *c, const char *kind, const char *key,
                    const uint8_t *body, size_t len, const struct att_amd_item *it,
                    const char *source);

#endif
