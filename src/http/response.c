/*
 * response.c - building responses and MAA-shaped errors (docs/reference/maa-api.md §1.5).
 */
#include "http/response.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void att_http_response_init(struct att_http_response *r)
{
    memset(r, 0, sizeof(*r));
    r->status = 200;
    att_buf_init(&r->headers, 4096);
    att_buf_init(&r->body, ATT_HTTP_MAX_RESP_BODY);
}

void att_http_response_cleanup(struct att_http_response *r)
{
    att_buf_cleanup(&r->headers);
    att_buf_cleanup(&r->body);
}

struct att_http_gate *att_http_response_hold(struct att_http_response *r)
{
    if (r->gate == NULL) {
        return NULL;
    }
    atomic_fetch_add(&r->gate->holds, 1);
    return r->gate;
}

void att_http_gate_finish(struct att_http_gate *g, const char *refusal)
{
    if (refusal != NULL) {
        atomic_store(&g->refusal, refusal);
    }
    if (atomic_fetch_sub(&g->holds, 1) == 1) {
        g->release(g);
    }
}

static bool header_safe(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

att_err att_http_response_header(struct att_http_response *r, const char *name, const char *value)
{
    ATT_ENSURE(header_safe(name) && header_safe(value) && strchr(name, ':') == NULL, ATT_ERR_ARG);
    return att_buf_printf(&r->headers, "%s: %s\r\n", name, value);
}

att_err att_http_response_json(struct att_http_response *r, int status, const char *json_text,
                               size_t len)
{
    att_buf_reset(&r->body);
    r->status = status;
    r->content_type = "application/json; charset=utf-8";
    return att_buf_put(&r->body, json_text, len);
}

void att_http_error(struct att_http_response *r, int status, const char *code, const char *message)
{
    att_http_error_inner(r, status, code, message, NULL);
}

void att_http_error_inner(struct att_http_response *r, int status, const char *code,
                          const char *message, const char *inner)
{
    json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    if (body != NULL && inner != NULL) {
        json_object_set_new(json_object_get(body, "error"), "innererror",
                            json_pack("{s:s}", "code", inner));
    }
    if (body != NULL && r->request_id != NULL && r->request_id[0] != 0) {
        json_object_set_new(json_object_get(body, "error"), "requestId",
                            json_string(r->request_id));
    }
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    att_buf_reset(&r->headers);
    att_buf_reset(&r->body);
    r->status = status;
    r->error_code = code;
    r->content_type = "application/json; charset=utf-8";
    if (text != NULL) {
        (void)att_buf_puts(&r->body, text);
    } else {
        (void)att_buf_puts(&r->body, "{\"error\":{\"code\":\"InternalServerError\","
                                     "\"message\":\"could not encode the error\"}}");
    }
    /* Best effort: the body already carries the code. */
    att_ignore_err(att_http_response_header(r, "x-ms-error-code", code));
    free(text);
    json_decref(body);
}

const char *att_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

const char *att_http_status_code_name(int status)
{
    switch (status) {
    case 400: return "InvalidParameter";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 408: return "RequestTimeout";
    case 413: return "PayloadTooLarge";
    case 414: return "UriTooLong";
    case 417: return "ExpectationFailed";
    case 429: return "TooManyRequests";
    case 431: return "RequestHeaderFieldsTooLarge";
    case 501: return "NotImplemented";
    case 503: return "ServiceUnavailable";
    case 505: return "HttpVersionNotSupported";
    default: return status >= 500 ? "InternalServerError" : "BadRequest";
    }
}
