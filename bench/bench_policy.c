/*
 * bench_policy.c - policy parse and evaluation rates (one core) against baselines
 * measured in the same process, interleaved, so the ratios survive a noisy machine.
 *
 * Policies:
 *   sgx-default  MAA's v1.0 default SGX policy (7 rules, 479 bytes), 12 incoming claims
 *   tpm-large    the TPM 1.2 measured-boot recipes of the unit-test fixtures, repeated six
 *                times (about 300 rules, 55 KB), against the 3.3 KB fixture event log and
 *                PCRs, then against that log grown to 64 KB (a real Windows log's size),
 *                with the default limits: the line says what share of the budget it uses
 *
 * Baselines:
 *   parse  jansson json_loadb of a JSON document of the same size and a similar token
 *          density (an array of rule objects): what reading the same policy would cost
 *          if it were JSON. ratio = attestd parses/s / jansson parses/s.
 *   eval   sgx-default: the same seven rules hand-written in C (linear scans with memcmp,
 *          copies of the issued claims), the floor of what the policy asks for.
 *          tpm-large: one json_loadb of the event log the policy queries; the ratio says
 *          how many event-log parses one evaluation costs (every JmesPath call must at
 *          least parse its JSON argument once).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", POLICY_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    char *buf = malloc(1 << 20);
    size_t n = buf != NULL ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf == NULL) {
        exit(1);
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* A JSON array of rule-shaped objects, at least `len` bytes long. */
static char *json_like(size_t len, size_t *out_len)
{
    static const char item[] =
        "{\"if\":[{\"type\":\"x-ms-sgx-mrsigner\",\"issuer\":\"AttestationService\"}],"
        "\"then\":\"issue\",\"type\":\"sgx-mrsigner\",\"value\":\"c.value\",\"n\":12345},";
    size_t cap = len + sizeof(item) + 4;
    char *s = malloc(cap);
    if (s == NULL) {
        exit(1);
    }
    size_t n = 0;
    s[n++] = '[';
    while (n + sizeof(item) < len + 2) {
        memcpy(s + n, item, sizeof(item) - 1);
        n += sizeof(item) - 1;
    }
    memcpy(s + n, item, sizeof(item) - 2); /* the last one without its comma */
    n += sizeof(item) - 2;
    s[n++] = ']';
    s[n] = 0;
    *out_len = n;
    return s;
}

static void bench_parse(const char *name, const char *text, size_t len, unsigned iters,
                        const struct att_policy_limits *lim)
{
    size_t jlen;
    char *json = json_like(len, &jlen);
    double t_policy = 0;
    double t_json = 0;
    for (unsigned i = 0; i < iters; i++) {
        double t0 = now_s();
        json_error_t err;
        json_t *j = json_loadb(json, jlen, 0, &err);
        double t1 = now_s();
        struct att_policy *p = NULL;
        att_err rc = att_policy_parse(text, len, lim, &p, NULL, 0);
        double t2 = now_s();
        if (j == NULL || rc != ATT_OK) {
            fprintf(stderr, "%s: parse failed (%s)\n", name, att_err_name(rc));
            exit(1);
        }
        json_decref(j);
        att_policy_free(p);
        t_json += t1 - t0;
        t_policy += t2 - t1;
    }
    printf("%-12s parse: %6zu B  jansson(%6zu B) %9.0f/s  attestd %9.0f/s  ratio %.2f\n", name, len,
           jlen, iters / t_json, iters / t_policy, t_json / t_policy);
    free(json);
}

/* ---- sgx-default ----------------------------------------------------------------------- */

#define MRSIGNER "2c1a44952ae8207135c6c29b75b8c029372ee94b677e15c20bd42340f10d41aa"
#define MRENCLAVE "b779202618becb636768e5d902f28d524222735fafb539ea9ba07c3fc171a1c2"

static size_t sgx_claims(struct att_claim *c)
{
    size_t n = 0;
    const enum att_claim_issuer as = ATT_ISSUER_ATTESTATION_SERVICE;
    c[n++] = att_claim_boolean("x-ms-sgx-is-debuggable", false, as);
    c[n++] = att_claim_string("x-ms-sgx-mrenclave", MRENCLAVE, as);
    c[n++] = att_claim_string("x-ms-sgx-mrsigner", MRSIGNER, as);
    c[n++] = att_claim_integer("x-ms-sgx-product-id", 1, as);
    c[n++] = att_claim_integer("x-ms-sgx-svn", 1, as);
    c[n++] = att_claim_string("x-ms-attestation-type", "sgx", as);
    c[n++] = att_claim_boolean("$is-debuggable", false, as);
    c[n++] = att_claim_string("$sgx-mrenclave", MRENCLAVE, as);
    c[n++] = att_claim_string("$sgx-mrsigner", MRSIGNER, as);
    c[n++] = att_claim_integer("$product-id", 1, as);
    c[n++] = att_claim_integer("$svn", 1, as);
    c[n++] = att_claim_string("$tee", "sgx", as);
    return n;
}

