/*
 * attest.c - POST /attest/<type> for every evidence type of the registry (docs/reference/maa-api.md
 * §1.2, §1.3; src/evidence/evidence.h).
 *
 * Decodes the request body (MAA's shape {<member>, runtimeData, initTimeData, nonce,
 * draftPolicyForAttestation}, where the type names the member - "quote", "report" - and, for
 * SgxEnclave, the legacy {Quote, EnclaveHeldData}), runs the attestation (src/attest) and
 * answers {"token": JWT}: signed by the provider, or unsigned (alg "none") for a draft policy
 * (§4.5). Failures are MAA's error body, its status and code taken from the error list
 * (src/core/errors.def); the "innererror" member names attestd's precise reason (one code per
 * verification step). This is the only place attestation errors become HTTP answers.
 */
#include "api/attest_int.h"
#include "api/sealed_answer.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"
#include "collateral/amd.h"
#include "collateral/scopes.h"
#include "collateral/service.h"
#include "core/codec.h"
#include "core/json_plain.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "evidence/tpm/tpm.h"
#include "policymgmt/cache.h"
#include "seal/keyring.h"
#include "token/claims.h"
#include "token/json_out.h"

#define MAX_EVIDENCE ((size_t)64 * 1024)   /* decoded quote or report */
#define MAX_BOUND_DATA ((size_t)64 * 1024) /* decoded runtime / init-time data */
#define MAX_NONCE 1024

/* Decoded request: owns the decoded bytes the att_attest_request views. */
struct decoded {
    json_t *doc;
    struct att_buf evidence;
    struct att_buf runtime;
    struct att_buf init_time;
    struct att_evidence_request req;
};

static void decoded_init(struct decoded *d)
{
    memset(d, 0, sizeof(*d));
    att_buf_init(&d->evidence, MAX_EVIDENCE);
    att_buf_init(&d->runtime, MAX_BOUND_DATA);
    att_buf_init(&d->init_time, MAX_BOUND_DATA);
}

static void decoded_cleanup(struct decoded *d)
{
    json_decref(d->doc);
    att_buf_cleanup(&d->evidence);
    att_buf_cleanup(&d->runtime);
    att_buf_cleanup(&d->init_time);
}

/*
 * base64url as the SDKs send it (RFC 4648 §5, unpadded); trailing '=' padding, which some
 * clients add, is tolerated.
 */
static att_err b64url_field(const json_t *v, struct att_buf *out)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    while (n > 0 && s[n - 1] == '=') {
        n--;
    }
    return att_b64url_decode(s, n, out);
}

static att_err field_error(struct att_attest_error *err, att_err rc, const char *field)
{
    return att_attest_fail(
        err, rc, rc == ATT_ERR_TOO_LARGE ? "%s is too large" : "%s is not a base64url string",
        field);
}

/* RuntimeData / InitTimeData: {"data": b64url, "dataType": "Binary" | "JSON"}. */
static att_err bound_data(const json_t *obj, const char *field, struct att_buf *buf,
                          struct att_bound_data *out, struct att_attest_error *err)
{
    const json_t *data = json_object_get(obj, "data");
    const json_t *type = json_object_get(obj, "dataType");
    if (!json_is_object(obj) || !json_is_string(data)) {
        return att_attest_fail(err, ATT_ERR_JSON,
                               "%s must be an object with a string member \"data\"", field);
    }
    att_err rc = b64url_field(data, buf);
    if (rc != ATT_OK) {
        return field_error(err, rc, field);
    }
    if (type == NULL || (json_is_string(type) && strcmp(json_string_value(type), "Binary") == 0)) {
        out->json = false;
    } else if (json_is_string(type) && strcmp(json_string_value(type), "JSON") == 0) {
        out->json = true;
    } else {
        return att_attest_fail(err, ATT_ERR_JSON, "%s.dataType must be \"Binary\" or \"JSON\"",
                               field);
    }
    out->present = true;
    out->bytes.ptr = buf->data;
    out->bytes.len = buf->len;
    return ATT_OK;
}

