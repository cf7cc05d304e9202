/*
 * inspect.c - an Intel quote's fields as JSON, without verifying anything (inspect.h).
 */
#include "evidence/intel/inspect.h"

#include "core/buf.h"
#include "core/codec.h"
#include "evidence/intel/pck.h"
#include "x509/certs.h"

static json_t *hex_json(const uint8_t *p, size_t n)
{
    struct att_buf h;
    att_buf_init(&h, 2 * n + 1);
    json_t *v =
        att_hex_encode(p, n, &h) == ATT_OK ? json_stringn((const char *)h.data, h.len) : NULL;
    att_buf_cleanup(&h);
    return v;
}

static json_t *sgx_body_json(const struct att_sgx_report_body *b)
{
    return json_pack(
        "{s:o,s:I,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:o,s:o,s:o,s:b}", "cpusvn", hex_json(b->cpusvn, 16),
        "miscselect", (json_int_t)b->miscselect, "attributes", hex_json(b->attributes, 16),
        "mrenclave", hex_json(b->mrenclave, 32), "mrsigner", hex_json(b->mrsigner, 32), "configid",
        hex_json(b->configid, 64), "isvprodid", (json_int_t)b->isvprodid, "isvsvn",
        (json_int_t)b->isvsvn, "configsvn", (json_int_t)b->configsvn, "isvextprodid",
        hex_json(b->isvextprodid, 16), "isvfamilyid", hex_json(b->isvfamilyid, 16), "reportdata",
        hex_json(b->reportdata, 64), "debug", (b->flags & ATT_SGX_FLAGS_DEBUG) != 0);
}

static json_t *td_body_json(const struct att_intel_quote *q)
{
    const struct att_td_report *t = &q->td;
    json_t *o = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}", "teeTcbSvn",
        hex_json(t->tee_tcb_svn, 16), "mrseam", hex_json(t->mrseam, 48), "mrsignerseam",
        hex_json(t->mrsignerseam, 48), "seamAttributes", hex_json(t->seam_attributes, 8),
        "tdAttributes", hex_json(t->td_attributes, 8), "xfam", hex_json(t->xfam, 8), "mrtd",
        hex_json(t->mrtd, 48), "mrconfigid", hex_json(t->mrconfigid, 48), "mrowner",
        hex_json(t->mrowner, 48), "mrownerconfig", hex_json(t->mrownerconfig, 48), "rtmr0",
        hex_json(t->rtmr[0], 48), "rtmr1", hex_json(t->rtmr[1], 48), "rtmr2",
        hex_json(t->rtmr[2], 48), "rtmr3", hex_json(t->rtmr[3], 48), "reportdata",
        hex_json(t->reportdata, 64), "debug", (t->td_attributes_bits & ATT_TD_ATTR_DEBUG) != 0);
    if (o != NULL && q->body_type == ATT_QUOTE_BODY_TD15) {
        json_object_set_new(o, "teeTcbSvn2", hex_json(t->tee_tcb_svn2, 16));
        json_object_set_new(o, "mrservicetd", hex_json(t->mrservicetd, 48));
    }
    return o;
}

/* The PCK leaf's SGX extension, read without checking anything. */
static json_t *pck_json(const struct att_intel_quote *q)
{
    STACK_OF(X509) *certs = NULL;
    X509 *leaf = NULL;
    struct att_pck_info pck;
    char msg[160] = "";
    json_t *out = NULL;
    if (att_pem_certs_parse(q->sig.pck_pem.ptr, q->sig.pck_pem.len, 4, &certs, msg, sizeof(msg)) !=
            ATT_OK ||
        att_certs_leaf(certs, &leaf) != ATT_OK ||
        att_pck_info_from_cert(leaf, &pck, msg, sizeof(msg)) != ATT_OK) {
        out = json_pack("{s:s}", "error", msg[0] ? msg : "no PCK certificate chain");
    } else {
        char subject[256] = "";
        char issuer[256] = "";
        X509_NAME_oneline(X509_get_subject_name(leaf), subject, sizeof(subject));
        X509_NAME_oneline(X509_get_issuer_name(leaf), issuer, sizeof(issuer));
        out =
            json_pack("{s:s,s:s,s:i,s:o,s:o,s:o,s:I,s:o}", "subject", subject, "issuer", issuer,
                      "certificates", sk_X509_num(certs), "fmspc", hex_json(pck.fmspc, 6), "pceid",
                      hex_json(pck.pceid, 2), "tcbComponents", hex_json(pck.comp_svn, 16), "pcesvn",
                      (json_int_t)pck.pcesvn, "cpusvn", hex_json(pck.cpusvn, 16));
    }
    sk_X509_pop_free(certs, X509_free);
    return out;
}

