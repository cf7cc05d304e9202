/*
 * acl.c - CIDR parsing and matching (RFC 4632 prefixes; RFC 4291 §2.5.5.2
 * IPv4-mapped addresses). Input: configuration text (trusted operator) and
 * peer addresses from the kernel.
 */
#include "http/acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

att_err att_cidr_parse(const char *s, struct att_cidr *out)
{
    char text[INET6_ADDRSTRLEN + 8];
    struct att_cidr c;
    memset(&c, 0, sizeof(c));
    size_t len = strlen(s);
    ATT_ENSURE(len > 0 && len < sizeof(text), ATT_ERR_ARG);
    memcpy(text, s, len + 1);
    char *slash = strchr(text, '/');
    if (slash != NULL) {
        *slash = 0;
    }
    if (inet_pton(AF_INET, text, c.addr) == 1) {
        c.family = AF_INET;
        c.prefix = 32;
    } else if (inet_pton(AF_INET6, text, c.addr) == 1) {
        c.family = AF_INET6;
        c.prefix = 128;
    } else {
        return ATT_ERR_ARG;
    }
    if (slash != NULL) {
        const char *p = slash + 1;
        char *end = NULL;
        ATT_ENSURE(*p >= '0' && *p <= '9', ATT_ERR_ARG);
        unsigned long v = strtoul(p, &end, 10);
        ATT_ENSURE(end != NULL && *end == 0 && v <= c.prefix, ATT_ERR_ARG);
        c.prefix = (unsigned)v;
    }
    *out = c;
    return ATT_OK;
}

att_err att_acl_parse(const char *list, struct att_acl *out)
{
    struct att_acl acl;
    memset(&acl, 0, sizeof(acl));
    const char *p = list;
    while (*p != 0) {
        size_t skip = strspn(p, ", \t");
        p += skip;
        size_t n = strcspn(p, ", \t");
        if (n == 0) {
            break;
        }
        char item[INET6_ADDRSTRLEN + 8];
        ATT_ENSURE(n < sizeof(item), ATT_ERR_ARG);
        ATT_ENSURE(acl.n < ATT_ACL_MAX, ATT_ERR_TOO_LARGE);
        memcpy(item, p, n);
        item[n] = 0;
        ATT_TRY(att_cidr_parse(item, &acl.items[acl.n]));
        acl.n++;
        p += n;
    }
    *out = acl;
    return ATT_OK;
}

bool att_addr_bytes(const struct sockaddr *sa, int *family, uint8_t addr[16])
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        *family = AF_INET;
        memcpy(addr, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        if (memcmp(b, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
            *family = AF_INET;
            memcpy(addr, b + 12, 4);
        } else {
            *family = AF_INET6;
            memcpy(addr, b, 16);
        }
        return true;
    }
    return false;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8;
    unsigned rest = bits % 8;
    if (memcmp(a, b, whole) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

bool att_acl_allows(const struct att_acl *acl, const struct sockaddr *sa)
{
    int family;
    uint8_t addr[16];
    if (acl->n == 0) {
        return true;
    }
    if (!att_addr_bytes(sa, &family, addr)) {
        return false;
    }
    for (size_t i = 0; i < acl->n; i++) {
        if (acl->items[i].family == family &&
            prefix_match(acl->items[i].addr, addr, acl->items[i].prefix)) {
            return true;
        }
    }
    return false;
}

bool att_addr_is_loopback(const struct sockaddr *sa)
{
    int family;
    uint8_t addr[16];
    static const uint8_t v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (!att_addr_bytes(sa, &family, addr)) {
        return false;
    }
    if (family == AF_INET) {
        return addr[0] == 127;
    }
    return memcmp(addr, v6_loopback, 16) == 0;
}

void att_addr_format(const struct sockaddr *sa, bool port, char *out, size_t n)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned p = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        p = ntohs(in->sin_port);
        if (port) {
            snprintf(out, n, "%s:%u", ip, p);
        } else {
            snprintf(out, n, "%s", ip);
        }
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        p = ntohs(in6->sin6_port);
        if (port) {
            snprintf(out, n, "[%s]:%u", ip, p);
        } else {
            snprintf(out, n, "%s", ip);
        }
    } else {
        snprintf(out, n, "unknown");
    }
}
