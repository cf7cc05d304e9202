/*
 * seal.c - AES-256-GCM for data-key wrapping and record sealing.
 *
 * Input trust: keys and names come from our own code; wrapped keys and
 * sealed blobs come from the store and are treated as untrusted bytes (a
 * database file can be edited). Blobs are parsed only through the bounded
 * reader, and nothing from a blob is used before the GCM tag has verified,
 * except the header fields needed to find the key and to rebuild the AAD.
 *
 * Formats (docs/internals/sealing.md):
 *   wrapped DEK  nonce(12) | ct(32) | tag(16)
 *                AAD = "attestd/dek/v1" 0x00 dek_id
 *   sealed value u8 version(1) | u8 dek_id_len | dek_id | nonce(12) | ct | tag(16)
 *                AAD = "attestd/record/v1" 0x00 table 0x00 record_id 0x00
 *                      version dek_id_len dek_id
 * The 0x00 separators cannot occur inside C strings, so (table, record_id)
 * pairs can never collide ("ab","c" vs "a","bc"). Putting the header in the
 * AAD means a blob whose version or DEK id was edited fails to open.
 */
#include "seal/seal.h"

#include "seal/pkcs11.h"

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "core/mem.h"
#include "core/rd.h"

#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN 16
#define SEAL_VERSION 1
#define AAD_MAX 4096 /* table and record ids are short names, never data */

static const char dek_aad_label[] = "attestd/dek/v1";
static const char record_aad_label[] = "attestd/record/v1";

/* ---- AES-256-GCM primitives ------------------------------------------- */

/*
 * Append ct | tag for `pt` to `out`. The ciphertext is written straight into
 * out's storage (our own buffer, not input) after reserving room for it.
 */
static att_err gcm_seal(const uint8_t key[32], const uint8_t nonce[GCM_NONCE_LEN],
                        const struct att_buf *aad, const uint8_t *pt, size_t len,
                        struct att_buf *out)
{
    att_err rc = ATT_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t tag[GCM_TAG_LEN];
    uint8_t *dst = NULL;
    int n = 0;
    int ct_len = 0;

    ATT_CHECK(len <= (size_t)INT_MAX - GCM_TAG_LEN && aad->len <= (size_t)INT_MAX,
              ATT_ERR_TOO_LARGE);
    ATT_GUARD(att_buf_reserve(out, len + GCM_TAG_LEN));
    dst = out->data + out->len;
    ctx = EVP_CIPHER_CTX_new();
    ATT_CHECK(ctx != NULL, ATT_ERR_NOMEM);
    /* The default GCM IV length is 12 bytes, the size NIST SP 800-38D recommends. */
    ATT_CHECK(EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce, NULL) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(EVP_EncryptUpdate(ctx, NULL, &n, aad->data, (int)aad->len) == 1, ATT_ERR_CRYPTO);
    if (len > 0) {
        ATT_CHECK(EVP_EncryptUpdate(ctx, dst, &n, pt, (int)len) == 1, ATT_ERR_CRYPTO);
        ct_len = n;
    }
    ATT_CHECK(EVP_EncryptFinal_ex(ctx, dst + ct_len, &n) == 1, ATT_ERR_CRYPTO);
    ct_len += n;
    ATT_CHECK((size_t)ct_len == len, ATT_ERR_CRYPTO);
    ATT_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag) == 1,
              ATT_ERR_CRYPTO);
    out->len += len;
    out->data[out->len] = 0;
    ATT_GUARD(att_buf_put(out, tag, sizeof(tag)));
    rc = ATT_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/*
 * Decrypt `ct` into `pt` (room for ct.len bytes) and check the tag. Any
 * authentication failure is ATT_ERR_SEAL_AUTH; on failure whatever was
 * written to `pt` is wiped, so unauthenticated plaintext never escapes.
 */
static att_err gcm_open(const uint8_t key[32], const uint8_t nonce[GCM_NONCE_LEN],
                        const struct att_buf *aad, struct att_bytes ct, uint8_t tag[GCM_TAG_LEN],
                        uint8_t *pt)
{
    att_err rc = ATT_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = NULL;
    int n = 0;
    int pt_len = 0;

    ATT_CHECK(ct.len <= (size_t)INT_MAX && aad->len <= (size_t)INT_MAX, ATT_ERR_TOO_LARGE);
    ctx = EVP_CIPHER_CTX_new();
    ATT_CHECK(ctx != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce, NULL) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(EVP_DecryptUpdate(ctx, NULL, &n, aad->data, (int)aad->len) == 1, ATT_ERR_CRYPTO);
    if (ct.len > 0) {
        ATT_CHECK(EVP_DecryptUpdate(ctx, pt, &n, ct.ptr, (int)ct.len) == 1, ATT_ERR_CRYPTO);
        pt_len = n;
    }
    ATT_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tag) == 1,
              ATT_ERR_CRYPTO);
    /* "If the tag does not match, EVP_DecryptFinal_ex returns 0" (EVP_EncryptInit(3)). */
    ATT_CHECK(EVP_DecryptFinal_ex(ctx, pt + pt_len, &n) == 1, ATT_ERR_SEAL_AUTH);
    ATT_CHECK((size_t)(pt_len + n) == ct.len, ATT_ERR_CRYPTO);
    rc = ATT_OK;
