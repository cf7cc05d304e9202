/*
 * testpki.h - a test Intel SGX DCAP PKI built in code: a fresh root CA, PCK CA, PCK
 * leaf and TCB signing certificate (all ECDSA P-256), both CRLs, signed TCB info v3 and QE
 * identity v2, and an SGX ECDSA quote v3 whose QE report is signed by the PCK leaf. Everything
 * is valid around a base time of the caller's choice, so tests need no expired Intel samples.
 * With opts.tdx = 4 or 5 the same PKI issues Intel TDX evidence instead: a TDX quote v4 or v5
 * (TEE type 0x81, TD report 1.0 or 1.5, certification data type 6 wrapping type 5), a TDX TCB
 * info (id "TDX": tdxtcbcomponents, tdxModule, tdxModuleIdentities) and a TD_QE identity.
 *
 * Two users share this one builder: `attestctl demo` (src/admin/demo.c), which makes a root on
 * the operator's machine for a demo provider and evidence that verifies under it
 * (docs/internals/demo.md), and the tests (tests/tools/sgx_testpki, the unit tests), which use
 * every knob. It verifies nothing and uses no verifier code: only OpenSSL 3, jansson and the
 * writer in wbuf.h, so a verifier bug cannot hide in the evidence it checks. Input: the
 * caller's knobs, trusted. Layouts follow
 * docs/reference/intel-quotes.md §1 (quote v3), §2 (TDX quotes v4/v5),
 * docs/reference/intel-collateral.md §3.2 (SGX extension, same DER shape as a real PCK), §4
 * (Intel collateral) and the dcap-qvl QuoteCollateralV3 "bundle" JSON of
 * tests/fixtures/dcap/README.md.
 *
 * Every knob of struct att_testpki_opts breaks one verification step (or changes one value);
 * a zero-initialised struct gives a fully valid quote whose platform and QE are UpToDate.
 * Nothing here checks anything: tests/unit/evidence/test_sgx_testpki.c proves with OpenSSL that
 * each knob breaks exactly what it names.
 */
#ifndef ATT_DEMO_TESTPKI_H
#define ATT_DEMO_TESTPKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Quote v3 offsets (docs/reference/intel-quotes.md §1), for tests that read or flip fields. */
#define ATT_TESTPKI_HEADER_LEN 48
#define ATT_TESTPKI_BODY_LEN 384
#define ATT_TESTPKI_SIGNED_LEN 432    /* header || ISV report body */
#define ATT_TESTPKI_OFF_BODY 0x30     /* ISV report body */
#define ATT_TESTPKI_OFF_SIG_LEN 0x1B0 /* u32 signature data length */
#define ATT_TESTPKI_OFF_QUOTE_SIG 0x1B4
#define ATT_TESTPKI_OFF_ATT_KEY 0x1F4
#define ATT_TESTPKI_OFF_QE_REPORT 0x234
#define ATT_TESTPKI_OFF_QE_REPORT_SIG 0x3B4
#define ATT_TESTPKI_OFF_QE_AUTH_LEN 0x3F4
#define ATT_TESTPKI_QE_AUTH_LEN 32
#define ATT_TESTPKI_OFF_CERT_TYPE 0x416 /* with 32 bytes of QE auth data */
#define ATT_TESTPKI_OFF_CERT_LEN 0x418
#define ATT_TESTPKI_OFF_CERT_DATA 0x41C
/* Inside a report body (B+). */
#define ATT_TESTPKI_B_CPUSVN 0x000
#define ATT_TESTPKI_B_MISCSELECT 0x010
#define ATT_TESTPKI_B_ATTRIBUTES 0x030 /* flags u64 LE, then xfrm u64 LE */
#define ATT_TESTPKI_B_MRENCLAVE 0x040
#define ATT_TESTPKI_B_MRSIGNER 0x080
#define ATT_TESTPKI_B_CONFIGID 0x0C0
#define ATT_TESTPKI_B_ISVPRODID 0x100
#define ATT_TESTPKI_B_ISVSVN 0x102
#define ATT_TESTPKI_B_CONFIGSVN 0x104
#define ATT_TESTPKI_B_REPORTDATA 0x140

