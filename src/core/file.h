/*
 * file.h - read a whole (small) file into a buffer, with a cap; write a whole buffer.
 */
#ifndef ATT_CORE_FILE_H
#define ATT_CORE_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/*
 * Append the file at `path` to `out`. Errors: ATT_ERR_NOT_FOUND (no such file), ATT_ERR_IO
 * (cannot open or read; errno is kept), ATT_ERR_TOO_LARGE (more than `max` bytes, or over
 * out's own cap).
 */
att_err att_file_read(const char *path, size_t max, struct att_buf *out) ATT_WUR;

/*
 * The same for a file that must be a regular file (a FIFO, device or directory is ATT_ERR_IO
 * with errno EINVAL, without blocking), whose size is checked before any byte is read.
 */
att_err att_file_read_regular(const char *path, size_t max, struct att_buf *out) ATT_WUR;

/*
 * Whether every symbolic link on the way to path lies in a directory that only root may
 * change (owned by root, not writable by group or others): what root may follow when it reads
 * a file before giving root up. A link in a directory the service user owns could have been
 * planted to make root read another file (a key). False when the path cannot be walked.
 */
bool att_path_links_root_only(const char *path);

/*
 * Write all `n` bytes of `p` to `fd`, again after EINTR and short writes. ATT_ERR_IO (errno
 * says why) when a write fails or writes nothing.
 */
att_err att_file_write_all(int fd, const void *p, size_t n) ATT_WUR;

#endif
