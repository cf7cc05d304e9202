/*
 * eval.c - policy evaluation: (parsed policy, incoming claims, limits) -> decision,
 * outgoing claims, properties. A pure function: no I/O, no clock, no global state.
 *
 * Inputs: the tree from parser.c (trusted: built by us, but shaped by untrusted text)
 * and the incoming claims (built by the caller from verified evidence and from the
 * client's request: their values are untrusted, e.g. the TPM event log JSON).
 *
 * Semantics (docs/reference/maa-policy.md §3.3, docs/internals/policy.md):
 *   - sections run configurationrules -> authorizationrules -> issuancerules, rules
 *     top to bottom; issuance runs only when authorized;
 *   - a condition holds when at least one claim of the incoming set satisfies all of
 *     its property conditions; IDENT binds the first such claim (set-valued function
 *     arguments see all of them); `!cond` holds when none does;
 *   - authorized = at least one permit() fired and no deny() fired; the first deny()
 *     ends the authorization section;
 *   - add -> incoming; issue -> incoming + outgoing; issueproperty -> incoming +
 *     properties; rule-made claims have issuer AttestationPolicy.
 *
 * Every evaluation is bounded by one step budget that everything it does draws from: one
 * step per rule run, per claim a condition examines, per expression evaluated, per set
 * element compared; text by its size (copied, decoded as JSON, read as a JMESPath query,
 * written as a JMESPath result, at the rates below); and every step JMESPath takes. Also
 * by caps on added claims, on value size and on memory. docs/internals/policy.md, "Budget".
 */
#include "policy/eval_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/rd.h"

att_err pol_ev_fail(const struct ev *ev, att_err code, struct pol_pos at, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return pol_fail(ev->diag, code, at.line, at.col, "%s", detail);
}

att_err pol_ev_budget_spent(const struct ev *ev, struct pol_pos at)
{
    return pol_ev_fail(ev, ATT_ERR_POLICY_BUDGET, at, "step budget of %llu exhausted",
                       (unsigned long long)ev->lim->max_steps);
}

/*
 * What decoding `len` bytes of JSON text costs (see STEPS_PER_JSON_*). Structural characters
 * inside strings are counted too: an overestimate, never an underestimate.
 */
uint64_t pol_ev_json_decode_cost(const char *text, size_t len)
{
    struct att_rd r;
    uint8_t c;
    uint64_t cost = 1 + (uint64_t)len;
    att_rd_init(&r, text, len);
    while (att_rd_u8(&r, &c) == ATT_OK) {
        switch (c) {
        case '[': cost += STEPS_PER_JSON_ARRAY; break;
        case '{': cost += STEPS_PER_JSON_OBJECT; break;
        case ',':
        case ':': cost += STEPS_PER_JSON_SEPARATOR; break;
        default: break;
        }
    }
    return cost;
}

att_err pol_ev_scratch_alloc(struct ev *ev, size_t n, struct pol_pos at, void **out)
{
    att_err rc = pol_arena_alloc(&ev->scratch, n, out);
    if (rc == ATT_ERR_TOO_LARGE) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_CLAIM_LIMIT, at, "evaluation memory over %zu bytes",
                           ev->lim->max_memory);
    }
    return rc;
}

att_err pol_ev_scratch_vals(struct ev *ev, size_t n, struct pol_pos at, struct val **out)
{
    ATT_ENSURE(n <= SIZE_MAX / sizeof(struct val), ATT_ERR_INTERNAL);
    void *p;
    ATT_TRY(pol_ev_scratch_alloc(ev, n * sizeof(struct val), at, &p));
    *out = p;
    return ATT_OK;
}

const char *pol_ev_kind_name(enum vkind k)
{
    switch (k) {
    case V_EMPTY: return "an empty value (JSON null)";
    case V_STRING: return "a String";
    case V_INTEGER: return "an Integer";
    case V_BOOLEAN: return "a Boolean";
    case V_SET: return "a Set";
    default: return "?";
    }
}

/* A claim that came as a tree only (att_claim.json without its text). */
static bool claim_is_tree(const struct att_claim *c)
{
    return c->value_type == ATT_CLAIM_STRING && c->str == NULL && c->json != NULL;
}

static att_err keep_copy(struct ev *ev, const char *s, size_t n, struct pol_pos at,
                         const char **out);

