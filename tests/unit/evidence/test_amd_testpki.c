/*
 * test_amd_testpki.c - the AMD SEV-SNP test PKI (amd_testpki.c) checked with OpenSSL and
 * jansson directly, never with attestd's code: the default output verifies (the chain with
 * X509_verify_cert and RSASSA-PSS, the report signature with the leaf's key after turning the
 * little-endian R and S into an ECDSA-Sig-Value), its certificates have the DER shape of AMD's
 * (docs/reference/amd-sev-snp.md §6.5, §6.6), and each knob breaks exactly the check it names.
 *
 * The checks (checks() below) read only what a verifier sees: the report bytes, the
 * VcekCertChain PEM, the pinned ARK and the ARK's CRL, in the order of §6.8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "amd_testpki.h"

#define NOW ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */
#define DAY AMD_TESTPKI_DAY

/*
 * AMD's RSASSA-PSS AlgorithmIdentifiers, as in its certificates (§6.6): SHA-384, MGF1 with
 * SHA-384, salt length 48, and trailerField 1 stated (ARK and ASK certificates, older Milan
 * VCEKs) or left to its default (current VCEKs and VLEKs).
 */
static const char AMD_ALG_TRAILER[] =
    "304606092a864886f70d01010a3039a00f300d06096086480165030402020500a11c301a06092a864886f70d01"
    "0108300d06096086480165030402020500a203020130a303020101";
static const char AMD_ALG[] =
    "304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886f70d01"
    "0108300d06096086480165030402020500a203020130";

/* ================================================================================
 * Small helpers
 * ================================================================================ */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != v) {
            return false;
        }
    }
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Lower-case hex into out (at most cap bytes); returns the length. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]);
        int lo = hexval(s[2 * i + 1]);
        assert_true(hi >= 0 && lo >= 0);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return n;
}

static STACK_OF(X509) * pem_certs(const char *pem)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    BIO *bio = BIO_new_mem_buf(pem, (int)strlen(pem));
    X509 *x;
    assert_non_null(sk);
    assert_non_null(bio);
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        assert_true(sk_X509_push(sk, x) > 0);
    }
    ERR_clear_error();
    BIO_free(bio);
    return sk;
}

static X509 *der_cert(const uint8_t *p, size_t n)
{
    const unsigned char *q = p;
    X509 *x = d2i_X509(NULL, &q, (long)n);
    assert_non_null(x);
    assert_ptr_equal(q, p + n);
    return x;
}

static void cn_of(const X509_NAME *name, char *out, size_t n)
{
    out[0] = '\0';
    assert_true(X509_NAME_get_text_by_NID(name, NID_commonName, out, (int)n) > 0);
}

static bool cn_is(X509 *x, const char *want)
{
    char cn[64];
    cn_of(X509_get_subject_name(x), cn, sizeof(cn));
    return strcmp(cn, want) == 0;
}

/* extnValue octets of the extension `oid` of x, NULL if absent. */
static const ASN1_OCTET_STRING *ext_value(X509 *x, const char *oid)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    assert_non_null(obj);
    int i = X509_get_ext_by_OBJ(x, obj, -1);
    ASN1_OBJECT_free(obj);
    return i < 0 ? NULL : X509_EXTENSION_get_data(X509_get_ext(x, i));
}

static const ASN1_OCTET_STRING *amd_ext(X509 *x, const char *arc)
{
    char oid[48];
    snprintf(oid, sizeof(oid), "1.3.6.1.4.1.3704.1.%s", arc);
    return ext_value(x, oid);
}

/* A DER INTEGER extension (0..65535), -1 if absent or not a minimal non-negative INTEGER. */
static long amd_ext_int(X509 *x, const char *arc)
{
    const ASN1_OCTET_STRING *v = amd_ext(x, arc);
    if (v == NULL) {
        return -1;
    }
    const unsigned char *p = ASN1_STRING_get0_data(v);
    ASN1_INTEGER *i = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(v));
    long r = -1;
    if (i != NULL && p == ASN1_STRING_get0_data(v) + ASN1_STRING_length(v)) {
        r = ASN1_INTEGER_get(i);
    }
    ASN1_INTEGER_free(i);
    return r;
}

/* A DER IA5String extension into out, false if absent or not an IA5String. */
static bool amd_ext_ia5(X509 *x, const char *arc, char *out, size_t n)
{
    const ASN1_OCTET_STRING *v = amd_ext(x, arc);
    if (v == NULL) {
        return false;
    }
    const unsigned char *p = ASN1_STRING_get0_data(v);
    ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &p, ASN1_STRING_length(v));
    bool ok = s != NULL && p == ASN1_STRING_get0_data(v) + ASN1_STRING_length(v) &&
              (size_t)ASN1_STRING_length(s) < n;
    if (ok) {
        memcpy(out, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
        out[ASN1_STRING_length(s)] = '\0';
    }
    ASN1_IA5STRING_free(s);
    return ok;
}

static bool alg_is(const X509_ALGOR *alg, const char *hex)
{
    uint8_t want[128];
    size_t n = unhex(hex, want, sizeof(want));
    unsigned char *der = NULL;
    int len = i2d_X509_ALGOR(alg, &der);
    bool eq = len > 0 && (size_t)len == n && memcmp(der, want, n) == 0;
    OPENSSL_free(der);
    return eq;
}

static bool alg_is_amd(const X509_ALGOR *alg)
{
    return alg_is(alg, AMD_ALG) || alg_is(alg, AMD_ALG_TRAILER);
}

/* Both AlgorithmIdentifiers of x (TBS and outer) equal `hex`. */
static bool cert_alg_is(X509 *x, const char *hex)
{
    const X509_ALGOR *outer = NULL;
    X509_get0_signature(NULL, &outer, x);
    return alg_is(X509_get0_tbs_sigalg(x), hex) && alg_is(outer, hex);
}

/* Header of the DER TLV at p (OpenSSL's output): content offset and length. */
static void der_tlv(const uint8_t *p, size_t n, size_t *hdr, size_t *len)
{
    assert_true(n >= 2);
    size_t l = p[1];
    size_t h = 2;
    if (l & 0x80) {
        size_t k = l & 0x7F;
        assert_true(k >= 1 && k <= 3 && n >= 2 + k);
        l = 0;
        for (size_t i = 0; i < k; i++) {
            l = (l << 8) | p[2 + i];
        }
        h += k;
    }
    assert_true(l <= n - h);
    *hdr = h;
    *len = l;
}

/* OpenSSL 3.0 has no getter for a CRL's TBS signature algorithm: find it in the DER, the first
 * SEQUENCE inside TBSCertList (after the version INTEGER, RFC 5280 §5.1). */
static bool crl_alg_is(X509_CRL *crl, const char *hex)
{
    const X509_ALGOR *outer = NULL;
    unsigned char *der = NULL;
    size_t hdr;
    size_t len;
    size_t thdr;
    size_t tlen;
    X509_CRL_get0_signature(crl, NULL, &outer);
    int n = i2d_X509_CRL(crl, &der);
    assert_true(n > 0);
    der_tlv(der, (size_t)n, &hdr, &len);
    const uint8_t *tbs = der + hdr;
    der_tlv(tbs, len, &thdr, &tlen);
    const uint8_t *p = tbs + thdr;
    const uint8_t *end = p + tlen;
    while (p < end && p[0] != 0x30) {
        der_tlv(p, (size_t)(end - p), &hdr, &len);
        p += hdr + len;
    }
    assert_true(p < end);
    der_tlv(p, (size_t)(end - p), &hdr, &len);
    const unsigned char *q = p;
    X509_ALGOR *inner = d2i_X509_ALGOR(NULL, &q, (long)(hdr + len));
    assert_non_null(inner);
    bool eq = alg_is(inner, hex) && alg_is(outer, hex);
    X509_ALGOR_free(inner);
    OPENSSL_free(der);
    return eq;
}

/* X509_verify_cert of `leaf` at `now` with `root` the only trusted certificate. Returns the
 * verify error (X509_V_OK on success). */
static int verify_chain(X509 *root, X509 *leaf, STACK_OF(X509) * untrusted, X509_CRL *crl,
                        int64_t now)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_non_null(store);
    assert_non_null(ctx);
    assert_int_equal(X509_STORE_add_cert(store, root), 1);
    if (crl != NULL) {
        assert_int_equal(X509_STORE_add_crl(store, crl), 1);
    }
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)now);
    if (crl != NULL) {
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK);
    }
    int ok = X509_verify_cert(ctx);
    int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    if (err == X509_V_OK && ok != 1) {
        err = X509_V_ERR_UNSPECIFIED;
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return err;
}

/* ECDSA P-384 / SHA-384 over bytes 0x000-0x29F; R and S are 72 little-endian bytes each
 * (§6.1), so reverse them into BIGNUMs and encode the DER ECDSA-Sig-Value OpenSSL wants. */
