/*
 * maa_protocol.c - decode MAA's TPM protocol messages (maa_protocol.h;
 * docs/reference/maa-tpm-protocol.md "Rounds").
 */
#include "evidence/tpm/maa_protocol.h"

#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/json_span.h"
#include "evidence/common.h"
#include "evidence/tpm/tpm2.h"

#define MAX_LOGS 4
#define MAX_BANKS 4

static att_err bad(char *msg, size_t msg_len, const char *what)
{
    return att_failf(ATT_ERR_TPM_PROTOCOL, msg, msg_len, "%s", what);
}

att_err att_maa_tpm_envelope_open(struct att_bytes body, json_t **payload, char *msg,
                                  size_t msg_len)
{
    json_error_t jerr;
    struct att_buf text;
    json_t *inner = NULL;
    att_err rc = ATT_ERR_TPM_PROTOCOL;
    json_t *outer = json_loadb((const char *)body.ptr, body.len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *data = json_object_get(outer, "data");

    att_buf_init(&text, ATT_MAA_TPM_MAX_MESSAGE);
    if (!json_is_string(data) ||
        att_b64url_padded(json_string_value(data), json_string_length(data), &text) != ATT_OK) {
        rc = bad(msg, msg_len, "the body must be {\"data\": base64url of a JSON message}");
        goto out;
    }
    inner = json_loadb((const char *)text.data, text.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(json_object_get(inner, "payload"))) {
        rc = bad(msg, msg_len, "the message has no object member \"payload\"");
        goto out;
    }
    *payload = json_incref(json_object_get(inner, "payload"));
    rc = ATT_OK;
out:
    json_decref(outer);
    json_decref(inner);
    att_buf_cleanup(&text);
    return rc;
}

att_err att_maa_tpm_envelope_seal(json_t *payload, struct att_buf *out)
{
    json_t *msg = json_pack("{s:O}", "payload", payload);
    char *text = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL;
    att_err rc = text != NULL ? ATT_OK : ATT_ERR_NOMEM;
    if (rc == ATT_OK) {
        struct att_buf b64;
        att_buf_init(&b64, 2 * strlen(text) + 16);
        rc = att_b64url_encode(text, strlen(text), &b64);
        if (rc == ATT_OK) {
            rc = att_buf_printf(out, "{\"data\":\"%s\"}", att_buf_cstr(&b64));
        }
        att_buf_cleanup(&b64);
    }
    free(text);
    json_decref(msg);
    return rc;
}

void att_maa_tpm_request_free(struct att_maa_tpm_request *r)
{
    json_decref(r->payload);
    json_decref(r->body);
    att_buf_cleanup(&r->payload_text);
    att_buf_cleanup(&r->quote);
    memset(r, 0, sizeof(*r));
}

static const char *string_member(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* pcrs: [{"algorithm": TPM_ALG_ID, "values": [{"index", "digest": b64url}]}] as TpmQuote's
 * {"sha256": {"0": hex}}. */
static att_err pcrs_body(const json_t *banks, json_t *out, char *msg, size_t msg_len)
{
    size_t i;
    const json_t *bank;
    if (!json_is_array(banks) || json_array_size(banks) > MAX_BANKS) {
        return bad(msg, msg_len, "current_attestation.pcrs must be an array of banks");
    }
    json_array_foreach(banks, i, bank)
    {
        const json_t *alg = json_object_get(bank, "algorithm");
        const json_t *values = json_object_get(bank, "values");
        char name[8];
        if (!json_is_integer(alg) || json_integer_value(alg) < 0 ||
            json_integer_value(alg) > 0xFFFF ||
            att_tpm_bank_of((uint16_t)json_integer_value(alg)) < 0 || !json_is_array(values) ||
            json_array_size(values) > ATT_TPM_PCRS) {
            return bad(msg, msg_len,
                       "a pcrs bank must have an algorithm of SHA-1 or SHA-2 and its values");
        }
        const char *n = att_tpm_alg_name((uint16_t)json_integer_value(alg));
        for (size_t k = 0; k <= strlen(n); k++) {
            name[k] = (char)(n[k] >= 'A' && n[k] <= 'Z' ? n[k] - 'A' + 'a' : n[k]);
        }
        json_t *dst = json_object();
        if (dst == NULL || json_object_set_new(out, name, dst) != 0) {
            return ATT_ERR_NOMEM;
        }
        size_t j;
        const json_t *v;
        json_array_foreach(values, j, v)
        {
            const json_t *index = json_object_get(v, "index");
            const json_t *digest = json_object_get(v, "digest");
            struct att_buf d;
            struct att_buf hex;
            char key[4];
            att_buf_init(&d, ATT_TPM_DIGEST_MAX);
            att_buf_init(&hex, 2 * ATT_TPM_DIGEST_MAX + 1);
            att_err rc =
                json_is_integer(index) && json_integer_value(index) >= 0 &&
                        json_integer_value(index) < ATT_TPM_PCRS && json_is_string(digest)
                    ? att_b64url_padded(json_string_value(digest), json_string_length(digest), &d)
                    : ATT_ERR_ENCODING;
            if (rc == ATT_OK) {
                rc = att_hex_encode(d.data, d.len, &hex);
            }
            if (rc == ATT_OK) {
                snprintf(key, sizeof(key), "%d", (int)json_integer_value(index));
                rc = json_object_set_new(dst, key, json_stringn((const char *)hex.data, hex.len)) ==
                             0
                         ? ATT_OK
                         : ATT_ERR_NOMEM;
            } else {
                rc = bad(msg, msg_len,
                         "a pcrs value must be {\"index\": 0-23, \"digest\": base64url}");
            }
            att_buf_cleanup(&d);
            att_buf_cleanup(&hex);
            ATT_TRY(rc);
        }
    }
    return ATT_OK;
}

/* The first TCG log of current_attestation.logs (IMA logs are not appraised). */
static json_t *tcg_log(json_t *logs)
{
    size_t i;
    json_t *l;
    json_array_foreach(logs, i, l)
    {
        const char *type = string_member(l, "type");
        if (i < MAX_LOGS && type != NULL && strcmp(type, "TCG") == 0 &&
            json_is_string(json_object_get(l, "log"))) {
            return json_object_get(l, "log");
        }
    }
    return NULL;
}

/* current_attestation as the TpmQuote body. */
static att_err attestation_body(struct att_maa_tpm_request *r, const json_t *cur, char *msg,
                                size_t msg_len)
{
    const char *quote = string_member(cur, "quote");
    json_t *sig = json_object_get(cur, "signature");
    json_t *aik_pub = json_object_get(cur, "aik_pub");
    json_t *aik_cert = json_object_get(cur, "aik_cert");
    json_t *logs = json_object_get(cur, "logs");
    if (quote == NULL || !json_is_string(sig) || !json_is_object(aik_pub)) {
        return bad(msg, msg_len,
                   "current_attestation needs quote, signature (base64url) and aik_pub (a JWK)");
    }
    att_buf_init(&r->quote, (size_t)64 << 10);
    if (att_b64url_padded(quote, strlen(quote), &r->quote) != ATT_OK) {
        return bad(msg, msg_len, "current_attestation.quote is not base64url");
    }
    r->body = json_pack("{s:O,s:O}", "signature", sig, "akJwk", aik_pub);
    json_t *pcrs = json_object();
    if (r->body == NULL || pcrs == NULL || json_object_set_new(r->body, "pcrs", pcrs) != 0) {
        return ATT_ERR_NOMEM;
    }
    if (aik_cert != NULL && !json_is_string(aik_cert)) {
        return bad(msg, msg_len, "current_attestation.aik_cert is not base64url");
    }
    if (aik_cert != NULL && json_object_set(r->body, "akCertificate", aik_cert) != 0) {
        return ATT_ERR_NOMEM;
    }
    if (logs != NULL && !json_is_array(logs)) {
        return bad(msg, msg_len, "current_attestation.logs is not an array");
    }
    json_t *log = tcg_log(logs);
    if (log != NULL && json_object_set(r->body, "eventLog", log) != 0) {
        return ATT_ERR_NOMEM;
    }
    return pcrs_body(json_object_get(cur, "pcrs"), pcrs, msg, msg_len);
}

att_err att_maa_tpm_request_parse(struct att_bytes payload, struct att_maa_tpm_request *r,
                                  char *msg, size_t msg_len)
{
    static const char *const jwk_path[] = {"att_data", "request_key", "jwk", NULL};
    json_error_t jerr;
    memset(r, 0, sizeof(*r));
    att_buf_init(&r->payload_text, ATT_MAA_TPM_MAX_MESSAGE);
    ATT_TRY(att_buf_put(&r->payload_text, payload.ptr, payload.len));
    r->payload = json_loadb((const char *)r->payload_text.data, r->payload_text.len,
                            JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(r->payload)) {
        return bad(msg, msg_len, "the request's payload is not a JSON object");
    }
    const char *type = string_member(r->payload, "att_type");
    if (type == NULL || strcmp(type, "basic") != 0) {
        return bad(msg, msg_len,
                   "att_type must be \"basic\" (VBS enclave reports are not supported)");
    }
    const json_t *data = json_object_get(r->payload, "att_data");
    r->challenge = string_member(data, "challenge");
    r->service_context = string_member(data, "service_context");
    r->rp_data = string_member(data, "rp_data");
    r->rp_id = string_member(data, "rp_id");
    if (r->challenge == NULL || r->service_context == NULL) {
        return bad(msg, msg_len, "att_data needs challenge and service_context (from round 1)");
    }
    const json_t *key = json_object_get(data, "request_key");
    r->jwk = json_object_get(key, "jwk");
    struct att_bytes text = {r->payload_text.data, r->payload_text.len};
    if (!json_is_object(r->jwk) || att_json_value_span(text, jwk_path, &r->jwk_text) != ATT_OK) {
        return bad(msg, msg_len, "att_data.request_key.jwk must be a JWK object");
    }
    const json_t *info = json_object_get(key, "info");
    const char *hash = string_member(json_object_get(info, "tpm_quote"), "hash_alg");
    if (hash == NULL || strcmp(hash, "sha-256") != 0) {
        return bad(msg, msg_len,
                   "request_key.info must be {\"tpm_quote\": {\"hash_alg\": \"sha-256\"}} "
                   "(keys certified with TPM2_Certify are not supported)");
    }
    const json_t *cur =
        json_object_get(json_object_get(data, "tpm_att_data"), "current_attestation");
    if (!json_is_object(cur)) {
        return bad(msg, msg_len, "att_data.tpm_att_data.current_attestation is missing");
    }
    return attestation_body(r, cur, msg, msg_len);
}
