/*
 * ast.c - the memory and naming helpers behind the policy tree: the arena that owns
 * a parsed policy (and an evaluation's values), diagnostics, name tables, limits and
 * claim constructors. Trusted input only (our own structures).
 */
#include "policy/policy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================================
 * Arena
 * ====================================================================================== */

struct pol_chunk {
    struct pol_chunk *prev;
    size_t cap;
    size_t used;
};

#define ALIGN ((size_t)16)
#define HDR ((sizeof(struct pol_chunk) + ALIGN - 1) & ~(ALIGN - 1))
#define MIN_CHUNK ((size_t)4096)
#define MAX_GROWTH ((size_t)256 * 1024)

static unsigned char *chunk_data(struct pol_chunk *c)
{
    return (unsigned char *)c + HDR;
}

void pol_arena_init(struct pol_arena *a, size_t max)
{
    a->head = NULL;
    a->total = 0;
    a->max = max;
}

static void free_chunks_until(struct pol_arena *a, const struct pol_chunk *stop)
{
    while (a->head != NULL && a->head != stop) {
        struct pol_chunk *c = a->head;
        a->head = c->prev;
        free(c);
    }
}

void pol_arena_cleanup(struct pol_arena *a)
{
    free_chunks_until(a, NULL);
    a->total = 0;
}

att_err pol_arena_alloc(struct pol_arena *a, size_t n, void **out)
{
    ATT_ENSURE(n <= SIZE_MAX / 2, ATT_ERR_TOO_LARGE);
    size_t need = (n + ALIGN - 1) & ~(ALIGN - 1);
    if (need == 0) {
        need = ALIGN;
    }
    struct pol_chunk *c = a->head;
    if (c == NULL || c->cap - c->used < need) {
        size_t cap = MIN_CHUNK;
        if (c != NULL) {
            cap = c->cap >= MAX_GROWTH / 2 ? MAX_GROWTH : c->cap * 2;
        }
        if (cap < need) {
            cap = need;
        }
        ATT_ENSURE(cap <= a->max && a->total <= a->max - cap, ATT_ERR_TOO_LARGE);
        struct pol_chunk *nc = malloc(HDR + cap);
        ATT_ENSURE(nc != NULL, ATT_ERR_NOMEM);
        nc->prev = a->head;
        nc->cap = cap;
        nc->used = 0;
        a->head = nc;
        a->total += cap;
        c = nc;
    }
    unsigned char *p = chunk_data(c) + c->used;
    c->used += need;
    memset(p, 0, n);
    *out = p;
    return ATT_OK;
}

att_err pol_arena_strdup(struct pol_arena *a, const char *s, size_t n, const char **out)
{
    ATT_ENSURE(n < SIZE_MAX, ATT_ERR_TOO_LARGE);
    void *p;
    ATT_TRY(pol_arena_alloc(a, n + 1, &p));
    if (n > 0) {
        memcpy(p, s, n);
    }
    *out = p;
    return ATT_OK;
}

void pol_arena_mark(const struct pol_arena *a, struct pol_mark *m)
{
    m->chunk = a->head;
    m->used = a->head != NULL ? a->head->used : 0;
    m->total = a->total;
}

void pol_arena_rewind(struct pol_arena *a, const struct pol_mark *m)
{
    free_chunks_until(a, m->chunk);
    if (a->head != NULL) {
        a->head->used = m->used;
    }
    a->total = m->total;
}

att_err pol_vec_push(struct pol_arena *a, void **items, size_t *n, size_t *cap, size_t size,
                     void **slot)
{
    if (*n == *cap) {
        size_t ncap = *cap == 0 ? 4 : *cap * 2;
        ATT_ENSURE(ncap <= SIZE_MAX / size, ATT_ERR_TOO_LARGE);
        void *grown;
        ATT_TRY(pol_arena_alloc(a, ncap * size, &grown));
        if (*n > 0) {
            memcpy(grown, *items, *n * size);
        }
        *items = grown;
        *cap = ncap;
    }
    *slot = (unsigned char *)*items + *n * size;
    (*n)++;
    return ATT_OK;
}

/* ======================================================================================
 * Diagnostics
 * ====================================================================================== */

