/*
 * qeidentity.h - Intel enclave identity documents, version 2 (PCS API v4 "enclaveIdentity":
 * the SGX QE, the QVE and the TDX TD_QE; docs/reference/intel-collateral.md §4.3).
 *
 * Input: the exact text the TCB Signing key signed, untrusted (parsed before the signature is
 * checked, by the caller). What this module does not do: check the signature, read the clock, or
 * compare the identity with a QE report (src/evidence does, with the bytes parsed here, which are
 * in report byte order: compare `(report & mask) == expected` bytewise).
 */
#ifndef ATT_EVIDENCE_INTEL_QEIDENTITY_H
#define ATT_EVIDENCE_INTEL_QEIDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "evidence/intel/tcbinfo.h"
#include "core/err.h"

enum att_qe_identity_id { ATT_QE_ID_QE, ATT_QE_ID_QVE, ATT_QE_ID_TD_QE };

struct att_qe_level {
    uint16_t isvsvn;
    int64_t tcb_date; /* seconds since the epoch */
    enum att_tcb_status status;
    struct att_advisories advisories;
};

struct att_qe_identity {
    enum att_qe_identity_id id;
    unsigned version; /* 2 */
    int64_t issue_date, next_update;
    uint32_t eval_num; /* tcbEvaluationDataNumber */
    uint8_t miscselect[4], miscselect_mask[4], attributes[16], attributes_mask[16], mrsigner[32];
    uint16_t isvprodid;
    struct att_qe_level *levels; /* 1..ATT_TCB_MAX_LEVELS, document order (highest first) */
    size_t n_levels;
};

/* "QE", "QVE", "TD_QE"; "?" for a value out of range. */
const char *att_qe_identity_id_name(enum att_qe_identity_id id);

/*
 * Parse the exact signed text of an enclaveIdentity object. Strict in the way of
 * att_tcb_info_parse: one JSON object, no duplicate names, at most ATT_COLLATERAL_MAX_DOC bytes;
 * id "QE", "QVE" or "TD_QE"; version 2; dates RFC 3339 UTC with issueDate < nextUpdate; hex
 * fields of exact length (either case); isvprodid and each level's isvsvn 0..65535; 1..128
 * levels. Unknown members are ignored. *out (for att_qe_identity_free) is written only on
 * success.
 *
 * Errors: ATT_ERR_COLLATERAL_FORMAT (msg names the field), ATT_ERR_ENCODING (non-hex character),
 * ATT_ERR_TCB_STATUS_UNKNOWN, ATT_ERR_TOO_LARGE, ATT_ERR_ARG, ATT_ERR_NOMEM.
 */
att_err att_qe_identity_parse(const char *text, size_t len, struct att_qe_identity **out, char *msg,
                              size_t msg_len) ATT_WUR;
void att_qe_identity_free(struct att_qe_identity *q); /* accepts NULL */

#endif
