/*
 * lexer.c - tokens of the MAA policy language (docs/reference/maa-policy.md §3.1-§3.2).
 *
 * Input: policy text from PUT /policies, untrusted. Every byte is read through the
 * bounded reader (core/rd.h): the lexer peeks and consumes with att_rd_* only and
 * never forms a pointer into the text itself. The text must be UTF-8 without NUL
 * bytes; non-ASCII characters may appear only in string literals and comments.
 * Positions are 1-based lines and columns, columns counted in characters.
 *
 * Tokens: identifiers [A-Za-z_][A-Za-z0-9_]*, numbers (-?DIGITS, or DIGITS.DIGITS
 * for the version), strings in double quotes with JSON escapes, and the
 * punctuation { } [ ] ( ) ; , : . => = == != < <= > >= ! &&. Whitespace (space,
 * tab, CR, LF) and `//` comments to the end of the line separate tokens.
 */
#include "policy/policy_int.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"

/* ======================================================================================
 * Cursor: peek and consume through the bounded reader, tracking line and column
 * ====================================================================================== */

static bool peek(const struct pol_lexer *lx, size_t ahead, uint8_t *c)
{
    struct att_rd r = lx->rd;
    if (att_rd_skip(&r, ahead) != ATT_OK) {
        return false;
    }
    return att_rd_peek_u8(&r, c) == ATT_OK;
}

static bool peek_is(const struct pol_lexer *lx, size_t ahead, uint8_t want)
{
    uint8_t c;
    return peek(lx, ahead, &c) && c == want;
}

/* Consume one byte (the caller peeked it). A column is a character: continuation bytes
 * of a UTF-8 sequence do not move it. */
static void advance(struct pol_lexer *lx)
{
    uint8_t c;
    if (att_rd_u8(&lx->rd, &c) != ATT_OK) {
        return;
    }
    if (c == '\n') {
        lx->line++;
        lx->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        lx->col++;
    }
}

static void advance_n(struct pol_lexer *lx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        advance(lx);
    }
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_start(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(uint8_t c)
{
    return is_ident_start(c) || is_digit(c);
}

/*
 * Read one UTF-8 character (RFC 3629 §3-4: shortest form only, no surrogates, at most
 * U+10FFFF) and consume it. Its `n` bytes are also returned so callers can copy them.
 */
static att_err read_utf8(struct pol_lexer *lx, uint32_t *cp, uint8_t bytes[4], size_t *n)
{
    uint8_t b0;
    ATT_ENSURE(peek(lx, 0, &b0), ATT_ERR_INTERNAL);
    size_t len;
    uint32_t v;
    uint32_t min;
    if (b0 < 0x80) {
        len = 1;
        v = b0;
        min = 0;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        v = b0 & 0x1Fu;
        min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        v = b0 & 0x0Fu;
        min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        v = b0 & 0x07u;
        min = 0x10000;
    } else {
        return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, lx->line, lx->col,
                        "invalid UTF-8 (byte 0x%02x)", b0);
    }
    bytes[0] = b0;
    for (size_t i = 1; i < len; i++) {
        uint8_t b;
        if (!peek(lx, i, &b) || (b & 0xC0) != 0x80) {
            return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, lx->line, lx->col,
                            "invalid UTF-8 (byte 0x%02x)", b0);
        }
        v = (v << 6) | (b & 0x3Fu);
        bytes[i] = b;
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, lx->line, lx->col,
                        "invalid UTF-8 (byte 0x%02x)", b0);
    }
    advance_n(lx, len);
    *cp = v;
    *n = len;
    return ATT_OK;
}

/* ======================================================================================
 * Whitespace and comments
 * ====================================================================================== */

static att_err skip_comment(struct pol_lexer *lx)
{
    advance_n(lx, 2); /* "//" */
    uint8_t c;
    while (peek(lx, 0, &c) && c != '\n') {
        if (c == 0) {
            return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, lx->line, lx->col,
                            "NUL byte in policy text");
        }
        if (c < 0x80) {
            advance(lx);
            continue;
        }
        uint32_t cp;
        uint8_t bytes[4];
        size_t n;
        ATT_TRY(read_utf8(lx, &cp, bytes, &n));
    }
    return ATT_OK;
}

static att_err skip_space(struct pol_lexer *lx)
{
    uint8_t c;
    while (peek(lx, 0, &c)) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            advance(lx);
        } else if (c == '/' && peek_is(lx, 1, '/')) {
            ATT_TRY(skip_comment(lx));
        } else {
            break;
        }
    }
    return ATT_OK;
}

