/*
 * timeutil.c - clocks. Only servers and tools call these; verifiers take time as input.
 */
#include "core/timeutil.h"

#include <stdio.h>
#include <time.h>

#include "core/rd.h"

int64_t att_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t att_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void att_time_format(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (n == 0) {
        return;
    }
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        out[0] = 0;
    }
}

/* Exactly `digits` decimal digits from r, as a number. */
static att_err read_digits(struct att_rd *r, size_t digits, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < digits; i++) {
        uint8_t c = 0;
        ATT_TRY(att_rd_u8(r, &c));
        ATT_ENSURE(c >= '0' && c <= '9', ATT_ERR_PARSE);
        v = v * 10 + (c - '0');
    }
    *out = v;
    return ATT_OK;
}

static att_err expect_char(struct att_rd *r, uint8_t want)
{
    uint8_t c = 0;
    ATT_TRY(att_rd_u8(r, &c));
    ATT_ENSURE(c == want, ATT_ERR_PARSE);
    return ATT_OK;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil), so no timegm() and no TZ environment is involved. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

att_err att_time_parse_rfc3339(const char *s, size_t n, int64_t *out)
{
    static const int64_t mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct att_rd r;
    int64_t y, mo, d, h, mi, sec;
    uint8_t c = 0;

    ATT_ENSURE(out != NULL && (s != NULL || n == 0), ATT_ERR_ARG);
    att_rd_init(&r, s, n);
    /* RFC 3339 §5.6: full-date "T" partial-time time-offset, here with time-offset "Z". */
    ATT_ENSURE(read_digits(&r, 4, &y) == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(expect_char(&r, '-') == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(read_digits(&r, 2, &mo) == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(expect_char(&r, '-') == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(read_digits(&r, 2, &d) == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(expect_char(&r, 'T') == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(read_digits(&r, 2, &h) == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(expect_char(&r, ':') == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(read_digits(&r, 2, &mi) == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(expect_char(&r, ':') == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(read_digits(&r, 2, &sec) == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(att_rd_u8(&r, &c) == ATT_OK, ATT_ERR_PARSE);
    if (c == '.') {
        /* time-secfrac = "." 1*DIGIT; more than nanoseconds is not a real clock. */
        size_t digits = 0;
        for (;;) {
            ATT_ENSURE(att_rd_u8(&r, &c) == ATT_OK, ATT_ERR_PARSE);
            if (c < '0' || c > '9') {
                break;
            }
            digits++;
        }
        ATT_ENSURE(digits >= 1 && digits <= 9, ATT_ERR_PARSE);
    }
    ATT_ENSURE(c == 'Z', ATT_ERR_PARSE);
    ATT_ENSURE(att_rd_end(&r) == ATT_OK, ATT_ERR_PARSE);

    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    ATT_ENSURE(mo >= 1 && mo <= 12, ATT_ERR_PARSE);
    ATT_ENSURE(d >= 1 && d <= mdays[mo - 1] + (mo == 2 && leap ? 1 : 0), ATT_ERR_PARSE);
    ATT_ENSURE(h <= 23 && mi <= 59 && sec <= 59, ATT_ERR_PARSE);
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    return ATT_OK;
}

static _Thread_local int64_t thread_deadline;

void att_deadline_set(int64_t mono_ms)
{
    thread_deadline = mono_ms;
}

int64_t att_deadline_get(void)
{
    return thread_deadline;
}

int64_t att_deadline_cap_ms(int64_t want_ms)
{
    if (thread_deadline == 0) {
        return want_ms;
    }
    int64_t left = thread_deadline - att_time_mono_ms();
    if (left <= 0) {
        return 0;
    }
    return left < want_ms ? left : want_ms;
}
