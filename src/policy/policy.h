/*
 * policy.h - the MAA claim-rule policy language: parse, evaluate, hash, defaults.
 *
 * Policy text is untrusted (it arrives in PUT /policies bodies). att_policy_parse
 * turns it into a tree under caps (struct att_policy_limits); att_policy_eval is a
 * pure function from a parsed policy and the incoming claims to a decision, the
 * outgoing claims and the properties, bounded by a step budget. Neither does I/O,
 * reads the clock or keeps global state. Grammar, semantics and every decision
 * where MAA's documentation is silent: docs/internals/policy.md (docs/reference/maa-policy.md §3).
 *
 * What this module does NOT do: it does not produce the "$"-prefixed legacy
 * incoming claims (docs/reference/maa-policy.md §3.6) or any claim from evidence (the caller builds
 * the incoming set), it does not interpret properties (report_validity_in_minutes,
 * required_pcr_mask, ...: the caller reads them from the result), and it does not
 * build the token.
 */
#ifndef ATT_POLICY_POLICY_H
#define ATT_POLICY_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* ---- limits ---------------------------------------------------------------------------- */

/*
 * Caps on policy text (parse) and on one evaluation. att_policy_limits_init fills
 * the defaults shown; a caller may lower or raise any of them. A zero field means
 * "nothing is allowed" (e.g. max_rules = 0 refuses any rule), not "unlimited".
 */
struct att_policy_limits {
    /* parse */
    size_t max_text;       /* bytes of policy text (64 KiB) */
    size_t max_rules;      /* rules over all sections (1024) */
    size_t max_conditions; /* conditions per rule (64) */
    size_t max_props;      /* property conditions per condition (16) */
    size_t max_depth;      /* function-call nesting depth (16) */
    size_t max_string;     /* bytes of one decoded string literal (8 KiB) */
    size_t max_ident;      /* characters of one identifier (64) */
    /* evaluation */
    uint64_t max_steps; /* the budget of all work (4000000 steps); docs/internals/policy.md */
    size_t max_claims;  /* claims added by add/issue/issueproperty (4096) */
    size_t max_value;   /* bytes of one string value a rule creates (1 MiB) */
    size_t max_memory;  /* bytes of each of an evaluation's two value arenas (16 MiB) */
};

#define ATT_POLICY_DEFAULT_MAX_TEXT ((size_t)64 * 1024)
#define ATT_POLICY_DEFAULT_MAX_RULES ((size_t)1024)
#define ATT_POLICY_DEFAULT_MAX_CONDITIONS ((size_t)64)
#define ATT_POLICY_DEFAULT_MAX_PROPS ((size_t)16)
#define ATT_POLICY_DEFAULT_MAX_DEPTH ((size_t)16)
#define ATT_POLICY_DEFAULT_MAX_STRING ((size_t)8 * 1024)
#define ATT_POLICY_DEFAULT_MAX_IDENT ((size_t)64)
#define ATT_POLICY_DEFAULT_MAX_STEPS ((uint64_t)4000000)
#define ATT_POLICY_DEFAULT_MAX_CLAIMS ((size_t)4096)
#define ATT_POLICY_DEFAULT_MAX_VALUE ((size_t)1 << 20)
#define ATT_POLICY_DEFAULT_MAX_MEMORY ((size_t)16 << 20)

void att_policy_limits_init(struct att_policy_limits *lim);

/* ---- claims ---------------------------------------------------------------------------- */

/*
 * A claim: {type, value, valueType, issuer} (docs/reference/maa-policy.md §3.3). Only scalar claims
 * exist: a Set (from JsonToClaimValue of a JSON array) becomes one claim per element
 * when a rule adds it, as MAA's claim-rule-functions documentation shows.
 */
enum att_claim_value_type {
    ATT_CLAIM_STRING,
    ATT_CLAIM_INTEGER,
    ATT_CLAIM_BOOLEAN,
};

enum att_claim_issuer {
    ATT_ISSUER_ATTESTATION_SERVICE, /* "AttestationService": derived from the evidence */
    ATT_ISSUER_CUSTOM_CLAIM,        /* "CustomClaim": supplied by the client */
    ATT_ISSUER_ATTESTATION_POLICY,  /* "AttestationPolicy": added by a rule */
};

struct att_claim {
    const char *type; /* UTF-8, type_len bytes (NUL-terminated in results) */
    size_t type_len;
    enum att_claim_value_type value_type;
    const char *str; /* ATT_CLAIM_STRING: str_len bytes (NUL-terminated in results) */
    size_t str_len;
    int64_t integer; /* ATT_CLAIM_INTEGER */
    bool boolean;    /* ATT_CLAIM_BOOLEAN */
    enum att_claim_issuer issuer;
    /*
     * Read-only claims (e.g. TPM "pcrs", docs/reference/maa-policy.md §3.4) can be queried but not
     * issued: a value taken from one, or computed from one by JmesPath, AppendString,
     * JsonToClaimValue or NegateBool, cannot be issue()d or issueproperty()d; nor can a claim
     * whose type was computed from one (type_read_only: rule-made claims only).
     */
    bool read_only;
    bool type_read_only;
    /*
     * A string claim of JSON text may come with the same value already decoded (the TPM type
     * builds its events JSON as a tree): JmesPath() then queries the tree without parsing the
     * text. Borrowed, never modified, and it must equal the text; NULL: parsed when queried.
     * An incoming claim may come as the tree alone (str NULL, str_len 0): its compact text is
     * written only if a rule uses the value otherwise than as JmesPath's first argument.
     */
    json_t *json;
};

