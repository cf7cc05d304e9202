/*
 * ids.c - random identifiers from a per-thread CSPRNG pool (ids.h).
 */
#include "crypto/ids.h"

#include <openssl/rand.h>
#include <string.h>

struct pool {
    uint8_t bytes[ATT_IDS_POOL];
    size_t used; /* bytes handed out; the pool starts empty */
};

static _Thread_local struct pool pool = {.used = ATT_IDS_POOL};

static const char hex_digits[] = "0123456789abcdef";

att_err att_id_random(uint8_t *out, size_t n)
{
    ATT_ENSURE(n <= ATT_IDS_MAX, ATT_ERR_ARG);
    if (ATT_IDS_POOL - pool.used < n) {
        ATT_ENSURE(RAND_bytes(pool.bytes, sizeof(pool.bytes)) == 1, ATT_ERR_CRYPTO);
        pool.used = 0;
    }
    memcpy(out, pool.bytes + pool.used, n);
    pool.used += n;
    return ATT_OK;
}

static void put_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[b[i] >> 4];
        out[2 * i + 1] = hex_digits[b[i] & 15];
    }
}

att_err att_id_uuid4(char out[37])
{
    uint8_t b[16];
    char h[32];
    ATT_TRY(att_id_random(b, sizeof(b)));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* RFC 9562 §5.4: version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10 */
    put_hex(b, sizeof(b), h);
    /* 8-4-4-4-12 */
    memcpy(out, h, 8);
    out[8] = '-';
    memcpy(out + 9, h + 8, 4);
    out[13] = '-';
    memcpy(out + 14, h + 12, 4);
    out[18] = '-';
    memcpy(out + 19, h + 16, 4);
    out[23] = '-';
    memcpy(out + 24, h + 20, 12);
    out[36] = 0;
    return ATT_OK;
}

att_err att_id_hex(size_t n, char *out, size_t out_len)
{
    uint8_t b[ATT_IDS_MAX];
    ATT_ENSURE(n <= ATT_IDS_MAX && out_len > 2 * n, ATT_ERR_ARG);
    ATT_TRY(att_id_random(b, n));
    put_hex(b, n, out);
    out[2 * n] = 0;
    return ATT_OK;
}
