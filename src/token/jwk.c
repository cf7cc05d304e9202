/*
 * jwk.c - a certificate's public key as a JSON Web Key (RFC 7517 §4,
 * RFC 7518 §6), for the /certs JWKS (MAA-API.md §1.4).
 *
 * Input: DER certificates from attestd's own key store (made by
 * x509/selfsigned.c or loaded by an operator). Treated as untrusted anyway:
 * parsed by OpenSSL with an exact length, trailing bytes refused.
 */
#include "token/jwk.h"

#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "core/buf.h"
#include "core/codec.h"

#define CERT_MAX ((size_t)64 * 1024)
/* RFC 7518 §6.2.1.2: x, y are "the full ceiling(log-base-2(n)/8) octets", 32 for P-256. */
#define P256_COORD 32
#define BN_MAX_BYTES 2048 /* RSA-16384 */

/* Parse exactly one DER certificate (RFC 5280 §4.1) covering all `len` bytes. */
static att_err parse_cert(const uint8_t *der, size_t len, X509 **out)
{
    ATT_ENSURE(der != NULL && len > 0, ATT_ERR_ARG);
    ATT_ENSURE(len <= CERT_MAX, ATT_ERR_TOO_LARGE);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        ERR_clear_error();
        return ATT_ERR_PARSE;
    }
    /* OpenSSL keeps the received encoding, so this is the length it consumed. */
    int used = i2d_X509(x, NULL);
    if (used <= 0 || (size_t)used != len) {
        X509_free(x);
        ERR_clear_error();
        return ATT_ERR_TRAILING;
    }
    *out = x;
    return ATT_OK;
}

att_err att_jwk_cert_pubkey(const uint8_t *cert_der, size_t cert_len, EVP_PKEY **out)
{
    ATT_ENSURE(out != NULL, ATT_ERR_ARG);
    X509 *x = NULL;
    ATT_TRY(parse_cert(cert_der, cert_len, &x));
    EVP_PKEY *key = X509_get_pubkey(x); /* a new reference */
    X509_free(x);
    if (key == NULL) {
        ERR_clear_error();
        return ATT_ERR_KEY_TYPE; /* unknown or malformed SubjectPublicKeyInfo */
    }
    *out = key;
    return ATT_OK;
}

/* Set obj[name] = BASE64URL(bytes) (RFC 7515 §2: no padding). */
static att_err set_b64url(json_t *obj, const char *name, const uint8_t *p, size_t n)
{
    struct att_buf b;
    att_buf_init(&b, 4 * BN_MAX_BYTES);
    att_err rc = att_b64url_encode(p, n, &b);
    if (rc == ATT_OK) {
        json_t *v = json_stringn(att_buf_cstr(&b), b.len);
        rc = (v != NULL && json_object_set_new(obj, name, v) == 0) ? ATT_OK : ATT_ERR_NOMEM;
    }
    att_buf_cleanup(&b);
    return rc;
}

static att_err set_str(json_t *obj, const char *name, const char *value)
{
    json_t *v = json_string(value);
    ATT_ENSURE(v != NULL, ATT_ERR_ARG); /* not UTF-8 */
    ATT_ENSURE(json_object_set_new(obj, name, v) == 0, ATT_ERR_NOMEM);
    return ATT_OK;
}

/*
 * obj[name] = BASE64URL of a big-endian integer parameter of `key`.
 * pad == 0: minimal length, RFC 7518 §6.3.1.1 ("n": "MUST NOT be
 * zero-padded") and §2 Base64urlUInt; pad > 0: exactly `pad` octets.
 */
static att_err set_bn(json_t *obj, const char *name, const EVP_PKEY *key, const char *param,
                      int pad)
{
    att_err rc = ATT_ERR_CRYPTO;
    BIGNUM *bn = NULL;
    uint8_t bytes[BN_MAX_BYTES];
    int n = 0;

    ATT_CHECK(EVP_PKEY_get_bn_param(key, param, &bn) == 1, ATT_ERR_CRYPTO);
    if (pad > 0) {
        n = BN_bn2binpad(bn, bytes, pad);
    } else {
        /*
         * RFC 7518 §2 Base64urlUInt: "The octet sequence MUST utilize the
         * minimum number of octets needed to represent the value"; zero is
         * one octet.
         */
        ATT_CHECK(BN_num_bytes(bn) <= BN_MAX_BYTES, ATT_ERR_KEY_TYPE);
        n = BN_is_zero(bn) ? BN_bn2binpad(bn, bytes, 1) : BN_bn2bin(bn, bytes);
    }
    ATT_CHECK(n > 0, ATT_ERR_CRYPTO);
    ATT_GUARD(set_b64url(obj, name, bytes, (size_t)n));
    rc = ATT_OK;
out:
    BN_free(bn);
    ERR_clear_error();
    return rc;
}

