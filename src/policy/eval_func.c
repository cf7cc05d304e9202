/*
 * eval_func.c - the six functions of policy version 1.2 (docs/reference/maa-policy.md
 * "claim-rule-functions"): JmesPath, JsonToClaimValue, IsSubsetOf, AppendString, NegateBool,
 * ContainsOnlyValue, and the caches one evaluation keeps for them (decoded documents, compiled
 * queries, JmesPath results as trees). Steps as eval.c describes.
 */
#include "policy/eval_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"

static att_err need_kind(const struct ev *ev, const struct pol_expr *call, size_t arg,
                         const struct val *v, enum vkind want)
{
    if (v->kind == want) {
        return ATT_OK;
    }
    return pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, call->pos, "%s: argument %zu must be %s, found %s",
                       pol_func_name(call->func), arg, pol_ev_kind_name(want),
                       pol_ev_kind_name(v->kind));
}

static att_err copy_to_scratch(struct ev *ev, const char *s, size_t n, struct pol_pos at,
                               const char **out)
{
    att_err rc = pol_arena_strdup(&ev->scratch, s, n, out);
    if (rc == ATT_ERR_TOO_LARGE) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_CLAIM_LIMIT, at, "evaluation memory over %zu bytes",
                           ev->lim->max_memory);
    }
    return rc;
}

void pol_ev_caches_free(struct ev *ev)
{
    for (size_t i = 0; i < DOC_CACHE_SLOTS; i++) {
        free(ev->docs[i].text);
        json_decref(ev->docs[i].doc);
    }
    for (size_t i = 0; i < ev->n_trees; i++) {
        json_decref(ev->trees[i]);
    }
    free(ev->trees);
    for (size_t i = 0; i < QUERY_CACHE_SLOTS; i++) {
        att_jmespath_query_free(ev->queries[i]);
    }
}

/* The compiled form of query `q` (borrowed from the cache), compiled on a miss. */
static att_err jmes_query(struct ev *ev, const struct val *q, struct att_jmespath_query **out,
                          char *detail, size_t detail_len)
{
    for (size_t i = 0; i < QUERY_CACHE_SLOTS && ev->queries[i] != NULL; i++) {
        if (att_jmespath_query_is(ev->queries[i], q->s, q->len)) {
            *out = ev->queries[i];
            return ATT_OK;
        }
    }
    struct att_jmespath_query *c = NULL;
    ATT_TRY(att_jmespath_compile(q->s, q->len, &ev->jl, &c, detail, detail_len));
    size_t slot = ev->next_query;
    ev->next_query = (ev->next_query + 1) % QUERY_CACHE_SLOTS;
    att_jmespath_query_free(ev->queries[slot]);
    ev->queries[slot] = c;
    *out = c;
    return ATT_OK;
}

/* Keep `tree` (taken) for the rest of the evaluation. */
static att_err keep_tree(struct ev *ev, json_t *tree)
{
    if (ev->n_trees == ev->cap_trees) {
        size_t cap = ev->cap_trees == 0 ? 16 : ev->cap_trees * 2;
        json_t **t = realloc(ev->trees, cap * sizeof(*t));
        if (t == NULL) {
            json_decref(tree);
            return ATT_ERR_NOMEM;
        }
        ev->trees = t;
        ev->cap_trees = cap;
    }
    ev->trees[ev->n_trees++] = tree;
    return ATT_OK;
}

/*
 * The decoded document of JSON text `v` (borrowed from the cache): looked up by content,
 * since text a rule computes lives only as long as the rule. A miss pays for decoding.
 */
