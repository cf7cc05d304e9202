/*
 * jmespath_parse.c - JMESPath tokens -> a tree of nodes: layer 2 of att_jmespath_eval().
 *
 * Input trust: the tokens come from untrusted policy text. Recursion happens only
 * through expression(), which counts its depth against max_depth; add_child() caps
 * the depth of the tree the same way, which bounds the evaluator's recursion.
 * Nodes live in one array (node 0 is a sentinel) linked by indexes.
 *
 * A Pratt parser with the binding powers and the nud/led split of the reference
 * implementation, jmespath.py (parser.py). Spec: JMESPath Specification,
 * https://jmespath.org/specification.html; each construct cites its section.
 */
#include "policy/jmespath_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rd.h"

/* Binding powers of the reference parser (jmespath.py Parser.BINDING_POWER). */
static int binding_power(enum jmes_tok k)
{
    switch (k) {
    case JT_PIPE: return 1;
    case JT_OR: return 2;
    case JT_AND: return 3;
    case JT_LT:
    case JT_LTE:
    case JT_GT:
    case JT_GTE:
    case JT_EQ:
    case JT_NE: return 5;
    case JT_FLATTEN: return 9;
    case JT_STAR: return 20;
    case JT_FILTER: return 21;
    case JT_DOT: return 40;
    case JT_NOT: return 45;
    case JT_LBRACE: return 50;
    case JT_LBRACKET: return 55;
    case JT_LPAREN: return 60;
    default: return 0;
    }
}

/* Tokens below this binding power end a projection (spec, "Projections"). */
#define PROJECTION_STOP 10

static const char *tok_desc(const struct jmes_token *t)
{
    switch (t->kind) {
    case JT_EOF: return "end of query";
    case JT_UNQUOTED: return "identifier";
    case JT_QUOTED: return "quoted identifier";
    case JT_LITERAL: return t->raw ? "raw string" : "JSON literal";
    case JT_NUMBER: return "number";
    case JT_DOT: return "'.'";
    case JT_STAR: return "'*'";
    case JT_RBRACKET: return "']'";
    case JT_COMMA: return "','";
    case JT_COLON: return "':'";
    case JT_CURRENT: return "'@'";
    case JT_LPAREN: return "'('";
    case JT_RPAREN: return "')'";
    case JT_LBRACE: return "'{'";
    case JT_RBRACE: return "'}'";
    case JT_FLATTEN: return "'[]'";
    case JT_FILTER: return "'[?'";
    case JT_LBRACKET: return "'['";
    case JT_PIPE: return "'|'";
    case JT_OR: return "'||'";
    case JT_AND: return "'&&'";
    case JT_EXPREF: return "'&'";
    case JT_LT: return "'<'";
    case JT_LTE: return "'<='";
    case JT_GT: return "'>'";
    case JT_GTE: return "'>='";
    case JT_EQ: return "'=='";
    case JT_NE: return "'!='";
    case JT_NOT: return "'!'";
    default: return "token";
    }
}

static const struct jmes_token *cur(const struct jmes_parser *p)
{
    return &p->toks[p->pos];
}

/* Kind of the token `ahead` places after the current one (EOF past the end). */
static enum jmes_tok peek_kind(const struct jmes_parser *p, size_t ahead)
{
    if (ahead >= p->ntoks - p->pos) {
        return JT_EOF;
    }
    return p->toks[p->pos + ahead].kind;
}

static void advance(struct jmes_parser *p)
{
    if (p->toks[p->pos].kind != JT_EOF) {
        p->pos++;
    }
}

/* "column N: expected X, found Y" at the current token. */
static att_err expected(struct jmes_parser *p, const char *what)
{
    const struct jmes_token *t = cur(p);
    jmes_set_msg(p->msg, p->msg_len, "column %zu: expected %s, found %s", t->col, what,
                 tok_desc(t));
    return ATT_ERR_JMESPATH_SYNTAX;
}

static att_err match(struct jmes_parser *p, enum jmes_tok k, const char *what)
{
    if (cur(p)->kind != k) {
        return expected(p, what);
    }
    advance(p);
    return ATT_OK;
}