static bool report_sig_ok(const uint8_t *report, EVP_PKEY *key)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_lebin2bn(report + AMD_TESTPKI_OFF_SIG_R, AMD_TESTPKI_SIG_COMPONENT_LEN, NULL);
    BIGNUM *s = BN_lebin2bn(report + AMD_TESTPKI_OFF_SIG_S, AMD_TESTPKI_SIG_COMPONENT_LEN, NULL);
    unsigned char *der = NULL;
    assert_non_null(sig);
    assert_non_null(r);
    assert_non_null(s);
    assert_int_equal(ECDSA_SIG_set0(sig, r, s), 1);
    int der_len = i2d_ECDSA_SIG(sig, &der);
    assert_true(der_len > 0);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, key), 1);
    int ok = EVP_DigestVerify(ctx, der, (size_t)der_len, report, AMD_TESTPKI_SIGNED_LEN);
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return ok == 1;
}

/* TCB_VERSION bytes by the product's layout (§6.4), written here independently of the PKI. */
static struct amd_testpki_tcb tcb_decode(const uint8_t *b, enum amd_testpki_product product)
{
    struct amd_testpki_tcb t = {0};
    if (product == AMD_TESTPKI_TURIN) {
        t.fmc = b[0];
        t.bl = b[1];
        t.tee = b[2];
        t.snp = b[3];
    } else {
        t.bl = b[0];
        t.tee = b[1];
        t.snp = b[6];
    }
    t.ucode = b[7];
    return t;
}

static struct amd_testpki build(const struct amd_testpki_opts *opts)
{
    struct amd_testpki_opts o = *opts;
    struct amd_testpki pki;
    if (o.now == 0) {
        o.now = NOW;
    }
    assert_int_equal(amd_testpki_build(&o, &pki), 0);
    return pki;
}

/* RSA key generation is most of a build's time (about 15 times less at 1024 bits than at
 * 2048), so the tests that build many PKIs use 1024-bit CA keys; the default size is checked
 * by test_default_ca_shape. PSS with SHA-384 and a 48-byte salt fits a 1024-bit key. */
static struct amd_testpki build_fast(const struct amd_testpki_opts *opts)
{
    struct amd_testpki_opts o = *opts;
    if (o.rsa_bits == 0) {
        o.rsa_bits = 1024;
    }
    return build(&o);
}

/* ================================================================================
 * What a verifier checks (§6.8), one bit per check. checks() returns the failing ones.
 * ================================================================================ */

enum {
    CHK_REPORT_FORMAT = 1u << 0, /* length, version, SIGNATURE_ALGO, POLICY bit 17, zero areas */
    CHK_KEY_INFO = 1u << 1,      /* SIGNING_KEY names the leaf's kind; bits 31:5 zero */
    CHK_CHAIN = 1u << 2,         /* leaf -> issuer -> pinned ARK, X509_verify_cert at NOW */
    CHK_ISSUER_KIND = 1u << 3,   /* a VCEK's issuer is an ASK, a VLEK's an ASVK */
    CHK_REVOCATION = 1u << 4,    /* the ARK's CRL is valid and does not list the issuer */
    CHK_PSS = 1u << 5,           /* every certificate and the CRL use AMD's PSS parameters */
    CHK_EXTS = 1u << 6,          /* the leaf has every extension of its kind (§6.5) */
    CHK_PRODUCT = 1u << 7,       /* structVersion, productName, CPUID name the product */
    CHK_REPORT_SIG = 1u << 8,    /* the report signature verifies with the leaf's key */
    CHK_TCB_BL = 1u << 9,        /* leaf blSPL == REPORTED_TCB boot loader */
    CHK_TCB_TEE = 1u << 10,
    CHK_TCB_SNP = 1u << 11,
    CHK_TCB_UCODE = 1u << 12,
    CHK_TCB_FMC = 1u << 13,   /* Turin */
    CHK_TCB_ORDER = 1u << 14, /* REPORTED_TCB <= CURRENT_TCB, field by field */
    CHK_HWID = 1u << 15,      /* VCEK hwID == CHIP_ID (skipped with MASK_CHIP_KEY) */
};

static const char *const CHK_NAMES[] = {
    "report format",    "key info",       "chain",      "issuer kind",
    "revocation",       "PSS parameters", "extensions", "product",
    "report signature", "tcb bl",         "tcb tee",    "tcb snp",
    "tcb ucode",        "tcb fmc",        "tcb order",  "hwid",
};

static void describe(unsigned mask, char *out, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(CHK_NAMES) / sizeof(CHK_NAMES[0]); i++) {
        if (mask & (1u << i)) {
            size_t l = strlen(out);
            snprintf(out + l, n - l, "%s%s", l > 0 ? ", " : "", CHK_NAMES[i]);
        }
    }
}

static const char *expected_product_name(enum amd_testpki_product p, bool vlek)
{
    static const char *const vcek[] = {"Milan-B0", "Genoa", "Turin"};
    static const char *const vlek_names[] = {"Milan", "Genoa", "Turin"};
    return vlek ? vlek_names[p] : vcek[p];
}

static unsigned check_report_format(const uint8_t *r)
{
    uint32_t version = rd32(r + AMD_TESTPKI_OFF_VERSION);
    bool ok =
        (version == 2 || version == 3 || version == 5) && rd32(r + AMD_TESTPKI_OFF_SIG_ALGO) == 1 &&
        (rd64(r + AMD_TESTPKI_OFF_POLICY) & (1u << 17)) != 0 &&
        /* R and S are P-384 scalars zero-extended from 48 to 72 bytes */
        all_bytes(r + AMD_TESTPKI_OFF_SIG_R + 48, 24, 0) &&
        all_bytes(r + AMD_TESTPKI_OFF_SIG_S + 48, 24, 0) &&
        all_bytes(r + 0x330, AMD_TESTPKI_REPORT_LEN - 0x330, 0) &&
        all_bytes(r + 0x208, 0x2A0 - 0x208, 0) && (version >= 5 || all_bytes(r + 0x1F8, 16, 0));
    return ok ? 0 : CHK_REPORT_FORMAT;
}

static unsigned check_tcbs(X509 *leaf, const uint8_t *r, enum amd_testpki_product p)
{
    unsigned fail = 0;
    struct amd_testpki_tcb rep = tcb_decode(r + AMD_TESTPKI_OFF_REPORTED_TCB, p);
    struct amd_testpki_tcb cur = tcb_decode(r + AMD_TESTPKI_OFF_CURRENT_TCB, p);
    const struct {
        const char *arc;
        long want;
        unsigned bit;
    } spl[] = {
        {"3.1", rep.bl, CHK_TCB_BL},   {"3.2", rep.tee, CHK_TCB_TEE},
        {"3.3", rep.snp, CHK_TCB_SNP}, {"3.8", rep.ucode, CHK_TCB_UCODE},
        {"3.9", rep.fmc, CHK_TCB_FMC},
    };
    for (size_t i = 0; i < sizeof(spl) / sizeof(spl[0]); i++) {
        if (spl[i].bit == CHK_TCB_FMC && p != AMD_TESTPKI_TURIN) {
            continue;
        }
        /* A missing extension is CHK_EXTS's business. */
        long have = amd_ext_int(leaf, spl[i].arc);
        if (amd_ext(leaf, spl[i].arc) != NULL && have != spl[i].want) {
            fail |= spl[i].bit;
        }
    }
    if (rep.fmc > cur.fmc || rep.bl > cur.bl || rep.tee > cur.tee || rep.snp > cur.snp ||
        rep.ucode > cur.ucode) {
        fail |= CHK_TCB_ORDER;
    }
    return fail;
}

static unsigned check_exts(X509 *leaf, bool vlek, enum amd_testpki_product p)
{
    const char *const need[] = {"1", "2", "3.1", "3.2", "3.3", "3.8", vlek ? "5" : "4"};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (amd_ext(leaf, need[i]) == NULL) {
            return CHK_EXTS;
        }
    }
    return p == AMD_TESTPKI_TURIN && amd_ext(leaf, "3.9") == NULL ? CHK_EXTS : 0;
}

static unsigned check_product(X509 *leaf, bool vlek, const uint8_t *r, enum amd_testpki_product p)
{
    static const uint8_t cpuid[3][2] = {{0x19, 0x01}, {0x19, 0x11}, {0x1A, 0x02}};
    char name[32];
    long ver = amd_ext_int(leaf, "1");
    if (amd_ext(leaf, "1") != NULL && ver != (p == AMD_TESTPKI_TURIN ? 1 : 0)) {
        return CHK_PRODUCT;
    }
    if (amd_ext(leaf, "2") != NULL && (!amd_ext_ia5(leaf, "2", name, sizeof(name)) ||
                                       strcmp(name, expected_product_name(p, vlek)) != 0)) {
        return CHK_PRODUCT;
    }
    if (rd32(r) >= 3 && (r[AMD_TESTPKI_OFF_CPUID_FAM] != cpuid[p][0] ||
                         r[AMD_TESTPKI_OFF_CPUID_FAM + 1] != cpuid[p][1])) {
        return CHK_PRODUCT;
    }
    return 0;
}

/* §6.8 step 6: hwID (bare, or DER-wrapped as some certificates have it) == CHIP_ID. */
static unsigned check_hwid(X509 *leaf, const uint8_t *r, enum amd_testpki_product p)
{
    const ASN1_OCTET_STRING *v = amd_ext(leaf, "4");
    uint32_t key_info = rd32(r + AMD_TESTPKI_OFF_KEY_INFO);
    if (v == NULL || (key_info & AMD_TESTPKI_KEY_INFO_MASK_CHIP_KEY) != 0) {
        return 0;
    }
    size_t n = p == AMD_TESTPKI_TURIN ? 8 : 64;
    const uint8_t *chip = r + AMD_TESTPKI_OFF_CHIP_ID;
    const uint8_t *h = ASN1_STRING_get0_data(v);
    size_t len = (size_t)ASN1_STRING_length(v);
    if (len == n + 2 && h[0] == 0x04 && h[1] == n) {
        h += 2;
        len -= 2;
    }
    bool ok = len == n && memcmp(h, chip, n) == 0 && all_bytes(chip + n, 64 - n, 0);
    return ok ? 0 : CHK_HWID;
}

