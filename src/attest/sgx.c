/*
 * sgx.c - SgxEnclave and OpenEnclave attestation (MAA-API.md §1.3, §2.4, §2.9, §3.6):
 * verify the quote against Intel collateral, check the bindings, build MAA's claims.
 */
#include "attest/attest.h"

#include <string.h>

#include "collateral/service.h"
#include "core/buf.h"
#include "core/codec.h"
#include "crypto/ecdsa.h"
#include "evidence/sgx/quote.h"
#include "evidence/sgx/verify.h"

#define SGX_FLAGS_KSS ((uint64_t)1 << 7) /* key separation and sharing: CONFIGID etc. are set */

/* The deprecated "$" names SGX policies still see (MAA-API.md §3.6). */
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

/* `key` is one of this file's literal claim names: ASCII, so jansson need not check it. */
static att_err set(json_t *obj, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new_nocheck(obj, key, v) == 0 ? ATT_OK : ATT_ERR_NOMEM;
}

static att_err set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char hex[129];
    ATT_ENSURE(n <= 64, ATT_ERR_ARG);
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    return set(obj, key, json_stringn_nocheck(hex, 2 * n));
}

static att_err set_b64url(json_t *obj, const char *key, struct att_bytes b)
{
    struct att_buf enc;
    att_buf_init(&enc, 4 * b.len / 3 + 8);
    att_err rc = att_b64url_encode(b.ptr, b.len, &enc);
    if (rc == ATT_OK) {
        rc = set(obj, key, json_stringn((const char *)enc.data, enc.len));
    }
    att_buf_cleanup(&enc);
    return rc;
}

/*
 * x-ms-sgx-collateral (MAA-API.md §2.4): SHA-256 hex of what the verdict rests on. MAA does not
 * define the hashed bytes beyond quotehash; attestd hashes the exact bytes it verified: the
 * issuer chain PEM, the Root CA CRL DER, the signed document text (docs/verification.md).
 */
static att_err collateral_claim(const struct att_sgx_inputs *in, struct att_bytes quote,
                                json_t **out)
{
    uint8_t qh[32];
    json_t *c = json_object();
    att_err rc = c != NULL ? ATT_OK : ATT_ERR_NOMEM;
    if (rc == ATT_OK) {
        rc = att_sha256(quote.ptr, quote.len, qh);
    }
    struct {
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
        rc = set_hex(c, items[i].key, items[i].hash, 32);
    }
    if (rc != ATT_OK) {
        json_decref(c);
        return rc;
    }
    *out = c;
    return ATT_OK;
}

static att_err verdict_claims(json_t *t, const struct att_sgx_verdict *v)
{
    json_t *ids = json_array();
    ATT_ENSURE(ids != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < v->n_advisories; i++) {
        if (json_array_append_new(ids, json_string(v->advisories[i])) != 0) {
            json_decref(ids);
            return ATT_ERR_NOMEM;
        }
    }
    ATT_TRY(set(t, "x-ms-sgx-advisory-ids", ids));
    ATT_TRY(set(t, "x-ms-sgx-tcb-status", json_string(att_tcb_status_name(v->status))));
    ATT_TRY(set(t, "x-ms-sgx-tcb-evaluation-data-number", json_integer(v->tcb_eval_num)));
    return set_hex(t, "x-ms-sgx-fmspc", v->fmspc, sizeof(v->fmspc));
}

