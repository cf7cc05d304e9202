/*
 * scopes.h - one Intel collateral service per provider-scoped set of DCAP trust anchors
 * (docs/internals/demo.md).
 *
 * A provider may trust roots of its own instead of the daemon's dcap_trust_anchors (a demo
 * provider trusts a root made on the operator's machine). Its quotes are judged only with
 * collateral that chains to those roots, read from and written to the store under their scope
 * (att_dcap_trust_id), through a service of their own: its cache, PCK chains included, is never
 * shared with the daemon's service, so an item loaded for one set of anchors cannot serve a
 * quote judged under another. Scoped services are offline: no upstream (a PCS serves only
 * Intel's root), no background refresher; their collateral comes from bundles imported into
 * their scope (`attestctl demo` does that).
 *
 * Services are made on first use and kept until att_collateral_scopes_free (a provider set is
 * replaced on reload; a scope outlives it), at most ATT_COLLATERAL_SCOPES_MAX. Thread-safe.
 */
#ifndef ATT_COLLATERAL_SCOPES_H
#define ATT_COLLATERAL_SCOPES_H

#include <stddef.h>

#include "collateral/service.h"
#include "core/err.h"
#include "evidence/intel/dcap.h"
#include "store/store.h"

#define ATT_COLLATERAL_SCOPES_MAX 64

struct att_collateral_scopes;

/* `store` is borrowed and must outlive the registry. Errors: ATT_ERR_ARG, ATT_ERR_NOMEM. */
att_err att_collateral_scopes_new(struct att_store *store,
                                  struct att_collateral_scopes **out) ATT_WUR;
/* Frees every service it made. Accepts NULL. */
void att_collateral_scopes_free(struct att_collateral_scopes *s);

/*
 * The service of the trust anchors in `pem` (PEM text of `len` bytes, a provider's
 * dcap_trust_anchors), made on first use with its own copy of the anchors; *out is borrowed
 * from the registry and lives until att_collateral_scopes_free. Errors: the anchors' parse
 * errors (att_dcap_trust_from_pem; `msg` says which), ATT_ERR_TOO_LARGE (more than
 * ATT_COLLATERAL_SCOPES_MAX scopes), ATT_ERR_NOMEM.
 */
att_err att_collateral_scopes_get(struct att_collateral_scopes *s, const char *pem, size_t len,
                                  struct att_collateral **out, char *msg, size_t msg_len) ATT_WUR;
/* att_collateral_store_changed on every service made so far. */
void att_collateral_scopes_store_changed(struct att_collateral_scopes *s, int64_t now);

#endif
