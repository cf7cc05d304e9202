/*
 * ecdsa.c - raw r || s ECDSA verification, raw P-256 points, SHA-256 (OpenSSL 3 EVP).
 */
#include "crypto/ecdsa.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

att_err att_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, size_t coord, unsigned char **der,
                             size_t *der_len)
{
    att_err rc = ATT_ERR_NOMEM;
    BIGNUM *br = NULL;
    BIGNUM *bs = NULL;
    ECDSA_SIG *sig = NULL;
    unsigned char *enc = NULL;
    int n;

    ATT_ENSURE(coord > 0 && coord <= 66 && raw_len == 2 * coord, ATT_ERR_SIGNATURE);
    br = BN_bin2bn(raw, (int)coord, NULL);
    bs = BN_bin2bn(raw + coord, (int)coord, NULL);
    sig = ECDSA_SIG_new();
    ATT_CHECK(br != NULL && bs != NULL && sig != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(ECDSA_SIG_set0(sig, br, bs) == 1, ATT_ERR_CRYPTO);
    br = NULL; /* owned by sig now */
    bs = NULL;
    n = i2d_ECDSA_SIG(sig, &enc);
    ATT_CHECK(n > 0, ATT_ERR_CRYPTO);
    *der = enc;
    *der_len = (size_t)n;
    enc = NULL;
    rc = ATT_OK;
out:
    OPENSSL_free(enc);
    ECDSA_SIG_free(sig);
    BN_free(bs);
    BN_free(br);
    return rc;
}

att_err att_ecdsa_verify_raw(EVP_PKEY *key, const uint8_t *sig, size_t sig_len, const void *data,
                             size_t len)
{
    att_err rc = ATT_ERR_NOMEM;
    unsigned char *der = NULL;
    size_t der_len = 0;
    EVP_MD_CTX *md = NULL;
    int bits = EVP_PKEY_get_bits(key);
    size_t coord = bits <= 256 ? 32 : 48;
    const char *digest = bits <= 256 ? "SHA256" : "SHA384";

    ATT_ENSURE(EVP_PKEY_is_a(key, "EC") && (bits == 256 || bits == 384), ATT_ERR_KEY_TYPE);
    ATT_GUARD(att_ecdsa_raw_to_der(sig, sig_len, coord, &der, &der_len));
    md = EVP_MD_CTX_new();
    ATT_CHECK(md != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_DigestVerifyInit_ex(md, NULL, digest, NULL, NULL, key, NULL) == 1,
              ATT_ERR_CRYPTO);
    ATT_CHECK(EVP_DigestVerify(md, der, der_len, data, len) == 1, ATT_ERR_SIGNATURE);
    rc = ATT_OK;
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
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

att_err att_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    ATT_ENSURE(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32, ATT_ERR_CRYPTO);
    return ATT_OK;
}
