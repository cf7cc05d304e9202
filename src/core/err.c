/*
 * err.c - names and messages of att_err codes. Trusted input only (our own codes).
 */
#include "core/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct err_info {
    att_err code;
    enum att_err_kind kind;
    int status;
    const char *maa_code;
    const char *name;
    const char *msg;
};

static const struct err_info infos[] = {
#define ATT_ERROR(name, value, kind, status, maa_code, message)                                    \
    {name, ATT_KIND_##kind, status, maa_code, #name, message},
#include "core/errors.def"
#undef ATT_ERROR
};

#define N_INFOS (sizeof(infos) / sizeof(infos[0]))

static const struct err_info *find(att_err e)
{
    for (size_t i = 0; i < N_INFOS; i++) {
        if (infos[i].code == e) {
            return &infos[i];
        }
    }
    return NULL;
}

const char *att_err_name(att_err e)
{
    const struct err_info *i = find(e);
    return i != NULL ? i->name : "ATT_ERR_UNKNOWN";
}

const char *att_err_str(att_err e)
{
    const struct err_info *i = find(e);
    return i != NULL ? i->msg : "unknown error";
}

enum att_err_kind att_err_kind(att_err e)
{
    const struct err_info *i = find(e);
    return i != NULL ? i->kind : ATT_KIND_INTERNAL;
}

int att_err_http_status(att_err e)
{
    const struct err_info *i = find(e);
    return i != NULL ? i->status : 500;
}

const char *att_err_maa_code(att_err e)
{
    const struct err_info *i = find(e);
    return i != NULL ? i->maa_code : "InternalServerError";
}

size_t att_err_count(void)
{
    return N_INFOS;
}

att_err att_err_at(size_t i)
{
    return i < N_INFOS ? infos[i].code : ATT_ERR_INTERNAL;
}

att_err att_failf(att_err code, char *msg, size_t msg_len, const char *fmt, ...)
{
    if (msg != NULL && msg_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(msg, msg_len, fmt, ap);
        va_end(ap);
    }
    return code;
}