static unsigned check_revocation(const struct amd_testpki *pki, X509 *issuer, bool vlek)
{
    X509_CRL *crl = vlek ? pki->crl_vlek : pki->crl_vcek;
    EVP_PKEY *ark_pub = X509_get0_pubkey(pki->ark);
    X509_REVOKED *rev = NULL;
    time_t now = (time_t)NOW;
    bool ok = X509_CRL_verify(crl, ark_pub) == 1 &&
              X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &now) < 0 &&
              X509_cmp_time(X509_CRL_get0_nextUpdate(crl), &now) > 0 &&
              X509_CRL_get0_by_serial(crl, &rev, X509_get_serialNumber(issuer)) == 0;
    ERR_clear_error();
    return ok ? 0 : CHK_REVOCATION;
}

/* The checks that fail; *chain_err gets X509_verify_cert's error. */
static unsigned checks(const struct amd_testpki *pki, int *chain_err)
{
    const uint8_t *r = pki->report;
    enum amd_testpki_product p = pki->product;
    unsigned fail = check_report_format(r);
    STACK_OF(X509) *chain = pem_certs(pki->chain_pem);
    assert_int_equal(sk_X509_num(chain), 3);
    X509 *leaf = sk_X509_value(chain, 0);
    X509 *issuer = sk_X509_value(chain, 1);
    char issuer_cn[64];
    char leaf_cn[64];
    cn_of(X509_get_subject_name(issuer), issuer_cn, sizeof(issuer_cn));
    cn_of(X509_get_subject_name(leaf), leaf_cn, sizeof(leaf_cn));
    bool vlek = strcmp(leaf_cn, "SEV-VLEK") == 0;

    uint32_t key_info = rd32(r + AMD_TESTPKI_OFF_KEY_INFO);
    if (((key_info >> 2) & 7) != (vlek ? 1u : 0u) || (key_info >> 5) != 0) {
        fail |= CHK_KEY_INFO;
    }
    *chain_err = verify_chain(pki->ark, leaf, chain, NULL, NOW);
    if (*chain_err != X509_V_OK) {
        fail |= CHK_CHAIN;
    }
    bool is_asvk = strncmp(issuer_cn, "SEV-VLEK-", 9) == 0;
    if (strncmp(issuer_cn, "SEV-", 4) != 0 || is_asvk != vlek) {
        fail |= CHK_ISSUER_KIND;
    }
    fail |= check_revocation(pki, issuer, vlek);
    bool pss_ok = crl_alg_is(vlek ? pki->crl_vlek : pki->crl_vcek, AMD_ALG_TRAILER);
    for (int i = 0; i < 3; i++) {
        const X509_ALGOR *outer = NULL;
        X509 *x = sk_X509_value(chain, i);
        X509_get0_signature(NULL, &outer, x);
        pss_ok = pss_ok && alg_is_amd(outer) && alg_is_amd(X509_get0_tbs_sigalg(x));
    }
    if (!pss_ok) {
        fail |= CHK_PSS;
    }
    fail |= check_exts(leaf, vlek, p);
    fail |= check_product(leaf, vlek, r, p);
    if (!report_sig_ok(r, X509_get0_pubkey(leaf))) {
        fail |= CHK_REPORT_SIG;
    }
    fail |= check_tcbs(leaf, r, p);
    fail |= check_hwid(leaf, r, p);
    sk_X509_pop_free(chain, X509_free);
    return fail;
}

static void expect_checks(const struct amd_testpki *pki, unsigned want, const char *what)
{
    int err = 0;
    unsigned got = checks(pki, &err);
    if (got != want) {
        char g[256];
        char w[256];
        describe(got, g, sizeof(g));
        describe(want, w, sizeof(w));
        fail_msg("%s: failing checks {%s}, expected {%s} (chain: %s)", what, g, w,
                 X509_verify_cert_error_string(err));
    }
}

/* ================================================================================
 * The default output: a valid Milan report v3 signed by a VCEK, with AMD's shapes.
 * ================================================================================ */

static void test_default_valid(void **state)
{
    (void)state;
    struct amd_testpki_opts o = {0};
    struct amd_testpki pki = build(&o);
    expect_checks(&pki, 0, "default");
    assert_int_equal(pki.now, NOW);

    /* The chain also verifies from the KDS cert_chain (ASK, ARK) with the leaf alone. */
    STACK_OF(X509) *kds = pem_certs(pki.kds_chain_pem);
    assert_int_equal(sk_X509_num(kds), 2);
    assert_int_equal(X509_cmp(sk_X509_value(kds, 0), pki.ask), 0);
    assert_int_equal(X509_cmp(sk_X509_value(kds, 1), pki.ark), 0);
    assert_int_equal(verify_chain(pki.ark, pki.leaf, kds, NULL, NOW), X509_V_OK);
    /* The ASK with CRL checking by the ARK's CRL, the way OpenSSL does revocation. */
    assert_int_equal(verify_chain(pki.ark, pki.ask, NULL, pki.crl_vcek, NOW), X509_V_OK);
    sk_X509_pop_free(kds, X509_free);

    /* VcekCertChain order: leaf, ASK, ARK. */
    STACK_OF(X509) *chain = pem_certs(pki.chain_pem);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 0), pki.leaf), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 1), pki.ask), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 2), pki.ark), 0);
    sk_X509_pop_free(chain, X509_free);

    /* The report (§6.1). */
    const uint8_t *r = pki.report;
    assert_int_equal(rd32(r + AMD_TESTPKI_OFF_VERSION), 3);
    assert_int_equal(rd32(r + AMD_TESTPKI_OFF_GUEST_SVN), 0);
    assert_int_equal(rd64(r + AMD_TESTPKI_OFF_POLICY), 0x30000);
    assert_int_equal(rd32(r + AMD_TESTPKI_OFF_VMPL), 0);
    assert_int_equal(rd32(r + AMD_TESTPKI_OFF_SIG_ALGO), 1);
    assert_int_equal(rd32(r + AMD_TESTPKI_OFF_KEY_INFO), 0);
    assert_int_equal(rd32(r + 0x04C), 0);
    assert_true(all_bytes(r + AMD_TESTPKI_OFF_MEASUREMENT, 48, 0x3E));
    assert_true(all_bytes(r + AMD_TESTPKI_OFF_REPORT_ID, 32, 0x1D));
    assert_true(all_bytes(r + AMD_TESTPKI_OFF_REPORT_ID_MA, 32, 0xFF));
    assert_true(all_bytes(r + AMD_TESTPKI_OFF_REPORT_DATA, 64, 0));
    /* Milan layout: BL 3 at byte 0, TEE 1 at 1, SNP 8 at 6, microcode 115 at 7. */
    static const uint8_t tcb[8] = {3, 1, 0, 0, 0, 0, 8, 115};
    assert_memory_equal(r + AMD_TESTPKI_OFF_REPORTED_TCB, tcb, 8);
    assert_memory_equal(r + AMD_TESTPKI_OFF_CURRENT_TCB, tcb, 8);
    assert_memory_equal(r + AMD_TESTPKI_OFF_COMMITTED_TCB, tcb, 8);
    assert_memory_equal(r + AMD_TESTPKI_OFF_LAUNCH_TCB, tcb, 8);
    static const uint8_t cpuid[3] = {0x19, 0x01, 0x01};
    assert_memory_equal(r + AMD_TESTPKI_OFF_CPUID_FAM, cpuid, 3);
    assert_true(all_bytes(r + 0x18B, 0x1A0 - 0x18B, 0));
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(r[AMD_TESTPKI_OFF_CHIP_ID + i], 0xC0 + i);
    }
    static const uint8_t fw[4] = {29, 55, 1, 0};
    assert_memory_equal(r + AMD_TESTPKI_OFF_CURRENT_VERSION, fw, 4);
    assert_memory_equal(r + AMD_TESTPKI_OFF_COMMITTED_VERSION, fw, 4);
    assert_true(report_sig_ok(r, pki.leaf_key));
    assert_ptr_equal(pki.report_key, pki.leaf_key);
    amd_testpki_free(&pki);
}

/* Names, serials, keys, validity and extensions of the CA certificates and the CRL, as AMD's
 * (§6.6); DER of the AlgorithmIdentifiers byte for byte. */
