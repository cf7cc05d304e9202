/*
 * verify.c - SGX ECDSA quote verification in the order of Intel's QVL
 * (QuoteVerifier.cpp, steps 4.1.2.4.x; FORMATS.md §5), each failure with its own code.
 */
#include "evidence/sgx/verify.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "core/timeutil.h"
#include "crypto/ecdsa.h"

/* ---- dates ---------------------------------------------------------------------------- */

static att_err item_in_date(const struct att_dcap_item *it, int64_t now, int64_t grace, char *msg,
                            size_t msg_len)
{
    char when[32];
    const char *name = att_dcap_kind_name(it->kind);
    bool document = it->kind != ATT_DCAP_PCK_CHAIN; /* a chain has only its certificates' dates */
    if (document && now < it->issued) {
        att_time_format(it->issued, when, sizeof(when));
        return att_failf(ATT_ERR_COLLATERAL_NOT_YET_VALID, msg, msg_len,
                         "%s is issued at %s, after the verification time", name, when);
    }
    if (document && now > it->next_update && now - it->next_update > grace) {
        att_time_format(it->next_update, when, sizeof(when));
        return att_failf(ATT_ERR_COLLATERAL_EXPIRED, msg, msg_len, "%s passed its nextUpdate %s",
                         name, when);
    }
    if (now < it->certs_from) {
        att_time_format(it->certs_from, when, sizeof(when));
        return att_failf(ATT_ERR_CERT_NOT_YET_VALID, msg, msg_len,
                         "a certificate of the %s is valid from %s only", name, when);
    }
    if (now > it->certs_until) {
        att_time_format(it->certs_until, when, sizeof(when));
        return att_failf(ATT_ERR_CERT_EXPIRED, msg, msg_len,
                         "a certificate of the %s expired at %s", name, when);
    }
    return ATT_OK;
}

static bool is_revoked(const struct att_dcap_item *crl, X509 *cert)
{
    X509_REVOKED *entry = NULL;
    return X509_CRL_get0_by_serial(crl->crl, &entry, X509_get0_serialNumber(cert)) == 1;
}

/* FORMATS.md §5 step 2: every collateral item in date, its signers not revoked. */
static att_err collateral_check(const struct att_sgx_collateral *c, int64_t now, int64_t grace,
                                char *msg, size_t msg_len)
{
    const struct att_dcap_item *items[] = {c->root_crl, c->pck_crl, c->tcb_info, c->qe_identity};
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        if (items[i] == NULL) {
            return att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len, "no %s for this quote",
                             i == 0   ? "Root CA CRL"
                             : i == 1 ? "PCK CRL"
                             : i == 2 ? "TCB info"
                                      : "QE identity");
        }
        ATT_TRY(item_in_date(items[i], now, grace, msg, msg_len));
    }
    /* The TCB signing certificates are issued by the root: the Root CA CRL covers them. */
    const struct att_dcap_item *signed_docs[] = {c->tcb_info, c->qe_identity};
    for (size_t i = 0; i < 2; i++) {
        if (is_revoked(c->root_crl, sk_X509_value(signed_docs[i]->chain, 0))) {
            return att_failf(ATT_ERR_TCB_SIGNING_CHAIN, msg, msg_len,
                             "the %s signing certificate is revoked by the Root CA CRL",
                             att_dcap_kind_name(signed_docs[i]->kind));
        }
    }
    return ATT_OK;
}

/* ---- PCK ------------------------------------------------------------------------------ */

/* FORMATS.md §5 steps 3-4: PCK chain in date, PCK CRL of the leaf's CA, nothing revoked. */
static att_err pck_check(const struct att_dcap_item *pck, const struct att_sgx_collateral *c,
                         int64_t now, char *msg, size_t msg_len)
{
    X509 *leaf = sk_X509_value(pck->chain, 0);
    X509 *ca = sk_X509_value(pck->chain, 1);

    ATT_TRY(item_in_date(pck, now, 0, msg, msg_len));
    if (X509_NAME_cmp(X509_CRL_get_issuer(c->pck_crl->crl), X509_get_issuer_name(leaf)) != 0) {
        return att_failf(ATT_ERR_PCK_CRL_INVALID, msg, msg_len,
                         "PCK CRL is from the %s CA, the PCK certificate from the %s CA",
                         c->pck_crl->pck_platform_ca ? "Platform" : "Processor",
                         pck->pck_platform_ca ? "Platform" : "Processor");
    }
    if (is_revoked(c->pck_crl, leaf)) {
        return att_failf(ATT_ERR_PCK_REVOKED, msg, msg_len,
                         "PCK certificate is listed in the PCK CRL");
    }
    if (is_revoked(c->root_crl, ca)) {
        return att_failf(ATT_ERR_PCK_CA_REVOKED, msg, msg_len,
                         "PCK CA certificate is listed in the Root CA CRL");
    }
    return ATT_OK;
}

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* FORMATS.md §5 steps 5-6. */
static att_err tcb_info_fits(const struct att_tcb_info *tcb, const struct att_pck_info *pck,
                             char *msg, size_t msg_len)
{
    char a[13];
    char b[13];
    if (tcb->id != ATT_TCB_INFO_SGX) {
        return att_failf(ATT_ERR_TCB_INFO_MISMATCH, msg, msg_len,
                         "TCB info is for TDX, the quote is an SGX quote");
    }
    if (memcmp(tcb->fmspc, pck->fmspc, sizeof(pck->fmspc)) != 0) {
        hex_of(pck->fmspc, 6, a);
        hex_of(tcb->fmspc, 6, b);
        return att_failf(ATT_ERR_FMSPC_MISMATCH, msg, msg_len,
                         "PCK FMSPC %s differs from the TCB info FMSPC %s", a, b);
    }
    if (memcmp(tcb->pceid, pck->pceid, sizeof(pck->pceid)) != 0) {
        hex_of(pck->pceid, 2, a);
        hex_of(tcb->pceid, 2, b);
        return att_failf(ATT_ERR_PCEID_MISMATCH, msg, msg_len,
                         "PCK PCE-ID %s differs from the TCB info PCE-ID %s", a, b);
    }
    return ATT_OK;
}

