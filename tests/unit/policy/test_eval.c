/*
 * test_eval.c - the evaluator (src/policy/eval.c): condition matching and binding,
 * negation, operators and kinds, sections and actions, the six functions with the
 * examples of MAA's claim-rule-functions page, read-only claims, and every cap of an
 * evaluation (step budget, added claims, value size, memory).
 */
#include "policy_test.h"

#define HEAD12 "version=1.2;authorizationrules{=>permit();};"

/* Evaluate `text` over `in`; expect success. */
static void run(const char *text, const struct att_claim *in, size_t n, struct att_policy_result *r)
{
    struct att_policy *p = parse_str(text);
    eval_ok(p, in, n, r);
    att_policy_free(p);
}

/* Evaluate `text` over `in` with `lim`; expect `code` and the message `want`. */
static void run_err(const char *text, const struct att_claim *in, size_t n,
                    const struct att_policy_limits *lim, att_err code, const char *want)
{
    struct att_policy *p = parse_str(text);
    struct att_policy_result r;
    memset(&r, 0x5a, sizeof(r));
    char msg[256];
    att_err rc = att_policy_eval(p, in, n, lim, &r, msg, sizeof(msg));
    if (rc != code || (want != NULL && strcmp(msg, want) != 0)) {
        fail_msg("got %s: %s\nexpected %s: %s", att_err_name(rc), msg, att_err_name(code),
                 want != NULL ? want : "(any)");
    }
    /* out-parameters are written only on success */
    unsigned char fill[sizeof(r)];
    memset(fill, 0x5a, sizeof(fill));
    assert_memory_equal(&r, fill, sizeof(r));
    att_policy_free(p);
}

/* ---- conditions ------------------------------------------------------------------------ */

/*
 * A condition without an issuer property matches claims of any issuer: the default SGX
 * policy (docs/reference/maa-policy.md §3.7) permits on c:[type=="$is-debuggable"], a claim issued
 * by AttestationService; were CustomClaim the default issuer of a condition, MAA's own default
 * policy would permit nothing.
 */
static void test_condition_any_issuer(void **state)
{
    (void)state;
    const enum att_claim_issuer issuers[] = {AS, CC, AP};
    for (size_t i = 0; i < NELEM(issuers); i++) {
        struct att_claim in[] = {att_claim_string("t", "v", issuers[i])};
        struct att_policy_result r;
        run("version=1.0;authorizationrules{[type==\"t\"]=>permit();};", in, 1, &r);
        assert_true(r.authorized);
        att_policy_result_cleanup(&r);
        run("version=1.0;authorizationrules{[type==\"t\", issuer==\"CustomClaim\"]=>permit();};",
            in, 1, &r);
        assert_true(r.authorized == (issuers[i] == CC));
        att_policy_result_cleanup(&r);
    }
}

/* IDENT binds the first matching claim; a condition holds when at least one claim matches. */
static void test_first_binding(void **state)
{
    (void)state;
    struct att_claim in[] = {
        att_claim_integer("x", 5, AS),
        att_claim_integer("a", 1, AS),
        att_claim_integer("a", 2, CC),
        att_claim_integer("a", 3, AS),
    };
    struct att_policy_result r;
    run("version=1.0;authorizationrules{=>permit();};issuancerules{"
        "c:[type==\"a\"] => issue(type=\"first\", value=c.value);"
        "c:[type==\"a\", issuer==\"CustomClaim\"] => issue(type=\"cc\", value=c.value);"
        "c:[type==\"a\", value>1] => issue(type=\"gt1\", value=c.value);"
        "c:[type==\"a\", value>3] => issue(type=\"gt3\", value=c.value);"
        "c:[type==\"a\"] => issue(type=\"issuer\", value=c.issuer);"
        "c:[type==\"a\"] => issue(type=\"type\", value=c.type);};",
        in, NELEM(in), &r);
    static const struct exp_claim exp[] = {
        EXP_I("first", 1),  EXP_I("cc", 2), EXP_I("gt1", 2), EXP_S("issuer", "AttestationService"),
        EXP_S("type", "a"),
    };
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp, NELEM(exp));
    att_policy_result_cleanup(&r);
}

/* The claim-rule grammar's F1/C2 example: identifiers carry into later conditions. */
static void test_binding_across_conditions(void **state)
{
    (void)state;
    const char *text =
        "version=1.0;authorizationrules{=>permit();};issuancerules{"
        "F1:[type==\"OSName\" , issuer==\"CustomClaim\"] && \n"
        "[type==\"OSName\" , issuer==\"AttestationService\", value== F1.value ] \n"
        "=> issueproperty(type=\"report_validity_in_minutes\", value=1440);\n"
        "F1:[type==\"OSName\" , issuer==\"CustomClaim\"] && \n"
        "C2:[type==\"OSName\" , issuer==\"AttestationService\", value== F1.value ] \n"
        "=> issue(claim = C2);};";
    struct att_claim same[] = {att_claim_string("OSName", "Windows", CC),
                               att_claim_string("OSName", "Windows", AS)};
    struct att_policy_result r;
    run(text, same, 2, &r);
    static const struct exp_claim out[] = {EXP_S("OSName", "Windows")};
    static const struct exp_claim props[] = {EXP_I("report_validity_in_minutes", 1440)};
    assert_claims("outgoing", r.outgoing, r.n_outgoing, out, NELEM(out));
    assert_claims("properties", r.properties, r.n_properties, props, NELEM(props));
    att_policy_result_cleanup(&r);
    struct att_claim differ[] = {att_claim_string("OSName", "Windows", CC),
                                 att_claim_string("OSName", "Linux", AS)};
    run(text, differ, 2, &r);
    assert_int_equal(r.n_outgoing, 0);
    assert_int_equal(r.n_properties, 0);
    att_policy_result_cleanup(&r);
}

static void test_negation(void **state)
{
    (void)state;
    const char *text = HEAD12 "issuancerules{"
                              "![type==\"Claim3\"] => add(type=\"Claim3\", value=300);"
                              "c:[type==\"Claim3\"] => issue(type=\"seen\", value=c.value);"
                              "![type==\"Claim1\", issuer==\"AttestationPolicy\"] => "
                              "issue(type=\"noPolicyClaim1\", value=true);"
                              "![type==\"Claim1\"] => issue(type=\"noClaim1\", value=true);"
                              "[type==\"Claim1\"] && ![type==\"Claim2\", value==201] => "
                              "issue(type=\"mixed\", value=true);};";
    struct att_claim in[] = {att_claim_integer("Claim1", 100, AS),
                             att_claim_integer("Claim2", 200, AS)};
    struct att_policy_result r;
    run(text, in, NELEM(in), &r);
    static const struct exp_claim exp[] = {EXP_I("seen", 300), EXP_B("noPolicyClaim1", true),
                                           EXP_B("mixed", true)};
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp, NELEM(exp));
    att_policy_result_cleanup(&r);
    /* Claim3 present: the negated rule does not add a second one */
    struct att_claim in3[] = {att_claim_integer("Claim3", 7, CC)};
    run(text, in3, 1, &r);
    static const struct exp_claim exp3[] = {EXP_I("seen", 7), EXP_B("noPolicyClaim1", true),
                                            EXP_B("noClaim1", true)};
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp3, NELEM(exp3));
    att_policy_result_cleanup(&r);
}

/*
 * Kinds and operators: integers compare with all six operators, strings and Booleans
 * with == and != only; a claim of another kind than the right-hand side does not
 * satisfy the property, whatever the operator (also !=).
 */