/* Convenience constructors for callers and tests; the strings are borrowed (strlen). */
struct att_claim att_claim_string(const char *type, const char *value,
                                  enum att_claim_issuer issuer);
/* A string claim of `len` bytes (which may hold what strlen would stop at). */
struct att_claim att_claim_stringn(const char *type, const char *value, size_t len,
                                   enum att_claim_issuer issuer);
struct att_claim att_claim_integer(const char *type, int64_t value, enum att_claim_issuer issuer);
struct att_claim att_claim_boolean(const char *type, bool value, enum att_claim_issuer issuer);

/* "String", "Integer", "Boolean"; "AttestationService", "CustomClaim", "AttestationPolicy". */
const char *att_claim_value_type_name(enum att_claim_value_type t);
const char *att_claim_issuer_name(enum att_claim_issuer i);

/* ---- parse ----------------------------------------------------------------------------- */

struct att_policy; /* opaque; owns all its memory (nothing borrowed from the text) */

/*
 * Parse policy text (versions 1.0, 1.1, 1.2). `text` need not be NUL-terminated
 * and is not kept. `lim` may be NULL for the defaults. On success *out is a new
 * policy for att_policy_free. On failure *out is untouched and `msg` (may be NULL
 * when msg_len is 0) holds "line:column: message", 1-based, columns counted in
 * characters, e.g. "1:9: expected a version number, found 'x'". The message may
 * quote short pieces of the policy text (never more than 32 bytes of a token).
 *
 * Errors:
 *   ATT_ERR_POLICY_PARSE  the text does not follow the grammar, names an unknown
 *                         function or unbound identifier, uses a feature its version
 *                         does not have, is not UTF-8 or holds a NUL byte
 *   ATT_ERR_POLICY_LIMIT  over a cap of `lim` (text size, rules, conditions,
 *                         property conditions, nesting, string or identifier length)
 *   ATT_ERR_ARG           NULL text with a non-zero length, or NULL out
 *   ATT_ERR_NOMEM         allocation failed
 */
att_err att_policy_parse(const char *text, size_t len, const struct att_policy_limits *lim,
                         struct att_policy **out, char *msg, size_t msg_len) ATT_WUR;

/* Accepts NULL. */
void att_policy_free(struct att_policy *p);

/* The version line, e.g. 1 and 2 for "version=1.2;". */
void att_policy_version(const struct att_policy *p, unsigned *major, unsigned *minor);

/* Number of rules in all sections. */
size_t att_policy_rule_count(const struct att_policy *p);

/* ---- evaluate -------------------------------------------------------------------------- */

struct att_policy_mem; /* private: the memory behind a result's strings */

struct att_policy_result {
    /* true when at least one permit() and no deny() fired (docs/reference/maa-policy.md §3.3) */
    bool authorized;
    /* ATT_OK, ATT_ERR_POLICY_DENIED or ATT_ERR_POLICY_NO_PERMIT (for the caller's mapping) */
    att_err decision;
    /* when not authorized: "L:C: deny() rule fired" or "no permit() rule fired" */
    char reason[96];
    /* claims issue()d, in the order the rules issued them; empty when not authorized */
    struct att_claim *outgoing;
    size_t n_outgoing;
    /* claims issueproperty()d (configuration and issuance rules), in order */
    struct att_claim *properties;
    size_t n_properties;
    uint64_t steps; /* steps spent */
    struct att_policy_mem *mem;
};

/*
 * Evaluate `p` over the incoming claims `in` (n_in of them; borrowed, not kept).
 * Every claim in the result has issuer AttestationPolicy and strings owned by the
 * result (copied), so the result outlives `in` and `p`. `lim` may be NULL for the
 * defaults; only its evaluation fields are used. On success *out is filled (release
 * it with att_policy_result_cleanup) whatever the decision: a policy that denies is
 * not an error here; att_policy_result_check turns the decision into one. On failure
 * *out is untouched and `msg` holds "line:column: message" naming the rule.
 *
 * Errors:
 *   ATT_ERR_POLICY_EVAL         a function got an argument of the wrong kind, a JSON
 *                               argument is not JSON (or an object or fraction for
 *                               JsonToClaimValue), a JmesPath query failed, a
 *                               read-only value was issued, a claim type is not a
 *                               non-empty string, or a value does not fit valueType
 *   ATT_ERR_POLICY_BUDGET       more than lim->max_steps steps
 *   ATT_ERR_POLICY_CLAIM_LIMIT  more than lim->max_claims claims added, a value over
 *                               lim->max_value bytes, or over lim->max_memory
 *   ATT_ERR_ARG                 NULL arguments, or an incoming claim with a NULL type,
 *                               a NULL string or an out-of-range enum
 *   ATT_ERR_NOMEM               allocation failed
 */