/* The v1.0 default SGX policy, hand-written: the floor for its evaluation. */
/* What the hand-written evaluation issues; the strings are its own copies. */
struct hand_claim {
    char *type;
    char *str;
    const struct att_claim *from;
};

static size_t sgx_by_hand(const struct att_claim *in, size_t n, struct hand_claim *out)
{
    static const char *const from[] = {"$is-debuggable", "$sgx-mrsigner", "$sgx-mrenclave",
                                       "$product-id",    "$svn",          "$tee"};
    static const char *const to[] = {"is-debuggable", "sgx-mrsigner", "sgx-mrenclave",
                                     "product-id",    "svn",          "tee"};
    bool permit = false;
    for (size_t j = 0; j < n && !permit; j++) {
        permit = in[j].type_len == 14 && memcmp(in[j].type, "$is-debuggable", 14) == 0;
    }
    if (!permit) {
        return 0;
    }
    size_t k = 0;
    for (size_t r = 0; r < 6; r++) {
        size_t fl = strlen(from[r]);
        for (size_t j = 0; j < n; j++) {
            if (in[j].type_len == fl && memcmp(in[j].type, from[r], fl) == 0) {
                out[k].from = &in[j];
                out[k].type = strdup(to[r]);
                out[k].str = in[j].str != NULL ? strndup(in[j].str, in[j].str_len) : NULL;
                k++;
                break;
            }
        }
    }
    return k;
}

static void bench_eval_sgx(const struct att_policy *p, unsigned iters)
{
    struct att_claim in[16];
    size_t n = sgx_claims(in);
    double t_hand = 0;
    double t_policy = 0;
    for (unsigned i = 0; i < iters; i++) {
        struct hand_claim out[8];
        double t0 = now_s();
        size_t k = sgx_by_hand(in, n, out);
        for (size_t j = 0; j < k; j++) {
            free(out[j].type);
            free(out[j].str);
        }
        double t1 = now_s();
        struct att_policy_result r;
        att_err rc = att_policy_eval(p, in, n, NULL, &r, NULL, 0);
        if (rc != ATT_OK || r.n_outgoing != 6 || k != 6) {
            fprintf(stderr, "sgx-default: evaluation failed (%s)\n", att_err_name(rc));
            exit(1);
        }
        att_policy_result_cleanup(&r);
        double t2 = now_s();
        t_hand += t1 - t0;
        t_policy += t2 - t1;
    }
    printf("%-12s eval:  by hand %9.0f/s  attestd %9.0f/s  ratio %.2f\n", "sgx-default",
           iters / t_hand, iters / t_policy, t_hand / t_policy);
}

/* ---- tpm-large ------------------------------------------------------------------------- */

/* The measured-boot policy with its issuance rules repeated `copies` times. */
static char *tpm_large(unsigned copies, size_t *len)
{
    size_t n;
    char *base = read_file("maa_tpm_v1_2_measured_boot.policy", &n);
    char *open = strstr(base, "issuancerules\n{\n");
    char *close = strrchr(base, '}');
    if (open == NULL || close == NULL) {
        exit(1);
    }
    char *body = open + strlen("issuancerules\n{\n");
    size_t head = (size_t)(body - base);
    size_t bl = (size_t)(close - body);
    char *s = malloc(head + bl * copies + 8);
    if (s == NULL) {
        exit(1);
    }
    memcpy(s, base, head);
    for (unsigned i = 0; i < copies; i++) {
        memcpy(s + head + bl * i, body, bl);
    }
    memcpy(s + head + bl * copies, "};\n", 4);
    *len = head + bl * copies + 3;
    free(base);
    return s;
}

/*
 * The fixture event log grown to about `target` bytes with boot-application events
 * (EV_IPL, PCR 13) before the array's end, the size of a real Windows log (30-100 KB).
 */
static char *grow_events(const char *events, size_t target, size_t *len)
{
    const char *end = strrchr(events, ']');
    if (end == NULL) {
        exit(1);
    }
    size_t head = (size_t)(end - events);
    char *s = malloc(target + 4096);
    if (s == NULL) {
        exit(1);
    }
    memcpy(s, events, head);
    size_t n = head;
    while (n + strlen(end) + 300 < target) {
        n += (size_t)sprintf(
            s + n,
            ",\n  {\n   \"EventSeq\": %zu,\n   \"PcrIndex\": 13,\n"
            "   \"EventTypeString\": \"EV_IPL\",\n   \"ProcessedData\": {\n"
            "    \"String\": \"\\\\Windows\\\\System32\\\\drivers\\\\module%zu.sys\"\n"
            "   }\n  }",
            n, n);
    }
    strcpy(s + n, end);
    *len = n + strlen(end);
    return s;
}

