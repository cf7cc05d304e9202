/*
 * daemon.c - start-up, signal handling and shutdown of attestd.
 *
 * Start-up order: log -> core dumps off -> data dir -> TLS -> listeners (bound, not yet
 * accepting) -> KEK -> store (migrations) -> keyring -> default provider ->
 * provider set -> auth key -> bootstrap owner -> trusted issuers (keys fetched) -> workers.
 * Every failure before serving prints one clear line and exits non-zero.
 */
#include "server/daemon.h"

#include "server/daemon_int.h"
#include "server/notify.h"
#include "server/privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "api/api.h"
#include "auth/access.h"
#include "auth/backoff.h"
#include "auth/issuers.h"
#include "collateral/amd.h"
#include "collateral/scopes.h"
#include "collateral/service.h"
#include "core/file.h"
#include "evidence/intel/intel_root.h"
#include "evidence/tpm/memo.h"
#include "evidence/tpm/tpm.h"
#include "policymgmt/cache.h"
#include "auth/principal.h"
#include "core/mem.h"
#include "core/log.h"
#include "core/log_summary.h"
#include "core/timeutil.h"
#include "http/server.h"
#include "http/tls.h"
#include "net/https.h"
#include "provider/provider.h"
#include "alert/alert.h"
#include "audit/audit.h"
#include "seal/keyring.h"
#include "seal/seal.h"
#include "store/store.h"
#include "x509/certs.h"

#define TPM_AK_ROOTS_MAX ((size_t)1 << 20) /* tpm_ak_roots: bytes of PEM */
#define TPM_AK_ROOTS_COUNT 256             /* and certificates */
#define METRICS_CONNECTIONS 64             /* connections the metrics listener takes at most */
#define POLICY_CACHE_MS 2000               /* a policy changed on another node shows within this */

/* ---- the audit trail (src/audit/audit.h) ---- */

static att_err sign_checkpoint(void *arg, const char *payload, size_t len, struct att_buf *jws)
{
    struct daemon *d = arg;
    return att_auth_sign(d->auth, ATT_AUDIT_CHECKPOINT_TYP, payload, len, jws);
}

/* The newest checkpoint also goes to the state database: a trail cut at its end is then seen. */
static void save_checkpoint(void *arg, int64_t seq, const char *hash, const char *jws)
{
    struct daemon *d = arg;
    int64_t kept = 0;
    char kept_hash[65];
    /* Never backwards: a trail that restarted lower must not erase what the old one covered. */
    if (att_store_audit_checkpoint_get(d->store, d->cfg->node_name, &kept, kept_hash) == ATT_OK &&
        seq < kept) {
        att_log(ATT_LOG_ERROR, "audit: the trail is behind its newest kept checkpoint",
                "checkpoint_seq", json_integer(kept), "trail_seq", json_integer(seq), NULL);
        return;
    }
    att_err rc =
        att_store_audit_checkpoint_put(d->store, d->cfg->node_name, seq, hash, jws, att_time_now());
    if (rc != ATT_OK) {
        att_log(ATT_LOG_ERROR, "audit: cannot keep the newest checkpoint in the state database",
                "error", json_string(att_err_name(rc)), NULL);
    }
}

/* A record of the service itself (start, reload, stop); logged when it cannot be written. */
void att_daemon_audit_service(struct daemon *d, const char *action, json_t *detail)
{
    struct att_audit_event ev = {
        ATT_AUDIT_SYSTEM, action, "success", "", "attestd", "", "", "", detail};
    att_err rc = att_audit_write(d->audit, &ev);
    if (rc != ATT_OK) {
        att_log(ATT_LOG_ERROR, "audit: cannot record a service event", "action",
                json_string(action), "error", json_string(att_err_name(rc)), NULL);
    }
}

static int audit_setup(struct daemon *d)
{
    const struct att_config *cfg = d->cfg;
    struct att_audit_config ac = {
        .path = cfg->audit_database,
        .busy_ms = (int)cfg->audit_busy_timeout,
        .retention_days = cfg->audit_retention_days,
        .checkpoint_interval_s = cfg->audit_checkpoint_interval,
        .sign = sign_checkpoint,
        .sign_arg = d,
        .checkpointed = save_checkpoint,
        .checkpointed_arg = d,
    };
    att_err rc = att_audit_open(&ac, &d->audit);
    if (rc != ATT_OK) {
        char msg[ATT_CONFIG_PATH_MAX + 128];
        snprintf(msg, sizeof(msg), "%s: %s", cfg->audit_database, att_err_str(rc));
        return att_daemon_startup_error("audit trail", msg);
    }
    /* The newest checkpoint the state database keeps must still be in the trail: else records
     * were cut off or the file replaced, and writing on would hide it. */
    int64_t cp_seq = 0;
    char cp_hash[65];
    bool held = true;
    rc = att_store_audit_checkpoint_get(d->store, d->cfg->node_name, &cp_seq, cp_hash);
    if (rc == ATT_OK) {
        rc = att_audit_holds(d->audit, cp_seq, cp_hash, &held);
    }
    if (rc != ATT_OK && rc != ATT_ERR_NOT_FOUND) {
        return att_daemon_startup_error("audit trail", att_err_str(rc));
    }
    if (!held) {
        /* Closed unused: no stop record, no checkpoint over the stranger trail. */
        att_audit_close(d->audit);
        d->audit = NULL;
        char msg[ATT_CONFIG_PATH_MAX + 512];
        snprintf(msg, sizeof(msg),
                 "%s does not hold record %lld, which the newest checkpoint kept in the state "
                 "database covers: records were removed. Restore the audit database from a "
                 "backup, or record the loss with `attestctl audit acknowledge-loss`",
                 cfg->audit_database, (long long)cp_seq);
        return att_daemon_startup_error("audit trail", msg);
    }
    att_daemon_audit_service(d, "service.start", json_pack("{s:s}", "version", ATT_VERSION));
    return 0;
}

