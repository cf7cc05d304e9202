/*
 * testpki_der.h - a growable byte buffer with a sticky failure flag, and a small DER writer, for
 * the test PKIs (sgx_testpki.c, amd_testpki.c). Test code only: never linked into attestd.
 */
#ifndef ATT_TEST_TESTPKI_DER_H
#define ATT_TEST_TESTPKI_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
    bool bad; /* an allocation or size failed: every later write is ignored */
};

void tb_put(struct tbuf *b, const void *d, size_t n);
void tb_u8(struct tbuf *b, unsigned v);
void tb_u16le(struct tbuf *b, unsigned v);
void tb_u32le(struct tbuf *b, uint32_t v);
void tb_u64le(struct tbuf *b, uint64_t v);
void tb_zero(struct tbuf *b, size_t n);
__attribute__((format(printf, 2, 3))) void tb_printf(struct tbuf *b, const char *fmt, ...);
void tb_hex(struct tbuf *b, const uint8_t *d, size_t n, bool upper);
/* NUL-terminate and hand over the text (NULL on failure); the buffer is emptied either way. */
char *tb_take_str(struct tbuf *b);
void tb_free(struct tbuf *b);

enum { DER_BOOLEAN = 0x01, DER_INTEGER = 0x02, DER_BIT_STRING = 0x03, DER_OCTETS = 0x04 };
enum { DER_NULL = 0x05, DER_OID = 0x06, DER_ENUMERATED = 0x0A, DER_IA5 = 0x16 };
enum { DER_SEQUENCE = 0x30, DER_CTX0 = 0xA0, DER_CTX1 = 0xA1, DER_CTX2 = 0xA2, DER_CTX3 = 0xA3 };

/* A definite length (up to 0xFFFF; larger marks the buffer bad). */
void der_len(struct tbuf *b, size_t n);
void der_tlv(struct tbuf *b, unsigned tag, const uint8_t *v, size_t n);
/* Non-negative INTEGER or ENUMERATED (`tag`), minimal two's complement: 0xD9 takes two content
 * bytes (02 02 00 d9), as AMD encodes a ucodeSPL of 128 or more. */
void der_uint(struct tbuf *b, unsigned tag, unsigned v);
/* tag { content } for a content built in another buffer. */
void der_wrap(struct tbuf *b, unsigned tag, const struct tbuf *content);

#endif
