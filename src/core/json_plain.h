/*
 * json_plain.h - a fast path for parsing request bodies into jansson values.
 *
 * jansson's lexer spends ~90 us on one attestation request: it reads the 6 KiB base64url quote
 * a character at a time through callbacks. Request bodies are almost always "plain": objects
 * whose members are printable-ASCII strings without escape sequences, nested objects, null,
 * true and false. This parser handles exactly that shape with the bounded reader and memchr;
 * for anything else (numbers, arrays, escapes, non-ASCII text, duplicate names, depth over
 * ATT_JSON_PLAIN_MAX_DEPTH, or malformed text) it answers ATT_ERR_NOT_FOUND and the caller
 * parses with json_loadb, which then accepts or refuses as always. Where both parse, they give
 * equal values (tests/fuzz/fuzz_json_plain.c checks this on every input).
 */
#ifndef ATT_CORE_JSON_PLAIN_H
#define ATT_CORE_JSON_PLAIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define ATT_JSON_PLAIN_MAX_DEPTH 8

/* ATT_OK with a new object in *out; ATT_ERR_NOT_FOUND: not plain; ATT_ERR_NOMEM. */
att_err att_json_plain_load(const uint8_t *text, size_t len, json_t **out) ATT_WUR;

#endif
