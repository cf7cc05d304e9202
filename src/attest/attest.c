/*
 * attest.c - one attestation, whatever the evidence type: the type's steps in order
 * (src/evidence/evidence.h), then the claims, the policy and the token's claim set
 * (docs/reference/maa-api.md §1.3, docs/reference/maa-tokens.md §2.3, docs/reference/maa-policy.md
 * §3.6).
 */
#include "attest/attest.h"

#include <stdlib.h>
#include <string.h>

/* The policy to run: the provider's, or the request's draft (parsed here). */
static att_err draft_policy(const struct att_evidence_request *req, struct att_policy **draft,
                            char hash[ATT_POLICY_HASH_LEN + 1], struct att_attest_error *err)
{
    char msg[256] = "";
    att_err rc = att_policy_parse(req->draft_policy, req->draft_len, NULL, draft, msg, sizeof(msg));
    if (rc == ATT_ERR_NOMEM) {
        return att_attest_fail(err, rc, "out of memory");
    }
    if (rc != ATT_OK) {
        return att_attest_fail(err, rc, "draftPolicyForAttestation: %s", msg);
    }
    rc = att_policy_hash(req->draft_policy, req->draft_len, hash);
    if (rc != ATT_OK) {
        return att_attest_fail(err, rc, "cannot hash the policy");
    }
    return ATT_OK;
}

/* A failed step: the code, and `what` failed with the step's message (or the code's text). */
static att_err step_fail(struct att_attest_error *err, att_err rc, const char *what,
                         const char *msg)
{
    if (att_err_http_status(rc) >= 500 && rc != ATT_ERR_FETCH && rc != ATT_ERR_STORE_BUSY) {
        return att_attest_fail(err, rc, "%s: internal error", what);
    }
    return att_attest_fail(err, rc, "%s: %s", what, msg[0] != '\0' ? msg : att_err_str(rc));
}

/* The evidence steps, each failure prefixed with what failed. */
static att_err evidence_steps(const struct att_evidence_type *t, void *state,
                              const struct att_evidence_request *req,
                              const struct att_evidence_env *env, struct att_attest_error *err)
{
    char msg[384] = "";
    char what[64];
    att_err rc = t->parse(state, req, msg, sizeof(msg));
    if (rc != ATT_OK) {
        return step_fail(err, rc,
                         t->parsed != NULL   ? t->parsed
                         : t->member != NULL ? t->member
                                             : t->verified,
                         msg);
    }
    rc = t->collateral(state, env, msg, sizeof(msg));
    if (rc != ATT_OK) {
        return step_fail(err, rc, "collateral", msg);
    }
    rc = t->verify(state, env->now, env->grace, msg, sizeof(msg));
    if (rc != ATT_OK) {
        snprintf(what, sizeof(what), "%s verification failed", t->verified);
        return step_fail(err, rc, what, msg);
    }
    rc = t->bind(state, req, msg, sizeof(msg));
    if (rc != ATT_OK) {
        return att_attest_fail(err, rc, "%s", msg[0] != '\0' ? msg : att_err_str(rc));
    }
    return ATT_OK;
}

att_err att_attest_run(const struct att_evidence_type *t, const struct att_evidence_request *req,
                       const struct att_evidence_env *env, const struct att_attest_policy *pol,
                       json_t **claims, struct att_attest_error *err)
{
    att_err rc;
    struct att_claim_list incoming;
    struct att_policy *draft = NULL;
    char draft_hash[ATT_POLICY_HASH_LEN + 1];
    struct att_attest_policy draft_pol = {NULL, draft_hash, NULL};
    void *state = calloc(1, t->state_size);
    json_t *token = json_object();

    att_claim_list_init(&incoming);
    if (state == NULL || token == NULL) {
        rc = att_attest_fail(err, ATT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (req->draft_policy != NULL) {
        ATT_GUARD(draft_policy(req, &draft, draft_hash, err));
        draft_pol.policy = draft;
        pol = &draft_pol;
    }
    ATT_GUARD(evidence_steps(t, state, req, env, err));
    ATT_GUARD(att_claims_bound_data(token, &req->runtime, "x-ms-runtime", err));
    ATT_GUARD(att_claims_bound_data(token, &req->init_time, "x-ms-inittime", err));
    rc = t->claims(state, req, token);
    if (rc == ATT_OK) {
        rc = att_claims_incoming(token, t->aliases, &incoming);
    }
    if (rc == ATT_OK && t->incoming != NULL) {
        rc = t->incoming(state, &incoming);
    }
    if (rc != ATT_OK) {
        rc = att_attest_fail(err, rc, "cannot build the claims");
        goto out;
    }
    ATT_GUARD(att_attest_appraise(pol, &incoming, t, state, token, err));
    *claims = token;
    token = NULL;
out:
    json_decref(token);
    att_claim_list_cleanup(&incoming);
    if (state != NULL) {
        t->release(state);
        free(state);
    }
    att_policy_free(draft);
    return rc;
}
