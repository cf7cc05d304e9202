/*
 * policy_int.h - private to src/policy: the syntax tree, the arena that owns it,
 * the lexer interface and the diagnostic helper. Nothing outside src/policy (and
 * its unit tests) includes this file.
 */
#ifndef ATT_POLICY_POLICY_INT_H
#define ATT_POLICY_POLICY_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rd.h"
#include "policy/jmespath.h"
#include "policy/policy.h"

/* ---- arena: bump allocation, freed at once (docs/internals/style.md §4 "per-request arenas")
 * -------- */

struct pol_chunk;

struct pol_arena {
    struct pol_chunk *head;
    size_t total; /* bytes of all chunks */
    size_t max;   /* cap on total */
};

struct pol_mark {
    struct pol_chunk *chunk;
    size_t used;
    size_t total;
};

void pol_arena_init(struct pol_arena *a, size_t max);
void pol_arena_cleanup(struct pol_arena *a);
/* n zeroed bytes aligned for any type; ATT_ERR_TOO_LARGE over the cap, ATT_ERR_NOMEM. */
att_err pol_arena_alloc(struct pol_arena *a, size_t n, void **out) ATT_WUR;
/* Copy n bytes and append a NUL. */
att_err pol_arena_strdup(struct pol_arena *a, const char *s, size_t n, const char **out) ATT_WUR;
/* Remember the current fill; pol_arena_rewind frees everything allocated since. */
void pol_arena_mark(const struct pol_arena *a, struct pol_mark *m);
void pol_arena_rewind(struct pol_arena *a, const struct pol_mark *m);
/*
 * Append one zeroed element of `size` bytes to the array *items (n used, cap slots),
 * doubling into a new arena block when full; *slot points at the new element.
 */
att_err pol_vec_push(struct pol_arena *a, void **items, size_t *n, size_t *cap, size_t size,
                     void **slot) ATT_WUR;

/* ---- diagnostics --------------------------------------------------------------------- */

struct pol_diag {
    char *msg; /* may be NULL when len is 0 */
    size_t len;
};

/* Write "line:col: <fmt>" into d (truncated to fit) and return `code`. */
att_err pol_fail(const struct pol_diag *d, att_err code, size_t line, size_t col, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));

/* How many bytes of `s` a message quotes: at most 32, never half a UTF-8 character. */
int pol_quote_len(const char *s, size_t len);

/* ---- syntax tree --------------------------------------------------------------------- */

struct pol_pos {
    size_t line;
    size_t col;
};

enum pol_field {
    PF_TYPE,
    PF_VALUE,
    PF_ISSUER,
    PF_VALUE_TYPE, /* only in conditions */
};

enum pol_op {
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
};

enum pol_func {
    FN_JMESPATH,
    FN_JSON_TO_CLAIM_VALUE,
    FN_IS_SUBSET_OF,
    FN_APPEND_STRING,
    FN_NEGATE_BOOL,
    FN_CONTAINS_ONLY_VALUE,
};
#define POL_FUNC_COUNT 6
#define POL_MAX_ARGS 2

enum pol_expr_kind {
    PE_STRING,
    PE_INTEGER,
    PE_BOOLEAN,
    PE_FIELD, /* IDENT.type / .value / .issuer */
    PE_CALL,
};

struct pol_expr {
    enum pol_expr_kind kind;
    struct pol_pos pos;
    const char *str; /* PE_STRING: decoded, NUL-terminated, str_len bytes */
    size_t str_len;
    int64_t integer;      /* PE_INTEGER */
    bool boolean;         /* PE_BOOLEAN */
    size_t binding;       /* PE_FIELD: index of the binding condition in its rule */
    enum pol_field field; /* PE_FIELD */
    enum pol_func func;   /* PE_CALL */
    struct pol_expr *args[POL_MAX_ARGS];
    size_t nargs;
    /* JmesPath() with a literal query: the query compiled once, when the policy is parsed
     * (NULL when it does not compile: evaluation then reports why); listed for freeing */
    struct att_jmespath_query *query;
    struct pol_expr *next_query;
};

