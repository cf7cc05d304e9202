/*
 * hcl.h - Azure confidential VMs' HCL report (docs/reference/azure-cvm.md "HCL report"): the
 * paravisor's record in vTPM NV index 0x01400001 of the hardware report (SEV-SNP report or TDX
 * TDREPORT), and the runtime data whose hash that report carries: the vTPM's keys (HCLAkPub signs
 * the vTPM's quotes) and the VM's configuration.
 *
 * Binding chain: hardware report (verified by the SNP or TDX verifier) -> report data[0:n] =
 * H(runtime data bytes as stored) -> HCLAkPub -> vTPM quote -> PCRs -> event log.
 */
#ifndef ATT_EVIDENCE_AZURE_HCL_H
#define ATT_EVIDENCE_AZURE_HCL_H

#include <jansson.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/rd.h"

#define ATT_HCL_REPORT_AREA 1184 /* the hardware report area: the largest report */
#define ATT_HCL_TDREPORT_LEN 1024
#define ATT_HCL_MAX_RUNTIME ((size_t)64 << 10)

enum att_hcl_tee {
    ATT_HCL_SNP = 2, /* IGVM report type 2: an SEV-SNP ATTESTATION_REPORT */
    ATT_HCL_TDX = 4, /* 4: a TDX TDREPORT (its quote comes from the host, not from the HCL) */
};

struct att_hcl_report {
    uint32_t version;
    enum att_hcl_tee tee;
    struct att_bytes hardware; /* SNP: the 1184-byte report; TDX: the 1024-byte TDREPORT */
    uint32_t hash_type;        /* 1 SHA-256, 2 SHA-384, 3 SHA-512 */
    struct att_bytes runtime;  /* the runtime data (JSON) bytes as stored */
};

/* ATT_ERR_HCL_FORMAT names the field and offset. Views borrow `in`. */
att_err att_hcl_report_parse(struct att_bytes in, struct att_hcl_report *out, char *msg,
                             size_t msg_len) ATT_WUR;

/* H(runtime) with `hash_type` fills report_data's first bytes, the rest are zero.
 * ATT_ERR_HCL_BINDING, ATT_ERR_HCL_FORMAT (an unknown hash type). */
att_err att_hcl_check_binding(uint32_t hash_type, struct att_bytes runtime,
                              const uint8_t report_data[64], char *msg, size_t msg_len) ATT_WUR;

/* The runtime data as JSON (*json, a new reference) and its HCLAkPub key (*ak, new).
 * ATT_ERR_HCL_FORMAT (not a JSON object), ATT_ERR_HCL_AK (no RSA key of kid HCLAkPub). */
att_err att_hcl_runtime(struct att_bytes runtime, json_t **json, EVP_PKEY **ak, char *msg,
                        size_t msg_len) ATT_WUR;

#endif
