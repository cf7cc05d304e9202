/* Fuzz target: the configuration parser (src/server/config.c). */
#include <stddef.h>
#include <stdint.h>

#include "server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_config c;
    char msg[512];
    att_config_defaults(&c);
    if (att_config_parse_text(&c, "fuzz", data, size, msg, sizeof(msg)) == ATT_OK) {
        att_ignore_err(att_config_finish(&c, msg, sizeof(msg))); /* only checking for crashes */
    }
    return 0;
}
