/*
 * bench_verify.c - quote verification on one core, the same work @phala/dcap-qvl does
 * (bench/dcap_qvl_bench.mjs): sgx01 with its collateral bundle at 2025-06-19T11:56:11Z, or
 * (argument "tdx") the TDX v4 quote tdx01 with its bundle at 2025-06-20T00:00:00Z.
 *
 *   full: every call loads the bundle's four items (CRL and document signatures, chains) and
 *         the quote's PCK chain, then verifies: nothing cached, as the reference does;
 *   warm: the items and PCK chain are loaded once; each call parses and verifies the quote
 *         (what attestd does per request once its caches hold the collateral).
 *
 * Prints "verify full N/s" and "verify warm N/s".
 * Usage: bench_verify SECONDS FIXTURES_DIR [sgx|tdx]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collateral/bundle.h"
#include "collateral/service.h"
#include "core/file.h"
#include "evidence/intel/intel_root.h"
#include "evidence/intel/verify.h"

/* The samples: quote, bundle, a time inside the bundle's window. */
static const struct sample {
    const char *name, *quote, *bundle;
    enum att_intel_tee tee;
    int64_t at;
} samples[] = {
    {"sgx", "dcap/sgx/sgx01_dcapqvl_quote.bin", "dcap/sgx/sgx01_dcapqvl_collateral.json",
     ATT_INTEL_TEE_SGX, 1750334171 + 3600 /* 2025-06-19T11:56:11Z */},
    {"tdx", "dcap/tdx/tdx01_dcapqvl_v4_quote.bin", "dcap/tdx/tdx01_dcapqvl_collateral.json",
     ATT_INTEL_TEE_TDX, 1750377600 /* 2025-06-20T00:00:00Z */},
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ctx {
    const struct sample *sample;
    struct att_dcap_trust *trust;
    struct att_buf quote;
    struct att_dcap_bundle bundle;
    struct att_intel_inputs in; /* warm */
};

static int verify(struct ctx *c, int full)
{
    struct att_intel_quote q;
    struct att_intel_inputs fresh;
    struct att_intel_verdict v;
    struct att_dcap_item *pck = c->in.pck;
    char msg[256];
    int ok = att_intel_quote_parse(c->quote.data, c->quote.len, c->sample->tee, &q, msg,
                                   sizeof(msg)) == ATT_OK;
    memset(&fresh, 0, sizeof(fresh));
    if (ok && full) {
        ok = att_collateral_from_bundle(c->trust, &c->bundle, &fresh, msg, sizeof(msg)) == ATT_OK &&
             att_dcap_pck_chain_load(c->trust, q.sig.pck_pem.ptr, q.sig.pck_pem.len, &fresh.pck,
                                     msg, sizeof(msg)) == ATT_OK;
        pck = fresh.pck;
    }
    if (ok) {
        struct att_intel_collateral view = att_intel_inputs_view(full ? &fresh : &c->in);
        ok = att_intel_quote_verify(&q, pck, &view, c->sample->at, 0, &v, msg, sizeof(msg)) ==
             ATT_OK;
    }
    att_intel_inputs_release(&fresh);
    if (!ok) {
        fprintf(stderr, "bench_verify: %s\n", msg);
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

int main(int argc, char **argv)
{
    struct ctx c;
    char path[1024];
    char msg[256];
    struct att_buf text;
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    const char *dir = argc > 2 ? argv[2] : "tests/fixtures";
    memset(&c, 0, sizeof(c));
    c.sample = &samples[argc > 3 && strcmp(argv[3], "tdx") == 0 ? 1 : 0];
    att_buf_init(&c.quote, 1 << 20);
    att_buf_init(&text, 1 << 22);
    snprintf(path, sizeof(path), "%s/%s", dir, c.sample->quote);
    if (att_file_read(path, 1 << 20, &c.quote) != ATT_OK) {
        fprintf(stderr, "usage: bench_verify SECONDS FIXTURES_DIR [sgx|tdx]\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, c.sample->bundle);
    if (att_file_read(path, 1 << 22, &text) != ATT_OK ||
        att_dcap_bundle_parse((const char *)text.data, text.len, &c.bundle, msg, sizeof(msg)) !=
            ATT_OK ||
        att_dcap_trust_from_pem(att_intel_sgx_root_ca_pem, strlen(att_intel_sgx_root_ca_pem),
                                &c.trust, msg, sizeof(msg)) != ATT_OK ||
        att_collateral_from_bundle(c.trust, &c.bundle, &c.in, msg, sizeof(msg)) != ATT_OK) {
        fprintf(stderr, "bench_verify: cannot load the sample\n");
        return 1;
    }
    struct att_intel_quote q;
    if (att_intel_quote_parse(c.quote.data, c.quote.len, c.sample->tee, &q, msg, sizeof(msg)) !=
            ATT_OK ||
        att_dcap_pck_chain_load(c.trust, q.sig.pck_pem.ptr, q.sig.pck_pem.len, &c.in.pck, msg,
                                sizeof(msg)) != ATT_OK) {
        fprintf(stderr, "bench_verify: %s\n", msg);
        return 1;
    }
    printf("verify full %.0f\nverify warm %.0f\n", rate(&c, 1, seconds / 2),
           rate(&c, 0, seconds / 2));
    att_intel_inputs_release(&c.in);
    att_dcap_bundle_cleanup(&c.bundle);
    att_dcap_trust_free(c.trust);
    att_buf_cleanup(&c.quote);
    att_buf_cleanup(&text);
    return 0;
}