static void test_operators_and_kinds(void **state)
{
    (void)state;
    struct att_claim in[] = {
        att_claim_integer("i", 10, AS),
        att_claim_string("s", "10", AS),
        att_claim_boolean("b", true, AS),
        att_claim_string("e", "", AS),
    };
    struct {
        const char *cond;
        bool holds;
    } cases[] = {
        {"[type==\"i\", value==10]", true},
        {"[type==\"i\", value!=10]", false},
        {"[type==\"i\", value<11]", true},
        {"[type==\"i\", value<10]", false},
        {"[type==\"i\", value<=10]", true},
        {"[type==\"i\", value>9]", true},
        {"[type==\"i\", value>10]", false},
        {"[type==\"i\", value>=10]", true},
        {"[type==\"i\", value>=-5]", true},
        {"[type==\"i\", value=10]", true},
        {"[type==\"i\", value==\"10\"]", false},
        {"[type==\"i\", value!=\"10\"]", false},
        {"[type==\"s\", value==\"10\"]", true},
        {"[type==\"s\", value!=\"1\"]", true},
        {"[type==\"s\", value==10]", false},
        {"[type==\"s\", value!=10]", false},
        {"[type==\"s\", value>=9]", false},
        {"[type==\"b\", value==true]", true},
        {"[type==\"b\", value!=false]", true},
        {"[type==\"b\", value==\"true\"]", false},
        {"[type==\"b\", value==1]", false},
        {"[type==\"e\", value==\"\"]", true},
        {"[type==\"S\"]", false},
        {"[type!=\"i\", type!=\"s\", type!=\"b\"]", true},
        {"[type==\"i\", valueType==\"Integer\"]", true},
        {"[type==\"s\", valueType==\"Integer\"]", false},
        {"[type==\"b\", valueType==\"Boolean\"]", true},
        {"[valueType==\"String\", value==\"10\"]", true},
        {"[type==\"i\", issuer==\"AttestationService\"]", true},
        {"[type==\"i\", issuer!=\"AttestationService\"]", false},
        /* computed right-hand sides: ordering of strings never matches */
        {"[type==\"s\", value<AppendString(\"2\", \"0\")]", false},
        {"[type==\"s\", value==AppendString(\"1\", \"0\")]", true},
        {"[type==\"i\", value<=JsonToClaimValue(\"10\")]", true},
        {"[type==\"i\", value==JsonToClaimValue(\"null\")]", false},
        {"[type==\"i\", value!=JsonToClaimValue(\"null\")]", false},
        {"[type==\"i\", value==JsonToClaimValue(\"[10]\")]", false},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        char text[512];
        snprintf(text, sizeof(text), "version=1.2;authorizationrules{%s=>permit();};",
                 cases[i].cond);
        struct att_policy_result r;
        run(text, in, NELEM(in), &r);
        if (r.authorized != cases[i].holds) {
            fail_msg("%s: expected %s", cases[i].cond, cases[i].holds ? "match" : "no match");
        }
        att_policy_result_cleanup(&r);
    }
}

/* Strings compare byte for byte after escapes are decoded. */
static void test_string_bytes(void **state)
{
    (void)state;
    struct att_claim in[] = {att_claim_string("a\"b\\c\xc3\xa9", "\xf0\x9f\x98\x80", AS)};
    struct att_policy_result r;
    run("version=1.0;authorizationrules{[type==\"a\\\"b\\\\c\\u00e9\", "
        "value==\"\\ud83d\\ude00\"]=>permit();};",
        in, 1, &r);
    assert_true(r.authorized);
    att_policy_result_cleanup(&r);
    run("version=1.0;authorizationrules{[type==\"a\\\"b\\\\c\\u00c9\"]=>permit();};", in, 1, &r);
    assert_false(r.authorized);
    att_policy_result_cleanup(&r);
}

/* ---- sections and actions ---------------------------------------------------------------- */

static void test_sections_and_actions(void **state)
{
    (void)state;
    /* configuration -> authorization -> issuance; add/issue/issueproperty all feed the
     * incoming set of later rules; rule-made claims have issuer AttestationPolicy */
    const char *text = "version=1.1;"
                       "configurationrules{=> issueproperty(type=\"mask\", value=15);};"
                       "authorizationrules{"
                       "[type==\"mask\", value==15, issuer==\"AttestationPolicy\"] => permit();"
                       "=> add(type=\"fromAuth\", value=\"x\");"
                       "[type==\"later\"] => add(type=\"never\", value=1);"
                       "};"
                       "issuancerules{"
                       "=> add(type=\"later\", value=true);"
                       "c:[type==\"fromAuth\", issuer==\"AttestationPolicy\"] => "
                       "issue(type=\"out1\", value=c.value);"
                       "c:[type==\"out1\"] => issueproperty(type=\"prop\", value=c.value);"
                       "c:[type==\"prop\"] => issue(claim=c);"
                       "[type==\"never\"] => issue(type=\"bad\", value=1);"
                       "c:[type==\"later\"] => issue(claim=c);"
                       "c:[type==\"in\"] => issue(claim=c);"
                       "=> issueproperty(type=\"mask\", value=7);"
                       "};";
    struct att_claim in[] = {att_claim_integer("in", 42, CC)};
    struct att_policy_result r;
    run(text, in, 1, &r);
    assert_true(r.authorized);
    static const struct exp_claim out[] = {EXP_S("out1", "x"), EXP_S("prop", "x"),
                                           EXP_B("later", true), EXP_I("in", 42)};
    assert_claims("outgoing", r.outgoing, r.n_outgoing, out, NELEM(out));
    static const struct exp_claim props[] = {EXP_I("mask", 15), EXP_S("prop", "x"),
                                             EXP_I("mask", 7)};
    assert_claims("properties", r.properties, r.n_properties, props, NELEM(props));
    /* the later issueproperty wins for a lookup */
    const struct att_claim *mask = att_policy_result_property(&r, "mask");
    assert_non_null(mask);
    assert_int_equal(mask->integer, 7);
    att_policy_result_cleanup(&r);
}

static void test_permit_and_deny(void **state)
{
    (void)state;
    struct att_policy_result r;
    /* no rule, no permit */
    run("version=1.0;authorizationrules{};issuancerules{=>issue(type=\"a\", value=1);};", NULL, 0,
        &r);
    assert_false(r.authorized);
    assert_int_equal(r.decision, ATT_ERR_POLICY_NO_PERMIT);
    assert_int_equal(r.n_outgoing, 0);
    att_policy_result_cleanup(&r);
    /* a deny wins over any number of permits, before or after it */
    run("version=1.0;authorizationrules{=>permit();\n=>deny();\n=>permit();};", NULL, 0, &r);
    assert_false(r.authorized);
    assert_int_equal(r.decision, ATT_ERR_POLICY_DENIED);
    assert_string_equal(r.reason, "2:1: deny() rule fired");
    att_policy_result_cleanup(&r);
    /* the first deny ends the section: later rules (and issuance) do not run */
    run("version=1.1;configurationrules{=>issueproperty(type=\"p\", value=1);};"
        "authorizationrules{=>deny();=>add(type=\"a\", value=1);};"
        "issuancerules{=>issue(type=\"b\", value=1);};",
        NULL, 0, &r);
    assert_false(r.authorized);
    assert_int_equal(r.n_outgoing, 0);
    assert_int_equal(r.n_properties, 1); /* configuration ran before */
    assert_int_equal(r.steps, 4); /* config rule and its two expressions, deny rule: no more */
    att_policy_result_cleanup(&r);
    /* a conditional deny that does not fire */
    struct att_claim in[] = {att_claim_boolean("debug", false, AS)};
    run("version=1.0;authorizationrules{=>permit();[type==\"debug\", value==true]=>deny();};", in,
        1, &r);
    assert_true(r.authorized);
    EXPECT_OK(att_policy_result_check(&r));
    att_policy_result_cleanup(&r);
}

static void test_value_type_in_actions(void **state)
{
    (void)state;
    struct att_claim in[] = {att_claim_integer("n", 5, AS), att_claim_string("s", "5", AS)};
    struct att_policy_result r;
    run("version=1.0;authorizationrules{=>permit();};issuancerules{"
        "c:[type==\"n\"] => issue(type=\"n2\", value=c.value, valueType=\"Integer\");"
        "=> issue(type=\"s2\", value=\"x\", valueType=\"String\");};",
        in, 2, &r);
    static const struct exp_claim exp[] = {EXP_I("n2", 5), EXP_S("s2", "x")};
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp, NELEM(exp));
    att_policy_result_cleanup(&r);
    run_err("version=1.0;authorizationrules{=>permit();};issuancerules{\n"
            "c:[type==\"s\"] => issue(type=\"x\", value=c.value, valueType=\"Integer\");};",
            in, 2, NULL, ATT_ERR_POLICY_EVAL,
            "2:18: value is a String but valueType is \"Integer\"");
    run_err("version=1.0;authorizationrules{=>permit();};issuancerules{\n"
            "c:[type==\"n\"] => issue(type=c.value, value=1);};",
            in, 2, NULL, ATT_ERR_POLICY_EVAL,
            "2:29: a claim type must be a non-empty String, found an Integer");
    struct att_claim empty[] = {att_claim_string("e", "", AS)};
    run_err("version=1.0;authorizationrules{=>permit();};issuancerules{\n"
            "c:[type==\"e\"] => issue(type=c.value, value=1);};",
            empty, 1, NULL, ATT_ERR_POLICY_EVAL,
            "2:29: a claim type must be a non-empty String, found an empty String");
}

