/*
 * proto.c - the key process's wire format (see proto.h).
 *
 * Input trust: each side reads the other's messages as untrusted bytes (a compromised network
 * process is exactly what the key process must withstand), through the bounded reader, with
 * every length checked against what is left and against its cap.
 */
#include "keyd/proto.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "keyd/keyd.h"

#define FRAME_HEAD 4

att_err att_keyd_msg_begin(struct att_buf *b, uint32_t id, uint16_t code, size_t *start)
{
    *start = b->len;
    ATT_TRY(att_keyd_put_u32(b, 0)); /* the length, set by att_keyd_msg_end */
    ATT_TRY(att_keyd_put_u32(b, id));
    return att_keyd_put_u16(b, code);
}

att_err att_keyd_msg_end(struct att_buf *b, size_t start)
{
    ATT_ENSURE(start <= b->len && b->len - start >= FRAME_HEAD + 6, ATT_ERR_ARG);
    size_t n = b->len - start - FRAME_HEAD;
    ATT_ENSURE(n <= ATT_KEYD_MSG_MAX, ATT_ERR_TOO_LARGE);
    uint8_t *at = b->data + start;
    at[0] = (uint8_t)(n >> 24);
    at[1] = (uint8_t)(n >> 16);
    at[2] = (uint8_t)(n >> 8);
    at[3] = (uint8_t)n;
    return ATT_OK;
}

att_err att_keyd_put_u8(struct att_buf *b, uint8_t v)
{
    return att_buf_putc(b, v);
}

att_err att_keyd_put_u16(struct att_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return att_buf_put(b, x, sizeof(x));
}

att_err att_keyd_put_u32(struct att_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return att_buf_put(b, x, sizeof(x));
}

att_err att_keyd_put_i64(struct att_buf *b, int64_t v)
{
    uint64_t u = (uint64_t)v;
    ATT_TRY(att_keyd_put_u32(b, (uint32_t)(u >> 32)));
    return att_keyd_put_u32(b, (uint32_t)u);
}

att_err att_keyd_put_str8(struct att_buf *b, const char *s)
{
    size_t n = strlen(s);
    ATT_ENSURE(n >= 1 && n <= 255, ATT_ERR_ARG);
    ATT_TRY(att_buf_putc(b, (uint8_t)n));
    return att_buf_put(b, s, n);
}

att_err att_keyd_put_bytes32(struct att_buf *b, const void *p, size_t n)
{
    ATT_ENSURE(n <= ATT_KEYD_MSG_MAX, ATT_ERR_TOO_LARGE);
    ATT_TRY(att_keyd_put_u32(b, (uint32_t)n));
    return att_buf_put(b, p, n);
}

att_err att_keyd_get_i64(struct att_rd *r, int64_t *out)
{
    uint64_t u;
    ATT_TRY(att_rd_u64be(r, &u));
    *out = (int64_t)u;
    return ATT_OK;
}

att_err att_keyd_get_str8(struct att_rd *r, char *out, size_t cap)
{
    uint8_t n;
    struct att_bytes s;
    ATT_TRY(att_rd_u8(r, &n));
    ATT_ENSURE(n >= 1 && (size_t)n < cap, ATT_ERR_PARSE);
    ATT_TRY(att_rd_bytes(r, n, &s));
    ATT_ENSURE(memchr(s.ptr, 0, s.len) == NULL, ATT_ERR_PARSE);
    memcpy(out, s.ptr, s.len);
    out[s.len] = 0;
    return ATT_OK;
}

att_err att_keyd_get_bytes32(struct att_rd *r, size_t max, struct att_bytes *out)
{
    uint32_t n;
    ATT_TRY(att_rd_u32be(r, &n));
    ATT_ENSURE(n <= max, ATT_ERR_TOO_LARGE);
    return att_rd_bytes(r, n, out);
}

