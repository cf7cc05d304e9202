/* snp.h - the SevSnpVm evidence type (snp.c), for the registry. */
#ifndef ATT_EVIDENCE_SNP_SNP_H
#define ATT_EVIDENCE_SNP_SNP_H

#include "evidence/evidence.h"

extern const struct att_evidence_type att_evidence_snp;

#endif
