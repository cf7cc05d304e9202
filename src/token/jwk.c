/*
 * jwk.c - JSON Web Keys (RFC 7517 §4, RFC 7518 §6): a certificate's public
 * key as a JWK, for the /certs JWKS (docs/reference/maa-api.md §1.4), and the import of
 * public JWKs published by external OpenID providers.
 *
 * Input: export reads DER certificates from attestd's own key store (made
 * by x509/selfsigned.c or loaded by an operator), treated as untrusted
 * anyway: parsed by OpenSSL with an exact length, trailing bytes refused.
 * Import (att_jwk_to_key) reads JSON fetched from the network: untrusted;
 * every member is type-checked, decoded strictly and size-checked before
 * OpenSSL sees it.
 */
#include "token/jwk.h"

#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <string.h>

#include "crypto/ecdsa.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/rd.h"

#define CERT_MAX ((size_t)64 * 1024)
/* RFC 7518 §6.2.1.2: x, y are "the full ceiling(log-base-2(n)/8) octets", 32 for P-256. */
#define P256_COORD 32
#define BN_MAX_BYTES 2048 /* RSA-16384 */
/* Import: no accepted key member decodes to more than this (RSA-8192 n is 1024 octets). */
#define MEMBER_MAX 4096
#define P384_COORD 48
/* RSA public exponents over 64 bits are refused (OpenSSL's OPENSSL_RSA_MAX_PUBEXP_BITS). */
#define RSA_E_MAX_BYTES 8
/* RFC 7517 §4.3 defines eight key_ops values; a longer list is not a real key. */
#define KEY_OPS_MAX 16

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

att_err att_jwk_rsa_key(const json_t *jwk, EVP_PKEY **out)
{
    enum att_jws_alg alg;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    json_t *plain = kty != NULL && strcmp(kty, "RSA") == 0
                        ? json_pack("{s:s,s:O,s:O}", "kty", "RSA", "n", json_object_get(jwk, "n"),
                                    "e", json_object_get(jwk, "e"))
                        : NULL;
    att_err rc = plain != NULL ? att_jwk_to_key(plain, out, &alg) : ATT_ERR_KEY_TYPE;
    json_decref(plain);
    return rc;
}

att_err att_jwk_rsa_public(const EVP_PKEY *key, const char *kid, json_t **out)
{
    json_t *jwk = json_object();
    att_err rc = jwk != NULL ? ATT_OK : ATT_ERR_NOMEM;
    if (rc == ATT_OK) {
        rc = set_str(jwk, "kid", kid);
    }
    if (rc == ATT_OK) {
        rc = set_str(jwk, "kty", "RSA");
    }
    if (rc == ATT_OK) {
        rc = put_rsa(jwk, key);
    }
    if (rc != ATT_OK) {
        json_decref(jwk);
        return rc;
    }
    *out = jwk;
    return ATT_OK;
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

/* =====================================================================
 * Import (untrusted input): one public JWK to an EVP_PKEY
 * ===================================================================== */

/*
 * The string member `name`: ATT_ERR_NOT_FOUND when absent, ATT_ERR_JSON
 * when not a string. Jansson refuses "\u0000" by default, so the value is a
 * C string of exactly *len bytes.
 */
static att_err member_str(const json_t *jwk, const char *name, struct att_bytes *out)
{
    const json_t *v = json_object_get(jwk, name);
    ATT_ENSURE(v != NULL, ATT_ERR_NOT_FOUND);
    ATT_ENSURE(json_is_string(v), ATT_ERR_JSON);
    out->ptr = (const uint8_t *)json_string_value(v);
    out->len = json_string_length(v);
    return ATT_OK;
}

/* A required string member: absent is ATT_ERR_JSON (wrong shape) too. */
static att_err required_str(const json_t *jwk, const char *name, struct att_bytes *out)
{
    att_err rc = member_str(jwk, name, out);
    return rc == ATT_ERR_NOT_FOUND ? ATT_ERR_JSON : rc;
}

/* Decode the required base64url member `name` into `out` (initialised, capped by the caller). */
static att_err member_b64url(const json_t *jwk, const char *name, struct att_buf *out)
{
    struct att_bytes text;
    ATT_TRY(required_str(jwk, name, &text));
    /* RFC 7518 §6.2.1.2 / §6.3.1.1: the value is "a base64url-encoded" octet string. */
    return att_b64url_decode((const char *)text.ptr, text.len, out);
}

/*
 * RFC 7517 §4.3 "key_ops": "an array of key operation values", "Duplicate
 * key operation values MUST NOT be present". We verify, so "verify" must be
 * among them.
 */
static att_err check_key_ops(const json_t *ops)
{
    size_t n = json_array_size(ops);
    bool verify = false;

    ATT_ENSURE(json_is_array(ops), ATT_ERR_JSON);
    ATT_ENSURE(n <= KEY_OPS_MAX, ATT_ERR_VALIDATE);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_array_get(ops, i);
        ATT_ENSURE(json_is_string(a), ATT_ERR_JSON);
        for (size_t j = 0; j < i; j++) {
            ATT_ENSURE(!json_equal(a, json_array_get(ops, j)), ATT_ERR_VALIDATE);
        }
        verify = verify || strcmp(json_string_value(a), "verify") == 0;
    }
    ATT_ENSURE(verify, ATT_ERR_VALIDATE);
    return ATT_OK;
}

