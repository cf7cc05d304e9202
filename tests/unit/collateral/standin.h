/*
 * standin.h - running one of the HTTPS stand-ins of tests/integration (pcs_server.py for Intel
 * PCS, kds_server.py for AMD KDS) as a child process of a unit test, with a throwaway CA in a
 * temp dir, and its test controls (https_standin.py: POST /__fail..., /__reset, GET /__stats).
 * A test that cannot start one (no python3 or openssl here) skips.
 */
#ifndef ATT_TEST_STANDIN_H
#define ATT_TEST_STANDIN_H

#include "att_test.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "core/buf.h"
#include "net/https.h"

#define STANDIN_DIR ATT_FIXTURES_DIR "/../integration"

struct standin {
    pid_t pid;
    int port;
    char dir[64];
    char ca[128];
    char base[64];
};

/*
 * Start `python3 STANDIN_DIR/<script> --tls-dir DIR/tls --port 0 <args...>` (args
 * NULL-terminated, up to 24) and read its port line. false when it cannot run here (c->dir is
 * made anyway: remove it with att_test_rmdir).
 */
static inline bool standin_start(struct standin *c, const char *script, const char *const *args)
{
    char tls[96], path[256];
    int fds[2];
    att_test_mkdtemp("standin", c->dir, sizeof(c->dir));
    snprintf(tls, sizeof(tls), "%s/tls", c->dir);
    snprintf(c->ca, sizeof(c->ca), "%s/ca.pem", tls);
    snprintf(path, sizeof(path), "%s/%s", STANDIN_DIR, script);
    const char *argv[32] = {"python3", path, "--tls-dir", tls, "--port", "0"};
    size_t n = 6;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 31; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    assert_int_equal(pipe(fds), 0);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 2);
        }
        execvp("python3", (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(fds[1]);
    /* The first line is the port; making the CA takes a moment. */
    char line[32] = "";
    size_t got = 0;
    struct pollfd pfd = {fds[0], POLLIN, 0};
    while (got + 1 < sizeof(line) && memchr(line, '\n', got) == NULL && poll(&pfd, 1, 30000) > 0) {
        ssize_t r = read(fds[0], line + got, sizeof(line) - 1 - got);
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
        line[got] = '\0';
    }
    close(fds[0]);
    c->port = (int)strtol(line, NULL, 10);
    if (c->port <= 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        c->pid = -1;
        return false;
    }
    snprintf(c->base, sizeof(c->base), "https://127.0.0.1:%d", c->port);
    return true;
}

/* SIGTERM, which must end it with exit code 0; then its files go. */
static inline void standin_stop(struct standin *c)
{
    int st = 0;
    if (c->pid > 0) {
        kill(c->pid, SIGTERM);
        assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    char p[160];
    const char *files[] = {"ca.pem",     "ca.key",     "ca.srl",    "server.pem",
                           "server.key", "server.csr", "server.ext"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/tls/%s", c->dir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/tls", c->dir);
    rmdir(p);
    att_test_rmdir(c->dir);
}

static inline size_t standin_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * nmemb;
}

/* A control request (POST /__fail..., GET /__stats) with libcurl; a GET's answer in `out`. */
static inline void standin_control(const struct standin *c, bool post, const char *path,
                                   struct att_buf *out)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", c->base, path);
    if (!post) {
        char detail[256];
        EXPECT_OK(att_https_get(url, c->ca, 65536, out, detail, sizeof(detail)));
        return;
    }
    CURL *h = curl_easy_init();
    assert_non_null(h);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_CAINFO, c->ca), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_POSTFIELDS, ""), CURLE_OK);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, standin_discard), CURLE_OK);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    long status = 0;
    assert_int_equal(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status), CURLE_OK);
    assert_int_equal(status, 200);
    curl_easy_cleanup(h);
}

/* A number from GET /__stats: member `key`, or by_path[path] when path is not NULL. */
static inline json_int_t standin_stat(const struct standin *c, const char *key, const char *path)
{
    struct att_buf out;
    json_error_t jerr;
    att_buf_init(&out, 65536);
    standin_control(c, false, "/__stats", &out);
    json_t *doc = json_loadb((const char *)out.data, out.len, 0, &jerr);
    assert_non_null(doc);
    const json_t *v = json_object_get(doc, key);
    if (path != NULL) {
        v = json_object_get(v, path);
    }
    json_int_t n = json_integer_value(v);
    json_decref(doc);
    att_buf_cleanup(&out);
    return n;
}

#endif
