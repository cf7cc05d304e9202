/*
 * test_sgx_testpki.c - the test PKI (src/demo/testpki.c) checked with OpenSSL and jansson directly,
 * never with attestd's verifier: every default artefact verifies, and each knob breaks exactly
 * the check it names. The checks read only what a verifier sees (quote bytes, bundle JSON,
 * root PEM). Also: the PCK leaf's SGX extension has the DER shape of the real PCKs in sgx01
 * (Processor CA) and sgx02 (Platform CA). The same for the TDX evidence (tdx = 4, 5): quote v4/v5
 * framing (docs/reference/intel-quotes.md §2), type 6 wrapping type 5, the TDX TCB levels, module
 * identity and TD_QE identity (§5.2, §5.3), and documents shaped like Intel's
 * (tests/fixtures/dcap/tdx).
 */
#include <stdbool.h>
#include <strings.h>
#include <time.h>

#include "dcap_fixtures.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "collateral/bundle.h"
#include "evidence/intel/quote.h"
#include "demo/testpki.h"

#define NOW ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */
#define DAY ATT_TESTPKI_DAY

/* ================================================================================
 * Small helpers
 * ================================================================================ */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

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

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decode exactly n bytes of hex (either case). */
static bool unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]);
        int lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static EVP_PKEY *key_from_xy(const uint8_t xy[64])
{
    uint8_t pt[65];
    pt[0] = 0x04;
    memcpy(pt + 1, xy, 64);
    OSSL_PARAM params[3];
    char group[] = "prime256v1";
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
    params[2] = OSSL_PARAM_construct_end();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

/* ECDSA P-256 / SHA-256, raw r || s. */
static bool verify_rs(EVP_PKEY *key, const void *msg, size_t n, const uint8_t rs[64])
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL);
    BIGNUM *s = BN_bin2bn(rs + 32, 32, NULL);
    unsigned char *der = NULL;
    assert_non_null(sig);
    assert_int_equal(ECDSA_SIG_set0(sig, r, s), 1);
    int der_len = i2d_ECDSA_SIG(sig, &der);
    assert_true(der_len > 0);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
    int ok = EVP_DigestVerify(ctx, der, (size_t)der_len, msg, n);
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return ok == 1;
}

static STACK_OF(X509) * pem_certs(const char *pem, size_t len)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
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

static X509_CRL *crl_from_hex(const char *hex)
{
    size_t n = strlen(hex) / 2;
    uint8_t *der = malloc(n);
    assert_non_null(der);
    assert_true(unhex(hex, der, n));
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)n);
    assert_non_null(crl);
    assert_ptr_equal(p, der + n);
    free(der);
    return crl;
}

static void cn_of(const X509_NAME *name, char *out, size_t n)
{
    out[0] = '\0';
    assert_true(X509_NAME_get_text_by_NID(name, NID_commonName, out, (int)n) > 0);
}

static int n_revoked(X509_CRL *crl)
{
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    return revoked == NULL ? 0 : sk_X509_REVOKED_num(revoked);
}

/* X509_verify_cert of `leaf` at `now` against `root`, with CRLs (both levels when n_crls is 2).
 * Returns the verify error (X509_V_OK on success). */
static int verify_chain(X509 *root, X509 *leaf, STACK_OF(X509) * untrusted, X509_CRL *const *crls,
                        size_t n_crls, int64_t now)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_non_null(store);
    assert_non_null(ctx);
    assert_int_equal(X509_STORE_add_cert(store, root), 1);
    for (size_t i = 0; i < n_crls; i++) {
        assert_int_equal(X509_STORE_add_crl(store, crls[i]), 1);
    }
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)now);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK |
                                           (n_crls > 1 ? X509_V_FLAG_CRL_CHECK_ALL : 0));
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

static int64_t parse_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    assert_non_null(end);
    assert_int_equal(*end, '\0');
    return (int64_t)timegm(&tm);
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL) {
        fail_msg("missing string member %s", key);
    }
    return s;
}

static int64_t jint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) {
        fail_msg("missing integer member %s", key);
    }
    return (int64_t)json_integer_value(v);
}

/* ================================================================================
 * The SGX extension, walked with d2i (docs/reference/intel-collateral.md §3.2)
 * ================================================================================ */

struct ext_item {
    char oid[64];
    int tag;                  /* of the value */
    const unsigned char *tlv; /* the value's whole TLV */
    long tlv_len;
    long content_len;
};

struct ext_items {
    struct ext_item it[64];
    size_t n;
};

/* A SEQUENCE of SEQUENCE { OID, value } at [p, p+len), recursing into SEQUENCE values. */
static void walk_pairs(const unsigned char *p, long len, struct ext_items *out)
{
    const unsigned char *end = p + len;
    while (p < end) {
        const unsigned char *q = p;
        long plen = 0;
        int tag = 0;
        int cls = 0;
        int f = ASN1_get_object(&q, &plen, &tag, &cls, end - p);
        assert_false(f & 0x80);
        assert_int_equal(tag, V_ASN1_SEQUENCE);
        const unsigned char *pair_end = q + plen;
        ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &q, pair_end - q);
        assert_non_null(obj);
        assert_true(out->n < 64);
        struct ext_item *it = &out->it[out->n++];
        assert_true(OBJ_obj2txt(it->oid, sizeof(it->oid), obj, 1) > 0);
        ASN1_OBJECT_free(obj);
        const unsigned char *v = q;
        long vlen = 0;
        f = ASN1_get_object(&q, &vlen, &it->tag, &cls, pair_end - v);
        assert_false(f & 0x80);
        it->tlv = v;
        it->tlv_len = (q - v) + vlen;
        it->content_len = vlen;
        assert_ptr_equal(v + it->tlv_len, pair_end);
        if (it->tag == V_ASN1_SEQUENCE) {
            walk_pairs(q, vlen, out);
        }
        p = pair_end;
    }
}

static void sgx_ext_items(X509 *leaf, struct ext_items *out)
{
    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    assert_non_null(obj);
    int idx = X509_get_ext_by_OBJ(leaf, obj, -1);
    ASN1_OBJECT_free(obj);
    assert_true(idx >= 0);
    X509_EXTENSION *ex = X509_get_ext(leaf, idx);
    assert_false(X509_EXTENSION_get_critical(ex));
    const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ex);
    const unsigned char *p = ASN1_STRING_get0_data(os);
    long len = ASN1_STRING_length(os);
    const unsigned char *q = p;
    long slen = 0;
    int tag = 0;
    int cls = 0;
    assert_false(ASN1_get_object(&q, &slen, &tag, &cls, len) & 0x80);
    assert_int_equal(tag, V_ASN1_SEQUENCE);
    assert_ptr_equal(q + slen, p + len);
    memset(out, 0, sizeof(*out));
    walk_pairs(q, slen, out);
}

static const struct ext_item *ext_find(const struct ext_items *e, const char *suffix)
{
    char oid[64];
    snprintf(oid, sizeof(oid), "1.2.840.113741.1.13.1.%s", suffix);
    for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->it[i].oid, oid) == 0) {
            return &e->it[i];
        }
    }
    fail_msg("SGX extension has no %s", oid);
    return NULL;
}

static long ext_int(const struct ext_items *e, const char *suffix)
{
    const struct ext_item *it = ext_find(e, suffix);
    const unsigned char *p = it->tlv;
    long v = -1;
    if (it->tag == V_ASN1_ENUMERATED) {
        ASN1_ENUMERATED *en = d2i_ASN1_ENUMERATED(NULL, &p, it->tlv_len);
        assert_non_null(en);
        v = ASN1_ENUMERATED_get(en);
        ASN1_ENUMERATED_free(en);
    } else {
        assert_int_equal(it->tag, V_ASN1_INTEGER);
        ASN1_INTEGER *in = d2i_ASN1_INTEGER(NULL, &p, it->tlv_len);
        assert_non_null(in);
        v = ASN1_INTEGER_get(in);
        ASN1_INTEGER_free(in);
    }
    return v;
}

/* Content of an OCTET STRING item of exactly n bytes. */
static const unsigned char *ext_octets(const struct ext_items *e, const char *suffix, long n)
{
    const struct ext_item *it = ext_find(e, suffix);
    assert_int_equal(it->tag, V_ASN1_OCTET_STRING);
    assert_int_equal(it->content_len, n);
    return it->tlv + (it->tlv_len - n);
}

struct pck_values {
    long comp[16];
    long pcesvn;
    uint8_t cpusvn[16];
    uint8_t pceid[2];
    uint8_t fmspc[6];
    long sgx_type;
};

static void pck_values(X509 *leaf, struct pck_values *v)
{
    struct ext_items e;
    sgx_ext_items(leaf, &e);
    for (int i = 0; i < 16; i++) {
        char s[16];
        snprintf(s, sizeof(s), "2.%d", i + 1);
        v->comp[i] = ext_int(&e, s);
    }
    v->pcesvn = ext_int(&e, "2.17");
    memcpy(v->cpusvn, ext_octets(&e, "2.18", 16), 16);
    memcpy(v->pceid, ext_octets(&e, "3", 2), 2);
    memcpy(v->fmspc, ext_octets(&e, "4", 6), 6);
    v->sgx_type = ext_int(&e, "5");
}

/* ================================================================================
 * What a verifier sees: quote, bundle, root
 * ================================================================================ */

struct view {
    const uint8_t *q;
    size_t q_len;
    int version;              /* 3, 4, 5 */
    bool tdx;                 /* TEE type 0x81 */
    unsigned body_type;       /* v5 field; 1 (v3), 2 (v4) otherwise */
    size_t body_len;          /* as declared (v5) or implied */
    bool body_framing_ok;     /* v5: the size fits the type, and TDX does not use type 1 */
    size_t signed_len;        /* header (|| type || size) || body */
    const uint8_t *body;      /* ISV report body or TD report */
    const uint8_t *quote_sig; /* 64 */
    const uint8_t *att_key;   /* 64 */
    const uint8_t *qe_report; /* 384 */
    const uint8_t *qe_sig;    /* 64 */
    const uint8_t *auth;
    size_t auth_len;
    const char *cert; /* certification data */
    size_t cert_len;
    STACK_OF(X509) * chain; /* from the certification data, in order */
    X509 *leaf;             /* the cert named "Test SGX PCK Certificate" */
    X509 *root;             /* the trust anchor (root.pem) */
    json_t *bundle;
    X509_CRL *root_crl;
    X509_CRL *pck_crl;
};

static const uint8_t INTEL_VENDOR[16] = {0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C, 0x4C, 0xA9,
                                         0x94, 0x0A, 0x0D, 0xB3, 0x95, 0x7F, 0x06, 0x07};

/* TDX quote v4/v5 (docs/reference/intel-quotes.md §2.1, §2.4, §2.5): every declared size consumed
 * exactly, type 6 wrapping type 5; the offsets found are the ones the PKI reports. */
static void view_open_tdx(const struct att_testpki *pki, struct view *v)
{
    const uint8_t *q = v->q;
    assert_int_equal(rd16(q + 2), 2);
    assert_int_equal(rd32(q + 4), 0x81);
    assert_int_equal(rd32(q + 8), 0); /* reserved in sgx_quote4_header_t */
    assert_memory_equal(q + 12, INTEL_VENDOR, 16);
    v->tdx = true;
    size_t body_off = ATT_TESTPKI_V4_OFF_BODY;
    if (v->version == 4) {
        v->body_type = 2;
        v->body_len = ATT_TESTPKI_TD10_BODY_LEN;
        v->body_framing_ok = true;
    } else {
        assert_int_equal(v->version, 5);
        v->body_type = rd16(q + ATT_TESTPKI_V5_OFF_BODY_TYPE);
        v->body_len = rd32(q + ATT_TESTPKI_V5_OFF_BODY_SIZE);
        body_off = ATT_TESTPKI_V5_OFF_BODY;
        v->body_framing_ok = (v->body_type == 2 && v->body_len == ATT_TESTPKI_TD10_BODY_LEN) ||
                             (v->body_type == 3 && v->body_len == ATT_TESTPKI_TD15_BODY_LEN);
    }
    v->body = q + body_off;
    v->signed_len = body_off + v->body_len;
    assert_true(v->signed_len + 4 < v->q_len);
    /* Signature data: quote signature, key, then type 6 of size M = the rest. */
    size_t s0 = v->signed_len + 4;
    uint32_t sig_len = rd32(q + v->signed_len);
    assert_int_equal(s0 + sig_len, v->q_len);
    v->quote_sig = q + s0;
    v->att_key = q + s0 + 0x40;
    assert_int_equal(rd16(q + s0 + 0x80), 6);
    uint32_t m = rd32(q + s0 + 0x82);
    assert_int_equal(0x86 + (size_t)m, sig_len);
    const uint8_t *c = q + s0 + 0x86;
    v->qe_report = c;
    v->qe_sig = c + 384;
    v->auth_len = rd16(c + 448);
    assert_int_equal(v->auth_len, ATT_TESTPKI_QE_AUTH_LEN);
    v->auth = c + 450;
    size_t inner = 450 + v->auth_len;
    assert_int_equal(rd16(c + inner), 5);
    v->cert_len = rd32(c + inner + 2);
    assert_int_equal(inner + 6 + v->cert_len, m); /* the inner structure ends exactly at M */
    v->cert = (const char *)c + inner + 6;
    /* The layout the PKI reports is the one parsed. */
    const struct att_testpki_offsets *o = &pki->off;
    assert_int_equal(o->body, body_off);
    assert_int_equal(o->body_len, v->body_len);
    assert_int_equal(o->signed_len, v->signed_len);
    assert_int_equal(o->sig_len, v->signed_len);
    assert_int_equal(o->quote_sig, s0);
    assert_int_equal(o->att_key, s0 + 0x40);
    assert_int_equal(o->cert_type, s0 + 0x80);
    assert_int_equal(o->cert_len, s0 + 0x82);
    assert_int_equal(o->qe_report, s0 + 0x86);
    assert_int_equal(o->qe_report_sig, s0 + 0x86 + 384);
    assert_int_equal(o->qe_auth_len, s0 + 0x86 + 448);
    assert_int_equal(o->pck_cert_type, s0 + 0x86 + inner);
    assert_int_equal(o->pck_cert_len, s0 + 0x86 + inner + 2);
    assert_int_equal(o->pck_cert_data, s0 + 0x86 + inner + 6);
}

