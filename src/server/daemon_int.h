/*
 * daemon_int.h - what daemon.c, keys.c, service.c and cluster.c share (not used elsewhere).
 */
#ifndef ATT_SERVER_DAEMON_INT_H
#define ATT_SERVER_DAEMON_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "evidence/tpm/tpm.h"
#include "keyd/keyd.h"
#include "provider/provider.h"
#include "server/config.h"
#include "server/daemon.h"

struct daemon {
    const struct att_config *cfg;
    struct att_dcap_trust *dcap_trust;
    struct att_collateral *collateral;
    struct att_collateral_scopes *collateral_scopes; /* providers' own trust anchors */
    struct att_amd_trust *amd_trust;
    struct att_amd_collateral *amd;
    struct att_tpm_source tpm;
    struct att_policy_cache *policy_cache;
    struct att_store *store;
    /* The key look's own connection, with a short lock wait (ATT_KEY_LOOK_LOCK_WAIT_MS): on the
     * shared one, its wait for a lock would hold up every thread using the store. */
    struct att_store *look_store;
    struct att_keyring *keyring;
    struct att_auth *auth;
    struct att_backoff *backoff;
    struct att_tls_holder *tls;
    struct att_http_server *http;
    struct att_http_server *metrics_http; /* metrics_listen, or NULL */
    struct att_audit *audit;
    struct att_alerts *alerts;
    struct att_api api;
    bool api_ready;
    /* The provider set last installed in `api` (owned there; replaced only by this thread). */
    const struct att_provider_set *providers;
    int64_t next_key_check; /* att_time_mono_ms() of the next look at the signing keys */
    bool providers_stale;   /* the last look's new keys could not be loaded */
    struct att_keyd *keyd;  /* the key process (key_process = enabled), or NULL */
    int admin_fd;           /* the admin socket its supervisor serves (admin/serve.h), or -1 */
    struct {                /* among nodes on one store (cluster.c) */
        pthread_t main_thread;
        pthread_t watcher;
        bool watching;
        atomic_uint pending; /* topics changed and not yet loaded (bits of att_store_topic) */
        atomic_bool stop;
        struct att_store_changes seen;
        struct att_store *keys;       /* ATT_LOCK_KEYS while held here (no key process) */
        struct att_store *collateral; /* ATT_LOCK_COLLATERAL while held here */
    } cluster;
};

/* service.c: pid_file written once serving (1: cannot; logged), and removed at the end. */
int att_daemon_write_pid_file(const struct att_config *cfg);
void att_daemon_remove_pid_file(const struct att_config *cfg);
/* service.c: SIGUSR1 received: an admin socket command's change, applied and confirmed. */
void att_daemon_apply_change(struct daemon *d, const siginfo_t *info);

/* Log "cannot start" for `what` and return the exit code. */
int att_daemon_startup_error(const char *what, const char *detail);
/* A record of the service itself (start, reload, stop); logged when it cannot be written. */
void att_daemon_audit_service(struct daemon *d, const char *action, json_t *detail);

/* ---- cluster.c ---- */

/* Start watching a shared store for other nodes' changes (none on SQLite): 0, or the exit code
 * after logging. From the main thread, which att_daemon_cluster_apply then runs on. */
int att_daemon_cluster_start(struct daemon *d);
void att_daemon_cluster_stop(struct daemon *d);
/* SIGUSR2: load again what other nodes changed (on the main thread). */
void att_daemon_cluster_apply(struct daemon *d);
/* Whether this node fetches collateral upstream in the background (the lock's holder). */
void att_daemon_cluster_collateral_look(struct daemon *d);

/* ---- keys.c ---- */

/* Start the key process before any thread exists; 0, or the exit code after logging. */
int att_daemon_start_key_process(struct daemon *d, char *const *argv);
/* The keyring of the network process with a key process: sealing and signing go there. */
att_err att_daemon_remote_keyring(struct daemon *d, struct att_keyring **out) ATT_WUR;
/* Load the providers and note the keys they sign with before they are used. */
att_err att_daemon_load_providers(struct daemon *d, struct att_provider_set **out) ATT_WUR;
/* Load and install the providers (and `issuers`, unless NULL); the old set stays on failure. */
att_err att_daemon_install_providers(struct daemon *d, struct att_issuers *issuers) ATT_WUR;
/* The look at the signing keys, every ATT_KEY_CHECK_INTERVAL (on the main thread). */
void att_daemon_keys_check(struct daemon *d);

#endif
