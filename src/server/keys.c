/*
 * keys.c - the daemon's keys: the KEK, the key process, and the providers' signing keys
 * (loading, noting their use, the look every ATT_KEY_CHECK_INTERVAL; docs/operations.md
 * "Signing-key rotation", docs/internals/key-process.md). Split from daemon.c, whose
 * struct daemon it shares through daemon_int.h; everything here runs on the main thread.
 */
#include "server/daemon_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/serve.h"
#include "server/privdrop.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "auth/issuers.h"
#include "seal/keyring.h"
#include "seal/seal.h"

/* The KEK is kek_pkcs11's token key when set, else from the environment when set there, else
 * from kek_file. */
att_err att_daemon_load_kek(const struct att_config *cfg, struct att_kek *kek, char *msg, size_t n)
{
    att_err rc;
    if (cfg->kek_pkcs11[0] != 0) {
        char why[512];
        rc = att_kek_load_pkcs11(cfg->kek_pkcs11, false, kek, why, sizeof(why));
        snprintf(msg, n, "kek_pkcs11: %s", rc == ATT_OK ? "" : why);
        return rc;
    }
    if (getenv(cfg->kek_env) != NULL) {
        rc = att_kek_load_env(cfg->kek_env, kek);
        snprintf(msg, n, "environment variable %s: %s (expected 64 hex characters)", cfg->kek_env,
                 att_err_str(rc));
        return rc;
    }
    rc = att_kek_load_file(cfg->kek_file, kek);
    if (rc == ATT_ERR_PERM) {
        snprintf(msg, n,
                 "%s: key file must be a regular file owned by this user and not accessible by "
                 "group or others (chmod 600)",
                 cfg->kek_file);
    } else if (rc == ATT_ERR_IO) {
        snprintf(msg, n,
                 "%s: cannot read the key-encryption key (create one with "
                 "'attestctl kek generate %s', or set %s)",
                 cfg->kek_file, cfg->kek_file, cfg->kek_env);
    } else {
        snprintf(msg, n, "%s: %s (expected 64 hex characters)", cfg->kek_file, att_err_str(rc));
    }
    return rc;
}

/* ---- the key process (src/keyd/keyd.h) ---- */

static att_err keyd_seal(void *arg, const char *id, const void *pt, size_t len, struct att_buf *out)
{
    return att_keyd_seal(arg, id, pt, len, out);
}

static att_err keyd_open(void *arg, const char *id, const void *blob, size_t len,
                         struct att_buf *out)
{
    return att_keyd_open(arg, id, blob, len, out);
}

static att_err keyd_sign(void *arg, const char *kid, const void *msg, size_t len,
                         struct att_buf *sig)
{
    return att_keyd_sign(arg, kid, msg, len, sig);
}

static void keyd_sign_async(void *arg, const char *kid, const void *msg, size_t len,
                            att_signed_cb done, void *done_arg)
{
    att_keyd_sign_async(arg, kid, msg, len, done, done_arg);
}

att_err att_daemon_remote_keyring(struct daemon *d, struct att_keyring **out)
{
    const struct att_keyring_remote ops = {keyd_seal, keyd_open, keyd_sign, keyd_sign_async,
                                           d->keyd};
    return att_keyring_new_remote(&ops, out);
}

/*
 * Start the key process before any thread exists. The network process never reads the KEK:
 * a KEK in the environment goes to the key process alone and is wiped here, so a key process
 * that dies cannot be started again (kek_file or kek_pkcs11 can).
 */
int att_daemon_start_key_process(struct daemon *d, char *const *argv)
{
    char msg[1024];
    /* The supervisor serves the admin socket: bound here, while attestd may still be root, in
     * the data directory (made now, the service user's, when it is new) by default. */
    if (mkdir(d->cfg->data_dir, 0700) == 0 && d->cfg->user[0] != '\0' && geteuid() == 0) {
        uid_t uid = 0;
        gid_t gid = 0;
        if (att_privdrop_ids(d->cfg->user, &uid, &gid, msg, sizeof(msg)) != ATT_OK ||
            chown(d->cfg->data_dir, uid, gid) != 0) {
            return att_daemon_startup_error("data_dir", msg);
        }
    }
    if (att_admin_socket_bind(d->cfg, &d->admin_fd, msg, sizeof(msg)) != ATT_OK) {
        return att_daemon_startup_error("admin_socket", msg);
    }
    if (att_keyd_start(argv, d->admin_fd, &d->keyd, msg, sizeof(msg)) != ATT_OK) {
        /* "step: detail", the step one of attestd's own (the worker's start-up mirrors it) */
        char *detail = strstr(msg, ": ");
        if (detail == NULL) {
            return att_daemon_startup_error("key process", msg);
        }
        *detail = 0;
        return att_daemon_startup_error(msg, detail + 2);
    }
    if (d->cfg->kek_pkcs11[0] == 0 && getenv(d->cfg->kek_env) != NULL) {
        att_kek_forget_env(d->cfg->kek_env);
        att_keyd_set_restartable(d->keyd, false);
    }
    att_log(ATT_LOG_INFO, "key process started", "pid", json_integer(att_keyd_pid(d->keyd)),
            "admin_socket", json_string(d->cfg->admin_socket), NULL);
    return 0;
}

/* ---- signing keys (docs/operations.md "Signing-key rotation") ---- */

