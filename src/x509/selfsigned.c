/*
 * selfsigned.c - self-signed X.509 v3 certificates (RFC 5280) that publish
 * token signing keys in /certs (docs/reference/maa-api.md §1.4); and a TLS
 * server's certificate, self-signed, or its request (RFC 2986) for a CA to
 * sign (attestctl init).
 *
 * Input: a key from the signer and a subject from configuration (trusted),
 * still checked: the subject must be 1..511 printable ASCII characters; a
 * server's names come from the operator's command line and configuration
 * and are checked as DNS names or IP addresses.
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
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
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

/* A name of one attribute, CN=<first 64 characters of cn> (see the banner). */
static X509_NAME *cn_name(const char *cn, size_t len)
{
    X509_NAME *name = X509_NAME_new();
    int cn_len = (int)(len < CN_MAX ? len : CN_MAX);
    if (name != NULL && X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                                   (const unsigned char *)cn, cn_len, -1, 0) != 1) {
        X509_NAME_free(name);
        name = NULL;
    }
    return name;
}

/* Subject = issuer = CN=<first 64 characters of subject_cn>. */
static att_err set_names(X509 *x, const char *cn, size_t len)
{
    att_err rc = ATT_ERR_CRYPTO;
    X509_NAME *name = cn_name(cn, len);

    ATT_CHECK(name != NULL, ATT_ERR_NOMEM);
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

/*
 * Extensions are gathered in a list first, so that a certificate and a request (RFC 2986
 * §4.1, whose extensionRequest attribute, RFC 2985 §5.4.2, holds the same list) share them.
 */

/* RFC 5280 §4.2.1.9: basicConstraints, critical, cA FALSE (an end entity). */
static att_err add_basic_constraints(STACK_OF(X509_EXTENSION) * *exts)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    ATT_ENSURE(bc != NULL, ATT_ERR_NOMEM);
    bc->ca = 0;
    int ok = X509V3_add1_i2d(exts, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT);
    BASIC_CONSTRAINTS_free(bc);
    return ok == 1 ? ATT_OK : ATT_ERR_CRYPTO;
}

/* RFC 5280 §4.2.1.3: keyUsage, critical, digitalSignature (bit 0) only. */
static att_err add_key_usage(STACK_OF(X509_EXTENSION) * *exts)
{
    ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
    ATT_ENSURE(ku != NULL, ATT_ERR_NOMEM);
    int ok = ASN1_BIT_STRING_set_bit(ku, 0, 1);
    if (ok == 1) {
        ok = X509V3_add1_i2d(exts, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT);
    }
    ASN1_BIT_STRING_free(ku);
    return ok == 1 ? ATT_OK : ATT_ERR_CRYPTO;
}

/*
 * RFC 5280 §4.2.1.2 method (1): the key identifier is "the 160-bit SHA-1
 * hash of the value of the BIT STRING subjectPublicKey". Call after
 * X509_set_pubkey.
 */
static att_err add_subject_key_id(X509 *x, STACK_OF(X509_EXTENSION) * *exts)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    ATT_ENSURE(X509_pubkey_digest(x, EVP_sha1(), md, &md_len) == 1, ATT_ERR_CRYPTO);
    ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
    ATT_ENSURE(ski != NULL, ATT_ERR_NOMEM);
    int ok = ASN1_OCTET_STRING_set(ski, md, (int)md_len);
    if (ok == 1) {
        ok = X509V3_add1_i2d(exts, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT);
    }
    ASN1_OCTET_STRING_free(ski);
    return ok == 1 ? ATT_OK : ATT_ERR_CRYPTO;
}

/* An IA5String (uniformResourceIdentifier, dNSName), or NULL. */
static ASN1_STRING *ia5_string(const char *text, size_t len)
{
    ASN1_IA5STRING *v = ASN1_IA5STRING_new();
    if (v != NULL && ASN1_STRING_set(v, text, (int)len) != 1) {
        ASN1_IA5STRING_free(v);
        v = NULL;
    }
    return v;
}

/* Append a name of `type` with value `v` (taken: freed on failure; NULL fails) to names. */
static att_err push_name(GENERAL_NAMES *names, int type, ASN1_STRING *v)
{
    GENERAL_NAME *gn = v != NULL ? GENERAL_NAME_new() : NULL;
    if (gn == NULL) {
        ASN1_STRING_free(v);
        return ATT_ERR_NOMEM;
    }
    GENERAL_NAME_set0_value(gn, type, v);
    if (sk_GENERAL_NAME_push(names, gn) <= 0) {
        GENERAL_NAME_free(gn);
        return ATT_ERR_NOMEM;
    }
    return ATT_OK;
}

/* RFC 5280 §4.2.1.6: `names` (freed here; NULL: out of memory) as the subjectAltName, unless
 * `made` says they could not all be made. */