/* TDX quote v4 (docs/reference/intel-quotes.md §2.2, §2.5): header, TD report 1.0 at Q+0x30,
 * signature data. */
#define ATT_TESTPKI_TD10_BODY_LEN 584
#define ATT_TESTPKI_TD15_BODY_LEN 648
#define ATT_TESTPKI_V4_OFF_BODY 0x030
#define ATT_TESTPKI_V4_SIGNED_LEN 0x278  /* header || TD report 1.0 (632) */
#define ATT_TESTPKI_V4_OFF_SIG_LEN 0x278 /* u32 signature data length */
#define ATT_TESTPKI_V4_OFF_QUOTE_SIG 0x27C
#define ATT_TESTPKI_V4_OFF_ATT_KEY 0x2BC
#define ATT_TESTPKI_V4_OFF_CERT_TYPE 0x2FC /* u16 6: QE report certification data */
#define ATT_TESTPKI_V4_OFF_CERT_LEN 0x2FE  /* u32 M: the rest of the signature data */
#define ATT_TESTPKI_V4_OFF_QE_REPORT 0x302
#define ATT_TESTPKI_V4_OFF_QE_REPORT_SIG 0x482
#define ATT_TESTPKI_V4_OFF_QE_AUTH_LEN 0x4C2
#define ATT_TESTPKI_V4_OFF_PCK_CERT_TYPE 0x4E4 /* u16 5, with 32 bytes of QE auth data */
#define ATT_TESTPKI_V4_OFF_PCK_CERT_LEN 0x4E6
#define ATT_TESTPKI_V4_OFF_PCK_CERT_DATA 0x4EA
/* TDX quote v5 with a TD report 1.5 body (the v5 default): a 6-byte body descriptor after the
 * header and 64 more body bytes move everything after the body by 0x46 from v4. */
#define ATT_TESTPKI_V5_OFF_BODY_TYPE 0x030 /* u16: 1 SGX, 2 TD report 1.0, 3 TD report 1.5 */
#define ATT_TESTPKI_V5_OFF_BODY_SIZE 0x032 /* u32 */
#define ATT_TESTPKI_V5_OFF_BODY 0x036
#define ATT_TESTPKI_V5_SIGNED_LEN 0x2BE /* header || type || size || TD report 1.5 (702) */
#define ATT_TESTPKI_V5_OFF_SIG_LEN 0x2BE
#define ATT_TESTPKI_V5_OFF_QUOTE_SIG 0x2C2
#define ATT_TESTPKI_V5_OFF_ATT_KEY 0x302
#define ATT_TESTPKI_V5_OFF_CERT_TYPE 0x342
#define ATT_TESTPKI_V5_OFF_CERT_LEN 0x344
#define ATT_TESTPKI_V5_OFF_QE_REPORT 0x348
#define ATT_TESTPKI_V5_OFF_QE_REPORT_SIG 0x4C8
#define ATT_TESTPKI_V5_OFF_QE_AUTH_LEN 0x508
#define ATT_TESTPKI_V5_OFF_PCK_CERT_TYPE 0x52A
#define ATT_TESTPKI_V5_OFF_PCK_CERT_LEN 0x52C
#define ATT_TESTPKI_V5_OFF_PCK_CERT_DATA 0x530
#define ATT_TESTPKI_V5_TD10_OFF_SIG_LEN 0x27E /* v5 with a TD report 1.0 body (type 2) */
/* Inside a TD report body (T+, docs/reference/intel-quotes.md §2.2, §2.4). */
#define ATT_TESTPKI_T_TEE_TCB_SVN 0x000
#define ATT_TESTPKI_T_MRSEAM 0x010
#define ATT_TESTPKI_T_MRSIGNERSEAM 0x040
#define ATT_TESTPKI_T_SEAMATTRIBUTES 0x070
#define ATT_TESTPKI_T_TDATTRIBUTES 0x078 /* u64 LE */
#define ATT_TESTPKI_T_XFAM 0x080
#define ATT_TESTPKI_T_MRTD 0x088
#define ATT_TESTPKI_T_MRCONFIGID 0x0B8
#define ATT_TESTPKI_T_MROWNER 0x0E8
#define ATT_TESTPKI_T_MROWNERCONFIG 0x118
#define ATT_TESTPKI_T_RTMR(i) (0x148 + 0x30 * (i)) /* i = 0..3 */
#define ATT_TESTPKI_T_REPORTDATA 0x208
#define ATT_TESTPKI_T_TEE_TCB_SVN2 0x248 /* TD report 1.5 only */
#define ATT_TESTPKI_T_MRSERVICETD 0x258  /* TD report 1.5 only */

