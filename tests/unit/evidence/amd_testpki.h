/*
 * amd_testpki.h - a test-only AMD SEV-SNP PKI built in code: a fresh ARK (self-signed root),
 * ASK and ASVK (RSA, signed by the ARK), a VCEK (signed by the ASK) or VLEK (signed by the
 * ASVK) with AMD's extensions and an EC P-384 key, the ARK's two CRLs, and an
 * ATTESTATION_REPORT (version 2, 3 or 5) signed by the leaf's key. Everything is valid around a
 * base time of the caller's choice, so tests need no real AMD samples, which expire or cannot
 * be re-signed.
 *
 * Test code only: never linked into attestd. It uses OpenSSL 3, jansson and the writer of
 * src/demo/wbuf.h, no verifier code, so a verifier bug cannot hide in the evidence it checks.
 * Layouts follow
 * docs/reference/amd-sev-snp.md: the report §6.1 (AMD pub. 56860, ATTESTATION_REPORT
 * Structure), POLICY §6.2, the certificate table of an extended report §6.3 (AMD pub. 56421),
 * TCB_VERSION §6.4, the VCEK/VLEK extensions §6.5 (AMD pub. 57230) and the chain §6.6. The
 * certificates have the DER shape of AMD's: subject and issuer names, extension order and
 * encodings, the RSASSA-PSS AlgorithmIdentifier, serial number 0 on the leaf.
 *
 * Every knob of struct amd_testpki_opts breaks one verification step (docs/reference/
 * amd-sev-snp.md §6.8) or changes one value; a zero-initialised struct gives a fully valid Milan
 * report v3 signed by a VCEK. Nothing here checks anything:
 * tests/unit/evidence/test_amd_testpki.c proves with OpenSSL that each knob breaks exactly
 * what it names.
 */
#ifndef ATT_TEST_AMD_TESTPKI_H
#define ATT_TEST_AMD_TESTPKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* ATTESTATION_REPORT offsets (docs/reference/amd-sev-snp.md §6.1), for tests that read or
 * flip fields. */
#define AMD_TESTPKI_REPORT_LEN 0x4A0 /* 1184 */
#define AMD_TESTPKI_SIGNED_LEN 0x2A0 /* the signature covers bytes 0x000-0x29F */
#define AMD_TESTPKI_OFF_VERSION 0x000
#define AMD_TESTPKI_OFF_GUEST_SVN 0x004
#define AMD_TESTPKI_OFF_POLICY 0x008
#define AMD_TESTPKI_OFF_FAMILY_ID 0x010
#define AMD_TESTPKI_OFF_IMAGE_ID 0x020
#define AMD_TESTPKI_OFF_VMPL 0x030
#define AMD_TESTPKI_OFF_SIG_ALGO 0x034
#define AMD_TESTPKI_OFF_CURRENT_TCB 0x038
#define AMD_TESTPKI_OFF_PLATFORM_INFO 0x040
#define AMD_TESTPKI_OFF_KEY_INFO 0x048
#define AMD_TESTPKI_OFF_REPORT_DATA 0x050
#define AMD_TESTPKI_OFF_MEASUREMENT 0x090
#define AMD_TESTPKI_OFF_HOST_DATA 0x0C0
#define AMD_TESTPKI_OFF_ID_KEY_DIGEST 0x0E0
#define AMD_TESTPKI_OFF_AUTHOR_KEY_DIGEST 0x110
#define AMD_TESTPKI_OFF_REPORT_ID 0x140
#define AMD_TESTPKI_OFF_REPORT_ID_MA 0x160
#define AMD_TESTPKI_OFF_REPORTED_TCB 0x180
#define AMD_TESTPKI_OFF_CPUID_FAM 0x188 /* v3 on; CPUID_MOD_ID at 0x189, CPUID_STEP at 0x18A */
#define AMD_TESTPKI_OFF_CHIP_ID 0x1A0
#define AMD_TESTPKI_OFF_COMMITTED_TCB 0x1E0
#define AMD_TESTPKI_OFF_CURRENT_VERSION 0x1E8 /* build, minor, major, reserved */
#define AMD_TESTPKI_OFF_COMMITTED_VERSION 0x1EC
#define AMD_TESTPKI_OFF_LAUNCH_TCB 0x1F0
#define AMD_TESTPKI_OFF_LAUNCH_MIT_VECTOR 0x1F8  /* v5 only */
#define AMD_TESTPKI_OFF_CURRENT_MIT_VECTOR 0x200 /* v5 only */
#define AMD_TESTPKI_OFF_SIG_R 0x2A0              /* 72 bytes, little-endian */
#define AMD_TESTPKI_OFF_SIG_S 0x2E8              /* 72 bytes, little-endian */
#define AMD_TESTPKI_SIG_COMPONENT_LEN 72

