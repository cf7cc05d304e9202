/*
 * steps.c - the steps SGX, Open Enclave and TDX attestations share (steps.h).
 */
#include "evidence/intel/steps.h"

#include <string.h>

#include "crypto/ecdsa.h"
#include "evidence/common.h"

att_err att_intel_parse(struct att_intel_state *s, enum att_intel_tee tee, struct att_bytes quote,
                        char *msg, size_t msg_len)
{
    return att_intel_quote_parse(quote.ptr, quote.len, tee, &s->q, msg, msg_len);
}

att_err att_intel_collateral(struct att_intel_state *s, enum att_intel_tee tee,
                             const struct att_evidence_env *env, char *msg, size_t msg_len)
{
    const struct att_intel_source *src = env->intel;
    if (src == NULL || src->get == NULL) {
        return att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len,
                         "no source of Intel collateral is configured");
    }
    return src->get(src->ctx, tee, s->q.sig.pck_pem.ptr, s->q.sig.pck_pem.len, env->now, &s->in,
                    msg, msg_len);
}

att_err att_intel_verify(void *state, int64_t now, int64_t grace, char *msg, size_t msg_len)
{
    struct att_intel_state *s = state;
    struct att_intel_collateral view = att_intel_inputs_view(&s->in);
    return att_intel_quote_verify(&s->q, s->in.pck, &view, now, grace, &s->verdict, msg, msg_len);
}

void att_intel_release(void *state)
{
    struct att_intel_state *s = state;
    att_intel_inputs_release(&s->in);
}

att_err att_intel_verdict_claims(const struct att_intel_verdict *v,
                                 const struct att_intel_verdict_names *names, json_t *t)
{
    if (names->advisories != NULL) {
        json_t *ids = json_array();
        ATT_ENSURE(ids != NULL, ATT_ERR_NOMEM);
        for (size_t i = 0; i < v->n_advisories; i++) {
            if (json_array_append_new(ids, json_string(v->advisories[i])) != 0) {
                json_decref(ids);
                return ATT_ERR_NOMEM;
            }
        }
        ATT_TRY(att_claim_set(t, names->advisories, ids));
    }
    if (names->status != NULL) {
        ATT_TRY(att_claim_set(t, names->status, json_string(att_tcb_status_name(v->status))));
    }
    if (names->eval_num != NULL) {
        ATT_TRY(att_claim_set(t, names->eval_num, json_integer(v->tcb_eval_num)));
    }
    if (names->fmspc != NULL) {
        ATT_TRY(att_claim_set_hex(t, names->fmspc, v->fmspc, sizeof(v->fmspc)));
    }
    return ATT_OK;
}

att_err att_intel_collateral_claim(const struct att_intel_state *s, json_t **out)
{
    const struct att_intel_inputs *in = &s->in;
    uint8_t qh[32];
    json_t *c = json_object();
    att_err rc = c != NULL ? ATT_OK : ATT_ERR_NOMEM;
    if (rc == ATT_OK) {
        rc = att_sha256(s->q.bytes.ptr, s->q.bytes.len, qh);
    }
    const struct {
        const char *key;
        const uint8_t *hash;
    } items[] = {
        {"qeidcertshash", in->qe_identity->chain_hash},
        {"qeidcrlhash", in->root_crl->hash},
        {"qeidhash", in->qe_identity->hash},
        {"quotehash", qh},
        {"tcbinfocertshash", in->tcb_info->chain_hash},
        {"tcbinfocrlhash", in->root_crl->hash},
        {"tcbinfohash", in->tcb_info->hash},
    };
    for (size_t i = 0; rc == ATT_OK && i < sizeof(items) / sizeof(items[0]); i++) {
        rc = att_claim_set_hex(c, items[i].key, items[i].hash, 32);
    }
    if (rc != ATT_OK) {
        json_decref(c);
        return rc;
    }
    *out = c;
    return ATT_OK;
}