static att_err optional_string(const json_t *doc, const char *key, size_t max, const char **out,
                               size_t *len, struct att_attest_error *err)
{
    const json_t *v = json_object_get(doc, key);
    if (v == NULL || json_is_null(v)) {
        return ATT_OK;
    }
    if (!json_is_string(v) || json_string_length(v) > max) {
        return att_attest_fail(err, ATT_ERR_JSON, "%s must be a string of at most %zu bytes", key,
                               max);
    }
    *out = json_string_value(v);
    if (len != NULL) {
        *len = json_string_length(v);
    }
    return ATT_OK;
}

/* The members every type shares: runtimeData, initTimeData, nonce, draftPolicyForAttestation. */
static att_err decode_common(struct decoded *d, struct att_attest_error *err)
{
    const json_t *v;
    if ((v = json_object_get(d->doc, "runtimeData")) != NULL && !json_is_null(v)) {
        ATT_TRY(bound_data(v, "runtimeData", &d->runtime, &d->req.runtime, err));
    }
    if ((v = json_object_get(d->doc, "initTimeData")) != NULL && !json_is_null(v)) {
        ATT_TRY(bound_data(v, "initTimeData", &d->init_time, &d->req.init_time, err));
    }
    ATT_TRY(optional_string(d->doc, "nonce", MAX_NONCE, &d->req.nonce, NULL, err));
    return optional_string(d->doc, "draftPolicyForAttestation", ATT_POLICY_DEFAULT_MAX_TEXT,
                           &d->req.draft_policy, &d->req.draft_len, err);
}

static att_err decode(const struct att_http_request *hr, const struct att_evidence_type *t,
                      struct decoded *d, struct att_attest_error *err)
{
    json_error_t jerr;
    const char *field = t->member;
    const json_t *evidence;
    const json_t *v;

    /* The plain fast path (core/json_plain.h) takes the usual bodies, jansson the rest. */
    if (att_json_plain_load(hr->body, hr->body_len, &d->doc) != ATT_OK) {
        d->doc = json_loadb((const char *)hr->body, hr->body_len, JSON_REJECT_DUPLICATES, &jerr);
    }
    if (d->doc == NULL || !json_is_object(d->doc)) {
        return att_attest_fail(err, ATT_ERR_JSON, "the request body is not a JSON object");
    }
    if (field == NULL) {
        /* the type reads its members from the document (AzureGuest) */
        d->req.body = d->doc;
        return decode_common(d, err);
    }
    evidence = json_object_get(d->doc, field);
    /* Legacy shape (2018-09-01-preview): {"Quote", "EnclaveHeldData"} = quote + Binary data. */
    const json_t *legacy = t->legacy_body ? json_object_get(d->doc, "Quote") : NULL;
    if (evidence == NULL && legacy != NULL) {
        evidence = legacy;
        field = "Quote";
        v = json_object_get(d->doc, "EnclaveHeldData");
        if (v != NULL) {
            att_err rc = json_is_string(v) ? b64url_field(v, &d->runtime) : ATT_ERR_ENCODING;
            if (rc != ATT_OK) {
                return field_error(err, rc, "EnclaveHeldData");
            }
            d->req.runtime.present = true;
            d->req.runtime.bytes.ptr = d->runtime.data;
            d->req.runtime.bytes.len = d->runtime.len;
        }
    }
    if (!json_is_string(evidence)) {
        return att_attest_fail(err, ATT_ERR_JSON, "the request has no string member \"%s\"", field);
    }
    att_err rc = b64url_field(evidence, &d->evidence);
    if (rc != ATT_OK) {
        return field_error(err, rc, field);
    }
    d->req.evidence.ptr = d->evidence.data;
    d->req.evidence.len = d->evidence.len;
    d->req.body = d->doc;
    return decode_common(d, err);
}