/* Defaults (what a zero knob means). */
#define ATT_TESTPKI_COMP_SVN 10 /* all 16 components: the UpToDate level */
#define ATT_TESTPKI_PCESVN 13   /* pcesvn of every TCB level */
#define ATT_TESTPKI_QE_ISVSVN 8 /* the QE identity's UpToDate level */
#define ATT_TESTPKI_TCB_EVAL_NUM 17
#define ATT_TESTPKI_ATTR_FLAGS 0x5 /* INIT | MODE64BIT */
#define ATT_TESTPKI_ATTR_XFRM 0xE7
#define ATT_TESTPKI_DAY 86400
/* TDX defaults: TEE_TCB_SVN = {5, 1, 10, 0...}: module SVN 5 (module identity UpToDate), major
 * version 1 ("TDX_01"), TDX late microcode 10 (the UpToDate TDX level). */
#define ATT_TESTPKI_TDX_MODULE_SVN 5
#define ATT_TESTPKI_TDX_MODULE_MAJOR 1
#define ATT_TESTPKI_TDX_TCB_SVN 10
#define ATT_TESTPKI_TDX_LEVEL_MODULE_SVN 3    /* tdxtcbcomponents[0] of every level */
#define ATT_TESTPKI_TD_ATTRIBUTES 0x10000000u /* SEPT_VE_DISABLE */
#define ATT_TESTPKI_TD_XFAM 0x00000000000602E7u
#define ATT_TESTPKI_TDX_FMSPC "00806F050000" /* the TDX default FMSPC (a real TDX one) */

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
#define ATT_TESTPKI_LEVELS 7
#define ATT_TESTPKI_BELOW_SVN 3
/* Name of level i (0..6), NULL past the end. */
const char *att_testpki_level_status(size_t i);
/* Component svn of the level named `status`; "below" gives 3; -1 for an unknown name. */
int att_testpki_status_svn(const char *status);

/*
 * TDX TCB info (opts.tdx != 0): the same seven levels, dates and advisories, each with the
 * SGX components above (every component `svn`, pcesvn 13, with Intel's category/type strings)
 * and tdxtcbcomponents {3 "TDX Module", 0 "TDX Module", `svn` "TDX Late Microcode Update",
 * 13 x 0}. So TEE_TCB_SVN[2] picks the TDX level with the same numbers as the components pick
 * the SGX one (att_testpki_status_svn: 10 UpToDate ... 4 Revoked, 3 below every level), and the
 * platform status is the lower of the two (docs/reference/dcap-verification.md §5.2). Bytes 0 and 1
 * count only when TEE_TCB_SVN[1] is 0 (module SVN 3 or more passes every level).
 *
 * tdxModule {mrsigner 48 zero bytes, attributes 0000000000000000, attributesMask
 * FFFFFFFFFFFFFFFF}; tdxModuleIdentities "TDX_03" then "TDX_01" (as in Intel's 00806F050000
 * document), same mrsigner/attributes/mask, each with levels by TEE_TCB_SVN[0] (§5.3):
 *
 *   isvsvn 5 UpToDate   3 OutOfDate [INTEL-SA-00960]   2 Revoked   (1 or 0: below every level)
 *
 * TD_QE identity: id "TD_QE", isvprodid 2, the TD QE's mrsigner, the SGX QE identity's
 * miscselect/attributes/masks and isvsvn levels (8 UpToDate, 6 OutOfDate, 2 Revoked).
 */
