/* sgx.h - the SgxEnclave and OpenEnclave evidence types (sgx.c), for the registry. */
#ifndef ATT_EVIDENCE_SGX_SGX_H
#define ATT_EVIDENCE_SGX_SGX_H

#include "evidence/evidence.h"

extern const struct att_evidence_type att_evidence_sgx;
extern const struct att_evidence_type att_evidence_open_enclave;

#endif
