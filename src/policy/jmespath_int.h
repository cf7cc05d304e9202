/*
 * jmespath_int.h - private to the JMESPath evaluator (src/policy/jmespath*.c):
 * tokens, the node tree, the built-in function table and the layer entry points.
 * Nothing outside these files includes it; everyone else uses jmespath.h.
 *
 * Layers, each in its own file, called only by att_jmespath_eval() (jmespath.c):
 *
 *   jmespath_lex.c    query bytes -> tokens (the only reader of the query text)
 *   jmespath_parse.c  tokens -> tree of nodes (Pratt parser, jmespath.py binding powers)
 *   jmespath_eval.c   tree + jansson value -> value (expressions, projections)
 *   jmespath_func.c   the built-in functions: length(), MAA's equals_ignore_case()
 *   jmespath_write.c  value -> compact JSON text
 *
 * Trust: the query and the JSON are untrusted (see jmespath.h). Tokens and nodes
 * borrow from each other and from the query; all of them live until
 * att_jmespath_eval() returns.
 */
#ifndef ATT_POLICY_JMESPATH_INT_H
#define ATT_POLICY_JMESPATH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"
#include "policy/budget.h"

/* Format a detail ("column N: ...") into the caller's message buffer; msg may be NULL
 * when msg_len is 0. */
