/*
 * verify.c - SEV-SNP report verification (verify.h; docs/reference/amd-sev-snp.md §6.8).
 */
#include "evidence/snp/verify.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crypto/ecdsa.h"
#include "evidence/snp/certtable.h"
#include "x509/certs.h"

#define MAX_CARRIED_CERTS 4 /* leaf, ASK or ASVK, ARK, and room for one more */

void att_snp_inputs_release(struct att_snp_inputs *in)
{
    att_amd_item_unref(in->leaf);
    att_amd_item_unref(in->crl);
    in->leaf = NULL;
    in->crl = NULL;
}

/* A certificate's window at `now`: the first code that applies, naming `what`. */
static att_err window(const struct att_amd_item *it, X509 *ark, const char *what, int64_t now,
                      char *msg, size_t msg_len)
{
    int64_t from = it->not_before;
    int64_t until = it->not_after;
    if (ark != NULL) {
        int64_t a_from = 0;
        int64_t a_until = 0;
        ATT_TRY(att_asn1_time_epoch(X509_get0_notBefore(ark), &a_from));
        ATT_TRY(att_asn1_time_epoch(X509_get0_notAfter(ark), &a_until));
        if (now < a_from || now > a_until) {
            return att_failf(now < a_from ? ATT_ERR_CERT_NOT_YET_VALID : ATT_ERR_CERT_EXPIRED, msg,
                             msg_len, "ARK of %s is %s at the verification time",
                             att_amd_product_name(it->product),
                             now < a_from ? "not yet valid" : "expired");
        }
    }
    if (now < from) {
        return att_failf(ATT_ERR_CERT_NOT_YET_VALID, msg, msg_len,
                         "%s is not yet valid at the verification time", what);
    }
    if (now > until) {
        return att_failf(ATT_ERR_CERT_EXPIRED, msg, msg_len,
                         "%s has expired at the verification time", what);
    }
    return ATT_OK;
}

static att_err kind_and_product(const struct att_snp_report *r, const struct att_amd_item *leaf,
                                char *msg, size_t msg_len)
{
    const char *what = leaf->vlek ? "VLEK" : "VCEK";
    if (r->signing_key == ATT_SNP_KEY_NONE) {
        return att_failf(ATT_ERR_SNP_KEY_KIND, msg, msg_len,
                         "report is not signed by a VCEK or VLEK (SIGNING_KEY is none)");
    }
    if ((r->signing_key == ATT_SNP_KEY_VLEK) != leaf->vlek) {
        return att_failf(ATT_ERR_SNP_KEY_KIND, msg, msg_len,
                         "report says it is signed by a %s, the certificate is a %s",
                         r->signing_key == ATT_SNP_KEY_VLEK ? "VLEK" : "VCEK", what);
    }
    if (r->product != ATT_SNP_UNKNOWN && r->product != leaf->product) {
        return att_failf(ATT_ERR_SNP_PRODUCT_MISMATCH, msg, msg_len,
                         "report comes from %s (CPUID), the %s chain is %s's",
                         att_amd_product_name(r->product), what,
                         att_amd_product_name(leaf->product));
    }
    /* Version 2 reports come from firmware older than Turin's (which reports v3 on). */
    if (r->version < 3 && leaf->product == ATT_SNP_TURIN) {
        return att_failf(ATT_ERR_SNP_PRODUCT_MISMATCH, msg, msg_len,
                         "a version %u report cannot come from Turin, whose chain this is",
                         r->version);
    }
    if ((leaf->info.seen & (1u << ATT_AMD_EXT_PRODUCT_NAME)) == 0) {
        return att_failf(ATT_ERR_SNP_CERT_EXTENSION, msg, msg_len, "%s has no productName", what);
    }
    if (leaf->info.product != leaf->product) {
        return att_failf(ATT_ERR_SNP_PRODUCT_MISMATCH, msg, msg_len,
                         "%s names product %s, its chain is %s's", what, leaf->info.product_name,
                         att_amd_product_name(leaf->product));
    }
    return ATT_OK;
}

