/*
 * amd.h - where the SEV-SNP verifier gets AMD collateral (struct att_snp_source): a per-node
 * cache of loaded items, then the store, then AMD's Key Distribution Service (KDS, or a mirror
 * with its paths), plus bundles imported offline (docs/reference/amd-sev-snp.md §6.7;
 * docs/internals/design.md "collateral").
 *
 * Items: the ASK and ASVK chain and the CRL of each product (Milan, Genoa, Turin) and chain
 * (VCEK, VLEK), and VCEKs by product, CHIP_ID and REPORTED_TCB. Certificates that evidence
 * carries (MAA's VcekCertChain, a certificate table) are checked against the anchors without a
 * fetch, and cached by the SHA-256 of their bytes. Each VCEK fetched or imported is stored so a
 * restart (or another node) does not ask KDS again; VLEKs are never fetched (KDS gives them
 * only to cloud providers: the host supplies them).
 *
 * KDS rate-limits its callers (it answers 429 quickly): a failed or limited fetch is not
 * repeated for the same item before Retry-After (or 30 seconds) has passed, and one thread at a
 * time talks to KDS. All functions are thread-safe.
 */
#ifndef ATT_COLLATERAL_AMD_H
#define ATT_COLLATERAL_AMD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "evidence/snp/amd.h"
#include "evidence/snp/verify.h"
#include "store/store.h"

struct att_amd_collateral_config {
    const char *kds_url;     /* base URL of KDS ("https://kdsintf.amd.com"); "" or NULL: none */
    const char *kds_ca_file; /* PEM trust anchors for its TLS, NULL: the system's */
    long timeout;            /* seconds per request; 0: the default (5) */
    int64_t retry_after_max; /* cap on KDS's Retry-After, seconds */
    bool crl_required;       /* refuse evidence when no current CRL of its chain is held */
};

struct att_amd_collateral;

/* `store` and `trust` are borrowed and must outlive the service. Errors: ATT_ERR_ARG,
 * ATT_ERR_NOMEM. */
att_err att_amd_collateral_new(struct att_store *store, const struct att_amd_trust *trust,
                               const struct att_amd_collateral_config *cfg,
                               struct att_amd_collateral **out) ATT_WUR;
void att_amd_collateral_free(struct att_amd_collateral *c);

/* The service as the SEV-SNP verifier's source (`c` borrowed). */
struct att_snp_source att_amd_collateral_source(struct att_amd_collateral *c);

/*
 * An offline AMD bundle (attestctl collateral import, attestctl verify --collateral): one JSON
 * object {"amd": [{"product": "Milan", "chain": "vcek"|"vlek", "cert_chain": PEM (ASK or ASVK,
 * then the ARK), "crl": hex DER (optional)}...], "vceks": [hex DER...] (optional)}. Every item
 * is loaded (verified against the anchors) before anything is held or stored: a bundle with one
 * bad item changes nothing. Newer items replace older ones, never the reverse. Unless
 * allow_expired, a bundle with an item past its notAfter or nextUpdate at `now` is refused
 * (ATT_ERR_COLLATERAL_EXPIRED). *imported (may be NULL) counts the rows that changed. Errors:
 * ATT_ERR_COLLATERAL_FORMAT (msg names the member), ATT_ERR_TOO_LARGE, the loaders' (amd.h).
 */
att_err att_amd_collateral_import(struct att_amd_collateral *c, const char *json, size_t len,
                                  int64_t now, bool allow_expired, int *imported, char *msg,
                                  size_t msg_len) ATT_WUR;

/* Renew every held CRL within a quarter of its validity (at most a day) of its nextUpdate,
 * from the store or KDS, each at most once every 10 minutes (the collateral refresher calls
 * this). */
void att_amd_collateral_refresh(struct att_amd_collateral *c, int64_t now);
/* End KDS transfers in flight (within about a second) and start no more: the daemon is
 * stopping. */
void att_amd_collateral_signal_stop(struct att_amd_collateral *c);
/* The same with the signature of att_collateral_refresher_also. */
void att_amd_collateral_refresh_cb(void *c, int64_t now);

/*
 * A source for the offline verifier: the items of a bundle (att_amd_collateral_import's
 * format) held in memory, no store, no KDS. Errors as for the import.
 */
att_err att_amd_collateral_offline(const struct att_amd_trust *trust, const char *json, size_t len,
                                   bool crl_required, struct att_amd_collateral **out, char *msg,
                                   size_t msg_len) ATT_WUR;

#endif