/* The token claims MAA derives from the evidence (MAA-API.md §2.3, §2.4, §7.2). */
static att_err token_claims(const struct att_sgx_quote *q, const struct att_sgx_verdict *v,
                            const struct att_sgx_inputs *in, const struct att_attest_request *req,
                            json_t *t)
{
    const struct att_sgx_report_body *b = &q->body;
    json_t *coll = NULL;
    ATT_TRY(set(t, "x-ms-attestation-type", json_string("sgx")));
    ATT_TRY(set(t, "x-ms-ver", json_string("1.0")));
    ATT_TRY(set(t, "x-ms-sgx-is-debuggable", json_boolean((b->flags & ATT_SGX_FLAGS_DEBUG) != 0)));
    ATT_TRY(set_hex(t, "x-ms-sgx-mrenclave", b->mrenclave, sizeof(b->mrenclave)));
    ATT_TRY(set_hex(t, "x-ms-sgx-mrsigner", b->mrsigner, sizeof(b->mrsigner)));
    ATT_TRY(set(t, "x-ms-sgx-product-id", json_integer(b->isvprodid)));
    ATT_TRY(set(t, "x-ms-sgx-svn", json_integer(b->isvsvn)));
    ATT_TRY(set_hex(t, "x-ms-sgx-report-data", b->reportdata, sizeof(b->reportdata)));
    if (b->flags & SGX_FLAGS_KSS) {
        ATT_TRY(set_hex(t, "x-ms-sgx-config-id", b->configid, sizeof(b->configid)));
        ATT_TRY(set(t, "x-ms-sgx-config-svn", json_integer(b->configsvn)));
        ATT_TRY(set_hex(t, "x-ms-sgx-isv-extended-product-id", b->isvextprodid, 16));
        ATT_TRY(set_hex(t, "x-ms-sgx-isv-family-id", b->isvfamilyid, 16));
    }
    ATT_TRY(verdict_claims(t, v));
    ATT_TRY(collateral_claim(in, q->bytes, &coll));
    ATT_TRY(set(t, "x-ms-sgx-collateral", coll));
    ATT_TRY(set(t, "maa-attestationcollateral", json_incref(coll))); /* the same value */
    if (req->runtime.present && !req->runtime.json) {
        /* Binary runtime data is echoed as x-ms-sgx-ehd and its two legacy names. */
        ATT_TRY(set_b64url(t, "x-ms-sgx-ehd", req->runtime.bytes));
        ATT_TRY(set(t, "maa-ehd", json_incref(json_object_get(t, "x-ms-sgx-ehd"))));
        ATT_TRY(set(t, "aas-ehd", json_incref(json_object_get(t, "x-ms-sgx-ehd"))));
    }
    if (req->nonce != NULL) {
        ATT_TRY(set(t, "nonce", json_string(req->nonce)));
    }
    return ATT_OK;
}

/* MAA-API.md §2.9: SHA-256(data) == the first 32 bytes of the bound field. */
static att_err binding_check(const struct att_bound_data *d, const uint8_t *field, att_err code,
                             const char *what, struct att_attest_error *err)
{
    uint8_t h[32];
    if (!d->present) {
        return ATT_OK;
    }
    if (att_sha256(d->bytes.ptr, d->bytes.len, h) != ATT_OK) {
        return att_attest_fail(err, 500, "InternalServerError", ATT_ERR_CRYPTO, "hash failed");
    }
    if (memcmp(h, field, sizeof(h)) != 0) {
        return att_attest_fail(
            err, 400, "InvalidParameter", code,
            "SHA-256 of the %s does not match the first 32 bytes of the %s",
            code == ATT_ERR_RUNTIME_DATA_BINDING ? "runtime data" : "init-time data", what);
    }
    return ATT_OK;
}

static att_err evidence_fail(struct att_attest_error *err, att_err rc, const char *what,
                             const char *msg)
{
    if (rc == ATT_ERR_NOMEM || rc == ATT_ERR_CRYPTO || rc == ATT_ERR_INTERNAL) {
        return att_attest_fail(err, 500, "InternalServerError", rc, "%s: internal error", what);
    }
    if (rc == ATT_ERR_FETCH) {
        return att_attest_fail(err, 503, "ServiceUnavailable", rc, "%s: %s", what, msg);
    }
    return att_attest_fail(err, 400, "InvalidParameter", rc, "%s: %s", what,
                           msg[0] != '\0' ? msg : att_err_str(rc));
}

/* The quote's PCK chain and its collateral: from the service, or preloaded (a bundle). */
static att_err collateral_for(const struct att_attest_env *env, const struct att_sgx_quote *q,
                              struct att_sgx_inputs *in, char *msg, size_t msg_len)
{
    const struct att_sgx_inputs *p = env->preloaded;
    if (p == NULL) {
        return att_collateral_sgx(env->collateral, q->sig.pck_pem.ptr, q->sig.pck_pem.len, env->now,
                                  env->grace, in, msg, msg_len);
    }
    ATT_TRY(att_dcap_pck_chain_load(env->trust, q->sig.pck_pem.ptr, q->sig.pck_pem.len, &in->pck,
                                    msg, msg_len));
    in->root_crl = att_dcap_item_ref(p->root_crl);
    in->pck_crl = att_dcap_item_ref(p->pck_crl);
    in->tcb_info = att_dcap_item_ref(p->tcb_info);
    in->qe_identity = att_dcap_item_ref(p->qe_identity);
    return ATT_OK;
}