struct pol_prop {
    enum pol_field field;
    enum pol_op op;
    struct pol_expr *rhs;
    struct pol_pos pos;
    uint64_t type_hash; /* type == "literal": the literal's claim-index hash (claim_index.h) */
};

struct pol_cond {
    bool negated;
    const char *ident; /* NULL when the condition binds no identifier */
    struct pol_prop *props;
    size_t nprops;
    struct pol_pos pos;
};

enum pol_action_kind {
    PA_PERMIT,
    PA_DENY,
    PA_ADD,
    PA_ISSUE,
    PA_ISSUEPROPERTY,
};

struct pol_action {
    enum pol_action_kind kind;
    struct pol_pos pos;
    bool by_claim;        /* claim=IDENT */
    size_t claim_binding; /* by_claim: index of the binding condition */
    struct pol_expr *type;
    bool type_unreserved; /* `type` is a literal no service claim name: issue() need not check */
    struct pol_expr *value;
    bool has_value_type;
    enum att_claim_value_type value_type;
};

struct pol_rule {
    struct pol_cond *conds;
    size_t nconds;
    struct pol_action action;
    struct pol_pos pos;
};

enum pol_section_id {
    SEC_CONFIG,
    SEC_AUTHZ,
    SEC_ISSUANCE,
};
#define POL_SECTION_COUNT 3

struct pol_section {
    bool present;
    struct pol_rule *rules;
    size_t nrules;
};

struct att_policy {
    unsigned major;
    unsigned minor;
    struct pol_section sections[POL_SECTION_COUNT];
    size_t max_nconds; /* largest nconds of any rule (evaluation frame size) */
    struct pol_arena arena;
    struct pol_expr *queries; /* calls holding a compiled query (pol_expr.query) */
};

const char *pol_func_name(enum pol_func f);
size_t pol_func_arity(enum pol_func f);
const char *pol_field_name(enum pol_field f);
const char *pol_op_name(enum pol_op op);
const char *pol_action_name(enum pol_action_kind k);

/* ---- lexer --------------------------------------------------------------------------- */

enum pol_tok {
    T_EOF,
    T_IDENT,
    T_STRING,
    T_NUMBER, /* DIGITS, -DIGITS or DIGITS.DIGITS (the version) */
    T_LBRACE,
    T_RBRACE,
    T_LBRACKET,
    T_RBRACKET,
    T_LPAREN,
    T_RPAREN,
    T_SEMI,
    T_COMMA,
    T_COLON,
    T_DOT,
    T_ARROW,  /* => */
    T_ASSIGN, /* =  */
    T_EQ,     /* == */
    T_NE,     /* != */
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_NOT, /* ! */
    T_AND, /* && */
};

struct pol_token {
    enum pol_tok kind;
    struct att_bytes text; /* the source bytes (borrowed from the policy text) */
    size_t line;
    size_t col;
    bool has_dot;    /* T_NUMBER: DIGITS.DIGITS */
    bool int_ok;     /* T_NUMBER without a dot: fits int64_t */
    int64_t integer; /* T_NUMBER when int_ok */
    const char *str; /* T_STRING: decoded, in the arena */
    size_t str_len;
};

struct pol_lexer {
    struct att_rd rd;
    size_t line;
    size_t col;
    struct pol_arena *arena;
    const struct att_policy_limits *lim;
    const struct pol_diag *diag;
};

void pol_lex_init(struct pol_lexer *lx, const char *text, size_t len, struct pol_arena *arena,
                  const struct att_policy_limits *lim, const struct pol_diag *diag);
/* Next token; on a lexical error the diagnostic is written and its code returned. */
att_err pol_lex_next(struct pol_lexer *lx, struct pol_token *t) ATT_WUR;
/* "end of input", "'=>'", "string \"abc\"" ... for "found X" (at most ~40 bytes). */
void pol_tok_describe(const struct pol_token *t, char *out, size_t n);
bool pol_tok_is(const struct pol_token *t, enum pol_tok kind, const char *text);

#endif
