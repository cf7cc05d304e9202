/*
 * testpki.c - a test SGX DCAP PKI, collateral and quote built in code (see testpki.h).
 *
 * Trusted input (the caller's knobs), fresh keys per build; failures are reported on stderr
 * (the callers are command-line tools and tests). Layout references are to docs/reference/
 * (section numbers as in its README.md).
 */
#include "demo/testpki.h"
#include "demo/pkix.h"
#include "demo/wbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* ================================================================================
 * DER writer for the SGX extension (docs/reference/intel-collateral.md §3.2): SEQUENCE of SEQUENCE
 * { OID, value }.
 * ================================================================================ */

/* 1.2.840.113741.1.13.1 */
static const uint8_t SGX_OID[] = {0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01};

/* SEQUENCE { OID 1.2.840.113741.1.13.1.<arcs>, <value TLV> } appended to b. */
static void der_pair(struct att_wbuf *b, const uint8_t *arcs, size_t n_arcs,
                     const struct att_wbuf *value)
{
    struct att_wbuf in = {0};
    uint8_t oid[sizeof(SGX_OID) + 4];
    memcpy(oid, SGX_OID, sizeof(SGX_OID));
    memcpy(oid + sizeof(SGX_OID), arcs, n_arcs);
    att_wbuf_der_tlv(&in, ATT_DER_OID, oid, sizeof(SGX_OID) + n_arcs);
    att_wbuf_put(&in, value->p, value->len);
    if (in.bad || value->bad) {
        b->bad = true;
    } else {
        att_wbuf_der_tlv(b, ATT_DER_SEQUENCE, in.p, in.len);
    }
    att_wbuf_free(&in);
}

static void der_pair_uint(struct att_wbuf *b, const uint8_t *arcs, size_t n_arcs, unsigned tag,
                          unsigned v)
{
    struct att_wbuf val = {0};
    att_wbuf_der_uint(&val, tag, v);
    der_pair(b, arcs, n_arcs, &val);
    att_wbuf_free(&val);
}

static void der_pair_octets(struct att_wbuf *b, const uint8_t *arcs, size_t n_arcs,
                            const uint8_t *d, size_t n)
{
    struct att_wbuf val = {0};
    att_wbuf_der_tlv(&val, ATT_DER_OCTET_STRING, d, n);
    der_pair(b, arcs, n_arcs, &val);
    att_wbuf_free(&val);
}

static void der_pair_seq(struct att_wbuf *b, const uint8_t *arcs, size_t n_arcs,
                         const struct att_wbuf *content)
{
    struct att_wbuf val = {0};
    if (content->bad) {
        b->bad = true;
    }
    att_wbuf_der_tlv(&val, ATT_DER_SEQUENCE, content->p, content->len);
    der_pair(b, arcs, n_arcs, &val);
    att_wbuf_free(&val);
}

struct pck_tcb {
    uint8_t comp[16];
    unsigned pcesvn;
    uint8_t cpusvn[16];
};

static const uint8_t PPID[16] = {0x7E, 0x57, 0x9F, 0x1D, 0x00, 0x11, 0x22, 0x33,
                                 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB};
static const uint8_t PCEID[2] = {0x00, 0x00};
static const uint8_t PLATFORM_INSTANCE_ID[16] = {0x1A, 0x57, 0xA7, 0xCE, 0x5E, 0xED, 0x01, 0x02,
                                                 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A};

/* The extension value, in the order and shape of a real PCK (sgx01; sgx02 for Platform CA). */
static void sgx_ext_der(struct att_wbuf *out, const struct pck_tcb *tcb, const uint8_t fmspc[6],
                        unsigned sgx_type, bool platform)
{
    struct att_wbuf top = {0};
    struct att_wbuf t = {0};
    uint8_t a1[] = {1};
    der_pair_octets(&top, a1, 1, PPID, sizeof(PPID));
    for (uint8_t i = 1; i <= 16; i++) {
        uint8_t arcs[] = {2, i};
        der_pair_uint(&t, arcs, 2, ATT_DER_INTEGER, tcb->comp[i - 1]);
    }
    uint8_t a217[] = {2, 17};
    der_pair_uint(&t, a217, 2, ATT_DER_INTEGER, tcb->pcesvn);
    uint8_t a218[] = {2, 18};
    der_pair_octets(&t, a218, 2, tcb->cpusvn, 16);
    uint8_t a2[] = {2};
    der_pair_seq(&top, a2, 1, &t);
    uint8_t a3[] = {3};
    der_pair_octets(&top, a3, 1, PCEID, sizeof(PCEID));
    uint8_t a4[] = {4};
    der_pair_octets(&top, a4, 1, fmspc, 6);
    uint8_t a5[] = {5};
    der_pair_uint(&top, a5, 1, ATT_DER_ENUMERATED, sgx_type);
    if (platform) {
        /* .6 platform instance ID, .7 configuration {dynamicPlatform, cachedKeys,
         * SMTEnabled} BOOLEANs, as in the Platform-CA leaf of sgx02. */
        uint8_t a6[] = {6};
        der_pair_octets(&top, a6, 1, PLATFORM_INSTANCE_ID, sizeof(PLATFORM_INSTANCE_ID));
        struct att_wbuf cfg = {0};
        static const uint8_t vals[3] = {0xFF, 0x00, 0x00};
        for (uint8_t i = 1; i <= 3; i++) {
            uint8_t arcs[] = {7, i};
            struct att_wbuf v = {0};
            att_wbuf_der_tlv(&v, ATT_DER_BOOLEAN, &vals[i - 1], 1);
            der_pair(&cfg, arcs, 2, &v);
            att_wbuf_free(&v);
        }
        uint8_t a7[] = {7};
        der_pair_seq(&top, a7, 1, &cfg);
        att_wbuf_free(&cfg);
    }
    if (top.bad) {
        out->bad = true;
    }
    att_wbuf_der_tlv(out, ATT_DER_SEQUENCE, top.p, top.len);
    att_wbuf_free(&t);
    att_wbuf_free(&top);
}

/* ================================================================================
 * Keys, signatures, certificates, CRLs (OpenSSL 3 EVP / X509).
 * ================================================================================ */

static EVP_PKEY *gen_p256(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (k == NULL) {
        att_pkix_fail("P-256 key generation");
    }
    return k;
}

/* ECDSA P-256 / SHA-256 over msg as raw r || s (32 bytes each, big-endian). */
static int sign_rs(EVP_PKEY *key, const void *msg, size_t n, uint8_t out[64])
{
    int rc = -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t der_len = sizeof(der);
    ECDSA_SIG *sig = NULL;
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;
    if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, msg, n) != 1) {
        att_pkix_fail("ECDSA sign");
        goto out;
    }
    const unsigned char *p = der;
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL) {
        att_pkix_fail("d2i_ECDSA_SIG");
        goto out;
    }
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32) {
        goto out;
    }
    rc = 0;
out:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* Uncompressed public point as x || y. */
static int pub_xy(EVP_PKEY *key, uint8_t out[64])
{
    BIGNUM *x = NULL;
    BIGNUM *y = NULL;
    int rc = -1;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
        BN_bn2binpad(x, out, 32) == 32 && BN_bn2binpad(y, out + 32, 32) == 32) {
        rc = 0;
    } else {
        att_pkix_fail("public key export");
    }
    BN_free(x);
    BN_free(y);
    return rc;
}

static X509_NAME *make_name(const char *cn)
{
    static const char *const keys[] = {"CN", "O", "L", "ST", "C"};
    const char *const vals[] = {cn, "Attestd Test PKI", "Santa Clara", "CA", "US"};
    return att_pkix_name(keys, vals, 5);
}

enum cert_kind { CERT_ROOT, CERT_CA, CERT_PCK, CERT_SIGNER };

