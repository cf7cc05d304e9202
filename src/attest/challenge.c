/*
 * challenge.c - sealed, single-use challenges (challenge.h). Layout of the sealed bytes:
 * version (1) || IV (12) || AES-256-GCM(expiry u64 big-endian || nonce (32)) || tag (16), the
 * additional data "attestd challenge" NUL purpose NUL provider (NIST SP 800-38D).
 */
#include "attest/challenge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/assertion.h"
#include "core/codec.h"
#include "core/mem.h"
#include "core/rd.h"
#include "core/timeutil.h"
#include "seal/keyring.h"
#include "store/store.h"

#define VERSION 1
#define KEY_LEN 32
#define IV_LEN 12
#define TAG_LEN 16
#define PLAIN_LEN (8 + ATT_CHALLENGE_NONCE_LEN)
#define SEALED_LEN (1 + IV_LEN + PLAIN_LEN + TAG_LEN)

struct att_challenges {
    uint8_t *key;            /* KEY_LEN bytes of att_key_memory_new */
    struct att_replay *used; /* one node: uses in memory */
    struct att_store *store; /* shared: uses in the store (NULL for one node) */
};

/*
 * The shared key in the store: sealed in the one context a key process seals for
 * (seal/keyring.c, REMOTE_TABLE), so nodes with and without one open it alike; its record id,
 * which no policy version has (theirs are 32 hex digits), keeps it apart from policies.
 */
#define SHARED_KEY_NAME "challenge-key-v1"
#define SHARED_KEY_TABLE "policy_versions"

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

/* The store's key into c->key: the one kept, else a new one (the first node's wins). */
static att_err shared_key(struct att_challenges *c, struct att_keyring *kr)
{
    struct att_buf sealed, plain;
    att_buf_init(&sealed, ATT_STORE_BLOB_MAX);
    att_buf_init_secret(&plain, KEY_LEN);
    att_err rc = att_store_secret_get(c->store, SHARED_KEY_NAME, &sealed);
    if (rc == ATT_ERR_NOT_FOUND) {
        uint8_t fresh[KEY_LEN];
        rc = RAND_priv_bytes(fresh, KEY_LEN) == 1 ? ATT_OK : ATT_ERR_CRYPTO;
        if (rc == ATT_OK) {
            rc = att_keyring_seal(kr, SHARED_KEY_TABLE, SHARED_KEY_NAME, fresh, KEY_LEN, &sealed);
        }
        att_wipe(fresh, sizeof(fresh));
        if (rc == ATT_OK) {
            rc = att_store_secret_put_new(c->store, SHARED_KEY_NAME, sealed.data, sealed.len,
                                          att_time_now());
        }
        att_buf_reset(&sealed);
        if (rc == ATT_OK) { /* another node's may have been first: read what is kept */
            rc = att_store_secret_get(c->store, SHARED_KEY_NAME, &sealed);
        }
    }
    if (rc == ATT_OK) {
        rc = att_keyring_open(kr, SHARED_KEY_TABLE, SHARED_KEY_NAME, sealed.data, sealed.len,
                              &plain);
    }
    if (rc == ATT_OK) {
        rc = plain.len == KEY_LEN ? ATT_OK : ATT_ERR_SEAL_AUTH;
    }
    if (rc == ATT_OK) {
        memcpy(c->key, plain.data, KEY_LEN);
    }
    att_buf_cleanup(&plain);
    att_buf_cleanup(&sealed);
    return rc;
}

att_err att_challenges_new_shared(struct att_store *store, struct att_keyring *kr,
                                  struct att_challenges **out)
{
    ATT_ENSURE(store != NULL && kr != NULL && out != NULL, ATT_ERR_ARG);
    struct att_challenges *c = calloc(1, sizeof(*c));
    ATT_ENSURE(c != NULL, ATT_ERR_NOMEM);
    c->store = store;
    c->key = att_key_memory_new(KEY_LEN);
    att_err rc = c->key != NULL ? shared_key(c, kr) : ATT_ERR_NOMEM;
    if (rc != ATT_OK) {
        att_challenges_free(c);
        return rc;
    }
    *out = c;
    return ATT_OK;
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
    att_err rc;
    if (c->store != NULL) {
        char hex[2 * ATT_CHALLENGE_NONCE_LEN + 1];
        for (size_t i = 0; i < ATT_CHALLENGE_NONCE_LEN; i++) {
            snprintf(hex + 2 * i, 3, "%02x", nonce[i]);
        }
        rc = att_store_challenge_claim(c->store, provider, hex, expires, now);
    } else {
        rc = att_replay_use(c->used, provider, nonce, ATT_CHALLENGE_NONCE_LEN, expires, now);
    }
    return rc == ATT_ERR_TOKEN_REPLAY ? ATT_ERR_CHALLENGE_USED : rc;
}
