/*
 * selfsigned.c - self-signed X.509 v3 certificates (RFC 5280) that publish
 * token signing keys in /certs (docs/reference/maa-api.md §1.4).
 *
 * Input: a key from the signer and a subject from configuration (trusted),
 * still checked: the subject must be 1..511 printable ASCII characters.
 *
 * Subject naming. RFC 5280 appendix A bounds commonName at 64 characters
 * (ub-common-name), but the subject is usually the instance URL, which may
 * be longer. So:
 *   - CN = subject_cn when it has at most 64 characters, else its first 64
 *     characters (a display label only; relying parties use the JWKS kid);
 *   - when subject_cn looks like a URL ("http://" or "https://", any case),
 *     the full URL also goes into a subjectAltName uniformResourceIdentifier
 *     (RFC 5280 §4.2.1.6), which has no such bound.
 * The subject cannot be left empty instead: the certificate is self-issued
 * and RFC 5280 §4.1.2.4 says the issuer "MUST contain a non-empty
 * distinguished name (DN)".
 * Extensions are built as ASN.1 structures, not from an OpenSSL config
 * string, so a ',' in the URL cannot smuggle in another name.
 */
#include "x509/selfsigned.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SUBJECT_MAX 511
#define CN_MAX 64 /* RFC 5280 appendix A: ub-common-name INTEGER ::= 64 */
#define SERIAL_BYTES 16
#define DAYS_MAX (100 * 366)
#define SECONDS_PER_DAY 86400

static att_err check_subject(const char *cn, size_t *len)
{
    ATT_ENSURE(cn != NULL, ATT_ERR_ARG);
    size_t n = strnlen(cn, SUBJECT_MAX + 1);
    ATT_ENSURE(n > 0 && n <= SUBJECT_MAX, ATT_ERR_ARG);
    for (size_t i = 0; i < n; i++) {
        ATT_ENSURE(cn[i] >= 0x20 && cn[i] <= 0x7e, ATT_ERR_ARG);
    }
    *len = n;
    return ATT_OK;
}

static bool looks_like_url(const char *s)
{
    return strncasecmp(s, "https://", 8) == 0 || strncasecmp(s, "http://", 7) == 0;
}

/*
 * RFC 5280 §4.1.2.2: the serial "MUST be a positive integer" of at most 20
 * octets, and CAs should make it unpredictable. 16 random octets with the
 * top bit clear (positive) and the next one set (always exactly 16 octets).
 */
static att_err set_serial(X509 *x)
{
    att_err rc = ATT_ERR_CRYPTO;
    uint8_t rnd[SERIAL_BYTES];
    BIGNUM *bn = NULL;

    ATT_CHECK(RAND_bytes(rnd, sizeof(rnd)) == 1, ATT_ERR_CRYPTO);
    rnd[0] = (uint8_t)((rnd[0] & 0x7f) | 0x40);
    bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
    ATT_CHECK(bn != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL, ATT_ERR_CRYPTO);
    rc = ATT_OK;
out:
    BN_free(bn);
    return rc;
}

/* Subject = issuer = CN=<first 64 characters of subject_cn> (see the banner). */
static att_err set_names(X509 *x, const char *cn, size_t len)
{
    att_err rc = ATT_ERR_CRYPTO;
    X509_NAME *name = X509_NAME_new();
    int cn_len = (int)(len < CN_MAX ? len : CN_MAX);

    ATT_CHECK(name != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                         (const unsigned char *)cn, cn_len, -1, 0) == 1,
              ATT_ERR_CRYPTO);
    ATT_CHECK(X509_set_subject_name(x, name) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(X509_set_issuer_name(x, name) == 1, ATT_ERR_CRYPTO);
    rc = ATT_OK;
out:
    X509_NAME_free(name);
    return rc;
}

/*
 * RFC 5280 §4.1.2.5: OpenSSL writes UTCTime through 2049 and
 * GeneralizedTime from 2050, as the RFC requires.
 */
static att_err set_validity(X509 *x, int64_t not_before, int days)
{
    ATT_ENSURE(not_before >= 0 && days > 0 && days <= DAYS_MAX, ATT_ERR_ARG);
    int64_t span = (int64_t)days * SECONDS_PER_DAY;
    ATT_ENSURE(not_before <= INT64_MAX - span, ATT_ERR_ARG);
    ATT_ENSURE(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) != NULL, ATT_ERR_ARG);
    ATT_ENSURE(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(not_before + span)) != NULL,
               ATT_ERR_ARG);
    return ATT_OK;
}