struct cert_spec {
    enum cert_kind kind;
    const char *cn;
    EVP_PKEY *key;        /* subject key */
    X509 *issuer;         /* NULL: self-signed */
    EVP_PKEY *issuer_key; /* == key when self-signed */
    int64_t not_before;
    int64_t not_after;
    const char *crl_url;            /* CRL distribution point */
    const struct att_wbuf *sgx_ext; /* PCK only */
};

static const char ROOT_CRL_URL[] = "URI:https://certificates.test.invalid/TestSGXRootCA.der";
static const char PCK_CRL_URL_PROCESSOR[] =
    "URI:https://api.test.invalid/sgx/certification/v4/pckcrl?ca=processor&encoding=der";
static const char PCK_CRL_URL_PLATFORM[] =
    "URI:https://api.test.invalid/sgx/certification/v4/pckcrl?ca=platform&encoding=der";

static X509 *make_cert(const struct cert_spec *s)
{
    X509 *x = X509_new();
    X509_NAME *subject = make_name(s->cn);
    BIGNUM *bn = BN_new();
    ASN1_INTEGER *serial = NULL;
    ASN1_OBJECT *obj = NULL;
    ASN1_OCTET_STRING *os = NULL;
    X509_EXTENSION *ex = NULL;
    X509V3_CTX ctx;
    bool ok = false;

    if (x == NULL || subject == NULL || bn == NULL) {
        goto out;
    }
    /* 20-byte positive serial, as Intel's (RFC 5280 §4.1.2.2 allows up to 20 octets). */
    if (BN_rand(bn, 159, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1) {
        goto out;
    }
    serial = BN_to_ASN1_INTEGER(bn, NULL);
    if (serial == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
        X509_set_serialNumber(x, serial) != 1 || X509_set_subject_name(x, subject) != 1 ||
        X509_set_issuer_name(x, s->issuer != NULL ? X509_get_subject_name(s->issuer) : subject) !=
            1 ||
        att_pkix_set_time(X509_getm_notBefore(x), s->not_before) != 0 ||
        att_pkix_set_time(X509_getm_notAfter(x), s->not_after) != 0 ||
        X509_set_pubkey(x, s->key) != 1) {
        goto out;
    }
    X509V3_set_ctx(&ctx, s->issuer != NULL ? s->issuer : x, x, NULL, NULL, 0);
    /* Order as in Intel's certificates: AKI, CRL DP, SKI, key usage, basic constraints. */
    if (s->kind == CERT_ROOT) {
        /* A self-signed AKI needs the subject's own SKI first. */
        if (att_pkix_add_ext(x, &ctx, NID_subject_key_identifier, "hash") != 0) {
            goto out;
        }
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    }
    if (att_pkix_add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") != 0 ||
        att_pkix_add_ext(x, &ctx, NID_crl_distribution_points, s->crl_url) != 0) {
        goto out;
    }
    if (s->kind != CERT_ROOT &&
        att_pkix_add_ext(x, &ctx, NID_subject_key_identifier, "hash") != 0) {
        goto out;
    }
    switch (s->kind) {
    case CERT_ROOT:
        ok = att_pkix_add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
             att_pkix_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:1") == 0;
        break;
    case CERT_CA:
        ok = att_pkix_add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
             att_pkix_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") == 0;
        break;
    case CERT_PCK:
    case CERT_SIGNER:
        ok = att_pkix_add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,nonRepudiation") ==
                 0 &&
             att_pkix_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") == 0;
        break;
    default: ok = false; break;
    }
    if (!ok) {
        goto out;
    }
    ok = false;
    if (s->kind == CERT_PCK) {
        /* Non-critical, like Intel's. */
        obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
        os = ASN1_OCTET_STRING_new();
        if (obj == NULL || os == NULL || s->sgx_ext == NULL || s->sgx_ext->bad ||
            ASN1_OCTET_STRING_set(os, s->sgx_ext->p, (int)s->sgx_ext->len) != 1) {
            goto out;
        }
        ex = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
        if (ex == NULL || X509_add_ext(x, ex, -1) != 1) {
            goto out;
        }
    }
    if (X509_sign(x, s->issuer_key, EVP_sha256()) <= 0) {
        goto out;
    }
    ok = true;
out:
    if (!ok) {
        att_pkix_fail(s->cn);
        X509_free(x);
        x = NULL;
    }
    X509_EXTENSION_free(ex);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    X509_NAME_free(subject);
    return x;
}

/* A v2 CRL by `issuer` with AKI and CRL number, listing `revoked` (may be NULL), signed by
 * `key` with ECDSA P-256 / SHA-256, as Intel's. */
static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *key, int64_t this_update, int64_t next_update,
                          X509 *const *revoked, size_t n_revoked, int64_t revoked_at)
{
    X509_CRL *crl =
        att_pkix_crl_new(issuer, this_update, next_update, revoked, n_revoked, revoked_at);
    if (crl != NULL && X509_CRL_sign(crl, key, EVP_sha256()) <= 0) {
        att_pkix_fail("CRL signature");
        X509_CRL_free(crl);
        crl = NULL;
    }
    return crl;
}

static char *crl_hex(X509_CRL *crl)
{
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(crl, &der);
    struct att_wbuf b = {0};
    if (n <= 0) {
        return NULL;
    }
    att_wbuf_hex(&b, der, (size_t)n, false);
    OPENSSL_free(der);
    return att_wbuf_take_str(&b);
}

/* ================================================================================
 * Collateral documents (docs/reference/intel-collateral.md §4.2, §4.3): compact JSON, keys in
 * Intel's order.
 * ================================================================================ */

static const struct {
    const char *status;
    int svn;
    const char *date;
    const char *advisories; /* JSON array body or NULL */
} LEVELS[ATT_TESTPKI_LEVELS] = {
    {"UpToDate", 10, "2024-03-13T00:00:00Z", NULL},
    {"SWHardeningNeeded", 9, "2023-08-09T00:00:00Z", "\"INTEL-SA-00615\""},
    {"ConfigurationNeeded", 8, "2023-02-15T00:00:00Z", NULL},
    {"ConfigurationAndSWHardeningNeeded", 7, "2022-11-09T00:00:00Z",
     "\"INTEL-SA-00289\",\"INTEL-SA-00615\""},
    {"OutOfDate", 6, "2021-11-10T00:00:00Z", NULL},
    {"OutOfDateConfigurationNeeded", 5, "2020-11-11T00:00:00Z", NULL},
    {"Revoked", 4, "2019-11-13T00:00:00Z", NULL},
};

const char *att_testpki_level_status(size_t i)
{
    return i < ATT_TESTPKI_LEVELS ? LEVELS[i].status : NULL;
}

int att_testpki_status_svn(const char *status)
{
    if (status == NULL) {
        return -1;
    }
    if (strcmp(status, "below") == 0) {
        return ATT_TESTPKI_BELOW_SVN;
    }
    for (size_t i = 0; i < ATT_TESTPKI_LEVELS; i++) {
        if (strcmp(status, LEVELS[i].status) == 0) {
            return LEVELS[i].svn;
        }
    }
    return -1;
}

static void json_date(struct att_wbuf *b, const char *key, int64_t when)
{
    time_t t = (time_t)when;
    struct tm tm;
    char s[32];
    if (gmtime_r(&t, &tm) == NULL || strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        b->bad = true;
        return;
    }
    att_wbuf_printf(b, "\"%s\":\"%s\",", key, s);
}

/* The TDX module identity levels (docs/reference/dcap-verification.md §5.3), highest first. */
static const struct {
    const char *status;
    int svn;
    const char *date;
    const char *advisories;
} MODULE_LEVELS[ATT_TESTPKI_MODULE_LEVELS] = {
    {"UpToDate", 5, "2024-03-13T00:00:00Z", NULL},
    {"OutOfDate", 3, "2023-08-09T00:00:00Z", "\"INTEL-SA-00960\""},
    {"Revoked", 2, "2021-11-10T00:00:00Z", NULL},
};

