/*
 * tdx.c - the TdxVm evidence type (docs/reference/maa-api.md §1.3, docs/reference/maa-tokens.md
 * §2.6, §2.9): an Intel TDX quote, version 4 (TD report 1.0) or 5 (TD report 1.0 or 1.5), verified
 * against Intel's TDX collateral (TDX TCB info with its module identities, the TD_QE identity;
 * src/evidence/intel), and the claims of MAA's TDX EAT profile.
 *
 * Bindings: runtime data to REPORTDATA[0..32], as MAA documents; init-time data to the whole
 * of MRCONFIGID, which MAA leaves unspecified: MRCONFIGID is the TD's counterpart of SGX's
 * CONFIGID (set by the host at launch, measured by the TDX module); attestd requires it to be
 * SHA-256(init-time data) followed by 16 zero bytes, so no byte of it is left to the host
 * (docs/attestation.md, "TdxVm").
 */
#include "evidence/tdx/tdx.h"

#include <string.h>

#include "evidence/common.h"
#include "evidence/intel/inspect.h"
#include "evidence/intel/steps.h"

/* MAA's EAT profile for TDX (the value of eat_profile in MAA's TDX tokens). */
#define TDX_EAT_PROFILE "https://aka.ms/maa-eat-profile-tdxvm"

static att_err tdx_parse(void *state, const struct att_evidence_request *req, char *msg,
                         size_t msg_len)
{
    struct att_bytes evidence = req->evidence;
    return att_intel_parse(state, ATT_INTEL_TEE_TDX, evidence, msg, msg_len);
}

static att_err tdx_collateral(void *state, const struct att_evidence_env *env, char *msg,
                              size_t msg_len)
{
    return att_intel_collateral(state, ATT_INTEL_TEE_TDX, env, msg, msg_len);
}

static att_err tdx_bind(void *state, const struct att_evidence_request *req, char *msg,
                        size_t msg_len)
{
    const struct att_td_report *td = &((struct att_intel_state *)state)->q.td;
    static const uint8_t zero[16];
    ATT_TRY(att_evidence_binding(&req->runtime, td->reportdata, ATT_ERR_RUNTIME_DATA_BINDING,
                                 "REPORTDATA", msg, msg_len));
    ATT_TRY(att_evidence_binding(&req->init_time, td->mrconfigid, ATT_ERR_INIT_DATA_BINDING,
                                 "MRCONFIGID", msg, msg_len));
    if (req->init_time.present && memcmp(td->mrconfigid + 32, zero, sizeof(zero)) != 0) {
        return att_failf(ATT_ERR_INIT_DATA_BINDING, msg, msg_len,
                         "MRCONFIGID binds the init-time data only with its last 16 bytes zero");
    }
    return ATT_OK;
}

static att_err hex_claims(const struct att_td_report *td, json_t *t)
{
    const struct {
        const char *name;
        const uint8_t *p;
        size_t n;
    } fields[] = {
        {"tdx_mrsignerseam", td->mrsignerseam, 48},
        {"tdx_mrseam", td->mrseam, 48},
        {"tdx_mrtd", td->mrtd, 48},
        {"tdx_rtmr0", td->rtmr[0], 48},
        {"tdx_rtmr1", td->rtmr[1], 48},
        {"tdx_rtmr2", td->rtmr[2], 48},
        {"tdx_rtmr3", td->rtmr[3], 48},
        {"tdx_mrconfigid", td->mrconfigid, 48},
        {"tdx_mrowner", td->mrowner, 48},
        {"tdx_mrownerconfig", td->mrownerconfig, 48},
        {"tdx_report_data", td->reportdata, 64},
        {"tdx_seam_attributes", td->seam_attributes, 8},
        {"tdx_tee_tcb_svn", td->tee_tcb_svn, 16},
        {"tdx_xfam", td->xfam, 8},
        {"tdx_td_attributes", td->td_attributes, 8},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        ATT_TRY(att_claim_set_hex(t, fields[i].name, fields[i].p, fields[i].n));
    }
    return ATT_OK;
}

/* The TDATTRIBUTES booleans of MAA's profile (docs/reference/intel-quotes.md §2.3). */
static att_err attribute_claims(const struct att_td_report *td, json_t *t)
{
    const struct {
        const char *name;
        uint64_t bit;
    } bits[] = {
        {"tdx_td_attributes_debug", ATT_TD_ATTR_DEBUG},
        {"tdx_td_attributes_key_locker", ATT_TD_ATTR_KL},
        {"tdx_td_attributes_perfmon", ATT_TD_ATTR_PERFMON},
        {"tdx_td_attributes_protection_keys", ATT_TD_ATTR_PKS},
        {"tdx_td_attributes_septve_disable", ATT_TD_ATTR_SEPT_VE_DISABLE},
    };
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        ATT_TRY(att_claim_set(t, bits[i].name,
                              json_boolean((td->td_attributes_bits & bits[i].bit) != 0)));
    }
    return ATT_OK;
}

