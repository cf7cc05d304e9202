/*
 * der.c - minimal DER element reader (X.690 §8.1: identifier, length, contents).
 */
#include "x509/der.h"

att_err att_der_next(struct att_rd *r, uint8_t *tag, struct att_rd *contents)
{
    struct att_rd save = *r;
    uint8_t t = 0;
    uint8_t first = 0;
    size_t len = 0;
    att_err rc;

    ATT_TRY(att_rd_u8(r, &t));
    if ((t & 0x1F) == 0x1F) {
        *r = save;
        return ATT_ERR_PARSE; /* high tag numbers: not used by any extension we read */
    }
    rc = att_rd_u8(r, &first);
    if (rc != ATT_OK) {
        *r = save;
        return rc;
    }
    if (first < 0x80) {
        len = first;
    } else {
        unsigned n = first & 0x7Fu;
        if (n == 0 || n > 3) {
            *r = save;
            return ATT_ERR_PARSE; /* indefinite, or longer than any certificate */
        }
        for (unsigned i = 0; i < n; i++) {
            uint8_t b = 0;
            rc = att_rd_u8(r, &b);
            if (rc != ATT_OK) {
                *r = save;
                return rc;
            }
            len = (len << 8) | b;
        }
    }
    rc = att_rd_sub(r, len, contents);
    if (rc != ATT_OK) {
        *r = save;
        return rc;
    }
    *tag = t;
    return ATT_OK;
}

att_err att_der_expect(struct att_rd *r, uint8_t tag, struct att_rd *contents)
{
    struct att_rd save = *r;
    uint8_t t = 0;
    ATT_TRY(att_der_next(r, &t, contents));
    if (t != tag) {
        *r = save;
        return ATT_ERR_PARSE;
    }
    return ATT_OK;
}

att_err att_der_uint(struct att_rd *r, uint8_t tag, uint64_t max, uint64_t *out)
{
    struct att_rd v;
    uint64_t val = 0;
    size_t n;
    uint8_t b = 0;

    ATT_TRY(att_der_expect(r, tag, &v));
    n = att_rd_left(&v);
    if (n == 0 || n > 9) {
        return ATT_ERR_PARSE;
    }
    ATT_TRY(att_rd_peek_u8(&v, &b));
    if (b & 0x80) {
        return ATT_ERR_PARSE; /* negative */
    }
    while (att_rd_left(&v) > 0) {
        ATT_TRY(att_rd_u8(&v, &b));
        if (val > (UINT64_MAX >> 8)) {
            return ATT_ERR_PARSE;
        }
        val = (val << 8) | b;
    }
    if (val > max) {
        return ATT_ERR_PARSE;
    }
    *out = val;
    return ATT_OK;
}
