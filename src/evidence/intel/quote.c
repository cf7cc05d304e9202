/*
 * quote.c - parse DCAP ECDSA quotes (docs/reference/intel-quotes.md §1, §2) and Open Enclave report
 * headers (docs/reference/intel-quotes.md §1.5) through the bounded reader. No verification happens
 * here.
 */
#include "evidence/intel/quote.h"

#include <string.h>

const uint8_t att_intel_qe_vendor_id[16] = {0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C, 0x4C, 0xA9,
                                            0x94, 0x0A, 0x0D, 0xB3, 0x95, 0x7F, 0x06, 0x07};

#define OE_HEADER_LEN 16
#define OE_REPORT_VERSION 1
#define OE_REPORT_TYPE_REMOTE 2

att_err att_quote_header_parse(struct att_rd *r, struct att_quote_header *out, char *msg,
                               size_t msg_len)
{
    struct att_quote_header h;
    ATT_TRY(att_rd_u16le(r, &h.version));
    ATT_TRY(att_rd_u16le(r, &h.att_key_type));
    ATT_TRY(att_rd_u32le(r, &h.tee_type));
    ATT_TRY(att_rd_u16le(r, &h.qe_svn));
    ATT_TRY(att_rd_u16le(r, &h.pce_svn));
    ATT_TRY(att_rd_copy(r, h.qe_vendor_id, sizeof(h.qe_vendor_id)));
    ATT_TRY(att_rd_copy(r, h.user_data, sizeof(h.user_data)));

    if (h.version < 3 || h.version > 5) {
        return att_failf(ATT_ERR_QUOTE_VERSION, msg, msg_len,
                         "quote version %u is not supported (3, 4 or 5)", h.version);
    }
    if (h.att_key_type != ATT_QUOTE_ECDSA_P256) {
        return att_failf(ATT_ERR_QUOTE_KEY_TYPE, msg, msg_len,
                         "attestation key type %u is not ECDSA P-256 (2)", h.att_key_type);
    }
    /* v3 quotes are SGX only; v4/v5 carry SGX (0) or TDX (0x81) (docs/reference/intel-quotes.md
     * §2.1). */
    if (h.tee_type != ATT_QUOTE_TEE_SGX && (h.version == 3 || h.tee_type != ATT_QUOTE_TEE_TDX)) {
        return att_failf(ATT_ERR_QUOTE_TEE_TYPE, msg, msg_len,
                         "TEE type 0x%08x is not valid in a version %u quote", h.tee_type,
                         h.version);
    }
    if (memcmp(h.qe_vendor_id, att_intel_qe_vendor_id, sizeof(h.qe_vendor_id)) != 0) {
        return att_failf(ATT_ERR_QUOTE_QE_VENDOR, msg, msg_len,
                         "QE vendor id is not Intel's (939A7233F79C4CA9940A0DB3957F0607)");
    }
    *out = h;
    return ATT_OK;
}