static att_err revocation(const struct att_amd_item *leaf, const struct att_snp_inputs *in,
                          int64_t now, int64_t grace, bool *checked, char *msg, size_t msg_len)
{
    const struct att_amd_item *crl = in->crl;
    const struct att_amd_item *sk = leaf->issuer;
    const char *chain = leaf->vlek ? "VLEK" : "VCEK";
    X509_REVOKED *entry = NULL;
    *checked = false;
    if (crl == NULL) {
        return in->crl_required ? att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len,
                                            "AMD CRL of %s (%s chain) is not available",
                                            att_amd_product_name(leaf->product), chain)
                                : ATT_OK;
    }
    if (crl->product != leaf->product || crl->vlek != leaf->vlek ||
        X509_cmp(crl->ark, sk->ark) != 0) {
        return att_failf(ATT_ERR_SNP_CRL_INVALID, msg, msg_len,
                         "AMD CRL is %s's %s CRL, the report needs the %s CRL of the ARK of %s "
                         "that certified its chain",
                         att_amd_product_name(crl->product), crl->vlek ? "VLEK" : "VCEK", chain,
                         att_amd_product_name(leaf->product));
    }
    if (now < crl->not_before) {
        return att_failf(ATT_ERR_COLLATERAL_NOT_YET_VALID, msg, msg_len,
                         "AMD CRL of %s was issued after the verification time",
                         att_amd_product_name(crl->product));
    }
    if (now > crl->not_after && now - crl->not_after > grace) {
        return att_failf(ATT_ERR_COLLATERAL_EXPIRED, msg, msg_len,
                         "AMD CRL of %s passed its nextUpdate %lld seconds before the "
                         "verification time",
                         att_amd_product_name(crl->product), (long long)(now - crl->not_after));
    }
    int found = X509_CRL_get0_by_serial(crl->crl, &entry, X509_get0_serialNumber(sk->cert));
    ERR_clear_error();
    if (found == 1) {
        return att_failf(ATT_ERR_SNP_KEY_REVOKED, msg, msg_len, "AMD %s of %s is revoked",
                         sk->vlek ? "ASVK" : "ASK", att_amd_product_name(sk->product));
    }
    *checked = true;
    return ATT_OK;
}

/* The leaf's TCB extensions against REPORTED_TCB, in the product's layout (§6.4, §6.5). */
static att_err tcb_match(const struct att_amd_item *leaf, const struct att_snp_tcb *t, char *msg,
                         size_t msg_len)
{
    const struct att_amd_cert_info *i = &leaf->info;
    const struct {
        enum att_amd_ext ext;
        const char *name;
        uint8_t cert, report;
        bool turin_only;
    } c[] = {
        {ATT_AMD_EXT_BL_SPL, "blSPL", i->bootloader, t->bootloader, false},
        {ATT_AMD_EXT_TEE_SPL, "teeSPL", i->tee, t->tee, false},
        {ATT_AMD_EXT_SNP_SPL, "snpSPL", i->snp, t->snp, false},
        {ATT_AMD_EXT_UCODE_SPL, "ucodeSPL", i->microcode, t->microcode, false},
        {ATT_AMD_EXT_FMC_SPL, "fmcSPL", i->fmc, t->fmc, true},
    };
    for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        if (c[k].turin_only && leaf->product != ATT_SNP_TURIN) {
            continue;
        }
        if ((i->seen & (1u << c[k].ext)) == 0) {
            return att_failf(ATT_ERR_SNP_CERT_EXTENSION, msg, msg_len, "%s has no %s extension",
                             leaf->vlek ? "VLEK" : "VCEK", c[k].name);
        }
        if (c[k].cert != c[k].report) {
            return att_failf(ATT_ERR_SNP_TCB_MISMATCH, msg, msg_len,
                             "%s %s is %u, the report's REPORTED_TCB has %u",
                             leaf->vlek ? "VLEK" : "VCEK", c[k].name, c[k].cert, c[k].report);
        }
    }
    return ATT_OK;
}

