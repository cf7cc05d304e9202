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
    struct att_backoff_config cfg = {3, 60, 30, 0};
    struct att_backoff *b = NULL;
    unsigned retry = 0;
    EXPECT_OK(att_backoff_new(&cfg, &b));
    assert_int_equal(att_backoff_fail(b, "ip:1", 1000, &retry), ATT_BACKOFF_COUNTED);
    assert_int_equal(att_backoff_fail(b, "ip:1", 1001, &retry), ATT_BACKOFF_COUNTED);
    assert_false(att_backoff_source_blocked(b, "ip:1", 1001, &retry));
    /* The 3rd failure starts the block. */
    assert_int_equal(att_backoff_fail(b, "ip:1", 1002, &retry), ATT_BACKOFF_BLOCKED);
    assert_true(att_backoff_source_blocked(b, "ip:1", 1002, &retry));
    assert_int_equal(retry, 30);
    assert_true(att_backoff_source_blocked(b, "ip:1", 1031, &retry));
    assert_int_equal(retry, 1);
    assert_false(att_backoff_source_blocked(b, "ip:1", 1032, &retry));
    assert_false(att_backoff_source_blocked(b, "ip:2", 1002, &retry)); /* other keys unaffected */
    att_backoff_free(b);
}

static void keys_of(const char *addr, const char *client_id, struct att_backoff_keys *k);

static void test_window_and_success(void **state)
{
    (void)state;
    struct att_backoff_config cfg = {4, 10, 30, 0};
    struct att_backoff *b = NULL;
    struct att_backoff_keys k;
    unsigned retry = 0;
    EXPECT_OK(att_backoff_new(&cfg, &b));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(att_backoff_fail(b, "ip:1", 100, &retry), ATT_BACKOFF_COUNTED);
    }
    /* The window ran out: counting starts again. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(att_backoff_fail(b, "ip:1", 110, &retry), ATT_BACKOFF_COUNTED);
    }
    assert_int_equal(att_backoff_fail(b, "ip:1", 111, &retry), ATT_BACKOFF_BLOCKED);
    /* A success forgets the pair's failures: two, then two more, and it is not blocked. */
    keys_of("192.0.2.1", "c", &k);
    assert_int_equal(att_backoff_credential_failed(b, &k, 200, &retry), ATT_BACKOFF_COUNTED);
    assert_int_equal(att_backoff_credential_failed(b, &k, 200, &retry), ATT_BACKOFF_COUNTED);
    att_backoff_success(b, k.pair);
    assert_int_equal(att_backoff_credential_failed(b, &k, 201, &retry), ATT_BACKOFF_COUNTED);
    assert_int_equal(att_backoff_credential_failed(b, &k, 201, &retry), ATT_BACKOFF_COUNTED);
    assert_false(att_backoff_pair_blocked(b, k.pair, 201, &retry));
    /* Without the success, the fourth failure blocks the pair. */
    keys_of("192.0.2.2", "d", &k);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(att_backoff_credential_failed(b, &k, 300, &retry), ATT_BACKOFF_COUNTED);
    }
    assert_int_equal(att_backoff_credential_failed(b, &k, 300, &retry), ATT_BACKOFF_BLOCKED);
    att_backoff_free(b);
}

static void test_disabled(void **state)
{
    (void)state;
    struct att_backoff_config cfg = {0, 10, 30, 0};
    struct att_backoff *b = NULL;
    unsigned retry = 0;
    EXPECT_OK(att_backoff_new(&cfg, &b));
    for (int i = 0; i < 100; i++) {
        assert_int_equal(att_backoff_fail(b, "k", 100, &retry), ATT_BACKOFF_COUNTED);
    }
    assert_false(att_backoff_source_blocked(b, "k", 100, &retry));
    assert_false(att_backoff_source_blocked(NULL, "k", 100, &retry));
    att_backoff_free(b);
}

