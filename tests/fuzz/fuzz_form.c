/* Fuzz target: the form-urlencoded parser of the token endpoint (src/http/form.c). */
#include <stddef.h>
#include <stdint.h>

#include "http/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_form f;
    att_form_init(&f);
    if (att_form_parse(data, size, &f) == ATT_OK) {
        (void)att_form_get(&f, "grant_type");
    }
    att_form_cleanup(&f);
    return 0;
}
