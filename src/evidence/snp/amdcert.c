/*
 * amdcert.c - AMD's VCEK/VLEK extensions and signature algorithm (amdcert.h;
 * docs/reference/amd-sev-snp.md §6.5, §6.6).
 */
#include "evidence/snp/amdcert.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "x509/der.h"

/* 1.3.6.1.4.1.3704.1 in DER content octets (3704 = 0x9C 0x78 in base 128). */
static const uint8_t amd_prefix[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01};

/* The arcs after the prefix, in enum att_amd_ext order. */
static const struct {
    uint8_t arcs[2];
    size_t n;
    const char *name;
} exts[ATT_AMD_EXT_COUNT] = {
    {{1}, 1, "structVersion"}, {{2}, 1, "productName"}, {{3, 1}, 2, "blSPL"},
    {{3, 2}, 2, "teeSPL"},     {{3, 3}, 2, "snpSPL"},   {{3, 4}, 2, "spl_4"},
    {{3, 5}, 2, "spl_5"},      {{3, 6}, 2, "spl_6"},    {{3, 7}, 2, "spl_7"},
    {{3, 8}, 2, "ucodeSPL"},   {{3, 9}, 2, "fmcSPL"},   {{4}, 1, "hwID"},
    {{5}, 1, "cspID"},
};

/*
 * AMD's RSASSA-PSS AlgorithmIdentifier (SHA-384, MGF1 with SHA-384, salt 48), as AMD encodes
 * it: with the trailerField 1 written out (ARKs, ASKs, older VCEKs) or, as DER wants a default
 * value, left out (newer VCEKs and VLEKs). Both forms are in AMD's real certificates.
 */
static const uint8_t pss_with_trailer[] = {
    0x30, 0x46, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A, 0x30, 0x39,
    0xA0, 0x0F, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
    0x05, 0x00, 0xA1, 0x1C, 0x30, 0x1A, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01,
    0x01, 0x08, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
    0x05, 0x00, 0xA2, 0x03, 0x02, 0x01, 0x30, 0xA3, 0x03, 0x02, 0x01, 0x01};
#define PSS_NO_TRAILER_LEN (sizeof(pss_with_trailer) - 5) /* 67 bytes, length octet 0x41 */

enum att_amd_ext att_amd_ext_of(const uint8_t *oid, size_t oid_len)
{
    if (oid_len <= sizeof(amd_prefix) || memcmp(oid, amd_prefix, sizeof(amd_prefix)) != 0) {
        return ATT_AMD_EXT_COUNT;
    }
    for (int i = 0; i < ATT_AMD_EXT_COUNT; i++) {
        if (oid_len == sizeof(amd_prefix) + exts[i].n &&
            memcmp(oid + sizeof(amd_prefix), exts[i].arcs, exts[i].n) == 0) {
            return (enum att_amd_ext)i;
        }
    }
    return ATT_AMD_EXT_COUNT;
}

/* An IA5String of printable ASCII into a NUL-terminated buffer of `cap` bytes. */
static att_err ia5(struct att_rd *r, char *out, size_t cap)
{
    struct att_rd v;
    struct att_bytes b;
    ATT_TRY(att_der_expect(r, ATT_DER_IA5STRING, &v));
    att_rd_rest(&v, &b);
    ATT_ENSURE(b.len > 0 && b.len < cap, ATT_ERR_PARSE);
    for (size_t i = 0; i < b.len; i++) {
        ATT_ENSURE(b.ptr[i] >= 0x20 && b.ptr[i] < 0x7F, ATT_ERR_PARSE);
    }
    memcpy(out, b.ptr, b.len);
    out[b.len] = '\0';
    return ATT_OK;
}

