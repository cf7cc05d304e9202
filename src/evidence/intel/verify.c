/*
 * verify.c - SGX and TDX quote verification in the order of Intel's QVL
 * (QuoteVerifier.cpp, steps 4.1.2.4.x; Checks/TcbLevelCheck.cpp, TdxModuleCheck.cpp,
 * TDRelaunchCheck.cpp; docs/reference/dcap-verification.md §5), each failure with its own code.
 */
#include "evidence/intel/verify.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "core/timeutil.h"
#include "crypto/ecdsa.h"
#include "evidence/intel/memo.h"

void att_intel_inputs_release(struct att_intel_inputs *in)
{
    att_dcap_item_unref(in->pck);
    att_dcap_item_unref(in->root_crl);
    att_dcap_item_unref(in->pck_crl);
    att_dcap_item_unref(in->tcb_info);
    att_dcap_item_unref(in->qe_identity);
    memset(in, 0, sizeof(*in));
}

struct att_intel_collateral att_intel_inputs_view(const struct att_intel_inputs *in)
{
    struct att_intel_collateral c = {in->root_crl, in->pck_crl, in->tcb_info, in->qe_identity};
    return c;
}

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

/* docs/reference/dcap-verification.md §5 step 2: every collateral item in date, its signers not
 * revoked. */
