/*
 * test_parser.c - the policy lexer and parser (src/policy/lexer.c, parser.c): a table of
 * broken policies with the exact "line:column: message" each must produce, every cap
 * of struct att_policy_limits, and the syntax variants that must be accepted.
 */
#include "policy_test.h"

#include "policy/policy_int.h"

#define V10 "version=1.0;"
#define V11 "version=1.1;"
#define V12 "version=1.2;"
#define AUTH(r) "authorizationrules{" r "};"
#define ISS(r) "issuancerules{" r "};"
#define PERMIT AUTH("=>permit();")

struct bad {
    const char *text;
    att_err code;
    const char *msg;
};

/* clang-format off */
static const struct bad bad_policies[] = {
    /* structure and version */
    {"", ATT_ERR_POLICY_PARSE, "1:1: expected 'version', found end of input"},
    {"   \n\t// only a comment\n", ATT_ERR_POLICY_PARSE, "3:1: expected 'version', found end of input"},
    {"authorizationrules{=>permit();};", ATT_ERR_POLICY_PARSE,
     "1:1: expected 'version', found 'authorizationrules'"},
    {"Version= 1.0;" PERMIT, ATT_ERR_POLICY_PARSE, "1:1: expected 'version', found 'Version'"},
    {"version 1.0;" PERMIT, ATT_ERR_POLICY_PARSE, "1:9: expected '=' after 'version', found '1.0'"},
    {"version==1.0;" PERMIT, ATT_ERR_POLICY_PARSE, "1:8: expected '=' after 'version', found '=='"},
    {"version=x", ATT_ERR_POLICY_PARSE, "1:9: expected a version number, found 'x'"},
    {"version=1;" PERMIT, ATT_ERR_POLICY_PARSE, "1:9: expected a version number, found '1'"},
    {"version=1 .0;" PERMIT, ATT_ERR_POLICY_PARSE, "1:9: expected a version number, found '1'"},
    {"version=2.0;" PERMIT, ATT_ERR_POLICY_PARSE,
     "1:9: unsupported policy version '2.0' (supported: 1.0, 1.1, 1.2)"},
    {"version=1.3;" PERMIT, ATT_ERR_POLICY_PARSE,
     "1:9: unsupported policy version '1.3' (supported: 1.0, 1.1, 1.2)"},
    {"version=1.00;" PERMIT, ATT_ERR_POLICY_PARSE,
     "1:9: unsupported policy version '1.00' (supported: 1.0, 1.1, 1.2)"},
    {"version=1.0 " PERMIT, ATT_ERR_POLICY_PARSE,
     "1:13: expected ';' after the version, found 'authorizationrules'"},
    {"version= 1.0;", ATT_ERR_POLICY_PARSE, "1:14: expected 'authorizationrules', found end of input"},
    {V11, ATT_ERR_POLICY_PARSE,
     "1:13: expected 'configurationrules' or 'authorizationrules', found end of input"},
    {V10 ISS("") PERMIT, ATT_ERR_POLICY_PARSE,
     "1:13: expected 'authorizationrules', found 'issuancerules'"},
    {V10 "authorizationrules=>permit();};", ATT_ERR_POLICY_PARSE,
     "1:31: expected '{', found '=>'"},
    {V10 "authorizationrules{=>permit();}", ATT_ERR_POLICY_PARSE,
     "1:44: expected ';' after '}', found end of input"},
    {V10 "authorizationrules{=>permit();", ATT_ERR_POLICY_PARSE,
     "1:43: expected a rule or '}', found end of input"},
    {V10 PERMIT PERMIT, ATT_ERR_POLICY_PARSE,
     "1:45: expected 'issuancerules' or end of input, found 'authorizationrules'"},
    {V10 PERMIT ISS("") "x", ATT_ERR_POLICY_PARSE, "1:61: expected end of input, found 'x'"},
    {V10 PERMIT ";", ATT_ERR_POLICY_PARSE, "1:45: expected 'issuancerules' or end of input, found ';'"},
    {V10 "authorizationrules{;};", ATT_ERR_POLICY_PARSE, "1:32: expected a rule or '}', found ';'"},
    /* version gates */
    {V10 "configurationrules{};" PERMIT, ATT_ERR_POLICY_PARSE,
     "1:13: 'configurationrules' needs policy version 1.1 or later (this policy is 1.0)"},
    {V10 AUTH("![type==\"a\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:32: '!' (negation) needs policy version 1.2 or later (this policy is 1.0)"},
    {V11 AUTH("![type==\"a\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:32: '!' (negation) needs policy version 1.2 or later (this policy is 1.1)"},
    {V11 AUTH("=>add(type=\"a\", value=NegateBool(true));"), ATT_ERR_POLICY_PARSE,
     "1:54: a function call needs policy version 1.2 or later (this policy is 1.1)"},
    {V10 AUTH("[type==\"a\", value==JmesPath(\"{}\", \"a\")]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:51: a function call needs policy version 1.2 or later (this policy is 1.0)"},
    /* sections and actions */
    {V11 "configurationrules{[type==\"a\"]=>issueproperty(type=\"a\", value=1);};" PERMIT,
     ATT_ERR_POLICY_PARSE,
     "1:32: configurationrules take only '=> issueproperty(...)' rules, without conditions"},
    {V11 "configurationrules{=>add(type=\"a\", value=1);};" PERMIT, ATT_ERR_POLICY_PARSE,
     "1:34: configurationrules allow only issueproperty(), found 'add'"},
    {V10 PERMIT ISS("=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:61: 'permit' is only allowed in authorizationrules"},
    {V10 PERMIT ISS("=>deny();"), ATT_ERR_POLICY_PARSE,
     "1:61: 'deny' is only allowed in authorizationrules"},
    {V10 AUTH("=>issue(type=\"a\", value=1);"), ATT_ERR_POLICY_PARSE,
     "1:34: 'issue' is not allowed in authorizationrules (permit, deny and add are)"},
    {V10 AUTH("=>issueproperty(type=\"a\", value=1);"), ATT_ERR_POLICY_PARSE,
     "1:34: 'issueproperty' is not allowed in authorizationrules (permit, deny and add are)"},
    {V10 AUTH("=>allow();"), ATT_ERR_POLICY_PARSE,
     "1:34: expected an action (permit, deny, add, issue or issueproperty), found 'allow'"},
    {V10 AUTH("=>permit;"), ATT_ERR_POLICY_PARSE, "1:40: expected '(', found ';'"},
    {V10 AUTH("=>permit(1);"), ATT_ERR_POLICY_PARSE,
     "1:41: expected ')' (permit() and deny() take no arguments), found '1'"},
    {V10 AUTH("=>permit()"), ATT_ERR_POLICY_PARSE, "1:42: expected ';' after the action, found '}'"},
    {V10 AUTH("[type==\"a\"] permit();"), ATT_ERR_POLICY_PARSE,
     "1:44: expected '&&' or '=>', found 'permit'"},
    {V10 AUTH("[type==\"a\"] & [type==\"b\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:44: unexpected character '&' (conditions are joined with '&&')"},
    /* the doc's TPM 1.2 sample writes issue("PlatformAttested", value=true) */
    {V12 PERMIT ISS("[type==\"a\", value==true] => issue(\"PlatformAttested\", value=true);"),
     ATT_ERR_POLICY_PARSE, "1:93: expected 'type' or 'claim', found string \"PlatformAttested\""},
    {V10 PERMIT ISS("=>issue(value=1, type=\"a\");"), ATT_ERR_POLICY_PARSE,
     "1:67: expected 'type' or 'claim', found 'value'"},
    {V10 PERMIT ISS("=>issue(type=\"a\");"), ATT_ERR_POLICY_PARSE, "1:75: expected ',', found ')'"},
    {V10 PERMIT ISS("=>issue(type=\"a\", value==1);"), ATT_ERR_POLICY_PARSE,
     "1:82: expected '=' after 'value', found '=='"},
    {V10 PERMIT ISS("=>issue(type=1, value=1);"), ATT_ERR_POLICY_PARSE,
     "1:72: a claim type is a string, found an integer"},
    {V10 PERMIT ISS("=>issue(type=\"\", value=1);"), ATT_ERR_POLICY_PARSE,
     "1:72: a claim type must not be empty"},
    {V10 PERMIT ISS("=>issue(type=\"a\", value=1, valueType=\"String\");"), ATT_ERR_POLICY_PARSE,
     "1:83: value is an integer but valueType is \"String\""},
    {V10 PERMIT ISS("=>issue(type=\"a\", value=1, valueType=\"Int\");"), ATT_ERR_POLICY_PARSE,
     "1:96: valueType is \"String\", \"Integer\" or \"Boolean\""},
    {V10 PERMIT ISS("=>issue(type=\"a\", value=1, valueType=Integer);"), ATT_ERR_POLICY_PARSE,
     "1:96: expected \"String\", \"Integer\" or \"Boolean\", found 'Integer'"},
    {V10 PERMIT ISS("=>issue(type=\"a\", value=1, issuer=\"b\");"), ATT_ERR_POLICY_PARSE,
     "1:86: expected 'valueType', found 'issuer'"},
    {V10 PERMIT ISS("=>issue(claim=c);"), ATT_ERR_POLICY_PARSE,
     "1:73: unbound identifier 'c' (bind it with c:[...] in an earlier condition of this rule)"},
    {V10 PERMIT ISS("=>issue(claim=\"c\");"), ATT_ERR_POLICY_PARSE,
     "1:73: expected an identifier bound by a condition, found string \"c\""},
    /* conditions and identifiers */
    {V10 AUTH("[type==\"a\"]=>add(type=\"b\", value=c.value);"), ATT_ERR_POLICY_PARSE,
     "1:65: unbound identifier 'c' (bind it with c:[...] in an earlier condition of this rule)"},
    {V10 AUTH("c:[type==\"a\", value==c.value]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:53: unbound identifier 'c' (bind it with c:[...] in an earlier condition of this rule)"},
    {V10 AUTH("c:[type==\"a\"]=>permit();[type==\"b\", value==c.value]=>permit();"),
     ATT_ERR_POLICY_PARSE,
     "1:75: unbound identifier 'c' (bind it with c:[...] in an earlier condition of this rule)"},
    {V12 AUTH("!c:[type==\"a\"]=>add(type=\"b\", value=c.value);"), ATT_ERR_POLICY_PARSE,
     "1:68: identifier 'c' is bound by a negated condition and refers to no claim"},
    {V10 AUTH("c:[type==\"a\"] && c:[type==\"b\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:49: identifier 'c' is already bound in this rule"},
    {V10 AUTH("type:[type==\"a\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:32: 'type' is a reserved word and cannot name a condition"},
    {V10 AUTH("c[type==\"a\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:33: expected ':' after a condition's identifier, found '['"},
    {V10 AUTH("c:type==\"a\"=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:34: expected '[' to start a condition, found 'type'"},
    {V10 AUTH("[]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:33: expected 'type', 'value', 'issuer' or 'valueType', found ']'"},
    {V10 AUTH("[name==\"a\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:33: expected 'type', 'value', 'issuer' or 'valueType', found 'name'"},
    {V10 AUTH("[type==\"a\" value==1]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:43: expected ',' or ']', found 'value'"},
    {V10 AUTH("[type=>\"a\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:37: expected a comparison operator (==, !=, <, <=, >, >=), found '=>'"},
    {V10 AUTH("[type=<\"a\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:38: expected an expression, found '<'"},
    {V10 AUTH("[type<\"a\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:37: '<' compares integers, but 'type' is a string"},
    {V10 AUTH("[value>=\"a\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:38: '>=' compares integers, found a string"},
    {V10 AUTH("[value<true]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:38: '<' compares integers, found a Boolean"},
    {V10 AUTH("[type==5]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:39: 'type' is compared with a string, found an integer"},
    {V10 AUTH("[issuer==\"Attestationservice\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:41: issuer is \"AttestationService\", \"AttestationPolicy\" or \"CustomClaim\""},
    {V10 AUTH("[valueType==\"string\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:44: valueType is \"String\", \"Integer\" or \"Boolean\""},
    /* expressions */
    {V10 AUTH("[value==]=>permit();"), ATT_ERR_POLICY_PARSE, "1:40: expected an expression, found ']'"},
    {V10 AUTH("[value==yes]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:40: expected an expression, found 'yes'"},
    {V10 AUTH("[value==1.5]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:40: expected an expression (numbers are integers), found '1.5'"},
    {V10 AUTH("[value==9223372036854775808]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:40: integer literal out of range (64-bit signed)"},
    {V10 AUTH("[value==-9223372036854775809]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:40: integer literal out of range (64-bit signed)"},
    {V10 AUTH("c:[type==\"a\"] && [value==c]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:58: expected '.type', '.value' or '.issuer' after an identifier, found ']'"},
    {V10 AUTH("c:[type==\"a\"] && [value==c.valueType]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:59: expected 'type', 'value' or 'issuer' after '.', found 'valueType'"},
    {V12 AUTH("=>add(type=\"a\", value=Foo(1));"), ATT_ERR_POLICY_PARSE,
     "1:54: unknown function 'Foo'"},
    {V12 AUTH("=>add(type=\"a\", value=jmespath(\"{}\", \"a\"));"), ATT_ERR_POLICY_PARSE,
     "1:54: unknown function 'jmespath'"},
    {V12 AUTH("=>add(type=\"a\", value=JmesPath(\"{}\"));"), ATT_ERR_POLICY_PARSE,
     "1:54: JmesPath takes 2 arguments, found 1"},
    {V12 AUTH("=>add(type=\"a\", value=NegateBool(true, false));"), ATT_ERR_POLICY_PARSE,
     "1:54: NegateBool takes 1 argument, found 2"},
    {V12 AUTH("=>add(type=\"a\", value=AppendString());"), ATT_ERR_POLICY_PARSE,
     "1:54: AppendString takes 2 arguments, found 0"},
    {V12 AUTH("=>add(type=\"a\", value=IsSubsetOf(1 2));"), ATT_ERR_POLICY_PARSE,
     "1:67: expected ',' or ')', found '2'"},
    /* lexical */
    {V10 AUTH("[type==\"a]=>permit();"), ATT_ERR_POLICY_PARSE, "1:39: unterminated string literal"},
    {V10 AUTH("[type==\"a\n\"]=>permit();"), ATT_ERR_POLICY_PARSE, "1:39: unterminated string literal"},
    {V10 AUTH("[type==\xe2\x80\x9c" "a\xe2\x80\x9d]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:39: typographic quote '\xe2\x80\x9c' (U+201C) cannot delimit a string; use a straight "
     "double quote '\"'"},
    {"version= 1.0;\nauthorizationrules\n{\n\tc:[type==\xe2\x80\x9d$is-debuggable\xe2\x80\x9d] => "
     "permit();\n};", ATT_ERR_POLICY_PARSE,
     "4:11: typographic quote '\xe2\x80\x9d' (U+201D) cannot delimit a string; use a straight "
     "double quote '\"'"},
    {V10 AUTH("[type==\"a\\q\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:41: invalid escape '\\q' in string literal"},
    {V10 AUTH("[type==\"\\u12\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:40: invalid \\u escape: expected four hex digits"},
    {V10 AUTH("[type==\"\\ud800\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:40: invalid \\u escape: unpaired surrogate"},
    {V10 AUTH("[type==\"\\u0000\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:40: NUL character (\\u0000) in string literal"},
    {V10 AUTH("[type==\"a\x01\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:41: control character 0x01 in string literal (use an escape)"},
    {V10 AUTH("[type==\"a\xff\"]=>permit();"), ATT_ERR_POLICY_PARSE, "1:41: invalid UTF-8 (byte 0xff)"},
    {V10 AUTH("[type==\"a\xc0\xaf\"]=>permit();"), ATT_ERR_POLICY_PARSE, "1:41: invalid UTF-8 (byte 0xc0)"},
    {V10 AUTH("[type==\"a\xed\xa0\x80\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:41: invalid UTF-8 (byte 0xed)"},
    {V10 "// caf\xe9\n" PERMIT, ATT_ERR_POLICY_PARSE, "1:19: invalid UTF-8 (byte 0xe9)"},
    {V10 AUTH("[type#\"a\"]=>permit();"), ATT_ERR_POLICY_PARSE, "1:37: unexpected character '#'"},
    {V10 AUTH("[type==\"a\"] || [type==\"b\"]=>permit();"), ATT_ERR_POLICY_PARSE,
     "1:44: unexpected character '|'"},
    {V10 AUTH("/* c */=>permit();"), ATT_ERR_POLICY_PARSE, "1:32: unexpected character '/'"},
    {V10 AUTH("\x7f=>permit();"), ATT_ERR_POLICY_PARSE, "1:32: unexpected control character 0x7f"},
    {V10 AUTH("\xc3\xa9=>permit();"), ATT_ERR_POLICY_PARSE, "1:32: unexpected character '\xc3\xa9' (U+00E9)"},
    {"version=1.0;\r\nauthorizationrules{\r\n=>permit();\r\n}\r\n", ATT_ERR_POLICY_PARSE,
     "5:1: expected ';' after '}', found end of input"},
};
/* clang-format on */

static void test_error_table(void **state)
{
    (void)state;
    size_t checked = 0;
    size_t wrong = 0;
    for (size_t i = 0; i < NELEM(bad_policies); i++) {
        const struct bad *b = &bad_policies[i];
        struct att_policy *p = NULL;
        char msg[256];
        att_err rc = att_policy_parse(b->text, strlen(b->text), NULL, &p, msg, sizeof(msg));
        if (rc != b->code || strcmp(msg, b->msg) != 0) {
            print_error("row %zu: %s\n  got      %s: %s\n  expected %s: %s\n", i, b->text,
                        att_err_name(rc), msg, att_err_name(b->code), b->msg);
            wrong++;
        }
        assert_null(p);
        checked++;
    }
    assert_int_equal(wrong, 0);
    print_message("%zu broken policies, each with its exact message\n", checked);
    assert_true(checked >= 30);
}

static void expect_bad(const char *text, size_t len, const struct att_policy_limits *lim,
                       att_err code, const char *want)
{
    struct att_policy *p = NULL;
    char msg[256];
    att_err rc = att_policy_parse(text, len, lim, &p, msg, sizeof(msg));
    if (rc != code || strcmp(msg, want) != 0) {
        fail_msg("got %s: %s\nexpected %s: %s", att_err_name(rc), msg, att_err_name(code), want);
    }
    assert_null(p);
}

static void test_nul_byte(void **state)
{
    (void)state;
    static const char a[] = V10 "authorizationrules{=>permit();\0};";
    expect_bad(a, sizeof(a) - 1, NULL, ATT_ERR_POLICY_PARSE, "1:43: NUL byte in policy text");
    static const char b[] = V10 "authorizationrules{[type==\"a\0\"]=>permit();};";
    expect_bad(b, sizeof(b) - 1, NULL, ATT_ERR_POLICY_PARSE, "1:41: NUL byte in policy text");
    static const char c[] = V10 "// x\0\n" PERMIT;
    expect_bad(c, sizeof(c) - 1, NULL, ATT_ERR_POLICY_PARSE, "1:17: NUL byte in policy text");
    static const char d[] = "\0";
    expect_bad(d, 1, NULL, ATT_ERR_POLICY_PARSE, "1:1: NUL byte in policy text");
}

/* The message buffer is optional and truncated safely. */
static void test_message_buffer(void **state)
{
    (void)state;
    struct att_policy *p = NULL;
    EXPECT_ERR(att_policy_parse("version=x", 9, NULL, &p, NULL, 0), ATT_ERR_POLICY_PARSE);
    char small[8];
    EXPECT_ERR(att_policy_parse("version=x", 9, NULL, &p, small, sizeof(small)),
               ATT_ERR_POLICY_PARSE);
    assert_string_equal(small, "1:9: ex");
    EXPECT_ERR(att_policy_parse(NULL, 1, NULL, &p, NULL, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_policy_parse("x", 1, NULL, NULL, NULL, 0), ATT_ERR_ARG);
    /* a long token is quoted at most 32 bytes, cut at a character boundary */
    char msg[256];
    const char *t = V10 "authorizationrules{=>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa();};";
    EXPECT_ERR(att_policy_parse(t, strlen(t), NULL, &p, msg, sizeof(msg)), ATT_ERR_POLICY_PARSE);
    assert_string_equal(msg, "1:34: expected an action (permit, deny, add, issue or "
                             "issueproperty), found 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
    const char *u = V10 "authorizationrules{[type==\"a\"] \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\" =>permit();};";
    EXPECT_ERR(att_policy_parse(u, strlen(u), NULL, &p, msg, sizeof(msg)), ATT_ERR_POLICY_PARSE);
    assert_string_equal(msg, "1:44: expected '&&' or '=>', found string \"\xc3\xa9\xc3\xa9\xc3\xa9"
                             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...");
}

/* ---- caps ------------------------------------------------------------------------------ */

/* "version=1.0;authorizationrules{" + n copies of `rule` + "};" */
static char *repeat_rules(const char *head, const char *rule, size_t n, size_t *len)
{
    size_t hl = strlen(head);
    size_t rl = strlen(rule);
    char *s = malloc(hl + rl * n + 8);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++) {
        memcpy(s + hl + i * rl, rule, rl);
    }
    memcpy(s + hl + rl * n, "};", 3);
    *len = hl + rl * n + 2;
    return s;
}

static void test_limit_text(void **state)
{
    (void)state;
    struct att_policy_limits lim;
    att_policy_limits_init(&lim);
    assert_int_equal(lim.max_text, 64 * 1024);
    size_t len;
    char *s = repeat_rules(V10 "authorizationrules{", "=>permit();  ", 5100, &len);
    assert_true(len > 64 * 1024);
    char want[128];
    snprintf(want, sizeof(want), "1:1: policy text is %zu bytes, over the limit of 65536", len);
    expect_bad(s, len, NULL, ATT_ERR_POLICY_LIMIT, want);
    lim.max_text = len;
    lim.max_rules = 6000;
    struct att_policy *p = NULL;
    EXPECT_OK(att_policy_parse(s, len, &lim, &p, NULL, 0));
    assert_int_equal(att_policy_rule_count(p), 5100);
    att_policy_free(p);
    free(s);
}

static void test_limit_rules(void **state)
{
    (void)state;
    size_t len;
    char *s = repeat_rules(V10 "authorizationrules{", "=>permit();", 1024, &len);
    struct att_policy *p = NULL;
    EXPECT_OK(att_policy_parse(s, len, NULL, &p, NULL, 0));
    att_policy_free(p);
    free(s);
    s = repeat_rules(V10 "authorizationrules{", "=>permit();", 1025, &len);
    expect_bad(s, len, NULL, ATT_ERR_POLICY_LIMIT, "1:11296: more than 1024 rules");
    free(s);
    /* the cap counts all sections together */
    struct att_policy_limits lim;
    att_policy_limits_init(&lim);
    lim.max_rules = 2;
    const char *t = V11 "configurationrules{=>issueproperty(type=\"a\", value=1);};" PERMIT ISS(
        "=>issue(type=\"b\", value=2);");
    expect_bad(t, strlen(t), &lim, ATT_ERR_POLICY_LIMIT, "1:115: more than 2 rules");
}

static void test_limit_conditions_and_props(void **state)
{
    (void)state;
    /* 64 conditions pass, 65 do not */
    char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof(buf), V10 "authorizationrules{");
    for (int i = 0; i < 65; i++) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s[type==\"t\"]", i > 0 ? "&&" : "");
        if (i == 63) {
            size_t keep = n;
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "=>permit();};");
            struct att_policy *p = NULL;
            EXPECT_OK(att_policy_parse(buf, n, NULL, &p, NULL, 0));
            att_policy_free(p);
            n = keep;
        }
    }
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "=>permit();};");
    expect_bad(buf, n, NULL, ATT_ERR_POLICY_LIMIT, "1:864: more than 64 conditions in one rule");

    n = (size_t)snprintf(buf, sizeof(buf), V10 "authorizationrules{[type==\"t\"");
    for (int i = 0; i < 16; i++) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",value!=%d", i);
        if (i == 14) {
            size_t keep = n;
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "]=>permit();};");
            struct att_policy *p = NULL;
            EXPECT_OK(att_policy_parse(buf, n, NULL, &p, NULL, 0));
            att_policy_free(p);
            n = keep;
        }
    }
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "]=>permit();};");
    expect_bad(buf, n, NULL, ATT_ERR_POLICY_LIMIT,
               "1:183: more than 16 property conditions in one condition");
}

static void test_limit_depth(void **state)
{
    (void)state;
    char buf[1024];
    for (int depth = 16; depth <= 17; depth++) {
        size_t n =
            (size_t)snprintf(buf, sizeof(buf), V12 "authorizationrules{=>add(type=\"a\", value=");
        for (int i = 0; i < depth; i++) {
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "NegateBool(");
        }
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "true");
        for (int i = 0; i < depth; i++) {
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, ")");
        }
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ");};");
        if (depth == 16) {
            struct att_policy *p = NULL;
            EXPECT_OK(att_policy_parse(buf, n, NULL, &p, NULL, 0));
            struct att_policy_result r;
            eval_ok(p, NULL, 0, &r);
            att_policy_result_cleanup(&r);
            att_policy_free(p);
        } else {
            expect_bad(buf, n, NULL, ATT_ERR_POLICY_LIMIT,
                       "1:230: function calls nested deeper than 16");
        }
    }
    /* deep nesting cannot exhaust the stack: refused at the cap, long before */
    size_t big = 200000;
    char *s = malloc(big * 12 + 256);
    assert_non_null(s);
    size_t n = (size_t)snprintf(s, 256, V12 "authorizationrules{=>add(type=\"a\", value=");
    for (size_t i = 0; i < big; i++) {
        memcpy(s + n, "NegateBool(", 11);
        n += 11;
    }
    struct att_policy_limits lim;
    att_policy_limits_init(&lim);
    lim.max_text = n;
    struct att_policy *p = NULL;
    EXPECT_ERR(att_policy_parse(s, n, &lim, &p, NULL, 0), ATT_ERR_POLICY_LIMIT);
    free(s);
}

static void test_limit_string_and_ident(void **state)
{
    (void)state;
    char *buf = malloc(20000);
    assert_non_null(buf);
    for (size_t len = 8192; len <= 8193; len++) {
        size_t n = (size_t)snprintf(buf, 20000, V10 "authorizationrules{[type==\"");
        memset(buf + n, 'x', len);
        n += len;
        n += (size_t)snprintf(buf + n, 20000 - n, "\"]=>permit();};");
        if (len == 8192) {
            struct att_policy *p = NULL;
            EXPECT_OK(att_policy_parse(buf, n, NULL, &p, NULL, 0));
            att_policy_free(p);
        } else {
            expect_bad(buf, n, NULL, ATT_ERR_POLICY_LIMIT,
                       "1:39: string literal longer than 8192 bytes");
        }
    }
    /* the cap is on decoded bytes: 4096 escapes of 2 bytes each decode to 4096 */
    size_t n = (size_t)snprintf(buf, 20000, V10 "authorizationrules{[type==\"");
    for (int i = 0; i < 4096; i++) {
        memcpy(buf + n, "\\n", 2);
        n += 2;
    }
    n += (size_t)snprintf(buf + n, 20000 - n, "x\"]=>permit();};");
    struct att_policy *p = NULL;
    EXPECT_OK(att_policy_parse(buf, n, NULL, &p, NULL, 0));
    att_policy_free(p);

    for (size_t len = 64; len <= 65; len++) {
        n = (size_t)snprintf(buf, 20000, V10 "authorizationrules{");
        memset(buf + n, 'c', len);
        n += len;
        n += (size_t)snprintf(buf + n, 20000 - n, ":[type==\"t\"]=>permit();};");
        if (len == 64) {
            EXPECT_OK(att_policy_parse(buf, n, NULL, &p, NULL, 0));
            att_policy_free(p);
        } else {
            expect_bad(buf, n, NULL, ATT_ERR_POLICY_LIMIT,
                       "1:32: identifier longer than 64 characters");
        }
    }
    free(buf);
}

/* Caps are the caller's: lowering each one turns the same policy into a precise error. */
static void test_limits_configurable(void **state)
{
    (void)state;
    const char *t = V12 AUTH("c:[type==\"aa\", value==1] && [type==\"b\"] => "
                             "add(type=\"x\", value=NegateBool(NegateBool(true)));");
    struct att_policy_limits lim;
    struct att_policy *p = NULL;
    att_policy_limits_init(&lim);
    EXPECT_OK(att_policy_parse(t, strlen(t), &lim, &p, NULL, 0));
    att_policy_free(p);

    att_policy_limits_init(&lim);
    lim.max_conditions = 1;
    expect_bad(t, strlen(t), &lim, ATT_ERR_POLICY_LIMIT,
               "1:60: more than 1 conditions in one rule");
    att_policy_limits_init(&lim);
    lim.max_props = 1;
    expect_bad(t, strlen(t), &lim, ATT_ERR_POLICY_LIMIT,
               "1:47: more than 1 property conditions in one condition");
    att_policy_limits_init(&lim);
    lim.max_depth = 1;
    expect_bad(t, strlen(t), &lim, ATT_ERR_POLICY_LIMIT,
               "1:106: function calls nested deeper than 1");
    att_policy_limits_init(&lim);
    lim.max_string = 1;
    expect_bad(t, strlen(t), &lim, ATT_ERR_POLICY_LIMIT,
               "1:41: string literal longer than 1 bytes");
    att_policy_limits_init(&lim);
    lim.max_ident = 0;
    expect_bad(t, strlen(t), &lim, ATT_ERR_POLICY_LIMIT,
               "1:1: identifier longer than 0 characters");
    att_policy_limits_init(&lim);
    lim.max_rules = 0;
    expect_bad(t, strlen(t), &lim, ATT_ERR_POLICY_LIMIT, "1:32: more than 0 rules");
    att_policy_limits_init(&lim);
    lim.max_text = 10;
    char want[96];
    snprintf(want, sizeof(want), "1:1: policy text is %zu bytes, over the limit of 10", strlen(t));
    expect_bad(t, strlen(t), &lim, ATT_ERR_POLICY_LIMIT, want);
}

/* ---- what must be accepted ----------------------------------------------------------------- */

static void test_accepted_variants(void **state)
{
    (void)state;
    static const char *const good[] = {
        /* whitespace anywhere between tokens, including none */
        "version= 1.0;authorizationrules{=>permit();};",
        "version=1.0;authorizationrules{=>permit();};issuancerules{};",
        " \t\r\n version \n = \n 1.0 \n ; authorizationrules \n { \n => \n permit \n ( \n ) \n ; "
        "\n } \n ; \n",
        "version=1.2;authorizationrules{c:[type==\"a\",value!=1]&&!c2:[type==\"b\"]=>permit();};",
        /* comments everywhere, CRLF line ends, a UTF-8 byte order mark */
        "// leading\nversion=1.0; // after version\r\nauthorizationrules{ // x\r\n=>permit(); //"
        " caf\xc3\xa9 \xe2\x80\x9cquoted\xe2\x80\x9d\n};// end",
        "\xef\xbb\xbfversion=1.0;authorizationrules{=>permit();};",
        /* '=' as '==' (MAA's samples), every operator, negative and extreme integers */
        "version=1.0;authorizationrules{c:[type=\"a\", issuer=\"CustomClaim\"] && [value==1, "
        "value!=2, value<3, value<=4, value>5, value>=6, value==-7, value==9223372036854775807, "
        "value==-9223372036854775808, value==007]=>permit();};",
        /* string escapes and non-ASCII content */
        "version=1.0;authorizationrules{[type==\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00 "
        "caf\xc3\xa9 \xe2\x80\x9c\xe2\x80\x9d\t\"]=>permit();};",
        /* valueType conditions and actions, claim= */
        "version=1.0;authorizationrules{=>permit();};issuancerules{c:[type==\"a\", "
        "valueType==\"Integer\"] => issue(claim=c);=>issue(type=\"b\", value=true, "
        "valueType=\"Boolean\");c:[type==\"x\"] => issue(type=c.value, value=c.issuer);};",
        /* every function with its arity, nested */
        "version=1.2;authorizationrules{=>permit();};issuancerules{c:[type==\"e\"]=>add(type="
        "\"r\", value=JsonToClaimValue(JmesPath(c.value, AppendString(\"a\", \"b\"))));=>add(type="
        "\"s\", value=IsSubsetOf(1, 2));=>add(type=\"t\", value=ContainsOnlyValue(NegateBool(true),"
        " false));};",
        /* identifiers like the docs': F1, C2, c1, and an identifier named like a section */
        "version=1.0;authorizationrules{F1:[type==\"OSName\", issuer==\"CustomClaim\"] && "
        "C2:[type==\"OSName\", issuer==\"AttestationService\", value== F1.value ] => "
        "add(type=\"os\", value=C2.value);authorizationrules:[type==\"x\"]=>permit();};",
        /* a v1.1 configuration section alone */
        "version=1.1;configurationrules{};authorizationrules{};",
    };
    for (size_t i = 0; i < NELEM(good); i++) {
        struct att_policy *p = NULL;
        char msg[256];
        att_err rc = att_policy_parse(good[i], strlen(good[i]), NULL, &p, msg, sizeof(msg));
        if (rc != ATT_OK) {
            fail_msg("policy %zu refused: %s: %s", i, att_err_name(rc), msg);
        }
        att_policy_free(p);
    }
}

/* The tree the parser builds, checked through the private header. */
static void test_tree_shape(void **state)
{
    (void)state;
    struct att_policy *p = parse_str(
        "version=1.2;configurationrules{=>issueproperty(type=\"p\", value=15);};\n"
        "authorizationrules{c:[type=\"a\", value>=-3] && !d:[issuer==\"CustomClaim\"] => "
        "permit();};\n"
        "issuancerules{c:[type==\"x\"] => issue(type=\"y\", value=JmesPath(c.value, \"q\\n\"),"
        " valueType=\"String\");};");
    assert_int_equal(p->major, 1);
    assert_int_equal(p->minor, 2);
    assert_int_equal(p->sections[SEC_CONFIG].nrules, 1);
    assert_int_equal(p->sections[SEC_AUTHZ].nrules, 1);
    assert_int_equal(p->sections[SEC_ISSUANCE].nrules, 1);
    const struct pol_rule *r = &p->sections[SEC_AUTHZ].rules[0];
    assert_int_equal(r->pos.line, 2);
    assert_int_equal(r->pos.col, 20);
    assert_int_equal(r->nconds, 2);
    assert_string_equal(r->conds[0].ident, "c");
    assert_false(r->conds[0].negated);
    assert_int_equal(r->conds[0].nprops, 2);
    assert_int_equal(r->conds[0].props[0].op, OP_EQ); /* '=' read as '==' */
    assert_int_equal(r->conds[0].props[1].op, OP_GE);
    assert_int_equal(r->conds[0].props[1].rhs->kind, PE_INTEGER);
    assert_int_equal(r->conds[0].props[1].rhs->integer, -3);
    assert_true(r->conds[1].negated);
    assert_int_equal(r->conds[1].props[0].field, PF_ISSUER);
    assert_int_equal(r->action.kind, PA_PERMIT);
    assert_int_equal(p->max_nconds, 2);
    const struct pol_action *a = &p->sections[SEC_ISSUANCE].rules[0].action;
    assert_int_equal(a->kind, PA_ISSUE);
    assert_true(a->has_value_type);
    assert_int_equal(a->value_type, ATT_CLAIM_STRING);
    assert_int_equal(a->value->kind, PE_CALL);
    assert_int_equal(a->value->func, FN_JMESPATH);
    assert_int_equal(a->value->nargs, 2);
    assert_int_equal(a->value->args[0]->kind, PE_FIELD);
    assert_int_equal(a->value->args[0]->binding, 0);
    assert_int_equal(a->value->args[0]->field, PF_VALUE);
    assert_int_equal(a->value->args[1]->str_len, 2);
    assert_memory_equal(a->value->args[1]->str, "q\n", 3);
    att_policy_free(p);
}

/* Every prefix of a valid policy fails cleanly with a position inside the text. */
static void test_prefixes_report_positions(void **state)
{
    (void)state;
    const char *t = "version=1.2;\nauthorizationrules{\n\tc:[type==\"a\"] && "
                    "![type==\"b\"] => permit();\n};\nissuancerules{c:[type==\"a\"]=>"
                    "issue(type=\"x\", value=AppendString(c.value, \"y\"));};";
    size_t len = strlen(t);
    for (size_t cut = 0; cut < len; cut++) {
        struct att_policy *p = NULL;
        char msg[256];
        att_err rc = att_policy_parse(t, cut, NULL, &p, msg, sizeof(msg));
        if (rc == ATT_OK) {
            att_policy_free(p); /* only a cut right after the authorization section's ';' */
            continue;
        }
        assert_int_equal(rc, ATT_ERR_POLICY_PARSE);
        unsigned long line;
        unsigned long col;
        assert_int_equal(sscanf(msg, "%lu:%lu:", &line, &col), 2);
        assert_true(line >= 1 && line <= 5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_message_buffer),
        cmocka_unit_test(test_limit_text),
        cmocka_unit_test(test_limit_rules),
        cmocka_unit_test(test_limit_conditions_and_props),
        cmocka_unit_test(test_limit_depth),
        cmocka_unit_test(test_limit_string_and_ident),
        cmocka_unit_test(test_limits_configurable),
        cmocka_unit_test(test_accepted_variants),
        cmocka_unit_test(test_tree_shape),
        cmocka_unit_test(test_prefixes_report_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
