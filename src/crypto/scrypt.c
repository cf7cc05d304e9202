/*
 * scrypt.c - scrypt through EVP_KDF (see scrypt.h).
 */
#include "crypto/scrypt.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <string.h>

#include "core/buf.h"

/* Headroom over the KDF's own estimate of its memory, for its bookkeeping. */
#define MAXMEM_MARGIN ((uint64_t)1 << 20)
#define SALT_MAX 64

/*
 * RFC 7914 §6 (scryptROMix) keeps V, N blocks of 128 * r bytes, and §5 keeps B, p blocks of
 * 128 * r bytes; OpenSSL refuses when (N + 2) * 128 * r + p * 128 * r exceeds maxmem.
 */
static uint64_t maxmem_of(uint64_t n, uint32_t r, uint32_t p)
{
    return 128 * (uint64_t)r * (n + 2) + 128 * (uint64_t)r * p + MAXMEM_MARGIN;
}

att_err att_scrypt(const void *secret, size_t len, const uint8_t *salt, size_t salt_len,
                   unsigned ln, uint32_t r, uint32_t p, uint8_t *out, size_t out_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    struct att_buf pw;
    uint8_t salt_copy[SALT_MAX];
    uint64_t n = (uint64_t)1 << ln;
    uint64_t maxmem = maxmem_of(n, r, p);
    OSSL_PARAM params[7];

    /* OSSL_PARAM wants mutable pointers, so the secret and salt are copied. */
    att_buf_init_secret(&pw, ATT_SCRYPT_SECRET_MAX + 1);
    ATT_CHECK(ln >= 1 && ln <= 30 && r >= 1 && p >= 1 && salt_len <= SALT_MAX, ATT_ERR_ARG);
    ATT_CHECK(len <= ATT_SCRYPT_SECRET_MAX, ATT_ERR_TOO_LARGE);
    /* A terminating NUL is always there after a put, so even "" gives a valid pointer. */
    ATT_GUARD(att_buf_put(&pw, secret, len));
    ATT_GUARD(att_buf_putc(&pw, 0));
    memcpy(salt_copy, salt, salt_len);
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pw.data, len);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_copy, salt_len);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    params[6] = OSSL_PARAM_construct_end();

    kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    ATT_CHECK(kdf != NULL, ATT_ERR_CRYPTO);
    ctx = EVP_KDF_CTX_new(kdf);
    ATT_CHECK(ctx != NULL, ATT_ERR_CRYPTO);
    ATT_CHECK(EVP_KDF_derive(ctx, out, out_len, params) == 1, ATT_ERR_CRYPTO);
    rc = ATT_OK;
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    att_buf_cleanup(&pw);
    return rc;
}