#define ATT_TESTPKI_MODULE_LEVELS 3
#define ATT_TESTPKI_MODULE_BELOW_SVN 1
/* Module svn (TEE_TCB_SVN[0]) of the module level named `status` (UpToDate 5, OutOfDate 3,
 * Revoked 2); "below" gives 1; -1 for an unknown name. */
int att_testpki_module_status_svn(const char *status);

struct att_testpki_opts {
    /* Base time, seconds since the epoch; 0 = time(NULL). Certificates are valid from
     * now-30 days to now+365 days; CRLs, TCB info and QE identity from now-1 day to now+29
     * days (before the shifts below). */
    int64_t now;
    /* The PCK CA is "Test SGX PCK Platform CA" (and the leaf carries the Platform-CA-only
     * extensions .6 platform instance ID and .7 configuration, as real ones do) instead of
     * "Test SGX PCK Processor CA". */
    bool pck_ca_platform;

    /* ---- Platform TCB in the PCK leaf's SGX extension ---- */
    /* svn of all 16 components; 0 = 10 (UpToDate). Use att_testpki_status_svn() to pick a
     * status (9 SWHardeningNeeded ... 4 Revoked, 3 below every level). */
    int comp_svn;
    /* 1..16 sets component comp_override_index to comp_override_svn (0..255, 0 allowed);
     * 0 = no override. */
    int comp_override_index;
    int comp_override_svn;
    int pcesvn; /* 0 = 13; 12 is below every level. Also the header's pce_svn (SGX only). */
    /* SGX type (.5 ENUMERATED): 0 Standard (default), 1 Scalable, 2 ScalableWithIntegrity. */
    int sgx_type;
    const uint8_t *fmspc;          /* 6 bytes; NULL = 00906ED50000 (TDX: 00806F050000) */
    const uint8_t *tcb_info_fmspc; /* 6 bytes for the TCB info only (a mismatch); NULL = fmspc */
    bool tcb_info_fmspc_lowercase; /* TCB info fmspc in lower-case hex (still a match) */
    bool pceid_mismatch;           /* TCB info pceId "0001"; the PCK says 0000 */
    const uint8_t *cpu_svn;        /* 16 bytes, quote + PCK; NULL = the component svns */

    /* ---- Revocation ---- */
    bool revoke_pck;        /* the PCK CRL lists the leaf's serial */
    bool revoke_pck_ca;     /* the Root CA CRL lists the PCK CA's serial */
    bool revoke_tcb_signer; /* the Root CA CRL lists the TCB signing certificate's serial */

    /* ---- Validity (seconds added to both ends of a window; negative = expired, positive =
     * not yet valid; e.g. -40 * ATT_TESTPKI_DAY or +2 * ATT_TESTPKI_DAY) ---- */
    int64_t tcb_info_date_shift;    /* issueDate / nextUpdate */
    int64_t qe_identity_date_shift; /* issueDate / nextUpdate */
    int64_t root_crl_date_shift;    /* thisUpdate / nextUpdate of the Root CA CRL */
    int64_t pck_crl_date_shift;     /* thisUpdate / nextUpdate of the PCK CRL */
    int64_t pck_cert_date_shift;    /* notBefore / notAfter of the PCK leaf */
    int tcb_eval_num;               /* tcbEvaluationDataNumber of both documents; 0 = 17 */

