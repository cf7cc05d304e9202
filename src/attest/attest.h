/*
 * attest.h - the attestation flow shared by every evidence type: the type's steps
 * (src/evidence/evidence.h) turn evidence into claims, the provider's policy (or a draft
 * policy) appraises them, and the answer is the claim set of a token (docs/reference/maa-tokens.md
 * §2, docs/reference/maa-policy.md §3). HTTP and signing stay in src/api.
 *
 *   parse -> collateral -> verify -> bind -> token claims -> incoming claims (+ "$" aliases,
 *   §3.6) -> policy -> outgoing claims and properties merged into the token
 */
#ifndef ATT_ATTEST_ATTEST_H
#define ATT_ATTEST_ATTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rd.h"
#include "evidence/evidence.h"
#include "policy/policy.h"

/* Attestation tokens live 8 hours (docs/reference/maa-tokens.md §2.2); configurable
 * (attest_token_lifetime). */
#define ATT_ATTEST_TOKEN_LIFETIME 28800

/* The policy that appraises the claims: parsed, with its hash and signer. */
struct att_attest_policy {
    const struct att_policy *policy;
    const char *hash;   /* x-ms-policy-hash */
    json_t *signer_jwk; /* x-ms-policy-signer, or NULL when unsigned */
};

/* Why an attestation failed: one precise code, and a message naming the problem. src/api turns
 * the code into MAA's answer (att_err_http_status, att_err_maa_code). */
struct att_attest_error {
    att_err err;
    bool appraisal; /* the policy's evaluation failed: MAA answers PolicyEvaluationError */
    char message[512];
};

/*
 * Attest evidence of type `t` (src/evidence/evidence.h): parse, fetch collateral, verify at
 * env->now, check the bindings, build the type's token claims plus x-ms-runtime /
 * x-ms-inittime, then let the policy appraise them. `pol` is the provider's policy; with
 * req->draft_policy set the draft is parsed and used instead (a parse failure is
 * ATT_ERR_POLICY_PARSE or ATT_ERR_POLICY_LIMIT). On success *claims is a new object.
 */
att_err att_attest_run(const struct att_evidence_type *t, const struct att_evidence_request *req,
                       const struct att_evidence_env *env, const struct att_attest_policy *pol,
                       json_t **claims, struct att_attest_error *err) ATT_WUR;

/*
 * The names of the claims attestd's attestation tokens may carry at their top level, each once:
 * the registered claims (src/token/claims.h), those the shared steps set (claims.c), each
 * evidence type's (claim_names) and those the types' default policies issue. For the OpenID
 * metadata's claims_supported (src/provider/provider.c). A new array; NULL when out of memory.
 */
json_t *att_attest_claims_supported(void);

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
/* Append `c`: its type is borrowed (static text), a string value copied, a tree (`json`)
 * borrowed. */
att_err att_claim_list_add(struct att_claim_list *l, struct att_claim c) ATT_WUR;

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
 * Appraise: evaluate `pol` over `in`, let type `t` check what the policy's properties ask of
 * its evidence (t->appraised on `state`), and merge the outcome into `token_claims` - outgoing
 * claims as top-level members (repeated types become arrays; a name the service already set
 * is not overwritten), x-ms-sgx-tcbidentifier from the properties when t->tcb_identifier
 * (the SGX types: docs/reference/maa-tokens.md §2.8), x-ms-policy-hash and
 * x-ms-policy-signer. Refusals fill *err: ATT_ERR_POLICY_DENIED, ATT_ERR_POLICY_NO_PERMIT, the
 * evaluation's error, or the type's.
 */
att_err att_attest_appraise(const struct att_attest_policy *pol, const struct att_claim_list *in,
                            const struct att_evidence_type *t, void *state, json_t *token_claims,
                            struct att_attest_error *err) ATT_WUR;

/* Fill *err and return `code`. */
att_err att_attest_fail(struct att_attest_error *err, att_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The runtime/init-time claims: x-ms-runtime / x-ms-inittime objects for JSON data. */
att_err att_claims_bound_data(json_t *token_claims, const struct att_bound_data *d,
                              const char *json_claim, struct att_attest_error *err) ATT_WUR;

#endif
