/*
 * amd_bundle.c - AMD collateral bundles (amd.h: att_amd_collateral_import, the offline source):
 * every item loaded (verified against the anchors) before any is held or stored.
 */
#include <stdlib.h>
#include <string.h>

#include "collateral/amd_int.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/timeutil.h"
#include "crypto/ecdsa.h"

#define MAX_BUNDLE ((size_t)4 << 20)
#define MAX_BUNDLE_CHAINS 6 /* three products, two chains */
#define MAX_BUNDLE_VCEKS 256

static att_err bundle_fail(char *msg, size_t msg_len, const char *what)
{
    return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "AMD bundle: %s", what);
}

/* A bundle's items, loaded (verified) before any of them is held or stored. */
struct staged {
    const char *kind; /* "amd_chain", "amd_crl", "amd_vcek" */
    char key[160];
    struct att_buf bytes; /* as stored: chain PEM, CRL DER, VCEK DER */
    struct att_amd_item *item;
    struct held *held; /* chains and CRLs; NULL for VCEKs */
};

struct stage {
    struct staged v[MAX_BUNDLE_CHAINS * 2 + MAX_BUNDLE_VCEKS];
    size_t n;
};

static att_err stage_add(struct stage *st, const char *kind, const char *key, const void *bytes,
                         size_t len, struct att_amd_item *item, struct held *held)
{
    struct staged *e = &st->v[st->n];
    att_buf_init(&e->bytes, len);
    ATT_TRY(att_buf_put(&e->bytes, bytes, len));
    e->kind = kind;
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->item = att_amd_item_ref(item);
    e->held = held;
    st->n++;
    return ATT_OK;
}

static void stage_free(struct stage *st)
{
    for (size_t i = 0; st != NULL && i < st->n; i++) {
        att_amd_item_unref(st->v[i].item);
        att_buf_cleanup(&st->v[i].bytes);
    }
    free(st);
}

/* One {"product", "chain", "cert_chain", "crl"?} entry: load both into the stage. */
static att_err bundle_chain(struct att_amd_collateral *c, json_t *e, struct stage *st, char *msg,
                            size_t msg_len)
{
    const char *product = NULL;
    const char *chain = NULL;
    const char *pem = NULL;
    const char *crl_hex = NULL;
    size_t pem_len = 0;
    size_t crl_len = 0;
    json_error_t jerr;
    struct att_amd_item *sk = NULL;
    struct att_amd_item *crl = NULL;
    struct att_buf der;
    char key[32];
    att_err rc;

    if (json_unpack_ex(e, &jerr, JSON_STRICT, "{s:s, s:s, s:s%, s?s%}", "product", &product,
                       "chain", &chain, "cert_chain", &pem, &pem_len, "crl", &crl_hex,
                       &crl_len) != 0) {
        return bundle_fail(msg, msg_len,
                           "each \"amd\" entry is {\"product\", \"chain\", \"cert_chain\", "
                           "\"crl\"?} of strings");
    }
    enum att_snp_product p = att_amd_product_of_name(product);
    bool vlek = strcmp(chain, "vlek") == 0;
    if (p == ATT_SNP_UNKNOWN || strchr(product, '-') != NULL ||
        (!vlek && strcmp(chain, "vcek") != 0)) {
        return bundle_fail(msg, msg_len,
                           "\"product\" is Milan, Genoa or Turin and \"chain\" vcek or vlek");
    }
    if (pem_len > ATT_AMD_MAX_CHAIN_PEM || crl_len > 2 * ATT_AMD_MAX_CRL) {
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "AMD bundle: an item is too large");
    }
    att_buf_init(&der, ATT_AMD_MAX_CRL);
    rc = amdc_chain_load(c, (const uint8_t *)pem, pem_len, p, vlek, &sk, msg, msg_len);
    if (rc == ATT_OK && sk == NULL) {
        rc = bundle_fail(msg, msg_len, "a cert_chain holds no signing key");
    }
    if (rc == ATT_OK && crl_hex != NULL) {
        rc = att_hex_decode(crl_hex, crl_len, &der) == ATT_OK
                 ? amdc_held_load(c, true, p, vlek, &der, &crl, msg, msg_len)
                 : bundle_fail(msg, msg_len, "\"crl\" is not hex DER");
    }
    snprintf(key, sizeof(key), "%s:%s", amdc_chain_name(vlek), att_amd_product_name(p));
    if (rc == ATT_OK) {
        rc = stage_add(st, "amd_chain", key, pem, pem_len, sk, &c->chains[p][vlek]);
    }
    if (rc == ATT_OK && crl != NULL) {
        rc = stage_add(st, "amd_crl", key, der.data, der.len, crl, &c->crls[p][vlek]);
    }
    att_amd_item_unref(sk);
    att_amd_item_unref(crl);
    att_buf_cleanup(&der);
    return rc;
}