/* tpm-large against `events`: the rate beside one json_loadb of the log, and how much of the
 * default budget one evaluation uses (an honest policy must fit with room to spare). With
 * `shared`, the events and PCRs come with their trees, as the TPM type gives them (built once
 * per attestation from the log: src/evidence/tpm/tpm.c), so no JmesPath() parses them. */
static void bench_eval_tpm(const struct att_policy *p, const char *events, size_t elen,
                           const char *pcrs, unsigned iters, bool shared)
{
    struct att_claim in[3];
    json_error_t jerr;
    json_t *etree = shared ? json_loadb(events, elen, 0, &jerr) : NULL;
    json_t *ptree = shared ? json_loads(pcrs, 0, &jerr) : NULL;
    in[0] = att_claim_stringn("events", events, elen, ATT_ISSUER_ATTESTATION_SERVICE);
    in[0].json = etree;
    in[1] = att_claim_string("pcrs", pcrs, ATT_ISSUER_ATTESTATION_SERVICE);
    in[1].read_only = true;
    in[1].json = ptree;
    in[2] = att_claim_boolean("pcrMatchesExpectedValue", true, ATT_ISSUER_CUSTOM_CLAIM);
    struct att_policy_limits lim;
    att_policy_limits_init(&lim);
    double t_json = 0;
    double t_policy = 0;
    uint64_t steps = 0;
    size_t issued = 0;
    for (unsigned i = 0; i < iters; i++) {
        double t0 = now_s();
        json_error_t err;
        json_t *j = json_loadb(events, elen, 0, &err);
        double t1 = now_s();
        struct att_policy_result r;
        char msg[256];
        att_err rc = att_policy_eval(p, in, 3, &lim, &r, msg, sizeof(msg));
        double t2 = now_s();
        if (j == NULL || rc != ATT_OK) {
            fprintf(stderr, "tpm-large: evaluation failed (%s: %s)\n", att_err_name(rc), msg);
            exit(1);
        }
        steps = r.steps;
        issued = r.n_outgoing;
        json_decref(j);
        att_policy_result_cleanup(&r);
        t_json += t1 - t0;
        t_policy += t2 - t1;
    }
    printf("%-12s eval:  jansson(log %6zu B) %9.0f/s  attestd %9.0f/s  ratio %.3f  (%zu claims "
           "issued, %llu steps = %.1f%% of the budget)%s\n",
           "tpm-large", elen, iters / t_json, iters / t_policy, t_json / t_policy, issued,
           (unsigned long long)steps, 100.0 * (double)steps / (double)lim.max_steps,
           shared ? "  [trees shared]" : "  [text only]");
    json_decref(etree);
    json_decref(ptree);
}

int main(int argc, char **argv)
{
    unsigned iters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000;
    struct att_policy_limits lim;
    att_policy_limits_init(&lim);

    const char *sgx = att_policy_default(ATT_POLICY_SGX_ENCLAVE);
    size_t tlen;
    char *tpm = tpm_large(6, &tlen);
    struct att_policy *psgx = NULL;
    struct att_policy *ptpm = NULL;
    if (att_policy_parse(sgx, strlen(sgx), &lim, &psgx, NULL, 0) != ATT_OK ||
        att_policy_parse(tpm, tlen, &lim, &ptpm, NULL, 0) != ATT_OK) {
        fprintf(stderr, "cannot parse the benchmark policies\n");
        return 1;
    }
    printf("policy parse/evaluate, one core; ratio = attestd rate / baseline rate "
           "(%u iterations, tpm-large %zu rules)\n",
           iters, att_policy_rule_count(ptpm));
    bench_parse("sgx-default", sgx, strlen(sgx), iters, &lim);
    bench_parse("tpm-large", tpm, tlen, iters / 50 + 1, &lim);
    bench_eval_sgx(psgx, iters);
    size_t elen;
    size_t plen;
    size_t glen;
    char *events = read_file("policy_tpm_events.json", &elen);
    char *pcrs = read_file("policy_tpm_pcrs.json", &plen);
    char *grown = grow_events(events, 64 * 1024, &glen);
    bench_eval_tpm(ptpm, events, elen, pcrs, iters / 100 + 1, false);
    bench_eval_tpm(ptpm, events, elen, pcrs, iters / 100 + 1, true);
    bench_eval_tpm(ptpm, grown, glen, pcrs, iters / 1000 + 1, false);
    bench_eval_tpm(ptpm, grown, glen, pcrs, iters / 1000 + 1, true);
    free(events);
    free(pcrs);
    free(grown);
    att_policy_free(psgx);
    att_policy_free(ptpm);
    free(tpm);
    return 0;
}