static void view_open(const struct att_testpki *pki, struct view *v)
{
    memset(v, 0, sizeof(*v));
    const uint8_t *q = pki->quote;
    v->q = q;
    v->q_len = pki->quote_len;
    assert_true(v->q_len > ATT_TESTPKI_OFF_CERT_DATA);
    v->version = rd16(q);
    assert_int_equal(v->version, pki->quote_version);
    if (v->version != 3) {
        view_open_tdx(pki, v);
    } else {
        /* Header (docs/reference/intel-quotes.md §1.1). */
        assert_int_equal(rd16(q + 2), 2);
        assert_int_equal(rd32(q + 4), 0);
        assert_memory_equal(q + 12, INTEL_VENDOR, 16);
        v->body_type = 1;
        v->body_len = ATT_TESTPKI_BODY_LEN;
        v->body_framing_ok = true;
        v->signed_len = ATT_TESTPKI_SIGNED_LEN;
        v->body = q + ATT_TESTPKI_OFF_BODY;
        /* Signature data (§1.3), declared lengths consumed exactly. */
        uint32_t sig_len = rd32(q + ATT_TESTPKI_OFF_SIG_LEN);
        assert_int_equal((size_t)sig_len + ATT_TESTPKI_OFF_QUOTE_SIG, v->q_len);
        v->quote_sig = q + ATT_TESTPKI_OFF_QUOTE_SIG;
        v->att_key = q + ATT_TESTPKI_OFF_ATT_KEY;
        v->qe_report = q + ATT_TESTPKI_OFF_QE_REPORT;
        v->qe_sig = q + ATT_TESTPKI_OFF_QE_REPORT_SIG;
        v->auth_len = rd16(q + ATT_TESTPKI_OFF_QE_AUTH_LEN);
        assert_int_equal(v->auth_len, ATT_TESTPKI_QE_AUTH_LEN);
        v->auth = q + ATT_TESTPKI_OFF_QE_AUTH_LEN + 2;
        assert_int_equal(rd16(q + ATT_TESTPKI_OFF_CERT_TYPE), 5);
        v->cert_len = rd32(q + ATT_TESTPKI_OFF_CERT_LEN);
        assert_int_equal(ATT_TESTPKI_OFF_CERT_DATA + v->cert_len, v->q_len);
        v->cert = (const char *)q + ATT_TESTPKI_OFF_CERT_DATA;
        const struct att_testpki_offsets *o = &pki->off;
        assert_int_equal(o->body, ATT_TESTPKI_OFF_BODY);
        assert_int_equal(o->body_len, ATT_TESTPKI_BODY_LEN);
        assert_int_equal(o->signed_len, ATT_TESTPKI_SIGNED_LEN);
        assert_int_equal(o->sig_len, ATT_TESTPKI_OFF_SIG_LEN);
        assert_int_equal(o->quote_sig, ATT_TESTPKI_OFF_QUOTE_SIG);
        assert_int_equal(o->att_key, ATT_TESTPKI_OFF_ATT_KEY);
        assert_int_equal(o->qe_report, ATT_TESTPKI_OFF_QE_REPORT);
        assert_int_equal(o->qe_report_sig, ATT_TESTPKI_OFF_QE_REPORT_SIG);
        assert_int_equal(o->qe_auth_len, ATT_TESTPKI_OFF_QE_AUTH_LEN);
        assert_int_equal(o->cert_type, ATT_TESTPKI_OFF_CERT_TYPE);
        assert_int_equal(o->pck_cert_type, ATT_TESTPKI_OFF_CERT_TYPE);
        assert_int_equal(o->cert_len, ATT_TESTPKI_OFF_CERT_LEN);
        assert_int_equal(o->pck_cert_len, ATT_TESTPKI_OFF_CERT_LEN);
        assert_int_equal(o->pck_cert_data, ATT_TESTPKI_OFF_CERT_DATA);
    }
    size_t pem_len = v->cert_len;
    if (pem_len > 0 && v->cert[pem_len - 1] == '\0') {
        pem_len--;
    }
    v->chain = pem_certs(v->cert, pem_len);
    assert_int_equal(sk_X509_num(v->chain), 3);
    for (int i = 0; i < 3; i++) {
        char cn[128];
        cn_of(X509_get_subject_name(sk_X509_value(v->chain, i)), cn, sizeof(cn));
        if (strcmp(cn, "Test SGX PCK Certificate") == 0) {
            v->leaf = sk_X509_value(v->chain, i);
        }
    }
    assert_non_null(v->leaf);
    /* The anchor. */
    STACK_OF(X509) *roots = pem_certs(pki->root_pem, strlen(pki->root_pem));
    assert_int_equal(sk_X509_num(roots), 1);
    v->root = sk_X509_shift(roots);
    sk_X509_free(roots);
    /* The bundle: one object, the nine members as non-empty strings. */
    json_error_t jerr;
    v->bundle = json_loads(pki->bundle_json, JSON_REJECT_DUPLICATES, &jerr);
    if (v->bundle == NULL) {
        fail_msg("bundle JSON: %s", jerr.text);
    }
    static const char *const keys[9] = {
        "pck_crl_issuer_chain",     "root_ca_crl", "pck_crl",
        "tcb_info_issuer_chain",    "tcb_info",    "tcb_info_signature",
        "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature"};
    assert_int_equal(json_object_size(v->bundle), 9);
    for (size_t i = 0; i < 9; i++) {
        assert_true(strlen(jstr(v->bundle, keys[i])) > 0);
    }
    v->root_crl = crl_from_hex(jstr(v->bundle, "root_ca_crl"));
    v->pck_crl = crl_from_hex(jstr(v->bundle, "pck_crl"));
}

static void view_close(struct view *v)
{
    sk_X509_pop_free(v->chain, X509_free);
    X509_free(v->root);
    json_decref(v->bundle);
    X509_CRL_free(v->root_crl);
    X509_CRL_free(v->pck_crl);
    memset(v, 0, sizeof(*v));
}

/* ================================================================================
 * The checks of docs/reference/dcap-verification.md §5, each to its own bit
 * ================================================================================ */

enum {
    F_QUOTE_SIG = 1u << 0,    /* quote signature with the attestation key */
    F_QE_SIG = 1u << 1,       /* QE report signature with the PCK leaf key */
    F_QE_BINDING = 1u << 2,   /* QE REPORTDATA = SHA-256(att key || auth) || 0 */
    F_PCK_CHAIN = 1u << 3,    /* leaf -> CA -> root with both CRLs, at now */
    F_ROOT_CRL_SIG = 1u << 4, /* Root CA CRL signed by the root */
    F_PCK_CRL_SIG = 1u << 5,  /* PCK CRL signed by the CA of pck_crl_issuer_chain */
    F_TCB_SIG = 1u << 6,      /* tcb_info_signature with tcb_info_issuer_chain[0] */
    F_TCB_CHAIN = 1u << 7,    /* that signer -> root, Root CA CRL, at now */
    F_QEID_SIG = 1u << 8,     /* likewise for the QE identity */
    F_QEID_CHAIN = 1u << 9,
    F_TCB_DATES = 1u << 10, /* issueDate <= now < nextUpdate */
    F_QEID_DATES = 1u << 11,
    F_FMSPC = 1u << 12,           /* PCK FMSPC == tcbInfo.fmspc (any case) */
    F_PCEID = 1u << 13,           /* PCK PCE-ID == tcbInfo.pceId */
    F_QEID_MISC = 1u << 14,       /* QE MISCSELECT under mask */
    F_QEID_ATTR = 1u << 15,       /* QE ATTRIBUTES under mask */
    F_QEID_MRSIGNER = 1u << 16,   /* QE MRSIGNER */
    F_QEID_PRODID = 1u << 17,     /* QE ISVPRODID */
    F_QE_LEVEL = 1u << 18,        /* QE level not UpToDate (or none) */
    F_TCB_LEVEL = 1u << 19,       /* platform level not UpToDate (or none) */
    F_DEBUG = 1u << 20,           /* ATTRIBUTES.DEBUG of the enclave; TDATTRIBUTES.DEBUG */
    F_TCB_ID = 1u << 21,          /* tcbInfo.id is not the quote's TEE (§5 step 5) */
    F_QEID_ID = 1u << 22,         /* enclaveIdentity.id is not the quote's QE (§5 step 10) */
    F_BODY = 1u << 23,            /* v5 body type/size rule (§2.4) */
    F_MODULE_ID = 1u << 24,       /* no module identity "TDX_%02X" of TEE_TCB_SVN[1] (§5.3) */
    F_MODULE_MRSIGNER = 1u << 25, /* MRSIGNERSEAM vs the identity's (tdxModule's) mrsigner */
    F_MODULE_ATTR = 1u << 26,     /* SEAMATTRIBUTES under mask, and zero */
    F_MODULE_LEVEL = 1u << 27,    /* module level not UpToDate (or none) */
};

static const char *const F_NAMES[] = {
    "quote sig", "QE sig",          "QE binding",  "PCK chain",   "root CRL sig", "PCK CRL sig",
    "TCB sig",   "TCB chain",       "QEID sig",    "QEID chain",  "TCB dates",    "QEID dates",
    "FMSPC",     "PCE-ID",          "QE misc",     "QE attr",     "QE mrsigner",  "QE prodid",
    "QE level",  "TCB level",       "debug",       "TCB info id", "QEID id",      "v5 body",
    "module id", "module mrsigner", "module attr", "module level"};

static void describe(unsigned mask, char *out, size_t n)
{
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(F_NAMES) / sizeof(F_NAMES[0]); i++) {
        if ((mask & (1u << i)) && off < n) {
            int k = snprintf(out + off, n - off, "%s%s", off ? ", " : "", F_NAMES[i]);
            off += k > 0 ? (size_t)k : 0;
        }
    }
}

static bool window_ok(const json_t *doc, int64_t now)
{
    return parse_date(jstr(doc, "issueDate")) <= now && now < parse_date(jstr(doc, "nextUpdate"));
}

/* A signed document: signature over the exact text with the chain's first cert, and that
 * cert's chain to the root. */
static void check_doc(const struct view *v, const char *text_key, const char *sig_key,
                      const char *chain_key, int64_t now, unsigned sig_bit, unsigned chain_bit,
                      unsigned *mask)
{
    const char *text = jstr(v->bundle, text_key);
    uint8_t rs[64];
    assert_true(unhex(jstr(v->bundle, sig_key), rs, 64));
    const char *pem = jstr(v->bundle, chain_key);
    STACK_OF(X509) *chain = pem_certs(pem, strlen(pem));
    assert_int_equal(sk_X509_num(chain), 2);
    X509 *signer = sk_X509_value(chain, 0);
    char cn[128];
    cn_of(X509_get_subject_name(signer), cn, sizeof(cn));
    assert_string_equal(cn, "Test SGX TCB Signing");
    EVP_PKEY *key = X509_get0_pubkey(signer);
    if (!verify_rs(key, text, strlen(text), rs)) {
        *mask |= sig_bit;
    }
    X509_CRL *crls[1] = {v->root_crl};
    if (verify_chain(v->root, signer, chain, crls, 1, now) != X509_V_OK) {
        *mask |= chain_bit;
    }
    sk_X509_pop_free(chain, X509_free);
}

/* First level every component and pcesvn of which the PCK reaches
 * (docs/reference/dcap-verification.md §5.1). */
static const char *tcb_status(const json_t *tcb_info, const struct pck_values *pv)
{
    const json_t *levels = json_object_get(tcb_info, "tcbLevels");
    size_t i;
    const json_t *level;
    json_array_foreach(levels, i, level)
    {
        const json_t *tcb = json_object_get(level, "tcb");
        const json_t *comps = json_object_get(tcb, "sgxtcbcomponents");
        assert_int_equal(json_array_size(comps), 16);
        bool ok = pv->pcesvn >= jint(tcb, "pcesvn");
        for (size_t c = 0; c < 16; c++) {
            ok = ok && pv->comp[c] >= jint(json_array_get(comps, c), "svn");
        }
        if (ok) {
            return jstr(level, "tcbStatus");
        }
    }
    return "none";
}

static const char *qe_status(const json_t *qe_id, unsigned isvsvn)
{
    const json_t *levels = json_object_get(qe_id, "tcbLevels");
    size_t i;
    const json_t *level;
    json_array_foreach(levels, i, level)
    {
        if ((int64_t)isvsvn >= jint(json_object_get(level, "tcb"), "isvsvn")) {
            return jstr(level, "tcbStatus");
        }
    }
    return "none";
}

/* TDX platform level (docs/reference/dcap-verification.md §5.2): the first level whose SGX
 * components and pcesvn the PCK reaches and whose tdxtcbcomponents TEE_TCB_SVN reaches (bytes 0 and
 * 1 skipped when TEE_TCB_SVN[1] > 0). */
static const char *tdx_tcb_status(const json_t *tcb_info, const struct pck_values *pv,
                                  const uint8_t svn[16])
{
    const json_t *levels = json_object_get(tcb_info, "tcbLevels");
    size_t i;
    const json_t *level;
    json_array_foreach(levels, i, level)
    {
        const json_t *tcb = json_object_get(level, "tcb");
        const json_t *comps = json_object_get(tcb, "sgxtcbcomponents");
        const json_t *tdx = json_object_get(tcb, "tdxtcbcomponents");
        assert_int_equal(json_array_size(comps), 16);
        assert_int_equal(json_array_size(tdx), 16);
        bool ok = pv->pcesvn >= jint(tcb, "pcesvn");
        for (size_t c = 0; c < 16; c++) {
            ok = ok && pv->comp[c] >= jint(json_array_get(comps, c), "svn");
            if (c >= 2 || svn[1] == 0) {
                ok = ok && svn[c] >= jint(json_array_get(tdx, c), "svn");
            }
        }
        if (ok) {
            return jstr(level, "tcbStatus");
        }
    }
    return "none";
}

/* The module identity "TDX_%02X" of the major version (case-insensitive), or NULL. */
static const json_t *module_identity(const json_t *tcb_info, unsigned major)
{
    char id[16];
    snprintf(id, sizeof(id), "TDX_%02X", major);
    const json_t *ids = json_object_get(tcb_info, "tdxModuleIdentities");
    size_t i;
    const json_t *e;
    json_array_foreach(ids, i, e)
    {
        if (strcasecmp(jstr(e, "id"), id) == 0) {
            return e;
        }
    }
    return NULL;
}

/* (report & mask) == expected, bytewise, n bytes (docs/reference/intel-collateral.md §4.3). */
static bool masked_equal(const uint8_t *report, const char *mask_hex, const char *want_hex,
                         size_t n)
{
    uint8_t mask[16];
    uint8_t want[16];
    assert_true(n <= 16);
    assert_true(unhex(mask_hex, mask, n));
    assert_true(unhex(want_hex, want, n));
    for (size_t i = 0; i < n; i++) {
        if ((report[i] & mask[i]) != want[i]) {
            return false;
        }
    }
    return true;
}

/* The TDX module checks (docs/reference/dcap-verification.md §5 step 7, §5.3): identity of the
 * major version (or tdxModule when it is 0), MRSIGNERSEAM and SEAMATTRIBUTES against it, its level.
 */
static unsigned check_module(const json_t *tcb_info, const uint8_t *td, char *module_level)
{
    const uint8_t *svn = td + ATT_TESTPKI_T_TEE_TCB_SVN;
    const json_t *m = json_object_get(tcb_info, "tdxModule");
    unsigned mask = 0;
    snprintf(module_level, 48, "%s", "n/a");
    if (svn[1] != 0) {
        m = module_identity(tcb_info, svn[1]);
        if (m == NULL) {
            snprintf(module_level, 48, "%s", "mismatch");
            return F_MODULE_ID;
        }
    }
    assert_non_null(m);
    uint8_t mrsigner[48];
    assert_true(unhex(jstr(m, "mrsigner"), mrsigner, 48));
    if (memcmp(mrsigner, td + ATT_TESTPKI_T_MRSIGNERSEAM, 48) != 0) {
        mask |= F_MODULE_MRSIGNER;
    }
    static const uint8_t zero[8];
    if (!masked_equal(td + ATT_TESTPKI_T_SEAMATTRIBUTES, jstr(m, "attributesMask"),
                      jstr(m, "attributes"), 8) ||
        memcmp(td + ATT_TESTPKI_T_SEAMATTRIBUTES, zero, 8) != 0) {
        mask |= F_MODULE_ATTR;
    }
    if (svn[1] != 0) {
        const char *st = qe_status(m, svn[0]); /* same shape: tcbLevels of {tcb:{isvsvn}} */
        snprintf(module_level, 48, "%s", st);
        if (strcmp(st, "UpToDate") != 0) {
            mask |= F_MODULE_LEVEL;
        }
    }
    return mask;
}

/* Run every check at `now`; the mask of failures. status/qe_level/module_level (>= 48 bytes,
 * module_level may be NULL) get the platform, QE and TDX module level names ("none" below
 * every level; module "n/a" for SGX or TEE_TCB_SVN[1] == 0, "mismatch" without identity). */
