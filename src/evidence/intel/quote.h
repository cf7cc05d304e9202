/*
 * quote.h - Intel DCAP ECDSA quotes: SGX version 3 and TDX versions 4 and 5 (TD report bodies
 * 1.0 and 1.5), which share the header and signature-data framing, and Open Enclave remote
 * reports.
 *
 * Parsing only: nothing here verifies a signature or trusts a field. Byte layouts are
 * docs/reference/intel-quotes.md §1 (v3), §2 (v4/v5) and §1.5 (Open Enclave header). All input is
 * read through the bounded reader; every length is the declared one, and bytes after the
 * declared end are accepted only when they are all zero (docs/reference/intel-quotes.md §8.2).
 *
 * Views (struct att_bytes) borrow the input buffer: keep it alive while the quote is used.
 */
#ifndef ATT_EVIDENCE_INTEL_QUOTE_H
#define ATT_EVIDENCE_INTEL_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rd.h"

#define ATT_QUOTE_HEADER_LEN 48
#define ATT_SGX_REPORT_BODY_LEN 384
#define ATT_TD_REPORT10_LEN 584
#define ATT_TD_REPORT15_LEN 648
#define ATT_QUOTE_MAX_LEN                                                                          \
    (64 * 1024) /* real quotes are 4.5-6 KiB (docs/reference/maa-policy.md §5) */
#define ATT_QUOTE_ECDSA_P256 2
#define ATT_QUOTE_TEE_SGX 0x00000000u
#define ATT_QUOTE_TEE_TDX 0x00000081u

/* ATTRIBUTES.FLAGS bits (SGX SDK sgx_attributes.h) */
#define ATT_SGX_FLAGS_DEBUG ((uint64_t)1 << 1)

/* TDATTRIBUTES bits (TDX module ABI; docs/reference/intel-quotes.md §2.3) */
#define ATT_TD_ATTR_DEBUG ((uint64_t)1 << 0)
#define ATT_TD_ATTR_TUD_MASK ((uint64_t)0xFF) /* any of these: the TD is not trustworthy */
#define ATT_TD_ATTR_SEPT_VE_DISABLE ((uint64_t)1 << 28)
#define ATT_TD_ATTR_PKS ((uint64_t)1 << 30)
#define ATT_TD_ATTR_KL ((uint64_t)1 << 31)
#define ATT_TD_ATTR_PERFMON ((uint64_t)1 << 63)

/* What follows the header (v5: the body type field; v3/v4: implied by version and TEE type) */
enum att_quote_body_type {
    ATT_QUOTE_BODY_SGX = 1,  /* SGX report body, 384 bytes */
    ATT_QUOTE_BODY_TD10 = 2, /* TD report 1.0, 584 bytes */
    ATT_QUOTE_BODY_TD15 = 3, /* TD report 1.5, 648 bytes */
};

/* Certification data types (docs/reference/intel-quotes.md §1.4) */
#define ATT_CERT_TYPE_PCK_CHAIN 5
#define ATT_CERT_TYPE_QE_REPORT 6

/* The TEE a quote is parsed for (the evidence type names it: SgxEnclave, TdxVm). */
enum att_intel_tee { ATT_INTEL_TEE_SGX, ATT_INTEL_TEE_TDX };

/* Intel's QE vendor id, 939A7233-F79C-4CA9-940A-0DB3957F0607 */
extern const uint8_t att_intel_qe_vendor_id[16];

struct att_quote_header {
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;
    uint16_t qe_svn;  /* v3 only (zero in TDX quotes) */
    uint16_t pce_svn; /* v3 only */
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
};

/* The SGX report body (docs/reference/intel-quotes.md §1.2): the enclave's report and the QE
 * report. */
struct att_sgx_report_body {
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t isvextprodid[16];
    uint8_t attributes[16]; /* raw: FLAGS u64 LE || XFRM u64 LE */
    uint64_t flags;
    uint64_t xfrm;
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint8_t configid[64];
    uint16_t isvprodid;
    uint16_t isvsvn;
    uint16_t configsvn;
    uint8_t isvfamilyid[16];
    uint8_t reportdata[64];
    struct att_bytes raw; /* the 384 bytes (the QE report's signed bytes) */
};

/* A TD report body (docs/reference/intel-quotes.md §2.2, §2.4): 1.0, or 1.5 with the last two
 * fields. */
