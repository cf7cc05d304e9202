/*
 * dcap.c - load Intel DCAP collateral once: parse, chain to a trust anchor, check the
 * signature (docs/reference/intel-collateral.md §4.4, docs/reference/dcap-verification.md §5 steps
 * 2-3). Time-dependent checks live in verify.c.
 */
#include "evidence/intel/dcap.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/buf.h"
#include "core/codec.h"
#include "crypto/ecdsa.h"
#include "x509/certs.h"

#define MAX_CHAIN_CERTS 4

struct att_dcap_trust {
    STACK_OF(X509) * anchors;
    char id[65];
};

const char *att_dcap_kind_name(enum att_dcap_kind k)
{
    switch (k) {
    case ATT_DCAP_ROOT_CRL: return "Root CA CRL";
    case ATT_DCAP_PCK_CRL: return "PCK CRL";
    case ATT_DCAP_TCB_INFO: return "TCB info";
    case ATT_DCAP_QE_IDENTITY: return "QE identity";
    case ATT_DCAP_PCK_CHAIN: return "PCK certificate chain";
    }
    return "collateral";
}

/* ---- trust anchors -------------------------------------------------------------------- */

att_err att_dcap_trust_from_pem(const char *pem, size_t len, struct att_dcap_trust **out, char *msg,
                                size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    struct att_dcap_trust *t = calloc(1, sizeof(*t));

    ATT_CHECK(t != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(len <= ATT_DCAP_MAX_CHAIN_PEM * 2, ATT_ERR_TOO_LARGE);
    ATT_GUARD(att_pem_certs_parse((const uint8_t *)pem, len, ATT_DCAP_MAX_ANCHORS, &t->anchors, msg,
                                  msg_len));
    for (int i = 0; i < sk_X509_num(t->anchors); i++) {
        X509 *c = sk_X509_value(t->anchors, i);
        /* An anchor must be a self-signed CA: it is where chains end. */
        if (X509_check_ca(c) == 0 || X509_check_issued(c, c) != X509_V_OK) {
            rc = att_failf(ATT_ERR_CERT_NOT_CA, msg, msg_len,
                           "trust anchor %d is not a self-signed CA certificate", i + 1);
            goto out;
        }
    }
    ATT_GUARD(att_certs_keys_id(t->anchors, t->id));
    *out = t;
    t = NULL;
    rc = ATT_OK;
out:
    att_dcap_trust_free(t);
    ERR_clear_error();
    return rc;
}

void att_dcap_trust_free(struct att_dcap_trust *t)
{
    if (t == NULL) {
        return;
    }
    sk_X509_pop_free(t->anchors, X509_free);
    free(t);
}

const char *att_dcap_trust_id(const struct att_dcap_trust *t)
{
    return t->id;
}

/* ---- items ---------------------------------------------------------------------------- */

static struct att_dcap_item *item_new(enum att_dcap_kind kind)
{
    struct att_dcap_item *it = calloc(1, sizeof(*it));
    if (it != NULL) {
        it->kind = kind;
        it->refs = 1;
        it->certs_from = INT64_MIN;
        it->certs_until = INT64_MAX;
    }
    return it;
}

struct att_dcap_item *att_dcap_item_ref(struct att_dcap_item *it)
{
    __atomic_fetch_add(&it->refs, 1, __ATOMIC_RELAXED);
    return it;
}

void att_dcap_item_unref(struct att_dcap_item *it)
{
    if (it == NULL || __atomic_sub_fetch(&it->refs, 1, __ATOMIC_ACQ_REL) != 0) {
        return;
    }
    sk_X509_pop_free(it->chain, X509_free);
    X509_CRL_free(it->crl);
    att_tcb_info_free(it->tcb_info);
    att_qe_identity_free(it->qe_identity);
    free(it);
}

/* Parse a PEM chain, pick its leaf and build the path to an anchor into it->chain. */
static att_err chain_load(const struct att_dcap_trust *t, const uint8_t *pem, size_t len,
                          struct att_dcap_item *it, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    STACK_OF(X509) *certs = NULL;
    X509 *leaf = NULL;
    char why[160] = "";

    if (len > ATT_DCAP_MAX_CHAIN_PEM) {
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len,
                         "%s: issuer chain of %zu bytes is over %d", att_dcap_kind_name(it->kind),
                         len, ATT_DCAP_MAX_CHAIN_PEM);
    }
    ATT_GUARD(att_sha256(pem, len, it->chain_hash));
    rc = att_pem_certs_parse(pem, len, MAX_CHAIN_CERTS, &certs, why, sizeof(why));
    if (rc != ATT_OK) {
        rc = att_failf(ATT_ERR_CERT_CHAIN, msg, msg_len, "%s certificates: %s",
                       att_dcap_kind_name(it->kind), why);
        goto out;
    }
    if (att_certs_leaf(certs, &leaf) != ATT_OK) {
        rc = att_failf(ATT_ERR_CERT_CHAIN, msg, msg_len, "%s certificates do not form one chain",
                       att_dcap_kind_name(it->kind));
        goto out;
    }
    rc = att_certs_verify_to(leaf, certs, t->anchors, &it->chain, why, sizeof(why));
    if (rc != ATT_OK) {
        rc = att_failf(rc, msg, msg_len, "%s certificates: %s", att_dcap_kind_name(it->kind), why);
        goto out;
    }
    ATT_GUARD(att_certs_window(it->chain, &it->certs_from, &it->certs_until));
    rc = ATT_OK;
out:
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

/* Map chain_load's generic codes to the code of the step (QVL: one status per step). */
static att_err chain_code(att_err rc, att_err step)
{
    return rc == ATT_ERR_CERT_CHAIN || rc == ATT_ERR_CERT_PARSE ? step : rc;
}

static att_err crl_parse(const uint8_t *der, size_t len, X509_CRL **out)
{
    const unsigned char *p = der;
    X509_CRL *crl;
    ATT_ENSURE(len > 0 && len <= ATT_DCAP_MAX_CRL, ATT_ERR_TOO_LARGE);
    crl = d2i_X509_CRL(NULL, &p, (long)len);
    if (crl == NULL || p != der + len) {
        X509_CRL_free(crl);
        ERR_clear_error();
        return ATT_ERR_PARSE;
    }
    *out = crl;
    return ATT_OK;
}

static att_err crl_window(X509_CRL *crl, struct att_dcap_item *it)
{
    ATT_TRY(att_asn1_time_epoch(X509_CRL_get0_lastUpdate(crl), &it->issued));
    /* A CRL without nextUpdate would never expire: Intel's always have one. */
    ATT_TRY(att_asn1_time_epoch(X509_CRL_get0_nextUpdate(crl), &it->next_update));
    return ATT_OK;
}

/* The CRL is issued (name) and signed (key) by `issuer`. */
static bool crl_issued_by(X509_CRL *crl, X509 *issuer)
{
    bool ok = X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) == 0 &&
              X509_CRL_verify(crl, X509_get0_pubkey(issuer)) == 1;
    ERR_clear_error();
    return ok;
}

