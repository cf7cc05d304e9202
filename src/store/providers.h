/*
 * providers.h - the store's attestation providers, their signing keys, the data keys of
 * sealing and the audit trail's checkpoint: records and operations.
 *
 * Part of the store interface (store.h, which includes this header and holds the store itself:
 * open, close, transactions, the operation table). Records are plain structs with fixed-size
 * strings; blobs are att_bufs owned by the record (release with the matching *_cleanup).
 * Iteration callbacks return ATT_OK to go on; anything else stops the list and is returned.
 */
#ifndef ATT_STORE_PROVIDERS_H
#define ATT_STORE_PROVIDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct att_store;

#define ATT_PROVIDER_NAME_MAX 63
#define ATT_URL_MAX 511
/* The cap of a record's blob (keys, data keys, policy versions, signer certificates). */
#define ATT_STORE_BLOB_MAX ((size_t)1 << 20)
/* A provider's own DCAP trust anchors, PEM text: room for a few roots (one is about 0.9 KiB). */
#define ATT_PROVIDER_TRUST_PEM_MAX 4095

struct att_provider_rec {
    char name[ATT_PROVIDER_NAME_MAX + 1]; /* [a-z0-9][a-z0-9-]{0,62} */
    char issuer[ATT_URL_MAX + 1];         /* token "iss", no trailing slash */
    char signing_alg[8];                  /* "RS256" or "ES256" */
    bool is_default;
    bool attest_requires_auth; /* /attest routes need an authenticated caller (migration 3) */
    char trust_model[12];      /* ATT_TRUST_AAD or ATT_TRUST_ISOLATED (migration 4) */
    int64_t collateral_grace;  /* seconds collateral may be used past nextUpdate (migration 6) */
    /* Signed policy changes must carry binding claims (docs/policies.md; migration 7). */
    bool require_bound_requests;
    int64_t policy_history_keep; /* versions kept per attestation type; 0 = all (migration 7) */
    /* Tokens are answered even when their audit record cannot be written (migration 9;
     * default false: a token waits until its record is durable). */
    bool audit_fail_open;
    /* The provider's own DCAP trust anchors (PEM text), "" for the daemon's
     * dcap_trust_anchors (migration 12; docs/internals/demo.md). */
    char dcap_trust_anchors[ATT_PROVIDER_TRUST_PEM_MAX + 1];
    /* A demo provider (`attestctl demo`): its anchors are a root made on the operator's
     * machine; it refuses to attest while public network access is on and marks every token
     * it issues (migration 12). */
    bool demo;
    int64_t created_at;
};

#define ATT_COLLATERAL_GRACE_MAX ((int64_t)30 * 86400)
#define ATT_POLICY_HISTORY_KEEP_MAX ((int64_t)1000000)

/* MAA's trust models of a provider (docs/reference/maa-policy.md §4.1). */
#define ATT_TRUST_AAD "AAD"
#define ATT_TRUST_ISOLATED "Isolated"

struct att_key_rec {
    char kid[65];
    char provider[ATT_PROVIDER_NAME_MAX + 1];
    char alg[8];
    struct att_buf cert_der;   /* public certificate, DER */
    struct att_buf sealed_key; /* PKCS#8 DER private key, sealed (table "signing_keys", id = kid) */
    int64_t created_at;
    /* Provider keys only (migrations 10 and 11; 0 in auth keys): the key signs from activate_at
     * until the next key of its provider activates; used_until is the latest time a signer may
     * have signed with it and token_lifetime the longest lifetime of a token it may have signed
     * (both raised by every signer before it signs: att_store_key_note_use). */
    int64_t activate_at;
    int64_t token_lifetime;
    int64_t used_until;
};

struct att_dek_rec {
    char id[33];
    char kek_id[17];
    struct att_buf wrapped;
    bool active;
    int64_t created_at;
};

void att_key_rec_init(struct att_key_rec *k);
void att_key_rec_cleanup(struct att_key_rec *k);
void att_dek_rec_init(struct att_dek_rec *d);
void att_dek_rec_cleanup(struct att_dek_rec *d);

typedef att_err (*att_store_provider_cb)(const struct att_provider_rec *p, void *arg);
typedef att_err (*att_store_key_cb)(const struct att_key_rec *k, void *arg);
typedef att_err (*att_store_dek_cb)(const struct att_dek_rec *d, void *arg);

/* ATT_ERR_EXISTS when the name is taken. */
att_err att_store_provider_insert(struct att_store *s, const struct att_provider_rec *p) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent. */
att_err att_store_provider_get(struct att_store *s, const char *name,
                               struct att_provider_rec *out) ATT_WUR;
att_err att_store_provider_list(struct att_store *s, att_store_provider_cb cb, void *arg) ATT_WUR;
/* Deletes the provider and (ON DELETE CASCADE) its keys. ATT_ERR_NOT_FOUND when absent. */
att_err att_store_provider_delete(struct att_store *s, const char *name) ATT_WUR;
/*
 * Whether the provider's attestation routes require authentication. ATT_ERR_NOT_FOUND when
 * absent. A running daemon sees the change after its next provider reload (SIGHUP).
 */
att_err att_store_provider_set_attest_requires_auth(struct att_store *s, const char *name,
                                                    bool on) ATT_WUR;