/* ---- QE ------------------------------------------------------------------------------- */

/* FORMATS.md §5 steps 8-9 (§1.3 binding rule). */
static att_err qe_report_check(const struct att_sgx_quote *q, EVP_PKEY *pck_key, char *msg,
                               size_t msg_len)
{
    const struct att_quote_signature *s = &q->sig;
    uint8_t expect[32];
    static const uint8_t zero[32];
    EVP_MD_CTX *md = NULL;
    unsigned int n = 0;
    bool ok;

    if (att_ecdsa_verify_raw(pck_key, s->qe_report_sig, sizeof(s->qe_report_sig),
                             s->qe_report.raw.ptr, s->qe_report.raw.len) != ATT_OK) {
        return att_failf(ATT_ERR_QE_REPORT_SIGNATURE, msg, msg_len,
                         "QE report signature does not verify with the PCK certificate's key");
    }
    md = EVP_MD_CTX_new();
    ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(md, s->attest_key, sizeof(s->attest_key)) == 1 &&
         EVP_DigestUpdate(md, s->qe_auth_data.ptr, s->qe_auth_data.len) == 1 &&
         EVP_DigestFinal_ex(md, expect, &n) == 1;
    EVP_MD_CTX_free(md);
    ATT_ENSURE(ok, ATT_ERR_CRYPTO);
    if (memcmp(s->qe_report.reportdata, expect, 32) != 0 ||
        memcmp(s->qe_report.reportdata + 32, zero, 32) != 0) {
        return att_failf(ATT_ERR_QE_REPORT_DATA, msg, msg_len,
                         "QE report data is not SHA-256(attestation key || QE auth data) "
                         "followed by 32 zero bytes");
    }
    return ATT_OK;
}

static bool masked_equal(const uint8_t *value, const uint8_t *mask, const uint8_t *expect, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((value[i] & mask[i]) != expect[i]) {
            return false;
        }
    }
    return true;
}

/* FORMATS.md §5 step 10: the QE is Intel's QE, at a listed level. */
static att_err qe_identity_check(const struct att_sgx_report_body *qe,
                                 const struct att_qe_identity *id,
                                 const struct att_qe_level **level, char *msg, size_t msg_len)
{
    uint8_t misc[4] = {(uint8_t)qe->miscselect, (uint8_t)(qe->miscselect >> 8),
                       (uint8_t)(qe->miscselect >> 16), (uint8_t)(qe->miscselect >> 24)};
    const char *what = NULL;

    if (id->id != ATT_QE_ID_QE) {
        what = "identity id (not QE)";
    } else if (!masked_equal(misc, id->miscselect_mask, id->miscselect, 4)) {
        what = "MISCSELECT";
    } else if (!masked_equal(qe->attributes, id->attributes_mask, id->attributes, 16)) {
        what = "ATTRIBUTES";
    } else if (memcmp(qe->mrsigner, id->mrsigner, 32) != 0) {
        what = "MRSIGNER";
    } else if (qe->isvprodid != id->isvprodid) {
        what = "ISVPRODID";
    }
    if (what != NULL) {
        return att_failf(ATT_ERR_QE_IDENTITY_MISMATCH, msg, msg_len,
                         "QE report %s does not match the QE identity", what);
    }
    for (size_t i = 0; i < id->n_levels; i++) {
        if (qe->isvsvn >= id->levels[i].isvsvn) {
            if (id->levels[i].status == ATT_TCB_REVOKED) {
                return att_failf(ATT_ERR_QE_TCB_REVOKED, msg, msg_len,
                                 "QE ISVSVN %u matches a Revoked QE identity level", qe->isvsvn);
            }
            *level = &id->levels[i];
            return ATT_OK;
        }
    }
    return att_failf(ATT_ERR_QE_TCB_NOT_SUPPORTED, msg, msg_len,
                     "QE ISVSVN %u is below every QE identity level", qe->isvsvn);
}

/* ---- quote signature and TCB level ---------------------------------------------------- */

