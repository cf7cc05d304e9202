/*
 * peers.h - open connections (and queued work) counted per source, so one source cannot take
 * every slot.
 *
 * A source is an IPv4 address (IPv4-mapped IPv6 included) or an IPv6 /64: one host commonly
 * holds a whole /64 and could otherwise rotate addresses to escape the cap. The table is
 * shared by every event loop (one mutex; taken twice per connection, never per request) and
 * sized for `max_connections` sources, which is the most there can be at once.
 */
#ifndef ATT_HTTP_PEERS_H
#define ATT_HTTP_PEERS_H

#include <stdbool.h>
#include <sys/socket.h>

#include "core/err.h"

struct att_peers;

/* A table for at most `max_sources` distinct sources (every open connection's, at worst). */
att_err att_peers_new(unsigned max_sources, struct att_peers **out) ATT_WUR;
void att_peers_free(struct att_peers *t);

/*
 * Count one more connection from `sa`'s source, unless it holds `cap` already (or the table is
 * full, which max_sources rules out): false then, and nothing is counted. cap 0 = no cap.
 */
bool att_peers_acquire(struct att_peers *t, const struct sockaddr *sa, unsigned cap);
/*
 * Count one more from `sa`'s source unless it holds its fair share of `total` already: the
 * share is total / (sources holding any + 1), at least 1, so that a new source always finds
 * room however many sources fill the rest. False, and nothing counted, when it does.
 */
bool att_peers_acquire_share(struct att_peers *t, const struct sockaddr *sa, unsigned total);
/* One connection from `sa`'s source ended (after a successful acquire). */
void att_peers_release(struct att_peers *t, const struct sockaddr *sa);

#endif