static unsigned check_all_ex(const struct att_testpki *pki, int64_t now, char *status,
                             char *qe_level, char *module_level)
{
    struct view v;
    unsigned mask = 0;
    char module_buf[48];
    if (module_level == NULL) {
        module_level = module_buf;
    }
    snprintf(module_level, 48, "%s", "n/a");
    view_open(pki, &v);

    /* Quote signature over header (|| v5 body type and size) || body (§1.3, §2.4). */
    EVP_PKEY *att = key_from_xy(v.att_key);
    if (!verify_rs(att, v.q, v.signed_len, v.quote_sig)) {
        mask |= F_QUOTE_SIG;
    }
    EVP_PKEY_free(att);
    /* QE report signature with the PCK leaf key. */
    if (!verify_rs(X509_get0_pubkey(v.leaf), v.qe_report, ATT_TESTPKI_BODY_LEN, v.qe_sig)) {
        mask |= F_QE_SIG;
    }
    /* QE REPORTDATA binding. */
    uint8_t in[64 + ATT_TESTPKI_QE_AUTH_LEN];
    uint8_t want[64] = {0};
    unsigned int md_len = 0;
    memcpy(in, v.att_key, 64);
    memcpy(in + 64, v.auth, v.auth_len);
    assert_int_equal(EVP_Digest(in, sizeof(in), want, &md_len, EVP_sha256(), NULL), 1);
    if (memcmp(v.qe_report + ATT_TESTPKI_B_REPORTDATA, want, 64) != 0) {
        mask |= F_QE_BINDING;
    }
    /* CRL signatures. */
    if (X509_CRL_verify(v.root_crl, X509_get0_pubkey(v.root)) != 1) {
        mask |= F_ROOT_CRL_SIG;
    }
    const char *ca_pem = jstr(v.bundle, "pck_crl_issuer_chain");
    STACK_OF(X509) *ca_chain = pem_certs(ca_pem, strlen(ca_pem));
    assert_int_equal(sk_X509_num(ca_chain), 2);
    if (X509_CRL_verify(v.pck_crl, X509_get0_pubkey(sk_X509_value(ca_chain, 0))) != 1) {
        mask |= F_PCK_CRL_SIG;
    }
    /* The PCK CRL is the leaf issuer's (raw names). */
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(v.pck_crl), X509_get_issuer_name(v.leaf)),
                     0);
    sk_X509_pop_free(ca_chain, X509_free);
    ERR_clear_error();
    /* PCK chain with both CRLs. */
    X509_CRL *crls[2] = {v.root_crl, v.pck_crl};
    if (verify_chain(v.root, v.leaf, v.chain, crls, 2, now) != X509_V_OK) {
        mask |= F_PCK_CHAIN;
    }
    /* Collateral documents. */
    check_doc(&v, "tcb_info", "tcb_info_signature", "tcb_info_issuer_chain", now, F_TCB_SIG,
              F_TCB_CHAIN, &mask);
    check_doc(&v, "qe_identity", "qe_identity_signature", "qe_identity_issuer_chain", now,
              F_QEID_SIG, F_QEID_CHAIN, &mask);
    json_error_t jerr;
    json_t *tcb_info = json_loads(jstr(v.bundle, "tcb_info"), JSON_REJECT_DUPLICATES, &jerr);
    json_t *qe_id = json_loads(jstr(v.bundle, "qe_identity"), JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(tcb_info);
    assert_non_null(qe_id);
    bool tcb_id_ok = strcmp(jstr(tcb_info, "id"), v.tdx ? "TDX" : "SGX") == 0;
    if (!tcb_id_ok) {
        mask |= F_TCB_ID;
    }
    assert_int_equal(jint(tcb_info, "version"), 3);
    if (strcmp(jstr(qe_id, "id"), v.tdx ? "TD_QE" : "QE") != 0) {
        mask |= F_QEID_ID;
    }
    assert_int_equal(jint(qe_id, "version"), 2);
    if (!v.body_framing_ok) {
        mask |= F_BODY;
    }
    /* What the TD report says is judged only when it is one (§2.4) and the TCB info is TDX. */
    bool td_body = v.tdx && v.body_framing_ok;
    if (!window_ok(tcb_info, now)) {
        mask |= F_TCB_DATES;
    }
    if (!window_ok(qe_id, now)) {
        mask |= F_QEID_DATES;
    }
    /* PCK values against the TCB info (§5 step 6, §5.1). */
    struct pck_values pv;
    pck_values(v.leaf, &pv);
    uint8_t fmspc[6];
    uint8_t pceid[2];
    assert_true(unhex(jstr(tcb_info, "fmspc"), fmspc, 6));
    assert_true(unhex(jstr(tcb_info, "pceId"), pceid, 2));
    if (memcmp(fmspc, pv.fmspc, 6) != 0) {
        mask |= F_FMSPC;
    }
    if (memcmp(pceid, pv.pceid, 2) != 0) {
        mask |= F_PCEID;
    }
    const char *st = td_body && tcb_id_ok
                         ? tdx_tcb_status(tcb_info, &pv, v.body + ATT_TESTPKI_T_TEE_TCB_SVN)
                         : tcb_status(tcb_info, &pv);
    snprintf(status, 48, "%s", st);
    if (td_body && tcb_id_ok) {
        mask |= check_module(tcb_info, v.body, module_level);
    }
    if (strcmp(st, "UpToDate") != 0) {
        mask |= F_TCB_LEVEL;
    }
    /* QE report against the QE identity (§5 step 10). */
    const uint8_t *qr = v.qe_report;
    if (!masked_equal(qr + ATT_TESTPKI_B_MISCSELECT, jstr(qe_id, "miscselectMask"),
                      jstr(qe_id, "miscselect"), 4)) {
        mask |= F_QEID_MISC;
    }
    if (!masked_equal(qr + ATT_TESTPKI_B_ATTRIBUTES, jstr(qe_id, "attributesMask"),
                      jstr(qe_id, "attributes"), 16)) {
        mask |= F_QEID_ATTR;
    }
    uint8_t mrsigner[32];
    assert_true(unhex(jstr(qe_id, "mrsigner"), mrsigner, 32));
    if (memcmp(mrsigner, qr + ATT_TESTPKI_B_MRSIGNER, 32) != 0) {
        mask |= F_QEID_MRSIGNER;
    }
    if (jint(qe_id, "isvprodid") != rd16(qr + ATT_TESTPKI_B_ISVPRODID)) {
        mask |= F_QEID_PRODID;
    }
    const char *qst = qe_status(qe_id, rd16(qr + ATT_TESTPKI_B_ISVSVN));
    snprintf(qe_level, 48, "%s", qst);
    if (strcmp(qst, "UpToDate") != 0) {
        mask |= F_QE_LEVEL;
    }
    if (td_body ? (rd64(v.body + ATT_TESTPKI_T_TDATTRIBUTES) & 0x1) != 0
                : !v.tdx && (rd64(v.body + ATT_TESTPKI_B_ATTRIBUTES) & 0x2) != 0) {
        mask |= F_DEBUG;
    }
    json_decref(tcb_info);
    json_decref(qe_id);
    view_close(&v);
    return mask;
}

static unsigned check_all(const struct att_testpki *pki, int64_t now, char *status, char *qe_level)
{
    return check_all_ex(pki, now, status, qe_level, NULL);
}

static void build(const struct att_testpki_opts *o, struct att_testpki *pki)
{
    if (att_testpki_build(o, pki) != 0) {
        fail_msg("att_testpki_build failed");
    }
}

static void expect_mask(const struct att_testpki *pki, int64_t now, unsigned want, const char *what)
{
    char status[48];
    char qe_level[48];
    unsigned got = check_all(pki, now, status, qe_level);
    if (got != want) {
        char g[512];
        char w[512];
        describe(got, g, sizeof(g));
        describe(want, w, sizeof(w));
        fail_msg("%s: failed checks [%s], expected [%s]", what, g, w);
    }
}

/* ================================================================================
 * Tests
 * ================================================================================ */

static void test_default_is_valid(void **state)
{
    (void)state;
    struct att_testpki_opts o = {.now = NOW};
    struct att_testpki pki;
    build(&o, &pki);
    char status[48];
    char qe_level[48];
    assert_int_equal(check_all(&pki, NOW, status, qe_level), 0);
    assert_string_equal(status, "UpToDate");
    assert_string_equal(qe_level, "UpToDate");
    /* Still valid a week either way inside the windows. */
    expect_mask(&pki, NOW - DAY + 60, 0, "at the window start");
    expect_mask(&pki, NOW + 28 * DAY, 0, "near the window end");
    /* Past nextUpdate of everything: dates and CRLs fail, signatures do not. */
    expect_mask(&pki, NOW + 30 * DAY,
                F_TCB_DATES | F_QEID_DATES | F_PCK_CHAIN | F_TCB_CHAIN | F_QEID_CHAIN,
                "after nextUpdate");
    att_testpki_free(&pki);
}

static void test_default_contents(void **state)
{
    (void)state;
    struct att_testpki_opts o = {.now = NOW};
    struct att_testpki pki;
    build(&o, &pki);
    struct view v;
    view_open(&pki, &v);
    const uint8_t *q = pki.quote;
    /* Header: QE and PCE SVNs, QE-ID in user_data then 4 zero bytes. */
    assert_int_equal(rd16(q + 8), ATT_TESTPKI_QE_ISVSVN);
    assert_int_equal(rd16(q + 10), ATT_TESTPKI_PCESVN);
    static const uint8_t zero[64];
    assert_memory_equal(q + 0x2C, zero, 4);
    /* Body defaults. */
    uint8_t e1[32];
    uint8_t s51[32];
    memset(e1, 0xE1, 32);
    memset(s51, 0x51, 32);
    assert_memory_equal(v.body + ATT_TESTPKI_B_MRENCLAVE, e1, 32);
    assert_memory_equal(v.body + ATT_TESTPKI_B_MRSIGNER, s51, 32);
    assert_memory_equal(v.body + ATT_TESTPKI_B_REPORTDATA, zero, 64);
    assert_memory_equal(v.body + ATT_TESTPKI_B_CONFIGID, zero, 64);
    assert_int_equal(rd64(v.body + ATT_TESTPKI_B_ATTRIBUTES), ATT_TESTPKI_ATTR_FLAGS);
    assert_int_equal(rd64(v.body + ATT_TESTPKI_B_ATTRIBUTES + 8), ATT_TESTPKI_ATTR_XFRM);
    /* QE report: prodid 1, isvsvn 8, flags 0x15. */
    assert_int_equal(rd16(v.qe_report + ATT_TESTPKI_B_ISVPRODID), 1);
    assert_int_equal(rd16(v.qe_report + ATT_TESTPKI_B_ISVSVN), 8);
    assert_int_equal(rd64(v.qe_report + ATT_TESTPKI_B_ATTRIBUTES), 0x15);
    assert_memory_equal(v.qe_report + ATT_TESTPKI_B_MRSIGNER, pki.qe_mrsigner, 32);
    assert_memory_equal(v.qe_report + ATT_TESTPKI_B_REPORTDATA + 32, zero, 32);
    /* The attestation key in the quote is attest_key. */
    EVP_PKEY *att = key_from_xy(v.att_key);
    assert_int_equal(EVP_PKEY_eq(att, pki.attest_key), 1);
    EVP_PKEY_free(att);
    /* Certification data: leaf, CA, root, one NUL; same PEM as pck_chain_pem. */
    assert_int_equal(v.cert[v.cert_len - 1], '\0');
    assert_int_equal(strlen(pki.pck_chain_pem), v.cert_len - 1);
    assert_memory_equal(v.cert, pki.pck_chain_pem, v.cert_len - 1);
    assert_ptr_equal(sk_X509_value(v.chain, 0), v.leaf);
    char cn[128];
    cn_of(X509_get_subject_name(sk_X509_value(v.chain, 1)), cn, sizeof(cn));
    assert_string_equal(cn, "Test SGX PCK Processor CA");
    cn_of(X509_get_issuer_name(v.leaf), cn, sizeof(cn));
    assert_string_equal(cn, "Test SGX PCK Processor CA");
    cn_of(X509_get_subject_name(sk_X509_value(v.chain, 2)), cn, sizeof(cn));
    assert_string_equal(cn, "Test SGX Root CA");
    assert_int_equal(X509_cmp(sk_X509_value(v.chain, 2), v.root), 0);
    assert_int_equal(X509_cmp(v.leaf, pki.pck_leaf), 0);
    assert_int_equal(X509_check_ca(v.root), 1);
    assert_int_equal(X509_check_ca(sk_X509_value(v.chain, 1)), 1);
    assert_int_equal(X509_check_ca(v.leaf), 0);
    /* Validity windows. */
    assert_int_equal(X509_cmp_time(X509_get0_notBefore(v.leaf), &(time_t){NOW - 30 * DAY + 1}), -1);
    assert_int_equal(X509_cmp_time(X509_get0_notAfter(v.leaf), &(time_t){NOW + 365 * DAY - 1}), 1);
    /* SGX extension values. */
    struct pck_values pv;
    pck_values(v.leaf, &pv);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(pv.comp[i], 10);
        assert_int_equal(pv.cpusvn[i], 10);
    }
    assert_int_equal(pv.pcesvn, 13);
    static const uint8_t fmspc[6] = {0x00, 0x90, 0x6E, 0xD5, 0x00, 0x00};
    assert_memory_equal(pv.fmspc, fmspc, 6);
    assert_memory_equal(pki.fmspc, fmspc, 6);
    assert_memory_equal(pv.pceid, zero, 2);
    assert_int_equal(pv.sgx_type, 0);
    assert_memory_equal(v.body + ATT_TESTPKI_B_CPUSVN, pv.cpusvn, 16);
    /* CRLs: empty, issuers by name, thisUpdate now-1d, nextUpdate now+29d. */
    assert_int_equal(n_revoked(v.root_crl), 0);
    assert_int_equal(n_revoked(v.pck_crl), 0);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(v.root_crl), X509_get_subject_name(v.root)),
                     0);
    int days = 0;
    int secs = 0;
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)NOW);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, t, X509_CRL_get0_lastUpdate(v.pck_crl)), 1);
    assert_int_equal(days, -1);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, t, X509_CRL_get0_nextUpdate(v.root_crl)), 1);
    assert_int_equal(days, 29);
    ASN1_TIME_free(t);
    /* Bundle members are the pieces. */
    assert_string_equal(jstr(v.bundle, "tcb_info"), pki.tcb_info);
    assert_string_equal(jstr(v.bundle, "qe_identity"), pki.qe_identity);
    assert_string_equal(jstr(v.bundle, "pck_crl_issuer_chain"), pki.pck_crl_issuer_pem);
    assert_string_equal(jstr(v.bundle, "tcb_info_issuer_chain"), pki.tcb_issuer_pem);
    const char *sig = jstr(v.bundle, "tcb_info_signature");
    assert_int_equal(strlen(sig), 128);
    for (size_t i = 0; i < 128; i++) {
        assert_true((sig[i] >= '0' && sig[i] <= '9') || (sig[i] >= 'a' && sig[i] <= 'f'));
    }
    /* TCB info text: compact, Intel's key order, seven levels. */
    assert_true(strncmp(pki.tcb_info,
                        "{\"id\":\"SGX\",\"version\":3,\"issueDate\":\"2025-12-31T00:00:00Z\","
                        "\"nextUpdate\":\"2026-01-30T00:00:00Z\",\"fmspc\":\"00906ED50000\","
                        "\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,"
                        "\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":[{\"svn\":10},",
                        200) == 0);
    assert_null(strchr(pki.tcb_info, ' '));
    assert_null(strchr(pki.tcb_info, '\n'));
    json_t *ti = json_loads(pki.tcb_info, 0, NULL);
    assert_non_null(ti);
    assert_int_equal(jint(ti, "tcbType"), 0);
    const json_t *levels = json_object_get(ti, "tcbLevels");
    assert_int_equal(json_array_size(levels), ATT_TESTPKI_LEVELS);
    for (size_t i = 0; i < ATT_TESTPKI_LEVELS; i++) {
        const json_t *lv = json_array_get(levels, i);
        const char *st = jstr(lv, "tcbStatus");
        assert_string_equal(st, att_testpki_level_status(i));
        const json_t *tcb = json_object_get(lv, "tcb");
        assert_int_equal(jint(tcb, "pcesvn"), 13);
        const json_t *comps = json_object_get(tcb, "sgxtcbcomponents");
        for (size_t c = 0; c < 16; c++) {
            assert_int_equal(jint(json_array_get(comps, c), "svn"), att_testpki_status_svn(st));
        }
        parse_date(jstr(lv, "tcbDate"));
        const json_t *adv = json_object_get(lv, "advisoryIDs");
        if (strcmp(st, "SWHardeningNeeded") == 0) {
            assert_int_equal(json_array_size(adv), 1);
            assert_string_equal(json_string_value(json_array_get(adv, 0)), "INTEL-SA-00615");
        } else if (strcmp(st, "ConfigurationAndSWHardeningNeeded") == 0) {
            assert_int_equal(json_array_size(adv), 2);
            assert_string_equal(json_string_value(json_array_get(adv, 0)), "INTEL-SA-00289");
            assert_string_equal(json_string_value(json_array_get(adv, 1)), "INTEL-SA-00615");
        } else {
            assert_null(adv);
        }
    }
    json_decref(ti);
    /* QE identity. */
    json_t *qi = json_loads(pki.qe_identity, 0, NULL);
    assert_non_null(qi);
    assert_string_equal(jstr(qi, "miscselect"), "00000000");
    assert_string_equal(jstr(qi, "miscselectMask"), "FFFFFFFF");
    assert_string_equal(jstr(qi, "attributes"), "11000000000000000000000000000000");
    assert_string_equal(jstr(qi, "attributesMask"), "FBFFFFFFFFFFFFFF0000000000000000");
    assert_int_equal(jint(qi, "isvprodid"), 1);
    assert_int_equal(jint(qi, "tcbEvaluationDataNumber"), 17);
    assert_int_equal(json_array_size(json_object_get(qi, "tcbLevels")), 3);
    assert_string_equal(qe_status(qi, 8), "UpToDate");
    assert_string_equal(qe_status(qi, 7), "OutOfDate");
    assert_string_equal(qe_status(qi, 2), "Revoked");
    assert_string_equal(qe_status(qi, 1), "none");
    json_decref(qi);
    view_close(&v);
    att_testpki_free(&pki);
}

/* attestd's own framing parsers (not its verifier) accept what the PKI writes. */
static void test_attestd_parsers_accept(void **state)
{
    (void)state;
    static const struct att_testpki_opts variants[] = {
        {.now = NOW},
        {.now = NOW, .chain_root_first = true, .pck_ca_platform = true},
        {.now = NOW, .no_trailing_nul = true},
    };
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        struct att_testpki pki;
        build(&variants[i], &pki);
        char msg[256] = "";
        struct att_intel_quote quote;
        att_err rc = att_intel_quote_parse(pki.quote, pki.quote_len, ATT_INTEL_TEE_SGX, &quote, msg,
                                           sizeof(msg));
        if (rc != ATT_OK) {
            fail_msg("variant %zu: quote: %s (%s)", i, att_err_name(rc), msg);
        }
        struct att_dcap_bundle b;
        memset(&b, 0, sizeof(b));
        rc = att_dcap_bundle_parse(pki.bundle_json, strlen(pki.bundle_json), &b, msg, sizeof(msg));
        if (rc != ATT_OK) {
            fail_msg("variant %zu: bundle: %s (%s)", i, att_err_name(rc), msg);
        }
        assert_int_equal(b.tcb_info.len, strlen(pki.tcb_info));
        assert_memory_equal(b.tcb_info.data, pki.tcb_info, b.tcb_info.len);
        assert_memory_equal(b.tcb_info_signature, pki.tcb_info_sig, 64);
        assert_memory_equal(b.qe_identity_signature, pki.qe_identity_sig, 64);
        att_dcap_bundle_cleanup(&b);
        att_testpki_free(&pki);
    }
}