/* Whether `c` is element i of `items` (n of them): by address, as integers. */
static bool claim_in(const struct att_claim *c, const struct att_claim *items, size_t n, size_t *i)
{
    uintptr_t addr = (uintptr_t)c;
    uintptr_t first = (uintptr_t)items;
    if (n == 0 || addr < first || addr >= (uintptr_t)(items + n) ||
        (addr - first) % sizeof(*c) != 0) {
        return false;
    }
    *i = (addr - first) / sizeof(*c);
    return true;
}

/*
 * The text of tree-only claim `c`, written the first time a rule needs it and kept for the
 * evaluation; JmesPath(c.value, q) never needs it (eval_call). An incoming claim's is written
 * compact, as its caller would have (steps as for writing JSON); a JmesPath result add() kept as
 * its tree gets the text JmesPath writes (its steps were taken when it was made).
 */
static att_err claim_text(struct ev *ev, const struct att_claim *c, struct pol_pos at,
                          const char **s, size_t *len)
{
    size_t i = 0;
    if (claim_in(c, ev->added.items, ev->added.n, &i)) {
        /* a JmesPath result add() kept as its tree (charged when it was made): its text now,
         * kept in the claim itself */
        struct att_buf text;
        struct att_claim *made = &ev->added.items[i];
        att_buf_init(&text, ev->lim->max_value);
        att_err rc = att_jmespath_write(made->json, &text);
        if (rc == ATT_OK) {
            rc = keep_copy(ev, att_buf_cstr(&text), text.len, at, &made->str);
        }
        made->str_len = rc == ATT_OK ? text.len : 0;
        att_buf_cleanup(&text);
        ATT_TRY(rc);
        *s = made->str;
        *len = made->str_len;
        return ATT_OK;
    }
    ATT_ENSURE(claim_in(c, ev->in, ev->n_in, &i), ATT_ERR_INTERNAL);
    if (ev->in_text == NULL) {
        ev->in_text = calloc(ev->n_in, sizeof(*ev->in_text));
        ATT_ENSURE(ev->in_text != NULL, ATT_ERR_NOMEM);
    }
    if (ev->in_text[i] == NULL) {
        ev->in_text[i] = json_dumps(c->json, JSON_COMPACT | JSON_ENCODE_ANY);
        ATT_ENSURE(ev->in_text[i] != NULL, ATT_ERR_NOMEM);
        ATT_TRY(step_text(ev, strlen(ev->in_text[i]), STEPS_PER_KIB_JSON_WRITE, at));
    }
    *s = ev->in_text[i];
    *len = strlen(*s);
    return ATT_OK;
}

/* Field `f` of claim `c` as a value (a tree-only claim's text written first: claim_text). */
static att_err claim_field(struct ev *ev, const struct att_claim *c, enum pol_field f,
                           struct pol_pos at, struct val *out)
{
    const char *name;
    switch (f) {
    case PF_TYPE:
        *out = string_val(c->type, c->type_len);
        out->read_only = c->type_read_only;
        return ATT_OK;
    case PF_ISSUER:
        name = att_claim_issuer_name(c->issuer);
        *out = string_val(name, strlen(name));
        return ATT_OK;
    case PF_VALUE_TYPE:
        name = att_claim_value_type_name(c->value_type);
        *out = string_val(name, strlen(name));
        return ATT_OK;
    case PF_VALUE:
    default: break;
    }
    struct val v;
    memset(&v, 0, sizeof(v));
    v.read_only = c->read_only;
    v.doc = c->value_type == ATT_CLAIM_STRING ? c->json : NULL;
    switch (c->value_type) {
    case ATT_CLAIM_INTEGER:
        v.kind = V_INTEGER;
        v.i = c->integer;
        break;
    case ATT_CLAIM_BOOLEAN:
        v.kind = V_BOOLEAN;
        v.b = c->boolean;
        break;
    case ATT_CLAIM_STRING:
    default:
        v.kind = V_STRING;
        v.s = c->str != NULL ? c->str : "";
        v.len = c->str_len;
        if (claim_is_tree(c)) {
            ATT_TRY(claim_text(ev, c, at, &v.s, &v.len));
        }
        break;
    }
    *out = v;
    return ATT_OK;
}