struct att_td_report {
    uint8_t tee_tcb_svn[16]; /* [0] module SVN, [1] module major version, [2] late microcode */
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8]; /* raw; the bits as a u64 LE in td_attributes_bits */
    uint64_t td_attributes_bits;
    uint8_t xfam[8];
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t reportdata[64];
    uint8_t tee_tcb_svn2[16]; /* 1.5 only (zero in 1.0) */
    uint8_t mrservicetd[48];  /* 1.5 only (zero in 1.0) */
};

/* Signature data after the report body (docs/reference/intel-quotes.md §1.3, §2.5). */
struct att_quote_signature {
    uint8_t quote_sig[64];  /* r || s, big-endian */
    uint8_t attest_key[64]; /* x || y, big-endian */
    struct att_sgx_report_body qe_report;
    uint8_t qe_report_sig[64];
    struct att_bytes qe_auth_data;
    uint16_t cert_type;       /* of the PCK certification data: always 5 once parsed */
    struct att_bytes pck_pem; /* the PEM chain, one trailing NUL removed */
};

struct att_intel_quote {
    struct att_quote_header header;
    enum att_quote_body_type body_type;
    struct att_sgx_report_body body; /* ATT_QUOTE_BODY_SGX */
    struct att_td_report td;         /* ATT_QUOTE_BODY_TD10, ATT_QUOTE_BODY_TD15 */
    struct att_quote_signature sig;
    struct att_bytes signed_part; /* header (|| v5 body type and size) || body: what the quote
                                     signature covers */
    struct att_bytes bytes;       /* the declared quote, padding excluded */
    size_t padding; /* zero bytes after the declared end (docs/reference/intel-quotes.md §8.2) */
};

/*
 * Parse a quote of `tee`: SGX (version 3; the certification data is type 5, the PCK chain) or
 * TDX (version 4 or 5 with TEE type 0x81; type 6 wrapping type 5; v5 bodies of type 2 or 3).
 * Errors: ATT_ERR_TOO_LARGE (over ATT_QUOTE_MAX_LEN), ATT_ERR_TRUNCATED (a declared length runs
 * past the input), ATT_ERR_QUOTE_VERSION (also a version of the other TEE), ATT_ERR_QUOTE_KEY_TYPE,
 * ATT_ERR_QUOTE_TEE_TYPE, ATT_ERR_QUOTE_QE_VENDOR, ATT_ERR_QUOTE_BODY_TYPE (a v5 body type or
 * size that does not fit), ATT_ERR_QUOTE_CERT_TYPE, ATT_ERR_TRAILING (signature data longer
 * than its parts), ATT_ERR_QUOTE_PADDING (non-zero bytes after the declared end). `msg` names
 * the field and offset, e.g. "signature data length 4800 runs past the quote (4600 bytes)".
 */
att_err att_intel_quote_parse(const uint8_t *p, size_t len, enum att_intel_tee tee,
                              struct att_intel_quote *out, char *msg, size_t msg_len) ATT_WUR;

/*
 * Pieces of the framing, for tests: the 48-byte header, an SGX report body, and the signature
 * data of a version (v3: QE part then type 5; v4/v5: type 6 wrapping the QE part and type 5;
 * docs/reference/intel-quotes.md §1.3, §2.5). `r` is positioned at the start of the respective
 * structure.
 */
att_err att_quote_header_parse(struct att_rd *r, struct att_quote_header *out, char *msg,
                               size_t msg_len) ATT_WUR;
att_err att_sgx_report_body_parse(struct att_rd *r, struct att_sgx_report_body *out) ATT_WUR;
att_err att_quote_signature_parse(struct att_rd *r, uint16_t version,
                                  struct att_quote_signature *out, char *msg,
                                  size_t msg_len) ATT_WUR;

/*
 * An Open Enclave remote report: the 16-byte oe_report_header_t (version 1, report type 2,
 * report size u64 = the rest) then an SGX quote. On success *quote is the quote's bytes.
 * Errors: ATT_ERR_TRUNCATED, ATT_ERR_OE_HEADER (version, type or size wrong).
 */
att_err att_oe_report_unwrap(const uint8_t *p, size_t len, struct att_bytes *quote, char *msg,
                             size_t msg_len) ATT_WUR;

#endif