att_err att_sgx_report_body_parse(struct att_rd *r, struct att_sgx_report_body *out)
{
    struct att_sgx_report_body b;
    struct att_rd body;
    ATT_TRY(att_rd_bytes(r, ATT_SGX_REPORT_BODY_LEN, &b.raw));
    att_rd_init(&body, b.raw.ptr, b.raw.len);

    /* Offsets are docs/reference/intel-quotes.md §1.2 (B+); reserved ranges are skipped, not
     * checked. */
    ATT_TRY(att_rd_copy(&body, b.cpusvn, sizeof(b.cpusvn)));         /* 0x000 */
    ATT_TRY(att_rd_u32le(&body, &b.miscselect));                     /* 0x010 */
    ATT_TRY(att_rd_skip(&body, 12));                                 /* 0x014 */
    ATT_TRY(att_rd_copy(&body, b.isvextprodid, 16));                 /* 0x020 */
    ATT_TRY(att_rd_copy(&body, b.attributes, sizeof(b.attributes))); /* 0x030 */
    ATT_TRY(att_rd_copy(&body, b.mrenclave, sizeof(b.mrenclave)));   /* 0x040 */
    ATT_TRY(att_rd_skip(&body, 32));                                 /* 0x060 */
    ATT_TRY(att_rd_copy(&body, b.mrsigner, sizeof(b.mrsigner)));     /* 0x080 */
    ATT_TRY(att_rd_skip(&body, 32));                                 /* 0x0A0 */
    ATT_TRY(att_rd_copy(&body, b.configid, sizeof(b.configid)));     /* 0x0C0 */
    ATT_TRY(att_rd_u16le(&body, &b.isvprodid));                      /* 0x100 */
    ATT_TRY(att_rd_u16le(&body, &b.isvsvn));                         /* 0x102 */
    ATT_TRY(att_rd_u16le(&body, &b.configsvn));                      /* 0x104 */
    ATT_TRY(att_rd_skip(&body, 42));                                 /* 0x106 */
    ATT_TRY(att_rd_copy(&body, b.isvfamilyid, 16));                  /* 0x130 */
    ATT_TRY(att_rd_copy(&body, b.reportdata, sizeof(b.reportdata))); /* 0x140 */
    ATT_TRY(att_rd_end(&body));

    struct att_rd attr;
    att_rd_init(&attr, b.attributes, sizeof(b.attributes));
    ATT_TRY(att_rd_u64le(&attr, &b.flags));
    ATT_TRY(att_rd_u64le(&attr, &b.xfrm));
    *out = b;
    return ATT_OK;
}

/* A TD report body, 1.0 or 1.5 (docs/reference/intel-quotes.md §2.2, §2.4); `r` holds exactly its
 * bytes. */
static att_err td_report_parse(struct att_rd *r, bool v15, struct att_td_report *out)
{
    struct att_td_report t;
    struct att_rd attr;
    memset(&t, 0, sizeof(t));
    ATT_TRY(att_rd_copy(r, t.tee_tcb_svn, sizeof(t.tee_tcb_svn)));         /* 0x000 */
    ATT_TRY(att_rd_copy(r, t.mrseam, sizeof(t.mrseam)));                   /* 0x010 */
    ATT_TRY(att_rd_copy(r, t.mrsignerseam, sizeof(t.mrsignerseam)));       /* 0x040 */
    ATT_TRY(att_rd_copy(r, t.seam_attributes, sizeof(t.seam_attributes))); /* 0x070 */
    ATT_TRY(att_rd_copy(r, t.td_attributes, sizeof(t.td_attributes)));     /* 0x078 */
    ATT_TRY(att_rd_copy(r, t.xfam, sizeof(t.xfam)));                       /* 0x080 */
    ATT_TRY(att_rd_copy(r, t.mrtd, sizeof(t.mrtd)));                       /* 0x088 */
    ATT_TRY(att_rd_copy(r, t.mrconfigid, sizeof(t.mrconfigid)));           /* 0x0B8 */
    ATT_TRY(att_rd_copy(r, t.mrowner, sizeof(t.mrowner)));                 /* 0x0E8 */
    ATT_TRY(att_rd_copy(r, t.mrownerconfig, sizeof(t.mrownerconfig)));     /* 0x118 */
    for (size_t i = 0; i < 4; i++) {
        ATT_TRY(att_rd_copy(r, t.rtmr[i], sizeof(t.rtmr[i]))); /* 0x148, 0x178, 0x1A8, 0x1D8 */
    }
    ATT_TRY(att_rd_copy(r, t.reportdata, sizeof(t.reportdata))); /* 0x208 */
    if (v15) {
        ATT_TRY(att_rd_copy(r, t.tee_tcb_svn2, sizeof(t.tee_tcb_svn2))); /* 0x248 */
        ATT_TRY(att_rd_copy(r, t.mrservicetd, sizeof(t.mrservicetd)));   /* 0x258 */
    }
    ATT_TRY(att_rd_end(r));
    att_rd_init(&attr, t.td_attributes, sizeof(t.td_attributes));
    ATT_TRY(att_rd_u64le(&attr, &t.td_attributes_bits));
    *out = t;
    return ATT_OK;
}

/*
 * Certification data of type 5: a PEM chain. Real quotes end it with one NUL
 * (docs/reference/intel-quotes.md §8.1); drop that one, the PEM parser judges the rest.
 */
