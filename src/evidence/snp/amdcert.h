/*
 * amdcert.h - what AMD puts in its certificates (docs/reference/amd-sev-snp.md §6.5, §6.6; AMD's
 * VCEK Certificate and KDS Interface Specification, pub. 57230): the VCEK and VLEK extensions
 * under 1.3.6.1.4.1.3704.1 (product, the TCB components the key was derived for, the chip's
 * hwID, the cloud provider of a VLEK), and the one signature algorithm AMD uses for every
 * certificate and CRL (RSASSA-PSS, SHA-384, MGF1 with SHA-384, salt length 48).
 *
 * Extension values are untrusted bytes and go through the DER reader (src/x509/der.h); the
 * certificate around them is parsed by OpenSSL.
 */
#ifndef ATT_EVIDENCE_SNP_AMDCERT_H
#define ATT_EVIDENCE_SNP_AMDCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "core/err.h"
#include "core/rd.h"
#include "evidence/snp/report.h"

/* The AMD extensions, by the arcs after 1.3.6.1.4.1.3704.1 (§6.5). */
enum att_amd_ext {
    ATT_AMD_EXT_STRUCT_VERSION, /* .1 */
    ATT_AMD_EXT_PRODUCT_NAME,   /* .2 */
    ATT_AMD_EXT_BL_SPL,         /* .3.1 */
    ATT_AMD_EXT_TEE_SPL,        /* .3.2 */
    ATT_AMD_EXT_SNP_SPL,        /* .3.3 */
    ATT_AMD_EXT_SPL_4,          /* .3.4 - .3.7: reserved, read and ignored */
    ATT_AMD_EXT_SPL_5,
    ATT_AMD_EXT_SPL_6,
    ATT_AMD_EXT_SPL_7,
    ATT_AMD_EXT_UCODE_SPL, /* .3.8 */
    ATT_AMD_EXT_FMC_SPL,   /* .3.9, Turin */
    ATT_AMD_EXT_HWID,      /* .4, VCEK */
    ATT_AMD_EXT_CSP_ID,    /* .5, VLEK */
    ATT_AMD_EXT_COUNT
};

#define ATT_AMD_PRODUCT_NAME_MAX 32
#define ATT_AMD_CSP_ID_MAX 128

/* A VCEK's or VLEK's extensions. `seen` has bit (1 << enum att_amd_ext) per extension read. */
struct att_amd_cert_info {
    uint32_t seen;
    uint64_t struct_version;
    char product_name[ATT_AMD_PRODUCT_NAME_MAX]; /* "Milan-B0", "Genoa", "Turin" */
    enum att_snp_product product;                /* from product_name; UNKNOWN otherwise */
    uint8_t fmc, bootloader, tee, snp, microcode;
    uint8_t hwid[64];
    size_t hwid_len; /* 64 (Milan, Genoa) or 8 (Turin) */
    char csp_id[ATT_AMD_CSP_ID_MAX];
};

/*
 * Which AMD extension the OID content octets `oid` name: ATT_AMD_EXT_COUNT for any other OID.
 */
enum att_amd_ext att_amd_ext_of(const uint8_t *oid, size_t oid_len);

/*
 * Read one AMD extension's extnValue octets into `info`. INTEGER values are DER INTEGERs of at
 * most 255 (ucodeSPL >= 128 takes two content bytes); productName and cspID are IA5Strings of
 * printable ASCII; hwID comes raw (64 or 8 bytes) or, as some certificates have it, wrapped in
 * an OCTET STRING. An extension seen twice is refused. ATT_ERR_SNP_CERT_EXTENSION names it.
 */
att_err att_amd_ext_read(enum att_amd_ext which, struct att_bytes value,
                         struct att_amd_cert_info *info, char *msg, size_t msg_len) ATT_WUR;

/*
 * Every AMD extension of `cert` into `info` (zeroed first); other extensions are skipped. Does
 * not check which ones are required (the verifier does, against the report's product).
 * Errors: ATT_ERR_SNP_CERT_EXTENSION.
 */
att_err att_amd_cert_info_read(X509 *cert, struct att_amd_cert_info *info, char *msg,
                               size_t msg_len) ATT_WUR;

/* The product named by "Milan", "Milan-B0", "Genoa", "Turin", ... (the part before '-');
 * ATT_SNP_UNKNOWN otherwise. */
enum att_snp_product att_amd_product_of_name(const char *name);
/* "Milan", "Genoa", "Turin" (KDS's path segment), "unknown". */
const char *att_amd_product_name(enum att_snp_product p);

/*
 * Whether `cert` (and its outer signature algorithm, which OpenSSL requires to equal it) is
 * signed with AMD's RSASSA-PSS parameters exactly (§6.6). Parameters are compared as DER, so
 * an equivalent but differently encoded AlgorithmIdentifier is refused too.
 */
bool att_amd_cert_pss_ok(const X509 *cert);
/* The same for a CRL, whose inner algorithm is read from its DER `der`. */
bool att_amd_crl_pss_ok(const X509_CRL *crl, struct att_bytes der);

#endif
