/*
 * maa_protocol.h - the messages of MAA's TPM attestation protocol on POST /attest/Tpm
 * (docs/reference/maa-tpm-protocol.md): the envelope {"data": b64url(JSON)} with the message
 * under "payload", and the second round's request, a JWS (typ "attReqV2") whose payload
 * {"att_type": "basic", "att_data": {...}} carries one TPM quote with its log, AIK certificate
 * and public key, signed by the request key the quote binds.
 *
 * Pure decoding: no keys are checked here. The request becomes the body of attestd's TpmQuote
 * type (tpm.h), so both forms share one verification; what MAA's form adds (the JWS signature by
 * the request key, the service context, the binding of the request key into the quote) is
 * src/api's to check with what this decodes.
 *
 * Not supported (ATT_ERR_TPM_PROTOCOL names it): version 1 requests (attReq, whose Windows
 * platform-claim blobs are not publicly specified), VBS enclave reports (att_type "vbs"),
 * request keys certified with TPM2_Certify, and boot (resume) attestations.
 */
#ifndef ATT_EVIDENCE_TPM_MAA_PROTOCOL_H
#define ATT_EVIDENCE_TPM_MAA_PROTOCOL_H

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"

/* Caps: a request's JSON (logs included) and its event logs. */
#define ATT_MAA_TPM_MAX_MESSAGE ((size_t)8 << 20)

/*
 * The envelope: `body` is the HTTP body {"data": b64url(JSON)}; *payload (a new reference) is the
 * object under "payload". ATT_ERR_TPM_PROTOCOL.
 */
att_err att_maa_tpm_envelope_open(struct att_bytes body, json_t **payload, char *msg,
                                  size_t msg_len) ATT_WUR;

/* {"data": b64url({"payload": payload})} appended to `out`. */
att_err att_maa_tpm_envelope_seal(json_t *payload, struct att_buf *out) ATT_WUR;

/* The second round's request, decoded. */
struct att_maa_tpm_request {
    json_t *payload; /* the JWS payload (owned) */
    struct att_buf payload_text;
    struct att_bytes jwk_text; /* att_data.request_key.jwk exactly as sent (in payload_text) */
    json_t *jwk;               /* request_key.jwk (borrowed from payload) */
    const char *challenge;     /* att_data.challenge: b64url */
    const char *service_context;
    const char *rp_data;  /* NULL when absent */
    const char *rp_id;    /* NULL when absent */
    struct att_buf quote; /* current_attestation.quote, decoded */
    json_t *body;         /* the TpmQuote body of the quote (owned) */
};

/*
 * Decode a request JWS's payload (its base64url-decoded bytes; the signature is checked by the
 * caller with *jwk). ATT_ERR_TPM_PROTOCOL names the member; free with att_maa_tpm_request_free
 * (also after a failure).
 */
att_err att_maa_tpm_request_parse(struct att_bytes payload, struct att_maa_tpm_request *out,
                                  char *msg, size_t msg_len) ATT_WUR;
void att_maa_tpm_request_free(struct att_maa_tpm_request *r);

#endif
