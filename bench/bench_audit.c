/*
 * bench_audit.c - the audit trail's cost per record, on one core (src/audit): CPU time of
 * building a record, and of a record's whole way to disk through the writer's group commits
 * (build, queue, chain hash, insert, commit with fsync), as microseconds of CPU per record
 * and as a ratio to one ES256 signature measured in the same run (every attestation signs
 * one token: the ratio reads as "a record costs this many token signatures").
 *
 *   bench_audit [RECORDS]   (default 20000; run it pinned: taskset -c 0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "signer/signer.h"

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct att_audit_event event(void)
{
    struct att_audit_event ev = {ATT_AUDIT_ATTEST,
                                 "attest.SgxEnclave",
                                 "success",
                                 "",
                                 "",
                                 "127.0.0.1",
                                 "default",
                                 "6f1c3c35-7c2b-4e2a-9a57-9f1d5a4b3c21",
                                 json_pack("{s:i,s:s,s:b,s:s,s:s}", "status", 200, "verdict",
                                           "permit", "draft", 0, "policyHash",
                                           "egjnANIzEpS2WgpE4Nk-QEwM69XRCgTs42_G0qLlbnk",
                                           "tcbStatus", "UpToDate")};
    return ev;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    char dir[] = "/tmp/attestd-bench-audit-XXXXXX";
    char path[128];
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    snprintf(path, sizeof(path), "%s/audit.db", dir);

    /* Baseline: ES256 signatures. */
    struct att_signer *signer = NULL;
    EVP_PKEY *key = NULL;
    struct att_buf sig;
    att_buf_init(&sig, 256);
    if (att_signer_new(&signer) != ATT_OK || att_signer_generate(ATT_JWS_ES256, &key) != ATT_OK ||
        att_signer_add(signer, "k", ATT_JWS_ES256, key) != ATT_OK) {
        return 1;
    }
    double t0 = cpu_s();
    for (int i = 0; i < 2000; i++) {
        att_buf_reset(&sig);
        if (att_signer_sign(signer, "k", "payload", 7, &sig) != ATT_OK) {
            return 1;
        }
    }
    double sign_us = (cpu_s() - t0) / 2000 * 1e6;

    /* Building a record (the request thread's share). */
    struct att_audit_row row;
    att_audit_row_init(&row);
    t0 = cpu_s();
    for (int i = 0; i < n; i++) {
        struct att_audit_event ev = event();
        if (att_audit_record_make(&ev, 1796520000000 + i, &row) != ATT_OK) {
            return 1;
        }
        json_decref(ev.detail);
    }
    double make_us = (cpu_s() - t0) / n * 1e6;
    att_audit_row_cleanup(&row);

    /* The whole way: submitted without waiting, as a fail-open provider's records are. */
    struct att_audit *a = NULL;
    struct att_audit_config c = {.path = path, .busy_ms = 2000};
    if (att_audit_open(&c, &a) != ATT_OK) {
        return 1;
    }
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    t0 = cpu_s();
    for (int i = 0; i < n; i++) {
        struct att_audit_event ev = event();
        att_audit_submit(a, &ev, NULL, NULL);
        if (i % 16 == 15) {
            usleep(100); /* requests arrive spread out, not in one burst */
        }
    }
    att_audit_close(a); /* waits for the last commit */
    double all_us = (cpu_s() - t0) / n * 1e6;
    clock_gettime(CLOCK_MONOTONIC, &w1);
    printf("audit: ES256 sign %.1f us; record build %.2f us (%.3f signs); record to disk %.2f us "
           "CPU (%.3f signs), %d records in %.2f s\n",
           sign_us, make_us, make_us / sign_us, all_us, all_us / sign_us, n,
           (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9);
    att_signer_free(signer);
    att_buf_cleanup(&sig);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