/*
 * Claim-rule grammar: "Integer: == != <= < >= >; String: == !=; Boolean: == !=".
 * A value of another kind than the right-hand side (or an empty or set right-hand
 * side) does not satisfy the property, whatever the operator, including != (a claim
 * of the wrong kind is not evidence of anything). Ordering operators on strings or
 * Booleans are refused by the parser when the right-hand side is a literal; with a
 * computed right-hand side they do not match.
 */
static bool compare(const struct val *lhs, enum pol_op op, const struct val *rhs)
{
    if (rhs->kind == V_EMPTY || rhs->kind == V_SET || lhs->kind != rhs->kind) {
        return false;
    }
    if (lhs->kind == V_INTEGER) {
        switch (op) {
        case OP_EQ: return lhs->i == rhs->i;
        case OP_NE: return lhs->i != rhs->i;
        case OP_LT: return lhs->i < rhs->i;
        case OP_LE: return lhs->i <= rhs->i;
        case OP_GT: return lhs->i > rhs->i;
        case OP_GE: return lhs->i >= rhs->i;
        default: return false;
        }
    }
    switch (op) {
    case OP_EQ: return scalar_equal(lhs, rhs);
    case OP_NE: return !scalar_equal(lhs, rhs);
    default: return false;
    }
}

/*
 * Does claim `c` satisfy every property condition of `cond`? One step, and the bytes of the
 * strings it compares: a condition may compare long values (a claim a rule built) with each
 * claim it examines.
 */
static att_err claim_matches_from(struct ev *ev, const struct att_claim *c,
                                  const struct pol_cond *cond, const struct val *rhs, size_t first,
                                  uint64_t cost, bool *match)
{
    *match = true;
    for (size_t k = first; k < cond->nprops && *match; k++) {
        struct val lhs;
        ATT_TRY(claim_field(ev, c, cond->props[k].field, cond->pos, &lhs));
        cost += compare_cost(&lhs, &rhs[k]);
        *match = compare(&lhs, cond->props[k].op, &rhs[k]);
    }
    return step(ev, cost, cond->pos);
}

static att_err claim_matches(struct ev *ev, const struct att_claim *c, const struct pol_cond *cond,
                             const struct val *rhs, bool *match)
{
    return claim_matches_from(ev, c, cond, rhs, 0, 1, match);
}

/*
 * The first visible claim from number `from` on that matches `cond` (NONE: none), taking the
 * steps of examining each claim up to it in order. A condition whose first property is
 * type == "literal" examines only the claims of that type (claim_index.h) and is charged for
 * the others what examining them would have cost: one step each, and the comparison for those
 * whose type is as long as the literal (compare_cost). The index makes the scan faster, not
 * cheaper: a policy's cost stays a property of the policy and the claims
 * (docs/internals/policy.md, "Budget").
 */
static att_err next_match(struct ev *ev, const struct pol_cond *cond, const struct val *rhs,
                          size_t from, size_t *found)
{
    bool match = false;
    *found = NONE;
    if (cond->nprops == 0 || cond->props[0].field != PF_TYPE || cond->props[0].op != OP_EQ ||
        rhs[0].kind != V_STRING) {
        for (size_t j = from; j < ev->visible && !match; j++) {
            ATT_TRY(claim_matches(ev, claim_at(ev, j), cond, rhs, &match));
            *found = match ? j : NONE;
        }
        return ATT_OK;
    }
    size_t n = 0;
    /* the literal's hash, computed with the policy; a computed type's, now */
    uint64_t h = cond->props[0].rhs->kind == PE_STRING ? cond->props[0].type_hash
                                                       : pol_claim_index_hash(rhs[0].s, rhs[0].len);
    const size_t *of_type = pol_claim_index_of_type(&ev->index, rhs[0].s, rhs[0].len, h, &n);
    size_t i = 0;
    while (i < n && of_type[i] < from) {
        i++;
    }
    size_t examined = 0;
    size_t end = ev->visible; /* where the scan in order would have stopped */
    for (; i < n && of_type[i] < ev->visible && !match; i++) {
        /* its type is the literal (the index says so): the rest of the properties, at the
         * steps of all (one, and the comparison of the type) */
        ATT_TRY(claim_matches_from(ev, claim_at(ev, of_type[i]), cond, rhs, 1,
                                   1 + (uint64_t)rhs[0].len * STEPS_PER_KIB_COPY / 1024, &match));
        examined++;
        if (match) {
            *found = of_type[i];
            end = of_type[i] + 1;
        }
    }
    if (end <= from) {
        return ATT_OK;
    }
    uint64_t others = end - from - examined;
    uint64_t per_compare = (uint64_t)rhs[0].len * STEPS_PER_KIB_COPY / 1024;
    uint64_t as_long = 0; /* counted only when comparing costs a step (a literal of 16 bytes) */
    if (per_compare > 0) {
        as_long = pol_claim_index_count_length(&ev->index, rhs[0].len, end) -
                  pol_claim_index_count_length(&ev->index, rhs[0].len, from) - examined;
    }
    return step(ev, others + as_long * per_compare, cond->pos);
}

