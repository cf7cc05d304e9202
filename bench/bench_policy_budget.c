/*
 * bench_policy_budget.c - what the policy evaluation budget costs at worst, and what honest
 * policies use of it (one core).
 *
 * One budget bounds the whole evaluation of a request (docs/internals/policy.md, "Budget").
 * It is only as good as its calibration: a step must cost about the same CPU time whatever
 * spends it. Each hostile policy below spends the budget on one kind of work (the rule
 * evaluator, JSON decoding, JMESPath projections, deep equality, result writing, query
 * lexing, copying, set comparison); the figure that matters is the time each takes with the
 * default limits, and its worst: the target is at most about 50 ms of CPU.
 *
 * The baseline, measured in the same run, is the evaluation of MAA's default SGX policy:
 * each line also says how many default-policy evaluations the hostile one costs.
 *
 * What honest policies use of the budget is in bench_policy.c (the TPM recipes against a
 * realistic event log).
 *
 * Usage: bench_policy_budget [RUNS [STEPS]]  (each policy runs RUNS times and the median
 * counts; STEPS replaces the default budget, for calibrating the step rates)
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"

#define TARGET_MS 50.0

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_policy_budget: %s\n", what);
    exit(1);
}

/* ---- a growable string ------------------------------------------------------------------ */

struct str {
    char *p;
    size_t n, cap;
};

static void put(struct str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct str *s, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k =
            vsnprintf(s->p != NULL ? s->p + s->n : NULL, s->p != NULL ? s->cap - s->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            die("format");
        }
        if (s->p != NULL && (size_t)k < s->cap - s->n) {
            s->n += (size_t)k;
            return;
        }
        s->cap = (s->cap + (size_t)k + 1) * 2;
        s->p = realloc(s->p, s->cap);
        if (s->p == NULL) {
            die("out of memory");
        }
    }
}

/* `rule` with each '#' replaced by the rule's index. */
static void put_rule(struct str *s, const char *rule, unsigned i)
{
    for (const char *p = rule; *p != 0; p++) {
        if (*p == '#') {
            put(s, "%u", i);
        } else {
            put(s, "%c", *p);
        }
    }
}

/* A policy that permits, then repeats `rule` ('#' is the rule's index) while the text stays
 * under 64 KiB and 1024 rules. */
static char *policy_of(const char *rule)
{
    struct str s = {0};
    put(&s, "version=1.2;authorizationrules{=>permit();};issuancerules{");
    for (unsigned i = 0; i < 1000; i++) {
        size_t before = s.n;
        put_rule(&s, rule, i);
        if (s.n > 65536 - 64) {
            s.n = before;
            break;
        }
    }
    put(&s, "};");
    return s.p;
}

/* JSON text of `n` bytes or a little more, made of `item` repeated in an array. */
static char *json_array_of(const char *item, size_t n)
{
    struct str s = {0};
    put(&s, "[");
    while (s.n < n) {
        put(&s, "%s%s", s.n > 1 ? "," : "", item);
    }
    put(&s, "]");
    return s.p;
}