/* One VCEK (hex DER), loaded against its product's VCEK chain: the bundle's, else the held. */
static att_err bundle_vcek(struct att_amd_collateral *c, json_t *e, struct stage *st, int64_t now,
                           char *msg, size_t msg_len)
{
    struct att_buf der;
    X509 *x = NULL;
    struct att_amd_item *sk = NULL;
    struct att_amd_item *leaf = NULL;
    char key[160];
    att_err rc;

    att_buf_init(&der, ATT_AMD_MAX_CERT_DER);
    if (!json_is_string(e) ||
        att_hex_decode(json_string_value(e), json_string_length(e), &der) != ATT_OK ||
        att_amd_cert_from_der(der.data, der.len, &x) != ATT_OK) {
        att_buf_cleanup(&der);
        return bundle_fail(msg, msg_len, "each \"vceks\" entry is a VCEK as hex DER");
    }
    enum att_snp_product p = amdc_issuer_product(x);
    for (size_t i = 0; i < st->n && sk == NULL; i++) {
        if (st->v[i].held == &c->chains[p][0]) {
            sk = att_amd_item_ref(st->v[i].item);
        }
    }
    rc = p == ATT_SNP_UNKNOWN ? bundle_fail(msg, msg_len, "a VCEK's issuer names no product")
         : sk == NULL         ? amdc_held_current(c, false, p, false, now, now, &sk, msg, msg_len)
                              : ATT_OK;
    if (rc == ATT_OK && sk == NULL) {
        rc = att_failf(ATT_ERR_COLLATERAL_MISSING, msg, msg_len,
                       "AMD bundle: a VCEK of %s comes without its product's VCEK cert_chain",
                       att_amd_product_name(p));
    }
    if (rc == ATT_OK) {
        rc = att_amd_leaf_load(x, sk, &leaf, msg, msg_len);
    }
    if (rc == ATT_OK && (leaf->info.hwid_len == 0 || leaf->vlek)) {
        rc = bundle_fail(msg, msg_len, "a \"vceks\" entry is not a VCEK with a hwID");
    }
    if (rc == ATT_OK) {
        /* The store key names the chip and TCB the certificate was issued for. */
        amdc_vcek_key_of_leaf(leaf, key, sizeof(key));
        rc = stage_add(st, "amd_vcek", key, der.data, der.len, leaf, NULL);
    }
    att_amd_item_unref(leaf);
    att_amd_item_unref(sk);
    X509_free(x);
    att_buf_cleanup(&der);
    return rc;
}

/* Hold and store what the stage holds; the count of rows that changed. */
static int stage_commit(struct att_amd_collateral *c, const struct stage *st)
{
    int count = 0;
    for (size_t i = 0; i < st->n; i++) {
        const struct staged *e = &st->v[i];
        if (e->held != NULL && !amdc_held_put(c, e->held, e->item)) {
            continue; /* what is held is as new */
        }
        if (e->held == NULL) {
            uint8_t hkey[32];
            if (att_sha256(e->key, strlen(e->key), hkey) == ATT_OK) {
                amdc_leaf_put(c, hkey, e->item, 0, ATT_OK);
            }
        }
        count += amdc_store_put(c, e->kind, e->key, e->bytes.data, e->bytes.len, e->item, "import");
    }
    return count;
}

