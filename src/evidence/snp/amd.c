/*
 * amd.c - load AMD SEV-SNP anchors and collateral once: parse, check the signature by the
 * issuing key and AMD's signature parameters, read the leaf's extensions
 * (docs/reference/amd-sev-snp.md §6.5-§6.8). Time-dependent checks live in verify.c.
 */
#include "evidence/snp/amd.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/buf.h"
#include "crypto/ecdsa.h"
#include "evidence/snp/amd_roots.h"
#include "x509/certs.h"

struct att_amd_trust {
    STACK_OF(X509) * anchors;
    enum att_snp_product products[ATT_AMD_MAX_ANCHORS];
    char id[65];
};

/* The common name of `name` into cn (empty when it has none). */
static void common_name(const X509_NAME *name, char *cn, size_t cap)
{
    cn[0] = '\0';
    if (X509_NAME_get_text_by_NID(name, NID_commonName, cn, (int)cap) <= 0) {
        cn[0] = '\0';
    }
    ERR_clear_error();
}

/* The product after `prefix` in the common name ("ARK-" + "Milan"); UNKNOWN when none. */
static enum att_snp_product product_after(const X509_NAME *name, const char *prefix)
{
    char cn[64];
    size_t n = strlen(prefix);
    common_name(name, cn, sizeof(cn));
    if (strncmp(cn, prefix, n) != 0 || strchr(cn + n, '-') != NULL) {
        return ATT_SNP_UNKNOWN;
    }
    return att_amd_product_of_name(cn + n);
}

/* `cert` names `issuer` as its issuer and issuer's key verifies it. */
static bool signed_by(X509 *cert, X509 *issuer)
{
    bool ok = X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) == 0 &&
              X509_verify(cert, X509_get0_pubkey(issuer)) == 1;
    ERR_clear_error();
    return ok;
}

/* ---- trust anchors -------------------------------------------------------------------- */

att_err att_amd_trust_from_pem(const char *pem, size_t len, struct att_amd_trust **out, char *msg,
                               size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    struct att_amd_trust *t = calloc(1, sizeof(*t));

    ATT_CHECK(t != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(len <= ATT_AMD_MAX_CHAIN_PEM * 2, ATT_ERR_TOO_LARGE);
    ATT_GUARD(att_pem_certs_parse((const uint8_t *)pem, len, ATT_AMD_MAX_ANCHORS, &t->anchors, msg,
                                  msg_len));
    for (int i = 0; i < sk_X509_num(t->anchors); i++) {
        X509 *c = sk_X509_value(t->anchors, i);
        t->products[i] = product_after(X509_get_subject_name(c), "ARK-");
        /* An anchor is a self-signed CA with AMD's signature parameters, named for a product. */
        if (t->products[i] == ATT_SNP_UNKNOWN || X509_check_ca(c) == 0 || !signed_by(c, c) ||
            !att_amd_cert_pss_ok(c)) {
            rc = att_failf(ATT_ERR_CERT_NOT_CA, msg, msg_len,
                           "AMD trust anchor %d is not a self-signed ARK named ARK-<product> "
                           "(Milan, Genoa, Turin) and signed with RSASSA-PSS",
                           i + 1);
            goto out;
        }
    }
    ATT_GUARD(att_certs_keys_id(t->anchors, t->id));
    *out = t;
    t = NULL;
    rc = ATT_OK;
out:
    att_amd_trust_free(t);
    ERR_clear_error();
    return rc;
}

att_err att_amd_trust_builtin(struct att_amd_trust **out, char *msg, size_t msg_len)
{
    const char *arks[] = {att_amd_ark_milan_pem, att_amd_ark_genoa_pem, att_amd_ark_turin_pem};
    struct att_buf pem;
    att_err rc = ATT_OK;
    att_buf_init(&pem, ATT_AMD_MAX_CHAIN_PEM);
    for (size_t i = 0; i < sizeof(arks) / sizeof(arks[0]) && rc == ATT_OK; i++) {
        rc = att_buf_puts(&pem, arks[i]);
    }
    if (rc == ATT_OK) {
        rc = att_amd_trust_from_pem((const char *)pem.data, pem.len, out, msg, msg_len);
    }
    att_buf_cleanup(&pem);
    return rc;
}

void att_amd_trust_free(struct att_amd_trust *t)
{
    if (t == NULL) {
        return;
    }
    sk_X509_pop_free(t->anchors, X509_free);
    free(t);
}

const char *att_amd_trust_id(const struct att_amd_trust *t)
{
    return t->id;
}

/* The anchor of `product` that issued and signed `cert` (or, with crl, that CRL); NULL when
 * none did. */
static X509 *anchor_of(const struct att_amd_trust *t, enum att_snp_product product, X509 *cert,
                       X509_CRL *crl)
{
    for (int i = 0; i < sk_X509_num(t->anchors); i++) {
        X509 *a = sk_X509_value(t->anchors, i);
        if (product != ATT_SNP_UNKNOWN && t->products[i] != product) {
            continue;
        }
        bool ok = cert != NULL
                      ? signed_by(cert, a)
                      : X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(a)) == 0 &&
                            X509_CRL_verify(crl, X509_get0_pubkey(a)) == 1;
        ERR_clear_error();
        if (ok) {
            return a;
        }
    }
    return NULL;
}

