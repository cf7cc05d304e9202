/*
 * Unit tests for src/auth/backoff.c: the N+1th attempt is blocked, windows, success, eviction,
 * and the rule for client credentials: source, (source, client) pair, client under attack.
 */
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
    /* Keys are cut to ATT_BACKOFF_KEY_MAX - 1 bytes: a long key is still one key. */
    assert_true(att_backoff_fail(b, longkey, 5001));
    assert_true(att_backoff_blocked(b, longkey, 5001, &retry));
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

static void sockaddr_of(const char *addr, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    in->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, addr, &in->sin_addr), 1);
}

/* A table with N = 3 failures in a 60 s window, blocks of 30 s. */
static struct att_backoff *three_in_a_minute(void)
{
    struct att_backoff_config cfg = {3, 60, 30};
    struct att_backoff *b = NULL;
    EXPECT_OK(att_backoff_new(&cfg, &b));
    return b;
}

static void keys_of(const char *addr, const char *client_id, struct att_backoff_keys *k)
{
    struct sockaddr_storage ss;
    sockaddr_of(addr, &ss);
    att_backoff_keys_init(k, (struct sockaddr *)&ss, client_id);
}

static void test_keys(void **state)
{
    (void)state;
    struct att_backoff_keys k;
    keys_of("192.0.2.7", "0f0e-id", &k);
    assert_string_equal(k.source, "ip:192.0.2.7");
    assert_string_equal(k.pair, "ip:192.0.2.7 client:0f0e-id");
    assert_string_equal(k.client, "client:0f0e-id");
    keys_of("192.0.2.7", NULL, &k);
    assert_string_equal(k.source, "ip:192.0.2.7");
    assert_string_equal(k.pair, "");
    assert_string_equal(k.client, "");
    keys_of("192.0.2.7", "", &k);
    assert_string_equal(k.pair, "");
}

/* Failures naming a client from one source block that pair only, never the client. */
static void test_pair_not_client(void **state)
{
    (void)state;
    struct att_backoff *b = three_in_a_minute();
    struct att_backoff_keys attacker;
    struct att_backoff_keys owner;
    unsigned retry = 0;
    keys_of("192.0.2.66", "victim", &attacker);
    keys_of("198.51.100.1", "victim", &owner);
    assert_false(att_backoff_credential_failed(b, &attacker, 100));
    assert_false(att_backoff_credential_failed(b, &attacker, 100));
    assert_true(att_backoff_credential_failed(b, &attacker, 101)); /* the 3rd blocks the pair */
    assert_true(att_backoff_blocked(b, attacker.pair, 101, &retry));
    assert_int_equal(retry, 30);
    assert_true(att_backoff_blocked(b, attacker.source, 101, &retry)); /* and the source */
    /* The client itself and the owner's address are not blocked. */
    assert_false(att_backoff_blocked(b, attacker.client, 101, &retry));
    assert_false(att_backoff_blocked(b, owner.pair, 101, &retry));
    assert_false(att_backoff_blocked(b, owner.source, 101, &retry));
    att_backoff_free(b);
}

/*
 * While a client has N failures in the window, each other source's first failure blocks its
 * pair: many addresses get one guess each; a source without failures is not blocked.
 */
static void test_client_under_attack(void **state)
{
    (void)state;
    struct att_backoff *b = three_in_a_minute();
    struct att_backoff_keys k;
    unsigned retry = 0;
    char addr[32];
    /* Two sources, 3 failures for the client in all: no pair blocked yet. */
    for (int i = 0; i < 3; i++) {
        keys_of(i % 2 == 0 ? "192.0.2.1" : "192.0.2.2", "victim", &k);
        assert_false(att_backoff_credential_failed(b, &k, 200));
    }
    for (int i = 2; i < 20; i++) {
        snprintf(addr, sizeof(addr), "192.0.2.%d", i); /* .2 has failed before, the rest not */
        keys_of(addr, "victim", &k);
        assert_false(att_backoff_blocked(b, k.pair, 201, &retry));
        assert_true(att_backoff_credential_failed(b, &k, 201)); /* blocked at the first */
        assert_true(att_backoff_blocked(b, k.pair, 201, &retry));
        assert_false(att_backoff_blocked(b, k.source, 201, &retry));
    }
    /* Another client from the same sources: counted on its own. */
    keys_of("192.0.2.5", "other", &k);
    assert_false(att_backoff_credential_failed(b, &k, 201));
    assert_false(att_backoff_blocked(b, k.pair, 201, &retry));
    /* A source that never failed for the victim is not blocked for it. */
    keys_of("198.51.100.1", "victim", &k);
    assert_false(att_backoff_blocked(b, k.pair, 201, &retry));
    /* Once the client's window has passed without failures, N per pair again. */
    keys_of("198.51.100.1", "victim", &k);
    assert_false(att_backoff_credential_failed(b, &k, 261));
    assert_false(att_backoff_blocked(b, k.pair, 261, &retry));
    att_backoff_free(b);
}

/* A success forgets the pair's failures, not the source's; attempts without a client id. */
static void test_success_clears_pair_only(void **state)
{
    (void)state;
    struct att_backoff *b = three_in_a_minute();
    struct att_backoff_keys k;
    struct att_backoff_keys none;
    unsigned retry = 0;
    keys_of("192.0.2.1", "c", &k);
    keys_of("192.0.2.1", NULL, &none);
    assert_false(att_backoff_credential_failed(b, &k, 300));
    assert_false(att_backoff_credential_failed(b, &k, 300));
    att_backoff_success(b, k.pair);
    assert_false(att_backoff_credential_failed(b, &k, 300)); /* pair: 1; source: 3, blocked */
    assert_false(att_backoff_blocked(b, k.pair, 300, &retry));
    assert_true(att_backoff_blocked(b, k.source, 300, &retry));
    /* Without a client id only the source counts. */
    assert_false(att_backoff_credential_failed(b, &none, 400));
    assert_false(att_backoff_blocked(b, none.source, 400, &retry));
    /* Off: nothing counts. */
    att_backoff_free(b);
    struct att_backoff_config off = {0, 60, 30};
    EXPECT_OK(att_backoff_new(&off, &b));
    for (int i = 0; i < 10; i++) {
        assert_false(att_backoff_credential_failed(b, &k, 500));
    }
    assert_false(att_backoff_blocked(b, k.pair, 500, &retry));
    att_backoff_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_after_n),
        cmocka_unit_test(test_window_and_success),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_bounded_table),
        cmocka_unit_test(test_address_keys),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_pair_not_client),
        cmocka_unit_test(test_client_under_attack),
        cmocka_unit_test(test_success_clears_pair_only),
    };
    return cmocka_run_group_tests_name("auth_backoff", tests, NULL, NULL);
}
