/*
 * count.c - the rules' fixed-window counters and how a source is named (alert.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "alert/alert.h"
#include "auth/backoff.h"

/* A counter's count now: 0 once its own window has passed (keys of different rules share the
 * table with different windows). */
static unsigned live_count(const struct att_alert_counter *c, int64_t now)
{
    return c->key[0] != 0 && now - c->window_start < (int64_t)c->window ? c->n : 0;
}

bool att_alert_count(struct att_alert_counter *table, size_t size, const char *key, unsigned window,
                     unsigned limit, int64_t now, unsigned *n, bool *evicted)
{
    struct att_alert_counter *c = NULL;
    struct att_alert_counter *spare = &table[0];
    for (size_t i = 0; i < size && c == NULL; i++) {
        struct att_alert_counter *e = &table[i];
        if (e->key[0] != 0 && strcmp(e->key, key) == 0) {
            c = e;
            continue;
        }
        unsigned en = live_count(e, now), sn = live_count(spare, now);
        if (en < sn || (en == sn && e->window_start < spare->window_start)) {
            spare = e;
        }
    }
    *evicted = false;
    if (c == NULL) {
        c = spare;
        *evicted = live_count(c, now) > 0;
        memset(c, 0, sizeof(*c));
        snprintf(c->key, sizeof(c->key), "%s", key);
    }
    if (now - c->window_start >= (int64_t)window) {
        c->window_start = now;
        c->n = 0;
    }
    c->window = window;
    c->n++;
    *n = c->n;
    return limit > 0 && c->n >= limit;
}

void att_alert_source_subject(const char *address, char *out, size_t out_len)
{
    struct sockaddr_in6 in6;
    char key[ATT_BACKOFF_KEY_MAX];
    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, address, &in6.sin6_addr) != 1) {
        snprintf(out, out_len, "%s", address);
        return;
    }
    att_backoff_addr_key((const struct sockaddr *)&in6, key);
    /* "ip6:2001:db8:1:2::/64", or "ip:192.0.2.7" for a v4-mapped address */
    snprintf(out, out_len, "%s", key + (strncmp(key, "ip6:", 4) == 0 ? 4 : 3));
}
