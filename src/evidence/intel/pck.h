/*
 * pck.h - the SGX extension of Intel PCK certificates (OID 1.2.840.113741.1.13.1,
 * docs/reference/intel-collateral.md §3.2): the platform's TCB components, PCE SVN, PCE-ID and
 * FMSPC.
 */
#ifndef ATT_EVIDENCE_INTEL_PCK_H
#define ATT_EVIDENCE_INTEL_PCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "core/err.h"

struct att_pck_info {
    uint8_t ppid[16];
    uint8_t comp_svn[16]; /* sgxtcbcomp01svn .. sgxtcbcomp16svn */
    uint16_t pcesvn;
    uint8_t cpusvn[16];
    uint8_t pceid[2];
    uint8_t fmspc[6];
    unsigned sgx_type; /* 0 Standard, 1 Scalable, 2 ScalableWithIntegrity */
};

/*
 * Decode the SGX extension of `leaf`. The required entries (.1 PPID, .2 TCB with all 18
 * members, .3 PCE-ID, .4 FMSPC, .5 SGX type; QVL PCK_REQUIRED_SGX_EXTENSIONS) must each appear
 * exactly once; optional ones (.6, .7) are skipped. Errors: ATT_ERR_PCK_EXTENSION with `msg`
 * naming what is missing or malformed.
 */
att_err att_pck_info_from_cert(X509 *leaf, struct att_pck_info *out, char *msg,
                               size_t msg_len) ATT_WUR;

/* The same from the DER of the extension value (for tests and fuzzing). */
att_err att_pck_info_parse(const uint8_t *der, size_t len, struct att_pck_info *out, char *msg,
                           size_t msg_len) ATT_WUR;

#endif