void att_api_attest_error(const struct att_api_call *call, const struct att_attest_error *e,
                          struct att_http_response *resp)
{
    int status = att_err_http_status(e->err);
    const char *code =
        e->appraisal && status == 400 ? "PolicyEvaluationError" : att_err_maa_code(e->err);
    att_log(status >= 500 ? ATT_LOG_ERROR : ATT_LOG_INFO, "attestation refused", "request_id",
            json_string(call->req->request_id), "provider", json_string(call->provider->rec.name),
            "type", json_string(call->evidence->name), "status", json_integer(status), "code",
            json_string(code), "reason", json_string(att_err_name(e->err)), "message",
            json_string(e->message), "peer", json_string(call->req->peer_text), NULL);
    bool denied = e->err == ATT_ERR_POLICY_DENIED || e->err == ATT_ERR_POLICY_NO_PERMIT;
    att_api_audit_attestation(
        call, call->evidence->name, denied ? "denied" : "failure",
        json_pack("{s:i,s:s,s:s}", "status", status, "error", code, "reason", att_err_name(e->err)),
        resp);
    if (status >= 500) {
        att_http_error(resp, status, code, "the attestation could not be completed");
        return;
    }
    att_http_error_inner(resp, status, code, e->message, att_err_name(e->err));
}

/* A failure of ours (reading the policy, signing): always a 5xx, whatever `rc` says. */
static att_err internal(struct att_attest_error *err, att_err rc, const char *what)
{
    return att_attest_fail(err, att_err_http_status(rc) >= 500 ? rc : ATT_ERR_INTERNAL, "%s", what);
}

static void answer_token(struct att_http_response *resp, const struct att_buf *token)
{
    /* {"token": JWT}: a compact JWS is base64url and dots, nothing to escape. */
    att_buf_presize(&resp->body, token->len + 16);
    if (att_http_response_json(resp, 200, "{\"token\":\"", 10) != ATT_OK ||
        att_buf_put(&resp->body, token->data, token->len) != ATT_OK ||
        att_buf_puts(&resp->body, "\"}") != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot encode the answer");
    }
}

static int64_t token_lifetime(const struct att_api_call *call)
{
    return call->api->attest_token_lifetime > 0 ? call->api->attest_token_lifetime
                                                : ATT_ATTEST_TOKEN_LIFETIME;
}

/* Sign the claims (or, for a draft policy, leave them unsigned: docs/reference/maa-policy.md §4.5).
 */
static att_err issue(const struct att_api_call *call, json_t *claims, bool draft, int64_t now,
                     struct att_buf *token)
{
    int64_t lifetime = token_lifetime(call);
    if (!draft) {
        return att_provider_issue_token(call->providers, call->provider, claims, now, lifetime,
                                        token);
    }
    ATT_TRY(att_provider_mark_claims(call->provider, claims));
    ATT_TRY(att_claims_set_registered(claims, call->provider->rec.issuer, now, lifetime));
    json_t *header = json_pack("{s:s}", "typ", "JWT");
    struct att_buf payload;
    att_buf_init(&payload, ATT_JWS_MAX);
    att_err rc = header != NULL ? att_json_compact(claims, &payload) : ATT_ERR_NOMEM;
    if (rc == ATT_OK) {
        rc = att_jws_sign_none(header, payload.data, payload.len, token);
    }
    att_buf_cleanup(&payload);
    json_decref(header);
    return rc;
}

/*
 * The Intel collateral of the provider: the daemon's, or that of its own trust anchors
 * (docs/internals/demo.md). A demo provider is refused first while public network access is
 * on: its root was made on this machine, so anyone who can reach the service could be given
 * tokens for evidence made with that root's key.
 */