static void test_default_ca_shape(void **state)
{
    (void)state;
    struct amd_testpki_opts o = {0};
    struct amd_testpki pki = build(&o);
    X509 *cas[3] = {pki.ark, pki.ask, pki.asvk};
    const char *cns[3] = {"ARK-Milan", "SEV-Milan", "SEV-VLEK-Milan"};
    const long serials[3] = {0x10000, 0x10001, 0x10002};

    for (int i = 0; i < 3; i++) {
        X509 *x = cas[i];
        const X509_NAME *n = X509_get_subject_name(x);
        static const int nids[6] = {NID_organizationalUnitName, NID_countryName,
                                    NID_localityName,           NID_stateOrProvinceName,
                                    NID_organizationName,       NID_commonName};
        static const char *const vals[5] = {"Engineering", "US", "Santa Clara", "CA",
                                            "Advanced Micro Devices"};
        assert_int_equal(X509_NAME_entry_count(n), 6);
        for (int k = 0; k < 6; k++) {
            const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, k);
            const ASN1_STRING *s = X509_NAME_ENTRY_get_data(e);
            assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), nids[k]);
            assert_int_equal(ASN1_STRING_type(s),
                             k == 1 ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING);
            if (k < 5) {
                assert_string_equal((const char *)ASN1_STRING_get0_data(s), vals[k]);
            }
        }
        assert_true(cn_is(x, cns[i]));
        assert_int_equal(X509_get_version(x), X509_VERSION_3);
        assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(x)), serials[i]);
        assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_RSA);
        assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 2048);
        assert_true(cert_alg_is(x, AMD_ALG_TRAILER));
        assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(pki.ark)), 0);
        assert_int_equal(X509_verify(x, X509_get0_pubkey(pki.ark)), 1);
        /* basicConstraints CA:TRUE and keyUsage, both critical. */
        BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
        assert_non_null(bc);
        assert_true(bc->ca);
        if (i == 0) {
            assert_null(bc->pathlen);
        } else {
            assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
        }
        BASIC_CONSTRAINTS_free(bc);
        assert_true(X509_EXTENSION_get_critical(
            X509_get_ext(x, X509_get_ext_by_NID(x, NID_basic_constraints, -1))));
        assert_true(X509_EXTENSION_get_critical(
            X509_get_ext(x, X509_get_ext_by_NID(x, NID_key_usage, -1))));
        uint32_t ku = X509_get_key_usage(x);
        assert_int_equal(ku, i == 0 ? (KU_KEY_CERT_SIGN | KU_CRL_SIGN) : KU_KEY_CERT_SIGN);
        assert_true(X509_get_ext_by_NID(x, NID_crl_distribution_points, -1) >= 0);
        /* 20 years from a year ago. */
        time_t t = (time_t)(NOW + 19 * 365 * (int64_t)DAY);
        assert_true(X509_cmp_time(X509_get0_notAfter(x), &t) > 0);
        t = (time_t)(NOW - 364 * (int64_t)DAY);
        assert_true(X509_cmp_time(X509_get0_notBefore(x), &t) < 0);
    }
    /* ARK: keyUsage, SKI, basicConstraints, CRL DP, in AMD's order; ASK: SKI, AKI, bc, ku, DP. */
    static const int ark_order[] = {NID_key_usage, NID_subject_key_identifier,
                                    NID_basic_constraints, NID_crl_distribution_points};
    static const int ask_order[] = {NID_subject_key_identifier, NID_authority_key_identifier,
                                    NID_basic_constraints, NID_key_usage,
                                    NID_crl_distribution_points};
    assert_int_equal(X509_get_ext_count(pki.ark), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(pki.ark, i))),
                         ark_order[i]);
    }
    assert_int_equal(X509_get_ext_count(pki.ask), 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(pki.ask, i))),
                         ask_order[i]);
    }
    assert_int_equal(X509_check_issued(pki.ark, pki.ark), X509_V_OK);

    /* The DER blobs and PEMs are the same certificates. */
    X509 *d = der_cert(pki.ark_der.p, pki.ark_der.len);
    assert_int_equal(X509_cmp(d, pki.ark), 0);
    X509_free(d);
    d = der_cert(pki.ask_der.p, pki.ask_der.len);
    assert_int_equal(X509_cmp(d, pki.ask), 0);
    X509_free(d);
    d = der_cert(pki.asvk_der.p, pki.asvk_der.len);
    assert_int_equal(X509_cmp(d, pki.asvk), 0);
    X509_free(d);
    STACK_OF(X509) *one = pem_certs(pki.ark_pem);
    assert_int_equal(sk_X509_num(one), 1);
    assert_int_equal(X509_cmp(sk_X509_value(one, 0), pki.ark), 0);
    sk_X509_pop_free(one, X509_free);

    /* The CRLs: by the ARK, PSS as AMD's, around NOW, nothing revoked. */
    X509_CRL *crls[2] = {pki.crl_vcek, pki.crl_vlek};
    const struct amd_testpki_blob *ders[2] = {&pki.crl_vcek_der, &pki.crl_vlek_der};
    for (int i = 0; i < 2; i++) {
        X509_CRL *c = crls[i];
        assert_int_equal(X509_CRL_verify(c, X509_get0_pubkey(pki.ark)), 1);
        assert_true(crl_alg_is(c, AMD_ALG_TRAILER));
        assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(pki.ark)), 0);
        time_t t = (time_t)NOW;
        assert_true(X509_cmp_time(X509_CRL_get0_lastUpdate(c), &t) < 0);
        assert_true(X509_cmp_time(X509_CRL_get0_nextUpdate(c), &t) > 0);
        STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(c);
        assert_true(rev == NULL || sk_X509_REVOKED_num(rev) == 0);
        const unsigned char *p = ders[i]->p;
        X509_CRL *back = d2i_X509_CRL(NULL, &p, (long)ders[i]->len);
        assert_non_null(back);
        assert_int_equal(X509_CRL_cmp(back, c), 0);
        assert_int_equal(X509_CRL_match(back, c), 0);
        X509_CRL_free(back);
    }
    amd_testpki_free(&pki);
}

/* The VCEK (§6.5): CN, serial 0, P-384, signed by the ASK, AMD's extensions only, in AMD's
 * order and encodings, hwID = CHIP_ID as bare bytes. */
static void test_default_vcek_shape(void **state)
{
    (void)state;
    struct amd_testpki_opts o = {0};
    struct amd_testpki pki = build(&o);
    X509 *leaf = pki.leaf;
    assert_true(cn_is(leaf, "SEV-VCEK"));
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(pki.ask)), 0);
    assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(leaf)), 0);
    assert_int_equal(ASN1_STRING_length(X509_get0_serialNumber(leaf)), 1);
    EVP_PKEY *pub = X509_get0_pubkey(leaf);
    assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
    char group[32];
    size_t glen = 0;
    assert_int_equal(EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen), 1);
    assert_string_equal(group, "secp384r1");
    assert_true(cert_alg_is(leaf, AMD_ALG));
    assert_int_equal(X509_verify(leaf, X509_get0_pubkey(pki.ask)), 1);
    time_t t = (time_t)(NOW + 7 * 365 * (int64_t)DAY - 1);
    assert_true(X509_cmp_time(X509_get0_notAfter(leaf), &t) > 0);

    /* Every extension, in order, with its exact extnValue (the shape of AMD's Milan VCEKs). */
    static const struct {
        const char *oid;
        const char *value_hex;
    } want[] = {
        {"1.3.6.1.4.1.3704.1.1", "020100"},
        {"1.3.6.1.4.1.3704.1.2", "16084d696c616e2d4230"}, /* IA5String "Milan-B0" */
        {"1.3.6.1.4.1.3704.1.3.1", "020103"},
        {"1.3.6.1.4.1.3704.1.3.2", "020101"},
        {"1.3.6.1.4.1.3704.1.3.4", "020100"},
        {"1.3.6.1.4.1.3704.1.3.5", "020100"},
        {"1.3.6.1.4.1.3704.1.3.6", "020100"},
        {"1.3.6.1.4.1.3704.1.3.7", "020100"},
        {"1.3.6.1.4.1.3704.1.3.3", "020108"},
        {"1.3.6.1.4.1.3704.1.3.8", "020173"},
        {"1.3.6.1.4.1.3704.1.4", NULL}, /* 64 bare bytes: CHIP_ID */
    };
    assert_int_equal(X509_get_ext_count(leaf), sizeof(want) / sizeof(want[0]));
    for (int i = 0; i < X509_get_ext_count(leaf); i++) {
        X509_EXTENSION *e = X509_get_ext(leaf, i);
        char oid[64];
        OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e), 1);
        assert_string_equal(oid, want[i].oid);
        assert_false(X509_EXTENSION_get_critical(e));
        const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
        uint8_t exp[80];
        size_t n;
        if (want[i].value_hex != NULL) {
            n = unhex(want[i].value_hex, exp, sizeof(exp));
        } else {
            memcpy(exp, pki.report + AMD_TESTPKI_OFF_CHIP_ID, 64);
            n = 64;
        }
        assert_int_equal(ASN1_STRING_length(v), n);
        assert_memory_equal(ASN1_STRING_get0_data(v), exp, n);
    }
    assert_int_equal(pki.hwid_len, 64);
    assert_memory_equal(pki.hwid, pki.chip_id, 64);
    X509 *d = der_cert(pki.leaf_der.p, pki.leaf_der.len);
    assert_int_equal(X509_cmp(d, leaf), 0);
    X509_free(d);
    amd_testpki_free(&pki);
}

/* ================================================================================
 * Certificate table (§6.3) and the MAA document.
 * ================================================================================ */

