/* Unit tests for src/auth/backoff.c: the N+1th attempt is blocked, windows, success, eviction. */
#include "att_test.h"

#include "auth/backoff.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static void test_block_after_n(void **state)
{
    (void)state;
    struct att_backoff_config cfg = {3, 60, 30};
    struct att_backoff *b = NULL;
    unsigned retry = 0;
    EXPECT_OK(att_backoff_new(&cfg, &b));
    assert_false(att_backoff_fail(b, "ip:1", 1000));
    assert_false(att_backoff_fail(b, "ip:1", 1001));
    assert_false(att_backoff_blocked(b, "ip:1", 1001, &retry));
    assert_true(att_backoff_fail(b, "ip:1", 1002)); /* the 3rd failure starts the block */
    assert_true(att_backoff_blocked(b, "ip:1", 1002, &retry));
    assert_int_equal(retry, 30);
    assert_true(att_backoff_blocked(b, "ip:1", 1031, &retry));
    assert_int_equal(retry, 1);
    assert_false(att_backoff_blocked(b, "ip:1", 1032, &retry));
    assert_false(att_backoff_blocked(b, "ip:2", 1002, &retry)); /* other keys unaffected */
    att_backoff_free(b);
}

static void test_window_and_success(void **state)
{
    (void)state;
    struct att_backoff_config cfg = {3, 10, 30};
    struct att_backoff *b = NULL;
    unsigned retry = 0;
    EXPECT_OK(att_backoff_new(&cfg, &b));
    assert_false(att_backoff_fail(b, "k", 100));
    assert_false(att_backoff_fail(b, "k", 101));
    /* The window ran out: counting starts again. */
    assert_false(att_backoff_fail(b, "k", 111));
    assert_false(att_backoff_fail(b, "k", 112));
    att_backoff_success(b, "k");
    assert_false(att_backoff_fail(b, "k", 113));
    assert_false(att_backoff_fail(b, "k", 114));
    assert_false(att_backoff_blocked(b, "k", 114, &retry));
    att_backoff_free(b);
}

static void test_disabled(void **state)
{
    (void)state;
    struct att_backoff_config cfg = {0, 10, 30};
    struct att_backoff *b = NULL;
    unsigned retry = 0;
    EXPECT_OK(att_backoff_new(&cfg, &b));
    for (int i = 0; i < 100; i++) {
        assert_false(att_backoff_fail(b, "k", 100));
    }
    assert_false(att_backoff_blocked(b, "k", 100, &retry));
    assert_false(att_backoff_blocked(NULL, "k", 100, &retry));
    att_backoff_free(b);
}

/* A flood of distinct keys cannot grow the table, nor push out a blocked key. */
static void test_bounded_table(void **state)
{
    (void)state;
    struct att_backoff_config cfg = {2, 1000, 100000};
    struct att_backoff *b = NULL;
    unsigned retry = 0;
    char key[32];
    EXPECT_OK(att_backoff_new(&cfg, &b));
    assert_false(att_backoff_fail(b, "victim", 1));
    assert_true(att_backoff_fail(b, "victim", 2));
    for (int i = 0; i < ATT_BACKOFF_SLOTS + 10; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_false(att_backoff_fail(b, key, 10 + i));
    }
    assert_true(att_backoff_blocked(b, "victim", 20, &retry)); /* still blocked */
    char longkey[300];
    memset(longkey, 'x', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = 0;
    assert_false(att_backoff_fail(b, longkey, 5000));
    att_backoff_free(b);
}

static void key_of(const char *addr, char out[ATT_BACKOFF_KEY_MAX])
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1);
        in6->sin6_family = AF_INET6;
    }
    att_backoff_addr_key((struct sockaddr *)&ss, out);
}

/* IPv6 peers are counted per /64; IPv4 (also IPv4-mapped) per address. */
static void test_address_keys(void **state)
{
    (void)state;
    char a[ATT_BACKOFF_KEY_MAX];
    char b[ATT_BACKOFF_KEY_MAX];
    key_of("192.0.2.7", a);
    assert_string_equal(a, "ip:192.0.2.7");
    key_of("::ffff:192.0.2.7", b);
    assert_string_equal(b, "ip:192.0.2.7");
    key_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd", a);
    key_of("2001:db8:1:2::1", b);
    assert_string_equal(a, "ip6:2001:db8:1:2::/64");
    assert_string_equal(a, b);
    key_of("2001:db8:1:3::1", b);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_after_n), cmocka_unit_test(test_window_and_success),
        cmocka_unit_test(test_disabled),      cmocka_unit_test(test_bounded_table),
        cmocka_unit_test(test_address_keys),
    };
    return cmocka_run_group_tests_name("auth_backoff", tests, NULL, NULL);
}
