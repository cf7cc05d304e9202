/*
 * fuzz_backup.c - libFuzzer target for the backup archive reader (src/backup/archive.c).
 *
 * Input: arbitrary bytes, fully untrusted: a file handed to `attestctl backup verify` or
 * `restore`, altered in storage or transit. The archive is parsed, its signature checked,
 * and it is decrypted with a fixed key (bytes 0x07), so that the seed corpus can hold
 * archives that open (corpus/backup/valid_* were written by tests/unit/backup's archive
 * maker: key 0x07, entries manifest.json and attestd.db). The decrypted payload's entries are
 * then looked up.
 * Oracles beyond the sanitizers: a parsed view lies inside the input and adds up to it; a
 * payload that decrypts has exactly the header's length.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backup/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_backup_view v;
    if (att_backup_parse(data, size, &v) != ATT_OK) {
        return 0;
    }
    if (v.header.len + v.body.len + 2 + v.cert.len + 2 + v.jws.len != size) {
        __builtin_trap();
    }
    char kid[ATT_KID_MAX + 1];
    att_ignore_err(att_backup_check_signature(&v, kid));
    uint8_t raw[32];
    memset(raw, 7, sizeof(raw));
    struct att_backup_key k;
    struct att_buf pt;
    att_buf_init_secret(&pt, ATT_BACKUP_MAX);
    if (att_backup_key_from_bytes(raw, &k) == ATT_OK && att_backup_decrypt(&v, &k, &pt) == ATT_OK) {
        if (pt.len != v.h.payload_len) {
            __builtin_trap();
        }
        struct att_bytes e;
        att_ignore_err(att_backup_entry_find(pt.data, pt.len, "attestd.db", &e));
    }
    att_buf_cleanup(&pt);
    return 0;
}
