/*
 * config.h - attestd configuration: defaults, the config file, and flags.
 *
 * File format (docs/config.md): one `key = value` per line; `#` starts a
 * comment line; blank lines are ignored; `listen` may repeat, every other
 * key may appear once. Unknown keys and bad values stop the start with
 * "FILE:LINE: message". Command-line flags override the file.
 */
#ifndef ATT_SERVER_CONFIG_H
#define ATT_SERVER_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/log.h"
#include "http/acl.h"
#include "token/jws.h"

#define ATT_CONFIG_MAX_LISTEN 8
#define ATT_CONFIG_PATH_MAX 1024
#define ATT_CONFIG_MAX_FILE (256 * 1024)

struct att_config {
    char listen[ATT_CONFIG_MAX_LISTEN][128];
    size_t n_listen;
    bool public_network_access;
    char allowed_networks_text[2048];
    struct att_acl allowed_networks;
    char data_dir[ATT_CONFIG_PATH_MAX];
    char database[ATT_CONFIG_PATH_MAX];
    /* `store`: "" (SQLite at `database`, the default) or a PostgreSQL URL shared by every node
     * (docs/operations.md "Scale-out"); att_config_store_where says which. */
    char store[ATT_CONFIG_PATH_MAX];
    /* `node_name`: this node among those sharing a store (its audit checkpoint's key, its
     * metrics' label). Default: "" on SQLite (one node), "<hostname>:<data_dir>" on PostgreSQL. */
    char node_name[256];
    char tls_cert[ATT_CONFIG_PATH_MAX];
    char tls_key[ATT_CONFIG_PATH_MAX];
    char tls_client_ca[ATT_CONFIG_PATH_MAX]; /* "" = no mutual TLS */
    char issuers_file[ATT_CONFIG_PATH_MAX];  /* "" = no external token issuers */
    char kek_file[ATT_CONFIG_PATH_MAX];
    char kek_env[128];
    /* The KEK in a PKCS#11 token (src/seal/pkcs11.h); when set, kek_file and kek_env are not
     * used. */
    char kek_pkcs11[ATT_CONFIG_PATH_MAX];
    /* The PKCS#11 token in which new token signing keys are made (src/seal/pkcs11.h). */
    char signing_keys_pkcs11[ATT_CONFIG_PATH_MAX];
    bool key_process; /* keys in a process of their own (src/keyd) */
    /* Started as root, attestd and its key worker become this user (server/privdrop.h);
     * "" = stay who started it. */
    char user[33];
    /* The admin socket attestctl administers the running daemon through (src/admin/serve.c);
     * "none": no socket. Default <data_dir>/admin.sock. */
    char admin_socket[108];
    /* Members of this group act as Owner on the admin socket, besides root and `user`. */
    char admin_group[33];
    /* attestd's process id is written here once it serves, removed when it stops; "" none. */
    char pid_file[ATT_CONFIG_PATH_MAX];
    char public_url[512];
    enum att_jws_alg default_signing_alg;
    size_t max_body_size;
    size_t max_header_size;
    unsigned read_timeout;
    unsigned write_timeout;
    unsigned idle_timeout;
    unsigned handshake_timeout;
    unsigned request_timeout;
    unsigned shutdown_timeout;
    unsigned max_connections;
    unsigned max_connections_per_address; /* 0 = no cap */
    unsigned threads;
    unsigned job_threads; /* 0 = one per core */
    unsigned job_queue;
    unsigned auth_max_failures;
    unsigned auth_failure_window;
    unsigned auth_block_seconds;
    /* Intel DCAP collateral (issue 5; docs/config.md) */
    char pcs_url[512];          /* PCS v4 / PCCS base URL; "" = offline (imported bundles) */
    char pcs_root_crl_url[512]; /* "" = Intel's IntelSGXRootCA.der */
    char pcs_ca_file[ATT_CONFIG_PATH_MAX];        /* "" = the system's trust store */
    char dcap_trust_anchors[ATT_CONFIG_PATH_MAX]; /* "" = the built-in Intel SGX Root CA */
    /* AMD SEV-SNP collateral (issue 13; docs/config.md) */
    char kds_url[512];                           /* AMD KDS base URL; "" = offline */
    char kds_ca_file[ATT_CONFIG_PATH_MAX];       /* "" = the system's trust store */
    char amd_trust_anchors[ATT_CONFIG_PATH_MAX]; /* "" = the built-in ARKs */
    bool amd_crl_check; /* refuse SEV-SNP evidence without a current CRL; default enabled */
    /* TPM (issue 14; docs/config.md) */
    char tpm_ak_roots[ATT_CONFIG_PATH_MAX]; /* PEM CAs of AK certificates; "" = none */
    unsigned collateral_grace;              /* seconds past nextUpdate; default 0 */
    unsigned collateral_refresh_interval;   /* seconds between refresh passes; 60 */
    unsigned pcs_timeout;                   /* seconds per upstream request; default 5 */
    unsigned attest_token_lifetime;         /* seconds; default 28800 (MAA) */
    /* Signing-key rotation (docs/operations.md "Signing-key rotation"), seconds: */
    unsigned signing_key_rotation;      /* a provider key's signing period; 0 = by hand only */
    unsigned signing_key_lead_time;     /* published this long before it signs; 86400 */
    unsigned signing_key_retire_leeway; /* kept this long past its last token's expiry; 300 */
    char log_file[ATT_CONFIG_PATH_MAX];
    char log_output[8];                      /* "stderr", "file" or "syslog"; from log_file */
    char syslog_socket[ATT_CONFIG_PATH_MAX]; /* log_output = syslog: "/dev/log" */
    enum att_log_level log_level;
    unsigned log_summary_interval; /* seconds between summaries of repeated events */
    bool core_dumps;               /* false: not dumpable, RLIMIT_CORE 0 (daemon.c) */
    /* An HTTPS listener serving only GET /metrics, without authentication (for a scraper on
     * the same host); "" = none (docs/operations.md, "Monitoring") */
    char metrics_listen[128];
    /* Alerts (issue 15; docs/operations.md, "Alerts") */
    char alert_webhook_url[512];                         /* "" = no webhook */
    char alert_webhook_secret_file[ATT_CONFIG_PATH_MAX]; /* HMAC key of the webhook */
    char alert_webhook_ca_file[ATT_CONFIG_PATH_MAX];     /* "" = the system's */
    char alert_syslog_socket[ATT_CONFIG_PATH_MAX];       /* "" = no syslog delivery */
    unsigned alert_queue;
    unsigned alert_auth_failures, alert_auth_window;
    unsigned alert_denials, alert_denial_window;
    unsigned alert_collateral_warning, alert_certificate_warning; /* seconds */
    unsigned alert_dedup_window, alert_check_interval;
    /* The audit trail (issue 15; docs/operations.md, "Audit trail") */
    char audit_database[ATT_CONFIG_PATH_MAX]; /* default <data_dir>/audit.db */
    unsigned audit_retention_days;            /* 0 = kept for good; default 365 */
    unsigned audit_checkpoint_interval;       /* seconds between signed checkpoints; 60 */
    unsigned audit_busy_timeout;              /* ms a write waits for a lock; 2000 */
    /* which keys were set explicitly (so derived defaults know) */
    bool set_database, set_node_name, set_audit_database, set_tls_cert, set_tls_key, set_kek_file,
        set_public_url, set_admin_socket;
};

