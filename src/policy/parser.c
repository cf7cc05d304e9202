/*
 * parser.c - recursive-descent parser for MAA claim-rule policies 1.0, 1.1 and 1.2.
 *
 * Input: policy text, untrusted, read only through the lexer (lexer.c, which reads
 * through core/rd.h). Output: the tree of policy_int.h, owned by the policy's arena.
 * Every collection has a cap (struct att_policy_limits); recursion happens only
 * through function-call arguments and is bounded by max_depth.
 *
 * Grammar (docs/reference/maa-policy.md §3.2, as implemented; docs/internals/policy.md):
 *
 *   policy     := 'version' '=' VERSION ';' config? auth issue? EOF
 *   config     := 'configurationrules' '{' rule* '}' ';'          (1.1+)
 *   auth       := 'authorizationrules' '{' rule* '}' ';'
 *   issue      := 'issuancerules' '{' rule* '}' ';'
 *   rule       := ( cond ( '&&' cond )* )? '=>' action ';'
 *   cond       := '!'? ( IDENT ':' )? '[' prop ( ',' prop )* ']'  ('!' is 1.2+)
 *   prop       := ( 'type' | 'value' | 'issuer' | 'valueType' ) op expr
 *   op         := '==' | '=' | '!=' | '<' | '<=' | '>' | '>='
 *   action     := ( 'permit' | 'deny' ) '(' ')'
 *               | ( 'add' | 'issue' | 'issueproperty' ) '(' args ')'
 *   args       := 'claim' '=' IDENT
 *               | 'type' '=' expr ',' 'value' '=' expr ( ',' 'valueType' '=' STRING )?
 *   expr       := STRING | INTEGER | 'true' | 'false'
 *               | IDENT '.' ( 'type' | 'value' | 'issuer' )
 *               | FUNC '(' ( expr ( ',' expr )* )? ')'             (1.2+)
 */
#include "policy/policy_int.h"

#include "policy/claim_index.h"

#include <stdlib.h>
#include <string.h>

struct parser {
    struct pol_lexer lx;
    struct pol_token cur;
    struct pol_token next;
    bool has_next;
    struct att_policy *pol;
    const struct att_policy_limits *lim;
    const struct pol_diag *diag;
    size_t nrules;
    /* the rule being parsed: its conditions so far and how many are complete */
    struct pol_cond *conds;
    size_t nconds;
    size_t conds_cap;
    size_t conds_done;
};

/* ======================================================================================
 * Tokens and errors
 * ====================================================================================== */

static att_err advance(struct parser *ps)
{
    if (ps->has_next) {
        ps->cur = ps->next;
        ps->has_next = false;
        return ATT_OK;
    }
    return pol_lex_next(&ps->lx, &ps->cur);
}

static att_err peek_next(struct parser *ps, const struct pol_token **out)
{
    if (!ps->has_next) {
        ATT_TRY(pol_lex_next(&ps->lx, &ps->next));
        ps->has_next = true;
    }
    *out = &ps->next;
    return ATT_OK;
}

static att_err expected(const struct parser *ps, const struct pol_token *t, const char *what)
{
    char found[64];
    pol_tok_describe(t, found, sizeof(found));
    return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, t->line, t->col, "expected %s, found %s", what,
                    found);
}

static att_err expect(struct parser *ps, enum pol_tok kind, const char *what)
{
    if (ps->cur.kind != kind) {
        return expected(ps, &ps->cur, what);
    }
    return advance(ps);
}

static att_err expect_word(struct parser *ps, const char *word, const char *what)
{
    if (!pol_tok_is(&ps->cur, T_IDENT, word)) {
        return expected(ps, &ps->cur, what);
    }
    return advance(ps);
}

static struct pol_pos pos_of(const struct pol_token *t)
{
    struct pol_pos p = {t->line, t->col};
    return p;
}

static unsigned version_code(const struct parser *ps)
{
    return ps->pol->major * 10 + ps->pol->minor;
}

static att_err need_version(const struct parser *ps, const struct pol_token *t, unsigned code,
                            const char *feature)
{
    if (version_code(ps) >= code) {
        return ATT_OK;
    }
    return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, t->line, t->col,
                    "%s needs policy version 1.%u or later (this policy is %u.%u)", feature,
                    code % 10, ps->pol->major, ps->pol->minor);
}

