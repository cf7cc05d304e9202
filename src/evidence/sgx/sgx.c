/*
 * sgx.c - the SgxEnclave and OpenEnclave evidence types (docs/reference/maa-api.md §1.3,
 * docs/reference/maa-tokens.md §2.4, §2.9, docs/reference/maa-policy.md §3.6): an SGX ECDSA quote
 * v3 (Open Enclave: behind a 16-byte report header) verified against Intel collateral
 * (src/evidence/intel), bound to runtime data by REPORTDATA and to init-time data by CONFIGID, and
 * MAA's x-ms-sgx-* claims with their legacy names.
 */
#include "evidence/sgx/sgx.h"

#include <string.h>

#include "evidence/common.h"
#include "evidence/intel/inspect.h"
#include "evidence/intel/steps.h"

#define SGX_FLAGS_KSS ((uint64_t)1 << 7) /* key separation and sharing: CONFIGID etc. are set */

/* The deprecated "$" names SGX policies still see (docs/reference/maa-policy.md §3.6). */
static const char *const sgx_aliases[] = {
    "$is-debuggable",
    "x-ms-sgx-is-debuggable",
    "$product-id",
    "x-ms-sgx-product-id",
    "$sgx-mrsigner",
    "x-ms-sgx-mrsigner",
    "$sgx-mrenclave",
    "x-ms-sgx-mrenclave",
    "$svn",
    "x-ms-sgx-svn",
    "$tee",
    "x-ms-attestation-type",
    "$maa-ehd",
    "x-ms-sgx-ehd",
    "$aas-ehd",
    "x-ms-sgx-ehd",
    "$maa-attestationcollateral",
    "x-ms-sgx-collateral",
    NULL,
};

static att_err sgx_parse(void *state, const struct att_evidence_request *req, char *msg,
                         size_t msg_len)
{
    return att_intel_parse(state, ATT_INTEL_TEE_SGX, req->evidence, msg, msg_len);
}

static att_err oe_parse(void *state, const struct att_evidence_request *req, char *msg,
                        size_t msg_len)
{
    struct att_bytes evidence = req->evidence;
    struct att_bytes quote;
    ATT_TRY(att_oe_report_unwrap(evidence.ptr, evidence.len, &quote, msg, msg_len));
    return att_intel_parse(state, ATT_INTEL_TEE_SGX, quote, msg, msg_len);
}

static att_err sgx_collateral(void *state, const struct att_evidence_env *env, char *msg,
                              size_t msg_len)
{
    return att_intel_collateral(state, ATT_INTEL_TEE_SGX, env, msg, msg_len);
}

/* docs/reference/maa-tokens.md §2.9: runtime data to REPORTDATA, init-time data to CONFIGID. */
static att_err sgx_bind(void *state, const struct att_evidence_request *req, char *msg,
                        size_t msg_len)
{
    const struct att_sgx_report_body *b = &((struct att_intel_state *)state)->q.body;
    ATT_TRY(att_evidence_binding(&req->runtime, b->reportdata, ATT_ERR_RUNTIME_DATA_BINDING,
                                 "report data", msg, msg_len));
    return att_evidence_binding(&req->init_time, b->configid, ATT_ERR_INIT_DATA_BINDING, "CONFIGID",
                                msg, msg_len);
}

/* The names sgx_claims may set (evidence.h: claim_names). */
static const char *const sgx_claim_names[] = {
    "x-ms-attestation-type",
    "x-ms-ver",
    "x-ms-sgx-is-debuggable",
    "x-ms-sgx-mrenclave",
    "x-ms-sgx-mrsigner",
    "x-ms-sgx-product-id",
    "x-ms-sgx-svn",
    "x-ms-sgx-report-data",
    "x-ms-sgx-config-id",
    "x-ms-sgx-config-svn",
    "x-ms-sgx-isv-extended-product-id",
    "x-ms-sgx-isv-family-id",
    "x-ms-sgx-tcb-status",
    "x-ms-sgx-advisory-ids",
    "x-ms-sgx-tcb-evaluation-data-number",
    "x-ms-sgx-fmspc",
    "x-ms-sgx-collateral",
    "maa-attestationcollateral",
    "x-ms-sgx-ehd",
    "maa-ehd",
    "aas-ehd",
    "nonce",
    NULL,
};

/* The token claims MAA derives from the evidence (docs/reference/maa-tokens.md §2.3, §2.4, §7.2).
 */