static const uint8_t OTHER_FMSPC[6] = {0x00, 0xA0, 0x67, 0x11, 0x00, 0x00};

struct knob_case {
    const char *name;
    struct att_testpki_opts opts;
    unsigned expect;
};

static const struct knob_case KNOBS[] = {
    {"defaults", {0}, 0},
    {"debug", {.debug = true}, F_DEBUG},
    {"revoke_pck", {.revoke_pck = true}, F_PCK_CHAIN},
    {"revoke_pck_ca", {.revoke_pck_ca = true}, F_PCK_CHAIN},
    {"revoke_tcb_signer", {.revoke_tcb_signer = true}, F_TCB_CHAIN | F_QEID_CHAIN},
    {"revoke_pck_ca+tcb_signer",
     {.revoke_pck_ca = true, .revoke_tcb_signer = true},
     F_PCK_CHAIN | F_TCB_CHAIN | F_QEID_CHAIN},
    {"tcb_info expired", {.tcb_info_date_shift = -40 * DAY}, F_TCB_DATES},
    {"tcb_info not yet valid", {.tcb_info_date_shift = 2 * DAY}, F_TCB_DATES},
    {"qe_identity expired", {.qe_identity_date_shift = -40 * DAY}, F_QEID_DATES},
    {"qe_identity not yet valid", {.qe_identity_date_shift = 2 * DAY}, F_QEID_DATES},
    {"root CRL expired",
     {.root_crl_date_shift = -40 * DAY},
     F_PCK_CHAIN | F_TCB_CHAIN | F_QEID_CHAIN},
    {"root CRL not yet valid",
     {.root_crl_date_shift = 2 * DAY},
     F_PCK_CHAIN | F_TCB_CHAIN | F_QEID_CHAIN},
    {"PCK CRL expired", {.pck_crl_date_shift = -40 * DAY}, F_PCK_CHAIN},
    {"PCK CRL not yet valid", {.pck_crl_date_shift = 2 * DAY}, F_PCK_CHAIN},
    {"PCK leaf expired", {.pck_cert_date_shift = -400 * DAY}, F_PCK_CHAIN},
    {"PCK leaf not yet valid", {.pck_cert_date_shift = 31 * DAY}, F_PCK_CHAIN},
    {"tcb_info_fmspc", {.tcb_info_fmspc = OTHER_FMSPC}, F_FMSPC},
    {"fmspc (both)", {.fmspc = OTHER_FMSPC}, 0},
    {"tcb_info_fmspc_lowercase", {.tcb_info_fmspc_lowercase = true}, 0},
    {"pceid_mismatch", {.pceid_mismatch = true}, F_PCEID},
    {"qe_identity_mrsigner_wrong", {.qe_identity_mrsigner_wrong = true}, F_QEID_MRSIGNER},
    {"qe_isvprodid_wrong", {.qe_isvprodid_wrong = true}, F_QEID_PRODID},
    {"qe_attributes_mismatch", {.qe_attributes_mismatch = true}, F_QEID_ATTR},
    {"qe_isvsvn 7", {.qe_isvsvn = 7}, F_QE_LEVEL},
    {"qe_isvsvn 1", {.qe_isvsvn = 1}, F_QE_LEVEL},
    {"qe_isvsvn 9", {.qe_isvsvn = 9}, 0},
    {"corrupt_qe_report_data", {.corrupt_qe_report_data = true}, F_QE_BINDING},
    {"corrupt_qe_report_sig", {.corrupt_qe_report_sig = true}, F_QE_SIG},
    {"corrupt_quote_sig", {.corrupt_quote_sig = true}, F_QUOTE_SIG},
    {"corrupt_tcb_info_sig", {.corrupt_tcb_info_sig = true}, F_TCB_SIG},
    {"corrupt_qe_identity_sig", {.corrupt_qe_identity_sig = true}, F_QEID_SIG},
    {"tcb_info_untrusted_signer", {.tcb_info_untrusted_signer = true}, F_TCB_CHAIN},
    {"qe_identity_untrusted_signer", {.qe_identity_untrusted_signer = true}, F_QEID_CHAIN},
    {"comp_svn 9", {.comp_svn = 9}, F_TCB_LEVEL},
    {"comp_svn 11", {.comp_svn = 11}, 0},
    {"pcesvn 12", {.pcesvn = 12}, F_TCB_LEVEL},
    {"comp 3 = 0", {.comp_override_index = 3, .comp_override_svn = 0}, F_TCB_LEVEL},
    {"comp 16 = 200", {.comp_override_index = 16, .comp_override_svn = 200}, 0},
    {"pck_ca_platform", {.pck_ca_platform = true}, 0},
    {"sgx_type 1", {.sgx_type = 1}, 0},
    {"chain_root_first", {.chain_root_first = true}, 0},
    {"no_trailing_nul", {.no_trailing_nul = true}, 0},
    {"tcb_eval_num", {.tcb_eval_num = 18}, 0},
    {"enclave fields", {.isv_prod_id = 7, .isv_svn = 3, .config_svn = 2}, 0},
};

static void test_knobs_break_exactly_their_check(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(KNOBS) / sizeof(KNOBS[0]); i++) {
        struct att_testpki_opts o = KNOBS[i].opts;
        o.now = NOW;
        struct att_testpki pki;
        build(&o, &pki);
        expect_mask(&pki, NOW, KNOBS[i].expect, KNOBS[i].name);
        att_testpki_free(&pki);
    }
}

/* The level names of the TCB info the test PKI writes, highest first, then "below". */
static const char *const level_names[] = {"UpToDate",
                                          "SWHardeningNeeded",
                                          "ConfigurationNeeded",
                                          "ConfigurationAndSWHardeningNeeded",
                                          "OutOfDate",
                                          "OutOfDateConfigurationNeeded",
                                          "Revoked",
                                          "below"};

static void test_status_levels(void **state)
{
    (void)state;
    assert_int_equal(att_testpki_status_svn("UpToDate"), 10);
    assert_int_equal(att_testpki_status_svn("Revoked"), 4);
    assert_int_equal(att_testpki_status_svn("below"), 3);
    assert_int_equal(att_testpki_status_svn("Unknown"), -1);
    assert_int_equal(att_testpki_status_svn(NULL), -1);
    assert_null(att_testpki_level_status(ATT_TESTPKI_LEVELS));
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        struct att_testpki_opts o = {.now = NOW,
                                     .comp_svn = att_testpki_status_svn(level_names[i])};
        struct att_testpki pki;
        build(&o, &pki);
        char status[48];
        char qe_level[48];
        unsigned mask = check_all(&pki, NOW, status, qe_level);
        assert_int_equal(mask, i == 0 ? 0 : F_TCB_LEVEL);
        assert_string_equal(status, i == 7 ? "none" : level_names[i]);
        assert_string_equal(qe_level, "UpToDate");
        att_testpki_free(&pki);
    }
    /* pcesvn alone can drop below every level. */
    struct att_testpki_opts o = {.now = NOW, .pcesvn = 12};
    struct att_testpki pki;
    build(&o, &pki);
    char status[48];
    char qe_level[48];
    check_all(&pki, NOW, status, qe_level);
    assert_string_equal(status, "none");
    assert_int_equal(rd16(pki.quote + 10), 12);
    att_testpki_free(&pki);
    /* QE levels. */
    static const struct {
        int svn;
        const char *level;
    } qe[] = {{8, "UpToDate"}, {6, "OutOfDate"}, {5, "Revoked"}, {1, "none"}};
    for (size_t i = 0; i < sizeof(qe) / sizeof(qe[0]); i++) {
        struct att_testpki_opts oq = {.now = NOW, .qe_isvsvn = qe[i].svn};
        build(&oq, &pki);
        check_all(&pki, NOW, status, qe_level);
        assert_string_equal(qe_level, qe[i].level);
        assert_int_equal(rd16(pki.quote + 8), qe[i].svn);
        att_testpki_free(&pki);
    }
}

/* Each corruption changes only its own bytes: rebuild-independent checks on the output. */
static void test_corruptions_in_detail(void **state)
{
    (void)state;
    struct att_testpki pki;
    struct view v;
    /* The QE report data is flipped and then signed: the signature still verifies. */
    struct att_testpki_opts o = {.now = NOW, .corrupt_qe_report_data = true};
    build(&o, &pki);
    view_open(&pki, &v);
    assert_true(verify_rs(X509_get0_pubkey(v.leaf), v.qe_report, 384, v.qe_sig));
    view_close(&v);
    att_testpki_free(&pki);
    /* A corrupted quote signature: flipping the bit back makes it verify. */
    o = (struct att_testpki_opts){.now = NOW, .corrupt_quote_sig = true};
    build(&o, &pki);
    pki.quote[ATT_TESTPKI_OFF_QUOTE_SIG + 63] ^= 1;
    expect_mask(&pki, NOW, 0, "quote signature bit restored");
    att_testpki_free(&pki);
    o = (struct att_testpki_opts){.now = NOW, .corrupt_qe_report_sig = true};
    build(&o, &pki);
    pki.quote[ATT_TESTPKI_OFF_QE_REPORT_SIG + 63] ^= 1;
    expect_mask(&pki, NOW, 0, "QE report signature bit restored");
    att_testpki_free(&pki);
    /* A valid quote breaks when a signed byte changes (MRENCLAVE, as a black-box test does). */
    o = (struct att_testpki_opts){.now = NOW};
    build(&o, &pki);
    pki.quote[0x70] ^= 1;
    expect_mask(&pki, NOW, F_QUOTE_SIG, "MRENCLAVE flipped");
    att_testpki_free(&pki);
    /* The untrusted signer shares the root's name but not its key. */
    o = (struct att_testpki_opts){.now = NOW, .tcb_info_untrusted_signer = true};
    build(&o, &pki);
    STACK_OF(X509) *chain = pem_certs(pki.tcb_issuer_pem, strlen(pki.tcb_issuer_pem));
    assert_int_equal(sk_X509_num(chain), 2);
    X509 *rogue_root = sk_X509_value(chain, 1);
    assert_int_equal(
        X509_NAME_cmp(X509_get_subject_name(rogue_root), X509_get_subject_name(pki.root)), 0);
    assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(rogue_root), X509_get0_pubkey(pki.root)), 1);
    X509_CRL *none[1] = {pki.root_crl};
    assert_int_not_equal(verify_chain(pki.root, sk_X509_value(chain, 0), chain, none, 1, NOW),
                         X509_V_OK);
    sk_X509_pop_free(chain, X509_free);
    /* The QE identity chain is the real signer's. */
    chain = pem_certs(pki.qe_id_issuer_pem, strlen(pki.qe_id_issuer_pem));
    assert_int_equal(X509_cmp(sk_X509_value(chain, 0), pki.tcb_signer), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 1), pki.root), 0);
    sk_X509_pop_free(chain, X509_free);
    att_testpki_free(&pki);
}

static bool crl_lists(X509_CRL *crl, X509 *cert)
{
    X509_REVOKED *rev = NULL;
    return X509_CRL_get0_by_serial(crl, &rev, X509_get_serialNumber(cert)) == 1;
}

static void test_revocation(void **state)
{
    (void)state;
    struct att_testpki pki;
    struct view v;
    X509_CRL *crls[2];

    struct att_testpki_opts o = {.now = NOW, .revoke_pck = true};
    build(&o, &pki);
    view_open(&pki, &v);
    assert_int_equal(n_revoked(v.pck_crl), 1);
    assert_true(crl_lists(v.pck_crl, v.leaf));
    assert_int_equal(n_revoked(v.root_crl), 0);
    crls[0] = v.root_crl;
    crls[1] = v.pck_crl;
    assert_int_equal(verify_chain(v.root, v.leaf, v.chain, crls, 2, NOW), X509_V_ERR_CERT_REVOKED);
    view_close(&v);
    att_testpki_free(&pki);

    o = (struct att_testpki_opts){.now = NOW, .revoke_pck_ca = true};
    build(&o, &pki);
    view_open(&pki, &v);
    assert_int_equal(n_revoked(v.root_crl), 1);
    assert_true(crl_lists(v.root_crl, pki.pck_ca));
    assert_int_equal(n_revoked(v.pck_crl), 0);
    crls[0] = v.root_crl;
    crls[1] = v.pck_crl;
    assert_int_equal(verify_chain(v.root, v.leaf, v.chain, crls, 2, NOW), X509_V_ERR_CERT_REVOKED);
    view_close(&v);
    att_testpki_free(&pki);

    o = (struct att_testpki_opts){.now = NOW, .revoke_pck_ca = true, .revoke_tcb_signer = true};
    build(&o, &pki);
    assert_int_equal(n_revoked(pki.root_crl), 2);
    assert_true(crl_lists(pki.root_crl, pki.pck_ca));
    assert_true(crl_lists(pki.root_crl, pki.tcb_signer));
    assert_int_equal(X509_CRL_verify(pki.root_crl, X509_get0_pubkey(pki.root)), 1);
    att_testpki_free(&pki);
}

static void test_dates(void **state)
{
    (void)state;
    struct att_testpki_opts o = {.now = NOW,
                                 .tcb_info_date_shift = -40 * DAY,
                                 .qe_identity_date_shift = 3600,
                                 .pck_crl_date_shift = -40 * DAY};
    struct att_testpki pki;
    build(&o, &pki);
    json_t *ti = json_loads(pki.tcb_info, 0, NULL);
    json_t *qi = json_loads(pki.qe_identity, 0, NULL);
    assert_non_null(ti);
    assert_non_null(qi);
    assert_int_equal(parse_date(jstr(ti, "issueDate")), NOW - 41 * DAY);
    assert_int_equal(parse_date(jstr(ti, "nextUpdate")), NOW - 11 * DAY);
    assert_int_equal(parse_date(jstr(qi, "issueDate")), NOW - DAY + 3600);
    assert_int_equal(parse_date(jstr(qi, "nextUpdate")), NOW + 29 * DAY + 3600);
    json_decref(ti);
    json_decref(qi);
    /* The PCK CRL's own window moved; its signature is still good. */
    assert_int_equal(X509_CRL_verify(pki.pck_crl, X509_get0_pubkey(pki.pck_ca)), 1);
    int days = 0;
    int secs = 0;
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)NOW);
    assert_int_equal(ASN1_TIME_diff(&days, &secs, t, X509_CRL_get0_nextUpdate(pki.pck_crl)), 1);
    assert_int_equal(days, -11);
    ASN1_TIME_free(t);
    X509_CRL *crls[2] = {pki.root_crl, pki.pck_crl};
    STACK_OF(X509) *un = sk_X509_new_null();
    assert_true(sk_X509_push(un, pki.pck_ca) > 0);
    assert_int_equal(verify_chain(pki.root, pki.pck_leaf, un, crls, 2, NOW),
                     X509_V_ERR_CRL_HAS_EXPIRED);
    sk_X509_free(un);
    att_testpki_free(&pki);
}