static att_err new_expr(struct parser *ps, enum pol_expr_kind kind, const struct pol_token *at,
                        struct pol_expr **out)
{
    void *p;
    ATT_TRY(pol_arena_alloc(&ps->pol->arena, sizeof(struct pol_expr), &p));
    struct pol_expr *e = p;
    e->kind = kind;
    e->pos = pos_of(at);
    *out = e;
    return ATT_OK;
}

/* ======================================================================================
 * Identifiers bound by conditions
 * ====================================================================================== */

static const char *const reserved[] = {
    "type",
    "value",
    "issuer",
    "valueType",
    "claim",
    "true",
    "false",
    "permit",
    "deny",
    "add",
    "issue",
    "issueproperty",
    "version",
    "JmesPath",
    "JsonToClaimValue",
    "IsSubsetOf",
    "AppendString",
    "NegateBool",
    "ContainsOnlyValue",
};

static bool is_reserved(struct att_bytes name)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (att_bytes_eq_str(name, reserved[i])) {
            return true;
        }
    }
    return false;
}

/* Index of the condition among the first `limit` of this rule that binds `name`. */
static bool find_binding(const struct parser *ps, struct att_bytes name, size_t limit, size_t *idx,
                         bool *negated)
{
    for (size_t i = 0; i < limit && i < ps->nconds; i++) {
        const struct pol_cond *c = &ps->conds[i];
        if (c->ident != NULL && att_bytes_eq_str(name, c->ident)) {
            *idx = i;
            *negated = c->negated;
            return true;
        }
    }
    return false;
}

/* `t` names an identifier usable here: bound by a complete, non-negated condition. */
static att_err resolve(const struct parser *ps, const struct pol_token *t, size_t *idx)
{
    bool negated = false;
    int n = t->text.len > 32 ? 32 : (int)t->text.len;
    const char *s = (const char *)t->text.ptr;
    if (!find_binding(ps, t->text, ps->conds_done, idx, &negated)) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, t->line, t->col,
                        "unbound identifier '%.*s' (bind it with %.*s:[...] in an earlier "
                        "condition of this rule)",
                        n, s, n, s);
    }
    if (negated) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, t->line, t->col,
                        "identifier '%.*s' is bound by a negated condition and refers to no "
                        "claim",
                        n, s);
    }
    return ATT_OK;
}

/* ======================================================================================
 * Expressions
 * ====================================================================================== */

static bool func_lookup(struct att_bytes name, enum pol_func *out)
{
    for (unsigned i = 0; i < POL_FUNC_COUNT; i++) {
        if (att_bytes_eq_str(name, pol_func_name((enum pol_func)i))) {
            *out = (enum pol_func)i;
            return true;
        }
    }
    return false;
}

static att_err parse_expr(struct parser *ps, size_t depth, struct pol_expr **out);

/* A JmesPath() call's literal query, compiled now rather than at every evaluation. A query that
 * does not compile is left to the evaluation, which reports it where it runs. */
static att_err compile_query(struct parser *ps, struct pol_expr *call)
{
    const struct pol_expr *q = call->args[1];
    if (call->func != FN_JMESPATH || q->kind != PE_STRING || q->str_len == 0) {
        return ATT_OK;
    }
    att_err rc = att_jmespath_compile(q->str, q->str_len, NULL, &call->query, NULL, 0);
    if (rc == ATT_ERR_NOMEM) {
        return rc;
    }
    if (rc == ATT_OK) {
        call->next_query = ps->pol->queries;
        ps->pol->queries = call;
    }
    return ATT_OK;
}

