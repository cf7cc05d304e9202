/*
 * health.c - GET /healthz (the process answers) and GET /readyz (the store
 * answers, every provider has a loaded signing key, and tokens can be signed: the key
 * process has a worker; "degraded" when stored collateral has passed its nextUpdate), and the
 * readiness probe that asks the store off the event loops.
 */
#include "api/api.h"

#include "collateral/service.h"
#include "core/timeutil.h"
#include "store/store.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

static void send_doc(struct att_http_response *resp, int status, json_t *doc)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text == NULL || att_http_response_json(resp, status, text, strlen(text)) != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot encode the status");
    }
    free(text);
    json_decref(doc);
}

/* The store counts as answering while its last answer to the probe is this recent. */
#define PROBE_FRESH_MS 3000

/* Collateral is counted every this many passes of the probe (a scan of a small table). */
#define PROBE_COLLATERAL_EVERY 5

struct expired_count {
    int64_t now;
    int n;
};

static att_err count_expired(const struct att_collateral_rec *r, void *arg)
{
    struct expired_count *c = arg;
    c->n += c->now > r->next_update;
    return ATT_OK;
}

/* Stored collateral items past their nextUpdate now; -1 when the store does not answer. */
static int expired_collateral(struct att_store *store)
{
    struct expired_count c = {att_time_now(), 0};
    return att_store_collateral_list(store, count_expired, &c) == ATT_OK ? c.n : -1;
}

static void probe_once(struct att_api *api)
{
    if (att_store_ping(api->store) == ATT_OK) {
        atomic_store(&api->probe.store_ok_ms, att_time_mono_ms());
    }
    if (api->probe.ticks++ % PROBE_COLLATERAL_EVERY == 0) {
        int expired = expired_collateral(api->store);
        if (expired >= 0) {
            atomic_store(&api->probe.expired_collateral, expired);
        }
    }
}

static void *probe_main(void *arg)
{
    struct att_api *api = arg;
    pthread_mutex_lock(&api->probe.lock);
    while (!api->probe.stop) {
        struct timespec at;
        clock_gettime(CLOCK_REALTIME, &at);
        at.tv_sec += 1;
        pthread_cond_timedwait(&api->probe.wake, &api->probe.lock, &at);
        if (api->probe.stop) {
            break;
        }
        pthread_mutex_unlock(&api->probe.lock);
        probe_once(api);
        pthread_mutex_lock(&api->probe.lock);
    }
    pthread_mutex_unlock(&api->probe.lock);
    return NULL;
}

att_err att_api_probe_start(struct att_api *api)
{
    pthread_mutex_init(&api->probe.lock, NULL);
    pthread_cond_init(&api->probe.wake, NULL);
    api->probe.stop = false;
    api->probe.ticks = 0;
    probe_once(api);
    ATT_ENSURE(pthread_create(&api->probe.thread, NULL, probe_main, api) == 0, ATT_ERR_INTERNAL);
    api->probe.running = true;
    return ATT_OK;
}

void att_api_probe_stop(struct att_api *api)
{
    if (!api->probe.running) {
        return;
    }
    pthread_mutex_lock(&api->probe.lock);
    api->probe.stop = true;
    pthread_cond_signal(&api->probe.wake);
    pthread_mutex_unlock(&api->probe.lock);
    pthread_join(api->probe.thread, NULL);
    pthread_cond_destroy(&api->probe.wake);
    pthread_mutex_destroy(&api->probe.lock);
    api->probe.running = false;
}

void att_api_healthz(const struct att_api_call *call, struct att_http_response *resp)
{
    (void)call;
    send_doc(resp, 200, json_pack("{s:s}", "status", "ok"));
}

/*
 * Ready: the store answers, every provider has a loaded signing key, there is a default
 * provider, and the key process (if any) has a worker to sign with. Degraded (still 200: the
 * node serves every other kind of evidence, and evidence the collateral's grace covers): ready,
 * but some stored collateral has passed its nextUpdate, so evidence that needs it is refused
 * until newer collateral is fetched or imported. Everyone gets the status; an authenticated
 * Reader of every provider also gets the checks, the provider count and each collateral item's
 * dates (what an anonymous caller need not learn about the deployment).
 */
void att_api_readyz(const struct att_api_call *call, struct att_http_response *resp)
{
    /* Anonymous: on an event loop, so the probe's last answer; a Reader (on the job pool): the
     * store is asked now. */
    int64_t seen = atomic_load(&call->api->probe.store_ok_ms);
    bool store_ok = call->who == NULL ? seen != 0 && att_time_mono_ms() - seen < PROBE_FRESH_MS
                                      : att_store_ping(call->api->store) == ATT_OK;
    size_t with_keys = 0;
    for (size_t i = 0; i < call->providers->n; i++) {
        if (call->providers->items[i].n_keys > 0) {
            with_keys++;
        }
    }
    bool keys_ok = call->providers->n > 0 && with_keys == call->providers->n &&
                   att_provider_set_default(call->providers) != NULL;
    const struct att_api *api = call->api;
    bool signing_ok = api->signing_ok == NULL || api->signing_ok(api->signing_arg);
    /* A store all nodes share (PostgreSQL) that cannot be reached is every node's at once: the
     * nodes keep attesting from what they hold, and a load balancer must not take them all out
     * for it, so it is "degraded" (200), changes failing with 503 meanwhile. A node's own SQLite
     * file that does not answer is that node's fault: not ready. */
    bool shared = strcmp(att_store_backend(api->store), "postgresql") == 0;
    bool ready = (store_ok || shared) && keys_ok && signing_ok;
    /* (a Reader is on the job pool: counted now) */
    int expired = call->who == NULL ? atomic_load(&api->probe.expired_collateral)
                                    : expired_collateral(api->store);
    const char *status = !ready ? "not ready" : expired > 0 || !store_ok ? "degraded" : "ready";
    if (call->who == NULL) {
        send_doc(resp, ready ? 200 : 503, json_pack("{s:s}", "status", status));
        return;
    }
    char collateral[64] = "ok";
    if (expired > 0) {
        snprintf(collateral, sizeof(collateral), "%d item%s past nextUpdate", expired,
                 expired == 1 ? "" : "s");
    }
    json_t *doc =
        json_pack("{s:s,s:{s:s,s:{s:s,s:I},s:s,s:s}}", "status", status, "checks", "store",
                  store_ok ? "ok" : "unreachable", "keys", "status", keys_ok ? "ok" : "missing",
                  "providers", (json_int_t)call->providers->n, "signing",
                  signing_ok ? "ok" : "key process unavailable", "collateral", collateral);
    /* Each collateral item's issue date, nextUpdate and age (detail, not a readiness check:
     * a node without collateral still serves everything else). */
    if (doc != NULL && store_ok && call->api->collateral != NULL) {
        json_t *items = att_collateral_status(call->api->collateral, att_time_now());
        if (items != NULL) {
            json_object_set_new(doc, "collateral", items);
        }
    }
    send_doc(resp, ready ? 200 : 503, doc);
}