out:
    if (rc != ATT_OK && ct.len > 0) {
        att_wipe(pt, ct.len);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

static att_err random_nonce(uint8_t nonce[GCM_NONCE_LEN])
{
    /* Random 96-bit nonces: safe for far more than the 2^32 messages per key
     * SP 800-38D §8.3 allows, given how few values one DEK seals. */
    ATT_ENSURE(RAND_bytes(nonce, GCM_NONCE_LEN) == 1, ATT_ERR_CRYPTO);
    return ATT_OK;
}

/* DEK ids are exactly ATT_DEK_ID_LEN lowercase hex characters. */
static bool is_lower_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The id as read from a blob: checked byte by byte through the reader. */
static bool dek_id_ok(struct att_bytes id)
{
    struct att_rd r;
    uint8_t c = 0;
    if (id.len != ATT_DEK_ID_LEN) {
        return false;
    }
    att_rd_init(&r, id.ptr, id.len);
    while (att_rd_left(&r) > 0) {
        if (att_rd_u8(&r, &c) != ATT_OK || !is_lower_hex(c)) {
            return false;
        }
    }
    return true;
}

/* The id as given by our own callers (a C string). */
static bool dek_id_str_ok(const char *id)
{
    if (id == NULL) {
        return false;
    }
    struct att_bytes b = {(const uint8_t *)id, strnlen(id, ATT_DEK_ID_LEN + 1)};
    return dek_id_ok(b);
}

/* ---- whole messages (backups) ---------------------------------------------- */

att_err att_aead_seal(const uint8_t key[ATT_AEAD_KEY_LEN], const void *aad, size_t aad_len,
                      const uint8_t *pt, size_t len, struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf a;
    uint8_t nonce[GCM_NONCE_LEN];
    att_buf_init(&a, AAD_MAX);
    ATT_GUARD(att_buf_put(&a, aad, aad_len));
    ATT_GUARD(random_nonce(nonce));
    ATT_GUARD(att_buf_put(out, nonce, sizeof(nonce)));
    ATT_GUARD(gcm_seal(key, nonce, &a, pt, len, out));
    rc = ATT_OK;
out:
    att_buf_cleanup(&a);
    return rc;
}

att_err att_aead_open(const uint8_t key[ATT_AEAD_KEY_LEN], const void *aad, size_t aad_len,
                      const uint8_t *blob, size_t len, struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf a;
    struct att_rd r;
    struct att_bytes ct;
    uint8_t nonce[GCM_NONCE_LEN];
    uint8_t tag[GCM_TAG_LEN];
    att_buf_init(&a, AAD_MAX);
    att_rd_init(&r, blob, len);
    ATT_CHECK(len >= ATT_AEAD_OVERHEAD, ATT_ERR_SEAL_AUTH);
    ATT_GUARD(att_buf_put(&a, aad, aad_len));
    ATT_GUARD(att_rd_copy(&r, nonce, sizeof(nonce)));
    ATT_GUARD(att_rd_bytes(&r, len - ATT_AEAD_OVERHEAD, &ct));
    ATT_GUARD(att_rd_copy(&r, tag, sizeof(tag)));
    ATT_GUARD(att_buf_reserve(out, ct.len));
    ATT_GUARD(gcm_open(key, nonce, &a, ct, tag, out->data + out->len));
    out->len += ct.len;
    out->data[out->len] = 0;
    rc = ATT_OK;
out:
    att_buf_cleanup(&a);
    return rc;
}

/* ---- data-key wrapping --------------------------------------------------- */

static att_err dek_aad(const char *dek_id, struct att_buf *aad)
{
    (void)att_buf_put(aad, dek_aad_label, sizeof(dek_aad_label)); /* with its NUL */
    (void)att_buf_puts(aad, dek_id);
    return att_buf_err(aad);
}

att_err att_dek_wrap(const struct att_kek *kek, const char *dek_id, const uint8_t dek[ATT_DEK_LEN],
                     struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf aad;
    uint8_t nonce[GCM_NONCE_LEN];
    size_t before = out->len;

    att_buf_init(&aad, AAD_MAX);
    ATT_CHECK(kek != NULL && dek != NULL && dek_id_str_ok(dek_id), ATT_ERR_ARG);
    ATT_GUARD(random_nonce(nonce));
    ATT_GUARD(dek_aad(dek_id, &aad));
    ATT_GUARD(att_buf_put(out, nonce, sizeof(nonce)));
    if (kek->token != NULL) {
        ATT_GUARD(att_p11_gcm_seal(kek->token, nonce, aad.data, aad.len, dek, ATT_DEK_LEN, out));
    } else {
        ATT_GUARD(gcm_seal(kek->key, nonce, &aad, dek, ATT_DEK_LEN, out));
    }
    rc = ATT_OK;
out:
    if (rc != ATT_OK && out->data != NULL) {
        out->len = before;
        out->data[before] = 0;
    }
    att_buf_cleanup(&aad);
    return rc;
}

/* The token takes ciphertext | tag as one input: the wrapped blob after its nonce. */
static att_err unwrap_in_token(struct att_p11 *token, const uint8_t nonce[GCM_NONCE_LEN],
                               const struct att_buf *aad, const uint8_t *wrapped, size_t len,
                               uint8_t dek[ATT_DEK_LEN])
{
    struct att_rd r;
    struct att_bytes ct_tag;
    struct att_buf pt;
    att_rd_init(&r, wrapped, len);
    ATT_TRY(att_rd_skip(&r, GCM_NONCE_LEN));
    att_rd_rest(&r, &ct_tag);
    att_buf_init_secret(&pt, 4 * ATT_DEK_LEN); /* room for ciphertext and tag (pkcs11.c) */
    att_err rc = att_p11_gcm_open(token, nonce, aad->data, aad->len, ct_tag.ptr, ct_tag.len, &pt);
    if (rc == ATT_OK && pt.len == ATT_DEK_LEN) {
        memcpy(dek, pt.data, ATT_DEK_LEN);
    } else if (rc == ATT_OK) {
        rc = ATT_ERR_SEAL_AUTH;
    }
    att_buf_cleanup(&pt);
    return rc;
}

att_err att_dek_unwrap(const struct att_kek *kek, const char *dek_id, const uint8_t *wrapped,
                       size_t len, uint8_t dek[ATT_DEK_LEN])
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf aad;
    struct att_rd r;
    struct att_bytes ct;
    uint8_t nonce[GCM_NONCE_LEN];
    uint8_t tag[GCM_TAG_LEN];
    uint8_t tmp[ATT_DEK_LEN];

    att_buf_init(&aad, AAD_MAX);
    ATT_CHECK(kek != NULL && dek != NULL && dek_id_str_ok(dek_id), ATT_ERR_ARG);
    att_rd_init(&r, wrapped, len);
    ATT_GUARD(att_rd_copy(&r, nonce, sizeof(nonce)));
    ATT_GUARD(att_rd_bytes(&r, ATT_DEK_LEN, &ct));
    ATT_GUARD(att_rd_copy(&r, tag, sizeof(tag)));
    ATT_GUARD(att_rd_end(&r));
    ATT_GUARD(dek_aad(dek_id, &aad));
    if (kek->token != NULL) {
        ATT_GUARD(unwrap_in_token(kek->token, nonce, &aad, wrapped, len, tmp));
    } else {
        ATT_GUARD(gcm_open(kek->key, nonce, &aad, ct, tag, tmp));
    }
    for (size_t i = 0; i < ATT_DEK_LEN; i++) {
        dek[i] = tmp[i];
    }
    rc = ATT_OK;
out:
    att_wipe(tmp, sizeof(tmp));
    att_buf_cleanup(&aad);
    return rc;
}