/* ---- functions (MAA claim-rule-functions examples) ----------------------------------------- */

static void test_fn_jmespath(void **state)
{
    (void)state;
    struct att_claim in[] = {
        att_claim_string("JsonData", "{\"values\": [0,1,2,3,4]}", AS),
        att_claim_string("JmesPathQuery", "values[2]", AS),
    };
    struct att_policy_result r;
    run(HEAD12 "issuancerules{"
               "=>issue(type=\"JmesPathResult\", value=JmesPath(\"{\\\"foo\\\": \\\"bar\\\"}\", "
               "\"foo\"));"
               "c1:[type=\"JsonData\"] && c2:[type==\"JmesPathQuery\"] =>"
               "issue(type=\"JmesPathResult\", value=JmesPath(c1.value, c2.value));"
               "c:[type=\"JsonData\"] => issue(type=\"all\", value=JmesPath(c.value, \"values\"));"
               "c:[type=\"JsonData\"] => issue(type=\"none\", value=JmesPath(c.value, \"x\"));};",
        in, 2, &r);
    /* "returns the resultant JSON as a string": the JSON text, compact */
    static const struct exp_claim exp[] = {EXP_S("JmesPathResult", "\"bar\""),
                                           EXP_S("JmesPathResult", "2"),
                                           EXP_S("all", "[0,1,2,3,4]"), EXP_S("none", "null")};
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp, NELEM(exp));
    att_policy_result_cleanup(&r);

    run_err(HEAD12 "issuancerules{\n=>add(type=\"r\", value=JmesPath(\"\", \"foo\"));};", NULL, 0,
            NULL, ATT_ERR_POLICY_EVAL, "2:23: JmesPath: argument 1 is empty");
    run_err(HEAD12 "issuancerules{\n=>add(type=\"r\", value=JmesPath(\"{}\", 5));};", NULL, 0, NULL,
            ATT_ERR_POLICY_EVAL, "2:23: JmesPath: argument 2 must be a String, found an Integer");
    run_err(HEAD12 "issuancerules{\n=>add(type=\"r\", value=JmesPath(\"{\", \"a\"));};", NULL, 0,
            NULL, ATT_ERR_POLICY_EVAL, NULL);
    run_err(HEAD12 "issuancerules{\n=>add(type=\"r\", value=JmesPath(\"{}\", \"a[\"));};", NULL, 0,
            NULL, ATT_ERR_POLICY_EVAL, NULL);
}

/* An incoming claim given as a tree alone (struct att_claim `json`, no text): JmesPath queries
 * the tree; every other use sees its compact JSON text, written once. */
static void test_tree_only_claims(void **state)
{
    (void)state;
    json_t *tree = json_pack("{s:[i,i,i], s:s}", "values", 0, 1, 2, "name", "x");
    assert_non_null(tree);
    struct att_claim in[] = {att_claim_string("events", NULL, AS),
                             att_claim_string("other", "abc", AS)};
    in[0].json = tree;
    struct att_policy_result r;
    run(HEAD12 "issuancerules{"
               "c:[type==\"events\"] => issue(type=\"second\", value=JmesPath(c.value, "
               "\"values[1]\"));"
               "c:[type==\"events\"] => issue(type=\"text\", value=c.value);"
               "c:[type==\"events\"] => issue(type=\"joined\", value=AppendString(c.value, "
               "\"!\"));"
               "[value==\"{\\\"values\\\":[0,1,2],\\\"name\\\":\\\"x\\\"}\"] => "
               "issue(type=\"matched\", value=true);"
               "c:[type==\"events\"] => add(type=\"copy\", value=c.value);"
               "c:[type==\"copy\"] => issue(type=\"name\", value=JmesPath(c.value, \"name\"));};",
        in, NELEM(in), &r);
    static const struct exp_claim exp[] = {
        EXP_S("second", "1"),
        EXP_S("text", "{\"values\":[0,1,2],\"name\":\"x\"}"),
        EXP_S("joined", "{\"values\":[0,1,2],\"name\":\"x\"}!"),
        EXP_B("matched", true),
        EXP_S("name", "\"x\""),
    };
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp, NELEM(exp));
    att_policy_result_cleanup(&r);
    json_decref(tree);
}

/* add(value=JmesPath(...)) keeps the result as its tree: every use sees the text JmesPath writes
 * (compact, keys in order, strings escaped as JmesPath escapes them), the same steps are taken,
 * and a result over the value cap is refused as before. */
static void test_deferred_jmespath_results(void **state)
{
    (void)state;
    struct att_claim in[] = {att_claim_string(
        "doc", "{\"a\": [1, 2, {\"b\": \"x\\u0001y\\\"\"}], \"r\": 1.5, \"t\": true}", AS)};
    struct att_policy_result r;
    run(HEAD12 "issuancerules{"
               "c:[type==\"doc\"] => add(type=\"part\", value=JmesPath(c.value, \"a\"));"
               "c:[type==\"doc\"] => add(type=\"all\", value=JmesPath(c.value, \"@\"));"
               "c:[type==\"part\"] => issue(type=\"part\", value=c.value);"
               "c:[type==\"part\"] => issue(type=\"n\", value=JmesPath(c.value, \"length(@)\"));"
               "c:[type==\"all\"] => issue(type=\"app\", value=AppendString(c.value, \"!\"));"
               "[type==\"part\", value==\"[1,2,{\\\"b\\\":\\\"x\\\\u0001y\\\\\\\"\\\"}]\"] => "
               "issue(type=\"matched\", value=true);"
               "c:[type==\"all\"] => issue(claim=c);};",
        in, NELEM(in), &r);
    static const struct exp_claim exp[] = {
        EXP_S("part", "[1,2,{\"b\":\"x\\u0001y\\\"\"}]"),
        EXP_S("n", "3"),
        EXP_S("app", "{\"a\":[1,2,{\"b\":\"x\\u0001y\\\"\"}],\"r\":1.5,\"t\":true}!"),
        EXP_B("matched", true),
        EXP_S("all", "{\"a\":[1,2,{\"b\":\"x\\u0001y\\\"\"}],\"r\":1.5,\"t\":true}"),
    };
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp, NELEM(exp));
    att_policy_result_cleanup(&r);
}

