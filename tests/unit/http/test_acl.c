/* Unit tests for src/http/acl.c: CIDR parsing and matching, IPv4-mapped peers, loopback. */
#include "att_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "http/acl.h"

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

static bool allows(const struct att_acl *acl, const char *text)
{
    struct sockaddr_storage ss = addr(text);
    return att_acl_allows(acl, (struct sockaddr *)&ss);
}

static void test_parse_and_match(void **state)
{
    (void)state;
    struct att_acl acl;
    EXPECT_OK(att_acl_parse("10.0.0.0/8, 192.168.1.7 fd00::/8,2001:db8::1/128", &acl));
    assert_int_equal(acl.n, 4);
    assert_true(allows(&acl, "10.255.3.4"));
    assert_false(allows(&acl, "11.0.0.1"));
    assert_true(allows(&acl, "192.168.1.7"));
    assert_false(allows(&acl, "192.168.1.8"));
    assert_true(allows(&acl, "fd12::5"));
    assert_false(allows(&acl, "fe80::1"));
    assert_true(allows(&acl, "2001:db8::1"));
    assert_false(allows(&acl, "2001:db8::2"));
    /* IPv4-mapped IPv6 peers are matched as IPv4. */
    assert_true(allows(&acl, "::ffff:10.1.2.3"));
    assert_false(allows(&acl, "::ffff:127.0.0.1"));
}

static void test_odd_prefixes(void **state)
{
    (void)state;
    struct att_acl acl;
    EXPECT_OK(att_acl_parse("172.16.0.0/12", &acl));
    assert_true(allows(&acl, "172.31.255.255"));
    assert_false(allows(&acl, "172.32.0.0"));
    EXPECT_OK(att_acl_parse("0.0.0.0/0", &acl));
    assert_true(allows(&acl, "8.8.8.8"));
    assert_false(allows(&acl, "::1"));
    EXPECT_OK(att_acl_parse("", &acl));
    assert_int_equal(acl.n, 0);
    assert_true(allows(&acl, "8.8.8.8")); /* empty list: everyone */
}

static void test_bad_lists(void **state)
{
    (void)state;
    struct att_acl acl;
    static const char *bad[] = {"10.0.0.0/33",  "10.0.0/8",    "::1/129",
                                "10.0.0.0/",    "10.0.0.0/a",  "host.example",
                                "10.0.0.0/8/8", "10.0.0.0/-1", "1.2.3.4/ 8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (att_acl_parse(bad[i], &acl) == ATT_OK) {
            fail_msg("'%s' accepted", bad[i]);
        }
    }
    char many[4096] = "";
    for (int i = 0; i <= ATT_ACL_MAX; i++) {
        size_t used = strlen(many);
        snprintf(many + used, sizeof(many) - used, "10.0.%d.0/24,", i);
    }
    EXPECT_ERR(att_acl_parse(many, &acl), ATT_ERR_TOO_LARGE);
}

static void test_loopback(void **state)
{
    (void)state;
    static const char *yes[] = {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"};
    static const char *no[] = {"0.0.0.0", "10.0.0.1", "::", "::2", "128.0.0.1"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        struct sockaddr_storage ss = addr(yes[i]);
        assert_true(att_addr_is_loopback((struct sockaddr *)&ss));
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        struct sockaddr_storage ss = addr(no[i]);
        assert_false(att_addr_is_loopback((struct sockaddr *)&ss));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_match),
        cmocka_unit_test(test_odd_prefixes),
        cmocka_unit_test(test_bad_lists),
        cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests_name("http_acl", tests, NULL, NULL);
}
