/*
 * daemon.h - attestd's process: wire the modules together and run until
 * SIGTERM. SIGHUP reloads the TLS certificate and the provider set without
 * dropping connections.
 */
#ifndef ATT_SERVER_DAEMON_H
#define ATT_SERVER_DAEMON_H

#include "provider/provider.h"
#include "server/config.h"

/*
 * Run the service; returns the process exit code (0 after a clean drain). `argv` is attestd's
 * own command line: with key_process = enabled it starts the key process with the same
 * arguments (src/keyd/keyd.h).
 */
int att_daemon_run(const struct att_config *cfg, char *const *argv);

/* Log where the configuration says (log_output); 1 with the reason on stderr when it cannot. */
int att_daemon_open_log(const struct att_config *cfg);

/* The settings of the look at the signing keys (signing_key_rotation and the rest). */
struct att_key_upkeep att_daemon_key_upkeep_config(const struct att_config *cfg);

/* With `user`: the data directory must be the service user's (run as that user). */
att_err att_daemon_check_data_dir(const struct att_config *cfg, char *msg, size_t n) ATT_WUR;

/* The KEK as the configuration names it (kek_pkcs11, kek_env or kek_file); `msg` says why not. */
struct att_kek;
att_err att_daemon_load_kek(const struct att_config *cfg, struct att_kek *kek, char *msg,
                            size_t n) ATT_WUR;

/* cluster.c: hold or take a cluster job's lock (att_store_lead), logging when that changes
 * (the network process and the key process both lead jobs). */
bool att_daemon_cluster_lead(struct att_store *store, int64_t key, struct att_store **held,
                             const char *job, const char *node);

/* cluster.c: ATT_LOCK_BOOTSTRAP, waited for up to a minute (another node's first start, making
 * RSA keys, takes seconds): nodes starting together on a new store make its first provider,
 * keys and owner one at a time, so all end up with the same ones. *lock NULL (nothing to
 * unlock) when the store has them all already. */
att_err att_daemon_bootstrap_lock(struct att_store *store, struct att_store **lock) ATT_WUR;

#endif