static int alerts_setup(struct daemon *d)
{
    const struct att_config *cfg = d->cfg;
    char msg[ATT_CONFIG_PATH_MAX + 256];
    struct att_alert_config ac = {
        .webhook_url = cfg->alert_webhook_url,
        .webhook_secret_file = cfg->alert_webhook_secret_file,
        .webhook_ca_file = cfg->alert_webhook_ca_file,
        .syslog_socket = cfg->alert_syslog_socket,
        .queue = cfg->alert_queue,
        .auth_failures = cfg->alert_auth_failures,
        .auth_window = cfg->alert_auth_window,
        .denials = cfg->alert_denials,
        .denial_window = cfg->alert_denial_window,
        .collateral_warning = cfg->alert_collateral_warning,
        .certificate_warning = cfg->alert_certificate_warning,
        .dedup_window = cfg->alert_dedup_window,
        .check_interval = cfg->alert_check_interval,
        .tls_cert = cfg->tls_cert,
        .host = cfg->public_url,
    };
    msg[0] = 0;
    att_err rc = att_alerts_start(&ac, d->audit, d->store, &d->alerts, msg, sizeof(msg));
    if (rc != ATT_OK) {
        return att_daemon_startup_error("alerts", msg[0] != 0 ? msg : att_err_str(rc));
    }
    return 0;
}

static att_err count_principal(const struct att_principal_rec *p, void *arg)
{
    (void)p;
    (*(size_t *)arg)++;
    return ATT_OK;
}

/*
 * First run: with no principal at all, create "bootstrap-owner" with the Owner role on every
 * provider and write its credentials, once, to DATA_DIR/bootstrap-owner.json (mode 0600,
 * never overwritten). Without it nobody could ever call an admin route.
 */
static int bootstrap_owner(struct daemon *d)
{
    const struct att_config *cfg = d->cfg;
    size_t n = 0;
    char path[ATT_CONFIG_PATH_MAX + 32];
    if (att_store_principal_list(d->store, count_principal, &n) != ATT_OK) {
        return att_daemon_startup_error("bootstrap owner", "cannot list principals");
    }
    if (n > 0) {
        return 0;
    }
    snprintf(path, sizeof(path), "%s/bootstrap-owner.json", cfg->data_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        char msg[ATT_CONFIG_PATH_MAX + 128];
        snprintf(msg, sizeof(msg), "%s: %s (remove it to create a new bootstrap owner)", path,
                 strerror(errno));
        return att_daemon_startup_error("bootstrap owner", msg);
    }
    struct att_principal_rec p;
    struct att_new_secret sec;
    struct att_role_rec r;
    int64_t now = att_time_now();
    att_err rc = att_principal_create(d->store, "bootstrap-owner", now, 0, &p, &sec);
    bool created = rc == ATT_OK;
    memset(&r, 0, sizeof(r));
    if (rc == ATT_OK) {
        snprintf(r.id, sizeof(r.id), "%.32s", sec.id); /* any unique id; reuse the random one */
        snprintf(r.subject_kind, sizeof(r.subject_kind), "%s", "principal");
        snprintf(r.subject, sizeof(r.subject), "%s", p.id);
        snprintf(r.role, sizeof(r.role), "%s", "Owner");
        snprintf(r.provider, sizeof(r.provider), "%s", "*");
        r.created_at = now;
        rc = att_store_role_insert(d->store, &r);
    }
    json_t *doc =
        rc == ATT_OK ? json_pack("{s:s,s:s,s:s,s:s}", "client_id", p.id, "client_secret",
                                 sec.secret, "token_endpoint", "", "role", "Owner on all providers")
                     : NULL;
    char endpoint[600];
    snprintf(endpoint, sizeof(endpoint), "%s/oauth2/token", cfg->public_url);
    if (doc != NULL) {
        json_object_set_new(doc, "token_endpoint", json_string(endpoint));
    }
    char *text = doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    bool written = text != NULL && write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
                   write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (text != NULL) {
        att_wipe(text, strlen(text));
        free(text);
    }
    json_decref(doc);
    att_new_secret_wipe(&sec);
    close(fd);
    if (!written) {
        /* Undo, so the next start bootstraps again instead of finding a principal nobody can use.
         */
        if (created) {
            att_ignore_err(att_store_principal_delete(d->store, p.id)); /* its roles go with it */
        }
        unlink(path);
        return att_daemon_startup_error("bootstrap owner",
                                        rc != ATT_OK ? att_err_str(rc)
                                                     : "cannot write the credentials file");
    }
    att_daemon_audit_service(d, "principal.bootstrap",
                             json_pack("{s:s,s:s,s:s}", "principal", p.id, "name",
                                       "bootstrap-owner", "role", "Owner on all providers"));
    att_log(ATT_LOG_INFO, "created the bootstrap owner; its credentials are in the file",
            "principal", json_string("bootstrap-owner"), "client_id", json_string(p.id), "file",
            json_string(path), NULL);
    if (!att_log_to_stderr()) { /* else the log line above said it: one JSON stream */
        fprintf(stderr, "attestd: first run: Owner credentials written to %s (mode 0600)\n", path);
    }
    return 0;
}