static att_err parse_call(struct parser *ps, size_t depth, struct pol_expr **out)
{
    struct pol_token name = ps->cur;
    int n = name.text.len > 32 ? 32 : (int)name.text.len;
    ATT_TRY(need_version(ps, &name, 12, "a function call"));
    enum pol_func f;
    if (!func_lookup(name.text, &f)) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, name.line, name.col,
                        "unknown function '%.*s'", n, (const char *)name.text.ptr);
    }
    if (depth + 1 > ps->lim->max_depth) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_LIMIT, name.line, name.col,
                        "function calls nested deeper than %zu", ps->lim->max_depth);
    }
    struct pol_expr *e;
    ATT_TRY(new_expr(ps, PE_CALL, &name, &e));
    e->func = f;
    ATT_TRY(advance(ps)); /* name */
    ATT_TRY(advance(ps)); /* '(' */
    size_t count = 0;
    if (ps->cur.kind != T_RPAREN) {
        for (;;) {
            struct pol_expr *arg;
            ATT_TRY(parse_expr(ps, depth + 1, &arg));
            if (count < POL_MAX_ARGS) {
                e->args[count] = arg;
            }
            count++;
            if (ps->cur.kind == T_COMMA) {
                ATT_TRY(advance(ps));
                continue;
            }
            if (ps->cur.kind != T_RPAREN) {
                return expected(ps, &ps->cur, "',' or ')'");
            }
            break;
        }
    }
    ATT_TRY(advance(ps)); /* ')' */
    if (count != pol_func_arity(f)) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, name.line, name.col,
                        "%s takes %zu argument%s, found %zu", pol_func_name(f), pol_func_arity(f),
                        pol_func_arity(f) == 1 ? "" : "s", count);
    }
    e->nargs = count;
    *out = e;
    return compile_query(ps, e);
}

static att_err parse_field(struct parser *ps, struct pol_expr **out)
{
    struct pol_token name = ps->cur;
    size_t idx;
    ATT_TRY(resolve(ps, &name, &idx));
    ATT_TRY(advance(ps)); /* identifier */
    ATT_TRY(advance(ps)); /* '.' */
    enum pol_field f;
    if (pol_tok_is(&ps->cur, T_IDENT, "type")) {
        f = PF_TYPE;
    } else if (pol_tok_is(&ps->cur, T_IDENT, "value")) {
        f = PF_VALUE;
    } else if (pol_tok_is(&ps->cur, T_IDENT, "issuer")) {
        f = PF_ISSUER;
    } else {
        return expected(ps, &ps->cur, "'type', 'value' or 'issuer' after '.'");
    }
    struct pol_expr *e;
    ATT_TRY(new_expr(ps, PE_FIELD, &name, &e));
    e->binding = idx;
    e->field = f;
    ATT_TRY(advance(ps));
    *out = e;
    return ATT_OK;
}

static att_err parse_expr(struct parser *ps, size_t depth, struct pol_expr **out)
{
    struct pol_token t = ps->cur;
    struct pol_expr *e;
    switch (t.kind) {
    case T_STRING:
        ATT_TRY(new_expr(ps, PE_STRING, &t, &e));
        e->str = t.str;
        e->str_len = t.str_len;
        break;
    case T_NUMBER:
        if (t.has_dot) {
            return expected(ps, &t, "an expression (numbers are integers)");
        }
        if (!t.int_ok) {
            return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, t.line, t.col,
                            "integer literal out of range (64-bit signed)");
        }
        ATT_TRY(new_expr(ps, PE_INTEGER, &t, &e));
        e->integer = t.integer;
        break;
    case T_IDENT: {
        if (pol_tok_is(&t, T_IDENT, "true") || pol_tok_is(&t, T_IDENT, "false")) {
            ATT_TRY(new_expr(ps, PE_BOOLEAN, &t, &e));
            e->boolean = pol_tok_is(&t, T_IDENT, "true");
            break;
        }
        const struct pol_token *nx;
        ATT_TRY(peek_next(ps, &nx));
        if (nx->kind == T_LPAREN) {
            return parse_call(ps, depth, out);
        }
        if (nx->kind == T_DOT) {
            return parse_field(ps, out);
        }
        size_t idx;
        bool negated;
        if (find_binding(ps, t.text, ps->conds_done, &idx, &negated)) {
            return expected(ps, nx, "'.type', '.value' or '.issuer' after an identifier");
        }
        return expected(ps, &t, "an expression");
    }
    default: return expected(ps, &t, "an expression");
    }
    ATT_TRY(advance(ps));
    *out = e;
    return ATT_OK;
}