/* Key information bits (§6.1). */
#define AMD_TESTPKI_KEY_INFO_AUTHOR_KEY_EN 0x1u
#define AMD_TESTPKI_KEY_INFO_MASK_CHIP_KEY 0x2u
#define AMD_TESTPKI_KEY_INFO_SIGNING_KEY_SHIFT 2 /* bits 4:2: 0 VCEK, 1 VLEK */

/* Defaults (what a zero knob means). */
#define AMD_TESTPKI_POLICY 0x30000u /* SMT allowed and bit 17 (must be 1), §6.2 */
#define AMD_TESTPKI_RSA_BITS 2048   /* AMD's ARK, ASK and ASVK are RSA-4096; 2048 is faster */
#define AMD_TESTPKI_CSP_ID "CN=cc-us-east-2.amazonaws.com" /* the value in AWS VLEKs */
#define AMD_TESTPKI_DAY 86400

/* One entry of the extended report's certificate table (§6.3): GUID, u32 offset, u32 length. */
#define AMD_TESTPKI_CERT_TABLE_ENTRY_LEN 24

enum amd_testpki_product { AMD_TESTPKI_MILAN = 0, AMD_TESTPKI_GENOA, AMD_TESTPKI_TURIN };

/* A TCB_VERSION (§6.4) by field; `fmc` exists on Turin only and must be 0 elsewhere. */
struct amd_testpki_tcb {
    uint8_t fmc;
    uint8_t bl;
    uint8_t tee;
    uint8_t snp;
    uint8_t ucode;
};

/* Firmware version bytes of the report (CURRENT_ or COMMITTED_ BUILD, MINOR, MAJOR). */
struct amd_testpki_fw {
    uint8_t build;
    uint8_t minor;
    uint8_t major;
};

/* One SPL of the leaf's TCB extensions (1.3.6.1.4.1.3704.1.3.x, §6.5). */
enum amd_testpki_spl {
    AMD_TESTPKI_SPL_NONE = 0,
    AMD_TESTPKI_SPL_BL,    /* .3.1 blSPL */
    AMD_TESTPKI_SPL_TEE,   /* .3.2 teeSPL */
    AMD_TESTPKI_SPL_SNP,   /* .3.3 snpSPL */
    AMD_TESTPKI_SPL_UCODE, /* .3.8 ucodeSPL */
    AMD_TESTPKI_SPL_FMC,   /* .3.9 fmcSPL, Turin only */
};

/* One extension of the leaf (§6.5), for leaf_missing_ext. */
enum amd_testpki_ext {
    AMD_TESTPKI_EXT_NONE = 0,
    AMD_TESTPKI_EXT_STRUCT_VERSION, /* .1 */
    AMD_TESTPKI_EXT_PRODUCT_NAME,   /* .2 */
    AMD_TESTPKI_EXT_BL_SPL,         /* .3.1 */
    AMD_TESTPKI_EXT_TEE_SPL,        /* .3.2 */
    AMD_TESTPKI_EXT_SNP_SPL,        /* .3.3 */
    AMD_TESTPKI_EXT_UCODE_SPL,      /* .3.8 */
    AMD_TESTPKI_EXT_FMC_SPL,        /* .3.9, Turin only */
    AMD_TESTPKI_EXT_HWID,           /* .4, VCEK only */
    AMD_TESTPKI_EXT_CSP_ID,         /* .5, VLEK only */
};