/* A flood of distinct keys cannot grow the table, nor push out a blocked key. */
static void test_bounded_table(void **state)
{
    (void)state;
    struct att_backoff_config cfg = {2, 1000, 100000, 0};
    struct att_backoff *b = NULL;
    unsigned retry = 0;
    char key[32];
    EXPECT_OK(att_backoff_new(&cfg, &b));
    assert_int_equal(att_backoff_fail(b, "victim", 1, &retry), ATT_BACKOFF_COUNTED);
    assert_int_equal(att_backoff_fail(b, "victim", 2, &retry), ATT_BACKOFF_BLOCKED);
    for (int i = 0; i < ATT_BACKOFF_SLOTS + 10; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(att_backoff_fail(b, key, 10 + i, &retry), ATT_BACKOFF_COUNTED);
    }
    assert_true(att_backoff_source_blocked(b, "victim", 20, &retry)); /* still blocked */
    char longkey[300];
    memset(longkey, 'x', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = 0;
    assert_int_equal(att_backoff_fail(b, longkey, 5000, &retry), ATT_BACKOFF_COUNTED);
    /* Keys are cut to ATT_BACKOFF_KEY_MAX - 1 bytes: a long key is still one key. */
    longkey[ATT_BACKOFF_KEY_MAX] = 'y';
    assert_int_equal(att_backoff_fail(b, longkey, 5001, &retry), ATT_BACKOFF_BLOCKED);
    assert_true(att_backoff_source_blocked(b, longkey, 5001, &retry));
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
    struct att_backoff_config cfg = {3, 60, 30, 0};
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
    assert_int_equal(att_backoff_credential_failed(b, &attacker, 100, &retry), ATT_BACKOFF_COUNTED);
    assert_int_equal(att_backoff_credential_failed(b, &attacker, 100, &retry), ATT_BACKOFF_COUNTED);
    assert_int_equal(att_backoff_credential_failed(b, &attacker, 101, &retry),
                     ATT_BACKOFF_BLOCKED); /* the 3rd blocks the pair */
    assert_true(att_backoff_pair_blocked(b, attacker.pair, 101, &retry));
    assert_int_equal(retry, 30);
    assert_true(att_backoff_source_blocked(b, attacker.source, 101, &retry)); /* and the source */
    /* The client itself and the owner's address are not blocked. */
    assert_false(att_backoff_pair_blocked(b, attacker.client, 101, &retry));
    assert_false(att_backoff_pair_blocked(b, owner.pair, 101, &retry));
    assert_false(att_backoff_source_blocked(b, owner.source, 101, &retry));
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
        assert_int_equal(att_backoff_credential_failed(b, &k, 200, &retry), ATT_BACKOFF_COUNTED);
    }
    for (int i = 2; i < 20; i++) {
        snprintf(addr, sizeof(addr), "192.0.2.%d", i); /* .2 has failed before, the rest not */
        keys_of(addr, "victim", &k);
        assert_false(att_backoff_pair_blocked(b, k.pair, 201, &retry));
        assert_int_equal(att_backoff_credential_failed(b, &k, 201, &retry),
                         ATT_BACKOFF_BLOCKED); /* blocked at the first */
        assert_true(att_backoff_pair_blocked(b, k.pair, 201, &retry));
        assert_false(att_backoff_source_blocked(b, k.source, 201, &retry));
    }
    /* Another client from the same sources: counted on its own. */
    keys_of("192.0.2.5", "other", &k);
    assert_int_equal(att_backoff_credential_failed(b, &k, 201, &retry), ATT_BACKOFF_COUNTED);
    assert_false(att_backoff_pair_blocked(b, k.pair, 201, &retry));
    /* A source that never failed for the victim is not blocked for it. */
    keys_of("198.51.100.1", "victim", &k);
    assert_false(att_backoff_pair_blocked(b, k.pair, 201, &retry));
    /* Once the client's window has passed without failures, N per pair again. */
    keys_of("198.51.100.1", "victim", &k);
    assert_int_equal(att_backoff_credential_failed(b, &k, 261, &retry), ATT_BACKOFF_COUNTED);
    assert_false(att_backoff_pair_blocked(b, k.pair, 261, &retry));
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
    assert_int_equal(att_backoff_credential_failed(b, &k, 300, &retry), ATT_BACKOFF_COUNTED);
    assert_int_equal(att_backoff_credential_failed(b, &k, 300, &retry), ATT_BACKOFF_COUNTED);
    att_backoff_success(b, k.pair);
    assert_int_equal(att_backoff_credential_failed(b, &k, 300, &retry),
                     ATT_BACKOFF_COUNTED); /* pair: 1; source: 3, blocked */
    assert_false(att_backoff_pair_blocked(b, k.pair, 300, &retry));
    assert_true(att_backoff_source_blocked(b, k.source, 300, &retry));
    /* Without a client id only the source counts. */
    assert_int_equal(att_backoff_credential_failed(b, &none, 400, &retry), ATT_BACKOFF_COUNTED);
    assert_false(att_backoff_source_blocked(b, none.source, 400, &retry));
    /* Off: nothing counts. */
    att_backoff_free(b);
    struct att_backoff_config off = {0, 60, 30, 0};
    EXPECT_OK(att_backoff_new(&off, &b));
    for (int i = 0; i < 10; i++) {
        assert_int_equal(att_backoff_credential_failed(b, &k, 500, &retry), ATT_BACKOFF_COUNTED);
    }
    assert_false(att_backoff_pair_blocked(b, k.pair, 500, &retry));
    att_backoff_free(b);
}