/* ---- sealed record values ----------------------------------------------- */

/* A sealed blob, parsed; every view borrows from the blob. */
struct sealed {
    uint8_t version;
    uint8_t dek_id_len;
    struct att_bytes dek_id;
    uint8_t nonce[GCM_NONCE_LEN];
    struct att_bytes ct;
    uint8_t tag[GCM_TAG_LEN];
};

/*
 * Parse, then validate: the version is checked as soon as it is read,
 * because another version may lay out everything after it differently.
 */
static att_err parse_sealed(const uint8_t *blob, size_t len, struct sealed *s)
{
    struct att_rd r;
    struct att_bytes rest;

    att_rd_init(&r, blob, len);
    ATT_TRY(att_rd_u8(&r, &s->version));
    ATT_ENSURE(s->version == SEAL_VERSION, ATT_ERR_VALIDATE);
    ATT_TRY(att_rd_u8(&r, &s->dek_id_len));
    ATT_TRY(att_rd_bytes(&r, s->dek_id_len, &s->dek_id));
    ATT_ENSURE(dek_id_ok(s->dek_id), ATT_ERR_PARSE);
    ATT_TRY(att_rd_copy(&r, s->nonce, sizeof(s->nonce)));
    /* What is left is ciphertext followed by the tag. */
    ATT_ENSURE(att_rd_left(&r) >= GCM_TAG_LEN, ATT_ERR_TRUNCATED);
    ATT_TRY(att_rd_bytes(&r, att_rd_left(&r) - GCM_TAG_LEN, &s->ct));
    ATT_TRY(att_rd_copy(&r, s->tag, sizeof(s->tag)));
    att_rd_rest(&r, &rest);
    ATT_ENSURE(rest.len == 0, ATT_ERR_TRAILING);
    return ATT_OK;
}

