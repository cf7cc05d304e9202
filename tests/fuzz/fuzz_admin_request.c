/*
 * fuzz_admin_request.c - libFuzzer target for the admin socket's request (src/admin/remote.c),
 * read by attestd from a local peer (docs/internals/admin-socket.md).
 *
 * Input: the request's bytes (after its length prefix). Oracles beyond the sanitizers: at most
 * ATT_REMOTE_MAX_ARGS arguments, each NUL-terminated, within its cap and without an inner NUL;
 * every file lies inside the input and names an argument that is there. A parsed command line
 * is then matched against attestctl's command table, as the admin socket does.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "admin/remote.h"
#include "att/admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_buf msg;
    struct att_remote_request r;
    att_buf_init(&msg, ATT_REMOTE_MAX_REQUEST);
    if (att_buf_put(&msg, data, size) != ATT_OK) {
        att_buf_cleanup(&msg);
        return 0;
    }
    if (att_remote_request_parse(&msg, &r) == ATT_OK) {
        char marks[ATT_REMOTE_MAX_ARGS];
        if (r.argc > ATT_REMOTE_MAX_ARGS || r.argv[r.argc] != NULL) {
            __builtin_trap();
        }
        for (int i = 0; i < r.argc; i++) {
            if (strlen(r.argv[i]) > ATT_REMOTE_MAX_ARG) {
                __builtin_trap();
            }
        }
        for (size_t i = 0; i < r.n_files; i++) {
            const struct att_remote_file *f = &r.files[i];
            if (f->arg >= (uint32_t)r.argc || f->data.ptr < msg.data ||
                f->data.ptr + f->data.len > msg.data + msg.len) {
                __builtin_trap();
            }
        }
        (void)att_admin_cli_file_args(r.argc, r.argv, marks);
        (void)att_admin_cli_kind(r.argc, r.argv);
    }
    att_remote_request_cleanup(&r);
    att_buf_cleanup(&msg);
    return 0;
}
