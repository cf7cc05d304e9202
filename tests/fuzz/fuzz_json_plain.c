/*
 * fuzz_json_plain.c - libFuzzer target for the plain-JSON fast path (src/core/json_plain.c),
 * differential against jansson.
 *
 * Input: arbitrary bytes. Oracle beyond the sanitizers: whenever the fast path accepts, jansson
 * (json_loadb with JSON_REJECT_DUPLICATES, as the API uses it) accepts too and the two values
 * are equal; the fast path may decline anything (then jansson decides alone).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/json_plain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *fast = NULL;
    if (att_json_plain_load(data, size, &fast) != ATT_OK) {
        return 0;
    }
    json_error_t err;
    json_t *slow = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    if (slow == NULL || !json_equal(fast, slow)) {
        abort();
    }
    json_decref(slow);
    json_decref(fast);
    return 0;
}