att_err pol_fail(const struct pol_diag *d, att_err code, size_t line, size_t col, const char *fmt,
                 ...)
{
    if (d != NULL && d->msg != NULL && d->len > 0) {
        int k = snprintf(d->msg, d->len, "%zu:%zu: ", line, col);
        if (k >= 0 && (size_t)k < d->len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(d->msg + k, d->len - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

/* ======================================================================================
 * Names
 * ====================================================================================== */

static const struct {
    const char *name;
    size_t arity;
} funcs[POL_FUNC_COUNT] = {
    [FN_JMESPATH] = {"JmesPath", 2},       [FN_JSON_TO_CLAIM_VALUE] = {"JsonToClaimValue", 1},
    [FN_IS_SUBSET_OF] = {"IsSubsetOf", 2}, [FN_APPEND_STRING] = {"AppendString", 2},
    [FN_NEGATE_BOOL] = {"NegateBool", 1},  [FN_CONTAINS_ONLY_VALUE] = {"ContainsOnlyValue", 2},
};

const char *pol_func_name(enum pol_func f)
{
    return (unsigned)f < POL_FUNC_COUNT ? funcs[f].name : "?";
}

size_t pol_func_arity(enum pol_func f)
{
    return (unsigned)f < POL_FUNC_COUNT ? funcs[f].arity : 0;
}

const char *pol_field_name(enum pol_field f)
{
    switch (f) {
    case PF_TYPE: return "type";
    case PF_VALUE: return "value";
    case PF_ISSUER: return "issuer";
    case PF_VALUE_TYPE: return "valueType";
    default: return "?";
    }
}

const char *pol_op_name(enum pol_op op)
{
    switch (op) {
    case OP_EQ: return "==";
    case OP_NE: return "!=";
    case OP_LT: return "<";
    case OP_LE: return "<=";
    case OP_GT: return ">";
    case OP_GE: return ">=";
    default: return "?";
    }
}

const char *pol_action_name(enum pol_action_kind k)
{
    switch (k) {
    case PA_PERMIT: return "permit";
    case PA_DENY: return "deny";
    case PA_ADD: return "add";
    case PA_ISSUE: return "issue";
    case PA_ISSUEPROPERTY: return "issueproperty";
    default: return "?";
    }
}

const char *att_claim_value_type_name(enum att_claim_value_type t)
{
    switch (t) {
    case ATT_CLAIM_STRING: return "String";
    case ATT_CLAIM_INTEGER: return "Integer";
    case ATT_CLAIM_BOOLEAN: return "Boolean";
    default: return "?";
    }
}

const char *att_claim_issuer_name(enum att_claim_issuer i)
{
    switch (i) {
    case ATT_ISSUER_ATTESTATION_SERVICE: return "AttestationService";
    case ATT_ISSUER_CUSTOM_CLAIM: return "CustomClaim";
    case ATT_ISSUER_ATTESTATION_POLICY: return "AttestationPolicy";
    default: return "?";
    }
}

/* ======================================================================================
 * Limits, claims, policy accessors
 * ====================================================================================== */

void att_policy_limits_init(struct att_policy_limits *lim)
{
    lim->max_text = ATT_POLICY_DEFAULT_MAX_TEXT;
    lim->max_rules = ATT_POLICY_DEFAULT_MAX_RULES;
    lim->max_conditions = ATT_POLICY_DEFAULT_MAX_CONDITIONS;
    lim->max_props = ATT_POLICY_DEFAULT_MAX_PROPS;
    lim->max_depth = ATT_POLICY_DEFAULT_MAX_DEPTH;
    lim->max_string = ATT_POLICY_DEFAULT_MAX_STRING;
    lim->max_ident = ATT_POLICY_DEFAULT_MAX_IDENT;
    lim->max_steps = ATT_POLICY_DEFAULT_MAX_STEPS;
    lim->max_claims = ATT_POLICY_DEFAULT_MAX_CLAIMS;
    lim->max_value = ATT_POLICY_DEFAULT_MAX_VALUE;
    lim->max_memory = ATT_POLICY_DEFAULT_MAX_MEMORY;
}

static struct att_claim claim_base(const char *type, enum att_claim_issuer issuer)
{
    struct att_claim c;
    memset(&c, 0, sizeof(c));
    c.type = type;
    c.type_len = type != NULL ? strlen(type) : 0;
    c.issuer = issuer;
    return c;
}

struct att_claim att_claim_string(const char *type, const char *value, enum att_claim_issuer issuer)
{
    struct att_claim c = claim_base(type, issuer);
    c.value_type = ATT_CLAIM_STRING;
    c.str = value;
    c.str_len = value != NULL ? strlen(value) : 0;
    return c;
}

struct att_claim att_claim_stringn(const char *type, const char *value, size_t len,
                                   enum att_claim_issuer issuer)
{
    struct att_claim c = claim_base(type, issuer);
    c.value_type = ATT_CLAIM_STRING;
    c.str = value;
    c.str_len = len;
    return c;
}

struct att_claim att_claim_integer(const char *type, int64_t value, enum att_claim_issuer issuer)
{
    struct att_claim c = claim_base(type, issuer);
    c.value_type = ATT_CLAIM_INTEGER;
    c.integer = value;
    return c;
}

struct att_claim att_claim_boolean(const char *type, bool value, enum att_claim_issuer issuer)
{
    struct att_claim c = claim_base(type, issuer);
    c.value_type = ATT_CLAIM_BOOLEAN;
    c.boolean = value;
    return c;
}

void att_policy_free(struct att_policy *p)
{
    if (p == NULL) {
        return;
    }
    for (struct pol_expr *e = p->queries; e != NULL; e = e->next_query) {
        att_jmespath_query_free(e->query);
    }
    pol_arena_cleanup(&p->arena);
    free(p);
}

void att_policy_version(const struct att_policy *p, unsigned *major, unsigned *minor)
{
    *major = p->major;
    *minor = p->minor;
}

size_t att_policy_rule_count(const struct att_policy *p)
{
    size_t n = 0;
    for (size_t i = 0; i < POL_SECTION_COUNT; i++) {
        n += p->sections[i].nrules;
    }
    return n;
}