/* GUIDs as the bytes of the canonical text form, left to right (see amd_testpki.c). */
static void guid_bytes(const char *text, uint8_t out[16])
{
    char hex[33];
    size_t n = 0;
    for (const char *c = text; *c != '\0'; c++) {
        if (*c != '-') {
            assert_true(n < 32);
            hex[n++] = *c;
        }
    }
    hex[n] = '\0';
    assert_int_equal(unhex(hex, out, 16), 16);
}

static void expect_table(const struct amd_testpki *pki, const char *leaf_guid)
{
    const char *guids[3] = {leaf_guid, "4ab7b379-bbac-4fe4-a02f-05aef327c782",
                            "c0b406a4-a803-4952-9743-3fb6014cd0ae"};
    STACK_OF(X509) *chain = pem_certs(pki->chain_pem);
    const uint8_t *t = pki->cert_table.p;
    size_t len = pki->cert_table.len;
    size_t end = 4 * AMD_TESTPKI_CERT_TABLE_ENTRY_LEN;
    assert_true(len > end);
    assert_true(all_bytes(t + 3 * 24, 24, 0)); /* the terminator */
    for (int i = 0; i < 3; i++) {
        uint8_t g[16];
        guid_bytes(guids[i], g);
        assert_memory_equal(t + 24 * i, g, 16);
        uint32_t off = rd32(t + 24 * i + 16);
        uint32_t n = rd32(t + 24 * i + 20);
        assert_int_equal(off, end); /* contiguous, right after the table */
        assert_true(n <= len - off);
        X509 *x = der_cert(t + off, n);
        assert_int_equal(X509_cmp(x, sk_X509_value(chain, i)), 0);
        X509_free(x);
        end = off + n;
    }
    assert_int_equal(end, len);
    sk_X509_pop_free(chain, X509_free);
}

static void test_cert_table(void **state)
{
    (void)state;
    struct amd_testpki_opts o = {0};
    struct amd_testpki pki = build_fast(&o);
    expect_table(&pki, "63da758d-e664-4564-adc5-f4b93be8accd");
    amd_testpki_free(&pki);
    o.vlek = true;
    pki = build_fast(&o);
    expect_table(&pki, "a8074bc2-a25a-483e-aae6-39c045a0b8a1");
    amd_testpki_free(&pki);
}

static int b64url_val(char c)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *p = c != '\0' ? strchr(a, c) : NULL;
    return p == NULL ? -1 : (int)(p - a);
}

/* Unpadded base64url only (RFC 4648 §5): anything else fails the test. */
static uint8_t *b64url_decode(const char *s, size_t *out_len)
{
    size_t n = strlen(s);
    assert_true(n % 4 != 1);
    uint8_t *out = malloc(n * 3 / 4 + 3);
    assert_non_null(out);
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_val(s[i]);
        assert_true(v >= 0);
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = k;
    return out;
}

static void test_maa_document(void **state)
{
    (void)state;
    struct amd_testpki_opts o = {0};
    struct amd_testpki pki = build_fast(&o);
    json_error_t jerr;
    json_t *doc = json_loads(pki.maa_evidence_json, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_object_size(doc), 2);
    const char *rep = json_string_value(json_object_get(doc, "SnpReport"));
    const char *chain = json_string_value(json_object_get(doc, "VcekCertChain"));
    assert_non_null(rep);
    assert_non_null(chain);
    size_t n = 0;
    uint8_t *b = b64url_decode(rep, &n);
    assert_int_equal(n, AMD_TESTPKI_REPORT_LEN);
    assert_memory_equal(b, pki.report, n);
    free(b);
    b = b64url_decode(chain, &n);
    assert_int_equal(n, strlen(pki.chain_pem));
    assert_memory_equal(b, pki.chain_pem, n);
    free(b);
    json_decref(doc);
    amd_testpki_free(&pki);
}

/* ================================================================================
 * Products, report versions, VCEK and VLEK: all valid, each in its own layout.
 * ================================================================================ */

static void expect_leaf_ext_order(X509 *leaf, enum amd_testpki_product p, bool vlek)
{
    static const char *const legacy[] = {"1",   "2",   "3.1", "3.2", "3.4",
                                         "3.5", "3.6", "3.7", "3.3", "3.8"};
    static const char *const turin[] = {"1",   "2",   "3.9", "3.1", "3.2",
                                        "3.3", "3.5", "3.6", "3.7", "3.8"};
    const char *const *order = p == AMD_TESTPKI_TURIN ? turin : legacy;
    assert_int_equal(X509_get_ext_count(leaf), 11);
    for (int i = 0; i < 11; i++) {
        char got[64];
        char want[64];
        snprintf(want, sizeof(want), "1.3.6.1.4.1.3704.1.%s", i < 10 ? order[i] : vlek ? "5" : "4");
        OBJ_obj2txt(got, sizeof(got), X509_EXTENSION_get_object(X509_get_ext(leaf, i)), 1);
        assert_string_equal(got, want);
    }
}

static void test_products_versions(void **state)
{
    (void)state;
    static const int versions[] = {2, 3, 5};
    static const uint8_t cpuid[3][3] = {{0x19, 0x01, 0x01}, {0x19, 0x11, 0x01}, {0x1A, 0x02, 0x00}};
    for (int p = AMD_TESTPKI_MILAN; p <= AMD_TESTPKI_TURIN; p++) {
        for (size_t v = 0; v < 3; v++) {
            for (int vlek = 0; vlek < 2; vlek++) {
                struct amd_testpki_opts o = {0};
                char what[64];
                o.product = (enum amd_testpki_product)p;
                o.report_version = versions[v];
                o.vlek = vlek != 0;
                if (versions[v] == 5) {
                    o.launch_mit_vector = 0x0102030405060708u;
                    o.current_mit_vector = 0x1112131415161718u;
                }
                snprintf(what, sizeof(what), "%s v%d %s", amd_testpki_product_name(o.product),
                         versions[v], vlek ? "VLEK" : "VCEK");
                struct amd_testpki pki = build_fast(&o);
                expect_checks(&pki, 0, what);
                const uint8_t *r = pki.report;
                assert_int_equal(rd32(r), versions[v]);
                /* CPUID fields only from v3 on; reserved (zero) in v2. */
                if (versions[v] >= 3) {
                    assert_memory_equal(r + AMD_TESTPKI_OFF_CPUID_FAM, cpuid[p], 3);
                } else {
                    assert_true(all_bytes(r + AMD_TESTPKI_OFF_CPUID_FAM, 3, 0));
                }
                if (versions[v] == 5) {
                    assert_int_equal(rd64(r + AMD_TESTPKI_OFF_LAUNCH_MIT_VECTOR),
                                     0x0102030405060708u);
                    assert_int_equal(rd64(r + AMD_TESTPKI_OFF_CURRENT_MIT_VECTOR),
                                     0x1112131415161718u);
                } else {
                    assert_true(all_bytes(r + AMD_TESTPKI_OFF_LAUNCH_MIT_VECTOR, 16, 0));
                }
                /* TCB bytes in the product's layout (§6.4). */
                const uint8_t *tb = r + AMD_TESTPKI_OFF_REPORTED_TCB;
                struct amd_testpki_tcb d = amd_testpki_default_tcb(o.product);
                if (p == AMD_TESTPKI_TURIN) {
                    const uint8_t want[8] = {d.fmc, d.bl, d.tee, d.snp, 0, 0, 0, d.ucode};
                    assert_memory_equal(tb, want, 8);
                    assert_int_equal(amd_ext_int(pki.leaf, "3.9"), d.fmc);
                    assert_null(amd_ext(pki.leaf, "3.4"));
                } else {
                    const uint8_t want[8] = {d.bl, d.tee, 0, 0, 0, 0, d.snp, d.ucode};
                    assert_memory_equal(tb, want, 8);
                    assert_null(amd_ext(pki.leaf, "3.9"));
                }
                /* CHIP_ID: 64 bytes, or 8 then zeros on Turin (a VLEK's report keeps it too;
                 * only the certificate has no hwID). */
                size_t used = p == AMD_TESTPKI_TURIN ? 8 : 64;
                assert_true(all_bytes(r + AMD_TESTPKI_OFF_CHIP_ID + used, 64 - used, 0));
                assert_int_equal(r[AMD_TESTPKI_OFF_CHIP_ID], 0xC0);
                assert_int_equal(amd_ext_int(pki.leaf, "1"), p == AMD_TESTPKI_TURIN ? 1 : 0);
                expect_leaf_ext_order(pki.leaf, o.product, o.vlek);
                if (vlek) {
                    assert_int_equal(rd32(r + AMD_TESTPKI_OFF_KEY_INFO), 1u << 2);
                    assert_true(cn_is(pki.leaf, "SEV-VLEK"));
                    assert_null(amd_ext(pki.leaf, "4"));
                    assert_int_equal(pki.hwid_len, 0);
                } else {
                    assert_int_equal(ASN1_STRING_length(amd_ext(pki.leaf, "4")), used);
                    assert_int_equal(pki.hwid_len, used);
                }
                /* Issuer names the product. */
                char want_cn[32];
                snprintf(want_cn, sizeof(want_cn), "%s%s", vlek ? "SEV-VLEK-" : "SEV-",
                         amd_testpki_product_name(o.product));
                assert_true(cn_is(pki.leaf_issuer, want_cn));
                snprintf(want_cn, sizeof(want_cn), "ARK-%s", amd_testpki_product_name(o.product));
                assert_true(cn_is(pki.ark, want_cn));
                amd_testpki_free(&pki);
            }
        }
    }
}