int att_daemon_startup_error(const char *what, const char *detail)
{
    att_log(ATT_LOG_ERROR, "cannot start", "step", json_string(what), "detail", json_string(detail),
            NULL);
    if (!att_log_to_stderr()) { /* the reason on the terminal too, when the log is elsewhere */
        fprintf(stderr, "attestd: %s: %s\n", what, detail);
    }
    return 1;
}

/*
 * Keys stay out of core dumps (docs/operations.md, "Core dumps"): before any secret is read,
 * the process is made non-dumpable (prctl(2) PR_SET_DUMPABLE: no core, no ptrace attach or
 * /proc/PID/mem by the same user without CAP_SYS_PTRACE) and its core size limit is set to 0,
 * soft and hard (a core_pattern pipe ignores RLIMIT_CORE, so both are needed). core_dumps =
 * enabled leaves both as they were, for debugging; key memory is then still marked
 * MADV_DONTDUMP (src/seal/keyring.c).
 */
static int keep_keys_out_of_core_dumps(const struct att_config *cfg)
{
    if (cfg->core_dumps) {
        att_log(ATT_LOG_WARN, "core dumps are allowed (core_dumps = enabled)", NULL);
        return 0;
    }
    struct rlimit none = {0, 0};
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &none) != 0) {
        return att_daemon_startup_error("core dumps", strerror(errno));
    }
    att_log(ATT_LOG_INFO, "core dumps disabled", "dumpable",
            json_integer(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)), NULL);
    return 0;
}

/*
 * Give up root (server/privdrop.h) once the listeners are bound and the TLS key is read; the
 * data directory must then belong to the service user.
 */
att_err att_daemon_check_data_dir(const struct att_config *cfg, char *msg, size_t n)
{
    if (cfg->user[0] == 0 || access(cfg->data_dir, R_OK | W_OK | X_OK) == 0 || errno == ENOENT) {
        return ATT_OK;
    }
    snprintf(msg, n, "%s: %s for user %s (chown -R %s it; the KEK file may stay root's)",
             cfg->data_dir, strerror(errno), cfg->user, cfg->user);
    return ATT_ERR_PERM;
}

static int drop_privileges(const struct att_config *cfg)
{
    char msg[512];
    uid_t uid;
    gid_t gid;
    /* The log file root made stays writable, and reopenable on SIGHUP, by the service user. */
    if (geteuid() == 0 && cfg->user[0] != 0 && strcmp(cfg->log_output, "file") == 0 &&
        att_privdrop_ids(cfg->user, &uid, &gid, msg, sizeof(msg)) == ATT_OK &&
        chown(cfg->log_file, uid, gid) != 0) {
        att_log(ATT_LOG_WARN, "cannot give the log file to the service user", "log_file",
                json_string(cfg->log_file), "error", json_string(strerror(errno)), NULL);
    }
    if (att_privdrop(cfg->user, cfg->core_dumps, msg, sizeof(msg)) != ATT_OK) {
        return att_daemon_startup_error("user", msg);
    }
    if (geteuid() == 0) {
        att_log(ATT_LOG_WARN,
                "attestd runs as root: set user = NAME (a service user, not root) to give root "
                "up once started",
                NULL);
    } else if (cfg->user[0] != 0) {
        att_log(ATT_LOG_INFO, "running as the service user", "user", json_string(cfg->user), "uid",
                json_integer(getuid()), NULL);
    }
    if (att_daemon_check_data_dir(cfg, msg, sizeof(msg)) != ATT_OK) {
        return att_daemon_startup_error("data_dir", msg);
    }
    return 0;
}

static att_err load_tls(const struct att_config *cfg, SSL_CTX **ctx, char *msg, size_t n)
{
    const char *detail = NULL;
    /* Root reads these before it becomes `user`, in directories that user may own: a link
     * planted there would make root load another file (another service's key). */
    const char *paths[3] = {cfg->tls_cert, cfg->tls_key, cfg->tls_client_ca};
    for (size_t i = 0; geteuid() == 0 && cfg->user[0] != '\0' && i < 3; i++) {
        if (paths[i][0] != '\0' && !att_path_links_root_only(paths[i])) {
            snprintf(msg, n,
                     "%s: a symbolic link on the way lies in a directory others than root may "
                     "change, or the file is missing; attestd reads it as root: name the file "
                     "itself",
                     paths[i]);
            return ATT_ERR_PERM;
        }
    }
    att_err rc =
        att_tls_ctx_new(cfg->tls_cert, cfg->tls_key,
                        cfg->tls_client_ca[0] != 0 ? cfg->tls_client_ca : NULL, ctx, &detail);
    if (rc != ATT_OK) {
        snprintf(msg, n, "%s (tls_cert %s, tls_key %s)", detail != NULL ? detail : "TLS error",
                 cfg->tls_cert, cfg->tls_key);
    }
    return rc;
}

/* The trusted external issuers (an empty registry without issuers_file). */
static att_err load_issuers(const struct att_config *cfg, struct att_issuers **out, char *msg,
                            size_t n)
{
    if (cfg->issuers_file[0] == 0) {
        return att_issuers_empty(out);
    }
    return att_issuers_load(cfg->issuers_file, cfg->public_url, out, msg, n);
}