/* RSASSA-PSS parameters of a certificate or CRL signature (§6.6). */
enum amd_testpki_pss {
    AMD_TESTPKI_PSS_AMD = 0, /* SHA-384, MGF1 with SHA-384, salt length 48 */
    AMD_TESTPKI_PSS_SALT32,  /* salt length 32, SHA-384 otherwise */
    AMD_TESTPKI_PSS_SHA256,  /* SHA-256 and MGF1 with SHA-256, salt length 48 */
};

/* Which signatures opts.pss applies to (a mask; 0 means the leaf only). */
#define AMD_TESTPKI_SIG_ARK 0x1u  /* the ARK's self-signature */
#define AMD_TESTPKI_SIG_ASK 0x2u  /* the ASK's and the ASVK's, by the ARK */
#define AMD_TESTPKI_SIG_LEAF 0x4u /* the VCEK's or VLEK's */
#define AMD_TESTPKI_SIG_CRL 0x8u  /* both CRLs */

struct amd_testpki_opts {
    /* Base time, seconds since the epoch; 0 = time(NULL). The ARK, ASK and ASVK are valid from
     * now-365 days to now+20 years, a VCEK from now-30 days to now+7 years (AMD's VCEKs last 7
     * years), a VLEK from now-30 days to now+335 days (AMD's last one year), the CRLs from
     * now-1 day to now+29 days. */
    int64_t now;
    enum amd_testpki_product product; /* zero = Milan */
    int report_version;               /* 2, 3 or 5; 0 = 3 */
    bool vlek;                        /* a VLEK under the ASVK signs (SIGNING_KEY 1) */
    int rsa_bits;                     /* ARK, ASK, ASVK; 0 = 2048 */
    const char *csp_id;               /* VLEK cspID; NULL = AMD_TESTPKI_CSP_ID */

    /* ---- Report fields (§6.1); pointers are NULL for the default ---- */
    uint32_t guest_svn;
    uint64_t policy;                  /* 0 = AMD_TESTPKI_POLICY; any other value literally */
    uint32_t vmpl;                    /* literal (0 to 3 are meaningful) */
    uint64_t platform_info;           /* literal */
    bool author_key_en;               /* key information bit 0 */
    const uint8_t *family_id;         /* 16 bytes; NULL = zeros */
    const uint8_t *image_id;          /* 16 bytes; NULL = zeros */
    const uint8_t *report_data;       /* 64 bytes; NULL = zeros */
    const uint8_t *measurement;       /* 48 bytes; NULL = 48 x 0x3E */
    const uint8_t *host_data;         /* 32 bytes; NULL = zeros */
    const uint8_t *id_key_digest;     /* 48 bytes; NULL = zeros */
    const uint8_t *author_key_digest; /* 48 bytes; NULL = zeros */
    const uint8_t *report_id;         /* 32 bytes; NULL = 32 x 0x1D */
    const uint8_t *report_id_ma;      /* 32 bytes; NULL = 32 x 0xFF (no migration agent) */
    /* 64 bytes; NULL = 0xC0, 0xC1, ... 0xFF. Turin keeps only the first 8 bytes (the rest of
     * CHIP_ID zero), as its hwID has 8. Also the VCEK's hwID. */
    const uint8_t *chip_id;
    const uint8_t *cpuid;        /* 3 bytes fam, mod, step (v3 on); NULL = the product's */
    uint64_t launch_mit_vector;  /* v5 only (must be 0 otherwise) */
    uint64_t current_mit_vector; /* v5 only (must be 0 otherwise) */
    const struct amd_testpki_fw *current_fw;   /* NULL = 1.55 build 29 */
    const struct amd_testpki_fw *committed_fw; /* NULL = current_fw */
    /* REPORTED_TCB, from which the leaf's SPL extensions come; NULL = the product's default
     * (amd_testpki_default_tcb). */
    const struct amd_testpki_tcb *reported_tcb;
    const struct amd_testpki_tcb *current_tcb;   /* NULL = REPORTED_TCB before the knobs */
    const struct amd_testpki_tcb *committed_tcb; /* NULL = likewise */
    const struct amd_testpki_tcb *launch_tcb;    /* NULL = likewise */