/* ======================================================================================
 * Expressions
 * ====================================================================================== */

static att_err eval_expr(struct ev *ev, const struct pol_expr *e, enum ctx ctx, struct val *out);

/* IDENT.prop over every claim the binding condition matches (set context). */
static att_err field_set(struct ev *ev, const struct pol_expr *e, struct val *out)
{
    const struct pol_cond *cond = &ev->rule->conds[e->binding];
    const struct frame *fr = &ev->frame[e->binding];
    size_t n = 0;
    size_t j = NONE;
    ATT_TRY(next_match(ev, cond, fr->rhs, fr->first, &j));
    while (j != NONE) {
        n++;
        ATT_TRY(next_match(ev, cond, fr->rhs, j + 1, &j));
    }
    struct val *elems;
    ATT_TRY(pol_ev_scratch_vals(ev, n, e->pos, &elems));
    size_t k = 0;
    if (n > 0) {
        ATT_TRY(next_match(ev, cond, fr->rhs, fr->first, &j));
    }
    while (k < n && j != NONE) { /* the scan ends with the last match */
        ATT_TRY(claim_field(ev, claim_at(ev, j), e->field, e->pos, &elems[k++]));
        if (k < n) {
            ATT_TRY(next_match(ev, cond, fr->rhs, j + 1, &j));
        }
    }
    memset(out, 0, sizeof(*out));
    out->kind = V_SET;
    out->elems = elems;
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        out->read_only = out->read_only || elems[i].read_only;
    }
    return ATT_OK;
}

/*
 * JmesPath(c.value, query) on a claim that came as a tree only: the tree, without the text
 * (a value of no text: fn_jmespath and jmes_doc use `doc`). False for any other argument.
 */
static bool tree_argument(const struct ev *ev, const struct pol_expr *arg, struct val *out)
{
    if (arg->kind != PE_FIELD || arg->field != PF_VALUE || ev->frame[arg->binding].first == NONE) {
        return false;
    }
    const struct att_claim *c = claim_at(ev, ev->frame[arg->binding].first);
    if (!claim_is_tree(c)) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    out->kind = V_STRING;
    out->read_only = c->read_only;
    out->doc = c->json;
    return true;
}

static att_err eval_call(struct ev *ev, const struct pol_expr *e, bool defer, struct val *out)
{
    /* Arguments "are evaluated from left to right before the evaluation of the function
     * begins". IsSubsetOf and ContainsOnlyValue (first argument) take sets. */
    struct val a[POL_MAX_ARGS];
    memset(a, 0, sizeof(a));
    for (size_t i = 0; i < e->nargs && i < POL_MAX_ARGS; i++) {
        enum ctx c = e->func == FN_IS_SUBSET_OF || (e->func == FN_CONTAINS_ONLY_VALUE && i == 0)
                         ? CTX_SET
                         : CTX_SCALAR;
        if (e->func == FN_JMESPATH && i == 0 && tree_argument(ev, e->args[0], &a[0])) {
            ATT_TRY(step(ev, 1, e->args[0]->pos));
            continue;
        }
        ATT_TRY(eval_expr(ev, e->args[i], c, &a[i]));
    }
    for (size_t i = 0; i < e->nargs && i < POL_MAX_ARGS; i++) {
        if (a[i].kind == V_SET && e->func != FN_IS_SUBSET_OF &&
            !(e->func == FN_CONTAINS_ONLY_VALUE && i == 0)) {
            return pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, e->pos,
                               "%s: argument %zu must not be a Set", pol_func_name(e->func), i + 1);
        }
    }
    return pol_ev_call_function(ev, e, a, defer, out);
}

