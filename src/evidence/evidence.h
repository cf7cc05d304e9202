/*
 * evidence.h - every evidence type behind one interface, in the manner of curl's scheme table
 * and Redis's connection types: one table entry per MAA attestation type says how its request
 * is decoded, where its collateral comes from, how it is verified, which claims it yields and
 * how it is inspected. The registry (registry.c) lists the entries; src/attest runs the steps
 * in order, src/api serves one route per entry, attestctl verifies and inspects through it.
 * Adding a type: docs/internals/new-evidence-type.md.
 *
 * The steps of one attestation, on a state of the type's own (state_size bytes, zeroed):
 *
 *   parse       the request's evidence -> the type's parsed view (borrowing the bytes)
 *   collateral  what verifying needs, from env (the only step that may wait on I/O)
 *   verify      pure: parsed evidence + collateral + trust anchors + time -> verdict
 *   bind        the request's runtime / init-time data against the evidence's fields
 *   claims      the token claims the evidence yields (MAA's names for the type)
 *   incoming    (optional) claims only policies see, never the token (TPM's events and PCRs)
 *   appraised   (optional) checks the policy's configuration properties ask for
 *   release     frees what the steps took (always called, also after a failure)
 *
 * Each step returns ATT_OK or one precise code (src/core/errors.def) and names the problem in
 * `msg`; it never builds an HTTP answer (only src/api does).
 */
#ifndef ATT_EVIDENCE_EVIDENCE_H
#define ATT_EVIDENCE_EVIDENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rd.h"
#include "policy/policy.h"

struct att_intel_source;
struct att_snp_source;
struct att_tpm_source;
struct att_claim_list;
struct att_policy_result;

/* Data the client binds to the evidence (docs/reference/maa-api.md §1.3): RuntimeData /
 * InitTimeData. */
struct att_bound_data {
    bool present;
    bool json; /* dataType "JSON" (else "Binary") */
    struct att_bytes bytes;
};

/* One attestation request, decoded from MAA's body. All views are borrowed. */
struct att_evidence_request {
    struct att_bytes evidence; /* the quote or report, base64url-decoded */
    struct att_bound_data runtime;
    struct att_bound_data init_time;
    const char *nonce;        /* NULL when absent */
    const char *draft_policy; /* draftPolicyForAttestation text, NULL when absent */
    size_t draft_len;
    /* The whole request document, for types whose evidence spans several members (TpmQuote);
     * NULL when the evidence came without one. */
    const json_t *body;
    /* The freshness value src/api derived for the evidence (MAA's TPM protocol binds the quote
     * to its request key and challenge); never taken from the body. Empty: none. */
    struct att_bytes bound_nonce;
    /* The answer will be sealed to a key the quoting TPM certified (AzureGuest: only that TPM
     * can read it, so replayed evidence gains nothing): a quote then needs no nonce. */
    bool sealed;
};

/* What the steps get beyond the request: where collateral comes from, and the time. */
struct att_evidence_env {
    const struct att_intel_source *intel; /* Intel DCAP collateral (SGX, Open Enclave, TDX) */
    const struct att_snp_source *snp;     /* AMD SEV-SNP collateral */
    int64_t now;                          /* verification time: the wall clock in the server */
    int64_t grace; /* seconds a provider lets collateral be used past its nextUpdate */
    const struct att_tpm_source *tpm; /* TPM AK roots and challenges (NULL: none) */
    const char *provider;             /* the provider attested to (binds challenges) */
};

/* The kid of the key an answer is sealed to (MAA's name for it). */
#define ATT_SEALED_ANSWER_KID "TpmEphemeralEncryptionKey"

struct att_evidence_type {
    const char *name;            /* MAA's attestation type: "TdxVm" (route /attest/TdxVm) */
    const char *cli_name;        /* attestctl verify|inspect <cli_name>: "tdx" */
    enum att_policy_type policy; /* the provider's policy slot for this type */
    /* Request decoding (src/api): MAA's body {member, runtimeData, initTimeData, nonce,
     * draftPolicyForAttestation}; with legacy_body also {"Quote", "EnclaveHeldData"}. */
    const char *member;
    bool legacy_body;
    const char *verified; /* what `verify` judges, for messages: "quote" */
    const char *parsed;   /* what a parse failure names, when not `member` (TpmQuote's members) */
    /* The answer is sealed to the key of kid ATT_SEALED_ANSWER_KID in the token's x-ms-runtime
     * "keys", when it names one (AzureGuest: src/api/sealed_answer.c) */
    bool seals_answer;
    const char *since_api_version; /* the first api-version serving the type; NULL: all */
    /* The "$" names policies also see (pairs "$alias", "claim", NULL-ended), or NULL. */
    const char *const *aliases;
    const char *tcb_status_claim; /* the claim logged as the attestation's TCB status */
    /* Every name `claims` may set at the top of the token (and the route adds: /attest/Tpm's
     * cnf and rp_data), NULL-ended, declared next to `claims`: the OpenID metadata lists them
     * (att_attest_claims_supported), and the black-box tests check real tokens against it. */
    const char *const *claim_names;
    bool tcb_identifier; /* echo the policy property x-ms-sgx-tcbidentifier (§2.8) */

    size_t state_size;
    att_err (*parse)(void *state, const struct att_evidence_request *req, char *msg,
                     size_t msg_len);
    att_err (*collateral)(void *state, const struct att_evidence_env *env, char *msg,
                          size_t msg_len);
    att_err (*verify)(void *state, int64_t now, int64_t grace, char *msg, size_t msg_len);
    att_err (*bind)(void *state, const struct att_evidence_request *req, char *msg, size_t msg_len);
    att_err (*claims)(void *state, const struct att_evidence_request *req, json_t *claims);
    att_err (*incoming)(void *state, struct att_claim_list *in);
    att_err (*appraised)(void *state, const struct att_policy_result *res, char *msg,
                         size_t msg_len);
    void (*release)(void *state);

    /* The evidence's fields and the claims they would give, parsed only: nothing is verified
     * (attestctl inspect). *out is a new object. */
    att_err (*inspect)(struct att_bytes evidence, json_t **out, char *msg, size_t msg_len);
};

/* The registry, in route order; NULL-ended. */
extern const struct att_evidence_type *const att_evidence_types[];

/* The entry named `name` (MAA type, exact) or `cli_name`; NULL when none. */
const struct att_evidence_type *att_evidence_find(const char *name);

#endif