att_err att_policy_eval(const struct att_policy *p, const struct att_claim *in, size_t n_in,
                        const struct att_policy_limits *lim, struct att_policy_result *out,
                        char *msg, size_t msg_len) ATT_WUR;

/* Release what a successful att_policy_eval put in `r`; accepts a zeroed result. */
void att_policy_result_cleanup(struct att_policy_result *r);

/* ATT_OK when authorized, else r->decision (ATT_ERR_POLICY_DENIED / _NO_PERMIT). */
att_err att_policy_result_check(const struct att_policy_result *r) ATT_WUR;

/* The last property named `name` (later issueproperty() wins), or NULL. */
const struct att_claim *att_policy_result_property(const struct att_policy_result *r,
                                                   const char *name);

/* ---- hash ------------------------------------------------------------------------------ */

#define ATT_POLICY_HASH_LEN 43 /* base64url of 32 bytes, unpadded */

/*
 * x-ms-policy-hash (docs/reference/maa-tokens.md §2.3):
 * BASE64URL(SHA-256(ASCII(BASE64URL(UTF-8 policy text)))), written to `out` as 43
 * characters plus a NUL. The text is hashed as given (no parsing, no trimming).
 * Errors: ATT_ERR_ARG (NULL), ATT_ERR_CRYPTO.
 */
att_err att_policy_hash(const char *text, size_t len, char out[ATT_POLICY_HASH_LEN + 1]) ATT_WUR;

/* ---- attestation types and default policies -------------------------------------------- */

/* The MAA path segments of /attest/<type> and /policies/<type>. */
enum att_policy_type {
    ATT_POLICY_SGX_ENCLAVE,
    ATT_POLICY_OPEN_ENCLAVE,
    ATT_POLICY_SEV_SNP_VM,
    ATT_POLICY_TDX_VM,
    ATT_POLICY_TPM,
    ATT_POLICY_AZURE_GUEST,
};
#define ATT_POLICY_TYPE_COUNT 6

/* "SgxEnclave", "OpenEnclave", "SevSnpVm", "TdxVm", "Tpm", "AzureGuest"; NULL when out of range. */
const char *att_policy_type_name(enum att_policy_type t);

/* Case-insensitive ("sgxenclave" works); ATT_ERR_NOT_FOUND for other names. */
att_err att_policy_type_parse(const char *s, size_t len, enum att_policy_type *out) ATT_WUR;

/*
 * The default policy text of a type (static storage, NUL-terminated); NULL when out
 * of range. SgxEnclave and OpenEnclave: MAA's v1.0 default, byte-exact
 * (docs/reference/maa-policy.md §3.7). SevSnpVm, TdxVm, Tpm, AzureGuest: attestd's own, in
 * docs/internals/policy.md.
 */
const char *att_policy_default(enum att_policy_type t);

/* ---- reserved claim names and the checks of a policy being set ---------------------- */

/*
 * True when `type` (len bytes) names a claim only the service sets, which no policy may
 * issue(): the x-ms- and tdx_ namespaces, the JWT registered claims, nonce, cnf, and the legacy
 * aliases of service claims (the list: docs/attestation.md, "Reserved claim names").
 * att_policy_eval refuses to issue one (ATT_ERR_POLICY_RESERVED_CLAIM).
 */
bool att_policy_claim_reserved(const char *type, size_t len);

/*
 * For a policy being set: ATT_ERR_POLICY_RESERVED_CLAIM when a rule issue()s a reserved name
 * written as a literal, with msg "line:column: issue(): 'x-ms-foo' is a claim only the
 * service sets". (Names computed at run time are refused when the rule runs.)
 */
att_err att_policy_check_reserved(const struct att_policy *p, char *msg, size_t msg_len) ATT_WUR;

/*
 * Call fn(type, len, arg) for each claim name a rule of `p` issue()s as a literal, in rule
 * order (a name may come twice; names computed at run time are not known here). The first
 * error fn returns ends the walk and is returned. `type` is borrowed from `p`.
 */
att_err att_policy_issued_claims(const struct att_policy *p,
                                 att_err (*fn)(const char *type, size_t len, void *arg),
                                 void *arg) ATT_WUR;

/*
 * For a policy being set for attestation type `t`: evaluate it against a representative
 * claim set of that type (src/policy/samples.c). ATT_ERR_POLICY_BUDGET or
 * ATT_ERR_POLICY_CLAIM_LIMIT when that already exceeds the default evaluation limits, with
 * msg "line:column: step budget of N exhausted (evaluated against a representative
 * SgxEnclave claim set)"; ATT_OK otherwise, whatever the decision (a deny or an evaluation
 * error that depends on the claims is not a reason to refuse the policy).
 */
att_err att_policy_check_cost(const struct att_policy *p, enum att_policy_type t, char *msg,
                              size_t msg_len) ATT_WUR;

#endif