/* Remember the first construct outside the subset; parsing goes on so that
 * syntax errors later in the query still win (only valid JMESPath is
 * "unsupported"). */
static void note_unsupported(struct jmes_parser *p, size_t col, const char *feature)
{
    if (p->unsupported == NULL) {
        p->unsupported = feature;
        p->unsupported_col = col;
    }
}

static att_err new_node(struct jmes_parser *p, enum jmes_node_kind kind, size_t col, size_t *out)
{
    if (p->nnodes == p->cap) {
        size_t cap = p->cap * 2;
        struct jmes_node *n = realloc(p->nodes, cap * sizeof(*n));
        if (n == NULL) {
            return ATT_ERR_NOMEM;
        }
        p->nodes = n;
        p->cap = cap;
    }
    struct jmes_node *n = &p->nodes[p->nnodes];
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->col = col;
    n->depth = 1;
    *out = p->nnodes++;
    return ATT_OK;
}

static att_err depth_exceeded(struct jmes_parser *p, size_t col)
{
    jmes_set_msg(p->msg, p->msg_len,
                 "column %zu: expression nesting exceeds the depth limit of %zu", col,
                 p->max_depth);
    return ATT_ERR_JMESPATH_BUDGET;
}

/* Append `child` to `parent`'s children; enforces the tree depth limit,
 * which also bounds the evaluator's recursion. */
static att_err add_child(struct jmes_parser *p, size_t parent, size_t child)
{
    struct jmes_node *pn = &p->nodes[parent];
    const struct jmes_node *cn = &p->nodes[child];
    if (cn->depth + 1 > pn->depth) {
        if (cn->depth >= p->max_depth) {
            return depth_exceeded(p, pn->col);
        }
        pn->depth = cn->depth + 1;
    }
    if (pn->last == JMES_NO_NODE) {
        pn->first = child;
    } else {
        p->nodes[pn->last].next = child;
    }
    pn->last = child;
    return ATT_OK;
}

static att_err node2(struct jmes_parser *p, enum jmes_node_kind kind, size_t col, size_t a,
                     size_t b, size_t *out)
{
    ATT_TRY(new_node(p, kind, col, out));
    ATT_TRY(add_child(p, *out, a));
    return add_child(p, *out, b);
}

/* Extend an n-ary node of `kind` if `left` is one, else make a new one:
 * a.b.c, a | b | c, a || b || c and a && b && c stay flat, so long chains
 * do not deepen the tree (each is associative). */
static att_err chain(struct jmes_parser *p, enum jmes_node_kind kind, size_t left, size_t right,
                     size_t *out)
{
    if (p->nodes[left].kind == kind) {
        ATT_TRY(add_child(p, left, right));
        *out = left;
        return ATT_OK;
    }
    return node2(p, kind, p->nodes[left].col, left, right, out);
}

static att_err expression(struct jmes_parser *p, int bp, size_t *out);
static att_err led(struct jmes_parser *p, const struct jmes_token *t, size_t left, size_t *out);
static att_err multi_select_list(struct jmes_parser *p, size_t col, size_t *out);
static att_err multi_select_hash(struct jmes_parser *p, size_t col, size_t *out);

/* After '.' (jmespath.py _parse_dot_rhs): an identifier (or a function call on
 * one), '*', a multi-select list or a multi-select hash. */
static att_err dot_rhs(struct jmes_parser *p, int bp, size_t *out)
{
    const struct jmes_token *t = cur(p);
    switch (t->kind) {
    case JT_UNQUOTED:
    case JT_QUOTED:
    case JT_STAR: return expression(p, bp, out);
    case JT_LBRACKET: advance(p); return multi_select_list(p, t->col, out);
    case JT_LBRACE: advance(p); return multi_select_hash(p, t->col, out);
    default: return expected(p, "an identifier, '*', '[' or '{' after '.'");
    }
}

/* Right side of a projection (jmespath.py _parse_projection_rhs). */
static att_err projection_rhs(struct jmes_parser *p, int bp, size_t *out)
{
    const struct jmes_token *t = cur(p);
    if (binding_power(t->kind) < PROJECTION_STOP) {
        return new_node(p, JN_CURRENT, t->col, out);
    }
    switch (t->kind) {
    case JT_LBRACKET:
    case JT_FILTER: return expression(p, bp, out);
    case JT_DOT: advance(p); return dot_rhs(p, bp, out);
    default: return expected(p, "'.', '[' or '[?' after a projection");
    }
}

