/*
 * err.h - the one error type of attestd.
 *
 * Every fallible function returns an att_err. Codes are grouped in ranges by
 * kind (usage, parse, validate, verify, policy, store, io, internal) so a
 * caller can ask "whose fault?" with att_err_kind(). Each verification
 * failure gets its own code; never reuse a code for a different failure.
 * Names (att_err_name) are stable and appear in logs and tests; messages
 * (att_err_str) are for humans. See docs/internals/errors.md.
 */
#ifndef ATT_CORE_ERR_H
#define ATT_CORE_ERR_H

#include <stddef.h>

#define ATT_WUR __attribute__((warn_unused_result))

typedef enum att_err {
    ATT_OK = 0,

    /* usage: the caller asked for something impossible */
    ATT_ERR_USAGE = 100,
    ATT_ERR_ARG,       /* invalid argument */
    ATT_ERR_NOT_FOUND, /* no such object */
    ATT_ERR_EXISTS,    /* object already exists */
    ATT_ERR_CONFIG,    /* configuration invalid */
    ATT_ERR_STATE,     /* operation not allowed in this state */

    /* parse: input bytes are malformed */
    ATT_ERR_PARSE = 200,
    ATT_ERR_TRUNCATED,  /* read past the end of the input */
    ATT_ERR_TRAILING,   /* bytes left over after a complete structure */
    ATT_ERR_ENCODING,   /* bad base64/base64url/hex alphabet or padding */
    ATT_ERR_TOO_LARGE,  /* input or output over its cap */
    ATT_ERR_JSON,       /* JSON text malformed or of the wrong shape */
    ATT_ERR_JWS_FORMAT, /* compact JWS is not three base64url parts */

    /* validate: well-formed, but a field has a value we do not accept */
    ATT_ERR_VALIDATE = 300,
    ATT_ERR_ALG_UNSUPPORTED, /* JOSE alg not on the allow-list */
    ATT_ERR_ALG_NONE,        /* alg "none" where a signature is required */
    ATT_ERR_ALG_MISMATCH,    /* alg differs from the one pinned to the key */
    ATT_ERR_KEY_TYPE,        /* key type does not fit the algorithm */
    ATT_ERR_JWS_CRIT,        /* JWS header names a critical extension we do not understand */

    /* evidence format (quotes, reports): well-formed framing, value not accepted */
    ATT_ERR_QUOTE_VERSION = 350, /* quote version not supported */
    ATT_ERR_QUOTE_KEY_TYPE,      /* attestation key type is not ECDSA P-256 */
    ATT_ERR_QUOTE_TEE_TYPE,      /* TEE type does not fit the quote version or endpoint */
    ATT_ERR_QUOTE_QE_VENDOR,     /* QE vendor id is not Intel's */
    ATT_ERR_QUOTE_CERT_TYPE,     /* certification data type not supported */
    ATT_ERR_QUOTE_PADDING,       /* non-zero bytes after the declared end of the quote */
    ATT_ERR_OE_HEADER,           /* Open Enclave report header invalid or not a remote report */
    ATT_ERR_COLLATERAL_FORMAT,   /* TCB info, QE identity or bundle document malformed */
    ATT_ERR_TCB_STATUS_UNKNOWN,  /* collateral names a tcbStatus Intel does not define */

    /* verify: a signature, binding or credential does not hold */
    ATT_ERR_VERIFY = 400,
    ATT_ERR_SIGNATURE,           /* signature invalid */
    ATT_ERR_SEAL_AUTH,           /* sealed record fails authentication (key, AAD or tampered) */
    ATT_ERR_KEK_MISMATCH,        /* data key wrapped by a different key-encryption key */
    ATT_ERR_KEY_MISMATCH,        /* certificate or key id does not belong to the private key */
    ATT_ERR_CREDENTIALS,         /* unknown client or wrong secret (never say which outward) */
    ATT_ERR_PRINCIPAL_DISABLED,  /* the principal is disabled */
    ATT_ERR_SECRET_EXPIRED,      /* the secret matched but has expired */
    ATT_ERR_TOKEN_EXPIRED,       /* bearer token past "exp" (+ leeway) */
    ATT_ERR_TOKEN_NOT_YET_VALID, /* bearer token before "nbf"/"iat" (- leeway) */
    ATT_ERR_TOKEN_LIFETIME,      /* bearer token valid for longer than allowed */
    ATT_ERR_TOKEN_ISSUER,        /* "iss" is not a trusted issuer */
    ATT_ERR_TOKEN_AUDIENCE,      /* "aud" does not name attestd */
    ATT_ERR_TOKEN_KID,           /* no key of the issuer has this "kid" */
    ATT_ERR_TOKEN_CLAIMS,        /* a required claim is missing or of the wrong type */
    ATT_ERR_TOKEN_REPLAY,        /* the token's "jti" was used before (single-use tokens) */
    ATT_ERR_TOKEN_SUBJECT,       /* "sub" does not name the expected subject */
    ATT_ERR_NO_CLIENT_CERT,      /* the principal has no registered client certificate */
    ATT_ERR_CERT_PARSE,          /* a certificate (x5c entry) is not DER X.509 */
    ATT_ERR_CERT_EXPIRED,        /* a certificate is past its notAfter */
    ATT_ERR_CERT_NOT_YET_VALID,  /* a certificate is before its notBefore */
    ATT_ERR_CERT_NOT_CA,         /* an issuing or root certificate lacks CA basic constraints */
    ATT_ERR_CERT_CHAIN,          /* a certificate is not signed by the next one in the chain */
    ATT_ERR_SIGNER_UNTRUSTED,    /* the signing certificate is not a trusted policy signer */

    /* DCAP quote verification (FORMATS.md §5), one code per step */
    ATT_ERR_COLLATERAL_MISSING = 440, /* collateral the quote needs is not available */
    ATT_ERR_COLLATERAL_EXPIRED,       /* collateral past its nextUpdate (and any grace) */
    ATT_ERR_COLLATERAL_NOT_YET_VALID, /* collateral issued after the verification time */
    ATT_ERR_ROOT_UNTRUSTED,           /* a chain does not end in a trusted root key */
    ATT_ERR_ROOT_CRL_INVALID,         /* Root CA CRL not signed by the root, or out of date */
    ATT_ERR_PCK_CRL_INVALID,          /* PCK CRL not issued by the PCK's CA, or out of date */
    ATT_ERR_TCB_SIGNING_CHAIN,        /* TCB signing certificate does not chain or is revoked */
    ATT_ERR_TCB_INFO_SIGNATURE,       /* TCB info signature invalid */
    ATT_ERR_QE_IDENTITY_SIGNATURE,    /* QE identity signature invalid */
    ATT_ERR_PCK_CHAIN,                /* PCK chain does not build or a certificate is invalid */
    ATT_ERR_PCK_EXTENSION,            /* PCK SGX extension missing or malformed */
    ATT_ERR_PCK_REVOKED,              /* PCK certificate listed in the PCK CRL */
    ATT_ERR_PCK_CA_REVOKED,           /* PCK CA certificate listed in the Root CA CRL */
    ATT_ERR_TCB_INFO_MISMATCH,        /* TCB info id or version does not fit the TEE type */
    ATT_ERR_FMSPC_MISMATCH,           /* PCK FMSPC differs from the TCB info's */
    ATT_ERR_PCEID_MISMATCH,           /* PCK PCE-ID differs from the TCB info's */
    ATT_ERR_QE_REPORT_SIGNATURE,      /* QE report not signed by the PCK key */
    ATT_ERR_QE_REPORT_DATA,           /* QE report data != SHA-256(attestation key || auth data) */
    ATT_ERR_QE_IDENTITY_MISMATCH,     /* QE MRSIGNER, ISVPRODID, attributes or MISCSELECT */
    ATT_ERR_QE_TCB_NOT_SUPPORTED,     /* QE ISVSVN below every QE identity level */
    ATT_ERR_QE_TCB_REVOKED,           /* QE identity level of the QE is Revoked */
    ATT_ERR_QUOTE_SIGNATURE,          /* quote not signed by the attestation key */
    ATT_ERR_TCB_NOT_SUPPORTED,        /* platform TCB below every listed TCB level */
    ATT_ERR_TCB_REVOKED,              /* platform TCB level is Revoked */
    ATT_ERR_RUNTIME_DATA_BINDING,     /* SHA-256(runtime data) != REPORTDATA[0..32] */
    ATT_ERR_INIT_DATA_BINDING,        /* SHA-256(init-time data) != CONFIGID[0..32] */

    /* policy */
    ATT_ERR_POLICY = 500,
    ATT_ERR_JMESPATH_SYNTAX,      /* JMESPath query is not valid JMESPath */
    ATT_ERR_JMESPATH_UNSUPPORTED, /* valid JMESPath outside the supported subset */
    ATT_ERR_JMESPATH_BUDGET,      /* JMESPath nesting depth or step budget exhausted */
    ATT_ERR_JMESPATH_TYPE,        /* JMESPath function argument of the wrong type */

    ATT_ERR_POLICY_PARSE,       /* policy text does not follow the grammar (line:column in msg) */
    ATT_ERR_POLICY_LIMIT,       /* policy text over a cap: size, rules, conditions, nesting, ... */
    ATT_ERR_POLICY_EVAL,        /* evaluation failed: bad function argument, bad JSON, read-only */
    ATT_ERR_POLICY_BUDGET,      /* evaluation ran out of its step budget */
    ATT_ERR_POLICY_CLAIM_LIMIT, /* evaluation would add too many claims or too large a value */
    ATT_ERR_POLICY_DENIED,      /* a deny() rule fired */
    ATT_ERR_POLICY_NO_PERMIT,   /* no permit() rule fired */
    ATT_ERR_POLICY_RESERVED_CLAIM, /* a rule issues a claim name only the service sets */

    /* store */
    ATT_ERR_STORE = 600,
    ATT_ERR_STORE_BUSY,       /* database locked past the busy timeout */
    ATT_ERR_STORE_SCHEMA,     /* schema newer than this binary, or migration failed */
    ATT_ERR_STORE_CONSTRAINT, /* uniqueness or foreign-key constraint */

    /* io: files, sockets, permissions */
    ATT_ERR_IO = 700,
    ATT_ERR_PERM,  /* unsafe file: readable by group/others, not ours, a link, not regular */
    ATT_ERR_NET,   /* socket / address error */
    ATT_ERR_FETCH, /* a download failed: connection, TLS, timeout or HTTP status */

    /* internal: our bug or resource exhaustion */
    ATT_ERR_INTERNAL = 800,
    ATT_ERR_NOMEM,
    ATT_ERR_CRYPTO,              /* the crypto library failed unexpectedly */
    ATT_ERR_REPLAY_CACHE_FULL,   /* the replay cache is full of unexpired entries (fails closed) */
    ATT_ERR_BUSY,                /* the job queue is full: the work was not started */
    ATT_ERR_REPLAY_CLIENT_QUOTA, /* one client holds its share of the replay cache (fails closed) */
} att_err;

