/*
 * amd_testpki.c - a test AMD SEV-SNP PKI and attestation report built in code (see
 * amd_testpki.h).
 *
 * Test-only: trusted input (the caller's knobs), fresh keys per build. Layout references are to
 * docs/reference/amd-sev-snp.md (section numbers as in its README.md).
 */
#include "amd_testpki.h"
#include "demo/pkix.h"
#include "demo/wbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

/* Hand over the bytes as a blob; false (and nothing to free) on failure. */
static bool take_blob(struct att_wbuf *b, struct amd_testpki_blob *out)
{
    bool ok = !b->bad && b->len > 0;
    if (ok) {
        out->p = b->p;
        out->len = b->len;
    } else {
        free(b->p);
    }
    memset(b, 0, sizeof(*b));
    return ok;
}

/* ================================================================================
 * A small DER writer (AMD's extensions, the RSASSA-PSS AlgorithmIdentifier, the signed
 * certificate and CRL) and a header reader for the DER OpenSSL writes (trusted input).
 * ================================================================================ */

/*
 * Header of the DER TLV at p[0..n): single-byte tag, header length and content length. Our own
 * or OpenSSL's output only (definite lengths of at most 3 bytes); -1 if it does not fit in n.
 */
static int der_head(const uint8_t *p, size_t n, unsigned *tag, size_t *hdr, size_t *len)
{
    if (n < 2) {
        return -1;
    }
    *tag = p[0];
    size_t l = p[1];
    size_t h = 2;
    if (l & 0x80) {
        size_t k = l & 0x7F;
        if (k == 0 || k > 3 || n < 2 + k) {
            return -1;
        }
        l = 0;
        for (size_t i = 0; i < k; i++) {
            l = (l << 8) | p[2 + i];
        }
        h = 2 + k;
    }
    if (l > n - h) {
        return -1;
    }
    *hdr = h;
    *len = l;
    return 0;
}

/* ================================================================================
 * RSASSA-PSS as AMD uses it (§6.6) and the signed envelope of certificates and CRLs.
 *
 * OpenSSL cannot write the trailerField that AMD's ARK and ASK certificates state explicitly,
 * and it writes a TBS only once a signature algorithm is set. So a certificate or CRL is first
 * signed by OpenSSL (a placeholder), then its TBS gets our AlgorithmIdentifier in place of the
 * placeholder's, is signed again with those PSS parameters, and the Certificate (CertificateList)
 * SEQUENCE { tbs, signatureAlgorithm, signatureValue } is assembled here.
 * ================================================================================ */

struct pss {
    const EVP_MD *md; /* hash and MGF1 hash */
    int salt_len;
    bool trailer; /* trailerField [3] INTEGER 1 written out */
};

static struct pss pss_of(enum amd_testpki_pss v, bool trailer)
{
    struct pss p = {EVP_sha384(), 48, trailer};
    if (v == AMD_TESTPKI_PSS_SALT32) {
        p.salt_len = 32;
    } else if (v == AMD_TESTPKI_PSS_SHA256) {
        p.md = EVP_sha256();
    }
    return p;
}

/* 1.2.840.113549.1.1.10 id-RSASSA-PSS, 1.2.840.113549.1.1.8 id-mgf1 (RFC 8017 Appendix C). */
static const uint8_t OID_RSASSA_PSS[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A};
static const uint8_t OID_MGF1[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x08};
/* 2.16.840.1.101.3.4.2.2 id-sha384, 2.16.840.1.101.3.4.2.1 id-sha256 */
static const uint8_t OID_SHA384[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
static const uint8_t OID_SHA256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};

/* SEQUENCE { hash OID, NULL }: AMD writes the NULL parameters. */
static void der_hash_alg(struct att_wbuf *b, const EVP_MD *md)
{
    struct att_wbuf c = {0};
    bool sha256 = EVP_MD_get_type(md) == NID_sha256;
    att_wbuf_der_tlv(&c, ATT_DER_OID, sha256 ? OID_SHA256 : OID_SHA384, sizeof(OID_SHA384));
    att_wbuf_der_tlv(&c, ATT_DER_NULL, NULL, 0);
    att_wbuf_der_wrap(b, ATT_DER_SEQUENCE, &c);
    att_wbuf_free(&c);
}

/*
 * AlgorithmIdentifier { id-RSASSA-PSS, RSASSA-PSS-params { [0] hash, [1] MGF1(hash),
 * [2] saltLength, [3] trailerField 1 (if asked) } }. With AMD's parameters and the trailer this
 * is byte for byte the 70-byte AlgorithmIdentifier of AMD's ARK and ASK certificates; without
 * it the 65-byte one of current VCEKs and VLEKs.
 */
static void der_pss_alg(struct att_wbuf *b, const struct pss *pss)
{
    struct att_wbuf params = {0};
    struct att_wbuf t = {0};
    der_hash_alg(&t, pss->md);
    att_wbuf_der_wrap(&params, ATT_DER_CTX0, &t);
    att_wbuf_free(&t);

    struct att_wbuf mgf = {0};
    att_wbuf_der_tlv(&mgf, ATT_DER_OID, OID_MGF1, sizeof(OID_MGF1));
    der_hash_alg(&mgf, pss->md);
    att_wbuf_der_wrap(&t, ATT_DER_SEQUENCE, &mgf);
    att_wbuf_der_wrap(&params, ATT_DER_CTX1, &t);
    att_wbuf_free(&t);
    att_wbuf_free(&mgf);

    att_wbuf_der_uint(&t, ATT_DER_INTEGER, (unsigned)pss->salt_len);
    att_wbuf_der_wrap(&params, ATT_DER_CTX2, &t);
    att_wbuf_free(&t);
    if (pss->trailer) {
        att_wbuf_der_uint(&t, ATT_DER_INTEGER, 1);
        att_wbuf_der_wrap(&params, ATT_DER_CTX3, &t);
        att_wbuf_free(&t);
    }

    struct att_wbuf alg = {0};
    att_wbuf_der_tlv(&alg, ATT_DER_OID, OID_RSASSA_PSS, sizeof(OID_RSASSA_PSS));
    att_wbuf_der_wrap(&alg, ATT_DER_SEQUENCE, &params);
    att_wbuf_der_wrap(b, ATT_DER_SEQUENCE, &alg);
    att_wbuf_free(&alg);
    att_wbuf_free(&params);
}

/* RSASSA-PSS signature over msg (RFC 8017 §8.1) with the parameters of `pss`, into the empty
 * buffer `sig`. */