/* The names tdx_claims may set (evidence.h: claim_names), those of hex_claims and
 * attribute_claims among them. */
static const char *const tdx_claim_names[] = {
    "x-ms-attestation-type",
    "x-ms-ver",
    "eat_profile",
    "dbgstat",
    "intuse",
    "tdx_mrsignerseam",
    "tdx_mrseam",
    "tdx_mrtd",
    "tdx_rtmr0",
    "tdx_rtmr1",
    "tdx_rtmr2",
    "tdx_rtmr3",
    "tdx_mrconfigid",
    "tdx_mrowner",
    "tdx_mrownerconfig",
    "tdx_report_data",
    "tdx_seam_attributes",
    "tdx_tee_tcb_svn",
    "tdx_xfam",
    "tdx_td_attributes",
    "tdx_seamsvn",
    "tdx_td_attributes_debug",
    "tdx_td_attributes_key_locker",
    "tdx_td_attributes_perfmon",
    "tdx_td_attributes_protection_keys",
    "tdx_td_attributes_septve_disable",
    "tdx_tee_tcb_svn2",
    "tdx_mrservicetd",
    "attester_tcb_status",
    "attester_advisory_ids",
    "x-ms-tdx-tcb-evaluation-data-number",
    "x-ms-tdx-fmspc",
    "nonce",
    NULL,
};

static att_err tdx_claims(void *state, const struct att_evidence_request *req, json_t *t)
{
    static const struct att_intel_verdict_names names = {
        "attester_tcb_status", "attester_advisory_ids", "x-ms-tdx-tcb-evaluation-data-number",
        "x-ms-tdx-fmspc"};
    const struct att_intel_state *s = state;
    const struct att_td_report *td = &s->q.td;
    bool debug = (td->td_attributes_bits & ATT_TD_ATTR_DEBUG) != 0;
    ATT_TRY(att_claim_set(t, "x-ms-attestation-type", json_string("tdxvm")));
    ATT_TRY(att_claim_set(t, "x-ms-ver", json_string("1.0")));
    ATT_TRY(att_claim_set(t, "eat_profile", json_string(TDX_EAT_PROFILE)));
    /* EAT debug status (RFC 9711 §4.2.9): a debuggable TD can be inspected by its host. */
    ATT_TRY(att_claim_set(t, "dbgstat", json_string(debug ? "enabled" : "disabled-since-boot")));
    ATT_TRY(att_claim_set(t, "intuse", json_string("generic")));
    ATT_TRY(hex_claims(td, t));
    /* SEAM SVN: TEE_TCB_SVN[0] (module SVN) and [1] (major version) as a little-endian u16. */
    ATT_TRY(att_claim_set(
        t, "tdx_seamsvn",
        json_integer((json_int_t)td->tee_tcb_svn[0] | (json_int_t)td->tee_tcb_svn[1] << 8)));
    ATT_TRY(attribute_claims(td, t));
    if (s->q.body_type == ATT_QUOTE_BODY_TD15) {
        ATT_TRY(att_claim_set_hex(t, "tdx_tee_tcb_svn2", td->tee_tcb_svn2, 16));
        ATT_TRY(att_claim_set_hex(t, "tdx_mrservicetd", td->mrservicetd, 48));
    }
    ATT_TRY(att_intel_verdict_claims(&s->verdict, &names, t));
    if (req->nonce != NULL) {
        ATT_TRY(att_claim_set(t, "nonce", json_string(req->nonce)));
    }
    return ATT_OK;
}

static att_err tdx_inspect(struct att_bytes evidence, json_t **out, char *msg, size_t msg_len)
{
    return att_intel_inspect(evidence, ATT_INTEL_TEE_TDX, out, msg, msg_len);
}

const struct att_evidence_type att_evidence_tdx = {
    .name = "TdxVm",
    .cli_name = "tdx",
    .policy = ATT_POLICY_TDX_VM,
    .member = "quote",
    .legacy_body = false,
    .verified = "quote",
    .aliases = NULL,
    .tcb_status_claim = "attester_tcb_status",
    .claim_names = tdx_claim_names,
    .state_size = sizeof(struct att_intel_state),
    .parse = tdx_parse,
    .collateral = tdx_collateral,
    .verify = att_intel_verify,
    .bind = tdx_bind,
    .claims = tdx_claims,
    .release = att_intel_release,
    .inspect = tdx_inspect,
};
