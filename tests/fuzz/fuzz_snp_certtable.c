/*
 * fuzz_snp_certtable.c - libFuzzer target for the certificate table of an extended SEV-SNP
 * report (src/evidence/snp/certtable.c). Input: arbitrary bytes, fully untrusted. Oracle beyond
 * the sanitizers: every certificate found lies inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "evidence/snp/certtable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(struct att_bytes b, const uint8_t *data, size_t size)
{
    if (b.len != 0 && (b.ptr < data || b.len > size || b.ptr > data + (size - b.len))) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_snp_cert_table t;
    char msg[256];
    if (att_snp_cert_table_parse(data, size, &t, msg, sizeof(msg)) != ATT_OK) {
        return 0;
    }
    inside(t.vcek, data, size);
    inside(t.vlek, data, size);
    inside(t.ask, data, size);
    inside(t.ark, data, size);
    return 0;
}