/* [a, b] (after the '['): spec "MultiSelect List". Outside the subset. */
static att_err multi_select_list(struct jmes_parser *p, size_t col, size_t *out)
{
    note_unsupported(p, col, "multi-select list");
    size_t node;
    ATT_TRY(new_node(p, JN_UNSUPPORTED, col, &node));
    for (;;) {
        size_t e;
        ATT_TRY(expression(p, 0, &e));
        ATT_TRY(add_child(p, node, e));
        if (cur(p)->kind == JT_RBRACKET) {
            advance(p);
            *out = node;
            return ATT_OK;
        }
        ATT_TRY(match(p, JT_COMMA, "',' or ']'"));
    }
}

static bool bytes_equal(struct att_bytes a, struct att_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* True when an earlier member of `hash` is called `key`. Quadratic, but the members
 * come from a query capped at max_query bytes. */
static bool hash_has_key(const struct jmes_parser *p, size_t hash, struct att_bytes key)
{
    for (size_t c = p->nodes[hash].first; c != JMES_NO_NODE; c = p->nodes[c].next) {
        if (bytes_equal(p->nodes[c].key, key)) {
            return true;
        }
    }
    return false;
}

/*
 * {k: v, ...} (after the '{'). Spec, "MultiSelect Hash":
 *   multi-select-hash = "{" keyval-expr *( "," keyval-expr ) "}"
 *   keyval-expr       = identifier ":" expression
 * where identifier is an unquoted or a quoted identifier. The spec says nothing about
 * a key written twice (jmespath.py keeps the last value); attestd refuses it as a
 * feature outside the subset, as it refuses duplicate keys in JSON, so that a policy
 * never silently loses a member.
 */
static att_err multi_select_hash(struct jmes_parser *p, size_t col, size_t *out)
{
    size_t node;
    ATT_TRY(new_node(p, JN_HASH, col, &node));
    for (;;) {
        const struct jmes_token *k = cur(p);
        if (k->kind != JT_UNQUOTED && k->kind != JT_QUOTED) {
            return expected(p, "an identifier as multi-select hash key");
        }
        if (hash_has_key(p, node, k->name)) {
            note_unsupported(p, k->col, "a duplicate key in a multi-select hash");
        }
        advance(p);
        ATT_TRY(match(p, JT_COLON, "':'"));
        size_t e;
        ATT_TRY(expression(p, 0, &e));
        p->nodes[e].key = k->name;
        ATT_TRY(add_child(p, node, e));
        if (cur(p)->kind == JT_RBRACE) {
            advance(p);
            *out = node;
            return ATT_OK;
        }
        ATT_TRY(match(p, JT_COMMA, "',' or '}'"));
    }
}

/* [start:stop:step] (at the first number or ':'): spec "Slices". Outside the subset. */
static att_err slice(struct jmes_parser *p, size_t col, size_t *out)
{
    note_unsupported(p, col, "slice expression");
    size_t colons = 0;
    bool number_ok = true;
    while (cur(p)->kind != JT_RBRACKET) {
        if (cur(p)->kind == JT_COLON && colons < 2) {
            colons++;
            number_ok = true;
        } else if (cur(p)->kind == JT_NUMBER && number_ok) {
            number_ok = false;
        } else {
            return expected(p, colons < 2 ? "a number, ':' or ']' in a slice"
                                          : "a number or ']' in a slice");
        }
        advance(p);
    }
    advance(p);
    return new_node(p, JN_UNSUPPORTED, col, out);
}

/* After '[' followed by a number or ':': an index, or a slice (a projection). */
static att_err index_or_slice(struct jmes_parser *p, size_t col, size_t *out)
{
    if (cur(p)->kind == JT_COLON || peek_kind(p, 1) == JT_COLON) {
        size_t s, rhs;
        ATT_TRY(slice(p, col, &s));
        ATT_TRY(projection_rhs(p, binding_power(JT_STAR), &rhs));
        return node2(p, JN_UNSUPPORTED, col, s, rhs, out);
    }
    /* Spec, "Index Expressions": index-expression = expression bracket-specifier. */
    ATT_TRY(new_node(p, JN_INDEX, col, out));
    p->nodes[*out].index = cur(p)->number;
    advance(p);
    return match(p, JT_RBRACKET, "']'");
}

static att_err nud_function_check(struct jmes_parser *p, const struct jmes_token *t)
{
    if (cur(p)->kind == JT_LPAREN) {
        jmes_set_msg(p->msg, p->msg_len,
                     "column %zu: a function name cannot be a quoted identifier", t->col);
        return ATT_ERR_JMESPATH_SYNTAX;
    }
    return ATT_OK;
}

/* Prefix position ("null denotation"): what a token means at the start of an expression. */
static att_err nud(struct jmes_parser *p, const struct jmes_token *t, size_t *out)
{
    size_t a, b;
    switch (t->kind) {
    case JT_LITERAL:
        ATT_TRY(new_node(p, JN_LITERAL, t->col, out));
        p->nodes[*out].literal = t->value;
        return ATT_OK;
    case JT_QUOTED:
    case JT_UNQUOTED:
        if (t->kind == JT_QUOTED) {
            ATT_TRY(nud_function_check(p, t));
        }
        ATT_TRY(new_node(p, JN_FIELD, t->col, out));
        p->nodes[*out].name = t->name;
        return ATT_OK;
    case JT_CURRENT: return new_node(p, JN_CURRENT, t->col, out);
    case JT_STAR:
        /* Spec, "Wildcard Expressions": `*` alone is an object projection of @. */
        note_unsupported(p, t->col, "object wildcard '*'");
        if (cur(p)->kind == JT_RBRACKET) {
            return new_node(p, JN_UNSUPPORTED, t->col, out);
        }
        ATT_TRY(projection_rhs(p, binding_power(JT_STAR), &a));
        ATT_TRY(new_node(p, JN_UNSUPPORTED, t->col, out));
        return add_child(p, *out, a);
    case JT_FILTER: ATT_TRY(new_node(p, JN_CURRENT, t->col, &a)); return led(p, t, a, out);
    case JT_LBRACE: return multi_select_hash(p, t->col, out);
    case JT_LPAREN: ATT_TRY(expression(p, 0, out)); return match(p, JT_RPAREN, "')'");
    case JT_FLATTEN:
        ATT_TRY(new_node(p, JN_CURRENT, t->col, &a));
        ATT_TRY(new_node(p, JN_FLATTEN, t->col, &b));
        ATT_TRY(add_child(p, b, a));
        ATT_TRY(projection_rhs(p, binding_power(JT_FLATTEN), &a));
        return node2(p, JN_PROJECT, t->col, b, a, out);
    case JT_NOT:
        ATT_TRY(expression(p, binding_power(JT_NOT), &a));
        ATT_TRY(new_node(p, JN_NOT, t->col, out));
        return add_child(p, *out, a);
    case JT_LBRACKET:
        if (cur(p)->kind == JT_NUMBER || cur(p)->kind == JT_COLON) {
            return index_or_slice(p, t->col, out);
        }
        if (cur(p)->kind == JT_STAR && peek_kind(p, 1) == JT_RBRACKET) {
            advance(p);
            advance(p);
            ATT_TRY(new_node(p, JN_CURRENT, t->col, &a));
            ATT_TRY(projection_rhs(p, binding_power(JT_STAR), &b));
            return node2(p, JN_PROJECT, t->col, a, b, out);
        }
        return multi_select_list(p, t->col, out);
    case JT_EXPREF:
        note_unsupported(p, t->col, "expression reference '&'");
        ATT_TRY(expression(p, 0, &a));
        ATT_TRY(new_node(p, JN_UNSUPPORTED, t->col, out));
        return add_child(p, *out, a);
    default: break;
    }
    jmes_set_msg(p->msg, p->msg_len, "column %zu: expected an expression, found %s", t->col,
                 tok_desc(t));
    return ATT_ERR_JMESPATH_SYNTAX;
}

/* Copy a function name for the "unsupported" message; it came from an
 * unquoted identifier (ASCII letters, digits, '_'), shortened if long. */
static void note_function(struct jmes_parser *p, size_t col, struct att_bytes name)
{
    if (p->unsupported != NULL) {
        return;
    }
    note_unsupported(p, col, "function");
    size_t n =
        name.len < sizeof(p->unsupported_name) - 1 ? name.len : sizeof(p->unsupported_name) - 1;
    struct att_rd r;
    att_rd_init(&r, name.ptr, name.len);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = 0;
        att_ignore_err(att_rd_u8(&r, &c)); /* i < n <= name.len */
        p->unsupported_name[i] = jmes_is_ident_char(c) ? (char)c : '?';
    }
    p->unsupported_name[n] = '\0';
}

