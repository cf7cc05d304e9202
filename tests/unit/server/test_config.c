/* Unit tests for src/server/config.c: every key, and each bad input with its FILE:LINE message. */
#include "att_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"

static char path[64];

static att_err load_text(const char *text, struct att_config *c, char *msg, size_t n)
{
    snprintf(path, sizeof(path), "/tmp/attestd-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    att_config_defaults(c);
    att_err rc = att_config_load_file(c, path, msg, n);
    unlink(path);
    return rc;
}

static void test_defaults_are_private(void **state)
{
    (void)state;
    struct att_config c;
    char msg[512];
    att_config_defaults(&c);
    EXPECT_OK(att_config_finish(&c, msg, sizeof(msg)));
    assert_int_equal(c.n_listen, 1);
    assert_string_equal(c.listen[0], "127.0.0.1:8443");
    assert_false(c.public_network_access);
    assert_int_equal(c.allowed_networks.n, 0);
    assert_int_equal(c.max_body_size, 256 * 1024);
    assert_string_equal(c.public_url, "https://127.0.0.1:8443");
    assert_string_equal(c.database, "/var/lib/attestd/attestd.db");
    assert_string_equal(c.kek_file, "/var/lib/attestd/kek.key");
    assert_int_equal(c.default_signing_alg, ATT_JWS_RS256);
    assert_false(c.core_dumps);
    assert_int_equal(c.log_summary_interval, 60);
}

static void test_full_file(void **state)
{
    (void)state;
    struct att_config c;
    char msg[512];
    EXPECT_OK(load_text("# comment\n"
                        "listen = 127.0.0.1:9000\r\n"
                        "listen = [::1]:9000\n"
                        "\n"
                        "   public_network_access = enabled   \n"
                        "allowed_networks = 10.0.0.0/8, ::1/128\n"
                        "data_dir = \"/srv/attest data\"\n"
                        "tls_cert = /etc/attestd/cert.pem\n"
                        "public_url = https://attest.example.com\n"
                        "default_signing_alg = ES256\n"
                        "max_body_size = 1m\n"
                        "max_header_size = 8k\n"
                        "read_timeout = 5\n"
                        "shutdown_timeout = 0\n"
                        "max_connections = 10\n"
                        "threads = 2\n"
                        "log_level = debug\n"
                        "log_summary_interval = 5\n"
                        "core_dumps = enabled\n"
                        "kek_env = MY_KEK\n",
                        &c, msg, sizeof(msg)));
    EXPECT_OK(att_config_finish(&c, msg, sizeof(msg)));
    assert_int_equal(c.n_listen, 2);
    assert_string_equal(c.listen[1], "[::1]:9000");
    assert_true(c.public_network_access);
    assert_int_equal(c.allowed_networks.n, 2);
    assert_string_equal(c.data_dir, "/srv/attest data");
    assert_string_equal(c.database, "/srv/attest data/attestd.db");
    assert_string_equal(c.tls_cert, "/etc/attestd/cert.pem");
    assert_string_equal(c.tls_key, "/srv/attest data/tls/server.key");
    assert_string_equal(c.public_url, "https://attest.example.com");
    assert_int_equal(c.default_signing_alg, ATT_JWS_ES256);
    assert_int_equal(c.max_body_size, 1024 * 1024);
    assert_int_equal(c.max_header_size, 8192);
    assert_int_equal(c.read_timeout, 5);
    assert_int_equal(c.shutdown_timeout, 0);
    assert_int_equal(c.max_connections, 10);
    assert_int_equal(c.threads, 2);
    assert_int_equal(c.log_level, ATT_LOG_DEBUG);
    assert_int_equal(c.log_summary_interval, 5);
    assert_true(c.core_dumps);
    assert_string_equal(c.kek_env, "MY_KEK");
}

struct bad_case {
    const char *text;
    const char *want; /* expected message after "PATH:" */
};

static const struct bad_case bad[] = {
    {"listen = 127.0.0.1:1\nfoo = bar\n", "2: unknown key 'foo'"},
    {"\n\nmax_body_size = lots\n",
     "3: max_body_size: expected a size from 1024 to 67108864 bytes, like 256k or 1m"},
    {"max_body_size = 100\n",
     "1: max_body_size: expected a size from 1024 to 67108864 bytes, like 256k or 1m"},
    {"max_body_size = 65m\n",
     "1: max_body_size: expected a size from 1024 to 67108864 bytes, like 256k or 1m"},
    {"read_timeout = 0\n", "1: read_timeout: expected a whole number from 1 to 3600 (seconds)"},
    {"read_timeout = -5\n", "1: read_timeout: expected a whole number from 1 to 3600 (seconds)"},
    {"threads = 65\n", "1: threads: expected a whole number from 0 to 64"},
    {"public_network_access = yes\n", "1: public_network_access: expected 'enabled' or 'disabled'"},
    {"allowed_networks = 10.0.0.0/33\n", "1: allowed_networks: expected a comma-separated list of "
                                         "CIDR blocks such as 10.0.0.0/8, fd00::/8 (at most 64)"},
    {"public_url = http://x\n",
     "1: public_url: expected an https:// URL without a trailing slash, query or fragment"},
    {"public_url = https://x/\n",
     "1: public_url: expected an https:// URL without a trailing slash, query or fragment"},
    /* attack 15 F6: credentials in a webhook URL would be logged with its failures */
    {"alert_webhook_url = https://user:pass@hooks.example.com/x\n",
     "1: alert_webhook_url: expected an https:// URL with a host, without user:password@, a "
     "fragment, spaces or control characters"},
    {"alert_webhook_url = http://hooks.example.com/x\n",
     "1: alert_webhook_url: expected an https:// URL with a host, without user:password@, a "
     "fragment, spaces or control characters"},
    {"alert_webhook_url = https:///path\n",
     "1: alert_webhook_url: expected an https:// URL with a host, without user:password@, a "
     "fragment, spaces or control characters"},
    {"alert_webhook_url = https://hooks.example.com/x#frag\n",
     "1: alert_webhook_url: expected an https:// URL with a host, without user:password@, a "
     "fragment, spaces or control characters"},
    {"default_signing_alg = HS256\n", "1: default_signing_alg: expected RS256 or ES256"},
    {"default_signing_alg = none\n", "1: default_signing_alg: expected RS256 or ES256"},
    {"default_signing_alg = PS256\n", "1: default_signing_alg: expected RS256 or ES256"},
    {"default_signing_alg = ES384\n", "1: default_signing_alg: expected RS256 or ES256"},
    {"log_level = loud\n", "1: log_level: expected debug, info, warn or error"},
    {"log_summary_interval = 0\n",
     "1: log_summary_interval: expected a whole number from 1 to 3600 (seconds)"},
    {"core_dumps = yes\n", "1: core_dumps: expected 'enabled' or 'disabled'"},
    {"kek_env = 1BAD\n", "1: kek_env: expected an environment variable name"},
    {"data_dir =\n", "1: data_dir: value must be 1 to 1023 characters"},
    {"just words\n", "1: expected 'key = value'"},
    {" = value\n", "1: expected 'key = value'"},
    {"read_timeout = 5\nread_timeout = 6\n", "2: read_timeout: set twice"},
};

static void test_bad_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct att_config c;
        char msg[512];
        char want[600];
        att_err rc = load_text(bad[i].text, &c, msg, sizeof(msg));
        snprintf(want, sizeof(want), "%s:%s", path, bad[i].want);
        if (rc != ATT_ERR_CONFIG || strcmp(msg, want) != 0) {
            fail_msg("case %zu: got %s '%s', want '%s'", i, att_err_name(rc),
                     rc == ATT_OK ? "" : msg, want);
        }
    }
}