/* hwID: the raw bytes (64, or 8 on Turin) or the same wrapped in an OCTET STRING. */
static att_err hwid(struct att_rd *r, struct att_amd_cert_info *info)
{
    struct att_bytes b;
    struct att_rd whole = *r;
    att_rd_rest(&whole, &b);
    if (b.len == 64 || b.len == 8) {
        att_rd_rest(r, &b);
    } else {
        struct att_rd v;
        ATT_TRY(att_der_expect(r, ATT_DER_OCTET_STRING, &v));
        att_rd_rest(&v, &b);
        ATT_ENSURE(b.len == 64 || b.len == 8, ATT_ERR_PARSE);
    }
    memcpy(info->hwid, b.ptr, b.len);
    info->hwid_len = b.len;
    return ATT_OK;
}

static att_err spl(struct att_rd *r, uint8_t *out)
{
    uint64_t v = 0;
    ATT_TRY(att_der_uint(r, ATT_DER_INTEGER, 255, &v));
    *out = (uint8_t)v;
    return ATT_OK;
}

static att_err ext_value(enum att_amd_ext which, struct att_rd *r, struct att_amd_cert_info *info)
{
    uint8_t ignored = 0;
    switch (which) {
    case ATT_AMD_EXT_STRUCT_VERSION:
        return att_der_uint(r, ATT_DER_INTEGER, 255, &info->struct_version);
    case ATT_AMD_EXT_PRODUCT_NAME:
        ATT_TRY(ia5(r, info->product_name, sizeof(info->product_name)));
        info->product = att_amd_product_of_name(info->product_name);
        return ATT_OK;
    case ATT_AMD_EXT_BL_SPL: return spl(r, &info->bootloader);
    case ATT_AMD_EXT_TEE_SPL: return spl(r, &info->tee);
    case ATT_AMD_EXT_SNP_SPL: return spl(r, &info->snp);
    case ATT_AMD_EXT_UCODE_SPL: return spl(r, &info->microcode);
    case ATT_AMD_EXT_FMC_SPL: return spl(r, &info->fmc);
    case ATT_AMD_EXT_HWID: return hwid(r, info);
    case ATT_AMD_EXT_CSP_ID: return ia5(r, info->csp_id, sizeof(info->csp_id));
    case ATT_AMD_EXT_SPL_4:
    case ATT_AMD_EXT_SPL_5:
    case ATT_AMD_EXT_SPL_6:
    case ATT_AMD_EXT_SPL_7: return spl(r, &ignored);
    case ATT_AMD_EXT_COUNT: break;
    }
    return ATT_ERR_ARG;
}

att_err att_amd_ext_read(enum att_amd_ext which, struct att_bytes value,
                         struct att_amd_cert_info *info, char *msg, size_t msg_len)
{
    struct att_rd r;
    if (which >= ATT_AMD_EXT_COUNT || info == NULL) {
        return ATT_ERR_ARG;
    }
    if ((info->seen & (1u << which)) != 0) {
        return att_failf(ATT_ERR_SNP_CERT_EXTENSION, msg, msg_len,
                         "AMD certificate extension %s appears twice", exts[which].name);
    }
    att_rd_init(&r, value.ptr, value.len);
    if (ext_value(which, &r, info) != ATT_OK || att_rd_end(&r) != ATT_OK) {
        return att_failf(ATT_ERR_SNP_CERT_EXTENSION, msg, msg_len,
                         "AMD certificate extension %s is malformed", exts[which].name);
    }
    info->seen |= 1u << which;
    return ATT_OK;
}

att_err att_amd_cert_info_read(X509 *cert, struct att_amd_cert_info *info, char *msg,
                               size_t msg_len)
{
    memset(info, 0, sizeof(*info));
    for (int i = 0; i < X509_get_ext_count(cert); i++) {
        X509_EXTENSION *ext = X509_get_ext(cert, i);
        const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
        const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
        enum att_amd_ext which = att_amd_ext_of(OBJ_get0_data(obj), OBJ_length(obj));
        if (which == ATT_AMD_EXT_COUNT) {
            continue;
        }
        struct att_bytes v = {ASN1_STRING_get0_data(data), (size_t)ASN1_STRING_length(data)};
        ATT_TRY(att_amd_ext_read(which, v, info, msg, msg_len));
    }
    return ATT_OK;
}