/* ======================================================================================
 * Conditions
 * ====================================================================================== */

static const char *literal_kind(const struct pol_expr *e)
{
    switch (e->kind) {
    case PE_STRING: return "a string";
    case PE_INTEGER: return "an integer";
    case PE_BOOLEAN: return "a Boolean";
    default: return NULL;
    }
}

static bool str_is(const struct pol_expr *e, const char *s)
{
    size_t n = strlen(s);
    return e->kind == PE_STRING && e->str_len == n && memcmp(e->str, s, n) == 0;
}

static bool value_type_from_literal(const struct pol_expr *e, enum att_claim_value_type *out)
{
    static const enum att_claim_value_type all[] = {ATT_CLAIM_STRING, ATT_CLAIM_INTEGER,
                                                    ATT_CLAIM_BOOLEAN};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (str_is(e, att_claim_value_type_name(all[i]))) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

/*
 * Checks that need no claims: ordering operators compare integers only (grammar doc:
 * "String: == (equals), != (not equal)"), type/issuer/valueType are strings, and
 * issuer and valueType literals must name something that exists, so a typo cannot
 * make a condition silently never match (or a negated one always match).
 */
static att_err check_prop(const struct parser *ps, const struct pol_prop *p,
                          const struct pol_token *op)
{
    bool ordering = p->op != OP_EQ && p->op != OP_NE;
    const char *lit = literal_kind(p->rhs);
    if (ordering && p->field != PF_VALUE) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, op->line, op->col,
                        "'%s' compares integers, but '%s' is a string", pol_op_name(p->op),
                        pol_field_name(p->field));
    }
    if (ordering && lit != NULL && p->rhs->kind != PE_INTEGER) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, op->line, op->col,
                        "'%s' compares integers, found %s", pol_op_name(p->op), lit);
    }
    if (p->field != PF_VALUE && lit != NULL && p->rhs->kind != PE_STRING) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, p->rhs->pos.line, p->rhs->pos.col,
                        "'%s' is compared with a string, found %s", pol_field_name(p->field), lit);
    }
    enum att_claim_value_type vt;
    if (p->field == PF_VALUE_TYPE && p->rhs->kind == PE_STRING &&
        !value_type_from_literal(p->rhs, &vt)) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, p->rhs->pos.line, p->rhs->pos.col,
                        "valueType is \"String\", \"Integer\" or \"Boolean\"");
    }
    if (p->field == PF_ISSUER && p->rhs->kind == PE_STRING &&
        !str_is(p->rhs, att_claim_issuer_name(ATT_ISSUER_ATTESTATION_SERVICE)) &&
        !str_is(p->rhs, att_claim_issuer_name(ATT_ISSUER_ATTESTATION_POLICY)) &&
        !str_is(p->rhs, att_claim_issuer_name(ATT_ISSUER_CUSTOM_CLAIM))) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, p->rhs->pos.line, p->rhs->pos.col,
                        "issuer is \"AttestationService\", \"AttestationPolicy\" or "
                        "\"CustomClaim\"");
    }
    return ATT_OK;
}

static att_err parse_prop(struct parser *ps, struct pol_prop *p)
{
    p->pos = pos_of(&ps->cur);
    if (pol_tok_is(&ps->cur, T_IDENT, "type")) {
        p->field = PF_TYPE;
    } else if (pol_tok_is(&ps->cur, T_IDENT, "value")) {
        p->field = PF_VALUE;
    } else if (pol_tok_is(&ps->cur, T_IDENT, "issuer")) {
        p->field = PF_ISSUER;
    } else if (pol_tok_is(&ps->cur, T_IDENT, "valueType")) {
        p->field = PF_VALUE_TYPE;
    } else {
        return expected(ps, &ps->cur, "'type', 'value', 'issuer' or 'valueType'");
    }
    ATT_TRY(advance(ps));
    struct pol_token op = ps->cur;
    switch (op.kind) {
    case T_EQ:
    case T_ASSIGN: p->op = OP_EQ; break; /* '=' as '==': MAA's own samples write it */
    case T_NE: p->op = OP_NE; break;
    case T_LT: p->op = OP_LT; break;
    case T_LE: p->op = OP_LE; break;
    case T_GT: p->op = OP_GT; break;
    case T_GE: p->op = OP_GE; break;
    default: return expected(ps, &op, "a comparison operator (==, !=, <, <=, >, >=)");
    }
    ATT_TRY(advance(ps));
    ATT_TRY(parse_expr(ps, 0, &p->rhs));
    if (p->field == PF_TYPE && p->rhs->kind == PE_STRING) {
        p->type_hash = pol_claim_index_hash(p->rhs->str, p->rhs->str_len);
    }
    return check_prop(ps, p, &op);
}