    /* ---- Knobs: each breaks one verification step, everything else stays valid ---- */
    /* The leaf's extension for this SPL is one more than REPORTED_TCB's (one less from 255). */
    enum amd_testpki_spl leaf_tcb_mismatch;
    bool hwid_mismatch; /* VCEK only: the last byte of hwID differs from CHIP_ID's */
    /* MASK_CHIP_KEY set and CHIP_ID zero (the VCEK still has its hwID): valid, and a verifier
     * must skip the hwID comparison (§6.8 step 6). */
    bool mask_chip_key;
    bool revoke_ask;   /* the ARK's CRL of the chain in use lists the ASK's (VLEK: ASVK's) serial */
    bool leaf_expired; /* leaf notAfter = now-1 day (notBefore now-400 days) */
    bool leaf_not_yet_valid; /* leaf notBefore = now+1 day */
    /* The leaf is signed by the intermediate of the same kind of another product's PKI (a
     * fresh ARK-Genoa and SEV-Genoa for Milan; ARK-Milan and SEV-Milan for Genoa and Turin);
     * productName still names this product. chain_pem and cert_table carry that intermediate
     * and its ARK; ark/kds_chain_pem stay this product's. */
    bool wrong_product_ask;
    bool vlek_signed_by_ask;         /* VLEK only: the ASK signs the VLEK instead of the ASVK */
    bool report_signed_by_other_key; /* a fresh P-384 key, not the leaf's, signs the report */
    /* REPORTED_TCB (and so the leaf) has SNP one above CURRENT_TCB, COMMITTED_TCB and
     * LAUNCH_TCB. */
    bool reported_tcb_above_current;
    /* REPORTED_TCB microcode 0xD9 (217), so the leaf's ucodeSPL takes two content bytes
     * (02 02 00 d9), as AMD encodes it (§6.5). Valid. */
    bool ucode_high;
    enum amd_testpki_ext leaf_missing_ext; /* the leaf lacks this extension */
    enum amd_testpki_pss pss;              /* PSS parameters of the signatures in pss_sigs */
    unsigned pss_sigs;                     /* AMD_TESTPKI_SIG_*; 0 = AMD_TESTPKI_SIG_LEAF */

    /* ---- Shape variants: still valid ---- */
    /* hwID as a DER OCTET STRING (04 40 <64 bytes>) inside extnValue, as some certificates in
     * the wild have, instead of AMD's bare bytes. VCEK only. */
    bool hwid_der_wrapped;
    /* The leaf's AlgorithmIdentifier states trailerField 1 explicitly, as AMD's ARK and ASK
     * certificates and its older Milan VCEKs do; newer leaves from the KDS omit it (the DER
     * default), which is the default here. */
    bool leaf_trailer_field;
};

/* A DER (or other binary) object owned by struct amd_testpki. */
struct amd_testpki_blob {
    uint8_t *p;
    size_t len;
};

struct amd_testpki {
    int64_t now; /* the base time used */
    enum amd_testpki_product product;
    int report_version;
    bool vlek;

    /* The report (1184 bytes) and the TCB values in it and in the leaf. */
    uint8_t report[AMD_TESTPKI_REPORT_LEN];
    struct amd_testpki_tcb reported_tcb;
    struct amd_testpki_tcb current_tcb;
    struct amd_testpki_tcb leaf_tcb; /* the leaf's SPL extensions */
    uint8_t chip_id[64];             /* as in the report (zero with mask_chip_key) */
    uint8_t hwid[64];                /* the VCEK's hwID bytes (VCEK only) */
    size_t hwid_len;                 /* 64, or 8 on Turin; 0 for a VLEK */

