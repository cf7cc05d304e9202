/*
 * acl.h - network access: loopback detection and CIDR allow-lists.
 *
 * "Private by default" (docs/internals/design.md): attestd listens on loopback unless
 * public network access is enabled, and may check every peer against an
 * allow-list of IPv4 and IPv6 CIDR blocks. IPv4-mapped IPv6 peers
 * (::ffff:a.b.c.d) are matched as IPv4.
 */
#ifndef ATT_HTTP_ACL_H
#define ATT_HTTP_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

#define ATT_ACL_MAX 64

struct att_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned prefix;
};

struct att_acl {
    struct att_cidr items[ATT_ACL_MAX];
    size_t n;
};

/* Parse one "addr/prefix" (or a bare address = host route). */
att_err att_cidr_parse(const char *s, struct att_cidr *out) ATT_WUR;
/* Parse a comma- or space-separated list; empty list = allow all. */
att_err att_acl_parse(const char *list, struct att_acl *out) ATT_WUR;
/* True when the list is empty or one entry contains the address. */
bool att_acl_allows(const struct att_acl *acl, const struct sockaddr *sa);
/* The address as family + bytes (4 or 16 used), IPv4-mapped IPv6 turned into IPv4; false for
 * other families. */
bool att_addr_bytes(const struct sockaddr *sa, int *family, uint8_t addr[16]);
/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool att_addr_is_loopback(const struct sockaddr *sa);
/* "ip" or "[ip6]" text of a socket address, with port when port is true. */
void att_addr_format(const struct sockaddr *sa, bool port, char *out, size_t n);

#endif