/* The first staged item past its notAfter (nextUpdate for a CRL) at `now`, named in msg. */
static att_err stage_first_expired(const struct stage *st, int64_t now, char *msg, size_t msg_len)
{
    for (size_t i = 0; i < st->n; i++) {
        if (st->v[i].item->not_after < now) {
            char at[32];
            att_time_format(st->v[i].item->not_after, at, sizeof(at));
            return att_failf(ATT_ERR_COLLATERAL_EXPIRED, msg, msg_len, "%s %s expired (%s)",
                             st->v[i].kind, st->v[i].key, at);
        }
    }
    return ATT_OK;
}

att_err att_amd_collateral_import(struct att_amd_collateral *c, const char *json, size_t len,
                                  int64_t now, bool allow_expired, int *imported, char *msg,
                                  size_t msg_len)
{
    json_error_t jerr;
    json_t *root = NULL;
    json_t *chains = NULL;
    json_t *vceks = NULL;
    struct stage *st = NULL;
    att_err rc = ATT_OK;

    if (imported != NULL) {
        *imported = 0;
    }
    if (len > MAX_BUNDLE) {
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "AMD bundle is over %zu bytes",
                         MAX_BUNDLE);
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (json_unpack_ex(root, &jerr, 0, "{s:o, s?o}", "amd", &chains, "vceks", &vceks) != 0 ||
        !json_is_array(chains) || (vceks != NULL && !json_is_array(vceks))) {
        json_decref(root);
        return bundle_fail(msg, msg_len, "not an object {\"amd\": [...], \"vceks\": [...]?}");
    }
    if (json_array_size(chains) > MAX_BUNDLE_CHAINS ||
        (vceks != NULL && json_array_size(vceks) > MAX_BUNDLE_VCEKS)) {
        json_decref(root);
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len,
                         "AMD bundle holds over %d chains or %d VCEKs", MAX_BUNDLE_CHAINS,
                         MAX_BUNDLE_VCEKS);
    }
    st = calloc(1, sizeof(*st));
    rc = st != NULL ? ATT_OK : ATT_ERR_NOMEM;
    for (size_t i = 0; rc == ATT_OK && i < json_array_size(chains); i++) {
        rc = bundle_chain(c, json_array_get(chains, i), st, msg, msg_len);
    }
    for (size_t i = 0; rc == ATT_OK && vceks != NULL && i < json_array_size(vceks); i++) {
        rc = bundle_vcek(c, json_array_get(vceks, i), st, now, msg, msg_len);
    }
    if (rc == ATT_OK && !allow_expired) {
        rc = stage_first_expired(st, now, msg, msg_len);
    }
    /* All or nothing: an item that does not load leaves the store as it was. */
    if (rc == ATT_OK) {
        int count = stage_commit(c, st);
        if (imported != NULL) {
            *imported = count;
        }
    }
    stage_free(st);
    json_decref(root);
    return rc;
}

att_err att_amd_collateral_offline(const struct att_amd_trust *trust, const char *json, size_t len,
                                   bool crl_required, struct att_amd_collateral **out, char *msg,
                                   size_t msg_len)
{
    struct att_amd_collateral_config cfg = {NULL, NULL, 0, 0, crl_required};
    struct att_amd_collateral *c = NULL;
    att_err rc = amdc_service_new(NULL, trust, &cfg, &c);
    if (rc == ATT_OK && json != NULL) {
        rc = att_amd_collateral_import(c, json, len, 0, true, NULL, msg, msg_len);
    }
    if (rc != ATT_OK) {
        att_amd_collateral_free(c);
        return rc;
    }
    *out = c;
    return ATT_OK;
}
