/*
 * fuzz_keyd.c - libFuzzer target for the key process's wire format (src/keyd/proto.c), read by
 * the key process from a network process that may be hostile, and by the network process
 * from the key process.
 *
 * Input: the bytes of the stream (u32 length | u32 id | u16 code | body, repeated), sent through
 * a socket pair and read back with the reader, as the key process and the pipeline thread read
 * them (inputs over 60 KiB are cut: the socket would not take them in one write).
 * Each message's body is read in each shape a request or answer has: SIGN/SEAL/OPEN (str8 |
 * bytes32), eight-byte integers (as UPKEEP took before it took no body), an answer's bytes32, an
 * UPKEEP answer (u8 | u16 | events). Oracles beyond the sanitizers: a message lies inside the
 * input; a str8 read is NUL-terminated, shorter than its buffer and holds no NUL; a bytes32 lies
 * inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "keyd/keyd.h"
#include "keyd/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX ((size_t)60 << 10)

static void check_str8(struct att_rd *r)
{
    char s[65];
    if (att_keyd_get_str8(r, s, sizeof(s)) == ATT_OK && strlen(s) >= sizeof(s)) {
        __builtin_trap();
    }
}

/* The shapes of one message's body. */
static void read_message(struct att_bytes msg, size_t size)
{
    uint32_t id;
    uint16_t code;
    struct att_rd body, again;
    if (msg.len > size || att_keyd_split(msg, &id, &code, &body) != ATT_OK) {
        if (msg.len > size) {
            __builtin_trap();
        }
        return;
    }
    again = body; /* SIGN, SEAL, OPEN */
    check_str8(&again);
    struct att_bytes b;
    if (att_keyd_get_bytes32(&again, ATT_KEYD_MSG_MAX, &b) == ATT_OK && b.len > size) {
        __builtin_trap();
    }
    att_ignore_err(att_rd_end(&again));
    again = body; /* i64s */
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
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (size > INPUT_MAX || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        return 0;
    }
    if (size > 0 && send(sv[0], data, size, 0) != (ssize_t)size) {
        __builtin_trap();
    }
    close(sv[0]); /* the reader sees the end after the input */
    struct att_keyd_reader in;
    struct att_bytes msg;
    att_keyd_reader_init(&in);
    while (att_keyd_reader_next(&in, sv[1], &msg) == ATT_OK) {
        read_message(msg, size);
    }
    att_keyd_reader_cleanup(&in);
    close(sv[1]);
    return 0;
}