static void test_fn_json_to_claim_value(void **state)
{
    (void)state;
    struct att_claim in[] = {
        att_claim_string("JsonIntegerData", "100", AS),
        att_claim_string("JsonBooleanData", "true", AS),
        att_claim_string("JsonStringData", "\"abc\"", AS),
        att_claim_string("JsonData", "[0, \"abc\", true, null]", AS),
        att_claim_string("JsonNull", "null", AS),
        att_claim_string("JsonEmpty", "[]", AS),
        att_claim_string("JsonNeg", "-9223372036854775808", AS),
    };
    struct att_policy_result r;
    run(HEAD12
        "issuancerules{"
        "c:[type==\"JsonIntegerData\"] => issue(type=\"IntegerResult\", "
        "value=JsonToClaimValue(c.value));"
        "c:[type==\"JsonBooleanData\"] => issue(type=\"BooleanResult\", "
        "value=JsonToClaimValue(c.value));"
        "c:[type==\"JsonStringData\"] => issue(type=\"StringResult\", "
        "value=JsonToClaimValue(c.value));"
        /* an array becomes a set: one claim per element, null elements skipped */
        "c:[type==\"JsonData\"] => issue(type=\"Result\", value=JsonToClaimValue(c.value));"
        /* null (and the empty set) make add/issue a no-op */
        "c:[type==\"JsonNull\"] => issue(type=\"NullResult\", value=JsonToClaimValue(c.value));"
        "c:[type==\"JsonEmpty\"] => issue(type=\"EmptyResult\", "
        "value=JsonToClaimValue(c.value));"
        "c:[type==\"JsonNeg\"] => issue(type=\"Neg\", value=JsonToClaimValue(c.value));};",
        in, NELEM(in), &r);
    static const struct exp_claim exp[] = {
        EXP_I("IntegerResult", 100), EXP_B("BooleanResult", true), EXP_S("StringResult", "abc"),
        EXP_I("Result", 0),          EXP_S("Result", "abc"),       EXP_B("Result", true),
        EXP_I("Neg", INT64_MIN),
    };
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp, NELEM(exp));
    att_policy_result_cleanup(&r);

    struct {
        const char *json;
        const char *msg;
    } bad[] = {
        {"1.5", "2:23: JsonToClaimValue: fractional numbers are not claim values"},
        {"1e3", "2:23: JsonToClaimValue: fractional numbers are not claim values"},
        {"{\\\"a\\\":1}", "2:23: JsonToClaimValue: JSON objects are not claim values"},
        {"[1,[2]]",
         "2:23: JsonToClaimValue: arrays may hold only numbers, Booleans, strings and null"},
        {"[{}]",
         "2:23: JsonToClaimValue: arrays may hold only numbers, Booleans, strings and null"},
        {"[1.5]", "2:23: JsonToClaimValue: fractional numbers are not claim values"},
        {"abc", "2:23: JsonToClaimValue: argument is not JSON (at character 3)"},
        {"", "2:23: JsonToClaimValue: argument is not JSON (at character 0)"},
        {"9223372036854775808", NULL},
    };
    for (size_t i = 0; i < NELEM(bad); i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 HEAD12 "issuancerules{\n=>add(type=\"r\", value=JsonToClaimValue(\"%s\"));};",
                 bad[i].json);
        run_err(text, NULL, 0, NULL, ATT_ERR_POLICY_EVAL, bad[i].msg);
    }
    run_err(HEAD12 "issuancerules{\n=>add(type=\"r\", value=JsonToClaimValue(1));};", NULL, 0, NULL,
            ATT_ERR_POLICY_EVAL,
            "2:23: JsonToClaimValue: argument 1 must be a String, found an Integer");
}

static void test_fn_sets(void **state)
{
    (void)state;
    struct att_claim in[] = {
        att_claim_string("Subset", "abc", AS),   att_claim_integer("Subset", 100, AS),
        att_claim_boolean("Superset", true, AS), att_claim_string("Superset", "abc", AS),
        att_claim_integer("Superset", 100, AS),  att_claim_integer("Set", 100, AS),
        att_claim_integer("Set", 101, AS),       att_claim_integer("Same", 100, AS),
        att_claim_integer("Same", 100, AS),
    };
    struct att_policy_result r;
    run(HEAD12 "issuancerules{"
               /* the IsSubsetOf example: c1.value / c2.value are the sets of all matches */
               "c1:[type == \"Subset\"] && c2:[type==\"Superset\"] => issue(type=\"IsSubset\", "
               "value=IsSubsetOf(c1.value, c2.value));"
               "c1:[type == \"Subset\"] && c2:[type==\"Superset\"] => issue(type=\"IsSuperset\", "
               "value=IsSubsetOf(c2.value, c1.value));"
               /* the ContainsOnlyValue example (the doc's one-argument call is a typo) */
               "c:[type==\"Set\"] => issue(type=\"Result\", value=ContainsOnlyValue(c.value, 100));"
               "c:[type==\"Same\"] => issue(type=\"Same\", value=ContainsOnlyValue(c.value, 100));"
               "=> issue(type=\"EmptyOnly\", value=ContainsOnlyValue(JsonToClaimValue(\"[]\"), 1));"
               "=> issue(type=\"EmptySubset\", value=IsSubsetOf(JsonToClaimValue(\"null\"), 1));"
               "=> issue(type=\"Scalars\", value=IsSubsetOf(1, JsonToClaimValue(\"[2,1]\")));"
               "=> issue(type=\"Kinds\", value=IsSubsetOf(1, \"1\"));"
               /* outside a set argument, c.value is the first match */
               "c:[type==\"Set\"] => issue(type=\"First\", value=c.value);};",
        in, NELEM(in), &r);
    static const struct exp_claim exp[] = {
        EXP_B("IsSubset", true), EXP_B("IsSuperset", false), EXP_B("Result", false),
        EXP_B("Same", true),     EXP_B("EmptyOnly", false),  EXP_B("EmptySubset", true),
        EXP_B("Scalars", true),  EXP_B("Kinds", false),      EXP_I("First", 100),
    };
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp, NELEM(exp));
    att_policy_result_cleanup(&r);
    run_err(HEAD12 "issuancerules{\n=>add(type=\"r\", value=ContainsOnlyValue(1, "
                   "JsonToClaimValue(\"[1]\")));};",
            NULL, 0, NULL, ATT_ERR_POLICY_EVAL,
            "2:23: ContainsOnlyValue: argument 2 must not be a Set");
}

static void test_fn_strings_and_bools(void **state)
{
    (void)state;
    struct att_claim in[] = {att_claim_string("String1", "abc", AS),
                             att_claim_string("String2", "xyz", AS),
                             att_claim_boolean("Input", true, AS)};
    struct att_policy_result r;
    run(HEAD12 "issuancerules{"
               "c1:[type==\"String1\"] && c2:[type==\"String2\"] => issue(type=\"Result\", "
               "value=AppendString(c1.value, c2.value));"
               "=> issue(type=\"Empty\", value=AppendString(\"\", \"\"));"
               "c:[type==\"Input\"] => issue(type=\"Negated\", value=NegateBool(c.value));"
               "=> issue(type=\"Twice\", value=NegateBool(NegateBool(false)));};",
        in, NELEM(in), &r);
    static const struct exp_claim exp[] = {EXP_S("Result", "abcxyz"), EXP_S("Empty", ""),
                                           EXP_B("Negated", false), EXP_B("Twice", false)};
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp, NELEM(exp));
    att_policy_result_cleanup(&r);
    run_err(HEAD12 "issuancerules{\n=>add(type=\"r\", value=AppendString(\"a\", true));};", NULL, 0,
            NULL, ATT_ERR_POLICY_EVAL,
            "2:23: AppendString: argument 2 must be a String, found a Boolean");
    run_err(HEAD12 "issuancerules{\n=>add(type=\"r\", value=AppendString(JsonToClaimValue(\"[]\"), "
                   "\"a\"));};",
            NULL, 0, NULL, ATT_ERR_POLICY_EVAL, "2:23: AppendString: argument 1 must not be a Set");
    run_err(HEAD12 "issuancerules{\n=>add(type=\"r\", value=NegateBool(\"true\"));};", NULL, 0,
            NULL, ATT_ERR_POLICY_EVAL,
            "2:23: NegateBool: argument 1 must be a Boolean, found a String");
    run_err(HEAD12
            "issuancerules{\n=>add(type=\"r\", value=NegateBool(JsonToClaimValue(\"null\")));};",
            NULL, 0, NULL, ATT_ERR_POLICY_EVAL,
            "2:23: NegateBool: argument 1 must be a Boolean, found an empty value (JSON null)");
}

/* ---- read-only claims ---------------------------------------------------------------------- */