/* The policy to run: the provider's, or the request's draft (parsed here). */
static att_err draft_policy(const struct att_attest_request *req, struct att_policy **draft,
                            char hash[ATT_POLICY_HASH_LEN + 1], struct att_attest_error *err)
{
    char msg[256] = "";
    att_err rc = att_policy_parse(req->draft_policy, req->draft_len, NULL, draft, msg, sizeof(msg));
    if (rc == ATT_ERR_NOMEM) {
        return att_attest_fail(err, 500, "InternalServerError", rc, "out of memory");
    }
    if (rc != ATT_OK) {
        return att_attest_fail(err, 400, "PolicyParsingError", rc, "draftPolicyForAttestation: %s",
                               msg);
    }
    rc = att_policy_hash(req->draft_policy, req->draft_len, hash);
    if (rc != ATT_OK) {
        return att_attest_fail(err, 500, "InternalServerError", rc, "cannot hash the policy");
    }
    return ATT_OK;
}

att_err att_attest_sgx(const struct att_attest_request *req, const struct att_attest_env *env,
                       const struct att_attest_policy *pol, json_t **claims,
                       struct att_attest_error *err)
{
    att_err rc;
    char msg[384] = "";
    struct att_bytes quote = req->evidence;
    struct att_sgx_quote q;
    struct att_sgx_inputs in;
    struct att_sgx_verdict verdict;
    struct att_sgx_collateral view;
    struct att_claim_list incoming;
    struct att_policy *draft = NULL;
    char draft_hash[ATT_POLICY_HASH_LEN + 1];
    struct att_attest_policy draft_pol = {NULL, draft_hash, NULL};
    json_t *t = json_object();

    memset(&in, 0, sizeof(in));
    att_claim_list_init(&incoming);
    if (t == NULL) {
        return att_attest_fail(err, 500, "InternalServerError", ATT_ERR_NOMEM, "out of memory");
    }
    if (req->draft_policy != NULL) {
        rc = draft_policy(req, &draft, draft_hash, err);
        if (rc != ATT_OK) {
            goto out;
        }
        draft_pol.policy = draft;
        pol = &draft_pol;
    }
    if (req->open_enclave) {
        rc = att_oe_report_unwrap(req->evidence.ptr, req->evidence.len, &quote, msg, sizeof(msg));
        if (rc != ATT_OK) {
            rc = evidence_fail(err, rc, "report", msg);
            goto out;
        }
    }
    rc = att_sgx_quote_parse(quote.ptr, quote.len, &q, msg, sizeof(msg));
    if (rc != ATT_OK) {
        rc = evidence_fail(err, rc, req->open_enclave ? "report" : "quote", msg);
        goto out;
    }
    rc = collateral_for(env, &q, &in, msg, sizeof(msg));
    if (rc != ATT_OK) {
        rc = evidence_fail(err, rc, "collateral", msg);
        goto out;
    }
    view = att_sgx_inputs_view(&in);
    rc = att_sgx_quote_verify(&q, in.pck, &view, env->now, env->grace, &verdict, msg, sizeof(msg));
    if (rc != ATT_OK) {
        rc = evidence_fail(err, rc, "quote verification failed", msg);
        goto out;
    }
    rc = binding_check(&req->runtime, q.body.reportdata, ATT_ERR_RUNTIME_DATA_BINDING,
                       "report data", err);
    if (rc == ATT_OK) {
        rc = binding_check(&req->init_time, q.body.configid, ATT_ERR_INIT_DATA_BINDING, "CONFIGID",
                           err);
    }
    if (rc == ATT_OK) {
        rc = att_claims_bound_data(t, &req->runtime, "x-ms-runtime", err);
    }
    if (rc == ATT_OK) {
        rc = att_claims_bound_data(t, &req->init_time, "x-ms-inittime", err);
    }
    if (rc != ATT_OK) {
        goto out;
    }
    rc = token_claims(&q, &verdict, &in, req, t);
    if (rc == ATT_OK) {
        rc = att_claims_incoming(t, sgx_aliases, &incoming);
    }
    if (rc != ATT_OK) {
        rc = att_attest_fail(err, 500, "InternalServerError", rc, "cannot build the claims");
        goto out;
    }
    rc = att_attest_appraise(pol, &incoming, t, err);
    if (rc != ATT_OK) {
        goto out;
    }
    *claims = t;
    t = NULL;
out:
    json_decref(t);
    att_claim_list_cleanup(&incoming);
    att_sgx_inputs_release(&in);
    att_policy_free(draft);
    return rc;
}
