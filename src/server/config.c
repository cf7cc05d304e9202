/*
 * config.c - the configuration parser (see config.h, docs/config.md).
 *
 * Input: an operator's file, trusted to be the operator's intent but not to
 * be well-formed: every line is read through the bounded reader, every value
 * is checked, and every failure names file, line and key.
 */
#include "server/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log_summary.h"
#include "core/rd.h"
#include "provider/provider.h"
#include "store/store.h"

void att_config_defaults(struct att_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->data_dir, sizeof(c->data_dir), "%s", "/var/lib/attestd");
    snprintf(c->kek_env, sizeof(c->kek_env), "%s", "ATTESTD_KEK");
    c->default_signing_alg = ATT_JWS_RS256;
    c->max_body_size = 256 * 1024;
    c->max_header_size = 16 * 1024;
    c->read_timeout = 10;
    c->write_timeout = 10;
    c->idle_timeout = 60;
    c->handshake_timeout = 10;
    c->request_timeout = 30;
    c->shutdown_timeout = 30;
    c->attest_token_lifetime = 28800; /* docs/reference/maa-tokens.md §2.2 */
    c->signing_key_lead_time = 86400;
    c->signing_key_retire_leeway = 300;
    c->pcs_timeout = 5;
    c->amd_crl_check = true;
    c->key_process = true;
    c->collateral_refresh_interval = 60;
    c->max_connections = 1024;
    c->max_connections_per_address = 128;
    c->threads = 0;
    c->job_threads = 0;
    c->job_queue = 256;
    c->auth_max_failures = 10;
    c->auth_failure_window = 60;
    c->auth_block_seconds = 60;
    c->log_level = ATT_LOG_INFO;
    c->log_summary_interval = ATT_LOG_SUMMARY_DEFAULT_INTERVAL;
    snprintf(c->syslog_socket, sizeof(c->syslog_socket), "%s", "/dev/log");
    c->audit_retention_days = 365;
    c->alert_queue = 256;
    c->alert_auth_failures = 10;
    c->alert_auth_window = 300;
    c->alert_denials = 20;
    c->alert_denial_window = 300;
    c->alert_collateral_warning = 7 * 86400;
    c->alert_certificate_warning = 30 * 86400;
    c->alert_dedup_window = 600;
    c->alert_check_interval = 10;
    c->audit_checkpoint_interval = 60;
    c->audit_busy_timeout = 2000;
}

/* ---- value parsers: each writes its output only on success ---- */

static att_err parse_uint(const char *v, unsigned long long min, unsigned long long max,
                          unsigned long long *out)
{
    struct att_bytes b = {(const uint8_t *)v, strlen(v)};
    uint64_t n;
    ATT_TRY(att_bytes_to_u64(b, max, &n));
    ATT_ENSURE(n >= min, ATT_ERR_TOO_LARGE);
    *out = n;
    return ATT_OK;
}

/* "262144", "256k", "1m" (binary multiples). */
static att_err parse_size(const char *v, unsigned long long min, unsigned long long max,
                          unsigned long long *out)
{
    char num[32];
    size_t n = strlen(v);
    unsigned long long mult = 1;
    ATT_ENSURE(n > 0 && n < sizeof(num), ATT_ERR_ARG);
    memcpy(num, v, n + 1);
    char last = num[n - 1];
    if (last == 'k' || last == 'K') {
        mult = 1024;
    } else if (last == 'm' || last == 'M') {
        mult = 1024 * 1024;
    }
    if (mult != 1) {
        num[n - 1] = 0;
    }
    unsigned long long base;
    ATT_TRY(parse_uint(num, 0, max, &base));
    ATT_ENSURE(base <= max / mult && base * mult >= min, ATT_ERR_TOO_LARGE);
    *out = base * mult;
    return ATT_OK;
}