static void test_enclave_fields(void **state)
{
    (void)state;
    uint8_t mre[32];
    uint8_t mrs[32];
    uint8_t rd[64];
    uint8_t cid[64];
    uint8_t cpu[16];
    for (size_t i = 0; i < 64; i++) {
        rd[i] = (uint8_t)(0x80 + i);
        cid[i] = (uint8_t)(0x40 + i);
        if (i < 32) {
            mre[i] = (uint8_t)i;
            mrs[i] = (uint8_t)(0xFF - i);
        }
        if (i < 16) {
            cpu[i] = (uint8_t)(0xC0 + i);
        }
    }
    struct att_testpki_opts o = {.now = NOW,
                                 .mr_enclave = mre,
                                 .mr_signer = mrs,
                                 .report_data = rd,
                                 .config_id = cid,
                                 .cpu_svn = cpu,
                                 .isv_prod_id = 0x1234,
                                 .isv_svn = 0x0102,
                                 .config_svn = 9,
                                 .debug = true};
    struct att_testpki pki;
    build(&o, &pki);
    const uint8_t *b = pki.quote + ATT_TESTPKI_OFF_BODY;
    assert_memory_equal(b + ATT_TESTPKI_B_MRENCLAVE, mre, 32);
    assert_memory_equal(b + ATT_TESTPKI_B_MRSIGNER, mrs, 32);
    assert_memory_equal(b + ATT_TESTPKI_B_REPORTDATA, rd, 64);
    assert_memory_equal(b + ATT_TESTPKI_B_CONFIGID, cid, 64);
    assert_memory_equal(b + ATT_TESTPKI_B_CPUSVN, cpu, 16);
    assert_int_equal(rd16(b + ATT_TESTPKI_B_ISVPRODID), 0x1234);
    assert_int_equal(rd16(b + ATT_TESTPKI_B_ISVSVN), 0x0102);
    assert_int_equal(rd16(b + ATT_TESTPKI_B_CONFIGSVN), 9);
    assert_int_equal(rd64(b + ATT_TESTPKI_B_ATTRIBUTES), 0x7);
    /* MRENCLAVE sits at Q+0x70 (docs/reference/intel-quotes.md §1.2), REPORTDATA at Q+0x170. */
    assert_memory_equal(pki.quote + 0x70, mre, 32);
    assert_memory_equal(pki.quote + 0x170, rd, 64);
    struct pck_values pv;
    pck_values(pki.pck_leaf, &pv);
    assert_memory_equal(pv.cpusvn, cpu, 16);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(pv.comp[i], 10);
    }
    expect_mask(&pki, NOW, F_DEBUG, "enclave fields");
    att_testpki_free(&pki);
}

static void test_pck_knobs(void **state)
{
    (void)state;
    struct att_testpki_opts o = {.now = NOW,
                                 .comp_svn = 200,
                                 .comp_override_index = 5,
                                 .comp_override_svn = 255,
                                 .pcesvn = 300,
                                 .fmspc = OTHER_FMSPC,
                                 .tcb_info_fmspc_lowercase = true,
                                 .sgx_type = 2};
    struct att_testpki pki;
    build(&o, &pki);
    struct pck_values pv;
    pck_values(pki.pck_leaf, &pv);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(pv.comp[i], i == 4 ? 255 : 200);
    }
    assert_int_equal(pv.pcesvn, 300);
    assert_int_equal(pv.sgx_type, 2);
    assert_memory_equal(pv.fmspc, OTHER_FMSPC, 6);
    assert_non_null(strstr(pki.tcb_info, "\"fmspc\":\"00a067110000\""));
    assert_int_equal(rd16(pki.quote + 10), 300);
    att_testpki_free(&pki);
    /* Out of range knobs fail cleanly. */
    static const struct att_testpki_opts bad[] = {
        {.comp_override_index = 17},
        {.comp_svn = 256},
        {.comp_override_index = 1, .comp_override_svn = -1},
        {.sgx_type = 3},
        {.pcesvn = 70000},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&pki, 0xA5, sizeof(pki));
        assert_int_equal(att_testpki_build(&bad[i], &pki), -1);
        assert_null(pki.quote);
        assert_null(pki.root);
        att_testpki_free(&pki);
    }
}

static void test_certification_data_variants(void **state)
{
    (void)state;
    struct att_testpki_opts o = {.now = NOW, .chain_root_first = true, .no_trailing_nul = true};
    struct att_testpki pki;
    build(&o, &pki);
    struct view v;
    view_open(&pki, &v);
    char cn[128];
    cn_of(X509_get_subject_name(sk_X509_value(v.chain, 0)), cn, sizeof(cn));
    assert_string_equal(cn, "Test SGX Root CA");
    assert_ptr_equal(sk_X509_value(v.chain, 2), v.leaf);
    assert_int_equal(v.cert[v.cert_len - 1], '\n');
    assert_int_equal(v.cert_len, strlen(pki.pck_chain_pem));
    assert_true(strncmp(v.cert + v.cert_len - 26, "-----END CERTIFICATE-----\n", 26) == 0);
    view_close(&v);
    att_testpki_free(&pki);

    o = (struct att_testpki_opts){.now = NOW, .pck_ca_platform = true};
    build(&o, &pki);
    view_open(&pki, &v);
    cn_of(X509_get_subject_name(sk_X509_value(v.chain, 1)), cn, sizeof(cn));
    assert_string_equal(cn, "Test SGX PCK Platform CA");
    cn_of(X509_CRL_get_issuer(v.pck_crl), cn, sizeof(cn));
    assert_string_equal(cn, "Test SGX PCK Platform CA");
    view_close(&v);
    att_testpki_free(&pki);
}

/* The leaf of a real quote's PEM chain. */
static X509 *real_leaf(const char *fixture)
{
    struct att_buf q;
    fixture_load(fixture, &q);
    size_t auth = rd16(q.data + ATT_TESTPKI_OFF_QE_AUTH_LEN);
    size_t off = ATT_TESTPKI_OFF_QE_AUTH_LEN + 2 + auth;
    assert_int_equal(rd16(q.data + off), 5);
    size_t len = rd32(q.data + off + 2);
    assert_true(off + 6 + len <= q.len);
    STACK_OF(X509) *chain = pem_certs((const char *)q.data + off + 6, len);
    assert_true(sk_X509_num(chain) >= 1);
    X509 *leaf = sk_X509_shift(chain);
    sk_X509_pop_free(chain, X509_free);
    att_buf_cleanup(&q);
    return leaf;
}

static void expect_same_shape(X509 *real, X509 *mine)
{
    struct ext_items a;
    struct ext_items b;
    sgx_ext_items(real, &a);
    sgx_ext_items(mine, &b);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        assert_string_equal(a.it[i].oid, b.it[i].oid);
        assert_int_equal(a.it[i].tag, b.it[i].tag);
        if (a.it[i].tag != V_ASN1_INTEGER && a.it[i].tag != V_ASN1_SEQUENCE) {
            /* OCTET STRING, ENUMERATED and BOOLEAN sizes agree too. */
            assert_int_equal(a.it[i].content_len, b.it[i].content_len);
        }
    }
    /* The same key usage and basic constraints, and the extension is not critical. */
    assert_int_equal(X509_get_key_usage(real), X509_get_key_usage(mine));
    assert_int_equal(X509_check_ca(real), X509_check_ca(mine));
}

static void test_extension_matches_real_pck(void **state)
{
    (void)state;
    X509 *real = real_leaf("dcap/sgx/sgx01_dcapqvl_quote.bin");
    struct att_testpki_opts o = {.now = NOW};
    struct att_testpki pki;
    build(&o, &pki);
    expect_same_shape(real, pki.pck_leaf);
    struct ext_items e;
    sgx_ext_items(pki.pck_leaf, &e);
    assert_int_equal(e.n, 1 + 1 + 18 + 3); /* .1, .2, .2.1-.2.18, .3, .4, .5 */
    /* Same certificate-level extension list (by NID / OID) as the real PCK. */
    assert_int_equal(X509_get_ext_count(real), X509_get_ext_count(pki.pck_leaf));
    for (int i = 0; i < X509_get_ext_count(real); i++) {
        char x[64];
        char y[64];
        OBJ_obj2txt(x, sizeof(x), X509_EXTENSION_get_object(X509_get_ext(real, i)), 1);
        OBJ_obj2txt(y, sizeof(y), X509_EXTENSION_get_object(X509_get_ext(pki.pck_leaf, i)), 1);
        assert_string_equal(x, y);
        assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(real, i)),
                         X509_EXTENSION_get_critical(X509_get_ext(pki.pck_leaf, i)));
    }
    att_testpki_free(&pki);
    X509_free(real);

    /* Platform CA leaves carry .6 and .7 as well (sgx02). */
    real = real_leaf("dcap/sgx/sgx02_automata_debug_quote.hex");
    o = (struct att_testpki_opts){.now = NOW, .pck_ca_platform = true, .sgx_type = 1};
    build(&o, &pki);
    expect_same_shape(real, pki.pck_leaf);
    sgx_ext_items(pki.pck_leaf, &e);
    assert_int_equal(e.n, 1 + 1 + 18 + 3 + 1 + 1 + 3);
    att_testpki_free(&pki);
    X509_free(real);
}

static void test_wall_clock_default(void **state)
{
    (void)state;
    struct att_testpki pki;
    int64_t before = (int64_t)time(NULL);
    build(NULL, &pki);
    int64_t after = (int64_t)time(NULL);
    assert_true(pki.now >= before && pki.now <= after);
    expect_mask(&pki, pki.now, 0, "wall clock defaults");
    att_testpki_free(&pki);
    att_testpki_free(NULL);
    att_testpki_free(&pki); /* zeroed: a no-op */
}

/* ================================================================================
 * Intel TDX (tdx = 4, 5): docs/reference/intel-quotes.md §2, docs/reference/intel-collateral.md
 * §4.2, §4.3, docs/reference/dcap-verification.md §5.2, §5.3, §5.6
 * ================================================================================ */

static void tdx_build(int version, const struct att_testpki_opts *base, struct att_testpki *pki)
{
    struct att_testpki_opts o;
    if (base != NULL) {
        o = *base;
    } else {
        memset(&o, 0, sizeof(o));
    }
    o.now = NOW;
    o.tdx = version;
    build(&o, pki);
}

/* The fixed layouts of src/demo/testpki.h, as the tests flip bytes at them. */
struct tdx_layout {
    const char *name;
    int version;
    int body_type; /* the knob */
    size_t body, body_len, signed_len, sig_len, quote_sig, att_key, cert_type, cert_len;
    size_t qe_report, qe_report_sig, qe_auth_len, pck_cert_type, pck_cert_len, pck_cert_data;
};

static const struct tdx_layout TDX_LAYOUTS[] = {
    {"v4", 4, 0, ATT_TESTPKI_V4_OFF_BODY, ATT_TESTPKI_TD10_BODY_LEN, ATT_TESTPKI_V4_SIGNED_LEN,
     ATT_TESTPKI_V4_OFF_SIG_LEN, ATT_TESTPKI_V4_OFF_QUOTE_SIG, ATT_TESTPKI_V4_OFF_ATT_KEY,
     ATT_TESTPKI_V4_OFF_CERT_TYPE, ATT_TESTPKI_V4_OFF_CERT_LEN, ATT_TESTPKI_V4_OFF_QE_REPORT,
     ATT_TESTPKI_V4_OFF_QE_REPORT_SIG, ATT_TESTPKI_V4_OFF_QE_AUTH_LEN,
     ATT_TESTPKI_V4_OFF_PCK_CERT_TYPE, ATT_TESTPKI_V4_OFF_PCK_CERT_LEN,
     ATT_TESTPKI_V4_OFF_PCK_CERT_DATA},
    {"v5", 5, 0, ATT_TESTPKI_V5_OFF_BODY, ATT_TESTPKI_TD15_BODY_LEN, ATT_TESTPKI_V5_SIGNED_LEN,
     ATT_TESTPKI_V5_OFF_SIG_LEN, ATT_TESTPKI_V5_OFF_QUOTE_SIG, ATT_TESTPKI_V5_OFF_ATT_KEY,
     ATT_TESTPKI_V5_OFF_CERT_TYPE, ATT_TESTPKI_V5_OFF_CERT_LEN, ATT_TESTPKI_V5_OFF_QE_REPORT,
     ATT_TESTPKI_V5_OFF_QE_REPORT_SIG, ATT_TESTPKI_V5_OFF_QE_AUTH_LEN,
     ATT_TESTPKI_V5_OFF_PCK_CERT_TYPE, ATT_TESTPKI_V5_OFF_PCK_CERT_LEN,
     ATT_TESTPKI_V5_OFF_PCK_CERT_DATA},
    /* v5 with TD report 1.0: v4's signature data, 6 bytes later. */
    {"v5 TD 1.0", 5, 2, ATT_TESTPKI_V5_OFF_BODY, ATT_TESTPKI_TD10_BODY_LEN,
     ATT_TESTPKI_V5_TD10_OFF_SIG_LEN, ATT_TESTPKI_V5_TD10_OFF_SIG_LEN,
     ATT_TESTPKI_V4_OFF_QUOTE_SIG + 6, ATT_TESTPKI_V4_OFF_ATT_KEY + 6,
     ATT_TESTPKI_V4_OFF_CERT_TYPE + 6, ATT_TESTPKI_V4_OFF_CERT_LEN + 6,
     ATT_TESTPKI_V4_OFF_QE_REPORT + 6, ATT_TESTPKI_V4_OFF_QE_REPORT_SIG + 6,
     ATT_TESTPKI_V4_OFF_QE_AUTH_LEN + 6, ATT_TESTPKI_V4_OFF_PCK_CERT_TYPE + 6,
     ATT_TESTPKI_V4_OFF_PCK_CERT_LEN + 6, ATT_TESTPKI_V4_OFF_PCK_CERT_DATA + 6},
};

static void test_tdx_default_is_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(TDX_LAYOUTS) / sizeof(TDX_LAYOUTS[0]); i++) {
        struct att_testpki_opts o = {.tdx_body_type = TDX_LAYOUTS[i].body_type};
        struct att_testpki pki;
        tdx_build(TDX_LAYOUTS[i].version, &o, &pki);
        char status[48];
        char qe_level[48];
        char module[48];
        unsigned mask = check_all_ex(&pki, NOW, status, qe_level, module);
        if (mask != 0) {
            char g[512];
            describe(mask, g, sizeof(g));
            fail_msg("%s: failed checks [%s]", TDX_LAYOUTS[i].name, g);
        }
        assert_string_equal(status, "UpToDate");
        assert_string_equal(qe_level, "UpToDate");
        assert_string_equal(module, "UpToDate");
        assert_string_equal(pki.expected_status, "UpToDate");
        assert_int_equal(pki.quote_version, TDX_LAYOUTS[i].version);
        expect_mask(&pki, NOW - DAY + 60, 0, "TDX at the window start");
        expect_mask(&pki, NOW + 30 * DAY,
                    F_TCB_DATES | F_QEID_DATES | F_PCK_CHAIN | F_TCB_CHAIN | F_QEID_CHAIN,
                    "TDX after nextUpdate");
        att_testpki_free(&pki);
    }
}

