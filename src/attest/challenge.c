/*
 * challenge.c - sealed, single-use challenges (challenge.h). Layout of the sealed bytes:
 * version (1) || IV (12) || AES-256-GCM(expiry u64 big-endian || nonce (32)) || tag (16), the
 * additional data "attestd challenge" NUL purpose NUL provider (NIST SP 800-38D).
 */
#include "attest/challenge.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/assertion.h"
#include "core/codec.h"
#include "core/mem.h"
#include "core/rd.h"

#define VERSION 1
#define KEY_LEN 32
#define IV_LEN 12
#define TAG_LEN 16
#define PLAIN_LEN (8 + ATT_CHALLENGE_NONCE_LEN)
#define SEALED_LEN (1 + IV_LEN + PLAIN_LEN + TAG_LEN)

struct att_challenges {
    uint8_t *key; /* KEY_LEN bytes of att_key_memory_new */
    struct att_replay *used;
};

att_err att_challenges_new(struct att_challenges **out)
{
    struct att_challenges *c = calloc(1, sizeof(*c));
    att_err rc = ATT_ERR_NOMEM;
    if (c == NULL) {
        return ATT_ERR_NOMEM;
    }
    c->key = att_key_memory_new(KEY_LEN);
    ATT_CHECK(c->key != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(RAND_priv_bytes(c->key, KEY_LEN) == 1, ATT_ERR_CRYPTO);
    /* One "client" (the node): per-provider shares would let one provider lock out none more
     * than the table's size allows anyway. */
    ATT_GUARD(att_replay_new(ATT_CHALLENGE_MAX_USED, ATT_CHALLENGE_MAX_USED, &c->used));
    *out = c;
    return ATT_OK;
out:
    att_challenges_free(c);
    return rc;
}

void att_challenges_free(struct att_challenges *c)
{
    if (c != NULL) {
        att_key_memory_free(c->key, KEY_LEN);
        att_replay_free(c->used);
        free(c);
    }
}

/* The additional data: what the challenge is for. */
static att_err aad(EVP_CIPHER_CTX *ctx, const char *provider, const char *purpose)
{
    static const char label[] = "attestd challenge";
    int n = 0;
    ATT_ENSURE(
        EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)label, sizeof(label)) == 1 &&
            EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)purpose, (int)strlen(purpose) + 1) ==
                1 &&
            EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)provider, (int)strlen(provider)) == 1,
        ATT_ERR_CRYPTO);
    return ATT_OK;
}

att_err att_challenge_issue(const struct att_challenges *c, const char *provider,
                            const char *purpose, int64_t now, int64_t ttl, struct att_buf *text,
                            uint8_t nonce[ATT_CHALLENGE_NONCE_LEN], int64_t *expires)
{
    att_err rc = ATT_ERR_CRYPTO;
    uint8_t plain[PLAIN_LEN];
    uint8_t sealed[SEALED_LEN];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    uint64_t exp = (uint64_t)(now + ttl);

    ATT_CHECK(ctx != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < 8; i++) {
        plain[i] = (uint8_t)(exp >> (56 - 8 * i));
    }
    sealed[0] = VERSION;
    ATT_CHECK(RAND_bytes(plain + 8, ATT_CHALLENGE_NONCE_LEN) == 1 &&
                  RAND_bytes(sealed + 1, IV_LEN) == 1,
              ATT_ERR_CRYPTO);
    ATT_CHECK(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, c->key, sealed + 1) == 1,
              ATT_ERR_CRYPTO);
    ATT_GUARD(aad(ctx, provider, purpose));
    ATT_CHECK(EVP_EncryptUpdate(ctx, sealed + 1 + IV_LEN, &n, plain, PLAIN_LEN) == 1 &&
                  n == PLAIN_LEN && EVP_EncryptFinal_ex(ctx, sealed + 1 + IV_LEN + n, &n) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                                      sealed + 1 + IV_LEN + PLAIN_LEN) == 1,
              ATT_ERR_CRYPTO);
    ATT_GUARD(att_b64url_encode(sealed, sizeof(sealed), text));
    memcpy(nonce, plain + 8, ATT_CHALLENGE_NONCE_LEN);
    *expires = (int64_t)exp;
    rc = ATT_OK;
out:
    att_wipe(plain, sizeof(plain));
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

att_err att_challenge_open(const struct att_challenges *c, const char *provider,
                           const char *purpose, const char *text, size_t len, int64_t now,
                           uint8_t nonce[ATT_CHALLENGE_NONCE_LEN], int64_t *expires)
{
    att_err rc = ATT_ERR_CHALLENGE_INVALID;
    struct att_buf raw;
    uint8_t plain[PLAIN_LEN];
    EVP_CIPHER_CTX *ctx = NULL;
    struct att_rd r;
    uint8_t version = 0;
    struct att_bytes iv;
    struct att_bytes body;
    uint8_t tag[TAG_LEN];
    int n = 0;

    att_buf_init(&raw, SEALED_LEN);
    ATT_CHECK(len <= ATT_CHALLENGE_TEXT_MAX && att_b64url_decode(text, len, &raw) == ATT_OK,
              ATT_ERR_CHALLENGE_INVALID);
    att_rd_init(&r, raw.data, raw.len);
    ATT_CHECK(att_rd_u8(&r, &version) == ATT_OK && version == VERSION &&
                  att_rd_bytes(&r, IV_LEN, &iv) == ATT_OK &&
                  att_rd_bytes(&r, PLAIN_LEN, &body) == ATT_OK &&
                  att_rd_copy(&r, tag, TAG_LEN) == ATT_OK && att_rd_end(&r) == ATT_OK,
              ATT_ERR_CHALLENGE_INVALID);
    ctx = EVP_CIPHER_CTX_new();
    ATT_CHECK(ctx != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, c->key, iv.ptr) == 1,
              ATT_ERR_CRYPTO);
    ATT_GUARD(aad(ctx, provider, purpose));
    ATT_CHECK(EVP_DecryptUpdate(ctx, plain, &n, body.ptr, (int)body.len) == 1 && n == PLAIN_LEN &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1,
              ATT_ERR_CRYPTO);
    /* The tag decides: a forged, altered or foreign challenge stops here. */
    ATT_CHECK(EVP_DecryptFinal_ex(ctx, plain + n, &n) == 1, ATT_ERR_CHALLENGE_INVALID);
    uint64_t exp = 0;
    for (size_t i = 0; i < 8; i++) {
        exp = exp << 8 | plain[i];
    }
    ATT_CHECK(exp <= INT64_MAX && (int64_t)exp >= now, ATT_ERR_CHALLENGE_EXPIRED);
    memcpy(nonce, plain + 8, ATT_CHALLENGE_NONCE_LEN);
    *expires = (int64_t)exp;
    rc = ATT_OK;
out:
    att_wipe(plain, sizeof(plain));
    att_buf_cleanup(&raw);
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

att_err att_challenge_use(struct att_challenges *c, const char *provider,
                          const uint8_t nonce[ATT_CHALLENGE_NONCE_LEN], int64_t expires,
                          int64_t now)
{
    att_err rc = att_replay_use(c->used, provider, nonce, ATT_CHALLENGE_NONCE_LEN, expires, now);
    return rc == ATT_ERR_TOKEN_REPLAY ? ATT_ERR_CHALLENGE_USED : rc;
}