static att_err set_string(char *dst, size_t cap, const char *v, char *msg, size_t msg_len,
                          const char *key)
{
    size_t n = strlen(v);
    if (n == 0 || n >= cap) {
        snprintf(msg, msg_len, "%s: value must be 1 to %zu characters", key, cap - 1);
        return ATT_ERR_CONFIG;
    }
    memcpy(dst, v, n + 1);
    return ATT_OK;
}

/*
 * A webhook URL: https, a host, any path and query (receivers route on them), but no userinfo
 * (credentials in a URL end up in logs: the body is authenticated by its HMAC instead) and no
 * fragment (never sent).
 */
static bool webhook_url_ok(const char *v)
{
    if (strncmp(v, "https://", 8) != 0) {
        return false;
    }
    size_t host_len = strcspn(v + 8, "/?#");
    if (host_len == 0 || memchr(v + 8, '@', host_len) != NULL || strchr(v, '#') != NULL) {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)v; *p != 0; p++) {
        if (*p <= 0x20 || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

enum key_kind {
    K_LISTEN,
    K_BOOL_ENABLED,
    K_NETS,
    K_PATH,
    K_NAME,
    K_USER,
    K_SOCKET, /* a Unix socket path (sun_path: under 108 bytes), or "none" */
    K_URL,
    K_WEBHOOK, /* an https URL that may have a path and query, but no user:password@ */
    K_ALG,
    K_SIZE,
    K_SECONDS,
    K_COUNT,
    K_ADDR,   /* one "ip:port" (checked when it is bound) */
    K_OUTPUT, /* log_output: stderr, file or syslog */
    K_LEVEL,
    K_PKCS11, /* an RFC 7512 "pkcs11:" URI */
    K_STORE,  /* "sqlite" or a postgresql:// URL without a password (att_store_url_check) */
    K_NODE    /* 1..255 printable ASCII characters, no spaces */
};

struct key_def {
    const char *name;
    enum key_kind kind;
    size_t offset;
    unsigned long long min, max;
};

#define OFF(f) offsetof(struct att_config, f)
static const struct key_def keys[] = {
    {"listen", K_LISTEN, OFF(listen), 0, 0},
    {"public_network_access", K_BOOL_ENABLED, OFF(public_network_access), 0, 0},
    {"allowed_networks", K_NETS, OFF(allowed_networks), 0, 0},
    {"data_dir", K_PATH, OFF(data_dir), 0, 0},
    {"database", K_PATH, OFF(database), 0, 0},
    {"store", K_STORE, OFF(store), 0, 0},
    {"node_name", K_NODE, OFF(node_name), 0, 0},
    {"tls_cert", K_PATH, OFF(tls_cert), 0, 0},
    {"tls_key", K_PATH, OFF(tls_key), 0, 0},
    {"tls_client_ca", K_PATH, OFF(tls_client_ca), 0, 0},
    {"issuers_file", K_PATH, OFF(issuers_file), 0, 0},
    {"kek_file", K_PATH, OFF(kek_file), 0, 0},
    {"kek_pkcs11", K_PKCS11, OFF(kek_pkcs11), 0, 0},
    {"signing_keys_pkcs11", K_PKCS11, OFF(signing_keys_pkcs11), 0, 0},
    {"key_process", K_BOOL_ENABLED, OFF(key_process), 0, 0},
    {"kek_env", K_NAME, OFF(kek_env), 0, 0},
    {"user", K_USER, OFF(user), 0, 0},
    {"admin_socket", K_SOCKET, OFF(admin_socket), 0, 0},
    {"admin_group", K_USER, OFF(admin_group), 0, 0},
    {"pid_file", K_PATH, OFF(pid_file), 0, 0},
    {"public_url", K_URL, OFF(public_url), 0, 0},
    {"default_signing_alg", K_ALG, OFF(default_signing_alg), 0, 0},
    {"max_body_size", K_SIZE, OFF(max_body_size), 1024, 64ULL << 20},
    {"max_header_size", K_SIZE, OFF(max_header_size), 1024, 1ULL << 20},
    {"read_timeout", K_SECONDS, OFF(read_timeout), 1, 3600},
    {"write_timeout", K_SECONDS, OFF(write_timeout), 1, 3600},
    {"idle_timeout", K_SECONDS, OFF(idle_timeout), 1, 3600},
    {"handshake_timeout", K_SECONDS, OFF(handshake_timeout), 1, 3600},
    {"request_timeout", K_SECONDS, OFF(request_timeout), 1, 3600},
    {"shutdown_timeout", K_SECONDS, OFF(shutdown_timeout), 0, 3600},
    {"max_connections", K_COUNT, OFF(max_connections), 1, 1000000},
    {"max_connections_per_address", K_COUNT, OFF(max_connections_per_address), 0, 1000000},
    {"threads", K_COUNT, OFF(threads), 0, 64},
    {"job_threads", K_COUNT, OFF(job_threads), 0, 256},
    {"job_queue", K_COUNT, OFF(job_queue), 1, 1000000},
    {"auth_max_failures", K_COUNT, OFF(auth_max_failures), 0, 1000000},
    {"auth_failure_window", K_SECONDS, OFF(auth_failure_window), 1, 86400},
    {"auth_block_seconds", K_SECONDS, OFF(auth_block_seconds), 1, 86400},
    {"pcs_url", K_URL, OFF(pcs_url), 0, 0},
    {"pcs_root_crl_url", K_URL, OFF(pcs_root_crl_url), 0, 0},
    {"pcs_ca_file", K_PATH, OFF(pcs_ca_file), 0, 0},
    {"dcap_trust_anchors", K_PATH, OFF(dcap_trust_anchors), 0, 0},
    {"kds_url", K_URL, OFF(kds_url), 0, 0},
    {"kds_ca_file", K_PATH, OFF(kds_ca_file), 0, 0},
    {"amd_trust_anchors", K_PATH, OFF(amd_trust_anchors), 0, 0},
    {"amd_crl_check", K_BOOL_ENABLED, OFF(amd_crl_check), 0, 0},
    {"tpm_ak_roots", K_PATH, OFF(tpm_ak_roots), 0, 0},
    {"collateral_grace", K_SECONDS, OFF(collateral_grace), 0, 30 * 86400},
    {"pcs_timeout", K_SECONDS, OFF(pcs_timeout), 1, 120},
    {"collateral_refresh_interval", K_SECONDS, OFF(collateral_refresh_interval), 1, 3600},
    {"attest_token_lifetime", K_SECONDS, OFF(attest_token_lifetime), 60, 365 * 86400},
    {"signing_key_rotation", K_SECONDS, OFF(signing_key_rotation), 0, 3650 * 86400},
    {"signing_key_lead_time", K_SECONDS, OFF(signing_key_lead_time), 0, 30 * 86400},
    {"signing_key_retire_leeway", K_SECONDS, OFF(signing_key_retire_leeway), 0, 86400},
    {"log_file", K_PATH, OFF(log_file), 0, 0},
    {"log_level", K_LEVEL, OFF(log_level), 0, 0},
    {"log_output", K_OUTPUT, OFF(log_output), 0, 0},
    {"syslog_socket", K_PATH, OFF(syslog_socket), 0, 0},
    {"log_summary_interval", K_SECONDS, OFF(log_summary_interval), 1, 3600},
    {"core_dumps", K_BOOL_ENABLED, OFF(core_dumps), 0, 0},
    {"metrics_listen", K_ADDR, OFF(metrics_listen), 0, 0},
    {"alert_webhook_url", K_WEBHOOK, OFF(alert_webhook_url), 0, 0},
    {"alert_webhook_secret_file", K_PATH, OFF(alert_webhook_secret_file), 0, 0},
    {"alert_webhook_ca_file", K_PATH, OFF(alert_webhook_ca_file), 0, 0},
    {"alert_syslog_socket", K_PATH, OFF(alert_syslog_socket), 0, 0},
    {"alert_queue", K_COUNT, OFF(alert_queue), 1, 100000},
    {"alert_auth_failures", K_COUNT, OFF(alert_auth_failures), 1, 1000000},
    {"alert_auth_window", K_SECONDS, OFF(alert_auth_window), 1, 86400},
    {"alert_denials", K_COUNT, OFF(alert_denials), 1, 1000000},
    {"alert_denial_window", K_SECONDS, OFF(alert_denial_window), 1, 86400},
    {"alert_collateral_warning", K_SECONDS, OFF(alert_collateral_warning), 0, 365 * 86400},
    {"alert_certificate_warning", K_SECONDS, OFF(alert_certificate_warning), 0, 3650 * 86400},
    {"alert_dedup_window", K_SECONDS, OFF(alert_dedup_window), 1, 86400},
    {"alert_check_interval", K_SECONDS, OFF(alert_check_interval), 1, 3600},
    {"audit_database", K_PATH, OFF(audit_database), 0, 0},
    {"audit_retention_days", K_COUNT, OFF(audit_retention_days), 0, 36500},
    {"audit_checkpoint_interval", K_SECONDS, OFF(audit_checkpoint_interval), 1, 86400},
    {"audit_busy_timeout", K_COUNT, OFF(audit_busy_timeout), 1, 60000},
};
#undef OFF

static bool node_name_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= ' ' || s[i] > '~') {
            return false;
        }
    }
    return n >= 1 && n <= 255;
}

