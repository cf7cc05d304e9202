/*
 * peers.c - per-source connection counts (see peers.h): an open-addressing hash table with
 * linear probing and backward-shift deletion (no tombstones, so it never degrades), keyed by
 * 16 bytes: the IPv4 address or the IPv6 /64, with a family tag.
 *
 * Input: peer addresses from accept(), untrusted but well-formed (the kernel's).
 */
#include "http/peers.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/acl.h"

struct slot {
    uint8_t key[17]; /* family tag, then the address or /64 */
    unsigned count;  /* 0 = empty */
};

struct att_peers {
    pthread_mutex_t lock;
    struct slot *slots;
    size_t mask; /* slots - 1; a power of two, at least twice max_sources */
    size_t used; /* slots holding a source; kept at most half, so probes always end */
};

att_err att_peers_new(unsigned max_sources, struct att_peers **out)
{
    size_t n = 16;
    while (n < 2 * (size_t)max_sources) {
        n *= 2;
    }
    struct att_peers *t = calloc(1, sizeof(*t));
    ATT_ENSURE(t != NULL, ATT_ERR_NOMEM);
    t->slots = calloc(n, sizeof(*t->slots));
    if (t->slots == NULL) {
        free(t);
        return ATT_ERR_NOMEM;
    }
    t->mask = n - 1;
    pthread_mutex_init(&t->lock, NULL);
    *out = t;
    return ATT_OK;
}

void att_peers_free(struct att_peers *t)
{
    if (t == NULL) {
        return;
    }
    pthread_mutex_destroy(&t->lock);
    free(t->slots);
    free(t);
}

/* The source's key: IPv4 address, or the first 64 bits of an IPv6 address. */
static bool key_of(const struct sockaddr *sa, uint8_t key[17])
{
    int family;
    uint8_t addr[16];
    memset(key, 0, 17);
    if (!att_addr_bytes(sa, &family, addr)) {
        return false;
    }
    key[0] = family == AF_INET ? 4 : 6;
    memcpy(key + 1, addr, family == AF_INET ? 4 : 8);
    return true;
}

/* FNV-1a; the table is not exposed to chosen collisions beyond one source's own slots, and a
 * source that fills a probe run still holds at most `cap` connections per key. */
static size_t hash_of(const uint8_t key[17])
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < 17; i++) {
        h = (h ^ key[i]) * 1099511628211ULL;
    }
    return (size_t)h;
}

/* The slot holding `key`, or the empty slot where it would go. */
static size_t find(const struct att_peers *t, const uint8_t key[17])
{
    size_t i = hash_of(key) & t->mask;
    while (t->slots[i].count != 0 && memcmp(t->slots[i].key, key, 17) != 0) {
        i = (i + 1) & t->mask;
    }
    return i;
}

/* Count one more for `key` unless it holds `cap` (0: no cap; share: the fair share of cap). */
static bool acquire(struct att_peers *t, const uint8_t key[17], unsigned cap, bool share)
{
    size_t i = find(t, key);
    struct slot *s = &t->slots[i];
    bool fresh = s->count == 0;
    if (share) {
        size_t sources = t->used + (fresh ? 1 : 0);
        cap = sources + 1 < cap ? (unsigned)(cap / (sources + 1)) : 1;
    }
    bool ok = (cap == 0 || s->count < cap) && (!fresh || t->used < (t->mask + 1) / 2);
    if (ok) {
        memcpy(s->key, key, 17);
        s->count++;
        t->used += fresh ? 1 : 0;
    }
    return ok;
}

bool att_peers_acquire(struct att_peers *t, const struct sockaddr *sa, unsigned cap)
{
    uint8_t key[17];
    if (!key_of(sa, key)) {
        return true; /* not an IP peer: nothing to count */
    }
    pthread_mutex_lock(&t->lock);
    bool ok = acquire(t, key, cap, false);
    pthread_mutex_unlock(&t->lock);
    return ok;
}

bool att_peers_acquire_share(struct att_peers *t, const struct sockaddr *sa, unsigned total)
{
    uint8_t key[17];
    if (!key_of(sa, key)) {
        return true;
    }
    pthread_mutex_lock(&t->lock);
    bool ok = acquire(t, key, total, true);
    pthread_mutex_unlock(&t->lock);
    return ok;
}

void att_peers_release(struct att_peers *t, const struct sockaddr *sa)
{
    uint8_t key[17];
    if (!key_of(sa, key)) {
        return;
    }
    pthread_mutex_lock(&t->lock);
    size_t i = find(t, key);
    if (t->slots[i].count > 1) {
        t->slots[i].count--;
    } else if (t->slots[i].count == 1) {
        /* Backward-shift deletion: pull later members of the probe run into the hole. */
        size_t hole = i;
        t->slots[hole].count = 0;
        t->used--;
        for (size_t j = (hole + 1) & t->mask; t->slots[j].count != 0; j = (j + 1) & t->mask) {
            size_t home = hash_of(t->slots[j].key) & t->mask;
            /* Move j back when its home is not in the cyclic range (hole, j]. */
            bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
            if (!in_range) {
                t->slots[hole] = t->slots[j];
                t->slots[j].count = 0;
                hole = j;
            }
        }
    }
    pthread_mutex_unlock(&t->lock);
}