/* The VLEK chain: ASVK, cspID, KDS chain, CRL of the VLEK chain. */
static void test_vlek(void **state)
{
    (void)state;
    struct amd_testpki_opts o = {0};
    o.vlek = true;
    struct amd_testpki pki = build_fast(&o);
    expect_checks(&pki, 0, "VLEK");
    assert_ptr_equal(pki.leaf_issuer, pki.asvk);
    assert_int_equal(X509_verify(pki.leaf, X509_get0_pubkey(pki.asvk)), 1);
    assert_int_equal(X509_verify(pki.leaf, X509_get0_pubkey(pki.ask)), 0);
    ERR_clear_error();
    char s[64];
    assert_true(amd_ext_ia5(pki.leaf, "5", s, sizeof(s)));
    assert_string_equal(s, "CN=cc-us-east-2.amazonaws.com");
    assert_true(amd_ext_ia5(pki.leaf, "2", s, sizeof(s)));
    assert_string_equal(s, "Milan");
    time_t t = (time_t)(NOW + 334 * (int64_t)DAY);
    assert_true(X509_cmp_time(X509_get0_notAfter(pki.leaf), &t) > 0);
    t = (time_t)(NOW + 336 * (int64_t)DAY);
    assert_true(X509_cmp_time(X509_get0_notAfter(pki.leaf), &t) < 0);
    STACK_OF(X509) *kds = pem_certs(pki.kds_chain_pem);
    assert_int_equal(sk_X509_num(kds), 2);
    assert_int_equal(X509_cmp(sk_X509_value(kds, 0), pki.asvk), 0);
    assert_int_equal(X509_cmp(sk_X509_value(kds, 1), pki.ark), 0);
    assert_int_equal(verify_chain(pki.ark, pki.leaf, kds, NULL, NOW), X509_V_OK);
    assert_int_equal(verify_chain(pki.ark, pki.asvk, NULL, pki.crl_vlek, NOW), X509_V_OK);
    sk_X509_pop_free(kds, X509_free);
    amd_testpki_free(&pki);

    o.csp_id = "cc-eu-west-1.example";
    pki = build_fast(&o);
    assert_true(amd_ext_ia5(pki.leaf, "5", s, sizeof(s)));
    assert_string_equal(s, "cc-eu-west-1.example");
    amd_testpki_free(&pki);
}

/* Report fields set through the options land at their offsets, and the report still verifies. */
static void test_report_fields(void **state)
{
    (void)state;
    uint8_t fam[16];
    uint8_t img[16];
    uint8_t rd[64];
    uint8_t meas[48];
    uint8_t host[32];
    uint8_t idk[48];
    uint8_t auk[48];
    uint8_t rid[32];
    uint8_t ridma[32];
    uint8_t chip[64];
    memset(fam, 0x01, sizeof(fam));
    memset(img, 0x02, sizeof(img));
    memset(rd, 0x03, sizeof(rd));
    memset(meas, 0x04, sizeof(meas));
    memset(host, 0x05, sizeof(host));
    memset(idk, 0x06, sizeof(idk));
    memset(auk, 0x07, sizeof(auk));
    memset(rid, 0x08, sizeof(rid));
    memset(ridma, 0x09, sizeof(ridma));
    memset(chip, 0x0A, sizeof(chip));
    const struct amd_testpki_tcb rep = {0, 4, 2, 9, 100};
    const struct amd_testpki_tcb cur = {0, 5, 3, 10, 101};
    const struct amd_testpki_tcb com = {0, 4, 3, 10, 101};
    const struct amd_testpki_tcb lau = {0, 4, 2, 9, 100};
    const struct amd_testpki_fw cfw = {7, 8, 9};
    const struct amd_testpki_fw mfw = {4, 5, 6};
    const uint8_t cpuid[3] = {0x19, 0x01, 0x02};
    struct amd_testpki_opts o = {
        .guest_svn = 0x11223344,
        .policy = 0x000000000003001Fu,
        .vmpl = 2,
        .platform_info = 0x25,
        .author_key_en = true,
        .family_id = fam,
        .image_id = img,
        .report_data = rd,
        .measurement = meas,
        .host_data = host,
        .id_key_digest = idk,
        .author_key_digest = auk,
        .report_id = rid,
        .report_id_ma = ridma,
        .chip_id = chip,
        .cpuid = cpuid,
        .current_fw = &cfw,
        .committed_fw = &mfw,
        .reported_tcb = &rep,
        .current_tcb = &cur,
        .committed_tcb = &com,
        .launch_tcb = &lau,
    };
    struct amd_testpki pki = build_fast(&o);
    expect_checks(&pki, 0, "report fields");
    const uint8_t *r = pki.report;
    assert_int_equal(rd32(r + AMD_TESTPKI_OFF_GUEST_SVN), 0x11223344);
    assert_int_equal(rd64(r + AMD_TESTPKI_OFF_POLICY), 0x3001F);
    assert_int_equal(rd32(r + AMD_TESTPKI_OFF_VMPL), 2);
    assert_int_equal(rd64(r + AMD_TESTPKI_OFF_PLATFORM_INFO), 0x25);
    assert_int_equal(rd32(r + AMD_TESTPKI_OFF_KEY_INFO), AMD_TESTPKI_KEY_INFO_AUTHOR_KEY_EN);
    assert_memory_equal(r + AMD_TESTPKI_OFF_FAMILY_ID, fam, 16);
    assert_memory_equal(r + AMD_TESTPKI_OFF_IMAGE_ID, img, 16);
    assert_memory_equal(r + AMD_TESTPKI_OFF_REPORT_DATA, rd, 64);
    assert_memory_equal(r + AMD_TESTPKI_OFF_MEASUREMENT, meas, 48);
    assert_memory_equal(r + AMD_TESTPKI_OFF_HOST_DATA, host, 32);
    assert_memory_equal(r + AMD_TESTPKI_OFF_ID_KEY_DIGEST, idk, 48);
    assert_memory_equal(r + AMD_TESTPKI_OFF_AUTHOR_KEY_DIGEST, auk, 48);
    assert_memory_equal(r + AMD_TESTPKI_OFF_REPORT_ID, rid, 32);
    assert_memory_equal(r + AMD_TESTPKI_OFF_REPORT_ID_MA, ridma, 32);
    assert_memory_equal(r + AMD_TESTPKI_OFF_CHIP_ID, chip, 64);
    assert_memory_equal(r + AMD_TESTPKI_OFF_CPUID_FAM, cpuid, 3);
    static const uint8_t vcur[4] = {7, 8, 9, 0};
    static const uint8_t vcom[4] = {4, 5, 6, 0};
    assert_memory_equal(r + AMD_TESTPKI_OFF_CURRENT_VERSION, vcur, 4);
    assert_memory_equal(r + AMD_TESTPKI_OFF_COMMITTED_VERSION, vcom, 4);
    static const uint8_t brep[8] = {4, 2, 0, 0, 0, 0, 9, 100};
    static const uint8_t bcur[8] = {5, 3, 0, 0, 0, 0, 10, 101};
    static const uint8_t bcom[8] = {4, 3, 0, 0, 0, 0, 10, 101};
    assert_memory_equal(r + AMD_TESTPKI_OFF_REPORTED_TCB, brep, 8);
    assert_memory_equal(r + AMD_TESTPKI_OFF_CURRENT_TCB, bcur, 8);
    assert_memory_equal(r + AMD_TESTPKI_OFF_COMMITTED_TCB, bcom, 8);
    assert_memory_equal(r + AMD_TESTPKI_OFF_LAUNCH_TCB, brep, 8);
    assert_int_equal(amd_ext_int(pki.leaf, "3.1"), 4);
    assert_int_equal(amd_ext_int(pki.leaf, "3.3"), 9);
    assert_memory_equal(pki.hwid, chip, 64);
    amd_testpki_free(&pki);
}

/* ================================================================================
 * Knobs: each breaks exactly the check it names, and nothing else.
 * ================================================================================ */

static const uint8_t GENOA_CPUID[3] = {0x19, 0x11, 0x01};