static enum att_snp_product anchor_product(const struct att_amd_trust *t, const X509 *a)
{
    for (int i = 0; i < sk_X509_num(t->anchors); i++) {
        if (sk_X509_value(t->anchors, i) == a) {
            return t->products[i];
        }
    }
    return ATT_SNP_UNKNOWN;
}

/* ---- items ---------------------------------------------------------------------------- */

static struct att_amd_item *item_new(enum att_amd_kind kind)
{
    struct att_amd_item *it = calloc(1, sizeof(*it));
    if (it != NULL) {
        it->kind = kind;
        it->refs = 1;
    }
    return it;
}

struct att_amd_item *att_amd_item_ref(struct att_amd_item *it)
{
    __atomic_fetch_add(&it->refs, 1, __ATOMIC_RELAXED);
    return it;
}

void att_amd_item_unref(struct att_amd_item *it)
{
    if (it == NULL || __atomic_sub_fetch(&it->refs, 1, __ATOMIC_ACQ_REL) != 0) {
        return;
    }
    X509_free(it->cert);
    X509_free(it->ark);
    X509_CRL_free(it->crl);
    att_amd_item_unref(it->issuer);
    free(it);
}

static att_err cert_hash(X509 *cert, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    att_err rc = n > 0 ? att_sha256(der, (size_t)n, out) : ATT_ERR_CRYPTO;
    OPENSSL_free(der);
    ERR_clear_error();
    return rc;
}

/* The item holds `cert` (a new reference) with its hash and validity window. */
static att_err take_cert(struct att_amd_item *it, X509 *cert)
{
    ATT_ENSURE(X509_up_ref(cert) == 1, ATT_ERR_NOMEM);
    it->cert = cert;
    ATT_TRY(cert_hash(cert, it->hash));
    ATT_TRY(att_asn1_time_epoch(X509_get0_notBefore(cert), &it->not_before));
    return att_asn1_time_epoch(X509_get0_notAfter(cert), &it->not_after);
}

att_err att_amd_cert_from_der(const uint8_t *der, size_t len, X509 **out)
{
    const unsigned char *p = der;
    X509 *x;
    ATT_ENSURE(len <= ATT_AMD_MAX_CERT_DER, ATT_ERR_TOO_LARGE);
    ATT_ENSURE(len > 0 && len <= (size_t)LONG_MAX, ATT_ERR_CERT_PARSE);
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || p != der + len) {
        X509_free(x);
        ERR_clear_error();
        return ATT_ERR_CERT_PARSE;
    }
    *out = x;
    return ATT_OK;
}

att_err att_amd_signing_key_load(const struct att_amd_trust *t, X509 *cert,
                                 struct att_amd_item **out, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    struct att_amd_item *it = item_new(ATT_AMD_SIGNING_KEY);
    const X509_NAME *subject = X509_get_subject_name(cert);
    X509 *ark = NULL;

    ATT_CHECK(it != NULL, ATT_ERR_NOMEM);
    it->vlek = product_after(subject, "SEV-VLEK-") != ATT_SNP_UNKNOWN;
    it->product = product_after(subject, it->vlek ? "SEV-VLEK-" : "SEV-");
    if (!att_amd_cert_pss_ok(cert)) {
        rc = att_failf(ATT_ERR_SNP_CERT_SIGNATURE_ALGO, msg, msg_len,
                       "AMD signing key (ASK or ASVK) is not signed with RSASSA-PSS SHA-384");
        goto out;
    }
    if (X509_check_ca(cert) == 0) {
        rc = att_failf(ATT_ERR_CERT_NOT_CA, msg, msg_len,
                       "AMD signing key (ASK or ASVK) is not a CA certificate");
        goto out;
    }
    ark = it->product != ATT_SNP_UNKNOWN ? anchor_of(t, it->product, cert, NULL) : NULL;
    if (ark == NULL) {
        rc = att_failf(ATT_ERR_SNP_ARK_UNTRUSTED, msg, msg_len,
                       it->product == ATT_SNP_UNKNOWN
                           ? "AMD signing key's name (SEV-<product> or SEV-VLEK-<product>) "
                             "names no known product"
                           : "AMD %s of %s is not signed by a trusted ARK of %s",
                       it->vlek ? "ASVK" : "ASK", att_amd_product_name(it->product),
                       att_amd_product_name(it->product));
        goto out;
    }
    ATT_CHECK(X509_up_ref(ark) == 1, ATT_ERR_NOMEM);
    it->ark = ark;
    ATT_GUARD(take_cert(it, cert));
    *out = it;
    it = NULL;
    rc = ATT_OK;
out:
    att_amd_item_unref(it);
    return rc;
}

