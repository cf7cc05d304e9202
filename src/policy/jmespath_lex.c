/*
 * jmespath_lex.c - JMESPath query bytes -> tokens: layer 1 of att_jmespath_eval().
 *
 * Input trust: the query comes from policy text and is untrusted. It is read only
 * through the bounded reader (core/rd.h); literals and quoted identifiers are decoded
 * by jansson. Every token is produced before parsing starts, so the parser can look
 * ahead freely.
 *
 * Spec: JMESPath Specification, https://jmespath.org/specification.html, sections
 * "Identifiers", "Raw String Literals", "Literal Expressions" and the grammar's tokens;
 * escapes as in the reference lexer (jmespath.py lexer.py).
 */
#include "policy/jmespath_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/rd.h"

void jmes_lex_init(struct jmes_lexer *lx, const char *query, size_t query_len, char *msg,
                   size_t msg_len)
{
    memset(lx, 0, sizeof(*lx));
    att_rd_init(&lx->rd, query, query_len);
    lx->query.ptr = (const uint8_t *)query;
    lx->query.len = query_len;
    lx->msg = msg;
    lx->msg_len = msg_len;
}

static att_err lex_syntax(struct jmes_lexer *lx, size_t col, const char *what)
{
    jmes_set_msg(lx->msg, lx->msg_len, "column %zu: %s", col, what);
    return ATT_ERR_JMESPATH_SYNTAX;
}

