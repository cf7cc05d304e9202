/*
 * Fuzz target: the MAA policy language (src/policy/lexer.c, parser.c, eval.c). The input
 * is policy text; whatever parses is evaluated against a fixed claim set that exercises
 * every condition kind and function (SGX claims with their "$" aliases, TPM booleans, a
 * small event log and read-only PCRs). Checks: parse errors carry a "line:column: "
 * prefix and a policy-range code, evaluation errors are policy-range codes, and a result
 * is internally consistent (no outgoing claims unless authorized, every claim made by
 * the policy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char events[] =
    "{\"Events\":[{\"EventSeq\":1,\"PcrIndex\":7,\"EventTypeString\":"
    "\"EV_EFI_VARIABLE_DRIVER_CONFIG\",\"ProcessedData\":{\"VariableGuid\":"
    "\"8BE4DF61-93CA-11D2-AA0D-00E098032B8C\",\"UnicodeName\":\"SecureBoot\","
    "\"VariableData\":\"AQ\"}},{\"EventSeq\":2,\"PcrIndex\":12,\"EventTypeString\":"
    "\"EV_EVENT_TAG\",\"ProcessedData\":{\"EVENT_TRUSTBOUNDARY\":{\"EVENT_CODEINTEGRITY\":true,"
    "\"EVENT_BOOTDEBUGGING\":false,\"EVENT_BITLOCKER_UNLOCK\":{\"Value\":1}}}}]}";

static const char pcrs[] = "{\"PCRs\":[{\"Index\":0,\"Digests\":{\"SHA1\":\"KCk6Ow\"}}]}";

static size_t claims(struct att_claim *c)
{
    size_t n = 0;
    c[n++] = att_claim_boolean("x-ms-sgx-is-debuggable", false, ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_string("x-ms-sgx-mrsigner",
                              "4aea5f9a0ed04b11f889aadfe6a1d376213a29a95a85ce7337ae6f7fece6610c",
                              ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_integer("x-ms-sgx-product-id", 1, ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_integer("x-ms-sgx-svn", 1, ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_string("x-ms-attestation-type", "sgx", ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_boolean("$is-debuggable", false, ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_string("$sgx-mrsigner", "4aea5f9a", ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_integer("$product-id", 1, ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_integer("$svn", 1, ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_string("$tee", "sgx", ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_boolean("secureBootEnabled", true, ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_boolean("aikValidated", true, ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++] = att_claim_string("aas-ehd", "ZWhk", ATT_ISSUER_CUSTOM_CLAIM);
    c[n++] = att_claim_string("JsonData", "[0, \"abc\", true, null]", ATT_ISSUER_CUSTOM_CLAIM);
    c[n++] = att_claim_string("events", events, ATT_ISSUER_ATTESTATION_SERVICE);
    c[n] = att_claim_string("pcrs", pcrs, ATT_ISSUER_ATTESTATION_SERVICE);
    c[n++].read_only = true;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_policy_limits lim;
    att_policy_limits_init(&lim);
    lim.max_steps = 20000; /* keep each input fast; the cap itself is under test */
    struct att_policy *p = NULL;
    char msg[256];
    att_err rc = att_policy_parse((const char *)data, size, &lim, &p, msg, sizeof(msg));
    if (rc != ATT_OK) {
        unsigned long line = 0;
        unsigned long col = 0;
        if (p != NULL || (rc != ATT_ERR_POLICY_PARSE && rc != ATT_ERR_POLICY_LIMIT) ||
            sscanf(msg, "%lu:%lu: ", &line, &col) != 2 || line == 0 || col == 0) {
            abort();
        }
        return 0;
    }
    struct att_claim in[32];
    size_t n = claims(in);
    struct att_policy_result r;
    rc = att_policy_eval(p, in, n, &lim, &r, msg, sizeof(msg));
    if (rc == ATT_OK) {
        if ((!r.authorized && r.n_outgoing != 0) || r.steps > lim.max_steps ||
            (r.authorized != (att_policy_result_check(&r) == ATT_OK))) {
            abort();
        }
        for (size_t i = 0; i < r.n_outgoing; i++) {
            if (r.outgoing[i].issuer != ATT_ISSUER_ATTESTATION_POLICY ||
                r.outgoing[i].type_len == 0 || r.outgoing[i].read_only) {
                abort();
            }
        }
        att_policy_result_cleanup(&r);
    } else if (att_err_kind(rc) != ATT_KIND_POLICY && rc != ATT_ERR_NOMEM) {
        abort();
    }
    att_policy_free(p);
    return 0;
}