/* The quote, proved piece by piece with OpenSSL at the fixed offsets of src/demo/testpki.h. */
static void test_tdx_quote_layout(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(TDX_LAYOUTS) / sizeof(TDX_LAYOUTS[0]); i++) {
        const struct tdx_layout *l = &TDX_LAYOUTS[i];
        struct att_testpki_opts o = {.tdx_body_type = l->body_type};
        struct att_testpki pki;
        tdx_build(l->version, &o, &pki);
        const uint8_t *q = pki.quote;
        size_t n = pki.quote_len;
        /* The reported layout is the fixed one. */
        const struct att_testpki_offsets *off = &pki.off;
        const size_t want[14] = {
            l->body,        l->body_len,      l->signed_len,   l->sig_len,      l->quote_sig,
            l->att_key,     l->cert_type,     l->cert_len,     l->qe_report,    l->qe_report_sig,
            l->qe_auth_len, l->pck_cert_type, l->pck_cert_len, l->pck_cert_data};
        const size_t got[14] = {off->body,          off->body_len,     off->signed_len,
                                off->sig_len,       off->quote_sig,    off->att_key,
                                off->cert_type,     off->cert_len,     off->qe_report,
                                off->qe_report_sig, off->qe_auth_len,  off->pck_cert_type,
                                off->pck_cert_len,  off->pck_cert_data};
        for (size_t k = 0; k < 14; k++) {
            if (want[k] != got[k]) {
                fail_msg("%s: offset %zu is 0x%zx, expected 0x%zx", l->name, k, got[k], want[k]);
            }
        }
        /* Header (§2.1). */
        assert_int_equal(rd16(q), l->version);
        assert_int_equal(rd16(q + 2), 2);
        assert_int_equal(rd32(q + 4), 0x81);
        assert_int_equal(rd32(q + 8), 0);
        assert_memory_equal(q + 12, INTEL_VENDOR, 16);
        if (l->version == 5) {
            assert_int_equal(rd16(q + ATT_TESTPKI_V5_OFF_BODY_TYPE), l->body_type ? 2 : 3);
            assert_int_equal(rd32(q + ATT_TESTPKI_V5_OFF_BODY_SIZE), l->body_len);
            assert_int_equal(l->body + l->body_len, l->signed_len);
        }
        /* Signature data (§2.5): sizes end exactly. */
        assert_int_equal(l->sig_len, l->signed_len);
        assert_int_equal(l->quote_sig + rd32(q + l->sig_len), n);
        assert_int_equal(rd16(q + l->cert_type), 6);
        assert_int_equal(l->qe_report + rd32(q + l->cert_len), n);
        assert_int_equal(rd16(q + l->qe_auth_len), ATT_TESTPKI_QE_AUTH_LEN);
        assert_int_equal(l->qe_auth_len + 2 + ATT_TESTPKI_QE_AUTH_LEN, l->pck_cert_type);
        assert_int_equal(rd16(q + l->pck_cert_type), 5);
        assert_int_equal(l->pck_cert_data + rd32(q + l->pck_cert_len), n);
        assert_int_equal(q[n - 1], '\0');
        assert_memory_equal(q + l->pck_cert_data, pki.pck_chain_pem, n - 1 - l->pck_cert_data);
        /* Quote signature: the attestation key over header (|| type || size) || body, and over
         * nothing shorter or longer. */
        EVP_PKEY *att = key_from_xy(q + l->att_key);
        assert_int_equal(EVP_PKEY_eq(att, pki.attest_key), 1);
        assert_true(verify_rs(att, q, l->signed_len, q + l->quote_sig));
        assert_false(verify_rs(att, q, l->signed_len - 1, q + l->quote_sig));
        assert_false(verify_rs(att, q, l->signed_len + 4, q + l->quote_sig));
        if (l->version == 5) {
            /* The 6-byte body descriptor is signed: header || body alone does not verify. */
            uint8_t *hb = malloc(48 + l->body_len);
            assert_non_null(hb);
            memcpy(hb, q, 48);
            memcpy(hb + 48, q + l->body, l->body_len);
            assert_false(verify_rs(att, hb, 48 + l->body_len, q + l->quote_sig));
            free(hb);
        }
        EVP_PKEY_free(att);
        /* QE report signed by the PCK leaf key. */
        assert_true(
            verify_rs(X509_get0_pubkey(pki.pck_leaf), q + l->qe_report, 384, q + l->qe_report_sig));
        /* QE REPORTDATA = SHA-256(attestation key || auth data) || 32 zero bytes. */
        uint8_t in[64 + ATT_TESTPKI_QE_AUTH_LEN];
        uint8_t rd[64] = {0};
        unsigned int md_len = 0;
        memcpy(in, q + l->att_key, 64);
        memcpy(in + 64, q + l->qe_auth_len + 2, ATT_TESTPKI_QE_AUTH_LEN);
        assert_int_equal(EVP_Digest(in, sizeof(in), rd, &md_len, EVP_sha256(), NULL), 1);
        assert_memory_equal(q + l->qe_report + ATT_TESTPKI_B_REPORTDATA, rd, 64);
        /* TCB info and QE identity: signed by the TCB signing key, the TDX ones. */
        EVP_PKEY *signer = X509_get0_pubkey(pki.tcb_signer);
        assert_true(verify_rs(signer, pki.tcb_info, strlen(pki.tcb_info), pki.tcb_info_sig));
        assert_true(
            verify_rs(signer, pki.qe_identity, strlen(pki.qe_identity), pki.qe_identity_sig));
        json_t *ti = json_loads(pki.tcb_info, 0, NULL);
        json_t *qi = json_loads(pki.qe_identity, 0, NULL);
        assert_non_null(ti);
        assert_non_null(qi);
        assert_string_equal(jstr(ti, "id"), "TDX");
        assert_string_equal(jstr(qi, "id"), "TD_QE");
        assert_int_equal(jint(qi, "isvprodid"), 2);
        assert_int_equal(rd16(q + l->qe_report + ATT_TESTPKI_B_ISVPRODID), 2);
        json_decref(ti);
        json_decref(qi);
        att_testpki_free(&pki);
    }
}

/* Keys of a JSON object in document order, comma-separated. */
static void keys_of(const json_t *o, char *out, size_t n)
{
    const char *key;
    const json_t *val;
    size_t off = 0;
    out[0] = '\0';
    assert_true(json_is_object(o));
    json_t *obj; /* jansson iterates non-const objects; this one is only read */
    memcpy(&obj, &o, sizeof(obj));
    json_object_foreach(obj, key, val)
    {
        (void)val;
        int k = snprintf(out + off, n - off, "%s%s", off ? "," : "", key);
        assert_true(k > 0 && (size_t)k < n - off);
        off += (size_t)k;
    }
}

static void expect_same_keys(const json_t *real, const json_t *mine, const char *what)
{
    char a[512];
    char b[512];
    keys_of(real, a, sizeof(a));
    keys_of(mine, b, sizeof(b));
    if (strcmp(a, b) != 0) {
        fail_msg("%s: members [%s], Intel's [%s]", what, b, a);
    }
}

static json_t *fixture_json(const char *rel, const char *member)
{
    struct att_buf raw;
    fixture_load(rel, &raw);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)raw.data, raw.len, 0, &jerr);
    att_buf_cleanup(&raw);
    if (doc == NULL) {
        fail_msg("%s: %s", rel, jerr.text);
    }
    json_t *o = json_incref(json_object_get(doc, member));
    json_decref(doc);
    assert_non_null(o);
    return o;
}

/* Component i of the levels' "sgxtcbcomponents" / "tdxtcbcomponents" has the same members,
 * category and type as Intel's. */
static void expect_same_components(const json_t *real_tcb, const json_t *mine_tcb, const char *key)
{
    const json_t *ra = json_object_get(real_tcb, key);
    const json_t *ma = json_object_get(mine_tcb, key);
    assert_int_equal(json_array_size(ra), 16);
    assert_int_equal(json_array_size(ma), 16);
    for (size_t c = 0; c < 16; c++) {
        const json_t *r = json_array_get(ra, c);
        const json_t *m = json_array_get(ma, c);
        expect_same_keys(r, m, key);
        static const char *const attrs[2] = {"category", "type"};
        for (size_t k = 0; k < 2; k++) {
            const char *rv = json_string_value(json_object_get(r, attrs[k]));
            const char *mv = json_string_value(json_object_get(m, attrs[k]));
            if ((rv == NULL) != (mv == NULL) || (rv != NULL && strcmp(rv, mv) != 0)) {
                fail_msg("%s[%zu].%s: \"%s\", Intel's \"%s\"", key, c, attrs[k], mv ? mv : "(none)",
                         rv ? rv : "(none)");
            }
        }
    }
}

static void test_tdx_default_contents(void **state)
{
    (void)state;
    struct att_testpki pki;
    struct att_testpki sgx;
    static const uint8_t zero[64];
    build(&(struct att_testpki_opts){.now = NOW}, &sgx);
    for (int version = 4; version <= 5; version++) {
        tdx_build(version, NULL, &pki);
        struct view v;
        view_open(&pki, &v);
        const uint8_t *t = v.body;
        /* TEE_TCB_SVN {5, 1, 10, 0...}. */
        static const uint8_t svn[16] = {5, 1, 10};
        assert_memory_equal(t + ATT_TESTPKI_T_TEE_TCB_SVN, svn, 16);
        assert_memory_equal(pki.tee_tcb_svn, svn, 16);
        uint8_t fill[48];
        memset(fill, 0x5E, sizeof(fill));
        assert_memory_equal(t + ATT_TESTPKI_T_MRSEAM, fill, 48);
        assert_memory_equal(t + ATT_TESTPKI_T_MRSIGNERSEAM, zero, 48);
        assert_memory_equal(t + ATT_TESTPKI_T_SEAMATTRIBUTES, zero, 8);
        assert_int_equal(rd64(t + ATT_TESTPKI_T_TDATTRIBUTES), ATT_TESTPKI_TD_ATTRIBUTES);
        assert_int_equal(rd64(t + ATT_TESTPKI_T_XFAM), ATT_TESTPKI_TD_XFAM);
        memset(fill, 0x7D, sizeof(fill));
        assert_memory_equal(t + ATT_TESTPKI_T_MRTD, fill, 48);
        assert_memory_equal(t + ATT_TESTPKI_T_MRCONFIGID, zero, 48);
        assert_memory_equal(t + ATT_TESTPKI_T_MROWNER, zero, 48);
        assert_memory_equal(t + ATT_TESTPKI_T_MROWNERCONFIG, zero, 48);
        for (int r = 0; r < 4; r++) {
            memset(fill, 0xA0 + r, sizeof(fill));
            assert_memory_equal(t + ATT_TESTPKI_T_RTMR(r), fill, 48);
        }
        assert_memory_equal(t + ATT_TESTPKI_T_REPORTDATA, zero, 64);
        if (version == 5) {
            assert_int_equal(v.body_len, ATT_TESTPKI_TD15_BODY_LEN);
            assert_memory_equal(t + ATT_TESTPKI_T_TEE_TCB_SVN2, svn, 16);
            assert_memory_equal(t + ATT_TESTPKI_T_MRSERVICETD, zero, 48);
        } else {
            assert_int_equal(v.body_len, ATT_TESTPKI_TD10_BODY_LEN);
        }
        /* QE-ID in user_data, then 4 zero bytes. */
        assert_memory_not_equal(v.q + 0x1C, zero, 16);
        assert_memory_equal(v.q + 0x2C, zero, 4);
        /* The TD QE: prodid 2, isvsvn 8, another signer than the SGX QE. */
        assert_int_equal(rd16(v.qe_report + ATT_TESTPKI_B_ISVPRODID), 2);
        assert_int_equal(rd16(v.qe_report + ATT_TESTPKI_B_ISVSVN), ATT_TESTPKI_QE_ISVSVN);
        assert_int_equal(rd64(v.qe_report + ATT_TESTPKI_B_ATTRIBUTES), 0x15);
        assert_memory_equal(v.qe_report + ATT_TESTPKI_B_MRSIGNER, pki.qe_mrsigner, 32);
        assert_memory_not_equal(pki.qe_mrsigner, sgx.qe_mrsigner, 32);
        /* The PCK: the SGX components and pcesvn of the UpToDate level, a TDX FMSPC. */
        struct pck_values pv;
        pck_values(v.leaf, &pv);
        static const uint8_t fmspc[6] = {0x00, 0x80, 0x6F, 0x05, 0x00, 0x00};
        assert_memory_equal(pv.fmspc, fmspc, 6);
        assert_memory_equal(pki.fmspc, fmspc, 6);
        for (int c = 0; c < 16; c++) {
            assert_int_equal(pv.comp[c], ATT_TESTPKI_COMP_SVN);
        }
        assert_memory_equal(v.qe_report + ATT_TESTPKI_B_CPUSVN, pv.cpusvn, 16);
        view_close(&v);

        /* TCB info: compact (spaces only inside "type" strings), Intel's members in order. */
        assert_null(strchr(pki.tcb_info, '\n'));
        assert_null(strstr(pki.tcb_info, "\": "));
        assert_null(strstr(pki.tcb_info, ", "));
        static const char head[] =
            "{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"2025-12-31T00:00:00Z\","
            "\"nextUpdate\":\"2026-01-30T00:00:00Z\",\"fmspc\":\"00806F050000\","
            "\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,"
            "\"tdxModule\":{\"mrsigner\":\"";
        assert_true(strncmp(pki.tcb_info, head, sizeof(head) - 1) == 0);
        json_t *ti = json_loads(pki.tcb_info, 0, NULL);
        json_t *real =
            fixture_json("dcap/tdx/raw_tcbinfo_tdx_00806f050000_2025-10.json", "tcbInfo");
        assert_non_null(ti);
        expect_same_keys(real, ti, "tcbInfo");
        expect_same_keys(json_object_get(real, "tdxModule"), json_object_get(ti, "tdxModule"),
                         "tdxModule");
        const json_t *tm = json_object_get(ti, "tdxModule");
        char zeros96[97];
        memset(zeros96, '0', 96);
        zeros96[96] = '\0';
        assert_string_equal(jstr(tm, "mrsigner"), zeros96);
        assert_string_equal(jstr(tm, "attributes"), "0000000000000000");
        assert_string_equal(jstr(tm, "attributesMask"), "FFFFFFFFFFFFFFFF");
        /* Module identities: TDX_03 then TDX_01, levels 5 / 3 / 2. */
        const json_t *ids = json_object_get(ti, "tdxModuleIdentities");
        const json_t *real_ids = json_object_get(real, "tdxModuleIdentities");
        assert_int_equal(json_array_size(ids), 2);
        static const char *const id_names[2] = {"TDX_03", "TDX_01"};
        static const char *const mod_st[3] = {"UpToDate", "OutOfDate", "Revoked"};
        for (size_t k = 0; k < 2; k++) {
            const json_t *id = json_array_get(ids, k);
            expect_same_keys(json_array_get(real_ids, k), id, "module identity");
            assert_string_equal(jstr(id, "id"), id_names[k]);
            assert_string_equal(jstr(id, "mrsigner"), zeros96);
            assert_string_equal(jstr(id, "attributes"), "0000000000000000");
            assert_string_equal(jstr(id, "attributesMask"), "FFFFFFFFFFFFFFFF");
            const json_t *lv = json_object_get(id, "tcbLevels");
            assert_int_equal(json_array_size(lv), ATT_TESTPKI_MODULE_LEVELS);
            for (size_t m = 0; m < ATT_TESTPKI_MODULE_LEVELS; m++) {
                const json_t *e = json_array_get(lv, m);
                assert_string_equal(jstr(e, "tcbStatus"), mod_st[m]);
                assert_int_equal(jint(json_object_get(e, "tcb"), "isvsvn"),
                                 att_testpki_module_status_svn(mod_st[m]));
                parse_date(jstr(e, "tcbDate"));
                const json_t *real_e =
                    json_array_get(json_object_get(json_array_get(real_ids, 1), "tcbLevels"), 0);
                expect_same_keys(json_object_get(real_e, "tcb"), json_object_get(e, "tcb"),
                                 "module level tcb");
                if (json_object_get(e, "advisoryIDs") == NULL) {
                    expect_same_keys(real_e, e, "module level");
                }
            }
            assert_string_equal(qe_status(id, 5), "UpToDate");
            assert_string_equal(qe_status(id, 4), "OutOfDate");
            assert_string_equal(qe_status(id, 2), "Revoked");
            assert_string_equal(qe_status(id, 1), "none");
        }
        /* Platform levels: seven, with SGX and TDX components shaped as Intel's. */
        const json_t *levels = json_object_get(ti, "tcbLevels");
        const json_t *real_levels = json_object_get(real, "tcbLevels");
        assert_int_equal(json_array_size(levels), ATT_TESTPKI_LEVELS);
        for (size_t k = 0; k < ATT_TESTPKI_LEVELS; k++) {
            const json_t *lv = json_array_get(levels, k);
            const char *st = jstr(lv, "tcbStatus");
            assert_string_equal(st, att_testpki_level_status(k));
            const json_t *tcb = json_object_get(lv, "tcb");
            const json_t *rtcb = json_object_get(json_array_get(real_levels, 0), "tcb");
            expect_same_keys(rtcb, tcb, "level tcb");
            expect_same_components(rtcb, tcb, "sgxtcbcomponents");
            expect_same_components(rtcb, tcb, "tdxtcbcomponents");
            assert_int_equal(jint(tcb, "pcesvn"), ATT_TESTPKI_PCESVN);
            const json_t *sc = json_object_get(tcb, "sgxtcbcomponents");
            const json_t *tc = json_object_get(tcb, "tdxtcbcomponents");
            for (size_t c = 0; c < 16; c++) {
                assert_int_equal(jint(json_array_get(sc, c), "svn"), att_testpki_status_svn(st));
                int64_t want = c == 0   ? ATT_TESTPKI_TDX_LEVEL_MODULE_SVN
                               : c == 2 ? att_testpki_status_svn(st)
                                        : 0;
                assert_int_equal(jint(json_array_get(tc, c), "svn"), want);
            }
            /* Same member list as Intel's levels with and without advisories. */
            bool adv = json_object_get(lv, "advisoryIDs") != NULL;
            expect_same_keys(json_array_get(real_levels, adv ? 1 : 0), lv, "level");
        }
        json_decref(real);
        json_decref(ti);

        /* TD_QE identity: Intel's members and order. */
        json_t *qi = json_loads(pki.qe_identity, 0, NULL);
        real = fixture_json("dcap/tdx/raw_qeidentity_tdqe_2025-10.json", "enclaveIdentity");
        assert_non_null(qi);
        expect_same_keys(real, qi, "enclaveIdentity");
        assert_string_equal(jstr(qi, "id"), "TD_QE");
        assert_int_equal(jint(qi, "isvprodid"), 2);
        assert_string_equal(jstr(qi, "miscselect"), jstr(real, "miscselect"));
        assert_string_equal(jstr(qi, "miscselectMask"), jstr(real, "miscselectMask"));
        assert_string_equal(jstr(qi, "attributes"), jstr(real, "attributes"));
        assert_string_equal(jstr(qi, "attributesMask"), jstr(real, "attributesMask"));
        uint8_t mrsigner[32];
        assert_true(unhex(jstr(qi, "mrsigner"), mrsigner, 32));
        assert_memory_equal(mrsigner, pki.qe_mrsigner, 32);
        assert_string_equal(qe_status(qi, 8), "UpToDate");
        assert_string_equal(qe_status(qi, 6), "OutOfDate");
        assert_string_equal(qe_status(qi, 2), "Revoked");
        json_decref(real);
        json_decref(qi);
        att_testpki_free(&pki);
    }
    att_testpki_free(&sgx);
}

