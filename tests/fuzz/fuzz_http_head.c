/* Fuzz target: the HTTP/1.1 request head parser (src/http/parser.c). */
#include <stddef.h>
#include <stdint.h>

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
    att_http_head_cleanup(&h);
    return 0;
}