/* ======================================================================================
 * Literals
 * ====================================================================================== */

static att_err lex_ident(struct pol_lexer *lx, struct pol_token *t)
{
    size_t n = 0;
    uint8_t c;
    while (peek(lx, 0, &c) && is_ident_char(c)) {
        if (++n > lx->lim->max_ident) {
            return pol_fail(lx->diag, ATT_ERR_POLICY_LIMIT, t->line, t->col,
                            "identifier longer than %zu characters", lx->lim->max_ident);
        }
        advance(lx);
    }
    t->kind = T_IDENT;
    return ATT_OK;
}

/* -?DIGITS or DIGITS.DIGITS. The integer value is computed without overflow; a value
 * outside int64_t leaves int_ok false and the parser reports it where it matters. */
static void lex_number(struct pol_lexer *lx, struct pol_token *t)
{
    bool neg = false;
    if (peek_is(lx, 0, '-')) {
        neg = true;
        advance(lx);
    }
    uint64_t mag = 0;
    bool ok = true;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    uint8_t c;
    while (peek(lx, 0, &c) && is_digit(c)) {
        uint64_t d = (uint64_t)(c - '0');
        if (ok && mag <= (limit - d) / 10) {
            mag = mag * 10 + d;
        } else {
            ok = false;
        }
        advance(lx);
    }
    t->kind = T_NUMBER;
    if (!neg && peek_is(lx, 0, '.') && peek(lx, 1, &c) && is_digit(c)) {
        advance(lx);
        while (peek(lx, 0, &c) && is_digit(c)) {
            advance(lx);
        }
        t->has_dot = true;
        return;
    }
    t->int_ok = ok;
    if (ok) {
        t->integer =
            neg ? (mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    }
}

static int hex_val(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Four hex digits after "\u"; consumes them. */
static bool read_hex4(struct pol_lexer *lx, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        uint8_t c;
        if (!peek(lx, i, &c) || hex_val(c) < 0) {
            return false;
        }
        v = (v << 4) | (uint32_t)hex_val(c);
    }
    advance_n(lx, 4);
    *out = v;
    return true;
}

static att_err put_utf8(struct att_buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xC0 | (cp >> 6));
        u[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xE0 | (cp >> 12));
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xF0 | (cp >> 18));
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return att_buf_put(b, u, n);
}

/* After a backslash (consumed): one escape (RFC 8259 §7 set), decoded into b. */
static att_err lex_escape(struct pol_lexer *lx, struct att_buf *b, size_t line, size_t col)
{
    uint8_t c;
    if (!peek(lx, 0, &c)) {
        return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, line, col, "unterminated string literal");
    }
    uint8_t out;
    switch (c) {
    case '"': out = '"'; break;
    case '\\': out = '\\'; break;
    case '/': out = '/'; break;
    case 'b': out = '\b'; break;
    case 'f': out = '\f'; break;
    case 'n': out = '\n'; break;
    case 'r': out = '\r'; break;
    case 't': out = '\t'; break;
    case 'u': {
        size_t eline = lx->line;
        size_t ecol = lx->col - 1; /* at the backslash */
        advance(lx);
        uint32_t cp;
        if (!read_hex4(lx, &cp)) {
            return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, eline, ecol,
                            "invalid \\u escape: expected four hex digits");
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (!peek_is(lx, 0, '\\') || !peek_is(lx, 1, 'u')) {
                return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, eline, ecol,
                                "invalid \\u escape: unpaired surrogate");
            }
            advance_n(lx, 2);
            if (!read_hex4(lx, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, eline, ecol,
                                "invalid \\u escape: unpaired surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, eline, ecol,
                            "invalid \\u escape: unpaired surrogate");
        } else if (cp == 0) {
            return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, eline, ecol,
                            "NUL character (\\u0000) in string literal");
        }
        att_ignore_err(put_utf8(b, cp)); /* a full buffer is sticky and checked by the caller */
        return ATT_OK;
    }
    default:
        if (c >= 0x21 && c < 0x7F) {
            return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, lx->line, lx->col - 1,
                            "invalid escape '\\%c' in string literal", c);
        }
        return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, lx->line, lx->col - 1,
                        "invalid escape in string literal");
    }
    advance(lx);
    att_ignore_err(att_buf_putc(b, out)); /* sticky; checked by the caller */
    return ATT_OK;
}

/*
 * A string literal: double quotes, JSON escapes, UTF-8 content, on one line (a line
 * break before the closing quote is reported as an unterminated string, which is
 * where a forgotten quote shows). Decoded into the arena.
 */