    /* ---- Quoting enclave ---- */
    /* The same knobs act on the TD QE and its TD_QE identity when tdx is set. */
    int qe_isvsvn; /* QE report ISVSVN (and the v3 header's qe_svn); 0 = 8 (UpToDate) */
    bool qe_identity_mrsigner_wrong; /* QE identity mrsigner differs from the QE report's */
    bool qe_isvprodid_wrong;     /* QE report ISVPRODID of the other QE: 2 (TD QE) in an SGX quote,
                                    1 (SGX QE) in a TDX quote; the identity says 1 (2) */
    bool qe_attributes_mismatch; /* QE report has DEBUG set, which the mask keeps */
    /* The QE identity of the other TEE: the TD_QE identity (isvprodid 2, the TD QE's mrsigner)
     * for an SGX quote, the SGX "QE" identity (isvprodid 1) for a TDX quote. Validly signed. */
    bool qe_identity_other_tee;
    /* The TCB info of the other TEE, for the same FMSPC: the TDX document (id "TDX") for an
     * SGX quote, the SGX document (id "SGX", no TDX members) for a TDX quote. */
    bool tcb_info_other_tee;

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

    /* ---- The application enclave's report body (SGX; a TDX quote uses only debug and
     * report_data of these, and the rest in a v5 body of type 1) ---- */
    bool debug;                 /* ATTRIBUTES.FLAGS bit 1 (DEBUG) set; TDX: TDATTRIBUTES bit 0 */
    const uint8_t *mr_enclave;  /* 32 bytes; NULL = 32 x 0xE1 */
    const uint8_t *mr_signer;   /* 32 bytes; NULL = 32 x 0x51 */
    const uint8_t *report_data; /* 64 bytes; NULL = zeros. TDX: the TD's REPORTDATA */
    const uint8_t *config_id;   /* 64 bytes; NULL = zeros */
    uint16_t isv_prod_id;       /* literal (zero-init = 0) */
    uint16_t isv_svn;
    uint16_t config_svn;

    /* ---- Certification data (type 5 PEM chain; TDX: the type 5 inside type 6) ---- */
    bool chain_root_first; /* root, CA, leaf instead of leaf, CA, root */
    bool no_trailing_nul;  /* no NUL after the last PEM block */

    /* ---- Intel TDX (docs/reference/intel-quotes.md §2, docs/reference/intel-collateral.md §4.2,
     * §4.3, docs/reference/dcap-verification.md §5.2, §5.3, §5.6) ---- */
    /* 0: the SGX quote v3 and SGX collateral above. 4 or 5: a TDX quote of that version (TEE
     * type 0x81, signature data type 6 wrapping type 5), the TDX TCB info and the TD_QE
     * identity; the PKI, CRLs, dates, FMSPC/PCE-ID, QE, corruption and chain knobs act the
     * same. Zero TDX knobs give a valid TD whose platform, module and QE are UpToDate. */
    int tdx;
    /* v5 body type: 0 = 3 (TD report 1.5, 648 bytes); 2 = TD report 1.0 (584 bytes); 1 = an SGX
     * enclave report body (384 bytes, the enclave knobs above) under TEE type 0x81, which a
     * verifier must refuse (TDX must not use body type 1, §2.4). v4: must be 0. */
    int tdx_body_type;
    /* v5: the body size field, and the body written, are those of the other TD report (584
     * bytes for type 3 or 1, 648 for type 2): framing and signature stay consistent, only the
     * "size must fit the type" rule is broken. */
    bool tdx_body_size_mismatch;
    /* TEE_TCB_SVN, byte by byte (§2.2). */
    int tdx_tcb_svn;      /* [2] TDX late microcode: 0 = 10 (the UpToDate TDX level); names via
                             att_testpki_status_svn (9 SWHardeningNeeded ... 4 Revoked, 3 below) */
    int tdx_module_svn;   /* [0] module SVN: 0 = 5 (module UpToDate); names via
                             att_testpki_module_status_svn (3 OutOfDate, 2 Revoked, 1 below) */
    int tdx_module_major; /* [1] module major version: 0 = 1 ("TDX_01"); 3 = "TDX_03"; other
                             values have no identity; -1 = 0 (no major version: tdxModule
                             alone, no module status, bytes 0 and 1 compared with the levels) */
    const uint8_t *tee_tcb_svn;  /* 16 bytes verbatim; NULL = from the three knobs above */
    const uint8_t *tee_tcb_svn2; /* 16 bytes (TD report 1.5); NULL = TEE_TCB_SVN (no relaunch) */
    /* The TDX module (§5 step 7, §5.3). */
    const uint8_t *mr_seam;           /* 48 bytes; NULL = 48 x 0x5E */
    const uint8_t *mr_signer_seam;    /* 48 bytes; NULL = zero (Intel): non-zero mismatches */
    const uint8_t *seam_attributes;   /* 8 bytes; NULL = zero: non-zero is refused */
    bool tdx_module_identity_missing; /* no tdxModuleIdentities entry for TEE_TCB_SVN[1] */
    bool tdx_module_identity_mrsigner_wrong; /* that entry's mrsigner differs (last byte 01) */
    bool tdx_module_mrsigner_wrong;          /* tdxModule.mrsigner differs: a mismatch only when
                                                TEE_TCB_SVN[1] is 0, ignored (valid) otherwise */
    /* The TD (byte strings as they appear in the quote). */
    const uint8_t *td_attributes;   /* 8 bytes; NULL = 0000001000000000 (SEPT_VE_DISABLE);
                                       debug sets bit 0 on top */
    const uint8_t *xfam;            /* 8 bytes; NULL = E702060000000000 */
    const uint8_t *mr_td;           /* 48 bytes; NULL = 48 x 0x7D */
    const uint8_t *mr_config_id;    /* 48 bytes; NULL = zero */
    const uint8_t *mr_owner;        /* 48 bytes; NULL = zero */
    const uint8_t *mr_owner_config; /* 48 bytes; NULL = zero */
    const uint8_t *rtmr[4];         /* 48 bytes each; NULL = 48 x 0xA0 + i */
    const uint8_t *mr_service_td;   /* 48 bytes (TD report 1.5); NULL = zero */
};

