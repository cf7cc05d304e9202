/*
 * json_span.h - where a member's value sits in JSON text, byte for byte.
 *
 * Some protocols hash a JSON value exactly as the client wrote it: MAA's TPM protocol binds a
 * quote to SHA-256 of the request key's JWK text (docs/reference/maa-tpm-protocol.md, "Challenge
 * and nonce binding"). A parser's values cannot be written back identically, so this scanner
 * finds the value's bytes in the original text through the bounded reader. It checks the
 * structure it walks (strings, escapes, numbers, literals, nesting up to ATT_JSON_SPAN_MAX_DEPTH)
 * but does not decode; parse the same text with jansson (duplicates refused) for the values.
 */
#ifndef ATT_CORE_JSON_SPAN_H
#define ATT_CORE_JSON_SPAN_H

#include "core/err.h"
#include "core/rd.h"

#define ATT_JSON_SPAN_MAX_DEPTH 32

/*
 * The text of the value at `path` (member names, NULL-ended; each step descends into an object)
 * in the JSON object `text`, leading and trailing whitespace excluded. Member names are compared
 * with the name as written (a name spelled with escapes does not match). ATT_ERR_NOT_FOUND when
 * a step is missing or not an object; ATT_ERR_JSON when the text is malformed on the way or too
 * deeply nested.
 */
att_err att_json_value_span(struct att_bytes text, const char *const *path,
                            struct att_bytes *out) ATT_WUR;

#endif
