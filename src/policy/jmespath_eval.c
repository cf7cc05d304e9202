/*
 * jmespath_eval.c - JMESPath tree + JSON value -> JSON value: layer 3 of
 * att_jmespath_eval(), for expressions, projections, comparisons and multi-select hashes. The
 * built-in functions are in jmespath_func.c.
 *
 * Input trust: the tree comes from untrusted policy text, the value from the attested
 * machine's event log. Work is bounded by the step budget (jmes_charge); recursion by
 * the depth of the tree (capped by the parser) and of the values (jansson caps JSON
 * nesting at JSON_PARSER_MAX_DEPTH). Values are jansson references: nothing from the
 * input is copied, and nothing that is shared is ever modified.
 *
 * Spec: JMESPath Specification, https://jmespath.org/specification.html; behaviour
 * checked against the reference implementation jmespath.py and the compliance suite.
 */
#include "policy/jmespath_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

att_err jmes_charge(struct jmes_evaluator *e, size_t n)
{
    if (!att_budget_take(e->budget, n)) {
        jmes_set_msg(e->msg, e->msg_len, "evaluation exceeds the step budget of %llu",
                     (unsigned long long)e->budget->max);
        return ATT_ERR_JMESPATH_BUDGET;
    }
    return ATT_OK;
}

/* Work proportional to a string's length costs one step per 64 bytes. (A plain step is one
 * node evaluated or one element visited; the JMES_COST_* rates of jmespath_int.h weigh the
 * dearer operations so that a step costs about the same CPU time whatever takes it.) */
size_t jmes_string_cost(size_t len)
{
    return 1 + len / 64;
}

size_t jmes_key_cost(size_t len)
{
    return len / JMES_KEY_BYTES_PER_STEP;
}

size_t jmes_bytewise_cost(size_t len)
{
    return 1 + len / 4;
}

/* Spec, "Or Expressions": false, null, "", [] and {} are false; everything else is true. */
static bool truthy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE: return false;
    case JSON_STRING: return json_string_length(v) > 0;
    case JSON_ARRAY: return json_array_size(v) > 0;
    case JSON_OBJECT: return json_object_size(v) > 0;
    default: return true;
    }
}

/* -1, 0, 1 for two JSON numbers; integers compare exactly with integers. */
static int cmp_numbers(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a);
        json_int_t y = json_integer_value(b);
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    double x = json_number_value(a);
    double y = json_number_value(b);
    return x < y ? -1 : (x > y ? 1 : 0);
}

static att_err json_equal_steps(struct jmes_evaluator *e, json_t *a, json_t *b, bool *eq);

/* Objects are equal when they have the same keys with equal values, in any order.
 * Keys are compared with their lengths: a multi-select hash may make a key with a
 * NUL in it (jansson refuses those in JSON input). */
static att_err objects_equal(struct jmes_evaluator *e, json_t *a, json_t *b, bool *eq)
{
    *eq = false;
    if (json_object_size(a) != json_object_size(b)) {
        return ATT_OK;
    }
    for (void *it = json_object_iter(a); it != NULL; it = json_object_iter_next(a, it)) {
        ATT_TRY(jmes_charge(e, JMES_COST_KEY_LOOKUP + jmes_key_cost(json_object_iter_key_len(it))));
        json_t *vb = json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
        if (vb == NULL) {
            *eq = false;
            return ATT_OK;
        }
        ATT_TRY(json_equal_steps(e, json_object_iter_value(it), vb, eq));
        if (!*eq) {
            return ATT_OK;
        }
    }
    *eq = true;
    return ATT_OK;
}

/* Spec, "Equality Operators": deep equality; numbers by value, objects
 * unordered. Recursion is bounded by the depth of the values (jansson caps
 * documents at JSON_PARSER_MAX_DEPTH). */
static att_err json_equal_steps(struct jmes_evaluator *e, json_t *a, json_t *b, bool *eq)
{
    ATT_TRY(jmes_charge(e, 1));
    *eq = false;
    if (json_is_number(a) && json_is_number(b)) {
        *eq = cmp_numbers(a, b) == 0;
        return ATT_OK;
    }
    if (json_typeof(a) != json_typeof(b)) {
        return ATT_OK;
    }
    switch (json_typeof(a)) {
    case JSON_STRING: {
        size_t n = json_string_length(a);
        ATT_TRY(jmes_charge(e, jmes_string_cost(n)));
        *eq = n == json_string_length(b) &&
              memcmp(json_string_value(a), json_string_value(b), n) == 0;
        return ATT_OK;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(a);
        if (n != json_array_size(b)) {
            return ATT_OK;
        }
        for (size_t i = 0; i < n; i++) {
            ATT_TRY(json_equal_steps(e, json_array_get(a, i), json_array_get(b, i), eq));
            if (!*eq) {
                return ATT_OK;
            }
        }
        *eq = true;
        return ATT_OK;
    }
    case JSON_OBJECT: return objects_equal(e, a, b, eq);
    default: *eq = true; return ATT_OK; /* true, false, null */
    }
}

const char *jmes_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

