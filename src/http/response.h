/*
 * response.h - an HTTP response being built by a handler.
 *
 * Handlers set a status, a few headers and a body; the server adds framing
 * headers (Content-Length, Connection, Date, x-ms-request-id) and writes it.
 * Errors use MAA's body {"error":{"code":"…","message":"…"}} (docs/reference/maa-api.md
 * §1.5) through att_http_error(); the message must name the problem and must
 * never echo raw input.
 */
#ifndef ATT_HTTP_RESPONSE_H
#define ATT_HTTP_RESPONSE_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_HTTP_MAX_RESP_HEADERS 16
#define ATT_HTTP_MAX_RESP_BODY ((size_t)4 << 20)

/*
 * A gate holds an answer back until work outside the handler is done - the audit record of an
 * attestation being committed (src/audit) - without holding a thread meanwhile. The server
 * opens one for each request it runs on the job pool and releases the answer when its last
 * hold is finished; a hold finished with a refusal turns the answer into a 503 saying so.
 */
struct att_http_gate {
    atomic_int holds;              /* the handler's own, plus one per att_http_response_hold */
    _Atomic(const char *) refusal; /* a constant message, or NULL */
    void (*release)(struct att_http_gate *g); /* the server's: send the answer */
};

struct att_http_response {
    int status;
    struct att_buf headers; /* extra header lines, each "Name: value\r\n" */
    struct att_buf body;
    const char *content_type;
    /* For the access log; constant strings or NULL. */
    const char *route;
    const char *error_code;
    char provider[64];
    /* Answered through a deprecated path: the path that replaces it (a constant), which the
     * answer names, whatever its status (src/http/server.c). NULL otherwise. */
    const char *successor;
    struct att_http_gate *gate; /* set by the server on the job pool; NULL on an event loop */
    /* The answer's x-ms-request-id (set by the server): errors repeat it as "requestId", so
     * one failure can be found in the log and the audit trail. */
    const char *request_id;
};

void att_http_response_init(struct att_http_response *r);
void att_http_response_cleanup(struct att_http_response *r);

/* Add a header; name and value must be trusted (no CR/LF) - checked, ATT_ERR_ARG otherwise. */
att_err att_http_response_header(struct att_http_response *r, const char *name,
                                 const char *value) ATT_WUR;

/* Set a JSON body (serialised compactly). */
att_err att_http_response_json(struct att_http_response *r, int status, const char *json_text,
                               size_t len) ATT_WUR;

/*
 * Replace whatever the response held with an MAA-shaped error (with "requestId" when the
 * server set one). Also sets the x-ms-error-code header (2025-06-01 error model). `code` is the
 * public code
 * ("InvalidParameter", "NotFound", ...), `message` a human sentence.
 */
void att_http_error(struct att_http_response *r, int status, const char *code, const char *message);
/*
 * The same with "innererror": {"code": inner} (the 2025-06-01 error model,
 * docs/reference/maa-api.md §1.5): attestd's precise reason under MAA's coarse code.
 */
void att_http_error_inner(struct att_http_response *r, int status, const char *code,
                          const char *message, const char *inner);

/*
 * Hold the answer until att_http_gate_finish; NULL when it cannot be held (an event loop):
 * the caller then waits itself or answers without.
 */
struct att_http_gate *att_http_response_hold(struct att_http_response *r);
/* Finish a hold (or the handler's own); `refusal` (a constant string) NULL = no objection. */
void att_http_gate_finish(struct att_http_gate *g, const char *refusal);

/* Reason phrase for a status code ("Not Found"). */
const char *att_http_reason(int status);

/* Default public code for a status without a more specific one. */
const char *att_http_status_code_name(int status);

#endif
