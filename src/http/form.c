/*
 * form.c - form-urlencoded parsing (see form.h). Untrusted input, bounded reader only.
 */
#include "http/form.h"

#include <string.h>

void att_form_init(struct att_form *f)
{
    memset(f, 0, sizeof(*f));
    att_buf_init_secret(&f->decoded, 2 * ATT_FORM_MAX_BYTES + 2 * ATT_FORM_MAX_FIELDS);
}

void att_form_cleanup(struct att_form *f)
{
    att_buf_cleanup(&f->decoded);
    memset(f, 0, sizeof(*f));
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

att_err att_form_decode(struct att_bytes in, struct att_buf *out)
{
    struct att_rd r;
    uint8_t c;
    att_rd_init(&r, in.ptr, in.len);
    while (att_rd_u8(&r, &c) == ATT_OK) {
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            uint8_t hx[2];
            ATT_ENSURE(att_rd_copy(&r, hx, 2) == ATT_OK, ATT_ERR_ENCODING);
            ATT_ENSURE(hexval(hx[0]) >= 0 && hexval(hx[1]) >= 0, ATT_ERR_ENCODING);
            c = (uint8_t)(hexval(hx[0]) << 4 | hexval(hx[1]));
        }
        ATT_ENSURE(c != 0, ATT_ERR_ENCODING); /* values become C strings */
        ATT_TRY(att_buf_putc(out, c));
    }
    return ATT_OK;
}

struct pending {
    size_t name_off, name_len, value_off, value_len;
};

static att_err decode_part(struct att_bytes in, struct att_buf *out, size_t *off, size_t *len)
{
    *off = out->len;
    ATT_TRY(att_form_decode(in, out));
    *len = out->len - *off;
    return att_buf_putc(out, 0);
}

att_err att_form_parse(const uint8_t *p, size_t n, struct att_form *f)
{
    struct pending pend[ATT_FORM_MAX_FIELDS];
    struct att_rd r;
    ATT_ENSURE(n <= ATT_FORM_MAX_BYTES, ATT_ERR_TOO_LARGE);
    /* Room for everything up front: views are made only after the last write. */
    ATT_TRY(att_buf_reserve(&f->decoded, n + 2 * ATT_FORM_MAX_FIELDS));
    att_rd_init(&r, p, n);
    while (att_rd_left(&r) > 0) {
        struct att_bytes pair;
        struct att_bytes name;
        struct att_bytes value = {NULL, 0};
        if (att_rd_until(&r, '&', &pair) != ATT_OK) {
            att_rd_rest(&r, &pair);
        }
        if (pair.len == 0) {
            continue;
        }
        ATT_ENSURE(f->n < ATT_FORM_MAX_FIELDS, ATT_ERR_TOO_LARGE);
        struct att_rd pr;
        att_rd_init(&pr, pair.ptr, pair.len);
        if (att_rd_until(&pr, '=', &name) == ATT_OK) {
            att_rd_rest(&pr, &value);
        } else {
            att_rd_rest(&pr, &name);
        }
        ATT_ENSURE(name.len > 0, ATT_ERR_PARSE);
        struct pending *pe = &pend[f->n];
        ATT_TRY(decode_part(name, &f->decoded, &pe->name_off, &pe->name_len));
        ATT_TRY(decode_part(value, &f->decoded, &pe->value_off, &pe->value_len));
        f->n++;
    }
    for (size_t i = 0; i < f->n; i++) {
        f->fields[i].name.ptr = f->decoded.data + pend[i].name_off;
        f->fields[i].name.len = pend[i].name_len;
        f->fields[i].value.ptr = f->decoded.data + pend[i].value_off;
        f->fields[i].value.len = pend[i].value_len;
        for (size_t j = 0; j < i; j++) {
            if (f->fields[j].name.len == f->fields[i].name.len &&
                memcmp(f->fields[j].name.ptr, f->fields[i].name.ptr, f->fields[i].name.len) == 0) {
                f->n = 0;
                return ATT_ERR_EXISTS;
            }
        }
    }
    return ATT_OK;
}

const struct att_bytes *att_form_get(const struct att_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++) {
        if (att_bytes_eq_str(f->fields[i].name, name)) {
            return &f->fields[i].value;
        }
    }
    return NULL;
}
