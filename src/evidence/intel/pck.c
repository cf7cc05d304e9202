/*
 * pck.c - decode the SGX extension of a PCK certificate (Intel SGX PCK Certificate and CRL
 * Profile; docs/reference/intel-collateral.md §3.2) with the DER reader of src/x509/der.h.
 */
#include "evidence/intel/pck.h"

#include <string.h>

#include <openssl/objects.h>

#include "core/rd.h"
#include "x509/der.h"

/* 1.2.840.113741.1.13.1 in DER content octets */
static const uint8_t sgx_ext_oid[] = {0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01};
#define SGX_EXT_OID_TEXT "1.2.840.113741.1.13.1"

#define TCB_MEMBERS 18 /* 16 components, pcesvn, cpusvn */

/*
 * Read an OID and return its last arc when it is sgx_ext_oid + `prefix` + one more arc
 * (arcs below 128, which is all Intel uses); -1 when it is some other OID.
 */
static att_err sub_oid(struct att_rd *r, const uint8_t *prefix, size_t prefix_len, int *arc)
{
    struct att_rd oid;
    struct att_bytes b;
    ATT_TRY(att_der_expect(r, ATT_DER_OID, &oid));
    att_rd_rest(&oid, &b);
    *arc = -1;
    if (b.len == sizeof(sgx_ext_oid) + prefix_len + 1 &&
        memcmp(b.ptr, sgx_ext_oid, sizeof(sgx_ext_oid)) == 0 &&
        (prefix_len == 0 || memcmp(b.ptr + sizeof(sgx_ext_oid), prefix, prefix_len) == 0) &&
        b.ptr[b.len - 1] < 0x80) {
        *arc = b.ptr[b.len - 1];
    }
    return ATT_OK;
}

static att_err octets(struct att_rd *r, uint8_t *dst, size_t n)
{
    struct att_rd v;
    ATT_TRY(att_der_expect(r, ATT_DER_OCTET_STRING, &v));
    ATT_ENSURE(att_rd_left(&v) == n, ATT_ERR_PARSE);
    return att_rd_copy(&v, dst, n);
}

/* The .2 TCB sequence: 18 {OID .2.N, value} pairs, each exactly once. */
static att_err tcb_parse(struct att_rd *r, struct att_pck_info *pck, char *msg, size_t msg_len)
{
    static const uint8_t tcb_prefix[] = {0x02};
    uint32_t seen = 0;
    struct att_rd seq;
    if (att_der_expect(r, ATT_DER_SEQUENCE, &seq) != ATT_OK) {
        return att_failf(ATT_ERR_PCK_EXTENSION, msg, msg_len, "PCK TCB is not a SEQUENCE");
    }
    while (att_rd_left(&seq) > 0) {
        struct att_rd pair;
        int arc = -1;
        uint64_t v = 0;
        if (att_der_expect(&seq, ATT_DER_SEQUENCE, &pair) != ATT_OK ||
            sub_oid(&pair, tcb_prefix, sizeof(tcb_prefix), &arc) != ATT_OK || arc < 1 ||
            arc > TCB_MEMBERS || (seen & (1u << arc)) != 0) {
            return att_failf(ATT_ERR_PCK_EXTENSION, msg, msg_len,
                             "PCK TCB holds an unknown, repeated or malformed entry");
        }
        seen |= 1u << arc;
        att_err rc;
        if (arc <= 16) {
            rc = att_der_uint(&pair, ATT_DER_INTEGER, 255, &v);
            pck->comp_svn[arc - 1] = (uint8_t)v;
        } else if (arc == 17) {
            rc = att_der_uint(&pair, ATT_DER_INTEGER, 65535, &v);
            pck->pcesvn = (uint16_t)v;
        } else {
            rc = octets(&pair, pck->cpusvn, sizeof(pck->cpusvn));
        }
        if (rc != ATT_OK || att_rd_end(&pair) != ATT_OK) {
            return att_failf(ATT_ERR_PCK_EXTENSION, msg, msg_len,
                             "PCK TCB entry %d has a malformed value", arc);
        }
    }
    if (seen != ((1u << (TCB_MEMBERS + 1)) - 2)) {
        return att_failf(ATT_ERR_PCK_EXTENSION, msg, msg_len,
                         "PCK TCB lacks some of its 18 entries");
    }
    return ATT_OK;
}