enum att_snp_product att_amd_product_of_name(const char *name)
{
    static const struct {
        const char *name;
        enum att_snp_product p;
    } names[] = {{"Milan", ATT_SNP_MILAN}, {"Genoa", ATT_SNP_GENOA}, {"Turin", ATT_SNP_TURIN}};
    size_t n = strcspn(name, "-");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (n == strlen(names[i].name) && strncmp(name, names[i].name, n) == 0) {
            return names[i].p;
        }
    }
    return ATT_SNP_UNKNOWN;
}

const char *att_amd_product_name(enum att_snp_product p)
{
    switch (p) {
    case ATT_SNP_MILAN: return "Milan";
    case ATT_SNP_GENOA: return "Genoa";
    case ATT_SNP_TURIN: return "Turin";
    case ATT_SNP_UNKNOWN: break;
    }
    return "unknown";
}

/* An AlgorithmIdentifier's DER is one of AMD's two encodings. */
static bool alg_der_ok(const uint8_t *der, size_t n)
{
    if (n == sizeof(pss_with_trailer)) {
        return memcmp(der, pss_with_trailer, n) == 0;
    }
    /* Without the trailer: both lengths 5 shorter, the rest equal. */
    return n == PSS_NO_TRAILER_LEN && der[0] == 0x30 && der[1] == 0x41 &&
           memcmp(der + 2, pss_with_trailer + 2, 11) == 0 && der[13] == 0x30 && der[14] == 0x34 &&
           memcmp(der + 15, pss_with_trailer + 15, PSS_NO_TRAILER_LEN - 15) == 0;
}

static bool algor_ok(const X509_ALGOR *alg)
{
    unsigned char *der = NULL;
    int n = i2d_X509_ALGOR(alg, &der);
    bool ok = n > 0 && alg_der_ok(der, (size_t)n);
    OPENSSL_free(der);
    ERR_clear_error();
    return ok;
}

bool att_amd_cert_pss_ok(const X509 *cert)
{
    const X509_ALGOR *outer = NULL;
    X509_get0_signature(NULL, &outer, cert);
    return outer != NULL && algor_ok(outer) && algor_ok(X509_get0_tbs_sigalg(cert));
}

/* The signature AlgorithmIdentifier inside a CRL's TBSCertList (RFC 5280 §5.1), as DER: after
 * the optional version. OpenSSL 3.0 has no accessor for it. */
static bool crl_inner_alg_ok(struct att_bytes der)
{
    struct att_rd r;
    struct att_rd list;
    struct att_rd tbs;
    struct att_rd content;
    struct att_bytes whole;
    uint8_t tag = 0;
    att_rd_init(&r, der.ptr, der.len);
    if (att_der_expect(&r, ATT_DER_SEQUENCE, &list) != ATT_OK ||
        att_der_expect(&list, ATT_DER_SEQUENCE, &tbs) != ATT_OK ||
        att_rd_peek_u8(&tbs, &tag) != ATT_OK) {
        return false;
    }
    if (tag == ATT_DER_INTEGER && att_der_next(&tbs, &tag, &content) != ATT_OK) {
        return false;
    }
    struct att_rd start = tbs;
    if (att_der_expect(&tbs, ATT_DER_SEQUENCE, &content) != ATT_OK ||
        att_rd_bytes(&start, att_rd_offset(&tbs) - att_rd_offset(&start), &whole) != ATT_OK) {
        return false;
    }
    return alg_der_ok(whole.ptr, whole.len);
}

bool att_amd_crl_pss_ok(const X509_CRL *crl, struct att_bytes der)
{
    const X509_ALGOR *outer = NULL;
    X509_CRL_get0_signature(crl, NULL, &outer);
    return outer != NULL && algor_ok(outer) && crl_inner_alg_ok(der);
}