/* VCEK hwID = CHIP_ID (all 64 bytes; Turin: the first 8), unless MASK_CHIP_KEY (§6.8 step 6). */
static att_err hwid_match(const struct att_snp_report *r, const struct att_amd_item *leaf,
                          char *msg, size_t msg_len)
{
    size_t n = leaf->product == ATT_SNP_TURIN ? 8 : 64;
    if (leaf->vlek || r->mask_chip_key) {
        return ATT_OK;
    }
    if ((leaf->info.seen & (1u << ATT_AMD_EXT_HWID)) == 0 || leaf->info.hwid_len != n) {
        return att_failf(ATT_ERR_SNP_CERT_EXTENSION, msg, msg_len,
                         "VCEK has no hwID extension of %zu bytes", n);
    }
    if (memcmp(leaf->info.hwid, r->chip_id, n) != 0) {
        return att_failf(ATT_ERR_SNP_HWID_MISMATCH, msg, msg_len,
                         "VCEK hwID differs from the report's CHIP_ID");
    }
    return ATT_OK;
}

/* Each component of REPORTED_TCB at most CURRENT_TCB's. */
static att_err tcb_not_above(const struct att_snp_tcb *rep, const struct att_snp_tcb *cur,
                             char *msg, size_t msg_len)
{
    const struct {
        const char *name;
        uint8_t rep, cur;
    } c[] = {{"boot loader", rep->bootloader, cur->bootloader},
             {"TEE", rep->tee, cur->tee},
             {"SNP firmware", rep->snp, cur->snp},
             {"microcode", rep->microcode, cur->microcode},
             {"FMC", rep->fmc, cur->fmc}};
    for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        if (c[k].rep > c[k].cur) {
            return att_failf(ATT_ERR_SNP_TCB_ABOVE_CURRENT, msg, msg_len,
                             "REPORTED_TCB %s SVN %u is above CURRENT_TCB's %u", c[k].name,
                             c[k].rep, c[k].cur);
        }
    }
    return ATT_OK;
}

att_err att_snp_verify(const struct att_snp_report *r, const struct att_snp_inputs *in, int64_t now,
                       int64_t grace, struct att_snp_verdict *v, char *msg, size_t msg_len)
{
    const struct att_amd_item *leaf = in->leaf;
    uint8_t sig[96];
    if (leaf == NULL || leaf->issuer == NULL || v == NULL) {
        return ATT_ERR_ARG;
    }
    memset(v, 0, sizeof(*v));
    ATT_TRY(kind_and_product(r, leaf, msg, msg_len));
    const struct att_amd_item *sk = leaf->issuer;
    ATT_TRY(window(sk, sk->ark, sk->vlek ? "ASVK" : "ASK", now, msg, msg_len));
    ATT_TRY(window(leaf, NULL, leaf->vlek ? "VLEK" : "VCEK", now, msg, msg_len));
    ATT_TRY(revocation(leaf, in, now, grace, &v->crl_checked, msg, msg_len));

    memcpy(sig, r->sig_r, 48);
    memcpy(sig + 48, r->sig_s, 48);
    if (att_ecdsa_verify_raw(leaf->key, sig, sizeof(sig), r->signed_part.ptr, r->signed_part.len) !=
        ATT_OK) {
        return att_failf(ATT_ERR_SNP_REPORT_SIGNATURE, msg, msg_len,
                         "report signature does not verify with the %s",
                         leaf->vlek ? "VLEK" : "VCEK");
    }
    v->product = leaf->product;
    v->vlek = leaf->vlek;
    v->reported = att_snp_tcb_decode(r->reported_tcb, leaf->product);
    v->current = att_snp_tcb_decode(r->current_tcb, leaf->product);
    v->committed = att_snp_tcb_decode(r->committed_tcb, leaf->product);
    v->launch = att_snp_tcb_decode(r->launch_tcb, leaf->product);
    ATT_TRY(tcb_match(leaf, &v->reported, msg, msg_len));
    ATT_TRY(hwid_match(r, leaf, msg, msg_len));
    return tcb_not_above(&v->reported, &v->current, msg, msg_len);
}

