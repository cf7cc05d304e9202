/*
 * backoff.c - failure counting and blocking (see backoff.h). Keys come from network peers
 * (addresses, claimed client ids): they are bounded in length and in number.
 *
 * Each table is an array of slots reached through a chained hash index, and every slot is on
 * one of three lists: free; idle (not blocked, most recently counted first: the tail is what
 * a new key evicts); blocked (in the order blocks end: every block lasts B seconds, so the
 * order they started in). Blocks that have ended move from the head of the blocked list to
 * the tail of the idle list when room is needed, so every operation takes constant
 * (amortised) time whatever the table holds. A slot keeps a 128-bit keyed hash of its key,
 * not the key: two live keys share one only with probability about slots^2 / 2^128.
 */
#include "auth/backoff.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

enum list_id { L_FREE, L_IDLE, L_BLOCKED, L_COUNT };

struct slot {
    uint64_t tag[2]; /* keyed hash of the key */
    uint32_t chain;  /* next slot in the same hash bucket */
    uint32_t prev;   /* neighbours on the slot's list */
    uint32_t next;
    uint8_t list; /* enum list_id */
    unsigned failures;
    int64_t window_start;
    int64_t blocked_until;
};

struct table {
    struct slot *slots;   /* the table's slots, then one sentinel per list */
    uint32_t *buckets;    /* first slot of each bucket's chain */
    uint32_t mask;        /* slots - 1 (a power of two); also the bucket mask */
    uint64_t hash_key[4]; /* two SipHash keys, random per table */
    int64_t closed_until; /* sources: keys not held count as blocked until then */
};

struct att_backoff {
    struct att_backoff_config cfg;
    pthread_mutex_t lock;
    struct table sources;
    struct table clients; /* pairs and clients */
};

/* ---- keys ---- */

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

/* ---- SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) ---- */

static uint64_t rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl(v[1], 13) ^ v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17) ^ v[2];
    v[2] = rotl(v[2], 32);
}

static void sip_compress(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}

/* SipHash-2-4 of the first `len` bytes of `s` under the key (k0, k1); words little-endian. */
static uint64_t siphash(const char *s, size_t len, uint64_t k0, uint64_t k1)
{
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
                     k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
    uint64_t m = 0;
    for (size_t i = 0; i < len; i++) {
        m |= (uint64_t)(uint8_t)s[i] << (8 * (i % 8));
        if (i % 8 == 7) {
            sip_compress(v, m);
            m = 0;
        }
    }
    sip_compress(v, m | (uint64_t)len << 56);
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++) {
        sip_round(v);
    }
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* The tag of `key`, cut to ATT_BACKOFF_KEY_MAX - 1 bytes. */
static void tag_of(const struct table *t, const char *key, uint64_t tag[2])
{
    size_t len = strnlen(key, ATT_BACKOFF_KEY_MAX - 1);
    tag[0] = siphash(key, len, t->hash_key[0], t->hash_key[1]);
    tag[1] = siphash(key, len, t->hash_key[2], t->hash_key[3]);
}

/* ---- lists: circular, each with a sentinel slot after the table's own ---- */

static uint32_t sentinel(const struct table *t, enum list_id id)
{
    return t->mask + 1 + (uint32_t)id;
}

/* The first (head) or last (tail) slot of a list, or NONE when it is empty. */
static uint32_t list_end(const struct table *t, enum list_id id, bool head)
{
    uint32_t end = sentinel(t, id);
    uint32_t i = head ? t->slots[end].next : t->slots[end].prev;
    return i != end ? i : NONE;
}

/* Put slot `i` (on no list) at the head or the tail of list `id`. */
static void list_add(struct table *t, enum list_id id, uint32_t i, bool head)
{
    uint32_t end = sentinel(t, id);
    uint32_t before = head ? end : t->slots[end].prev;
    uint32_t after = t->slots[before].next;
    t->slots[i].list = (uint8_t)id;
    t->slots[i].prev = before;
    t->slots[i].next = after;
    t->slots[before].next = i;
    t->slots[after].prev = i;
}

/* Move slot `i` from its list to the head or the tail of list `id`. */
static void list_move(struct table *t, enum list_id id, uint32_t i, bool head)
{
    struct slot *s = &t->slots[i];
    t->slots[s->prev].next = s->next;
    t->slots[s->next].prev = s->prev;
    list_add(t, id, i, head);
}

/* ---- tables ---- */

static att_err table_init(struct table *t, size_t n)
{
    memset(t, 0, sizeof(*t));
    t->slots = calloc(n + L_COUNT, sizeof(t->slots[0]));
    t->buckets = calloc(n, sizeof(t->buckets[0]));
    ATT_ENSURE(t->slots != NULL && t->buckets != NULL, ATT_ERR_NOMEM);
    ATT_ENSURE(RAND_bytes((unsigned char *)t->hash_key, sizeof(t->hash_key)) == 1, ATT_ERR_CRYPTO);
    t->mask = (uint32_t)(n - 1);
    for (enum list_id id = L_FREE; id < L_COUNT; id++) {
        uint32_t end = sentinel(t, id);
        t->slots[end].prev = end;
        t->slots[end].next = end;
    }
    for (uint32_t i = 0; i < n; i++) {
        t->buckets[i] = NONE;
        t->slots[i].chain = NONE;
        list_add(t, L_FREE, i, false);
    }
    return ATT_OK;
}

