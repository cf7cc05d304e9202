/*
 * common.h - small pieces every evidence type uses: setting token claims and checking the
 * hash binding of runtime / init-time data (docs/reference/maa-tokens.md §2.9).
 */
#ifndef ATT_EVIDENCE_COMMON_H
#define ATT_EVIDENCE_COMMON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"
#include "evidence/evidence.h"

/* Set claim `key` (an ASCII literal: jansson need not check it) to `v`, taking v. NULL v (a
 * failed json_* constructor) is ATT_ERR_NOMEM. */
att_err att_claim_set(json_t *obj, const char *key, json_t *v) ATT_WUR;
/* Lower-case hex of n <= 64 bytes. */
att_err att_claim_set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n) ATT_WUR;
/* base64url (unpadded) of the bytes. */
att_err att_claim_set_b64url(json_t *obj, const char *key, struct att_bytes b) ATT_WUR;

/* base64url, with '=' padding tolerated (some clients pad). */
att_err att_b64url_padded(const char *s, size_t n, struct att_buf *out) ATT_WUR;

/*
 * When `d` is present: SHA-256 of its bytes must equal the first 32 bytes of `field`
 * (docs/reference/maa-tokens.md §2.9), else `code` (ATT_ERR_RUNTIME_DATA_BINDING or
 * ATT_ERR_INIT_DATA_BINDING) with msg "SHA-256 of the runtime data does not match the first 32
 * bytes of the report data"
 * (`field_name` names the field).
 */
att_err att_evidence_binding(const struct att_bound_data *d, const uint8_t field[32], att_err code,
                             const char *field_name, char *msg, size_t msg_len) ATT_WUR;

#endif
