/*
 * inspect.h - an Intel quote's fields as JSON, parsed only (attestctl inspect sgx|oe|tdx):
 * header, report body (SGX or TD), signature data, the PCK leaf's SGX extension and the
 * claims the fields would give. Nothing is verified; the output says so.
 */
#ifndef ATT_EVIDENCE_INTEL_INSPECT_H
#define ATT_EVIDENCE_INTEL_INSPECT_H

#include <jansson.h>

#include "core/err.h"
#include "core/rd.h"
#include "evidence/intel/quote.h"

/* Errors: att_intel_quote_parse's. *out is a new object. */
att_err att_intel_inspect(struct att_bytes quote, enum att_intel_tee tee, json_t **out, char *msg,
                          size_t msg_len) ATT_WUR;

#endif