static int sign_pss(EVP_PKEY *key, const struct pss *pss, const uint8_t *msg, size_t n,
                    struct att_wbuf *sig)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t len = 0;
    int rc = -1;
    if (ctx == NULL || EVP_DigestSignInit(ctx, &pctx, pss->md, NULL, key) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss->salt_len) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, pss->md) != 1 ||
        EVP_DigestSign(ctx, NULL, &len, msg, n) != 1) {
        att_pkix_fail("RSASSA-PSS setup");
        goto out;
    }
    att_wbuf_zero(sig, len);
    if (sig->bad || EVP_DigestSign(ctx, sig->p, &len, msg, n) != 1) {
        att_pkix_fail("RSASSA-PSS sign");
        goto out;
    }
    sig->len = len;
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

/*
 * The DER of SEQUENCE { tbs', alg, BIT STRING sig } where tbs' is `tbs` with its first SEQUENCE
 * child (the signature AlgorithmIdentifier of a TBSCertificate or a TBSCertList: only [0]
 * version, serialNumber or version come before it) replaced by `alg`, and sig is the PSS
 * signature of tbs' by `key`.
 */
static int resign(const uint8_t *tbs, size_t n, EVP_PKEY *key, const struct pss *pss,
                  struct att_wbuf *out)
{
    struct att_wbuf alg = {0};
    struct att_wbuf body = {0};
    struct att_wbuf tbs2 = {0};
    struct att_wbuf sig = {0};
    struct att_wbuf cert = {0};
    unsigned tag;
    size_t hdr;
    size_t len;
    int rc = -1;

    der_pss_alg(&alg, pss);
    if (der_head(tbs, n, &tag, &hdr, &len) != 0 || tag != ATT_DER_SEQUENCE || hdr + len != n) {
        goto out;
    }
    size_t off = hdr;
    bool replaced = false;
    while (off < n) {
        size_t chdr;
        size_t clen;
        if (der_head(tbs + off, n - off, &tag, &chdr, &clen) != 0) {
            goto out;
        }
        if (!replaced && tag == ATT_DER_SEQUENCE) {
            att_wbuf_put(&body, alg.p, alg.len);
            replaced = true;
        } else {
            att_wbuf_put(&body, tbs + off, chdr + clen);
        }
        off += chdr + clen;
    }
    att_wbuf_der_wrap(&tbs2, ATT_DER_SEQUENCE, &body);
    if (!replaced || alg.bad || tbs2.bad || sign_pss(key, pss, tbs2.p, tbs2.len, &sig) != 0) {
        goto out;
    }
    att_wbuf_put(&cert, tbs2.p, tbs2.len);
    att_wbuf_put(&cert, alg.p, alg.len);
    att_wbuf_u8(&cert, ATT_DER_BIT_STRING);
    att_wbuf_der_len(&cert, sig.len + 1);
    att_wbuf_u8(&cert, 0); /* no unused bits */
    att_wbuf_put(&cert, sig.p, sig.len);
    att_wbuf_der_wrap(out, ATT_DER_SEQUENCE, &cert);
    rc = out->bad ? -1 : 0;
out:
    if (rc != 0) {
        fprintf(stderr, "amd_testpki: re-signing a TBS failed\n");
    }
    att_wbuf_free(&cert);
    att_wbuf_free(&sig);
    att_wbuf_free(&tbs2);
    att_wbuf_free(&body);
    att_wbuf_free(&alg);
    return rc;
}

/* Sign x (already filled in) by `key` with `pss`; returns the signed certificate (a new
 * object) or NULL. */
static X509 *sign_cert(X509 *x, EVP_PKEY *key, const struct pss *pss)
{
    unsigned char *tbs = NULL;
    struct att_wbuf der = {0};
    X509 *out = NULL;
    if (X509_sign(x, key, EVP_sha384()) <= 0) { /* the placeholder, see above */
        att_pkix_fail("placeholder certificate signature");
        return NULL;
    }
    int n = i2d_re_X509_tbs(x, &tbs);
    if (n > 0 && resign(tbs, (size_t)n, key, pss, &der) == 0) {
        const unsigned char *p = der.p;
        out = d2i_X509(NULL, &p, (long)der.len);
        if (out == NULL || p != der.p + der.len) {
            att_pkix_fail("d2i_X509 of the re-signed certificate");
            X509_free(out);
            out = NULL;
        }
    }
    OPENSSL_free(tbs);
    att_wbuf_free(&der);
    return out;
}

static X509_CRL *sign_crl(X509_CRL *crl, EVP_PKEY *key, const struct pss *pss)
{
    unsigned char *tbs = NULL;
    struct att_wbuf der = {0};
    X509_CRL *out = NULL;
    if (X509_CRL_sign(crl, key, EVP_sha384()) <= 0) {
        att_pkix_fail("placeholder CRL signature");
        return NULL;
    }
    int n = i2d_re_X509_CRL_tbs(crl, &tbs);
    if (n > 0 && resign(tbs, (size_t)n, key, pss, &der) == 0) {
        const unsigned char *p = der.p;
        out = d2i_X509_CRL(NULL, &p, (long)der.len);
        if (out == NULL || p != der.p + der.len) {
            att_pkix_fail("d2i_X509_CRL of the re-signed CRL");
            X509_CRL_free(out);
            out = NULL;
        }
    }
    OPENSSL_free(tbs);
    att_wbuf_free(&der);
    return out;
}

/* ================================================================================
 * Products, names and the certificates of the chain (§6.5, §6.6).
 * ================================================================================ */

static const struct {
    const char *name;           /* ARK-<name>, SEV-<name>, SEV-VLEK-<name>; the KDS path */
    const char *vcek_name;      /* productName of a VCEK */
    unsigned struct_ver;        /* structVersion */
    long serial_base;           /* ARK serial; ASK +1, ASVK +2 */
    uint8_t cpuid[3];           /* CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP (v3 on, §6.1) */
    struct amd_testpki_tcb tcb; /* default REPORTED_TCB */
} PRODUCTS[] = {
    /* Serial numbers as AMD's ARK-Milan (0x10000) and ARK-Turin (0x30000) and their ASKs
     * (+1); Genoa's by analogy, and the ASVK's (+2) chosen here. */
    {"Milan", "Milan-B0", 0, 0x10000, {0x19, 0x01, 0x01}, {0, 3, 1, 8, 115}},
    {"Genoa", "Genoa", 0, 0x20000, {0x19, 0x11, 0x01}, {0, 10, 1, 23, 84}},
    {"Turin", "Turin", 1, 0x30000, {0x1A, 0x02, 0x00}, {1, 2, 3, 4, 69}},
};

#define N_PRODUCTS (sizeof(PRODUCTS) / sizeof(PRODUCTS[0]))

const char *amd_testpki_product_name(enum amd_testpki_product product)
{
    return (size_t)product < N_PRODUCTS ? PRODUCTS[product].name : NULL;
}

struct amd_testpki_tcb amd_testpki_default_tcb(enum amd_testpki_product product)
{
    struct amd_testpki_tcb zero = {0};
    return (size_t)product < N_PRODUCTS ? PRODUCTS[product].tcb : zero;
}