static void test_knobs(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        struct amd_testpki_opts o;
        unsigned expect;
        int chain_err; /* X509_verify_cert's error when CHK_CHAIN fails */
    } cases[] = {
        {"bl mismatch", {.leaf_tcb_mismatch = AMD_TESTPKI_SPL_BL}, CHK_TCB_BL, 0},
        {"tee mismatch", {.leaf_tcb_mismatch = AMD_TESTPKI_SPL_TEE}, CHK_TCB_TEE, 0},
        {"snp mismatch", {.leaf_tcb_mismatch = AMD_TESTPKI_SPL_SNP}, CHK_TCB_SNP, 0},
        {"ucode mismatch", {.leaf_tcb_mismatch = AMD_TESTPKI_SPL_UCODE}, CHK_TCB_UCODE, 0},
        {"turin bl mismatch",
         {.product = AMD_TESTPKI_TURIN, .leaf_tcb_mismatch = AMD_TESTPKI_SPL_BL},
         CHK_TCB_BL,
         0},
        {"turin fmc mismatch",
         {.product = AMD_TESTPKI_TURIN, .leaf_tcb_mismatch = AMD_TESTPKI_SPL_FMC},
         CHK_TCB_FMC,
         0},
        {"vlek snp mismatch",
         {.vlek = true, .leaf_tcb_mismatch = AMD_TESTPKI_SPL_SNP},
         CHK_TCB_SNP,
         0},
        {"hwid mismatch", {.hwid_mismatch = true}, CHK_HWID, 0},
        {"turin hwid mismatch", {.product = AMD_TESTPKI_TURIN, .hwid_mismatch = true}, CHK_HWID, 0},
        {"mask chip key", {.mask_chip_key = true}, 0, 0},
        {"mask chip key hides a hwid mismatch",
         {.mask_chip_key = true, .hwid_mismatch = true},
         0,
         0},
        {"hwid DER-wrapped", {.hwid_der_wrapped = true}, 0, 0},
        {"ASK revoked", {.revoke_ask = true}, CHK_REVOCATION, 0},
        {"ASVK revoked", {.vlek = true, .revoke_ask = true}, CHK_REVOCATION, 0},
        {"leaf expired", {.leaf_expired = true}, CHK_CHAIN, X509_V_ERR_CERT_HAS_EXPIRED},
        {"leaf not yet valid",
         {.leaf_not_yet_valid = true},
         CHK_CHAIN,
         X509_V_ERR_CERT_NOT_YET_VALID},
        {"wrong product ASK",
         {.wrong_product_ask = true},
         CHK_CHAIN,
         X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN},
        {"turin, wrong product ASK",
         {.product = AMD_TESTPKI_TURIN, .wrong_product_ask = true},
         CHK_CHAIN,
         X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN},
        {"VLEK, wrong product ASVK",
         {.vlek = true, .wrong_product_ask = true},
         CHK_CHAIN,
         X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN},
        {"VLEK signed by the ASK", {.vlek = true, .vlek_signed_by_ask = true}, CHK_ISSUER_KIND, 0},
        {"report signed by another key", {.report_signed_by_other_key = true}, CHK_REPORT_SIG, 0},
        {"reported TCB above current", {.reported_tcb_above_current = true}, CHK_TCB_ORDER, 0},
        {"salt 32 on the leaf", {.pss = AMD_TESTPKI_PSS_SALT32}, CHK_PSS, 0},
        {"SHA-256 on the leaf", {.pss = AMD_TESTPKI_PSS_SHA256}, CHK_PSS, 0},
        {"salt 32 on the ARK",
         {.pss = AMD_TESTPKI_PSS_SALT32, .pss_sigs = AMD_TESTPKI_SIG_ARK},
         CHK_PSS,
         0},
        {"SHA-256 on the ASK",
         {.pss = AMD_TESTPKI_PSS_SHA256, .pss_sigs = AMD_TESTPKI_SIG_ASK},
         CHK_PSS,
         0},
        {"SHA-256 on the CRL",
         {.pss = AMD_TESTPKI_PSS_SHA256, .pss_sigs = AMD_TESTPKI_SIG_CRL},
         CHK_PSS,
         0},
        {"missing structVersion",
         {.leaf_missing_ext = AMD_TESTPKI_EXT_STRUCT_VERSION},
         CHK_EXTS,
         0},
        {"missing productName", {.leaf_missing_ext = AMD_TESTPKI_EXT_PRODUCT_NAME}, CHK_EXTS, 0},
        {"missing blSPL", {.leaf_missing_ext = AMD_TESTPKI_EXT_BL_SPL}, CHK_EXTS, 0},
        {"missing teeSPL", {.leaf_missing_ext = AMD_TESTPKI_EXT_TEE_SPL}, CHK_EXTS, 0},
        {"missing snpSPL", {.leaf_missing_ext = AMD_TESTPKI_EXT_SNP_SPL}, CHK_EXTS, 0},
        {"missing ucodeSPL", {.leaf_missing_ext = AMD_TESTPKI_EXT_UCODE_SPL}, CHK_EXTS, 0},
        {"missing fmcSPL",
         {.product = AMD_TESTPKI_TURIN, .leaf_missing_ext = AMD_TESTPKI_EXT_FMC_SPL},
         CHK_EXTS,
         0},
        {"missing hwID", {.leaf_missing_ext = AMD_TESTPKI_EXT_HWID}, CHK_EXTS, 0},
        {"missing cspID", {.vlek = true, .leaf_missing_ext = AMD_TESTPKI_EXT_CSP_ID}, CHK_EXTS, 0},
        /* Report fields the checks also look at (not knobs: shows those checks can fail). */
        {"POLICY bit 17 clear", {.policy = 0x10000}, CHK_REPORT_FORMAT, 0},
        {"Genoa's CPUID in a Milan report", {.cpuid = GENOA_CPUID}, CHK_PRODUCT, 0},
        {"ucodeSPL 0xD9", {.ucode_high = true}, 0, 0},
        {"leaf trailerField", {.leaf_trailer_field = true}, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct amd_testpki pki = build_fast(&cases[i].o);
        int err = 0;
        expect_checks(&pki, cases[i].expect, cases[i].name);
        (void)checks(&pki, &err);
        if (cases[i].expect & CHK_CHAIN) {
            if (err != cases[i].chain_err) {
                fail_msg("%s: chain error %s, expected %s", cases[i].name,
                         X509_verify_cert_error_string(err),
                         X509_verify_cert_error_string(cases[i].chain_err));
            }
        }
        amd_testpki_free(&pki);
    }
}

/* The RSASSA-PSS-params of x's TBS signature algorithm (RFC 8017 Appendix A.2.3). */
static RSA_PSS_PARAMS *pss_params(X509 *x)
{
    const void *pv = NULL;
    int ptype = 0;
    X509_ALGOR_get0(NULL, &ptype, &pv, X509_get0_tbs_sigalg(x));
    assert_int_equal(ptype, V_ASN1_SEQUENCE);
    const ASN1_STRING *param = pv;
    const unsigned char *p = ASN1_STRING_get0_data(param);
    RSA_PSS_PARAMS *pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(param));
    assert_non_null(pss);
    return pss;
}