/*
 * Spec, "Functions Expressions": function-expression = unquoted-string
 * ( no-args / one-or-more-args ). The built-ins are in jmespath_func.c; their
 * arity is checked here (the spec's invalid-arity is a compile-time error).
 * Any other name is valid JMESPath outside the subset.
 */
static att_err function_call(struct jmes_parser *p, const struct jmes_token *lparen, size_t left,
                             size_t *out)
{
    const struct jmes_node *fn = &p->nodes[left];
    if (fn->kind != JN_FIELD) {
        jmes_set_msg(p->msg, p->msg_len, "column %zu: expected a function name before '('",
                     lparen->col);
        return ATT_ERR_JMESPATH_SYNTAX;
    }
    size_t col = fn->col;
    const struct jmes_func *def = jmes_func_find(fn->name);
    if (def == NULL) {
        note_function(p, col, fn->name);
    }
    ATT_TRY(new_node(p, def != NULL ? JN_CALL : JN_UNSUPPORTED, col, out));
    p->nodes[*out].func = def;
    size_t nargs = 0;
    if (cur(p)->kind != JT_RPAREN) {
        for (;;) {
            size_t a;
            ATT_TRY(expression(p, 0, &a));
            ATT_TRY(add_child(p, *out, a));
            nargs++;
            if (cur(p)->kind != JT_COMMA) {
                break;
            }
            advance(p);
        }
    }
    ATT_TRY(match(p, JT_RPAREN, "',' or ')'"));
    if (def != NULL && nargs != def->nargs) {
        jmes_set_msg(p->msg, p->msg_len, "column %zu: %s() takes %zu argument%s, got %zu", col,
                     def->name, def->nargs, def->nargs == 1 ? "" : "s", nargs);
        return ATT_ERR_JMESPATH_SYNTAX;
    }
    return ATT_OK;
}

