/*
 * Unit tests for src/core/log_summary.c: first event admitted, repeats counted and reported
 * once per interval, idle keys forgotten, a full table counted as "other keys", threads.
 */
#include "att_test.h"

#include <jansson.h>
#include <pthread.h>

#include "core/log.h"
#include "core/log_summary.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    att_test_mkdtemp("logsum", dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/log", dir);
    EXPECT_OK(att_log_open(path, ATT_LOG_DEBUG));
    att_log_summary_set_interval(10);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    att_log_summary_flush_all(0); /* the table is per process: leave it empty */
    att_log_close();
    att_test_rmdir(dir);
    return 0;
}

/* The log lines written so far, parsed; empties the file. */
static json_t *take_lines(void)
{
    json_t *lines = json_array();
    FILE *f = fopen(path, "r");
    char line[1024];
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        assert_non_null(o);
        json_array_append_new(lines, o);
    }
    fclose(f);
    assert_int_equal(truncate(path, 0), 0);
    return lines;
}

static const char *str_of(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

static json_int_t int_of(const json_t *o, const char *name)
{
    return json_integer_value(json_object_get(o, name));
}

/* One key: first admitted, the rest counted; one line per ended interval. */
static void test_first_admitted_then_counted(void **state)
{
    (void)state;
    assert_true(att_log_summary_admit(ATT_LOG_WARN, "token request", "k1", 1000));
    for (int i = 0; i < 99; i++) {
        assert_false(att_log_summary_admit(ATT_LOG_WARN, "token request", "k1", 1000 + i / 20));
    }
    att_log_summary_flush(1009); /* the interval (10 s) has not ended */
    json_t *lines = take_lines();
    assert_int_equal(json_array_size(lines), 0);
    json_decref(lines);

    att_log_summary_flush(1010);
    lines = take_lines();
    assert_int_equal(json_array_size(lines), 1);
    const json_t *l = json_array_get(lines, 0);
    assert_string_equal(str_of(l, "msg"), "token request");
    assert_string_equal(str_of(l, "level"), "warn");
    assert_string_equal(str_of(l, "repeat_key"), "k1");
    assert_int_equal(int_of(l, "repeats"), 99);
    assert_int_equal(int_of(l, "seconds"), 10);
    json_decref(lines);

    /* Still repeating: counted into the next interval, reported at its end. */
    assert_false(att_log_summary_admit(ATT_LOG_WARN, "token request", "k1", 1015));
    att_log_summary_flush(1020);
    lines = take_lines();
    assert_int_equal(json_array_size(lines), 1);
    assert_int_equal(int_of(json_array_get(lines, 0), "repeats"), 1);
    json_decref(lines);

    /* A quiet interval forgets the key: its next event is a first one again. */
    att_log_summary_flush(1030);
    lines = take_lines();
    assert_int_equal(json_array_size(lines), 0);
    json_decref(lines);
    assert_true(att_log_summary_admit(ATT_LOG_WARN, "token request", "k1", 1031));
}

/* Without a flush, the next event after the interval reports the count itself. */
static void test_lazy_report(void **state)
{
    (void)state;
    assert_true(att_log_summary_admit(ATT_LOG_INFO, "m", "k", 50));
    assert_false(att_log_summary_admit(ATT_LOG_INFO, "m", "k", 51));
    assert_false(att_log_summary_admit(ATT_LOG_INFO, "m", "k", 52));
    assert_false(att_log_summary_admit(ATT_LOG_INFO, "m", "k", 70)); /* reports 2, counts 1 */
    json_t *lines = take_lines();
    assert_int_equal(json_array_size(lines), 1);
    assert_int_equal(int_of(json_array_get(lines, 0), "repeats"), 2);
    assert_int_equal(int_of(json_array_get(lines, 0), "seconds"), 20);
    assert_string_equal(str_of(json_array_get(lines, 0), "level"), "info");
    json_decref(lines);
    /* Idle after a first event only: forgotten without a line. */
    assert_true(att_log_summary_admit(ATT_LOG_INFO, "m", "other", 50));
    assert_true(att_log_summary_admit(ATT_LOG_INFO, "m", "other", 60));
    lines = take_lines();
    assert_int_equal(json_array_size(lines), 0);
    json_decref(lines);
}

/* Keys are independent; long keys are cut, not refused. */
static void test_keys_independent(void **state)
{
    (void)state;
    char longkey[400];
    memset(longkey, 'x', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = 0;
    assert_true(att_log_summary_admit(ATT_LOG_WARN, "m", "a", 1));
    assert_true(att_log_summary_admit(ATT_LOG_WARN, "m", "b", 1));
    assert_false(att_log_summary_admit(ATT_LOG_WARN, "m", "a", 1));
    assert_true(att_log_summary_admit(ATT_LOG_WARN, "m", longkey, 1));
    longkey[300] = 'y'; /* beyond the cut: the same key */
    assert_false(att_log_summary_admit(ATT_LOG_WARN, "m", longkey, 1));
    att_log_summary_flush_all(2);
    json_t *lines = take_lines();
    assert_int_equal(json_array_size(lines), 2); /* "a" and the long key; "b" had no repeats */
    assert_int_equal(strlen(str_of(json_array_get(lines, 1), "repeat_key")),
                     ATT_LOG_SUMMARY_KEY_MAX - 1);
    json_decref(lines);
}

/* A flush at `now` writes exactly one line: the count of `of` events of keys without room. */
static void expect_other_keys_line(int64_t now, const char *of, json_int_t repeats)
{
    att_log_summary_flush(now);
    json_t *lines = take_lines();
    assert_int_equal(json_array_size(lines), 1);
    const json_t *l = json_array_get(lines, 0);
    assert_string_equal(str_of(l, "msg"), "repeated events of other keys");
    assert_string_equal(str_of(l, "of"), of);
    assert_int_equal(int_of(l, "repeats"), repeats);
    assert_null(json_object_get(l, "repeat_key"));
    json_decref(lines);
}

/*
 * A flood of distinct keys: the table holds its maximum, the budget of full lines for keys it
 * cannot hold is spent, the rest is one "other" count.
 */
static void test_full_table(void **state)
{
    (void)state;
    char key[32];
    size_t admitted = 0;
    for (int i = 0; i < ATT_LOG_SUMMARY_KEYS + 500; i++) {
        snprintf(key, sizeof(key), "ip:%d", i);
        admitted += att_log_summary_admit(ATT_LOG_WARN, "m", key, 100) ? 1 : 0;
    }
    assert_int_equal(admitted, ATT_LOG_SUMMARY_KEYS + ATT_LOG_SUMMARY_UNTRACKED_BURST);
    expect_other_keys_line(110, "m", 500 - ATT_LOG_SUMMARY_UNTRACKED_BURST);
    /* The flush freed the idle keys: new keys are admitted again. */
    assert_true(att_log_summary_admit(ATT_LOG_WARN, "m", "new", 111));
}

/* A full table of keys nobody flushed makes room by itself once their intervals end. */
static void test_full_table_without_flush(void **state)
{
    (void)state;
    char key[32];
    for (int i = 0; i < ATT_LOG_SUMMARY_KEYS; i++) {
        snprintf(key, sizeof(key), "ip:%d", i);
        assert_true(att_log_summary_admit(ATT_LOG_WARN, "m", key, 100));
    }
    for (int i = 0; i < ATT_LOG_SUMMARY_UNTRACKED_BURST; i++) {
        snprintf(key, sizeof(key), "late:%d", i);
        assert_true(att_log_summary_admit(ATT_LOG_WARN, "m", key, 105)); /* the budget */
    }
    assert_false(att_log_summary_admit(ATT_LOG_WARN, "m", "late", 105));
    /* The intervals have ended: the new key has a slot, so its repeat is only counted. */
    assert_true(att_log_summary_admit(ATT_LOG_WARN, "m", "later", 200));
    assert_false(att_log_summary_admit(ATT_LOG_WARN, "m", "later", 201));
}

/* Fill the table with keys of `msg` at `now`. */
static void fill(const char *msg, int64_t now)
{
    char key[32];
    for (int i = 0; i < ATT_LOG_SUMMARY_KEYS; i++) {
        snprintf(key, sizeof(key), "ip:%d", i);
        assert_true(att_log_summary_admit(ATT_LOG_WARN, msg, key, now));
    }
}

/*
 * F14: a table filled by a flood of one kind of event (refused connections) does not hide
 * the first event of another kind: its budget of full lines is its own.
 */
static void test_full_table_keeps_other_kinds(void **state)
{
    (void)state;
    char key[32];
    fill("connection refused", 100);
    for (int i = 0; i < 1000; i++) { /* the flood spends its own budget */
        snprintf(key, sizeof(key), "ip:x%d", i);
        (void)att_log_summary_admit(ATT_LOG_WARN, "connection refused", key, 100);
    }
    assert_true(att_log_summary_admit(ATT_LOG_WARN, "token request", "token refused g", 100));
    assert_true(att_log_summary_admit(ATT_LOG_WARN, "token request", "token throttled g", 100));
    /* The flood stays counted. */
    assert_false(att_log_summary_admit(ATT_LOG_WARN, "connection refused", "ip:y", 100));
    expect_other_keys_line(110, "connection refused", 1001 - ATT_LOG_SUMMARY_UNTRACKED_BURST);
}

/* The budget refills at ATT_LOG_SUMMARY_UNTRACKED_RATE lines a second, up to the burst. */
static void test_untracked_budget_refills(void **state)
{
    (void)state;
    char key[32];
    att_log_summary_set_interval(1000); /* the table's keys stay for the whole test */
    fill("m", 100);
    int admitted = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "new:%d", i);
        admitted += att_log_summary_admit(ATT_LOG_WARN, "m", key, 100) ? 1 : 0;
    }
    assert_int_equal(admitted, ATT_LOG_SUMMARY_UNTRACKED_BURST);
    /* Five seconds later (the table's keys still in their interval): five more. */
    admitted = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "later:%d", i);
        admitted += att_log_summary_admit(ATT_LOG_WARN, "m", key, 105) ? 1 : 0;
    }
    assert_int_equal(admitted, 5 * ATT_LOG_SUMMARY_UNTRACKED_RATE);
    /* Long idle: full again, never more than the burst. */
    admitted = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "much-later:%d", i);
        admitted += att_log_summary_admit(ATT_LOG_WARN, "m", key, 500) ? 1 : 0;
    }
    assert_int_equal(admitted, ATT_LOG_SUMMARY_UNTRACKED_BURST);
}

struct worker {
    int admitted;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 1000; i++) {
        w->admitted += att_log_summary_admit(ATT_LOG_WARN, "m", "shared", 5000) ? 1 : 0;
    }
    return NULL;
}

/* Threads: exactly one event admitted, every other one counted. */
static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    struct worker w[4];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(w[0].admitted + w[1].admitted + w[2].admitted + w[3].admitted, 1);
    att_log_summary_flush_all(5001);
    json_t *lines = take_lines();
    assert_int_equal(json_array_size(lines), 1);
    assert_int_equal(int_of(json_array_get(lines, 0), "repeats"), 3999);
    json_decref(lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_admitted_then_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_table_without_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_table_keeps_other_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untracked_budget_refills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests_name("core_log_summary", tests, NULL, NULL);
}
