/*
 * syslog_sock.c - a non-blocking datagram socket to a syslog receiver (syslog_sock.h).
 */
#include "core/syslog_sock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int connect_to(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1); /* fits: checked by att_syslog_sock_open */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0 && connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        fd = -1;
    }
    return fd;
}

static int64_t mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec;
}

att_err att_syslog_sock_open(struct att_syslog_sock *s, const char *path)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    if (strlen(path) >= sizeof(s->path)) {
        return ATT_ERR_TOO_LARGE;
    }
    memcpy(s->path, path, strlen(path) + 1);
    s->fd = connect_to(path);
    return s->fd >= 0 ? ATT_OK : ATT_ERR_IO;
}

/* The receiver's socket is gone or was replaced: connect anew and put the new socket in the
 * old one's place (dup2 is atomic: other threads send on one or the other). */
static bool reconnect(struct att_syslog_sock *s)
{
    int64_t now = mono_s();
    int64_t due = atomic_load(&s->retry_s);
    if (now < due || !atomic_compare_exchange_strong(&s->retry_s, &due, now + 1)) {
        return false; /* tried within the last second, or another thread is trying */
    }
    int fd = connect_to(s->path);
    if (fd < 0) {
        return false;
    }
    bool ok = dup2(fd, s->fd) >= 0;
    close(fd);
    return ok;
}

bool att_syslog_sock_send(struct att_syslog_sock *s, struct iovec *iov, int n)
{
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = iov;
    m.msg_iovlen = (size_t)n;
    if (s->fd < 0) {
        return false;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        ssize_t w;
        do {
            w = sendmsg(s->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (w < 0 && errno == EINTR);
        if (w >= 0) {
            return true;
        }
        /* EAGAIN: the receiver is behind (dropped, not waited for); anything else (refused,
         * not connected): it went away - one reconnection and one more try. */
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EMSGSIZE || attempt > 0 ||
            !reconnect(s)) {
            return false;
        }
    }
    return false;
}

void att_syslog_sock_close(struct att_syslog_sock *s)
{
    if (s->fd >= 0) {
        close(s->fd);
    }
    s->fd = -1;
}
