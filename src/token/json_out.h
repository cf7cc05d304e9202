/*
 * json_out.h - compact JSON text of a jansson value, fast.
 *
 * Every attestation token's payload is serialised: jansson's json_dumps spends ~60 us on an
 * SGX token (it checks UTF-8 a character at a time through callbacks), a fifth of the whole
 * request with ES256. Values built with jansson hold valid UTF-8 already, so this writer only
 * escapes what JSON requires (RFC 8259 §7) and copies the rest in runs. The output is
 * byte-identical to json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)
 * (tests/unit/token/test_json_out.c checks that); reals are written by jansson itself.
 */
#ifndef ATT_TOKEN_JSON_OUT_H
#define ATT_TOKEN_JSON_OUT_H

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_JSON_OUT_MAX_DEPTH 64

/* Append the compact JSON of `v`. ATT_ERR_TOO_LARGE (over out's cap or too deep), ATT_ERR_NOMEM. */
att_err att_json_compact(const json_t *v, struct att_buf *out) ATT_WUR;

#endif
