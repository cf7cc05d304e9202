/*
 * metadata.c - GET /certs and GET /.well-known/openid-configuration
 * (docs/reference/maa-api.md §1.4). The documents are rendered once when providers load.
 */
#include "api/api.h"

void att_api_get_certs(const struct att_api_call *call, struct att_http_response *resp)
{
    const struct att_buf *doc = &call->provider->jwks;
    if (att_http_response_json(resp, 200, (const char *)doc->data, doc->len) != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot send the signing certificates");
    }
}

void att_api_get_openid(const struct att_api_call *call, struct att_http_response *resp)
{
    const struct att_buf *doc = &call->provider->openid;
    if (att_http_response_json(resp, 200, (const char *)doc->data, doc->len) != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot send the OpenID metadata");
    }
}
