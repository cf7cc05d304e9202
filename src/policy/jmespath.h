/*
 * jmespath.h - the JMESPath subset used by Microsoft Azure Attestation's TPM
 * measured-boot policies (`JmesPath(json, query)`, docs/reference/maa-policy.md §3.7).
 *
 * Both the query and the JSON are untrusted (they come from policy text and
 * from the attested event log). The query is read through the bounded reader;
 * nesting depth, evaluation steps and output size are capped by
 * struct att_jmespath_limits. The function is pure: no I/O, no global state.
 *
 * Supported (JMESPath specification, https://jmespath.org/specification.html):
 * identifiers (bare and "quoted"), sub-expressions `a.b`, index `[0]`/`[-1]`,
 * `@`, list wildcard `[*]`, flatten `[]`, filters `[?expr]` with
 * `== != < <= > >=`, `&&`, `||`, `!`, parentheses, pipes `|`, raw string
 * literals `'...'`, JSON literals in backticks, multi-select hashes
 * `{key: expr, ...}`, the function `length()` and MAA's extension
 * `equals_ignore_case(string, string)` (ASCII case folding).
 *
 * Not supported (ATT_ERR_JMESPATH_UNSUPPORTED, the message names the feature):
 * slices, object wildcard `.*`, multi-select lists, expression references `&`,
 * a key written twice in one multi-select hash, and every other function. See
 * docs/internals/policy.md, section "JMESPath subset".
 */
#ifndef ATT_POLICY_JMESPATH_H
#define ATT_POLICY_JMESPATH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "policy/budget.h"

struct att_jmespath_limits {
    size_t max_query;  /* bytes of the query text (default 4096) */
    size_t max_json;   /* bytes of the JSON input (default 1 MiB) */
    size_t max_depth;  /* expression nesting depth (default 32) */
    size_t max_steps;  /* evaluation steps of att_jmespath_eval (default 1,000,000) */
    size_t max_output; /* bytes of the JSON result (default 1 MiB) */
};

#define ATT_JMESPATH_DEFAULT_MAX_QUERY ((size_t)4096)
#define ATT_JMESPATH_DEFAULT_MAX_JSON ((size_t)1 << 20)
#define ATT_JMESPATH_DEFAULT_MAX_DEPTH ((size_t)32)
#define ATT_JMESPATH_DEFAULT_MAX_STEPS ((size_t)1000000)
#define ATT_JMESPATH_DEFAULT_MAX_OUTPUT ((size_t)1 << 20)

/* Fill `lim` with the defaults above. */
void att_jmespath_limits_default(struct att_jmespath_limits *lim);

/*
 * Evaluate `query` on the JSON text `json`; the result is appended to `out`
 * as compact JSON text (null when the expression yields null). Neither input
 * needs to be NUL-terminated; neither is kept. `lim` may be NULL for the
 * defaults. `msg` (may be NULL when msg_len is 0) receives a NUL-terminated
 * human-readable detail on failure ("" on success); it never echoes the JSON.
 * On failure `out` is left as it was (nothing is appended).
 *
 * Errors:
 *   ATT_ERR_JMESPATH_SYNTAX       query is not JMESPath; msg gives the 1-based
 *                                 column and what was expected
 *   ATT_ERR_JMESPATH_UNSUPPORTED  valid JMESPath outside the subset; msg names
 *                                 the feature (e.g. "function 'contains'")
 *   ATT_ERR_JSON                  `json` is not JSON text
 *   ATT_ERR_TOO_LARGE             query, JSON or result over its cap
 *   ATT_ERR_JMESPATH_BUDGET       nesting depth or step budget exhausted
 *   ATT_ERR_JMESPATH_TYPE         a function argument of the wrong type: length()
 *                                 of a number, boolean or null, equals_ignore_case()
 *                                 of a non-string (spec "invalid-type"); msg gives
 *                                 the column
 *   ATT_ERR_ARG                   NULL pointers
 *   ATT_ERR_NOMEM                 allocation failed
 */
att_err att_jmespath_eval(const char *json, size_t json_len, const char *query, size_t query_len,
                          const struct att_jmespath_limits *lim, struct att_buf *out, char *msg,
                          size_t msg_len) ATT_WUR;

/*
 * The two halves of att_jmespath_eval, for a caller that queries one document many times
 * and bounds all its work with one budget (a policy evaluation, src/policy/eval.c).
 *
 * att_jmespath_load decodes JSON text the way att_jmespath_eval does (at most
 * lim->max_json bytes, duplicate keys refused); *out is a new reference.
 * Errors: ATT_ERR_TOO_LARGE, ATT_ERR_JSON (msg gives the position only), ATT_ERR_ARG.
 *
 * att_jmespath_eval_doc evaluates `query` on `doc` (borrowed, never modified) and appends
 * the result as att_jmespath_eval does; with `tree` non-NULL, *tree is the result as a tree
 * too (a new reference: what the text decodes to, so a later query need not parse it). Evaluation
 * steps are taken from `budget`, which the caller may share with other work; lim->max_steps is not
 * used. Decoding the document, reading the query and writing the result are the caller's to charge
 * (it knows their sizes). Errors as att_jmespath_eval, ATT_ERR_JMESPATH_BUDGET when `budget` runs
 * out.
 */
/*
 * A compiled query, for a caller that runs one query many times (a policy evaluation caches
 * them): att_jmespath_compile checks and parses `query` (copied; errors as att_jmespath_eval's),
 * att_jmespath_query_eval runs it as att_jmespath_eval_doc does, att_jmespath_query_is says
 * whether it was compiled from `query`.
 */
struct att_jmespath_query;
att_err att_jmespath_compile(const char *query, size_t query_len,
                             const struct att_jmespath_limits *lim, struct att_jmespath_query **out,
                             char *msg, size_t msg_len) ATT_WUR;
att_err att_jmespath_query_eval(const struct att_jmespath_query *q, json_t *doc,
                                const struct att_jmespath_limits *lim, struct att_budget *budget,
                                struct att_buf *out, json_t **tree, char *msg,
                                size_t msg_len) ATT_WUR;
/* As att_jmespath_query_eval, without writing the text: *tree is the result and *text_len the
 * length of the text it would have written (over lim->max_output: ATT_ERR_TOO_LARGE). */
att_err att_jmespath_query_tree(const struct att_jmespath_query *q, json_t *doc,
                                const struct att_jmespath_limits *lim, struct att_budget *budget,
                                json_t **tree, size_t *text_len, char *msg, size_t msg_len) ATT_WUR;
/* The text att_jmespath_query_eval writes for a result `tree`, appended to `out`. */
att_err att_jmespath_write(json_t *tree, struct att_buf *out) ATT_WUR;
bool att_jmespath_query_is(const struct att_jmespath_query *q, const char *query, size_t len);
/* Accepts NULL. */
void att_jmespath_query_free(struct att_jmespath_query *q);

att_err att_jmespath_load(const char *json, size_t json_len, const struct att_jmespath_limits *lim,
                          json_t **out, char *msg, size_t msg_len) ATT_WUR;
att_err att_jmespath_eval_doc(json_t *doc, const char *query, size_t query_len,
                              const struct att_jmespath_limits *lim, struct att_budget *budget,
                              struct att_buf *out, json_t **tree, char *msg,
                              size_t msg_len) ATT_WUR;

#endif