att_err att_amd_crl_load(const struct att_amd_trust *t, const uint8_t *der, size_t len, bool vlek,
                         struct att_amd_item **out, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    struct att_amd_item *it = item_new(ATT_AMD_CRL);
    const unsigned char *p = der;
    X509 *ark = NULL;

    ATT_CHECK(it != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(len <= ATT_AMD_MAX_CRL, ATT_ERR_TOO_LARGE);
    it->vlek = vlek;
    ATT_GUARD(att_sha256(der, len, it->hash));
    it->crl = len > 0 && len <= (size_t)LONG_MAX ? d2i_X509_CRL(NULL, &p, (long)len) : NULL;
    if (it->crl == NULL || p != der + len ||
        att_asn1_time_epoch(X509_CRL_get0_lastUpdate(it->crl), &it->not_before) != ATT_OK ||
        att_asn1_time_epoch(X509_CRL_get0_nextUpdate(it->crl), &it->not_after) != ATT_OK) {
        rc = att_failf(ATT_ERR_SNP_CRL_INVALID, msg, msg_len,
                       "AMD CRL is not a DER CRL with thisUpdate and nextUpdate");
        goto out;
    }
    struct att_bytes crl_der = {der, len};
    if (!att_amd_crl_pss_ok(it->crl, crl_der)) {
        rc = att_failf(ATT_ERR_SNP_CRL_INVALID, msg, msg_len,
                       "AMD CRL is not signed with RSASSA-PSS SHA-384, salt length 48");
        goto out;
    }
    ark = anchor_of(t, ATT_SNP_UNKNOWN, NULL, it->crl);
    if (ark == NULL) {
        rc = att_failf(ATT_ERR_SNP_CRL_INVALID, msg, msg_len,
                       "AMD CRL is not issued and signed by a trusted ARK");
        goto out;
    }
    ATT_CHECK(X509_up_ref(ark) == 1, ATT_ERR_NOMEM);
    it->ark = ark;
    it->product = anchor_product(t, ark);
    *out = it;
    it = NULL;
    rc = ATT_OK;
out:
    att_amd_item_unref(it);
    ERR_clear_error();
    return rc;
}

static bool is_p384(EVP_PKEY *key)
{
    char group[32] = "";
    size_t n = 0;
    bool ok = key != NULL && EVP_PKEY_is_a(key, "EC") &&
              EVP_PKEY_get_group_name(key, group, sizeof(group), &n) == 1 &&
              strcmp(group, "secp384r1") == 0;
    ERR_clear_error();
    return ok;
}

att_err att_amd_leaf_load(X509 *cert, struct att_amd_item *signing_key, struct att_amd_item **out,
                          char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    struct att_amd_item *it = item_new(ATT_AMD_LEAF);
    const char *what = signing_key->vlek ? "VLEK" : "VCEK";

    ATT_CHECK(it != NULL, ATT_ERR_NOMEM);
    it->vlek = signing_key->vlek;
    it->product = signing_key->product;
    if (!att_amd_cert_pss_ok(cert)) {
        rc = att_failf(ATT_ERR_SNP_CERT_SIGNATURE_ALGO, msg, msg_len,
                       "%s is not signed with RSASSA-PSS SHA-384, salt length 48", what);
        goto out;
    }
    /* A VCEK is the ASK's to sign, a VLEK the ASVK's (§6.6): the names say which. */
    char cn[64];
    common_name(X509_get_subject_name(cert), cn, sizeof(cn));
    if (strcmp(cn, signing_key->vlek ? "SEV-VLEK" : "SEV-VCEK") != 0) {
        rc = att_failf(ATT_ERR_SNP_LEAF_CHAIN, msg, msg_len,
                       "the %s of %s signs only %ss; its leaf is named \"%s\"",
                       signing_key->vlek ? "ASVK" : "ASK",
                       att_amd_product_name(signing_key->product), what, cn);
        goto out;
    }
    if (!signed_by(cert, signing_key->cert)) {
        rc = att_failf(ATT_ERR_SNP_LEAF_CHAIN, msg, msg_len, "%s is not signed by the %s of %s",
                       what, signing_key->vlek ? "ASVK" : "ASK",
                       att_amd_product_name(signing_key->product));
        goto out;
    }
    if (!is_p384(X509_get0_pubkey(cert))) {
        rc = att_failf(ATT_ERR_CERT_PARSE, msg, msg_len, "%s key is not EC P-384", what);
        goto out;
    }
    ATT_GUARD(att_amd_cert_info_read(cert, &it->info, msg, msg_len));
    it->issuer = att_amd_item_ref(signing_key);
    ATT_GUARD(take_cert(it, cert));
    it->key = X509_get0_pubkey(cert);
    *out = it;
    it = NULL;
    rc = ATT_OK;
out:
    att_amd_item_unref(it);
    ERR_clear_error();
    return rc;
}