static att_err eval_expr(struct ev *ev, const struct pol_expr *e, enum ctx ctx, struct val *out)
{
    ATT_TRY(step(ev, 1, e->pos));
    memset(out, 0, sizeof(*out));
    switch (e->kind) {
    case PE_STRING: *out = string_val(e->str, e->str_len); return ATT_OK;
    case PE_INTEGER:
        out->kind = V_INTEGER;
        out->i = e->integer;
        return ATT_OK;
    case PE_BOOLEAN:
        out->kind = V_BOOLEAN;
        out->b = e->boolean;
        return ATT_OK;
    case PE_FIELD:
        /* The parser allows only identifiers of earlier, non-negated conditions, and a
         * rule's expressions run only once those conditions matched. */
        ATT_ENSURE(ev->frame[e->binding].first != NONE, ATT_ERR_INTERNAL);
        if (ctx == CTX_SET) {
            return field_set(ev, e, out);
        }
        return claim_field(ev, claim_at(ev, ev->frame[e->binding].first), e->field, e->pos, out);
    case PE_CALL: return eval_call(ev, e, false, out);
    default: return ATT_ERR_INTERNAL;
    }
}

/* ======================================================================================
 * Conditions
 * ====================================================================================== */

static att_err eval_condition(struct ev *ev, size_t k, bool *holds)
{
    const struct pol_cond *cond = &ev->rule->conds[k];
    struct frame *fr = &ev->frame[k];
    fr->first = NONE;
    ATT_TRY(pol_ev_scratch_vals(ev, cond->nprops, cond->pos, &fr->rhs));
    /* The right-hand sides depend only on earlier bindings: evaluate them once. */
    for (size_t p = 0; p < cond->nprops; p++) {
        ATT_TRY(eval_expr(ev, cond->props[p].rhs, CTX_SCALAR, &fr->rhs[p]));
    }
    ATT_TRY(next_match(ev, cond, fr->rhs, 0, &fr->first));
    if (cond->negated) {
        *holds = fr->first == NONE;
        fr->first = NONE; /* a negated condition binds nothing */
    } else {
        *holds = fr->first != NONE;
    }
    return ATT_OK;
}

/* ======================================================================================
 * Actions
 * ====================================================================================== */

static att_err vec_push(struct ev *ev, struct claim_vec *v, const struct att_claim *c,
                        struct pol_pos at)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap == 0 ? 16 : v->cap * 2;
        if (ncap > ev->lim->max_claims) {
            ncap = ev->lim->max_claims;
        }
        if (ncap <= v->n) {
            return pol_ev_fail(ev, ATT_ERR_POLICY_CLAIM_LIMIT, at, "more than %zu claims added",
                               ev->lim->max_claims);
        }
        struct att_claim *grown = realloc(v->items, ncap * sizeof(*grown));
        ATT_ENSURE(grown != NULL, ATT_ERR_NOMEM);
        v->items = grown;
        v->cap = ncap;
    }
    v->items[v->n++] = *c;
    return ATT_OK;
}

/* A claim string of `n` bytes: within the cap, and its copy charged (beyond the action's step). */
static att_err keep_check(struct ev *ev, size_t n, struct pol_pos at)
{
    if (n > ev->lim->max_value) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_CLAIM_LIMIT, at, "a claim string over %zu bytes",
                           ev->lim->max_value);
    }
    return step(ev, (uint64_t)n * STEPS_PER_KIB_COPY / 1024, at);
}

/* A copy of `n` bytes that lives as long as the evaluation's result. */
static att_err keep_copy(struct ev *ev, const char *s, size_t n, struct pol_pos at,
                         const char **out)
{
    att_err rc = pol_arena_strdup(&ev->mem->keep, n > 0 ? s : "", n, out);
    if (rc == ATT_ERR_TOO_LARGE) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_CLAIM_LIMIT, at, "evaluation memory over %zu bytes",
                           ev->lim->max_memory);
    }
    return rc;
}

static att_err keep_str(struct ev *ev, const char *s, size_t n, struct pol_pos at, const char **out)
{
    ATT_TRY(keep_check(ev, n, at)); /* copied, into memory that grows */
    return keep_copy(ev, s, n, at, out);
}