static void mark_set(struct att_config *c, const char *key)
{
    if (strcmp(key, "database") == 0) {
        c->set_database = true;
    } else if (strcmp(key, "node_name") == 0) {
        c->set_node_name = true;
    } else if (strcmp(key, "audit_database") == 0) {
        c->set_audit_database = true;
    } else if (strcmp(key, "tls_cert") == 0) {
        c->set_tls_cert = true;
    } else if (strcmp(key, "tls_key") == 0) {
        c->set_tls_key = true;
    } else if (strcmp(key, "kek_file") == 0) {
        c->set_kek_file = true;
    } else if (strcmp(key, "public_url") == 0) {
        c->set_public_url = true;
    } else if (strcmp(key, "admin_socket") == 0) {
        c->set_admin_socket = true;
    }
}

/* A user name as useradd takes it: [a-z_][a-z0-9_-]*, up to 32 characters. */
static bool valid_user_name(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 32 || !((v[0] >= 'a' && v[0] <= 'z') || v[0] == '_')) {
        return false;
    }
    for (const char *p = v; *p != 0; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')) {
            return false;
        }
    }
    return true;
}

static bool valid_env_name(const char *v)
{
    if (v[0] == 0 || (v[0] >= '0' && v[0] <= '9')) {
        return false;
    }
    for (const char *p = v; *p != 0; p++) {
        bool ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= '0' && *p <= '9') || *p == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

att_err att_config_set(struct att_config *c, const char *key, const char *value, char *msg,
                       size_t msg_len)
{
    const struct key_def *k = NULL;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(keys[i].name, key) == 0) {
            k = &keys[i];
        }
    }
    if (k == NULL) {
        snprintf(msg, msg_len, "unknown key '%.64s'", key);
        return ATT_ERR_CONFIG;
    }
    void *field = (char *)c + k->offset;
    unsigned long long n = 0;
    switch (k->kind) {
    case K_LISTEN:
        if (c->n_listen == ATT_CONFIG_MAX_LISTEN) {
            snprintf(msg, msg_len, "listen: at most %d addresses", ATT_CONFIG_MAX_LISTEN);
            return ATT_ERR_CONFIG;
        }
        ATT_TRY(set_string(c->listen[c->n_listen], sizeof(c->listen[0]), value, msg, msg_len, key));
        c->n_listen++;
        return ATT_OK;
    case K_BOOL_ENABLED:
        if (strcmp(value, "enabled") == 0 || strcmp(value, "disabled") == 0) {
            *(bool *)field = strcmp(value, "enabled") == 0;
            return ATT_OK;
        }
        snprintf(msg, msg_len, "%s: expected 'enabled' or 'disabled'", key);
        return ATT_ERR_CONFIG;
    case K_NETS:
        if (att_acl_parse(value, (struct att_acl *)field) != ATT_OK) {
            snprintf(msg, msg_len,
                     "%s: expected a comma-separated list of CIDR blocks such as 10.0.0.0/8, "
                     "fd00::/8 (at most %d)",
                     key, ATT_ACL_MAX);
            return ATT_ERR_CONFIG;
        }
        snprintf(c->allowed_networks_text, sizeof(c->allowed_networks_text), "%s", value);
        return ATT_OK;
    case K_ADDR: return set_string(field, sizeof(c->metrics_listen), value, msg, msg_len, key);
    case K_PATH:
        ATT_TRY(set_string(field, ATT_CONFIG_PATH_MAX, value, msg, msg_len, key));
        mark_set(c, key);
        return ATT_OK;
    case K_SOCKET:
        ATT_TRY(set_string(field, sizeof(c->admin_socket), value, msg, msg_len, key));
        mark_set(c, key);
        return ATT_OK;
    case K_PKCS11:
        if (strncmp(value, "pkcs11:", 7) != 0) {
            snprintf(msg, msg_len, "%s: expected a PKCS#11 URI (RFC 7512), pkcs11:...", key);
            return ATT_ERR_CONFIG;
        }
        return set_string(field, ATT_CONFIG_PATH_MAX, value, msg, msg_len, key);
    case K_NAME:
        if (!valid_env_name(value) || strlen(value) >= sizeof(c->kek_env)) {
            snprintf(msg, msg_len, "%s: expected an environment variable name", key);
            return ATT_ERR_CONFIG;
        }
        return set_string(field, sizeof(c->kek_env), value, msg, msg_len, key);
    case K_USER:
        if (!valid_user_name(value)) {
            snprintf(msg, msg_len, "%s: expected a user name ([a-z_][a-z0-9_-]*, at most 32)", key);
            return ATT_ERR_CONFIG;
        }
        return set_string(field, sizeof(c->user), value, msg, msg_len, key);
    case K_URL:
        if (att_provider_issuer_check(value) != ATT_OK) {
            snprintf(msg, msg_len,
                     "%s: expected an https:// URL without a trailing slash, query "
                     "or fragment",
                     key);
            return ATT_ERR_CONFIG;
        }
        ATT_TRY(set_string(field, sizeof(c->public_url), value, msg, msg_len, key));
        mark_set(c, key);
        return ATT_OK;
    case K_STORE:
        if (strcmp(value, "sqlite") == 0) {
            ((char *)field)[0] = '\0';
            return ATT_OK;
        }
        if (att_store_url_check(value, msg, msg_len) != ATT_OK) {
            return ATT_ERR_CONFIG;
        }
        return set_string(field, sizeof(c->store), value, msg, msg_len, key);
    case K_NODE:
        if (!node_name_ok(value)) {
            snprintf(msg, msg_len, "%s: expected 1 to 255 printable ASCII characters, no spaces",
                     key);
            return ATT_ERR_CONFIG;
        }
        mark_set(c, key);
        return set_string(field, sizeof(c->node_name), value, msg, msg_len, key);
    case K_WEBHOOK:
        if (!webhook_url_ok(value)) {
            snprintf(msg, msg_len,
                     "%s: expected an https:// URL with a host, without user:password@, a "
                     "fragment, spaces or control characters",
                     key);
            return ATT_ERR_CONFIG;
        }
        ATT_TRY(set_string(field, sizeof(c->alert_webhook_url), value, msg, msg_len, key));
        mark_set(c, key);
        return ATT_OK;
    case K_ALG: {
        enum att_jws_alg alg;
        if (att_jws_alg_parse(value, &alg) != ATT_OK || !att_jws_alg_can_sign(alg)) {
            snprintf(msg, msg_len, "%s: expected RS256 or ES256", key);
            return ATT_ERR_CONFIG;
        }
        *(enum att_jws_alg *)field = alg;
        return ATT_OK;
    }
    case K_SIZE:
        if (parse_size(value, k->min, k->max, &n) != ATT_OK) {
            snprintf(msg, msg_len, "%s: expected a size from %llu to %llu bytes, like 256k or 1m",
                     key, k->min, k->max);
            return ATT_ERR_CONFIG;
        }
        *(size_t *)field = (size_t)n;
        return ATT_OK;
    case K_SECONDS:
    case K_COUNT:
        if (parse_uint(value, k->min, k->max, &n) != ATT_OK) {
            snprintf(msg, msg_len, "%s: expected a whole number from %llu to %llu%s", key, k->min,
                     k->max, k->kind == K_SECONDS ? " (seconds)" : "");
            return ATT_ERR_CONFIG;
        }
        *(unsigned *)field = (unsigned)n;
        return ATT_OK;
    case K_OUTPUT:
        if (strcmp(value, "stderr") != 0 && strcmp(value, "file") != 0 &&
            strcmp(value, "syslog") != 0) {
            snprintf(msg, msg_len, "%s: expected stderr, file or syslog", key);
            return ATT_ERR_CONFIG;
        }
        return set_string(field, sizeof(c->log_output), value, msg, msg_len, key);
    case K_LEVEL:
        if (att_log_level_parse(value, (enum att_log_level *)field) != ATT_OK) {
            snprintf(msg, msg_len, "%s: expected debug, info, warn or error", key);
            return ATT_ERR_CONFIG;
        }
        return ATT_OK;
    default: snprintf(msg, msg_len, "%s: internal error", key); return ATT_ERR_INTERNAL;
    }
}

