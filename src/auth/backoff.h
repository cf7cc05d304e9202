/*
 * backoff.h - brute-force backoff for authentication failures.
 *
 * Failures are counted per key in a fixed window: `max_failures` (N) failures within `window`
 * (W) seconds block the key for `block` (B) seconds, and its requests are answered 429 with
 * Retry-After before any credential is checked (so a blocked guesser also stops costing
 * scrypt time). Three kinds of key (docs/identity.md, "Brute-force backoff"):
 *
 *   source  a peer address, or the /64 of an IPv6 one (att_backoff_addr_key). Every failed
 *           authentication from it counts. The callers decide what a blocked source is refused:
 *           only what no valid caller sends (invalid bearer tokens, malformed client
 *           authentication, client ids that name no principal), so callers sharing an address
 *           with a guesser (NAT, a proxy) keep working with valid credentials.
 *   pair    (source, client id): failed checks of that client's credentials from that source.
 *           N within W block the pair: the one refusal a valid credential can meet, and only
 *           after failures naming that client from that same source.
 *   client  a client id across all sources: failed checks count but never block the client.
 *           While it has N or more within W, a pair's first failure blocks that pair: guessing
 *           from many addresses gets one guess per address per B seconds, while the owner's
 *           address, without failures of its own, is checked as always.
 *
 * Only checked credentials of a principal that exists count against a pair and a client
 * (att_backoff_credential_failed): a wrong secret, an assertion whose key, signature or signed
 * claims fail. Anything else counts against the source alone (att_backoff_fail). A success
 * forgets the pair's failures only.
 *
 * State is per node and in memory, in two bounded tables of `slots` entries each (default
 * ATT_BACKOFF_SLOTS): one for sources, one for pairs and clients, so that sources, which
 * cost an attacker nothing but addresses, never push out what guessing a credential needs.
 * Keys are found through a hash keyed with a random secret per table (SipHash-2-4), so no
 * chosen keys can make lookups slow. When a table is full, the idle key seen longest ago makes
 * room; a key is never forgotten while it is blocked. When every slot holds a running block,
 * the table fails closed (ATT_BACKOFF_NO_ROOM):
 *   - sources: the failure is not counted and every source the table does not hold counts as
 *     blocked for B seconds (what a blocked source is refused, no valid caller sends);
 *   - pairs: the failure is not counted and the caller answers it as blocked. The next
 *     attempt of that pair is checked again: a valid credential is never refused for want of
 *     room. Filling this table takes `slots` failed credential checks of existing principals
 *     within B seconds, from as many (source, client) pairs.
 * One mutex; every function is thread-safe. Nothing here is secret; keys hold addresses and
 * client ids.
 */
#ifndef ATT_AUTH_BACKOFF_H
#define ATT_AUTH_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

#define ATT_BACKOFF_SLOTS 65536 /* keys per table (sources; pairs and clients) */
#define ATT_BACKOFF_SLOTS_MIN 8 /* smallest table att_backoff_new accepts */
#define ATT_BACKOFF_SLOTS_MAX (1u << 22)
#define ATT_BACKOFF_KEY_MAX 128 /* longer keys are cut */

struct att_backoff_config {
    unsigned max_failures; /* 0 disables backoff */
    unsigned window;       /* seconds */
    unsigned block;        /* seconds */
    size_t slots;          /* per table, rounded up to a power of two; 0 = ATT_BACKOFF_SLOTS */
};

struct att_backoff;

/* ATT_ERR_ARG (slots out of range), ATT_ERR_NOMEM, ATT_ERR_CRYPTO (no random hash key). */
att_err att_backoff_new(const struct att_backoff_config *cfg, struct att_backoff **out) ATT_WUR;
void att_backoff_free(struct att_backoff *b);

/*
 * The backoff key of a peer address: "ip:a.b.c.d" for IPv4 (and IPv4-mapped IPv6), and the
 * /64 for IPv6 ("ip6:2001:db8:1:2::/64"), since one host commonly holds a whole /64 and could
 * otherwise rotate addresses to escape its block.
 */
void att_backoff_addr_key(const struct sockaddr *sa, char out[ATT_BACKOFF_KEY_MAX]);

/* The keys of one client authentication attempt. */
struct att_backoff_keys {
    char source[ATT_BACKOFF_KEY_MAX]; /* "ip:192.0.2.7", "ip6:2001:db8:1:2::/64" */
    char pair[ATT_BACKOFF_KEY_MAX];   /* "ip:192.0.2.7 client:<id>"; "" without a client id */
    char client[ATT_BACKOFF_KEY_MAX]; /* "client:<id>"; "" without a client id */
};

/* The keys of an attempt from `peer` naming `client_id` (NULL or "" when it names none). */
void att_backoff_keys_init(struct att_backoff_keys *k, const struct sockaddr *peer,
                           const char *client_id);

/*
 * Is the source `source` blocked at `now`: its own block, or the source table failed closed
 * and does not hold it? *retry_after (seconds, >= 1) is set when it is.
 */
bool att_backoff_source_blocked(struct att_backoff *b, const char *source, int64_t now,
                                unsigned *retry_after);
/* Is the pair `pair` (att_backoff_keys.pair) blocked at `now`? As above. Clients never are. */
bool att_backoff_pair_blocked(struct att_backoff *b, const char *pair, int64_t now,
                              unsigned *retry_after);

/* What counting one failure did. */
enum att_backoff_count {
    ATT_BACKOFF_COUNTED, /* counted; no block started (one may be running) */
    ATT_BACKOFF_BLOCKED, /* counted, and this failure started a block */
    ATT_BACKOFF_NO_ROOM, /* not counted: every slot holds a running block; answer as blocked */
};

/*
 * Count one failure of source `source`. For ATT_BACKOFF_NO_ROOM, *retry_after is set (the
 * seconds every source the table does not hold stays blocked).
 */
enum att_backoff_count att_backoff_fail(struct att_backoff *b, const char *source, int64_t now,
                                        unsigned *retry_after);
/*
 * A checked credential of `k`'s client, a principal that exists, failed: one failure for the
 * source, the pair and the client, and the pair is blocked at N failures, or at once while
 * the client has N or more. `k` must name a client. The result is the pair's; for
 * ATT_BACKOFF_NO_ROOM *retry_after is set (the seconds until a running block ends).
 */
enum att_backoff_count att_backoff_credential_failed(struct att_backoff *b,
                                                     const struct att_backoff_keys *k, int64_t now,
                                                     unsigned *retry_after);
/* Forget the pair `pair`'s failures (after a success); a running block stays. */
void att_backoff_success(struct att_backoff *b, const char *pair);

#endif