static att_err lex_string(struct pol_lexer *lx, struct pol_token *t)
{
    struct att_buf b;
    att_buf_init(&b, lx->lim->max_string);
    att_err rc = ATT_ERR_INTERNAL;
    advance(lx); /* opening quote */
    for (;;) {
        uint8_t c;
        if (!peek(lx, 0, &c) || c == '\n' || c == '\r') {
            rc = pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, t->line, t->col,
                          "unterminated string literal");
            goto out;
        }
        if (c == '"') {
            advance(lx);
            break;
        }
        if (c == '\\') {
            advance(lx);
            ATT_GUARD(lex_escape(lx, &b, t->line, t->col));
        } else if (c == 0) {
            rc = pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, lx->line, lx->col,
                          "NUL byte in policy text");
            goto out;
        } else if (c < 0x20 && c != '\t') {
            rc = pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, lx->line, lx->col,
                          "control character 0x%02x in string literal (use an escape)", c);
            goto out;
        } else if (c < 0x80) {
            advance(lx);
            att_ignore_err(att_buf_putc(&b, c)); /* sticky; checked below */
        } else {
            uint32_t cp;
            uint8_t bytes[4];
            size_t n;
            ATT_GUARD(read_utf8(lx, &cp, bytes, &n));
            att_ignore_err(att_buf_put(&b, bytes, n)); /* sticky; checked below */
        }
        if (att_buf_err(&b) != ATT_OK) {
            break;
        }
    }
    if (att_buf_err(&b) == ATT_ERR_TOO_LARGE) {
        rc = pol_fail(lx->diag, ATT_ERR_POLICY_LIMIT, t->line, t->col,
                      "string literal longer than %zu bytes", lx->lim->max_string);
        goto out;
    }
    ATT_GUARD(att_buf_err(&b));
    ATT_GUARD(pol_arena_strdup(lx->arena, att_buf_cstr(&b), b.len, &t->str));
    t->str_len = b.len;
    t->kind = T_STRING;
    rc = ATT_OK;
out:
    att_buf_cleanup(&b);
    return rc;
}

/* ======================================================================================
 * Characters that start no token
 * ====================================================================================== */

static bool is_typographic_quote(uint32_t cp)
{
    switch (cp) {
    case 0x2018: /* ‘ */
    case 0x2019: /* ’ */
    case 0x201A: /* ‚ */
    case 0x201B: /* ‛ */
    case 0x201C: /* “ */
    case 0x201D: /* ” */
    case 0x201E: /* „ */
    case 0x201F: /* ‟ */
    case 0x2032: /* ′ */
    case 0x2033: /* ″ */
    case 0x00AB: /* « */
    case 0x00BB: /* » */
    case 0xFF02: /* ＂ */ return true;
    default: return false;
    }
}

static att_err unexpected(struct pol_lexer *lx, uint8_t c)
{
    size_t line = lx->line;
    size_t col = lx->col;
    if (c == 0) {
        return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, line, col, "NUL byte in policy text");
    }
    if (c == '&') {
        return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, line, col,
                        "unexpected character '&' (conditions are joined with '&&')");
    }
    if (c < 0x20 || c == 0x7F) {
        return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, line, col,
                        "unexpected control character 0x%02x", c);
    }
    if (c < 0x80) {
        return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, line, col, "unexpected character '%c'", c);
    }
    uint32_t cp;
    uint8_t bytes[4];
    size_t n;
    ATT_TRY(read_utf8(lx, &cp, bytes, &n));
    if (is_typographic_quote(cp)) {
        return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, line, col,
                        "typographic quote '%.*s' (U+%04X) cannot delimit a string; use a "
                        "straight double quote '\"'",
                        (int)n, (const char *)bytes, (unsigned)cp);
    }
    return pol_fail(lx->diag, ATT_ERR_POLICY_PARSE, line, col,
                    "unexpected character '%.*s' (U+%04X)", (int)n, (const char *)bytes,
                    (unsigned)cp);
}

/* ======================================================================================
 * Tokens
 * ====================================================================================== */

void pol_lex_init(struct pol_lexer *lx, const char *text, size_t len, struct pol_arena *arena,
                  const struct att_policy_limits *lim, const struct pol_diag *diag)
{
    att_rd_init(&lx->rd, text, len);
    lx->line = 1;
    lx->col = 1;
    lx->arena = arena;
    lx->lim = lim;
    lx->diag = diag;
    /* A UTF-8 byte order mark (as Windows editors write) is skipped, not counted. */
    if (peek_is(lx, 0, 0xEF) && peek_is(lx, 1, 0xBB) && peek_is(lx, 2, 0xBF)) {
        att_ignore_err(att_rd_skip(&lx->rd, 3)); /* cannot fail: three bytes were peeked */
    }
}

