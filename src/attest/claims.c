/*
 * claims.c - the steps every attestation type shares: token claims -> incoming claims,
 * policy appraisal, merging the policy's outcome into the token (docs/reference/maa-tokens.md §2.3,
 * docs/reference/maa-policy.md §3.3, §3.6).
 */
#include "attest/attest.h"

#include "core/buf.h"
#include "token/claims.h"
#include "token/json_out.h"
#include "metrics/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_INCOMING 1024 /* claims one token's members may turn into */

att_err att_attest_fail(struct att_attest_error *err, att_err code, const char *fmt, ...)
{
    va_list ap;
    err->err = code;
    va_start(ap, fmt);
    (void)vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

void att_claim_list_init(struct att_claim_list *l)
{
    memset(l, 0, sizeof(*l));
}

void att_claim_list_cleanup(struct att_claim_list *l)
{
    for (size_t i = 0; i < l->n_owned; i++) {
        free(l->owned[i]);
    }
    free(l->owned);
    free(l->items);
    att_claim_list_init(l);
}

/*
 * Append `c`. Its type and (unless `copy`) its string are borrowed from the token claims or
 * static text; with `copy` the string is duplicated and owned by the list.
 */
static att_err list_add(struct att_claim_list *l, struct att_claim c, bool copy)
{
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 64 : l->cap * 2;
        ATT_ENSURE(cap <= MAX_INCOMING, ATT_ERR_TOO_LARGE);
        struct att_claim *items = realloc(l->items, cap * sizeof(*items));
        ATT_ENSURE(items != NULL, ATT_ERR_NOMEM);
        l->items = items;
        char **owned = realloc(l->owned, cap * sizeof(*owned));
        ATT_ENSURE(owned != NULL, ATT_ERR_NOMEM);
        l->owned = owned;
        l->cap = cap;
    }
    if (copy) {
        char *str = strndup(c.str, c.str_len);
        ATT_ENSURE(str != NULL, ATT_ERR_NOMEM);
        c.str = str;
        l->owned[l->n_owned++] = str;
    }
    l->items[l->n++] = c;
    return ATT_OK;
}

att_err att_claim_list_add(struct att_claim_list *l, struct att_claim c)
{
    return list_add(l, c, c.value_type == ATT_CLAIM_STRING && c.str != NULL);
}

/*
 * JSON texts already written for object values: the legacy aliases share their values with
 * the current names (x-ms-sgx-collateral has two), so each object is written out once.
 */
#define MEMO_SLOTS 4
struct text_memo {
    const json_t *value[MEMO_SLOTS];
    const char *text[MEMO_SLOTS]; /* owned by the claim list */
    size_t len[MEMO_SLOTS];
    size_t n;
};

/* A claim for an object or array value: its compact JSON text. */
static att_err add_json_text(struct att_claim_list *l, const char *type, const json_t *v,
                             struct text_memo *memo)
{
    struct att_claim c;
    for (size_t i = 0; i < memo->n; i++) {
        if (memo->value[i] == v) {
            c = att_claim_stringn(type, memo->text[i], memo->len[i],
                                  ATT_ISSUER_ATTESTATION_SERVICE);
            return list_add(l, c, false);
        }
    }
    struct att_buf text;
    att_buf_init(&text, ATT_POLICY_DEFAULT_MAX_VALUE);
    att_err rc = att_json_compact(v, &text);
    if (rc == ATT_OK) {
        c = att_claim_stringn(type, (const char *)text.data, text.len,
                              ATT_ISSUER_ATTESTATION_SERVICE);
        rc = list_add(l, c, true);
    }
    if (rc == ATT_OK && memo->n < MEMO_SLOTS) {
        memo->value[memo->n] = v;
        memo->text[memo->n] = l->owned[l->n_owned - 1];
        memo->len[memo->n++] = text.len;
    }
    att_buf_cleanup(&text);
    return rc;
}

/* One claim for a scalar JSON value; objects (and nested arrays) as their JSON text. */
static att_err add_value(struct att_claim_list *l, const char *type, const json_t *v,
                         struct text_memo *memo)
{
    struct att_claim c;
    switch (json_typeof(v)) {
    case JSON_STRING:
        c = att_claim_stringn(type, json_string_value(v), json_string_length(v),
                              ATT_ISSUER_ATTESTATION_SERVICE);
        return list_add(l, c, false);
    case JSON_INTEGER:
        c = att_claim_integer(type, json_integer_value(v), ATT_ISSUER_ATTESTATION_SERVICE);
        return list_add(l, c, false);
    case JSON_TRUE:
    case JSON_FALSE:
        c = att_claim_boolean(type, json_is_true(v), ATT_ISSUER_ATTESTATION_SERVICE);
        return list_add(l, c, false);
    case JSON_OBJECT:
    case JSON_ARRAY: return add_json_text(l, type, v, memo);
    default: return ATT_OK; /* null and reals: no claim */
    }
}

static att_err add_member(struct att_claim_list *l, const char *type, const json_t *v,
                          struct text_memo *memo)
{
    if (!json_is_array(v)) {
        return add_value(l, type, v, memo);
    }
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        ATT_TRY(add_value(l, type, e, memo));
    }
    return ATT_OK;
}

