/*
 * items.h - which collateral items attestd keeps: the kinds of Intel and AMD collateral, the
 * key each kind is filed under, which are signed documents, and where they may come from.
 *
 * The store keeps items by (scope, kind, key) and checks only their shape
 * (store/collateral.h); this is the format knowledge it leaves out. Every writer of collateral
 * checks its items here before it stores them: att_collateral_item_put does both.
 *
 * Input trust: records our own code built from fetched or imported collateral, whose content
 * (attacker-reachable bytes) has been parsed and verified already; the kind, key and source
 * are ours, the key's digits come from that content.
 */
#ifndef ATT_COLLATERAL_ITEMS_H
#define ATT_COLLATERAL_ITEMS_H

#include <stdbool.h>

#include "core/err.h"
#include "store/store.h"

/*
 * Whether `r` is an item attestd keeps (store/collateral.h describes each field):
 *   - Intel kinds: root_crl (key ""), pck_crl ("processor" or "platform"), tcb_info
 *     ("sgx:" or "tdx:" and an FMSPC of 12 upper-case hex digits), qe_identity ("sgx" or
 *     "tdx"); tcb_info and qe_identity are signed documents with a 64-byte signature (r || s),
 *     the CRLs carry none;
 *   - AMD kinds: amd_chain and amd_crl ("vcek:" or "vlek:" and Milan, Genoa or Turin),
 *     amd_vcek ("<Product>:<hwid>:<tcb>": 128 lower-case hex digits of CHIP_ID, 16 on Turin,
 *     then 16 of REPORTED_TCB); unsigned, and only in the daemon's scope ("");
 *   - source "pcs", "kds" or "import".
 * Shapes (caps, the body's hash) are the store's to check.
 */
bool att_collateral_item_ok(const struct att_collateral_rec *r);

/*
 * Store `r` after att_collateral_item_ok: ATT_ERR_ARG, and nothing stored, when it fails;
 * otherwise what att_store_collateral_put answers (the newest item per scope, kind and key
 * wins; *replaced may be NULL).
 */
att_err att_collateral_item_put(struct att_store *s, const struct att_collateral_rec *r,
                                bool *replaced) ATT_WUR;

#endif