static enum pol_tok punct(struct pol_lexer *lx, uint8_t c)
{
    uint8_t n = 0;
    bool has_next = peek(lx, 1, &n);
    size_t len = 1;
    enum pol_tok k;
    switch (c) {
    case '{': k = T_LBRACE; break;
    case '}': k = T_RBRACE; break;
    case '[': k = T_LBRACKET; break;
    case ']': k = T_RBRACKET; break;
    case '(': k = T_LPAREN; break;
    case ')': k = T_RPAREN; break;
    case ';': k = T_SEMI; break;
    case ',': k = T_COMMA; break;
    case ':': k = T_COLON; break;
    case '.': k = T_DOT; break;
    case '=':
        if (has_next && n == '=') {
            k = T_EQ;
            len = 2;
        } else if (has_next && n == '>') {
            k = T_ARROW;
            len = 2;
        } else {
            k = T_ASSIGN;
        }
        break;
    case '!':
        k = has_next && n == '=' ? T_NE : T_NOT;
        len = k == T_NE ? 2 : 1;
        break;
    case '<':
        k = has_next && n == '=' ? T_LE : T_LT;
        len = k == T_LE ? 2 : 1;
        break;
    case '>':
        k = has_next && n == '=' ? T_GE : T_GT;
        len = k == T_GE ? 2 : 1;
        break;
    case '&':
        if (!has_next || n != '&') {
            return T_EOF; /* not a token */
        }
        k = T_AND;
        len = 2;
        break;
    default: return T_EOF;
    }
    advance_n(lx, len);
    return k;
}

att_err pol_lex_next(struct pol_lexer *lx, struct pol_token *t)
{
    ATT_TRY(skip_space(lx));
    memset(t, 0, sizeof(*t));
    t->line = lx->line;
    t->col = lx->col;
    struct att_rd start = lx->rd;
    uint8_t c;
    uint8_t c2;
    if (!peek(lx, 0, &c)) {
        t->kind = T_EOF;
        return ATT_OK;
    }
    if (c == '"') {
        ATT_TRY(lex_string(lx, t));
    } else if (is_digit(c) || (c == '-' && peek(lx, 1, &c2) && is_digit(c2))) {
        lex_number(lx, t);
    } else if (is_ident_start(c)) {
        ATT_TRY(lex_ident(lx, t));
    } else {
        t->kind = punct(lx, c);
        if (t->kind == T_EOF) {
            return unexpected(lx, c);
        }
    }
    size_t n = att_rd_offset(&lx->rd) - att_rd_offset(&start);
    return att_rd_bytes(&start, n, &t->text);
}

bool pol_tok_is(const struct pol_token *t, enum pol_tok kind, const char *text)
{
    return t->kind == kind && (text == NULL || att_bytes_eq_str(t->text, text));
}

/* Up to `max` bytes of b, cut at a character boundary; *more when something was left. */
static size_t copy_prefix(struct att_bytes b, char *out, size_t n, size_t max, bool *more)
{
    struct att_rd r;
    att_rd_init(&r, b.ptr, b.len);
    size_t used = 0;
    size_t boundary = 0;
    uint8_t c;
    while (used < max && used + 1 < n && att_rd_u8(&r, &c) == ATT_OK) {
        if ((c & 0xC0) != 0x80) {
            boundary = used;
        }
        out[used++] = (char)c;
    }
    uint8_t next;
    *more = att_rd_peek_u8(&r, &next) == ATT_OK;
    if (*more && (next & 0xC0) == 0x80) {
        used = boundary; /* do not cut a character in two */
    }
    return used;
}

void pol_tok_describe(const struct pol_token *t, char *out, size_t n)
{
    if (n == 0) {
        return;
    }
    if (t->kind == T_EOF) {
        snprintf(out, n, "end of input");
        return;
    }
    char text[40];
    bool more;
    size_t k = copy_prefix(t->text, text, sizeof(text), 32, &more);
    text[k] = 0;
    if (t->kind == T_STRING) {
        snprintf(out, n, "string %s%s", text, more ? "..." : "");
    } else {
        snprintf(out, n, "'%s%s'", text, more ? "..." : "");
    }
}
