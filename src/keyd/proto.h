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

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"

/* Start a message in `b` (emptied); att_keyd_send fills in its length. */
att_err att_keyd_msg_begin(struct att_buf *b, uint32_t id, uint16_t code) ATT_WUR;
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

/*
 * Send one message (the buffer as built after att_keyd_msg_begin) / receive one into `in`
 * (at most ATT_KEYD_MSG_MAX bytes), waiting at most `timeout_ms` for it to start and to end.
 * ATT_ERR_KEYD_UNAVAILABLE when the other side is gone or too slow; ATT_ERR_TOO_LARGE for a
 * frame over the cap.
 */
att_err att_keyd_send(int fd, struct att_buf *msg) ATT_WUR;
att_err att_keyd_recv(int fd, int timeout_ms, struct att_buf *in) ATT_WUR;

/* Split a received message: the id, the op (or, in an answer, the error), and the body. */
att_err att_keyd_split(const struct att_buf *in, uint32_t *id, uint16_t *code,
                       struct att_rd *body) ATT_WUR;

#endif
