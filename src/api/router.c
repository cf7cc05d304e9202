/*
 * router.c - the route table and request routing.
 *
 * Input: a parsed request (path already percent-decoded and free of dot
 * segments). Routing is on literal strings: MAA's ":reset", ":add" are part
 * of the last segment (MAA-API.md §1.2).
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* Whether a route takes the api-version query parameter (MAA-API.md §1.1). */
enum version_rule {
    VERSION_IGNORED,  /* attestd-specific routes */
    VERSION_OPTIONAL, /* /certs and OpenID metadata: SDKs send none */
    VERSION_REQUIRED,
};

struct route {
    enum att_http_method method;
    const char *path; /* relative to the provider's base */
    const char *name; /* for logs */
    enum version_rule version;
    bool root_only; /* not under /providers/{name} */
    void (*handler)(const struct att_api_call *call, struct att_http_response *resp);
};

static const struct route routes[] = {
    {ATT_HTTP_GET, "/certs", "GetCerts", VERSION_OPTIONAL, false, att_api_get_certs},
    {ATT_HTTP_GET, "/.well-known/openid-configuration", "GetOpenIdMetadata", VERSION_OPTIONAL,
     false, att_api_get_openid},
    {ATT_HTTP_GET, "/healthz", "Healthz", VERSION_IGNORED, true, att_api_healthz},
    {ATT_HTTP_GET, "/readyz", "Readyz", VERSION_IGNORED, true, att_api_readyz},
};

/* api-version values of MAA's published specs (MAA-API.md §1.1). */
static const char *const api_versions[] = {
    "2018-09-01-preview", "2020-10-01", "2022-08-01", "2022-09-01-preview", "2025-06-01",
};

static bool version_known(struct att_bytes v)
{
    for (size_t i = 0; i < sizeof(api_versions) / sizeof(api_versions[0]); i++) {
        if (att_bytes_eq_str(v, api_versions[i])) {
            return true;
        }
    }
    return false;
}

att_err att_api_init(struct att_api *api, struct att_store *store,
                     struct att_provider_set *providers)
{
    memset(api, 0, sizeof(*api));
    api->current = calloc(1, sizeof(*api->current));
    ATT_ENSURE(api->current != NULL, ATT_ERR_NOMEM);
    api->current->providers = providers;
    api->current->refs = 1;
    api->store = store;
    pthread_mutex_init(&api->lock, NULL);
    return ATT_OK;
}

static void snapshot_release(struct att_api *api, struct att_api_snapshot *snap)
{
    pthread_mutex_lock(&api->lock);
    bool last = --snap->refs == 0;
    pthread_mutex_unlock(&api->lock);
    if (last) {
        att_provider_set_free(snap->providers);
        free(snap);
    }
}

static struct att_api_snapshot *snapshot_acquire(struct att_api *api)
{
    pthread_mutex_lock(&api->lock);
    struct att_api_snapshot *snap = api->current;
    snap->refs++;
    pthread_mutex_unlock(&api->lock);
    return snap;
}

void att_api_cleanup(struct att_api *api)
{
    if (api->current != NULL) {
        snapshot_release(api, api->current);
        api->current = NULL;
    }
    pthread_mutex_destroy(&api->lock);
}

att_err att_api_swap_providers(struct att_api *api, struct att_provider_set *providers)
{
    struct att_api_snapshot *snap = calloc(1, sizeof(*snap));
    if (snap == NULL) {
        att_provider_set_free(providers);
        return ATT_ERR_NOMEM;
    }
    snap->providers = providers;
    snap->refs = 1;
    pthread_mutex_lock(&api->lock);
    struct att_api_snapshot *old = api->current;
    api->current = snap;
    pthread_mutex_unlock(&api->lock);
    snapshot_release(api, old);
    return ATT_OK;
}

/*
 * Split "/providers/{name}/rest" into the provider and "/rest".
 * Paths without the prefix belong to the default provider.
 */