static const uint8_t ONES8[8] = {1, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t SEAM_SIGNER[48] = {0x5E, 0xA5};
static const uint8_t ZERO8[8];
static const uint8_t SVN_5_1_9[16] = {5, 1, 9};
static const uint8_t SVN_5_1_10[16] = {5, 1, 10};
static const uint8_t SVN_5_1_10_LATE3[16] = {5, 1, 10, 1};

struct tdx_knob_case {
    const char *name;
    struct att_testpki_opts opts;
    unsigned expect;
    bool v5_only;
};

static const struct tdx_knob_case TDX_KNOBS[] = {
    {"defaults", {0}, 0, false},
    {"debug", {.debug = true}, F_DEBUG, false},
    {"revoke_pck", {.revoke_pck = true}, F_PCK_CHAIN, false},
    {"revoke_tcb_signer", {.revoke_tcb_signer = true}, F_TCB_CHAIN | F_QEID_CHAIN, false},
    {"tcb_info expired", {.tcb_info_date_shift = -40 * DAY}, F_TCB_DATES, false},
    {"qe_identity expired", {.qe_identity_date_shift = -40 * DAY}, F_QEID_DATES, false},
    {"PCK CRL expired", {.pck_crl_date_shift = -40 * DAY}, F_PCK_CHAIN, false},
    {"tcb_info_fmspc", {.tcb_info_fmspc = OTHER_FMSPC}, F_FMSPC, false},
    {"fmspc (both)", {.fmspc = OTHER_FMSPC}, 0, false},
    {"tcb_info_fmspc_lowercase", {.tcb_info_fmspc_lowercase = true}, 0, false},
    {"pceid_mismatch", {.pceid_mismatch = true}, F_PCEID, false},
    {"qe_identity_mrsigner_wrong", {.qe_identity_mrsigner_wrong = true}, F_QEID_MRSIGNER, false},
    {"qe_isvprodid_wrong", {.qe_isvprodid_wrong = true}, F_QEID_PRODID, false},
    {"qe_attributes_mismatch", {.qe_attributes_mismatch = true}, F_QEID_ATTR, false},
    {"qe_isvsvn 7", {.qe_isvsvn = 7}, F_QE_LEVEL, false},
    {"qe_isvsvn 1", {.qe_isvsvn = 1}, F_QE_LEVEL, false},
    {"corrupt_qe_report_data", {.corrupt_qe_report_data = true}, F_QE_BINDING, false},
    {"corrupt_qe_report_sig", {.corrupt_qe_report_sig = true}, F_QE_SIG, false},
    {"corrupt_quote_sig", {.corrupt_quote_sig = true}, F_QUOTE_SIG, false},
    {"corrupt_tcb_info_sig", {.corrupt_tcb_info_sig = true}, F_TCB_SIG, false},
    {"corrupt_qe_identity_sig", {.corrupt_qe_identity_sig = true}, F_QEID_SIG, false},
    {"tcb_info_untrusted_signer", {.tcb_info_untrusted_signer = true}, F_TCB_CHAIN, false},
    {"qe_identity_untrusted_signer", {.qe_identity_untrusted_signer = true}, F_QEID_CHAIN, false},
    {"pck_ca_platform", {.pck_ca_platform = true}, 0, false},
    {"chain_root_first", {.chain_root_first = true}, 0, false},
    {"no_trailing_nul", {.no_trailing_nul = true}, 0, false},
    /* The documents of the other TEE. */
    {"tcb_info_other_tee (SGX TCB info)", {.tcb_info_other_tee = true}, F_TCB_ID, false},
    {"qe_identity_other_tee (QE identity)",
     {.qe_identity_other_tee = true},
     F_QEID_ID | F_QEID_MRSIGNER | F_QEID_PRODID,
     false},
    /* Platform levels: SGX components and TEE_TCB_SVN (§5.2). */
    {"comp_svn 9", {.comp_svn = 9}, F_TCB_LEVEL, false},
    {"tdx_tcb_svn 9", {.tdx_tcb_svn = 9}, F_TCB_LEVEL, false},
    {"tdx_tcb_svn 3 (below)", {.tdx_tcb_svn = 3}, F_TCB_LEVEL, false},
    {"tdx_tcb_svn 11", {.tdx_tcb_svn = 11}, 0, false},
    {"tee_tcb_svn {5,1,9}", {.tee_tcb_svn = SVN_5_1_9}, F_TCB_LEVEL, false},
    {"tee_tcb_svn {5,1,10}", {.tee_tcb_svn = SVN_5_1_10}, 0, false},
    {"tee_tcb_svn {5,1,10,1}", {.tee_tcb_svn = SVN_5_1_10_LATE3}, 0, false},
    /* The module (§5.3). */
    {"tdx_module_svn 3", {.tdx_module_svn = 3}, F_MODULE_LEVEL, false},
    {"tdx_module_svn 2", {.tdx_module_svn = 2}, F_MODULE_LEVEL, false},
    {"tdx_module_svn 1 (below)", {.tdx_module_svn = 1}, F_MODULE_LEVEL, false},
    {"tdx_module_svn 6", {.tdx_module_svn = 6}, 0, false},
    {"tdx_module_major 3", {.tdx_module_major = 3}, 0, false},
    {"tdx_module_major 2", {.tdx_module_major = 2}, F_MODULE_ID, false},
    {"tdx_module_major 0", {.tdx_module_major = -1}, 0, false},
    {"tdx_module_major 0, svn 2",
     {.tdx_module_major = -1, .tdx_module_svn = 2},
     F_TCB_LEVEL,
     false},
    {"tdx_module_major 0, svn 3 (no module level)",
     {.tdx_module_major = -1, .tdx_module_svn = 3},
     0,
     false},
    {"tdx_module_identity_missing", {.tdx_module_identity_missing = true}, F_MODULE_ID, false},
    {"tdx_module_identity_missing, major 3",
     {.tdx_module_identity_missing = true, .tdx_module_major = 3},
     F_MODULE_ID,
     false},
    {"tdx_module_identity_mrsigner_wrong",
     {.tdx_module_identity_mrsigner_wrong = true},
     F_MODULE_MRSIGNER,
     false},
    {"tdx_module_identity_mrsigner_wrong, major 3",
     {.tdx_module_identity_mrsigner_wrong = true, .tdx_module_major = 3},
     F_MODULE_MRSIGNER,
     false},
    {"tdx_module_mrsigner_wrong (ignored with an identity)",
     {.tdx_module_mrsigner_wrong = true},
     0,
     false},
    {"tdx_module_mrsigner_wrong, major 0",
     {.tdx_module_mrsigner_wrong = true, .tdx_module_major = -1},
     F_MODULE_MRSIGNER,
     false},
    {"mr_signer_seam", {.mr_signer_seam = SEAM_SIGNER}, F_MODULE_MRSIGNER, false},
    {"mr_signer_seam, major 0",
     {.mr_signer_seam = SEAM_SIGNER, .tdx_module_major = -1},
     F_MODULE_MRSIGNER,
     false},
    {"seam_attributes", {.seam_attributes = ONES8}, F_MODULE_ATTR, false},
    {"seam_attributes zero (explicit)", {.seam_attributes = ZERO8}, 0, false},
    {"td_attributes zero (no SEPT_VE_DISABLE: valid)", {.td_attributes = ZERO8}, 0, false},
    {"td_attributes DEBUG", {.td_attributes = ONES8}, F_DEBUG, false},
    /* v5 framing (§2.4). */
    {"tdx_body_type 2", {.tdx_body_type = 2}, 0, true},
    {"tdx_body_type 3", {.tdx_body_type = 3}, 0, true},
    {"tdx_body_type 1 (SGX body, TEE 0x81)", {.tdx_body_type = 1}, F_BODY, true},
    {"tdx_body_size_mismatch (type 3, 584)", {.tdx_body_size_mismatch = true}, F_BODY, true},
    {"tdx_body_size_mismatch (type 2, 648)",
     {.tdx_body_type = 2, .tdx_body_size_mismatch = true},
     F_BODY,
     true},
    {"tdx_body_size_mismatch (type 1, 584)",
     {.tdx_body_type = 1, .tdx_body_size_mismatch = true},
     F_BODY,
     true},
    {"tee_tcb_svn2 (TD relaunch information only)", {.tee_tcb_svn2 = SVN_5_1_9}, 0, true},
};

static void test_tdx_knobs_break_exactly_their_check(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(TDX_KNOBS) / sizeof(TDX_KNOBS[0]); i++) {
        for (int version = 4; version <= 5; version++) {
            if (TDX_KNOBS[i].v5_only && version == 4) {
                continue;
            }
            struct att_testpki pki;
            char what[160];
            snprintf(what, sizeof(what), "v%d %s", version, TDX_KNOBS[i].name);
            tdx_build(version, &TDX_KNOBS[i].opts, &pki);
            expect_mask(&pki, NOW, TDX_KNOBS[i].expect, what);
            att_testpki_free(&pki);
        }
    }
}

/* The status the matched levels give (docs/reference/dcap-verification.md §5.3, §5.4), from what
 * check_all_ex found in the documents: an independent oracle for att_testpki.expected_status (no TD
 * relaunch). */
static const char *combine_status(const char *platform, const char *module, const char *qe)
{
    if (strcmp(module, "mismatch") == 0) {
        return "TdxModuleMismatch";
    }
    if (strcmp(qe, "none") == 0 || strcmp(platform, "none") == 0 || strcmp(module, "none") == 0) {
        return "NotSupported";
    }
    const char *st = platform;
    for (size_t k = 0; k < 2; k++) {
        const char *other = k == 0 ? module : qe; /* the module first, then the QE */
        if (strcmp(st, "Revoked") == 0) {
            return st;
        }
        if (strcmp(other, "Revoked") == 0) {
            return "Revoked";
        }
        if (strcmp(other, "OutOfDate") == 0) {
            if (strcmp(st, "UpToDate") == 0 || strcmp(st, "SWHardeningNeeded") == 0) {
                st = "OutOfDate";
            } else if (strcmp(st, "ConfigurationNeeded") == 0 ||
                       strcmp(st, "ConfigurationAndSWHardeningNeeded") == 0) {
                st = "OutOfDateConfigurationNeeded";
            }
        }
    }
    return st;
}

static void expect_status(int version, const struct att_testpki_opts *o, const char *platform,
                          const char *module, const char *want, const char *what)
{
    struct att_testpki pki;
    char st[48];
    char qe[48];
    char mod[48];
    tdx_build(version, o, &pki);
    check_all_ex(&pki, NOW, st, qe, mod);
    if (platform != NULL && strcmp(st, platform) != 0) {
        fail_msg("%s: platform level %s, expected %s", what, st, platform);
    }
    if (module != NULL && strcmp(mod, module) != 0) {
        fail_msg("%s: module level %s, expected %s", what, mod, module);
    }
    if (strcmp(pki.expected_status, want) != 0) {
        fail_msg("%s: expected_status %s, expected %s", what, pki.expected_status, want);
    }
    att_testpki_free(&pki);
}