/* The smallest table: 8 slots each for sources and for pairs and clients. */
static struct att_backoff *tiny(unsigned max_failures)
{
    struct att_backoff_config cfg = {max_failures, 600, 100, ATT_BACKOFF_SLOTS_MIN};
    struct att_backoff *b = NULL;
    EXPECT_OK(att_backoff_new(&cfg, &b));
    return b;
}

/* Block `source` (N failures) at `now`. */
static void block_source(struct att_backoff *b, const char *source, unsigned n, int64_t now)
{
    unsigned retry = 0;
    for (unsigned i = 1; i < n; i++) {
        assert_int_equal(att_backoff_fail(b, source, now, &retry), ATT_BACKOFF_COUNTED);
    }
    assert_int_equal(att_backoff_fail(b, source, now, &retry), ATT_BACKOFF_BLOCKED);
}

/*
 * F08: a table full of blocked sources forgets none of them before its block ends; a new
 * source's failure finds no room and fails closed: every source the table does not hold
 * counts as blocked for B seconds.
 */
static void test_full_of_blocked_sources_fails_closed(void **state)
{
    (void)state;
    struct att_backoff *b = tiny(3);
    unsigned retry = 0;
    char key[32];
    block_source(b, "ip:guesser", 3, 1000);
    for (int i = 1; i < ATT_BACKOFF_SLOTS_MIN; i++) {
        snprintf(key, sizeof(key), "ip:flood-%d", i);
        block_source(b, key, 3, 1000 + i);
    }
    /* Full of running blocks: a new failure is not counted, and answered as blocked. */
    assert_int_equal(att_backoff_fail(b, "ip:late", 1010, &retry), ATT_BACKOFF_NO_ROOM);
    assert_int_equal(retry, 100);
    assert_true(att_backoff_source_blocked(b, "ip:guesser", 1010, &retry));
    assert_int_equal(retry, 90); /* its own block, unchanged */
    assert_true(att_backoff_source_blocked(b, "ip:late", 1010, &retry));
    assert_int_equal(retry, 100);
    assert_true(att_backoff_source_blocked(b, "ip:never-seen", 1011, &retry));
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "ip:more-%d", i);
        assert_int_equal(att_backoff_fail(b, key, 1020, &retry), ATT_BACKOFF_NO_ROOM);
    }
    assert_true(att_backoff_source_blocked(b, "ip:guesser", 1099, &retry));
    assert_int_equal(retry, 1);
    /* The first block has ended: its slot is reused; a new source is counted again. */
    assert_false(att_backoff_source_blocked(b, "ip:guesser", 1100, &retry));
    assert_true(att_backoff_source_blocked(b, "ip:never-seen", 1100, &retry)); /* until 1120 */
    assert_int_equal(att_backoff_fail(b, "ip:new", 1120, &retry), ATT_BACKOFF_COUNTED);
    assert_false(att_backoff_source_blocked(b, "ip:never-seen", 1120, &retry));
    att_backoff_free(b);
}

/*
 * F08, the attack: a guesser's blocked pair, its source and the client's count survive a
 * flood of blocked sources (a separate table), so its next guesses stay refused.
 */
static void test_sources_never_push_out_pairs(void **state)
{
    (void)state;
    struct att_backoff *b = tiny(3);
    struct att_backoff_keys g;
    struct att_backoff_keys k;
    unsigned retry = 0;
    char key[32];
    keys_of("192.0.2.66", "victim", &g);
    for (int i = 0; i < 3; i++) {
        (void)att_backoff_credential_failed(b, &g, 1000, &retry);
    }
    assert_true(att_backoff_pair_blocked(b, g.pair, 1000, &retry));
    assert_true(att_backoff_source_blocked(b, g.source, 1000, &retry));
    for (int i = 0; i < 10 * ATT_BACKOFF_SLOTS_MIN; i++) {
        snprintf(key, sizeof(key), "ip:198.51.100.%d", i);
        for (int n = 0; n < 3; n++) {
            (void)att_backoff_fail(b, key, 1001, &retry);
        }
    }
    assert_true(att_backoff_pair_blocked(b, g.pair, 1002, &retry));
    assert_int_equal(retry, 98);
    assert_true(att_backoff_source_blocked(b, g.source, 1002, &retry));
    /* The client still counts 3 failures: another source's first failure blocks its pair. */
    keys_of("203.0.113.1", "victim", &k);
    assert_int_equal(att_backoff_credential_failed(b, &k, 1003, &retry), ATT_BACKOFF_BLOCKED);
    att_backoff_free(b);
}