static void reload(struct daemon *d)
{
    if (att_log_reopen() != ATT_OK) {
        const char *why = errno == ELOOP    ? "a symbolic link"
                          : errno == EINVAL ? "not a regular file"
                                            : strerror(errno);
        att_log(ATT_LOG_ERROR, "cannot reopen the log file; still writing to the old one",
                "log_file", json_string(d->cfg->log_file), "error", json_string(why), NULL);
    } else if (strcmp(d->cfg->log_output, "file") == 0) {
        att_log(ATT_LOG_INFO, "reopened the log file", "log_file", json_string(d->cfg->log_file),
                NULL);
    }
    char msg[1024];
    SSL_CTX *ctx = NULL;
    if (load_tls(d->cfg, &ctx, msg, sizeof(msg)) == ATT_OK) {
        att_tls_holder_swap(d->tls, ctx);
        att_log(ATT_LOG_INFO, "reloaded TLS certificate", "tls_cert", json_string(d->cfg->tls_cert),
                NULL);
    } else {
        att_log(ATT_LOG_ERROR, "TLS reload failed; keeping the old certificate", "detail",
                json_string(msg), NULL);
    }
    struct att_issuers *issuers = NULL;
    if (load_issuers(d->cfg, &issuers, msg, sizeof(msg)) == ATT_OK) {
        att_log(ATT_LOG_INFO, "reloaded issuers", "issuers",
                json_integer((json_int_t)att_issuers_count(issuers)), NULL);
    } else {
        att_log(ATT_LOG_ERROR, "issuers reload failed; keeping the old ones", "detail",
                json_string(msg), NULL);
    }
    att_err rc = att_daemon_install_providers(d, issuers);
    att_daemon_audit_service(d, "service.reload", json_pack("{s:b}", "providers", rc == ATT_OK));
    if (rc == ATT_OK) {
        att_log(ATT_LOG_INFO, "reloaded providers", NULL);
    } else {
        att_log(ATT_LOG_ERROR, "provider reload failed; keeping the old providers and issuers",
                "error", json_string(att_err_name(rc)), NULL);
    }
}

/*
 * Each connection holds a descriptor: raise the soft limit to the hard one, and keep
 * max_connections below it with a reserve for the store, the log and upstream fetches (64),
 * and for what the server holds beyond its connections (att_http_spare_descriptors: the event
 * loops' own descriptors, sockets being refused, handed between loops or waiting to be
 * closed), so running out of descriptors cannot be reached by connecting (the accept loop
 * would fail).
 */
static unsigned usable_connections(const struct att_config *cfg)
{
    const unsigned wanted = cfg->max_connections;
    /* The metrics listener's connections and its loop's own descriptors come out of it too;
     * the audit trail's two connections (three files each) fit in the 64. */
    const unsigned metrics =
        cfg->metrics_listen[0] != 0 ? METRICS_CONNECTIONS + att_http_spare_descriptors(1, 1) : 0;
    const unsigned reserve =
        64 + metrics + att_http_spare_descriptors(cfg->threads, (unsigned)cfg->n_listen);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return wanted;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            (void)getrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)wanted + reserve) {
        return wanted;
    }
    const unsigned least = 16;
    if (rl.rlim_cur < (rlim_t)reserve + least) {
        /* No setting is safe here; a few connections at least, and the operator told. */
        att_log(ATT_LOG_ERROR, "open-file limit too low: connecting may exhaust descriptors",
                "open_file_limit", json_integer((json_int_t)rl.rlim_cur), "reserve",
                json_integer(reserve), "using", json_integer(least), NULL);
        return least;
    }
    unsigned usable = (unsigned)(rl.rlim_cur - reserve);
    att_log(ATT_LOG_WARN, "max_connections lowered to fit the open-file limit", "max_connections",
            json_integer(wanted), "open_file_limit", json_integer((json_int_t)rl.rlim_cur),
            "reserve", json_integer(reserve), "using", json_integer(usable), NULL);
    return usable;
}

/*
 * Bind every listen address before any state is created, so a bad address or
 * a busy port fails the start without side effects.
 */
static int bind_listeners(struct daemon *d)
{
    const struct att_config *cfg = d->cfg;
    struct att_http_server_config hc = {
        .limits = {cfg->max_header_size, cfg->max_body_size},
        .read_timeout_s = cfg->read_timeout,
        .write_timeout_s = cfg->write_timeout,
        .idle_timeout_s = cfg->idle_timeout,
        .handshake_timeout_s = cfg->handshake_timeout,
        .request_timeout_s = cfg->request_timeout,
        .max_connections = usable_connections(cfg),
        .max_connections_per_address = cfg->max_connections_per_address,
        .max_requests_per_connection = 10000,
        .threads = cfg->threads,
        .job_threads = cfg->job_threads,
        .job_queue = cfg->job_queue,
        .acl = cfg->allowed_networks,
    };
    char msg[512];
    if (att_http_server_new(&hc, d->tls, att_api_handle, att_api_is_light, &d->api, &d->http) !=
        ATT_OK) {
        return att_daemon_startup_error("http", "cannot create the server");
    }
    for (size_t i = 0; i < cfg->n_listen; i++) {
        if (att_http_server_listen(d->http, cfg->listen[i], cfg->public_network_access, msg,
                                   sizeof(msg)) != ATT_OK) {
            return att_daemon_startup_error("listen", msg);
        }
    }
    if (cfg->metrics_listen[0] == 0) {
        return 0;
    }
    /* The metrics listener: small, one loop and one pool thread, its own connection cap (its
     * descriptors are reserved by usable_connections), few per source so that one client
     * cannot keep a scraper out. */
    hc.threads = 1;
    hc.job_threads = 1;
    hc.job_queue = 16;
    hc.max_connections = METRICS_CONNECTIONS;
    hc.max_connections_per_address = 8;
    if (att_http_server_new(&hc, d->tls, att_api_metrics_handle, NULL, &d->api, &d->metrics_http) !=
        ATT_OK) {
        return att_daemon_startup_error("metrics listener", "cannot create the server");
    }
    if (att_http_server_listen(d->metrics_http, cfg->metrics_listen, cfg->public_network_access,
                               msg, sizeof(msg)) != ATT_OK) {
        return att_daemon_startup_error("metrics_listen", msg);
    }
    return 0;
}

