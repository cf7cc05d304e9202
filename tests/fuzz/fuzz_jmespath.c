/*
 * fuzz_jmespath.c - libFuzzer target for the JMESPath subset (src/policy/jmespath*.c).
 *
 * Input: arbitrary bytes, fully untrusted. Everything before the first NUL
 * byte is the query, everything after it the JSON text; without a NUL the
 * whole input is the query, evaluated on a small built-in TPM event log.
 *
 * Oracles beyond the sanitizers: only the documented error codes occur; a
 * failure writes nothing to the output and always leaves a message; a
 * success writes valid JSON within the output cap and clears the message;
 * evaluating twice gives the same answer (no hidden state).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/rd.h"
#include "policy/jmespath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char events[] =
    "{\"Events\":[{\"EventSeq\":1,\"PcrIndex\":7,\"EventTypeString\":\"EV_EFI_VARIABLE_DRIVER_"
    "CONFIG\",\"ProcessedData\":{\"VariableGuid\":\"8BE4DF61-93CA-11D2-AA0D-00E098032B8C\","
    "\"UnicodeName\":\"SecureBoot\",\"VariableData\":\"AQ\"}},{\"EventSeq\":2,\"PcrIndex\":12,"
    "\"EventTypeString\":\"EV_EVENT_TAG\",\"ProcessedData\":{\"EVENT_TRUSTBOUNDARY\":{\"EVENT_"
    "CODEINTEGRITY\":true,\"EVENT_BITLOCKER_UNLOCK\":{\"Value\":1},\"EVENT_LOADEDMODULE_"
    "AGGREGATION\":[{\"EVENT_FILEPATH\":\"\\\\x.sys\",\"EVENT_IMAGEVALIDATED\":true}]}}}],"
    "\"PCRs\":[{\"Index\":0,\"Digests\":{\"SHA256\":\"00\"}}],\"n\":[0,1.5,-2,\"\",[],{},null,"
    "false]}";

static att_err eval_once(const char *json, size_t json_len, const char *query, size_t query_len,
                         const struct att_jmespath_limits *lim, struct att_buf *out, char *msg,
                         size_t msg_len)
{
    att_err rc = att_jmespath_eval(json, json_len, query, query_len, lim, out, msg, msg_len);
    if (memchr(msg, '\0', msg_len) == NULL) {
        abort(); /* always terminated */
    }
    switch (rc) {
    case ATT_OK: {
        if (msg[0] != '\0' || out->len > lim->max_output) {
            abort();
        }
        json_error_t jerr;
        json_t *v = json_loadb((const char *)out->data, out->len, JSON_DECODE_ANY, &jerr);
        if (v == NULL) {
            abort(); /* the result is JSON text */
        }
        json_decref(v);
        break;
    }
    case ATT_ERR_JMESPATH_SYNTAX:
    case ATT_ERR_JMESPATH_UNSUPPORTED:
    case ATT_ERR_JMESPATH_TYPE:
    case ATT_ERR_JMESPATH_BUDGET:
    case ATT_ERR_JSON:
    case ATT_ERR_TOO_LARGE:
        if (out->len != 0 || msg[0] == '\0') {
            abort(); /* nothing written, always explained */
        }
        break;
    default: abort();
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_rd rd;
    struct att_bytes query = {data, size};
    struct att_bytes json = {(const uint8_t *)events, sizeof(events) - 1};
    att_rd_init(&rd, data, size);
    if (att_rd_until(&rd, 0, &query) == ATT_OK) {
        att_rd_rest(&rd, &json);
    }

    /* Small budgets keep each run fast and reach the limits often. */
    struct att_jmespath_limits lim;
    att_jmespath_limits_default(&lim);
    lim.max_steps = 20000;
    lim.max_output = 64 * 1024;

    struct att_buf a, b;
    char msg_a[256], msg_b[256];
    att_buf_init(&a, 1 << 20);
    att_buf_init(&b, 1 << 20);
    const char *j = (const char *)json.ptr;
    const char *q = (const char *)query.ptr;
    att_err rc_a = eval_once(j, json.len, q, query.len, &lim, &a, msg_a, sizeof(msg_a));
    att_err rc_b = eval_once(j, json.len, q, query.len, &lim, &b, msg_b, sizeof(msg_b));
    if (rc_a != rc_b || a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len) != 0) ||
        strcmp(msg_a, msg_b) != 0) {
        abort(); /* deterministic */
    }
    att_buf_cleanup(&a);
    att_buf_cleanup(&b);
    return 0;
}