/* Append an owned value to an array (the array takes the reference). */
static att_err append(json_t *arr, json_t *v)
{
    return json_array_append_new(arr, v) == 0 ? ATT_OK : ATT_ERR_NOMEM;
}

/* Spec, "Projections": evaluate `left`; if it is an array, apply `right` to
 * each element (kept when `cond` is JMES_NO_NODE or true), dropping nulls. */
static att_err eval_projection(struct jmes_evaluator *e, size_t left, size_t cond, size_t right,
                               json_t *cur, json_t **out)
{
    json_t *base = NULL;
    json_t *res = NULL;
    att_err rc = ATT_ERR_INTERNAL;
    ATT_GUARD(jmes_eval(e, left, cur, &base));
    if (!json_is_array(base)) {
        *out = json_null();
        rc = ATT_OK;
        goto out;
    }
    res = json_array();
    ATT_CHECK(res != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < json_array_size(base); i++) {
        json_t *el = json_array_get(base, i);
        json_t *v = NULL;
        ATT_GUARD(jmes_charge(e, 1));
        if (cond != JMES_NO_NODE) {
            ATT_GUARD(jmes_eval(e, cond, el, &v));
            bool keep = truthy(v);
            json_decref(v);
            if (!keep) {
                continue;
            }
        }
        ATT_GUARD(jmes_eval(e, right, el, &v));
        if (json_is_null(v)) {
            json_decref(v);
            continue;
        }
        ATT_GUARD(append(res, v));
    }
    *out = res;
    res = NULL;
    rc = ATT_OK;
out:
    json_decref(res);
    json_decref(base);
    return rc;
}

/* Spec, "Flatten Operator": merge nested arrays one level; non-arrays give null. */
static att_err eval_flatten(struct jmes_evaluator *e, size_t child, json_t *cur, json_t **out)
{
    json_t *base = NULL;
    json_t *res = NULL;
    att_err rc = ATT_ERR_INTERNAL;
    ATT_GUARD(jmes_eval(e, child, cur, &base));
    if (!json_is_array(base)) {
        *out = json_null();
        rc = ATT_OK;
        goto out;
    }
    res = json_array();
    ATT_CHECK(res != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < json_array_size(base); i++) {
        json_t *el = json_array_get(base, i);
        ATT_GUARD(jmes_charge(e, 1));
        if (!json_is_array(el)) {
            ATT_GUARD(append(res, json_incref(el)));
            continue;
        }
        for (size_t j = 0; j < json_array_size(el); j++) {
            ATT_GUARD(jmes_charge(e, 1));
            ATT_GUARD(append(res, json_incref(json_array_get(el, j))));
        }
    }
    *out = res;
    res = NULL;
    rc = ATT_OK;
out:
    json_decref(res);
    json_decref(base);
    return rc;
}

/* Spec, "Comparator Expressions": ==/!= on any values; ordering only on numbers, else null. */
static att_err eval_compare(struct jmes_evaluator *e, const struct jmes_node *nd, json_t *cur,
                            json_t **out)
{
    json_t *l = NULL;
    json_t *r = NULL;
    att_err rc = ATT_ERR_INTERNAL;
    ATT_GUARD(jmes_eval(e, nd->first, cur, &l));
    ATT_GUARD(jmes_eval(e, e->nodes[nd->first].next, cur, &r));
    if (nd->op == JT_EQ || nd->op == JT_NE) {
        bool eq = false;
        ATT_GUARD(json_equal_steps(e, l, r, &eq));
        *out = json_boolean(nd->op == JT_EQ ? eq : !eq);
    } else if (!json_is_number(l) || !json_is_number(r)) {
        *out = json_null();
    } else {
        int c = cmp_numbers(l, r);
        bool v = nd->op == JT_LT    ? c < 0
                 : nd->op == JT_LTE ? c <= 0
                 : nd->op == JT_GT  ? c > 0
                                    : c >= 0;
        *out = json_boolean(v);
    }
    rc = ATT_OK;
out:
    json_decref(l);
    json_decref(r);
    return rc;
}

/*
 * Spec, "MultiSelect Hash": "The identifier is used as the key name and the result of
 * evaluating the expression is the value associated with the identifier key." On null
 * the result is null (compliance suite multiselect.json, "Select on null"; jmespath.py
 * visit_multi_select_dict); any other value gets an object, with null members where
 * nothing matched. Members keep the order they were written in (the parser refused
 * duplicate keys); each costs at least the step of its value's node.
 */
static att_err eval_hash(struct jmes_evaluator *e, const struct jmes_node *nd, json_t *cur,
                         json_t **out)
{
    json_t *res = NULL;
    att_err rc = ATT_ERR_INTERNAL;
    if (json_is_null(cur)) {
        *out = json_null();
        return ATT_OK;
    }
    ATT_TRY(jmes_charge(e, JMES_COST_NEW_VALUE));
    res = json_object();
    ATT_CHECK(res != NULL, ATT_ERR_NOMEM);
    for (size_t c = nd->first; c != JMES_NO_NODE; c = e->nodes[c].next) {
        const struct jmes_node *member = &e->nodes[c];
        json_t *v = NULL;
        ATT_GUARD(jmes_charge(e, JMES_COST_NEW_MEMBER + jmes_key_cost(member->key.len)));
        ATT_GUARD(jmes_eval(e, c, cur, &v));
        /* The key is a quoted identifier decoded by jansson (valid UTF-8) or an
         * unquoted one (ASCII); json_object_setn_new takes v even when it fails. */
        ATT_CHECK(json_object_setn_new(res, (const char *)member->key.ptr, member->key.len, v) == 0,
                  ATT_ERR_NOMEM);
    }
    *out = res;
    res = NULL;
    rc = ATT_OK;
out:
    json_decref(res);
    return rc;
}

