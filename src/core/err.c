/*
 * err.c - names and messages of att_err codes. Trusted input only (our own codes).
 */
#include "core/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct err_info {
    att_err code;
    const char *name;
    const char *msg;
};

#define E(c, m)                                                                                    \
    {                                                                                              \
        c, #c, m                                                                                   \
    }
static const struct err_info infos[] = {
    E(ATT_OK, "success"),
    E(ATT_ERR_USAGE, "invalid use"),
    E(ATT_ERR_ARG, "invalid argument"),
    E(ATT_ERR_NOT_FOUND, "not found"),
    E(ATT_ERR_EXISTS, "already exists"),
    E(ATT_ERR_CONFIG, "invalid configuration"),
    E(ATT_ERR_STATE, "operation not allowed in the current state"),
    E(ATT_ERR_PARSE, "malformed input"),
    E(ATT_ERR_TRUNCATED, "input is truncated"),
    E(ATT_ERR_TRAILING, "unexpected bytes after the end of the input"),
    E(ATT_ERR_ENCODING, "invalid base64, base64url or hex encoding"),
    E(ATT_ERR_TOO_LARGE, "input or output exceeds its size limit"),
    E(ATT_ERR_JSON, "malformed JSON or unexpected JSON shape"),
    E(ATT_ERR_JWS_FORMAT, "malformed compact JWS"),
    E(ATT_ERR_VALIDATE, "value not accepted"),
    E(ATT_ERR_ALG_UNSUPPORTED, "signature algorithm not supported"),
    E(ATT_ERR_ALG_NONE, "unsigned token (alg none) not accepted"),
    E(ATT_ERR_ALG_MISMATCH, "token algorithm differs from the key's algorithm"),
    E(ATT_ERR_KEY_TYPE, "key type does not fit the algorithm"),
    E(ATT_ERR_JWS_CRIT, "token header lists a critical extension that is not supported"),
    E(ATT_ERR_VERIFY, "verification failed"),
    E(ATT_ERR_SIGNATURE, "signature is invalid"),
    E(ATT_ERR_SEAL_AUTH, "sealed data failed authentication"),
    E(ATT_ERR_KEY_MISMATCH, "certificate or key id does not belong to the private key"),
    E(ATT_ERR_CREDENTIALS, "client credentials are not valid"),
    E(ATT_ERR_PRINCIPAL_DISABLED, "the principal is disabled"),
    E(ATT_ERR_SECRET_EXPIRED, "the client secret has expired"),
    E(ATT_ERR_TOKEN_EXPIRED, "the token has expired"),
    E(ATT_ERR_TOKEN_NOT_YET_VALID, "the token is not yet valid"),
    E(ATT_ERR_TOKEN_LIFETIME, "the token is valid for longer than allowed"),
    E(ATT_ERR_TOKEN_ISSUER, "the token issuer is not trusted"),
    E(ATT_ERR_TOKEN_AUDIENCE, "the token audience does not name this service"),
    E(ATT_ERR_TOKEN_KID, "the token names a key the issuer does not have"),
    E(ATT_ERR_TOKEN_CLAIMS, "a required token claim is missing or malformed"),
    E(ATT_ERR_TOKEN_REPLAY, "the token was used before"),
    E(ATT_ERR_TOKEN_SUBJECT, "the token subject does not name the expected client"),
    E(ATT_ERR_NO_CLIENT_CERT, "no client certificate is registered"),
    E(ATT_ERR_CERT_PARSE, "a certificate is not valid DER X.509"),
    E(ATT_ERR_CERT_EXPIRED, "a certificate has expired"),
    E(ATT_ERR_CERT_NOT_YET_VALID, "a certificate is not yet valid"),
    E(ATT_ERR_CERT_NOT_CA, "an issuing or root certificate lacks CA basic constraints"),
    E(ATT_ERR_CERT_CHAIN, "a certificate is not signed by the next certificate of the chain"),
    E(ATT_ERR_SIGNER_UNTRUSTED, "the signing certificate is not a trusted policy signer"),
    E(ATT_ERR_KEK_MISMATCH, "data key is wrapped by a different key-encryption key"),
    E(ATT_ERR_QUOTE_VERSION, "quote version not supported"),
    E(ATT_ERR_QUOTE_KEY_TYPE, "quote attestation key type is not ECDSA P-256"),
    E(ATT_ERR_QUOTE_TEE_TYPE, "quote TEE type does not fit its version or the endpoint"),
    E(ATT_ERR_QUOTE_QE_VENDOR, "quote QE vendor id is not Intel's"),
    E(ATT_ERR_QUOTE_CERT_TYPE, "quote certification data type not supported"),
    E(ATT_ERR_QUOTE_PADDING, "non-zero bytes after the end of the quote"),
    E(ATT_ERR_OE_HEADER, "Open Enclave report header invalid or not a remote report"),
    E(ATT_ERR_COLLATERAL_FORMAT, "collateral document malformed"),
    E(ATT_ERR_TCB_STATUS_UNKNOWN, "collateral names an unknown TCB status"),
    E(ATT_ERR_COLLATERAL_MISSING, "collateral needed for the quote is not available"),
    E(ATT_ERR_COLLATERAL_EXPIRED, "collateral has passed its next update"),
    E(ATT_ERR_COLLATERAL_NOT_YET_VALID, "collateral was issued after the verification time"),
    E(ATT_ERR_ROOT_UNTRUSTED, "certificate chain does not end in a trusted root key"),
    E(ATT_ERR_ROOT_CRL_INVALID, "Root CA CRL is not signed by the root or is out of date"),
    E(ATT_ERR_PCK_CRL_INVALID,
      "PCK CRL is not issued by the PCK certificate's CA or is out of date"),
    E(ATT_ERR_TCB_SIGNING_CHAIN,
      "TCB signing certificate does not chain to the root or is revoked"),
    E(ATT_ERR_TCB_INFO_SIGNATURE, "TCB info signature is invalid"),
    E(ATT_ERR_QE_IDENTITY_SIGNATURE, "QE identity signature is invalid"),
    E(ATT_ERR_PCK_CHAIN, "PCK certificate chain is invalid"),
    E(ATT_ERR_PCK_EXTENSION, "PCK certificate SGX extension missing or malformed"),
    E(ATT_ERR_PCK_REVOKED, "PCK certificate is revoked"),
    E(ATT_ERR_PCK_CA_REVOKED, "PCK CA certificate is revoked"),
    E(ATT_ERR_TCB_INFO_MISMATCH, "TCB info does not fit the quote's TEE type"),
    E(ATT_ERR_FMSPC_MISMATCH, "PCK FMSPC differs from the TCB info FMSPC"),
    E(ATT_ERR_PCEID_MISMATCH, "PCK PCE-ID differs from the TCB info PCE-ID"),
    E(ATT_ERR_QE_REPORT_SIGNATURE, "QE report signature is invalid"),
    E(ATT_ERR_QE_REPORT_DATA, "QE report data does not bind the attestation key"),
    E(ATT_ERR_QE_IDENTITY_MISMATCH, "quoting enclave does not match the QE identity"),
    E(ATT_ERR_QE_TCB_NOT_SUPPORTED, "quoting enclave SVN is below every QE identity level"),
    E(ATT_ERR_QE_TCB_REVOKED, "quoting enclave TCB level is revoked"),
    E(ATT_ERR_QUOTE_SIGNATURE, "quote signature is invalid"),
    E(ATT_ERR_TCB_NOT_SUPPORTED, "platform TCB is below every TCB level Intel lists"),
    E(ATT_ERR_TCB_REVOKED, "platform TCB level is revoked"),
    E(ATT_ERR_RUNTIME_DATA_BINDING, "SHA-256 of the runtime data does not match the report data"),
    E(ATT_ERR_INIT_DATA_BINDING, "SHA-256 of the init-time data does not match the CONFIGID"),
    E(ATT_ERR_POLICY, "policy error"),
    E(ATT_ERR_JMESPATH_SYNTAX, "JMESPath query syntax error"),
    E(ATT_ERR_JMESPATH_UNSUPPORTED, "JMESPath feature not supported"),
    E(ATT_ERR_JMESPATH_BUDGET, "JMESPath nesting depth or evaluation budget exhausted"),
    E(ATT_ERR_JMESPATH_TYPE, "JMESPath function argument has the wrong type"),
    E(ATT_ERR_POLICY_PARSE, "policy text is not valid policy language"),
    E(ATT_ERR_POLICY_LIMIT, "policy text exceeds a size or complexity limit"),
    E(ATT_ERR_POLICY_EVAL, "policy evaluation failed"),
    E(ATT_ERR_POLICY_BUDGET, "policy evaluation ran out of its step budget"),
    E(ATT_ERR_POLICY_CLAIM_LIMIT, "policy evaluation exceeds the claim count or value size limit"),
    E(ATT_ERR_POLICY_DENIED, "a deny rule of the policy fired"),
    E(ATT_ERR_POLICY_NO_PERMIT, "no permit rule of the policy fired"),
    E(ATT_ERR_POLICY_RESERVED_CLAIM, "the policy issues a claim only the service sets"),
    E(ATT_ERR_STORE, "store error"),
    E(ATT_ERR_STORE_BUSY, "store is busy"),
    E(ATT_ERR_STORE_SCHEMA, "store schema is newer than this program or a migration failed"),
    E(ATT_ERR_STORE_CONSTRAINT, "store constraint violated"),
    E(ATT_ERR_IO, "input/output error"),
    E(ATT_ERR_PERM, "unsafe file: accessible by group or others, not owned by this user, a "
                    "symbolic link or not a regular file"),
    E(ATT_ERR_NET, "network error"),
    E(ATT_ERR_FETCH, "download failed"),
    E(ATT_ERR_INTERNAL, "internal error"),
    E(ATT_ERR_NOMEM, "out of memory"),
    E(ATT_ERR_CRYPTO, "cryptographic library failure"),
    E(ATT_ERR_REPLAY_CACHE_FULL, "too many unexpired single-use tokens; retry later"),
    E(ATT_ERR_BUSY, "the server is busy; retry later"),
    E(ATT_ERR_REPLAY_CLIENT_QUOTA, "this client has too many unexpired single-use tokens; retry "
                                   "later"),
};
#undef E

static const struct err_info *find(att_err e)
{
    for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++) {
        if (infos[i].code == e) {
            return &infos[i];
        }
    }
    return NULL;
}

const char *att_err_name(att_err e)
{
    const struct err_info *i = find(e);
    return i != NULL ? i->name : "ATT_ERR_UNKNOWN";
}

const char *att_err_str(att_err e)
{
    const struct err_info *i = find(e);
    return i != NULL ? i->msg : "unknown error";
}

enum att_err_kind att_err_kind(att_err e)
{
    int c = (int)e;
    if (c == 0) {
        return ATT_KIND_OK;
    }
    switch (c / 100) {
    case 1: return ATT_KIND_USAGE;
    case 2: return ATT_KIND_PARSE;
    case 3: return ATT_KIND_VALIDATE;
    case 4: return ATT_KIND_VERIFY;
    case 5: return ATT_KIND_POLICY;
    case 6: return ATT_KIND_STORE;
    case 7: return ATT_KIND_IO;
    default: return ATT_KIND_INTERNAL;
    }
}

att_err att_failf(att_err code, char *msg, size_t msg_len, const char *fmt, ...)
{
    if (msg != NULL && msg_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(msg, msg_len, fmt, ap);
        va_end(ap);
    }
    return code;
}