att_err att_dcap_root_crl_load(const struct att_dcap_trust *t, const uint8_t *der, size_t len,
                               struct att_dcap_item **out, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    struct att_dcap_item *it = item_new(ATT_DCAP_ROOT_CRL);

    ATT_CHECK(it != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(att_sha256(der, len, it->hash));
    if (crl_parse(der, len, &it->crl) != ATT_OK || crl_window(it->crl, it) != ATT_OK) {
        rc = att_failf(ATT_ERR_ROOT_CRL_INVALID, msg, msg_len,
                       "Root CA CRL is not a DER CRL with thisUpdate and nextUpdate");
        goto out;
    }
    it->chain = sk_X509_new_null();
    ATT_CHECK(it->chain != NULL, ATT_ERR_NOMEM);
    for (int i = 0; i < sk_X509_num(t->anchors); i++) {
        X509 *anchor = sk_X509_value(t->anchors, i);
        if (crl_issued_by(it->crl, anchor)) {
            ATT_CHECK(X509_up_ref(anchor) == 1 && sk_X509_push(it->chain, anchor) > 0,
                      ATT_ERR_NOMEM);
            break;
        }
    }
    if (sk_X509_num(it->chain) == 0) {
        rc = att_failf(ATT_ERR_ROOT_CRL_INVALID, msg, msg_len,
                       "Root CA CRL is not issued and signed by a trusted root");
        goto out;
    }
    ATT_GUARD(att_certs_window(it->chain, &it->certs_from, &it->certs_until));
    *out = it;
    it = NULL;
    rc = ATT_OK;
out:
    att_dcap_item_unref(it);
    return rc;
}

/* Intel names its PCK CAs "Intel SGX PCK Processor CA" and "... Platform CA" (§3.1). */
static bool is_platform_ca(X509_NAME *ca)
{
    char cn[128] = "";
    if (X509_NAME_get_text_by_NID(ca, NID_commonName, cn, sizeof(cn)) <= 0) {
        return false;
    }
    return strstr(cn, "Platform") != NULL;
}

att_err att_dcap_pck_crl_load(const struct att_dcap_trust *t, const uint8_t *der, size_t len,
                              const char *chain_pem, size_t pem_len, struct att_dcap_item **out,
                              char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    struct att_dcap_item *it = item_new(ATT_DCAP_PCK_CRL);

    ATT_CHECK(it != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(att_sha256(der, len, it->hash));
    if (crl_parse(der, len, &it->crl) != ATT_OK || crl_window(it->crl, it) != ATT_OK) {
        rc = att_failf(ATT_ERR_PCK_CRL_INVALID, msg, msg_len,
                       "PCK CRL is not a DER CRL with thisUpdate and nextUpdate");
        goto out;
    }
    rc = chain_load(t, (const uint8_t *)chain_pem, pem_len, it, msg, msg_len);
    ATT_GUARD(chain_code(rc, ATT_ERR_PCK_CHAIN));
    if (!crl_issued_by(it->crl, sk_X509_value(it->chain, 0))) {
        rc = att_failf(ATT_ERR_PCK_CRL_INVALID, msg, msg_len,
                       "PCK CRL is not issued and signed by the CA of its issuer chain");
        goto out;
    }
    it->pck_platform_ca = is_platform_ca(X509_CRL_get_issuer(it->crl));
    *out = it;
    it = NULL;
    rc = ATT_OK;
out:
    att_dcap_item_unref(it);
    return rc;
}

/* A signed document (TCB info, QE identity): chain, then the signature over the exact text. */
static att_err signed_doc_load(const struct att_dcap_trust *t, struct att_dcap_item *it,
                               const char *text, size_t len, const uint8_t sig[64],
                               const char *chain_pem, size_t pem_len, att_err sig_code, char *msg,
                               size_t msg_len)
{
    att_err rc;
    if (len > ATT_COLLATERAL_MAX_DOC) {
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "%s of %zu bytes is over %d",
                         att_dcap_kind_name(it->kind), len, ATT_COLLATERAL_MAX_DOC);
    }
    ATT_TRY(att_sha256(text, len, it->hash));
    rc = chain_load(t, (const uint8_t *)chain_pem, pem_len, it, msg, msg_len);
    ATT_TRY(chain_code(rc, ATT_ERR_TCB_SIGNING_CHAIN));
    rc = att_ecdsa_verify_raw(X509_get0_pubkey(sk_X509_value(it->chain, 0)), sig, 64, text, len);
    if (rc == ATT_ERR_SIGNATURE || rc == ATT_ERR_KEY_TYPE) {
        return att_failf(sig_code, msg, msg_len, "%s signature does not verify with the %s",
                         att_dcap_kind_name(it->kind), "TCB signing certificate's key");
    }
    return rc;
}

/* TCB info or QE identity: chain and signature (signed_doc_load), then the document itself. */
static att_err doc_load(const struct att_dcap_trust *t, enum att_dcap_kind kind, const char *text,
                        size_t len, const uint8_t sig[64], const char *chain_pem, size_t pem_len,
                        struct att_dcap_item **out, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    struct att_dcap_item *it = item_new(kind);
    bool tcb = kind == ATT_DCAP_TCB_INFO;
    char why[200] = "";

    ATT_CHECK(it != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(signed_doc_load(t, it, text, len, sig, chain_pem, pem_len,
                              tcb ? ATT_ERR_TCB_INFO_SIGNATURE : ATT_ERR_QE_IDENTITY_SIGNATURE, msg,
                              msg_len));
    rc = tcb ? att_tcb_info_parse(text, len, &it->tcb_info, why, sizeof(why))
             : att_qe_identity_parse(text, len, &it->qe_identity, why, sizeof(why));
    if (rc != ATT_OK) {
        rc = att_failf(rc, msg, msg_len, "%s: %s", att_dcap_kind_name(kind), why);
        goto out;
    }
    it->issued = tcb ? it->tcb_info->issue_date : it->qe_identity->issue_date;
    it->next_update = tcb ? it->tcb_info->next_update : it->qe_identity->next_update;
    *out = it;
    it = NULL;
    rc = ATT_OK;
out:
    att_dcap_item_unref(it);
    return rc;
}

att_err att_dcap_tcb_info_load(const struct att_dcap_trust *t, const char *text, size_t len,
                               const uint8_t sig[64], const char *chain_pem, size_t pem_len,
                               struct att_dcap_item **out, char *msg, size_t msg_len)
{
    return doc_load(t, ATT_DCAP_TCB_INFO, text, len, sig, chain_pem, pem_len, out, msg, msg_len);
}

att_err att_dcap_qe_identity_load(const struct att_dcap_trust *t, const char *text, size_t len,
                                  const uint8_t sig[64], const char *chain_pem, size_t pem_len,
                                  struct att_dcap_item **out, char *msg, size_t msg_len)
{
    return doc_load(t, ATT_DCAP_QE_IDENTITY, text, len, sig, chain_pem, pem_len, out, msg, msg_len);
}

att_err att_dcap_pck_chain_load(const struct att_dcap_trust *t, const uint8_t *pem, size_t len,
                                struct att_dcap_item **out, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    struct att_dcap_item *it = item_new(ATT_DCAP_PCK_CHAIN);
    X509 *leaf = NULL;
    char cn[128] = "";

    ATT_CHECK(it != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(att_sha256(pem, len, it->hash));
    rc = chain_load(t, pem, len, it, msg, msg_len);
    ATT_GUARD(chain_code(rc, ATT_ERR_PCK_CHAIN));
    /* docs/reference/dcap-verification.md §5 step 4: the leaf is a PCK certificate, issued by a PCK
     * CA. */
    leaf = sk_X509_value(it->chain, 0);
    if (sk_X509_num(it->chain) != 3 ||
        X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn)) <=
            0 ||
        strstr(cn, "SGX PCK Certificate") == NULL) {
        rc = att_failf(ATT_ERR_PCK_CHAIN, msg, msg_len,
                       "PCK chain is not PCK certificate, PCK CA, root");
        goto out;
    }
    ATT_GUARD(att_pck_info_from_cert(leaf, &it->pck, msg, msg_len));
    it->pck_key = X509_get0_pubkey(leaf);
    if (it->pck_key == NULL || !EVP_PKEY_is_a(it->pck_key, "EC") ||
        EVP_PKEY_get_bits(it->pck_key) != 256) {
        rc = att_failf(ATT_ERR_PCK_CHAIN, msg, msg_len, "PCK certificate key is not P-256");
        goto out;
    }
    it->pck_platform_ca = is_platform_ca(X509_get_issuer_name(leaf));
    /* The chain carries no document dates: its window is its certificates'. */
    it->issued = it->certs_from;
    it->next_update = it->certs_until;
    *out = it;
    it = NULL;
    rc = ATT_OK;
out:
    att_dcap_item_unref(it);
    ERR_clear_error();
    return rc;
}

bool att_dcap_same_anchor(const struct att_dcap_item *a, const struct att_dcap_item *b)
{
    X509 *x = sk_X509_value(a->chain, sk_X509_num(a->chain) - 1);
    X509 *y = sk_X509_value(b->chain, sk_X509_num(b->chain) - 1);
    return x == y || EVP_PKEY_eq(X509_get0_pubkey(x), X509_get0_pubkey(y)) == 1;
}
