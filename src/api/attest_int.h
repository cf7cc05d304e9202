/*
 * attest_int.h - what the attestation routes share (attest.c: MAA's /attest/<type> bodies;
 * attest_tpm.c: MAA's TPM protocol): run an attestation with the provider's policy, sign its
 * token, log it, and turn a failure into MAA's error answer.
 */
#ifndef ATT_API_ATTEST_INT_H
#define ATT_API_ATTEST_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "attest/attest.h"
#include "core/buf.h"

/* Attest `req` as type `t` with the provider's policy for `t` (or the request's draft) at `now`
 * (or the test build's fixed time). On success *claims is the token's claim set. */
att_err att_api_attest_run(const struct att_api_call *call, const struct att_evidence_type *t,
                           const struct att_evidence_request *req, int64_t now, json_t **claims,
                           struct att_attest_error *err) ATT_WUR;
/* Sign `claims` with the provider's key (unsigned for a draft policy) into `token`. */
att_err att_api_attest_issue(const struct att_api_call *call, json_t *claims, bool draft,
                             int64_t now, struct att_buf *token,
                             struct att_attest_error *err) ATT_WUR;
/* The "attestation" log line of a success. */
void att_api_attest_log(const struct att_api_call *call, const struct att_evidence_type *t,
                        const json_t *claims, bool draft, struct att_http_response *resp);
/* MAA's error answer for a failed attestation (logged and audited). */
void att_api_attest_error(const struct att_api_call *call, const struct att_attest_error *e,
                          struct att_http_response *resp);

#endif