static att_err pck_chain_view(struct att_rd *r, uint16_t type, uint32_t size,
                              struct att_quote_signature *sig, char *msg, size_t msg_len)
{
    struct att_bytes pem;
    if (type != ATT_CERT_TYPE_PCK_CHAIN) {
        return att_failf(ATT_ERR_QUOTE_CERT_TYPE, msg, msg_len,
                         "PCK certification data type %u is not supported (5: PCK chain)", type);
    }
    ATT_TRY(att_rd_bytes(r, size, &pem));
    if (pem.len > 0 && pem.ptr[pem.len - 1] == 0) {
        pem.len--;
    }
    sig->cert_type = type;
    sig->pck_pem = pem;
    return ATT_OK;
}

/* QE report || signature || auth data, common to v3 signature data and type 6 (§1.3, §2.5). */
static att_err qe_part_parse(struct att_rd *r, struct att_quote_signature *sig)
{
    uint16_t auth_len = 0;
    ATT_TRY(att_sgx_report_body_parse(r, &sig->qe_report));
    ATT_TRY(att_rd_copy(r, sig->qe_report_sig, sizeof(sig->qe_report_sig)));
    ATT_TRY(att_rd_u16le(r, &auth_len));
    ATT_TRY(att_rd_bytes(r, auth_len, &sig->qe_auth_data));
    return ATT_OK;
}

static att_err cert_data_head(struct att_rd *r, uint16_t *type, uint32_t *size, char *msg,
                              size_t msg_len)
{
    ATT_TRY(att_rd_u16le(r, type));
    ATT_TRY(att_rd_u32le(r, size));
    if (*size > att_rd_left(r)) {
        return att_failf(ATT_ERR_TRUNCATED, msg, msg_len,
                         "certification data size %u runs past the signature data (%zu left)",
                         *size, att_rd_left(r));
    }
    return ATT_OK;
}

att_err att_quote_signature_parse(struct att_rd *r, uint16_t version,
                                  struct att_quote_signature *out, char *msg, size_t msg_len)
{
    struct att_quote_signature sig;
    uint16_t type = 0;
    uint32_t size = 0;
    struct att_rd cert;
    memset(&sig, 0, sizeof(sig));
    ATT_TRY(att_rd_copy(r, sig.quote_sig, sizeof(sig.quote_sig)));
    ATT_TRY(att_rd_copy(r, sig.attest_key, sizeof(sig.attest_key)));

    if (version == 3) {
        /* v3: the QE part comes first, then the PCK certification data (§1.3). */
        ATT_TRY(qe_part_parse(r, &sig));
        ATT_TRY(cert_data_head(r, &type, &size, msg, msg_len));
        ATT_TRY(pck_chain_view(r, type, size, &sig, msg, msg_len));
    } else {
        /* v4/v5: type 6 wraps the QE part and a nested type 5 (§2.5), ending exactly. */
        ATT_TRY(cert_data_head(r, &type, &size, msg, msg_len));
        if (type != ATT_CERT_TYPE_QE_REPORT) {
            return att_failf(ATT_ERR_QUOTE_CERT_TYPE, msg, msg_len,
                             "certification data type %u is not supported (6: QE report)", type);
        }
        ATT_TRY(att_rd_sub(r, size, &cert));
        ATT_TRY(qe_part_parse(&cert, &sig));
        ATT_TRY(cert_data_head(&cert, &type, &size, msg, msg_len));
        ATT_TRY(pck_chain_view(&cert, type, size, &sig, msg, msg_len));
        if (att_rd_end(&cert) != ATT_OK) {
            return att_failf(ATT_ERR_TRAILING, msg, msg_len,
                             "QE report certification data has %zu bytes after the PCK chain",
                             att_rd_left(&cert));
        }
    }
    if (att_rd_end(r) != ATT_OK) {
        return att_failf(ATT_ERR_TRAILING, msg, msg_len,
                         "signature data has %zu bytes after the certification data",
                         att_rd_left(r));
    }
    *out = sig;
    return ATT_OK;
}

/* Bytes after the declared end must all be zero; count them (docs/reference/intel-quotes.md §8.2).
 */