/* RFC 5280 §4.2.1.9: basicConstraints, critical, cA FALSE (an end entity). */
static att_err add_basic_constraints(X509 *x)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    ATT_ENSURE(bc != NULL, ATT_ERR_NOMEM);
    bc->ca = 0;
    int ok = X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT);
    BASIC_CONSTRAINTS_free(bc);
    return ok == 1 ? ATT_OK : ATT_ERR_CRYPTO;
}

/* RFC 5280 §4.2.1.3: keyUsage, critical, digitalSignature (bit 0) only. */
static att_err add_key_usage(X509 *x)
{
    ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
    ATT_ENSURE(ku != NULL, ATT_ERR_NOMEM);
    int ok = ASN1_BIT_STRING_set_bit(ku, 0, 1);
    if (ok == 1) {
        ok = X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT);
    }
    ASN1_BIT_STRING_free(ku);
    return ok == 1 ? ATT_OK : ATT_ERR_CRYPTO;
}

/*
 * RFC 5280 §4.2.1.2 method (1): the key identifier is "the 160-bit SHA-1
 * hash of the value of the BIT STRING subjectPublicKey". Call after
 * X509_set_pubkey.
 */
static att_err add_subject_key_id(X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    ATT_ENSURE(X509_pubkey_digest(x, EVP_sha1(), md, &md_len) == 1, ATT_ERR_CRYPTO);
    ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
    ATT_ENSURE(ski != NULL, ATT_ERR_NOMEM);
    int ok = ASN1_OCTET_STRING_set(ski, md, (int)md_len);
    if (ok == 1) {
        ok = X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT);
    }
    ASN1_OCTET_STRING_free(ski);
    return ok == 1 ? ATT_OK : ATT_ERR_CRYPTO;
}