static att_err collateral_check(const struct att_intel_collateral *c, int64_t now, int64_t grace,
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

/*
 * With several trust anchors (dcap_trust_anchors), every item must come from the PCK chain's
 * own root: a CRL of another root does not revoke this platform's certificates, and a TCB
 * info or QE identity signed under another root does not rate it. Collateral is filed per
 * kind and key, not per root, so this is checked here, for each quote.
 */
static att_err same_root_check(const struct att_dcap_item *pck,
                               const struct att_intel_collateral *c, char *msg, size_t msg_len)
{
    if (!att_dcap_same_anchor(c->root_crl, pck)) {
        return att_failf(ATT_ERR_ROOT_CRL_INVALID, msg, msg_len,
                         "Root CA CRL is issued by another trust anchor than the PCK chain's");
    }
    if (!att_dcap_same_anchor(c->pck_crl, pck)) {
        return att_failf(ATT_ERR_PCK_CRL_INVALID, msg, msg_len,
                         "PCK CRL chains to another trust anchor than the PCK chain");
    }
    const struct att_dcap_item *docs[] = {c->tcb_info, c->qe_identity};
    for (size_t i = 0; i < 2; i++) {
        if (!att_dcap_same_anchor(docs[i], pck)) {
            return att_failf(ATT_ERR_TCB_SIGNING_CHAIN, msg, msg_len,
                             "%s is signed under another trust anchor than the PCK chain's",
                             att_dcap_kind_name(docs[i]->kind));
        }
    }
    return ATT_OK;
}

/* docs/reference/dcap-verification.md §5 steps 3-4: PCK chain in date, PCK CRL of the leaf's CA,
 * nothing revoked. */
static att_err pck_check(const struct att_dcap_item *pck, const struct att_intel_collateral *c,
                         int64_t now, char *msg, size_t msg_len)
{
    X509 *leaf = sk_X509_value(pck->chain, 0);
    X509 *ca = sk_X509_value(pck->chain, 1);

    ATT_TRY(item_in_date(pck, now, 0, msg, msg_len));
    ATT_TRY(same_root_check(pck, c, msg, msg_len));
    if (X509_NAME_cmp(X509_CRL_get_issuer(c->pck_crl->crl), X509_get_issuer_name(leaf)) != 0) {
        return att_failf(ATT_ERR_PCK_CRL_INVALID, msg, msg_len,
                         "PCK CRL is from the %s CA, the PCK certificate from the %s CA",
                         c->pck_crl->pck_platform_ca ? "Platform" : "Processor",
                         pck->pck_platform_ca ? "Platform" : "Processor");
    }
    /* The CA that signed the CRL is the one that signed the leaf (a name can be reused). */
    if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(c->pck_crl->chain, 0)), X509_get0_pubkey(ca)) !=
        1) {
        return att_failf(ATT_ERR_PCK_CRL_INVALID, msg, msg_len,
                         "PCK CRL is signed by another key than the PCK certificate's CA");
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

/* docs/reference/dcap-verification.md §5 steps 5-6. */
static att_err tcb_info_fits(const struct att_tcb_info *tcb, const struct att_pck_info *pck,
                             bool tdx, char *msg, size_t msg_len)
{
    char a[13];
    char b[13];
    if ((tcb->id == ATT_TCB_INFO_TDX) != tdx) {
        return att_failf(ATT_ERR_TCB_INFO_MISMATCH, msg, msg_len,
                         "TCB info is for %s, the quote is %s quote", tdx ? "SGX" : "TDX",
                         tdx ? "a TDX" : "an SGX");
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

/* docs/reference/dcap-verification.md §5 steps 8-9 (docs/reference/intel-quotes.md §1.3 binding
 * rule). */
static att_err qe_report_check(const struct att_intel_quote *q, const struct att_dcap_item *pck,
                               char *msg, size_t msg_len)
{
    const struct att_quote_signature *s = &q->sig;
    uint8_t expect[32];
    static const uint8_t zero[32];
    EVP_MD_CTX *md = NULL;
    unsigned int n = 0;
    uint8_t memo[32];
    bool ok;

    /* A pure function of the PCK chain, the QE report and its signature: memoized (memo.h). */
    if (!att_memo_qe_report_known(pck->hash, s->qe_report.raw.ptr, s->qe_report.raw.len,
                                  s->qe_report_sig, memo)) {
        if (att_ecdsa_verify_raw(pck->pck_key, s->qe_report_sig, sizeof(s->qe_report_sig),
                                 s->qe_report.raw.ptr, s->qe_report.raw.len) != ATT_OK) {
            return att_failf(ATT_ERR_QE_REPORT_SIGNATURE, msg, msg_len,
                             "QE report signature does not verify with the PCK certificate's key");
        }
        att_memo_qe_report_add(memo);
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

/* docs/reference/dcap-verification.md §5 step 10: the QE is Intel's QE, at a listed level. */
static att_err qe_identity_check(const struct att_sgx_report_body *qe,
                                 const struct att_qe_identity *id, bool tdx,
                                 const struct att_qe_level **level, char *msg, size_t msg_len)
{
    uint8_t misc[4] = {(uint8_t)qe->miscselect, (uint8_t)(qe->miscselect >> 8),
                       (uint8_t)(qe->miscselect >> 16), (uint8_t)(qe->miscselect >> 24)};
    const char *what = NULL;

    if (id->id != (tdx ? ATT_QE_ID_TD_QE : ATT_QE_ID_QE)) {
        what = tdx ? "identity id (not TD_QE)" : "identity id (not QE)";
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

/* docs/reference/dcap-verification.md §5 step 11. */
static att_err quote_signature_check(const struct att_intel_quote *q, char *msg, size_t msg_len)
{
    EVP_PKEY *key = NULL;
    att_err rc = att_memo_attestation_key(q->sig.attest_key, &key);
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

/* ---- TDX module (docs/reference/dcap-verification.md §5.3)
 * ------------------------------------------------------ */

/* The module identity for TEE_TCB_SVN[1] ("TDX_%02X", ids compared without case), or NULL. */
static const struct att_tdx_module_identity *module_identity(const struct att_tcb_info *tcb,
                                                             uint8_t major)
{
    char want[8];
    snprintf(want, sizeof(want), "TDX_%02X", major);
    for (size_t i = 0; i < tcb->n_module_ids; i++) {
        if (strcasecmp(tcb->module_ids[i].id, want) == 0) {
            return &tcb->module_ids[i];
        }
    }
    return NULL;
}

/*
 * QVL step 4.1.2.4.9 for TDX: the module that made the report is the one the TCB info names.
 * With a major version in TEE_TCB_SVN[1] its module identity gives the signer and attributes
 * (and later the module's TCB level); version 0 uses "tdxModule".
 */
static att_err module_check(const struct att_td_report *td, const struct att_tcb_info *tcb,
                            const struct att_tdx_module_identity **mid, char *msg, size_t msg_len)
{
    static const uint8_t zero[8];
    const uint8_t *mrsigner = tcb->tdx_module_mrsigner;
    const uint8_t *attributes = tcb->tdx_module_attributes;
    const uint8_t *mask = tcb->tdx_module_attributes_mask;
    *mid = NULL;
    if (!tcb->has_tdx_module) {
        return att_failf(ATT_ERR_TCB_INFO_MISMATCH, msg, msg_len, "TCB info has no tdxModule");
    }
    if (td->tee_tcb_svn[1] > 0) {
        *mid = module_identity(tcb, td->tee_tcb_svn[1]);
        if (*mid == NULL) {
            return att_failf(ATT_ERR_TDX_MODULE_UNKNOWN, msg, msg_len,
                             "TCB info has no module identity TDX_%02X for TEE_TCB_SVN[1] = %u",
                             td->tee_tcb_svn[1], td->tee_tcb_svn[1]);
        }
        mrsigner = (*mid)->mrsigner;
        attributes = (*mid)->attributes;
        mask = (*mid)->attributes_mask;
    }
    if (memcmp(td->mrsignerseam, mrsigner, 48) != 0) {
        return att_failf(ATT_ERR_TDX_MODULE_MISMATCH, msg, msg_len,
                         "MRSIGNERSEAM differs from the mrsigner of %s",
                         *mid != NULL ? (*mid)->id : "tdxModule");
    }
    /* QVL requires zero SEAMATTRIBUTES for TDX 1.x whatever the mask says. */
    if (memcmp(td->seam_attributes, zero, sizeof(zero)) != 0) {
        return att_failf(ATT_ERR_TDX_SEAM_ATTRIBUTES, msg, msg_len, "SEAMATTRIBUTES are not zero");
    }
    if (!masked_equal(td->seam_attributes, mask, attributes, 8)) {
        return att_failf(ATT_ERR_TDX_MODULE_MISMATCH, msg, msg_len,
                         "SEAMATTRIBUTES under the mask differ from the attributes of %s",
                         *mid != NULL ? (*mid)->id : "tdxModule");
    }
    return ATT_OK;
}

/* The module's level: the first whose isvsvn TEE_TCB_SVN[0] reaches (TdxModuleCheck.cpp). */
static att_err module_level(const struct att_td_report *td,
                            const struct att_tdx_module_identity *mid,
                            const struct att_tdx_module_level **out, char *msg, size_t msg_len)
{
    for (size_t i = 0; i < mid->n_levels; i++) {
        if (td->tee_tcb_svn[0] >= mid->levels[i].isvsvn) {
            if (mid->levels[i].status == ATT_TCB_REVOKED) {
                return att_failf(ATT_ERR_TDX_MODULE_TCB_REVOKED, msg, msg_len,
                                 "TDX module SVN %u matches a Revoked level of %s",
                                 td->tee_tcb_svn[0], mid->id);
            }
            *out = &mid->levels[i];
            return ATT_OK;
        }
    }
    return att_failf(ATT_ERR_TDX_MODULE_TCB_NOT_SUPPORTED, msg, msg_len,
                     "TDX module SVN %u is below every level of %s", td->tee_tcb_svn[0], mid->id);
}

/* ---- TCB levels (docs/reference/dcap-verification.md §5.1, §5.2)
 * ------------------------------------------------- */

static bool sgx_level_reached(const struct att_tcb_level *l, const struct att_pck_info *pck)
{
    bool ok = pck->pcesvn >= l->pcesvn;
    for (size_t k = 0; ok && k < 16; k++) {
        ok = pck->comp_svn[k] >= l->sgx_svn[k];
    }
    return ok;
}

/* With a module major version, bytes 0 and 1 are the module's, judged by its identity. */
static bool tdx_level_reached(const struct att_tcb_level *l, const uint8_t tee_tcb_svn[16])
{
    size_t k = tee_tcb_svn[1] > 0 ? 2 : 0;
    for (; k < 16; k++) {
        if (tee_tcb_svn[k] < l->tdx_svn[k]) {
            return false;
        }
    }
    return true;
}

/*
 * QVL matchTcbLevels: levels are ordered highest first; the SGX level is the first the PCK's
 * components and PCE SVN reach, the TDX level the first that TEE_TCB_SVN reaches as well.
 */
static void match_levels(const struct att_tcb_info *tcb, const struct att_pck_info *pck,
                         const uint8_t *tee_tcb_svn, const struct att_tcb_level **sgx,
                         const struct att_tcb_level **tdx)
{
    *sgx = NULL;
    *tdx = NULL;
    for (size_t i = 0; i < tcb->n_levels; i++) {
        const struct att_tcb_level *l = &tcb->levels[i];
        if (!sgx_level_reached(l, pck)) {
            continue;
        }
        if (*sgx == NULL) {
            *sgx = l;
        }
        if (tee_tcb_svn == NULL) {
            return;
        }
        if (l->has_tdx && tdx_level_reached(l, tee_tcb_svn)) {
            *tdx = l;
            return;
        }
    }
}

/*
 * docs/reference/dcap-verification.md §5.3, §5.4 (QVL convergeTcbStatusWithQeTcbStatus and
 * ...WithTdxModuleStatus): an OutOfDate QE or module makes a current platform OutOfDate (keeping
 * ConfigurationNeeded).
 */
static enum att_tcb_status converge(enum att_tcb_status platform, enum att_tcb_status other)
{
    if (other != ATT_TCB_OUT_OF_DATE) {
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

static bool configuration_needed(enum att_tcb_status s)
{
    return s == ATT_TCB_CONFIGURATION_NEEDED || s == ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED ||
           s == ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED ||
           s == ATT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED;
}

/*
 * docs/reference/dcap-verification.md §5.6 (QVL TDRelaunchCheck.cpp), TD report 1.5 only: an
 * out-of-date TD whose platform and QE are current, on a module that has since been updated in
 * place (TEE_TCB_SVN2), would reach the newest level by relaunching: say so instead of OutOfDate.
 */
static enum att_tcb_status relaunch(const struct att_td_report *td, const struct att_tcb_info *tcb,
                                    enum att_tcb_status sgx, enum att_tcb_status tdx,
                                    enum att_tcb_status module, enum att_tcb_status qe)
{
    const uint8_t *svn2 = td->tee_tcb_svn2;
    const struct att_tcb_level *latest = &tcb->levels[0];
    uint8_t module_needed = latest->tdx_svn[0];
    bool sgx_current = sgx == ATT_TCB_UP_TO_DATE || sgx == ATT_TCB_SW_HARDENING_NEEDED ||
                       sgx == ATT_TCB_CONFIGURATION_NEEDED ||
                       sgx == ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED;
    if (qe != ATT_TCB_UP_TO_DATE || !sgx_current || module != ATT_TCB_OUT_OF_DATE ||
        (tdx != ATT_TCB_OUT_OF_DATE && tdx != ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED) ||
        !latest->has_tdx) {
        return tdx;
    }
    if (svn2[1] > 0) {
        const struct att_tdx_module_identity *mid2 = module_identity(tcb, svn2[1]);
        if (mid2 == NULL || mid2->n_levels == 0) {
            return tdx; /* nothing known of the updated module: no advice */
        }
        module_needed = mid2->levels[0].isvsvn;
    }
    if (svn2[0] < module_needed || svn2[2] < latest->tdx_svn[2]) {
        return tdx;
    }
    return configuration_needed(sgx) || configuration_needed(tdx)
               ? ATT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
               : ATT_TCB_TD_RELAUNCH_ADVISED;
}

static void add_advisories(struct att_intel_verdict *v, const struct att_advisories *a)
{
    for (size_t i = 0; i < a->n && v->n_advisories < ATT_INTEL_MAX_ADVISORIES; i++) {
        bool seen = false;
        for (size_t k = 0; k < v->n_advisories && !seen; k++) {
            seen = strcmp(v->advisories[k], a->ids[i]) == 0;
        }
        if (!seen) {
            snprintf(v->advisories[v->n_advisories++], ATT_INTEL_ADVISORY_LEN, "%s", a->ids[i]);
        }
    }
}

/* docs/reference/dcap-verification.md §5.1-§5.6: the levels, their statuses and how they combine
 * into the verdict. */
static att_err tcb_verdict(const struct att_intel_quote *q, const struct att_tcb_info *tcb,
                           const struct att_pck_info *pck,
                           const struct att_tdx_module_identity *mid,
                           const struct att_qe_level *qe_level, struct att_intel_verdict *v,
                           char *msg, size_t msg_len)
{
    bool tdx = q->body_type != ATT_QUOTE_BODY_SGX;
    const struct att_td_report *td = &q->td;
    const struct att_tcb_level *sgx_level = NULL;
    const struct att_tcb_level *level = NULL;
    const struct att_tdx_module_level *mlevel = NULL;

    match_levels(tcb, pck, tdx ? td->tee_tcb_svn : NULL, &sgx_level, &level);
    if (sgx_level == NULL) {
        return att_failf(ATT_ERR_TCB_NOT_SUPPORTED, msg, msg_len,
                         "PCK TCB is below every TCB level of TCB info %u",
                         (unsigned)tcb->eval_num);
    }
    if (!tdx) {
        level = sgx_level;
    } else if (level == NULL) {
        return att_failf(ATT_ERR_TDX_TCB_NOT_SUPPORTED, msg, msg_len,
                         "TEE_TCB_SVN is below every TDX TCB level of TCB info %u",
                         (unsigned)tcb->eval_num);
    }
    if (mid != NULL) {
        ATT_TRY(module_level(td, mid, &mlevel, msg, msg_len));
    }
    if (level->status == ATT_TCB_REVOKED) {
        return att_failf(ATT_ERR_TCB_REVOKED, msg, msg_len,
                         "%s TCB matches a Revoked level of TCB info %u", tdx ? "TDX" : "PCK",
                         (unsigned)tcb->eval_num);
    }

    memset(v, 0, sizeof(*v));
    v->platform_status = level->status;
    v->qe_status = qe_level->status;
    v->status = level->status;
    if (mlevel != NULL) {
        v->has_module_status = true;
        v->module_status = mlevel->status;
        snprintf(v->module_id, sizeof(v->module_id), "%s", mid->id);
        v->status = converge(v->status, mlevel->status);
    }
    if (q->body_type == ATT_QUOTE_BODY_TD15) {
        v->status =
            relaunch(td, tcb, sgx_level->status, v->status,
                     mlevel != NULL ? mlevel->status : ATT_TCB_UP_TO_DATE, qe_level->status);
    }
    v->status = converge(v->status, qe_level->status);
    v->tcb_date = level->tcb_date;
    v->tcb_eval_num = tcb->eval_num;
    memcpy(v->fmspc, pck->fmspc, sizeof(v->fmspc));
    memcpy(v->pceid, pck->pceid, sizeof(v->pceid));
    add_advisories(v, &level->advisories);
    if (mlevel != NULL && mlevel->status != ATT_TCB_UP_TO_DATE) {
        add_advisories(v, &mlevel->advisories);
    }
    if (qe_level->status != ATT_TCB_UP_TO_DATE) {
        add_advisories(v, &qe_level->advisories);
    }
    return ATT_OK;
}

att_err att_intel_quote_verify(const struct att_intel_quote *q, const struct att_dcap_item *pck,
                               const struct att_intel_collateral *c, int64_t now, int64_t grace,
                               struct att_intel_verdict *out, char *msg, size_t msg_len)
{
    struct att_intel_verdict v;
    const struct att_qe_level *qe_level = NULL;
    const struct att_tdx_module_identity *mid = NULL;
    const struct att_tcb_info *tcb;
    bool tdx;

    if (q == NULL || pck == NULL || pck->kind != ATT_DCAP_PCK_CHAIN || c == NULL || out == NULL ||
        grace < 0) {
        return ATT_ERR_ARG;
    }
    tdx = q->body_type != ATT_QUOTE_BODY_SGX;
    ATT_TRY(collateral_check(c, now, grace, msg, msg_len));
    tcb = c->tcb_info->tcb_info;
    ATT_TRY(pck_check(pck, c, now, msg, msg_len));
    ATT_TRY(tcb_info_fits(tcb, &pck->pck, tdx, msg, msg_len));
    if (tdx) {
        ATT_TRY(module_check(&q->td, tcb, &mid, msg, msg_len));
    }
    ATT_TRY(qe_report_check(q, pck, msg, msg_len));
    ATT_TRY(qe_identity_check(&q->sig.qe_report, c->qe_identity->qe_identity, tdx, &qe_level, msg,
                              msg_len));
    ATT_TRY(quote_signature_check(q, msg, msg_len));
    ATT_TRY(tcb_verdict(q, tcb, &pck->pck, mid, qe_level, &v, msg, msg_len));
    *out = v;
    ERR_clear_error();
    return ATT_OK;
}