/* Seconds (0 .. 30 days) the provider lets collateral be used past its nextUpdate. */
att_err att_store_provider_set_collateral_grace(struct att_store *s, const char *name,
                                                int64_t seconds) ATT_WUR;
/*
 * Whether the provider's signed policy changes must carry binding claims, and how many policy
 * versions per attestation type it keeps (0 = all, at most ATT_POLICY_HISTORY_KEEP_MAX). Policy
 * management reads both from the store on each change: they bind at once, without SIGHUP.
 */
att_err att_store_provider_set_require_bound_requests(struct att_store *s, const char *name,
                                                      bool on) ATT_WUR;
att_err att_store_provider_set_policy_history_keep(struct att_store *s, const char *name,
                                                   int64_t keep) ATT_WUR;
/* Whether the provider answers tokens whose audit record cannot be written (SIGHUP). */
att_err att_store_provider_set_audit_fail_open(struct att_store *s, const char *name,
                                               bool on) ATT_WUR;
/* The issuer URL of provider `name` (its tokens' "iss"; /certs and the OpenID metadata follow
 * it), checked by the caller (att_provider_issuer_check). */
att_err att_store_provider_set_issuer(struct att_store *s, const char *name,
                                      const char *issuer) ATT_WUR;

/* A node's newest audit checkpoint as stored (migration 9, by node since 13). */
#define ATT_STORE_CHECKPOINT_JWS_MAX ((size_t)64 << 10)
struct att_audit_checkpoint_rec {
    int64_t seq;
    char hash[65];      /* hex SHA-256 of the record it covers */
    struct att_buf jws; /* the signed checkpoint, compact JWS text (no NUL) */
    int64_t created_at;
};

/* The JWS buffer capped at ATT_STORE_CHECKPOINT_JWS_MAX. */
void att_audit_checkpoint_rec_init(struct att_audit_checkpoint_rec *r);
/* Accepts NULL. */
void att_audit_checkpoint_rec_cleanup(struct att_audit_checkpoint_rec *r);
/*
 * The newest checkpoint of node `node`'s audit trail (each node keeps a trail of its own, in
 * its own audit database; `node` is its node_name, at most ATT_NODE_NAME_MAX bytes): the seq
 * and hex hash it covers, and its JWS (migration 13 keyed it by node).
 */
#define ATT_NODE_NAME_MAX 255
att_err att_store_audit_checkpoint_put(struct att_store *s, const char *node, int64_t seq,
                                       const char *hash, const char *jws, int64_t now) ATT_WUR;
/* ATT_ERR_NOT_FOUND before the node's first checkpoint. */
att_err att_store_audit_checkpoint_get(struct att_store *s, const char *node, int64_t *seq,
                                       char hash[65]) ATT_WUR;
/* Forget the node's newest checkpoint (attestctl audit acknowledge-loss, after records were
 * lost). */
att_err att_store_audit_checkpoint_clear(struct att_store *s, const char *node) ATT_WUR;
/*
 * The node's newest checkpoint whole, its JWS and time included, into `out` (initialised by
 * the caller; written only on success): what att_store_audit_checkpoint_put needs to keep the
 * same checkpoint in another store. ATT_ERR_NOT_FOUND before the node's first checkpoint.
 */
att_err att_store_audit_checkpoint_read(struct att_store *s, const char *node,
                                        struct att_audit_checkpoint_rec *out) ATT_WUR;

att_err att_store_key_insert(struct att_store *s, const struct att_key_rec *k) ATT_WUR;
/* Keys of one provider in the order they sign: by activate_at, then oldest first. */
att_err att_store_key_list(struct att_store *s, const char *provider, att_store_key_cb cb,
                           void *arg) ATT_WUR;
/* Destroy a provider's key (its sealed private key with it). ATT_ERR_NOT_FOUND when absent. */
att_err att_store_key_delete(struct att_store *s, const char *provider, const char *kid) ATT_WUR;
/*
 * A signer is about to sign, until `until`, with key `kid` of `provider` tokens that live up to
 * `lifetime` seconds (1 .. 10 years): raise the key's used_until and token_lifetime to at least
 * those, so that it stays published until the last of those tokens has expired
 * (docs/operations.md "Signing-key rotation"). ATT_ERR_NOT_FOUND when the key is gone.
 */
att_err att_store_key_note_use(struct att_store *s, const char *provider, const char *kid,
                               int64_t until, int64_t lifetime) ATT_WUR;
/* Make a provider's key sign from `at` (a waiting key activated at once). */
att_err att_store_key_set_activate(struct att_store *s, const char *provider, const char *kid,
                                   int64_t at) ATT_WUR;

att_err att_store_dek_insert(struct att_store *s, const struct att_dek_rec *d) ATT_WUR;
att_err att_store_dek_get(struct att_store *s, const char *id, struct att_dek_rec *out) ATT_WUR;
/* The newest active data key; ATT_ERR_NOT_FOUND when there is none yet. */
att_err att_store_dek_get_active(struct att_store *s, struct att_dek_rec *out) ATT_WUR;
att_err att_store_dek_list(struct att_store *s, att_store_dek_cb cb, void *arg) ATT_WUR;
att_err att_store_dek_rewrap(struct att_store *s, const char *id, const char *kek_id,
                             const uint8_t *wrapped, size_t len) ATT_WUR;

#endif
