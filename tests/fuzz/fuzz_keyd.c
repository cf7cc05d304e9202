/*
 * fuzz_keyd.c - libFuzzer target for the key process's wire format (src/keyd/proto.c), read by
 * the key process from a network process that may be hostile, and by the network process
 * from the key process.
 *
 * Input: one message after its length (u32 id | u16 code | body), as att_keyd_recv hands it.
 * The body is read in each shape a request or answer has: SIGN/SEAL/OPEN (str8 | bytes32),
 * UPKEEP (five i64), an answer's bytes32, an UPKEEP answer (u8 | u16 | events).
 * Oracles beyond the sanitizers: a str8 read is NUL-terminated, shorter than its buffer and
 * holds no NUL; a bytes32 lies inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "keyd/keyd.h"
#include "keyd/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str8(struct att_rd *r)
{
    char s[65];
    if (att_keyd_get_str8(r, s, sizeof(s)) == ATT_OK && strlen(s) >= sizeof(s)) {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_buf in;
    uint32_t id;
    uint16_t code;
    struct att_rd body, again;
    att_buf_init(&in, ATT_KEYD_MSG_MAX);
    if (att_buf_put(&in, data, size) != ATT_OK ||
        att_keyd_split(&in, &id, &code, &body) != ATT_OK) {
        att_buf_cleanup(&in);
        return 0;
    }
    again = body; /* SIGN, SEAL, OPEN */
    check_str8(&again);
    struct att_bytes b;
    if (att_keyd_get_bytes32(&again, ATT_KEYD_MSG_MAX, &b) == ATT_OK && b.len > size) {
        __builtin_trap();
    }
    att_ignore_err(att_rd_end(&again));
    again = body; /* UPKEEP */
    for (int i = 0; i < 5; i++) {
        int64_t v;
        if (att_keyd_get_i64(&again, &v) != ATT_OK) {
            break;
        }
    }
    again = body; /* an UPKEEP answer */
    uint8_t changed;
    uint16_t n;
    if (att_rd_u8(&again, &changed) == ATT_OK && att_rd_u16be(&again, &n) == ATT_OK) {
        for (uint16_t i = 0; i < n && i < ATT_KEYD_EVENTS_MAX; i++) {
            uint8_t kind;
            int64_t at;
            if (att_rd_u8(&again, &kind) != ATT_OK) {
                break;
            }
            check_str8(&again);
            check_str8(&again);
            if (att_keyd_get_i64(&again, &at) != ATT_OK) {
                break;
            }
        }
    }
    att_buf_cleanup(&in);
    return 0;
}
