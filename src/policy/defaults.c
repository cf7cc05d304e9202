/*
 * defaults.c - attestation type names (the MAA path segments) and the default policy
 * of each type. Trusted input only (our own constants); att_policy_type_parse reads a
 * caller's string through the bounded-view helpers.
 *
 * SgxEnclave and OpenEnclave use MAA's default SGX policy, version 1.0, byte-exact as
 * GET /policies/SgxEnclave returned it (docs/reference/maa-policy.md §3.7, "[verified,
 * byte-exact]"), whose x-ms-policy-hash is egjnANIzEpS2WgpE4Nk-QEwM69XRCgTs42_G0qLlbnk. MAA
 * publishes no default for SevSnpVm and TdxVm and has none for Tpm, so those are attestd's own
 * (docs/internals/policy.md): permit when the verifier produced the type's main
 * measurement claim, and issue the measurements under short names the way the SGX
 * default issues sgx-mrsigner and sgx-mrenclave. Tpm uses the policy the Azure SDK
 * tests set before attesting.
 */
#include "policy/policy.h"

#include "core/rd.h"

/* One line, no newline: the bytes are what the golden hash covers. */
static const char sgx_default[] =
    "version= 1.0;authorizationrules{c:[type==\"$is-debuggable\"] => permit();};"
    "issuancerules{"
    "c:[type==\"$is-debuggable\"] => issue(type=\"is-debuggable\", value=c.value);"
    "c:[type==\"$sgx-mrsigner\"] => issue(type=\"sgx-mrsigner\", value=c.value);"
    "c:[type==\"$sgx-mrenclave\"] => issue(type=\"sgx-mrenclave\", value=c.value);"
    "c:[type==\"$product-id\"] => issue(type=\"product-id\", value=c.value);"
    "c:[type==\"$svn\"] => issue(type=\"svn\", value=c.value);"
    "c:[type==\"$tee\"] => issue(type=\"tee\", value=c.value);};";

/*
 * SEV-SNP claims of docs/reference/maa-tokens.md §2.5. A guest whose policy allows debugging (its
 * host can read and change its memory) is refused first; any other verified guest is permitted.
 * x-ms-compliance-status "azure-compliant-cvm" is issued, as MAA's default does, for a guest that
 * cannot be debugged, has no migration agent and asked for its report from VMPL 0 (where Azure's
 * paravisor runs); attestd cannot check Azure's own firmware measurements (docs/attestation.md,
 * "SevSnpVm").
 */
// clang-format off
static const char snp_default[] =
    "version= 1.0;\n"
    "authorizationrules{\n"
    "\tc:[type==\"x-ms-sevsnpvm-is-debuggable\", issuer==\"AttestationService\", value==true] => deny();\n"
    "\tc:[type==\"x-ms-sevsnpvm-launchmeasurement\", issuer==\"AttestationService\"] => permit();\n"
    "};\n"
    "issuancerules{\n"
    "\tc1:[type==\"x-ms-sevsnpvm-is-debuggable\", issuer==\"AttestationService\", value==false] && c2:[type==\"x-ms-sevsnpvm-migration-allowed\", issuer==\"AttestationService\", value==false] && c3:[type==\"x-ms-sevsnpvm-vmpl\", issuer==\"AttestationService\", value==0] => issue(type=\"x-ms-compliance-status\", value=\"azure-compliant-cvm\");\n"
    "\tc:[type==\"x-ms-sevsnpvm-is-debuggable\", issuer==\"AttestationService\"] => issue(type=\"is-debuggable\", value=c.value);\n"
    "\tc:[type==\"x-ms-sevsnpvm-launchmeasurement\", issuer==\"AttestationService\"] => issue(type=\"sevsnpvm-launchmeasurement\", value=c.value);\n"
    "\tc:[type==\"x-ms-sevsnpvm-hostdata\", issuer==\"AttestationService\"] => issue(type=\"sevsnpvm-hostdata\", value=c.value);\n"
    "\tc:[type==\"x-ms-sevsnpvm-idkeydigest\", issuer==\"AttestationService\"] => issue(type=\"sevsnpvm-idkeydigest\", value=c.value);\n"
    "\tc:[type==\"x-ms-sevsnpvm-authorkeydigest\", issuer==\"AttestationService\"] => issue(type=\"sevsnpvm-authorkeydigest\", value=c.value);\n"
    "\tc:[type==\"x-ms-sevsnpvm-familyId\", issuer==\"AttestationService\"] => issue(type=\"sevsnpvm-familyId\", value=c.value);\n"
    "\tc:[type==\"x-ms-sevsnpvm-imageId\", issuer==\"AttestationService\"] => issue(type=\"sevsnpvm-imageId\", value=c.value);\n"
    "\tc:[type==\"x-ms-sevsnpvm-guestsvn\", issuer==\"AttestationService\"] => issue(type=\"sevsnpvm-guestsvn\", value=c.value);\n"
    "\tc:[type==\"x-ms-sevsnpvm-vmpl\", issuer==\"AttestationService\"] => issue(type=\"sevsnpvm-vmpl\", value=c.value);\n"
    "\tc:[type==\"x-ms-attestation-type\", issuer==\"AttestationService\"] => issue(type=\"tee\", value=c.value);\n"
    "};\n";