    /* The PKI of this product. asvk exists in every build; the leaf's issuer is ask, asvk or
     * other_ask (leaf_issuer, borrowed). */
    X509 *ark;
    EVP_PKEY *ark_key;
    X509 *ask;
    EVP_PKEY *ask_key;
    X509 *asvk;
    EVP_PKEY *asvk_key;
    X509 *leaf;
    EVP_PKEY *leaf_key;
    EVP_PKEY *report_key; /* what signed the report: leaf_key, or a stray key */
    X509 *leaf_issuer;    /* borrowed: ask, asvk or other_ask */
    X509 *leaf_root;      /* borrowed: ark or other_ark */
    X509 *other_ark;      /* wrong_product_ask only */
    X509 *other_ask;      /* the other product's ASK (VLEK: ASVK) */
    X509_CRL *crl_vcek;   /* ARK's CRL of the VCEK chain (KDS /vcek/v1/{product}/crl) */
    X509_CRL *crl_vlek;   /* ARK's CRL of the VLEK chain (KDS /vlek/v1/{product}/crl) */

    /* The same as bytes (DER) and text (PEM, NUL-terminated). */
    struct amd_testpki_blob ark_der;
    struct amd_testpki_blob ask_der;
    struct amd_testpki_blob asvk_der;
    struct amd_testpki_blob leaf_der;
    struct amd_testpki_blob crl_vcek_der;
    struct amd_testpki_blob crl_vlek_der;
    char *ark_pem;
    char *ask_pem;
    char *asvk_pem;
    char *leaf_pem;
    /* "VcekCertChain" style: leaf, its issuer, that issuer's ARK. */
    char *chain_pem;
    /* What the KDS serves at /vcek/v1/{product}/cert_chain (ASK then ARK) or, for a VLEK,
     * /vlek/v1/{product}/cert_chain (ASVK then ARK), §6.7. */
    char *kds_chain_pem;
    /* The extended report's certificate table (§6.3): entries for the leaf (VCEK or VLEK
     * GUID), its issuer (ASK GUID) and that issuer's ARK, an all-zero entry, then the three
     * DER certificates. */
    struct amd_testpki_blob cert_table;
    /* The MAA SevSnpVm document (docs/reference/maa-api.md §1.3):
     * {"SnpReport": b64url(report), "VcekCertChain": b64url(chain_pem)}, unpadded. */
    char *maa_evidence_json;
};

/* The TCB a zero opts uses for `product`: Milan {bl 3, tee 1, snp 8, ucode 115}, Genoa
 * {bl 10, tee 1, snp 23, ucode 84}, Turin {fmc 1, bl 2, tee 3, snp 4, ucode 69}; each field
 * different so a wrong layout shows. */
struct amd_testpki_tcb amd_testpki_default_tcb(enum amd_testpki_product product);

/* The 8 TCB_VERSION bytes of `tcb` in the layout of `product` (§6.4). */
void amd_testpki_tcb_bytes(const struct amd_testpki_tcb *tcb, enum amd_testpki_product product,
                           uint8_t out[8]);

/* "Milan", "Genoa" or "Turin" (the KDS path element, §6.7); NULL for an unknown value. */
const char *amd_testpki_product_name(enum amd_testpki_product product);

/*
 * Build everything for `opts` (NULL = all defaults) into `out` (caller storage, overwritten).
 * Returns 0, or -1 on an OpenSSL/allocation failure or a knob out of range or not applicable
 * (fmc outside Turin, a VCEK knob on a VLEK, ...), reason on stderr; on failure `out` holds
 * nothing to free. Fresh keys each call.
 */
int amd_testpki_build(const struct amd_testpki_opts *opts, struct amd_testpki *out)
    __attribute__((warn_unused_result));

/* Release everything in `pki` and zero it. Accepts NULL and a zeroed struct. */
void amd_testpki_free(struct amd_testpki *pki);

/*
 * Another CRL of the PKI's ARK, issued around `at` (thisUpdate a day before, nextUpdate 29 days
 * after, as the build's own), revoking nothing: a later CRL for refresh tests. DER into *out
 * (free with free()). 0 or -1.
 */
int amd_testpki_crl_der(const struct amd_testpki *pki, int64_t at, struct amd_testpki_blob *out);

#endif