/* The DCAP trust anchors: dcap_trust_anchors, or the built-in Intel SGX Root CA. */
static att_err load_dcap_trust(const struct att_config *cfg, struct att_dcap_trust **out, char *msg,
                               size_t msg_len)
{
    struct att_buf pem;
    att_err rc;
    if (cfg->dcap_trust_anchors[0] == '\0') {
        return att_dcap_trust_from_pem(att_intel_sgx_root_ca_pem, strlen(att_intel_sgx_root_ca_pem),
                                       out, msg, msg_len);
    }
    att_buf_init(&pem, ATT_DCAP_MAX_CHAIN_PEM * 2);
    rc = att_file_read(cfg->dcap_trust_anchors, ATT_DCAP_MAX_CHAIN_PEM * 2, &pem);
    if (rc != ATT_OK) {
        snprintf(msg, msg_len, "%s: %s", cfg->dcap_trust_anchors, att_err_str(rc));
    } else {
        rc = att_dcap_trust_from_pem((const char *)pem.data, pem.len, out, msg, msg_len);
    }
    att_buf_cleanup(&pem);
    return rc;
}

/* The AMD SEV-SNP trust anchors: amd_trust_anchors, or the built-in ARKs. */
static att_err load_amd_trust(const struct att_config *cfg, struct att_amd_trust **out, char *msg,
                              size_t msg_len)
{
    struct att_buf pem;
    att_err rc;
    if (cfg->amd_trust_anchors[0] == '\0') {
        return att_amd_trust_builtin(out, msg, msg_len);
    }
    att_buf_init(&pem, ATT_AMD_MAX_CHAIN_PEM * 2);
    rc = att_file_read(cfg->amd_trust_anchors, ATT_AMD_MAX_CHAIN_PEM * 2, &pem);
    if (rc != ATT_OK) {
        snprintf(msg, msg_len, "%s: %s", cfg->amd_trust_anchors, att_err_str(rc));
    } else {
        rc = att_amd_trust_from_pem((const char *)pem.data, pem.len, out, msg, msg_len);
    }
    att_buf_cleanup(&pem);
    return rc;
}

/* TPM: the CAs of AK certificates (tpm_ak_roots, none by default) and the challenges: the
 * node's own, or on a shared store the store's, which every node issues and accepts. */
static att_err tpm_setup(const struct daemon *d, struct att_tpm_source *out, char *msg,
                         size_t msg_len)
{
    const struct att_config *cfg = d->cfg;
    struct att_buf pem;
    att_err rc = strcmp(att_store_backend(d->store), "postgresql") == 0
                     ? att_challenges_new_shared(d->store, d->keyring, &out->challenges)
                     : att_challenges_new(&out->challenges);
    out->cert_memo = att_tpm_cert_memo_new();
    if (rc != ATT_OK || out->cert_memo == NULL) {
        rc = rc != ATT_OK ? rc : ATT_ERR_NOMEM;
        snprintf(msg, msg_len, "cannot set up TPM attestation: %s", att_err_str(rc));
        return rc;
    }
    if (cfg->tpm_ak_roots[0] == '\0') {
        return ATT_OK;
    }
    att_buf_init(&pem, TPM_AK_ROOTS_MAX);
    rc = att_file_read(cfg->tpm_ak_roots, TPM_AK_ROOTS_MAX, &pem);
    if (rc != ATT_OK) {
        snprintf(msg, msg_len, "%s: %s", cfg->tpm_ak_roots, att_err_str(rc));
    } else {
        rc = att_pem_certs_parse(pem.data, pem.len, TPM_AK_ROOTS_COUNT, &out->ak_roots, msg,
                                 msg_len);
    }
    att_buf_cleanup(&pem);
    return rc;
}