static att_err sgx_claims(void *state, const struct att_evidence_request *req, json_t *t)
{
    static const struct att_intel_verdict_names names = {
        "x-ms-sgx-tcb-status", "x-ms-sgx-advisory-ids", "x-ms-sgx-tcb-evaluation-data-number",
        "x-ms-sgx-fmspc"};
    const struct att_intel_state *s = state;
    const struct att_sgx_report_body *b = &s->q.body;
    json_t *coll = NULL;
    ATT_TRY(att_claim_set(t, "x-ms-attestation-type", json_string("sgx")));
    ATT_TRY(att_claim_set(t, "x-ms-ver", json_string("1.0")));
    ATT_TRY(att_claim_set(t, "x-ms-sgx-is-debuggable",
                          json_boolean((b->flags & ATT_SGX_FLAGS_DEBUG) != 0)));
    ATT_TRY(att_claim_set_hex(t, "x-ms-sgx-mrenclave", b->mrenclave, sizeof(b->mrenclave)));
    ATT_TRY(att_claim_set_hex(t, "x-ms-sgx-mrsigner", b->mrsigner, sizeof(b->mrsigner)));
    ATT_TRY(att_claim_set(t, "x-ms-sgx-product-id", json_integer(b->isvprodid)));
    ATT_TRY(att_claim_set(t, "x-ms-sgx-svn", json_integer(b->isvsvn)));
    ATT_TRY(att_claim_set_hex(t, "x-ms-sgx-report-data", b->reportdata, sizeof(b->reportdata)));
    if (b->flags & SGX_FLAGS_KSS) {
        ATT_TRY(att_claim_set_hex(t, "x-ms-sgx-config-id", b->configid, sizeof(b->configid)));
        ATT_TRY(att_claim_set(t, "x-ms-sgx-config-svn", json_integer(b->configsvn)));
        ATT_TRY(att_claim_set_hex(t, "x-ms-sgx-isv-extended-product-id", b->isvextprodid, 16));
        ATT_TRY(att_claim_set_hex(t, "x-ms-sgx-isv-family-id", b->isvfamilyid, 16));
    }
    ATT_TRY(att_intel_verdict_claims(&s->verdict, &names, t));
    ATT_TRY(att_intel_collateral_claim(s, &coll));
    ATT_TRY(att_claim_set(t, "x-ms-sgx-collateral", coll));
    ATT_TRY(att_claim_set(t, "maa-attestationcollateral", json_incref(coll))); /* the same */
    if (req->runtime.present && !req->runtime.json) {
        /* Binary runtime data is echoed as x-ms-sgx-ehd and its two legacy names. */
        ATT_TRY(att_claim_set_b64url(t, "x-ms-sgx-ehd", req->runtime.bytes));
        ATT_TRY(att_claim_set(t, "maa-ehd", json_incref(json_object_get(t, "x-ms-sgx-ehd"))));
        ATT_TRY(att_claim_set(t, "aas-ehd", json_incref(json_object_get(t, "x-ms-sgx-ehd"))));
    }
    if (req->nonce != NULL) {
        ATT_TRY(att_claim_set(t, "nonce", json_string(req->nonce)));
    }
    return ATT_OK;
}

static att_err sgx_inspect(struct att_bytes evidence, json_t **out, char *msg, size_t msg_len)
{
    return att_intel_inspect(evidence, ATT_INTEL_TEE_SGX, out, msg, msg_len);
}

static att_err oe_inspect(struct att_bytes evidence, json_t **out, char *msg, size_t msg_len)
{
    struct att_bytes quote;
    ATT_TRY(att_oe_report_unwrap(evidence.ptr, evidence.len, &quote, msg, msg_len));
    return sgx_inspect(quote, out, msg, msg_len);
}

const struct att_evidence_type att_evidence_sgx = {
    .name = "SgxEnclave",
    .cli_name = "sgx",
    .policy = ATT_POLICY_SGX_ENCLAVE,
    .member = "quote",
    .legacy_body = true,
    .verified = "quote",
    .aliases = sgx_aliases,
    .tcb_status_claim = "x-ms-sgx-tcb-status",
    .claim_names = sgx_claim_names,
    .tcb_identifier = true,
    .state_size = sizeof(struct att_intel_state),
    .parse = sgx_parse,
    .collateral = sgx_collateral,
    .verify = att_intel_verify,
    .bind = sgx_bind,
    .claims = sgx_claims,
    .release = att_intel_release,
    .inspect = sgx_inspect,
};

const struct att_evidence_type att_evidence_open_enclave = {
    .name = "OpenEnclave",
    .cli_name = "oe",
    .policy = ATT_POLICY_OPEN_ENCLAVE,
    .member = "report",
    .legacy_body = false,
    .verified = "quote",
    .aliases = sgx_aliases,
    .tcb_status_claim = "x-ms-sgx-tcb-status",
    .claim_names = sgx_claim_names,
    .tcb_identifier = true,
    .state_size = sizeof(struct att_intel_state),
    .parse = oe_parse,
    .collateral = sgx_collateral,
    .verify = att_intel_verify,
    .bind = sgx_bind,
    .claims = sgx_claims,
    .release = att_intel_release,
    .inspect = oe_inspect,
};
