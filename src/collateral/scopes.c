/*
 * scopes.c - the collateral services of provider-scoped trust anchors (scopes.h).
 *
 * Input: the PEM text of a provider's record (our store), parsed once per distinct text. The
 * lock guards the list; a service is made under it (rare: once per scope and daemon) and used
 * without it (services are thread-safe and never freed before the registry).
 */
#include "collateral/scopes.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct scope {
    char *pem; /* the anchors' PEM text, as the provider's record has it (the lookup key) */
    size_t len;
    struct att_dcap_trust *trust; /* owned: provider sets come and go, the service stays */
    struct att_collateral *cl;
};

struct att_collateral_scopes {
    struct att_store *store;
    pthread_mutex_t lock;
    struct scope items[ATT_COLLATERAL_SCOPES_MAX];
    size_t n;
};

att_err att_collateral_scopes_new(struct att_store *store, struct att_collateral_scopes **out)
{
    ATT_ENSURE(store != NULL && out != NULL, ATT_ERR_ARG);
    struct att_collateral_scopes *s = calloc(1, sizeof(*s));
    ATT_ENSURE(s != NULL, ATT_ERR_NOMEM);
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return ATT_ERR_NOMEM;
    }
    s->store = store;
    *out = s;
    return ATT_OK;
}

void att_collateral_scopes_free(struct att_collateral_scopes *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        att_collateral_free(s->items[i].cl);
        att_dcap_trust_free(s->items[i].trust);
        free(s->items[i].pem);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* A new scope for `pem` in the free slot `sc` (filled only on success). */
static att_err make_scope(struct att_collateral_scopes *s, const char *pem, size_t len,
                          struct scope *sc, char *msg, size_t msg_len)
{
    struct scope n = {NULL, len, NULL, NULL};
    att_err rc = ATT_ERR_NOMEM;
    n.pem = malloc(len + 1);
    ATT_CHECK(n.pem != NULL, ATT_ERR_NOMEM);
    memcpy(n.pem, pem, len);
    n.pem[len] = '\0';
    ATT_GUARD(att_dcap_trust_from_pem(n.pem, len, &n.trust, msg, msg_len));
    /* Offline: a provider's own roots have no PCS (scopes.h). */
    struct att_collateral_config cfg = {NULL, NULL, NULL, NULL, 0, 0, att_dcap_trust_id(n.trust)};
    ATT_GUARD(att_collateral_new(s->store, n.trust, &cfg, &n.cl));
    att_log(ATT_LOG_INFO, "collateral scope opened", "scope",
            json_string(att_dcap_trust_id(n.trust)), NULL);
    *sc = n;
    n.pem = NULL;
    n.trust = NULL;
    rc = ATT_OK;
out:
    att_dcap_trust_free(n.trust);
    free(n.pem);
    return rc;
}

att_err att_collateral_scopes_get(struct att_collateral_scopes *s, const char *pem, size_t len,
                                  struct att_collateral **out, char *msg, size_t msg_len)
{
    att_err rc = ATT_OK;
    struct att_collateral *cl = NULL;
    ATT_ENSURE(s != NULL && pem != NULL && len > 0 && out != NULL, ATT_ERR_ARG);
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n && cl == NULL; i++) {
        if (s->items[i].len == len && memcmp(s->items[i].pem, pem, len) == 0) {
            cl = s->items[i].cl;
        }
    }
    if (cl == NULL && s->n == ATT_COLLATERAL_SCOPES_MAX) {
        rc = att_failf(ATT_ERR_TOO_LARGE, msg, msg_len,
                       "more than %d sets of provider trust anchors are in use",
                       ATT_COLLATERAL_SCOPES_MAX);
    } else if (cl == NULL) {
        rc = make_scope(s, pem, len, &s->items[s->n], msg, msg_len);
        if (rc == ATT_OK) {
            cl = s->items[s->n++].cl;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == ATT_OK) {
        *out = cl;
    }
    return rc;
}

void att_collateral_scopes_store_changed(struct att_collateral_scopes *s, int64_t now)
{
    /* Services are never freed before the registry, so each may be used unlocked. */
    pthread_mutex_lock(&s->lock);
    size_t n = s->n;
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        att_collateral_store_changed(s->items[i].cl, now);
    }
}
