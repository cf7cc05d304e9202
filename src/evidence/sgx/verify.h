/*
 * verify.h - verify an SGX ECDSA quote against loaded DCAP collateral (FORMATS.md §5).
 *
 * A pure function: quote, collateral items, trust anchors and a time in; a verdict or a
 * precise error out. No I/O and no clock: the server passes the wall clock, the offline
 * verifier and tests pass the time they want (DESIGN.md).
 */
#ifndef ATT_EVIDENCE_SGX_VERIFY_H
#define ATT_EVIDENCE_SGX_VERIFY_H

#include <stdint.h>

#include "collateral/tcbinfo.h"
#include "core/err.h"
#include "evidence/sgx/dcap.h"
#include "evidence/sgx/quote.h"

#define ATT_SGX_MAX_ADVISORIES 64
#define ATT_SGX_ADVISORY_LEN 40

/* What the quote verification needs; all borrowed. */
struct att_sgx_collateral {
    const struct att_dcap_item *root_crl;
    const struct att_dcap_item *pck_crl;
    const struct att_dcap_item *tcb_info;
    const struct att_dcap_item *qe_identity;
};

struct att_sgx_verdict {
    enum att_tcb_status status;          /* the combined status (§5.4) */
    enum att_tcb_status platform_status; /* of the matched TCB info level */
    enum att_tcb_status qe_status;       /* of the matched QE identity level */
    int64_t tcb_date;                    /* of the matched platform level */
    uint32_t tcb_eval_num;               /* tcbEvaluationDataNumber of the TCB info */
    uint8_t fmspc[6];
    uint8_t pceid[2];
    size_t n_advisories; /* platform level's, then the QE level's when not UpToDate */
    char advisories[ATT_SGX_MAX_ADVISORIES][ATT_SGX_ADVISORY_LEN];
};

/*
 * Verify `q` (parsed by att_sgx_quote_parse) whose PCK chain was loaded as `pck` (from
 * q->sig.pck_pem), with collateral `c`, at time `now`. `grace` seconds extend every
 * collateral nextUpdate (never a certificate's notAfter); 0 for none. Steps and their errors,
 * in QVL's order:
 *   collateral in date       ATT_ERR_COLLATERAL_NOT_YET_VALID, ATT_ERR_COLLATERAL_EXPIRED,
 *                            ATT_ERR_CERT_EXPIRED / _NOT_YET_VALID (issuer certificates)
 *   signers not revoked      ATT_ERR_TCB_SIGNING_CHAIN (Root CA CRL lists the TCB signer)
 *   PCK chain in date        ATT_ERR_CERT_EXPIRED, ATT_ERR_CERT_NOT_YET_VALID
 *   revocation               ATT_ERR_PCK_CRL_INVALID (CRL of another CA), ATT_ERR_PCK_REVOKED,
 *                            ATT_ERR_PCK_CA_REVOKED
 *   TCB info fits            ATT_ERR_TCB_INFO_MISMATCH, ATT_ERR_FMSPC_MISMATCH,
 *                            ATT_ERR_PCEID_MISMATCH
 *   QE report                ATT_ERR_QE_REPORT_SIGNATURE, ATT_ERR_QE_REPORT_DATA
 *   QE identity              ATT_ERR_QE_IDENTITY_MISMATCH, ATT_ERR_QE_TCB_NOT_SUPPORTED,
 *                            ATT_ERR_QE_TCB_REVOKED
 *   quote signature          ATT_ERR_QUOTE_SIGNATURE
 *   TCB level                ATT_ERR_TCB_NOT_SUPPORTED, ATT_ERR_TCB_REVOKED
 * `msg` names the item and values involved. On success *out holds the verdict.
 */
att_err att_sgx_quote_verify(const struct att_sgx_quote *q, const struct att_dcap_item *pck,
                             const struct att_sgx_collateral *c, int64_t now, int64_t grace,
                             struct att_sgx_verdict *out, char *msg, size_t msg_len) ATT_WUR;

#endif