/* Built-in defaults (everything private: loopback only). */
void att_config_defaults(struct att_config *c);

/*
 * Read `path` into `c`. On failure `msg` holds "path:line: what is wrong".
 */
att_err att_config_load_file(struct att_config *c, const char *path, char *msg,
                             size_t msg_len) ATT_WUR;

/* The same, from text in memory; `name` stands for the file in messages. */
att_err att_config_parse_text(struct att_config *c, const char *name, const uint8_t *text,
                              size_t len, char *msg, size_t msg_len) ATT_WUR;

/*
 * Set one key from text (used by the file parser and by flags).
 * On failure `msg` says what is wrong (without location).
 */
att_err att_config_set(struct att_config *c, const char *key, const char *value, char *msg,
                       size_t msg_len) ATT_WUR;

/*
 * Fill values derived from others (paths under data_dir, public_url from the
 * first listen address) and check the whole: e.g. listen addresses given.
 */
att_err att_config_finish(struct att_config *c, char *msg, size_t msg_len) ATT_WUR;

/* Where the store is: the PostgreSQL URL of `store`, else the SQLite file of `database`. */
const char *att_config_store_where(const struct att_config *c);
/* This node's name among nodes sharing a store: node_name, else "<hostname>:<data_dir>" (what
 * a node on PostgreSQL uses when node_name is not set). "" when that does not fit `n`. */
void att_config_cluster_node_name(const struct att_config *c, char *out, size_t n);
/* How messages name it: the SQLite path, or "postgresql" (the URL is never shown). */
const char *att_config_store_label(const struct att_config *c);

#endif