/* §6.4: Milan and Genoa byte 0 BL, 1 TEE, 6 SNP, 7 microcode; Turin byte 0 FMC, 1 BL, 2 TEE,
 * 3 SNP, 7 microcode; the other bytes reserved (zero). */
void amd_testpki_tcb_bytes(const struct amd_testpki_tcb *tcb, enum amd_testpki_product product,
                           uint8_t out[8])
{
    memset(out, 0, 8);
    if (product == AMD_TESTPKI_TURIN) {
        out[0] = tcb->fmc;
        out[1] = tcb->bl;
        out[2] = tcb->tee;
        out[3] = tcb->snp;
    } else {
        out[0] = tcb->bl;
        out[1] = tcb->tee;
        out[6] = tcb->snp;
    }
    out[7] = tcb->ucode;
}

/* AMD's subject and issuer names: OU, C, L, ST, O, CN, in that order; C a PrintableString
 * (OpenSSL's choice for countryName), the rest UTF8String, as in AMD's certificates. */
static X509_NAME *amd_name(const char *cn)
{
    static const char *const keys[] = {"OU", "C", "L", "ST", "O", "CN"};
    const char *const vals[] = {
        "Engineering", "US", "Santa Clara", "CA", "Advanced Micro Devices", cn};
    return att_pkix_name(keys, vals, 6);
}

/* A non-critical extension whose extnValue octets are exactly `v` (AMD's hwID is bare bytes,
 * everything else a DER value, §6.5). */
static int add_ext_raw(X509 *x, const char *oid, const uint8_t *v, size_t n)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ex = NULL;
    int rc = -1;
    if (obj != NULL && os != NULL && ASN1_OCTET_STRING_set(os, v, (int)n) == 1) {
        ex = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
        if (ex != NULL && X509_add_ext(x, ex, -1) == 1) {
            rc = 0;
        }
    }
    if (rc != 0) {
        att_pkix_fail(oid);
    }
    X509_EXTENSION_free(ex);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return rc;
}

static int kds_crl_url(char *out, size_t n, bool vlek, const char *product)
{
    /* AMD's CRL distribution point names https://kdsintf.amd.com/vcek/v1/<product>/crl
     * (§6.7); the host here is one that cannot resolve, so nothing fetches it by mistake. */
    int k = snprintf(out, n, "URI:https://kdsintf.test.invalid/%s/v1/%s/crl",
                     vlek ? "vlek" : "vcek", product);
    return k > 0 && (size_t)k < n ? 0 : -1;
}

enum ca_kind { CA_ARK, CA_ASK, CA_ASVK };

/* The certificate fields every certificate shares: v3, serial, names, validity, key. */
static X509 *cert_base(long serial, const char *cn, X509 *issuer, EVP_PKEY *key, int64_t not_before,
                       int64_t not_after)
{
    X509 *x = X509_new();
    X509_NAME *subject = amd_name(cn);
    if (x == NULL || subject == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
        X509_set_subject_name(x, subject) != 1 ||
        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : subject) != 1 ||
        att_pkix_set_time(X509_getm_notBefore(x), not_before) != 0 ||
        att_pkix_set_time(X509_getm_notAfter(x), not_after) != 0 || X509_set_pubkey(x, key) != 1) {
        att_pkix_fail(cn);
        X509_free(x);
        x = NULL;
    }
    X509_NAME_free(subject);
    return x;
}

/*
 * ARK (self-signed; issuer NULL), ASK or ASVK (by the ARK), with AMD's extensions in AMD's
 * order. ARK: keyUsage critical keyCertSign+cRLSign, SKI, basicConstraints critical CA:TRUE,
 * CRL DP. ASK and ASVK: SKI, AKI (key id), basicConstraints critical CA:TRUE pathlen:0,
 * keyUsage critical keyCertSign, CRL DP. (ARK-Milan, SEV-Milan, ARK-Turin, SEV-Turin.)
 */
static X509 *make_ca(enum ca_kind kind, size_t product, EVP_PKEY *key, X509 *ark, EVP_PKEY *ark_key,
                     int64_t now, const struct pss *pss)
{
    const char *name = PRODUCTS[product].name;
    char cn[32];
    char url[96];
    static const char *const prefix[] = {"ARK-", "SEV-", "SEV-VLEK-"};
    X509V3_CTX ctx;
    X509 *signed_x = NULL;
    int k = snprintf(cn, sizeof(cn), "%s%s", prefix[kind], name);
    if (k <= 0 || (size_t)k >= sizeof(cn) ||
        kds_crl_url(url, sizeof(url), kind == CA_ASVK, name) != 0) {
        return NULL;
    }
    X509 *x = cert_base(PRODUCTS[product].serial_base + (long)kind, cn, ark, key,
                        now - 365 * AMD_TESTPKI_DAY, now + 20 * 365 * AMD_TESTPKI_DAY);
    if (x == NULL) {
        return NULL;
    }
    X509V3_set_ctx(&ctx, kind == CA_ARK ? x : ark, x, NULL, NULL, 0);
    bool ok;
    if (kind == CA_ARK) {
        ok = att_pkix_add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
             att_pkix_add_ext(x, &ctx, NID_subject_key_identifier, "hash") == 0 &&
             att_pkix_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") == 0;
    } else {
        ok = att_pkix_add_ext(x, &ctx, NID_subject_key_identifier, "hash") == 0 &&
             att_pkix_add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") == 0 &&
             att_pkix_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") == 0 &&
             att_pkix_add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign") == 0;
    }
    if (ok && att_pkix_add_ext(x, &ctx, NID_crl_distribution_points, url) == 0) {
        signed_x = sign_cert(x, kind == CA_ARK ? key : ark_key, pss);
    }
    X509_free(x);
    return signed_x;
}

/* ================================================================================
 * The VCEK / VLEK (§6.5): CN SEV-VCEK or SEV-VLEK, serial 0, EC P-384, and only AMD's
 * extensions under 1.3.6.1.4.1.3704.1, non-critical, in the order AMD's certificates have them.
 * ================================================================================ */

struct leaf_spec {
    size_t product;
    bool vlek;
    struct amd_testpki_tcb tcb;
    const uint8_t *hwid;
    size_t hwid_len;
    bool hwid_der_wrapped;
    const char *csp_id;
    enum amd_testpki_ext missing;
    int64_t not_before;
    int64_t not_after;
};

enum ext_value { V_INT, V_PRODUCT, V_HWID, V_CSP };

struct ext_item {
    const char *arc; /* after 1.3.6.1.4.1.3704.1. */
    enum amd_testpki_ext id;
    enum ext_value kind;
    unsigned v; /* V_INT */
};

