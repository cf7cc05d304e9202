/* Fuzz target: base64, base64url and hex decoders (src/core/codec.c), with re-encode checks. */
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A decoded value must re-encode to exactly the input (the decoders accept one spelling only). */
static void round_trip(att_err (*dec)(const char *, size_t, struct att_buf *),
                       att_err (*enc)(const void *, size_t, struct att_buf *), const uint8_t *data,
                       size_t size, bool exact_case)
{
    struct att_buf out;
    struct att_buf again;
    att_buf_init(&out, 1 << 20);
    att_buf_init(&again, 1 << 21);
    if (dec((const char *)data, size, &out) == ATT_OK) {
        if (enc(out.data, out.len, &again) != ATT_OK || again.len != size ||
            (exact_case && size > 0 && memcmp(again.data, data, size) != 0)) {
            abort();
        }
    }
    att_buf_cleanup(&out);
    att_buf_cleanup(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    round_trip(att_b64url_decode, att_b64url_encode, data, size, true);
    round_trip(att_b64_decode, att_b64_encode, data, size, true);
    round_trip(att_hex_decode, att_hex_encode, data, size, false); /* hex accepts upper case */
    return 0;
}