static att_err parse_condition(struct parser *ps)
{
    if (ps->nconds >= ps->lim->max_conditions) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_LIMIT, ps->cur.line, ps->cur.col,
                        "more than %zu conditions in one rule", ps->lim->max_conditions);
    }
    void *slot;
    ATT_TRY(pol_vec_push(&ps->pol->arena, (void **)&ps->conds, &ps->nconds, &ps->conds_cap,
                         sizeof(struct pol_cond), &slot));
    struct pol_cond *c = slot; /* valid until the next push onto ps->conds */
    c->pos = pos_of(&ps->cur);
    if (ps->cur.kind == T_NOT) {
        ATT_TRY(need_version(ps, &ps->cur, 12, "'!' (negation)"));
        c->negated = true;
        ATT_TRY(advance(ps));
    }
    if (ps->cur.kind == T_IDENT) {
        struct pol_token id = ps->cur;
        int n = id.text.len > 32 ? 32 : (int)id.text.len;
        const struct pol_token *nx;
        ATT_TRY(peek_next(ps, &nx));
        if (nx->kind != T_COLON) {
            return expected(ps, nx, "':' after a condition's identifier");
        }
        if (is_reserved(id.text)) {
            return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, id.line, id.col,
                            "'%.*s' is a reserved word and cannot name a condition", n,
                            (const char *)id.text.ptr);
        }
        size_t idx;
        bool negated;
        if (find_binding(ps, id.text, ps->nconds - 1, &idx, &negated)) {
            return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, id.line, id.col,
                            "identifier '%.*s' is already bound in this rule", n,
                            (const char *)id.text.ptr);
        }
        const char *name;
        ATT_TRY(pol_arena_strdup(&ps->pol->arena, (const char *)id.text.ptr, id.text.len, &name));
        c->ident = name;
        ATT_TRY(advance(ps));
        ATT_TRY(advance(ps));
    }
    ATT_TRY(expect(ps, T_LBRACKET, "'[' to start a condition"));
    struct pol_prop *props = NULL;
    size_t nprops = 0;
    size_t cap = 0;
    for (;;) {
        if (nprops >= ps->lim->max_props) {
            return pol_fail(ps->diag, ATT_ERR_POLICY_LIMIT, ps->cur.line, ps->cur.col,
                            "more than %zu property conditions in one condition",
                            ps->lim->max_props);
        }
        ATT_TRY(pol_vec_push(&ps->pol->arena, (void **)&props, &nprops, &cap,
                             sizeof(struct pol_prop), &slot));
        ATT_TRY(parse_prop(ps, slot));
        if (ps->cur.kind == T_COMMA) {
            ATT_TRY(advance(ps));
            continue;
        }
        if (ps->cur.kind != T_RBRACKET) {
            return expected(ps, &ps->cur, "',' or ']'");
        }
        ATT_TRY(advance(ps));
        break;
    }
    /* properties push onto their own array, never onto ps->conds: `c` is still valid */
    c->props = props;
    c->nprops = nprops;
    ps->conds_done = ps->nconds;
    return ATT_OK;
}

/* ======================================================================================
 * Actions
 * ====================================================================================== */