/*
 * The extension list of a leaf. Milan and Genoa (AMD's VCEKs and VLEKs): .1, .2, .3.1, .3.2,
 * .3.4-.3.7, .3.3, .3.8, then .4 (VCEK) or .5 (VLEK). Turin (AMD's VCEKs): .1, .2, .3.9, .3.1,
 * .3.2, .3.3, .3.5-.3.7, .3.8, .4 (no .3.4); a Turin VLEK is assumed to follow the same order.
 */
static size_t leaf_ext_items(const struct leaf_spec *s, struct ext_item *out)
{
    const struct amd_testpki_tcb *t = &s->tcb;
    size_t n = 0;
    out[n++] = (struct ext_item){"1", AMD_TESTPKI_EXT_STRUCT_VERSION, V_INT,
                                 PRODUCTS[s->product].struct_ver};
    out[n++] = (struct ext_item){"2", AMD_TESTPKI_EXT_PRODUCT_NAME, V_PRODUCT, 0};
    if (s->product == AMD_TESTPKI_TURIN) {
        out[n++] = (struct ext_item){"3.9", AMD_TESTPKI_EXT_FMC_SPL, V_INT, t->fmc};
        out[n++] = (struct ext_item){"3.1", AMD_TESTPKI_EXT_BL_SPL, V_INT, t->bl};
        out[n++] = (struct ext_item){"3.2", AMD_TESTPKI_EXT_TEE_SPL, V_INT, t->tee};
        out[n++] = (struct ext_item){"3.3", AMD_TESTPKI_EXT_SNP_SPL, V_INT, t->snp};
        out[n++] = (struct ext_item){"3.5", AMD_TESTPKI_EXT_NONE, V_INT, 0};
        out[n++] = (struct ext_item){"3.6", AMD_TESTPKI_EXT_NONE, V_INT, 0};
        out[n++] = (struct ext_item){"3.7", AMD_TESTPKI_EXT_NONE, V_INT, 0};
    } else {
        out[n++] = (struct ext_item){"3.1", AMD_TESTPKI_EXT_BL_SPL, V_INT, t->bl};
        out[n++] = (struct ext_item){"3.2", AMD_TESTPKI_EXT_TEE_SPL, V_INT, t->tee};
        out[n++] = (struct ext_item){"3.4", AMD_TESTPKI_EXT_NONE, V_INT, 0};
        out[n++] = (struct ext_item){"3.5", AMD_TESTPKI_EXT_NONE, V_INT, 0};
        out[n++] = (struct ext_item){"3.6", AMD_TESTPKI_EXT_NONE, V_INT, 0};
        out[n++] = (struct ext_item){"3.7", AMD_TESTPKI_EXT_NONE, V_INT, 0};
        out[n++] = (struct ext_item){"3.3", AMD_TESTPKI_EXT_SNP_SPL, V_INT, t->snp};
    }
    out[n++] = (struct ext_item){"3.8", AMD_TESTPKI_EXT_UCODE_SPL, V_INT, t->ucode};
    if (s->vlek) {
        out[n++] = (struct ext_item){"5", AMD_TESTPKI_EXT_CSP_ID, V_CSP, 0};
    } else {
        out[n++] = (struct ext_item){"4", AMD_TESTPKI_EXT_HWID, V_HWID, 0};
    }
    return n;
}

static int add_leaf_exts(X509 *x, const struct leaf_spec *s)
{
    struct ext_item items[16];
    size_t n = leaf_ext_items(s, items);
    for (size_t i = 0; i < n; i++) {
        if (items[i].id != AMD_TESTPKI_EXT_NONE && items[i].id == s->missing) {
            continue;
        }
        char oid[48];
        struct att_wbuf v = {0};
        int k = snprintf(oid, sizeof(oid), "1.3.6.1.4.1.3704.1.%s", items[i].arc);
        if (k <= 0 || (size_t)k >= sizeof(oid)) {
            return -1;
        }
        switch (items[i].kind) {
        case V_INT: att_wbuf_der_uint(&v, ATT_DER_INTEGER, items[i].v); break;
        case V_PRODUCT: {
            /* A VCEK names the stepping (Milan-B0); a VLEK only the product (Milan). */
            const char *name = s->vlek ? PRODUCTS[s->product].name : PRODUCTS[s->product].vcek_name;
            att_wbuf_der_tlv(&v, ATT_DER_IA5STRING, (const uint8_t *)name, strlen(name));
            break;
        }
        case V_CSP:
            att_wbuf_der_tlv(&v, ATT_DER_IA5STRING, (const uint8_t *)s->csp_id, strlen(s->csp_id));
            break;
        case V_HWID:
            if (s->hwid_der_wrapped) {
                att_wbuf_der_tlv(&v, ATT_DER_OCTET_STRING, s->hwid, s->hwid_len);
            } else {
                att_wbuf_put(&v, s->hwid, s->hwid_len); /* bare bytes, as AMD's (§6.5) */
            }
            break;
        default: v.bad = true; break;
        }
        int rc = v.bad ? -1 : add_ext_raw(x, oid, v.p, v.len);
        att_wbuf_free(&v);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

static X509 *make_leaf(const struct leaf_spec *s, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       const struct pss *pss)
{
    X509 *signed_x = NULL;
    /* Serial number 0, as every VCEK and VLEK (§6.5). */
    X509 *x =
        cert_base(0, s->vlek ? "SEV-VLEK" : "SEV-VCEK", issuer, key, s->not_before, s->not_after);
    if (x != NULL && add_leaf_exts(x, s) == 0) {
        signed_x = sign_cert(x, issuer_key, pss);
    }
    X509_free(x);
    return signed_x;
}

/* ================================================================================
 * CRLs: one per chain, signed by the ARK (KDS /vcek/v1/{product}/crl and
 * /vlek/v1/{product}/crl, §6.7): an ordinary RFC 5280 §5 v2 CRL with AKI and CRL number, signed
 * with the same PSS parameters as the ARK's certificates. No AMD CRL was at hand to compare its
 * extensions with, so only the issuer, the signature and the revoked serials are AMD's.
 * ================================================================================ */

static X509_CRL *make_crl(X509 *ark, EVP_PKEY *ark_key, int64_t now, X509 *revoked,
                          const struct pss *pss)
{
    X509_CRL *crl = att_pkix_crl_new(ark, now - AMD_TESTPKI_DAY, now + 29 * AMD_TESTPKI_DAY,
                                     &revoked, revoked != NULL ? 1 : 0, now - 2 * AMD_TESTPKI_DAY);
    X509_CRL *signed_crl = crl != NULL ? sign_crl(crl, ark_key, pss) : NULL;
    if (crl != NULL && signed_crl == NULL) {
        att_pkix_fail("CRL signature");
    }
    X509_CRL_free(crl);
    return signed_crl;
}

/* ================================================================================
 * The ATTESTATION_REPORT (§6.1) and its signature: ECDSA P-384 with SHA-384 over bytes
 * 0x000-0x29F, R and S little-endian, zero-extended to 72 bytes each.
 * ================================================================================ */

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put_or(uint8_t *dst, const uint8_t *src, size_t n, int fill)
{
    if (src != NULL) {
        memcpy(dst, src, n);
    } else {
        memset(dst, fill, n);
    }
}

static int sign_report(EVP_PKEY *key, uint8_t report[AMD_TESTPKI_REPORT_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t der_len = sizeof(der);
    ECDSA_SIG *sig = NULL;
    int rc = -1;
    if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, report, AMD_TESTPKI_SIGNED_LEN) != 1) {
        att_pkix_fail("report signature");
        goto out;
    }
    const unsigned char *p = der;
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL ||
        BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), report + AMD_TESTPKI_OFF_SIG_R,
                       AMD_TESTPKI_SIG_COMPONENT_LEN) != AMD_TESTPKI_SIG_COMPONENT_LEN ||
        BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), report + AMD_TESTPKI_OFF_SIG_S,
                       AMD_TESTPKI_SIG_COMPONENT_LEN) != AMD_TESTPKI_SIG_COMPONENT_LEN) {
        att_pkix_fail("report signature encoding");
        goto out;
    }
    rc = 0;
out:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(ctx);
    return rc;
}

static void fw_bytes(uint8_t *p, const struct amd_testpki_fw *fw)
{
    p[0] = fw->build;
    p[1] = fw->minor;
    p[2] = fw->major;
    p[3] = 0;
}

/* Everything but the signature; the reserved ranges stay zero. */
static void fill_report(const struct amd_testpki_opts *o, const struct amd_testpki *pki,
                        const struct amd_testpki_tcb *committed,
                        const struct amd_testpki_tcb *launch, uint8_t *r)
{
    static const struct amd_testpki_fw default_fw = {29, 55, 1}; /* 1.55 build 29 */
    const struct amd_testpki_fw *cur_fw = o->current_fw != NULL ? o->current_fw : &default_fw;
    const struct amd_testpki_fw *com_fw = o->committed_fw != NULL ? o->committed_fw : cur_fw;
    enum amd_testpki_product prod = pki->product;

    memset(r, 0, AMD_TESTPKI_REPORT_LEN);
    put_u32le(r + AMD_TESTPKI_OFF_VERSION, (uint32_t)pki->report_version);
    put_u32le(r + AMD_TESTPKI_OFF_GUEST_SVN, o->guest_svn);
    put_u64le(r + AMD_TESTPKI_OFF_POLICY, o->policy != 0 ? o->policy : AMD_TESTPKI_POLICY);
    put_or(r + AMD_TESTPKI_OFF_FAMILY_ID, o->family_id, 16, 0);
    put_or(r + AMD_TESTPKI_OFF_IMAGE_ID, o->image_id, 16, 0);
    put_u32le(r + AMD_TESTPKI_OFF_VMPL, o->vmpl);
    put_u32le(r + AMD_TESTPKI_OFF_SIG_ALGO, 1); /* ECDSA P-384 with SHA-384 */
    amd_testpki_tcb_bytes(&pki->current_tcb, prod, r + AMD_TESTPKI_OFF_CURRENT_TCB);
    put_u64le(r + AMD_TESTPKI_OFF_PLATFORM_INFO, o->platform_info);
    uint32_t key_info = (pki->vlek ? 1u : 0u) << AMD_TESTPKI_KEY_INFO_SIGNING_KEY_SHIFT;
    key_info |= o->author_key_en ? AMD_TESTPKI_KEY_INFO_AUTHOR_KEY_EN : 0;
    key_info |= o->mask_chip_key ? AMD_TESTPKI_KEY_INFO_MASK_CHIP_KEY : 0;
    put_u32le(r + AMD_TESTPKI_OFF_KEY_INFO, key_info);
    put_or(r + AMD_TESTPKI_OFF_REPORT_DATA, o->report_data, 64, 0);
    put_or(r + AMD_TESTPKI_OFF_MEASUREMENT, o->measurement, 48, 0x3E);
    put_or(r + AMD_TESTPKI_OFF_HOST_DATA, o->host_data, 32, 0);
    put_or(r + AMD_TESTPKI_OFF_ID_KEY_DIGEST, o->id_key_digest, 48, 0);
    put_or(r + AMD_TESTPKI_OFF_AUTHOR_KEY_DIGEST, o->author_key_digest, 48, 0);
    put_or(r + AMD_TESTPKI_OFF_REPORT_ID, o->report_id, 32, 0x1D);
    put_or(r + AMD_TESTPKI_OFF_REPORT_ID_MA, o->report_id_ma, 32, 0xFF);
    amd_testpki_tcb_bytes(&pki->reported_tcb, prod, r + AMD_TESTPKI_OFF_REPORTED_TCB);
    if (pki->report_version >= 3) {
        put_or(r + AMD_TESTPKI_OFF_CPUID_FAM, o->cpuid != NULL ? o->cpuid : PRODUCTS[prod].cpuid, 3,
               0);
    }
    memcpy(r + AMD_TESTPKI_OFF_CHIP_ID, pki->chip_id, 64);
    amd_testpki_tcb_bytes(committed, prod, r + AMD_TESTPKI_OFF_COMMITTED_TCB);
    fw_bytes(r + AMD_TESTPKI_OFF_CURRENT_VERSION, cur_fw);
    fw_bytes(r + AMD_TESTPKI_OFF_COMMITTED_VERSION, com_fw);
    amd_testpki_tcb_bytes(launch, prod, r + AMD_TESTPKI_OFF_LAUNCH_TCB);
    if (pki->report_version >= 5) {
        put_u64le(r + AMD_TESTPKI_OFF_LAUNCH_MIT_VECTOR, o->launch_mit_vector);
        put_u64le(r + AMD_TESTPKI_OFF_CURRENT_MIT_VECTOR, o->current_mit_vector);
    }
}

/* ================================================================================
 * Encodings of the outputs: PEM, DER, the certificate table, the MAA document.
 * ================================================================================ */

static bool der_of_cert(X509 *x, struct amd_testpki_blob *out)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    struct att_wbuf b = {0};
    if (n > 0) {
        att_wbuf_put(&b, der, (size_t)n);
    }
    OPENSSL_free(der);
    return take_blob(&b, out);
}

static bool der_of_crl(X509_CRL *crl, struct amd_testpki_blob *out)
{
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(crl, &der);
    struct att_wbuf b = {0};
    if (n > 0) {
        att_wbuf_put(&b, der, (size_t)n);
    }
    OPENSSL_free(der);
    return take_blob(&b, out);
}