/* Where the parts of `quote` are (any version; equal to the ATT_TESTPKI_OFF_*, _V4_ and _V5_
 * values for the default layouts). For a v3 quote cert_* and pck_cert_* are the same field. */
struct att_testpki_offsets {
    size_t body;       /* report body */
    size_t body_len;   /* 384, 584 or 648 (or what tdx_body_* chose) */
    size_t signed_len; /* header (|| v5 body type and size) || body */
    size_t sig_len;    /* u32 signature data length */
    size_t quote_sig;
    size_t att_key;
    size_t cert_type; /* outer certification data type: 5 (v3) or 6 (v4/v5) */
    size_t cert_len;
    size_t qe_report;
    size_t qe_report_sig;
    size_t qe_auth_len;
    size_t pck_cert_type; /* type 5: the PEM chain */
    size_t pck_cert_len;
    size_t pck_cert_data;
};

struct att_testpki {
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

    int quote_version;              /* 3, 4 or 5 */
    struct att_testpki_offsets off; /* the quote's layout */
    uint8_t tee_tcb_svn[16];        /* TDX: the quote's TEE_TCB_SVN (zero for SGX) */
    /* The TCB status a QVL-conformant verifier derives from the levels alone (platform §5.1,
     * §5.2; module §5.3; QE §5.4; TD relaunch §5.6), whatever the other knobs broke:
     * "UpToDate" ... "Revoked", "TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded",
     * "NotSupported" (below every level: platform, module or QE) or "TdxModuleMismatch" (no
     * module identity for the major version). Static text. */
    const char *expected_status;
};

/*
 * Build everything for `opts` (NULL = all defaults) into `out` (caller storage, overwritten).
 * Returns 0, or -1 on an OpenSSL/allocation failure or an out-of-range knob (reason on
 * stderr); on failure `out` holds nothing to free. Fresh keys each call.
 */
int att_testpki_build(const struct att_testpki_opts *opts, struct att_testpki *out)
    __attribute__((warn_unused_result));

/* Release everything in `pki` and zero it. Accepts NULL and a zeroed struct. */
void att_testpki_free(struct att_testpki *pki);

#endif
