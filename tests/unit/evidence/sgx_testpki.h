/*
 * sgx_testpki.h - a test-only Intel SGX DCAP PKI built in code: a fresh root CA, PCK CA, PCK
 * leaf and TCB signing certificate (all ECDSA P-256), both CRLs, signed TCB info v3 and QE
 * identity v2, and an SGX ECDSA quote v3 whose QE report is signed by the PCK leaf. Everything
 * is valid around a base time of the caller's choice, so tests need no expired Intel samples.
 *
 * Test code only: never linked into attestd. It depends on OpenSSL 3 and jansson, not on
 * libattest, so the CLI in tests/tools/ can use it on its own. Layouts follow
 * /work/shared/FORMATS.md §1 (quote v3), §3.2 (SGX extension, same DER shape as a real PCK),
 * §4 (collateral) and the dcap-qvl QuoteCollateralV3 "bundle" JSON of testdata/MANIFEST.md.
 *
 * Every knob of struct sgx_testpki_opts breaks one verification step (or changes one value);
 * a zero-initialised struct gives a fully valid quote whose platform and QE are UpToDate.
 * Nothing here checks anything: tests/unit/evidence/test_sgx_testpki.c proves with OpenSSL that
 * each knob breaks exactly what it names.
 */
#ifndef ATT_TEST_SGX_TESTPKI_H
#define ATT_TEST_SGX_TESTPKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Quote v3 offsets (FORMATS.md §1), for tests that read or flip fields. */
#define SGX_TESTPKI_HEADER_LEN 48
#define SGX_TESTPKI_BODY_LEN 384
#define SGX_TESTPKI_SIGNED_LEN 432    /* header || ISV report body */
#define SGX_TESTPKI_OFF_BODY 0x30     /* ISV report body */
#define SGX_TESTPKI_OFF_SIG_LEN 0x1B0 /* u32 signature data length */
#define SGX_TESTPKI_OFF_QUOTE_SIG 0x1B4
#define SGX_TESTPKI_OFF_ATT_KEY 0x1F4
#define SGX_TESTPKI_OFF_QE_REPORT 0x234
#define SGX_TESTPKI_OFF_QE_REPORT_SIG 0x3B4
#define SGX_TESTPKI_OFF_QE_AUTH_LEN 0x3F4
#define SGX_TESTPKI_QE_AUTH_LEN 32
#define SGX_TESTPKI_OFF_CERT_TYPE 0x416 /* with 32 bytes of QE auth data */
#define SGX_TESTPKI_OFF_CERT_LEN 0x418
#define SGX_TESTPKI_OFF_CERT_DATA 0x41C
/* Inside a report body (B+). */
#define SGX_TESTPKI_B_CPUSVN 0x000
#define SGX_TESTPKI_B_MISCSELECT 0x010
#define SGX_TESTPKI_B_ATTRIBUTES 0x030 /* flags u64 LE, then xfrm u64 LE */
#define SGX_TESTPKI_B_MRENCLAVE 0x040
#define SGX_TESTPKI_B_MRSIGNER 0x080
#define SGX_TESTPKI_B_CONFIGID 0x0C0
#define SGX_TESTPKI_B_ISVPRODID 0x100
#define SGX_TESTPKI_B_ISVSVN 0x102
#define SGX_TESTPKI_B_CONFIGSVN 0x104
#define SGX_TESTPKI_B_REPORTDATA 0x140

/* Defaults (what a zero knob means). */
#define SGX_TESTPKI_COMP_SVN 10 /* all 16 components: the UpToDate level */
#define SGX_TESTPKI_PCESVN 13   /* pcesvn of every TCB level */
#define SGX_TESTPKI_QE_ISVSVN 8 /* the QE identity's UpToDate level */
#define SGX_TESTPKI_TCB_EVAL_NUM 17
#define SGX_TESTPKI_ATTR_FLAGS 0x5 /* INIT | MODE64BIT */
#define SGX_TESTPKI_ATTR_XFRM 0xE7
#define SGX_TESTPKI_DAY 86400