static bool action_lookup(const struct pol_token *t, enum pol_action_kind *out)
{
    static const enum pol_action_kind all[] = {PA_PERMIT, PA_DENY, PA_ADD, PA_ISSUE,
                                               PA_ISSUEPROPERTY};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (pol_tok_is(t, T_IDENT, pol_action_name(all[i]))) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

/* MAA claim-rule grammar, "Action Verb" table: which verbs each section allows. */
static att_err check_section(const struct parser *ps, enum pol_section_id sec,
                             enum pol_action_kind k, const struct pol_token *t)
{
    const char *name = pol_action_name(k);
    switch (sec) {
    case SEC_CONFIG:
        if (k != PA_ISSUEPROPERTY) {
            return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, t->line, t->col,
                            "configurationrules allow only issueproperty(), found '%s'", name);
        }
        return ATT_OK;
    case SEC_AUTHZ:
        if (k != PA_PERMIT && k != PA_DENY && k != PA_ADD) {
            return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, t->line, t->col,
                            "'%s' is not allowed in authorizationrules (permit, deny and add "
                            "are)",
                            name);
        }
        return ATT_OK;
    case SEC_ISSUANCE:
        if (k == PA_PERMIT || k == PA_DENY) {
            return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, t->line, t->col,
                            "'%s' is only allowed in authorizationrules", name);
        }
        return ATT_OK;
    default: return ATT_ERR_INTERNAL;
    }
}

static att_err check_action(const struct parser *ps, const struct pol_action *a)
{
    const struct pol_expr *ty = a->type;
    if (ty != NULL && literal_kind(ty) != NULL && ty->kind != PE_STRING) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, ty->pos.line, ty->pos.col,
                        "a claim type is a string, found %s", literal_kind(ty));
    }
    if (ty != NULL && ty->kind == PE_STRING && ty->str_len == 0) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, ty->pos.line, ty->pos.col,
                        "a claim type must not be empty");
    }
    const struct pol_expr *v = a->value;
    if (a->has_value_type && v != NULL && literal_kind(v) != NULL) {
        enum att_claim_value_type lt = v->kind == PE_STRING    ? ATT_CLAIM_STRING
                                       : v->kind == PE_INTEGER ? ATT_CLAIM_INTEGER
                                                               : ATT_CLAIM_BOOLEAN;
        if (lt != a->value_type) {
            return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, v->pos.line, v->pos.col,
                            "value is %s but valueType is \"%s\"", literal_kind(v),
                            att_claim_value_type_name(a->value_type));
        }
    }
    return ATT_OK;
}

static att_err parse_claim_args(struct parser *ps, struct pol_action *a)
{
    if (pol_tok_is(&ps->cur, T_IDENT, "claim")) {
        ATT_TRY(advance(ps));
        ATT_TRY(expect(ps, T_ASSIGN, "'=' after 'claim'"));
        if (ps->cur.kind != T_IDENT) {
            return expected(ps, &ps->cur, "an identifier bound by a condition");
        }
        ATT_TRY(resolve(ps, &ps->cur, &a->claim_binding));
        a->by_claim = true;
        return advance(ps);
    }
    ATT_TRY(expect_word(ps, "type", "'type' or 'claim'"));
    ATT_TRY(expect(ps, T_ASSIGN, "'=' after 'type'"));
    ATT_TRY(parse_expr(ps, 0, &a->type));
    a->type_unreserved =
        a->type->kind == PE_STRING && !att_policy_claim_reserved(a->type->str, a->type->str_len);
    ATT_TRY(expect(ps, T_COMMA, "','"));
    ATT_TRY(expect_word(ps, "value", "'value'"));
    ATT_TRY(expect(ps, T_ASSIGN, "'=' after 'value'"));
    ATT_TRY(parse_expr(ps, 0, &a->value));
    if (ps->cur.kind != T_COMMA) {
        return ATT_OK;
    }
    ATT_TRY(advance(ps));
    ATT_TRY(expect_word(ps, "valueType", "'valueType'"));
    ATT_TRY(expect(ps, T_ASSIGN, "'=' after 'valueType'"));
    if (ps->cur.kind != T_STRING) {
        return expected(ps, &ps->cur, "\"String\", \"Integer\" or \"Boolean\"");
    }
    struct pol_expr tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.kind = PE_STRING;
    tmp.str = ps->cur.str;
    tmp.str_len = ps->cur.str_len;
    if (!value_type_from_literal(&tmp, &a->value_type)) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, ps->cur.line, ps->cur.col,
                        "valueType is \"String\", \"Integer\" or \"Boolean\"");
    }
    a->has_value_type = true;
    return advance(ps);
}