// clang-format on

/*
 * TDX claims of docs/reference/maa-tokens.md §2.6 (the EAT profile drops the x-ms- prefix). A TD
 * whose DEBUG attribute is set (its host can read and change its state) is refused first; any other
 * verified TD is permitted (its TCB status is judged by the verifier: below every level or
 * revoked never reaches the policy).
 */
// clang-format off
static const char tdx_default[] =
    "version= 1.0;\n"
    "authorizationrules{\n"
    "\tc:[type==\"tdx_td_attributes_debug\", issuer==\"AttestationService\", value==true] => deny();\n"
    "\tc:[type==\"tdx_mrtd\", issuer==\"AttestationService\"] => permit();\n"
    "};\n"
    "issuancerules{\n"
    "\tc:[type==\"tdx_td_attributes_debug\", issuer==\"AttestationService\"] => issue(type=\"is-debuggable\", value=c.value);\n"
    "\tc:[type==\"tdx_mrtd\", issuer==\"AttestationService\"] => issue(type=\"tdx-mrtd\", value=c.value);\n"
    "\tc:[type==\"tdx_rtmr0\", issuer==\"AttestationService\"] => issue(type=\"tdx-rtmr0\", value=c.value);\n"
    "\tc:[type==\"tdx_rtmr1\", issuer==\"AttestationService\"] => issue(type=\"tdx-rtmr1\", value=c.value);\n"
    "\tc:[type==\"tdx_rtmr2\", issuer==\"AttestationService\"] => issue(type=\"tdx-rtmr2\", value=c.value);\n"
    "\tc:[type==\"tdx_rtmr3\", issuer==\"AttestationService\"] => issue(type=\"tdx-rtmr3\", value=c.value);\n"
    "\tc:[type==\"tdx_mrconfigid\", issuer==\"AttestationService\"] => issue(type=\"tdx-mrconfigid\", value=c.value);\n"
    "\tc:[type==\"tdx_mrowner\", issuer==\"AttestationService\"] => issue(type=\"tdx-mrowner\", value=c.value);\n"
    "\tc:[type==\"tdx_mrownerconfig\", issuer==\"AttestationService\"] => issue(type=\"tdx-mrownerconfig\", value=c.value);\n"
    "\tc:[type==\"tdx_mrseam\", issuer==\"AttestationService\"] => issue(type=\"tdx-mrseam\", value=c.value);\n"
    "\tc:[type==\"tdx_seamsvn\", issuer==\"AttestationService\"] => issue(type=\"tdx-seamsvn\", value=c.value);\n"
    "\tc:[type==\"x-ms-attestation-type\", issuer==\"AttestationService\"] => issue(type=\"tee\", value=c.value);\n"
    "};\n";
// clang-format on

/* What the Azure SDK tests set for /attest/Tpm (docs/reference/maa-policy.md §3.7, "Other
 * defaults"). */
static const char tpm_default[] = "version=1.0; authorizationrules{=> permit();}; issuancerules{};";

/* Azure confidential VMs (docs/attestation.md "AzureGuest"): the verifier has checked the
 * hardware report, its binding of the HCL runtime data and the vTPM quote; a VM whose hardware
 * report says it is debuggable is refused, every other is permitted. */
// clang-format off
static const char azure_guest_default[] =
    "version= 1.0;\n"
    "authorizationrules{\n"
    "\tc:[type==\"x-ms-isolation-tee-debuggable\", issuer==\"AttestationService\", value==true] => deny();\n"
    "\tc:[type==\"x-ms-attestation-type\", issuer==\"AttestationService\"] => permit();\n"
    "};\n"
    "issuancerules{\n"
    "};\n";
// clang-format on

static const struct {
    const char *name;
    const char *policy;
} types[ATT_POLICY_TYPE_COUNT] = {
    [ATT_POLICY_SGX_ENCLAVE] = {"SgxEnclave", sgx_default},
    [ATT_POLICY_OPEN_ENCLAVE] = {"OpenEnclave", sgx_default},
    [ATT_POLICY_SEV_SNP_VM] = {"SevSnpVm", snp_default},
    [ATT_POLICY_TDX_VM] = {"TdxVm", tdx_default},
    [ATT_POLICY_TPM] = {"Tpm", tpm_default},
    [ATT_POLICY_AZURE_GUEST] = {"AzureGuest", azure_guest_default},
};

const char *att_policy_type_name(enum att_policy_type t)
{
    return (unsigned)t < ATT_POLICY_TYPE_COUNT ? types[t].name : NULL;
}

att_err att_policy_type_parse(const char *s, size_t len, enum att_policy_type *out)
{
    ATT_ENSURE(out != NULL && (s != NULL || len == 0), ATT_ERR_ARG);
    struct att_bytes b = {(const uint8_t *)s, len};
    for (unsigned i = 0; i < ATT_POLICY_TYPE_COUNT; i++) {
        if (att_bytes_eq_str_nocase(b, types[i].name)) {
            *out = (enum att_policy_type)i;
            return ATT_OK;
        }
    }
    return ATT_ERR_NOT_FOUND;
}

const char *att_policy_default(enum att_policy_type t)
{
    return (unsigned)t < ATT_POLICY_TYPE_COUNT ? types[t].policy : NULL;
}
