/*
 * sealed_answer.h - the answer Microsoft's guest attestation clients expect from
 * POST /attest/AzureGuest (docs/reference/azure-cvm.md, "Sealed answer"): the token encrypted
 * so that only the vTPM holding the key the evidence certified can read it.
 */
#ifndef ATT_API_SEALED_ANSWER_H
#define ATT_API_SEALED_ANSWER_H

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "evidence/evidence.h"
#include "token/jws.h"

/* The largest sealed answer: a JWS of ATT_JWS_MAX, base64 twice over, and the envelope. */
#define ATT_SEALED_ANSWER_MAX (2 * ATT_JWS_MAX + 4096)

/*
 * When `claims` (the token's) name a key of kid ATT_SEALED_ANSWER_KID in x-ms-runtime, write into
 * `out` (empty otherwise; at most ATT_SEALED_ANSWER_MAX) the sealed answer for `token` (the JWS):
 *
 *   base64url(JSON {"Jwt": base64(AES-256-GCM ciphertext of the JWS),
 *                   "EncryptedInnerKey": base64(the AES key, RSAES-PKCS1-v1_5 to the key),
 *                   "EncryptionParams": {"BlockMode": "ChainingModeGCM", "BlockPadding": "PKCS7",
 *                                        "Cipher": "AES", "KeySizeInBits": 256,
 *                                        "Iv": base64(12 bytes)},
 *                   "AuthenticationData": base64(the 16-byte GCM tag)})
 *
 * with the ASCII text "Transport Key" as the GCM's additional data. Only types with seals_answer
 * set may be sealed (their x-ms-runtime is attestd's, never a client's JSON). ATT_ERR_KEY_TYPE,
 * ATT_ERR_CRYPTO, ATT_ERR_NOMEM.
 */
att_err att_sealed_answer(const json_t *claims, const struct att_buf *token,
                          struct att_buf *out) ATT_WUR;

#endif