static void test_read_only(void **state)
{
    (void)state;
    struct att_claim in[] = {att_claim_string("pcrs", "{\"PCRs\":[{\"Index\":0}]}", AS),
                             att_claim_boolean("expected", true, CC)};
    in[0].read_only = true;
    struct att_policy_result r;
    /* queried, compared, and added (the copy stays read-only): allowed */
    run(HEAD12 "issuancerules{"
               "c:[type==\"pcrs\"] => add(type=\"copy\", value=c.value);"
               "c:[type==\"pcrs\"] => add(type=\"q\", value=JmesPath(c.value, \"PCRs[0].Index\"));"
               "c:[type==\"pcrs\"] && e:[type==\"expected\", value==JsonToClaimValue(JmesPath("
               "c.value, \"length(PCRs) == `1`\"))] => issue(claim=e);"
               "c:[type==\"q\"] => issue(type=\"isZero\", value=ContainsOnlyValue(c.value, \"0\"));"
               "};",
        in, 2, &r);
    static const struct exp_claim exp[] = {EXP_B("expected", true), EXP_B("isZero", true)};
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp, NELEM(exp));
    for (size_t i = 0; i < r.n_outgoing; i++) {
        assert_false(r.outgoing[i].read_only);
    }
    att_policy_result_cleanup(&r);
    /* issued, directly or through a function, or via a read-only copy: refused */
    static const char *const refused[] = {
        HEAD12 "issuancerules{\nc:[type==\"pcrs\"] => issue(claim=c);};",
        HEAD12 "issuancerules{\nc:[type==\"pcrs\"] => issue(type=\"x\", value=c.value);};",
        HEAD12 "issuancerules{\nc:[type==\"pcrs\"] => issue(type=\"x\", value=JmesPath(c.value, "
               "\"PCRs\"));};",
        HEAD12 "issuancerules{\nc:[type==\"pcrs\"] => issue(type=\"x\", value=AppendString(\"a\", "
               "c.value));};",
        HEAD12 "issuancerules{\nc:[type==\"pcrs\"] => issue(type=\"x\", value=JsonToClaimValue("
               "JmesPath(c.value, \"PCRs[0].Index\")));};",
        HEAD12 "issuancerules{\nc:[type==\"pcrs\"] => issueproperty(type=\"x\", value=c.value);};",
    };
    for (size_t i = 0; i < NELEM(refused); i++) {
        run_err(refused[i], in, 2, NULL, ATT_ERR_POLICY_EVAL, NULL);
    }
    run_err(HEAD12 "issuancerules{\nc:[type==\"pcrs\"] => add(type=\"copy\", value=c.value);\n"
                   "c:[type==\"copy\"] => issue(claim=c);};",
            in, 2, NULL, ATT_ERR_POLICY_EVAL,
            "3:21: issue(): the value comes from a read-only claim and cannot be issued");
    /* nor can a claim type made of one (it would carry the data as a name) */
    run_err(HEAD12 "issuancerules{\nc:[type==\"pcrs\"] => issue(type=JmesPath(c.value, "
                   "\"PCRs[0].Index\"), value=\"v\");};",
            in, 2, NULL, ATT_ERR_POLICY_EVAL,
            "2:32: issue(): the type comes from a read-only claim and cannot be issued");
    run_err(HEAD12 "issuancerules{\nc:[type==\"pcrs\"] => add(type=AppendString(\"t\", c.value), "
                   "value=1);\nc:[type==\"t{\\\"PCRs\\\":[{\\\"Index\\\":0}]}\"] => "
                   "issue(type=c.type, value=2);};",
            in, 2, NULL, ATT_ERR_POLICY_EVAL,
            "3:55: issue(): the type comes from a read-only claim and cannot be issued");
    run_err(HEAD12 "issuancerules{\nc:[type==\"pcrs\"] => add(type=AppendString(\"t\", c.value), "
                   "value=1);\nc:[type==\"t{\\\"PCRs\\\":[{\\\"Index\\\":0}]}\"] => "
                   "issueproperty(claim=c);};",
            in, 2, NULL, ATT_ERR_POLICY_EVAL, NULL);
}

/* ---- caps ----------------------------------------------------------------------------------- */

/* n copies of `rule` inside "version=1.0;authorizationrules{=>permit();};issuancerules{...};" */
static char *many_rules(const char *first, size_t n1, const char *second, size_t n2)
{
    const char *head = "version=1.0;authorizationrules{=>permit();};issuancerules{";
    size_t len = strlen(head) + strlen(first) * n1 + strlen(second) * n2 + 3;
    char *s = malloc(len);
    assert_non_null(s);
    size_t off = (size_t)snprintf(s, len, "%s", head);
    for (size_t i = 0; i < n1; i++) {
        off += (size_t)snprintf(s + off, len - off, "%s", first);
    }
    for (size_t i = 0; i < n2; i++) {
        off += (size_t)snprintf(s + off, len - off, "%s", second);
    }
    snprintf(s + off, len - off, "};");
    return s;
}

/*
 * A policy that would run away: 500 rules each add a claim, then 500 rules each scan
 * the whole (growing) incoming set for a claim that is not there. 500 * 500 claims
 * examined is over a budget of 100000 steps.
 */
static void test_budget_runaway(void **state)
{
    (void)state;
    char *text = many_rules("=> add(type=\"x\", value=1);", 500,
                            "[type==\"absent\"] => add(type=\"y\", value=2);", 500);
    struct att_policy *p = NULL;
    EXPECT_OK(att_policy_parse(text, strlen(text), NULL, &p, NULL, 0));
    struct att_policy_result r;
    char msg[256];
    struct att_policy_limits lim;
    att_policy_limits_init(&lim);
    lim.max_steps = 100000;
    EXPECT_ERR(att_policy_eval(p, NULL, 0, &lim, &r, msg, sizeof(msg)), ATT_ERR_POLICY_BUDGET);
    assert_non_null(strstr(msg, ": step budget of 100000 exhausted"));
    /* the same policy fits a larger budget, which the result reports */
    lim.max_steps = 1000000;
    EXPECT_OK(att_policy_eval(p, NULL, 0, &lim, &r, msg, sizeof(msg)));
    assert_true(r.steps > 100000 && r.steps <= 1000000);
    att_policy_result_cleanup(&r);
    /* and a tiny budget stops even the first rule */
    lim.max_steps = 1;
    EXPECT_ERR(att_policy_eval(p, NULL, 0, &lim, &r, msg, sizeof(msg)), ATT_ERR_POLICY_BUDGET);
    assert_string_equal(msg, "1:59: step budget of 1 exhausted");
    att_policy_free(p);
    free(text);

    /* many incoming claims: scanning them is what costs; 250 rules * 20000 claims is over
     * the default budget */
    size_t n = 20000;
    struct att_claim *in = calloc(n, sizeof(*in));
    assert_non_null(in);
    for (size_t i = 0; i < n; i++) {
        in[i] = att_claim_integer("noise", (int64_t)i, CC);
    }
    text = many_rules("[type==\"absent\"] => add(type=\"y\", value=2);", 250, "", 0);
    p = parse_str(text);
    EXPECT_ERR(att_policy_eval(p, in, n, NULL, &r, msg, sizeof(msg)), ATT_ERR_POLICY_BUDGET);
    snprintf(text, 64, ": step budget of %llu exhausted",
             (unsigned long long)ATT_POLICY_DEFAULT_MAX_STEPS);
    assert_non_null(strstr(msg, text));
    att_policy_free(p);
    free(text);
    free(in);

    /* set arguments cost per element compared: 2000 ones, each found only at the end of
     * a set of 2000 twos and a one (2000 * 2001 comparisons, over the default budget) */
    char ones[128];
    char twos[128];
    snprintf(ones, sizeof(ones), "=> add(type=\"c\", value=JsonToClaimValue(\"[%s]\"));",
             "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1");
    snprintf(twos, sizeof(twos), "=> add(type=\"d\", value=JsonToClaimValue(\"[%s]\"));",
             "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2");
    char *head = many_rules(twos, 100, ones, 100);
    size_t hl = strlen(head) - 2; /* drop "};" */
    const char *tail = "=> add(type=\"d\", value=1);c:[type==\"c\"] && d:[type==\"d\"] => "
                       "add(type=\"r\", value=IsSubsetOf(c.value, d.value));};";
    text = malloc(hl + strlen(tail) + 1);
    assert_non_null(text);
    memcpy(text, head, hl);
    memcpy(text + hl, tail, strlen(tail) + 1);
    free(head);
    text[10] = '2'; /* functions need 1.2 */
    p = parse_str(text);
    EXPECT_ERR(att_policy_eval(p, NULL, 0, NULL, &r, msg, sizeof(msg)), ATT_ERR_POLICY_BUDGET);
    lim.max_steps = 20000000;
    EXPECT_OK(att_policy_eval(p, NULL, 0, &lim, &r, msg, sizeof(msg)));
    assert_int_equal(r.n_outgoing, 0);
    assert_true(r.steps > 2000 * 2001);
    att_policy_result_cleanup(&r);
    att_policy_free(p);
    free(text);
}