/*
 * Certificate table GUIDs (§6.3, from the GHCB specification, AMD pub. 56421), as bytes on the
 * wire. Their order is that of the canonical text form read left to right (RFC 4122 "network
 * order"), not the mixed-endian layout of an EFI_GUID: virtee/sev writes the table from
 * `Uuid::parse_str(..).as_bytes()` and reads it with `Uuid::from_slice` (src/firmware/guest/
 * cert_table.rs), go-sev-guest keeps the 16 bytes as a google/uuid UUID (abi.go,
 * ParseSnpCertTableHeader), and AMD's own sev-guest tool fills them with libuuid's uuid_parse;
 * all three are this order. Offset and length are little-endian u32.
 */
static const uint8_t GUID_VCEK[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
static const uint8_t GUID_VLEK[16] = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
                                      0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1};
static const uint8_t GUID_ASK[16] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                                     0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
static const uint8_t GUID_ARK[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                                     0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};

/* Entries for leaf, issuer, root; the all-zero entry; then the DER certificates, offsets from
 * the start of the table. */
static bool cert_table(const struct amd_testpki *pki, struct amd_testpki_blob *out)
{
    X509 *certs[3] = {pki->leaf, pki->leaf_issuer, pki->leaf_root};
    const uint8_t *guids[3] = {pki->vlek ? GUID_VLEK : GUID_VCEK, GUID_ASK, GUID_ARK};
    struct amd_testpki_blob der[3] = {{0}};
    struct att_wbuf b = {0};
    bool ok = true;
    size_t off = 4 * AMD_TESTPKI_CERT_TABLE_ENTRY_LEN;
    for (size_t i = 0; i < 3; i++) {
        ok = ok && der_of_cert(certs[i], &der[i]);
    }
    for (size_t i = 0; ok && i < 3; i++) {
        att_wbuf_put(&b, guids[i], 16);
        att_wbuf_u32le(&b, (uint32_t)off);
        att_wbuf_u32le(&b, (uint32_t)der[i].len);
        off += der[i].len;
    }
    att_wbuf_zero(&b, AMD_TESTPKI_CERT_TABLE_ENTRY_LEN);
    for (size_t i = 0; ok && i < 3; i++) {
        att_wbuf_put(&b, der[i].p, der[i].len);
    }
    for (size_t i = 0; i < 3; i++) {
        free(der[i].p);
    }
    if (!ok) {
        b.bad = true;
    }
    return take_blob(&b, out);
}

/* base64url without padding (RFC 4648 §5), NUL-terminated; NULL on failure. */
static char *b64url(const uint8_t *d, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    struct att_wbuf b = {0};
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        size_t left = n - i;
        if (left > 1) {
            v |= (uint32_t)d[i + 1] << 8;
        }
        if (left > 2) {
            v |= d[i + 2];
        }
        char c[4] = {a[(v >> 18) & 63], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
        att_wbuf_put(&b, c, left > 2 ? 4 : left + 1);
    }
    return att_wbuf_take_str(&b);
}

/* {"SnpReport": b64url(report), "VcekCertChain": b64url(chain PEM)} (maa-api.md §1.3). */
static char *maa_document(const struct amd_testpki *pki)
{
    char *report = b64url(pki->report, AMD_TESTPKI_REPORT_LEN);
    char *chain = b64url((const uint8_t *)pki->chain_pem, strlen(pki->chain_pem));
    json_t *doc = NULL;
    char *text = NULL;
    if (report != NULL && chain != NULL) {
        doc = json_pack("{s:s, s:s}", "SnpReport", report, "VcekCertChain", chain);
    }
    if (doc != NULL) {
        text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    json_decref(doc);
    free(chain);
    free(report);
    return text;
}

/* ================================================================================
 * The coordinator.
 * ================================================================================ */

static EVP_PKEY *gen_rsa(int bits)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (k == NULL) {
        att_pkix_fail("RSA key generation");
    }
    return k;
}

static EVP_PKEY *gen_p384(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    if (k == NULL) {
        att_pkix_fail("P-384 key generation");
    }
    return k;
}

static int bad_opt(const char *why)
{
    fprintf(stderr, "amd_testpki: %s\n", why);
    return -1;
}

/* Knobs that do not apply to the product, the report version or the kind of leaf. */
static int check_opts(const struct amd_testpki_opts *o)
{
    bool turin = o->product == AMD_TESTPKI_TURIN;
    const struct amd_testpki_tcb *tcbs[] = {o->reported_tcb, o->current_tcb, o->committed_tcb,
                                            o->launch_tcb};
    if ((size_t)o->product >= N_PRODUCTS) {
        return bad_opt("unknown product");
    }
    if (o->report_version != 0 && o->report_version != 2 && o->report_version != 3 &&
        o->report_version != 5) {
        return bad_opt("report_version must be 2, 3 or 5");
    }
    if (o->rsa_bits != 0 && (o->rsa_bits < 1024 || o->rsa_bits > 8192)) {
        return bad_opt("rsa_bits must be 1024 to 8192");
    }
    for (size_t i = 0; i < sizeof(tcbs) / sizeof(tcbs[0]); i++) {
        if (!turin && tcbs[i] != NULL && tcbs[i]->fmc != 0) {
            return bad_opt("an FMC SPL exists on Turin only");
        }
    }
    if (!turin && (o->leaf_tcb_mismatch == AMD_TESTPKI_SPL_FMC ||
                   o->leaf_missing_ext == AMD_TESTPKI_EXT_FMC_SPL)) {
        return bad_opt("fmcSPL exists on Turin only");
    }
    if ((unsigned)o->leaf_tcb_mismatch > AMD_TESTPKI_SPL_FMC ||
        (unsigned)o->leaf_missing_ext > AMD_TESTPKI_EXT_CSP_ID ||
        (unsigned)o->pss > AMD_TESTPKI_PSS_SHA256 || (o->pss_sigs & ~0xFu) != 0) {
        return bad_opt("knob out of range");
    }
    if (o->vlek &&
        (o->hwid_mismatch || o->hwid_der_wrapped || o->leaf_missing_ext == AMD_TESTPKI_EXT_HWID)) {
        return bad_opt("a VLEK has no hwID");
    }
    if (!o->vlek && (o->csp_id != NULL || o->vlek_signed_by_ask ||
                     o->leaf_missing_ext == AMD_TESTPKI_EXT_CSP_ID)) {
        return bad_opt("cspID and vlek_signed_by_ask need a VLEK");
    }
    if (o->vlek_signed_by_ask && o->wrong_product_ask) {
        return bad_opt("vlek_signed_by_ask and wrong_product_ask both choose the issuer");
    }
    if (o->leaf_expired && o->leaf_not_yet_valid) {
        return bad_opt("leaf_expired and leaf_not_yet_valid exclude each other");
    }
    if (o->report_version != 5 && (o->launch_mit_vector != 0 || o->current_mit_vector != 0)) {
        return bad_opt("mitigation vectors need report version 5");
    }
    return 0;
}