static void table_cleanup(struct table *t)
{
    free(t->slots);
    free(t->buckets);
}

static uint32_t find(const struct table *t, const char *key)
{
    uint64_t tag[2];
    tag_of(t, key, tag);
    for (uint32_t i = t->buckets[tag[0] & t->mask]; i != NONE; i = t->slots[i].chain) {
        if (t->slots[i].tag[0] == tag[0] && t->slots[i].tag[1] == tag[1]) {
            return i;
        }
    }
    return NONE;
}

/* Take slot `i` out of its bucket's chain. */
static void unhash(struct table *t, uint32_t i)
{
    uint32_t *link = &t->buckets[t->slots[i].tag[0] & t->mask];
    while (*link != i) {
        link = &t->slots[*link].chain;
    }
    *link = t->slots[i].chain;
    t->slots[i].chain = NONE;
}

/* Forget slot `i`'s key. */
static void release(struct table *t, uint32_t i)
{
    unhash(t, i);
    list_move(t, L_FREE, i, true);
}

/*
 * Blocks that have ended make their slots idle, first in line to be evicted, the first ended
 * first. They are a prefix of the blocked list (blocks end in the order they started).
 */
static void end_blocks(struct table *t, int64_t now)
{
    uint32_t last = NONE;
    uint32_t end = sentinel(t, L_BLOCKED);
    for (uint32_t i = t->slots[end].next; i != end && t->slots[i].blocked_until <= now;
         i = t->slots[i].next) {
        last = i;
    }
    while (last != NONE && last != end) {
        uint32_t prev = t->slots[last].prev;
        list_move(t, L_IDLE, last, false);
        last = prev;
    }
}

/*
 * A slot for the new key `key`: a free one, else the idle one counted longest ago. NONE when
 * every slot holds a running block: those are never given up.
 */
static uint32_t claim(struct table *t, const char *key, int64_t now)
{
    end_blocks(t, now);
    uint32_t i = list_end(t, L_FREE, true);
    if (i == NONE) {
        i = list_end(t, L_IDLE, false);
        if (i == NONE) {
            return NONE;
        }
        unhash(t, i);
    }
    struct slot *s = &t->slots[i];
    tag_of(t, key, s->tag);
    s->failures = 0;
    s->window_start = now;
    s->blocked_until = 0;
    uint32_t *bucket = &t->buckets[s->tag[0] & t->mask];
    s->chain = *bucket;
    *bucket = i;
    list_move(t, L_IDLE, i, true);
    return i;
}

/* Seconds until the first running block of `t` ends (at least 1). */
static unsigned first_block_end(const struct table *t, int64_t now)
{
    uint32_t i = list_end(t, L_BLOCKED, true);
    int64_t left = i != NONE ? t->slots[i].blocked_until - now : 1;
    return left >= 1 ? (unsigned)left : 1;
}

/*
 * One failure for `key` (caller holds the lock). `block_at`: the failures within the window
 * that start a block; 0 never blocks (client keys).
 */
static enum att_backoff_count count_failure(struct att_backoff *b, struct table *t, const char *key,
                                            int64_t now, unsigned block_at)
{
    uint32_t i = find(t, key);
    if (i == NONE) {
        i = claim(t, key, now);
        if (i == NONE) {
            return ATT_BACKOFF_NO_ROOM;
        }
    }
    struct slot *s = &t->slots[i];
    if (now - s->window_start >= (int64_t)b->cfg.window) {
        s->window_start = now;
        s->failures = 0;
    }
    s->failures++;
    if (s->list == L_IDLE) {
        list_move(t, L_IDLE, i, true);
    }
    if (block_at == 0 || s->failures < block_at || s->blocked_until > now) {
        return ATT_BACKOFF_COUNTED;
    }
    s->blocked_until = now + (int64_t)b->cfg.block;
    s->failures = 0;
    s->window_start = now;
    list_move(t, L_BLOCKED, i, false);
    return ATT_BACKOFF_BLOCKED;
}

/* The failures `key` has within its window at `now` (caller holds the lock). */
static unsigned failures_of(const struct att_backoff *b, const struct table *t, const char *key,
                            int64_t now)
{
    uint32_t i = find(t, key);
    if (i == NONE || now - t->slots[i].window_start >= (int64_t)b->cfg.window) {
        return 0;
    }
    return t->slots[i].failures;
}

/* Is `key` of `t` blocked at `now`? NONE-held keys of a table that failed closed are too. */
static bool blocked_in(const struct table *t, const char *key, int64_t now, unsigned *retry_after)
{
    uint32_t i = find(t, key);
    int64_t until = i != NONE ? t->slots[i].blocked_until : t->closed_until;
    if (until <= now) {
        return false;
    }
    *retry_after = (unsigned)(until - now);
    return true;
}