static att_err add_san(STACK_OF(X509_EXTENSION) * *exts, GENERAL_NAMES *names, att_err made)
{
    att_err rc = names == NULL ? ATT_ERR_NOMEM : made;
    if (rc == ATT_OK &&
        X509V3_add1_i2d(exts, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) != 1) {
        rc = ATT_ERR_CRYPTO;
    }
    GENERAL_NAMES_free(names);
    return rc;
}

/* A subjectAltName with one uniformResourceIdentifier (IA5String). */
static att_err add_san_uri(STACK_OF(X509_EXTENSION) * *exts, const char *url, size_t len)
{
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    att_err rc = names != NULL ? push_name(names, GEN_URI, ia5_string(url, len)) : ATT_ERR_NOMEM;
    return add_san(exts, names, rc);
}

static att_err put_extensions(X509 *x, const STACK_OF(X509_EXTENSION) * exts)
{
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        ATT_ENSURE(X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1) == 1, ATT_ERR_CRYPTO);
    }
    return ATT_OK;
}

/*
 * The certificate's fields for `pub` (everything but the signature): those every certificate
 * made here has, then `exts` (may be NULL), then its subjectKeyIdentifier.
 */
static att_err build(EVP_PKEY *pub, const char *subject_cn, int64_t not_before, int days,
                     const STACK_OF(X509_EXTENSION) * exts, X509 **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    size_t cn_len = 0;
    X509 *x = NULL;
    STACK_OF(X509_EXTENSION) *own = NULL;
    ATT_GUARD(check_subject(subject_cn, &cn_len));
    x = X509_new();
    ATT_CHECK(x != NULL, ATT_ERR_NOMEM);
    /* RFC 5280 §4.1.2.1: extensions are present, so "version MUST be 3" (value 2). */
    ATT_CHECK(X509_set_version(x, X509_VERSION_3) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(set_serial(x));
    ATT_GUARD(set_names(x, subject_cn, cn_len));
    ATT_GUARD(set_validity(x, not_before, days));
    ATT_CHECK(X509_set_pubkey(x, pub) == 1, ATT_ERR_KEY_TYPE);
    ATT_GUARD(put_extensions(x, exts));
    ATT_GUARD(add_subject_key_id(x, &own));
    ATT_GUARD(put_extensions(x, own));
    *out = x;
    x = NULL;
    rc = ATT_OK;
out:
    sk_X509_EXTENSION_pop_free(own, X509_EXTENSION_free);
    X509_free(x);
    return rc;
}

/* A token signing key's certificate: an end entity, its subject URL also as a URI. */
static att_err build_signing_cert(EVP_PKEY *pub, const char *subject_cn, int64_t not_before,
                                  int days, X509 **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    size_t cn_len = 0;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    ATT_GUARD(check_subject(subject_cn, &cn_len));
    ATT_GUARD(add_basic_constraints(&exts));
    ATT_GUARD(add_key_usage(&exts));
    if (looks_like_url(subject_cn)) {
        ATT_GUARD(add_san_uri(&exts, subject_cn, cn_len));
    }
    rc = build(pub, subject_cn, not_before, days, exts, out);
out:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rc;
}

/* Append the DER an i2d_ function wrote (len, enc: freed here) to der. */
static att_err put_der(int len, unsigned char *enc, struct att_buf *der)
{
    att_err rc = len > 0 ? att_buf_put(der, enc, (size_t)len) : ATT_ERR_CRYPTO;
    OPENSSL_free(enc);
    return rc;
}

/* Sign x with key and append its DER to der. */
static att_err sign_out(X509 *x, EVP_PKEY *key, struct att_buf *der)
{
    unsigned char *enc = NULL;
    /* sha256WithRSAEncryption or ecdsa-with-SHA256 (RFC 4055 §5, RFC 5758 §3.2). */
    ATT_ENSURE(X509_sign(x, key, EVP_sha256()) > 0, ATT_ERR_CRYPTO);
    int len = i2d_X509(x, &enc);
    return put_der(len, enc, der);
}

att_err att_x509_self_signed(EVP_PKEY *key, const char *subject_cn, int64_t not_before, int days,
                             struct att_buf *der)
{
    att_err rc = ATT_ERR_INTERNAL;
    X509 *x = NULL;

    ATT_CHECK(key != NULL && der != NULL, ATT_ERR_ARG);
    ATT_GUARD(build_signing_cert(key, subject_cn, not_before, days, &x));
    ATT_GUARD(sign_out(x, key, der));
    rc = ATT_OK;
out:
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
    ATT_GUARD(build_signing_cert(pub, subject_cn, not_before, days, &x));
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

/* ---- a TLS server's certificate and request (attestctl init) ---- */

#define DNS_NAME_MAX 253 /* RFC 1035 §2.3.4: 255 octets on the wire, 253 characters as text */
#define DNS_LABEL_MAX 63 /* RFC 1035 §2.3.4 */

static bool is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/*
 * A host name as RFC 1123 §2.1 has them: dot-separated labels of letters, digits and hyphens,
 * neither starting nor ending with a hyphen; the left-most label may be "*" alone, the only
 * wildcard clients match (RFC 6125 §6.4.3).
 */
static bool dns_name_ok(const char *name)
{
    size_t n = strlen(name);
    const char *p = name;
    if (n == 0 || n > DNS_NAME_MAX) {
        return false;
    }
    if (strncmp(p, "*.", 2) == 0) {
        p += 2;
    }
    size_t label = 0;
    for (;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || p[-1] == '-') {
                return false;
            }
            if (*p == '\0') {
                return true;
            }
            label = 0;
            continue;
        }
        if (!(is_alnum(*p) || (*p == '-' && label > 0)) || ++label > DNS_LABEL_MAX) {
            return false;
        }
    }
}