static att_err padding_check(struct att_rd *r, size_t *count, char *msg, size_t msg_len)
{
    size_t n = att_rd_left(r);
    for (size_t i = 0; i < n; i++) {
        uint8_t b = 0;
        ATT_TRY(att_rd_u8(r, &b));
        if (b != 0) {
            return att_failf(ATT_ERR_QUOTE_PADDING, msg, msg_len,
                             "non-zero byte after the end of the quote at offset %zu",
                             att_rd_offset(r) - 1);
        }
    }
    *count = n;
    return ATT_OK;
}

/* The version and TEE type fit what the caller expects (the evidence type's endpoint). */
static att_err expect_tee(const struct att_quote_header *h, enum att_intel_tee tee, char *msg,
                          size_t msg_len)
{
    if (tee == ATT_INTEL_TEE_SGX && h->version != 3) {
        return att_failf(ATT_ERR_QUOTE_VERSION, msg, msg_len,
                         "quote version %u is not an SGX quote (3)", h->version);
    }
    if (tee == ATT_INTEL_TEE_TDX && h->version == 3) {
        return att_failf(ATT_ERR_QUOTE_VERSION, msg, msg_len,
                         "quote version 3 is not a TDX quote (4 or 5)");
    }
    if (tee == ATT_INTEL_TEE_TDX && h->tee_type != ATT_QUOTE_TEE_TDX) {
        return att_failf(ATT_ERR_QUOTE_TEE_TYPE, msg, msg_len,
                         "TEE type 0x%08x is not TDX (0x00000081)", h->tee_type);
    }
    return ATT_OK;
}

/*
 * The body's type and size: implied by the version and TEE type in v3/v4, declared by two
 * fields in v5 (docs/reference/intel-quotes.md §2.4). QVL's rules: the size is the one the type
 * implies, an SGX quote has an SGX body and a TDX quote a TD report.
 */
static att_err body_frame(struct att_rd *r, const struct att_quote_header *h,
                          enum att_quote_body_type *type, size_t *size, char *msg, size_t msg_len)
{
    static const size_t sizes[] = {0, ATT_SGX_REPORT_BODY_LEN, ATT_TD_REPORT10_LEN,
                                   ATT_TD_REPORT15_LEN};
    bool tdx = h->tee_type == ATT_QUOTE_TEE_TDX;
    uint16_t t = 0;
    uint32_t n = 0;
    if (h->version < 5) {
        *type = tdx ? ATT_QUOTE_BODY_TD10 : ATT_QUOTE_BODY_SGX;
        *size = sizes[*type];
        return ATT_OK;
    }
    ATT_TRY(att_rd_u16le(r, &t));
    ATT_TRY(att_rd_u32le(r, &n));
    if (t < ATT_QUOTE_BODY_SGX || t > ATT_QUOTE_BODY_TD15) {
        return att_failf(ATT_ERR_QUOTE_BODY_TYPE, msg, msg_len,
                         "quote body type %u is not 1 (SGX), 2 (TD 1.0) or 3 (TD 1.5)", t);
    }
    if ((t == ATT_QUOTE_BODY_SGX) == tdx) {
        return att_failf(ATT_ERR_QUOTE_BODY_TYPE, msg, msg_len,
                         "quote body type %u does not fit TEE type 0x%08x", t, h->tee_type);
    }
    if (n != sizes[t]) {
        return att_failf(ATT_ERR_QUOTE_BODY_TYPE, msg, msg_len,
                         "quote body size %u is not %zu, the size of body type %u", n, sizes[t], t);
    }
    *type = (enum att_quote_body_type)t;
    *size = n;
    return ATT_OK;
}

static att_err body_parse(struct att_rd *r, enum att_quote_body_type type, size_t size,
                          struct att_intel_quote *q)
{
    struct att_rd body;
    ATT_TRY(att_rd_sub(r, size, &body));
    if (type == ATT_QUOTE_BODY_SGX) {
        return att_sgx_report_body_parse(&body, &q->body);
    }
    return td_report_parse(&body, type == ATT_QUOTE_BODY_TD15, &q->td);
}

att_err att_intel_quote_parse(const uint8_t *p, size_t len, enum att_intel_tee tee,
                              struct att_intel_quote *out, char *msg, size_t msg_len)
{
    struct att_intel_quote q;
    struct att_rd r;
    struct att_rd sigdata;
    uint32_t sig_len = 0;
    size_t body_size = 0;
    att_err rc;

