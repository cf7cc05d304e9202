/*
 * timeutil.h - wall-clock and monotonic time.
 *
 * Verifiers never call these: time is an input to them. Only the server,
 * the CLI and the token builder read the clock.
 */
#ifndef ATT_CORE_TIMEUTIL_H
#define ATT_CORE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Seconds since the Unix epoch. */
int64_t att_time_now(void);
/* Milliseconds from a monotonic clock, for durations. */
int64_t att_time_mono_ms(void);
/*
 * The deadline of the request the calling thread works on (att_time_mono_ms time; 0 = none).
 * The HTTP job pool sets it around each request, so that work far down the call chain that
 * may wait (an upstream fetch) ends in time without every layer passing it along.
 */
void att_deadline_set(int64_t mono_ms);
int64_t att_deadline_get(void);
/*
 * `want_ms` capped by what is left of this thread's deadline (at least 1 ms while any is
 * left); 0 when the deadline has passed; `want_ms` when there is none.
 */
int64_t att_deadline_cap_ms(int64_t want_ms);

/* Format `t` as RFC 3339 UTC ("2026-11-28T03:32:55Z") into out (>= 21 bytes). */
void att_time_format(int64_t t, char *out, size_t n);
/*
 * Parse RFC 3339 UTC date-time text (exactly the n bytes of s, no NUL needed):
 * "YYYY-MM-DDTHH:MM:SSZ", optionally with 1-9 fractional digits before the "Z"
 * (dropped: the result is whole seconds). Upper-case "T" and "Z" only, no offsets,
 * no leap second, the day must exist in its month. Pure: reads no clock.
 * Errors: ATT_ERR_PARSE. *out is written only on success.
 */
att_err att_time_parse_rfc3339(const char *s, size_t n, int64_t *out) ATT_WUR;

#endif
