/*
 * file.c - whole-file reads (file.h).
 */
#include "core/file.h"

#include <errno.h>
#include <stdio.h>

att_err att_file_read(const char *path, size_t max, struct att_buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    size_t total = 0;
    att_err rc = ATT_OK;
    ATT_ENSURE(f != NULL, ATT_ERR_IO);
    while (rc == ATT_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        total += n;
        rc = total > max ? ATT_ERR_TOO_LARGE : att_buf_put(out, chunk, n);
    }
    if (rc == ATT_OK && ferror(f)) {
        rc = ATT_ERR_IO;
    }
    int saved = errno;
    fclose(f);
    errno = saved;
    return rc;
}