static att_err provider_collateral(const struct att_api_call *call, struct att_collateral **out,
                                   struct att_attest_error *err)
{
    const struct att_provider_rec *p = &call->provider->rec;
    if (p->demo && call->api->public_network_access) {
        return att_attest_fail(err, ATT_ERR_DEMO_PUBLIC_NETWORK,
                               "provider '%s' is a demo provider, which attests nothing while "
                               "public_network_access is enabled (docs/internals/demo.md)",
                               p->name);
    }
    if (p->dcap_trust_anchors[0] == '\0') {
        *out = call->api->collateral;
        return ATT_OK;
    }
    char msg[256] = "";
    att_err rc =
        call->api->collateral_scopes == NULL
            ? ATT_ERR_STATE
            : att_collateral_scopes_get(call->api->collateral_scopes, p->dcap_trust_anchors,
                                        strlen(p->dcap_trust_anchors), out, msg, sizeof(msg));
    if (rc != ATT_OK) {
        att_log(ATT_LOG_ERROR, "cannot load a provider's trust anchors", "provider",
                json_string(p->name), "error", json_string(att_err_name(rc)), "detail",
                json_string(msg), NULL);
        return internal(err, rc, "cannot load the provider's trust anchors");
    }
    return ATT_OK;
}

att_err att_api_attest_run(const struct att_api_call *call, const struct att_evidence_type *t,
                           const struct att_evidence_request *req, int64_t now, json_t **claims,
                           struct att_attest_error *err)
{
    struct att_cached_policy *pol = NULL;
    struct att_collateral *collateral = NULL;
    att_err rc = provider_collateral(call, &collateral, err);
    if (rc != ATT_OK) {
        return rc;
    }
    if (req->draft_policy == NULL) {
        rc = att_policy_cache_get(call->api->policy_cache, call->api->store, call->api->keyring,
                                  &call->provider->rec, att_policy_type_name(t->policy),
                                  att_time_mono_ms(), &pol);
        if (rc != ATT_OK) {
            return internal(err, rc, "cannot read the policy");
        }
    }
    /* Evidence is judged at the wall clock; only test builds may move that time. */
    int64_t at = call->api->test_verify_time != 0 ? call->api->test_verify_time : now;
    /* The provider's grace period, else the node's default (collateral_grace). */
    int64_t grace = call->provider->rec.collateral_grace > 0 ? call->provider->rec.collateral_grace
                                                             : call->api->collateral_grace;
    struct att_intel_source intel = att_collateral_intel_source(collateral);
    struct att_snp_source snp = att_amd_collateral_source(call->api->amd);
    struct att_evidence_env env = {.intel = collateral != NULL ? &intel : NULL,
                                   .snp = call->api->amd != NULL ? &snp : NULL,
                                   .now = at,
                                   .grace = grace,
                                   .tpm = call->api->tpm,
                                   .provider = call->provider->rec.name};
    struct att_attest_policy ap = {pol != NULL ? pol->policy : NULL, pol != NULL ? pol->hash : "",
                                   pol != NULL ? pol->signer_jwk : NULL};
    rc = att_attest_run(t, req, &env, &ap, claims, err);
    att_cached_policy_release(pol);
    return rc;
}

/* The outcome of making a token, as the client sees it. */
static att_err issue_outcome(att_err rc, struct att_attest_error *err)
{
    if (rc ==
        ATT_ERR_TOO_LARGE) { /* the client's data the token echoes (a payload, runtime data) */
        return att_attest_fail(err, rc,
                               "the token would be larger than %zu bytes: send less data "
                               "for it to carry",
                               (size_t)ATT_JWS_MAX);
    }
    return rc == ATT_OK ? ATT_OK : internal(err, rc, "cannot sign the token");
}

att_err att_api_attest_issue(const struct att_api_call *call, json_t *claims, bool draft,
                             int64_t now, struct att_buf *token, struct att_attest_error *err)
{
    return issue_outcome(issue(call, claims, draft, now, token), err);
}

