/*
 * registry.c - the evidence types attestd serves (evidence.h). Adding a type adds one line here
 * (and one route row in src/api/router.c; docs/internals/new-evidence-type.md).
 */
#include "evidence/evidence.h"

#include <string.h>

#include "evidence/azure/azure.h"
#include "evidence/sgx/sgx.h"
#include "evidence/snp/snp.h"
#include "evidence/tdx/tdx.h"
#include "evidence/tpm/tpm.h"

const struct att_evidence_type *const att_evidence_types[] = {
    &att_evidence_sgx,
    &att_evidence_open_enclave,
    &att_evidence_snp,
    &att_evidence_tdx,
    &att_evidence_tpm_quote,
    &att_evidence_azure_guest,
    NULL,
};

const struct att_evidence_type *att_evidence_find(const char *name)
{
    for (size_t i = 0; name != NULL && att_evidence_types[i] != NULL; i++) {
        const struct att_evidence_type *t = att_evidence_types[i];
        if (strcmp(t->name, name) == 0 || strcmp(t->cli_name, name) == 0) {
            return t;
        }
    }
    return NULL;
}
