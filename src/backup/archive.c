/*
 * archive.c - the backup archive format (see archive.h, docs/internals/backup.md).
 *
 * Input trust: an archive is untrusted until its signature and tag are checked (it may have
 * been altered in storage or in transit), so it is read only through the bounded reader, with
 * every length checked against what is left and the KDF cost bounded before use.
 */
#include "backup/archive.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/codec.h"
#include "core/mem.h"
#include "crypto/ecdsa.h"
#include "crypto/scrypt.h"
#include "seal/seal.h"
#include "token/jwk.h"
#include "token/jws.h"

static const uint8_t magic[8] = {'A', 'T', 'T', 'B', 'K', 'U', 'P', 0};
static const char key_id_label[] = "attestd/backup-key/v1";

#define PASS_MIN 8
#define JWS_MAX 4096
#define CERT_MAX 8192

/* ---- keys ---- */

static att_err key_finish(struct att_backup_key *k)
{
    uint8_t digest[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, key_id_label, sizeof(key_id_label)) == 1 &&
              EVP_DigestUpdate(ctx, k->key, sizeof(k->key)) == 1 &&
              EVP_DigestFinal_ex(ctx, digest, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    ATT_ENSURE(ok, ATT_ERR_CRYPTO);
    memcpy(k->id, digest, sizeof(k->id));
    return ATT_OK;
}

/* The KDF cost an archive may ask for (archive.h). */
static bool scrypt_cost_ok(const struct att_backup_header *h)
{
    return h->ln >= 14 && h->ln <= 20 && h->r >= 1 && h->r <= 16 && h->p >= 1 && h->p <= 4 &&
           ((uint64_t)128 * h->r << h->ln) <= ((uint64_t)256 << 20);
}

att_err att_backup_key_from_passphrase(const char *pass, size_t len,
                                       const struct att_backup_header *h,
                                       struct att_backup_key *out)
{
    ATT_ENSURE(len >= PASS_MIN && len <= ATT_SCRYPT_SECRET_MAX, ATT_ERR_ARG);
    ATT_ENSURE(h->kdf == ATT_BACKUP_KDF_SCRYPT && scrypt_cost_ok(h), ATT_ERR_BACKUP_FORMAT);
    ATT_TRY(att_scrypt(pass, len, h->salt, sizeof(h->salt), h->ln, h->r, h->p, out->key,
                       sizeof(out->key)));
    return key_finish(out);
}

att_err att_backup_key_from_bytes(const uint8_t raw[32], struct att_backup_key *out)
{
    memcpy(out->key, raw, sizeof(out->key));
    return key_finish(out);
}

void att_backup_key_wipe(struct att_backup_key *k)
{
    att_wipe(k, sizeof(*k));
}

/* ---- the header ---- */

static att_err put_u16(struct att_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return att_buf_put(b, x, sizeof(x));
}

static att_err put_u32(struct att_buf *b, uint32_t v)
{
    ATT_TRY(put_u16(b, (uint16_t)(v >> 16)));
    return put_u16(b, (uint16_t)v);
}

static att_err put_u64(struct att_buf *b, uint64_t v)
{
    ATT_TRY(put_u32(b, (uint32_t)(v >> 32)));
    return put_u32(b, (uint32_t)v);
}

static att_err header_put(const struct att_backup_header *h, struct att_buf *out)
{
    ATT_TRY(att_buf_put(out, magic, sizeof(magic)));
    ATT_TRY(put_u16(out, ATT_BACKUP_FORMAT));
    const uint8_t kdf[6] = {h->kdf, h->ln, h->r, h->p, 0, 0}; /* and two reserved bytes */
    ATT_TRY(att_buf_put(out, kdf, sizeof(kdf)));
    ATT_TRY(put_u32(out, h->schema));
    ATT_TRY(put_u64(out, (uint64_t)h->created_at));
    ATT_TRY(att_buf_put(out, h->salt, sizeof(h->salt)));
    ATT_TRY(att_buf_put(out, h->key_id, sizeof(h->key_id)));
    return put_u64(out, h->payload_len);
}

static att_err header_read(struct att_rd *r, struct att_backup_header *h)
{
    uint8_t m[sizeof(magic)];
    uint16_t format;
    uint8_t reserved[2];
    uint64_t created;
    ATT_TRY(att_rd_copy(r, m, sizeof(m)));
    ATT_ENSURE(memcmp(m, magic, sizeof(m)) == 0, ATT_ERR_BACKUP_FORMAT);
    ATT_TRY(att_rd_u16be(r, &format));
    ATT_ENSURE(format == ATT_BACKUP_FORMAT, ATT_ERR_BACKUP_FORMAT);
    ATT_TRY(att_rd_u8(r, &h->kdf));
    ATT_TRY(att_rd_u8(r, &h->ln));
    ATT_TRY(att_rd_u8(r, &h->r));
    ATT_TRY(att_rd_u8(r, &h->p));
    ATT_TRY(att_rd_copy(r, reserved, sizeof(reserved)));
    ATT_TRY(att_rd_u32be(r, &h->schema));
    ATT_TRY(att_rd_u64be(r, &created));
    ATT_TRY(att_rd_copy(r, h->salt, sizeof(h->salt)));
    ATT_TRY(att_rd_copy(r, h->key_id, sizeof(h->key_id)));
    ATT_TRY(att_rd_u64be(r, &h->payload_len));
    ATT_ENSURE(reserved[0] == 0 && reserved[1] == 0 && created <= INT64_MAX, ATT_ERR_BACKUP_FORMAT);
    h->created_at = (int64_t)created;
    bool kdf_ok = h->kdf == ATT_BACKUP_KDF_KEY
                      ? h->ln == 0 && h->r == 0 && h->p == 0
                      : h->kdf == ATT_BACKUP_KDF_SCRYPT && scrypt_cost_ok(h);
    ATT_ENSURE(kdf_ok && h->payload_len <= ATT_BACKUP_MAX, ATT_ERR_BACKUP_FORMAT);
    return ATT_OK;
}

/* ---- reading ---- */

static att_err parse(const uint8_t *data, size_t len, struct att_backup_view *v)
{
    struct att_rd r;
    uint16_t n;
    memset(v, 0, sizeof(*v));
    att_rd_init(&r, data, len);
    ATT_TRY(att_rd_bytes(&r, ATT_BACKUP_HEADER_LEN, &v->header));
    struct att_rd hr;
    att_rd_init(&hr, v->header.ptr, v->header.len);
    ATT_TRY(header_read(&hr, &v->h));
    ATT_TRY(att_rd_end(&hr));
    ATT_TRY(att_rd_bytes(&r, (size_t)v->h.payload_len + ATT_AEAD_OVERHEAD, &v->body));
    ATT_TRY(att_rd_u16be(&r, &n));
    ATT_ENSURE(n > 0 && n <= CERT_MAX, ATT_ERR_BACKUP_FORMAT);
    ATT_TRY(att_rd_bytes(&r, n, &v->cert));
    ATT_TRY(att_rd_u16be(&r, &n));
    ATT_ENSURE(n > 0 && n <= JWS_MAX, ATT_ERR_BACKUP_FORMAT);
    ATT_TRY(att_rd_bytes(&r, n, &v->jws));
    return att_rd_end(&r);
}

att_err att_backup_parse(const uint8_t *data, size_t len, struct att_backup_view *v)
{
    att_err rc = parse(data, len, v);
    /* Whatever the reader found wrong (short, trailing, a bad field) is one failure. */
    return rc == ATT_OK ? ATT_OK : ATT_ERR_BACKUP_FORMAT;
}

/*
 * What the JWS signs: SHA-256 over the header and body, then the certificate (the u16 length
 * between them is implied by the certificate's own DER length).
 */
static att_err signed_digest_hex(const struct att_backup_view *v, struct att_buf *hex)
{
    uint8_t digest[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, v->header.ptr, v->header.len) == 1 &&
              EVP_DigestUpdate(ctx, v->body.ptr, v->body.len) == 1 &&
              EVP_DigestUpdate(ctx, v->cert.ptr, v->cert.len) == 1 &&
              EVP_DigestFinal_ex(ctx, digest, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    ATT_ENSURE(ok, ATT_ERR_CRYPTO);
    return att_hex_encode(digest, sizeof(digest), hex);
}

att_err att_backup_check_signature(const struct att_backup_view *v, char kid[ATT_KID_MAX + 1])
{
    att_err rc = ATT_ERR_INTERNAL;
    EVP_PKEY *pub = NULL;
    struct att_jws jws;
    struct att_buf want;
    char cert_kid[ATT_KID_MAX + 1];
    memset(&jws, 0, sizeof(jws));
    att_buf_init(&want, 128);
    ATT_GUARD(signed_digest_hex(v, &want));
    ATT_GUARD(att_signer_cert_kid(v->cert.ptr, v->cert.len, cert_kid));
    ATT_CHECK(att_jwk_cert_pubkey(v->cert.ptr, v->cert.len, &pub) == ATT_OK, ATT_ERR_SIGNATURE);
    ATT_CHECK(att_jws_verify((const char *)v->jws.ptr, v->jws.len, pub, ATT_JWS_ES256, &jws) ==
                  ATT_OK,
              ATT_ERR_SIGNATURE);
    const char *typ = json_string_value(json_object_get(jws.header, "typ"));
    const char *hkid = json_string_value(json_object_get(jws.header, "kid"));
    ATT_CHECK(typ != NULL && strcmp(typ, ATT_BACKUP_JWS_TYP) == 0, ATT_ERR_SIGNATURE);
    ATT_CHECK(hkid != NULL && strcmp(hkid, cert_kid) == 0, ATT_ERR_SIGNATURE);
    ATT_CHECK(jws.payload.len == want.len &&
                  CRYPTO_memcmp(jws.payload.data, want.data, want.len) == 0,
              ATT_ERR_SIGNATURE);
    memcpy(kid, cert_kid, sizeof(cert_kid));
    rc = ATT_OK;
out:
    att_jws_cleanup(&jws);
    EVP_PKEY_free(pub);
    att_buf_cleanup(&want);
    return rc;
}

att_err att_backup_decrypt(const struct att_backup_view *v, const struct att_backup_key *k,
                           struct att_buf *out)
{
    ATT_ENSURE(CRYPTO_memcmp(k->id, v->h.key_id, sizeof(k->id)) == 0, ATT_ERR_KEY_MISMATCH);
    return att_aead_open(k->key, v->header.ptr, v->header.len, v->body.ptr, v->body.len, out);
}

/* ---- writing ---- */

att_err att_backup_write(const struct att_backup_header *h, const struct att_backup_key *k,
                         const uint8_t *payload, size_t len, const uint8_t *cert, size_t cert_len,
                         att_backup_sign_fn sign, void *sign_arg, struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_backup_header hh = *h;
    struct att_backup_view v;
    struct att_buf hex;
    struct att_buf jws;
    att_buf_init(&hex, 128);
    att_buf_init(&jws, JWS_MAX);
    ATT_CHECK(len <= ATT_BACKUP_MAX && cert_len > 0 && cert_len <= CERT_MAX, ATT_ERR_TOO_LARGE);
    memcpy(hh.key_id, k->id, sizeof(hh.key_id));
    hh.payload_len = len;
    size_t start = out->len;
    ATT_GUARD(header_put(&hh, out));
    ATT_GUARD(att_aead_seal(k->key, out->data + start, ATT_BACKUP_HEADER_LEN, payload, len, out));
    ATT_GUARD(put_u16(out, (uint16_t)cert_len));
    ATT_GUARD(att_buf_put(out, cert, cert_len));
    /* The parts as a reader will see them, to sign exactly what it will check. */
    v.header.ptr = out->data + start;
    v.header.len = ATT_BACKUP_HEADER_LEN;
    v.body.ptr = v.header.ptr + ATT_BACKUP_HEADER_LEN;
    v.body.len = len + ATT_AEAD_OVERHEAD;
    v.cert.ptr = cert;
    v.cert.len = cert_len;
    ATT_GUARD(signed_digest_hex(&v, &hex));
    ATT_GUARD(sign(sign_arg, att_buf_cstr(&hex), hex.len, &jws));
    ATT_CHECK(jws.len > 0 && jws.len <= JWS_MAX, ATT_ERR_TOO_LARGE);
    ATT_GUARD(put_u16(out, (uint16_t)jws.len));
    ATT_GUARD(att_buf_put(out, jws.data, jws.len));
    rc = ATT_OK;
out:
    att_buf_cleanup(&hex);
    att_buf_cleanup(&jws);
    return rc;
}

/* ---- payload entries ---- */

att_err att_backup_entry_put(struct att_buf *payload, const char *name, const uint8_t *data,
                             size_t len)
{
    size_t n = strlen(name);
    ATT_ENSURE(n >= 1 && n <= ATT_BACKUP_NAME_MAX && len <= ATT_BACKUP_MAX, ATT_ERR_ARG);
    ATT_TRY(att_buf_putc(payload, (uint8_t)n));
    ATT_TRY(att_buf_put(payload, name, n));
    ATT_TRY(put_u64(payload, len));
    return att_buf_put(payload, data, len);
}

static att_err find(const uint8_t *payload, size_t len, const char *name, struct att_bytes *out)
{
    struct att_rd r;
    struct att_bytes names[ATT_BACKUP_ENTRIES_MAX];
    size_t count = 0;
    bool found = false;
    att_rd_init(&r, payload, len);
    while (att_rd_left(&r) > 0) {
        uint8_t n;
        uint64_t size;
        struct att_bytes entry_name;
        struct att_bytes data;
        ATT_ENSURE(count < ATT_BACKUP_ENTRIES_MAX, ATT_ERR_BACKUP_FORMAT);
        ATT_TRY(att_rd_u8(&r, &n));
        ATT_ENSURE(n >= 1 && n <= ATT_BACKUP_NAME_MAX, ATT_ERR_BACKUP_FORMAT);
        ATT_TRY(att_rd_bytes(&r, n, &entry_name));
        ATT_TRY(att_rd_u64be(&r, &size));
        ATT_ENSURE(size <= att_rd_left(&r), ATT_ERR_BACKUP_FORMAT);
        ATT_TRY(att_rd_bytes(&r, (size_t)size, &data));
        for (size_t i = 0; i < count; i++) {
            ATT_ENSURE(names[i].len != n || memcmp(names[i].ptr, entry_name.ptr, n) != 0,
                       ATT_ERR_BACKUP_FORMAT);
        }
        names[count++] = entry_name;
        if (strlen(name) == n && memcmp(entry_name.ptr, name, n) == 0) {
            *out = data;
            found = true;
        }
    }
    return found ? ATT_OK : ATT_ERR_NOT_FOUND;
}

att_err att_backup_entry_find(const uint8_t *payload, size_t len, const char *name,
                              struct att_bytes *out)
{
    att_err rc = find(payload, len, name, out);
    return rc == ATT_OK || rc == ATT_ERR_NOT_FOUND ? rc : ATT_ERR_BACKUP_FORMAT;
}
