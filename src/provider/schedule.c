/*
 * schedule.c - a provider's key schedule (see schedule.h).
 *
 * Input: times from our own store and configuration (bounded there: lifetimes up to 10 years,
 * leeway up to a day), so the sums below stay far from INT64_MAX.
 */
#include "provider/schedule.h"

size_t att_key_signing_index(const struct att_key_times *keys, size_t n, int64_t now)
{
    size_t at = 0;
    for (size_t i = 1; i < n; i++) {
        if (keys[i].activate_at <= now) {
            at = i;
        }
    }
    return at;
}

size_t att_key_published_index(const struct att_key_times *keys, size_t n, int64_t now)
{
    size_t at = 0;
    for (size_t i = 1; i < n; i++) {
        if (keys[i].activate_at <= now && keys[i].created_at + ATT_KEY_CHECK_INTERVAL <= now) {
            at = i;
        }
    }
    return at;
}

void att_key_phases(const struct att_key_times *keys, size_t n, int64_t now, int64_t leeway,
                    struct att_key_phase *out)
{
    size_t signing = att_key_signing_index(keys, n, now);
    for (size_t i = 0; i < n; i++) {
        out[i].stop_at = 0;
        out[i].destroy_at = 0;
        if (i == signing) {
            out[i].state = ATT_KEY_SIGNING;
        } else if (i > signing) {
            out[i].state = ATT_KEY_WAITING;
        } else {
            out[i].state = ATT_KEY_RETIRED;
            out[i].stop_at = keys[i + 1].activate_at;
            int64_t last =
                keys[i].used_until > out[i].stop_at ? keys[i].used_until : out[i].stop_at;
            out[i].destroy_at = last + keys[i].token_lifetime + leeway;
        }
    }
}

bool att_key_rotation_due(const struct att_key_times *keys, size_t n, int64_t now, int64_t period,
                          int64_t lead)
{
    if (period <= 0 || n == 0) {
        return false;
    }
    size_t signing = att_key_signing_index(keys, n, now);
    if (signing + 1 < n) {
        return false; /* the next key is already waiting */
    }
    return keys[signing].activate_at + period - lead <= now;
}
