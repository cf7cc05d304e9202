/*
 * bench_verify_snp.c - SEV-SNP report verification on one core, the same work
 * @tinfoilsh/verifier does (bench/snp_peer_rate.mjs): snp03 (Genoa) with its VCEK, ASK and ARK
 * at 2026-06-01T00:00:00Z.
 *
 *   full: every call starts from the bytes: parses the report and the carried PEM chain, checks
 *         the ASK against the ARK and the VCEK against the ASK (two RSA-4096 PSS verifies, as the
 *         reference does, plus its ARK self-check, which attestd does once at start), then
 *         verifies the report: nothing cached;
 *   warm: the chain is loaded once (attestd's cache, keyed by the carried bytes); each call
 *         parses and verifies the report (what attestd does per request).
 *
 * Prints "verify full N" and "verify warm N" (per second).
 * Usage: bench_verify_snp SECONDS FIXTURES_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include "collateral/amd.h"
#include "core/file.h"

#define AT 1780272000 /* 2026-06-01T00:00:00Z, inside the snp03 VCEK's validity */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ctx {
    struct att_amd_trust *trust;
    struct att_amd_collateral *warm;
    struct att_buf report;
    struct att_buf chain; /* VCEK PEM, then the ASK and ARK */
};

static int verify(struct ctx *c, int full)
{
    struct att_amd_collateral *svc = c->warm;
    struct att_snp_report r;
    struct att_snp_inputs in;
    struct att_snp_verdict v;
    struct att_snp_carried carried = {{c->chain.data, c->chain.len}, {NULL, 0}};
    char msg[256] = "";
    memset(&in, 0, sizeof(in));
    int ok = (!full || att_amd_collateral_offline(c->trust, NULL, 0, false, &svc, msg,
                                                  sizeof(msg)) == ATT_OK) &&
             att_snp_report_parse(c->report.data, c->report.len, &r, msg, sizeof(msg)) == ATT_OK;
    if (ok) {
        struct att_snp_source src = att_amd_collateral_source(svc);
        ok = src.get(src.ctx, &r, &carried, AT, &in, msg, sizeof(msg)) == ATT_OK &&
             att_snp_verify(&r, &in, AT, 0, &v, msg, sizeof(msg)) == ATT_OK;
    }
    att_snp_inputs_release(&in);
    if (full) {
        att_amd_collateral_free(svc);
    }
    if (!ok) {
        fprintf(stderr, "bench_verify_snp: %s\n", msg);
    }
    return ok;
}

static double rate(struct ctx *c, int full, double seconds)
{
    long n = 0;
    double start = now_s();
    double t;
    do {
        if (!verify(c, full)) {
            exit(1);
        }
        n++;
        t = now_s() - start;
    } while (t < seconds);
    return (double)n / t;
}

/* The DER VCEK as PEM, then the chain file. */
static int load_chain(const char *dir, struct att_buf *out)
{
    char path[1024];
    struct att_buf der;
    char *text = NULL;
    int ok = 0;
    att_buf_init(&der, 1 << 16);
    snprintf(path, sizeof(path), "%s/snp/snp03_tinfoil_genoa_vcek.der", dir);
    if (att_file_read(path, 1 << 16, &der) == ATT_OK) {
        const unsigned char *p = der.data;
        X509 *x = d2i_X509(NULL, &p, (long)der.len);
        BIO *bio = BIO_new(BIO_s_mem());
        long n = 0;
        if (x != NULL && bio != NULL && PEM_write_bio_X509(bio, x) == 1 &&
            (n = BIO_get_mem_data(bio, &text)) > 0 && att_buf_put(out, text, (size_t)n) == ATT_OK) {
            snprintf(path, sizeof(path), "%s/snp/amd_ask_ark_genoa.pem", dir);
            struct att_buf rest;
            att_buf_init(&rest, 1 << 16);
            ok = att_file_read(path, 1 << 16, &rest) == ATT_OK &&
                 att_buf_put(out, rest.data, rest.len) == ATT_OK;
            att_buf_cleanup(&rest);
        }
        BIO_free(bio);
        X509_free(x);
    }
    att_buf_cleanup(&der);
    return ok;
}

int main(int argc, char **argv)
{
    struct ctx c;
    char path[1024];
    char msg[256] = "";
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    const char *dir = argc > 2 ? argv[2] : "tests/fixtures";
    memset(&c, 0, sizeof(c));
    att_buf_init(&c.report, 1 << 16);
    att_buf_init(&c.chain, 1 << 16);
    snprintf(path, sizeof(path), "%s/snp/snp03_tinfoil_genoa_report.bin", dir);
    if (att_file_read(path, 1 << 16, &c.report) != ATT_OK || !load_chain(dir, &c.chain) ||
        att_amd_trust_builtin(&c.trust, msg, sizeof(msg)) != ATT_OK ||
        att_amd_collateral_offline(c.trust, NULL, 0, false, &c.warm, msg, sizeof(msg)) != ATT_OK) {
        fprintf(stderr, "usage: bench_verify_snp SECONDS FIXTURES_DIR (%s)\n", msg);
        return 2;
    }
    printf("verify full %.0f\nverify warm %.0f\n", rate(&c, 1, seconds / 2),
           rate(&c, 0, seconds / 2));
    att_amd_collateral_free(c.warm);
    att_amd_trust_free(c.trust);
    att_buf_cleanup(&c.report);
    att_buf_cleanup(&c.chain);
    return 0;
}
