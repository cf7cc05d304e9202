/*
 * ecdsa.c - raw r || s ECDSA verification, raw P-256 points, SHA-256 (OpenSSL 3 EVP).
 */
#include "crypto/ecdsa.h"

#include <stdbool.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

/* One DER INTEGER (X.690 §8.3) for an unsigned big-endian value: minimal, non-negative. */
static size_t der_uint(const uint8_t *v, size_t n, uint8_t *out)
{
    size_t skip = 0;
    while (skip + 1 < n && v[skip] == 0) {
        skip++;
    }
    size_t len = n - skip;
    bool pad = (v[skip] & 0x80) != 0; /* a set top bit would read as negative */
    out[0] = 0x02;
    out[1] = (uint8_t)(len + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, v + skip, len);
    return 2 + pad + len;
}

att_err att_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, size_t coord,
                             uint8_t der[ATT_ECDSA_DER_MAX], size_t *der_len)
{
    uint8_t ints[2 * (3 + 66)];
    ATT_ENSURE(coord > 0 && coord <= 66 && raw_len == 2 * coord, ATT_ERR_SIGNATURE);
    size_t n = der_uint(raw, coord, ints);
    n += der_uint(raw + coord, coord, ints + n);
    /* The SEQUENCE: short-form length below 128 (P-256, P-384), else 0x81 LL (P-521). */
    size_t hdr = n < 128 ? 2 : 3;
    der[0] = 0x30;
    if (n < 128) {
        der[1] = (uint8_t)n;
    } else {
        der[1] = 0x81;
        der[2] = (uint8_t)n;
    }
    memcpy(der + hdr, ints, n);
    *der_len = hdr + n;
    return ATT_OK;
}

att_err att_ecdsa_verify_raw(EVP_PKEY *key, const uint8_t *sig, size_t sig_len, const void *data,
                             size_t len)
{
    att_err rc = ATT_ERR_NOMEM;
    uint8_t der[ATT_ECDSA_DER_MAX];
    size_t der_len = 0;
    EVP_MD_CTX *md = NULL;
    int bits = EVP_PKEY_get_bits(key);
    size_t coord = bits <= 256 ? 32 : 48;
    const char *digest = bits <= 256 ? "SHA256" : "SHA384";

    ATT_ENSURE(EVP_PKEY_is_a(key, "EC") && (bits == 256 || bits == 384), ATT_ERR_KEY_TYPE);
    ATT_GUARD(att_ecdsa_raw_to_der(sig, sig_len, coord, der, &der_len));
    md = EVP_MD_CTX_new();
    ATT_CHECK(md != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_DigestVerifyInit_ex(md, NULL, digest, NULL, NULL, key, NULL) == 1,
              ATT_ERR_CRYPTO);
    ATT_CHECK(EVP_DigestVerify(md, der, der_len, data, len) == 1, ATT_ERR_SIGNATURE);
    rc = ATT_OK;
out:
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return rc;
}

att_err att_p256_key_from_xy(const uint8_t xy[64], EVP_PKEY **out)
{
    att_err rc = ATT_ERR_NOMEM;
    uint8_t point[65];
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    char group[] = "prime256v1";

    point[0] = 0x04; /* uncompressed (SEC 1 §2.3.3) */
    memcpy(point + 1, xy, 64);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
    params[2] = OSSL_PARAM_construct_end();
    ATT_CHECK(ctx != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_PKEY_fromdata_init(ctx) == 1, ATT_ERR_CRYPTO);
    /* OpenSSL decodes the point here and refuses one not on the curve. */
    ATT_CHECK(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1, ATT_ERR_KEY_TYPE);
    *out = key;
    rc = ATT_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

att_err att_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    att_err rc = ATT_ERR_NOMEM;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *key = NULL;

    ATT_CHECK(params != NULL && ctx != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_PKEY_fromdata_init(ctx) == 1, ATT_ERR_CRYPTO);
    /* For EC, OpenSSL decodes the point here and refuses one not on the curve. */
    ATT_CHECK(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1, ATT_ERR_KEY_TYPE);
    *out = key;
    rc = ATT_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    ERR_clear_error();
    return rc;
}

att_err att_rsa_public_key(const BIGNUM *n, const BIGNUM *e, EVP_PKEY **out)
{
    att_err rc = ATT_ERR_NOMEM;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    ATT_CHECK(bld != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
                  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1,
              ATT_ERR_NOMEM);
    rc = att_pkey_fromdata("RSA", bld, out);
out:
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

/* SHA-256 fetched once (OpenSSL 3 otherwise repeats the lookup on every digest). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); /* kept until exit */
}

const EVP_MD *att_sha256_md(void)
{
    pthread_once(&sha256_once, fetch_sha256);
    return sha256_md;
}

att_err att_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    const EVP_MD *md = att_sha256_md();
    ATT_ENSURE(md != NULL && EVP_Digest(data, len, out, &n, md, NULL) == 1 && n == 32,
               ATT_ERR_CRYPTO);
    return ATT_OK;
}
