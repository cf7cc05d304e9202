/*
 * attest_tpm.c - POST /attest/Tpm, MAA's TPM attestation protocol
 * (docs/reference/maa-tpm-protocol.md): two rounds in {"data": b64url(JSON)} envelopes.
 *
 *   1. {"payload": {"type": "aikcert"}} -> {"payload": {"challenge", "service_context"}}: a
 *      challenge sealed for this provider (src/attest/challenge.h); the server keeps nothing.
 *   2. {"payload": {"request": JWS}} -> {"payload": {"report": JWT}}: the JWS (typ attReqV2) is
 *      verified with its own request key, the service context opened and matched with the
 *      challenge, and the quote must carry SHA-256(request key JWK text || 0x00 || challenge);
 *      the quote, its log and AIK certificate are then attested as TpmQuote evidence under the
 *      provider's Tpm policy, and the token confirms the request key (cnf) and echoes rp_data.
 */
#include <string.h>

#include <openssl/evp.h>

#include "api/attest_int.h"
#include "attest/challenge.h"
#include "core/codec.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "evidence/common.h"
#include "evidence/tpm/maa_protocol.h"
#include "evidence/tpm/tpm.h"
#include "token/jwk.h"
#include "token/jws.h"

#define PURPOSE "Tpm" /* what MAA-protocol challenges are sealed for */

static void answer(struct att_http_response *resp, json_t *payload)
{
    struct att_buf body;
    att_buf_init(&body, ATT_JWS_MAX * 2);
    if (payload == NULL || att_maa_tpm_envelope_seal(payload, &body) != ATT_OK ||
        att_http_response_json(resp, 200, (const char *)body.data, body.len) != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot encode the answer");
    }
    json_decref(payload);
    att_buf_cleanup(&body);
}

/* Round 1: a challenge and its sealed context. */
static void round_challenge(const struct att_api_call *call, struct att_http_response *resp)
{
    struct att_buf text;
    struct att_buf challenge;
    uint8_t nonce[ATT_CHALLENGE_NONCE_LEN];
    int64_t expires = 0;
    att_buf_init(&text, ATT_CHALLENGE_TEXT_MAX);
    att_buf_init(&challenge, 2 * ATT_CHALLENGE_NONCE_LEN);
    att_err rc = att_challenge_issue(call->api->tpm->challenges, call->provider->rec.name, PURPOSE,
                                     att_time_now(), ATT_CHALLENGE_TTL, &text, nonce, &expires);
    if (rc == ATT_OK) {
        rc = att_b64url_encode(nonce, sizeof(nonce), &challenge);
    }
    if (rc != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot issue a challenge");
    } else {
        answer(resp, json_pack("{s:s,s:s}", "challenge", att_buf_cstr(&challenge),
                               "service_context", att_buf_cstr(&text)));
    }
    att_buf_cleanup(&text);
    att_buf_cleanup(&challenge);
}

/* The request's JWS: signed by its own request key (PS256, or RS256). */
static att_err check_request_jws(const char *jws, struct att_maa_tpm_request *r,
                                 struct att_attest_error *err)
{
    struct att_jws decoded;
    char msg[256] = "";
    memset(&decoded, 0, sizeof(decoded));
    att_err rc = att_jws_decode_unverified(jws, strlen(jws), &decoded);
    if (rc != ATT_OK) {
        return att_attest_fail(err, ATT_ERR_TPM_PROTOCOL, "request: not a compact JWS (%s)",
                               att_err_name(rc));
    }
    const char *typ = json_string_value(json_object_get(decoded.header, "typ"));
    const char *alg = json_string_value(json_object_get(decoded.header, "alg"));
    enum att_jws_alg pinned = ATT_JWS_PS256;
    if (typ == NULL || strcmp(typ, "attReqV2") != 0) {
        rc = att_attest_fail(err, ATT_ERR_TPM_PROTOCOL,
                             "request: typ must be attReqV2 (version 1 requests are not "
                             "supported)");
    } else if (alg == NULL || att_jws_alg_parse(alg, &pinned) != ATT_OK ||
               (pinned != ATT_JWS_PS256 && pinned != ATT_JWS_RS256)) {
        rc = att_attest_fail(err, ATT_ERR_TPM_PROTOCOL, "request: alg must be PS256 or RS256");
    } else {
        struct att_bytes payload = {decoded.payload.data, decoded.payload.len};
        rc = att_maa_tpm_request_parse(payload, r, msg, sizeof(msg));
        if (rc != ATT_OK) {
            att_attest_fail(err, rc, "request: %s", msg);
        }
    }
    att_jws_cleanup(&decoded);
    ATT_TRY(rc);
    /* The key inside the payload must verify the JWS: the client holds it (no kid, §Rounds). */
    EVP_PKEY *key = NULL;
    enum att_jws_alg key_alg;
    struct att_jws verified;
    rc = att_jwk_to_key(r->jwk, &key, &key_alg);
    if (rc == ATT_OK) {
        rc = att_jws_verify(jws, strlen(jws), key, pinned, &verified);
        if (rc == ATT_OK) {
            att_jws_cleanup(&verified);
        }
    }
    EVP_PKEY_free(key);
    if (rc != ATT_OK) {
        return att_attest_fail(err, ATT_ERR_TPM_PROTOCOL,
                               "request: the JWS does not verify with request_key.jwk (%s)",
                               att_err_name(rc));
    }
    return ATT_OK;
}

/* The service context opens for this provider, its challenge is the request's, and the quote
 * must carry SHA-256(UTF8(jwk) || 0x00 || challenge). */