    if (p == NULL || out == NULL) {
        return ATT_ERR_ARG;
    }
    if (len > ATT_QUOTE_MAX_LEN) {
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "quote of %zu bytes is over %d", len,
                         ATT_QUOTE_MAX_LEN);
    }
    memset(&q, 0, sizeof(q));
    att_rd_init(&r, p, len);
    rc = att_quote_header_parse(&r, &q.header, msg, msg_len);
    if (rc == ATT_ERR_TRUNCATED) {
        return att_failf(rc, msg, msg_len, "quote of %zu bytes is shorter than its header", len);
    }
    ATT_TRY(rc);
    ATT_TRY(expect_tee(&q.header, tee, msg, msg_len));
    rc = body_frame(&r, &q.header, &q.body_type, &body_size, msg, msg_len);
    if (rc == ATT_OK) {
        rc = body_parse(&r, q.body_type, body_size, &q);
    }
    if (rc == ATT_OK) {
        rc = att_rd_u32le(&r, &sig_len);
    }
    if (rc == ATT_ERR_TRUNCATED) {
        return att_failf(ATT_ERR_TRUNCATED, msg, msg_len,
                         "quote of %zu bytes ends inside the report body", len);
    }
    ATT_TRY(rc);
    size_t signed_len = att_rd_offset(&r) - 4;
    if (sig_len > att_rd_left(&r)) {
        return att_failf(ATT_ERR_TRUNCATED, msg, msg_len,
                         "signature data length %u runs past the quote (%zu bytes left)", sig_len,
                         att_rd_left(&r));
    }
    ATT_TRY(att_rd_sub(&r, sig_len, &sigdata));
    if (msg != NULL && msg_len > 0) {
        msg[0] = '\0'; /* a callee that knows more about a truncation says so */
    }
    rc = att_quote_signature_parse(&sigdata, q.header.version, &q.sig, msg, msg_len);
    if (rc == ATT_ERR_TRUNCATED && msg != NULL && msg_len > 0 && msg[0] == '\0') {
        return att_failf(rc, msg, msg_len, "signature data (%u bytes) ends inside a field",
                         sig_len);
    }
    ATT_TRY(rc);

    size_t end = att_rd_offset(&r);
    ATT_TRY(padding_check(&r, &q.padding, msg, msg_len));
    q.bytes.ptr = p;
    q.bytes.len = end;
    ATT_TRY(att_bytes_slice(q.bytes, 0, signed_len, &q.signed_part));
    *out = q;
    return ATT_OK;
}

att_err att_oe_report_unwrap(const uint8_t *p, size_t len, struct att_bytes *quote, char *msg,
                             size_t msg_len)
{
    struct att_rd r;
    uint32_t version = 0;
    uint32_t type = 0;
    uint64_t size = 0;
    if (p == NULL || quote == NULL) {
        return ATT_ERR_ARG;
    }
    att_rd_init(&r, p, len);
    if (att_rd_u32le(&r, &version) != ATT_OK || att_rd_u32le(&r, &type) != ATT_OK ||
        att_rd_u64le(&r, &size) != ATT_OK) {
        return att_failf(ATT_ERR_TRUNCATED, msg, msg_len,
                         "Open Enclave report of %zu bytes is shorter than its 16-byte header",
                         len);
    }
    if (version != OE_REPORT_VERSION) {
        return att_failf(ATT_ERR_OE_HEADER, msg, msg_len,
                         "Open Enclave report header version %u is not 1", version);
    }
    if (type != OE_REPORT_TYPE_REMOTE) {
        return att_failf(ATT_ERR_OE_HEADER, msg, msg_len,
                         "Open Enclave report type %u is not a remote report (2)", type);
    }
    if (size != att_rd_left(&r)) {
        return att_failf(ATT_ERR_OE_HEADER, msg, msg_len,
                         "Open Enclave report size %llu differs from the %zu bytes that follow",
                         (unsigned long long)size, att_rd_left(&r));
    }
    att_rd_rest(&r, quote);
    return ATT_OK;
}