/* The signature of a held answer came (issue_held): the token and the answer are complete. */
static void token_signed(void *arg, att_err rc, const uint8_t *sig, size_t len)
{
    struct att_http_response *resp = arg;
    if (rc == ATT_OK) {
        rc = att_jws_append_signature(&resp->body, sig, len);
    }
    if (rc == ATT_OK) {
        rc = att_buf_puts(&resp->body, "\"}");
    }
    if (rc != ATT_OK) {
        att_log(ATT_LOG_ERROR, "the token could not be signed", "request_id",
                json_string(resp->request_id), "error", json_string(att_err_name(rc)), NULL);
    }
    att_http_gate_finish(resp->gate, rc == ATT_OK ? NULL
                                     : rc == ATT_ERR_KEYD_UNAVAILABLE
                                         ? "the token could not be signed: the key process did "
                                           "not answer; retry"
                                     : rc == ATT_ERR_TOKEN_UNAVAILABLE
                                         ? "the token could not be signed: the PKCS#11 token "
                                           "did not answer; retry"
                                         : "the token could not be signed");
}

/*
 * The answer {"token": JWT} with the signature still to come: the answer is held while the key
 * process signs (it signs in batches, src/keyd/client.c), and the thread goes on to the next
 * request. After this, resp's body is not this thread's.
 */
static att_err issue_held(const struct att_api_call *call, const struct att_evidence_type *t,
                          json_t *claims, int64_t now, struct att_http_response *resp,
                          struct att_attest_error *err)
{
    const char *kid = NULL;
    struct att_buf input;
    att_buf_init(&input, ATT_JWS_MAX);
    att_err rc = att_provider_token_input(call->providers, call->provider, claims, now,
                                          token_lifetime(call), &input, &kid);
    if (rc == ATT_OK) {
        att_buf_presize(&resp->body, input.len + 1024); /* room for the signature */
        rc = att_http_response_json(resp, 200, "{\"token\":\"", 10);
        rc = rc == ATT_OK ? att_buf_put(&resp->body, input.data, input.len) : rc;
    }
    if (rc == ATT_OK) {
        (void)att_http_response_hold(resp); /* on the job pool: finished by token_signed */
        att_api_attest_log(call, t, claims, false, resp);
        att_signer_sign_async(call->providers->signer, kid, input.data, input.len, token_signed,
                              resp);
    }
    att_buf_cleanup(&input);
    return issue_outcome(rc, err);
}

/* The token's answer is set: log it, and audit it (which may hold the answer, audit.c). */
void att_api_attest_log(const struct att_api_call *call, const struct att_evidence_type *t,
                        const json_t *claims, bool draft, struct att_http_response *resp)
{
    json_t *tcb = t->tcb_status_claim != NULL ? json_object_get(claims, t->tcb_status_claim) : NULL;
    json_t *detail = json_pack("{s:i,s:s,s:b}", "status", 200, "verdict", "permit", "draft", draft);
    json_t *policy_hash = json_object_get(claims, "x-ms-policy-hash");
    if (detail != NULL && json_is_string(policy_hash)) {
        json_object_set(detail, "policyHash", policy_hash);
    }
    if (detail != NULL && json_is_string(tcb)) {
        json_object_set(detail, "tcbStatus", tcb);
    }
    att_api_audit_attestation(call, t->name, "success", detail, resp);
    if (att_log_enabled(ATT_LOG_INFO)) { /* spares building the fields when filtered out */
        att_log(
            ATT_LOG_INFO, "attestation", "request_id", json_string(call->req->request_id),
            "provider", json_string(call->provider->rec.name), "type", json_string(t->name),
            "policy_hash", json_incref(json_object_get(claims, "x-ms-policy-hash")), "tcb_status",
            t->tcb_status_claim != NULL ? json_incref(json_object_get(claims, t->tcb_status_claim))
                                        : NULL,
            "draft", json_boolean(draft), "peer", json_string(call->req->peer_text), NULL);
    }
}

