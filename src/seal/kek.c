/*
 * kek.c - loading and creating the key-encryption key (KEK).
 *
 * Input trust: the key file and the environment are set up by the operator,
 * but a key file readable by others is a leaked key, and one owned by another
 * user can be replaced or re-permitted by them, so both are refused. Owner
 * and mode are checked with fstat on the descriptor we then read, so the
 * file cannot be swapped between the check and the read (no TOCTOU).
 *
 * Format: exactly 64 hex characters, optionally followed by one "\n".
 */
#include "seal/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/file.h"
#include "core/mem.h"
#include "seal/pkcs11.h"

#define KEK_HEX_LEN (2 * ATT_KEK_LEN)

static const char kek_id_label[] = "attestd/kek-id/v1";

void att_kek_wipe(struct att_kek *k)
{
    if (k != NULL) {
        att_p11_release(k->token);
        att_wipe(k, sizeof(*k));
    }
}

void att_kek_copy(struct att_kek *dst, const struct att_kek *src)
{
    *dst = *src;
    if (dst->token != NULL) {
        att_p11_ref(dst->token);
    }
}

att_err att_kek_load_pkcs11(const char *uri, bool generate, struct att_kek *out, char *msg,
                            size_t n)
{
    memset(out, 0, sizeof(*out));
    ATT_TRY(att_p11_open(uri, generate ? ATT_P11_NEW_KEK : ATT_P11_KEK, &out->token, msg, n));
    att_p11_key_id(out->token, out->id);
    return ATT_OK;
}