static att_err jmes_doc(struct ev *ev, const struct pol_expr *e, const struct val *v, json_t **out)
{
    if (v->doc != NULL) {
        *out = v->doc; /* decoded by whoever made the claim: nothing to parse */
        return ATT_OK;
    }
    for (size_t i = 0; i < DOC_CACHE_SLOTS; i++) {
        struct doc_slot *d = &ev->docs[i];
        if (d->doc != NULL && d->len == v->len) {
            ATT_TRY(step_bytes(ev, v->len, e->pos));
            if (memcmp(d->text, v->s, v->len) == 0) {
                *out = d->doc;
                return ATT_OK;
            }
        }
    }
    ATT_TRY(step(ev, pol_ev_json_decode_cost(v->s, v->len), e->pos));
    char detail[160] = "";
    json_t *doc = NULL;
    att_err rc = att_jmespath_load(v->s, v->len, &ev->jl, &doc, detail, sizeof(detail));
    if (rc == ATT_ERR_TOO_LARGE) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_CLAIM_LIMIT, e->pos, "JmesPath: %s", detail);
    }
    if (rc != ATT_OK) {
        return rc == ATT_ERR_NOMEM ? rc
                                   : pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, e->pos,
                                                 "JmesPath: %s (%s)", detail, att_err_name(rc));
    }
    char *text = malloc(v->len + 1);
    if (text == NULL) {
        json_decref(doc);
        return ATT_ERR_NOMEM;
    }
    memcpy(text, v->s, v->len);
    struct doc_slot *d = &ev->docs[ev->next_doc];
    ev->next_doc = (ev->next_doc + 1) % DOC_CACHE_SLOTS;
    free(d->text);
    json_decref(d->doc);
    d->text = text;
    d->len = v->len;
    d->doc = doc;
    *out = doc;
    return ATT_OK;
}

/* JmesPath(json, query): claim-rule-functions, "JmesPath function". */
static att_err fn_jmespath(struct ev *ev, const struct pol_expr *e, const struct val *a, bool defer,
                           struct val *out)
{
    ATT_TRY(need_kind(ev, e, 1, &a[0], V_STRING));
    ATT_TRY(need_kind(ev, e, 2, &a[1], V_STRING));
    /* "The first argument must evaluate a non-empty JSON ... The second argument must
     * evaluate to a non-empty valid JmesPath query string." */
    bool no_json = a[0].len == 0 && a[0].doc == NULL; /* a tree-only claim has no text */
    if (no_json || a[1].len == 0) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, e->pos, "JmesPath: argument %d is empty",
                           no_json ? 1 : 2);
    }
    ATT_TRY(step_text(ev, a[1].len, STEPS_PER_KIB_QUERY, e->pos));
    json_t *doc = NULL;
    ATT_TRY(jmes_doc(ev, e, &a[0], &doc));
    struct att_buf res;
    att_buf_init(&res, ev->lim->max_value);
    char detail[160] = "";
    json_t *tree = NULL;
    struct att_jmespath_query *query = NULL;
    att_err rc = ATT_OK;
    query = e->query; /* compiled with the policy when the query is a literal */
    if (query == NULL) {
        rc = jmes_query(ev, &a[1], &query, detail, sizeof(detail));
    }
    size_t len = 0;
    if (rc == ATT_OK && defer) {
        rc = att_jmespath_query_tree(query, doc, &ev->jl, &ev->budget, &tree, &len, detail,
                                     sizeof(detail));
    } else if (rc == ATT_OK) {
        rc = att_jmespath_query_eval(query, doc, &ev->jl, &ev->budget, &res, &tree, detail,
                                     sizeof(detail));
        len = res.len;
    }
    if (rc == ATT_OK) {
        rc = keep_tree(ev, tree);
    }
    if (rc == ATT_OK) {
        /* deferred or not, the text is charged as written and copied */
        rc = step_text(ev, len, STEPS_PER_KIB_JSON_WRITE + STEPS_PER_KIB_COPY, e->pos);
        if (rc == ATT_OK) {
            *out = string_val(NULL, 0);
            rc = defer ? ATT_OK : copy_to_scratch(ev, att_buf_cstr(&res), res.len, e->pos, &out->s);
            out->len = len;
            out->read_only = a[0].read_only || a[1].read_only;
            out->doc = tree; /* a later JmesPath or JsonToClaimValue need not parse the text */
        }
    } else if (rc == ATT_ERR_NOMEM) {
        /* passed through */
    } else if (rc == ATT_ERR_JMESPATH_BUDGET) {
        rc = pol_ev_budget_spent(ev, e->pos);
    } else if (rc == ATT_ERR_TOO_LARGE) {
        /* query or result over the JMESPath caps (result <= max_value) */
        rc = pol_ev_fail(ev, ATT_ERR_POLICY_CLAIM_LIMIT, e->pos, "JmesPath: %s",
                         detail[0] != 0 ? detail : "query or result over its size limit");
    } else {
        rc = pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, e->pos, "JmesPath: %s (%s)",
                         detail[0] != 0 ? detail : att_err_str(rc), att_err_name(rc));
    }
    att_buf_cleanup(&res);
    return rc;
}