/* REPORTED_TCB, CURRENT_TCB and the leaf's SPLs from the options (see the header). */
static void derive_tcbs(const struct amd_testpki_opts *o, struct amd_testpki *pki,
                        struct amd_testpki_tcb *committed, struct amd_testpki_tcb *launch)
{
    struct amd_testpki_tcb base =
        o->reported_tcb != NULL ? *o->reported_tcb : PRODUCTS[o->product].tcb;
    if (o->ucode_high) {
        base.ucode = 0xD9;
    }
    pki->current_tcb = o->current_tcb != NULL ? *o->current_tcb : base;
    *committed = o->committed_tcb != NULL ? *o->committed_tcb : base;
    *launch = o->launch_tcb != NULL ? *o->launch_tcb : base;
    pki->reported_tcb = base;
    if (o->reported_tcb_above_current) {
        pki->reported_tcb.snp = (uint8_t)(pki->current_tcb.snp + 1);
    }
    pki->leaf_tcb = pki->reported_tcb;
    uint8_t *f = NULL;
    switch (o->leaf_tcb_mismatch) {
    case AMD_TESTPKI_SPL_BL: f = &pki->leaf_tcb.bl; break;
    case AMD_TESTPKI_SPL_TEE: f = &pki->leaf_tcb.tee; break;
    case AMD_TESTPKI_SPL_SNP: f = &pki->leaf_tcb.snp; break;
    case AMD_TESTPKI_SPL_UCODE: f = &pki->leaf_tcb.ucode; break;
    case AMD_TESTPKI_SPL_FMC: f = &pki->leaf_tcb.fmc; break;
    case AMD_TESTPKI_SPL_NONE:
    default: break;
    }
    if (f != NULL) {
        *f = (uint8_t)(*f == 255 ? 254 : *f + 1);
    }
}

/* CHIP_ID of the report and the VCEK's hwID (§6.5, §6.8 step 6). */
static void derive_chip_id(const struct amd_testpki_opts *o, struct amd_testpki *pki)
{
    uint8_t chip[64];
    if (o->chip_id != NULL) {
        memcpy(chip, o->chip_id, 64);
    } else {
        for (size_t i = 0; i < 64; i++) {
            chip[i] = (uint8_t)(0xC0 + i);
        }
    }
    size_t used = o->product == AMD_TESTPKI_TURIN ? 8 : 64; /* Turin: 8 bytes, rest zero */
    memset(chip + used, 0, 64 - used);
    if (!o->vlek) {
        memcpy(pki->hwid, chip, used);
        pki->hwid_len = used;
        if (o->hwid_mismatch) {
            pki->hwid[used - 1] ^= 0x01;
        }
    }
    if (!o->mask_chip_key) {
        memcpy(pki->chip_id, chip, 64);
    }
}

/* The PSS parameters of one signature. */
static struct pss pss_for(const struct amd_testpki_opts *o, unsigned which, bool trailer)
{
    unsigned mask = o->pss_sigs != 0 ? o->pss_sigs : AMD_TESTPKI_SIG_LEAF;
    return pss_of((mask & which) != 0 ? o->pss : AMD_TESTPKI_PSS_AMD, trailer);
}

/* ARK, ASK, ASVK of one product. */
static int make_pki(const struct amd_testpki_opts *o, size_t product, int bits, int64_t now,
                    X509 **ark, EVP_PKEY **ark_key, X509 **ask, EVP_PKEY **ask_key, X509 **asvk,
                    EVP_PKEY **asvk_key)
{
    /* AMD's CA certificates state trailerField 1 (ARK-Milan, SEV-Milan, ARK-Turin,
     * SEV-Turin). */
    struct pss ark_pss = pss_for(o, AMD_TESTPKI_SIG_ARK, true);
    struct pss ask_pss = pss_for(o, AMD_TESTPKI_SIG_ASK, true);
    *ark_key = gen_rsa(bits);
    *ask_key = gen_rsa(bits);
    *asvk_key = gen_rsa(bits);
    if (*ark_key == NULL || *ask_key == NULL || *asvk_key == NULL) {
        return -1;
    }
    *ark = make_ca(CA_ARK, product, *ark_key, NULL, NULL, now, &ark_pss);
    if (*ark == NULL) {
        return -1;
    }
    *ask = make_ca(CA_ASK, product, *ask_key, *ark, *ark_key, now, &ask_pss);
    *asvk = make_ca(CA_ASVK, product, *asvk_key, *ark, *ark_key, now, &ask_pss);
    return *ask != NULL && *asvk != NULL ? 0 : -1;
}

