/*
 * backoff.c - failure counting and blocking (see backoff.h). Keys come from network peers
 * (addresses, claimed client ids): they are bounded in length and in number.
 */
#include "auth/backoff.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    char key[ATT_BACKOFF_KEY_MAX];
    unsigned failures;
    int64_t window_start;
    int64_t blocked_until;
    int64_t last_seen;
};

struct att_backoff {
    struct att_backoff_config cfg;
    pthread_mutex_t lock;
    struct slot slots[ATT_BACKOFF_SLOTS];
};

void att_backoff_addr_key(const struct sockaddr *sa, char out[ATT_BACKOFF_KEY_MAX])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char text[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        struct in6_addr a = in6->sin6_addr;
        if (memcmp(a.s6_addr, mapped, sizeof(mapped)) == 0) {
            inet_ntop(AF_INET, &a.s6_addr[12], text, sizeof(text));
            snprintf(out, ATT_BACKOFF_KEY_MAX, "ip:%s", text);
            return;
        }
        memset(&a.s6_addr[8], 0, 8);
        inet_ntop(AF_INET6, &a, text, sizeof(text));
        snprintf(out, ATT_BACKOFF_KEY_MAX, "ip6:%s/64", text);
        return;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    }
    snprintf(out, ATT_BACKOFF_KEY_MAX, "ip:%s", text);
}

void att_backoff_keys_init(struct att_backoff_keys *k, const struct sockaddr *peer,
                           const char *client_id)
{
    memset(k, 0, sizeof(*k));
    att_backoff_addr_key(peer, k->source);
    if (client_id != NULL && client_id[0] != 0) {
        /* The source part has no space, so no client id can make one pair look like another. */
        snprintf(k->pair, sizeof(k->pair), "%s client:%s", k->source, client_id);
        snprintf(k->client, sizeof(k->client), "client:%s", client_id);
    }
}

att_err att_backoff_new(const struct att_backoff_config *cfg, struct att_backoff **out)
{
    struct att_backoff *b = calloc(1, sizeof(*b));
    ATT_ENSURE(b != NULL, ATT_ERR_NOMEM);
    b->cfg = *cfg;
    pthread_mutex_init(&b->lock, NULL);
    *out = b;
    return ATT_OK;
}

void att_backoff_free(struct att_backoff *b)
{
    if (b != NULL) {
        pthread_mutex_destroy(&b->lock);
        free(b);
    }
}

/*
 * Linear search: the table is small and failures are rare on a healthy system. Slots hold
 * keys cut to ATT_BACKOFF_KEY_MAX - 1 bytes (claim), so only that much is compared.
 */
static struct slot *find(struct att_backoff *b, const char *key)
{
    for (size_t i = 0; i < ATT_BACKOFF_SLOTS; i++) {
        if (b->slots[i].key[0] != 0 &&
            strncmp(b->slots[i].key, key, sizeof(b->slots[i].key) - 1) == 0) {
            return &b->slots[i];
        }
    }
    return NULL;
}

/*
 * A free slot, else the unblocked one seen longest ago, else the oldest of all: a flood of
 * new keys (addresses are cheap in IPv6) must not evict the keys that are blocked.
 */
static struct slot *claim(struct att_backoff *b, const char *key, int64_t now)
{
    struct slot *victim = NULL;
    struct slot *oldest = &b->slots[0];
    for (size_t i = 0; i < ATT_BACKOFF_SLOTS; i++) {
        struct slot *s = &b->slots[i];
        if (s->key[0] == 0) {
            victim = s;
            break;
        }
        if (s->blocked_until <= now && (victim == NULL || s->last_seen < victim->last_seen)) {
            victim = s;
        }
        if (s->last_seen < oldest->last_seen) {
            oldest = s;
        }
    }
    if (victim == NULL) {
        victim = oldest;
    }
    memset(victim, 0, sizeof(*victim));
    size_t n = strlen(key);
    n = n < sizeof(victim->key) - 1 ? n : sizeof(victim->key) - 1;
    memcpy(victim->key, key, n);
    victim->window_start = now;
    victim->last_seen = now;
    return victim;
}

bool att_backoff_blocked(struct att_backoff *b, const char *key, int64_t now, unsigned *retry_after)
{
    bool blocked = false;
    if (b == NULL || b->cfg.max_failures == 0) {
        return false;
    }
    pthread_mutex_lock(&b->lock);
    struct slot *s = find(b, key);
    if (s != NULL && s->blocked_until > now) {
        blocked = true;
        *retry_after = (unsigned)(s->blocked_until - now);
    }
    pthread_mutex_unlock(&b->lock);
    return blocked;
}

/*
 * One failure for `key` (caller holds the lock). `block_at`: the failures within the window
 * that start a block; 0 never blocks (client keys). True when this one started a block.
 */
static bool count_failure(struct att_backoff *b, const char *key, int64_t now, unsigned block_at)
{
    struct slot *s = find(b, key);
    if (s == NULL) {
        s = claim(b, key, now);
    }
    if (now - s->window_start >= (int64_t)b->cfg.window) {
        s->window_start = now;
        s->failures = 0;
    }
    s->last_seen = now;
    s->failures++;
    if (block_at == 0 || s->failures < block_at || s->blocked_until > now) {
        return false;
    }
    s->blocked_until = now + (int64_t)b->cfg.block;
    s->failures = 0;
    s->window_start = now;
    return true;
}

/* The failures `key` has within its window at `now` (caller holds the lock). */
static unsigned failures_of(struct att_backoff *b, const char *key, int64_t now)
{
    const struct slot *s = find(b, key);
    if (s == NULL || now - s->window_start >= (int64_t)b->cfg.window) {
        return 0;
    }
    return s->failures;
}

bool att_backoff_fail(struct att_backoff *b, const char *key, int64_t now)
{
    bool started = false;
    if (b == NULL || b->cfg.max_failures == 0) {
        return false;
    }
    pthread_mutex_lock(&b->lock);
    started = count_failure(b, key, now, b->cfg.max_failures);
    pthread_mutex_unlock(&b->lock);
    return started;
}

bool att_backoff_credential_failed(struct att_backoff *b, const struct att_backoff_keys *k,
                                   int64_t now)
{
    bool started = false;
    if (b == NULL || b->cfg.max_failures == 0) {
        return false;
    }
    pthread_mutex_lock(&b->lock);
    (void)count_failure(b, k->source, now, b->cfg.max_failures);
    if (k->client[0] != 0) {
        /* Under attack from elsewhere: this source's first failure for the client blocks it. */
        bool attacked = failures_of(b, k->client, now) >= b->cfg.max_failures;
        (void)count_failure(b, k->client, now, 0);
        started = count_failure(b, k->pair, now, attacked ? 1 : b->cfg.max_failures);
    }
    pthread_mutex_unlock(&b->lock);
    return started;
}

void att_backoff_success(struct att_backoff *b, const char *key)
{
    if (b == NULL) {
        return;
    }
    pthread_mutex_lock(&b->lock);
    struct slot *s = find(b, key);
    if (s != NULL && s->blocked_until == 0) {
        memset(s, 0, sizeof(*s));
    } else if (s != NULL) {
        s->failures = 0;
    }
    pthread_mutex_unlock(&b->lock);
}
