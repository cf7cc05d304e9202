/*
 * jmespath.c - the JMESPath subset of MAA's TPM measured-boot policies: the entry
 * point att_jmespath_eval() and the coordinator of its layers.
 *
 * Input trust: both the query (policy text) and the JSON (the parsed event
 * log of the attested machine) are untrusted. The query is read only through
 * the bounded reader; the JSON is decoded by jansson (depth-capped at
 * JSON_PARSER_MAX_DEPTH, duplicate keys refused). Work is bounded by
 * struct att_jmespath_limits: query and JSON size, expression nesting depth,
 * evaluation steps and result size.
 *
 * Layers, in order, one file each (jmespath_int.h): lexer (query bytes -> tokens,
 * jmespath_lex.c), parser (tokens -> a tree of nodes in one array, a Pratt parser
 * with the binding powers of the reference implementation jmespath.py,
 * jmespath_parse.c), evaluator (tree + jansson values -> value, jmespath_eval.c, with
 * the built-in functions in jmespath_func.c), writer (value -> compact JSON text,
 * jmespath_write.c). Only att_jmespath_eval() below calls them.
 *
 * Spec: JMESPath Specification, https://jmespath.org/specification.html;
 * behaviour checked against the compliance suite jmespath/jmespath.test.
 */
#include "policy/jmespath.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/rd.h"
#include "policy/jmespath_int.h"

void att_jmespath_limits_default(struct att_jmespath_limits *lim)
{
    lim->max_query = ATT_JMESPATH_DEFAULT_MAX_QUERY;
    lim->max_json = ATT_JMESPATH_DEFAULT_MAX_JSON;
    lim->max_depth = ATT_JMESPATH_DEFAULT_MAX_DEPTH;
    lim->max_steps = ATT_JMESPATH_DEFAULT_MAX_STEPS;
    lim->max_output = ATT_JMESPATH_DEFAULT_MAX_OUTPUT;
}