static att_err bind_challenge(const struct att_api_call *call, const struct att_maa_tpm_request *r,
                              uint8_t nonce[ATT_CHALLENGE_NONCE_LEN], int64_t *expires,
                              uint8_t bound[32], struct att_attest_error *err)
{
    struct att_buf claimed;
    att_err rc = att_challenge_open(call->api->tpm->challenges, call->provider->rec.name, PURPOSE,
                                    r->service_context, strlen(r->service_context), att_time_now(),
                                    nonce, expires);
    if (rc != ATT_OK) {
        return att_attest_fail(err, rc, "service_context: %s", att_err_str(rc));
    }
    att_buf_init(&claimed, 2 * ATT_CHALLENGE_NONCE_LEN);
    bool same = att_b64url_padded(r->challenge, strlen(r->challenge), &claimed) == ATT_OK &&
                claimed.len == ATT_CHALLENGE_NONCE_LEN &&
                att_ct_equal(claimed.data, nonce, ATT_CHALLENGE_NONCE_LEN);
    att_buf_cleanup(&claimed);
    if (!same) {
        return att_attest_fail(err, ATT_ERR_CHALLENGE_INVALID,
                               "att_data.challenge is not the challenge of service_context");
    }
    static const uint8_t zero = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, r->jwk_text.ptr, r->jwk_text.len) == 1 &&
              EVP_DigestUpdate(ctx, &zero, 1) == 1 &&
              EVP_DigestUpdate(ctx, nonce, ATT_CHALLENGE_NONCE_LEN) == 1 &&
              EVP_DigestFinal_ex(ctx, bound, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? ATT_OK : att_attest_fail(err, ATT_ERR_CRYPTO, "cannot hash the binding");
}

/* Round 2: the request, attested as TpmQuote evidence. */
static void round_request(const struct att_api_call *call, const char *jws,
                          struct att_http_response *resp)
{
    struct att_attest_error err;
    struct att_maa_tpm_request r;
    struct att_evidence_request req;
    uint8_t nonce[ATT_CHALLENGE_NONCE_LEN];
    uint8_t bound[32];
    int64_t expires = 0;
    int64_t now = att_time_now();
    json_t *claims = NULL;
    struct att_buf token;

    memset(&err, 0, sizeof(err));
    memset(&r, 0, sizeof(r));
    memset(&req, 0, sizeof(req));
    att_buf_init(&token, ATT_JWS_MAX);
    att_err rc = check_request_jws(jws, &r, &err);
    if (rc == ATT_OK) {
        rc = bind_challenge(call, &r, nonce, &expires, bound, &err);
    }
    if (rc == ATT_OK) {
        req.evidence.ptr = r.quote.data;
        req.evidence.len = r.quote.len;
        req.body = r.body;
        req.bound_nonce.ptr = bound;
        req.bound_nonce.len = sizeof(bound);
        rc = att_api_attest_run(call, &att_evidence_tpm_quote, &req, now, &claims, &err);
    }
    if (rc == ATT_OK) {
        /* the token confirms the request key (RFC 7800) and echoes the relying party's data */
        rc = att_claim_set(claims, "cnf", json_pack("{s:O}", "jwk", r.jwk));
        if (rc == ATT_OK && r.rp_data != NULL) {
            rc = att_claim_set(claims, "rp_data", json_string(r.rp_data));
        }
        if (rc != ATT_OK) {
            att_attest_fail(&err, rc, "cannot build the token");
        }
    }
    if (rc == ATT_OK) {
        /* once: a second request on the same context is refused (atomic, so of two racing
         * requests one is) */
        rc = att_challenge_use(call->api->tpm->challenges, call->provider->rec.name, nonce, expires,
                               now);
        if (rc != ATT_OK) {
            att_attest_fail(&err, rc, "service_context: %s", att_err_str(rc));
        }
    }
    if (rc == ATT_OK) {
        rc = att_api_attest_issue(call, claims, false, now, &token, &err);
    }
    if (rc != ATT_OK) {
        att_api_attest_error(call, &err, resp);
    } else {
        answer(resp, json_pack("{s:s}", "report", att_buf_cstr(&token)));
        att_api_attest_log(call, &att_evidence_tpm_quote, claims, false, resp);
    }
    json_decref(claims);
    att_buf_cleanup(&token);
    att_maa_tpm_request_free(&r);
}

void att_api_attest_tpm(const struct att_api_call *call, struct att_http_response *resp)
{
    json_t *payload = NULL;
    char msg[256] = "";
    struct att_bytes body = {call->req->body, call->req->body_len};
    if (call->api->tpm == NULL || call->api->tpm->challenges == NULL) {
        att_http_error(resp, 503, "ServiceUnavailable", "this node does not serve TPM attestation");
        return;
    }
    att_err rc = att_maa_tpm_envelope_open(body, &payload, msg, sizeof(msg));
    const char *type = json_string_value(json_object_get(payload, "type"));
    const char *request = json_string_value(json_object_get(payload, "request"));
    if (rc == ATT_OK && type != NULL && strcmp(type, "aikcert") == 0) {
        round_challenge(call, resp);
    } else if (rc == ATT_OK && request != NULL) {
        round_request(call, request, resp);
    } else {
        struct att_attest_error err;
        memset(&err, 0, sizeof(err));
        att_attest_fail(&err, ATT_ERR_TPM_PROTOCOL, "%s",
                        rc != ATT_OK ? msg
                                     : "payload must be {\"type\": \"aikcert\"} or "
                                       "{\"request\": JWS}");
        att_api_attest_error(call, &err, resp);
    }
    json_decref(payload);
}