/* RFC 7517 §4.2 "use" and §4.3 "key_ops": the key must be meant for verifying signatures. */
static att_err check_usage(const json_t *jwk)
{
    struct att_bytes use;
    att_err rc = member_str(jwk, "use", &use);
    if (rc == ATT_OK) {
        /* §4.2: "sig" (signature) or "enc" (encryption); only "sig" verifies, and SPIFFE's
         * "jwt-svid" (Trust Domain and Bundle §4.2.2), which is a JWT signing key. */
        ATT_ENSURE(att_bytes_eq_str(use, "sig") || att_bytes_eq_str(use, "jwt-svid"),
                   ATT_ERR_VALIDATE);
    } else if (rc != ATT_ERR_NOT_FOUND) {
        return rc;
    }
    const json_t *ops = json_object_get(jwk, "key_ops");
    return ops == NULL ? ATT_OK : check_key_ops(ops);
}

att_err att_jwk_check_public(const json_t *jwk)
{
    /*
     * RFC 7518 §6.3.2 (RSA "d", "p", "q", "dp", "dq", "qi", "oth"), §6.2.2
     * (EC "d") and §6.4.1 (symmetric "k"): members of private or secret
     * keys. A published key set holding one has leaked a secret.
     */
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    ATT_ENSURE(json_is_object(jwk), ATT_ERR_JSON);
    for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
        ATT_ENSURE(json_object_get(jwk, private_members[i]) == NULL, ATT_ERR_VALIDATE);
    }
    return ATT_OK;
}

/*
 * RFC 7517 §4.4 "alg", optional: when present it must be on our allow-list
 * and fit the key. `fits` lists the algorithms this key may verify,
 * ATT_JWS_NONE-terminated, the default (used when "alg" is absent) first.
 */
static att_err pick_alg(const json_t *jwk, const enum att_jws_alg *fits, enum att_jws_alg *out)
{
    struct att_bytes name;
    enum att_jws_alg alg = ATT_JWS_NONE;

    att_err rc = member_str(jwk, "alg", &name);
    if (rc == ATT_ERR_NOT_FOUND) {
        *out = fits[0];
        return ATT_OK;
    }
    ATT_TRY(rc);
    /* att_jws_alg_parse reads a C string: an embedded NUL must not cut the name short. */
    ATT_ENSURE(strlen((const char *)name.ptr) == name.len, ATT_ERR_ALG_UNSUPPORTED);
    ATT_TRY(att_jws_alg_parse((const char *)name.ptr, &alg));
    ATT_ENSURE(alg != ATT_JWS_NONE, ATT_ERR_ALG_NONE);
    for (size_t i = 0; fits[i] != ATT_JWS_NONE; i++) {
        if (fits[i] == alg) {
            *out = alg;
            return ATT_OK;
        }
    }
    return ATT_ERR_KEY_TYPE;
}