/* One JSON primitive as a claim value; objects, arrays and fractions are refused. */
static att_err json_scalar(struct ev *ev, const struct pol_expr *e, const json_t *j, bool ro,
                           struct val *out)
{
    memset(out, 0, sizeof(*out));
    out->read_only = ro;
    switch (json_typeof(j)) {
    case JSON_NULL: out->kind = V_EMPTY; return ATT_OK;
    case JSON_TRUE:
    case JSON_FALSE:
        out->kind = V_BOOLEAN;
        out->b = json_is_true(j);
        return ATT_OK;
    case JSON_INTEGER:
        out->kind = V_INTEGER;
        out->i = (int64_t)json_integer_value(j);
        return ATT_OK;
    case JSON_STRING:
        out->kind = V_STRING;
        out->len = json_string_length(j);
        return copy_to_scratch(ev, json_string_value(j), out->len, e->pos, &out->s);
    case JSON_REAL:
        return pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, e->pos,
                           "JsonToClaimValue: fractional numbers are not claim values");
    case JSON_OBJECT:
        return pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, e->pos,
                           "JsonToClaimValue: JSON objects are not claim values");
    case JSON_ARRAY:
    default:
        return pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, e->pos,
                           "JsonToClaimValue: arrays may hold only numbers, Booleans, strings and "
                           "null");
    }
}

/* JsonToClaimValue(json): claim-rule-functions, "JsonToClaimValue function". */
static att_err fn_json_to_claim_value(struct ev *ev, const struct pol_expr *e, const struct val *a,
                                      struct val *out)
{
    ATT_TRY(need_kind(ev, e, 1, &a[0], V_STRING));
    ATT_TRY(step(ev, pol_ev_json_decode_cost(a[0].s, a[0].len), e->pos));
    json_error_t jerr;
    json_t *j = a[0].doc != NULL ? json_incref(a[0].doc)
                                 : json_loadb(a[0].s, a[0].len, JSON_DECODE_ANY, &jerr);
    if (j == NULL) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, e->pos,
                           "JsonToClaimValue: argument is not JSON (at character %d)",
                           jerr.position);
    }
    att_err rc = ATT_OK;
    if (!json_is_array(j)) {
        rc = json_scalar(ev, e, j, a[0].read_only, out);
        json_decref(j);
        return rc;
    }
    /* "Such an array is converted to a set"; null elements carry no value and are
     * skipped, as JsonToClaimValue(null) is. */
    size_t n = json_array_size(j);
    struct val *elems = NULL;
    rc = step(ev, (uint64_t)n * STEPS_PER_SET_ELEMENT, e->pos);
    if (rc == ATT_OK) {
        rc = pol_ev_scratch_vals(ev, n, e->pos, &elems);
    }
    size_t k = 0;
    for (size_t i = 0; rc == ATT_OK && i < n; i++) {
        const json_t *item = json_array_get(j, i);
        if (json_is_array(item) || json_is_object(item)) {
            rc =
                pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, e->pos,
                            "JsonToClaimValue: arrays may hold only numbers, Booleans, strings and "
                            "null");
            break;
        }
        rc = json_scalar(ev, e, item, a[0].read_only, &elems[k]);
        if (rc == ATT_OK && elems[k].kind != V_EMPTY) {
            k++;
        }
    }
    json_decref(j);
    ATT_TRY(rc);
    memset(out, 0, sizeof(*out));
    out->kind = V_SET;
    out->elems = elems;
    out->n = k;
    out->read_only = a[0].read_only;
    return ATT_OK;
}

