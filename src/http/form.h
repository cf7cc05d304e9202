/*
 * form.h - application/x-www-form-urlencoded bodies (the OAuth 2.0 token request,
 * RFC 6749 §4.4.2 and appendix B).
 *
 * Input: request bodies from any network caller, untrusted; read through the bounded reader.
 * '+' is a space and %XX a byte (appendix B); a parameter given twice is refused (RFC 6749
 * §3.2: "Request and response parameters MUST NOT be included more than once").
 */
#ifndef ATT_HTTP_FORM_H
#define ATT_HTTP_FORM_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"

#define ATT_FORM_MAX_FIELDS 16
#define ATT_FORM_MAX_BYTES 8192

struct att_form_field {
    struct att_bytes name;
    struct att_bytes value;
};

struct att_form {
    struct att_buf decoded; /* NUL-separated decoded names and values; views point here */
    struct att_form_field fields[ATT_FORM_MAX_FIELDS];
    size_t n;
};

void att_form_init(struct att_form *f);
/* Wipes the decoded text (it may hold a client secret). */
void att_form_cleanup(struct att_form *f);

/*
 * Parse `p`/`n` into a freshly initialised form. ATT_ERR_TOO_LARGE over the caps,
 * ATT_ERR_ENCODING for bad %XX, ATT_ERR_EXISTS for a repeated name, ATT_ERR_PARSE for an
 * empty name.
 */
att_err att_form_parse(const uint8_t *p, size_t n, struct att_form *f) ATT_WUR;
/* The value of `name`, or NULL. */
const struct att_bytes *att_form_get(const struct att_form *f, const char *name);
/* Decode one form-urlencoded component (RFC 6749 §2.3.1 Basic credentials) onto `out`. */
att_err att_form_decode(struct att_bytes in, struct att_buf *out) ATT_WUR;

#endif
