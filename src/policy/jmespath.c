/*
 * jmespath.c - the JMESPath subset of MAA's TPM measured-boot policies.
 *
 * Input trust: both the query (policy text) and the JSON (the parsed event
 * log of the attested machine) are untrusted. The query is read only through
 * the bounded reader; the JSON is decoded by jansson (depth-capped at
 * JSON_PARSER_MAX_DEPTH, duplicate keys refused). Work is bounded by
 * struct att_jmespath_limits: query and JSON size, expression nesting depth,
 * evaluation steps and result size.
 *
 * Layers, in order: lexer (query bytes -> tokens), parser (tokens -> a tree
 * of nodes in one array, a Pratt parser with the binding powers of the
 * reference implementation jmespath.py), evaluator (tree + jansson values ->
 * value), writer (value -> compact JSON text). Only att_jmespath_eval() at
 * the end calls them.
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

void att_jmespath_limits_default(struct att_jmespath_limits *lim)
{
    lim->max_query = ATT_JMESPATH_DEFAULT_MAX_QUERY;
    lim->max_json = ATT_JMESPATH_DEFAULT_MAX_JSON;
    lim->max_depth = ATT_JMESPATH_DEFAULT_MAX_DEPTH;
    lim->max_steps = ATT_JMESPATH_DEFAULT_MAX_STEPS;
    lim->max_output = ATT_JMESPATH_DEFAULT_MAX_OUTPUT;
}

/* Format "column N: ..." style details into the caller's message buffer. */
static void set_msg(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
    if (msg == NULL || msg_len == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
}

/* ===================================================================== */
/* Lexer: query bytes -> tokens                                          */
/* ===================================================================== */

enum tok_kind {
    T_EOF,
    T_UNQUOTED, /* foo */
    T_QUOTED,   /* "foo" */
    T_LITERAL,  /* `json` or 'raw string' */
    T_NUMBER,   /* -12 (only valid inside [ ]) */
    T_DOT,
    T_STAR,
    T_RBRACKET,
    T_COMMA,
    T_COLON,
    T_CURRENT, /* @ */
    T_LPAREN,
    T_RPAREN,
    T_LBRACE,
    T_RBRACE,
    T_FLATTEN,  /* [] */
    T_FILTER,   /* [? */
    T_LBRACKET, /* [ */
    T_PIPE,
    T_OR,
    T_AND,
    T_EXPREF, /* & */
    T_LT,
    T_LTE,
    T_GT,
    T_GTE,
    T_EQ,
    T_NE,
    T_NOT,
};

struct token {
    enum tok_kind kind;
    size_t col;            /* 1-based byte column of the token's first byte */
    struct att_bytes name; /* T_UNQUOTED: borrowed from the query; T_QUOTED: from `value` */
    json_t *value;         /* T_QUOTED (the decoded name) and T_LITERAL: owned */
    int64_t number;        /* T_NUMBER, saturated to +-ATT_JMES_INDEX_MAX */
    bool raw;              /* T_LITERAL written as 'raw string' */
};

/* Any index beyond this is out of range of every array a 1 MiB document can hold. */
#define ATT_JMES_INDEX_MAX ((int64_t)1 << 40)

struct lexer {
    struct att_rd rd;
    struct att_bytes query;
    struct token *toks;
    size_t n;
    size_t cap;
    char *msg;
    size_t msg_len;
};

static att_err lex_syntax(struct lexer *lx, size_t col, const char *what)
{
    set_msg(lx->msg, lx->msg_len, "column %zu: %s", col, what);
    return ATT_ERR_JMESPATH_SYNTAX;
}

static att_err lex_push(struct lexer *lx, enum tok_kind kind, size_t col, struct token **out)
{
    if (lx->n == lx->cap) {
        size_t cap = lx->cap > 0 ? lx->cap * 2 : 32;
        struct token *t = realloc(lx->toks, cap * sizeof(*t));
        if (t == NULL) {
            return ATT_ERR_NOMEM;
        }
        lx->toks = t;
        lx->cap = cap;
    }
    struct token *t = &lx->toks[lx->n++];
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    t->col = col;
    *out = t;
    return ATT_OK;
}

static bool is_ident_start(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_char(uint8_t c)
{
    return is_ident_start(c) || is_digit(c);
}

/* Consume the next byte if it is `c`. */
static bool lex_accept(struct lexer *lx, uint8_t c)
{
    uint8_t b;
    if (att_rd_peek_u8(&lx->rd, &b) != ATT_OK || b != c) {
        return false;
    }
    att_ignore_err(att_rd_skip(&lx->rd, 1)); /* cannot fail: peeked */
    return true;
}

/*
 * Read a delimited body up to the closing `delim` (the opening one is
 * consumed already) into `body`. As in the reference lexer, a backslash
 * always takes the next byte with it, so an escaped delimiter does not
 * close the token. With `unescape_delim`, the pair backslash-delimiter
 * becomes the delimiter alone (raw strings: \' ; JSON literals: \`); all
 * other pairs are kept as written.
 */
static att_err lex_body(struct lexer *lx, uint8_t delim, bool unescape_delim, size_t col,
                        const char *unterminated, struct att_buf *body)
{
    for (;;) {
        uint8_t c;
        if (att_rd_u8(&lx->rd, &c) != ATT_OK) {
            return lex_syntax(lx, col, unterminated);
        }
        if (c == delim) {
            break;
        }
        if (c == '\\') {
            uint8_t e;
            if (att_rd_u8(&lx->rd, &e) != ATT_OK) {
                return lex_syntax(lx, col, unterminated);
            }
            if (!(unescape_delim && e == delim)) {
                att_ignore_err(att_buf_putc(body, c)); /* checked once below */
            }
            c = e;
        }
        att_ignore_err(att_buf_putc(body, c));
    }
    return att_buf_err(body);
}

/*
 * Spec, "Raw String Literals": raw-string = "'" *raw-string-char "'". The
 * compliance suite (literal.json) keeps every escape except \' as written.
 */
static att_err lex_raw_string(struct lexer *lx, size_t col)
{
    struct att_buf body;
    att_buf_init(&body, lx->query.len);
    att_err rc = lex_body(lx, '\'', true, col, "unterminated raw string literal", &body);
    if (rc == ATT_OK) {
        json_t *s = json_stringn(body.len > 0 ? (const char *)body.data : "", body.len);
        struct token *t;
        if (s == NULL) {
            rc = lex_syntax(lx, col, "raw string literal is not valid UTF-8");
        } else if ((rc = lex_push(lx, T_LITERAL, col, &t)) != ATT_OK) {
            json_decref(s);
        } else {
            t->value = s;
            t->raw = true;
        }
    }
    att_buf_cleanup(&body);
    return rc;
}

/* Decode JSON text (no duplicate keys, any top-level value). NULL when invalid. */
static json_t *decode_json(const struct att_buf *text)
{
    if (text->len == 0) {
        return NULL;
    }
    json_error_t jerr;
    return json_loadb((const char *)text->data, text->len,
                      JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
}

/* Spec, "Literal Expressions": literal = "`" json-value "`", with \` for a backtick. */
static att_err lex_json_literal(struct lexer *lx, size_t col)
{
    struct att_buf body;
    att_buf_init(&body, lx->query.len);
    att_err rc = lex_body(lx, '`', true, col, "unterminated JSON literal", &body);
    if (rc == ATT_OK) {
        json_t *v = decode_json(&body);
        struct token *t;
        if (v == NULL) {
            rc = lex_syntax(lx, col, "JSON literal is not valid JSON");
        } else if ((rc = lex_push(lx, T_LITERAL, col, &t)) != ATT_OK) {
            json_decref(v);
        } else {
            t->value = v;
        }
    }
    att_buf_cleanup(&body);
    return rc;
}

/* Spec, "Identifiers": quoted-identifier = quote 1*(unescaped-char / escaped-char) quote,
 * i.e. a JSON string; decoded with the JSON decoder. */
static att_err lex_quoted(struct lexer *lx, size_t col)
{
    struct att_buf body;
    att_buf_init(&body, lx->query.len + 2);
    att_ignore_err(att_buf_putc(&body, '"')); /* checked by lex_body's att_buf_err */
    att_err rc = lex_body(lx, '"', false, col, "unterminated quoted identifier", &body);
    if (rc == ATT_OK) {
        att_ignore_err(att_buf_putc(&body, '"'));
        rc = att_buf_err(&body);
    }
    if (rc == ATT_OK) {
        json_t *v = decode_json(&body);
        struct token *t;
        if (v == NULL || !json_is_string(v)) {
            json_decref(v);
            rc = lex_syntax(lx, col, "invalid quoted identifier");
        } else if ((rc = lex_push(lx, T_QUOTED, col, &t)) != ATT_OK) {
            json_decref(v);
        } else {
            t->value = v;
            t->name.ptr = (const uint8_t *)json_string_value(v);
            t->name.len = json_string_length(v);
        }
    }
    att_buf_cleanup(&body);
    return rc;
}

static att_err lex_number(struct lexer *lx, size_t col, bool negative)
{
    int64_t v = 0;
    size_t digits = 0;
    uint8_t c;
    while (att_rd_peek_u8(&lx->rd, &c) == ATT_OK && is_digit(c)) {
        att_ignore_err(att_rd_skip(&lx->rd, 1)); /* cannot fail: peeked */
        digits++;
        if (v <= ATT_JMES_INDEX_MAX) {
            v = v * 10 + (c - '0');
        }
    }
    if (digits == 0) {
        return lex_syntax(lx, col, "expected digits after '-'");
    }
    if (v > ATT_JMES_INDEX_MAX) {
        v = ATT_JMES_INDEX_MAX;
    }
    struct token *t;
    ATT_TRY(lex_push(lx, T_NUMBER, col, &t));
    t->number = negative ? -v : v;
    return ATT_OK;
}

static att_err lex_ident(struct lexer *lx, size_t col)
{
    size_t start = att_rd_offset(&lx->rd);
    uint8_t c;
    while (att_rd_peek_u8(&lx->rd, &c) == ATT_OK && is_ident_char(c)) {
        att_ignore_err(att_rd_skip(&lx->rd, 1)); /* cannot fail: peeked */
    }
    struct token *t;
    ATT_TRY(lex_push(lx, T_UNQUOTED, col, &t));
    return att_bytes_slice(lx->query, start, att_rd_offset(&lx->rd) - start, &t->name);
}

static att_err lex_one_of(struct lexer *lx, size_t col, uint8_t next, enum tok_kind two,
                          enum tok_kind one)
{
    struct token *t;
    return lex_push(lx, lex_accept(lx, next) ? two : one, col, &t);
}

static att_err lex_unexpected(struct lexer *lx, size_t col, uint8_t c)
{
    if (c >= 0x21 && c <= 0x7e) {
        set_msg(lx->msg, lx->msg_len, "column %zu: unexpected character '%c'", col, (char)c);
    } else {
        set_msg(lx->msg, lx->msg_len, "column %zu: unexpected byte 0x%02x", col, (unsigned)c);
    }
    return ATT_ERR_JMESPATH_SYNTAX;
}

static att_err lex_next(struct lexer *lx, uint8_t c, size_t col)
{
    struct token *t;
    switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r': return ATT_OK;
    case '.': return lex_push(lx, T_DOT, col, &t);
    case '*': return lex_push(lx, T_STAR, col, &t);
    case ']': return lex_push(lx, T_RBRACKET, col, &t);
    case ',': return lex_push(lx, T_COMMA, col, &t);
    case ':': return lex_push(lx, T_COLON, col, &t);
    case '@': return lex_push(lx, T_CURRENT, col, &t);
    case '(': return lex_push(lx, T_LPAREN, col, &t);
    case ')': return lex_push(lx, T_RPAREN, col, &t);
    case '{': return lex_push(lx, T_LBRACE, col, &t);
    case '}': return lex_push(lx, T_RBRACE, col, &t);
    case '[':
        if (lex_accept(lx, ']')) {
            return lex_push(lx, T_FLATTEN, col, &t);
        }
        return lex_one_of(lx, col, '?', T_FILTER, T_LBRACKET);
    case '|': return lex_one_of(lx, col, '|', T_OR, T_PIPE);
    case '&': return lex_one_of(lx, col, '&', T_AND, T_EXPREF);
    case '<': return lex_one_of(lx, col, '=', T_LTE, T_LT);
    case '>': return lex_one_of(lx, col, '=', T_GTE, T_GT);
    case '!': return lex_one_of(lx, col, '=', T_NE, T_NOT);
    case '=':
        if (lex_accept(lx, '=')) {
            return lex_push(lx, T_EQ, col, &t);
        }
        return lex_syntax(lx, col, "unexpected '=' (comparison is '==')");
    case '\'': return lex_raw_string(lx, col);
    case '`': return lex_json_literal(lx, col);
    case '"': return lex_quoted(lx, col);
    case '-': return lex_number(lx, col, true);
    default: break;
    }
    if (is_digit(c)) {
        return lex_number(lx, col, false);
    }
    if (is_ident_start(c)) {
        return lex_ident(lx, col);
    }
    return lex_unexpected(lx, col, c);
}

static att_err lex_all(struct lexer *lx)
{
    for (;;) {
        size_t col = att_rd_offset(&lx->rd) + 1;
        uint8_t c;
        if (att_rd_peek_u8(&lx->rd, &c) != ATT_OK) {
            struct token *t;
            return lex_push(lx, T_EOF, col, &t);
        }
        /* Digits and identifier starts are re-read by their scanners. */
        if (!is_digit(c) && !is_ident_start(c)) {
            att_ignore_err(att_rd_skip(&lx->rd, 1)); /* cannot fail: peeked */
        }
        ATT_TRY(lex_next(lx, c, col));
    }
}

static void lex_cleanup(struct lexer *lx)
{
    for (size_t i = 0; i < lx->n; i++) {
        json_decref(lx->toks[i].value);
    }
    free(lx->toks);
    lx->toks = NULL;
    lx->n = 0;
}

/* ===================================================================== */
/* Parser: tokens -> nodes                                               */
/* ===================================================================== */

enum node_kind {
    N_CURRENT,     /* @ and the implicit right side of a projection */
    N_FIELD,       /* identifier */
    N_INDEX,       /* [n] applied to the current node */
    N_LITERAL,     /* `json` or 'raw' */
    N_SEQ,         /* sub-expression a.b, index chain a[0], pipe a | b: left to right */
    N_PROJECT,     /* [left, right]: right applied to each element of left, nulls dropped */
    N_FLATTEN,     /* [child]: child's array with nested arrays merged one level */
    N_FILTER,      /* [left, cond, right]: projection of the elements where cond is true */
    N_OR,          /* n-ary || */
    N_AND,         /* n-ary && */
    N_NOT,         /* [child] */
    N_CMP,         /* [left, right], op in `op` */
    N_LENGTH,      /* length([child]) */
    N_UNSUPPORTED, /* valid JMESPath outside the subset; never evaluated */
};

#define NO_NODE ((size_t)0) /* node 0 is a sentinel, never a real node */

struct node {
    enum node_kind kind;
    enum tok_kind op;      /* N_CMP */
    size_t col;            /* where the construct starts, for runtime messages */
    size_t depth;          /* 1 + depth of the deepest child */
    struct att_bytes name; /* N_FIELD, borrowed from the token */
    int64_t index;         /* N_INDEX */
    json_t *literal;       /* N_LITERAL, borrowed from the token */
    size_t first;          /* first child, or NO_NODE */
    size_t last;           /* last child, or NO_NODE */
    size_t next;           /* next sibling, or NO_NODE */
};

struct parser {
    const struct token *toks;
    size_t ntoks;
    size_t pos;
    struct node *nodes;
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

/* Binding powers of the reference parser (jmespath.py Parser.BINDING_POWER). */
static int binding_power(enum tok_kind k)
{
    switch (k) {
    case T_PIPE: return 1;
    case T_OR: return 2;
    case T_AND: return 3;
    case T_LT:
    case T_LTE:
    case T_GT:
    case T_GTE:
    case T_EQ:
    case T_NE: return 5;
    case T_FLATTEN: return 9;
    case T_STAR: return 20;
    case T_FILTER: return 21;
    case T_DOT: return 40;
    case T_NOT: return 45;
    case T_LBRACE: return 50;
    case T_LBRACKET: return 55;
    case T_LPAREN: return 60;
    default: return 0;
    }
}

/* Tokens below this binding power end a projection (spec, "Projections"). */
#define PROJECTION_STOP 10

static const char *tok_desc(const struct token *t)
{
    switch (t->kind) {
    case T_EOF: return "end of query";
    case T_UNQUOTED: return "identifier";
    case T_QUOTED: return "quoted identifier";
    case T_LITERAL: return t->raw ? "raw string" : "JSON literal";
    case T_NUMBER: return "number";
    case T_DOT: return "'.'";
    case T_STAR: return "'*'";
    case T_RBRACKET: return "']'";
    case T_COMMA: return "','";
    case T_COLON: return "':'";
    case T_CURRENT: return "'@'";
    case T_LPAREN: return "'('";
    case T_RPAREN: return "')'";
    case T_LBRACE: return "'{'";
    case T_RBRACE: return "'}'";
    case T_FLATTEN: return "'[]'";
    case T_FILTER: return "'[?'";
    case T_LBRACKET: return "'['";
    case T_PIPE: return "'|'";
    case T_OR: return "'||'";
    case T_AND: return "'&&'";
    case T_EXPREF: return "'&'";
    case T_LT: return "'<'";
    case T_LTE: return "'<='";
    case T_GT: return "'>'";
    case T_GTE: return "'>='";
    case T_EQ: return "'=='";
    case T_NE: return "'!='";
    case T_NOT: return "'!'";
    default: return "token";
    }
}

static const struct token *cur(const struct parser *p)
{
    return &p->toks[p->pos];
}

/* Kind of the token `ahead` places after the current one (EOF past the end). */
static enum tok_kind peek_kind(const struct parser *p, size_t ahead)
{
    if (ahead >= p->ntoks - p->pos) {
        return T_EOF;
    }
    return p->toks[p->pos + ahead].kind;
}

static void advance(struct parser *p)
{
    if (p->toks[p->pos].kind != T_EOF) {
        p->pos++;
    }
}

/* "column N: expected X, found Y" at the current token. */
static att_err expected(struct parser *p, const char *what)
{
    const struct token *t = cur(p);
    set_msg(p->msg, p->msg_len, "column %zu: expected %s, found %s", t->col, what, tok_desc(t));
    return ATT_ERR_JMESPATH_SYNTAX;
}

static att_err match(struct parser *p, enum tok_kind k, const char *what)
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
static void note_unsupported(struct parser *p, size_t col, const char *feature)
{
    if (p->unsupported == NULL) {
        p->unsupported = feature;
        p->unsupported_col = col;
    }
}

static att_err new_node(struct parser *p, enum node_kind kind, size_t col, size_t *out)
{
    if (p->nnodes == p->cap) {
        size_t cap = p->cap * 2;
        struct node *n = realloc(p->nodes, cap * sizeof(*n));
        if (n == NULL) {
            return ATT_ERR_NOMEM;
        }
        p->nodes = n;
        p->cap = cap;
    }
    struct node *n = &p->nodes[p->nnodes];
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->col = col;
    n->depth = 1;
    *out = p->nnodes++;
    return ATT_OK;
}

static att_err depth_exceeded(struct parser *p, size_t col)
{
    set_msg(p->msg, p->msg_len, "column %zu: expression nesting exceeds the depth limit of %zu",
            col, p->max_depth);
    return ATT_ERR_JMESPATH_BUDGET;
}

/* Append `child` to `parent`'s children; enforces the tree depth limit,
 * which also bounds the evaluator's recursion. */
static att_err add_child(struct parser *p, size_t parent, size_t child)
{
    struct node *pn = &p->nodes[parent];
    const struct node *cn = &p->nodes[child];
    if (cn->depth + 1 > pn->depth) {
        if (cn->depth >= p->max_depth) {
            return depth_exceeded(p, pn->col);
        }
        pn->depth = cn->depth + 1;
    }
    if (pn->last == NO_NODE) {
        pn->first = child;
    } else {
        p->nodes[pn->last].next = child;
    }
    pn->last = child;
    return ATT_OK;
}

static att_err node2(struct parser *p, enum node_kind kind, size_t col, size_t a, size_t b,
                     size_t *out)
{
    ATT_TRY(new_node(p, kind, col, out));
    ATT_TRY(add_child(p, *out, a));
    return add_child(p, *out, b);
}

/* Extend an n-ary node of `kind` if `left` is one, else make a new one:
 * a.b.c, a | b | c, a || b || c and a && b && c stay flat, so long chains
 * do not deepen the tree (each is associative). */
static att_err chain(struct parser *p, enum node_kind kind, size_t left, size_t right, size_t *out)
{
    if (p->nodes[left].kind == kind) {
        ATT_TRY(add_child(p, left, right));
        *out = left;
        return ATT_OK;
    }
    return node2(p, kind, p->nodes[left].col, left, right, out);
}

static att_err expression(struct parser *p, int bp, size_t *out);
static att_err led(struct parser *p, const struct token *t, size_t left, size_t *out);
static att_err multi_select_list(struct parser *p, size_t col, size_t *out);
static att_err multi_select_hash(struct parser *p, size_t col, size_t *out);

/* After '.' (jmespath.py _parse_dot_rhs): an identifier (or a function call on
 * one), '*', a multi-select list or a multi-select hash. */
static att_err dot_rhs(struct parser *p, int bp, size_t *out)
{
    const struct token *t = cur(p);
    switch (t->kind) {
    case T_UNQUOTED:
    case T_QUOTED:
    case T_STAR: return expression(p, bp, out);
    case T_LBRACKET: advance(p); return multi_select_list(p, t->col, out);
    case T_LBRACE: advance(p); return multi_select_hash(p, t->col, out);
    default: return expected(p, "an identifier, '*', '[' or '{' after '.'");
    }
}

/* Right side of a projection (jmespath.py _parse_projection_rhs). */
static att_err projection_rhs(struct parser *p, int bp, size_t *out)
{
    const struct token *t = cur(p);
    if (binding_power(t->kind) < PROJECTION_STOP) {
        return new_node(p, N_CURRENT, t->col, out);
    }
    switch (t->kind) {
    case T_LBRACKET:
    case T_FILTER: return expression(p, bp, out);
    case T_DOT: advance(p); return dot_rhs(p, bp, out);
    default: return expected(p, "'.', '[' or '[?' after a projection");
    }
}

/* [a, b] (after the '['): spec "MultiSelect List". Outside the subset. */
static att_err multi_select_list(struct parser *p, size_t col, size_t *out)
{
    note_unsupported(p, col, "multi-select list");
    size_t node;
    ATT_TRY(new_node(p, N_UNSUPPORTED, col, &node));
    for (;;) {
        size_t e;
        ATT_TRY(expression(p, 0, &e));
        ATT_TRY(add_child(p, node, e));
        if (cur(p)->kind == T_RBRACKET) {
            advance(p);
            *out = node;
            return ATT_OK;
        }
        ATT_TRY(match(p, T_COMMA, "',' or ']'"));
    }
}

/* {k: v, ...} (after the '{'): spec "MultiSelect Hash". Outside the subset. */
static att_err multi_select_hash(struct parser *p, size_t col, size_t *out)
{
    note_unsupported(p, col, "multi-select hash");
    size_t node;
    ATT_TRY(new_node(p, N_UNSUPPORTED, col, &node));
    for (;;) {
        enum tok_kind k = cur(p)->kind;
        if (k != T_UNQUOTED && k != T_QUOTED) {
            return expected(p, "an identifier as multi-select hash key");
        }
        advance(p);
        ATT_TRY(match(p, T_COLON, "':'"));
        size_t e;
        ATT_TRY(expression(p, 0, &e));
        ATT_TRY(add_child(p, node, e));
        if (cur(p)->kind == T_RBRACE) {
            advance(p);
            *out = node;
            return ATT_OK;
        }
        ATT_TRY(match(p, T_COMMA, "',' or '}'"));
    }
}

/* [start:stop:step] (at the first number or ':'): spec "Slices". Outside the subset. */
static att_err slice(struct parser *p, size_t col, size_t *out)
{
    note_unsupported(p, col, "slice expression");
    size_t colons = 0;
    bool number_ok = true;
    while (cur(p)->kind != T_RBRACKET) {
        if (cur(p)->kind == T_COLON && colons < 2) {
            colons++;
            number_ok = true;
        } else if (cur(p)->kind == T_NUMBER && number_ok) {
            number_ok = false;
        } else {
            return expected(p, colons < 2 ? "a number, ':' or ']' in a slice"
                                          : "a number or ']' in a slice");
        }
        advance(p);
    }
    advance(p);
    return new_node(p, N_UNSUPPORTED, col, out);
}

/* After '[' followed by a number or ':': an index, or a slice (a projection). */
static att_err index_or_slice(struct parser *p, size_t col, size_t *out)
{
    if (cur(p)->kind == T_COLON || peek_kind(p, 1) == T_COLON) {
        size_t s, rhs;
        ATT_TRY(slice(p, col, &s));
        ATT_TRY(projection_rhs(p, binding_power(T_STAR), &rhs));
        return node2(p, N_UNSUPPORTED, col, s, rhs, out);
    }
    /* Spec, "Index Expressions": index-expression = expression bracket-specifier. */
    ATT_TRY(new_node(p, N_INDEX, col, out));
    p->nodes[*out].index = cur(p)->number;
    advance(p);
    return match(p, T_RBRACKET, "']'");
}

static att_err nud_function_check(struct parser *p, const struct token *t)
{
    if (cur(p)->kind == T_LPAREN) {
        set_msg(p->msg, p->msg_len, "column %zu: a function name cannot be a quoted identifier",
                t->col);
        return ATT_ERR_JMESPATH_SYNTAX;
    }
    return ATT_OK;
}

/* Prefix position ("null denotation"): what a token means at the start of an expression. */
static att_err nud(struct parser *p, const struct token *t, size_t *out)
{
    size_t a, b;
    switch (t->kind) {
    case T_LITERAL:
        ATT_TRY(new_node(p, N_LITERAL, t->col, out));
        p->nodes[*out].literal = t->value;
        return ATT_OK;
    case T_QUOTED:
    case T_UNQUOTED:
        if (t->kind == T_QUOTED) {
            ATT_TRY(nud_function_check(p, t));
        }
        ATT_TRY(new_node(p, N_FIELD, t->col, out));
        p->nodes[*out].name = t->name;
        return ATT_OK;
    case T_CURRENT: return new_node(p, N_CURRENT, t->col, out);
    case T_STAR:
        /* Spec, "Wildcard Expressions": `*` alone is an object projection of @. */
        note_unsupported(p, t->col, "object wildcard '*'");
        if (cur(p)->kind == T_RBRACKET) {
            return new_node(p, N_UNSUPPORTED, t->col, out);
        }
        ATT_TRY(projection_rhs(p, binding_power(T_STAR), &a));
        ATT_TRY(new_node(p, N_UNSUPPORTED, t->col, out));
        return add_child(p, *out, a);
    case T_FILTER: ATT_TRY(new_node(p, N_CURRENT, t->col, &a)); return led(p, t, a, out);
    case T_LBRACE: return multi_select_hash(p, t->col, out);
    case T_LPAREN: ATT_TRY(expression(p, 0, out)); return match(p, T_RPAREN, "')'");
    case T_FLATTEN:
        ATT_TRY(new_node(p, N_CURRENT, t->col, &a));
        ATT_TRY(new_node(p, N_FLATTEN, t->col, &b));
        ATT_TRY(add_child(p, b, a));
        ATT_TRY(projection_rhs(p, binding_power(T_FLATTEN), &a));
        return node2(p, N_PROJECT, t->col, b, a, out);
    case T_NOT:
        ATT_TRY(expression(p, binding_power(T_NOT), &a));
        ATT_TRY(new_node(p, N_NOT, t->col, out));
        return add_child(p, *out, a);
    case T_LBRACKET:
        if (cur(p)->kind == T_NUMBER || cur(p)->kind == T_COLON) {
            return index_or_slice(p, t->col, out);
        }
        if (cur(p)->kind == T_STAR && peek_kind(p, 1) == T_RBRACKET) {
            advance(p);
            advance(p);
            ATT_TRY(new_node(p, N_CURRENT, t->col, &a));
            ATT_TRY(projection_rhs(p, binding_power(T_STAR), &b));
            return node2(p, N_PROJECT, t->col, a, b, out);
        }
        return multi_select_list(p, t->col, out);
    case T_EXPREF:
        note_unsupported(p, t->col, "expression reference '&'");
        ATT_TRY(expression(p, 0, &a));
        ATT_TRY(new_node(p, N_UNSUPPORTED, t->col, out));
        return add_child(p, *out, a);
    default: break;
    }
    set_msg(p->msg, p->msg_len, "column %zu: expected an expression, found %s", t->col,
            tok_desc(t));
    return ATT_ERR_JMESPATH_SYNTAX;
}

/* Copy a function name for the "unsupported" message; it came from an
 * unquoted identifier (ASCII letters, digits, '_'), shortened if long. */
static void note_function(struct parser *p, size_t col, struct att_bytes name)
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
        p->unsupported_name[i] = is_ident_char(c) ? (char)c : '?';
    }
    p->unsupported_name[n] = '\0';
}

/*
 * Spec, "Functions Expressions": function-expression = unquoted-string
 * ( no-args / one-or-more-args ). Only length() is in the subset; its
 * arity is checked here (the spec's invalid-arity is a compile-time error).
 */
static att_err function_call(struct parser *p, const struct token *lparen, size_t left, size_t *out)
{
    const struct node *fn = &p->nodes[left];
    if (fn->kind != N_FIELD) {
        set_msg(p->msg, p->msg_len, "column %zu: expected a function name before '('", lparen->col);
        return ATT_ERR_JMESPATH_SYNTAX;
    }
    size_t col = fn->col;
    bool is_length = att_bytes_eq_str(fn->name, "length");
    if (!is_length) {
        note_function(p, col, fn->name);
    }
    ATT_TRY(new_node(p, is_length ? N_LENGTH : N_UNSUPPORTED, col, out));
    size_t nargs = 0;
    if (cur(p)->kind != T_RPAREN) {
        for (;;) {
            size_t a;
            ATT_TRY(expression(p, 0, &a));
            ATT_TRY(add_child(p, *out, a));
            nargs++;
            if (cur(p)->kind != T_COMMA) {
                break;
            }
            advance(p);
        }
    }
    ATT_TRY(match(p, T_RPAREN, "',' or ')'"));
    if (is_length && nargs != 1) {
        set_msg(p->msg, p->msg_len, "column %zu: length() takes 1 argument, got %zu", col, nargs);
        return ATT_ERR_JMESPATH_SYNTAX;
    }
    return ATT_OK;
}

/* Spec, "Filter Expressions": list-filter-expr = expression "[?" expression "]". */
static att_err filter(struct parser *p, const struct token *t, size_t left, size_t *out)
{
    size_t cond, rhs;
    ATT_TRY(expression(p, 0, &cond));
    ATT_TRY(match(p, T_RBRACKET, "']'"));
    if (cur(p)->kind == T_FLATTEN) {
        ATT_TRY(new_node(p, N_CURRENT, t->col, &rhs));
    } else {
        ATT_TRY(projection_rhs(p, binding_power(T_FILTER), &rhs));
    }
    ATT_TRY(new_node(p, N_FILTER, t->col, out));
    ATT_TRY(add_child(p, *out, left));
    ATT_TRY(add_child(p, *out, cond));
    return add_child(p, *out, rhs);
}

/* Infix position ("left denotation"): what a token means after `left`. */
static att_err led(struct parser *p, const struct token *t, size_t left, size_t *out)
{
    size_t a, b;
    switch (t->kind) {
    case T_DOT:
        if (cur(p)->kind == T_STAR) {
            /* Spec, "Wildcard Expressions": a.* is an object projection. */
            note_unsupported(p, cur(p)->col, "object wildcard '*'");
            advance(p);
            ATT_TRY(projection_rhs(p, binding_power(T_DOT), &a));
            return node2(p, N_UNSUPPORTED, t->col, left, a, out);
        }
        /* Spec, "SubExpressions": subexpression = expression "." ( identifier /
         * multi-select-list / multi-select-hash / function-expression / "*" ). */
        ATT_TRY(dot_rhs(p, binding_power(T_DOT), &a));
        return chain(p, N_SEQ, left, a, out);
    case T_PIPE:
        /* Spec, "Pipe Expressions": the right side applies to the whole result. */
        ATT_TRY(expression(p, binding_power(T_PIPE), &a));
        return chain(p, N_SEQ, left, a, out);
    case T_OR: ATT_TRY(expression(p, binding_power(T_OR), &a)); return chain(p, N_OR, left, a, out);
    case T_AND:
        ATT_TRY(expression(p, binding_power(T_AND), &a));
        return chain(p, N_AND, left, a, out);
    case T_LPAREN: return function_call(p, t, left, out);
    case T_FILTER: return filter(p, t, left, out);
    case T_LT:
    case T_LTE:
    case T_GT:
    case T_GTE:
    case T_EQ:
    case T_NE:
        ATT_TRY(expression(p, binding_power(t->kind), &a));
        ATT_TRY(node2(p, N_CMP, t->col, left, a, out));
        p->nodes[*out].op = t->kind;
        return ATT_OK;
    case T_FLATTEN:
        /* Spec, "Flatten Operator": a[] flattens, then projects. */
        ATT_TRY(new_node(p, N_FLATTEN, t->col, &b));
        ATT_TRY(add_child(p, b, left));
        ATT_TRY(projection_rhs(p, binding_power(T_FLATTEN), &a));
        return node2(p, N_PROJECT, t->col, b, a, out);
    case T_LBRACKET:
        if (cur(p)->kind == T_NUMBER || cur(p)->kind == T_COLON) {
            ATT_TRY(index_or_slice(p, t->col, &a));
            return chain(p, N_SEQ, left, a, out);
        }
        /* Spec, "Wildcard Expressions": a[*] is a list projection. */
        ATT_TRY(match(p, T_STAR, "a number, ':' or '*' after '['"));
        ATT_TRY(match(p, T_RBRACKET, "']'"));
        ATT_TRY(projection_rhs(p, binding_power(T_STAR), &a));
        return node2(p, N_PROJECT, t->col, left, a, out);
    default: break;
    }
    set_msg(p->msg, p->msg_len, "column %zu: unexpected %s", t->col, tok_desc(t));
    return ATT_ERR_JMESPATH_SYNTAX;
}

/* Pratt loop (jmespath.py Parser._expression). */
static att_err expression(struct parser *p, int bp, size_t *out)
{
    const struct token *t = cur(p);
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

static att_err parse(struct parser *p, size_t *root)
{
    p->cap = 2 * p->ntoks + 8;
    p->nodes = calloc(p->cap, sizeof(*p->nodes));
    if (p->nodes == NULL) {
        return ATT_ERR_NOMEM;
    }
    p->nnodes = 1; /* node 0 is NO_NODE */
    ATT_TRY(expression(p, 0, root));
    if (cur(p)->kind != T_EOF) {
        return expected(p, "end of query");
    }
    if (p->unsupported != NULL) {
        if (p->unsupported_name[0] != '\0') {
            set_msg(p->msg, p->msg_len, "column %zu: function '%s' is not supported",
                    p->unsupported_col, p->unsupported_name);
        } else {
            set_msg(p->msg, p->msg_len, "column %zu: %s is not supported", p->unsupported_col,
                    p->unsupported);
        }
        return ATT_ERR_JMESPATH_UNSUPPORTED;
    }
    return ATT_OK;
}

/* ===================================================================== */
/* Evaluator: nodes + JSON -> JSON                                       */
/* ===================================================================== */

struct eval {
    const struct node *nodes;
    size_t steps;
    size_t max_steps;
    char *msg;
    size_t msg_len;
};

static att_err charge(struct eval *e, size_t n)
{
    if (n > e->max_steps - e->steps) {
        e->steps = e->max_steps;
        set_msg(e->msg, e->msg_len, "evaluation exceeds the step budget of %zu", e->max_steps);
        return ATT_ERR_JMESPATH_BUDGET;
    }
    e->steps += n;
    return ATT_OK;
}

/* Work proportional to a string's length costs one step per 64 bytes. */
static size_t string_cost(size_t len)
{
    return 1 + len / 64;
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

/* Spec, "Equality Operators": deep equality; numbers by value, objects
 * unordered. Recursion is bounded by the depth of the values (jansson caps
 * documents at JSON_PARSER_MAX_DEPTH). */
static att_err json_equal_steps(struct eval *e, json_t *a, json_t *b, bool *eq)
{
    ATT_TRY(charge(e, 1));
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
        ATT_TRY(charge(e, string_cost(n)));
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
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b)) {
            return ATT_OK;
        }
        const char *key;
        json_t *va;
        json_object_foreach(a, key, va)
        {
            json_t *vb = json_object_get(b, key);
            if (vb == NULL) {
                *eq = false;
                return ATT_OK;
            }
            ATT_TRY(json_equal_steps(e, va, vb, eq));
            if (!*eq) {
                return ATT_OK;
            }
        }
        *eq = true;
        return ATT_OK;
    }
    default: *eq = true; return ATT_OK; /* true, false, null */
    }
}