/* Attestation: trust anchors, the collateral service, the policy cache, token lifetime. */
static int attestation_setup(struct daemon *d)
{
    const struct att_config *cfg = d->cfg;
    char msg[512] = "";
    if (load_dcap_trust(cfg, &d->dcap_trust, msg, sizeof(msg)) != ATT_OK) {
        return att_daemon_startup_error("dcap_trust_anchors", msg);
    }
    struct att_collateral_config cc = {
        cfg->pcs_url, cfg->pcs_ca_file[0] ? cfg->pcs_ca_file : NULL,
        NULL,         cfg->pcs_root_crl_url[0] ? cfg->pcs_root_crl_url : NULL,
        3600,         (long)cfg->pcs_timeout,
        NULL}; /* the daemon's own scope ("") */
    if (load_amd_trust(cfg, &d->amd_trust, msg, sizeof(msg)) != ATT_OK) {
        return att_daemon_startup_error("amd_trust_anchors", msg);
    }
    struct att_amd_collateral_config ac = {cfg->kds_url,
                                           cfg->kds_ca_file[0] ? cfg->kds_ca_file : NULL,
                                           (long)cfg->pcs_timeout, 3600, cfg->amd_crl_check};
    if (att_collateral_new(d->store, d->dcap_trust, &cc, &d->collateral) != ATT_OK ||
        att_collateral_scopes_new(d->store, &d->collateral_scopes) != ATT_OK ||
        att_amd_collateral_new(d->store, d->amd_trust, &ac, &d->amd) != ATT_OK ||
        att_policy_cache_new(POLICY_CACHE_MS, &d->policy_cache) != ATT_OK) {
        return att_daemon_startup_error("attestation", "out of memory");
    }
    if (tpm_setup(d, &d->tpm, msg, sizeof(msg)) != ATT_OK) {
        return att_daemon_startup_error("tpm_ak_roots", msg);
    }
    att_collateral_refresher_also(d->collateral, att_amd_collateral_refresh_cb, d->amd);
    if (att_collateral_refresher_start(d->collateral, cfg->collateral_refresh_interval) != ATT_OK) {
        return att_daemon_startup_error("attestation", "cannot start the collateral refresher");
    }
    d->api.collateral = d->collateral;
    d->api.collateral_scopes = d->collateral_scopes;
    d->api.public_network_access = cfg->public_network_access;
    d->api.amd = d->amd;
    d->api.tpm = &d->tpm;
    d->api.policy_cache = d->policy_cache;
    d->api.collateral_grace = cfg->collateral_grace;
    d->api.attest_token_lifetime = cfg->attest_token_lifetime;
#ifdef ATT_TEST_HOOKS
    const char *at = getenv("ATTESTD_TEST_VERIFY_TIME");
    if (at != NULL && at[0] != '\0') {
        d->api.test_verify_time = strtoll(at, NULL, 10);
        att_log(ATT_LOG_WARN, "TEST BUILD: evidence is verified at a fixed time", "verify_time",
                json_integer(d->api.test_verify_time), NULL);
    }
#endif
    att_log(ATT_LOG_INFO, "attestation ready", "pcs_url",
            json_string(cfg->pcs_url[0] ? cfg->pcs_url : "(offline)"), "trust_anchors",
            json_string(att_dcap_trust_id(d->dcap_trust)), "kds_url",
            json_string(cfg->kds_url[0] ? cfg->kds_url : "(offline)"), "amd_trust_anchors",
            json_string(att_amd_trust_id(d->amd_trust)), "amd_crl_check",
            json_boolean(cfg->amd_crl_check), "tpm_ak_roots",
            json_integer(d->tpm.ak_roots != NULL ? sk_X509_num(d->tpm.ak_roots) : 0), NULL);
    return 0;
}

static int serve(struct daemon *d, const sigset_t *sigs)
{
    const struct att_config *cfg = d->cfg;
    const struct timespec second = {1, 0};
    if (att_http_server_start(d->http) != ATT_OK) {
        return att_daemon_startup_error("http", "cannot start the worker threads");
    }
    if (d->metrics_http != NULL && att_http_server_start(d->metrics_http) != ATT_OK) {
        return att_daemon_startup_error("metrics listener", "cannot start its worker threads");
    }
    if (att_daemon_write_pid_file(cfg) != 0) {
        return 1;
    }
    att_log(ATT_LOG_INFO, "attestd ready", "version", json_string(ATT_VERSION), "public_url",
            json_string(cfg->public_url), NULL);
    char status[600];
    snprintf(status, sizeof(status), "READY=1\nSTATUS=serving %s\nMAINPID=%lld", cfg->public_url,
             (long long)getpid());
    att_notify(status);
    for (;;) {
        /* Once a second, the counts of repeated events whose interval ended are logged. */
        siginfo_t info;
        int sig = sigtimedwait(sigs, &info, &second);
        att_notify_tick();
        if (sig < 0) {
            att_log_summary_flush(att_time_now());
            att_daemon_keys_check(d);
            continue;
        }
        if (sig == SIGUSR1) {
            att_daemon_apply_change(d, &info);
            continue;
        }
        if (sig == SIGUSR2) {
            att_daemon_cluster_apply(d);
            continue;
        }
        if (sig == SIGHUP) {
            att_notify_reloading();
            reload(d);
            att_notify("READY=1");
            att_daemon_keys_check(
                d); /* due or not: a stream of signals must not starve the looks */
            continue;
        }
        att_notify("STOPPING=1");
        /* A refresh waiting on the upstream must not hold the exit up (it ends meanwhile). */
        att_collateral_refresher_signal_stop(d->collateral);
        att_amd_collateral_signal_stop(d->amd);
        att_log(ATT_LOG_INFO, "draining", "signal",
                json_string(sig == SIGTERM ? "SIGTERM" : "SIGINT"), "shutdown_timeout",
                json_integer(cfg->shutdown_timeout), NULL);
        if (d->metrics_http != NULL) {
            (void)att_http_server_drain(d->metrics_http, 1);
        }
        unsigned cut = att_http_server_drain(d->http, cfg->shutdown_timeout);
        att_log_summary_flush_all(att_time_now());
        att_log(cut > 0 ? ATT_LOG_WARN : ATT_LOG_INFO, "stopped", "connections_cut",
                json_integer(cut), NULL);
        return 0;
    }
}

/*
 * Test builds only: ATTESTD_TEST_BACKOFF_SLOTS makes the brute-force backoff tables small
 * enough for a black-box test to fill (production: ATT_BACKOFF_SLOTS, src/auth/backoff.h).
 */