static att_err lex_push(struct jmes_lexer *lx, enum jmes_tok kind, size_t col,
                        struct jmes_token **out)
{
    if (lx->n == lx->cap) {
        size_t cap = lx->cap > 0 ? lx->cap * 2 : 32;
        struct jmes_token *t = realloc(lx->toks, cap * sizeof(*t));
        if (t == NULL) {
            return ATT_ERR_NOMEM;
        }
        lx->toks = t;
        lx->cap = cap;
    }
    struct jmes_token *t = &lx->toks[lx->n++];
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

bool jmes_is_ident_char(uint8_t c)
{
    return is_ident_start(c) || is_digit(c);
}

/* Consume the next byte if it is `c`. */
static bool lex_accept(struct jmes_lexer *lx, uint8_t c)
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
static att_err lex_body(struct jmes_lexer *lx, uint8_t delim, bool unescape_delim, size_t col,
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
static att_err lex_raw_string(struct jmes_lexer *lx, size_t col)
{
    struct att_buf body;
    att_buf_init(&body, lx->query.len);
    att_err rc = lex_body(lx, '\'', true, col, "unterminated raw string literal", &body);
    if (rc == ATT_OK) {
        json_t *s = json_stringn(body.len > 0 ? (const char *)body.data : "", body.len);
        struct jmes_token *t;
        if (s == NULL) {
            rc = lex_syntax(lx, col, "raw string literal is not valid UTF-8");
        } else if ((rc = lex_push(lx, JT_LITERAL, col, &t)) != ATT_OK) {
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
static att_err lex_json_literal(struct jmes_lexer *lx, size_t col)
{
    struct att_buf body;
    att_buf_init(&body, lx->query.len);
    att_err rc = lex_body(lx, '`', true, col, "unterminated JSON literal", &body);
    if (rc == ATT_OK) {
        json_t *v = decode_json(&body);
        struct jmes_token *t;
        if (v == NULL) {
            rc = lex_syntax(lx, col, "JSON literal is not valid JSON");
        } else if ((rc = lex_push(lx, JT_LITERAL, col, &t)) != ATT_OK) {
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
static att_err lex_quoted(struct jmes_lexer *lx, size_t col)
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
        struct jmes_token *t;
        if (v == NULL || !json_is_string(v)) {
            json_decref(v);
            rc = lex_syntax(lx, col, "invalid quoted identifier");
        } else if ((rc = lex_push(lx, JT_QUOTED, col, &t)) != ATT_OK) {
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

static att_err lex_number(struct jmes_lexer *lx, size_t col, bool negative)
{
    int64_t v = 0;
    size_t digits = 0;
    uint8_t c;
    while (att_rd_peek_u8(&lx->rd, &c) == ATT_OK && is_digit(c)) {
        att_ignore_err(att_rd_skip(&lx->rd, 1)); /* cannot fail: peeked */
        digits++;
        if (v <= JMES_INDEX_MAX) {
            v = v * 10 + (c - '0');
        }
    }
    if (digits == 0) {
        return lex_syntax(lx, col, "expected digits after '-'");
    }
    if (v > JMES_INDEX_MAX) {
        v = JMES_INDEX_MAX;
    }
    struct jmes_token *t;
    ATT_TRY(lex_push(lx, JT_NUMBER, col, &t));
    t->number = negative ? -v : v;
    return ATT_OK;
}

static att_err lex_ident(struct jmes_lexer *lx, size_t col)
{
    size_t start = att_rd_offset(&lx->rd);
    uint8_t c;
    while (att_rd_peek_u8(&lx->rd, &c) == ATT_OK && jmes_is_ident_char(c)) {
        att_ignore_err(att_rd_skip(&lx->rd, 1)); /* cannot fail: peeked */
    }
    struct jmes_token *t;
    ATT_TRY(lex_push(lx, JT_UNQUOTED, col, &t));
    return att_bytes_slice(lx->query, start, att_rd_offset(&lx->rd) - start, &t->name);
}

static att_err lex_one_of(struct jmes_lexer *lx, size_t col, uint8_t next, enum jmes_tok two,
                          enum jmes_tok one)
{
    struct jmes_token *t;
    return lex_push(lx, lex_accept(lx, next) ? two : one, col, &t);
}

static att_err lex_unexpected(struct jmes_lexer *lx, size_t col, uint8_t c)
{
    if (c >= 0x21 && c <= 0x7e) {
        jmes_set_msg(lx->msg, lx->msg_len, "column %zu: unexpected character '%c'", col, (char)c);
    } else {
        jmes_set_msg(lx->msg, lx->msg_len, "column %zu: unexpected byte 0x%02x", col, (unsigned)c);
    }
    return ATT_ERR_JMESPATH_SYNTAX;
}

static att_err lex_next(struct jmes_lexer *lx, uint8_t c, size_t col)
{
    struct jmes_token *t;
    switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r': return ATT_OK;
    case '.': return lex_push(lx, JT_DOT, col, &t);
    case '*': return lex_push(lx, JT_STAR, col, &t);
    case ']': return lex_push(lx, JT_RBRACKET, col, &t);
    case ',': return lex_push(lx, JT_COMMA, col, &t);
    case ':': return lex_push(lx, JT_COLON, col, &t);
    case '@': return lex_push(lx, JT_CURRENT, col, &t);
    case '(': return lex_push(lx, JT_LPAREN, col, &t);
    case ')': return lex_push(lx, JT_RPAREN, col, &t);
    case '{': return lex_push(lx, JT_LBRACE, col, &t);
    case '}': return lex_push(lx, JT_RBRACE, col, &t);
    case '[':
        if (lex_accept(lx, ']')) {
            return lex_push(lx, JT_FLATTEN, col, &t);
        }
        return lex_one_of(lx, col, '?', JT_FILTER, JT_LBRACKET);
    case '|': return lex_one_of(lx, col, '|', JT_OR, JT_PIPE);
    case '&': return lex_one_of(lx, col, '&', JT_AND, JT_EXPREF);
    case '<': return lex_one_of(lx, col, '=', JT_LTE, JT_LT);
    case '>': return lex_one_of(lx, col, '=', JT_GTE, JT_GT);
    case '!': return lex_one_of(lx, col, '=', JT_NE, JT_NOT);
    case '=':
        if (lex_accept(lx, '=')) {
            return lex_push(lx, JT_EQ, col, &t);
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

att_err jmes_lex_all(struct jmes_lexer *lx)
{
    for (;;) {
        size_t col = att_rd_offset(&lx->rd) + 1;
        uint8_t c;
        if (att_rd_peek_u8(&lx->rd, &c) != ATT_OK) {
            struct jmes_token *t;
            return lex_push(lx, JT_EOF, col, &t);
        }
        /* Digits and identifier starts are re-read by their scanners. */
        if (!is_digit(c) && !is_ident_start(c)) {
            att_ignore_err(att_rd_skip(&lx->rd, 1)); /* cannot fail: peeked */
        }
        ATT_TRY(lex_next(lx, c, col));
    }
}

void jmes_lex_cleanup(struct jmes_lexer *lx)
{
    for (size_t i = 0; i < lx->n; i++) {
        json_decref(lx->toks[i].value);
    }
    free(lx->toks);
    lx->toks = NULL;
    lx->n = 0;
}
