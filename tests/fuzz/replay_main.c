/*
 * replay_main.c - runs a libFuzzer target over files, without libFuzzer.
 *
 * `make test` builds every target with this driver under ASan + UBSan and
 * replays its seed corpus (and any crashers saved there), so the corpus is
 * a regression suite on every build (SQLite test/fuzzcheck.c does the same).
 * An input that takes more than INPUT_SECONDS fails the replay the way a crash
 * does (`make fuzz` gives libFuzzer the same limit, -timeout).
 * Usage: replay_TARGET FILE_OR_DIR...
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INPUT_SECONDS 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What SIGALRM prints: made before each input, as a handler may only write(). */
static char slow_message[4200];
static size_t slow_message_len;

static void on_slow_input(int sig)
{
    (void)sig;
    ssize_t ignored = write(STDERR_FILENO, slow_message, slow_message_len);
    (void)ignored;
    _exit(1);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    uint8_t *buf = malloc(1 << 20);
    size_t n = buf != NULL ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    if (buf == NULL) {
        return 1;
    }
    /* An exact-size copy, so ASan sees reads one past the input. */
    uint8_t *exact = malloc(n > 0 ? n : 1);
    if (exact == NULL) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, n);
    free(buf);
    snprintf(slow_message, sizeof(slow_message), "replay: %s took more than %d s\n", path,
             INPUT_SECONDS);
    slow_message_len = strlen(slow_message);
    alarm(INPUT_SECONDS);
    LLVMFuzzerTestOneInput(exact, n);
    alarm(0);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    signal(SIGALRM, on_slow_input);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "cannot stat %s\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            files++;
            if (run_file(argv[i]) != 0) {
                return 1;
            }
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            char path[4096];
            if (e->d_name[0] == '.') {
                continue;
            }
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            files++;
            if (run_file(path) != 0) {
                closedir(d);
                return 1;
            }
        }
        if (d != NULL) {
            closedir(d);
        }
    }
    printf("replayed %d input(s)\n", files);
    return files > 0 ? 0 : 1;
}