int att_testpki_module_status_svn(const char *status)
{
    if (status == NULL) {
        return -1;
    }
    if (strcmp(status, "below") == 0) {
        return ATT_TESTPKI_MODULE_BELOW_SVN;
    }
    for (size_t i = 0; i < ATT_TESTPKI_MODULE_LEVELS; i++) {
        if (strcmp(status, MODULE_LEVELS[i].status) == 0) {
            return MODULE_LEVELS[i].svn;
        }
    }
    return -1;
}

/* Category and type of the 16 SGX components, as in Intel's TDX TCB info for 00806F050000. */
static const struct {
    const char *category;
    const char *type;
} SGX_COMP_KIND[16] = {
    {"BIOS", "Early Microcode Update"},
    {"OS/VMM", "SGX Late Microcode Update"},
    {"OS/VMM", "TXT SINIT"},
    {"BIOS", NULL},
    {"BIOS", NULL},
    {"BIOS", NULL},
    {NULL, NULL},
    {"OS/VMM", "SEAMLDR ACM"},
};

/* tdxtcbcomponents[k] of level i (see testpki.h). */
static int tdx_level_comp(size_t i, size_t k)
{
    switch (k) {
    case 0: return ATT_TESTPKI_TDX_LEVEL_MODULE_SVN;
    case 2: return LEVELS[i].svn;
    default: return 0;
    }
}

static const char *const TDX_COMP_TYPE[3] = {"TDX Module", "TDX Module",
                                             "TDX Late Microcode Update"};

static void comp_json(struct att_wbuf *b, bool first, int svn, const char *category,
                      const char *type)
{
    att_wbuf_printf(b, "%s{\"svn\":%d", first ? "" : ",", svn);
    if (category != NULL) {
        att_wbuf_printf(b, ",\"category\":\"%s\"", category);
    }
    if (type != NULL) {
        att_wbuf_printf(b, ",\"type\":\"%s\"", type);
    }
    att_wbuf_printf(b, "}");
}

static void advisories_json(struct att_wbuf *b, const char *advisories)
{
    if (advisories != NULL) {
        att_wbuf_printf(b, ",\"advisoryIDs\":[%s]", advisories);
    }
}

/* What the TCB info says; tdx selects the TDX document (docs/reference/intel-collateral.md §4.2).
 */
struct tcb_doc {
    int64_t issue;
    int64_t next;
    const uint8_t *fmspc;
    bool lower;
    const char *pceid;
    int eval_num;
    bool tdx;
    int missing_major;            /* TDX: no identity for this major version (-1: none missing) */
    bool identity_mrsigner_wrong; /* TDX: of that major version's identity */
    int identity_major;           /* which identity identity_mrsigner_wrong changes */
    bool module_mrsigner_wrong;   /* TDX: tdxModule's */
};

