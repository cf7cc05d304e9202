/*
 * amd.h - AMD SEV-SNP trust anchors and collateral, parsed and verified once, then shared
 * (docs/reference/amd-sev-snp.md §6.5-§6.8): the ARK of each product (Milan, Genoa, Turin) as
 * trust anchors, the signing keys they certify (the ASK, which signs VCEKs, and the ASVK, which
 * signs VLEKs), the CRLs they sign, and the VCEK or VLEK that signs a report.
 *
 * As with Intel's items (src/evidence/intel/dcap.h), loading checks what does not depend on the
 * time (parsing, signatures, AMD's RSASSA-PSS parameters, CA constraints, the leaf's
 * extensions) and records the validity windows; att_snp_verify checks them at the time of use,
 * so a loaded item can be cached by content hash. Items are immutable and reference-counted.
 *
 * Anchors are ARK keys: a signing key is accepted when it names an anchor of its product as
 * issuer and that anchor's key verifies it, whatever ARK copy came with it.
 */
#ifndef ATT_EVIDENCE_SNP_AMD_H
#define ATT_EVIDENCE_SNP_AMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "core/err.h"
#include "evidence/snp/amdcert.h"
#include "evidence/snp/report.h"

#define ATT_AMD_MAX_ANCHORS 8
#define ATT_AMD_MAX_CHAIN_PEM (16 * 1024) /* leaf, ASK and ARK as PEM: about 6 KiB */
#define ATT_AMD_MAX_CERT_DER (8 * 1024)   /* one certificate (an ARK is 1.6 KiB) */
#define ATT_AMD_MAX_CRL (256 * 1024)      /* AMD's CRLs list a few signing keys */

/* ---- trust anchors -------------------------------------------------------------------- */

struct att_amd_trust;

/*
 * Anchors from PEM text holding 1..ATT_AMD_MAX_ANCHORS self-signed ARKs. Each must name its
 * product in its common name ("ARK-Milan", "ARK-Genoa", "ARK-Turin"), be a CA, verify itself
 * and be signed with AMD's RSASSA-PSS parameters. Errors: ATT_ERR_CERT_PARSE, ATT_ERR_TOO_LARGE,
 * ATT_ERR_CERT_NOT_CA (msg says what).
 */
att_err att_amd_trust_from_pem(const char *pem, size_t len, struct att_amd_trust **out, char *msg,
                               size_t msg_len) ATT_WUR;
/* The built-in ARKs of Milan, Genoa and Turin (amd_roots.c). */
att_err att_amd_trust_builtin(struct att_amd_trust **out, char *msg, size_t msg_len) ATT_WUR;
void att_amd_trust_free(struct att_amd_trust *t);
/* SHA-256 over the anchors' public keys, hex: names a trust configuration. */
const char *att_amd_trust_id(const struct att_amd_trust *t);

/* ---- verified items ------------------------------------------------------------------- */

enum att_amd_kind {
    ATT_AMD_SIGNING_KEY, /* ASK (VCEK chain) or ASVK (VLEK chain), signed by the ARK */
    ATT_AMD_CRL,         /* signed by the ARK */
    ATT_AMD_LEAF,        /* VCEK or VLEK, signed by a signing key */
};

struct att_amd_item {
    enum att_amd_kind kind;
    int refs;                     /* atomic; see att_amd_item_ref */
    uint8_t hash[32];             /* SHA-256 of the DER (certificate or CRL) */
    enum att_snp_product product; /* of the ARK that (directly or not) signed the item */
    bool vlek;                    /* VLEK chain: an ASVK, a VLEK, or a CRL of the VLEK path */
    X509 *cert;                   /* the signing key or the leaf */
    X509 *ark;                    /* the anchor that verified it (signing key, CRL) */
    X509_CRL *crl;
    int64_t not_before, not_after; /* the certificate's, or (CRL) thisUpdate .. nextUpdate */
    struct att_amd_item *issuer;   /* leaf: its signing key (held) */
    struct att_amd_cert_info info; /* leaf: AMD extensions */
    EVP_PKEY *key;                 /* leaf: its P-384 key (borrowed from cert) */
    bool from_kds;                 /* leaf: fetched, not yet stored (src/collateral/amd.c) */
    int stored;                    /* leaf: atomic; set once it has been stored */
};

struct att_amd_item *att_amd_item_ref(struct att_amd_item *it);
/* Accepts NULL. */
void att_amd_item_unref(struct att_amd_item *it);

/*
 * An ASK or ASVK (ASVK when its common name starts "SEV-VLEK-"), verified by an anchor of the
 * product its common name names ("SEV-Milan", "SEV-VLEK-Genoa"). `cert` is borrowed (the item
 * takes a reference). Errors: ATT_ERR_SNP_CERT_SIGNATURE_ALGO, ATT_ERR_CERT_NOT_CA,
 * ATT_ERR_SNP_ARK_UNTRUSTED (no anchor of the product signed it, or the name names no product).
 */
att_err att_amd_signing_key_load(const struct att_amd_trust *t, X509 *cert,
                                 struct att_amd_item **out, char *msg, size_t msg_len) ATT_WUR;

/*
 * A CRL in DER signed by an anchor; `vlek` says which path it came from (KDS serves one per
 * chain). Errors: ATT_ERR_SNP_CRL_INVALID (not DER, no thisUpdate/nextUpdate, not issued and
 * signed by an anchor, not AMD's PSS parameters), ATT_ERR_TOO_LARGE.
 */
att_err att_amd_crl_load(const struct att_amd_trust *t, const uint8_t *der, size_t len, bool vlek,
                         struct att_amd_item **out, char *msg, size_t msg_len) ATT_WUR;

/*
 * A VCEK or VLEK `cert` (borrowed) signed by `signing_key` (an ASK for a VCEK, an ASVK for a
 * VLEK, as the signing key says): AMD's PSS parameters, its issuer name and signature, an EC
 * P-384 key, its AMD extensions read. Serial number 0 is normal for AMD leaves. Errors:
 * ATT_ERR_SNP_CERT_SIGNATURE_ALGO, ATT_ERR_SNP_LEAF_CHAIN (not signed by it),
 * ATT_ERR_SNP_CERT_EXTENSION, ATT_ERR_CERT_PARSE (not a P-384 key).
 */
att_err att_amd_leaf_load(X509 *cert, struct att_amd_item *signing_key, struct att_amd_item **out,
                          char *msg, size_t msg_len) ATT_WUR;

/*
 * A certificate from DER bytes (exactly one, nothing after it). ATT_ERR_CERT_PARSE,
 * ATT_ERR_TOO_LARGE (over ATT_AMD_MAX_CERT_DER).
 */
att_err att_amd_cert_from_der(const uint8_t *der, size_t len, X509 **out) ATT_WUR;

#endif