int amd_testpki_build(const struct amd_testpki_opts *opts, struct amd_testpki *out)
{
    static const struct amd_testpki_opts defaults;
    const struct amd_testpki_opts *o = opts != NULL ? opts : &defaults;
    struct amd_testpki pki;
    struct amd_testpki_tcb committed;
    struct amd_testpki_tcb launch;
    X509 *other_ark = NULL;
    EVP_PKEY *other_ark_key = NULL;
    X509 *other_ask = NULL;
    EVP_PKEY *other_ask_key = NULL;
    X509 *other_asvk = NULL;
    EVP_PKEY *other_asvk_key = NULL;
    EVP_PKEY *issuer_key = NULL;
    int rc = -1;

    memset(&pki, 0, sizeof(pki));
    if (check_opts(o) != 0) {
        return -1;
    }
    pki.now = o->now != 0 ? o->now : (int64_t)time(NULL);
    pki.product = o->product;
    pki.report_version = o->report_version != 0 ? o->report_version : 3;
    pki.vlek = o->vlek;
    int bits = o->rsa_bits != 0 ? o->rsa_bits : AMD_TESTPKI_RSA_BITS;
    int64_t now = pki.now;
    derive_tcbs(o, &pki, &committed, &launch);
    derive_chip_id(o, &pki);

    /* ---- The PKI ---- */
    if (make_pki(o, o->product, bits, now, &pki.ark, &pki.ark_key, &pki.ask, &pki.ask_key,
                 &pki.asvk, &pki.asvk_key) != 0) {
        goto out;
    }
    pki.leaf_root = pki.ark;
    if (o->vlek && !o->vlek_signed_by_ask) {
        pki.leaf_issuer = pki.asvk;
        issuer_key = pki.asvk_key;
    } else {
        pki.leaf_issuer = pki.ask;
        issuer_key = pki.ask_key;
    }
    if (o->wrong_product_ask) {
        /* Another product's ARK, ASK and ASVK: Genoa's for Milan, Milan's otherwise. */
        size_t other = o->product == AMD_TESTPKI_MILAN ? AMD_TESTPKI_GENOA : AMD_TESTPKI_MILAN;
        if (make_pki(o, other, bits, now, &other_ark, &other_ark_key, &other_ask, &other_ask_key,
                     &other_asvk, &other_asvk_key) != 0) {
            goto out;
        }
        pki.other_ark = other_ark;
        pki.leaf_root = other_ark;
        if (o->vlek) {
            pki.other_ask = other_asvk;
            pki.leaf_issuer = other_asvk;
            issuer_key = other_asvk_key;
            other_asvk = NULL;
        } else {
            pki.other_ask = other_ask;
            pki.leaf_issuer = other_ask;
            issuer_key = other_ask_key;
            other_ask = NULL;
        }
        other_ark = NULL;
    }

    pki.leaf_key = gen_p384();
    if (pki.leaf_key == NULL) {
        goto out;
    }
    struct leaf_spec spec = {
        .product = o->product,
        .vlek = o->vlek,
        .tcb = pki.leaf_tcb,
        .hwid = pki.hwid,
        .hwid_len = pki.hwid_len,
        .hwid_der_wrapped = o->hwid_der_wrapped,
        .csp_id = o->csp_id != NULL ? o->csp_id : AMD_TESTPKI_CSP_ID,
        .missing = o->leaf_missing_ext,
        .not_before = now - 30 * AMD_TESTPKI_DAY,
        .not_after = now + (o->vlek ? 335 : 7 * 365) * (int64_t)AMD_TESTPKI_DAY,
    };
    if (o->leaf_expired) {
        spec.not_before = now - 400 * AMD_TESTPKI_DAY;
        spec.not_after = now - AMD_TESTPKI_DAY;
    } else if (o->leaf_not_yet_valid) {
        spec.not_before = now + AMD_TESTPKI_DAY;
    }
    struct pss leaf_pss = pss_for(o, AMD_TESTPKI_SIG_LEAF, o->leaf_trailer_field);
    pki.leaf = make_leaf(&spec, pki.leaf_key, pki.leaf_issuer, issuer_key, &leaf_pss);
    if (pki.leaf == NULL) {
        goto out;
    }

    /* ---- CRLs (the ARK's, one per chain) ---- */
    struct pss crl_pss = pss_for(o, AMD_TESTPKI_SIG_CRL, true);
    pki.crl_vcek =
        make_crl(pki.ark, pki.ark_key, now, o->revoke_ask && !o->vlek ? pki.ask : NULL, &crl_pss);
    pki.crl_vlek =
        make_crl(pki.ark, pki.ark_key, now, o->revoke_ask && o->vlek ? pki.asvk : NULL, &crl_pss);
    if (pki.crl_vcek == NULL || pki.crl_vlek == NULL) {
        goto out;
    }

    /* ---- The report ---- */
    fill_report(o, &pki, &committed, &launch, pki.report);
    if (o->report_signed_by_other_key) {
        pki.report_key = gen_p384();
    } else {
        pki.report_key = pki.leaf_key;
        if (EVP_PKEY_up_ref(pki.leaf_key) != 1) {
            pki.report_key = NULL;
        }
    }
    if (pki.report_key == NULL || sign_report(pki.report_key, pki.report) != 0) {
        goto out;
    }

    /* ---- Encodings ---- */
    X509 *chain[3] = {pki.leaf, pki.leaf_issuer, pki.leaf_root};
    X509 *kds[2] = {o->vlek ? pki.asvk : pki.ask, pki.ark};
    pki.ark_pem = att_pkix_pem_of(&pki.ark, 1);
    pki.ask_pem = att_pkix_pem_of(&pki.ask, 1);
    pki.asvk_pem = att_pkix_pem_of(&pki.asvk, 1);
    pki.leaf_pem = att_pkix_pem_of(&pki.leaf, 1);
    pki.chain_pem = att_pkix_pem_of(chain, 3);
    pki.kds_chain_pem = att_pkix_pem_of(kds, 2);
    if (pki.ark_pem == NULL || pki.ask_pem == NULL || pki.asvk_pem == NULL ||
        pki.leaf_pem == NULL || pki.chain_pem == NULL || pki.kds_chain_pem == NULL ||
        !der_of_cert(pki.ark, &pki.ark_der) || !der_of_cert(pki.ask, &pki.ask_der) ||
        !der_of_cert(pki.asvk, &pki.asvk_der) || !der_of_cert(pki.leaf, &pki.leaf_der) ||
        !der_of_crl(pki.crl_vcek, &pki.crl_vcek_der) ||
        !der_of_crl(pki.crl_vlek, &pki.crl_vlek_der) || !cert_table(&pki, &pki.cert_table)) {
        goto out;
    }
    pki.maa_evidence_json = maa_document(&pki);
    if (pki.maa_evidence_json == NULL) {
        goto out;
    }
    rc = 0;
out:
    X509_free(other_ark);
    X509_free(other_ask);
    X509_free(other_asvk);
    EVP_PKEY_free(other_ark_key);
    EVP_PKEY_free(other_ask_key);
    EVP_PKEY_free(other_asvk_key);
    if (rc != 0) {
        amd_testpki_free(&pki);
        return -1;
    }
    *out = pki;
    return 0;
}

static void blob_free(struct amd_testpki_blob *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

int amd_testpki_crl_der(const struct amd_testpki *pki, int64_t at, struct amd_testpki_blob *out)
{
    struct pss amd = {EVP_sha384(), 48, true};
    X509_CRL *crl = make_crl(pki->ark, pki->ark_key, at, NULL, &amd);
    bool ok = crl != NULL && der_of_crl(crl, out);
    X509_CRL_free(crl);
    return ok ? 0 : -1;
}

void amd_testpki_free(struct amd_testpki *pki)
{
    if (pki == NULL) {
        return;
    }
    X509_free(pki->ark);
    X509_free(pki->ask);
    X509_free(pki->asvk);
    X509_free(pki->leaf);
    X509_free(pki->other_ark);
    X509_free(pki->other_ask);
    EVP_PKEY_free(pki->ark_key);
    EVP_PKEY_free(pki->ask_key);
    EVP_PKEY_free(pki->asvk_key);
    EVP_PKEY_free(pki->leaf_key);
    EVP_PKEY_free(pki->report_key);
    X509_CRL_free(pki->crl_vcek);
    X509_CRL_free(pki->crl_vlek);
    blob_free(&pki->ark_der);
    blob_free(&pki->ask_der);
    blob_free(&pki->asvk_der);
    blob_free(&pki->leaf_der);
    blob_free(&pki->crl_vcek_der);
    blob_free(&pki->crl_vlek_der);
    blob_free(&pki->cert_table);
    free(pki->ark_pem);
    free(pki->ask_pem);
    free(pki->asvk_pem);
    free(pki->leaf_pem);
    free(pki->chain_pem);
    free(pki->kds_chain_pem);
    free(pki->maa_evidence_json);
    memset(pki, 0, sizeof(*pki));
}
