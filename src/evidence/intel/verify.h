/*
 * verify.h - verify an SGX ECDSA quote against loaded DCAP collateral
 * (docs/reference/dcap-verification.md §5).
 *
 * A pure function: quote, collateral items, trust anchors and a time in; a verdict or a
 * precise error out. No I/O and no clock: the server passes the wall clock, the offline
 * verifier and tests pass the time they want (docs/internals/design.md).
 */
#ifndef ATT_EVIDENCE_INTEL_VERIFY_H
#define ATT_EVIDENCE_INTEL_VERIFY_H

#include <stdint.h>

#include "evidence/intel/tcbinfo.h"
#include "core/err.h"
#include "evidence/intel/dcap.h"
#include "evidence/intel/quote.h"

#define ATT_INTEL_MAX_ADVISORIES 64
#define ATT_INTEL_ADVISORY_LEN 40

/* What verifying one quote needs, each item holding a reference. */
struct att_intel_inputs {
    struct att_dcap_item *pck;
    struct att_dcap_item *root_crl;
    struct att_dcap_item *pck_crl;
    struct att_dcap_item *tcb_info;
    struct att_dcap_item *qe_identity;
};

/* Drop the references and zero *in; accepts an all-zero struct. */
void att_intel_inputs_release(struct att_intel_inputs *in);

/*
 * Where a verifier gets collateral: the verifiers do no I/O and read no clock, so the server
 * hands them its collateral service (src/collateral/service.h) and the offline verifier a fixed
 * set of items from a bundle. `get` loads the quote's PCK chain `pem` and the items of `tee`
 * for its FMSPC and CA, current at `now`; each out item holds a reference.
 */
struct att_intel_source {
    att_err (*get)(void *ctx, enum att_intel_tee tee, const uint8_t *pem, size_t len, int64_t now,
                   struct att_intel_inputs *out, char *msg, size_t msg_len);
    void *ctx;
};

/* What the quote verification needs; all borrowed. */
struct att_intel_collateral {
    const struct att_dcap_item *root_crl;
    const struct att_dcap_item *pck_crl;
    const struct att_dcap_item *tcb_info;
    const struct att_dcap_item *qe_identity;
};

/* The verification view of `in` (borrowed pointers). */
struct att_intel_collateral att_intel_inputs_view(const struct att_intel_inputs *in);

struct att_intel_verdict {
    enum att_tcb_status status;          /* the combined status (§5.3, §5.4, §5.6) */
    enum att_tcb_status platform_status; /* of the matched TCB info level (TDX: the TDX level) */
    enum att_tcb_status qe_status;       /* of the matched QE identity level */
    bool has_module_status;              /* TDX with a module identity (TEE_TCB_SVN[1] > 0) */
    enum att_tcb_status module_status;   /* of the matched TDX module identity level */
    char module_id[16];                  /* "TDX_01"; "" without a module identity */
    int64_t tcb_date;                    /* of the matched platform level */
    uint32_t tcb_eval_num;               /* tcbEvaluationDataNumber of the TCB info */
    uint8_t fmspc[6];
    uint8_t pceid[2];
    /* the platform level's, then the module level's and the QE level's when not UpToDate */
    size_t n_advisories;
    char advisories[ATT_INTEL_MAX_ADVISORIES][ATT_INTEL_ADVISORY_LEN];
};

/*
 * Verify `q` (parsed by att_intel_quote_parse) whose PCK chain was loaded as `pck` (from
 * q->sig.pck_pem), with collateral `c`, at time `now`. `grace` seconds extend every
 * collateral nextUpdate (never a certificate's notAfter); 0 for none. Steps and their errors,
 * in QVL's order:
 *   collateral in date       ATT_ERR_COLLATERAL_NOT_YET_VALID, ATT_ERR_COLLATERAL_EXPIRED,
 *                            ATT_ERR_CERT_EXPIRED / _NOT_YET_VALID (issuer certificates)
 *   signers not revoked      ATT_ERR_TCB_SIGNING_CHAIN (Root CA CRL lists the TCB signer)
 *   PCK chain in date        ATT_ERR_CERT_EXPIRED, ATT_ERR_CERT_NOT_YET_VALID
 *   revocation               ATT_ERR_PCK_CRL_INVALID (CRL of another CA), ATT_ERR_PCK_REVOKED,
 *                            ATT_ERR_PCK_CA_REVOKED
 *   TCB info fits            ATT_ERR_TCB_INFO_MISMATCH (id is not the quote's TEE),
 *                            ATT_ERR_FMSPC_MISMATCH, ATT_ERR_PCEID_MISMATCH
 *   TDX module (TDX only)    ATT_ERR_TDX_MODULE_UNKNOWN, ATT_ERR_TDX_SEAM_ATTRIBUTES,
 *                            ATT_ERR_TDX_MODULE_MISMATCH
 *   QE report                ATT_ERR_QE_REPORT_SIGNATURE, ATT_ERR_QE_REPORT_DATA
 *   QE identity              ATT_ERR_QE_IDENTITY_MISMATCH, ATT_ERR_QE_TCB_NOT_SUPPORTED,
 *                            ATT_ERR_QE_TCB_REVOKED
 *   quote signature          ATT_ERR_QUOTE_SIGNATURE
 *   TCB level                ATT_ERR_TCB_NOT_SUPPORTED, ATT_ERR_TDX_TCB_NOT_SUPPORTED,
 *                            ATT_ERR_TDX_MODULE_TCB_NOT_SUPPORTED, ATT_ERR_TCB_REVOKED,
 *                            ATT_ERR_TDX_MODULE_TCB_REVOKED
 * `msg` names the item and values involved. On success *out holds the verdict.
 */
att_err att_intel_quote_verify(const struct att_intel_quote *q, const struct att_dcap_item *pck,
                               const struct att_intel_collateral *c, int64_t now, int64_t grace,
                               struct att_intel_verdict *out, char *msg, size_t msg_len) ATT_WUR;

#endif