/*
 * The longest lifetime of a token this daemon signs (policy-management answers live no longer
 * than attestation tokens): a retired key stays published that long.
 */
static int64_t token_lifetime_bound(const struct att_config *cfg)
{
    return cfg->attest_token_lifetime;
}

struct att_key_upkeep att_daemon_key_upkeep_config(const struct att_config *cfg)
{
    const struct att_key_upkeep up = {
        .rotation = cfg->signing_key_rotation,
        .lead = cfg->signing_key_lead_time,
        .leeway = cfg->signing_key_retire_leeway,
        .token_lifetime = token_lifetime_bound(cfg),
    };
    return up;
}

/*
 * Load the providers and note in the store the keys this set will sign with (and for how long
 * their tokens live) before it is used: a set whose use cannot be noted is not used.
 */
att_err att_daemon_load_providers(struct daemon *d, struct att_provider_set **out)
{
    struct att_provider_set *set = NULL;
    ATT_TRY(att_provider_set_load(d->store, d->keyring, &set));
    att_err rc =
        att_provider_note_signing_keys(d->store, set, att_time_now(), token_lifetime_bound(d->cfg));
    if (rc != ATT_OK) {
        att_provider_set_free(set);
        return rc;
    }
    for (size_t i = 0; d->cfg->public_network_access && i < set->n; i++) {
        if (set->items[i].rec.demo) { /* docs/internals/demo.md */
            att_log(ATT_LOG_WARN,
                    "a demo provider refuses every attestation while public_network_access is "
                    "enabled",
                    "provider", json_string(set->items[i].rec.name), NULL);
        }
    }
    *out = set;
    return ATT_OK;
}

/* Load and install the providers (and `issuers`, unless NULL); the old set stays on failure. */
att_err att_daemon_install_providers(struct daemon *d, struct att_issuers *issuers)
{
    struct att_provider_set *set = NULL;
    att_err rc = att_daemon_load_providers(d, &set);
    if (rc != ATT_OK) {
        att_issuers_free(issuers);
        return rc;
    }
    att_provider_set_carry_floors(set, d->providers);
    rc = att_api_swap(&d->api, set, issuers); /* NULL issuers: keep the current ones */
    if (rc == ATT_OK) {
        d->providers = set;
    }
    return rc;
}

static void key_event(const struct att_key_event *e, void *arg)
{
    struct daemon *d = arg;
    char at[32];
    att_time_format(e->at, at, sizeof(at));
    bool made = e->kind == ATT_KEY_EVENT_MADE;
    att_log(ATT_LOG_INFO,
            made ? "made a new signing key (scheduled rotation)"
                 : "destroyed a retired signing key (its tokens have all expired)",
            "provider", json_string(e->provider), "kid", json_string(e->kid),
            made ? "activate_at" : "due_at", json_string(at), NULL);
    att_daemon_audit_service(d, made ? "provider.key.rotate" : "provider.key.destroy",
                             json_pack("{s:s,s:s,s:s}", "provider", e->provider, "kid", e->kid,
                                       made ? "activateAt" : "dueAt", at));
}

/*
 * Every ATT_KEY_CHECK_INTERVAL: rotate and retire keys as due, and reload the providers when
 * the store's keys are not the ones loaded (attestctl made or rotated some, or this look did).
 */
void att_daemon_keys_check(struct daemon *d)
{
    if (d->keyd != NULL) {
        att_keyd_tick(d->keyd); /* a key process that died is started again */
    }
    int64_t now_ms = att_time_mono_ms();
    if (now_ms < d->next_key_check) {
        return;
    }
    d->next_key_check = now_ms + ATT_KEY_CHECK_INTERVAL * 1000;
    struct att_key_upkeep cfg = att_daemon_key_upkeep_config(d->cfg);
    bool changed = false;
    if (d->keyd == NULL) { /* with a key process, that process leads or follows */
        cfg.follower = !att_daemon_cluster_lead(d->look_store, ATT_LOCK_KEYS, &d->cluster.keys,
                                                "signing-key rotation", d->cfg->node_name);
    }
    att_daemon_cluster_collateral_look(d);
    /* A provider that fails is logged there; the others are still looked after. With a key
     * process, the look happens there (it holds the keys that make and destroy keys). */
    att_err upkeep = d->keyd != NULL
                         ? att_keyd_upkeep(d->keyd, key_event, d, &changed)
                         : att_provider_keys_upkeep(d->look_store, d->keyring, d->providers, &cfg,
                                                    att_time_now(), key_event, d, &changed);
    if (upkeep != ATT_OK) {
        att_log(ATT_LOG_WARN, "the look at the signing keys failed; trying again", "error",
                json_string(att_err_name(upkeep)), "retry_in_s",
                json_integer(ATT_KEY_CHECK_INTERVAL), NULL);
    }
    if (!changed && !d->providers_stale) {
        return;
    }
    att_err rc = att_daemon_install_providers(d, NULL);
    d->providers_stale = rc != ATT_OK; /* tried again at the next look, changes or not */
    if (rc == ATT_OK) {
        att_log(ATT_LOG_INFO, "loaded the providers' new signing keys", NULL);
    } else {
        att_log(ATT_LOG_ERROR, "cannot load the providers' new signing keys; keeping the old ones",
                "error", json_string(att_err_name(rc)), NULL);
    }
}