/*
 * TCB info levels, highest first, one per Intel status: all 16 components equal `svn`, pcesvn
 * 13. Advisories: SWHardeningNeeded [INTEL-SA-00615], ConfigurationAndSWHardeningNeeded
 * [INTEL-SA-00289, INTEL-SA-00615], none on the others.
 *
 *   0 UpToDate 10   1 SWHardeningNeeded 9   2 ConfigurationNeeded 8
 *   3 ConfigurationAndSWHardeningNeeded 7   4 OutOfDate 6   5 OutOfDateConfigurationNeeded 5
 *   6 Revoked 4     (components of 3 or less, or pcesvn < 13: below every level)
 *
 * QE identity levels: isvsvn 8 UpToDate, 6 OutOfDate [INTEL-SA-00615], 2 Revoked (isvsvn 0
 * or 1: below every level).
 */
#define SGX_TESTPKI_LEVELS 7
#define SGX_TESTPKI_BELOW_SVN 3
/* Name of level i (0..6), NULL past the end. */
const char *sgx_testpki_level_status(size_t i);
/* Component svn of the level named `status`; "below" gives 3; -1 for an unknown name. */
int sgx_testpki_status_svn(const char *status);

struct sgx_testpki_opts {
    /* Base time, seconds since the epoch; 0 = time(NULL). Certificates are valid from
     * now-30 days to now+365 days; CRLs, TCB info and QE identity from now-1 day to now+29
     * days (before the shifts below). */
    int64_t now;
    /* The PCK CA is "Test SGX PCK Platform CA" (and the leaf carries the Platform-CA-only
     * extensions .6 platform instance ID and .7 configuration, as real ones do) instead of
     * "Test SGX PCK Processor CA". */
    bool pck_ca_platform;

    /* ---- Platform TCB in the PCK leaf's SGX extension ---- */
    /* svn of all 16 components; 0 = 10 (UpToDate). Use sgx_testpki_status_svn() to pick a
     * status (9 SWHardeningNeeded ... 4 Revoked, 3 below every level). */
    int comp_svn;
    /* 1..16 sets component comp_override_index to comp_override_svn (0..255, 0 allowed);
     * 0 = no override. */
    int comp_override_index;
    int comp_override_svn;
    int pcesvn; /* 0 = 13; 12 is below every level. Also the header's pce_svn. */
    /* SGX type (.5 ENUMERATED): 0 Standard (default), 1 Scalable, 2 ScalableWithIntegrity. */
    int sgx_type;
    const uint8_t *fmspc;          /* 6 bytes; NULL = 00906ED50000 */
    const uint8_t *tcb_info_fmspc; /* 6 bytes for the TCB info only (a mismatch); NULL = fmspc */
    bool tcb_info_fmspc_lowercase; /* TCB info fmspc in lower-case hex (still a match) */
    bool pceid_mismatch;           /* TCB info pceId "0001"; the PCK says 0000 */
    const uint8_t *cpu_svn;        /* 16 bytes, quote + PCK; NULL = the component svns */

    /* ---- Revocation ---- */
    bool revoke_pck;        /* the PCK CRL lists the leaf's serial */
    bool revoke_pck_ca;     /* the Root CA CRL lists the PCK CA's serial */
    bool revoke_tcb_signer; /* the Root CA CRL lists the TCB signing certificate's serial */

    /* ---- Validity (seconds added to both ends of a window; negative = expired, positive =
     * not yet valid; e.g. -40 * SGX_TESTPKI_DAY or +2 * SGX_TESTPKI_DAY) ---- */
    int64_t tcb_info_date_shift;    /* issueDate / nextUpdate */
    int64_t qe_identity_date_shift; /* issueDate / nextUpdate */
    int64_t root_crl_date_shift;    /* thisUpdate / nextUpdate of the Root CA CRL */
    int64_t pck_crl_date_shift;     /* thisUpdate / nextUpdate of the PCK CRL */
    int64_t pck_cert_date_shift;    /* notBefore / notAfter of the PCK leaf */
    int tcb_eval_num;               /* tcbEvaluationDataNumber of both documents; 0 = 17 */