/* RFC 7518 §6.3.1: "n" modulus, "e" exponent. */
static att_err put_rsa(json_t *jwk, const EVP_PKEY *key)
{
    ATT_TRY(set_bn(jwk, "n", key, OSSL_PKEY_PARAM_RSA_N, 0));
    return set_bn(jwk, "e", key, OSSL_PKEY_PARAM_RSA_E, 0);
}

/* RFC 7518 §6.2.1: "crv", "x", "y". */
static att_err put_ec(json_t *jwk, const EVP_PKEY *key)
{
    ATT_TRY(set_str(jwk, "crv", "P-256"));
    ATT_TRY(set_bn(jwk, "x", key, OSSL_PKEY_PARAM_EC_PUB_X, P256_COORD));
    return set_bn(jwk, "y", key, OSSL_PKEY_PARAM_EC_PUB_Y, P256_COORD);
}

/*
 * RFC 7517 §4.7: "x5c" is an array of "base64-encoded (Section 4 of
 * [RFC4648] -- not base64url-encoded) DER PKIX certificate value[s]".
 */
static att_err put_x5c(json_t *jwk, const uint8_t *der, size_t len)
{
    att_err rc = ATT_ERR_NOMEM;
    struct att_buf b;
    json_t *arr = json_array();
    json_t *v = NULL;

    att_buf_init(&b, 2 * CERT_MAX);
    ATT_CHECK(arr != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(att_b64_encode(der, len, &b));
    v = json_stringn(att_buf_cstr(&b), b.len);
    ATT_CHECK(v != NULL && json_array_append_new(arr, v) == 0, ATT_ERR_NOMEM);
    ATT_CHECK(json_object_set(jwk, "x5c", arr) == 0, ATT_ERR_NOMEM);
    rc = ATT_OK;
out:
    json_decref(arr);
    att_buf_cleanup(&b);
    return rc;
}

att_err att_jwk_from_cert(const uint8_t *cert_der, size_t cert_len, const char *kid,
                          enum att_jws_alg alg, json_t **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    EVP_PKEY *key = NULL;
    json_t *jwk = NULL;
    enum att_jws_alg key_alg = ATT_JWS_NONE;

    ATT_CHECK(out != NULL && kid != NULL && kid[0] != '\0', ATT_ERR_ARG);
    ATT_CHECK(alg == ATT_JWS_RS256 || alg == ATT_JWS_ES256, ATT_ERR_ARG);
    ATT_GUARD(att_jwk_cert_pubkey(cert_der, cert_len, &key));
    ATT_GUARD(att_jws_alg_for_key(key, &key_alg));
    ATT_CHECK(key_alg == alg, ATT_ERR_KEY_TYPE);

    jwk = json_object();
    ATT_CHECK(jwk != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(set_str(jwk, "kid", kid)); /* RFC 7517 §4.5 */
    /* RFC 7517 §4.1 "kty"; RFC 7518 §6.1: "EC" or "RSA". */
    ATT_GUARD(set_str(jwk, "kty", alg == ATT_JWS_RS256 ? "RSA" : "EC"));
    ATT_GUARD(set_str(jwk, "alg", att_jws_alg_name(alg))); /* RFC 7517 §4.4 */
    ATT_GUARD(set_str(jwk, "use", "sig"));                 /* RFC 7517 §4.2 */
    ATT_GUARD(put_x5c(jwk, cert_der, cert_len));           /* RFC 7517 §4.7 */
    if (alg == ATT_JWS_RS256) {
        ATT_GUARD(put_rsa(jwk, key));
    } else {
        ATT_GUARD(put_ec(jwk, key));
    }
    *out = jwk;
    jwk = NULL;
    rc = ATT_OK;
out:
    json_decref(jwk);
    EVP_PKEY_free(key);
    return rc;
}
