/*
 * wbuf.h - a growable byte buffer with a sticky failure flag, and a small DER writer, for the
 * test PKIs: the SGX and TDX one of `attestctl demo` and the tests (src/demo/testpki.h) and the
 * AMD one of the tests (tests/unit/evidence/amd_testpki.h). Input: the builders' own values,
 * trusted. The tags are those of the DER reader (src/x509/der.h).
 *
 * Why not att_buf (src/core/buf.h): a builder writes hundreds of small pieces and checks once at
 * the end; a zero-initialised att_wbuf is ready to use (no cap to choose per piece), and the
 * DER helpers nest buffers freely. Nothing here parses untrusted bytes.
 */
#ifndef ATT_DEMO_WBUF_H
#define ATT_DEMO_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "x509/der.h"

struct att_wbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
    bool bad; /* an allocation or size failed: every later write is ignored */
};

void att_wbuf_put(struct att_wbuf *b, const void *d, size_t n);
void att_wbuf_u8(struct att_wbuf *b, unsigned v);
void att_wbuf_u16le(struct att_wbuf *b, unsigned v);
void att_wbuf_u32le(struct att_wbuf *b, uint32_t v);
void att_wbuf_u64le(struct att_wbuf *b, uint64_t v);
void att_wbuf_zero(struct att_wbuf *b, size_t n);
__attribute__((format(printf, 2, 3))) void att_wbuf_printf(struct att_wbuf *b, const char *fmt,
                                                           ...);
void att_wbuf_hex(struct att_wbuf *b, const uint8_t *d, size_t n, bool upper);
/* NUL-terminate and hand over the text (NULL on failure); the buffer is emptied either way. */
char *att_wbuf_take_str(struct att_wbuf *b);
void att_wbuf_free(struct att_wbuf *b);

/* A definite length (up to 0xFFFF; larger marks the buffer bad). */
void att_wbuf_der_len(struct att_wbuf *b, size_t n);
void att_wbuf_der_tlv(struct att_wbuf *b, unsigned tag, const uint8_t *v, size_t n);
/* Non-negative INTEGER or ENUMERATED (`tag`), minimal two's complement: 0xD9 takes two content
 * bytes (02 02 00 d9), as AMD encodes a ucodeSPL of 128 or more. */
void att_wbuf_der_uint(struct att_wbuf *b, unsigned tag, unsigned v);
/* tag { content } for a content built in another buffer. */
void att_wbuf_der_wrap(struct att_wbuf *b, unsigned tag, const struct att_wbuf *content);

#endif