/* Copy a view into a NUL-terminated string; refuses NUL bytes and overlong text. */
static bool view_to_cstr(struct att_bytes b, char *out, size_t cap)
{
    if (b.len >= cap || (b.len > 0 && memchr(b.ptr, 0, b.len) != NULL)) {
        return false;
    }
    if (b.len > 0) {
        memcpy(out, b.ptr, b.len);
    }
    out[b.len] = 0;
    return true;
}

static att_err parse_line(struct att_config *c, struct att_bytes line, bool seen[], char *msg,
                          size_t msg_len)
{
    struct att_rd r;
    struct att_bytes key_raw;
    struct att_bytes value_raw;
    char key[64];
    char value[4096];
    att_rd_init(&r, line.ptr, line.len);
    if (att_rd_until(&r, '=', &key_raw) != ATT_OK) {
        snprintf(msg, msg_len, "expected 'key = value'");
        return ATT_ERR_CONFIG;
    }
    att_rd_rest(&r, &value_raw);
    key_raw = att_bytes_trim(key_raw);
    value_raw = att_bytes_trim(value_raw);
    if (key_raw.len == 0 || !view_to_cstr(key_raw, key, sizeof(key))) {
        snprintf(msg, msg_len, "expected 'key = value'");
        return ATT_ERR_CONFIG;
    }
    if (!view_to_cstr(value_raw, value, sizeof(value))) {
        snprintf(msg, msg_len, "%s: value too long or contains NUL", key);
        return ATT_ERR_CONFIG;
    }
    /* Surrounding double quotes are allowed and removed: path = "/a b/c". */
    size_t vn = strlen(value);
    if (vn >= 2 && value[0] == '"' && value[vn - 1] == '"') {
        memmove(value, value + 1, vn - 2);
        value[vn - 2] = 0;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(keys[i].name, key) == 0 && keys[i].kind != K_LISTEN) {
            if (seen[i]) {
                snprintf(msg, msg_len, "%s: set twice", key);
                return ATT_ERR_CONFIG;
            }
            seen[i] = true;
        }
    }
    return att_config_set(c, key, value, msg, msg_len);
}