/* IsSubsetOf(a, b): every element of a equals some element of b. */
static att_err fn_is_subset_of(struct ev *ev, const struct pol_expr *e, const struct val *a,
                               struct val *out)
{
    const struct val *x;
    const struct val *y;
    size_t nx;
    size_t ny;
    as_set(&a[0], &x, &nx);
    as_set(&a[1], &y, &ny);
    bool subset = true;
    for (size_t i = 0; i < nx && subset; i++) {
        bool found = false;
        for (size_t k = 0; k < ny && !found; k++) {
            ATT_TRY(step(ev, 1 + compare_cost(&x[i], &y[k]), e->pos));
            found = scalar_equal(&x[i], &y[k]);
        }
        subset = found;
    }
    memset(out, 0, sizeof(*out));
    out->kind = V_BOOLEAN;
    out->b = subset;
    return ATT_OK;
}

static att_err fn_append_string(struct ev *ev, const struct pol_expr *e, const struct val *a,
                                struct val *out)
{
    ATT_TRY(need_kind(ev, e, 1, &a[0], V_STRING));
    ATT_TRY(need_kind(ev, e, 2, &a[1], V_STRING));
    if (a[0].len > ev->lim->max_value || a[1].len > ev->lim->max_value - a[0].len) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_CLAIM_LIMIT, e->pos,
                           "AppendString: result over %zu bytes", ev->lim->max_value);
    }
    size_t n = a[0].len + a[1].len;
    ATT_TRY(step_bytes(ev, n, e->pos));
    void *p;
    ATT_TRY(pol_ev_scratch_alloc(ev, n + 1, e->pos, &p));
    char *s = p;
    if (a[0].len > 0) {
        memcpy(s, a[0].s, a[0].len);
    }
    if (a[1].len > 0) {
        memcpy(s + a[0].len, a[1].s, a[1].len);
    }
    *out = string_val(s, n);
    out->read_only = a[0].read_only || a[1].read_only;
    return ATT_OK;
}

static att_err fn_negate_bool(struct ev *ev, const struct pol_expr *e, const struct val *a,
                              struct val *out)
{
    ATT_TRY(need_kind(ev, e, 1, &a[0], V_BOOLEAN));
    *out = a[0];
    out->b = !a[0].b;
    return ATT_OK;
}

/* ContainsOnlyValue(set, v): true iff the set is non-empty and every element equals v. */
static att_err fn_contains_only_value(struct ev *ev, const struct pol_expr *e, const struct val *a,
                                      struct val *out)
{
    if (a[1].kind == V_SET || a[1].kind == V_EMPTY) {
        return pol_ev_fail(ev, ATT_ERR_POLICY_EVAL, e->pos,
                           "ContainsOnlyValue: argument 2 must be a single value, found %s",
                           pol_ev_kind_name(a[1].kind));
    }
    const struct val *x;
    size_t nx;
    as_set(&a[0], &x, &nx);
    bool only = nx > 0;
    for (size_t i = 0; i < nx && only; i++) {
        ATT_TRY(step(ev, 1 + compare_cost(&x[i], &a[1]), e->pos));
        only = scalar_equal(&x[i], &a[1]);
    }
    memset(out, 0, sizeof(*out));
    out->kind = V_BOOLEAN;
    out->b = only;
    return ATT_OK;
}

att_err pol_ev_call_function(struct ev *ev, const struct pol_expr *e, const struct val *a,
                             bool defer, struct val *out)
{
    switch (e->func) {
    case FN_JMESPATH: return fn_jmespath(ev, e, a, defer, out);
    case FN_JSON_TO_CLAIM_VALUE: return fn_json_to_claim_value(ev, e, a, out);
    case FN_IS_SUBSET_OF: return fn_is_subset_of(ev, e, a, out);
    case FN_APPEND_STRING: return fn_append_string(ev, e, a, out);
    case FN_NEGATE_BOOL: return fn_negate_bool(ev, e, a, out);
    case FN_CONTAINS_ONLY_VALUE: return fn_contains_only_value(ev, e, a, out);
    default: return ATT_ERR_INTERNAL;
    }
}