/* The same as a JSON string literal for policy text. */
static char *quoted(const char *text)
{
    struct str s = {0};
    put(&s, "\"");
    for (const char *p = text; *p != 0; p++) {
        put(&s, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
    }
    put(&s, "\"");
    return s.p;
}

/* "AppendString(t,t)" nested `depth` times around `leaf`: a value 2^depth times the leaf's. */
static void put_doubling(struct str *s, const char *leaf, int depth)
{
    if (depth == 0) {
        put(s, "%s", leaf);
        return;
    }
    put(s, "AppendString(");
    put_doubling(s, leaf, depth - 1);
    put(s, ",");
    put_doubling(s, leaf, depth - 1);
    put(s, ")");
}

/*
 * The outside review's policies (issue 11, second round): long values compared by claim
 * conditions (a 1 MiB value in ten claims, each negated condition comparing it 15 times),
 * JMESPath lookups and multi-select members with 4 KB keys over a large array, and decoding
 * ~768 KiB of small values. Each builds its data from a short literal with AppendString, so the
 * policy text stays under 64 KiB.
 */
static char *claim_compare_policy(void)
{
    struct str s = {0};
    put(&s, "version=1.2;authorizationrules{=> add(type=\"s0\", value=\"");
    for (int i = 0; i < 8192; i++) {
        put(&s, "A");
    }
    put(&s, "\");c:[type==\"s0\"] => add(type=\"s7\", value=");
    put_doubling(&s, "c.value", 7);
    put(&s, ");");
    for (int i = 0; i < 10; i++) {
        put(&s, "c:[type==\"s7\"] => add(type=\"big\", value=c.value);");
    }
    put(&s, "=> permit();");
    while (s.n < 60000) {
        put(&s, "c:[type==\"s7\"]");
        for (int k = 0; k < 20; k++) {
            put(&s, " && ![");
            for (int p = 0; p < 15; p++) {
                put(&s, "value==c.value,");
            }
            put(&s, "type==\"zz\"]");
        }
        put(&s, " => permit();");
    }
    put(&s, "};issuancerules{};");
    return s.p;
}

/* `q` over a document of ~`2^depth * 8 KiB` of `elem`s, from `calls` conditions. */
static char *jmes_over_doc_policy(const char *q, const char *elem, int depth, int calls)
{
    struct str s = {0};
    put(&s, "version=1.2;authorizationrules{=> add(type=\"q\", value=\"%s\");", q);
    put(&s, "=> add(type=\"d0\", value=\"");
    for (size_t n = 0; n + strlen(elem) + 1 < 8190; n += strlen(elem) + 1) {
        put(&s, "%s,", elem);
    }
    put(&s, "\");c:[type==\"d0\"] => add(type=\"doc\", value=AppendString(\"[\", AppendString(");
    put_doubling(&s, "c.value", depth);
    put(&s, ", \"%s]\")));=> permit();", elem);
    while (calls > 0) {
        int k = calls < 60 ? calls : 60;
        put(&s, "c:[type==\"doc\"] && q:[type==\"q\"]");
        for (int i = 0; i < k; i++) {
            put(&s, " && ![type==\"x\", value==JmesPath(c.value, q.value)]");
        }
        put(&s, " => permit();");
        calls -= k;
    }
    put(&s, "};issuancerules{};");
    return s.p;
}

/* A multi-select hash of `fn` (e.g. "length(s)") members over a document holding one 256 KiB
 * string, from 20 conditions: string functions that read every byte. */
static char *string_fn_policy(const char *fn)
{
    struct str s = {0};
    struct str q = {0};
    put(&q, "{");
    for (int i = 0; q.n + strlen(fn) + 12 < 4000; i++) {
        put(&q, "%sa%d:%s", i > 0 ? "," : "", i, fn);
    }
    put(&q, "}");
    put(&s, "version=1.2;authorizationrules{=> add(type=\"d0\", value=\"");
    for (int i = 0; i < 8192; i++) {
        put(&s, "A");
    }
    put(&s, "\");c:[type==\"d0\"] => add(type=\"doc\", value=AppendString(\"{\\\"s\\\":\\\"\", "
            "AppendString(");
    put_doubling(&s, "c.value", 5);
    put(&s, ", \"\\\"}\")));=> add(type=\"q\", value=\"%s\");=> permit();", q.p);
    put(&s, "c:[type==\"doc\"] && q:[type==\"q\"]");
    for (int i = 0; i < 20; i++) {
        put(&s, " && ![type==\"x\", value==JmesPath(c.value, q.value)]");
    }
    put(&s, " => permit();};issuancerules{};");
    free(q.p);
    return s.p;
}

/* JmesPath over distinct documents of small values (each decoded afresh), ~2^depth * 8 KiB. */
static char *decode_small_values_policy(const char *elem, int depth)
{
    struct str s = {0};
    put(&s, "version=1.2;authorizationrules{=> add(type=\"d0\", value=\"");
    for (size_t n = 0; n + strlen(elem) + 1 < 8190; n += strlen(elem) + 1) {
        put(&s, "%s,", elem);
    }
    put(&s, "\");");
    for (int i = 0; i < 8; i++) {
        /* i spaces after the '[': each document is a text not decoded before */
        put(&s,
            "c:[type==\"d0\"] => add(type=\"x\", value=JmesPath(AppendString(\"[%*s\", "
            "AppendString(",
            i, "");
        put_doubling(&s, "c.value", depth);
        put(&s, ", \"%s]\")), \"@[0]\"));", elem);
    }
    put(&s, "=> permit();};issuancerules{};");
    return s.p;
}

/* ---- measuring -------------------------------------------------------------------------- */

struct outcome {
    double ms;
    uint64_t steps;
    att_err rc;
};

static int by_ms(const void *a, const void *b)
{
    double x = ((const struct outcome *)a)->ms;
    double y = ((const struct outcome *)b)->ms;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* The limits every evaluation runs with: the defaults, or a budget given on the command line
 * (to calibrate the step rates: with a budget large enough, each kind runs to its end). */
static struct att_policy_limits limits;

/* Median CPU time of evaluating `text` over `in`. */
static struct outcome measure(const char *text, const struct att_claim *in, size_t n_in,
                              unsigned runs)
{
    struct att_policy *p = NULL;
    char msg[256];
    if (att_policy_parse(text, strlen(text), NULL, &p, msg, sizeof(msg)) != ATT_OK) {
        fprintf(stderr, "parse: %s\n", msg);
        die("a bench policy does not parse");
    }
    struct outcome o[64];
    runs = runs < 64 ? runs : 64;
    for (unsigned i = 0; i < runs; i++) {
        struct att_policy_result r;
        memset(&r, 0, sizeof(r));
        double t0 = cpu_s();
        att_err rc = att_policy_eval(p, in, n_in, &limits, &r, msg, sizeof(msg));
        double t1 = cpu_s();
        o[i].ms = (t1 - t0) * 1e3;
        o[i].rc = rc;
        o[i].steps = rc == ATT_OK ? r.steps : 0;
        if (rc == ATT_ERR_POLICY_BUDGET) {
            o[i].steps = limits.max_steps;
        }
        att_policy_result_cleanup(&r);
    }
    att_policy_free(p);
    qsort(o, runs, sizeof(o[0]), by_ms);
    return o[runs / 2];
}

static double baseline_ms(unsigned runs)
{
    struct att_claim in[12];
    size_t n = 0;
    const enum att_claim_issuer as = ATT_ISSUER_ATTESTATION_SERVICE;
    in[n++] = att_claim_boolean("x-ms-sgx-is-debuggable", false, as);
    in[n++] = att_claim_string("x-ms-sgx-mrsigner", "2c1a44952ae8207135c6c29b75b8c029", as);
    in[n++] = att_claim_integer("x-ms-sgx-product-id", 1, as);
    in[n++] = att_claim_boolean("$is-debuggable", false, as);
    in[n++] = att_claim_string("$sgx-mrsigner", "2c1a44952ae8207135c6c29b75b8c029", as);
    in[n++] = att_claim_integer("$product-id", 1, as);
    in[n++] = att_claim_integer("$svn", 1, as);
    in[n++] = att_claim_string("$tee", "sgx", as);
    const char *text = att_policy_default(ATT_POLICY_SGX_ENCLAVE);
    double total = 0;
    for (unsigned i = 0; i < runs; i++) {
        total += measure(text, in, n, 33).ms;
    }
    return total / runs;
}

static double report(const char *name, struct outcome o, double base_ms, double worst)
{
    printf("%-27s %8.2f ms  %9llu steps  %6.1f ns/step  %-28s = %6.0f default SGX evaluations\n",
           name, o.ms, (unsigned long long)o.steps, o.steps > 0 ? o.ms * 1e6 / (double)o.steps : 0,
           att_err_name(o.rc), o.ms / base_ms);
    return o.ms > worst ? o.ms : worst;
}

/* ---- hostile policies ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    unsigned runs = argc > 1 ? (unsigned)atoi(argv[1]) : 5;
    const enum att_claim_issuer as = ATT_ISSUER_ATTESTATION_SERVICE;
    att_policy_limits_init(&limits);
    if (argc > 2) {
        limits.max_steps = strtoull(argv[2], NULL, 10);
    }
    double base = baseline_ms(3);
    double worst = 0;
    printf("budget: %llu steps; baseline: MAA's default SGX policy %.4f ms; target: worst <= %.0f "
           "ms\n",
           (unsigned long long)limits.max_steps, base, TARGET_MS);

    /* Documents that one decoding leaves most of the budget for the work on them. */
    char *many_arrays = json_array_of("[]", 48000);
    char *many_ints = json_array_of("1", 48000);
    char *objects = json_array_of("{\"a\":{\"b\":[1,\"x\"]},\"c\":true}", 48000);
    char *strings = json_array_of("\"abcdefghijklmnopqrstuvwxyz0123456789\"", 48000);

    /* The reported attack: 18 doublings then deep equality of 2^19 nodes, per call. */
    struct str q = {0};
    for (int i = 0; i < 18; i++) {
        put(&q, "{a:@,b:@}|");
    }
    put(&q, "@==@");
    struct str rule = {0};
    put(&rule, "=>issue(type=\"r\",value=JmesPath(\"\\\"0\\\"\",\"%s\"));", q.p);
    char *t = policy_of(rule.p);
    worst = report("hash-bomb", measure(t, NULL, 0, runs), base, worst);
    free(t);

    struct att_claim big[1];
    /* Decoding: every call decodes a text it has not seen (the cache misses). */
    big[0] = att_claim_string("x", many_arrays, as);
    t = policy_of("c:[type==\"x\"]=>issue(type=\"r\",value=JmesPath(AppendString(AppendString("
                  "\"[\",c.value),\",#]\"),\"length(@)\"));");
    worst = report("decode-arrays", measure(t, big, 1, runs), base, worst);
    big[0] = att_claim_string("x", objects, as);
    worst = report("decode-objects", measure(t, big, 1, runs), base, worst);
    free(t);
    big[0] = att_claim_string("x", many_ints, as);
    t = policy_of("c:[type==\"x\"]=>issue(type=\"r#\",value=ContainsOnlyValue("
                  "JsonToClaimValue(c.value),2));");
    worst = report("json-to-claim-value", measure(t, big, 1, runs), base, worst);
    free(t);

    /* JMESPath work on one cached document. */
    big[0] = att_claim_string("x", objects, as);
    t = policy_of("c:[type==\"x\"]=>issue(type=\"r#\",value=JmesPath(c.value,"
                  "\"length([?a.b[0]==`1`].c)\"));");
    worst = report("jmespath-filter", measure(t, big, 1, runs), base, worst);
    free(t);
    t = policy_of("c:[type==\"x\"]=>issue(type=\"r#\",value=JmesPath(c.value,"
                  "\"length([*].{x:a,y:c,z:@})\"));");
    worst = report("jmespath-hash", measure(t, big, 1, runs), base, worst);
    free(t);
    t = policy_of("c:[type==\"x\"]=>issue(type=\"r#\",value=JmesPath(c.value,\"@==@\"));");
    worst = report("jmespath-equal-objects", measure(t, big, 1, runs), base, worst);
    big[0] = att_claim_string("x", strings, as);
    worst = report("jmespath-equal-strings", measure(t, big, 1, runs), base, worst);
    free(t);
    big[0] = att_claim_string("x", many_arrays, as);
    t = policy_of(
        "c:[type==\"x\"]=>issue(type=\"r#\",value=JmesPath(c.value,\"length([][][])\"));");
    worst = report("jmespath-flatten", measure(t, big, 1, runs), base, worst);
    free(t);
    big[0] = att_claim_string("x", objects, as);
    t = policy_of("c:[type==\"x\"]&&[type==\"x\",value==JmesPath(c.value,\"@\")]=>issue("
                  "type=\"r#\",value=1);");
    worst = report("jmespath-write", measure(t, big, 1, runs), base, worst);
    free(t);

    /* Query text: long queries on a tiny document. */
    struct str longq = {0};
    while (longq.n < 4000) {
        put(&longq, "a||");
    }
    put(&longq, "a");
    free(rule.p);
    memset(&rule, 0, sizeof(rule));
    put(&rule, "%s", "c:[type==\"q\"]=>issue(type=\"r#\",value=JmesPath(\"{}\",c.value));");
    struct att_claim qin[1] = {att_claim_string("q", longq.p, as)};
    t = policy_of(rule.p);
    worst = report("jmespath-query-lexing", measure(t, qin, 1, runs), base, worst);
    free(t);

    /* Copying: AppendString of a large value to itself. */
    big[0] = att_claim_string("x", strings, as);
    t = policy_of("c:[type==\"x\"]&&[type==\"x\",value==AppendString(c.value,c.value)]=>issue("
                  "type=\"r#\",value=1);");
    worst = report("append-string", measure(t, big, 1, runs), base, worst);
    free(t);

    /* The rule evaluator itself: 4096 added claims scanned by every later condition, and
     * set comparisons. */
    char *ids = json_array_of("1", 4000);
    char *ids_policy_rule = quoted(ids);
    free(rule.p);
    memset(&rule, 0, sizeof(rule));
    put(&rule, "=>add(type=\"s\",value=JsonToClaimValue(%s));", ids_policy_rule);
    struct str scan = {0};
    put(&scan, "version=1.2;authorizationrules{%s=>permit();};issuancerules{", rule.p);
    for (unsigned i = 0; scan.n < 60000; i++) {
        put(&scan,
            "c:[type==\"s\",value==%u]&&d:[type==\"s\",value==%u]=>issue(type=\"r\","
            "value=IsSubsetOf(c.value,d.value));",
            i + 5000, i + 7000);
    }
    put(&scan, "};");
    worst = report("claim-scan", measure(scan.p, NULL, 0, runs), base, worst);
    struct str sets = {0};
    put(&sets, "version=1.2;authorizationrules{%s=>permit();};issuancerules{", rule.p);
    for (unsigned i = 0; sets.n < 60000; i++) {
        put(&sets,
            "c:[type==\"s\"]&&d:[type==\"s\"]=>issue(type=\"r%u\","
            "value=IsSubsetOf(c.value,d.value));",
            i);
    }
    put(&sets, "};");
    worst = report("set-compare", measure(sets.p, NULL, 0, runs), base, worst);

    /* The outside review's second round. */
    t = claim_compare_policy();
    worst = report("claim-compare-long", measure(t, NULL, 0, runs), base, worst);
    free(t);
    char key[4200] = "[*].\\\"";
    for (int i = 0; i < 4088; i++) {
        strcat(key, "K");
    }
    strcat(key, "\\\"");
    t = jmes_over_doc_policy(key, "{}", 3, 200);
    worst = report("jmespath-long-key", measure(t, NULL, 0, runs), base, worst);
    free(t);
    char member[4200] = "[*].{\\\"";
    for (int i = 0; i < 4080; i++) {
        strcat(member, "K");
    }
    strcat(member, "\\\": @}");
    t = jmes_over_doc_policy(member, "1", 5, 1);
    worst = report("jmespath-long-member", measure(t, NULL, 0, runs), base, worst);
    free(t);
    t = string_fn_policy("length(s)");
    worst = report("jmespath-length-string", measure(t, NULL, 0, runs), base, worst);
    free(t);
    t = string_fn_policy("equals_ignore_case(s,s)");
    worst = report("jmespath-equals-ignore-case", measure(t, NULL, 0, runs), base, worst);
    free(t);
    t = decode_small_values_policy("{}", 2);
    worst = report("decode-empty-objects", measure(t, NULL, 0, runs), base, worst);
    free(t);
    t = decode_small_values_policy("[]", 3);
    worst = report("decode-empty-arrays", measure(t, NULL, 0, runs), base, worst);
    free(t);

    printf("worst: %.2f ms (target <= %.0f ms): %s\n", worst, TARGET_MS,
           worst <= TARGET_MS * 1.1 ? "ok" : "OVER");
    free(many_arrays);
    free(many_ints);
    free(objects);
    free(strings);
    free(q.p);
    free(rule.p);
    free(longq.p);
    free(ids);
    free(ids_policy_rule);
    free(scan.p);
    free(sets.p);
    return 0;
}