static att_err read_file(const char *path, struct att_buf *out, char *msg, size_t msg_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, msg_len, "%s: cannot open: %s", path, strerror(errno));
        return ATT_ERR_IO;
    }
    att_err rc = ATT_OK;
    for (;;) {
        uint8_t chunk[4096];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            snprintf(msg, msg_len, "%s: cannot read: %s", path, strerror(errno));
            rc = ATT_ERR_IO;
            break;
        }
        if (n == 0) {
            break;
        }
        if (att_buf_put(out, chunk, (size_t)n) != ATT_OK) {
            snprintf(msg, msg_len, "%s: larger than %d bytes", path, ATT_CONFIG_MAX_FILE);
            rc = ATT_ERR_TOO_LARGE;
            break;
        }
    }
    close(fd);
    return rc;
}

att_err att_config_parse_text(struct att_config *c, const char *name, const uint8_t *text,
                              size_t len, char *msg, size_t msg_len)
{
    struct att_rd r;
    struct att_config tmp = *c;
    bool seen[sizeof(keys) / sizeof(keys[0])] = {false};
    char detail[512];
    size_t lineno = 0;
    att_err rc = ATT_OK;

    /* A config file naming listen replaces the default listen list entirely. */
    tmp.n_listen = 0;
    att_rd_init(&r, text, len);
    while (rc == ATT_OK && att_rd_left(&r) > 0) {
        struct att_bytes line;
        lineno++;
        if (att_rd_until(&r, '\n', &line) != ATT_OK) {
            att_rd_rest(&r, &line);
        }
        struct att_bytes t = att_bytes_trim(line);
        if (t.len > 0 && t.ptr[t.len - 1] == '\r') {
            t.len--;
            t = att_bytes_trim(t);
        }
        if (t.len == 0 || t.ptr[0] == '#') {
            continue;
        }
        rc = parse_line(&tmp, t, seen, detail, sizeof(detail));
        if (rc != ATT_OK) {
            snprintf(msg, msg_len, "%s:%zu: %s", name, lineno, detail);
        }
    }
    if (rc == ATT_OK) {
        if (tmp.n_listen == 0) {
            memcpy(tmp.listen, c->listen, sizeof(tmp.listen));
            tmp.n_listen = c->n_listen;
        }
        *c = tmp;
    }
    return rc;
}

