/*
 * eval_int.h - private to the policy evaluator: eval.c (conditions, expressions, actions, rules)
 * and eval_func.c (the six functions of policy version 1.2 and the caches they share). The
 * values, the evaluation state, the step rates and the helpers both use.
 */
#ifndef ATT_POLICY_EVAL_INT_H
#define ATT_POLICY_EVAL_INT_H

#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "policy/budget.h"
#include "policy/claim_index.h"
#include "policy/jmespath.h"
#include "policy/policy_int.h"

/*
 * Steps per KiB of text, by what is done with it. A step is calibrated to cost at most about
 * as much CPU time as the dearest plain step (bench/bench_policy_budget.c measures each kind
 * of work to exhaustion): copying or comparing bytes is cheap, decoding JSON with jansson
 * (an allocation per value) and lexing a query are dear.
 */
#define STEPS_PER_KIB_COPY 64
#define STEPS_PER_KIB_QUERY 3072
#define STEPS_PER_KIB_JSON_WRITE 1024
/* JsonToClaimValue: an array element becomes a set element (a decoded value and a copy). */
#define STEPS_PER_SET_ELEMENT 4
/*
 * Decoding JSON with jansson costs per byte and, far more, per value it makes (an allocation
 * each; an array a table, an object a hash table): measured, 11-16 ns a byte of strings, about
 * 200 ns an integer, 500 ns an array, 100-1400 ns an object. So the text is charged a step a
 * byte plus steps per structural character (json_decode_cost), not by size alone: text dense
 * in small values ([[],[],...]) costs what it costs.
 */
#define STEPS_PER_JSON_ARRAY 50
#define STEPS_PER_JSON_OBJECT 100
#define STEPS_PER_JSON_SEPARATOR 16 /* ',' and ':': one more value, or one more member */

/* Decoded JSON documents one evaluation keeps, so the JmesPath calls of a measured-boot
 * policy decode their event log once, not once per call. */
#define DOC_CACHE_SLOTS 4
/* Compiled JmesPath queries kept by one evaluation (a policy repeats its queries for every claim
 * a rule matches); past this many, the oldest is replaced. */
#define QUERY_CACHE_SLOTS 64

/* ======================================================================================
 * Values and evaluation state
 * ====================================================================================== */

enum vkind {
    V_EMPTY, /* JsonToClaimValue(null): adding or issuing it is a no-op */
    V_STRING,
    V_INTEGER,
    V_BOOLEAN,
    V_SET, /* scalar elements only */
};

struct val {
    enum vkind kind;
    bool read_only;
    const char *s; /* V_STRING */
    size_t len;
    int64_t i;         /* V_INTEGER */
    bool b;            /* V_BOOLEAN */
    struct val *elems; /* V_SET */
    size_t n;
    json_t *doc; /* V_STRING of JSON text: its decoded tree, when a claim brought one */
};

enum ctx {
    CTX_SCALAR,
    CTX_SET, /* IDENT.prop means the property of every claim the condition matches */
};

#define NONE SIZE_MAX

struct frame {
    size_t first;    /* index of the first matching claim, NONE if none */
    struct val *rhs; /* evaluated right-hand sides, one per property condition */
};

struct claim_vec {
    struct att_claim *items;
    size_t n;
    size_t cap;
};

struct att_policy_mem {
    struct pol_arena keep; /* strings of every rule-made claim */
};

/* A decoded JmesPath document and a copy of the text it came from (the key). */
struct doc_slot {
    char *text;
    size_t len;
    json_t *doc;
};

struct ev {
    const struct att_policy *pol;
    const struct att_policy_limits *lim;
    const struct pol_diag *diag;
    const struct att_claim *in;
    size_t n_in;
    struct claim_vec added; /* rule-made incoming claims, in order */
    struct claim_vec out;
    struct claim_vec props;
    struct att_policy_mem *mem;
    struct pol_arena scratch; /* values of one rule; rewound after each rule */
    struct frame *frame;
    size_t visible; /* claims the current rule sees (fixed while it runs) */
    const struct pol_rule *rule;
    struct att_budget budget;
    bool permit;
    bool deny;
    struct pol_pos deny_pos;
    struct att_jmespath_limits jl;
    struct doc_slot docs[DOC_CACHE_SLOTS];
    size_t next_doc; /* the slot the next miss replaces */
    struct att_jmespath_query *queries[QUERY_CACHE_SLOTS];
    size_t next_query;
    json_t **trees; /* JmesPath results as trees, kept for the values made of them */
    size_t n_trees;
    size_t cap_trees;
    char **in_text; /* n_in texts of incoming claims that came as trees only (claim_text) */
    struct pol_claim_index index; /* every claim by type (eval_condition) */
};

