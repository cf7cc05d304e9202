/*
 * sealed_answer.c - tokens sealed to a vTPM key (sealed_answer.h). The format is what
 * Microsoft's clients decrypt (the C++ guest attestation library, its Python tool, Edgeless
 * Systems' Go client): the inner key with TPM2_RSA_Decrypt (scheme RSAES), then AES-GCM.
 */
#include "api/sealed_answer.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/codec.h"
#include "core/mem.h"
#include "crypto/ids.h"
#include "token/jwk.h"

#define AES_KEY_LEN 32
#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16
#define AAD "Transport Key"

/* The JWK of kid ATT_SEALED_ANSWER_KID in x-ms-runtime's keys, NULL when none. */
static const json_t *sealing_jwk(const json_t *claims)
{
    const json_t *keys = json_object_get(json_object_get(claims, "x-ms-runtime"), "keys");
    size_t i;
    const json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        if (kid != NULL && strcmp(kid, ATT_SEALED_ANSWER_KID) == 0) {
            return k;
        }
    }
    return NULL;
}

/* `ct` = AES-256-GCM(key, iv, AAD) of `pt`, and its tag. */
static att_err gcm_seal(const uint8_t key[AES_KEY_LEN], const uint8_t iv[GCM_IV_LEN],
                        const struct att_buf *pt, uint8_t *ct, uint8_t tag[GCM_TAG_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    int fin = 0;
    bool ok = ctx != NULL && pt->len <= INT32_MAX &&
              EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, iv, NULL) == 1 &&
              EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)AAD, (int)strlen(AAD)) == 1 &&
              EVP_EncryptUpdate(ctx, ct, &n, pt->data, (int)pt->len) == 1 &&
              EVP_EncryptFinal_ex(ctx, ct + n, &fin) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? ATT_OK : ATT_ERR_CRYPTO;
}

/* RSAES-PKCS1-v1_5 of `in` to `key` (RFC 8017 §7.2), into `out`. */
static att_err rsa_wrap(EVP_PKEY *key, const uint8_t *in, size_t len, struct att_buf *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    size_t n = 0;
    att_err rc = ATT_ERR_CRYPTO;
    if (ctx != NULL && EVP_PKEY_encrypt_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
        EVP_PKEY_encrypt(ctx, NULL, &n, in, len) == 1) {
        rc = att_buf_reserve(out, n);
        if (rc == ATT_OK) {
            rc = EVP_PKEY_encrypt(ctx, out->data, &n, in, len) == 1 ? ATT_OK : ATT_ERR_CRYPTO;
            out->len = rc == ATT_OK ? n : 0;
        }
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
    struct att_buf b;
    att_buf_init(&b, 4 * (n / 3 + 2));
    json_t *s =
        att_b64_encode(p, n, &b) == ATT_OK ? json_stringn((const char *)b.data, b.len) : NULL;
    att_buf_cleanup(&b);
    return s;
}

att_err att_sealed_answer(const json_t *claims, const struct att_buf *token, struct att_buf *out)
{
    const json_t *jwk = sealing_jwk(claims);
    if (jwk == NULL) {
        return ATT_OK;
    }
    EVP_PKEY *key = NULL;
    uint8_t aes[AES_KEY_LEN];
    uint8_t iv[GCM_IV_LEN];
    uint8_t tag[GCM_TAG_LEN];
    struct att_buf ct;
    struct att_buf wrapped;
    char *text = NULL;
    json_t *doc = NULL;
    att_buf_init(&ct, token->len + 1);
    att_buf_init(&wrapped, 1024);
    att_err rc = att_jwk_rsa_key(jwk, &key);
    if (rc == ATT_OK) {
        rc = att_id_random(aes, sizeof(aes));
    }
    if (rc == ATT_OK) {
        rc = att_id_random(iv, sizeof(iv));
    }
    if (rc == ATT_OK) {
        rc = att_buf_reserve(&ct, token->len + 1);
    }
    if (rc == ATT_OK) {
        rc = gcm_seal(aes, iv, token, ct.data, tag);
        ct.len = rc == ATT_OK ? token->len : 0;
    }
    if (rc == ATT_OK) {
        rc = rsa_wrap(key, aes, sizeof(aes), &wrapped);
    }
    att_wipe(aes, sizeof(aes));
    if (rc == ATT_OK) {
        doc = json_pack("{s:o,s:o,s:{s:s,s:s,s:s,s:i,s:o},s:o}", "Jwt", b64_json(ct.data, ct.len),
                        "EncryptedInnerKey", b64_json(wrapped.data, wrapped.len),
                        "EncryptionParams", "BlockMode", "ChainingModeGCM", "BlockPadding", "PKCS7",
                        "Cipher", "AES", "KeySizeInBits", 8 * AES_KEY_LEN, "Iv",
                        b64_json(iv, sizeof(iv)), "AuthenticationData", b64_json(tag, sizeof(tag)));
        text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
        rc = text != NULL ? ATT_OK : ATT_ERR_NOMEM;
    }
    if (rc == ATT_OK) {
        rc = att_b64url_encode(text, strlen(text), out);
    }
    free(text);
    json_decref(doc);
    EVP_PKEY_free(key);
    att_buf_cleanup(&ct);
    att_buf_cleanup(&wrapped);
    return rc;
}
