/* Fuzz target: the HTTP/1.1 request head parser (src/http/parser.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct att_http_limits limits = {16384, 262144};
    struct att_http_head h;
    struct att_http_parse_error e;
    att_http_head_init(&h);
    if (att_http_head_parse(data, size, &limits, &h, &e) == ATT_OK) {
        (void)att_http_header_get(&h, "host");
        (void)att_http_query_get(&h, "api-version");
    }
    /* Accepted or not, the views must be readable: the access log copies them. */
    uint8_t copy[64];
    memcpy(copy, h.path.ptr != NULL ? h.path.ptr : copy, h.path.len < 64 ? h.path.len : 64);
    memcpy(copy, h.method_name.ptr != NULL ? h.method_name.ptr : copy,
           h.method_name.len < 64 ? h.method_name.len : 64);
    att_http_head_cleanup(&h);
    return 0;
}
