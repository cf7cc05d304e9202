/*
 * samples.c - a representative incoming claim set of each attestation type, and the check a
 * policy being set must pass on it: evaluating it there must stay within the evaluation
 * budget and caps. A policy that already runs out on an ordinary attestation would make every
 * attestation of its provider fail, after spending the whole budget each time; it is refused
 * up front instead.
 *
 * The sets hold the claims of docs/reference/maa-tokens.md §2.3-§2.7 with typical values (SGX: what
 * src/evidence/sgx/sgx.c makes of a quote, with a runtime key as JSON; TPM: a short measured-boot
 * log and two PCRs). They stand for the usual case, not the worst: the budget bounds every
 * real evaluation whatever its claims.
 */
#include "policy/policy_int.h"

#include <stdio.h>
#include <string.h>

#define HEX64 "9f4d64bbdd0ab4a50ad96ff1ae8d8b4a8ea0e7e4b1b28c3c3c4c3c2b5a3d2e1f"
#define HEX96 HEX64 "0123456789abcdef0123456789abcdef"
#define RUNTIME_JSON                                                                               \
    "{\"keys\":[{\"kid\":\"TpmEphemeralEncryptionKey\",\"key_ops\":[\"encrypt\"],\"kty\":"         \
    "\"RSA\",\"e\":\"AQAB\",\"n\":\"" HEX64 HEX64 HEX64 HEX64 HEX64 "\"}],"                        \
    "\"vm-configuration\":{\"secure-boot\":true,\"tpm-enabled\":true,\"vmUniqueId\":"              \
    "\"55B8E1A0-5C3F-4E2D-9A41-7D3B2C1E0F9A\"}}"
#define COLLATERAL_JSON                                                                            \
    "{\"qeidcertshash\":\"" HEX64 "\",\"qeidcrlhash\":\"" HEX64 "\",\"qeidhash\":\"" HEX64         \
    "\",\"quotehash\":\"" HEX64 "\",\"tcbinfocertshash\":\"" HEX64                                 \
    "\",\"tcbinfocrlhash\":\"" HEX64 "\",\"tcbinfohash\":\"" HEX64 "\"}"

static const char tpm_events[] =
    "{\"Events\":["
    "{\"EventSeq\":0,\"PcrIndex\":0,\"EventTypeString\":\"EV_S_CRTM_VERSION\","
    "\"ProcessedData\":{\"String\":\"1.0\"}},"
    "{\"EventSeq\":1,\"PcrIndex\":7,\"EventTypeString\":\"EV_EFI_VARIABLE_DRIVER_CONFIG\","
    "\"ProcessedData\":{\"VariableGuid\":\"8BE4DF61-93CA-11D2-AA0D-00E098032B8C\","
    "\"UnicodeName\":\"SecureBoot\",\"VariableData\":\"AQ\"}},"
    "{\"EventSeq\":2,\"PcrIndex\":7,\"EventTypeString\":\"EV_SEPARATOR\","
    "\"ProcessedData\":{\"String\":\"AAAAAA\"}},"
    "{\"EventSeq\":3,\"PcrIndex\":4,\"EventTypeString\":\"EV_EFI_BOOT_SERVICES_APPLICATION\","
    "\"ProcessedData\":{\"DevicePath\":\"\\\\EFI\\\\Microsoft\\\\Boot\\\\bootmgfw.efi\"}},"
    "{\"EventSeq\":4,\"PcrIndex\":12,\"EventTypeString\":\"EV_EVENT_TAG\","
    "\"ProcessedData\":{\"EVENT_TRUSTBOUNDARY\":{\"EVENT_BOOTDEBUGGING\":0,"
    "\"EVENT_OSKERNELDEBUG\":0,\"EVENT_CODEINTEGRITY\":1,\"EVENT_TESTSIGNING\":0,"
    "\"EVENT_SAFEMODE\":0,\"EVENT_WINPE\":0,\"EVENT_APPLICATION_SVN\":999}}},"
    "{\"EventSeq\":5,\"PcrIndex\":13,\"EventTypeString\":\"EV_EVENT_TAG\","
    "\"ProcessedData\":{\"EVENT_TRUSTBOUNDARY\":{\"EVENT_LOADEDMODULE_AGGREGATION\":{"
    "\"EVENT_FILEPATH\":\"\\\\Windows\\\\System32\\\\drivers\\\\wdboot.sys\","
    "\"EVENT_AUTHORITYPUBLISHER\":\"Microsoft Windows\"}}}}"
    "]}";

static const char tpm_pcrs[] =
    "{\"PCRs\":[{\"Index\":0,\"Digests\":{\"SHA1\":\"KCk6Ow\",\"SHA256\":"
    "\"TIM7HDYfz_-Nzw-B7sdggbcaHg6yGTyuC26w5HNew0M\"}},{\"Index\":7,\"Digests\":{\"SHA1\":"
    "\"9tW2dzMpcOqH0zZgcmJdXuNm2I0\",\"SHA256\":\"NDVmOTNhYmYxNTlkMWVjMDhhMWI4MDg0NzVhZWIzODg\"}}]"
    "}";

