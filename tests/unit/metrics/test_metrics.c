/*
 * test_metrics.c - the metric registry and its text exposition (src/metrics/metrics.h).
 */
#include "att_test.h"

#include "core/buf.h"
#include "metrics/metrics.h"

static char *exposition(struct att_buf *b)
{
    att_buf_reset(b);
    EXPECT_OK(att_metrics_write(b));
    return (char *)b->data;
}

static int setup(void **state)
{
    (void)state;
    att_metrics_reset();
    return 0;
}

static void test_counter_series(void **state)
{
    struct att_buf b;
    (void)state;
    att_buf_init(&b, 1 << 20);
    att_metric_add(ATT_M_HTTP_REQUESTS, "route=\"GetCerts\",status=\"200\"", 2);
    att_metric_add(ATT_M_HTTP_REQUESTS, "route=\"GetCerts\",status=\"200\"", 1);
    att_metric_add(ATT_M_HTTP_REQUESTS, "route=\"GetCerts\",status=\"404\"", 1);
    char *text = exposition(&b);
    assert_non_null(strstr(text, "# TYPE attestd_http_requests_total counter\n"));
    assert_non_null(
        strstr(text, "attestd_http_requests_total{route=\"GetCerts\",status=\"200\"} 3\n"));
    assert_non_null(
        strstr(text, "attestd_http_requests_total{route=\"GetCerts\",status=\"404\"} 1\n"));
    att_buf_cleanup(&b);
}

static void test_histogram_is_cumulative(void **state)
{
    struct att_buf b;
    (void)state;
    att_buf_init(&b, 1 << 20);
    att_metric_observe(ATT_M_AUDIT_COMMIT, "", 0.0003);
    att_metric_observe(ATT_M_AUDIT_COMMIT, "", 0.003);
    att_metric_observe(ATT_M_AUDIT_COMMIT, "", 20); /* above every bound: only +Inf */
    char *text = exposition(&b);
    assert_non_null(
        strstr(text, "attestd_audit_commit_duration_seconds_bucket{le=\"0.0005\"} 1\n"));
    assert_non_null(
        strstr(text, "attestd_audit_commit_duration_seconds_bucket{le=\"0.0025\"} 1\n"));
    assert_non_null(strstr(text, "attestd_audit_commit_duration_seconds_bucket{le=\"0.005\"} 2\n"));
    assert_non_null(strstr(text, "attestd_audit_commit_duration_seconds_bucket{le=\"10\"} 2\n"));
    assert_non_null(strstr(text, "attestd_audit_commit_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(text, "attestd_audit_commit_duration_seconds_count 3\n"));
    assert_non_null(strstr(text, "attestd_audit_commit_duration_seconds_sum 20.003300000\n"));
    att_buf_cleanup(&b);
}

/* More label sets than a family holds: the rest are counted in one overflow series. */
static void test_overflow_series(void **state)
{
    struct att_buf b;
    char labels[64];
    (void)state;
    att_buf_init(&b, 4 << 20);
    for (int i = 0; i < ATT_METRICS_SERIES_MAX + 10; i++) {
        snprintf(labels, sizeof(labels), "kind=\"k%d\"", i);
        att_metric_add(ATT_M_AUTH_FAILURES, labels, 1);
    }
    char long_labels[ATT_METRICS_LABELS_MAX + 8];
    memset(long_labels, 'a', sizeof(long_labels) - 1);
    long_labels[sizeof(long_labels) - 1] = 0;
    att_metric_add(ATT_M_AUTH_FAILURES, long_labels, 1); /* too long: overflow too */
    char *text = exposition(&b);
    assert_non_null(strstr(text, "attestd_authentication_failures_total{overflow=\"true\"} 11\n"));
    assert_non_null(strstr(text, "attestd_authentication_failures_total{kind=\"k0\"} 1\n"));
    assert_null(strstr(text, "kind=\"k265\""));
    att_buf_cleanup(&b);
}

static void test_escape(void **state)
{
    char out[32];
    (void)state;
    att_metric_escape("a\"b\\c\nd", out, sizeof(out));
    assert_string_equal(out, "a\\\"b\\\\c\\nd");
    att_metric_escape(NULL, out, sizeof(out));
    assert_string_equal(out, "");
    /* Cut to fit, never inside an escape or a UTF-8 character. */
    att_metric_escape("abcdef\"", out, 8);
    assert_string_equal(out, "abcdef");
    att_metric_escape("abcd\xc3\xa9xyz", out, 6);
    assert_string_equal(out, "abcd");
}

static void test_gauge_line(void **state)
{
    struct att_buf b;
    (void)state;
    att_buf_init(&b, 4096);
    EXPECT_OK(att_metrics_gauge(&b, "attestd_x", "Help.", "a=\"1\"", -2.5));
    EXPECT_OK(att_metrics_gauge(&b, "attestd_x", NULL, NULL, 3));
    assert_string_equal((char *)b.data, "# HELP attestd_x Help.\n# TYPE attestd_x gauge\n"
                                        "attestd_x{a=\"1\"} -2.5\nattestd_x 3\n");
    att_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_counter_series, setup),
        cmocka_unit_test_setup(test_histogram_is_cumulative, setup),
        cmocka_unit_test_setup(test_overflow_series, setup),
        cmocka_unit_test_setup(test_escape, setup),
        cmocka_unit_test_setup(test_gauge_line, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