/* Borrow `b` without its leading zero octets. */
static struct att_bytes strip_zeros(const struct att_buf *b)
{
    struct att_rd r;
    struct att_bytes out;
    uint8_t c = 0;
    att_rd_init(&r, b->data, b->len);
    while (att_rd_peek_u8(&r, &c) == ATT_OK && c == 0) {
        att_ignore_err(att_rd_skip(&r, 1)); /* a byte was just peeked */
    }
    att_rd_rest(&r, &out);
    return out;
}

/* RFC 7518 §6.3.1: "n" (modulus) and "e" (exponent), Base64urlUInt each. */
static att_err rsa_from_jwk(const json_t *jwk, EVP_PKEY **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf nb;
    struct att_buf eb;
    struct att_bytes n;
    struct att_bytes e;
    BIGNUM *bn = NULL;
    BIGNUM *be = NULL;

    att_buf_init(&nb, MEMBER_MAX);
    att_buf_init(&eb, MEMBER_MAX);
    ATT_GUARD(member_b64url(jwk, "n", &nb));
    ATT_GUARD(member_b64url(jwk, "e", &eb));
    /*
     * §6.3.1.1: "The octet sequence MUST utilize the minimum number of
     * octets"; some publishers keep a sign octet anyway, so leading zeros
     * are tolerated (they do not change the value).
     */
    n = strip_zeros(&nb);
    e = strip_zeros(&eb);
    ATT_CHECK(n.len > 0 && e.len > 0 && e.len <= RSA_E_MAX_BYTES, ATT_ERR_KEY_TYPE);
    bn = BN_bin2bn(n.ptr, (int)n.len, NULL);
    be = BN_bin2bn(e.ptr, (int)e.len, NULL);
    ATT_CHECK(bn != NULL && be != NULL, ATT_ERR_NOMEM);
    /* RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used". */
    ATT_CHECK(BN_num_bits(bn) >= ATT_JWK_RSA_MIN_BITS && BN_num_bits(bn) <= ATT_JWK_RSA_MAX_BITS,
              ATT_ERR_KEY_TYPE);
    /* RFC 8017 §3.1: n is a product of odd primes; e is odd (coprime to even λ(n)) and > 1. */
    ATT_CHECK(BN_is_odd(bn) && BN_is_odd(be) && !BN_is_one(be), ATT_ERR_KEY_TYPE);
    ATT_GUARD(att_rsa_public_key(bn, be, out));
    rc = ATT_OK;
out:
    BN_free(bn);
    BN_free(be);
    att_buf_cleanup(&nb);
    att_buf_cleanup(&eb);
    ERR_clear_error();
    return rc;
}

struct curve {
    const char *crv;      /* RFC 7518 §6.2.1.1 name */
    const char *group;    /* OpenSSL group name */
    size_t coord;         /* §6.2.1.2: "the full ceiling(log-base-2(n)/8) octets" */
    enum att_jws_alg alg; /* RFC 7518 §3.4 */
};

static const struct curve curves[] = {
    {"P-256", "prime256v1", P256_COORD, ATT_JWS_ES256},
    {"P-384", "secp384r1", P384_COORD, ATT_JWS_ES384},
};

static att_err find_curve(const json_t *jwk, const struct curve **out)
{
    struct att_bytes crv;
    ATT_TRY(required_str(jwk, "crv", &crv));
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (att_bytes_eq_str(crv, curves[i].crv)) {
            *out = &curves[i];
            return ATT_OK;
        }
    }
    return ATT_ERR_KEY_TYPE; /* P-521, secp256k1, ...: not on our list */
}