/* RFC 5280 §4.2.1.6: subjectAltName with one uniformResourceIdentifier (IA5String). */
static att_err add_san_uri(X509 *x, const char *url, size_t len)
{
    att_err rc = ATT_ERR_NOMEM;
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

    ATT_CHECK(names != NULL && gn != NULL && ia5 != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(ASN1_STRING_set(ia5, url, (int)len) == 1, ATT_ERR_NOMEM);
    GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
    ia5 = NULL; /* owned by gn */
    ATT_CHECK(sk_GENERAL_NAME_push(names, gn) > 0, ATT_ERR_NOMEM);
    gn = NULL; /* owned by names */
    ATT_CHECK(X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1,
              ATT_ERR_CRYPTO);
    rc = ATT_OK;
out:
    ASN1_IA5STRING_free(ia5);
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(names);
    return rc;
}

/* The certificate's fields for `pub` (everything but the signature). */
static att_err build(EVP_PKEY *pub, const char *subject_cn, int64_t not_before, int days,
                     X509 **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    size_t cn_len = 0;
    X509 *x = NULL;
    ATT_GUARD(check_subject(subject_cn, &cn_len));
    x = X509_new();
    ATT_CHECK(x != NULL, ATT_ERR_NOMEM);
    /* RFC 5280 §4.1.2.1: extensions are present, so "version MUST be 3" (value 2). */
    ATT_CHECK(X509_set_version(x, X509_VERSION_3) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(set_serial(x));
    ATT_GUARD(set_names(x, subject_cn, cn_len));
    ATT_GUARD(set_validity(x, not_before, days));
    ATT_CHECK(X509_set_pubkey(x, pub) == 1, ATT_ERR_KEY_TYPE);
    ATT_GUARD(add_basic_constraints(x));
    ATT_GUARD(add_key_usage(x));
    ATT_GUARD(add_subject_key_id(x));
    if (looks_like_url(subject_cn)) {
        ATT_GUARD(add_san_uri(x, subject_cn, cn_len));
    }
    *out = x;
    x = NULL;
    rc = ATT_OK;
out:
    X509_free(x);
    return rc;
}

att_err att_x509_self_signed(EVP_PKEY *key, const char *subject_cn, int64_t not_before, int days,
                             struct att_buf *der)
{
    att_err rc = ATT_ERR_INTERNAL;
    X509 *x = NULL;
    unsigned char *enc = NULL;
    int enc_len = 0;

    ATT_CHECK(key != NULL && der != NULL, ATT_ERR_ARG);
    ATT_GUARD(build(key, subject_cn, not_before, days, &x));
    /* sha256WithRSAEncryption or ecdsa-with-SHA256 (RFC 4055 §5, RFC 5758 §3.2). */
    ATT_CHECK(X509_sign(x, key, EVP_sha256()) > 0, ATT_ERR_CRYPTO);
    enc_len = i2d_X509(x, &enc);
    ATT_CHECK(enc_len > 0, ATT_ERR_CRYPTO);
    ATT_GUARD(att_buf_put(der, enc, (size_t)enc_len));
    rc = ATT_OK;
out:
    OPENSSL_free(enc);
    X509_free(x);
    if (rc != ATT_OK) {
        ERR_clear_error();
    }
    return rc;
}

/* A DER tag and length (X.690 §8.1.2-8.1.3: definite form, lengths below 2^24). */
static att_err put_tl(struct att_buf *b, uint8_t tag, size_t len)
{
    uint8_t h[5] = {tag};
    size_t n = 1;
    if (len < 0x80) {
        h[n++] = (uint8_t)len;
    } else if (len < 0x100) {
        h[n++] = 0x81;
        h[n++] = (uint8_t)len;
    } else if (len < 0x10000) {
        h[n++] = 0x82;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    } else {
        ATT_ENSURE(len < 0x1000000, ATT_ERR_TOO_LARGE);
        h[n++] = 0x83;
        h[n++] = (uint8_t)(len >> 16);
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    }
    return att_buf_put(b, h, n);
}

att_err att_x509_self_signed_by(EVP_PKEY *pub, const char *subject_cn, int64_t not_before, int days,
                                att_x509_sign_fn sign, void *arg, struct att_buf *der)
{
    att_err rc = ATT_ERR_INTERNAL;
    X509 *x = NULL;
    X509 *check = NULL;
    EVP_PKEY *stand_in = NULL;
    unsigned char *tbs = NULL;
    unsigned char *alg = NULL;
    struct att_buf sig, body, cert;
    att_buf_init(&sig, 4096);
    att_buf_init(&body, 1 << 16);
    att_buf_init(&cert, 1 << 16);
    ATT_CHECK(pub != NULL && sign != NULL && der != NULL, ATT_ERR_ARG);
    ATT_GUARD(build(pub, subject_cn, not_before, days, &x));
    /*
     * OpenSSL writes the signature algorithm (into the TBS and the outer field) only while it
     * signs, so a stand-in key of the same type signs once; then the TBS is signed by the
     * real key and the certificate put together: SEQUENCE { tbs, algorithm, BIT STRING }
     * (RFC 5280 §4.1).
     */
    stand_in = EVP_PKEY_is_a(pub, "EC") ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                                        : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ATT_CHECK(stand_in != NULL && X509_sign(x, stand_in, EVP_sha256()) > 0, ATT_ERR_CRYPTO);
    int tbs_len = i2d_re_X509_tbs(x, &tbs);
    const X509_ALGOR *algor = NULL;
    X509_get0_signature(NULL, &algor, x);
    int alg_len = algor != NULL ? i2d_X509_ALGOR(algor, &alg) : -1;
    ATT_CHECK(tbs_len > 0 && alg_len > 0, ATT_ERR_CRYPTO);
    ATT_GUARD(sign(arg, tbs, (size_t)tbs_len, &sig));
    ATT_GUARD(att_buf_put(&body, tbs, (size_t)tbs_len));
    ATT_GUARD(att_buf_put(&body, alg, (size_t)alg_len));
    ATT_GUARD(put_tl(&body, 0x03, sig.len + 1)); /* BIT STRING, no unused bits */
    ATT_GUARD(att_buf_putc(&body, 0));
    ATT_GUARD(att_buf_put(&body, sig.data, sig.len));
    ATT_GUARD(put_tl(&cert, 0x30, body.len));
    ATT_GUARD(att_buf_put(&cert, body.data, body.len));
    /* What was put together must parse whole and verify with the key it names. */
    const unsigned char *p = cert.data;
    check = d2i_X509(NULL, &p, (long)cert.len);
    ATT_CHECK(check != NULL && p == cert.data + cert.len && X509_verify(check, pub) == 1,
              ATT_ERR_CRYPTO);
    ATT_GUARD(att_buf_put(der, cert.data, cert.len));
    rc = ATT_OK;
out:
    OPENSSL_free(tbs);
    OPENSSL_free(alg);
    X509_free(x);
    X509_free(check);
    EVP_PKEY_free(stand_in);
    att_buf_cleanup(&sig);
    att_buf_cleanup(&body);
    att_buf_cleanup(&cert);
    if (rc != ATT_OK) {
        ERR_clear_error();
    }
    return rc;
}