static att_err parse_action(struct parser *ps, enum pol_section_id sec, struct pol_action *a)
{
    struct pol_token t = ps->cur;
    if (!action_lookup(&t, &a->kind)) {
        return expected(ps, &t, "an action (permit, deny, add, issue or issueproperty)");
    }
    a->pos = pos_of(&t);
    ATT_TRY(check_section(ps, sec, a->kind, &t));
    ATT_TRY(advance(ps));
    ATT_TRY(expect(ps, T_LPAREN, "'('"));
    if (a->kind == PA_PERMIT || a->kind == PA_DENY) {
        return expect(ps, T_RPAREN, "')' (permit() and deny() take no arguments)");
    }
    ATT_TRY(parse_claim_args(ps, a));
    ATT_TRY(check_action(ps, a));
    return expect(ps, T_RPAREN, "')'");
}

/* ======================================================================================
 * Rules and sections
 * ====================================================================================== */

static att_err parse_rule(struct parser *ps, enum pol_section_id sec, struct pol_rule *r)
{
    r->pos = pos_of(&ps->cur);
    if (ps->nrules >= ps->lim->max_rules) {
        return pol_fail(ps->diag, ATT_ERR_POLICY_LIMIT, ps->cur.line, ps->cur.col,
                        "more than %zu rules", ps->lim->max_rules);
    }
    ps->nrules++;
    ps->conds = NULL;
    ps->nconds = 0;
    ps->conds_cap = 0;
    ps->conds_done = 0;
    if (ps->cur.kind != T_ARROW) {
        if (sec == SEC_CONFIG) {
            return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, ps->cur.line, ps->cur.col,
                            "configurationrules take only '=> issueproperty(...)' rules, "
                            "without conditions");
        }
        for (;;) {
            ATT_TRY(parse_condition(ps));
            if (ps->cur.kind != T_AND) {
                break;
            }
            ATT_TRY(advance(ps));
        }
        if (ps->cur.kind != T_ARROW) {
            return expected(ps, &ps->cur, "'&&' or '=>'");
        }
    }
    ATT_TRY(advance(ps)); /* '=>' */
    ATT_TRY(parse_action(ps, sec, &r->action));
    ATT_TRY(expect(ps, T_SEMI, "';' after the action"));
    r->conds = ps->conds;
    r->nconds = ps->nconds;
    if (r->nconds > ps->pol->max_nconds) {
        ps->pol->max_nconds = r->nconds;
    }
    return ATT_OK;
}

static bool starts_rule(const struct pol_token *t)
{
    return t->kind == T_ARROW || t->kind == T_NOT || t->kind == T_LBRACKET || t->kind == T_IDENT;
}

/* The section keyword was checked by the caller and is still the current token. */
static att_err parse_section(struct parser *ps, enum pol_section_id sec)
{
    struct pol_section *s = &ps->pol->sections[sec];
    s->present = true;
    ATT_TRY(advance(ps));
    ATT_TRY(expect(ps, T_LBRACE, "'{'"));
    size_t cap = 0;
    while (ps->cur.kind != T_RBRACE) {
        if (!starts_rule(&ps->cur)) {
            return expected(ps, &ps->cur, "a rule or '}'");
        }
        void *slot;
        ATT_TRY(pol_vec_push(&ps->pol->arena, (void **)&s->rules, &s->nrules, &cap,
                             sizeof(struct pol_rule), &slot));
        ATT_TRY(parse_rule(ps, sec, slot));
    }
    ATT_TRY(advance(ps)); /* '}' */
    return expect(ps, T_SEMI, "';' after '}'");
}