static bool split_provider(struct att_bytes path, struct att_bytes *name, struct att_bytes *rest)
{
    static const char prefix[] = "/providers/";
    struct att_rd r;
    struct att_bytes head;
    att_rd_init(&r, path.ptr, path.len);
    if (att_rd_bytes(&r, sizeof(prefix) - 1, &head) != ATT_OK || !att_bytes_eq_str(head, prefix)) {
        return false;
    }
    struct att_rd after = r;
    if (att_rd_until(&after, '/', name) != ATT_OK) {
        att_rd_rest(&r, name); /* "/providers/NAME": no route under it */
        rest->ptr = NULL;
        rest->len = 0;
        return true;
    }
    /* The rest keeps its leading '/': it starts where the name ends. */
    att_ignore_err(att_bytes_slice(path, att_rd_offset(&r) + name->len,
                                   path.len - att_rd_offset(&r) - name->len, rest));
    return true;
}

static void not_found(struct att_http_response *resp)
{
    att_http_error(resp, 404, "NotFound", "no such route");
}

static void route_request(struct att_api *api, const struct att_api_snapshot *snap,
                          const struct att_http_request *req, struct att_http_response *resp)
{
    const struct att_http_head *h = req->head;
    struct att_bytes name = {NULL, 0};
    struct att_bytes rest = h->path;
    bool under_provider = split_provider(h->path, &name, &rest);
    const struct att_provider *provider = NULL;

    if (under_provider) {
        provider = att_provider_set_find(snap->providers, (const char *)name.ptr, name.len);
        if (provider == NULL) {
            att_http_error(resp, 404, "NotFound", "no such attestation provider");
            return;
        }
    } else {
        provider = att_provider_set_default(snap->providers);
    }
    if (provider != NULL) {
        snprintf(resp->provider, sizeof(resp->provider), "%s", provider->rec.name);
    }

    enum att_http_method m = h->method == ATT_HTTP_HEAD ? ATT_HTTP_GET : h->method;
    const struct route *match = NULL;
    char allow[64] = "";
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *rt = &routes[i];
        if (!att_bytes_eq_str(rest, rt->path) || (rt->root_only && under_provider)) {
            continue;
        }
        if (rt->method == m) {
            match = rt;
        } else {
            size_t used = strlen(allow);
            snprintf(allow + used, sizeof(allow) - used, "%s%s", used > 0 ? ", " : "",
                     att_http_method_name(rt->method));
        }
    }
    if (match == NULL && allow[0] != 0) {
        att_http_error(resp, 405, "MethodNotAllowed", "this method is not allowed on this route");
        att_ignore_err(att_http_response_header(resp, "Allow", allow)); /* constant text */
        return;
    }
    if (match == NULL) {
        not_found(resp);
        return;
    }
    resp->route = match->name;
    if (!match->root_only && provider == NULL) {
        att_http_error(resp, 404, "NotFound", "no default attestation provider");
        return;
    }
    const struct att_bytes *version = att_http_query_get(h, "api-version");
    if (match->version == VERSION_REQUIRED && version == NULL) {
        att_http_error(resp, 400, "InvalidParameter",
                       "the api-version query parameter is required");
        return;
    }
    if (match->version != VERSION_IGNORED && version != NULL && !version_known(*version)) {
        char msg[256] = "unsupported api-version; supported:";
        for (size_t i = 0; i < sizeof(api_versions) / sizeof(api_versions[0]); i++) {
            size_t used = strlen(msg);
            snprintf(msg + used, sizeof(msg) - used, "%s %s", i > 0 ? "," : "", api_versions[i]);
        }
        att_http_error(resp, 400, "InvalidParameter", msg);
        return;
    }
    struct att_api_call call = {req, snap->providers, provider, api};
    match->handler(&call, resp);
}

void att_api_handle(void *arg, const struct att_http_request *req, struct att_http_response *resp)
{
    struct att_api *api = arg;
    if (req->head->method == ATT_HTTP_OTHER) {
        att_http_error(resp, 501, "NotImplemented", "unknown HTTP method");
        return;
    }
    struct att_api_snapshot *snap = snapshot_acquire(api);
    route_request(api, snap, req, resp);
    snapshot_release(api, snap);
}