void jmes_set_msg(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- lexer: query bytes -> tokens (jmespath_lex.c) ------------------------------------ */

enum jmes_tok {
    JT_EOF,
    JT_UNQUOTED, /* foo */
    JT_QUOTED,   /* "foo" */
    JT_LITERAL,  /* `json` or 'raw string' */
    JT_NUMBER,   /* -12 (only valid inside [ ]) */
    JT_DOT,
    JT_STAR,
    JT_RBRACKET,
    JT_COMMA,
    JT_COLON,
    JT_CURRENT, /* @ */
    JT_LPAREN,
    JT_RPAREN,
    JT_LBRACE,
    JT_RBRACE,
    JT_FLATTEN,  /* [] */
    JT_FILTER,   /* [? */
    JT_LBRACKET, /* [ */
    JT_PIPE,
    JT_OR,
    JT_AND,
    JT_EXPREF, /* & */
    JT_LT,
    JT_LTE,
    JT_GT,
    JT_GTE,
    JT_EQ,
    JT_NE,
    JT_NOT,
};

struct jmes_token {
    enum jmes_tok kind;
    size_t col;            /* 1-based byte column of the token's first byte */
    struct att_bytes name; /* JT_UNQUOTED: borrowed from the query; JT_QUOTED: from `value` */
    json_t *value;         /* JT_QUOTED (the decoded name) and JT_LITERAL: owned */
    int64_t number;        /* JT_NUMBER, saturated to +-JMES_INDEX_MAX */
    bool raw;              /* JT_LITERAL written as 'raw string' */
};

/* Any index beyond this is out of range of every array a 1 MiB document can hold. */
#define JMES_INDEX_MAX ((int64_t)1 << 40)

struct jmes_lexer {
    struct att_rd rd;
    struct att_bytes query;
    struct jmes_token *toks; /* owned, n used of cap; the last one is JT_EOF */
    size_t n;
    size_t cap;
    char *msg;
    size_t msg_len;
};

/* Start a lexer over `query` (borrowed; must outlive the tokens). */
void jmes_lex_init(struct jmes_lexer *lx, const char *query, size_t query_len, char *msg,
                   size_t msg_len);
/* Tokenize the whole query. ATT_ERR_JMESPATH_SYNTAX (msg set), ATT_ERR_NOMEM. */
att_err jmes_lex_all(struct jmes_lexer *lx) ATT_WUR;
/* Free the tokens and their values; safe on a zeroed or failed lexer. */
void jmes_lex_cleanup(struct jmes_lexer *lx);

/* True for the bytes of an unquoted identifier: [A-Za-z0-9_]. */
bool jmes_is_ident_char(uint8_t c);

/* ---- parser: tokens -> nodes (jmespath_parse.c) --------------------------------------- */

enum jmes_node_kind {
    JN_CURRENT,     /* @ and the implicit right side of a projection */
    JN_FIELD,       /* identifier */
    JN_INDEX,       /* [n] applied to the current node */
    JN_LITERAL,     /* `json` or 'raw' */
    JN_SEQ,         /* sub-expression a.b, index chain a[0], pipe a | b: left to right */
    JN_PROJECT,     /* [left, right]: right applied to each element of left, nulls dropped */
    JN_FLATTEN,     /* [child]: child's array with nested arrays merged one level */
    JN_FILTER,      /* [left, cond, right]: projection of the elements where cond is true */
    JN_OR,          /* n-ary || */
    JN_AND,         /* n-ary && */
    JN_NOT,         /* [child] */
    JN_CMP,         /* [left, right], op in `op` */
    JN_HASH,        /* {k: v, ...}: children are the values, each named by its `key` */
    JN_CALL,        /* built-in function `func`, children are the arguments */
    JN_UNSUPPORTED, /* valid JMESPath outside the subset; never evaluated */
};

#define JMES_NO_NODE ((size_t)0) /* node 0 is a sentinel, never a real node */

struct jmes_func;

struct jmes_node {
    enum jmes_node_kind kind;
    enum jmes_tok op;             /* JN_CMP */
    size_t col;                   /* where the construct starts, for runtime messages */
    size_t depth;                 /* 1 + depth of the deepest child */
    struct att_bytes name;        /* JN_FIELD, borrowed from the token */
    struct att_bytes key;         /* a child of JN_HASH: its member name, from the token */
    int64_t index;                /* JN_INDEX */
    json_t *literal;              /* JN_LITERAL, borrowed from the token */
    const struct jmes_func *func; /* JN_CALL */
    size_t first;                 /* first child, or JMES_NO_NODE */
    size_t last;                  /* last child, or JMES_NO_NODE */
    size_t next;                  /* next sibling, or JMES_NO_NODE */
};

struct jmes_parser {
    const struct jmes_token *toks; /* borrowed from the lexer */
    size_t ntoks;
    size_t pos;
    struct jmes_node *nodes; /* owned (free()), nnodes used of cap; node 0 is the sentinel */
    size_t nnodes;
    size_t cap;
    size_t depth;
    size_t max_depth;
    const char *unsupported; /* first feature outside the subset, e.g. "slice expression" */
    size_t unsupported_col;
    char unsupported_name[48]; /* function name for "function '...'" */
    char *msg;
    size_t msg_len;
};

/*
 * Parse the tokens into p->nodes; *root is the top node. The whole query is parsed
 * before a feature outside the subset is reported, so syntax errors win.
 * ATT_ERR_JMESPATH_SYNTAX, ATT_ERR_JMESPATH_UNSUPPORTED, ATT_ERR_JMESPATH_BUDGET (depth),
 * ATT_ERR_NOMEM; msg explains. The caller frees p->nodes in every case.
 */
att_err jmes_parse(struct jmes_parser *p, size_t *root) ATT_WUR;

/* ---- evaluator: nodes + JSON -> JSON (jmespath_eval.c) -------------------------------- */

struct jmes_evaluator {
    const struct jmes_node *nodes;
    struct att_budget *budget; /* shared with the caller (a policy evaluation) */
    char *msg;
    size_t msg_len;
};

/* Evaluate node `n` against `cur` (borrowed); *out is a new reference, never NULL.
 * ATT_ERR_JMESPATH_BUDGET, ATT_ERR_JMESPATH_TYPE, ATT_ERR_NOMEM; msg explains. */
att_err jmes_eval(struct jmes_evaluator *e, size_t n, json_t *cur, json_t **out) ATT_WUR;
/*
 * Steps of the dearer operations, so that a step costs about the same CPU time whatever
 * takes it (bench/bench_policy_budget.c): making an object (an allocation and a hash table),
 * adding a member to one (a key copied and hashed), looking a key up by value.
 */
#define JMES_COST_NEW_VALUE 6
#define JMES_COST_NEW_MEMBER 6
#define JMES_COST_KEY_LOOKUP 3
/* A key is hashed (looked up, inserted) and, inserted, copied: one more step per 8 bytes. */
#define JMES_KEY_BYTES_PER_STEP 8

/* Take n steps from the budget; ATT_ERR_JMESPATH_BUDGET when it runs out. */
att_err jmes_charge(struct jmes_evaluator *e, size_t n) ATT_WUR;
/* Steps for work proportional to a string's length: one per 64 bytes. */
size_t jmes_string_cost(size_t len);
/* Steps for hashing (and copying) an object key of `len` bytes. */
size_t jmes_key_cost(size_t len);
/* Steps for reading a string a byte at a time through the bounded reader (length() counts
 * code points, equals_ignore_case() folds case): one per 4 bytes, the rate such a loop runs. */
size_t jmes_bytewise_cost(size_t len);
/* Spec type names ("string", "number", ...) for messages. */
const char *jmes_type_name(const json_t *v);

/* ---- built-in functions (jmespath_func.c) --------------------------------------------- */

#define JMES_MAX_ARGS 2

/*
 * One built-in. `eval` gets the evaluated arguments (borrowed, exactly `nargs` of them,
 * the count checked by the parser) and returns a new reference in *out; type errors are
 * ATT_ERR_JMESPATH_TYPE with "column N: name() expects ..., got TYPE".
 */
struct jmes_func {
    const char *name;
    size_t nargs;
    att_err (*eval)(struct jmes_evaluator *e, const struct jmes_node *call, json_t *const *args,
                    json_t **out);
};

/* The built-in called `name`, or NULL when it is not one (outside the subset). */
const struct jmes_func *jmes_func_find(struct att_bytes name);

/* ---- writer: JSON -> compact JSON text (jmespath_write.c) ----------------------------- */

/* Append `v` as compact JSON to `b`; errors are sticky in `b` (att_buf_err). */
void jmes_write_json(struct att_buf *b, json_t *v);
/* The length jmes_write_json would write for `v`, counted without writing: false when it is
 * over `max` (the count then stops). */
bool jmes_json_length(json_t *v, size_t max, size_t *len);

#endif