/* Spec, "Filter Expressions": list-filter-expr = expression "[?" expression "]". */
static att_err filter(struct jmes_parser *p, const struct jmes_token *t, size_t left, size_t *out)
{
    size_t cond, rhs;
    ATT_TRY(expression(p, 0, &cond));
    ATT_TRY(match(p, JT_RBRACKET, "']'"));
    if (cur(p)->kind == JT_FLATTEN) {
        ATT_TRY(new_node(p, JN_CURRENT, t->col, &rhs));
    } else {
        ATT_TRY(projection_rhs(p, binding_power(JT_FILTER), &rhs));
    }
    ATT_TRY(new_node(p, JN_FILTER, t->col, out));
    ATT_TRY(add_child(p, *out, left));
    ATT_TRY(add_child(p, *out, cond));
    return add_child(p, *out, rhs);
}

/* Infix position ("left denotation"): what a token means after `left`. */
static att_err led(struct jmes_parser *p, const struct jmes_token *t, size_t left, size_t *out)
{
    size_t a, b;
    switch (t->kind) {
    case JT_DOT:
        if (cur(p)->kind == JT_STAR) {
            /* Spec, "Wildcard Expressions": a.* is an object projection. */
            note_unsupported(p, cur(p)->col, "object wildcard '*'");
            advance(p);
            ATT_TRY(projection_rhs(p, binding_power(JT_DOT), &a));
            return node2(p, JN_UNSUPPORTED, t->col, left, a, out);
        }
        /* Spec, "SubExpressions": subexpression = expression "." ( identifier /
         * multi-select-list / multi-select-hash / function-expression / "*" ). */
        ATT_TRY(dot_rhs(p, binding_power(JT_DOT), &a));
        return chain(p, JN_SEQ, left, a, out);
    case JT_PIPE:
        /* Spec, "Pipe Expressions": the right side applies to the whole result. */
        ATT_TRY(expression(p, binding_power(JT_PIPE), &a));
        return chain(p, JN_SEQ, left, a, out);
    case JT_OR:
        ATT_TRY(expression(p, binding_power(JT_OR), &a));
        return chain(p, JN_OR, left, a, out);
    case JT_AND:
        ATT_TRY(expression(p, binding_power(JT_AND), &a));
        return chain(p, JN_AND, left, a, out);
    case JT_LPAREN: return function_call(p, t, left, out);
    case JT_FILTER: return filter(p, t, left, out);
    case JT_LT:
    case JT_LTE:
    case JT_GT:
    case JT_GTE:
    case JT_EQ:
    case JT_NE:
        ATT_TRY(expression(p, binding_power(t->kind), &a));
        ATT_TRY(node2(p, JN_CMP, t->col, left, a, out));
        p->nodes[*out].op = t->kind;
        return ATT_OK;
    case JT_FLATTEN:
        /* Spec, "Flatten Operator": a[] flattens, then projects. */
        ATT_TRY(new_node(p, JN_FLATTEN, t->col, &b));
        ATT_TRY(add_child(p, b, left));
        ATT_TRY(projection_rhs(p, binding_power(JT_FLATTEN), &a));
        return node2(p, JN_PROJECT, t->col, b, a, out);
    case JT_LBRACKET:
        if (cur(p)->kind == JT_NUMBER || cur(p)->kind == JT_COLON) {
            ATT_TRY(index_or_slice(p, t->col, &a));
            return chain(p, JN_SEQ, left, a, out);
        }
        /* Spec, "Wildcard Expressions": a[*] is a list projection. */
        ATT_TRY(match(p, JT_STAR, "a number, ':' or '*' after '['"));
        ATT_TRY(match(p, JT_RBRACKET, "']'"));
        ATT_TRY(projection_rhs(p, binding_power(JT_STAR), &a));
        return node2(p, JN_PROJECT, t->col, left, a, out);
    default: break;
    }
    jmes_set_msg(p->msg, p->msg_len, "column %zu: unexpected %s", t->col, tok_desc(t));
    return ATT_ERR_JMESPATH_SYNTAX;
}

