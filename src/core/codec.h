/*
 * codec.h - base64 (RFC 4648 §4), base64url (§5) and hex.
 *
 * Decoders are strict, because their input is untrusted and because a
 * signature covers exact bytes:
 *   - base64url: unpadded only ('=' refused, as JWS requires, RFC 7515 §2),
 *     alphabet A-Z a-z 0-9 - _ only, a length of 4k+1 refused, and the
 *     unused low bits of the last symbol must be zero (canonical form).
 *   - base64: padding required to a multiple of 4, standard alphabet,
 *     canonical last symbol; no whitespace.
 *   - hex: even length, 0-9 a-f A-F; encoders write lowercase.
 * Decoded bytes are appended to `out`; on error `out` is left as it was.
 */
#ifndef ATT_CORE_CODEC_H
#define ATT_CORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

att_err att_b64url_encode(const void *p, size_t n, struct att_buf *out) ATT_WUR;
att_err att_b64url_decode(const char *s, size_t n, struct att_buf *out) ATT_WUR;
att_err att_b64_encode(const void *p, size_t n, struct att_buf *out) ATT_WUR;
att_err att_b64_decode(const char *s, size_t n, struct att_buf *out) ATT_WUR;
att_err att_hex_encode(const void *p, size_t n, struct att_buf *out) ATT_WUR;
att_err att_hex_decode(const char *s, size_t n, struct att_buf *out) ATT_WUR;
/* The value of one hex digit (0-9 a-f A-F), or -1. */
int att_hex_nibble(uint8_t c);

#endif