/* ---- the interface ---- */

static bool enabled(const struct att_backoff *b)
{
    return b != NULL && b->cfg.max_failures > 0;
}

att_err att_backoff_new(const struct att_backoff_config *cfg, struct att_backoff **out)
{
    size_t want = cfg->slots != 0 ? cfg->slots : ATT_BACKOFF_SLOTS;
    ATT_ENSURE(want >= ATT_BACKOFF_SLOTS_MIN && want <= ATT_BACKOFF_SLOTS_MAX, ATT_ERR_ARG);
    size_t n = ATT_BACKOFF_SLOTS_MIN;
    while (n < want) {
        n *= 2;
    }
    struct att_backoff *b = calloc(1, sizeof(*b));
    ATT_ENSURE(b != NULL, ATT_ERR_NOMEM);
    b->cfg = *cfg;
    b->cfg.slots = n;
    att_err rc = table_init(&b->sources, n);
    if (rc == ATT_OK) {
        rc = table_init(&b->clients, n);
    }
    if (rc != ATT_OK) {
        table_cleanup(&b->sources);
        table_cleanup(&b->clients);
        free(b);
        return rc;
    }
    pthread_mutex_init(&b->lock, NULL);
    *out = b;
    return ATT_OK;
}

void att_backoff_free(struct att_backoff *b)
{
    if (b != NULL) {
        pthread_mutex_destroy(&b->lock);
        table_cleanup(&b->sources);
        table_cleanup(&b->clients);
        free(b);
    }
}

bool att_backoff_source_blocked(struct att_backoff *b, const char *source, int64_t now,
                                unsigned *retry_after)
{
    if (!enabled(b)) {
        return false;
    }
    pthread_mutex_lock(&b->lock);
    bool blocked = blocked_in(&b->sources, source, now, retry_after);
    pthread_mutex_unlock(&b->lock);
    return blocked;
}

bool att_backoff_pair_blocked(struct att_backoff *b, const char *pair, int64_t now,
                              unsigned *retry_after)
{
    if (!enabled(b)) {
        return false;
    }
    pthread_mutex_lock(&b->lock);
    bool blocked = blocked_in(&b->clients, pair, now, retry_after);
    pthread_mutex_unlock(&b->lock);
    return blocked;
}

/* Count a source's failure (caller holds the lock); a full table fails closed for sources. */
static enum att_backoff_count source_failed(struct att_backoff *b, const char *source, int64_t now,
                                            unsigned *retry_after)
{
    enum att_backoff_count c = count_failure(b, &b->sources, source, now, b->cfg.max_failures);
    if (c == ATT_BACKOFF_NO_ROOM) {
        b->sources.closed_until = now + (int64_t)b->cfg.block;
        *retry_after = b->cfg.block > 0 ? b->cfg.block : 1;
    }
    return c;
}

enum att_backoff_count att_backoff_fail(struct att_backoff *b, const char *source, int64_t now,
                                        unsigned *retry_after)
{
    if (!enabled(b)) {
        return ATT_BACKOFF_COUNTED;
    }
    pthread_mutex_lock(&b->lock);
    enum att_backoff_count c = source_failed(b, source, now, retry_after);
    pthread_mutex_unlock(&b->lock);
    return c;
}

enum att_backoff_count att_backoff_credential_failed(struct att_backoff *b,
                                                     const struct att_backoff_keys *k, int64_t now,
                                                     unsigned *retry_after)
{
    unsigned ignored = 0;
    if (!enabled(b)) {
        return ATT_BACKOFF_COUNTED;
    }
    pthread_mutex_lock(&b->lock);
    (void)source_failed(b, k->source, now, &ignored);
    enum att_backoff_count c = ATT_BACKOFF_COUNTED;
    if (k->client[0] != 0) {
        /* Under attack from elsewhere: this source's first failure for the client blocks it. */
        bool attacked = failures_of(b, &b->clients, k->client, now) >= b->cfg.max_failures;
        /* The pair first: counting it makes it the newest, never the client's victim. */
        c = count_failure(b, &b->clients, k->pair, now, attacked ? 1 : b->cfg.max_failures);
        (void)count_failure(b, &b->clients, k->client, now, 0);
        if (c == ATT_BACKOFF_NO_ROOM) {
            *retry_after = first_block_end(&b->clients, now);
        }
    }
    pthread_mutex_unlock(&b->lock);
    return c;
}

void att_backoff_success(struct att_backoff *b, const char *pair)
{
    if (b == NULL) {
        return;
    }
    pthread_mutex_lock(&b->lock);
    uint32_t i = find(&b->clients, pair);
    if (i != NONE && b->clients.slots[i].list == L_IDLE) {
        release(&b->clients, i);
    } else if (i != NONE) {
        b->clients.slots[i].failures = 0;
    }
    pthread_mutex_unlock(&b->lock);
}
