/*
 * fuzz_amd_ext.c - libFuzzer target for the VCEK / VLEK extension reader
 * (src/evidence/snp/amdcert.c). Input: one byte choosing the extension, then its extnValue
 * octets, fully untrusted. Oracles beyond the sanitizers: a hwID read is 8 or 64 bytes; a
 * product name or cspID read is printable and NUL-terminated within its field.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/snp/amdcert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7E) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_amd_cert_info info;
    char msg[256];
    if (size < 1) {
        return 0;
    }
    struct att_bytes value = {data + 1, size - 1};
    memset(&info, 0, sizeof(info));
    if (att_amd_ext_read((enum att_amd_ext)(data[0] % ATT_AMD_EXT_COUNT), value, &info, msg,
                         sizeof(msg)) != ATT_OK) {
        return 0;
    }
    if (info.hwid_len != 0 && info.hwid_len != 8 && info.hwid_len != 64) {
        abort();
    }
    printable(info.product_name, sizeof(info.product_name));
    printable(info.csp_id, sizeof(info.csp_id));
    return 0;
}