/* Code points of a UTF-8 string (jansson has checked it is valid UTF-8). */
static size_t count_code_points(const json_t *s)
{
    struct att_rd r;
    att_rd_init(&r, json_string_value(s), json_string_length(s));
    size_t n = 0;
    uint8_t c;
    while (att_rd_u8(&r, &c) == ATT_OK) {
        if ((c & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

static const char *type_name(const json_t *v)
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

static att_err eval(struct eval *e, size_t n, json_t *cur, json_t **out);

/* Owned result: a new reference, or NOMEM. */
static att_err own(json_t *v, json_t **out)
{
    if (v == NULL) {
        return ATT_ERR_NOMEM;
    }
    *out = v;
    return ATT_OK;
}

/* Append an owned value to an array (the array takes the reference). */
static att_err append(json_t *arr, json_t *v)
{
    return json_array_append_new(arr, v) == 0 ? ATT_OK : ATT_ERR_NOMEM;
}

/* Spec, "Projections": evaluate `left`; if it is an array, apply `right` to
 * each element (kept when `cond` is NO_NODE or true), dropping nulls. */
static att_err eval_projection(struct eval *e, size_t left, size_t cond, size_t right, json_t *cur,
                               json_t **out)
{
    json_t *base = NULL;
    json_t *res = NULL;
    att_err rc = ATT_ERR_INTERNAL;
    ATT_GUARD(eval(e, left, cur, &base));
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
        ATT_GUARD(charge(e, 1));
        if (cond != NO_NODE) {
            ATT_GUARD(eval(e, cond, el, &v));
            bool keep = truthy(v);
            json_decref(v);
            if (!keep) {
                continue;
            }
        }
        ATT_GUARD(eval(e, right, el, &v));
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
static att_err eval_flatten(struct eval *e, size_t child, json_t *cur, json_t **out)
{
    json_t *base = NULL;
    json_t *res = NULL;
    att_err rc = ATT_ERR_INTERNAL;
    ATT_GUARD(eval(e, child, cur, &base));
    if (!json_is_array(base)) {
        *out = json_null();
        rc = ATT_OK;
        goto out;
    }
    res = json_array();
    ATT_CHECK(res != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < json_array_size(base); i++) {
        json_t *el = json_array_get(base, i);
        ATT_GUARD(charge(e, 1));
        if (!json_is_array(el)) {
            ATT_GUARD(append(res, json_incref(el)));
            continue;
        }
        for (size_t j = 0; j < json_array_size(el); j++) {
            ATT_GUARD(charge(e, 1));
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
static att_err eval_compare(struct eval *e, const struct node *nd, json_t *cur, json_t **out)
{
    json_t *l = NULL;
    json_t *r = NULL;
    att_err rc = ATT_ERR_INTERNAL;
    ATT_GUARD(eval(e, nd->first, cur, &l));
    ATT_GUARD(eval(e, e->nodes[nd->first].next, cur, &r));
    if (nd->op == T_EQ || nd->op == T_NE) {
        bool eq = false;
        ATT_GUARD(json_equal_steps(e, l, r, &eq));
        *out = json_boolean(nd->op == T_EQ ? eq : !eq);
    } else if (!json_is_number(l) || !json_is_number(r)) {
        *out = json_null();
    } else {
        int c = cmp_numbers(l, r);
        bool v = nd->op == T_LT    ? c < 0
                 : nd->op == T_LTE ? c <= 0
                 : nd->op == T_GT  ? c > 0
                                   : c >= 0;
        *out = json_boolean(v);
    }
    rc = ATT_OK;
out:
    json_decref(l);
    json_decref(r);
    return rc;
}

/* Spec, "length": number length(string|array|object $subject); strings count code points. */
static att_err eval_length(struct eval *e, const struct node *nd, json_t *cur, json_t **out)
{
    json_t *v = NULL;
    ATT_TRY(eval(e, nd->first, cur, &v));
    size_t n;
    att_err rc = ATT_OK;
    if (json_is_string(v)) {
        rc = charge(e, string_cost(json_string_length(v)));
        n = rc == ATT_OK ? count_code_points(v) : 0;
    } else if (json_is_array(v)) {
        n = json_array_size(v);
    } else if (json_is_object(v)) {
        n = json_object_size(v);
    } else {
        set_msg(e->msg, e->msg_len,
                "column %zu: length() expects a string, array or object, got %s", nd->col,
                type_name(v));
        rc = ATT_ERR_JMESPATH_TYPE;
        n = 0;
    }
    json_decref(v);
    ATT_TRY(rc);
    return own(json_integer((json_int_t)n), out);
}

/* n-ary || and &&: the first operand that decides, else the last (spec, "Or/And Expressions"). */
static att_err eval_logic(struct eval *e, const struct node *nd, json_t *cur, json_t **out)
{
    bool stop_when = nd->kind == N_OR;
    json_t *v = NULL;
    for (size_t c = nd->first; c != NO_NODE; c = e->nodes[c].next) {
        json_decref(v);
        v = NULL;
        ATT_TRY(eval(e, c, cur, &v));
        if (truthy(v) == stop_when) {
            break;
        }
    }
    *out = v;
    return ATT_OK;
}

/* Evaluate node `n` against `cur` (borrowed); *out is a new reference, never NULL. */
static att_err eval(struct eval *e, size_t n, json_t *cur, json_t **out)
{
    const struct node *nd = &e->nodes[n];
    ATT_TRY(charge(e, 1));
    switch (nd->kind) {
    case N_CURRENT: *out = json_incref(cur); return ATT_OK;
    case N_LITERAL: *out = json_incref(nd->literal); return ATT_OK;
    case N_FIELD: {
        /* Spec, "Identifiers": a missing key or a non-object gives null. */
        json_t *v = json_is_object(cur)
                        ? json_object_getn(cur, (const char *)nd->name.ptr, nd->name.len)
                        : NULL;
        *out = v != NULL ? json_incref(v) : json_null();
        return ATT_OK;
    }
    case N_INDEX: {
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
    case N_SEQ: {
        json_t *v = json_incref(cur);
        for (size_t c = nd->first; c != NO_NODE; c = e->nodes[c].next) {
            json_t *next = NULL;
            att_err rc = eval(e, c, v, &next);
            json_decref(v);
            ATT_TRY(rc);
            v = next;
        }
        *out = v;
        return ATT_OK;
    }
    case N_PROJECT: return eval_projection(e, nd->first, NO_NODE, nd->last, cur, out);
    case N_FILTER:
        return eval_projection(e, nd->first, e->nodes[nd->first].next, nd->last, cur, out);
    case N_FLATTEN: return eval_flatten(e, nd->first, cur, out);
    case N_OR:
    case N_AND: return eval_logic(e, nd, cur, out);
    case N_NOT: {
        json_t *v = NULL;
        ATT_TRY(eval(e, nd->first, cur, &v));
        bool t = truthy(v);
        json_decref(v);
        *out = json_boolean(!t);
        return ATT_OK;
    }
    case N_CMP: return eval_compare(e, nd, cur, out);
    case N_LENGTH: return eval_length(e, nd, cur, out);
    default: return ATT_ERR_INTERNAL; /* N_UNSUPPORTED never reaches evaluation */
    }
}

/* ===================================================================== */
/* Writer: JSON -> compact JSON text                                     */
/* ===================================================================== */

static void write_json(struct att_buf *b, json_t *v);

static void write_string(struct att_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    struct att_rd r;
    att_rd_init(&r, s, len);
    uint8_t c;
    att_ignore_err(att_buf_putc(b, '"')); /* errors are sticky; checked by the caller */
    while (att_rd_u8(&r, &c) == ATT_OK) {
        switch (c) {
        case '"': att_ignore_err(att_buf_puts(b, "\\\"")); break;
        case '\\': att_ignore_err(att_buf_puts(b, "\\\\")); break;
        case '\n': att_ignore_err(att_buf_puts(b, "\\n")); break;
        case '\r': att_ignore_err(att_buf_puts(b, "\\r")); break;
        case '\t': att_ignore_err(att_buf_puts(b, "\\t")); break;
        case '\b': att_ignore_err(att_buf_puts(b, "\\b")); break;
        case '\f': att_ignore_err(att_buf_puts(b, "\\f")); break;
        default:
            if (c < 0x20) {
                char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                att_ignore_err(att_buf_puts(b, u));
            } else {
                att_ignore_err(att_buf_putc(b, c));
            }
            break;
        }
    }
    att_ignore_err(att_buf_putc(b, '"'));
}

/* Shortest "%.*g" that reads back as the same double; a ".0" keeps integral reals real. */
static void write_real(struct att_buf *b, double d)
{
    char s[40];
    for (int prec = 1; prec <= 17; prec++) {
        (void)snprintf(s, sizeof(s), "%.*g", prec, d);
        if (strtod(s, NULL) == d) {
            break;
        }
    }
    att_ignore_err(att_buf_puts(b, s));
    if (strpbrk(s, ".eEn") == NULL) {
        att_ignore_err(att_buf_puts(b, ".0"));
    }
}

static void write_json(struct att_buf *b, json_t *v)
{
    if (att_buf_err(b) != ATT_OK) {
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL: att_ignore_err(att_buf_puts(b, "null")); break;
    case JSON_TRUE: att_ignore_err(att_buf_puts(b, "true")); break;
    case JSON_FALSE: att_ignore_err(att_buf_puts(b, "false")); break;
    case JSON_INTEGER:
        att_ignore_err(att_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v)));
        break;
    case JSON_REAL: write_real(b, json_real_value(v)); break;
    case JSON_STRING: write_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_ARRAY:
        att_ignore_err(att_buf_putc(b, '['));
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0) {
                att_ignore_err(att_buf_putc(b, ','));
            }
            write_json(b, json_array_get(v, i));
        }
        att_ignore_err(att_buf_putc(b, ']'));
        break;
    case JSON_OBJECT: {
        bool first = true;
        att_ignore_err(att_buf_putc(b, '{'));
        for (void *it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
            if (!first) {
                att_ignore_err(att_buf_putc(b, ','));
            }
            first = false;
            const char *key = json_object_iter_key(it);
            write_string(b, key, json_object_iter_key_len(it));
            att_ignore_err(att_buf_putc(b, ':'));
            write_json(b, json_object_iter_value(it));
        }
        att_ignore_err(att_buf_putc(b, '}'));
        break;
    }
    default: break;
    }
}

/* ===================================================================== */
/* Entry point                                                           */
/* ===================================================================== */

att_err att_jmespath_eval(const char *json, size_t json_len, const char *query, size_t query_len,
                          const struct att_jmespath_limits *lim, struct att_buf *out, char *msg,
                          size_t msg_len)
{
    struct att_jmespath_limits defaults;
    struct lexer lx;
    struct parser p;
    struct att_buf text;
    json_t *doc = NULL;
    json_t *result = NULL;
    att_err rc = ATT_ERR_INTERNAL;

    memset(&lx, 0, sizeof(lx));
    memset(&p, 0, sizeof(p));
    set_msg(msg, msg_len, "%s", "");
    if (lim == NULL) {
        att_jmespath_limits_default(&defaults);
        lim = &defaults;
    }
    att_buf_init(&text, lim->max_output);
    ATT_CHECK(out != NULL && (query != NULL || query_len == 0) && (json != NULL || json_len == 0),
              ATT_ERR_ARG);
    if (query_len > lim->max_query) {
        set_msg(msg, msg_len, "query is %zu bytes, over the limit of %zu", query_len,
                lim->max_query);
        ATT_CHECK(false, ATT_ERR_TOO_LARGE);
    }
    if (json_len > lim->max_json) {
        set_msg(msg, msg_len, "JSON input is %zu bytes, over the limit of %zu", json_len,
                lim->max_json);
        ATT_CHECK(false, ATT_ERR_TOO_LARGE);
    }

    /* 1. Query text -> tokens -> tree; query errors win over JSON errors. */
    att_rd_init(&lx.rd, query, query_len);
    lx.query.ptr = (const uint8_t *)query;
    lx.query.len = query_len;
    lx.msg = msg;
    lx.msg_len = msg_len;
    ATT_GUARD(lex_all(&lx));
    p.toks = lx.toks;
    p.ntoks = lx.n;
    p.max_depth = lim->max_depth;
    p.msg = msg;
    p.msg_len = msg_len;
    size_t root = NO_NODE;
    ATT_GUARD(parse(&p, &root));

    /* 2. JSON text -> value. */
    json_error_t jerr;
    doc = json_loadb(json != NULL ? json : "", json_len,
                     JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (doc == NULL) {
        /* Position only: jansson's text may quote the input. */
        set_msg(msg, msg_len, "JSON input is not valid JSON (line %d, column %d)", jerr.line,
                jerr.column);
        ATT_CHECK(false, ATT_ERR_JSON);
    }

    /* 3. Evaluate and write. */
    struct eval ev = {
        .nodes = p.nodes, .steps = 0, .max_steps = lim->max_steps, .msg = msg, .msg_len = msg_len};
    ATT_GUARD(eval(&ev, root, doc, &result));
    write_json(&text, result);
    if (att_buf_err(&text) == ATT_ERR_TOO_LARGE) {
        set_msg(msg, msg_len, "result is over the limit of %zu bytes", lim->max_output);
    }
    ATT_GUARD(att_buf_err(&text));
    ATT_GUARD(att_buf_put(out, text.len > 0 ? text.data : (const uint8_t *)"", text.len));
    set_msg(msg, msg_len, "%s", "");
    rc = ATT_OK;
out:
    if (rc != ATT_OK && msg != NULL && msg_len > 0 && msg[0] == '\0') {
        set_msg(msg, msg_len, "%s", att_err_str(rc)); /* every failure explains itself */
    }
    json_decref(result);
    json_decref(doc);
    free(p.nodes);
    lex_cleanup(&lx);
    att_buf_cleanup(&text);
    return rc;
}
