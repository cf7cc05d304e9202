/*
 * err.h - the one error type of attestd.
 *
 * Every fallible function returns an att_err. Each code has a kind (usage, parse, validate,
 * verify, policy, store, io, internal) so a caller can ask "whose fault?" with att_err_kind(),
 * and the answer an attestation failing with it is given (src/core/errors.def). Each verification
 * failure gets its own code; never reuse a code for a different failure.
 * Names (att_err_name) are stable and appear in logs and tests; messages
 * (att_err_str) are for humans. See docs/internals/errors.md.
 */
#ifndef ATT_CORE_ERR_H
#define ATT_CORE_ERR_H

#include <stddef.h>

#define ATT_WUR __attribute__((warn_unused_result))

/* The codes, their kinds, outward answers and messages: src/core/errors.def. */
typedef enum att_err {
#define ATT_ERROR(name, value, kind, status, maa_code, message) name = (value),
#include "core/errors.def"
#undef ATT_ERROR
} att_err;

enum att_err_kind {
    ATT_KIND_OK,
    ATT_KIND_USAGE,
    ATT_KIND_PARSE,
    ATT_KIND_VALIDATE,
    ATT_KIND_VERIFY,
    ATT_KIND_POLICY,
    ATT_KIND_STORE,
    ATT_KIND_IO,
    ATT_KIND_INTERNAL,
};

/* Stable identifier, e.g. "ATT_ERR_TRUNCATED". Never NULL ("ATT_ERR_UNKNOWN" off the list). */
const char *att_err_name(att_err e);
/* Short human-readable description. Never NULL. */
const char *att_err_str(att_err e);
enum att_err_kind att_err_kind(att_err e); /* ATT_KIND_INTERNAL for a code off the list */
/* The HTTP status and MAA error code of an attestation failing with `e` (500 and
 * "InternalServerError" for a code off the list). For src/api only. */
int att_err_http_status(att_err e);
const char *att_err_maa_code(att_err e);
/* The i-th code of the list (i < att_err_count()), for tests that walk it. */
size_t att_err_count(void);
att_err att_err_at(size_t i);

/*
 * Write a message for the caller (when msg is not NULL and msg_len > 0; truncated to fit)
 * and return `code`: `return att_failf(ATT_ERR_X, msg, msg_len, "field %s", name);`.
 */
att_err att_failf(att_err code, char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Deliberately drop a result (gcc does not let a (void) cast silence
 * warn_unused_result). Use only where a failure changes nothing, and say why.
 */
static inline void att_ignore_err(att_err e)
{
    (void)e;
}

/*
 * Guard macros (docs/internals/errors.md).
 * ATT_TRY / ATT_ENSURE / ATT_FAIL return at once: for functions that own nothing.
 * ATT_GUARD / ATT_CHECK set `rc` and jump to `out:`: for functions with cleanup.
 */
#define ATT_TRY(expr)                                                                              \
    do {                                                                                           \
        att_err att_try_rc_ = (expr);                                                              \
        if (att_try_rc_ != ATT_OK) {                                                               \
            return att_try_rc_;                                                                    \
        }                                                                                          \
    } while (0)
#define ATT_ENSURE(cond, code)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            return (code);                                                                         \
        }                                                                                          \
    } while (0)
#define ATT_FAIL(code) return (code)
#define ATT_GUARD(expr)                                                                            \
    do {                                                                                           \
        rc = (expr);                                                                               \
        if (rc != ATT_OK) {                                                                        \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
#define ATT_CHECK(cond, code)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            rc = (code);                                                                           \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#endif
