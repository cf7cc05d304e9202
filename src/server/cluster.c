/*
 * cluster.c - a node among several on one PostgreSQL store (docs/operations.md "Scale-out"):
 * the watcher that brings other nodes' changes into force here, and the leader lock that lets
 * one node run the cluster-wide jobs.
 *
 * Changes: a thread waits on the store's change feed (att_store_changes_wait: PostgreSQL's
 * NOTIFY, at once, and a read of the counters at least once a second whatever happened, so a
 * lost notification costs at most a second). When a topic's counter moved, it tells the main
 * thread (SIGUSR2, which the main loop waits for), which loads that topic again: the providers
 * (keys, policies, signers) or the collateral held. The main thread does the loading because it
 * owns the installed provider set (daemon_int.h).
 *
 * Jobs: the node holding the store's ATT_LOCK_KEYS lock makes and destroys the providers'
 * scheduled signing keys (with a key process, that process holds it: it does the making), and
 * the one holding ATT_LOCK_COLLATERAL fetches collateral from the upstreams in the background;
 * the others note the keys they sign with and renew collateral from the store. Each lock lives
 * on one connection: when it breaks (the node hangs, the network drops) the database releases
 * it and another node takes over at its next look; the old holder finds its lock gone before
 * acting (att_store_lead pings it) and steps down.
 *
 * On SQLite (one node) there is no watcher, and the node always leads.
 */
#include "server/daemon_int.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "collateral/scopes.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "policymgmt/cache.h"

#define WATCH_PERIOD_MS 1000

static bool shared_store(const struct daemon *d)
{
    return strcmp(att_store_backend(d->store), "postgresql") == 0;
}

/* ---- the watcher ---------------------------------------------------------- */

static void *watch_main(void *arg)
{
    struct daemon *d = arg;
    struct att_store_changes seen = d->cluster.seen;
    bool reported = false;
    while (!atomic_load(&d->cluster.stop)) {
        att_err rc = att_store_changes_wait(d->store, WATCH_PERIOD_MS);
        struct att_store_changes now;
        if (rc == ATT_OK || rc == ATT_ERR_TIMEOUT) {
            rc = att_store_changes_get(d->store, &now);
        }
        if (rc != ATT_OK) {
            if (!reported) { /* once per outage: it is retried every period */
                att_log(ATT_LOG_WARN, "cluster: cannot read the store's changes; retrying", "error",
                        json_string(att_err_name(rc)), NULL);
                reported = true;
            }
            continue;
        }
        if (reported) {
            att_log(ATT_LOG_INFO, "cluster: reading the store's changes again", NULL);
            reported = false;
        }
        unsigned topics = 0;
        for (int t = 0; t < ATT_TOPIC_COUNT; t++) {
            topics |= now.seq[t] != seen.seq[t] ? 1u << t : 0u;
        }
        if (topics != 0) {
            seen = now;
            atomic_fetch_or(&d->cluster.pending, topics);
            pthread_kill(d->cluster.main_thread, SIGUSR2);
        }
    }
    return NULL;
}

int att_daemon_cluster_start(struct daemon *d)
{
    d->cluster.main_thread = pthread_self();
    atomic_init(&d->cluster.pending, 0u);
    atomic_init(&d->cluster.stop, false);
    if (!shared_store(d)) {
        return 0;
    }
    /* From here on, any change is one this node has not loaded yet. */
    att_err rc = att_store_changes_get(d->store, &d->cluster.seen);
    if (rc != ATT_OK) {
        return att_daemon_startup_error("cluster", att_err_str(rc));
    }
    if (pthread_create(&d->cluster.watcher, NULL, watch_main, d) != 0) {
        return att_daemon_startup_error("cluster", "cannot start the change watcher");
    }
    d->cluster.watching = true;
    att_log(ATT_LOG_INFO, "cluster: watching the shared store for changes", "node",
            json_string(d->cfg->node_name), NULL);
    return 0;
}

void att_daemon_cluster_stop(struct daemon *d)
{
    if (d->cluster.watching) {
        atomic_store(&d->cluster.stop, true);
        pthread_join(d->cluster.watcher, NULL); /* within one WATCH_PERIOD_MS */
        d->cluster.watching = false;
    }
    att_store_unlock(d->cluster.collateral);
    d->cluster.collateral = NULL;
    att_store_unlock(d->cluster.keys);
    d->cluster.keys = NULL;
}

void att_daemon_cluster_apply(struct daemon *d)
{
    unsigned topics = atomic_exchange(&d->cluster.pending, 0u);
    if (topics & (1u << ATT_TOPIC_PROVIDERS)) {
        if (d->policy_cache != NULL) {
            att_policy_cache_clear(d->policy_cache);
        }
        att_err rc = att_daemon_install_providers(d, NULL);
        d->providers_stale = rc != ATT_OK; /* then the next key look tries again */
        att_log(rc == ATT_OK ? ATT_LOG_INFO : ATT_LOG_ERROR,
                rc == ATT_OK ? "cluster: loaded the providers another node changed"
                             : "cluster: cannot load the providers another node changed",
                "error", json_string(att_err_name(rc)), NULL);
    }
    if (topics & (1u << ATT_TOPIC_COLLATERAL)) {
        int64_t now = att_time_now();
        if (d->collateral != NULL) {
            att_collateral_store_changed(d->collateral, now);
        }
        if (d->collateral_scopes != NULL) {
            att_collateral_scopes_store_changed(d->collateral_scopes, now);
        }
        att_log(ATT_LOG_INFO, "cluster: read the collateral another node changed", NULL);
    }
}

/* ---- leading the jobs ------------------------------------------------------- */

/* Whether this node holds `*held` (att_store_lead), logging when that changes. */
bool att_daemon_cluster_lead(struct att_store *store, int64_t key, struct att_store **held,
                             const char *job, const char *node)
{
    bool before = *held != NULL;
    bool now = att_store_lead(store, key, held);
    if (now != before && strcmp(att_store_backend(store), "postgresql") == 0) {
        att_log(now ? ATT_LOG_INFO : ATT_LOG_WARN,
                now ? "cluster: this node now leads a job"
                    : "cluster: this node no longer leads a job",
                "job", json_string(job), "node", json_string(node), NULL);
    }
    return now;
}

void att_daemon_cluster_collateral_look(struct daemon *d)
{
    bool leads = att_daemon_cluster_lead(d->store, ATT_LOCK_COLLATERAL, &d->cluster.collateral,
                                         "upstream collateral refresh", d->cfg->node_name);
    if (d->collateral != NULL) {
        att_collateral_set_upstream(d->collateral, leads);
    }
}

att_err att_daemon_bootstrap_lock(struct att_store *store, struct att_store **lock)
{
    /* A store that has its first provider, data and access-token keys and a principal needs
     * no lock: a node stuck while starting must not hold every other node's start up. */
    struct att_store_counts n;
    *lock = NULL;
    if (att_store_count(store, &n) == ATT_OK && n.rows[ATT_TABLE_PROVIDERS] > 0 &&
        n.rows[ATT_TABLE_DATA_KEYS] > 0 && n.rows[ATT_TABLE_AUTH_KEYS] > 0 &&
        n.rows[ATT_TABLE_PRINCIPALS] > 0) {
        return ATT_OK;
    }
    int64_t give_up = att_time_mono_ms() + 60000;
    att_err rc;
    do { /* each try waits out the store's lock wait (5 s) */
        rc = att_store_lock(store, ATT_LOCK_BOOTSTRAP, true, lock);
    } while (rc == ATT_ERR_STORE_BUSY && att_time_mono_ms() < give_up);
    return rc;
}