enum att_err_kind {
    ATT_KIND_OK,
    ATT_KIND_USAGE,
    ATT_KIND_PARSE,
    ATT_KIND_VALIDATE,
    ATT_KIND_VERIFY,
    ATT_KIND_POLICY,
    ATT_KIND_STORE,
    ATT_KIND_IO,
    ATT_KIND_INTERNAL,
};

/* Stable identifier, e.g. "ATT_ERR_TRUNCATED". Never NULL. */
const char *att_err_name(att_err e);
/* Short human-readable description. Never NULL. */
const char *att_err_str(att_err e);
enum att_err_kind att_err_kind(att_err e);

/*
 * Write a message for the caller (when msg is not NULL and msg_len > 0; truncated to fit)
 * and return `code`: `return att_failf(ATT_ERR_X, msg, msg_len, "field %s", name);`.
 */
att_err att_failf(att_err code, char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Deliberately drop a result (gcc does not let a (void) cast silence
 * warn_unused_result). Use only where a failure changes nothing, and say why.
 */
static inline void att_ignore_err(att_err e)
{
    (void)e;
}

/*
 * Guard macros (docs/internals/errors.md).
 * ATT_TRY / ATT_ENSURE / ATT_FAIL return at once: for functions that own nothing.
 * ATT_GUARD / ATT_CHECK set `rc` and jump to `out:`: for functions with cleanup.
 */
#define ATT_TRY(expr)                                                                              \
    do {                                                                                           \
        att_err att_try_rc_ = (expr);                                                              \
        if (att_try_rc_ != ATT_OK) {                                                               \
            return att_try_rc_;                                                                    \
        }                                                                                          \
    } while (0)
#define ATT_ENSURE(cond, code)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            return (code);                                                                         \
        }                                                                                          \
    } while (0)
#define ATT_FAIL(code) return (code)
#define ATT_GUARD(expr)                                                                            \
    do {                                                                                           \
        rc = (expr);                                                                               \
        if (rc != ATT_OK) {                                                                        \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
#define ATT_CHECK(cond, code)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            rc = (code);                                                                           \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#endif