/* Add one rule-made claim to the incoming set and, by action, to outgoing or properties. */
static att_err add_claim(struct ev *ev, const struct pol_action *a, const struct val *type,
                         const struct val *v)
{
    if (ev->added.n >= ev->lim->max_claims) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_CLAIM_LIMIT, a->pos, "more than %zu claims added",
                           ev->lim->max_claims);
    }
    struct att_claim c;
    memset(&c, 0, sizeof(c));
    ATT_TRY(keep_str(ev, type->s, type->len, a->pos, &c.type));
    c.type_len = type->len;
    c.issuer = ATT_ISSUER_ATTESTATION_POLICY;
    c.read_only = v->read_only;
    c.type_read_only = type->read_only;
    c.json = v->doc; /* a tree from an incoming claim lives as long as the evaluation */
    switch (v->kind) {
    case V_STRING:
        c.value_type = ATT_CLAIM_STRING;
        if (v->s == NULL && v->doc != NULL) { /* a deferred JmesPath result: the tree alone */
            ATT_TRY(keep_check(ev, v->len, a->pos));
            break;
        }
        ATT_TRY(keep_str(ev, v->s, v->len, a->pos, &c.str));
        c.str_len = v->len;
        break;
    case V_INTEGER:
        c.value_type = ATT_CLAIM_INTEGER;
        c.integer = v->i;
        break;
    case V_BOOLEAN:
        c.value_type = ATT_CLAIM_BOOLEAN;
        c.boolean = v->b;
        break;
    default: return ATT_ERR_INTERNAL;
    }
    ATT_TRY(vec_push(ev, &ev->added, &c, a->pos));
    ATT_TRY(pol_claim_index_add(&ev->index, c.type, c.type_len, ev->n_in + ev->added.n - 1));
    c.read_only = false;
    c.type_read_only = false;
    if (a->kind == PA_ISSUE) {
        ATT_TRY(vec_push(ev, &ev->out, &c, a->pos));
    } else if (a->kind == PA_ISSUEPROPERTY) {
        ATT_TRY(vec_push(ev, &ev->props, &c, a->pos));
    }
    return ATT_OK;
}

static enum vkind kind_of(enum att_claim_value_type t)
{
    switch (t) {
    case ATT_CLAIM_INTEGER: return V_INTEGER;
    case ATT_CLAIM_BOOLEAN: return V_BOOLEAN;
    case ATT_CLAIM_STRING:
    default: return V_STRING;
    }
}

static att_err exec_claim_action(struct ev *ev, const struct pol_action *a)
{
    struct val type;
    struct val value;
    if (a->by_claim) {
        /* claim=IDENT re-creates the bound claim (type, value, valueType) as a
         * rule-made claim: issuer AttestationPolicy (docs/reference/maa-policy.md §3.3). */
        const struct att_claim *c = claim_at(ev, ev->frame[a->claim_binding].first);
        ATT_TRY(claim_field(ev, c, PF_TYPE, a->pos, &type));
        ATT_TRY(claim_field(ev, c, PF_VALUE, a->pos, &value));
    } else if (a->kind == PA_ADD && a->value->kind == PE_CALL && a->value->func == FN_JMESPATH) {
        /* add(value=JmesPath(...)): the result is kept as its tree, its text written only if a
         * rule uses it otherwise than as JmesPath's document (claim_text); steps as eval_expr */
        ATT_TRY(eval_expr(ev, a->type, CTX_SCALAR, &type));
        ATT_TRY(step(ev, 1, a->value->pos));
        memset(&value, 0, sizeof(value));
        ATT_TRY(eval_call(ev, a->value, true, &value));
    } else {
        ATT_TRY(eval_expr(ev, a->type, CTX_SCALAR, &type));
        ATT_TRY(eval_expr(ev, a->value, CTX_SCALAR, &value));
    }
    if (type.kind != V_STRING || type.len == 0) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, a->type != NULL ? a->type->pos : a->pos,
                           "a claim type must be a non-empty String, found %s",
                           type.kind == V_STRING ? "an empty String" : pol_ev_kind_name(type.kind));
    }
    if (a->kind == PA_ISSUE && !a->type_unreserved && att_policy_claim_reserved(type.s, type.len)) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_RESERVED_CLAIM,
                           a->type != NULL ? a->type->pos : a->pos,
                           "issue(): '%.*s' is a claim only the service sets",
                           pol_quote_len(type.s, type.len), type.s);
    }
    if (type.read_only && a->kind != PA_ADD) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, a->type != NULL ? a->type->pos : a->pos,
                           "%s(): the type comes from a read-only claim and cannot be issued",
                           pol_action_name(a->kind));
    }
    const struct val *elems;
    size_t n;
    as_set(&value, &elems, &n); /* empty (JSON null) and {} add nothing */
    for (size_t i = 0; i < n; i++) {
        if (a->has_value_type && elems[i].kind != kind_of(a->value_type)) {
            return pol_ev_fail(
                ev, ATT_ERR_POLICY_EVAL, a->pos, "value is %s but valueType is \"%s\"",
                pol_ev_kind_name(elems[i].kind), att_claim_value_type_name(a->value_type));
        }
        if (elems[i].read_only && a->kind != PA_ADD) {
            return pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, a->pos,
                               "%s(): the value comes from a read-only claim and cannot be issued",
                               pol_action_name(a->kind));
        }
    }
    for (size_t i = 0; i < n; i++) {
        ATT_TRY(add_claim(ev, a, &type, &elems[i]));
    }
    return ATT_OK;
}

