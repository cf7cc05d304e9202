/*
 * test_alert.c - the alert rules' counters and source subjects (src/alert/count.c). The rules
 * and delivery end to end, with real receivers, are tests/integration/test_alerts.py.
 */
#include "att_test.h"

#include <stdio.h>

#include "alert/alert.h"

#define TABLE 64

/*
 * Attack 15 F3: a burst (24 events for P, 8 at a time) hidden by floods of keys that each stay
 * below the threshold (9 events, threshold 10). A burst with more events than each flood key
 * keeps its count; one with fewer may be pushed out, and then the loss is reported.
 */
static void test_flood_and_burst(void **state)
{
    (void)state;
    static struct att_alert_counter table[TABLE];
    unsigned n = 0;
    bool evicted = false, any_evicted = false;
    char key[64];
    memset(table, 0, sizeof(table));
    for (int g = 0; g < 10; g++) {
        att_alert_count(table, TABLE, "principal P", 120, 0, 1000, &n, &evicted);
        assert_false(evicted);
    }
    for (int k = 0; k < 10 * TABLE; k++) {
        snprintf(key, sizeof(key), "source 10.0.%d.%d", k / 250, k % 250);
        for (int i = 0; i < 9; i++) {
            assert_false(att_alert_count(table, TABLE, key, 120, 10, 1001, &n, &evicted));
            any_evicted = any_evicted || evicted;
        }
    }
    assert_true(any_evicted); /* the flood overflowed the table: the caller alerts on that */
    att_alert_count(table, TABLE, "principal P", 120, 0, 1002, &n, &evicted);
    assert_int_equal(n, 11); /* ten before the flood, and this one: P was never pushed out */

    /* With fewer events than each flood key, P may go - never silently. */
    memset(table, 0, sizeof(table));
    for (int g = 0; g < 8; g++) {
        att_alert_count(table, TABLE, "principal P", 120, 0, 1000, &n, &evicted);
    }
    any_evicted = false;
    for (int k = 0; k < 2 * TABLE; k++) {
        snprintf(key, sizeof(key), "source 10.1.%d.%d", k / 250, k % 250);
        for (int i = 0; i < 9; i++) {
            att_alert_count(table, TABLE, key, 120, 10, 1001, &n, &evicted);
            any_evicted = any_evicted || evicted;
        }
    }
    assert_true(any_evicted);
}

/* A key whose window has passed counts from one again, and is the first to be replaced. */
static void test_windows_and_stale_first(void **state)
{
    (void)state;
    struct att_alert_counter table[2];
    unsigned n = 0;
    bool ev = false;
    memset(table, 0, sizeof(table));
    assert_false(att_alert_count(table, 2, "a", 10, 3, 100, &n, &ev));
    assert_false(att_alert_count(table, 2, "a", 10, 3, 101, &n, &ev));
    assert_true(att_alert_count(table, 2, "a", 10, 3, 102, &n, &ev));
    assert_int_equal(n, 3);
    assert_false(att_alert_count(table, 2, "a", 10, 3, 112, &n, &ev)); /* a new window */
    assert_int_equal(n, 1);
    for (int i = 0; i < 5; i++) {
        att_alert_count(table, 2, "b", 10, 0, 112, &n, &ev); /* limit 0: never reaches */
    }
    assert_int_equal(n, 5);
    /* Full: "c" replaces "a" (one event) rather than "b" (five). */
    att_alert_count(table, 2, "c", 10, 0, 113, &n, &ev);
    att_alert_count(table, 2, "b", 10, 0, 113, &n, &ev);
    assert_int_equal(n, 6);
    /* Once b's window passed, its count is 0 and it goes before c. */
    att_alert_count(table, 2, "d", 10, 0, 123, &n, &ev);
    att_alert_count(table, 2, "c", 10, 0, 123, &n, &ev);
    assert_int_equal(n, 1); /* c's own window passed too: it counts from one */
}

/* Keys of rules with different windows share the table: each is judged by its own window
 * (review: a provider's 300 s count was taken for dead by a source's 60 s call). */
static void test_each_key_its_own_window(void **state)
{
    (void)state;
    struct att_alert_counter table[2];
    unsigned n = 0;
    bool ev = false;
    memset(table, 0, sizeof(table));
    for (int i = 0; i < 4; i++) {
        att_alert_count(table, 2, "provider p", 300, 0, 100, &n, &ev);
    }
    att_alert_count(table, 2, "source a", 60, 0, 100, &n, &ev);
    /* 100 s later a new source: "source a" (its 60 s passed) goes, not the provider. */
    att_alert_count(table, 2, "source b", 60, 0, 200, &n, &ev);
    assert_false(ev);
    att_alert_count(table, 2, "provider p", 300, 0, 200, &n, &ev);
    assert_int_equal(n, 5);
}

/* IPv6 sources are their /64, as for the brute-force backoff (attack 15 F4). */
static void test_source_subjects(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
        {"2001:db8:1:2::1", "2001:db8:1:2::/64"},
        {"::1", "::/64"},
        {"::ffff:192.0.2.7", "192.0.2.7"},
        {"192.0.2.7", "192.0.2.7"},
        {"", ""},
        {"not an address", "not an address"},
    };
    char out[96];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        att_alert_source_subject(cases[i].in, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood_and_burst),
        cmocka_unit_test(test_windows_and_stale_first),
        cmocka_unit_test(test_each_key_its_own_window),
        cmocka_unit_test(test_source_subjects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