/* FORMATS.md §5 step 11. */
static att_err quote_signature_check(const struct att_sgx_quote *q, char *msg, size_t msg_len)
{
    EVP_PKEY *key = NULL;
    att_err rc = att_p256_key_from_xy(q->sig.attest_key, &key);
    if (rc == ATT_OK) {
        rc = att_ecdsa_verify_raw(key, q->sig.quote_sig, sizeof(q->sig.quote_sig),
                                  q->signed_part.ptr, q->signed_part.len);
    }
    EVP_PKEY_free(key);
    if (rc == ATT_ERR_SIGNATURE || rc == ATT_ERR_KEY_TYPE) {
        return att_failf(ATT_ERR_QUOTE_SIGNATURE, msg, msg_len,
                         "quote signature does not verify with the attestation key");
    }
    return rc;
}

/* FORMATS.md §5.1: the first level whose every component and PCE SVN the PCK reaches. */
static const struct att_tcb_level *match_level(const struct att_tcb_info *tcb,
                                               const struct att_pck_info *pck)
{
    for (size_t i = 0; i < tcb->n_levels; i++) {
        const struct att_tcb_level *l = &tcb->levels[i];
        bool ok = pck->pcesvn >= l->pcesvn;
        for (size_t k = 0; ok && k < 16; k++) {
            ok = pck->comp_svn[k] >= l->sgx_svn[k];
        }
        if (ok) {
            return l;
        }
    }
    return NULL;
}

/* FORMATS.md §5.4 (QVL convergeTcbStatusWithQeTcbStatus). */
static enum att_tcb_status converge(enum att_tcb_status platform, enum att_tcb_status qe)
{
    if (qe != ATT_TCB_OUT_OF_DATE) {
        return platform;
    }
    switch (platform) {
    case ATT_TCB_UP_TO_DATE:
    case ATT_TCB_SW_HARDENING_NEEDED: return ATT_TCB_OUT_OF_DATE;
    case ATT_TCB_CONFIGURATION_NEEDED:
    case ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED:
        return ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    default: return platform;
    }
}

static void add_advisories(struct att_sgx_verdict *v, const struct att_advisories *a)
{
    for (size_t i = 0; i < a->n && v->n_advisories < ATT_SGX_MAX_ADVISORIES; i++) {
        bool seen = false;
        for (size_t k = 0; k < v->n_advisories && !seen; k++) {
            seen = strcmp(v->advisories[k], a->ids[i]) == 0;
        }
        if (!seen) {
            snprintf(v->advisories[v->n_advisories++], ATT_SGX_ADVISORY_LEN, "%s", a->ids[i]);
        }
    }
}

att_err att_sgx_quote_verify(const struct att_sgx_quote *q, const struct att_dcap_item *pck,
                             const struct att_sgx_collateral *c, int64_t now, int64_t grace,
                             struct att_sgx_verdict *out, char *msg, size_t msg_len)
{
    struct att_sgx_verdict v;
    const struct att_qe_level *qe_level = NULL;
    const struct att_tcb_level *level = NULL;
    const struct att_tcb_info *tcb;

    if (q == NULL || pck == NULL || pck->kind != ATT_DCAP_PCK_CHAIN || c == NULL || out == NULL ||
        grace < 0) {
        return ATT_ERR_ARG;
    }
    ATT_TRY(collateral_check(c, now, grace, msg, msg_len));
    tcb = c->tcb_info->tcb_info;
    ATT_TRY(pck_check(pck, c, now, msg, msg_len));
    ATT_TRY(tcb_info_fits(tcb, &pck->pck, msg, msg_len));
    ATT_TRY(qe_report_check(q, pck->pck_key, msg, msg_len));
    ATT_TRY(
        qe_identity_check(&q->sig.qe_report, c->qe_identity->qe_identity, &qe_level, msg, msg_len));
    ATT_TRY(quote_signature_check(q, msg, msg_len));

    level = match_level(tcb, &pck->pck);
    if (level == NULL) {
        return att_failf(ATT_ERR_TCB_NOT_SUPPORTED, msg, msg_len,
                         "PCK TCB is below every TCB level of TCB info %u",
                         (unsigned)tcb->eval_num);
    }
    if (level->status == ATT_TCB_REVOKED) {
        return att_failf(ATT_ERR_TCB_REVOKED, msg, msg_len,
                         "PCK TCB matches a Revoked level of TCB info %u", (unsigned)tcb->eval_num);
    }

    memset(&v, 0, sizeof(v));
    v.platform_status = level->status;
    v.qe_status = qe_level->status;
    v.status = converge(level->status, qe_level->status);
    v.tcb_date = level->tcb_date;
    v.tcb_eval_num = tcb->eval_num;
    memcpy(v.fmspc, pck->pck.fmspc, sizeof(v.fmspc));
    memcpy(v.pceid, pck->pck.pceid, sizeof(v.pceid));
    add_advisories(&v, &level->advisories);
    if (qe_level->status != ATT_TCB_UP_TO_DATE) {
        add_advisories(&v, &qe_level->advisories);
    }
    *out = v;
    ERR_clear_error();
    return ATT_OK;
}