static att_err exec_action(struct ev *ev, const struct pol_action *a)
{
    switch (a->kind) {
    case PA_PERMIT: ev->permit = true; return ATT_OK;
    case PA_DENY:
        ev->deny = true;
        ev->deny_pos = ev->rule->pos; /* the rule, as authors count them */
        return ATT_OK;
    case PA_ADD:
    case PA_ISSUE:
    case PA_ISSUEPROPERTY: return exec_claim_action(ev, a);
    default: return ATT_ERR_INTERNAL;
    }
}

/* ======================================================================================
 * Rules and sections
 * ====================================================================================== */

static att_err run_rule(struct ev *ev, const struct pol_rule *r)
{
    ATT_TRY(step(ev, 1, r->pos));
    struct pol_mark mark;
    pol_arena_mark(&ev->scratch, &mark);
    ev->rule = r;
    ev->visible = ev->n_in + ev->added.n;
    bool fire = true;
    att_err rc = ATT_OK;
    for (size_t k = 0; k < r->nconds && fire && rc == ATT_OK; k++) {
        rc = eval_condition(ev, k, &fire);
    }
    if (rc == ATT_OK && fire) {
        rc = exec_action(ev, &r->action);
    }
    pol_arena_rewind(&ev->scratch, &mark);
    return rc;
}

static att_err run_sections(struct ev *ev)
{
    const struct pol_section *cfg = &ev->pol->sections[SEC_CONFIG];
    for (size_t i = 0; i < cfg->nrules; i++) {
        ATT_TRY(run_rule(ev, &cfg->rules[i]));
    }
    const struct pol_section *auth = &ev->pol->sections[SEC_AUTHZ];
    for (size_t i = 0; i < auth->nrules && !ev->deny; i++) {
        ATT_TRY(run_rule(ev, &auth->rules[i]));
    }
    if (!ev->permit || ev->deny) {
        return ATT_OK; /* "Issuance rules" run only for an authorized request */
    }
    const struct pol_section *iss = &ev->pol->sections[SEC_ISSUANCE];
    for (size_t i = 0; i < iss->nrules; i++) {
        ATT_TRY(run_rule(ev, &iss->rules[i]));
    }
    return ATT_OK;
}

/* ======================================================================================
 * Entry points
 * ====================================================================================== */

static bool claim_ok(const struct att_claim *c)
{
    return c->type != NULL && (unsigned)c->value_type <= ATT_CLAIM_BOOLEAN &&
           (unsigned)c->issuer <= ATT_ISSUER_ATTESTATION_POLICY &&
           (c->value_type != ATT_CLAIM_STRING || c->str != NULL || c->str_len == 0);
}

static void free_state(struct ev *ev)
{
    free(ev->added.items);
    free(ev->out.items);
    free(ev->props.items);
    free(ev->frame);
    for (size_t i = 0; ev->in_text != NULL && i < ev->n_in; i++) {
        free(ev->in_text[i]);
    }
    free(ev->in_text);
    pol_claim_index_free(&ev->index);
    pol_ev_caches_free(ev);
    pol_arena_cleanup(&ev->scratch);
    if (ev->mem != NULL) {
        pol_arena_cleanup(&ev->mem->keep);
        free(ev->mem);
    }
}

