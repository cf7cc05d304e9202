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

/* The kid of the key an answer is sealed to, in the token's x-ms-runtime "keys" (MAA's name). */
#define ATT_SEALED_ANSWER_KID "TpmEphemeralEncryptionKey"

/*
 * When `claims` (the token's) name a key of kid ATT_SEALED_ANSWER_KID in x-ms-runtime, replace
 * `token` (the JWS) by the sealed answer:
 *
 *   base64url(JSON {"Jwt": base64(AES-256-GCM ciphertext of the JWS),
 *                   "EncryptedInnerKey": base64(the AES key, RSAES-PKCS1-v1_5 to the key),
 *                   "EncryptionParams": {"BlockMode": "ChainingModeGCM", "BlockPadding": "PKCS7",
 *                                        "Cipher": "AES", "KeySizeInBits": 256,
 *                                        "Iv": base64(12 bytes)},
 *                   "AuthenticationData": base64(the 16-byte GCM tag)})
 *
 * with the ASCII text "Transport Key" as the GCM's additional data. Without such a key `token`
 * is left as it is. Only types with seals_answer set may be sealed (their x-ms-runtime is
 * attestd's, never a client's JSON). ATT_ERR_KEY_TYPE, ATT_ERR_CRYPTO, ATT_ERR_NOMEM.
 */
att_err att_sealed_answer(const json_t *claims, struct att_buf *token) ATT_WUR;

#endif