att_err att_keyd_send(int fd, const struct att_buf *b)
{
    size_t done = 0;
    while (done < b->len) {
        ssize_t w = send(fd, b->data + done, b->len - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        ATT_ENSURE(w > 0, ATT_ERR_KEYD_UNAVAILABLE);
        done += (size_t)w;
    }
    return ATT_OK;
}

/* A read takes up to READ_CHUNK; the buffer holds the largest message and one read more. */
#define READ_CHUNK ((size_t)64 << 10)
#define READER_MAX (FRAME_HEAD + ATT_KEYD_MSG_MAX + READ_CHUNK)

void att_keyd_reader_init(struct att_keyd_reader *r)
{
    att_buf_init(&r->buf, READER_MAX);
    r->used = 0;
}

void att_keyd_reader_cleanup(struct att_keyd_reader *r)
{
    att_buf_cleanup(&r->buf);
}

void att_keyd_reader_reset(struct att_keyd_reader *r)
{
    r->buf.len = 0;
    r->used = 0;
}

/* The length of the buffered message that starts at r->used, or 0 when its length is not in. */
static size_t buffered_len(const struct att_keyd_reader *r)
{
    struct att_rd rd;
    uint32_t n = 0;
    att_rd_init(&rd, r->buf.data + r->used, r->buf.len - r->used);
    return att_rd_u32be(&rd, &n) == ATT_OK ? n : 0;
}

bool att_keyd_reader_ready(const struct att_keyd_reader *r)
{
    size_t left = r->buf.len - r->used;
    return left >= FRAME_HEAD && left - FRAME_HEAD >= buffered_len(r);
}

att_err att_keyd_reader_next(struct att_keyd_reader *r, int fd, struct att_bytes *msg)
{
    if (r->used > 0) { /* what was handed out before is done with */
        memmove(r->buf.data, r->buf.data + r->used, r->buf.len - r->used);
        r->buf.len -= r->used;
        r->used = 0;
    }
    for (;;) {
        size_t left = r->buf.len;
        if (left >= FRAME_HEAD) {
            size_t n = buffered_len(r);
            ATT_ENSURE(n >= 6 && n <= ATT_KEYD_MSG_MAX, ATT_ERR_TOO_LARGE);
            if (left - FRAME_HEAD >= n) {
                msg->ptr = r->buf.data + FRAME_HEAD;
                msg->len = n;
                r->used = FRAME_HEAD + n;
                return ATT_OK;
            }
        }
        ATT_TRY(att_buf_reserve(&r->buf, READ_CHUNK));
        ssize_t got = recv(fd, r->buf.data + r->buf.len, READ_CHUNK, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        ATT_ENSURE(got > 0, ATT_ERR_KEYD_UNAVAILABLE); /* 0: gone; EAGAIN: SO_RCVTIMEO ran out */
        r->buf.len += (size_t)got;
    }
}

att_err att_keyd_send_fd(int ctl, uint8_t status, uint32_t seq, int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    uint8_t msg[ATT_KEYD_CTL_LEN] = {status, (uint8_t)(seq >> 24), (uint8_t)(seq >> 16),
                                     (uint8_t)(seq >> 8), (uint8_t)seq};
    struct iovec iov = {msg, sizeof(msg)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    memset(&control, 0, sizeof(control));
    if (fd >= 0) {
        m.msg_control = control.buf;
        m.msg_controllen = sizeof(control.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t w;
    do {
        w = sendmsg(ctl, &m, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    return w == (ssize_t)sizeof(msg) ? ATT_OK : ATT_ERR_KEYD_UNAVAILABLE;
}

att_err att_keyd_recv_fd(int ctl, uint8_t *status, uint32_t *seq, int *fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    uint8_t msg[ATT_KEYD_CTL_LEN];
    struct iovec iov = {msg, sizeof(msg)};
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = control.buf,
                       .msg_controllen = sizeof(control.buf)};
    ssize_t r;
    *fd = -1;
    do {
        r = recvmsg(ctl, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL);
    } while (r < 0 && errno == EINTR);
    /* Only our one descriptor: anything else in the control data is closed and refused. */
    bool extra = (m.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)) && *fd < 0) {
            memcpy(fd, CMSG_DATA(c), sizeof(int));
        } else {
            extra = true;
        }
    }
    if ((extra || r != (ssize_t)sizeof(msg)) && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    ATT_ENSURE(!extra && r == (ssize_t)sizeof(msg), ATT_ERR_KEYD_UNAVAILABLE);
    *status = msg[0];
    *seq = (uint32_t)msg[1] << 24 | (uint32_t)msg[2] << 16 | (uint32_t)msg[3] << 8 | msg[4];
    return ATT_OK;
}

att_err att_keyd_split(struct att_bytes msg, uint32_t *id, uint16_t *code, struct att_rd *body)
{
    struct att_rd r;
    struct att_bytes rest;
    att_rd_init(&r, msg.ptr, msg.len);
    ATT_TRY(att_rd_u32be(&r, id));
    ATT_TRY(att_rd_u16be(&r, code));
    att_rd_rest(&r, &rest);
    att_rd_init(body, rest.ptr, rest.len);
    return ATT_OK;
}