att_err att_policy_eval(const struct att_policy *p, const struct att_claim *in, size_t n_in,
                        const struct att_policy_limits *lim, struct att_policy_result *out,
                        char *msg, size_t msg_len)
{
    struct pol_diag diag = {msg, msg_len};
    struct att_policy_limits defaults;
    if (msg != NULL && msg_len > 0) {
        msg[0] = 0;
    }
    ATT_ENSURE(p != NULL && out != NULL && (in != NULL || n_in == 0), ATT_ERR_ARG);
    for (size_t i = 0; i < n_in; i++) {
        ATT_ENSURE(claim_ok(&in[i]), ATT_ERR_ARG);
    }
    if (lim == NULL) {
        att_policy_limits_init(&defaults);
        lim = &defaults;
    }
    struct ev ev;
    memset(&ev, 0, sizeof(ev));
    ev.pol = p;
    ev.lim = lim;
    ev.diag = &diag;
    ev.in = in;
    ev.n_in = n_in;
    ev.budget.max = lim->max_steps;
    pol_claim_index_init(&ev.index);
    pol_arena_init(&ev.scratch, lim->max_memory);
    att_jmespath_limits_default(&ev.jl);
    if (ev.jl.max_output > lim->max_value) {
        ev.jl.max_output = lim->max_value;
    }
    att_err rc = ATT_ERR_NOMEM;
    ev.mem = calloc(1, sizeof(*ev.mem));
    ATT_CHECK(ev.mem != NULL, ATT_ERR_NOMEM);
    pol_arena_init(&ev.mem->keep, lim->max_memory);
    if (p->max_nconds > 0) {
        ev.frame = calloc(p->max_nconds, sizeof(*ev.frame));
        ATT_CHECK(ev.frame != NULL, ATT_ERR_NOMEM);
    }
    for (size_t i = 0; i < n_in; i++) {
        ATT_GUARD(pol_claim_index_add(&ev.index, in[i].type, in[i].type_len, i));
    }
    ATT_GUARD(run_sections(&ev));

    memset(out, 0, sizeof(*out));
    out->authorized = ev.permit && !ev.deny;
    if (ev.deny) {
        out->decision = ATT_ERR_POLICY_DENIED;
        snprintf(out->reason, sizeof(out->reason), "%zu:%zu: deny() rule fired", ev.deny_pos.line,
                 ev.deny_pos.col);
    } else if (!ev.permit) {
        out->decision = ATT_ERR_POLICY_NO_PERMIT;
        snprintf(out->reason, sizeof(out->reason), "no permit() rule fired");
    } else {
        out->decision = ATT_OK;
    }
    out->outgoing = ev.out.items;
    out->n_outgoing = ev.out.n;
    out->properties = ev.props.items;
    out->n_properties = ev.props.n;
    out->steps = ev.budget.used;
    out->mem = ev.mem;
    ev.out.items = NULL;
    ev.props.items = NULL;
    ev.mem = NULL;
    rc = ATT_OK;
out:
    free_state(&ev);
    return rc;
}

void att_policy_result_cleanup(struct att_policy_result *r)
{
    if (r == NULL) {
        return;
    }
    free(r->outgoing);
    free(r->properties);
    if (r->mem != NULL) {
        pol_arena_cleanup(&r->mem->keep);
        free(r->mem);
    }
    memset(r, 0, sizeof(*r));
}

att_err att_policy_result_check(const struct att_policy_result *r)
{
    if (r->authorized) {
        return ATT_OK;
    }
    return r->decision != ATT_OK ? r->decision : ATT_ERR_POLICY_NO_PERMIT;
}

const struct att_claim *att_policy_result_property(const struct att_policy_result *r,
                                                   const char *name)
{
    size_t n = strlen(name);
    for (size_t i = r->n_properties; i > 0; i--) {
        const struct att_claim *c = &r->properties[i - 1];
        if (c->type_len == n && memcmp(c->type, name, n) == 0) {
            return c;
        }
    }
    return NULL;
}
