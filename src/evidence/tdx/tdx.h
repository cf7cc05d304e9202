/* tdx.h - the TdxVm evidence type (tdx.c), for the registry. */
#ifndef ATT_EVIDENCE_TDX_TDX_H
#define ATT_EVIDENCE_TDX_TDX_H

#include "evidence/evidence.h"

extern const struct att_evidence_type att_evidence_tdx;

#endif