att_err att_x509_server_name_check(const char *name, bool *is_ip)
{
    unsigned char addr[16];
    ATT_ENSURE(name != NULL && is_ip != NULL, ATT_ERR_ARG);
    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1) {
        *is_ip = true;
        return ATT_OK;
    }
    ATT_ENSURE(dns_name_ok(name), ATT_ERR_ARG);
    *is_ip = false;
    return ATT_OK;
}

/* A subjectAltName with a dNSName or an iPAddress (4 or 16 octets) per name. */
static att_err add_san_hosts(STACK_OF(X509_EXTENSION) * *exts, const char *const *names, size_t n)
{
    GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
    att_err rc = ATT_OK;
    for (size_t i = 0; i < n && rc == ATT_OK && gns != NULL; i++) {
        bool ip = false;
        rc = att_x509_server_name_check(names[i], &ip);
        if (rc == ATT_OK) {
            rc = ip ? push_name(gns, GEN_IPADD, a2i_IPADDRESS(names[i]))
                    : push_name(gns, GEN_DNS, ia5_string(names[i], strlen(names[i])));
        }
    }
    return add_san(exts, gns, rc);
}

/* RFC 5280 §4.2.1.12: extKeyUsage id-kp-serverAuth ("TLS WWW server authentication") only. */
static att_err add_server_auth(STACK_OF(X509_EXTENSION) * *exts)
{
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    ASN1_OBJECT *server_auth = OBJ_nid2obj(NID_server_auth); /* static: freeing it is a no-op */
    int ok = eku != NULL && server_auth != NULL && sk_ASN1_OBJECT_push(eku, server_auth) > 0;
    ok = ok && X509V3_add1_i2d(exts, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT) == 1;
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return ok ? ATT_OK : ATT_ERR_CRYPTO;
}

/* What a TLS server's certificate holds and its request asks for (see selfsigned.h). */
static att_err server_extensions(const char *const *names, size_t n,
                                 STACK_OF(X509_EXTENSION) * *exts)
{
    ATT_ENSURE(names != NULL && n > 0 && n <= ATT_X509_SERVER_NAMES_MAX, ATT_ERR_ARG);
    ATT_TRY(add_basic_constraints(exts));
    ATT_TRY(add_key_usage(exts));
    ATT_TRY(add_server_auth(exts));
    return add_san_hosts(exts, names, n);
}

att_err att_x509_server_self_signed(EVP_PKEY *key, const char *const *names, size_t n,
                                    int64_t not_before, int days, struct att_buf *der)
{
    att_err rc = ATT_ERR_INTERNAL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    X509 *x = NULL;

    ATT_CHECK(key != NULL && der != NULL, ATT_ERR_ARG);
    ATT_GUARD(server_extensions(names, n, &exts));
    ATT_GUARD(build(key, names[0], not_before, days, exts, &x));
    ATT_GUARD(sign_out(x, key, der));
    rc = ATT_OK;
out:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_free(x);
    if (rc != ATT_OK) {
        ERR_clear_error();
    }
    return rc;
}

att_err att_x509_server_request(EVP_PKEY *key, const char *const *names, size_t n,
                                struct att_buf *der)
{
    att_err rc = ATT_ERR_INTERNAL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    X509_REQ *req = NULL;
    X509_NAME *subject = NULL;
    unsigned char *enc = NULL;

    ATT_CHECK(key != NULL && der != NULL, ATT_ERR_ARG);
    ATT_GUARD(server_extensions(names, n, &exts));
    req = X509_REQ_new();
    subject = cn_name(names[0], strlen(names[0]));
    ATT_CHECK(req != NULL && subject != NULL, ATT_ERR_NOMEM);
    /* RFC 2986 §4.1: version 0; the extensions go in an extensionRequest attribute. */
    ATT_CHECK(X509_REQ_set_version(req, X509_REQ_VERSION_1) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(X509_REQ_set_subject_name(req, subject) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(X509_REQ_set_pubkey(req, key) == 1, ATT_ERR_KEY_TYPE);
    ATT_CHECK(X509_REQ_add_extensions(req, exts) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(X509_REQ_sign(req, key, EVP_sha256()) > 0, ATT_ERR_CRYPTO);
    int len = i2d_X509_REQ(req, &enc);
    rc = put_der(len, enc, der);
out:
    X509_NAME_free(subject);
    X509_REQ_free(req);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (rc != ATT_OK) {
        ERR_clear_error();
    }
    return rc;
}