att_err att_claims_incoming(json_t *token_claims, const char *const *aliases,
                            struct att_claim_list *out)
{
    const char *key;
    const json_t *v;
    struct text_memo memo = {.n = 0};
    json_object_foreach(token_claims, key, v)
    {
        ATT_TRY(add_member(out, key, v, &memo));
    }
    for (size_t i = 0; aliases != NULL && aliases[i] != NULL; i += 2) {
        const json_t *target = json_object_get(token_claims, aliases[i + 1]);
        if (target != NULL) {
            ATT_TRY(add_member(out, aliases[i], target, &memo));
        }
    }
    return ATT_OK;
}

/* A claim's value as JSON. */
static json_t *claim_json(const struct att_claim *c)
{
    switch (c->value_type) {
    case ATT_CLAIM_STRING: return json_stringn(c->str, c->str_len);
    case ATT_CLAIM_INTEGER: return json_integer(c->integer);
    case ATT_CLAIM_BOOLEAN: return json_boolean(c->boolean);
    }
    return NULL;
}

/*
 * Outgoing claims as top-level members. A type issued twice becomes an array. A name the
 * service set (x-ms-*, iss, nonce, ...) stays the service's: a policy cannot forge it.
 */
/* True when every outgoing name is new to the token and issued once: set them directly. */
static bool outgoing_all_distinct(const struct att_policy_result *res, const json_t *token)
{
    if (res->n_outgoing > 32) {
        return false; /* the pairwise check would cost more than the general merge */
    }
    for (size_t i = 0; i < res->n_outgoing; i++) {
        if (json_object_get(token, res->outgoing[i].type) != NULL) {
            return false;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(res->outgoing[i].type, res->outgoing[j].type) == 0) {
                return false;
            }
        }
    }
    return true;
}