    /* ---- Quoting enclave ---- */
    int qe_isvsvn;                   /* QE report ISVSVN and header qe_svn; 0 = 8 (UpToDate) */
    bool qe_identity_mrsigner_wrong; /* QE identity mrsigner differs from the QE report's */
    bool qe_isvprodid_wrong;         /* QE report ISVPRODID 2 (TD QE); the identity says 1 */
    bool qe_attributes_mismatch;     /* QE report has DEBUG set, which the mask keeps */

    /* ---- Corruptions: each breaks one signature or binding, everything else stays valid ---- */
    bool corrupt_qe_report_data;  /* QE REPORTDATA[0] flipped, then signed: binding fails */
    bool corrupt_qe_report_sig;   /* one bit of the QE report signature's s flipped */
    bool corrupt_quote_sig;       /* one bit of the quote signature's s flipped */
    bool corrupt_tcb_info_sig;    /* one bit of tcb_info_signature flipped */
    bool corrupt_qe_identity_sig; /* one bit of qe_identity_signature flipped */
    /* TCB info (QE identity) signed by a "Test SGX TCB Signing" certificate issued by another
     * "Test SGX Root CA" (same name, different key); tcb_info_issuer_chain
     * (qe_identity_issuer_chain) holds that signer and that root. The signature verifies with
     * the given chain; the chain does not reach the trusted root. */
    bool tcb_info_untrusted_signer;
    bool qe_identity_untrusted_signer;

    /* ---- The application enclave's report body ---- */
    bool debug;                 /* ATTRIBUTES.FLAGS bit 1 (DEBUG) set */
    const uint8_t *mr_enclave;  /* 32 bytes; NULL = 32 x 0xE1 */
    const uint8_t *mr_signer;   /* 32 bytes; NULL = 32 x 0x51 */
    const uint8_t *report_data; /* 64 bytes; NULL = zeros */
    const uint8_t *config_id;   /* 64 bytes; NULL = zeros */
    uint16_t isv_prod_id;       /* literal (zero-init = 0) */
    uint16_t isv_svn;
    uint16_t config_svn;

    /* ---- Certification data (type 5 PEM chain) ---- */
    bool chain_root_first; /* root, CA, leaf instead of leaf, CA, root */
    bool no_trailing_nul;  /* no NUL after the last PEM block */
};

struct sgx_testpki {
    int64_t now; /* the base time used */

    uint8_t *quote; /* SGX ECDSA quote v3 */
    size_t quote_len;
    char *bundle_json; /* the nine-member bundle, NUL-terminated */

    /* The pieces of the bundle (NUL-terminated text; CRLs also as objects). */
    char *root_pem;           /* the trust anchor */
    char *pck_chain_pem;      /* the quote's certification data, without the NUL */
    char *pck_crl_issuer_pem; /* PCK CA, root */
    char *tcb_issuer_pem;     /* TCB signer, root (or the untrusted pair) */
    char *qe_id_issuer_pem;   /* likewise for the QE identity */
    char *tcb_info;           /* exact signed text */
    char *qe_identity;        /* exact signed text */
    uint8_t tcb_info_sig[64]; /* r || s, as in the bundle (after any corruption) */
    uint8_t qe_identity_sig[64];
    X509_CRL *root_crl;
    X509_CRL *pck_crl;

    /* The PKI, for tests that sign or check more. */
    X509 *root;
    EVP_PKEY *root_key;
    X509 *pck_ca;
    EVP_PKEY *pck_ca_key;
    X509 *pck_leaf;
    EVP_PKEY *pck_leaf_key;
    X509 *tcb_signer;
    EVP_PKEY *tcb_signer_key;
    EVP_PKEY *attest_key; /* the quote's attestation key */

    uint8_t fmspc[6];        /* in the PCK */
    uint8_t qe_mrsigner[32]; /* in the QE report */
};

/*
 * Build everything for `opts` (NULL = all defaults) into `out` (caller storage, overwritten).
 * Returns 0, or -1 on an OpenSSL/allocation failure or an out-of-range knob (reason on
 * stderr); on failure `out` holds nothing to free. Fresh keys each call.
 */
int sgx_testpki_build(const struct sgx_testpki_opts *opts, struct sgx_testpki *out)
    __attribute__((warn_unused_result));

/* Release everything in `pki` and zero it. Accepts NULL and a zeroed struct. */
void sgx_testpki_free(struct sgx_testpki *pki);

#endif
