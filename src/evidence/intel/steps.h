/*
 * steps.h - the evidence steps SGX, Open Enclave and TDX share (evidence.h): a DCAP quote is
 * parsed, its collateral fetched for its TEE, and verified in QVL's order (verify.h). The
 * entries in src/evidence/sgx and src/evidence/tdx add their own bindings and claims.
 */
#ifndef ATT_EVIDENCE_INTEL_STEPS_H
#define ATT_EVIDENCE_INTEL_STEPS_H

#include <jansson.h>

#include "evidence/evidence.h"
#include "evidence/intel/quote.h"
#include "evidence/intel/verify.h"

/* The state of one Intel quote attestation (the entries' state_size). */
struct att_intel_state {
    struct att_intel_quote q;
    struct att_intel_inputs in;
    struct att_intel_verdict verdict;
};

/* Parse `quote` for `tee` (att_intel_quote_parse). */
att_err att_intel_parse(struct att_intel_state *s, enum att_intel_tee tee, struct att_bytes quote,
                        char *msg, size_t msg_len) ATT_WUR;
/* The parsed quote's PCK chain and its collateral, from env->intel. */
att_err att_intel_collateral(struct att_intel_state *s, enum att_intel_tee tee,
                             const struct att_evidence_env *env, char *msg, size_t msg_len) ATT_WUR;
/* The verify and release steps of every Intel entry (state: struct att_intel_state). */
att_err att_intel_verify(void *state, int64_t now, int64_t grace, char *msg,
                         size_t msg_len) ATT_WUR;
void att_intel_release(void *state);

/*
 * The verdict's claims under the type's names: TCB status, advisory ids, TCB evaluation data
 * number, FMSPC (SGX: x-ms-sgx-tcb-status, ...; TDX: attester_tcb_status, ...). Any name may
 * be NULL to leave that claim out.
 */
struct att_intel_verdict_names {
    const char *status, *advisories, *eval_num, *fmspc;
};
att_err att_intel_verdict_claims(const struct att_intel_verdict *v,
                                 const struct att_intel_verdict_names *names, json_t *t) ATT_WUR;

/*
 * x-ms-sgx-collateral (docs/reference/maa-tokens.md §2.4): SHA-256 hex of what the verdict rests
 * on. MAA does not define the hashed bytes beyond quotehash; attestd hashes the exact bytes it
 * verified: the issuer chain PEM, the Root CA CRL DER, the signed document text
 * (docs/verification.md).
 */
att_err att_intel_collateral_claim(const struct att_intel_state *s, json_t **out) ATT_WUR;

#endif