static json_t *sgx_claims_json(const struct att_sgx_report_body *b)
{
    return json_pack("{s:b,s:o,s:o,s:i,s:i,s:o,s:s}", "x-ms-sgx-is-debuggable",
                     (b->flags & ATT_SGX_FLAGS_DEBUG) != 0, "x-ms-sgx-mrenclave",
                     hex_json(b->mrenclave, 32), "x-ms-sgx-mrsigner", hex_json(b->mrsigner, 32),
                     "x-ms-sgx-product-id", b->isvprodid, "x-ms-sgx-svn", b->isvsvn,
                     "x-ms-sgx-report-data", hex_json(b->reportdata, 64), "x-ms-attestation-type",
                     "sgx");
}

static json_t *tdx_claims_json(const struct att_td_report *t)
{
    return json_pack("{s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "tdx_td_attributes_debug",
                     (t->td_attributes_bits & ATT_TD_ATTR_DEBUG) != 0, "tdx_mrtd",
                     hex_json(t->mrtd, 48), "tdx_rtmr0", hex_json(t->rtmr[0], 48), "tdx_rtmr1",
                     hex_json(t->rtmr[1], 48), "tdx_rtmr2", hex_json(t->rtmr[2], 48), "tdx_rtmr3",
                     hex_json(t->rtmr[3], 48), "tdx_mrseam", hex_json(t->mrseam, 48),
                     "tdx_report_data", hex_json(t->reportdata, 64), "x-ms-attestation-type",
                     "tdxvm");
}

att_err att_intel_inspect(struct att_bytes quote, enum att_intel_tee tee, json_t **out, char *msg,
                          size_t msg_len)
{
    struct att_intel_quote q;
    ATT_TRY(att_intel_quote_parse(quote.ptr, quote.len, tee, &q, msg, msg_len));
    const struct att_quote_header *h = &q.header;
    bool sgx = q.body_type == ATT_QUOTE_BODY_SGX;
    json_t *doc = json_pack(
        "{s:s,s:{s:i,s:i,s:I,s:i,s:i,s:o,s:o},s:i,s:o,s:{s:o,s:o,s:o,s:I,s:i,s:I},s:o,s:I,s:o}",
        "warning", "UNVERIFIED: parsed only; no signature, certificate or collateral was checked",
        "header", "version", h->version, "attKeyType", h->att_key_type, "teeType",
        (json_int_t)h->tee_type, "qeSvn", h->qe_svn, "pceSvn", h->pce_svn, "qeVendorId",
        hex_json(h->qe_vendor_id, 16), "userData", hex_json(h->user_data, 20), "bodyType",
        (int)q.body_type, "reportBody", sgx ? sgx_body_json(&q.body) : td_body_json(&q),
        "signature", "attestationKey", hex_json(q.sig.attest_key, 64), "qeReport",
        sgx_body_json(&q.sig.qe_report), "qeAuthData",
        hex_json(q.sig.qe_auth_data.ptr, q.sig.qe_auth_data.len), "qeAuthDataSize",
        (json_int_t)q.sig.qe_auth_data.len, "certificationDataType", q.sig.cert_type,
        "pckChainBytes", (json_int_t)q.sig.pck_pem.len, "pck", pck_json(&q), "trailingZeroBytes",
        (json_int_t)q.padding, "claims (unverified)",
        sgx ? sgx_claims_json(&q.body) : tdx_claims_json(&q.td));
    ATT_ENSURE(doc != NULL, ATT_ERR_NOMEM);
    *out = doc;
    return ATT_OK;
}