static att_err entry_parse(struct att_rd *pair, int arc, struct att_pck_info *pck, char *msg,
                           size_t msg_len)
{
    uint64_t v = 0;
    switch (arc) {
    case 1: return octets(pair, pck->ppid, sizeof(pck->ppid));
    case 2: return tcb_parse(pair, pck, msg, msg_len);
    case 3: return octets(pair, pck->pceid, sizeof(pck->pceid));
    case 4: return octets(pair, pck->fmspc, sizeof(pck->fmspc));
    case 5:
        ATT_TRY(att_der_uint(pair, ATT_DER_ENUMERATED, 2, &v));
        pck->sgx_type = (unsigned)v;
        return ATT_OK;
    default: {
        /* .6 platform instance id, .7 configuration: Platform-CA leaves; not used. */
        uint8_t tag = 0;
        struct att_rd skip;
        return att_der_next(pair, &tag, &skip);
    }
    }
}

static const char *entry_name(int arc)
{
    switch (arc) {
    case 1: return "PPID";
    case 2: return "TCB";
    case 3: return "PCE-ID";
    case 4: return "FMSPC";
    case 5: return "SGX type";
    default: return "entry";
    }
}

att_err att_pck_info_parse(const uint8_t *der, size_t len, struct att_pck_info *out, char *msg,
                           size_t msg_len)
{
    struct att_pck_info pck;
    struct att_rd r;
    struct att_rd seq;
    uint32_t seen = 0;

    if (der == NULL || out == NULL) {
        return ATT_ERR_ARG;
    }
    memset(&pck, 0, sizeof(pck));
    att_rd_init(&r, der, len);
    if (att_der_expect(&r, ATT_DER_SEQUENCE, &seq) != ATT_OK || att_rd_end(&r) != ATT_OK) {
        return att_failf(ATT_ERR_PCK_EXTENSION, msg, msg_len,
                         "PCK SGX extension is not one DER SEQUENCE");
    }
    while (att_rd_left(&seq) > 0) {
        struct att_rd pair;
        int arc = -1;
        if (att_der_expect(&seq, ATT_DER_SEQUENCE, &pair) != ATT_OK ||
            sub_oid(&pair, NULL, 0, &arc) != ATT_OK || arc < 1 || arc > 7) {
            return att_failf(ATT_ERR_PCK_EXTENSION, msg, msg_len,
                             "PCK SGX extension holds an unknown or malformed entry");
        }
        uint32_t bit = 1u << (arc - 1);
        if (seen & bit) {
            return att_failf(ATT_ERR_PCK_EXTENSION, msg, msg_len,
                             "PCK SGX extension repeats its %s", entry_name(arc));
        }
        seen |= bit;
        att_err rc = entry_parse(&pair, arc, &pck, msg, msg_len);
        if (rc == ATT_ERR_PCK_EXTENSION) {
            return rc;
        }
        if (rc != ATT_OK || att_rd_end(&pair) != ATT_OK) {
            return att_failf(ATT_ERR_PCK_EXTENSION, msg, msg_len,
                             "PCK SGX extension has a malformed %s", entry_name(arc));
        }
    }
    for (int arc = 1; arc <= 5; arc++) {
        if ((seen & (1u << (arc - 1))) == 0) {
            return att_failf(ATT_ERR_PCK_EXTENSION, msg, msg_len, "PCK SGX extension lacks its %s",
                             entry_name(arc));
        }
    }
    *out = pck;
    return ATT_OK;
}

att_err att_pck_info_from_cert(X509 *leaf, struct att_pck_info *out, char *msg, size_t msg_len)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(SGX_EXT_OID_TEXT, 1);
    int idx;
    X509_EXTENSION *ext;
    const ASN1_OCTET_STRING *val;

    if (oid == NULL) {
        return ATT_ERR_NOMEM;
    }
    idx = X509_get_ext_by_OBJ(leaf, oid, -1);
    ASN1_OBJECT_free(oid);
    if (idx < 0) {
        return att_failf(ATT_ERR_PCK_EXTENSION, msg, msg_len,
                         "PCK certificate has no SGX extension (" SGX_EXT_OID_TEXT ")");
    }
    ext = X509_get_ext(leaf, idx);
    val = X509_EXTENSION_get_data(ext);
    return att_pck_info_parse(ASN1_STRING_get0_data(val), (size_t)ASN1_STRING_length(val), out, msg,
                              msg_len);
}
