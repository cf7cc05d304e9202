/*
 * Fuzz target: parsing and opening sealed record blobs (src/seal/seal.c).
 *
 * Input: an untrusted blob, as read from a tampered database. A fixed DEK,
 * table and record id are used, so the seed corpus can hold blobs that open:
 * corpus/seal_open/valid_* were made with att_seal(fixed DEK,
 * "00112233445566778899aabbccddeeff", "fuzz", "record-1", ...); version_2 is
 * valid_short with the version byte set to 2; truncated_header stops in the id.
 * Invariants: no crash or leak; a blob that opens also names a DEK id; and
 * whatever opens re-seals and opens again to the same plaintext.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "seal/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* DEK bytes i * 3 + 1, i = 0..31 (the corpus generator uses the same). */
static void fixed_dek(uint8_t dek[ATT_DEK_LEN])
{
    for (size_t i = 0; i < ATT_DEK_LEN; i++) {
        dek[i] = (uint8_t)(i * 3 + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t dek[ATT_DEK_LEN];
    char id[ATT_DEK_ID_LEN + 1];
    struct att_buf pt, again, pt2;

    fixed_dek(dek);
    att_buf_init_secret(&pt, 1 << 20);
    att_buf_init(&again, 1 << 21);
    att_buf_init_secret(&pt2, 1 << 20);
    att_err id_rc = att_seal_dek_id(data, size, id);
    if (att_open(dek, "fuzz", "record-1", data, size, &pt) == ATT_OK) {
        if (id_rc != ATT_OK) {
            abort();
        }
        if (att_seal(dek, id, "fuzz", "record-1", pt.data, pt.len, &again) != ATT_OK ||
            att_open(dek, "fuzz", "record-1", again.data, again.len, &pt2) != ATT_OK ||
            pt2.len != pt.len || (pt.len > 0 && memcmp(pt.data, pt2.data, pt.len) != 0)) {
            abort();
        }
    }
    att_buf_cleanup(&pt);
    att_buf_cleanup(&again);
    att_buf_cleanup(&pt2);
    return 0;
}