/* id = lowercase hex of SHA-256("attestd/kek-id/v1" || key)[0..8): public, names the key. */
static att_err kek_id(const uint8_t key[ATT_KEK_LEN], char id[ATT_KEK_ID_LEN + 1])
{
    att_err rc = ATT_ERR_CRYPTO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    struct att_buf hex;

    att_buf_init(&hex, ATT_KEK_ID_LEN);
    ATT_CHECK(md != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_DigestInit_ex2(md, EVP_sha256(), NULL) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(EVP_DigestUpdate(md, kek_id_label, strlen(kek_id_label)) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(EVP_DigestUpdate(md, key, ATT_KEK_LEN) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(EVP_DigestFinal_ex(md, digest, &n) == 1 && n >= ATT_KEK_ID_LEN / 2, ATT_ERR_CRYPTO);
    ATT_GUARD(att_hex_encode(digest, ATT_KEK_ID_LEN / 2, &hex));
    /* hex holds exactly ATT_KEK_ID_LEN characters and their NUL. */
    memcpy(id, att_buf_cstr(&hex), ATT_KEK_ID_LEN + 1);
    rc = ATT_OK;
out:
    EVP_MD_CTX_free(md);
    att_buf_cleanup(&hex);
    return rc;
}

/* Decode 64 hex characters into a KEK and name it; *out written only on success. */
static att_err kek_from_hex(const char *hex, size_t len, struct att_kek *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf raw;
    struct att_kek k;

    memset(&k, 0, sizeof(k));
    att_buf_init_secret(&raw, ATT_KEK_LEN);
    ATT_CHECK(len == KEK_HEX_LEN, ATT_ERR_ENCODING);
    ATT_GUARD(att_hex_decode(hex, len, &raw));
    ATT_CHECK(raw.len == ATT_KEK_LEN, ATT_ERR_ENCODING);
    for (size_t i = 0; i < ATT_KEK_LEN; i++) {
        k.key[i] = raw.data[i];
    }
    ATT_GUARD(kek_id(k.key, k.id));
    *out = k;
    rc = ATT_OK;
out:
    att_kek_wipe(&k);
    att_buf_cleanup(&raw);
    return rc;
}

/* Read at most `cap` bytes (until EOF) into buf. */
static att_err read_all(int fd, char *buf, size_t cap, size_t *got)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return ATT_ERR_IO;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    *got = n;
    return ATT_OK;
}

/*
 * Whether a link at `path` may be followed: only when its directory belongs to root or to us
 * and no one else may write it. Root reading a KEK out of the service user's data directory
 * must not open whatever a link planted there names (a device, another secret).
 */
static bool link_may_be_followed(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 1 : (slash == path ? 1 : (size_t)(slash - path));
    if (n >= sizeof(dir)) {
        return false;
    }
    memcpy(dir, slash == NULL ? "." : path, n);
    dir[n] = 0;
    struct stat st;
    return stat(dir, &st) == 0 && (st.st_uid == 0 || st.st_uid == geteuid()) &&
           (st.st_mode & 022) == 0;
}

att_err att_secret_file_read(const char *path, char *buf, size_t cap, size_t *len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct stat st;
    int fd = -1;

    ATT_CHECK(path != NULL && buf != NULL && cap > 0, ATT_ERR_ARG);
    /* O_NONBLOCK: a FIFO in place of the file must not hang us.
     * Any failure to open (missing, unreadable, a link where links are not followed) is
     * ATT_ERR_IO; ATT_ERR_PERM means only "owned by someone else or mode too open". */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                        (link_may_be_followed(path) ? 0 : O_NOFOLLOW));
    ATT_CHECK(fd >= 0, ATT_ERR_IO);
    ATT_CHECK(fstat(fd, &st) == 0, ATT_ERR_IO);
    ATT_CHECK(S_ISREG(st.st_mode), ATT_ERR_IO);
    ATT_CHECK(st.st_uid == geteuid(), ATT_ERR_PERM);
    ATT_CHECK((st.st_mode & 077) == 0, ATT_ERR_PERM);
    ATT_GUARD(read_all(fd, buf, cap, len));
    rc = ATT_OK;
out:
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

att_err att_kek_load_file(const char *path, struct att_kek *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    /* One byte more than the longest valid file, to notice longer files. */
    char text[KEK_HEX_LEN + 2];
    size_t len = 0;

    ATT_CHECK(out != NULL, ATT_ERR_ARG);
    memset(out, 0, sizeof(*out));
    ATT_GUARD(att_secret_file_read(path, text, sizeof(text), &len));
    if (len == KEK_HEX_LEN + 1 && text[KEK_HEX_LEN] == '\n') {
        len = KEK_HEX_LEN;
    }
    ATT_GUARD(kek_from_hex(text, len, out));
    rc = ATT_OK;
out:
    att_wipe(text, sizeof(text));
    return rc;
}

/*
 * The variable is removed once read, valid or not, so the key is not handed
 * to child processes or left in the environment; its value is wiped first
 * because unsetenv only drops the pointer (glibc never frees setenv strings,
 * and a value from the initial environment also shows in /proc/<pid>/environ).
 * getenv points into environ, writable memory unless a string literal was
 * putenv()ed, which attestd never does.
 */
void att_kek_forget_env(const char *name)
{
    char *v = getenv(name);
    if (v != NULL) {
        att_wipe(v, strlen(v));
        (void)unsetenv(name);
    }
}

att_err att_kek_load_env(const char *name, struct att_kek *out)
{
    /* A name unsetenv would refuse is refused first, so removal cannot fail. */
    ATT_ENSURE(name != NULL && name[0] != '\0' && strchr(name, '=') == NULL && out != NULL,
               ATT_ERR_ARG);
    memset(out, 0, sizeof(*out));
    char *v = getenv(name);
    ATT_ENSURE(v != NULL, ATT_ERR_NOT_FOUND);
    att_err rc = kek_from_hex(v, strnlen(v, KEK_HEX_LEN + 1), out);
    att_wipe(v, strlen(v));
    (void)unsetenv(name);
    return rc;
}

att_err att_kek_generate_file(const char *path)
{
    att_err rc = ATT_ERR_INTERNAL;
    uint8_t key[ATT_KEK_LEN];
    struct att_buf text;
    int fd = -1;

    att_buf_init_secret(&text, KEK_HEX_LEN + 1);
    ATT_CHECK(path != NULL, ATT_ERR_ARG);
    /* O_EXCL: never overwrite a key (losing a KEK loses every sealed value).
     * O_NOFOLLOW: do not write a key through a planted symlink. */
    fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    ATT_CHECK(fd >= 0, errno == EEXIST ? ATT_ERR_EXISTS : ATT_ERR_IO);
    ATT_CHECK(RAND_bytes(key, sizeof(key)) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(att_hex_encode(key, sizeof(key), &text));
    ATT_GUARD(att_buf_putc(&text, '\n'));
    ATT_GUARD(att_file_write_all(fd, text.data, text.len));
    ATT_CHECK(fsync(fd) == 0, ATT_ERR_IO);
    rc = ATT_OK;
out:
    att_wipe(key, sizeof(key));
    att_buf_cleanup(&text);
    if (fd >= 0) {
        if (close(fd) != 0 && rc == ATT_OK) {
            rc = ATT_ERR_IO;
        }
        if (rc != ATT_OK) {
            /* We created it (O_EXCL), so a half-written key file is ours to remove. */
            (void)unlink(path);
        }
    }
    return rc;
}