att_err att_config_load_file(struct att_config *c, const char *path, char *msg, size_t msg_len)
{
    struct att_buf text;
    att_buf_init(&text, ATT_CONFIG_MAX_FILE);
    att_err rc = read_file(path, &text, msg, msg_len);
    if (rc == ATT_OK) {
        rc = att_config_parse_text(c, path, text.data, text.len, msg, msg_len);
    }
    att_buf_cleanup(&text);
    return rc;
}

static att_err derive_path(char *dst, const char *dir, const char *name, char *msg, size_t msg_len)
{
    int n = snprintf(dst, ATT_CONFIG_PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= ATT_CONFIG_PATH_MAX) {
        snprintf(msg, msg_len, "data_dir: path too long");
        return ATT_ERR_CONFIG;
    }
    return ATT_OK;
}

att_err att_config_finish(struct att_config *c, char *msg, size_t msg_len)
{
    if (c->n_listen == 0) {
        snprintf(c->listen[0], sizeof(c->listen[0]), "%s", "127.0.0.1:8443");
        c->n_listen = 1;
    }
    if (!c->set_database) {
        ATT_TRY(derive_path(c->database, c->data_dir, "attestd.db", msg, msg_len));
    }
    if (!c->set_node_name && c->store[0] != '\0') { /* nodes share the store: tell them apart */
        char name[sizeof(c->node_name)];
        att_config_cluster_node_name(c, name, sizeof(name));
        memcpy(c->node_name, name, sizeof(name));
        if (!node_name_ok(c->node_name)) {
            snprintf(msg, msg_len, "node_name: set it (the host name and data_dir make no name)");
            return ATT_ERR_CONFIG;
        }
    }
    if (c->log_output[0] == 0) {
        snprintf(c->log_output, sizeof(c->log_output), "%s",
                 c->log_file[0] != 0 ? "file" : "stderr");
    }
    if (strcmp(c->log_output, "file") == 0 && c->log_file[0] == 0) {
        snprintf(msg, msg_len, "log_output = file needs log_file");
        return ATT_ERR_CONFIG;
    }
    /*
     * A key must be published for its lead time before it signs (a shorter period would have
     * two keys waiting at once), and a retired key must be gone before the next-but-one
     * rotation, or retired keys pile up to ATT_PROVIDER_KEYS_MAX and rotation stops.
     */
    uint64_t retire = (uint64_t)c->attest_token_lifetime + c->signing_key_retire_leeway +
                      2 * ATT_KEY_CHECK_INTERVAL;
    if (c->signing_key_rotation != 0 &&
        (c->signing_key_rotation <= c->signing_key_lead_time + ATT_KEY_CHECK_INTERVAL ||
         c->signing_key_rotation < retire)) {
        snprintf(msg, msg_len,
                 "signing_key_rotation must be 0 (off), longer than signing_key_lead_time plus "
                 "%d seconds, and at least attest_token_lifetime plus "
                 "signing_key_retire_leeway plus %d seconds (here %llu)",
                 ATT_KEY_CHECK_INTERVAL, 2 * ATT_KEY_CHECK_INTERVAL, (unsigned long long)retire);
        return ATT_ERR_CONFIG;
    }
    if (!c->set_audit_database) {
        ATT_TRY(derive_path(c->audit_database, c->data_dir, "audit.db", msg, msg_len));
    }
    if (!c->set_tls_cert) {
        ATT_TRY(derive_path(c->tls_cert, c->data_dir, "tls/server.pem", msg, msg_len));
    }
    if (!c->set_tls_key) {
        ATT_TRY(derive_path(c->tls_key, c->data_dir, "tls/server.key", msg, msg_len));
    }
    if (!c->set_kek_file) {
        ATT_TRY(derive_path(c->kek_file, c->data_dir, "kek.key", msg, msg_len));
    }
    if (!c->set_admin_socket) {
        /* (a Unix socket path is at most 107 bytes: a longer data_dir has none by default) */
        char path[ATT_CONFIG_PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/admin.sock", c->data_dir);
        snprintf(c->admin_socket, sizeof(c->admin_socket), "%s",
                 strlen(path) < sizeof(c->admin_socket) ? path : "none");
    }
    if (!c->set_public_url) {
        /* The first listen address, as clients on this machine reach it. */
        int n = snprintf(c->public_url, sizeof(c->public_url), "https://%s", c->listen[0]);
        if (n < 0 || (size_t)n >= sizeof(c->public_url)) {
            snprintf(msg, msg_len, "public_url: too long");
            return ATT_ERR_CONFIG;
        }
    }
    return ATT_OK;
}

const char *att_config_store_where(const struct att_config *c)
{
    return c->store[0] != '\0' ? c->store : c->database;
}

const char *att_config_store_label(const struct att_config *c)
{
    return c->store[0] != '\0' ? "postgresql" : c->database;
}

void att_config_cluster_node_name(const struct att_config *c, char *out, size_t n)
{
    if (c->set_node_name) {
        snprintf(out, n, "%s", c->node_name);
        return;
    }
    char host[256] = "";
    (void)gethostname(host, sizeof(host) - 1);
    int len = snprintf(out, n, "%s:%s", host, c->data_dir);
    if (len < 0 || (size_t)len >= n) {
        out[0] = '\0';
    }
}
