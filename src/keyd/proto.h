/*
 * proto.h - the key process's messages on the wire (keyd.h): building them, and reading them
 * with the bounded reader. Shared by client.c and server.c only.
 *
 * Framing on the stream socket: u32 length | u32 id | u16 code | body, where the length
 * counts what follows it (at most ATT_KEYD_MSG_MAX) and the code is the op of a request or the
 * att_err of an answer.
 */
#ifndef ATT_KEYD_PROTO_H
#define ATT_KEYD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"

/*
 * Append a message to `b` (which may hold earlier ones, sent together): its start, to give
 * att_keyd_msg_end once its body is put, goes to `start`.
 */
att_err att_keyd_msg_begin(struct att_buf *b, uint32_t id, uint16_t code, size_t *start) ATT_WUR;
/* Set the length of the message that starts at `start` (all of `b` after it). */
att_err att_keyd_msg_end(struct att_buf *b, size_t start) ATT_WUR;
att_err att_keyd_put_u8(struct att_buf *b, uint8_t v) ATT_WUR;
att_err att_keyd_put_u16(struct att_buf *b, uint16_t v) ATT_WUR;
att_err att_keyd_put_u32(struct att_buf *b, uint32_t v) ATT_WUR;
att_err att_keyd_put_i64(struct att_buf *b, int64_t v) ATT_WUR;
/* u8 length | bytes (a kid, a record id, a provider name: 1..255 bytes). */
att_err att_keyd_put_str8(struct att_buf *b, const char *s) ATT_WUR;
/* u32 length | bytes */
att_err att_keyd_put_bytes32(struct att_buf *b, const void *p, size_t n) ATT_WUR;

att_err att_keyd_get_i64(struct att_rd *r, int64_t *out) ATT_WUR;
/* A str8 into `out` (NUL-terminated; `cap` bytes): empty, too long or holding a NUL is refused. */
att_err att_keyd_get_str8(struct att_rd *r, char *out, size_t cap) ATT_WUR;
att_err att_keyd_get_bytes32(struct att_rd *r, size_t max, struct att_bytes *out) ATT_WUR;

/* Send all of `b` (one or more finished messages). ATT_ERR_KEYD_UNAVAILABLE: the other side
 * is gone, or (a socket with SO_SNDTIMEO) too slow. */
att_err att_keyd_send(int fd, const struct att_buf *b) ATT_WUR;

/*
 * Receiving: what came in is kept, so that one read takes every message the other side sent
 * together (a batch of requests, or their answers).
 */
struct att_keyd_reader {
    struct att_buf buf;
    size_t used; /* bytes of buf already handed out */
};
void att_keyd_reader_init(struct att_keyd_reader *r);
void att_keyd_reader_cleanup(struct att_keyd_reader *r);
/* Forget what was buffered (the stream is given up). */
void att_keyd_reader_reset(struct att_keyd_reader *r);
/*
 * The next message (after its length) into `msg`, valid until the next call: from the buffer,
 * else read from fd, blocking (a socket's SO_RCVTIMEO bounds each read).
 * ATT_ERR_KEYD_UNAVAILABLE when the other side is gone or too slow; ATT_ERR_TOO_LARGE for a
 * length over ATT_KEYD_MSG_MAX or under the id and code.
 */
att_err att_keyd_reader_next(struct att_keyd_reader *r, int fd, struct att_bytes *msg) ATT_WUR;
/* Whether a whole message is buffered (att_keyd_reader_next would not read). */
bool att_keyd_reader_ready(const struct att_keyd_reader *r);

/*
 * The supervisor's control socket (supervisor.c): a request is 'N' | u32 sequence number, its
 * answer status (0: started, 1: could not) | the same u32, carrying the new session's socket
 * (SCM_RIGHTS, unix(7)). att_keyd_recv_fd gives -1 when no descriptor came.
 */
#define ATT_KEYD_CTL_LEN 5
att_err att_keyd_send_fd(int ctl, uint8_t status, uint32_t seq, int fd) ATT_WUR;
att_err att_keyd_recv_fd(int ctl, uint8_t *status, uint32_t *seq, int *fd) ATT_WUR;

/* Split a received message: the id, the op (or, in an answer, the error), and the body. */
att_err att_keyd_split(struct att_bytes msg, uint32_t *id, uint16_t *code,
                       struct att_rd *body) ATT_WUR;

#endif
