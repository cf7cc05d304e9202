/*
 * report.h - AMD SEV-SNP ATTESTATION_REPORT, versions 2 to 5 (docs/reference/amd-sev-snp.md
 * §6.1-§6.4; AMD's SEV-SNP Firmware ABI Specification, pub. 56860, "ATTESTATION_REPORT
 * Structure" and "TCB_VERSION Structure").
 *
 * Parsing only: nothing here verifies the signature, a certificate or a TCB. All input goes
 * through the bounded reader; the report is exactly 1184 bytes. Integers are little-endian.
 */
#ifndef ATT_EVIDENCE_SNP_REPORT_H
#define ATT_EVIDENCE_SNP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rd.h"

#define ATT_SNP_REPORT_LEN 1184
#define ATT_SNP_SIGNED_LEN 0x2A0 /* bytes 0x000-0x29F carry the signature */
#define ATT_SNP_SIG_ALGO_ECDSA_P384_SHA384 1

/* POLICY bits (§6.2) */
#define ATT_SNP_POLICY_SMT ((uint64_t)1 << 16)
#define ATT_SNP_POLICY_RESERVED_1 ((uint64_t)1 << 17) /* must be 1 */
#define ATT_SNP_POLICY_MIGRATE_MA ((uint64_t)1 << 18)
#define ATT_SNP_POLICY_DEBUG ((uint64_t)1 << 19)
#define ATT_SNP_POLICY_SINGLE_SOCKET ((uint64_t)1 << 20)

/* Who signed the report: key info bits 4:2 (§6.1). */
enum att_snp_signing_key { ATT_SNP_KEY_VCEK = 0, ATT_SNP_KEY_VLEK = 1, ATT_SNP_KEY_NONE = 7 };

/* TCB_VERSION decoded (§6.4): the layout depends on the product, never on the bytes. */
struct att_snp_tcb {
    uint64_t raw;
    uint8_t fmc; /* Turin only */
    uint8_t bootloader;
    uint8_t tee;
    uint8_t snp;
    uint8_t microcode;
};

/* The product a report comes from, as its CPUID fields say (v3 on; v2: unknown). */
enum att_snp_product { ATT_SNP_UNKNOWN, ATT_SNP_MILAN, ATT_SNP_GENOA, ATT_SNP_TURIN };

struct att_snp_report {
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t vmpl;
    uint32_t sig_algo;
    uint64_t current_tcb;
    uint64_t platform_info;
    bool author_key_en;
    bool mask_chip_key;
    enum att_snp_signing_key signing_key;
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    uint64_t reported_tcb;
    uint8_t cpuid_fam, cpuid_mod, cpuid_step; /* v3 on; zero in v2 */
    enum att_snp_product product;
    uint8_t chip_id[64];
    uint64_t committed_tcb;
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_tcb;
    uint64_t launch_mit_vector, current_mit_vector; /* v5 only; zero before */
    uint8_t sig_r[48], sig_s[48];                   /* big-endian P-384 scalars */
    struct att_bytes signed_part;                   /* bytes 0x000-0x29F */
};

/*
 * Parse a report of exactly ATT_SNP_REPORT_LEN bytes. Errors: ATT_ERR_TRUNCATED (shorter),
 * ATT_ERR_TRAILING (longer), ATT_ERR_SNP_REPORT_VERSION (not 2-5), ATT_ERR_SNP_SIG_ALGO (not
 * ECDSA P-384), ATT_ERR_SNP_VMPL (not 0-3), ATT_ERR_SNP_REPORT_FIELD (a reserved bit set where the
 * ABI fixes it: key info bits 31:5, a reserved signing key, POLICY bit 17 clear),
 * ATT_ERR_SNP_SIGNATURE_FORMAT (R or S not zero-extended from 48 bytes, or the rest of the
 * signature area not zero). `msg` names the field.
 */
att_err att_snp_report_parse(const uint8_t *p, size_t len, struct att_snp_report *out, char *msg,
                             size_t msg_len) ATT_WUR;

/* TCB_VERSION in the layout of `product` (Turin's, else Milan's and Genoa's). */
struct att_snp_tcb att_snp_tcb_decode(uint64_t raw, enum att_snp_product product);

#endif
