/*
 * file.c - whole-file reads and whole-buffer writes (file.h).
 */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

att_err att_file_read(const char *path, size_t max, struct att_buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    size_t total = 0;
    att_err rc = ATT_OK;
    ATT_ENSURE(f != NULL, errno == ENOENT ? ATT_ERR_NOT_FOUND : ATT_ERR_IO);
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

bool att_path_links_root_only(const char *path)
{
    char at[4096]; /* the directory reached so far, links resolved */
    char next[8192];
    if (path[0] == '/') {
        snprintf(at, sizeof(at), "/");
    } else if (getcwd(at, sizeof(at)) == NULL) {
        return false;
    }
    for (const char *p = path; *p != '\0';) {
        size_t len = strcspn(p, "/");
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            struct stat st;
            snprintf(next, sizeof(next), "%s/%.*s", strcmp(at, "/") == 0 ? "" : at, (int)len, p);
            if (lstat(next, &st) != 0) {
                return false;
            }
            if (S_ISLNK(st.st_mode) &&
                (stat(at, &st) != 0 || st.st_uid != 0 || (st.st_mode & 022) != 0)) {
                return false;
            }
            /* where it leads ("..", links) */
            if (realpath(next, at) == NULL) {
                return false;
            }
        }
        p += len;
        p += *p == '/';
    }
    return true;
}

att_err att_file_read_regular(const char *path, size_t max, struct att_buf *out)
{
    att_err rc = ATT_OK;
    struct stat st;
    /* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    ATT_ENSURE(fd >= 0, errno == ENOENT ? ATT_ERR_NOT_FOUND : ATT_ERR_IO);
    if (fstat(fd, &st) != 0) {
        rc = ATT_ERR_IO;
    } else if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        rc = ATT_ERR_IO;
    } else if ((uint64_t)st.st_size > max) {
        rc = ATT_ERR_TOO_LARGE;
    }
    char chunk[65536];
    size_t total = 0;
    while (rc == ATT_OK) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = n == 0 ? ATT_OK : ATT_ERR_IO;
            break;
        }
        total += (size_t)n;
        rc = total > max ? ATT_ERR_TOO_LARGE : att_buf_put(out, chunk, (size_t)n);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

att_err att_file_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, b + done, n - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            errno = w == 0 ? EIO : errno;
            return ATT_ERR_IO;
        }
        done += (size_t)w;
    }
    return ATT_OK;
}
