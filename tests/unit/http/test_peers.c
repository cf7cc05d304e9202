/* Unit tests for src/http/peers.c: per-source counts, IPv6 /64 sources, the cap, deletion. */
#include "att_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "http/peers.h"

static struct sockaddr_storage addr(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
        in6->sin6_family = AF_INET6;
    }
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static void test_cap_per_source(void **state)
{
    (void)state;
    struct att_peers *t = NULL;
    EXPECT_OK(att_peers_new(16, &t));
    struct sockaddr_storage a = addr("127.0.0.1");
    struct sockaddr_storage b = addr("127.0.0.2");
    struct sockaddr_storage mapped = addr("::ffff:127.0.0.1");
    for (int i = 0; i < 3; i++) {
        assert_true(att_peers_acquire(t, SA(a), 4));
    }
    assert_true(att_peers_acquire(t, SA(mapped), 4)); /* the same source as 127.0.0.1 */
    assert_false(att_peers_acquire(t, SA(a), 4));
    assert_false(att_peers_acquire(t, SA(mapped), 4));
    assert_true(att_peers_acquire(t, SA(b), 4)); /* another source is not affected */
    att_peers_release(t, SA(a));
    assert_true(att_peers_acquire(t, SA(a), 4));
    assert_true(att_peers_acquire(t, SA(a), 0)); /* cap 0: none */
    att_peers_free(t);
}

static void test_ipv6_slash_64(void **state)
{
    (void)state;
    struct att_peers *t = NULL;
    EXPECT_OK(att_peers_new(16, &t));
    struct sockaddr_storage a1 = addr("2001:db8:1:2::1");
    struct sockaddr_storage a2 = addr("2001:db8:1:2:ffff:ffff:ffff:ffff");
    struct sockaddr_storage other = addr("2001:db8:1:3::1");
    assert_true(att_peers_acquire(t, SA(a1), 2));
    assert_true(att_peers_acquire(t, SA(a2), 2));
    assert_false(att_peers_acquire(t, SA(a1), 2)); /* one /64: rotating addresses does not help */
    assert_true(att_peers_acquire(t, SA(other), 2));
    att_peers_free(t);
}

/* Many sources come and go: backward-shift deletion keeps every count findable. */
static void test_churn(void **state)
{
    (void)state;
    struct att_peers *t = NULL;
    EXPECT_OK(att_peers_new(64, &t));
    struct sockaddr_storage s[64];
    char text[32];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 64; i++) {
            snprintf(text, sizeof(text), "10.%d.%d.1", round, i);
            s[i] = addr(text);
            assert_true(att_peers_acquire(t, SA(s[i]), 2));
            assert_true(att_peers_acquire(t, SA(s[i]), 2));
        }
        for (int i = 0; i < 64; i++) {
            assert_false(att_peers_acquire(t, SA(s[i]), 2));
        }
        for (int i = 0; i < 64; i += 2) { /* release in an order unrelated to the probes */
            att_peers_release(t, SA(s[i]));
            att_peers_release(t, SA(s[i]));
        }
        for (int i = 1; i < 64; i += 2) {
            assert_false(att_peers_acquire(t, SA(s[i]), 2));
            att_peers_release(t, SA(s[i]));
            att_peers_release(t, SA(s[i]));
        }
    }
    /* all gone: a source starts from zero again */
    assert_true(att_peers_acquire(t, SA(s[0]), 1));
    assert_false(att_peers_acquire(t, SA(s[0]), 1));
    att_peers_free(t);
}

/* More distinct sources than the table was made for are refused, never looped over. */
static void test_full_table(void **state)
{
    (void)state;
    struct att_peers *t = NULL;
    EXPECT_OK(att_peers_new(4, &t)); /* 16 slots, at most 8 sources */
    char text[32];
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(text, sizeof(text), "192.0.2.%d", i);
        struct sockaddr_storage a = addr(text);
        ok += att_peers_acquire(t, SA(a), 1) ? 1 : 0;
    }
    assert_int_equal(ok, 8);
    att_peers_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_per_source),
        cmocka_unit_test(test_ipv6_slash_64),
        cmocka_unit_test(test_churn),
        cmocka_unit_test(test_full_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