/* Pratt loop (jmespath.py Parser._expression). */
static att_err expression(struct jmes_parser *p, int bp, size_t *out)
{
    const struct jmes_token *t = cur(p);
    if (p->depth >= p->max_depth) {
        return depth_exceeded(p, t->col);
    }
    p->depth++;
    advance(p);
    size_t left;
    att_err rc = nud(p, t, &left);
    while (rc == ATT_OK && bp < binding_power(cur(p)->kind)) {
        t = cur(p);
        advance(p);
        rc = led(p, t, left, &left);
    }
    p->depth--;
    if (rc == ATT_OK) {
        *out = left;
    }
    return rc;
}

att_err jmes_parse(struct jmes_parser *p, size_t *root)
{
    p->cap = 2 * p->ntoks + 8;
    p->nodes = calloc(p->cap, sizeof(*p->nodes));
    if (p->nodes == NULL) {
        return ATT_ERR_NOMEM;
    }
    p->nnodes = 1; /* node 0 is JMES_NO_NODE */
    ATT_TRY(expression(p, 0, root));
    if (cur(p)->kind != JT_EOF) {
        return expected(p, "end of query");
    }
    if (p->unsupported != NULL) {
        if (p->unsupported_name[0] != '\0') {
            jmes_set_msg(p->msg, p->msg_len, "column %zu: function '%s' is not supported",
                         p->unsupported_col, p->unsupported_name);
        } else {
            jmes_set_msg(p->msg, p->msg_len, "column %zu: %s is not supported", p->unsupported_col,
                         p->unsupported);
        }
        return ATT_ERR_JMESPATH_UNSUPPORTED;
    }
    return ATT_OK;
}