/* version=MAJOR.MINOR; with 1.0, 1.1 and 1.2 known (docs/reference/maa-policy.md §3.1). */
static att_err parse_version(struct parser *ps)
{
    ATT_TRY(expect_word(ps, "version", "'version'"));
    ATT_TRY(expect(ps, T_ASSIGN, "'=' after 'version'"));
    struct pol_token t = ps->cur;
    if (t.kind != T_NUMBER || !t.has_dot) {
        return expected(ps, &t, "a version number");
    }
    static const char *const known[] = {"1.0", "1.1", "1.2"};
    bool ok = false;
    for (unsigned i = 0; i < 3; i++) {
        if (att_bytes_eq_str(t.text, known[i])) {
            ps->pol->major = 1;
            ps->pol->minor = i;
            ok = true;
        }
    }
    if (!ok) {
        char found[64];
        pol_tok_describe(&t, found, sizeof(found));
        return pol_fail(ps->diag, ATT_ERR_POLICY_PARSE, t.line, t.col,
                        "unsupported policy version %s (supported: 1.0, 1.1, 1.2)", found);
    }
    ATT_TRY(advance(ps));
    return expect(ps, T_SEMI, "';' after the version");
}

static att_err parse_policy(struct parser *ps)
{
    ATT_TRY(advance(ps));
    ATT_TRY(parse_version(ps));
    if (pol_tok_is(&ps->cur, T_IDENT, "configurationrules")) {
        ATT_TRY(need_version(ps, &ps->cur, 11, "'configurationrules'"));
        ATT_TRY(parse_section(ps, SEC_CONFIG));
    }
    if (!pol_tok_is(&ps->cur, T_IDENT, "authorizationrules")) {
        return expected(ps, &ps->cur,
                        version_code(ps) >= 11 && !ps->pol->sections[SEC_CONFIG].present
                            ? "'configurationrules' or 'authorizationrules'"
                            : "'authorizationrules'");
    }
    ATT_TRY(parse_section(ps, SEC_AUTHZ));
    if (pol_tok_is(&ps->cur, T_IDENT, "issuancerules")) {
        ATT_TRY(parse_section(ps, SEC_ISSUANCE));
        return expect(ps, T_EOF, "end of input");
    }
    return expect(ps, T_EOF, "'issuancerules' or end of input");
}

/* ======================================================================================
 * Entry point
 * ====================================================================================== */

/* The tree is at most a fixed multiple of the text (each node needs a token); the cap
 * turns a bug in that reasoning into an error instead of unbounded memory. */
static size_t arena_cap(const struct att_policy_limits *lim)
{
    size_t per_byte = 256;
    size_t base = (size_t)1 << 20;
    if (lim->max_text > (SIZE_MAX - base) / per_byte) {
        return SIZE_MAX;
    }
    return lim->max_text * per_byte + base;
}

att_err att_policy_parse(const char *text, size_t len, const struct att_policy_limits *lim,
                         struct att_policy **out, char *msg, size_t msg_len)
{
    struct pol_diag diag = {msg, msg_len};
    struct att_policy_limits defaults;
    if (msg != NULL && msg_len > 0) {
        msg[0] = 0;
    }
    ATT_ENSURE(out != NULL && (text != NULL || len == 0), ATT_ERR_ARG);
    if (lim == NULL) {
        att_policy_limits_init(&defaults);
        lim = &defaults;
    }
    if (len > lim->max_text) {
        return pol_fail(&diag, ATT_ERR_POLICY_LIMIT, 1, 1,
                        "policy text is %zu bytes, over the limit of %zu", len, lim->max_text);
    }
    struct att_policy *pol = calloc(1, sizeof(*pol));
    ATT_ENSURE(pol != NULL, ATT_ERR_NOMEM);
    pol_arena_init(&pol->arena, arena_cap(lim));
    struct parser ps;
    memset(&ps, 0, sizeof(ps));
    ps.pol = pol;
    ps.lim = lim;
    ps.diag = &diag;
    pol_lex_init(&ps.lx, text, len, &pol->arena, lim, &diag);
    att_err rc = parse_policy(&ps);
    if (rc == ATT_ERR_TOO_LARGE) {
        rc = pol_fail(&diag, ATT_ERR_POLICY_LIMIT, ps.cur.line, ps.cur.col,
                      "policy too complex (tree over %zu bytes)", pol->arena.max);
    }
    if (rc != ATT_OK) {
        att_policy_free(pol);
        return rc;
    }
    *out = pol;
    return ATT_OK;
}