/*
 * One budget for the whole evaluation: JmesPath() work draws from it (the attack of the
 * security review: each call built a 2^18-member value from "0" and compared it with itself,
 * within a budget of its own, so a 65 KB draft policy took 29 s of one worker).
 */
static void test_budget_is_shared_with_jmespath(void **state)
{
    (void)state;
    char query[256] = "";
    for (int i = 0; i < 18; i++) {
        strcat(query, "{a:@,b:@}|");
    }
    strcat(query, "@==@");
    char rule[320];
    snprintf(rule, sizeof(rule), "=> issue(type=\"r\", value=JmesPath(\"\\\"0\\\"\", \"%s\"));",
             query);
    char *text = many_rules(rule, 20, "", 0);
    text[10] = '2';
    struct att_policy *p = parse_str(text);
    struct att_policy_result r;
    char msg[256];
    EXPECT_ERR(att_policy_eval(p, NULL, 0, NULL, &r, msg, sizeof(msg)), ATT_ERR_POLICY_BUDGET);
    char want[64];
    snprintf(want, sizeof(want), ": step budget of %llu exhausted",
             (unsigned long long)ATT_POLICY_DEFAULT_MAX_STEPS);
    assert_non_null(strstr(msg, want));
    att_policy_free(p);
    free(text);

    /* The steps a JmesPath() call takes are counted in the policy's: a projection over 1000
     * elements costs more than 2000 steps, far more than the rule alone. */
    char doc[8192] = "[0";
    for (int i = 1; i < 1000; i++) {
        strcat(doc, ",0");
    }
    strcat(doc, "]");
    struct att_claim in[1] = {att_claim_string("doc", doc, AS)};
    p = parse_str(HEAD12 "issuancerules{c:[type==\"doc\"] => issue(type=\"n\", "
                         "value=JmesPath(c.value, \"length([*])\"));};");
    EXPECT_OK(att_policy_eval(p, in, 1, NULL, &r, msg, sizeof(msg)));
    assert_int_equal(r.n_outgoing, 1);
    assert_string_equal(r.outgoing[0].str, "1000");
    assert_true(r.steps > 2000);
    att_policy_result_cleanup(&r);
    struct att_policy_limits lim;
    att_policy_limits_init(&lim);
    lim.max_steps = 1500;
    EXPECT_ERR(att_policy_eval(p, in, 1, &lim, &r, msg, sizeof(msg)), ATT_ERR_POLICY_BUDGET);
    assert_string_equal(msg, "1:100: step budget of 1500 exhausted");
    att_policy_free(p);
}

/*
 * A document queried by several JmesPath() calls is decoded once per evaluation; the cache
 * is keyed by content, so text a rule computes (gone when the rule ends, its memory reused by
 * the next) is never mistaken for another.
 */
static void test_jmespath_document_cache(void **state)
{
    (void)state;
    char doc[16384] = "[\"x\"";
    for (int i = 1; i < 2000; i++) {
        strcat(doc, ",\"x\"");
    }
    strcat(doc, "]");
    struct att_claim in[1] = {att_claim_string("doc", doc, AS)};
    struct att_policy_result one;
    struct att_policy_result ten;
    char msg[256];
    struct att_policy *p = parse_str(HEAD12 "issuancerules{c:[type==\"doc\"] => issue(type=\"n\","
                                            " value=JmesPath(c.value, \"@[0]\"));};");
    EXPECT_OK(att_policy_eval(p, in, 1, NULL, &one, msg, sizeof(msg)));
    att_policy_free(p);
    char *text = many_rules("c:[type==\"doc\"] => issue(type=\"n\", value=JmesPath(c.value, "
                            "\"@[0]\"));",
                            10, "", 0);
    text[10] = '2';
    p = parse_str(text);
    EXPECT_OK(att_policy_eval(p, in, 1, NULL, &ten, msg, sizeof(msg)));
    assert_int_equal(ten.n_outgoing, 10);
    /* decoding 10 KB costs thousands of steps; nine more lookups cost a fraction of that */
    assert_true(ten.steps < 2 * one.steps);
    att_policy_result_cleanup(&one);
    att_policy_result_cleanup(&ten);
    att_policy_free(p);
    free(text);

    p = parse_str(HEAD12
                  "issuancerules{"
                  "=> issue(type=\"a\", value=JmesPath(AppendString(\"[1\", \"]\"), \"@[0]\"));"
                  "=> issue(type=\"b\", value=JmesPath(AppendString(\"[2\", \"]\"), \"@[0]\"));"
                  "=> issue(type=\"c\", value=JmesPath(AppendString(\"[1\", \"]\"), \"@[0]\"));};");
    EXPECT_OK(att_policy_eval(p, NULL, 0, NULL, &one, msg, sizeof(msg)));
    assert_int_equal(one.n_outgoing, 3);
    assert_string_equal(one.outgoing[0].str, "1");
    assert_string_equal(one.outgoing[1].str, "2");
    assert_string_equal(one.outgoing[2].str, "1");
    att_policy_result_cleanup(&one);
    att_policy_free(p);
}

/*
 * Work whose cost grows with the data is charged by the data (the outside review's second
 * round): comparing long strings in conditions and set functions, copying values into claims,
 * hashing long JMESPath keys, decoding JSON dense in small values.
 */
static uint64_t steps_of(const char *text, const struct att_claim *in, size_t n)
{
    struct att_policy_result r;
    struct att_policy *p = parse_str(text);
    char msg[256];
    EXPECT_OK(att_policy_eval(p, in, n, NULL, &r, msg, sizeof(msg)));
    uint64_t steps = r.steps;
    att_policy_result_cleanup(&r);
    att_policy_free(p);
    return steps;
}

static void test_costs_grow_with_the_data(void **state)
{
    (void)state;
    size_t big = 64 * 1024;
    char *a = malloc(big + 1);
    char *b = malloc(big + 1);
    assert_non_null(a);
    assert_non_null(b);
    memset(a, 'A', big);
    memset(b, 'A', big);
    a[big] = b[big] = 0;
    struct att_claim in[2] = {att_claim_string("a", a, AS), att_claim_string("b", b, AS)};
    /* a condition comparing 64 KiB with 64 KiB: 64 steps a KiB, not one step */
    uint64_t steps = steps_of(HEAD12 "issuancerules{c:[type==\"a\"] && [type==\"b\", "
                                     "value==c.value] => issue(type=\"r\", value=1);};",
                              in, 2);
    assert_true(steps >= 64 * 64);
    /* the same through a set function */
    steps = steps_of(HEAD12 "issuancerules{c:[type==\"a\"] && d:[type==\"b\"] => "
                            "issue(type=\"r\", value=IsSubsetOf(c.value, d.value));};",
                     in, 2);
    assert_true(steps >= 64 * 64);
    /* copying a 64 KiB value into a new claim */
    steps = steps_of(HEAD12 "issuancerules{c:[type==\"a\"] => add(type=\"x\", value=c.value);};",
                     in, 2);
    assert_true(steps >= 64 * 64);
    free(a);
    free(b);

    /* a JMESPath field lookup hashes its key: a 4000-byte key costs 500 steps per object */
    char query[4200] = "[*].\"";
    memset(query + 5, 'K', 4000);
    query[4005] = 0;
    strcat(query, "\"");
    struct att_claim q[2] = {att_claim_string("q", query, AS),
                             att_claim_string("d", "[{},{},{},{},{},{},{},{},{},{}]", AS)};
    steps = steps_of(HEAD12 "issuancerules{c:[type==\"d\"] && q:[type==\"q\"] => "
                            "issue(type=\"r\", value=JmesPath(c.value, q.value));};",
                     q, 2);
    assert_true(steps >= 10 * 500);
    /* decoding [{},{},...]: an object is 100 steps, not 3 bytes' worth */
    char objects[3001] = "[{}";
    for (int i = 1; i < 999; i++) {
        strcat(objects, ",{}");
    }
    strcat(objects, "]");
    struct att_claim o[1] = {att_claim_string("o", objects, AS)};
    steps = steps_of(HEAD12 "issuancerules{c:[type==\"o\"] => issue(type=\"r\", "
                            "value=JmesPath(c.value, \"length(@)\"));};",
                     o, 1);
    assert_true(steps >= 999 * 100);
}