void jmes_set_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
    if (msg == NULL || msg_len == 0) {
        return;
    }
    if (strcmp(fmt, "%s") == 0 || fmt[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        const char *text = fmt[0] == '\0' ? "" : va_arg(ap, const char *);
        va_end(ap);
        if (text[0] == '\0') { /* clearing, on every call: no formatting */
            msg[0] = '\0';
            return;
        }
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
}

att_err att_jmespath_load(const char *json, size_t json_len, const struct att_jmespath_limits *lim,
                          json_t **out, char *msg, size_t msg_len)
{
    struct att_jmespath_limits defaults;
    json_error_t jerr;
    jmes_set_msg(msg, msg_len, "%s", "");
    ATT_ENSURE(out != NULL && (json != NULL || json_len == 0), ATT_ERR_ARG);
    if (lim == NULL) {
        att_jmespath_limits_default(&defaults);
        lim = &defaults;
    }
    if (json_len > lim->max_json) {
        jmes_set_msg(msg, msg_len, "JSON input is %zu bytes, over the limit of %zu", json_len,
                     lim->max_json);
        return ATT_ERR_TOO_LARGE;
    }
    json_t *doc = json_loadb(json != NULL ? json : "", json_len,
                             JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (doc == NULL) {
        /* Position only: jansson's text may quote the input. */
        jmes_set_msg(msg, msg_len, "JSON input is not valid JSON (line %d, column %d)", jerr.line,
                     jerr.column);
        return ATT_ERR_JSON;
    }
    *out = doc;
    return ATT_OK;
}

/* The query's tree (lexer, then parser); the caller frees p->nodes and the lexer. */
static att_err compile(const char *query, size_t query_len, const struct att_jmespath_limits *lim,
                       struct jmes_lexer *lx, struct jmes_parser *p, size_t *root, char *msg,
                       size_t msg_len)
{
    if (query_len > lim->max_query) {
        jmes_set_msg(msg, msg_len, "query is %zu bytes, over the limit of %zu", query_len,
                     lim->max_query);
        return ATT_ERR_TOO_LARGE;
    }
    jmes_lex_init(lx, query, query_len, msg, msg_len);
    ATT_TRY(jmes_lex_all(lx));
    p->toks = lx->toks;
    p->ntoks = lx->n;
    p->max_depth = lim->max_depth;
    p->msg = msg;
    p->msg_len = msg_len;
    return jmes_parse(p, root);
}

/* Evaluate the compiled query on `doc` and append the result's JSON text to `out`. */
static att_err run(const struct jmes_parser *p, size_t root, json_t *doc,
                   const struct att_jmespath_limits *lim, struct att_budget *budget,
                   struct att_buf *out, json_t **tree, char *msg, size_t msg_len)
{
    struct jmes_evaluator ev = {
        .nodes = p->nodes, .budget = budget, .msg = msg, .msg_len = msg_len};
    struct att_buf text;
    json_t *result = NULL;
    att_err rc = ATT_ERR_INTERNAL;
    att_buf_init(&text, lim->max_output);
    ATT_GUARD(jmes_eval(&ev, root, doc, &result));
    jmes_write_json(&text, result);
    if (att_buf_err(&text) == ATT_ERR_TOO_LARGE) {
        jmes_set_msg(msg, msg_len, "result is over the limit of %zu bytes", lim->max_output);
    }
    ATT_GUARD(att_buf_err(&text));
    ATT_GUARD(att_buf_put(out, text.len > 0 ? text.data : (const uint8_t *)"", text.len));
    if (tree != NULL) {
        *tree = result != NULL ? result : json_null();
        result = NULL;
    }
    rc = ATT_OK;
out:
    json_decref(result);
    att_buf_cleanup(&text);
    return rc;
}

/* Every failure explains itself, even one without a detail of its own. */
static att_err explained(att_err rc, char *msg, size_t msg_len)
{
    if (rc == ATT_OK) {
        jmes_set_msg(msg, msg_len, "%s", "");
    } else if (msg != NULL && msg_len > 0 && msg[0] == '\0') {
        jmes_set_msg(msg, msg_len, "%s", att_err_str(rc));
    }
    return rc;
}

struct att_jmespath_query {
    char *text; /* a copy: the tokens borrow it */
    size_t len;
    struct jmes_lexer lx;
    struct jmes_parser p;
    size_t root;
};

void att_jmespath_query_free(struct att_jmespath_query *q)
{
    if (q != NULL) {
        free(q->p.nodes);
        jmes_lex_cleanup(&q->lx);
        free(q->text);
        free(q);
    }
}

att_err att_jmespath_compile(const char *query, size_t query_len,
                             const struct att_jmespath_limits *lim, struct att_jmespath_query **out,
                             char *msg, size_t msg_len)
{
    struct att_jmespath_limits defaults;
    att_err rc = ATT_ERR_NOMEM;
    struct att_jmespath_query *q = calloc(1, sizeof(*q));
    jmes_set_msg(msg, msg_len, "%s", "");
    if (lim == NULL) {
        att_jmespath_limits_default(&defaults);
        lim = &defaults;
    }
    ATT_CHECK(query != NULL || query_len == 0, ATT_ERR_ARG);
    ATT_CHECK(q != NULL && (q->text = malloc(query_len + 1)) != NULL, ATT_ERR_NOMEM);
    if (query_len > 0) {
        memcpy(q->text, query, query_len);
    }
    q->len = query_len;
    q->root = JMES_NO_NODE;
    ATT_GUARD(compile(q->text, query_len, lim, &q->lx, &q->p, &q->root, msg, msg_len));
    q->p.msg = NULL; /* the caller's buffer: compiling is over */
    q->p.msg_len = 0;
    *out = q;
    return ATT_OK;
out:
    att_jmespath_query_free(q);
    return explained(rc, msg, msg_len);
}

bool att_jmespath_query_is(const struct att_jmespath_query *q, const char *query, size_t len)
{
    return q->len == len && (len == 0 || memcmp(q->text, query, len) == 0);
}

att_err att_jmespath_query_eval(const struct att_jmespath_query *q, json_t *doc,
                                const struct att_jmespath_limits *lim, struct att_budget *budget,
                                struct att_buf *out, json_t **tree, char *msg, size_t msg_len)
{
    struct att_jmespath_limits defaults;
    att_err rc = ATT_ERR_ARG;
    jmes_set_msg(msg, msg_len, "%s", "");
    if (lim == NULL) {
        att_jmespath_limits_default(&defaults);
        lim = &defaults;
    }
    if (q != NULL && doc != NULL && budget != NULL && out != NULL) {
        rc = run(&q->p, q->root, doc, lim, budget, out, tree, msg, msg_len);
    }
    return explained(rc, msg, msg_len);
}

att_err att_jmespath_query_tree(const struct att_jmespath_query *q, json_t *doc,
                                const struct att_jmespath_limits *lim, struct att_budget *budget,
                                json_t **tree, size_t *text_len, char *msg, size_t msg_len)
{
    struct att_jmespath_limits defaults;
    jmes_set_msg(msg, msg_len, "%s", "");
    if (lim == NULL) {
        att_jmespath_limits_default(&defaults);
        lim = &defaults;
    }
    if (q == NULL || doc == NULL || budget == NULL || tree == NULL || text_len == NULL) {
        return explained(ATT_ERR_ARG, msg, msg_len);
    }
    struct jmes_evaluator ev = {
        .nodes = q->p.nodes, .budget = budget, .msg = msg, .msg_len = msg_len};
    json_t *result = NULL;
    att_err rc = jmes_eval(&ev, q->root, doc, &result);
    if (rc == ATT_OK && !jmes_json_length(result, lim->max_output, text_len)) {
        jmes_set_msg(msg, msg_len, "result is over the limit of %zu bytes", lim->max_output);
        rc = ATT_ERR_TOO_LARGE;
    }
    if (rc != ATT_OK) {
        json_decref(result);
        return explained(rc, msg, msg_len);
    }
    *tree = result != NULL ? result : json_null();
    return ATT_OK;
}

att_err att_jmespath_write(json_t *tree, struct att_buf *out)
{
    jmes_write_json(out, tree);
    return att_buf_err(out);
}

att_err att_jmespath_eval_doc(json_t *doc, const char *query, size_t query_len,
                              const struct att_jmespath_limits *lim, struct att_budget *budget,
                              struct att_buf *out, json_t **tree, char *msg, size_t msg_len)
{
    struct att_jmespath_query *q = NULL;
    if (doc == NULL || budget == NULL || out == NULL) {
        return explained(ATT_ERR_ARG, msg, msg_len);
    }
    ATT_TRY(att_jmespath_compile(query, query_len, lim, &q, msg, msg_len));
    att_err rc = att_jmespath_query_eval(q, doc, lim, budget, out, tree, msg, msg_len);
    att_jmespath_query_free(q);
    return rc;
}

att_err att_jmespath_eval(const char *json, size_t json_len, const char *query, size_t query_len,
                          const struct att_jmespath_limits *lim, struct att_buf *out, char *msg,
                          size_t msg_len)
{
    struct att_jmespath_limits defaults;
    struct jmes_lexer lx;
    struct jmes_parser p;
    size_t root = JMES_NO_NODE;
    json_t *doc = NULL;
    att_err rc = ATT_ERR_INTERNAL;
    memset(&lx, 0, sizeof(lx));
    memset(&p, 0, sizeof(p));
    jmes_set_msg(msg, msg_len, "%s", "");
    if (lim == NULL) {
        att_jmespath_limits_default(&defaults);
        lim = &defaults;
    }
    ATT_CHECK(out != NULL && (query != NULL || query_len == 0) && (json != NULL || json_len == 0),
              ATT_ERR_ARG);
    /* Sizes first (the query's, then the JSON's), then query errors, then JSON errors. */
    if (query_len <= lim->max_query && json_len > lim->max_json) {
        ATT_GUARD(att_jmespath_load(json, json_len, lim, &doc, msg, msg_len));
    }
    ATT_GUARD(compile(query, query_len, lim, &lx, &p, &root, msg, msg_len));
    ATT_GUARD(att_jmespath_load(json, json_len, lim, &doc, msg, msg_len));
    struct att_budget budget = {0, lim->max_steps};
    ATT_GUARD(run(&p, root, doc, lim, &budget, out, NULL, msg, msg_len));
    rc = ATT_OK;
out:
    json_decref(doc);
    free(p.nodes);
    jmes_lex_cleanup(&lx);
    return explained(rc, msg, msg_len);
}
