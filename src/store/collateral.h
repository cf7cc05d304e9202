/*
 * collateral.h - collateral items in the store (migration 5; table "collateral"): the newest
 * item per scope, kind and key, shared by every node on the database and kept across restarts.
 *
 * Part of the store interface (store.h, which includes this header). The store keeps the bytes
 * and checks only their shape (fields that fit, a scope of the right form, a body whose
 * SHA-256 is the one given, blobs within their caps); it neither parses nor verifies them, and
 * which kinds, keys and signatures an item of Intel or AMD collateral may have is
 * src/collateral's (items.h: att_collateral_item_check, which callers apply before they put).
 */
#ifndef ATT_STORE_COLLATERAL_H
#define ATT_STORE_COLLATERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct att_store;

/* A collateral scope: "" (the daemon's dcap_trust_anchors) or 64 lower-case hex digits. */
#define ATT_COLLATERAL_SCOPE_LEN 64

#define ATT_STORE_COLLATERAL_BODY_MAX ((size_t)1 << 20)   /* CRL DER or signed document */
#define ATT_STORE_COLLATERAL_CHAIN_MAX ((size_t)64 << 10) /* issuer chain PEM */
#define ATT_STORE_COLLATERAL_SIG_LEN 64                   /* ECDSA P-256 r || s */
struct att_collateral_rec {
    /* Whose trust anchors the item chains to (migration 12): "" for the daemon's
     * dcap_trust_anchors (and every AMD item), else the hex SHA-256 of a provider's own anchors'
     * keys (att_dcap_trust_id). Items of two scopes never replace each other. */
    char scope[ATT_COLLATERAL_SCOPE_LEN + 1];
    /* Intel: "root_crl", "pck_crl", "tcb_info" or "qe_identity"; AMD SEV-SNP (migration 8):
     * "amd_chain" (ASK or ASVK PEM, then the ARK), "amd_crl" (DER), "amd_vcek" (DER) */
    char kind[16];
    /* Intel: "" for root_crl; "processor" or "platform" for pck_crl; "sgx:<FMSPC>" or
     * "tdx:<FMSPC>" (12 upper-case hex digits) for tcb_info; "sgx" or "tdx" for qe_identity.
     * AMD: "vcek:<Product>" or "vlek:<Product>" (Milan, Genoa, Turin) for amd_chain and amd_crl;
     * "<Product>:<hwid>:<tcb>" for amd_vcek (lower-case hex: 128 digits of CHIP_ID, 16 on
     * Turin; 16 digits of REPORTED_TCB as a big-endian number) */
    char key[160];
    char sha256[65];             /* lower-case hex SHA-256 of body */
    struct att_buf body;         /* CRL or certificate DER, PEM text, or the exact signed
                                    document text (non-empty) */
    struct att_buf signature;    /* 64 bytes r || s for Intel documents, else empty */
    struct att_buf issuer_chain; /* PEM text; empty for the root CRL and AMD items */
    int64_t issued;              /* issueDate / thisUpdate / the certificate's notBefore */
    int64_t next_update;         /* nextUpdate / the certificate's notAfter */
    int64_t eval_num;            /* tcbEvaluationDataNumber, 0 for CRLs and AMD items */
    char source[16];             /* "pcs", "kds" or "import" */
    int64_t stored_at;
};

/* Buffers capped at the ATT_STORE_COLLATERAL_* sizes. */
void att_collateral_rec_init(struct att_collateral_rec *r);
/* Accepts NULL. */
void att_collateral_rec_cleanup(struct att_collateral_rec *r);

typedef att_err (*att_store_collateral_cb)(const struct att_collateral_rec *r, void *arg);

/*
 * Keep the newest item per (scope, kind, key): insert `r`, or replace the stored item when
 * r->issued is later, or equal with a different sha256 and a higher eval_num. Storing the item
 * already held (same sha256) changes nothing and is ATT_OK. *replaced (may be NULL) says
 * whether the row changed. One statement decides, so concurrent writers cannot replace a newer
 * item. Errors: ATT_ERR_EXISTS (the stored item is as new or newer, with other content),
 * ATT_ERR_ARG (a record of the wrong shape: a field not NUL-terminated, a scope neither "" nor
 * 64 lower-case hex digits, an empty kind or source, a sha256 that is not 64 lower-case hex
 * digits or not that of body, an empty body, a signature, body or chain over its cap or in
 * error), ATT_ERR_STORE_CONSTRAINT (a kind or source the schema does not know), store errors.
 * Kinds, keys and signatures are not checked here: callers check items first
 * (att_collateral_item_check in src/collateral/items.h).
 */
att_err att_store_collateral_put(struct att_store *s, const struct att_collateral_rec *r,
                                 bool *replaced) ATT_WUR;
/*
 * The item of (kind, key) of the daemon's scope ("") into `out` (initialised by the caller; its
 * previous content is released). ATT_ERR_NOT_FOUND when absent; `out` is written only on
 * success.
 */
att_err att_store_collateral_get(struct att_store *s, const char *kind, const char *key,
                                 struct att_collateral_rec *out) ATT_WUR;
/* The same for the item of (kind, key) in `scope` ("" or 64 lower-case hex digits; else
 * ATT_ERR_ARG). */
att_err att_store_collateral_get_scoped(struct att_store *s, const char *scope, const char *kind,
                                        const char *key, struct att_collateral_rec *out) ATT_WUR;
/* Every item, ordered by scope ("" first), then kind, then key. */
att_err att_store_collateral_list(struct att_store *s, att_store_collateral_cb cb,
                                  void *arg) ATT_WUR;
/*
 * Delete every item of `scope` (64 lower-case hex digits: the daemon's own scope "" cannot be
 * deleted this way, ATT_ERR_ARG). *deleted (may be NULL) counts them; none is ATT_OK.
 */
att_err att_store_collateral_delete_scope(struct att_store *s, const char *scope,
                                          int *deleted) ATT_WUR;

#endif