/* A policy being set is evaluated once against a representative claim set of its type. */
static void test_check_cost(void **state)
{
    (void)state;
    char msg[256];
    for (enum att_policy_type t = 0; t < ATT_POLICY_TYPE_COUNT; t++) {
        struct att_policy *p = parse_str(att_policy_default(t));
        EXPECT_OK(att_policy_check_cost(p, t, msg, sizeof(msg)));
        att_policy_free(p);
    }
    /* a deny, or an error that depends on the claims, is no reason to refuse */
    struct att_policy *p =
        parse_str(HEAD12 "issuancerules{c:[type==\"x-ms-runtime\"] => "
                         "issue(type=\"n\", value=JsonToClaimValue(c.value));};");
    EXPECT_OK(att_policy_check_cost(p, ATT_POLICY_SGX_ENCLAVE, msg, sizeof(msg)));
    att_policy_free(p);
    /* a policy that spends the budget on the runtime key of an ordinary attestation */
    char *text = many_rules("c:[type==\"x-ms-runtime\"] => issue(type=\"r\", value=JmesPath("
                            "c.value, \"{a:@,b:@}|{a:@,b:@}|{a:@,b:@}|{a:@,b:@}|{a:@,b:@}|"
                            "{a:@,b:@}|{a:@,b:@}|{a:@,b:@}|{a:@,b:@}|{a:@,b:@}|{a:@,b:@}|"
                            "{a:@,b:@}|{a:@,b:@}|{a:@,b:@}|@==@\"));",
                            60, "", 0);
    text[10] = '2';
    p = parse_str(text);
    EXPECT_ERR(att_policy_check_cost(p, ATT_POLICY_SGX_ENCLAVE, msg, sizeof(msg)),
               ATT_ERR_POLICY_BUDGET);
    assert_non_null(strstr(msg, "step budget of 4000000 exhausted (evaluated against a "
                                "representative SgxEnclave claim set)"));
    /* the SEV-SNP set has a runtime key too; the TPM set has none */
    EXPECT_ERR(att_policy_check_cost(p, ATT_POLICY_SEV_SNP_VM, msg, sizeof(msg)),
               ATT_ERR_POLICY_BUDGET);
    EXPECT_OK(att_policy_check_cost(p, ATT_POLICY_TPM, msg, sizeof(msg)));
    EXPECT_ERR(att_policy_check_cost(p, ATT_POLICY_TYPE_COUNT, msg, sizeof(msg)), ATT_ERR_ARG);
    att_policy_free(p);
    free(text);
    /* MAA's measured-boot recipes fit the TPM set */
    size_t len;
    char *recipe = read_fixture("maa_tpm_v1_2_measured_boot.policy", &len);
    p = NULL;
    EXPECT_OK(att_policy_parse(recipe, len, NULL, &p, msg, sizeof(msg)));
    EXPECT_OK(att_policy_check_cost(p, ATT_POLICY_TPM, msg, sizeof(msg)));
    att_policy_free(p);
    free(recipe);
}

/* Service claim names cannot be issued: literal names are found before evaluation
 * (att_policy_check_reserved), computed ones when the rule runs. */
static void test_reserved_claims(void **state)
{
    (void)state;
    static const char *const reserved[] = {"x-ms-policy-signer",
                                           "x-ms-sgx-tcbidentifier",
                                           "x-ms-runtime",
                                           "x-ms-anything",
                                           "nonce",
                                           "cnf",
                                           "iss",
                                           "exp",
                                           "jti",
                                           "rp_data",
                                           "policy_signer",
                                           "maa-policyHash",
                                           "maa-ehd",
                                           "maa-attestationcollateral",
                                           "tdx_mrtd",
                                           "eat_profile",
                                           "ver",
                                           "x-attestd-demo",
                                           "x-attestd-test-token"};
    /* case does not matter: a relying party's lookup may ignore it */
    static const char *const cased[] = {"X-MS-Policy-Signer", "NONCE",          "Iss",
                                        "TDX_MRTD",           "Maa-PolicyHash", "X-Attestd-Demo"};
    /* attestd's own marks are whole names: other x-attestd- claims stay the policy's */
    static const char *const allowed[] = {
        "tee",    "aas-ehd",  "is-debuggable", "sgx-mrsigner",         "x-ms",           "x-m-s-a",
        "nonce2", "tdx-mrtd", "TEE",           "x-attestd-log-marker", "x-attestd-demo2"};
    for (size_t i = 0; i < sizeof(cased) / sizeof(cased[0]); i++) {
        assert_true(att_policy_claim_reserved(cased[i], strlen(cased[i])));
    }
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        assert_true(att_policy_claim_reserved(reserved[i], strlen(reserved[i])));
    }
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        assert_false(att_policy_claim_reserved(allowed[i], strlen(allowed[i])));
    }

    char msg[256];
    struct att_policy *p =
        parse_str(HEAD12 "issuancerules{\n=> issue(type=\"tee\", value=1);\n"
                         "=> issue(type=\"x-ms-policy-signer\", value=\"{}\");};");
    EXPECT_ERR(att_policy_check_reserved(p, msg, sizeof(msg)), ATT_ERR_POLICY_RESERVED_CLAIM);
    assert_string_equal(msg, "3:15: issue(): 'x-ms-policy-signer' is a claim only the service "
                             "sets");
    att_policy_free(p);
    /* issueproperty() names are properties, and add() only feeds later rules */
    p = parse_str("version=1.1;configurationrules{=> issueproperty(type=\"x-ms-sgx-tcbidentifier\","
                  " value=\"azuredefault\");};authorizationrules{=> add(type=\"nonce\", value=1);"
                  "=> permit();};");
    EXPECT_OK(att_policy_check_reserved(p, msg, sizeof(msg)));
    att_policy_free(p);
    for (enum att_policy_type t = 0; t < ATT_POLICY_TYPE_COUNT; t++) {
        const char *d = att_policy_default(t);
        p = parse_str(d);
        EXPECT_OK(att_policy_check_reserved(p, msg, sizeof(msg)));
        att_policy_free(p);
    }

    /* computed names and claim=IDENT are refused when the rule runs */
    struct att_claim in[1] = {att_claim_string("x-ms-sgx-mrsigner", "ab", AS)};
    run_err(HEAD12 "issuancerules{=> issue(type=AppendString(\"non\", \"ce\"), value=\"n\");};",
            NULL, 0, NULL, ATT_ERR_POLICY_RESERVED_CLAIM,
            "1:73: issue(): 'nonce' is a claim only the service sets");
    run_err(HEAD12 "issuancerules{c:[type==\"x-ms-sgx-mrsigner\"] => issue(claim=c);};", in, 1,
            NULL, ATT_ERR_POLICY_RESERVED_CLAIM,
            "1:92: issue(): 'x-ms-sgx-mrsigner' is a claim only the service sets");
}

static att_err collect_issued(const char *type, size_t len, void *arg)
{
    char *out = arg;
    size_t used = strlen(out);
    snprintf(out + used, 256 - used, "%s%.*s", used > 0 ? " " : "", (int)len, type);
    return strcmp(out, "stop") == 0 ? ATT_ERR_INTERNAL : ATT_OK;
}

/* The names a policy issue()s as literals, in rule order (for claims_supported); computed names,
 * claim=IDENT, issueproperty() and add() are not among them. */
