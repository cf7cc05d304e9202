/*
 * ids.h - random identifiers (request ids, token ids) drawn cheaply.
 *
 * Identifiers must be unique and unguessable, not secret: they are printed in logs and tokens.
 * Each thread keeps a small pool filled from the OpenSSL CSPRNG and hands it out in slices, so
 * the hot path pays one RAND_bytes call per ATT_IDS_POOL bytes instead of one per identifier.
 * Never use this for keys, nonces or secrets: those come from RAND_bytes directly.
 */
#ifndef ATT_CRYPTO_IDS_H
#define ATT_CRYPTO_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define ATT_IDS_POOL 1024 /* bytes per refill: about 20 attestations' worth */
#define ATT_IDS_MAX 64    /* largest identifier one call may take */

/* Fill `out` (n <= ATT_IDS_MAX) with CSPRNG bytes no other call has returned. */
att_err att_id_random(uint8_t *out, size_t n) ATT_WUR;

/* RFC 9562 §5.4 version-4 UUID text, lowercase: 36 characters and a NUL. */
att_err att_id_uuid4(char out[37]) ATT_WUR;

/* n random bytes (n <= ATT_IDS_MAX) as 2n lowercase hex characters and a NUL. */
att_err att_id_hex(size_t n, char *out, size_t out_len) ATT_WUR;

#endif