/* mrsigner, attributes, attributesMask of tdxModule or an identity. */
static void module_json(struct att_wbuf *b, bool mrsigner_wrong)
{
    uint8_t mrsigner[48] = {0};
    if (mrsigner_wrong) {
        mrsigner[47] ^= 0x01;
    }
    att_wbuf_printf(b, "\"mrsigner\":\"");
    att_wbuf_hex(b, mrsigner, sizeof(mrsigner), true);
    att_wbuf_printf(
        b, "\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"");
}

static char *tcb_info_text(const struct tcb_doc *d)
{
    struct att_wbuf b = {0};
    att_wbuf_printf(&b, "{\"id\":\"%s\",\"version\":3,", d->tdx ? "TDX" : "SGX");
    json_date(&b, "issueDate", d->issue);
    json_date(&b, "nextUpdate", d->next);
    att_wbuf_printf(&b, "\"fmspc\":\"");
    att_wbuf_hex(&b, d->fmspc, 6, !d->lower);
    att_wbuf_printf(&b, "\",\"pceId\":\"%s\",\"tcbType\":0,\"tcbEvaluationDataNumber\":%d,",
                    d->pceid, d->eval_num);
    if (d->tdx) {
        att_wbuf_printf(&b, "\"tdxModule\":{");
        module_json(&b, d->module_mrsigner_wrong);
        att_wbuf_printf(&b, "},\"tdxModuleIdentities\":[");
        static const int majors[2] = {3, 1}; /* Intel's order: TDX_03, TDX_01 */
        bool first = true;
        for (size_t m = 0; m < 2; m++) {
            if (majors[m] == d->missing_major) {
                continue;
            }
            att_wbuf_printf(&b, "%s{\"id\":\"TDX_%02X\",", first ? "" : ",", (unsigned)majors[m]);
            first = false;
            module_json(&b, d->identity_mrsigner_wrong && majors[m] == d->identity_major);
            att_wbuf_printf(&b, ",\"tcbLevels\":[");
            for (size_t i = 0; i < ATT_TESTPKI_MODULE_LEVELS; i++) {
                att_wbuf_printf(
                    &b, "%s{\"tcb\":{\"isvsvn\":%d},\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"",
                    i == 0 ? "" : ",", MODULE_LEVELS[i].svn, MODULE_LEVELS[i].date,
                    MODULE_LEVELS[i].status);
                advisories_json(&b, MODULE_LEVELS[i].advisories);
                att_wbuf_printf(&b, "}");
            }
            att_wbuf_printf(&b, "]}");
        }
        att_wbuf_printf(&b, "],");
    }
    att_wbuf_printf(&b, "\"tcbLevels\":[");
    for (size_t i = 0; i < ATT_TESTPKI_LEVELS; i++) {
        att_wbuf_printf(&b, "%s{\"tcb\":{\"sgxtcbcomponents\":[", i == 0 ? "" : ",");
        for (size_t c = 0; c < 16; c++) {
            comp_json(&b, c == 0, LEVELS[i].svn, d->tdx ? SGX_COMP_KIND[c].category : NULL,
                      d->tdx ? SGX_COMP_KIND[c].type : NULL);
        }
        att_wbuf_printf(&b, "],\"pcesvn\":%d", ATT_TESTPKI_PCESVN);
        if (d->tdx) {
            att_wbuf_printf(&b, ",\"tdxtcbcomponents\":[");
            for (size_t k = 0; k < 16; k++) {
                comp_json(&b, k == 0, tdx_level_comp(i, k), k < 3 ? "OS/VMM" : NULL,
                          k < 3 ? TDX_COMP_TYPE[k] : NULL);
            }
            att_wbuf_printf(&b, "]");
        }
        att_wbuf_printf(&b, "},\"tcbDate\":\"%s\",\"tcbStatus\":\"%s\"", LEVELS[i].date,
                        LEVELS[i].status);
        advisories_json(&b, LEVELS[i].advisories);
        att_wbuf_printf(&b, "}");
    }
    att_wbuf_printf(&b, "]}");
    return att_wbuf_take_str(&b);
}

/* The SGX QE identity ("QE", isvprodid 1) or the TD QE's ("TD_QE", isvprodid 2). */
static char *qe_identity_text(int64_t issue, int64_t next, int eval_num, const uint8_t mrsigner[32],
                              bool td_qe)
{
    struct att_wbuf b = {0};
    att_wbuf_printf(&b, "{\"id\":\"%s\",\"version\":2,", td_qe ? "TD_QE" : "QE");
    json_date(&b, "issueDate", issue);
    json_date(&b, "nextUpdate", next);
    att_wbuf_printf(
        &b,
        "\"tcbEvaluationDataNumber\":%d,\"miscselect\":\"00000000\","
        "\"miscselectMask\":\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\","
        "\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"",
        eval_num);
    att_wbuf_hex(&b, mrsigner, 32, true);
    att_wbuf_printf(&b,
                    "\",\"isvprodid\":%d,\"tcbLevels\":["
                    "{\"tcb\":{\"isvsvn\":8},\"tcbDate\":\"2024-03-13T00:00:00Z\","
                    "\"tcbStatus\":\"UpToDate\"},"
                    "{\"tcb\":{\"isvsvn\":6},\"tcbDate\":\"2021-11-10T00:00:00Z\","
                    "\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-00615\"]},"
                    "{\"tcb\":{\"isvsvn\":2},\"tcbDate\":\"2019-05-15T00:00:00Z\","
                    "\"tcbStatus\":\"Revoked\"}]}",
                    td_qe ? 2 : 1);
    return att_wbuf_take_str(&b);
}

/* ================================================================================
 * The quote (docs/reference/intel-quotes.md §1).
 * ================================================================================ */

static const uint8_t INTEL_QE_VENDOR[16] = {0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C, 0x4C, 0xA9,
                                            0x94, 0x0A, 0x0D, 0xB3, 0x95, 0x7F, 0x06, 0x07};
static const uint8_t QE_ID[16] = {0x0E, 0x1D, 0x7E, 0x57, 0x00, 0x01, 0x02, 0x03,
                                  0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B};

struct body_fields {
    const uint8_t *cpusvn; /* 16 */
    uint32_t miscselect;
    uint64_t flags;
    uint64_t xfrm;
    const uint8_t *mrenclave; /* 32 */
    const uint8_t *mrsigner;  /* 32 */
    const uint8_t *configid;  /* 64 or NULL */
    uint16_t isvprodid;
    uint16_t isvsvn;
    uint16_t configsvn;
    const uint8_t *reportdata; /* 64 or NULL */
};

/* sgx_report_body_t, 384 bytes (docs/reference/intel-quotes.md §1.2). */
static void report_body(struct att_wbuf *b, const struct body_fields *f)
{
    size_t start = b->len;
    att_wbuf_put(b, f->cpusvn, 16);
    att_wbuf_u32le(b, f->miscselect);
    att_wbuf_zero(b, 12); /* reserved */
    att_wbuf_zero(b, 16); /* ISVEXTPRODID */
    att_wbuf_u64le(b, f->flags);
    att_wbuf_u64le(b, f->xfrm);
    att_wbuf_put(b, f->mrenclave, 32);
    att_wbuf_zero(b, 32);
    att_wbuf_put(b, f->mrsigner, 32);
    att_wbuf_zero(b, 32);
    if (f->configid != NULL) {
        att_wbuf_put(b, f->configid, 64);
    } else {
        att_wbuf_zero(b, 64);
    }
    att_wbuf_u16le(b, f->isvprodid);
    att_wbuf_u16le(b, f->isvsvn);
    att_wbuf_u16le(b, f->configsvn);
    att_wbuf_zero(b, 42); /* reserved */
    att_wbuf_zero(b, 16); /* ISVFAMILYID */
    if (f->reportdata != NULL) {
        att_wbuf_put(b, f->reportdata, 64);
    } else {
        att_wbuf_zero(b, 64);
    }
    if (!b->bad && b->len - start != ATT_TESTPKI_BODY_LEN) {
        b->bad = true;
    }
}

static void put_or(struct att_wbuf *b, const uint8_t *d, size_t n, unsigned fill)
{
    if (d != NULL) {
        att_wbuf_put(b, d, n);
        return;
    }
    uint8_t f[64];
    memset(f, (int)fill, sizeof(f));
    att_wbuf_put(b, f, n);
}

/* The fields of a TD report (docs/reference/intel-quotes.md §2.2, §2.4); NULL: zero (or the default
 * fill). */
struct td_fields {
    const uint8_t *tee_tcb_svn; /* 16 */
    const uint8_t *mrseam;
    const uint8_t *mrsignerseam;
    const uint8_t *seam_attributes; /* 8 */
    const uint8_t *td_attributes;   /* 8 */
    const uint8_t *xfam;            /* 8 */
    const uint8_t *mrtd;
    const uint8_t *mrconfigid;
    const uint8_t *mrowner;
    const uint8_t *mrownerconfig;
    const uint8_t *rtmr[4];
    const uint8_t *reportdata;   /* 64 */
    const uint8_t *tee_tcb_svn2; /* 16, 1.5 only */
    const uint8_t *mrservicetd;  /* 1.5 only */
};

/* TD report 1.0 (584 bytes) or 1.5 (648 bytes). */
static void td_report_body(struct att_wbuf *b, const struct td_fields *f, bool v15)
{
    size_t start = b->len;
    att_wbuf_put(b, f->tee_tcb_svn, 16);
    put_or(b, f->mrseam, 48, 0x5E);
    put_or(b, f->mrsignerseam, 48, 0);
    put_or(b, f->seam_attributes, 8, 0);
    att_wbuf_put(b, f->td_attributes, 8);
    att_wbuf_put(b, f->xfam, 8);
    put_or(b, f->mrtd, 48, 0x7D);
    put_or(b, f->mrconfigid, 48, 0);
    put_or(b, f->mrowner, 48, 0);
    put_or(b, f->mrownerconfig, 48, 0);
    for (unsigned i = 0; i < 4; i++) {
        put_or(b, f->rtmr[i], 48, 0xA0 + i);
    }
    put_or(b, f->reportdata, 64, 0);
    if (v15) {
        put_or(b, f->tee_tcb_svn2 != NULL ? f->tee_tcb_svn2 : f->tee_tcb_svn, 16, 0);
        put_or(b, f->mrservicetd, 48, 0);
    }
    size_t want = v15 ? ATT_TESTPKI_TD15_BODY_LEN : ATT_TESTPKI_TD10_BODY_LEN;
    if (!b->bad && b->len - start != want) {
        b->bad = true;
    }
}

/* ================================================================================
 * Assembly.
 * ================================================================================ */

static const uint8_t DEFAULT_FMSPC[6] = {0x00, 0x90, 0x6E, 0xD5, 0x00, 0x00};
static const uint8_t TDX_FMSPC[6] = {0x00, 0x80, 0x6F, 0x05, 0x00, 0x00};
static const uint8_t QE_MRENCLAVE[32] = {
    0x9E, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F};
static const uint8_t QE_MRSIGNER[32] = {
    0x5E, 0x7E, 0x57, 0x0E, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB};
/* The TD QE: another enclave, another signer (the real one is DC9E2A7C...). */
static const uint8_t TD_QE_MRENCLAVE[32] = {
    0x7D, 0x0E, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x7D};
static const uint8_t TD_QE_MRSIGNER[32] = {
    0xDC, 0x7E, 0x57, 0x0E, 0x7D, 0x0E, 0xCC, 0xDD, 0xEE, 0xFF, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x01, 0x23, 0x45, 0x67, 0x89, 0xDC};

static bool in_range(int v, int lo, int hi, const char *name)
{
    if (v < lo || v > hi) {
        fprintf(stderr, "testpki: %s %d out of range %d..%d\n", name, v, lo, hi);
        return false;
    }
    return true;
}

/* What a TDX quote's body is made of (the v5 type field may say otherwise). */
enum body_kind { BODY_SGX, BODY_TD10, BODY_TD15 };

/* Everything one build works on; p is handed to the caller on success. */
struct build {
    const struct att_testpki_opts *o;
    struct att_testpki p;
    int64_t now;
    struct pck_tcb tcb;
    int qe_isvsvn;
    int eval_num;
    /* TDX (tdx != 0). */
    bool tdx;
    int body_type; /* v5 type field */
    enum body_kind body_kind;
    uint8_t tee_tcb_svn[16];
    uint8_t tee_tcb_svn2[16];
    /* The untrusted signer pair (tcb_info_untrusted_signer, qe_identity_untrusted_signer). */
    X509 *rogue_root;
    EVP_PKEY *rogue_root_key;
    X509 *rogue;
    EVP_PKEY *rogue_key;
};

/* ---- The status the levels give (docs/reference/dcap-verification.md §5.1-§5.6):
 * att_testpki.expected_status ---- */

enum { L_UPTODATE = 0, L_SWHN = 1, L_CN = 2, L_CSWHN = 3, L_OOD = 4, L_OODCN = 5, L_REVOKED = 6 };

static bool sgx_level_ok(const struct build *b, size_t i)
{
    for (size_t c = 0; c < 16; c++) {
        if (b->tcb.comp[c] < LEVELS[i].svn) {
            return false;
        }
    }
    return b->tcb.pcesvn >= ATT_TESTPKI_PCESVN;
}

static bool tdx_level_ok(const uint8_t svn[16], size_t i)
{
    for (size_t k = svn[1] > 0 ? 2 : 0; k < 16; k++) {
        if (svn[k] < tdx_level_comp(i, k)) {
            return false;
        }
    }
    return true;
}

/* Module level index (0 UpToDate, 1 OutOfDate, 2 Revoked) for a module svn; -1 below. */
static int module_level(unsigned svn)
{
    for (int i = 0; i < ATT_TESTPKI_MODULE_LEVELS; i++) {
        if (svn >= (unsigned)MODULE_LEVELS[i].svn) {
            return i;
        }
    }
    return -1;
}

static bool has_identity(const struct build *b, unsigned major)
{
    return (major == 1 || major == 3) &&
           !(b->o->tdx_module_identity_missing && major == b->tee_tcb_svn[1]);
}

/* convergeTcbStatusWithTdxModuleStatus / convergeTcbStatusWithQeTcbStatus: an OutOfDate
 * module or QE lowers the status, a Revoked one revokes it. */
static int converge(int level, int other_ood_or_revoked)
{
    if (other_ood_or_revoked == L_OOD) {
        if (level == L_UPTODATE || level == L_SWHN) {
            return L_OOD;
        }
        if (level == L_CN || level == L_CSWHN) {
            return L_OODCN;
        }
    }
    return other_ood_or_revoked == L_REVOKED ? L_REVOKED : level;
}

static bool config_needed(int level)
{
    return level == L_CN || level == L_CSWHN || level == L_OODCN;
}

static const char *expected_status(const struct build *b)
{
    static const int AS_LEVEL[3] = {L_UPTODATE, L_OOD, L_REVOKED};
    const uint8_t *svn = b->tee_tcb_svn;
    /* §5 step 7: the module identity is looked up before anything is judged. */
    if (b->tdx && svn[1] > 0 && !has_identity(b, svn[1])) {
        return "TdxModuleMismatch";
    }
    /* §5 step 10: the QE level. */
    int qe;
    if (b->qe_isvsvn >= 8) {
        qe = L_UPTODATE;
    } else if (b->qe_isvsvn >= 6) {
        qe = L_OOD;
    } else if (b->qe_isvsvn >= 2) {
        qe = L_REVOKED;
    } else {
        return "NotSupported";
    }
    /* §5.1, §5.2: the SGX level, and the first level passing both. */
    int sgx = -1;
    int plat = -1;
    for (size_t i = 0; i < ATT_TESTPKI_LEVELS && plat < 0; i++) {
        if (sgx_level_ok(b, i)) {
            sgx = sgx < 0 ? (int)i : sgx;
            if (!b->tdx || tdx_level_ok(svn, i)) {
                plat = (int)i;
            }
        }
    }
    if (plat < 0) {
        return "NotSupported";
    }
    if (b->tdx && svn[1] > 0) {
        /* §5.3: the module level, folded into the platform status. */
        int mod = module_level(svn[0]);
        if (mod < 0) {
            return "NotSupported";
        }
        plat = converge(plat, AS_LEVEL[mod]);
        if (plat == L_REVOKED) {
            return "Revoked";
        }
        /* §5.6: TD relaunch, v5 TD report 1.5 only. */
        const uint8_t *svn2 = b->tee_tcb_svn2;
        if (b->body_kind == BODY_TD15 && b->body_type == 3 && qe == L_UPTODATE && sgx <= L_CSWHN &&
            (plat == L_OOD || plat == L_OODCN) && mod == 1) {
            int need = svn2[1] == 0 ? ATT_TESTPKI_TDX_LEVEL_MODULE_SVN : MODULE_LEVELS[0].svn;
            if (svn2[1] != 0 && !has_identity(b, svn2[1])) {
                return "TdxModuleMismatch";
            }
            if (svn2[0] >= need && svn2[2] >= tdx_level_comp(0, 2)) {
                return config_needed(sgx) || config_needed(plat)
                           ? "TDRelaunchAdvisedConfigurationNeeded"
                           : "TDRelaunchAdvised";
            }
        }
    }
    if (plat == L_REVOKED) {
        return "Revoked";
    }
    return LEVELS[converge(plat, qe)].status;
}

/* Defaults for zero knobs, range checks, and the PCK's TCB. */
static int resolve_knobs(struct build *b)
{
    const struct att_testpki_opts *o = b->o;
    int comp_svn = o->comp_svn != 0 ? o->comp_svn : ATT_TESTPKI_COMP_SVN;
    int pcesvn = o->pcesvn != 0 ? o->pcesvn : ATT_TESTPKI_PCESVN;
    int tdx_tcb_svn = o->tdx_tcb_svn != 0 ? o->tdx_tcb_svn : ATT_TESTPKI_TDX_TCB_SVN;
    int module_svn = o->tdx_module_svn != 0 ? o->tdx_module_svn : ATT_TESTPKI_TDX_MODULE_SVN;
    int major = o->tdx_module_major == 0    ? ATT_TESTPKI_TDX_MODULE_MAJOR
                : o->tdx_module_major == -1 ? 0
                                            : o->tdx_module_major;
    b->qe_isvsvn = o->qe_isvsvn != 0 ? o->qe_isvsvn : ATT_TESTPKI_QE_ISVSVN;
    b->eval_num = o->tcb_eval_num != 0 ? o->tcb_eval_num : ATT_TESTPKI_TCB_EVAL_NUM;
    if (!in_range(comp_svn, 0, 255, "comp_svn") || !in_range(pcesvn, 0, 65535, "pcesvn") ||
        !in_range(b->qe_isvsvn, 0, 65535, "qe_isvsvn") ||
        !in_range(o->comp_override_index, 0, 16, "comp_override_index") ||
        !in_range(o->comp_override_svn, 0, 255, "comp_override_svn") ||
        !in_range(o->sgx_type, 0, 2, "sgx_type") ||
        !in_range(b->eval_num, 0, 1 << 30, "tcb_eval_num")) {
        return -1;
    }
    if ((o->tdx != 0 && o->tdx != 4 && o->tdx != 5) ||
        !in_range(o->tdx_body_type, 0, o->tdx == 5 ? 3 : 0, "tdx_body_type") ||
        (o->tdx_body_size_mismatch && o->tdx != 5) ||
        !in_range(tdx_tcb_svn, 0, 255, "tdx_tcb_svn") ||
        !in_range(module_svn, 0, 255, "tdx_module_svn") ||
        !in_range(o->tdx_module_major, -1, 255, "tdx_module_major")) {
        fprintf(stderr,
                "testpki: bad TDX knobs (tdx %d: 0, 4 or 5; body type and size "
                "mismatch for v5 only)\n",
                o->tdx);
        return -1;
    }
    b->now = o->now != 0 ? o->now : (int64_t)time(NULL);
    b->p.now = b->now;
    memset(b->tcb.comp, comp_svn, sizeof(b->tcb.comp));
    if (o->comp_override_index != 0) {
        b->tcb.comp[o->comp_override_index - 1] = (uint8_t)o->comp_override_svn;
    }
    b->tcb.pcesvn = (unsigned)pcesvn;
    memcpy(b->tcb.cpusvn, o->cpu_svn != NULL ? o->cpu_svn : b->tcb.comp, 16);
    b->tdx = o->tdx != 0;
    memcpy(b->p.fmspc, o->fmspc != NULL ? o->fmspc : b->tdx ? TDX_FMSPC : DEFAULT_FMSPC, 6);
    memcpy(b->p.qe_mrsigner, b->tdx ? TD_QE_MRSIGNER : QE_MRSIGNER, 32);
    b->p.quote_version = b->tdx ? o->tdx : 3;
    if (b->tdx) {
        if (o->tee_tcb_svn != NULL) {
            memcpy(b->tee_tcb_svn, o->tee_tcb_svn, 16);
        } else {
            b->tee_tcb_svn[0] = (uint8_t)module_svn;
            b->tee_tcb_svn[1] = (uint8_t)major;
            b->tee_tcb_svn[2] = (uint8_t)tdx_tcb_svn;
        }
        memcpy(b->tee_tcb_svn2, o->tee_tcb_svn2 != NULL ? o->tee_tcb_svn2 : b->tee_tcb_svn, 16);
        memcpy(b->p.tee_tcb_svn, b->tee_tcb_svn, 16);
        /* The body written: what the type says, or with tdx_body_size_mismatch the other TD
         * report (TD 1.0 for types 3 and 1, TD 1.5 for type 2). */
        b->body_type = o->tdx == 5 ? (o->tdx_body_type != 0 ? o->tdx_body_type : 3) : 0;
        if (o->tdx == 4) {
            b->body_kind = BODY_TD10;
        } else if (o->tdx_body_size_mismatch) {
            b->body_kind = b->body_type == 2 ? BODY_TD15 : BODY_TD10;
        } else {
            b->body_kind = b->body_type == 1 ? BODY_SGX : b->body_type == 2 ? BODY_TD10 : BODY_TD15;
        }
    }
    b->p.expected_status = expected_status(b);
    return 0;
}

/* Keys and certificates (docs/reference/intel-collateral.md §3.1); the untrusted pair only when
 * asked for. */
static int build_certs(struct build *b)
{
    const struct att_testpki_opts *o = b->o;
    struct att_testpki *p = &b->p;
    const int64_t now = b->now;
    const int64_t day = ATT_TESTPKI_DAY;
    struct att_wbuf ext = {0};
    int rc = -1;

    p->root_key = gen_p256();
    p->pck_ca_key = gen_p256();
    p->pck_leaf_key = gen_p256();
    p->tcb_signer_key = gen_p256();
    p->attest_key = gen_p256();
    if (p->root_key == NULL || p->pck_ca_key == NULL || p->pck_leaf_key == NULL ||
        p->tcb_signer_key == NULL || p->attest_key == NULL) {
        goto out;
    }
    sgx_ext_der(&ext, &b->tcb, p->fmspc, (unsigned)o->sgx_type, o->pck_ca_platform);
    struct cert_spec root = {
        .kind = CERT_ROOT,
        .cn = "Test SGX Root CA",
        .key = p->root_key,
        .issuer_key = p->root_key,
        .not_before = now - 30 * day,
        .not_after = now + 3650 * day,
        .crl_url = ROOT_CRL_URL,
    };
    struct cert_spec ca = {
        .kind = CERT_CA,
        .cn = o->pck_ca_platform ? "Test SGX PCK Platform CA" : "Test SGX PCK Processor CA",
        .key = p->pck_ca_key,
        .issuer_key = p->root_key,
        .not_before = now - 30 * day,
        .not_after = now + 1825 * day,
        .crl_url = ROOT_CRL_URL,
    };
    struct cert_spec leaf = {
        .kind = CERT_PCK,
        .cn = "Test SGX PCK Certificate",
        .key = p->pck_leaf_key,
        .issuer_key = p->pck_ca_key,
        .not_before = now - 30 * day + o->pck_cert_date_shift,
        .not_after = now + 365 * day + o->pck_cert_date_shift,
        .crl_url = o->pck_ca_platform ? PCK_CRL_URL_PLATFORM : PCK_CRL_URL_PROCESSOR,
        .sgx_ext = &ext,
    };
    struct cert_spec signer = {
        .kind = CERT_SIGNER,
        .cn = "Test SGX TCB Signing",
        .key = p->tcb_signer_key,
        .issuer_key = p->root_key,
        .not_before = now - 30 * day,
        .not_after = now + 365 * day,
        .crl_url = ROOT_CRL_URL,
    };
    p->root = make_cert(&root);
    ca.issuer = signer.issuer = p->root;
    p->pck_ca = p->root != NULL ? make_cert(&ca) : NULL;
    leaf.issuer = p->pck_ca;
    p->pck_leaf = p->pck_ca != NULL ? make_cert(&leaf) : NULL;
    p->tcb_signer = p->root != NULL ? make_cert(&signer) : NULL;
    if (p->pck_leaf == NULL || p->tcb_signer == NULL) {
        goto out;
    }
    if (o->tcb_info_untrusted_signer || o->qe_identity_untrusted_signer) {
        /* Same names and shape, another key: a chain that only looks like ours. */
        b->rogue_root_key = gen_p256();
        b->rogue_key = gen_p256();
        if (b->rogue_root_key == NULL || b->rogue_key == NULL) {
            goto out;
        }
        root.key = root.issuer_key = b->rogue_root_key;
        b->rogue_root = make_cert(&root);
        signer.key = b->rogue_key;
        signer.issuer = b->rogue_root;
        signer.issuer_key = b->rogue_root_key;
        b->rogue = b->rogue_root != NULL ? make_cert(&signer) : NULL;
        if (b->rogue == NULL) {
            goto out;
        }
    }
    rc = 0;
out:
    att_wbuf_free(&ext);
    return rc;
}

/* Root CA CRL (by the root) and PCK CRL (by the PCK CA). */
static int build_crls(struct build *b)
{
    const struct att_testpki_opts *o = b->o;
    struct att_testpki *p = &b->p;
    const int64_t now = b->now;
    const int64_t day = ATT_TESTPKI_DAY;
    X509 *root_revoked[2];
    size_t n_root = 0;
    if (o->revoke_pck_ca) {
        root_revoked[n_root++] = p->pck_ca;
    }
    if (o->revoke_tcb_signer) {
        root_revoked[n_root++] = p->tcb_signer;
    }
    p->root_crl =
        make_crl(p->root, p->root_key, now - day + o->root_crl_date_shift,
                 now + 29 * day + o->root_crl_date_shift, root_revoked, n_root, now - 2 * day);
    p->pck_crl = make_crl(p->pck_ca, p->pck_ca_key, now - day + o->pck_crl_date_shift,
                          now + 29 * day + o->pck_crl_date_shift, &p->pck_leaf,
                          o->revoke_pck ? 1 : 0, now - 2 * day);
    return p->root_crl != NULL && p->pck_crl != NULL ? 0 : -1;
}

/* TCB info and QE identity, signed over the exact text (docs/reference/intel-collateral.md §4.4).
 */
static int build_documents(struct build *b)
{
    const struct att_testpki_opts *o = b->o;
    struct att_testpki *p = &b->p;
    const int64_t now = b->now;
    const int64_t day = ATT_TESTPKI_DAY;
    /* The documents of the quote's TEE, or of the other one when asked. */
    bool td_doc = b->tdx != o->tcb_info_other_tee;
    bool td_qe = b->tdx != o->qe_identity_other_tee;
    uint8_t id_mrsigner[32];
    memcpy(id_mrsigner, td_qe ? TD_QE_MRSIGNER : QE_MRSIGNER, 32);
    if (o->qe_identity_mrsigner_wrong) {
        id_mrsigner[31] ^= 0x01;
    }
    struct tcb_doc doc = {
        .issue = now - day + o->tcb_info_date_shift,
        .next = now + 29 * day + o->tcb_info_date_shift,
        .fmspc = o->tcb_info_fmspc != NULL ? o->tcb_info_fmspc : p->fmspc,
        .lower = o->tcb_info_fmspc_lowercase,
        .pceid = o->pceid_mismatch ? "0001" : "0000",
        .eval_num = b->eval_num,
        .tdx = td_doc,
        .missing_major = o->tdx_module_identity_missing ? b->tee_tcb_svn[1] : -1,
        .identity_mrsigner_wrong = o->tdx_module_identity_mrsigner_wrong,
        .identity_major = b->tee_tcb_svn[1],
        .module_mrsigner_wrong = o->tdx_module_mrsigner_wrong,
    };
    p->tcb_info = tcb_info_text(&doc);
    p->qe_identity = qe_identity_text(now - day + o->qe_identity_date_shift,
                                      now + 29 * day + o->qe_identity_date_shift, b->eval_num,
                                      id_mrsigner, td_qe);
    if (p->tcb_info == NULL || p->qe_identity == NULL ||
        sign_rs(o->tcb_info_untrusted_signer ? b->rogue_key : p->tcb_signer_key, p->tcb_info,
                strlen(p->tcb_info), p->tcb_info_sig) != 0 ||
        sign_rs(o->qe_identity_untrusted_signer ? b->rogue_key : p->tcb_signer_key, p->qe_identity,
                strlen(p->qe_identity), p->qe_identity_sig) != 0) {
        return -1;
    }
    if (o->corrupt_tcb_info_sig) {
        p->tcb_info_sig[63] ^= 0x01;
    }
    if (o->corrupt_qe_identity_sig) {
        p->qe_identity_sig[63] ^= 0x01;
    }
    return 0;
}

/* The SGX ECDSA quote v3 (docs/reference/intel-quotes.md §1), or a TDX quote v4/v5 (§2). */
static int build_quote(struct build *b)
{
    const struct att_testpki_opts *o = b->o;
    struct att_testpki *p = &b->p;
    struct att_testpki_offsets *off = &p->off;
    struct att_wbuf q = {0};
    struct att_wbuf chain = {0};
    struct att_wbuf qe_report = {0};
    int rc = -1;

    /* Certification data: type 5, PEM chain leaf, CA, root (+ NUL), §1.4. */
    X509 *leaf_first[3] = {p->pck_leaf, p->pck_ca, p->root};
    X509 *root_first[3] = {p->root, p->pck_ca, p->pck_leaf};
    for (size_t i = 0; i < 3; i++) {
        att_pkix_pem_append(&chain, o->chain_root_first ? root_first[i] : leaf_first[i]);
    }
    if (chain.bad) {
        goto out;
    }
    size_t cert_len = chain.len + (o->no_trailing_nul ? 0 : 1);

    /* Header (48 bytes, §1.1, §2.1). TDX: TEE type 0x81, the SVN word reserved (zero). */
    uint8_t default_mrenclave[32];
    uint8_t default_mrsigner[32];
    memset(default_mrenclave, 0xE1, sizeof(default_mrenclave));
    memset(default_mrsigner, 0x51, sizeof(default_mrsigner));
    att_wbuf_u16le(&q, (unsigned)p->quote_version);           /* version */
    att_wbuf_u16le(&q, 2);                                    /* ECDSA-256 with P-256 */
    att_wbuf_u32le(&q, b->tdx ? 0x81u : 0u);                  /* tee_type */
    att_wbuf_u16le(&q, b->tdx ? 0u : (unsigned)b->qe_isvsvn); /* qe_svn */
    att_wbuf_u16le(&q, b->tdx ? 0u : b->tcb.pcesvn);          /* pce_svn */
    att_wbuf_put(&q, INTEL_QE_VENDOR, 16);
    att_wbuf_put(&q, QE_ID, 16); /* user_data: QE-ID, then 4 zero bytes */
    att_wbuf_zero(&q, 4);
    /* The body: ISV enclave report (384 bytes, §1.2) or TD report (§2.2, §2.4); v5 puts the
     * body type and size first. */
    struct body_fields isv = {
        .cpusvn = b->tcb.cpusvn,
        .miscselect = 0,
        .flags = ATT_TESTPKI_ATTR_FLAGS | (o->debug ? 0x2u : 0u),
        .xfrm = ATT_TESTPKI_ATTR_XFRM,
        .mrenclave = o->mr_enclave != NULL ? o->mr_enclave : default_mrenclave,
        .mrsigner = o->mr_signer != NULL ? o->mr_signer : default_mrsigner,
        .configid = o->config_id,
        .isvprodid = o->isv_prod_id,
        .isvsvn = o->isv_svn,
        .configsvn = o->config_svn,
        .reportdata = o->report_data,
    };
    uint8_t td_attr[8] = {0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00};
    uint8_t xfam[8] = {0xE7, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00};
    if (o->td_attributes != NULL) {
        memcpy(td_attr, o->td_attributes, 8);
    }
    if (o->debug) {
        td_attr[0] |= 0x01; /* TDATTRIBUTES.DEBUG */
    }
    if (o->xfam != NULL) {
        memcpy(xfam, o->xfam, 8);
    }
    struct td_fields td = {
        .tee_tcb_svn = b->tee_tcb_svn,
        .mrseam = o->mr_seam,
        .mrsignerseam = o->mr_signer_seam,
        .seam_attributes = o->seam_attributes,
        .td_attributes = td_attr,
        .xfam = xfam,
        .mrtd = o->mr_td,
        .mrconfigid = o->mr_config_id,
        .mrowner = o->mr_owner,
        .mrownerconfig = o->mr_owner_config,
        .rtmr = {o->rtmr[0], o->rtmr[1], o->rtmr[2], o->rtmr[3]},
        .reportdata = o->report_data,
        .tee_tcb_svn2 = b->tee_tcb_svn2,
        .mrservicetd = o->mr_service_td,
    };
    if (!b->tdx) {
        off->body = q.len;
        report_body(&q, &isv);
    } else {
        size_t body_len = b->body_kind == BODY_SGX    ? ATT_TESTPKI_BODY_LEN
                          : b->body_kind == BODY_TD10 ? ATT_TESTPKI_TD10_BODY_LEN
                                                      : ATT_TESTPKI_TD15_BODY_LEN;
        if (p->quote_version == 5) {
            att_wbuf_u16le(&q, (unsigned)b->body_type);
            att_wbuf_u32le(&q, (uint32_t)body_len);
        }
        off->body = q.len;
        if (b->body_kind == BODY_SGX) {
            report_body(&q, &isv);
        } else {
            td_report_body(&q, &td, b->body_kind == BODY_TD15);
        }
    }
    off->body_len = q.len - off->body;
    off->signed_len = q.len;
    if (q.bad) {
        goto out;
    }

    /* Signature data (§1.3, §2.5): quote signature by the attestation key over the signed
     * span (header || body; v5: header || type || size || body). */
    uint8_t quote_sig[64];
    uint8_t att_pub[64];
    uint8_t auth[ATT_TESTPKI_QE_AUTH_LEN];
    for (size_t i = 0; i < sizeof(auth); i++) {
        auth[i] = (uint8_t)i;
    }
    if (sign_rs(p->attest_key, q.p, q.len, quote_sig) != 0 || pub_xy(p->attest_key, att_pub) != 0) {
        goto out;
    }
    if (o->corrupt_quote_sig) {
        quote_sig[63] ^= 0x01;
    }
    /* "QE REPORTDATA[0..31] = SHA-256(attestation public key || QE auth data) and
     * QE REPORTDATA[32..63] = zero." */
    uint8_t qe_rd[64] = {0};
    uint8_t bind_in[64 + sizeof(auth)];
    unsigned int md_len = 0;
    memcpy(bind_in, att_pub, 64);
    memcpy(bind_in + 64, auth, sizeof(auth));
    if (EVP_Digest(bind_in, sizeof(bind_in), qe_rd, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len != 32) {
        goto out;
    }
    if (o->corrupt_qe_report_data) {
        qe_rd[0] ^= 0x01;
    }
    /* The QE's own report (the SGX QE, or the TD QE for TDX), as its identity describes it;
     * signed by the PCK key. */
    unsigned prodid = b->tdx ? 2 : 1;
    if (o->qe_isvprodid_wrong) {
        prodid = 3 - prodid;
    }
    struct body_fields qe = {
        .cpusvn = b->tcb.cpusvn,
        .miscselect = 0,
        .flags = 0x15u | (o->qe_attributes_mismatch ? 0x2u : 0u), /* INIT|MODE64BIT|PROVKEY */
        .xfrm = ATT_TESTPKI_ATTR_XFRM,
        .mrenclave = b->tdx ? TD_QE_MRENCLAVE : QE_MRENCLAVE,
        .mrsigner = p->qe_mrsigner,
        .isvprodid = (uint16_t)prodid,
        .isvsvn = (uint16_t)b->qe_isvsvn,
        .reportdata = qe_rd,
    };
    report_body(&qe_report, &qe);
    uint8_t qe_sig[64];
    if (qe_report.bad || sign_rs(p->pck_leaf_key, qe_report.p, qe_report.len, qe_sig) != 0) {
        goto out;
    }
    if (o->corrupt_qe_report_sig) {
        qe_sig[63] ^= 0x01;
    }
    /* QE part: QE report, its signature, auth data, then type 5 and the chain. */
    size_t qe_part_len = ATT_TESTPKI_BODY_LEN + 64 + 2 + sizeof(auth) + 2 + 4 + cert_len;
    size_t sig_len = 64 + 64 + (b->tdx ? 2 + 4 : 0) + qe_part_len;
    off->sig_len = q.len;
    att_wbuf_u32le(&q, (uint32_t)sig_len);
    off->quote_sig = q.len;
    att_wbuf_put(&q, quote_sig, 64);
    off->att_key = q.len;
    att_wbuf_put(&q, att_pub, 64);
    if (b->tdx) {
        /* Type 6: QE report certification data wrapping type 5 (§2.5). */
        off->cert_type = q.len;
        att_wbuf_u16le(&q, 6);
        off->cert_len = q.len;
        att_wbuf_u32le(&q, (uint32_t)qe_part_len);
    }
    off->qe_report = q.len;
    att_wbuf_put(&q, qe_report.p, qe_report.len);
    off->qe_report_sig = q.len;
    att_wbuf_put(&q, qe_sig, 64);
    off->qe_auth_len = q.len;
    att_wbuf_u16le(&q, (unsigned)sizeof(auth));
    att_wbuf_put(&q, auth, sizeof(auth));
    off->pck_cert_type = q.len;
    att_wbuf_u16le(&q, 5); /* PCK_CERT_CHAIN */
    off->pck_cert_len = q.len;
    att_wbuf_u32le(&q, (uint32_t)cert_len);
    off->pck_cert_data = q.len;
    att_wbuf_put(&q, chain.p, chain.len);
    if (!o->no_trailing_nul) {
        att_wbuf_u8(&q, 0);
    }
    if (!b->tdx) {
        off->cert_type = off->pck_cert_type;
        off->cert_len = off->pck_cert_len;
    }
    if (q.bad || q.len != off->signed_len + 4 + sig_len ||
        (!b->tdx && q.len != ATT_TESTPKI_SIGNED_LEN + 4 + sig_len)) {
        goto out;
    }
    p->pck_chain_pem = att_wbuf_take_str(&chain);
    if (p->pck_chain_pem == NULL) {
        goto out;
    }
    p->quote = q.p;
    p->quote_len = q.len;
    memset(&q, 0, sizeof(q));
    rc = 0;
out:
    att_wbuf_free(&qe_report);
    att_wbuf_free(&chain);
    att_wbuf_free(&q);
    return rc;
}

/* The bundle: dcap-qvl QuoteCollateralV3 layout (MANIFEST.md "Conventions"). */
static int build_bundle(struct build *b)
{
    const struct att_testpki_opts *o = b->o;
    struct att_testpki *p = &b->p;
    X509 *ca_chain[2] = {p->pck_ca, p->root};
    X509 *tcb_chain[2] = {p->tcb_signer, p->root};
    X509 *rogue_chain[2] = {b->rogue, b->rogue_root};
    struct att_wbuf tsig = {0};
    struct att_wbuf qsig = {0};
    json_t *bundle = NULL;
    int rc = -1;

    p->root_pem = att_pkix_pem_of(&p->root, 1);
    p->pck_crl_issuer_pem = att_pkix_pem_of(ca_chain, 2);
    p->tcb_issuer_pem = att_pkix_pem_of(o->tcb_info_untrusted_signer ? rogue_chain : tcb_chain, 2);
    p->qe_id_issuer_pem =
        att_pkix_pem_of(o->qe_identity_untrusted_signer ? rogue_chain : tcb_chain, 2);
    char *root_crl = crl_hex(p->root_crl);
    char *pck_crl = crl_hex(p->pck_crl);
    att_wbuf_hex(&tsig, p->tcb_info_sig, 64, false);
    att_wbuf_hex(&qsig, p->qe_identity_sig, 64, false);
    char *tsig_s = att_wbuf_take_str(&tsig);
    char *qsig_s = att_wbuf_take_str(&qsig);
    if (p->root_pem == NULL || p->pck_crl_issuer_pem == NULL || p->tcb_issuer_pem == NULL ||
        p->qe_id_issuer_pem == NULL || root_crl == NULL || pck_crl == NULL || tsig_s == NULL ||
        qsig_s == NULL) {
        goto out;
    }
    const char *const keys[9] = {
        "pck_crl_issuer_chain",     "root_ca_crl", "pck_crl",
        "tcb_info_issuer_chain",    "tcb_info",    "tcb_info_signature",
        "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature"};
    const char *const vals[9] = {p->pck_crl_issuer_pem, root_crl,       pck_crl,
                                 p->tcb_issuer_pem,     p->tcb_info,    tsig_s,
                                 p->qe_id_issuer_pem,   p->qe_identity, qsig_s};
    bundle = json_object();
    if (bundle == NULL) {
        goto out;
    }
    for (size_t i = 0; i < 9; i++) {
        if (json_object_set_new(bundle, keys[i], json_string(vals[i])) != 0) {
            goto out;
        }
    }
    p->bundle_json = json_dumps(bundle, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    rc = p->bundle_json != NULL ? 0 : -1;
out:
    json_decref(bundle);
    free(root_crl);
    free(pck_crl);
    free(tsig_s);
    free(qsig_s);
    return rc;
}

int att_testpki_build(const struct att_testpki_opts *opts, struct att_testpki *out)
{
    static const struct att_testpki_opts defaults;
    struct build b;
    memset(&b, 0, sizeof(b));
    memset(out, 0, sizeof(*out));
    b.o = opts != NULL ? opts : &defaults;

    int rc = resolve_knobs(&b);
    if (rc == 0) {
        rc = build_certs(&b);
    }
    if (rc == 0) {
        rc = build_crls(&b);
    }
    if (rc == 0) {
        rc = build_documents(&b);
    }
    if (rc == 0) {
        rc = build_quote(&b);
    }
    if (rc == 0) {
        rc = build_bundle(&b);
    }
    X509_free(b.rogue_root);
    X509_free(b.rogue);
    EVP_PKEY_free(b.rogue_root_key);
    EVP_PKEY_free(b.rogue_key);
    if (rc != 0) {
        fprintf(stderr, "testpki: build failed\n");
        att_testpki_free(&b.p);
        return -1;
    }
    *out = b.p;
    return 0;
}

void att_testpki_free(struct att_testpki *pki)
{
    if (pki == NULL) {
        return;
    }
    free(pki->quote);
    free(pki->bundle_json);
    free(pki->root_pem);
    free(pki->pck_chain_pem);
    free(pki->pck_crl_issuer_pem);
    free(pki->tcb_issuer_pem);
    free(pki->qe_id_issuer_pem);
    free(pki->tcb_info);
    free(pki->qe_identity);
    X509_CRL_free(pki->root_crl);
    X509_CRL_free(pki->pck_crl);
    X509_free(pki->root);
    X509_free(pki->pck_ca);
    X509_free(pki->pck_leaf);
    X509_free(pki->tcb_signer);
    EVP_PKEY_free(pki->root_key);
    EVP_PKEY_free(pki->pck_ca_key);
    EVP_PKEY_free(pki->pck_leaf_key);
    EVP_PKEY_free(pki->tcb_signer_key);
    EVP_PKEY_free(pki->attest_key);
    memset(pki, 0, sizeof(*pki));
}
