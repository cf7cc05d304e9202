/*
 * Unit tests for src/seal/kek.c: loading the KEK from a file or the
 * environment, refusing open permissions and bad content, and generating
 * a new key file.
 */
#include "att_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seal/seal.h"

#define HEX64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

struct fx {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    att_test_mkdtemp("kek", f->dir, sizeof(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/kek", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    DIR *d = opendir(f->dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                char p[256];
                snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
                if (rmdir(p) != 0) {
                    unlink(p);
                }
            }
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *content, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    size_t n = strlen(content);
    assert_int_equal(write(fd, content, n), (ssize_t)n);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_load_accepts_private_modes(void **state)
{
    struct fx *f = *state;
    struct att_kek k;
    write_file(f->path, HEX64 "\n", 0600);
    EXPECT_OK(att_kek_load_file(f->path, &k));
    for (size_t i = 0; i < ATT_KEK_LEN; i++) {
        assert_int_equal(k.key[i], i);
    }
    write_file(f->path, HEX64, 0400);
    EXPECT_OK(att_kek_load_file(f->path, &k));
    assert_int_equal(k.key[31], 0x1f);
    att_kek_wipe(&k);
    for (size_t i = 0; i < ATT_KEK_LEN; i++) {
        assert_int_equal(k.key[i], 0);
    }
}

static void test_load_refuses_open_modes(void **state)
{
    struct fx *f = *state;
    struct att_kek k;
    const mode_t modes[] = {0644, 0640, 0604, 0610, 0601, 0660, 0666};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        write_file(f->path, HEX64 "\n", modes[i]);
        EXPECT_ERR(att_kek_load_file(f->path, &k), ATT_ERR_PERM);
    }
}

static void test_load_refuses_bad_content(void **state)
{
    struct fx *f = *state;
    struct att_kek k;
    const char *bad[] = {
        "",
        "\n",
        HEX64 "\n\n",
        HEX64 " ",
        " " HEX64,
        HEX64 "00",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",   /* 63 */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0", /* 65 */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",  /* not hex */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(f->path, bad[i], 0600);
        EXPECT_ERR(att_kek_load_file(f->path, &k), ATT_ERR_ENCODING);
    }
}

static void test_load_refuses_non_regular(void **state)
{
    struct fx *f = *state;
    struct att_kek k;
    assert_int_equal(mkdir(f->path, 0700), 0);
    EXPECT_ERR(att_kek_load_file(f->path, &k), ATT_ERR_IO);
    assert_int_equal(rmdir(f->path), 0);
    EXPECT_ERR(att_kek_load_file(f->path, &k), ATT_ERR_IO); /* missing */
    /* A FIFO must be refused, not block startup. */
    assert_int_equal(mkfifo(f->path, 0600), 0);
    EXPECT_ERR(att_kek_load_file(f->path, &k), ATT_ERR_IO);
}

/* A key file another user owns could be swapped or re-permitted by them. */
static void test_load_refuses_other_owner(void **state)
{
    struct fx *f = *state;
    struct att_kek k;
    if (geteuid() != 0) {
        skip(); /* only root can give a file away */
    }
    write_file(f->path, HEX64 "\n", 0600);
    assert_int_equal(chown(f->path, 65534, 65534), 0);
    EXPECT_ERR(att_kek_load_file(f->path, &k), ATT_ERR_PERM);
    assert_int_equal(chown(f->path, 0, 0), 0);
    EXPECT_OK(att_kek_load_file(f->path, &k));
    att_kek_wipe(&k);
}

/* The id is hex(SHA-256("attestd/kek-id/v1" || key)[0..8)), computed here independently. */
static void test_kek_id(void **state)
{
    struct fx *f = *state;
    struct att_kek k;
    uint8_t msg[17 + 32];
    uint8_t md[32];
    unsigned int mdlen = 0;
    char want[17];
    memcpy(msg, "attestd/kek-id/v1", 17);
    for (size_t i = 0; i < 32; i++) {
        msg[17 + i] = (uint8_t)i;
    }
    assert_int_equal(EVP_Digest(msg, sizeof(msg), md, &mdlen, EVP_sha256(), NULL), 1);
    for (size_t i = 0; i < 8; i++) {
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    }
    write_file(f->path, HEX64, 0600);
    EXPECT_OK(att_kek_load_file(f->path, &k));
    assert_string_equal(k.id, want);
    att_kek_wipe(&k);
}

static void test_load_env(void **state)
{
    (void)state;
    struct att_kek a, b;
    struct fx *f = *state;
    assert_int_equal(setenv("ATT_TEST_KEK", HEX64, 1), 0);
    /* glibc never frees a setenv string, so the old value can be inspected. */
    const char *old = getenv("ATT_TEST_KEK");
    assert_non_null(old);
    EXPECT_OK(att_kek_load_env("ATT_TEST_KEK", &a));
    /* Read once: the secret is gone from the environment (and from children)... */
    assert_null(getenv("ATT_TEST_KEK"));
    /* ...and wiped where it was. */
    for (size_t i = 0; i < strlen(HEX64); i++) {
        assert_int_equal(old[i], 0);
    }
    EXPECT_ERR(att_kek_load_env("ATT_TEST_KEK", &b), ATT_ERR_NOT_FOUND);
    write_file(f->path, HEX64 "\n", 0600);
    EXPECT_OK(att_kek_load_file(f->path, &b));
    assert_memory_equal(a.key, b.key, ATT_KEK_LEN);
    assert_string_equal(a.id, b.id);
    /* Upper-case hex names the same key. */
    assert_int_equal(setenv("ATT_TEST_KEK",
                            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", 1),
                     0);
    EXPECT_OK(att_kek_load_env("ATT_TEST_KEK", &b));
    assert_string_equal(a.id, b.id);
    assert_int_equal(setenv("ATT_TEST_KEK", HEX64 "00", 1), 0);
    EXPECT_ERR(att_kek_load_env("ATT_TEST_KEK", &a), ATT_ERR_ENCODING);
    /* A bad value is removed too: it may be a mistyped key. */
    assert_null(getenv("ATT_TEST_KEK"));
    assert_int_equal(setenv("ATT_TEST_KEK", "abcd", 1), 0);
    EXPECT_ERR(att_kek_load_env("ATT_TEST_KEK", &a), ATT_ERR_ENCODING);
    EXPECT_ERR(att_kek_load_env("ATT_TEST_KEK", &a), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_kek_load_env("", &a), ATT_ERR_ARG);
    EXPECT_ERR(att_kek_load_env("ATT=TEST", &a), ATT_ERR_ARG);
    att_kek_wipe(&a);
    att_kek_wipe(&b);
}

static void test_generate(void **state)
{
    struct fx *f = *state;
    struct att_kek a, b;
    struct stat st;
    char other[160];
    EXPECT_OK(att_kek_generate_file(f->path));
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    EXPECT_OK(att_kek_load_file(f->path, &a));
    /* Never overwrites: the existing key survives. */
    EXPECT_ERR(att_kek_generate_file(f->path), ATT_ERR_EXISTS);
    EXPECT_OK(att_kek_load_file(f->path, &b));
    assert_memory_equal(a.key, b.key, ATT_KEK_LEN);
    /* A second key is a different key. */
    snprintf(other, sizeof(other), "%s/kek2", f->dir);
    EXPECT_OK(att_kek_generate_file(other));
    EXPECT_OK(att_kek_load_file(other, &b));
    assert_memory_not_equal(a.key, b.key, ATT_KEK_LEN);
    assert_string_not_equal(a.id, b.id);
    /* Refuses to follow a planted symlink. */
    snprintf(other, sizeof(other), "%s/link", f->dir);
    assert_int_equal(symlink("/tmp/att-kek-nonexistent-target", other), 0);
    assert_int_not_equal(att_kek_generate_file(other), ATT_OK);
    assert_int_not_equal(access("/tmp/att-kek-nonexistent-target", F_OK), 0);
    att_kek_wipe(&a);
    att_kek_wipe(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_accepts_private_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_open_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_bad_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_non_regular, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_other_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kek_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate, setup, teardown),
    };
    return cmocka_run_group_tests_name("kek", tests, NULL, NULL);
}