static att_err record_aad(const char *table, const char *record_id, uint8_t version,
                          struct att_bytes dek_id, struct att_buf *aad)
{
    ATT_ENSURE(dek_id.len <= UINT8_MAX, ATT_ERR_ARG);
    (void)att_buf_put(aad, record_aad_label, sizeof(record_aad_label)); /* with its NUL */
    (void)att_buf_puts(aad, table);
    (void)att_buf_putc(aad, 0);
    (void)att_buf_puts(aad, record_id);
    (void)att_buf_putc(aad, 0);
    (void)att_buf_putc(aad, version);
    (void)att_buf_putc(aad, (uint8_t)dek_id.len);
    (void)att_buf_put(aad, dek_id.ptr, dek_id.len);
    return att_buf_err(aad);
}

att_err att_seal(const uint8_t dek[ATT_DEK_LEN], const char *dek_id, const char *table,
                 const char *record_id, const void *pt, size_t len, struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf aad;
    uint8_t nonce[GCM_NONCE_LEN];
    size_t before = out->len;

    att_buf_init(&aad, AAD_MAX);
    ATT_CHECK(dek != NULL && dek_id_str_ok(dek_id) && table != NULL && record_id != NULL,
              ATT_ERR_ARG);
    ATT_CHECK(pt != NULL || len == 0, ATT_ERR_ARG);
    struct att_bytes id = {(const uint8_t *)dek_id, ATT_DEK_ID_LEN};
    ATT_GUARD(random_nonce(nonce));
    ATT_GUARD(record_aad(table, record_id, SEAL_VERSION, id, &aad));
    ATT_GUARD(att_buf_putc(out, SEAL_VERSION));
    ATT_GUARD(att_buf_putc(out, (uint8_t)id.len));
    ATT_GUARD(att_buf_put(out, id.ptr, id.len));
    ATT_GUARD(att_buf_put(out, nonce, sizeof(nonce)));
    ATT_GUARD(gcm_seal(dek, nonce, &aad, pt, len, out));
    rc = ATT_OK;
out:
    if (rc != ATT_OK && out->data != NULL) {
        out->len = before;
        out->data[before] = 0;
    }
    att_buf_cleanup(&aad);
    return rc;
}

att_err att_seal_dek_id(const uint8_t *blob, size_t len, char out[ATT_DEK_ID_LEN + 1])
{
    struct sealed s;
    struct att_rd r;

    ATT_TRY(parse_sealed(blob, len, &s));
    att_rd_init(&r, s.dek_id.ptr, s.dek_id.len);
    ATT_TRY(att_rd_copy(&r, out, s.dek_id.len));
    out[s.dek_id.len] = '\0';
    return ATT_OK;
}

att_err att_open(const uint8_t dek[ATT_DEK_LEN], const char *table, const char *record_id,
                 const uint8_t *blob, size_t len, struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf aad;
    struct sealed s;

    att_buf_init(&aad, AAD_MAX);
    ATT_CHECK(dek != NULL && table != NULL && record_id != NULL, ATT_ERR_ARG);
    /* Plaintext only ever lands in memory that is wiped on release. */
    ATT_CHECK(out->secret, ATT_ERR_ARG);
    ATT_GUARD(parse_sealed(blob, len, &s));
    ATT_GUARD(record_aad(table, record_id, s.version, s.dek_id, &aad));
    ATT_GUARD(att_buf_reserve(out, s.ct.len));
    ATT_GUARD(gcm_open(dek, s.nonce, &aad, s.ct, s.tag, out->data + out->len));
    out->len += s.ct.len;
    out->data[out->len] = 0;
    rc = ATT_OK;
out:
    att_buf_cleanup(&aad);
    return rc;
}