/* Spec, "Functions Expressions": arguments are evaluated first, left to right, then
 * the function runs on their values (its type checks included). */
static att_err eval_call(struct jmes_evaluator *e, const struct jmes_node *nd, json_t *cur,
                         json_t **out)
{
    json_t *args[JMES_MAX_ARGS] = {NULL};
    size_t n = 0;
    att_err rc = ATT_ERR_INTERNAL;
    for (size_t c = nd->first; c != JMES_NO_NODE; c = e->nodes[c].next) {
        ATT_CHECK(n < JMES_MAX_ARGS, ATT_ERR_INTERNAL); /* arity checked by the parser */
        ATT_GUARD(jmes_eval(e, c, cur, &args[n]));
        n++;
    }
    ATT_CHECK(n == nd->func->nargs, ATT_ERR_INTERNAL);
    rc = nd->func->eval(e, nd, args, out);
out:
    for (size_t i = 0; i < n; i++) {
        json_decref(args[i]);
    }
    return rc;
}

/* n-ary || and &&: the first operand that decides, else the last (spec, "Or/And Expressions"). */
static att_err eval_logic(struct jmes_evaluator *e, const struct jmes_node *nd, json_t *cur,
                          json_t **out)
{
    bool stop_when = nd->kind == JN_OR;
    json_t *v = NULL;
    for (size_t c = nd->first; c != JMES_NO_NODE; c = e->nodes[c].next) {
        json_decref(v);
        v = NULL;
        ATT_TRY(jmes_eval(e, c, cur, &v));
        if (truthy(v) == stop_when) {
            break;
        }
    }
    *out = v;
    return ATT_OK;
}

/* Evaluate node `n` against `cur` (borrowed); *out is a new reference, never NULL. */
att_err jmes_eval(struct jmes_evaluator *e, size_t n, json_t *cur, json_t **out)
{
    const struct jmes_node *nd = &e->nodes[n];
    ATT_TRY(jmes_charge(e, 1));
    switch (nd->kind) {
    case JN_CURRENT: *out = json_incref(cur); return ATT_OK;
    case JN_LITERAL: *out = json_incref(nd->literal); return ATT_OK;
    case JN_FIELD: {
        /* Spec, "Identifiers": a missing key or a non-object gives null. */
        json_t *v = NULL;
        if (json_is_object(cur)) {
            ATT_TRY(jmes_charge(e, jmes_key_cost(nd->name.len)));
            v = json_object_getn(cur, (const char *)nd->name.ptr, nd->name.len);
        }
        *out = v != NULL ? json_incref(v) : json_null();
        return ATT_OK;
    }
    case JN_INDEX: {
        /* Spec, "Index Expressions": negative indexes count from the end; out of range is null. */
        json_t *v = NULL;
        if (json_is_array(cur)) {
            int64_t size = (int64_t)json_array_size(cur);
            int64_t i = nd->index < 0 ? nd->index + size : nd->index;
            if (i >= 0 && i < size) {
                v = json_array_get(cur, (size_t)i);
            }
        }
        *out = v != NULL ? json_incref(v) : json_null();
        return ATT_OK;
    }
    case JN_SEQ: {
        json_t *v = json_incref(cur);
        for (size_t c = nd->first; c != JMES_NO_NODE; c = e->nodes[c].next) {
            json_t *next = NULL;
            att_err rc = jmes_eval(e, c, v, &next);
            json_decref(v);
            ATT_TRY(rc);
            v = next;
        }
        *out = v;
        return ATT_OK;
    }
    case JN_PROJECT: return eval_projection(e, nd->first, JMES_NO_NODE, nd->last, cur, out);
    case JN_FILTER:
        return eval_projection(e, nd->first, e->nodes[nd->first].next, nd->last, cur, out);
    case JN_FLATTEN: return eval_flatten(e, nd->first, cur, out);
    case JN_OR:
    case JN_AND: return eval_logic(e, nd, cur, out);
    case JN_NOT: {
        json_t *v = NULL;
        ATT_TRY(jmes_eval(e, nd->first, cur, &v));
        bool t = truthy(v);
        json_decref(v);
        *out = json_boolean(!t);
        return ATT_OK;
    }
    case JN_CMP: return eval_compare(e, nd, cur, out);
    case JN_HASH: return eval_hash(e, nd, cur, out);
    case JN_CALL: return eval_call(e, nd, cur, out);
    default: return ATT_ERR_INTERNAL; /* JN_UNSUPPORTED never reaches evaluation */
    }
}