/* What each knob does beyond the failing check: the exact bytes or the cause. */
static void test_knob_details(void **state)
{
    (void)state;
    struct amd_testpki_opts o = {0};
    struct amd_testpki pki;

    /* mask_chip_key: MASK_CHIP_KEY set and CHIP_ID zero; the VCEK still has the chip's hwID. */
    o.mask_chip_key = true;
    pki = build_fast(&o);
    assert_int_equal(rd32(pki.report + AMD_TESTPKI_OFF_KEY_INFO),
                     AMD_TESTPKI_KEY_INFO_MASK_CHIP_KEY);
    assert_true(all_bytes(pki.report + AMD_TESTPKI_OFF_CHIP_ID, 64, 0));
    assert_int_equal(ASN1_STRING_length(amd_ext(pki.leaf, "4")), 64);
    assert_int_equal(ASN1_STRING_get0_data(amd_ext(pki.leaf, "4"))[0], 0xC0);
    amd_testpki_free(&pki);

    /* hwID DER-wrapped: 04 40 <CHIP_ID>. */
    o = (struct amd_testpki_opts){.hwid_der_wrapped = true};
    pki = build_fast(&o);
    const ASN1_OCTET_STRING *h = amd_ext(pki.leaf, "4");
    assert_int_equal(ASN1_STRING_length(h), 66);
    assert_int_equal(ASN1_STRING_get0_data(h)[0], 0x04);
    assert_int_equal(ASN1_STRING_get0_data(h)[1], 0x40);
    assert_memory_equal(ASN1_STRING_get0_data(h) + 2, pki.report + AMD_TESTPKI_OFF_CHIP_ID, 64);
    amd_testpki_free(&pki);

    /* ucodeSPL 0xD9: 02 02 00 d9, and REPORTED_TCB byte 7 = 0xD9. */
    o = (struct amd_testpki_opts){.ucode_high = true};
    pki = build_fast(&o);
    h = amd_ext(pki.leaf, "3.8");
    static const uint8_t two[4] = {0x02, 0x02, 0x00, 0xD9};
    assert_int_equal(ASN1_STRING_length(h), 4);
    assert_memory_equal(ASN1_STRING_get0_data(h), two, 4);
    assert_int_equal(pki.report[AMD_TESTPKI_OFF_REPORTED_TCB + 7], 0xD9);
    amd_testpki_free(&pki);

    /* The older Milan VCEK form: 70-byte AlgorithmIdentifier with trailerField. */
    o = (struct amd_testpki_opts){.leaf_trailer_field = true};
    pki = build_fast(&o);
    assert_true(cert_alg_is(pki.leaf, AMD_ALG_TRAILER));
    amd_testpki_free(&pki);

    /* PSS variants: the signature verifies with its own parameters, which are not AMD's. */
    o = (struct amd_testpki_opts){.pss = AMD_TESTPKI_PSS_SALT32};
    pki = build_fast(&o);
    assert_int_equal(X509_verify(pki.leaf, X509_get0_pubkey(pki.ask)), 1);
    RSA_PSS_PARAMS *pss = pss_params(pki.leaf);
    assert_int_equal(ASN1_INTEGER_get(pss->saltLength), 32);
    RSA_PSS_PARAMS_free(pss);
    assert_true(cert_alg_is(pki.ask, AMD_ALG_TRAILER));
    amd_testpki_free(&pki);
    o = (struct amd_testpki_opts){.pss = AMD_TESTPKI_PSS_SHA256,
                                  .pss_sigs = AMD_TESTPKI_SIG_LEAF | AMD_TESTPKI_SIG_CRL};
    pki = build_fast(&o);
    pss = pss_params(pki.leaf);
    assert_non_null(pss->hashAlgorithm);
    assert_int_equal(OBJ_obj2nid(pss->hashAlgorithm->algorithm), NID_sha256);
    assert_int_equal(ASN1_INTEGER_get(pss->saltLength), 48);
    RSA_PSS_PARAMS_free(pss);
    assert_int_equal(X509_CRL_verify(pki.crl_vcek, X509_get0_pubkey(pki.ark)), 1);
    assert_false(crl_alg_is(pki.crl_vcek, AMD_ALG_TRAILER)); /* SIG_CRL: both CRLs */
    assert_false(crl_alg_is(pki.crl_vlek, AMD_ALG_TRAILER));
    amd_testpki_free(&pki);

    /* Wrong product: a Genoa PKI signed the Milan-named VCEK; that chain is sound in itself
     * (it verifies to ARK-Genoa), only not under the pinned ARK-Milan. */
    o = (struct amd_testpki_opts){.wrong_product_ask = true};
    pki = build_fast(&o);
    assert_true(cn_is(pki.leaf_issuer, "SEV-Genoa"));
    assert_true(cn_is(pki.other_ark, "ARK-Genoa"));
    assert_ptr_equal(pki.leaf_root, pki.other_ark);
    char s[32];
    assert_true(amd_ext_ia5(pki.leaf, "2", s, sizeof(s)));
    assert_string_equal(s, "Milan-B0");
    STACK_OF(X509) *chain = pem_certs(pki.chain_pem);
    assert_int_equal(verify_chain(pki.other_ark, pki.leaf, chain, NULL, NOW), X509_V_OK);
    sk_X509_pop_free(chain, X509_free);
    STACK_OF(X509) *kds = pem_certs(pki.kds_chain_pem); /* still Milan's */
    assert_int_equal(X509_cmp(sk_X509_value(kds, 0), pki.ask), 0);
    assert_int_not_equal(verify_chain(pki.ark, pki.leaf, kds, NULL, NOW), X509_V_OK);
    sk_X509_pop_free(kds, X509_free);
    amd_testpki_free(&pki);

    /* VLEK signed by the ASK: it verifies up to the ARK, through the wrong intermediate. */
    o = (struct amd_testpki_opts){.vlek = true, .vlek_signed_by_ask = true};
    pki = build_fast(&o);
    assert_ptr_equal(pki.leaf_issuer, pki.ask);
    assert_int_equal(X509_verify(pki.leaf, X509_get0_pubkey(pki.ask)), 1);
    assert_int_equal(X509_verify(pki.leaf, X509_get0_pubkey(pki.asvk)), 0);
    ERR_clear_error();
    amd_testpki_free(&pki);

    /* Revoked: the CRL of the chain in use lists the intermediate; OpenSSL agrees. */
    o = (struct amd_testpki_opts){.revoke_ask = true};
    pki = build_fast(&o);
    X509_REVOKED *rev = NULL;
    assert_int_equal(X509_CRL_get0_by_serial(pki.crl_vcek, &rev, X509_get_serialNumber(pki.ask)),
                     1);
    assert_int_equal(X509_CRL_get0_by_serial(pki.crl_vlek, &rev, X509_get_serialNumber(pki.asvk)),
                     0);
    assert_int_equal(verify_chain(pki.ark, pki.ask, NULL, pki.crl_vcek, NOW),
                     X509_V_ERR_CERT_REVOKED);
    amd_testpki_free(&pki);

    /* Reported above current: SNP one above, the leaf follows REPORTED_TCB. */
    o = (struct amd_testpki_opts){.reported_tcb_above_current = true};
    pki = build_fast(&o);
    assert_int_equal(pki.report[AMD_TESTPKI_OFF_REPORTED_TCB + 6],
                     pki.report[AMD_TESTPKI_OFF_CURRENT_TCB + 6] + 1);
    assert_int_equal(amd_ext_int(pki.leaf, "3.3"), pki.report[AMD_TESTPKI_OFF_REPORTED_TCB + 6]);
    amd_testpki_free(&pki);

    /* Another key signed the report: it verifies with that key, not with the leaf's. */
    o = (struct amd_testpki_opts){.report_signed_by_other_key = true};
    pki = build_fast(&o);
    assert_true(report_sig_ok(pki.report, pki.report_key));
    assert_false(report_sig_ok(pki.report, pki.leaf_key));
    amd_testpki_free(&pki);

    /* Expired and not-yet-valid leaves are valid on either side of NOW. */
    o = (struct amd_testpki_opts){.leaf_expired = true};
    pki = build_fast(&o);
    chain = pem_certs(pki.chain_pem);
    assert_int_equal(verify_chain(pki.ark, pki.leaf, chain, NULL, NOW - 2 * DAY), X509_V_OK);
    sk_X509_pop_free(chain, X509_free);
    amd_testpki_free(&pki);
    o = (struct amd_testpki_opts){.leaf_not_yet_valid = true};
    pki = build_fast(&o);
    chain = pem_certs(pki.chain_pem);
    assert_int_equal(verify_chain(pki.ark, pki.leaf, chain, NULL, NOW + 2 * DAY), X509_V_OK);
    sk_X509_pop_free(chain, X509_free);
    amd_testpki_free(&pki);
}

/* Sign the report again with `key` the way the firmware does (§6.1): for checks on fields no
 * knob reaches. */
static void resign_report(uint8_t *r, EVP_PKEY *key)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t der_len = sizeof(der);
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, der, &der_len, r, AMD_TESTPKI_SIGNED_LEN), 1);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(sig);
    assert_int_equal(BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), r + AMD_TESTPKI_OFF_SIG_R, 72), 72);
    assert_int_equal(BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), r + AMD_TESTPKI_OFF_SIG_S, 72), 72);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(ctx);
}

/* SIGNING_KEY that names the other kind of leaf, or a reserved key information bit: only the
 * key information check fails. */
static void test_key_info_check(void **state)
{
    (void)state;
    struct amd_testpki_opts o = {0};
    struct amd_testpki pki = build_fast(&o);
    pki.report[AMD_TESTPKI_OFF_KEY_INFO] = 1u << AMD_TESTPKI_KEY_INFO_SIGNING_KEY_SHIFT;
    resign_report(pki.report, pki.leaf_key);
    expect_checks(&pki, CHK_KEY_INFO, "SIGNING_KEY VLEK under a VCEK");
    pki.report[AMD_TESTPKI_OFF_KEY_INFO] = 0x20; /* bit 5, reserved */
    resign_report(pki.report, pki.leaf_key);
    expect_checks(&pki, CHK_KEY_INFO, "key information bit 5");
    pki.report[AMD_TESTPKI_OFF_KEY_INFO] = 0;
    resign_report(pki.report, pki.leaf_key);
    expect_checks(&pki, 0, "re-signed as built");
    amd_testpki_free(&pki);
}

/* Knobs that do not apply are refused before any key is made; nothing to free. */
static void test_bad_opts(void **state)
{
    (void)state;
    const struct amd_testpki_tcb fmc = {1, 2, 3, 4, 5};
    static const struct amd_testpki_opts bad[] = {
        {.report_version = 4},
        {.report_version = 1},
        {.product = (enum amd_testpki_product)3},
        {.rsa_bits = 512},
        {.leaf_tcb_mismatch = AMD_TESTPKI_SPL_FMC},
        {.leaf_missing_ext = AMD_TESTPKI_EXT_FMC_SPL},
        {.vlek = true, .hwid_mismatch = true},
        {.vlek = true, .hwid_der_wrapped = true},
        {.vlek = true, .leaf_missing_ext = AMD_TESTPKI_EXT_HWID},
        {.leaf_missing_ext = AMD_TESTPKI_EXT_CSP_ID},
        {.vlek_signed_by_ask = true},
        {.csp_id = "x"},
        {.vlek = true, .vlek_signed_by_ask = true, .wrong_product_ask = true},
        {.leaf_expired = true, .leaf_not_yet_valid = true},
        {.launch_mit_vector = 1},
        {.pss_sigs = 0x10},
    };
    struct amd_testpki pki;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(amd_testpki_build(&bad[i], &pki), -1);
    }
    struct amd_testpki_opts o = {.reported_tcb = &fmc};
    assert_int_equal(amd_testpki_build(&o, &pki), -1);
    amd_testpki_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_valid),
        cmocka_unit_test(test_default_ca_shape),
        cmocka_unit_test(test_default_vcek_shape),
        cmocka_unit_test(test_cert_table),
        cmocka_unit_test(test_maa_document),
        cmocka_unit_test(test_products_versions),
        cmocka_unit_test(test_vlek),
        cmocka_unit_test(test_report_fields),
        cmocka_unit_test(test_knobs),
        cmocka_unit_test(test_knob_details),
        cmocka_unit_test(test_key_info_check),
        cmocka_unit_test(test_bad_opts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