/* A webhook URL may carry a path, a query and a trailing slash (receivers route on them). */
static void test_webhook_url_with_query(void **state)
{
    (void)state;
    struct att_config c;
    char msg[512];
    assert_int_equal(load_text("alert_webhook_url = https://hooks.example.com:8443/in/?team=sec\n",
                               &c, msg, sizeof(msg)),
                     ATT_OK);
    assert_string_equal(c.alert_webhook_url, "https://hooks.example.com:8443/in/?team=sec");
}

/* Signing-key rotation: a period must outlast the lead time plus one look at the keys. */
static void test_signing_key_rotation(void **state)
{
    (void)state;
    struct att_config c;
    char msg[512];
    EXPECT_OK(load_text("", &c, msg, sizeof(msg)));
    EXPECT_OK(att_config_finish(&c, msg, sizeof(msg)));
    assert_int_equal(c.signing_key_rotation, 0);
    assert_int_equal(c.signing_key_lead_time, 86400);
    assert_int_equal(c.signing_key_retire_leeway, 300);
    /* Short lifetimes allow short periods: 80 = 60 + 0 + 2 looks, and 80 > 5 + 1 look. */
    static const char short_life[] = "attest_token_lifetime = 60\nsigning_key_retire_leeway = 0\n"
                                     "signing_key_lead_time = 5\n";
    char text[256];
    snprintf(text, sizeof(text), "%ssigning_key_rotation = 80\n", short_life);
    EXPECT_OK(load_text(text, &c, msg, sizeof(msg)));
    EXPECT_OK(att_config_finish(&c, msg, sizeof(msg)));
    /* A retired key must be gone before the next-but-one rotation (8-key cap). */
    snprintf(text, sizeof(text), "%ssigning_key_rotation = 79\n", short_life);
    EXPECT_OK(load_text(text, &c, msg, sizeof(msg)));
    EXPECT_ERR(att_config_finish(&c, msg, sizeof(msg)), ATT_ERR_CONFIG);
    assert_string_equal(msg, "signing_key_rotation must be 0 (off), longer than "
                             "signing_key_lead_time plus 10 seconds, and at least "
                             "attest_token_lifetime plus signing_key_retire_leeway plus 20 "
                             "seconds (here 80)");
    /* ...and a key must wait no longer than a period. */
    EXPECT_OK(load_text("attest_token_lifetime = 60\nsigning_key_retire_leeway = 0\n"
                        "signing_key_lead_time = 90\nsigning_key_rotation = 100\n",
                        &c, msg, sizeof(msg)));
    EXPECT_ERR(att_config_finish(&c, msg, sizeof(msg)), ATT_ERR_CONFIG);
    EXPECT_OK(load_text("signing_key_rotation = 7776000\n", &c, msg, sizeof(msg)));
    EXPECT_OK(att_config_finish(&c, msg, sizeof(msg)));
    EXPECT_ERR(load_text("signing_key_lead_time = 2592001\n", &c, msg, sizeof(msg)),
               ATT_ERR_CONFIG);
    EXPECT_ERR(load_text("signing_key_retire_leeway = 86401\n", &c, msg, sizeof(msg)),
               ATT_ERR_CONFIG);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct att_config c;
    char msg[512];
    att_config_defaults(&c);
    EXPECT_ERR(att_config_load_file(&c, "/nonexistent/attestd.conf", msg, sizeof(msg)), ATT_ERR_IO);
    assert_string_equal(msg, "/nonexistent/attestd.conf: cannot open: No such file or directory");
}

static void test_failed_load_changes_nothing(void **state)
{
    (void)state;
    struct att_config c;
    char msg[512];
    assert_int_not_equal(load_text("read_timeout = 7\nbogus = 1\n", &c, msg, sizeof(msg)), ATT_OK);
    assert_int_equal(c.read_timeout, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_private),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_webhook_url_with_query),
        cmocka_unit_test(test_signing_key_rotation),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_failed_load_changes_nothing),
    };
    return cmocka_run_group_tests_name("server_config", tests, NULL, NULL);
}