#define MAX_SAMPLE 40

/* The sample of type `t` into `c` (at most MAX_SAMPLE); the count. */
static size_t sample(enum att_policy_type t, struct att_claim *c)
{
    const enum att_claim_issuer as = ATT_ISSUER_ATTESTATION_SERVICE;
    size_t n = 0;
    switch (t) {
    case ATT_POLICY_SGX_ENCLAVE:
    case ATT_POLICY_OPEN_ENCLAVE:
        c[n++] = att_claim_string("x-ms-attestation-type", "sgx", as);
        c[n++] = att_claim_string("x-ms-ver", "1.0", as);
        c[n++] = att_claim_boolean("x-ms-sgx-is-debuggable", false, as);
        c[n++] = att_claim_string("x-ms-sgx-mrenclave", HEX64, as);
        c[n++] = att_claim_string("x-ms-sgx-mrsigner", HEX64, as);
        c[n++] = att_claim_integer("x-ms-sgx-product-id", 1, as);
        c[n++] = att_claim_integer("x-ms-sgx-svn", 3, as);
        c[n++] = att_claim_string("x-ms-sgx-report-data", HEX64 HEX64, as);
        c[n++] = att_claim_string("x-ms-sgx-advisory-ids", "INTEL-SA-00615", as);
        c[n++] = att_claim_string("x-ms-sgx-tcb-status", "SWHardeningNeeded", as);
        c[n++] = att_claim_integer("x-ms-sgx-tcb-evaluation-data-number", 17, as);
        c[n++] = att_claim_string("x-ms-sgx-fmspc", "00906ed50000", as);
        c[n++] = att_claim_string("x-ms-sgx-collateral", COLLATERAL_JSON, as);
        c[n++] = att_claim_string("x-ms-runtime", RUNTIME_JSON, as);
        c[n++] = att_claim_string("nonce", "aGVsbG8gd29ybGQ", as);
        c[n++] = att_claim_boolean("$is-debuggable", false, as);
        c[n++] = att_claim_integer("$product-id", 1, as);
        c[n++] = att_claim_string("$sgx-mrsigner", HEX64, as);
        c[n++] = att_claim_string("$sgx-mrenclave", HEX64, as);
        c[n++] = att_claim_integer("$svn", 3, as);
        c[n++] = att_claim_string("$tee", "sgx", as);
        c[n++] = att_claim_string("$maa-attestationcollateral", COLLATERAL_JSON, as);
        break;
    case ATT_POLICY_SEV_SNP_VM:
        c[n++] = att_claim_string("x-ms-attestation-type", "sevsnpvm", as);
        c[n++] = att_claim_string("x-ms-sevsnpvm-authorkeydigest", HEX96, as);
        c[n++] = att_claim_string("x-ms-sevsnpvm-familyId", "01000000000000000000000000000000", as);
        c[n++] = att_claim_string("x-ms-sevsnpvm-hostdata", HEX64, as);
        c[n++] = att_claim_string("x-ms-sevsnpvm-idkeydigest", HEX96, as);
        c[n++] = att_claim_string("x-ms-sevsnpvm-imageId", "02000000000000000000000000000000", as);
        c[n++] = att_claim_string("x-ms-sevsnpvm-launchmeasurement", HEX96, as);
        c[n++] = att_claim_string("x-ms-sevsnpvm-reportdata", HEX64 HEX64, as);
        c[n++] = att_claim_string("x-ms-sevsnpvm-reportid", HEX64, as);
        c[n++] = att_claim_integer("x-ms-sevsnpvm-bootloader-svn", 3, as);
        c[n++] = att_claim_integer("x-ms-sevsnpvm-guestsvn", 1, as);
        c[n++] = att_claim_integer("x-ms-sevsnpvm-microcode-svn", 115, as);
        c[n++] = att_claim_integer("x-ms-sevsnpvm-snpfw-svn", 8, as);
        c[n++] = att_claim_integer("x-ms-sevsnpvm-tee-svn", 0, as);
        c[n++] = att_claim_integer("x-ms-sevsnpvm-vmpl", 0, as);
        c[n++] = att_claim_boolean("x-ms-sevsnpvm-is-debuggable", false, as);
        c[n++] = att_claim_boolean("x-ms-sevsnpvm-migration-allowed", false, as);
        c[n++] = att_claim_boolean("x-ms-sevsnpvm-smt-allowed", true, as);
        c[n++] = att_claim_string("x-ms-runtime", RUNTIME_JSON, as);
        break;
    case ATT_POLICY_TDX_VM:
        c[n++] = att_claim_string("x-ms-attestation-type", "tdxvm", as);
        c[n++] = att_claim_string("tdx_mrsignerseam", HEX96, as);
        c[n++] = att_claim_string("tdx_mrseam", HEX96, as);
        c[n++] = att_claim_string("tdx_mrtd", HEX96, as);
        c[n++] = att_claim_string("tdx_rtmr0", HEX96, as);
        c[n++] = att_claim_string("tdx_rtmr1", HEX96, as);
        c[n++] = att_claim_string("tdx_rtmr2", HEX96, as);
        c[n++] = att_claim_string("tdx_rtmr3", HEX96, as);
        c[n++] = att_claim_string("tdx_mrconfigid", HEX96, as);
        c[n++] = att_claim_string("tdx_mrowner", HEX96, as);
        c[n++] = att_claim_string("tdx_mrownerconfig", HEX96, as);
        c[n++] = att_claim_string("tdx_report_data", HEX64 HEX64, as);
        c[n++] = att_claim_string("tdx_seam_attributes", "0000000000000000", as);
        c[n++] = att_claim_string("tdx_tee_tcb_svn", "03000500000000000000000000000000", as);
        c[n++] = att_claim_string("tdx_xfam", "e702060000000000", as);
        c[n++] = att_claim_string("tdx_td_attributes", "0000001000000000", as);
        c[n++] = att_claim_integer("tdx_seamsvn", 261, as);
        c[n++] = att_claim_boolean("tdx_td_attributes_debug", false, as);
        c[n++] = att_claim_boolean("tdx_td_attributes_septve_disable", true, as);
        c[n++] = att_claim_string("attester_tcb_status", "UpToDate", as);
        c[n++] = att_claim_string("x-ms-runtime", RUNTIME_JSON, as);
        break;
    case ATT_POLICY_AZURE_GUEST:
        c[n++] = att_claim_string("x-ms-attestation-type", "azurevm", as);
        c[n++] = att_claim_boolean("secureboot", true, as);
        c[n++] = att_claim_boolean("x-ms-isolation-tee-debuggable", false, as);
        c[n++] = att_claim_string("x-ms-azurevm-ostype", "Linux", as);
        c[n++] = att_claim_string("x-ms-azurevm-vmid", "911B0EF8-9DBA-48B0-B275-4E4DF2D39252", as);
        c[n++] = att_claim_string("x-ms-isolation-tee", RUNTIME_JSON, as);
        c[n++] = att_claim_string("events", tpm_events, as);
        c[n] = att_claim_string("pcrs", tpm_pcrs, as);
        c[n++].read_only = true;
        break;
    case ATT_POLICY_TPM:
    default:
        c[n++] = att_claim_boolean("aikValidated", true, as);
        c[n++] = att_claim_string("aikPubHash", "TIM7HDYfz_-Nzw-B7sdggbcaHg6yGTyuC26w5HNew0M", as);
        c[n++] = att_claim_integer("tpmVersion", 2, as);
        c[n++] = att_claim_boolean("secureBootEnabled", true, as);
        c[n++] = att_claim_boolean("iommuEnabled", true, as);
        c[n++] = att_claim_boolean("bootDebuggingDisabled", true, as);
        c[n++] = att_claim_boolean("notSafeMode", true, as);
        c[n++] = att_claim_boolean("notWinPE", true, as);
        c[n++] = att_claim_boolean("vbsEnabled", false, as);
        c[n++] = att_claim_boolean("vbsReportPresent", false, as);
        c[n++] = att_claim_string("events", tpm_events, as);
        c[n] = att_claim_string("pcrs", tpm_pcrs, as);
        c[n++].read_only = true;
        break;
    }
    return n;
}

att_err att_policy_check_cost(const struct att_policy *p, enum att_policy_type t, char *msg,
                              size_t msg_len)
{
    struct att_claim in[MAX_SAMPLE];
    struct att_policy_result r;
    char detail[192] = "";
    ATT_ENSURE(p != NULL && (unsigned)t < ATT_POLICY_TYPE_COUNT, ATT_ERR_ARG);
    size_t n = sample(t, in);
    att_err rc = att_policy_eval(p, in, n, NULL, &r, detail, sizeof(detail));
    if (rc == ATT_OK) {
        att_policy_result_cleanup(&r);
        return ATT_OK;
    }
    if (rc != ATT_ERR_POLICY_BUDGET && rc != ATT_ERR_POLICY_CLAIM_LIMIT) {
        return rc == ATT_ERR_NOMEM ? rc : ATT_OK; /* other failures depend on the claims */
    }
    if (msg != NULL && msg_len > 0) {
        snprintf(msg, msg_len, "%s (evaluated against a representative %s claim set)", detail,
                 att_policy_type_name(t));
    }
    return rc;
}
