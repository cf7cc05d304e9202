/*
 * syslog_sock.h - a datagram socket to a local syslog receiver (/dev/log or another Unix
 * socket), shared by the service log and alert delivery.
 *
 * A send never blocks: when the receiver is not reading and its queue is full (Linux keeps
 * net.unix.max_dgram_qlen datagrams, 10 by default), the datagram is dropped and the caller
 * counts it; a logging thread must not stall the service. When the receiver went away (syslogd
 * restarted: the socket file is new), the next send reconnects to the same path, at most once
 * a second, so delivery resumes on its own.
 */
#ifndef ATT_CORE_SYSLOG_SOCK_H
#define ATT_CORE_SYSLOG_SOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "core/err.h"

struct att_syslog_sock {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int fd;                  /* the socket; reconnections keep its number (dup2) */
    _Atomic int64_t retry_s; /* monotonic second before which no reconnection is tried */
};

/*
 * Connect to the receiver at `path`. ATT_ERR_TOO_LARGE: the path is longer than a Unix socket
 * address holds (107 bytes); ATT_ERR_IO: no receiver there (errno says why).
 */
att_err att_syslog_sock_open(struct att_syslog_sock *s, const char *path) ATT_WUR;
/* One datagram of `n` parts; false when it was not delivered (dropped). Thread-safe among
 * senders (a reconnection swaps the socket under the same descriptor number). */
bool att_syslog_sock_send(struct att_syslog_sock *s, struct iovec *iov, int n);
/* Only once every sender has stopped: a reconnection racing with it could dup2 onto a number
 * the close has freed and someone else reused. */
void att_syslog_sock_close(struct att_syslog_sock *s);

#endif
