/*
 * attest.h - the attestation flow shared by every evidence type: verified evidence becomes
 * claims, the provider's policy (or a draft policy) appraises them, and the answer is the
 * claim set of a token (MAA-API.md §2, §3). HTTP and signing stay in src/api.
 *
 *   evidence verifier -> token claims (x-ms-*) -> incoming claims (+ "$" aliases, §3.6)
 *                     -> policy -> outgoing claims and properties merged into the token
 */
#ifndef ATT_ATTEST_ATTEST_H
#define ATT_ATTEST_ATTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rd.h"
#include "policy/policy.h"

struct att_collateral;
struct att_dcap_trust;
struct att_sgx_inputs;

/* Attestation tokens live 8 hours (MAA-API.md §2.2); configurable (attest_token_lifetime). */
#define ATT_ATTEST_TOKEN_LIFETIME 28800

/* Data the client binds to the evidence (MAA-API.md §1.3): RuntimeData / InitTimeData. */
struct att_bound_data {
    bool present;
    bool json; /* dataType "JSON" (else "Binary") */
    struct att_bytes bytes;
};

/* One attestation request, decoded by src/api. All views are borrowed. */
struct att_attest_request {
    struct att_bytes evidence; /* the quote, or the Open Enclave report */
    bool open_enclave;
    struct att_bound_data runtime;
    struct att_bound_data init_time;
    const char *nonce;        /* NULL when absent */
    const char *draft_policy; /* draftPolicyForAttestation text, NULL when absent */
    size_t draft_len;
};

/* The policy that appraises the claims: parsed, with its hash and signer. */
struct att_attest_policy {
    const struct att_policy *policy;
    const char *hash;   /* x-ms-policy-hash */
    json_t *signer_jwk; /* x-ms-policy-signer, or NULL when unsigned */
};

/* Everything the flow needs beyond the request. */
struct att_attest_env {
    /* Collateral: the service (the server), or loaded items and the trust anchors to load the
     * quote's PCK chain with (the offline verifier, `attestctl verify --collateral`). */
    struct att_collateral *collateral;
    const struct att_sgx_inputs *preloaded;
    const struct att_dcap_trust *trust;
    int64_t now;   /* verification time: the wall clock in the server */
    int64_t grace; /* seconds a provider lets collateral be used past its nextUpdate */
};

/* Why an attestation failed, for the HTTP answer (MAA-API.md §1.5). */
struct att_attest_error {
    int status;       /* 400, or 503 when the collateral upstream failed, 500 for our bugs */
    const char *code; /* "InvalidParameter", "PolicyEvaluationError", "PolicyParsingError", ... */
    att_err err;      /* the precise reason (one code per verification step) */
    char message[512];
};

/*
 * SgxEnclave and OpenEnclave (MAA-API.md §2.4, §2.9): parse and verify the quote at env->now,
 * check the runtime/init-time bindings, and build the token claims (x-ms-sgx-*, the legacy
 * aliases, x-ms-runtime / x-ms-inittime, nonce) before the policy runs. On success *claims is
 * a new object. `pol` is the provider's policy; with req->draft_policy set the draft is parsed
 * and used instead (a parse failure is PolicyParsingError).
 */
att_err att_attest_sgx(const struct att_attest_request *req, const struct att_attest_env *env,
                       const struct att_attest_policy *pol, json_t **claims,
                       struct att_attest_error *err) ATT_WUR;

/* ---- shared steps (claims.c) --------------------------------------------------------- */

/* A growable list of incoming claims (see att_claims_incoming for what it borrows). */
struct att_claim_list {
    struct att_claim *items;
    size_t n;
    size_t cap;
    char **owned; /* the strings the list made (JSON text of objects) */
    size_t n_owned;
};

void att_claim_list_init(struct att_claim_list *l);
void att_claim_list_cleanup(struct att_claim_list *l);

/*
 * The incoming claims of a token claim set: every member becomes a claim of issuer
 * AttestationService (strings, integers and booleans as they are; arrays as one claim per
 * scalar element; objects as their JSON text), then each alias in `aliases` (pairs of "$alias",
 * "x-ms-name", ended by NULL) repeats the claim under the legacy name. The claims borrow
 * their types and scalar strings from `token_claims`: change it only after the last use.
 */
att_err att_claims_incoming(json_t *token_claims, const char *const *aliases,
                            struct att_claim_list *out) ATT_WUR;

/*
 * Appraise: evaluate `pol` over `in` and merge the outcome into `token_claims` - outgoing
 * claims as top-level members (repeated types become arrays; a name the service already set
 * is not overwritten), x-ms-sgx-tcbidentifier from the properties, x-ms-policy-hash and
 * x-ms-policy-signer. Refusals fill *err: PolicyEvaluationError for a deny, no permit, or an
 * evaluation failure.
 */
att_err att_attest_appraise(const struct att_attest_policy *pol, const struct att_claim_list *in,
                            json_t *token_claims, struct att_attest_error *err) ATT_WUR;

/* Fill *err and return `code`. */
att_err att_attest_fail(struct att_attest_error *err, int status, const char *maa_code,
                        att_err code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The runtime/init-time claims: x-ms-runtime / x-ms-inittime objects for JSON data. */
att_err att_claims_bound_data(json_t *token_claims, const struct att_bound_data *d,
                              const char *json_claim, struct att_attest_error *err) ATT_WUR;

#endif
