/*
 * proto.c - the key process's wire format (see proto.h).
 *
 * Input trust: each side reads the other's messages as untrusted bytes (a compromised network
 * process is exactly what the key process must withstand), through the bounded reader, with
 * every length checked against what is left and against its cap.
 */
#include "keyd/proto.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "keyd/keyd.h"

#define FRAME_HEAD 4

att_err att_keyd_msg_begin(struct att_buf *b, uint32_t id, uint16_t code)
{
    b->len = 0;
    ATT_TRY(att_keyd_put_u32(b, 0)); /* the length, set when sent */
    ATT_TRY(att_keyd_put_u32(b, id));
    return att_keyd_put_u16(b, code);
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

att_err att_keyd_send(int fd, struct att_buf *msg)
{
    ATT_ENSURE(msg->len >= FRAME_HEAD && msg->len - FRAME_HEAD <= ATT_KEYD_MSG_MAX, ATT_ERR_ARG);
    uint32_t n = (uint32_t)(msg->len - FRAME_HEAD);
    uint8_t head[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    memcpy(msg->data, head, sizeof(head));
    size_t done = 0;
    while (done < msg->len) {
        ssize_t w = send(fd, msg->data + done, msg->len - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        ATT_ENSURE(w > 0, ATT_ERR_KEYD_UNAVAILABLE);
        done += (size_t)w;
    }
    return ATT_OK;
}

/* Read exactly n bytes into dst before `deadline` (att_time_mono_ms). */
static att_err read_exact(int fd, uint8_t *dst, size_t n, int64_t deadline)
{
    size_t got = 0;
    while (got < n) {
        int64_t left = deadline - att_time_mono_ms();
        ATT_ENSURE(left > 0, ATT_ERR_KEYD_UNAVAILABLE);
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        ATT_ENSURE(pr > 0, ATT_ERR_KEYD_UNAVAILABLE);
        ssize_t r = recv(fd, dst + got, n - got, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        ATT_ENSURE(r > 0, ATT_ERR_KEYD_UNAVAILABLE); /* 0: the other side is gone */
        got += (size_t)r;
    }
    return ATT_OK;
}

att_err att_keyd_recv(int fd, int timeout_ms, struct att_buf *in)
{
    uint8_t head[FRAME_HEAD];
    int64_t deadline = att_time_mono_ms() + (timeout_ms < 0 ? 100000000 : timeout_ms);
    ATT_TRY(read_exact(fd, head, sizeof(head), deadline));
    uint32_t n = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 |
                 (uint32_t)head[3];
    ATT_ENSURE(n >= 6 && n <= ATT_KEYD_MSG_MAX, ATT_ERR_TOO_LARGE);
    in->len = 0;
    ATT_TRY(att_buf_reserve(in, n));
    ATT_TRY(read_exact(fd, in->data, n, deadline));
    in->len = n;
    in->data[n] = 0;
    return ATT_OK;
}

att_err att_keyd_split(const struct att_buf *in, uint32_t *id, uint16_t *code, struct att_rd *body)
{
    struct att_rd r;
    struct att_bytes rest;
    att_rd_init(&r, in->data, in->len);
    ATT_TRY(att_rd_u32be(&r, id));
    ATT_TRY(att_rd_u16be(&r, code));
    att_rd_rest(&r, &rest);
    att_rd_init(body, rest.ptr, rest.len);
    return ATT_OK;
}