void att_api_attest(const struct att_api_call *call, struct att_http_response *resp)
{
    const struct att_evidence_type *t = call->evidence;
    struct att_attest_error err;
    struct decoded d;
    json_t *claims = NULL;
    struct att_buf token;
    struct att_buf sealed; /* the token sealed to the client's vTPM key (AzureGuest) */
    int64_t now = att_time_now();
    att_err rc;

    /* A type MAA added in a later version is not served under an earlier one (checked here,
     * after the caller's credentials). The versions are dates (a "-preview" suffix sorts after
     * its date), so text order is time order. */
    const struct att_bytes *version = att_http_query_get(call->req->head, "api-version");
    if (t->since_api_version != NULL && version != NULL &&
        att_bytes_cmp_str(*version, t->since_api_version) < 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s needs api-version %s or later", t->name,
                 t->since_api_version);
        att_http_error(resp, 400, "InvalidParameter", msg);
        return;
    }
    memset(&err, 0, sizeof(err));
    decoded_init(&d);
    att_buf_init(&token, ATT_JWS_MAX);
    att_buf_init(&sealed, ATT_SEALED_ANSWER_MAX);
    rc = decode(call->req, t, &d, &err);
    if (rc == ATT_OK) {
        rc = att_api_attest_run(call, t, &d.req, now, &claims, &err);
    }
    /* With a key process, a plain token is signed while its answer is held (on the job pool). */
    bool held = resp->gate != NULL && !t->seals_answer && d.req.draft_policy == NULL &&
                att_keyring_remote_ops(call->api->keyring) != NULL;
    if (rc == ATT_OK && held) {
        rc = issue_held(call, t, claims, now, resp, &err);
        if (rc == ATT_OK) {
            goto done;
        }
    }
    if (rc == ATT_OK) {
        rc = att_api_attest_issue(call, claims, d.req.draft_policy != NULL, now, &token, &err);
    }
    if (rc == ATT_OK && t->seals_answer &&
        (rc = att_sealed_answer(claims, &token, &sealed)) != ATT_OK) {
        rc = internal(&err, rc, "cannot seal the answer");
    }
    if (rc != ATT_OK) {
        att_api_attest_error(call, &err, resp);
    } else {
        answer_token(resp, sealed.len > 0 ? &sealed : &token);
        att_api_attest_log(call, t, claims, d.req.draft_policy != NULL, resp);
    }
done:
    json_decref(claims);
    att_buf_cleanup(&token);
    att_buf_cleanup(&sealed);
    decoded_cleanup(&d);
}

void att_api_tpm_challenge(const struct att_api_call *call, struct att_http_response *resp)
{
    struct att_buf text;
    struct att_buf doc;
    uint8_t nonce[ATT_CHALLENGE_NONCE_LEN];
    char nonce_hex[2 * ATT_CHALLENGE_NONCE_LEN + 1];
    int64_t expires = 0;

    if (call->api->tpm == NULL || call->api->tpm->challenges == NULL) {
        att_http_error(resp, 503, "ServiceUnavailable", "this node issues no challenges");
        return;
    }
    att_buf_init(&text, ATT_CHALLENGE_TEXT_MAX);
    att_buf_init(&doc, 512);
    att_err rc = att_challenge_issue(call->api->tpm->challenges, call->provider->rec.name,
                                     ATT_TPM_CHALLENGE_PURPOSE, att_time_now(), ATT_CHALLENGE_TTL,
                                     &text, nonce, &expires);
    if (rc == ATT_OK) {
        for (size_t i = 0; i < sizeof(nonce); i++) {
            snprintf(nonce_hex + 2 * i, 3, "%02x", nonce[i]);
        }
        /* {"challenge": base64url, "nonce": hex, "expiresOn": seconds}: nothing to escape */
        rc = att_buf_printf(&doc, "{\"challenge\":\"%s\",\"nonce\":\"%s\",\"expiresOn\":%lld}",
                            att_buf_cstr(&text), nonce_hex, (long long)expires);
    }
    if (rc != ATT_OK ||
        att_http_response_json(resp, 200, (const char *)doc.data, doc.len) != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot issue a challenge");
    }
    att_buf_cleanup(&text);
    att_buf_cleanup(&doc);
}