static size_t test_backoff_slots(void)
{
#ifdef ATT_TEST_HOOKS
    const char *v = getenv("ATTESTD_TEST_BACKOFF_SLOTS");
    if (v != NULL && v[0] != '\0') {
        size_t slots = (size_t)strtoull(v, NULL, 10);
        att_log(ATT_LOG_WARN, "TEST BUILD: small brute-force backoff tables", "slots",
                json_integer((json_int_t)slots), NULL);
        return slots;
    }
#endif
    return 0;
}

int att_daemon_open_log(const struct att_config *cfg)
{
    if (strcmp(cfg->log_output, "syslog") == 0) {
        att_err rc = att_log_open_syslog(cfg->syslog_socket, cfg->log_level);
        if (rc != ATT_OK) {
            fprintf(stderr, "attestd: syslog_socket %s: %s%s\n", cfg->syslog_socket,
                    rc == ATT_ERR_TOO_LARGE ? "longer than a Unix socket path (107 bytes)"
                                            : "cannot connect: ",
                    rc == ATT_ERR_TOO_LARGE ? "" : strerror(errno));
            return 1;
        }
    } else if (att_log_open(strcmp(cfg->log_output, "file") == 0 ? cfg->log_file : NULL,
                            cfg->log_level) != ATT_OK) {
        fprintf(stderr, "attestd: log_file %s: cannot open: %s\n", cfg->log_file,
                errno == ELOOP    ? "a symbolic link (name the file itself)"
                : errno == EINVAL ? "not a regular file"
                                  : strerror(errno));
        return 1;
    }
    att_log_summary_set_interval(cfg->log_summary_interval);
    return 0;
}

int att_daemon_run(const struct att_config *cfg, char *const *argv)
{
    struct daemon d;
    struct att_kek kek;
    char msg[2048];
    int code = 1;
    sigset_t sigs;
    struct att_store *bootstrap = NULL; /* ATT_LOCK_BOOTSTRAP while the first things are made */

    memset(&d, 0, sizeof(d));
    memset(&kek, 0, sizeof(kek));
    d.cfg = cfg;
    d.admin_fd = -1;
    att_notify_init(); /* before any child process: they must not inherit it */
    if (att_daemon_open_log(cfg) != 0) {
        return 1;
    }
    if (keep_keys_out_of_core_dumps(cfg) != 0) {
        goto out;
    }
    if (cfg->key_process && att_daemon_start_key_process(&d, argv) != 0) {
        goto out;
    }
    /* Signals are taken by sigtimedwait in this thread only; workers never see them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR1); /* the admin socket's: apply a change (apply_change) */
    sigaddset(&sigs, SIGUSR2); /* the cluster watcher's: another node changed the store */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (att_https_global_init() != ATT_OK) { /* before any thread: libcurl's rule */
        code = att_daemon_startup_error("https client", "cannot initialise libcurl");
        goto out;
    }
    SSL_CTX *ctx = NULL;
    if (load_tls(cfg, &ctx, msg, sizeof(msg)) != ATT_OK) {
        code = att_daemon_startup_error("tls", msg);
        goto out;
    }
    if (att_tls_holder_new(ctx, &d.tls) != ATT_OK) {
        code = att_daemon_startup_error("tls", "out of memory");
        goto out;
    }
    if (bind_listeners(&d) != 0) {
        goto out;
    }
    if (d.keyd == NULL && att_daemon_load_kek(cfg, &kek, msg, sizeof(msg)) != ATT_OK) {
        code = att_daemon_startup_error("key-encryption key", msg);
        goto out;
    }
    if (drop_privileges(cfg) != 0) { /* all that needs root is done */
        goto out;
    }
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(msg, sizeof(msg), "%s: %s", cfg->data_dir, strerror(errno));
        code = att_daemon_startup_error("data_dir", msg);
        goto out;
    }
    att_err rc = att_store_open(att_config_store_where(cfg), &d.store);
    if (rc == ATT_OK && d.keyd == NULL) { /* with a key process, the looks happen there */
        rc = att_store_open(att_config_store_where(cfg), &d.look_store);
        rc = rc == ATT_OK ? att_store_set_lock_wait(d.look_store, ATT_KEY_LOOK_LOCK_WAIT_MS) : rc;
    }
    if (rc != ATT_OK) {
        snprintf(msg, sizeof(msg), "%s: %s", att_config_store_label(cfg), att_err_str(rc));
        code = att_daemon_startup_error("store", msg);
        goto out;
    }
    /* Nodes starting together on a new shared store make its first provider, keys and owner
     * one at a time, so they all end up with the same ones (released once they are made). */
    rc = att_daemon_bootstrap_lock(d.store, &bootstrap);
    if (rc != ATT_OK) {
        code = att_daemon_startup_error("store", att_err_str(rc));
        goto out;
    }
    if (d.keyd != NULL) { /* no key here: sealing and signing go to the key process */
        rc = att_daemon_remote_keyring(&d, &d.keyring);
    } else {
        rc = att_keyring_new(d.store, &kek, &d.keyring);
    }
    att_kek_wipe(&kek);
    if (rc != ATT_OK) {
        code = att_daemon_startup_error("keyring", att_err_str(rc));
        goto out;
    }
    if (d.keyd == NULL && cfg->signing_keys_pkcs11[0] != 0 &&
        att_keyring_use_signing_token(d.keyring, cfg->signing_keys_pkcs11, msg, sizeof(msg)) !=
            ATT_OK) {
        code = att_daemon_startup_error("signing_keys_pkcs11", msg);
        goto out;
    }
    bool created = false;
    rc = att_provider_ensure_default(d.store, d.keyring, cfg->public_url, cfg->default_signing_alg,
                                     att_time_now(), &created);
    if (rc != ATT_OK) {
        code = att_daemon_startup_error("default provider", att_err_str(rc));
        goto out;
    }
    if (created) {
        att_log(ATT_LOG_INFO, "created the default provider", "provider",
                json_string(ATT_DEFAULT_PROVIDER), "issuer", json_string(cfg->public_url), "alg",
                json_string(att_jws_alg_name(cfg->default_signing_alg)), NULL);
    }
    struct att_provider_set *set = NULL;
    rc = att_daemon_load_providers(&d, &set);
    const struct att_provider *def = rc == ATT_OK ? att_provider_set_default(set) : NULL;
    if (def != NULL && strcmp(def->rec.issuer, cfg->public_url) != 0) {
        /* The issuer is fixed when the provider is created (it is in its certificate). */
        att_log(ATT_LOG_WARN,
                "the default provider's issuer differs from public_url; tokens "
                "carry the issuer",
                "issuer", json_string(def->rec.issuer), "public_url", json_string(cfg->public_url),
                NULL);
    }
    if (rc != ATT_OK) {
        snprintf(msg, sizeof(msg), "%s%s", att_err_str(rc),
                 rc == ATT_ERR_KEK_MISMATCH || rc == ATT_ERR_SEAL_AUTH
                     ? " (is this the key-encryption key the data was sealed with?)"
                     : "");
        code = att_daemon_startup_error("providers", msg);
        goto out;
    }
    rc = att_auth_new(d.store, d.keyring, cfg->public_url, att_time_now(), &d.auth);
    if (rc != ATT_OK) {
        att_provider_set_free(set);
        code = att_daemon_startup_error("auth key", att_err_str(rc));
        goto out;
    }
    if (audit_setup(&d) != 0 || bootstrap_owner(&d) != 0) {
        att_provider_set_free(set);
        goto out;
    }
    att_store_unlock(bootstrap);
    bootstrap = NULL;
    struct att_backoff_config bc = {cfg->auth_max_failures, cfg->auth_failure_window,
                                    cfg->auth_block_seconds, test_backoff_slots()};
    rc = att_backoff_new(&bc, &d.backoff);
    if (rc != ATT_OK) {
        att_provider_set_free(set);
        code = att_daemon_startup_error("backoff", att_err_str(rc));
        goto out;
    }
    struct att_issuers *issuers = NULL;
    if (load_issuers(cfg, &issuers, msg, sizeof(msg)) != ATT_OK) {
        att_provider_set_free(set);
        code = att_daemon_startup_error("issuers", msg);
        goto out;
    }
    if (att_api_init(&d.api, d.store, d.auth, set, issuers) != ATT_OK) {
        code = att_daemon_startup_error("api", "out of memory");
        goto out;
    }
    d.api_ready = true;
    d.providers = set;
    d.api.backoff = d.backoff;
    d.api.keyring = d.keyring;
    if (d.keyd != NULL) {
        d.api.signing_ok = att_keyd_ready;
        d.api.signing_arg = d.keyd;
    }
    d.api.audit = d.audit;
    d.api.http = d.http;
    d.api.started_at = att_time_now();
