/*
 * rd.h - the bounded reader: the only way attestd reads untrusted bytes.
 *
 * A reader is a const base pointer, a length and an offset. Every read checks
 * `n <= len - off` before moving, so a read past the end is refused with
 * ATT_ERR_TRUNCATED and leaves the reader where it was. No pointer arithmetic
 * on input happens outside rd.c. Byte order is in each function's name.
 * See docs/internals/reader.md.
 *
 * Borrowing: att_rd_bytes() returns a view into the input; it lives only as
 * long as the input does. att_rd_copy() copies into caller storage.
 */
#ifndef ATT_CORE_RD_H
#define ATT_CORE_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* A borrowed view of bytes owned by someone else. */
struct att_bytes {
    const uint8_t *ptr;
    size_t len;
};

struct att_rd {
    const uint8_t *base;
    size_t len;
    size_t off;
};

void att_rd_init(struct att_rd *r, const void *p, size_t len);
size_t att_rd_left(const struct att_rd *r);
size_t att_rd_offset(const struct att_rd *r);

att_err att_rd_u8(struct att_rd *r, uint8_t *out) ATT_WUR;
att_err att_rd_u16le(struct att_rd *r, uint16_t *out) ATT_WUR;
att_err att_rd_u16be(struct att_rd *r, uint16_t *out) ATT_WUR;
att_err att_rd_u32le(struct att_rd *r, uint32_t *out) ATT_WUR;
att_err att_rd_u32be(struct att_rd *r, uint32_t *out) ATT_WUR;
att_err att_rd_u64le(struct att_rd *r, uint64_t *out) ATT_WUR;
att_err att_rd_u64be(struct att_rd *r, uint64_t *out) ATT_WUR;

/* Borrow the next n bytes. */
att_err att_rd_bytes(struct att_rd *r, size_t n, struct att_bytes *out) ATT_WUR;
/* Copy the next n bytes into dst (which has room for n). */
att_err att_rd_copy(struct att_rd *r, void *dst, size_t n) ATT_WUR;
att_err att_rd_skip(struct att_rd *r, size_t n) ATT_WUR;
/* Turn the next n bytes into a child reader that cannot run past them. */
att_err att_rd_sub(struct att_rd *r, size_t n, struct att_rd *child) ATT_WUR;
/* Borrow everything left. Never fails; the view may be empty. */
void att_rd_rest(struct att_rd *r, struct att_bytes *out);
/* ATT_OK when nothing is left, ATT_ERR_TRAILING otherwise. */
att_err att_rd_end(const struct att_rd *r) ATT_WUR;
/* Peek at the next byte without consuming it. */
att_err att_rd_peek_u8(const struct att_rd *r, uint8_t *out) ATT_WUR;

/*
 * Text helpers, for line-oriented input (config files, HTTP heads).
 * att_rd_until borrows the bytes up to (not including) the first `delim`
 * and consumes the delimiter; ATT_ERR_TRUNCATED if there is none.
 */
att_err att_rd_until(struct att_rd *r, uint8_t delim, struct att_bytes *out) ATT_WUR;
/* Borrow the longest run of next bytes b with keep[b] true (possibly empty). Never fails. */
void att_rd_while(struct att_rd *r, const bool keep[256], struct att_bytes *out);

/* Helpers on borrowed views (no input pointers leave these). */
bool att_bytes_eq_str(struct att_bytes b, const char *s);
bool att_bytes_eq_str_nocase(struct att_bytes b, const char *s);
/* Byte-wise order of b against s, as strcmp: < 0, 0, > 0 (a prefix sorts first). */
int att_bytes_cmp_str(struct att_bytes b, const char *s);
/* How many bytes of b from offset `from` on are in `accept` (0 when from >= b.len). */
size_t att_bytes_span(struct att_bytes b, size_t from, const bool accept[256]);
/* True when every byte of b is in 0x20..0x7E and none is `except` (empty views: true). */
bool att_bytes_printable_except(struct att_bytes b, uint8_t except);
/* Trim ASCII spaces and tabs at both ends. */
struct att_bytes att_bytes_trim(struct att_bytes b);
/* A sub-view [off, off+n) of b; ATT_ERR_TRUNCATED when out of range. */
att_err att_bytes_slice(struct att_bytes b, size_t off, size_t n, struct att_bytes *out) ATT_WUR;
/* Parse a decimal unsigned integer covering the whole view, <= max. */
att_err att_bytes_to_u64(struct att_bytes b, uint64_t max, uint64_t *out) ATT_WUR;

#endif