/* RFC 7518 §6.2.1: "crv", "x", "y" of a public EC key. */
static att_err ec_from_jwk(const json_t *jwk, const struct curve *c, EVP_PKEY **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf point;
    struct att_buf y;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *check = NULL;
    size_t x_len = 0;

    /* SEC 1 §2.3.3: the uncompressed point 0x04 || X || Y. */
    att_buf_init(&point, MEMBER_MAX);
    att_buf_init(&y, MEMBER_MAX);
    ATT_GUARD(att_buf_putc(&point, 0x04));
    ATT_GUARD(member_b64url(jwk, "x", &point));
    x_len = point.len - 1;
    ATT_GUARD(member_b64url(jwk, "y", &y));
    /* §6.2.1.2: "the length of this octet string MUST be the full ceiling(...) octets". */
    ATT_CHECK(x_len == c->coord && y.len == c->coord, ATT_ERR_KEY_TYPE);
    ATT_GUARD(att_buf_put(&point, y.data, y.len));
    bld = OSSL_PARAM_BLD_new();
    ATT_CHECK(bld != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->group, 0) == 1 &&
                  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data,
                                                   point.len) == 1,
              ATT_ERR_NOMEM);
    ATT_GUARD(att_pkey_fromdata("EC", bld, &key));
    /* Belt and braces: on the curve, not the point at infinity, in the prime-order group. */
    check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    ATT_CHECK(check != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_PKEY_public_check(check) == 1, ATT_ERR_KEY_TYPE);
    *out = key;
    key = NULL;
    rc = ATT_OK;
out:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_free(key);
    OSSL_PARAM_BLD_free(bld);
    att_buf_cleanup(&point);
    att_buf_cleanup(&y);
    ERR_clear_error();
    return rc;
}

att_err att_jwk_to_key(const json_t *jwk, EVP_PKEY **key, enum att_jws_alg *alg)
{
    static const enum att_jws_alg rsa_algs[] = {ATT_JWS_RS256, ATT_JWS_PS256, ATT_JWS_NONE};
    att_err rc = ATT_ERR_INTERNAL;
    struct att_bytes kty;
    const struct curve *c = NULL;
    enum att_jws_alg ec_algs[2] = {ATT_JWS_NONE, ATT_JWS_NONE};
    enum att_jws_alg a = ATT_JWS_NONE;
    EVP_PKEY *k = NULL;

    ATT_CHECK(jwk != NULL && key != NULL && alg != NULL, ATT_ERR_ARG);
    /* Parse and validate: kty, usage and algorithm before any key material. */
    ATT_CHECK(json_is_object(jwk), ATT_ERR_JSON);
    /* RFC 7517 §4.1: "kty" ... "MUST be present in a JWK". */
    ATT_GUARD(required_str(jwk, "kty", &kty));
    /* RFC 7518 §6.1: "EC", "RSA", "oct"; symmetric keys are never accepted. */
    ATT_CHECK(att_bytes_eq_str(kty, "RSA") || att_bytes_eq_str(kty, "EC"), ATT_ERR_KEY_TYPE);
    ATT_GUARD(att_jwk_check_public(jwk));
    ATT_GUARD(check_usage(jwk));
    if (att_bytes_eq_str(kty, "RSA")) {
        ATT_GUARD(pick_alg(jwk, rsa_algs, &a));
        ATT_GUARD(rsa_from_jwk(jwk, &k));
    } else {
        ATT_GUARD(find_curve(jwk, &c));
        ec_algs[0] = c->alg;
        ATT_GUARD(pick_alg(jwk, ec_algs, &a));
        ATT_GUARD(ec_from_jwk(jwk, c, &k));
    }
    /* The same rule att_jws_verify applies: the key must fit its pinned alg. */
    ATT_GUARD(att_jws_key_fits(k, a));
    *key = k;
    *alg = a;
    k = NULL;
    rc = ATT_OK;
out:
    EVP_PKEY_free(k);
    return rc;
}