/* ---- eval.c ---------------------------------------------------------------------------- */

/* A failure `code` at `at` in the caller's diagnostic. */
att_err pol_ev_fail(const struct ev *ev, att_err code, struct pol_pos at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
att_err pol_ev_budget_spent(const struct ev *ev, struct pol_pos at);
uint64_t pol_ev_json_decode_cost(const char *text, size_t len);
att_err pol_ev_scratch_alloc(struct ev *ev, size_t n, struct pol_pos at, void **out);
att_err pol_ev_scratch_vals(struct ev *ev, size_t n, struct pol_pos at, struct val **out);
const char *pol_ev_kind_name(enum vkind k);

static inline const struct att_claim *claim_at(const struct ev *ev, size_t i)
{
    return i < ev->n_in ? &ev->in[i] : &ev->added.items[i - ev->n_in];
}

static inline att_err step(struct ev *ev, uint64_t n, struct pol_pos at)
{
    return att_budget_take(&ev->budget, n) ? ATT_OK : pol_ev_budget_spent(ev, at);
}

/* Work on `bytes` of text at `per_kib` steps per KiB (at least one step). */
static inline att_err step_text(struct ev *ev, size_t bytes, uint64_t per_kib, struct pol_pos at)
{
    return step(ev, 1 + (uint64_t)bytes / 1024 * per_kib + (uint64_t)bytes % 1024 * per_kib / 1024,
                at);
}

static inline att_err step_bytes(struct ev *ev, size_t bytes, struct pol_pos at)
{
    return step_text(ev, bytes, STEPS_PER_KIB_COPY, at);
}

static inline struct val string_val(const char *s, size_t len)
{
    struct val v;
    memset(&v, 0, sizeof(v));
    v.kind = V_STRING;
    v.s = s;
    v.len = len;
    return v;
}

/* Steps of comparing `a` and `b` beyond the one of the comparison itself: strings of equal
 * length are compared byte by byte (of unequal length, not at all). */
static inline uint64_t compare_cost(const struct val *a, const struct val *b)
{
    bool strings = a->kind == V_STRING && b->kind == V_STRING && a->len == b->len;
    return strings ? (uint64_t)a->len * STEPS_PER_KIB_COPY / 1024 : 0;
}

static inline bool scalar_equal(const struct val *a, const struct val *b)
{
    if (a->kind != b->kind) {
        return false;
    }
    switch (a->kind) {
    case V_STRING: return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
    case V_INTEGER: return a->i == b->i;
    case V_BOOLEAN: return a->b == b->b;
    default: return false;
    }
}

/* A value seen as a set: a set is itself, a scalar a one-element set, empty is {}. */
static inline void as_set(const struct val *v, const struct val **elems, size_t *n)
{
    if (v->kind == V_SET) {
        *elems = v->elems;
        *n = v->n;
    } else if (v->kind == V_EMPTY) {
        *elems = NULL;
        *n = 0;
    } else {
        *elems = v;
        *n = 1;
    }
}

/* ---- eval_func.c ----------------------------------------------------------------------- */

/* Call function e->func on its evaluated arguments `a`. With `defer` (JmesPath, for add()), the
 * result is its tree alone: a String of s NULL, len the length its text would have, doc the tree
 * (eval.c keeps it as a tree-only claim and writes the text if a rule needs it). */
att_err pol_ev_call_function(struct ev *ev, const struct pol_expr *e, const struct val *a,
                             bool defer, struct val *out);
/* Release what the functions kept: decoded documents, compiled queries, result trees. */
void pol_ev_caches_free(struct ev *ev);

#endif