static att_err merge_outgoing(const struct att_policy_result *res, json_t *token)
{
    if (outgoing_all_distinct(res, token)) { /* the usual case, e.g. MAA's default policies */
        for (size_t i = 0; i < res->n_outgoing; i++) {
            json_t *v = claim_json(&res->outgoing[i]);
            ATT_ENSURE(v != NULL && json_object_set_new(token, res->outgoing[i].type, v) == 0,
                       ATT_ERR_NOMEM);
        }
        return ATT_OK;
    }
    json_t *issued = json_object();
    ATT_ENSURE(issued != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < res->n_outgoing; i++) {
        const struct att_claim *c = &res->outgoing[i];
        json_t *v = claim_json(c);
        json_t *prev = json_object_get(issued, c->type);
        int rc;
        if (v == NULL) {
            json_decref(issued);
            return ATT_ERR_NOMEM;
        }
        if (prev == NULL) {
            rc = json_object_set_new(issued, c->type, v);
        } else if (json_is_array(prev)) {
            rc = json_array_append_new(prev, v);
        } else {
            rc = json_object_set_new(issued, c->type, json_pack("[Oo]", prev, v));
        }
        if (rc != 0) {
            json_decref(issued);
            return ATT_ERR_NOMEM;
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach(issued, key, v)
    {
        if (json_object_get(token, key) == NULL && json_object_set(token, key, v) != 0) {
            json_decref(issued);
            return ATT_ERR_NOMEM;
        }
    }
    json_decref(issued);
    return ATT_OK;
}

att_err att_attest_appraise(const struct att_attest_policy *pol, const struct att_claim_list *in,
                            const struct att_evidence_type *t, void *state, json_t *token_claims,
                            struct att_attest_error *err)
{
    struct att_policy_result res;
    char msg[256] = "";
    char labels[64];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    att_err rc = att_policy_eval(pol->policy, in->items, in->n, NULL, &res, msg, sizeof(msg));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    snprintf(labels, sizeof(labels), "type=\"%s\"", t->name);
    att_metric_observe(ATT_M_POLICY_EVAL, labels,
                       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    if (rc == ATT_ERR_NOMEM) {
        return att_attest_fail(err, rc, "out of memory");
    }
    if (rc != ATT_OK) {
        err->appraisal = true;
        return att_attest_fail(err, rc, "policy evaluation failed: %s", msg);
    }
    if (!res.authorized) {
        rc = res.decision;
        err->appraisal = true;
        att_attest_fail(err, rc, "Authorization failed: %s", res.reason);
        att_policy_result_cleanup(&res);
        return rc;
    }
    if (t->appraised != NULL && (rc = t->appraised(state, &res, msg, sizeof(msg))) != ATT_OK) {
        att_attest_fail(err, rc, "%s", msg[0] != '\0' ? msg : att_err_str(rc));
        att_policy_result_cleanup(&res);
        return rc;
    }
    rc = merge_outgoing(&res, token_claims);
    const struct att_claim *tcbid = att_policy_result_property(&res, "x-ms-sgx-tcbidentifier");
    if (rc == ATT_OK && tcbid != NULL && t->tcb_identifier) {
        json_t *v = claim_json(tcbid);
        rc = v != NULL && json_object_set_new(token_claims, "x-ms-sgx-tcbidentifier", v) == 0
                 ? ATT_OK
                 : ATT_ERR_NOMEM;
    }
    att_policy_result_cleanup(&res);
    if (rc == ATT_OK) {
        rc = json_object_set_new(token_claims, "x-ms-policy-hash", json_string(pol->hash)) == 0
                 ? ATT_OK
                 : ATT_ERR_NOMEM;
    }
    if (rc == ATT_OK && pol->signer_jwk != NULL) {
        rc = json_object_set(token_claims, "x-ms-policy-signer", pol->signer_jwk) == 0
                 ? ATT_OK
                 : ATT_ERR_NOMEM;
    }
    if (rc != ATT_OK) {
        return att_attest_fail(err, rc, "cannot build the token");
    }
    return ATT_OK;
}

att_err att_claims_bound_data(json_t *token_claims, const struct att_bound_data *d,
                              const char *json_claim, struct att_attest_error *err)
{
    json_error_t jerr;
    json_t *doc;
    if (!d->present || !d->json) {
        return ATT_OK;
    }
    /* docs/reference/maa-api.md §1.3: JSON data must be a UTF-8 JSON text; the token carries the
     * object. */
    doc = json_loadb((const char *)d->bytes.ptr, d->bytes.len,
                     JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        return att_attest_fail(err, ATT_ERR_JSON, "%s data of type JSON is not a JSON object",
                               strcmp(json_claim, "x-ms-runtime") == 0 ? "runtime" : "init-time");
    }
    if (json_object_set_new(token_claims, json_claim, doc) != 0) {
        return att_attest_fail(err, ATT_ERR_NOMEM, "out of memory");
    }
    return ATT_OK;
}

/* ---- the names tokens may carry (att_attest_claims_supported) ------------------------ */

/* What the steps above set for every type: att_claims_bound_data (from att_attest_run) and
 * att_attest_appraise (x-ms-sgx-tcbidentifier only for types with tcb_identifier). */
static const char *const shared_claim_names[] = {
    "x-ms-runtime", "x-ms-inittime", "x-ms-policy-hash", "x-ms-policy-signer", NULL,
};
static const char *const tcb_identifier_claim_names[] = {"x-ms-sgx-tcbidentifier", NULL};

/* Append `name` to the array `names` unless it is there (`seen` holds what it has). */
static att_err add_name(json_t *names, json_t *seen, const char *name, size_t len)
{
    json_t *s = json_stringn(name, len);
    ATT_ENSURE(s != NULL, ATT_ERR_NOMEM);
    if (json_object_get(seen, json_string_value(s)) != NULL) {
        json_decref(s);
        return ATT_OK;
    }
    ATT_ENSURE(json_object_set_new(seen, json_string_value(s), json_true()) == 0 &&
                   json_array_append_new(names, s) == 0,
               ATT_ERR_NOMEM);
    return ATT_OK;
}

static att_err add_names(json_t *names, json_t *seen, const char *const *list)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        ATT_TRY(add_name(names, seen, list[i], strlen(list[i])));
    }
    return ATT_OK;
}

struct issued_names {
    json_t *names;
    json_t *seen;
};

static att_err add_issued(const char *type, size_t len, void *arg)
{
    struct issued_names *in = arg;
    return add_name(in->names, in->seen, type, len);
}

/* The claims a type's default policy issues (policy/defaults.c): a fresh provider's tokens
 * carry them. */
static att_err add_default_policy(json_t *names, json_t *seen, enum att_policy_type type)
{
    struct att_policy *p = NULL;
    struct issued_names in = {names, seen};
    const char *text = att_policy_default(type);
    char msg[128];
    ATT_ENSURE(text != NULL, ATT_ERR_INTERNAL);
    ATT_TRY(att_policy_parse(text, strlen(text), NULL, &p, msg, sizeof(msg)));
    att_err rc = att_policy_issued_claims(p, add_issued, &in);
    att_policy_free(p);
    return rc;
}

static att_err claims_supported(json_t *names, json_t *seen)
{
    for (size_t i = 0; i < ATT_CLAIMS_REGISTERED; i++) {
        ATT_TRY(add_name(names, seen, att_claims_registered[i], strlen(att_claims_registered[i])));
    }
    ATT_TRY(add_names(names, seen, shared_claim_names));
    for (size_t i = 0; att_evidence_types[i] != NULL; i++) {
        const struct att_evidence_type *t = att_evidence_types[i];
        ATT_TRY(add_names(names, seen, t->claim_names));
        ATT_TRY(add_names(names, seen, t->tcb_identifier ? tcb_identifier_claim_names : NULL));
    }
    for (size_t i = 0; att_evidence_types[i] != NULL; i++) {
        ATT_TRY(add_default_policy(names, seen, att_evidence_types[i]->policy));
    }
    return ATT_OK;
}

json_t *att_attest_claims_supported(void)
{
    json_t *names = json_array();
    json_t *seen = json_object();
    if (names == NULL || seen == NULL || claims_supported(names, seen) != ATT_OK) {
        json_decref(names);
        names = NULL;
    }
    json_decref(seen);
    return names;
}
