/*
 * verify.h - verify a parsed SEV-SNP report against its VCEK or VLEK, the chain to the
 * product's ARK and the ARK's CRL, at a given time (docs/reference/amd-sev-snp.md §6.8). Pure:
 * no I/O, no clock. The order: the signing key's kind and product, the certificates' validity,
 * revocation, the report signature, the leaf's TCB and hwID against the report, REPORTED_TCB
 * against CURRENT_TCB.
 */
#ifndef ATT_EVIDENCE_SNP_VERIFY_H
#define ATT_EVIDENCE_SNP_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "evidence/snp/amd.h"
#include "evidence/snp/report.h"

/*
 * Where the verifier gets AMD collateral (src/collateral's service, or an offline bundle):
 * the leaf that signed `report` - from `carried` (the certificates the evidence brings: a PEM
 * chain or a certificate table; may be empty) or else fetched by the report's CHIP_ID and
 * REPORTED_TCB - and the CRL of its chain.
 */
struct att_snp_inputs {
    struct att_amd_item *leaf; /* VCEK or VLEK, holding its signing key */
    struct att_amd_item *crl;  /* of the leaf's chain; NULL when none is held */
    bool crl_required;         /* the deployment refuses evidence without a current CRL */
};

struct att_snp_carried {
    struct att_bytes pem;   /* VcekCertChain: leaf, ASK or ASVK, optionally the ARK */
    struct att_bytes table; /* a certificate table (certtable.h) */
};

struct att_snp_source {
    att_err (*get)(void *ctx, const struct att_snp_report *report,
                   const struct att_snp_carried *carried, int64_t now, struct att_snp_inputs *out,
                   char *msg, size_t msg_len);
    /* Told when a report verified with `in` (may be NULL): the source may now keep what it
     * fetched for it, which an unverified request must not make it do. */
    void (*verified)(void *ctx, const struct att_snp_inputs *in);
    void *ctx;
};

/* Drop the references in `in` (accepts a zeroed struct). */
void att_snp_inputs_release(struct att_snp_inputs *in);

struct att_snp_verdict {
    enum att_snp_product product; /* the chain's (equal to the report's when it names one) */
    bool vlek;
    bool crl_checked;
    struct att_snp_tcb reported, current, committed, launch;
};

/*
 * Verify `r` with `in` at `now`; a CRL may be used `grace` seconds past its nextUpdate.
 * Errors (docs/reference/amd-sev-snp.md §6.8): ATT_ERR_SNP_KEY_KIND, ATT_ERR_SNP_PRODUCT_MISMATCH,
 * ATT_ERR_CERT_NOT_YET_VALID, ATT_ERR_CERT_EXPIRED, ATT_ERR_COLLATERAL_MISSING (no CRL, one
 * required), ATT_ERR_SNP_CRL_INVALID (the CRL of another product or chain),
 * ATT_ERR_COLLATERAL_NOT_YET_VALID, ATT_ERR_COLLATERAL_EXPIRED, ATT_ERR_SNP_KEY_REVOKED,
 * ATT_ERR_SNP_REPORT_SIGNATURE, ATT_ERR_SNP_CERT_EXTENSION (a TCB or hwID extension missing),
 * ATT_ERR_SNP_TCB_MISMATCH, ATT_ERR_SNP_HWID_MISMATCH, ATT_ERR_SNP_TCB_ABOVE_CURRENT.
 */
att_err att_snp_verify(const struct att_snp_report *r, const struct att_snp_inputs *in, int64_t now,
                       int64_t grace, struct att_snp_verdict *v, char *msg, size_t msg_len) ATT_WUR;

/*
 * The certificates the evidence carries (as X509 references the caller frees; NULL when
 * absent; a signing key only with a leaf): from a certificate table, the VCEK or VLEK (as
 * `vlek` says) and the ASK/ASVK; from a PEM chain, the leaf (the one certificate that issued none
 * of the others) and its issuer. Errors: ATT_ERR_SNP_CERT_TABLE, ATT_ERR_CERT_PARSE,
 * ATT_ERR_TOO_LARGE, ATT_ERR_CERT_CHAIN (PEM certificates that do not form one chain).
 */
att_err att_snp_carried_certs(const struct att_snp_carried *carried, bool vlek, X509 **leaf,
                              X509 **signing_key, char *msg, size_t msg_len) ATT_WUR;

#endif