/*
 * A table of pairs full of running blocks: a new pair's failure is not counted and is
 * answered as blocked (NO_ROOM, retry when the first block ends), but the pair itself is
 * not blocked: its next attempt, perhaps a valid credential, is checked.
 */
static void test_full_of_blocked_pairs(void **state)
{
    (void)state;
    struct att_backoff *b = tiny(1); /* every failure blocks its pair */
    struct att_backoff_keys k;
    unsigned retry = 0;
    char addr[32];
    for (int i = 1; i <= ATT_BACKOFF_SLOTS_MIN; i++) {
        snprintf(addr, sizeof(addr), "192.0.2.%d", i);
        keys_of(addr, "victim", &k);
        /* The client's key is idle: the last pair evicts it. */
        assert_int_equal(att_backoff_credential_failed(b, &k, 1000 + i, &retry),
                         ATT_BACKOFF_BLOCKED);
    }
    keys_of("198.51.100.1", "victim", &k);
    assert_int_equal(att_backoff_credential_failed(b, &k, 1050, &retry), ATT_BACKOFF_NO_ROOM);
    assert_int_equal(retry, 51); /* the first block ends at 1101 */
    assert_false(att_backoff_pair_blocked(b, k.pair, 1050, &retry));
    for (int i = 1; i <= ATT_BACKOFF_SLOTS_MIN; i++) {
        snprintf(addr, sizeof(addr), "192.0.2.%d", i);
        keys_of(addr, "victim", &k);
        assert_true(att_backoff_pair_blocked(b, k.pair, 1100, &retry));
    }
    /* Once a block has ended, its slot counts the next new pair. */
    keys_of("198.51.100.1", "victim", &k);
    assert_int_equal(att_backoff_credential_failed(b, &k, 1101, &retry), ATT_BACKOFF_BLOCKED);
    att_backoff_free(b);
}

/* A full table gives up the idle key counted longest ago, never a recent one. */
static void test_idle_eviction_oldest_first(void **state)
{
    (void)state;
    struct att_backoff *b = tiny(3);
    unsigned retry = 0;
    char key[32];
    for (int i = 0; i < ATT_BACKOFF_SLOTS_MIN; i++) {
        snprintf(key, sizeof(key), "ip:%d", i);
        assert_int_equal(att_backoff_fail(b, key, 100 + i, &retry), ATT_BACKOFF_COUNTED);
    }
    assert_int_equal(att_backoff_fail(b, "ip:0", 200, &retry), ATT_BACKOFF_COUNTED); /* 2 */
    assert_int_equal(att_backoff_fail(b, "ip:new", 201, &retry), ATT_BACKOFF_COUNTED);
    /* "ip:1" was counted longest ago: forgotten, so it starts again at 1. */
    assert_int_equal(att_backoff_fail(b, "ip:0", 202, &retry), ATT_BACKOFF_BLOCKED);
    assert_int_equal(att_backoff_fail(b, "ip:1", 203, &retry), ATT_BACKOFF_COUNTED);
    assert_int_equal(att_backoff_fail(b, "ip:1", 203, &retry), ATT_BACKOFF_COUNTED);
    assert_int_equal(att_backoff_fail(b, "ip:1", 203, &retry), ATT_BACKOFF_BLOCKED);
    att_backoff_free(b);
}

/* Table sizes: rounded up to a power of two, bounded. */
static void test_sizes(void **state)
{
    (void)state;
    struct att_backoff_config cfg = {3, 60, 30, ATT_BACKOFF_SLOTS_MIN - 1};
    struct att_backoff *b = NULL;
    EXPECT_ERR(att_backoff_new(&cfg, &b), ATT_ERR_ARG);
    cfg.slots = (size_t)ATT_BACKOFF_SLOTS_MAX + 1;
    EXPECT_ERR(att_backoff_new(&cfg, &b), ATT_ERR_ARG);
    cfg.slots = 9; /* 16 */
    EXPECT_OK(att_backoff_new(&cfg, &b));
    unsigned retry = 0;
    char key[32];
    for (int i = 0; i < 16; i++) {
        snprintf(key, sizeof(key), "ip:%d", i);
        block_source(b, key, 3, 100);
    }
    assert_int_equal(att_backoff_fail(b, "ip:16", 100, &retry), ATT_BACKOFF_NO_ROOM);
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
        cmocka_unit_test(test_full_of_blocked_sources_fails_closed),
        cmocka_unit_test(test_sources_never_push_out_pairs),
        cmocka_unit_test(test_full_of_blocked_pairs),
        cmocka_unit_test(test_idle_eviction_oldest_first),
        cmocka_unit_test(test_sizes),
    };
    return cmocka_run_group_tests_name("auth_backoff", tests, NULL, NULL);
}