static void test_tdx_status_levels(void **state)
{
    (void)state;
    static const char *const module_names[] = {"UpToDate", "OutOfDate", "Revoked", "below"};
    assert_int_equal(att_testpki_module_status_svn("UpToDate"), 5);
    assert_int_equal(att_testpki_module_status_svn("OutOfDate"), 3);
    assert_int_equal(att_testpki_module_status_svn("Revoked"), 2);
    assert_int_equal(att_testpki_module_status_svn("below"), 1);
    assert_int_equal(att_testpki_module_status_svn("SWHardeningNeeded"), -1);
    assert_int_equal(att_testpki_module_status_svn(NULL), -1);
    /* TEE_TCB_SVN[2] picks the TDX level; TEE_TCB_SVN[0] the module level; both (and the
     * SGX level and the QE level) fold into expected_status as the documents say. */
    for (size_t i = 0; i < 8; i++) {
        for (size_t m = 0; m < 4; m++) {
            static const int qe_svns[4] = {8, 6, 5, 1}; /* UpToDate, OutOfDate, Revoked, none */
            for (size_t k = 0; k < 4; k++) {
                struct att_testpki_opts o = {
                    .tdx_tcb_svn = att_testpki_status_svn(level_names[i]),
                    .tdx_module_svn = att_testpki_module_status_svn(module_names[m]),
                    .qe_isvsvn = qe_svns[k],
                };
                struct att_testpki pki;
                char st[48];
                char qe[48];
                char mod[48];
                tdx_build(m % 2 == 0 ? 4 : 5, &o, &pki);
                check_all_ex(&pki, NOW, st, qe, mod);
                assert_string_equal(st, i == 7 ? "none" : level_names[i]);
                assert_string_equal(mod, m == 3 ? "none" : module_names[m]);
                const char *want = combine_status(st, mod, qe);
                if (strcmp(pki.expected_status, want) != 0) {
                    fail_msg("tdx %s, module %s, qe %s: expected_status %s, documents say %s",
                             level_names[i], module_names[m], qe, pki.expected_status, want);
                }
                att_testpki_free(&pki);
            }
        }
    }
    /* The SGX components still count: the lower of the two levels. */
    struct att_testpki_opts o = {.comp_svn = 8, .tdx_tcb_svn = 9};
    expect_status(4, &o, "ConfigurationNeeded", "UpToDate", "ConfigurationNeeded", "SGX lower");
    o = (struct att_testpki_opts){.comp_svn = 9, .tdx_tcb_svn = 5};
    expect_status(4, &o, "OutOfDateConfigurationNeeded", "UpToDate", "OutOfDateConfigurationNeeded",
                  "TDX lower");
    o = (struct att_testpki_opts){.comp_svn = 8, .tdx_module_svn = 3};
    expect_status(4, &o, "ConfigurationNeeded", "OutOfDate", "OutOfDateConfigurationNeeded",
                  "module OutOfDate on ConfigurationNeeded");
    o = (struct att_testpki_opts){.pcesvn = 12};
    expect_status(4, &o, "none", "UpToDate", "NotSupported", "pcesvn below");
    /* Major version 0: no module level; bytes 0 and 1 are compared with the levels. */
    o = (struct att_testpki_opts){.tdx_module_major = -1, .tdx_module_svn = 3};
    expect_status(4, &o, "UpToDate", "n/a", "UpToDate", "major 0, svn 3");
    o = (struct att_testpki_opts){.tdx_module_major = -1, .tdx_module_svn = 2};
    expect_status(4, &o, "none", "n/a", "NotSupported", "major 0, svn 2");
    o = (struct att_testpki_opts){.tdx_module_major = 3, .tdx_module_svn = 3};
    expect_status(4, &o, "UpToDate", "OutOfDate", "OutOfDate", "TDX_03 OutOfDate");
    o = (struct att_testpki_opts){.tdx_module_identity_missing = true};
    expect_status(4, &o, "UpToDate", "mismatch", "TdxModuleMismatch", "identity missing");
    o = (struct att_testpki_opts){.tdx_module_major = 0x42};
    expect_status(5, &o, "UpToDate", "mismatch", "TdxModuleMismatch", "TDX_42");
    /* TD relaunch (§5.6): v5 TD report 1.5, module OutOfDate, TEE_TCB_SVN2 at the newest. */
    static const uint8_t svn2_new[16] = {5, 1, 10};
    static const uint8_t svn2_old_module[16] = {4, 1, 10};
    static const uint8_t svn2_old_late[16] = {5, 1, 9};
    static const uint8_t svn2_major2[16] = {5, 2, 10};
    static const uint8_t svn2_major0[16] = {3, 0, 10};
    o = (struct att_testpki_opts){.tdx_module_svn = 3, .tee_tcb_svn2 = svn2_new};
    expect_status(5, &o, "UpToDate", "OutOfDate", "TDRelaunchAdvised", "relaunch");
    expect_status(4, &o, "UpToDate", "OutOfDate", "OutOfDate", "relaunch needs v5");
    o.tdx_body_type = 2;
    expect_status(5, &o, "UpToDate", "OutOfDate", "OutOfDate", "relaunch needs TD 1.5");
    o = (struct att_testpki_opts){.tdx_module_svn = 3, .tee_tcb_svn2 = svn2_new, .comp_svn = 8};
    expect_status(5, &o, "ConfigurationNeeded", "OutOfDate", "TDRelaunchAdvisedConfigurationNeeded",
                  "relaunch, configuration");
    o = (struct att_testpki_opts){
        .tdx_module_svn = 3, .tee_tcb_svn2 = svn2_new, .tdx_tcb_svn = 6, .comp_svn = 8};
    expect_status(5, &o, "OutOfDate", "OutOfDate", "TDRelaunchAdvisedConfigurationNeeded",
                  "relaunch, SGX level ConfigurationNeeded, TDX level OutOfDate");
    o = (struct att_testpki_opts){.tdx_module_svn = 3, .tee_tcb_svn2 = svn2_new, .tdx_tcb_svn = 6};
    expect_status(5, &o, "OutOfDate", "OutOfDate", "TDRelaunchAdvised", "relaunch, TDX OutOfDate");
    o = (struct att_testpki_opts){.tdx_module_svn = 3, .tee_tcb_svn2 = svn2_old_module};
    expect_status(5, &o, "UpToDate", "OutOfDate", "OutOfDate", "SVN2 module not newest");
    o = (struct att_testpki_opts){.tdx_module_svn = 3, .tee_tcb_svn2 = svn2_old_late};
    expect_status(5, &o, "UpToDate", "OutOfDate", "OutOfDate", "SVN2 microcode not newest");
    o = (struct att_testpki_opts){.tdx_module_svn = 3, .tee_tcb_svn2 = svn2_new, .qe_isvsvn = 6};
    expect_status(5, &o, "UpToDate", "OutOfDate", "OutOfDate", "QE OutOfDate: no relaunch");
    o = (struct att_testpki_opts){.tdx_module_svn = 3, .tee_tcb_svn2 = svn2_new, .comp_svn = 6};
    expect_status(5, &o, "OutOfDate", "OutOfDate", "OutOfDate", "SGX OutOfDate: no relaunch");
    o = (struct att_testpki_opts){.tdx_module_svn = 3, .tee_tcb_svn2 = svn2_major2};
    expect_status(5, &o, "UpToDate", "OutOfDate", "TdxModuleMismatch", "SVN2 of TDX_02");
    o = (struct att_testpki_opts){.tdx_module_svn = 3, .tee_tcb_svn2 = svn2_major0};
    expect_status(5, &o, "UpToDate", "OutOfDate", "TDRelaunchAdvised", "SVN2 without major");
    o = (struct att_testpki_opts){.tdx_module_svn = 2, .tee_tcb_svn2 = svn2_new};
    expect_status(5, &o, "UpToDate", "Revoked", "Revoked", "module Revoked: no relaunch");
    /* An SGX quote's expected status ignores the TDX knobs. */
    struct att_testpki pki;
    build(&(struct att_testpki_opts){.now = NOW, .comp_svn = 7, .qe_isvsvn = 6}, &pki);
    assert_string_equal(pki.expected_status, "OutOfDateConfigurationNeeded");
    assert_int_equal(pki.quote_version, 3);
    att_testpki_free(&pki);
}

static void test_tdx_fields(void **state)
{
    (void)state;
    uint8_t m[10][48];
    uint8_t rd[64];
    uint8_t attr[8] = {0x00, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00}; /* SEPT_VE|PKS */
    uint8_t xfam[8] = {0xE7, 0x18, 0x06, 0, 0, 0, 0, 0};
    uint8_t svn[16] = {7, 3, 12, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
    uint8_t svn2[16] = {8, 3, 13, 4};
    for (size_t i = 0; i < 10; i++) {
        for (size_t k = 0; k < 48; k++) {
            m[i][k] = (uint8_t)(i * 16 + k);
        }
    }
    for (size_t k = 0; k < 64; k++) {
        rd[k] = (uint8_t)(0x80 + k);
    }
    struct att_testpki_opts o = {
        .mr_seam = m[0],
        .mr_td = m[1],
        .mr_config_id = m[2],
        .mr_owner = m[3],
        .mr_owner_config = m[4],
        .rtmr = {m[5], m[6], m[7], m[8]},
        .mr_service_td = m[9],
        .report_data = rd,
        .td_attributes = attr,
        .xfam = xfam,
        .tee_tcb_svn = svn,
        .tee_tcb_svn2 = svn2,
        .debug = true,
    };
    for (int version = 4; version <= 5; version++) {
        struct att_testpki pki;
        tdx_build(version, &o, &pki);
        const uint8_t *t =
            pki.quote + (version == 4 ? ATT_TESTPKI_V4_OFF_BODY : ATT_TESTPKI_V5_OFF_BODY);
        assert_memory_equal(t + ATT_TESTPKI_T_TEE_TCB_SVN, svn, 16);
        assert_memory_equal(pki.tee_tcb_svn, svn, 16);
        assert_memory_equal(t + ATT_TESTPKI_T_MRSEAM, m[0], 48);
        assert_memory_equal(t + ATT_TESTPKI_T_MRTD, m[1], 48);
        assert_memory_equal(t + ATT_TESTPKI_T_MRCONFIGID, m[2], 48);
        assert_memory_equal(t + ATT_TESTPKI_T_MROWNER, m[3], 48);
        assert_memory_equal(t + ATT_TESTPKI_T_MROWNERCONFIG, m[4], 48);
        for (int r = 0; r < 4; r++) {
            assert_memory_equal(t + ATT_TESTPKI_T_RTMR(r), m[5 + r], 48);
        }
        assert_memory_equal(t + ATT_TESTPKI_T_REPORTDATA, rd, 64);
        assert_int_equal(rd64(t + ATT_TESTPKI_T_TDATTRIBUTES), 0x50000001); /* + DEBUG */
        assert_memory_equal(t + ATT_TESTPKI_T_XFAM, xfam, 8);
        /* docs/reference/intel-quotes.md §2.2 absolute offsets of v4. */
        if (version == 4) {
            assert_memory_equal(pki.quote + 0xB8, m[1], 48);  /* MRTD */
            assert_memory_equal(pki.quote + 0x178, m[5], 48); /* RTMR0 */
            assert_memory_equal(pki.quote + 0x238, rd, 64);   /* REPORTDATA */
        } else {
            assert_memory_equal(pki.quote + 0x27E, svn2, 16); /* TEE_TCB_SVN2 */
            assert_memory_equal(pki.quote + 0x28E, m[9], 48); /* MRSERVICETD */
        }
        /* TDX_03 at module svn 7, TEE_TCB_SVN[2] 12: UpToDate; only DEBUG fails. */
        expect_mask(&pki, NOW, F_DEBUG, "TD fields");
        att_testpki_free(&pki);
    }
}

static void test_tdx_corruptions_in_detail(void **state)
{
    (void)state;
    for (int version = 4; version <= 5; version++) {
        struct att_testpki pki;
        struct att_testpki_opts o = {.corrupt_quote_sig = true};
        tdx_build(version, &o, &pki);
        pki.quote[pki.off.quote_sig + 63] ^= 1;
        expect_mask(&pki, NOW, 0, "TDX quote signature bit restored");
        att_testpki_free(&pki);
        o = (struct att_testpki_opts){.corrupt_qe_report_sig = true};
        tdx_build(version, &o, &pki);
        pki.quote[pki.off.qe_report_sig + 63] ^= 1;
        expect_mask(&pki, NOW, 0, "TDX QE report signature bit restored");
        att_testpki_free(&pki);
        /* A valid quote breaks when a signed byte changes: MRTD, RTMR3, REPORTDATA. */
        static const size_t flips[3] = {ATT_TESTPKI_T_MRTD, ATT_TESTPKI_T_RTMR(3) + 47,
                                        ATT_TESTPKI_T_REPORTDATA};
        for (size_t i = 0; i < 3; i++) {
            tdx_build(version, NULL, &pki);
            pki.quote[pki.off.body + flips[i]] ^= 1;
            expect_mask(&pki, NOW, F_QUOTE_SIG, "TD field flipped");
            att_testpki_free(&pki);
        }
    }
    /* v5: the body descriptor is signed. Type 3 -> 2 breaks the framing and the signature. */
    struct att_testpki pki;
    tdx_build(5, NULL, &pki);
    pki.quote[ATT_TESTPKI_V5_OFF_BODY_TYPE] = 2;
    expect_mask(&pki, NOW, F_BODY | F_QUOTE_SIG, "v5 body type flipped");
    att_testpki_free(&pki);
    /* The SGX quote v3 is still what it was: no TDX member set. */
    build(&(struct att_testpki_opts){.now = NOW}, &pki);
    static const uint8_t zero[16];
    assert_memory_equal(pki.tee_tcb_svn, zero, 16);
    assert_int_equal(pki.quote_version, 3);
    assert_string_equal(pki.expected_status, "UpToDate");
    att_testpki_free(&pki);
}

static void test_tdx_bad_knobs(void **state)
{
    (void)state;
    static const struct att_testpki_opts bad[] = {
        {.tdx = 3},
        {.tdx = 6},
        {.tdx = -1},
        {.tdx = 4, .tdx_body_type = 2},
        {.tdx = 5, .tdx_body_type = 4},
        {.tdx = 5, .tdx_body_type = -1},
        {.tdx_body_type = 3},
        {.tdx_body_size_mismatch = true},
        {.tdx = 4, .tdx_body_size_mismatch = true},
        {.tdx = 5, .tdx_module_major = -2},
        {.tdx = 5, .tdx_module_major = 256},
        {.tdx = 4, .tdx_tcb_svn = 256},
        {.tdx = 4, .tdx_module_svn = -1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct att_testpki pki;
        memset(&pki, 0xA5, sizeof(pki));
        if (att_testpki_build(&bad[i], &pki) != -1) {
            fail_msg("bad TDX knobs %zu accepted", i);
        }
        assert_null(pki.quote);
        assert_null(pki.root);
        att_testpki_free(&pki);
    }
    /* Knobs of the other TEE are harmless on an SGX quote. */
    struct att_testpki pki;
    build(&(struct att_testpki_opts){.now = NOW, .tdx_tcb_svn = 3, .tdx_module_major = 7}, &pki);
    expect_mask(&pki, NOW, 0, "TDX knobs on an SGX quote");
    att_testpki_free(&pki);
    /* The other TEE's documents for an SGX quote: the TDX TCB info, the TD_QE identity. */
    build(&(struct att_testpki_opts){.now = NOW, .tcb_info_other_tee = true}, &pki);
    expect_mask(&pki, NOW, F_TCB_ID, "SGX quote, TDX TCB info");
    assert_true(strncmp(pki.tcb_info, "{\"id\":\"TDX\"", 11) == 0);
    att_testpki_free(&pki);
    build(&(struct att_testpki_opts){.now = NOW, .qe_identity_other_tee = true}, &pki);
    expect_mask(&pki, NOW, F_QEID_ID | F_QEID_MRSIGNER | F_QEID_PRODID,
                "SGX quote, TD_QE identity");
    att_testpki_free(&pki);
}

/* attestd's framing parsers (not its verifier) take the TDX evidence, and refuse the two
 * v5 framing knobs where QVL does. */
static void test_attestd_parsers_accept_tdx(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(TDX_LAYOUTS) / sizeof(TDX_LAYOUTS[0]); i++) {
        struct att_testpki_opts o = {.tdx_body_type = TDX_LAYOUTS[i].body_type};
        struct att_testpki pki;
        tdx_build(TDX_LAYOUTS[i].version, &o, &pki);
        char msg[256] = "";
        struct att_intel_quote quote;
        att_err rc = att_intel_quote_parse(pki.quote, pki.quote_len, ATT_INTEL_TEE_TDX, &quote, msg,
                                           sizeof(msg));
        if (rc != ATT_OK) {
            fail_msg("%s: quote: %s (%s)", TDX_LAYOUTS[i].name, att_err_name(rc), msg);
        }
        assert_int_equal(quote.signed_part.len, pki.off.signed_len);
        assert_memory_equal(quote.td.tee_tcb_svn, pki.tee_tcb_svn, 16);
        assert_int_equal(quote.sig.pck_pem.len, strlen(pki.pck_chain_pem));
        struct att_dcap_bundle b;
        memset(&b, 0, sizeof(b));
        rc = att_dcap_bundle_parse(pki.bundle_json, strlen(pki.bundle_json), &b, msg, sizeof(msg));
        if (rc != ATT_OK) {
            fail_msg("%s: bundle: %s (%s)", TDX_LAYOUTS[i].name, att_err_name(rc), msg);
        }
        assert_memory_equal(b.tcb_info.data, pki.tcb_info, b.tcb_info.len);
        att_dcap_bundle_cleanup(&b);
        att_testpki_free(&pki);
    }
    static const struct att_testpki_opts refused[] = {
        {.tdx_body_type = 1},
        {.tdx_body_size_mismatch = true},
        {.tdx_body_type = 2, .tdx_body_size_mismatch = true},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct att_testpki pki;
        tdx_build(5, &refused[i], &pki);
        char msg[256] = "";
        struct att_intel_quote quote;
        att_err rc = att_intel_quote_parse(pki.quote, pki.quote_len, ATT_INTEL_TEE_TDX, &quote, msg,
                                           sizeof(msg));
        if (rc != ATT_ERR_QUOTE_BODY_TYPE) {
            fail_msg("refused %zu: %s (%s)", i, att_err_name(rc), msg);
        }
        att_testpki_free(&pki);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_valid),
        cmocka_unit_test(test_default_contents),
        cmocka_unit_test(test_attestd_parsers_accept),
        cmocka_unit_test(test_knobs_break_exactly_their_check),
        cmocka_unit_test(test_status_levels),
        cmocka_unit_test(test_corruptions_in_detail),
        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_enclave_fields),
        cmocka_unit_test(test_pck_knobs),
        cmocka_unit_test(test_certification_data_variants),
        cmocka_unit_test(test_extension_matches_real_pck),
        cmocka_unit_test(test_wall_clock_default),
        cmocka_unit_test(test_tdx_default_is_valid),
        cmocka_unit_test(test_tdx_quote_layout),
        cmocka_unit_test(test_tdx_default_contents),
        cmocka_unit_test(test_tdx_knobs_break_exactly_their_check),
        cmocka_unit_test(test_tdx_status_levels),
        cmocka_unit_test(test_tdx_fields),
        cmocka_unit_test(test_tdx_corruptions_in_detail),
        cmocka_unit_test(test_tdx_bad_knobs),
        cmocka_unit_test(test_attestd_parsers_accept_tdx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