/* ---- certificates the evidence carries ------------------------------------------------- */

static bool is_ec(X509 *x)
{
    bool ec = EVP_PKEY_is_a(X509_get0_pubkey(x), "EC") == 1;
    ERR_clear_error();
    return ec;
}

/*
 * A PEM chain's leaf is its one EC certificate (AMD's ARKs, ASKs and ASVKs are RSA keys); its
 * signing key is the certificate its issuer names, else the one RSA certificate that is not
 * self-signed (so a VCEK under another product's ASK fails at the chain, naming both).
 */
static att_err carried_pem(struct att_bytes pem, X509 **leaf, X509 **signing_key, char *msg,
                           size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    STACK_OF(X509) *certs = NULL;
    X509 *l = NULL;
    X509 *by_name = NULL;
    X509 *other = NULL;
    int n_leaves = 0;
    char why[160] = "";

    if (pem.len > ATT_AMD_MAX_CHAIN_PEM) {
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "VcekCertChain of %zu bytes is over %d",
                         pem.len, ATT_AMD_MAX_CHAIN_PEM);
    }
    if (att_pem_certs_parse(pem.ptr, pem.len, MAX_CARRIED_CERTS, &certs, why, sizeof(why)) !=
        ATT_OK) {
        return att_failf(ATT_ERR_CERT_PARSE, msg, msg_len, "VcekCertChain: %s", why);
    }
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);
        if (is_ec(c)) {
            l = c;
            n_leaves++;
        }
    }
    if (n_leaves != 1) {
        rc = att_failf(ATT_ERR_CERT_CHAIN, msg, msg_len,
                       "VcekCertChain holds %d EC certificates, not one VCEK or VLEK", n_leaves);
        goto out;
    }
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);
        if (c == l || X509_check_issued(c, c) == X509_V_OK) {
            continue;
        }
        if (X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(l)) == 0) {
            by_name = c;
        }
        other = other == NULL ? c : other;
    }
    X509 *sk = by_name != NULL ? by_name : other;
    if (sk != NULL) {
        ATT_CHECK(X509_up_ref(sk) == 1, ATT_ERR_NOMEM);
        *signing_key = sk;
    }
    ATT_CHECK(X509_up_ref(l) == 1, ATT_ERR_NOMEM);
    *leaf = l;
    rc = ATT_OK;
out:
    if (rc != ATT_OK && *signing_key != NULL) {
        X509_free(*signing_key);
        *signing_key = NULL;
    }
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
    return rc;
}

static att_err table_cert(struct att_bytes der, const char *what, X509 **out, char *msg,
                          size_t msg_len)
{
    if (der.len == 0) {
        return ATT_OK;
    }
    if (att_amd_cert_from_der(der.ptr, der.len, out) != ATT_OK) {
        return att_failf(ATT_ERR_CERT_PARSE, msg, msg_len,
                         "certificate table's %s is not one DER certificate", what);
    }
    return ATT_OK;
}

att_err att_snp_carried_certs(const struct att_snp_carried *carried, bool vlek, X509 **leaf,
                              X509 **signing_key, char *msg, size_t msg_len)
{
    struct att_snp_cert_table t;
    att_err rc;
    *leaf = NULL;
    *signing_key = NULL;
    if (carried->pem.len > 0) {
        return carried_pem(carried->pem, leaf, signing_key, msg, msg_len);
    }
    if (carried->table.len == 0) {
        return ATT_OK;
    }
    ATT_TRY(att_snp_cert_table_parse(carried->table.ptr, carried->table.len, &t, msg, msg_len));
    rc = table_cert(vlek ? t.vlek : t.vcek, vlek ? "VLEK" : "VCEK", leaf, msg, msg_len);
    if (rc == ATT_OK && *leaf != NULL) {
        rc = table_cert(t.ask, "ASK", signing_key, msg, msg_len);
    }
    if (rc != ATT_OK) {
        X509_free(*leaf);
        *leaf = NULL;
    }
    return rc;
}