#ifdef ATT_BENCH_HOOKS
    if (getenv("ATTESTD_BENCH_NO_AUDIT") != NULL) {
        d.api.audit = NULL; /* the baseline of bench/audit.sh */
        att_log(ATT_LOG_WARN, "BENCHMARK BUILD: requests are not audited", NULL);
    }
#endif
    if (attestation_setup(&d) != 0) {
        goto out;
    }
    if (alerts_setup(&d) != 0) {
        goto out;
    }
    if (att_api_probe_start(&d.api) != ATT_OK) {
        code = att_daemon_startup_error("api", "cannot start the readiness probe");
        goto out;
    }
    if (att_daemon_cluster_start(&d) != 0) {
        goto out;
    }
    code = serve(&d, &sigs);
out:
    att_daemon_cluster_stop(&d); /* before what its changes load goes away */
    /* The servers first: answers they hold wait for the audit writer, which stops last. */
    att_http_server_free(d.metrics_http);
    att_http_server_free(d.http);
    att_alerts_stop(d.alerts); /* it reads the trail: before the trail closes */
    if (d.audit != NULL) {
        att_daemon_audit_service(&d, "service.stop", NULL);
    }
    att_audit_close(d.audit);
    att_tls_holder_free(d.tls);
    if (d.api_ready) {
        att_api_cleanup(&d.api);
    }
    att_collateral_free(d.collateral);
    att_collateral_scopes_free(d.collateral_scopes);
    att_amd_collateral_free(d.amd);
    att_amd_trust_free(d.amd_trust);
    att_challenges_free(d.tpm.challenges);
    att_tpm_cert_memo_free(d.tpm.cert_memo);
    sk_X509_pop_free(d.tpm.ak_roots, X509_free);
    att_dcap_trust_free(d.dcap_trust);
    att_policy_cache_free(d.policy_cache);
    att_auth_free(d.auth);
    att_backoff_free(d.backoff);
    att_keyring_free(d.keyring);
    att_keyd_stop(d.keyd); /* after the trail's last checkpoint, which it signed */
    if (d.admin_fd >= 0) {
        close(d.admin_fd);
        (void)unlink(cfg->admin_socket);
    }
    att_daemon_remove_pid_file(cfg);
    att_store_unlock(bootstrap);
    att_store_close(d.look_store);
    att_store_close(d.store);
    att_kek_wipe(&kek);
    att_https_global_cleanup();
    att_log_close();
    return code;
}
