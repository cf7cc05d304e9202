/*
 * certtable.c - parse the certificate table of an extended SEV-SNP report (certtable.h;
 * docs/reference/amd-sev-snp.md §6.3).
 */
#include "evidence/snp/certtable.h"

#include <string.h>

#define ENTRY_LEN 24

static const struct {
    uint8_t guid[16];
    const char *name;
} known[] = {
    /* 63da758d-e664-4564-adc5-f4b93be8accd */
    {{0x63, 0xDA, 0x75, 0x8D, 0xE6, 0x64, 0x45, 0x64, 0xAD, 0xC5, 0xF4, 0xB9, 0x3B, 0xE8, 0xAC,
      0xCD},
     "VCEK"},
    /* a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
    {{0xA8, 0x07, 0x4B, 0xC2, 0xA2, 0x5A, 0x48, 0x3E, 0xAA, 0xE6, 0x39, 0xC0, 0x45, 0xA0, 0xB8,
      0xA1},
     "VLEK"},
    /* 4ab7b379-bbac-4fe4-a02f-05aef327c782 */
    {{0x4A, 0xB7, 0xB3, 0x79, 0xBB, 0xAC, 0x4F, 0xE4, 0xA0, 0x2F, 0x05, 0xAE, 0xF3, 0x27, 0xC7,
      0x82},
     "ASK"},
    /* c0b406a4-a803-4952-9743-3fb6014cd0ae */
    {{0xC0, 0xB4, 0x06, 0xA4, 0xA8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3F, 0xB6, 0x01, 0x4C, 0xD0,
      0xAE},
     "ARK"},
};

static struct att_bytes *slot(struct att_snp_cert_table *t, size_t i)
{
    struct att_bytes *slots[] = {&t->vcek, &t->vlek, &t->ask, &t->ark};
    return slots[i];
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

att_err att_snp_cert_table_parse(const uint8_t *p, size_t len, struct att_snp_cert_table *out,
                                 char *msg, size_t msg_len)
{
    struct att_snp_cert_table t;
    struct att_rd r;
    uint32_t offsets[4] = {0, 0, 0, 0};
    memset(&t, 0, sizeof(t));
    if (len > ATT_SNP_CERT_TABLE_MAX) {
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len,
                         "SEV-SNP certificate table of %zu bytes is over %d", len,
                         ATT_SNP_CERT_TABLE_MAX);
    }
    att_rd_init(&r, p, len);
    for (size_t n = 0;; n++) {
        uint8_t guid[16];
        uint32_t off = 0;
        uint32_t size = 0;
        if (n > ATT_SNP_CERT_TABLE_MAX_ENTRIES || att_rd_copy(&r, guid, 16) != ATT_OK ||
            att_rd_u32le(&r, &off) != ATT_OK || att_rd_u32le(&r, &size) != ATT_OK) {
            return att_failf(ATT_ERR_SNP_CERT_TABLE, msg, msg_len,
                             "SEV-SNP certificate table has no terminating entry within %d "
                             "entries",
                             ATT_SNP_CERT_TABLE_MAX_ENTRIES);
        }
        if (all_zero(guid, 16)) {
            if (off != 0 || size != 0) {
                return att_failf(ATT_ERR_SNP_CERT_TABLE, msg, msg_len,
                                 "SEV-SNP certificate table entry %zu has a zero GUID but an "
                                 "offset or length",
                                 n + 1);
            }
            break;
        }
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
            if (memcmp(guid, known[k].guid, 16) != 0) {
                continue;
            }
            struct att_rd at;
            struct att_bytes *dst = slot(&t, k);
            att_rd_init(&at, p, len);
            /* Certificates follow the entries (whose count is not known yet: the terminator
             * ends them, so it is checked once the loop is done). */
            if (dst->len != 0 || size == 0 || att_rd_skip(&at, off) != ATT_OK ||
                att_rd_bytes(&at, size, dst) != ATT_OK) {
                return att_failf(ATT_ERR_SNP_CERT_TABLE, msg, msg_len,
                                 "SEV-SNP certificate table entry %zu (%s) is repeated, empty or "
                                 "outside the table",
                                 n + 1, known[k].name);
            }
            offsets[k] = off;
        }
    }
    /* No certificate may overlap the entries, terminator included. */
    size_t entries_end = att_rd_offset(&r);
    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
        if (slot(&t, k)->len != 0 && offsets[k] < entries_end) {
            return att_failf(ATT_ERR_SNP_CERT_TABLE, msg, msg_len,
                             "SEV-SNP certificate table's %s overlaps its entries", known[k].name);
        }
    }
    *out = t;
    return ATT_OK;
}