static void test_issued_claims(void **state)
{
    (void)state;
    char got[256] = "";
    struct att_policy *p = parse_str(
        "version=1.2;configurationrules{=> issueproperty(type=\"x-ms-sgx-tcbidentifier\", "
        "value=\"azuredefault\");};authorizationrules{=> add(type=\"a\", value=1); => permit();};"
        "issuancerules{c:[type==\"x\"] => issue(type=\"tee\", value=c.value);"
        " => issue(type=AppendString(\"com\", \"puted\"), value=1);"
        " c:[type==\"y\"] => issue(claim=c); => issue(type=\"svn\", value=2);"
        " => issue(type=\"tee\", value=3);};");
    EXPECT_OK(att_policy_issued_claims(p, collect_issued, got));
    assert_string_equal(got, "tee svn tee");
    /* the callback's error ends the walk */
    snprintf(got, sizeof(got), "%s", "");
    att_policy_free(p);
    p = parse_str(HEAD12 "issuancerules{=> issue(type=\"stop\", value=1);"
                         " => issue(type=\"never\", value=1);};");
    EXPECT_ERR(att_policy_issued_claims(p, collect_issued, got), ATT_ERR_INTERNAL);
    assert_string_equal(got, "stop");
    att_policy_free(p);
    EXPECT_ERR(att_policy_issued_claims(NULL, collect_issued, got), ATT_ERR_ARG);
}

static void test_claim_and_value_caps(void **state)
{
    (void)state;
    struct att_policy_limits lim;
    att_policy_limits_init(&lim);
    lim.max_claims = 10;
    char *text = many_rules("=> add(type=\"x\", value=1);\n", 11, "", 0);
    run_err(text, NULL, 0, &lim, ATT_ERR_POLICY_CLAIM_LIMIT, "11:4: more than 10 claims added");
    free(text);
    text = many_rules("=> add(type=\"x\", value=1);\n", 10, "", 0);
    struct att_policy *p = parse_str(text);
    struct att_policy_result r;
    EXPECT_OK(att_policy_eval(p, NULL, 0, &lim, &r, NULL, 0));
    att_policy_result_cleanup(&r);
    att_policy_free(p);
    free(text);
    /* a set expands into claims, each counted */
    run_err(HEAD12 "issuancerules{\n=> issue(type=\"s\", value=JsonToClaimValue(\"[1,2,3,4,5,6,7,"
                   "8,9,10,11]\"));};",
            NULL, 0, &lim, ATT_ERR_POLICY_CLAIM_LIMIT, "2:4: more than 10 claims added");

    att_policy_limits_init(&lim);
    lim.max_value = 8;
    run_err(HEAD12 "issuancerules{\n=> add(type=\"s\", value=AppendString(\"abcd\", \"efghi\"));};",
            NULL, 0, &lim, ATT_ERR_POLICY_CLAIM_LIMIT, "2:24: AppendString: result over 8 bytes");
    run_err(HEAD12 "issuancerules{\n=> add(type=\"s\", value=\"123456789\");};", NULL, 0, &lim,
            ATT_ERR_POLICY_CLAIM_LIMIT, "2:4: a claim string over 8 bytes");
    run_err(HEAD12 "issuancerules{\n=> add(type=\"s\", value=JmesPath(\"[1,2,3,4,5]\", \"@\"));};",
            NULL, 0, &lim, ATT_ERR_POLICY_CLAIM_LIMIT, NULL);
    struct att_claim big[] = {att_claim_string("big", "0123456789", AS)};
    run_err(HEAD12 "issuancerules{\nc:[type==\"big\"] => issue(claim=c);};", big, 1, &lim,
            ATT_ERR_POLICY_CLAIM_LIMIT, "2:20: a claim string over 8 bytes");

    att_policy_limits_init(&lim);
    lim.max_memory = 16 * 1024;
    text = many_rules("=> add(type=\"s\", value=AppendString(\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                      "aaaaaaaaaaaaaaaaaaaaa\", \"b\"));\n",
                      300, "", 0);
    text[10] = '2';
    run_err(text, NULL, 0, &lim, ATT_ERR_POLICY_CLAIM_LIMIT, NULL);
    lim.max_memory = 1 << 20;
    p = parse_str(text);
    EXPECT_OK(att_policy_eval(p, NULL, 0, &lim, &r, NULL, 0));
    att_policy_result_cleanup(&r);
    att_policy_free(p);
    free(text);
}

/* ---- inputs and outputs ------------------------------------------------------------------------
 */

static void test_incoming_validation(void **state)
{
    (void)state;
    struct att_policy *p = parse_str("version=1.0;authorizationrules{=>permit();};");
    struct att_policy_result r;
    struct att_claim c = att_claim_string("t", "v", AS);
    c.type = NULL;
    EXPECT_ERR(att_policy_eval(p, &c, 1, NULL, &r, NULL, 0), ATT_ERR_ARG);
    c = att_claim_string("t", "v", AS);
    c.str = NULL;
    EXPECT_ERR(att_policy_eval(p, &c, 1, NULL, &r, NULL, 0), ATT_ERR_ARG);
    c.str_len = 0; /* an empty string may be NULL */
    EXPECT_OK(att_policy_eval(p, &c, 1, NULL, &r, NULL, 0));
    att_policy_result_cleanup(&r);
    c = att_claim_string("t", "v", AS);
    c.value_type = (enum att_claim_value_type)7;
    EXPECT_ERR(att_policy_eval(p, &c, 1, NULL, &r, NULL, 0), ATT_ERR_ARG);
    c = att_claim_string("t", "v", AS);
    c.issuer = (enum att_claim_issuer)9;
    EXPECT_ERR(att_policy_eval(p, &c, 1, NULL, &r, NULL, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_policy_eval(p, NULL, 1, NULL, &r, NULL, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_policy_eval(NULL, NULL, 0, NULL, &r, NULL, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_policy_eval(p, NULL, 0, NULL, NULL, NULL, 0), ATT_ERR_ARG);
    att_policy_free(p);
    att_policy_result_cleanup(NULL);
    struct att_policy_result zero;
    memset(&zero, 0, sizeof(zero));
    att_policy_result_cleanup(&zero);
}

/* The result owns its strings: it outlives the policy and the incoming claims. */
static void test_result_is_self_contained(void **state)
{
    (void)state;
    char type[] = "mrsigner";
    char value[] = "4aea5f9a";
    struct att_claim in[] = {att_claim_string(type, value, AS)};
    struct att_policy *p = parse_str("version=1.0;authorizationrules{=>permit();};issuancerules{"
                                     "c:[type==\"mrsigner\"] => issue(claim=c);"
                                     "c:[type==\"mrsigner\"] => issue(type=\"copy\", "
                                     "value=c.value);};");
    struct att_policy_result r;
    eval_ok(p, in, 1, &r);
    struct att_policy_result r2;
    eval_ok(p, in, 1, &r2); /* pure: the same inputs give the same result */
    att_policy_free(p);
    memset(type, 'X', sizeof(type) - 1);
    memset(value, 'Y', sizeof(value) - 1);
    static const struct exp_claim exp[] = {EXP_S("mrsigner", "4aea5f9a"),
                                           EXP_S("copy", "4aea5f9a")};
    assert_claims("outgoing", r.outgoing, r.n_outgoing, exp, NELEM(exp));
    assert_claims("again", r2.outgoing, r2.n_outgoing, exp, NELEM(exp));
    assert_int_equal(r.steps, r2.steps);
    att_policy_result_cleanup(&r);
    att_policy_result_cleanup(&r2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_condition_any_issuer),
        cmocka_unit_test(test_first_binding),
        cmocka_unit_test(test_binding_across_conditions),
        cmocka_unit_test(test_negation),
        cmocka_unit_test(test_operators_and_kinds),
        cmocka_unit_test(test_string_bytes),
        cmocka_unit_test(test_sections_and_actions),
        cmocka_unit_test(test_permit_and_deny),
        cmocka_unit_test(test_value_type_in_actions),
        cmocka_unit_test(test_fn_jmespath),
        cmocka_unit_test(test_tree_only_claims),
        cmocka_unit_test(test_deferred_jmespath_results),
        cmocka_unit_test(test_fn_json_to_claim_value),
        cmocka_unit_test(test_fn_sets),
        cmocka_unit_test(test_fn_strings_and_bools),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_budget_runaway),
        cmocka_unit_test(test_budget_is_shared_with_jmespath),
        cmocka_unit_test(test_jmespath_document_cache),
        cmocka_unit_test(test_reserved_claims),
        cmocka_unit_test(test_check_cost),
        cmocka_unit_test(test_costs_grow_with_the_data),
        cmocka_unit_test(test_issued_claims),
        cmocka_unit_test(test_claim_and_value_caps),
        cmocka_unit_test(test_incoming_validation),
        cmocka_unit_test(test_result_is_self_contained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
